"""The Textual app: owns the settings, the tape, the poller and the timers; the screens do the drawing.

Modes: LIVE (sources poll into the store, the dashboard reads the store), SNAPSHOT (a JSON Lines file at
one moment, no polling), REPLAY (a tape played back by its timestamps) and DEMO (the shipped synthetic tape,
replayed; it never touches the store). The first frame shows the narratives and the last stored values
before any network request or heavy import: ccxt and yfinance load inside the poller's workers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from tui.collect.consistency import seed_from_store
from tui.collect.poller import Health, Poller
from tui.collect.recorder import StoreWriter
from tui.collect.sources.base import FetchResult, Source
from tui.collect.sources.registry import HistoryJob, Planned, coverage_of
from tui.core.claims import Narratives
from tui.core.config import Settings
from tui.core.model import Observation, Status, Verdict
from tui.core.replay import Replay
from tui.core.rules.evaluate import fresh_after
from tui.core.store import Store
from tui.core.tape import MemoryTape, OverlayTape, Tape
from tui.core.then import judge_then
from tui.core.view import ThemeView, build_views, make_context
from tui.ui.screens.commands import TapecheckCommands
from tui.ui.screens.dashboard import DashboardScreen, FilterChanged, PanelsShown
from tui.ui.screens.detail import ClaimScreen, HelpScreen, SeriesScreen, SourcesScreen
from widgets.header_line import HeaderLine, Pill

WIDE = 160  # columns from which the panels sit in two columns
REBUILD_DELAY_S = 0.25  # poll results within this time of each other cause one re-evaluation
REPLAY_TICK_S = 0.2  # how often a replay moves its clock on (at speed 0: the pause between steps is 0.01 s)
DEMO = "demo"  # what the app returns when the user asks for the demo from another mode
CHART_POINTS = 600  # per source: a chart is a few hundred columns of braille (two points each)
QUIET_REBUILD_S = 15  # ages and staleness move even when no data arrives: redraw after this long without one


class PromptExitExecutor(ThreadPoolExecutor):
    """The loop's thread pool, whose shutdown does not wait for a request blocked in a worker thread.

    yfinance calls cannot be cancelled; without this, quitting waits for the slowest one to time out.
    """

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=False, cancel_futures=True)


class TapecheckApp(App[str | None]):
    """tapecheck's dashboard."""

    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {TapecheckCommands}
    TITLE = "tapecheck"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("d", "toggle_diverged", "Diverged only", id="diverged"),
        Binding("r", "refresh_now", "Refresh", id="refresh"),
        Binding("p", "toggle_pause", "Pause", id="pause"),
        Binding("s", "sources", "Sources", id="sources"),
        Binding("L", "toggle_lang", "中/EN", id="lang"),
        Binding("full_stop", "step", "Step", id="step"),
        Binding("D", "demo", "Demo", id="demo", show=False),
    ]

    def __init__(self, settings: Settings, narratives: Narratives, *, mode: str, tape: Tape,
                 store: Store | None = None, planned: Planned | None = None,
                 clock: Callable[[], datetime] | None = None, lang: str | None = None,
                 replay: Replay | None = None, store_problem: str | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.narratives = narratives
        self.mode = mode
        self.tape = tape
        self.store = store
        self.planned = planned
        self.replay = replay
        self.clock = replay.clock if replay else clock or (lambda: datetime.now(UTC))
        self.lang = lang or settings.lang
        self.diverged_only = False
        self.text_filter = ""
        self.views: list[ThemeView] = []
        self.verdicts: dict[str, Verdict] = {}
        self.then: dict[str, Verdict] = {}  # each claim on its own date
        self.flips: dict[str, list[str]] = {}
        self.poller: Poller | None = None
        self.health: dict[str, Health] = {}
        self.told_nothing_answers = False
        self.rebuild_pending = False
        # Poll results go to the store through this; a store that cannot be written stops recording, not the app.
        self.writer = StoreWriter(store, store_problem)
        self.rebuilt_at = 0.0  # time.monotonic() of the last rebuild

    def on_mount(self) -> None:
        asyncio.get_running_loop().set_default_executor(PromptExitExecutor(max_workers=8))
        if self.settings.keys:
            self.set_keymap(self.settings.keys)
        if self.store is None:  # a tape: its history is all there; the store's is judged once the panels show
            self.then = judge_then(self.narratives.claims, self.tape, self.settings)
        self.push_screen(DashboardScreen())  # it calls rebuild() once composed
        self.set_interval(1, self.tick)
        self.set_interval(QUIET_REBUILD_S, self.rebuild_if_quiet)
        if self.mode == "LIVE" and self.writer.problem:
            self.notify(self.writer.problem, title="Not recording", severity="error", timeout=15)
        if self.replay is not None:
            self.play()
        for warning in self.settings.warnings:  # printed before the screen opened, so said here again
            self.notify(warning, title="Config", severity="warning", timeout=20)

    def on_panels_shown(self, message: PanelsShown) -> None:
        # Polling starts once the first frame is drawn: its imports (ccxt, yfinance) run in threads, but they
        # hold the GIL for seconds, which would slow the first frame down. So does judging every claim on its
        # own date over the store (the first time; after that the answers are kept in the store).
        if self.store is not None and not self.then:
            self.judge_then_in_background()
        if self.mode == "LIVE" and self.planned is not None and self.poller is None:
            self.call_after_refresh(self.start_polling)

    def on_resize(self, event: events.Resize | None = None) -> None:
        size = event.size if event is not None else self.size
        dashboard = self.dashboard
        if dashboard is not None and dashboard.is_mounted:
            dashboard.fit(size.width, size.height, WIDE)

    # ---- data -------------------------------------------------------------------------------------

    def rebuild_if_quiet(self) -> None:
        if time.monotonic() - self.rebuilt_at >= QUIET_REBUILD_S - 1:
            self.rebuild()

    def rebuild(self) -> None:
        """Recompute the panels from the tape at the current time and redraw them."""
        self.rebuilt_at = time.monotonic()
        ctx = make_context(self.tape, self.clock(), self.settings)
        views, verdicts = build_views(self.narratives, ctx, self.lang, self.then)
        self.note_flips(verdicts)
        self.views = views
        dashboard = self.dashboard
        if dashboard is not None:
            dashboard.show_views(views, self.lang, self.diverged_only, self.text_filter)
            self.on_resize()
        self.tick()

    def note_flips(self, verdicts: list[Verdict]) -> None:
        judged = (Status.HOLDS, Status.DIVERGED)
        for verdict in verdicts:
            before = self.verdicts.get(verdict.claim_id)
            if before is not None and before.status in judged and verdict.status in judged \
                    and before.status is not verdict.status:
                stamp = f"{self.clock():%Y-%m-%d %H:%M:%S} UTC"
                line = f"{stamp}: {before.status} → {verdict.status} ({verdict.explanation})"
                self.flips.setdefault(verdict.claim_id, []).append(line)
                if self.settings.bell:
                    self.bell()
                self.notify(f"{verdict.claim_id}: {before.status} → {verdict.status}\n{verdict.explanation}",
                            title="Verdict changed", severity="warning" if verdict.status is Status.DIVERGED
                            else "information", timeout=10)
        self.verdicts = {v.claim_id: v for v in verdicts}

    @property
    def dashboard(self) -> DashboardScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, DashboardScreen):
                return screen
        return None

    def tick(self) -> None:
        dashboard = self.dashboard
        if dashboard is None:
            return
        found = dashboard.query(HeaderLine)
        if not found:  # not composed yet, or being torn down while a poll ends
            return
        header = found.first()
        header.mode = self.mode_text()
        now = self.clock()
        header.clock = f"{now:%Y-%m-%d %H:%M:%S} UTC" if self.replay else f"{now:%H:%M:%S} UTC"
        pills = []
        for health in self.health.values():
            if health.kind == "history":
                continue  # daily-history jobs are on the sources screen, not in the header
            note = "" if health.last_success is None else f"{int((now - health.last_success).total_seconds())}s"
            # answered, but with values refused as bad data: yellow, and the sources screen says which
            state = "partial" if health.state == "ok" and (health.refused or health.disputed) else health.state
            pills.append(Pill(health.source, state, note))
        header.pills = tuple(pills)
        diverged = sum(1 for v in self.verdicts.values() if v.status is Status.DIVERGED)
        wrong = sum(1 for v in self.then.values() if v.status is Status.DIVERGED)
        header.flagged = " · ".join(([f"{diverged} diverged"] if diverged else [])
                                    + ([f"{wrong} wrong then"] if wrong else []))

    def mode_text(self) -> str:
        paused = (self.poller is not None and self.poller.paused) or (self.replay is not None and self.replay.paused)
        text = self.mode
        if self.mode == "DEMO":
            text = "DEMO — synthetic data"
        elif self.replay is not None:
            text = f"REPLAY ×{self.replay.speed:g}" if self.replay.speed else "REPLAY (fast)"
        if self.replay is not None:
            text += f" {self.replay.progress:.0%}" + (" (end)" if self.replay.finished else "")
        text += " (paused)" if paused else ""
        return text + (" · not recording" if self.mode == "LIVE" and self.writer.problem else "")

    # ---- polling ----------------------------------------------------------------------------------

    @work(exclusive=True, group="poller")
    async def start_polling(self) -> None:
        assert self.planned is not None  # started only in LIVE mode with sources planned
        self.poller = Poller(self.planned.sources, self.planned.schedules, self.settings.poller, self.on_poll)
        if self.store is not None:  # the first answers are held against what was stored before
            await asyncio.to_thread(seed_from_store, self.poller.consistency, self.store, self.clock())
        self.health = dict(self.poller.health)
        self.poller.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.poller.stop()

    async def on_poll(self, source: Source, result: FetchResult | None, health: Health) -> None:
        self.health[source.name] = health
        observations = result.observations if result is not None else ()
        change = await self.writer.save(observations, coverage=coverage_of(source, result),
                                        disputed=result.disputed if result is not None else ())
        if result is not None and isinstance(source, HistoryJob):
            self.judge_then_in_background()
        if self.writer.problem and self.writer.durable and not isinstance(self.tape, OverlayTape):
            self.tape = OverlayTape(self.tape)  # not recording: keep what arrives in memory, to show it
        if isinstance(self.tape, OverlayTape):
            self.tape.add(observations)
        if change:  # a full disk stops recording, not the dashboard
            self.notify(change, title="Recording", severity="error" if self.writer.problem else "information",
                        timeout=10)
        self.tick()  # the source's pill changes now; the panels wait for the rest of the burst
        if not self.rebuild_pending:  # polls arrive in bursts: redraw once for the burst
            self.rebuild_pending = True
            self.set_timer(REBUILD_DELAY_S, self.rebuild_after_polls)

    @work(exclusive=True, group="then")
    async def judge_then_in_background(self) -> None:
        """Each claim on its own date, from the store's daily history; final answers are cached there."""
        if self.store is None:
            return
        self.then = await asyncio.to_thread(judge_then, self.narratives.claims, self.tape, self.settings, self.store)
        self.rebuild()

    # ---- replay -----------------------------------------------------------------------------------

    @work(exclusive=True, group="replay")
    async def play(self) -> None:
        """Move the replay's clock on in real time (× its speed), redrawing whenever it passes an observation."""
        replay = self.replay
        assert replay is not None
        last = time.monotonic()
        while not replay.finished:
            await asyncio.sleep(REPLAY_TICK_S if replay.speed else 0.01)
            now = time.monotonic()
            if replay.advance(now - last):
                self.rebuild()
            last = now
        self.tick()
        self.notify("End of the tape. Press q to quit, or look around.", title=self.mode, timeout=10)

    def action_step(self) -> None:
        if self.replay is None:
            self.notify(f"{self.mode} mode: stepping is for replays", timeout=3)
            return
        self.replay.paused = True
        if self.replay.step():
            self.rebuild()
        else:
            self.notify("End of the tape", timeout=3)
            self.tick()

    def action_demo(self) -> None:
        if self.mode == "DEMO":
            self.notify("This is the demo already: synthetic data", timeout=3)
            return
        self.exit(DEMO)

    def rebuild_after_polls(self) -> None:
        self.rebuild_pending = False
        self.rebuild()
        self.tell_if_nothing_answers()

    def tell_if_nothing_answers(self) -> None:
        """Once: when every live source has failed and nothing is stored, say so rather than show empty panels."""
        live = [h for h in self.health.values() if h.kind != "history"]
        if self.told_nothing_answers or not live or any(h.last_success or not h.failures for h in live):
            return
        if any(v.status not in (Status.NO_DATA, Status.CONTEXT) for v in self.verdicts.values()):
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

    def on_filter_changed(self, message: FilterChanged) -> None:
        self.text_filter = message.text
        self.rebuild()

    def action_toggle_diverged(self) -> None:
        self.diverged_only = not self.diverged_only
        self.notify("showing diverged claims only" if self.diverged_only else "showing every claim", timeout=2)
        self.rebuild()

    def action_toggle_lang(self) -> None:
        self.lang = "en" if self.lang == "zh" else "zh"
        self.rebuild()

    def action_refresh_now(self) -> None:
        if self.poller is not None:
            self.poller.poll_now()
        self.rebuild()

    def action_toggle_pause(self) -> None:
        if self.replay is not None:
            self.replay.paused = not self.replay.paused
            self.tick()
            return
        if self.poller is None:
            self.notify(f"{self.mode} mode: nothing is polled", timeout=3)
            return
        if self.poller.paused:
            self.poller.resume()
        else:
            self.poller.pause()
        self.tick()

    def action_sources(self) -> None:
        if not self.is_screen_installed("sources"):  # built once: showing it again is much quicker
            note = "" if self.mode == "LIVE" else f"{self.mode} mode: no source is polled."
            self.install_screen(SourcesScreen(lambda: list(self.health.values()), self.clock, note), "sources")
        if self.get_screen("sources") not in self.screen_stack:
            self.push_screen("sources")

    def action_help(self) -> None:
        keys: list[tuple[str, str]] = [("↑ ↓ j k", "Move within a table, or scroll a claim or series page")]
        for bindings in (DashboardScreen.BINDINGS, self.BINDINGS):
            for binding in bindings:
                if not isinstance(binding, Binding) or binding.action.startswith("jump("):
                    continue
                keys.append((self.get_key_display(binding), binding.description))
        keys += [("1–8", "Jump to a theme's panel"), ("enter", "Open the claim or series under the cursor"),
                 ("esc", "Back"), ("1 2 3 4", "On a series: chart range 1D, 1W, 1M, 1Y"),
                 ("ctrl+p", "Command palette: any claim, series or theme")]
        self.push_screen(HelpScreen(keys))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = str(event.row_key.value)
        if event.data_table.has_class("claims"):
            self.open_claim(key)
        elif event.data_table.has_class("series"):
            self.open_series(key)

    def open_claim(self, claim_id: str) -> None:
        claim = self.narratives.claim(claim_id)
        history = self.history(claim.series[0], None, self.clock()) if claim.series else []
        self.push_screen(ClaimScreen(claim, self.verdicts[claim_id], self.narratives, self.lang, history,
                                     self.flips.get(claim_id, []), self.then.get(claim_id)))

    def open_series(self, series: str) -> None:
        now = self.clock()
        claims = [c for c in self.narratives.claims if series in c.series]
        fresh = fresh_after(make_context(self.tape, now, self.settings), series)
        self.push_screen(SeriesScreen(series, self.tape.latest(series, now), claims, now, self.history, fresh))

    def jump_to_theme(self, number: int) -> None:
        dashboard = self.dashboard
        if dashboard is not None:
            while self.screen is not dashboard:
                self.pop_screen()
            dashboard.action_jump(number)

    def history(self, series: str, since: datetime | None, now: datetime) -> list[Observation]:
        """A series' observations from `since` (or the start) to `now`, oldest first, for charts: from the
        store, at most CHART_POINTS per source."""
        start = since or datetime(1970, 1, 1, tzinfo=UTC)
        if isinstance(self.tape, OverlayTape) and isinstance(self.tape.base, Store):
            recent = [o for o in self.tape.observations(series) if start <= o.ts <= now]
            return self.tape.base.history(series, start, now, CHART_POINTS) + recent
        if isinstance(self.tape, Store):
            return self.tape.history(series, start, now, CHART_POINTS)
        if isinstance(self.tape, MemoryTape):
            return [o for o in self.tape.observations(series) if start <= o.ts <= now]
        return []


