"""Keystroke latency: `s` (the sources screen) typed into a viewer while the collector polls every second.

A collector polls the fakes (each answering after 300 ms) every second into a store holding the benchmark
tape, so that the viewer builds a new state after each commit while the keys arrive. Each sample is the time
from writing `s` to the pty until the sources screen's header reaches it; `escape` goes back and the
dashboard is awaited before the next sample. The baseline is the same on the snapshot dashboard, where
nothing changes.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from benchmarks.fakes import running_fakes
from benchmarks.figures import Figure, percentile
from benchmarks.processes import PANELS_SHOWN, CollectorProcess, viewer_argv
from benchmarks.tape import ROOT, store_copy
from benchmarks.terminal import Terminal

SOURCES_SHOWN = "next attempt"


def samples(term: Terminal, count: int, pause_s: float = 0.1) -> list[float]:
    """Latencies in ms of `count` presses of `s`, each followed by escape back to the dashboard."""
    term.wait_for(PANELS_SHOWN, timeout=60)
    found = []
    for _ in range(count):
        since = term.offset
        sent = term.send("s")
        shown = term.started + term.wait_for(SOURCES_SHOWN, timeout=30, since=since)
        found.append((shown - sent) * 1000)
        since = term.offset
        term.send("\x1b")
        term.wait_for(PANELS_SHOWN, timeout=30, since=since)
        time.sleep(pause_s)
    return found


def snapshot_argv() -> list[str]:
    return [sys.executable, "-m", "tui", "--snapshot", str(ROOT / "tests" / "data" / "snapshot.jsonl"),
            "--now", "2026-01-26T06:00:00Z"]


def run(quick: bool) -> list[Figure]:
    count = 10 if quick else 30
    store = store_copy(quick, "keystroke")
    with running_fakes() as fakes, tempfile.TemporaryDirectory() as tmp:
        fakes.delay(0.3)
        config = fakes.config(Path(tmp) / "config.toml", crypto_s=1, equities_s=1, hashrate_s=1)
        with CollectorProcess(config, store, Path(tmp) / "collector.log") as collector, \
                Terminal(viewer_argv(config, store)) as term:
            collector.wait_until_polled(timeout=180)
            commits_before = term.offset
            live = samples(term, count)
            drawn = term.offset - commits_before
    with Terminal(snapshot_argv()) as term:
        idle = samples(term, count)
    p95, base = percentile(live, 0.95), percentile(idle, 0.95)
    return [Figure(f"keystroke latency p95 ({count} presses of s), collector polling every second", p95, "ms", base,
                   "snapshot dashboard, nothing changing", "p95 ≤ 50 ms", p95 <= 50,
                   f"viewer: median {percentile(live, 0.5):.0f} ms, max {max(live):.0f} ms; snapshot: median "
                   f"{percentile(idle, 0.5):.0f} ms, max {max(idle):.0f} ms; {drawn:,} characters drawn meanwhile")]
