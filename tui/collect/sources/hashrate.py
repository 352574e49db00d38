"""Bitcoin network hashrate and difficulty: mempool.space's mining API first, blockchain.com's charts API second.

mempool.space answers `{base}/api/v1/mining/hashrate/1w` with the live hashrate estimate (`currentHashrate`,
H/s, Bitcoin Core's getnetworkhashps over the last 1008 blocks), the current difficulty, and the daily
averages of the week. mempool.space zeroes both current values when its node is unavailable, so a 0 (or a
null) is "missing", never a value. When mempool.space fails as a whole, or leaves a series out, the series is
asked of blockchain.com's charts (`hash-rate`, whose unit is read from the payload, and `difficulty`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from tui import __version__
from tui.collect.sources.base import Disputed, FetchResult, RateLimited, SourceError, check_value, epoch_to_utc
from tui.collect.sources.limits import MAX_BODY_BYTES, BodyBudget, read_capped
from tui.collect.sources.retry import parse_retry_after
from tui.core.config import HashrateSettings
from tui.core.model import Observation, SeriesId
from tui.core.validate import DIFFICULTY as DIFFICULTY  # re-exported beside the source
from tui.core.validate import HASHRATE as HASHRATE
from tui.core.validate import PLAUSIBLE as PLAUSIBLE
from tui.core.validate import check_plausible

if TYPE_CHECKING:
    import httpx

SERIES = (HASHRATE, DIFFICULTY)

MEMPOOL = "mempool.space"
BLOCKCHAIN = "blockchain.com"

# The plausible ranges of the network series (a value outside is a unit or scale error) live with the rest of
# the validation in tui.core.validate, which a file read applies too.
# Physics: one block every 600 s at difficulty D takes D × 2^32 hashes, so hashrate ≈ D × 2^32 / 600. The live
# estimate wanders with luck by tens of percent; past this factor either value is a unit or scale error.
HASHES_PER_DIFFICULTY = 2**32 / 600
PHYSICS_FACTOR = 4.0
# blockchain.com's difficulty chart says "Difficulty" where a unit would be; the fixtures' older form is empty.
_DIFFICULTY_UNITS = ("", "difficulty", "network difficulty")

# blockchain.com states the hash-rate chart's unit as text, e.g. "Hash Rate TH/s".
_HASH_UNIT = re.compile(r"(?<![A-Za-z])([KMGTPEZ]?)H/s\b")
_PREFIX = {"": 1.0, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "Z": 1e21}

# mempool.space's intervals for `history(since=...)`, with the days each covers, shortest first.
_MEMPOOL_INTERVALS = (("1m", 31), ("3m", 92), ("6m", 183), ("1y", 366), ("2y", 731), ("3y", 1096))


@dataclass(slots=True)
class _Provider:
    """One upstream's answer for the series it was asked for: values, or a reason for each series left out."""

    label: str
    observations: list[Observation] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)  # series -> reason, without the provider's name
    rejected: list[str] = field(default_factory=list)
    history: list[tuple[datetime, float]] = field(default_factory=list)  # valid daily hashrates, H/s
    rate_limited: bool = False
    retry_after: float | None = None

    def fail(self, series: Iterable[str], exc: SourceError) -> _Provider:
        """Note that a request for these series failed; a 429 is kept so a total failure can pass it on."""
        for name in series:
            self.missing[name] = str(exc)
        if isinstance(exc, RateLimited):
            self.rate_limited = True
            if exc.retry_after is not None:
                self.retry_after = max(self.retry_after or 0.0, exc.retry_after)
        return self


