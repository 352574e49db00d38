"""Where a dashboard's states come from: a feed is one mode's engine and the workers that build its states.

LIVE watches the store that a `tapecheck collect` process writes and minds that collector; SNAPSHOT, REPLAY and
DEMO build from an in-memory tape (a replay's clock moved on by `play`). In every mode a worker builds one frozen
DashboardState per change off the event loop and posts it to the app as a message. The app runs one feed at a
time: `D` stops the feed in force and starts the demo's, and `D` again the first one where it was.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from textual.app import App
from textual.message import Message
from textual.timer import Timer
from textual.worker import Worker, get_current_worker

from tui.core.config import Settings
from tui.core.judge.engine import DashboardState, Engine
from tui.core.judge.watch import QUIET_REBUILD_S, WATCH_S
from tui.core.model import Observation, TapecheckError
from tui.core.narratives.claims import Narratives, narratives_signature
from tui.core.narratives.reader import NarrativeReader
from tui.core.replay import Replay
from tui.core.store.protocol import Store
from tui.core.tape import MemoryTape
from tui.ui.messages import NarrativesReloaded, StateBuilt, StoreUnreadable

REPLAY_TICK_S = 0.2  # how often a replay moves its clock on (at speed 0: the pause between steps is 0.01 s)
CHART_POINTS = 600  # per source: a chart is a few hundred columns of braille (two points each)
RESTART_AFTER_S = 30.0  # a viewer starts a dead collector again at most this often (one that dies at start-up)
STARTING_S = 20.0  # after starting a collector, the header says "starting" rather than "down" this long
PAINT_WAIT_S = 2.0  # the first judgement waits this long at most for the first frame to be painted


class NarrativeWatch:
    """The user's narrative files as last read, read again (in a child process) when one is added, changed or
    removed. One per app: every feed's engine judges what it read."""

    def __init__(self, narratives: Narratives) -> None:
        self.dirs, self.max_claims = narratives.dirs, narratives.max_claims
        self.seen = narratives_signature(narratives.dirs)
        self.current = narratives  # as last read
        self.reader = NarrativeReader()

    def reload(self, engine: Engine, post: Callable[[Message], object]) -> bool:
        """Read the user's narrative files again if any was added, changed or removed; the engine judges the new
        set from its next build. Blocking (it stats and reads files): call it from a thread."""
        dirs = self.dirs
        seen = narratives_signature(dirs)
        if seen == self.seen:
            return False
        self.seen = seen
        before = engine.narratives
        try:  # in a child process: 10,000 claims to check never blind this watch
            narratives = self.reader.read(dirs, self.max_claims)
        except TapecheckError as error:  # the shipped files do not change under a running app; said all the same
            post(StoreUnreadable(str(error)))
            return False
        engine.use(narratives)
        self.current = narratives
        post(NarrativesReloaded(narratives, before))
        return True


