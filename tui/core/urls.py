"""Store locations as text: a file path, or a `postgresql://user@host:port/db` URL whose password is never shown.

`mask_url` replaces a URL's password (and any `password=` parameter) with ***, and every message quoting a
location uses the masked form. Passwords may also come from PGPASSFILE or PGPASSWORD, which only libpq reads.
These helpers are plain text work: the log, the config and both stores use them without loading a store.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

SCHEMES = ("postgresql://", "postgres://")
MASK = "***"
# A password in any URL-shaped text: `scheme://user:PASSWORD@` (or `scheme:/user:PASSWORD@`, as a path argument
# turns it), and `password=...` in a query or a libpq connection string.
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*:/{1,2}[^\s:/@]*:)([^\s@/]+)@")
_PARAM_PASSWORD = re.compile(r"(?i)\b(password\s*=\s*)([^\s&'\"]+)")


def mask_secrets(text: str) -> str:
    """`text` with the password of every URL in it (and every `password=` value) replaced by ***: the one
    function every message, log line and report that may quote a store's location goes through."""
    return _PARAM_PASSWORD.sub(lambda m: m[1] + MASK, _URL_PASSWORD.sub(lambda m: f"{m[1]}{MASK}@", text))


def is_url(location: str | Path) -> bool:
    return str(location).startswith(SCHEMES)


def mask_url(url: str) -> str:
    """The URL with its password (in the netloc or a `password=` parameter) replaced by ***."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            if ":" in userinfo:
                userinfo = userinfo.split(":", 1)[0] + ":" + MASK
            netloc = f"{userinfo}@{host}"
        query = urlencode([(k, MASK if k == "password" else v) for k, v in parse_qsl(parts.query)], safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return url.split("://", 1)[0] + "://" + MASK  # cannot tell where the password is: show nothing


def without_password(url: str) -> tuple[str, str | None]:
    """The URL without its netloc password, and that password (decoded), for a child process's environment."""
    parts = urlsplit(url)
    if parts.password is None or "@" not in parts.netloc:
        return url, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    netloc = f"{userinfo.split(':', 1)[0]}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), unquote(parts.password)


def url_secrets(url: str) -> tuple[str, ...]:
    """The passwords a URL carries, raw and decoded, for messages and logs to mask."""
    found: list[str] = []
    try:
        parts = urlsplit(url)
        if parts.password:
            found += [parts.password, unquote(parts.password)]
        found += [v for k, v in parse_qsl(parts.query) if k == "password"]
    except ValueError:
        pass
    return tuple(s for s in found if s)


def shown(location: str | Path) -> str:
    """A store's location as every message shows it: a URL with its password masked, a path as it is."""
    return mask_url(str(location)) if is_url(location) else str(location)
