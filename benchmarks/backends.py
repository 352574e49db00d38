"""The store's two backends side by side, in one run: SQLite (the file) and PostgreSQL (a server on 127.0.0.1
started for the run, as the tests start it: tests/pgserver.py).

- Ingest: the benchmark tape (1,000,000 observations; 100,000 with --quick) appended in batches of 1,000, as
  benchmarks/ingest.py does; the PostgreSQL figure's baseline is SQLite's.
- Rule evaluation: every claim judged over the store holding that tape, median of repeated evaluations.
- Commit → value on a viewer: a writer appends one observation every 50 ms; a viewer (its own connection)
  waits with wait_for_change and reads latest(); the time from the start of the append to the viewer holding
  the value, p95 over the samples. SQLite viewers ask PRAGMA data_version after each write to the files
  (inotify); PostgreSQL viewers wake on NOTIFY.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from benchmarks.figures import Figure, median, percentile
from benchmarks.tape import BATCH, FULL, QUICK, fill, workdir
from tests.pgserver import PgServer, start_server
from tui.core.config import load_settings, shipped_config_path
from tui.core.judge.view import make_context
from tui.core.model import Observation
from tui.core.narratives.claims import load_narratives
from tui.core.narratives.rules.verdict import judge_all
from tui.core.store.location import open_store
from tui.core.store.protocol import Store

PROBE = "crypto:BTC/USD:last"


def evaluation_ms(store: Store, now: datetime, runs: int) -> float:
    settings = load_settings(shipped_config_path())
    claims = load_narratives().claims
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        judge_all(claims, make_context(store, now, settings))
        times.append(time.perf_counter() - started)
    return median(times[1:]) * 1000  # the first fills the store's kept answers


def commit_to_viewer(location: str, samples: int) -> list[float]:
    """Seconds from an append's start to a viewer on another connection holding the appended value."""
    writer, viewer = open_store(location), open_store(location)
    began: dict[float, float] = {}
    seen: list[float] = []
    done = threading.Event()
    start = datetime.now(UTC) + timedelta(days=1)  # after anything in the store

    def watch() -> None:
        waiting = 1_000_000.0  # the first value not yet seen; a newer value seen counts for every older one
        while not done.is_set() and len(seen) < samples:
            viewer.wait_for_change(1.0)
            values = [o.value for o in viewer.latest(PROBE, start + timedelta(days=1)) if o.source == "probe"]
            now = time.perf_counter()
            while values and waiting <= values[0] and waiting in began:
                seen.append(now - began[waiting])
                waiting += 1

    thread = threading.Thread(target=watch)
    thread.start()
    try:
        for i in range(samples):
            value = 1_000_000.0 + i
            began[value] = time.perf_counter()  # set before the append: the viewer may see it at once
            writer.append([Observation(PROBE, value, "USD", start + timedelta(seconds=i), "probe")])
            time.sleep(0.05)
        deadline = time.monotonic() + 10
        while len(seen) < samples and time.monotonic() < deadline and thread.is_alive():
            time.sleep(0.05)
    finally:
        done.set()
        thread.join()
        writer.close()
        viewer.close()
    return seen


def measure(location: str, count: int, runs: int, samples: int) -> tuple[float, float, float, int]:
    """Ingest rate, rule evaluation (ms) and commit → viewer p95 (s), and the rows stored, on one store."""
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    store = open_store(location)
    try:
        rate = count / fill(store, count, end)
        stored = store.count()
        evaluation = evaluation_ms(store, end + timedelta(seconds=30), runs)
    finally:
        store.close()
    latencies = commit_to_viewer(location, samples)
    return rate, evaluation, percentile(latencies, 0.95) if latencies else float("inf"), stored


def run(quick: bool, server: PgServer | None = None) -> list[Figure]:
    count = QUICK if quick else FULL
    runs, samples = (5, 20) if quick else (20, 100)
    own = server is None
    if server is None:
        server, reason = start_server()
        if server is None:
            raise RuntimeError(f"no PostgreSQL server: {reason}")
    try:
        lite = measure(str(workdir() / "backends.sqlite"), count, runs, samples)
        pg = measure(server.new_database(), count, runs, samples)
    finally:
        if own:
            server.close()
    figures = []
    for label, (rate, evaluation, p95, stored), base in (("SQLite", lite, None), ("PostgreSQL", pg, lite)):
        note = f"{stored:,} rows stored"
        figures += [
            Figure(f"{label}: store ingest ({count:,} observations, batches of {BATCH:,})", rate, "/s",
                   base[0] if base else None, "SQLite" if base else "", "≥ 50,000 /s", rate >= 50_000, note),
            Figure(f"{label}: rule evaluation over {stored:,} observations", evaluation, "ms",
                   base[1] if base else None, "SQLite" if base else "", "≤ 100 ms", evaluation <= 100,
                   f"median of {runs}"),
            Figure(f"{label}: collector commit → value on a viewer, p95", p95 * 1000, "ms",
                   base[2] * 1000 if base else None, "SQLite" if base else "", "≤ 1,000 ms", p95 <= 1.0,
                   f"{samples} commits 50 ms apart; " + ("NOTIFY" if base else "PRAGMA data_version on each write")),
        ]
    return figures
