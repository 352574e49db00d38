"""The command line: `tapecheck` opens the dashboard (a viewer of the store, which starts a collector when none
runs); `tapecheck COMMAND ...` runs one of the commands `tapecheck --help` lists (collect, status, check, record,
store, draft, ...). Argument parsing only; the work is elsewhere.

Exit status: 0 when no claim diverged, 1 when at least one did (or on an unexpected error, whose traceback
goes to the log only), 2 on bad input (one clear line each); `record` exits 3 when a source failed; `check`
exits 4 when no claim could be checked (every one without data).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

from tui.core.config import LANGS, Settings, config_schema, load_settings, user_config_path
from tui.core.model import Status, TapecheckError
from tui.core.oserrors import file_in_the_way, why
from tui.core.printable import printable
from tui.core.store.location import open_store
from tui.core.urls import is_url, mask_secrets
from tui.modes import refuse_flags_out_of_mode

if TYPE_CHECKING:  # the rest is imported where it is used: `status` loads only what reads the store
    from tui.core.model import Verdict
    from tui.core.narratives.claims import Narratives
    from tui.core.store.protocol import Store
    from tui.core.tape import Tape
    from tui.ui.app import TapecheckApp

EXIT_OK, EXIT_DIVERGED, EXIT_BAD_INPUT, EXIT_SOURCE_FAILED, EXIT_NOTHING_CHECKED = 0, 1, 2, 3, 4
EXIT_CRASHED = 1


def say(line: str) -> None:
    """One line to stderr, `tapecheck: ` first, with any control character from outside shown escaped and any
    password in a URL masked. A terminal gone (its tmux pane closed: EIO) is no error: the log file keeps what
    matters."""
    with contextlib.suppress(OSError):
        print(f"tapecheck: {printable(mask_secrets(line))}", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tapecheck",
        description="Hold what news articles claim against the live market tape.",
    )
    parser.add_argument("--config", type=Path, help="a config file (default: $TAPECHECK_CONFIG, "
                                                    "the user config dir, then the shipped defaults)")
    parser.add_argument("--lang", choices=LANGS, help="language of titles and summaries")
    parser.add_argument("--snapshot", type=Path, metavar="FILE",
                        help="show the dashboard over a JSON Lines file, with no polling")
    parser.add_argument("--now", metavar="ISO", help="with --snapshot: the dashboard's clock")
    parser.add_argument("--store", metavar="PATH|URL", help="the observation store: a SQLite file or a "
                        "postgresql://user@host:port/db URL (default: [store] in the config, else the user data dir)")
    parser.add_argument("--demo", action="store_true",
                        help="play the shipped demo tape (synthetic data, a few days in a few minutes); "
                             "nothing is stored")
    parser.add_argument("--refetch-history", action="store_true",
                        help="fetch the daily history again and re-judge every claim on its own date")
    parser.add_argument("--no-collector", action="store_true",
                        help="a viewer that never starts a collector, even when none runs for its store")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    collect = commands.add_parser("collect", help="the one process that polls the sources and writes the store; "
                                                  "dashboards only read it")
    collect.add_argument("--store", metavar="PATH|URL", help="the observation store (default: user data "
                         "dir)", default=argparse.SUPPRESS)
    collect.add_argument("--refetch-history", action="store_true", help="fetch the daily history again, "
                         "though the store has it", default=argparse.SUPPRESS)
    collect.add_argument("--linger", type=float, metavar="SECONDS", help=argparse.SUPPRESS)  # started by a dashboard

    status = commands.add_parser("status", help="one line for a status bar or cron: diverged and stale claims, "
                                                "BTC, the collector")
    status.add_argument("--json", action="store_true", help="print JSON instead of the line")
    status.add_argument("--store", metavar="PATH|URL", help="the observation store (default: user data dir)",
                        default=argparse.SUPPRESS)

    alerts = commands.add_parser("alerts", help="the alerts the collector fired (verdict flips, your alert rules), "
                                                "newest first")
    alerts.add_argument("--since", metavar="ISO", help="only alerts at or after this time")
    alerts.add_argument("--json", action="store_true", help="print JSON instead of a line per alert")
    alerts.add_argument("--store", metavar="PATH|URL", help="the observation store (default: user data dir)",
                        default=argparse.SUPPRESS)

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
    check.add_argument("--store", metavar="PATH|URL", help="the observation store (without --snapshot)",
                       default=argparse.SUPPRESS)

    articles = commands.add_parser("articles", help="each article's scorecard: its claims in article order, "
                                                    "held or wrong then, holding or diverged now, its errors")
    articles.add_argument("--json", action="store_true", help="print JSON instead of a table")
    articles.add_argument("--snapshot", type=Path, metavar="FILE", help="observations as JSON Lines",
                          default=argparse.SUPPRESS)
    articles.add_argument("--now", metavar="ISO", help="the clock for staleness (default: the real clock)",
                          default=argparse.SUPPRESS)
    articles.add_argument("--store", metavar="PATH|URL", help="the observation store (without --snapshot)",
                          default=argparse.SUPPRESS)

    record = commands.add_parser("record", help="poll the live sources and store what they report")
    record.add_argument("--once", action="store_true", help="poll every source once, then exit")
    record.add_argument("--out", type=Path, metavar="FILE", help="also write the observations as JSON Lines "
                        "(gzip-compressed when FILE ends in .gz); an existing FILE needs --append or --force")
    record.add_argument("--append", action="store_true", help="add to an existing --out FILE")
    record.add_argument("--force", action="store_true", help="replace an existing --out FILE")
    record.add_argument("--store", metavar="PATH|URL", help="the observation store (default: user data dir)",
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

    store = commands.add_parser("store", help="look after stores: copy, check, repair")
    actions = store.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    copy = actions.add_parser("copy", help="copy a store to another (SQLite file or PostgreSQL URL), "
                                                  "then compare counts and checksums")
    copy.add_argument("--from", dest="source", required=True, metavar="PATH|URL", help="the store to copy")
    copy.add_argument("--to", dest="destination", required=True, metavar="PATH|URL",
                      help="a new or empty store to copy into")
    copy.add_argument("--resume", action="store_true", help="finish a copy that was interrupted (the store it "
                      "left is marked incomplete, and refused until then)")

    repair = actions.add_parser("repair", help="copy what can be read of a damaged store into a new one at the "
                                               "same path; the damaged file is kept beside it")
    repair.add_argument("--store", metavar="PATH", help="the observation store (default: user data dir)",
                        default=argparse.SUPPRESS)
    verify = actions.add_parser("check", help="check every page of the store (a large store has only its small "
                                              "tables checked when it opens)")
    verify.add_argument("--store", metavar="PATH", help="the observation store (default: user data dir)",
                        default=argparse.SUPPRESS)

    draft = commands.add_parser("draft", help="draft a narrative file from a pasted article (Chinese or English): "
                                              "one claim per figure, a proposed rule where one lines up")
    draft.add_argument("article", type=Path, metavar="ARTICLE", help="the article's text, UTF-8")
    draft.add_argument("--out", type=Path, metavar="FILE", help="write the draft here (default: stdout)")
    draft.add_argument("--force", action="store_true", help="replace an existing --out FILE")
    draft.add_argument("--id", dest="article_id", metavar="SLUG", help="the article's id (default: from the file name)")
    draft.add_argument("--outlet", help="who published it (default: a 来源/Source line, else inferred)")
    draft.add_argument("--title", help="its headline (default: its first short line)")
    draft.add_argument("--published", metavar="DATE", help="its date, YYYY-MM-DD (default: the latest date it names)")

    serve = commands.add_parser("serve", help="the dashboard in a browser: one viewer per tab, behind a token "
                                              "(http://127.0.0.1:8040/?token=...)")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1; "
                       "another needs --public)")
    serve.add_argument("--port", type=int, default=8040, help="the port to listen on (default 8040; 0: any free one)")
    serve.add_argument("--public", action="store_true", help="allow --host to be an address other machines reach "
                       "(plain HTTP: put a TLS proxy in front)")
    serve.add_argument("--token-file", type=Path, metavar="FILE", help="read the token from FILE's first line "
                       "(default: a new random token, printed once in the URL)")
    serve.add_argument("--max-viewers", type=int, default=8, metavar="N", help="open tabs at most (default 8)")
    serve.add_argument("--no-color", action="store_true", help="the viewers without colour (NO_COLOR)")
    serve.add_argument("--store", metavar="PATH|URL", help="the observation store (default: user data dir)",
                       default=argparse.SUPPRESS)
    serve.add_argument("--config", type=Path, help="a config file", default=argparse.SUPPRESS)
    serve.add_argument("--lang", choices=LANGS, help="language of titles and summaries",
                       default=argparse.SUPPRESS)

    commands.add_parser("config-path", help="print where tapecheck looks for your config file")
    commands.add_parser("config-schema", help="print config.toml's keys, types, bounds and docs as JSON Schema, for "
                                              "editors (taplo, Even Better TOML)")

    lint = commands.add_parser("lint", help="check your own narrative files: rules, units, series, themes, "
                                            "ids unique across every file (shipped ones too)")
    lint.add_argument("files", type=Path, nargs="+", metavar="FILE", help="narrative files (TOML)")

    new = commands.add_parser("new-article", help="write a new article file in your narratives folder, with "
                                                  "one example claim of each kind, and print its path")
    new.add_argument("--id", dest="article_id", metavar="ID", help="the article's id, a lower-case slug (default: "
                                                                   "article-YYYYMMDD)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        refuse_flags_out_of_mode(args)
        if args.command == "config-schema":  # before the config is read: a broken one is when the schema helps
            print(json.dumps(config_schema(), indent=2, ensure_ascii=False))
            return EXIT_OK
        settings = load_settings(args.config)
        lang = args.lang or settings.lang
        for warning in settings.warnings:
            say(f"warning: {warning}")
        if args.command in (None, "record", "replay", "collect"):
            start_log(settings, args.command or "dashboard")
        if args.command == "config-path":
            print(user_config_path())
            return EXIT_OK
        if args.command == "store" and args.store_command in ("check", "repair"):
            where = store_location(str(args.store) if args.store else None, settings)
            if is_url(where):
                raise TapecheckError(f"store {args.store_command} is for a SQLite file; PostgreSQL checks and "
                                     "repairs itself")
            run = run_store_check if args.store_command == "check" else run_store_repair
            return run(Path(where))
        if args.command == "alerts":
            return run_alerts(args, settings)
        if args.command == "lint":
            return run_lint(args.files, settings)
        if args.command == "serve":  # its viewers load the narratives, each in its own process
            return run_serve(args, settings)
        if args.command == "status":  # reads the collector's summary: the narratives only when it must judge
            return run_status(args, settings, partial(load_status_narratives, settings))
        from tui.core.narratives.cache import cached_narratives

        narratives = cached_narratives(user_dirs=settings.narrative_dirs, max_claims=settings.max_claims)
        if args.command == "new-article":
            return run_new_article(args.article_id, settings, narratives)
        if narratives.problems and args.command not in (None, "replay", "collect"):
            for line in narratives.problems:  # the dashboard and the collector say it in their own way
                say(line)
        broken = EXIT_BAD_INPUT if narratives.problems else EXIT_OK
        if args.command == "check":  # the rest is judged and printed; a broken file still fails the run
            code = run_check(args, settings, narratives, lang)
            return broken or code
        if args.command == "record":
            return run_record(args, settings, narratives)
        if args.command == "collect":
            return run_collect(args, settings, narratives)
        if args.command == "store":
            return run_store_copy(args, settings)
        if args.command == "claims":
            from tui.core.judge.report import print_claims

            print_claims(narratives, lang, as_json=args.json)
            return broken
        if args.command == "articles":
            return run_articles(args, settings, narratives, lang)
        if args.command == "draft":
            return run_draft(args, settings, narratives)
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


def run_lint(files: list[Path], settings: Settings) -> int:
    """`lint FILE…`: one line per problem, `FILE:LINE: message`; exit 2 on any, else 0 and a summary."""
    from tui.core.narratives.claims import lint_files

    problems, claims = lint_files(files, settings.narrative_dirs)
    for line in problems:
        print(printable(line))
    if problems:
        return EXIT_BAD_INPUT
    print(f"{len(files)} file{'s' if len(files) != 1 else ''} clean: {claims} claim{'s' if claims != 1 else ''}")
    return EXIT_OK


def run_new_article(article_id: str | None, settings: Settings, narratives: Narratives) -> int:
    from tui.core.narratives.scaffold import new_article

    if not settings.narrative_dirs:
        raise TapecheckError("new-article: [narratives] dirs is empty in your config: no folder to write into")
    path = new_article(settings.narrative_dirs[0], article_id, datetime.now(UTC).date(),
                       frozenset(narratives.articles))
    print(path)
    return EXIT_OK


def crashed(error: BaseException) -> int:
    """Log an unexpected error's traceback (opening the log if this command had not) and say where it is."""
    import logging

    from tui.core.logs import HANDLER_NAME, default_log_path, setup_logging

    ours = [h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME]
    if not any(getattr(h, "baseFilename", None) == str(default_log_path()) for h in ours):
        setup_logging()
    logging.getLogger("tui").error("unexpected error", exc_info=(type(error), error, error.__traceback__))

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


