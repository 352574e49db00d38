"""Static checks of a parsed rule: known functions with the right arguments, known series, consistent units.

Run once when a claim file loads, so that a rule that could never evaluate is refused before the app starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from tui.core.model import SeriesId, TapecheckError
from tui.core.narratives.rules.ast import BinOp, Call, Compare, DateLit, Neg, Node, Num, PairLit, SeriesRef
from tui.core.narratives.rules.units import DATE, PERCENT, RATIO, Unit

FIAT = frozenset({"USD", "CNY", "HKD", "IDR", "JPY", "KRW", "EUR", "GBP", "CHF", "SGD", "TWD", "AUD", "CAD"})
STABLECOINS = frozenset({"USDT", "USDC"})
CRYPTO = STABLECOINS | {"BTC", "ETH", "DOGE", "WLD", "SOL"}


class RuleTypeError(TapecheckError):
    """A rule that parses but cannot be evaluated: unknown function or series, wrong arguments, mixed units."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"{message} (column {column + 1})")
        self.column = column


@dataclass(frozen=True, slots=True)
class Signature:
    """Positional argument kinds, and keyword arguments with whether each is required."""

    args: tuple[str, ...]
    kwargs: tuple[tuple[str, str, bool], ...] = ()


# Argument kinds: "series" a series id, "date" a YYYY-MM-DD literal, "pair" a currency pair name,
# "days" a whole number of days, "value" any numeric expression, "condition" a comparison `a op b` judged on
# each day (first_date, share).
SIGNATURES: dict[str, Signature] = {
    "last": Signature(("series",)),
    "at": Signature(("series", "date")),
    "change": Signature(("series",), (("since", "date", True), ("until", "date", False))),
    "pct": Signature(("value", "value")),
    "corr": Signature(("series", "series"), (("days", "days", True),)),
    "beta": Signature(("series", "series"), (("days", "days", True),)),
    "first_date": Signature(("condition",), (("since", "date", True),)),
    "share": Signature(("condition",), (("since", "date", True), ("until", "date", False))),
    "fx": Signature(("pair",)),
    "abs": Signature(("value",)),
    "min": Signature(("value", "value")),
    "max": Signature(("value", "value")),
}
MAX_CORR_DAYS = 3650


@dataclass(frozen=True, slots=True)
class FxRoute:
    """Where fx(PAIR) reads its rate, and whether to invert it."""

    series: str
    invert: bool


def split_pair(pair: str) -> tuple[str, str] | None:
    for cut in range(3, len(pair) - 2):
        base, quote = pair[:cut], pair[cut:]
        if {base, quote} <= FIAT | CRYPTO and base != quote:
            return base, quote
    return None


def fx_route(pair: str) -> FxRoute:
    """fx(USDCNY) reads fx:USDCNY:last; fx(CNYUSD) inverts it; crypto pairs read the exchanges."""
    split = split_pair(pair)
    if split is None:
        raise TapecheckError(f"{pair!r} is not a currency pair we know (such as USDCNY or USDTUSD)")
    base, quote = split
    if base in CRYPTO or quote in CRYPTO:
        if quote == "USD" or base in CRYPTO:
            return FxRoute(f"crypto:{base}/{quote}:last", invert=False)
        return FxRoute(f"crypto:{quote}/{base}:last", invert=True)
    if base == "USD":
        return FxRoute(f"fx:USD{quote}:last", invert=False)
    if quote == "USD":
        return FxRoute(f"fx:USD{base}:last", invert=True)
    return FxRoute(f"fx:{pair}:last", invert=False)


def fx_unit(pair: str) -> Unit:
    base, quote = split_pair(pair) or ("", "")
    return Unit.of(quote) / Unit.of(base)


DAILY_FUNCTIONS = frozenset({"first_date", "share"})