class HashrateSource:
    """Bitcoin hashrate and difficulty from mempool.space, falling back to blockchain.com."""

    name = "mempool"
    kind = "hashrate"

    def __init__(self, settings: HashrateSettings, client: httpx.AsyncClient | None = None,
                 max_body: int = MAX_BODY_BYTES) -> None:
        self.settings = settings
        self.max_body = max_body
        self._owns_client = client is None
        self._client = client  # made on first use, off the event loop (httpx and its TLS setup take ~0.4 s)
        self._base = settings.base_url.rstrip("/")
        self._fallback = settings.fallback_url.rstrip("/")
        self._mempool_resume = 0.0  # time.monotonic() before which mempool.space asked not to be called
        self._accepted: dict[str, float] = {}  # the last live values that passed the physics check

    def _make_client(self) -> httpx.AsyncClient:
        import httpx

        return httpx.AsyncClient(
            timeout=self.settings.timeout_s,
            verify=True,
            follow_redirects=True,
            headers={"User-Agent": f"tapecheck/{__version__}", "Accept": "application/json",
                     "Accept-Encoding": "gzip, deflate"},  # what read_capped can inflate
        )

    async def close(self) -> None:
        """Close the HTTP client this source created (a client passed in belongs to the caller)."""
        if self._owns_client and self._client is not None:
            await self._client.aclose()

    async def fetch(self) -> FetchResult:
        """The live hashrate and difficulty. Raises SourceError naming each upstream's failure if neither came."""
        received = datetime.now(UTC)
        primary = await self._mempool_current(received)
        providers = [primary]
        wanted = [s for s in SERIES if s in primary.missing]
        if wanted:
            providers.append(await self._blockchain_current(wanted, received))
        return self._physics(_merge(providers, SERIES))

    def _physics(self, result: FetchResult) -> FetchResult:
        """Hashrate and difficulty held against each other (hashrate ≈ difficulty × 2^32 / 600): a pair more
        than PHYSICS_FACTOR apart is disputed, both values, since either may be the wrong one. A value that
        came alone is held against the other's last accepted value."""
        values = {obs.series: obs for obs in result.observations}
        hashrate = values.get(HASHRATE)
        difficulty = values.get(DIFFICULTY)
        rate = hashrate.value if hashrate else self._accepted.get(HASHRATE)
        diff = difficulty.value if difficulty else self._accepted.get(DIFFICULTY)
        if rate is None or diff is None:
            self._accepted.update({obs.series: obs.value for obs in result.observations})
            return result
        ratio = rate / (diff * HASHES_PER_DIFFICULTY)
        if 1 / PHYSICS_FACTOR <= ratio <= PHYSICS_FACTOR:
            self._accepted.update({obs.series: obs.value for obs in result.observations})
            return result
        reason = (f"hashrate {rate:.4g} H/s and difficulty {diff:.4g} disagree: the difficulty implies "
                  f"{diff * HASHES_PER_DIFFICULTY:.4g} H/s ({ratio:.3g}x)")
        suspects = [obs for obs in (hashrate, difficulty) if obs is not None]
        kept = tuple(obs for obs in result.observations if obs not in suspects)
        return replace(result, observations=kept,
                       disputed=(*result.disputed, *(Disputed(obs, f"{obs.series}: {reason}") for obs in suspects)))

    async def history(self, since: date | None = None) -> FetchResult:
        """Daily hashrate observations, each stamped at its day, back to `since` (default: a year).

        mempool.space's daily averages first, blockchain.com's hash-rate chart when mempool.space fails.
        """
        received = datetime.now(UTC)
        days = max(1, (received.date() - since).days + 1) if since else 365
        interval = next((name for name, covers in _MEMPOOL_INTERVALS if covers >= days), "all")
        # "all" reaches back to 2009: the days before `since` were not asked for, and are neither judged nor kept
        first = datetime.combine(since, datetime.min.time(), UTC) if since and interval == "all" else None
        primary = _Provider(MEMPOOL)
        try:
            body = await self._get_json(f"{self._base}/api/v1/mining/hashrate/{interval}")
            primary.history = _daily(body, received, primary.rejected, required=True, first=first)
            if not primary.history:
                primary.missing[HASHRATE] = "no daily hashrates"
        except SourceError as exc:
            primary.fail([HASHRATE], exc)
        providers = [primary]
        if primary.missing:
            fallback = _Provider(BLOCKCHAIN)
            answer = await self._try_chart("hash-rate", "all" if interval == "all" else f"{days}days")
            if isinstance(answer, SourceError):
                fallback.fail([HASHRATE], answer)
            else:
                fallback.history = _points(*answer, HASHRATE, received, fallback.rejected, first)
                if not fallback.history:
                    fallback.missing[HASHRATE] = "no values"
            providers.append(fallback)
        for provider in providers:
            source = self.name if provider.label == MEMPOOL else BLOCKCHAIN
            provider.observations = [_observation(HASHRATE, v, ts, source) for ts, v in provider.history]
        return _merge(providers, [HASHRATE])

    # --- mempool.space --------------------------------------------------------------------------------------

    async def _mempool_current(self, received: datetime) -> _Provider:
        provider = _Provider(MEMPOOL)
        wait = self._mempool_resume - time.monotonic()
        if wait > 0:
            return provider.fail(SERIES, RateLimited(f"rate limited, resuming in {math.ceil(wait)} s", wait))
        try:
            body = await self._get_json(f"{self._base}/api/v1/mining/hashrate/1w")
            if not isinstance(body, dict):
                raise SourceError("unexpected response: not a JSON object")
            for key in ("currentHashrate", "currentDifficulty"):
                if key not in body:
                    raise SourceError(f"unexpected response: missing {key!r}")
        except SourceError as exc:
            if isinstance(exc, RateLimited) and exc.retry_after:
                self._mempool_resume = time.monotonic() + exc.retry_after
            return provider.fail(SERIES, exc)
        for series, key in ((HASHRATE, "currentHashrate"), (DIFFICULTY, "currentDifficulty")):
            # The live estimate is as of the chain tip, i.e. now: mempool.space gives it no time of its own
            # (the daily averages' stamps are up to a day old and would make a fresh value look stale).
            _accept(provider, series, body[key], received, received, self.name)
        # The answer's daily points are checked too: a bad one is reported (refused) and the live values kept; a
        # malformed daily list costs nothing live (the history job reads, and reports, the daily values).
        with contextlib.suppress(SourceError):
            _daily(body, received, provider.rejected, required=False)
        return provider

    # --- blockchain.com -------------------------------------------------------------------------------------

    async def _blockchain_current(self, wanted: list[str], received: datetime) -> _Provider:
        provider = _Provider(BLOCKCHAIN)
        charts = {HASHRATE: "hash-rate", DIFFICULTY: "difficulty"}
        answers = await asyncio.gather(*(self._try_chart(charts[s], "1week") for s in wanted))
        for series, answer in zip(wanted, answers, strict=True):
            if isinstance(answer, SourceError):
                provider.fail([series], answer)
                continue
            points, scale = answer
            if not points:
                provider.missing[series] = "no values"
                continue
            x, y = max(points, key=lambda p: p[0] if _is_number(p[0]) else -math.inf)
            try:
                ts = _from_unix(x)
            except SourceError as exc:
                provider.fail([series], exc)
                continue
            _accept(provider, series, _scaled(y, scale), ts, received, BLOCKCHAIN)
        return provider

    async def _try_chart(self, chart: str, timespan: str) -> tuple[list[tuple[Any, Any]], float] | SourceError:
        try:
            return await self._chart(chart, timespan)
        except SourceError as exc:
            return exc

    async def _chart(self, chart: str, timespan: str) -> tuple[list[tuple[Any, Any]], float]:
        """A blockchain.com chart's (x, y) points and the factor that turns y into the series' unit."""
        url = f"{self._fallback}/charts/{chart}?timespan={timespan}&format=json"
        body = await self._get_json(url)
        if not isinstance(body, dict):
            raise SourceError("unexpected response: not a JSON object")
        for key in ("unit", "values"):
            if key not in body:
                raise SourceError(f"unexpected response: missing {key!r}")
        values = body["values"]
        if not isinstance(values, list) or not all(isinstance(v, dict) and "x" in v and "y" in v for v in values):
            raise SourceError("unexpected response: 'values' is not a list of {x, y}")
        unit = body["unit"]
        if chart == "hash-rate":
            scale = hash_unit_scale(unit)
        elif not (unit is None or (isinstance(unit, str) and unit.strip().lower() in _DIFFICULTY_UNITS)):
            raise SourceError(f"unexpected response: unknown difficulty unit {unit!r}")
        else:
            scale = 1.0
        return [(v["x"], v["y"]) for v in values], scale

    # --- HTTP -----------------------------------------------------------------------------------------------

    async def _get_json(self, url: str) -> Any:
        """GET a JSON document, or SourceError with a short reason (RateLimited on HTTP 429)."""
        if self._client is None:
            self._client = await asyncio.to_thread(self._make_client)  # imports httpx there, too
        import httpx

        timeout = self.settings.timeout_s
        budget = BodyBudget(urlparse(url).hostname or url, self.max_body)
        try:
            async with asyncio.timeout(timeout):  # a whole-request deadline: a trickling body cannot evade it
                async with self._client.stream("GET", url, timeout=timeout) as response:
                    if response.status_code == 429:
                        retry_after = parse_retry_after(response.headers.get("Retry-After"))
                        wait = f", retry after {retry_after:g} s" if retry_after is not None else ""
                        raise RateLimited(f"HTTP 429 (rate limited{wait})", retry_after=retry_after)
                    if response.status_code >= 400:
                        raise SourceError(f"HTTP {response.status_code}")
                    # raw bytes, inflated here in bounded steps: httpx would inflate a gzip bomb in one go
                    content = await read_capped(response.aiter_raw(), response.headers.get("Content-Encoding"),
                                                budget)
        except (TimeoutError, httpx.TimeoutException):
            raise SourceError(f"timed out after {timeout:g} s") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise SourceError(describe_http_error(exc, url)) from None
        try:
            return json.loads(content)
        except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise SourceError("unexpected response: not JSON") from None