def collect_command(config: Path | None, location: str) -> str:
    """The command that starts a collector for this store with this config, as a hint shows it (a password
    masked): `tapecheck --config my.toml collect --store /data/desk.sqlite`."""
    import shlex

    from tui.core.urls import mask_url

    shown = mask_url(location) if is_url(location) else location
    config_part = f"--config {shlex.quote(str(config))} " if config else ""
    return f"tapecheck {config_part}collect --store {shlex.quote(shown)}"


def open_existing_store(args: argparse.Namespace, settings: Settings) -> Store:
    """The store to read (read-only), or a TapecheckError saying none is there yet."""
    location = store_location(args.store, settings)
    need_store(location, f"start a collector with `{collect_command(args.config, location)}`")
    return open_store(location, settings.store.retention_days, read_only=True)


def run_alerts(args: argparse.Namespace, settings: Settings) -> int:
    """The alert log, newest first, a line each (`*`: not acknowledged), or JSON; the store opened read-only."""
    since = option_time(args.since, "--since") if args.since else None
    store = open_existing_store(args, settings)
    try:
        alerts = store.alerts(since=since, limit=100_000)
    finally:
        store.close()
    if args.json:
        print(json.dumps({"since": args.since and f"{since:%Y-%m-%dT%H:%M:%SZ}", "alerts": [a.json() for a in alerts]},
                         ensure_ascii=False))
        return EXIT_OK
    for alert in alerts:
        mark = " " if alert.acked else "*"
        delivery = f" [{alert.delivery}]" if alert.delivery not in ("", "ok") else ""
        print(printable(f"{mark} {alert.at:%Y-%m-%d %H:%M:%S} {alert.line}{delivery}"))
    if not alerts:
        print("no alerts" + (f" since {since:%Y-%m-%d %H:%M:%S} UTC" if since else ""))
    return EXIT_OK


