"""The command line: `tapecheck [claims|check|record|replay] ...`. Argument parsing only; the work is elsewhere.

Exit status: 0 when no claim diverged, 1 when at least one did (or on an unexpected error, whose traceback
goes to the log only), 2 on bad input (one clear line each); `record` exits 3 when a source failed; `check`
exits 4 when no claim could be checked (every one without data).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

from tui.core.claims import Narratives, load_narratives
from tui.core.config import Settings, load_settings, user_config_path
from tui.core.dates import parse_day
from tui.core.model import Status, TapecheckError, Verdict
from tui.core.printable import printable
from tui.core.report import print_claims, print_verdicts, verdict_json
from tui.core.rules.verdict import judge_all
from tui.core.snapshot import parse_time, read_observations
from tui.core.store import Store, default_store_path
from tui.core.tape import MemoryTape, Tape, end_of_day
from tui.core.then import judge_on, judge_then
from tui.core.view import make_context

if TYPE_CHECKING:
    from tui.ui.app import TapecheckApp

EXIT_OK, EXIT_DIVERGED, EXIT_BAD_INPUT, EXIT_SOURCE_FAILED, EXIT_NOTHING_CHECKED = 0, 1, 2, 3, 4
EXIT_CRASHED = 1


def say(line: str) -> None:
    """One line to stderr, `tapecheck: ` first, with any control character from outside shown escaped."""
    print(f"tapecheck: {printable(line)}", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tapecheck",
        description="Hold what news articles claim against the live market tape.",
    )
    parser.add_argument("--config", type=Path, help="a config file (default: $TAPECHECK_CONFIG, "
                                                    "the user config dir, then the shipped defaults)")
    parser.add_argument("--lang", choices=("en", "zh"), help="language of titles and summaries")
    parser.add_argument("--snapshot", type=Path, metavar="FILE",
                        help="show the dashboard over a JSON Lines file, with no polling")
    parser.add_argument("--now", metavar="ISO", help="with --snapshot: the dashboard's clock")
    parser.add_argument("--store", type=Path, metavar="PATH", help="the observation store (default: user data dir)")
    parser.add_argument("--demo", action="store_true",
                        help="play the shipped demo tape (synthetic data, a few days in a few minutes); "
                             "nothing is stored")
    parser.add_argument("--refetch-history", action="store_true",
                        help="fetch the daily history again and re-judge every claim on its own date")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    claims = commands.add_parser("claims", help="list every claim of every article")
    claims.add_argument("--json", action="store_true", help="print JSON instead of a table")

    check = commands.add_parser("check", help="evaluate every claim and say which the data still supports")
    # Options shared with the top level default to SUPPRESS, so that either position works.
    check.add_argument("--snapshot", type=Path, metavar="FILE", help="observations as JSON Lines",
                       default=argparse.SUPPRESS)
    check.add_argument("--now", metavar="ISO", help="the clock for staleness (default: the real clock)",
                       default=argparse.SUPPRESS)
    check.add_argument("--at", metavar="DATE", help="judge every claim as of the close of a past day "
                                                    "(YYYY-MM-DD), from daily history")
    check.add_argument("--json", action="store_true", help="print JSON instead of a table")
    check.add_argument("--store", type=Path, metavar="PATH", help="the observation store (without --snapshot)",
                       default=argparse.SUPPRESS)

    record = commands.add_parser("record", help="poll the live sources and store what they report")
    record.add_argument("--once", action="store_true", help="poll every source once, then exit")
    record.add_argument("--out", type=Path, metavar="FILE", help="also write the observations as JSON Lines "
                        "(gzip-compressed when FILE ends in .gz); an existing FILE needs --append or --force")
    record.add_argument("--append", action="store_true", help="add to an existing --out FILE")
    record.add_argument("--force", action="store_true", help="replace an existing --out FILE")
    record.add_argument("--store", type=Path, metavar="PATH", help="the observation store (default: user data dir)",
                        default=argparse.SUPPRESS)
    record.add_argument("--no-store", action="store_true", help="write only --out, not the store")
    record.add_argument("--refetch-history", action="store_true", help="fetch the daily history again, "
                        "though the store has it", default=argparse.SUPPRESS)

    replay = commands.add_parser("replay", help="drive the dashboard from a tape, by its timestamps")
    replay.add_argument("tape", type=Path, metavar="TAPE", help="a tape written by `record --out` (JSON Lines)")
    replay.add_argument("--speed", type=float, default=1.0, metavar="N",
                        help="N times faster than real time (default 1; 0: as fast as it can)")
    replay.add_argument("--from", dest="start", metavar="ISO",
                        help="start the clock here (default: the time of the tape's first line)")

    commands.add_parser("config-path", help="print where tapecheck looks for your config file")

    store = commands.add_parser("store", help="look after the observation store")
    actions = store.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    repair = actions.add_parser("repair", help="copy what can be read of a damaged store into a new one at the "
                                               "same path; the damaged file is kept beside it")
    repair.add_argument("--store", type=Path, metavar="PATH", help="the observation store (default: user data dir)",
                        default=argparse.SUPPRESS)
    verify = actions.add_parser("check", help="check every page of the store (a large store has only its small "
                                              "tables checked when it opens)")
    verify.add_argument("--store", type=Path, metavar="PATH", help="the observation store (default: user data dir)",
                        default=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
        lang = args.lang or settings.lang
        for warning in settings.warnings:
            say(f"warning: {warning}")
        if args.command in (None, "record", "replay"):
            start_log(settings, args.command or "dashboard")
        if args.command == "config-path":
            print(user_config_path())
            return EXIT_OK
        if args.command == "store" and args.store_command == "check":
            return run_store_check(store_path(args.store, settings))
        if args.command == "store":
            return run_store_repair(store_path(args.store, settings))
        narratives = load_narratives()
        if args.command == "check":
            return run_check(args, settings, narratives, lang)
        if args.command == "record":
            return run_record(args, settings, narratives)
        if args.command == "claims":
            print_claims(narratives, lang, as_json=args.json)
            return EXIT_OK
        return run_dashboard(args, settings, narratives, lang)
    except TapecheckError as error:
        for line in str(error).splitlines():
            say(line)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (| head): not an error worth a traceback
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug: one line here, the traceback in the log
        return crashed(error)


def crashed(error: BaseException) -> int:
    """Log an unexpected error's traceback (opening the log if this command had not) and say where it is."""
    import logging

    from tui.core.logs import HANDLER_NAME, setup_logging

    if not any(h.get_name() == HANDLER_NAME for h in logging.getLogger().handlers):
        setup_logging()
    logging.getLogger("tui").error("unexpected error", exc_info=(type(error), error, error.__traceback__))
    from tui.core.logs import default_log_path

    say(f"unexpected error: {type(error).__name__}: {error} (the traceback is in {default_log_path()})")
    return EXIT_CRASHED


