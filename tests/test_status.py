"""`tapecheck status`: one line from the store for status bars and cron, with check's exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import DATA, obs
from tui.core.config import load_settings
from tui.core.judge.status import SUMMARY_FRESH_S, store_status
from tui.core.narratives.claims import Narratives, load_narratives
from tui.core.snapshot import read_observations
from tui.core.store.sqlite import Store

ROOT = Path(__file__).parent.parent
NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data")}
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=env)


def test_the_line_counts_what_check_counts_and_names_the_collector(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    store.append(read_observations(DATA / "snapshot.jsonl"))
    status = store_status(store, load_narratives, load_settings(), NOW)
    assert status.counts["diverged"] == 9  # as check --snapshot at the same moment (tests/test_cli.py)
    assert status.btc == 71_200 and status.collector == "down"
    assert status.line.startswith("9 diverged (4 ours) · ") and status.line.endswith("BTC 71,200 USD (30s) · collector down")
    assert store.try_lock_collector()
    assert store_status(store, load_narratives, load_settings(), NOW).collector == "ok"
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


def refuse_to_load() -> Narratives:
    raise AssertionError("status loaded the narratives though the collector's summary was fresh")


def test_a_fresh_summary_of_a_running_collector_is_read_and_nothing_is_judged(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    store.append(read_observations(DATA / "snapshot.jsonl"))
    judged = store_status(store, load_narratives, load_settings(), NOW)  # no collector: judged here
    assert judged.judged_by == "status"
    assert store.try_lock_collector()
    store.save_summary({"counts": {"diverged": 5, "stale": 2}, "wrong_then": 3, "at": NOW.isoformat()})
    read = store_status(store, refuse_to_load, load_settings(), NOW + timedelta(seconds=30))
    assert (read.counts, read.wrong_then, read.judged_by) == ({"diverged": 5, "stale": 2}, 3, "collector")
    assert read.line.startswith("5 diverged · 2 stale · 3 wrong then · BTC 71,200 USD")
    # an old summary, or one from before the collector died, is not believed: status judges for itself
    old = store_status(store, load_narratives, load_settings(), NOW + timedelta(seconds=SUMMARY_FRESH_S + 1))
    assert old.judged_by == "status" and old.counts != read.counts
    store.close()


def test_the_collector_keeps_the_summary_status_would_have_judged(tmp_path: Path) -> None:
    from tui.collect.alerting import Alerting

    store = Store(tmp_path / "s.sqlite")
    store.append(read_observations(DATA / "snapshot.jsonl"))
    settings, narratives = load_settings(), load_narratives()
    alerting = Alerting(settings, narratives, store)
    alerting.judge_now(NOW)
    kept = store.summary()
    assert kept is not None and kept["at"] == NOW.isoformat()
    judged = store_status(store, load_narratives, settings, NOW)
    assert (kept["counts"], kept["wrong_then"]) == (judged.counts, judged.wrong_then)
    alerting.judge_now(NOW + timedelta(seconds=5))  # nothing changed, a minute has not passed: not written again
    assert store.summary() == kept
    store.close()


def test_no_data_and_failing_sources_exit_4_as_check_does(tmp_path: Path) -> None:
    """An empty store, every source failing, the collector dead: never `0 diverged · collector ok`, and exit 4."""
    from tui.core.model import Health

    path = tmp_path / "s.sqlite"
    store = Store(path)
    for source in ("kraken", "yahoo"):
        store.save_health(Health(source, "crypto", None, "timed out after 10 s", NOW, None, 3, None, "failing"))
    store.close()
    done = run(tmp_path, "status", "--store", str(path))
    assert done.returncode == 4, done.stdout + done.stderr
    line = done.stdout.strip()
    assert line.startswith("no data: no claim checked (") and "0 diverged" not in line
    assert "kraken, yahoo failing" in line and line.endswith("collector down")
    check = run(tmp_path, "check", "--store", str(path))
    assert check.returncode == done.returncode == 4
    answer = json.loads(run(tmp_path, "status", "--store", str(path), "--json").stdout)
    assert answer["exit_status"] == 4 and answer["failing"] == ["kraken", "yahoo"]


def test_status_counts_unacknowledged_alerts_says_stale_and_when_the_collector_stopped(tmp_path: Path) -> None:
    from tui.core.model import Alert

    store = Store(tmp_path / "s.sqlite")
    store.append(read_observations(DATA / "snapshot.jsonl"))
    store.add_alerts([Alert(0, NOW, "claim", f"c{n}", "holds", "diverged", "off") for n in range(3)])
    store.ack_alerts(1)
    stopped = NOW - timedelta(hours=1)
    store.save_summary({"counts": {}, "wrong_then": 0, "at": (stopped - timedelta(seconds=40)).isoformat(),
                        "stopped_at": stopped.isoformat()})
    later = store_status(store, load_narratives, load_settings(), NOW + timedelta(hours=2))
    assert later.unacked == 2 and "· 2 alerts ·" in later.line
    assert later.btc_stale and re.search(r"· BTC 71,\d{3} USD \(\dh, stale\) ·", later.line), later.line
    assert later.down_since == stopped and later.line.endswith(f"collector down since {stopped.astimezone():%H:%M}")
    assert later.judged_by == "status"  # a stopped collector's summary is not read as fresh
    store.close()
