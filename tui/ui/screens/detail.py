"""Drill-downs: a claim in full with its chart, a series with its sources, the sources' health, and help."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from tui.core import format as fmt
from tui.core.judge.engine import DashboardState
from tui.core.judge.then import move_text
from tui.core.model import Article, Claim, Evidence, Observation, SeriesId, Status, Verdict
from tui.core.narratives.articles import article_notes, citation
from tui.core.narratives.names import with_names
from tui.core.narratives.rules.verdict import live_text, off_text
from tui.core.printable import printable
from tui.core.store.sqlite import DISPUTED, HealthRecord
from tui.core.words import NOT_MET, now_label, then_label
from tui.ui.screens.base import StateScreen
from widgets.header_line import HeaderLine, Pill, pill_text
from widgets.table import KeyTable

if TYPE_CHECKING:  # textual_plotext (and plotext) load when a chart is first opened, not with the app
    from textual_plotext import PlotextPlot


class Page(VerticalScroll):
    """A drill-down's scrolling page: j and k scroll it, as the arrows do."""

    BINDINGS = [Binding("j", "scroll_down", "Down", show=False), Binding("k", "scroll_up", "Up", show=False)]


RANGES = {"1": ("1D", timedelta(days=1)), "2": ("1W", timedelta(weeks=1)), "3": ("1M", timedelta(days=31)),
          "4": ("1Y", timedelta(days=366))}


def draw_chart(plot: PlotextPlot, history: list[Observation], title: str, level: float | None = None,
               mark: datetime | None = None, window: tuple[datetime, datetime] | None = None) -> None:
    """The history on a time axis (the whole `window` when given, however few the points), its y axis scaled
    and named in the title ('… · 1W · y in ZH/s'), the claimed level as a line, the claim's date as a mark."""
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
    scale, label = fmt.axis([o.value for o in history] + ([] if level is None else [level]), history[-1].unit)
    plt.title(f"{title} · y in {label}")
    plt.ylabel(label)
    plt.plot(xs, [o.value / scale for o in history], marker="braille")
    if window is not None:
        start, end = (moment.strftime("%Y-%m-%d %H:%M") for moment in window)
        plt.xlim(start, end)  # type: ignore[arg-type]  # plotext takes dates
    if level is not None:
        plt.hline(level / scale, "red")
    if mark is not None and history[0].ts <= mark <= history[-1].ts:
        plt.vline(mark.strftime("%Y-%m-%d %H:%M"), "blue")  # type: ignore[arg-type]  # plotext takes dates
    plot.refresh()


