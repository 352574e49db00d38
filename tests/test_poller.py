"""The poller's scheduling: concurrency, no overlapping polls, backoff with jitter, Retry-After, recovery.

On loop time (looptime): sleeps, timeouts and the poller's clock are the event loop's, which jumps ahead when
every task waits. The gaps asserted below are exact, and a loaded machine cannot stretch them.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import obs
from tui.collect.poller import Health, Poller, Schedule, backoff_delay
from tui.collect.sources.base import FetchResult, RateLimited, Source, SourceError
from tui.core.config import PollerSettings

pytestmark = pytest.mark.looptime

FAST = PollerSettings(backoff_base_s=0.05, backoff_max_s=0.4)


@dataclass
class ScriptedSource:
    """A source whose polls follow a script: a delay, then a result or an exception, per call."""

    name: str
    script: list[object] = field(default_factory=list)
    delay: float = 0.0
    kind: str = "crypto"
    calls: list[float] = field(default_factory=list)
    running: int = 0
    most_at_once: int = 0
    closed: bool = False

    async def fetch(self) -> FetchResult:
        self.calls.append(asyncio.get_running_loop().time())
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await asyncio.sleep(self.delay)
            step = self.script.pop(0) if self.script else "ok"
            if isinstance(step, Exception):
                raise step
            return FetchResult((obs("crypto:BTC/USD:last", 1.0, source=self.name),))
        finally:
            self.running -= 1

    async def close(self) -> None:
        self.closed = True


def make(sources: Sequence[ScriptedSource], interval: float = 0.05, timeout: float = 1.0,
         results: list[tuple[str, Health]] | None = None) -> Poller:
    def on_result(source: Source, result: FetchResult | None, health: Health) -> None:
        if results is not None:
            results.append((source.name, health))

    schedules = {s.name: Schedule(interval, timeout) for s in sources}
    return Poller(sources, schedules, FAST, on_result, rng=random.Random(1), clock=asyncio.get_running_loop().time)


async def test_slow_sources_poll_concurrently() -> None:
    """Every source's poll has begun before any has ended (counted, not timed)."""
    running = [0, 0]  # polls running now, most at once

    @dataclass
    class Counted(ScriptedSource):
        async def fetch(self) -> FetchResult:
            running[0] += 1
            running[1] = max(running[1], running[0])
            try:
                return await super().fetch()
            finally:
                running[0] -= 1

    sources = [Counted(f"s{i}", delay=0.3) for i in range(6)]
    results = await make(sources).poll_once()
    assert all(r is not None for r in results.values())
    assert running[1] == 6


async def test_a_source_never_overlaps_itself() -> None:
    slow = ScriptedSource("slow", delay=0.2)
    poller = make([slow], interval=0.01)
    poller.start()
    for _ in range(10):
        poller.poll_now()  # hammering "refresh" must not start a second poll
        await asyncio.sleep(0.03)
    await poller.stop()
    assert slow.most_at_once == 1
    assert len(slow.calls) >= 2
    gaps = [b - a for a, b in zip(slow.calls, slow.calls[1:], strict=False)]
    assert min(gaps) >= 0.2  # each poll starts after the previous ended


async def test_a_slow_source_does_not_delay_a_fast_one() -> None:
    """The fast source polls again and again while the slow one's first poll is still running."""
    slow, fast = ScriptedSource("slow", delay=60.0), ScriptedSource("fast")
    poller = make([slow, fast], interval=0.05, timeout=120.0)
    poller.start()
    for _ in range(3000):  # a minute at most on a loaded machine; a few tenths of a second on a quiet one
        if len(fast.calls) >= 5:
            break
        await asyncio.sleep(0.02)
    assert slow.running == 1
    await poller.stop()
    assert len(fast.calls) >= 5
    assert len(slow.calls) == 1


def test_backoff_grows_is_capped_and_jittered() -> None:
    rng = random.Random(7)
    settings = PollerSettings(backoff_base_s=5, backoff_max_s=300)
    delays = [backoff_delay(n, settings, rng) for n in range(1, 10)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(300, 5 * 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 6) for d in delays}) == len(delays)
    assert backoff_delay(1, settings, rng, retry_after=120) >= 120
    assert backoff_delay(1, settings, rng, retry_after=10_000) <= 300


