"""`tapecheck status` in the time of a bare Python, while a collector keeps its summary in a SQLite store.

`python -m tui status` (and the `tapecheck` command) try this before tui.cli is imported: it reads the store's
few rows the line needs (the collector's summary, BTC's latest values, health, unacknowledged alerts) with
sqlite3 and tui.core.statusline, and prints the line the full path (tui.core.judge.status) would print. It
answers only when everything is as that path would find it at its plainest; anything else returns None and
the full path runs, and says what it says today: a command line other than `status [--json] [--store S]`
(after `--config F`, `--store S`), a config not yet seen valid, a PostgreSQL store, a file that is not a store
of this version or fails its check, no collector running, no fresh summary, any error at all.

The config is not read here. The full path, once it has loaded and validated it with no warning, keeps what
status needs of it ([store] path, whether a [store] url is set, [staleness] crypto) in the user cache dir,
under the identity (device, inode, size, mtime, ctime) of each file it was read from and of the modules that
read it; the fast path uses that only while every identity still matches, so that an edited, replaced, removed
or newly made config file, or an upgrade, sends status down the full path, which reports a broken config as
today. (A config's alert rules are checked by the rule language, whose modules are not in the key: an edit of
those alone, in a checkout, is seen once the config or config.py changes.)
"""

from __future__ import annotations

import os
import sqlite3
import stat
import sys
from datetime import UTC, datetime, timedelta

from tui.core.locks import collector_holds
from tui.core.statusline import BTC, StoreStatus, failing_sources, fresh_summary
from tui.core.store.facts import (
    APPLICATION_ID,
    BUSY_TIMEOUT_MS,
    COPY_MARK,
    FOREVER_MS,
    FULL_CHECK_BYTES,
    LAST_PER_SOURCE,
    OUR_TABLES,
)

TYPE_CHECKING = False  # neither typing nor json (nor re, which both import) is loaded on the fast path
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from tui.core.config import Settings

ENV_VAR = "TAPECHECK_CONFIG"  # tui.core.config.ENV_VAR
RECORD = "status-config.json"  # in the user cache dir
FORMAT = "tapecheck-status-config-1"
_HERE = os.path.dirname(os.path.realpath(__file__))
# The modules that decide whether a config is valid and what it means: a change to any of them is a new record.
_CODE = tuple(os.path.join(_HERE, name) for name in ("config.py", "configspec.py", "tomlfile.py", "quickstatus.py"))
RECENT_S = 2.0  # a config file changed this recently may have changed after it was read: not recorded

# What tui.core.store opens a read-only store with and checks: stated once, in tui.core.store.facts (a module
# of constants that imports nothing); SCHEMA_VERSION is tui.core.store.sqlite's, which counts its migrations
# (tests/test_quick_status.py keeps them equal).
SMALL_TABLES = tuple(sorted(OUR_TABLES - {"observations"}))  # those PRAGMA quick_check reads in a large store
SCHEMA_VERSION = "4"  # tui.core.store.sqlite.SCHEMA_VERSION
# Each source's last disputed value of a series at or before ? (tui.core.store.base.SqlStore.disputed_latest).
DISPUTED_LATEST = ("SELECT ts FROM disputed d WHERE series = ? AND ts = (SELECT MAX(ts) FROM disputed e "
                   "WHERE e.series = d.series AND e.source = d.source AND e.ts <= ?)")
SPLIT_FACTOR = 2.0  # tui.core.narratives.rules.evaluate.SPLIT_FACTOR


def main(argv: Sequence[str]) -> int | None:
    """Print the status line and return its exit status, or None (nothing printed) for the full path."""
    try:
        found = quick_status(argv, datetime.now(UTC))
        if found is None:
            return None
        status, as_json = found
        line = status.line
        if as_json:
            import json

            line = json.dumps(status.json(), ensure_ascii=False)
    except KeyboardInterrupt:
        return 130  # as tui.cli.main
    except Exception:  # whatever it is, the full path meets it again and says it as it should
        return None
    try:
        print(line, flush=True)
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (| head): as tui.cli.main
        return 0
    except OSError:  # the full path meets it again and says it as it should
        return None
    return status.exit_status


class _Json:
    """json.JSONDecoder()'s settings, for its C scanner."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__


def parse_json(text: str) -> Any:
    """json.loads(text), by the C scanner json.loads itself uses, without importing json and re (a ValueError
    for what is not one JSON value); json.loads where CPython's scanner is not there."""
    try:
        from _json import make_scanner
    except ImportError:
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip(" \t\n\r"))
    try:
        found, end = make_scanner(_Json())(text, start)  # type: ignore[arg-type]
    except StopIteration:
        raise ValueError("not JSON") from None
    if text.startswith("\ufeff") or text[end:].strip(" \t\n\r"):
        raise ValueError("not one JSON value")
    return found


