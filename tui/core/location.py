"""Where a store lives: a file path (SQLite) or a `postgresql://user@host:port/db` URL (PostgreSQL).

`open_store` is the one way in; the PostgreSQL backend (and psycopg with it) is imported only when a URL is
given, so SQLite users never load it. A URL's password is never shown: `mask_url` replaces it (and any
`password=` parameter) with ***, and every message quoting the URL uses the masked form. Passwords may
also come from PGPASSFILE or PGPASSWORD, which only libpq reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from tui.core.store import Store

SCHEMES = ("postgresql://", "postgres://")
MASK = "***"


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


def open_store(location: str | Path, retention_days: int = 400, *, read_only: bool = False) -> Store:
    """The store at `location`: a PostgreSQL URL or a SQLite file path (`read_only`: a viewer's). A
    TapecheckError (one line, password masked) when it cannot be opened: wrong credentials, an unreachable
    host, not a store."""
    if is_url(str(location)):
        from tui.core.pgstore import PgStore

        return PgStore(str(location), retention_days, read_only=read_only)
    from tui.core.store import Store

    return Store(Path(location), retention_days, read_only=read_only)