def load_status_narratives(settings: Settings) -> Narratives:
    """The narratives `status` judges, when it must: a broken file of the user's is said, as check says it."""
    from tui.core.narratives.cache import cached_narratives
    narratives = cached_narratives(user_dirs=settings.narrative_dirs, max_claims=settings.max_claims)
    for line in narratives.problems:
        say(line)
    return narratives


def run_status(args: argparse.Namespace, settings: Settings, narratives: Callable[[], Narratives]) -> int:
    """One line from the store (read-only); the exit status is check's: 1 when a claim diverged, 4 when none
    could be judged."""
    from tui.core.judge.status import store_status
    from tui.core.quickstatus import keep_settings

    keep_settings(args.config, settings)  # what the fast path (tui/__main__.py) needs of a config seen valid
    store = open_existing_store(args, settings)
    try:
        status = store_status(store, narratives, settings, datetime.now(UTC))
    finally:
        store.close()
    print(json.dumps(status.json(), ensure_ascii=False) if args.json else status.line)
    return status.exit_status


def run_check(args: argparse.Namespace, settings: Settings, narratives: Narratives, lang: str) -> int:
    from tui.core.judge.report import print_verdicts, verdict_json
    from tui.core.judge.then import judge_on, judge_then
    from tui.core.judge.view import make_context
    from tui.core.narratives.rules.verdict import judge_all
    from tui.core.store.protocol import Store
    from tui.core.tape import end_of_day
    now = option_time(args.now, "--now") if args.now else datetime.now(UTC)
    day = option_day(args.at, now) if args.at else None
    if day is not None and args.now:
        raise TapecheckError("--at DATE and --now: give one (--at judges at the close of that day)")
    from tui.core.narratives.rules.columnar import POLARS_WINDOWS
    tape = open_tape(args, settings)
    try:
        if day is None:
            verdicts = judge_all(narratives.claims, make_context(tape, now, settings, windows=POLARS_WINDOWS))
        else:
            verdicts = judge_on(narratives.claims, tape, day, settings, POLARS_WINDOWS)
        then = judge_then(narratives.claims, tape, settings, tape if isinstance(tape, Store) else None,
                          POLARS_WINDOWS)
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
    return check_status(verdicts, frozenset(c.id for c in narratives.claims if c.draft))