class ClaimScreen(StateScreen):
    """A claim in full: both paraphrases, its article, its rule, the numbers, its verdict history, a chart.
    It follows the app's state: the numbers change when an observation arrives, the age ticks."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, claim: Claim) -> None:
        super().__init__()
        self.claim = claim
        self.verdict: Verdict | None = None
        self.then: Verdict | None = None
        self.flips: list[str] = []
        self.shown_at: datetime | None = None  # the moment of the state shown
        self.charted: float | None = None  # the live value the chart was last drawn for
        self.drawn = False  # the chart has been drawn once (it is read in a thread)

    def compose(self) -> ComposeResult:
        yield HeaderLine()
        with Page():
            yield Static(id="claim-text")
            if self.claim.rule:
                from textual_plotext import PlotextPlot

                yield PlotextPlot(id="claim-chart")
        yield Footer()

    def show_state(self, state: DashboardState) -> None:
        verdict = state.verdicts.get(self.claim.id)
        if verdict is None:
            return
        self.verdict, self.then, self.shown_at = verdict, state.then.get(self.claim.id), state.now
        self.flips = [flip.line for flip in state.flips.get(self.claim.id, ())]
        for text in self.query("#claim-text").results(Static):
            text.update(self.describe())
        if self.claim.rule and verdict.live_value != self.charted:
            self.charted = verdict.live_value
            self.read_chart()

    def tick(self, now: datetime) -> None:
        if self.verdict is not None and self.verdict.age_s is not None:
            for text in self.query("#claim-text").results(Static):
                text.update(self.describe(now))

    @work(thread=True, exclusive=True, group="chart", exit_on_error=False)
    def read_chart(self) -> None:
        series = self.claim.series[0]
        history = self.tapecheck.history(series, None, self.tapecheck.clock())
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.draw, history)

    def draw(self, history: list[Observation]) -> None:
        rule = self.claim.rule
        if rule is None or not self.is_mounted:
            return
        from textual_plotext import PlotextPlot

        plot = self.query_one("#claim-chart", PlotextPlot)
        mark = datetime.combine(self.claim.as_of, datetime.min.time()).astimezone()
        series = rule.series[0]
        # The claimed level is drawn when the rule compares the series itself, in its own unit.
        direct = rule.expr.replace(" ", "") == f"last({series})" and SeriesId.parse(series).unit == rule.unit
        draw_chart(plot, history, series, rule.value if direct else None, mark)
        self.drawn = True

    def describe(self, now: datetime | None = None) -> Text:
        c, v = self.claim, self.verdict
        assert v is not None
        later = 0.0 if now is None or self.shown_at is None else max(0.0, (now - self.shown_at).total_seconds())
        article = self.tapecheck.narratives.articles[c.article]
        text = Text()
        text.append(f"{c.id}\n", style="bold")
        if c.derived:
            text.append("Ours: a claim we derived to follow the article, not the article's own claim; "
                        "if it fails, that is not an error of the article.\n", style="italic")
        elif c.ours:
            text.append("Our reading: the rule's threshold, window or period is ours, not the article's words"
                        + (f" ({c.reading_note})" if c.reading_note else "")
                        + "; if it fails, that is not an error of the article.\n", style="italic")
        if c.draft:
            text.append("Draft: a proposed rule not yet confirmed; shown, but never counted as diverged. To confirm "
                        "it, remove `draft = true` from its file.\n", style="italic")
        if c.quote:
            where = f" (paragraph {c.paragraph})" if c.paragraph else ""
            text.append(f"The article{where} ", style="dim").append(f"{c.quote}\n")
            text.append("In English ", style="dim").append(f"{c.summary}\n")
            text.append("摘要 ", style="dim").append(f"{c.summary_zh}\n\n")
        else:
            text.append(f"{c.summary}\n{c.summary_zh}\n\n")
        inferred = " (date inferred)" if c.as_of_inferred else ""
        text.append("As of ", style="dim").append(f"{c.as_of}{inferred}\n")
        text.append("Source ", style="dim").append(f"{citation(article)} ({article.title_en})\n")
        if c.user:
            text.append("From your file ", style="dim").append(f"{c.file}:{c.line}\n")
        if article.url:
            text.append("Link ", style="dim").append(f"{article.url}\n")
        if c.figure and not c.quote:  # the quote holds the figure, in the article's own script
            text.append("Figure ", style="dim").append(f"{c.figure}\n")
        if c.rule:
            r = c.rule
            tol = f" within {r.tolerance_pct:g}%" if r.tolerance_pct else ""
            text.append("\nRule ", style="dim").append(f"{r.expr} {r.op} {fmt.quantity(r.value, r.unit)}{tol}\n")
            reads = with_names(", ".join(r.series), self.tapecheck.narratives.names, self.tapecheck.lang)
            text.append("Reads ", style="dim").append(reads + "\n")
        if self.then is not None:
            self.describe_then(text, self.then)
        text.append("\nNow ", style="dim").append(now_label(v.status), style="bold")
        if v.live_value is not None:
            text.append(f"  value {live_text(v)}  off {off_text(v)}")
        if v.age_s is not None:
            text.append(f"  data age {fmt.age(v.age_s + later)}")
        if v.status is Status.CONTEXT:  # its explanation repeats the note, which is printed below
            text.append("  shown beside the data; no rule tests it\n")
        else:
            text.append(f"\n{v.explanation}\n")
            describe_evidence(text, v.evidence)
        move = move_text(self.then, v)
        if move is not None:
            text.append("\nMove since then ", style="dim").append(f"{move}\n")
            if self.then is not None and self.then.status is Status.HOLDS and v.status is Status.DIVERGED:
                text.append("It held on its date; the market has moved away from it since.\n")
        if self.flips:
            text.append("\nHistory\n", style="dim")
            for flip in self.flips:
                text.append(f"  {flip}\n")
        if c.error and not c.ours:
            text.append("\nThe article's error ", style="bold").append(f"{c.error}\n")
        if c.note:
            text.append("\nNote ", style="dim").append(f"{c.note}\n")
        self.describe_article(text, article)
        return text

    @staticmethod
    def describe_article(text: Text, article: Article) -> None:
        """The article's own notes (what we inferred, a conversion the seed made), as the Articles screen shows."""
        for note in article_notes(article):
            text.append("\nThe article ", style="dim").append(f"{note}\n")

    def describe_then(self, text: Text, then: Verdict) -> None:
        text.append(f"\nThen ({self.claim.as_of}) ", style="dim").append(then_label(then, self.claim.ours),
                                                                         style="bold")
        if then.live_value is not None:
            text.append(f"  value {live_text(then)}  off {off_text(then)}")
        text.append(f"\n{then.explanation}\n")
        describe_evidence(text, then.evidence, then.final)
        if then.status is Status.DIVERGED and self.claim.ours:
            text.append(f"{NOT_MET.capitalize()} on its date: the rule is our reading, not an error of the article.\n")
        elif then.status is Status.DIVERGED:
            text.append("The article's error: WRONG on its own date, the record does not support its figure.\n",
                        style="bold")


