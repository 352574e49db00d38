"""An upstream that takes the connection and never answers, and a library call that never returns.

The collector stops when asked while a Yahoo request hangs (nothing waits for the thread it runs in); with a short
time-out the source fails with "timed out", after one request: the job's deadline ends the request and its later
ones fail at once; and a worker thread stuck in a blocking call is left behind after a grace, so that `collect`
returns. Waits are on conditions, bounded only generously (the suite runs on loaded machines).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes.yahoo import FakeYahoo
from tui.collect import executor
from tui.collect.collector import Collector, collect
from tui.collect.poller import Schedule
from tui.collect.sources.base import FetchResult, Source, Unreachable
from tui.collect.sources.equities import EquitiesSource
from tui.collect.sources.jobs import Job, bounded_timeout
from tui.collect.sources.registry import Planned
from tui.core.config import EquitiesSettings, load_settings
from tui.core.narratives.claims import load_narratives
from tui.core.store.sqlite import Store

PATIENT_S = 90  # a bound on waits, not a speed


@pytest.fixture
def silent_yahoo() -> Iterator[FakeYahoo]:
    """A fake Yahoo that reads every request (the cookie and the crumb too) and answers none."""
    with FakeYahoo() as fake:
        fake.set_scenario("*", "silent")
        yield fake


def yahoo_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("yahoo")]


async def until(check: Callable[[], object], what: str) -> None:
    for _ in range(int(PATIENT_S / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"waited in vain for {what}")


def test_every_request_has_a_finite_time_out_within_its_job() -> None:
    # curl_cffi reads None and 0 as "wait forever": every request gets the source's time-out at most
    for asked in (None, 0, -1, math.inf, math.nan, True, "30"):
        assert bounded_timeout(asked, 30) == 30, asked
    assert bounded_timeout(10, 30) == 10 and bounded_timeout(90, 30) == 30 and bounded_timeout((5, 60), 30) == 30
    job = Job(2, time.monotonic() + 2)
    assert 0 < job.request_timeout(None, 30) <= 2  # what is left of the job, not yfinance's 30 s
    job.failed(Unreachable("connection refused (127.0.0.1:9)"))
    with pytest.raises(Unreachable, match=r"^connection refused \(127.0.0.1:9\)$"):
        job.request_timeout(10, 30)  # the job's later requests fail at once
    with pytest.raises(Unreachable, match=r"^timed out after 1 s$"):
        Job(1, time.monotonic() - 0.5).request_timeout(10, 30)  # none starts after the deadline


def plan(source: Source, timeout_s: float) -> Planned:
    return Planned([source], {source.name: Schedule(3600, timeout_s)})


def yahoo(fake: FakeYahoo, timeout_s: float) -> EquitiesSource:
    return EquitiesSource(("NVDA", "AMD"), EquitiesSettings(60, timeout_s, 86400, fake.url))


async def test_a_collector_stops_while_a_yahoo_request_hangs(tmp_path: Path, silent_yahoo: FakeYahoo) -> None:
    store = Store(tmp_path / "s.sqlite")
    stop = asyncio.Event()
    collector = Collector(load_settings(), load_narratives(), store, plan(yahoo(silent_yahoo, 600), 600),
                          lambda line: None)
    running = asyncio.create_task(collector.run(stop))
    await until(lambda: silent_yahoo.requests, "a request to reach Yahoo")  # it hangs from now on, for 600 s
    stop.set()
    await running  # pytest-timeout (300 s) is the bound: waiting on the request would take 600 s
    assert yahoo_threads(), "the request was still hanging when the collector stopped"
    assert store.count() == 0
    assert not [h for h in store.health() if h.source == "yahoo" and h.state == "ok"]  # nothing false recorded
    assert "stopped_at" in (store.summary() or {})
    store.close()
    silent_yahoo.reset()  # the fake closes the connection: the thread ends
    await until(lambda: not yahoo_threads(), "the Yahoo thread to end")


async def test_a_silent_yahoo_fails_with_a_time_out_after_one_request(tmp_path: Path,
                                                                       silent_yahoo: FakeYahoo) -> None:
    store = Store(tmp_path / "s.sqlite")
    stop = asyncio.Event()
    collector = Collector(load_settings(), load_narratives(), store, plan(yahoo(silent_yahoo, 1), 1),
                          lambda line: None)
    running = asyncio.create_task(collector.run(stop))
    try:
        await until(lambda: [h for h in store.health() if h.source == "yahoo" and h.failures], "Yahoo to fail")
        health = next(h for h in store.health() if h.source == "yahoo")
        assert (health.state, health.last_error) == ("failing", "timed out after 1 s")
        # yfinance asks for a cookie and a crumb before the quote, each with its own 30 s time-out: within the
        # job's deadline the first request ends after 1 s and the others fail at once, without a request
        await until(lambda: not yahoo_threads(), "the Yahoo thread to end by its job's deadline")
        assert len(silent_yahoo.requests) == 1, silent_yahoo.requests
    finally:
        stop.set()
        await running
        store.close()


class StuckSource:
    """A source whose client library, once asked, blocks its thread until released (as a hung request would)."""

    name = "stuck"
    kind = "crypto"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    async def prepare(self) -> None:
        def blocking_call() -> None:
            self.entered.set()
            self.release.wait()

        await asyncio.to_thread(blocking_call)

    async def fetch(self) -> FetchResult:
        return FetchResult()

    async def close(self) -> None:
        pass


def test_collect_returns_though_a_worker_thread_is_stuck(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(executor, "GRACE_S", 0.2)
    store = Store(tmp_path / "s.sqlite")
    source = StuckSource()
    loops: list[asyncio.AbstractEventLoop] = []
    stop = asyncio.Event()
    outcome: list[int] = []

    async def main() -> None:
        loops.append(asyncio.get_running_loop())
        outcome.append(await collect(load_settings(), load_narratives(), store, plan(source, 5),
                                     lambda line: None, stop=stop))

    runner = threading.Thread(target=asyncio.run, args=(main(),), name="collect")
    runner.start()
    try:
        assert source.entered.wait(PATIENT_S), "the source's call never started"
        loops[0].call_soon_threadsafe(stop.set)
        # asyncio.run joins its executor's threads as it ends: with a stuck one it would never return
        runner.join(PATIENT_S)
        assert not runner.is_alive(), "collect did not return: it waited for the stuck thread"
        assert outcome == [0]
        assert not source.release.is_set()  # it returned with the call still stuck
    finally:
        source.release.set()
        runner.join(PATIENT_S)
        store.close()
