"""A viewer's watch on the store: one state per burst of commits, built off the event loop.

A collector commits in bursts (each exchange's observations, then its health, all polled at the same moment):
a state built after each commit judges the same claims several times a second. The watch waits for the burst
to settle (no commit for GATHER_S, and never longer than BURST_S after its first commit, so that a commit
still reaches the screen within a second) and builds one state for all of it. With no commit for
QUIET_REBUILD_S it builds a state anyway, for the ages and staleness, reading no alert and no health again.
Nothing here imports Textual: the app runs `StoreWatch.run` in a thread worker and passes its callbacks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from tui.core.judge.engine import DashboardState, Engine

GATHER_S = 0.15  # a commit this soon after the last one belongs to the same burst
BURST_S = 0.4  # a burst is cut this long after its first commit: commit -> screen stays well within 1 s
QUIET_REBUILD_S = 15  # staleness moves even when no data arrives: a state after this long without a change
WATCH_S = 1.0  # how often the watch looks at the collector and the narrative files between commits
RETRY_S = 2.0  # after a failed read of the store


class WatchedStore(Protocol):
    """What the watch asks of the store (tui.core.store)."""

    def attach_viewer(self) -> None: ...

    def commit_seq(self) -> int: ...

    def changed_series(self, since: int) -> tuple[int, set[str]]: ...

    def wait_for_change(self, timeout_s: float) -> bool: ...

    def collector_running(self) -> bool: ...

    def changes(self) -> object: ...


class StoreWatch:
    """Posts the first frame's state (Engine.pending), then builds a state, and one after each burst of
    commits, when the collector comes or goes, when the user's narrative files change, and every
    QUIET_REBUILD_S. `built` and `problem` are called from the thread that runs it; `narratives_changed` reads
    the user's files again and says whether they changed. `first_built`: the first frame's state was built and
    posted already (then not again); `painted` returns once the first frame is on the screen (or given up on), so that
    the first judgement does not slow the first paint down."""

    def __init__(self, engine: Engine, store: WatchedStore, built: Callable[[DashboardState], object],
                 problem: Callable[[str], object], narratives_changed: Callable[[], bool] = lambda: False,
                 *, gather_s: float = GATHER_S, burst_s: float = BURST_S, quiet_s: float = QUIET_REBUILD_S,
                 watch_s: float = WATCH_S, first_built: bool = False,
                 painted: Callable[[], object] = lambda: None) -> None:
        self.engine = engine
        self.first_built = first_built
        self.painted = painted
        self.store = store
        self.built = built
        self.problem = problem
        self.narratives_changed = narratives_changed
        self.gather_s, self.burst_s, self.quiet_s, self.watch_s = gather_s, burst_s, quiet_s, watch_s
        self.states = 0  # states built and posted
        self.commits_gathered = 0  # commits seen after a burst's first, folded into its state

    def gather(self) -> None:
        """Let a burst of commits settle: wait while they keep coming, up to burst_s after the first."""
        until = time.monotonic() + self.burst_s
        while (left := until - time.monotonic()) > 0 and self.store.wait_for_change(min(self.gather_s, left)):
            self.commits_gathered += 1

    def post(self, state: DashboardState) -> None:
        self.states += 1
        self.built(state)

    def run(self, cancelled: Callable[[], bool]) -> None:
        store = self.store
        try:
            store.attach_viewer()  # a collector that a dashboard started lingers while one is attached
        except Exception as error:
            self.problem(str(error))
        try:  # the first frame: the panels with the stored values, before anything is judged
            if not self.first_built:
                self.built(self.engine.pending())
        except Exception as error:
            self.problem(str(error))
        self.painted()
        appended: set[str] | None = None  # the series appended to since the last state; None: judge all
        seq = None
        quiet = False  # nothing was committed since the last state
        while not cancelled():
            try:
                if seq is None:
                    seq = store.commit_seq()
                state = self.engine.build(appended, quiet=quiet)
            except Exception as error:  # a store gone bad: say so, keep the last state, try again
                self.problem(str(error))
                appended = seq = None
                quiet = False
                time.sleep(RETRY_S)
                continue
            self.post(state)
            running = state.collector is not None and state.collector.running
            quiet_until = time.monotonic() + self.quiet_s
            appended = set()  # none: the engine judges again what the clock alone may have changed (ClockDue)
            quiet = True
            marks: object = None  # the store's change marks when the status was last read
            while not cancelled() and time.monotonic() < quiet_until:
                try:
                    changed = store.wait_for_change(self.watch_s)
                    if changed:
                        quiet = False
                        self.gather()
                    if store.collector_running() != running:
                        appended = seq = None
                        break  # the collector came or went: judge everything again
                    if changed and store.commit_seq() != seq:  # new observations: judge what reads them
                        seq, appended = store.changed_series(seq)
                        break
                    if self.narratives_changed():
                        break  # the user's files changed: judge the new claims (use() makes it a full build)
                    # a health record, an alert, a request, the collector: only the header and sources change;
                    # a commit that moved none of their marks (a prune batch) changes nothing shown
                    if changed and (now := store.changes()) != marks:
                        marks = now
                        self.post(self.engine.refresh_status())
                except Exception:
                    appended = seq = None
                    quiet = False
                    break
