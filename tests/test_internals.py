"""The private internals of other libraries that tapecheck touches, one test each.

pyproject.toml pins these libraries below their next minor or major release. When an upgrade moves one of
these internals, the test named after it fails and says what moved and which of our code relies on it; fix
that code (or drop the patch), then widen the pin. To run the suite against the newest releases, see
"Trying newer releases" in the README.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from tests.fakes.exchange import FakeExchange


def params(function: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(function).parameters)


def moved(library: str, internal: str, user: str) -> str:
    return (f"{library} moved {internal}, which {user} relies on: adapt it, then widen the pin in "
            "pyproject.toml")


# ---- Textual -----------------------------------------------------------------------------------------------


def test_textual_app_handle_exception_and_exit_renderables() -> None:
    """tui/ui/app.py overrides App._handle_exception (to log a crash) and App._print_error_renderables, and
    clears App._exit_renderables (so that Textual's traceback is not printed over ours)."""
    from textual.app import App

    why = moved("Textual", "App._handle_exception / _print_error_renderables / _exit_renderables",
                "TapecheckApp's crash handling (tui/ui/app.py)")
    assert callable(getattr(App, "_handle_exception", None)), why
    assert list(params(App._handle_exception)) == ["self", "error"], why
    assert callable(getattr(App, "_print_error_renderables", None)), why
    assert isinstance(getattr(App(), "_exit_renderables", None), list), why


def test_textual_datatable_refresh() -> None:
    """widgets/table.py's KeyTable overrides DataTable.refresh(*regions, **options) to hold whole repaints (a
    call with no regions) and passes the options on: refresh must take regions, then keyword options only."""
    from textual.widgets import DataTable

    why = moved("Textual", "DataTable.refresh(*regions, <keyword options>)", "KeyTable (widgets/table.py)")
    found = list(params(DataTable.refresh).values())[1:]
    assert found and found[0].kind is inspect.Parameter.VAR_POSITIONAL, why
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in found[1:]), why


# ---- ccxt --------------------------------------------------------------------------------------------------


async def test_ccxt_throttler_session_and_on_rest_response() -> None:
    """tui/collect/sources/crypto.py credits ccxt's leaky bucket for idle time (throttler.config tokens,
    refillRate, capacity, algorithm; throttler.running; lastRestRequestTimestamp; milliseconds()), gives the
    exchange its own aiohttp session before the first request (session, tcp_connector, ssl_context, cafile,
    verify, aiohttp_trust_env), and wraps on_rest_response to keep each response's status and headers."""
    import ccxt.async_support as ccxt

    exchange = ccxt.kraken({"enableRateLimit": True})
    try:
        why = moved("ccxt", "the throttler's bucket", "CryptoSource._credit_idle_time")
        throttler: Any = exchange.throttler
        assert throttler is not None and isinstance(throttler.running, bool), why
        assert {"tokens", "refillRate", "capacity", "algorithm"} <= set(throttler.config), why
        assert throttler.config["algorithm"] == "leakyBucket", why
        assert isinstance(exchange.lastRestRequestTimestamp, int | float), why
        assert isinstance(exchange.milliseconds(), int), why
        assert callable(exchange.throttle), why

        why = moved("ccxt", "the exchange's HTTP session attributes", "CryptoSource._open_capped_session")
        assert exchange.session is None, why  # made on the first request, unless one was given
        for name in ("tcp_connector", "ssl_context", "cafile", "verify", "aiohttp_trust_env"):
            assert hasattr(exchange, name), f"{why} (no {name!r})"

        why = moved("ccxt", "on_rest_response(code, reason, url, method, headers, body, ...)",
                    "CryptoSource's response recorder")
        assert list(params(exchange.on_rest_response))[:6] == [
            "code", "reason", "url", "method", "response_headers", "response_body"], why
    finally:
        await exchange.close()


# ---- aiohttp -----------------------------------------------------------------------------------------------


async def test_aiohttp_client_response_body() -> None:
    """tui/collect/sources/limits.py's capped response reads the body itself into ClientResponse._body, then
    lets aiohttp's read() return it. Had `_body` moved, aiohttp would read the spent stream again: no body."""
    import aiohttp

    from tui.collect.sources.limits import capped_response_class

    with FakeExchange() as fake:
        async with aiohttp.ClientSession(response_class=capped_response_class("fake")) as session, \
                session.get(f"{fake.url}/api/v3/exchangeInfo") as response:
            assert response.status == 200
            body = await response.read()
            assert await response.read() == body
    assert b"symbols" in body, moved("aiohttp", "ClientResponse._body", "capped_response_class (limits.py)")


# ---- yfinance and curl_cffi --------------------------------------------------------------------------------


def test_yfinance_yfdata_and_its_cache() -> None:
    """tui/collect/sources/equities.py asks Yahoo's v7 quote endpoint through yfinance.data.YfData
    (session=..., .get(url, params=, timeout=)), clears YfData.cache_get after failed downloads, sets
    yfinance.config.debug.hide_exceptions, and knows a rate limit by the class name YFRateLimitError."""
    import yfinance
    from yfinance import exceptions
    from yfinance.data import YfData

    why = moved("yfinance", "YfData", "YFinanceDownloader.fetch_quote_json")
    assert "session" in params(YfData.__init__), why
    assert {"url", "params", "timeout"} <= set(params(YfData.get)), why
    assert callable(getattr(getattr(YfData, "cache_get", None), "cache_clear", None)), \
        moved("yfinance", "YfData.cache_get.cache_clear", "YFinanceDownloader.download_frame")
    assert hasattr(yfinance.config.debug, "hide_exceptions"), \
        moved("yfinance", "config.debug.hide_exceptions", "_import_yfinance")
    assert hasattr(exceptions, "YFRateLimitError"), moved("yfinance", "YFRateLimitError", "fetch_quote_json")
    download = params(yfinance.download)
    missing = {"threads", "group_by", "session", "ignore_tz", "timeout", "auto_adjust", "progress"} - set(download)
    assert not missing, moved("yfinance", f"download()'s parameters {sorted(missing)}", "download_frame")


def test_curl_cffi_session_request_content_callback() -> None:
    """Yahoo's session (equities._make_session) subclasses curl_cffi's Session, passes every request a
    content_callback that caps the body, and sets response.content to what it collected."""
    from curl_cffi import requests as curl_requests

    why = moved("curl_cffi", "Session.request(..., stream=, content_callback=)", "equities._make_session")
    assert {"stream", "content_callback"} <= set(params(curl_requests.Session.request)), why
    response = curl_requests.Response()
    response.content = b"kept"
    assert response.content == b"kept", moved("curl_cffi", "Response.content (settable)", "equities._make_session")