# --- helpers, pure ------------------------------------------------------------------------------------------


def hash_unit_scale(unit: Any) -> float:
    """H/s per unit of a blockchain.com hash-rate chart ("Hash Rate TH/s" → 1e12), or SourceError."""
    match = _HASH_UNIT.search(unit) if isinstance(unit, str) else None
    if match is None:
        raise SourceError(f"unexpected response: unknown hashrate unit {unit!r}")
    return _PREFIX[match.group(1)]


def describe_http_error(exc: Exception, url: str) -> str:
    """A short, readable reason for an httpx transport error."""
    import httpx

    parsed = urlparse(url)
    host = parsed.hostname or "?"
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    causes = list(_chain(exc))
    if isinstance(exc, httpx.ConnectError):
        text = " ".join(str(c) for c in causes).lower()
        if any(isinstance(c, socket.gaierror) for c in causes) or any(
                s in text for s in ("name or service not known", "nodename nor servname", "getaddrinfo",
                                    "name resolution", "no address associated")):
            return f"cannot resolve host {host}"
        if any(isinstance(c, ssl.SSLError) for c in causes) or "certificate" in text or "[ssl" in text:
            return f"TLS handshake failed ({host})"
        if any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in text \
                or "all connection attempts failed" in text:
            return f"connection refused ({host}:{port})"
        return f"cannot connect ({host}:{port})"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        started = "message body" in " ".join(str(c) for c in causes)
        return "connection closed mid-response" if started else "connection closed by the server"
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return f"bad URL {url}"
    return f"request failed ({type(exc).__name__})"


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _from_unix(value: Any) -> datetime:
    if not _is_number(value) or not math.isfinite(value):
        raise SourceError(f"unexpected response: timestamp {value!r} is not a number")
    moment = epoch_to_utc(value)  # seconds, or ms where an upstream changes its mind
    if moment is None:
        raise SourceError(f"unexpected response: timestamp {value!r} is out of range")
    return moment


