"""`tapecheck status`: one line from the store for status bars and cron, with check's exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import DATA, obs
from tui.core.claims import load_narratives
from tui.core.config import load_settings
from tui.core.snapshot import read_observations
from tui.core.status import store_status
from tui.core.store import Store

ROOT = Path(__file__).parent.parent
NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data")}
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=env)


def test_the_line_counts_what_check_counts_and_names_the_collector(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    store.append(read_observations(DATA / "snapshot.jsonl"))
    status = store_status(store, load_narratives(), load_settings(), NOW)
    assert status.counts["diverged"] == 8  # as check --snapshot at the same moment (tests/test_cli.py)
    assert status.btc == 71_200 and status.collector == "down"
    assert status.line.startswith("8 diverged · ") and status.line.endswith("BTC 71,200 USD (30s) · collector down")
    assert store.try_lock_collector()
    assert store_status(store, load_narratives(), load_settings(), NOW).collector == "ok"
    store.close()


def test_status_command_exit_codes_json_and_no_heavy_imports(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    missing = run(tmp_path, "status", "--store", str(path))
    assert missing.returncode == 2 and "no store at" in missing.stderr and "Traceback" not in missing.stderr
    store = Store(path)
    store.append([obs("crypto:BTC/USD:last", 71_000, datetime.now(UTC), "kraken")])
    store.close()
    done = run(tmp_path, "status", "--store", str(path), "--json")
    answer = json.loads(done.stdout)
    assert done.returncode == (1 if answer["counts"].get("diverged") else 0)
    assert answer["btc"] == 71_000 and answer["collector"] == "down" and "BTC 71,000 USD" in answer["line"]
    script = ("import sys; from tui.cli import main; main(['status', '--store', sys.argv[1]]); "
              "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in "
              "('textual', 'ccxt', 'yfinance', 'httpx', 'rich')))")
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data")}
    light = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120,
                           cwd=ROOT, env=env)
    assert "LOADED []" in light.stdout, light.stdout + light.stderr
