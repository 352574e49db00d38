"""The dashboard's modes seen by the user: what `r` says where nothing is fetched, `D` to the demo and back
(through the real command in a pty, live store included), and the date of the data in every mode's header."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.widgets import DataTable

from tests.conftest import DATA
from tests.pilot import shown, until
from tests.test_terminal import Terminal
from tui.core.config import load_settings
from tui.core.judge.engine import DashboardState
from tui.core.narratives.claims import load_narratives
from tui.core.store.sqlite import Store
from tui.ui.app import TapecheckApp, demo_app, replay_app, snapshot_app
from widgets.header_line import HeaderClock, HeaderStatus

NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)
SNAPSHOT = DATA / "snapshot.jsonl"


def header(app: TapecheckApp) -> str:
    return f"{app.screen.query_one(HeaderStatus).mode} | {app.screen.query_one(HeaderClock).time}"


def apps() -> dict[str, TapecheckApp]:
    settings, narratives = load_settings(), load_narratives()
    return {"SNAPSHOT": snapshot_app(settings, narratives, SNAPSHOT, NOW),
            "REPLAY": replay_app(settings, narratives, SNAPSHOT, 0),
            "DEMO": demo_app(settings, narratives)}


@pytest.mark.parametrize("mode", ["SNAPSHOT", "REPLAY", "DEMO"])
async def test_refresh_says_why_nothing_is_fetched(mode: str) -> None:
    tapecheck = apps()[mode]
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        await pilot.press("r")
        await until(pilot, lambda: any("nothing is polled" in n.message for n in tapecheck._notifications),
                    "the refresh notice")
        notice = next(n for n in tapecheck._notifications if "nothing is polled" in n.message)
        assert notice.message.startswith(f"{mode} mode") and tapecheck.feed.source_note in notice.message


@pytest.mark.parametrize(("mode", "shows"), [
    ("SNAPSHOT", "SNAPSHOT | 2026-01-26 06:00:00 UTC"),  # its --now
    ("REPLAY", "| 2026-01-2"),  # the tape's own clock, with its date
    ("DEMO", "| 2026-0"),  # the demo's clock: late January to early February 2026
])
async def test_the_header_shows_the_datas_date(mode: str, shows: str) -> None:
    tapecheck = apps()[mode]
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        await until(pilot, lambda: shows in header(tapecheck), f"{shows!r} in the header")


async def test_a_snapshot_on_the_real_clock_says_when_its_data_is_from() -> None:
    tapecheck = snapshot_app(load_settings(), load_narratives(), SNAPSHOT)
    async with tapecheck.run_test(size=(120, 40)) as pilot:
        await shown(pilot, tapecheck)
        await until(pilot, lambda: header(tapecheck).startswith("SNAPSHOT 2026-01-26 05:59 | "), "the snapshot's date")
        assert re.fullmatch(r"SNAPSHOT 2026-01-26 05:59 \| \d\d:\d\d UTC", header(tapecheck))  # the wall clock, to the minute


async def test_d_goes_to_the_demo_and_back() -> None:
    first = snapshot_app(load_settings(), load_narratives(), SNAPSHOT, NOW)
    async with first.run_test(size=(120, 40)) as pilot:
        await shown(pilot, first)
        snapshot = first.feed
        await pilot.press("L", "D")  # in Chinese, then to the demo: another engine in this same app
        await until(pilot, lambda: first.feed.mode == "DEMO" and first.state is not None, "the demo's first state")
        notice = next(n for n in first._notifications if n.title == "DEMO")
        assert "Press D to go back to the snapshot" in notice.message
        assert first.engine is not snapshot.engine and first.lang == "zh"
        dashboard = first.dashboard
        assert dashboard is not None
        await until(pilot, lambda: dashboard.first_shown and dashboard.shown is first.state, "the demo's panels")
        state = first.state
        assert state is not None
        demo_btc = next(r for v in state.views for r in v.series if r.series == "crypto:BTC/USD:last")
        cells = [str(c) for c in dashboard.query_one("#series-btc_mining", DataTable).get_row("crypto:BTC/USD:last")]
        assert demo_btc.value_text in cells and "71,200.00 USD" not in cells  # the demo's value, not the snapshot's
        await until(pilot, lambda: header(first).startswith("DEMO — synthetic data"), "the demo in the header")
        await pilot.press("D")
        await until(pilot, lambda: first.feed is snapshot and first.state is not None, "the snapshot again")
        await until(pilot, lambda: header(first) == "SNAPSHOT | 2026-01-26 06:00:00 UTC", "the snapshot's header")
        assert first.is_running and first.lang == "zh" and first.state is not None and first.state.now == NOW


async def test_d_from_a_page_shows_nothing_of_the_feed_left() -> None:
    """A state that came while the dashboard was hidden behind a page is the old feed's: D from that page brings
    the dashboard back without it."""
    first = snapshot_app(load_settings(), load_narratives(), SNAPSHOT, NOW)
    async with first.run_test(size=(120, 40)) as pilot:
        await shown(pilot, first)
        dashboard = first.dashboard
        assert dashboard is not None
        await pilot.press("s")
        await until(pilot, lambda: first.screen is not dashboard, "the sources page")
        first.build_state()  # a snapshot's state, kept by the hidden dashboard
        await until(pilot, lambda: dashboard.owed is not None, "a state owed to the hidden dashboard")
        old = dashboard.owed
        shown_states = []
        show_state = dashboard.show_state

        def showing(state: DashboardState) -> None:
            shown_states.append(state)
            show_state(state)

        dashboard.show_state = showing  # type: ignore[method-assign]
        await pilot.press("D")
        await until(pilot, lambda: first.feed.mode == "DEMO" and first.screen is dashboard, "the demo's dashboard")
        await until(pilot, lambda: dashboard.first_shown and dashboard.shown is first.state, "the demo's panels")
        assert dashboard.owed is None and all(state is not old for state in shown_states)  # the snapshot's, never shown


async def test_d_in_a_demo_asked_for_on_the_command_line_stays_and_says_so() -> None:
    demo = demo_app(load_settings(), load_narratives())
    async with demo.run_test(size=(120, 40)) as pilot:
        await shown(pilot, demo)
        await pilot.press("D")
        await until(pilot, lambda: any("demo already" in n.message for n in demo._notifications), "the notice")
        assert demo.is_running


async def test_a_replay_comes_back_where_it_was() -> None:
    first = replay_app(load_settings(), load_narratives(), SNAPSHOT, 1)
    async with first.run_test(size=(120, 40)) as pilot:
        await shown(pilot, first)
        await pilot.press("full_stop", "full_stop")  # two steps on, paused
        replay = first.replay
        assert replay is not None and replay.paused
        where = replay.clock()
        await pilot.press("D")
        await until(pilot, lambda: first.feed.mode == "DEMO", "the demo")
        assert first.replay is not replay
        await pilot.press("D")
        await until(pilot, lambda: first.replay is replay and first.state is not None, "the replay again")
        assert replay.clock() == where and replay.paused and first.state is not None and first.state.now == where


@pytest.mark.parametrize("mode", ["snapshot", "live"])
def test_d_and_back_through_the_command(tmp_path: Path, mode: str) -> None:
    """The real command in a pty: D shows the demo, D again the same dashboard as before (its store
    reopened, for the live one, without a second collector)."""
    if mode == "live":
        store = tmp_path / "s.sqlite"
        Store(store).close()
        args, before = ["--store", str(store), "--no-collector"], b"LIVE"
    else:
        args, before = ["--snapshot", str(SNAPSHOT), "--now", "2026-01-26T06:00:00Z"], b"SNAPSHOT"
    term = Terminal(tmp_path, args, {})
    try:
        term.wait_for(before, 120)
        term.output = b""
        os.write(term.master, b"D")
        term.wait_for(b"DEMO", 120)
        term.wait_for(b"Press D to go back", 120)
        term.output = b""
        os.write(term.master, b"D")
        term.wait_for(before, 120)
        assert b"DEMO" not in term.output.split(before)[-1][:200]
        os.write(term.master, b"q")
        assert term.wait_exit(120) == 0
    finally:
        term.close()