class Feed:
    """One mode's engine, replay or store, and the workers that build its states for `app` once started."""

    def __init__(self, mode: str, engine: Engine, *, replay: Replay | None = None, source_note: str = "",
                 taken_at: datetime | None = None, start_collector: Callable[[], str] | None = None,
                 collect_hint: str = "tapecheck collect", file_warnings: tuple[str, ...] = ()) -> None:
        self.mode = mode
        self.engine = engine
        self.replay = replay
        self.clock = engine.clock
        self.source_note = source_note  # e.g. the snapshot's file, for the header and for `r`
        self.taken_at = taken_at  # SNAPSHOT judged on the real clock: the moment of its last observation
        self.start_collector = start_collector  # LIVE: starts a collector in the background; None: never
        self.collect_hint = collect_hint  # LIVE: the command that starts this store's collector, with its config
        self.collector_started_at = float("-inf")  # (monotonic) when this viewer last started one
        self.file_warnings = file_warnings  # a snapshot's or tape's values disputed on reading: told once
        self.building = False  # a replay's or snapshot's build is under way
        self.build_again = False
        self.built = False  # the first frame's state (nothing judged yet) has been posted
        self.running = False
        self.workers: list[Worker[Any]] = []
        self.timers: list[Timer] = []
        self.app: App[Any] | None = None
        self.narratives: NarrativeWatch | None = None
        self.first: DashboardState | None = None  # the first frame's state, when built before the app ran (prepare)
        self.painted = threading.Event()  # the first frame is on the screen: judging may start
        self.after_paint: Callable[[], None] | None = None  # what waits for the first paint to start (first_painted)

    def prepare(self) -> None:
        """Build the first frame's state now, before the app runs (it reads the store: never call it on the event
        loop), so that the dashboard has it as it opens. A failure is left to the feed's worker to say."""
        try:
            self.first = self.engine.pending()
        except Exception:  # the worker builds it again, and says what went wrong
            self.first = None

    def first_painted(self) -> None:
        """The dashboard's first frame is on the screen: the first judgement may start (and the store's watch,
        when the first state was prepared)."""
        self.painted.set()
        later, self.after_paint = self.after_paint, None
        if later is not None and self.running:
            later()

    @property
    def store(self) -> Store | None:
        return self.engine.store

    def start(self, app: App[Any], narratives: NarrativeWatch) -> None:
        """Build states for `app` from now on (again, after a `stop`: a replay goes on where it was)."""
        self.app, self.narratives, self.running = app, narratives, True
        if self.engine.narratives is not narratives.current:  # read again while another feed ran (the demo's)
            self.engine.use(narratives.current)
        first, self.first = self.first, None  # prepared: posted now, and not built again (only the first time)
        if first is not None:
            self.built = True
            self.post(StateBuilt(first, self))
        if self.store is not None:
            if self.start_collector is not None:
                self.collector_started_at = time.monotonic()
            if first is not None and not self.painted.is_set():  # the watch and the collector's check start once
                self.after_paint = lambda: self.watch(True)         # the first frame is painted: nothing competes
                self.timers.append(app.set_timer(PAINT_WAIT_S, self.first_painted))  # (or given up on)
            else:
                self.watch(first is not None)
        else:
            self.build_state()
            self.timers.append(app.set_interval(QUIET_REBUILD_S, self.build_state))
            # a timer looks for changed narrative files (LIVE: the store-watch thread does)
            self.timers.append(app.set_interval(WATCH_S, self.watch_narratives))
        if self.replay is not None:
            self.replay.paused = self.replay.paused  # the clock counts from now: time on another feed is not the tape's
            self.run(self.play(), "play", "replay")

    def watch(self, first_built: bool) -> None:
        """LIVE: watch the store (`first_built`: the first frame's state was posted already), and mind the
        collector."""
        self.thread(lambda: self.watch_store(first_built), "watch_store", "store")
        self.ensure_collector()

    def stop(self) -> None:
        """Stop building: the workers are cancelled, and a state one of them still posts is not shown."""
        self.running = False
        self.after_paint = None
        for timer in self.timers:
            timer.stop()
        for worker in self.workers:
            worker.cancel()
        self.timers, self.workers = [], []

    def thread(self, work: Callable[[], None], name: str, group: str) -> None:
        """Run `work` in a thread worker of the app's, the only one of its group; a failure is said, never fatal."""
        self.run(work, name, group, thread=True)

    def run(self, work: Callable[[], None] | Coroutine[Any, Any, None], name: str, group: str,
            thread: bool = False, exclusive: bool = True) -> None:
        assert self.app is not None
        self.workers = [w for w in self.workers if not w.is_finished]
        self.workers.append(self.app.run_worker(work, name=name, group=group, exclusive=exclusive, thread=thread,
                                                exit_on_error=False))

    def post(self, message: Message) -> None:
        if self.app is not None and self.running:
            self.app.post_message(message)

    def notify(self, message: str, **options: Any) -> None:
        """A toast from a thread."""
        if self.app is not None:
            self.app.call_from_thread(self.app.notify, message, **options)

    # ---- states -----------------------------------------------------------------------------------

    def watch_store(self, first_built: bool = False) -> None:
        """LIVE: the first frame's state, then a state after each burst of the collector's commits, when the
        collector comes or goes, and every QUIET_REBUILD_S for the ages and staleness (tui.core.judge.watch).
        Runs in a thread: every read of the store (a network round trip on PostgreSQL) stays off the event loop.
        `first_built`: the first frame's state was posted already (prepare)."""
        from tui.core.judge.watch import StoreWatch

        worker = get_current_worker()
        assert self.store is not None
        StoreWatch(self.engine, self.store, lambda state: self.post(StateBuilt(state, self)),
                   lambda problem: self.post(StoreUnreadable(problem)),
                   self.reload_narratives, first_built=first_built,
                   painted=lambda: self.painted.wait(PAINT_WAIT_S)).run(lambda: worker.is_cancelled)

    def build_state(self) -> None:
        """SNAPSHOT, REPLAY, DEMO: build a state from the in-memory tape, in a thread, one build at a time."""
        if self.running:
            self.run(self.build_states(), "build_state", "build", exclusive=False)

    async def build_states(self) -> None:
        if self.building:
            self.build_again = True
            return
        self.building = True
        try:
            if not self.built:  # the first frame: the panels before anything is judged
                self.post(StateBuilt(await asyncio.to_thread(self.engine.pending), self))
                self.built = True
            if not self.painted.is_set():  # judged once the first frame is on the screen
                await asyncio.to_thread(self.painted.wait, PAINT_WAIT_S)
            while True:
                self.build_again = False
                state = await asyncio.to_thread(self.engine.build)
                self.post(StateBuilt(state, self))
                if not self.build_again:
                    break
        finally:
            self.building = False

    def reload_narratives(self) -> bool:
        """Blocking: call it from a thread (see NarrativeWatch.reload)."""
        return self.narratives is not None and self.narratives.reload(self.engine, self.post)

    def watch_narratives(self) -> None:
        """SNAPSHOT, REPLAY, DEMO: look for changed narrative files, and judge again when there are."""
        self.thread(self.look_for_narratives, "watch_narratives", "narratives")

    def look_for_narratives(self) -> None:
        if self.reload_narratives() and self.app is not None:
            self.app.call_from_thread(self.build_state)

    def history(self, series: str, since: datetime | None, now: datetime) -> list[Observation]:
        """A series' observations from `since` (or the start) to `now`, oldest first, for charts: from the
        store, at most CHART_POINTS per source. Blocking: call it from a thread."""
        start = since or datetime(1970, 1, 1, tzinfo=UTC)
        tape = self.engine.tape
        if isinstance(tape, Store):
            return tape.history(series, start, now, CHART_POINTS)
        if isinstance(tape, MemoryTape):
            return [o for o in tape.observations(series) if start <= o.ts <= now]
        return []

    # ---- replay -----------------------------------------------------------------------------------

    async def play(self) -> None:
        """Move the replay's clock on in real time (× its speed), building a state whenever it passes an
        observation."""
        replay = self.replay
        assert replay is not None and self.app is not None
        replay.catch_up(time.monotonic())
        while not replay.finished:
            await asyncio.sleep(REPLAY_TICK_S if replay.speed else 0.01)
            if replay.catch_up(time.monotonic()):
                self.build_state()
        self.app.notify("End of the tape. Press q to quit, or look around.", title=self.mode, timeout=10)

    # ---- the collector (LIVE) ---------------------------------------------------------------------

    def collector_starting(self) -> bool:
        """Whether this viewer started a collector a moment ago (the header says "starting", not "down")."""
        return time.monotonic() - self.collector_started_at < STARTING_S

    def restart_collector_if_down(self, state: DashboardState) -> None:
        """LIVE: a collector that stopped is started again, as a new dashboard would start it, at most every
        RESTART_AFTER_S. Two viewers may both try: the collector refuses a second on the same store, so one runs."""
        collector = state.collector
        if collector is None or collector.running or self.start_collector is None:
            return
        if time.monotonic() - self.collector_started_at >= RESTART_AFTER_S:
            self.collector_started_at = time.monotonic()
            self.ensure_collector()

    def ensure_collector(self, now: bool = False) -> None:
        """LIVE: start a collector unless one runs (`now`: the user asked; the header says "starting")."""
        if now:
            self.collector_started_at = time.monotonic()
        self.thread(self.start_a_collector, "ensure_collector", "collector")

    def start_a_collector(self) -> None:
        """LIVE: when no collector runs for the store, start one in the background (unless told not to)."""
        store = self.store
        assert store is not None
        if store.collector_running():
            return
        if self.start_collector is None:
            self.notify(f"No collector runs for {store.path}, and --no-collector was given: values age into stale. "
                        f"Start one with: {self.collect_hint}", title="No collector", severity="warning", timeout=20,
                        markup=False)
            return
        try:
            said = self.start_collector()
        except TapecheckError as error:
            self.notify(str(error), title="Cannot start a collector", severity="error", timeout=20)
            return
        self.notify(said, title="Collector started", timeout=10)

    def ask_collector(self, kind: str, said: str) -> None:
        """LIVE: leave a request (`refresh`, `pause:who`, `ack:7`) in the store for the collector."""
        def ask() -> None:
            store = self.store
            assert store is not None
            try:
                store.post_request(kind)
            except TapecheckError as error:
                self.notify(str(error), title="Request not sent", severity="error", timeout=10)
                return
            self.notify(said, timeout=3)

        self.run(ask, "ask_collector", "request", thread=True, exclusive=False)


