"""`tapecheck draft` on made-up articles in Simplified and Traditional Chinese and in English: the claims it
proposes (series, values, units, dates, quotes verbatim), and that its output loads with the narratives loader."""

from __future__ import annotations

import re
import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import context, obs
from tests.draft_files import ARTICLES, load_drafts
from tui.core.model import Claim, ClaimKind, Status
from tui.core.narratives.claims import NarrativeError, Narratives, load_narratives
from tui.core.narratives.draft.build import DraftRequest, draft_file
from tui.core.narratives.draft.segment import read_article
from tui.core.narratives.rules.verdict import judge

TODAY = date(2026, 11, 29)


def drafted(name: str, **given: object) -> str:
    path = ARTICLES / name
    request = DraftRequest(read_article(path), path.name, today=TODAY, **given)  # type: ignore[arg-type]
    return draft_file(request, load_narratives())


def rules(narratives: Narratives) -> list[tuple[str, str, float, str]]:
    return [(c.rule.expr, c.rule.op, c.rule.value, c.rule.unit) for c in narratives.claims if c.rule]


def by_figure(narratives: Narratives, figure: str) -> list[Claim]:
    return [c for c in narratives.claims if c.figure == figure]


def test_simplified_chinese_article(tmp_path: Path) -> None:
    narratives = load_drafts(tmp_path, drafted("zh_hans.txt"))
    article = narratives.articles["zh-hans"]
    assert article.outlet == "示例财经" and article.title == "芯片股再度走强,比特币失守十万美元"
    assert article.published == date(2025, 11, 5) and article.published_inferred
    assert set(article.inferred) == {"id", "outlet", "published", "title"}  # read from the text, not given
    assert rules(narratives) == [
        ("last(equity:NVDA:market_cap)", ">=", 5e12, "USD"),
        ("change(equity:ORCL:last, since=2025-10-31, until=2025-11-03)", "~", 4.5, "%"),
        ("last(equity:ORCL:last)", "~", 250.6, "USD"),
        ("pct(at(equity:688795.SS:high, 2025-11-04), at(equity:688795.SS:last, 2025-11-03))", ">", 12, "%"),
        ("last(equity:688795.SS:market_cap)", "~", 3e11, "CNY"),
        ("last(crypto:BTC/USD:last)", "<", 1e5, "USD"),
        ("last(network:bitcoin:hashrate)", "~", 1.05e21, "H/s"),
        ("11509 * last(crypto:BTC/USD:last)", ">", 1e9, "USD"),
    ]
    nvidia = by_figure(narratives, "5万亿美元")[0]
    assert nvidia.quote == "2025年11月3日,英伟达市值一度突破5万亿美元,成为全球首家达到这一估值的公司。"
    assert nvidia.as_of == date(2025, 11, 3) and not nvidia.as_of_inferred and nvidia.draft
    assert nvidia.paragraph == 3 and nvidia.theme == "ai_capital_loop"
    oracle = by_figure(narratives, "4.5%")[0]
    assert oracle.as_of == date(2025, 11, 3) and oracle.as_of_inferred  # 同日: the date of the sentence before
    # Revenue is not the share price, and a spending plan is no market figure: context claims keep them.
    for figure, value, unit in (("60%", 60, "%"), ("1300亿美元", 1.3e11, "USD"), ("三千亿美元", 3e11, "USD")):
        (claim,) = by_figure(narratives, figure)
        assert claim.kind is ClaimKind.CONTEXT and claim.rule is None and not claim.draft
        assert (claim.value, claim.unit) == (value, unit)


