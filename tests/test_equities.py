"""The Yahoo source (tui.collect.sources.equities): quotes and daily bars to observations, errors, the thread seam.

Three layers of fakes, all offline:
- `RecordedDownloader`: the real YFinanceDownloader with only its two network calls replaced, fed a v7
  quote payload (tests/data/yahoo/quote.json) and frames built the way yf.download builds them
  (pd.concat of per-ticker frames, columns (Ticker, Price)), so every conversion runs for real;
- small hand-written downloaders for the thread and time-out path;
- real yfinance against `FakeYahoo` (tests/fakes/yahoo.py) on 127.0.0.1, for the HTTP faults.
"""

from __future__ import annotations

import asyncio
import copy
import math
import re
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from tests.fakes.yahoo import DELETE, FakeYahoo, load_quote_fixture
from tui.collect.sources.base import FetchResult, RateLimited, SourceError, Unreachable
from tui.collect.sources.equities import (
    NOT_QUOTED,
    Bar,
    EquitiesSource,
    Quote,
    ShareCount,
    YFinanceDownloader,
    bars_from_frame,
    download_failures,
    quotes_from_json,
    symbol_kind,
    yahoo_error,
)
from tui.core.config import EquitiesSettings
from tui.core.model import Observation, SeriesId

NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)  # Monday 14:00 in Shanghai; the fixtures hold Friday's close
SYMBOLS = ("NVDA", "AMD", "688795.SS", "300751.SZ", "NCKL.JK", "0700.HK", "^IXIC", "CNY=X", "GC=F")
FIELDS = ("Open", "High", "Low", "Close", "Adj Close", "Volume")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def settings(timeout_s: float = 5) -> EquitiesSettings:
    return EquitiesSettings(interval_s=60, timeout_s=timeout_s, history_interval_s=86400)


def by_series(observations: Sequence[Observation]) -> dict[str, Observation]:
    table = {obs.series: obs for obs in observations}
    assert len(table) == len(observations), "one observation per series expected"
    return table


# ---- recorded-shape payloads --------------------------------------------------------------------------


def quote_payload(overrides: dict[str, dict[str, Any]] | None = None, omit: Sequence[str] = ()) -> dict[str, Any]:
    """quote.json with some fields of some symbols replaced (DELETE removes) and some symbols left out."""
    payload = copy.deepcopy(load_quote_fixture())
    items = []
    for item in payload["quoteResponse"]["result"]:
        if item["symbol"] in omit:
            continue
        for key, value in (overrides or {}).get(item["symbol"], {}).items():
            if value is DELETE:
                item.pop(key, None)
            else:
                item[key] = value
        items.append(item)
    payload["quoteResponse"]["result"] = items
    return payload


def ticker_frame(rows: dict[str, float | None]) -> pd.DataFrame:
    """One ticker's daily frame as yfinance's history() returns it: Date index, the six price columns."""
    index = pd.DatetimeIndex([pd.Timestamp(day) for day in rows], name="Date")
    closes = [math.nan if c is None else c for c in rows.values()]
    return pd.DataFrame({"Open": [c * 0.99 for c in closes], "High": [c * 1.02 for c in closes],
                         "Low": [c * 0.97 for c in closes], "Close": closes, "Adj Close": closes,
                         "Volume": [1_000_000.0] * len(closes)}, index=index)


def download_like_yfinance(per_ticker: dict[str, dict[str, float | None] | None]) -> pd.DataFrame:
    """A yf.download(group_by="ticker") frame, built as yfinance's multi.py builds it: every ticker's frame
    reindexed to the union of dates (NaN rows where a market was shut), a failed ticker as all-NaN columns,
    then pd.concat(axis=1, keys=tickers, names=["Ticker", "Price"])."""
    frames = {t: ticker_frame(rows) if rows else pd.DataFrame({f: [] for f in FIELDS},
                                                            index=pd.DatetimeIndex([], name="Date"))
              for t, rows in per_ticker.items()}
    index = None
    for frame in frames.values():
        if not frame.empty:
            index = frame.index if index is None else index.union(frame.index)
    frames = {t: f.reindex(index if index is not None else pd.DatetimeIndex([], name="Date"))
              for t, f in frames.items()}
    return pd.concat(frames.values(), axis=1, sort=True, keys=frames.keys(), names=["Ticker", "Price"])


WEEK = ["2026-01-16", "2026-01-19", "2026-01-20", "2026-01-21", "2026-01-22", "2026-01-23"]


def week(*closes: float | None) -> dict[str, float | None]:
    return dict(zip(WEEK, closes, strict=True))


HISTORY: dict[str, dict[str, float | None] | None] = {
    # Monday 2026-01-19 was a US holiday: Yahoo has no bar, the union index gives NVDA a NaN row there.
    "NVDA": {"2025-07-01": 153.30, **{d: c for d, c in week(186.23, None, 178.07, 183.32, 184.84, 187.67).items()
                                      if c is not None}},
    "688795.SS": week(612.0, 628.88, 619.5, 633.1, 640.5, 655.0),
    "0700.HK": week(590.0, 593.5, 588.0, 596.0, 598.0, 605.5),
    "NCKL.JK": week(1195.0, 1210.0, 1230.0, 1255.0, 1265.0, 1280.0),
    "^IXIC": week(23515.39, None, 22954.32, 23224.82, 23436.02, 23501.24),
    "CNY=X": week(6.9651, 6.9644, 6.963, 6.9602, 6.9612, 6.958),
    "GC=F": week(4595.4, 4668.9, 4759.6, 4831.8, 4917.3, 4983.1),
    "AMD": None,  # yfinance failed this one: all-NaN columns
}


