"""`tapecheck status`: start-up time and peak RSS of `python -m tui status --store S`, the store holding the
benchmark tape (1,000,000 observations; 100,000 with --quick), against a bare `python -c "import sqlite3"` in
the same venv, measured the same way. Median of 9 runs each (3 with --quick), the two alternating so that a
busy moment of the machine falls on both; peak RSS is the child's own (`wait4`'s ru_maxrss), median too.

Both are started by a small launcher (a fresh interpreter that forks, execs the command and reports): a child
forked from the benchmark itself would carry the benchmark's own RSS into its peak (Linux keeps the high-water
mark of the memory a process had before its exec), and the launcher's own start-up is not counted. Bytecode
is written and used (PYTHONDONTWRITEBYTECODE is dropped from the environment), as in an installed copy: the
warm-up run writes it; without it every start compiles tapecheck's modules again (about 0.4 s here).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.figures import Figure, median
from benchmarks.tape import benchmark_store, store_copy
from benchmarks.terminal import ROOT, child_env

BARE = [sys.executable, "-c", "import sqlite3"]
RSS_GOAL_MB = 40.0
START_GOAL = 3.0  # × the bare interpreter's start


@dataclass(frozen=True)
class Run:
    seconds: float
    rss_mb: float
    status: int


LAUNCHER = """
import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(time.perf_counter() - started, usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def timed(argv: list[str]) -> Run:
    """Wall time from start to exit, the child's peak RSS and its exit status, as the launcher saw them."""
    env = child_env()
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run([sys.executable, "-c", LAUNCHER, *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    seconds, rss_kb, status = done.stdout.split()
    if int(status) not in (0, 1, 4):  # 1: a claim diverged; 4: none could be judged, as check says
        raise RuntimeError(f"{' '.join(argv)} exited {status}: {done.stderr.strip()}")
    return Run(float(seconds), int(rss_kb) / 1024, int(status))


def measure(store: Path, runs: int) -> tuple[list[Run], list[Run]]:
    """`runs` of status and of the bare interpreter, alternating, after one warm-up of each (the page cache)."""
    status_argv = [sys.executable, "-m", "tui", "status", "--store", str(store)]
    timed(status_argv), timed(BARE)
    status, bare = [], []
    for _ in range(runs):
        status.append(timed(status_argv))
        bare.append(timed(BARE))
    return status, bare


@contextmanager
def collector_summary(path: Path) -> Iterator[None]:
    """The store as a running collector leaves it: its lock held (here, by this process) and the summary of
    what it judged last kept, just now (tui.collect.alerting judges and keeps it)."""
    from tui.collect.alerting import Alerting
    from tui.core.config import load_settings
    from tui.core.narratives.claims import load_narratives
    from tui.core.store.sqlite import Store

    store = Store(path)
    try:
        if not store.try_lock_collector():
            raise RuntimeError(f"{path}: a collector holds it")
        Alerting(load_settings(), load_narratives(), store).judge_now(datetime.now(UTC))
        yield
    finally:
        store.close()


def run(quick: bool) -> list[Figure]:
    runs = 3 if quick else 9
    label = '(python -c "import sqlite3")'
    alone, bare = measure(benchmark_store(quick), runs)  # no collector: status judges every claim itself
    path = store_copy(quick, "status")
    with collector_summary(path):
        status, _ = measure(path, runs)
    start, bare_start = median([r.seconds for r in status]), median([r.seconds for r in bare])
    rss, bare_rss = median([r.rss_mb for r in status]), median([r.rss_mb for r in bare])
    judging = median([r.seconds for r in alone])
    return [
        Figure("status start-up, a collector running", start, "s", bare_start, label,
               f"≤ {START_GOAL:g} × bare Python", start <= START_GOAL * bare_start,
               note=f"`tapecheck status` over the benchmark store while a collector keeps its summary there "
                    f"(the counts it judged last), start to exit, median of {len(status)}"),
        Figure("status start-up, no collector", judging, "s", bare_start, label, "info", None,
               note="the same store with no collector: status loads the narratives and judges every claim itself"),
        Figure("status RSS", rss, "MB", bare_rss, label, f"≤ {RSS_GOAL_MB:g} MB", rss <= RSS_GOAL_MB,
               note="peak resident set of the status process reading the summary, median"),
    ]