async def test_failures_back_off_and_recover() -> None:
    flaky = ScriptedSource("flaky", script=[SourceError("HTTP 503 from x")] * 3 + ["ok"])
    seen: list[tuple[str, Health]] = []
    poller = make([flaky], interval=10, results=seen)
    poller.start()
    for _ in range(5000):  # at most 100 s: a loaded machine
        await asyncio.sleep(0.02)
        if seen and seen[-1][1].state == "ok":
            break
    await poller.stop()
    states = [h.state for _, h in seen]
    assert states == ["failing", "failing", "failing", "ok"]
    assert [h.failures for _, h in seen] == [1, 2, 3, 0]
    assert seen[2][1].last_error == "HTTP 503 from x"
    gaps = [b - a for a, b in zip(flaky.calls, flaky.calls[1:], strict=False)]
    assert gaps[0] >= 0.025 and gaps[1] >= 0.05 and gaps[2] >= 0.1  # base × 2^(n−1) × at least ½
    assert seen[-1][1].last_success is not None


async def test_retry_after_is_honoured() -> None:
    limited = ScriptedSource("limited", script=[RateLimited("HTTP 429 from x", retry_after=0.3), "ok"])
    seen: list[tuple[str, Health]] = []
    poller = make([limited], interval=10, results=seen)
    poller.start()
    await asyncio.sleep(0.6)
    await poller.stop()
    assert seen[0][1].state == "rate_limited"
    assert len(limited.calls) == 2
    assert limited.calls[1] - limited.calls[0] >= 0.3


async def test_timeouts_and_crashes_are_failures_not_exits() -> None:
    hung = ScriptedSource("hung", delay=5)
    broken = ScriptedSource("broken", script=[ZeroDivisionError("oops")])
    fine = ScriptedSource("fine")
    poller = make([hung, broken, fine], timeout=0.1)
    results = await poller.poll_once()
    assert results["fine"] is not None and results["hung"] is None and results["broken"] is None
    assert poller.health["hung"].last_error == "timed out after 0.1 s"
    assert poller.health["broken"].last_error == "internal error: ZeroDivisionError: oops"
    assert poller.health["fine"].state == "ok"


async def test_pause_and_resume() -> None:
    source = ScriptedSource("s")
    poller = make([source], interval=0.02)
    poller.pause()
    poller.start()
    await asyncio.sleep(0.1)
    assert source.calls == []
    poller.resume()
    await asyncio.sleep(0.1)
    await poller.stop()
    assert len(source.calls) >= 2
    assert source.closed


async def test_partial_answers_are_recorded() -> None:
    class Partial(ScriptedSource):
        async def fetch(self) -> FetchResult:
            return FetchResult((), failures={"WLD/USDT": "not listed on kraken"})

    poller = make([Partial("kraken")])
    await poller.poll_once()
    assert poller.health["kraken"].partial == ("WLD/USDT: not listed on kraken",)



async def test_history_jobs_wait_for_the_first_live_round() -> None:
    live, history = ScriptedSource("live", delay=0.2), ScriptedSource("history")
    schedules = {"live": Schedule(10, 1), "history": Schedule(10, 1, after_live=True)}
    poller = Poller([live, history], schedules, FAST, lambda *_: None)
    poller.start()
    await asyncio.sleep(0.35)
    await poller.stop()
    assert history.calls and live.calls
    assert history.calls[0] >= live.calls[0] + 0.2
    once = Poller([history, live], schedules, FAST, lambda *_: None)
    live.calls.clear()
    history.calls.clear()
    await once.poll_once()
    assert history.calls[0] >= live.calls[0] + 0.2


async def test_on_result_already_knows_the_next_attempt() -> None:
    seen: list[tuple[str, Health]] = []
    failing = ScriptedSource("failing", script=[SourceError("HTTP 503 from x")])
    poller = make([failing], interval=10, results=seen)
    before = datetime.now(UTC)
    await poller.poll_once()
    health = seen[0][1]
    assert health.next_attempt is not None
    # first failure: base 0.05 s × jitter in [½, 1], counted from the end of the poll
    assert before + timedelta(seconds=0.025) <= health.next_attempt <= datetime.now(UTC) + timedelta(seconds=0.05)
    ok = ScriptedSource("ok")
    seen.clear()
    await make([ok], interval=10, results=seen).poll_once()
    assert seen[0][1].next_attempt is not None
    # after a success: the next multiple of the interval on the poller's clock, at least half an interval on
    assert before + timedelta(seconds=5) <= seen[0][1].next_attempt <= datetime.now(UTC) + timedelta(seconds=15)