class RecordedDownloader(YFinanceDownloader):
    """YFinanceDownloader with its two network calls answered from recorded-shape payloads."""

    def __init__(self, payload: Any = None, frame: pd.DataFrame | None = None, failures: dict[str, str] | None = None,
                 quote_error: Exception | None = None, frame_error: Exception | None = None) -> None:
        super().__init__(timeout_s=5)
        self.payload = quote_payload() if payload is None else payload
        self.frame = frame
        self.failures = failures or {}
        self.quote_error = quote_error
        self.frame_error = frame_error
        self.quote_calls: list[list[str]] = []
        self.share_counts: dict[str, list[ShareCount]] = {}
        self.frame_calls: list[tuple[list[str], dict[str, Any]]] = []

    def fetch_quote_json(self, symbols: Sequence[str]) -> Any:
        self.quote_calls.append(list(symbols))
        if self.quote_error is not None:
            raise self.quote_error
        return self.payload

    def download_frame(self, symbols: Sequence[str], **window: Any) -> tuple[Any, dict[str, str]]:
        self.frame_calls.append((list(symbols), window))
        if self.frame_error is not None:
            raise self.frame_error
        return self.frame, dict(self.failures)

    def share_history(self, symbols: Sequence[str], start: date) -> tuple[dict[str, list[ShareCount]], dict[str, str]]:
        """The recorded share counts (none unless a test gives them): never yfinance's request."""
        return {s: list(c) for s, c in self.share_counts.items() if s in symbols}, {}


def source(downloader: Any, symbols: Sequence[str] = SYMBOLS, timeout_s: float = 5,
           now: datetime = NOW) -> EquitiesSource:
    return EquitiesSource(symbols, settings(timeout_s), downloader, clock=lambda: now)


def fetch(src: EquitiesSource) -> FetchResult:
    return asyncio.run(src.fetch())


# ---- quotes → observations ----------------------------------------------------------------------------


def test_kinds_of_symbols() -> None:
    assert [symbol_kind(s) for s in ("NVDA", "688795.SS", "^IXIC", "CNY=X", "GC=F")] == [
        "equity", "equity", "index", "fx", "commodity"]


def test_fetch_turns_one_batch_of_quotes_into_observations() -> None:
    downloader = RecordedDownloader()
    result = fetch(source(downloader))
    assert downloader.quote_calls == [list(SYMBOLS)]  # one request for every symbol
    assert result.failures == {} and result.rejected == ()
    obs = by_series(result.observations)
    nvda = obs["equity:NVDA:last"]
    assert (nvda.value, nvda.unit, nvda.ts, nvda.source) == (187.67, "USD", utc("2026-01-23T21:00:01"), "yahoo")
    assert obs["equity:NVDA:market_cap"].value == 4_560_381_000_000
    assert obs["equity:688795.SS:last"].unit == "CNY"
    assert obs["equity:688795.SS:market_cap"].value == 307_850_000_000
    assert obs["equity:NCKL.JK:last"].unit == "IDR"
    assert obs["equity:0700.HK:last"].unit == "HKD"
    assert (obs["index:^IXIC:last"].value, obs["index:^IXIC:last"].unit) == (23501.24, "pts")
    assert "index:^IXIC:market_cap" not in str(list(obs))
    assert (obs["fx:USDCNY:last"].value, obs["fx:USDCNY:last"].unit) == (6.958, "CNY/USD")
    assert "fx:USDCNY:prev_close" not in obs  # fx series have only a last
    assert obs["commodity:GC=F:last"].unit == "USD"
    for o in result.observations:
        assert o.unit == SeriesId.parse(o.series).unit
        assert o.ts.tzinfo is not None and o.ts.utcoffset() == timedelta(0)
    assert len(obs) == 6 * 3 + 2 + 1 + 2  # six equities (last, prev, cap), index, fx, commodity


def test_prev_close_is_stamped_at_the_previous_sessions_close() -> None:
    obs = by_series(fetch(source(RecordedDownloader())).observations)
    assert (obs["equity:NVDA:prev_close"].value, obs["equity:NVDA:prev_close"].ts) == (
        184.84, utc("2026-01-22T21:00:00"))
    assert obs["equity:688795.SS:prev_close"].ts == utc("2026-01-22T07:00:00")
    assert obs["equity:0700.HK:prev_close"].ts == utc("2026-01-22T08:00:00")
    assert obs["equity:NCKL.JK:prev_close"].ts == utc("2026-01-22T09:00:00")
    assert obs["index:^IXIC:prev_close"].ts == utc("2026-01-22T21:00:00")
    assert obs["commodity:GC=F:prev_close"].ts == utc("2026-01-22T22:00:00")


def test_a_partial_answer_keeps_what_came_and_names_the_rest() -> None:
    payload = quote_payload({"NVDA": {"regularMarketPrice": math.nan}, "CNY=X": {"regularMarketPrice": None}},
                            omit=["AMD", "GC=F"])
    result = fetch(source(RecordedDownloader(payload)))
    assert result.failures == {s: NOT_QUOTED for s in ("NVDA", "AMD", "CNY=X", "GC=F")}
    names = {o.series.split(":")[1] for o in result.observations}
    assert names == {"688795.SS", "300751.SZ", "NCKL.JK", "0700.HK", "^IXIC"}


def test_nothing_at_all_is_a_source_error() -> None:
    with pytest.raises(SourceError, match=r"^no quote from Yahoo for any of 9 symbols$"):
        fetch(source(RecordedDownloader(quote_payload(omit=SYMBOLS))))