def check_status(verdicts: Sequence[Verdict], drafts: frozenset[str] = frozenset()) -> int:
    """1 if a claim diverged; 4 if none could be judged (each without data, or stale), so that a cron job whose
    store has stopped filling does not read success; else 0. A draft, not yet confirmed, counts for neither."""
    counted = [v for v in verdicts if v.claim_id not in drafts]
    if any(v.status == Status.DIVERGED for v in counted):
        return EXIT_DIVERGED
    if not any(v.status == Status.HOLDS for v in counted):
        return EXIT_NOTHING_CHECKED
    return EXIT_OK


def open_tape(args: argparse.Namespace, settings: Settings) -> Tape:
    """The observations `check` and `articles` read: a snapshot file, or the store."""
    from tui.core.snapshot import load_tape
    from tui.core.tape import MemoryTape
    if args.snapshot is not None:
        read = load_tape(args.snapshot, settings.poller.dispute_factor)
        for warning in read.warnings:
            print(printable(warning), file=sys.stderr)
        return MemoryTape(read.observations, read.disputed)
    where = store_location(args.store, settings)
    need_store(where, f"run `{collect_command(args.config, where)}` first, or pass --snapshot FILE")
    try:
        return open_store(where, settings.store.retention_days)
    except TapecheckError:
        if is_url(where) or (os.access(where, os.W_OK) and os.access(Path(where).parent, os.W_OK)):
            raise
    return open_store(where, settings.store.retention_days, read_only=True)  # a read-only filesystem: read it


