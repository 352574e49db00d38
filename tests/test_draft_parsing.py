"""The pieces of `tapecheck draft`: sentences, numbers (with hypothesis), dates, figures, entities, alias files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core.model import TapecheckError
from tui.core.narratives.draft.dates import find_dates, find_durations
from tui.core.narratives.draft.entities import Entity, EntityFinder, declared, known_names, load_aliases
from tui.core.narratives.draft.figures import find_figures
from tui.core.narratives.draft.numbers import chinese_integer, find_numbers
from tui.core.narratives.draft.propose import Proposer, literal
from tui.core.narratives.draft.segment import clean, sentences


def below_wan(number: int, leading: bool) -> str:
    """1005 → 一千零五, 15 → 十五 (一十五 when not `leading`): a number under ten thousand in Chinese numerals."""
    digits, out, zero = "零一二三四五六七八九", "", False
    for unit, char in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = number // unit % 10
        if digit == 0:
            zero = bool(out)
            continue
        if zero:
            out, zero = out + "零", False
        out += ("" if digit == 1 and unit == 10 and not out and leading else digits[digit]) + char
    return out


def to_chinese(number: int) -> str:
    """How an article writes a number in Chinese numerals, section by section: 35000 → 三万五千,
    1.2e12 → 一万二千亿, 100001000 → 一亿零一千 (零 where a section is skipped or starts below its thousands)."""
    out, gap = "", False
    yi, rest = divmod(number, 10**8)
    for part, mark in ((yi, "亿"), (rest // 10**4, "万"), (rest % 10**4, "")):
        if not part:
            gap = bool(out)
            continue
        if out and (gap or part < 1000):
            out += "零"
        gap = False
        out += (to_chinese(part) if part >= 10**4 else below_wan(part, not out)) + mark
    return out


def figures(text: str) -> list[tuple[str, float, str, bool, str]]:
    return [(f.text, f.value, f.unit, f.change, f.op) for f in find_figures(text, find_dates(text))]


# ---- sentences -------------------------------------------------------------------------------------------------

def test_sentences_end_at_chinese_and_english_stops_but_not_inside_numbers_or_abbreviations() -> None:
    text = ("英伟达涨了1.5%。比特币呢？“跌了！”他说。\n"
            "The U.S. economy grew 2.5% in Q3. Nvidia Inc. rose. J. P. Morgan agreed! Did it? Yes.")
    assert [s.text for s in sentences(text)] == [
        "英伟达涨了1.5%。", "比特币呢？", "“跌了！”", "他说。",
        "The U.S. economy grew 2.5% in Q3.", "Nvidia Inc. rose.", "J. P. Morgan agreed!", "Did it?", "Yes."]
    assert [s.paragraph for s in sentences(text)] == [1, 1, 1, 1, 2, 2, 2, 2, 2]


def test_a_quote_keeps_the_article_s_own_punctuation_and_semicolons() -> None:
    text = "1月23日,钧达股份最高涨至99.44元/股;迈为股份最高涨至324.36元/股。"
    assert [s.text for s in sentences(text)] == [text]


def test_clean_removes_control_characters_and_keeps_lines() -> None:
    assert clean("a\x1b[31mb\r\nc\td\u202ee\x00") == "a[31mb\nc de"


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_sentences_never_crash_and_each_stands_in_the_text_where_it_says(text: str) -> None:
    text = clean(text)
    for sentence in sentences(text):
        assert sentence.text and text[sentence.start:sentence.start + len(sentence.text)] == sentence.text


# ---- numbers ---------------------------------------------------------------------------------------------------

@given(st.integers(min_value=0, max_value=10**13))
def test_integers_with_thousands_separators_read_back(number: int) -> None:
    (found,) = find_numbers(f"涨至{number:,}点")
    assert found.value == number


@given(st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False),
       st.sampled_from([("亿", 1e8), ("万", 1e4), ("万亿", 1e12), ("億", 1e8), ("兆", 1e12), (" billion", 1e9),
                        (" million", 1e6), ("bn", 1e9), (" trillion", 1e12), ("k", 1e3), ("", 1.0)]))
def test_decimals_with_a_magnitude_read_back(number: object, magnitude: tuple[str, float]) -> None:
    word, scale = magnitude
    (found,) = find_numbers(f"达{number}{word}美元")
    assert found.value == pytest.approx(float(str(number)) * scale, rel=1e-12)


@given(st.integers(min_value=1, max_value=9999))
def test_chinese_numerals_read_back(number: int) -> None:
    assert chinese_integer(to_chinese(number)) == number
    (found,) = find_numbers(f"约{to_chinese(number)}亿美元")
    assert found.value == number * 1e8 and found.chinese


@given(st.integers(min_value=1, max_value=10**16 - 1))
def test_chinese_numerals_read_back_across_wan_and_yi(number: int) -> None:
    """The full range up to 10^16, section by section across 万 and 亿, as one number each."""
    written = to_chinese(number)
    assert chinese_integer(written) == number, written
    (found,) = find_numbers(f"约{written}美元")
    assert found.value == float(number) and found.chinese, written


def test_chinese_numerals_in_use() -> None:
    assert [n.value for n in find_numbers("三千亿美元 两万枚 一百二十亿元 十五倍 一千零五点")] == \
        [3e11, 2e4, 1.2e10, 15, 1005]
    assert find_numbers("数十亿美元") == []  # 数十亿: "some billions", not a figure
    assert [n.value for n in find_numbers("三万五千人 一万二千亿元 三亿五千万 一千五百 一千五 万科 亿纬锂能")] == \
        [35000, 1.2e12, 3.5e8, 1500, 1500]  # one number across 万 and 亿; 一千五 as spoken; no number in a name
    assert chinese_integer("三万五万") is None and chinese_integer("亿") is None
    assert chinese_integer("三五") is None and chinese_integer("十百") is None and chinese_integer("二〇二五") is None


def test_codes_are_not_numbers() -> None:
    assert find_numbers("H200 A100") == []


@given(st.floats(min_value=-1e15, max_value=1e15, allow_nan=False))
def test_literals_are_the_same_number(value: float) -> None:
    assert float(literal(value)) == pytest.approx(value, rel=1e-9, abs=1e-9)


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_figures_never_crash_on_arbitrary_text(text: str) -> None:
    for figure in find_figures(text, find_dates(text)):
        assert text[figure.start:figure.end] == figure.text


@given(st.text(alphabet="0123456789.,%亿万兆美元跌涨超约至年月日倍枚股 ZEH/s$-百千十一二两三", max_size=80))
@settings(max_examples=300, deadline=None)
def test_drafting_never_crashes_on_figure_like_text(text: str) -> None:
    finder = EntityFinder({"英伟达": Entity("equity", "NVDA"), "比特币": Entity("crypto", "BTC/USD")})
    Proposer(finder, date(2025, 11, 3)).claims(sentences("英伟达" + text + "比特币" + text))


# ---- figures ---------------------------------------------------------------------------------------------------

def test_figures_are_normalized_with_their_direction() -> None:
    assert figures("OpenAI将购买约3000亿美元算力,市值达1.5万亿元,上涨20%,跌超30%。") == [
        ("3000亿美元", 3e11, "USD", False, "~"), ("1.5万亿元", 1.5e12, "CNY", False, "~"),
        ("20%", 20, "%", True, "~"), ("30%", -30, "%", True, "<")]
    assert figures("算力突破 1 ZH/s,跌破750 EH/s,回落至1.05ZH/s") == [
        ("1 ZH/s", 1e21, "H/s", False, ">="), ("750 EH/s", 7.5e20, "H/s", False, "<"),
        ("1.05ZH/s", 1.05e21, "H/s", False, "~")]
    assert figures("Shares rose 4.5% to $250.60; its market cap passed US$4.5 trillion, down 2 percentage points") == [
        ("4.5%", 4.5, "%", True, "~"), ("$250.60", 250.6, "USD", False, "~"),
        ("US$4.5 trillion", 4.5e12, "USD", False, ">="), ("2 percentage points", -2, "pp", True, "~")]
    assert figures("营收增长百分之二十,持有1.6亿股,5万枚比特币,股价翻了3倍多") == [
        ("百分之二十", 20, "%", True, "~"), ("1.6亿股", 1.6e8, "shares", False, "~"),
        ("5万枚", 5e4, "coins", False, "~"), ("3倍", 3, "x", False, ">")]


def test_a_limit_move_is_a_figure_and_20cm_says_how_far() -> None:
    assert figures("三元前驱体、一元复始、两股势力") == []
    assert figures("a $5B deal, US$4.5T, a $30m fine, 5m away") == [
        ("$5B", 5e9, "USD", False, "~"), ("US$4.5T", 4.5e12, "USD", False, "~"), ("$30m", 3e7, "USD", False, "~")]
    assert figures("迈为股份“20CM”涨停,泰嘉股份跌停,涨停潮") == [
        ("20CM”涨停", 20, "%", True, ">="), ("跌停", -0.0, "%", True, "<=")]


def test_market_value_moves_only_by_what_is_added_or_lost() -> None:
    assert figures("市值增加超2500亿美元,市值蒸发1万亿美元,fell below $100,000") == [
        ("2500亿美元", 2.5e11, "USD", True, ">"), ("1万亿美元", -1e12, "USD", True, "~"),
        ("$100,000", 1e5, "USD", False, "<")]


# ---- dates -----------------------------------------------------------------------------------------------------

def test_dates_in_both_scripts_and_in_english() -> None:
    anchor = date(2026, 1, 20)
    text = "2025年11月3日、11月3日、1月23日、去年12月、2025-11-03、Nov 3, 2025、3 November 2025、2025 年 12 月、25年全年"
    assert [d.resolve(anchor) for d in find_dates(text)] == [
        date(2025, 11, 3), date(2025, 11, 3), date(2026, 1, 23), date(2025, 12, 31), date(2025, 11, 3),
        date(2025, 11, 3), date(2025, 11, 3), date(2025, 12, 31), date(2025, 12, 31)]
    assert find_dates("it may 5 times") == [] and find_dates("13月40日") == []
    assert [d.since for d in find_dates("自2025年以来,1月3日")] == [True, False]


def test_durations_measure_a_move_back_from_its_day() -> None:
    (two_months,) = find_durations("近2个月内")
    assert two_months.before(date(2026, 1, 23)) == date(2025, 11, 23)
    (week,) = find_durations("近一周")
    assert week.before(date(2026, 1, 23)) == date(2026, 1, 16)
    assert not find_durations("2025年 25年全年")


# ---- entities --------------------------------------------------------------------------------------------------

def test_names_declared_with_a_code_are_learned() -> None:
    assert declared("龙头钧达股份(SZ:002865)、泉为科技(ST泉为,SZ:300716)、摩尔线程(688795.SH)、"
                    "腾讯(0700.HK)、Nvidia (NASDAQ: NVDA)、福斯特(603806)、小米集团(港股:01810)、"
                    "甲骨文(纽交所:ORCL)、迈为股份(股票代码:300751)、某公司(SH:ORCL)") == {
        "钧达股份": Entity("equity", "002865.SZ"), "泉为科技": Entity("equity", "300716.SZ"),
        "摩尔线程": Entity("equity", "688795.SS"), "腾讯": Entity("equity", "0700.HK"),
        "Nvidia": Entity("equity", "NVDA"), "福斯特": Entity("equity", "603806.SS"),
        "小米集团": Entity("equity", "1810.HK"), "甲骨文": Entity("equity", "ORCL"),
        "迈为股份": Entity("equity", "300751.SZ")}


def test_the_shipped_aliases_know_both_scripts_and_short_latin_names_keep_their_case() -> None:
    finder = EntityFinder(known_names(None, [], ["equity:CRWV:last", "equity:688795.SS:last", "equity:A:last"]))
    found = [(m.name, m.entity.symbol) for m in finder.find("英伟达、英偉達、輝達、NVIDIA、摩爾線程、比特幣、AMD、amd、"
                                                            "Meta、metals、美國比特幣、BITCOIN、CRWV、A")]
    assert found == [("英伟达", "NVDA"), ("英偉達", "NVDA"), ("輝達", "NVDA"), ("NVIDIA", "NVDA"),
                     ("摩爾線程", "688795.SS"), ("比特幣", "BTC/USD"), ("AMD", "AMD"), ("Meta", "META"),
                     ("美國比特幣", "ABTC"), ("BITCOIN", "BTC/USD"), ("CRWV", "CRWV")]


def test_a_user_alias_file_adds_names(tmp_path: Path) -> None:
    mine = tmp_path / "aliases.toml"
    mine.write_text('[equity]\n"PONY" = ["小马智行", "Pony AI"]\n[crypto]\n"ETH/USD" = ["以太幣"]\n', encoding="utf-8")
    names = known_names(mine, [])
    assert names["小马智行"] == Entity("equity", "PONY") and names["以太幣"] == Entity("crypto", "ETH/USD")
    assert names["英伟达"] == Entity("equity", "NVDA")


@pytest.mark.parametrize(("text", "line", "says"), [
    ('[equity]\nNVDA = "英伟达"\n', 2, "must be a list of names"),
    ('[equity]\nNVDA = ["英伟达"]\n"X.ZZ" = ["某公司"]\n', 3, "unknown exchange suffix"),
    ('[stocks]\nNVDA = ["英伟达"]\n', 1, "[stocks] is not one of"),
    ('[crypto]\nBTC = ["比特币"]\n', 2, "BASE/QUOTE"),
    ('[equity]\nNVDA = ["\\u001b[2J"]\n', 2, "must be a list of names"),
])
def test_a_bad_alias_file_is_named_with_its_line(tmp_path: Path, text: str, line: int, says: str) -> None:
    bad = tmp_path / "aliases.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(TapecheckError) as error:
        load_aliases(bad)
    assert f"{bad}:{line}:" in str(error.value) and says in str(error.value)
