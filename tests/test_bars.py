"""How a verdict reads the record (issue 20): a value on a date is that date's bar, windows run over common
trading days and never start before the history, a claimed date has its bounds, and only a verdict read from
exact bars is kept as final. Each verdict carries the values it read, under their own dates."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import DATA, obs
from tui.cli import main
from tui.core.config import load_settings
from tui.core.judge.then import PROVISIONAL, judge_then
from tui.core.model import Claim, ClaimKind, Observation, Rule, Status, Verdict
from tui.core.narratives.claims import load_narratives
from tui.core.narratives.rules.ast import parse
from tui.core.narratives.rules.typecheck import typecheck
from tui.core.store.location import open_store
from tui.core.tape import MemoryTape

ROOT = Path(__file__).parents[1]
SETTINGS = load_settings()
CLAIMS = {c.id: c for c in load_narratives().claims}
HASH = "network:bitcoin:hashrate"
BTC = "crypto:BTC/USD:last"
NDX = "index:^IXIC:last"


def claim(expr: str, op: str, value: float, unit: str, as_of: date, tol: float = 0,
          upper: float | None = None) -> Claim:
    node = parse(expr)
    _, series = typecheck(node)
    return Claim("c", "t", "a", as_of, "s", "s", ClaimKind.CHECK, Rule(expr, node, op, value, unit, tol, series, upper))


def close(series: str, value: float, day: date, hour: int = 7, source: str = "yahoo") -> Observation:
    return obs(series, value, datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=hour), source)


def daily(series: str, start: date, values: list[float], hour: int = 23, skip: set[date] | None = None,
          weekdays: bool = False) -> list[Observation]:
    rows, day = [], start
    for value in values:
        while weekdays and day.weekday() >= 5:
            day += timedelta(days=1)
        if not skip or day not in skip:
            rows.append(close(series, value, day, hour, "mempool" if series == HASH else "yahoo"))
        day += timedelta(days=1)
    return rows


def then(c: Claim, *observations: Observation) -> Verdict:
    return judge_then([c], MemoryTape(observations), SETTINGS)[c.id]


MAXWELL = "equity:300751.SZ:last"
LIMIT_UP = f"change({MAXWELL}, since=2026-01-22, until=2026-01-23)"


def test_a_gap_on_a_session_day_is_no_data_never_the_bar_before() -> None:
    """No bar for Maxwell on Friday 23 Jan 2026 (a session day): not '+0.0 % (270.28 → 270.28)'."""
    verdict = then(claim(LIMIT_UP, ">=", 20, "%", date(2026, 1, 23), 1),
                   close(MAXWELL, 270.28, date(2026, 1, 22)))
    assert verdict.status is Status.NO_DATA
    assert "no data on 2026-01-23" in verdict.explanation


def test_a_holiday_reads_the_last_sessions_bar_under_its_own_date() -> None:
    """1 Jan 2026 is a holiday in Shenzhen (XSHG's calendar): the value on it is 31 Dec's bar, so labelled."""
    c = claim(f"at({MAXWELL}, 2026-01-01)", ">", 100, "CNY", date(2026, 1, 1))
    verdict = then(c, close(MAXWELL, 250.0, date(2025, 12, 31)))
    assert verdict.status is Status.HOLDS
    assert "250.00 CNY on 2025-12-31" in verdict.explanation
    assert [(e.day, e.value, e.note) for e in verdict.evidence] == [
        (date(2025, 12, 31), 250.0, "last session before 2026-01-01")]
    assert verdict.final
    # A weekday that was a session (2 Jan 2026 was not: it is a holiday too) — 5 Jan is: no bar, no data.
    gap = then(claim(f"at({MAXWELL}, 2026-01-05)", ">", 100, "CNY", date(2026, 1, 5)),
               close(MAXWELL, 250.0, date(2025, 12, 31)))
    assert gap.status is Status.NO_DATA and "no data on 2026-01-05" in gap.explanation


def test_a_window_older_than_the_history_is_no_data() -> None:
    """Six bars do not tell 'highest in three years': the window starts before the history does."""
    high = "equity:300751.SZ:high"
    c = claim(f"share(last({high}) < 324.36 CNY, since=2023-02-01, until=2026-01-22)", ">=", 100, "%",
              date(2026, 1, 23))
    rows = daily(high, date(2026, 1, 15), [300, 301, 302, 303, 304, 305], hour=7, weekdays=True)
    verdict = then(c, *rows)
    assert verdict.status is Status.NO_DATA
    assert "before the history of equity:300751.SZ:high does (2026-01-15)" in verdict.explanation


def test_the_snapshot_tapes_first_day_is_not_the_first_day_at_1_zh() -> None:
    """The shipped snapshot's hashrate starts on its own last days: the 2025 search cannot be judged on it."""
    from tui.core.snapshot import read_observations
    verdict = judge_then([CLAIMS["wu-hashrate-first-1zh-in-december"]],
                         MemoryTape(read_observations(DATA / "snapshot.jsonl")), SETTINGS)
    assert verdict["wu-hashrate-first-1zh-in-december"].status is Status.NO_DATA


FIRST_4T = "first_date(last(network:bitcoin:hashrate) >= 1e21, since=2025-06-01)"


def test_first_date_never_within_the_data_is_wrong_once_the_data_passes_the_bound() -> None:
    july = (float(date(2025, 7, 1).toordinal()), float(date(2025, 7, 31).toordinal()))
    rows = daily(HASH, date(2025, 6, 1), [0.9e21] * 92)  # 1 June to 31 August, never 1 ZH/s
    verdict = then(claim(FIRST_4T, "in", july[0], "date", date(2025, 8, 31), upper=july[1]), *rows)
    assert verdict.status is Status.DIVERGED
    assert verdict.explanation.startswith("not by 2025-07-31; data to 2025-08-31")
    assert verdict.evidence and verdict.evidence[-1].day == date(2025, 8, 31)
    # The same with op <=, the form loop-nvidia-cap-over-4t uses.
    verdict = then(claim(FIRST_4T, "<=", july[1], "date", date(2025, 8, 31)), *rows)
    assert verdict.status is Status.DIVERGED
    # Data that ends before the bound: it may still come, no data.
    early = then(claim(FIRST_4T, "in", july[0], "date", date(2025, 7, 20), upper=july[1]), *rows[:50])
    assert early.status is Status.NO_DATA and "before 2025-07-31" in early.explanation


def test_a_claimed_month_is_bounded_on_both_sides() -> None:
    """The hashrate's December: a first day of 5 Jan 2026 does not hold, nor does 19 Nov, but 3 Dec does."""
    c = CLAIMS["wu-hashrate-first-1zh-in-december"]
    assert c.rule is not None and c.rule.op == "in" and c.rule.bound == date(2025, 12, 31)

    def first_on(day: date) -> object:
        start = date(2025, 1, 1)
        values = [1.01e21 if start + timedelta(days=i) >= day else 0.95e21 for i in range(400)]
        return judge_then([c], MemoryTape(daily(HASH, start, values)), SETTINGS)[c.id]

    late = first_on(date(2026, 1, 5))  # as_of 2025-12-31: by then it had not come, and December is over
    assert late.status is Status.DIVERGED and "not by 2025-12-31" in late.explanation  # type: ignore[attr-defined]
    assert first_on(date(2025, 11, 19)).status is Status.DIVERGED  # type: ignore[attr-defined]
    held = first_on(date(2025, 12, 3))
    assert held.status is Status.HOLDS and "within 2025-12-01 to 2025-12-31" in held.explanation  # type: ignore


def test_share_counts_common_trading_days_not_calendar_days() -> None:
    """BTC trades every day, the Nasdaq on weekdays: the share is over the days both have a bar."""
    start = date(2025, 6, 2)  # a Monday
    btc = daily(BTC, start, [100 + i for i in range(28)])  # 28 calendar days, weekends too
    ndx = daily(NDX, start, [200 + i for i in range(20)], hour=21, weekdays=True)  # 20 sessions
    c = claim(f"share(last({BTC}) > 110 USD, since=2025-06-02, until=2025-06-27)", ">=", 50, "%",
              date(2025, 6, 27))
    both = claim(f"share(last({NDX}) / last({NDX}) * last({BTC}) > 110 USD, since=2025-06-02, until=2025-06-27)",
                 ">=", 50, "%", date(2025, 6, 27))
    verdict = then(both, *btc, *ndx)
    assert "of 20 common trading days from 2025-06-02 to 2025-06-27" in verdict.explanation
    alone = then(c, *btc)
    assert "of 26 common trading days" in alone.explanation


def test_windows_in_python_and_polars_agree() -> None:
    import random

    from tui.core.narratives.rules.columnar import POLARS_WINDOWS
    from tui.core.narratives.rules.windows import PURE_WINDOWS
    rng = random.Random(7)
    start = date(2024, 1, 1)
    a = [(start + timedelta(days=i), 100 + rng.random() * 10) for i in range(500)]
    b = [(start + timedelta(days=i), 50 + rng.random() * 5) for i in range(500) if i % 7 not in (5, 6)]
    days, columns = PURE_WINDOWS.common([a, b])
    assert (days, columns) == POLARS_WINDOWS.common([a, b]) and len(days) < len(a)
    for kind in ("corr", "beta"):
        xs, ys = columns
        mine, theirs = PURE_WINDOWS.rolling(xs, ys, 30, kind), POLARS_WINDOWS.rolling(xs, ys, 30, kind)
        assert [x is None for x in mine] == [y is None for y in theirs]
        assert all(abs(x - y) < 1e-9 for x, y in zip(mine, theirs, strict=True) if x is not None and y is not None)


def test_only_verdicts_on_exact_bars_are_kept_as_final(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "s.sqlite"))
    exact = claim(LIMIT_UP, ">=", 20, "%", date(2026, 1, 23), 1)
    store.append([close(MAXWELL, 270.28, date(2026, 1, 22)), close(MAXWELL, 324.34, date(2026, 1, 23))])
    gap = Claim("gap", "t", "a", date(2026, 1, 27), "s", "s", ClaimKind.CHECK,  # a Tuesday with no bar
                claim(f"last({MAXWELL})", ">", 1, "CNY", date(2026, 1, 27)).rule)
    window = Claim("window", "t", "a", date(2025, 6, 27), "s", "s", ClaimKind.CHECK, claim(
        f"share(last({MAXWELL}) > 1 CNY, since=2025-06-02, until=2025-06-27)", ">=", 50, "%", date(2025, 6, 27)).rule)
    store.append(daily(MAXWELL, date(2025, 6, 2), [100.0] * 19, hour=7, weekdays=True))  # one session short
    found = judge_then([exact, gap, window], store, SETTINGS, store)
    assert found["c"].status is Status.HOLDS and found["c"].final
    assert found["gap"].status is Status.NO_DATA and "no data on 2026-01-27" in found["gap"].explanation
    assert found["window"].status is Status.HOLDS and not found["window"].final  # 27 June has no bar
    kept = store.then_verdicts()  # for good only the final one; the others provisional, judged again next time
    assert {k for k, v in kept.items() if not v.fingerprint.endswith(PROVISIONAL)} == {"c"}
    assert {k for k, v in kept.items() if v.fingerprint.endswith(PROVISIONAL)} == {"gap", "window"}
    assert [(e.day, e.value) for e in kept["c"].evidence] == [(date(2026, 1, 22), 270.28),
                                                              (date(2026, 1, 23), 324.34)]
    store.close()


