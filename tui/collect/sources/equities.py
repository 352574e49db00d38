"""Equities, indices, FX and futures from Yahoo Finance, through yfinance.

`EquitiesSource` turns Yahoo symbols ("NVDA", "688795.SS", "^IXIC", "CNY=X", "GC=F") into observations of
`equity:`, `index:`, `fx:` and `commodity:` series. yfinance blocks, so every call runs in a worker thread
behind the `YahooDownloader` seam; `YFinanceDownloader` is the real one, tests pass fakes.

How the quotes are fetched, and why (yfinance 1.7):

- `Ticker.fast_info` looks like the obvious source, but it fetches per ticker and per attribute:
  `last_price` reads a year of daily bars, `previous_close` five days of hourly bars, `market_cap` the
  share count from the fundamentals-timeseries API plus the year of bars. That is two to four requests
  per symbol per poll, some forty symbols every minute: a sure way into Yahoo's rate limit.
- `yf.download(..., period="5d")` is one call but still one chart request per symbol (threaded), and its
  frame drops the metadata: no currency, no quote time, no market value.
- Yahoo's v7 quote endpoint answers for every symbol in ONE request, with the price, its time, the
  previous close, the currency, the market value and the share count. yfinance uses it itself for
  `Ticker.info`; we call it through yfinance's `YfData`, which supplies the cookie, the crumb and the
  browser-like TLS session. The trade-off: `YfData` is yfinance's internal plumbing rather than its
  public API, so a yfinance upgrade may move it; and the endpoint needs a crumb, which Yahoo breaks
  from time to time. So when that request fails (other than by rate limit, time-out or a refused
  connection) `quotes()` falls back to `yf.download(period="5d")`: the last and previous daily closes,
  without a currency check or a market value for that poll.

Daily history comes from one `yf.download(start=...)` call (again one chart request per symbol, in
threads), and the share-count history from one fundamentals-timeseries request per equity
(`Ticker.get_shares_full`). yf.download swallows per-symbol exceptions and only logs them, so we read its log records to
tell a rate limit or a refused connection from a symbol that has no data.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
import re
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from tui.collect.sources.base import (
    FetchResult,
    RateLimited,
    SourceError,
    Unreachable,
    check_market_cap,
    check_value,
    epoch_to_utc,
    import_heavy,
)
from tui.collect.sources.jobs import bounded_timeout, current_job, in_daemon_thread
from tui.collect.sources.limits import MAX_BODY_BYTES, BodyBudget, CappedWriter
from tui.collect.sources.retry import parse_retry_after
from tui.collect.sources.wanted import series_for_yahoo
from tui.core import markets
from tui.core.config import EquitiesSettings
from tui.core.model import SERIES_KINDS, Observation, SeriesId, TapecheckError
from tui.core.printable import printable

T = TypeVar("T")

QUOTE_URL = "https://query1.finance.yahoo.com/v7/finance/quote"
NO_QUOTE = "no quote from Yahoo"
# a symbol left out of Yahoo's answer, as the sources screen lists it: "XYZ: Yahoo did not quote it (...)"
NOT_QUOTED = "Yahoo did not quote it (no quote in its answer: an unknown or delisted symbol?)"


@dataclass(frozen=True, slots=True)
class Quote:
    """One symbol's latest quote as Yahoo gives it. Any field may be missing (None) or NaN."""

    price: float | None
    prev_close: float | None = None
    currency: str | None = None  # None when the path that fetched it does not say
    ts: datetime | None = None  # time of the last price (aware UTC), None when Yahoo gives none
    market_cap: float | None = None
    shares: float | None = None  # shares outstanding
    bad_time: str | None = None  # the quote time as sent, when it is no time at all (the quote is refused)


@dataclass(frozen=True, slots=True)
class Bar:
    """One daily bar; `day` is the trading date in the market's own time zone."""

    day: date
    close: float
    high: float | None = None
    low: float | None = None


class YahooDownloader(Protocol):
    """The blocking seam between EquitiesSource and Yahoo. Called from a worker thread, never the event loop.

    Both methods return what came, keyed by the symbols asked for (a missing key is a missing symbol), and
    raise SourceError (RateLimited for HTTP 429) when nothing came.
    """

    def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]: ...

    def history(self, symbols: Sequence[str], start: date) -> dict[str, list[Bar]]: ...

    def share_history(self, symbols: Sequence[str], start: date) -> tuple[dict[str, list[ShareCount]], dict[str, str]]:
        """Each symbol's share counts from `start` (Yahoo's, as yfinance's Ticker.get_shares_full reads them),
        and why a symbol has none."""
        ...


# How far before the history's start share counts are asked for: the count in force on the first day was
# reported up to a quarter (and a late filing) before it.
SHARES_LOOKBACK = timedelta(days=200)
# A live count (market value ÷ price) this many times Yahoo's latest share count is a company with several share
# classes whose history counts one (GOOGL, META): its history is scaled to every class, as the live value is.
CLASSES_TOLERANCE = 1.05


