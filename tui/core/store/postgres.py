"""The observation store on PostgreSQL, through psycopg 3: one shared history for a desk on several hosts.

`PgStore` answers the `Store` protocol (tui.core.store.protocol) as the SQLite store does, so the collector,
the dashboard and `check` need not know which backend they hold. What both answer alike (the Tape questions,
their kept answers, the small tables) is tui.core.store.base.SqlStore's; this module holds connections,
ingest, pruning, waking viewers and the locks, and the queries PostgreSQL writes its own way (pgsql.py).

- Ingest: each batch is COPied (binary) into a temporary table and inserted from it in one transaction,
  a repeated (series, source, ts) ignored; the transaction bumps `commit_seq`, marks the series it touched
  and NOTIFYs the channel `tapecheck`.
- Viewers wake on that notification (`wait_for_change`), on a second connection that only LISTENs; the
  table stays the truth: `commit_seq` is read again at least every RECHECK_S, so a lost notification costs a
  few seconds, never a value.
- One collector per store: a session advisory lock, exclusive; viewers hold the same key space's viewer lock
  shared. Both go with the connection, so a killed process lets go of them at once.
- Faults: a connection that breaks (the server restarted) is opened again, with a backoff between attempts
  (RECONNECT_FIRST_S doubling up to RECONNECT_MAX_S); meanwhile every call fails fast with a TapecheckError
  and `problem` says "store unreachable". Writes are idempotent, so the one retry after a reconnect cannot
  double anything; a batch that could not be written is kept and written before the next one.
- Passwords (in the URL, PGPASSFILE or PGPASSWORD) reach only libpq: every message quotes the URL masked.

psycopg is imported here only, and only when a PostgreSQL URL is opened.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tui.core.logs import redact
from tui.core.model import Observation, TapecheckError
from tui.core.store.base import SqlStore, Tx, incomplete_message
from tui.core.store.migrations import pending, statements
from tui.core.store.pgsql import DAY_CLOSES, INSERT_INCOMING, LAST_PER_SOURCE, MIGRATIONS, PRUNE
from tui.core.store.rows import DAY_MS, Row, to_ms
from tui.core.urls import mask_url, url_secrets
from tui.core.validate import SYNTHETIC_SOURCES

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)
T = TypeVar("T")

CHANNEL = "tapecheck"
RECHECK_S = 2.0           # a viewer reads commit_seq at least this often, notification or not
RECONNECT_FIRST_S = 0.25  # the wait before a second attempt to reconnect; doubles up to RECONNECT_MAX_S
RECONNECT_MAX_S = 5.0
PENDING_MAX = 2_000_000   # observations kept in memory while the server is away
_LOCKS = 0x74617065       # "tape": the first key of tapecheck's advisory locks
_COLLECTOR, _VIEWER, _MIGRATING = 1, 2, 3



def _pg(sql: str) -> str:
    """Shared SQL (`?` marks) in psycopg's placeholder style."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgTx:
    """A write transaction on a PostgreSQL connection (see base.Tx)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def all(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(_pg(sql).encode(), params))

    def run(self, sql: str, params: Sequence[object] = ()) -> int:
        return max(0, self.conn.execute(_pg(sql).encode(), params).rowcount)

    def many(self, sql: str, rows: Sequence[Sequence[object]]) -> int:
        with self.conn.cursor() as cursor:
            cursor.executemany(_pg(sql).encode(), rows)
            return max(0, cursor.rowcount)


class PgStore(SqlStore):
    """One PostgreSQL database. Safe to share between threads (one lock per connection); any number of
    processes on any number of hosts may open it."""

    def __init__(self, url: str, retention_days: int = 400, connect_timeout_s: float = 5.0, *,
                 read_only: bool = False, copying: bool = False) -> None:
        # read_only: a viewer's; the server's own rights decide, nothing here writes observations
        self._init_shared(mask_url(url), retention_days, read_only)
        self.url = url
        self.path = Path(self.location)
        self.problem = None
        self._secrets = url_secrets(url)
        self._timeout = connect_timeout_s
        self._db_lock = threading.RLock()  # re-entered: a kept answer is checked and filled under one hold
        self._listen_lock = threading.Lock()
        self._held: set[str] = set()  # "collector", "viewer": taken again after a reconnect
        self._pending: list[Observation] = []
        self._backoff = 0.0
        self._retry_at = 0.0
        self._conn: psycopg.Connection[Any] | None = None
        self._listener: psycopg.Connection[Any] | None = None
        self._listened = False  # whether a listening connection was ever made
        self._staging: psycopg.Connection[Any] | None = None  # the connection holding the temporary table
        self._closed = False
        with self._db_lock:
            self._conn = self._open()  # a wrong password or an unreachable host fails here, in one line
            self._migrate_pg(self._conn)
        self._seen_seq = self.commit_seq()
        mark = self.copy_mark()
        if mark is not None and not copying:
            self.close()
            raise TapecheckError(incomplete_message(self.location, mark))

    def ghost(self) -> str | None:
        return None  # a server's database cannot be unlinked from under us

    # ---- connections ------------------------------------------------------------------------------------

    def _say(self, error: BaseException) -> str:
        """An error in one line, the password masked (libpq may quote the connection string)."""
        text = " ".join(str(error).split()) or type(error).__name__
        return redact(text.replace(self.url, self.location), self._secrets)

    def _options(self) -> dict[str, Any]:
        # TCP keepalives: a network that drops without a word is noticed in about 20 s, not never
        return {"autocommit": True, "connect_timeout": max(1, round(self._timeout)), "application_name": "tapecheck",
                "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 2}

    def _open(self) -> psycopg.Connection[Any]:
        import psycopg

        try:
            conn = psycopg.connect(self.url, **self._options())
        except psycopg.Error as error:
            raise TapecheckError(f"{self.location}: cannot open the store: {self._say(error)}") from None
        except ValueError as error:  # a malformed URL
            raise TapecheckError(f"{self.location}: not a PostgreSQL URL: {self._say(error)}") from None
        return conn

    def _connection(self) -> psycopg.Connection[Any]:
        """The open connection, or a new one (lock held); fails fast while the backoff runs."""
        conn = self._conn
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        if self._closed:
            raise TapecheckError(f"{self.location}: the store is closed")
        if time.monotonic() < self._retry_at and self.problem is not None:
            raise TapecheckError(f"{self.location}: {self.problem}")
        try:
            conn = self._open()
            self._after_reconnect(conn)
        except TapecheckError as error:
            self._backoff = min(RECONNECT_MAX_S, max(RECONNECT_FIRST_S, self._backoff * 2))
            self._retry_at = time.monotonic() + self._backoff
            self.problem = "store unreachable: " + str(error).removeprefix(f"{self.location}: cannot open the store: ")
            logger.warning("%s: %s", self.location, self.problem)
            raise TapecheckError(f"{self.location}: {self.problem}") from None
        self._conn = conn
        if self.problem is not None:
            logger.info("%s: store reachable again", self.location)
        self._backoff, self._retry_at, self.problem = 0.0, 0.0, None
        return conn

    def _after_reconnect(self, conn: psycopg.Connection[Any]) -> None:
        """Forget what another connection's life may have changed, and take our locks again."""
        self._series_ids.clear()
        self._cache.clear()
        self._kept_seq = -1
        if "viewer" in self._held:
            conn.execute("SELECT pg_advisory_lock_shared(%s, %s)", (_LOCKS, _VIEWER))
        if "collector" in self._held:
            row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (_LOCKS, _COLLECTOR)).fetchone()
            if not (row and row[0]):
                self._held.discard("collector")
                logger.error("%s: another collector took the store while it was unreachable", self.location)

    def _run(self, work: Callable[[psycopg.Connection[Any]], T], writing: bool = False) -> T:
        """Run `work` on the connection; a broken connection is opened again and `work` run once more."""
        import psycopg

        with self._db_lock:
            for attempt in (1, 2):
                conn = self._connection()
                try:
                    return work(conn)
                except psycopg.Error as error:
                    self._series_ids.clear()  # ids made inside a rolled-back transaction are gone
                    if conn.broken or conn.closed:
                        with suppress(Exception):
                            conn.close()
                        self._conn = None
                        self.problem = f"store unreachable: {self._say(error)}"
                        if attempt == 1:
                            continue
                        raise TapecheckError(f"{self.location}: {self.problem}") from None
                    verb = "cannot write" if writing else "cannot read"
                    raise TapecheckError(f"{self.location}: {verb}: {self._say(error)}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self._closed = True
        with self._db_lock:
            if self._conn is not None:
                with suppress(Exception):
                    if self._held:  # let go now: the server ends a closed session a moment later
                        self._conn.execute("SELECT pg_advisory_unlock_all()")
                with suppress(Exception):
                    self._conn.close()  # our advisory locks go with the session anyway
            self._conn = None
        with self._listen_lock:
            if self._listener is not None:
                with suppress(Exception):
                    self._listener.close()
            self._listener = None

    # ---- schema -----------------------------------------------------------------------------------------

    def _migrate_pg(self, conn: psycopg.Connection[Any]) -> None:
        import psycopg

        def version() -> str | None:
            if conn.execute("SELECT to_regclass('meta')").fetchone() == (None,):
                return None
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            return None if row is None else str(row[0])

        try:
            if not pending(version(), MIGRATIONS, self.location):
                return
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCKS, _MIGRATING))
                # An advisory lock makes this session read no catalog change: another process's migration,
                # committed while we waited, would stay unseen and run twice. Touching a table (which takes a
                # relation lock) does make it read them, so the version below is the current one.
                conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
                for number, script in pending(version(), MIGRATIONS, self.location):
                    for statement in statements(script):
                        conn.execute(statement.encode())
                    conn.execute("INSERT INTO meta VALUES ('schema_version', %s) ON CONFLICT (key) "
                                 "DO UPDATE SET value = EXCLUDED.value", (str(number),))
        except psycopg.Error as error:
            raise TapecheckError(f"{self.location}: cannot open the store: {self._say(error)}") from None

    # ---- writing ----------------------------------------------------------------------------------------

    def append(self, observations: Iterable[Observation]) -> int:
        """Write a batch in one transaction (COPY, then one INSERT); a repeated (series, ts, source) is ignored.
        Returns rows added. A batch refused because the server is away is kept, and written with the next."""
        batch = list(observations)
        synthetic = next((o for o in batch if o.source in SYNTHETIC_SOURCES), None)
        if synthetic is not None:
            raise TapecheckError(f"{self.location}: refusing synthetic {synthetic.source!r} observations "
                                 f"({synthetic.series}): demo data never enters the store")
        batch = [*self._pending, *batch]
        if not batch:
            return 0
        try:
            added = self._run(lambda conn: self._insert(conn, batch), writing=True)
        except TapecheckError:
            if self.problem is not None:  # unreachable: keep what came, within reason
                self._pending = batch[-PENDING_MAX:]
            raise
        self._pending = []
        return added

    def _insert(self, conn: psycopg.Connection[Any], batch: list[Observation]) -> int:
        if self._staging is not conn:  # a temporary table lives as long as its connection
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS incoming (series_id INTEGER, source TEXT, ts BIGINT, "
                         "value DOUBLE PRECISION) ON COMMIT DELETE ROWS")
            self._staging = conn
        with conn.transaction():
            ids = self._ensure_series(conn, batch)
            with conn.cursor() as cur:
                with cur.copy("COPY incoming FROM STDIN (FORMAT BINARY)") as copy:
                    copy.set_types(["int4", "text", "int8", "float8"])
                    for o in batch:
                        copy.write_row((ids[o.series], o.source, to_ms(o.ts), o.value))
                row = cur.execute(INSERT_INCOMING, {"channel": CHANNEL}).fetchone()
        self._cache.forget_appended(batch)
        return int(row[0]) if row else 0

    def _ensure_series(self, conn: psycopg.Connection[Any], batch: list[Observation]) -> dict[str, int]:
        wanted = {o.series: o.unit for o in batch}
        missing = [name for name in wanted if name not in self._series_ids]
        if missing:
            conn.execute("INSERT INTO series (name, unit) SELECT * FROM unnest(%s::text[], %s::text[]) "
                         "ON CONFLICT (name) DO NOTHING", (missing, [wanted[n] for n in missing]))
            for name, series_id in conn.execute("SELECT name, id FROM series WHERE name = ANY(%s)", (missing,)):
                self._series_ids[name] = int(series_id)
        return self._series_ids

    def _notify(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))

    def _prune_batch(self, series_id: int, start: int, cutoff: int, batch: int) -> list[int]:
        params = {"id": series_id, "start": start, "cutoff": cutoff, "day": DAY_MS, "n": batch}
        return self._run(lambda conn: [int(row[0]) for row in conn.execute(PRUNE, params)], writing=True)

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return self._run(lambda conn: list(conn.execute(_pg(sql).encode(), params)))

    def _write(self, work: Callable[[Tx], T], *, notify: bool = True) -> T:
        def run(conn: psycopg.Connection[Any]) -> T:
            with conn.transaction():
                result = work(PgTx(conn))
                if notify:
                    self._notify(conn)
            return result

        return self._run(run, writing=True)

    def _cache_lock(self) -> AbstractContextManager[object]:
        return self._db_lock  # no other thread's commit check can slip between reading and keeping

    def _last_per_source(self, series_id: int, until_ms: int, since_ms: int) -> list[Row]:
        return self._run(lambda conn: [(str(s), int(t), float(v)) for s, t, v in conn.execute(
            LAST_PER_SOURCE, {"id": series_id, "until": until_ms, "since": since_ms})])

    def _day_close_rows(self, series_id: int, end_ms: int) -> list[tuple[int, float]]:
        return self._run(lambda conn: [(int(d), float(v)) for d, v in conn.execute(
            DAY_CLOSES, {"id": series_id, "end": end_ms, "day": DAY_MS})])

    def _history_rows(self, series_id: int, start: int, end: int, points: int | None) -> list[Row]:
        if points is None:
            sql = ("SELECT source, ts, value FROM observations WHERE series_id = %s AND ts >= %s AND ts <= %s "
                   "ORDER BY ts, source")
            params: tuple[object, ...] = (series_id, start, end)
        else:
            span = max(1, (end - start) // max(1, points) + 1)
            sql = ("SELECT source, ts, value FROM (SELECT DISTINCT ON (source, span) source, ts, value FROM "
                   "(SELECT source, ts, value, (ts - %s) / %s AS span FROM observations WHERE series_id = %s "
                   "AND ts >= %s AND ts <= %s) rows ORDER BY source, span, ts DESC) spans ORDER BY ts, source")
            params = (start, span, series_id, start, end)
        return self._run(lambda conn: [(str(s), int(t), float(v)) for s, t, v in conn.execute(sql, params)])

    def _after_import(self, table: str) -> None:
        if table == "alerts":  # ids came with the rows: the next alert's id follows the last copied
            self._run(lambda conn: conn.execute(
                "SELECT setval(pg_get_serial_sequence('alerts', 'id'), (SELECT MAX(id) FROM alerts))"), writing=True)

    # ---- a collector and its viewers --------------------------------------------------------------------

    def wait_for_change(self, timeout_s: float) -> bool:
        """Wait for another process's commit: woken by NOTIFY, with commit_seq read again at least every
        RECHECK_S (the table is the truth). True when something changed, False at the timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            with suppress(TapecheckError):
                seq = self.commit_seq()
                if seq != self._seen_seq:
                    self._seen_seq = seq
                    return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self._listen(min(left, RECHECK_S)):
                return True

    def _listen(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for a notification on the listening connection; True when one came."""
        import psycopg

        began = time.monotonic()
        with self._listen_lock:
            try:
                if self._listener is None or self._listener.closed or self._listener.broken:
                    self._listener = None
                    self._listener = psycopg.connect(self.url, **self._options())
                    self._listener.execute(f"LISTEN {CHANNEL}")
                    if self._listened:  # listening again: what was said meanwhile is lost, so look now
                        return True
                    self._listened = True
                for _ in self._listener.notifies(timeout=timeout_s, stop_after=1):
                    return True
                return False
            except psycopg.Error:  # the server is away: wait out the time; the table check catches up
                if self._listener is not None:
                    with suppress(Exception):
                        self._listener.close()
                self._listener = None
        time.sleep(max(0.0, min(timeout_s, RECONNECT_MAX_S) - (time.monotonic() - began)))
        return False

    def _lock_held(self, key: int, mode: str) -> bool:
        """Whether any session holds tapecheck's advisory lock `key` in `mode`, in this database."""
        return bool(self._run(lambda conn: _one(conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND mode = %s "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 2)", (mode, _LOCKS, key)))))

    def try_lock_collector(self) -> bool:
        """Become the store's one collector, until close() (a session advisory lock); False when another is."""
        if "collector" in self._held:
            return True
        taken = bool(self._run(lambda conn: _one(conn.execute("SELECT pg_try_advisory_lock(%s, %s)",
                                                                (_LOCKS, _COLLECTOR)))))
        if taken:
            self._held.add("collector")
        return taken

    def collector_running(self) -> bool:
        return self._lock_held(_COLLECTOR, "ExclusiveLock")

    def attach_viewer(self) -> None:
        if "viewer" not in self._held:
            self._run(lambda conn: conn.execute("SELECT pg_advisory_lock_shared(%s, %s)", (_LOCKS, _VIEWER)))
            self._held.add("viewer")

    def viewers_attached(self) -> bool:
        return self._lock_held(_VIEWER, "ShareLock")



def _one(cursor: Any) -> Any:
    row = cursor.fetchone()
    return None if row is None else row[0]
