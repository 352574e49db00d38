"""Memory: RSS after start, and its growth over 10,000 polls against the fakes with 1 ms intervals.

tapecheck's app runs headless in a child process (`python -m benchmarks.memory CONFIG STORE POLLS OUT`),
built as `tapecheck` builds it, with every live source polling again as soon as its last poll ended. A poll
is one poll of one source (the Poller's unit; six live sources make a round), counted as the app receives
them. RSS is read at start (the first frame drawn, nothing imported yet), after the first six polls, and
after 1,000 and 10,000 polls (100 and 1,000 with --quick). The baseline is the minimal Textual app's RSS
after start, read on a pty. The app limits glibc's malloc arenas as `tapecheck` does (tui/core/process.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.fakes import running_fakes
from benchmarks.figures import Figure
from benchmarks.first_frame import minimal_argv
from benchmarks.minimal_app import READY
from benchmarks.tape import store_copy
from benchmarks.terminal import Terminal, rss_mb


def drive(config: Path, store_path: Path, polls: int, out: Path) -> None:
    """The child: the live app, headless, counting polls and reading its own RSS at the checkpoints."""
    from tui.collect.poller import Health
    from tui.collect.sources.base import FetchResult, Source
    from tui.collect.sources.registry import build_sources
    from tui.collect.sources.wanted import wanted
    from tui.core.claims import load_narratives
    from tui.core.config import load_settings
    from tui.core.process import limit_malloc_arenas
    from tui.core.store import Store
    from tui.ui.app import TapecheckApp
    from tui.ui.screens.dashboard import PanelsShown

    limit_malloc_arenas()  # as run_dashboard does
    settings = load_settings(config)
    narratives = load_narratives()
    store = Store(store_path)
    plan = build_sources(settings, wanted(narratives))
    live = sum(1 for s in plan.sources if not plan.schedules[s.name].after_live)
    checkpoints = {live: "first polls", polls // 10: "polls/10", polls: "polls"}
    readings: dict[str, float] = {}
    failures: dict[str, int] = {}

    class CountingApp(TapecheckApp):
        CSS_PATH = str(Path(sys.modules[TapecheckApp.__module__].__file__ or "").with_name("app.tcss"))
        count = 0

        def on_panels_shown(self, message: PanelsShown) -> None:  # Textual runs TapecheckApp's handler too
            readings.setdefault("start", rss_mb(os.getpid()))

        async def on_poll(self, source: Source, result: FetchResult | None, health: Health) -> None:
            await super().on_poll(source, result, health)
            if source.kind == "history":
                return
            self.count += 1
            failures[health.state] = failures.get(health.state, 0) + 1
            if self.count in checkpoints:
                readings[checkpoints[self.count]] = rss_mb(os.getpid())
                readings[checkpoints[self.count] + " s"] = time.monotonic()
            if self.count >= polls:
                self.exit()

    app = CountingApp(settings, narratives, mode="LIVE", tape=store, store=store, planned=plan)
    readings["t0 s"] = time.monotonic()
    app.run(headless=True, size=(120, 40))
    out.write_text(json.dumps({**readings, "states": failures, "live sources": live}))
    os._exit(0)  # a yfinance thread may still be blocked; nothing is left to write


def run(quick: bool) -> list[Figure]:
    polls = 1_000 if quick else 10_000
    with Terminal(minimal_argv()) as minimal:
        minimal.wait_for(READY, timeout=60)
        time.sleep(0.5)
        baseline = minimal.rss_mb()
    with running_fakes() as fakes, tempfile.TemporaryDirectory() as tmp:
        config = fakes.config(Path(tmp) / "config.toml", crypto_s=0.001, equities_s=0.001, hashrate_s=0.001)
        out = Path(tmp) / "readings.json"
        done = subprocess.run([sys.executable, "-m", "benchmarks.memory", str(config), str(store_copy(quick, "memory")),
                        str(polls), str(out)], timeout=1800, capture_output=True, text=True)
        if not out.exists():
            raise RuntimeError(f"the headless app stopped before {polls} polls:\n{done.stderr[-3000:]}")
        readings = json.loads(out.read_text())
    live = readings["live sources"]
    start, first, early, late = (readings[k] for k in ("start", "first polls", "polls/10", "polls"))
    growth = (late / early - 1) * 100
    seconds = readings["polls s"] - readings["t0 s"]
    return [
        Figure("RSS after start", start, "MB", baseline, "minimal Textual app", "≤ 250 MB", start <= 250,
               f"after the first {live} polls (ccxt and httpx imported, yfinance on its way): {first:.0f} MB"),
        Figure(f"RSS after {polls:,} polls", late, "MB", baseline, "minimal Textual app", "≤ 250 MB", late <= 250,
               f"{polls:,} polls in {seconds:.0f} s; {polls // 10:,} polls: {early:.1f} MB"),
        Figure(f"RSS growth, {polls // 10:,} → {polls:,} polls", growth, "%", None, "", "≤ 5 %", growth <= 5,
               f"{early:.1f} MB → {late:.1f} MB"),
    ]


if __name__ == "__main__":
    drive(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))
