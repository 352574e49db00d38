"""A fake crypto exchange REST API on 127.0.0.1, answering the real request paths ccxt uses.

One server speaks four exchanges at once, told apart by path, so a test points ccxt at it by overriding
the exchange's `urls["api"]` with `fake.url`:

- binance: GET /api/v3/exchangeInfo, /api/v3/ticker/24hr, /api/v3/klines (and empty /fapi/v1, /dapi/v1
  exchangeInfo for a client that loads derivatives too)
- kraken:  GET /0/public/Assets, /0/public/AssetPairs, /0/public/Ticker, /0/public/OHLC
- okx:     GET /api/v5/public/instruments, /api/v5/market/tickers, /api/v5/market/ticker,
  /api/v5/market/candles, /api/v5/market/history-candles
- coinbase: GET /v2/currencies, /v2/currencies/crypto, /v2/exchange-rates, /api/v3/brokerage/market/products
  (markets, and tickers with product_ids), /api/v3/brokerage/market/products/{product_id}/ticker and
  .../{product_id}/candles

Markets and tickers come from the recorded-style fixtures in tests/data/exchange/; ticker times are moved to
"now" when served. Daily candles are generated (a deterministic price path per market, from
`history_days` ago up to today's unfinished bar) so that history paging always meets the present.

Faults are set per path (or for every path with path "*") with `set_scenario(path, kind, ...)`: "ok", "status" (any HTTP status, with or
without Retry-After), "html" (an error page), "truncated" (JSON cut in half), "wrong_shape" (valid JSON of
the wrong shape), "body" (any status and body, e.g. an exchange's own error payload), "delay" (answer after
`delay_s`), "stall" (headers and half the body, then silence for `delay_s`), "drop" (close the
connection without answering), "endless" (a body that never ends, fast), "trickle" (one that never ends, slowly) and "bomb" (gzip inflating to 1 GiB). Values are bent with `edit_ticker(market_id, last=..., ts=..., drop=...)`
and `edit_candle(market_id, day, close=...)`. Every request is logged in `requests`; unknown paths answer
404 and are logged in `not_found` (that is how the paths above were found).

    with FakeExchange() as fake:
        fake.set_scenario("/api/v3/ticker/24hr", "status", status=429, retry_after="7")
        ...
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.server import HOSTILE, LocalServer, Reply

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "exchange"
DAY_MS = 86_400_000
# The generated candles' price level per base asset (the first one named in the market id).
BASE_PRICES = {"BTC": 70000.0, "ETH": 2400.0, "DOGE": 0.12, "XDG": 0.12, "WLD": 0.5, "USDT": 1.0}
KINDS = ("ok", "status", "html", "truncated", "wrong_shape", "body", "delay", "stall", "drop", *HOSTILE)

HTML_PAGE = """<!DOCTYPE html>
<html><head><title>503 Service Temporarily Unavailable</title></head>
<body><center><h1>503 Service Temporarily Unavailable</h1></center>
<hr><center>cloudflare</center></body></html>
"""

_STATUS_TEXT = {
    400: "Bad Request", 403: "Forbidden", 404: "Not Found", 418: "I'm a teapot", 429: "Too Many Requests",
    500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}


@dataclass
class Scenario:
    """How one path answers. `times` limits the scenario to that many requests, then the path answers ok."""

    kind: str = "ok"
    status: int = 200
    retry_after: str | None = None
    delay_s: float = 0.0
    body: str | None = None
    times: int | None = None



def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


class FakeExchange(LocalServer):
    """The fake server. `start()` binds an ephemeral port and serves on a daemon thread; `stop()` ends it."""

    label = "fake exchange"
    protocol_version = "HTTP/1.0"
    reasons = _STATUS_TEXT

    def __init__(self, history_days: int = 1000) -> None:
        self.history_days = history_days
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.not_found: list[str] = []
        self._scenarios: dict[str, Scenario] = {}
        self._ticker_edits: dict[str, dict[str, Any]] = {}
        self._candle_edits: dict[tuple[str, date], str] = {}
        self._lock = threading.Lock()
        super().__init__()
        self._routes: dict[str, Callable[[dict[str, str]], Reply]] = {
            "/api/v3/exchangeInfo": lambda q: self._json(_fixture("binance_exchangeInfo.json")),
            "/api/v3/ticker/24hr": self._binance_tickers,
            "/api/v3/klines": self._binance_klines,
            "/fapi/v1/exchangeInfo": lambda q: self._json(self._binance_empty_info()),
            "/dapi/v1/exchangeInfo": lambda q: self._json(self._binance_empty_info()),
            "/0/public/Assets": lambda q: self._json(_fixture("kraken_Assets.json")),
            "/0/public/AssetPairs": lambda q: self._json(_fixture("kraken_AssetPairs.json")),
            "/0/public/Ticker": self._kraken_tickers,
            "/0/public/OHLC": self._kraken_ohlc,
            "/api/v5/public/instruments": self._okx_instruments,
            "/api/v5/market/tickers": self._okx_tickers,
            "/api/v5/market/ticker": self._okx_tickers,
            "/api/v5/market/candles": self._okx_candles,
            "/api/v5/market/history-candles": self._okx_candles,
            "/v2/currencies": lambda q: self._json(_fixture("coinbase_currencies.json")),
            "/v2/currencies/crypto": lambda q: self._json(_fixture("coinbase_currencies_crypto.json")),
            "/v2/exchange-rates": lambda q: self._json(_fixture("coinbase_exchange_rates.json")),
            "/api/v3/brokerage/market/products": self._coinbase_products,
            "/api/v3/brokerage/market/products/{product_id}/candles": self._coinbase_candles,
            "/api/v3/brokerage/market/products/{product_id}/ticker": self._coinbase_ticker,
        }

    # ---- test controls -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to every path answering ok with the fixture values, and an empty request log."""
        with self._lock:
            self._scenarios.clear()
            self._ticker_edits.clear()
            self._candle_edits.clear()
            self.requests.clear()
            self.not_found.clear()

    def set_scenario(self, path: str, kind: str = "ok", **options: Any) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown scenario {kind!r} (known: {', '.join(KINDS)})")
        if path != "*" and path not in self._routes:
            raise ValueError(f"the fake exchange does not serve {path}")
        with self._lock:
            self._scenarios[path] = Scenario(kind, **options)

    def edit_ticker(self, market_id: str, **edits: Any) -> None:
        """Bend one market's ticker: last="NaN" (the price as sent), ts=ms or None (no time), drop=True,
        remove=("symbol", ...) (binance: fields left out of the ticker)."""
        with self._lock:
            self._ticker_edits.setdefault(market_id, {}).update(edits)

    def edit_candle(self, market_id: str, day: date, close: str) -> None:
        with self._lock:
            self._candle_edits[(market_id, day)] = close

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for p, _ in self.requests if p == path)

    def queries(self, path: str) -> list[dict[str, str]]:
        with self._lock:
            return [q for p, q in self.requests if p == path]

    # ---- generated daily candles -------------------------------------------------------------------

    def daily_close(self, market_id: str, day: date) -> float:
        """The close the fake serves for a market on a UTC day (edits aside)."""
        base = next((p for asset, p in BASE_PRICES.items() if asset in market_id.replace("XBT", "BTC")), 1.0)
        n = day.toordinal()
        return round(base * (1 + 0.08 * math.sin(n / 9) + 0.03 * math.cos(n / 3.7)), 6)

    def _bars(self, market_id: str, start_ms: int, end_ms: int) -> list[tuple[int, str, str, str, str]]:
        """(open ms, open, high, low, close) for each day whose bar opens in [start_ms, end_ms]."""
        today = datetime.now(UTC).date()
        first = today - timedelta(days=self.history_days - 1)
        day = max(first, datetime.fromtimestamp(max(start_ms, 0) / 1000, UTC).date())
        if _day_ms(day) < start_ms:
            day += timedelta(days=1)
        bars = []
        while day <= today and _day_ms(day) <= end_ms:
            close = self.daily_close(market_id, day)
            open_ = self.daily_close(market_id, day - timedelta(days=1))
            high, low = max(open_, close) * 1.01, min(open_, close) * 0.99
            with self._lock:
                close_text = self._candle_edits.get((market_id, day), repr(close))
            bars.append((_day_ms(day), repr(open_), f"{high:.6f}", f"{low:.6f}", close_text))
            day += timedelta(days=1)
        return bars

    # ---- request handling --------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        path, query = _route_path(parts.path), dict[str, str]()
        for key, value in parse_qsl(parts.query):  # a repeated key (coinbase's product_ids) joins with ","
            query[key] = f"{query[key]},{value}" if key in query else value
        if path != parts.path:
            query["product_id"] = parts.path.split("/")[-2]
        with self._lock:
            self.requests.append((path, query))
            key = path if path in self._scenarios else "*"
            scenario = self._scenarios.get(key)
            if scenario and scenario.times is not None:
                scenario.times -= 1
                if scenario.times < 0:
                    del self._scenarios[key]
                    scenario = None
        route = self._routes.get(path)
        if route is None:
            with self._lock:
                self.not_found.append(handler.path)
            self._send(handler, Reply(404, b'{"error": "not found"}'))
            return
        scenario = scenario or Scenario()
        if scenario.kind == "drop":
            handler.close_connection = True
            return
        if scenario.kind in HOSTILE:
            self._send_hostile(handler, scenario.kind)
            return
        if scenario.kind == "delay" and self._stopping.wait(scenario.delay_s):
            return
        if scenario.kind == "status":
            text = _STATUS_TEXT.get(scenario.status, "Error")
            reply = Reply(scenario.status, json.dumps({"code": -1, "msg": text}).encode())
        elif scenario.kind == "html":
            reply = Reply(scenario.status, HTML_PAGE.encode(), "text/html")
        elif scenario.kind == "body":
            reply = Reply(scenario.status, (scenario.body or "").encode())
        elif scenario.kind == "wrong_shape":
            reply = self._json({"unexpected": True, "items": [1, 2, 3]})
        else:
            reply = route(query)
        if scenario.kind == "truncated":
            reply = Reply(reply.status, reply.body[: len(reply.body) // 2], reply.content_type)
        if scenario.retry_after is not None:
            reply = Reply(reply.status, reply.body, reply.content_type, (("Retry-After", scenario.retry_after),))
        if scenario.kind == "stall":
            self._send(handler, reply, stall_s=scenario.delay_s)
        else:
            self._send(handler, reply)

    @staticmethod
    def _json(payload: Any, status: int = 200) -> Reply:
        return Reply(status, json.dumps(payload, separators=(",", ":")).encode())

    def _edited(self, market_id: str) -> dict[str, Any]:
        with self._lock:
            return dict(self._ticker_edits.get(market_id, {}))

    # ---- binance -----------------------------------------------------------------------------------

    @staticmethod
    def _binance_empty_info() -> dict[str, Any]:
        return {"timezone": "UTC", "serverTime": _now_ms(), "rateLimits": [], "exchangeFilters": [], "assets": [],
                "symbols": []}

    def _binance_tickers(self, query: dict[str, str]) -> Reply:
        known = {t["symbol"]: t for t in _fixture("binance_ticker_24hr.json")}
        if "symbols" in query:
            wanted = json.loads(query["symbols"])
        elif "symbol" in query:
            wanted = [query["symbol"]]
        else:
            wanted = list(known)
        if any(s not in known for s in wanted):
            return self._json({"code": -1121, "msg": "Invalid symbol."}, 400)
        now = _now_ms()
        tickers = []
        for market_id in wanted:
            edits = self._edited(market_id)
            if edits.get("drop"):
                continue
            ticker = dict(known[market_id], openTime=now - DAY_MS, closeTime=now)
            if "last" in edits:
                ticker["lastPrice"] = edits["last"]
            for name in edits.get("remove", ()):
                ticker.pop(name, None)
            if "ts" in edits:
                if edits["ts"] is None:
                    del ticker["closeTime"], ticker["openTime"]
                else:
                    ticker["closeTime"] = edits["ts"]
            tickers.append(ticker)
        return self._json(tickers[0] if "symbol" in query and tickers else tickers)

    def _binance_klines(self, query: dict[str, str]) -> Reply:
        market_id = query.get("symbol", "")
        if market_id not in {t["symbol"] for t in _fixture("binance_ticker_24hr.json")}:
            return self._json({"code": -1121, "msg": "Invalid symbol."}, 400)
        limit = min(int(query.get("limit", 500)), 1000)
        now = _now_ms()
        start = int(query.get("startTime", now - limit * DAY_MS))
        end = int(query.get("endTime", now))
        bars = self._bars(market_id, start, end)[:limit]
        rows = [[t, o, h, low, c, "1234.5", t + DAY_MS - 1, "87654321.0", 123456, "600.1", "42424242.0", "0"]
                for t, o, h, low, c in bars]
        return self._json(rows)

    # ---- kraken ------------------------------------------------------------------------------------

    def _kraken_pairs(self, query: dict[str, str]) -> tuple[list[str], str | None]:
        pairs = _fixture("kraken_AssetPairs.json")["result"]
        by_altname = {p["altname"]: pair_id for pair_id, p in pairs.items()}
        ids = []
        for name in filter(None, query.get("pair", "").split(",")):
            pair_id = name if name in pairs else by_altname.get(name)
            if pair_id is None:
                return [], "EQuery:Unknown asset pair"
            ids.append(pair_id)
        return ids or list(pairs), None

    def _kraken_tickers(self, query: dict[str, str]) -> Reply:
        ids, error = self._kraken_pairs(query)
        if error:
            return self._json({"error": [error]})
        known = _fixture("kraken_Ticker.json")["result"]
        result = {}
        for pair_id in ids:
            edits = self._edited(pair_id)
            if edits.get("drop"):
                continue
            ticker = dict(known[pair_id])
            if "last" in edits:
                ticker["c"] = [edits["last"], ticker["c"][1]]
            result[pair_id] = ticker
        return self._json({"error": [], "result": result})

    def _kraken_ohlc(self, query: dict[str, str]) -> Reply:
        ids, error = self._kraken_pairs({"pair": query.get("pair", "?")})
        if error:
            return self._json({"error": [error]})
        if query.get("interval") != "1440":
            return self._json({"error": ["EGeneral:Invalid arguments"]})
        pair_id = ids[0]
        since_s = int(query.get("since", 0))
        bars = [b for b in self._bars(pair_id, 0, _now_ms()) if b[0] // 1000 > since_s][-720:]
        rows = [[t // 1000, o, h, low, c, c, "123.45678901", 4321] for t, o, h, low, c in bars]
        last = rows[-1][0] if rows else since_s
        return self._json({"error": [], "result": {pair_id: rows, "last": last}})

    # ---- okx ---------------------------------------------------------------------------------------

    def _okx_instruments(self, query: dict[str, str]) -> Reply:
        if query.get("instType") != "SPOT":
            return self._json({"code": "0", "data": [], "msg": ""})
        return self._json(_fixture("okx_instruments_spot.json"))

    def _okx_tickers(self, query: dict[str, str]) -> Reply:
        payload = _fixture("okx_tickers_spot.json")
        wanted = query.get("instId")
        if query.get("instType", "SPOT") != "SPOT":
            return self._json({"code": "0", "data": [], "msg": ""})
        now = _now_ms()
        data = []
        for ticker in payload["data"]:
            if wanted and ticker["instId"] != wanted:
                continue
            edits = self._edited(ticker["instId"])
            if edits.get("drop"):
                continue
            ticker = dict(ticker, ts=str(now))
            if "last" in edits:
                ticker["last"] = edits["last"]
            if "ts" in edits:
                ticker["ts"] = "" if edits["ts"] is None else str(edits["ts"])
            data.append(ticker)
        if wanted and not data:
            return self._json({"code": "51001", "data": [], "msg": "Instrument ID does not exist"})
        return self._json(dict(payload, data=data))

    def _okx_candles(self, query: dict[str, str]) -> Reply:
        market_id = query.get("instId", "")
        if market_id not in {t["instId"] for t in _fixture("okx_tickers_spot.json")["data"]}:
            return self._json({"code": "51001", "data": [], "msg": "Instrument ID does not exist"})
        if query.get("bar") not in ("1D", "1Dutc"):
            return self._json({"code": "51000", "data": [], "msg": "Parameter bar error"})
        limit = min(int(query.get("limit", 100)), 300)
        now = _now_ms()
        after = int(query.get("after", now + DAY_MS))  # okx: rows older than `after`, newer than `before`
        before = int(query.get("before", 0))
        bars = [b for b in self._bars(market_id, before + 1, after - 1) if before < b[0] < after]
        today_ms = _day_ms(datetime.now(UTC).date())
        rows = [[str(t), o, h, low, c, "1234.5", "87654321.0", "87654321.0", "0" if t == today_ms else "1"]
                for t, o, h, low, c in reversed(bars)][:limit]
        return self._json({"code": "0", "msg": "", "data": rows})

    # ---- coinbase (advanced trade v3, public endpoints) ---------------------------------------------

    def _coinbase_products(self, query: dict[str, str]) -> Reply:
        payload = _fixture("coinbase_products_spot.json")
        if query.get("product_type", "SPOT") != "SPOT":
            return self._json({"products": [], "num_products": 0})
        wanted = set(filter(None, query.get("product_ids", "").split(",")))
        products = []
        for product in payload["products"]:
            if wanted and product["product_id"] not in wanted:
                continue
            edits = self._edited(product["product_id"])
            if edits.get("drop"):
                continue
            if "last" in edits:
                product = dict(product, price=edits["last"])
            products.append(product)
        return self._json({"products": products, "num_products": len(products)})

    def _coinbase_ticker(self, query: dict[str, str]) -> Reply:
        """The latest trade of one product, as fetch_ticker asks for it (limit=1)."""
        products = {p["product_id"]: p for p in _fixture("coinbase_products_spot.json")["products"]}
        market_id = query.get("product_id", "")
        if market_id not in products:
            return self._json({"error": "NOT_FOUND", "message": "ProductID is invalid", "error_details": ""}, 404)
        edits = self._edited(market_id)
        price = edits.get("last", products[market_id]["price"])
        now = datetime.now(UTC) if "ts" not in edits or edits["ts"] is None else \
            datetime.fromtimestamp(edits["ts"] / 1000, UTC)
        trades = [] if edits.get("drop") else [{
            "trade_id": "912345678", "product_id": market_id, "price": price, "size": "0.00159172",
            "time": now.isoformat().replace("+00:00", "Z"), "side": "BUY", "bid": "", "ask": "", "exchange": ""}]
        return self._json({"trades": trades, "best_bid": products[market_id]["price"],
                           "best_ask": products[market_id]["price"]})

    def _coinbase_candles(self, query: dict[str, str]) -> Reply:
        market_id = query.get("product_id", "")
        if market_id not in {p["product_id"] for p in _fixture("coinbase_products_spot.json")["products"]}:
            return self._json({"error": "NOT_FOUND", "message": "ProductID is invalid", "error_details": ""}, 404)
        if query.get("granularity") != "ONE_DAY":
            return self._json({"error": "INVALID_ARGUMENT", "message": "granularity is invalid"}, 400)
        now_s = _now_ms() // 1000
        start, end = int(query.get("start", now_s - 300 * 86400)), int(query.get("end", now_s))
        if (end - start) // 86400 > 350:
            return self._json({"error": "INVALID_ARGUMENT",
                               "message": "number of candles requested should be less than 350"}, 400)
        bars = self._bars(market_id, start * 1000, end * 1000)
        candles = [{"start": str(t // 1000), "low": low, "high": h, "open": o, "close": c, "volume": "1234.5"}
                   for t, o, h, low, c in reversed(bars)]
        return self._json({"candles": candles})


def _route_path(path: str) -> str:
    """Paths with a parameter, as the route table names them."""
    prefix = "/api/v3/brokerage/market/products/"
    for tail in ("/candles", "/ticker"):
        if path.startswith(prefix) and path.endswith(tail) and path.count("/") == prefix.count("/") + 1:
            return prefix + "{product_id}" + tail
    return path


def _day_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
