"""An idle viewer touches nothing it need not: the clock repaints an age cell only when its text changes, a state
that changes nothing on a panel leaves it alone, and a burst's state judges again only what read a new value
until the clock alone may change something else (a value turning stale, a market opening or closing, a new day)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text

from tests.conftest import DATA, NOW, obs
from tests.pilot import shown
from tui.core import format as fmt
from tui.core.config import load_settings
from tui.core.judge.engine import Engine
from tui.core.judge.view import SeriesRow, next_age_step, session_change_after
from tui.core.model import Status
from tui.core.narratives.claims import load_narratives
from tui.core.snapshot import read_observations
from tui.core.store.nudge import FALLBACK_S, Nudge
from tui.core.store.sqlite import Store
from tui.core.tape import MemoryTape
from tui.ui.app import snapshot_app
from tui.ui.screens.dashboard import AGE_COLUMN, DashboardScreen, PanelTable, ThemePanel


def ages(top: float, step: float) -> Iterator[float]:
    seconds = 0.0
    while seconds < top:
        yield seconds
        seconds += step


@pytest.mark.parametrize("coarse", [False, True])
def test_the_next_age_step_is_where_the_shown_age_changes(coarse: bool) -> None:
    for seconds in [*ages(7200, 0.25), *ages(3 * 86400, 97.0)]:
        until = next_age_step(seconds, coarse)
        assert until > seconds
        shown = fmt.age_step(seconds, coarse)
        # the text holds up to the step (never shown wrong before it) and changes there (never repainted late)
        assert fmt.age_step(until - 1e-6, coarse) == shown, (seconds, until)
        assert fmt.age_step(until, coarse) != shown, (seconds, until)


def test_a_rows_age_text_knows_when_it_changes() -> None:
    row = SeriesRow("crypto:BTC/USD:last", "BTC/USD", 1.0, "USD", None, 40.0, "stale", ())
    assert row.age_text() == "stale 30s" and row.age_text(5) == "stale 45s"
    assert row.age_text_until(0) == 5.0 and row.age_text_until(5) == 20.0  # 45 s, then a minute
    assert replace(row, age_s=None, state="no data").age_text_until(0) == float("inf")


def age_cells(dashboard: DashboardScreen) -> dict[str, str]:
    cells = {}
    for table in dashboard.query(".series").results(PanelTable):
        column = list(table.columns)[AGE_COLUMN]
        for key in table.rows:
            cells[str(key.value)] = str(table.get_cell(key, column))
    return cells


async def test_the_clock_repaints_an_age_only_when_its_text_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    tapecheck = snapshot_app(load_settings(), load_narratives(), DATA / "snapshot.jsonl", NOW)
    async with tapecheck.run_test(size=(120, 60)) as pilot:
        await shown(pilot, tapecheck)
        dashboard = tapecheck.dashboard
        assert dashboard is not None and dashboard.shown is not None
        painted: list[str] = []
        show_cell = PanelTable.show_cell

        def counted(self: PanelTable, row: Any, column: Any, value: Text | str) -> None:
            painted.append(str(row))
            show_cell(self, row, column, value)

        monkeypatch.setattr(PanelTable, "show_cell", counted)
        state = dashboard.shown
        due = dashboard.ages_due
        assert 0 < due < float("inf")
        before = age_cells(dashboard)
        dashboard.tick(state.now + timedelta(seconds=due - 0.5))  # no age changes its text yet
        assert painted == [] and age_cells(dashboard) == before
        dashboard.tick(state.now + timedelta(seconds=due))  # the first one does
        assert painted and age_cells(dashboard) != before
        later = age_cells(dashboard)
        rows = {r.series: r for v in state.views for r in v.series}
        for series, text in later.items():  # every cell as the row says at that moment: none shown wrong
            assert text == rows[series].age_text(due), series
        assert dashboard.ages_due > due


async def test_a_state_that_changes_no_panel_repaints_none(monkeypatch: pytest.MonkeyPatch) -> None:
    tapecheck = snapshot_app(load_settings(), load_narratives(), DATA / "snapshot.jsonl", NOW)
    async with tapecheck.run_test(size=(120, 60)) as pilot:
        await shown(pilot, tapecheck)
        dashboard = tapecheck.dashboard
        assert dashboard is not None and dashboard.shown is not None
        refilled: list[str] = []
        show_rows = PanelTable.show_rows

        def counted(self: PanelTable, rows: Any, fresh: bool = False) -> None:
            refilled.append(str(self.id))
            show_rows(self, rows, fresh)

        monkeypatch.setattr(PanelTable, "show_rows", counted)
        state = dashboard.shown
        again = replace(state, views=tuple(replace(v) for v in state.views))  # the same content, new objects
        dashboard.show_state(again)
        assert refilled == []
        first = state.views[0]
        row = first.series[0]
        moved = replace(first, series=(replace(row, value=(row.value or 1.0) * 2), *first.series[1:]))
        dashboard.show_state(replace(state, views=(moved, *state.views[1:])))
        assert refilled == [f"series-{first.theme_id}", f"claims-{first.theme_id}"]  # that panel alone
        panel = dashboard.query(ThemePanel).first()
        table = panel.query_one(".series", PanelTable)
        assert str(table.get_cell(row.series, list(table.columns)[1])) == moved.series[0].value_text


@pytest.mark.parametrize("ahead", [False, True])
def test_a_burst_judges_only_its_series_until_the_clock_changes_something(ahead: bool) -> None:
    """Until the due moment a state that judged nothing again says what a full judgement says; once it has come
    (a value turned stale; with `ahead`, a value stored with a time after the clock reached), it is judged again."""
    settings, narratives = load_settings(), load_narratives()
    btc = "crypto:BTC/USD:last"
    observations = list(read_observations(DATA / "snapshot.jsonl"))
    newest = max(o.ts for o in observations if o.series == btc)
    now = [newest + timedelta(seconds=5)]
    if not ahead:
        observations = [o for o in observations if o.ts <= now[0]]
    engine = Engine(narratives, settings, MemoryTape(observations), lambda: now[0])
    engine.build()
    due = engine._due
    assert due is not None and due <= newest + timedelta(seconds=settings.staleness.crypto)
    reading_btc = {c.id for c in narratives.claims if btc in c.series}
    assert reading_btc

    def statuses(state: Any) -> dict[str, Status]:
        return {i: v.status for i, v in state.verdicts.items()}

    def rows(state: Any) -> dict[str, str]:
        return {r.series: r.state for v in state.views for r in v.series}

    now[0] = due - timedelta(seconds=1)
    kept = engine.build(set(), quiet=True)  # nothing due yet: nothing judged again, and nothing wrong
    whole = Engine(narratives, settings, MemoryTape(observations), lambda: now[0]).build()
    assert statuses(kept) == statuses(whole) and rows(kept) == rows(whole)
    now[0] = due + timedelta(seconds=1)
    after = engine.build(set(), quiet=True)  # due: judged again, so what turned stale says so
    whole = Engine(narratives, settings, MemoryTape(observations), lambda: now[0]).build()
    assert statuses(after) == statuses(whole) and rows(after) == rows(whole)
    assert rows(after) != rows(kept) or statuses(after) != statuses(kept)


def test_a_markets_next_open_or_close_is_found() -> None:
    monday = datetime(2026, 1, 26, 12, 0, tzinfo=UTC)  # before New York opens (14:30 UTC)
    assert session_change_after("equity:NVDA:last", monday) == datetime(2026, 1, 26, 14, 30, tzinfo=UTC)
    assert session_change_after("equity:NVDA:last", datetime(2026, 1, 26, 15, 0, tzinfo=UTC)) == \
        datetime(2026, 1, 26, 21, 0, tzinfo=UTC)
    assert session_change_after("crypto:BTC/USD:last", monday) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")
def test_a_write_to_the_wal_wakes_the_watch_and_other_files_do_not(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    nudge = Nudge(store)
    try:
        assert nudge.watching
        (tmp_path / "collector.log").write_text("a line\n")  # another file: no hint
        nudge.wait(0.05)
        assert nudge.written_at == float("-inf")
        writer = threading.Timer(0.1, lambda: Path(f"{store}-wal").write_bytes(b"frames"))
        writer.start()
        for _ in range(600):  # each wait ends at the write (or, were it missed, after FALLBACK_S: then no hint)
            nudge.wait(FALLBACK_S)
            if nudge.written_at > float("-inf"):
                break
        writer.join()
        assert nudge.written_at > float("-inf")
    finally:
        nudge.close()


def test_a_viewer_still_sees_a_commit(tmp_path: Path) -> None:
    """A read-only viewer waiting for a commit learns of the collector's, through the nudge of its WAL write."""
    writer = Store(tmp_path / "s.sqlite")
    viewer = Store(tmp_path / "s.sqlite", read_only=True)
    try:
        btc = "crypto:BTC/USD:last"
        timer = threading.Timer(0.3, lambda: writer.append([obs(btc, 5.0, NOW, "w")]))
        timer.start()
        assert viewer.wait_for_change(20)  # True: woken by the commit (a wait that ran out says False)
        timer.join()
        assert [o.value for o in viewer.latest(btc, NOW)] == [5.0]
        nudge = viewer._nudge
        assert nudge is not None and nudge.watching == sys.platform.startswith("linux")
    finally:
        viewer.close()
        writer.close()


