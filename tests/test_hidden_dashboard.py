"""A dashboard hidden behind a page is not refilled with each state: it keeps the newest and shows it as it comes
back into view. Under a dialog it is still on view, and follows every state at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.pilot import shown, until
from tests.test_snapshots import NOW
from tui.core.config import load_settings
from tui.core.judge.engine import Engine
from tui.core.model import Observation
from tui.core.narratives.claims import load_narratives
from tui.core.store.sqlite import Store
from tui.ui.app import TapecheckApp
from tui.ui.feed import Feed
from tui.ui.screens.confirm import ConfirmScreen
from tui.ui.screens.dashboard import DashboardScreen, PanelTable
from tui.ui.screens.sources import SourcesScreen

ORCL = "equity:ORCL:last"


def orcl_shown(dashboard: DashboardScreen) -> str:
    table = dashboard.query_one("#series-ai_capital_loop", PanelTable)
    return str(table.get_row(ORCL)[1])


def live_app(tmp_path: Path) -> tuple[TapecheckApp, Store, Store]:
    store = Store(tmp_path / "s.sqlite")
    assert store.try_lock_collector()  # a collector runs: `p` asks before pausing it
    store.append([Observation(ORCL, 201.5, "USD", NOW - timedelta(seconds=30), "yahoo")])
    settings, narratives = load_settings(), load_narratives()
    viewer = Store(store.path, read_only=True)
    engine = Engine(narratives, settings, viewer, lambda: NOW, store=viewer)
    return TapecheckApp(settings, narratives, Feed("LIVE", engine)), store, viewer


async def test_a_dashboard_behind_a_page_shows_the_newest_state_when_it_comes_back(tmp_path: Path) -> None:
    tapecheck, store, viewer = live_app(tmp_path)
    async with tapecheck.run_test(size=(120, 30)) as pilot:
        await shown(pilot, tapecheck)
        dashboard = tapecheck.dashboard
        assert dashboard is not None and orcl_shown(dashboard) == "201.50 USD"
        await pilot.press("s")
        await until(pilot, lambda: isinstance(tapecheck.screen, SourcesScreen), "the sources page")
        store.append([Observation(ORCL, 207.25, "USD", NOW - timedelta(seconds=5), "yahoo")])
        await until(pilot, lambda: tapecheck.state is not None and tapecheck.state.verdicts is not None
                    and any(r.value == 207.25 for v in tapecheck.state.views for r in v.series if r.series == ORCL),
                    "the new price in a state")
        assert dashboard.owed is tapecheck.state and dashboard.shown is not tapecheck.state  # kept, not shown
        assert orcl_shown(dashboard) == "201.50 USD"

        await pilot.press("escape")
        await until(pilot, lambda: tapecheck.screen is dashboard, "the dashboard")
        await pilot.pause()
        assert dashboard.owed is None and dashboard.shown is tapecheck.state
        assert orcl_shown(dashboard) == "207.25 USD"
    store.close()
    viewer.close()


async def test_a_dashboard_under_a_dialog_follows_each_state(tmp_path: Path) -> None:
    tapecheck, store, viewer = live_app(tmp_path)
    async with tapecheck.run_test(size=(120, 30)) as pilot:
        await shown(pilot, tapecheck)
        dashboard = tapecheck.dashboard
        assert dashboard is not None
        await pilot.press("p")
        await until(pilot, lambda: isinstance(tapecheck.screen, ConfirmScreen), "the question")
        store.append([Observation(ORCL, 199.75, "USD", NOW - timedelta(seconds=5), "yahoo")])
        await until(pilot, lambda: orcl_shown(dashboard) == "199.75 USD", "the new price under the dialog")
        assert dashboard.owed is None and isinstance(tapecheck.screen, ConfirmScreen)
    store.close()
    viewer.close()
