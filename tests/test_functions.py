"""Each rule function against a hand-built tape: medians, staleness, dates, changes, correlation, currency."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest

from tests.conftest import NOW, ago, context, obs
from tui.core.narratives.rules.ast import parse
from tui.core.narratives.rules.evaluate import NoData, Value, evaluate
from tui.core.narratives.rules.typecheck import fx_route, typecheck
from tui.core.narratives.rules.units import Unit


def run(text: str, *observations: object, now: datetime = NOW) -> Value:
    node = parse(text)
    typecheck(node)
    return evaluate(node, context(*observations, now=now))  # type: ignore[arg-type]


BTC = "crypto:BTC/USD:last"


def test_last_is_the_median_of_fresh_sources() -> None:
    value = run(f"last({BTC})", obs(BTC, 100, ago(10), "a"), obs(BTC, 110, ago(10), "b"),
                obs(BTC, 130, ago(10), "c"))
    assert value.value == 110
    assert not value.stale


def test_last_leaves_out_a_stale_source_when_others_are_fresh() -> None:
    value = run(f"last({BTC})", obs(BTC, 100, ago(10), "a"), obs(BTC, 50, ago(3600), "b"))
    assert value.value == 100 and not value.stale
    assert value.inputs[0].age_s == pytest.approx(10)


def test_last_uses_only_each_sources_latest_value() -> None:
    value = run(f"last({BTC})", obs(BTC, 90, ago(50), "a"), obs(BTC, 100, ago(5), "a"), obs(BTC, 104, ago(5), "b"))
    assert value.value == 102


def test_last_is_stale_when_every_source_is_old() -> None:
    value = run(f"last({BTC})", obs(BTC, 100, ago(300), "a"), obs(BTC, 120, ago(600), "b"))
    assert value.stale
    assert value.value == 110
    assert value.inputs[0].age_s == pytest.approx(600)  # the oldest value used


def test_staleness_limit_is_per_series_kind() -> None:
    hashrate = "network:bitcoin:hashrate"
    assert not run(f"last({hashrate})", obs(hashrate, 1e21, ago(3000))).stale  # limit 3600 s
    assert run(f"last({BTC})", obs(BTC, 1, ago(3000))).stale  # limit 120 s


def test_last_ignores_observations_after_now() -> None:
    value = run(f"last({BTC})", obs(BTC, 100, ago(10)), obs(BTC, 999, NOW + timedelta(seconds=5)))
    assert value.value == 100


def test_last_without_observations_is_no_data() -> None:
    with pytest.raises(NoData, match="no observations of crypto:BTC/USD:last"):
        run(f"last({BTC})", obs("crypto:DOGE/USD:last", 0.1))


def test_at_takes_the_last_value_on_or_before_the_day() -> None:
    s = "equity:NVDA:last"
    value = run(f"at({s}, 2026-01-23)", obs(s, 10, "2026-01-22T21:00"), obs(s, 11, "2026-01-23T21:00"),
                obs(s, 12, "2026-01-24T01:00"))
    assert value.value == 11


def test_at_looks_back_over_a_weekend_but_not_for_months() -> None:
    s = "equity:NVDA:last"
    value = run(f"at({s}, 2026-01-25)", obs(s, 10, "2026-01-23T21:00"))  # Sunday → Friday's bar
    assert value.value == 10 and value.text.endswith("on 2026-01-23")  # under its own date
    with pytest.raises(NoData, match="no data on 2026-01-23"):
        run(f"at({s}, 2026-01-25)", obs(s, 10, "2025-10-01T21:00"))


def test_at_a_future_date_is_no_data() -> None:
    s = "equity:NVDA:last"
    with pytest.raises(NoData, match="after the evaluation time"):
        run(f"at({s}, 2026-02-01)", obs(s, 10, "2026-01-23T21:00"))


def test_change_since_a_date_to_now() -> None:
    s = "equity:002865.SZ:last"
    value = run(f"change({s}, since=2025-11-24)", obs(s, 28, "2025-11-24T07:00"), obs(s, 98, ago(30)))
    assert value.value == pytest.approx(250.0)
    assert value.unit == Unit.of("%")


def test_change_between_two_dates() -> None:
    s = "equity:002865.SZ:last"
    value = run(f"change({s}, since=2026-01-22, until=2026-01-23)",
                obs(s, 80, "2026-01-22T07:00"), obs(s, 96, "2026-01-23T07:00"), obs(s, 50, ago(1)))
    assert value.value == pytest.approx(20.0)
    assert not value.stale  # dated values are never stale


def test_change_to_now_inherits_staleness() -> None:
    s = "equity:002865.SZ:last"
    value = run(f"change({s}, since=2025-11-24)", obs(s, 28, "2025-11-24T07:00"), obs(s, 98, ago(5000)))
    assert value.stale


def test_pct_of_intraday_high_over_previous_close() -> None:
    s = "equity:002843.SZ"
    value = run(f"pct(at({s}:high, 2026-01-08), at({s}:last, 2026-01-07))",
                obs(f"{s}:last", 20.0, "2026-01-07T07:00"), obs(f"{s}:high", 22.0, "2026-01-08T07:00"))
    assert value.value == pytest.approx(10.0)


def _daily(series: str, closes: list[float] | list[int], start: date) -> list[object]:
    return [obs(series, c, datetime.combine(start + timedelta(days=i), datetime.min.time(), UTC)
                + timedelta(hours=21)) for i, c in enumerate(closes)]


def test_corr_matches_pearson_on_daily_returns() -> None:
    a = [100, 101, 99, 102, 104, 103, 107, 106, 108, 107, 111]
    b = [50, 50.4, 49.8, 50.9, 51.5, 51.0, 52.0, 52.2, 52.5, 52.0, 53.1]
    start = NOW.date() - timedelta(days=len(a))
    value = run("corr(crypto:BTC/USD:last, index:^IXIC:last, days=10)",
                *_daily(BTC, a, start), *_daily("index:^IXIC:last", b, start))
    ra = [y / x - 1 for x, y in pairwise(a)]
    rb = [y / x - 1 for x, y in pairwise(b)]
    assert value.value == pytest.approx(statistics.correlation(ra, rb))
    assert not value.stale


def test_corr_uses_only_dates_both_series_have() -> None:
    start = NOW.date() - timedelta(days=12)
    a = _daily(BTC, [100 + (i % 3) * 2 + i for i in range(12)], start)
    b = [o for i, o in enumerate(_daily("index:^IXIC:last", [50 + (i % 3) + i * 0.5 for i in range(12)], start))
         if i % 7 not in (5, 6)]  # no weekends on the index
    with pytest.raises(NoData, match="found 10"):
        run("corr(crypto:BTC/USD:last, index:^IXIC:last, days=10)", *a, *b)
    assert run("corr(crypto:BTC/USD:last, index:^IXIC:last, days=9)", *a, *b).value > 0.5


def test_corr_of_an_old_history_is_stale() -> None:
    start = NOW.date() - timedelta(days=30)
    closes = [100 + i + (i % 2) for i in range(10)]
    value = run("corr(crypto:BTC/USD:last, index:^IXIC:last, days=5)",
                *_daily(BTC, closes, start), *_daily("index:^IXIC:last", closes, start))
    assert value.stale


def test_corr_without_movement_is_no_data() -> None:
    start = NOW.date() - timedelta(days=6)
    with pytest.raises(NoData, match="did not move"):
        run("corr(crypto:BTC/USD:last, index:^IXIC:last, days=5)",
            *_daily(BTC, [1, 2, 3, 4, 5, 6], start), *_daily("index:^IXIC:last", [5] * 6, start))


def test_fx_converts_a_cny_figure_from_usd() -> None:
    value = run("4.9e9 USD * fx(USDCNY)", obs("fx:USDCNY:last", 7.0, ago(10)))
    assert value.value == pytest.approx(34.3e9)
    assert value.unit == Unit.of("CNY")


def test_fx_inverts_the_other_way_round() -> None:
    value = run("last(equity:688795.SS:market_cap) * fx(CNYUSD)", obs("fx:USDCNY:last", 8.0, ago(10)),
                obs("equity:688795.SS:market_cap", 400e9, ago(10)))
    assert value.value == pytest.approx(50e9)
    assert value.unit == Unit.of("USD")


def test_fx_routes() -> None:
    assert fx_route("USDCNY").series == "fx:USDCNY:last"
    assert fx_route("CNYUSD").invert
    assert fx_route("USDTUSD").series == "crypto:USDT/USD:last"
    assert fx_route("USDUSDT") == type(fx_route("USDUSDT"))("crypto:USDT/USD:last", True)


def test_abs_min_max() -> None:
    s = "equity:NVDA:last"
    observations = (obs(s, 10, ago(1)), obs(s, 14, "2026-01-23T21:00"))
    assert run(f"abs(-last({s}))", *observations).value == 10
    assert run(f"max(last({s}), at({s}, 2026-01-23))", *observations).value == 14
    assert run(f"min(last({s}), at({s}, 2026-01-23))", *observations).value == 10


def test_division_by_zero_is_no_data() -> None:
    with pytest.raises(NoData, match="division by zero"):
        run(f"1 / (last({BTC}) - last({BTC}))", obs(BTC, 5, ago(1)))


def test_rendering_plugs_in_the_numbers() -> None:
    value = run(f"11509 * last({BTC})", obs(BTC, 71_150, ago(5), "a"), obs(BTC, 71_250, ago(5), "b"))
    assert value.text == "11,509 × 71,200.00 USD"
    grouped = run(f"2 * (last({BTC}) - 1 USD)", obs(BTC, 10, ago(5)))
    assert grouped.text == "2 × (10.000 USD - 1 USD)"  # a crypto price: five figures
    assert grouped.value == 18


def test_a_closed_market_keeps_its_last_close_current() -> None:
    nvda = "equity:NVDA:last"
    friday_close = datetime(2026, 1, 23, 21, 0, tzinfo=UTC)
    monday_early = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)  # New York opens at 14:30 UTC
    value = run(f"last({nvda})", obs(nvda, 184.8, friday_close), now=monday_early)
    assert not value.stale and value.inputs[0].closed


def test_a_missed_session_is_stale_even_when_closed() -> None:
    nvda = "equity:NVDA:last"
    thursday_close = datetime(2026, 1, 22, 21, 0, tzinfo=UTC)
    value = run(f"last({nvda})", obs(nvda, 180.0, thursday_close), now=datetime(2026, 1, 26, 6, 0, tzinfo=UTC))
    assert value.stale and not value.inputs[0].closed


def test_an_open_market_uses_the_plain_age_limit() -> None:
    nvda = "equity:NVDA:last"
    during = datetime(2026, 1, 26, 16, 0, tzinfo=UTC)  # 11:00 in New York
    assert run(f"last({nvda})", obs(nvda, 180.0, during - timedelta(seconds=600)), now=during).stale is False
    assert run(f"last({nvda})", obs(nvda, 180.0, during - timedelta(seconds=1200)), now=during).stale is True


def test_shanghai_after_its_close() -> None:
    moore = "equity:688795.SS:market_cap"
    close = datetime(2026, 1, 26, 7, 0, tzinfo=UTC)  # 15:00 in Shanghai
    value = run(f"last({moore})", obs(moore, 290e9, close - timedelta(seconds=30)), now=close + timedelta(hours=5))
    assert not value.stale and value.inputs[0].closed
