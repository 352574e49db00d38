"""Schema versions and migrations, one runner for both store backends.

A store's `meta` table holds its `schema_version`. Each backend lists its migrations in order: the first
creates the schema of version 1, the n-th brings version n-1 to n. `pending` says which still have to run
(a fresh store runs them all), and refuses a store written by a newer tapecheck rather than guessing at it.
The backend runs each step in one transaction, under a lock, re-reading the version inside it, so that two
processes opening an old store at once migrate it once.
"""

from __future__ import annotations

from collections.abc import Sequence

from tui.core.model import TapecheckError


def pending(found: str | None, migrations: Sequence[str], where: str) -> list[tuple[int, str]]:
    """The (version, script) steps that bring a store at version `found` (None: a new store) up to date."""
    target = len(migrations)
    if found is None:
        current = 0
    else:
        try:
            current = int(found)
        except ValueError:
            raise TapecheckError(f"{where}: store schema version {found!r} is not a number") from None
    if current > target:
        raise TapecheckError(f"{where}: store schema version {current}, this tapecheck reads up to {target}: "
                             f"use a newer tapecheck")
    return [(version, migrations[version - 1]) for version in range(current + 1, target + 1)]


def statements(script: str) -> list[str]:
    """A script's statements (ours hold no semicolons inside strings), blank ones and comments left out."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
