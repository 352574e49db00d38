"""The Textual app: joins an Engine (the data layer) to the screens; it polls nothing itself.

Modes: LIVE (a viewer of the store, which a `tapecheck collect` process writes), SNAPSHOT (a JSON Lines file at
one moment), REPLAY (a tape played back by its timestamps) and DEMO (the shipped synthetic tape, replayed; it
never touches the store). In every mode a worker builds one frozen DashboardState per change off the event
loop and posts it as a message; the screens render from it. The dashboard process never imports ccxt,
yfinance or httpx: in LIVE mode `r` and `p` are requests to the collector, left in the store.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable
from textual.worker import Worker, WorkerState, get_current_worker

from tui.core import format as fmt
from tui.core.config import Settings
from tui.core.judge.engine import DashboardState, Engine
from tui.core.model import Observation, TapecheckError
from tui.core.narratives.claims import Narratives, narratives_signature
from tui.core.narratives.reader import NarrativeReader
from tui.core.printable import printable
from tui.core.replay import Replay
from tui.core.store.sqlite import Store
from tui.core.tape import MemoryTape
from tui.core.words import WRONG_THEN
from tui.ui.screens.base import StateScreen
from tui.ui.screens.commands import TapecheckCommands
from tui.ui.screens.dashboard import DashboardScreen
from tui.ui.screens.detail import ClaimScreen, HelpScreen, SeriesScreen, SourcesScreen
from tui.ui.terminal import exit_on_signals, log_crash, release_signals
from tui.ui.themes import THEMES
from widgets.header_line import Pill

WIDE = 160  # columns from which the panels sit in two columns
REPLAY_TICK_S = 0.2  # how often a replay moves its clock on (at speed 0: the pause between steps is 0.01 s)
DEMO = "demo"  # what the app returns when the user asks for the demo from another mode
BACK = "back"  # what a demo asked for from another mode returns when the user asks to go back
CHART_POINTS = 600  # per source: a chart is a few hundred columns of braille (two points each)
QUIET_REBUILD_S = 15  # staleness moves even when no data arrives: judge again after this long without a change
WATCH_S = 1.0  # a viewer looks for a commit, for its collector and for changed narrative files, this often
TOASTS_AT_ONCE = 4  # a burst of alerts shows this many toasts at most
RESTART_AFTER_S = 30.0  # a viewer starts a dead collector again at most this often (one that dies at start-up)
STARTING_S = 20.0  # after starting a collector, the header says "starting" rather than "down" this long


class StateBuilt(Message):
    """A new DashboardState, built off the event loop."""

    def __init__(self, state: DashboardState) -> None:
        super().__init__()
        self.state = state


class NarrativesReloaded(Message):
    """The user's narrative files changed and were read again; the engine judges these from now on."""

    def __init__(self, narratives: Narratives, before: Narratives) -> None:
        super().__init__()
        self.narratives = narratives
        self.before = before


class StoreUnreadable(Message):
    """Building a state from the store failed; the last state stays on screen."""

    def __init__(self, problem: str) -> None:
        super().__init__()
        self.problem = problem


