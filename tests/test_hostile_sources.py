"""Hostile answers through every client's real code path: bodies that never end, gzip bombs, trickles.

Each client (ccxt over aiohttp, httpx, yfinance over curl_cffi) must cut a body off at the size cap (counted
after decompression), give up on a body that trickles past its deadline, and keep the event loop turning
while it reads. The figures (peak Python memory while reading, time to give up) go to docs/reliability.md:
run with `-s` to see them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.exchange import FakeExchange
from tests.fakes.mempool import FakeMempool
from tests.fakes.yahoo import FakeYahoo
from tui.collect.poller import Schedule
from tui.collect.recorder import record
from tui.collect.sources.base import FetchResult, SourceError
from tui.collect.sources.crypto import CryptoSource
from tui.collect.sources.equities import EquitiesSource, YFinanceDownloader
from tui.collect.sources.hashrate import HashrateSource
from tui.collect.sources.limits import MAX_BODY_BYTES
from tui.collect.sources.registry import Planned
from tui.core.config import CryptoSettings, EquitiesSettings, HashrateSettings, PollerSettings
from tui.core.store.sqlite import Store

TIMEOUT = 1.0  # each client's own timeout in the trickle test; a trickle outlasts it
# ... and in the size tests: long enough that the cap, not the clock, ends a fast endless body, however loaded
# the machine (loopback carries the 64 MB in well under a second when idle)
ROOMY = 20.0
LIMIT = 60.0  # the test's own bound on any one fetch: reached only if the client never gives up
PEAK = 3 * MAX_BODY_BYTES  # the body, its parts and one copy while joining them


@pytest.fixture(scope="module")
def exchange() -> Iterator[FakeExchange]:
    with FakeExchange() as fake:
        yield fake


@pytest.fixture(scope="module")
def mempool() -> Iterator[FakeMempool]:
    with FakeMempool() as fake:
        yield fake


@pytest.fixture(scope="module")
def yahoo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeYahoo]:
    import yfinance as yf

    yf.set_tz_cache_location(str(tmp_path_factory.mktemp("yfinance-cache")))  # not the user's cache dir
    with FakeYahoo() as fake:
        yield fake


def crypto(fake: FakeExchange, timeout: float = ROOMY) -> CryptoSource:
    settings = CryptoSettings(("binance",), 10, timeout, 86400, {"binance": fake.url})
    source = CryptoSource("binance", ("BTC/USDT",), settings, rate_limit_ms=1)
    source.exchange.timeout_on_exit = 0
    return source


def hashrate(fake: FakeMempool, timeout: float = ROOMY) -> HashrateSource:
    return HashrateSource(HashrateSettings(fake.url, fake.url, 300, timeout))


def equities(fake: FakeYahoo, timeout: float = ROOMY) -> EquitiesSource:
    settings = EquitiesSettings(10, timeout, 86400, fake.url)
    return EquitiesSource(("NVDA",), settings, YFinanceDownloader(timeout_s=timeout, base_url=fake.url))


STALLS: dict[str, float] = {}  # the longest the event loop stood still during each fetch, for the report


async def measured(call: Callable[[], Awaitable[FetchResult]]) -> tuple[BaseException | FetchResult, float, int, int]:
    """The fetch's outcome, its time, the peak of Python's memory while it ran, and how often a 1 ms ticker
    task ran meanwhile (how well the event loop kept turning; the longest gap goes to STALLS["last"])."""
    ticks = 0
    STALLS["last"] = 0.0

    async def ticker() -> None:
        nonlocal ticks
        before = time.monotonic()
        while True:
            await asyncio.sleep(0.001)
            ticks += 1
            now = time.monotonic()
            STALLS["last"] = max(STALLS["last"], now - before)
            before = now

    beat = asyncio.create_task(ticker())
    tracemalloc.start()
    started = time.monotonic()
    try:
        async with asyncio.timeout(LIMIT):
            outcome: BaseException | FetchResult = await call()
    except (SourceError, TimeoutError) as error:
        outcome = error
    finally:
        took = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        beat.cancel()
    return outcome, took, peak, ticks


def report(what: str, took: float, peak: int, outcome: Any) -> None:
    print(f"\n{what}: gave up after {took:.2f} s, peak {peak / 2**20:.0f} MB traced, loop stood still at most "
          f"{STALLS.get('last', 0):.2f} s: {outcome}")


@pytest.mark.parametrize("kind", ["endless", "bomb"])
@pytest.mark.parametrize("path", ["/api/v3/exchangeInfo", "/api/v3/ticker/24hr"])
def test_ccxt_cuts_a_huge_body_off_at_the_cap(exchange: FakeExchange, path: str, kind: str) -> None:
    exchange.reset()
    exchange.set_scenario(path, kind)
    source = crypto(exchange)

    async def go() -> tuple[Any, float, int, int]:
        try:
            return await measured(source.fetch)
        finally:
            await source.close()

    outcome, took, peak, ticks = asyncio.run(go())
    report(f"ccxt {path} {kind}", took, peak, outcome)
    assert isinstance(outcome, SourceError) and "larger than 64 MB, cut off" in str(outcome), outcome
    assert peak < PEAK
    assert ticks > 10, "the event loop stood still while the body was read"
    exchange.reset()


@pytest.mark.parametrize("kind", ["endless", "bomb"])
def test_httpx_cuts_a_huge_body_off_at_the_cap(mempool: FakeMempool, kind: str) -> None:
    mempool.reset()
    source = hashrate(mempool)

    async def go() -> tuple[Any, float, int, int]:
        try:
            await source.fetch()  # the client is made (TLS setup holds the interpreter ~0.4 s): not measured
            mempool.set_scenario("*", kind)
            return await measured(source.fetch)
        finally:
            await source.close()

    outcome, took, peak, ticks = asyncio.run(go())
    report(f"httpx {kind}", took, peak, outcome)
    assert isinstance(outcome, SourceError) and "larger than 64 MB, cut off" in str(outcome), outcome
    assert peak < PEAK
    assert ticks > 10, "the event loop stood still while the body was read"
    mempool.reset()


@pytest.mark.parametrize("kind", ["endless", "bomb"])
def test_curl_cuts_a_huge_body_off_at_the_cap(yahoo: FakeYahoo, kind: str) -> None:
    yahoo.reset()
    yahoo.set_scenario("*", kind)
    source = equities(yahoo)
    outcome, took, peak, _ = asyncio.run(measured(source.fetch))
    report(f"curl_cffi {kind}", took, peak, outcome)
    assert isinstance(outcome, SourceError) and "larger than 64 MB, cut off" in str(outcome), outcome
    assert peak < PEAK
    yahoo.reset()


def test_a_trickling_body_meets_each_clients_deadline(exchange: FakeExchange, mempool: FakeMempool,
                                                     yahoo: FakeYahoo) -> None:
    """100 bytes every 10 ms, for ever: under any cap, so only the deadline can end it."""
    exchange.reset()
    exchange.set_scenario("/api/v3/exchangeInfo", "trickle")
    mempool.reset()
    mempool.set_scenario("*", "trickle")
    yahoo.reset()
    yahoo.set_scenario("*", "trickle")
    sources: list[Any] = [crypto(exchange, TIMEOUT), hashrate(mempool, TIMEOUT), equities(yahoo, TIMEOUT * 3)]

    async def go() -> list[tuple[Any, float, int, int]]:
        try:
            return [await measured(source.fetch) for source in sources]
        finally:
            for source in sources:
                await source.close()

    for source, (outcome, took, peak, _) in zip(sources, asyncio.run(go()), strict=True):
        report(f"{source.name} trickle", took, peak, outcome)
        assert isinstance(outcome, SourceError) and "timed out" in str(outcome), (source.name, outcome)
    exchange.reset()
    mempool.reset()
    yahoo.reset()


# ---- record, stopped while a request hangs ------------------------------------------------------------------


def test_record_stopped_while_yahoo_hangs_stops_at_once_and_does_not_count_it(
        exchange: FakeExchange, yahoo: FakeYahoo, tmp_path: Path) -> None:
    """SIGINT while Yahoo holds its answer for an hour (and may take that long): record ends without waiting for
    it, and says that Yahoo did not answer instead of "2 of 2 sources". Had it waited, the test's time-out (300 s)
    would end it: no stopwatch is needed."""
    exchange.reset()
    yahoo.reset()
    yahoo.set_scenario("*", "delay", delay_s=3600)
    sources: list[Any] = [crypto(exchange, 2.0), equities(yahoo, 3600.0)]
    plan = Planned(sources, {"binance": Schedule(1, 6), "yahoo": Schedule(3600, 3601)})
    store = Store(tmp_path / "store.sqlite")
    said: list[str] = []

    async def go() -> int:
        task = asyncio.create_task(record(plan, PollerSettings(1, 2), store, None, False, said.append))
        async with asyncio.timeout(LIMIT):
            while not await asyncio.to_thread(store.count):  # binance has answered and been stored
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # Yahoo's request is under way
        os.kill(os.getpid(), signal.SIGINT)
        return await task

    failed = asyncio.run(go())
    assert failed == 1
    assert "yahoo: no answer before the stop" in said
    assert said[-1].endswith("from 1 of 2 sources")
    store.close()
    yahoo.reset()


def test_an_exchanges_error_text_reaches_no_terminal_with_control_characters(exchange: FakeExchange) -> None:
    """An exchange's error message that retitles the terminal and clears the screen comes out printable."""
    exchange.reset()
    exchange.set_scenario("/api/v3/ticker/24hr", "body", status=400,
                          body='{"code": -1, "msg": "\\u001b]0;pwned\\u0007Invalid\\u001b[2J symbol.\\r\\n"}')
    source = crypto(exchange, 2.0)

    async def go() -> Any:
        try:
            return await measured(source.fetch)
        finally:
            await source.close()

    outcome = asyncio.run(go())[0]
    assert isinstance(outcome, SourceError)
    assert "pwned" in str(outcome) and "Invalid" in str(outcome)
    assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in str(outcome)), repr(str(outcome))
    exchange.reset()