def run_articles(args: argparse.Namespace, settings: Settings, narratives: Narratives, lang: str) -> int:
    """Each article's scorecard. Exits 0: a scorecard reports, it does not fail on a diverged claim."""
    from tui.core.judge.report import print_articles
    from tui.core.judge.then import judge_then
    from tui.core.judge.view import make_context
    from tui.core.narratives.rules.verdict import judge_all
    from tui.core.store.protocol import Store
    now = option_time(args.now, "--now") if args.now else datetime.now(UTC)
    from tui.core.narratives.rules.columnar import POLARS_WINDOWS
    where = store_location(args.store, settings)
    if args.snapshot is None and not is_url(where) and not Path(where).exists() \
            and file_in_the_way(Path(where)) is None:  # a path no store can be at is an error, said below
        # no data yet: what the articles say is known without it; every verdict reads "no data"
        hint = f"no store at {where} yet: run `tapecheck collect` for data, or pass --snapshot FILE"
        print_articles(narratives, {}, {}, lang, as_json=args.json, no_data=hint)
        return EXIT_OK
    tape = open_tape(args, settings)
    try:
        verdicts = {v.claim_id: v for v in judge_all(narratives.claims,
                                                     make_context(tape, now, settings, windows=POLARS_WINDOWS))}
        then = judge_then(narratives.claims, tape, settings, tape if isinstance(tape, Store) else None,
                          POLARS_WINDOWS)
    finally:
        if isinstance(tape, Store):
            tape.close()
    print_articles(narratives, verdicts, then, lang, as_json=args.json)
    return EXIT_OK


def run_draft(args: argparse.Namespace, settings: Settings, narratives: Narratives) -> int:
    from tui.core.dates import parse_day
    from tui.core.narratives.draft.build import DraftRequest, draft_file, save_draft
    from tui.core.narratives.draft.segment import read_article

    request = DraftRequest(read_article(args.article), args.article.name, args.article_id, args.outlet, args.title,
                           parse_day(args.published) if args.published else None)
    text = draft_file(request, narratives, settings.draft.aliases_path())
    if args.out is None:
        sys.stdout.write(text)
    else:
        location = store_location(None, settings)
        refuse_store_file(args.out, None if is_url(location) else Path(location), "draft --out")
        save_draft(args.out, text, args.force)
        claims, rules = text.count("\n[[claims]]\n"), text.count("\ndraft = true\n")
        say(f"draft written to {args.out}: {claims} claims, {rules} with a proposed rule to confirm")
    return EXIT_OK


def option_time(text: str, option: str) -> datetime:
    from tui.core.snapshot import parse_time

    try:
        return parse_time(text)
    except TapecheckError as error:
        raise TapecheckError(f"{option}: {error}") from None


def option_day(text: str, today: datetime) -> date:
    from tui.core.dates import parse_day

    try:
        day = parse_day(text)
    except TapecheckError as error:
        raise TapecheckError(f"--at: {error}") from None
    if day >= today.date():
        raise TapecheckError(f"--at: {day} has not closed yet; give a past day")
    return day


def need_store(where: str, hint: str, prefix: str = "") -> None:
    """A TapecheckError unless a store file is there (a URL is tried when opened): a file where a folder
    should be is named, and what to do is said."""
    if is_url(where):
        return
    path = Path(where)
    blocker = file_in_the_way(path)
    if blocker is not None:
        raise TapecheckError(f"{prefix}{where}: no store can be there: {blocker} is a file, not a folder")
    if path.is_dir():
        raise TapecheckError(f"{prefix}{where}: is a folder; give the store's file, e.g. {path / 'tapecheck.sqlite'}")
    if not path.exists():
        raise TapecheckError(f"{prefix}no store at {where} yet: {hint}")


def store_location(option: str | None, settings: Settings) -> str:
    """--store, else [store] url, else [store] path, else the user data dir: a file path or a PostgreSQL URL."""
    from tui.core.store.sqlite import default_store_path
    if option:
        return option if is_url(option) else str(Path(option).expanduser())
    if settings.store.url:
        return settings.store.url
    return str(Path(settings.store.path).expanduser() if settings.store.path else default_store_path())


