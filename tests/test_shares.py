"""A market value on a past date is that day's close × the share count in force that day.

The collector keeps Yahoo's share-count history (yfinance's Ticker.get_shares_full, against the fake Yahoo's
fundamentals-timeseries endpoint) as `equity:SYM:shares`; the rules read a past market value with it, and
where no share history reaches the day they say "at today's share count" and the verdict is not final.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.fakes.yahoo import SHARES_PREFIX, FakeYahoo
from tests.test_equities import HISTORY, RecordedDownloader, download_like_yfinance, live_source, source, utc
from tui.collect.sources.equities import ShareCount
from tui.core.config import load_settings
from tui.core.judge.then import PROVISIONAL, day_context, judge_then
from tui.core.model import Cached, Observation, Status
from tui.core.narratives.claims import load_narratives
from tui.core.narratives.rules.ast import parse
from tui.core.narratives.rules.evaluate import evaluate
from tui.core.snapshot import parse_observation
from tui.core.tape import MemoryTape

SETTINGS = load_settings()
NVDA_4T = next(c for c in load_narratives().claims if c.id == "loop-nvidia-cap-over-4t")
TODAY = 24_300_000_000  # Nvidia's share count now
THEN = 24_400_000_000  # on the 10-Q cover of the time (May 2025)


# ---- the rules ------------------------------------------------------------------------------------------


def nvda_july(shares: bool) -> MemoryTape:
    """Nvidia's July 2025 as the collector stores it: daily bars at 16:00 New York, market values at TODAY's
    count (the collector's fallback), and, with `shares`, the share counts Yahoo reports."""
    rows: list[Observation] = []
    highs = {1: 158.0, 2: 157.9, 3: 160.98, 7: 159.9, 8: 161.0, 9: 164.42, 10: 164.70, 11: 164.2}
    for day, high in highs.items():
        ts = datetime(2025, 7, day, 20, tzinfo=UTC)
        close = high - 1.5
        rows += [Observation("equity:NVDA:high", high, "USD", ts, "yahoo"),
                 Observation("equity:NVDA:last", close, "USD", ts, "yahoo"),
                 Observation("equity:NVDA:market_cap", close * TODAY, "USD", ts, "yahoo")]
    if shares:
        rows += [Observation("equity:NVDA:shares", THEN, "shares", datetime(2025, 5, 23, tzinfo=UTC), "yahoo"),
                 Observation("equity:NVDA:shares", TODAY, "shares", datetime(2025, 11, 14, tzinfo=UTC), "yahoo")]
    return MemoryTape(rows)


class Kept:
    """A then-cache in memory: what judge_then keeps as final."""

    def __init__(self) -> None:
        self.rows: dict[str, Cached] = {}
        self.read_only = False

    def then_verdicts(self) -> dict[str, Cached]:
        return dict(self.rows)

    def save_then_verdicts(self, rows: list[tuple[str, Cached]]) -> None:
        self.rows.update(rows)


def test_nvidias_4t_intraday_high_holds_with_the_share_count_of_the_time() -> None:
    """164.42 USD × 24.4B = 4.012T on 9 July 2025; today's 24.3B would make it 3.995T, and the first day 10 July."""
    kept = Kept()
    then = judge_then([NVDA_4T], nvda_july(shares=True), SETTINGS, kept)[NVDA_4T.id]
    assert then.status is Status.HOLDS and then.live_value == date(2025, 7, 9).toordinal()
    assert "24.4B shares of 2025-05-23" in then.explanation and "today's share count" not in then.explanation
    assert not then.todays_shares and NVDA_4T.id in kept.rows  # final: nothing assumed
    value = evaluate(parse("at(equity:NVDA:market_cap, 2025-07-09)"), day_context(nvda_july(True), date(2025, 7, 10),
                                                                                    SETTINGS))
    assert value.value == pytest.approx((164.42 - 1.5) * THEN)  # the close × the count in force that day


def test_without_share_history_it_says_todays_share_count_and_is_not_final() -> None:
    kept = Kept()
    then = judge_then([NVDA_4T], nvda_july(shares=False), SETTINGS, kept)[NVDA_4T.id]
    # 164.42 × 24.3B = 3.995T: not on 9 July; 10 July's 164.70 × 24.3B = 4.002T is
    assert then.live_value == date(2025, 7, 10).toordinal() and then.status is Status.HOLDS
    assert "at today's share count" in then.explanation and then.todays_shares
    # kept only as provisional (for the viewers), judged again once the share history arrives
    assert all(c.fingerprint.endswith(PROVISIONAL) for c in kept.rows.values())


def test_a_share_count_reported_after_the_day_is_no_share_count_of_that_day() -> None:
    tape = MemoryTape([Observation("equity:NVDA:last", 150.0, "USD", utc("2025-04-01T20:00:00"), "yahoo"),
                       Observation("equity:NVDA:market_cap", 150.0 * TODAY, "USD", utc("2025-04-01T20:00:00"), "yahoo"),
                       Observation("equity:NVDA:shares", THEN, "shares", utc("2025-05-23T00:00:00"), "yahoo")])
    value = evaluate(parse("at(equity:NVDA:market_cap, 2025-04-01)"), day_context(tape, date(2025, 4, 2), SETTINGS))
    assert value.value == 150.0 * TODAY and value.text.endswith("at today's share count")
    assert all(i.todays_shares for i in value.inputs)


def test_a_snapshot_line_of_shares_reads() -> None:
    obs = parse_observation('{"series": "equity:NVDA:shares", "value": 24.4e9, "unit": "shares", '
                            '"ts": "2025-05-23T20:00:00Z", "source": "yahoo"}')
    assert (obs.series, obs.value, obs.unit) == ("equity:NVDA:shares", 24.4e9, "shares")


# ---- the collector ---------------------------------------------------------------------------------------


def test_history_market_values_use_the_share_count_in_force_each_day() -> None:
    downloader = RecordedDownloader(frame=download_like_yfinance(HISTORY))
    downloader.share_counts = {"NVDA": [ShareCount(date(2025, 5, 23), THEN), ShareCount(date(2025, 11, 14), TODAY)]}
    observations = asyncio.run(source(downloader, symbols=["NVDA"]).history(date(2026, 1, 1)))
    caps = {o.ts: o.value for o in observations if o.series == "equity:NVDA:market_cap"}
    assert caps[utc("2025-07-01T20:00:00")] == pytest.approx(153.30 * THEN)  # the count of the time
    assert caps[utc("2026-01-22T21:00:00")] == pytest.approx(184.84 * TODAY)
    shares = sorted((o.ts, o.value, o.unit) for o in observations if o.series == "equity:NVDA:shares")
    assert shares == [(utc("2025-05-23T00:00:00"), THEN, "shares"), (utc("2025-11-14T00:00:00"), TODAY, "shares")]


def test_a_share_history_of_one_class_is_scaled_to_every_class_as_the_live_value_is() -> None:
    from tests.test_equities import quote_payload

    payload = quote_payload({"NVDA": {"marketCap": 187.67 * 2 * TODAY}})  # GOOGL-like: two classes
    downloader = RecordedDownloader(payload, frame=download_like_yfinance(HISTORY))
    downloader.share_counts = {"NVDA": [ShareCount(date(2025, 5, 23), THEN), ShareCount(date(2025, 11, 14), TODAY)]}
    observations = asyncio.run(source(downloader, symbols=["NVDA"]).history(date(2026, 1, 1)))
    caps = {o.ts: o.value for o in observations if o.series == "equity:NVDA:market_cap"}
    assert caps[utc("2025-07-01T20:00:00")] == pytest.approx(153.30 * 2 * THEN)


@pytest.fixture(scope="module")
def fake_yahoo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeYahoo]:
    import yfinance as yf

    yf.set_tz_cache_location(str(tmp_path_factory.mktemp("yfinance-cache")))  # not the user's cache dir
    with FakeYahoo() as fake:
        yield fake