def test_a_symbol_quoted_in_another_currency_is_refused_whole() -> None:
    payload = quote_payload({"NVDA": {"currency": "GBp"}, "CNY=X": {"currency": "USD"}})
    result = fetch(source(RecordedDownloader(payload)))
    assert result.failures["NVDA"] == "Yahoo quotes NVDA in GBp, but its series is in USD"
    assert result.failures["CNY=X"] == "Yahoo quotes CNY=X in USD, but its series is in CNY"
    assert not [o for o in result.observations if ":NVDA:" in o.series or o.series.startswith("fx:")]
    assert "equity:AMD:last" in by_series(result.observations)
    only_bad = quote_payload({"NVDA": {"currency": "EUR"}}, omit=[s for s in SYMBOLS if s != "NVDA"])
    with pytest.raises(SourceError, match=r"no usable quote from Yahoo \(Yahoo quotes NVDA in EUR"):
        fetch(source(RecordedDownloader(only_bad)))


def test_market_cap_from_yahoo_from_shares_or_refused() -> None:
    payload = quote_payload({
        "NVDA": {"marketCap": DELETE},  # no figure: price × shares
        "AMD": {"marketCap": 259.68 * 1_623_000_000 * 100},  # 100x: a scale error
        "688795.SS": {"marketCap": DELETE, "sharesOutstanding": DELETE},  # nothing to go on
        "300751.SZ": {"sharesOutstanding": DELETE},  # a figure, nothing to check it against: kept
        "0700.HK": {"marketCap": 605.5 * 9_170_000_000 * 9.5},  # 9.5x: inside the 10x check
    })
    result = fetch(source(RecordedDownloader(payload)))
    obs = by_series(result.observations)
    assert obs["equity:NVDA:market_cap"].value == pytest.approx(187.67 * 24_300_000_000)
    assert "equity:AMD:market_cap" not in obs
    assert len(result.rejected) == 1 and result.rejected[0].startswith("equity:AMD:market_cap: market value")
    assert "100x price × shares" in result.rejected[0]
    assert result.failures == {"equity:688795.SS:market_cap": "no market value or share count from Yahoo"}
    assert "equity:688795.SS:last" in obs
    assert obs["equity:300751.SZ:market_cap"].value == round(112.30 * 279_550_000)
    assert "equity:0700.HK:market_cap" in obs


def test_bad_values_are_rejected_not_returned() -> None:
    payload = quote_payload({
        "NVDA": {"regularMarketPrice": 0},
        "AMD": {"regularMarketPrice": -259.68},
        "^IXIC": {"regularMarketPreviousClose": -1.0},
        "GC=F": {"regularMarketTime": int(utc("2099-01-01T00:00:00").timestamp())},
        "CNY=X": {"regularMarketPrice": "6.95"},  # a string is not a number: no quote
    })
    result = fetch(source(RecordedDownloader(payload)))
    obs = by_series(result.observations)
    rejected = "\n".join(result.rejected)
    assert "equity:NVDA:last: value 0.0 is not positive" in rejected
    assert "equity:AMD:last: value -259.68 is not positive" in rejected
    assert "index:^IXIC:prev_close: value -1.0 is not positive" in rejected
    assert "commodity:GC=F:last: timestamp 2099-01-01T00:00:00+00:00 is in the future" in rejected
    assert not [s for s in obs if ":NVDA:" in s or ":AMD:" in s or ":GC=F:" in s]  # a bad price drops the symbol
    assert "index:^IXIC:last" in obs and "index:^IXIC:prev_close" not in obs
    assert result.failures == {"CNY=X": NOT_QUOTED}


def test_a_quote_without_a_time_is_stamped_on_receipt() -> None:
    payload = quote_payload({"NVDA": {"regularMarketTime": DELETE}})
    obs = by_series(fetch(source(RecordedDownloader(payload))).observations)
    assert obs["equity:NVDA:last"].ts == NOW
    # Monday before the open still shows Friday's session, whose previous close is Thursday's
    assert obs["equity:NVDA:prev_close"].ts == utc("2026-01-22T21:00:00")


def test_quotes_from_json_rejects_other_shapes() -> None:
    with pytest.raises(SourceError, match=r"^unexpected response from Yahoo: missing 'quoteResponse.result'$"):
        quotes_from_json({"finance": {"result": None}}, ["NVDA"])
    with pytest.raises(SourceError, match=r"^unexpected response"):
        quotes_from_json([1, 2, 3], ["NVDA"])
    with pytest.raises(SourceError, match="Yahoo refused the quote request: Invalid Crumb"):
        quotes_from_json({"quoteResponse": {"result": None, "error": {"description": "Invalid Crumb"}}}, ["NVDA"])
    junk = {"quoteResponse": {"result": [None, {"symbol": 5}, {"symbol": "nvda", "regularMarketPrice": 1.5}]}}
    assert quotes_from_json(junk, ["NVDA"]) == {"NVDA": Quote(price=1.5)}


def test_unknown_exchange_suffixes_are_not_asked_for() -> None:
    downloader = RecordedDownloader()
    result = fetch(source(downloader, symbols=["NVDA", "VOD.L"]))
    assert downloader.quote_calls == [["NVDA"]]
    assert "unknown exchange suffix" in result.failures["VOD.L"]


# ---- the fallback through daily bars ------------------------------------------------------------------


