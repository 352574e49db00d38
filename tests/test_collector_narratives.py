"""The collector follows the user's narrative files: a Yahoo symbol new to the app is polled (against the local
fake Yahoo) once a file names it, without a restart, and a symbol Yahoo does not quote gets a clear health entry."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path

from tests.fakes.exchange import FakeExchange
from tests.fakes.mempool import FakeMempool
from tests.fakes.yahoo import QUOTE_PATH, FakeYahoo
from tests.test_collector import config
from tests.test_user_narratives import article, check_claim, write
from tui.collect.collector import Collector
from tui.collect.sources.registry import build_sources
from tui.collect.sources.wanted import wanted
from tui.core.config import load_settings
from tui.core.narratives.claims import load_narratives
from tui.core.store.sqlite import Store

PATIENCE = 6000  # pauses of 0.05 s: a bound, not a speed

HONG_KONG = (article("hk-note", "My desk", "Tencent", "2026-01-20") + "\n"
             + check_claim("hk-tencent-above-500", "china_ai_chips", "last(equity:0700.HK:last)", 500, "HKD",
                           "Tencent trades above HKD 500.") + "\n"
             + check_claim("hk-nothing-quotes-this", "china_ai_chips", "last(equity:ZZZZQ:last)", 1, "USD",
                           "A symbol no source quotes."))


def quoted(yahoo: FakeYahoo, since: int) -> set[str]:
    """Every symbol asked of the fake's quote endpoint after its first `since` requests."""
    with yahoo._lock:
        requests = list(yahoo.requests[since:])
    return {s for path, query in requests if path == QUOTE_PATH for s in query.get("symbols", "").split(",")}


async def waiting(done: object, what: str) -> None:
    for _ in range(PATIENCE):
        if callable(done) and done():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"waited in vain for {what}")


async def test_a_symbol_a_new_user_file_names_is_polled_without_a_restart(
        tmp_path: Path, fakes: tuple[FakeExchange, FakeYahoo, FakeMempool]) -> None:
    _, yahoo, _ = fakes
    settings = load_settings(config(tmp_path, fakes))
    narratives = load_narratives(user_dirs=settings.narrative_dirs)
    assert "0700.HK" not in wanted(narratives).yahoo_symbols  # new to the app
    store = Store(tmp_path / "s.sqlite")
    lines: list[str] = []
    collector = Collector(settings, narratives, store, build_sources(settings, wanted(narratives)), lines.append)
    stop = asyncio.Event()
    start = len(yahoo.requests)
    running = asyncio.create_task(collector.run(stop))
    try:
        await waiting(lambda: "NVDA" in quoted(yahoo, start), "the first Yahoo poll")
        assert "0700.HK" not in quoted(yahoo, start)
        write("hk.toml", HONG_KONG)
        await waiting(lambda: "0700.HK" in quoted(yahoo, start), "a poll asking for 0700.HK")
        await waiting(lambda: store.latest("equity:0700.HK:last", datetime.now(UTC)), "0700.HK in the store")
        assert store.latest("equity:0700.HK:last", datetime.now(UTC))[0].unit == "HKD"

        def told() -> bool:
            health = {h.source: h for h in store.health()}
            return "yahoo" in health and any(p.startswith("ZZZZQ: Yahoo did not quote it")
                                             for p in health["yahoo"].partial)
        await waiting(told, "the health entry of the symbol nobody quotes")
        assert any("now polling 0700.HK, ZZZZQ as well" in line for line in lines)
        assert "NVDA" in quoted(yahoo, start)  # the shipped symbols are polled still
    finally:
        stop.set()
        await running
        store.close()
        # a Yahoo request cannot be cancelled: let its thread end before the next test (or pytest) runs
        await waiting(lambda: not [t for t in threading.enumerate() if t.name.startswith("yahoo")],
                      "the Yahoo threads to end")
