"""The commands on a PostgreSQL store: `record` and `check` with --store URL or [store] url, `store copy`
between backends with counts and checksums said, and bad URLs as one line and exit 2."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import DATA
from tests.fakes.exchange import FakeExchange
from tests.fakes.mempool import FakeMempool
from tests.fakes.yahoo import FakeYahoo
from tests.pgserver import ALICE_PASSWORD, PgServer, free_port
from tests.test_record import config, tapecheck
from tui.cli import main
from tui.core.model import Alert, Health
from tui.core.snapshot import read_observations
from tui.core.store.location import open_store
from tui.core.store.sqlite import Store, this_collector


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeExchange, FakeMempool, FakeYahoo]]:
    with FakeExchange() as exchange, FakeMempool() as mempool, FakeYahoo() as yahoo:
        yield exchange, mempool, yahoo


def test_record_then_check_on_postgresql(tmp_path: Path, pg_server: PgServer,
                                         fakes: tuple[FakeExchange, FakeMempool, FakeYahoo]) -> None:
    url = pg_server.new_database()
    cfg = config(tmp_path, *fakes)
    done = tapecheck(tmp_path, "--config", str(cfg), "record", "--once", "--store", url)
    assert done.returncode in (0, 3) and "Traceback" not in done.stderr, done.stderr  # 3: a slow fake timed out
    store = open_store(url)
    assert store.count() > 0 and {h.source for h in store.health()} >= {"binance", "kraken", "mempool"}
    store.close()
    # [store] url in the config file reaches `check`, as --store URL would.
    with cfg.open("a") as file:
        file.write(f'\n[store]\nurl = "{url}"\n')
    checked = tapecheck(tmp_path, "--config", str(cfg), "check", "--json")
    assert checked.returncode in (0, 1), checked.stderr
    statuses = {v["id"]: v["status"] for v in json.loads(checked.stdout)["verdicts"]}
    assert statuses["wu-hashrate-above-1zh"] == "holds"


def filled_sqlite(path: Path) -> Store:
    store = Store(path)
    store.append(read_observations(DATA / "snapshot.jsonl"))
    store.save_health(Health("kraken", "crypto", None, "timed out after 10 s", None, 12.5, 2, None))
    store.save_history_coverage("yahoo history", *sorted({o.ts.date() for o in read_observations(
        DATA / "snapshot.jsonl")})[::1][:1] * 2)
    [first, _] = store.add_alerts([
        Alert(0, datetime(2026, 1, 26, 5, 0, tzinfo=UTC), "rule", "btc low", "clear", "met", "71,200 USD < 74,600 USD",
              71_200.0, 74_600.0, "USD"),
        Alert(0, datetime(2026, 1, 26, 5, 1, tzinfo=UTC), "claim", "wu-hashrate-above-1zh", "holds", "no_data",
              "no data: nothing stored", None, 1e21, "H/s")])
    store.set_alert_delivery(first.id, "failed: exit status 3")
    store.ack_alerts(first.id)
    return store


def test_store_copy_moves_a_store_there_and_back_with_nothing_lost(tmp_path: Path, pg_server: PgServer,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    source = filled_sqlite(tmp_path / "desk.sqlite")
    expected = source.count()
    source.close()
    url = pg_server.new_database()
    code = main(["store", "copy", "--from", str(tmp_path / "desk.sqlite"), "--to", url])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "copied whole: every count and checksum agrees" in out
    assert f"observations      {expected:>12,} → {expected:>12,} rows" in out
    code = main(["store", "copy", "--from", url, "--to", str(tmp_path / "back.sqlite")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "copied whole" in out
    back = Store(tmp_path / "back.sqlite")
    original = Store(tmp_path / "desk.sqlite")
    assert list(back.export_observations()) == list(original.export_observations())
    assert back.health() == original.health()
    assert back.history_coverage("yahoo history") == original.history_coverage("yahoo history")
    assert back.alerts() == original.alerts() and len(back.alerts()) == 2  # the alert log, acks and deliveries
    there = open_store(url)
    [added] = there.add_alerts([original.alerts()[0]])  # a copied log goes on from its last id
    assert added.id == original.alerts()[0].id + 1
    there.close()
    # A store that already holds observations is not copied into.
    code = main(["store", "copy", "--from", str(tmp_path / "desk.sqlite"), "--to", url])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and f"already holds {expected:,} observations" in err


def test_a_copy_that_differs_is_said(tmp_path: Path, pg_server: PgServer) -> None:
    from tui.core.store.copy import report, table_sums

    source = filled_sqlite(tmp_path / "a.sqlite")
    other = open_store(pg_server.new_database())
    other.append(list(read_observations(DATA / "snapshot.jsonl"))[1:])  # one observation missing
    sums = table_sums(source, other)
    observations = sums[0]
    assert not observations.same and observations.rows_to == observations.rows_from - 1
    assert "the copy DIFFERS from its source" in report(sums, source, other)[-1]


@pytest.mark.parametrize("command", [["check"], ["record", "--once"], []])
def test_a_bad_store_url_is_one_line_and_exit_2(command: list[str], pg_server: PgServer,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    wrong = f"postgresql://alice:not-{ALICE_PASSWORD}@127.0.0.1:{pg_server.port}/postgres"
    nobody = f"postgresql://alice:{ALICE_PASSWORD}@127.0.0.1:{free_port()}/postgres"
    for url, reason in ((wrong, "password authentication failed"), (nobody, "Connection refused")):
        code = main(["--store", url, *command] if not command else [*command, "--store", url])
        _, err = capsys.readouterr()
        assert code == 2
        assert err.count("\n") == 1 and reason in err and "Traceback" not in err
        assert ALICE_PASSWORD not in err and "alice:***@" in err


def test_a_second_collector_is_refused(pg_server: PgServer, capsys: pytest.CaptureFixture[str]) -> None:
    url = pg_server.new_database()
    running = open_store(url)
    assert running.try_lock_collector()  # a collector on another host
    code = main(["record", "--once", "--store", url])
    _, err = capsys.readouterr()
    assert code == 2 and err.count("\n") == 1 and "another collector is starting on this store" in err
    running.save_collector(this_collector())  # one that has said who it is is named
    code = main(["record", "--once", "--store", url])
    _, err = capsys.readouterr()
    assert code == 2 and f"a collector already runs on this store: pid {os.getpid()} on " in err
    running.close()


def test_a_store_url_in_the_config_that_is_not_postgresql_is_refused(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[store]\nurl = "mysql://desk@db/tape"\n')
    code = main(["--config", str(cfg), "check"])
    _, err = capsys.readouterr()
    assert code == 2 and str(cfg) in err and "url" in err and "postgresql://" in err
