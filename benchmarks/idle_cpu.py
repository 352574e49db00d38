"""Idle CPU: tapecheck live against the fakes at the shipped intervals, CPU seconds over wall seconds.

The window starts once the first polls, the imports and the daily-history jobs are done (the warm-up), and
lasts 60 s (15 s with --quick). The minimal Textual app is measured over the same window, at the same time.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from benchmarks.fakes import running_fakes
from benchmarks.figures import Figure
from benchmarks.first_frame import PANELS_SHOWN, minimal_argv, tapecheck_argv
from benchmarks.minimal_app import READY
from benchmarks.tape import store_copy
from benchmarks.terminal import Terminal


def run(quick: bool) -> list[Figure]:
    window, warmup = (15.0, 10.0) if quick else (60.0, 20.0)
    with running_fakes() as fakes, tempfile.TemporaryDirectory() as tmp:
        config = fakes.config(Path(tmp) / "config.toml")
        with Terminal(tapecheck_argv(config, store_copy(quick, "idle"))) as app, Terminal(minimal_argv()) as minimal:
            app.wait_for(PANELS_SHOWN, timeout=60)
            minimal.wait_for(READY, timeout=60)
            time.sleep(warmup)
            app_cpu, minimal_cpu, started = app.cpu_seconds(), minimal.cpu_seconds(), time.perf_counter()
            time.sleep(window)
            wall = time.perf_counter() - started
            app_share = (app.cpu_seconds() - app_cpu) / wall * 100
            minimal_share = (minimal.cpu_seconds() - minimal_cpu) / wall * 100
    return [Figure(f"idle CPU ({window:.0f} s live, shipped intervals)", app_share, "%", minimal_share or None,
                   "minimal Textual app", "≤ 1 % of one core", app_share <= 1.0,
                   f"after {warmup:.0f} s of warm-up; the minimal app used {minimal_share:.2f} % "
                   f"(CPU time is counted in clock ticks of 10 ms)")]


if __name__ == "__main__":
    print(run("--quick" in sys.argv))