def start_log(settings: Settings, command: str) -> None:
    """The rotating log file for the long-running commands (the dashboard and `record`), secrets masked."""
    import logging

    from tui import __version__
    from tui.core.logs import setup_logging

    setup_logging(secrets=settings.secrets())
    logger = logging.getLogger("tui")
    logger.info("tapecheck %s %s, config %s", __version__, command, ", ".join(map(str, settings.files)))
    for warning in settings.warnings:
        logger.warning("%s", warning)


def run_check(args: argparse.Namespace, settings: Settings, narratives: Narratives, lang: str) -> int:
    now = option_time(args.now, "--now") if args.now else datetime.now(UTC)
    day = option_day(args.at, now) if args.at else None
    if day is not None and args.now:
        raise TapecheckError("--at DATE and --now: give one (--at judges at the close of that day)")
    tape: Tape
    if args.snapshot is not None:
        tape = MemoryTape(read_observations(args.snapshot))
    else:
        path = store_path(args.store, settings)
        if not path.exists():
            raise TapecheckError(f"no store at {path} yet: run `tapecheck record` first, or pass --snapshot FILE")
        tape = Store(path, settings.store.retention_days)
    try:
        if day is None:
            verdicts = judge_all(narratives.claims, make_context(tape, now, settings))
        else:
            verdicts = judge_on(narratives.claims, tape, day, settings)
        then = judge_then(narratives.claims, tape, settings, tape if isinstance(tape, Store) else None)
    finally:
        if isinstance(tape, Store):
            tape.close()
    moment = now if day is None else end_of_day(day) - timedelta(milliseconds=1)
    if args.json:
        claims = {c.id: c for c in narratives.claims}
        print(json.dumps({"generated_at": datetime.now(UTC).isoformat(), "now": moment.isoformat(),
                          "at": None if day is None else day.isoformat(),
                          "snapshot": None if args.snapshot is None else str(args.snapshot),
                          "verdicts": [verdict_json(v, claims[v.claim_id], then.get(v.claim_id))
                                       for v in verdicts]}, ensure_ascii=False, indent=1))
    else:
        heading = f"at the close of {day}" if day else f"at {now:%Y-%m-%d %H:%M:%S} UTC"
        print_verdicts(verdicts, then, narratives, lang, heading)
    return check_status(verdicts)


