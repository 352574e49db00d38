"""The benchmark suite's code paths at tiny sizes: each runs and reports. Nothing is timed here (see benchmarks/)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import figures, ingest, keystroke, poll, report, rules, tape
from benchmarks.fakes import running_fakes
from benchmarks.minimal_app import READY
from benchmarks.terminal import ROOT, Terminal


def test_store_ingest_and_rule_evaluation_report_figures(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tape, "QUICK", 5_000)
    monkeypatch.setattr(ingest, "QUICK", 5_000)
    found = ingest.run(quick=True) + rules.run(quick=True)
    assert [f.unit for f in found] == ["/s", "ms", "ms"]
    assert all(f.value > 0 and f.baseline for f in found)
    lines = figures.table(found)
    assert len(lines) == 2 + len(found) and all(line.count("|") == 7 for line in lines)
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\nWhat the figures mean.\n")
    report.write_report(out, found, [], quick=True)
    report.write_report(out, found, [], quick=True)  # the text above the results is kept, the results replaced
    text = out.read_text()
    assert text.count("What the figures mean.") == 1 and text.count(report.MARKER) == 1 and "load average" in text


def test_one_poll_of_every_source_against_the_fakes(tmp_path: Path) -> None:
    with running_fakes() as fakes:
        config = fakes.config(tmp_path / "config.toml", crypto_s=0.1)
        _, _, paths, symbols, count = asyncio.run(poll.measure(config, fakes.delay))
    assert paths == 6 and symbols >= 60 and count > 0


def test_a_minimal_app_and_the_snapshot_dashboard_on_a_pty() -> None:
    with Terminal([sys.executable, "-m", "benchmarks.minimal_app"]) as term:
        assert term.wait_for(READY, timeout=60) > 0
    snapshot = [sys.executable, "-m", "tui", "--snapshot", str(ROOT / "tests" / "data" / "snapshot.jsonl"),
                "--now", "2026-01-26T06:00:00Z"]
    with Terminal(snapshot) as term:
        assert len(keystroke.samples(term, 2, pause_s=0)) == 2


def test_the_headless_app_counts_its_polls_and_reads_its_memory(tmp_path: Path) -> None:
    with running_fakes() as fakes:
        config = fakes.config(tmp_path / "config.toml", crypto_s=0.001, equities_s=0.001, hashrate_s=0.001)
        out = tmp_path / "readings.json"
        done = subprocess.run([sys.executable, "-m", "benchmarks.memory", str(config), str(tmp_path / "s.sqlite"), "20",
                               str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert out.exists(), done.stderr[-2000:]
    readings = json.loads(out.read_text())
    assert {"start", "first polls", "polls/10", "polls"} <= set(readings)
    assert readings["states"].get("ok", 0) >= 1


def test_both_store_backends_report_figures(monkeypatch: pytest.MonkeyPatch, pg_server: object) -> None:
    from benchmarks import backends

    monkeypatch.setattr(backends, "QUICK", 3_000)
    found = backends.run(quick=True, server=pg_server)  # type: ignore[arg-type]
    assert [f.name.split(":")[0] for f in found] == ["SQLite"] * 3 + ["PostgreSQL"] * 3
    assert all(f.value > 0 for f in found) and all(f.baseline for f in found[3:])
    assert found[2].value < 5_000 and found[5].value < 5_000  # every viewer saw the commits, within seconds