async def test_stop_always_ends_the_loops() -> None:
    """On Python 3.11 asyncio.wait_for can lose a cancel that meets its own timeout, and stop() then waited
    forever (the fault matrix found it). Many stops timed against very short intervals must all end."""
    rng = random.Random(3)
    for _ in range(300):
        sources = [ScriptedSource(f"s{n}") for n in range(3)]
        poller = make(sources, interval=0.001)
        poller.start()
        await asyncio.sleep(rng.uniform(0, 0.005))
        async with asyncio.timeout(5):
            await poller.stop()
        assert all(s.closed for s in sources)


async def test_sources_with_one_interval_poll_together() -> None:
    """However long their first polls took, sources with the same interval then poll at the same moments."""
    ticks = [0.0]
    slow, fast = ScriptedSource("slow"), ScriptedSource("fast")
    poller = make([slow, fast], interval=10)
    poller.clock = lambda: ticks[0]
    ticks[0] = 3.2  # the slow source's first poll ended at 3.2 s
    first = poller._until_next_turn(10)
    ticks[0] = 0.4  # the fast one's at 0.4 s
    second = poller._until_next_turn(10)
    assert 3.2 + first == 0.4 + second == 10.0
    ticks[0] = 9.0  # less than half an interval before a turn: the one after
    assert abs(poller._until_next_turn(10) - 11.0) < 1e-9


async def test_an_answer_with_nothing_usable_is_a_failure_that_backs_off() -> None:
    class AllRefused(ScriptedSource):
        async def fetch(self) -> FetchResult:
            self.calls.append(asyncio.get_running_loop().time())
            return FetchResult((), rejected=("crypto:BTC/USD:last: value nan is not finite",))

    source = AllRefused("coinbase")
    poller = make([source], interval=0.01)
    await poller.poll_once()
    await poller.poll_once()
    health = poller.health["coinbase"]
    assert health.state == "failing" and health.failures == 2 and health.last_success is None
    assert health.last_error == "every value refused: crypto:BTC/USD:last: value nan is not finite"
    assert health.partial == ("refused crypto:BTC/USD:last: value nan is not finite",)
    assert poller._delay["coinbase"] >= FAST.backoff_base_s  # backed off, not the 0.01 s interval


async def test_a_failing_result_handler_does_not_end_polling() -> None:
    source = ScriptedSource("s")

    def on_result(_source: Source, _result: FetchResult | None, _health: Health) -> None:
        raise OSError(28, "No space left on device")

    poller = Poller([source], {"s": Schedule(0.01, 1)}, FAST, on_result, rng=random.Random(1))
    poller.start()
    await asyncio.sleep(0.2)
    alive = all(not task.done() for task in poller._tasks)
    await poller.stop()
    assert alive and len(source.calls) >= 3


async def test_an_unreachable_source_rests_up_to_the_ceiling_and_tries_at_once_on_refresh() -> None:
    """Offline, a source backs off 5 s, 10 s, 20 s... up to the ceiling (jitter: each wait in [½, 1] of its
    step), so that a day of it is a few hundred polls, not a poll a second; a refresh tries it at once."""
    offline = ScriptedSource("kraken", script=[SourceError("cannot resolve api.kraken.com")] * 1000)
    seen: list[tuple[str, Health]] = []
    settings = PollerSettings(backoff_base_s=5, backoff_max_s=300)
    poller = Poller([offline], {"kraken": Schedule(10, 10)}, settings,
                    lambda _s, _r, health: seen.append(("kraken", health)), rng=random.Random(5),
                    clock=asyncio.get_running_loop().time)
    poller.start()
    await asyncio.sleep(3600)  # an hour of loop time
    gaps = [b - a for a, b in zip(offline.calls, offline.calls[1:], strict=False)]
    for n, gap in enumerate(gaps, start=1):
        step = min(300, 5 * 2 ** (n - 1))
        assert step / 2 <= gap <= step, (n, gap)
    assert max(gaps) > 150 and len(offline.calls) < 25  # resting at the ceiling: about one poll in 225 s
    assert [h.failures for _, h in seen] == list(range(1, len(offline.calls) + 1))
    assert all(h.state == "failing" and h.last_error == "cannot resolve api.kraken.com" for _, h in seen)
    asked = asyncio.get_running_loop().time()
    polls = len(offline.calls)
    poller.poll_now()  # `r` on a dashboard: a refresh request the collector passes on
    await asyncio.sleep(0.001)
    await poller.stop()
    assert len(offline.calls) == polls + 1 and offline.calls[-1] == asked  # at once, not at the next attempt
    assert seen[-1][1].failures == polls + 1  # still failing, and said so
