"""Evaluating a checked rule expression against a tape at a moment, keeping the numbers that went in.

Every value carries its unit, whether any input was stale, and a rendering with the numbers plugged in, so
that a verdict can say "11,509 × 71,200 USD = 819M USD" rather than just "diverged".
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from itertools import pairwise
from statistics import median

from tui.core import format as fmt
from tui.core import markets
from tui.core.model import Observation, SeriesId, TapecheckError
from tui.core.rules.ast import BinOp, Call, Compare, DateLit, Neg, Node, Num, PairLit, SeriesRef
from tui.core.rules.typecheck import fx_route, fx_unit
from tui.core.rules.units import DATE, PERCENT, RATIO, Unit
from tui.core.tape import AT_LOOKBACK, Tape, end_of_day


class NoData(TapecheckError):
    """The tape cannot answer: a series is missing, or its history is too short."""


class DisputedData(NoData):
    """The only values there are come from sources that disagree with each other: none is used as a value."""


def only_disputed(ctx: Context, series: str, after: datetime | None, day: date | None = None) -> None:
    """Raise DisputedData when the tape holds disputed values of `series` and no usable one: at ctx.now, newer
    than `after` (the freshness limit, or any age when None); on a past `day`, within a week of it."""
    disputed = getattr(ctx.tape, "disputed_latest", None)  # a tape that keeps none: nothing to say
    if disputed is None:
        return
    found = [o for o in disputed(series, ctx.now) if (after is None or o.ts >= after)
             and (day is None or end_of_day(day) - AT_LOOKBACK <= o.ts < end_of_day(day))]
    if found:
        values = ", ".join(f"{_show(o.value, Unit.of(o.unit), series)} ({o.source})"
                           for o in sorted(found, key=lambda o: o.value))
        raise DisputedData(f"only values of {series} that disagree with each other: {values}; none is used")


@dataclass(frozen=True, slots=True)
class Input:
    """One series value a rule read: the value, its age in seconds (None for a dated value) and freshness."""

    series: str
    value: float
    age_s: float | None
    stale: bool
    closed: bool = False  # the market is shut and this is its last close: not stale
    todays_shares: bool = False  # a past market value read at today's share count: no share history reaches it


@dataclass(frozen=True, slots=True)
class Value:
    value: float
    unit: Unit
    text: str
    inputs: tuple[Input, ...] = ()

    @property
    def stale(self) -> bool:
        return any(i.stale for i in self.inputs)


@dataclass(frozen=True, slots=True)
class Context:
    """What evaluation needs besides the expression: the tape, the clock, and how old is too old."""

    tape: Tape
    now: datetime
    max_age_s: Callable[[str], float]  # series id -> seconds after which a live value is stale
    history_max_age_days: int = 4  # a daily history whose last day is older than this is stale
    closed_since: Callable[[str, datetime], datetime | None] = markets.closed_since  # market hours
    # Kept across evaluations by whoever judges again and again (a dashboard): a condition's answer on each
    # past day, which depends only on the daily closes up to that day (see _condition_days).
    past_days: PastDays | None = None
    past: bool = False  # evaluated at a past day's close (then, first_date, share): see market_value


# condition -> (a fingerprint of its series' past daily closes, {day: (left, right) or None for no data})
PastDays = dict["Compare", tuple[int, dict[date, "tuple[Value, Value] | None"]]]


def _show(value: float, unit: Unit, series: str) -> str:
    """A series' value as its market quotes it."""
    return fmt.quantity(value, str(unit), fmt.series_kind([series]))


# Two middle quotes further apart than this are no one price: their mean would be a price no source quoted.
SPLIT_FACTOR = 2.0


def _median(observations: list[Observation]) -> float:
    """The median over sources; DisputedData when the sources split in two camps that far apart."""
    values = sorted(o.value for o in observations)
    middle = len(values) // 2
    if len(values) % 2 == 0 and values[middle - 1] > 0 and values[middle] / values[middle - 1] > SPLIT_FACTOR:
        quoted = ", ".join(f"{_show(o.value, Unit.of(o.unit), o.series)} ({o.source})"
                           for o in sorted(observations, key=lambda o: o.value))
        raise DisputedData(f"the sources of {observations[0].series} split: {quoted}; their median would be a "
                           "price none of them quoted")
    return float(median(values))


def fresh_after(ctx: Context, series: str) -> datetime:
    """The oldest time a live value of `series` may have and still be fresh at ctx.now.

    Outside its session a market's last value is current if it was printed by (about) the last close.
    """
    closed = ctx.closed_since(series, ctx.now)
    return (closed or ctx.now) - timedelta(seconds=ctx.max_age_s(series))