def test_an_assumption_makes_a_verdict_not_final() -> None:
    from dataclasses import replace
    verdict = then(claim(LIMIT_UP, ">=", 20, "%", date(2026, 1, 23), 1),
                   close(MAXWELL, 270.28, date(2026, 1, 22)), close(MAXWELL, 324.34, date(2026, 1, 23)))
    assert verdict.final
    assumed = replace(verdict, evidence=(replace(verdict.evidence[0], assumed=True),))
    assert not assumed.final


def test_check_json_has_evidence_on_every_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    main(["check", "--snapshot", str(DATA / "snapshot.jsonl"), "--now", "2026-01-26T06:00:00Z", "--json"])
    verdicts = {v["id"]: v for v in json.loads(capsys.readouterr().out)["verdicts"]}
    assert all(isinstance(v["evidence"], list) and isinstance(v["then_evidence"], list) for v in verdicts.values())
    junda = verdicts["tmt-junda-20cm-limit-up-0123"]
    assert [(e["date"], e["value"], e["source"]) for e in junda["then_evidence"]] == [
        ("2026-01-22", 82.87, "yahoo"), ("2026-01-23", 91.16, "yahoo")]
    assert junda["then_final"] is True
    btc = verdicts["bb-tesla-btc-11509-over-1bn"]["evidence"]
    assert {e["source"] for e in btc} == {"coinbase", "kraken"} and all(e["date"] == "2026-01-26" for e in btc)


