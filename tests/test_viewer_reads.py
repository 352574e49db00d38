"""A viewer reads the store as little as it can: one state per burst of commits, past days' closes kept between
states, the alert log and the health read only when they changed. Counted, never timed."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from tests.conftest import DATA, NOW, obs
from tui.core.config import load_settings
from tui.core.judge.engine import DashboardState, Engine
from tui.core.judge.watch import StoreWatch
from tui.core.model import Alert, Health, Observation
from tui.core.narratives.claims import load_narratives
from tui.core.snapshot import read_observations
from tui.core.store.sqlite import Store

SETTINGS = load_settings()
BTC, IXIC = "crypto:BTC/USD:last", "index:^IXIC:last"


class CountingStore(Store):
    """A viewer's store that counts what it is asked."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, read_only=True)
        self.daily_reads: Counter[str] = Counter()
        self.asked: Counter[str] = Counter()
        self.at_reads: Counter[tuple[str, date]] = Counter()

    def daily(self, series: str, now: datetime) -> list[tuple[date, float]]:
        self.daily_reads[series] += 1
        return super().daily(series, now)

    def alerts(self, after: int = 0, since: datetime | None = None, limit: int = 500) -> list[Alert]:
        self.asked["alerts" if after == 0 else "alerts after"] += 1
        return super().alerts(after, since, limit)

    def health(self) -> list[Health]:
        self.asked["health"] += 1
        return super().health()

    def at(self, series: str, day: date) -> list[Observation]:
        self.at_reads[(series, day)] += 1
        return super().at(series, day)


class BurstyStore(CountingStore):
    """Each of the first `commits` waits finds a commit of the collector's (a burst, as a poll of four
    exchanges writes one)."""

    def __init__(self, path: Path, writer: Store, commits: int) -> None:
        super().__init__(path)
        self.writer, self.left = writer, commits

    def wait_for_change(self, timeout_s: float) -> bool:
        if self.left:
            self.left -= 1
            self.writer.append([obs(BTC, 90_000.0 + self.left, NOW - timedelta(seconds=self.left), "kraken")])
        return super().wait_for_change(timeout_s)


def a_store(tmp_path: Path) -> tuple[Path, Store]:
    path = tmp_path / "s.sqlite"
    writer = Store(path)
    writer.append(read_observations(DATA / "snapshot.jsonl"))
    return path, writer


def watch_burst(tmp_path: Path, commits: int, burst_s: float, states_wanted: int) -> tuple[StoreWatch,
                                                                                            list[DashboardState]]:
    path, writer = a_store(tmp_path)
    viewer = BurstyStore(path, writer, commits)
    engine = Engine(load_narratives(), SETTINGS, viewer, lambda: NOW, store=viewer)
    states: list[DashboardState] = []
    problems: list[str] = []
    watch = StoreWatch(engine, viewer, states.append, problems.append, gather_s=0.05, burst_s=burst_s,
                       quiet_s=3600, watch_s=0.05)
    watch.run(lambda: watch.states >= states_wanted or bool(problems))
    assert not problems
    return watch, states


def btc_value(state: DashboardState) -> float | None:
    return next(r.value for v in state.views for r in v.series if r.series == BTC)


def test_a_burst_of_commits_builds_one_state(tmp_path: Path) -> None:
    watch, states = watch_burst(tmp_path, commits=5, burst_s=3600, states_wanted=2)
    assert watch.states == 2  # the first state, then one for the whole burst
    assert len(states) == 3 and states[0].pending  # (and before them, the first frame's, judging nothing)
    assert watch.commits_gathered == 4
    assert any(o.source == "kraken" and o.value == 90_000.0 for o in watch.engine.latest(BTC)[0])


def test_without_gathering_each_commit_builds_a_state(tmp_path: Path) -> None:
    """The same burst, cut at once: a state per commit (what gathering saves)."""
    watch, _ = watch_burst(tmp_path, commits=5, burst_s=0, states_wanted=6)
    assert watch.states == 6 and watch.commits_gathered == 0


