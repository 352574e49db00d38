"""The observation store on PostgreSQL, through psycopg 3: one shared history for a desk on several hosts.

`PgStore` keeps the SQLite `Store`'s contract method for method (it is a `Store` to every caller; it shares
none of its state: every public method is its own, which tests/test_store_contract.py checks), so the
collector, the dashboard and `check` need not know which backend they hold.

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

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING, Any, TypeVar

from tui.core.logs import redact
from tui.core.model import Alert, Cached, Observation, Status, TapecheckError
from tui.core.store.migrations import pending, statements
from tui.core.store.pgsql import COLUMNS, DAY_CLOSES, INSERT_INCOMING, KEYS, LAST_PER_SOURCE, MIGRATIONS
from tui.core.store.sqlite import (
    _DAY_MS,
    _FOREVER_MS,
    _STATUSES,
    COPIED_TABLES,
    COPY_MARK,
    LAST_ALERTS,
    SYNTHETIC_SOURCES,
    TABLE_ORDER,
    CollectorInfo,
    HealthRecord,
    Store,
    alert_row,
    alert_values,
    alerts_query,
    check_request,
    evidence_json,
    from_ms,
    health_partial,
    incomplete_message,
    newest_request,
    parse_evidence,
    parse_summary,
    to_ms,
)
from tui.core.tape import end_of_day
from tui.core.urls import mask_url, url_secrets

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

class PgStore(Store):
    """One PostgreSQL database. Safe to share between threads (one lock per connection); any number of
    processes on any number of hosts may open it."""

    def __init__(self, url: str, retention_days: int = 400, connect_timeout_s: float = 5.0, *,
                 read_only: bool = False, copying: bool = False) -> None:
        # Nothing of the SQLite store's __init__: this class overrides every public method.
        self.url = url
        self.read_only = read_only  # a viewer's: the server's own rights decide; nothing here writes observations
        self.location = mask_url(url)
        self.path = Path(self.location)
        self.retention = timedelta(days=retention_days)
        self.problem: str | None = None
        self._secrets = url_secrets(url)
        self._timeout = connect_timeout_s
        self._db_lock = threading.RLock()  # re-entered: a kept answer is checked and filled under one hold
        self._listen_lock = threading.Lock()
        self._series_ids: dict[str, int] = {}
        self._units: dict[str, str] = {}
        self._closes: dict[str, tuple[date, list[tuple[date, float]]]] = {}
        self._newest: dict[str, list[tuple[str, int, float]]] = {}
        self._known_seq = -1
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

    def copy_mark(self) -> str | None:
        found = self._run(lambda conn: _one(conn.execute("SELECT value FROM meta WHERE key = %s", (COPY_MARK,))))
        return None if found is None else str(found)

    def set_copy_mark(self, text: str | None) -> None:
        def work(conn: psycopg.Connection[Any]) -> None:
            if text is None:
                conn.execute("DELETE FROM meta WHERE key = %s", (COPY_MARK,))
            else:
                conn.execute("INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                             (COPY_MARK, text))

        self._run(work, writing=True)

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
        self._closes.clear()
        self._newest.clear()
        self._known_seq = -1
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
        added, seq = (int(row[0]), row[1]) if row else (0, None)
        if seq is not None and self._known_seq == int(seq) - 1:  # nobody else wrote in between:
            self._known_seq = int(seq)                            # keep what this batch left alone
            self._forget_kept(batch)
        return added

    def _ensure_series(self, conn: psycopg.Connection[Any], batch: list[Observation]) -> dict[str, int]:
        wanted = {o.series: o.unit for o in batch}
        missing = [name for name in wanted if name not in self._series_ids]
        if missing:
            conn.execute("INSERT INTO series (name, unit) SELECT * FROM unnest(%s::text[], %s::text[]) "
                         "ON CONFLICT (name) DO NOTHING", (missing, [wanted[n] for n in missing]))
            for name, series_id in conn.execute("SELECT name, id FROM series WHERE name = ANY(%s)", (missing,)):
                self._series_ids[name] = int(series_id)
        return self._series_ids

    def _bump(self, conn: psycopg.Connection[Any]) -> int:
        """The next commit number, in the caller's transaction; the commit wakes every viewer."""
        row = conn.execute("UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'commit_seq' "
                           "RETURNING value::bigint").fetchone()
        conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(row[0] if row else 0)))
        return int(row[0]) if row else 0

    def _notify(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))

    def count(self) -> int:
        return self._run(lambda conn: int(_one(conn.execute("SELECT COUNT(*) FROM observations"))))

    def prune(self, now: datetime, batch: int = 0) -> int:  # one statement: PostgreSQL's MVCC blocks no reader
        """Thin observations older than the retention period to the last of each (series, source, day)."""
        cutoff = to_ms(now - self.retention)

        def work(conn: psycopg.Connection[Any]) -> int:
            with conn.transaction():
                removed = conn.execute(
                    """DELETE FROM observations o WHERE o.ts < %(cutoff)s AND EXISTS (
                           SELECT 1 FROM observations n WHERE n.series_id = o.series_id AND n.source = o.source
                           AND n.ts > o.ts AND n.ts < %(cutoff)s AND n.ts / %(day)s = o.ts / %(day)s)""",
                    {"cutoff": cutoff, "day": _DAY_MS}).rowcount
                conn.execute("DELETE FROM disputed WHERE ts < %s", (cutoff,))
                conn.execute("DELETE FROM alerts WHERE at < %s", (cutoff,))
                if removed:
                    self._bump(conn)
                return int(removed)

        return self._run(work, writing=True)

    def series_ids(self) -> set[str]:
        return self._run(lambda conn: {str(r[0]) for r in conn.execute("SELECT name FROM series")})

    # ---- the Tape questions -----------------------------------------------------------------------------

    def _lookup(self, name: str) -> int | None:
        found = self._series_ids.get(name)
        if found is None:
            row = self._run(lambda conn: conn.execute("SELECT id FROM series WHERE name = %s", (name,)).fetchone())
            if row is None:
                return None
            found = self._series_ids[name] = int(row[0])
        return found

    def _unit(self, name: str) -> str:
        unit = self._units.get(name)
        if unit is None:
            row = self._run(lambda conn: conn.execute("SELECT unit FROM series WHERE name = %s", (name,)).fetchone())
            if row is None:
                return ""
            unit = self._units[name] = str(row[0])
        return unit

    def _observations(self, name: str, rows: list[tuple[str, int, float]]) -> list[Observation]:
        unit = self._unit(name)
        return [Observation(name, value, unit, from_ms(ts), source) for source, ts, value in rows]

    def _last_per_source(self, series_id: int, until_ms: int, since_ms: int) -> list[tuple[str, int, float]]:
        return self._run(lambda conn: [(str(s), int(t), float(v)) for s, t, v in conn.execute(
            LAST_PER_SOURCE, {"id": series_id, "until": until_ms, "since": since_ms})])

    def _notice_other_writers(self) -> None:
        """Drop every kept answer when a commit we did not account for has happened."""
        seq = self.commit_seq()
        if seq != self._known_seq:
            self._closes.clear()
            self._newest.clear()
            self._known_seq = seq

    def _latest_rows(self, series: str, series_id: int, now: datetime) -> list[tuple[str, int, float]]:
        now_ms = to_ms(now)
        with self._db_lock:  # no other thread's commit check can slip between reading and keeping
            self._notice_other_writers()
            newest = self._newest.get(series)
            if newest is None:
                newest = self._newest[series] = self._last_per_source(series_id, _FOREVER_MS, 0)
        if all(ts <= now_ms for _, ts, _ in newest):
            return newest
        return self._last_per_source(series_id, now_ms, 0)

    # While the server is away the Tape questions answer from what is kept (the last values, with their age,
    # so they turn stale as they should) or with nothing: a dashboard must not fall over; `problem` says why.

    def latest(self, series: str, now: datetime) -> list[Observation]:
        try:  # the SQLite store's answer, through this class's queries
            return Store.latest(self, series, now)
        except TapecheckError:
            if self.problem is None:
                raise
            now_ms, unit = to_ms(now), self._units.get(series, "")
            return [Observation(series, value, unit, from_ms(ts), source)
                    for source, ts, value in self._newest.get(series, []) if ts <= now_ms]

    def at(self, series: str, day: date) -> list[Observation]:
        try:
            return Store.at(self, series, day)
        except TapecheckError:
            if self.problem is None:
                raise
            return []

    def daily(self, series: str, now: datetime) -> list[tuple[date, float]]:
        try:
            return Store.daily(self, series, now)
        except TapecheckError:
            if self.problem is None:
                raise
            kept = self._closes.get(series)
            return [] if kept is None else kept[1]

    def _past_closes(self, series: str, series_id: int, today: date) -> list[tuple[date, float]]:
        with self._db_lock:
            self._notice_other_writers()
            kept = self._closes.get(series)
            if kept is not None and kept[0] == today:
                return kept[1]
            params = {"id": series_id, "end": to_ms(end_of_day(today - timedelta(days=1))), "day": _DAY_MS}
            rows = self._run(lambda conn: list(conn.execute(DAY_CLOSES, params)))
            per_day: dict[int, list[float]] = {}
            for day, value in rows:
                per_day.setdefault(int(day), []).append(float(value))
            closes = [(from_ms(day * _DAY_MS).date(), float(median(values))) for day, values in sorted(per_day.items())]
            self._closes[series] = (today, closes)
            return closes

    def history(self, series: str, since: datetime, now: datetime, points: int | None = None) -> list[Observation]:
        """A series' observations in a time range, oldest first; with `points`, each source's last in each of
        that many equal spans (as Store.history)."""
        try:
            return self._history(series, since, now, points)
        except TapecheckError:
            if self.problem is None:
                raise
            return []

    def _history(self, series: str, since: datetime, now: datetime, points: int | None) -> list[Observation]:
        series_id = self._lookup(series)
        if series_id is None:
            return []
        start, end = to_ms(since), to_ms(now)
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
        rows = self._run(lambda conn: [(str(s), int(t), float(v)) for s, t, v in conn.execute(sql, params)])
        return self._observations(series, rows)

    # ---- health, then-verdicts, history coverage --------------------------------------------------------

    def save_health(self, record: HealthRecord) -> None:
        def ms(moment: datetime | None) -> int | None:
            return None if moment is None else to_ms(moment)

        self._upsert("health", [(record.source, record.kind, ms(record.last_success), record.last_error,
                                 ms(record.last_error_at), record.latency_ms, record.failures,
                                 ms(record.next_attempt), record.state,
                                 json.dumps(list(record.partial), ensure_ascii=False))])

    def save_summary(self, summary: Mapping[str, object]) -> None:
        text = json.dumps(summary)

        def work(conn: psycopg.Connection[Any]) -> None:
            with conn.transaction():
                conn.execute("INSERT INTO meta VALUES ('summary', %s) ON CONFLICT (key) DO UPDATE SET value = "
                             "EXCLUDED.value", (text,))

        self._run(work, writing=True)

    def summary(self) -> dict[str, Any] | None:
        row = self._run(lambda conn: conn.execute("SELECT value FROM meta WHERE key = 'summary'").fetchone())
        return parse_summary(row[0] if row else None)

    def health(self) -> list[HealthRecord]:
        def moment(ms: int | None) -> datetime | None:
            return None if ms is None else from_ms(ms)

        rows = self._run(lambda conn: list(conn.execute("SELECT * FROM health ORDER BY source")))
        return [HealthRecord(r[0], r[1], moment(r[2]), r[3], moment(r[4]), r[5], r[6], moment(r[7]), r[8],
                             health_partial(r[9])) for r in rows]

    def _upsert(self, table: str, rows: list[tuple[object, ...]]) -> None:
        if not rows:
            return
        columns = COLUMNS[table]
        key = KEYS.get(table, columns[:1])
        sql = (f"INSERT INTO {table} VALUES ({', '.join(['%s'] * len(columns))}) ON CONFLICT ({', '.join(key)}) "
               f"DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in columns if c not in key)}")

        def work(conn: psycopg.Connection[Any]) -> None:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(sql, rows)
                self._notify(conn)

        self._run(work, writing=True)

    def then_verdicts(self) -> dict[str, Cached]:
        rows = self._run(lambda conn: list(conn.execute(
            "SELECT claim_id, fingerprint, status, value, deviation_pct, explanation, evidence FROM then_verdicts")))
        return {r[0]: Cached(r[1], Status(r[2]), r[3], r[4], r[5], parse_evidence(r[6])) for r in rows
                if r[2] in _STATUSES}

    def save_then_verdicts(self, rows: list[tuple[str, Cached]]) -> None:
        stamp = to_ms(datetime.now(UTC))
        self._upsert("then_verdicts", [(claim_id, c.fingerprint, str(c.status), c.value, c.deviation_pct,
                                        c.explanation, stamp, evidence_json(c.evidence)) for claim_id, c in rows])

    def forget_then_verdicts(self, keep: set[str]) -> int:
        stored = self._run(lambda conn: [str(r[0]) for r in conn.execute("SELECT claim_id FROM then_verdicts")])
        gone = [claim_id for claim_id in stored if claim_id not in keep]
        if gone:
            self._run(lambda conn: conn.execute("DELETE FROM then_verdicts WHERE claim_id = ANY(%s)", (gone,)),
                      writing=True)
        return len(gone)

    def history_coverage(self, job: str) -> tuple[date, date] | None:
        row = self._run(lambda conn: conn.execute(
            "SELECT first_day, last_day FROM history_coverage WHERE job = %s", (job,)).fetchone())
        return None if row is None else (date.fromisoformat(row[0]), date.fromisoformat(row[1]))

    def save_history_coverage(self, job: str, first: date, last: date) -> None:
        self._upsert("history_coverage", [(job, first.isoformat(), last.isoformat(), to_ms(datetime.now(UTC)))])

    def forget_history(self) -> None:
        def work(conn: psycopg.Connection[Any]) -> None:
            with conn.transaction():
                conn.execute("DELETE FROM history_coverage")
                conn.execute("DELETE FROM then_verdicts")
                self._notify(conn)

        self._run(work, writing=True)

    # ---- a collector and its viewers --------------------------------------------------------------------

    def commit_seq(self) -> int:
        return self._run(lambda conn: int(_one(conn.execute("SELECT value FROM meta WHERE key = 'commit_seq'"))))

    def changed_series(self, since: int) -> tuple[int, set[str]]:
        def work(conn: psycopg.Connection[Any]) -> tuple[int, set[str]]:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # one snapshot for both answers
                seq = int(_one(conn.execute("SELECT value FROM meta WHERE key = 'commit_seq'")))
                names = {str(r[0]) for r in conn.execute("SELECT name FROM series WHERE changed_seq > %s", (since,))}
            return seq, names

        return self._run(work)

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

    def post_request(self, kind: str) -> None:
        check_request(kind)

        def work(conn: psycopg.Connection[Any]) -> None:
            with conn.transaction():
                conn.execute("INSERT INTO requests (kind, at) VALUES (%s, %s)", (kind, to_ms(datetime.now(UTC))))
                self._notify(conn)

        self._run(work, writing=True)

    def add_disputed(self, rows: Iterable[tuple[Observation, str]]) -> int:
        batch = [(o.series, o.source, to_ms(o.ts), o.value, o.unit, reason) for o, reason in rows]
        if not batch:
            return 0

        def work(conn: psycopg.Connection[Any]) -> int:
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany("INSERT INTO disputed VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                                   batch)
                return max(0, cursor.rowcount)

        return int(self._run(work, writing=True))

    def disputed(self, limit: int = 100) -> list[tuple[Observation, str]]:
        rows = self._run(lambda conn: list(conn.execute(
            "SELECT series, source, ts, value, unit, reason FROM disputed ORDER BY ts DESC LIMIT %s", (limit,))))
        return [(Observation(r[0], r[3], r[4], from_ms(r[2]), r[1]), r[5]) for r in rows]

    def disputed_latest(self, series: str, now: datetime) -> list[Observation]:
        try:
            rows = self._run(lambda conn: list(conn.execute(
                "SELECT DISTINCT ON (source) source, ts, value, unit FROM disputed WHERE series = %s AND ts <= %s "
                "ORDER BY source, ts DESC", (series, to_ms(now)))))
        except TapecheckError:  # the server is away: no word on disputes, as on values (its own fallback)
            return []
        return [Observation(series, r[2], r[3], from_ms(r[1]), r[0]) for r in rows]

    def disputed_count(self) -> int:
        return int(self._run(lambda conn: _one(conn.execute("SELECT COUNT(*) FROM disputed"))))

    def last_request_id(self) -> int:
        def work(conn: psycopg.Connection[Any]) -> int:
            row = conn.execute("SELECT COALESCE(MAX(id), 0) FROM requests").fetchone()
            return 0 if row is None else int(row[0])

        return self._run(work)

    def last_request(self, names: tuple[str, ...]) -> tuple[str, datetime] | None:
        rows = self._run(lambda conn: conn.execute(
            "SELECT kind, at FROM requests ORDER BY id DESC LIMIT 200").fetchall())
        return newest_request(rows, names)

    def take_requests(self, after: int) -> list[tuple[int, str]]:
        return self._run(lambda conn: [(int(i), str(k)) for i, k in conn.execute(
            "SELECT id, kind FROM requests WHERE id > %s ORDER BY id", (after,))])

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

    def save_collector(self, info: CollectorInfo) -> None:
        def work(conn: psycopg.Connection[Any]) -> None:
            with conn.transaction():
                conn.execute("INSERT INTO collector VALUES (1, %s, %s, %s, %s) ON CONFLICT (one) DO UPDATE SET "
                             "pid = EXCLUDED.pid, host = EXCLUDED.host, started_at = EXCLUDED.started_at, "
                             "paused = EXCLUDED.paused", (info.pid, info.host, to_ms(info.started_at), info.paused))
                self._notify(conn)

        self._run(work, writing=True)

    def collector(self) -> CollectorInfo | None:
        row = self._run(lambda conn: conn.execute("SELECT pid, host, started_at, paused FROM collector").fetchone())
        return None if row is None else CollectorInfo(int(row[0]), str(row[1]), from_ms(row[2]), bool(row[3]))

    # ---- alerts -----------------------------------------------------------------------------------------

    def add_alerts(self, alerts: Iterable[Alert]) -> list[Alert]:
        batch = list(alerts)

        def work(conn: psycopg.Connection[Any]) -> list[Alert]:
            kept = []
            with conn.transaction():
                for alert in batch:
                    row = conn.execute("INSERT INTO alerts (at, kind, subject, before_state, after_state, message, "
                                       "value, level, unit, delivery) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                                       "RETURNING id", alert_values(alert)).fetchone()
                    kept.append(replace(alert, id=int(row[0]) if row else 0))
                self._notify(conn)
            return kept

        return self._run(work, writing=True) if batch else []

    def alerts(self, after: int = 0, since: datetime | None = None, limit: int = 500) -> list[Alert]:
        sql, params = alerts_query(after, since, limit, "%s")
        return [alert_row(r) for r in self._run(lambda conn: list(conn.execute(sql, params)))]

    def last_alerts(self) -> dict[str, tuple[str, datetime]]:
        rows = self._run(lambda conn: list(conn.execute(LAST_ALERTS)))
        return {f"{r[0]}:{r[1]}": (str(r[2]), from_ms(r[3])) for r in rows}

    def unacked_alerts(self) -> int:
        return int(self._run(lambda conn: _one(conn.execute("SELECT COUNT(*) FROM alerts WHERE acked_at IS NULL"))))

    def set_alert_delivery(self, alert_id: int, delivery: str) -> None:
        def work(conn: psycopg.Connection[Any]) -> None:
            with conn.transaction():
                conn.execute("UPDATE alerts SET delivery = %s WHERE id = %s", (delivery, alert_id))
                self._notify(conn)

        self._run(work, writing=True)

    def ack_alerts(self, alert_id: int, through: bool = False) -> int:
        def work(conn: psycopg.Connection[Any]) -> int:
            with conn.transaction():
                cursor = conn.execute(f"UPDATE alerts SET acked_at = %s WHERE id {'<=' if through else '='} %s "
                                      "AND acked_at IS NULL", (to_ms(datetime.now(UTC)), alert_id))
                self._notify(conn)
                return max(0, cursor.rowcount)

        return int(self._run(work, writing=True))

    # ---- moving a store ---------------------------------------------------------------------------------

    def export_observations(self) -> Iterator[Observation]:
        series = self._run(lambda conn: list(conn.execute("SELECT id, name, unit FROM series ORDER BY name")))
        for series_id, name, unit in series:
            after: tuple[str, int] = ("", -_FOREVER_MS)
            while True:
                rows = self._run(lambda conn, key=after, sid=series_id: list(conn.execute(  # type: ignore[misc]
                    "SELECT source, ts, value FROM observations WHERE series_id = %s AND (source, ts) > (%s, %s) "
                    "ORDER BY source, ts LIMIT 50000", (sid, *key))))
                if not rows:
                    break
                yield from (Observation(name, value, unit, from_ms(ts), source) for source, ts, value in rows)
                after = (rows[-1][0], rows[-1][1])

    def export_table(self, table: str) -> list[tuple[object, ...]]:
        if table not in COPIED_TABLES:
            raise TapecheckError(f"not a table to copy: {table}")
        order = TABLE_ORDER.get(table, "1")
        return self._run(lambda conn: [tuple(r) for r in conn.execute(
            f"SELECT {', '.join(COLUMNS[table])} FROM {table} ORDER BY {order}")])

    def import_table(self, table: str, rows: list[tuple[object, ...]]) -> None:
        if table not in COPIED_TABLES:
            raise TapecheckError(f"not a table to copy: {table}")
        self._upsert(table, rows)
        if table == "alerts" and rows:  # ids came with the rows: the next alert's id follows the last copied
            self._run(lambda conn: conn.execute(
                "SELECT setval(pg_get_serial_sequence('alerts', 'id'), (SELECT MAX(id) FROM alerts))"), writing=True)


def _one(cursor: Any) -> Any:
    row = cursor.fetchone()
    return None if row is None else row[0]
