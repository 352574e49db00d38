"""The header line's contents: the mode, the clock, the sources' pills, the counts and the collector's alarm."""

from __future__ import annotations

import weakref
from datetime import datetime, timedelta

from tui.core import format as fmt
from tui.core.judge.engine import DashboardState
from tui.core.words import WRONG_THEN
from tui.ui.viewer import Viewer
from widgets.header_line import HeaderLine, Pill

_ticked: weakref.WeakKeyDictionary[HeaderLine, tuple[str, str]] = weakref.WeakKeyDictionary()


def show_header(header: HeaderLine, viewer: Viewer) -> None:
    """Fill `header` from the viewer's state and feed."""
    feed, state = viewer.feed, viewer.state
    now = feed.clock()
    # To the minute when the clock is the wall's (a clock ticking seconds would be most of an idle dashboard's
    # output over SSH; the ages show that data flows). A clock on the data's time shows its date and seconds.
    real_clock = feed.mode == "LIVE" or feed.taken_at is not None  # today's date says nothing: the data's does
    clock = (f"{now:%H:%M} UTC", f"{now:%H:%M}") if real_clock else (f"{now:%Y-%m-%d %H:%M:%S} UTC",
                                                                      f"{now:%m-%d %H:%M}")
    if _ticked.get(header) != clock:  # a new minute, on the wall's clock
        _ticked[header] = clock
        header.tick(*clock)
    pills = []
    alarm = ""
    if state is not None:
        for health in state.health:
            if health.kind == "history" or (health.kind == "alerts" and health.state != "failing"):
                continue  # daily-history jobs and a working alert command are on the sources screen only
            age = None if health.last_success is None else (now - health.last_success).total_seconds()
            note = fmt.age(age) if age is not None and age >= 60 else ""  # a fresh source needs no age
            missing = any("not listed" not in item for item in health.partial)  # an unquoted symbol, a refusal
            state_word = "partial" if health.state == "ok" and (health.refused or health.disputed or missing) \
                else health.state
            pills.append(Pill(health.source, state_word, note))
        collector = state.collector
        if collector is not None and not collector.running and feed.collector_starting():
            alarm = "collector starting"
        elif collector is not None and not collector.running:  # since when it stopped, where the store says
            since = collector.down_since
            alarm = "collector down" + (f" since {since.astimezone():%H:%M}" if since is not None else "")
    flagged, short = counts(state)
    shown = (mode_text(viewer), flagged, tuple(pills), alarm, mode_text(viewer, short=True), short,
             alarm.split(" since ")[0])
    if _shown.get(header) != shown:  # once a second: most seconds nothing but the clock moves, if that
        _shown[header] = shown
        header.show(mode=shown[0], flagged=shown[1], pills=shown[2], alarm=shown[3], mode_short=shown[4],
                    flagged_short=shown[5], alarm_short=shown[6])


def header_due(viewer: Viewer, now: datetime) -> datetime | None:
    """When the header may next read otherwise with no new state: the clock's next minute, or a source's age
    (shown from a minute on, by the minute) turning, looked at up to a second late as a clock ticking each second
    would (a source polled each minute is then most often polled again first, and its pill stays as it is); None
    when the clock shows seconds (the data's own time)."""
    feed, state = viewer.feed, viewer.state
    if not (feed.mode == "LIVE" or feed.taken_at is not None):
        return None
    due = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    for health in state.health if state is not None else ():
        if health.last_success is not None:
            age = (now - health.last_success).total_seconds()
            due = min(due, health.last_success + timedelta(seconds=max(60.0, (age // 60 + 1) * 60) + 1.0))
    return due


Shown = tuple[str, str, tuple[Pill, ...], str, str, str, str]  # what show() was given last
_shown: weakref.WeakKeyDictionary[HeaderLine, Shown] = weakref.WeakKeyDictionary()
_counted: list[tuple[DashboardState, tuple[str, str]]] = []  # the last state's counts: a state is read each second


def counts(state: DashboardState | None) -> tuple[str, str]:
    """The header's counts, long and short: `8 diverged (3 ours) · 2 wrong then · 1 alert`, `8 div · 2 wrong`."""
    if state is None:
        return "", ""
    if _counted and _counted[0][0] is state:
        return _counted[0][1]
    alerts = f"{state.unacked} alert{'s' if state.unacked > 1 else ''}"
    diverged, wrong_then = state.diverged_now, state.wrong_then
    flagged = " · ".join(([str(diverged)] if diverged.total else [])
                         + ([f"{wrong_then} {WRONG_THEN}"] if wrong_then else [])
                         + ([alerts] if state.unacked else []))
    short = " · ".join(([f"{diverged.total} div"] if diverged.total else [])
                       + ([f"{wrong_then} wrong"] if wrong_then else [])
                       + ([alerts] if state.unacked else []))
    _counted[:] = [(state, (flagged, short))]
    return flagged, short


def mode_text(viewer: Viewer, short: bool = False) -> str:
    """The header's mode: `REPLAY ×60 45% (paused)`; `short`, for a narrow terminal: `REPLAY 45% ‖`."""
    feed, state = viewer.feed, viewer.state
    text = feed.mode
    if feed.taken_at is not None and not short:  # the clock is the real one: the header says when the data is from
        text += f" {feed.taken_at:%Y-%m-%d %H:%M}"
    if feed.mode == "DEMO" and not short:
        text = "DEMO — synthetic data"
    elif feed.replay is not None and not short and feed.mode != "DEMO":
        text = f"REPLAY ×{feed.replay.speed:g}" if feed.replay.speed else "REPLAY (fast)"
    paused = " ‖" if short else " (paused)"
    if feed.replay is not None:
        text += f" {feed.replay.progress:.0%}" + (" (end)" if feed.replay.finished and not short else "")
        text += paused if feed.replay.paused else ""
    if state is not None and state.collector is not None and state.collector.running \
            and state.collector.info is not None and state.collector.info.paused:
        who = state.collector.paused_by
        text += f" (paused by {who})" if who and not short else paused
    store = feed.store
    if feed.mode == "LIVE" and store is not None and store.problem:  # a PostgreSQL server away
        # or the file removed or replaced under us: what is shown is a ghost's, said so
        if store.ghost():
            return text + (" · file gone" if short else " · store file gone")
        return text + (" · unreachable" if short else " · store unreachable")
    return text
