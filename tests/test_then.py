"""Then and now: claims judged on their own date from daily history, the cache in the store, and fetching
history once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import DATA, NOW, obs
from tui.collect.sources.base import FetchResult, SourceError
from tui.collect.sources.registry import HISTORY_OVERLAP, HistoryJob, Planned, coverage_of, resume_history
from tui.core.config import load_settings
from tui.core.judge.then import PROVISIONAL, judge_on, judge_then, move_text, read_then
from tui.core.judge.view import make_context
from tui.core.model import Claim, Status
from tui.core.narratives.claims import load_narratives
from tui.core.narratives.rules.verdict import judge
from tui.core.snapshot import read_observations
from tui.core.store.location import open_store
from tui.core.tape import MemoryTape

SETTINGS = load_settings()
CLAIMS = {c.id: c for c in load_narratives().claims}
TAPE = MemoryTape(read_observations(DATA / "snapshot.jsonl"))


def close_on(series: str, day: str) -> float:
    """The value the recorded history holds for a series at a day's close, read straight from the file."""
    rows = [o for o in read_observations(DATA / "snapshot.jsonl") if o.series == series and str(o.ts.date()) == day]
    assert len(rows) == 1
    return rows[0].value


def test_a_claim_wrong_on_its_own_date() -> None:
    """Junda closed +10.0% on 2026-01-23 (82.87 → 91.16): the article's 20% limit-up is not in the record."""
    claim = CLAIMS["tmt-junda-20cm-limit-up-0123"]
    then = judge_then([claim], TAPE, SETTINGS)[claim.id]
    assert then.status is Status.DIVERGED
    assert then.live_value == pytest.approx((91.16 / 82.87 - 1) * 100)
    assert then.deviation_pct == pytest.approx(((91.16 / 82.87 - 1) * 100 - 20) / 20 * 100)


def test_a_claim_that_held_then_and_fails_now() -> None:
    claim = CLAIMS["wu-btc-above-miner-cash-cost"]  # BTC > 74,600 USD, as of 2025-12-31
    then = judge_then([claim], TAPE, SETTINGS)[claim.id]
    assert then.status is Status.HOLDS
    assert then.live_value == close_on("crypto:BTC/USD:last", "2025-12-31")
    current = judge(claim, make_context(TAPE, NOW, SETTINGS))
    assert current.status is Status.DIVERGED and current.live_value == 71_200
    text = move_text(then, current)
    assert text is not None and text.startswith(f"{(71_200 / then.live_value - 1) * 100:+.1f}%")


def test_intraday_claims_use_that_days_bar() -> None:
    claim = CLAIMS["tmt-junda-high-9944-0123"]  # at(002865.SZ:high, 2026-01-23) ~ 99.44
    then = judge_then([claim], TAPE, SETTINGS)[claim.id]
    assert then.status is Status.HOLDS and then.live_value == 99.44


def test_a_percentage_moves_in_points() -> None:
    claim = CLAIMS["tmt-junda-still-up-250pct"]  # change since 2025-11-24, no end date: last() then and now
    then = judge_then([claim], TAPE, SETTINGS)[claim.id]
    now = judge(claim, make_context(TAPE, NOW, SETTINGS))
    assert then.live_value == pytest.approx((91.16 / 28 - 1) * 100)
    assert now.live_value == pytest.approx((85 / 28 - 1) * 100)
    assert move_text(then, now) == f"{(85 - 91.16) / 28 * 100:+.2f} percentage points"


def test_no_history_near_the_date_is_no_data() -> None:
    claim = CLAIMS["loop-oracle-one-day-36pct"]
    assert judge_then([claim], TAPE, SETTINGS)[claim.id].status is Status.NO_DATA
    assert judge_then([claim], MemoryTape([]), SETTINGS)[claim.id].status is Status.NO_DATA


def test_check_at_a_date_judges_every_claim_at_that_close() -> None:
    verdicts = {v.claim_id: v for v in judge_on(CLAIMS.values(), TAPE, date(2026, 1, 23), SETTINGS)}
    # On 2026-01-23 Junda's last value is that day's close, 91.16, not the later 85.
    assert verdicts["tmt-junda-holds-above-9944"].live_value == 91.16
    assert verdicts["wu-btc-above-miner-cash-cost"].live_value == close_on("crypto:BTC/USD:last", "2026-01-23")


def test_then_verdicts_are_cached_and_reused(location: str) -> None:
    store = open_store(location)
    store.append(read_observations(DATA / "snapshot.jsonl"))
    claims = [CLAIMS["tmt-junda-20cm-limit-up-0123"], CLAIMS["wu-btc-above-miner-cash-cost"],
              CLAIMS["loop-oracle-one-day-36pct"]]
    first = judge_then(claims, store, SETTINGS, store)
    kept = store.then_verdicts()
    final = {claim_id for claim_id, c in kept.items() if not c.fingerprint.endswith(PROVISIONAL)}
    assert final == {"tmt-junda-20cm-limit-up-0123", "wu-btc-above-miner-cash-cost"}
    # A provisional answer is kept for the viewers too (read_then), and judged again by the collector.
    assert kept["loop-oracle-one-day-36pct"].fingerprint.endswith(PROVISIONAL)
    assert set(read_then(claims, store)) == {c.id for c in claims}
    # Judged against an empty tape, the cached answers come back unchanged: nothing is evaluated again.
    again = judge_then(claims, MemoryTape([]), SETTINGS, store)
    for claim in claims[:2]:
        assert (again[claim.id].status, again[claim.id].live_value) == (first[claim.id].status,
                                                                       first[claim.id].live_value)
    assert again["loop-oracle-one-day-36pct"].status is Status.NO_DATA
    # A changed rule is judged again.
    rule = claims[0].rule
    assert rule is not None
    edited: Claim = replace(claims[0], rule=replace(rule, value=5.0))
    assert judge_then([edited], MemoryTape([]), SETTINGS, store)[edited.id].status is Status.NO_DATA
    store.close()


