"""The first frame waits for nothing it does not show: the app imports no other screen, the panels in view are
mounted and painted before the others, and the dashboard ends as it would have had they all come at once."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from textual.geometry import Size

from tests.conftest import DATA
from tests.pilot import shown
from tui.core.config import load_settings
from tui.core.narratives.claims import load_narratives
from tui.ui.app import TapecheckApp, snapshot_app
from tui.ui.screens.dashboard import DashboardScreen, PanelTable, ThemePanel, panels_in_view

NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)
LATER = ("tui.ui.screens.claim", "tui.ui.screens.series", "tui.ui.screens.sources", "tui.ui.screens.help",
         "tui.ui.screens.commands", "tui.ui.screens.alerts", "tui.ui.screens.articles", "tui.ui.screens.console",
         "tui.ui.screens.page", "tui.ui.screens.confirm", "tui.core.judge.report", "tui.core.narratives.articles")
NEVER = ("tui.collect", "polars", "pandas", "httpx", "ccxt", "yfinance", "exchange_calendars", "textual_plotext")


def test_a_viewer_imports_the_dashboard_alone() -> None:
    """What the command line and the app import before the first frame: no other screen, no report, nothing of
    the collector's."""
    code = "import sys, tui.cli, tui.ui.app; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    loaded = set(out.stdout.split())
    assert "tui.ui.screens.dashboard" in loaded
    assert sorted(loaded & set(LATER)) == []
    assert sorted(m for m in loaded if m.split(".")[0] in NEVER or m.startswith("tui.collect")) == []


def test_panels_in_view_counts_from_the_shortest_a_panel_can_be() -> None:
    views = load_narratives_views()
    assert panels_in_view(views, Size(120, 40)) == 2  # 38 rows: the first panel (23) and the top of the second
    assert panels_in_view(views, Size(160, 50)) == 6  # two columns: the third row of two begins in view
    assert panels_in_view(views, Size(60, 15)) == 1
    assert panels_in_view(views, Size(120, 400)) == len(views)


def load_narratives_views() -> Any:
    from tui.core.judge.engine import Engine
    from tui.core.snapshot import load_tape
    from tui.core.tape import MemoryTape

    tape = MemoryTape(load_tape(DATA / "snapshot.jsonl").observations)
    return Engine(load_narratives(), load_settings(), tape, lambda: NOW).pending().views


@pytest.mark.parametrize("size", [(120, 40), (160, 50)], ids=["120x40", "160x50"])
async def test_the_panels_in_view_are_painted_before_the_others_are_mounted(
        monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]) -> None:
    seen: list[tuple[int, list[int], bool]] = []  # at the first paint: panels, their series rows, focus on claims
    paint_first = DashboardScreen.paint_first

    async def watched(screen: DashboardScreen, views: Any) -> None:
        await paint_first(screen, views)
        tables = list(screen.query(".series").results(PanelTable))
        seen.append((len(screen.query(ThemePanel)), [t.row_count for t in tables],
                     screen.focused is not None and screen.focused.has_class("claims")))

    monkeypatch.setattr(DashboardScreen, "paint_first", watched)
    tapecheck: TapecheckApp = snapshot_app(load_settings(), load_narratives(), DATA / "snapshot.jsonl", NOW)
    async with tapecheck.run_test(size=size) as pilot:
        await shown(pilot, tapecheck)
        dashboard = tapecheck.dashboard
        assert dashboard is not None and tapecheck.state is not None
        views = tapecheck.state.views
        first = panels_in_view(views, Size(*size))
        assert seen and seen[0][0] == first < len(views)  # the panels in view, and no other, at the first paint
        assert all(rows > 0 for rows in seen[0][1]) and seen[0][2]  # filled, the first claims table focused
        panels = list(dashboard.query(ThemePanel))  # then every panel, in the themes' order, filled
        assert [p.view.theme_id for p in panels] == [v.theme_id for v in views]
        assert all(t.row_count > 0 for t in dashboard.query(".series").results(PanelTable))
        assert dashboard.focused is panels[0].query_one(".claims", PanelTable)
        assert dashboard.query_one("#panels").scroll_y == 0  # the top of the dashboard in view


@pytest.mark.parametrize("number", [2, 6], ids=["in-view", "below-the-fold"])
async def test_a_panel_key_pressed_while_the_panels_are_mounted_is_not_lost(monkeypatch: pytest.MonkeyPatch,
                                                                          number: int) -> None:
    """1-9 pressed as the dashboard opens (before its panel is mounted, or while the first are painted): the panel
    asked for ends focused, not the first one the start-up would focus."""
    paint_first = DashboardScreen.paint_first

    async def pressed_meanwhile(screen: DashboardScreen, views: Any) -> None:
        screen.action_jump(number)  # panel 6 is not mounted yet at 120x40; panel 2 is
        await paint_first(screen, views)

    monkeypatch.setattr(DashboardScreen, "paint_first", pressed_meanwhile)
    tapecheck: TapecheckApp = snapshot_app(load_settings(), load_narratives(), DATA / "snapshot.jsonl", NOW)
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        await pilot.pause()
        dashboard = tapecheck.dashboard
        assert dashboard is not None
        panels = list(dashboard.query(ThemePanel))
        assert len(panels) > number > panels_in_view(tapecheck.state.views, Size(120, 40)) or number == 2  # type: ignore[union-attr]
        assert dashboard.focused is panels[number - 1].query_one(".claims", PanelTable)