class TapecheckApp(App[str | None]):
    """tapecheck's dashboard."""

    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {TapecheckCommands}
    TITLE = "tapecheck"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("r", "refresh_now", "Refresh", id="refresh"),
        Binding("p", "toggle_pause", "Pause", id="pause"),
        Binding("s", "sources", "Sources", id="sources"),
        Binding("a", "articles", "Articles", id="articles"),
        Binding("colon", "console", "Rule console", id="console", show=False),
        Binding("exclamation_mark", "alerts", "Alerts", id="alerts"),
        Binding("L", "toggle_lang", "中/EN", id="lang"),
        Binding("full_stop", "step", "Step", id="step"),
        Binding("D", "demo", "Demo (synthetic data), and back", id="demo", show=False),
    ]

    def __init__(self, settings: Settings, narratives: Narratives, *, mode: str, engine: Engine,
                 lang: str | None = None, replay: Replay | None = None,
                 start_collector: Callable[[], str] | None = None, source_note: str = "",
                 back_to: str | None = None, taken_at: datetime | None = None,
                 file_warnings: tuple[str, ...] = (), collect_hint: str = "tapecheck collect") -> None:
        super().__init__()
        self.file_warnings = file_warnings  # a snapshot's or tape's values disputed on reading: told once
        self.settings = settings
        self.narratives = narratives
        self.mode = mode
        self.engine = engine
        self.replay = replay
        self.clock = engine.clock
        self.lang = lang or settings.lang
        self.start_collector = start_collector  # LIVE: starts a collector in the background; None: never
        self.collect_hint = collect_hint  # LIVE: the command that starts this store's collector, with its config
        self.collector_started_at = float("-inf")  # (monotonic) when this viewer last started one
        self.source_note = source_note  # e.g. the snapshot's file, for the header and for `r`
        self.back_to = back_to  # DEMO asked for from another mode: that mode's name, where D goes back to
        self.taken_at = taken_at  # SNAPSHOT judged on the real clock: the moment of its last observation
        self.state: DashboardState | None = None
        self.told_nothing_answers = False
        self.building = False  # a replay's or snapshot's build is under way
        self.build_again = False
        self.crashed = False  # an unexpected error ended the app; its traceback is in the log
        self.narratives_seen = narratives_signature(narratives.dirs)  # the user's files as last read
        self.narrative_reader = NarrativeReader()
        for theme in THEMES:
            self.register_theme(theme)
        if settings.theme in self.available_themes:
            self.theme = settings.theme

    @property
    def store(self) -> Store | None:
        return self.engine.store

    def on_mount(self) -> None:
        exit_on_signals(lambda code: self.exit(return_code=code))
        if self.settings.keys:
            self.set_keymap(self.settings.keys)
        self.push_screen(DashboardScreen())
        self.set_interval(1, self.tick)
        if self.store is not None:
            if self.start_collector is not None:
                self.collector_started_at = time.monotonic()
            self.watch_store()
            self.ensure_collector()
        else:
            self.build_state()
            self.set_interval(QUIET_REBUILD_S, self.build_state)
        if self.replay is not None:
            self.play()
        if self.file_warnings:
            first = printable(self.file_warnings[0])
            more = f" (and {len(self.file_warnings) - 1} more: `tapecheck check --snapshot` lists them)" \
                if len(self.file_warnings) > 1 else ""
            self.notify(f"{first}{more}", title="Disputed values set aside", severity="warning", timeout=15)
        if self.store is None:  # a timer looks for changed narrative files (LIVE: the store-watch thread does)
            self.set_interval(WATCH_S, self.watch_narratives)
        self.tell_narrative_problems(self.narratives.problems)
        if self.back_to is not None:
            where = {"LIVE": "the live dashboard"}.get(self.back_to, f"the {self.back_to.lower()}")
            self.notify(f"The demo: synthetic data, nothing stored. Press D to go back to {where}.",
                        title="DEMO", timeout=15)
        for warning in self.settings.warnings:  # printed before the screen opened, so said here again
            self.notify(printable(warning), title="Config", severity="warning", timeout=20)
        if self.settings.theme not in self.available_themes:
            self.notify(f"no theme {self.settings.theme!r}: the default is used. Themes: "
                        + ", ".join(sorted(self.available_themes)), title="Config", severity="warning", timeout=20)

    def on_unmount(self) -> None:
        self.narrative_reader.stop()  # a reading of the user's files under way ends with the app
        release_signals()

    def _handle_exception(self, error: Exception) -> None:
        log_crash(error)  # Textual then exits with status 1; the traceback it would print is dropped below
        self.crashed = True
        super()._handle_exception(error)

    def _print_error_renderables(self) -> None:
        if self.crashed:
            self._exit_renderables.clear()
        super()._print_error_renderables()

    def on_resize(self, event: events.Resize | None = None) -> None:
        size = event.size if event is not None else self.size
        dashboard = self.dashboard
        if dashboard is not None and dashboard.is_mounted:
            dashboard.fit(size.width, size.height, WIDE)

    # ---- states -----------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="store", exit_on_error=False)
    def watch_store(self) -> None:
        """LIVE: build a state now, then again after each burst of the collector's commits, when the collector
        comes or goes, and every QUIET_REBUILD_S for the ages and staleness (tui.core.judge.watch). Runs in a
        thread: every read of the store (a network round trip on PostgreSQL) stays off the event loop."""
        from tui.core.judge.watch import StoreWatch

        worker = get_current_worker()
        assert self.store is not None
        StoreWatch(self.engine, self.store, lambda state: self.post_message(StateBuilt(state)),
                   lambda problem: self.post_message(StoreUnreadable(problem)),
                   self.reload_narratives).run(lambda: worker.is_cancelled)

    @work(group="build", exit_on_error=False)
    async def build_state(self) -> None:
        """SNAPSHOT, REPLAY, DEMO: build a state from the in-memory tape, in a thread, one build at a time."""
        if self.building:
            self.build_again = True
            return
        self.building = True
        try:
            if self.state is None:  # the first frame: the panels before anything is judged
                self.post_message(StateBuilt(await asyncio.to_thread(self.engine.pending)))
            while True:
                self.build_again = False
                state = await asyncio.to_thread(self.engine.build)
                self.post_message(StateBuilt(state))
                if not self.build_again:
                    break
        finally:
            self.building = False

    def reload_narratives(self) -> bool:
        """Read the user's narrative files again if any was added, changed or removed; the engine judges the new
        set from its next build. Blocking (it stats and reads files): call it from a thread."""
        dirs = self.narratives.dirs
        seen = narratives_signature(dirs)
        if seen == self.narratives_seen:
            return False
        self.narratives_seen = seen
        before = self.engine.narratives
        try:  # in a child process: 10,000 claims to check never blind this watch
            narratives = self.narrative_reader.read(dirs, self.narratives.max_claims)
        except TapecheckError as error:  # the shipped files do not change under a running app; said all the same
            self.post_message(StoreUnreadable(str(error)))
            return False
        self.engine.use(narratives)
        self.post_message(NarrativesReloaded(narratives, before))
        return True

    @work(thread=True, exclusive=True, group="narratives", exit_on_error=False)
    def watch_narratives(self) -> None:
        """SNAPSHOT, REPLAY, DEMO: look for changed narrative files, and judge again when there are."""
        if self.reload_narratives():
            self.call_from_thread(self.build_state)

    def on_narratives_reloaded(self, message: NarrativesReloaded) -> None:
        self.narratives = message.narratives
        before = {c.id for c in message.before.claims if c.user}
        now = {c.id for c in message.narratives.claims if c.user}
        added, removed = len(now - before), len(before - now)
        changes = ", ".join(([f"{added} new"] if added else []) + ([f"{removed} gone"] if removed else []))
        self.notify(f"Your narrative files changed: {len(now)} claims from them{f' ({changes})' if changes else ''}.",
                    title="Narratives reloaded", timeout=5)
        self.tell_narrative_problems(message.narratives.problems)

    def tell_narrative_problems(self, problems: tuple[str, ...]) -> None:
        """A broken narrative file of the user's: the rest is loaded; this says which and where."""
        if problems:
            shown = "\n".join(printable(p) for p in problems[:6])
            more = f"\n… and {len(problems) - 6} more (tapecheck lint FILE shows each)" if len(problems) > 6 else ""
            self.notify(f"{shown}{more}\nThe rest is loaded.", title="A narrative file of yours has problems",
                        severity="error", timeout=30, markup=False)  # "[claims.rule]" is no markup

    def on_state_built(self, message: StateBuilt) -> None:
        state = message.state
        first = self.state is None
        self.state = state
        self.toast_alerts(state)
        with self.batch_update():
            for screen in self.screen_stack:
                if isinstance(screen, StateScreen) and screen.is_mounted:
                    screen.show_state(state)
            self.tick()  # the header and the clock with it
        if first:
            self.on_resize()
        if not state.pending:  # the first frame's state judged nothing yet
            self.tell_if_nothing_answers(state)
            self.restart_collector_if_down(state)

    def toast_alerts(self, state: DashboardState) -> None:
        """The alerts new since the last state, one toast each (a burst: the first few, and how many more), with
        the bell if [display] bell. LIVE, they are the collector's, so every dashboard shows the same."""
        new = state.new_alerts
        if new and self.settings.bell:
            self.bell()
        shown = new if len(new) <= TOASTS_AT_ONCE else new[-(TOASTS_AT_ONCE - 1):]
        for alert in shown:
            self.notify(printable(f"{alert.subject}: {alert.change}\n{alert.message}", keep_newlines=True),
                        title=alert.title, severity="warning" if alert.serious else "information", timeout=10)
        if len(shown) < len(new):
            self.notify(f"and {len(new) - len(shown)} more alerts: press ! to see them all", title="Alerts",
                        severity="warning", timeout=10)

    def acknowledge(self, alert_id: int, through: bool = False) -> None:
        """Acknowledge an alert (or every alert up to it): at once here, and LIVE for every dashboard, through
        the collector (see tui.ui.screens.alerts)."""
        state = self.engine.acknowledge(alert_id, through)
        if state is not None:
            self.post_message(StateBuilt(state))
        if self.store is not None:
            running = self.state is not None and self.state.collector is not None and self.state.collector.running
            said = "Acknowledged for every dashboard" if running else \
                "Acknowledged here; no collector runs, so the store records it when one starts"
            self.ask_collector(f"{'ack-upto' if through else 'ack'}:{alert_id}", said)

    def on_store_unreadable(self, message: StoreUnreadable) -> None:
        self.notify(message.problem, title="Cannot read the store", severity="error", timeout=10)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that failed says so; the dashboard runs on with what it shows."""
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            self.notify(f"{type(error).__name__}: {error}", title=f"{event.worker.name} failed", severity="error",
                        timeout=15)

    @property
    def dashboard(self) -> DashboardScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, DashboardScreen):
                return screen
        return None

    # ---- the header -------------------------------------------------------------------------------

    def tick(self) -> None:
        """Once a second: the clock and the ages, on the screen in front; nothing else is repainted."""
        if not self.screen_stack:  # a state that arrives while the app is closing has no screen to go to
            return
        screen = self.screen
        if not isinstance(screen, StateScreen):
            return
        self.refresh_header(screen)
        screen.tick(self.clock())

    def refresh_header(self, screen: object) -> None:
        if not isinstance(screen, StateScreen):
            return
        header = screen.header()
        state = self.state
        if header is None:
            return
        now = self.clock()
        # To the minute when the clock is the wall's (a clock ticking seconds would be most of an idle dashboard's
        # output over SSH; the ages show that data flows). A clock on the data's time shows its date and seconds.
        real_clock = self.mode == "LIVE" or self.taken_at is not None  # today's date says nothing: the data's does
        if real_clock:
            header.tick(f"{now:%H:%M} UTC", f"{now:%H:%M}")
        else:
            header.tick(f"{now:%Y-%m-%d %H:%M:%S} UTC", f"{now:%m-%d %H:%M}")
        pills = []
        alarm = ""
        if state is not None:
            for health in state.health:
                if health.kind == "history" or (health.kind == "alerts" and health.state != "failing"):
                    continue  # daily-history jobs and a working alert command are on the sources screen only
                age = None if health.last_success is None else (now - health.last_success).total_seconds()
                note = fmt.age(age) if age is not None and age >= 60 else ""  # a fresh source needs no age
                missing = any("not listed" not in item for item in health.partial)  # an unquoted symbol, a refusal
                state_word = "partial" if health.state == "ok" and (health.refused or health.disputed or missing) \
                    else health.state
                pills.append(Pill(health.source, state_word, note))
            collector = state.collector
            if collector is not None and not collector.running and self.collector_starting():
                alarm = "collector starting"
            elif collector is not None and not collector.running:  # since when it stopped, where the store says
                since = collector.down_since
                alarm = "collector down" + (f" since {since.astimezone():%H:%M}" if since is not None else "")
        flagged = short = ""
        if state is not None:
            alerts = f"{state.unacked} alert{'s' if state.unacked > 1 else ''}"
            flagged = " · ".join(([str(state.diverged_now)] if state.diverged else [])
                                 + ([f"{state.wrong_then} {WRONG_THEN}"] if state.wrong_then else [])
                                 + ([alerts] if state.unacked else []))
            short = " · ".join(([f"{state.diverged} div"] if state.diverged else [])
                               + ([f"{state.wrong_then} wrong"] if state.wrong_then else [])
                               + ([alerts] if state.unacked else []))
        header.show(mode=self.mode_text(), flagged=flagged, pills=tuple(pills), alarm=alarm,
                    mode_short=self.mode_text(short=True), flagged_short=short,
                    alarm_short=alarm.split(" since ")[0])

    def mode_text(self, short: bool = False) -> str:
        """The header's mode: `REPLAY ×60 45% (paused)`; `short`, for a narrow terminal: `REPLAY 45% ‖`."""
        text = self.mode
        if self.taken_at is not None and not short:  # the clock is the real one: the header says when the data is from
            text += f" {self.taken_at:%Y-%m-%d %H:%M}"
        if self.mode == "DEMO" and not short:
            text = "DEMO — synthetic data"
        elif self.replay is not None and not short and self.mode != "DEMO":
            text = f"REPLAY ×{self.replay.speed:g}" if self.replay.speed else "REPLAY (fast)"
        paused = " ‖" if short else " (paused)"
        if self.replay is not None:
            text += f" {self.replay.progress:.0%}" + (" (end)" if self.replay.finished and not short else "")
            text += paused if self.replay.paused else ""
        state = self.state
        if state is not None and state.collector is not None and state.collector.running \
                and state.collector.info is not None and state.collector.info.paused:
            who = state.collector.paused_by
            text += f" (paused by {who})" if who and not short else paused
        if self.mode == "LIVE" and self.store is not None and self.store.problem:  # a PostgreSQL server away
            # or the file removed or replaced under us: what is shown is a ghost's, said so
            if self.store.ghost():
                return text + (" · file gone" if short else " · store file gone")
            return text + (" · unreachable" if short else " · store unreachable")
        return text

    # ---- the collector ----------------------------------------------------------------------------

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

    @work(thread=True, exclusive=True, group="collector", exit_on_error=False)
    def ensure_collector(self) -> None:
        """LIVE: when no collector runs for the store, start one in the background (unless told not to)."""
        store = self.store
        assert store is not None
        if store.collector_running():
            return
        if self.start_collector is None:
            self.call_from_thread(self.notify, f"No collector runs for {store.path}, and --no-collector was given: "
                                  f"values age into stale. Start one with: {self.collect_hint}",
                                  title="No collector", severity="warning", timeout=20, markup=False)
            return
        try:
            said = self.start_collector()
        except TapecheckError as error:
            self.call_from_thread(self.notify, str(error), title="Cannot start a collector", severity="error",
                                  timeout=20)
            return
        self.call_from_thread(self.notify, said, title="Collector started", timeout=10)

    @work(thread=True, group="request", exit_on_error=False)
    def ask_collector(self, kind: str, said: str) -> None:
        store = self.store
        assert store is not None
        try:
            store.post_request(kind)
        except TapecheckError as error:
            self.call_from_thread(self.notify, str(error), title="Request not sent", severity="error", timeout=10)
            return
        self.call_from_thread(self.notify, said, timeout=3)

    # ---- replay -----------------------------------------------------------------------------------

    @work(exclusive=True, group="replay", exit_on_error=False)
    async def play(self) -> None:
        """Move the replay's clock on in real time (× its speed), building a state whenever it passes an
        observation."""
        replay = self.replay
        assert replay is not None
        replay.catch_up(time.monotonic())
        while not replay.finished:
            await asyncio.sleep(REPLAY_TICK_S if replay.speed else 0.01)
            if replay.catch_up(time.monotonic()):
                self.build_state()
        self.tick()
        self.notify("End of the tape. Press q to quit, or look around.", title=self.mode, timeout=10)

    def action_step(self) -> None:
        if self.replay is None:
            self.notify(f"{self.mode} mode: stepping is for replays", timeout=3)
            return
        self.replay.paused = True
        if self.replay.step():
            self.build_state()
        else:
            self.notify("End of the tape", timeout=3)
        self.tick()

    def action_demo(self) -> None:
        """D: to the demo, and from a demo asked for here back to where the user was (the caller runs the next
        app: see `again`)."""
        if self.mode == "DEMO" and self.back_to is not None:
            self.exit(BACK)
        elif self.mode == "DEMO":
            self.notify("This is the demo already (synthetic data): tapecheck --demo has nowhere to go back to",
                        timeout=5)
        else:
            self.exit(DEMO)

    def again(self) -> TapecheckApp:
        """A new app on this one's engine, replay and store, as the user left them (a Textual app runs once)."""
        return TapecheckApp(self.settings, self.narratives, mode=self.mode, engine=self.engine, lang=self.lang,
                            replay=self.replay, start_collector=self.start_collector, source_note=self.source_note,
                            taken_at=self.taken_at, collect_hint=self.collect_hint)

    def tell_if_nothing_answers(self, state: DashboardState) -> None:
        """Once: when every live source has failed and nothing is stored, say so rather than show empty panels."""
        live = [h for h in state.health if h.kind not in ("history", "alerts")]
        if self.told_nothing_answers or not live or any(h.last_success or not h.failures for h in live):
            return
        if any(v.status not in ("no_data", "context") for v in state.verdicts.values()):
            return
        self.told_nothing_answers = True
        self.notify("No source has answered yet and the store is empty, so every claim shows no data. "
                    "Press s to see why each source fails, or D to watch the demo instead "
                    "(synthetic data; also: tapecheck --demo).",
                    title="Nothing to show yet", severity="warning", timeout=60)

    # ---- actions ----------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Step is for replays: elsewhere it is left out of the footer."""
        return self.replay is not None if action == "step" else True

    def action_toggle_lang(self) -> None:
        self.lang = "en" if self.lang == "zh" else "zh"
        dashboard = self.dashboard  # the state holds both languages: nothing is judged again
        if dashboard is not None:
            dashboard.redraw()

    def action_refresh_now(self) -> None:
        if self.store is not None:
            if self.state is not None and self.state.collector is not None and not self.state.collector.running:
                if self.start_collector is not None:
                    self.notify("No collector runs for this store: starting one, which polls every source at once",
                                timeout=8)
                    self.collector_started_at = time.monotonic()
                    self.ensure_collector()
                    return
                self.notify(f"No collector runs for this store, so nothing can be polled now. Start one with: "
                            f"{self.collect_hint}", severity="warning", timeout=8, markup=False)
                return
            self.ask_for_desk("refresh", "Poll every source now, for every dashboard on this store?",
                              "Asked the collector to poll every source now")
            return
        what = f" ({self.source_note})" if self.source_note else ""
        self.notify(f"{self.mode} mode: nothing is polled; the data is the tape{what}. Judged again now.",
                    timeout=5)
        self.build_state()

    def action_toggle_pause(self) -> None:
        if self.replay is not None:
            self.replay.paused = not self.replay.paused
            self.tick()
            return
        if self.store is None:
            self.notify(f"{self.mode} mode: nothing is polled", timeout=3)
            return
        collector = self.state.collector if self.state is not None else None
        if collector is None or not collector.running:
            self.notify("No collector runs for this store: nothing to pause", severity="warning", timeout=5)
            return
        if collector.info is not None and collector.info.paused:
            self.ask_for_desk("resume", "Resume polling, for every dashboard on this store?",
                              "Asked the collector to resume polling")
        else:
            self.ask_for_desk("pause", "Pause polling for the whole desk? Every dashboard on this store sees it "
                                       "paused, with your name and the time.",
                              "Asked the collector to pause polling (every dashboard on this store sees it paused)")

    def ask_for_desk(self, kind: str, question: str, said: str) -> None:
        """An action for every dashboard on the store: asked first, then sent with who asked (user@host); the
        store keeps it with its time, and every dashboard shows both."""
        from tui.core.store.sqlite import requester
        from tui.ui.screens.confirm import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self.ask_collector(f"{kind}:{requester()}", said)

        self.push_screen(ConfirmScreen(question), answered)

    def action_sources(self) -> None:
        if not isinstance(self.screen, SourcesScreen):
            note = "" if self.mode == "LIVE" else f"{self.mode} mode: no source is polled."
            self.push_screen(SourcesScreen(note))

    def action_articles(self) -> None:
        from tui.ui.screens.articles import ArticlesScreen

        if not isinstance(self.screen, ArticlesScreen):
            self.push_screen(ArticlesScreen(self.lang, self.open_claim))

    def action_console(self) -> None:
        from tui.ui.screens.console import ConsoleScreen

        if not isinstance(self.screen, ConsoleScreen):
            self.push_screen(ConsoleScreen())

    def action_alerts(self) -> None:
        from tui.ui.screens.alerts import AlertsScreen

        if not isinstance(self.screen, AlertsScreen):
            self.push_screen(AlertsScreen())

    def action_help(self) -> None:
        """Help from the bindings in force on the screen in front, then the keys that are not bindings."""
        keys: list[tuple[str, str]] = [("↑ ↓ j k", "Move within a table, or scroll a page")]
        by_description: dict[str, list[str]] = {}  # keys that do the same are one line: `tab l  Next panel`
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if not binding.description or binding.action.startswith("jump(") or binding.action == "command_palette":
                continue  # the palette has its own line below
            if not active.enabled or active.node not in (self.screen, self):
                continue  # a focused widget's own keys (a table's scrolling) are the first line's
            shown = self.get_key_display(binding) or key
            if binding.description not in by_description:
                by_description[binding.description] = []
                keys.append(("", binding.description))
            if shown not in by_description[binding.description]:
                by_description[binding.description].append(shown)
        keys = [(key or " ".join(by_description[description]), description) for key, description in keys]
        if isinstance(self.screen, DashboardScreen):
            keys += [("1–9", "Jump to a theme's panel"), ("enter", "Open the claim or series under the cursor")]
        keys += [("ctrl+p", "Command palette: any claim, series or theme")]
        self.push_screen(HelpScreen(keys))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = str(event.row_key.value)
        if event.data_table.has_class("claims"):
            self.open_claim(key)
        elif event.data_table.has_class("series"):
            self.open_series(key)

    def open_claim(self, claim_id: str) -> None:
        self.push_screen(ClaimScreen(self.narratives.claim(claim_id)))

    def open_series(self, series: str) -> None:
        self.push_screen(SeriesScreen(series, [c for c in self.narratives.claims if series in c.series]))

    def jump_to_theme(self, number: int) -> None:
        dashboard = self.dashboard
        if dashboard is not None:
            while self.screen is not dashboard:
                self.pop_screen()
            dashboard.action_jump(number)

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


