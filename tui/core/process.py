"""Process-wide settings for a long-running tapecheck, and the one way it takes signals."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
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
