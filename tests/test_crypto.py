"""The crypto source through ccxt's real request code against a fake exchange server: tickers, units, history, faults."""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import pytest

from tests.conftest import context
from tests.fakes.exchange import FakeExchange
from tui.collect.sources.base import FetchResult, RateLimited, SourceError
from tui.collect.sources.crypto import CryptoSource, rebase_api_urls, rebase_url
from tui.core.config import CryptoSettings
from tui.core.model import Observation
from tui.core.narratives.rules.ast import parse
from tui.core.narratives.rules.evaluate import evaluate
from tui.core.narratives.rules.typecheck import typecheck

TIMEOUT = 30.0  # seconds: a local fake answers well within it however loaded the machine, unless told not to
SHORT = 0.3  # for the tests of time-outs: the fake's delays and stalls last longer, so every timeout is ours
WANTED = ("BTC/USD", "BTC/USDT", "DOGE/USD", "USDT/USD", "WLD/USDT")
TICKERS = {
    "binance": "/api/v3/ticker/24hr",
    "kraken": "/0/public/Ticker",
    "okx": "/api/v5/market/tickers",
    "coinbase": "/api/v3/brokerage/market/products",
}
MARKETS = {"binance": "/api/v3/exchangeInfo", "kraken": "/0/public/AssetPairs", "okx": "/api/v5/public/instruments"}
T = TypeVar("T")


@pytest.fixture(scope="module")
def server() -> Iterator[FakeExchange]:
    with FakeExchange() as fake:
        yield fake


@pytest.fixture
def fake(server: FakeExchange) -> Iterator[FakeExchange]:
    server.reset()
    yield server
    assert not server.not_found, f"ccxt asked the fake for paths it does not serve: {server.not_found}"
    server.reset()


def settings(exchange: str, base: str | None, timeout: float = TIMEOUT) -> CryptoSettings:
    return CryptoSettings((exchange,), 10, timeout, 86400, {exchange: base} if base else {})


def make(fake: FakeExchange, exchange: str, symbols: tuple[str, ...] = WANTED, timeout: float = TIMEOUT,
         base: str | None = None) -> CryptoSource:
    # ccxt's rate limiter stays on, with 1 ms spacing instead of kraken's 1 s so the tests stay fast
    return CryptoSource(exchange, symbols, settings(exchange, base or fake.url, timeout), rate_limit_ms=1)


def run(source: CryptoSource, call: Callable[[CryptoSource], Awaitable[T]]) -> T:
    """Run one or more calls on a fresh source (a fresh ccxt exchange per test) and close it after."""
    # ccxt sleeps 250 ms in close() to let TLS connections wind down; the fake speaks plain HTTP
    source.exchange.timeout_on_exit = 0

    async def go() -> T:
        try:
            return await call(source)
        finally:
            await source.close()
    return asyncio.run(go())


def fetch(source: CryptoSource) -> FetchResult:
    return run(source, lambda s: s.fetch())


def fetch_error(source: CryptoSource) -> SourceError:
    with pytest.raises(SourceError) as caught:
        fetch(source)
    return caught.value


def by_series(result: FetchResult) -> dict[str, Observation]:
    values: dict[str, Observation] = {}
    for obs in result.observations:
        assert obs.series not in values, f"{obs.series} returned twice"
        values[obs.series] = obs
    return values


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- tickers ----------------------------------------------------------------------------------------


