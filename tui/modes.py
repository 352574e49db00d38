"""Which command-line flag applies to which mode: a flag given where it does nothing is refused with one line
(exit 2), never silently ignored.

The mode is the command (`check`, `record`, `store copy`, ...) or, with no command, the dashboard's: `live`,
`snapshot` (--snapshot FILE) or `demo` (--demo).
"""

from __future__ import annotations

import argparse

from tui.core.model import TapecheckError

DASHBOARDS = ("live", "snapshot", "demo", "replay")

# flag -> (its argparse dest, the modes it applies to, what it is for in words)
APPLIES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "--lang": ("lang", (*DASHBOARDS, "claims", "check", "articles", "serve"),
               "the dashboard, replay, serve, claims, check and articles"),
    "--snapshot": ("snapshot", ("snapshot", "check", "articles"), "the dashboard, check and articles"),
    "--now": ("now", ("snapshot", "check", "articles"),
              "a snapshot's dashboard (with --snapshot FILE), check and articles; a live clock is the real one"),
    "--store": ("store", ("live", "serve", "collect", "status", "alerts", "check", "articles", "record",
                          "store check", "store repair"),
                "the live dashboard, serve, collect, status, alerts, check, articles, record, store check and "
                "store repair"),
    "--demo": ("demo", ("demo",), "the dashboard alone, with no command and no --snapshot"),
    "--refetch-history": ("refetch_history", ("collect", "record"),
                          "collect and record: the collector fetches the history"),
    "--no-collector": ("no_collector", ("live",), "the live dashboard"),
    "--config": ("config", ("all but", "config-path", "config-schema"),  # every command reads the config, a new one too
                 "every command but config-path and config-schema, which print where your own config file goes "
                 "and what it may hold"),
}

MODE_NAMES = {"live": "the live dashboard", "snapshot": "a snapshot's dashboard (--snapshot FILE)",
              "demo": "the demo (--demo)"}


def mode_of(args: argparse.Namespace) -> str:
    """The mode the arguments ask for; --demo with --snapshot is refused, as neither would show the other."""
    command = args.command
    if command == "store":
        return f"store {args.store_command}"
    if command is not None:
        return str(command)
    if args.demo and args.snapshot is not None:
        raise TapecheckError("--demo and --snapshot: give one (the demo plays its own synthetic tape)")
    return "demo" if args.demo else "snapshot" if args.snapshot is not None else "live"


def refuse_flags_out_of_mode(args: argparse.Namespace) -> str:
    """The mode, once every given flag is known to apply to it; else a TapecheckError naming the first that
    does not and what it is for."""
    mode = mode_of(args)
    for flag, (dest, modes, uses) in APPLIES.items():
        given = getattr(args, dest, None)
        applies = mode not in modes[1:] if modes[0] == "all but" else mode in modes
        if given in (None, False) or applies:
            continue
        raise TapecheckError(f"{flag} does not apply to {MODE_NAMES.get(mode, f'`{mode}`')}; it is for {uses}")
    refuse_within(mode, args)
    return mode


def refuse_within(mode: str, args: argparse.Namespace) -> None:
    """Pairs of a command's own flags that contradict each other, or one that needs another."""
    if mode in ("check", "articles") and args.snapshot is not None and getattr(args, "store", None):
        raise TapecheckError(f"{mode}: --snapshot FILE and --store: give one (the observations come from one)")
    if mode == "record":
        if args.out is None and (args.append or args.force):
            raise TapecheckError(f"record: {'--append' if args.append else '--force'} is for --out FILE, "
                                 "which was not given")
        if args.no_store and getattr(args, "store", None):
            raise TapecheckError("record: --no-store and --store: give one")
