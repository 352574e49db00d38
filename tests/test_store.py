"""The store on both backends (SQLite, PostgreSQL): appends, the Tape questions (checked against MemoryTape),
retention, health, a killed writer. The collector's and viewers' side of the contract is in test_store_contract.py."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import NOW, obs
from tui.core.model import Health, TapecheckError
from tui.core.store.location import open_store
from tui.core.store.protocol import Store
from tui.core.store.sqlite import SqliteStore
from tui.core.tape import MemoryTape

BTC = "crypto:BTC/USD:last"


@pytest.fixture
def store(location: str) -> Iterator[Store]:
    store = open_store(location, retention_days=30)
    yield store
    store.close()


def test_append_and_ignore_duplicates(store: Store) -> None:
    rows = [obs(BTC, 1.0, NOW, "a"), obs(BTC, 2.0, NOW, "b")]
    assert store.append(rows) == 2
    assert store.append(rows) == 0
    assert store.count() == 2


def test_wal_mode(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite")
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_latest_per_source(store: Store) -> None:
    store.append([obs(BTC, 1.0, NOW - timedelta(seconds=60), "a"), obs(BTC, 2.0, NOW - timedelta(seconds=5), "a"),
                  obs(BTC, 3.0, NOW - timedelta(seconds=9), "b"), obs(BTC, 9.0, NOW + timedelta(seconds=9), "b")])
    found = {o.source: o.value for o in store.latest(BTC, NOW)}
    assert found == {"a": 2.0, "b": 3.0}
    assert store.latest("crypto:DOGE/USD:last", NOW) == []


def test_history_in_range(store: Store) -> None:
    store.append([obs(BTC, float(i), NOW - timedelta(hours=i)) for i in range(10)])
    values = [o.value for o in store.history(BTC, NOW - timedelta(hours=3), NOW)]
    assert values == [3.0, 2.0, 1.0, 0.0]


stamps = st.integers(min_value=0, max_value=20 * 86400).map(lambda s: NOW - timedelta(seconds=s))
observation_lists = st.lists(
    st.builds(lambda s, v, ts, src: obs(s, v, ts, src), st.sampled_from([BTC, "index:^IXIC:last"]),
              st.floats(min_value=1, max_value=1e6), stamps, st.sampled_from(["a", "b", "c"])),
    max_size=60,
)


def test_history_for_a_chart_keeps_each_sources_last_value_per_span(store: Store) -> None:
    start = NOW - timedelta(seconds=10_000)
    store.append([obs("crypto:BTC/USD:last", float(i), start + timedelta(seconds=i), "kraken") for i in range(10_000)])
    store.append([obs("crypto:BTC/USD:last", -float(i), start + timedelta(seconds=i), "binance")
                  for i in range(0, 10_000, 2)])
    full = store.history("crypto:BTC/USD:last", start, NOW)
    assert len(full) == 15_000
    chart = store.history("crypto:BTC/USD:last", start, NOW, points=100)
    kraken = [o for o in chart if o.source == "kraken"]
    binance = [o for o in chart if o.source == "binance"]
    assert len(kraken) <= 100 and len(binance) <= 100 and len(kraken) >= 90
    assert [o.ts for o in chart] == sorted(o.ts for o in chart)
    assert kraken[-1].value == 9_999 and binance[-1].value == -9_998  # the newest value is always shown
    span_ms = 10_000_000 // 100 + 1  # the range in milliseconds cut into 100 spans

    def span_of(second: int) -> int:
        return second * 1000 // span_ms

    assert all(span_of(int(o.value) + 1) != span_of(int(o.value)) for o in kraken[:-1])  # each span's last second
    assert len({span_of(int(o.value)) for o in kraken}) == len(kraken)  # one per span


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(observation_lists, st.integers(min_value=0, max_value=20))
def test_store_answers_like_memory_tape(tmp_path_factory: pytest.TempPathFactory, backend: str,
                                        request: pytest.FixtureRequest, rows: list[object], days_back: int) -> None:
    if backend == "sqlite":
        store: Store = SqliteStore(tmp_path_factory.mktemp("p") / "s.sqlite")
    else:
        store = open_store(request.getfixturevalue("pg_server").new_database())
    store.append(rows)  # type: ignore[arg-type]
    memory = MemoryTape(rows)  # type: ignore[arg-type]
    day = (NOW - timedelta(days=days_back)).date()
    for series in (BTC, "index:^IXIC:last"):
        key = lambda o: (o.source, o.ts)  # noqa: E731
        assert sorted(store.latest(series, NOW), key=key) == sorted(memory.latest(series, NOW), key=key)
        assert sorted(store.at(series, day), key=key) == sorted(memory.at(series, day), key=key)
        stored, expected = store.daily(series, NOW), memory.daily(series, NOW)
        assert [d for d, _ in stored] == [d for d, _ in expected]
        assert [v for _, v in stored] == pytest.approx([v for _, v in expected])
    store.close()


def test_retention_keeps_the_last_value_of_each_old_day(store: Store) -> None:
    old = datetime(2025, 1, 10, tzinfo=UTC)
    store.append([obs(BTC, float(h), old + timedelta(hours=h), "a") for h in range(0, 48, 6)])
    store.append([obs(BTC, 100.0, NOW, "a")])
    removed = store.prune(NOW)
    assert removed == 6  # 8 old rows over 2 days → 2 kept
    assert [o.value for o in store.history(BTC, old, NOW)] == [18.0, 42.0, 100.0]
    assert store.daily(BTC, NOW)[:2] == [(date(2025, 1, 10), 18.0), (date(2025, 1, 11), 42.0)]


def test_daily_closes_follow_appends_of_older_days(store: Store) -> None:
    day = datetime(2026, 1, 20, 12, tzinfo=UTC)
    store.append([obs(BTC, 10.0, day, "a"), obs(BTC, 20.0, NOW - timedelta(hours=1), "a")])
    assert store.daily(BTC, NOW) == [(date(2026, 1, 20), 10.0), (NOW.date(), 20.0)]
    store.append([obs(BTC, 30.0, day + timedelta(hours=1), "b"), obs(BTC, 5.0, day - timedelta(days=1), "a")])
    assert store.daily(BTC, NOW) == [(date(2026, 1, 19), 5.0), (date(2026, 1, 20), 20.0), (NOW.date(), 20.0)]
    assert store.daily(BTC, day) == [(date(2026, 1, 19), 5.0), (date(2026, 1, 20), 10.0)]  # as of an earlier time


def test_daily_closes_see_what_another_process_wrote(store: Store) -> None:
    day = datetime(2026, 1, 20, 12, tzinfo=UTC)
    store.append([obs(BTC, 10.0, day, "a")])
    assert store.daily(BTC, NOW) == [(date(2026, 1, 20), 10.0)]
    other = open_store(store.location)
    other.append([obs(BTC, 40.0, day + timedelta(hours=2), "a")])
    store.changed_series(0)  # what a viewer asks when woken: the next question looks at once
    assert store.daily(BTC, NOW) == [(date(2026, 1, 20), 40.0)]
    other.append([obs(BTC, 50.0, day + timedelta(hours=3), "a")])  # asked without a look: seen all the same
    deadline = time.monotonic() + 30  # a guard, not a measure: on PostgreSQL a look is at most NOTICE_S away
    while store.daily(BTC, NOW) != [(date(2026, 1, 20), 50.0)] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.daily(BTC, NOW) == [(date(2026, 1, 20), 50.0)]
    other.close()


def test_health_round_trip(store: Store) -> None:
    record = Health("binance", "crypto", NOW, "HTTP 503 from binance", NOW, 120.5, 3,
                          NOW + timedelta(seconds=40))
    store.save_health(record)
    assert store.health() == [record]
    changed = Health("binance", "crypto", NOW, None, None, 80.0, 0, None)
    store.save_health(changed)
    assert store.health() == [changed]


def test_not_a_store(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(TapecheckError, match="not a tapecheck store \\(not an SQLite database\\)"):
        SqliteStore(bad)


WRITER = """
import sys
from datetime import UTC, datetime, timedelta
from tui.core.model import Observation
from tui.core.store.sqlite import SqliteStore
store = SqliteStore(__import__("pathlib").Path(sys.argv[1]))
start = datetime(2026, 1, 1, tzinfo=UTC)
batch = 0
while True:
    rows = [Observation("crypto:BTC/USD:last", float(i), "USD", start + timedelta(milliseconds=batch * 1000 + i), "w")
            for i in range(500)]
    store.append(rows)
    print(batch, flush=True)
    batch += 1
