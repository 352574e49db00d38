"""What the dashboard tells the user in toasts: on opening, on each state's new alerts, on a broken narrative
file, and once when nothing answers."""

from __future__ import annotations

from typing import Any

from textual.app import App

from tui.core.config import Settings
from tui.core.judge.engine import DashboardState
from tui.core.narratives.claims import Narratives
from tui.core.printable import printable
from tui.ui.feed import Feed

TOASTS_AT_ONCE = 4  # a burst of alerts shows this many toasts at most


def opening(app: App[Any], feed: Feed, settings: Settings, problems: tuple[str, ...]) -> None:
    """On opening: the values set aside on reading the file, the user's broken narrative files, and the config's
    warnings (printed before the screen opened, so said here again)."""
    if feed.file_warnings:
        first = printable(feed.file_warnings[0])
        more = f" (and {len(feed.file_warnings) - 1} more: `tapecheck check --snapshot` lists them)" \
            if len(feed.file_warnings) > 1 else ""
        app.notify(f"{first}{more}", title="Disputed values set aside", severity="warning", timeout=15)
    narrative_problems(app, problems)
    for warning in settings.warnings:
        app.notify(printable(warning), title="Config", severity="warning", timeout=20)
    if settings.theme not in app.available_themes:
        app.notify(f"no theme {settings.theme!r}: the default is used. Themes: "
                   + ", ".join(sorted(app.available_themes)), title="Config", severity="warning", timeout=20)


def narrative_problems(app: App[Any], problems: tuple[str, ...]) -> None:
    """A broken narrative file of the user's: the rest is loaded; this says which and where."""
    if problems:
        shown = "\n".join(printable(p) for p in problems[:6])
        more = f"\n… and {len(problems) - 6} more (tapecheck lint FILE shows each)" if len(problems) > 6 else ""
        app.notify(f"{shown}{more}\nThe rest is loaded.", title="A narrative file of yours has problems",
                   severity="error", timeout=30, markup=False)  # "[claims.rule]" is no markup


def narratives_reloaded(app: App[Any], before: Narratives, narratives: Narratives) -> None:
    """The user's narrative files were read again: how many claims they hold now, what changed, what is broken."""
    was = {c.id for c in before.claims if c.user}
    now = {c.id for c in narratives.claims if c.user}
    added, removed = len(now - was), len(was - now)
    changes = ", ".join(([f"{added} new"] if added else []) + ([f"{removed} gone"] if removed else []))
    app.notify(f"Your narrative files changed: {len(now)} claims from them{f' ({changes})' if changes else ''}.",
               title="Narratives reloaded", timeout=5)
    narrative_problems(app, narratives.problems)


def new_alerts(app: App[Any], state: DashboardState, bell: bool) -> None:
    """The alerts new since the last state, one toast each (a burst: the first few, and how many more), with
    the bell if [display] bell. LIVE, they are the collector's, so every dashboard shows the same."""
    new = state.new_alerts
    if new and bell:
        app.bell()
    shown = new if len(new) <= TOASTS_AT_ONCE else new[-(TOASTS_AT_ONCE - 1):]
    for alert in shown:
        app.notify(printable(f"{alert.subject}: {alert.change}\n{alert.message}", keep_newlines=True),
                   title=alert.title, severity="warning" if alert.serious else "information", timeout=10)
    if len(shown) < len(new):
        app.notify(f"and {len(new) - len(shown)} more alerts: press ! to see them all", title="Alerts",
                   severity="warning", timeout=10)


def nothing_answers(state: DashboardState) -> bool:
    """Every live source has failed and nothing is stored: worth saying rather than showing empty panels."""
    live = [h for h in state.health if h.kind not in ("history", "alerts")]
    if not live or any(h.last_success or not h.failures for h in live):
        return False
    return all(v.status in ("no_data", "context") for v in state.verdicts.values())


NOTHING_ANSWERS = ("No source has answered yet and the store is empty, so every claim shows no data. Press s to see "
                   "why each source fails, or D to watch the demo instead (synthetic data; also: tapecheck --demo).")
