"""Which symbols to poll: every series a claim or an alert rule reads or a theme watches, grouped by the source
that carries it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from tui.core.config import AlertRule
from tui.core.model import SeriesId
from tui.core.narratives.claims import Narratives
from tui.core.narratives.rules.ast import BinOp, Call, Compare, DateLit, Neg, Node


@dataclass(frozen=True, slots=True)
class Wanted:
    """What the sources must fetch."""

    crypto_symbols: tuple[str, ...]  # ccxt symbols, e.g. "BTC/USD"
    yahoo_symbols: tuple[str, ...]  # Yahoo symbols, e.g. "NVDA", "688795.SS", "^IXIC", "CNY=X", "GC=F"
    network: bool  # whether the hashrate source is needed
    history_start: date | None  # the earliest date any rule reads (for daily history)


def yahoo_symbol(series: SeriesId) -> str:
    """The Yahoo symbol for an equity, index, fx or commodity series: fx:USDCNY → CNY=X, fx:EURUSD → EURUSD=X."""
    symbol = series.yahoo_symbol
    if symbol is None:
        raise ValueError(f"{series} is not a Yahoo series")
    return symbol


def series_for_yahoo(kind: str, symbol: str, field: str) -> str:
    """The inverse of yahoo_symbol for a kind: ("fx", "CNY=X", "last") → fx:USDCNY:last."""
    if kind == "fx":
        pair = symbol.removesuffix("=X")
        return f"fx:{'USD' + pair if len(pair) == 3 else pair}:{field}"
    return f"{kind}:{symbol}:{field}"


def _dates(node: Node) -> list[date]:
    match node:
        case DateLit(value=value):
            return [value]
        case Neg(operand=operand):
            return _dates(operand)
        case BinOp(left=left, right=right) | Compare(left=left, right=right):
            return _dates(left) + _dates(right)
        case Call(args=args, kwargs=kwargs):
            return [d for a in args for d in _dates(a)] + [d for _, v in kwargs for d in _dates(v)]
    return []


def wanted(narratives: Narratives, alert_rules: Iterable[AlertRule] = ()) -> Wanted:
    """What every claim reads, every theme watches and every alert rule of the config reads."""
    rules = [c.rule for c in narratives.claims if c.rule] + [r.rule for r in alert_rules]
    series = {s for r in rules for s in r.series} | {s for t in narratives.themes for s in t.watch}
    parsed = sorted((SeriesId.parse(s) for s in series), key=str)
    dates = [d for r in rules for d in _dates(r.ast)]
    return Wanted(
        crypto_symbols=tuple(sorted({s.symbol for s in parsed if s.kind == "crypto"})),
        yahoo_symbols=tuple(sorted({yahoo_symbol(s) for s in parsed if s.kind in ("equity", "index", "fx",
                                                                                    "commodity")})),
        network=any(s.kind == "network" for s in parsed),
        history_start=min(dates) if dates else None,
    )
