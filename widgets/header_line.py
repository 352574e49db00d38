"""A one-line header: app name, data mode, a count of flagged items, a pill per source, and the clock.

The clock is a widget of its own, so that its tick each second repaints its dozen cells and nothing else:
over SSH every byte crosses the link. Knows nothing of tapecheck's data layer: it is given plain strings and
states to show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widget import Widget


@dataclass(frozen=True, slots=True)
class Pill:
    """One source's badge: its name, its state (ok, slow, partial, failing, rate_limited, waiting) and a short
    note."""

    name: str
    state: str
    note: str = ""


DETAIL = re.compile(r" \([^()]*\)")  # a count's detail, given up on a narrow terminal: `8 diverged (3 ours)`

# Each state's mark and word, so that a pill reads without colour: `● binance`, `✕ mempool FAIL`.
PILL_MARKS = {"ok": ("●", ""), "slow": ("◐", "slow"), "partial": ("◐", "partial"), "rate_limited": ("◐", "429"),
              "failing": ("✕", "FAIL"), "waiting": ("○", "wait"), "paused": ("‖", "paused")}


def pill_text(pill: Pill) -> tuple[str, str]:
    """A pill's mark, and its words: the name, the state's word when it is not ok, the note (an age)."""
    mark, word = PILL_MARKS.get(pill.state, ("?", pill.state))
    return mark, " ".join(part for part in (pill.name, word, pill.note) if part)


class HeaderClock(Widget):
    """The header's clock, repainted alone."""

    DEFAULT_CSS = """
    HeaderClock { height: 1; width: auto; background: $panel; color: $foreground; }
    """

    time: reactive[str] = reactive("")  # a repaint of its own cells; its width is set only when it changes

    def watch_time(self, old: str, new: str) -> None:
        if len(old) != len(new):
            self.styles.width = len(new) + 2

    def render(self) -> Text:
        return Text(f" {self.time} ", no_wrap=True)


class HeaderStatus(Widget):
    """Everything in the header but the clock: `tapecheck  LIVE  3 diverged  ● binance  ● yahoo 2m …`."""

    DEFAULT_CSS = """
    HeaderStatus { height: 1; width: 1fr; background: $panel; color: $foreground; }
    """

    mode: reactive[str] = reactive("")
    alarm: reactive[str] = reactive("")  # e.g. "collector down since 14:02", shown in the error colour
    pills: reactive[tuple[Pill, ...]] = reactive(())
    flagged: reactive[str] = reactive("")

    def render(self) -> Text:
        """Left to right: the name, the mode, the alarm, the counts, the pills. On a narrow terminal the pills
        are cut first, then the name goes, then the counts' details in parentheses (`8 diverged (3 ours)` reads
        `8 diverged`) while the mode would lose more than its last letters, the mode is shortened, and then the
        alarm: the counts always show."""
        theme = self.app.current_theme
        colours = {"ok": theme.success, "slow": theme.warning, "partial": theme.warning, "failing": theme.error,
                   "rate_limited": theme.warning}
        error = theme.error or "red"
        if self.app.no_color:  # the terminal's own colours, reversed, read better than a grey of red
            colours, error = {}, ""
        width = self.size.width or 1_000
        counts = f" {self.flagged} " if self.flagged else ""
        alarm = f" {self.alarm} " if self.alarm else ""
        if DETAIL.search(counts) and width - cell_len(counts) - cell_len(alarm) < min(len(self.mode), 6) + 3:
            counts = DETAIL.sub("", counts)
        spare = width - cell_len(counts) - len(" S… ")  # the mode keeps a letter
        if alarm and cell_len(alarm) + 1 > spare:
            cut = self.alarm[:max(1, spare - 4)]
            alarm = f" {cut.rsplit(' ', 1)[0] if ' ' in cut else cut}… "  # at a word's end, where there is one
        kept = [(alarm, f"bold reverse {error}"), (" " if alarm and counts else "", "")] if alarm else []
        kept += [(counts, f"bold reverse {error}")] if counts else []
        room = width - sum(cell_len(part) for part, _ in kept)
        title, mode = " tapecheck ", f" {self.mode} "
        if cell_len(title) + cell_len(mode) > room:
            title = ""
        if cell_len(mode) > room:
            mode = f" {self.mode[:max(1, room - 3)]}… "
        text = Text(no_wrap=True, overflow="ellipsis")
        if title:
            text.append(title, style="bold reverse")
        text.append(mode, style="bold")
        for part, style in kept:
            text.append(part, style=style)
        for pill in self.pills:
            mark, words = pill_text(pill)
            colour = colours.get(pill.state) or ("" if self.app.no_color else "grey50")
            text.append(f" {mark}", style=colour)
            text.append(f" {words}", style=f"bold {colour}" if pill.state == "failing" else "")
        return text


class HeaderLine(Horizontal):
    """The header row: the status on the left, the clock on the right. Set its fields through `show`."""

    DEFAULT_CSS = """
    HeaderLine { height: 1; background: $panel; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._status: tuple[str, str, tuple[Pill, ...], str] = ("", "", (), "")
        self._clock = ""

    def compose(self) -> ComposeResult:
        yield HeaderStatus()
        yield HeaderClock()

    def on_mount(self) -> None:
        self._apply()

    def show(self, *, mode: str, flagged: str, pills: tuple[Pill, ...], alarm: str = "") -> None:
        """Change what differs; an unchanged field repaints nothing. Before the parts are mounted, it is kept
        for them."""
        self._status = (mode, flagged, pills, alarm)
        self._apply()

    def tick(self, clock: str) -> None:
        self._clock = clock
        self._apply()

    def _apply(self) -> None:
        for status in self.query(HeaderStatus):
            status.mode, status.flagged, status.pills, status.alarm = self._status
        for clock in self.query(HeaderClock):
            clock.time = self._clock
