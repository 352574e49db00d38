"""Whether a collector holds a SQLite store: its flock on the store's own file, or an older collector's lock file
beside it. Only os and fcntl: `tapecheck status`'s fast path (tui.core.quickstatus) asks it too."""

from __future__ import annotations

import fcntl
import os


def collector_holds(path: str | os.PathLike[str]) -> bool:
    """Whether a collector holds the store at `path`. Tested before SQLite opens the file: closing another
    descriptor of it later would drop SQLite's locks."""
    for target in (os.fspath(path), f"{os.fspath(path)}.collector.lock"):
        try:
            fd = os.open(target, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)
    return False