def run_dashboard(args: argparse.Namespace, settings: Settings, narratives: Narratives, lang: str) -> int:
    from tui.core.process import limit_malloc_arenas
    from tui.ui.app import demo_app, replay_app, snapshot_app

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
    if app.feed.mode in ("LIVE", "SNAPSHOT"):  # the first frame's state, read before Textual starts: the dashboard
        app.feed.prepare()                    # has it as it opens (a replay's clock starts with the app)
    store = app.store  # D switches to the demo and back within the app: this store stays open meanwhile
    try:
        app.run()
    finally:
        if store is not None:
            store.close()
    status = app.return_code or EXIT_OK  # 1 after a crash (logged), 128 + N after signal N
    if app.crashed:
        from tui.core.logs import default_log_path

        say(f"the dashboard stopped on an unexpected error (the traceback is in {default_log_path()})")
    exit_now_if_threads_linger(status)
    return status


def live_app(args: argparse.Namespace, settings: Settings, narratives: Narratives, lang: str) -> TapecheckApp:
    """A viewer of the store over its own read-only connection; it starts a collector when none runs."""
    from tui.ui.app import live_app as viewer

    path = store_location(args.store, settings)
    store = live_store(path, settings)
    starter = None if args.no_collector else partial(start_collector, args.config, path, settings)
    return viewer(settings, narratives, store, lang, starter, collect_command(args.config, path))


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    """`serve`: the dashboard in a browser, until SIGINT or SIGTERM (exit 0)."""
    import ipaddress
    import socket

    from tui.core.logs import setup_logging
    from tui.core.urls import without_password
    from tui.serve.server import CollectorKeeper, ServeOptions, serve
    from tui.serve.token import make_token, read_token

    try:
        local = args.host == "localhost" or ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        local = False
    if not local and not args.public:
        raise TapecheckError(f"serve --host {args.host}: other machines could reach it, over plain HTTP; add "
                             "--public to mean it (and put a TLS proxy in front)")
    if args.max_viewers < 1:
        raise TapecheckError(f"serve --max-viewers {args.max_viewers}: give 1 or more")
    if not 0 <= args.port <= 65535:
        raise TapecheckError(f"serve --port {args.port}: give a port from 1 to 65535 (0: any free one)")
    token = read_token(args.token_file) if args.token_file else make_token()
    setup_logging(secrets=(*settings.secrets(), token))
    path = store_location(args.store, settings)
    viewer_store = path
    if is_url(path):  # the viewers' command line shows no password: they read it from the environment
        viewer_store, password = without_password(path)
        if password:
            os.environ["PGPASSWORD"] = password
    argv = (sys.executable, "-m", "tui", *(["--config", str(args.config)] if args.config else []),
            *(["--lang", args.lang] if args.lang else []), "--store", viewer_store, "--no-collector")
    options = ServeOptions(args.host, args.port, token, args.max_viewers, argv, args.no_color)
    store = live_store(path, settings)

    def announce(port: int) -> None:
        host = socket.gethostname() if args.host in ("0.0.0.0", "::") else args.host  # every address: name one
        host = f"[{host}]" if ":" in host else host
        shown = "<the token in " + str(args.token_file) + ">" if args.token_file else token
        print(f"http://{host}:{port}/?token={shown}", flush=True)
        say(f"serving the dashboard of {store.location} to at most {args.max_viewers} tabs; stop with Ctrl+C")
        if args.public:
            say(f"warning: listening on {args.host}:{port} over plain HTTP: the token and every screen cross the "
                "network unencrypted unless a TLS proxy stands in front (README: In a browser)")

    try:
        serve(options, CollectorKeeper(store, partial(start_collector, args.config, path, settings), say), announce)
    finally:
        store.close()
    return EXIT_OK


def live_store(path: str, settings: Settings) -> Store:
    """The store at `path`, read-only, made first when there is none yet (a first run)."""
    try:
        return open_store(path, settings.store.retention_days, read_only=True)
    except TapecheckError:  # a first run (or a collector making it now): make the store, then read it
        open_store(path, settings.store.retention_days).close()
        return open_store(path, settings.store.retention_days, read_only=True)


