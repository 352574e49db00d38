"""The header line's contents: the mode, the clock, the sources' pills, the counts and the collector's alarm."""

from __future__ import annotations

from tui.core import format as fmt
from tui.core.words import WRONG_THEN
from tui.ui.viewer import Viewer
from widgets.header_line import HeaderLine, Pill


def show_header(header: HeaderLine, viewer: Viewer) -> None:
    """Fill `header` from the viewer's state and feed."""
    feed, state = viewer.feed, viewer.state
    now = feed.clock()
    # To the minute when the clock is the wall's (a clock ticking seconds would be most of an idle dashboard's
    # output over SSH; the ages show that data flows). A clock on the data's time shows its date and seconds.
    real_clock = feed.mode == "LIVE" or feed.taken_at is not None  # today's date says nothing: the data's does
    if real_clock:
        header.tick(f"{now:%H:%M} UTC", f"{now:%H:%M}")
    else:
        header.tick(f"{now:%Y-%m-%d %H:%M:%S} UTC", f"{now:%m-%d %H:%M}")
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
    flagged = short = ""
    if state is not None:
        alerts = f"{state.unacked} alert{'s' if state.unacked > 1 else ''}"
        flagged = " · ".join(([str(state.diverged_now)] if state.diverged else [])
                             + ([f"{state.wrong_then} {WRONG_THEN}"] if state.wrong_then else [])
                             + ([alerts] if state.unacked else []))
        short = " · ".join(([f"{state.diverged} div"] if state.diverged else [])
                           + ([f"{state.wrong_then} wrong"] if state.wrong_then else [])
                           + ([alerts] if state.unacked else []))
    header.show(mode=mode_text(viewer), flagged=flagged, pills=tuple(pills), alarm=alarm,
                mode_short=mode_text(viewer, short=True), flagged_short=short,
                alarm_short=alarm.split(" since ")[0])


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