def quick_status(argv: Sequence[str], now: datetime) -> tuple[StoreStatus, bool] | None:
    """The status of the store `argv` names and whether --json was given, or None for the full path."""
    options = status_options(argv)
    if options is None or sys.platform != "linux":  # other platforms' dirs are platformdirs' to say
        return None
    config, option, as_json = options
    kept = kept_settings(config)
    if kept is None:
        return None
    location = store_location(option, kept)
    if location is None:
        return None
    found = read_store(location, float(kept["crypto_max_age_s"]), now)
    return None if found is None else (found, as_json)


def status_options(argv: Sequence[str]) -> tuple[str | None, str | None, bool] | None:
    """(--config, --store, --json) of `[--config F] [--store S] status [--store S] [--json]`; None for any other
    command line (argparse reads it, and says what is wrong with it)."""
    config: str | None = None
    store: str | None = None
    as_json = seen = False
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        name, equals, value = arg.partition("=")
        if arg == "status" and not seen:
            seen = True
        elif arg == "--json" and seen and not as_json:
            as_json = True
        elif name in ("--config", "--store") and (name == "--store" or not seen):
            if not equals:
                if not rest:
                    return None
                value = rest.pop(0)
            if not value or value.startswith("-") or (config if name == "--config" else store) is not None:
                return None
            config, store = (value, store) if name == "--config" else (config, value)
        else:
            return None
    return (config, store, as_json) if seen else None


def user_dir(kind: str) -> str | None:
    """platformdirs' user_{kind}_dir("tapecheck") on Linux: $XDG_{KIND}_HOME when absolute, else under an
    absolute $HOME; None where platformdirs would look further (no HOME, a relative one)."""
    base = os.environ.get(f"XDG_{kind.upper()}_HOME", "")
    if not os.path.isabs(base):
        home = os.environ.get("HOME", "")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, {"config": ".config", "data": ".local/share", "cache": ".cache"}[kind])
    return os.path.join(base, "tapecheck")


def _identity(path: str) -> list[int] | None:
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return None
    return [found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns]


def shipped_config() -> str:
    """tui.core.config.shipped_config_path(): packaged beside the code, else at the repository root."""
    packaged = os.path.join(_HERE, "default_config.toml")
    return packaged if os.path.exists(packaged) else os.path.join(os.path.dirname(os.path.dirname(_HERE)),
                                                                  "config.toml")


def _config_files(config: str | None) -> list[str] | None:
    """The files load_settings(config) reads, in its order (the shipped defaults, then the user's, if any)."""
    chosen = config or os.environ.get(ENV_VAR) or None
    if chosen is None:
        folder = user_dir("config")
        if folder is None:
            return None
        mine = os.path.join(folder, "config.toml")
        chosen = mine if os.path.exists(mine) else None
    return [shipped_config(), *([chosen] if chosen else [])]


def _key(files: list[str]) -> list[Any]:
    return [FORMAT, [_identity(path) for path in files], [_identity(path) for path in _CODE]]


def _record_path() -> str | None:
    folder = user_dir("cache")
    return None if folder is None else os.path.join(folder, RECORD)


def kept_settings(config: str | None) -> dict[str, Any] | None:
    """What the full path kept of the config `config` names (or finds), while its files are as it read them."""
    files, where = _config_files(config), _record_path()
    if files is None or where is None:
        return None
    try:
        with open(where, encoding="utf-8") as kept:
            record = parse_json(kept.read())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != _key(files) or None in record["key"][1]:
        return None
    return record


def keep_settings(config: object, settings: Settings) -> None:
    """After the full path loaded `settings` (from `--config` `config`, or found), keep what status needs of
    them for the fast path, unless they warned of something or a file changed just now. Never an error."""
    where = _record_path()
    files = _config_files(None if config is None else str(config))
    if where is None or files is None or settings.warnings:
        return
    key = _key(files)
    read = [_identity(str(path)) for path in settings.files]
    if None in key[1] or read != key[1] or any(abs(datetime.now().timestamp() - i[3] / 1e9) < RECENT_S
                                              for i in read if i):
        return
    record = {"key": key, "store_path": settings.store.path, "store_url": bool(settings.store.url),  # no password
              "crypto_max_age_s": settings.staleness.max_age_s(BTC)}
    if kept_settings(None if config is None else str(config)) == record:
        return  # kept already: a status with no collector, run every few seconds, writes nothing
    import json

    temporary = f"{where}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(where), exist_ok=True)
        with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.replace(temporary, where)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            return