@dataclass(frozen=True, slots=True)
class ShareCount:
    """Shares outstanding as Yahoo reports them from a date on."""

    day: date
    shares: float


_Counts = tuple[dict[str, list[ShareCount]], dict[str, str]]  # share counts per symbol, and why a symbol has none


def symbol_kind(symbol: str) -> str:
    """The series kind of a Yahoo symbol: "^…" index, "…=X" fx, "…=F" commodity, else equity."""
    if symbol.startswith("^"):
        return "index"
    if symbol.endswith("=X"):
        return "fx"
    if symbol.endswith("=F"):
        return "commodity"
    return "equity"


def expected_currency(series: SeriesId) -> str | None:
    """The currency Yahoo must quote a series in, or None when it has none to check (indices are in points)."""
    if series.kind in ("equity", "commodity"):
        return series.unit
    if series.kind == "fx":
        return series.unit.split("/")[0]  # CNY/USD: CNY=X is quoted in CNY
    return None


# ---------------------------------------------------------------------------------------------------------
# Yahoo's payloads → Quote and Bar (pure, shared by the real downloader and the tests)


def _number(value: Any) -> float | None:
    """A JSON number as float (NaN and infinities kept, for validation to judge); None for anything else."""
    if isinstance(value, dict):  # formatted=true answers wrap numbers as {"raw": 1.0, "fmt": "1.00"}
        value = value.get("raw")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _count(value: Any) -> float | None:
    """A share count from a pandas series (a numpy number) as float; None for what is not a finite number."""
    number = _number(value.item() if hasattr(value, "item") else value)
    return number if number is not None and math.isfinite(number) else None


def present(value: float | None) -> bool:
    """Whether a number came at all: None and NaN are missing (infinities and zeros are wrong, not missing)."""
    return value is not None and not math.isnan(value)


def quotes_from_json(payload: Any, symbols: Sequence[str]) -> dict[str, Quote]:
    """Quotes from a v7 /finance/quote answer, keyed by the requested spelling of each symbol."""
    try:
        response = payload["quoteResponse"]
        results = response["result"]
    except (KeyError, TypeError):
        raise SourceError("unexpected response from Yahoo: missing 'quoteResponse.result'") from None
    if results is None or not isinstance(results, list):
        error = response.get("error") if isinstance(response, dict) else None
        detail = error.get("description") if isinstance(error, dict) else None
        raise SourceError(f"Yahoo refused the quote request: {detail}" if detail else
                          "unexpected response from Yahoo: 'quoteResponse.result' is not a list")
    wanted = {symbol.upper(): symbol for symbol in symbols}
    quotes: dict[str, Quote] = {}
    for item in results:
        if not isinstance(item, dict) or not isinstance(item.get("symbol"), str):
            continue
        symbol = wanted.get(item["symbol"].upper())
        if symbol is None:
            continue
        when = _number(item.get("regularMarketTime"))
        ts = epoch_to_utc(when) if when is not None and when != 0 else None  # s, ms or µs: told by size
        currency = item.get("currency")
        quotes[symbol] = Quote(
            price=_number(item.get("regularMarketPrice")),
            prev_close=_number(item.get("regularMarketPreviousClose")),
            currency=currency if isinstance(currency, str) else None,
            ts=ts,
            market_cap=_number(item.get("marketCap")),
            shares=_number(item.get("sharesOutstanding")),
            bad_time=repr(item["regularMarketTime"]) if when is not None and when != 0 and ts is None else None,
        )
    return quotes


def bars_from_frame(frame: Any, symbols: Sequence[str]) -> dict[str, list[Bar]]:
    """Daily bars from a yf.download(group_by="ticker") frame: columns (Ticker, Price), one row per date.

    Rows whose Close is NaN (another market's trading day, a halted symbol) are skipped; a symbol missing
    from the columns, or with no Close at all, is left out.
    """
    if frame is None or frame.empty:
        return {}
    columns = frame.columns
    parts: dict[str, Any] = {}  # symbol -> its frame of Price columns
    if columns.nlevels == 2:
        tickers = {str(t) for t in columns.get_level_values(0)}
        for symbol in symbols:
            key = symbol if symbol in tickers else symbol.upper()
            if key in tickers:
                parts[symbol] = frame[key]
    elif len(symbols) == 1:  # multi_level_index=False with one symbol: plain Price columns
        parts[symbols[0]] = frame
    bars: dict[str, list[Bar]] = {}
    for symbol, part in parts.items():
        if "Close" not in part.columns:
            raise SourceError(f"unexpected response from Yahoo: no 'Close' column for {symbol}")
        rows = []
        for stamp, row in part.iterrows():
            close = _number(row["Close"])
            if close is None or math.isnan(close):
                continue
            high = _number(row["High"]) if "High" in part.columns else None
            low = _number(row["Low"]) if "Low" in part.columns else None
            rows.append(Bar(stamp.date(), close, high, low))
        if rows:
            bars[symbol] = sorted(rows, key=lambda bar: bar.day)
    return bars


