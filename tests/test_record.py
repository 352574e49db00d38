"""`tapecheck record --once --out` against the local fakes of all three source kinds, then `check` on the tape."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.exchange import FakeExchange
from tests.fakes.mempool import FakeMempool
from tests.fakes.yahoo import FakeYahoo
from tui.core.store.sqlite import Store

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeExchange, FakeMempool, FakeYahoo]]:
    with FakeExchange() as exchange, FakeMempool() as mempool, FakeYahoo() as yahoo:
        yield exchange, mempool, yahoo


def config(tmp_path: Path, exchange: FakeExchange, mempool: FakeMempool, yahoo: FakeYahoo) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f"""
[sources.crypto]
exchanges = ["binance", "kraken"]
timeout_s = 120

[sources.crypto.urls]
binance = "{exchange.url}"
kraken = "{exchange.url}"

[sources.equities]
base_url = "{yahoo.url}"
timeout_s = 120

[sources.hashrate]
base_url = "{mempool.url}"
fallback_url = "{mempool.url}"
timeout_s = 120
""")
    return path


def tapecheck(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_STATE_HOME": str(tmp_path / "state")}
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=env)


def test_record_once_writes_every_source_kind(tmp_path: Path,
                                              fakes: tuple[FakeExchange, FakeMempool, FakeYahoo]) -> None:
    cfg = config(tmp_path, *fakes)
    out, store = tmp_path / "now.jsonl", tmp_path / "store.sqlite"
    done = tapecheck(tmp_path, "--config", str(cfg), "record", "--once", "--out", str(out), "--store", str(store))
    assert "Traceback" not in done.stderr
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    by_series: dict[str, set[str]] = {}
    for row in rows:
        by_series.setdefault(row["series"], set()).add(row["source"])
    assert by_series["crypto:BTC/USD:last"] >= {"kraken"}
    assert "binance" in by_series["crypto:BTC/USDT:last"] and "binance" in by_series["crypto:WLD/USDT:last"]
    assert "network:bitcoin:hashrate" in by_series and "network:bitcoin:difficulty" in by_series
    for series in ("equity:NVDA:last", "equity:NVDA:market_cap", "equity:688795.SS:market_cap", "fx:USDCNY:last",
                   "index:^IXIC:last", "commodity:GC=F:last"):
        assert "yahoo" in by_series.get(series, set()), series
    units = {row["series"]: row["unit"] for row in rows}
    assert units["equity:688795.SS:market_cap"] == "CNY" and units["fx:USDCNY:last"] == "CNY/USD"
    assert units["network:bitcoin:hashrate"] == "H/s"
    hashrate = next(r for r in rows if r["series"] == "network:bitcoin:hashrate")
    assert 1e20 < hashrate["value"] < 1e22
    assert Store(store).count() == len({(r["series"], r["source"], r["ts"]) for r in rows})
    assert "recorded" in done.stderr

    checked = tapecheck(tmp_path, "check", "--snapshot", str(out), "--json")
    assert checked.returncode in (0, 1), checked.stderr
    verdicts = {v["id"]: v for v in json.loads(checked.stdout)["verdicts"]}
    assert verdicts["wu-hashrate-above-1zh"]["status"] == "holds"
    assert verdicts["bb-tesla-btc-11509-over-1bn"]["status"] in ("holds", "diverged")

    from_store = tapecheck(tmp_path, "check", "--store", str(store), "--json")
    assert from_store.returncode in (0, 1), from_store.stderr
    assert {v["id"]: v["status"] for v in json.loads(from_store.stdout)["verdicts"]}["wu-hashrate-above-1zh"] == "holds"


def test_record_reports_a_failing_source_on_one_line(tmp_path: Path,
                                                    fakes: tuple[FakeExchange, FakeMempool, FakeYahoo]) -> None:
    exchange, mempool, yahoo = fakes
    mempool.set_scenario("*", "status", status=503)
    try:
        cfg = config(tmp_path, exchange, mempool, yahoo)
        done = tapecheck(tmp_path, "--config", str(cfg), "record", "--once", "--no-store", "--out",
                         str(tmp_path / "x.jsonl"))
    finally:
        mempool.reset()
    assert done.returncode == 3
    lines = [line for line in done.stderr.splitlines() if line.startswith("tapecheck: mempool:")]
    assert lines == ["tapecheck: mempool: mempool.space: HTTP 503; blockchain.com: HTTP 503"], done.stderr
    assert "Traceback" not in done.stderr
    log = (tmp_path / "state" / "tapecheck" / "log" / "tapecheck.log").read_text()  # the failure is in the log
    assert "mempool: mempool.space: HTTP 503; blockchain.com: HTTP 503 (failure 1" in log


async def test_slow_fakes_poll_in_about_the_time_of_the_slowest() -> None:
    """Four real hashrate sources against four fakes that each hold their answer until all four have been asked:
    polled concurrently they all answer; polled one after another the first would wait for the others in vain
    (a minute, then no answer). A condition, not a stopwatch: a loaded machine cannot fail it."""
    import threading

    from tui.collect.poller import Poller, Schedule
    from tui.collect.sources.hashrate import HashrateSource
    from tui.core.config import HashrateSettings, PollerSettings

    servers = [FakeMempool().start() for _ in range(4)]
    everyone_asked = threading.Barrier(len(servers), timeout=60)
    try:
        for server in servers:
            answer = server._handle

            def held(request: Any, answer: Any = answer) -> None:
                if request.path.startswith("/api/v1/mining/hashrate/1w"):  # the current figure, once per source
                    everyone_asked.wait()
                answer(request)

            server._handle = held  # type: ignore[method-assign,assignment]
        sources = []
        for i, server in enumerate(servers):
            source = HashrateSource(HashrateSettings(server.url, server.url, 300, 60))
            source.name = f"mempool-{i}"
            sources.append(source)
        poller = Poller(sources, {s.name: Schedule(300, 60) for s in sources}, PollerSettings(5, 60), lambda *_: None)
        results = await poller.poll_once()
        await poller.stop()
    finally:
        everyone_asked.abort()
        for server in servers:
            server.stop()
    assert all(r is not None and r.observations for r in results.values()), results


def chart_starts(yahoo: FakeYahoo) -> set[int]:
    """The first day (as a Unix time) of every daily-history request Yahoo received."""
    requests = list(yahoo.requests)  # the recording process has exited: nothing is being appended
    return {int(q["period1"]) for p, q in requests if p.startswith("/v8/finance/chart") and "period1" in q}


def test_history_is_fetched_once_and_then_only_the_last_days(tmp_path: Path,
                                                             fakes: tuple[FakeExchange, FakeMempool, FakeYahoo]) -> None:
    import time

    yahoo = fakes[2]
    cfg, store = config(tmp_path, *fakes), tmp_path / "store.sqlite"
    yahoo.reset()
    first = tapecheck(tmp_path, "--config", str(cfg), "record", "--once", "--store", str(store))
    assert first.returncode == 0, first.stderr
    assert min(chart_starts(yahoo)) < time.time() - 399 * 86400  # the first run reaches back over a year
    yahoo.reset()
    second = tapecheck(tmp_path, "--config", str(cfg), "record", "--once", "--store", str(store))
    assert second.returncode == 0, second.stderr
    assert chart_starts(yahoo) and min(chart_starts(yahoo)) > time.time() - 9 * 86400  # only the last week
    yahoo.reset()
    again = tapecheck(tmp_path, "--config", str(cfg), "record", "--once", "--store", str(store), "--refetch-history")
    assert again.returncode == 0, again.stderr
    assert min(chart_starts(yahoo)) < time.time() - 399 * 86400


def closed_port() -> int:
    """A port of 127.0.0.1 nothing listens on: connecting to it is refused at once, as offline."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def config_at(tmp_path: Path, urls: dict[str, str]) -> Path:
    """Every source at its own URL of `urls` (binance, kraken, yahoo, mempool, blockchain)."""
    path = tmp_path / "config.toml"
    path.write_text(f"""
[sources.crypto]
exchanges = ["binance", "kraken"]
[sources.crypto.urls]
binance = "{urls['binance']}"
kraken = "{urls['kraken']}"
[sources.equities]
base_url = "{urls['yahoo']}"
[sources.hashrate]
base_url = "{urls['mempool']}"
fallback_url = "{urls['blockchain']}"
""")
    return path


