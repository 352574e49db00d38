"""The token that lets a browser in: made at start or read from a file, checked on every request.

The token comes in the URL's query string (`?token=...`) and nowhere else: a header such as `Authorization`
is not read. The first page opened with it sets a cookie (HttpOnly, SameSite=Strict) that stands for it on
the page's own requests (its scripts and its WebSocket, which cannot carry a query string of ours), and is
sent back to the same page without the token, so that the token leaves the address bar and the history.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web

from tui.core.model import TapecheckError
from tui.core.oserrors import why

MIN_TOKEN_CHARS = 16
REFUSED = ("403 Forbidden: this dashboard needs its token. Open the URL that `tapecheck serve` printed "
           "(it ends in ?token=...).\n")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_token() -> str:
    return secrets.token_urlsafe(32)


def read_token(path: Path) -> str:
    """The token in `path` (its first line, trimmed); a TapecheckError naming the file when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = why(path, error) if isinstance(error, OSError) else "not UTF-8 text"
        raise TapecheckError(f"--token-file {path}: cannot read the token: {reason}") from None
    lines = text.splitlines()
    token = lines[0].strip() if lines else ""
    if len(token) < MIN_TOKEN_CHARS:
        raise TapecheckError(f"--token-file {path}:1: the token must be at least {MIN_TOKEN_CHARS} characters "
                             f"(make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")
    if not token.isascii() or not token.isprintable() or any(c in token for c in " &#%+"):
        raise TapecheckError(f"--token-file {path}:1: the token must be printable ASCII without spaces, &, #, % "
                             "or + (it goes in a URL as it is)")
    return token


class TokenGuard:
    """The aiohttp middleware that answers 403 to any request without the token (or the cookie it set)."""

    def __init__(self, token: str, port: int) -> None:
        self._token = token.encode()
        # The cookie holds a value derived from the token, never the token; its name carries the port, as
        # browsers send a host's cookies to all of its ports.
        self.cookie_name = f"tapecheck-{port}"
        self._cookie_value = hmac.new(self._token, b"tapecheck serve: a page opened with the token",
                                      hashlib.sha256).hexdigest()

    def _matches(self, given: str, expected: bytes) -> bool:
        return hmac.compare_digest(given.encode(), expected)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.query.get("token")
        if given is not None:  # a token in the URL is judged on its own, cookie or not
            if not self._matches(given, self._token):
                return refused()
            if request.method == "GET" and request.match_info.route.name == "index":
                return self._enter(request)
            return await handler(request)
        cookie = request.cookies.get(self.cookie_name)
        if cookie is not None and self._matches(cookie, self._cookie_value.encode()):
            return await handler(request)
        return refused()

    def _enter(self, request: web.Request) -> web.StreamResponse:
        """The page again, without the token in its URL, with the cookie that stands for it."""
        rest = [(k, v) for k, v in request.query.items() if k != "token"]
        query = urlencode(rest)
        response = web.HTTPSeeOther(location=f"./?{query}" if query else "./")
        response.set_cookie(self.cookie_name, self._cookie_value, path="/", httponly=True, samesite="Strict")
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response


def refused() -> web.Response:
    return web.Response(status=403, text=REFUSED, headers={"Cache-Control": "no-store"})
