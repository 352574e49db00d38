"""`check`'s exit status: a run that could judge nothing is not success (cron reads 0 as success)."""

from __future__ import annotations

import json
import re
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
    path = tmp_path / "elsewhere.jsonl"  # observations, but of a series no claim reads
    path.write_text(json.dumps({"series": "crypto:DOGE/USD:last", "value": 0.3, "unit": "USD",
                                "ts": "2026-01-26T05:59:00Z", "source": "kraken"}) + "\n")
    assert main(["check", "--snapshot", str(path), "--now", NOW]) == EXIT_NOTHING_CHECKED == 4
    out = capsys.readouterr().out
    assert not re.search(r"^  holds ", out, re.M) and " no data" in out.splitlines()[0]


def test_an_empty_snapshot_is_bad_input_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n")
    assert main(["check", "--snapshot", str(path), "--now", NOW]) == 2
    assert capsys.readouterr().err.startswith(f"tapecheck: {path}: holds no observations")


def test_stale_values_judge_no_live_claim_and_the_status_follows_what_was_judged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tape(tmp_path, "2026-01-20T06:00:00Z"))
    code = main(["check", "--snapshot", path, "--now", NOW, "--json"])
    verdicts = json.loads(capsys.readouterr().out)["verdicts"]
    live = [v for v in verdicts if v["id"] == "wu-hashrate-above-1zh"]
    assert live and live[0]["status"] == "stale"  # six days old: not a live value
    statuses = {v["status"] for v in verdicts}
    # a rule over history (the first day above 1 ZH/s) may still be judged from a stale tape; if none is, 4
    assert code == (1 if "diverged" in statuses else 0 if "holds" in statuses else 4)


def test_one_claim_judged_is_enough_for_0_and_one_diverged_for_1(tmp_path: Path) -> None:
    assert main(["check", "--snapshot", str(tape(tmp_path, "2026-01-26T05:59:00Z")), "--now", NOW]) == 0
    assert main(["check", "--snapshot", str(tape(tmp_path, "2026-01-26T05:59:00Z", 0.9e21)), "--now", NOW]) == 1