def test_a_refused_quote_request_falls_back_to_daily_bars() -> None:
    downloader = RecordedDownloader(quote_error=SourceError("HTTP 401 from Yahoo"),
                                    frame=download_like_yfinance(HISTORY))
    result = fetch(source(downloader, symbols=["NVDA", "688795.SS", "CNY=X", "AMD"]))
    assert downloader.frame_calls == [(["NVDA", "688795.SS", "CNY=X", "AMD"], {"period": "5d"})]
    obs = by_series(result.observations)
    assert (obs["equity:NVDA:last"].value, obs["equity:NVDA:last"].ts) == (187.67, utc("2026-01-23T21:00:00"))
    assert (obs["equity:NVDA:prev_close"].value, obs["equity:NVDA:prev_close"].ts) == (
        184.84, utc("2026-01-22T21:00:00"))
    assert obs["equity:688795.SS:last"].ts == utc("2026-01-23T07:00:00")
    assert obs["fx:USDCNY:last"].value == 6.958
    assert result.failures == {"AMD": NOT_QUOTED,
                               "equity:NVDA:market_cap": "no market value or share count from Yahoo",
                               "equity:688795.SS:market_cap": "no market value or share count from Yahoo"}


@pytest.mark.parametrize("reason", ["timed out after 5 s", "connection refused (127.0.0.1:9)"])
def test_no_fallback_when_yahoo_cannot_be_reached(reason: str) -> None:
    downloader = RecordedDownloader(quote_error=SourceError(reason), frame=download_like_yfinance(HISTORY))
    with pytest.raises(SourceError, match=f"^{re.escape(reason)}$"):
        fetch(source(downloader))
    assert downloader.frame_calls == []


def test_when_the_fallback_fails_too_the_first_reason_is_reported() -> None:
    downloader = RecordedDownloader(quote_error=SourceError("HTTP 503 from Yahoo"),
                                    frame=download_like_yfinance({"NVDA": None}),
                                    failures={"NVDA": "HTTP 503 from Yahoo"})
    with pytest.raises(SourceError, match=r"^HTTP 503 from Yahoo$"):
        fetch(source(downloader, symbols=["NVDA"]))


def test_rate_limits_are_not_retried_through_the_fallback() -> None:
    downloader = RecordedDownloader(quote_error=RateLimited("rate limited by Yahoo", retry_after=30))
    with pytest.raises(RateLimited) as caught:
        fetch(source(downloader))
    assert caught.value.retry_after == 30 and downloader.frame_calls == []


# ---- frames → bars, and daily history -----------------------------------------------------------------


def test_bars_from_a_yfinance_shaped_frame() -> None:
    frame = download_like_yfinance(HISTORY)
    assert frame.columns.names == ["Ticker", "Price"]
    assert frame.loc["2026-01-19", ("NVDA", "Close")] != frame.loc["2026-01-19", ("NVDA", "Close")]  # NaN row
    bars = bars_from_frame(frame, ["NVDA", "688795.SS", "AMD", "TSLA"])
    assert set(bars) == {"NVDA", "688795.SS"}  # AMD all NaN, TSLA not in the frame
    assert [b.day for b in bars["NVDA"]] == [date(2025, 7, 1), date(2026, 1, 16), date(2026, 1, 20),
                                             date(2026, 1, 21), date(2026, 1, 22), date(2026, 1, 23)]
    assert bars["NVDA"][-1] == Bar(date(2026, 1, 23), 187.67, pytest.approx(187.67 * 1.02),  # type: ignore[arg-type]
                                   pytest.approx(187.67 * 0.97))  # type: ignore[arg-type]
    assert len(bars["688795.SS"]) == 6
    assert bars_from_frame(None, ["NVDA"]) == {}
    assert bars_from_frame(pd.DataFrame(), ["NVDA"]) == {}
    single = ticker_frame({"2026-01-23": 187.67})  # multi_level_index=False, one ticker
    assert bars_from_frame(single, ["NVDA"]) == {"NVDA": [Bar(date(2026, 1, 23), 187.67, pytest.approx(191.4234),  # type: ignore[arg-type]
                                                              pytest.approx(182.0399))]}  # type: ignore[arg-type]
    with pytest.raises(SourceError, match="no 'Close' column"):
        bars_from_frame(frame.drop(columns=[("NVDA", "Close")]), ["NVDA"])


def test_history_stamps_each_bar_at_its_markets_close() -> None:
    downloader = RecordedDownloader(frame=download_like_yfinance(HISTORY))
    src = source(downloader)
    observations = asyncio.run(src.history(date(2026, 1, 1)))
    stamps: dict[str, set[datetime]] = {}
    for o in observations:
        stamps.setdefault(o.series, set()).add(o.ts)
    friday = {
        "equity:NVDA:last": "2026-01-23T21:00:00",  # 16:00 New York (EST)
        "equity:688795.SS:last": "2026-01-23T07:00:00",  # 15:00 Shanghai
        "equity:0700.HK:last": "2026-01-23T08:00:00",  # 16:00 Hong Kong
        "equity:NCKL.JK:last": "2026-01-23T09:00:00",  # 16:00 Jakarta
        "index:^IXIC:last": "2026-01-23T21:00:00",
        "fx:USDCNY:last": "2026-01-23T22:00:00",
        "commodity:GC=F:last": "2026-01-23T22:00:00",
    }
    for series, ts in friday.items():
        assert max(stamps[series]) == utc(ts), series
    assert utc("2025-07-01T20:00:00") in stamps["equity:NVDA:last"]  # summer: 16:00 EDT
    assert utc("2026-01-19T21:00:00") not in stamps["equity:NVDA:last"]  # the US holiday's NaN row
    assert len(stamps["equity:688795.SS:last"]) == 6
    obs = {(o.series, o.ts): o for o in observations}
    assert obs[("equity:NVDA:last", utc("2026-01-23T21:00:00"))].value == 187.67
    assert obs[("equity:NVDA:high", utc("2026-01-23T21:00:00"))].value == pytest.approx(187.67 * 1.02)
    assert obs[("equity:NVDA:low", utc("2026-01-23T21:00:00"))].value == pytest.approx(187.67 * 0.97)
    assert not [s for s in stamps if s.startswith("fx:") and not s.endswith(":last")]  # fx has only last
    assert "commodity:GC=F:high" in stamps and "index:^IXIC:low" in stamps
    assert {o.source for o in observations} == {"yahoo"}
    assert all(o.unit == SeriesId.parse(o.series).unit for o in observations)
    # AMD failed in yfinance (all-NaN columns), 300751.SZ is not in the frame at all
    assert src.last_history_failures == {"AMD": "no daily history from Yahoo", "300751.SZ": "no daily history from Yahoo"}


