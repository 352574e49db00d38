"""`tapecheck record`: poll the sources, store what passes validation, optionally write it as JSON Lines.

Used headless; the dashboard runs the same Poller with its own callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO

from tui.collect.consistency import seed_from_store
from tui.collect.poller import Health, Poller
from tui.collect.sources.base import Disputed, FetchResult, Source
from tui.collect.sources.registry import Planned, coverage_of, resume_history
from tui.core.config import PollerSettings
from tui.core.model import Observation, TapecheckError
from tui.core.snapshot import write_observations
from tui.core.store import HealthRecord, Store

logger = logging.getLogger(__name__)


def health_record(health: Health) -> HealthRecord:
    latency = None if health.latency_s is None else health.latency_s * 1000
    return HealthRecord(health.source, health.kind, health.last_success, health.last_error, health.last_error_at,
                        latency, health.failures, health.next_attempt)


PRUNE_EVERY = timedelta(hours=1)  # a long-running recorder thins old observations this often


def open_store(path: Path, retention_days: int) -> tuple[Store, str | None]:
    """The store at `path`; when it cannot be opened (a read-only directory, a full disk), an in-memory store
    and why, so that the dashboard runs on without recording instead of not starting."""
    try:
        return Store(path, retention_days), None
    except TapecheckError as error:
        return Store(Path(":memory:"), retention_days), f"not recording: {error}"


class StoreWriter:
    """Writes poll results and health records to the store, and prunes it now and then.

    A write that fails (a full disk, a read-only store) stops recording, never the program: `problem` says why
    nothing is being recorded, each write tries again, and `save` returns a message when recording stops or
    starts again. Given a `problem` from the start (the store is an in-memory stand-in), it stays set.
    """

    def __init__(self, store: Store | None, problem: str | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.problem = problem
        self.durable = problem is None
        self.clock = clock
        self._pruned_at: datetime | None = None

    async def save(self, observations: Sequence[Observation], health: Health | None = None,
                   coverage: tuple[str, date, date] | None = None, disputed: Sequence[Disputed] = ()) -> str | None:
        """Write one poll's observations (and its source's health, what history it has fetched, and the values
        it had disputed, apart); a message when the recording state changed."""
        store = self.store
        if store is None:
            return None
        before = self.problem
        now = self.clock()
        prune = self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY
        if prune:
            self._pruned_at = now

        def write() -> None:  # one trip to a worker thread per poll
            if observations:
                store.append(observations)
            if disputed:
                store.add_disputed((d.observation, d.reason) for d in disputed)
            if health is not None:
                store.save_health(health_record(health))
            if coverage is not None:
                store.save_history_coverage(*coverage)
            if prune:
                store.prune(now)

        try:
            await asyncio.to_thread(write)
        except TapecheckError as error:
            self.problem = f"not recording: {error}"
        else:
            if self.durable:
                self.problem = None
        if self.problem == before:
            return None
        if self.problem is None:
            logger.info("recording again to %s", store.path)
            return f"recording again to {store.path}"
        logger.error("%s", self.problem)
        return f"{self.problem} (polling goes on)"


class Recorder:
    """Receives poll results: appends observations to the store (off the event loop) and the JSONL file."""

    def __init__(self, store: Store | None, out: IO[str] | None, log: Callable[[str], None],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.writer = StoreWriter(store, clock=clock)
        self.out = out
        self.log = log
        self.written = 0

    async def on_result(self, source: Source, result: FetchResult | None, health: Health) -> None:
        observations = result.observations if result is not None else ()
        if observations and self.out is not None:
            write_observations(observations, self.out)
            self.out.flush()
        self.written += len(observations)
        if result is not None:
            for reason in result.rejected:
                self.log(f"{source.name}: rejected {reason}")
            for doubt in result.disputed:
                self.log(f"{source.name}: disputed {doubt.reason}")
        change = await self.writer.save(observations, health, coverage_of(source, result),
                                        result.disputed if result is not None else ())
        if change:
            self.log(change)


async def record(plan: Planned, poller_settings: PollerSettings, store: Store | None, out: IO[str] | None,
                 once: bool, log: Callable[[str], None], refetch: bool = False) -> int:
    """Poll once (or until interrupted); returns how many sources failed on their last poll or never answered.

    Daily history already in the store is not fetched again, unless `refetch`.
    """
    recorder = Recorder(store, out, log)
    if store is not None:
        resume_history(plan, store, refetch)
    poller = Poller(plan.sources, plan.schedules, poller_settings, recorder.on_result)
    if store is not None:
        await asyncio.to_thread(seed_from_store, poller.consistency, store, datetime.now(UTC))
    try:
        if once:
            await poller.poll_once()
        else:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(sig, stop.set)
            poller.start()
            await stop.wait()
    finally:
        await poller.stop()
    failed = [h for h in poller.health.values() if h.state in ("failing", "rate_limited")]
    # a source still on its first poll when stopped (a hung request, a history job not yet started) did not
    # answer: it is neither counted as answered nor left out of the exit status
    unfinished = [h for h in poller.health.values() if h.state == "waiting"]
    for health in failed:
        log(f"{health.source}: {health.last_error}")
    for health in unfinished:
        log(f"{health.source}: no answer before the stop")
    answered = len(plan.sources) - len(failed) - len(unfinished)
    log(f"recorded {recorder.written} observations from {answered} of {len(plan.sources)} sources")
    return len(failed) + len(unfinished)
