"""What corr() and beta() work out from past days' closes, kept by a dashboard from one judgement to the next.

A dashboard judges corr() and beta() again at each commit of a price, over a year of daily closes: the common
trading days of the two series, the session days without a bar and the bars the window starts on, though a poll
of today's price changes no close before today. `KeptWindows`, held by the engine and passed in each context,
keeps them per pair of series for as long as the closes before today are the very rows they were worked out
from (the same objects: a tape that keeps its past closes, tui.core.judge.closes.KeptCloses, returns them again
until the day turns or the history changes) and the day is the same. Other rows (a new day, a history read again,
a close corrected) and they are worked out again. Today's closes are added afresh at each evaluation, so that a
value is always the one a fresh evaluation gives (tests/test_kept_windows.py holds them to it).
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

Rows = Sequence[tuple[date, float]]
Common = Callable[[Sequence[Rows]], tuple[list[date], list[list[float]]]]
T = TypeVar("T")


def _same_rows(kept: Rows, rows: Rows) -> bool:
    """The very same rows (identity, not equality: rows read again are worked out again)."""
    return len(kept) == len(rows) and all(map(operator.is_, kept, rows))


@dataclass(slots=True)
class KeptWindow:
    """A pair's (or any series') closes before `today`, their common trading days and closes on them, and what
    was worked out from those alone (`remember`)."""

    today: date
    past: tuple[Rows, ...]
    days: list[date]
    columns: list[list[float]]
    memo: dict[Hashable, object] = field(default_factory=dict)

    def remember(self, key: Hashable, work: Callable[[], T]) -> T:
        """`work()`'s answer, worked out once while these closes stand. `work` must read nothing of today."""
        if key not in self.memo:
            self.memo[key] = work()
        return self.memo[key]  # type: ignore[return-value]

    def common(self, closes: Sequence[Rows], common: Common) -> tuple[list[date], list[list[float]]]:
        """The common days and closes of `closes` (whose rows before today are `past`): the kept ones, then those
        of today (and of any later day) worked out afresh; new lists, which the caller may keep."""
        later = [rows[len(past):] for rows, past in zip(closes, self.past, strict=True)]
        if not all(later):  # some series has no close today: no common day after the past ones
            return list(self.days), [list(column) for column in self.columns]
        days, columns = common(later)
        return self.days + days, [kept + new for kept, new in zip(self.columns, columns, strict=True)]


class KeptWindows:
    """KeptWindow per tuple of series, as long as their past closes stand (see the module's docstring)."""

    def __init__(self) -> None:
        self._kept: dict[tuple[str, ...], KeptWindow] = {}
        self.worked_out = 0  # how often a window's past was worked out (tests)

    def window(self, series: tuple[str, ...], closes: Sequence[Rows], today: date, common: Common) -> KeptWindow:
        """The kept window of `series`, whose daily closes (each sorted by day) are `closes`; worked out again
        unless their rows before `today` are the ones it was worked out from."""
        past = tuple(rows[:bisect.bisect_left(rows, today, key=operator.itemgetter(0))] for rows in closes)
        kept = self._kept.get(series)
        if kept is None or kept.today != today or not all(map(_same_rows, kept.past, past)):
            days, columns = common(past)
            kept = self._kept[series] = KeptWindow(today, past, days, columns)
            self.worked_out += 1
        return kept

    def forget(self) -> None:
        """Work everything out again (the closes were read again from a store that may have been replaced)."""
        self._kept.clear()
