"""The main screen: a panel per theme with its live series and its claims, diverged claims first."""

from __future__ import annotations

import asyncio
import math
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Size
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static
from textual.widgets.data_table import ColumnKey

from tui.core import format as fmt
from tui.core.judge.engine import DashboardState
from tui.core.judge.view import ClaimRow, SeriesRow, ThemeView
from tui.core.model import Status
from tui.core.narratives.rules.verdict import off_text
from tui.core.words import JUDGING, WRONG_THEN, now_label, then_label
from tui.ui.messages import ClaimChosen, PanelsPainted, PanelsShown, SeriesChosen
from tui.ui.screens.base import StateScreen
from tui.ui.screens.style import themed as themed_now
from widgets.footer import Footer
from widgets.header_line import HeaderLine
from widgets.table import KeyTable

BADGES = {status: (now_label(status), style) for status, style in (  # reverse: DIVERGED stands out in no colour
    (Status.DIVERGED, "bold reverse $error"), (Status.HOLDS, "$success"), (Status.STALE, "$warning"),
    (Status.NO_DATA, "dim"), (Status.CONTEXT, "dim italic"), (Status.DISPUTED, "bold $warning"))}
SPARK = "▁▂▃▄▅▆▇█"
# The age sits beside the value, and the claim's text comes last: on a narrow terminal what is cut is the
# trend and the claim's words, never how old a price is.
SERIES_COLUMNS = ("series", "last", "age", "chg", "trend")
AGE_COLUMN = SERIES_COLUMNS.index("age")
WIDE = 160  # columns from which the panels sit in two columns
MIN_WIDTH, MIN_HEIGHT = 50, 12  # below this the panels cannot show a readable row
NARROW = 72  # below this many columns the panels give up their side borders and padding to the numbers
PAINT_WAITS = 20  # refreshes the first frame waits at most for its tables to be measured, before the other panels


def panels_in_view(views: tuple[ThemeView, ...], size: Size) -> int:
    """How many panels, from the first, the dashboard shows before it is scrolled at `size` (at least, since each
    panel is taken as short as it can be: its frame, its tables' headers and rows up to their max-height in
    app.tcss)."""
    room = size.height - 2  # the header and the footer
    columns = 2 if size.width >= WIDE else 1
    count = 0
    while count < len(views) and room > 0:
        row = views[count:count + columns]
        room -= max(2 + min(1 + len(v.series), 8) + 1 + min(1 + len(v.claims), 12) for v in row)
        count += len(row)
    return count


def sparkline(values: tuple[float, ...], width: int = 12) -> str:
    points = values[-width:]
    if len(points) < 2:
        return ""
    low, high = min(points), max(points)
    span = high - low or 1
    return "".join(SPARK[int((v - low) / span * (len(SPARK) - 1))] for v in points)


class PanelTable(KeyTable):
    """A table in a panel."""


class ThemePanel(Vertical):
    """One theme: its series table above its claims table."""

    def __init__(self, view: ThemeView, index: int) -> None:
        super().__init__(id=f"panel-{view.theme_id}", classes="panel")
        self.view = view
        self.index = index
        self.border_title = f"{index} {view.title}"

    def compose(self) -> ComposeResult:
        series = PanelTable(id=f"series-{self.view.theme_id}", classes="series", cursor_type="row")
        series.add_columns(*SERIES_COLUMNS)
        yield series
        claims = PanelTable(id=f"claims-{self.view.theme_id}", classes="claims", cursor_type="row")
        claims.add_columns("then", "now", "off", "live", "claimed", "claim")
        yield claims


