"""A store that cannot be written (the collector says so once, keeps polling, and records again when it can) or
opened (one line, exit 2), and a config file's warning (said on screen, since stderr is hidden under it)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import obs
from tui.collect.poller import Schedule
from tui.collect.sources.base import FetchResult
from tui.collect.sources.registry import Planned
from tui.core.config import load_settings
from tui.core.narratives.claims import load_narratives
from tui.core.store.sqlite import Store


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


async def test_a_full_disk_under_the_collector_is_said_once_and_polling_goes_on(tmp_path: Path) -> None:
    import asyncio

    from tui.collect.collector import Collector

    store = Store(tmp_path / "s.sqlite")
    db = sqlite3.connect(store.path)
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.close()
    store._db.execute(f"PRAGMA max_page_count = {pages + 2}")  # a disk with room for almost nothing
    source = BusySource()
    plan = Planned([source], {"coinbase": Schedule(0.2, 5)})
    lines: list[str] = []
    stop = asyncio.Event()
    collector = Collector(load_settings(), load_narratives(), store, plan, lines.append)
    running = asyncio.create_task(collector.run(stop))
    for _ in range(1200):
        await asyncio.sleep(0.05)
        if source.calls >= 4:
            break
    assert source.calls >= 4  # polling goes on
    problem = collector.recorder.writer.problem
    assert problem is not None and "database or disk is full" in problem
    assert sum("not recording" in line for line in lines) == 1  # said once, not on every poll
    assert collector.poller is not None and not collector.poller.paused
    store._db.execute("PRAGMA max_page_count = 1000000")  # room again: recording resumes, and says so
    for _ in range(1200):
        await asyncio.sleep(0.05)
        if collector.recorder.writer.problem is None:
            break
    assert collector.recorder.writer.problem is None and any("recording again" in line for line in lines)
    assert store.count() > 0
    stop.set()
    await running


def test_a_store_that_cannot_be_opened_is_one_line_for_the_collector_and_the_dashboard(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data")}
    for args in (["collect", "--store", str(blocker / "s.sqlite")], ["--store", str(blocker / "s.sqlite")]):
        done = subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=120,
                              env=env, cwd=Path(__file__).parent.parent, stdin=subprocess.DEVNULL)
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "cannot open the store" in lines[0] and "Traceback" not in done.stderr


async def test_a_config_warning_is_shown_in_the_dashboard(tmp_path: Path) -> None:
    from tui.ui.app import snapshot_app

    path = tmp_path / "c.toml"
    path.write_text('[sources.crypto.credentials.binance]\napiKey = "k3y"\nsecret = "s3cr3t"\n')
    path.chmod(0o644)
    app = snapshot_app(load_settings(path), load_narratives(), Path(__file__).parent / "data" / "snapshot.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        said = [n.message for n in app._notifications]
        assert any("other users may read it" in m and "chmod 600" in m for m in said)
        assert not any("k3y" in m or "s3cr3t" in m for m in said)