def test_binance_tickers_come_in_one_batch_with_the_providers_time(fake: FakeExchange) -> None:
    stamp = now_ms() - 30_000
    fake.edit_ticker("BTCUSDT", ts=stamp)
    result = fetch(make(fake, "binance"))
    values = by_series(result)
    assert set(values) == {"crypto:BTC/USDT:last", "crypto:WLD/USDT:last"}
    btc = values["crypto:BTC/USDT:last"]
    assert (btc.value, btc.unit, btc.source) == (71210.0, "USDT", "binance")
    assert btc.ts == datetime.fromtimestamp(stamp / 1000, UTC)
    assert values["crypto:WLD/USDT:last"].value == 0.5123
    assert result.failures == {s: "not listed on binance" for s in ("BTC/USD", "DOGE/USD", "USDT/USD")}
    assert result.rejected == ()
    assert fake.queries(TICKERS["binance"]) == [{"symbols": '["BTCUSDT","WLDUSDT"]'}]
    assert [path for path, _ in fake.requests] == ["/api/v3/exchangeInfo", "/api/v3/ticker/24hr"]  # spot only


def test_kraken_tickers_without_a_time_are_stamped_on_receipt(fake: FakeExchange) -> None:
    before = datetime.now(UTC)
    result = fetch(make(fake, "kraken"))
    after = datetime.now(UTC)
    values = by_series(result)
    expected = {
        "crypto:BTC/USD:last": (71195.3, "USD"),
        "crypto:BTC/USDT:last": (71190.5, "USDT"),
        "crypto:DOGE/USD:last": (0.1234112, "USD"),
        "crypto:USDT/USD:last": (1.00012, "USD"),
    }
    assert {s: (o.value, o.unit) for s, o in values.items()} == expected
    assert all(before <= o.ts <= after and o.source == "kraken" for o in values.values())
    assert result.failures == {"WLD/USDT": "not listed on kraken"}
    assert fake.queries(TICKERS["kraken"]) == [{"pair": "XXBTZUSD,XBTUSDT,XDGUSD,USDTZUSD"}]
    assert fake.hits("/0/public/Assets") == 1 and fake.hits("/0/public/AssetPairs") == 1


@pytest.mark.parametrize(("exchange", "expected"), [
    ("okx", {"crypto:BTC/USDT:last": 71205.3, "crypto:WLD/USDT:last": 0.5121}),
    ("coinbase", {"crypto:BTC/USD:last": 71200.01, "crypto:BTC/USDT:last": 71208.55,
                  "crypto:DOGE/USD:last": 0.12339, "crypto:USDT/USD:last": 1.00011}),
])
def test_okx_and_coinbase_tickers(fake: FakeExchange, exchange: str, expected: dict[str, float]) -> None:
    result = fetch(make(fake, exchange))
    assert {s: o.value for s, o in by_series(result).items()} == expected
    assert set(result.failures) == set(WANTED) - {s.split(":")[1] for s in expected}
    assert fake.hits(TICKERS[exchange]) >= 1


def test_observations_from_every_exchange_feed_the_median(fake: FakeExchange) -> None:
    observations: list[Observation] = []
    for exchange in ("binance", "kraken", "okx", "coinbase"):
        observations += fetch(make(fake, exchange, ("BTC/USDT", "BTC/USD"))).observations
    usdt = [o for o in observations if o.series == "crypto:BTC/USDT:last"]
    assert sorted(o.source for o in usdt) == ["binance", "coinbase", "kraken", "okx"]
    assert {o.unit for o in usdt} == {"USDT"}
    assert {o.unit for o in observations if o.series == "crypto:BTC/USD:last"} == {"USD"}
    for series, expected in (("crypto:BTC/USDT:last", statistics.median([71210.0, 71190.5, 71205.3, 71208.55])),
                             ("crypto:BTC/USD:last", (71195.3 + 71200.01) / 2)):
        node = parse(f"last({series})")
        typecheck(node)
        value = evaluate(node, context(*observations, now=datetime.now(UTC)))
        assert value.value == pytest.approx(expected)
        assert not value.stale


def test_per_symbol_requests_when_the_exchange_has_no_batch_call(fake: FakeExchange) -> None:
    fake.edit_ticker("WLDUSDT", drop=True)

    async def call(source: CryptoSource) -> FetchResult:
        source.exchange.has["fetchTickers"] = False
        return await source.fetch()

    result = run(make(fake, "binance", ("BTC/USDT", "WLD/USDT")), call)
    assert {o.series: o.value for o in result.observations} == {"crypto:BTC/USDT:last": 71210.0}
    assert "WLD/USDT" in result.failures
    assert sorted(q["symbol"] for q in fake.queries(TICKERS["binance"])) == ["BTCUSDT", "WLDUSDT"]


