"""What the drill-down pages share: a page that j and k scroll, and a chart of a series' history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from tui.core import format as fmt
from tui.core.model import Observation

if TYPE_CHECKING:  # textual_plotext (and plotext) load when a chart is first made, not with the app
    from textual_plotext import PlotextPlot


class Page(VerticalScroll):
    """A drill-down's scrolling page: j and k scroll it, as the arrows do."""

    DEFAULT_CSS = """
    Page .chart-note {
        display: none;  /* shown in place of a chart with no data */
        padding: 0 2 1 2;
    }
    """

    BINDINGS = [Binding("j", "scroll_down", "Down", show=False), Binding("k", "scroll_up", "Up", show=False)]


def new_chart(chart_id: str) -> PlotextPlot:
    """A chart widget: the first one made imports the chart library."""
    from textual_plotext import PlotextPlot

    return PlotextPlot(id=chart_id)


def chart_of(screen: Widget, chart_id: str) -> PlotextPlot:
    """The screen's chart widget `chart_id` (made by new_chart)."""
    return cast("PlotextPlot", screen.query_one(f"#{chart_id}"))


def draw_chart(plot: PlotextPlot, history: list[Observation], title: str, level: float | None = None,
               mark: datetime | None = None, window: tuple[datetime, datetime] | None = None) -> None:
    """The history on a time axis (the whole `window` when given, however few the points), its y axis scaled,
    named in the title ('… · 1W · y in ZH/s') and labelled as the app writes numbers (95,000, not 94637.5), the
    claimed level as a line, the claim's date as a mark. With no history the plot is hidden (see `show_note`)."""
    plt = plot.plt
    plt.clear_data()
    plt.clear_figure()
    plot.display = bool(history)
    if not history:
        return
    plt.date_form("Y-m-d H:M")
    xs = [o.ts.strftime("%Y-%m-%d %H:%M") for o in history]
    scale, label = fmt.axis([o.value for o in history] + ([] if level is None else [level]), history[-1].unit)
    plt.title(f"{title} · y in {label}")
    plt.ylabel(label)
    ys = [o.value / scale for o in history]
    plt.plot(xs, ys, marker="braille")
    if window is None and history[0].ts == history[-1].ts:  # one moment: a day either side, not plotext's century
        window = (history[0].ts - timedelta(days=1), history[0].ts + timedelta(days=1))
    if window is not None:
        start, end = (moment.strftime("%Y-%m-%d %H:%M") for moment in window)
        plt.xlim(start, end)  # type: ignore[arg-type]  # plotext takes dates
    if level is not None:
        plt.hline(level / scale, "red")
    shown = [*ys, *([] if level is None else [level / scale])]
    low, high = min(shown), max(shown)
    if low == high:  # one level: a band of a percent around it, labelled as a band
        pad = abs(low) / 100 or 1.0
        low, high = low - pad, high + pad
        plt.ylim(low, high)
    places = fmt.ticks(low, high, count=max(2, min(5, plot.size.height // 4)))
    plt.yticks([place for place, _ in places], [text for _, text in places])
    if mark is not None and history[0].ts <= mark <= history[-1].ts:
        plt.vline(mark.strftime("%Y-%m-%d %H:%M"), "blue")  # type: ignore[arg-type]  # plotext takes dates
    plot.refresh()


def show_note(note: Static, history: list[Observation], series: str, span: str = "") -> None:
    """The plain line shown in place of a chart with nothing to draw (an empty box says nothing), else none."""
    note.update(f"no data for {series}{span}")
    note.display = not history
