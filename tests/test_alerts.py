"""Alerts: judged by the collector on the store (hysteresis, cooldown, baselines), kept there, delivered to a
command that may fail or hang, listed by `tapecheck alerts`, and checked when the config loads."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import obs
from tests.test_collector import PATIENT_S, TickingSource, planned, until_true
from tui.collect.alerting import Alerting
from tui.core.config import Settings, load_settings
from tui.core.model import TapecheckError
from tui.core.narratives.claims import load_narratives
from tui.core.store.sqlite import Store

ROOT = Path(__file__).parent.parent
BTC = "crypto:BTC/USD:last"
TESLA = "bb-tesla-btc-11509-over-1bn"  # 11,509 × BTC/USD > USD 1 billion: a level of 86,888.5 USD
TESLA_LEVEL = 1e9 / 11509
START = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)


def settings_with(tmp_path: Path, alerts: str) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(alerts)
    return load_settings(path)


RULE = """
[alerts]
{settings}
[[alerts.rules]]
name = "BTC under 70k"
expr = "last(crypto:BTC/USD:last)"
op = "<"
value = 70000
unit = "USD"
"""


def polls(store: Store, alerting: Alerting, values: list[float], every_s: float = 10) -> list[str]:
    """Each value stored as a poll's answer, every `every_s` seconds after the store's last one (a clock of the
    test's own), the alerts judged after each as the collector does; every alert that fired, as its line."""
    fired = []
    last = store.latest(BTC, START + timedelta(days=365))
    now = max((o.ts for o in last), default=START)
    for value in values:
        now += timedelta(seconds=every_s)
        store.append([obs(BTC, value, now, "kraken")])
        fired += [a.line for a in alerting.judge_now(now)]
    return fired


def wobble(level: float, pct: float, times: int) -> list[float]:
    """A value crossing `level` by ±pct percent on every poll."""
    return [level * (1 + (pct if i % 2 else -pct) / 100) for i in range(times)]


def test_a_level_crossed_by_a_tenth_of_a_percent_on_every_poll_fires_at_most_two_alerts(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    steady = settings_with(tmp_path, RULE.format(settings="cooldown_s = 0"))  # the hysteresis alone (0.5%)
    alerting = Alerting(steady, load_narratives(), store)
    fired = polls(store, alerting, [100_000.0, *wobble(TESLA_LEVEL, 0.1, 100)])  # the claim's level
    fired += polls(store, alerting, wobble(70_000, 0.1, 100))  # and the rule's
    # the UAE's 6,300 BTC >= USD 500M claim has its level (79,365 USD) between the two wobbles: going from one to
    # the other crosses it once, a real move and no wobble
    fired = [line for line in fired if not line.startswith("wu-uae-citadel-mining-6300-btc: holds → diverged")]
    assert len(fired) <= 2, fired
    # and it is the hysteresis that keeps them quiet: a real move through either level fires at once
    moved = polls(store, alerting, [60_000.0, 100_000.0])
    assert any(line.startswith(f"{TESLA}: diverged → holds") for line in moved), moved
    assert any(line.startswith("BTC under 70k: clear → met: 60,000.00 USD") for line in moved), moved
    assert any(line.startswith("BTC under 70k: met → clear") for line in moved), moved
    nervous = settings_with(tmp_path, RULE.format(settings="cooldown_s = 0\nhysteresis_pct = 0"))
    again = Store(tmp_path / "t.sqlite")
    assert len(polls(again, Alerting(nervous, load_narratives(), again), wobble(70_000, 0.1, 100))) >= 99
    assert [a.subject for a in store.alerts()].count("BTC under 70k") == 2  # every alert is kept in the store
    store.close()
    again.close()


def test_the_cooldown_holds_a_flapping_level_to_one_alert_per_period_and_drops_what_reverts(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    alerting = Alerting(settings_with(tmp_path, RULE.format(settings="cooldown_s = 300")), load_narratives(), store)
    fired = polls(store, alerting, [75_000.0, *wobble(70_000, 2, 100)])  # 1,000 s of a 2% flap, well past 0.5%
    rule = [line for line in fired if line.startswith("BTC under 70k")]
    assert 1 <= len(rule) <= 4, rule  # one per 300 s at most
    if len(rule) > 1:  # what came after the first says what it summed up
        assert "times since the last alert" in rule[1]
    # a change that reverts within the cooldown is never alerted
    quiet = Store(tmp_path / "q.sqlite")
    calm = Alerting(settings_with(tmp_path, RULE.format(settings="cooldown_s = 300")), load_narratives(), quiet)
    first = polls(quiet, calm, [75_000.0, 65_000.0])
    assert [line.split(":")[1].strip() for line in first if line.startswith("BTC")] == ["clear → met"]
    assert not [line for line in polls(quiet, calm, [75_000.0, 65_000.0]) if line.startswith("BTC")]
    store.close()
    quiet.close()


def test_a_new_collector_takes_its_baselines_from_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    settings = settings_with(tmp_path, RULE.format(settings="cooldown_s = 0"))
    first = Alerting(settings, load_narratives(), store)
    assert [line for line in polls(store, first, [100_000.0, 65_000.0]) if line.startswith(TESLA)]
    # a claim's first verdict is no news to a first collector; a second one remembers what was last said
    second = Alerting(settings, load_narratives(), store)
    assert polls(store, second, [65_000.0]) == []  # still met, still diverged: nothing new
    third = Alerting(settings, load_narratives(), store)
    lines = polls(store, third, [100_000.0])  # it moved while no collector ran
    assert any(line.startswith(f"{TESLA}: diverged → holds") for line in lines)
    assert any(line.startswith("BTC under 70k: met → clear") for line in lines)
    store.close()


def test_stale_and_no_data_alert_only_when_asked(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    quiet = Alerting(settings_with(tmp_path, "[alerts]\ncooldown_s = 0\n"), load_narratives(), store)
    loud = Alerting(settings_with(tmp_path, "[alerts]\ncooldown_s = 0\non_stale = true\n"), load_narratives(), store)
    waiting = Alerting(settings_with(tmp_path, "[alerts]\ncooldown_s = 0\non_no_data = true\non_stale = true\n"),
                       load_narratives(), store)
    assert waiting.judge_now(START - timedelta(minutes=1)) == []  # an empty store: every claim without data
    store.append([obs(BTC, 100_000, START, "kraken")])
    assert waiting.judge_now(START) == []  # the first values are the baseline, not a flood of "no data → holds"
    for alerting in (quiet, loud):
        assert not [a for a in alerting.judge_now(START) if a.subject == TESLA]  # the baseline
    later = START + timedelta(minutes=10)  # crypto is stale after 120 s
    assert not [a for a in quiet.judge_now(later) if a.subject == TESLA]
    assert [a.change for a in loud.judge_now(later) if a.subject == TESLA] == ["holds → stale"]
    store.append([obs(BTC, 100_001, later, "kraken")])
    assert [a.change for a in loud.judge_now(later) if a.subject == TESLA] == ["stale → holds"]  # and back
    store.close()


def test_alert_rules_are_checked_when_the_config_loads(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("""[alerts]
hysteresis_pct = 0.5

[[alerts.rules]]
expr = "last(crypto:BTC/USD:close)"
op = "<"
value = 1
unit = "USD"

[[alerts.rules]]
expr = "last(crypto:BTC/USD:last)"
op = "~"
value = 1
unit = "CNY"

[[alerts.rules]]
expr = "last(crypto:BTC/USD:last)"
op = "<"
value = 1
unit = "USD"
tolerance = 3
""")
    with pytest.raises(TapecheckError) as caught:
        load_settings(bad)
    lines = str(caught.value).splitlines()
    assert any(line.startswith(f"{bad}:5: alerts.rules[1]: rule: ") and "'close'" in line for line in lines), lines
    assert any(line.startswith(f"{bad}:12: alerts.rules[2]: rule: op '~' is not one of < <= > >=") for line in lines)
    assert any(line.startswith(f"{bad}:11: alerts.rules[2]: rule: the expression is in USD but unit says CNY")
               for line in lines), lines
    assert len(lines) == 4, lines
    assert any(line.startswith(f"{bad}:21: alerts.rules[3]: unknown key 'tolerance'") for line in lines), lines
    issue_shape = tmp_path / "issue.toml"
    issue_shape.write_text('[[alerts]]\nexpr = "last(crypto:BTC/USD:last)"\nop = "<"\nvalue = 1\nunit = "USD"\n')
    with pytest.raises(TapecheckError, match=r"issue.toml:1: \[alerts\] must be a table \(alert rules go in "):
        load_settings(issue_shape)
    for key, value in (("hysteresis_pct", "51"), ("cooldown_s", "-1"), ("command", '"notify.sh"'),
                       ("command_timeout_s", "0"), ("desktop", '"yes"')):
        wrong = tmp_path / f"{key}.toml"
        wrong.write_text(f"[alerts]\n{key} = {value}\n")
        with pytest.raises(TapecheckError, match=rf"{key}.toml:2: alerts.{key} = .* must be "):
            load_settings(wrong)


# ---- delivery: a command that works, fails or hangs -------------------------------------------------------

WRITER = "import sys; open(sys.argv[1], 'ab').write(sys.stdin.buffer.read())"  # one JSON line per alert


def command_config(tmp_path: Path, command: list[str], timeout_s: float = 30, expr: str = BTC) -> Settings:
    return settings_with(tmp_path, f"""
[alerts]
cooldown_s = 0
command = {json.dumps(command)}
command_timeout_s = {timeout_s}
[[alerts.rules]]
name = "BTC above 1"
expr = "last({expr})"
op = ">"
value = 1
unit = "{expr.split('/')[1].split(':')[0]}"
""")


@pytest.mark.parametrize(("script", "outcome"), [
    ("import sys; sys.stdin.read(); print('pager refused', file=sys.stderr); sys.exit(3)",
     "failed: exit status 3: pager refused"),
    ("import time; time.sleep(600)", "failed: still running after 0.5 s, killed"),
    (None, "failed: cannot run /nonexistent/pager: No such file or directory"),
])
async def test_a_failing_or_hanging_command_never_stops_the_collector(tmp_path: Path, script: str | None,
                                                                      outcome: str) -> None:
    from tui.collect.collector import Collector

    argv = [sys.executable, "-c", script] if script else ["/nonexistent/pager"]
    settings = command_config(tmp_path, argv, timeout_s=0.5)
    store = Store(tmp_path / "s.sqlite")
    source = TickingSource()  # BTC/USD above 1 on every poll: the rule is met at once
    stop = asyncio.Event()
    job = Collector(settings, load_narratives(), store, planned(source), lambda line: None)  # type: ignore[arg-type]
    running = asyncio.create_task(job.run(stop))
    try:
        await until_true(lambda: any(a.delivery for a in store.alerts()), "the delivery's outcome")
        [alert] = [a for a in store.alerts() if a.subject == "BTC above 1"]
        assert alert.delivery == outcome
        calls = source.calls
        await until_true(lambda: source.calls > calls + 3, "polls after the failure")
        assert not running.done()
        health = {h.source: h for h in store.health()}["alert command"]
        assert health.state == "failing" and health.last_error == outcome.removeprefix("failed: ")
    finally:
        stop.set()
        await asyncio.wait_for(running, PATIENT_S)
        store.close()


def test_the_command_fires_from_a_collector_with_no_dashboard_and_alerts_lists_it(tmp_path: Path, fakes: object) -> None:
    from tests.test_collector import collector, config, wait

    received = tmp_path / "received.json"
    cfg = config(tmp_path, fakes)  # type: ignore[arg-type]
    cfg.write_text(cfg.read_text() + f"""
[alerts]
command = {json.dumps([sys.executable, "-c", WRITER, str(received)])}
[[alerts.rules]]
name = "BTC/USDT above 1"
expr = "last(crypto:BTC/USDT:last)"
op = ">"
value = 1
unit = "USDT"
""")
    store = tmp_path / "s.sqlite"
    process = collector(tmp_path, cfg, store)
    try:
        def rule_alerts() -> list[dict[str, Any]]:
            lines = received.read_text().splitlines() if received.exists() else []
            return [a for a in map(json.loads, lines) if a["subject"] == "BTC/USDT above 1"]

        wait(rule_alerts, "the alert command's output")  # (a claim whose sources answer one by one may flip too)
        [sent] = rule_alerts()
        assert sent["kind"] == "rule"
        assert sent["before"] == "clear" and sent["after"] == "met" and sent["level"] == 1
        assert sent["message"].endswith("> 1 USDT") and sent["id"] >= 1
        wait(lambda: [a.delivery for a in Store(store, read_only=True).alerts() if a.kind == "rule"] == ["ok"],
             "the delivery kept in the store")
    finally:
        process.terminate()
        process.communicate(timeout=PATIENT_S)
    env = {"XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data")}  # private dirs
    listed = subprocess.run([sys.executable, "-m", "tui", "alerts", "--store", str(store), "--json"], cwd=ROOT,
                            capture_output=True, text=True, timeout=PATIENT_S, env={**os.environ, **env})
    assert listed.returncode == 0, listed.stderr
    answer = json.loads(listed.stdout)
    mine = [a for a in answer["alerts"] if a["subject"] == "BTC/USDT above 1"]
    assert len(mine) == 1 and mine[0]["delivery"] == "ok" and mine[0]["acked"] is False
    assert mine[0] == {**sent, "delivery": "ok"}
    later = subprocess.run([sys.executable, "-m", "tui", "alerts", "--store", str(store), "--since",
                            "2100-01-01T00:00:00Z"], cwd=ROOT, capture_output=True, text=True, timeout=PATIENT_S,
                           env={**os.environ, **env})
    assert later.stdout.strip() == "no alerts since 2100-01-01 00:00:00 UTC"
    plain = subprocess.run([sys.executable, "-m", "tui", "alerts", "--store", str(store)], cwd=ROOT,
                           capture_output=True, text=True, timeout=PATIENT_S, env={**os.environ, **env})
    assert any(line.startswith("* ") and "BTC/USDT above 1: clear → met: " in line
               for line in plain.stdout.splitlines()), plain.stdout


def test_alerts_reads_the_store_with_no_heavy_imports_and_says_when_there_is_none(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data")}
    missing = subprocess.run([sys.executable, "-m", "tui", "alerts", "--store", str(tmp_path / "none.sqlite")],
                             cwd=ROOT, capture_output=True, text=True, timeout=PATIENT_S, env=env)
    assert missing.returncode == 2 and "no store at" in missing.stderr and "Traceback" not in missing.stderr
    path = tmp_path / "s.sqlite"
    Store(path).close()
    bad = subprocess.run([sys.executable, "-m", "tui", "alerts", "--store", str(path), "--since", "yesterday"],
                         cwd=ROOT, capture_output=True, text=True, timeout=PATIENT_S, env=env)
    assert bad.returncode == 2 and bad.stderr.startswith("tapecheck: --since: ")
    script = ("import sys; from tui.cli import main; main(['alerts', '--json', '--store', sys.argv[1]]); "
              "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in "
              "('textual', 'ccxt', 'yfinance', 'httpx', 'rich', 'psycopg')))")
    light = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True,
                           timeout=PATIENT_S, cwd=ROOT, env=env)
    assert '{"since": null, "alerts": []}' in light.stdout and "LOADED []" in light.stdout, light.stdout + light.stderr


def test_an_alert_line_shows_no_control_characters(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    settings = settings_with(tmp_path, RULE.format(settings="cooldown_s = 0"))
    alerting = Alerting(settings, load_narratives(), store)
    [alert] = [a for a in polls(store, alerting, [65_000.0]) if a.startswith("BTC")] or [""]
    assert alert
    kept = store.alerts()[0]
    store.add_alerts([replace(kept, subject="evil\x1b]0;pwned\x07")])
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data")}
    shown = subprocess.run([sys.executable, "-m", "tui", "alerts", "--store", str(store.path)], cwd=ROOT,
                           capture_output=True, text=True, timeout=PATIENT_S, env=env)
    assert "\x1b" not in shown.stdout and "\\x1b" in shown.stdout
    store.close()


async def test_desktop_notifications_go_through_the_platforms_notifier_when_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `notify-send` of the test's own on PATH stands in for the desktop's: it writes down its arguments."""
    bin_dir, said = tmp_path / "bin", tmp_path / "said.json"
    bin_dir.mkdir()
    notifier = bin_dir / "notify-send"
    notifier.write_text(f"#!{sys.executable}\nimport json, sys\nopen({str(said)!r}, 'w').write(json.dumps(sys.argv[1:]))\n")
    notifier.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(sys, "platform", "linux")
    for desktop in (False, True):
        settings = settings_with(tmp_path, RULE.format(settings=f"cooldown_s = 0\ndesktop = {str(desktop).lower()}"))
        store = Store(tmp_path / f"{desktop}.sqlite")
        store.append([obs(BTC, 65_000, START, "kraken")])
        [alert] = [a for a in Alerting(settings, load_narratives(), store).judge_now(START) if a.kind == "rule"]
        assert await Alerting(settings, load_narratives(), store).deliver(alert) == ""  # no command: no outcome
        assert said.exists() is desktop
        store.close()
    assert json.loads(said.read_text()) == ["--app-name=tapecheck", "--", "tapecheck: Alert rule met",
                                            "BTC under 70k: clear → met: 65,000.00 USD < 70,000 USD"]


@pytest.mark.parametrize(("held", "live", "op", "tolerance", "expected"), [
    (True, 99.6, ">=", 0, True),     # under the level by 0.4 %: not yet crossed
    (True, 99.4, ">=", 0, False),    # by 0.6 %: crossed
    (False, 100.4, ">=", 0, False),  # back over by 0.4 %: not yet
    (False, 100.6, ">=", 0, True),
    (True, 94.7, ">", 5, True),      # the boundary is the level widened by the tolerance: 95
    (True, 94.4, ">", 5, False),
    (True, 110.4, "~", 10, True),    # a band of ±10 %: left only 0.5 % (of the level) past its edge
    (True, 110.6, "~", 10, False),
    (False, 109.8, "~", 10, False),  # entered only 0.5 % inside (at most half the tolerance)
    (False, 109.4, "~", 10, True),
    (False, 110.0 - 0.1, "<=", 0, False),
])
def test_crossed_needs_the_value_to_clear_the_boundary(held: bool, live: float, op: str, tolerance: float,
                                                       expected: bool) -> None:
    from tui.core.judge.alerts import crossed

    level = 110.0 if op == "<=" else 100.0
    assert crossed(held, live, op, level, tolerance, 0.5) is expected
    assert crossed(held, live, op, level, tolerance, 0.0) is (live >= level * (1 - tolerance / 100) if op in (">=", ">")
                                                              else abs(live - level) <= level * tolerance / 100
                                                              if op == "~" else live <= level)