def test_history_market_cap_is_close_times_current_shares() -> None:
    downloader = RecordedDownloader(frame=download_like_yfinance(HISTORY))
    src = source(downloader, symbols=["NVDA", "688795.SS", "GC=F"])
    observations = asyncio.run(src.history(date(2026, 1, 1)))
    assert downloader.quote_calls == [["NVDA", "688795.SS"]]  # share counts for the equities, in one request
    caps = {o.ts: o.value for o in observations if o.series == "equity:NVDA:market_cap"}
    assert caps[utc("2026-01-22T21:00:00")] == pytest.approx(184.84 * 24_300_000_000)
    assert caps[utc("2025-07-01T20:00:00")] == pytest.approx(153.30 * 24_300_000_000)
    assert not [o for o in observations if o.series.startswith("commodity:") and "market_cap" in o.series]
    asyncio.run(src.history(date(2026, 1, 1)))
    assert len(downloader.quote_calls) == 1  # shares remembered


def test_history_without_shares_reports_the_missing_market_values() -> None:
    payload = quote_payload({"NVDA": {"marketCap": DELETE, "sharesOutstanding": DELETE}})
    downloader = RecordedDownloader(payload, frame=download_like_yfinance(HISTORY))
    src = source(downloader, symbols=["NVDA"])
    observations = asyncio.run(src.history(date(2026, 1, 1)))
    assert observations and not [o for o in observations if o.series.endswith(":market_cap")]
    assert src.last_history_failures == {
        "equity:NVDA:market_cap": "no share count from Yahoo for daily market values"}


def test_history_starts_where_asked_and_skips_running_sessions() -> None:
    downloader = RecordedDownloader(frame=download_like_yfinance(HISTORY))
    friday_afternoon = utc("2026-01-23T15:00:00")  # New York open, Shanghai closed
    src = source(downloader, symbols=["NVDA", "688795.SS"], now=friday_afternoon)
    observations = asyncio.run(src.history(date(2026, 1, 1)))
    assert downloader.frame_calls[0][1] == {"start": "2026-01-01"}  # the job decides how far back
    latest = {o.series: o.ts for o in sorted(observations, key=lambda o: o.ts)}
    assert latest["equity:NVDA:last"] == utc("2026-01-22T21:00:00")  # Friday's bar is not closed yet
    assert latest["equity:688795.SS:last"] == utc("2026-01-23T07:00:00")
    asyncio.run(src.history(date(2020, 3, 1)))
    assert downloader.frame_calls[1][1] == {"start": "2020-03-01"}


def test_history_refuses_a_symbol_in_another_currency() -> None:
    payload = quote_payload({"NVDA": {"currency": "GBp"}})
    src = source(RecordedDownloader(payload, frame=download_like_yfinance(HISTORY)), symbols=["NVDA", "GC=F"])
    observations = asyncio.run(src.history(date(2026, 1, 1)))
    assert src.last_history_failures["NVDA"] == "Yahoo quotes NVDA in GBp, but its series is in USD"
    assert {o.series.split(":")[1] for o in observations} == {"GC=F"}


def test_history_with_nothing_is_a_source_error() -> None:
    src = source(RecordedDownloader(frame=download_like_yfinance({"NVDA": None}), failures={"NVDA": "x"}),
                 symbols=["AMD", "TSLA"])
    with pytest.raises(SourceError):
        asyncio.run(src.history(date(2026, 1, 1)))


# ---- yf.download's logged failures and other errors ---------------------------------------------------


LOGGED = [
    "\n3 Failed downloads:",
    "['NVDA', 'AMD']: YFRateLimitError('Too Many Requests. Rate limited. Try after a while.')",
    "['NOPE']: No data found, symbol may be delisted",
    "['X.SS']: ConnectionError('Failed to perform, curl: (7) Failed to connect to 127.0.0.1:9 after 0 ms: "
    "Could not connect to server.')",
    "['Y.SZ']: Timeout('Failed to perform, curl: (28) Operation timed out after 5001 milliseconds')",
    "['Z']: HTTPError('HTTP Error 500: ')",
]


def test_download_failures_are_read_from_yfinance_log_lines() -> None:
    assert download_failures(LOGGED, 5) == {
        "NVDA": "rate limited by Yahoo (HTTP 429 Too Many Requests)",
        "AMD": "rate limited by Yahoo (HTTP 429 Too Many Requests)",
        "NOPE": "no data from Yahoo (possibly delisted)",
        "X.SS": "connection refused (127.0.0.1:9)",
        "Y.SZ": "timed out after 5 s",
        "Z": "HTTP 500 from Yahoo",
    }


