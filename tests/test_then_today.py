"""A claim made today (the rule console's, dated today) is judged on its date only after that day's close: before,
its then-verdict is no data, and nothing is kept for it (an intraday value is never its day's)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from tests.conftest import obs
from tui.core.config import load_settings
from tui.core.judge.then import judge_then
from tui.core.model import Status
from tui.core.narratives.claims import load_narratives
from tui.core.store.sqlite import Store

TESLA = "bb-tesla-btc-11509-over-1bn"


def test_a_claim_dated_today_waits_for_the_close(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    claim = replace(load_narratives().claim(TESLA), as_of=now.date())
    store = Store(tmp_path / "s.sqlite")
    store.append([obs("crypto:BTC/USD:last", 50_000, now, "kraken")])  # intraday: it would read WRONG
    then = judge_then([claim], store, load_settings(), store)
    assert then[TESLA].status is Status.NO_DATA and "has not closed yet" in then[TESLA].explanation
    assert TESLA not in store.then_verdicts()
    store.close()
