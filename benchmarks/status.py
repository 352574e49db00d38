"""`tapecheck status`: start-up time and peak RSS of `python -m tui status --store S`, the store holding the
benchmark tape (1,000,000 observations; 100,000 with --quick), against a bare `python -c "import sqlite3"` in
the same venv, measured the same way. Median of 9 runs each (3 with --quick), the two alternating so that a
busy moment of the machine falls on both; peak RSS is the child's own (`wait4`'s ru_maxrss), median too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.figures import Figure, median
from benchmarks.tape import benchmark_store
from benchmarks.terminal import ROOT, child_env

BARE = [sys.executable, "-c", "import sqlite3"]
RSS_GOAL_MB = 40.0
START_GOAL = 3.0  # × the bare interpreter's start


@dataclass(frozen=True)
class Run:
    seconds: float
    rss_mb: float
    status: int


def timed(argv: list[str]) -> Run:
    """Wall time from start to exit, the child's peak RSS and its exit status."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, cwd=ROOT, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    assert child.stderr is not None
    said = child.stderr.read().decode(errors="replace").strip()
    child.stderr.close()
    if child.returncode not in (0, 1):  # 1: a claim diverged, as check says
        raise RuntimeError(f"{' '.join(argv)} exited {child.returncode}: {said}")
    return Run(seconds, usage.ru_maxrss / 1024, child.returncode)


def measure(store: Path, runs: int) -> tuple[list[Run], list[Run]]:
    """`runs` of status and of the bare interpreter, alternating, after one warm-up of each (the page cache)."""
    status_argv = [sys.executable, "-m", "tui", "status", "--store", str(store)]
    timed(status_argv), timed(BARE)
    status, bare = [], []
    for _ in range(runs):
        status.append(timed(status_argv))
        bare.append(timed(BARE))
    return status, bare


def run(quick: bool) -> list[Figure]:
    status, bare = measure(benchmark_store(quick), 3 if quick else 9)
    start, bare_start = median([r.seconds for r in status]), median([r.seconds for r in bare])
    rss, bare_rss = median([r.rss_mb for r in status]), median([r.rss_mb for r in bare])
    label = '(python -c "import sqlite3")'
    return [
        Figure("status start-up", start, "s", bare_start, label, f"≤ {START_GOAL:g} × bare Python",
               start <= START_GOAL * bare_start,
               note=f"`tapecheck status` over the benchmark store, start to exit, median of {len(status)}"),
        Figure("status RSS", rss, "MB", bare_rss, label, f"≤ {RSS_GOAL_MB:g} MB", rss <= RSS_GOAL_MB,
               note="peak resident set of the status process, median"),
    ]
