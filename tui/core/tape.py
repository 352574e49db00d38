"""A tape: observations indexed for the questions rules ask (latest per source, value at a date, daily closes).

`MemoryTape` holds a snapshot file's observations. Other tapes (the store) answer the same three questions.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from statistics import median
from typing import Protocol

from tui.core.model import Observation

# How far before a date `at()` may look for a value: a week covers weekends and long holidays.
AT_LOOKBACK = timedelta(days=8)


def end_of_day(day: date) -> datetime:
    """The first instant after `day`, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(), UTC)


class Tape(Protocol):
    """What the rule evaluator needs to know about the observations."""

    def latest(self, series: str, now: datetime) -> list[Observation]:
        """Each source's latest observation of `series` at or before `now`."""
        ...

    def at(self, series: str, day: date) -> list[Observation]:
        """Each source's latest observation on or before the end of `day`, within a week of it."""
        ...

    def daily(self, series: str, now: datetime) -> list[tuple[date, float]]:
        """Daily closes up to `now`: per UTC date, the median over sources of each one's last value that day."""
        ...

    def series_ids(self) -> set[str]:
        """Every series the tape holds."""
        ...


class CachedTape:
    """A tape that remembers its answers: one evaluation asks the same questions many times (a series' latest
    values for its row, its change and each claim that reads it). Made per evaluation, so never out of date."""

    def __init__(self, tape: Tape) -> None:
        self.tape = tape
        self._latest: dict[tuple[str, datetime], list[Observation]] = {}
        self._at: dict[tuple[str, date], list[Observation]] = {}
        self._daily: dict[tuple[str, datetime], list[tuple[date, float]]] = {}

    def latest(self, series: str, now: datetime) -> list[Observation]:
        key = (series, now)
        if key not in self._latest:
            self._latest[key] = self.tape.latest(series, now)
        return self._latest[key]

    def at(self, series: str, day: date) -> list[Observation]:
        key = (series, day)
        if key not in self._at:
            self._at[key] = self.tape.at(series, day)
        return self._at[key]

    def daily(self, series: str, now: datetime) -> list[tuple[date, float]]:
        key = (series, now)
        if key not in self._daily:
            self._daily[key] = self.tape.daily(series, now)
        return self._daily[key]

    def series_ids(self) -> set[str]:
        return self.tape.series_ids()

    def disputed_latest(self, series: str, now: datetime) -> list[Observation]:
        disputed = getattr(self.tape, "disputed_latest", None)
        return [] if disputed is None else list(disputed(series, now))


class MemoryTape:
    """Observations in memory, sorted per series and source. Of repeated (series, source, ts), the first wins,
    as in the append-only store. `disputed`: values of the file set aside as disagreeing with the other sources
    (tui.core.consistency), never read as values; only a claim left with nothing else is told of them."""

    def __init__(self, observations: Iterable[Observation], disputed: Iterable[Observation] = ()) -> None:
        self._disputed: dict[str, dict[str, list[Observation]]] = defaultdict(lambda: defaultdict(list))
        for obs in sorted(disputed, key=lambda o: o.ts):
            self._disputed[obs.series][obs.source].append(obs)
        merged: dict[str, dict[str, dict[datetime, Observation]]] = defaultdict(lambda: defaultdict(dict))
        for obs in observations:
            merged[obs.series][obs.source].setdefault(obs.ts, obs)
        self._rows: dict[str, dict[str, list[Observation]]] = {}
        self._times: dict[str, dict[str, list[datetime]]] = {}
        for series, by_source in merged.items():
            self._rows[series] = {}
            self._times[series] = {}
            for source, by_ts in by_source.items():
                rows = sorted(by_ts.values(), key=lambda o: o.ts)
                self._rows[series][source] = rows
                self._times[series][source] = [o.ts for o in rows]

    def __len__(self) -> int:
        return sum(len(rows) for by_source in self._rows.values() for rows in by_source.values())

    def series_ids(self) -> set[str]:
        return set(self._rows)

    def observations(self, series: str) -> list[Observation]:
        """Every observation of a series, oldest first, across sources."""
        return sorted((o for rows in self._rows.get(series, {}).values() for o in rows), key=lambda o: o.ts)

    def _last_before(self, series: str, limit: datetime, inclusive: bool) -> list[Observation]:
        found = []
        for source, rows in self._rows.get(series, {}).items():
            times = self._times[series][source]
            index = (bisect.bisect_right if inclusive else bisect.bisect_left)(times, limit)
            if index:
                found.append(rows[index - 1])
        return found

    def latest(self, series: str, now: datetime) -> list[Observation]:
        return self._last_before(series, now, inclusive=True)

    def disputed_latest(self, series: str, now: datetime) -> list[Observation]:
        """Each source's latest disputed value of `series` at or before `now`."""
        found = []
        for rows in self._disputed.get(series, {}).values():
            index = bisect.bisect_right([o.ts for o in rows], now)
            if index:
                found.append(rows[index - 1])
        return found

    def at(self, series: str, day: date) -> list[Observation]:
        end = end_of_day(day)
        return [o for o in self._last_before(series, end, inclusive=False) if o.ts >= end - AT_LOOKBACK]

    def daily(self, series: str, now: datetime) -> list[tuple[date, float]]:
        per_day: dict[date, dict[str, float]] = defaultdict(dict)
        for source, rows in self._rows.get(series, {}).items():
            for obs in rows:  # sorted by time, so the day's last value wins
                if obs.ts <= now:
                    per_day[obs.ts.date()][source] = obs.value
        return [(day, median(values.values())) for day, values in sorted(per_day.items())]