def store_location(option: str | None, kept: dict[str, Any]) -> str | None:
    """tui.cli.store_location for a SQLite file: --store, else [store] path, else the user data dir; None for a
    PostgreSQL URL or a path the full path should look at."""
    if option is not None:
        where = os.path.expanduser(option)
    elif kept["store_url"]:
        return None
    elif kept["store_path"]:
        where = os.path.expanduser(str(kept["store_path"]))
    else:
        folder = user_dir("data")
        if folder is None:
            return None
        where = os.path.join(folder, "tapecheck.sqlite")
    return None if "://" in where or any(c in where for c in "?#%") else where


def read_store(path: str, max_age_s: float, now: datetime) -> StoreStatus | None:
    """The status of the store file at `path` from its collector's fresh summary, or None."""
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(found.st_mode) or not collector_holds(path):
        return None
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10, isolation_level=None)
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not sound(db, found.st_size):
            return None
        meta = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('schema_version', 'summary', ?)",
                               (COPY_MARK,)).fetchall())
        if meta.get("schema_version") != SCHEMA_VERSION or COPY_MARK in meta:
            return None
        info = db.execute("SELECT pid, host, started_at, paused FROM collector").fetchone()
        if info is not None:  # read as tui.core.store.rows.collector_row reads it: a bad row is the full path's
            _ = (int(info[0]), str(info[1]), _moment(int(info[2])))
        collector = "paused" if info is not None and bool(info[3]) else "ok"
        text = meta.get("summary")
        kept = parse_json(text) if text else None
        summary = fresh_summary(kept if isinstance(kept, dict) else None, now)
        if summary is None:
            return None
        counts, wrong, ours = summary
        btc, age, stale = last_btc(db, now, max_age_s)
        failing = failing_sources((str(s), str(k), str(st)) for s, k, st in
                                  db.execute("SELECT source, kind, state FROM health"))
        unacked = int(db.execute("SELECT COUNT(*) FROM alerts WHERE acked_at IS NULL").fetchone()[0])
    finally:
        db.close()
    return StoreStatus(counts, btc, age, collector, wrong, "collector", diverged_ours=ours, failing=failing,
                       unacked=unacked, btc_stale=stale)


def sound(db: sqlite3.Connection, size: int) -> bool:
    """Whether the store passes what tui.core.store.file checks at open (its application id, PRAGMA quick_check
    of every page, or of its small tables for a large store); else the full path says what is wrong."""
    if db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        return False
    if size <= FULL_CHECK_BYTES:
        return [str(r[0]) for r in db.execute("PRAGMA quick_check")] == ["ok"]
    present = {str(r[0]) for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return all([str(r[0]) for r in db.execute(f"PRAGMA quick_check({name})")] == ["ok"]
               for name in SMALL_TABLES if name in present)


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)  # tui.core.store.rows.from_ms


def last_btc(db: sqlite3.Connection, now: datetime, max_age_s: float) -> tuple[float | None, float | None, bool]:
    """BTC/USD now as `last()` reads it (tui.core.narratives.rules.evaluate.last, for a series that trades around
    the clock): each source's latest value, the median of the fresh ones (else of all, stale), its age and
    whether it is stale; no value when there is none, when only disputed values are fresh, or the sources split."""
    now_ms = int(now.timestamp() * 1000)
    row = db.execute("SELECT id FROM series WHERE name = ?", (BTC,)).fetchone()
    if row is None:
        return None, None, False
    rows = db.execute(LAST_PER_SOURCE, {"id": row[0], "until": FOREVER_MS, "since": 0}).fetchall()
    if any(int(ts) > now_ms for _, ts, _ in rows):
        rows = db.execute(LAST_PER_SOURCE, {"id": row[0], "until": now_ms, "since": 0}).fetchall()
    if not rows:
        return None, None, False
    latest = [(_moment(int(ts)), float(value)) for _, ts, value in rows]
    after = now - timedelta(seconds=max_age_s)
    fresh = [(ts, value) for ts, value in latest if ts >= after]
    if not fresh:
        disputed = db.execute(DISPUTED_LATEST, (BTC, FOREVER_MS)).fetchall()
        if any(int(ts) > now_ms for (ts,) in disputed):
            disputed = db.execute(DISPUTED_LATEST, (BTC, now_ms)).fetchall()
        if any(_moment(int(ts)) >= after for (ts,) in disputed):
            return None, None, False
    used = fresh or latest
    values = sorted(value for _, value in used)
    middle = len(values) // 2
    if len(values) % 2:
        value = values[middle]
    elif values[middle - 1] > 0 and values[middle] / values[middle - 1] > SPLIT_FACTOR:
        return None, None, False
    else:
        value = (values[middle - 1] + values[middle]) / 2
    return float(value), max((now - ts).total_seconds() for ts, _ in used), not fresh
