"""The sources page is built once and kept: `s` shows the same page again, brought up to the newest state, with
its ages, as it is shown (never the rows or ages it had when it was left)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from textual.widgets import Static

from tests.conftest import DATA
from tests.pilot import shown, sources_page, until
from tests.test_snapshots import NOW, sources_app
from tui.core import format as fmt
from tui.core.config import load_settings
from tui.core.judge.engine import Engine
from tui.core.model import Health
from tui.core.narratives.claims import load_narratives
from tui.core.store.sqlite import Store
from tui.ui.app import TapecheckApp, snapshot_app
from tui.ui.feed import Feed
from widgets.table import KeyTable


def row(table: KeyTable, source: str) -> list[str]:
    return [str(cell) for cell in table.get_row(source)]


async def test_the_page_is_kept_and_opens_again_on_the_newest_rows_and_ages(tmp_path: Path) -> None:
    now = [NOW]  # the viewer's clock, moved on below while the page is hidden
    store = Store(tmp_path / "s.sqlite")
    store.save_health(Health("binance", "crypto", NOW - timedelta(seconds=4), None, None, 210, 0,
                             NOW + timedelta(seconds=6), "ok"))
    assert store.try_lock_collector()
    settings, narratives = load_settings(), load_narratives()
    viewer = Store(store.path, read_only=True)
    engine = Engine(narratives, settings, viewer, lambda: now[0], store=viewer)
    tapecheck = TapecheckApp(settings, narratives, Feed("LIVE", engine))
    async with tapecheck.run_test(size=(120, 30)) as pilot:
        await shown(pilot, tapecheck)
        page = await sources_page(pilot, tapecheck)
        table = page.query_one("#sources", KeyTable)
        assert row(table, "binance")[1:2] == ["● ok"] and row(table, "binance")[4] == f"{fmt.age(4)} ago"
        assert not page.query_one("#sources-note", Static).display  # LIVE: sources are polled

        await pilot.press("escape")
        await until(pilot, lambda: tapecheck.screen is tapecheck.dashboard, "the dashboard")
        failed_at = NOW + timedelta(seconds=30)
        store.save_health(Health("binance", "crypto", NOW - timedelta(seconds=4), "HTTP 503 from binance", failed_at,
                                 None, 2, NOW + timedelta(minutes=3), "failing"))
        await until(pilot, lambda: tapecheck.state is not None and tapecheck.state.health[0].state == "failing",
                    "the collector's new health in a state")
        now[0] = NOW + timedelta(minutes=2)  # the hidden page's ages are two minutes old

        await pilot.press("s")
        assert tapecheck.screen is page  # the same page, not one built anew
        await pilot.pause()
        shown_now = row(table, "binance")
        assert shown_now[1] == "✕ failing" and shown_now[3] == "2"  # the new health, not the rows left
        assert shown_now[4] == f"{fmt.age(124)} ago" and shown_now[5] == f"in {fmt.age(60)}"  # aged to the clock
        assert "HTTP 503 from binance" in shown_now[6]
        detail = str(page.query_one("#source-detail", Static).render())
        assert detail.startswith("binance: failing") and f"last error ({fmt.age(90)} ago)" in detail
    store.close()
    viewer.close()


async def test_the_page_says_when_nothing_is_polled() -> None:
    now = datetime.fromisoformat("2026-01-26T06:00:00+00:00")
    tapecheck = snapshot_app(load_settings(), load_narratives(), DATA / "snapshot.jsonl", now)
    async with tapecheck.run_test(size=(120, 30)) as pilot:
        await shown(pilot, tapecheck)
        await pilot.press("s")
        await pilot.pause()
        note = tapecheck.screen.query_one("#sources-note", Static)
        assert note.display and str(note.render()) == "SNAPSHOT mode: no source is polled."


async def test_the_page_opened_again_after_the_terminal_narrowed_fits_it(tmp_path: Path) -> None:
    tapecheck, store = sources_app(tmp_path / "s.sqlite")  # mempool's last error is longer than 90 columns
    async with tapecheck.run_test(size=(160, 30)) as pilot:
        await shown(pilot, tapecheck)
        page = await sources_page(pilot, tapecheck)
        table = page.query_one("#sources", KeyTable)
        assert table.virtual_size.width > 90
        await pilot.press("escape")
        await until(pilot, lambda: tapecheck.screen is tapecheck.dashboard, "the dashboard")
        await pilot.resize_terminal(90, 24)
        await pilot.press("s")
        await until(pilot, lambda: tapecheck.screen is page and page.size.width == 90, "the page, laid out again")
        await pilot.pause()
        assert table.virtual_size.width <= 90  # the error column shrank with the terminal: no sideways scroll
        assert row(table, "mempool")[6].endswith("…")
    store.close()
