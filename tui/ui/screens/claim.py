"""A claim in full (enter on a claim): both paraphrases, its article, its rule, its numbers then and now with the
values they read, its verdict history and a chart."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static
from textual.worker import get_current_worker

from tui.core import format as fmt
from tui.core.judge.engine import DashboardState
from tui.core.judge.then import move_text
from tui.core.model import Article, Claim, Evidence, Observation, SeriesId, Status, Verdict
from tui.core.narratives.articles import article_notes, citation
from tui.core.narratives.names import with_names
from tui.core.narratives.rules.verdict import live_text, off_text
from tui.core.printable import printable
from tui.core.words import NOT_MET, now_label, then_label
from tui.ui.screens.base import StateScreen
from tui.ui.screens.page import Page, chart_of, draw_chart, new_chart, show_note
from widgets.footer import Footer
from widgets.header_line import HeaderLine


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
        self.charted: tuple[float | None] | None = None  # the live value the chart was last read for, once read
        self.drawn = False  # the chart has been drawn once (it is read in a thread)

    def compose(self) -> ComposeResult:
        yield HeaderLine()
        with Page():
            yield Static(id="claim-text")
            if self.claim.rule:
                yield Static(id="claim-chart-note", classes="chart-note")
                yield new_chart("claim-chart")
        yield Footer()

    def show_state(self, state: DashboardState) -> None:
        verdict = state.verdicts.get(self.claim.id)
        if verdict is None:
            return
        self.verdict, self.then, self.shown_at = verdict, state.then.get(self.claim.id), state.now
        self.flips = [flip.line for flip in state.flips.get(self.claim.id, ())]
        for text in self.query("#claim-text").results(Static):
            text.update(self.describe())
        if self.claim.rule and (verdict.live_value,) != self.charted:  # read once even with no live value
            self.charted = (verdict.live_value,)
            self.read_chart()

    def tick(self, now: datetime) -> None:
        if self.verdict is not None and self.verdict.age_s is not None:
            for text in self.query("#claim-text").results(Static):
                text.update(self.describe(now))

    @work(thread=True, exclusive=True, group="chart", exit_on_error=False)
    def read_chart(self) -> None:
        series = self.claim.series[0]
        history = self.viewer.feed.history(series, None, self.viewer.feed.clock())
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.draw, history)

    def draw(self, history: list[Observation]) -> None:
        rule = self.claim.rule
        if rule is None or not self.is_mounted:
            return
        plot = chart_of(self, "claim-chart")
        mark = datetime.combine(self.claim.as_of, datetime.min.time()).astimezone()
        series = rule.series[0]
        # The claimed level is drawn when the rule compares the series itself, in its own unit.
        direct = rule.expr.replace(" ", "") == f"last({series})" and SeriesId.parse(series).unit == rule.unit
        draw_chart(plot, history, series, rule.value if direct else None, mark)
        show_note(self.query_one("#claim-chart-note", Static), history, series)
        self.drawn = True

    def describe(self, now: datetime | None = None) -> Text:
        c, v = self.claim, self.verdict
        assert v is not None
        later = 0.0 if now is None or self.shown_at is None else max(0.0, (now - self.shown_at).total_seconds())
        article = self.viewer.narratives.articles[c.article]
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
        chinese = c.summary_zh if c.summary_zh.strip() != c.summary.strip() else ""  # a user's claim may give one
        if c.quote:
            where = f" (paragraph {c.paragraph})" if c.paragraph else ""
            text.append(f"The article{where} ", style="dim").append(f"{c.quote}\n")
            text.append("In English ", style="dim").append(f"{c.summary}\n")
            if chinese:
                text.append("摘要 ", style="dim").append(f"{chinese}\n")
            text.append("\n")
        else:
            text.append(f"{c.summary}\n" + (f"{chinese}\n" if chinese else "") + "\n")
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
            reads = with_names(", ".join(r.series), self.viewer.narratives.names, self.viewer.lang)
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
