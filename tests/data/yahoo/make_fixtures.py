"""Writes the recorded-style Yahoo payloads in this directory: quote.json and chart/<SYMBOL>.json.

The shapes are those of Yahoo's v7 /finance/quote (formatted=false) and v8 /finance/chart answers as
yfinance 1.7 reads them; the figures are stated here, as of the close of Friday 2026-01-23 (Monday
2026-01-19 was a US holiday, so US symbols have no bar that day). Run `python make_fixtures.py` to
regenerate; the output is deterministic.
"""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent
DAYS = ["2026-01-16", "2026-01-19", "2026-01-20", "2026-01-21", "2026-01-22", "2026-01-23"]

# symbol: quoteType, exchange, full name, time zone, tz short, gmt offset s, currency, session (open, close) UTC,
#         last trade time UTC, closes for DAYS (None: no session), shares outstanding, name
SYMBOLS = {
    "NVDA": ("EQUITY", "NMS", "NasdaqGS", "America/New_York", "EST", -18000, "USD", ("14:30", "21:00"),
             "2026-01-23T21:00:01", [186.23, None, 178.07, 183.32, 184.84, 187.67], 24_300_000_000,
             "NVIDIA Corporation"),
    "AMD": ("EQUITY", "NMS", "NasdaqGS", "America/New_York", "EST", -18000, "USD", ("14:30", "21:00"),
            "2026-01-23T21:00:02", [227.92, None, 231.83, 249.80, 253.73, 259.68], 1_623_000_000,
            "Advanced Micro Devices, Inc."),
    "688795.SS": ("EQUITY", "SHH", "Shanghai", "Asia/Shanghai", "CST", 28800, "CNY", ("01:30", "07:00"),
                  "2026-01-23T07:00:03", [612.00, 628.88, 619.50, 633.10, 640.50, 655.00], 470_000_000,
                  "Moore Threads Technology Co., Ltd."),
    "300751.SZ": ("EQUITY", "SHZ", "Shenzhen", "Asia/Shanghai", "CST", 28800, "CNY", ("01:30", "07:00"),
                  "2026-01-23T07:00:03", [101.20, 103.55, 104.10, 106.40, 108.90, 112.30], 279_550_000,
                  "Suzhou Maxwell Technologies Co., Ltd."),
    "NCKL.JK": ("EQUITY", "JKT", "Jakarta", "Asia/Jakarta", "WIB", 25200, "IDR", ("02:00", "09:00"),
                "2026-01-23T09:00:00", [1195.0, 1210.0, 1230.0, 1255.0, 1265.0, 1280.0], 63_099_000_000,
                "PT Trimegah Bangun Persada Tbk"),
    "0700.HK": ("EQUITY", "HKG", "HKSE", "Asia/Hong_Kong", "HKT", 28800, "HKD", ("01:30", "08:00"),
                "2026-01-23T08:08:12", [590.0, 593.5, 588.0, 596.0, 598.0, 605.5], 9_170_000_000,
                "Tencent Holdings Limited"),
    "^IXIC": ("INDEX", "NIM", "Nasdaq GIDS", "America/New_York", "EST", -18000, "USD", ("14:30", "21:00"),
              "2026-01-23T21:15:59", [23515.39, None, 22954.32, 23224.82, 23436.02, 23501.24], None,
              "NASDAQ Composite"),
    "CNY=X": ("CURRENCY", "CCY", "CCY", "Europe/London", "GMT", 0, "CNY", ("00:00", "23:59"),
              "2026-01-23T21:58:30", [6.9651, 6.9644, 6.9630, 6.9602, 6.9612, 6.9580], None, "USD/CNY"),
    "GC=F": ("FUTURE", "CMX", "COMEX", "America/New_York", "EST", -18000, "USD", ("23:00", "22:00"),
             "2026-01-23T21:59:58", [4595.40, 4668.90, 4759.60, 4831.80, 4917.30, 4983.10], None,
             "Gold Feb 26"),
}


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


def bar_time(symbol: str, day: str) -> int:
    """Yahoo stamps a daily bar at its session's open (midnight New York for futures, London for FX)."""
    if symbol.endswith("=F"):
        return epoch(f"{day}T05:00:00")
    if symbol.endswith("=X"):
        return epoch(f"{day}T00:00:00")
    return epoch(f"{day}T{SYMBOLS[symbol][7][0]}:00")


