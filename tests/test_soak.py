"""Long runs: the poller against the fakes through the polls of 24 hours, on a clock 1000 times fast.

Every real source (binance and kraken through ccxt, Yahoo through yfinance, mempool through httpx) polls at
its shipped interval divided by 1000 until each has made as many polls as a day holds (8,640 for a 10 s
interval), recording into a real store through the Recorder, whose clock runs 1000 times fast too (so it
prunes "hourly" about 24 times). Checked: resident memory after warm-up (half the run) grows by at most
5 %, file descriptors and threads do not grow, the store holds exactly what was accepted, and its WAL stays
bounded.

The full day is `-m slow`; the default run does a 40th of it (long enough for the connection pools to fill)
and checks what a short run can show (descriptors, threads, the store), not memory.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.exchange import FakeExchange
from tests.fakes.mempool import FakeMempool
from tests.fakes.yahoo import FakeYahoo
from tui.collect.poller import Health, Poller, Schedule
from tui.collect.recorder import Recorder
from tui.collect.sources.base import FetchResult, Source
from tui.collect.sources.crypto import CryptoSource
from tui.collect.sources.equities import EquitiesSource
from tui.collect.sources.hashrate import HashrateSource
from tui.core.config import CryptoSettings, EquitiesSettings, HashrateSettings, PollerSettings, load_settings
from tui.core.store.sqlite import Store

SPEED = 1000  # the fast clock: one real millisecond is one second of the day
DAY_S = 86_400


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeExchange, FakeYahoo, FakeMempool]]:
    with FakeExchange() as exchange, FakeYahoo() as yahoo, FakeMempool() as mempool:
        yield exchange, yahoo, mempool


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


# The healthy fakes answer at once; a timeout here only measures how loaded the machine is (yfinance's first
# import under two busy loads took over 10 s), so it is long enough never to fire.
LOADED_TIMEOUT_S = 120


async def soak(fakes: tuple[FakeExchange, FakeYahoo, FakeMempool], store: Store, share: float) -> dict[str, float]:
    """Poll `share` of a day; the figures of the run."""
    exchange, yahoo, mempool = fakes
    shipped = load_settings()
    crypto_settings = CryptoSettings(("binance", "kraken"), shipped.crypto.interval_s, LOADED_TIMEOUT_S, 86400,
                                     {"binance": exchange.url, "kraken": exchange.url})
    sources: list[Source] = [
        CryptoSource(name, ("BTC/USDT", "DOGE/USDT" if name == "binance" else "BTC/USD"), crypto_settings,
                     rate_limit_ms=1) for name in ("binance", "kraken")]
    sources.append(EquitiesSource(("NVDA", "AMD", "688795.SS", "^IXIC", "CNY=X"),
                                  EquitiesSettings(shipped.equities.interval_s, LOADED_TIMEOUT_S, 86400, yahoo.url)))
    sources.append(HashrateSource(HashrateSettings(mempool.url, mempool.url, shipped.hashrate.interval_s, LOADED_TIMEOUT_S)))
    for source in sources[:2]:
        assert isinstance(source, CryptoSource)
        source.exchange.timeout_on_exit = 0
    intervals = {s.name: {"crypto": shipped.crypto.interval_s, "equities": shipped.equities.interval_s,
                          "hashrate": shipped.hashrate.interval_s}[s.kind] for s in sources}
    quota = {name: max(1, int(DAY_S / interval * share)) for name, interval in intervals.items()}
    schedules = {name: Schedule(interval / SPEED, LOADED_TIMEOUT_S) for name, interval in intervals.items()}

    started = time.monotonic()
    day_start = datetime.now(UTC)

    def fast_clock() -> datetime:
        return day_start + timedelta(seconds=(time.monotonic() - started) * SPEED)

    recorder = Recorder(store, None, lambda line: None, clock=fast_clock)
    prunes = 0
    prune = store.prune

    def counting_prune(now: datetime, *args: Any, **kwargs: Any) -> int:
        nonlocal prunes
        prunes += 1
        return prune(now, *args, **kwargs)

    store.prune = counting_prune  # type: ignore[method-assign]
    polls = dict.fromkeys(intervals, 0)
    accepted = 0
    failures = 0
    warm: dict[str, float] = {}

    async def on_result(source: Source, result: FetchResult | None, health: Health) -> None:
        nonlocal accepted, failures
        polls[source.name] += 1
        failures += result is None
        accepted += len(result.observations) if result is not None else 0
        await recorder.on_result(source, result, health)

    poller = Poller(sources, schedules, PollerSettings(0.01, 0.1), on_result)
    poller.start()
    # Descriptors are counted as the fewest open over ten samples: a sample taken while the sources poll
    # together also counts their requests in flight; a leak raises the fewest too.
    fds: list[int] = []
    try:
        while any(polls[n] < quota[n] for n in quota):
            await asyncio.sleep(0.05)
            for fake in fakes:  # the fakes log every request: that memory is the test's, not tapecheck's
                fake.reset()
            fds = [*fds[-9:], open_fds()]
            if not warm and all(polls[n] >= quota[n] / 2 for n in quota):
                gc.collect()
                warm = {"rss": rss_bytes(), "fds": min(fds), "threads": threading.active_count(),
                        "tasks": len(os.listdir("/proc/self/task"))}
        gc.collect()
        end = {"rss": rss_bytes(), "fds": min(fds), "threads": threading.active_count(),
               "tasks": len(os.listdir("/proc/self/task"))}
        alive = all(not task.done() for task in poller._tasks)
    finally:
        await poller.stop()
    wal = store.path.with_name(store.path.name + "-wal")
    return {
        "seconds": time.monotonic() - started, "polls": sum(polls.values()), "failures": failures,
        "accepted": accepted, "prunes": prunes, "alive": alive,
        "rss_warm_mb": warm["rss"] / 2**20, "rss_end_mb": end["rss"] / 2**20,
        "rss_growth_pct": (end["rss"] - warm["rss"]) / warm["rss"] * 100,
        "fds_warm": warm["fds"], "fds_end": end["fds"], "threads_warm": warm["threads"],
        "threads_end": end["threads"], "os_threads_warm": warm["tasks"], "os_threads_end": end["tasks"],
        "store_mb": store.path.stat().st_size / 2**20, "wal_mb": wal.stat().st_size / 2**20 if wal.exists() else 0,
        **{f"polls_{name}": float(count) for name, count in polls.items()},
    }


def check(figures: dict[str, float], store: Store, memory: bool) -> None:
    print("soak figures:", {k: round(v, 2) for k, v in figures.items()})
    assert figures["alive"], "a poller loop ended"
    assert figures["failures"] == 0, "a source failed against the healthy fakes"
    # pools (connections, worker threads) may still grow a little after warm-up; a leak grows with every poll
    assert figures["fds_end"] <= figures["fds_warm"] + 8, "file descriptors leak"
    assert figures["threads_end"] <= figures["threads_warm"] + 4, "threads leak"
    assert figures["os_threads_end"] <= figures["os_threads_warm"] + 4, "OS threads leak"
    assert figures["prunes"] >= 1
    assert figures["wal_mb"] < 64, "the WAL grows without bound"
    # every accepted observation is stored once: repeated (series, ts, source) are the same observation
    assert 0 < store.count() <= figures["accepted"]
    if memory:
        assert figures["rss_growth_pct"] <= 5, f"memory grew {figures['rss_growth_pct']:.1f} % after warm-up"


def test_a_short_soak_leaks_nothing(fakes: tuple[FakeExchange, FakeYahoo, FakeMempool], tmp_path: Path) -> None:
    store = Store(tmp_path / "soak.sqlite", retention_days=1)
    check(asyncio.run(soak(fakes, store, share=1 / 40)), store, memory=False)
    store.close()


@pytest.mark.slow
@pytest.mark.timeout(3 * 3600)
def test_a_day_of_polling_keeps_memory_flat(fakes: tuple[FakeExchange, FakeYahoo, FakeMempool], tmp_path: Path) -> None:
    store = Store(tmp_path / "soak.sqlite", retention_days=1)
    figures = asyncio.run(soak(fakes, store, share=1.0))
    check(figures, store, memory=True)
    assert figures["prunes"] >= 20, "the recorder did not prune hourly on the fast clock"
    store.close()
