"""Process-wide settings for a long-running tapecheck, and the one way it takes signals."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import os
import signal
import sys
from collections.abc import Callable, Iterable

M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Let the C allocator keep at most `arenas` arenas (glibc only; elsewhere nothing happens).

    glibc gives each thread that allocates an arena of its own, up to eight per core; tapecheck's worker
    threads (yfinance, the store's writes, imports) each fragment one, which costs ~15 MB of resident memory
    for nothing after a few thousand polls. Set before those threads start.
    """
    libc = _libc()
    if libc is not None:
        with contextlib.suppress(AttributeError):  # musl and other C libraries have no mallopt
            libc.mallopt(M_ARENA_MAX, arenas)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library on Linux (glibc's soname first: `find_library` runs `ldconfig -p` in a child process)."""
    if not sys.platform.startswith("linux"):
        return None
    with contextlib.suppress(OSError):
        return ctypes.CDLL("libc.so.6")
    name = ctypes.util.find_library("c")
    with contextlib.suppress(OSError, TypeError):
        return ctypes.CDLL(name)
    return None


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None (another platform or C library)."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):  # musl answers nothing (or raises): no malloc_trim there
            return None
    except (OSError, ValueError):
        return None
    libc = _libc()
    trim: Callable[[int], int] | None = getattr(libc, "malloc_trim", None) if libc is not None else None
    return trim


def release_free_memory() -> bool:
    """Give the C allocator's free pages back to the system (glibc's malloc_trim; elsewhere nothing happens, and
    False). A long-running collector's threads leave freed memory in their arenas, which glibc keeps resident:
    ~10 MB after 10,000 polls. It takes a few milliseconds: call it now and then, from a worker thread."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def on_signals(signals: Iterable[signal.Signals], act: Callable[[signal.Signals], object]) -> None:
    """The one signal installer: `act(sig)` runs on the running event loop when one of `signals` arrives.
    Where a loop cannot take signals (not the main thread, another platform) nothing is installed."""
    loop = asyncio.get_running_loop()
    for sig in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, act, sig)


def release_signals(signals: Iterable[signal.Signals]) -> None:
    """Give `signals` back to their defaults (the running loop's handlers removed); nothing without a loop."""
    with contextlib.suppress(RuntimeError):
        loop = asyncio.get_running_loop()
        for sig in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