def check_status(verdicts: Sequence[Verdict]) -> int:
    """1 if a claim diverged; 4 if none could be judged (each without data, or stale), so that a cron job whose
    store has stopped filling does not read success; else 0."""
    if any(v.status == Status.DIVERGED for v in verdicts):
        return EXIT_DIVERGED
    if not any(v.status == Status.HOLDS for v in verdicts):
        return EXIT_NOTHING_CHECKED
    return EXIT_OK


def option_time(text: str, option: str) -> datetime:
    try:
        return parse_time(text)
    except TapecheckError as error:
        raise TapecheckError(f"{option}: {error}") from None


def option_day(text: str, today: datetime) -> date:
    try:
        day = parse_day(text)
    except TapecheckError as error:
        raise TapecheckError(f"--at: {error}") from None
    if day >= today.date():
        raise TapecheckError(f"--at: {day} has not closed yet; give a past day")
    return day


def store_path(option: Path | None, settings: Settings) -> Path:
    return option or (Path(settings.store.path).expanduser() if settings.store.path else default_store_path())


def run_dashboard(args: argparse.Namespace, settings: Settings, narratives: Narratives, lang: str) -> int:
    from tui.core.process import limit_malloc_arenas
    from tui.ui.app import DEMO, demo_app, replay_app, snapshot_app

    limit_malloc_arenas()

    app: TapecheckApp
    if args.command == "replay":
        start = option_time(args.start, "--from") if args.start else None
        app = replay_app(settings, narratives, args.tape, args.speed, start, lang)
    elif args.demo:
        app = demo_app(settings, narratives, lang)
    elif args.snapshot is not None:
        now = option_time(args.now, "--now") if args.now else None
        app = snapshot_app(settings, narratives, args.snapshot, now, lang)
    else:
        app = live_app(args, settings, narratives, lang)
    if app.run() == DEMO:  # asked for from the live dashboard when nothing answered
        app = demo_app(settings, narratives, app.lang)
        app.run()
    status = app.return_code or EXIT_OK  # 1 after a crash (logged), 128 + N after signal N
    if app.crashed:
        from tui.core.logs import default_log_path

        say(f"the dashboard stopped on an unexpected error (the traceback is in {default_log_path()})")
    exit_now_if_threads_linger(status)
    return status


def live_app(args: argparse.Namespace, settings: Settings, narratives: Narratives, lang: str) -> TapecheckApp:
    from tui.collect.recorder import open_store
    from tui.collect.sources.registry import build_sources, resume_history
    from tui.collect.sources.wanted import wanted
    from tui.ui.app import TapecheckApp

    store, problem = open_store(store_path(args.store, settings), settings.store.retention_days)
    plan = build_sources(settings, wanted(narratives))
    try:
        resume_history(plan, store, args.refetch_history)
    except TapecheckError as error:  # a read-only store: history is fetched in full, nothing else changes
        problem = problem or f"not recording: {error}"
    return TapecheckApp(settings, narratives, mode="LIVE", tape=store, store=store, planned=plan, lang=lang,
                        store_problem=problem)


