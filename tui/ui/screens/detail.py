"""Drill-downs: a claim in full with its chart, a series with its sources, the sources' health, and help."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual_plotext import PlotextPlot

from tui.collect.poller import DISPUTED, Health
from tui.core import format as fmt
from tui.core.claims import Narratives
from tui.core.model import Claim, Observation, SeriesId, Status, Verdict
from tui.core.then import move_text


class Page(VerticalScroll):
    """A drill-down's scrolling page: j and k scroll it, as the arrows do."""

    BINDINGS = [Binding("j", "scroll_down", "Down", show=False), Binding("k", "scroll_up", "Up", show=False)]


HistoryReader = Callable[[str, datetime, datetime], list[Observation]]  # series, since, now
RANGES = {"1": ("1D", timedelta(days=1)), "2": ("1W", timedelta(weeks=1)), "3": ("1M", timedelta(days=31)),
          "4": ("1Y", timedelta(days=366))}


def draw_chart(plot: PlotextPlot, history: list[Observation], title: str, level: float | None = None,
               mark: datetime | None = None) -> None:
    plt = plot.plt
    plt.clear_data()
    plt.clear_figure()
    plt.title(title)
    if not history:
        plt.text("no history in the store for this range", 0, 0)
        plot.refresh()
        return
    plt.date_form("Y-m-d H:M")
    xs = [o.ts.strftime("%Y-%m-%d %H:%M") for o in history]
    plt.plot(xs, [o.value for o in history], marker="braille")
    if level is not None:
        plt.hline(level, "red")
    if mark is not None and history[0].ts <= mark <= history[-1].ts:
        plt.vline(mark.strftime("%Y-%m-%d %H:%M"), "blue")  # type: ignore[arg-type]  # plotext takes dates
    plot.refresh()


