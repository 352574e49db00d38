"""A viewer's daily closes of past days, kept from one state to the next.

A collector commits every few seconds, and each commit marks the series it appended to as changed; the store
then forgets their closes and reads a year of them again (a query per series), though a poll of today's price
changes no close before today. `KeptCloses` keeps each series' closes before today in the viewer and asks the
store again only when the day turns or when the series' history changed: when its newest value before today
(each source's last of yesterday, `Store.at`, one indexed read) is not the one seen when the closes were read.
A fetch of past bars reaches yesterday's, so it is seen too; a prune thins old rows to each day's last value
and changes no close. Today's close is each source's latest value, as the store computes it.

A past day's bar (`at`: each source's last value of that day) rests on the same rows, so it is kept the same way:
read once per series and day before today, and read again when the series' history changes or the day turns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from statistics import median
from typing import Protocol

from tui.core.model import Observation
from tui.core.tape import end_of_day

Mark = tuple[tuple[str, datetime, float], ...]


class ClosesSource(Protocol):
    """What KeptCloses reads: the store's answers (tui.core.store)."""

    def latest(self, series: str, now: datetime) -> list[Observation]: ...

    def at(self, series: str, day: date) -> list[Observation]: ...

    def daily(self, series: str, now: datetime) -> list[tuple[date, float]]: ...

    def series_ids(self) -> set[str]: ...

    def disputed_latest(self, series: str, now: datetime) -> list[Observation]: ...


def history_mark(store: ClosesSource, series: str, today: date) -> Mark:
    """What changes when a series' values before `today` do: each source's last value of the day before."""
    return tuple(sorted((o.source, o.ts, o.value) for o in store.at(series, today - timedelta(days=1))))


class KeptCloses:
    """A tape over the store whose closes before today are kept between states (see the module's docstring).
    Not thread-safe: the engine's one build at a time uses it."""

    def __init__(self, store: ClosesSource, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock  # the engine's: which day is today
        self._past: dict[str, tuple[date, Mark, list[tuple[date, float]]]] = {}
        self._bars: dict[str, tuple[date, Mark, dict[date, list[Observation]]]] = {}  # past days' `at`, by series
        self.reads = 0  # how often the closes were read from the store

    def latest(self, series: str, now: datetime) -> list[Observation]:
        return self.store.latest(series, now)

    def at(self, series: str, day: date) -> list[Observation]:
        today = self.clock().astimezone(UTC).date()
        if day >= today:  # today's bar is still being made
            return self.store.at(series, day)
        kept = self._bars.get(series)
        if kept is None or kept[0] != today:
            kept = self._bars[series] = (today, history_mark(self.store, series, today), {})
        if day not in kept[2]:
            kept[2][day] = self.store.at(series, day)
        return list(kept[2][day])

    def series_ids(self) -> set[str]:
        return self.store.series_ids()

    def disputed_latest(self, series: str, now: datetime) -> list[Observation]:
        return self.store.disputed_latest(series, now)

    def daily(self, series: str, now: datetime) -> list[tuple[date, float]]:
        today = now.astimezone(UTC).date()
        kept = self._past.get(series)
        if kept is None or kept[0] != today:
            mark = history_mark(self.store, series, today)
            closes = self.store.daily(series, now)
            self.reads += 1
            self._past[series] = (today, mark, [c for c in closes if c[0] < today])
            return closes
        start = end_of_day(today - timedelta(days=1))
        latest = [o.value for o in self.store.latest(series, now) if o.ts >= start]
        return [*kept[2], (today, float(median(latest)))] if latest else list(kept[2])

    def appended(self, series: Iterable[str]) -> None:
        """The collector appended to these series: forget the closes of those whose history changed."""
        for name in series:
            marks: dict[date, Mark] = {}  # one read per day the kept values are of (the same, but at midnight)
            for kept in (self._past, self._bars):
                entry = kept.get(name)
                if entry is None:
                    continue
                if entry[0] not in marks:
                    marks[entry[0]] = history_mark(self.store, name, entry[0])
                if marks[entry[0]] != entry[1]:
                    del kept[name]

    def forget(self) -> None:
        """Read every series' closes again (the store may have been replaced, or a collector came or went)."""
        self._past.clear()
        self._bars.clear()
