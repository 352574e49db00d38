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


CLOCK_SHORT_BELOW = 80  # columns under which the clock shows its short form (the time alone)


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


@dataclass(frozen=True, slots=True)
class Shown:
    """What the header's status says, each field in a long and a short form (the short one for narrow
    terminals: `DEMO` for `DEMO — synthetic data`, `13 div` for `13 diverged`)."""

    mode: str = ""
    flagged: str = ""
    alarm: str = ""
    mode_short: str = ""
    flagged_short: str = ""
    alarm_short: str = ""

    def forms(self) -> list[tuple[bool, str, str, str]]:
        """(with the app's name, mode, alarm, counts), richest first: the name goes first, then the counts'
        details in parentheses (`8 diverged (3 ours)` reads `8 diverged`), then the mode, the alarm and the counts
        take their short forms, in that order."""
        mode_s, alarm_s = self.mode_short or self.mode, self.alarm_short or self.alarm
        flagged_s, plain = self.flagged_short or self.flagged, DETAIL.sub("", self.flagged)
        return [(True, self.mode, self.alarm, self.flagged), (False, self.mode, self.alarm, self.flagged),
                (False, self.mode, self.alarm, plain), (False, mode_s, self.alarm, plain),
                (False, mode_s, alarm_s, plain), (False, mode_s, alarm_s, flagged_s)]


class HeaderStatus(Widget):
    """Everything in the header but the clock: `tapecheck  LIVE  3 diverged  ● binance  ● yahoo 2m …`."""

    DEFAULT_CSS = """
    HeaderStatus { height: 1; width: 1fr; background: $panel; color: $foreground; }
    """

    shown: reactive[Shown] = reactive(Shown)
    pills: reactive[tuple[Pill, ...]] = reactive(())

    @property
    def mode(self) -> str:
        return self.shown.mode

    @property
    def alarm(self) -> str:
        return self.shown.alarm

    @property
    def flagged(self) -> str:
        return self.shown.flagged

    def render(self) -> Text:
        """Left to right: the name, the mode, the alarm, the counts, the pills. On a narrow terminal the pills
        are cut first, then the name goes, then the mode, the alarm and the counts take their short forms: the
        mode and the counts always show (down to 60 columns, clock included)."""
        theme = self.app.current_theme
        colours = {"ok": theme.success, "slow": theme.warning, "partial": theme.warning, "failing": theme.error,
                   "rate_limited": theme.warning}
        error = theme.error or "red"
        if self.app.no_color:  # the terminal's own colours, reversed, read better than a grey of red
            colours, error = {}, ""
        width = self.size.width or 1_000
        forms = self.shown.forms()
        def needs(form: tuple[bool, str, str, str]) -> int:
            return sum(cell_len(part) + 2 for part in form[1:] if part) + (11 if form[0] else 0)

        title, mode, alarm, flagged = next((form for form in forms if needs(form) <= width), forms[-1])
        spare = width - needs((False, mode, "", flagged)) - 3
        if alarm and needs((title, mode, alarm, flagged)) > width:  # still too long: the alarm is cut, at a word
            cut = alarm[:max(1, spare - 1)]
            alarm = f"{cut.rsplit(' ', 1)[0] if ' ' in cut else cut}…"
        text = Text(no_wrap=True, overflow="ellipsis")
        if title:
            text.append(" tapecheck ", style="bold reverse")
        text.append(f" {mode} ", style="bold")
        if alarm:
            text.append(f" {alarm} ", style=f"bold reverse {error}")
            text.append(" " if flagged else "")
        if flagged:
            text.append(f" {flagged} ", style=f"bold reverse {error}")
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
        self._status: tuple[Shown, tuple[Pill, ...]] = (Shown(), ())
        self._clock = ("", "")

    def compose(self) -> ComposeResult:
        yield HeaderStatus()
        yield HeaderClock()

    def on_mount(self) -> None:
        self._apply()

    def on_resize(self) -> None:
        self._apply()

    def show(self, *, mode: str, flagged: str, pills: tuple[Pill, ...], alarm: str = "", mode_short: str = "",
             flagged_short: str = "", alarm_short: str = "") -> None:
        """Change what differs; an unchanged field repaints nothing. Before the parts are mounted, it is kept
        for them. The short forms are for narrow terminals (the long ones where they are not given)."""
        self._status = (Shown(mode, flagged, alarm, mode_short, flagged_short, alarm_short), pills)
        self._apply()

    def tick(self, clock: str, short: str = "") -> None:
        """The clock; `short` (e.g. the time without its date) on a terminal under CLOCK_SHORT_BELOW columns."""
        self._clock = (clock, short or clock)
        self._apply()

    def _apply(self) -> None:
        for status in self.query(HeaderStatus):
            status.shown, status.pills = self._status
        narrow = 0 < (self.size.width or self.app.size.width) < CLOCK_SHORT_BELOW
        for clock in self.query(HeaderClock):
            clock.time = self._clock[1] if narrow else self._clock[0]
