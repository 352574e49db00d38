"""What every source shares: the result of one poll, the errors a poll can raise, and value validation.

A source polls its upstream once per `fetch()` call and returns observations that passed validation, plus
a reason for each requested item that did not come (a partial answer). A total failure raises SourceError
with a short reason a trader can read ("HTTP 503 from mempool.space", "timed out after 10 s").
"""

from __future__ import annotations

import importlib
import math
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, Protocol

from tui.core.model import Observation, TapecheckError
from tui.core.printable import printable
from tui.core.validate import EARLIEST as EARLIEST  # re-exported: the sources' validation lives in tui.core
from tui.core.validate import FUTURE_SKEW as FUTURE_SKEW
from tui.core.validate import MAX_PRICE as MAX_PRICE
from tui.core.validate import MAX_VALUE as MAX_VALUE
from tui.core.validate import check_value as check_value

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


class SourceError(TapecheckError):
    """A poll failed as a whole. `retry_after` (seconds) is set when the upstream said when to come back.
    The message is made printable, on one line (its control and invisible characters made spaces): it may quote
    what an upstream said, which must never retitle or clear the terminal it is shown on."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(printable(message, replace=" "))
        self.retry_after = retry_after


class RateLimited(SourceError):
    """The upstream asked us to slow down (HTTP 429, ccxt RateLimitExceeded)."""


class Unreachable(SourceError):
    """The upstream could not be reached at all: a refused connection, a host that does not resolve, no answer
    in time. What else the same poll would ask of it fails the same way, so it is not asked (offline, a poll of
    many requests costs one failure)."""


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


def check_market_cap(series: str, market_cap: float, price: float, shares: float | None) -> str | None:
    """A market value more than 10x away from price × shares is refused as a unit or scale error."""
    if shares is None or shares <= 0 or price <= 0:
        return None
    implied = price * shares
    ratio = market_cap / implied
    if not 0.1 <= ratio <= 10:
        return f"{series}: market value {market_cap:.4g} is {ratio:.3g}x price × shares ({implied:.4g})"
    return None