async def test_an_idle_dashboards_clock_ticks_when_something_is_due(tmp_path: Path) -> None:
    """On the dashboard the clock is set for the first thing it shows that may read otherwise (here, the header's
    next minute, or HANG_UP_S at the latest); on another screen, each second."""
    from tests.pilot import until
    from tui.ui.app import HANG_UP_S, TICK_S, live_app

    writer = Store(tmp_path / "s.sqlite")
    assert writer.try_lock_collector()
    writer.append(list(read_observations(DATA / "snapshot.jsonl")))  # days old: no age cell turns for hours
    app = live_app(load_settings(), load_narratives(), Store(writer.path, read_only=True))
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot, app)
        dashboard = app.dashboard
        assert dashboard is not None
        minute = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=5)
        for second, wait in ((20, HANG_UP_S), (58, 2.0)):
            app.feed.clock = lambda second=second: minute.replace(second=second)  # type: ignore[misc]
            assert app.next_tick_s(dashboard) == pytest.approx(wait + 0.01)
        app.tick()
        assert app.tick_timer is not None and app.tick_timer._interval == pytest.approx(2.01)
        await pilot.press("s")
        await until(pilot, lambda: not isinstance(app.screen, DashboardScreen), "the sources page")
        assert app.next_tick_s(app.screen) == TICK_S
    writer.close()


def test_the_header_is_due_at_its_next_minute_or_a_sources_age_turning() -> None:
    from types import SimpleNamespace

    from tui.core.model import Health
    from tui.ui.header import header_due

    now = datetime(2026, 1, 5, 14, 30, 20, tzinfo=UTC)
    live = SimpleNamespace(mode="LIVE", taken_at=None)
    viewer: Any = SimpleNamespace(feed=live, state=None)
    assert header_due(viewer, now) == datetime(2026, 1, 5, 14, 31, tzinfo=UTC)  # the clock's minute
    polled = now - timedelta(seconds=50)  # its age shows from a minute on: then, or a second later at most
    viewer.state = SimpleNamespace(health=(Health("yahoo", "equities", last_success=polled),))
    assert header_due(viewer, now) == polled + timedelta(seconds=61)
    viewer.state = SimpleNamespace(health=(Health("yahoo", "equities", last_success=now - timedelta(seconds=150)),))
    assert header_due(viewer, now) == now + timedelta(seconds=31)  # 2m turns 3m
    viewer.feed = SimpleNamespace(mode="REPLAY", taken_at=None)  # a clock on the data's time shows seconds
    assert header_due(viewer, now) is None
