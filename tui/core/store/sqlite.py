"""The observation store on SQLite, in WAL mode, append-only: one file a collector writes and viewers read.

Every accepted observation is written in one transaction per batch; a committed batch survives the process
being killed. Retention thins observations older than `retention_days` to one per (series, source, UTC
day), the day's last, so daily history is never lost to it; it runs in small transactions.

The Tape questions are answered from an index by (series, source, time), so that their cost does not grow
with the history: a source's latest value is one index lookup. What the dashboard asks on every redraw is kept
(tui.core.store.caches) until a write may change it; another connection's commit is noticed for nothing through
PRAGMA data_version. Everything both backends answer alike is tui.core.store.base.SqlStore's.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from tui.core.model import DISPUTED as DISPUTED  # re-exported: where older callers found them
from tui.core.model import REFUSED as REFUSED
from tui.core.model import Observation, TapecheckError
from tui.core.store.base import COPIED_TABLES as COPIED_TABLES
from tui.core.store.base import COPY_MARK as COPY_MARK
from tui.core.store.base import POST_REQUEST, SqlStore, Tx, bump
from tui.core.store.base import incomplete_message as incomplete_message
from tui.core.store.facts import BUSY_TIMEOUT_MS as BUSY_TIMEOUT_MS
from tui.core.store.facts import LAST_PER_SOURCE, SOURCES
from tui.core.store.file import check_health, check_identity, describe_open_error
from tui.core.store.migrations import pending, statements
from tui.core.store.nudge import Nudge
from tui.core.store.rows import DAY_MS, Row, check_request
from tui.core.store.rows import CollectorInfo as CollectorInfo
from tui.core.store.rows import requester as requester
from tui.core.store.rows import this_collector as this_collector
from tui.core.store.rows import to_ms as to_ms
from tui.core.validate import SYNTHETIC_SOURCES as SYNTHETIC_SOURCES  # the demo's: refused, never mixed with real data

T = TypeVar("T")

# A write waits this long in all for another process's write lock (a long prune, a `check` mid-write), trying
# again every few milliseconds, before it counts as failed; each try waits BUSY_TIMEOUT_MS inside SQLite.
LOCK_WAIT_S = 120.0
# A reader's page cache, in KiB (SQLite's default is 2,000): a viewer reads a few pages per state, and SQLite
# empties a reader's cache whenever another connection has committed, so a larger one only holds memory.
READER_CACHE_KIB = 512

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


# Each source's last observation of each UTC day before :end, walking back from day to day through the index:
# one lookup per day that has data, however many observations a day holds.
_DAY_CLOSES = SOURCES + """, closes(source, ts) AS (
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



# Rows of series :id older than :cutoff that are not the last of their (source, UTC day), in time order from
# :start: each costs one index lookup of the day's last row.
_PRUNE_CANDIDATES = """
SELECT o.series_id, o.ts, o.source FROM observations o
WHERE o.series_id = :id AND o.ts >= :start AND o.ts < :cutoff
  AND o.ts < (SELECT MAX(m.ts) FROM observations m WHERE m.series_id = o.series_id AND m.source = o.source
              AND m.ts < (o.ts / :day + 1) * :day)
ORDER BY o.ts LIMIT :n
"""



def default_store_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("tapecheck")) / "tapecheck.sqlite"



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