class DashboardScreen(StateScreen):
    """The theme panels. Enter on a row drills into a claim or a series. The filter and the diverged-only
    switch act on the app's state: nothing is judged again."""

    BINDINGS = [
        Binding("d", "toggle_diverged", "Diverged only", id="diverged"),
        Binding("tab", "app.focus_next", "Next panel", show=False),
        Binding("shift+tab", "app.focus_previous", "Prev panel", show=False),
        Binding("h", "app.focus_previous", "Prev panel", show=False),
        Binding("l", "app.focus_next", "Next panel", show=False),
        *[Binding(str(n), f"jump({n})", f"Panel {n}", show=False) for n in range(1, 10)],
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]
    HELP_KEYS = [("1–9", "Jump to a theme's panel"), ("enter", "Open the claim or series under the cursor")]
    # Focus goes to the first claims table once it is there (focus_first_table), never to the panels' container
    # first: each change of focus restyles the panels and composes the footer again.
    AUTO_FOCUS = "PanelTable.claims"

    def __init__(self) -> None:
        super().__init__()
        self.diverged_only = False
        self.text_filter = ""
        self.shown: DashboardState | None = None
        self.first_shown = False
        self.mounting = False  # panels are being mounted: they are filled once they are
        self.wanted = 0  # a panel asked for (1-9) before it was mounted: jumped to once it is
        self.judging_shown = False  # the tables show the first frame's state ("judging…"), not a judged one
        self.ages: list[AgeCell] = []  # the age cells shown, for the clock (tick); set by fill
        self.ages_due = math.inf  # seconds after the shown state's moment at which an age cell's text next changes
        self.filled: weakref.WeakKeyDictionary[ThemePanel, tuple[object, ...]] = weakref.WeakKeyDictionary()

    def compose(self) -> ComposeResult:
        yield HeaderLine(id="header")
        box = Input(placeholder="filter claims by text (Enter keeps it, Escape clears it)", id="filter")
        box.display = False
        box.can_focus = False
        yield box
        yield VerticalScroll(id="panels")
        yield Static(f"The terminal is too small for tapecheck: it needs at least {MIN_WIDTH}x{MIN_HEIGHT}.",
                     id="too-small")
        yield Footer()  # rebuilt only when its keys change, not on each return from a page

    def fit(self, size: Size) -> None:
        """Lay the panels out for the terminal: two columns when wide, a message when too small to draw."""
        width, height = size
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        panels, message = self.query_one("#panels"), self.query_one("#too-small")
        panels.set_class(width >= WIDE, "wide")
        panels.set_class(width < NARROW, "narrow")
        if panels.display is small:  # only touch display on a change: it forces a full relayout
            panels.display = not small
            message.display = small

    def on_mount(self) -> None:
        super().on_mount()
        self.fit(self.app.size)

    def show_state(self, state: DashboardState) -> None:
        same = self.shown is not None and self.shown.views is state.views and self.first_shown
        self.shown = state
        if not same:  # a state with the same panels (health, the collector) changes the header alone
            self.redraw()

    def tick(self, now: datetime) -> None:
        """The ages move with the clock: an age cell is repainted when its text changes (in steps: fmt.age_step),
        and until the first of them does, nothing is touched."""
        state = self.shown
        if state is None or not self.first_shown:
            return
        later = max(0.0, (now - state.now).total_seconds())
        if later >= self.ages_due:
            self.ages_due = self.show_ages(later)

    def ages_due_at(self) -> datetime | None:
        """When an age cell's text next changes, for the app's clock to tick then (None: the panels are not shown
        yet, so tick each second)."""
        state = self.shown
        if state is None or not self.first_shown:
            return None
        return state.now + timedelta(seconds=min(self.ages_due, 86_400.0))

    def show_ages(self, later: float) -> float:
        """Repaint the age cells whose text is due to change `later` seconds after the shown state's moment;
        returns when the next one is."""
        due = math.inf
        for cell in self.ages:
            if later >= cell.due:
                text = cell.row.age_text(later)
                if text != cell.text and cell.table.is_attached and cell.row.series in cell.table.rows:
                    cell.table.show_cell(cell.row.series, cell.column, _age_cell(cell.row, self, later))
                cell.text, cell.due = text, cell.row.age_text_until(later)
            due = min(due, cell.due)
        return due

    def redraw(self) -> None:
        """Render the last state again (or a new one; or the filter, the switch or the language changed)."""
        state = self.shown
        container = next(iter(self.query("#panels").results(VerticalScroll)), None)
        if state is None or container is None or self.mounting:  # closing; or the mount under way fills when done
            return
        panels = {p.view.theme_id: p for p in container.query(ThemePanel)}
        if list(panels) != [v.theme_id for v in state.views]:  # the first state, or the user's themes changed
            self.mounting = True
            self.run_worker(self.mount_panels(container, panels, state.views), group="panels", exit_on_error=False)
        else:
            self.fill(state.views)

    def forget(self) -> None:
        """The data comes from elsewhere now (D): the panels go until the first state from there fills new ones, so
        no value stays on screen under another feed's clock."""
        self.shown, self.owed, self.first_shown, self.mounting = None, None, False, True  # nothing of the old feed
        self.run_worker(self.remove_panels(), group="panels", exit_on_error=False)

    async def remove_panels(self) -> None:
        try:
            await self.query(ThemePanel).remove()
        finally:
            self.mounting = False
        self.redraw()  # the new feed's first state, if it came meanwhile

    async def mount_panels(self, container: VerticalScroll, panels: dict[str, ThemePanel],
                           views: tuple[ThemeView, ...]) -> None:
        """Mount the panels of themes new to the screen and remove those gone, then fill them all, from the newest
        state by then (a user's themes come after the shipped ones). The first time, the panels in view are
        mounted, filled and painted first, and the others right after: the first frame waits for no widget it
        does not show."""
        forgotten = False  # the feed changed (D) while the first panels were painted: theirs is the removal now
        try:
            for theme_id, panel in panels.items():
                if all(v.theme_id != theme_id for v in views):
                    await panel.remove()
            new = [ThemePanel(v, i) for i, v in enumerate(views, start=1) if v.theme_id not in panels]
            if not panels and not self.first_shown:
                first = panels_in_view(views, self.app.size)
                await container.mount_all(new[:first])
                if first < len(new):
                    await self.paint_first(views[:first])
                    self.post_message(PanelsPainted())
                    new = new[first:]
                    forgotten = self.shown is None
                    if forgotten:
                        return
            await container.mount_all(new)
        finally:
            if not forgotten:
                self.mounting = False
        first = not self.first_shown
        self.redraw()
        if self.wanted and self.first_shown:
            self.action_jump(self.wanted)
        elif first and self.first_shown:
            self.focus_at_start()
        if first and self.first_shown:
            self.call_after_refresh(self.post_message, PanelsPainted())  # said already if paint_first ran: no matter
            self.call_after_refresh(self.post_message, PanelsShown())

    async def paint_first(self, views: tuple[ThemeView, ...]) -> None:
        """Fill the panels mounted so far (those of `views`), focus the first table as the whole dashboard will,
        and wait until they are on the screen with their rows. The dashboard counts as shown only once every
        panel is."""
        state = self.shown
        if state is not None and [v.theme_id for v in state.views[:len(views)]] == [v.theme_id for v in views]:
            self.fill(state.views)  # those mounted: the rest are filled with them once mounted
            self.first_shown = False
            self.focus_at_start()
        tables = list(self.query(PanelTable))
        await self.refreshed()
        for _ in range(PAINT_WAITS):  # a table measures its new rows when idle, and is laid out again after
            if all(t.virtual_size.height >= t.row_count + (t.header_height if t.show_header else 0) for t in tables):
                break
            await self.refreshed()
        await self.refreshed()  # the refresh that paints them measured

    async def refreshed(self) -> None:
        """Until the screen has been refreshed (or was idle with nothing to refresh)."""
        done = asyncio.Event()
        self.call_after_refresh(done.set)
        await done.wait()

    def action_toggle_diverged(self) -> None:
        self.diverged_only = not self.diverged_only
        self.notify("showing diverged claims only" if self.diverged_only else "showing every claim", timeout=2)
        self.redraw()

    def fill(self, views: tuple[ThemeView, ...]) -> None:
        """Fill (or refill) the mounted panels, keeping each table's cursor where it was. A panel that would show
        what it shows (ages aside: the clock moves them, see tick) is not touched."""
        lang, diverged_only, needle = self.viewer.lang, self.diverged_only, self.text_filter.casefold()
        state = self.shown
        pending = state is not None and state.pending
        fresh = self.judging_shown and not pending  # "judging…" gives way: the columns fit the verdicts anew
        later = max(0.0, (self.viewer.feed.clock() - state.now).total_seconds()) if state is not None else 0.0
        whole = True  # every panel had its tables
        shown_ages = {(id(c.table), c.row.series): c.text for c in self.ages}
        ages: list[AgeCell] = []
        with self.app.batch_update():
            for index, (panel, view) in enumerate(zip(self.query(ThemePanel), views, strict=False), start=1):
                tables = {t.has_class("series"): t for t in panel.query(PanelTable)}
                if len(tables) < 2:  # a panel still being mounted, or being removed (D): filled once it is done
                    whole = False
                    continue
                panel.index = index  # a panel before it may have gone with the user's file
                panel.view = view
                series_table, claims_table = tables[True], tables[False]
                age = list(series_table.columns)[AGE_COLUMN]
                key = (index, lang, self.app.theme, diverged_only, needle, view.title_in(lang),
                       tuple(_series_key(r) for r in view.series), tuple(_claim_key(r) for r in view.claims))
                if fresh or self.filled.get(panel) != key:
                    self.filled[panel] = key
                    flagged = f" · {view.diverged}" if view.diverged.total else ""
                    flagged += f" · {view.wrong_then} {WRONG_THEN}" if view.wrong_then else ""
                    title = f"{panel.index} {view.title_in(lang)}{flagged}"
                    if panel.border_title != title:  # setting it repaints the panel, even to the same text
                        panel.border_title = title
                    panel.set_class(view.diverged.total > 0, "has-diverged")
                    rows = [r for r in view.claims
                            if (not diverged_only or r.verdict.status is Status.DIVERGED)
                            and (not needle or needle in f"{r.claim.id} {r.summary(lang)}".casefold())]
                    series_table.show_rows([(r.series, _series_cells(r, self, lang, later)) for r in view.series],
                                           fresh)
                    claims_table.show_rows([(r.claim.id, _claim_cells(r, lang, self)) for r in rows], fresh)
                    ages += [AgeCell(series_table, age, r, r.age_text(later), r.age_text_until(later))
                             for r in view.series]
                else:  # the same rows: only an age may read otherwise (a new value of the same price), now
                    ages += [AgeCell(series_table, age, r, shown_ages.get((id(series_table), r.series), ""), -math.inf)
                             for r in view.series]
            self.ages = ages
            self.ages_due = self.show_ages(later)  # the ages the panels not refilled show, as of now
        if whole:
            self.first_shown = True
            self.judging_shown = pending

    def action_jump(self, number: int) -> None:
        """1-9: the theme's panel, its claims focused, at the top. A panel not yet mounted (the first frame mounts
        those in view first) is jumped to once it is: a key pressed as the dashboard opens is never lost."""
        panels = list(self.query(ThemePanel))
        tables = list(panels[number - 1].query(".claims").results(PanelTable)) if 1 <= number <= len(panels) else []
        if tables:
            self.wanted = 0 if self.first_shown else number  # the start-up's own focus must not take it back
            tables[0].focus()
            panels[number - 1].scroll_visible(top=True)
        elif self.shown is not None and 1 <= number <= len(self.shown.views):
            self.wanted = number

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.can_focus = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        self._leave_filter(box)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._leave_filter(event.input)

    def _leave_filter(self, box: Input) -> None:
        """Back to the panels; the box stays visible while a filter is in force."""
        box.can_focus = False
        box.display = bool(box.value)
        self.set_filter(box.value)
        self.focus_first_table()

    def set_filter(self, text: str) -> None:
        if text != self.text_filter:
            self.text_filter = text
            self.redraw()

    def focus_at_start(self) -> None:
        """The first claims table as the panels appear, unless a key (1-9) asked for another panel meanwhile."""
        if not self.wanted:
            self.focus_first_table(scroll=False)

    def focus_first_table(self, scroll: bool = True) -> None:
        """Focus the first claims table; `scroll`: scroll it into view if it is not (the first frame keeps the top
        of the dashboard in view, the first panel's title and its series, whatever part of the table shows)."""
        tables = list(self.query(".claims").results(PanelTable))
        if tables:
            tables[0].focus(scroll_visible=scroll)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.set_filter(event.value)

    @on(DataTable.RowSelected, ".claims")
    def claim_selected(self, event: DataTable.RowSelected) -> None:
        self.post_message(ClaimChosen(str(event.row_key.value)))

    @on(DataTable.RowSelected, ".series")
    def series_selected(self, event: DataTable.RowSelected) -> None:
        self.post_message(SeriesChosen(str(event.row_key.value)))


