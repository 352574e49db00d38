"""The hashrate source against a fake mempool.space + blockchain.com server: values, fallback, faults, units."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from tests.fakes.mempool import (
    CHART_DIFFICULTY,
    CHART_HASHRATE,
    HASHRATE_1W,
    HASHRATE_1Y,
    KINDS,
    FakeMempool,
    fixture,
)
from tui import __version__
from tui.collect.sources.base import FetchResult, RateLimited, SourceError
from tui.collect.sources.hashrate import (
    DIFFICULTY,
    HASHRATE,
    HashrateSource,
    describe_http_error,
    hash_unit_scale,
)
from tui.collect.sources.retry import parse_retry_after
from tui.core.config import HashrateSettings

TIMEOUT = 30.0  # seconds: a local fake answers well within it however loaded the machine, unless told not to
SHORT = 0.3  # for the tests of time-outs: the fake's delays and stalls last 2 s or more, so every timeout is ours
WEEK = fixture("hashrate_1w.json")
YEAR = fixture("hashrate_1y.json")
CHART_WEEK = fixture("charts_hash-rate_1week.json")
CHART_YEAR = fixture("charts_hash-rate_1year.json")
DIFF_WEEK = fixture("charts_difficulty_1week.json")
LATEST_CHART_HASHRATE = CHART_WEEK["values"][-1]["y"] * 1e12
LATEST_CHART_DAY = datetime.fromtimestamp(CHART_WEEK["values"][-1]["x"], UTC)


@pytest.fixture
def fake() -> Iterator[FakeMempool]:
    with FakeMempool() as server:
        yield server


def settings(base: str, fallback: str | None = None, timeout: float = TIMEOUT) -> HashrateSettings:
    return HashrateSettings(base_url=base, fallback_url=fallback or base, interval_s=300, timeout_s=timeout)


async def _call(source: HashrateSource, method: str, *args: Any) -> FetchResult | SourceError:
    try:
        result: FetchResult = await getattr(source, method)(*args)
        return result
    except SourceError as exc:
        return exc


def run(config: HashrateSettings, *calls: tuple[Any, ...] | str) -> tuple[list[FetchResult | SourceError],
                                                                         HashrateSource]:
    """Make a source, make the calls in turn (e.g. "fetch", ("history", date)), close it; errors are returned."""
    async def go() -> tuple[list[FetchResult | SourceError], HashrateSource]:
        source = HashrateSource(config)
        try:
            out = []
            for call in calls:
                name, *args = (call,) if isinstance(call, str) else call
                out.append(await _call(source, name, *args))
            return out, source
        finally:
            await source.close()
    return asyncio.run(go())


def fetch_ok(config: HashrateSettings) -> tuple[FetchResult, HashrateSource]:
    (result,), source = run(config, "fetch")
    assert isinstance(result, FetchResult), f"fetch failed: {result}"
    return result, source


def fetch_error(config: HashrateSettings) -> SourceError:
    (result,), _ = run(config, "fetch")
    assert isinstance(result, SourceError), f"fetch should have failed, got {result}"
    return result


def by_series(result: FetchResult) -> dict[str, Any]:
    values = {}
    for obs in result.observations:
        assert obs.series not in values, f"{obs.series} returned twice"
        values[obs.series] = obs
    return values


def fallback_down(fake: FakeMempool, status: int = 503) -> None:
    fake.set_scenario(CHART_HASHRATE, "status", status=status)
    fake.set_scenario(CHART_DIFFICULTY, "status", status=status)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- the primary: mempool.space ------------------------------------------------------------------------


def test_primary_gives_current_hashrate_and_difficulty_stamped_now(fake: FakeMempool) -> None:
    before = datetime.now(UTC)
    result, source = fetch_ok(settings(fake.url))
    after = datetime.now(UTC)
    values = by_series(result)
    assert set(values) == {HASHRATE, DIFFICULTY}
    assert values[HASHRATE].value == WEEK["currentHashrate"]
    assert values[DIFFICULTY].value == WEEK["currentDifficulty"]
    assert (values[HASHRATE].unit, values[DIFFICULTY].unit) == ("H/s", "ratio")
    assert {o.source for o in result.observations} == {"mempool"}
    # the live estimate is as of the chain tip: stamped when received, not at the day-old daily average
    assert all(before <= o.ts <= after for o in result.observations)
    assert result.failures == {} and result.rejected == ()
    assert fake.hits(HASHRATE_1W) == 1 and fake.hits(CHART_HASHRATE) == fake.hits(CHART_DIFFICULTY) == 0
    assert source.name == "mempool" and source.kind == "hashrate"


def test_requests_carry_the_user_agent(fake: FakeMempool) -> None:
    fake.set_scenario(HASHRATE_1W, "status", status=503)
    fetch_ok(settings(fake.url))
    assert len(fake.user_agents) == 3
    assert set(fake.user_agents) == {f"tapecheck/{__version__}"}


@pytest.mark.parametrize("kind", ["wrong_shape", "missing", "html", "truncated"])
def test_primary_malformed_bodies_are_named(fake: FakeMempool, kind: str) -> None:
    fake.set_scenario(HASHRATE_1W, kind)
    fallback_down(fake)
    reason = {
        "wrong_shape": "unexpected response: not a JSON object",
        "missing": "unexpected response: missing 'currentHashrate'",
        "html": "unexpected response: not JSON",
        "truncated": "unexpected response: not JSON",
    }[kind]
    error = fetch_error(settings(fake.url))
    assert str(error) == f"mempool.space: {reason}; blockchain.com: HTTP 503"
    assert not isinstance(error, RateLimited) and error.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_primary_http_errors_are_named(fake: FakeMempool, status: int) -> None:
    fake.set_scenario(HASHRATE_1W, "status", status=status)
    fallback_down(fake, 500)
    assert str(fetch_error(settings(fake.url))) == f"mempool.space: HTTP {status}; blockchain.com: HTTP 500"


@pytest.mark.parametrize("kind", ["zero", "null"])
def test_a_zero_or_null_hashrate_is_missing_never_a_value(fake: FakeMempool, kind: str) -> None:
    fake.set_scenario(HASHRATE_1W, kind)
    fallback_down(fake)
    result, _ = fetch_ok(settings(fake.url))
    values = by_series(result)
    assert HASHRATE not in values
    assert values[DIFFICULTY].value == WEEK["currentDifficulty"]
    reported = "0" if kind == "zero" else "null"
    assert result.failures == {HASHRATE: f"mempool.space: hashrate missing (reported {reported}); "
                                         "blockchain.com: HTTP 503"}
    assert fake.hits(CHART_HASHRATE) == 1 and fake.hits(CHART_DIFFICULTY) == 0  # only the gap is asked for


def test_a_missing_hashrate_is_filled_from_the_fallback(fake: FakeMempool) -> None:
    fake.set_scenario(HASHRATE_1W, "zero")
    result, _ = fetch_ok(settings(fake.url))
    values = by_series(result)
    assert values[HASHRATE].source == "blockchain.com"
    assert values[HASHRATE].value == pytest.approx(LATEST_CHART_HASHRATE)
    assert values[DIFFICULTY].source == "mempool"
    assert result.failures == {}


@pytest.mark.parametrize(("kind", "reason"), [
    ("nan", "value nan is not finite"),
    ("negative", "is not positive"),
    ("absurd", "outside the plausible range"),
])
def test_bad_hashrate_values_are_rejected_not_returned(fake: FakeMempool, kind: str, reason: str) -> None:
    fake.set_scenario(HASHRATE_1W, kind)
    fallback_down(fake)
    result, _ = fetch_ok(settings(fake.url))
    assert HASHRATE not in by_series(result)
    assert DIFFICULTY in by_series(result)
    assert len(result.rejected) == 1
    assert result.rejected[0].startswith(f"{HASHRATE}: ") and reason in result.rejected[0]
    assert result.failures[HASHRATE].startswith("mempool.space: hashrate rejected (")


def test_the_nan_scenario_sends_the_literal_token(fake: FakeMempool) -> None:
    fake.set_scenario(HASHRATE_1W, "nan")
    body = httpx.get(fake.url + HASHRATE_1W).content
    assert b'"currentHashrate": NaN' in body


def test_a_daily_point_in_the_future_is_rejected_and_the_live_values_kept(fake: FakeMempool) -> None:
    fake.set_scenario(HASHRATE_1W, "future")
    result, _ = fetch_ok(settings(fake.url))
    assert set(by_series(result)) == {HASHRATE, DIFFICULTY}  # the live values do not depend on it
    assert len(result.rejected) == 1 and "is in the future" in result.rejected[0]


def test_no_daily_points_keeps_the_values(fake: FakeMempool) -> None:
    fake.set_scenario(HASHRATE_1W, "empty")
    result, _ = fetch_ok(settings(fake.url))
    assert set(by_series(result)) == {HASHRATE, DIFFICULTY}


# ---- the fallback: blockchain.com ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503])
def test_fallback_answers_when_the_primary_fails(fake: FakeMempool, status: int) -> None:
    fake.set_scenario(HASHRATE_1W, "status", status=status)
    result, _ = fetch_ok(settings(fake.url))
    values = by_series(result)
    assert {o.source for o in result.observations} == {"blockchain.com"}
    assert values[HASHRATE].value == pytest.approx(LATEST_CHART_HASHRATE)  # TH/s read from the unit → H/s
    assert 1.0e21 < values[HASHRATE].value < 1.2e21
    assert values[DIFFICULTY].value == DIFF_WEEK["values"][-1]["y"]
    assert values[HASHRATE].ts == LATEST_CHART_DAY  # the provider's time
    assert values[DIFFICULTY].unit == "ratio"
    assert result.failures == {}
    assert [q.get("timespan") for p, q in fake.requests if p.startswith("/charts/")] == ["1week", "1week"]


def test_fallback_partial_answer_names_both_failures(fake: FakeMempool) -> None:
    fake.set_scenario(HASHRATE_1W, "status", status=503)
    fake.set_scenario(CHART_HASHRATE, "status", status=502)
    result, _ = fetch_ok(settings(fake.url))
    assert set(by_series(result)) == {DIFFICULTY}
    assert result.failures == {HASHRATE: "mempool.space: HTTP 503; blockchain.com: HTTP 502"}


@pytest.mark.parametrize("unit", ["Hash Rate TH/s", "Hash Rate GH/s", "Hash Rate PH/s", "Hash Rate EH/s"])
def test_the_fallback_reads_the_unit_from_the_payload(fake: FakeMempool, unit: str) -> None:
    fake.set_scenario(HASHRATE_1W, "status", status=503)
    fake.set_scenario(CHART_HASHRATE, "unit", unit=unit)
    sent = fake.payload(CHART_HASHRATE)  # the fixture in TH/s; the fake re-expresses it in `unit`
    assert sent["unit"] == "Hash Rate TH/s"
    result, _ = fetch_ok(settings(fake.url))
    assert by_series(result)[HASHRATE].value == pytest.approx(LATEST_CHART_HASHRATE, rel=1e-12)


@pytest.mark.parametrize("unit", ["Hash Rate XH/s", "Hash Rate", ""])
def test_an_unknown_hashrate_unit_is_an_error(fake: FakeMempool, unit: str) -> None:
    fake.set_scenario(HASHRATE_1W, "status", status=503)
    fake.set_scenario(CHART_HASHRATE, "unit", unit=unit)
    result, _ = fetch_ok(settings(fake.url))
    assert set(by_series(result)) == {DIFFICULTY}
    assert result.failures[HASHRATE] == (f"mempool.space: HTTP 503; blockchain.com: unexpected response: "
                                         f"unknown hashrate unit {unit!r}")


def test_an_unknown_difficulty_unit_is_an_error(fake: FakeMempool) -> None:
    fake.set_scenario(HASHRATE_1W, "status", status=503)
    fake.set_scenario(CHART_DIFFICULTY, "unit", unit="T")
    result, _ = fetch_ok(settings(fake.url))
    assert set(by_series(result)) == {HASHRATE}
    assert "unknown difficulty unit 'T'" in result.failures[DIFFICULTY]


@pytest.mark.parametrize(("prefix", "scale"), [("", 1.0), ("K", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12),
                                               ("P", 1e15), ("E", 1e18), ("Z", 1e21)])
def test_hash_unit_scale(prefix: str, scale: float) -> None:
    assert hash_unit_scale(f"Hash Rate {prefix}H/s") == scale
    assert hash_unit_scale(f"{prefix}H/s") == scale


@pytest.mark.parametrize(("kind", "reason"), [
    ("zero", "hashrate missing (reported 0)"),
    ("null", "hashrate missing (reported null)"),
    ("nan", "hashrate rejected (value nan is not finite)"),
    ("negative", "is not positive)"),
    ("absurd", "outside the plausible range"),
    ("future", "is in the future)"),
    ("empty", "no values"),
    ("wrong_shape", "unexpected response: not a JSON object"),
    ("missing", "unexpected response: missing 'values'"),
    ("html", "unexpected response: not JSON"),
    ("truncated", "unexpected response: not JSON"),
])
def test_fallback_faults_leave_the_hashrate_out(fake: FakeMempool, kind: str, reason: str) -> None:
    fake.set_scenario(HASHRATE_1W, "status", status=503)
    fake.set_scenario(CHART_HASHRATE, kind)
    result, _ = fetch_ok(settings(fake.url))
    assert set(by_series(result)) == {DIFFICULTY}
    assert result.failures[HASHRATE].startswith("mempool.space: HTTP 503; blockchain.com: ")
    assert reason in result.failures[HASHRATE]


# ---- both fail, rate limits, timeouts, connections -----------------------------------------------------


def test_both_failing_raises_one_error_naming_both(fake: FakeMempool) -> None:
    fake.set_scenario(HASHRATE_1W, "status", status=503)
    fake.set_scenario(CHART_HASHRATE, "delay", delay_s=2)
    fake.set_scenario(CHART_DIFFICULTY, "stall", delay_s=2)
    error = fetch_error(settings(fake.url, timeout=SHORT))
    assert str(error) == "mempool.space: HTTP 503; blockchain.com: timed out after 0.3 s"


def test_the_two_fallback_requests_run_side_by_side(fake: FakeMempool) -> None:
    """Each chart answers only once the other's request has come: one after the other, the first would wait
    in vain (504) and the hashrate be lost; side by side, both answer. No clock is read."""
    fake.set_scenario(HASHRATE_1W, "status", status=503)
    fake.set_scenario(CHART_HASHRATE, "together", partner=CHART_DIFFICULTY, delay_s=20)
    fake.set_scenario(CHART_DIFFICULTY, "together", partner=CHART_HASHRATE, delay_s=20)
    result, _ = fetch_ok(settings(fake.url, timeout=60))
    assert set(by_series(result)) == {HASHRATE, DIFFICULTY}
    assert {o.source for o in result.observations} == {"blockchain.com"}


def test_a_primary_429_with_retry_after_is_respected(fake: FakeMempool) -> None:
    fake.set_scenario(HASHRATE_1W, "status", status=429, retry_after="30")
    fallback_down(fake)
    (first, second), _ = run(settings(fake.url), "fetch", "fetch")
    assert isinstance(first, RateLimited) and first.retry_after == 30
    assert str(first) == "mempool.space: HTTP 429 (rate limited, retry after 30 s); blockchain.com: HTTP 503"
    # within the 30 s, mempool.space is not asked again
    assert isinstance(second, RateLimited) and str(second).startswith("mempool.space: rate limited, resuming in ")
    assert second.retry_after is not None and 25 < second.retry_after <= 30
    assert fake.hits(HASHRATE_1W) == 1


def test_a_primary_429_without_retry_after_falls_back_and_asks_again(fake: FakeMempool) -> None:
    fake.set_scenario(HASHRATE_1W, "status", status=429)
    (first, second), _ = run(settings(fake.url), "fetch", "fetch")
    assert isinstance(first, FetchResult) and isinstance(second, FetchResult)
    assert {o.source for o in first.observations} == {"blockchain.com"}
    assert fake.hits(HASHRATE_1W) == 2


def test_rate_limits_from_both_take_the_longer_wait(fake: FakeMempool) -> None:
    fake.set_scenario(HASHRATE_1W, "status", status=429, retry_after="10")
    fake.set_scenario(CHART_HASHRATE, "status", status=429, retry_after="120")
    fake.set_scenario(CHART_DIFFICULTY, "status", status=429)
    error = fetch_error(settings(fake.url))
    assert isinstance(error, RateLimited) and error.retry_after == 120
    assert str(error).startswith("mempool.space: HTTP 429 (rate limited, retry after 10 s); blockchain.com: ")


def test_a_429_with_an_http_date(fake: FakeMempool) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    fake.set_scenario("*", "status", status=429, retry_after=when)
    error = fetch_error(settings(fake.url))
    assert isinstance(error, RateLimited)
    assert error.retry_after is not None and 80 < error.retry_after <= 90


@pytest.mark.parametrize(("header", "seconds"), [
    ("30", 30.0), (" 7 ", 7.0), ("0", 0.0), ("Wed, 21 Oct 2026 07:28:30 GMT", 60.0),
    ("Wed, 21 Oct 2026 07:26:00 GMT", 0.0), ("soon", None), ("", None), (None, None),
])
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    now = datetime(2026, 10, 21, 7, 27, 30, tzinfo=UTC)
    assert parse_retry_after(header, now=lambda: now) == seconds


@pytest.mark.parametrize("kind", ["delay", "stall"])
def test_a_slow_primary_times_out_and_the_fallback_answers(fake: FakeMempool, kind: str) -> None:
    fake.set_scenario(HASHRATE_1W, kind, delay_s=600)  # answered only when the fake stops: a timeout or a hang
    result, _ = fetch_ok(settings(fake.url, timeout=SHORT))
    assert {o.source for o in result.observations} == {"blockchain.com"}
    fallback_down(fake)
    assert str(fetch_error(settings(fake.url, timeout=SHORT))).startswith("mempool.space: timed out after 0.3 s;")


def test_a_dropped_connection(fake: FakeMempool) -> None:
    fake.set_scenario("*", "drop")
    assert str(fetch_error(settings(fake.url))) == ("mempool.space: connection closed by the server; "
                                                    "blockchain.com: connection closed by the server")


def test_connection_refused_names_host_and_port(fake: FakeMempool) -> None:
    port = closed_port()
    result, _ = fetch_ok(settings(f"http://127.0.0.1:{port}", fake.url))
    assert {o.source for o in result.observations} == {"blockchain.com"}
    error = fetch_error(settings(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}"))
    reason = f"connection refused (127.0.0.1:{port})"
    assert str(error) == f"mempool.space: {reason}; blockchain.com: {reason}"


def test_two_instances_one_per_upstream(fake: FakeMempool) -> None:
    with FakeMempool() as other:
        result, _ = fetch_ok(settings(fake.url, other.url))
        assert {o.source for o in result.observations} == {"mempool"}
        fake.set_scenario("*", "status", status=503)
        result, _ = fetch_ok(settings(fake.url, other.url))
        assert {o.source for o in result.observations} == {"blockchain.com"}
        assert other.hits(CHART_HASHRATE) == 1 and fake.hits(CHART_HASHRATE) == 0


def test_dns_and_tls_failures_read_well() -> None:
    url = "https://mempool.example/api/v1/mining/hashrate/1w"
    gai = httpx.ConnectError("connect failed")
    gai.__cause__ = socket.gaierror(-2, "Name or service not known")
    assert describe_http_error(gai, url) == "cannot resolve host mempool.example"
    assert describe_http_error(httpx.ConnectError("[Errno -3] Temporary failure in name resolution"), url) \
        == "cannot resolve host mempool.example"
    tls = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    assert describe_http_error(tls, url) == "TLS handshake failed (mempool.example)"
    assert describe_http_error(httpx.ConnectError("[Errno 111] Connection refused"), url) \
        == "connection refused (mempool.example:443)"


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in ("delay", "stall")])
def test_no_raw_exception_escapes_whatever_both_answer(fake: FakeMempool, kind: str) -> None:
    fake.set_scenario("*", kind, status=500 if kind == "status" else 200, unit="Hash Rate QH/s")
    results, _ = run(settings(fake.url, timeout=SHORT), "fetch", "history")
    for result in results:
        assert isinstance(result, FetchResult | SourceError)
        if isinstance(result, FetchResult):
            assert result.observations, "an empty result must be a SourceError instead"
            assert all(1e20 < o.value < 1e22 for o in result.observations if o.series == HASHRATE)


# ---- history -------------------------------------------------------------------------------------------


def test_history_is_the_daily_series_stamped_at_its_days(fake: FakeMempool) -> None:
    (result,), _ = run(settings(fake.url), "history")
    assert isinstance(result, FetchResult)
    assert len(result.observations) == len(YEAR["hashrates"]) == 365
    assert [o.value for o in result.observations] == [p["avgHashrate"] for p in YEAR["hashrates"]]
    assert [o.ts for o in result.observations] == [datetime.fromtimestamp(p["timestamp"], UTC)
                                                   for p in YEAR["hashrates"]]
    assert {(o.series, o.unit, o.source) for o in result.observations} == {(HASHRATE, "H/s", "mempool")}
    assert fake.hits(HASHRATE_1Y) == 1


def test_history_since_picks_the_shortest_interval_that_covers_it(fake: FakeMempool) -> None:
    today = datetime.now(UTC).date()
    run(settings(fake.url), ("history", today - timedelta(days=20)), ("history", today - timedelta(days=300)),
        ("history", date(2015, 1, 1)))
    assert [p for p, _ in fake.requests] == ["/api/v1/mining/hashrate/1m", HASHRATE_1Y,
                                             "/api/v1/mining/hashrate/all"]


def test_history_falls_back_to_the_chart(fake: FakeMempool) -> None:
    fake.set_scenario(HASHRATE_1Y, "html")
    (result,), _ = run(settings(fake.url), "history")
    assert isinstance(result, FetchResult)
    assert len(result.observations) == 365
    assert {o.source for o in result.observations} == {"blockchain.com"}
    assert [o.value for o in result.observations] == pytest.approx([v["y"] * 1e12 for v in CHART_YEAR["values"]])
    assert result.failures == {}
    assert fake.requests[-1] == (CHART_HASHRATE, {"timespan": "365days", "format": "json"})


def test_history_failing_on_both_names_both(fake: FakeMempool) -> None:
    fake.set_scenario(HASHRATE_1Y, "truncated")
    fake.set_scenario(CHART_HASHRATE, "status", status=429, retry_after="60")
    (error,), _ = run(settings(fake.url), "history")
    assert isinstance(error, RateLimited) and error.retry_after == 60
    assert str(error) == ("mempool.space: unexpected response: not JSON; "
                          "blockchain.com: HTTP 429 (rate limited, retry after 60 s)")


def test_history_rejects_a_future_day(fake: FakeMempool) -> None:
    fake.set_scenario(HASHRATE_1Y, "future")
    (result,), _ = run(settings(fake.url), "history")
    assert isinstance(result, FetchResult)
    assert len(result.observations) == 364
    assert len(result.rejected) == 1 and "is in the future" in result.rejected[0]


# ---- lifecycle -----------------------------------------------------------------------------------------


def test_close_closes_the_client_it_made(fake: FakeMempool) -> None:
    async def go() -> None:
        source = HashrateSource(settings(fake.url))
        assert source._client is None  # made on first use
        await source.fetch()
        client = source._client
        assert client is not None and not client.is_closed
        assert client.timeout.read == TIMEOUT
        await source.close()
        assert client.is_closed
    asyncio.run(go())


def test_a_client_passed_in_is_used_and_left_open(fake: FakeMempool) -> None:
    async def go() -> None:
        async with httpx.AsyncClient(headers={"User-Agent": "caller"}) as client:
            source = HashrateSource(settings(fake.url), client=client)
            await source.fetch()
            await source.close()
            assert not client.is_closed
    asyncio.run(go())
    assert fake.user_agents == ["caller"]


def test_fixtures_are_realistic() -> None:
    assert 1.0e21 <= WEEK["currentHashrate"] <= 1.1e21
    assert 1.4e14 <= WEEK["currentDifficulty"] <= 1.6e14
    assert CHART_WEEK["unit"] == "Hash Rate TH/s" and DIFF_WEEK["unit"] == ""
    assert json.loads(json.dumps(YEAR)) == YEAR


# ---- physics, early history, units ----------------------------------------------------------------------


def test_hashrate_and_difficulty_that_break_physics_are_disputed_both(fake: FakeMempool) -> None:
    """hashrate ≈ difficulty × 2^32 / 600: 1.5e12 H/s with a difficulty of 1.5 passes each one's bounds, but
    not each other; which one is wrong cannot be told, so both are disputed, neither stored as a value."""
    fake.current.update(currentHashrate=1.5e12, currentDifficulty=1.5)
    result, _ = run(settings(fake.url), "fetch")[0][0], None
    assert isinstance(result, FetchResult)
    assert result.observations == ()
    assert {d.observation.series for d in result.disputed} == {HASHRATE, DIFFICULTY}
    assert all("disagree: the difficulty implies 1.074e+07 H/s" in d.reason for d in result.disputed)


def test_a_hashrate_alone_is_held_against_the_last_difficulty(fake: FakeMempool) -> None:
    async def go() -> list[FetchResult]:
        source = HashrateSource(settings(fake.url))
        try:
            good = await source.fetch()
            fake.current.update(currentHashrate=WEEK["currentHashrate"] / 1e6, currentDifficulty=0)
            fake.set_scenario(CHART_DIFFICULTY, "status", status=503)  # no difficulty from either upstream
            bad = await source.fetch()
            fake.current.update(currentHashrate=WEEK["currentHashrate"] * 1.3)  # a lucky week: within the factor
            lucky = await source.fetch()
            return [good, bad, lucky]
        finally:
            await source.close()

    good, bad, lucky = asyncio.run(go())
    assert len(good.observations) == 2 and not good.disputed
    assert [d.observation.series for d in bad.disputed] == [HASHRATE] and bad.observations == ()
    assert [o.series for o in lucky.observations] == [HASHRATE] and not lucky.disputed


def test_history_back_to_2009_is_accepted_and_days_before_since_are_left_out(fake: FakeMempool) -> None:
    """mempool.space's "all" reaches back to 2009, when hashrates were millions of H/s: no refusals for them."""
    genesis = int(datetime(2009, 1, 9, tzinfo=UTC).timestamp())
    fake.early_days.extend((genesis + day * 86400, 7e6 * 1.01**day) for day in range(700))
    (result,), _ = run(settings(fake.url), ("history", date(2009, 1, 1)))
    assert isinstance(result, FetchResult) and result.rejected == ()
    assert min(o.ts for o in result.observations).date() == date(2009, 1, 9)
    (later,), _ = run(settings(fake.url), ("history", date(2020, 1, 1)))
    assert isinstance(later, FetchResult) and later.rejected == ()
    assert min(o.ts for o in later.observations).year == 2025  # the fixture's first day
    assert fake.requests[-1][0] == "/api/v1/mining/hashrate/all"


def test_a_live_hashrate_of_a_tera_read_as_unit_is_still_refused(fake: FakeMempool) -> None:
    fake.current.update(currentHashrate=1.0e9)  # 1 EH/s read in units of 1e12: far below 2026's floor
    (result,), _ = run(settings(fake.url), "fetch")
    assert isinstance(result, FetchResult)
    assert any("outside the plausible range 1e+12" in r for r in result.rejected)


@pytest.mark.parametrize("unit", ["Difficulty", "difficulty", ""])
def test_blockchain_difficulty_accepts_its_real_unit(fake: FakeMempool, unit: str) -> None:
    fake.set_scenario(HASHRATE_1W, "status", status=503)
    fake.set_scenario(CHART_DIFFICULTY, "unit", unit=unit)
    result, _ = fetch_ok(settings(fake.url))
    assert DIFFICULTY in by_series(result)
