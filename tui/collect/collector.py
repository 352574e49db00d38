"""`tapecheck collect`: the one process that talks to the internet for a store.

It polls every source, validates and writes what comes (and each source's health) to the store, judges the claims
on their own dates once daily history arrives, fires alerts (tui.collect.alerting), thins old observations in small
batches, and answers the dashboards' requests (refresh now, pause, resume), which they leave in the store.
Dashboards only read the store, so any number of them cost the exchanges and Yahoo what one collector does. When
the user's narrative files change it reads them again within a few seconds and, where they name symbols new to
it, polls those too.

One collector per store: the first takes an advisory lock beside the database and holds it while it lives (the
kernel lets go when it dies, even by kill -9); a second one names the first and gives up. On SIGTERM or SIGINT it
finishes the write in flight, closes every exchange and HTTP client, and returns. Started by a dashboard
(`linger_s` given), it stops by itself once no dashboard has been attached for that long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import IO

from tui.collect.alerting import Alerting, OneAtATime
from tui.collect.consistency import seed_from_store
from tui.collect.executor import use_daemon_threads
from tui.collect.poller import Health, Poller
from tui.collect.recorder import Recorder
from tui.collect.sources.base import FetchResult, Source
from tui.collect.sources.registry import HistoryJob, Planned, build_sources, resume_history
from tui.collect.sources.wanted import Wanted, wanted
from tui.collect.windows import COLLECTOR_WINDOWS
from tui.core.config import Settings
from tui.core.judge.then import judge_then
from tui.core.model import TapecheckError
from tui.core.narratives.claims import Narratives, narratives_signature
from tui.core.narratives.reader import NarrativeReader
from tui.core.process import STOP_SIGNALS, on_signals, release_free_memory
from tui.core.store.protocol import Store
from tui.core.store.rows import this_collector

logger = logging.getLogger(__name__)

TICK_S = 0.5  # how often the collector looks for requests and for attached dashboards
NARRATIVES_S = 2.0  # how often it looks for changed narrative files of the user's
PROBLEMS_SHOWN = 20  # problems in those files said in the log (lint says them all)
# The C allocator's free memory is given back after this many polls, at most this often (a few ms each): the
# worker threads' arenas otherwise keep what they freed, ~10 MB more after 10,000 polls.
TRIM_EVERY_POLLS = 50
TRIM_EVERY_S = 10.0


def history_symbols(kind: str, need: Wanted) -> set[str]:
    """What a history job of a source kind fetches: a symbol new to it needs its whole history."""
    symbols = {"crypto": need.crypto_symbols, "equities": need.yahoo_symbols,
               "hashrate": ("bitcoin",) if need.network else ()}
    return set(symbols.get(kind, ()))


class CollectorRunning(TapecheckError):
    """Another collector already writes this store."""


class StoreGone(TapecheckError):
    """The store's file was removed or replaced under a running collector."""


def running_collector_message(store: Store) -> str:
    info = store.collector()
    if info is None:
        return f"{store.location}: another collector is starting on this store"
    return (f"{store.location}: a collector already runs on this store: pid {info.pid} on {info.host}, since "
            f"{info.started_at:%Y-%m-%d %H:%M:%S} UTC")


