"""A draft (a proposed rule the user has not confirmed) is judged and shown, but never counted, alerted on or
reflected in an exit status; the JSON marks it."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import DATA, obs
from tests.test_alerts import BTC, START, TESLA, settings_with
from tests.test_user_narratives import VALID, run, write
from tui.cli import check_status
from tui.collect.alerting import Alerting
from tui.core.model import Status, Verdict
from tui.core.narratives.claims import Narratives, load_narratives
from tui.core.store.sqlite import Store

NOW = "2026-01-26T06:00:00Z"


def tesla_drafted() -> Narratives:
    narratives = load_narratives()
    return replace(narratives, claims=tuple(replace(c, draft=True) if c.id == TESLA else c
                                            for c in narratives.claims))


def test_a_drafted_claim_fires_no_alert_where_the_confirmed_one_does(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, "[alerts]\ncooldown_s = 0\n")
    for narratives, expected in ((load_narratives(), ["holds → diverged"]), (tesla_drafted(), [])):
        store = Store(tmp_path / f"{len(expected)}.sqlite")
        alerting = Alerting(settings, narratives, store)
        store.append([obs(BTC, 100_000, START, "kraken")])
        alerting.judge_now(START)  # the baseline
        store.append([obs(BTC, 70_000, START + timedelta(seconds=10), "kraken")])
        fired = alerting.judge_now(START + timedelta(seconds=10))
        assert [a.change for a in fired if a.subject == TESLA] == expected
        store.close()


def test_check_counts_no_draft_marks_it_in_json_and_its_exit_status_ignores_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    _, before, _ = run(capsys, "check", "--snapshot", str(DATA / "snapshot.jsonl"), "--now", NOW)
    write("desk.toml", VALID)
    _, after, _ = run(capsys, "check", "--snapshot", str(DATA / "snapshot.jsonl"), "--now", NOW)
    heading_before, heading_after = before.splitlines()[0], after.splitlines()[0]
    # the user's confirmed claim (BTC above 60k) holds: one more held; the diverged draft is not counted
    def count(heading: str, word: str) -> int:
        found = re.search(rf"(\d+) {word}", heading)
        return int(found.group(1)) if found else 0

    assert count(heading_after, "DIVERGED") == count(heading_before, "DIVERGED") > 0
    assert count(heading_after, "holds") == count(heading_before, "holds") + 1
    assert "(1 drafts aside)" in heading_after
    _, out, _ = run(capsys, "check", "--snapshot", str(DATA / "snapshot.jsonl"), "--now", NOW, "--json")
    verdicts = {v["id"]: v for v in json.loads(out)["verdicts"]}
    assert verdicts["desk-btc-above-90k-draft"]["draft"] is True
    assert verdicts["desk-btc-above-90k-draft"]["status"] == "diverged"
    assert verdicts["desk-btc-above-60k"]["draft"] is False


def verdict(claim_id: str, status: Status) -> Verdict:
    return Verdict(claim_id, "btc_macro", status, 1.0, 1.0 if status is Status.HOLDS else None, "USD", None, (), "")


def test_a_draft_that_holds_alone_is_no_success_nor_is_one_that_diverged_a_failure() -> None:
    assert check_status([verdict("d", Status.HOLDS), verdict("c", Status.NO_DATA)], frozenset({"d"})) == 4
    assert check_status([verdict("d", Status.DIVERGED), verdict("c", Status.HOLDS)], frozenset({"d"})) == 0
    assert check_status([verdict("d", Status.DIVERGED), verdict("c", Status.HOLDS)]) == 1
