"""Replaying tapes: the virtual clock, its speed, pause and step, and the dashboard driven by it; the demo."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import obs
from tests.pilot import shown, until
from tui.core.config import load_settings
from tui.core.demotape import DEMO_START, DEMO_TAPE
from tui.core.judge.view import make_context
from tui.core.model import Observation, Status, TapecheckError
from tui.core.narratives.claims import load_narratives
from tui.core.narratives.rules.evaluate import at as value_at
from tui.core.replay import Replay
from tui.core.snapshot import format_observation, read_observations
from tui.core.store.sqlite import Store
from tui.ui.app import TapecheckApp, demo_app, live_app, replay_app
from tui.ui.feed import REPLAY_TICK_S
from widgets.header_line import HeaderClock, HeaderStatus


def verdict(app: TapecheckApp, claim_id: str) -> Status:
    assert app.state is not None
    return app.state.verdicts[claim_id].status

T0 = datetime(2026, 1, 26, 5, 0, tzinfo=UTC)
HASHRATE = "network:bitcoin:hashrate"


def tape_rows() -> list[Any]:
    """The hashrate at 1.05 ZH/s, dipping to 0.95 at 05:30 and back to 1.2 at 06:30; a day's history before."""
    return [obs(HASHRATE, 1.05e21, T0), obs(HASHRATE, 0.95e21, T0 + timedelta(minutes=30)),
            obs(HASHRATE, 1.2e21, T0 + timedelta(minutes=90)), obs(HASHRATE, 1.0e21, T0 - timedelta(days=1))]


def test_replay_starts_at_the_first_line_and_knows_what_came_before() -> None:
    replay = Replay(tape_rows(), speed=60)
    assert replay.now == T0 and replay.end == T0 + timedelta(minutes=90)
    assert [o.value for o in replay.tape.latest(HASHRATE, replay.now)] == [1.05e21]
    assert replay.tape.daily(HASHRATE, replay.now)[0][1] == 1.0e21  # the day before is history, known at once


def test_speed_moves_the_clock_n_times_faster() -> None:
    replay = Replay(tape_rows(), speed=60)
    assert replay.advance(10) is False  # 10 real seconds = 10 virtual minutes: no new line yet
    assert replay.now == T0 + timedelta(minutes=10)
    assert replay.advance(20) is True  # to 05:30, the dip
    assert replay.now == T0 + timedelta(minutes=30)
    replay.advance(3600)
    assert replay.now == replay.end and replay.finished and replay.progress == 1.0
    assert replay.advance(1) is False


def test_speed_zero_steps_through_every_timestamp_in_order() -> None:
    replay = Replay(tape_rows(), speed=0)
    seen = []
    while replay.advance(0):
        seen.append(replay.now)
    assert seen == [T0 + timedelta(minutes=30), T0 + timedelta(minutes=90)]


def test_pause_holds_the_clock_and_step_moves_one_timestamp() -> None:
    replay = Replay(tape_rows(), speed=3600)
    replay.paused = True
    assert replay.advance(100) is False and replay.now == T0
    assert replay.step() and replay.now == T0 + timedelta(minutes=30)
    assert replay.step() and replay.now == T0 + timedelta(minutes=90)
    assert replay.step() is False


def test_a_rule_cannot_see_past_the_clock() -> None:
    """at() on the current day sees only what the tape holds up to now, not the day's later values."""
    replay = Replay(tape_rows(), speed=1)
    ctx = make_context(replay.tape, replay.now, load_settings())
    assert value_at(ctx, HASHRATE, T0.date()).value == 1.05e21


def test_replay_refuses_an_empty_tape_and_a_negative_speed() -> None:
    with pytest.raises(TapecheckError, match="no observations"):
        Replay([], 1)
    with pytest.raises(TapecheckError, match="from 0 to"):
        Replay(tape_rows(), -1)


def write_tape(path: Path) -> Path:
    path.write_text("".join(format_observation(o) + "\n" for o in tape_rows()))
    return path


async def test_replay_drives_the_dashboard_with_pause_step_and_flip_notices(tmp_path: Path) -> None:
    app = replay_app(load_settings(), load_narratives(), write_tape(tmp_path / "tape.jsonl"), speed=0)
    app.replay.paused = True  # type: ignore[union-attr]
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot, app)
        app.tick()
        header, clock = app.screen.query_one(HeaderStatus), app.screen.query_one(HeaderClock)
        assert header.mode.startswith("REPLAY (fast) 0%") and header.mode.endswith("(paused)")
        assert clock.time == "2026-01-26 05:00:00 UTC"
        assert verdict(app, "wu-hashrate-above-1zh") is Status.HOLDS
        await pilot.press("full_stop")  # step: the dip below 1 ZH/s
        await until(pilot, lambda: verdict(app, "wu-hashrate-above-1zh") is Status.DIVERGED, "the dip")
        assert clock.time == "2026-01-26 05:30:00 UTC"
        assert any("wu-hashrate-above-1zh: holds → diverged" in n.message for n in app._notifications)
        assert app.state is not None
        assert app.state.flips["wu-hashrate-above-1zh"][0].line.startswith("2026-01-26 05:30:00 UTC: holds → diverged")
        await pilot.press("p")  # resume: at speed 0 it runs to the end
        await until(pilot, lambda: app.replay is not None and app.replay.finished, "the end of the tape")
        await until(pilot, lambda: verdict(app, "wu-hashrate-above-1zh") is Status.HOLDS, "the recovery")
        app.tick()
        assert "(end)" in header.mode
        assert any("End of the tape" in n.message for n in app._notifications)


