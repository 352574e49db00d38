"""Crypto prices from one exchange through ccxt: the last price of every wanted pair it lists, and daily history.

One CryptoSource per exchange. It is cheap to create: ccxt (seconds to import) is imported in a worker
thread, so that the event loop keeps drawing, and the exchange object built, on the first fetch; the object
then lives until `close()`. Markets are loaded once and kept (loaded again only after a failed or empty
load). Tickers come in one batched request where the exchange supports it, otherwise one request per pair,
concurrently. ccxt's own rate limiter stays on.

`settings.urls[exchange_id]`, when set, replaces the scheme, host and port of every entry of the exchange's
`urls["api"]` and keeps its path, so `https://api.binance.com/api/v3` becomes `http://127.0.0.1:8101/api/v3`
(a base URL with a path of its own, for a proxy, prefixes it: `http://proxy/binance/api/v3`).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from tui.collect.sources.base import (
    FetchResult,
    RateLimited,
    SourceError,
    Unreachable,
    check_value,
    epoch_to_utc,
    import_heavy,
)
from tui.collect.sources.limits import capped_response_class
from tui.collect.sources.retry import parse_retry_after
from tui.core.config import CryptoSettings
from tui.core.model import Observation, SeriesId

DAY = timedelta(days=1)
DAY_MS = 86_400_000

# Spot markets are all tapecheck reads; loading only them saves the derivatives requests at startup.
_EXCHANGE_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {"fetchMarkets": {"types": ["spot"]}},
    "okx": {"fetchMarkets": {"types": ["spot"]}},
}
# Daily candles per OHLCV request: each exchange's maximum page (others: a conservative 100).
_OHLCV_PAGE = {"binance": 1000, "kraken": 720, "coinbase": 300, "okx": 100}
_MAX_HISTORY_PAGES = 40
_MAX_REASON = 120
# What ccxt's number parsing raises on a price such as "NaN" or "abc" (int(), float(), Decimal())
# What `_network_reason` says when the exchange could not be reached at all (Unreachable).
_UNREACHABLE = ("connection refused", "cannot resolve", "cannot connect")
# ccxt's rate limiter looks whether a waiting request may go every `delay` seconds: 1 ms by default, a thousand
# wake-ups a second for as long as one waits (binance's markets cost 20 requests' spacing, a second; kraken spaces
# requests by a second). Checking at this step instead costs a waiting request at most this much more.
THROTTLE_STEP_S = 0.05
_NOT_A_NUMBER = re.compile(r"invalid literal|could not convert|InvalidOperation|ConversionSyntax")


def rebase_url(url: str, base: str) -> str:
    """`url` with its scheme, host and port taken from `base`: the path and query stay, after base's own path."""
    parts = urlsplit(url)
    rebased = base.rstrip("/") + parts.path
    return f"{rebased}?{parts.query}" if parts.query else rebased


def rebase_api_urls(api: Any, base: str) -> Any:
    """Every URL in a ccxt `urls["api"]` value (a str, or dicts of them at any depth) rebased onto `base`."""
    if isinstance(api, str):
        return rebase_url(api, base)
    if isinstance(api, Mapping):
        return {key: rebase_api_urls(value, base) for key, value in api.items()}
    return api