_THEMED: dict[tuple[str, bool, str], str] = {}


def themed(style: str, screen: Screen[None]) -> str:
    """tui.ui.screens.style.themed, remembered per theme: a panel's refill asks it for every cell, and each
    answer looks the theme up again."""
    key = (screen.app.theme, screen.app.no_color, style)
    found = _THEMED.get(key)
    if found is None:
        found = _THEMED[key] = themed_now(style, screen)
    return found


def _series_cells(row: SeriesRow, screen: Screen[None], lang: str, later_s: float = 0.0) -> list[Text | str]:
    """A series row's cells, its label in `lang`; `later_s` seconds after the state was built (the age moves
    on)."""
    style = "dim" if row.state in ("stale", "no data") else ""
    change = Text(fmt.change(row.change_pct), justify="right",
                  style=themed("$success" if (row.change_pct or 0) > 0 else "$error" if (row.change_pct or 0) < 0
                                else "", screen))
    return [Text(row.label_in(lang), style=style), Text(row.value_text, style=style, justify="right"),
            _age_cell(row, screen, later_s), change, sparkline(row.spark)]


def _age_cell(row: SeriesRow, screen: Screen[None], later_s: float) -> Text:
    """The age column's cell (AGE_COLUMN), the one the clock moves: in steps on a panel (fmt.age_step)."""
    style = themed("italic $warning", screen) if row.state == "stale" else "dim" if row.state == "no data" else ""
    return Text(row.age_text(later_s), style=style)


