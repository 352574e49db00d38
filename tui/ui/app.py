"""The Textual app: joins a feed (an engine and the workers that build its states: tui.ui.feed) to the screens.

Modes: LIVE (a viewer of the store, which a `tapecheck collect` process writes), SNAPSHOT (a JSON Lines file at
one moment), REPLAY (a tape played back by its timestamps) and DEMO (the shipped synthetic tape, replayed; it
never touches the store). The screens render from the newest DashboardState and ask things of the app with
messages (tui.ui.messages). The dashboard process never imports ccxt, yfinance or httpx: in LIVE mode `r` and
`p` are requests to the collector, left in the store.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from tui.core.config import Settings
from tui.core.judge.engine import DashboardState, Engine
from tui.core.narratives.claims import Narratives
from tui.core.store.protocol import Store
from tui.ui import notices
from tui.ui.feed import STARTING_S, Feed, NarrativeWatch, demo_feed, live_feed, replay_feed, snapshot_feed
from tui.ui.header import header_due
from tui.ui.messages import (
    AlertAcknowledged,
    ClaimChosen,
    NarrativesReloaded,
    PanelsPainted,
    SeriesChosen,
    StateBuilt,
    StoreUnreadable,
    ThemeChosen,
)
from tui.ui.screens.base import StateScreen
from tui.ui.screens.dashboard import DashboardScreen
from tui.ui.terminal import end_if_hung_up, exit_on_signals, log_crash, release_signals, terminal_input
from tui.ui.themes import THEMES
from tui.ui.viewer import Viewer
from widgets.scrollbar import plain_scrollbars

if TYPE_CHECKING:
    from tui.core.replay import Replay

# The other screens and the palette's commands are imported when first asked for: the first frame shows the
# dashboard alone.

TICK_S = 1.0  # the clock's step on a screen other than the dashboard, or where the clock shows seconds
HANG_UP_S = 5.0  # the dashboard's clock ticks at least this often, looking for a terminal gone without a SIGHUP


def sources_screen() -> Screen[None]:
    """The sources page, imported when first shown (then kept: TapecheckApp.SCREENS)."""
    from tui.ui.screens.sources import SourcesScreen

    return SourcesScreen()


def tapecheck_commands() -> type[Provider]:
    """The command palette's provider of claims, series and themes (Textual calls this when the palette opens)."""
    from tui.ui.screens.commands import TapecheckCommands

    return TapecheckCommands


