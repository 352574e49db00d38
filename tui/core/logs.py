"""The log file: what went wrong and when, kept in the user state dir, never printed under the UI.

`setup_logging()` sends Python logging (ours, and the libraries': ccxt, yfinance, httpx) to a rotating file,
`tapecheck.log` in the user log dir (`$XDG_STATE_HOME/tapecheck/log` on Linux), and to nothing else: no
handler ever writes to the terminal, where it would scribble over the dashboard. Every record passes a filter
that masks secrets (exchange API keys from the config, and anything shaped like `apiKey=...` or
`Authorization: ...`), so a key never reaches the file.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
from collections.abc import Iterable
from pathlib import Path

from tui.core.urls import mask_secrets

MAX_BYTES = 1_000_000
BACKUPS = 3
MASK = "***"
HANDLER_NAME = "tapecheck log file"
QUIET = ("httpx", "httpcore", "hpack", "urllib3", "asyncio", "aiohttp")  # per-request chatter below WARNING
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# key=value, "key": "value" and header forms of the usual secret names
_SECRET_FIELD = re.compile(
    r"(?i)\b(api[_-]?key|apikey|secret|password|passphrase|token|authorization|x-mbx-apikey|ok-access-key|"
    r"cb-access-key|api-key|api-sign)(\"?\s*[:=]\s*\"?)([^\s\"',;}&]+)")


def default_log_path() -> Path:
    from platformdirs import user_log_dir

    return Path(user_log_dir("tapecheck")) / "tapecheck.log"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every given secret and every `apiKey=...`-shaped value replaced by ***."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return _SECRET_FIELD.sub(lambda m: f"{m[1]}{m[2]}{MASK}", mask_secrets(text))


class RedactingFilter(logging.Filter):
    """Masks secrets in a record's final message (arguments merged) and in its exception text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a format string that does not fit its arguments: keep both, unmerged
            message = f"{record.msg} {record.args!r}"
        record.msg = redact(message, self.secrets)
        record.args = None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), self.secrets)
            record.exc_info = None
        return True


def setup_logging(path: Path | None = None, secrets: Iterable[str] = (), level: int = logging.INFO) -> Path | None:
    """Send every log record to the rotating file at `path` (default: the user log dir), secrets masked.

    Returns the file's path, or None when it cannot be created (a read-only home): then records are dropped,
    since printing them would draw over the dashboard.
    """
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == HANDLER_NAME:
            root.removeHandler(old)
            old.close()
    logging.lastResort = None  # no stray record may reach stderr under the UI
    logging.raiseExceptions = False  # nor a "--- Logging error ---" report of a bad format string
    logging.captureWarnings(True)  # warnings too go to the file, not over the screen
    path = path or default_log_path()
    handler: logging.Handler
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS,
                                                       encoding="utf-8")
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)  # the log names hosts and errors: for the user's eyes only
        found: Path | None = path
    except OSError:
        handler, found = logging.NullHandler(), None
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter(secrets))
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    return found
