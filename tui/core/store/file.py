"""The store's file checked at open, and salvaged when damaged.

At open: the file must be an SQLite database that is tapecheck's (its `application_id`, or, for a store from
before ids, our tables and nothing else) and must pass `PRAGMA quick_check`. A foreign database is never
written into; a damaged one is refused with what to do: `tapecheck store repair`, which moves the file aside
and copies what can still be read into a new store at the same path.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tui.core.locks import collector_holds
from tui.core.model import TapecheckError
from tui.core.oserrors import file_in_the_way
from tui.core.store.facts import APPLICATION_ID, FULL_CHECK_BYTES, OUR_TABLES

SIDE_FILES = ("-wal", "-shm", "-journal")
_DAY_MS = 86_400_000


def repair_hint(path: Path) -> str:
    return (f"run `tapecheck store repair --store {path}` to copy what can be read into a new store (the damaged "
            f"file is kept beside it), or move the file aside to start an empty one")


def check_identity(db: sqlite3.Connection, path: Path) -> None:
    """Refuse a database that is not ours; mark a new (or older, id-less) store of ours as tapecheck's."""
    found = db.execute("PRAGMA application_id").fetchone()[0]
    if found == APPLICATION_ID:
        return
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    foreign = tables - OUR_TABLES
    if found != 0 or foreign or (tables and "observations" not in tables):
        shown = ", ".join(sorted(foreign)[:5]) or "none of ours"
        raise TapecheckError(f"{path}: an SQLite database of another program (application id {found}, tables: "
                             f"{shown}); tapecheck will not write into it. Give another --store path")
    with suppress(sqlite3.OperationalError):  # a read-only store is still read
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def check_health(db: sqlite3.Connection, path: Path, full: bool | None = None) -> None:
    """`PRAGMA quick_check`: a damaged store is refused, with what to do, rather than crash a later query.

    It reads every page, about 0.8 s for 50 MB on a loaded machine; so a store above FULL_CHECK_BYTES has only
    its small tables (series, health, verdicts, coverage) checked at open, and `tapecheck store check` checks
    it all. `full` forces one or the other.
    """
    if full is None:
        full = _size(path) <= FULL_CHECK_BYTES
    try:
        problems = ["ok"]
        tables = [""]
        if not full:
            present = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            tables = [f"({name})" for name in sorted((OUR_TABLES - {"observations"}) & present)]
        for table in tables:
            found = [str(row[0]) for row in db.execute(f"PRAGMA quick_check{table}")]
            if found != ["ok"]:
                problems = found
                break
    except sqlite3.DatabaseError as error:
        problems = [str(error)]
    if problems != ["ok"]:
        first = " ".join(problems[0].replace("*** in database main ***", "").split())  # one line
        raise TapecheckError(f"{path}: the store is damaged ({first[:120]}); {repair_hint(path)}")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def describe_open_error(path: Path, error: BaseException) -> str:
    """Why a store could not be opened, said for a person: a file where a folder should be, not a database."""
    blocker = file_in_the_way(path)
    if blocker is not None:
        return f"{path}: cannot open the store: {blocker} is a file, not a folder"
    if isinstance(error, sqlite3.DatabaseError) and "not a database" in str(error):
        return f"{path}: not a tapecheck store (not an SQLite database); give another --store path or move it aside"
    if isinstance(error, sqlite3.DatabaseError) and "malformed" in str(error):
        return f"{path}: the store is damaged ({error}); {repair_hint(path)}"
    reason = error.strerror if isinstance(error, OSError) and error.strerror else error
    return f"{path}: cannot open the store: {reason}"


@dataclass(frozen=True, slots=True)
class TableKept:
    """What a repair kept of one table: rows copied, rows the damaged file listed (None: not even its count
    could be read), and what could not be kept, in words (empty when nothing was lost)."""

    table: str
    kept: int
    found: int | None
    lost: str = ""


@dataclass(frozen=True, slots=True)
class Salvage:
    """What a repair kept: observations copied, series with an unreadable part, where the old file went, and
    every other table's rows. `sound`: the store needed no repair, and nothing was moved."""

    observations: int
    series: int
    damaged_series: tuple[str, ...]
    kept_at: Path | None
    tables: tuple[TableKept, ...] = ()
    sound: bool = False


# Every table of a store but the observations and series (copied apart) and SQLite's and our bookkeeping (meta).
REPAIRED_TABLES = ("health", "then_verdicts", "history_coverage", "alerts", "disputed", "requests", "collector")