class ClaimScreen(Screen[None]):
    """A claim in full: both paraphrases, its article, its rule, the numbers, its verdict history, a chart."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, claim: Claim, verdict: Verdict, narratives: Narratives, lang: str,
                 history: list[Observation], flips: list[str], then: Verdict | None = None) -> None:
        super().__init__()
        self.claim, self.verdict, self.narratives = claim, verdict, narratives
        self.lang, self.history, self.flips, self.then = lang, history, flips, then

    def compose(self) -> ComposeResult:
        with Page():
            yield Static(self.describe(), id="claim-text")
            if self.claim.rule:
                yield PlotextPlot(id="claim-chart")
        yield Footer()

    def describe(self) -> Text:
        c, v = self.claim, self.verdict
        article = self.narratives.articles[c.article]
        text = Text()
        text.append(f"{c.id}\n", style="bold")
        text.append(f"{c.summary}\n{c.summary_zh}\n\n")
        inferred = " (date inferred)" if c.as_of_inferred else ""
        text.append("As of ", style="dim").append(f"{c.as_of}{inferred}\n")
        text.append("Source ", style="dim").append(
            f"{article.outlet}, “{article.title}” ({article.title_en}), {article.published}"
            f"{' (inferred)' if article.published_inferred else ''}\n")
        if c.figure:
            text.append("Figure ", style="dim").append(f"{c.figure}\n")
        if c.rule:
            r = c.rule
            tol = f" within {r.tolerance_pct:g}%" if r.tolerance_pct else ""
            text.append("\nRule ", style="dim").append(f"{r.expr} {r.op} {fmt.quantity(r.value, r.unit)}{tol}\n")
            text.append("Reads ", style="dim").append(", ".join(r.series) + "\n")
        if self.then is not None:
            self.describe_then(text, self.then)
        text.append("\nNow ", style="dim").append(f"{v.status.upper()}", style="bold")
        if v.live_value is not None:
            text.append(f"  value {fmt.quantity(v.live_value, v.unit or 'ratio')}")
        if v.deviation_pct is not None:
            text.append(f"  off {fmt.signed_pct(v.deviation_pct)}")
        if v.age_s is not None:
            text.append(f"  data age {fmt.age(v.age_s)}")
        text.append(f"\n{v.explanation}\n")
        move = move_text(self.then, v)
        if move is not None:
            text.append("\nMove since then ", style="dim").append(f"{move}\n")
            if self.then is not None and self.then.status is Status.HOLDS and v.status is Status.DIVERGED:
                text.append("It held on its date; the market has moved away from it since.\n")
        if self.flips:
            text.append("\nHistory\n", style="dim")
            for flip in self.flips:
                text.append(f"  {flip}\n")
        if c.note:
            text.append("\nNote ", style="dim").append(f"{c.note}\n")
        return text

    def describe_then(self, text: Text, then: Verdict) -> None:
        text.append(f"\nThen ({self.claim.as_of}) ", style="dim").append(f"{then.status.upper()}", style="bold")
        if then.live_value is not None:
            text.append(f"  value {fmt.quantity(then.live_value, then.unit or 'ratio')}")
        if then.deviation_pct is not None:
            text.append(f"  off {fmt.signed_pct(then.deviation_pct)}")
        text.append(f"\n{then.explanation}\n")
        if then.status is Status.DIVERGED:
            text.append("Wrong on its own date: the record does not support the article's figure.\n",
                        style="bold")

    def on_mount(self) -> None:
        if self.claim.rule:
            plot = self.query_one("#claim-chart", PlotextPlot)
            mark = datetime.combine(self.claim.as_of, datetime.min.time()).astimezone()
            rule = self.claim.rule
            series = rule.series[0]
            # The claimed level is drawn when the rule compares the series itself, in its own unit.
            direct = rule.expr.replace(" ", "") == f"last({series})" and SeriesId.parse(series).unit == rule.unit
            draw_chart(plot, self.history, series, rule.value if direct else None, mark)


class SeriesScreen(Screen[None]):
    """A series: its chart over a chosen range, the latest value per source, and the claims that read it."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back"),
                *[Binding(k, f"range('{k}')", label) for k, (label, _) in RANGES.items()]]

    def __init__(self, series: str, latest: list[Observation], claims: list[Claim], now: datetime,
                 history: HistoryReader, fresh_after: datetime) -> None:
        super().__init__()
        self.series, self.latest, self.claims, self.now, self.read_history = series, latest, claims, now, history
        self.fresh_after = fresh_after  # older values are stale: shown, but left out of the spread
        self.range = "2"

    def compose(self) -> ComposeResult:
        with Page():
            yield Static(self.describe(), id="series-text")
            yield PlotextPlot(id="series-chart")
        yield Footer()

    def describe(self) -> Text:
        text = Text()
        text.append(f"{self.series}\n\n", style="bold")
        values = [o.value for o in self.latest if o.ts >= self.fresh_after]
        for obs in sorted(self.latest, key=lambda o: o.source):
            age = fmt.age((self.now - obs.ts).total_seconds())
            stale = obs.ts < self.fresh_after
            text.append(f"  {obs.source:12} {fmt.number(obs.value):>14} {obs.unit}  {age} old"
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

    def on_mount(self) -> None:
        self.action_range(self.range)

    def action_range(self, key: str) -> None:
        self.range = key
        label, span = RANGES[key]
        history = self.read_history(self.series, self.now - span, self.now)
        draw_chart(self.query_one("#series-chart", PlotextPlot), history, f"{self.series} · {label}")


class SourcesScreen(Screen[None]):
    """Every source's health: last success, last error, latency, failures, next attempt; redrawn each second
    while shown. The app keeps one and shows it again, so that `s` does not build it anew each time."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, read_health: Callable[[], list[Health]], clock: Callable[[], datetime], note: str = "") -> None:
        super().__init__()
        self.read_health, self.clock, self.note = read_health, clock, note

    @property
    def health(self) -> list[Health]:
        return self.read_health()

    def compose(self) -> ComposeResult:
        if self.note:
            yield Static(self.note, id="sources-note")
        table: DataTable[str] = DataTable(id="sources", cursor_type="row")
        table.add_columns("source", "state", "last error", "last success", "next attempt", "failures", "latency")
        yield table
        yield Static("", id="source-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.redraw()
        self.redraw_timer = self.set_interval(1, self.redraw)

    def on_screen_resume(self) -> None:
        self.redraw()
        self.redraw_timer.resume()

    def on_screen_suspend(self) -> None:
        self.redraw_timer.pause()  # nothing to redraw while hidden

    def redraw(self) -> None:
        table = self.query_one("#sources", DataTable)
        now = self.clock()

        def ago(moment: datetime | None) -> str:
            return "—" if moment is None else f"{fmt.age((now - moment).total_seconds())} ago"

        rows = []
        for h in self.health:
            nxt = "—" if h.next_attempt is None else f"in {fmt.age((h.next_attempt - now).total_seconds())}"
            latency = "—" if h.latency_s is None else f"{h.latency_s * 1000:.0f} ms"
            error = "" if h.state in ("ok", "slow", "waiting") else h.last_error or ""
            rows.append((h.source, h.state, _clip(error, 48), ago(h.last_success), nxt, str(h.failures), latency))
        cursor = table.cursor_row
        table.clear()
        for row in rows:
            table.add_row(*row, key=row[0])
        if rows:
            table.move_cursor(row=min(cursor, len(rows) - 1))
        self.show_detail()

    def on_data_table_row_highlighted(self) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        """The highlighted source's full last error and what is missing from its last answer."""
        health = self.health
        table = self.query_one("#sources", DataTable)
        detail = self.query_one("#source-detail", Static)
        if not health or not 0 <= table.cursor_row < len(health):
            detail.update("")
            return
        h = health[table.cursor_row]
        text = Text()
        text.append(f"{h.source}: ", style="bold").append(h.state)
        if h.last_error:
            seconds = None if h.last_error_at is None else (self.clock() - h.last_error_at).total_seconds()
            when = "" if seconds is None else f" ({fmt.age(seconds)} ago)"
            text.append(f"\nlast error{when}: {h.last_error}")
        for missing in h.partial:
            if missing.startswith(DISPUTED):  # kept apart, not missing: say so, and why
                text.append(f"\ndisputed, not used: {missing.removeprefix(DISPUTED)}")
            else:
                text.append(f"\nmissing from the last answer: {missing}")
        if h.disputed_total:
            text.append(f"\n{h.disputed_total} values disputed since start (kept apart in the store)")
        detail.update(text)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class HelpScreen(Screen[None]):
    """Every key, generated from the bindings in force."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("question_mark", "app.pop_screen", "Back")]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        text = Text("Keys\n\n", style="bold")
        for key, description in self.keys:
            text.append(f"  {key:>14}  ", style="bold").append(f"{description}\n")
        with Page():
            yield Static(text)
        yield Footer()
