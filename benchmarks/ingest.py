"""Store ingest: observations written per second through Store.append, in batches of 1,000.

The baseline is the ceiling: the same rows written by sqlite3's executemany straight into a bare table of the
same shape, in the same batches, with no series lookup or validation.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime

from benchmarks.figures import Figure
from benchmarks.tape import BATCH, FULL, QUICK, fill, observations, workdir
from tui.core.store.sqlite import Store, to_ms


def bare_rate(count: int, end: datetime) -> float:
    db = sqlite3.connect(workdir() / "bare.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("CREATE TABLE observations (series_id INTEGER NOT NULL, source TEXT NOT NULL, ts INTEGER NOT NULL, "
               "value REAL NOT NULL, PRIMARY KEY (series_id, ts, source)) WITHOUT ROWID")
    ids: dict[str, int] = {}
    rows = [(ids.setdefault(o.series, len(ids)), o.source, to_ms(o.ts), o.value) for o in observations(count, end)]
    started = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT OR IGNORE INTO observations VALUES (?, ?, ?, ?)", rows[start: start + BATCH])
        db.execute("COMMIT")
    spent = time.perf_counter() - started
    db.close()
    return count / spent


def run(quick: bool) -> list[Figure]:
    count = QUICK if quick else FULL
    end = datetime.now(UTC)
    store = Store(workdir() / "ingest.sqlite")
    try:
        spent = fill(store, count, end)
        stored = store.count()
    finally:
        store.close()
    rate = count / spent
    ceiling = bare_rate(count, end)
    return [Figure(f"store ingest ({count:,} observations, batches of {BATCH:,})", rate, "/s", ceiling,
                   "bare sqlite3 executemany", "≥ 50,000 /s", rate >= 50_000, f"{stored:,} rows stored")]
