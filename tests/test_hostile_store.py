"""The store and the tape under hostile conditions: a foreign or damaged database, another process holding the
write lock, `record --out` aimed at the store or at an existing file, a tape on a full disk."""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import obs
from tests.fakes.exchange import FakeExchange
from tests.fakes.mempool import FakeMempool
from tests.fakes.yahoo import FakeYahoo
from tests.test_record import config, tapecheck
from tui.cli import main
from tui.core.model import Alert, TapecheckError
from tui.core.snapshot import read_observations
from tui.core.store.facts import APPLICATION_ID
from tui.core.store.sqlite import Store

START = datetime(2026, 1, 1, tzinfo=UTC)
SERIES = ("crypto:BTC/USD:last", "crypto:ETH/USD:last", "equity:NVDA:last", "network:bitcoin:hashrate")


def filled(path: Path, per_series: int = 4000) -> Path:
    store = Store(path)
    for series in SERIES:
        value = 1e21 if series.startswith("network") else 100.0
        store.append([obs(series, value + i, START + timedelta(minutes=i), "kraken") for i in range(per_series)])
    store.close()  # the last connection checkpoints the WAL into the file
    return path


def one_line_error(capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


# ---- a foreign database ---------------------------------------------------------------------------------


def foreign(path: Path, application_id: int = 0) -> Path:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE users (name TEXT)")
    db.execute("INSERT INTO users VALUES ('ada')")
    db.execute(f"PRAGMA application_id = {application_id}")
    db.commit()
    db.close()
    return path


def tables(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        db.close()


@pytest.mark.parametrize("application_id", [0, 0x12345678])
def test_a_foreign_sqlite_file_is_refused_and_left_untouched(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             application_id: int) -> None:
    path = foreign(tmp_path / "other.db", application_id)
    before = path.read_bytes()
    with pytest.raises(TapecheckError, match="another program"):
        Store(path)
    assert "another program" in one_line_error(capsys, ["check", "--store", str(path)])
    with pytest.raises(TapecheckError, match="will not write into it"):  # nor does a dashboard read it
        Store(path, read_only=True)
    assert tables(path) == {"users"} and path.read_bytes() == before


def test_a_new_store_is_marked_as_ours_and_an_older_one_adopted(tmp_path: Path) -> None:
    Store(tmp_path / "new.sqlite").close()
    old = filled(tmp_path / "old.sqlite", per_series=5)
    db = sqlite3.connect(old)
    db.execute("PRAGMA application_id = 0")  # a store written before stores carried the id
    db.commit()
    db.close()
    Store(old).close()
    for path in (tmp_path / "new.sqlite", old):
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        db.close()


def test_a_store_under_a_file_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(TapecheckError) as caught:
        Store(blocker / "deeper" / "s.sqlite")
    assert f"{blocker} is a file, not a folder" in str(caught.value) and "File exists" not in str(caught.value)


# ---- a damaged store ------------------------------------------------------------------------------------


def damage(path: Path) -> None:
    """Overwrite one page in the middle of the file with garbage, as a bad sector would."""
    db = sqlite3.connect(path)
    size, count = (db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_size", "page_count"))
    db.close()
    with path.open("r+b") as handle:
        handle.seek(size * (count // 2))
        handle.write(bytes((i * 37) % 256 for i in range(size)))


def test_a_damaged_store_is_refused_with_what_to_do_and_repair_salvages_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = filled(tmp_path / "s.sqlite")
    with closing(Store(path)) as store:  # the alert log sits on its own pages, away from the damage
        logged = store.add_alerts([Alert(0, START, "rule", "btc low", "clear", "met", "99 USD < 100 USD", 99.0, 100.0,
                                         "USD")])
    damage(path)
    with pytest.raises(TapecheckError, match="the store is damaged") as caught:
        Store(path)
    assert "tapecheck store repair" in str(caught.value)
    assert "store repair" in one_line_error(capsys, ["check", "--store", str(path)])
    with pytest.raises(TapecheckError, match="store repair"):  # a dashboard says what to do, too
        Store(path, read_only=True)

    assert main(["store", "repair", "--store", str(path)]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "copied" in err and "kept at" in err
    kept = [p for p in tmp_path.glob("s.sqlite.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
    assert len(kept) == 1 and kept[0].stat().st_size > 0
    repaired = Store(path)
    salvaged = repaired.count()
    assert len(SERIES) * 4000 * 0.5 < salvaged <= len(SERIES) * 4000  # all but what stood on the damaged page
    assert sqlite3.connect(path).execute("PRAGMA quick_check").fetchone()[0] == "ok"
    assert repaired.alerts() == logged  # the alert log is salvaged too
    repaired.append([obs("crypto:BTC/USD:last", 1.0, START + timedelta(days=30), "kraken")])  # writable again
    repaired.close()


def test_repair_refuses_a_foreign_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = foreign(tmp_path / "other.db", 0x12345678)
    assert "not a tapecheck store" in one_line_error(capsys, ["store", "repair", "--store", str(path)])
    assert tables(path) == {"users"}


# ---- another process holds the write lock ---------------------------------------------------------------


def test_a_write_waits_for_a_lock_held_longer_than_sqlites_busy_timeout(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process keeps the write lock well past SQLite's own busy timeout (which used to drop the batch):
    the timeout is made 50 ms here, so that a hold of half a second is ten of them, not seconds of sleep."""
    from tui.core.store import sqlite as store_module

    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 50)
    store = Store(tmp_path / "s.sqlite")
    assert store._db.execute("PRAGMA busy_timeout").fetchone()[0] == 50
    holder = sqlite3.connect(store.path, check_same_thread=False, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    held = threading.Event()

    def release() -> None:
        held.wait()
        time.sleep(0.5)
        holder.execute("COMMIT")

    thread = threading.Thread(target=release)
    thread.start()
    held.set()
    try:
        assert store.append([obs("crypto:BTC/USD:last", 70_000.0 + i, START + timedelta(seconds=i), "kraken")
                             for i in range(6)]) == 6
    finally:
        thread.join()
        holder.close()
    assert store.count() == 6
    store.close()


def test_a_lock_held_past_the_bound_is_a_clear_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    store.lock_wait_s = 0.5
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(TapecheckError, match=r"held the store's write lock for 0\.5 s"):
            store.append([obs("crypto:BTC/USD:last", 1.0, START, "kraken")])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.append([obs("crypto:BTC/USD:last", 1.0, START, "kraken")]) == 1
    store.close()


# ---- record --out ---------------------------------------------------------------------------------------


def test_record_out_refuses_the_stores_own_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = filled(tmp_path / "s.sqlite", per_series=50)
    before = store.read_bytes()
    for out in (store, tmp_path / "." / "s.sqlite", Path(f"{store}-wal")):
        err = one_line_error(capsys, ["record", "--once", "--store", str(store), "--out", str(out), "--force"])
        assert "the store's own file" in err
    assert store.read_bytes() == before and Store(store).count() == 200


def test_record_out_never_overwrites_an_existing_tape_unasked(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    tape = tmp_path / "tape.jsonl"
    tape.write_text("keep me\n")
    err = one_line_error(capsys, ["record", "--once", "--no-store", "--out", str(tape)])
    assert "--append" in err and "--force" in err and tape.read_text() == "keep me\n"
    assert "give one" in one_line_error(capsys, ["record", "--once", "--no-store", "--out", str(tape), "--append",
                                                 "--force"])


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeExchange, FakeMempool, FakeYahoo]]:
    with FakeExchange() as exchange, FakeMempool() as mempool, FakeYahoo() as yahoo:
        yield exchange, mempool, yahoo


def test_record_appends_and_writes_gzip_that_replay_reads(tmp_path: Path,
                                                          fakes: tuple[FakeExchange, FakeMempool, FakeYahoo]) -> None:
    cfg = config(tmp_path, *fakes)
    tape = tmp_path / "tape.jsonl.gz"
    first = tapecheck(tmp_path, "--config", str(cfg), "record", "--once", "--no-store", "--out", str(tape))
    assert first.returncode == 0, first.stderr
    assert "progress: binance answered with" in first.stderr and "progress: yahoo answered" in first.stderr
    with gzip.open(tape, "rt") as handle:  # gzip, not plain text named .gz
        once = len([line for line in handle if line.strip()])
    assert once > 10 and len(read_observations(tape)) == once
    again = tapecheck(tmp_path, "--config", str(cfg), "record", "--once", "--no-store", "--out", str(tape),
                      "--append")
    assert again.returncode == 0, again.stderr
    assert len(read_observations(tape)) == 2 * once  # the first run's lines are all still there
    checked = tapecheck(tmp_path, "check", "--snapshot", str(tape), "--json")
    assert checked.returncode in (0, 1, 4) and json.loads(checked.stdout)["verdicts"]


def test_a_tape_that_cannot_be_written_never_stops_the_store(tmp_path: Path,
                                                             fakes: tuple[FakeExchange, FakeMempool, FakeYahoo]) -> None:
    """/dev/full stands in for a full disk under the tape: the store is filled all the same, and stderr says so."""
    cfg, store = config(tmp_path, *fakes), tmp_path / "s.sqlite"
    done = tapecheck(tmp_path, "--config", str(cfg), "record", "--once", "--store", str(store), "--out", "/dev/full",
                     "--force")
    assert "Traceback" not in done.stderr
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)  # a device given as the tape is written to, never removed
    assert "cannot write the tape: No space left on device; the store goes on" in done.stderr
    assert done.returncode == 3
    assert Store(store).count() > 10
    summary = next(line for line in done.stderr.splitlines() if line.startswith("tapecheck: recorded"))
    assert "the tape missed" in summary


def test_store_check_reads_every_page_of_a_store_too_big_to_check_at_open(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = filled(tmp_path / "s.sqlite")
    assert main(["store", "check", "--store", str(path)]) == 0
    assert "the store is sound" in capsys.readouterr().err
    damage(path)
    monkeypatch.setattr("tui.core.store.file.FULL_CHECK_BYTES", 0)  # as if the store were gigabytes
    Store(path).close()  # its small tables are sound, so it opens quickly
    err = one_line_error(capsys, ["store", "check", "--store", str(path)])
    assert "the store is damaged" in err and "store repair" in err
