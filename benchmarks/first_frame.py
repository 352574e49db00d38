"""First frame of a viewer: process start until the theme panels show, against a minimal Textual app.

Both run on a 120x40 pty; they alternate, five times each, and the medians are compared. The viewer
(`tapecheck --no-collector`) reads a store holding the benchmark tape; no collector runs, so the figure is
the viewer's own start: imports, the claims, the first state built from the store, the first paint.

Both start from compiled bytecode, as an installed program does: the minimal app's Textual is compiled when uv
installs it, but tapecheck's own modules, installed editable, would be compiled again at every start where
PYTHONDONTWRITEBYTECODE is set (about 0.1 s of CPU). Both programs keep their bytecode in one temporary
directory (PYTHONPYCACHEPREFIX), written by the warm-up runs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks.fakes import running_fakes
from benchmarks.figures import Figure, median
from benchmarks.minimal_app import READY
from benchmarks.processes import PANELS_SHOWN, minimal_argv, viewer_argv
from benchmarks.tape import store_copy
from benchmarks.terminal import Terminal


def time_to(argv: list[str], marker: str, bytecode: str) -> float:
    with Terminal(argv, env={"PYTHONPYCACHEPREFIX": bytecode, "PYTHONDONTWRITEBYTECODE": ""}) as term:
        return term.wait_for(marker, timeout=60)


def run(quick: bool) -> list[Figure]:
    runs = 3 if quick else 5
    store = store_copy(quick, "first-frame")
    app_times, minimal_times = [], []
    with running_fakes() as fakes, tempfile.TemporaryDirectory() as tmp:
        config = fakes.config(Path(tmp) / "config.toml")
        bytecode = str(Path(tmp) / "bytecode")
        time_to(minimal_argv(), READY, bytecode)  # warm the file cache for both, and compile them
        time_to(viewer_argv(config, store), PANELS_SHOWN, bytecode)
        for _ in range(runs):
            minimal_times.append(time_to(minimal_argv(), READY, bytecode))
            app_times.append(time_to(viewer_argv(config, store), PANELS_SHOWN, bytecode))
    app, minimal = median(app_times), median(minimal_times)
    return [Figure(f"first frame of a viewer (median of {runs})", app, "s", minimal, "minimal Textual app",
                   "≤ 1.3 × minimal app", app <= 1.3 * minimal,
                   f"viewer {', '.join(f'{t:.2f}' for t in app_times)} s; "
                   f"minimal {', '.join(f'{t:.2f}' for t in minimal_times)} s")]
