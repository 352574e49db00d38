"""The half of the store both backends share: the Tape questions and their kept answers, and every table whose
SQL both SQLite and PostgreSQL speak. A backend (sqlite.SqliteStore, postgres.PgStore) supplies connections,
transactions, appending, pruning, waking on a commit and the locks, and the few queries each writes its own way.

Shared SQL is written with `?` marks; a backend's transaction (`Tx`) runs it in its own placeholder style.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from statistics import median
from typing import Any, Protocol, TypeVar

from tui.core.model import Alert, Cached, Health, Observation, TapecheckError
from tui.core.store import rows as r
from tui.core.store.caches import TapeCache
from tui.core.store.facts import COPY_MARK as COPY_MARK  # meta key set while `store copy` fills a store
from tui.core.store.rows import FOREVER_MS, Row, from_ms, to_ms
from tui.core.tape import AT_LOOKBACK, end_of_day

T = TypeVar("T")

# copied whole by `tapecheck store copy` (observations and series go their own way)
COPIED_TABLES = ("health", "then_verdicts", "history_coverage", "alerts", "disputed")
TABLE_ORDER = {"disputed": "series, source, ts"}  # the order both backends export a table in (else its key)
# The counters `changes()` reads, each bumped in the transaction that changes its table(s).
MARKS = {"alerts": "alerts_seq", "health": "health_seq", "verdicts": "verdicts_seq", "disputed": "disputed_seq",
         "collector": "collector_seq", "requests": "requests_seq"}
BUMP = ("INSERT INTO meta VALUES (?, '1') ON CONFLICT (key) DO UPDATE SET "
        "value = CAST(CAST(meta.value AS BIGINT) + 1 AS TEXT)")
# What a store looks at to know whether its kept answers still hold: the commit number, the series appended to
# since the one it knows, and the disputed values' mark.
NOTICE = ("SELECT m.key, m.value, s.name FROM meta m LEFT JOIN series s ON m.key = 'commit_seq' AND s.changed_seq > ? "
          "WHERE m.key IN ('commit_seq', 'disputed_seq')")
# A backend with no free change counter (PostgreSQL: a round trip) looks at most this often; commit_seq(),
# changed_series() and changes() (which a viewer asks after a wake-up) make the next question look at once.
NOTICE_S = 0.05
PRUNE_BATCH = 2000  # rows deleted per transaction when thinning: a few milliseconds each
POST_REQUEST = "INSERT INTO requests (kind, at) VALUES (?, ?)"
LAST_ALERTS = ("SELECT kind, subject, after_state, at FROM alerts WHERE id IN "
               "(SELECT MAX(id) FROM alerts GROUP BY kind, subject)")


@dataclass(frozen=True, slots=True)
class Changes:
    """Cheap marks of what was committed, for a viewer to poll: each number grows when its table changes, so a
    viewer reads the alert log, health, the collector's status or then-verdicts again only when its mark moved
    (a prune moves none of them but `alerts` and `disputed`, when old ones went). `observations` is the commit
    number (`commit_seq`); which series it touched, `changed_series` says. A store replaced under a viewer may
    show lower numbers: compare for inequality."""

    observations: int = 0
    alerts: int = 0
    health: int = 0
    verdicts: int = 0
    disputed: int = 0
    collector: int = 0  # the collector described itself again (started, paused, resumed)
    requests: int = 0  # a viewer posted a request (refresh, pause, resume, ack)


def incomplete_message(location: str, mark: str) -> str:
    return (f"{location}: an interrupted `store copy` left this store incomplete ({mark}); finish it with "
            f"`tapecheck store copy --from SOURCE --to {location} --resume`, or copy into a new store")


class Tx(Protocol):
    """One write transaction of a backend, running shared SQL (`?` marks)."""

    def all(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]: ...

    def run(self, sql: str, params: Sequence[object] = ()) -> int: ...

    def many(self, sql: str, rows: Sequence[Sequence[object]]) -> int: ...


def bump(tx: Tx, mark: str) -> None:
    tx.run(BUMP, (MARKS[mark],))


class SqlStore:
    """What both backends answer alike. Each public method here is part of the `Store` protocol."""

    location: str
    read_only: bool
    retention: timedelta
    problem: str | None  # why the store cannot be used now (a server away; the file removed or replaced)

    def _init_shared(self, location: str, retention_days: int, read_only: bool) -> None:
        self.location = location
        self.read_only = read_only
        self.retention = timedelta(days=retention_days)
        self._series_ids: dict[str, int] = {}
        self._units: dict[str, str] = {}
        self._cache = TapeCache()
        self._kept_seq = -1  # the commit number the kept answers reflect; -1: none yet
        self._kept_version = -1  # and the backend's own change counter, where it has one
        self._kept_disputed = -1  # and the disputed values' mark
        self._noticed_at = -NOTICE_S  # time.monotonic() of the last look at the commit number
        self._missing: set[str] = set()  # series asked for that the store did not hold, as of _kept_seq

    # ---- what a backend supplies --------------------------------------------------------------------------

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _write(self, work: Callable[[Tx], T], *, notify: bool = True) -> T:
        """Run `work` in one write transaction; with `notify`, wake the viewers on commit (where a backend
        must say so; SQLite viewers see every commit anyway)."""
        raise NotImplementedError

    def _cache_lock(self) -> AbstractContextManager[object]:
        """The lock under which the kept answers are checked and filled."""
        raise NotImplementedError

    def _data_version(self) -> int | None:
        """A counter of other connections' commits that costs nothing to read, or None when there is none."""
        return None

    def _last_per_source(self, series_id: int, until_ms: int, since_ms: int) -> list[Row]:
        raise NotImplementedError

    def _day_close_rows(self, series_id: int, end_ms: int) -> list[tuple[int, float]]:
        raise NotImplementedError

    def _history_rows(self, series_id: int, start: int, end: int, points: int | None) -> list[Row]:
        raise NotImplementedError

    def _prune_batch(self, series_id: int, start: int, cutoff: int, batch: int) -> list[int]:
        """Delete, in one transaction, up to `batch` rows of the series older than `cutoff` (from `start` on, in
        time order) that are not the last of their (source, UTC day); returns their times."""
        raise NotImplementedError

    def _after_import(self, table: str) -> None:
        """After `import_table` wrote rows that came with their ids."""

    # ---- the Tape questions -------------------------------------------------------------------------------
    # While a server is away these answer from what is kept (the last values, with their age, so they turn
    # stale as they should) or with nothing: a dashboard must not fall over; `problem` says why.

    def _offline(self, error: TapecheckError) -> None:
        if self.problem is None:
            raise error

    def _lookup(self, name: str) -> int | None:
        found = self._series_ids.get(name)
        if found is None:
            with self._cache_lock():
                self._notice_other_writers()  # a commit that brought new series forgets the missing ones
                if name in self._missing:
                    return None
            rows = self._read("SELECT id FROM series WHERE name = ?", (name,))
            if not rows:
                with self._cache_lock():
                    self._missing.add(name)
                return None
            found = self._series_ids[name] = int(rows[0][0])
        return found

    def _unit(self, name: str) -> str:
        unit = self._units.get(name)
        if unit is None:
            rows = self._read("SELECT unit FROM series WHERE name = ?", (name,))
            if not rows:
                return ""
            unit = self._units[name] = str(rows[0][0])
        return unit

    def _notice_other_writers(self) -> None:
        """When a commit we did not see has happened, drop the kept answers of the series it appended to, and
        only those (the lock is held): its other writes (health, then-verdicts, thinning old rows to each day's
        last) change no kept answer. A store whose commit number went back was replaced: all of them go."""
        version = self._data_version()
        if version is not None:
            if version == self._kept_version:
                return
        elif time.monotonic() - self._noticed_at < NOTICE_S:
            return
        marks: dict[str, int] = {}
        names: set[str] = set()
        for key, value, name in self._read(NOTICE, (max(0, self._kept_seq),)):
            marks[str(key)] = int(value)
            if name is not None:
                names.add(str(name))
        seq, disputed = marks.get("commit_seq", 0), marks.get("disputed_seq", 0)
        if self._kept_seq < 0 or seq < self._kept_seq:
            self._cache.clear()
        elif seq > self._kept_seq:
            self._cache.forget(names)
        if seq != self._kept_seq:
            self._missing.clear()
        if disputed != self._kept_disputed:
            self._cache.disputed.clear()
        self._kept_seq, self._kept_disputed = seq, disputed
        self._kept_version = -1 if version is None else version
        self._noticed_at = time.monotonic()

    def _look_again(self) -> None:
        """Make the next question look for other writers' commits at once."""
        self._noticed_at = -NOTICE_S

    def _latest_rows(self, series: str, series_id: int, now: datetime, noticed: bool = False) -> list[Row]:
        """Each source's last row at or before `now`: its newest row (kept) unless that is after `now`. With
        `noticed`, the caller has just looked for other writers' commits (the lock held)."""
        now_ms = to_ms(now)
        with self._cache_lock():
            if not noticed:
                self._notice_other_writers()
            newest = self._cache.newest_rows(series, lambda: self._last_per_source(series_id, FOREVER_MS, 0))
        if all(ts <= now_ms for _, ts, _ in newest):
            return newest
        return self._last_per_source(series_id, now_ms, 0)

    def latest(self, series: str, now: datetime) -> list[Observation]:
        """Each source's latest observation of `series` at or before `now`."""
        try:
            series_id = self._lookup(series)
            if series_id is None:
                return []
            return r.observations(series, self._unit(series), self._latest_rows(series, series_id, now))
        except TapecheckError as error:
            self._offline(error)
            now_ms = to_ms(now)
            return r.observations(series, self._units.get(series, ""),
                                  [row for row in self._cache.newest.get(series, []) if row[1] <= now_ms])

    def at(self, series: str, day: date) -> list[Observation]:
        """Each source's last observation of `series` on `day` (within AT_LOOKBACK before its end)."""
        try:
            series_id = self._lookup(series)
            if series_id is None:
                return []
            end = end_of_day(day)
            with self._cache_lock():
                self._notice_other_writers()
                rows = self._cache.day_rows(series, day, lambda: self._last_per_source(
                    series_id, to_ms(end) - 1, to_ms(end - AT_LOOKBACK)))
            return r.observations(series, self._unit(series), rows)
        except TapecheckError as error:
            self._offline(error)
            return []

    def daily(self, series: str, now: datetime) -> list[tuple[date, float]]:
        """Daily closes: per UTC day and source the last value, then the median over sources.

        The days before today are computed once and kept; today's close is each source's latest value.
        """
        try:
            series_id = self._lookup(series)
            if series_id is None:
                return []
            today = now.astimezone(UTC).date()
            end = to_ms(end_of_day(today - timedelta(days=1)))
            with self._cache_lock():  # one look for other writers' commits serves both answers
                self._notice_other_writers()
                closes = self._cache.past_closes(series, today, lambda: self._day_close_rows(series_id, end))
                latest = [row for row in self._latest_rows(series, series_id, now, True) if row[1] >= end]
        except TapecheckError as error:
            self._offline(error)
            kept = self._cache.closes.get(series)
            return [] if kept is None else kept[1]
        if latest:
            closes = [*closes, (today, float(median(value for _, _, value in latest)))]
        return closes

    def history(self, series: str, since: datetime, now: datetime, points: int | None = None) -> list[Observation]:
        """A series' observations in a time range, oldest first (for charts). With `points`, the range is cut
        into that many equal spans and each source's last observation in each span is kept: a year of polls
        every few seconds is millions of rows, and a chart has a few hundred columns."""
        try:
            series_id = self._lookup(series)
            if series_id is None:
                return []
            rows = self._history_rows(series_id, to_ms(since), to_ms(now), points)
            return r.observations(series, self._unit(series), rows)
        except TapecheckError as error:
            self._offline(error)
            return []

    def count(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM observations")[0][0])

    def prune(self, now: datetime, batch: int = PRUNE_BATCH) -> int:
        """Thin observations older than the retention period to the last of each (series, source, UTC day).

        In small transactions of at most `batch` rows, so that no writer or reader waits on the store for long
        (a year of polls is millions of rows); returns how many rows went. Thinning changes no answer a viewer
        shows (each day keeps its close), so it moves no change mark but `alerts` and `disputed` when old ones
        went (they go at the cutoff).
        """
        cutoff = to_ms(now - self.retention)
        removed = 0
        for (series_id,) in self._read("SELECT id FROM series ORDER BY id"):
            start = -FOREVER_MS
            while True:
                gone = self._prune_batch(int(series_id), start, cutoff, batch)
                removed += len(gone)
                if len(gone) < batch:
                    break
                start = max(gone)
                time.sleep(0)  # let the other threads at the store between batches

        def work(tx: Tx) -> None:
            if tx.run("DELETE FROM disputed WHERE ts < ?", (cutoff,)):
                bump(tx, "disputed")
                self._cache.disputed.clear()
            if tx.run("DELETE FROM alerts WHERE at < ?", (cutoff,)):
                bump(tx, "alerts")

        self._write(work)
        return removed

    def series_ids(self) -> set[str]:
        return {str(row[0]) for row in self._read("SELECT name FROM series")}

    # ---- an unfinished copy ---------------------------------------------------------------------------------

    def copy_mark(self) -> str | None:
        """What an unfinished `store copy` into this store left (where from, since when), or None."""
        rows = self._read("SELECT value FROM meta WHERE key = ?", (COPY_MARK,))
        return str(rows[0][0]) if rows else None

    def set_copy_mark(self, text: str | None) -> None:
        if text is None:
            self._write(lambda tx: tx.run("DELETE FROM meta WHERE key = ?", (COPY_MARK,)), notify=False)
        else:
            self._write(lambda tx: tx.run("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                                          "value = excluded.value", (COPY_MARK, text)), notify=False)

    # ---- health and the summary ----------------------------------------------------------------------------

    def save_health(self, record: Health) -> None:
        def work(tx: Tx) -> None:
            tx.run(r.upsert("health"), r.health_values(record))
            bump(tx, "health")

        self._write(work)

    def health(self) -> list[Health]:
        return [r.health_row(row) for row in self._read(f"SELECT {', '.join(r.COLUMNS['health'])} FROM health "
                                                        "ORDER BY source")]

    def save_summary(self, summary: Mapping[str, object]) -> None:
        """What the collector judged last (see tui.core.judge.status.Summary), for `tapecheck status` to read."""
        text = json.dumps(summary)
        self._write(lambda tx: tx.run("INSERT INTO meta VALUES ('summary', ?) ON CONFLICT (key) DO UPDATE SET "
                                      "value = excluded.value", (text,)), notify=False)

    def summary(self) -> dict[str, Any] | None:
        """The collector's last summary, or None (none kept, or not readable)."""
        rows = self._read("SELECT value FROM meta WHERE key = 'summary'")
        return r.parse_summary(rows[0][0] if rows else None)

    # ---- disputed values ------------------------------------------------------------------------------------

    def add_disputed(self, rows: Iterable[tuple[Observation, str]]) -> int:
        """Keep values that disagreed with the other sources (tui.collect.consistency), each with why: apart
        from the observations, so that no question about values ever reads them. Returns rows added."""
        batch = r.disputed_values(rows)
        if not batch:
            return 0

        def work(tx: Tx) -> int:
            added = tx.many("INSERT INTO disputed VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", batch)
            bump(tx, "disputed")
            self._cache.disputed.clear()
            return added

        return self._write(work)

    def disputed(self, limit: int = 100) -> list[tuple[Observation, str]]:
        """The newest disputed values, newest first, each with why."""
        return [r.disputed_row(row) for row in self._read(
            "SELECT series, source, ts, value, unit, reason FROM disputed ORDER BY ts DESC, source LIMIT ?",
            (limit,))]

    def disputed_count(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM disputed")[0][0])

    def disputed_latest(self, series: str, now: datetime) -> list[Observation]:
        """Each source's latest disputed value of `series` at or before `now` (a rule says a claim is disputed
        when these are all it has that is fresh; they are never read as values)."""
        def read(until: int) -> list[tuple[Any, ...]]:
            return self._read("SELECT series, source, ts, value, unit, '' FROM disputed d WHERE series = ? AND ts = "
                              "(SELECT MAX(ts) FROM disputed e WHERE e.series = d.series AND e.source = d.source "
                              "AND e.ts <= ?) ORDER BY source", (series, until))

        now_ms = to_ms(now)
        try:
            with self._cache_lock():  # each source's newest, kept until the disputed values' mark moves
                self._notice_other_writers()
                rows = self._cache.disputed.get(series)
                if rows is None:
                    rows = self._cache.disputed[series] = read(FOREVER_MS)
            if any(int(row[2]) > now_ms for row in rows):
                rows = read(now_ms)
        except TapecheckError as error:  # the server is away: no word on disputes, as on values
            self._offline(error)
            return []
        return [r.disputed_row(row)[0] for row in rows]

    # ---- then-verdicts and history coverage -----------------------------------------------------------------

    def then_verdicts(self) -> dict[str, Cached]:
        return r.verdicts(self._read("SELECT claim_id, fingerprint, status, value, deviation_pct, explanation, "
                                     "evidence FROM then_verdicts"))

    def save_then_verdicts(self, rows: list[tuple[str, Cached]]) -> None:
        stamp = to_ms(datetime.now(UTC))

        def work(tx: Tx) -> None:
            tx.many(r.upsert("then_verdicts"), [r.verdict_values(claim_id, c, stamp) for claim_id, c in rows])
            bump(tx, "verdicts")

        self._write(work)

    def forget_then_verdicts(self, keep: set[str]) -> int:
        """Drop the then-verdicts of claims not in `keep` (removed from the files); returns how many."""
        stored = [str(row[0]) for row in self._read("SELECT claim_id FROM then_verdicts")]
        gone = [(claim_id,) for claim_id in stored if claim_id not in keep]
        if gone:
            def work(tx: Tx) -> None:
                tx.many("DELETE FROM then_verdicts WHERE claim_id = ?", gone)
                bump(tx, "verdicts")

            self._write(work)
        return len(gone)

    def history_coverage(self, job: str) -> tuple[date, date] | None:
        """The days a history job has fetched completely, or None when it never has."""
        rows = self._read("SELECT first_day, last_day FROM history_coverage WHERE job = ?", (job,))
        return (date.fromisoformat(rows[0][0]), date.fromisoformat(rows[0][1])) if rows else None

    def save_history_coverage(self, job: str, first: date, last: date) -> None:
        values = (job, first.isoformat(), last.isoformat(), to_ms(datetime.now(UTC)))
        self._write(lambda tx: tx.run(r.upsert("history_coverage"), values))

    def forget_history(self) -> None:
        """Forget what history was fetched and every then-verdict, so both are fetched and judged again."""
        def work(tx: Tx) -> None:
            tx.run("DELETE FROM history_coverage")
            tx.run("DELETE FROM then_verdicts")
            bump(tx, "verdicts")

        self._write(work)

    # ---- a collector and its viewers ------------------------------------------------------------------------

    def commit_seq(self) -> int:
        """A number that grows with every committed append that added rows, whoever made it (not with a prune:
        thinning old rows to each day's last changes no answer a viewer shows)."""
        self._look_again()
        return int(self._read("SELECT value FROM meta WHERE key = 'commit_seq'")[0][0])

    def changed_series(self, since: int) -> tuple[int, set[str]]:
        """The current commit number and the series appended to after commit `since` (one statement: one
        snapshot for both answers)."""
        self._look_again()
        rows = self._read("SELECT m.value, s.name FROM meta m LEFT JOIN series s ON s.changed_seq > ? "
                          "WHERE m.key = 'commit_seq'", (since,))
        return int(rows[0][0]), {str(row[1]) for row in rows if row[1] is not None}

    def changes(self) -> Changes:
        """The marks of what was committed (see Changes): one small read, for a viewer to poll."""
        self._look_again()
        found = dict(self._read(f"SELECT key, value FROM meta WHERE key IN ('commit_seq'{', ?' * len(MARKS)})",
                                tuple(MARKS.values())))
        return Changes(int(found.get("commit_seq", 0)), *(int(found.get(key, 0)) for key in MARKS.values()))

    def post_request(self, kind: str) -> None:
        """A viewer asks the collector to refresh, pause or resume, or to acknowledge alerts (`ack:ID`, or
        `ack-upto:ID` for every alert up to ID)."""
        r.check_request(kind)
        values = (kind, to_ms(datetime.now(UTC)))

        def work(tx: Tx) -> None:
            tx.run(POST_REQUEST, values)
            bump(tx, "requests")

        self._write(work)

    def last_request_id(self) -> int:
        return int(self._read("SELECT COALESCE(MAX(id), 0) FROM requests")[0][0])

    def last_request(self, names: tuple[str, ...]) -> tuple[str, datetime] | None:
        """The newest request of one of `names` (e.g. pause, resume) as posted (`pause:alice@desk`), and when."""
        return r.newest_request(self._read("SELECT kind, at FROM requests ORDER BY id DESC LIMIT 200"), names)

    def take_requests(self, after: int) -> list[tuple[int, str]]:
        """The requests posted after request `after`, oldest first."""
        return [(int(i), str(k)) for i, k in self._read("SELECT id, kind FROM requests WHERE id > ? ORDER BY id",
                                                        (after,))]

    def save_collector(self, info: r.CollectorInfo) -> None:
        values = (info.pid, info.host, to_ms(info.started_at), info.paused)

        def work(tx: Tx) -> None:
            tx.run("INSERT INTO collector VALUES (1, ?, ?, ?, ?) ON CONFLICT (one) DO UPDATE SET pid = excluded.pid, "
                   "host = excluded.host, started_at = excluded.started_at, paused = excluded.paused", values)
            bump(tx, "collector")

        self._write(work)

    def collector(self) -> r.CollectorInfo | None:
        rows = self._read("SELECT pid, host, started_at, paused FROM collector")
        return r.collector_row(rows[0]) if rows else None

    # ---- alerts ---------------------------------------------------------------------------------------------

    def add_alerts(self, alerts: Iterable[Alert]) -> list[Alert]:
        """Keep alerts the collector fired; returns them with their ids."""
        batch = list(alerts)

        def work(tx: Tx) -> list[Alert]:
            kept = [replace(alert, id=int(tx.all(
                "INSERT INTO alerts (at, kind, subject, before_state, after_state, message, value, level, unit, "
                "delivery) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id", r.alert_values(alert))[0][0]))
                for alert in batch]
            bump(tx, "alerts")
            return kept

        return self._write(work) if batch else []

    def alerts(self, after: int = 0, since: datetime | None = None, limit: int = 500) -> list[Alert]:
        """The newest alerts (after id `after`, at or after `since`), newest first."""
        start = to_ms(since) if since is not None else -FOREVER_MS
        return [r.alert_row(row) for row in self._read(
            f"SELECT {r.ALERT_COLUMNS} FROM alerts WHERE id > ? AND at >= ? ORDER BY id DESC LIMIT ?",
            (after, start, limit))]

    def last_alerts(self) -> dict[str, tuple[str, datetime]]:
        """Per claim or rule ("kind:subject"), what its last alert said and when: the collector's baselines."""
        return {f"{row[0]}:{row[1]}": (str(row[2]), from_ms(int(row[3]))) for row in self._read(LAST_ALERTS)}

    def unacked_alerts(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM alerts WHERE acked_at IS NULL")[0][0])

    def set_alert_delivery(self, alert_id: int, delivery: str) -> None:
        def work(tx: Tx) -> None:
            tx.run("UPDATE alerts SET delivery = ? WHERE id = ?", (delivery, alert_id))
            bump(tx, "alerts")

        self._write(work)

    def ack_alerts(self, alert_id: int, through: bool = False) -> int:
        """Acknowledge alert `alert_id` (with `through`, every alert up to it); returns how many were new."""
        def work(tx: Tx) -> int:
            count = tx.run(f"UPDATE alerts SET acked_at = ? WHERE id {'<=' if through else '='} ? "
                           "AND acked_at IS NULL", (to_ms(datetime.now(UTC)), alert_id))
            bump(tx, "alerts")
            return max(0, count)

        return self._write(work)

    # ---- moving a store (tapecheck store copy) ------------------------------------------------------------

    def export_observations(self) -> Iterator[Observation]:
        """Every observation, ordered by series name, source and time, read in chunks."""
        for series_id, name, unit in self._read("SELECT id, name, unit FROM series ORDER BY name"):
            after: tuple[str, int] = ("", -FOREVER_MS)
            while True:
                rows = self._read("SELECT source, ts, value FROM observations WHERE series_id = ? AND "
                                  "(source, ts) > (?, ?) ORDER BY source, ts LIMIT 50000", (series_id, *after))
                if not rows:
                    break
                yield from r.observations(str(name), str(unit), rows)
                after = (str(rows[-1][0]), int(rows[-1][1]))

    def export_table(self, table: str) -> list[tuple[object, ...]]:
        """The rows of one of the small tables (health, then_verdicts, history_coverage, alerts), as stored."""
        if table not in COPIED_TABLES:
            raise TapecheckError(f"not a table to copy: {table}")
        return [tuple(row) for row in self._read(f"SELECT {', '.join(r.COLUMNS[table])} FROM {table} "
                                                 f"ORDER BY {TABLE_ORDER.get(table, '1')}")]

    def import_table(self, table: str, rows: list[tuple[object, ...]]) -> None:
        if table not in COPIED_TABLES:
            raise TapecheckError(f"not a table to copy: {table}")
        if not rows:
            return

        def work(tx: Tx) -> None:
            tx.many(r.upsert(table), rows)
            if table in ("alerts", "health", "disputed"):
                bump(tx, table)
                self._cache.disputed.clear()
            elif table == "then_verdicts":
                bump(tx, "verdicts")

        self._write(work)
        self._after_import(table)
