"""The sources page: a source that answered but left symbols out says so (`◐ 40 unquoted`), never `● ok`, and
lists them, grouped by reason, in its drill-down; the symbols' names, from outside, are made printable."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from textual.widgets import Static

from tests.pilot import shown, until
from tests.test_snapshots import NOW, sources_app
from tui.core.model import Health
from tui.ui.screens.sources import SourcesScreen
from widgets.table import KeyTable

NOT_QUOTED = "Yahoo did not quote it (no quote in its answer: an unknown or delisted symbol?)"


async def test_a_source_that_left_symbols_unquoted_says_how_many_and_which(tmp_path: Path) -> None:
    tapecheck, store = sources_app(tmp_path / "s.sqlite")
    unquoted = [f"SYM{n}" for n in range(39)] + ["NVDAA\x1b[31m"]  # a typo, with a terminal escape in it
    store.save_health(Health("yahoo", "equities", NOW - timedelta(seconds=20), None, None, 900, 0,
                                   NOW + timedelta(seconds=40), "ok",
                                   (*(f"{s}: {NOT_QUOTED}" for s in unquoted), "refused AMD: price 0")))
    async with tapecheck.run_test(size=(120, 30)) as pilot:
        await shown(pilot, tapecheck)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(tapecheck.screen, SourcesScreen) and tapecheck.screen.health, "sources")
        screen = tapecheck.screen
        assert isinstance(screen, SourcesScreen)
        table = screen.query_one("#sources", KeyTable)
        assert str(table.get_row("yahoo")[1]) == "◐ 40 unquoted, 1 refused"
        assert str(table.get_row("binance")[1]) == "● ok"
        table.move_cursor(row=[str(k.value) for k in table.rows].index("yahoo"))
        await pilot.pause()
        detail = str(screen.query_one("#source-detail", Static).render())
        assert detail.startswith("yahoo: ok, 40 unquoted, 1 refused\n")
        assert f"missing from the last answer (40), {NOT_QUOTED}: SYM0, SYM1," in detail
        assert "NVDAA" in detail and "\x1b" not in detail
        assert "refused as bad data: AMD: price 0" in detail
    store.close()
