"""The collector's and viewers' side of the store contract, on both backends: commit numbers, changed series,
requests, the one-collector lock, attached viewers, waking on commit, schema migrations."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import NOW, obs
from tui.core.model import Alert, Cached, Health, Status, TapecheckError
from tui.core.store import pgsql
from tui.core.store import sqlite as sqlite_store
from tui.core.store.location import open_store
from tui.core.store.postgres import PgStore
from tui.core.store.protocol import Store
from tui.core.store.sqlite import CollectorInfo, SqliteStore

BTC = "crypto:BTC/USD:last"
IXIC = "index:^IXIC:last"


@pytest.fixture
def store(location: str) -> Iterator[Store]:
    store = open_store(location)
    yield store
    store.close()


def test_both_backends_answer_the_one_store_protocol(store: Store) -> None:
    """Every question the protocol names is answered by each backend (the protocol's own bodies never run)."""
    wanted = {name for name in dir(Store) if not name.startswith("_")} - set(dir(object))
    assert wanted - set(dir(store)) == set()
    methods = [name for name in wanted if callable(getattr(Store, name))]
    assert all(getattr(type(store), name) is not getattr(Store, name) for name in methods)
    assert isinstance(store, Store) and isinstance(store, SqliteStore | PgStore)


def test_commit_seq_grows_with_each_append_and_names_the_series(store: Store) -> None:
    start = store.commit_seq()
    store.append([obs(BTC, 1.0, NOW, "a")])
    first = store.commit_seq()
    assert first > start
    store.append([obs(IXIC, 2.0, NOW, "a"), obs(IXIC, 3.0, NOW - timedelta(seconds=1), "a")])
    assert store.changed_series(start) == (store.commit_seq(), {BTC, IXIC})
    assert store.changed_series(first) == (store.commit_seq(), {IXIC})
    before = store.commit_seq()
    store.append([obs(BTC, 1.0, NOW, "a")])  # only a repeated row: nothing committed
    assert store.changed_series(before) == (before, set())


def test_a_commit_by_another_process_is_seen(location: str, store: Store) -> None:
    seq = store.commit_seq()
    other = open_store(location)
    other.append([obs(BTC, 1.0, NOW, "b")])
    other.close()
    assert store.changed_series(seq)[1] == {BTC}
    assert [o.value for o in store.latest(BTC, NOW)] == [1.0]


def test_requests_reach_the_collector_in_order(location: str, store: Store) -> None:
    viewer = open_store(location)
    viewer.post_request("pause")
    viewer.post_request("refresh")
    taken = store.take_requests(0)
    assert [kind for _, kind in taken] == ["pause", "refresh"]
    assert store.take_requests(taken[0][0]) == taken[1:]
    assert store.take_requests(taken[-1][0]) == []
    with pytest.raises(TapecheckError, match="unknown request 'explode'"):
        viewer.post_request("explode")
    viewer.close()


def test_one_collector_per_store(location: str, store: Store) -> None:
    assert not store.collector_running()
    assert store.try_lock_collector()
    second = open_store(location)
    assert second.collector_running()
    assert not second.try_lock_collector()
    store.close()  # the collector stops: its lock goes with it
    assert not second.collector_running()
    assert second.try_lock_collector()
    second.close()


def test_viewers_say_they_are_attached(location: str, store: Store) -> None:
    assert not store.viewers_attached()
    viewers = [open_store(location) for _ in range(2)]
    for viewer in viewers:
        viewer.attach_viewer()
    assert store.viewers_attached()
    viewers[0].close()
    assert store.viewers_attached()
    viewers[1].close()
    assert not store.viewers_attached()


def test_the_collector_describes_itself(store: Store) -> None:
    assert store.collector() is None
    info = CollectorInfo(1234, "desk-1", datetime(2026, 1, 26, 6, 0, 1, 500_000, tzinfo=UTC), False)
    store.save_collector(info)
    assert store.collector() == info
    store.save_collector(CollectorInfo(1234, "desk-1", info.started_at, True))
    collector = store.collector()
    assert collector is not None and collector.paused


def test_a_viewer_wakes_on_a_commit_and_not_without_one(location: str, store: Store) -> None:
    began = time.monotonic()
    assert not store.wait_for_change(0.5)
    assert time.monotonic() - began >= 0.45
    writer = open_store(location)
    timer = threading.Timer(0.3, lambda: writer.append([obs(BTC, 5.0, NOW, "w")]))
    timer.start()
    try:
        assert store.wait_for_change(20)  # True: woken by the commit (a wait that ran out says False)
    finally:
        timer.join()
        writer.close()
    assert [o.value for o in store.latest(BTC, NOW)] == [5.0]


def test_a_missed_notification_is_caught_by_reading_the_table(pg_server: object) -> None:
    """A commit that sends no NOTIFY (as if the notification were lost) still wakes a viewer within seconds."""
    import psycopg

    url = pg_server.new_database()  # type: ignore[attr-defined]
    store = open_store(url)
    store.commit_seq()
    quiet = threading.Timer(0.3, lambda: psycopg.connect(url, autocommit=True).execute(
        "UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'commit_seq'"))
    quiet.start()
    assert store.wait_for_change(20)  # True: the table was read (a wait that ran out says False)
    quiet.join()
    store.close()


# ---- schema versions -----------------------------------------------------------------------------------


def make_version_1(backend: str, location: str) -> None:
    """A store as tapecheck wrote it before version 2: the first migration only, one observation."""
    if backend == "sqlite":
        import sqlite3

        db = sqlite3.connect(location)
        db.executescript(sqlite_store.MIGRATIONS[0])
        db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        db.execute("INSERT INTO series (name, unit) VALUES (?, 'USD')", (BTC,))
        db.execute("INSERT INTO observations VALUES (1, 'a', 1769407200000, 7.0)")
        db.commit()
        db.close()
    else:
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn:
            conn.execute(pgsql.MIGRATIONS[0].encode())
            conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
            conn.execute("INSERT INTO series (name, unit) VALUES (%s, 'USD')", (BTC,))
            conn.execute("INSERT INTO observations VALUES (1, 'a', 1769407200000, 7.0)")


def test_an_old_store_is_migrated_keeping_its_data(backend: str, location: str) -> None:
    make_version_1(backend, location)
    store = open_store(location)
    assert [o.value for o in store.latest(BTC, NOW)] == [7.0]
    seq = store.commit_seq()
    store.append([obs(BTC, 8.0, NOW, "b")])
    assert store.changed_series(seq)[1] == {BTC}
    store.close()
    again = open_store(location)  # opening a current store changes nothing
    assert again.count() == 2
    again.close()


def test_a_store_from_a_newer_tapecheck_is_refused(backend: str, location: str) -> None:
    open_store(location).close()
    if backend == "sqlite":
        import sqlite3

        db = sqlite3.connect(location)
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        db.commit()
        db.close()
    else:
        import psycopg

        with psycopg.connect(location, autocommit=True) as conn:
            conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(TapecheckError, match=f"schema version 99, this tapecheck reads up to {len(pgsql.MIGRATIONS)}"):
        open_store(location)


def test_sqlite_users_never_import_psycopg(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ("import sys; from tui.core.store.location import open_store; "
            f"s = open_store({str(tmp_path / 'x.sqlite')!r}); s.append([]); "
            "print('psycopg' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent.parent)
    assert out.stdout.strip() == "False"


def test_processes_opening_a_new_store_at_once_make_it_once(location: str) -> None:
    """A collector and its dashboards often start together on an empty store: each must open it, none may run
    the schema a second time (on PostgreSQL an advisory lock alone left the first migration unseen)."""
    import subprocess
    import sys

    code = "import sys; from tui.core.store.location import open_store; open_store(sys.argv[1]).close()"
    openers = [subprocess.Popen([sys.executable, "-c", code, location], stderr=subprocess.PIPE, text=True)
               for _ in range(4)]
    errors = [opener.communicate(timeout=120)[1] for opener in openers]
    assert [opener.returncode for opener in openers] == [0, 0, 0, 0], errors
    opened = open_store(location)
    assert opened.commit_seq() == 0 and opened.count() == 0
    opened.close()


def test_alerts_are_kept_listed_newest_first_delivered_and_acknowledged(location: str, store: Store) -> None:
    from tui.core.model import Alert

    def alert(subject: str, after: str, minutes: int) -> Alert:
        return Alert(0, NOW + timedelta(minutes=minutes), "rule", subject, "clear", after, "70,000 USD < 74,600 USD",
                     70_000.0, 74_600.0, "USD")

    kept = store.add_alerts([alert("btc low", "met", 0), alert("btc low", "clear", 1), alert("eth", "met", 2)])
    assert [a.id for a in kept] == sorted(a.id for a in kept) and all(a.id > 0 for a in kept)
    viewer = open_store(location, read_only=True)
    listed = viewer.alerts()
    assert [(a.subject, a.after) for a in listed] == [("eth", "met"), ("btc low", "clear"), ("btc low", "met")]
    assert listed[0] == kept[2]  # every field comes back as it went in
    assert [a.subject for a in viewer.alerts(since=NOW + timedelta(minutes=1))] == ["eth", "btc low"]
    assert [a.subject for a in viewer.alerts(after=kept[1].id)] == ["eth"]
    assert viewer.last_alerts() == {"rule:btc low": ("clear", NOW + timedelta(minutes=1)),
                                    "rule:eth": ("met", NOW + timedelta(minutes=2))}
    store.set_alert_delivery(kept[0].id, "failed: exit status 3")
    viewer.post_request(f"ack:{kept[2].id}")  # a viewer asks; the collector records it
    viewer.post_request(f"ack-upto:{kept[1].id}")
    assert [kind for _, kind in store.take_requests(0)][-2:] == [f"ack:{kept[2].id}", f"ack-upto:{kept[1].id}"]
    with pytest.raises(TapecheckError, match="unknown request 'ack:all'"):
        viewer.post_request("ack:all")
    assert viewer.unacked_alerts() == 3
    assert store.ack_alerts(kept[2].id) == 1
    assert store.ack_alerts(kept[1].id, through=True) == 2
    assert store.ack_alerts(kept[1].id, through=True) == 0  # once is enough
    again = viewer.alerts()
    assert all(a.acked for a in again) and viewer.unacked_alerts() == 0
    assert again[-1].delivery == "failed: exit status 3"
    viewer.close()


def test_the_status_summary_is_kept_replaced_and_read_by_another_connection(location: str, store: Store) -> None:
    assert store.summary() is None
    store.save_summary({"counts": {"diverged": 2}, "wrong_then": 1, "at": "2026-01-26T06:00:00+00:00"})
    store.save_summary({"counts": {"diverged": 3}, "wrong_then": 1, "at": "2026-01-26T06:01:00+00:00"})
    reader = open_store(location, read_only=True)
    assert reader.summary() == {"counts": {"diverged": 3}, "wrong_then": 1, "at": "2026-01-26T06:01:00+00:00"}
    reader.close()


def test_change_marks_move_only_with_their_tables(location: str, store: Store) -> None:
    """A viewer polls changes() and reads the alert log, health or then-verdicts again only when a mark moved;
    another connection (a viewer's) sees the collector's marks."""
    viewer = open_store(location)
    start = viewer.changes()
    store.append([obs(BTC, 1.0, NOW, "a")])
    moved = viewer.changes()
    assert moved.observations > start.observations
    assert (moved.alerts, moved.health, moved.verdicts) == (start.alerts, start.health, start.verdicts)
    store.save_health(Health("kraken", "crypto", NOW, None, None, 12.0, 0, None, "ok"))
    after_health = viewer.changes()
    assert after_health.health > moved.health and after_health.alerts == moved.alerts
    [alert] = store.add_alerts([Alert(0, NOW, "claim", "c1", "holds", "diverged", "went", None, None, "USD")])
    after_alert = viewer.changes()
    assert after_alert.alerts > after_health.alerts and after_alert.health == after_health.health
    store.ack_alerts(alert.id)
    assert viewer.changes().alerts > after_alert.alerts
    store.save_then_verdicts([("c1", Cached("f", Status.HOLDS, 1.0, 0.0, "ok"))])
    assert viewer.changes().verdicts > after_alert.verdicts
    before_requests = viewer.changes()
    viewer.post_request("refresh")
    store.save_collector(CollectorInfo(1, "desk", NOW, True))
    after_requests = store.changes()
    assert after_requests.requests > before_requests.requests
    assert after_requests.collector > before_requests.collector
    assert after_requests.observations == before_requests.observations
    read_only = open_store(location, read_only=True)  # a viewer's own connection only reads
    read_only.post_request("resume")
    assert read_only.changes().requests > after_requests.requests
    read_only.close()
    unchanged = viewer.changes()
    store.save_summary({"judged": 1})  # the summary is no table a viewer redraws from
    assert viewer.changes() == unchanged
    viewer.close()


def test_a_prune_moves_no_change_mark_a_viewer_redraws_from(location: str, store: Store) -> None:
    old = NOW - timedelta(days=500)
    store.append([obs(BTC, float(i), old + timedelta(minutes=i), "a") for i in range(5)])
    before = store.changes()
    assert store.prune(NOW) == 4  # the day keeps its last
    assert store.changes() == before
    assert store.daily(BTC, NOW) == [(old.date(), 4.0)]


def test_kept_answers_follow_another_processes_commits(location: str, store: Store) -> None:
    """The day answers, the disputed values and a series not yet held are kept, and dropped when another
    connection's commit changes them (seen at the viewer's look after a wake-up)."""
    day = (NOW - timedelta(days=3)).date()
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    store.append([obs(BTC, 1.0, noon, "a")])
    assert [o.value for o in store.at(BTC, day)] == [1.0]
    assert store.latest(IXIC, NOW) == [] and store.disputed_latest(BTC, NOW) == []
    other = open_store(location)
    other.append([obs(BTC, 2.0, noon + timedelta(hours=1), "a"), obs(IXIC, 3.0, NOW, "a")])
    other.add_disputed([(obs(BTC, 9.0, NOW, "b"), "far from the others")])
    other.close()
    store.changed_series(0)
    assert [o.value for o in store.at(BTC, day)] == [2.0]
    assert [o.value for o in store.latest(IXIC, NOW)] == [3.0]
    assert [o.value for o in store.disputed_latest(BTC, NOW)] == [9.0]
    assert store.disputed_latest(BTC, NOW - timedelta(seconds=1)) == []  # as of before it
    store.add_disputed([(obs(BTC, 8.0, NOW + timedelta(seconds=1), "b"), "again")])  # its own write, too
    assert [o.value for o in store.disputed_latest(BTC, NOW + timedelta(seconds=1))] == [8.0]


def test_a_prune_in_small_batches_thins_every_day_to_its_last(store: Store) -> None:
    old = datetime(2024, 3, 1, 10, tzinfo=UTC)
    rows = [obs(BTC, float(i), old + timedelta(days=d, minutes=i), source)
            for d in range(3) for i in range(7) for source in ("a", "b")]
    store.append(rows)
    assert store.prune(NOW, batch=4) == len(rows) - 6  # many batches of 4, each its own transaction
    assert store.count() == 6
    assert store.daily(BTC, NOW) == [((old + timedelta(days=d)).date(), 6.0) for d in range(3)]