def test_traditional_chinese_article(tmp_path: Path) -> None:
    narratives = load_drafts(tmp_path, drafted("zh_hant.txt"))
    assert rules(narratives) == [
        ("change(equity:NVDA:last, since=2026-01-02, until=2026-01-05)", "~", 3.2, "%"),
        ("last(equity:NVDA:market_cap)", "~", 4.6e12, "USD"),
        ("change(crypto:BTC/USD:last, since=2026-01-02, until=2026-01-05)", ">", 5, "%"),
        ("last(crypto:BTC/USD:last)", "~", 98000, "USD"),
        ("change(equity:300750.SZ:last, since=2026-01-02, until=2026-01-05)", ">=", 20, "%"),  # ChiNext: 20%
        ("change(equity:603799.SS:last, since=2026-01-02, until=2026-01-05)", "~", 8, "%"),
        ("500e9 USD * fx(USDCNY)", "~", 3.56e12, "CNY"),
    ]
    limit = by_figure(narratives, "漲停")[0]
    assert limit.quote == "寧德時代(300750.SZ)當日漲停,而華友鈷業上漲約8%。"
    assert limit.rule is not None and limit.rule.tolerance_pct == 1
    about = by_figure(narratives, "8%")[0]
    assert about.rule is not None and about.rule.tolerance_pct == 10  # 约: about, a wide tolerance


def test_english_article(tmp_path: Path) -> None:
    narratives = load_drafts(tmp_path, drafted("en.txt"))
    assert narratives.articles["en"].outlet == "Example Wire"
    assert rules(narratives) == [
        ("last(equity:NVDA:market_cap)", ">=", 5e12, "USD"),
        ("change(equity:ORCL:last, since=2025-10-31, until=2025-11-03)", "~", 4.5, "%"),
        ("last(equity:ORCL:last)", "~", 250.6, "USD"),
        ("last(crypto:BTC/USD:last)", "<", 1e5, "USD"),
        ("last(network:bitcoin:hashrate)", "~", 1.05e21, "H/s"),
        ("11509 * last(crypto:BTC/USD:last)", ">", 1e9, "USD"),
    ]
    btc = by_figure(narratives, "$100,000")[0]
    assert btc.as_of == date(2025, 11, 5)  # the date after the figure, in the same sentence
    holding = by_figure(narratives, "11,509 bitcoin")[0]
    assert holding.quote == ("Tesla still holds 11,509 bitcoin worth more than $1 billion, according to its filings "
                             "with the U.S. regulator.")
    assert [c.kind for c in by_figure(narratives, "$94.9 billion") + by_figure(narratives, "6%")] == \
        [ClaimKind.CONTEXT, ClaimKind.CONTEXT]


def test_every_claim_quotes_its_sentence_verbatim_and_every_rule_is_a_draft(tmp_path: Path) -> None:
    texts = [drafted(name) for name in ("zh_hans.txt", "zh_hant.txt", "en.txt")]
    narratives = load_drafts(tmp_path, *texts)  # ids unique across the three, or the loader says so
    sources = {a.id: read_article(ARTICLES / a.seed) for a in narratives.articles.values()}
    assert len(narratives.claims) >= 20
    for claim in narratives.claims:
        assert claim.quote and claim.quote in sources[claim.article]
        assert claim.figure and claim.figure in claim.quote
        assert claim.draft == (claim.rule is not None)
        assert claim.summary.startswith("Draft") and "ours" in claim.summary


def test_given_metadata_wins_and_nothing_is_marked_inferred(tmp_path: Path) -> None:
    text = drafted("en.txt", article_id="wire-chips", outlet="Wire", title="Chips", published=date(2025, 11, 6))
    assert "inferred = [" not in text and "published_inferred" not in text and "# Inferred" not in text
    narratives = load_drafts(tmp_path, text)
    article = narratives.articles["wire-chips"]
    assert (article.outlet, article.title, article.published) == ("Wire", "Chips", date(2025, 11, 6))
    assert all(c.id.startswith("wire-chips-") for c in narratives.claims)


def test_the_draft_is_deterministic() -> None:
    assert drafted("zh_hans.txt") == drafted("zh_hans.txt")


