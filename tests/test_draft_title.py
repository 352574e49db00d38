"""A pasted article's source line (`来源: …`, `來源:…`, `Source: …`) is never taken for its title."""

from __future__ import annotations

import pytest

from tui.core.draft.build import infer_title


@pytest.mark.parametrize("first", ["来源: 新浪财经", "來源:鈦媒體", "Source: Reuters", "作者 | 豹變 張經緯"])
def test_a_source_or_byline_line_is_not_the_title(first: str) -> None:
    assert infer_title(f"{first}\n摩尔线程的币圈往事\n正文很长的一段,说了很多事情。") == "摩尔线程的币圈往事"
