"""Commit → value: from a commit to the store until every viewer's terminal shows the committed value.

Viewers (`tapecheck --no-collector`, 120x40 ptys) watch a store holding the benchmark tape. The benchmark
writes as a collector does, through `Store.append` from another process: one ORCL price at a time (a series
on the first panel), each a value no screen has shown, 1.5 s apart. A sample is the time from the append's
return (the commit) until the value's text reaches a viewer's pty. First one viewer alone (the baseline),
then five at once.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.fakes import running_fakes
from benchmarks.figures import Figure, percentile
from benchmarks.processes import PANELS_SHOWN, viewer_argv
from benchmarks.tape import store_copy
from benchmarks.terminal import Terminal
from tui.core import format as fmt
from tui.core.model import Observation
from tui.core.store.sqlite import Store

SERIES, UNIT, SOURCE = "equity:ORCL:last", "USD", "yahoo"
SPACING_S = 1.5


def commits(store: Store, viewers: list[Terminal], count: int, first_value: float) -> list[float]:
    """Append `count` new values; the seconds from each commit until each viewer showed it."""
    found = []
    for i in range(count):
        value = first_value + i * 1.37
        marker = fmt.quantity(value, UNIT, fmt.series_kind([SERIES]))  # as the dashboard quotes it
        since = [term.offset for term in viewers]
        store.append([Observation(SERIES, value, UNIT, datetime.now(UTC), SOURCE)])
        committed = time.perf_counter()
        for term, offset in zip(viewers, since, strict=True):
            shown = term.started + term.wait_for(marker, timeout=30, since=offset)
            found.append(shown - committed)
        time.sleep(SPACING_S)
    return found


def measure(store_path: Path, viewers: int, count: int) -> tuple[list[float], list[float]]:
    """(the samples with one viewer, with `viewers` viewers)."""
    with running_fakes() as fakes, tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        config = fakes.config(Path(tmp) / "config.toml")
        store = Store(store_path)
        stack.callback(store.close)
        terms = [stack.enter_context(Terminal(viewer_argv(config, store_path)))]
        terms[0].wait_for(PANELS_SHOWN, timeout=120)
        time.sleep(2)
        alone = commits(store, terms, count, 301.11)
        terms += [stack.enter_context(Terminal(viewer_argv(config, store_path))) for _ in range(viewers - 1)]
        for term in terms:
            term.wait_for(PANELS_SHOWN, timeout=120)
        time.sleep(2)
        together = commits(store, terms, count, 401.11)
    return alone, together


def run(quick: bool) -> list[Figure]:
    count = 4 if quick else 12
    alone, together = measure(store_copy(quick, "commit-value"), 5, count)
    p95, base = percentile(together, 0.95), percentile(alone, 0.95)
    return [Figure(f"commit → value on every viewer, 5 viewers (p95 of {len(together)})", p95, "s", base,
                   "one viewer alone", "p95 ≤ 1 s", p95 <= 1.0,
                   f"5 viewers: median {percentile(together, 0.5):.2f} s, max {max(together):.2f} s; one viewer: "
                   f"median {percentile(alone, 0.5):.2f} s, max {max(alone):.2f} s; viewers ask for a commit "
                   f"after each write to the store's files (Store.wait_for_change)")]
