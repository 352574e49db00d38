"""A fake Yahoo Finance on 127.0.0.1: the endpoints yfinance 1.7 calls for quotes and daily bars.

Point `YFinanceDownloader(base_url=fake.url)` at it: the downloader's session sends every *.yahoo.com
request here, so yfinance's own code (cookie, crumb, chart parsing, yf.download) runs unchanged.
Paths served, shaped like the real ones:

- GET /                       (fc.yahoo.com) a page that sets the A3 cookie
- GET /v1/test/getcrumb       the crumb, as text
- GET /v7/finance/quote?symbols=A,B,...   {"quoteResponse": {"result": [...], "error": null}}, one item per
                              known symbol asked for (unknown symbols are left out, as Yahoo does)
- GET /v8/finance/chart/{SYM} {"chart": {"result": [{meta, timestamp, indicators}], "error": null}}; an
                              unknown symbol answers 404 with Yahoo's "No data found" chart error
- GET /v10/finance/quoteSummary/{SYM}  404 "Quote not found" (yfinance asks when a chart gave no time zone)
- GET /ws/fundamentals-timeseries/v1/finance/timeseries/{SYM}?symbol=SYM&period1=…&period2=…  the share-count
                              history yfinance's Ticker.get_shares_full reads: {"timeseries": {"result":
                              [{"meta", "timestamp": [...], "shares_out": [...]}], "error": null}}, the points
                              between period1 and period2 (a symbol without one: a result of its meta alone,
                              which yfinance reads as no history; any other path there: an empty result)
- anything else (the consent pages): 404 HTML

Payloads come from tests/data/yahoo/ (quote.json, chart/<SYM>.json: the close of Friday 2026-01-23;
shares/<SYM>.json: share counts by report date).
Every request is logged in `requests` as (path, query). Faults are set per endpoint, "quote", "chart",
"shares" or "*" for all, with `set_scenario(endpoint, kind, ...)`:

- "ok"; "status" (any HTTP status; `retry_after` sent as the Retry-After header; 429 answers Yahoo's
  "Edge: Too Many Requests" text); "html" (an HTML error page, with `status`, 200 by default);
  "truncated" (JSON cut in half); "wrong_shape" (valid JSON of another API: {"finance": ...});
- timing: "delay" (answer after `delay_s`), "stall" (headers and half the body, then silence for `delay_s`);
  "silent" (the request is read, and never answered until `reset()` or `stop()`; set on "*", every path is
  silent, the cookie and the crumb too: an upstream that takes connections and says nothing);
- size: "endless" (a body that never ends, fast), "trickle" (one that never ends, slowly), "bomb" (gzip inflating to 1 GiB).

Value faults are per symbol: `quote_overrides[symbol] = {field: value}` replaces fields of that symbol's
quote item (value DELETE removes the field; float("nan") is sent as the NaN token), and `omit` lists
symbols both endpoints leave out.

    with FakeYahoo() as fake:
        fake.set_scenario("quote", "status", status=429, retry_after="30")
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tests.fakes.server import HOSTILE, LocalServer, Reply

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "yahoo"
KINDS = ("ok", "status", "html", "truncated", "wrong_shape", "delay", "stall", "silent", *HOSTILE)
ENDPOINTS = ("quote", "chart", "shares", "*")
CRUMB = "fAkeCrUmB.9"
DELETE = object()

QUOTE_PATH = "/v7/finance/quote"
CHART_PREFIX = "/v8/finance/chart/"
SUMMARY_PREFIX = "/v10/finance/quoteSummary/"
TIMESERIES_PREFIX = "/ws/fundamentals-timeseries/"
SHARES_PREFIX = "/ws/fundamentals-timeseries/v1/finance/timeseries/"

HTML_PAGE = """<!DOCTYPE html>
<html lang="en-us"><head><title>Yahoo</title></head>
<body><h1>Will be right back...</h1>
<p>Thank you for your patience. Our engineers are working quickly to resolve the issue.</p></body></html>
"""
NOT_FOUND_CHART = {"chart": {"result": None, "error": {"code": "Not Found",
                                                       "description": "No data found, symbol may be delisted"}}}
WRONG_SHAPE = {"finance": {"result": None, "error": {"code": "Bad Request", "description": "Missing fields"}}}


@dataclass
class Scenario:
    """How one endpoint answers."""

    kind: str = "ok"
    status: int = 200
    retry_after: str | None = None
    delay_s: float = 0.0



def load_quote_fixture() -> dict[str, Any]:
    """tests/data/yahoo/quote.json, parsed."""
    data: dict[str, Any] = json.loads((FIXTURES / "quote.json").read_text())
    return data


def load_chart_fixture(symbol: str) -> dict[str, Any] | None:
    path = FIXTURES / "chart" / f"{symbol}.json"
    return json.loads(path.read_text()) if path.exists() else None


class FakeYahoo(LocalServer):
    """The fake server. `start()` binds an ephemeral port and serves on a daemon thread; `stop()` ends it."""

    label = "fake Yahoo"
    protocol_version = "HTTP/1.1"
    json_type = "application/json;charset=utf-8"

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.quote_overrides: dict[str, dict[str, Any]] = {}
        self.omit: set[str] = set()
        self._quote = load_quote_fixture()
        self._scenarios: dict[str, Scenario] = {}
        self._lock = threading.Lock()
        self._release = threading.Event()  # set by reset(): silent handlers give up waiting
        super().__init__()

    def _handle_post(self, request: BaseHTTPRequestHandler) -> None:  # the consent form: nothing to accept
        self._send(request, Reply(404, HTML_PAGE.encode(), "text/html"))

    # ---- test controls -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Every endpoint ok with the fixture values, no overrides, an empty request log."""
        with self._lock:
            self._release.set()
            self._release = threading.Event()
            self._scenarios.clear()
            self.requests.clear()
            self.quote_overrides.clear()
            self.omit.clear()

    def set_scenario(self, endpoint: str, kind: str = "ok", **options: Any) -> None:
        """How `endpoint` ("quote", "chart" or "*") answers from now on. Options: Scenario's fields."""
        if kind not in KINDS:
            raise ValueError(f"unknown scenario {kind!r}; known: {', '.join(KINDS)}")
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; known: {', '.join(ENDPOINTS)}")
        with self._lock:
            self._scenarios[endpoint] = Scenario(kind=kind, **options)

    def hits(self, prefix: str) -> int:
        """How many requests went to paths starting with `prefix`."""
        with self._lock:
            return sum(1 for path, _ in self.requests if path.startswith(prefix))

    def quote_item(self, symbol: str) -> dict[str, Any]:
        """The fixture's quote item for `symbol` (for tests to compare against)."""
        return next(dict(i) for i in self._quote["quoteResponse"]["result"] if i["symbol"] == symbol)

    # ---- serving -----------------------------------------------------------------------------------

    def _scenario(self, endpoint: str) -> Scenario:
        with self._lock:
            return self._scenarios.get(endpoint) or self._scenarios.get("*") or Scenario()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        path = unquote(parts.path)
        query = dict(parse_qsl(parts.query))
        with self._lock:
            self.requests.append((path, query))
        if self._scenario("*").kind == "silent":
            self._be_silent(handler)
            return
        if path == "/":
            self._send(handler, Reply(200, b"<html><body>ok</body></html>", "text/html",
                                      (("Set-Cookie", "A3=d=AQABBFAKE&S=AQAAAFAKE; Path=/; HttpOnly"),)))
            return
        if path == "/v1/test/getcrumb":
            self._send(handler, Reply(200, CRUMB.encode(), "text/plain;charset=utf-8"))
            return
        payload: dict[str, Any] | None
        if path == QUOTE_PATH:
            endpoint, payload = "quote", self._quote_payload(query.get("symbols", ""))
        elif path.startswith(CHART_PREFIX):
            endpoint, payload = "chart", self._chart_payload(path.removeprefix(CHART_PREFIX))
        elif path.startswith(SUMMARY_PREFIX):  # yfinance reads .info when a chart gives no time zone
            symbol = path.removeprefix(SUMMARY_PREFIX)
            error = {"code": "Not Found", "description": f"Quote not found for symbol: {symbol}"}
            self._send(handler, Reply(404, json.dumps({"quoteSummary": {"result": None, "error": error}}).encode()))
            return
        elif path.startswith(SHARES_PREFIX):
            endpoint, payload = "shares", self._shares_payload(path.removeprefix(SHARES_PREFIX), query)
        elif path.startswith(TIMESERIES_PREFIX):
            self._send(handler, Reply(200, json.dumps({"timeseries": {"result": [], "error": None}}).encode()))
            return
        else:
            self._send(handler, Reply(404, HTML_PAGE.encode(), "text/html"))
            return
        scenario = self._scenario(endpoint)
        if scenario.kind in HOSTILE:
            self._send_hostile(handler, scenario.kind)
            return
        if scenario.kind == "delay" and self._stopping.wait(scenario.delay_s):
            return
        if scenario.kind == "silent":
            self._be_silent(handler)
            return
        reply = self._reply(payload, scenario)
        self._send(handler, reply, stall_s=scenario.delay_s if scenario.kind == "stall" else None)

    def _be_silent(self, handler: BaseHTTPRequestHandler) -> None:
        """Say nothing until reset() or stop(); then close the connection unanswered."""
        handler.close_connection = True
        with self._lock:
            release = self._release
        while not (release.wait(0.05) or self._stopping.is_set()):
            pass

    def _quote_payload(self, symbols: str) -> dict[str, Any]:
        wanted = [s for s in symbols.split(",") if s]
        by_symbol = {item["symbol"]: item for item in self._quote["quoteResponse"]["result"]}
        result = []
        with self._lock:
            for symbol in wanted:
                if symbol not in by_symbol or symbol in self.omit:
                    continue
                item = copy.deepcopy(by_symbol[symbol])
                for key, value in self.quote_overrides.get(symbol, {}).items():
                    if value is DELETE:
                        item.pop(key, None)
                    else:
                        item[key] = value
                result.append(item)
        return {"quoteResponse": {"result": result, "error": None}}

    @staticmethod
    def _shares_payload(symbol: str, query: dict[str, str]) -> dict[str, Any]:
        """The recorded share counts of `symbol` between period1 and period2, as Yahoo answers."""
        path = FIXTURES / "shares" / f"{symbol}.json"
        meta = {"symbol": [symbol], "type": ["shares_out"]}
        if not path.exists():
            return {"timeseries": {"result": [{"meta": meta}], "error": None}}
        payload: dict[str, Any] = json.loads(path.read_text())
        result = payload["timeseries"]["result"][0]
        low, high = int(query.get("period1", 0)), int(query.get("period2", 2**40))
        kept = [(t, v) for t, v in zip(result["timestamp"], result["shares_out"], strict=True) if low <= t <= high]
        if not kept:
            return {"timeseries": {"result": [{"meta": meta}], "error": None}}
        result["timestamp"], result["shares_out"] = [t for t, _ in kept], [v for _, v in kept]
        return payload

    def _chart_payload(self, symbol: str) -> dict[str, Any] | None:
        with self._lock:
            if symbol in self.omit:
                return None
        return load_chart_fixture(symbol)

    @staticmethod
    def _reply(payload: dict[str, Any] | None, scenario: Scenario) -> Reply:
        kind = scenario.kind
        if kind == "status":
            headers = (("Retry-After", scenario.retry_after),) if scenario.retry_after is not None else ()
            if scenario.status == 429:
                return Reply(429, b"Edge: Too Many Requests", "text/plain;charset=utf-8", headers)
            error = {"finance": {"result": None, "error": {"code": "Internal Server Error",
                                                           "description": f"HTTP {scenario.status}"}}}
            return Reply(scenario.status, json.dumps(error).encode(), headers=headers)
        if kind == "html":
            return Reply(scenario.status, HTML_PAGE.encode(), "text/html;charset=utf-8")
        if payload is None:
            return Reply(404, json.dumps(NOT_FOUND_CHART).encode())
        if kind == "wrong_shape":
            payload = WRONG_SHAPE
        body = json.dumps(payload, allow_nan=True).encode()
        if kind == "truncated":
            body = body[: len(body) // 2]
        return Reply(200, body)
