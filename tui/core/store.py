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

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import median

from tui.core.model import Observation, Status, TapecheckError
from tui.core.tape import AT_LOOKBACK, end_of_day
from tui.core.then import Cached

# Observations from these sources are synthetic (the demo) and are refused, so they never mix with real data.
SYNTHETIC_SOURCES = ("demo",)
_STATUSES = {str(s) for s in Status}

SCHEMA_VERSION = 1
_DAY_MS = 86_400_000
_FOREVER_MS = 2**62

_SCHEMA = """
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
CREATE TABLE IF NOT EXISTS disputed (  -- values that disagreed with the other sources: never read as values
    series TEXT NOT NULL,
    source TEXT NOT NULL,
    ts INTEGER NOT NULL,
    value REAL NOT NULL,
    unit TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (series, ts, source)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history_coverage (
    job TEXT PRIMARY KEY,         -- a daily-history job, e.g. "yahoo history"
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    fetched_at INTEGER NOT NULL
);
"""


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


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def default_store_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("tapecheck")) / "tapecheck.sqlite"


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


class Store:
    """One SQLite database. Safe to share between threads (one lock); several processes may open one file."""

    def __init__(self, path: Path, retention_days: int = 400) -> None:
        self.path = path
        self.retention = timedelta(days=retention_days)
        self._lock = threading.Lock()
        self._series_ids: dict[str, int] = {}
        self._units: dict[str, str] = {}
        # series -> (the day the closes run up to, exclusive; the closes), valid while _data_version holds
        self._closes: dict[str, tuple[date, list[tuple[date, float]]]] = {}
        self._newest: dict[str, list[tuple[str, int, float]]] = {}  # series -> each source's newest row
        self._data_version = -1
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=10, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout = 10000")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a killed process loses no commit
            self._db.executescript(_SCHEMA)
            self._check_version()
        except sqlite3.DatabaseError as error:
            raise TapecheckError(f"{path}: cannot open the store: {error}") from None
        except OSError as error:
            raise TapecheckError(f"{path}: cannot open the store: {error.strerror or error}") from None

    def _check_version(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif row[0] != str(SCHEMA_VERSION):
            raise TapecheckError(f"{self.path}: store schema version {row[0]}, this tapecheck reads "
                                 f"{SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # a COMMIT refused (a full disk) leaves the transaction open
                    with suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise

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
            self._forget_kept(batch)
            return db.total_changes - before

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

    def prune(self, now: datetime) -> int:
        """Thin observations older than the retention period to the last of each (series, source, day)."""
        cutoff = to_ms(now - self.retention)
        with self._writing() as db:
            before = db.total_changes
            db.execute(
                """DELETE FROM observations WHERE ts < :cutoff AND (series_id, source, ts) NOT IN (
                       SELECT series_id, source, MAX(ts) FROM observations WHERE ts < :cutoff
                       GROUP BY series_id, source, ts / :day)""",
                {"cutoff": cutoff, "day": _DAY_MS},
            )
            removed = db.total_changes - before
            db.execute("DELETE FROM disputed WHERE ts < ?", (cutoff,))
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
        """Drop every kept answer when another connection has committed since we last looked (lock held)."""
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            self._closes.clear()
            self._newest.clear()
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
                "INSERT OR REPLACE INTO health VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (record.source, record.kind, ms(record.last_success), record.last_error, ms(record.last_error_at),
                 record.latency_ms, record.failures, ms(record.next_attempt)),
            )

    def health(self) -> list[HealthRecord]:
        def moment(ms: int | None) -> datetime | None:
            return None if ms is None else from_ms(ms)

        with self._lock:
            rows = list(self._db.execute("SELECT * FROM health ORDER BY source"))
        return [HealthRecord(r[0], r[1], moment(r[2]), r[3], moment(r[4]), r[5], r[6], moment(r[7])) for r in rows]

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


    # ---- then-verdicts and history coverage ------------------------------------------------------------

    def then_verdicts(self) -> dict[str, Cached]:
        with self._lock:
            rows = list(self._db.execute(
                "SELECT claim_id, fingerprint, status, value, deviation_pct, explanation FROM then_verdicts"))
        return {r[0]: Cached(r[1], Status(r[2]), r[3], r[4], r[5]) for r in rows if r[2] in _STATUSES}

    def save_then_verdicts(self, rows: list[tuple[str, Cached]]) -> None:
        stamp = to_ms(datetime.now(UTC))
        with self._writing() as db:
            db.executemany("INSERT OR REPLACE INTO then_verdicts VALUES (?, ?, ?, ?, ?, ?, ?)",
                           [(claim_id, c.fingerprint, str(c.status), c.value, c.deviation_pct, c.explanation, stamp)
                            for claim_id, c in rows])

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
