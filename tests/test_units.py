"""Unit algebra and parsing."""

from __future__ import annotations

import pytest

from tui.core.model import SeriesId, TapecheckError
from tui.core.narratives.rules.units import PERCENT, RATIO, Unit


def test_conversion_cancels() -> None:
    assert Unit.of("USD") * Unit.of("CNY/USD") == Unit.of("CNY")
    assert Unit.of("CNY") / Unit.of("CNY/USD") == Unit.of("USD")
    assert Unit.of("USD") / Unit.of("USD") == RATIO


def test_parse_and_show() -> None:
    assert str(Unit.of("CNY/USD")) == "CNY/USD"
    assert str(Unit.of("H/s")) == "H/s"
    assert Unit.of("%") == PERCENT
    assert Unit.of("ratio") == RATIO and str(RATIO) == "ratio"
    assert str(Unit.of("USD") * Unit.of("USD")) == "USD^2"


@pytest.mark.parametrize("text", ["usd", "US", "USD/CNY/HKD", "H/m", "pounds"])
def test_bad_units(text: str) -> None:
    with pytest.raises(TapecheckError):
        Unit.of(text)


@pytest.mark.parametrize(
    ("series", "unit"),
    [
        ("crypto:BTC/USDT:last", "USDT"),
        ("equity:NVDA:market_cap", "USD"),
        ("equity:688795.SS:market_cap", "CNY"),
        ("equity:300751.SZ:last", "CNY"),
        ("equity:0700.HK:last", "HKD"),
        ("equity:NCKL.JK:last", "IDR"),
        ("index:^IXIC:last", "pts"),
        ("fx:USDCNY:last", "CNY/USD"),
        ("commodity:GC=F:last", "USD"),
        ("network:bitcoin:hashrate", "H/s"),
        ("network:bitcoin:difficulty", "ratio"),
    ],
)
def test_series_units(series: str, unit: str) -> None:
    assert SeriesId.parse(series).unit == unit