def test_then_cache_survives_reopening_and_forget_clears_it(location: str) -> None:
    path = location
    store = open_store(path)
    store.append(read_observations(DATA / "snapshot.jsonl"))
    judge_then(CLAIMS.values(), store, SETTINGS, store)
    store.close()
    store = open_store(path)
    assert store.then_verdicts()["tmt-junda-20cm-limit-up-0123"].status is Status.DIVERGED
    store.forget_history()
    assert store.then_verdicts() == {}
    store.close()


class RecordingFetch:
    """The days each history fetch asked for; answers with one observation and one symbol not listed."""

    def __init__(self) -> None:
        self.asked: list[date] = []

    async def __call__(self, since: date) -> FetchResult:
        self.asked.append(since)
        return FetchResult((obs("crypto:BTC/USD:last", 90_000.0, NOW),), {"DOGE/USD": "not listed on binance"})


class Named:
    name = "binance"
    kind = "crypto"


def test_history_is_fetched_once_then_only_recent_days(location: str) -> None:
    fetch = RecordingFetch()
    start = date(2025, 1, 1)
    job = HistoryJob(Named(), fetch, start)  # type: ignore[arg-type]
    store = open_store(location)
    plan = Planned([job], {})
    resume_history(plan, store)
    assert job.covered is None
    coverage = coverage_of(job, asyncio.run(job.fetch()))
    assert coverage is not None
    store.save_history_coverage(*coverage)
    today = datetime.now(UTC).date()
    assert store.history_coverage("binance history") == (start, today)
    # The next run, in a new process, asks only for the last week.
    later = HistoryJob(Named(), fetch, start)  # type: ignore[arg-type]
    resume_history(Planned([later], {}), store)
    asyncio.run(later.fetch())
    assert fetch.asked == [start, today - HISTORY_OVERLAP]
    # Asked to refetch, it starts over from the beginning.
    again = HistoryJob(Named(), fetch, start)  # type: ignore[arg-type]
    resume_history(Planned([again], {}), store, refetch=True)
    asyncio.run(again.fetch())
    assert fetch.asked[-1] == start
    store.close()


def test_a_failed_fetch_is_not_counted_as_fetched(tmp_path: Path) -> None:
    class Failing(RecordingFetch):
        async def __call__(self, since: date) -> FetchResult:
            self.asked.append(since)
            raise SourceError("timed out")

    fetch = Failing()
    start = date(2025, 1, 1)
    job = HistoryJob(Named(), fetch, start)  # type: ignore[arg-type]
    for _ in range(2):
        with pytest.raises(SourceError):
            asyncio.run(job.fetch())
    assert job.covered is None and fetch.asked == [start, start]


def test_an_earlier_claim_widens_the_fetch() -> None:
    fetch = RecordingFetch()
    job = HistoryJob(Named(), fetch, date(2021, 5, 1))  # type: ignore[arg-type]
    job.covered = (date(2025, 1, 1), datetime.now(UTC).date() - timedelta(days=1))
    asyncio.run(job.fetch())
    assert fetch.asked == [date(2021, 5, 1)]


def test_a_viewer_reads_then_from_the_store_and_judges_none_itself(location: str) -> None:
    from tui.core.judge.engine import Engine

    store = open_store(location)
    store.append(read_observations(DATA / "snapshot.jsonl"))
    narratives = load_narratives()
    viewer = open_store(location, read_only=True)
    engine = Engine(narratives, SETTINGS, viewer, lambda: datetime.now(UTC), store=viewer)
    assert "tmt-junda-20cm-limit-up-0123" not in engine.build().then  # no collector has judged it yet
    judged = judge_then(narratives.claims, store, SETTINGS, store)  # the collector
    engine = Engine(narratives, SETTINGS, viewer, lambda: datetime.now(UTC), store=viewer)
    then = engine.build().then
    assert set(then) == set(judged)
    assert {k: (v.status, v.live_value) for k, v in then.items()} == \
        {k: (v.status, v.live_value) for k, v in judged.items()}
    viewer.close()
    store.close()


async def test_a_viewer_shows_then_from_the_store_but_leaves_keeping_it_to_the_collector(location: str) -> None:
    from tests.pilot import until
    from tui.ui.app import live_app

    store = open_store(location)
    store.append(read_observations(DATA / "snapshot.jsonl"))
    judge_then(load_narratives().claims, store, SETTINGS, store)  # the collector
    kept = store.then_verdicts()
    app = live_app(SETTINGS, load_narratives(), open_store(location, read_only=True))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state is not None and not app.state.pending, "the first state")
        state = app.state
        assert state is not None
        assert state.then["tmt-junda-20cm-limit-up-0123"].status is Status.DIVERGED
        assert state.then["wu-btc-above-miner-cash-cost"].status is Status.HOLDS
        row = next(r for v in state.views for r in v.claims if r.claim.id == "tmt-junda-20cm-limit-up-0123")
        assert row.wrong_then
    assert store.then_verdicts() == kept  # a viewer never writes the store
    judge_then(load_narratives().claims, store, SETTINGS, store)  # what the collector does after each history fetch
    assert store.then_verdicts()["wu-btc-above-miner-cash-cost"].status is Status.HOLDS
    store.close()
