"""A DataTable that every tapecheck table shares: j and k move the cursor as the arrows do, and it is refilled in
place, touching only the cells that changed, so that a table refreshed each second keeps its cursor and repaints
little."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable


class KeyTable(DataTable[Text | str]):
    """A row table: j/k move the cursor; `show_rows` refills it by row key."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]

    def show_rows(self, rows: list[tuple[str, list[Text | str]]]) -> None:
        """Show `rows` (key, cells). When the same keys are shown, only the cells that changed are touched;
        otherwise the table is filled again and the cursor stays on the same row number."""
        keys = [key for key, _ in rows]
        if [str(k.value) for k in self.rows] == keys:
            # Only the cells that changed: each update makes the table measure and lay itself out again.
            for key, cells in rows:
                for column, cell in zip(self.columns, cells, strict=False):
                    if not _same(self.get_cell(key, column), cell):
                        self.update_cell(key, column, cell, update_width=True)
            return
        cursor = self.cursor_row
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if rows:
            self.move_cursor(row=min(cursor, len(rows) - 1))


def _same(shown: object, cell: Text | str) -> bool:
    """Whether a table cell already shows `cell`: the same text, styles and justification."""
    if isinstance(shown, Text) and isinstance(cell, Text):
        return (shown.plain, shown.style, shown.justify, shown.spans) == (cell.plain, cell.style, cell.justify,
                                                                          cell.spans)
    return shown == cell
