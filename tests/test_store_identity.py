"""The store knows itself: repair beside a collector, the file removed or replaced under a collector, an output
that is the store through a hard link, every table (disputed too) through copy and repair, and a copy killed
half way then resumed. Nothing is lost, and each case is said once."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import threading
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import obs
from tests.fakes.exchange import FakeExchange
from tests.fakes.mempool import FakeMempool
from tests.fakes.yahoo import FakeYahoo
from tests.test_hostile_store import damage, one_line_error
from tui.cli import main
from tui.collect.collector import Collector, StoreGone
from tui.collect.sources.registry import build_sources
from tui.collect.sources.wanted import wanted
from tui.core.config import load_settings
from tui.core.model import Alert, Health, Observation, TapecheckError
from tui.core.narratives.claims import load_narratives
from tui.core.store import copy as storecopy
from tui.core.store.copy import copy_store
from tui.core.store.location import open_store
from tui.core.store.protocol import Store
from tui.core.store.sqlite import COPIED_TABLES, SqliteStore

START = datetime(2026, 1, 20, tzinfo=UTC)
SERIES = ("crypto:BTC/USD:last", "equity:NVDA:last")
PATIENCE = 6000


def fill(store: Store, per_series: int = 300) -> None:
    """Observations, and a row in every other table: health, verdicts, coverage, alerts, disputed values."""
    for series in SERIES:
        store.append([obs(series, 100.0 + i, START + timedelta(minutes=i), "kraken") for i in range(per_series)])
    store.save_health(Health("kraken", "crypto", START, "timed out", START, 12.5, 2, START, "failing",
                                   ("BTC/USD: refused",)))
    store.save_health(Health("yahoo", "equities", START, None, None, 80.0, 0, None, "ok"))
    store.save_history_coverage("yahoo history", START.date(), START.date() + timedelta(days=3))
    store.add_alerts([Alert(0, START, "rule", "btc low", "clear", "met", "99 USD < 100 USD", 99.0, 100.0, "USD")])
    store.add_disputed([(obs(SERIES[0], 9e6 + i, START + timedelta(minutes=i), "bitstamp"), "100x the others")
                        for i in range(25)])


def counts(store: Store) -> dict[str, int]:
    return {"observations": store.count(), "disputed": store.disputed_count(), "health": len(store.health()),
            "alerts": len(store.alerts()), **{t: len(store.export_table(t)) for t in COPIED_TABLES}}


# ---- repair ------------------------------------------------------------------------------------------------


def test_repair_refuses_while_a_collector_holds_the_store_and_says_when_it_is_sound(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.sqlite"
    collector = SqliteStore(path)
    fill(collector)
    assert collector.try_lock_collector()
    err = one_line_error(capsys, ["store", "repair", "--store", str(path)])
    assert "a collector is writing this store" in err
    assert not list(tmp_path.glob("*.damaged-*"))  # nothing moved aside: the collector's writes stay in its store
    collector.close()
    assert main(["store", "repair", "--store", str(path)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the store is sound" in err and not list(tmp_path.glob("*.damaged-*"))


def test_the_lock_is_on_the_store_itself_deleting_files_beside_it_frees_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    first = SqliteStore(path)
    assert first.try_lock_collector()
    for side in tmp_path.glob("s.sqlite.*lock"):
        side.unlink()
    second = SqliteStore(path)
    assert not second.try_lock_collector() and second.collector_running()
    first.close()
    assert second.try_lock_collector()
    second.close()


def test_repair_keeps_every_readable_row_of_every_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.sqlite"
    with closing(SqliteStore(path)) as store:
        fill(store, per_series=4000)
        before = counts(store)
    damage(path)
    assert main(["store", "repair", "--store", str(path)]) == 0
    err = capsys.readouterr().err
    for table in ("health", "then_verdicts", "history_coverage", "alerts", "disputed"):
        assert sum(line.startswith(f"tapecheck: {table}: kept") for line in err.splitlines()) == 1, err
    with closing(SqliteStore(path)) as repaired:
        after = counts(repaired)
    assert after["health"] == before["health"] == 2  # all 10 columns of health: nothing swallowed
    assert after["disputed"] == before["disputed"] == 25 and after["alerts"] == 1
    assert after["history_coverage"] == 1
    assert 0 < after["observations"] <= before["observations"]


# ---- the file removed or replaced under a collector ----------------------------------------------------------


@pytest.mark.parametrize("how", ["removed", "replaced"])
def test_a_store_removed_or_replaced_is_noticed_and_never_written_as_a_ghost(tmp_path: Path, how: str) -> None:
    path = tmp_path / "s.sqlite"
    store = SqliteStore(path)
    assert store.try_lock_collector()
    store.append([obs(SERIES[0], 1.0, START, "kraken")])
    viewer = SqliteStore(path, read_only=True)
    if how == "removed":
        path.unlink()
    else:
        other = tmp_path / "other.sqlite"
        SqliteStore(other).close()
        other.replace(path)
    for seen in (store, viewer):
        assert seen.ghost() is not None and how in str(seen.ghost())
        assert seen.problem == seen.ghost()
    with pytest.raises(TapecheckError, match=f"{how} (by another file )?while open; nothing more is written"):
        store.append([obs(SERIES[0], 2.0, START + timedelta(minutes=1), "kraken")])
    if how == "replaced":  # the file there now is another store: free for a collector of its own
        fresh = SqliteStore(path)
        assert not fresh.collector_running() and fresh.try_lock_collector()
        fresh.close()
    store.close()
    viewer.close()


async def test_a_running_collector_stops_when_its_store_file_is_removed(
        tmp_path: Path, fakes: tuple[FakeExchange, FakeYahoo, FakeMempool]) -> None:
    from tests.test_collector import config

    settings = load_settings(config(tmp_path, fakes))
    narratives = load_narratives()
    path = tmp_path / "s.sqlite"
    store = SqliteStore(path)
    lines: list[str] = []
    collector = Collector(settings, narratives, store, build_sources(settings, wanted(narratives)), lines.append)
    running = asyncio.create_task(collector.run(asyncio.Event()))
    for _ in range(PATIENCE):
        if store.count():
            break
        await asyncio.sleep(0.05)
    path.unlink()
    with pytest.raises(StoreGone, match="removed while open: the collector stops"):
        await running
    store.close()
    for _ in range(PATIENCE):
        if not [t for t in threading.enumerate() if t.name.startswith("yahoo")]:
            break
        await asyncio.sleep(0.05)


# ---- outputs that are the store ---------------------------------------------------------------------------


def test_record_and_draft_out_refuse_the_store_through_a_hard_link(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.sqlite"
    with closing(SqliteStore(path)) as store:
        fill(store)
    before = path.read_bytes()
    link = tmp_path / "tape.jsonl"
    os.link(path, link)
    err = one_line_error(capsys, ["record", "--once", "--store", str(path), "--out", str(link), "--force"])
    assert "the store's own file" in err
    article = tmp_path / "a.txt"
    article.write_text("Bitcoin rose to $100,000 on Dec 1, 2025.\n")
    err = one_line_error(capsys, ["--store", str(path), "draft", str(article), "--out", str(path), "--force"])
    assert "store" in err
    other = tmp_path / "elsewhere.sqlite"  # any SQLite database, not only the configured store
    shutil.copy(path, other)
    assert "SQLite database" in one_line_error(capsys, ["draft", str(article), "--out", str(other), "--force"])
    assert path.read_bytes() == before


def test_store_check_refuses_what_is_not_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    assert "not a tapecheck store" in one_line_error(capsys, ["store", "check", "--store", str(empty)])


def test_urls_are_masked_in_every_store_message(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["store", "check", "--store", "postgresql://u:hunter2@127.0.0.1:1/db"],
                 ["store", "repair", "--store", "postgresql://u:hunter2@127.0.0.1:1/db"],
                 ["store", "copy", "--from", "postgresql://u:hunter2@127.0.0.1:1/db", "--to", "x.sqlite"]):
        main(args)
        err = capsys.readouterr().err
        assert "hunter2" not in err and err.strip()


# ---- copy: every table, and a copy killed half way ------------------------------------------------------


def test_copy_carries_every_table_disputed_included(tmp_path: Path, location: str) -> None:
    source = SqliteStore(tmp_path / "from.sqlite")
    fill(source)
    destination = open_store(location, copying=True)
    sums = copy_store(source, destination)
    assert {s.table for s in sums} >= {"observations", "disputed", "health", "alerts", "then_verdicts",
                                       "history_coverage"}
    assert all(s.same for s in sums)
    assert [s.rows_to for s in sums if s.table == "disputed"] == [25]
    assert destination.disputed_count() == 25 and destination.copy_mark() is None
    source.close()
    destination.close()


def test_a_copy_killed_half_way_is_refused_everywhere_until_resumed(
        tmp_path: Path, location: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    source_path = tmp_path / "from.sqlite"
    source = SqliteStore(source_path)
    fill(source)
    monkeypatch.setattr(storecopy, "BATCH", 100)

    def killed(copied: int) -> None:
        if copied >= 200:
            raise KeyboardInterrupt  # as a kill -INT half way would

    destination = open_store(location, copying=True)
    with pytest.raises(KeyboardInterrupt):
        copy_store(source, destination, killed)
    destination.close()
    with pytest.raises(TapecheckError, match="interrupted `store copy`") as refused:
        open_store(location)
    assert "--resume" in str(refused.value)
    with pytest.raises(TapecheckError, match="interrupted"):
        open_store(location, read_only=True)  # a dashboard, status
    assert "interrupted" in one_line_error(capsys, ["status", "--store", location])
    if not location.startswith("postgresql"):
        assert "interrupted" in one_line_error(capsys, ["store", "check", "--store", location])
    assert "--resume" in one_line_error(capsys, ["store", "copy", "--from", str(source_path), "--to", location])

    assert main(["store", "copy", "--from", str(source_path), "--to", location, "--resume"]) == 0
    out = capsys.readouterr().out
    assert "copied whole" in out and "DIFFERENT" not in out
    with closing(open_store(location)) as whole:
        assert counts(whole) == counts(source)
    source.close()


def test_observations_survive_the_round_trip_unchanged(tmp_path: Path) -> None:
    """(A check of the helpers above: the filled store holds what they say.)"""
    with closing(SqliteStore(tmp_path / "s.sqlite")) as store:
        fill(store, per_series=10)
        got = counts(store)
    assert got["observations"] == 20 and got["disputed"] == 25 and got["health"] == 2
    assert isinstance(Observation, type) and sqlite3.sqlite_version


def test_a_store_on_a_read_only_filesystem_is_still_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """status, check, alerts and store check read a store whose filesystem is mounted read-only (needs a
    tmpfs mount: skipped where the tests may not mount)."""
    import subprocess

    mount = tmp_path / "ro"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "none", str(mount)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        path = mount / "s.sqlite"
        with closing(SqliteStore(path)) as store:
            fill(store, per_series=10)
        assert subprocess.run(["mount", "-o", "remount,ro", str(mount)], capture_output=True).returncode == 0
        for args in (["status"], ["check"], ["alerts"], ["store", "check"]):
            code = main([*args, "--store", str(path)])
            err = capsys.readouterr().err
            assert code in (0, 1, 4) and "cannot open" not in err and "Traceback" not in err, (args, err)
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)


def test_the_verdicts_of_removed_claims_are_forgotten(location: str) -> None:
    from tui.core.model import Cached, Status

    with closing(open_store(location)) as store:
        store.save_then_verdicts([(f"claim-{i}", Cached("f", Status.HOLDS, 1.0, 0.0, "held")) for i in range(5)])
        assert store.forget_then_verdicts({"claim-0", "claim-3"}) == 3
        assert set(store.then_verdicts()) == {"claim-0", "claim-3"}
        assert store.forget_then_verdicts({"claim-0", "claim-3"}) == 0
