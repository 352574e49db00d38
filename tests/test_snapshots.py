"""Snapshot tests of the screens (pytest-textual-snapshot), with a frozen clock and fixed data.

Update the baselines after an intended change with `python3 -m uv run pytest tests/test_snapshots.py
--snapshot-update`, and look at the report before committing them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import DATA
from tui.collect.poller import Health
from tui.core.claims import load_narratives
from tui.core.config import load_settings
from tui.ui.app import TapecheckApp, snapshot_app

NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)


def app() -> TapecheckApp:
    return snapshot_app(load_settings(), load_narratives(), DATA / "snapshot.jsonl", NOW)


def test_main_screen_80x24(snap_compare: Any) -> None:
    assert snap_compare(app(), terminal_size=(80, 24))


def test_main_screen_160x50(snap_compare: Any) -> None:
    assert snap_compare(app(), terminal_size=(160, 50))


def test_claim_screen(snap_compare: Any) -> None:
    assert snap_compare(app(), terminal_size=(100, 40), press=["8", "enter"])  # Tesla's bitcoin, in Musk's panel


def test_sources_screen(snap_compare: Any) -> None:
    tapecheck = app()
    tapecheck.health = {
        "binance": Health("binance", "crypto", "ok", NOW - timedelta(seconds=4), None, None, 0.21, 0,
                          NOW + timedelta(seconds=6), 5),
        "mempool": Health("mempool", "hashrate", "failing", NOW - timedelta(minutes=12),
                          "mempool.space: HTTP 503; blockchain.com: timed out after 15 s", NOW - timedelta(seconds=30),
                          15.2, 3, NOW + timedelta(seconds=40)),
        "yahoo": Health("yahoo", "equities", "rate_limited", NOW - timedelta(minutes=3), "rate limited by Yahoo (HTTP 429)",
                        NOW - timedelta(seconds=50), 1.4, 1, NOW + timedelta(seconds=70)),
    }
    assert snap_compare(tapecheck, terminal_size=(120, 24), press=["s"])