class SqliteTx:
    """A write transaction on SQLite's connection (see base.Tx)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def all(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return list(self.db.execute(sql, params))

    def run(self, sql: str, params: Sequence[object] = ()) -> int:
        return self.db.execute(sql, params).rowcount

    def many(self, sql: str, rows: Sequence[Sequence[object]]) -> int:
        return self.db.executemany(sql, rows).rowcount


class SqliteStore(SqlStore):
    """One SQLite database. Safe to share between threads (one lock); several processes may open one file."""

    def __init__(self, path: Path, retention_days: int = 400, *, read_only: bool = False,
                 copying: bool = False) -> None:
        """Open (and create or migrate, unless `read_only`) the store at `path`. A read-only store is a
        viewer's: it never writes the database; its requests to the collector go over a short connection of
        their own. A store an interrupted copy left incomplete is refused, unless `copying` (to resume it)."""
        self._init_shared(str(path), retention_days, read_only)
        self.path = path
        self._lock = threading.RLock()  # re-entered: a kept answer is checked and filled under one hold
        self._held_roles: set[str] = set()
        self._lock_files: list[int] = []  # a viewer's lock, held until close()
        self._store_fd: int | None = None  # the store file itself, for the collector's lock (see _store_lock)
        self._memory_locks = {"collector": False, "viewer": False}  # for an in-memory store
        self._seen_version = -1
        self._nudge: Nudge | None = None  # a viewer's hint of writes to the files, made on its first wait
        self._problem: str | None = None  # a local file is reachable or fails loudly (or is a ghost: ghost())
        self._identity: tuple[int, int] | None = None  # the file's device and inode, as opened
        self.lock_wait_s = LOCK_WAIT_S
        try:
            if read_only:
                self._db = connect_read_only(path)
                self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                self._db.execute(f"PRAGMA cache_size = -{READER_CACHE_KIB}")
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
        """Why the store cannot be used now (the file removed or replaced), or None."""
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
        if self._nudge is not None:
            self._nudge.close()
        with self._lock:
            self._db.close()
            for fd in self._lock_files:
                os.close(fd)  # releases the lock
            self._lock_files.clear()
            if self._store_fd is not None:  # after the database: see _store_lock
                os.close(self._store_fd)
                self._store_fd = None
            self._held_roles.clear()

    # ---- what SqlStore asks of a backend ----------------------------------------------------------------

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, params))

    def _write(self, work: Callable[[Tx], T], *, notify: bool = True) -> T:
        with self._writing() as db:
            return work(SqliteTx(db))

    def _cache_lock(self) -> AbstractContextManager[object]:
        return self._lock

    def _data_version(self) -> int | None:
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def _last_per_source(self, series_id: int, until_ms: int, since_ms: int) -> list[Row]:
        return self._read(LAST_PER_SOURCE, {"id": series_id, "until": until_ms, "since": since_ms})  # type: ignore[arg-type]

    def _day_close_rows(self, series_id: int, end_ms: int) -> list[tuple[int, float]]:
        return self._read(_DAY_CLOSES, {"id": series_id, "end": end_ms, "day": DAY_MS})  # type: ignore[arg-type]

    def _history_rows(self, series_id: int, start: int, end: int, points: int | None) -> list[Row]:
        if points is None:
            return self._read("SELECT source, ts, value FROM observations WHERE series_id = ? AND ts >= ? "
                              "AND ts <= ? ORDER BY ts", (series_id, start, end))
        span = max(1, (end - start) // max(1, points) + 1)  # SQLite gives the other columns of the MAX(ts) row
        return self._read("SELECT source, MAX(ts), value FROM observations WHERE series_id = ? AND ts >= ? "
                          "AND ts <= ? GROUP BY source, (ts - ?) / ? ORDER BY 2", (series_id, start, end, start, span))

    # ---- writing ------------------------------------------------------------------------------------------

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

    def _series_id(self, db: sqlite3.Connection, name: str, unit: str) -> int:
        found = self._series_ids.get(name)
        if found is None:
            db.execute("INSERT OR IGNORE INTO series (name, unit) VALUES (?, ?)", (name, unit))
            found = int(db.execute("SELECT id FROM series WHERE name = ?", (name,)).fetchone()[0])
            self._series_ids[name] = found
        return found

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
            self._cache.forget_appended(batch)
            return count

    @staticmethod
    def _next_seq(db: sqlite3.Connection) -> int:
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'commit_seq'")
        return int(db.execute("SELECT value FROM meta WHERE key = 'commit_seq'").fetchone()[0])

    def _prune_batch(self, series_id: int, start: int, cutoff: int, batch: int) -> list[int]:
        with self._writing() as db:
            doomed = db.execute(_PRUNE_CANDIDATES, {"id": series_id, "start": start, "cutoff": cutoff,
                                                    "day": DAY_MS, "n": batch}).fetchall()
            db.executemany("DELETE FROM observations WHERE series_id = ? AND ts = ? AND source = ?", doomed)
        return [int(row[1]) for row in doomed]

    # ---- a collector and its viewers ----------------------------------------------------------------------

    def wait_for_change(self, timeout_s: float) -> bool:
        """Wait until another connection commits (PRAGMA data_version, asked after each write to the store's files,
        or every 0.2 s where they cannot be watched: tui.core.store.nudge); False at the timeout."""
        if self._nudge is None:
            self._nudge = Nudge(self.path)
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
            self._nudge.wait(left)

    def post_request(self, kind: str) -> None:
        if not self.read_only:
            super().post_request(kind)
            return
        check_request(kind)
        try:  # a viewer's own connection only reads: a short one writes the request
            db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            try:
                db.execute("BEGIN IMMEDIATE")
                db.execute(POST_REQUEST, (kind, to_ms(datetime.now(UTC))))
                bump(SqliteTx(db), "requests")
                db.execute("COMMIT")
            finally:
                db.close()
        except sqlite3.Error as error:
            raise TapecheckError(f"{self.path}: cannot ask the collector: {error}") from None

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


Store = SqliteStore  # the name older callers construct; type against tui.core.store.protocol.Store
