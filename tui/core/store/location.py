"""Opening a store: a file path (SQLite) or a `postgresql://` URL (PostgreSQL).

`open_store` is the one way in; the PostgreSQL backend (and psycopg with it) is imported only when a URL is
given, so SQLite users never load it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tui.core.urls import is_url

if TYPE_CHECKING:
    from tui.core.store.protocol import Store


def open_store(location: str | Path, retention_days: int = 400, *, read_only: bool = False,
               copying: bool = False) -> Store:
    """The store at `location`: a PostgreSQL URL or a SQLite file path (`read_only`: a viewer's; `copying`: the
    destination of `store copy`, which may be one an interrupted copy left). A TapecheckError (one line, password
    masked) when it cannot be opened: wrong credentials, an unreachable host, not a store, an incomplete copy."""
    if is_url(str(location)):
        from tui.core.store.postgres import PgStore

        return PgStore(str(location), retention_days, read_only=read_only, copying=copying)
    from tui.core.store.sqlite import SqliteStore

    return SqliteStore(Path(location), retention_days, read_only=read_only, copying=copying)