def test_past_closes_are_read_again_only_for_a_series_whose_history_changed(tmp_path: Path) -> None:
    path, writer = a_store(tmp_path)
    viewer = CountingStore(path)
    engine = Engine(load_narratives(), SETTINGS, viewer, lambda: NOW, store=viewer)
    seq = viewer.commit_seq()
    engine.build()
    assert viewer.daily_reads[BTC] == 1 and viewer.daily_reads[IXIC] == 1

    writer.append([obs(BTC, 91_234.0, NOW - timedelta(seconds=5), "kraken")])  # a poll: today's price
    seq, changed = viewer.changed_series(seq)
    assert changed == {BTC}
    engine.build(changed)
    assert viewer.daily_reads[BTC] == 1  # kept: nothing before today changed
    assert engine.closes is not None
    kept = engine.closes.daily(BTC, NOW)
    assert kept[-1] == (NOW.date(), kept[-1][1])
    assert kept == Store.daily(viewer, BTC, NOW)  # the kept closes and today's are the store's own answer

    writer.append([obs(BTC, 80_000.0, NOW - timedelta(days=1), "kraken")])  # a bar of yesterday: history changed
    seq, changed = viewer.changed_series(seq)
    engine.build(changed)
    assert viewer.daily_reads[BTC] == 2
    assert viewer.daily_reads[IXIC] == 1  # never changed: never read again
    assert engine.closes.daily(BTC, NOW) == Store.daily(viewer, BTC, NOW)


def test_the_alert_log_and_health_are_read_only_when_they_changed(tmp_path: Path) -> None:
    path, writer = a_store(tmp_path)
    first = writer.add_alerts([Alert(0, NOW, "claim", "a", "holds", "diverged", "one")])[0]
    viewer = CountingStore(path)
    engine = Engine(load_narratives(), SETTINGS, viewer, lambda: NOW, store=viewer)
    state = engine.build()
    assert viewer.asked == Counter({"alerts": 1, "health": 1}) and state.unacked == 1

    state = engine.build(quiet=True)  # nothing committed since: neither is read
    assert viewer.asked == Counter({"alerts": 1, "health": 1}) and state.unacked == 1

    second = writer.add_alerts([Alert(0, NOW, "claim", "b", "holds", "diverged", "two")])[0]
    state = engine.build()
    assert viewer.asked["alerts"] == 1 and viewer.asked["alerts after"] == 1  # only the new one was read
    assert [a.id for a in state.alerts] == [second.id, first.id] and [a.id for a in state.new_alerts] == [second.id]
    assert state.unacked == 2

    writer.ack_alerts(first.id)  # acknowledged at another desk: the list is read again
    state = engine.build()
    assert viewer.asked["alerts"] == 2
    assert state.unacked == 1 and [a.acked for a in state.alerts] == [False, True]


def test_a_past_days_bar_is_read_again_only_when_its_series_history_changed(tmp_path: Path) -> None:
    path, writer = a_store(tmp_path)
    viewer = CountingStore(path)
    engine = Engine(load_narratives(), SETTINGS, viewer, lambda: NOW, store=viewer)
    closes = engine.closes
    assert closes is not None
    day = NOW.date() - timedelta(days=3)
    first = closes.at(BTC, day)
    assert first == Store.at(viewer, BTC, day) and closes.at(BTC, day) == first
    assert viewer.at_reads[(BTC, day)] == 1  # kept
    closes.at(BTC, NOW.date())
    closes.at(BTC, NOW.date())
    assert viewer.at_reads[(BTC, NOW.date())] == 2  # today's bar is still being made: never kept

    seq = viewer.commit_seq()
    writer.append([obs(BTC, 91_234.0, NOW - timedelta(seconds=5), "kraken")])  # a poll: today's price
    closes.appended(viewer.changed_series(seq)[1])
    assert closes.at(BTC, day) == first and viewer.at_reads[(BTC, day)] == 1

    seq = viewer.commit_seq()
    writer.append([obs(BTC, 1.0, datetime.combine(day, time(12), UTC), "fetched"),  # history fetched again
                   obs(BTC, 80_000.0, NOW - timedelta(days=1), "fetched")])  # (it reaches yesterday)
    closes.appended(viewer.changed_series(seq)[1])
    assert closes.at(BTC, day) == Store.at(viewer, BTC, day) != first
    assert viewer.at_reads[(BTC, day)] == 2  # read again