def last(ctx: Context, series: str) -> Value:
    observations = ctx.tape.latest(series, ctx.now)
    if not observations:
        only_disputed(ctx, series, None)
        raise NoData(f"no observations of {series}")
    closed = ctx.closed_since(series, ctx.now)
    fresh = [o for o in observations if o.ts >= fresh_after(ctx, series)]
    if not fresh:
        only_disputed(ctx, series, fresh_after(ctx, series))
    used = fresh or observations
    value = _median(used)
    age = max((ctx.now - o.ts).total_seconds() for o in used)
    unit = Unit.of(SeriesId.parse(series).unit)
    inputs = (Input(series, value, age, stale=not fresh, closed=bool(fresh) and closed is not None),)
    return Value(value, unit, _show(value, unit, series), inputs)


def at(ctx: Context, series: str, day: date) -> Value:
    if day > ctx.now.date():
        raise NoData(f"{day} is after the evaluation time {ctx.now:%Y-%m-%d %H:%M} UTC")
    if end_of_day(day) > ctx.now:  # today: only what is known by now (a replay must not see ahead)
        start = end_of_day(day) - AT_LOOKBACK
        observations = [o for o in ctx.tape.latest(series, ctx.now) if o.ts >= start]
    else:
        observations = ctx.tape.at(series, day)
    if not observations:
        only_disputed(ctx, series, None, day)
        raise NoData(f"no value of {series} in the week up to {day}")
    value = _median(observations)
    unit = Unit.of(SeriesId.parse(series).unit)
    return Value(value, unit, f"{_show(value, unit, series)} on {day}", (Input(series, value, None, False),))


def change(ctx: Context, series: str, since: date, until: date | None) -> Value:
    start = market_value(ctx, series, since, at(ctx, series, since))
    end = market_value(ctx, series, until, at(ctx, series, until)) if until else read_last(ctx, series)
    if start.value == 0:
        raise NoData(f"{series} was 0 on {since}: no percent change from zero")
    pct = (end.value / start.value - 1) * 100
    return Value(pct, PERCENT, f"{fmt.quantity(pct, '%')} ({start.text} → {end.text})",
                 start.inputs + end.inputs)


def read_last(ctx: Context, series: str) -> Value:
    """`last()` as a rule reads it: at a past day's close a market value is that day's (see market_value)."""
    value = last(ctx, series)
    return market_value(ctx, series, ctx.now.date(), value) if ctx.past else value


def market_value(ctx: Context, series: str, day: date, read: Value) -> Value:
    """A market value on a past day: that day's close × the share count in force that day (the latest value of
    the symbol's `:shares` series on or before it), so that a buyback since does not move it. Any other series,
    a market value of today, and a live one are as read. Where no share count reaches back to the day, the value
    read (the collector's daily value: that day's close × today's count) is kept, and says so: "at today's
    share count", a flag on its inputs that keeps such a verdict from being final."""
    parsed = SeriesId.parse(series)
    if parsed.field != "market_cap" or (day >= ctx.now.date() and not ctx.past):
        return read
    moment = min(end_of_day(day) - timedelta(milliseconds=1), ctx.now)
    counts = ctx.tape.latest(f"{parsed.kind}:{parsed.symbol}:shares", moment)
    if counts:
        close_series = f"{parsed.kind}:{parsed.symbol}:last"
        try:
            close = last(ctx, close_series) if ctx.past and day == ctx.now.date() else at(ctx, close_series, day)
        except NoData:
            close = None
        if close is not None:
            count = _median(counts)
            value = close.value * count
            text = f"{_show(value, read.unit, series)} on {day} ({_show(close.value, read.unit, close_series)} × " \
                   f"{fmt.number(count)} shares of {max(o.ts for o in counts):%Y-%m-%d})"
            return Value(value, read.unit, text, tuple(replace(i, value=value) for i in read.inputs))
    return Value(read.value, read.unit, f"{read.text} at today's share count",
                 tuple(replace(i, todays_shares=True) for i in read.inputs))


def assumed(*values: Value) -> tuple[Input, ...]:
    """The inputs of `values` read at today's share count: a date or a share of days found from them carries
    them on, so that the verdict says it is not final."""
    return tuple(i for v in values for i in v.inputs if i.todays_shares)


