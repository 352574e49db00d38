"""`check`'s exit status: a run that could judge nothing is not success (cron reads 0 as success)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.cli import EXIT_NOTHING_CHECKED, main

NOW = "2026-01-26T06:00:00Z"


def tape(tmp_path: Path, ts: str, value: float = 1.1e21) -> Path:
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"series": "network:bitcoin:hashrate", "value": value, "unit": "H/s", "ts": ts,
                                "source": "mempool"}) + "\n")
    return path


def test_nothing_to_check_exits_4_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n")
    assert main(["check", "--snapshot", str(path), "--now", NOW]) == EXIT_NOTHING_CHECKED == 4
    assert "HOLDS" not in capsys.readouterr().out


def test_only_stale_values_exit_4(tmp_path: Path) -> None:
    assert main(["check", "--snapshot", str(tape(tmp_path, "2026-01-20T06:00:00Z")), "--now", NOW]) == 4


def test_one_claim_judged_is_enough_for_0_and_one_diverged_for_1(tmp_path: Path) -> None:
    assert main(["check", "--snapshot", str(tape(tmp_path, "2026-01-26T05:59:00Z")), "--now", NOW]) == 0
    assert main(["check", "--snapshot", str(tape(tmp_path, "2026-01-26T05:59:00Z", 0.9e21)), "--now", NOW]) == 1
