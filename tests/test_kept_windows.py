"""corr() and beta() over kept windows (tui.core.narratives.rules.kept) give what a fresh evaluation gives.

A dashboard keeps what corr() and beta() work out from past days' closes between judgements; whatever happens to
the closes (today's price moves, a past close is corrected, a new day begins, the window slides, the history
grows), the value, its text and its evidence must be those of an evaluation that keeps nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.core.config import load_settings
from tui.core.judge.closes import KeptCloses
from tui.core.judge.engine import Engine
from tui.core.model import Observation, Verdict
from tui.core.narratives.claims import load_narratives
from tui.core.narratives.rules.evaluate import Context, NoData, Value, beta, corr
from tui.core.narratives.rules.kept import KeptWindows
from tui.core.snapshot import read_observations
from tui.core.store.sqlite import Store
from tui.core.tape import end_of_day

BTC, NVDA = "crypto:BTC/USD:last", "equity:NVDA:last"
START = date(2025, 3, 3)
DATA = Path(__file__).parent / "data"


class RowsTape:
    """Daily closes held as rows, each (day, close) tuple returned as the same object until it is replaced: what
    a tape that keeps its past closes does (tui.core.judge.closes.KeptCloses). One source; a day's value at
    its last second (today's: a second before now)."""

    def __init__(self, rows: dict[str, list[tuple[date, float]]]) -> None:
        self.rows = rows

    def _observation(self, series: str, row: tuple[date, float], now: datetime) -> Observation:
        return Observation(series, row[1], "USD", min(end_of_day(row[0]), now) - timedelta(seconds=1), "src")

    def daily(self, series: str, now: datetime) -> list[tuple[date, float]]:
        return [row for row in self.rows[series] if row[0] <= now.date()]

    def latest(self, series: str, now: datetime) -> list[Observation]:
        rows = self.daily(series, now)
        return [self._observation(series, rows[-1], now)] if rows else []

    def at(self, series: str, day: date) -> list[Observation]:
        return [self._observation(series, row, end_of_day(day)) for row in self.rows[series] if row[0] == day]

    def series_ids(self) -> set[str]:
        return set(self.rows)


def answer(ctx: Context, func: str, a: str, b: str, days: int) -> Value | str:
    try:
        return (corr if func == "corr" else beta)(ctx, a, b, days)
    except NoData as error:
        return f"NoData: {error}"


def closes(data: st.DataObject, series: str, first: date, days: int) -> list[tuple[date, float]]:
    rows = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        if series == NVDA and day.weekday() >= 5:
            continue
        if data.draw(st.integers(0, 19)) == 0:  # a missing bar now and then: a session day without one
            continue
        rows.append((day, data.draw(st.floats(10, 1000))))
    return rows


STEPS = st.sampled_from(["tick", "tick", "correct", "day", "grow", "nothing"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_kept_window_gives_what_a_fresh_evaluation_gives(data: st.DataObject) -> None:
    length = data.draw(st.integers(20, 120), label="days of history")
    rows = {series: closes(data, series, START, length) for series in (BTC, NVDA)}
    tape = RowsTape(rows)
    today = START + timedelta(days=length - 1)
    kept = KeptWindows()
    asked = 0
    for step in data.draw(st.lists(STEPS, min_size=1, max_size=8), label="steps"):
        series = data.draw(st.sampled_from([BTC, NVDA]))
        column = rows[series]
        if step == "tick" and column and column[-1][0] == today:  # today's price moves
            column[-1] = (today, data.draw(st.floats(10, 1000)))
        elif step == "correct" and len(column) > 1:  # a past day's close is corrected
            index = data.draw(st.integers(0, len(column) - 2))
            column[index] = (column[index][0], data.draw(st.floats(10, 1000)))
        elif step == "day":  # a new day: the window slides
            today += timedelta(days=1)
            for name in (BTC, NVDA):
                if name == BTC or today.weekday() < 5:
                    rows[name].append((today, data.draw(st.floats(10, 1000))))
        elif step == "grow":  # an older day fetched: the history grows at its start
            for name in (BTC, NVDA):
                first = rows[name][0][0] if rows[name] else today
                rows[name].insert(0, (first - timedelta(days=3 if first.weekday() == 0 else 1), 500.0))
        now = datetime.combine(today, time(12), UTC)
        for func, a, b, days in (("corr", BTC, NVDA, 10), ("beta", NVDA, BTC, 5), ("corr", NVDA, BTC, 30)):
            fresh = Context(tape, now, lambda _series: 3600.0)
            held = Context(tape, now, lambda _series: 3600.0, kept_windows=kept)
            assert answer(held, func, a, b, days) == answer(fresh, func, a, b, days), (step, func, days)
            asked += 1
    assert kept.worked_out <= asked


def test_a_window_is_worked_out_once_while_its_past_closes_stand() -> None:
    day = date(2025, 6, 2)
    rows = {series: [(day - timedelta(days=n), 100.0 + n % 7 + (n % 3 if series == NVDA else 0))
                     for n in range(60, -1, -1)] for series in (BTC, NVDA)}
    tape = RowsTape(rows)
    kept = KeptWindows()
    now = datetime.combine(day, time(12), UTC)
    first = corr(Context(tape, now, lambda _series: 3600.0, kept_windows=kept), BTC, NVDA, 20)
    rows[BTC][-1] = (day, 130.0)  # today's price moves: the kept past serves
    moved = corr(Context(tape, now, lambda _series: 3600.0, kept_windows=kept), BTC, NVDA, 20)
    assert kept.worked_out == 1
    assert moved.value != first.value
    assert moved == corr(Context(tape, now, lambda _series: 3600.0), BTC, NVDA, 20)
    rows[NVDA][-5] = (rows[NVDA][-5][0], 90.0)  # a past close corrected: worked out again
    corrected = corr(Context(tape, now, lambda _series: 3600.0, kept_windows=kept), BTC, NVDA, 20)
    assert kept.worked_out == 2
    assert corrected == corr(Context(tape, now, lambda _series: 3600.0), BTC, NVDA, 20)


def test_a_viewers_engine_keeps_windows_and_judges_as_a_fresh_one(tmp_path: Path) -> None:
    """Over a store, with past closes kept (KeptCloses): a new BTC price judges corr()/beta() on the kept past,
    and the state is the one a viewer opened now would build."""
    settings, narratives = load_settings(), load_narratives()
    path = tmp_path / "store.sqlite"
    writer = Store(path)
    history = list(read_observations(DATA / "article_history.jsonl.gz"))
    writer.append(history)
    newest = max(o.ts for o in history)
    now = [newest + timedelta(minutes=1)]
    viewer = Store(path, read_only=True)
    engine = Engine(narratives, settings, viewer, lambda: now[0], store=viewer)
    assert isinstance(engine.closes, KeptCloses)
    engine.build()
    worked_out = engine._kept_windows.worked_out
    assert worked_out, "no corr()/beta() was judged over the store"
    btc = max((o for o in history if o.series == BTC), key=lambda o: o.ts)
    writer.append([Observation(BTC, btc.value * 1.01, btc.unit, now[0], btc.source)])
    now[0] += timedelta(seconds=10)
    part = engine.build({BTC})
    assert engine._kept_windows.worked_out == worked_out  # today's price: the past part was kept
    other = Store(path, read_only=True)
    whole = Engine(narratives, settings, other, lambda: now[0], store=other).build()
    def shown(verdict: Verdict) -> Verdict:  # a kept verdict's ages are moved on by adding seconds: to the µs
        return replace(verdict, age_s=None, inputs=tuple((s, v, round(age, 3)) for s, v, age in verdict.inputs))

    assert {i: shown(v) for i, v in part.verdicts.items()} == {i: shown(v) for i, v in whole.verdicts.items()}
    windows = [c.id for c in narratives.claims if c.rule is not None and ("corr(" in c.rule.expr or "beta(" in
                                                                           c.rule.expr)]
    assert windows and all(part.verdicts[i] == whole.verdicts[i] for i in windows)
