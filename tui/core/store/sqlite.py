"""The observation store: SQLite in WAL mode, append-only, with source health, and a Tape view over it.

Every accepted observation is written in one transaction per batch; a committed batch survives the process
being killed. Retention thins observations older than `retention_days` to one per (series, source, UTC
day), the day's last, so daily history is never lost to it.

The Tape questions are answered from an index by (series, source, time), so that their cost does not grow
with the history: a source's latest value is one index lookup. What the dashboard asks on every redraw is
kept until a write may change it: each source's newest value of a series until that series is appended to,
the daily closes of past days until an older observation is appended; anything another process commits
drops all of it. Today's close is each source's latest value.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

from tui.core.model import Alert, Cached, Evidence, Observation, Status, TapecheckError
from tui.core.store.file import check_health, check_identity, describe_open_error
from tui.core.store.migrations import pending, statements
from tui.core.tape import AT_LOOKBACK, end_of_day
from tui.core.validate import SYNTHETIC_SOURCES as SYNTHETIC_SOURCES  # the demo's: refused, never mixed with real data

_STATUSES = {str(s) for s in Status}

REQUEST_KINDS = ("refresh", "pause", "resume", "ack", "ack-upto")  # what a viewer may ask of the collector
ALERT_COLUMNS = "id, at, kind, subject, before_state, after_state, message, value, level, unit, delivery, acked_at"
# copied whole by `tapecheck store copy` (observations and series go their own way)
COPIED_TABLES = ("health", "then_verdicts", "history_coverage", "alerts", "disputed")
TABLE_ORDER = {"disputed": "series, source, ts"}  # the order both backends export a table in (else its key)
COPY_MARK = "copy_incomplete"  # meta key set while `store copy` fills a store: such a store is refused
# A write waits this long in all for another process's write lock (a long prune, a `check` mid-write), trying
# again every few milliseconds, before it counts as failed; each try waits BUSY_TIMEOUT_MS inside SQLite.
LOCK_WAIT_S = 120.0
BUSY_TIMEOUT_MS = 1000
_DAY_MS = 86_400_000
_FOREVER_MS = 2**62

_SCHEMA_1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, unit TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS observations (
    series_id INTEGER NOT NULL REFERENCES series(id),
    source TEXT NOT NULL,
    ts INTEGER NOT NULL,          -- milliseconds since the Unix epoch, UTC
    value REAL NOT NULL,
    PRIMARY KEY (series_id, ts, source)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS observations_by_source ON observations (series_id, source, ts);
CREATE TABLE IF NOT EXISTS health (
    source TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    last_success INTEGER,
    last_error TEXT,
    last_error_at INTEGER,
    latency_ms REAL,
    failures INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER
);
CREATE TABLE IF NOT EXISTS then_verdicts (
    claim_id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,    -- the claim's date and rule: a changed rule is judged again
    status TEXT NOT NULL,
    value REAL,
    deviation_pct REAL,
    explanation TEXT NOT NULL,
    judged_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS history_coverage (
    job TEXT PRIMARY KEY,         -- a daily-history job, e.g. "yahoo history"
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    fetched_at INTEGER NOT NULL
);
"""

# Version 2: what a collector and its viewers say to each other through the store.
_SCHEMA_2 = """
ALTER TABLE series ADD COLUMN changed_seq INTEGER NOT NULL DEFAULT 0;  -- the commit that last appended to it
INSERT OR IGNORE INTO meta VALUES ('commit_seq', '0');
CREATE TABLE requests (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE collector (
    one INTEGER PRIMARY KEY CHECK (one = 1), pid INTEGER NOT NULL, host TEXT NOT NULL,
    started_at INTEGER NOT NULL, paused INTEGER NOT NULL
);
ALTER TABLE health ADD COLUMN state TEXT NOT NULL DEFAULT 'waiting';  -- ok, slow, failing, rate_limited, ...
ALTER TABLE health ADD COLUMN partial TEXT NOT NULL DEFAULT '[]';  -- JSON: items missing, values refused
CREATE TABLE IF NOT EXISTS disputed (  -- values that disagreed with the other sources: never read as values
    series TEXT NOT NULL,
    source TEXT NOT NULL,
    ts INTEGER NOT NULL,
    value REAL NOT NULL,
    unit TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (series, ts, source)
) WITHOUT ROWID;
"""

# Version 3: the alerts the collector fired (tui.core.judge.alerts), and which a viewer acknowledged.
_SCHEMA_3 = """
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,           -- claim or rule
    subject TEXT NOT NULL,        -- the claim's id or the rule's name
    before_state TEXT NOT NULL,
    after_state TEXT NOT NULL,
    message TEXT NOT NULL,
    value REAL,
    level REAL,
    unit TEXT NOT NULL,
    delivery TEXT NOT NULL DEFAULT '',  -- the alert command's outcome: '', 'ok', 'failed: why'
    acked_at INTEGER
);
CREATE INDEX alerts_by_subject ON alerts (kind, subject, id);
"""

# Version 4: a then-verdict keeps the observations it read (JSON: tui.core.model.Evidence); the answers kept
# before were read with gaps filled by the bar before, so they are judged again.
_SCHEMA_4 = """
ALTER TABLE then_verdicts ADD COLUMN evidence TEXT NOT NULL DEFAULT '[]';
DELETE FROM then_verdicts;
"""