def start_collector(config: Path | None, path: str, settings: Settings) -> str:
    """Start `tapecheck collect` for the store at `path` in the background: detached, in its own session,
    logging to the log file; it stops once no dashboard has been attached for `[collector] linger_s`."""
    import subprocess

    from tui.core.logs import default_log_path
    from tui.core.urls import mask_url, without_password

    env = dict(os.environ)
    shown = path
    if is_url(path):  # a password never goes on a command line, where `ps` shows it: the child reads it here
        path, password = without_password(path)
        if password:
            env["PGPASSWORD"] = password
        shown = mask_url(path)
    argv = [sys.executable, "-m", "tui", *(["--config", str(config)] if config else []), "collect",
            "--store", str(path), "--linger", f"{settings.collector.linger_s:g}"]
    try:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env,
                                 stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    except OSError as error:
        raise TapecheckError(f"cannot start a collector: {error.strerror or error}") from None
    return (f"No collector was running for {shown}: started one in the background (pid {child.pid}). It stops "
            f"{settings.collector.linger_s:g} s after the last dashboard closes; its log: {default_log_path()}")


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


def run_collect(args: argparse.Namespace, settings: Settings, narratives: Narratives) -> int:
    """The one collector of a store, until SIGINT or SIGTERM (exit 0), or a second one (exit 2)."""
    import asyncio

    from tui.collect.collector import CollectorRunning, collect, running_collector_message
    from tui.collect.sources.registry import build_sources
    from tui.collect.sources.wanted import wanted
    from tui.core.process import limit_malloc_arenas

    limit_malloc_arenas()
    store = open_store(store_location(args.store, settings), settings.store.retention_days)
    try:
        if not store.try_lock_collector():  # before anything heavy: a second collector says so at once
            raise CollectorRunning(running_collector_message(store))
        plan = build_sources(settings, wanted(narratives, settings.alerts.rules))

        log = say
        log(f"collecting into {store.location} (pid {os.getpid()}); dashboards: tapecheck --store {store.location}; "
            f"stop with Ctrl+C or SIGTERM")
        asyncio.run(collect(settings, narratives, store, plan, log, linger_s=args.linger,
                            refetch_history=getattr(args, "refetch_history", False)))
    finally:
        store.close()
    return EXIT_OK


def run_record(args: argparse.Namespace, settings: Settings, narratives: Narratives) -> int:
    import asyncio

    from tui.collect.collector import CollectorRunning, running_collector_message
    from tui.collect.recorder import record
    from tui.collect.sources.registry import build_sources
    from tui.collect.sources.wanted import wanted

    if args.no_store and args.out is None:
        raise TapecheckError("record --no-store needs --out FILE, or nothing would be kept")
    location = store_location(args.store, settings)
    if args.out is not None and not is_url(location):
        check_tape_path(args.out, Path(location), args.append, args.force)
    store = None if args.no_store else open_store(location, settings.store.retention_days)
    if store is not None and not store.try_lock_collector():  # one process polls for a store
        message = running_collector_message(store)
        store.close()
        raise CollectorRunning(f"{message}; it records already (record --no-store --out FILE writes a tape alone)")
    plan = build_sources(settings, wanted(narratives, settings.alerts.rules))

    log = say
    try:
        refetch = args.refetch_history
        if args.out is None:
            failed = asyncio.run(record(plan, settings.poller, store, None, args.once, log, refetch))
        else:
            made = not args.out.exists()  # only a tape this run made is removed when nothing went into it
            try:
                out = open_tape_file(args.out, args.append)
            except OSError as error:
                raise TapecheckError(f"{args.out}: cannot write: {why(args.out, error)}") from None
            try:  # a write that fails later is said, and recording goes on
                failed = asyncio.run(record(plan, settings.poller, store, out, args.once, log, refetch))
            finally:
                try:
                    out.close()
                except OSError as error:  # what the last flush could not write was said and counted already
                    say(f"{args.out}: cannot finish the tape: {why(args.out, error)}")
                if made and args.out.is_file() and tape_is_empty(args.out):  # nothing recorded: no empty tape
                    args.out.unlink(missing_ok=True)
                    say(f"{args.out}: nothing was recorded, so no tape was written")
    finally:
        if store is not None:
            store.close()
    return EXIT_SOURCE_FAILED if failed else EXIT_OK


def run_store_copy(args: argparse.Namespace, settings: Settings) -> int:
    """`store copy`: exit 0 when every count and checksum agrees, 2 when the copy differs or cannot be made."""
    from tui.core.store.copy import copy_store, report

    need_store(args.source, "give the store to copy", "--from: ")
    if not is_url(args.source) and not is_url(args.destination) and Path(args.destination).exists() \
            and os.path.samefile(args.source, args.destination):
        raise TapecheckError(f"store copy: --from and --to are the same file ({args.destination})")
    source = open_store(args.source, settings.store.retention_days)
    try:
        destination = open_store(args.destination, settings.store.retention_days, copying=True)
        try:
            sums = copy_store(source, destination,
                              lambda n: print(f"tapecheck: copied {n:,} observations", file=sys.stderr), args.resume)
            for line in report(sums, source, destination):
                print(mask_secrets(line))
        finally:
            destination.close()
    finally:
        source.close()
    return EXIT_OK if all(s.same for s in sums) else EXIT_BAD_INPUT