def test_an_empty_download_raises_the_reason_that_explains_most() -> None:
    empty = download_like_yfinance({"NVDA": None, "NOPE": None})
    refused = RecordedDownloader(quote_error=SourceError("HTTP 500 from Yahoo"), frame=empty,
                                 failures={"NOPE": "no data from Yahoo (possibly delisted)",
                                           "NVDA": "connection refused (127.0.0.1:9)"})
    with pytest.raises(SourceError, match=r"^connection refused \(127\.0\.0\.1:9\)$"):
        refused.history(["NVDA", "NOPE"], date(2026, 1, 1))
    limited = RecordedDownloader(frame=empty, failures={"NOPE": "no data from Yahoo (possibly delisted)",
                                                        "NVDA": "rate limited by Yahoo (HTTP 429 Too Many Requests)"})
    with pytest.raises(RateLimited):
        limited.history(["NVDA", "NOPE"], date(2026, 1, 1))


def test_yfinance_and_curl_exceptions_become_short_reasons() -> None:
    from curl_cffi.requests.exceptions import ConnectionError as CurlConnectionError
    from curl_cffi.requests.exceptions import HTTPError, Timeout
    from yfinance.exceptions import YFPricesMissingError, YFRateLimitError

    class Response:
        status_code = 503

    assert isinstance(yahoo_error(YFRateLimitError(), 5), RateLimited)
    assert str(yahoo_error(Timeout("curl: (28) Operation timed out"), 5)) == "timed out after 5 s"
    assert str(yahoo_error(CurlConnectionError("curl: (7) Failed to connect to 127.0.0.1:9 after 0 ms"), 5)) == (
        "connection refused (127.0.0.1:9)")
    assert str(yahoo_error(HTTPError("HTTP Error 503", response=Response()), 5)) == "HTTP 503 from Yahoo"
    assert str(yahoo_error(ValueError("Expecting value: line 1 column 1 (char 0)"), 5)) == (
        "unexpected response from Yahoo: not JSON")
    assert str(yahoo_error(YFPricesMissingError("NVDA", ""), 5)) == "no data from Yahoo (possibly delisted)"
    odd = str(yahoo_error(KeyError("chart"), 5))
    assert odd == "Yahoo request failed: KeyError: 'chart'"


class RaisingDownloader:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        raise self.exc

    def history(self, symbols: Sequence[str], start: date) -> dict[str, list[Bar]]:
        raise self.exc


def test_exceptions_from_a_downloader_never_escape_raw() -> None:
    from yfinance.exceptions import YFRateLimitError

    with pytest.raises(RateLimited, match="rate limited by Yahoo"):
        fetch(source(RaisingDownloader(YFRateLimitError())))
    with pytest.raises(SourceError, match=r"^Yahoo request failed: RuntimeError: boom$") as caught:
        fetch(source(RaisingDownloader(RuntimeError("boom"))))
    assert type(caught.value) is SourceError
    with pytest.raises(SourceError, match=r"^timed out after 5 s$"):
        asyncio.run(source(RaisingDownloader(TimeoutError())).history(date(2026, 1, 1)))


# ---- the worker thread and its time-out ---------------------------------------------------------------


