"""What the dashboard asks of the store on every redraw, kept until a write may change it (both backends).

Per series: each source's newest row, and its last row of a given day, until the series is appended to; the
daily closes of the days before today, until an observation older than today is appended (or the day turns);
each source's newest disputed value, until the disputed values' mark moves. A backend drops a series' kept
answers when another process appended to it, and all of them when it cannot tell what changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from tui.core.model import Observation
from tui.core.store.rows import Row, day_closes

DAYS_KEPT = 10_000  # (series, day) answers kept at most; then they are read again


class TapeCache:
    """The kept answers of one store connection. Not locked: its store holds its lock around each use."""

    def __init__(self) -> None:
        self.newest: dict[str, list[Row]] = {}  # series -> each source's newest row
        self.closes: dict[str, tuple[date, list[tuple[date, float]]]] = {}  # series -> (up to, exclusive; closes)
        self.days: dict[tuple[str, date], list[Row]] = {}  # (series, day) -> each source's last row of the day
        self.disputed: dict[str, list[tuple[Any, ...]]] = {}  # series -> each source's newest disputed row

    def clear(self) -> None:
        self.newest.clear()
        self.closes.clear()
        self.days.clear()
        self.disputed.clear()

    def forget(self, names: Iterable[str]) -> None:
        """Drop what is kept of series another writer appended to."""
        names = set(names)
        for name in names:
            self.newest.pop(name, None)
            self.closes.pop(name, None)
        self._forget_days(names)

    def forget_appended(self, batch: Iterable[Observation]) -> None:
        """Drop the kept answers that appending `batch` may change."""
        names = set()
        for obs in batch:
            names.add(obs.series)
            self.newest.pop(obs.series, None)
            kept = self.closes.get(obs.series)
            if kept is not None and obs.ts.date() < kept[0]:
                del self.closes[obs.series]
        self._forget_days(names)

    def _forget_days(self, names: set[str]) -> None:
        if names and self.days:
            for key in [key for key in self.days if key[0] in names]:
                del self.days[key]

    def newest_rows(self, series: str, read: Callable[[], list[Row]]) -> list[Row]:
        found = self.newest.get(series)
        if found is None:
            found = self.newest[series] = read()
        return found

    def day_rows(self, series: str, day: date, read: Callable[[], list[Row]]) -> list[Row]:
        """Each source's last row of `day`, kept until the series is appended to."""
        found = self.days.get((series, day))
        if found is None:
            if len(self.days) >= DAYS_KEPT:  # bounded: claims read a few days each
                self.days.clear()
            found = self.days[(series, day)] = read()
        return found

    def past_closes(self, series: str, today: date,
                    read: Callable[[], Iterable[tuple[int, float]]]) -> list[tuple[date, float]]:
        """The closes of the days before `today`, from (day number, a source's close) rows read when not kept."""
        kept = self.closes.get(series)
        if kept is not None and kept[0] == today:
            return kept[1]
        closes = day_closes(read())
        self.closes[series] = (today, closes)
        return closes