def exit_now_if_threads_linger(status: int = EXIT_OK) -> None:
    """Quit at once even if a worker thread is blocked in a request (yfinance cannot be cancelled).

    Every observation is committed as it arrives, so nothing is lost by not waiting for such threads.
    """
    import os
    import threading

    if any(t.is_alive() and not t.daemon and t is not threading.main_thread() for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def run_record(args: argparse.Namespace, settings: Settings, narratives: Narratives) -> int:
    import asyncio

    from tui.collect.recorder import record
    from tui.collect.sources.registry import build_sources
    from tui.collect.sources.wanted import wanted

    if args.no_store and args.out is None:
        raise TapecheckError("record --no-store needs --out FILE, or nothing would be kept")
    if args.out is not None:
        check_tape_path(args.out, store_path(args.store, settings), args.append, args.force)
    store = None if args.no_store else Store(store_path(args.store, settings), settings.store.retention_days)
    plan = build_sources(settings, wanted(narratives))

    log = say
    try:
        refetch = args.refetch_history
        if args.out is None:
            failed = asyncio.run(record(plan, settings.poller, store, None, args.once, log, refetch))
        else:
            try:
                out = open_tape(args.out, args.append)
            except OSError as error:
                raise TapecheckError(f"{args.out}: cannot write: {error.strerror or error}") from None
            try:  # a write that fails later is said, and recording goes on
                failed = asyncio.run(record(plan, settings.poller, store, out, args.once, log, refetch))
            finally:
                try:
                    out.close()
                except OSError as error:  # what the last flush could not write was said and counted already
                    say(f"{args.out}: cannot finish the tape: {error.strerror or error}")
    finally:
        if store is not None:
            store.close()
    return EXIT_SOURCE_FAILED if failed else EXIT_OK


def check_tape_path(out: Path, store: Path, append: bool, force: bool) -> None:
    """Refuse a tape path that would destroy something: the store itself, or an existing file unasked."""
    if append and force:
        raise TapecheckError("record: --append and --force: give one")
    target = out.resolve()
    if any(target == Path(f"{store.resolve()}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")):
        raise TapecheckError(f"record --out {out}: that is the store's own file; give the tape another name")
    if out.is_dir():
        raise TapecheckError(f"record --out {out}: is a folder; give a file name")
    if out.exists() and not (append or force) and out.stat().st_size > 0:
        raise TapecheckError(f"record --out {out}: the file exists; add --append to add to it or --force to "
                             "replace it")


def open_tape(path: Path, append: bool) -> IO[str]:
    """The tape file for writing, through gzip when its name ends in .gz (appending adds a gzip member, which
    readers take as one stream)."""
    import gzip

    mode = "a" if append else "w"
    if path.suffix == ".gz":
        return cast(IO[str], gzip.open(path, f"{mode}t", encoding="utf-8"))
    return path.open(mode, encoding="utf-8")


def run_store_repair(path: Path) -> int:
    from tui.core.storefile import repair

    def make_store(new: Path) -> None:
        Store(new).close()

    salvage = repair(path, make_store)
    damaged = (f"; {len(salvage.damaged_series)} series had unreadable parts, read around them: "
               f"{', '.join(salvage.damaged_series[:5])}" if salvage.damaged_series else "")
    say(f"copied {salvage.observations:,} observations of {salvage.series} series into a new store at {path}{damaged}")
    say(f"the damaged file is kept at {salvage.kept_at}; daily history will be fetched and judged again")
    return EXIT_OK


def run_store_check(path: Path) -> int:
    """Every page of the store, through `PRAGMA quick_check`; a damaged store is bad input (2), with what to do."""
    import sqlite3
    from contextlib import closing

    from tui.core.storefile import check_health, check_identity

    if not path.is_file():
        raise TapecheckError(f"no store at {path}")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            check_identity(db, path)
            check_health(db, path, full=True)
    except sqlite3.DatabaseError as error:
        from tui.core.storefile import describe_open_error

        raise TapecheckError(describe_open_error(path, error)) from None
    say(f"{path}: the store is sound")
    return EXIT_OK
