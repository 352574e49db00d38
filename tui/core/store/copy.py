"""`tapecheck store copy --from A --to B`: move a store between backends (or hosts), with nothing lost.

Every observation is read in (series, source, time) order and appended in batches; the health records,
then-verdicts, history coverage, alerts and disputed values are copied row for row. While it runs the
destination is marked incomplete (refused by every other command); `--resume` finishes a copy that was
killed half way. Then both stores are read again, whole, and
their counts and SHA-256 checksums compared, table by table: the copy is said to be whole only when every
one agrees. The destination must hold no observations yet, so that the comparison means something.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice

from tui.core.model import Observation, TapecheckError
from tui.core.store.base import COPIED_TABLES
from tui.core.store.protocol import Store
from tui.core.store.rows import to_ms

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


def copy_store(source: Store, destination: Store, progress: Callable[[int], None] = lambda n: None,
               resume: bool = False) -> list[TableSum]:
    """Copy everything from `source` into the empty `destination` (with `resume`, into one an interrupted copy
    left: what is there already is kept, the rest added); each table's counts and checksums. Until the copy is
    whole the destination carries a mark that every command refuses (`store check`, `status`, dashboards,
    collectors), so a copy killed half way never passes for a store."""
    mark = destination.copy_mark()
    if resume and mark is None and destination.count():
        raise TapecheckError(f"{destination.location}: no interrupted copy to resume here (it holds "
                             f"{destination.count():,} observations and no mark of an unfinished copy)")
    if not resume:
        if mark is not None:
            raise TapecheckError(f"{destination.location}: an interrupted copy left this store incomplete "
                                 f"({mark}); add --resume to finish it")
        held = destination.count()
        if held:
            raise TapecheckError(f"{destination.location}: already holds {held:,} observations; "
                                 f"copy into a new, empty store")
    destination.set_copy_mark(f"copy from {source.location} begun {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
    rows = iter(source.export_observations())
    copied = 0
    while True:
        chunk: list[Observation] = list(islice(rows, BATCH))
        if not chunk:
            break
        destination.append(chunk)  # a row already there (a resumed copy) is skipped
        copied += len(chunk)
        progress(copied)
    for table in COPIED_TABLES:
        destination.import_table(table, source.export_table(table))
    sums = table_sums(source, destination)
    if all(s.same for s in sums):
        destination.set_copy_mark(None)  # whole: a store like any other from now on
    return sums


def report(sums: list[TableSum], source: Store, destination: Store) -> list[str]:
    """What was compared, one line a table, and the verdict."""
    lines = [f"from {source.location}", f"to   {destination.location}"]
    for s in sums:
        mark = "same" if s.same else "DIFFERENT"
        lines.append(f"{s.table:17} {s.rows_from:>12,} → {s.rows_to:>12,} rows  "
                     f"sha256 {s.sum_from[:16]} → {s.sum_to[:16]}  {mark}")
    whole = all(s.same for s in sums)
    lines.append(f"copied whole: every count and checksum agrees ({len(sums)} tables)" if whole
                 else "the copy DIFFERS from its source: see the tables marked DIFFERENT; it stays marked "
                      "incomplete (run the copy again with --resume)")
    return lines