"""


@pytest.mark.parametrize("delay", [0.15, 0.35, 0.6])
def test_killed_writer_loses_no_committed_batch(tmp_path: Path, delay: float) -> None:
    path = tmp_path / "kill.sqlite"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).parent.parent)
    assert writer.stdout is not None
    first = writer.stdout.readline()  # the writer is up and has committed at least once
    assert first.strip() == "0"
    time.sleep(delay)
    os.kill(writer.pid, signal.SIGKILL)
    reported = [first, *writer.stdout.readlines()]
    writer.wait()
    committed = int(reported[-1]) + 1 if reported[-1].strip() else int(reported[-2]) + 1
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT COUNT(*) FROM observations").fetchone()[0] >= committed * 500
    store = SqliteStore(path)
    assert store.count() % 500 == 0  # whole batches only


def test_a_reader_keeps_a_small_page_cache_and_reads_what_the_writer_commits(tmp_path: Path) -> None:
    """A viewer's connection holds READER_CACHE_KIB of pages, not SQLite's 2,000 KiB (issue 25: viewer RSS), and
    reads each commit all the same."""
    from tui.core.store.sqlite import READER_CACHE_KIB

    writer = SqliteStore(tmp_path / "s.sqlite")
    reader = SqliteStore(writer.path, read_only=True)
    assert reader._db.execute("PRAGMA cache_size").fetchone()[0] == -READER_CACHE_KIB < 0
    assert writer._db.execute("PRAGMA cache_size").fetchone()[0] == -2000  # the collector's is SQLite's own
    for i in range(3):
        writer.append([obs("crypto:BTC/USD:last", 70_000 + i, NOW + timedelta(seconds=i), "kraken")])
        assert [o.value for o in reader.latest("crypto:BTC/USD:last", NOW + timedelta(days=1))] == [70_000 + i]
    reader.close()
    writer.close()