EVIDENCE_SHOWN = 8  # values listed under a verdict; the rest are counted (all of them are in check --json)


def describe_evidence(text: Text, evidence: tuple[Evidence, ...], final: bool | None = None) -> None:
    """The values a verdict read, each on its own line under its own date, with its series and source."""
    if not evidence:
        return
    text.append("Read", style="dim")
    if final is not None:
        text.append(" (final: every value the bar of its day)" if final else " (judged again as history changes)",
                    style="dim")
    text.append("\n")
    for item in evidence[:EVIDENCE_SHOWN]:
        value = fmt.quantity(item.value, item.unit, fmt.series_kind([item.series]))
        text.append(f"  {item.day}  ", style="bold").append(f"{value}  {item.series}  ")
        text.append(printable(item.source), style="dim")
        if item.note:
            text.append(f"  ({printable(item.note)})", style="dim")
        text.append("\n")
    if len(evidence) > EVIDENCE_SHOWN:
        text.append(f"  … and {len(evidence) - EVIDENCE_SHOWN} more (tapecheck check --json lists them)\n", style="dim")


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
            from textual_plotext import PlotextPlot

            yield PlotextPlot(id="series-chart")
        yield Footer()

    def show_state(self, state: DashboardState) -> None:
        self.read_latest()

    def tick(self, now: datetime) -> None:
        for text in self.query("#series-text").results(Static):
            text.update(self.describe(now))

    @work(thread=True, exclusive=True, group="latest", exit_on_error=False)
    def read_latest(self) -> None:
        latest, fresh_after = self.tapecheck.engine.latest(self.series)
        now = self.tapecheck.clock()
        span = RANGES[self.range][1]
        history = self.tapecheck.history(self.series, now - span, now)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.show_latest, latest, fresh_after, history, (now - span, now))

    def show_latest(self, latest: list[Observation], fresh_after: datetime, history: list[Observation],
                    window: tuple[datetime, datetime]) -> None:
        if not self.is_mounted:
            return
        self.latest, self.fresh_after = latest, fresh_after
        self.query_one("#series-text", Static).update(self.describe(self.tapecheck.clock()))
        label = RANGES[self.range][0]
        name = self.company()
        from textual_plotext import PlotextPlot

        draw_chart(self.query_one("#series-chart", PlotextPlot), history,
                   f"{self.series}{' · ' + name if name else ''} · {label}", window=window)
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
        narratives, lang = self.tapecheck.narratives, self.tapecheck.lang
        symbol = SeriesId.parse(self.series).symbol
        first, other = narratives.name(symbol, lang), narratives.name(symbol, "en" if lang == "zh" else "zh")
        return f"{first} ({other})" if first and other != first else first

    def action_range(self, key: str) -> None:
        self.range = key
        self.read_latest()