def _observation(series: str, value: float, ts: datetime, source: str) -> Observation:
    return Observation(series=series, value=float(value), unit=SeriesId.parse(series).unit, ts=ts, source=source)


def _why_not(series: str, value: Any, ts: datetime, now: datetime) -> str | None:
    """Why a value is refused: not a number, check_value's reasons, or outside the plausible range."""
    if not _is_number(value):
        return f"{series}: value {value!r} is not a number"
    return check_value(series, float(value), ts, now) or check_plausible(series, float(value), ts)


def _accept(provider: _Provider, series: str, value: Any, ts: datetime, now: datetime, source: str) -> None:
    """Add a value as an observation, or note it as missing (0 or null) or rejected (check_value and range)."""
    name = SeriesId.parse(series).field
    if value is None or (_is_number(value) and value == 0):
        provider.missing[series] = f"{name} missing (reported {'null' if value is None else 0})"
        return
    reason = _why_not(series, value, ts, now)
    if reason:
        provider.rejected.append(reason)
        provider.missing[series] = f"{name} rejected ({reason.removeprefix(series + ': ')})"
        return
    provider.observations.append(_observation(series, value, ts, source))


def _daily(body: Any, now: datetime, rejected: list[str], required: bool,
           first: datetime | None = None) -> list[tuple[datetime, float]]:
    """The valid (time, H/s) points of mempool.space's `hashrates` list; refused points go to `rejected`."""
    if not isinstance(body, dict) or "hashrates" not in body:
        if required:
            raise SourceError("unexpected response: missing 'hashrates'")
        return []
    items = body["hashrates"]
    if not isinstance(items, list) or not all(
            isinstance(i, dict) and "timestamp" in i and "avgHashrate" in i for i in items):
        raise SourceError("unexpected response: 'hashrates' is not a list of {timestamp, avgHashrate}")
    return _points([(i["timestamp"], i["avgHashrate"]) for i in items], 1.0, HASHRATE, now, rejected, first)


