"""Keystroke latency: `s` (the sources screen) typed while ccxt and yfinance import and while polls run.

tapecheck runs live against the fakes, each answering after 300 ms, every source polling every second, so
that from the first frame on the keys land first during the imports and then during polls. Each sample is
the time from writing `s` to the pty until the sources screen's header reaches it; `escape` goes back and
the dashboard is awaited before the next sample. The baseline is the same on the snapshot dashboard, where
nothing is imported or polled.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from benchmarks.fakes import running_fakes
from benchmarks.figures import Figure, percentile
from benchmarks.first_frame import PANELS_SHOWN, tapecheck_argv
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


def run(quick: bool) -> list[Figure]:
    count = 10 if quick else 40
    store = store_copy(quick, "keystroke")
    with running_fakes() as fakes, tempfile.TemporaryDirectory() as tmp:
        fakes.delay(0.3)
        config = fakes.config(Path(tmp) / "config.toml", crypto_s=1, equities_s=1, hashrate_s=1)
        with Terminal(tapecheck_argv(config, store)) as term:
            live = samples(term, count)
    snapshot = [sys.executable, "-m", "tui", "--snapshot", str(ROOT / "tests" / "data" / "snapshot.jsonl"),
                "--now", "2026-01-26T06:00:00Z"]
    with Terminal(snapshot) as term:
        idle = samples(term, count)
    p95, base = percentile(live, 0.95), percentile(idle, 0.95)
    return [Figure(f"keystroke latency p95 ({count} presses of s)", p95, "ms", base, "snapshot mode, nothing loading",
                   "p95 ≤ 100 ms", p95 <= 100,
                   f"live: median {percentile(live, 0.5):.0f} ms, max {max(live):.0f} ms, first five "
                   f"{', '.join(f'{x:.0f}' for x in live[:5])} ms (during the imports); snapshot: median "
                   f"{percentile(idle, 0.5):.0f} ms")]
