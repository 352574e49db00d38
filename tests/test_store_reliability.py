"""Nothing recorded is lost: SIGKILL during heavy writes, a full disk, a store that cannot be opened, two processes.

The many-kill run (`-m slow`) kills the writer 200 times at random moments (25 times per store file); the default
run kills it 5 times.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import obs
from tui.collect.recorder import StoreWriter
from tui.core.model import Observation, TapecheckError
from tui.core.store.location import open_store as open_location
from tui.core.store.sqlite import Store
from tui.core.urls import is_url

ROOT = Path(__file__).parent.parent
BATCH = 200

# A recording process: batches of BATCH observations, one transaction each, its number printed once committed.
WRITER = """
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tui.core.model import Observation
from tui.core.store.location import open_store
from tui.core.model import Health
store = open_store(sys.argv[1])
run = int(sys.argv[2])
start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=run)
batch = 0
while True:
    rows = [Observation("crypto:BTC/USD:last", 70000.0 + i, "USD",
                        start + timedelta(milliseconds=batch * 1000 + i), f"w{run}") for i in range(BATCH_SIZE)]
    store.append(rows)
    store.save_health(Health(f"w{run}", "crypto", start, None, None, 1.0, 0, None))
    print(batch, flush=True)
    batch += 1
""".replace("BATCH_SIZE", str(BATCH))


def start_writer(path: Path | str, run: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(run)], stdout=subprocess.PIPE, text=True,
                            cwd=ROOT)


def rows_by_source(location: Path | str) -> dict[str, int]:
    """Observations per source, read straight from the database; a SQLite file is checked for integrity first."""
    if is_url(location):
        import psycopg

        with psycopg.connect(str(location), autocommit=True) as conn:
            return {str(source): int(n) for source, n in
                    conn.execute("SELECT source, COUNT(*) FROM observations GROUP BY source")}
    db = sqlite3.connect(location, timeout=10)  # the store always opens
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return dict(db.execute("SELECT source, COUNT(*) FROM observations GROUP BY source").fetchall())
    finally:
        db.close()


def kill_and_count(writer: subprocess.Popen[str], delay: float) -> int:
    """Kill the writer `delay` seconds after its first commit; how many batches it reported committed."""
    assert writer.stdout is not None
    first = writer.stdout.readline()
    assert first.strip() == "0", "the writer did not start"
    time.sleep(delay)
    os.kill(writer.pid, signal.SIGKILL)
    reported = [first, *writer.stdout.readlines()]
    writer.wait()
    return sum(1 for line in reported if line.endswith("\n"))  # a line cut by the kill was not confirmed


def kill_many(new_store: Callable[[int], Path | str], kills: int, seed: int, per_store: int = 25) -> None:
    """Kill a writer `kills` times, `per_store` times on each store (so that checking stays quick)."""
    rng = random.Random(seed)
    totals = [0, 0]
    for first in range(0, kills, per_store):
        confirmed, found = kill_on_one_store(new_store(first), range(first, min(kills, first + per_store)), rng)
        totals[0] += confirmed
        totals[1] += found
    print(f"kill figures: {kills} kills, {totals[0]} observations confirmed committed, {totals[1]} found "
          f"({totals[1] - totals[0]} committed in the instant before a kill, unconfirmed), "
          f"integrity ok after every kill")


def kill_on_one_store(path: Path | str, runs: range, rng: random.Random) -> tuple[int, int]:
    committed: dict[str, int] = {}
    rows: dict[str, int] = {}
    for run in runs:
        committed[f"w{run}"] = kill_and_count(start_writer(path, run), rng.uniform(0.0, 0.4))
        rows = rows_by_source(path)
        for source, batches in committed.items():
            # every batch confirmed before the kill is there, and only whole batches are
            assert rows.get(source, 0) >= batches * BATCH, (source, rows.get(source), batches)
            assert rows.get(source, 0) % BATCH == 0
    store = open_location(path)
    assert store.count() == sum(rows.values())
    store.close()
    return sum(committed.values()) * BATCH, sum(rows.values())


def test_a_few_random_kills_lose_nothing_committed(backend: str, tmp_path: Path,
                                                   request: pytest.FixtureRequest) -> None:
    if backend == "sqlite":
        kill_many(lambda first: tmp_path / f"kill{first}.sqlite", kills=5, seed=1)
    else:
        kill_many(lambda first: request.getfixturevalue("pg_server").new_database(), kills=5, seed=1)


@pytest.mark.slow
@pytest.mark.timeout(3 * 3600)
def test_two_hundred_random_kills_lose_nothing_committed(tmp_path: Path) -> None:
    kill_many(lambda first: tmp_path / f"kill{first}.sqlite", kills=200, seed=2)


# ---- a full disk, a store that cannot be opened --------------------------------------------------------


def fill_up(store: Store) -> None:
    """Cap the database at its current size: the next growth fails as on a full disk (SQLITE_FULL)."""
    db = sqlite3.connect(store.path)
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.close()
    store._db.execute(f"PRAGMA max_page_count = {pages}")


def batch(n: int, start: datetime) -> list[Observation]:
    return [obs("crypto:BTC/USD:last", 70_000.0 + i, start + timedelta(seconds=i), "binance") for i in range(n)]


async def test_a_full_disk_stops_recording_says_so_once_and_resumes(tmp_path: Path) -> None:
    store = Store(tmp_path / "full.sqlite")
    writer = StoreWriter(store)
    now = datetime.now(UTC)
    assert await writer.save(batch(10, now)) is None and writer.problem is None
    fill_up(store)
    message = await writer.save(batch(5000, now + timedelta(days=1)))
    assert message is not None and "not recording" in message and "full" in message and str(store.path) in message
    assert await writer.save(batch(5000, now + timedelta(days=2))) is None  # said once, not on every poll
    assert writer.problem is not None
    store._db.execute("PRAGMA max_page_count = 1073741823")  # space again
    assert await writer.save(batch(10, now + timedelta(days=3))) == f"recording again to {store.path}"
    assert writer.problem is None and store.count() == 10_020  # what came while the disk was full is kept too
    store.close()


def test_store_write_errors_are_tapecheck_errors(tmp_path: Path) -> None:
    store = Store(tmp_path / "full.sqlite")
    fill_up(store)
    with pytest.raises(TapecheckError, match="cannot write: database or disk is full"):
        store.append(batch(5000, datetime.now(UTC)))
    store.append([])  # and the connection is still usable
    store.close()


# ---- two processes on one store -------------------------------------------------------------------------


def test_a_recorder_and_a_dashboard_share_a_store(location: str) -> None:
    """Two writer processes append while this one reads and writes health: nobody corrupts or blocks for long."""
    path = location
    open_location(path).close()
    writers = [start_writer(path, run) for run in (1, 2)]
    reader = open_location(path)
    rounds = 0
    try:
        # five rounds at least, and on until the writers' rows are in (so that they overlap): a reader the writers
        # blocked would not finish (the test's time-out), rather than be slow by a stopwatch
        while rounds < 5 or reader.count() <= rounds * 50:
            reader.latest("crypto:BTC/USD:last", datetime.now(UTC) + timedelta(days=400))
            reader.history("crypto:BTC/USD:last", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 9, tzinfo=UTC))
            reader.append(batch(50, datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=rounds)))
            rounds += 1
    finally:
        committed = [kill_and_count(w, 0) for w in writers]
    reader.close()
    counts = rows_by_source(path)
    assert counts["binance"] == rounds * 50
    assert counts["w1"] >= committed[0] * BATCH and counts["w2"] >= committed[1] * BATCH