def snapshot_app(settings: Settings, narratives: Narratives, path: Path, now: datetime | None = None,
                 lang: str | None = None) -> TapecheckApp:
    from tui.core.snapshot import load_tape

    read = load_tape(path, settings.poller.dispute_factor)
    observations = read.observations
    tape = MemoryTape(observations, read.disputed)
    clock = (lambda: now) if now else (lambda: datetime.now(UTC))
    note = f"{path}" + (f" at {now:%Y-%m-%d %H:%M} UTC" if now else "")
    taken_at = None if now or not observations else max(o.ts for o in observations)
    return TapecheckApp(settings, narratives, mode="SNAPSHOT", engine=Engine(narratives, settings, tape, clock),
                        lang=lang, source_note=note, taken_at=taken_at, file_warnings=tuple(read.warnings))


def replay_app(settings: Settings, narratives: Narratives, path: Path, speed: float,
               start: datetime | None = None, lang: str | None = None) -> TapecheckApp:
    from tui.core.snapshot import load_tape

    read = load_tape(path, settings.poller.dispute_factor)
    replay = Replay(read.observations, speed, start, read.disputed)
    return TapecheckApp(settings, narratives, mode="REPLAY", engine=Engine(narratives, settings, replay.tape,
                                                                            replay.clock),
                        lang=lang, replay=replay, source_note=str(path), file_warnings=tuple(read.warnings))