def test_per_symbol_requests_all_rate_limited_raise(fake: FakeExchange) -> None:
    fake.set_scenario(TICKERS["binance"], "status", status=429, retry_after="3")

    async def call(source: CryptoSource) -> FetchResult:
        source.exchange.has["fetchTickers"] = False
        return await source.fetch()

    with pytest.raises(RateLimited) as caught:
        run(make(fake, "binance", ("BTC/USDT", "WLD/USDT")), call)
    assert caught.value.retry_after == 3


def test_markets_are_loaded_once_and_again_after_a_failure(fake: FakeExchange) -> None:
    fake.set_scenario(MARKETS["binance"], "status", status=500, times=1)

    async def three_polls(source: CryptoSource) -> list[FetchResult | SourceError]:
        out: list[FetchResult | SourceError] = []
        for _ in range(3):
            try:
                out.append(await source.fetch())
            except SourceError as exc:
                out.append(exc)
        return out

    first, second, third = run(make(fake, "binance", ("BTC/USDT",)), three_polls)
    assert isinstance(first, SourceError) and str(first).startswith("HTTP 500 from binance")
    assert isinstance(second, FetchResult) and isinstance(third, FetchResult)
    assert fake.hits(MARKETS["binance"]) == 2
    assert fake.hits(TICKERS["binance"]) == 2


def test_an_empty_market_list_is_an_error_and_is_loaded_again(fake: FakeExchange) -> None:
    fake.set_scenario(MARKETS["kraken"], "truncated", times=1)

    async def two_polls(source: CryptoSource) -> tuple[str, FetchResult]:
        try:
            await source.fetch()
        except SourceError as exc:
            return str(exc), await source.fetch()
        raise AssertionError("a truncated market list must not pass")

    error, result = run(make(fake, "kraken", ("BTC/USD",)), two_polls)
    assert error == "unexpected response from kraken: no markets"
    assert [o.value for o in result.observations] == [71195.3]
    assert fake.hits(MARKETS["kraken"]) == 2


def test_only_unlisted_symbols_asks_for_no_tickers(fake: FakeExchange) -> None:
    result = fetch(make(fake, "binance", ("BTC/USD", "DOGE/USD")))
    assert result.observations == () and result.rejected == ()
    assert result.failures == {"BTC/USD": "not listed on binance", "DOGE/USD": "not listed on binance"}
    assert fake.hits(TICKERS["binance"]) == 0


def test_a_ticker_missing_from_the_response_is_a_failure(fake: FakeExchange) -> None:
    fake.edit_ticker("XDGUSD", drop=True)
    result = fetch(make(fake, "kraken", ("BTC/USD", "DOGE/USD")))
    assert [o.series for o in result.observations] == ["crypto:BTC/USD:last"]
    assert result.failures == {"DOGE/USD": "no ticker for DOGE/USD in the response"}


def test_a_binance_ticker_without_a_time_is_stamped_on_receipt(fake: FakeExchange) -> None:
    fake.edit_ticker("BTCUSDT", ts=None)
    before = datetime.now(UTC)
    (obs,) = fetch(make(fake, "binance", ("BTC/USDT",))).observations
    assert before <= obs.ts <= datetime.now(UTC)


# ---- bad values ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("exchange", "market_id", "symbol"), [
    ("binance", "BTCUSDT", "BTC/USDT"), ("kraken", "XXBTZUSD", "BTC/USD"), ("okx", "BTC-USDT", "BTC/USDT")])
