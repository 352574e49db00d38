"""The rule console (`:`): type a rule expression, watch its value, unit and series live; save it as a claim.

Every keystroke, and every new state of the dashboard (the data moved), reads the expression again in a thread
(tui.core.judge.console); a parse or type error shows inline with a caret under its column. Enter on a valid rule
opens a small form (id, theme, summary, op, value); Enter there appends the claim to `console.toml` in the user's
first narrative folder, and hot reload brings it onto the dashboard.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from tui.core.judge.console import Reading, claim_toml, read_expression, save_claim
from tui.core.judge.engine import DashboardState
from tui.core.model import OPS, TapecheckError, is_slug
from tui.core.narratives.claims import Narratives
from tui.core.printable import printable
from tui.ui.screens.base import StateScreen
from tui.ui.screens.style import themed
from widgets.footer import Footer
from widgets.header_line import HeaderLine

FORM = ("claim-id", "claim-theme", "claim-summary", "claim-op", "claim-value")


class ConsoleScreen(StateScreen):
    """A rule expression read live against the dashboard's data, and saved as a claim on Enter."""

    BINDINGS = [Binding("escape", "back", "Back"),
                # Tab moves among the console's fields and never leaves them: past the last it comes back to the
                # first, so a key typed next is never one of the dashboard's (d, p, s)
                Binding("tab", "next_field(1)", "Next field", show=False, priority=True),
                Binding("shift+tab", "next_field(-1)", "Previous field", show=False, priority=True)]

    def __init__(self) -> None:
        super().__init__()
        self.reading: Reading | None = None
        self.saved: str | None = None  # the path of the last save, said on screen
        self.save_when_read = False  # Enter came before the reading of what is typed: offer to save once it is in

    def compose(self) -> ComposeResult:
        yield HeaderLine()
        with VerticalScroll(id="console"):  # a short terminal scrolls to the save form
            yield Static("Rule console: type an expression, e.g. 11509 * last(crypto:BTC/USD:last). Enter saves a "
                         "valid one as a claim; Escape goes back.", id="console-help")
            yield Input(placeholder="a rule expression", id="expr")
            yield Static(id="reading")
            with Vertical(id="save-form"):
                yield Static("Save as a claim in your narratives (console.toml); Enter in any field saves, "
                             "Escape cancels.", id="save-help")
                yield Static(id="save-problem")
                for name, label, placeholder, value in (
                        ("claim-id", "id", "a lower-case slug, unique: my-btc-above-50k", ""),
                        ("claim-theme", "theme", "a theme id", ""),
                        ("claim-summary", "summary", "what the claim says, in your words", ""),
                        ("claim-op", "op", f"one of {' '.join(OPS)} (~: within 5%)", ">="),
                        ("claim-value", "value", "the claimed value, in the expression's unit", "")):
                    with Horizontal(classes="field"):
                        yield Static(label, classes="label")
                        yield Input(value=value, placeholder=placeholder, id=name, classes="form-field", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#console").can_focus = False  # focus stays on the fields: keys never reach the dashboard
        self.query_one("#save-form").display = False
        themes = [t.id for t in self.viewer.narratives.themes]
        self.query_one("#claim-theme", Input).placeholder = f"theme id: {', '.join(themes)}"
        self.query_one("#claim-theme", Input).value = themes[0] if themes else ""
        self.query_one("#expr", Input).focus()
        self.show_reading(None)

    def fields(self) -> list[Input]:
        """The inputs Tab moves among: the expression, and the save form's fields while it is open."""
        names = ("expr", *FORM) if self.query_one("#save-form").display else ("expr",)
        return [self.query_one(f"#{name}", Input) for name in names]

    def action_next_field(self, step: int) -> None:
        fields = self.fields()
        focused = self.focused
        at = fields.index(focused) if isinstance(focused, Input) and focused in fields else -step
        fields[(at + step) % len(fields)].focus()

    def show_state(self, state: DashboardState) -> None:
        """The data moved: read the expression again."""
        if self.is_mounted and self.query("#expr"):
            self.read(self.query_one("#expr", Input).value)

    @on(Input.Changed, "#expr")
    def expression_changed(self, event: Input.Changed) -> None:
        self.saved = None
        self.query_one("#save-form").display = False
        self.read(event.value)

    @work(thread=True, exclusive=True, group="console", exit_on_error=False)
    def read(self, expr: str) -> None:
        viewer = self.viewer
        reading = read_expression(expr, viewer.feed.engine.tape, viewer.feed.clock(), viewer.settings)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.show_reading, reading)

    def show_reading(self, reading: Reading | None) -> None:
        if reading is not None and reading.expr != self.query_one("#expr", Input).value:
            return  # an answer for what was typed before
        self.reading = reading
        text = Text()
        if reading is None:
            text.append("…", style="dim")
        elif reading.column is not None:
            error = themed("bold $error", self)
            text.append(" " * (reading.column + 2) + "^\n", style=error)  # under the column: past the border, padding
            text.append(printable(reading.error or ""), style=error)
        else:
            text.append("value ", style="dim").append(reading.shown, style="bold")
            text.append("  stale" if reading.stale else "", style=themed("italic $warning", self))
            text.append("\nunit  ", style="dim").append(reading.unit or "—")
            text.append("\nreads ", style="dim").append(", ".join(reading.series) or "no series")
            if reading.working:
                text.append("\n      ", style="dim").append(printable(reading.working))
            if reading.error:
                text.append(f"\n{printable(reading.error)}", style=themed("$warning", self))
            text.append("\nEnter: save it as a claim", style="dim")
        if self.save_when_read and reading is not None:
            self.save_when_read = False
            self.call_after_refresh(self.offer_save)
        if self.saved:
            text.append(f"\nSaved to {printable(self.saved)}: the dashboard shows it within a few seconds.",
                        style=themed("$success", self))
        self.query_one("#reading", Static).update(text)

    @on(Input.Submitted, "#expr")
    def expression_submitted(self) -> None:
        self.offer_save()

    @on(Input.Submitted, ".form-field")
    def form_submitted(self) -> None:
        self.save()

    def offer_save(self) -> None:
        reading = self.reading
        if reading is None or reading.expr != self.query_one("#expr", Input).value:
            self.save_when_read = True  # still being read
            return
        if not reading.valid:
            self.notify("Not a rule yet: fix the error shown first", severity="warning", timeout=4)
            return
        form = self.query_one("#save-form")
        form.display = True
        self.say_problem("")
        if self.saved:  # the last save's line goes: this is a new claim
            self.saved = None
            self.show_reading(reading)
        if reading.value is not None and not self.query_one("#claim-value", Input).value:
            self.query_one("#claim-value", Input).value = value_text(reading.value)
        theme = theme_for(self.viewer.narratives, reading.series)
        if theme:
            self.query_one("#claim-theme", Input).value = theme
        self.query_one("#claim-id", Input).focus()
        form.scroll_visible()

    def save(self) -> None:
        reading = self.reading
        fields = {name: self.query_one(f"#{name}", Input).value.strip() for name in FORM}
        dirs = self.viewer.narratives.dirs
        problem = None
        if reading is None or not reading.valid:
            problem = "the expression is not a valid rule"
        elif not dirs:
            problem = "[narratives] dirs is empty in your config: no folder to save into"
        elif not fields["claim-id"]:
            problem = "give an id: a lower-case slug, e.g. my-btc-above-50k"
        elif not is_slug(fields["claim-id"]):
            problem = "the id must be a lower-case slug, e.g. my-btc-above-50k"
        elif not fields["claim-summary"]:
            problem = "give a summary: what the claim says"
        try:
            value = float(fields["claim-value"].replace(",", ""))
        except ValueError:
            problem = problem or "the value must be a number"
            value = 0.0
        if problem is not None or reading is None:
            self.say_problem(problem or "")
            self.notify(problem or "", title="Not saved", severity="error", timeout=6)
            return
        try:
            table = claim_toml(fields["claim-id"], fields["claim-theme"], fields["claim-summary"], reading,
                               fields["claim-op"], value, 0.0 if fields["claim-op"] != "~" else 5.0,
                               self.viewer.feed.clock().date())
        except TapecheckError as error:
            self.say_problem(str(error))
            self.notify(str(error), title="Not saved", severity="error", timeout=6, markup=False)
            return
        self.write(table, self.viewer.feed.clock())

    def say_problem(self, problem: str) -> None:
        """Why the form did not save, in the form itself (the focus stays in it)."""
        self.query_one("#save-problem", Static).update(Text(f"Not saved: {printable(problem)}" if problem else "",
                                                            style=themed("bold $error", self)))

    @work(thread=True, exclusive=True, group="console-save", exit_on_error=False)
    def write(self, table: str, now: datetime) -> None:
        dirs = self.viewer.narratives.dirs
        try:
            path = save_claim(dirs[0], table, now.date(), dirs)
        except TapecheckError as error:
            self.app.call_from_thread(self.say_problem, str(error))
            self.app.call_from_thread(self.notify, printable(str(error)), title="Not saved", severity="error",
                                      timeout=10, markup=False)
            return
        self.app.call_from_thread(self.saved_to, str(path))

    def saved_to(self, path: str) -> None:
        self.saved = path
        self.query_one("#save-form").display = False
        self.query_one("#claim-id", Input).value = ""
        self.query_one("#claim-summary", Input).value = ""
        self.query_one("#expr", Input).focus()
        self.notify(f"Saved to {path}", title="Claim saved", timeout=5)
        self.show_reading(self.reading)

    def action_back(self) -> None:
        form = self.query_one("#save-form")
        if form.display:
            form.display = False
            self.query_one("#expr", Input).focus()
            return
        self.app.pop_screen()



def value_text(value: float) -> str:
    """A reading's value as the form offers it: grouped, to six significant figures (`851,666,000`, `0.0494`),
    which the form reads back (commas aside)."""
    rounded = float(f"{value:.6g}")
    if abs(rounded) >= 1000:
        return f"{rounded:,.0f}" if rounded == int(rounded) else f"{rounded:,.2f}"
    return f"{rounded:f}".rstrip("0").rstrip(".")


def theme_for(narratives: Narratives, series: tuple[str, ...] | list[str]) -> str | None:
    """The theme a rule on `series` belongs to: the first that watches one of them, else the theme of the first
    claim that reads one; None when no theme has to do with them."""
    wanted = set(series)
    for theme in narratives.themes:
        if wanted & set(theme.watch):
            return theme.id
    for claim in narratives.claims:
        if wanted & set(claim.series):
            return claim.theme
    return None
