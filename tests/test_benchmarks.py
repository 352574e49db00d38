"""The benchmark suite's code paths at tiny sizes: each runs and reports. Nothing is timed here (see benchmarks/)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from benchmarks import (
    collector_memory,
    commit_value,
    figures,
    idle,
    ingest,
    keystroke,
    poll,
    prune_block,
    report,
    rules,
    status,
    tape,
    upstream,
    windows,
)
from benchmarks.fakes import running_fakes
from benchmarks.minimal_app import READY
from benchmarks.terminal import Terminal


@pytest.fixture
def tiny_tape(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tape, "QUICK", 5_000)
    monkeypatch.setattr(ingest, "QUICK", 5_000)


def test_store_ingest_and_rule_evaluation_report_figures(tiny_tape: None, tmp_path: Path) -> None:
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


def test_the_windows_benchmark_reports_the_same_share_both_ways() -> None:
    found = windows.run(quick=True)
    assert [f.unit for f in found] == ["ms", "ms", "ms"] and all(f.value > 0 for f in found)
    polars_share = found[0].note.split(": ")[1].split(";")[0]
    assert polars_share in found[1].note and "common trading days" in polars_share


def test_one_poll_of_every_source_against_the_fakes(tmp_path: Path) -> None:
    with running_fakes() as fakes:
        config = fakes.config(tmp_path / "config.toml", crypto_s=0.1)
        _, _, paths, symbols, count = asyncio.run(poll.measure(config, fakes.delay))
    assert paths == 6 and symbols >= 60 and count > 0


def test_a_minimal_app_and_keys_on_the_snapshot_dashboard() -> None:
    with Terminal([sys.executable, "-m", "benchmarks.minimal_app"]) as term:
        assert term.wait_for(READY, timeout=60) > 0
    with Terminal(keystroke.snapshot_argv()) as term:
        assert len(keystroke.samples(term, 2, pause_s=0)) == 2


def test_a_viewer_beside_a_collector_is_measured_idle(tiny_tape: None) -> None:
    found = idle.measure(tape.store_copy(True, "idle-test"), window_s=0.5, warmup_s=0)
    assert found.viewer_rss > 0 and found.minimal_rss > 0 and found.viewer_cpu >= 0 and found.collector_cpu >= 0


def test_the_fakes_count_what_a_collector_asks_while_viewers_watch(tiny_tape: None) -> None:
    assert upstream.measure(True, 0.5, viewers=(2,))[0] >= 0


def test_every_viewer_shows_a_committed_value(tiny_tape: None) -> None:
    alone, together = commit_value.measure(tape.store_copy(True, "commit-test"), viewers=2, count=1)
    assert len(alone) == 1 and len(together) == 2


def test_a_prune_in_another_process_under_a_probed_viewer(tiny_tape: None) -> None:
    store = prune_block.prune_store(True, count=3_000)
    idle_blocks, during, done = prune_block.measure(store, idle_s=0.2)
    assert done["removed"] >= 2_000 and done["end"] >= done["start"]
    assert all(b >= 2 for b in idle_blocks + during)


def test_a_collector_counts_its_polls_and_reads_its_memory(tiny_tape: None, tmp_path: Path) -> None:
    with running_fakes() as fakes:
        config = fakes.config(tmp_path / "config.toml", crypto_s=0.001, equities_s=0.001, hashrate_s=0.001)
        readings = collector_memory.measure(config, tape.store_copy(True, "memory-test"), 20,
                                            tmp_path / "readings.json")
    assert {"start", "first polls", "polls/10", "polls"} <= set(readings)
    states = readings["states"]
    assert isinstance(states, dict) and states.get("ok", 0) >= 1


def test_both_store_backends_report_figures(monkeypatch: pytest.MonkeyPatch, pg_server: object) -> None:
    from benchmarks import backends

    monkeypatch.setattr(backends, "QUICK", 3_000)
    found = backends.run(quick=True, server=pg_server)  # type: ignore[arg-type]
    assert [f.name.split(":")[0] for f in found] == ["SQLite"] * 3 + ["PostgreSQL"] * 3
    assert all(f.value > 0 for f in found) and all(f.baseline for f in found[3:])
    assert found[2].value < 5_000 and found[5].value < 5_000  # every viewer saw the commits, within seconds


def test_status_is_measured_against_a_bare_python(tiny_tape: None) -> None:
    runs, bare = status.measure(tape.benchmark_store(True), runs=1)
    assert len(runs) == len(bare) == 1
    # status exits as check: 1 for a claim diverged, 4 when nothing could be judged (an old tape read now)
    assert runs[0].status in (0, 1, 4) and runs[0].rss_mb > 0 and bare[0].rss_mb > 0 and bare[0].status == 0