def test_control_characters_never_reach_the_draft(tmp_path: Path) -> None:
    article = tmp_path / "hostile.txt"
    article.write_text("Headline\r\n英伟达市值\x1b[2J突破5万亿美元\u202e。\r\n", encoding="utf-8")
    request = DraftRequest(read_article(article), article.name, published=date(2025, 11, 3))
    narratives = load_drafts(tmp_path, draft_file(request, load_narratives()))
    (claim,) = narratives.claims
    assert claim.quote == "英伟达市值[2J突破5万亿美元。"
    assert claim.rule is not None and claim.rule.value == 5e12


@pytest.mark.parametrize("text", ["", "   \n\n", "No figures here at all.", "只有文字,没有数字。"])
def test_an_article_without_figures_drafts_an_article_with_no_claims(tmp_path: Path, text: str) -> None:
    article = tmp_path / "empty.txt"
    article.write_text(text, encoding="utf-8")
    request = DraftRequest(read_article(article), article.name, published=date(2025, 11, 3))
    narratives = load_drafts(tmp_path, draft_file(request, load_narratives()))
    assert list(narratives.articles) == ["empty"] and narratives.claims == ()


def test_limit_moves_follow_the_board_and_go_both_ways(tmp_path: Path) -> None:
    article = tmp_path / "limits.txt"
    article.write_text("Headline\n11月4日,摩尔线程涨停,泰嘉股份跌停,*ST沐邦(600354)跌停。\n", encoding="utf-8")
    request = DraftRequest(read_article(article), article.name, published=date(2025, 11, 4))
    narratives = load_drafts(tmp_path, draft_file(request, load_narratives()))
    assert [(r[0].split(",")[0], r[1], r[2]) for r in rules(narratives)] == [
        ("change(equity:688795.SS:last", ">=", 20), ("change(equity:002843.SZ:last", "<=", -10),
        ("change(equity:600354.SS:last", "<=", -5)]


def test_the_stock_named_by_a_pronoun_and_a_move_named_after_its_figure(tmp_path: Path) -> None:
    article = tmp_path / "pronouns.txt"
    article.write_text("Headline\n甲骨文周一公布财报。该股12月3日遭遇单日15%的暴跌,随后反弹。\n"
                       "Oracle reported on Monday. The stock posted a 5% gain on Dec 4, 2025.\n"
                       "该股上涨3%。\n", encoding="utf-8")
    request = DraftRequest(read_article(article), article.name, published=date(2025, 12, 5))
    narratives = load_drafts(tmp_path, draft_file(request, load_narratives()))
    assert rules(narratives) == [
        ("change(equity:ORCL:last, since=2025-12-02, until=2025-12-03)", "~", -15, "%"),
        ("change(equity:ORCL:last, since=2025-12-03, until=2025-12-04)", "~", 5, "%"),
    ]
    assert by_figure(narratives, "3%")[0].kind is ClaimKind.CONTEXT  # a new paragraph: 该股 names nobody


def test_drafted_rules_are_judged_against_the_tape(tmp_path: Path) -> None:
    narratives = load_drafts(tmp_path, drafted("en.txt"))
    tape = context(obs("equity:NVDA:market_cap", 4.2e12), obs("crypto:BTC/USD:last", 91_000),
                   obs("network:bitcoin:hashrate", 1.06e21))
    verdicts = {c.figure: judge(c, tape).status for c in narratives.claims if c.rule}
    assert verdicts["$5 trillion"] is Status.DIVERGED  # 4.2T is not at least 5T
    assert verdicts["$100,000"] is Status.HOLDS and verdicts["1.05 ZH/s"] is Status.HOLDS
    assert verdicts["11,509 bitcoin"] is Status.HOLDS  # 11,509 × 91,000 ≈ 1.05B > 1B
    assert verdicts["$250.60"] is Status.NO_DATA


SHIPPED = load_narratives()
FIGURE_LIKE = st.text(alphabet="0123456789.,%亿万兆美元人民币跌涨停超约至年月日倍枚股价市值 ZEH/s$-百千十一二两三,。\n"
                               "英伟达比特币摩尔线程黄金纳指该股自以来近个周盘中最高到明去今Nov 3, 2025rose fell to",
                      max_size=120)


