"""The benchmark tape: what a store holds after days of polling, generated from the claims' own series.

Every series a claim reads or a theme watches gets a year of daily closes (stamped at each day's end) and
intraday polls, crypto every 10 s from each of the four exchanges, Yahoo series every 60 s and the network
every 300 s, going back from `end` until the tape holds the asked-for number of observations. Values wander
around the test snapshot's last value of each series, so that the claims evaluate to both verdicts.
"""

from __future__ import annotations

import atexit
import math
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.fakes import EXCHANGES
from tui.core.model import Observation, SeriesId
from tui.core.narratives.claims import load_narratives
from tui.core.snapshot import read_observations
from tui.core.store.sqlite import Store

ROOT = Path(__file__).resolve().parent.parent
FULL, QUICK = 1_000_000, 100_000
DAILY_DAYS = 400
STEP_S = {"crypto": 10, "network": 300}  # others (Yahoo): 60 s
BATCH = 1_000  # observations per Store.append when filling the store

_workdir = Path(tempfile.mkdtemp(prefix="tapecheck-bench-"))
atexit.register(shutil.rmtree, _workdir, ignore_errors=True)
_stores: dict[int, tuple[Path, datetime]] = {}


def workdir() -> Path:
    """A temporary directory removed when the run ends."""
    return _workdir


def tape_series() -> list[str]:
    narratives = load_narratives()
    wanted = {s for c in narratives.claims for s in c.series} | {s for t in narratives.themes for s in t.watch}
    return sorted(wanted)


def _levels() -> dict[str, float]:
    levels: dict[str, float] = {}
    for obs in sorted(read_observations(ROOT / "tests" / "data" / "snapshot.jsonl"), key=lambda o: o.ts):
        levels[obs.series] = obs.value
    return levels


def observations(count: int, end: datetime) -> Iterator[Observation]:
    """`count` observations ending at `end`: daily closes first, then intraday polls going back in time."""
    levels = _levels()
    series = tape_series()
    streams = []
    for name in series:
        parsed = SeriesId.parse(name)
        sources = EXCHANGES if parsed.kind == "crypto" else ("mempool",) if parsed.kind == "network" else ("yahoo",)
        level = levels.get(name, 100.0)
        streams += [(name, parsed.unit, source, level, STEP_S.get(parsed.kind, 60)) for source in sources]
    made = 0
    today = end.replace(hour=0, minute=0, second=0, microsecond=0)
    for name, unit, source, level, _ in streams:
        for day in range(1, DAILY_DAYS + 1):
            if made == count:
                return
            ts = today - timedelta(days=day) + timedelta(hours=23, minutes=59, seconds=59, milliseconds=500)
            yield Observation(name, level * (1 + 0.1 * math.sin(day / 17)), unit, ts, source)
            made += 1
    tick = 0
    while made < count:
        seconds = tick * 10
        for name, unit, source, level, step in streams:
            if seconds % step:
                continue
            if made == count:
                return
            ts = end - timedelta(seconds=seconds)
            yield Observation(name, level * (1 + 0.02 * math.sin(seconds / 3600)), unit, ts, source)
            made += 1
        tick += 1


def fill(store: Store, count: int, end: datetime) -> float:
    """Append the tape in batches; returns the seconds spent inside Store.append."""
    import time

    spent = 0.0
    batch: list[Observation] = []
    for obs in observations(count, end):
        batch.append(obs)
        if len(batch) == BATCH:
            started = time.perf_counter()
            store.append(batch)
            spent += time.perf_counter() - started
            batch = []
    if batch:
        started = time.perf_counter()
        store.append(batch)
        spent += time.perf_counter() - started
    return spent


def benchmark_store(quick: bool) -> Path:
    """A store holding the tape (1,000,000 observations, 100,000 with --quick), built once per run."""
    return benchmark_store_with_end(quick)[0]


def store_copy(quick: bool, name: str) -> Path:
    """A fresh copy of the benchmark store, for a run that writes to it (a live app records what it polls)."""
    path = workdir() / f"{name}.sqlite"
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    shutil.copyfile(benchmark_store(quick), path)
    return path


def benchmark_store_with_end(quick: bool) -> tuple[Path, datetime]:
    """The store and the time of its last observation (ten minutes before it was built)."""
    count = QUICK if quick else FULL
    if count not in _stores:
        path = workdir() / f"tape-{count}.sqlite"
        end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
        store = Store(path)
        fill(store, count, end)
        store.close()
        _stores[count] = (path, end)
    return _stores[count]
