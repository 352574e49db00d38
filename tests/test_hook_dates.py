"""The alert hook's JSON: a date claim's value and level are ISO dates, never day ordinals (739522.0)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from tests.test_alerts import WRITER, command_config
from tui.collect.alerting import Alerting
from tui.core.model import Alert
from tui.core.narratives.claims import load_narratives
from tui.core.store.sqlite import Store


async def test_the_hook_receives_iso_dates_for_a_date_claim(tmp_path: Path) -> None:
    out = tmp_path / "hook.jsonl"
    settings = command_config(tmp_path, [sys.executable, "-c", WRITER, str(out)])
    store = Store(tmp_path / "s.sqlite")
    said, claimed = date(2026, 3, 2), date(2025, 12, 31)
    alert = Alert(1, datetime(2026, 3, 2, 9, 0, tzinfo=UTC), "claim", "a-date-claim", "holds", "diverged",
                  "off +61 days", float(said.toordinal()), float(claimed.toordinal()), "date")
    assert await Alerting(settings, load_narratives(), store).deliver(alert) == "ok"
    payload = json.loads(out.read_text())
    assert (payload["value"], payload["level"], payload["unit"]) == ("2026-03-02", "2025-12-31", "date")
    assert payload["at"] == "2026-03-02T09:00:00Z"
    priced = Alert(2, alert.at, "rule", "BTC under 70k", "clear", "met", "69,000 < 70,000", 69_000.0, 70_000.0, "USD")
    assert (priced.json()["value"], priced.json()["level"]) == (69_000.0, 70_000.0)  # a price stays a number
    store.close()
