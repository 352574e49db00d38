"""The fault matrix: every source kind × every fault, end to end, against the local fakes.

Each cell runs the real sources (ccxt against FakeExchange, yfinance against FakeYahoo, httpx against
FakeMempool) in one Poller, recording into a real Store, and:

1. waits until every source has answered (the last good values are stored);
2. injects the fault into one source ("the target") and lets it hit at least twice;
3. checks the other sources kept answering; the target's affected series still shows its last good number,
   shown stale (or closed) with its age once past its maximum age; its health says what is wrong in words;
   a failing source backs off more after each failure (or as long as Retry-After asks);
4. heals the fault and checks the first poll that starts afterwards succeeds (recovery within one backoff
   period);
5. checks no bad value reached the store (so none can reach the screen, which reads the store), no poller
   task died, no exception went unhandled and nothing was printed.

Connection refused and DNS failure change where the target's requests go, which a fake cannot do from the
other end: there the target is a `Rerouted` pair of two real sources of the same name, one pointed at the fake
and one at a closed port or an unresolvable name (`*.invalid`), switched by the test as a network would be.

The test ids, `test_fault_matrix[<source>-<fault>]`, are the cells of the table in docs/reliability.md,
which `python -m tests.matrix_table` writes from a junit report of this module.
"""

from __future__ import annotations

import asyncio
import math
import random
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.exchange import FakeExchange
from tests.fakes.mempool import FakeMempool, fixture
from tests.fakes.yahoo import DELETE, FakeYahoo
from tui.collect.poller import Health, Poller, Schedule
from tui.collect.sources.base import FUTURE_SKEW, MAX_PRICE, MAX_VALUE, FetchResult, Source, import_heavy
from tui.collect.sources.crypto import CryptoSource
from tui.collect.sources.equities import EquitiesSource
from tui.collect.sources.hashrate import PLAUSIBLE, HashrateSource
from tui.core.config import (
    CryptoSettings,
    EquitiesSettings,
    HashrateSettings,
    PollerSettings,
    load_settings,
)
from tui.core.judge.view import make_context, series_row
from tui.core.model import SeriesId
from tui.core.store.sqlite import Store

pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning",
                                        "error::pytest.PytestUnraisableExceptionWarning")

BACKOFF = PollerSettings(backoff_base_s=0.1, backoff_max_s=0.4)
INTERVAL = 0.05
# Yahoo's: an HTTP 5xx costs yfinance about 0.6 s (the quote request, then the daily-bars fallback); where the
# fault is the time itself, the shorter one keeps the cell short.
CRYPTO_TIMEOUT, YAHOO_TIMEOUT, YAHOO_SHORT_TIMEOUT, HASHRATE_TIMEOUT = 0.3, 1.5, 0.5, 0.3
LONG = 5.0  # seconds a slow fake holds its answer: longer than any timeout above
WAIT = 20.0  # a generous limit for anything the test waits for

TICKERS = "/api/v3/ticker/24hr"
TARGET = {"crypto": "crypto:BTC/USDT:last", "yahoo": "equity:NVDA:last", "hashrate": "network:bitcoin:hashrate"}
OTHER = {"crypto": "crypto:WLD/USDT:last", "yahoo": "equity:AMD:last", "hashrate": "network:bitcoin:difficulty"}


@dataclass(frozen=True)
class Fault:
    """A row of the matrix. `effect`: "down" (the source fails as a whole), "partial" (the target series is
    refused or missing while the rest still comes), "filtered" (only a side value is refused; the target goes
    on), "absorbed" (the source answers from its fallback instead: Yahoo's quote payload with a NaN token is
    not JSON to yfinance, so the daily-bars fallback answers). `reason`: what the health record must say, per
    source kind (a regex, case-insensitive)."""

    title: str
    effect: dict[str, str]
    reason: dict[str, str]


def _all(effect: str, reason: str) -> tuple[dict[str, str], dict[str, str]]:
    return {k: effect for k in TARGET}, {k: reason for k in TARGET}