@pytest.mark.parametrize(("last", "reason"), [("1e400", "value inf is not finite"), ("-5", "value -5.0 is not positive")])
def test_bad_prices_are_rejected_and_the_rest_kept(fake: FakeExchange, exchange: str, market_id: str, symbol: str,
                                                   last: str, reason: str) -> None:
    fake.edit_ticker(market_id, last=last)
    result = fetch(make(fake, exchange, (symbol, "WLD/USDT", "DOGE/USD")))
    assert result.observations and f"crypto:{symbol}:last" not in by_series(result)
    assert result.rejected == (f"crypto:{symbol}:last: {reason}",)


def test_a_zero_price_is_never_returned(fake: FakeExchange) -> None:
    fake.edit_ticker("XXBTZUSD", last="0.0")  # ccxt reads kraken's zero as no price at all
    result = fetch(make(fake, "kraken", ("BTC/USD", "DOGE/USD")))
    assert [o.series for o in result.observations] == ["crypto:DOGE/USD:last"]
    assert result.failures == {"BTC/USD": "no price for BTC/USD in the ticker (missing or zero)"}


@pytest.mark.parametrize(("exchange", "market_id", "symbol", "single"), [
    ("binance", "BTCUSDT", "BTC/USDT", "/api/v3/ticker/24hr"),
    ("okx", "BTC-USDT", "BTC/USDT", "/api/v5/market/ticker"),
    ("coinbase", "BTC-USD", "BTC/USD", "/api/v3/brokerage/market/products/{product_id}/ticker"),
])
def test_a_nan_price_costs_only_its_own_pair(fake: FakeExchange, exchange: str, market_id: str, symbol: str,
                                             single: str) -> None:
    # ccxt cannot parse "NaN" in a batch and fails all of it; the source then asks pair by pair
    fake.edit_ticker(market_id, last="NaN")
    result = fetch(make(fake, exchange, (symbol, "WLD/USDT", "DOGE/USD")))
    assert len(result.observations) == 1 and f"crypto:{symbol}:last" not in by_series(result)
    if exchange == "coinbase":  # coinbase's single-pair ticker parses NaN, and validation refuses it
        assert result.rejected == (f"crypto:{symbol}:last: value nan is not finite",)
    else:
        assert result.failures[symbol] == f"unexpected response from {exchange}: a value in it is not a number"
    assert len([q for q in fake.queries(single) if q.get("instId", q.get("symbol", q.get("product_id")))]) == 2


def test_a_nan_price_of_the_only_pair_is_an_error(fake: FakeExchange) -> None:
    fake.edit_ticker("BTCUSDT", last="NaN")
    assert str(fetch_error(make(fake, "binance", ("BTC/USDT",)))) == \
        "unexpected response from binance: a value in it is not a number"
    assert fake.hits(TICKERS["binance"]) == 1


def test_a_timestamp_in_the_future_is_rejected(fake: FakeExchange) -> None:
    fake.edit_ticker("BTCUSDT", ts=now_ms() + 86_400_000)
    fake.edit_ticker("WLDUSDT", ts=now_ms() + 60_000)  # within the clock-skew allowance
    result = fetch(make(fake, "binance", ("BTC/USDT", "WLD/USDT")))
    assert [o.series for o in result.observations] == ["crypto:WLD/USDT:last"]
    (rejected,) = result.rejected
    assert rejected.startswith("crypto:BTC/USDT:last: timestamp") and rejected.endswith("is in the future")