class Collector:
    """Polls `plan`'s sources into `store` until `stop` is set (or, with `linger_s`, no dashboard is left)."""

    def __init__(self, settings: Settings, narratives: Narratives, store: Store, plan: Planned,
                 log: Callable[[str], None], *, out: IO[str] | None = None, linger_s: float | None = None,
                 refetch_history: bool = False) -> None:
        self.settings = settings
        self.narratives = narratives
        self.store = store
        self.plan = plan
        self.log = log
        self.linger_s = linger_s
        self.refetch_history = refetch_history
        self.recorder = Recorder(store, out, log)
        self.poller: Poller | None = None
        self.then_judging = OneAtATime(
            lambda: asyncio.to_thread(judge_then, self.narratives.claims, self.store, self.settings, self.store,
                                      COLLECTOR_WINDOWS),
            "judging claims on their own dates")  # a store that cannot be written: the next history fetch retries
        self.alerting = Alerting(settings, narratives, store)
        self._info = this_collector()
        self.wanted = wanted(narratives)  # what `plan` polls
        self._narratives_seen = narratives_signature(narratives.dirs)
        self.ghost: str | None = None  # why the store's file is no longer ours, once it is not
        self.reader = NarrativeReader()  # the user's files are read again in a child process
        self.reloading = OneAtATime(self.reload_narratives, "reading the narratives again")
        self.trimming = OneAtATime(self.give_memory_back, "giving free memory back")
        self.trims = 0  # how many times the free memory was given back
        self._polls_since_trim = 0
        self._trimmed_at = time.monotonic()
        self.tell_problems(narratives.problems)

    def tell_problems(self, problems: tuple[str, ...]) -> None:
        """The user's files' problems, the first PROBLEMS_SHOWN of them: `tapecheck lint` lists them all."""
        for problem in problems[:PROBLEMS_SHOWN]:
            self.log(problem)
        if len(problems) > PROBLEMS_SHOWN:
            self.log(f"... and {len(problems) - PROBLEMS_SHOWN:,} more problems: `tapecheck lint FILE` lists them all")

    def claim_store(self) -> None:
        """Become the store's collector, or raise CollectorRunning naming the one that is."""
        if not self.store.try_lock_collector():
            raise CollectorRunning(running_collector_message(self.store))
        self.store.save_collector(self._info)

    async def run(self, stop: asyncio.Event) -> int:
        """Collect until `stop`; returns how many sources were failing at the end."""
        self.claim_store()
        resume_history(self.plan, self.store, self.refetch_history)
        seen = self.store.last_request_id()  # what was asked before this collector started is not for it
        self.poller = Poller(self.plan.sources, self.plan.schedules, self.settings.poller, self.on_result)
        # the first answers are held against what was stored before (a value 100× off is disputed at once)
        await asyncio.to_thread(seed_from_store, self.poller.consistency, self.store, datetime.now(UTC))
        self.poller.start()
        self.judge_then_later()  # claims already covered by stored history
        self.alerting.start()
        await self.answer_requests(0, only_acks=True)  # acknowledged while no collector ran
        await self.forget_removed_claims()
        last_viewer = last_look = time.monotonic()
        logger.info("collecting into %s (pid %d)", self.store.location, self._info.pid)
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(TICK_S):
                        await stop.wait()
                ghost, requests, attached = await asyncio.to_thread(self.look_at_store, seen)
                if ghost is not None:  # removed or replaced: never write on into an unlinked file
                    self.ghost = ghost
                    break
                if requests is not None:
                    seen = await self.carry_out(requests, seen)
                if self.narratives.dirs and time.monotonic() - last_look >= NARRATIVES_S:
                    last_look = time.monotonic()
                    self.reloading.request()  # in a task of its own: a long reading never holds this loop
                self.alerting.due()  # every claim and rule, when it is time (values age with the clock alone)
                if self.linger_s is not None:
                    if attached:
                        last_viewer = time.monotonic()
                    elif time.monotonic() - last_viewer >= self.linger_s:
                        self.log(f"no dashboard for {self.linger_s:g} s: stopping")
                        break
        finally:
            self.reader.stop()  # a reading under way ends now
            await self.reloading.finish()
            await self.poller.stop()  # closes every exchange and HTTP client
            await self.then_judging.finish()
            await self.trimming.finish()
            await self.alerting.stop()
            await asyncio.to_thread(self.note_stopped)
        if self.ghost is not None:
            raise StoreGone(f"{self.ghost}: the collector stops (start it again to collect into the file there now)")
        return sum(1 for h in self.poller.health.values() if h.state in ("failing", "rate_limited"))

    def note_stopped(self) -> None:
        """Keep the moment this collector stopped with its summary: dashboards and `status` say "down since" it."""
        try:
            self.store.save_summary({**(self.store.summary() or {}), "stopped_at": datetime.now(UTC).isoformat()})
        except TapecheckError as error:
            logger.warning("cannot note the collector's stop in the store: %s", error)

    async def reload_narratives(self) -> None:
        """Read the user's narrative files again if any changed; poll what they now want."""
        dirs = self.narratives.dirs
        seen = await asyncio.to_thread(narratives_signature, dirs)
        if seen == self._narratives_seen:
            return
        self._narratives_seen = seen
        try:
            narratives = await asyncio.to_thread(self.reader.read, dirs, self.narratives.max_claims)
        except Exception as error:  # whatever a file holds, the collector goes on with the claims it had
            self.log(f"reading the narratives again: {error}")
            return
        self.narratives = narratives
        self.alerting.use(narratives)
        await self.forget_removed_claims()
        self.log(f"narrative files changed: {len(narratives.claims)} claims, "
                 f"{sum(1 for c in narratives.claims if c.user)} of them from your files")
        self.tell_problems(narratives.problems)
        now_wanted = wanted(narratives)
        if now_wanted != self.wanted:
            await self.replan(now_wanted)
        self.judge_then_later()

    async def forget_removed_claims(self) -> None:
        """Drop the stored verdicts of claims no longer in any file: they would be read at every judgement."""
        keep = {c.id for c in self.narratives.claims}
        try:
            gone = await asyncio.to_thread(self.store.forget_then_verdicts, keep)
        except TapecheckError as error:
            logger.warning("forgetting the verdicts of removed claims: %s", error)
            return
        if gone:
            logger.info("forgot the verdicts of %d removed claims", gone)

    async def replan(self, now_wanted: Wanted) -> None:
        """Poll what `now_wanted` names: the sources are built again and the poller restarted on them. A history
        job whose source gained a symbol, or that must reach further back, fetches its whole history again."""
        before, poller = self.wanted, self.poller
        assert poller is not None
        plan = build_sources(self.settings, now_wanted)
        await poller.stop()
        await asyncio.to_thread(resume_history, plan, self.store)
        earlier = (now_wanted.history_start or date.max) < (before.history_start or date.max)
        for job in (s for s in plan.sources if isinstance(s, HistoryJob)):
            if earlier or history_symbols(job.source.kind, now_wanted) - history_symbols(job.source.kind, before):
                job.covered = None
        added = sorted({*now_wanted.crypto_symbols, *now_wanted.yahoo_symbols}
                       - {*before.crypto_symbols, *before.yahoo_symbols})
        self.log(f"now polling {', '.join(added)} as well" if added else "polling what the narratives now name")
        self.plan, self.wanted = plan, now_wanted
        self.poller = Poller(plan.sources, plan.schedules, self.settings.poller, self.on_result,
                             consistency=poller.consistency)
        self.poller.start()

    def look_at_store(self, seen: int) -> tuple[str | None, list[tuple[int, str]] | None, bool]:
        """What a tick reads of the store, in one trip to a worker thread (an idle collector's whole cost): why
        its file is no longer ours (None while it is), the requests since `seen` (None when they cannot be read
        now), and whether a dashboard is attached (only asked with `linger_s`)."""
        ghost = self.store.ghost()
        if ghost is not None:
            return ghost, None, False
        try:
            requests: list[tuple[int, str]] | None = self.store.take_requests(seen)
        except Exception as error:  # a store that cannot be read now: ask again on the next tick
            logger.warning("reading requests: %s", error)
            requests = None
        return None, requests, self.linger_s is not None and self.store.viewers_attached()

    async def answer_requests(self, seen: int, only_acks: bool = False) -> int:
        """Carry out what the dashboards asked for since request `seen` (`only_acks`: only acknowledgements,
        which keep while no collector runs); returns the last id handled."""
        try:
            requests = await asyncio.to_thread(self.store.take_requests, seen)
        except Exception as error:  # a store that cannot be read now: ask again on the next tick
            logger.warning("reading requests: %s", error)
            return seen
        return await self.carry_out(requests, seen, only_acks)

    async def carry_out(self, requests: list[tuple[int, str]], seen: int, only_acks: bool = False) -> int:
        """Carry out `requests` (id, kind), taken after request `seen`; returns the last id handled."""
        poller = self.poller
        assert poller is not None
        for request_id, kind in requests:
            seen = request_id
            name, _, arg = kind.partition(":")
            if name in ("ack", "ack-upto"):
                with contextlib.suppress(TapecheckError, ValueError):
                    await asyncio.to_thread(self.store.ack_alerts, int(arg), name == "ack-upto")
                continue
            if only_acks:
                continue
            if name == "refresh":  # `refresh:alice@desk`: who asked, kept with the request
                poller.poll_now()
            elif name in ("pause", "resume"):
                poller.pause() if name == "pause" else poller.resume()
                self._info = replace(self._info, paused=poller.paused)
                with contextlib.suppress(TapecheckError):
                    await asyncio.to_thread(self.store.save_collector, self._info)
            logger.info("request %d: %s", request_id, kind)
        return seen

    async def on_result(self, source: Source, result: FetchResult | None, health: Health) -> None:
        await self.recorder.on_result(source, result, health)
        if result is not None and isinstance(source, HistoryJob):
            self.judge_then_later()
        if result is not None:  # the claims and rules reading what was written (values, or values disputed)
            self.alerting.written({*(o.series for o in result.observations),
                                   *(d.observation.series for d in result.disputed)})
        self._polls_since_trim += 1
        if self._polls_since_trim >= TRIM_EVERY_POLLS and time.monotonic() - self._trimmed_at >= TRIM_EVERY_S:
            self._polls_since_trim, self._trimmed_at = 0, time.monotonic()
            self.trimming.request()

    async def give_memory_back(self) -> None:
        """The C allocator's free pages back to the system (glibc only), in a worker thread."""
        if await asyncio.to_thread(release_free_memory):
            self.trims += 1

    def judge_then_later(self) -> None:
        """Judge every claim on its own date from the stored history, in a thread, one judgement at a time."""
        self.then_judging.request()


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGINT, SIGTERM and SIGHUP set `stop`: the collector then finishes what it writes and closes its clients."""
    on_signals(STOP_SIGNALS, lambda _sig: stop.set())


async def collect(settings: Settings, narratives: Narratives, store: Store, plan: Planned,
                  log: Callable[[str], None], *, linger_s: float | None = None, refetch_history: bool = False,
                  stop: asyncio.Event | None = None) -> int:
    """Run a collector until a signal (or `stop`); returns how many sources were failing at the end.
    Its worker threads are daemons: a call stuck in one is not waited for past a grace (tui.collect.executor)."""
    use_daemon_threads()
    stop = stop or asyncio.Event()
    install_stop_signals(stop)
    collector = Collector(settings, narratives, store, plan, log, linger_s=linger_s,
                          refetch_history=refetch_history)
    started = datetime.now(UTC)
    failed = await collector.run(stop)
    ran = timedelta(seconds=round((datetime.now(UTC) - started).total_seconds()))
    log(f"stopped after {ran}: {collector.recorder.written:,} observations written")
    return failed