class TapecheckApp(App[None]):
    """tapecheck's dashboard, showing one feed at a time: its own, or the demo's (D) and back."""

    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {tapecheck_commands}
    SCREENS: ClassVar[dict[str, Callable[[], Screen[None]]]] = {"sources": sources_screen}  # built once, kept
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

    def __init__(self, settings: Settings, narratives: Narratives, feed: Feed, *, lang: str | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.narratives = narratives
        self.feed = feed
        self.away: Feed | None = None  # the feed the demo was asked for from: where D goes back to
        self.lang = lang or settings.lang
        self.state: DashboardState | None = None
        self.told_nothing_answers = False
        self.crashed = False  # an unexpected error ended the app; its traceback is in the log
        self.heap_frozen = False  # see freeze_heap
        self.keys_fd: int | None = None  # the terminal the keys come from (on_mount), None: not a terminal
        self.tick_timer: Timer | None = None  # the clock's next tick (see tick)
        self.narrative_watch = NarrativeWatch(narratives)  # the user's files as last read
        plain_scrollbars(self.no_color)  # without colour, Textual's scrollbars leave stray glyphs
        for theme in THEMES:
            self.register_theme(theme)
        if settings.theme in self.available_themes:
            self.theme = settings.theme

    @property
    def engine(self) -> Engine:
        return self.feed.engine

    @property
    def store(self) -> Store | None:
        return self.feed.store

    @property
    def replay(self) -> Replay | None:
        return self.feed.replay

    @property
    def dashboard(self) -> DashboardScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, DashboardScreen)), None)

    def on_mount(self) -> None:
        exit_on_signals(lambda code: self.exit(return_code=code))
        self.keys_fd = terminal_input()  # watched by the clock: a terminal gone without a SIGHUP ends the app
        if self.settings.keys:
            self.set_keymap(self.settings.keys)
        if self.feed.first is not None:  # prepared before the app ran: the dashboard opens with its panels
            self.state = self.feed.first
        self.push_screen(DashboardScreen())
        self.tick_soon()
        self.screen_change_signal.subscribe(self, lambda _screen: self.tick_soon())  # another screen, its clock
        self.feed.start(self, self.narrative_watch)
        notices.opening(self, self.feed, self.settings, self.narratives.problems)

    def on_unmount(self) -> None:
        self.feed.stop()
        self.narrative_watch.reader.stop()  # a reading of the user's files under way ends with the app
        release_signals()
        if self.heap_frozen:
            gc.unfreeze()  # what the app kept for its life can go now, cycles and all

    def freeze_heap(self) -> None:
        """Collect once, then leave every object alive (the modules, the screens, the narratives: kept for the
        app's life) out of later collections. Otherwise each full collection walks them all again, 50-70 ms every
        few seconds on the event loop, and the first after start-up lands on whatever key is pressed then."""
        if self.is_running:
            gc.collect()
            gc.freeze()

    def _handle_exception(self, error: Exception) -> None:
        log_crash(error)  # Textual then exits with status 1; the traceback it would print is dropped below
        self.crashed = True
        super()._handle_exception(error)

    def _print_error_renderables(self) -> None:
        if self.crashed:
            self._exit_renderables.clear()
        super()._print_error_renderables()

    def on_resize(self, event: events.Resize) -> None:
        dashboard = self.dashboard
        if dashboard is not None and dashboard.is_mounted:
            dashboard.fit(event.size)

    # ---- states -----------------------------------------------------------------------------------

    def build_state(self) -> None:
        """Judge the feed's tape again now (SNAPSHOT, REPLAY, DEMO; LIVE builds on each commit)."""
        self.feed.build_state()

    def on_state_built(self, message: StateBuilt) -> None:
        if message.feed not in (None, self.feed):
            return  # built by a feed left behind (D) as it stopped
        state = self.state = message.state
        notices.new_alerts(self, state, self.settings.bell)
        with self.batch_update():
            stack = self.screen_stack
            for depth, screen in enumerate(stack, start=1):
                if isinstance(screen, StateScreen) and screen.is_mounted:  # on view: nothing above it but dialogs
                    screen.take_state(state, all(isinstance(above, ModalScreen) for above in stack[depth:]))
            self.tick()  # the header and the clock with it
        if state.pending:  # the first frame's state judged nothing yet
            return
        if not self.heap_frozen:  # after the first judged frame: see freeze_heap
            self.heap_frozen = True
            self.call_after_refresh(self.freeze_heap)
        if not self.told_nothing_answers and notices.nothing_answers(state):
            self.told_nothing_answers = True
            self.notify(notices.NOTHING_ANSWERS, title="Nothing to show yet", severity="warning", timeout=60)
        self.feed.restart_collector_if_down(state)

    def on_panels_painted(self, message: PanelsPainted) -> None:
        self.feed.first_painted()  # the verdicts are judged once the first frame is on the screen

    def on_narratives_reloaded(self, message: NarrativesReloaded) -> None:
        self.narratives = message.narratives
        notices.narratives_reloaded(self, message.before, message.narratives)

    def on_store_unreadable(self, message: StoreUnreadable) -> None:
        self.notify(message.problem, title="Cannot read the store", severity="error", timeout=10)
        self.tick()  # the header says so now (the store unreachable, its file gone)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that failed says so; the dashboard runs on with what it shows."""
        if event.state is WorkerState.ERROR:
            error = event.worker.error
            self.notify(f"{type(error).__name__}: {error}", title=f"{event.worker.name} failed", severity="error",
                        timeout=15)

    def tick(self) -> None:
        """The clock and the ages, on the screen in front (nothing else is repainted), and a look for a terminal
        gone. Then the next tick is set: in a second, or on the dashboard (what an idle viewer shows), when the
        first thing it shows may read otherwise with no new state (an age cell, the header's minute or a
        source's age), and within HANG_UP_S; each state ticks too (on_state_built)."""
        if end_if_hung_up(self.keys_fd, lambda code: self.exit(return_code=code)):
            self.keys_fd = None
            return
        screen = self.screen if self.screen_stack else None  # none while the app is closing
        if isinstance(screen, StateScreen):
            screen.refresh_header()
            screen.tick(self.feed.clock())
        self.tick_soon(self.next_tick_s(screen))

    def next_tick_s(self, screen: Screen[Any] | None) -> float:
        """Seconds until the clock should tick again on `screen` (see tick)."""
        if not isinstance(screen, DashboardScreen):
            return TICK_S
        now = self.feed.clock()
        header, ages = header_due(self, now), screen.ages_due_at()
        if header is None or ages is None:
            return TICK_S
        wait = min(HANG_UP_S, (min(header, ages) - now).total_seconds())
        if self.feed.collector_starting():  # the header says "starting" until then, "down" after
            wait = min(wait, self.feed.collector_started_at + STARTING_S - time.monotonic())
        return max(0.05, wait + 0.01)  # just after the moment: the text reads otherwise by then

    def tick_soon(self, delay: float = TICK_S) -> None:
        """Set the clock's next tick `delay` seconds from now, instead of the one set before."""
        if self.tick_timer is not None:
            self.tick_timer.stop()
        self.tick_timer = self.set_timer(delay, self.tick, name="clock")

    # ---- the demo, replays, the collector -------------------------------------------------------------

    def action_demo(self) -> None:
        """D: to the demo, a feed of its own in this same app; D there goes back to the feed left, as it was (a
        replay where it stood, a store watched again)."""
        if self.away is not None:
            self.switch(self.away)
            self.away = None
        elif self.feed.mode == "DEMO":
            self.notify("This is the demo already (synthetic data): tapecheck --demo has nowhere to go back to",
                        timeout=5)
        else:
            self.run_worker(self.open_demo(), name="demo", group="demo", exclusive=True, exit_on_error=False)

    async def open_demo(self) -> None:
        demo = await asyncio.to_thread(demo_feed, self.settings, self.narrative_watch.current)  # reads its tape
        self.away = self.feed
        self.switch(demo)
        where = {"LIVE": "the live dashboard"}.get(self.away.mode, f"the {self.away.mode.lower()}")
        self.notify(f"The demo: synthetic data, nothing stored. Press D to go back to {where}.", title="DEMO",
                    timeout=15)

    def switch(self, feed: Feed) -> None:
        """Show `feed` from now on: the other stops, and a page opened on its data closes."""
        self.feed.stop()
        dashboard = self.back_to_dashboard()
        if dashboard is not None:
            dashboard.forget()
        self.feed, self.state = feed, None
        self.narratives = self.narrative_watch.current  # as the feed's engine judges them
        feed.start(self, self.narrative_watch)
        self.refresh_bindings()  # Step is in the footer for a replay's feed alone
        self.tick()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Step is for replays: elsewhere it is left out of the footer."""
        return self.feed.replay is not None if action == "step" else True

    def action_step(self) -> None:
        replay = self.feed.replay
        if replay is None:
            self.notify(f"{self.feed.mode} mode: stepping is for replays", timeout=3)
            return
        replay.paused = True
        if replay.step():
            self.build_state()
        else:
            self.notify("End of the tape", timeout=3)
        self.tick()

    def action_refresh_now(self) -> None:
        feed = self.feed
        if feed.store is None:
            what = f" ({feed.source_note})" if feed.source_note else ""
            self.notify(f"{feed.mode} mode: nothing is polled; the data is the tape{what}. Judged again now.",
                        timeout=5)
            self.build_state()
        elif self.state is not None and self.state.collector is not None and not self.state.collector.running:
            if feed.start_collector is not None:
                self.notify("No collector runs for this store: starting one, which polls every source at once",
                            timeout=8)
                feed.ensure_collector(now=True)
            else:
                self.notify(f"No collector runs for this store, so nothing can be polled now. Start one with: "
                            f"{feed.collect_hint}", severity="warning", timeout=8, markup=False)
        else:
            self.ask_for_desk("refresh", "Poll every source now, for every dashboard on this store?",
                              "Asked the collector to poll every source now")

    def action_toggle_pause(self) -> None:
        replay = self.feed.replay
        if replay is not None:
            replay.paused = not replay.paused
            self.tick()
            return
        if self.feed.store is None:
            self.notify(f"{self.feed.mode} mode: nothing is polled", timeout=3)
            return
        collector = self.state.collector if self.state is not None else None
        if collector is None or not collector.running:
            self.notify("No collector runs for this store: nothing to pause", severity="warning", timeout=5)
        elif collector.info is not None and collector.info.paused:
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
                self.feed.ask_collector(f"{kind}:{requester()}", said)

        self.push_screen(ConfirmScreen(question), answered)

    def on_alert_acknowledged(self, message: AlertAcknowledged) -> None:
        """Acknowledged at once here, and LIVE for every dashboard, through the collector (see screens.alerts)."""
        state = self.feed.engine.acknowledge(message.alert_id, message.through)
        if state is not None:
            self.post_message(StateBuilt(state, self.feed))
        if self.feed.store is not None:
            running = self.state is not None and self.state.collector is not None and self.state.collector.running
            said = "Acknowledged for every dashboard" if running else \
                "Acknowledged here; no collector runs, so the store records it when one starts"
            self.feed.ask_collector(f"{'ack-upto' if message.through else 'ack'}:{message.alert_id}", said)

    # ---- screens ----------------------------------------------------------------------------------

    def action_toggle_lang(self) -> None:
        self.lang = "en" if self.lang == "zh" else "zh"
        dashboard = self.dashboard  # the state holds both languages: nothing is judged again
        if dashboard is not None:
            dashboard.redraw()

    def show(self, kind: type[Screen[None]]) -> None:
        """The screen of `kind` in front, a new one unless it is there already."""
        if not isinstance(self.screen, kind):
            self.push_screen(kind())

    def action_sources(self) -> None:
        from tui.ui.screens.sources import SourcesScreen

        if not isinstance(self.screen, SourcesScreen):
            self.push_screen("sources")  # the one kept (SCREENS): brought up to date as it is shown

    def action_articles(self) -> None:
        from tui.ui.screens.articles import ArticlesScreen

        self.show(ArticlesScreen)

    def action_console(self) -> None:
        from tui.ui.screens.console import ConsoleScreen

        self.show(ConsoleScreen)

    def action_alerts(self) -> None:
        from tui.ui.screens.alerts import AlertsScreen

        self.show(AlertsScreen)

    def action_help(self) -> None:
        from tui.ui.screens.help import HelpScreen, keys_in_force

        self.push_screen(HelpScreen(keys_in_force(self)))

    def on_claim_chosen(self, message: ClaimChosen) -> None:
        self.open_claim(message.claim_id)

    def on_series_chosen(self, message: SeriesChosen) -> None:
        self.open_series(message.series)

    def on_theme_chosen(self, message: ThemeChosen) -> None:
        dashboard = self.back_to_dashboard()
        if dashboard is not None:
            dashboard.action_jump(message.number)

    def open_claim(self, claim_id: str) -> None:
        from tui.ui.screens.claim import ClaimScreen

        self.push_screen(ClaimScreen(self.narratives.claim(claim_id)))

    def open_series(self, series: str) -> None:
        from tui.ui.screens.series import SeriesScreen

        self.push_screen(SeriesScreen(series, [c for c in self.narratives.claims if series in c.series]))

    def back_to_dashboard(self) -> DashboardScreen | None:
        dashboard = self.dashboard
        while dashboard is not None and self.screen is not dashboard:
            self.pop_screen()
        return dashboard


def snapshot_app(settings: Settings, narratives: Narratives, path: Path, now: datetime | None = None,
                 lang: str | None = None) -> TapecheckApp:
    return TapecheckApp(settings, narratives, snapshot_feed(settings, narratives, path, now), lang=lang)


def replay_app(settings: Settings, narratives: Narratives, path: Path, speed: float,
               start: datetime | None = None, lang: str | None = None) -> TapecheckApp:
    return TapecheckApp(settings, narratives, replay_feed(settings, narratives, path, speed, start), lang=lang)


def demo_app(settings: Settings, narratives: Narratives, lang: str | None = None, minutes: float = 3.0) -> TapecheckApp:
    """The shipped synthetic tape, its live part played in about `minutes`. No store is opened."""
    return TapecheckApp(settings, narratives, demo_feed(settings, narratives, minutes), lang=lang)


def live_app(settings: Settings, narratives: Narratives, store: Store, lang: str | None = None,
             start_collector: Callable[[], str] | None = None, collect_hint: str = "tapecheck collect") -> TapecheckApp:
    """A viewer of `store` (opened read-only); a collector writes it."""
    return TapecheckApp(settings, narratives, live_feed(settings, narratives, store, start_collector, collect_hint),
                        lang=lang)


_SCREENS_SEE: type[Viewer] = TapecheckApp  # the app is what its screens take it for (tui.ui.viewer): mypy checks it
