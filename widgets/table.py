"""A DataTable that every tapecheck table shares: j and k move the cursor as the arrows do, Home and End go to the
first and last row (a row table's columns are not what a reader moves through), and it is refilled in
place, touching only the cells that changed, each repainted alone when it fits its column, so that a table
refreshed each second keeps its cursor and sends little to the terminal (over SSH every byte crosses the link)."""

from __future__ import annotations

from typing import Any, Self

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Region
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey


class KeyTable(DataTable[Text | str]):
    """A row table: j/k move the cursor, Home/End to the first/last row; `show_rows` refills it by row key,
    `show_cell` changes one cell."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]
    _whole_refresh_held = False

    def action_scroll_home(self) -> None:
        """Home: the first row, in a row table (DataTable's own scrolls to the first column)."""
        if self.cursor_type == "row":
            self.action_scroll_top()
            self.scroll_x = 0
        else:
            super().action_scroll_home()

    def action_scroll_end(self) -> None:
        """End: the last row, in a row table (DataTable's own scrolls to the last column, far right)."""
        if self.cursor_type == "row":
            self.action_scroll_bottom()
            self.scroll_x = 0
        else:
            super().action_scroll_end()

    def refresh(self, *regions: Region, **options: Any) -> Self:
        if self._whole_refresh_held and not regions:
            return self
        return super().refresh(*regions, **options)

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int, cursor: bool = False,
                     hover: bool = False) -> list[list[Segment]]:
        """DataTable's own (pinned: textual>=8.2,<9, tests/test_table_cells.py), with the same segments made in one
        pass for a cell of one line: DataTable wraps each cell in Styled(Padding(cell)) and crops it twice through
        Rich, which costs most of a table's paint (a dashboard's first frame draws some 200 cells)."""
        header = row_index == -1
        row_key = self._header_row_key if header else self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index) if column_index >= 0 else None
        pad = self.cell_padding
        if row_key is None or column_key is None or width - 2 * pad < 1 \
                or (self.header_height if header else self.rows[row_key].height) != 1:  # 0: not measured yet
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        key = (row_key, column_key, base_style, cursor, hover, self._show_hover_cursor, self._update_count,
               self._pseudo_class_state)
        cache = self._cell_render_cache
        if key in cache:
            return cache[key]
        cell = self._get_row_renderables(row_index).cells[column_index]
        if not isinstance(cell, Text):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        fixed = not header and (row_index < self.fixed_rows or column_index < self.fixed_columns)
        component, post = self._get_styles_to_render_cell(
            header, False, fixed, hover, cursor, self.show_cursor, self._show_hover_cursor,
            self.cursor_foreground_priority == "css", self.cursor_background_priority == "css")
        console = self.app.console
        options = self.app.console_options.update_dimensions(width - 2 * pad, 1).update(no_wrap=True)
        blank = console.get_style("none")  # Padding's own style
        inner = console.render_lines(cell, options, style=blank, pad=True)[0]
        side = Segment(" " * pad, blank)
        pre = base_style + Style.from_meta({"row": row_index, "column": column_index}) + component
        line = list(Segment.apply_style([side, *inner, side] if pad else inner, pre, console.get_style(post)))
        cache[key] = lines = [line]
        return lines

    def show_rows(self, rows: list[tuple[str, list[Text | str]]], fresh: bool = False) -> None:
        """Show `rows` (key, cells). When the same keys are shown, only the cells that changed are touched;
        otherwise the table is filled again and the cursor stays on the same row number. `fresh`: the columns
        are as wide as these rows need, whatever was shown before (a column otherwise only grows)."""
        keys = [key for key, _ in rows]
        if not fresh and [str(k.value) for k in self.rows] == keys:
            for key, cells in rows:
                for column, cell in zip(self.columns, cells, strict=False):
                    self.show_cell(key, column, cell)
            return
        cursor = self.cursor_row
        self.clear()
        if fresh:  # measured here, not when idle: a paint before then would keep lines of the old widths
            for index, sized in enumerate(self.columns.values()):
                if sized.auto_width:
                    sized.content_width = max([sized.label.cell_len, *(_width(cells[index]) for _, cells in rows
                                                                       if index < len(cells))])
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if rows:
            self.move_cursor(row=min(cursor, len(rows) - 1))

    def show_cell(self, row: RowKey | str, column: ColumnKey, value: Text | str) -> None:
        """Put `value` in a cell, if it is not shown already. When it fits the column only that cell is
        repainted; when it is wider, the column grows and the table is laid out again (update_cell's way)."""
        if _same(self.get_cell(row, column), value):
            return
        if _width(value) > self.columns[column].content_width:
            self.update_cell(row, column, value, update_width=True)
            return
        self._whole_refresh_held = True
        try:
            self.update_cell(row, column, value)  # stores it; the refresh of the whole table it asks for is held
        finally:
            self._whole_refresh_held = False
        self.refresh_coordinate(self.get_cell_coordinate(row, column))


def _width(cell: Text | str) -> int:
    """How many columns a one-line cell takes."""
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)


def _same(shown: object, cell: Text | str) -> bool:
    """Whether a table cell already shows `cell`: the same text, styles and justification."""
    if isinstance(shown, Text) and isinstance(cell, Text):
        return (shown.plain, shown.style, shown.justify, shown.spans) == (cell.plain, cell.style, cell.justify,
                                                                          cell.spans)
    return shown == cell
