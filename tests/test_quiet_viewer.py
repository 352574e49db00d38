"""An idle viewer costs little: ages move in steps, a changed cell repaints alone, a new observation re-judges
only the claims that read its series, and conditions' answers on past days are kept from state to state."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region

from tests.conftest import NOW
from tui.core import format as fmt
from tui.core.config import load_settings
from tui.core.judge.engine import Engine
from tui.core.judge.view import make_context
from tui.core.model import Observation
from tui.core.narratives.claims import load_narratives
from tui.core.narratives.rules.verdict import judge_all
from tui.core.snapshot import read_observations
from tui.core.tape import MemoryTape
from widgets.table import KeyTable

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(("seconds", "shown"), [
    (0, "<15s"), (9.9, "<15s"), (14.9, "<15s"), (15, "15s"), (44, "30s"), (59.9, "45s"), (60, "1m"),
    (3599, "59m"), (3600, "1h"), (7199, "1h"), (86399, "23h"), (86400, "1d"), (3 * 86400 + 9 * 3600, "3d"),
    (-5, "<15s"), (None, "—"),
])
def test_a_panel_age_moves_in_steps(seconds: float | None, shown: str) -> None:
    assert fmt.age_step(seconds) == shown


def test_a_closed_markets_age_moves_in_ten_minutes_after_ten() -> None:
    assert [fmt.age_step(s, coarse=True) for s in (30, 300, 659, 1250, 3599)] == ["30s", "5m", "10m", "20m", "50m"]


class CountingTable(KeyTable):
    whole = 0

    def refresh(self, *regions: Region, **options: object) -> CountingTable:
        if not regions and not self._whole_refresh_held:
            self.whole += 1
        super().refresh(*regions, **options)
        return self


class OneTable(App[None]):
    def compose(self) -> ComposeResult:
        table = CountingTable()
        table.add_columns("series", "age")
        table.add_row("BTC/USD", Text("<15s"), key="btc")
        yield table


async def test_a_cell_that_fits_repaints_alone_and_a_wider_one_widens_its_column() -> None:
    app = OneTable()
    async with app.run_test() as pilot:
        table = app.query_one(CountingTable)
        await pilot.pause()
        age = list(table.columns)[1]
        table.whole = 0
        table.show_cell("btc", age, Text("15s"))
        assert table.whole == 0 and str(table.get_cell("btc", age)) == "15s"
        await pilot.pause()
        assert "15s" in "".join(s.text for s in table.render_line(1))
        table.show_cell("btc", age, Text("closed 20m"))  # wider than the column: the table is laid out again
        await pilot.pause()
        assert table.whole >= 1 and table.columns[age].content_width >= len("closed 20m")
        assert "closed 20m" in "".join(s.text for s in table.render_line(1))


def test_an_incremental_state_equals_a_full_one() -> None:
    """After a new BTC price, judging only what reads BTC gives the verdicts and rows a full judgement gives."""
    settings, narratives = load_settings(), load_narratives()
    observations = list(read_observations(DATA / "snapshot.jsonl"))
    now = [NOW]
    engine = Engine(narratives, settings, MemoryTape(observations), lambda: now[0])
    before = engine.build()
    btc = "crypto:BTC/USD:last"
    newest = max((o for o in observations if o.series == btc), key=lambda o: o.ts)
    moved = [*observations, replace(newest, value=newest.value * 0.5, ts=newest.ts + timedelta(seconds=5))]
    engine.tape = MemoryTape(moved)
    now[0] = NOW + timedelta(seconds=6)
    part = engine.build({btc})
    whole = Engine(narratives, settings, MemoryTape(moved), lambda: now[0]).build()
    reading_btc = {c.id for c in narratives.claims if btc in c.series}
    assert reading_btc
    assert {i: (v.status, v.live_value, v.explanation) for i, v in part.verdicts.items()} == \
           {i: (v.status, v.live_value, v.explanation) for i, v in whole.verdicts.items()}
    assert any(whole.verdicts[i].live_value != before.verdicts[i].live_value for i in reading_btc)
    assert {r.series: (r.value, r.state, r.change_pct) for v in part.views for r in v.series} == \
           {r.series: (r.value, r.state, r.change_pct) for v in whole.views for r in v.series}
    ages = {r.series: r.age_s for v in whole.views for r in v.series}
    for view in part.views:  # the kept rows' ages moved on with the clock
        for row in view.series:
            assert row.age_s == pytest.approx(ages[row.series], abs=1e-6)


def test_a_condition_on_past_days_is_answered_once_while_its_closes_stay() -> None:
    settings, narratives = load_settings(), load_narratives()
    history = DATA / "article_history.jsonl.gz"  # the snapshot's days are too few for any window to start
    tape = MemoryTape(read_observations(history))
    kept: dict[Any, Any] = {}
    first = judge_all(narratives.claims, make_context(tape, NOW, settings, kept))
    assert kept, "no first_date()/share() condition was answered"
    answered = {cond: dict(days) for cond, (_, days) in kept.items()}
    again = judge_all(narratives.claims, make_context(tape, NOW + timedelta(minutes=1), settings, kept))
    assert [(v.status, v.live_value) for v in again] == [(v.status, v.live_value) for v in first]
    assert {cond: dict(days) for cond, (_, days) in kept.items()} == answered  # nothing answered twice
    fresh = judge_all(narratives.claims, make_context(tape, NOW, settings))
    assert [(v.status, v.live_value, v.explanation) for v in fresh] == [(v.status, v.live_value, v.explanation) for v in first]
    other = MemoryTape([*read_observations(history),
                        *(Observation(o.series, o.value * 2, o.unit, o.ts - timedelta(days=400), o.source)
                          for o in read_observations(history))])
    judge_all(narratives.claims, make_context(other, NOW, settings, kept))
    assert any(days != answered.get(cond) for cond, (_, days) in kept.items())  # new closes: answered again
