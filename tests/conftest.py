"""Shared helpers: building observations, tapes and evaluation contexts by hand; a private home for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fakes.exchange import FakeExchange
from tests.fakes.mempool import FakeMempool
from tests.fakes.yahoo import FakeYahoo
from tests.pgserver import PgServer, start_server
from tui.core.config import Staleness
from tui.core.model import Observation, SeriesId
from tui.core.narratives.rules.evaluate import Context
from tui.core.tape import MemoryTape

DATA = Path(__file__).parent / "data"
# The user's own directories, as they were before any test ran: no test may write under them.
REAL_HOME = Path(os.environ.get("HOME") or Path.home())
XDG_DIRS = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")
NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)
STALENESS = Staleness(crypto=120, equity=900, index=900, fx=900, commodity=900, network=3600, history_days=4)


def obs(series: str, value: float, ts: datetime | str = NOW, source: str = "test") -> Observation:
    moment = datetime.fromisoformat(ts).replace(tzinfo=UTC) if isinstance(ts, str) else ts
    return Observation(series, value, SeriesId.parse(series).unit, moment, source)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def context(*observations: Observation, now: datetime = NOW) -> Context:
    return Context(MemoryTape(observations), now, STALENESS.max_age_s, STALENESS.history_days)


@pytest.fixture
def snapshot_path() -> Path:
    return DATA / "snapshot.jsonl"


# ---- the store on both backends: SQLite in tmp_path, and a real PostgreSQL server (tests/pgserver.py) -------

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server, reason = start_server()
    if server is None:
        pytest.skip(f"no PostgreSQL server for the tests: {reason}")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def location(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Where a new, empty store lives on the backend under test: a file path or a PostgreSQL URL."""
    if backend == "sqlite":
        return str(tmp_path / "s.sqlite")
    server: PgServer = request.getfixturevalue("pg_server")
    return server.new_database()
@pytest.fixture(autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every XDG dir, and HOME, point into a temporary dir for the test and every process it starts (they
    inherit os.environ), so that the suite never writes the user's log, store, config or cache."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for name in XDG_DIRS:
        monkeypatch.setenv(name, str(home / name.removeprefix("XDG_").removesuffix("_HOME").lower()))
    monkeypatch.delenv("TAPECHECK_CONFIG", raising=False)
    yield home


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeExchange, FakeYahoo, FakeMempool]]:
    """The local fakes of every source kind, for a test module (test_record.py orders them its own way)."""
    with FakeExchange() as exchange, FakeYahoo() as yahoo, FakeMempool() as mempool:
        yield exchange, yahoo, mempool
