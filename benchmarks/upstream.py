"""Upstream requests: what the sources are asked while 5 viewers are open, against the same with 1.

Two setups run side by side over the same window, each with fakes of its own (which count the requests they
serve), a store holding the benchmark tape and a collector at the shipped intervals: one with a single viewer,
one with five. Viewers read the store only, so both should ask the same; the collectors start together and
poll on the same clock (each source at multiples of its interval). The window (2 minutes, 30 s with --quick)
starts once both collectors' sources, the daily history included, have answered.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

from benchmarks.fakes import Fakes, running_fakes
from benchmarks.figures import Figure
from benchmarks.processes import PANELS_SHOWN, CollectorProcess, viewer_argv
from benchmarks.tape import store_copy
from benchmarks.terminal import Terminal


def served(fakes: Fakes) -> int:
    """Requests the fakes have served so far."""
    return sum(len(fake.requests) for fake in (fakes.exchange, fakes.mempool, fakes.yahoo))


def measure(quick: bool, window_s: float, viewers: tuple[int, ...] = (1, 5)) -> list[int]:
    """Requests served during the window, per setup (one setup per entry of `viewers`)."""
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        setups = []
        for n in viewers:
            fakes = stack.enter_context(running_fakes())
            store = store_copy(quick, f"upstream-{n}")
            config = fakes.config(tmp / f"config-{n}.toml")
            collector = stack.enter_context(CollectorProcess(config, store, tmp / f"collector-{n}.log"))
            setups.append((fakes, collector, [stack.enter_context(Terminal(viewer_argv(config, store)))
                                              for _ in range(n)]))
        for _, collector, terms in setups:
            for term in terms:
                term.wait_for(PANELS_SHOWN, timeout=180)
            collector.wait_until_polled(timeout=180, history=True)
        time.sleep(2)  # the polls under way when the last source answered
        before = [served(fakes) for fakes, _, _ in setups]
        time.sleep(window_s)
        return [served(fakes) - b for (fakes, _, _), b in zip(setups, before, strict=True)]


def run(quick: bool) -> list[Figure]:
    window = 30.0 if quick else 120.0
    one, five = measure(quick, window)
    return [Figure(f"upstream requests, 5 viewers open for {window:.0f} s", five, "", one,
                   "1 viewer, same window", "the same as with 1", five <= one,
                   f"served by the fakes: {five} with 5 viewers, {one} with 1 (two collectors side by side at the "
                   f"shipped intervals)")]