def _retry_after(headers: Mapping[str, Any] | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    value = next((str(v) for k, v in (headers or {}).items() if str(k).lower() == "retry-after"), None)
    return parse_retry_after(value)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


class CryptoSource:
    """The last price of each wanted pair on one exchange (`name` = the ccxt exchange id)."""

    kind = "crypto"

    def __init__(self, exchange_id: str, symbols: Sequence[str], settings: CryptoSettings, *,
                 rate_limit_ms: float | None = None) -> None:
        """`rate_limit_ms` overrides ccxt's minimum spacing between requests (None: ccxt's value for the exchange)."""
        self.name = exchange_id
        self.symbols = tuple(dict.fromkeys(symbols))
        self._series = {symbol: str(SeriesId.parse(f"crypto:{symbol}:last")) for symbol in self.symbols}
        self._settings = settings
        self._rate_limit_ms = rate_limit_ms
        self._exchange: Any = None
        self._markets_ready = False
        self._last_status: int | None = None
        self._last_headers: Mapping[str, Any] = {}

    # ---- the ccxt exchange object -----------------------------------------------------------------

    @property
    def exchange(self) -> Any:
        """The ccxt exchange object, built on first use (imports ccxt)."""
        if self._exchange is None:
            self._exchange = self._build_exchange()
        return self._exchange

    def _build_exchange(self) -> Any:
        import ccxt.async_support as ccxt_async

        exchange_class = getattr(ccxt_async, self.name, None) if self.name in ccxt_async.exchanges else None
        if exchange_class is None:
            raise SourceError(f"ccxt does not know the exchange {self.name!r}")
        config: dict[str, Any] = {
            "enableRateLimit": True,
            "timeout": int(self._settings.timeout_s * 1000),
            "options": _EXCHANGE_OPTIONS.get(self.name, {}),
        }
        if self._rate_limit_ms is not None:
            config["rateLimit"] = self._rate_limit_ms
        config.update(self._settings.credentials.get(self.name, {}))  # public prices need none; a user may add them
        exchange = exchange_class(config)
        throttler: Any = getattr(exchange, "throttler", None)
        if isinstance(getattr(throttler, "config", None), dict):
            throttler.config["delay"] = THROTTLE_STEP_S
        base = self._settings.urls.get(self.name)
        if base:
            exchange.urls = {**exchange.urls, "api": rebase_api_urls(exchange.urls["api"], base)}
        # ccxt keeps no HTTP status for an error it raises; record each response's status and headers so a
        # failure can say "HTTP 503 from binance" and honour Retry-After.
        on_rest_response = exchange.on_rest_response

        def record_response(code: int, reason: str, url: str, method: str, headers: Mapping[str, Any],
                            body: str, *args: Any) -> Any:
            self._last_status, self._last_headers = code, headers
            return on_rest_response(code, reason, url, method, headers, body, *args)

        exchange.on_rest_response = record_response
        return exchange

    async def prepare(self) -> None:
        """Import ccxt (seconds of module code) in a worker thread, before the poll's timeout starts."""
        if self._exchange is None:
            await asyncio.to_thread(import_heavy, "ccxt.async_support")

    async def close(self) -> None:
        if self._exchange is not None:
            exchange, self._exchange = self._exchange, None
            self._markets_ready = False
            await exchange.close()

    def _credit_idle_time(self) -> None:
        """Refill ccxt's rate limiter for the time since the exchange's last request.

        ccxt's leaky bucket refills only while a request waits in it, so after a pause between polls the
        next request still waits out the cost of the previous one (kraken: a second on every poll, binance
        0.8 s). The limiter stays on: it is credited what the bucket would have refilled meanwhile, capped at
        its capacity, and left alone while requests are queued in it.
        """
        exchange = self.exchange
        throttler: Any = getattr(exchange, "throttler", None)
        config = getattr(throttler, "config", None)
        if not isinstance(config, dict) or throttler.running or config.get("algorithm") != "leakyBucket":
            return
        last = exchange.lastRestRequestTimestamp
        if not last:
            return
        idle_ms = max(0, exchange.milliseconds() - last)
        config["tokens"] = min(config["tokens"] + idle_ms * config["refillRate"], config["capacity"])

    def _open_capped_session(self) -> None:
        """Give the exchange, before its first request, an HTTP session that reads every body within the size
        cap (ccxt's own reads whatever comes, and an endless body starved its own timeout)."""
        import socket
        import ssl

        import aiohttp

        exchange = self.exchange
        if exchange.session is not None:
            return
        if exchange.ssl_context is None:
            exchange.ssl_context = ssl.create_default_context(cafile=exchange.cafile) if exchange.verify \
                else exchange.verify
        exchange.tcp_connector = aiohttp.TCPConnector(ssl=exchange.ssl_context, enable_cleanup_closed=True,
                                                      family=socket.AF_UNSPEC, happy_eyeballs_delay=0)
        exchange.session = aiohttp.ClientSession(connector=exchange.tcp_connector,
                                                 trust_env=exchange.aiohttp_trust_env,
                                                 response_class=capped_response_class(self.name))

    async def _markets(self) -> Mapping[str, Any]:
        if self._exchange is None:  # the import runs module code for seconds: not on the event loop
            await asyncio.to_thread(import_heavy, "ccxt.async_support")
        self._open_capped_session()
        self._credit_idle_time()
        markets = await self.exchange.load_markets(reload=not self._markets_ready)
        if not markets:
            raise SourceError(f"unexpected response from {self.name}: no markets")
        self._markets_ready = True
        return markets  # type: ignore[no-any-return]

    # ---- polling ----------------------------------------------------------------------------------

    async def fetch(self) -> FetchResult:
        """The last price of each wanted pair this exchange lists; unlisted pairs are reported in failures."""
        self._last_status, self._last_headers = None, {}
        try:
            markets = await self._markets()
            failures: dict[str, str] = {}
            listed = []
            for symbol in self.symbols:
                market = markets.get(symbol)
                if market is None:
                    failures[symbol] = f"not listed on {self.name}"
                elif market.get("active") is False:
                    failures[symbol] = f"not trading on {self.name}"
                else:
                    listed.append(symbol)
            if not listed:
                return FetchResult(failures=failures)
            tickers = await self._tickers(listed, failures)
        except SourceError:
            raise
        except Exception as exc:  # ccxt errors and whatever a malformed payload makes ccxt raise
            raise self._source_error(exc) from exc
        received = datetime.now(UTC)
        observations, rejected = [], []
        for symbol in listed:
            if symbol in failures:
                continue
            ticker = tickers.get(symbol)
            if not isinstance(ticker, Mapping):
                failures[symbol] = f"no ticker for {symbol} in the response"
                continue
            value = ticker.get("last")
            if value is None:
                value = ticker.get("close")
            if value is None:  # ccxt reads a zero price as none
                failures[symbol] = f"no price for {symbol} in the ticker (missing or zero)"
                continue
            series = self._series[symbol]
            ts = received if ticker.get("timestamp") is None else epoch_to_utc(ticker["timestamp"])
            if ts is None:
                rejected.append(f"{series}: timestamp {ticker['timestamp']!r} is not a time")
                continue
            reason = check_value(series, value, ts, received)
            if reason:
                rejected.append(reason)
                continue
            observations.append(Observation(series, float(value), SeriesId.parse(series).unit, ts, self.name))
        if not observations and not rejected:
            raise SourceError(f"unexpected response from {self.name}: no tickers for {', '.join(listed)}")
        return FetchResult(observations=tuple(observations), failures=failures, rejected=tuple(rejected))

    async def _tickers(self, symbols: list[str], failures: dict[str, str]) -> Mapping[str, Any]:
        """Tickers by symbol: one batched request where the exchange has one, else one request per pair."""
        import ccxt

        exchange = self.exchange
        if not exchange.has.get("fetchTickers"):
            return await self._each_ticker(symbols, failures)
        try:
            batch = await exchange.fetch_tickers(symbols)
        except (ccxt.BaseError, SourceError):
            raise
        except Exception:
            # A value ccxt cannot parse ("NaN") sinks the whole batch; asking pair by pair keeps the others.
            if len(symbols) == 1:
                raise
            return await self._each_ticker(symbols, failures)
        if not isinstance(batch, Mapping):
            raise SourceError(f"unexpected response from {self.name}")
        return batch

    async def _each_ticker(self, symbols: list[str], failures: dict[str, str]) -> Mapping[str, Any]:
        exchange = self.exchange
        answers = await asyncio.gather(*(exchange.fetch_ticker(s) for s in symbols), return_exceptions=True)
        tickers: dict[str, Any] = {}
        errors: list[SourceError] = []
        for symbol, answer in zip(symbols, answers, strict=True):
            if isinstance(answer, asyncio.CancelledError):
                raise answer
            if isinstance(answer, BaseException):
                errors.append(self._source_error(answer))
                failures[symbol] = str(errors[-1])
            else:
                tickers[symbol] = answer
        if errors and len(errors) == len(symbols):
            raise errors[0]
        return tickers

    # ---- daily history ----------------------------------------------------------------------------

    async def history(self, symbol: str, since: datetime) -> list[Observation]:
        """Daily closes, highs and lows of `symbol` from the UTC day of `since` to the last finished day.

        Each bar is stamped at the end of its UTC day (open + 1 day - 1 s); today's unfinished bar is left out,
        and bars whose values fail validation are dropped.
        """
        self._last_status, self._last_headers = None, {}
        start = datetime(since.year, since.month, since.day, tzinfo=UTC) if since.tzinfo is None else \
            since.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        try:
            markets = await self._markets()
            if symbol not in markets:
                raise SourceError(f"not listed on {self.name}")
            if not self.exchange.has.get("fetchOHLCV"):
                raise SourceError(f"{self.name} offers no daily history")
            bars = await self._daily_bars(symbol, int(start.timestamp() * 1000))
            if not bars:  # even a pair listed today has today's bar
                raise SourceError(f"unexpected response from {self.name}: no daily bars for {symbol}")
        except SourceError:
            raise
        except Exception as exc:
            raise self._source_error(exc) from exc
        now = datetime.now(UTC)
        unit = SeriesId.parse(f"crypto:{symbol}:last").unit
        columns = {f"crypto:{symbol}:last": 4, f"crypto:{symbol}:high": 2, f"crypto:{symbol}:low": 3}  # OHLCV rows
        observations = []
        for open_ms, bar in sorted(bars.items()):
            opened = epoch_to_utc(open_ms)
            if opened is None or opened + DAY > now:
                continue
            stamp = opened + DAY - timedelta(seconds=1)
            for series, index in columns.items():
                value = bar[index] if len(bar) > index else None
                if value is None or check_value(series, value, stamp, now):
                    continue
                observations.append(Observation(series, float(value), unit, stamp, self.name))
        return observations

    async def _daily_bars(self, symbol: str, since_ms: int) -> dict[int, list[Any]]:
        """Daily OHLCV rows by open time, paged forward from `since_ms` until the present, past empty windows."""
        page_size = _OHLCV_PAGE.get(self.name, 100)
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        bars: dict[int, list[Any]] = {}
        cursor = since_ms
        for _ in range(_MAX_HISTORY_PAGES):
            page = await self.exchange.fetch_ohlcv(symbol, "1d", since=cursor, limit=page_size)
            if not isinstance(page, list):
                raise SourceError(f"unexpected response from {self.name}")
            fresh = [row for row in page
                     if isinstance(row, list) and row and isinstance(row[0], int) and row[0] >= cursor]
            if not fresh:
                # okx and coinbase answer for a window of `page_size` days from `since`: an empty window is one
                # before the pair was listed, not the end of its history; look in the next one
                cursor += page_size * DAY_MS
                if cursor > now_ms:
                    break
                continue
            for row in fresh:
                bars[row[0]] = row
            cursor = max(row[0] for row in fresh) + DAY_MS
            if cursor > now_ms:
                break
        return bars

    # ---- errors -----------------------------------------------------------------------------------

    def _source_error(self, exc: BaseException) -> SourceError:
        """A short, readable SourceError for anything ccxt (or a malformed payload) raised."""
        import ccxt

        if isinstance(exc, SourceError):
            return exc
        status = self._last_status if self._last_status and self._last_status >= 400 else None
        retry_after = _retry_after(self._last_headers) if status else None
        http = f"HTTP {status} from {self.name}" if status else None
        if isinstance(exc, ccxt.DDoSProtection | ccxt.RateLimitExceeded) or status == 429:
            return RateLimited(f"rate limited by {self.name}" + (f" (HTTP {status})" if status else ""),
                               retry_after=retry_after)
        if isinstance(exc, ccxt.RequestTimeout):
            if http:
                return SourceError(http, retry_after)
            return Unreachable(f"timed out after {self._settings.timeout_s:g} s")
        if isinstance(exc, ccxt.NetworkError):
            if http:
                return SourceError(http, retry_after)
            reason = self._network_reason(exc)
            return Unreachable(reason) if reason.startswith(_UNREACHABLE) else SourceError(reason)
        if isinstance(exc, ccxt.BadResponse):
            return SourceError(f"unexpected response from {self.name}", retry_after)
        if isinstance(exc, ccxt.ExchangeError):
            detail = self._exchange_detail(str(exc))
            if detail is None:
                return SourceError(http or f"unexpected response from {self.name}", retry_after)
            return SourceError(_short(f"{http or self.name}: {detail}"), retry_after)
        if http:
            return SourceError(http, retry_after)
        if isinstance(exc, ValueError | ArithmeticError) and _NOT_A_NUMBER.search(f"{type(exc).__name__}: {exc}"):
            return SourceError(f"unexpected response from {self.name}: a value in it is not a number")  # "NaN"
        return SourceError(f"unexpected response from {self.name}")

    def _network_reason(self, exc: BaseException) -> str:
        import aiohttp

        cause = exc.__cause__
        if isinstance(cause, aiohttp.ClientConnectorError):
            where = f"{cause.host}:{cause.port}"
            if isinstance(cause.os_error, ConnectionRefusedError):
                return f"connection refused ({where})"
            if isinstance(cause, aiohttp.ClientConnectorDNSError):
                return f"cannot resolve {cause.host}"
            return f"cannot connect to {where}"
        if isinstance(cause, aiohttp.ServerDisconnectedError):
            return f"{self.name} closed the connection"
        if isinstance(cause, aiohttp.ClientPayloadError):
            return f"incomplete response from {self.name}"
        if isinstance(cause, aiohttp.ClientError):
            return f"network error talking to {self.name}"
        # no transport error: the exchange itself said it is unavailable ({"error":["EService:Unavailable"]})
        detail = self._exchange_detail(str(exc))
        return _short(f"{self.name}: {detail}") if detail else f"network error talking to {self.name}"

    def _exchange_detail(self, text: str) -> str | None:
        """The gist of a ccxt error message, "binance {"code":-1121,"msg":"Invalid symbol."}" → "Invalid symbol.",
        or None when it carries nothing readable (a payload of an unexpected shape)."""
        text = text.removeprefix(self.name).strip()
        start = text.find("{")
        if start >= 0:
            try:
                payload = json.loads(text[start:])
            except ValueError:
                payload = None
            if isinstance(payload, dict):
                for key in ("msg", "message", "error", "error_message", "errorMessage"):
                    detail = payload.get(key)
                    if isinstance(detail, list):
                        detail = "; ".join(map(str, detail))
                    if detail:
                        return str(detail)
                return None
        text = re.sub(r"https?://\S+", "", text).strip()
        return text or None
