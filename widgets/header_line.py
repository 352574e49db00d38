"""A one-line header: app name, data mode, clock, a pill per source, and a count of flagged items.

Knows nothing of tapecheck's data layer: it is given plain strings and states to show.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget


@dataclass(frozen=True, slots=True)
class Pill:
    """One source's badge: its name, its state (ok, slow, partial, failing, rate_limited, waiting) and a short
    note."""

    name: str
    state: str
    note: str = ""


class HeaderLine(Widget):
    """`tapecheck  LIVE  12:04:05 UTC  3 diverged  ● binance 3s  ● yahoo 41s …`."""

    DEFAULT_CSS = """
    HeaderLine { height: 1; background: $panel; color: $foreground; }
    """

    title: reactive[str] = reactive("tapecheck")
    mode: reactive[str] = reactive("")
    clock: reactive[str] = reactive("")
    pills: reactive[tuple[Pill, ...]] = reactive(())
    flagged: reactive[str] = reactive("")

    def render(self) -> Text:
        theme = self.app.current_theme
        colours = {"ok": theme.success, "slow": theme.warning, "partial": theme.warning, "failing": theme.error,
                   "rate_limited": theme.warning}
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f" {self.title} ", style="bold reverse")
        text.append(f" {self.mode} ", style="bold")
        text.append(f" {self.clock} ")
        if self.flagged:  # before the pills: on a narrow terminal the pills are what gets cut
            text.append(f" {self.flagged} ", style=f"bold {theme.error or 'red'}")
        for pill in self.pills:
            colour = colours.get(pill.state) or "grey50"
            text.append(" ●", style=colour)
            text.append(f" {pill.name}{' ' + pill.note if pill.note else ''}")
        return text