FAULTS: dict[str, Fault] = {
    "refused": Fault("connection refused", *_all("down", r"connection refused|cannot connect")),
    "dns": Fault("DNS failure", *_all("down", r"cannot resolve")),
    "timeout": Fault("timeout before headers", *_all("down", r"timed out")),
    "stall": Fault("body stalls half-way", *_all("down", r"timed out|incomplete|closed")),
    "429_retry_after": Fault("HTTP 429 with Retry-After", *_all("down", r"rate limited|429")),
    "429": Fault("HTTP 429 without Retry-After", *_all("down", r"rate limited|429")),
    "500": Fault("HTTP 500", *_all("down", r"HTTP 500")),
    "502": Fault("HTTP 502", *_all("down", r"HTTP 502")),
    "503": Fault("HTTP 503", *_all("down", r"HTTP 503")),
    "html": Fault("HTML error page instead of JSON", *_all("down", r"unexpected response|not JSON")),
    "truncated": Fault("truncated JSON", *_all("down", r"unexpected response|not JSON|incomplete")),
    "wrong_shape": Fault("valid JSON of the wrong shape", *_all("down", r"unexpected response|refused")),
    "missing_fields": Fault("missing fields", {"crypto": "partial", "yahoo": "partial", "hashrate": "down"},
                            {"crypto": r"no ticker|no price", "yahoo": r"no quote", "hashrate": r"missing"}),
    "nan": Fault("NaN value", {"crypto": "partial", "yahoo": "absorbed", "hashrate": "partial"},
                  {k: r"not finite|not a number|missing" for k in TARGET}),
    "negative": Fault("negative value", *_all("partial", r"not positive")),
    "zero": Fault("zero value", *_all("partial", r"not positive|missing|no price")),
    "absurd": Fault("absurdly large value", *_all("partial", r"implausibly large|outside the plausible range")),
    "future": Fault("timestamp in the future", {"crypto": "partial", "yahoo": "partial", "hashrate": "filtered"},
                    {k: r"in the future" for k in TARGET}),
    "partial_batch": Fault("batch with some symbols missing", *_all("partial", r"no ticker|no quote|missing")),
    "flapping": Fault("flapping (fails and heals, three times)", *_all("down", r"HTTP 503")),
    # Plausible alone, 100 times its last value (cents for dollars): disputed against the source's own past (the
    # matrix has one exchange), or for the hashrate against the difficulty; kept apart, never stored as a value
    "scaled": Fault("value 100x off (cents for dollars)", *_all("partial", r"disputed .*(100x above|disagree)")),
    # Cut at the 64 MB cap, or at the deadline when the loaded machine carries it slower than that
    "endless": Fault("body that never ends", *_all("down", r"larger than 64 MB, cut off|timed out")),
    "bomb": Fault("gzip bomb (1 MB inflating to 1 GiB)", *_all("down", r"larger than 64 MB, cut off|timed out")),
}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def fakes() -> Iterator[tuple[FakeExchange, FakeYahoo, FakeMempool]]:
    # Imported here, not in the first cell: on a loaded machine their seconds of import ate that cell's WAIT.
    import_heavy("ccxt.async_support")
    import_heavy("yfinance")
    with FakeExchange() as exchange, FakeYahoo() as yahoo, FakeMempool() as mempool:
        yield exchange, yahoo, mempool


# ---- the sources, built against a base URL ----------------------------------------------------------------


def crypto_source(url: str) -> CryptoSource:
    settings = CryptoSettings(("binance",), INTERVAL, CRYPTO_TIMEOUT, 86400, {"binance": url})
    source = CryptoSource("binance", ("BTC/USDT", "WLD/USDT"), settings, rate_limit_ms=1)
    source.exchange.timeout_on_exit = 0  # ccxt's TLS wind-down pause; the fake speaks plain HTTP
    return source


def yahoo_source(url: str, timeout: float = YAHOO_TIMEOUT) -> EquitiesSource:
    return EquitiesSource(("NVDA", "AMD"), EquitiesSettings(INTERVAL, timeout, 86400, url))


def hashrate_source(url: str) -> HashrateSource:
    return HashrateSource(HashrateSettings(url, url, INTERVAL, HASHRATE_TIMEOUT))


BUILD: dict[str, Callable[[str], Source]] = {"crypto": crypto_source, "yahoo": yahoo_source,
                                             "hashrate": hashrate_source}
SCHEDULE = {"crypto": Schedule(INTERVAL, 3 * CRYPTO_TIMEOUT + 0.5), "yahoo": Schedule(INTERVAL, YAHOO_TIMEOUT + 0.5),
            "hashrate": Schedule(INTERVAL, 2 * HASHRATE_TIMEOUT + 0.5)}