class SourcesScreen(StateScreen):
    """Every source's health, as the collector last stored it: state, latency, failures, last success, next
    attempt and last error; the ages move each second. The last error takes the room the terminal has left, and
    the highlighted source's is shown whole below the table."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]
    COLUMNS = ("source", "state", "latency", "failures", "last success", "next attempt", "last error")

    def __init__(self, note: str = "") -> None:
        super().__init__()
        self.note = note
        self.health: list[HealthRecord] = []
        self.placed = False  # the cursor has been put on the first source in trouble

    def compose(self) -> ComposeResult:
        yield HeaderLine()
        if self.note:
            yield Static(self.note, id="sources-note")
        table = KeyTable(id="sources", cursor_type="row")
        table.add_columns(*self.COLUMNS)
        yield table
        yield Static("", id="source-detail")
        yield Footer()

    def show_state(self, state: DashboardState) -> None:
        self.health = list(state.health)
        self.redraw()

    def tick(self, now: datetime) -> None:
        self.redraw()

    def on_mount(self) -> None:  # Textual also runs StateScreen.on_mount
        self.redraw()

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        if not self.query("#sources"):  # not composed yet
            return
        table = self.query_one("#sources", KeyTable)
        now = self.tapecheck.clock()

        def ago(moment: datetime | None) -> str:
            return "—" if moment is None else f"{fmt.age((now - moment).total_seconds())} ago"

        rows: list[list[Text | str]] = []
        for h in self.health:
            nxt = "—" if h.next_attempt is None else f"in {fmt.age((h.next_attempt - now).total_seconds())}"
            latency = "—" if h.latency_ms is None else f"{h.latency_ms:,.0f} ms"
            mark, _ = pill_text(Pill(h.source, h.state))
            state = Text(f"{mark} {h.state}", style="bold" if h.state == "failing" else "")
            rows.append([h.source, state, Text(latency, justify="right"), Text(str(h.failures), justify="right"),
                         ago(h.last_success), nxt])
        errors = ["" if h.state in ("ok", "slow", "waiting") else self.named(h.last_error or "") for h in self.health]
        room = self.error_room([[str(c) for c in row] for row in rows])
        table.show_rows([(h.source, [*row, _clip(error, room)]) for h, row, error in zip(self.health, rows, errors,
                                                                                           strict=True)])
        if rows and not self.placed:  # the page opens on the first source in trouble, its error whole below
            self.placed = True
            table.move_cursor(row=next((i for i, error in enumerate(errors) if error), 0))
        self.show_detail()

    def error_room(self, rows: list[list[str]]) -> int:
        """The width left for the last error once the other columns have theirs (each with a cell's padding)."""
        widths = [max([cell_len(title), *(cell_len(row[i]) for row in rows)]) + 2
                  for i, title in enumerate(self.COLUMNS[:-1])]
        return max(len("last error"), self.size.width - sum(widths) - 4)  # the error's padding, a scrollbar

    def on_data_table_row_highlighted(self) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        """The highlighted source's full last error and what is missing from its last answer."""
        health = self.health
        table = self.query_one("#sources", KeyTable)
        detail = self.query_one("#source-detail", Static)
        if not health or not 0 <= table.cursor_row < len(health):
            detail.update("")
            return
        h = health[table.cursor_row]
        text = Text()
        text.append(f"{h.source}: ", style="bold").append(h.state)
        if h.last_error:
            seconds = None if h.last_error_at is None else (self.tapecheck.clock() - h.last_error_at).total_seconds()
            when = "" if seconds is None else f" ({fmt.age(seconds)} ago)"
            text.append(f"\nlast error{when}: {self.named(h.last_error)}")
        for missing in h.partial:
            if missing.startswith(DISPUTED):  # kept apart, not missing: say so, and why
                text.append(f"\ndisputed, not used: {self.named(missing.removeprefix(DISPUTED))}")
            else:
                text.append(f"\nmissing from the last answer: {self.named(missing)}")
        detail.update(text)


    def named(self, text: str) -> str:
        """Text from a source, made printable, with a company's name after each exchange code it holds."""
        return with_names(printable(text), self.tapecheck.narratives.names, self.tapecheck.lang)


def _clip(text: str, width: int) -> str:
    """`text` in at most `width` terminal cells, cut with "…": counted in cells, not characters (a Chinese
    character takes two; a wide one that would straddle the cut becomes a space)."""
    return text if cell_len(text) <= width else set_cell_size(text, max(0, width - 1)) + "…"


class HelpScreen(StateScreen):
    """Every key, generated from the bindings in force."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("question_mark", "app.pop_screen", "Back")]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        text = Text("Keys\n\n", style="bold")
        for key, description in self.keys:
            text.append(f"  {key:>14}  ", style="bold").append(f"{description}\n")
        yield HeaderLine()
        with Page():
            yield Static(text)
        yield Footer()
