"""Scrollbars under NO_COLOR: a solid thumb of whole cells on a blank track, on every screen; with colour, Textual's
own. Without colour Textual's bars left only their partial-block ends (▂ ▅ ▏) as stray glyphs beside the text."""

from __future__ import annotations

from typing import Any

import pytest
from textual.scrollbar import ScrollBar, ScrollBarRender

from tests.pilot import shown, until
from tests.test_snapshots import app
from tui.ui.app import TapecheckApp
from tui.ui.screens.claim import ClaimScreen
from tui.ui.screens.series import SeriesScreen
from tui.ui.screens.sources import SourcesScreen
from widgets.scrollbar import THUMB, PlainScrollBarRender, thumb_span


def bar_text(vertical: bool, **sizes: Any) -> list[str]:
    segments = PlainScrollBarRender.render_bar(vertical=vertical, **sizes).segments
    return [s.text for s in segments] if vertical else ["".join(s.text for s in segments)]


def test_a_plain_bar_is_whole_blocks_on_a_blank_track() -> None:
    top = bar_text(True, size=10, virtual_size=100, window_size=20, position=0, thickness=2)
    assert top[:10] == [THUMB * 2] * 2 + ["  "] * 8
    bottom = bar_text(True, size=10, virtual_size=100, window_size=20, position=80, thickness=2)
    assert bottom[:10] == ["  "] * 8 + [THUMB * 2] * 2
    across = bar_text(False, size=8, virtual_size=16, window_size=8, position=4, thickness=1)
    assert across == [" " * 2 + THUMB * 4 + " " * 2 + "\n"]
    assert thumb_span(10, 10, 10, 0) == (0, 0)  # nothing to scroll: no thumb
    assert thumb_span(10, 1000, 10, 0) == (0, 1)  # a long page: still one cell


def scrollbar_glyphs(tapecheck: TapecheckApp) -> set[str]:
    """Every glyph the shown screen's visible scrollbars draw."""
    glyphs: set[str] = set()
    for widget in tapecheck.screen.query("*"):
        for bar, shown_bar in ((widget.vertical_scrollbar, widget.show_vertical_scrollbar),
                               (widget.horizontal_scrollbar, widget.show_horizontal_scrollbar)):
            if not shown_bar or not bar.size.area:
                continue
            options = tapecheck.console.options.update(width=bar.size.width, height=bar.size.height)
            glyphs |= {c for s in tapecheck.console.render(bar.render(), options) for c in s.text}
    return glyphs - {"\n"}


@pytest.mark.parametrize("no_color", [True, False], ids=["NO_COLOR", "colour"])
async def test_every_screen_draws_plain_scrollbars_under_no_color(monkeypatch: pytest.MonkeyPatch,
                                                                  no_color: bool) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    tapecheck = app()
    assert ScrollBar.renderer is (PlainScrollBarRender if no_color else ScrollBarRender)
    async with tapecheck.run_test(size=(80, 24)) as pilot:
        await shown(pilot, tapecheck)
        seen = [scrollbar_glyphs(tapecheck)]
        tapecheck.open_claim("wu-btc-above-miner-cash-cost")
        await until(pilot, lambda: isinstance(tapecheck.screen, ClaimScreen) and tapecheck.screen.drawn, "the chart")
        seen.append(scrollbar_glyphs(tapecheck))
        tapecheck.pop_screen()
        tapecheck.open_series("network:bitcoin:hashrate")
        await until(pilot, lambda: isinstance(tapecheck.screen, SeriesScreen) and tapecheck.screen.drawn, "a series")
        seen.append(scrollbar_glyphs(tapecheck))
        tapecheck.pop_screen()
        await pilot.press("a")
        await pilot.pause()
        seen.append(scrollbar_glyphs(tapecheck))
        await pilot.press("escape", "s")
        await until(pilot, lambda: isinstance(tapecheck.screen, SourcesScreen), "the sources page")
        await pilot.pause()
        seen.append(scrollbar_glyphs(tapecheck))
        if no_color:
            assert all(glyphs <= {THUMB, " "} for glyphs in seen), seen
            assert THUMB in seen[0] | seen[1] | seen[3]  # the dashboard, a claim page, the articles scroll
        else:  # Textual's own: coloured cells with partial blocks at the thumb's ends
            assert THUMB not in set().union(*seen)
            assert set().union(*seen) & set(ScrollBarRender.VERTICAL_BARS[:-1])