MIGRATIONS = (_SCHEMA_1, _SCHEMA_2, _SCHEMA_3, _SCHEMA_4)
SCHEMA_VERSION = len(MIGRATIONS)


# The sources of series :id, walked through the index one by one (SQLite has no skip-scan here), so that the
# queries below cost a few index lookups per source however long the history.
_SOURCES = """
WITH RECURSIVE sources(name) AS (
    SELECT MIN(source) FROM observations WHERE series_id = :id
    UNION ALL
    SELECT (SELECT MIN(source) FROM observations WHERE series_id = :id AND source > name)
    FROM sources WHERE name IS NOT NULL
)"""

# Each source's last observation of a series at or before :until and at or after :since.
_LAST_PER_SOURCE = _SOURCES + """
SELECT o.source, o.ts, o.value FROM sources JOIN observations o
    ON o.series_id = :id AND o.source = sources.name
    AND o.ts = (SELECT MAX(ts) FROM observations WHERE series_id = :id AND source = sources.name AND ts <= :until)
WHERE o.ts >= :since
"""


# Each source's last observation of each UTC day before :end, walking back from day to day through the index:
# one lookup per day that has data, however many observations a day holds.
_DAY_CLOSES = _SOURCES + """, closes(source, ts) AS (
    SELECT name, (SELECT MAX(ts) FROM observations WHERE series_id = :id AND source = name AND ts < :end)
    FROM sources WHERE name IS NOT NULL
    UNION ALL
    SELECT source, (SELECT MAX(ts) FROM observations
                    WHERE series_id = :id AND source = closes.source AND ts < closes.ts / :day * :day)
    FROM closes WHERE ts IS NOT NULL
)
SELECT closes.ts / :day, o.value FROM closes JOIN observations o
    ON o.series_id = :id AND o.source = closes.source AND o.ts = closes.ts
"""


def evidence_json(evidence: tuple[Evidence, ...]) -> str:
    return json.dumps([e.as_dict() for e in evidence], ensure_ascii=False)


def parse_evidence(text: str | None) -> tuple[Evidence, ...]:
    """A kept then-verdict's evidence; none when it is missing or not readable (the verdict is still shown)."""
    try:
        rows = json.loads(text or "[]")
        return tuple(Evidence.from_dict(row) for row in rows)
    except (ValueError, TypeError, KeyError, AssertionError):
        return ()


def parse_summary(text: str | None) -> dict[str, Any] | None:
    """A stored summary's JSON object, or None when there is none or it is not one."""
    try:
        found = json.loads(text) if text else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def default_store_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("tapecheck")) / "tapecheck.sqlite"


@dataclass(frozen=True, slots=True)
class CollectorInfo:
    """The running collector as it described itself: which process on which host, since when, paused or not."""

    pid: int
    host: str
    started_at: datetime
    paused: bool


def this_collector(paused: bool = False) -> CollectorInfo:
    return CollectorInfo(os.getpid(), socket.gethostname(), datetime.now(UTC), paused)


@dataclass(frozen=True, slots=True)
class HealthRecord:
    """A source's health as last stored: when it last worked, what went wrong, when it tries again."""

    source: str
    kind: str
    last_success: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    latency_ms: float | None
    failures: int
    next_attempt: datetime | None
    state: str = "waiting"  # waiting, ok, slow, failing, rate_limited, paused
    partial: tuple[str, ...] = ()  # items missing from the last answer, "symbol: reason"; refused values

    @property
    def refused(self) -> bool:
        """Whether the last answer held values refused as bad data."""
        return any(item.startswith(REFUSED) for item in self.partial)

    @property
    def disputed(self) -> bool:
        """Whether the last answer held values disputed against the other sources."""
        return any(item.startswith(DISPUTED) for item in self.partial)


REFUSED = "refused "  # how a refused value is listed in a health record's `partial`
DISPUTED = "disputed "  # and a disputed one (kept apart in the store's `disputed` table)
PRUNE_BATCH = 2000  # rows deleted per transaction when thinning: a few milliseconds each

# Rows of series :id older than :cutoff that are not the last of their (source, UTC day), in time order from
# :start: each costs one index lookup of the day's last row.
_PRUNE_CANDIDATES = """
SELECT o.series_id, o.ts, o.source FROM observations o
WHERE o.series_id = :id AND o.ts >= :start AND o.ts < :cutoff
  AND o.ts < (SELECT MAX(m.ts) FROM observations m WHERE m.series_id = o.series_id AND m.source = o.source
              AND m.ts < (o.ts / :day + 1) * :day)
ORDER BY o.ts LIMIT :n
"""


def check_request(kind: str) -> None:
    """Refuse a request the collector would not understand."""
    name, _, arg = kind.partition(":")
    if name not in REQUEST_KINDS or (name.startswith("ack") != arg.isdigit()):
        raise TapecheckError(f"unknown request {kind!r}: one of refresh, pause, resume, ack:ID, ack-upto:ID")


def newest_request(rows: Iterable[Any], names: tuple[str, ...]) -> tuple[str, datetime] | None:
    """The first of `rows` (kind, at; newest first) whose request is one of `names`."""
    for kind, at in rows:
        if str(kind).partition(":")[0] in names:
            return str(kind), from_ms(int(at))
    return None