@pytest.fixture
def yahoo(fake_yahoo: FakeYahoo) -> FakeYahoo:
    from yfinance.data import YfData

    YfData.cache_get.cache_clear()  # yfinance remembers answers by URL in the process: each test asks afresh
    fake_yahoo.reset()
    return fake_yahoo


def test_share_counts_come_through_yfinances_get_shares_full(yahoo: FakeYahoo) -> None:
    src = live_source(yahoo, symbols=["NVDA", "AMD", "688795.SS", "GC=F"])
    observations = asyncio.run(src.history(date(2026, 1, 1)))
    asked = {p.removeprefix(SHARES_PREFIX): q for p, q in yahoo.requests if p.startswith(SHARES_PREFIX)}
    assert sorted(asked) == ["688795.SS", "AMD", "NVDA"]  # the equities, one request each; not the future
    assert asked["NVDA"]["symbol"] == "NVDA"
    start = datetime.fromtimestamp(int(asked["NVDA"]["period1"]), UTC).date()
    assert start <= date(2026, 1, 1) - timedelta(days=180)  # the count in force on the first day was reported before
    shares = {(o.ts.date(), o.value) for o in observations if o.series == "equity:NVDA:shares"}
    assert {(date(2025, 8, 22), 24_350_000_000), (date(2025, 11, 14), TODAY), (date(2026, 1, 9), TODAY)} <= shares
    friday = next(o for o in observations if o.series == "equity:NVDA:market_cap" and o.ts == utc("2026-01-23T21:00:00"))
    assert friday.value == pytest.approx(187.67 * TODAY)
    # Yahoo has no share history of Moore Threads: its market values stay at today's count, and it is said
    assert src.last_history_failures == {"equity:688795.SS:shares": "no share count history from Yahoo"}
    assert any(o.series == "equity:688795.SS:market_cap" for o in observations)


