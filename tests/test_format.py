"""How numbers are written: quoting precision by market, large amounts and hashrates scaled, chart axes with a
unit, and 'off' in the unit a trader reads it in (percentage points for a percentage)."""

from __future__ import annotations

import pytest

from tests.conftest import ago, context, obs
from tests.test_verdicts import claim
from tui.core import format as fmt
from tui.core.narratives.rules.verdict import judge, live_text, off_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (999.96e6, "1.00B"),  # rounds up into the next scale: never "1,000M"
        (999.4e6, "999M"),
        (999_999.6e6, "1.00T"),
        (-999.96e6, "-1.00B"),
        (819e6, "819M"),
        (1.05e9, "1.05B"),
        (71_200, "71,200"),
    ],
)
def test_a_number_never_shows_a_thousand_of_a_scale(value: float, text: str) -> None:
    assert fmt.number(value) == text


@pytest.mark.parametrize(
    ("value", "unit", "kind", "text"),
    [
        (250.3, "USD", "equity", "250.30 USD"),  # a US stock: cents, not four figures ("250.3")
        (170, "USD", "equity", "170.00 USD"),
        (0.4512, "USD", "equity", "0.4512 USD"),  # a stock under a dollar keeps its figures
        (45.1, "CNY", "equity", "45.10 CNY"),  # an A-share: fen
        (1_000, "IDR", "equity", "1,000 IDR"),  # a currency without minor units
        (23_365.694, "pts", "index", "23,365.69 pts"),
        (71_200.5, "USD", "crypto", "71,200.50 USD"),
        (0.351234, "USD", "crypto", "0.35123 USD"),  # small crypto: five figures
        (2.512345, "USDT", "crypto", "2.5123 USDT"),
        (1.00012, "USD", "crypto", "1.0001 USD"),  # a stablecoin's depeg shows
        (7.12345, "CNY/USD", "fx", "7.1235 CNY/USD"),
        (155.234, "JPY/USD", "fx", "155.23 JPY/USD"),
        (4.5e12, "USD", "equity", "4.50T USD"),  # a market cap is an amount: scaled
        (999.96e6, "USD", "", "1.00B USD"),
        (74_600, "USD", "", "74,600 USD"),  # an article's figure, as it gave it
        (9.7e20, "H/s", "network", "970 EH/s"),
        (1.05e21, "H/s", "", "1.05 ZH/s"),
        (1e21, "H/s", "", "1 ZH/s"),
        (999.99e18, "H/s", "", "1 ZH/s"),
        (5e11, "H/s", "", "500 GH/s"),
    ],
)
def test_quantities_are_written_as_their_market_quotes_them(value: float, unit: str, kind: str, text: str) -> None:
    assert fmt.quantity(value, unit, kind) == text


def test_the_kind_is_the_one_every_series_shares() -> None:
    assert fmt.series_kind(["equity:AMD:last"]) == "equity"
    assert fmt.series_kind(["equity:AMD:last", "equity:NVDA:last"]) == "equity"
    assert fmt.series_kind(["equity:AMD:last", "crypto:BTC/USD:last"]) == ""


@pytest.mark.parametrize(
    ("values", "unit", "scale", "label"),
    [
        ([1.1089e21, 9.7e20], "H/s", 1e21, "ZH/s"),
        ([9.7e20], "H/s", 1e18, "EH/s"),
        ([4.5e12, 4.4e12], "USD", 1e12, "T USD"),
        ([71_200.0], "USD", 1.0, "USD"),
        ([12.0, -3.0], "%", 1.0, "%"),
        ([1.5e14], "ratio", 1e12, "ratio, ×T"),
        ([], "pts", 1.0, "pts"),
    ],
)
def test_a_chart_axis_is_scaled_and_names_its_unit(values: list[float], unit: str, scale: float, label: str) -> None:
    assert fmt.axis(values, unit) == (scale, label)


@pytest.mark.parametrize(
    ("low", "high", "labels"),
    [
        (94_637.5, 96_120.2, ["94,800", "95,000", "95,200", "95,400", "95,600", "95,800", "96,000"]),
        (83_500, 114_000, ["85,000", "90,000", "95,000", "100,000", "105,000", "110,000"]),
        (1.029, 1.133, ["1.04", "1.06", "1.08", "1.10", "1.12"]),
        (0.0494, 0.07, ["0.050", "0.055", "0.060", "0.065", "0.070"]),
        (-3.2, 4.1, ["-2", "0", "2", "4"]),
        (5.0, 5.0, ["5"]),
    ],
)
def test_chart_ticks_are_round_and_written_as_the_app_writes_numbers(low: float, high: float,
                                                                     labels: list[str]) -> None:
    places = fmt.ticks(low, high)
    assert [text for _, text in places] == labels
    assert all(low <= place <= high for place, _ in places)


def test_off_on_a_percentage_claim_is_in_percentage_points() -> None:
    rise = claim("change(equity:002865.SZ:last, since=2026-01-22, until=2026-01-23)", ">=", 20, "%")
    verdict = judge(rise, context(obs("equity:002865.SZ:last", 100, "2026-01-22T07:00:00"),
                                  obs("equity:002865.SZ:last", 110, "2026-01-23T07:00:00")))
    assert verdict.live_value == pytest.approx(10)
    assert off_text(verdict) == "-10.0 pp"  # not -50%: claimed +20 %, live +10 %


def test_off_on_a_price_is_in_percent_and_the_live_value_at_quoting_precision() -> None:
    above = claim("last(equity:AMD:last)", ">=", 300, "USD")
    verdict = judge(above, context(obs("equity:AMD:last", 250.3, ago(5))))
    assert off_text(verdict) == "-16.6%"
    assert live_text(verdict) == "250.30 USD"
    assert "250.30 USD < 300 USD claimed" in verdict.explanation


@pytest.mark.parametrize(
    ("value", "other", "unit", "text"),
    [
        (999.96e6, 1e9, "USD", "999.96M USD"),  # would read "1.00B USD", as the claim it falls short of
        (819e6, 1e9, "USD", "819M USD"),  # already apart: as quantity writes it
        (19.97, 20.0, "%", "+19.97%"),
        (0.99999e21, 1e21, "H/s", "999.99 EH/s"),
        (0.09999, 0.1, "ratio", "0.09999"),
        (100.001, 100.0, "CNY", "100.001 CNY"),
        (1e9, 1e9, "USD", "1.00B USD"),  # equal: nothing to tell apart
    ],
)
def test_a_value_beside_its_claim_never_reads_the_same_when_it_differs(value: float, other: float, unit: str,
                                                                        text: str) -> None:
    assert fmt.beside(value, other, unit, "equity" if unit == "CNY" else "") == text


def test_a_claim_just_missed_says_by_how_much_in_its_explanation() -> None:
    tesla = claim("11509 * last(crypto:BTC/USD:last)", ">", 1e9, "USD")
    verdict = judge(tesla, context(obs("crypto:BTC/USD:last", 86_885, ago(5))))
    assert verdict.explanation.endswith("= 999.96M USD < 1.00B USD claimed (>)")
    assert live_text(verdict) == "999.96M USD"
