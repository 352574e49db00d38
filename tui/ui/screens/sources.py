"""The sources' health (`s`): each source's state, latency, failures, last success, next attempt and last error."""

from __future__ import annotations

from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui.core import format as fmt
from tui.core.judge.engine import DashboardState
from tui.core.model import DISPUTED, REFUSED, Health
from tui.core.narratives.names import with_names
from tui.core.printable import printable
from tui.ui.screens.base import StateScreen
from widgets.footer import Footer
from widgets.header_line import HeaderLine, Pill, pill_text
from widgets.table import KeyTable


class SourcesScreen(StateScreen):
    """Every source's health, as the collector last stored it: state, latency, failures, last success, next
    attempt and last error; the ages move each second. The last error takes the room the terminal has left, and
    the highlighted source's is shown whole below the table.

    Built once and kept (the app's SCREENS): `s` shows it again, and each showing brings it up to the newest
    state, with its ages, before its first frame, touching only the cells that changed. Hidden, it follows
    nothing."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]
    COLUMNS = ("source", "state", "latency", "failures", "last success", "next attempt", "last error")

    def __init__(self) -> None:
        super().__init__()
        self.health: list[Health] = []
        self.placed = False  # the cursor has been put on the first source in trouble
        self.drawn_width = 0  # the terminal's width when the table was last filled: narrower, its columns shrink
        self.styled_for: tuple[object, tuple[str, bool]] | None = None  # the CSS rules, theme and focus when shown

    def compose(self) -> ComposeResult:
        yield HeaderLine()
        yield Static("", id="sources-note")  # shown outside LIVE mode: the feed can change (D) while it is kept
        table = KeyTable(id="sources", cursor_type="row")
        table.add_columns(*self.COLUMNS)
        yield table
        yield Static("", id="source-detail")
        yield Footer()

    def show_state(self, state: DashboardState) -> None:
        self.health = list(state.health)
        self.redraw()

    def tick(self, now: datetime) -> None:
        self.redraw()

    def on_mount(self) -> None:  # Textual also runs StateScreen.on_mount
        self.redraw()

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        """Shown (again): the newest state's sources and ages, the cursor on the first source in trouble, as on a
        page opened anew; before its first frame, so that nothing stale is ever drawn. Textual works out every
        widget's styles again on each showing (Screen._on_screen_resume, which runs after this); that is left
        out when the stylesheet, theme and focus are the ones it was styled with."""
        app = self.app
        rules, theme = app.stylesheet.rules, (app.theme, app.app_focus)  # the rules are parsed anew on any change
        if self.styled_for is not None and self.styled_for[0] is rules and self.styled_for[1] == theme:
            event.refresh_styles = False
        self.styled_for = (rules, theme)
        state, self.owed = self.viewer.state, None  # the newest, read here (StateScreen's resume shows no other)
        self.health = list(state.health) if state is not None else []
        self.placed = False
        self.show_mode()
        self.redraw()
        self.refresh_header()

    def show_mode(self) -> None:
        note = self.query_one("#sources-note", Static)
        mode = self.viewer.feed.mode
        note.display = mode != "LIVE"
        if note.display:
            note.update(f"{mode} mode: no source is polled.")

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        if not self.query("#sources"):  # not composed yet
            return
        table = self.query_one("#sources", KeyTable)
        now = self.viewer.feed.clock()

        def ago(moment: datetime | None) -> str:
            return "—" if moment is None else f"{fmt.age((now - moment).total_seconds())} ago"

        rows: list[list[Text | str]] = []
        for h in self.health:
            nxt = "—" if h.next_attempt is None else f"in {fmt.age((h.next_attempt - now).total_seconds())}"
            latency = "—" if h.latency_ms is None else f"{h.latency_ms:,.0f} ms"
            # it answered, but not for everything asked: that is said, never a plain "ok"
            lacking = shortfall(h) if h.state in ("ok", "slow") else ""
            mark, _ = pill_text(Pill(h.source, "partial" if lacking else h.state))
            word = (lacking if h.state == "ok" else f"{h.state}, {lacking}") if lacking else h.state
            state = Text(f"{mark} {word}", style="bold" if h.state == "failing" else "")
            rows.append([printable(h.source), state, Text(latency, justify="right"),
                         Text(fmt.count(h.failures), justify="right"), ago(h.last_success), nxt])
        errors = ["" if h.state in ("ok", "slow", "waiting") else self.named(h.last_error or "") for h in self.health]
        room = self.error_room([[str(c) for c in row] for row in rows])
        width, self.drawn_width = self.drawn_width, self.app.size.width  # a column only grows, unless told afresh
        table.show_rows([(h.source, [*row, clip(error, room)]) for h, row, error in zip(self.health, rows, errors,
                                                                                           strict=True)],
                        fresh=width != self.drawn_width)
        if rows and not self.placed:  # the page opens on the first source in trouble, its error whole below
            self.placed = True
            table.move_cursor(row=next((i for i, error in enumerate(errors) if error), 0))
        self.show_detail()

    def error_room(self, rows: list[list[str]]) -> int:
        """The width left for the last error once the other columns have theirs (each with a cell's padding). The page
        is as wide as the terminal; its own size, as it is shown again, is the one it had when last laid out."""
        widths = [max([cell_len(title), *(cell_len(row[i]) for row in rows)]) + 2
                  for i, title in enumerate(self.COLUMNS[:-1])]
        return max(len("last error"), self.app.size.width - sum(widths) - 4)  # the error's padding, a scrollbar

    def on_data_table_row_highlighted(self) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        """The highlighted source's full last error and what is missing from its last answer."""
        health = self.health
        table = self.query_one("#sources", KeyTable)
        detail = self.query_one("#source-detail", Static)
        if not health or not 0 <= table.cursor_row < len(health):
            detail.update("")
            return
        h = health[table.cursor_row]
        text = Text()
        lacking = shortfall(h) if h.state in ("ok", "slow") else ""
        text.append(f"{printable(h.source)}: ", style="bold").append(h.state + (f", {lacking}" if lacking else ""))
        if h.last_error:
            now = self.viewer.feed.clock()
            seconds = None if h.last_error_at is None else (now - h.last_error_at).total_seconds()
            when = "" if seconds is None else f" ({fmt.age(seconds)} ago)"
            text.append(f"\nlast error{when}: {self.named(h.last_error)}")
        for missing in h.partial:
            if missing.startswith(DISPUTED):  # kept apart, not missing: say so, and why
                text.append(f"\ndisputed, not used: {self.named(missing.removeprefix(DISPUTED))}")
            elif missing.startswith(REFUSED):
                text.append(f"\nrefused as bad data: {self.named(missing.removeprefix(REFUSED))}")
        for reason, symbols in missing_by_reason(h).items():  # 40 unquoted symbols: one line, not forty
            if len(symbols) == 1:
                text.append(f"\nmissing from the last answer: {self.named(f'{symbols[0]}: {reason}')}")
                continue
            text.append(f"\nmissing from the last answer ({len(symbols)}), {self.named(reason)}: ", style="bold")
            text.append(", ".join(self.named(symbol) for symbol in symbols))
        detail.update(text)


    def named(self, text: str) -> str:
        """Text from a source, made printable, with a company's name after each exchange code it holds."""
        return with_names(printable(text), self.viewer.narratives.names, self.viewer.lang)


def clip(text: str, width: int) -> str:
    """`text` in at most `width` terminal cells, cut with "…": counted in cells, not characters (a Chinese
    character takes two; a wide one that would straddle the cut becomes a space)."""
    return text if cell_len(text) <= width else set_cell_size(text, max(0, width - 1)) + "…"


def missing_by_reason(health: Health) -> dict[str, list[str]]:
    """The items missing from a source's last answer ("symbol: reason"), grouped by reason; a symbol not yet
    listed (a company before its listing day) is not missing."""
    found: dict[str, list[str]] = {}
    for item in health.partial:
        if item.startswith((DISPUTED, REFUSED)) or "not listed" in item:
            continue
        symbol, _, reason = item.partition(": ")
        found.setdefault(reason or "no reason given", []).append(symbol)
    return found


def shortfall(health: Health) -> str:
    """What a source left out of its last answer, counted: '40 unquoted', '3 missing, 1 refused'; '' if nothing."""
    missing = missing_by_reason(health)
    unquoted = sum(len(symbols) for reason, symbols in missing.items() if "not quote" in reason)
    other = sum(len(symbols) for symbols in missing.values()) - unquoted
    refused = sum(1 for item in health.partial if item.startswith(REFUSED))
    disputed = sum(1 for item in health.partial if item.startswith(DISPUTED))
    counts = ((unquoted, "unquoted"), (other, "missing"), (refused, "refused"), (disputed, "disputed"))
    return ", ".join(f"{fmt.count(n)} {word}" for n, word in counts if n)
