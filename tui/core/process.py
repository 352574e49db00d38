"""Process-wide settings for a long-running tapecheck."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Let the C allocator keep at most `arenas` arenas (glibc only; elsewhere nothing happens).

    glibc gives each thread that allocates an arena of its own, up to eight per core; tapecheck's worker
    threads (yfinance, the store's writes, imports) each fragment one, which costs ~15 MB of resident memory
    for nothing after a few thousand polls. Set before those threads start.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_ARENA_MAX, arenas)
    except (OSError, AttributeError):  # musl and other C libraries have no mallopt
        pass
