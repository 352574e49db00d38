"""The windows of share(), corr() and beta() in polars: series joined on their common trading days, rolling
correlations and slopes over years of daily closes in one pass. `check` and the collector use it; the viewer
never imports this module (nor polars): it reads tui.core.narratives.rules.windows.PURE_WINDOWS, which gives the same
answers (tests/test_windows.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

import polars as pl

from tui.core.narratives.rules.windows import Closes


class PolarsWindows:
    """Common trading days by an inner join of the series' daily closes; rolling statistics of their returns."""

    name = "polars"

    def common(self, closes: Sequence[Closes]) -> tuple[list[date], list[list[float]]]:
        if not closes:
            return [], []
        frames = [pl.DataFrame({"day": [d for d, _ in rows], f"v{i}": [v for _, v in rows]},
                               schema={"day": pl.Date, f"v{i}": pl.Float64})
                  for i, rows in enumerate(closes)]
        joined = frames[0]
        for frame in frames[1:]:
            joined = joined.join(frame, on="day", how="inner")
        joined = joined.sort("day")
        return joined["day"].to_list(), [joined[f"v{i}"].to_list() for i in range(len(closes))]

    def rolling(self, xs: Sequence[float], ys: Sequence[float], days: int, kind: str) -> list[float | None]:
        if len(xs) <= days:
            return [None] * len(xs)
        frame = pl.DataFrame({"a": list(xs), "b": list(ys)}, schema={"a": pl.Float64, "b": pl.Float64})
        ra = pl.col("a") / pl.col("a").shift(1) - 1
        rb = pl.col("b") / pl.col("b").shift(1) - 1
        if kind == "corr":
            stat = pl.rolling_corr(ra, rb, window_size=days)
        else:
            stat = pl.rolling_cov(ra, rb, window_size=days) / rb.rolling_var(window_size=days)
        values = frame.select(stat.alias("s"))["s"].to_list()
        out: list[float | None] = []
        for value in values:
            if value is None or not math.isfinite(value):
                out.append(None)
            else:
                out.append(max(-1.0, min(1.0, value)) if kind == "corr" else value)
        return out


POLARS_WINDOWS = PolarsWindows()
