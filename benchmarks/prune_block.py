"""The longest block of a viewer's event loop while another process prunes 1,000,000 old rows.

The store holds the benchmark tape and, older than the retention period (400 days), a million intraday crypto
observations (100,000 with --quick) that `Store.prune` thins to the last of each (series, source, day). A
viewer runs on a 120x40 pty with a probe of its event loop (benchmarks/loop_probe.py: an asyncio task that
sleeps 5 ms and notes how late it wakes); a separate process then prunes, in the store's small batches, each
batch a commit the viewer notices. The figure is the longest block that ended while the prune ran; the
baseline is the longest block of the same viewer over a window as long, idle, just before.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.fakes import EXCHANGES, running_fakes
from benchmarks.figures import Figure
from benchmarks.loop_probe import blocks
from benchmarks.processes import PANELS_SHOWN, viewer_argv
from benchmarks.tape import BATCH, benchmark_store, tape_series, workdir
from benchmarks.terminal import ROOT, Terminal, child_env
from tui.core.model import Observation, SeriesId
from tui.core.store.sqlite import Store

OLD_DAYS = 600  # the old rows start this long ago: well past the 400 days kept
PRUNE = """
import json, sys, time
from datetime import UTC, datetime
from pathlib import Path
from tui.core.store.sqlite import Store
store = Store(Path(sys.argv[1]), 400)
started = time.monotonic()
removed = store.prune(datetime.now(UTC))
print(json.dumps({"start": started, "end": time.monotonic(), "removed": removed}))
store.close()
"""


def old_rows(count: int) -> Iterator[Observation]:
    """`count` crypto polls every 10 s from each exchange, OLD_DAYS ago."""
    streams = [(s, SeriesId.parse(s).unit, e) for s in tape_series() if SeriesId.parse(s).kind == "crypto"
               for e in EXCHANGES]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=OLD_DAYS)
    per_stream = -(-count // len(streams))
    made = 0
    for series, unit, source in streams:
        for i in range(min(per_stream, count - made)):
            yield Observation(series, 100.0 + i % 97, unit, start + timedelta(seconds=10 * i), source)
        made = min(count, made + per_stream)


def prune_store(quick: bool, count: int | None = None) -> Path:
    """A copy of the benchmark store with `count` (default 1,000,000; --quick 100,000) old rows added."""
    count = count or (100_000 if quick else 1_000_000)
    path = workdir() / f"prune-{count}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    shutil.copyfile(benchmark_store(quick), path)
    store = Store(path)
    batch: list[Observation] = []
    for obs in old_rows(count):
        batch.append(obs)
        if len(batch) == BATCH:
            store.append(batch)
            batch = []
    store.append(batch)
    store.close()
    return path


def measure(store: Path, idle_s: float) -> tuple[list[float], list[float], dict[str, float]]:
    """(blocks in ms over an idle window of `idle_s`, blocks in ms during the prune, the prune's report)."""
    with running_fakes() as fakes, tempfile.TemporaryDirectory() as tmp:
        config = fakes.config(Path(tmp) / "config.toml")
        out = Path(tmp) / "loop.txt"
        argv = [sys.executable, "-m", "benchmarks.loop_probe", *viewer_argv(config, store)[3:]]
        with Terminal(argv, env={"LOOP_PROBE_OUT": str(out)}) as viewer:
            viewer.wait_for(PANELS_SHOWN, timeout=120)
            time.sleep(3)  # the first state's follow-ups
            idle_start = time.monotonic()
            time.sleep(idle_s)
            idle_end = time.monotonic()
            done = subprocess.run([sys.executable, "-c", PRUNE, str(store)], capture_output=True, text=True,
                                  env=child_env(), cwd=ROOT, timeout=1200)
            if done.returncode:
                raise RuntimeError(f"the prune failed:\n{done.stderr[-3000:]}")
            report: dict[str, float] = json.loads(done.stdout)
            time.sleep(1)  # the viewer's answer to the last batch
            if viewer.process is not None and viewer.process.poll() is not None:
                raise RuntimeError(f"the viewer exited during the prune:\n{viewer.tail()}")
            if not out.exists():
                raise RuntimeError(f"the loop probe wrote nothing:\n{viewer.tail()}")
            return (blocks(out, idle_start, idle_end), blocks(out, report["start"], report["end"] + 1), report)


def run(quick: bool) -> list[Figure]:
    store = prune_store(quick)
    idle, during, report = measure(store, 5.0 if quick else 10.0)
    longest, base = max(during, default=0.0), max(idle, default=0.0)
    seconds = report["end"] - report["start"]
    over = sum(1 for b in during if b > 50)
    return [Figure(f"longest event-loop block of a viewer, prune of {report['removed']:,.0f} rows", longest, "ms",
                   base or None, "same viewer idle", "≤ 50 ms", longest <= 50,
                   f"the prune took {seconds:.1f} s in another process; {len(during)} blocks of ≥ 2 ms during it, "
                   f"{over} over 50 ms; idle: {len(idle)} blocks of ≥ 2 ms, longest {base:.0f} ms")]