SOURCES = ("binance", "kraken", "yahoo", "mempool", "blockchain")


def test_record_once_offline_says_each_sources_reason_and_writes_no_tape(tmp_path: Path) -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    cfg = config_at(tmp_path, dict.fromkeys(SOURCES, url))
    out = tmp_path / "now.jsonl"
    done = tapecheck(tmp_path, "--config", str(cfg), "record", "--once", "--no-store", "--out", str(out))
    refused = f"connection refused (127.0.0.1:{port})"
    lines = done.stderr.splitlines()
    for name in ("binance", "kraken", "yahoo"):
        assert f"tapecheck: {name}: {refused}" in lines, done.stderr
    assert f"tapecheck: mempool: mempool.space: {refused}; blockchain.com: {refused}" in lines, done.stderr
    assert "tapecheck: no live source answered (offline?): 4 daily history jobs not tried" in lines
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert not out.exists()


class Slammer:
    """A port that takes each connection and resets it at once, unanswered, counting them: how many times a
    source tried. (The client reads a reset as refused, or as closed, depending on when it comes.)"""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.connections = 0
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import socket
        import struct

        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    def close(self) -> None:
        self.sock.close()


def test_record_once_tries_an_unreachable_yahoo_once(tmp_path: Path) -> None:
    """Offline, a Yahoo poll of many requests (yfinance: a cookie, a crumb, then the quote) costs one attempt."""
    slammers = {name: Slammer() for name in SOURCES}
    try:
        cfg = config_at(tmp_path, {name: s.url for name, s in slammers.items()})
        done = tapecheck(tmp_path, "--config", str(cfg), "record", "--once", "--no-store", "--out",
                         str(tmp_path / "now.jsonl"))
    finally:
        for slammer in slammers.values():
            slammer.close()
    assert done.returncode == 3 and "Traceback" not in done.stderr, done.stderr
    assert "tapecheck: no live source answered (offline?): 4 daily history jobs not tried" in done.stderr
    tries = {name: s.connections for name, s in slammers.items()}
    assert all(tries.values()), tries  # every source tried (an exchange may load its markets in two requests)
    assert tries["yahoo"] == 1, tries  # not the cookie, then the crumb, then the quote, each failing on its own
