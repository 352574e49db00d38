"""Poll concurrency: one full poll of every live series, each fake answering after 300 ms.

The sources are tapecheck's own (build_sources from the claims and a config naming the fakes): four
exchanges through ccxt, Yahoo through yfinance, the hashrate through httpx. One warm-up poll with the fakes
answering at once loads what a first poll loads (ccxt markets, Yahoo's cookie and crumb, the imports); then
the fakes slow down and one poll runs as the Poller runs it, every source at once, and then one source after
another for the baseline. Every source path here is one request deep once warm, so the goal is 2 × 300 ms.

Each timed poll comes the shipped crypto interval (10 s) after the one before, as in the app: ccxt's rate
limiters (kraken: 1 request/s; binance: request weights over a rolling minute) would otherwise hold back a
poll that follows the warm-up's market loading at once.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from benchmarks.fakes import running_fakes
from benchmarks.figures import Figure
from tui.collect.poller import Poller
from tui.collect.sources.registry import build_sources
from tui.collect.sources.wanted import wanted
from tui.core.config import load_settings
from tui.core.narratives.claims import load_narratives

DELAY_S = 0.3


async def measure(config: Path, delay: object) -> tuple[float, float, int, int, int]:
    settings = load_settings(config)
    need = wanted(load_narratives())
    plan = build_sources(settings, need)
    live = [s for s in plan.sources if not plan.schedules[s.name].after_live]
    poller = Poller(live, {s.name: plan.schedules[s.name] for s in live}, settings.poller, lambda *_: None)
    try:
        warm = await poller.poll_once()
        failed = [name for name, result in warm.items() if result is None]
        if failed:
            raise RuntimeError(f"the warm-up poll failed for {', '.join(failed)}: "
                               f"{[poller.health[n].last_error for n in failed]}")
        delay(DELAY_S)  # type: ignore[operator]
        await asyncio.sleep(settings.crypto.interval_s)
        started = time.perf_counter()
        results = await poller.poll_once()
        concurrent = time.perf_counter() - started
        count = sum(len(r.observations) for r in results.values() if r is not None)
        await asyncio.sleep(settings.crypto.interval_s)
        started = time.perf_counter()
        for source in live:
            await source.fetch()
        sequential = time.perf_counter() - started
    finally:
        await poller.stop()
    symbols = len(need.crypto_symbols) * len(settings.crypto.exchanges) + len(need.yahoo_symbols) + 2
    return concurrent, sequential, len(live), symbols, count


def run(quick: bool) -> list[Figure]:
    with running_fakes() as fakes, tempfile.TemporaryDirectory() as tmp:
        config = fakes.config(Path(tmp) / "config.toml")
        concurrent, sequential, paths, symbols, count = asyncio.run(measure(config, fakes.delay))
    return [
        Figure(f"poll concurrency ({symbols} symbols, {paths} source paths, 300 ms each)", concurrent, "s",
               sequential, "sequential poll", "≤ 2 × 300 ms", concurrent <= 2 * DELAY_S,
               f"{count} observations (the fake Yahoo quotes 8 of the 39 symbols asked, the exchanges list 12 of "
               f"the 20 pairs asked); the sources one after another took {sequential:.2f} s (≥ {paths} × 0.3 s)"),
    ]
