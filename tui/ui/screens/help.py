"""Help (`?`): every key, generated from the bindings in force on the screen it was asked from."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui.ui.screens.base import StateScreen
from tui.ui.screens.page import Page
from widgets.footer import Footer
from widgets.header_line import HeaderLine


def keys_in_force(app: App[Any]) -> list[tuple[str, str]]:
    """Help from the bindings in force on the screen in front, then the keys that are not bindings."""
    screen = app.screen
    keys: list[tuple[str, str]] = [("↑ ↓ j k", "Move within a table, or scroll a page")]
    by_description: dict[str, list[str]] = {}  # keys that do the same are one line: `tab l  Next panel`
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.description or binding.action.startswith("jump(") or binding.action == "command_palette":
            continue  # the palette has its own line below
        if not active.enabled or active.node not in (screen, app):
            continue  # a focused widget's own keys (a table's scrolling) are the first line's
        shown = app.get_key_display(binding) or key
        if binding.description not in by_description:
            by_description[binding.description] = []
            keys.append(("", binding.description))
        if shown not in by_description[binding.description]:
            by_description[binding.description].append(shown)
    keys = [(key or " ".join(by_description[description]), description) for key, description in keys]
    keys += screen.HELP_KEYS if isinstance(screen, StateScreen) else []
    return [*keys, ("ctrl+p", "Command palette: any claim, series or theme")]


class HelpScreen(StateScreen):
    """Every key, generated from the bindings in force."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("question_mark", "app.pop_screen", "Back")]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        text = Text("Keys\n\n", style="bold")
        for key, description in self.keys:
            text.append(f"  {key:>14}  ", style="bold").append(f"{description}\n")
        yield HeaderLine()
        with Page():
            yield Static(text)
        yield Footer()
