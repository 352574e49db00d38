"""The dashboard when its store cannot be written (it says so, keeps polling, still shows what arrives), and
when its config file gives a warning (said on screen, since stderr is hidden under it)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import obs
from tui.collect.poller import Schedule
from tui.collect.recorder import open_store
from tui.collect.sources.base import FetchResult
from tui.collect.sources.registry import Planned
from tui.core.claims import load_narratives
from tui.core.config import load_settings
from tui.core.store import Store
from tui.core.tape import OverlayTape
from tui.ui.app import TapecheckApp
from widgets.header_line import HeaderLine


class BusySource:
    """Many fresh observations per poll, each one higher: enough to fill a capped store at once."""

    name = "coinbase"
    kind = "crypto"

    def __init__(self) -> None:
        self.calls = 0

    async def fetch(self) -> FetchResult:
        self.calls += 1
        now = datetime.now(UTC)
        return FetchResult(tuple(obs("crypto:BTC/USD:last", 70_000 + self.calls, now - timedelta(milliseconds=i),
                                     "coinbase") for i in range(2000)))

    async def close(self) -> None:
        pass


async def wait(pilot: object, done: object, rounds: int = 6000) -> None:  # up to 5 min on a loaded machine
    for _ in range(rounds):
        await pilot.pause(0.05)  # type: ignore[attr-defined]
        if done():  # type: ignore[operator]
            return


async def test_a_full_disk_under_the_dashboard_is_said_and_values_still_show(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    db = sqlite3.connect(store.path)
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.close()
    store._db.execute(f"PRAGMA max_page_count = {pages + 2}")  # a disk with room for almost nothing
    source = BusySource()
    plan = Planned([source], {"coinbase": Schedule(0.2, 5)})
    app = TapecheckApp(load_settings(), load_narratives(), mode="LIVE", tape=store, store=store, planned=plan)
    async with app.run_test(size=(120, 40)) as pilot:
        def shown(value: float) -> bool:  # the dashboard's tape holds a polled value this high
            latest = app.tape.latest("crypto:BTC/USD:last", datetime.now(UTC))
            return any(o.value >= value for o in latest)

        await wait(pilot, lambda: app.writer.problem is not None and source.calls >= 3 and shown(70_003))
        assert app.writer.problem is not None and "database or disk is full" in app.writer.problem
        assert isinstance(app.tape, OverlayTape)
        messages = [n.message for n in app._notifications]
        assert sum("not recording" in m for m in messages) == 1  # said once, not on every poll
        app.tick()
        dashboard = app.dashboard
        assert dashboard is not None
        assert "not recording" in dashboard.query_one(HeaderLine).mode
        app.rebuild()
        row = next(r for v in app.views for r in v.series if r.series == "crypto:BTC/USD:last")
        assert row.value is not None and row.value >= 70_003 and row.state == "live"  # polled, not stored
        assert app.poller is not None and not app.poller.paused


async def test_a_store_that_cannot_be_opened_runs_the_dashboard_in_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    store, problem = open_store(blocker / "s.sqlite", 400)
    source = BusySource()
    plan = Planned([source], {"coinbase": Schedule(0.2, 5)})
    app = TapecheckApp(load_settings(), load_narratives(), mode="LIVE", tape=store, store=store, planned=plan,
                       store_problem=problem)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait(pilot, lambda: source.calls >= 2)
        assert any("not recording" in n.message and "cannot open the store" in n.message
                   for n in app._notifications)
        app.tick()
        dashboard = app.dashboard
        assert dashboard is not None
        assert "not recording" in dashboard.query_one(HeaderLine).mode
        app.rebuild()
        row = next(r for v in app.views for r in v.series if r.series == "crypto:BTC/USD:last")
        assert row.value is not None and row.state == "live"


async def test_a_config_warning_is_shown_in_the_dashboard(tmp_path: Path) -> None:
    from tui.ui.app import snapshot_app

    path = tmp_path / "c.toml"
    path.write_text('[sources.crypto.credentials.binance]\napiKey = "k3y"\nsecret = "s3cr3t"\n')
    path.chmod(0o644)
    app = snapshot_app(load_settings(path), load_narratives(), Path(__file__).parent / "data" / "snapshot.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        shown = [n.message for n in app._notifications]
        assert any("other users may read it" in m and "chmod 600" in m for m in shown)
        assert not any("k3y" in m or "s3cr3t" in m for m in shown)
