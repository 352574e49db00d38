"""The Alerts screen (`!`): every alert the collector fired, newest first: when, which claim or rule, from what
to what, why, how its delivery went, and whether someone acknowledged it.

Acknowledging (`enter` on one, `A` for all) is shared: a viewer's store is read-only, so the ack is a request
left in the store, as `r` and `p` are, and the collector (the alerts' one writer) records it; every dashboard
then shows it acknowledged, and an ack made while no collector runs is recorded when one starts. Until the
collector has recorded it, this viewer shows it acknowledged already. In a replay or the demo, alerts and acks
live in the viewer alone.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from tui.core.judge.engine import DashboardState
from tui.core.model import Alert
from tui.core.printable import printable
from tui.ui.messages import AlertAcknowledged
from tui.ui.screens.base import StateScreen
from widgets.footer import Footer
from widgets.header_line import HeaderLine
from widgets.table import KeyTable


def alert_row(alert: Alert, now: datetime) -> tuple[str | Text, ...]:
    same_day = alert.at.date() == now.date()
    when = f"{alert.at:%H:%M:%S}" if same_day else f"{alert.at:%Y-%m-%d %H:%M}"
    style = "bold" if alert.serious and not alert.acked else ""
    delivery = alert.delivery if alert.delivery in ("", "ok") else Text("failed", style="bold italic")  # why: below
    return (when, "✓" if alert.acked else "new", Text(printable(alert.subject), style=style),
            Text(alert.change.upper() if alert.serious else alert.change, style=style), delivery,
            Text(printable(alert.message), overflow="ellipsis"))


def alert_detail(alert: Alert) -> str:
    """Everything about one alert, for the line under the table: the table cuts the reason on a narrow screen."""
    kind = "claim" if alert.kind == "claim" else "your rule"
    delivery = f" · command: {alert.delivery}" if alert.delivery else ""
    acked = " · acknowledged" if alert.acked else ""
    return printable(f"{alert.at:%Y-%m-%d %H:%M:%S} UTC · {kind} {alert.subject}: {alert.change}\n"
                     f"{alert.message}{delivery}{acked}", keep_newlines=True)


class AlertsScreen(StateScreen):
    """The alert log, newest first, following the app's state; acknowledge one or all."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back"),
                Binding("enter", "acknowledge", "Acknowledge"),
                Binding("A", "acknowledge_all", "Acknowledge all"),
                Binding("j", "cursor_down", "Down", show=False), Binding("k", "cursor_up", "Up", show=False)]

    def __init__(self) -> None:
        super().__init__()
        self.alerts: tuple[Alert, ...] | None = None

    def compose(self) -> ComposeResult:
        yield HeaderLine()
        yield Static("", id="alerts-title")
        table = KeyTable(id="alerts", cursor_type="row", zebra_stripes=False)
        table.add_columns("time UTC", "ack", "claim or rule", "change", "command", "why")
        yield table
        yield Static("", id="alert-detail")
        yield Footer()

    def show_state(self, state: DashboardState) -> None:
        if state.alerts == self.alerts or not self.query("#alerts"):
            return
        self.alerts = state.alerts
        table = self.query_one("#alerts", DataTable)
        cursor = table.cursor_row
        table.clear()
        for alert in state.alerts:
            table.add_row(*alert_row(alert, state.now), key=str(alert.id))
        if state.alerts:
            table.move_cursor(row=min(cursor, len(state.alerts) - 1))
        table.focus()
        self.show_detail()
        waiting = f"{state.unacked} not acknowledged" if state.unacked else "all acknowledged"
        title = (f"Alerts: {len(state.alerts)} newest first, {waiting} · enter acknowledges one, A all"
                 if state.alerts else "Alerts: none yet. Verdict flips and your [[alerts.rules]] show here.")
        feed = self.viewer.feed
        if feed.store is None:  # a replay, a snapshot or the demo: judged here, delivered nowhere
            title += (f"\n{feed.mode} mode: the alert command and desktop notifications do not run here; "
                      "only a collector runs them")
        self.query_one("#alerts-title", Static).update(Text(title, style="bold"))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        table = self.query_one("#alerts", DataTable)
        alerts = self.alerts or ()
        shown = alert_detail(alerts[table.cursor_row]) if 0 <= table.cursor_row < len(alerts) else ""
        self.query_one("#alert-detail", Static).update(shown)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()  # the app opens claims from the dashboard's tables; here enter acknowledges
        self.action_acknowledge()

    def action_acknowledge(self) -> None:
        table = self.query_one("#alerts", DataTable)
        if self.alerts and 0 <= table.cursor_row < len(self.alerts):
            self.post_message(AlertAcknowledged(self.alerts[table.cursor_row].id))

    def action_acknowledge_all(self) -> None:
        if self.alerts:
            self.post_message(AlertAcknowledged(self.alerts[0].id, through=True))

    def action_cursor_down(self) -> None:
        self.query_one("#alerts", DataTable).action_cursor_down()

    def action_cursor_up(self) -> None:
        self.query_one("#alerts", DataTable).action_cursor_up()