def quotes_from_bars(bars: dict[str, list[Bar]], now: datetime) -> dict[str, Quote]:
    """Quotes from daily bars (the fallback path): the last close, the one before, no currency.

    The last bar is stamped at its session's close when that has passed; while its session runs the bar
    is the live price, so the quote carries no time and is stamped on receipt.
    """
    quotes = {}
    for symbol, rows in bars.items():
        if not rows:
            continue
        last = rows[-1]
        closed: datetime | None
        try:
            closed = markets.session(symbol).close_at(last.day)
        except TapecheckError:
            closed = None
        quotes[symbol] = Quote(
            price=last.close,
            prev_close=rows[-2].close if len(rows) > 1 else None,
            ts=closed if closed is not None and closed <= now else None,
        )
    return quotes


# ---------------------------------------------------------------------------------------------------------
# Errors: yfinance and curl_cffi exceptions → short readable SourceErrors


def _class_names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


_CONNECT = re.compile(r"Failed to connect to (\S+?)(?: port |:)(\d+)")
_HTTP_STATUS = re.compile(r"HTTP Error (\d{3})")
_RESOLVE = re.compile(r"Could not resolve host: (\S+)")
_TOO_LARGE = re.compile(r"answer from Yahoo larger than [\d.]+ MB, cut off")


def describe_failure(text: str, timeout_s: float) -> str:
    """A short reason from an exception's text or a yfinance log line (curl's error codes are stable)."""
    if "Too Many Requests" in text or "YFRateLimitError" in text:
        return "rate limited by Yahoo (HTTP 429 Too Many Requests)"
    if "curl: (28)" in text or "timed out" in text.lower() or "Timeout" in text:
        return f"timed out after {timeout_s:g} s"
    if match := _CONNECT.search(text):
        return f"connection refused ({match[1]}:{match[2]})"
    if match := _RESOLVE.search(text):
        return f"cannot resolve {match[1]}"
    if match := _HTTP_STATUS.search(text):  # 404 names an unknown symbol, any other status a failing Yahoo
        return "no data from Yahoo (HTTP 404)" if match[1] == "404" else f"HTTP {match[1]} from Yahoo"
    if "curl: (7)" in text or "ConnectionError" in text:
        return "cannot connect to Yahoo"
    if "curl: (52)" in text or "curl: (56)" in text or "curl: (18)" in text:
        return "Yahoo closed the connection mid-answer"
    if "delisted" in text or "No data found" in text or "YFPricesMissingError" in text or "YFTzMissingError" in text:
        return "no data from Yahoo (possibly delisted)"
    if match := _TOO_LARGE.search(text):
        return match[0]
    if "CURRENTLY DOWN" in text:
        return "Yahoo Finance is down"
    if "JSONDecodeError" in text or "Expecting value" in text or "Unterminated string" in text:
        return "unexpected response from Yahoo: not JSON"
    first = text.strip().splitlines()[0] if text.strip() else "no detail"
    return printable(f"Yahoo request failed: {first[:100]}", replace=" ")


def yahoo_error(exc: BaseException, timeout_s: float, retry_after: float | None = None) -> SourceError:
    """The SourceError to raise for an exception from yfinance, curl_cffi or a downloader."""
    if isinstance(exc, SourceError):
        return exc
    names = _class_names(exc)
    if "YFRateLimitError" in names:
        return RateLimited("rate limited by Yahoo (HTTP 429 Too Many Requests)", retry_after=retry_after)
    if names & {"Timeout", "TimeoutError", "ReadTimeout", "ConnectTimeout"}:
        return Unreachable(f"timed out after {timeout_s:g} s")
    if "HTTPError" in names:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status is not None:
            return SourceError(f"HTTP {status} from Yahoo")
    if "JSONDecodeError" in names:
        return SourceError("unexpected response from Yahoo: not JSON")
    reason = describe_failure(f"{type(exc).__name__}: {exc}", timeout_s)
    if reason.startswith("Yahoo request failed"):
        reason = f"Yahoo request failed: {type(exc).__name__}: {str(exc).strip()[:80]}"
    return Unreachable(reason) if unreachable(reason) else SourceError(reason)


