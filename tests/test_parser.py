"""The rule parser: what it accepts, and that everything else is a clean RuleSyntaxError or RuleTypeError."""

from __future__ import annotations

import contextlib
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.core.model import TapecheckError
from tui.core.narratives.rules.ast import BinOp, Call, DateLit, Neg, Num, PairLit, RuleSyntaxError, SeriesRef, parse
from tui.core.narratives.rules.typecheck import RuleTypeError, typecheck
from tui.core.narratives.rules.units import PERCENT, RATIO, Unit


def test_parses_arithmetic_with_precedence() -> None:
    node = parse("1 + 2 * 3")
    assert isinstance(node, BinOp) and node.op == "+"
    assert isinstance(node.right, BinOp) and node.right.op == "*"


def test_parses_series_dates_pairs_and_keywords() -> None:
    node = parse("change(equity:002865.SZ:last, since=2025-11-24, until=2026-01-23)")
    assert isinstance(node, Call) and node.name == "change"
    assert node.args == (SeriesRef("equity:002865.SZ:last", 7),)
    assert [k for k, _ in node.kwargs] == ["since", "until"]
    assert node.kwargs[0][1] == DateLit(date(2025, 11, 24), node.kwargs[0][1].pos)
    fx = parse("fx(USDCNY)")
    assert isinstance(fx, Call) and isinstance(fx.args[0], PairLit)


def test_series_ids_with_yahoo_punctuation() -> None:
    for text in ("index:^IXIC:last", "commodity:GC=F:last", "equity:BRK-B:last", "crypto:BTC/USDT:last"):
        node = parse(f"last({text})")
        assert isinstance(node, Call) and node.args[0] == SeriesRef(text, 5)


def test_numbers_with_currency_and_underscores() -> None:
    assert parse("4.9e9 USD") == Num(4.9e9, 0, "USD")
    assert parse("11_509") == Num(11509.0, 0)
    neg = parse("-3")
    assert isinstance(neg, Neg) and neg.operand == Num(3.0, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os').system('echo hi')", "unexpected character"),
        ("os.system", "unexpected character"),  # no attribute access: '.' is not a token
        ("last(crypto:BTC/USD:last).real", "unexpected character"),
        ("lambda: 1", "unexpected character"),
        ("'text'", "unexpected character"),
        ("x", "unknown name"),
        ("open", "unknown name"),
        ("1 +", "expected a number"),
        ("(1 + 2", "expected '\\)'"),
        ("1 2", "unexpected"),
        ("f(a=1, 2)", "positional argument follows"),
        ("f(a=1, a=2)", "given twice"),
        ("1e400", "too large"),
        ("", "empty"),
        ("(" * 40 + "1" + ")" * 40, "nested deeper"),
        ("-" * 40 + "1", "nested deeper"),
        ("1" * 2001, "longer than"),
        ("+".join(["1"] * 250), "more than 400 tokens"),
        ("at(equity:NVDA:last, 2025-02-30)", "not a calendar date"),
    ],
)
def test_rejects_with_a_clean_error(text: str, message: str) -> None:
    with pytest.raises(RuleSyntaxError, match=message):
        parse(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope(crypto:BTC/USD:last)", "unknown function 'nope'"),
        ("eval(1)", "unknown function 'eval'"),
        ("last(stock:NVDA:last)", "unknown kind"),
        ("last(equity:NVDA:volume)", "fields"),
        ("last(equity:NVDA.XX:last)", "unknown exchange suffix"),
        ("last(crypto:BTC:last)", "BASE/QUOTE"),
        ("last(1)", "needs a series id"),
        ("crypto:BTC/USD:last", "must be read through a function"),
        ("last(equity:NVDA:last) + last(equity:688795.SS:last)", "cannot add CNY and USD"),
        ("last(equity:NVDA:last) - 1", "cannot subtract ratio and USD"),
        ("change(equity:NVDA:last)", "needs since="),
        ("change(equity:NVDA:last, since=1)", "date written YYYY-MM-DD"),
        ("change(equity:NVDA:last, since=2025-01-01, upto=2025-02-01)", "no argument 'upto'"),
        ("corr(crypto:BTC/USD:last, index:^IXIC:last, days=1.5)", "whole number of days"),
        ("corr(crypto:BTC/USD:last, index:^IXIC:last, days=99999)", "whole number of days"),
        ("fx(XXXYYY)", "not a currency pair"),
        ("fx(1)", "currency pair"),
        ("last()", "takes 1 positional"),
        ("pct(last(equity:NVDA:last), last(equity:688795.SS:last))", "one unit"),
        ("11509 BTC * last(crypto:BTC/USD:last)", "coin amounts as plain numbers"),
        ("USDCNY", "unknown name"),
        ("2025-01-01", "only be a function argument"),
    ],
)
def test_typecheck_rejects(text: str, message: str) -> None:
    with pytest.raises(RuleTypeError, match=message):
        typecheck(parse(text))