def test_the_viewer_never_loads_polars_or_pandas() -> None:
    script = """
import sys
import tui.ui.app, tui.ui.screens.claim, tui.ui.screens.series, tui.core.judge.engine, tui.core.judge.then, tui.core.judge.view
from tui.core.narratives.claims import load_narratives
from tui.core.config import load_settings
from tui.core.judge.engine import Engine
from tui.core.snapshot import read_observations
from tui.core.tape import MemoryTape
from datetime import datetime, UTC
from pathlib import Path
tape = MemoryTape(read_observations(Path("tests/data/article_history.jsonl.gz")))
Engine(load_narratives(), load_settings(), tape, lambda: datetime(2026, 1, 26, 6, tzinfo=UTC)).build()
print("LOADED", sorted(m for m in sys.modules if m.split(".")[0] in ("polars", "pandas", "exchange_calendars")))
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "LOADED []" in done.stdout, done.stdout + done.stderr


def test_then_verdicts_kept_before_evidence_are_judged_again(tmp_path: Path) -> None:
    """A store of version 3 kept answers read with gaps filled by the bar before: version 4 drops them."""
    import sqlite3

    from tui.core.store import sqlite as sqlite_store
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    for script in sqlite_store.MIGRATIONS[:3]:
        db.executescript(script)
    db.execute("INSERT INTO meta VALUES ('schema_version', '3')")
    db.execute("INSERT INTO then_verdicts VALUES ('c', 'f', 'holds', 1.0, 0.0, 'filled', 0)")
    db.commit()
    db.close()
    store = open_store(str(path))
    assert store.then_verdicts() == {}
    store.close()


def test_a_then_verdict_of_a_day_not_over_is_never_kept(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "s.sqlite"))
    store.append([close(MAXWELL, 270.28, date(2026, 1, 22)), close(MAXWELL, 324.34, date(2026, 1, 23))])
    found = judge_then([claim(LIMIT_UP, ">=", 20, "%", date(2026, 1, 23), 1)], store, SETTINGS, store,
                       today=date(2026, 1, 23))
    assert found["c"].final and store.then_verdicts() == {}  # its bar may still move: judged again later
    judge_then([claim(LIMIT_UP, ">=", 20, "%", date(2026, 1, 23), 1)], store, SETTINGS, store,
               today=date(2026, 1, 24))
    assert set(store.then_verdicts()) == {"c"}
    store.close()


def test_a_window_read_from_exact_bars_is_final_on_its_own_date() -> None:
    """share() over 2025 as of 31 Dec, on a history with every session's bar: final (a gap would not be)."""
    from tui.core.snapshot import read_observations
    history = MemoryTape(read_observations(DATA / "article_history.jsonl.gz"))
    verdict = judge_then([CLAIMS["fw-btc-nasdaq-corr-above-half"]], history, SETTINGS)["fw-btc-nasdaq-corr-above-half"]
    assert verdict.status is Status.HOLDS and verdict.final
    assert [e.note for e in verdict.evidence] == ["window start"] * 2 + ["window end"] * 2
