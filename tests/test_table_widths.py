"""A table refilled with `fresh` columns has its widths at once: a paint before it is next idle (when DataTable
measures new rows) draws the new widths, and caches no line of the old ones."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from widgets.table import KeyTable

ROWS: list[tuple[str, list[Text | str]]] = [("a", [Text("NVDA mkt cap"), Text("4.50T USD", justify="right")]),
                                            ("b", [Text("ORCL"), "—"])]


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        table = KeyTable(cursor_type="row")
        table.add_columns("series", "last")
        yield table


async def test_fresh_columns_are_as_wide_as_their_rows_before_the_table_is_idle() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 10)) as pilot:
        table = app.query_one(KeyTable)
        table.show_rows(ROWS)
        await pilot.pause()
        measured = [c.content_width for c in table.columns.values()]
        assert measured == [len("NVDA mkt cap"), len("4.50T USD")]
        table.show_rows(ROWS, fresh=True)  # the same rows: once measured, nothing would resize the table
        assert [c.content_width for c in table.columns.values()] == measured  # before any idle
        line = "".join(segment.text for segment in table.render_line(1))
        assert "NVDA mkt cap" in line and "4.50T USD" in line
        await pilot.pause()
        assert [c.content_width for c in table.columns.values()] == measured
        assert "NVDA mkt cap" in "".join(segment.text for segment in table.render_line(1))
