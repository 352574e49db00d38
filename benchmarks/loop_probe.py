"""Run tapecheck with a probe of its event loop: `LOOP_PROBE_OUT=FILE python -m benchmarks.loop_probe [ARGS ...]`.

The probe is an asyncio task started with the app (its on_mount, wrapped here) that sleeps 5 ms again and again;
whenever a sleep comes back late by 2 ms or more, something held the event loop, and the probe appends a line
`END_MONOTONIC LATE_MS` to FILE (time.monotonic() is the same clock in every process on Linux). The first
line is `start MONOTONIC`. With LOOP_PROBE_DEBUG=1 the loop also runs in asyncio's debug mode and logs (to
tapecheck's log file) every callback that holds it 40 ms or more, naming it: what the blocks are.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

SLEEP_S = 0.005
REPORTED_S = 0.002


async def probe(out: Path) -> None:
    if os.environ.get("LOOP_PROBE_DEBUG") == "1":
        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        loop.slow_callback_duration = 0.04
    with out.open("a", encoding="utf-8") as file:
        file.write(f"start {time.monotonic():.4f}\n")
        file.flush()
        while True:
            before = time.monotonic()
            await asyncio.sleep(SLEEP_S)
            late = time.monotonic() - before - SLEEP_S
            if late >= REPORTED_S:
                file.write(f"{time.monotonic():.4f} {late * 1000:.1f}\n")
                file.flush()


def blocks(out: Path, start: float, end: float) -> list[float]:
    """The lateness in ms of every block of the loop that ended between `start` and `end` (monotonic)."""
    found = []
    for line in out.read_text().splitlines():
        moment, late = line.split()
        if moment != "start" and start <= float(moment) <= end:
            found.append(float(late))
    return found


def main(args: list[str]) -> int:
    import tui.cli
    from tui.ui.app import TapecheckApp

    out = Path(os.environ["LOOP_PROBE_OUT"])
    mounted = TapecheckApp.on_mount
    tasks: list[asyncio.Task[None]] = []

    def on_mount(self: TapecheckApp) -> None:
        mounted(self)
        tasks.append(asyncio.create_task(probe(out)))  # kept: a task nobody holds may be collected

    TapecheckApp.on_mount = on_mount  # type: ignore[method-assign]
    return tui.cli.main(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
