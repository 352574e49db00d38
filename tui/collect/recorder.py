"""`tapecheck record`: poll the sources, store what passes validation, optionally write it as JSON Lines.

Headless. The collector (`tapecheck collect`) drives the same Poller with the same Recorder callback; the
dashboard polls nothing, it reads what they store.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import IO

from tui.collect.consistency import seed_from_store
from tui.collect.executor import use_daemon_threads
from tui.collect.poller import Health, Poller
from tui.collect.sources.base import Disputed, FetchResult, Source
from tui.collect.sources.registry import Planned, coverage_of, resume_history
from tui.core.config import PollerSettings
from tui.core.model import Observation, TapecheckError
from tui.core.process import STOP_SIGNALS, on_signals
from tui.core.snapshot import write_observations
from tui.core.store.protocol import Store

logger = logging.getLogger(__name__)


PRUNE_EVERY = timedelta(hours=1)  # a long-running recorder thins old observations this often
# Observations held in memory while the store refuses writes (a full disk, a lock held past its bound), written
# with the next write that succeeds; past this many the oldest go, so that memory stays bounded.
MAX_PENDING = 100_000
PROGRESS_EVERY_S = 60.0  # `record` says how it is going this often, besides each source's first answer


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
        self.pending: list[Observation] = []  # not yet stored: written with the next write that succeeds
        self.dropped = 0  # observations given up because more than MAX_PENDING waited
        self._said = problem  # the recording state last said: writes in flight together say a change once

    async def save(self, observations: Sequence[Observation], health: Health | None = None,
                   coverage: tuple[str, date, date] | None = None, disputed: Sequence[Disputed] = ()) -> str | None:
        """Write one poll's observations (and its source's health, what history it has fetched, and the values
        it had disputed, apart); a message when the recording state changed."""
        store = self.store
        if store is None:
            return None
        now = self.clock()
        prune = self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY
        if prune:
            self._pruned_at = now

        batch = [*self.pending, *observations] if self.pending else list(observations)

        def write() -> None:  # one trip to a worker thread per poll
            if batch:
                store.append(batch)
            if disputed:
                store.add_disputed((d.observation, d.reason) for d in disputed)
            if health is not None:
                store.save_health(health)
            if coverage is not None:
                store.save_history_coverage(*coverage)
            if prune:
                store.prune(now)

        try:
            await asyncio.to_thread(write)
        except TapecheckError as error:
            self.problem = f"not recording: {error}"
            self.dropped += max(0, len(batch) - MAX_PENDING)
            self.pending = batch[-MAX_PENDING:]
        else:
            self.pending = []
            if self.durable:
                self.problem = None
        if (self.problem is None) == (self._said is None):  # said once per change, whatever each failure's words
            return None
        self._said = self.problem
        if self.problem is None:
            logger.info("recording again to %s", store.location)
            return f"recording again to {store.location}"
        logger.error("%s", self.problem)
        return f"{self.problem} (polling goes on; up to {MAX_PENDING:,} observations are held until it can write)"


class Recorder:
    """Receives poll results: stores them (off the event loop), then writes them to the tape, says how it goes.

    The store and the tape are written separately: a tape that cannot be written (a full disk) is said on
    stderr and never stops the store, and the other way round.
    """

    def __init__(self, store: Store | None, out: IO[str] | None, log: Callable[[str], None],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.writer = StoreWriter(store, clock=clock)
        self.out = out
        self.log = log
        self.written = 0  # observations received (and validated), whatever became of them
        self.tape_missed = 0  # observations the tape could not take
        self.tape_error: str | None = None
        self.said: dict[str, tuple[str, str]] = {}  # source -> the state (and reason) last said on stderr
        self._progress_at = time.monotonic()

    async def on_result(self, source: Source, result: FetchResult | None, health: Health) -> None:
        observations = result.observations if result is not None else ()
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
        if observations and self.out is not None:
            self.write_tape(observations)
        self.progress(source.name, health, len(observations))

    def write_tape(self, observations: Sequence[Observation]) -> None:
        assert self.out is not None
        try:
            write_observations(observations, self.out)
            self.out.flush()
        except (OSError, ValueError) as error:  # ValueError: the file was closed under us
            self.tape_missed += len(observations)
            reason = getattr(error, "strerror", None) or str(error)
            if self.tape_error is None:
                self.log(f"cannot write the tape: {reason}; the store goes on")
                logger.error("cannot write the tape: %s", reason)
            self.tape_error = reason
        else:
            if self.tape_error is not None:
                self.log(f"writing the tape again ({self.tape_missed:,} observations missed from it)")
            self.tape_error = None

    def progress(self, name: str, health: Health, count: int) -> None:
        """A line each time a source's state changes: its first answer, each failure with its reason
        (`kraken: timed out after 10 s`; a new reason is a new line, the same again is not), its return; and one
        every PROGRESS_EVERY_S with the totals."""
        failing = health.state in ("failing", "rate_limited")
        now_said = ("failing", re.sub(r"\d+", "#", health.last_error or "")) if failing else ("ok", "")
        before = self.said.get(name)
        if now_said != before:
            self.said[name] = now_said
            if failing:
                self.log(f"{name}: {health.last_error or 'failed'}")
            elif before is not None:
                self.log(f"{name}: answering again ({count:,} observations)")
            else:
                self.log(f"progress: {name} answered with {count:,} observations ({self.written:,} so far)")
        if time.monotonic() - self._progress_at >= PROGRESS_EVERY_S:
            self._progress_at = time.monotonic()
            held = f", {len(self.writer.pending):,} held until the store takes writes" if self.writer.pending else ""
            self.log(f"progress: {self.written:,} observations so far{held}")

    def summary(self, answered: int, sources: int) -> str:
        missed = f"; the tape missed {self.tape_missed:,}" if self.tape_missed else ""
        held = self.writer.pending
        lost = (f"; {len(held) + self.writer.dropped:,} could not be stored ({self.writer.problem})"
                if held or self.writer.dropped else "")
        return f"recorded {self.written:,} observations from {answered} of {sources} sources{missed}{lost}"


async def record(plan: Planned, poller_settings: PollerSettings, store: Store | None, out: IO[str] | None,
                 once: bool, log: Callable[[str], None], refetch: bool = False) -> int:
    """Poll once (or until interrupted); returns how many sources failed on their last poll or never answered.

    Daily history already in the store is not fetched again, unless `refetch`. Worker threads are daemons: a call
    stuck in one is not waited for past a grace (tui.collect.executor).
    """
    use_daemon_threads()
    recorder = Recorder(store, out, log)
    if store is not None:
        resume_history(plan, store, refetch)
    poller = Poller(plan.sources, plan.schedules, poller_settings, recorder.on_result)
    if store is not None:
        await asyncio.to_thread(seed_from_store, poller.consistency, store, datetime.now(UTC))
    try:
        if once:  # offline, every live source fails at once: the daily history is not tried after them
            await poller.poll_once(live_first=True)
        else:
            stop = asyncio.Event()
            on_signals(STOP_SIGNALS, lambda _sig: stop.set())  # a closed terminal (SIGHUP) too: what waits is kept
            poller.start()
            await stop.wait()
    finally:
        await poller.stop()
    failed = [h for h in poller.health.values() if h.state in ("failing", "rate_limited")]
    # a source still on its first poll when stopped (a hung request, a history job not yet started) did not
    # answer: it is neither counted as answered nor left out of the exit status
    unfinished = [h for h in poller.health.values() if h.state == "waiting"]
    if once and unfinished and not any(h.state not in ("failing", "rate_limited", "waiting")
                                       for h in poller.health.values()):
        log(f"no live source answered (offline?): {len(unfinished)} daily history jobs not tried")
        unfinished_said = True
    else:
        unfinished_said = False
    for health in failed:  # said as it failed, unless its last reason differs in more than its numbers
        if recorder.said.get(health.source, ("", ""))[0] != "failing":
            log(f"{health.source}: {health.last_error}")
    for health in [] if unfinished_said else unfinished:
        log(f"{health.source}: no answer before the stop")
    answered = len(plan.sources) - len(failed) - len(unfinished)
    log(recorder.summary(answered, len(plan.sources)))
    return len(failed) + len(unfinished) + (1 if recorder.tape_missed or recorder.writer.pending else 0)
