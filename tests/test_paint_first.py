"""Paint first, judge after: the first frame shows the panels with the stored values and "judging…" where no
verdict is known yet; the verdicts come with the first state, built after it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.text import Text

from tests.conftest import DATA
from tests.pilot import until
from tui.core.config import load_settings
from tui.core.judge.engine import DashboardState, Engine
from tui.core.judge.then import judge_then
from tui.core.model import Status
from tui.core.narratives.claims import load_narratives
from tui.core.snapshot import read_observations
from tui.core.store.sqlite import Store
from tui.core.words import JUDGING
from tui.ui.app import TapecheckApp
from tui.ui.feed import Feed
from tui.ui.screens.dashboard import PanelTable

SETTINGS = load_settings()
BTC = "crypto:BTC/USD:last"


class HeldEngine(Engine):
    """An engine whose judging waits until the test lets it: the first frame is looked at meanwhile."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.go = threading.Event()
        self.judged = 0

    def build(self, changed: set[str] | None = None, quiet: bool = False) -> DashboardState:
        self.go.wait(60)
        self.judged += 1
        return super().build(changed, quiet)


def a_store(tmp_path: Path) -> Path:
    path = tmp_path / "s.sqlite"
    writer = Store(path)
    writer.append(read_observations(DATA / "snapshot.jsonl"))
    judge_then(load_narratives().claims, writer, SETTINGS, writer)  # what the collector keeps
    writer.close()
    return path


def cells(app: TapecheckApp, kind: str) -> list[str]:
    return [str(cell) if isinstance(cell, Text) else cell for table in app.screen.query(f".{kind}").results(PanelTable)
            for row in range(table.row_count) for cell in table.get_row_at(row)]


def test_the_pending_state_reads_stored_values_and_judges_nothing(tmp_path: Path) -> None:
    viewer = Store(a_store(tmp_path), read_only=True)
    engine = Engine(load_narratives(), SETTINGS, viewer, lambda: datetime.now(UTC), store=viewer)
    state = engine.pending()
    assert state.pending and engine.state is None  # not a state flips or later builds compare with
    rows = [r for v in state.views for r in v.claims]
    assert rows and all(r.pending and r.verdict.explanation == JUDGING for r in rows if r.claim.rule is not None)
    assert all(r.verdict.status is Status.CONTEXT for r in rows if r.claim.rule is None)
    assert state.diverged == 0
    first = engine.build()
    def btc(s: DashboardState) -> tuple[float | None, float | None]:
        row = next(r for v in s.views for r in v.series if r.series == BTC)
        return row.value, row.change_pct
    assert btc(state) == btc(first) and btc(state)[0] is not None  # the stored value, as the first state shows it
    assert state.then == first.then  # the collector's, read from the store
    viewer.close()


async def test_the_first_frame_says_judging_until_the_first_state(tmp_path: Path) -> None:
    viewer = Store(a_store(tmp_path), read_only=True)
    narratives = load_narratives()
    engine = HeldEngine(narratives, SETTINGS, viewer, lambda: datetime.now(UTC), store=viewer)
    app = TapecheckApp(SETTINGS, narratives, Feed("LIVE", engine, source_note=str(viewer.path)))
    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: JUDGING in cells(app, "claims"), "judging… on the first frame")
        assert engine.judged == 0 and app.state is not None and app.state.pending
        row = next(r for v in app.state.views for r in v.series if r.series == BTC)
        assert row.value is not None and row.value_text in cells(app, "series")  # the stored value is shown
        engine.go.set()
        await until(pilot, lambda: app.state is not None and not app.state.pending and
                    JUDGING not in cells(app, "claims"), "the verdicts")
        assert engine.judged >= 1
        assert any(now_word in cells(app, "claims") for now_word in ("holds", "DIVERGED"))
    viewer.close()


def test_charts_are_imported_when_a_chart_is_first_opened() -> None:
    import subprocess
    import sys

    code = ("import sys, tui.ui.app, tui.ui.screens.claim, tui.ui.screens.series, tui.ui.screens.page; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('plotext', 'textual_plotext')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"


class CountedEngine(Engine):
    """An engine that notes each first-frame state it builds, and whether the first frame was painted (the
    feed's `painted`) when each judgement began."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.pendings = 0
        self.painted_at_build: list[bool] = []
        self.feed: Feed | None = None

    def pending(self) -> DashboardState:
        self.pendings += 1
        return super().pending()

    def build(self, changed: set[str] | None = None, quiet: bool = False) -> DashboardState:
        assert self.feed is not None
        self.painted_at_build.append(self.feed.painted.is_set())
        return super().build(changed, quiet)


async def test_a_prepared_first_state_is_the_dashboards_as_it_opens_and_is_not_built_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line prepares the first frame's state before Textual starts: the dashboard opens with it (its
    panels in its first layout), the store's watch does not build it again, and the first judgement begins once
    the first frame is painted."""
    from tui.ui.screens.dashboard import DashboardScreen

    viewer = Store(a_store(tmp_path), read_only=True)
    narratives = load_narratives()
    engine = CountedEngine(narratives, SETTINGS, viewer, lambda: datetime.now(UTC), store=viewer)
    feed = engine.feed = Feed("LIVE", engine, source_note=str(viewer.path))
    feed.prepare()
    assert engine.pendings == 1 and feed.first is not None and feed.first.pending
    app = TapecheckApp(SETTINGS, narratives, feed)
    seen: list[DashboardState | None] = []
    mount = DashboardScreen.on_mount

    def mounted(screen: DashboardScreen) -> None:
        seen.append(screen.viewer.state)
        mount(screen)

    monkeypatch.setattr(DashboardScreen, "on_mount", mounted)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state is not None and not app.state.pending and
                    JUDGING not in cells(app, "claims"), "the verdicts")
    assert seen and seen[0] is not None and seen[0].pending  # the state was there as the dashboard mounted
    assert engine.pendings == 1  # prepared once, never again
    assert engine.painted_at_build and engine.painted_at_build[0]  # judged after the first paint
    viewer.close()
