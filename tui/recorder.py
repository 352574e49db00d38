"""`tapecheck record`: poll the sources, store what passes validation, optionally write it as JSON Lines.

Used headless; the dashboard runs the same Poller with its own callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO

from tui.config import PollerSettings
from tui.poller import Health, Poller
from tui.snapshot import write_observations
from tui.sources.base import FetchResult, Source
from tui.sources.registry import Planned, note_history, resume_history
from tui.store import HealthRecord, Store


def health_record(health: Health) -> HealthRecord:
    latency = None if health.latency_s is None else health.latency_s * 1000
    return HealthRecord(health.source, health.kind, health.last_success, health.last_error, health.last_error_at,
                        latency, health.failures, health.next_attempt)


class Recorder:
    """Receives poll results: appends observations to the store (off the event loop) and the JSONL file."""

    def __init__(self, store: Store | None, out: IO[str] | None, log: Callable[[str], None]) -> None:
        self.store = store
        self.out = out
        self.log = log
        self.written = 0

    async def on_result(self, source: Source, result: FetchResult | None, health: Health) -> None:
        if result is not None and result.observations:
            if self.store is not None:
                await asyncio.to_thread(self.store.append, result.observations)
            if self.out is not None:
                write_observations(result.observations, self.out)
                self.out.flush()
            self.written += len(result.observations)
        if result is not None:
            for reason in result.rejected:
                self.log(f"{source.name}: rejected {reason}")
        if self.store is not None:
            await asyncio.to_thread(self.store.save_health, health_record(health))
            note_history(source, result, self.store)


async def record(plan: Planned, poller_settings: PollerSettings, store: Store | None, out: IO[str] | None,
                 once: bool, log: Callable[[str], None], refetch: bool = False) -> int:
    """Poll once (or until interrupted); returns how many sources failed on their last poll.

    Daily history already in the store is not fetched again, unless `refetch`.
    """
    recorder = Recorder(store, out, log)
    if store is not None:
        resume_history(plan, store, refetch)
    poller = Poller(plan.sources, plan.schedules, poller_settings, recorder.on_result)
    if store is not None:
        await asyncio.to_thread(store.prune, datetime.now(UTC))
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
    for health in failed:
        log(f"{health.source}: {health.last_error}")
    log(f"recorded {recorder.written} observations from {len(plan.sources) - len(failed)} of "
        f"{len(plan.sources)} sources")
    return len(failed)