def test_ticker_times_in_seconds_or_microseconds_are_read_by_their_size(fake: FakeExchange) -> None:
    """An exchange stamping in seconds where ms are expected was stored at 1970; one stamped before 2009 is
    refused alone, as a unit error."""
    stamp = (now_ms() // 1000 - 30) * 1000
    fake.edit_ticker("BTCUSDT", ts=stamp // 1000)  # seconds
    fake.edit_ticker("WLDUSDT", ts=stamp * 1000)  # microseconds
    fake.edit_ticker("DOGEUSDT", ts=86_400_000)  # 1970-01-02 in ms, 1972 read as seconds: either way refused
    result = fetch(make(fake, "binance", ("BTC/USDT", "WLD/USDT", "DOGE/USDT")))
    stamps = {o.series: o.ts for o in result.observations}
    expected = datetime.fromtimestamp(stamp / 1000, UTC)
    assert stamps == {"crypto:BTC/USDT:last": expected, "crypto:WLD/USDT:last": expected}
    (rejected,) = result.rejected
    assert rejected.startswith("crypto:DOGE/USDT:last: timestamp 1972-09-27") and "before 2009" in rejected


def test_every_value_rejected_is_still_an_answer(fake: FakeExchange) -> None:
    fake.edit_ticker("BTCUSDT", last="-1")
    result = fetch(make(fake, "binance", ("BTC/USDT",)))
    assert result.observations == () and len(result.rejected) == 1


# ---- faults --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("exchange", ["binance", "kraken", "okx"])
@pytest.mark.parametrize("where", ["markets", "tickers"])
def test_http_429_is_rate_limited_with_retry_after(fake: FakeExchange, exchange: str, where: str) -> None:
    path = MARKETS[exchange] if where == "markets" else TICKERS[exchange]
    fake.set_scenario(path, "status", status=429, retry_after="7")
    error = fetch_error(make(fake, exchange))
    assert isinstance(error, RateLimited)
    assert error.retry_after == 7
    assert str(error) == f"rate limited by {exchange} (HTTP 429)"


def test_http_429_without_retry_after(fake: FakeExchange) -> None:
    fake.set_scenario(TICKERS["binance"], "status", status=429)
    error = fetch_error(make(fake, "binance"))
    assert isinstance(error, RateLimited) and error.retry_after is None


def test_retry_after_as_an_http_date(fake: FakeExchange) -> None:
    from email.utils import format_datetime

    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    fake.set_scenario(TICKERS["kraken"], "status", status=429, retry_after=when)
    error = fetch_error(make(fake, "kraken"))
    assert isinstance(error, RateLimited)
    assert error.retry_after is not None and 80 <= error.retry_after <= 90


def test_kraken_rate_limit_in_the_body_is_rate_limited(fake: FakeExchange) -> None:
    fake.set_scenario(TICKERS["kraken"], "body", body='{"error":["EAPI:Rate limit exceeded"]}')
    error = fetch_error(make(fake, "kraken"))
    assert isinstance(error, RateLimited) and str(error) == "rate limited by kraken"


@pytest.mark.parametrize("exchange", ["binance", "kraken"])
@pytest.mark.parametrize(("kind", "options", "expected"), [
    ("status", {"status": 500}, "HTTP 500 from {ex}"),
    ("status", {"status": 502}, "HTTP 502 from {ex}"),
    ("status", {"status": 503}, "HTTP 503 from {ex}"),
    ("html", {"status": 503}, "HTTP 503 from {ex}"),
    ("html", {"status": 200}, "unexpected response from {ex}"),
    ("truncated", {}, "unexpected response from {ex}"),
    ("wrong_shape", {}, "unexpected response from {ex}"),
])
def test_broken_ticker_answers_are_readable_errors(fake: FakeExchange, exchange: str, kind: str,
                                                    options: dict[str, Any], expected: str) -> None:
    fake.set_scenario(TICKERS[exchange], kind, **options)
    error = fetch_error(make(fake, exchange, ("BTC/USDT",)))
    message = str(error)
    assert not isinstance(error, RateLimited)
    assert message.startswith(expected.format(ex=exchange)), message
    assert len(message) <= 120 and "http://" not in message and "<" not in message and "Traceback" not in message
    assert error.retry_after is None


@pytest.mark.parametrize("kind", ["html", "truncated", "wrong_shape"])
def test_broken_market_answers_are_readable_errors(fake: FakeExchange, kind: str) -> None:
    fake.set_scenario(MARKETS["binance"], kind)
    assert str(fetch_error(make(fake, "binance"))) == "unexpected response from binance: no markets"


def test_http_503_with_retry_after_passes_it_on(fake: FakeExchange) -> None:
    fake.set_scenario(TICKERS["kraken"], "status", status=503, retry_after="30")
    error = fetch_error(make(fake, "kraken"))
    assert str(error) == "HTTP 503 from kraken" and error.retry_after == 30


def test_an_exchange_error_message_is_kept_short(fake: FakeExchange) -> None:
    fake.set_scenario(TICKERS["binance"], "body", status=400, body='{"code":-1121,"msg":"Invalid symbol."}')
    assert str(fetch_error(make(fake, "binance"))) == "HTTP 400 from binance: Invalid symbol."
    fake.set_scenario(TICKERS["kraken"], "body", body='{"error":["EService:Unavailable"]}')
    assert str(fetch_error(make(fake, "kraken"))) == "kraken: EService:Unavailable"


@pytest.mark.parametrize("kind", ["delay", "stall"])
def test_a_slow_exchange_times_out(fake: FakeExchange, kind: str) -> None:
    fake.set_scenario(TICKERS["binance"], kind, delay_s=1.5)
    assert str(fetch_error(make(fake, "binance", timeout=SHORT))) == "timed out after 0.3 s"


def test_a_dropped_connection(fake: FakeExchange) -> None:
    fake.set_scenario(TICKERS["kraken"], "drop")
    assert str(fetch_error(make(fake, "kraken"))) == "kraken closed the connection"


def test_connection_refused(fake: FakeExchange) -> None:
    port = closed_port()
    error = fetch_error(make(fake, "binance", base=f"http://127.0.0.1:{port}"))
    assert str(error) == f"connection refused (127.0.0.1:{port})"


# ---- urls, lifecycle ---------------------------------------------------------------------------------


def test_rebase_keeps_each_path() -> None:
    api = {"public": "https://api.binance.com/api/v3", "fapiPublic": "https://fapi.binance.com/fapi/v1",
           "nested": {"rest": "https://{hostname}", "q": "https://x.com/a?b=1"}, "number": 5}
    assert rebase_api_urls(api, "http://127.0.0.1:9/") == {
        "public": "http://127.0.0.1:9/api/v3", "fapiPublic": "http://127.0.0.1:9/fapi/v1",
        "nested": {"rest": "http://127.0.0.1:9", "q": "http://127.0.0.1:9/a?b=1"}, "number": 5}
    assert rebase_api_urls("https://api.kraken.com", "http://proxy/kraken") == "http://proxy/kraken"
    assert rebase_url("https://api.binance.com/api/v3", "http://proxy/binance") == "http://proxy/binance/api/v3"


def test_the_url_override_points_every_api_entry_at_the_fake(fake: FakeExchange) -> None:
    binance = make(fake, "binance").exchange
    urls = json.dumps(binance.urls["api"])
    assert binance.urls["api"]["public"] == f"{fake.url}/api/v3"
    assert binance.urls["api"]["fapiPublic"] == f"{fake.url}/fapi/v1"
    assert "binance.com" not in urls
    okx = make(fake, "okx").exchange
    assert okx.urls["api"] == {"rest": fake.url}
    untouched = CryptoSource("binance", ("BTC/USDT",), settings("binance", None)).exchange
    assert untouched.urls["api"]["public"] == "https://api.binance.com/api/v3"


def test_the_exchange_keeps_ccxts_rate_limiter_and_our_timeout() -> None:
    source = CryptoSource("kraken", ("BTC/USD",), settings("kraken", None, timeout=7.5))
    exchange = source.exchange
    assert exchange.enableRateLimit is True
    assert exchange.rateLimit == 1000  # ccxt's own spacing for kraken
    assert exchange.timeout == 7500
    assert source.exchange is exchange  # built once, kept
    assert (source.name, source.kind) == ("kraken", "crypto")


def test_an_unknown_exchange_is_a_source_error() -> None:
    source = CryptoSource("nosuchexchange", ("BTC/USD",), settings("nosuchexchange", None))
    with pytest.raises(SourceError, match="ccxt does not know the exchange 'nosuchexchange'"):
        asyncio.run(source.fetch())


def test_close_closes_the_exchange_session(fake: FakeExchange) -> None:
    async def call(source: CryptoSource) -> None:
        exchange = source.exchange
        await source.fetch()
        assert exchange.session is not None and not exchange.session.closed
        session = exchange.session
        await source.close()
        assert exchange.session is None and session.closed
        await source.close()  # a second close is harmless

    run(make(fake, "binance", ("BTC/USDT",)), call)


def test_creating_a_source_does_not_import_ccxt() -> None:
    code = ("import sys; from tui.core.config import CryptoSettings; from tui.collect.sources.crypto import CryptoSource; "
            "s = CryptoSource('binance', ['BTC/USDT'], CryptoSettings(('binance',), 10, 10, 86400, {})); "
            "print(s.name, 'ccxt' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "binance False"


# ---- history -------------------------------------------------------------------------------------------


def history(source: CryptoSource, symbol: str, since: datetime) -> list[Observation]:
    return run(source, lambda s: s.history(symbol, since))


def closes(observations: list[Observation], series: str) -> dict[date, float]:
    return {o.ts.date(): o.value for o in observations if o.series == series}


def check_daily(fake: FakeExchange, observations: list[Observation], symbol: str, market_id: str,
                first: date, unit: str) -> None:
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    days = [first + timedelta(days=i) for i in range((yesterday - first).days + 1)]
    last = closes(observations, f"crypto:{symbol}:last")
    assert sorted(last) == days  # every finished day, today's open bar left out
    assert all(last[d] == fake.daily_close(market_id, d) for d in days)
    high, low = closes(observations, f"crypto:{symbol}:high"), closes(observations, f"crypto:{symbol}:low")
    assert sorted(high) == sorted(low) == days
    assert all(low[d] < last[d] < high[d] for d in days)
    for obs in observations:
        assert (obs.ts.hour, obs.ts.minute, obs.ts.second) == (23, 59, 59) and obs.ts.tzinfo is UTC
        assert obs.unit == unit


def test_binance_history_pages_forward_until_now(fake: FakeExchange) -> None:
    fake.history_days = 1500
    try:
        since = datetime.now(UTC) - timedelta(days=1200)
        observations = history(make(fake, "binance"), "BTC/USDT", since)
    finally:
        fake.history_days = 1000
    check_daily(fake, observations, "BTC/USDT", "BTCUSDT", since.date(), "USDT")
    starts = [int(q["startTime"]) for q in fake.queries("/api/v3/klines")]
    assert len(starts) == 2 and starts[1] - starts[0] == 1000 * 86_400_000
    assert starts[0] == int(datetime(since.year, since.month, since.day, tzinfo=UTC).timestamp() * 1000)


def test_okx_history_pages_in_hundreds(fake: FakeExchange) -> None:
    since = datetime.now(UTC) - timedelta(days=250)
    observations = history(make(fake, "okx"), "WLD/USDT", since)
    check_daily(fake, observations, "WLD/USDT", "WLD-USDT", since.date(), "USDT")
    assert fake.hits("/api/v5/market/candles") == 3


@pytest.mark.parametrize(("exchange", "symbol", "market_id"), [
    ("okx", "BTC/USDT", "BTC-USDT"), ("coinbase", "BTC/USD", "BTC-USD"), ("binance", "BTC/USDT", "BTCUSDT"),
    ("kraken", "BTC/USD", "XXBTZUSD")])
def test_history_of_a_pair_listed_after_the_first_window(fake: FakeExchange, exchange: str, symbol: str,
                                                         market_id: str) -> None:
    """Listed 50 days ago, asked for 400: okx and coinbase answer the first windows empty, which is not the end."""
    fake.history_days = 50
    try:
        observations = history(make(fake, exchange), symbol, datetime.now(UTC) - timedelta(days=400))
    finally:
        fake.history_days = 1000
    first = datetime.now(UTC).date() - timedelta(days=49)
    check_daily(fake, observations, symbol, market_id, first, symbol.split("/")[1])


@pytest.mark.parametrize(("exchange", "symbol", "market_id", "unit"), [
    ("kraken", "BTC/USD", "XXBTZUSD", "USD"),
    ("coinbase", "DOGE/USD", "DOGE-USD", "USD"),
])
def test_kraken_and_coinbase_history(fake: FakeExchange, exchange: str, symbol: str, market_id: str,
                                     unit: str) -> None:
    since = datetime.now(UTC) - timedelta(days=40)
    check_daily(fake, history(make(fake, exchange), symbol, since), symbol, market_id, since.date(), unit)


def test_history_drops_a_bad_bar(fake: FakeExchange) -> None:
    bad_day = datetime.now(UTC).date() - timedelta(days=3)
    fake.edit_candle("BTCUSDT", bad_day, "NaN")
    observations = history(make(fake, "binance"), "BTC/USDT", datetime.now(UTC) - timedelta(days=10))
    assert bad_day not in closes(observations, "crypto:BTC/USDT:last")
    assert bad_day - timedelta(days=1) in closes(observations, "crypto:BTC/USDT:last")
    assert bad_day in closes(observations, "crypto:BTC/USDT:high")


def test_history_of_an_unlisted_symbol(fake: FakeExchange) -> None:
    with pytest.raises(SourceError) as caught:
        history(make(fake, "binance"), "BTC/USD", datetime.now(UTC) - timedelta(days=5))
    assert str(caught.value) == "not listed on binance"


def test_history_errors_are_mapped(fake: FakeExchange) -> None:
    fake.set_scenario("/api/v3/klines", "status", status=429, retry_after="11")
    with pytest.raises(RateLimited) as caught:
        history(make(fake, "binance"), "BTC/USDT", datetime.now(UTC) - timedelta(days=5))
    assert caught.value.retry_after == 11
    fake.set_scenario("/0/public/OHLC", "truncated")
    with pytest.raises(SourceError) as failed:
        history(make(fake, "kraken"), "BTC/USD", datetime.now(UTC) - timedelta(days=5))
    assert str(failed.value) == "unexpected response from kraken: no daily bars for BTC/USD"


def test_the_rate_limiter_counts_the_pause_between_polls(fake: FakeExchange) -> None:
    """ccxt's bucket refills only while a request waits; a poll after a pause must not wait out the last request."""
    # A spacing of 2 s against a local answer of milliseconds: a poll held back waits about 2 s. The pause is
    # told to ccxt (its last request moved 2.5 s back) rather than slept, and the poll after it is judged by the
    # bucket it meets (a token there: it goes at once), not by a stopwatch a loaded machine could stop.
    source = CryptoSource("kraken", ("BTC/USD",), settings("kraken", fake.url), rate_limit_ms=2000)

    async def polls(source: CryptoSource) -> tuple[float, list[float]]:
        await source.fetch()  # loads the markets, then the ticker: the bucket is empty now
        started = time.monotonic()
        await source.fetch()  # at once: the limiter holds it back
        back_to_back = time.monotonic() - started
        exchange: Any = source.exchange
        exchange.lastRestRequestTimestamp -= 2500  # as if the last request were 2.5 s ago: a pause between polls
        met: list[float] = []
        throttle = exchange.throttle

        async def watched(cost: float | None = None) -> Any:
            met.append(exchange.throttler.config["tokens"])
            return await throttle(cost)

        exchange.throttle = watched
        await source.fetch()  # after a pause longer than the spacing: no wait
        return back_to_back, met

    back_to_back, met = run(source, polls)
    assert back_to_back >= 1.6
    assert met and met[0] >= 0, f"the poll after a pause met a bucket of {met} tokens: it waited out the last one"