def quote_item(symbol: str) -> dict[str, object]:
    qtype, exch, full, tz, tzs, off, cur, _, last_time, closes, shares, name = SYMBOLS[symbol]
    price, prev = closes[-1], closes[-2]
    assert price is not None and prev is not None
    item: dict[str, object] = {
        "language": "en-US", "region": "US", "quoteType": qtype, "typeDisp": qtype.title(),
        "quoteSourceName": "Delayed Quote", "triggerable": qtype == "EQUITY", "customPriceAlertConfidence": "HIGH",
        "currency": cur, "marketState": "CLOSED", "exchange": exch, "shortName": name, "longName": name,
        "messageBoardId": f"finmb_{zlib.crc32(symbol.encode()) % 10**8}", "exchangeTimezoneName": tz,
        "exchangeTimezoneShortName": tzs, "gmtOffSetMilliseconds": off * 1000, "market": "us_market",
        "esgPopulated": False, "regularMarketChangePercent": round((price / prev - 1) * 100, 5),
        "regularMarketPrice": price, "regularMarketChange": round(price - prev, 4),
        "regularMarketTime": epoch(last_time), "regularMarketDayHigh": round(price * 1.012, 4),
        "regularMarketDayRange": f"{round(price * 0.988, 4)} - {round(price * 1.012, 4)}",
        "regularMarketDayLow": round(price * 0.988, 4), "regularMarketVolume": 152_349_400,
        "regularMarketPreviousClose": prev, "bid": price, "ask": price, "fullExchangeName": full,
        "regularMarketOpen": round(prev * 1.003, 4), "fiftyTwoWeekLow": round(price * 0.55, 2),
        "fiftyTwoWeekHigh": round(price * 1.15, 2), "priceHint": 4 if cur == "CNY" and qtype == "CURRENCY" else 2,
        "sourceInterval": 15, "exchangeDataDelayedBy": 0 if exch in ("NMS", "NIM", "CCY") else 15,
        "tradeable": False, "cryptoTradeable": False, "hasPrePostMarketData": exch == "NMS",
        "firstTradeDateMilliseconds": 917015400000, "symbol": symbol,
    }
    if shares is not None:
        item["financialCurrency"] = cur
        item["sharesOutstanding"] = shares
        item["marketCap"] = round(price * shares)
    return item


def chart(symbol: str) -> dict[str, object]:
    qtype, exch, full, tz, tzs, off, cur, (opens, closes_at), last_time, closes, _, name = SYMBOLS[symbol]
    days = [(d, c) for d, c in zip(DAYS, closes, strict=True) if c is not None]
    last_day = days[-1][0]
    period = {"timezone": tzs, "gmtoffset": off}
    meta = {
        "currency": cur, "symbol": symbol, "exchangeName": exch, "fullExchangeName": full, "instrumentType": qtype,
        "firstTradeDate": 917015400, "regularMarketTime": epoch(last_time), "hasPrePostMarketData": exch == "NMS",
        "gmtoffset": off, "timezone": tzs, "exchangeTimezoneName": tz, "regularMarketPrice": days[-1][1],
        "fiftyTwoWeekHigh": round(days[-1][1] * 1.15, 2), "fiftyTwoWeekLow": round(days[-1][1] * 0.55, 2),
        "regularMarketDayHigh": round(days[-1][1] * 1.012, 4), "regularMarketDayLow": round(days[-1][1] * 0.988, 4),
        "regularMarketVolume": 152_349_400, "longName": name, "shortName": name,
        "chartPreviousClose": days[0][1], "priceHint": 2,
        "currentTradingPeriod": {
            "pre": {**period, "start": epoch(f"{last_day}T{opens}:00") - 19800, "end": epoch(f"{last_day}T{opens}:00")},
            "regular": {**period, "start": epoch(f"{last_day}T{opens}:00"), "end": epoch(f"{last_day}T{closes_at}:00")},
            "post": {**period, "start": epoch(f"{last_day}T{closes_at}:00"),
                     "end": epoch(f"{last_day}T{closes_at}:00") + 14400},
        },
        "dataGranularity": "1d", "range": "",
        "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"],
    }
    close = [c for _, c in days]
    return {"chart": {"result": [{
        "meta": meta,
        "timestamp": [bar_time(symbol, d) for d, _ in days],
        "indicators": {
            "quote": [{
                "open": [round(c * 0.995, 4) for c in close],
                "high": [round(c * 1.012, 4) for c in close],
                "low": [round(c * 0.988, 4) for c in close],
                "close": close,
                "volume": [0 if qtype == "CURRENCY" else 150_000_000 + 1_000_000 * i for i in range(len(close))],
            }],
            "adjclose": [{"adjclose": close}],
        },
    }], "error": None}}


def main() -> None:
    quote = {"quoteResponse": {"result": [quote_item(s) for s in SYMBOLS], "error": None}}
    (HERE / "quote.json").write_text(json.dumps(quote, indent=1) + "\n")
    for symbol in SYMBOLS:
        (HERE / "chart" / f"{symbol}.json").write_text(json.dumps(chart(symbol), indent=1) + "\n")


if __name__ == "__main__":
    main()
