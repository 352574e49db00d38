"""A fake mempool.space mining API and blockchain.com charts API on 127.0.0.1, in one server.

Point HashrateSettings.base_url and fallback_url at `fake.url` (or at two instances, to fail one upstream
by stopping it). Paths served, shaped like the real APIs:

- mempool.space: GET /api/v1/mining/hashrate/{3d,1w,1m,3m,6m,1y,2y,3y,all}
  → {"hashrates": [{timestamp, avgHashrate}], "difficulty": [{time, height, difficulty, adjustment}],
     "currentHashrate", "currentDifficulty"}; other intervals answer 400 as mempool.space does.
- blockchain.com: GET /charts/hash-rate and /charts/difficulty?timespan=...&format=json
  → {"status": "ok", "name", "unit", "period": "day", "description", "values": [{x, y}]}
  (timespan 1week/7days serves the week fixture, anything else the year).

Every request is logged in `requests` (path, query) and `user_agents`. Payloads come from the recorded-style fixtures in tests/data/mempool/ (hashrate about 1.0e21–1.1e21 H/s,
difficulty about 1.5e14, days up to 2026-01-25). Faults are set per path (without the query) with
`set_scenario(path, kind, ...)`, or for every path with path "*":

- "ok"; "status" (any HTTP status, with `retry_after` sent as the Retry-After header when given);
  "html" (an HTML error page, with `status`, 200 by default); "truncated" (JSON cut in half);
  "wrong_shape" (valid JSON, a list); "missing" (an object without currentHashrate / values);
- values: "zero", "null", "nan" (the literal NaN token), "negative", "absurd" (×1e12), "future" (the latest
  point stamped two days ahead), "empty" (no daily points / no values);
- "unit" (hash-rate chart: values re-expressed in `unit`, e.g. "Hash Rate EH/s", an unknown unit leaves them
  as they are; difficulty chart: `unit` replaces the empty unit);
- timing: "delay" (answer after `delay_s`), "stall" (headers and half the body, then silence for
  `delay_s`), "drop" (close the connection without answering); "together" (wait up to `delay_s` for a
  request to the path `partner`, then answer ok if it came and 504 if it did not: requests made side by side
  pass, requests made one after the other do not, whatever the machine's speed);
- size: "endless" (a body that never ends, fast), "trickle" (one that never ends, slowly), "bomb" (gzip inflating to 1 GiB).

Value faults hit currentHashrate on mempool paths and the latest hash-rate/difficulty point on chart paths.

    with FakeMempool() as fake:
        fake.set_scenario("/api/v1/mining/hashrate/1w", "status", status=429, retry_after="30")
        ...
"""

from __future__ import annotations

import copy
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.server import HOSTILE, LocalServer, Reply

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "mempool"
KINDS = ("ok", "status", "html", "truncated", "wrong_shape", "missing", "zero", "null", "nan", "negative",
         "absurd", "future", "empty", "unit", "delay", "stall", "drop", "together",
         *HOSTILE)

HASHRATE_1W = "/api/v1/mining/hashrate/1w"
HASHRATE_1Y = "/api/v1/mining/hashrate/1y"
CHART_HASHRATE = "/charts/hash-rate"
CHART_DIFFICULTY = "/charts/difficulty"
MEMPOOL_PREFIX = "/api/v1/mining/hashrate/"
INTERVAL_DAYS = {"3d": 3, "1w": 7, "1m": 30, "3m": 91, "6m": 182, "1y": 365, "2y": None, "3y": None, "all": None}

HTML_PAGE = """<!DOCTYPE html>
<html><head><title>502 Bad Gateway</title></head>
<body><center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx</center></body></html>
"""

_UNITS = {"": 1.0, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "Z": 1e21}


@dataclass
class Scenario:
    """How one path answers. `times` limits the scenario to that many requests, then the path answers ok."""

    kind: str = "ok"
    status: int = 200
    retry_after: str | None = None
    delay_s: float = 0.0
    unit: str | None = None
    times: int | None = None
    partner: str | None = None  # "together": the path whose request must come while this one waits