class Rerouted:
    """One source as the poller sees it, whose requests go to the fake or, while `broken`, to a bad address:
    two real sources of the same name and kind, as a network outage or a DNS failure would switch them."""

    def __init__(self, working: Source, broken: Source) -> None:
        self.name, self.kind = working.name, working.kind
        self.working, self.broken = working, broken
        self.use_broken = False

    async def fetch(self) -> FetchResult:
        return await (self.broken if self.use_broken else self.working).fetch()

    async def close(self) -> None:
        await self.working.close()
        await self.broken.close()


# ---- faults, per source kind ------------------------------------------------------------------------------


# Faults every fake serves the same way: (scenario kind, options)
TRANSPORT: dict[str, tuple[str, dict[str, Any]]] = {
    "timeout": ("delay", {"delay_s": LONG}), "stall": ("stall", {"delay_s": LONG}),
    "429_retry_after": ("status", {"status": 429, "retry_after": "1"}), "429": ("status", {"status": 429}),
    "500": ("status", {"status": 500}), "502": ("status", {"status": 502}), "503": ("status", {"status": 503}),
    "flapping": ("status", {"status": 503}), "html": ("html", {}), "truncated": ("truncated", {}),
    "wrong_shape": ("wrong_shape", {}), "endless": ("endless", {}), "bomb": ("bomb", {})}


class Injector:
    """Sets a fault on the target's fake (or reroutes the target) and heals it."""

    def __init__(self, kind: str, fakes: tuple[FakeExchange, FakeYahoo, FakeMempool], target: Source) -> None:
        self.kind = kind
        self.exchange, self.yahoo, self.mempool = fakes
        self.target = target

    def inject(self, fault: str) -> None:
        if fault in ("refused", "dns"):
            assert isinstance(self.target, Rerouted)
            self.target.use_broken = True
            return
        getattr(self, f"_{self.kind}")(fault)

    def heal(self) -> None:
        if isinstance(self.target, Rerouted):
            self.target.use_broken = False
        self.exchange.reset()
        self.yahoo.reset()
        self.mempool.reset()
        fresh_yahoo_times(self.yahoo)

    def _crypto(self, fault: str) -> None:
        fake, market = self.exchange, "BTCUSDT"
        values: dict[str, dict[str, Any]] = {"missing_fields": {"remove": ("symbol", "lastPrice")}, "nan": {"last": "NaN"},
                  "negative": {"last": "-5"},
                  # ccxt derives a missing or zero last price from open + change; without them the zero stays
                  "zero": {"last": "0", "remove": ("openPrice", "priceChange", "prevClosePrice")},
                  "absurd": {"last": "7e16"}, "scaled": {"last": "7121000"},  # the fixture's 71,210 × 100
                  "future": {"ts": int((time.time() + 2 * 86400) * 1000)}, "partial_batch": {"drop": True}}
        if fault in TRANSPORT:
            kind, options = TRANSPORT[fault]
            fake.set_scenario(TICKERS, kind, **options)
        else:
            fake.edit_ticker(market, **values[fault])

    def _yahoo(self, fault: str) -> None:
        fake, symbol = self.yahoo, "NVDA"
        price = fake.quote_item(symbol)["regularMarketPrice"]
        values: dict[str, dict[str, Any]] = {
            "missing_fields": {"regularMarketPrice": DELETE}, "nan": {"regularMarketPrice": math.nan},
            "negative": {"regularMarketPrice": -price}, "zero": {"regularMarketPrice": 0},
            "absurd": {"regularMarketPrice": price * 1e12}, "scaled": {"regularMarketPrice": price * 100},
            "future": {"regularMarketTime": int(time.time()) + 2 * 86400}}
        if fault in TRANSPORT:
            kind, options = TRANSPORT[fault]
            fake.set_scenario("*", kind, **options)  # both the quote endpoint and its chart fallback
        elif fault == "partial_batch":
            fake.omit.add(symbol)
        else:
            fake.quote_overrides.setdefault(symbol, {}).update(values[fault])

    def _hashrate(self, fault: str) -> None:
        kinds = {**TRANSPORT,
                 "missing_fields": ("missing", {}), "nan": ("nan", {}), "negative": ("negative", {}),
                 "zero": ("zero", {}), "absurd": ("absurd", {}), "future": ("future", {}),
                 "partial_batch": ("null", {})}
        if fault == "scaled":
            self.mempool.current["currentHashrate"] = fixture("hashrate_1w.json")["currentHashrate"] * 100
            return
        kind, options = kinds[fault]
        self.mempool.set_scenario("*", kind, **options)  # mempool.space and its blockchain.com fallback


