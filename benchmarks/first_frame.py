"""First frame: process start until the theme panels show, against a minimal Textual app measured the same way.

Both run on a 120x40 pty; they alternate, five times each, and the medians are compared. tapecheck runs
live against the local fakes (answering at once), over a store holding the benchmark tape.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from benchmarks.fakes import running_fakes
from benchmarks.figures import Figure, median
from benchmarks.minimal_app import READY
from benchmarks.tape import store_copy
from benchmarks.terminal import Terminal

# The first panel's first series row: on screen once the panels are filled from the store.
PANELS_SHOWN = "NVDA mkt cap"


def tapecheck_argv(config: Path, store: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "tui", "--config", str(config), "--store", str(store), *extra]


def minimal_argv() -> list[str]:
    return [sys.executable, "-m", "benchmarks.minimal_app"]


def time_to(argv: list[str], marker: str) -> float:
    with Terminal(argv) as term:
        return term.wait_for(marker, timeout=60)


def run(quick: bool) -> list[Figure]:
    runs = 3 if quick else 5
    store = store_copy(quick, "first-frame")  # live: the app records what it polls
    app_times, minimal_times = [], []
    with running_fakes() as fakes, tempfile.TemporaryDirectory() as tmp:
        config = fakes.config(Path(tmp) / "config.toml")
        time_to(minimal_argv(), READY)  # warm the file cache for both
        time_to(tapecheck_argv(config, store), PANELS_SHOWN)
        for _ in range(runs):
            minimal_times.append(time_to(minimal_argv(), READY))
            app_times.append(time_to(tapecheck_argv(config, store), PANELS_SHOWN))
    app, minimal = median(app_times), median(minimal_times)
    return [Figure(f"first frame (median of {runs})", app, "s", minimal, "minimal Textual app",
                   "≤ 1.3 × minimal app", app <= 1.3 * minimal,
                   f"tapecheck {', '.join(f'{t:.2f}' for t in app_times)} s; "
                   f"minimal {', '.join(f'{t:.2f}' for t in minimal_times)} s")]
