"""What a screen may know of the app it runs in: the state shown, the narratives, the language and the feed the
data comes from. The app implements it; screens read it through `viewer_of` and ask things of the app with
messages (tui.ui.messages), so the app imports the screens and never the reverse."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from textual.app import App

    from tui.core.config import Settings
    from tui.core.judge.engine import DashboardState
    from tui.core.narratives.claims import Narratives
    from tui.ui.feed import Feed


class Viewer(Protocol):
    """The app as its screens see it."""

    state: DashboardState | None  # the newest state, None before the first
    narratives: Narratives
    lang: str  # "en" or "zh"
    settings: Settings
    feed: Feed  # the mode in force: its engine, clock, replay or store


def viewer_of(app: App[Any]) -> Viewer:
    """The running app, as a Viewer (a screen's `self.app`, a command provider's)."""
    return cast("Viewer", app)