class SleepyDownloader:
    """Blocks in quotes() until released, the way yfinance blocks on a slow Yahoo."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.threads: list[str] = []

    def quotes(self, symbols: Sequence[str]) -> dict[str, Quote]:
        self.threads.append(threading.current_thread().name)
        self.release.wait(10)
        return {"NVDA": Quote(price=187.67, currency="USD", ts=utc("2026-01-23T21:00:01"))}

    def history(self, symbols: Sequence[str], start: date) -> dict[str, list[Bar]]:
        return {}


def test_a_slow_downloader_times_out_without_blocking_the_loop() -> None:
    downloader = SleepyDownloader()
    src = source(downloader, symbols=["NVDA"], timeout_s=0.2)

    async def scenario() -> None:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"^timed out after 0\.2 s$"):
            await src.fetch()
        assert time.monotonic() - started > 0.15  # it waited its time-out (the downloader would block 10 s)
        assert ticks >= 2  # the event loop kept running while the thread waited
        with pytest.raises(SourceError, match="previous Yahoo request is still running"):
            await src.fetch()  # no second thread piled on the stuck one
        assert len(downloader.threads) == 1
        downloader.release.set()
        for _ in range(3000):  # until the released thread has ended (a minute at most, on a loaded machine)
            await asyncio.sleep(0.02)
            if not src._pending["quotes"].done():
                continue
            break
        result = await src.fetch()
        assert by_series(result.observations)["equity:NVDA:last"].value == 187.67
        assert downloader.threads[0] != threading.current_thread().name
        ticker.cancel()

    try:
        asyncio.run(scenario())
    finally:
        downloader.release.set()


# ---- real yfinance against the fake Yahoo -------------------------------------------------------------


@pytest.fixture(scope="module")
def fake_yahoo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeYahoo]:
    import yfinance as yf

    yf.set_tz_cache_location(str(tmp_path_factory.mktemp("yfinance-cache")))  # not the user's cache dir
    with FakeYahoo() as fake:
        yield fake


@pytest.fixture
def yahoo(fake_yahoo: FakeYahoo) -> FakeYahoo:
    fake_yahoo.reset()
    return fake_yahoo


def live_source(fake: FakeYahoo, symbols: Sequence[str] = SYMBOLS, timeout_s: float = 5) -> EquitiesSource:
    downloader = YFinanceDownloader(timeout_s=timeout_s, base_url=fake.url)
    return EquitiesSource(symbols, settings(timeout_s), downloader, clock=lambda: NOW)


def test_yfinance_quotes_come_in_one_request(yahoo: FakeYahoo) -> None:
    result = fetch(live_source(yahoo))
    assert yahoo.hits("/v7/finance/quote") == 1 and yahoo.hits("/v8/") == 0
    query = next(q for p, q in yahoo.requests if p == "/v7/finance/quote")
    assert query["symbols"].split(",") == list(SYMBOLS)
    assert result.failures == {} and result.rejected == ()
    reference = by_series(fetch(source(RecordedDownloader())).observations)
    assert by_series(result.observations) == reference  # the HTTP path and the recorded path agree


def test_yfinance_partial_and_odd_answers(yahoo: FakeYahoo) -> None:
    yahoo.omit = {"AMD"}
    yahoo.quote_overrides = {
        "NVDA": {"regularMarketPrice": None},
        "688795.SS": {"currency": "USD"},
        "GC=F": {"regularMarketTime": int(utc("2099-01-01T00:00:00").timestamp())},
        "0700.HK": {"regularMarketTime": DELETE, "marketCap": DELETE},
    }
    result = fetch(live_source(yahoo))
    assert result.failures == {"AMD": NOT_QUOTED, "NVDA": NOT_QUOTED,
                               "688795.SS": "Yahoo quotes 688795.SS in USD, but its series is in CNY"}
    assert result.rejected == ("commodity:GC=F:last: timestamp 2099-01-01T00:00:00+00:00 is in the future",)
    obs = by_series(result.observations)
    assert obs["equity:0700.HK:last"].ts == NOW
    assert obs["equity:0700.HK:market_cap"].value == pytest.approx(605.5 * 9_170_000_000)


@pytest.mark.parametrize(("endpoint", "kind", "options", "reason"), [
    ("*", "status", {"status": 500}, "HTTP 500 from Yahoo"),
    ("*", "status", {"status": 502}, "HTTP 502 from Yahoo"),
    ("*", "status", {"status": 503}, "HTTP 503 from Yahoo"),
    ("*", "html", {}, "unexpected response from Yahoo: not JSON"),
    ("*", "html", {"status": 503}, "HTTP 503 from Yahoo"),
    ("*", "truncated", {}, "unexpected response from Yahoo: not JSON"),
    ("*", "wrong_shape", {}, "unexpected response from Yahoo: missing 'quoteResponse.result'"),
])
def test_yfinance_http_faults_are_readable(yahoo: FakeYahoo, endpoint: str, kind: str, options: dict[str, Any],
                                           reason: str) -> None:
    yahoo.set_scenario(endpoint, kind, **options)
    with pytest.raises(SourceError) as caught:
        fetch(live_source(yahoo, symbols=["NVDA", "688795.SS"]))
    assert str(caught.value) == reason
    assert type(caught.value) is SourceError


@pytest.mark.parametrize(("retry_after", "expected"), [(None, None), ("30", 30.0), ("an hour on", 3600.0)])
def test_yfinance_rate_limit(yahoo: FakeYahoo, retry_after: str | None, expected: float | None) -> None:
    from email.utils import format_datetime

    if retry_after == "an hour on":  # an HTTP date (it was ignored): an hour on, less what the test took (< 300 s)
        retry_after = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    yahoo.set_scenario("*", "status", status=429, retry_after=retry_after)
    with pytest.raises(RateLimited, match=r"HTTP 429 Too Many Requests") as caught:
        fetch(live_source(yahoo))
    if expected == 3600.0:
        assert caught.value.retry_after is not None and 3000 < caught.value.retry_after <= 3600
    else:
        assert caught.value.retry_after == expected
    assert yahoo.hits("/v8/") == 0  # no fallback hammering a rate-limited Yahoo


def test_yfinance_falls_back_to_charts_when_the_quote_endpoint_refuses(yahoo: FakeYahoo) -> None:
    yahoo.set_scenario("quote", "status", status=401)
    result = fetch(live_source(yahoo, symbols=["NVDA", "688795.SS", "CNY=X"]))
    assert yahoo.hits("/v8/finance/chart/NVDA") >= 1
    obs = by_series(result.observations)
    assert (obs["equity:NVDA:last"].value, obs["equity:NVDA:last"].ts) == (187.67, utc("2026-01-23T21:00:00"))
    assert obs["equity:NVDA:prev_close"].value == 184.84
    assert (obs["fx:USDCNY:last"].value, obs["fx:USDCNY:last"].ts) == (6.958, utc("2026-01-23T22:00:00"))
    assert result.failures == {"equity:NVDA:market_cap": "no market value or share count from Yahoo",
                               "equity:688795.SS:market_cap": "no market value or share count from Yahoo"}


@pytest.mark.parametrize("kind", ["delay", "stall"])
def test_yfinance_time_out(yahoo: FakeYahoo, kind: str) -> None:
    yahoo.set_scenario("*", kind, delay_s=600)  # answered only when the fake stops: a time-out or a hang
    with pytest.raises(SourceError, match=r"^timed out after 0\.5 s$"):
        fetch(live_source(yahoo, symbols=["NVDA"], timeout_s=0.5))


def test_yfinance_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    downloader = YFinanceDownloader(timeout_s=2, base_url=f"http://127.0.0.1:{port}")
    src = EquitiesSource(["NVDA", "688795.SS"], settings(2), downloader, clock=lambda: NOW)
    with pytest.raises(Unreachable, match=rf"^connection refused \(127\.0\.0\.1:{port}\)$"):
        asyncio.run(src.history(date(2026, 1, 1)))
    with pytest.raises(Unreachable, match=rf"^connection refused \(127\.0\.0\.1:{port}\)$"):
        fetch(src)
    # while the quotes cannot reach Yahoo, the history (many requests, in threads) is not tried
    with pytest.raises(Unreachable, match=rf"^connection refused \(127\.0\.0\.1:{port}\), as the last quote poll"):
        asyncio.run(src.history(date(2026, 1, 1)))


def test_yfinance_history_through_yf_download(yahoo: FakeYahoo) -> None:
    src = live_source(yahoo, symbols=["NVDA", "688795.SS", "CNY=X", "GC=F", "NOPE"])
    observations = asyncio.run(src.history(date(2026, 1, 1)))
    charts = [(p, q) for p, q in yahoo.requests if p.startswith("/v8/finance/chart/") and "period1" in q]
    # one chart request per known symbol (NOPE fails at yfinance's time-zone lookup, before its chart)
    assert sorted(p.rsplit("/", 1)[1] for p, _ in charts) == ["688795.SS", "CNY=X", "GC=F", "NVDA"]
    assert all(q["interval"] == "1d" for _, q in charts)
    latest: dict[str, Observation] = {}
    for o in observations:
        if o.series not in latest or o.ts > latest[o.series].ts:
            latest[o.series] = o
    assert (latest["equity:NVDA:last"].value, latest["equity:NVDA:last"].ts) == (187.67, utc("2026-01-23T21:00:00"))
    assert latest["equity:688795.SS:last"].ts == utc("2026-01-23T07:00:00")
    assert latest["fx:USDCNY:last"].ts == utc("2026-01-23T22:00:00")
    assert latest["commodity:GC=F:high"].ts == utc("2026-01-23T22:00:00")
    assert latest["equity:NVDA:market_cap"].value == pytest.approx(187.67 * 24_300_000_000)
    nvda_days = {o.ts.date() for o in observations if o.series == "equity:NVDA:last"}
    assert date(2026, 1, 19) not in nvda_days and len(nvda_days) == 5
    assert src.last_history_failures == {"NOPE": "no daily history from Yahoo",  # no share history recorded for it:
                                         "equity:688795.SS:shares": "no share count history from Yahoo"}


def test_the_real_download_frame_has_the_shape_the_fakes_use(yahoo: FakeYahoo) -> None:
    downloader = YFinanceDownloader(timeout_s=5, base_url=yahoo.url)
    real, failures = downloader.download_frame(["NVDA", "688795.SS", "NOPE"], period="5d")
    built = download_like_yfinance({"NVDA": HISTORY["NVDA"], "688795.SS": HISTORY["688795.SS"], "NOPE": None})
    assert real.columns.names == built.columns.names == ["Ticker", "Price"]
    assert set(real.columns) == set(built.columns)
    assert real.index.name == built.index.name == "Date" and real.index.tz is None
    assert real[("NVDA", "Close")].isna().sum() == 1  # Monday's holiday row, from the union with Shanghai
    assert real["NOPE"].isna().all().all()
    assert failures["NOPE"].startswith("no data from Yahoo")


def test_history_market_cap_counts_every_share_class_as_the_live_one_does() -> None:
    """GOOGL-like: Yahoo's sharesOutstanding counts one class, its marketCap all of them (here twice as many).
    The daily values use the count the live value implies, so "then" and "now" agree."""
    payload = quote_payload({"NVDA": {"marketCap": 187.67 * 48_600_000_000}})  # shares: 24.3e9, one class
    downloader = RecordedDownloader(payload, frame=download_like_yfinance(HISTORY))
    src = source(downloader, symbols=["NVDA"])
    live = by_series(fetch(src).observations)["equity:NVDA:market_cap"].value
    observations = asyncio.run(src.history(date(2026, 1, 1)))
    caps = {o.ts: o.value for o in observations if o.series == "equity:NVDA:market_cap"}
    assert caps[utc("2026-01-23T21:00:00")] == pytest.approx(live)  # Friday's close is the live price
    assert caps[utc("2026-01-22T21:00:00")] == pytest.approx(184.84 * 48_600_000_000)
    fresh = source(RecordedDownloader(payload, frame=download_like_yfinance(HISTORY)), symbols=["NVDA"])
    first = asyncio.run(fresh.history(date(2026, 1, 1)))  # no live quote yet: the history asks for one
    assert {o.ts: o.value for o in first if o.series == "equity:NVDA:market_cap"} == pytest.approx(caps)


def test_one_quote_stamped_in_milliseconds_costs_nobody_anything() -> None:
    """Yahoo stamps in seconds; one symbol in ms (or µs) is read by its size, and one stamped with no time
    Python can hold is refused alone: the other symbols of the batch are kept."""
    seconds = int(utc("2026-01-23T21:00:00").timestamp())
    payload = quote_payload({"NVDA": {"regularMarketTime": seconds * 1000},
                             "AMD": {"regularMarketTime": seconds * 1_000_000},
                             "0700.HK": {"regularMarketTime": 1e30},
                             "688795.SS": {"regularMarketTime": 1_000_000_000}})  # 2001: a unit error
    result = fetch(source(RecordedDownloader(payload)))
    obs = by_series(result.observations)
    assert obs["equity:NVDA:last"].ts == utc("2026-01-23T21:00:00")
    assert obs["equity:AMD:last"].ts == utc("2026-01-23T21:00:00")
    assert "equity:0700.HK:last" not in obs and "equity:688795.SS:last" not in obs
    assert any(r.startswith("equity:0700.HK:last: timestamp 1e+30 is not a time") for r in result.rejected)
    assert any(r.startswith("equity:688795.SS:last: timestamp 2001-09-09") and "before 2009" in r
               for r in result.rejected)
    assert "index:^IXIC:last" in obs and "fx:USDCNY:last" in obs
