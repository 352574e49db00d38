"""Which values are refused as readings, wherever they come from: the collector's sources before anything is
stored, and a snapshot, tape or replay when it is read (tui/core/snapshot.py). Pure functions, no network.

A value is refused when it is not a finite positive number, when it is larger than any reading of its kind can
be (a unit or scale error), when a network series is outside its plausible range for its day, when its time is
before Bitcoin's first block (seconds read as milliseconds) or ahead of the clock, and when it comes from a
synthetic source (the demo's), which never mixes with real data.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from tui.core.model import Observation, SeriesId

# Above these a value is a unit or scale error, not a reading: no price tapecheck reads reaches 1e12 of its
# currency (an IDR share is about 1e4), no market value 1e17; the network series have their own, tighter, range
# (PLAUSIBLE).
MAX_VALUE = {"market_cap": 1e17, "hashrate": math.inf, "difficulty": math.inf}
MAX_PRICE = 1e12

# Timestamps further ahead of our clock than this are rejected as "in the future" (clock skew allowance), and
# any before Bitcoin's first block as a unit error (seconds read as milliseconds land in 1970).
FUTURE_SKEW = timedelta(minutes=5)
EARLIEST = datetime(2009, 1, 1, tzinfo=UTC)

HASHRATE = "network:bitcoin:hashrate"
DIFFICULTY = "network:bitcoin:difficulty"
# A value outside these bounds is a unit or scale error (TH/s read as H/s, say), not a reading. Difficulty started
# at 1, which is about 7e6 H/s; hashrate passed 1e10 H/s in 2010 and 1 TH/s in 2011, and is about 1 ZH/s in 2026:
# the floor rises with the day a value is for (HASHRATE_FLOORS), so that mempool.space's history back to 2009 is
# accepted and a live TH/s read as H/s is not.
PLAUSIBLE = {HASHRATE: (1e6, 1e25), DIFFICULTY: (1.0, 1e18)}
HASHRATE_FLOORS = ((datetime(2011, 1, 1, tzinfo=UTC), 1e6), (datetime(2012, 1, 1, tzinfo=UTC), 1e9))
HASHRATE_FLOOR = 1e12  # from 2012 on

# Observations from these sources are synthetic (the demo) and are refused, so they never mix with real data.
SYNTHETIC_SOURCES = ("demo",)


def check_value(series: str, value: float, ts: datetime, now: datetime | None) -> str | None:
    """Why a value must not be stored or read, or None when it may be. Prices and rates must be positive.
    `now` None: no clock to be ahead of (a file read on its own)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{series}: value {value!r} is not a number"
    if not math.isfinite(value):
        return f"{series}: value {value} is not finite"
    if value <= 0:
        return f"{series}: value {value} is not positive"
    ceiling = MAX_VALUE.get(series.rsplit(":", 1)[-1], MAX_PRICE)
    if value > ceiling:
        return f"{series}: value {value:.4g} is implausibly large (above {ceiling:g})"
    if ts.tzinfo is None:
        return f"{series}: timestamp {ts} has no time zone"
    if now is not None and ts > now + FUTURE_SKEW:
        return f"{series}: timestamp {ts.isoformat()} is in the future"
    if ts < EARLIEST:
        return f"{series}: timestamp {ts.isoformat()} is before 2009 (a unit error)"
    return None


def check_plausible(series: str, value: float, ts: datetime) -> str | None:
    """Why a network value is outside the plausible range for its day, or None (and for any other series)."""
    if series not in PLAUSIBLE:
        return None
    low, high = PLAUSIBLE[series]
    if series == HASHRATE:
        low = next((floor for until, floor in HASHRATE_FLOORS if ts < until), HASHRATE_FLOOR)
    if not low <= value <= high:
        unit = SeriesId.parse(series).unit
        return f"{series}: value {value:.4g} {unit} is outside the plausible range {low:g}–{high:g}"
    return None


def refusal(obs: Observation, now: datetime | None = None, synthetic_ok: bool = False) -> str | None:
    """Why an observation read from a file is refused as the collector would refuse it, or None."""
    if obs.source in SYNTHETIC_SOURCES and not synthetic_ok:
        return (f"{obs.series}: source {obs.source!r} is synthetic (the demo's): demo data never mixes with real "
                "data (replay the demo with `tapecheck --demo`)")
    return check_value(obs.series, obs.value, obs.ts, now) or check_plausible(obs.series, obs.value, obs.ts)
