"""What every tapecheck screen shares: the header, and following the app's DashboardState as it changes."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from textual import events
from textual.screen import Screen

from tui.core.judge.engine import DashboardState
from tui.ui.header import show_header
from tui.ui.viewer import Viewer, viewer_of
from widgets.header_line import HeaderLine


class StateScreen(Screen[None]):
    """A screen that renders from the app's current DashboardState and carries the header.

    The app gives each new state to every screen of the stack (`take_state`): a screen on view shows it at once;
    one hidden behind another page keeps only the newest, and shows it as it comes back into view, so that going
    back shows the newest numbers and a hidden dashboard costs nothing meanwhile. `tick` comes once a second on
    the screen in front, for what moves with the clock alone.
    """

    HELP_KEYS: ClassVar[list[tuple[str, str]]] = []  # keys of the screen's own that are not bindings, for help

    @property
    def viewer(self) -> Viewer:
        return viewer_of(self.app)

    _header: HeaderLine | None = None
    owed: DashboardState | None = None  # the newest state, not yet shown: it came while the screen was hidden

    def header(self) -> HeaderLine | None:
        """The screen's header (found once: the clock asks each second, and a query walks every widget)."""
        if self._header is None or not self._header.is_attached:
            found = self.query(HeaderLine)
            self._header = found.first() if found else None
        return self._header

    def refresh_header(self) -> None:
        header = self.header()
        if header is not None:
            show_header(header, self.viewer)

    def take_state(self, state: DashboardState, on_view: bool) -> None:
        """Show `state` now if the screen is `on_view` (in front, or under a dialog that leaves it visible), else
        when it comes back into view (on_screen_resume)."""
        if on_view:
            self.owed = None
            self.show_state(state)
        else:
            self.owed = state

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        state, self.owed = self.owed, None
        if state is not None:
            self.show_state(state)

    def show_state(self, state: DashboardState) -> None:
        """Render what changed in `state`."""

    def tick(self, now: datetime) -> None:
        """Once a second while in front: ages and clocks."""

    def on_mount(self) -> None:
        state = self.viewer.state
        if state is not None:
            self.show_state(state)
        self.refresh_header()
