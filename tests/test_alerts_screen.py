"""The dashboard's side of alerts: the collector's alerts from the store are its toasts (one source for every
dashboard), the header counts those not acknowledged, `!` lists them newest first, and acknowledging is a
request the collector records for every dashboard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.widgets import DataTable

from tests.pilot import shown, until
from tui.core.config import load_settings
from tui.core.model import Alert
from tui.core.narratives.claims import load_narratives
from tui.core.store.sqlite import Store
from tui.ui.app import TapecheckApp, live_app
from tui.ui.screens.alerts import AlertsScreen
from widgets.header_line import HeaderStatus


def alert(subject: str, after: str, message: str, minutes_ago: float = 0) -> Alert:
    return Alert(0, datetime.now(UTC) - timedelta(minutes=minutes_ago), "claim", subject,
                 "holds" if after == "diverged" else "diverged", after, message, 70_000.0, 74_600.0, "USD")


def collector_and_viewer(path: Path) -> tuple[Store, TapecheckApp]:
    """A store this test writes as its collector, and a LIVE dashboard on it."""
    store = Store(path)
    assert store.try_lock_collector()
    return store, live_app(load_settings(), load_narratives(), Store(store.path, read_only=True))


async def test_alerts_toast_count_list_newest_first_and_acknowledge(tmp_path: Path) -> None:
    store, tapecheck = collector_and_viewer(tmp_path / "s.sqlite")
    old = store.add_alerts([alert("old-news", "diverged", "seen before the dashboard opened", 30)])
    async with tapecheck.run_test(size=(140, 40)) as pilot:
        await shown(pilot, tapecheck)
        assert not any("old-news" in n.message for n in tapecheck._notifications)  # the past is not news
        header = tapecheck.screen.query_one(HeaderStatus)
        await until(pilot, lambda: "1 alert" in header.flagged, "the count of alerts not acknowledged")
        fresh = store.add_alerts([alert("btc-cost", "diverged", "71,200 USD < 74,600 USD claimed (>)"),
                                  alert("tesla", "holds", "1.1B USD > 1B USD claimed (>)")])
        await until(pilot, lambda: sum(n.title in ("Verdict changed",) for n in tapecheck._notifications) == 2,
                    "a toast per new alert")
        messages = [n.message for n in tapecheck._notifications]
        assert "btc-cost: holds → diverged\n71,200 USD < 74,600 USD claimed (>)" in messages
        assert [n.severity for n in tapecheck._notifications if n.message.startswith("btc-cost")] == ["warning"]
        await until(pilot, lambda: "3 alerts" in header.flagged, "the count")

        await pilot.press("exclamation_mark")
        await until(pilot, lambda: isinstance(tapecheck.screen, AlertsScreen), "the Alerts screen")
        table = tapecheck.screen.query_one("#alerts", DataTable)
        await until(pilot, lambda: table.row_count == 3, "three rows")
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(3)]
        assert [r[2] for r in rows] == ["tesla", "btc-cost", "old-news"]  # newest first
        assert rows[1][3] == "HOLDS → DIVERGED" and rows[0][3] == "diverged → holds"
        detail = str(tapecheck.screen.query_one("#alert-detail").render())
        assert "claim tesla: diverged → holds" in detail and "1.1B USD > 1B USD claimed (>)" in detail
        assert [r[1] for r in rows] == ["new", "new", "new"]

        await pilot.press("j", "enter")  # acknowledge btc-cost
        await until(pilot, lambda: str(table.get_row_at(1)[1]) == "✓", "the ack shown at once")
        await until(pilot, lambda: [k for _, k in store.take_requests(0)] == [f"ack:{fresh[0].id}"],
                    "the ack left for the collector")
        assert store.unacked_alerts() == 3  # the collector has not recorded it yet
        await pilot.press("A")
        await until(pilot, lambda: [k for _, k in store.take_requests(0)][-1:] == [f"ack-upto:{fresh[1].id}"],
                    "ack all left for the collector")
        assert all(str(table.get_row_at(i)[1]) == "✓" for i in range(3))
        store.ack_alerts(fresh[1].id, through=True)  # what the collector does with the requests
        header = tapecheck.screen.query_one(HeaderStatus)
        await until(pilot, lambda: "alerts" not in header.flagged, "no alert left to acknowledge")
        assert store.unacked_alerts() == 0 and old[0].id < fresh[0].id
    store.close()


async def test_a_burst_of_alerts_shows_a_few_toasts_and_says_how_many_more(tmp_path: Path) -> None:
    store, tapecheck = collector_and_viewer(tmp_path / "s.sqlite")
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        store.add_alerts([alert(f"claim-{i}", "diverged", "off") for i in range(12)])
        await until(pilot, lambda: any("and 9 more alerts: press ! to see them all" in n.message
                                       for n in tapecheck._notifications), "the summary toast")
        assert sum(n.title == "Verdict changed" for n in tapecheck._notifications) == 3
    store.close()