def demo_app(settings: Settings, narratives: Narratives, lang: str | None = None,
             minutes: float = 3.0, back_to: str | None = None) -> TapecheckApp:
    """The shipped synthetic tape, its live part played in about `minutes`. No store is opened. `back_to`: the
    mode it was asked for from, where D goes back to."""
    from tui.core.demotape import DEMO_END, DEMO_START, DEMO_TAPE
    from tui.core.snapshot import read_observations

    speed = (DEMO_END - DEMO_START).total_seconds() / (minutes * 60)
    replay = Replay(read_observations(DEMO_TAPE), speed, DEMO_START)
    return TapecheckApp(settings, narratives, mode="DEMO", engine=Engine(narratives, settings, replay.tape,
                                                                          replay.clock),
                        lang=lang, replay=replay, source_note="the shipped synthetic demo tape", back_to=back_to)


def live_app(settings: Settings, narratives: Narratives, store: Store, lang: str | None = None,
             start_collector: Callable[[], str] | None = None, collect_hint: str = "tapecheck collect") -> TapecheckApp:
    """A viewer of `store` (opened read-only); a collector writes it."""
    engine = Engine(narratives, settings, store, lambda: datetime.now(UTC), store=store)
    return TapecheckApp(settings, narratives, mode="LIVE", engine=engine, lang=lang, start_collector=start_collector,
                        source_note=str(store.path), collect_hint=collect_hint)
