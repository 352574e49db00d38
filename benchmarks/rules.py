"""Rule evaluation: every claim judged over the store holding the benchmark tape (1,000,000 observations).

The figure is the median of repeated full evaluations (a fresh context each, as the dashboard makes every
15 s and after each burst of polls); the first one, and the dashboard's whole view model (build_views: the
evaluation plus each panel's series rows and sparklines), are reported beside it. The baseline is the same
evaluation over the test snapshot held in memory (90 observations).
"""

from __future__ import annotations

import time
from datetime import timedelta

from benchmarks.figures import Figure, median
from benchmarks.tape import ROOT, benchmark_store_with_end
from tui.core.config import load_settings, shipped_config_path
from tui.core.judge.view import build_views, make_context
from tui.core.narratives.claims import load_narratives
from tui.core.narratives.rules.verdict import judge_all
from tui.core.snapshot import parse_time, read_observations
from tui.core.store.sqlite import Store
from tui.core.tape import MemoryTape

SNAPSHOT_NOW = "2026-01-26T06:00:00Z"


def timed(func: object, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        func()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return times


def run(quick: bool) -> list[Figure]:
    runs = 5 if quick else 20
    settings = load_settings(shipped_config_path())
    narratives = load_narratives()
    path, end = benchmark_store_with_end(quick)
    store = Store(path)
    now = end + timedelta(seconds=30)
    try:
        count = store.count()
        first = timed(lambda: judge_all(narratives.claims, make_context(store, now, settings)), 1)[0]
        evaluations = timed(lambda: judge_all(narratives.claims, make_context(store, now, settings)), runs)
        views = timed(lambda: build_views(narratives, make_context(store, now, settings), "en"), runs)
        statuses = {str(v.status) for v in judge_all(narratives.claims, make_context(store, now, settings))}
    finally:
        store.close()
    memory = MemoryTape(read_observations(ROOT / "tests" / "data" / "snapshot.jsonl"))
    memory_now = parse_time(SNAPSHOT_NOW)
    baseline = median(timed(lambda: judge_all(narratives.claims, make_context(memory, memory_now, settings)), runs))
    evaluation, view = median(evaluations) * 1000, median(views) * 1000
    checked = sum(1 for c in narratives.claims if c.rule)
    return [
        Figure(f"rule evaluation ({checked} rules, {count:,} observations)", evaluation, "ms", baseline * 1000,
               "same over the 90-observation snapshot in memory", "≤ 100 ms", evaluation <= 100,
               f"median of {runs}; the first evaluation took {first * 1000:.0f} ms; verdicts: "
               f"{', '.join(sorted(statuses))}"),
        Figure("dashboard view model (build_views)", view, "ms", evaluation, "rule evaluation", "info", None,
               f"median of {runs}: the evaluation plus every panel's series rows and sparklines"),
    ]