async def test_replay_at_speed_follows_the_tape_in_real_time(tmp_path: Path) -> None:
    """The clock moves by the real time that passed × the speed, counted from the moment of resuming (never the
    time it stood paused), and the verdicts follow the clock."""

    speed = 600.0  # ten virtual minutes per real second
    app = replay_app(load_settings(), load_narratives(), write_tape(tmp_path / "tape.jsonl"), speed=speed)
    replay = app.replay
    assert replay is not None
    replay.paused = True
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot, app)
        assert replay.now == T0  # paused from the start: no time counted while it stood
        started = time.monotonic()
        replay.paused = False
        await until(pilot, lambda: replay.now >= T0 + timedelta(minutes=30), "the clock past the dip at 05:30")
        replay.paused = True
        wall = time.monotonic() - started
        moved = (replay.now - T0).total_seconds()
        assert 30 * 60 <= moved <= wall * speed  # never more than the real time since resuming
        stood = replay.now
        await pilot.pause(REPLAY_TICK_S * 3)
        assert replay.now == stood  # a paused clock stands
        app.build_state()
        await until(pilot, lambda: app.state is not None and not app.state.pending and app.state.now == replay.now, "a state at the clock")
        dip = replay.now < T0 + timedelta(minutes=90)  # the recovery at 06:30
        assert verdict(app, "wu-hashrate-above-1zh") is (Status.DIVERGED if dip else Status.HOLDS)


def test_a_resumed_replay_counts_from_the_resume_not_the_pause() -> None:
    """Real time that passes while a replay is paused never moves its clock, however late the next tick comes."""
    replay = Replay([Observation("crypto:BTC/USD:last", 1.0, "USD", T0 + timedelta(minutes=m), "kraken")
                     for m in range(0, 120, 5)], speed=60.0)
    replay.catch_up(1000.0)  # marks the moment
    assert replay.catch_up(1010.0)  # ten real seconds: ten virtual minutes
    assert replay.now == T0 + timedelta(minutes=10)
    replay.paused = True
    assert not replay.catch_up(5000.0) and replay.now == T0 + timedelta(minutes=10)
    replay.paused = False  # resumed now (monotonic): the next tick counts from here, not from 1010 or 5000
    resumed = time.monotonic()
    replay.catch_up(resumed + 1.0)
    assert T0 + timedelta(minutes=11) <= replay.now < T0 + timedelta(minutes=11, seconds=6)


async def test_the_demo_says_it_is_synthetic_and_flips(tmp_path: Path) -> None:
    app = demo_app(load_settings(), load_narratives(), minutes=0.05)  # the whole demo in 3 s
    async with app.run_test(size=(120, 40)) as pilot:
        await shown(pilot, app)
        assert app.screen.query_one(HeaderStatus).mode.startswith("DEMO — synthetic data")
        assert app.store is None and app.replay is not None and app.replay.start == DEMO_START
        assert app.state is not None
        assert app.state.then["tmt-junda-20cm-limit-up-0123"].status is Status.HOLDS  # its own date, from the tape
        replay = app.replay
        await until(pilot, lambda: replay.finished, "the end of the demo")  # 3 s of real time, more when loaded
        await until(pilot, lambda: app.state is not None and not app.state.pending and app.state.now == replay.now, "the last state")
        flipped = {n.message.split(":")[0] for n in app._notifications if "→ diverged" in n.message}
        assert {"bb-tesla-btc-11509-over-1bn", "wu-hashrate-above-1zh", "tmt-junda-holds-above-9944"} <= flipped


def test_demo_data_never_enters_the_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    demo = read_observations(DEMO_TAPE)
    with pytest.raises(TapecheckError, match="demo data never enters the store"):
        store.append(demo[:10])
    with pytest.raises(TapecheckError):  # one synthetic row spoils the batch: nothing of it is written
        store.append([obs(HASHRATE, 1e21, T0, "mempool"), demo[0]])
    assert store.count() == 0
    store.close()


async def test_live_with_nothing_answering_offers_the_demo(tmp_path: Path) -> None:
    from tui.core.model import Health

    store = Store(tmp_path / "s.sqlite")
    store.save_health(Health("binance", "crypto", None, "connection refused", datetime.now(UTC), None, 2,
                                   None, "failing"))
    app = live_app(load_settings(), load_narratives(), Store(store.path, read_only=True))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.told_nothing_answers, "the notice")
        notice = next(n for n in app._notifications if n.title == "Nothing to show yet")
        assert "D to watch the demo" in notice.message and "tapecheck --demo" in notice.message
        live = app.feed
        await pilot.press("D")  # the demo, in this same app: its own feed, no store
        await until(pilot, lambda: app.feed.mode == "DEMO" and app.state is not None, "the demo's first state")
        assert app.is_running and app.store is None and not live.running
    store.close()


def test_the_demo_tape_reads_through_the_snapshot_reader() -> None:
    rows = read_observations(DEMO_TAPE)
    assert rows and {o.source for o in rows} == {"demo"}
    assert json.loads(format_observation(rows[0]))["source"] == "demo"
