"""The footer keeps its keys while what it shows stays the same, and shows a change of bindings as Textual's does."""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button
from textual.widgets._footer import FooterKey

from tests.pilot import until
from widgets.footer import Footer


class Keys(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Quit"), Binding("x", "extra", "Extra")]

    def __init__(self) -> None:
        super().__init__()
        self.extra = False

    def compose(self) -> ComposeResult:
        yield Button("one", id="one")
        yield Button("two", id="two")
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.extra if action == "extra" else True


def labels(app: App[None]) -> list[str]:
    return [key.description for key in app.screen.query(FooterKey) if not key.has_class("-command-palette")]


async def test_the_footer_keeps_its_keys_when_focus_moves_and_composes_anew_when_they_change() -> None:
    app = Keys()
    async with app.run_test() as pilot:
        await until(pilot, lambda: labels(app) == ["Quit"], "the footer's keys")
        keys = list(app.screen.query(FooterKey))
        assert all(not k.has_class("-compact") for k in keys if not k.has_class("-command-palette"))
        app.query_one("#two", Button).focus()
        await pilot.pause()
        app.query_one("#one", Button).focus()
        await pilot.pause()
        assert list(app.screen.query(FooterKey)) == keys  # the same keys: nothing it shows changed
        app.extra = True
        app.refresh_bindings()
        await until(pilot, lambda: labels(app) == ["Quit", "Extra"], "the key that came")
