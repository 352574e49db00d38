"""`tapecheck status`'s fast path (tui/core/quickstatus.py): while a collector keeps its summary in a SQLite
store, `python -m tui status` reads it with sqlite3 alone and prints what the full path (tui.core.judge.status)
prints; anything else leaves it to the full path, which says what it says today."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import platformdirs
import pytest

from tests.conftest import DATA, obs
from tui.core import quickstatus as quick
from tui.core.config import load_settings, shipped_config_path
from tui.core.judge.status import SUMMARY_FRESH_S, store_status
from tui.core.model import Alert, Health, Status
from tui.core.narratives.claims import Narratives, load_narratives
from tui.core.snapshot import read_observations
from tui.core.statusline import NOW_WORDS, WRONG_THEN
from tui.core.store.rows import CollectorInfo
from tui.core.store.sqlite import Store

ROOT = Path(__file__).parent.parent
NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)
BTC = "crypto:BTC/USD:last"
SUMMARY = {"counts": {"diverged": 5, "holds": 3, "stale": 2}, "wrong_then": 3, "diverged_ours": 1}


def refuse_to_load() -> Narratives:
    raise AssertionError("status loaded the narratives though the collector's summary was fresh")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Store]:
    """A store whose collector (this process) runs, with the shipped config seen valid by the full path."""
    quick.keep_settings(None, load_settings())
    store = Store(tmp_path / "s.sqlite")
    assert store.try_lock_collector()
    yield store
    store.close()


def both(store: Store, now: datetime, *args: str) -> tuple[tuple[str, object], tuple[str, object]]:
    """(the fast path's status, the full path's) of `store` at `now`, each as its line and JSON."""
    found = quick.quick_status(["status", "--store", str(store.path), *args], now)
    assert found is not None, "the fast path left a store it should have read"
    full = store_status(store, refuse_to_load, load_settings(), now)
    assert full.judged_by == "collector"
    return (found[0].line, found[0].json()), (full.line, full.json())


def at(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


BTC_CASES = {
    "three fresh sources": [obs(BTC, 71_000, at(10), "a"), obs(BTC, 71_300, at(20), "b"), obs(BTC, 71_100, at(5), "c")],
    "two fresh sources: their mean": [obs(BTC, 71_000, at(10), "a"), obs(BTC, 71_301, at(70), "b")],
    "two sources split in two camps": [obs(BTC, 71_000, at(10), "a"), obs(BTC, 150_000, at(10), "b")],
    "only stale values": [obs(BTC, 71_000, at(3 * 3600), "a"), obs(BTC, 70_000, at(4 * 3600), "b")],
    "one fresh, one stale": [obs(BTC, 71_000, at(30), "a"), obs(BTC, 50_000, at(3600), "b")],
    "a value after now": [obs(BTC, 71_000, at(30), "a"), obs(BTC, 99_000, NOW + timedelta(minutes=5), "a")],
    "no BTC at all": [obs("crypto:ETH/USD:last", 3_000, at(10), "a")],
}


@pytest.mark.parametrize("case", BTC_CASES)
def test_the_fast_path_prints_what_the_full_path_prints(running: Store, case: str) -> None:
    running.append(BTC_CASES[case])
    running.save_summary({**SUMMARY, "at": at(20).isoformat()})
    fast, full = both(running, NOW)
    assert fast == full
    assert fast[0].startswith("5 diverged (1 ours) · 2 stale · 3 wrong then · ")


def test_disputed_values_failing_sources_alerts_and_a_paused_collector_read_alike(running: Store) -> None:
    running.append([obs(BTC, 71_000, at(3 * 3600), "a")])  # stale; a fresh disputed value makes it no value
    running.save_summary({**SUMMARY, "at": at(20).isoformat()})
    fast, full = both(running, NOW)
    assert fast == full and "BTC 71,000 USD (3h, stale)" in fast[0]
    running.add_disputed([(obs(BTC, 7_100_000, at(30), "b"), "100x above its own last value")])
    running.add_alerts([Alert(0, NOW, "claim", f"c{n}", "holds", "diverged", "off") for n in range(3)])
    for source, state in (("kraken", "failing"), ("yahoo", "rate_limited"), ("okx", "ok"), ("evil\x1b]0;x\x07", "failing")):
        running.save_health(Health(source, "crypto", None, "timed out", NOW, None, 3, None, state))
    running.save_collector(CollectorInfo(os.getpid(), "here", NOW, True))
    fast, full = both(running, NOW)
    assert fast == full
    line = fast[0]
    assert "BTC" not in line and "3 alerts" in line and "collector paused" in line
    assert "\x1b" not in line and "\\x1b" in line  # a stored name never reaches the terminal with its controls


def test_a_stale_missing_or_stopped_summary_or_no_collector_falls_back(tmp_path: Path, running: Store) -> None:
    argv = ["status", "--store", str(running.path)]
    assert quick.quick_status(argv, NOW) is None  # no summary yet
    running.save_summary({**SUMMARY, "at": at(SUMMARY_FRESH_S + 1).isoformat()})
    assert quick.quick_status(argv, NOW) is None  # too old
    running.save_summary({**SUMMARY, "at": (NOW + timedelta(minutes=1)).isoformat()})
    assert quick.quick_status(argv, NOW) is None  # from the future
    running.save_summary({**SUMMARY, "at": at(20).isoformat(), "stopped_at": at(10).isoformat()})
    assert quick.quick_status(argv, NOW) is None  # the collector stopped
    running.save_summary({**SUMMARY, "at": at(20).isoformat()})
    assert quick.quick_status(argv, NOW) is not None
    idle = Store(tmp_path / "idle.sqlite")  # the same summary, no collector running
    idle.save_summary({**SUMMARY, "at": at(20).isoformat()})
    idle.close()
    assert quick.quick_status(["status", "--store", str(tmp_path / "idle.sqlite")], NOW) is None
    for other in (["status", "--store", "postgresql://u@127.0.0.1:1/db"], ["status", "--lang", "zh"],
                  ["--now", "2026-01-01", "status"], ["status", "--store"], ["status", "--config", "x.toml"],
                  ["status", "--store", str(running.path), "--store", "y"], ["check"], []):
        assert quick.status_options(other) is None or quick.quick_status(other, NOW) is None, other


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, **(env or {})})


LOADED = ("import sys; sys.argv = ['tapecheck', *sys.argv[1:]]; from tui.__main__ import main; code = main(); "
          "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'polars', 'pandas') or m in "
          "('tui.cli', 'tui.core.model', 'tui.core.config', 'tui.core.judge.engine', 'json', 're', 'typing')))")


def test_python_m_tui_status_reads_the_summary_with_sqlite3_alone(tmp_path: Path) -> None:
    from tui.collect.alerting import Alerting

    path = tmp_path / "s.sqlite"
    store = Store(path)
    store.append(read_observations(DATA / "snapshot.jsonl"))
    now = datetime.now(UTC)
    store.append([obs(BTC, 71_234, now - timedelta(seconds=65), "kraken")])  # "1m", fresh, for 55 s
    assert store.try_lock_collector()
    try:
        Alerting(load_settings(), load_narratives(), store).judge_now(now)
        full = run("-c", "import sys; from tui.cli import main; sys.exit(main(sys.argv[1:]))", "status", "--store",
                   str(path))  # the full path; it keeps what the fast path needs of the config
        assert full.returncode in (0, 1, 4) and "BTC 71,234 USD (1m) · collector ok" in full.stdout, full.stderr
        fast = run("-m", "tui", "status", "--store", str(path))
        assert (fast.stdout, fast.stderr, fast.returncode) == (full.stdout, full.stderr, full.returncode)
        as_json = json.loads(run("-m", "tui", "status", "--store", str(path), "--json").stdout)
        assert as_json["judged_by"] == "collector" and as_json["line"] == full.stdout.strip()
        light = run("-c", LOADED, "status", "--store", str(path))
        assert "LOADED []" in light.stdout, light.stdout + light.stderr
        store.save_summary({"counts": {}, "at": (now - timedelta(seconds=SUMMARY_FRESH_S + 60)).isoformat()})
        judged = json.loads(run("-m", "tui", "status", "--store", str(path), "--json").stdout)
        assert judged["judged_by"] == "status"  # an old summary: the full path judged every claim
    finally:
        store.close()
    down = run("-c", LOADED, "status", "--store", str(path))  # no collector: the full path, which says so
    assert "collector down" in down.stdout and "'tui.cli'" in down.stdout


def test_the_config_is_honoured_and_a_broken_one_is_said_as_before(tmp_path: Path) -> None:
    path = tmp_path / "mine.sqlite"
    store = Store(path)
    assert store.try_lock_collector()
    store.append([obs(BTC, 71_000, datetime.now(UTC) - timedelta(seconds=400), "kraken")])
    store.save_summary({**SUMMARY, "at": datetime.now(UTC).isoformat()})
    config = Path(platformdirs.user_config_dir("tapecheck")) / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'[store]\npath = "{path}"\n\n[staleness]\ncrypto = 600\n')
    os.utime(config, (1e9, 1e9))  # written long ago: one the full path may keep
    try:
        assert quick.quick_status(["status"], datetime.now(UTC)) is None  # not yet seen valid
        first = run("-m", "tui", "status")
        assert first.returncode == 1 and "BTC 71,000 USD (6m) · collector ok" in first.stdout, first.stderr
        found = quick.quick_status(["status"], datetime.now(UTC))  # [store] path, and crypto stale after 600 s
        assert found is not None and found[0].line == first.stdout.strip()
        config.write_text(f'[store]\npath = "{path}"\n\n[staleness]\ncrypto = -1\n')
        assert quick.quick_status(["status"], datetime.now(UTC)) is None
        broken = run("-m", "tui", "status")
        assert broken.returncode == 2 and broken.stdout == "" and "Traceback" not in broken.stderr
        assert f"{config}:5" in broken.stderr, broken.stderr
        other = tmp_path / "other.toml"
        other.write_text("[staleness]\ncrypto = 60\n")
        os.utime(other, (1e9, 1e9))
        assert quick.quick_status(["--config", str(other), "status", "--store", str(path)], datetime.now(UTC)) is None
        assert "(6m, stale)" in run("-m", "tui", "--config", str(other), "status", "--store", str(path)).stdout
        assert quick.quick_status(["--config", str(other), "status", "--store", str(path)], datetime.now(UTC))
        env = {"TAPECHECK_CONFIG": str(other)}  # the same file named by $TAPECHECK_CONFIG: the same settings
        assert "(6m, stale)" in run("-m", "tui", "status", "--store", str(path), env=env).stdout
    finally:
        store.close()


def test_a_config_that_warns_is_never_kept(tmp_path: Path) -> None:
    config = tmp_path / "creds.toml"
    config.write_text('[sources.crypto.credentials.kraken]\napiKey = "k"\n')
    config.chmod(0o644)
    os.utime(config, (1e9, 1e9))
    settings = load_settings(config)
    assert settings.warnings
    quick.keep_settings(config, settings)
    assert quick.kept_settings(str(config)) is None
    quick.keep_settings(None, load_settings())
    assert quick.kept_settings(None) is not None


def test_what_the_fast_path_repeats_is_what_it_repeats() -> None:
    """The few facts the fast path states again, to import nothing heavy, are the modules' own."""
    from tui.core import config, words
    from tui.core.narratives.rules import evaluate
    from tui.core.store import sqlite

    assert str(sqlite.SCHEMA_VERSION) == quick.SCHEMA_VERSION  # the rest is tui.core.store.facts, for both
    assert quick.SPLIT_FACTOR == evaluate.SPLIT_FACTOR and quick.ENV_VAR == config.ENV_VAR
    assert quick.shipped_config() == str(shipped_config_path())
    assert {str(s): words.now_label(s) for s in Status if s in words.NOW_WORDS and s is not Status.CONTEXT} == NOW_WORDS
    assert WRONG_THEN == words.WRONG_THEN


