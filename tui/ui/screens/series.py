"""A series (enter on a series): its chart over a chosen range, the latest value per source, and the claims that
read it."""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static
from textual.worker import get_current_worker

from tui.core import format as fmt
from tui.core.judge.engine import DashboardState
from tui.core.model import Claim, Observation, SeriesId
from tui.core.printable import printable
from tui.ui.screens.base import StateScreen
from tui.ui.screens.page import Page, chart_of, draw_chart, new_chart, show_note
from widgets.footer import Footer
from widgets.header_line import HeaderLine

RANGES = {"1": ("1D", timedelta(days=1)), "2": ("1W", timedelta(weeks=1)), "3": ("1M", timedelta(days=31)),
          "4": ("1Y", timedelta(days=366))}


class SeriesScreen(StateScreen):
    """A series: its chart over a chosen range, the latest value per source, and the claims that read it.
    It follows the app's state: a new observation shows at once, the ages tick."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back"),
                *[Binding(k, f"range('{k}')", f"Chart {label}") for k, (label, _) in RANGES.items()]]

    def __init__(self, series: str, claims: list[Claim]) -> None:
        super().__init__()
        self.series, self.claims = series, claims
        self.latest: list[Observation] = []
        self.fresh_after: datetime | None = None  # older values are stale: shown, but left out of the spread
        self.range = "2"
        self.drawn = False  # the text and the chart have been drawn once (they are read in a thread)

    def compose(self) -> ComposeResult:
        yield HeaderLine()
        with Page():
            yield Static(id="series-text")
            yield Static(id="series-chart-note", classes="chart-note")
            yield new_chart("series-chart")
        yield Footer()

    def show_state(self, state: DashboardState) -> None:
        self.read_latest()

    def tick(self, now: datetime) -> None:
        for text in self.query("#series-text").results(Static):
            text.update(self.describe(now))

    @work(thread=True, exclusive=True, group="latest", exit_on_error=False)
    def read_latest(self) -> None:
        latest, fresh_after = self.viewer.feed.engine.latest(self.series)
        now = self.viewer.feed.clock()
        span = RANGES[self.range][1]
        history = self.viewer.feed.history(self.series, now - span, now)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.show_latest, latest, fresh_after, history, (now - span, now))

    def show_latest(self, latest: list[Observation], fresh_after: datetime, history: list[Observation],
                    window: tuple[datetime, datetime]) -> None:
        if not self.is_mounted:
            return
        self.latest, self.fresh_after = latest, fresh_after
        self.query_one("#series-text", Static).update(self.describe(self.viewer.feed.clock()))
        label = RANGES[self.range][0]
        name = self.company()
        draw_chart(chart_of(self, "series-chart"), history,
                   f"{self.series}{' · ' + name if name else ''} · {label}", window=window)
        show_note(self.query_one("#series-chart-note", Static), history, self.series, f" in this range ({label})")
        self.drawn = True

    def describe(self, now: datetime) -> Text:
        text = Text()
        text.append(f"{self.series}", style="bold")
        name = self.company()
        text.append(f"  {name}" if name else "", style="bold").append("\n\n")
        fresh_after = self.fresh_after or now
        values = [o.value for o in self.latest if o.ts >= fresh_after]
        for obs in sorted(self.latest, key=lambda o: o.source):
            age = fmt.age((now - obs.ts).total_seconds())
            stale = obs.ts < fresh_after
            value = fmt.quantity(obs.value, obs.unit, fmt.series_kind([self.series]))
            text.append(f"  {printable(obs.source):12} {value:>20}  {age} old"
                        + ("  stale: left out" if stale else "") + "\n", style="dim" if stale else "")
        if len(values) > 1:
            spread = (max(values) - min(values)) / min(values) * 100
            text.append(f"  spread across the {len(values)} fresh sources {spread:.3f}%\n")
        if not self.latest:
            text.append("  no observations\n", style="dim")
        text.append("\nClaims that read it\n", style="dim")
        for claim in self.claims:
            text.append(f"  {claim.id}: {claim.summary}\n")
        return text

    def company(self) -> str:
        """The company behind the series' exchange code, in the app's language, the other in brackets."""
        narratives, lang = self.viewer.narratives, self.viewer.lang
        symbol = SeriesId.parse(self.series).symbol
        first, other = narratives.name(symbol, lang), narratives.name(symbol, "en" if lang == "zh" else "zh")
        return f"{first} ({other})" if first and other != first else first

    def action_range(self, key: str) -> None:
        self.range = key
        self.read_latest()
