"""The rule functions that look back over days: first_date(), share() and beta(), and the `date` unit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.conftest import NOW, context, obs
from tui.core.model import Claim, ClaimKind, Rule, Status
from tui.core.narratives.rules.ast import RuleSyntaxError, parse
from tui.core.narratives.rules.evaluate import NoData, NotYet, Value, evaluate
from tui.core.narratives.rules.typecheck import RuleTypeError, typecheck
from tui.core.narratives.rules.units import DATE, PERCENT, RATIO, Unit
from tui.core.narratives.rules.verdict import judge

HASH = "network:bitcoin:hashrate"
BTC = "crypto:BTC/USD:last"
NDX = "index:^IXIC:last"


def run(text: str, *observations: object, now: datetime = NOW) -> Value:
    node = parse(text)
    typecheck(node)
    return evaluate(node, context(*observations, now=now))  # type: ignore[arg-type]


def daily(series: str, start: str, values: list[float]) -> list[object]:
    """One observation per day from `start`, stamped at 23:00 UTC."""
    first = date.fromisoformat(start)
    return [obs(series, v, datetime.combine(first + timedelta(days=i), datetime.min.time(), UTC)
                + timedelta(hours=23)) for i, v in enumerate(values)]


def test_first_date_finds_the_first_day_the_condition_held() -> None:
    rows = daily(HASH, "2025-09-01", [0.95e21, 0.98e21, 1.01e21, 0.99e21, 1.02e21])
    value = run(f"first_date(last({HASH}) >= 1e21, since=2025-09-01)", *rows)
    assert value.unit == DATE
    assert date.fromordinal(int(value.value)) == date(2025, 9, 3)
    assert "2025-09-03" in value.text


def test_first_date_starts_at_since() -> None:
    rows = daily(HASH, "2025-09-01", [1.1e21, 0.9e21, 0.9e21, 1.05e21])
    value = run(f"first_date(last({HASH}) >= 1e21, since=2025-09-02)", *rows)
    assert date.fromordinal(int(value.value)) == date(2025, 9, 4)


def test_first_date_that_never_came_is_no_data() -> None:
    rows = daily(HASH, "2025-09-01", [0.9e21, 0.9e21])
    with pytest.raises(NotYet, match="held on none of 2 common trading days from 2025-09-01") as never:
        run(f"first_date(last({HASH}) >= 1e21, since=2025-09-01)", *rows)
    assert never.value.data_to == date(2025, 9, 2)


def test_first_date_sees_nothing_after_now() -> None:
    rows = daily(HASH, "2026-01-20", [0.9e21, 0.9e21, 0.9e21, 0.9e21, 0.9e21, 0.9e21, 0.9e21, 1.2e21])
    with pytest.raises(NoData):  # the 1.2 ZH/s day is 2026-01-27, after NOW
        run(f"first_date(last({HASH}) >= 1e21, since=2026-01-01)", *rows)


def test_share_is_the_percent_of_days_the_condition_held() -> None:
    rows = daily(BTC, "2025-06-01", [100, 120, 130, 90, 140])
    value = run(f"share(last({BTC}) > 110 USD, since=2025-06-01, until=2025-06-05)", *rows)
    assert value.unit == PERCENT
    assert value.value == pytest.approx(60)
    assert "3 of 5 common trading days" in value.text


def test_share_until_bounds_the_period() -> None:
    rows = daily(BTC, "2025-06-01", [100, 120, 130, 90, 140])
    assert run(f"share(last({BTC}) > 110 USD, since=2025-06-01, until=2025-06-03)", *rows).value == \
        pytest.approx(200 / 3)


def test_share_of_rolling_correlation_windows() -> None:
    # BTC moves exactly with the Nasdaq for the first 12 days, then against it for 12 more.
    moves = [0.01, -0.02, 0.015, -0.01, 0.02, -0.005] * 4
    btc, ndx = [100.0], [100.0]
    for i, move in enumerate(moves):
        ndx.append(ndx[-1] * (1 + move))
        btc.append(btc[-1] * (1 + (move if i < 12 else -move)))
    rows = daily(BTC, "2025-03-01", btc) + daily(NDX, "2025-03-01", ndx)
    value = run(f"share(corr({BTC}, {NDX}, days=5) > 0.5, since=2025-03-01, until=2025-03-25)", *rows)
    # windows need 6 closes: judged on 03-06 .. 03-25 (20 days); those ending by 03-13 are all +1.
    assert "of 20 common trading days" in value.text and "5 more could not be judged" in value.text
    assert 30 < value.value < 50


def test_share_with_no_day_judged_is_no_data() -> None:
    with pytest.raises(NoData, match="no day"):
        run(f"share(last({BTC}) > 1 USD, since=2025-06-01, until=2025-06-05)", obs(BTC, 5, "2025-01-01T00:00"))


def test_beta_is_the_slope_of_returns() -> None:
    moves = [0.01, -0.02, 0.015, -0.01, 0.02, -0.005, 0.012]
    btc, ndx = [100.0], [100.0]
    for move in moves:
        ndx.append(ndx[-1] * (1 + move))
        btc.append(btc[-1] * (1 + 2 * move))
    rows = daily(BTC, "2026-01-18", btc) + daily(NDX, "2026-01-18", ndx)
    value = run(f"beta({BTC}, {NDX}, days=7)", *rows)
    assert value.unit == RATIO
    assert value.value == pytest.approx(2.0)


def test_beta_needs_enough_days() -> None:
    rows = daily(BTC, "2026-01-20", [1, 2, 3]) + daily(NDX, "2026-01-20", [1, 2, 3])
    with pytest.raises(NoData, match="beta\\(\\) needs 8 common trading days"):
        run(f"beta({BTC}, {NDX}, days=7)", *rows)


@pytest.mark.parametrize(("text", "message"), [
    (f"last({BTC}) > 5", "only as the condition"),
    (f"first_date(last({BTC}), since=2025-01-01)", "needs a condition"),
    (f"first_date(last({BTC}) > 1 > 2, since=2025-01-01)", "one comparison"),
])
def test_conditions_are_only_allowed_where_a_function_takes_one(text: str, message: str) -> None:
    with pytest.raises((RuleSyntaxError, RuleTypeError), match=message):
        typecheck(parse(text))


@pytest.mark.parametrize(("text", "message"), [
    (f"first_date(last({BTC}) > last({NDX}), since=2025-01-01)", "cannot compare"),
    (f"first_date(last({BTC}) > last({HASH}), since=2025-01-01)", "cannot compare"),
    (f"first_date(last({BTC}) > 1, until=2025-01-01)", "no argument 'until'"),
    (f"share(last({BTC}) > 1)", "needs since="),
    (f"share(first_date(last({BTC}) > 1, since=2025-01-01) > 1, since=2025-01-01)", "inside another condition"),
    (f"beta({BTC}, {NDX})", "needs days="),
    (f"beta({BTC}, 3, days=5)", "needs a series id"),
])
def test_daily_functions_are_checked(text: str, message: str) -> None:
    with pytest.raises(RuleTypeError, match=message):
        typecheck(parse(text))


@pytest.mark.parametrize(("text", "unit"), [
    (f"first_date(last({HASH}) >= 1e21, since=2025-01-01)", DATE),
    (f"share(corr({BTC}, {NDX}, days=30) > 0.5, since=2025-01-01, until=2025-12-31)", PERCENT),
    (f"beta({BTC}, {NDX}, days=30)", RATIO),
    ("share(last(crypto:BTC/USD:last) * fx(USDCNY) > 500000 CNY, since=2025-01-01)", PERCENT),
])
def test_daily_function_units(text: str, unit: Unit) -> None:
    assert typecheck(parse(text))[0] == unit


def test_a_date_rule_is_judged_and_explained_in_days() -> None:
    text = f"first_date(last({HASH}) >= 1e21, since=2025-09-20)"
    node = parse(text)
    _unit, series = typecheck(node)
    rule = Rule(text, node, ">=", float(date(2025, 12, 1).toordinal()), "date", 0, series)
    claim = Claim("c", "t", "a", date(2025, 12, 31), "s", "s", ClaimKind.CHECK, rule)
    rows = daily(HASH, "2025-09-20", [0.99e21, 1.01e21])
    verdict = judge(claim, context(*rows))  # type: ignore[arg-type]
    assert verdict.status is Status.DIVERGED
    assert verdict.deviation_pct is None
    assert "2025-09-21" in verdict.explanation and "2025-12-01 claimed" in verdict.explanation
    assert "-71 days" in verdict.explanation


def test_counts_of_days_have_thousands_separators() -> None:
    """A count is written as every number in the app: 1,200 common trading days, never 1200."""
    rows = daily(BTC, "2022-09-01", [100.0 + i % 7 for i in range(1_200)])
    value = run(f"share(last({BTC}) > 1 USD, since=2022-09-01, until=2025-12-13)", *rows)
    assert "(1,200 of 1,200 common trading days from 2022-09-01 to 2025-12-13)" in value.text
    with pytest.raises(NoData, match=r"needs 1,201 common trading days of .*, found 1,200"):
        run(f"beta({BTC}, {BTC}, days=1200)", *rows)