@pytest.mark.parametrize(("kind", "options", "reason"), [
    ("wrong_shape", {}, "Bad Request"),  # Yahoo's {"finance": {"error": {"code": "Bad Request"}}}
    ("status", {"status": 500}, "no share count history: "),
    ("truncated", {}, "no share count history: "),
])
def test_a_failing_share_history_keeps_the_bars_and_says_why(yahoo: FakeYahoo, kind: str, options: dict[str, int],
                                                            reason: str) -> None:
    yahoo.set_scenario("shares", kind, **options)
    src = live_source(yahoo, symbols=["NVDA"])
    observations = asyncio.run(src.history(date(2026, 1, 1)))
    assert not [o for o in observations if o.series.endswith(":shares")]
    caps = [o for o in observations if o.series == "equity:NVDA:market_cap"]
    assert caps and max(caps, key=lambda o: o.ts).value == pytest.approx(187.67 * TODAY)  # at today's count
    why = src.last_history_failures["equity:NVDA:shares"]
    assert why.startswith("no share count history") and reason in why, why


@pytest.mark.parametrize(("shares", "first", "todays"), [(True, "2025-07-09", False), (False, "2025-07-10", True)])
def test_check_reads_shares_lines_in_a_snapshot(tmp_path: Path, capsys: pytest.CaptureFixture[str], shares: bool,
                                                first: str, todays: bool) -> None:
    from tui.cli import main
    from tui.core.snapshot import format_observation

    tape = nvda_july(shares)
    path = tmp_path / "nvda.jsonl"
    path.write_text("".join(format_observation(o) + "\n" for s in sorted(tape.series_ids())
                            for o in tape.observations(s)), encoding="utf-8")
    main(["check", "--snapshot", str(path), "--now", "2025-08-01T00:00:00Z", "--json"])
    verdict = next(v for v in json.loads(capsys.readouterr().out)["verdicts"] if v["id"] == NVDA_4T.id)
    assert verdict["then_status"] == "holds" and verdict["then_todays_shares"] is todays
    assert verdict["then_explanation"].startswith(first)