@dataclass(slots=True)
class AgeCell:
    """An age cell on screen: its table, column and row, the text it shows, and the `later` (seconds after the
    shown state's moment) at which that text is due to change."""

    table: PanelTable
    column: ColumnKey
    row: SeriesRow
    text: str
    due: float


def _series_key(row: SeriesRow) -> tuple[object, ...]:
    """What a series row's cells show, its age aside (tick and fill move ages)."""
    return row.series, row.label, row.name, row.value, row.unit, row.change_pct, row.state, row.spark


def _claim_key(row: ClaimRow) -> tuple[object, ...]:
    """What a claim row's cells show (_claim_cells): never its ages."""
    v = row.verdict
    return (row.claim, row.then, row.pending, v.status, v.live_value, v.claim_value, v.deviation_pct, v.unit, v.op,
            v.claim_upper, v.series)


THEN_STYLES = {Status.HOLDS: "$success", Status.DIVERGED: "bold reverse $accent", Status.STALE: "dim",
               Status.NO_DATA: "dim", Status.DISPUTED: "$warning"}


def _claim_cells(row: ClaimRow, lang: str, screen: Screen[None]) -> list[Text | str]:
    label, style = (JUDGING, "dim italic") if row.pending else BADGES[row.verdict.status]
    style = themed(style, screen)
    then_style = "dim" if row.claim.ours else THEN_STYLES.get(row.then.status, "") if row.then else ""
    then = Text(then_label(row.then, row.claim.ours, short=True), style=themed(then_style, screen)) \
        if row.then is not None else Text("…" if row.pending else "", style="dim italic")  # no wider than "no data"
    off = off_text(row.verdict)
    return [then, Text(label, style=style),
            Text(off, style=style.replace("reverse ", "") if row.verdict.status is Status.DIVERGED else ""),
            Text(row.live_text, justify="right"), Text(row.claimed_text, justify="right"),
            Text(row.summary(lang), overflow="ellipsis")]
