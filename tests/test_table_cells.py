"""KeyTable draws a one-line cell in one pass (widgets/table.py): the same segments as DataTable's own, for every
cell of the dashboard's tables, the header's and the cursor's too, in colour and without."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from rich.segment import Segment
from textual.widgets import DataTable

from tests.conftest import DATA
from tests.pilot import shown
from tui.core.config import load_settings
from tui.core.narratives.claims import load_narratives
from tui.ui.app import snapshot_app
from widgets.table import KeyTable

NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)


def drawn(table: KeyTable, own: bool, row: int, column: int, width: int, cursor: bool, hover: bool) -> list[list[Segment]]:
    table._clear_caches()
    style = table.rich_style
    if own:
        return table._render_cell(row, column, style, width, cursor, hover)
    return DataTable._render_cell(table, row, column, style, width, cursor, hover)


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_every_cell_is_drawn_as_datatable_draws_it(monkeypatch: pytest.MonkeyPatch, no_color: bool,
                                                         lang: str) -> None:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    theirs_drawn = 0
    datatable_draw = DataTable._render_cell

    def counted(*args: object) -> list[list[Segment]]:
        nonlocal theirs_drawn
        theirs_drawn += 1
        return datatable_draw(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(DataTable, "_render_cell", counted)
    app = snapshot_app(load_settings(), load_narratives(), DATA / "snapshot.jsonl", NOW, lang=lang)
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot, app)
        tables = list(app.screen.query(KeyTable))
        cells = 0
        for table in tables:
            for column_index, column in enumerate(table.ordered_columns):
                width = column.get_render_width(table)
                for row in range(-1, table.row_count):
                    for cursor, hover in ((False, False), (True, False), (False, True)):
                        before = theirs_drawn
                        mine = drawn(table, True, row, column_index, width, cursor, hover)
                        assert theirs_drawn == before  # drawn in one pass, not by DataTable's
                        theirs = drawn(table, False, row, column_index, width, cursor, hover)
                        assert mine == theirs, (table.id, row, column.label)
                        cells += 1
        assert cells > 1000