class _YfErrorLog(logging.Handler):
    """Collects the errors yfinance logs from the current thread (yf.download logs per-symbol failures)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())


@contextmanager
def _yf_errors() -> Iterator[list[str]]:
    logger = logging.getLogger("yfinance")
    handler = _YfErrorLog()
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


_DOWNLOAD_ERROR = re.compile(r"^\[(?P<symbols>[^\]]*)\]: (?P<error>.+)$", re.DOTALL)


_UNREACHABLE = ("timed out", "connection refused", "cannot", "Yahoo closed the connection")
_SEVERITY = ("rate limited", "timed out", "answer from Yahoo larger", "connection refused", "cannot", "Yahoo closed",
             "HTTP", "Yahoo Finance is down", "unexpected response", "Yahoo request failed", "no data")


def _severity(reason: str) -> int:
    """Rank of a reason: the lower, the more it explains a failure of everything (a refused connection
    explains more than one symbol with no data)."""
    return next((rank for rank, prefix in enumerate(_SEVERITY) if reason.startswith(prefix)), len(_SEVERITY))


def download_failures(messages: Sequence[str], timeout_s: float) -> dict[str, str]:
    """Per-symbol reasons from yf.download's error log lines, which read "['A', 'B']: SomeError('...')"."""
    failures = {}
    for message in messages:
        if match := _DOWNLOAD_ERROR.match(message.strip()):
            reason = describe_failure(match["error"], timeout_s)
            for symbol in re.findall(r"'([^']+)'", match["symbols"]):
                failures[symbol] = reason
    return failures


# ---------------------------------------------------------------------------------------------------------
# The real downloader


def _import_yfinance() -> Any:
    """yfinance, imported late (it takes about two seconds), set up for a long-running program.

    - Its deprecation chatter is silenced: yfinance turns its own DeprecationWarnings back on when imported
      and trips pandas' in every call; printed from worker threads they would scribble over the TUI. The
      filter names only yfinance's modules.
    - `config.debug.hide_exceptions = False`: otherwise yfinance logs a per-symbol error (a refused
      connection, a time-out) from its download threads and reports it as "possibly delisted", and
      yf.download could not tell us why a symbol failed. Raised, yf.download records the real cause.
    """
    yfinance = import_heavy("yfinance")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"^yfinance")
    yfinance.config.debug.hide_exceptions = False
    return yfinance


def _rewrite(url: str, base_url: str | None) -> str:
    """Send every *.yahoo.com URL to base_url instead (for proxies and the test fakes)."""
    if not base_url:
        return url
    parts = urlsplit(url)
    if not (parts.hostname or "").endswith("yahoo.com"):
        return url
    return base_url.rstrip("/") + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def unreachable(reason: str) -> bool:
    """Whether a failure's reason says Yahoo could not be reached at all (rather than answered badly)."""
    return reason.startswith(_UNREACHABLE)


def _make_session(base_url: str | None, timeout_s: float, max_body: int = MAX_BODY_BYTES) -> Any:
    """A curl_cffi session impersonating Chrome (as yfinance's own), which remembers Retry-After of a 429,
    given base_url sends Yahoo's hosts there, and reads every body within `max_body` (counted after curl has
    inflated it, in its small steps) and `timeout_s` from the first byte.

    Every request has a finite time-out of at most `timeout_s`, whatever yfinance passes (curl waits forever
    without one, on a kept-alive connection whose other end went silent too), and within what is left of the
    job it belongs to (tui.collect.sources.jobs): after one failure to reach Yahoo, the job's later requests fail
    at once with that reason."""
    from curl_cffi import requests as curl_requests

    class YahooSession(curl_requests.Session):  # type: ignore[type-arg]
        retry_after: float | None = None

        def request(self, method: Any, url: str, *args: Any, **kwargs: Any) -> Any:
            job = current_job()
            asked = kwargs.get("timeout")
            kwargs["timeout"] = bounded_timeout(asked, timeout_s) if job is None else job.request_timeout(
                asked, timeout_s)
            if kwargs.get("stream") or kwargs.get("content_callback") is not None:
                return super().request(method, _rewrite(url, base_url), *args, **kwargs)
            writer = CappedWriter(BodyBudget("Yahoo", max_body, timeout_s))
            kwargs["content_callback"] = writer
            try:
                response = super().request(method, _rewrite(url, base_url), *args, **kwargs)
            except Exception as exc:
                if writer.error is not None:  # our callback ended the transfer: say why, not "curl: (23)"
                    raise writer.error from None
                if job is not None and unreachable(reason := str(yahoo_error(exc, timeout_s))):
                    job.failed(Unreachable(reason))
                raise
            response.content = writer.body()
            if response.status_code == 429:
                self.retry_after = parse_retry_after(response.headers.get("Retry-After"))
            return response

    return YahooSession(impersonate="chrome", timeout=timeout_s)