def requester() -> str:
    """Who asks, as requests for the whole desk name them: user@host."""
    import getpass

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "someone"
    return f"{user}@{socket.gethostname()}"


def alert_row(row: Any) -> Alert:
    """An Alert from a row of ALERT_COLUMNS, on either backend."""
    return Alert(int(row[0]), from_ms(int(row[1])), str(row[2]), str(row[3]), str(row[4]), str(row[5]), str(row[6]),
                 None if row[7] is None else float(row[7]), None if row[8] is None else float(row[8]), str(row[9]),
                 str(row[10]), row[11] is not None)


def alert_values(alert: Alert) -> tuple[object, ...]:
    """An alert's columns after its id, as stored."""
    return (to_ms(alert.at), alert.kind, alert.subject, alert.before, alert.after, alert.message, alert.value,
            alert.level, alert.unit, alert.delivery)


def alerts_query(after: int, since: datetime | None, limit: int, mark: str) -> tuple[str, tuple[object, ...]]:
    """The newest alerts after id `after` and at or after `since`, newest first, in a backend's placeholder."""
    sql = (f"SELECT {ALERT_COLUMNS} FROM alerts WHERE id > {mark} AND at >= {mark} ORDER BY id DESC "
           f"LIMIT {mark}")
    return sql, (after, to_ms(since) if since is not None else -_FOREVER_MS, limit)


LAST_ALERTS = ("SELECT kind, subject, after_state, at FROM alerts WHERE id IN "
               "(SELECT MAX(id) FROM alerts GROUP BY kind, subject)")


def health_partial(text: str | None) -> tuple[str, ...]:
    """A health record's `partial`, as stored (JSON); anything else reads as nothing missing."""
    try:
        found = json.loads(text or "[]")
    except ValueError:
        return ()
    return tuple(str(item) for item in found) if isinstance(found, list) else ()


def file_identity(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection; on a read-only filesystem (where SQLite cannot make the WAL's shared-memory
    file) the file is opened as immutable, so that `status` and `check` still read it."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10, check_same_thread=False, isolation_level=None)
    try:
        db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError as error:
        db.close()
        if os.access(path.parent, os.W_OK) and "readonly" not in str(error) and "unable to open" not in str(error):
            raise
    return sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, timeout=10, check_same_thread=False,
                           isolation_level=None)


def incomplete_message(location: str, mark: str) -> str:
    return (f"{location}: an interrupted `store copy` left this store incomplete ({mark}); finish it with "
            f"`tapecheck store copy --from SOURCE --to {location} --resume`, or copy into a new store")