@given(FIGURE_LIKE)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_whatever_the_text_the_draft_loads(tmp_path: Path, text: str) -> None:
    request = DraftRequest(text, "fuzz.txt", today=TODAY)
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        narratives = load_drafts(Path(folder), draft_file(request, SHIPPED))
    for claim in narratives.claims:
        assert claim.quote and claim.quote in text and claim.draft == (claim.rule is not None)
        since = re.search(r"since=([\d-]+), until=([\d-]+)", claim.rule.expr if claim.rule else "")
        assert since is None or since.group(1) < since.group(2)


@pytest.mark.parametrize(("change", "says"), [
    (("draft = true\n", 'draft = "yes"\n'), "draft must be true or false"),
    (('kind = "check"\ndraft = true\n', 'kind = "context"\ndraft = true\n'), "only a check claim is a draft"),
    (('inferred = ["id"', 'inferred = ["colour"'), "inferred must list article keys"),
])
def test_the_loader_refuses_a_broken_draft_naming_the_line(tmp_path: Path, change: tuple[str, str],
                                                           says: str) -> None:
    text = drafted("zh_hans.txt")
    assert change[0] in text
    with pytest.raises(NarrativeError) as error:
        load_drafts(tmp_path, text.replace(change[0], change[1], 1))
    assert says in str(error.value) and "draft_0.toml:" in str(error.value)


def test_doubling_is_a_move_of_100_percent_over_the_stretch_named(tmp_path: Path) -> None:
    article = tmp_path / "doubled.txt"
    article.write_text("Headline\n2025年12月31日,寒武纪股价一年内翻倍。Shares of AMD doubled over the past six "
                       "months.\n", encoding="utf-8")
    request = DraftRequest(read_article(article), article.name, published=date(2025, 12, 31))
    narratives = load_drafts(tmp_path, draft_file(request, load_narratives()))
    assert rules(narratives) == [
        ("change(equity:688256.SS:last, since=2024-12-31, until=2025-12-31)", ">=", 100, "%"),
        ("change(equity:AMD:last, since=2025-06-30, until=2025-12-31)", ">=", 100, "%"),
    ]


def test_a_correlation_between_two_named_assets_is_a_corr_rule_of_our_reading(tmp_path: Path) -> None:
    """Seed 003's sentence (a coefficient held over most of a year) and a coefficient on a day."""
    article = tmp_path / "corr.txt"
    article.write_text("Headline\n根據 Newhedge 的數據,比特幣與納斯達克指數的相關性在 2025 年的大部分時間裡都保持在 0.5 以上。\n"
                       "On 5 January 2026 the correlation between Bitcoin and the Nasdaq was about 0.6.\n"
                       "The correlation of Bitcoin with risk was high.\n", encoding="utf-8")
    request = DraftRequest(read_article(article), article.name, published=date(2026, 1, 7))
    narratives = load_drafts(tmp_path, draft_file(request, load_narratives()))
    assert rules(narratives) == [
        ("share(corr(crypto:BTC/USD:last, index:^IXIC:last, days=30) >= 0.5, since=2025-01-01, until=2025-12-31)",
         ">", 50, "%"),
        ("corr(crypto:BTC/USD:last, index:^IXIC:last, days=30)", "~", 0.6, "ratio"),
    ]
    first, second = (c for c in narratives.claims if c.rule)
    assert first.figure == "0.5" and first.as_of == date(2025, 12, 31) and first.ours and first.draft
    assert first.reading_note is not None and "30 daily returns" in first.reading_note
    assert "more than half" in first.reading_note
    assert "correlation of 比特幣 (BTC/USD) and 納斯達克 (^IXIC) at least 0.5" in first.summary
    assert second.as_of == date(2026, 1, 5) and second.rule is not None and second.rule.tolerance_pct == 10