def _rows(old: sqlite3.Connection, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    return list(old.execute(sql, params))


def _series_rows(old: sqlite3.Connection, series_id: int) -> Iterator[tuple[object, ...]]:
    """A series' rows; where a page is unreadable, day by day around it, so one bad page loses only its days."""
    sql = "SELECT source, ts, value FROM observations WHERE series_id = ? AND ts >= ? AND ts < ?"
    try:
        yield from _rows(old, sql, (series_id, -2**62, 2**62))
        return
    except sqlite3.DatabaseError:
        pass
    try:
        first, last = _rows(old, "SELECT MIN(ts), MAX(ts) FROM observations WHERE series_id = ?", (series_id,))[0]
    except sqlite3.DatabaseError:
        first, last = None, None
    start = int(first) if isinstance(first, int) else 1_230_768_000_000  # 2009-01-01
    end = int(last) + 1 if isinstance(last, int) else int(datetime.now(UTC).timestamp() * 1000) + _DAY_MS
    for day in range(start - start % _DAY_MS, end, _DAY_MS):
        with suppress(sqlite3.DatabaseError):
            yield from _rows(old, sql, (series_id, day, day + _DAY_MS))
    raise _Damaged


class _Damaged(Exception):
    """Raised after a series was read around an unreadable part."""


def _table_rows(old: sqlite3.Connection, table: str, columns: list[str]) -> tuple[list[tuple[object, ...]], str]:
    """A table's readable rows, and what could not be read. Where a page is damaged, a table with rowids is
    read a block of rows at a time, and row by row inside a damaged block, so one bad page loses only its rows."""
    select = f"SELECT {', '.join(columns)} FROM {table}"
    try:
        return _rows(old, select), ""
    except sqlite3.DatabaseError:
        pass
    try:
        low, high = _rows(old, f"SELECT MIN(rowid), MAX(rowid) FROM {table}")[0]
    except sqlite3.DatabaseError:
        return [], "unreadable (damaged pages)"
    if not isinstance(low, int) or not isinstance(high, int):
        return [], "unreadable (damaged pages)"
    rows: list[tuple[object, ...]] = []
    unread = 0
    for block in range(low, high + 1, 256):
        try:
            rows += _rows(old, f"{select} WHERE rowid >= ? AND rowid < ?", (block, block + 256))
            continue
        except sqlite3.DatabaseError:
            pass
        for rowid in range(block, min(block + 256, high + 1)):
            try:
                rows += _rows(old, f"{select} WHERE rowid = ?", (rowid,))
            except sqlite3.DatabaseError:
                unread += 1
    return rows, f"{unread:,} rows on damaged pages" if unread else ""


def _copy_table(old: sqlite3.Connection, new: sqlite3.Connection, table: str) -> TableKept:
    """One table's readable rows into the new store, the columns both have."""
    new_columns = [str(r[1]) for r in new.execute(f"PRAGMA table_info({table})")]
    try:
        old_columns = [str(r[1]) for r in old.execute(f"PRAGMA table_info({table})")]
    except sqlite3.DatabaseError:
        return TableKept(table, 0, None, "unreadable (its schema is damaged)")
    if not old_columns:
        return TableKept(table, 0, 0)  # an older store had no such table
    columns = [c for c in old_columns if c in new_columns]
    try:
        found: int | None = int(str(_rows(old, f"SELECT COUNT(*) FROM {table}")[0][0]))
    except sqlite3.DatabaseError:
        found = None
    rows, lost = _table_rows(old, table, columns)
    insert = f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    kept = 0
    refused = 0
    for row in rows:  # one by one: a row the new schema refuses loses only itself
        try:
            new.execute(insert, row)
            kept += 1
        except sqlite3.Error:
            refused += 1
    new.commit()
    if refused:
        lost = ", ".join(filter(None, [lost, f"{refused:,} rows refused by the new store"]))
    return TableKept(table, kept, found, lost)


def repair(path: Path, make_store: Callable[[Path], None], now: datetime | None = None) -> Salvage:
    """Move the store at `path` aside and copy what can be read into a new store there (`make_store` creates an
    empty one): every observation, health record, verdict, history coverage, alert, disputed value and request
    that can still be read; what cannot is said per table. Refused while a collector writes the store (its new
    data would go into the file moved aside); a sound store is left as it is."""
    if not path.is_file():
        raise TapecheckError(f"{path}: no store there to repair")
    if collector_holds(path):
        raise TapecheckError(f"{path}: a collector is writing this store; stop it first (a repair moves the file "
                             "aside, and what the collector wrote next would be lost)")
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as probe:
        try:
            found = probe.execute("PRAGMA application_id").fetchone()[0]
        except sqlite3.DatabaseError:
            found = 0
        if found not in (0, APPLICATION_ID):
            raise TapecheckError(f"{path}: not a tapecheck store (application id {found}); nothing repaired")
        try:
            check_health(probe, path, full=True)
            sound = path.stat().st_size > 0 and bool(_rows(probe, "SELECT 1 FROM sqlite_master WHERE name = 'meta'"))
        except (TapecheckError, sqlite3.DatabaseError):
            sound = False
    if sound:
        return Salvage(0, 0, (), None, sound=True)
    for suffix in ("", *SIDE_FILES):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.rename(Path(f"{aside}{suffix}"))
    copied, damaged, series_count = 0, [], 0
    make_store(path)  # the schema, marked as ours
    with closing(sqlite3.connect(f"file:{aside}?mode=ro", uri=True)) as old, closing(sqlite3.connect(path)) as new:
        try:
            series = _rows(old, "SELECT id, name, unit FROM series")
        except sqlite3.DatabaseError as error:
            raise TapecheckError(f"{path}: the list of series cannot be read ({error}); nothing could be salvaged; "
                                 f"the damaged file is at {aside}") from None
        for series_id, name, unit in series:
            new.execute("INSERT OR IGNORE INTO series (name, unit) VALUES (?, ?)", (name, unit))
            new_id = new.execute("SELECT id FROM series WHERE name = ?", (name,)).fetchone()[0]
            rows: list[tuple[object, ...]] = []
            try:
                rows.extend(_series_rows(old, int(str(series_id))))
            except _Damaged:
                damaged.append(str(name))
            new.executemany("INSERT OR IGNORE INTO observations VALUES (?, ?, ?, ?)",
                            [(new_id, *row) for row in rows])
            new.commit()
            copied += len(rows)
            series_count += 1
        tables = tuple(_copy_table(old, new, table) for table in REPAIRED_TABLES)
    return Salvage(copied, series_count, tuple(damaged), aside, tables)
