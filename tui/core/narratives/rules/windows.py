"""Windows over daily closes, as share(), corr() and beta() read them: the common trading days of several
series (the days on which every one has a bar), and rolling statistics of daily returns over them.

Two implementations answer the same two questions: `PURE_WINDOWS` here, plain Python, which the viewer uses
(it never imports polars), and `tui.core.narratives.rules.columnar.POLARS_WINDOWS`, the columnar one `check` and the
collector use over years of history. tests/test_windows.py holds them to the same answers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from itertools import pairwise
from typing import Protocol

Closes = Sequence[tuple[date, float]]


class Windows(Protocol):
    """Common trading days and rolling statistics of daily returns."""

    name: str

    def common(self, closes: Sequence[Closes]) -> tuple[list[date], list[list[float]]]:
        """The days on which every series has a close, oldest first, and each series' closes on those days."""
        ...

    def rolling(self, xs: Sequence[float], ys: Sequence[float], days: int, kind: str) -> list[float | None]:
        """For each index i of the closes, `kind` ("corr" or "beta": the slope of xs' returns on ys') over the
        `days` daily returns ending at i (from the closes i - days to i); None before index `days`, or where a
        series did not move or the statistic is undefined."""
        ...


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """The Pearson correlation of two equal-length lists, or None when either has no variance."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    var_x = sum((x - mean_x) ** 2 for x in xs)
    var_y = sum((y - mean_y) ** 2 for y in ys)
    if var_x <= 0 or var_y <= 0:
        return None
    return max(-1.0, min(1.0, cov / math.sqrt(var_x * var_y)))


def slope(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """The least-squares slope of xs on ys, or None when ys did not move."""
    n = len(ys)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    var_y = sum((y - mean_y) ** 2 for y in ys)
    if var_y <= 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var_y


def returns(closes: Sequence[float]) -> list[float]:
    """Daily returns: index i is closes[i] / closes[i - 1] - 1 (NaN at 0, and after a close of 0)."""
    return [math.nan] + [b / a - 1 if a else math.nan for a, b in pairwise(closes)]


class PureWindows:
    """The windows in plain Python: sets for the common days, one pass per window for the statistics."""

    name = "python"

    def common(self, closes: Sequence[Closes]) -> tuple[list[date], list[list[float]]]:
        if not closes:
            return [], []
        maps = [dict(rows) for rows in closes]
        days = sorted(set.intersection(*(set(m) for m in maps)))
        return days, [[m[d] for d in days] for m in maps]

    def rolling(self, xs: Sequence[float], ys: Sequence[float], days: int, kind: str) -> list[float | None]:
        ra, rb = returns(xs), returns(ys)
        stat = pearson if kind == "corr" else slope
        out: list[float | None] = [None] * len(xs)
        for i in range(days, len(xs)):
            wa, wb = ra[i - days + 1:i + 1], rb[i - days + 1:i + 1]
            if any(math.isnan(v) for v in (*wa, *wb)):
                continue
            value = stat(wa, wb)
            out[i] = value if value is not None and math.isfinite(value) else None
        return out


PURE_WINDOWS = PureWindows()