def check_tape_path(out: Path, store: Path, append: bool, force: bool) -> None:
    """Refuse a tape path that would destroy something: the store itself, or an existing file unasked."""
    if append and force:
        raise TapecheckError("record: --append and --force: give one")
    refuse_store_file(out, store, "record --out")
    if out.is_dir():
        raise TapecheckError(f"record --out {out}: is a folder; give a file name")
    if out.exists() and not (append or force) and out.stat().st_size > 0:
        raise TapecheckError(f"record --out {out}: the file exists; add --append to add to it or --force to "
                             "replace it")


def refuse_store_file(out: Path, store: Path | None, what: str) -> None:
    """Refuse to write `out` when it is the store's file or one of its side files, compared as files (a hard
    or symbolic link to the store is the store), or any SQLite database at all."""
    from tui.core.store.file import SIDE_FILES

    for suffix in ("", *SIDE_FILES) if store is not None else ():
        side = f"{store}{suffix}"
        same = os.path.realpath(out) == os.path.realpath(side)  # a side file that comes and goes
        with suppress(OSError):
            same = same or os.path.samefile(out, side)  # a hard link is the same file under another name
        if same:
            raise TapecheckError(f"{what} {out}: that is the store's own file; give another name")
    with suppress(OSError), open(out, "rb") if out.is_file() else open(os.devnull, "rb") as existing:
        if existing.read(16) == b"SQLite format 3\x00":
            raise TapecheckError(f"{what} {out}: that file is an SQLite database (a store?); give another name")
def tape_is_empty(path: Path) -> bool:
    """Whether the tape holds no line (a .gz file may have its gzip header and nothing else)."""
    import gzip

    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as tape:
                return not tape.read(1)
        return path.stat().st_size == 0
    except (OSError, EOFError):
        return False


def open_tape_file(path: Path, append: bool) -> IO[str]:
    """The tape file for writing, through gzip when its name ends in .gz (appending adds a gzip member, which
    readers take as one stream)."""
    import gzip

    mode = "a" if append else "w"
    if path.suffix == ".gz":
        return cast(IO[str], gzip.open(path, f"{mode}t", encoding="utf-8"))
    return path.open(mode, encoding="utf-8")


def run_store_repair(path: Path) -> int:
    from tui.core.store.file import repair
    from tui.core.store.sqlite import Store

    def make_store(new: Path) -> None:
        Store(new).close()

    salvage = repair(path, make_store)
    if salvage.sound:
        say(f"{path}: the store is sound: nothing to repair, nothing moved")
        return EXIT_OK
    damaged = (f"; {len(salvage.damaged_series)} series had unreadable parts, read around them: "
               f"{', '.join(salvage.damaged_series[:5])}" if salvage.damaged_series else "")
    say(f"copied {salvage.observations:,} observations of {salvage.series} series into a new store at {path}{damaged}")
    for table in salvage.tables:
        found = "?" if table.found is None else f"{table.found:,}"
        lost = f"; not kept: {table.lost}" if table.lost else ""
        say(f"{table.table}: kept {table.kept:,} of {found} rows{lost}")
    say(f"the damaged file is kept at {salvage.kept_at}")
    return EXIT_OK


def run_store_check(path: Path) -> int:
    """Every page of the store, through `PRAGMA quick_check`; a damaged store is bad input (2), with what to do."""
    import sqlite3
    from contextlib import closing

    from tui.core.store.file import check_health, check_identity
    from tui.core.store.sqlite import COPY_MARK, connect_read_only, incomplete_message

    need_store(str(path), "give the store's path with --store")
    try:
        with closing(connect_read_only(path)) as db:
            tables = {str(r[0]) for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "observations" not in tables or "meta" not in tables:  # a 0-byte file, an empty database
                raise TapecheckError(f"{path}: not a tapecheck store (no tables of ours); nothing to check")
            check_identity(db, path)
            check_health(db, path, full=True)
            mark = db.execute("SELECT value FROM meta WHERE key = ?", (COPY_MARK,)).fetchone()
            if mark is not None:
                raise TapecheckError(incomplete_message(str(path), str(mark[0])))
    except sqlite3.DatabaseError as error:
        from tui.core.store.file import describe_open_error

        raise TapecheckError(describe_open_error(path, error)) from None
    say(f"{path}: the store is sound")
    return EXIT_OK
