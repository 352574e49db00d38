"""The terminal left as it was found: SIGTERM and SIGHUP end the dashboard through Textual's own exit, which
leaves the alternate screen and turns mouse tracking off; a crash leaves its traceback in the log only.
"""

from __future__ import annotations

import logging
import os
import signal
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


def log_crash(error: BaseException) -> None:
    """The traceback of an unexpected error, to the log file (never to the terminal)."""
    logger.error("tapecheck stopped on an unexpected error", exc_info=(type(error), error, error.__traceback__))