def _scaled(value: Any, scale: float) -> Any:
    return value * scale if _is_number(value) else value


def _points(points: list[tuple[Any, Any]], scale: float, series: str, now: datetime,
            rejected: list[str], first: datetime | None = None) -> list[tuple[datetime, float]]:
    """Valid points, sorted by time and scaled to the series' unit. Zeros (gaps) are skipped silently."""
    good: list[tuple[datetime, float]] = []
    for x, y in points:
        if y is None or (_is_number(y) and y == 0):
            continue
        try:
            ts = _from_unix(x)
        except SourceError as exc:
            rejected.append(f"{series}: {exc} (daily point)")
            continue
        if first is not None and ts < first:
            continue
        value = _scaled(y, scale)
        reason = _why_not(series, value, ts, now)
        if reason:
            rejected.append(f"{reason} (daily point)")
        else:
            good.append((ts, float(value)))
    return sorted(good)


def _merge(providers: list[_Provider], wanted: Iterable[str]) -> FetchResult:
    """One FetchResult from the upstreams asked in turn, or SourceError naming each one's failure."""
    observations = [obs for p in providers for obs in p.observations]
    delivered = {obs.series for obs in observations}
    rejected = tuple(reason for p in providers for reason in p.rejected)
    failures = {
        series: "; ".join(f"{p.label}: {p.missing[series]}" for p in providers if series in p.missing)
        for series in wanted if series not in delivered
    }
    if observations:
        return FetchResult(observations=tuple(observations), failures=failures, rejected=rejected)
    message = "; ".join(f"{p.label}: {', '.join(dict.fromkeys(p.missing.values()))}"
                        for p in providers if p.missing) or "no values"
    waits = [p.retry_after for p in providers if p.retry_after is not None]
    retry_after = max(waits) if waits else None
    if any(p.rate_limited for p in providers):
        raise RateLimited(message, retry_after=retry_after)
    raise SourceError(message, retry_after=retry_after)