def fresh_yahoo_times(fake: FakeYahoo) -> None:
    """Quotes stamped now (the fixture's are from January 2026), so that staleness has something to show."""
    now = int(time.time())
    for symbol in ("NVDA", "AMD"):
        fake.quote_overrides.setdefault(symbol, {})["regularMarketTime"] = now


# ---- one cell -------------------------------------------------------------------------------------------


@dataclass
class Poll:
    source: str
    started: float
    ended: float
    result: FetchResult | None
    health: Health
    delay_s: float  # until the next attempt, as decided by the poller


@dataclass
class Cell:
    source_kind: str
    fault: str
    store: Store
    polls: list[Poll] = field(default_factory=list)
    unhandled: list[dict[str, Any]] = field(default_factory=list)

    def on_result(self, source: Source, result: FetchResult | None, health: Health) -> None:
        now = time.monotonic()
        assert health.latency_s is not None and health.next_attempt is not None
        delay = (health.next_attempt - datetime.now(UTC)).total_seconds()
        self.polls.append(Poll(source.name, now - health.latency_s, now, result, health, delay))
        if result is not None and result.observations:
            self.store.append(result.observations)

    def of(self, name: str, since: float = 0.0) -> list[Poll]:
        return [p for p in self.polls if p.source == name and p.started >= since]

    async def until(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not done():
            assert time.monotonic() < deadline, f"gave up waiting for {what}"
            await asyncio.sleep(0.02)


def delivered(poll: Poll, series: str) -> bool:
    return poll.result is not None and any(o.series == series for o in poll.result.observations)


def hit(poll: Poll, effect: str, series: str) -> bool:
    """Whether a poll shows the fault: a failure, or an answer without (or with a refusal of) the series."""
    if effect == "down":
        return poll.result is None
    if effect == "partial":
        return poll.result is not None and not delivered(poll, series) and bool(poll.health.partial)
    if effect == "absorbed":
        return poll.result is not None
    return poll.result is not None and bool(poll.result.rejected)


def assert_store_clean(store: Store) -> None:
    """Every stored value passes validation: finite, positive, plausible, not in the future."""
    now = datetime.now(UTC)
    for series in store.series_ids():
        field_name = SeriesId.parse(series).field
        low, high = PLAUSIBLE.get(series, (0.0, MAX_VALUE.get(field_name, MAX_PRICE)))
        for obs in store.history(series, datetime(1970, 1, 1, tzinfo=UTC), now + timedelta(days=3650)):
            assert math.isfinite(obs.value) and obs.value > 0, obs
            assert low <= obs.value <= high, obs
            assert obs.ts <= now + FUTURE_SKEW, obs


async def run_cell(source_kind: str, fault: str, fakes: tuple[FakeExchange, FakeYahoo, FakeMempool],
                   tmp_path: Path) -> Cell:
    exchange, yahoo, mempool = fakes
    urls = {"crypto": exchange.url, "yahoo": yahoo.url, "hashrate": mempool.url}
    sources: dict[str, Source] = {kind: BUILD[kind](url) for kind, url in urls.items()}
    if source_kind == "yahoo" and fault in ("timeout", "stall"):
        sources["yahoo"] = yahoo_source(yahoo.url, YAHOO_SHORT_TIMEOUT)
    if fault in ("refused", "dns"):
        bad = f"http://127.0.0.1:{closed_port()}" if fault == "refused" else "http://tapecheck-fake.invalid"
        sources[source_kind] = Rerouted(sources[source_kind], BUILD[source_kind](bad))
    target = sources[source_kind]
    cell = Cell(source_kind, fault, Store(tmp_path / "store.sqlite"))
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: cell.unhandled.append(context))
    injector = Injector(source_kind, fakes, target)
    injector.heal()
    poller = Poller(list(sources.values()), {s.name: SCHEDULE[k] for k, s in sources.items()}, BACKOFF,
                    cell.on_result, rng=random.Random(7))
    poller.start()
    settings = load_settings()
    series, effect = TARGET[source_kind], FAULTS[fault].effect[source_kind]
    try:
        # 1. every source answers; the target's series has a last good value
        for kind, source in sources.items():
            await cell.until(lambda s=source, k=kind: any(delivered(p, TARGET[k]) for p in cell.of(s.name)),  # type: ignore[misc]
                             f"{kind} to answer")
        good = max(cell.store.latest(series, datetime.now(UTC)), key=lambda o: o.ts)

        rounds = 3 if fault == "flapping" else 1
        for _ in range(rounds):
            # 2. the fault, hit at least twice
            injected = time.monotonic()
            injector.inject(fault)
            poller.poll_now()
            await cell.until(lambda i=injected: sum(hit(p, effect, series) for p in cell.of(target.name, i)) >= 2,  # type: ignore[misc]
                             f"{source_kind} to meet the fault twice")
            faulty = [p for p in cell.of(target.name, injected) if hit(p, effect, series)]

            # 3. the others keep answering; the last good value stays, goes stale, and health says why
            for kind, source in sources.items():
                if source is not target:
                    await cell.until(lambda s=source, k=kind, i=injected: any(delivered(p, TARGET[k])  # type: ignore[misc]
                                                                              for p in cell.of(s.name, i)),
                                     f"{kind} to keep answering while {source_kind} has {fault}")
            reason = FAULTS[fault].reason[source_kind]
            health = faulty[-1].health
            if effect == "down":
                assert health.state in ("failing", "rate_limited"), health
                assert health.last_error and not health.last_error.startswith("internal error"), health
                assert_matches(reason, health.last_error)
                first, second = faulty[0], faulty[1]
                retry_after = first.health.retry_after_s
                if retry_after is not None:  # Retry-After, capped at backoff_max_s
                    assert first.delay_s >= min(retry_after, BACKOFF.backoff_max_s) - 0.05
                elif second.health.failures > first.health.failures:
                    assert second.delay_s > first.delay_s, "the backoff did not grow"
            else:
                assert health.state in ("ok", "slow"), health
                if effect != "absorbed":
                    assert_matches(reason, " | ".join(health.partial))
            if effect in ("down", "partial"):
                now = datetime.now(UTC)
                row = series_row(series, make_context(cell.store, now, settings))
                assert row.value == good.value, "the last good value did not stay"
                max_age = settings.staleness.max_age_s(series)
                later = now + timedelta(seconds=max_age + 60)
                row = series_row(series, make_context(cell.store, later, settings))
                assert row.value == good.value and row.state in ("stale", "closed"), row
                assert row.age_s is not None and row.age_s > max_age

            # 4. heal: the first poll that starts afterwards succeeds
            healed = time.monotonic()
            next_attempt = cell.of(target.name)[-1].health.next_attempt
            injector.heal()
            assert next_attempt is not None
            assert next_attempt <= datetime.now(UTC) + timedelta(seconds=BACKOFF.backoff_max_s + INTERVAL)
            await cell.until(lambda h=healed: bool(cell.of(target.name, h)), f"{source_kind} to poll after the heal")  # type: ignore[misc]
            await cell.until(lambda h=healed: any(delivered(p, series) for p in cell.of(target.name, h)),  # type: ignore[misc]
                             f"{source_kind} to recover")
            after = cell.of(target.name, healed)
            assert delivered(after[0], series), f"the first poll after the heal failed: {after[0].health}"
            assert after[0].health.state in ("ok", "slow") and after[0].health.failures == 0

        # 5. nothing bad stored, no task died, nothing unhandled
        assert all(not task.done() for task in poller._tasks), "a poller loop ended"
    finally:
        await poller.stop()
        loop.set_exception_handler(None)
    assert_store_clean(cell.store)
    assert not cell.unhandled, cell.unhandled
    cell.store.close()
    return cell


def assert_matches(pattern: str, text: str) -> None:
    import re

    assert re.search(pattern, text, re.IGNORECASE), f"{text!r} does not say /{pattern}/"


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("source_kind", list(TARGET))
def test_fault_matrix(source_kind: str, fault: str, fakes: tuple[FakeExchange, FakeYahoo, FakeMempool],
                      tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    asyncio.run(run_cell(source_kind, fault, fakes, tmp_path))
    out, err = capfd.readouterr()
    assert out == "" and err == "", f"printed over the screen: {out!r} {err!r}"