@pytest.mark.parametrize("xdg", ["absolute", "unset", "relative"])
def test_the_user_dirs_are_platformdirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, xdg: str) -> None:
    for kind in ("config", "data", "cache"):
        name = f"XDG_{kind.upper()}_HOME"
        if xdg == "unset":
            monkeypatch.delenv(name)
        elif xdg == "relative":
            monkeypatch.setenv(name, "relative/dir")
        else:
            monkeypatch.setenv(name, str(tmp_path / kind))
        assert quick.user_dir(kind) == getattr(platformdirs, f"user_{kind}_dir")("tapecheck")
    monkeypatch.setenv("HOME", "not/absolute")
    assert quick.user_dir("config") is None or xdg == "absolute"


@pytest.mark.parametrize("text", ['{"a": 1, "b": [1.5, "x\\u00e9", null, true], "c": {"d": -0.0}}', ' \n{"a": NaN}\t',
                                  '{"at": "2026-01-26T06:00:00+00:00", "counts": {"diverged": 9}}', "[1, 2]", '"s"'])
def test_json_is_read_as_json_reads_it(text: str) -> None:
    assert json.dumps(quick.parse_json(text)) == json.dumps(json.loads(text))


@pytest.mark.parametrize("text", ["", "{", '{"a": 1} x', '{"a": 1}{}', "\ufeff{}", '{"a": "\x01"}', "{'a': 1}"])
def test_what_is_not_json_is_not_read(text: str) -> None:
    with pytest.raises(ValueError):
        json.loads(text)
    with pytest.raises(ValueError):
        quick.parse_json(text)