def fixture(name: str) -> Any:
    """A fixture from tests/data/mempool/, parsed."""
    return json.loads((FIXTURES / name).read_text())


class FakeMempool(LocalServer):
    """The fake server. `start()` binds an ephemeral port and serves on a daemon thread; `stop()` ends it."""

    label = "fake mempool"
    protocol_version = "HTTP/1.1"
    nodelay = True

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.user_agents: list[str] = []
        # Test controls, cleared by reset(): fields of every mempool.space answer replaced (currentHashrate,
        # currentDifficulty), and daily points (timestamp, H/s) put before the fixture's in the "all" interval.
        self.current: dict[str, Any] = {}
        self.early_days: list[tuple[int, float]] = []
        self._scenarios: dict[str, Scenario] = {}
        self._fixtures = {name: fixture(name) for name in (
            "hashrate_1w.json", "hashrate_1y.json", "charts_hash-rate_1week.json", "charts_hash-rate_1year.json",
            "charts_difficulty_1week.json")}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)  # notified at every request (the "together" scenario)
        super().__init__()

    # ---- test controls -----------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to every path answering ok with the fixture values, and an empty request log."""
        with self._lock:
            self._scenarios.clear()
            self.requests.clear()
            self.user_agents.clear()
            self.current.clear()
            self.early_days.clear()

    def set_scenario(self, path: str, kind: str = "ok", **options: Any) -> None:
        """How `path` (no query; "*" for every path) answers from now on. Options: Scenario's fields."""
        if kind not in KINDS:
            raise ValueError(f"unknown scenario {kind!r}; known: {', '.join(KINDS)}")
        with self._lock:
            self._scenarios[path] = Scenario(kind=kind, **options)

    def hits(self, path: str) -> int:
        """How many requests `path` (no query) has had."""
        with self._lock:
            return sum(1 for p, _ in self.requests if p == path)

    def payload(self, path: str, timespan: str = "1week") -> Any:
        """What `path` answers when ok (for tests to compare against)."""
        return self._ok_payload(path, {"timespan": timespan})

    # ---- serving -----------------------------------------------------------------------------------

    def _scenario(self, path: str) -> Scenario:
        with self._lock:
            key = path if path in self._scenarios else "*"
            scenario = self._scenarios.get(key)
            if scenario is None:
                return Scenario()
            if scenario.times is not None:
                scenario.times -= 1
                if scenario.times <= 0:
                    del self._scenarios[key]
            return scenario

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = dict(parse_qsl(parts.query))
        with self._lock:
            self.requests.append((parts.path, query))
            self.user_agents.append(handler.headers.get("User-Agent", ""))
            self._arrived.notify_all()
        scenario = self._scenario(parts.path)
        if scenario.kind == "together":
            scenario = self._meet(scenario)
        if scenario.kind == "delay" and self._stopping.wait(scenario.delay_s):
            return
        if scenario.kind == "drop":
            handler.close_connection = True
            return
        if scenario.kind in HOSTILE:
            self._send_hostile(handler, scenario.kind)
            return
        reply = self._reply(parts.path, query, scenario)
        self._send(handler, reply, stall_s=scenario.delay_s if scenario.kind == "stall" else None)

    def _meet(self, scenario: Scenario) -> Scenario:
        """"together": ok once the partner's request has come (or had come), 504 if it does not within delay_s."""
        with self._arrived:
            came = self._arrived.wait_for(lambda: any(p == scenario.partner for p, _ in self.requests),
                                          timeout=scenario.delay_s)
        return Scenario() if came else Scenario(kind="status", status=504)

    def _reply(self, path: str, query: dict[str, str], scenario: Scenario) -> Reply:
        kind = scenario.kind
        if kind == "status":
            headers = (("Retry-After", scenario.retry_after),) if scenario.retry_after is not None else ()
            text = "Too Many Requests" if scenario.status == 429 else "Failed to get historical hashrate"
            return Reply(scenario.status, text.encode(), "text/plain; charset=utf-8", headers)
        if kind == "html":
            return Reply(scenario.status, HTML_PAGE.encode(), "text/html")
        payload = self._ok_payload(path, query)
        if payload is None:
            return Reply(404, b"Not Found", "text/plain")
        if isinstance(payload, str):
            return Reply(400, payload.encode(), "text/plain")
        if kind == "wrong_shape":
            payload = [[1769299200, 933408, 1.5e14, 0.9968]]  # the difficulty-adjustments list shape
        elif kind in ("missing", "zero", "null", "nan", "negative", "absurd", "future", "empty", "unit"):
            self._bend(path, payload, scenario)
        body = json.dumps(payload, allow_nan=True).encode()  # allow_nan: the NaN scenario sends the literal token
        if kind == "truncated":
            body = body[: len(body) // 2]
        return Reply(200, body)

    def _ok_payload(self, path: str, query: dict[str, str]) -> Any:
        """The fixture answer for a path: a dict, an error text (400), or None (404)."""
        if path.startswith(MEMPOOL_PREFIX):
            interval = path.removeprefix(MEMPOOL_PREFIX)
            if interval not in INTERVAL_DAYS:
                return "Invalid interval"
            source = "hashrate_1w.json" if interval in ("3d", "1w") else "hashrate_1y.json"
            payload = copy.deepcopy(self._fixtures[source])
            days = INTERVAL_DAYS[interval]
            if days is not None:
                cutoff = payload["hashrates"][-1]["timestamp"] - days * 86400
                payload["hashrates"] = [p for p in payload["hashrates"] if p["timestamp"] > cutoff]
                payload["difficulty"] = [d for d in payload["difficulty"] if d["time"] > cutoff]
            with self._lock:
                payload.update(self.current)
                if interval == "all":
                    payload["hashrates"][:0] = [{"timestamp": t, "avgHashrate": v} for t, v in self.early_days]
            return payload
        if path in (CHART_HASHRATE, CHART_DIFFICULTY):
            week = query.get("timespan", "1year") in ("1week", "7days")
            name = "hash-rate" if path == CHART_HASHRATE else "difficulty"
            return copy.deepcopy(self._fixtures.get(f"charts_{name}_{'1week' if week else '1year'}.json")
                                 or self._fixtures[f"charts_{name}_1week.json"])
        return None

    @staticmethod
    def _bend(path: str, payload: dict[str, Any], scenario: Scenario) -> None:
        """Apply a value fault to an ok payload, in place."""
        kind = scenario.kind
        chart = path.startswith("/charts/")
        points = payload["values"] if chart else payload["hashrates"]
        value_key, time_key = ("y", "x") if chart else ("currentHashrate", "timestamp")
        target = points[-1] if chart else payload
        if kind == "missing":
            payload.pop("values" if chart else "currentHashrate")
        elif kind == "zero":
            target[value_key] = 0
        elif kind == "null":
            target[value_key] = None
        elif kind == "nan":
            target[value_key] = float("nan")
        elif kind == "negative":
            target[value_key] = -abs(target[value_key])
        elif kind == "absurd":
            target[value_key] = target[value_key] * 1e12
        elif kind == "future":
            points[-1][time_key] = int(time.time()) + 2 * 86400
        elif kind == "empty":
            points.clear()
        elif kind == "unit" and path == CHART_DIFFICULTY and scenario.unit is not None:
            payload["unit"] = scenario.unit
        elif kind == "unit" and path == CHART_HASHRATE and scenario.unit is not None:
            old = _UNITS[payload["unit"].split()[-1].removesuffix("H/s")]
            prefix = scenario.unit.split()[-1].removesuffix("H/s") if scenario.unit.endswith("H/s") else "?"
            payload["unit"] = scenario.unit
            if prefix in _UNITS:
                for point in points:
                    point["y"] = point["y"] * old / _UNITS[prefix]