class Store:
    """One SQLite database. Safe to share between threads (one lock); several processes may open one file."""

    def __init__(self, path: Path, retention_days: int = 400, *, read_only: bool = False,
                 copying: bool = False) -> None:
        """Open (and create or migrate, unless `read_only`) the store at `path`. A read-only store is a
        viewer's: it never writes the database; its requests to the collector go over a short connection of
        their own. A store an interrupted copy left incomplete is refused, unless `copying` (to resume it)."""
        self.path = path
        self.read_only = read_only
        self.retention = timedelta(days=retention_days)
        self._lock = threading.Lock()
        self._series_ids: dict[str, int] = {}
        self._units: dict[str, str] = {}
        # series -> (the day the closes run up to, exclusive; the closes), valid while _data_version holds
        self._closes: dict[str, tuple[date, list[tuple[date, float]]]] = {}
        self._newest: dict[str, list[tuple[str, int, float]]] = {}  # series -> each source's newest row
        self._data_version = -1
        self._seen_seq = 0  # the commit_seq the kept answers reflect
        self._held_roles: set[str] = set()
        self._lock_files: list[int] = []  # a viewer's lock, held until close()
        self._store_fd: int | None = None  # the store file itself, for the collector's lock (see _store_lock)
        self._memory_locks = {"collector": False, "viewer": False}  # for an in-memory store
        self._seen_version = -1
        self.location = str(path)
        self._problem: str | None = None  # a local file is reachable or fails loudly (or is a ghost: ghost())
        self._identity: tuple[int, int] | None = None  # the file's device and inode, as opened
        self.lock_wait_s = LOCK_WAIT_S
        try:
            if read_only:
                self._db = connect_read_only(path)
                self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                check_identity(self._db, path)
                check_health(self._db, path)
                if self._version() != str(SCHEMA_VERSION):
                    raise TapecheckError(f"{path}: not a tapecheck store of this version yet (schema "
                                         f"{self._version()}); a collector makes or migrates it")
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(path, timeout=10, check_same_thread=False, isolation_level=None)
                self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                check_identity(self._db, path)  # a foreign database is refused before anything is written into it
                check_health(self._db, path)
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a killed process loses no commit
                self._migrate()
            self._seen_version = int(self._db.execute("PRAGMA data_version").fetchone()[0])
            mark = self._db.execute("SELECT value FROM meta WHERE key = ?", (COPY_MARK,)).fetchone()
        except (sqlite3.DatabaseError, OSError) as error:
            if hasattr(self, "_db"):
                self._db.close()
            raise TapecheckError(describe_open_error(path, error)) from None
        if mark is not None and not copying:
            self._db.close()
            raise TapecheckError(incomplete_message(self.location, str(mark[0])))
        self._identity = file_identity(path)

    @property
    def problem(self) -> str | None:
        """Why the store cannot be used now (a server away; the file removed or replaced), or None."""
        return getattr(self, "_problem", None) or self.ghost()

    @problem.setter
    def problem(self, value: str | None) -> None:
        self._problem = value

    def ghost(self) -> str | None:
        """Why the file at our path is no longer the store we opened (removed, or replaced by another), or None:
        a collector must not write on into an unlinked inode, nor a dashboard show it as live."""
        if getattr(self, "_identity", None) is None:
            return None
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return f"{self.location}: the store file was removed while open"
        except OSError:
            return None
        if (found.st_dev, found.st_ino) != self._identity:
            return f"{self.location}: the store file was replaced by another file while open"
        return None

    def copy_mark(self) -> str | None:
        """What an unfinished `store copy` into this store left (where from, since when), or None."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (COPY_MARK,)).fetchone()
        return None if row is None else str(row[0])

    def set_copy_mark(self, text: str | None) -> None:
        with self._writing() as db:
            if text is None:
                db.execute("DELETE FROM meta WHERE key = ?", (COPY_MARK,))
            else:
                db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (COPY_MARK, text))

    def _version(self) -> str | None:
        if self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() is None:
            return None
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return None if row is None else str(row[0])

    def _migrate(self) -> None:
        """Bring the schema up to SCHEMA_VERSION, each step in one transaction (BEGIN IMMEDIATE serializes two
        processes; the version is read again inside it)."""
        if not pending(self._version(), MIGRATIONS, str(self.path)):
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for version, script in pending(self._version(), MIGRATIONS, str(self.path)):
                for statement in statements(script):
                    self._db.execute(statement)
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(version),))
            self._db.execute("COMMIT")
        except BaseException:
            with suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._lock:
            self._db.close()
            for fd in self._lock_files:
                os.close(fd)  # releases the lock
            self._lock_files.clear()
            if self._store_fd is not None:  # after the database: see _store_lock
                os.close(self._store_fd)
                self._store_fd = None
            self._held_roles.clear()

    def _begin(self) -> None:
        """Take the write lock (our thread lock held), waiting and retrying while another process holds it, up
        to `lock_wait_s`; between tries our own lock is let go, so that readers in this process are not held."""
        deadline = time.monotonic() + self.lock_wait_s
        while True:
            self._lock.acquire()
            try:
                self._db.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                self._lock.release()
                busy = "locked" in str(error) or "busy" in str(error)
                if not busy or time.monotonic() >= deadline:
                    if busy:
                        raise sqlite3.OperationalError(
                            f"another process has held the store's write lock for {self.lock_wait_s:g} s") from None
                    raise
            except BaseException:
                self._lock.release()
                raise
            time.sleep(0.05)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._begin()
        try:
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # a COMMIT refused (a full disk) leaves the transaction open
                    with suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise
        finally:
            self._lock.release()

    def _series_id(self, db: sqlite3.Connection, name: str, unit: str) -> int:
        found = self._series_ids.get(name)
        if found is None:
            db.execute("INSERT OR IGNORE INTO series (name, unit) VALUES (?, ?)", (name, unit))
            found = db.execute("SELECT id FROM series WHERE name = ?", (name,)).fetchone()[0]
            self._series_ids[name] = found
        return found

    def _lookup(self, name: str) -> int | None:
        found = self._series_ids.get(name)
        if found is None:
            with self._lock:
                row = self._db.execute("SELECT id FROM series WHERE name = ?", (name,)).fetchone()
            if row is None:
                return None
            found = self._series_ids[name] = row[0]
        return found

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A write transaction whose failure (a full disk, a read-only file) is a TapecheckError saying so."""
        ghost = self.ghost()
        if ghost is not None:
            raise TapecheckError(f"{ghost}; nothing more is written to it")
        try:
            with self._transaction() as db:
                yield db
        except sqlite3.Error as error:
            self._series_ids.clear()  # ids made inside a rolled-back transaction are gone
            raise TapecheckError(f"{self.path}: cannot write: {error}") from None

    def append(self, observations: Iterable[Observation]) -> int:
        """Write a batch in one transaction; a repeated (series, ts, source) is ignored. Returns rows added."""
        batch = list(observations)
        if not batch:
            return 0
        synthetic = next((o for o in batch if o.source in SYNTHETIC_SOURCES), None)
        if synthetic is not None:
            raise TapecheckError(f"{self.path}: refusing synthetic {synthetic.source!r} observations "
                                 f"({synthetic.series}): demo data never enters the store")
        with self._writing() as db:
            rows = [(self._series_id(db, o.series, o.unit), o.source, to_ms(o.ts), o.value) for o in batch]
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO observations VALUES (?, ?, ?, ?)", rows)
            count = db.total_changes - before
            if count:  # the batch's series are marked changed (one of only repeated rows too: harmless)
                seq = self._next_seq(db)
                db.executemany("UPDATE series SET changed_seq = ? WHERE id = ?",
                               [(seq, i) for i in {row[0] for row in rows}])
            self._forget_kept(batch)
            return count

    @staticmethod
    def _next_seq(db: sqlite3.Connection) -> int:
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'commit_seq'")
        return int(db.execute("SELECT value FROM meta WHERE key = 'commit_seq'").fetchone()[0])

    def _forget_kept(self, batch: list[Observation]) -> None:
        """Drop the kept answers that appended observations may change (the lock is held)."""
        for obs in batch:
            self._newest.pop(obs.series, None)
            kept = self._closes.get(obs.series)
            if kept is not None and obs.ts.date() < kept[0]:
                del self._closes[obs.series]

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM observations").fetchone()[0])

    def prune(self, now: datetime, batch: int = PRUNE_BATCH) -> int:
        """Thin observations older than the retention period to the last of each (series, source, UTC day).

        In small transactions of at most `batch` rows, so that no writer or reader waits on the store for long
        (a year of polls is millions of rows); returns how many rows went.
        """
        cutoff = to_ms(now - self.retention)
        with self._lock:
            ids = [row[0] for row in self._db.execute("SELECT id FROM series ORDER BY id")]
        removed = 0
        for series_id in ids:
            start = 0
            while True:
                with self._writing() as db:
                    doomed = db.execute(_PRUNE_CANDIDATES, {"id": series_id, "start": start, "cutoff": cutoff,
                                                            "day": _DAY_MS, "n": batch}).fetchall()
                    db.executemany("DELETE FROM observations WHERE series_id = ? AND ts = ? AND source = ?", doomed)
                    if doomed:
                        self._next_seq(db)
                removed += len(doomed)
                if len(doomed) < batch:
                    break
                start = doomed[-1][1]
                time.sleep(0)  # let the other threads at the store between batches
        with self._writing() as db:
            db.execute("DELETE FROM disputed WHERE ts < ?", (cutoff,))
            db.execute("DELETE FROM alerts WHERE at < ?", (cutoff,))
        return removed

    def series_ids(self) -> set[str]:
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT name FROM series")}

    def _rows(self, sql: str, params: tuple[object, ...]) -> list[tuple[str, int, float]]:
        with self._lock:
            return list(self._db.execute(sql, params))

    def _observations(self, name: str, rows: list[tuple[str, int, float]]) -> list[Observation]:
        unit = self._unit(name)
        return [Observation(name, value, unit, from_ms(ts), source) for source, ts, value in rows]

    def _unit(self, name: str) -> str:
        unit = self._units.get(name)
        if unit is None:
            with self._lock:
                row = self._db.execute("SELECT unit FROM series WHERE name = ?", (name,)).fetchone()
            if row is None:
                return ""
            unit = self._units[name] = str(row[0])
        return unit

    def _last_per_source(self, series_id: int, until_ms: int, since_ms: int) -> list[tuple[str, int, float]]:
        with self._lock:
            return list(self._db.execute(_LAST_PER_SOURCE, {"id": series_id, "until": until_ms, "since": since_ms}))

    def _notice_other_writers(self) -> None:
        """When another connection has committed since we last looked, drop the kept answers of the series it
        appended to, and only those (the lock is held). Its other writes (health, then-verdicts, thinning old
        rows to the day's last) change no kept answer."""
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if version == self._data_version:
            return
        row = self._db.execute("SELECT value FROM meta WHERE key = 'commit_seq'").fetchone()
        seq = 0 if row is None else int(row[0])
        if self._data_version == -1 or seq < self._seen_seq:  # the first look, or a store replaced under us
            self._closes.clear()
            self._newest.clear()
        elif seq > self._seen_seq:
            for (name,) in self._db.execute("SELECT name FROM series WHERE changed_seq > ?", (self._seen_seq,)):
                self._closes.pop(name, None)
                self._newest.pop(name, None)
        self._seen_seq = seq
        self._data_version = version

    def _latest_rows(self, series: str, series_id: int, now: datetime) -> list[tuple[str, int, float]]:
        """Each source's last row at or before `now`: its newest row (kept) unless that is after `now`."""
        now_ms = to_ms(now)
        with self._lock:
            self._notice_other_writers()
            newest = self._newest.get(series)
            if newest is None:
                newest = self._newest[series] = list(
                    self._db.execute(_LAST_PER_SOURCE, {"id": series_id, "until": _FOREVER_MS, "since": 0}))
        if all(ts <= now_ms for _, ts, _ in newest):
            return newest
        return self._last_per_source(series_id, now_ms, 0)

    def latest(self, series: str, now: datetime) -> list[Observation]:
        series_id = self._lookup(series)
        if series_id is None:
            return []
        return self._observations(series, self._latest_rows(series, series_id, now))

    def at(self, series: str, day: date) -> list[Observation]:
        series_id = self._lookup(series)
        if series_id is None:
            return []
        end = end_of_day(day)
        rows = self._last_per_source(series_id, to_ms(end) - 1, to_ms(end - AT_LOOKBACK))
        return self._observations(series, rows)

    def daily(self, series: str, now: datetime) -> list[tuple[date, float]]:
        """Daily closes: per UTC day and source the last value, then the median over sources.

        The days before today are computed once and kept; today's close is each source's latest value.
        """
        series_id = self._lookup(series)
        if series_id is None:
            return []
        today = now.astimezone(UTC).date()
        closes = self._past_closes(series, series_id, today)
        start = to_ms(end_of_day(today - timedelta(days=1)))
        latest = [row for row in self._latest_rows(series, series_id, now) if row[1] >= start]
        if latest:
            closes = [*closes, (today, float(median(value for _, _, value in latest)))]
        return closes

    def _past_closes(self, series: str, series_id: int, today: date) -> list[tuple[date, float]]:
        """Daily closes of the days before `today`, kept until a write may have changed them."""
        with self._lock:
            self._notice_other_writers()
            kept = self._closes.get(series)
            if kept is not None and kept[0] == today:
                return kept[1]
            rows = self._db.execute(
                _DAY_CLOSES, {"id": series_id, "end": to_ms(end_of_day(today - timedelta(days=1))), "day": _DAY_MS})
            per_day: dict[int, list[float]] = {}
            for day, value in rows:
                per_day.setdefault(day, []).append(value)
            closes = [(from_ms(day * _DAY_MS).date(), float(median(values))) for day, values in sorted(per_day.items())]
            self._closes[series] = (today, closes)
            return closes

    def history(self, series: str, since: datetime, now: datetime, points: int | None = None) -> list[Observation]:
        """A series' observations in a time range, oldest first (for charts). With `points`, the range is cut
        into that many equal spans and each source's last observation in each span is kept: a year of polls
        every few seconds is millions of rows, and a chart has a few hundred columns."""
        series_id = self._lookup(series)
        if series_id is None:
            return []
        start, end = to_ms(since), to_ms(now)
        if points is None:
            rows = self._rows("SELECT source, ts, value FROM observations WHERE series_id = ? AND ts >= ? "
                              "AND ts <= ? ORDER BY ts", (series_id, start, end))
        else:  # SQLite gives the other columns of the row holding MAX(ts) in each group
            span = max(1, (end - start) // max(1, points) + 1)
            rows = self._rows("SELECT source, MAX(ts), value FROM observations WHERE series_id = ? AND ts >= ? "
                              "AND ts <= ? GROUP BY source, (ts - ?) / ? ORDER BY 2",
                              (series_id, start, end, start, span))
        return self._observations(series, rows)

    def save_health(self, record: HealthRecord) -> None:
        def ms(moment: datetime | None) -> int | None:
            return None if moment is None else to_ms(moment)

        with self._writing() as db:
            db.execute(
                "INSERT OR REPLACE INTO health VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.source, record.kind, ms(record.last_success), record.last_error, ms(record.last_error_at),
                 record.latency_ms, record.failures, ms(record.next_attempt), record.state,
                 json.dumps(list(record.partial), ensure_ascii=False)),
            )

    def save_summary(self, summary: Mapping[str, object]) -> None:
        """What the collector judged last (see tui.core.judge.status.Summary), for `tapecheck status` to read."""
        with self._writing() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES ('summary', ?)", (json.dumps(summary),))

    def summary(self) -> dict[str, Any] | None:
        """The collector's last summary, or None (none kept, or not readable)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = 'summary'").fetchone()
        return parse_summary(row[0] if row else None)

    def health(self) -> list[HealthRecord]:
        def moment(ms: int | None) -> datetime | None:
            return None if ms is None else from_ms(ms)

        with self._lock:
            rows = list(self._db.execute("SELECT * FROM health ORDER BY source"))
        return [HealthRecord(r[0], r[1], moment(r[2]), r[3], moment(r[4]), r[5], r[6], moment(r[7]), r[8],
                             health_partial(r[9])) for r in rows]

    # ---- disputed values ------------------------------------------------------------------------------

    def add_disputed(self, rows: Iterable[tuple[Observation, str]]) -> int:
        """Keep values that disagreed with the other sources (tui.collect.consistency), each with why: apart
        from the observations, so that no question about values ever reads them. Returns rows added."""
        batch = [(o.series, o.source, to_ms(o.ts), o.value, o.unit, reason) for o, reason in rows]
        if not batch:
            return 0
        with self._writing() as db:
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO disputed VALUES (?, ?, ?, ?, ?, ?)", batch)
            return db.total_changes - before

    def disputed(self, limit: int = 100) -> list[tuple[Observation, str]]:
        """The newest disputed values, newest first, each with why."""
        with self._lock:
            rows = list(self._db.execute("SELECT series, source, ts, value, unit, reason FROM disputed "
                                         "ORDER BY ts DESC LIMIT ?", (limit,)))
        return [(Observation(r[0], r[3], r[4], from_ms(r[2]), r[1]), r[5]) for r in rows]

    def disputed_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM disputed").fetchone()[0])

    def disputed_latest(self, series: str, now: datetime) -> list[Observation]:
        """Each source's latest disputed value of `series` at or before `now` (a rule says a claim is disputed
        when these are all it has that is fresh; they are never read as values)."""
        with self._lock:  # SQLite takes the other columns from the row with the MAX
            rows = list(self._db.execute("SELECT source, MAX(ts), value, unit FROM disputed WHERE series = ? "
                                         "AND ts <= ? GROUP BY source", (series, to_ms(now))))
        return [Observation(series, r[2], r[3], from_ms(r[1]), r[0]) for r in rows]


    # ---- then-verdicts and history coverage ------------------------------------------------------------

    def then_verdicts(self) -> dict[str, Cached]:
        with self._lock:
            rows = list(self._db.execute(
                "SELECT claim_id, fingerprint, status, value, deviation_pct, explanation, evidence FROM then_verdicts"))
        return {r[0]: Cached(r[1], Status(r[2]), r[3], r[4], r[5], parse_evidence(r[6])) for r in rows
                if r[2] in _STATUSES}

    def save_then_verdicts(self, rows: list[tuple[str, Cached]]) -> None:
        stamp = to_ms(datetime.now(UTC))
        with self._writing() as db:
            db.executemany("INSERT OR REPLACE INTO then_verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           [(claim_id, c.fingerprint, str(c.status), c.value, c.deviation_pct, c.explanation, stamp,
                             evidence_json(c.evidence)) for claim_id, c in rows])

    def forget_then_verdicts(self, keep: set[str]) -> int:
        """Drop the then-verdicts of claims not in `keep` (removed from the files); returns how many."""
        with self._lock:
            stored = [str(r[0]) for r in self._db.execute("SELECT claim_id FROM then_verdicts")]
        gone = [(claim_id,) for claim_id in stored if claim_id not in keep]
        if gone:
            with self._writing() as db:
                db.executemany("DELETE FROM then_verdicts WHERE claim_id = ?", gone)
        return len(gone)

    def history_coverage(self, job: str) -> tuple[date, date] | None:
        """The days a history job has fetched completely, or None when it never has."""
        with self._lock:
            row = self._db.execute("SELECT first_day, last_day FROM history_coverage WHERE job = ?",
                                   (job,)).fetchone()
        return None if row is None else (date.fromisoformat(row[0]), date.fromisoformat(row[1]))

    def save_history_coverage(self, job: str, first: date, last: date) -> None:
        with self._writing() as db:
            db.execute("INSERT OR REPLACE INTO history_coverage VALUES (?, ?, ?, ?)",
                       (job, first.isoformat(), last.isoformat(), to_ms(datetime.now(UTC))))

    def forget_history(self) -> None:
        """Forget what history was fetched and every then-verdict, so both are fetched and judged again."""
        with self._writing() as db:
            db.execute("DELETE FROM history_coverage")
            db.execute("DELETE FROM then_verdicts")

    # ---- a collector and its viewers ---------------------------------------------------------------------

    def commit_seq(self) -> int:
        """A number that grows with every committed append (and prune), whoever made it."""
        with self._lock:
            return int(self._db.execute("SELECT value FROM meta WHERE key = 'commit_seq'").fetchone()[0])

    def changed_series(self, since: int) -> tuple[int, set[str]]:
        """The current commit number and the series appended to after commit `since`."""
        with self._lock:
            self._db.execute("BEGIN")  # one snapshot for both answers
            try:
                seq = int(self._db.execute("SELECT value FROM meta WHERE key = 'commit_seq'").fetchone()[0])
                names = {r[0] for r in self._db.execute("SELECT name FROM series WHERE changed_seq > ?", (since,))}
            finally:
                self._db.execute("COMMIT")
        return seq, names

    def wait_for_change(self, timeout_s: float) -> bool:
        """Wait until another connection commits (PRAGMA data_version, read every 0.2 s); False at the timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                version = int(self._db.execute("PRAGMA data_version").fetchone()[0])
            if version != self._seen_version:
                self._seen_version = version
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(0.2, left))

    def post_request(self, kind: str) -> None:
        """A viewer asks the collector to refresh, pause or resume, or to acknowledge alerts (`ack:ID`, or
        `ack-upto:ID` for every alert up to ID)."""
        check_request(kind)
        if not self.read_only:
            with self._writing() as db:
                db.execute("INSERT INTO requests (kind, at) VALUES (?, ?)", (kind, to_ms(datetime.now(UTC))))
            return
        try:  # a viewer's own connection only reads: a short one writes the request
            db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            try:
                db.execute("INSERT INTO requests (kind, at) VALUES (?, ?)", (kind, to_ms(datetime.now(UTC))))
            finally:
                db.close()
        except sqlite3.Error as error:
            raise TapecheckError(f"{self.path}: cannot ask the collector: {error}") from None

    def last_request_id(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(MAX(id), 0) FROM requests").fetchone()[0])

    def last_request(self, names: tuple[str, ...]) -> tuple[str, datetime] | None:
        """The newest request of one of `names` (e.g. pause, resume) as posted (`pause:alice@desk`), and when."""
        with self._lock:
            rows = self._db.execute("SELECT kind, at FROM requests ORDER BY id DESC LIMIT 200").fetchall()
        return newest_request(rows, names)

    def take_requests(self, after: int) -> list[tuple[int, str]]:
        """The requests posted after request `after`, oldest first."""
        with self._lock:
            return [(int(r[0]), str(r[1])) for r in
                    self._db.execute("SELECT id, kind FROM requests WHERE id > ? ORDER BY id", (after,))]

    def _lock_file(self, role: str, exclusive: bool, keep: bool) -> bool:
        """Take (and keep until close) or only test a lock file beside the database; True when granted. A lock
        this store already holds is granted again (and tested as free: it is this process's)."""
        if role in self._held_roles:
            return True
        if str(self.path) == ":memory:":
            if not keep:
                return not self._memory_locks[role]
            if exclusive and self._memory_locks[role]:
                return False
            self._memory_locks[role] = True
            return True
        if role == "collector":
            return self._store_lock(exclusive, keep)
        try:
            fd = os.open(f"{self.path}.{role}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:  # a viewer's lock on a read-only filesystem: no viewer is counted, nothing else changes
            return not keep
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        if keep:
            self._lock_files.append(fd)
            self._held_roles.add(role)
        else:
            os.close(fd)
        return True

    def _store_lock(self, exclusive: bool, keep: bool) -> bool:
        """The collector's lock: flock on the store's own file (apart from SQLite's fcntl locks), so that it cannot
        be deleted from under a running collector and a file put in the store's place is not locked. One
        descriptor, opened once and closed only after the database: closing another descriptor of the file would
        drop SQLite's own POSIX locks of this process (a known way to corrupt a database)."""
        if self._store_fd is None:
            try:
                self._store_fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return False
        try:
            fcntl.flock(self._store_fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except OSError:
            return False
        if keep:
            self._held_roles.add("collector")
        else:
            fcntl.flock(self._store_fd, fcntl.LOCK_UN)  # a test only: let go (the descriptor stays open)
        return True

    def try_lock_collector(self) -> bool:
        """Become the store's one collector, until close(); False when another process already is."""
        return self._lock_file("collector", exclusive=True, keep=True)

    def collector_running(self) -> bool:
        """Whether some process (this one included) holds the collector lock."""
        return "collector" in self._held_roles or not self._lock_file("collector", exclusive=False, keep=False)

    def attach_viewer(self) -> None:
        self._lock_file("viewer", exclusive=False, keep=True)

    def viewers_attached(self) -> bool:
        return not self._lock_file("viewer", exclusive=True, keep=False)

    def save_collector(self, info: CollectorInfo) -> None:
        with self._writing() as db:
            db.execute("INSERT OR REPLACE INTO collector VALUES (1, ?, ?, ?, ?)",
                       (info.pid, info.host, to_ms(info.started_at), int(info.paused)))

    def collector(self) -> CollectorInfo | None:
        with self._lock:
            row = self._db.execute("SELECT pid, host, started_at, paused FROM collector").fetchone()
        return None if row is None else CollectorInfo(int(row[0]), str(row[1]), from_ms(row[2]), bool(row[3]))

    # ---- alerts ---------------------------------------------------------------------------------------------

    def add_alerts(self, alerts: Iterable[Alert]) -> list[Alert]:
        """Keep alerts the collector fired; returns them with their ids."""
        kept = []
        with self._writing() as db:
            for alert in alerts:
                cursor = db.execute("INSERT INTO alerts (at, kind, subject, before_state, after_state, message, value, "
                                    "level, unit, delivery) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", alert_values(alert))
                kept.append(replace(alert, id=int(cursor.lastrowid or 0)))
        return kept

    def alerts(self, after: int = 0, since: datetime | None = None, limit: int = 500) -> list[Alert]:
        """The newest alerts (after id `after`, at or after `since`), newest first."""
        sql, params = alerts_query(after, since, limit, "?")
        with self._lock:
            return [alert_row(r) for r in self._db.execute(sql, params)]

    def last_alerts(self) -> dict[str, tuple[str, datetime]]:
        """Per claim or rule ("kind:subject"), what its last alert said and when: the collector's baselines."""
        with self._lock:
            rows = list(self._db.execute(LAST_ALERTS))
        return {f"{r[0]}:{r[1]}": (str(r[2]), from_ms(r[3])) for r in rows}

    def unacked_alerts(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM alerts WHERE acked_at IS NULL").fetchone()[0])

    def set_alert_delivery(self, alert_id: int, delivery: str) -> None:
        with self._writing() as db:
            db.execute("UPDATE alerts SET delivery = ? WHERE id = ?", (delivery, alert_id))

    def ack_alerts(self, alert_id: int, through: bool = False) -> int:
        """Acknowledge alert `alert_id` (with `through`, every alert up to it); returns how many were new."""
        with self._writing() as db:
            return db.execute(f"UPDATE alerts SET acked_at = ? WHERE id {'<=' if through else '='} ? "
                              "AND acked_at IS NULL", (to_ms(datetime.now(UTC)), alert_id)).rowcount

    # ---- moving a store (tapecheck store copy) ---------------------------------------------------------

    def export_observations(self) -> Iterator[Observation]:
        """Every observation, ordered by series name, source and time, read in chunks."""
        with self._lock:
            series = list(self._db.execute("SELECT id, name, unit FROM series ORDER BY name"))
        for series_id, name, unit in series:
            after: tuple[str, int] = ("", -_FOREVER_MS)
            while True:
                with self._lock:
                    rows = list(self._db.execute(
                        "SELECT source, ts, value FROM observations WHERE series_id = ? AND (source, ts) > (?, ?) "
                        "ORDER BY source, ts LIMIT 50000", (series_id, *after)))
                if not rows:
                    break
                yield from (Observation(name, value, unit, from_ms(ts), source) for source, ts, value in rows)
                after = (rows[-1][0], rows[-1][1])

    def export_table(self, table: str) -> list[tuple[object, ...]]:
        """The rows of one of the small tables (health, then_verdicts, history_coverage, alerts), as stored."""
        if table not in COPIED_TABLES:
            raise TapecheckError(f"not a table to copy: {table}")
        with self._lock:
            return [tuple(r) for r in self._db.execute(f"SELECT * FROM {table} ORDER BY {TABLE_ORDER.get(table, '1')}")]

    def import_table(self, table: str, rows: list[tuple[object, ...]]) -> None:
        if table not in COPIED_TABLES:
            raise TapecheckError(f"not a table to copy: {table}")
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            with self._writing() as db:
                db.executemany(f"INSERT OR REPLACE INTO {table} VALUES ({marks})", rows)
