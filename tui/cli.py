"""The command line: `tapecheck [claims|check] ...`. Argument parsing and output only; the work is elsewhere.

Exit status: 0 when no claim diverged, 1 when at least one did, 2 on bad input (one clear line each);
`record` exits 3 when a source failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tui import format as fmt
from tui.claims import Narratives, load_narratives
from tui.config import Settings, load_settings, user_config_path
from tui.model import Claim, TapecheckError, Verdict
from tui.rules.verdict import STATUS_ORDER, judge_all
from tui.snapshot import parse_time, read_observations
from tui.store import Store, default_store_path
from tui.tape import MemoryTape, Tape
from tui.view import make_context

EXIT_OK, EXIT_DIVERGED, EXIT_BAD_INPUT, EXIT_SOURCE_FAILED = 0, 1, 2, 3


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
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    claims = commands.add_parser("claims", help="list every claim of every article")
    claims.add_argument("--json", action="store_true", help="print JSON instead of a table")

    check = commands.add_parser("check", help="evaluate every claim and say which the data still supports")
    # Options shared with the top level default to SUPPRESS, so that either position works.
    check.add_argument("--snapshot", type=Path, metavar="FILE", help="observations as JSON Lines",
                       default=argparse.SUPPRESS)
    check.add_argument("--now", metavar="ISO", help="the clock for staleness (default: the real clock)",
                       default=argparse.SUPPRESS)
    check.add_argument("--json", action="store_true", help="print JSON instead of a table")
    check.add_argument("--store", type=Path, metavar="PATH", help="the observation store (without --snapshot)",
                       default=argparse.SUPPRESS)

    record = commands.add_parser("record", help="poll the live sources and store what they report")
    record.add_argument("--once", action="store_true", help="poll every source once, then exit")
    record.add_argument("--out", type=Path, metavar="FILE", help="also write the observations as JSON Lines")
    record.add_argument("--store", type=Path, metavar="PATH", help="the observation store (default: user data dir)",
                        default=argparse.SUPPRESS)
    record.add_argument("--no-store", action="store_true", help="write only --out, not the store")

    commands.add_parser("config-path", help="print where tapecheck looks for your config file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
        lang = args.lang or settings.lang
        if args.command == "config-path":
            print(user_config_path())
            return EXIT_OK
        narratives = load_narratives()
        if args.command == "check":
            return run_check(args, settings, narratives, lang)
        if args.command == "record":
            return run_record(args, settings, narratives)
        if args.command == "claims":
            return run_claims(narratives, lang, as_json=args.json)
        return run_dashboard(args, settings, narratives, lang)
    except TapecheckError as error:
        for line in str(error).splitlines():
            print(f"tapecheck: {line}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (| head): not an error worth a traceback
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


def claim_json(claim: Claim, narratives: Narratives) -> dict[str, Any]:
    article = narratives.articles[claim.article]
    rule = claim.rule
    return {
        "id": claim.id,
        "theme": claim.theme,
        "article": claim.article,
        "citation": f"{article.outlet}, “{article.title}” ({article.published.isoformat()})",
        "as_of": claim.as_of.isoformat(),
        "as_of_inferred": claim.as_of_inferred,
        "summary": claim.summary,
        "summary_zh": claim.summary_zh,
        "kind": str(claim.kind),
        "series": list(claim.series),
        "expr": rule.expr if rule else None,
        "op": rule.op if rule else None,
        "value": rule.value if rule else claim.value,
        "unit": rule.unit if rule else claim.unit,
        "tolerance_pct": rule.tolerance_pct if rule else None,
        "figure": claim.figure,
        "note": claim.note,
        "file": f"{claim.file}:{claim.line}",
    }


def run_claims(narratives: Narratives, lang: str, as_json: bool) -> int:
    if as_json:
        print(json.dumps([claim_json(c, narratives) for c in narratives.claims], ensure_ascii=False, indent=1))
        return EXIT_OK
    checks = sum(1 for c in narratives.claims if c.rule)
    print(f"{len(narratives.claims)} claims ({checks} checked against the tape) "
          f"from {len(narratives.articles)} articles\n")
    for theme in narratives.themes:
        claims = [c for c in narratives.claims if c.theme == theme.id]
        print(f"== {theme.title_zh if lang == 'zh' else theme.title} ({len(claims)}) ==")
        for claim in sorted(claims, key=lambda c: (c.rule is None, c.as_of)):
            summary = claim.summary_zh if lang == "zh" else claim.summary
            print(f"  {claim.as_of}  {claim.kind!s:7}  {claim.id}")
            print(f"      {summary}")
            if claim.rule:
                r = claim.rule
                tol = f" ±{r.tolerance_pct:g}%" if r.tolerance_pct else ""
                print(f"      rule: {r.expr} {r.op} {fmt.quantity(r.value, r.unit)}{tol}")
        print()
    return EXIT_OK


def run_check(args: argparse.Namespace, settings: Settings, narratives: Narratives, lang: str) -> int:
    now = datetime.now(UTC)
    if args.now:
        try:
            now = parse_time(args.now)
        except TapecheckError as error:
            raise TapecheckError(f"--now: {error}") from None
    tape: Tape
    if args.snapshot is not None:
        tape = MemoryTape(read_observations(args.snapshot))
    else:
        path = store_path(args.store, settings)
        if not path.exists():
            raise TapecheckError(f"no store at {path} yet: run `tapecheck record` first, or pass --snapshot FILE")
        tape = Store(path, settings.store.retention_days)
    ctx = make_context(tape, now, settings)
    verdicts = judge_all(narratives.claims, ctx)
    if isinstance(tape, Store):
        tape.close()
    if args.json:
        print(json.dumps({"generated_at": datetime.now(UTC).isoformat(), "now": now.isoformat(),
                          "snapshot": None if args.snapshot is None else str(args.snapshot),
                          "verdicts": [verdict_json(v) for v in verdicts]}, ensure_ascii=False, indent=1))
    else:
        print_verdicts(verdicts, narratives, lang, now)
    return EXIT_DIVERGED if any(v.status == "diverged" for v in verdicts) else EXIT_OK


def store_path(option: Path | None, settings: Settings) -> Path:
    return option or (Path(settings.store.path).expanduser() if settings.store.path else default_store_path())


def run_dashboard(args: argparse.Namespace, settings: Settings, narratives: Narratives, lang: str) -> int:
    from tui.app import TapecheckApp, snapshot_app
    from tui.process import limit_malloc_arenas

    limit_malloc_arenas()

    if args.snapshot is not None:
        now = parse_time(args.now) if args.now else None
        app = snapshot_app(settings, narratives, args.snapshot, now, lang)
    else:
        from tui.sources.registry import build_sources
        from tui.sources.wanted import wanted

        store = Store(store_path(args.store, settings), settings.store.retention_days)
        plan = build_sources(settings, wanted(narratives))
        app = TapecheckApp(settings, narratives, mode="LIVE", tape=store, store=store, planned=plan, lang=lang)
    app.run()
    exit_now_if_threads_linger()
    return EXIT_OK


def exit_now_if_threads_linger() -> None:
    """Quit at once even if a worker thread is blocked in a request (yfinance cannot be cancelled).

    Every observation is committed as it arrives, so nothing is lost by not waiting for such threads.
    """
    import os
    import threading

    if any(t.is_alive() and not t.daemon and t is not threading.main_thread() for t in threading.enumerate()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(EXIT_OK)


def run_record(args: argparse.Namespace, settings: Settings, narratives: Narratives) -> int:
    import asyncio

    from tui.recorder import record
    from tui.sources.registry import build_sources
    from tui.sources.wanted import wanted

    store = None if args.no_store else Store(store_path(args.store, settings), settings.store.retention_days)
    if store is None and args.out is None:
        raise TapecheckError("record --no-store needs --out FILE, or nothing would be kept")
    plan = build_sources(settings, wanted(narratives))

    def log(line: str) -> None:
        print(f"tapecheck: {line}", file=sys.stderr)

    try:
        if args.out is None:
            failed = asyncio.run(record(plan, settings.poller, store, None, args.once, log))
        else:
            with args.out.open("w", encoding="utf-8") as out:
                failed = asyncio.run(record(plan, settings.poller, store, out, args.once, log))
    except OSError as error:
        raise TapecheckError(f"{args.out}: cannot write: {error.strerror or error}") from None
    finally:
        if store is not None:
            store.close()
    return EXIT_SOURCE_FAILED if failed else EXIT_OK


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    return {
        "id": verdict.claim_id,
        "theme": verdict.theme,
        "status": str(verdict.status),
        "claim_value": verdict.claim_value,
        "live_value": verdict.live_value,
        "unit": verdict.unit,
        "op": verdict.op,
        "deviation_pct": None if verdict.deviation_pct is None else round(verdict.deviation_pct, 4),
        "age_s": None if verdict.age_s is None else round(verdict.age_s, 1),
        "market_closed": verdict.market_closed,
        "series": list(verdict.series),
        "explanation": verdict.explanation,
    }


def print_verdicts(verdicts: list[Verdict], narratives: Narratives, lang: str, now: datetime) -> None:
    counts: dict[str, int] = {}
    for verdict in verdicts:
        counts[verdict.status] = counts.get(verdict.status, 0) + 1
    summary = ", ".join(f"{counts[s]} {s}" for s in STATUS_ORDER if s in counts)
    print(f"tapecheck at {now:%Y-%m-%d %H:%M:%S} UTC: {summary}\n")
    for theme in narratives.themes:
        rows = sorted((v for v in verdicts if v.theme == theme.id and v.status != "context"),
                      key=lambda v: (STATUS_ORDER[v.status], v.claim_id))
        if not rows:
            continue
        print(f"== {theme.title_zh if lang == 'zh' else theme.title} ==")
        for v in rows:
            claim = narratives.claim(v.claim_id)
            claimed = "—" if v.claim_value is None else fmt.quantity(v.claim_value, v.unit or "ratio")
            live = "—" if v.live_value is None else fmt.quantity(v.live_value, v.unit or "ratio")
            print(f"  {v.status.upper():9} {v.claim_id}")
            print(f"            {claim.summary_zh if lang == 'zh' else claim.summary}")
            print(f"            claimed {v.op} {claimed} · live {live} · off {fmt.signed_pct(v.deviation_pct)}"
                  f" · age {fmt.age(v.age_s)}")
            print(f"            {v.explanation}")
        print()