def test_the_command_lines_the_fast_path_takes() -> None:
    assert quick.status_options(["status"]) == (None, None, False)
    assert quick.status_options(["--config", "c.toml", "--store=s", "status", "--json"]) == ("c.toml", "s", True)
    assert quick.status_options(["status", "--store", "s"]) == (None, "s", False)
    for refused in (["status", "--config", "c"], ["--json", "status"], ["status", "--store", "-x"],
                    ["status", "--store="], ["status", "status"], ["status", "--help"], ["--stor", "s", "status"]):
        assert quick.status_options(refused) is None, refused


def test_with_no_store_named_the_store_is_the_user_data_dirs(tmp_path: Path) -> None:
    quick.keep_settings(None, load_settings())
    path = Path(platformdirs.user_data_dir("tapecheck")) / "tapecheck.sqlite"
    path.parent.mkdir(parents=True)
    store = Store(path)
    try:
        assert store.try_lock_collector()
        store.save_summary({**SUMMARY, "at": at(20).isoformat()})
        found = quick.quick_status(["status"], NOW)
        assert found is not None and found[0].line == store_status(store, refuse_to_load, load_settings(), NOW).line
    finally:
        store.close()


def test_a_store_on_either_backend_reads_alike_through_python_m_tui(location: str) -> None:
    """A PostgreSQL store takes the full path (the fast one is for SQLite files); both print the same line."""
    from tui.core.store.location import open_store

    quick.keep_settings(None, load_settings())
    store = open_store(location)
    try:
        assert store.try_lock_collector()
        store.append([obs(BTC, 71_000, datetime.now(UTC) - timedelta(seconds=75), "kraken")])
        store.save_summary({**SUMMARY, "at": datetime.now(UTC).isoformat()})
        expected = store_status(store, refuse_to_load, load_settings(), datetime.now(UTC)).line
        done = run("-m", "tui", "status", "--store", location)
        assert (done.stdout.strip(), done.returncode) == (expected, 1), done.stderr
        assert (quick.quick_status(["status", "--store", location], datetime.now(UTC)) is None) == ("://" in location)
    finally:
        store.close()
