"""Waiting in pilot tests by condition, never by a fixed time: the suite runs on loaded machines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tui.ui.app import TapecheckApp
from tui.ui.screens.dashboard import PanelTable
from tui.ui.screens.sources import SourcesScreen

PATIENCE = 6000  # pauses of 0.05 s: five minutes on a very loaded machine, milliseconds on an idle one


async def until(pilot: Any, done: Callable[[], object], what: str = "the condition") -> None:
    """Pause until `done()` is true; fail (saying what was awaited) after PATIENCE pauses."""
    for _ in range(PATIENCE):
        if done():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"waited in vain for {what}")


def measured(table: PanelTable) -> bool:
    """Whether a table has measured the rows it was given (it does so when idle, and is laid out after)."""
    return table.virtual_size.height >= table.row_count + (table.header_height if table.show_header else 0)


async def shown(pilot: Any, app: TapecheckApp) -> None:
    """Until the app has a state and the dashboard's panels are filled from it."""
    def filled() -> bool:
        dashboard = app.dashboard
        return app.state is not None and not app.state.pending and dashboard is not None and dashboard.first_shown \
            and not dashboard.judging_shown and all(measured(t) for t in dashboard.query(PanelTable))
    await until(pilot, filled, "the first state on screen")
    await pilot.pause()


async def sources_page(pilot: Any, app: TapecheckApp) -> SourcesScreen:
    """`s` pressed, and the sources page shown with the health records read."""
    await pilot.press("s")
    await until(pilot, lambda: isinstance(app.screen, SourcesScreen) and app.screen.health, "the sources page")
    assert isinstance(app.screen, SourcesScreen)
    return app.screen
