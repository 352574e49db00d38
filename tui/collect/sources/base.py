"""What every source shares: the result of one poll, the errors a poll can raise, and value validation.

A source polls its upstream once per `fetch()` call and returns observations that passed validation, plus
a reason for each requested item that did not come (a partial answer). A total failure raises SourceError
with a short reason a trader can read ("HTTP 503 from mempool.space", "timed out after 10 s").
"""

from __future__ import annotations

import importlib
import math
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any, Protocol

from tui.core.model import Observation, TapecheckError

# Above these a value is a unit or scale error, not a reading: no price tapecheck reads reaches 1e12 of its
# currency (an IDR share is about 1e4), no market value 1e17; the network series have their own, tighter, range
# (tui.collect.sources.hashrate.PLAUSIBLE).
MAX_VALUE = {"market_cap": 1e17, "hashrate": math.inf, "difficulty": math.inf}
MAX_PRICE = 1e12

# Timestamps further ahead of our clock than this are rejected as "in the future" (clock skew allowance), and
# any before Bitcoin's first block as a unit error (seconds read as milliseconds land in 1970).
FUTURE_SKEW = timedelta(minutes=5)
EARLIEST = datetime(2009, 1, 1, tzinfo=UTC)

# Unix times of 2009-2100 in seconds are about 1.2e9-4.1e9; in ms, µs and ns, 1e3, 1e6 and 1e9 times that.
_EPOCH_UNITS = ((1e11, 1.0), (1e14, 1e3), (1e17, 1e6), (1e20, 1e9))


_HEAVY_IMPORTS = threading.Lock()


def import_heavy(name: str) -> ModuleType:
    """Import a module that takes seconds to import (ccxt, yfinance); call it in a worker thread.

    One at a time: two such imports at once only share the GIL and both finish late. One after the other,
    the first asked for (ccxt: the crypto sources start first and poll most often) is ready in half the time.
    """
    with _HEAVY_IMPORTS:
        return importlib.import_module(name)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def printable(text: str) -> str:
    """Text from an upstream with its control characters (terminal escapes, newlines) made spaces: an error an
    exchange words must never retitle or clear the terminal it is shown on."""
    return _CONTROL.sub(" ", text)


class SourceError(TapecheckError):
    """A poll failed as a whole. `retry_after` (seconds) is set when the upstream said when to come back.
    The message is made printable: it may quote what an upstream said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(printable(message))
        self.retry_after = retry_after


class RateLimited(SourceError):
    """The upstream asked us to slow down (HTTP 429, ccxt RateLimitExceeded)."""


@dataclass(frozen=True, slots=True)
class Disputed:
    """A value that passed validation but disagrees with what else is known of its asset (the other sources, its
    own recent past, physics): kept in the store apart from the observations, with why, never read as a value."""

    observation: Observation
    reason: str  # "series: why", as a refused value's


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One poll's outcome: accepted observations, and what was asked for but not delivered, with why."""

    observations: tuple[Observation, ...] = ()
    failures: dict[str, str] = field(default_factory=dict)  # symbol or series -> short reason
    rejected: tuple[str, ...] = ()  # values refused by validation, each "series: reason"
    disputed: tuple[Disputed, ...] = ()  # values quarantined: see Disputed


class Source(Protocol):
    """A data source. `name` is its id in health records and in observations' `source` field."""

    name: str
    kind: str  # "crypto", "equities" or "hashrate": selects interval and timeout in config

    async def fetch(self) -> FetchResult:
        """Poll once. Raises SourceError (or RateLimited) when nothing usable came back."""
        ...

    async def close(self) -> None:
        """Release connections; called once on shutdown."""
        ...


def epoch_to_utc(value: Any) -> datetime | None:
    """A Unix time in seconds, milliseconds, microseconds or nanoseconds, the unit told by its size, as aware
    UTC; None for anything that is not a finite number or a time Python can hold. Whether it is plausible is
    `check_value`'s to say, per value."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    divisor = next((d for below, d in _EPOCH_UNITS if value < below), None)
    if divisor is None:
        return None
    try:
        return datetime.fromtimestamp(value / divisor, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def check_value(series: str, value: float, ts: datetime, now: datetime) -> str | None:
    """Why a value must not be stored, or None when it may be. Prices and rates must be positive."""
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
    if ts > now + FUTURE_SKEW:
        return f"{series}: timestamp {ts.isoformat()} is in the future"
    if ts < EARLIEST:
        return f"{series}: timestamp {ts.isoformat()} is before 2009 (a unit error)"
    return None


def check_market_cap(series: str, market_cap: float, price: float, shares: float | None) -> str | None:
    """A market value more than 10x away from price × shares is refused as a unit or scale error."""
    if shares is None or shares <= 0 or price <= 0:
        return None
    implied = price * shares
    ratio = market_cap / implied
    if not 0.1 <= ratio <= 10:
        return f"{series}: market value {market_cap:.4g} is {ratio:.3g}x price × shares ({implied:.4g})"
    return None


