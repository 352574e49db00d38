"""What the drill-down pages share: a page that j and k scroll, and a chart of a series' history."""

from __future__ import annotations

from datetime import datetime

from textual.binding import Binding
from textual.containers import VerticalScroll
from textual_plotext import PlotextPlot

from tui.core import format as fmt
from tui.core.model import Observation


class Page(VerticalScroll):
    """A drill-down's scrolling page: j and k scroll it, as the arrows do."""

    BINDINGS = [Binding("j", "scroll_down", "Down", show=False), Binding("k", "scroll_up", "Up", show=False)]


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
