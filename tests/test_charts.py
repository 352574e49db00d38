"""Pilot tests: a claim's and a series' chart label their y axis as the app writes numbers, and a chart with no
data is a plain line saying so, not an empty box."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from textual.widgets import Static
from textual_plotext import PlotextPlot

from tests.conftest import DATA
from tests.pilot import shown, until
from tui.core.config import load_settings
from tui.core.narratives.claims import load_narratives
from tui.ui.app import TapecheckApp, snapshot_app
from tui.ui.screens.claim import ClaimScreen
from tui.ui.screens.series import SeriesScreen

NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)
RAW = re.compile(r"\d{4,}\.\d")  # a number of four figures or more without its thousands separator: 94637.5


def app() -> TapecheckApp:
    return snapshot_app(load_settings(), load_narratives(), DATA / "article_history.jsonl.gz", NOW)


def y_labels(plot: PlotextPlot) -> list[str]:
    """The y axis's labels as drawn: what stands left of the axis on each row."""
    drawn = plot.plt.build()
    rows = re.sub(r"\x1b\[[0-9;]*m", "", drawn).splitlines()
    return [row.split("┤")[0].strip() for row in rows if "┤" in row and not row.lstrip().startswith("├")]


async def test_a_claim_chart_labels_its_y_axis_with_thousands_separators() -> None:
    tapecheck = app()
    async with tapecheck.run_test(size=(120, 50)) as pilot:
        await shown(pilot, tapecheck)
        tapecheck.open_claim("wu-btc-above-miner-cash-cost")  # BTC in USD: tens of thousands
        screen = tapecheck.screen
        assert isinstance(screen, ClaimScreen)
        await until(pilot, lambda: screen.drawn, "the chart")
        plot = screen.query_one("#claim-chart", PlotextPlot)
        labels = y_labels(plot)
        assert len(labels) >= 3, labels
        assert all(re.fullmatch(r"\d{1,3}(,\d{3})+", label) for label in labels), labels
        assert not RAW.search(plot.plt.build())
        assert not screen.query_one("#claim-chart-note", Static).display


async def test_a_claim_with_no_data_says_so_in_a_line_not_an_empty_chart() -> None:
    tapecheck = snapshot_app(load_settings(), load_narratives(), DATA / "snapshot.jsonl", NOW)
    async with tapecheck.run_test(size=(120, 50)) as pilot:
        await shown(pilot, tapecheck)
        tapecheck.open_claim("wu-abtc-one-day-50pct-drop")  # the snapshot has nothing of ABTC
        screen = tapecheck.screen
        assert isinstance(screen, ClaimScreen)
        await until(pilot, lambda: screen.drawn, "the chart read")
        note = screen.query_one("#claim-chart-note", Static)
        assert note.display and str(note.render()) == "no data for equity:ABTC:low"
        assert not screen.query_one("#claim-chart", PlotextPlot).display


async def test_a_series_range_with_no_data_says_so_and_a_range_with_data_draws() -> None:
    tapecheck = snapshot_app(load_settings(), load_narratives(), DATA / "snapshot.jsonl", NOW)
    async with tapecheck.run_test(size=(120, 50)) as pilot:
        await shown(pilot, tapecheck)
        tapecheck.open_series("equity:ABTC:last")
        screen = tapecheck.screen
        assert isinstance(screen, SeriesScreen)
        await until(pilot, lambda: screen.drawn, "the chart read")
        note = screen.query_one("#series-chart-note", Static)
        assert note.display and str(note.render()) == "no data for equity:ABTC:last in this range (1W)"
        tapecheck.pop_screen()
        tapecheck.open_series("crypto:BTC/USD:last")
        btc = tapecheck.screen
        assert isinstance(btc, SeriesScreen)
        await until(pilot, lambda: btc.drawn, "the chart")
        assert not btc.query_one("#series-chart-note", Static).display
        assert btc.query_one("#series-chart", PlotextPlot).display


def x_labels(plot: PlotextPlot) -> str:
    """The x axis's labels as drawn: the row under the axis."""
    rows = re.sub(r"\x1b\[[0-9;]*m", "", plot.plt.build()).splitlines()
    return rows[next(i for i, row in enumerate(rows) if "└" in row) + 1]


async def test_a_chart_of_one_moment_spans_the_days_around_it_not_a_century() -> None:
    """plotext stretches the axis of a single point over a century (1963 to 2057): one moment is drawn in the
    day either side of it."""
    tapecheck = snapshot_app(load_settings(), load_narratives(), DATA / "snapshot.jsonl", NOW)
    async with tapecheck.run_test(size=(120, 50)) as pilot:
        await shown(pilot, tapecheck)
        tapecheck.open_claim("loop-openai-500bn-in-cny")  # the snapshot holds one USDCNY quote
        screen = tapecheck.screen
        assert isinstance(screen, ClaimScreen)
        await until(pilot, lambda: screen.drawn, "the chart")
        years = set(re.findall(r"\b(\d{4})-\d{2}-\d{2}", x_labels(screen.query_one("#claim-chart", PlotextPlot))))
        assert years and years <= {"2026"}, years