class _Checker:
    def __init__(self) -> None:
        self.series: list[str] = []
        self.in_condition = False

    def note_series(self, text: str) -> None:
        if text not in self.series:
            self.series.append(text)

    def unit(self, node: Node) -> Unit:
        match node:
            case Num(unit=unit, pos=pos):
                if unit in CRYPTO - STABLECOINS:
                    raise RuleTypeError(f"write coin amounts as plain numbers (11509 * last(crypto:{unit}/USD:last)),"
                                        f" not {unit}", pos)
                return Unit.of(unit) if unit else RATIO
            case Neg(operand=operand, pos=pos):
                if self.unit(operand) == DATE:
                    raise RuleTypeError("a date (first_date()) cannot be negated", pos)
                return self.unit(operand)
            case BinOp(op=op, left=left, right=right, pos=pos):
                lu, ru = self.unit(left), self.unit(right)
                if DATE in (lu, ru):  # first_date() * 1000 is no quantity: a day is only compared with a day
                    raise RuleTypeError("a date (first_date()) takes no arithmetic: compare it with a date, "
                                        "e.g. first_date(...) <= 2026-06-30", pos)
                if op == "*":
                    return lu * ru
                if op == "/":
                    return lu / ru
                if lu != ru:
                    raise RuleTypeError(f"cannot {'add' if op == '+' else 'subtract'} {ru} and {lu}", pos)
                return lu
            case SeriesRef(series=text, pos=pos):
                raise RuleTypeError(f"series {text} must be read through a function such as last()", pos)
            case DateLit(pos=pos):
                raise RuleTypeError("a date can only be a function argument", pos)
            case PairLit(name=name, pos=pos):
                raise RuleTypeError(f"unknown name {name!r}", pos)
            case Compare(pos=pos):
                raise RuleTypeError("a comparison can only be the condition of first_date() or share()", pos)
            case Call():
                return self.call(node)
        raise AssertionError(node)

    def series_arg(self, node: Node, func: str) -> Unit:
        if not isinstance(node, SeriesRef):
            raise RuleTypeError(f"{func}() needs a series id such as crypto:BTC/USD:last", node.pos)
        try:
            series = SeriesId.parse(node.series)
        except TapecheckError as error:
            raise RuleTypeError(str(error), node.pos) from None
        self.note_series(node.series)
        return Unit.of(series.unit)

    def arg(self, kind: str, node: Node, func: str) -> Unit:
        if kind == "series":
            return self.series_arg(node, func)
        if kind == "date" and not isinstance(node, DateLit):
            raise RuleTypeError(f"{func}() needs a date written YYYY-MM-DD here", node.pos)
        if kind == "days" and not (isinstance(node, Num) and node.value.is_integer()
                                   and 2 <= node.value <= MAX_CORR_DAYS):
            raise RuleTypeError(f"{func}() needs a whole number of days from 2 to {MAX_CORR_DAYS}", node.pos)
        if kind == "pair":
            if not isinstance(node, PairLit):
                raise RuleTypeError(f"{func}() needs a currency pair such as USDCNY", node.pos)
            try:
                self.note_series(fx_route(node.name).series)
            except TapecheckError as error:
                raise RuleTypeError(str(error), node.pos) from None
            return fx_unit(node.name)
        if kind == "value":
            return self.unit(node)
        if kind == "condition":
            return self.condition(node, func)
        return RATIO

    def condition(self, node: Node, func: str) -> Unit:
        """`a op b` with a and b in one unit; a plain number takes the other side's unit (`>= 1e21`)."""
        if not isinstance(node, Compare):
            raise RuleTypeError(f"{func}() needs a condition such as last(network:bitcoin:hashrate) >= 1e21",
                                node.pos)
        self.in_condition = True
        try:
            lu, ru = self.unit(node.left), self.unit(node.right)
        finally:
            self.in_condition = False
        plain = {side for side, n in (("l", node.left), ("r", node.right)) if isinstance(n, Num) and not n.unit}
        if lu != ru and not plain:
            raise RuleTypeError(f"{func}(): cannot compare {lu} with {ru}", node.pos)
        return RATIO

    def call(self, node: Call) -> Unit:
        sig = SIGNATURES.get(node.name)
        if sig is None:
            known = ", ".join(sorted(SIGNATURES))
            raise RuleTypeError(f"unknown function {node.name!r} (known: {known})", node.pos)
        if node.name in DAILY_FUNCTIONS and self.in_condition:
            raise RuleTypeError(f"{node.name}() cannot be used inside another condition", node.pos)
        if len(node.args) != len(sig.args):
            raise RuleTypeError(f"{node.name}() takes {len(sig.args)} positional argument(s), "
                                f"got {len(node.args)}", node.pos)
        units = [self.arg(kind, arg, node.name) for kind, arg in zip(sig.args, node.args, strict=True)]
        allowed = {name: kind for name, kind, _ in sig.kwargs}
        for name, value in node.kwargs:
            if name not in allowed:
                raise RuleTypeError(f"{node.name}() has no argument {name!r}", value.pos)
            self.arg(allowed[name], value, node.name)
        given = {name for name, _ in node.kwargs}
        for name, _, required in sig.kwargs:
            if required and name not in given:
                raise RuleTypeError(f"{node.name}() needs {name}=", node.pos)
        days = {name: value.value for name, value in node.kwargs if isinstance(value, DateLit)}
        if "since" in days and "until" in days and days["since"] > days["until"]:
            raise RuleTypeError(f"{node.name}(): since={days['since']} is after until={days['until']}", node.pos)
        if node.name in ("pct", "min", "max") and units[0] != units[1]:
            raise RuleTypeError(f"{node.name}() needs both arguments in one unit, got {units[0]} and "
                                f"{units[1]}", node.pos)
        if node.name in ("change", "pct"):
            return PERCENT
        if node.name in ("corr", "beta"):
            return RATIO
        if node.name == "first_date":
            return DATE
        if node.name == "share":
            return PERCENT
        return units[0]


def typecheck(node: Node) -> tuple[Unit, tuple[str, ...]]:
    """The unit of a parsed expression and the series it reads, or RuleTypeError."""
    checker = _Checker()
    unit = checker.unit(node)
    return unit, tuple(checker.series)
