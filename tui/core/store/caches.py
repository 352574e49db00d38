"""What the dashboard asks of the store on every redraw, kept until a write may change it (both backends).

Per series: each source's newest row, until the series is appended to; the daily closes of the days before
today, until an observation older than today is appended (or the day turns). A backend drops a series' kept
answers when another process appended to it, and all of them when it cannot tell what changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from tui.core.model import Observation
from tui.core.store.rows import Row, day_closes


class TapeCache:
    """The kept answers of one store connection. Not locked: its store holds its lock around each use."""

    def __init__(self) -> None:
        self.newest: dict[str, list[Row]] = {}  # series -> each source's newest row
        self.closes: dict[str, tuple[date, list[tuple[date, float]]]] = {}  # series -> (up to, exclusive; closes)

    def clear(self) -> None:
        self.newest.clear()
        self.closes.clear()

    def forget(self, names: Iterable[str]) -> None:
        """Drop what is kept of series another writer appended to."""
        for name in names:
            self.newest.pop(name, None)
            self.closes.pop(name, None)

    def forget_appended(self, batch: Iterable[Observation]) -> None:
        """Drop the kept answers that appending `batch` may change."""
        for obs in batch:
            self.newest.pop(obs.series, None)
            kept = self.closes.get(obs.series)
            if kept is not None and obs.ts.date() < kept[0]:
                del self.closes[obs.series]

    def newest_rows(self, series: str, read: Callable[[], list[Row]]) -> list[Row]:
        found = self.newest.get(series)
        if found is None:
            found = self.newest[series] = read()
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
