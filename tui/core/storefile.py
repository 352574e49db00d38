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

from tui.core.model import TapecheckError
from tui.core.oserrors import file_in_the_way

APPLICATION_ID = 0x54617043  # "TapC" in the SQLite header
OUR_TABLES = frozenset({"meta", "series", "observations", "health", "then_verdicts", "history_coverage",
                        "requests", "collector", "disputed", "sqlite_sequence", "alerts"})
SIDE_FILES = ("-wal", "-shm", "-journal")
_DAY_MS = 86_400_000
FULL_CHECK_BYTES = 64 * 1024 * 1024  # stores up to this size are checked page by page at every open


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
class Salvage:
    """What a repair kept: observations copied, series with an unreadable part, where the old file went."""

    observations: int
    series: int
    damaged_series: tuple[str, ...]
    kept_at: Path


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


def repair(path: Path, make_store: Callable[[Path], None], now: datetime | None = None) -> Salvage:
    """Move the store at `path` aside and copy what can be read into a new store there (`make_store` creates an
    empty one), with the alert log. Then-verdicts and history coverage are not copied: the history is fetched and
    judged again."""
    if not path.is_file():
        raise TapecheckError(f"{path}: no store there to repair")
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as probe, suppress(sqlite3.DatabaseError):
        found = probe.execute("PRAGMA application_id").fetchone()[0]
        if found not in (0, APPLICATION_ID):
            raise TapecheckError(f"{path}: not a tapecheck store (application id {found}); nothing repaired")
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
        with suppress(sqlite3.DatabaseError):  # health is redone on the next poll; losing it loses nothing
            new.executemany("INSERT OR REPLACE INTO health VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            _rows(old, "SELECT * FROM health"))
            new.commit()
        with suppress(sqlite3.DatabaseError):  # the alert log: what can be read of it (an older store has none)
            new.executemany(f"INSERT OR IGNORE INTO alerts VALUES ({', '.join('?' * 12)})",
                            _rows(old, "SELECT * FROM alerts"))
            new.commit()
    return Salvage(copied, series_count, tuple(damaged), aside)