class YFinanceDownloader:
    """YahooDownloader over yfinance: one v7 quote request per poll, one yf.download call per history.

    `base_url` replaces https://*.yahoo.com in every request (a proxy, or a fake server in tests).
    yfinance is imported on first use. Its shared state (the YfData singleton, its cookie and crumb) is
    process-wide; one downloader per process is the intended use.
    """

    def __init__(self, timeout_s: float = 30, base_url: str | None = None) -> None:
        self.timeout_s = timeout_s
        self.base_url = base_url
        self._session: Any = None
        self._lock = threading.Lock()
        # yfinance logs from worker threads; without a handler Python would print them over the TUI.
        logger = logging.getLogger("yfinance")
        if not logger.handlers:
            logger.addHandler(logging.NullHandler())

    def _yf_session(self) -> Any:
        with self._lock:
            if self._session is None:
                self._session = _make_session(self.base_url, self.timeout_s)
            return self._session

    def _rate_limited(self) -> RateLimited:
        return RateLimited("rate limited by Yahoo (HTTP 429 Too Many Requests)",
                           retry_after=getattr(self._session, "retry_after", None))

    # The two network calls, kept small so tests can replace them with recorded-shape payloads.

    def fetch_quote_json(self, symbols: Sequence[str]) -> Any:
        """The parsed JSON of one v7 quote request for all symbols."""
        _import_yfinance()
        from yfinance.data import YfData

        session = self._yf_session()
        session.retry_after = None
        params = {"symbols": ",".join(symbols), "formatted": "false", "lang": "en-US", "region": "US"}
        try:
            response = YfData(session=session).get(QUOTE_URL, params=params, timeout=self.timeout_s)
        except Exception as exc:
            if "YFRateLimitError" in _class_names(exc):
                raise self._rate_limited() from None
            raise yahoo_error(exc, self.timeout_s) from None
        if response.status_code == 429:
            raise self._rate_limited()
        if response.status_code >= 400:
            raise SourceError(f"HTTP {response.status_code} from Yahoo")
        try:
            return response.json()
        except ValueError:
            raise SourceError("unexpected response from Yahoo: not JSON") from None

    def download_frame(self, symbols: Sequence[str], **window: Any) -> tuple[Any, dict[str, str]]:
        """One yf.download call: the frame, and a reason for each symbol yfinance logged a failure for."""
        yf = _import_yfinance()
        session = self._yf_session()
        with _yf_errors() as messages:
            frame = yf.download(list(symbols), interval="1d", group_by="ticker", threads=True, progress=False,
                                auto_adjust=False, ignore_tz=True, timeout=self.timeout_s, session=session,
                                **window)
        failures = download_failures(messages, self.timeout_s)
        if failures:
            # yfinance keeps each symbol's time-zone lookup answer in an in-process cache, a bad one too,
            # which would fail that symbol until a restart. Good lookups are kept on disk anyway.
            from yfinance.data import YfData

            YfData.cache_get.cache_clear()
        return frame, failures

    def _bars(self, symbols: Sequence[str], **window: Any) -> dict[str, list[Bar]]:
        try:
            frame, failures = self.download_frame(symbols, **window)
        except SourceError:
            raise
        except Exception as exc:
            raise yahoo_error(exc, self.timeout_s) from None
        bars = bars_from_frame(frame, symbols)
        if not bars:
            reasons = {failures.get(s.upper(), failures.get(s, "")) for s in symbols} - {""}
            if any(r.startswith("rate limited") for r in reasons):
                raise self._rate_limited()
            if not reasons:
                raise SourceError(f"no daily bars from Yahoo for any of {len(symbols)} symbols")
            reason = min(reasons, key=_severity)
            raise Unreachable(reason) if unreachable(reason) else SourceError(reason)
        return bars

    def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        try:
            return quotes_from_json(self.fetch_quote_json(symbols), symbols)
        except RateLimited:
            raise
        except SourceError as exc:
            if _severity(str(exc)) < _severity("HTTP"):
                raise  # time-out, refused: the chart endpoint lives on the same hosts, falling back would wait twice
            quote_error = exc
        try:
            bars = self._bars(symbols, period="5d")
        except RateLimited:
            raise
        except SourceError:
            raise quote_error from None  # the first failure says more than the fallback's
        return quotes_from_bars(bars, datetime.now(UTC))

    def history(self, symbols: Sequence[str], start: date) -> dict[str, list[Bar]]:
        return self._bars(symbols, start=start.isoformat())

    def share_history(self, symbols: Sequence[str], start: date) -> tuple[dict[str, list[ShareCount]], dict[str, str]]:
        """One fundamentals-timeseries request per symbol, through yfinance's own `Ticker.get_shares_full`
        (query2.finance.yahoo.com/ws/fundamentals-timeseries/v1/finance/timeseries/SYM?symbol=SYM&period1=…
        &period2=…, answering {"timeseries": {"result": [{"timestamp": [...], "shares_out": [...]}]}})."""
        yf = _import_yfinance()
        session = self._yf_session()
        found: dict[str, list[ShareCount]] = {}
        failures: dict[str, str] = {}
        for symbol in symbols:
            try:
                counts = yf.Ticker(symbol, session=session).get_shares_full(start=start.isoformat())
            except Exception as exc:
                if "YFRateLimitError" in _class_names(exc):
                    raise self._rate_limited() from None
                failures[symbol] = f"no share count history: {yahoo_error(exc, self.timeout_s)}"
                continue
            # yfinance localises Yahoo's midnight-UTC stamps to the exchange's zone: the date is the report's
            rows = [] if counts is None else [ShareCount(stamp.date(), value) for stamp, value in
                                              ((s, _count(v)) for s, v in counts.items()) if value is not None]
            if rows:
                found[symbol] = rows
            else:
                failures[symbol] = "no share count history from Yahoo"
        if failures:  # yfinance keeps each answer in an in-process cache, a failed one too: ask again next time
            from yfinance.data import YfData

            YfData.cache_get.cache_clear()
        return found, failures


