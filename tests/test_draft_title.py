"""A pasted article's source line (`来源: …`, `來源:…`, `Source: …`) is never taken for its title."""

from __future__ import annotations

import pytest

from tui.core.narratives.draft.build import infer_title


@pytest.mark.parametrize("first", ["来源: 新浪财经", "來源:鈦媒體", "Source: Reuters", "作者 | 豹變 張經緯"])
def test_a_source_or_byline_line_is_not_the_title(first: str) -> None:
    assert infer_title(f"{first}\n摩尔线程的币圈往事\n正文很长的一段,说了很多事情。") == "摩尔线程的币圈往事"


def test_six_times_the_ipo_price_is_no_one_day_change() -> None:
    """股价相较于发行价格翻了6倍: against the IPO price, which no series holds: no rule, never `change(...) >= 500%`
    over the day the sentence dates."""
    from tui.core.narratives.claims import load_narratives
    from tui.core.narratives.draft.build import DraftRequest, draft_file

    text = ("作者 | 豹變 張經(jīng)緯\n"  # seed 000's first lines, as pasted: a character glossed in pinyin
            "作為中國版英偉達(dá)的摩爾線程,12月5日登陸科創(chuàng)板后市值一路水漲船高。雖然短暫調(diào)整,但熱度不減。截至12月12日收盤,摩爾線程的市值達(dá)3830億元,股價相較于發(fā)行價格翻了6倍,造富浪潮聲勢浩大。\n")
    drafted = draft_file(DraftRequest(text, "seed.txt", None, None, None, None), load_narratives(), None)
    assert "翻了6倍" in drafted and "value = 500" not in drafted and "change(equity:688795.SS" not in drafted
