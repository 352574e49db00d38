"""Windows over 10 years of daily history: share() of the rolling 30-day correlation of BTC/USD (every day)
and the Nasdaq Composite (New York sessions) over nine years, and beta() at the end, as `check` and the
collector judge them (polars) and as the viewer does (plain Python), against the code before issue 20 (its
evaluator, read from git at BASE_COMMIT: each day's window rebuilt from every close up to it, over calendar
days, the whole history read again per day) in the same run. No baseline when git or that commit is missing.
"""

from __future__ import annotations

import importlib.util
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from types import ModuleType

from benchmarks.figures import Figure, median
from benchmarks.tape import ROOT
from tui.core.model import Observation
from tui.core.narratives.rules.ast import parse
from tui.core.narratives.rules.columnar import POLARS_WINDOWS
from tui.core.narratives.rules.evaluate import Context, evaluate
from tui.core.narratives.rules.typecheck import typecheck
from tui.core.narratives.rules.windows import PURE_WINDOWS
from tui.core.tape import MemoryTape

BASE_COMMIT = "59f0436"  # the last commit before issue 20's windows
SHARE = "share(corr(crypto:BTC/USD:last, index:^IXIC:last, days=30) > 0.5, since=2017-01-01, until=2025-12-31)"
BETA = "beta(index:^IXIC:last, crypto:BTC/USD:last, days=250)"
NOW = datetime(2026, 1, 2, 12, tzinfo=UTC)


def history(years: int) -> MemoryTape:
    """`years` of daily closes to 2025-12-31: BTC every day, the Nasdaq on weekdays, one shared factor."""
    rng = random.Random(20)
    start = date(2025, 12, 31) - timedelta(days=365 * years)
    btc, ndx, rows = 30_000.0, 10_000.0, []
    day = start
    while day <= date(2025, 12, 31):
        common = rng.gauss(0, 0.01)
        btc *= 1 + 2 * common + rng.gauss(0, 0.02)
        stamp = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=21)
        rows.append(Observation("crypto:BTC/USD:last", btc, "USD", stamp, "bench"))
        if day.weekday() < 5:
            ndx *= 1 + common + rng.gauss(0, 0.005)
            rows.append(Observation("index:^IXIC:last", ndx, "pts", stamp, "bench"))
        day += timedelta(days=1)
    return MemoryTape(rows)


def old_evaluator() -> ModuleType | None:
    """tui/core/narratives/rules/evaluate.py as it was at BASE_COMMIT, or None when git cannot show it."""
    try:
        source = subprocess.run(["git", "show", f"{BASE_COMMIT}:tui/core/narratives/rules/evaluate.py"], cwd=ROOT,
                                capture_output=True, text=True, check=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    spec = importlib.util.spec_from_loader("benchmarks._old_evaluate", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    exec(compile(source, f"{BASE_COMMIT}:tui/core/narratives/rules/evaluate.py", "exec"), module.__dict__)
    return module


def timed(func: Callable[[], object], runs: int) -> tuple[float, object]:
    times, answer = [], None
    for _ in range(runs):
        started = time.perf_counter()
        answer = func()
        times.append(time.perf_counter() - started)
    return median(times), answer


def run(quick: bool) -> list[Figure]:
    years, runs = (2, 1) if quick else (10, 3)
    tape = history(years)
    share_node, beta_node = parse(SHARE.replace("2017-01-01", "2024-06-01") if quick else SHARE), parse(BETA)
    typecheck(share_node)
    typecheck(beta_node)

    def new(node: object, windows: object) -> Callable[[], object]:
        return lambda: evaluate(node, Context(tape, NOW, lambda _s: 1e9, 4, closed_since=lambda _s, _n: None,
                                              windows=windows))  # type: ignore[arg-type]

    polars_s, polars_value = timed(new(share_node, POLARS_WINDOWS), runs)
    python_s, python_value = timed(new(share_node, PURE_WINDOWS), runs)
    old = old_evaluator()
    old_s: float | None = None
    old_text = "no baseline: git cannot show the code before"
    if old is not None:
        old_s, old_value = timed(lambda: old.evaluate(share_node, old.Context(
            tape, NOW, lambda _s: 1e9, 4, closed_since=lambda _s, _n: None)), 1)
        old_text = f"the code before (calendar days, every window rebuilt): {old_value.text}"  # type: ignore
    beta_s, _ = timed(new(beta_node, POLARS_WINDOWS), runs)
    beta_py_s, _ = timed(new(beta_node, PURE_WINDOWS), runs)
    label = f"{years} years of daily closes"
    return [
        Figure(f"share() of 30-day corr windows, polars ({label})", polars_s * 1000, "ms",
               None if old_s is None else old_s * 1000, "the code before issue 20", "info", None,
               f"median of {runs}: {polars_value.text}; {old_text}"),  # type: ignore[attr-defined]
        Figure(f"share() of 30-day corr windows, plain Python ({label})", python_s * 1000, "ms", polars_s * 1000,
               "polars", "info", None, f"the viewer's path: {python_value.text}"),  # type: ignore[attr-defined]
        Figure(f"beta() over 250 days, polars ({label})", beta_s * 1000, "ms", beta_py_s * 1000, "plain Python",
               "info", None, f"median of {runs}"),
    ]