def snapshot_app(settings: Settings, narratives: Narratives, path: Path, now: datetime | None = None,
                 lang: str | None = None) -> TapecheckApp:
    from tui.core.snapshot import read_observations

    tape = MemoryTape(read_observations(path))
    clock = (lambda: now) if now else None
    return TapecheckApp(settings, narratives, mode="SNAPSHOT", tape=tape, clock=clock, lang=lang)


def replay_app(settings: Settings, narratives: Narratives, path: Path, speed: float,
               start: datetime | None = None, lang: str | None = None) -> TapecheckApp:
    from tui.core.snapshot import read_observations

    replay = Replay(read_observations(path), speed, start)
    return TapecheckApp(settings, narratives, mode="REPLAY", tape=replay.tape, lang=lang, replay=replay)


def demo_app(settings: Settings, narratives: Narratives, lang: str | None = None,
             minutes: float = 3.0) -> TapecheckApp:
    """The shipped synthetic tape, its live part played in about `minutes`. No store is opened."""
    from tui.core.demo import DEMO_END, DEMO_START, DEMO_TAPE
    from tui.core.snapshot import read_observations

    speed = (DEMO_END - DEMO_START).total_seconds() / (minutes * 60)
    replay = Replay(read_observations(DEMO_TAPE), speed, DEMO_START)
    return TapecheckApp(settings, narratives, mode="DEMO", tape=replay.tape, lang=lang, replay=replay)