def pct(a: Value, b: Value) -> Value:
    if b.value == 0:
        raise NoData("pct() divides by a value of 0")
    result = (a.value / b.value - 1) * 100
    return Value(result, PERCENT, f"{fmt.quantity(result, '%')} ({a.text} vs {b.text})", a.inputs + b.inputs)


def _daily_returns(ctx: Context, a: str, b: str, days: int, func: str
                   ) -> tuple[list[date], list[float], list[float], tuple[Input, ...]]:
    """The last `days` daily returns of a and b on the dates both have, and the closes they end on."""
    closes_a = dict(ctx.tape.daily(a, ctx.now))
    closes_b = dict(ctx.tape.daily(b, ctx.now))
    common = sorted(set(closes_a) & set(closes_b))
    needed = days + 1
    if len(common) < needed:
        raise NoData(f"{func}() needs {needed} days that both {a} and {b} have, found {len(common)}")
    window = common[-needed:]
    returns_a = [closes_a[d1] / closes_a[d0] - 1 for d0, d1 in pairwise(window)]
    returns_b = [closes_b[d1] / closes_b[d0] - 1 for d0, d1 in pairwise(window)]
    stale = (ctx.now.date() - window[-1]).days > ctx.history_max_age_days
    age = (ctx.now - end_of_day(window[-1])).total_seconds()
    inputs = (Input(a, closes_a[window[-1]], age, stale), Input(b, closes_b[window[-1]], age, stale))
    return window, returns_a, returns_b, inputs


def corr(ctx: Context, a: str, b: str, days: int) -> Value:
    window, returns_a, returns_b, inputs = _daily_returns(ctx, a, b, days, "corr")
    value = pearson(returns_a, returns_b)
    if value is None:
        raise NoData(f"corr(): one of {a}, {b} did not move over the window")
    text = f"{fmt.number(value)} ({days} daily returns, {window[0]} to {window[-1]})"
    return Value(value, RATIO, text, inputs)


def beta(ctx: Context, a: str, b: str, days: int) -> Value:
    """The slope of a's daily returns on b's: how many percent a moves for each percent b moves."""
    window, returns_a, returns_b, inputs = _daily_returns(ctx, a, b, days, "beta")
    n = len(returns_b)
    mean_a, mean_b = sum(returns_a) / n, sum(returns_b) / n
    var_b = sum((y - mean_b) ** 2 for y in returns_b)
    if var_b <= 0:
        raise NoData(f"beta(): {b} did not move over the window")
    value = sum((x - mean_a) * (y - mean_b) for x, y in zip(returns_a, returns_b, strict=True)) / var_b
    text = f"{fmt.number(value)} ({days} daily returns, {window[0]} to {window[-1]})"
    return Value(value, RATIO, text, inputs)


