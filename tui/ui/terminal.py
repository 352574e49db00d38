"""The terminal left as it was found: SIGTERM and SIGHUP end the dashboard through Textual's own exit, which
leaves the alternate screen and turns mouse tracking off; a crash leaves its traceback in the log only. A
terminal that goes away with no SIGHUP (its other end closed while it is not the controlling terminal) ends the
dashboard as a SIGHUP would: Textual's input thread would otherwise read end-of-file in a loop, a whole core.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import sys
import threading
from collections.abc import Callable

from tui.core.process import on_signals
from tui.core.process import release_signals as release

logger = logging.getLogger(__name__)

EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
GRACE_S = 5.0  # an app too stuck to exit in this long is ended anyway, so a signal always ends the process


def exit_on_signals(exit_app: Callable[[int], None]) -> None:
    """On SIGTERM or SIGHUP call `exit_app(128 + signal)` on the running loop; hard-exit if that stalls."""
    on_signals(EXIT_SIGNALS, lambda sig: _stop(exit_app, sig))


def release_signals() -> None:
    """Give SIGTERM and SIGHUP back to their defaults, once the app is done with the loop."""
    release(EXIT_SIGNALS)


def _stop(exit_app: Callable[[int], None], sig: signal.Signals) -> None:
    logger.info("stopping on %s", sig.name)
    code = 128 + int(sig)
    stopper = threading.Timer(GRACE_S, os._exit, (code,))
    stopper.daemon = True
    stopper.start()
    exit_app(code)


def terminal_input() -> int | None:
    """The file descriptor the app reads its keys from, if it is a terminal (not in tests, not from a pipe)."""
    stdin = sys.__stdin__
    try:
        fd = stdin.fileno() if stdin is not None else -1
    except (OSError, ValueError):
        return None
    return fd if fd >= 0 and os.isatty(fd) else None


def hung_up(fd: int) -> bool:
    """Whether the terminal on `fd` has been hung up (its other end closed): poll says so without reading."""
    poller = select.poll()
    poller.register(fd, select.POLLHUP)
    try:
        return any(mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, mask in poller.poll(0))
    except OSError:
        return True


def end_if_hung_up(fd: int | None, exit_app: Callable[[int], None]) -> bool:
    """End the app as SIGHUP does when its terminal has gone; call it now and then (the app's clock does)."""
    if fd is None or not hung_up(fd):
        return False
    _stop(exit_app, signal.SIGHUP)
    return True


def log_crash(error: BaseException) -> None:
    """The traceback of an unexpected error, to the log file (never to the terminal)."""
    logger.error("tapecheck stopped on an unexpected error", exc_info=(type(error), error, error.__traceback__))