def snapshot_feed(settings: Settings, narratives: Narratives, path: Path, now: datetime | None = None) -> Feed:
    from tui.core.snapshot import load_tape

    read = load_tape(path, settings.poller.dispute_factor)
    observations = read.observations
    tape = MemoryTape(observations, read.disputed)
    clock = (lambda: now) if now else (lambda: datetime.now(UTC))
    note = f"{path}" + (f" at {now:%Y-%m-%d %H:%M} UTC" if now else "")
    taken_at = None if now or not observations else max(o.ts for o in observations)
    return Feed("SNAPSHOT", Engine(narratives, settings, tape, clock), source_note=note, taken_at=taken_at,
                file_warnings=tuple(read.warnings))


def replay_feed(settings: Settings, narratives: Narratives, path: Path, speed: float,
                start: datetime | None = None) -> Feed:
    from tui.core.snapshot import load_tape

    read = load_tape(path, settings.poller.dispute_factor)
    replay = Replay(read.observations, speed, start, read.disputed)
    return Feed("REPLAY", Engine(narratives, settings, replay.tape, replay.clock), replay=replay,
                source_note=str(path), file_warnings=tuple(read.warnings))


def demo_feed(settings: Settings, narratives: Narratives, minutes: float = 3.0) -> Feed:
    """The shipped synthetic tape, its live part played in about `minutes`. No store is opened."""
    from tui.core.demotape import DEMO_END, DEMO_START, DEMO_TAPE
    from tui.core.snapshot import read_observations

    speed = (DEMO_END - DEMO_START).total_seconds() / (minutes * 60)
    replay = Replay(read_observations(DEMO_TAPE), speed, DEMO_START)
    return Feed("DEMO", Engine(narratives, settings, replay.tape, replay.clock), replay=replay,
                source_note="the shipped synthetic demo tape")


def live_feed(settings: Settings, narratives: Narratives, store: Store,
              start_collector: Callable[[], str] | None = None, collect_hint: str = "tapecheck collect") -> Feed:
    """A viewer of `store` (opened read-only); a collector writes it."""
    engine = Engine(narratives, settings, store, lambda: datetime.now(UTC), store=store)
    return Feed("LIVE", engine, source_note=str(store.path), start_collector=start_collector,
                collect_hint=collect_hint)
