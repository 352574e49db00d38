"""`tapecheck store copy --from A --to B`: move a store between backends (or hosts), with nothing lost.

Every observation is read in (series, source, time) order and appended in batches; the health records,
then-verdicts and history coverage are copied row for row. Then both stores are read again, whole, and
their counts and SHA-256 checksums compared, table by table: the copy is said to be whole only when every
one agrees. The destination must hold no observations yet, so that the comparison means something.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import islice

from tui.core.model import Observation, TapecheckError
from tui.core.store import COPIED_TABLES, Store, to_ms

BATCH = 50_000


@dataclass(frozen=True, slots=True)
class TableSum:
    """One table's row count and checksum in the source and in the destination."""

    table: str
    rows_from: int
    rows_to: int
    sum_from: str
    sum_to: str

    @property
    def same(self) -> bool:
        return self.rows_from == self.rows_to and self.sum_from == self.sum_to


def _digest(rows: Iterable[object]) -> tuple[int, str]:
    digest = hashlib.sha256()
    count = 0
    for row in rows:
        digest.update(repr(row).encode())
        digest.update(b"\n")
        count += 1
    return count, digest.hexdigest()


def _observation_rows(store: Store) -> Iterable[tuple[object, ...]]:
    """Observations as plain values, in the order both backends export them (byte order of series, source)."""
    return ((o.series, o.unit, o.source, to_ms(o.ts), o.value) for o in store.export_observations())


def table_sums(source: Store, destination: Store) -> list[TableSum]:
    sums = []
    for table, read in [("observations", _observation_rows), *[(t, _table_reader(t)) for t in COPIED_TABLES]]:
        rows_from, sum_from = _digest(read(source))
        rows_to, sum_to = _digest(read(destination))
        sums.append(TableSum(table, rows_from, rows_to, sum_from, sum_to))
    return sums


def _table_reader(table: str) -> Callable[[Store], Iterable[tuple[object, ...]]]:
    return lambda store: store.export_table(table)


def copy_store(source: Store, destination: Store, progress: Callable[[int], None] = lambda n: None) -> list[TableSum]:
    """Copy everything from `source` into the empty `destination`; each table's counts and checksums."""
    held = destination.count()
    if held:
        raise TapecheckError(f"{destination.location}: already holds {held:,} observations; "
                             f"copy into a new, empty store")
    rows = iter(source.export_observations())
    copied = 0
    while True:
        chunk: list[Observation] = list(islice(rows, BATCH))
        if not chunk:
            break
        destination.append(chunk)
        copied += len(chunk)
        progress(copied)
    for table in COPIED_TABLES:
        destination.import_table(table, source.export_table(table))
    return table_sums(source, destination)


def report(sums: list[TableSum], source: Store, destination: Store) -> list[str]:
    """What was compared, one line a table, and the verdict."""
    lines = [f"from {source.location}", f"to   {destination.location}"]
    for s in sums:
        mark = "same" if s.same else "DIFFERENT"
        lines.append(f"{s.table:17} {s.rows_from:>12,} → {s.rows_to:>12,} rows  "
                     f"sha256 {s.sum_from[:16]} → {s.sum_to[:16]}  {mark}")
    whole = all(s.same for s in sums)
    lines.append("copied whole: every count and checksum agrees" if whole
                 else "the copy DIFFERS from its source: see the tables marked DIFFERENT")
    return lines
