"""docs/benchmarks.md: the last run's figures, with the machine, its load and the date."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.figures import Figure, table

MARKER = "<!-- results: written by python -m benchmarks --write docs/benchmarks.md; text above is kept -->"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}), Python "
            f"{sys.version.split()[0]}; load average (1, 5, 15 min) at the end of the run: {load}")


def write_report(path: Path, figures: Sequence[Figure], errors: Sequence[str], quick: bool) -> None:
    """Replace the results part of `path` (after MARKER), keeping the hand-written text above it."""
    head = path.read_text().split(MARKER)[0].rstrip() + "\n\n" if path.exists() else "# Benchmarks\n\n"
    lines = [MARKER, "", f"Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC{' (--quick)' if quick else ''}.",
             f"Machine: {machine()}.", "", *table(figures), ""]
    lines += [f"- **{f.name}**: {f.note}" for f in figures if f.note]
    if errors:
        lines += ["", "Benchmarks that failed to run:", ""] + [f"```\n{e}```" for e in errors]
    path.write_text(head + "\n".join(lines) + "\n")
