"""The collector's windows for share(), corr() and beta(): plain Python over the few hundred daily closes a claim
usually reads, polars (imported on first need) over years of them.

A corr() or beta() judged now joins each series' whole daily history once and computes one window of `days`
returns: plain Python does that in a fraction of a millisecond for a year of closes, where polars spends a few
building its frames, and polars itself costs the collector ~25 MB of memory. A share() over years computes a
window for every day: there polars is tens of times faster. Both give the same answers (tests/test_bars.py,
tests/test_collector_windows.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from tui.core.narratives.rules.windows import PURE_WINDOWS, Closes, Windows

LONG_HISTORY = 2000  # closes in one series from which its days are joined in polars
MANY_WINDOWS = 20  # rolling windows from which they are computed in polars


class CollectorWindows:
    """PURE_WINDOWS for short histories and single windows, POLARS_WINDOWS (imported when first needed) beyond."""

    name = "collector"

    def __init__(self, long_history: int = LONG_HISTORY, many_windows: int = MANY_WINDOWS) -> None:
        self.long_history = long_history
        self.many_windows = many_windows

    @staticmethod
    def columnar() -> Windows:
        from tui.core.narratives.rules.columnar import POLARS_WINDOWS

        return POLARS_WINDOWS

    def common(self, closes: Sequence[Closes]) -> tuple[list[date], list[list[float]]]:
        long = any(len(rows) >= self.long_history for rows in closes)
        return (self.columnar() if long else PURE_WINDOWS).common(closes)

    def rolling(self, xs: Sequence[float], ys: Sequence[float], days: int, kind: str) -> list[float | None]:
        many = len(xs) - days > self.many_windows
        return (self.columnar() if many else PURE_WINDOWS).rolling(xs, ys, days, kind)


COLLECTOR_WINDOWS = CollectorWindows()
