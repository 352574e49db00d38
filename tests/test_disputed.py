"""Cross-source consistency: a value far from the other sources of its asset (or, alone, from its own past) is
disputed: stored apart with the reason, counted and shown, never read as a value and never averaged in."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fakes.exchange import FakeExchange
from tui.collect.consistency import ConsistencyCheck, asset_key, seed_from_store
from tui.collect.poller import Poller, Schedule
from tui.collect.recorder import Recorder
from tui.collect.sources.base import FetchResult
from tui.collect.sources.crypto import CryptoSource
from tui.core.config import CryptoSettings, PollerSettings, load_settings
from tui.core.judge.view import make_context, series_row
from tui.core.model import Observation, TapecheckError
from tui.core.store.sqlite import Store

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
USD, USDT = "crypto:BTC/USD:last", "crypto:BTC/USDT:last"


def obs(series: str, value: float, source: str, at: datetime = NOW) -> Observation:
    return Observation(series, value, series.split("/")[-1].split(":")[0] if series.startswith("crypto") else "USD",
                       at, source)


def judged(check: ConsistencyCheck, *observations: Observation) -> FetchResult:
    return check.judge(FetchResult(tuple(observations)))


def market() -> ConsistencyCheck:
    check = ConsistencyCheck(4.0)
    check.remember([obs(USDT, 70_000, "binance"), obs(USDT, 70_010, "okx"), obs(USD, 70_005, "coinbase")])
    return check


# ---- the check, pure -------------------------------------------------------------------------------------


def test_dollar_quotes_of_one_coin_are_one_asset() -> None:
    assert asset_key(USD) == asset_key(USDT) == asset_key("crypto:BTC/USDC:last") == "crypto:BTC/$:last"
    assert asset_key("crypto:BTC/EUR:last") != asset_key(USD)
    assert asset_key("crypto:ETH/USD:last") != asset_key(USD)
    assert asset_key("equity:NVDA:last") == "equity:NVDA:last"


@pytest.mark.parametrize(("value", "words"), [(7_000_500.0, "100x above"), (1e-9, "7e+13x below")])
def test_a_price_in_cents_or_near_zero_is_disputed_against_the_other_exchanges(value: float, words: str) -> None:
    result = judged(market(), obs(USD, value, "kraken"), obs("crypto:ETH/USD:last", 2400, "kraken"))
    assert [o.series for o in result.observations] == ["crypto:ETH/USD:last"]
    (doubt,) = result.disputed
    assert doubt.observation.value == value
    assert doubt.reason.startswith(f"{USD}: ") and words in doubt.reason
    assert "(binance, coinbase, okx)" in doubt.reason and "more than the 4x allowed" in doubt.reason


def test_an_agreeing_value_is_kept_whole_never_averaged() -> None:
    result = judged(market(), obs(USD, 71_500.25, "kraken"))
    assert result.observations == (obs(USD, 71_500.25, "kraken"),) and result.disputed == ()


def test_whichever_comes_first_the_majority_wins() -> None:
    """Cents first, on an empty check: kept (nothing to hold it against); the next dollar price is one against
    one and disputed; a third source breaks the tie; from then on the cents are disputed."""
    check = ConsistencyCheck(4.0)
    assert judged(check, obs(USD, 7_000_500, "kraken")).observations
    assert judged(check, obs(USD, 70_005, "coinbase", NOW + timedelta(seconds=1))).disputed
    assert judged(check, obs(USDT, 70_000, "binance", NOW + timedelta(seconds=2))).observations
    later = NOW + timedelta(seconds=10)
    assert judged(check, obs(USD, 7_000_600, "kraken", later)).disputed
    assert judged(check, obs(USD, 70_010, "coinbase", later)).observations
    assert check.counts == {"coinbase": 1, "kraken": 1}


def test_a_lone_source_is_held_against_its_own_last_value() -> None:
    check = ConsistencyCheck(4.0)
    check.remember([obs("equity:NVDA:last", 187.67, "yahoo", NOW - timedelta(days=3))])  # Friday's close
    result = judged(check, obs("equity:NVDA:last", 1.8767e-6, "yahoo"))
    assert result.observations == ()
    assert "below its own last value 187.67" in result.disputed[0].reason
    again = judged(check, obs("equity:NVDA:last", 1.9e-6, "yahoo", NOW + timedelta(minutes=1)))
    assert again.disputed, "a disputed value must not become the one the next is held against"
    assert judged(check, obs("equity:NVDA:last", 190.0, "yahoo", NOW + timedelta(minutes=2))).observations


def test_a_split_that_holds_its_new_level_is_accepted_after_an_hour() -> None:
    check = ConsistencyCheck(4.0)
    check.remember([obs("equity:NVDA:last", 1200.0, "yahoo", NOW - timedelta(days=1))])
    for minutes in (0, 20, 40):
        assert judged(check, obs("equity:NVDA:last", 120.0 + minutes / 100, "yahoo",
                                 NOW + timedelta(minutes=minutes))).disputed
    assert judged(check, obs("equity:NVDA:last", 121.0, "yahoo", NOW + timedelta(minutes=61))).observations


def test_values_far_apart_in_time_are_not_held_against_each_other() -> None:
    check = market()
    old = obs(USD, 3_000.0, "kraken", NOW - timedelta(days=2000))  # a daily close from 2020
    assert judged(check, old).observations == (old,)


# ---- the store keeps them apart --------------------------------------------------------------------------


def test_the_store_keeps_disputed_values_apart_from_the_observations(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    store.append([obs(USD, 70_005, "coinbase")])
    assert store.add_disputed([(obs(USD, 7_000_500, "kraken"), "cents")]) == 1
    assert [o.value for o in store.latest(USD, NOW + timedelta(seconds=1))] == [70_005]
    assert store.disputed() == [(obs(USD, 7_000_500, "kraken"), "cents")] and store.disputed_count() == 1
    store.prune(NOW + timedelta(days=1000))
    assert store.disputed_count() == 0  # retention applies to them too
    check = ConsistencyCheck(4.0)
    seed_from_store(check, store, NOW + timedelta(seconds=1))
    assert judged(check, obs(USD, 7_000_500, "kraken")).disputed  # held against what was stored
    store.close()


# ---- end to end: ccxt against the fake exchanges, the poller, the recorder and the store --------------------


@pytest.fixture(scope="module")
def exchange() -> Iterator[FakeExchange]:
    with FakeExchange() as fake:
        yield fake


def test_one_exchange_in_cents_is_disputed_stored_apart_shown_and_left_out_of_the_value(
        exchange: FakeExchange, tmp_path: Path) -> None:
    exchange.reset()
    ids = ("binance", "coinbase", "kraken", "okx")
    sources = []
    for name in ids:
        source = CryptoSource(name, ("BTC/USD", "BTC/USDT"),
                              CryptoSettings(ids, 10, 2.0, 86400, {name: exchange.url}), rate_limit_ms=1)
        source.exchange.timeout_on_exit = 0
        sources.append(source)
    store = Store(tmp_path / "store.sqlite")
    said: list[str] = []
    recorder = Recorder(store, None, said.append)
    poller = Poller(sources, {s.name: Schedule(10, 10) for s in sources}, PollerSettings(1, 2), recorder.on_result)

    async def go() -> None:
        try:
            await poller.poll_once()
            exchange.edit_ticker("XXBTZUSD", last="7119530.0")  # kraken's BTC/USD, now in cents
            await poller.poll_once()
        finally:
            await poller.stop()

    asyncio.run(go())
    now = datetime.now(UTC)
    kraken = [o for o in store.latest(USD, now) if o.source == "kraken"]
    assert kraken and kraken[0].value < 100_000, "the cents price reached the observations"
    ((doubt, reason),) = store.disputed()
    assert doubt.source == "kraken" and doubt.value == 7_119_530 and "100x above the other sources'" in reason
    health = poller.health["kraken"]
    assert health.state == "ok" and health.disputed and health.disputed_total == 1
    assert any("disputed crypto:BTC/USD:last" in line for line in said)
    row = series_row(USD, make_context(store, now, load_settings()))
    assert row.value is not None and 60_000 < row.value < 80_000
    store.close()
    exchange.reset()


# ---- the config key ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "ok"), [("4.0", True), ("1.5", True), ("1.0", False), ("1e9", False),
                                           ("true", False)])
def test_the_dispute_factor_has_stated_bounds(tmp_path: Path, value: str, ok: bool) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[poller]\ndispute_factor = {value}\n")
    if ok:
        assert load_settings(path).poller.dispute_factor == float(value)
    else:
        with pytest.raises(TapecheckError, match=r"poller.dispute_factor = .* must be a number from 1.5 to 1000"):
            load_settings(path)
