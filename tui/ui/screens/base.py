"""What every tapecheck screen shares: the header, and following the app's DashboardState as it changes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from textual.screen import Screen

from tui.core.judge.engine import DashboardState
from widgets.header_line import HeaderLine

if TYPE_CHECKING:
    from tui.ui.app import TapecheckApp


class StateScreen(Screen[None]):
    """A screen that renders from the app's current DashboardState and carries the header.

    The app calls `show_state` with each new state (on every screen of the stack, so that going back shows
    the newest numbers) and `tick` once a second on the screen in front, for what moves with the clock alone.
    """

    @property
    def tapecheck(self) -> TapecheckApp:
        from tui.ui.app import TapecheckApp

        assert isinstance(self.app, TapecheckApp)
        return self.app

    def header(self) -> HeaderLine | None:
        found = self.query(HeaderLine)
        return found.first() if found else None

    def show_state(self, state: DashboardState) -> None:
        """Render what changed in `state`."""

    def tick(self, now: datetime) -> None:
        """Once a second while in front: ages and clocks."""

    def on_mount(self) -> None:
        state = self.tapecheck.state
        if state is not None:
            self.show_state(state)
        self.tapecheck.refresh_header(self)