def pearson(xs: list[float], ys: list[float]) -> float | None:
    """The Pearson correlation of two equal-length lists, or None when either has no variance."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    cov = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    var_x = sum((x - mean_x) ** 2 for x in xs)
    var_y = sum((y - mean_y) ** 2 for y in ys)
    if var_x <= 0 or var_y <= 0:
        return None
    return max(-1.0, min(1.0, cov / math.sqrt(var_x * var_y)))


def fx(ctx: Context, pair: str) -> Value:
    route = fx_route(pair)
    rate = last(ctx, route.series)
    unit = fx_unit(pair)
    if not route.invert:
        return Value(rate.value, unit, rate.text, rate.inputs)
    value = 1 / rate.value
    return Value(value, unit, f"1 / {rate.text}", rate.inputs)


class _HistoryTape:
    """The tape as first_date() and share() see it on each past day: daily closes are read once, up to the
    evaluation time, and cut at the day asked for, so that years of days cost one read per series. A day's
    latest value is its daily close (the median over sources of each one's last value that day)."""

    def __init__(self, tape: Tape, now: datetime) -> None:
        self.tape = tape
        self.now = now
        self._daily: dict[str, list[tuple[date, float]]] = {}
        self._units: dict[str, str] = {}

    def latest(self, series: str, now: datetime) -> list[Observation]:
        rows = self.daily(series, now)
        if not rows:
            return []
        day, value = rows[-1]
        stamp = min(end_of_day(day) - timedelta(milliseconds=1), now)
        unit = self._units.setdefault(series, SeriesId.parse(series).unit)
        return [Observation(series, value, unit, stamp, "daily close")]

    def at(self, series: str, day: date) -> list[Observation]:
        return self.tape.at(series, day)

    def daily(self, series: str, now: datetime) -> list[tuple[date, float]]:
        if series not in self._daily:
            self._daily[series] = self.tape.daily(series, self.now)
        rows = self._daily[series]
        return rows[:bisect.bisect_right(rows, now.date(), key=lambda r: r[0])]

    def series_ids(self) -> set[str]:
        return self.tape.series_ids()

    def disputed_latest(self, series: str, now: datetime) -> list[Observation]:
        disputed = getattr(self.tape, "disputed_latest", None)
        return [] if disputed is None else list(disputed(series, now))


MAX_CONDITION_DAYS = 3660


def _series_in(node: Node) -> list[str]:
    """Every series a condition reads (fx pairs through their route), in order of appearance."""
    match node:
        case SeriesRef(series=series):
            return [series]
        case PairLit(name=name):
            return [fx_route(name).series]
        case Neg(operand=operand):
            return _series_in(operand)
        case BinOp(left=left, right=right) | Compare(left=left, right=right):
            return _series_in(left) + _series_in(right)
        case Call(args=args, kwargs=kwargs):
            return [s for arg in (*args, *(v for _, v in kwargs)) for s in _series_in(arg)]
    return []


def _condition_days(ctx: Context, cond: Compare, since: date, until: date | None
                    ) -> Iterator[tuple[date, Value, Value]]:
    """Each day from `since` (to `until`, or to now) on which some series of the condition has a daily value,
    with both sides evaluated at that day's close; days the tape cannot answer are left out."""
    tape = _HistoryTape(ctx.tape, ctx.now)
    end = min(until or ctx.now.date(), ctx.now.date())
    days = sorted({d for series in dict.fromkeys(_series_in(cond)) for d, _ in tape.daily(series, ctx.now)
                   if since <= d <= end})[-MAX_CONDITION_DAYS:]
    slack = ctx.history_max_age_days * 86_400.0
    today = ctx.now.date()
    known = _past_days(ctx, tape, cond, today)
    for day in days:
        if day in known:
            answer = known[day]
        else:
            moment = min(end_of_day(day) - timedelta(milliseconds=1), ctx.now)
            sub = Context(tape, moment, lambda _series: slack, ctx.history_max_age_days,
                          closed_since=lambda _series, _now: None, past=True)
            try:
                answer = evaluate(cond.left, sub), evaluate(cond.right, sub)
            except NoData:
                answer = None
            if day < today:
                known[day] = answer
        if answer is not None:
            yield day, *answer


def _past_days(ctx: Context, tape: _HistoryTape, cond: Compare, today: date) -> dict[date, tuple[Value, Value] | None]:
    """The answers of `cond` on past days kept in ctx.past_days, while its series' closes before today are
    those they were answered from (a new day, a history fetched again: answered again); a dict to fill."""
    if ctx.past_days is None:
        return {}
    closes = tuple(tuple(tape.daily(series, ctx.now)) for series in dict.fromkeys(_series_in(cond)))
    fingerprint = hash(tuple(tuple(row for row in rows if row[0] < today) for rows in closes))
    kept = ctx.past_days.get(cond)
    if kept is None or kept[0] != fingerprint:
        kept = (fingerprint, {})
        ctx.past_days[cond] = kept
    return kept[1]


def compare(left: float, op: str, right: float) -> bool:
    return {">=": left >= right, ">": left > right, "<=": left <= right, "<": left < right}[op]


def first_date(ctx: Context, cond: Compare, since: date) -> Value:
    seen = 0
    for day, left, right in _condition_days(ctx, cond, since, None):
        seen += 1
        if compare(left.value, cond.op, right.value):
            text = f"{day} (first day from {since} with {left.text} {cond.op} {_like(right, left)})"
            return Value(float(day.toordinal()), DATE, text, assumed(left, right))
    raise NoData(f"first_date(): not yet on any of {seen} days from {since}")


def _like(bare: Value, other: Value) -> str:
    """A bare number compared with a quantity, written in that quantity's unit (1e21 beside a hashrate: 1 ZH/s)."""
    if bare.unit == RATIO and not bare.inputs and other.unit != RATIO:
        return fmt.quantity(bare.value, str(other.unit))
    return bare.text


def share(ctx: Context, cond: Compare, since: date, until: date | None) -> Value:
    held, days = 0, []
    flagged: tuple[Input, ...] = ()
    for day, left, right in _condition_days(ctx, cond, since, until):
        days.append(day)
        held += compare(left.value, cond.op, right.value)
        flagged = flagged or assumed(left, right)
    if not days:
        raise NoData(f"share(): no day from {since} to {until or 'now'} could be judged")
    result = held / len(days) * 100
    stale = until is None and (ctx.now.date() - days[-1]).days > ctx.history_max_age_days
    inputs = (Input(_series_in(cond)[0], result, (ctx.now - end_of_day(days[-1])).total_seconds(), stale),) \
        if stale else ()
    text = f"{fmt.quantity(result, '%')} ({held} of {len(days)} days from {days[0]} to {days[-1]})"
    return Value(result, PERCENT, text + (" at today's share count" if flagged else ""), inputs + flagged)


def _arith(op: str, a: Value, b: Value) -> Value:
    if op == "+":
        value, unit = a.value + b.value, a.unit
    elif op == "-":
        value, unit = a.value - b.value, a.unit
    elif op == "*":
        value, unit = a.value * b.value, a.unit * b.unit
    else:
        if b.value == 0:
            raise NoData("division by zero")
        value, unit = a.value / b.value, a.unit / b.unit
    if not math.isfinite(value):
        raise NoData("the result is not a finite number")
    symbol = {"*": "×", "/": "÷"}.get(op, op)
    return Value(value, unit, f"{a.text} {symbol} {b.text}", a.inputs + b.inputs)


def evaluate(node: Node, ctx: Context) -> Value:
    """The value of a type-checked expression, or NoData when the tape cannot answer."""
    match node:
        case Num(value=value, unit=unit):
            return Value(value, Unit.of(unit), fmt.quantity(value, unit)) if unit else \
                Value(value, RATIO, fmt.number(value))
        case Neg(operand=operand):
            inner = evaluate(operand, ctx)
            return Value(-inner.value, inner.unit, f"−{inner.text}", inner.inputs)
        case BinOp(op=op, left=left, right=right):
            a = _grouped(evaluate(left, ctx), left, op, right_side=False)
            b = _grouped(evaluate(right, ctx), right, op, right_side=True)
            return _arith(op, a, b)
        case Call():
            return _call(node, ctx)
    raise AssertionError(f"not a value node: {node!r}")


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def _grouped(value: Value, node: Node, parent_op: str, right_side: bool) -> Value:
    """Wrap an operand's text in parentheses where the rendering would otherwise read differently."""
    if not isinstance(node, BinOp):
        return value
    child, parent = _PRECEDENCE[node.op], _PRECEDENCE[parent_op]
    if child < parent or (right_side and child == parent and parent_op in "-/"):
        return Value(value.value, value.unit, f"({value.text})", value.inputs)
    return value


def _series(node: Node) -> str:
    assert isinstance(node, SeriesRef)
    return node.series


def _date(node: Node | None) -> date | None:
    if node is None:
        return None
    assert isinstance(node, DateLit)
    return node.value


def _call(node: Call, ctx: Context) -> Value:
    kwargs = dict(node.kwargs)
    args = node.args
    match node.name:
        case "last":
            return read_last(ctx, _series(args[0]))
        case "at":
            day = _date(args[1])
            assert day is not None
            return market_value(ctx, _series(args[0]), day, at(ctx, _series(args[0]), day))
        case "change":
            since = _date(kwargs["since"])
            assert since is not None
            return change(ctx, _series(args[0]), since, _date(kwargs.get("until")))
        case "pct":
            return pct(evaluate(args[0], ctx), evaluate(args[1], ctx))
        case "corr":
            days = kwargs["days"]
            assert isinstance(days, Num)
            return corr(ctx, _series(args[0]), _series(args[1]), int(days.value))
        case "beta":
            days = kwargs["days"]
            assert isinstance(days, Num)
            return beta(ctx, _series(args[0]), _series(args[1]), int(days.value))
        case "first_date":
            assert isinstance(args[0], Compare)
            since = _date(kwargs["since"])
            assert since is not None
            return first_date(ctx, args[0], since)
        case "share":
            assert isinstance(args[0], Compare)
            since = _date(kwargs["since"])
            assert since is not None
            return share(ctx, args[0], since, _date(kwargs.get("until")))
        case "fx":
            assert isinstance(args[0], PairLit)
            return fx(ctx, args[0].name)
        case "abs":
            inner = evaluate(args[0], ctx)
            return Value(abs(inner.value), inner.unit, f"|{inner.text}|", inner.inputs)
        case "min" | "max":
            a, b = evaluate(args[0], ctx), evaluate(args[1], ctx)
            pick = (min if node.name == "min" else max)(a, b, key=lambda v: v.value)
            return Value(pick.value, pick.unit, f"{node.name}({a.text}, {b.text})", a.inputs + b.inputs)
    raise AssertionError(f"unchecked function {node.name}")
