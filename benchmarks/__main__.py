"""Run the benchmarks and print their figures with baselines and ratios: `python -m benchmarks [--quick] [NAME ...]`.

Measurements, not tests: a missed goal is reported, never an exit status. `--write FILE` also writes the
results, the machine and the date as Markdown (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

from benchmarks.figures import Figure, table
from benchmarks.report import write_report

# name -> module in this package with run(quick) -> list[Figure], in the order they run and print.
BENCHMARKS = {
    "first_frame": "benchmarks.first_frame",
    "idle": "benchmarks.idle",
    "collector_memory": "benchmarks.collector_memory",
    "keystroke": "benchmarks.keystroke",
    "commit_value": "benchmarks.commit_value",
    "upstream": "benchmarks.upstream",
    "prune_block": "benchmarks.prune_block",
    "poll_concurrency": "benchmarks.poll",
    "rule_evaluation": "benchmarks.rules",
    "windows": "benchmarks.windows",
    "store_ingest": "benchmarks.ingest",
    "store_backends": "benchmarks.backends",
    "status": "benchmarks.status",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="fewer runs and smaller sizes (minutes become seconds)")
    parser.add_argument("--write", type=Path, metavar="FILE", help="also write the results as Markdown")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)} (known: {', '.join(BENCHMARKS)})")
    names = args.names or list(BENCHMARKS)
    figures: list[Figure] = []
    errors: list[str] = []
    started = time.monotonic()
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        begun = time.monotonic()
        try:
            found = importlib.import_module(BENCHMARKS[name]).run(args.quick)
        except Exception:
            errors.append(f"{name}: {traceback.format_exc()}")
            print(f"  {name} failed:\n{traceback.format_exc()}", file=sys.stderr)
            continue
        for figure in found:
            verdict = "info" if figure.met is None else "met" if figure.met else "missed"
            print(f"  {figure.name}: {figure.value:.4g} {figure.unit} ({verdict})", file=sys.stderr)
        print(f"  ({time.monotonic() - begun:.0f} s)", file=sys.stderr, flush=True)
        figures += found
    print()
    print("\n".join(table(figures)))
    for figure in figures:
        if figure.note:
            print(f"- {figure.name}: {figure.note}")
    goals = [f for f in figures if f.met is not None]
    print(f"\n{len(figures)} figures, {sum(bool(f.met) for f in goals)} of {len(goals)} goals met, "
          f"in {time.monotonic() - started:.0f} s" + (f"; {len(errors)} benchmarks failed to run" if errors else ""))
    if args.write:
        write_report(args.write, figures, errors, quick=args.quick)
        print(f"written to {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
