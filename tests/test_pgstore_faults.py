"""The PostgreSQL store when the server goes away: restarts, an outage, wrong credentials, an unreachable host,
and passwords that never reach a message or the log."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import NOW, obs
from tests.pgserver import ALICE_PASSWORD, PgServer, free_port
from tui.core.logs import RedactingFilter
from tui.core.model import TapecheckError
from tui.core.store import postgres as pgstore
from tui.core.store.location import open_store
from tui.core.store.postgres import RECONNECT_MAX_S
from tui.core.urls import mask_url

BTC = "crypto:BTC/USD:last"


def batch(n: int, start_s: int, source: str = "w") -> list[object]:
    return [obs(BTC, float(start_s + i), NOW - timedelta(seconds=start_s + i), source) for i in range(n)]


def until_reachable(write: object, deadline_s: float = 30) -> object:
    """Call `write` until the store answers again (it backs off between attempts); its answer."""
    limit = time.monotonic() + deadline_s
    while True:
        try:
            return write()  # type: ignore[operator]
        except TapecheckError:
            if time.monotonic() > limit:
                raise
            time.sleep(0.2)


def test_a_restart_under_a_running_store_loses_nothing(pg_server: PgServer) -> None:
    url = pg_server.new_database()
    store = open_store(url)
    assert store.append(batch(100, 0)) == 100  # type: ignore[arg-type]
    pg_server.restart()
    # The first call after the restart finds the connection broken, opens a new one and goes on.
    assert until_reachable(lambda: store.append(batch(100, 100))) == 100  # type: ignore[arg-type]
    assert store.count() == 200 and store.problem is None
    store.close()


def test_an_outage_says_store_unreachable_and_writes_what_waited(pg_server: PgServer,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # the first backoff as long as the longest, so that "no attempt meanwhile" holds however slow the machine
    monkeypatch.setattr(pgstore, "RECONNECT_FIRST_S", RECONNECT_MAX_S)
    url = pg_server.new_database()
    store = open_store(url)
    viewer = open_store(url)
    store.append(batch(10, 0))  # type: ignore[arg-type]
    assert store.try_lock_collector()
    shown = viewer.latest(BTC, NOW)
    assert [o.value for o in shown] == [0.0]
    pg_server.stop()
    try:
        with pytest.raises(TapecheckError, match="store unreachable") as raised:
            store.append(batch(10, 10))  # type: ignore[arg-type]
        assert "\n" not in str(raised.value)
        assert store.problem is not None and store.problem.startswith("store unreachable")
        attempts: list[int] = []
        opener = store._open  # type: ignore[attr-defined]

        def counted() -> object:
            attempts.append(1)
            return opener()

        store._open = counted  # type: ignore[attr-defined]
        with pytest.raises(TapecheckError, match="store unreachable"):  # fails fast while it backs off
            store.append(batch(10, 20))  # type: ignore[arg-type]
        assert attempts == [], "a call during the backoff tried to connect instead of failing at once"
        store._retry_at = 0.0  # type: ignore[attr-defined]  # the backoff over: the test need not wait it out
        # A dashboard reading the store meanwhile keeps the last values it had (they turn stale with age).
        assert viewer.latest(BTC, NOW) == shown
        assert viewer.daily(BTC, NOW) == [] and viewer.history(BTC, NOW - timedelta(days=1), NOW) == []
        assert viewer.problem is not None and viewer.problem.startswith("store unreachable")
    finally:
        pg_server.start()
    until_reachable(lambda: store.append(batch(10, 30)))  # type: ignore[arg-type]
    assert store.problem is None
    assert until_reachable(viewer.count) == 40  # the batches refused meanwhile were kept and written
    assert viewer.collector_running()  # the collector took its lock again
    viewer.append([obs(BTC, 1.0, NOW + timedelta(seconds=1), "v")])
    assert store.wait_for_change(10)
    store.close()
    viewer.close()


def test_wrong_credentials_are_one_line_without_the_password(pg_server: PgServer) -> None:
    database = pg_server.new_database().rsplit("/", 1)[1]  # owned by alice
    good = f"postgresql://alice:{ALICE_PASSWORD}@127.0.0.1:{pg_server.port}/{database}"
    open_store(good).close()
    wrong = f"postgresql://alice:not-{ALICE_PASSWORD}@127.0.0.1:{pg_server.port}/postgres"
    with pytest.raises(TapecheckError) as raised:
        open_store(wrong)
    message = str(raised.value)
    assert "password authentication failed" in message and "\n" not in message
    assert ALICE_PASSWORD not in message and "***" in message


def test_the_password_may_come_from_pgpassfile_or_the_environment(pg_server: PgServer, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    database = pg_server.new_database().rsplit("/", 1)[1]
    url = f"postgresql://alice@127.0.0.1:{pg_server.port}/{database}"
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{pg_server.port}:*:alice:{ALICE_PASSWORD}\n")
    passfile.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    open_store(url).close()
    monkeypatch.delenv("PGPASSFILE")
    monkeypatch.setenv("PGPASSWORD", ALICE_PASSWORD)
    open_store(url).close()


def test_an_unreachable_host_is_one_line() -> None:
    url = f"postgresql://bob:hunter2@127.0.0.1:{free_port()}/desk"
    with pytest.raises(TapecheckError) as raised:
        open_store(url)
    message = str(raised.value)
    assert message.startswith("postgresql://bob:***@127.0.0.1:") and "cannot open the store" in message
    assert "hunter2" not in message and "\n" not in message


def test_urls_are_masked() -> None:
    assert mask_url("postgresql://bob:hunter2@db.desk:5432/tape") == "postgresql://bob:***@db.desk:5432/tape"
    assert mask_url("postgresql://bob@db.desk/tape?password=hunter2&sslmode=require") == \
        "postgresql://bob@db.desk/tape?password=***&sslmode=require"
    assert mask_url("postgresql://db.desk/tape") == "postgresql://db.desk/tape"


def test_the_log_never_holds_the_password(pg_server: PgServer, tmp_path: Path) -> None:
    """What the store logs while the server is away passes the log's filter with the URL's password masked."""
    database = pg_server.new_database().rsplit("/", 1)[1]
    url = f"postgresql://alice:{ALICE_PASSWORD}@127.0.0.1:{pg_server.port}/{database}"
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tui")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    store = open_store(url)
    pg_server.stop()
    try:
        with pytest.raises(TapecheckError):
            store.count()
        with pytest.raises(TapecheckError):
            time.sleep(0.3)
            store.count()
    finally:
        pg_server.start()
        logger.removeHandler(handler)
        store.close()
    assert records and all(ALICE_PASSWORD not in r for r in records)


async def test_the_dashboard_says_store_unreachable_and_keeps_its_values(pg_server: PgServer) -> None:
    from tests.pilot import shown, until
    from tui.core.config import load_settings
    from tui.core.narratives.claims import load_narratives
    from tui.ui.app import live_app
    from widgets.header_line import HeaderStatus

    url = pg_server.new_database()
    store = open_store(url)
    now = datetime.now(UTC)
    store.append([obs(BTC, 71_000.0, now - timedelta(seconds=5), "kraken")])
    app = live_app(load_settings(), load_narratives(), open_store(url, read_only=True))
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot, app)
        header = app.screen.query_one(HeaderStatus)
        pg_server.stop()
        try:
            await until(pilot, lambda: "store unreachable" in header.mode, "the header's word")
            state = app.state
            assert state is not None
            row = next(r for v in state.views for r in v.series if r.series == BTC)
            assert row.value == 71_000.0  # the last value stays on screen
        finally:
            pg_server.start()
        until_reachable(store.count)
        await until(pilot, lambda: "store unreachable" not in header.mode, "the header to recover")
    store.close()
