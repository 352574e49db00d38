"""Scheduling the sources: one loop per source, each polling again only after its previous poll ended.

A source that answered polls again at the next multiple of its interval on the poller's clock, at least half
an interval on, so sources with one interval poll together, however long their first polls took, and the
store is written once for them rather than once each.

Polls of different sources run concurrently, so a slow source never delays another, and a source never
overlaps itself. A failure backs off exponentially with jitter (honouring Retry-After and rate limits) and
the loop recovers by itself. Every poll updates the source's health record. Every answer is held against the
other sources of its assets (tui.collect.consistency) before anyone hears of it: values that disagree move to
its `disputed`. No Textual here: the collector (`tapecheck collect`, which the dashboard starts when none runs)
and the `record` command drive a Poller and receive its results through a callback; the dashboard itself
never polls, it reads the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from tui.collect.consistency import ConsistencyCheck
from tui.collect.sources.base import FetchResult, RateLimited, Source, SourceError
from tui.core.config import PollerSettings
from tui.core.model import DISPUTED, REFUSED
from tui.core.model import Health as Health  # one health record, the store's too (re-exported)

log = logging.getLogger(__name__)

# A poll that succeeded but took longer than this share of its timeout marks the source "slow".
SLOW_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class Schedule:
    """How often a source polls, how long one poll may take, and whether it waits for the live polls first.

    `after_live` sources (daily-history jobs) start only once the first round of live polls has ended, so
    that a fresh price never queues behind pages of history on a shared rate limiter.
    """

    interval_s: float
    timeout_s: float
    after_live: bool = False


ResultCallback = Callable[[Source, FetchResult | None, Health], Awaitable[None] | None]


def backoff_delay(failures: int, settings: PollerSettings, rng: random.Random,
                  retry_after: float | None = None) -> float:
    """Seconds to wait after the n-th consecutive failure: base × 2^(n−1), capped, with jitter in [½, 1]."""
    ceiling = min(settings.backoff_max_s, settings.backoff_base_s * 2.0 ** max(0, failures - 1))
    delay = ceiling * (0.5 + rng.random() / 2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.backoff_max_s))
    return delay




def missing_and_rejected(result: FetchResult) -> tuple[str, ...]:
    """What the health record lists of a partial answer: items that did not come, values refused, and values
    disputed."""
    return (*(f"{k}: {v}" for k, v in result.failures.items()), *(f"{REFUSED}{r}" for r in result.rejected),
            *(f"{DISPUTED}{d.reason}" for d in result.disputed))


def nothing_usable(result: FetchResult) -> str:
    """The error of an answer that brought no usable value: the first refused value or missing item."""
    if result.rejected:
        more = len(result.rejected) - 1
        return f"every value refused: {result.rejected[0]}" + (f" (and {more} more)" if more else "")
    name, reason = next(iter(result.failures.items()))
    more = len(result.failures) - 1
    return f"nothing usable: {name}: {reason}" + (f" (and {more} more)" if more else "")


def _log_change(before: Health, after: Health, result: FetchResult | None) -> None:
    """To the log file: a source starting to fail or failing differently, recovering, and refused values."""
    if after.failures and (not before.failures or after.last_error != before.last_error):
        log.warning("%s: %s (failure %d, next attempt %s)", after.source, after.last_error, after.failures,
                    after.next_attempt)
    elif before.failures and not after.failures:
        log.info("%s: answering again after %d failures", after.source, before.failures)
    for reason in result.rejected if result is not None else ():
        log.info("%s: refused %s", after.source, reason)


class Poller:
    """Runs every source on its own schedule until stopped. `on_result` hears of each poll as it ends."""

    def __init__(
        self,
        sources: Sequence[Source],
        schedules: dict[str, Schedule],  # by source name
        settings: PollerSettings,
        on_result: ResultCallback,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        consistency: ConsistencyCheck | None = None,
    ) -> None:
        self.sources = list(sources)
        # every answer is held against the other sources before anyone hears of it
        self.consistency = consistency or ConsistencyCheck(settings.dispute_factor)
        self.schedules = schedules
        self.settings = settings
        self.on_result = on_result
        self.rng = rng or random.Random()
        self.clock = clock
        self.health = {s.name: Health(s.name, s.kind) for s in self.sources}
        self._wake = {s.name: asyncio.Event() for s in self.sources}
        self._resume = asyncio.Event()
        self._resume.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._busy: set[str] = set()
        self._delay: dict[str, float] = {}  # seconds until each source's next poll, set by its last poll
        self._live_round = asyncio.Event()  # set once every live source has polled once
        self._live_pending = {s.name for s in self.sources if not schedules[s.name].after_live}
        if not self._live_pending:
            self._live_round.set()

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(s), name=f"poll {s.name}") for s in self.sources]

    def pause(self) -> None:
        self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    def poll_now(self) -> None:
        """Wake every source that is waiting; one already polling is not doubled."""
        for event in self._wake.values():
            event.set()

    async def stop(self) -> None:
        """Cancel the loops and close every source."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await asyncio.gather(*(self._close(s) for s in self.sources))

    @staticmethod
    async def _close(source: Source) -> None:
        with contextlib.suppress(Exception):
            await source.close()

    async def poll_once(self, live_first: bool = False) -> dict[str, FetchResult | None]:
        """Poll every source once, live ones concurrently and then the rest; None where a source failed.
        `live_first`: when no live source answered (offline), the rest is not tried."""
        results: dict[str, FetchResult | None] = {}
        for later in (False, True):
            if later and live_first and results and all(r is None for r in results.values()):
                break
            batch = [s for s in self.sources if self.schedules[s.name].after_live is later]
            for source, result in zip(batch, await asyncio.gather(*(self._poll(s) for s in batch)), strict=True):
                results[source.name] = result
        return results

    async def _loop(self, source: Source) -> None:
        schedule = self.schedules[source.name]
        if schedule.after_live:
            await self._live_round.wait()
        while True:
            await self._resume.wait()
            await self._poll(source)
            self._live_pending.discard(source.name)
            if not self._live_pending:
                self._live_round.set()
            delay = self._delay.get(source.name, schedule.interval_s)
            wake = self._wake[source.name]
            wake.clear()
            # asyncio.timeout, not wait_for: on Python 3.11 a cancel that meets wait_for's own timeout can be
            # lost, and stop() then waits for this loop forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await wake.wait()

    async def _poll(self, source: Source) -> FetchResult | None:
        if source.name in self._busy:  # never two polls of one source at once
            return None
        self._busy.add(source.name)
        schedule = self.schedules[source.name]
        prepare = getattr(source, "prepare", None)
        if prepare is not None:  # importing ccxt or yfinance takes seconds (tens, on a loaded machine): that is
            with contextlib.suppress(Exception):  # no answer's time, so it is not counted against the timeout
                await prepare()
        started = self.clock()
        result: FetchResult | None = None
        health = self.health[source.name]
        try:
            async with asyncio.timeout(schedule.timeout_s):
                result = await source.fetch()
            result = self.consistency.judge(result)
        except TimeoutError:
            health = self._failed(health, f"timed out after {schedule.timeout_s:g} s", "failing", None)
        except RateLimited as error:
            health = self._failed(health, str(error), "rate_limited", error.retry_after)
        except SourceError as error:
            health = self._failed(health, str(error), "failing", error.retry_after)
        except Exception as error:  # a bug in a source must not stop the others
            health = self._failed(health, f"internal error: {type(error).__name__}: {error}", "failing", None)
        finally:
            self._busy.discard(source.name)
        latency = self.clock() - started
        if result is not None and not result.observations and (result.failures or result.rejected):
            # An answer with nothing usable in it (every value refused, or none of the wanted items) is a
            # failure: the source must not look healthy, and it backs off like any other failure.
            health = self._failed(health, nothing_usable(result), "failing", None)
            health = replace(health, partial=missing_and_rejected(result))
        if result is not None and result.observations:
            slow = latency > schedule.timeout_s * SLOW_SHARE
            health = replace(health, state="slow" if slow else "ok", last_success=datetime.now(UTC),
                             latency_ms=latency * 1000, failures=0, last_count=len(result.observations),
                             partial=missing_and_rejected(result))
        elif result is not None and not (result.failures or result.rejected):  # nothing, or only disputed values
            health = replace(health, state="ok", last_success=datetime.now(UTC), latency_ms=latency * 1000, failures=0,
                             last_count=0, partial=missing_and_rejected(result))
        else:
            health = replace(health, latency_ms=latency * 1000)
        health = replace(health, disputed_total=self.consistency.counts.get(source.name, 0))
        # The next attempt is decided here, so that on_result already sees it in the health record.
        delay = self._until_next_turn(schedule.interval_s) if not health.failures else backoff_delay(
            health.failures, self.settings, self.rng, health.retry_after_s)
        self._delay[source.name] = delay
        health = replace(health, next_attempt=datetime.now(UTC) + timedelta(seconds=delay))
        _log_change(self.health[source.name], health, result)
        self.health[source.name] = health
        try:
            outcome = self.on_result(source, result, health)
            if outcome is not None:
                await outcome
        except Exception:  # a failing receiver (a full disk) must not end this source's polling
            log.exception("handling a poll result of %s failed", source.name)
        return result

    def _until_next_turn(self, interval: float) -> float:
        """Seconds until the next multiple of `interval` on the clock that is at least half an interval away."""
        if interval <= 0:
            return 0.0
        now = self.clock()
        turn = (math.floor(now / interval) + 1) * interval
        if turn - now < interval / 2:
            turn += interval
        return turn - now

    @staticmethod
    def _failed(health: Health, reason: str, state: str, retry_after: float | None) -> Health:
        return replace(health, state=state, last_error=reason, last_error_at=datetime.now(UTC),
                       failures=health.failures + 1, retry_after_s=retry_after)
