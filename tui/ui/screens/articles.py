"""The Articles screen (`a`): each article's scorecard, its claims in the order the article makes them, the
article's own errors, and totals per outlet. Enter on a claim opens its claim page."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from tui.core.judge.engine import DashboardState
from tui.core.model import Status
from tui.core.narratives.articles import Scorecard, Tally, article_notes, citation, outlet_totals, scorecards
from tui.core.words import now_label, then_label
from tui.ui.messages import ClaimChosen
from tui.ui.screens.base import StateScreen
from widgets.footer import Footer
from widgets.header_line import HeaderLine
from widgets.table import KeyTable

CLAIM_PREFIX = "claim:"


def tally_text(t: Tally) -> str:
    return (f"{t.claims} claims · {t.checkable} checkable ({t.ours} our reading) · then {t.held_then} held, "
            f"{t.wrong_then} wrong, {t.not_met_then} not met (our reading), {t.no_data_then} no data · now "
            f"{t.holds_now} hold, {t.diverged_now} diverged · {t.errors} errors")


class ArticlesScreen(StateScreen):
    """Every article's scorecard in one table: a heading row per article, then its claims; totals per outlet.
    It follows the app's state: a verdict that changes changes here too."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]
    DEFAULT_CSS = """
    #articles-detail {
        height: auto;
        max-height: 25%;  /* the table keeps most of a small terminal */
        padding: 0 1;
        border-top: solid $primary 50%;
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self.cards: list[Scorecard] = []
        self.full: dict[str, str] = {}  # each row's whole text by its key, shown below the table when highlighted

    def compose(self) -> ComposeResult:
        yield HeaderLine()
        yield Static(Text("Articles: each one's claims in article order; held or WRONG on its own date, "
                          "holds or diverged now; its own errors", style="bold"), id="articles-title")
        yield KeyTable(id="articles-table", cursor_type="row", zebra_stripes=False)
        yield Static("", id="articles-detail")
        yield Footer()

    def show_state(self, state: DashboardState) -> None:
        cards = scorecards(self.viewer.narratives, dict(state.verdicts), dict(state.then))
        if cards == self.cards or not self.query(DataTable):
            return
        self.cards = cards
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        table.add_columns("¶", "then", "now", "claim")
        for card in self.cards:
            self.add_card(table, card)
        table.add_row("", "", "", Text("Totals per outlet", style="bold"), key="totals")
        for outlet, tally in outlet_totals(self.cards).items():
            table.add_row("", "", "", Text(f"{outlet}: {tally_text(tally)}"), key=f"outlet:{outlet}")
        table.move_cursor(row=min(cursor, table.row_count - 1))
        table.focus()
        self.show_full(table)

    def add_card(self, table: DataTable[str | Text], card: Scorecard) -> None:
        a = card.article
        key = f"article:{a.id}"
        table.add_row("", "", "", Text(citation(a), style="bold"), key=key)
        table.add_row("", "", "", Text(f"{a.title_en} · {tally_text(card.tally)}", style="dim"), key=key + ":tally")
        self.full[key] = self.full[key + ":tally"] = f"{citation(a)}\n{a.title_en}\n{tally_text(card.tally)}"
        for index, note in enumerate(article_notes(a)):
            table.add_row("", "", "", Text(f"note: {note}", style="dim italic", overflow="ellipsis"),
                          key=f"note:{a.id}:{index}")
            self.full[f"note:{a.id}:{index}"] = f"The article's note: {note}"
        for row in card.rows:
            c = row.claim
            summary = c.summary_zh if self.viewer.lang == "zh" else c.summary
            mark = "(ours) " if c.derived else "(our reading) " if c.rule and c.ours else ""
            label = Text(mark + summary, overflow="ellipsis")
            then = then_label(row.then, c.ours, short=True) if c.rule else ""
            now = "—" if c.rule is not None and row.now is None else now_label(row.now.status if row.now else "context")
            style = "bold" if row.now is not None and row.now.status is Status.DIVERGED else ""
            table.add_row(str(c.paragraph or ""), then, Text(now, style=style), label, key=CLAIM_PREFIX + c.id)
            reading = f"\nOur reading: {c.reading_note}" if c.rule and c.ours and c.reading_note else ""
            quote = f"\n“{c.quote}”" if c.quote else ""
            self.full[CLAIM_PREFIX + c.id] = f"{mark}{summary}{quote}{reading}"
            if row.error:
                table.add_row("", "", "", Text(f"  article's error: {row.error}", style="italic",
                                               overflow="ellipsis"), key=f"error:{c.id}")
                self.full[f"error:{c.id}"] = f"The article's error: {row.error}"

    def show_full(self, table: DataTable[str | Text]) -> None:
        """The highlighted row's whole text below the table: a long note, quote or error is cut in its row."""
        if not table.row_count:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        self.query_one("#articles-detail", Static).update(Text(self.full.get(str(key), "")))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_full(event.data_table)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # the app opens claims from the dashboard's tables by their keys; these keys differ
        key = str(event.row_key.value)
        for prefix in (CLAIM_PREFIX, "error:"):
            if key.startswith(prefix):
                self.post_message(ClaimChosen(key.removeprefix(prefix)))
