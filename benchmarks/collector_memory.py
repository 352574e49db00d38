"""Collector memory: RSS after start, and its growth over 10,000 polls against the fakes with 1 ms intervals.

The collector runs in a child process (`python -m benchmarks.collector_memory CONFIG STORE POLLS OUT`), built as
`tapecheck collect` builds it (tui/cli.py run_collect), with every live source polling again as soon as its
last poll ended, into a store holding the benchmark tape. A poll is one poll of one source (the Poller's unit;
six live sources make a round), counted as the collector receives them. RSS is read once the collector runs
(nothing polled yet), after the first six polls, and after 1,000 and 10,000 polls (100 and 1,000 with --quick).
The baseline is the floor: a fresh interpreter that has imported what the collector polls with (ccxt's
async_support, yfinance, httpx).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.fakes import running_fakes
from benchmarks.figures import Figure
from benchmarks.tape import store_copy
from benchmarks.terminal import ROOT, child_env, rss_mb

MAX_S = 300.0  # a collector stops counting polls after this long (a loaded 2-core machine: ~10-30 polls/s)
FLOOR = "import os, ccxt.async_support, yfinance, httpx; print(open(f'/proc/{os.getpid()}/status').read())"


def drive(config: Path, store_path: Path, polls: int, out: Path, max_s: float) -> None:
    """The child: a collector, counting polls and reading its own RSS at the checkpoints, stopped after `polls`
    (or after `max_s` seconds, on a machine too loaded to get there: `last` then says how far it got)."""
    from tui.collect.collector import Collector
    from tui.collect.poller import Health
    from tui.collect.sources.base import FetchResult, Source
    from tui.collect.sources.registry import HistoryJob, build_sources
    from tui.collect.sources.wanted import wanted
    from tui.core.config import load_settings
    from tui.core.narratives.claims import load_narratives
    from tui.core.process import limit_malloc_arenas
    from tui.core.store.sqlite import Store

    limit_malloc_arenas()  # as run_collect does
    settings = load_settings(config)
    narratives = load_narratives()
    store = Store(store_path, settings.store.retention_days)
    plan = build_sources(settings, wanted(narratives))
    live = sum(1 for s in plan.sources if not isinstance(s, HistoryJob))
    checkpoints = {live: "first polls", polls // 10: "polls/10", polls: "polls"}
    readings: dict[str, float] = {"start": rss_mb(os.getpid()), "t0 s": time.monotonic()}
    states: dict[str, int] = {}
    stop = asyncio.Event()

    class CountingCollector(Collector):
        count = 0

        async def on_result(self, source: Source, result: FetchResult | None, health: Health) -> None:
            await super().on_result(source, result, health)
            if isinstance(source, HistoryJob):
                return
            self.count += 1
            states[health.state] = states.get(health.state, 0) + 1
            if self.count in checkpoints:
                readings[checkpoints[self.count]] = rss_mb(os.getpid())
                readings[checkpoints[self.count] + " s"] = time.monotonic()
            if self.count >= polls or time.monotonic() - readings["t0 s"] > max_s:
                readings["last"], readings["last polls"] = rss_mb(os.getpid()), self.count
                readings["last s"] = time.monotonic()
                stop.set()

    collector = CountingCollector(settings, narratives, store, plan, lambda line: None)
    asyncio.run(collector.run(stop))
    store.close()
    out.write_text(json.dumps({**readings, "states": states, "live sources": live}))
    os._exit(0)  # a yfinance thread may still be blocked; nothing is left to write


def floor_mb() -> float:
    """RSS of a fresh interpreter that imported ccxt.async_support, yfinance and httpx."""
    status = subprocess.run([sys.executable, "-c", FLOOR], check=True, capture_output=True, text=True,
                            env=child_env(), cwd=ROOT).stdout
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def measure(config: Path, store: Path, polls: int, out: Path, max_s: float = 600) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-m", "benchmarks.collector_memory", str(config), str(store), str(polls),
                           str(out), str(max_s)], timeout=max_s + 600, capture_output=True, text=True,
                          env=child_env(), cwd=ROOT)
    if not out.exists():
        raise RuntimeError(f"the collector stopped before {polls} polls:\n{done.stderr[-3000:]}")
    readings: dict[str, object] = json.loads(out.read_text())
    return readings


def run(quick: bool) -> list[Figure]:
    polls = 1_000 if quick else 10_000
    baseline = floor_mb()
    with running_fakes() as fakes, tempfile.TemporaryDirectory() as tmp:
        config = fakes.config(Path(tmp) / "config.toml", crypto_s=0.001, equities_s=0.001, hashrate_s=0.001)
        readings = measure(config, store_copy(quick, "memory"), polls, Path(tmp) / "readings.json", MAX_S)
    live = readings["live sources"]
    value = {k: float(v) for k, v in readings.items() if isinstance(v, int | float)}
    start, first, early, late, done = (value[k] for k in ("start", "first polls", "polls/10", "last", "last polls"))
    growth = (late / early - 1) * 100
    seconds = value["last s"] - value["t0 s"]
    label = "interpreter with ccxt, yfinance, httpx imported"
    short = "" if done >= polls else f" (stopped after {MAX_S:.0f} s on this machine, short of {polls:,})"
    return [
        Figure(f"collector RSS after {done:,.0f} polls{short}", late, "MB", baseline, label, "≤ 250 MB", late <= 250,
               f"{done:,.0f} polls in {seconds:.0f} s (states {readings['states']}); at start {start:.0f} MB, after "
               f"the first {live} polls {first:.0f} MB, after {polls // 10:,} polls {early:.1f} MB"),
        Figure(f"collector RSS growth, {polls // 10:,} → {done:,.0f} polls", growth, "%", None, "", "≤ 5 %",
               growth <= 5, f"{early:.1f} MB → {late:.1f} MB"),
    ]


if __name__ == "__main__":
    drive(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]), float(sys.argv[5]))