# ---------------------------------------------------------------------------------------------------------
# The source


@dataclass(frozen=True, slots=True)
class _Plan:
    kind: str
    currency: str | None  # what Yahoo must quote the symbol in; None: nothing to check


class EquitiesSource:
    """Equities, indices, FX and futures from Yahoo. `fetch()` polls quotes, `history()` daily bars.

    Observations per symbol: `<kind>:<sym>:last` at the quote's time (our receive time if Yahoo gives
    none); `:prev_close` (not for fx) at the previous session's close (tui.core.markets, holidays not modelled);
    for equities `:market_cap`, Yahoo's figure checked against price × shares, or price × shares when
    Yahoo gives no figure. A symbol Yahoo quotes in another currency than its series' unit (GBp for a
    GBP series, say) is refused whole, with the reason in `failures`. A symbol whose series tapecheck
    cannot name (an unknown exchange suffix) is never asked for and always listed in `failures`.

    `downloader` defaults to YFinanceDownloader; `clock` (aware UTC "now", for receive times and the
    future-timestamp check) defaults to the system clock.
    """

    name = "yahoo"
    kind = "equities"

    def __init__(self, symbols: Sequence[str], settings: EquitiesSettings, downloader: YahooDownloader | None = None,
                 *, clock: Callable[[], datetime] | None = None) -> None:
        self.symbols = tuple(dict.fromkeys(symbols))
        self.settings = settings
        self.downloader: YahooDownloader = downloader or YFinanceDownloader(
            timeout_s=settings.timeout_s, base_url=settings.base_url or None)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._plans: dict[str, _Plan] = {}
        self._unusable: dict[str, str] = {}
        for symbol in self.symbols:
            kind = symbol_kind(symbol)
            try:
                series = SeriesId.parse(series_for_yahoo(kind, symbol, "last"))
            except TapecheckError as exc:
                self._unusable[symbol] = str(exc)
                continue
            self._plans[symbol] = _Plan(kind, expected_currency(series))
        self._shares: dict[str, float] = {}  # latest share counts, for history market values
        self._currency: dict[str, str] = {}  # latest currency Yahoo named per symbol
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._unreachable: Unreachable | None = None  # why the last quote poll could not reach Yahoo
        self.last_history_failures: dict[str, str] = {}
        self.last_history_rejected: tuple[str, ...] = ()

    async def prepare(self) -> None:
        """Import yfinance (seconds) in a worker thread, before the poll's timeout starts."""
        if isinstance(self.downloader, YFinanceDownloader):
            await asyncio.to_thread(_import_yfinance)

    async def close(self) -> None:
        """Nothing to release: yfinance's session lives with the process, and threads cannot be stopped."""

    async def _in_thread(self, job: str, func: Callable[..., T], *args: Any) -> T:
        """Run a blocking call in a worker thread, within settings.timeout_s.

        A thread cannot be killed: it runs as a job of that time-out (tui.collect.sources.jobs), so that its
        requests end with it; until the thread has ended a new call of the same job is refused instead of
        stacking another thread on it. Nothing waits for the thread when the collector stops.
        """
        timeout = self.settings.timeout_s
        running = self._pending.get(job)
        if running is not None and not running.done():
            raise SourceError(f"the previous Yahoo request is still running (timed out after {timeout:g} s)")
        task = in_daemon_thread(f"yahoo {job}", timeout, func, *args)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # never "exception never retrieved"
        self._pending[job] = task
        try:
            async with asyncio.timeout(timeout):  # not wait_for, which can lose a cancel on Python 3.11
                return await asyncio.shield(task)
        except TimeoutError:
            raise Unreachable(f"timed out after {timeout:g} s") from None
        except SourceError:
            raise
        except Exception as exc:
            raise yahoo_error(exc, timeout) from None

    def _series(self, symbol: str, field: str) -> str:
        return series_for_yahoo(self._plans[symbol].kind, symbol, field)

    def _currency_problem(self, symbol: str, currency: str | None) -> str | None:
        expected = self._plans[symbol].currency
        if expected is None or currency is None or currency == expected:
            return None
        return f"Yahoo quotes {symbol} in {currency}, but its series is in {expected}"

    async def fetch(self) -> FetchResult:
        """One batch of quotes for every symbol. SourceError (RateLimited) when none is usable."""
        symbols = [s for s in self.symbols if s in self._plans]
        failures = dict(self._unusable)
        if not symbols:
            if failures:
                raise SourceError(f"no symbol Yahoo can be asked for ({len(failures)} unusable)")
            return FetchResult()
        try:
            quotes = await self._in_thread("quotes", self.downloader.quotes, symbols)
        except Unreachable as error:
            self._unreachable = error
            raise
        self._unreachable = None
        received = self._clock()
        observations: list[Observation] = []
        rejected: list[str] = []

        def add(series: str, value: float, ts: datetime) -> bool:
            reason = check_value(series, value, ts, received)
            if reason:
                rejected.append(reason)
                return False
            observations.append(Observation(series, value, SeriesId.parse(series).unit, ts, self.name))
            return True

        for symbol in symbols:
            quote = quotes.get(symbol)
            if quote is None or not present(quote.price):
                failures[symbol] = NOT_QUOTED
                continue
            assert quote.price is not None
            if problem := self._currency_problem(symbol, quote.currency):
                failures[symbol] = problem
                continue
            if quote.currency:
                self._currency[symbol] = quote.currency
            kind = self._plans[symbol].kind
            if quote.bad_time is not None:  # this symbol's alone: the others in the batch are judged on their own
                rejected.append(f"{self._series(symbol, 'last')}: timestamp {quote.bad_time} is not a time")
                continue
            ts = quote.ts or received
            if not add(self._series(symbol, "last"), quote.price, ts):
                continue  # a refused price says nothing good of the rest of the quote
            if "prev_close" in SERIES_KINDS[kind] and present(quote.prev_close):
                assert quote.prev_close is not None
                add(self._series(symbol, "prev_close"), quote.prev_close, self._prev_close_ts(symbol, ts))
            if kind == "equity":
                self._add_market_cap(symbol, quote, ts, add, failures, rejected)
        if not observations:
            raise SourceError(self._nothing_usable(symbols, failures, rejected))
        return FetchResult(tuple(observations), failures, tuple(rejected))

    @staticmethod
    def _nothing_usable(symbols: Sequence[str], failures: dict[str, str], rejected: list[str]) -> str:
        if all(failures.get(s) == NOT_QUOTED for s in symbols):
            return f"{NO_QUOTE} for any of {len(symbols)} symbols"
        first = next((failures[s] for s in symbols if s in failures and failures[s] != NOT_QUOTED), None)
        return f"no usable quote from Yahoo ({first or rejected[0]})"

    @staticmethod
    def _prev_close_ts(symbol: str, ts: datetime) -> datetime:
        try:
            return min(markets.previous_close(symbol, ts), ts)
        except TapecheckError:
            return ts

    def _add_market_cap(self, symbol: str, quote: Quote, ts: datetime, add: Callable[[str, float, datetime], bool],
                        failures: dict[str, str], rejected: list[str]) -> None:
        series = self._series(symbol, "market_cap")
        price = quote.price
        assert price is not None
        shares = quote.shares if present(quote.shares) and quote.shares and quote.shares > 0 else None
        if present(quote.market_cap):
            assert quote.market_cap is not None
            value = quote.market_cap
            if reason := check_market_cap(series, value, price, shares):
                rejected.append(reason)
                return
        elif shares is not None:
            value = price * shares
        else:
            failures[series] = "no market value or share count from Yahoo"
            return
        if add(series, value, ts) and price > 0:
            # the count the live value implies: Yahoo's marketCap counts every share class (GOOGL, META), its
            # sharesOutstanding only one, and the daily values must agree with the live one
            self._shares[symbol] = value / price

    async def history(self, start: date) -> list[Observation]:
        """Daily bars from `start` to today, each stamped at its session's close.

        Per bar: `:last` (the close), `:high`, `:low` (fields the kind has: fx has only last), and for
        equities `:market_cap` = close × the share count in force that day: Yahoo's share-count history
        (`share_history`, also kept as `:shares` observations, dated by report), scaled to every share class
        where the live value counts more classes than that history (GOOGL, META). Before that history begins,
        or without one, it is close × the CURRENT count: the live market value over the live price, not
        `sharesOutstanding`, which counts one class only, so that a day's value and the live one agree (the
        rules then say "at today's share count"). Current counts come from the last quotes; when a symbol has
        none yet, this call also makes one quote request for them. While the last quote poll could not reach
        Yahoo, this fails at once with its reason. The bar of a
        session still running is skipped (its close is not known yet). What failed per symbol is left in
        `last_history_failures`, refused values in `last_history_rejected`.
        """
        symbols = [s for s in self.symbols if s in self._plans]
        self.last_history_failures = dict(self._unusable)
        self.last_history_rejected = ()
        if not symbols:
            return []
        if self._unreachable is not None:  # offline: its many requests (and threads) would all fail the same way
            raise Unreachable(f"{self._unreachable}, as the last quote poll found")
        now = self._clock()
        need_quotes = [s for s in symbols if self._plans[s].kind == "equity" and s not in self._shares]
        bars, quotes, counts = await self._in_thread("history", self._history_job, symbols, start, need_quotes)
        for symbol, quote in quotes.items():
            if quote.currency:
                self._currency.setdefault(symbol, quote.currency)
            if present(quote.price) and quote.price and quote.price > 0:
                if present(quote.market_cap) and quote.market_cap and quote.market_cap > 0 and \
                        check_market_cap("", quote.market_cap, quote.price,
                                         quote.shares if present(quote.shares) else None) is None:
                    self._shares[symbol] = quote.market_cap / quote.price  # every class, as above
                elif present(quote.shares) and quote.shares and quote.shares > 0:
                    self._shares[symbol] = quote.shares
        observations, rejected, failures = self._history_observations(symbols, bars, now, counts)
        self.last_history_failures.update(failures)
        self.last_history_rejected = tuple(rejected)
        if not observations:
            raise SourceError(f"no daily history from Yahoo for any of {len(symbols)} symbols")
        return observations

    def _history_job(self, symbols: Sequence[str], start: date, need_quotes: Sequence[str]
                     ) -> tuple[dict[str, list[Bar]], dict[str, Quote], _Counts]:
        bars = self.downloader.history(symbols, start)
        quotes: dict[str, Quote] = {}
        if need_quotes:
            try:
                quotes = self.downloader.quotes(need_quotes)
            except Exception:  # the bars are worth keeping without market values
                quotes = {}
        equities = [s for s in symbols if self._plans[s].kind == "equity" and bars.get(s)]
        try:
            counts = self.downloader.share_history(equities, start - SHARES_LOOKBACK) if equities else ({}, {})
        except Exception as exc:  # the bars are worth keeping at today's share count
            reason = f"no share count history: {exc}" if isinstance(exc, SourceError) else \
                f"no share count history: {yahoo_error(exc, self.settings.timeout_s)}"
            counts = {}, dict.fromkeys(equities, reason)
        return bars, quotes, counts

    def _share_counts(self, symbol: str, counts: _Counts, now: datetime, observations: list[Observation],
                      rejected: list[str], failures: dict[str, str]) -> list[ShareCount]:
        """The symbol's share counts as `:shares` observations (stamped at the start of the day Yahoo dates
        them), scaled to every share class where the live value counts more than Yahoo's history does; the
        counts kept, oldest first, for the daily market values."""
        series = self._series(symbol, "shares")
        found, why = counts
        if symbol in why:
            failures[series] = why[symbol]
        rows = sorted(found.get(symbol, ()), key=lambda c: c.day)
        live = self._shares.get(symbol)
        scale = live / rows[-1].shares if rows and live and rows[-1].shares > 0 else 1.0
        if 1 / CLASSES_TOLERANCE <= scale <= CLASSES_TOLERANCE:
            scale = 1.0
        kept = []
        for row in rows:
            ts = datetime.combine(row.day, time(), UTC)
            if reason := check_value(series, row.shares * scale, ts, now):
                rejected.append(reason)
                continue
            kept.append(ShareCount(row.day, row.shares * scale))
            observations.append(Observation(series, row.shares * scale, "shares", ts, self.name))
        return kept

    def _history_observations(self, symbols: Sequence[str], bars: dict[str, list[Bar]], now: datetime,
                              counts: _Counts = ({}, {})) -> tuple[list[Observation], list[str], dict[str, str]]:
        observations: list[Observation] = []
        rejected: list[str] = []
        failures: dict[str, str] = {}
        for symbol in symbols:
            rows = bars.get(symbol)
            if not rows:
                failures[symbol] = "no daily history from Yahoo"
                continue
            if problem := self._currency_problem(symbol, self._currency.get(symbol)):
                failures[symbol] = problem
                continue
            kind = self._plans[symbol].kind
            sess = markets.session(symbol)
            shares = self._shares.get(symbol)
            if kind == "equity" and shares is None:
                failures[self._series(symbol, "market_cap")] = "no share count from Yahoo for daily market values"
            history = self._share_counts(symbol, counts, now, observations, rejected, failures) \
                if kind == "equity" else []
            days = [c.day for c in history]
            for bar in rows:
                ts = sess.close_at(bar.day)
                if ts > now:
                    continue  # the session is still running: its close is not known yet
                values = {"last": bar.close, "high": bar.high, "low": bar.low}
                index = bisect.bisect_right(days, bar.day)
                in_force = history[index - 1].shares if index else shares  # before the history: today's count
                if kind == "equity" and in_force is not None:
                    values["market_cap"] = bar.close * in_force
                for field, value in values.items():
                    if value is None or field not in SERIES_KINDS[kind] or math.isnan(value):
                        continue
                    series = self._series(symbol, field)
                    if reason := check_value(series, value, ts, now):
                        rejected.append(reason)
                    else:
                        observations.append(Observation(series, value, SeriesId.parse(series).unit, ts, self.name))
        return observations, rejected, failures
