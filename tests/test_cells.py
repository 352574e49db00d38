"""Text cut to a column's width is cut in terminal cells (a Chinese character takes two), not in characters."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from tui.ui.screens.sources import clip


def test_thirty_cells_of_chinese_come_out_as_thirty() -> None:
    error = "上海证券交易所行情接口返回错误：请求过于频繁，请稍后再试"  # 28 characters, 56 cells
    clipped = clip(error, 30)
    assert cell_len(clipped) == 30 and clipped.endswith("…")  # cut by characters: 57 cells
    assert error.startswith(clipped.removesuffix("…").rstrip())
    assert clip("HTTP 503 from binance", 30) == "HTTP 503 from binance"


@given(st.text(alphabet=st.sampled_from("ab 1上海証券ｱ…"), max_size=80), st.integers(min_value=1, max_value=60))
def test_a_clip_never_overflows_its_width(text: str, width: int) -> None:
    clipped = clip(text, width)
    assert cell_len(clipped) <= width
    assert clipped == text or clipped.endswith("…")
