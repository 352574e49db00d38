"""Verdicts: the comparison with tolerance, the deviation, every status, and the explanation."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import ago, context, obs
from tui.core.model import Claim, ClaimKind, Rule, Status
from tui.core.narratives.rules.ast import parse
from tui.core.narratives.rules.typecheck import typecheck
from tui.core.narratives.rules.verdict import deviation_pct, holds, judge


@pytest.mark.parametrize(
    ("live", "op", "claimed", "tol", "expected"),
    [
        (5.0, ">=", 5.0, 0, True),
        (4.99, ">=", 5.0, 0, False),
        (4.9, ">=", 5.0, 2, True),  # within 2% below
        (4.89, ">=", 5.0, 2, False),
        (5.0, ">", 5.0, 0, False),  # strict without tolerance
        (5.01, ">", 5.0, 0, True),
        (5.0, "<=", 5.0, 0, True),
        (5.0, "<", 5.0, 0, False),
        (5.1, "<", 5.0, 2, True),
        (95.0, "~", 100.0, 5, True),
        (105.0, "~", 100.0, 5, True),
        (105.1, "~", 100.0, 5, False),
        (-31.0, "<=", -30.0, 0, True),
        (-24.0, "<=", -30.0, 15, False),  # -30 + 4.5 = -25.5
        (-25.0, "<=", -30.0, 20, True),
    ],
)
def test_holds(live: float, op: str, claimed: float, tol: float, expected: bool) -> None:
    assert holds(live, op, claimed, tol) is expected


def test_deviation() -> None:
    assert deviation_pct(819.0, 1000.0) == pytest.approx(-18.1)
    assert deviation_pct(-20.0, -30.0) == pytest.approx(33.333, rel=1e-3)
    assert deviation_pct(1.0, 0.0) is None


def claim(expr: str, op: str, value: float, unit: str, tol: float = 0) -> Claim:
    node = parse(expr)
    _, series = typecheck(node)
    rule = Rule(expr, node, op, value, unit, tol, series)
    return Claim("c", "btc_treasuries", "a", date(2025, 10, 31), "s", "s", ClaimKind.CHECK, rule)


TESLA = ("11509 * last(crypto:BTC/USD:last)", ">", 1e9, "USD")


def test_diverged_with_explanation() -> None:
    verdict = judge(claim(*TESLA), context(obs("crypto:BTC/USD:last", 71_200, ago(5))))
    assert verdict.status is Status.DIVERGED
    assert verdict.live_value == pytest.approx(11509 * 71_200)
    assert verdict.deviation_pct == pytest.approx((11509 * 71_200 - 1e9) / 1e9 * 100)
    assert verdict.explanation == "11,509 × 71,200.00 USD = 819M USD < 1.00B USD claimed (>)"


def test_holds_status() -> None:
    verdict = judge(claim(*TESLA), context(obs("crypto:BTC/USD:last", 95_000, ago(5))))
    assert verdict.status is Status.HOLDS
    assert verdict.age_s == pytest.approx(5)


def test_stale_status_names_the_old_series() -> None:
    verdict = judge(claim(*TESLA), context(obs("crypto:BTC/USD:last", 95_000, ago(3600))))
    assert verdict.status is Status.STALE
    assert verdict.live_value is not None  # the last good number stays visible
    assert "crypto:BTC/USD:last is 1h old" in verdict.explanation


def test_no_data_status() -> None:
    verdict = judge(claim(*TESLA), context(obs("crypto:DOGE/USD:last", 0.1, ago(5))))
    assert verdict.status is Status.NO_DATA
    assert verdict.live_value is None and verdict.deviation_pct is None
    assert "no observations of crypto:BTC/USD:last" in verdict.explanation


def test_context_status() -> None:
    ctx_claim = Claim("k", "btc_mining", "a", date(2025, 12, 1), "s", "s", ClaimKind.CONTEXT, value=1.3e9,
                      unit="USD", note="no source carries Bhutan's holdings")
    verdict = judge(ctx_claim, context())
    assert verdict.status is Status.CONTEXT
    assert verdict.claim_value == 1.3e9
    assert "no source carries" in verdict.explanation


def test_tolerance_shown_in_explanation() -> None:
    verdict = judge(claim("4.9e9 USD * fx(USDCNY)", "~", 34.5e9, "CNY", 2), context(obs("fx:USDCNY:last", 6.95, ago(5))))
    assert verdict.status is Status.HOLDS
    assert verdict.explanation.endswith("(≈ within 2%)")