@pytest.mark.parametrize(
    ("text", "unit", "series"),
    [
        ("11509 * last(crypto:BTC/USD:last)", Unit.of("USD"), ("crypto:BTC/USD:last",)),
        ("last(equity:688795.SS:market_cap) / fx(USDCNY)", Unit.of("USD"),
         ("equity:688795.SS:market_cap", "fx:USDCNY:last")),
        ("4.9e9 USD * fx(USDCNY)", Unit.of("CNY"), ("fx:USDCNY:last",)),
        ("last(equity:0700.HK:last) * fx(HKDUSD)", Unit.of("USD"), ("equity:0700.HK:last", "fx:USDHKD:last")),
        ("last(crypto:WLD/USDT:last) * fx(USDTUSD)", Unit.of("USD"), ("crypto:WLD/USDT:last", "crypto:USDT/USD:last")),
        ("change(equity:002865.SZ:last, since=2025-11-24)", PERCENT, ("equity:002865.SZ:last",)),
        ("corr(crypto:BTC/USD:last, index:^IXIC:last, days=30)", RATIO, ("crypto:BTC/USD:last", "index:^IXIC:last")),
        ("last(network:bitcoin:hashrate)", Unit.of("H/s"), ("network:bitcoin:hashrate",)),
        ("last(equity:AMD:last) * 160e6 / last(equity:AMD:market_cap)", RATIO, ("equity:AMD:last", "equity:AMD:market_cap")),
        ("max(last(equity:NVDA:last), at(equity:NVDA:high, 2026-01-23))", Unit.of("USD"),
         ("equity:NVDA:last", "equity:NVDA:high")),
    ],
)
def test_typecheck_units_and_series(text: str, unit: Unit, series: tuple[str, ...]) -> None:
    assert typecheck(parse(text)) == (unit, series)


ALPHABET = "0123456789.eE+-*/(),=_ :^/abcdefxyzABCDUSNY lastchangecorrfx'\"[]{}#!@$%&|\\\n\t"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=120))
def test_random_text_gives_only_clean_errors(text: str) -> None:
    with contextlib.suppress(TapecheckError):
        typecheck(parse(text))


@settings(max_examples=1000, deadline=None)
@given(st.text(max_size=300))
def test_random_unicode_gives_only_clean_errors(text: str) -> None:
    with contextlib.suppress(TapecheckError):
        typecheck(parse(text))


@settings(max_examples=500, deadline=None)
@given(st.recursive(
    st.sampled_from(["1", "last(crypto:BTC/USD:last)", "fx(USDCNY)", "2.5e3 USD"]),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from("+-*/"), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda e: f"abs({e})"),
    ),
    max_leaves=20,
))
def test_generated_expressions_parse_or_fail_cleanly(text: str) -> None:
    try:
        unit, _ = typecheck(parse(text))
    except TapecheckError:
        return
    assert isinstance(unit, Unit)
