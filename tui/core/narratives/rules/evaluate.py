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
from statistics import median

from tui.core import format as fmt
from tui.core import markets
from tui.core.model import Evidence, Observation, SeriesId, TapecheckError
from tui.core.narratives.rules.ast import BinOp, Call, Compare, DateLit, Neg, Node, Num, PairLit, SeriesRef
from tui.core.narratives.rules.kept import KeptWindow, KeptWindows
from tui.core.narratives.rules.typecheck import fx_route, fx_unit
from tui.core.narratives.rules.units import DATE, PERCENT, RATIO, Unit
from tui.core.narratives.rules.windows import PURE_WINDOWS, Windows
from tui.core.narratives.rules.windows import pearson as pearson  # re-exported: the draft measures use it
from tui.core.tape import Tape, end_of_day


class NoData(TapecheckError):
    """The tape cannot answer: a series is missing, or its history is too short."""


class DisputedData(NoData):
    """The only values there are come from sources that disagree with each other: none is used as a value."""


def only_disputed(ctx: Context, series: str, after: datetime | None, day: date | None = None) -> None:
    """Raise DisputedData when the tape holds disputed values of `series` and no usable one: at ctx.now, newer
    than `after` (the freshness limit, or any age when None); on a past `day`, of that day."""
    disputed = getattr(ctx.tape, "disputed_latest", None)  # a tape that keeps none: nothing to say
    if disputed is None:
        return
    found = [o for o in disputed(series, ctx.now) if (after is None or o.ts >= after)
             and (day is None or o.ts.date() == day)]
    if found:
        values = ", ".join(f"{_show(o.value, Unit.of(o.unit), series)} ({o.source})"
                           for o in sorted(found, key=lambda o: o.value))
        raise DisputedData(f"only values of {series} that disagree with each other: {values}; none is used")


class NotYet(NoData):
    """first_date(): the condition held on none of the days the data holds, which run to `data_to`."""

    def __init__(self, message: str, data_to: date | None, evidence: tuple[Evidence, ...] = ()) -> None:
        super().__init__(message)
        self.data_to = data_to
        self.evidence = evidence


@dataclass(frozen=True, slots=True)
class Input:
    """One series value a rule read: the value, its age in seconds (None for a dated value) and freshness."""

    series: str
    value: float
    age_s: float | None
    stale: bool
    closed: bool = False  # the market is shut and this is its last close: not stale
    todays_shares: bool = False  # a past market value read at today's share count: no share history reaches it
    evidence: tuple[Evidence, ...] = ()  # the observations behind the value, each under its own date


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
    # Judging as of a past day's close (a claim's own date, each day of a window): last() is that day's bar.
    on_day: date | None = None
    # How share(), corr() and beta() get their windows: pure Python here; `check` and the collector pass
    # tui.core.narratives.rules.columnar's polars version (the viewer never imports polars).
    windows: Windows | None = None
    # Kept across evaluations by a dashboard: what corr() and beta() work out from past days' closes alone.
    kept_windows: KeptWindows | None = None

    @property
    def past(self) -> bool:
        """Whether evaluation is at a past day's close (then, each day of a window): see market_value."""
        return self.on_day is not None


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


def _evidence(observations: list[Observation], day: date | None = None, note: str | None = None,
              exact: bool = True) -> tuple[Evidence, ...]:
    return tuple(Evidence(o.series, o.source, day or o.ts.date(), o.value, o.unit, o.ts, note, exact)
                 for o in sorted(observations, key=lambda o: o.source))


def bar(ctx: Context, series: str, day: date) -> Value:
    """`series`' value on `day`: that day's bar (each source's last value of the UTC day, their median). On a
    day its market had no session (a weekend, a holiday by the exchange's calendar) the last session's bar,
    labelled with its own date; on a session day with no bar, NoData: "no data on D", never the bar before."""
    if day > ctx.now.date():
        raise NoData(f"{day} is after the evaluation time {ctx.now:%Y-%m-%d %H:%M} UTC")
    try:
        session = markets.session_on_or_before(series, day)
    except TapecheckError:
        session = day
    if end_of_day(session) > ctx.now:  # today: only what is known by now (a replay must not see ahead)
        observations = [o for o in ctx.tape.latest(series, ctx.now) if o.ts.date() == session]
    else:
        observations = [o for o in ctx.tape.at(series, session) if o.ts.date() == session]
    shut = f" (its market's last session on or before {day})" if session != day else ""
    if not observations:
        only_disputed(ctx, series, None, session)
        raise NoData(f"no data on {session} for {series}{shut}")
    value = _median(observations)
    unit = Unit.of(SeriesId.parse(series).unit)
    note = f"last session before {day}" if session != day else None
    partial = end_of_day(session) > ctx.now and ctx.on_day is None  # today's bar, still being made
    text = f"{_show(value, unit, series)} on {session}"
    evidence = _evidence(observations, session, "today so far" if partial else note, exact=not partial)
    return Value(value, unit, text, (Input(series, value, None, False, evidence=evidence),))


def last(ctx: Context, series: str) -> Value:
    if ctx.on_day is not None:
        return bar(ctx, series, ctx.on_day)
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
    inputs = (Input(series, value, age, stale=not fresh, closed=bool(fresh) and closed is not None,
                    evidence=_evidence(used, note="live" if fresh else "latest, stale", exact=False)),)
    return Value(value, unit, _show(value, unit, series), inputs)


def at(ctx: Context, series: str, day: date) -> Value:
    return bar(ctx, series, day)


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
            counted = tuple(Evidence(o.series, o.source, o.ts.date(), o.value, o.unit, o.ts,
                                     f"the share count in force on {day}") for o in counts)
            evidence = tuple(e for i in close.inputs for e in i.evidence) + counted
            return Value(value, read.unit, text,
                         tuple(replace(i, value=value, evidence=evidence) for i in read.inputs))
    return Value(read.value, read.unit, f"{read.text} at today's share count",
                 tuple(replace(i, todays_shares=True, evidence=tuple(
                     replace(e, assumed=True, note="at today's share count") for e in i.evidence))
                       for i in read.inputs))


def assumed(*values: Value) -> tuple[Input, ...]:
    """The inputs of `values` read at today's share count: a date or a share of days found from them carries
    them on, so that the verdict says it is not final."""
    return tuple(i for v in values for i in v.inputs if i.todays_shares)


def pct(a: Value, b: Value) -> Value:
    if b.value == 0:
        raise NoData("pct() divides by a value of 0")
    result = (a.value / b.value - 1) * 100
    return Value(result, PERCENT, f"{fmt.quantity(result, '%')} ({a.text} vs {b.text})", a.inputs + b.inputs)


def _common(ctx: Context, series: tuple[str, ...]
            ) -> tuple[list[date], list[list[float]], int, KeptWindow | None]:
    """The common trading days of `series` (every one has a bar) with their closes, how many of them are
    up to ctx.now (the lists may run on: a window's history is read once and cut by index, never copied), and
    where the context keeps windows, what is kept of theirs (the past days' part)."""
    tape = ctx.tape
    if isinstance(tape, _HistoryTape):
        days, columns = tape.common(series)
        return days, columns, bisect.bisect_right(days, ctx.now.date()), None
    closes = [tape.daily(s, ctx.now) for s in series]
    if ctx.kept_windows is None:
        days, columns = _windows(ctx).common(closes)
        return days, columns, len(days), None
    kept = ctx.kept_windows.window(series, closes, ctx.now.date(), _windows(ctx).common)
    days, columns = kept.common(closes, _windows(ctx).common)
    return days, columns, len(days), kept


def _windows(ctx: Context) -> Windows:
    return ctx.windows or PURE_WINDOWS


def _last_common_session(series: tuple[str, ...], day: date) -> date:
    """The last day on or before `day` on which every series' market had a session."""
    for back in range(22):
        earlier = day - timedelta(days=back)
        if all(_is_session(s, earlier) for s in series):
            return earlier
    return day - timedelta(days=21)


def _is_session(series: str, day: date) -> bool:
    try:
        return markets.is_session_day(series, day)
    except TapecheckError:
        return day.weekday() < 5


def _partial(ctx: Context, day: date) -> bool:
    """Whether `day`'s bar may still change: it is today's, judged live (as of a past day's close, the day is
    taken as over; tui.core.judge.then keeps nothing of a day that is not)."""
    return ctx.on_day is None and day >= ctx.now.date()


def _gaps(series: str, have: set[date], start: date, end: date, today: date) -> list[date]:
    """The session days of `series`' market from start to end (today aside: its bar may be still to come) on
    which it has no bar."""
    missing, day = [], start
    while day <= end:
        if day not in have and day != today and _is_session(series, day):
            missing.append(day)
        day += timedelta(days=1)
    return missing


def _window_evidence(ctx: Context, series: tuple[str, ...], first: date, final: date, exact: bool,
                     note: str | None = None) -> tuple[Evidence, ...]:
    """The bars a window starts and ends on (or the one day it found), for each series: read again from the
    tape, with their sources (a dashboard's tape keeps past days' bars: tui.core.judge.closes). `note` goes with
    the last day's."""
    found: list[Evidence] = []
    real = Context(ctx.tape.tape if isinstance(ctx.tape, _HistoryTape) else ctx.tape, ctx.now, ctx.max_age_s,
                   ctx.history_max_age_days, closed_since=ctx.closed_since)
    ends = ((first, note),) if first == final else ((first, "window start"),
                                                    (final, "window end" + (f"; {note}" if note else "")))
    for day, said in ends:
        for s in series:
            try:
                value = bar(real, s, day)
            except NoData:
                continue
            found.extend(replace(item, note=said, exact=exact) for item in value.inputs[0].evidence)
    return tuple(found)


def _rolling(ctx: Context, a: str, b: str, days: int, func: str) -> Value:
    """corr() or beta() over the last `days` daily returns on the common trading days of a and b."""
    common, (closes_a, closes_b), cut, kept = _common(ctx, (a, b))
    needed = days + 1
    if cut < needed:
        raise NoData(f"{func}() needs {fmt.count(needed)} common trading days of {a} and {b}, found {fmt.count(cut)}")
    first, final = common[cut - needed], common[cut - 1]
    if ctx.on_day is not None:  # as of a past day: the window ends on that day's bars
        required = _last_common_session((a, b), ctx.on_day)
        if final < required:
            raise NoData(f"{func}(): no data on {required} for both {a} and {b} (common days end {final})")
    tape = ctx.tape
    if isinstance(tape, _HistoryTape):
        value = tape.rolling(a, b, days, func)[cut - 1]
    else:
        value = _windows(ctx).rolling(closes_a[cut - needed:cut], closes_b[cut - needed:cut], days, func)[-1]
    if value is None:
        raise NoData(f"{func}(): one of {a}, {b} did not move over the window" if func == "corr"
                     else f"{func}(): {b} did not move over the window")
    stale = (ctx.now.date() - final).days > ctx.history_max_age_days
    age = (ctx.now - end_of_day(final)).total_seconds()
    evidence: tuple[Evidence, ...] = ()
    if not isinstance(tape, _HistoryTape):  # a window's own reads; inside share() it reports its own
        today = ctx.now.date()

        def count_gaps() -> int:  # today is never a gap: a function of the past days alone
            have = set(common)
            return sum(len(_gaps(s, have, first, final, today)) for s in (a, b))

        gaps = kept.remember(("gaps", first, final), count_gaps) if kept is not None else count_gaps()
        note = f"{gaps} session days without a bar" if gaps else None
        evidence = _window_evidence(ctx, (a, b), first, final, not gaps and not _partial(ctx, final), note)
    inputs = (Input(a, closes_a[cut - 1], age, stale, evidence=evidence), Input(b, closes_b[cut - 1], age, stale))
    text = (f"{fmt.number(value)} ({fmt.count(days)} daily returns over {fmt.count(needed)} common trading days, "
            f"{first} to {final})")
    return Value(value, RATIO, text, inputs)


def corr(ctx: Context, a: str, b: str, days: int) -> Value:
    return _rolling(ctx, a, b, days, "corr")


def beta(ctx: Context, a: str, b: str, days: int) -> Value:
    """The slope of a's daily returns on b's: how many percent a moves for each percent b moves."""
    return _rolling(ctx, a, b, days, "beta")


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
    bar is its daily close (the median over sources of each one's last value that day). Common trading days
    and rolling windows are worked out once per window (by ctx.windows) and looked up day by day."""

    def __init__(self, tape: Tape, now: datetime, windows: Windows) -> None:
        self.tape = tape
        self.now = now
        self.windows = windows
        self._daily: dict[str, list[tuple[date, float]]] = {}
        self._units: dict[str, str] = {}
        self._common: dict[tuple[str, ...], tuple[list[date], list[list[float]]]] = {}
        self._rolling: dict[tuple[str, str, int, str], list[float | None]] = {}

    def _close(self, series: str, row: tuple[date, float], now: datetime) -> list[Observation]:
        stamp = min(end_of_day(row[0]) - timedelta(milliseconds=1), now)
        unit = self._units.setdefault(series, SeriesId.parse(series).unit)
        return [Observation(series, row[1], unit, stamp, "daily close")]

    def _rows_to(self, series: str, day: date) -> list[tuple[date, float]]:
        if series not in self._daily:
            self._daily[series] = self.tape.daily(series, self.now)
        rows = self._daily[series]
        return rows[:bisect.bisect_right(rows, day, key=lambda r: r[0])]

    def latest(self, series: str, now: datetime) -> list[Observation]:
        rows = self._rows_to(series, now.date())
        return self._close(series, rows[-1], now) if rows else []

    def at(self, series: str, day: date) -> list[Observation]:
        rows = self._rows_to(series, day)
        return self._close(series, rows[-1], end_of_day(day)) if rows and rows[-1][0] == day else []

    def daily(self, series: str, now: datetime) -> list[tuple[date, float]]:
        return self._rows_to(series, now.date())

    def series_ids(self) -> set[str]:
        return self.tape.series_ids()

    def disputed_latest(self, series: str, now: datetime) -> list[Observation]:
        disputed = getattr(self.tape, "disputed_latest", None)
        return [] if disputed is None else list(disputed(series, now))

    def common(self, series: tuple[str, ...]) -> tuple[list[date], list[list[float]]]:
        if series not in self._common:
            self._common[series] = self.windows.common([self.daily(s, self.now) for s in series])
        return self._common[series]

    def rolling(self, a: str, b: str, days: int, kind: str) -> list[float | None]:
        key = (a, b, days, kind)
        if key not in self._rolling:
            _, (xs, ys) = self.common((a, b))
            self._rolling[key] = self.windows.rolling(xs, ys, days, kind)
        return self._rolling[key]


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


@dataclass(frozen=True, slots=True)
class _Window:
    """The days a condition is judged on: the common trading days of its series from `since` to `end`."""

    series: tuple[str, ...]
    days: list[date]
    end: date
    gaps: int  # session days in the window on which some series has no bar
    data_to: date | None  # the last day every series has a bar (up to the evaluation time)


def _window(ctx: Context, tape: _HistoryTape, cond: Compare, since: date, until: date | None) -> _Window:
    """The window of a condition, or NoData when it starts before some series' history does."""
    series = tuple(dict.fromkeys(_series_in(cond)))
    today = ctx.now.date()
    end = min(until or today, today)
    for s in series:
        rows = tape.daily(s, ctx.now)
        if not rows:
            raise NoData(f"no history of {s}")
        start = since
        while not _is_session(s, start) and start < rows[0][0]:
            start += timedelta(days=1)
        if rows[0][0] > start:
            raise NoData(f"the window starts on {since}, before the history of {s} does ({rows[0][0]})")
    common, _ = tape.common(series)
    lo, hi = bisect.bisect_left(common, since), bisect.bisect_right(common, end)
    cut = bisect.bisect_right(common, today)
    days = common[lo:hi][-MAX_CONDITION_DAYS:]
    gaps = _window_gaps(tape, series, since, end, today) if days else 0
    return _Window(series, days, end, gaps, common[cut - 1] if cut else None)


def _window_gaps(tape: _HistoryTape, series: tuple[str, ...], start: date, end: date, today: date) -> int:
    """Session days from start to end on which one of the series has no bar."""
    return sum(len(_gaps(s, {d for d, _ in tape.daily(s, tape.now)}, start, end, today)) for s in series)


def _condition_days(ctx: Context, cond: Compare, window: _Window, tape: _HistoryTape
                    ) -> Iterator[tuple[date, Value, Value] | date]:
    """Each day of the window with both sides evaluated at that day's close; a day the tape cannot answer
    (a function's own window too short) is yielded alone."""
    slack = ctx.history_max_age_days * 86_400.0
    today = ctx.now.date()
    known = _past_days(ctx, tape, cond, today)
    for day in window.days:
        if day in known:
            answer = known[day]
        else:
            moment = min(end_of_day(day) - timedelta(milliseconds=1), ctx.now)
            sub = Context(tape, moment, lambda _series: slack, ctx.history_max_age_days,
                          closed_since=lambda _series, _now: None, on_day=day, windows=ctx.windows)
            try:
                answer = evaluate(cond.left, sub), evaluate(cond.right, sub)
            except NoData:
                answer = None
            if day < today:
                known[day] = answer
        yield day if answer is None else (day, *answer)


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


def _history(ctx: Context) -> _HistoryTape:
    return _HistoryTape(ctx.tape, ctx.now, _windows(ctx))


def first_date(ctx: Context, cond: Compare, since: date) -> Value:
    tape = _history(ctx)
    window = _window(ctx, tape, cond, since, None)
    seen = skipped = 0
    for answer in _condition_days(ctx, cond, window, tape):
        if isinstance(answer, date):
            skipped += 1
            continue
        day, left, right = answer
        seen += 1
        if compare(left.value, cond.op, right.value):
            text = f"{day} (first of {fmt.count(seen + skipped)} common trading days from {since} with {left.text} " \
                   f"{cond.op} {_like(right, left)})"
            gaps = _window_gaps(tape, window.series, since, day, ctx.now.date()) if window.gaps else 0
            exact = not gaps and not skipped and not _partial(ctx, day)
            note = "the first day the condition held" + (
                f" ({gaps} session days without a bar before it)" if gaps else "")
            evidence = _window_evidence(ctx, window.series, day, day, exact, note)
            found = Input(window.series[0], float(day.toordinal()), None, False, evidence=evidence)
            return Value(float(day.toordinal()), DATE, text, (found, *assumed(left, right)))
    held_on = f"on none of {fmt.count(seen)} common trading days from {since}"
    if skipped:
        held_on += f" ({skipped} more could not be judged)"
    evidence = _window_evidence(ctx, window.series, window.days[0], window.days[-1], False) if window.days else ()
    data_to = window.days[-1] if window.days else None
    raise NotYet(f"first_date(): the condition held {held_on}", data_to, evidence)


def _like(bare: Value, other: Value) -> str:
    """A bare number compared with a quantity, written in that quantity's unit (1e21 beside a hashrate: 1 ZH/s)."""
    if bare.unit == RATIO and not bare.inputs and other.unit != RATIO:
        return fmt.quantity(bare.value, str(other.unit))
    return bare.text


def share(ctx: Context, cond: Compare, since: date, until: date | None) -> Value:
    tape = _history(ctx)
    window = _window(ctx, tape, cond, since, until)
    held, days, skipped = 0, [], 0
    flagged: tuple[Input, ...] = ()
    for answer in _condition_days(ctx, cond, window, tape):
        if isinstance(answer, date):
            skipped += 1
            continue
        day, left, right = answer
        days.append(day)
        held += compare(left.value, cond.op, right.value)
        flagged = flagged or assumed(left, right)
    if not days:
        raise NoData(f"share(): no day from {since} to {until or 'now'} could be judged")
    result = held / len(days) * 100
    stale = until is None and (ctx.now.date() - days[-1]).days > ctx.history_max_age_days
    short = until is not None and days[-1] < _last_common_session(window.series, window.end)
    exact = not (window.gaps or skipped or stale or short or _partial(ctx, days[-1]))
    said = [f"{window.gaps} session days without a bar"] if window.gaps else []
    said += [f"{skipped} days not judged"] if skipped else []
    said += [f"data to {days[-1]}, before {window.end}"] if short else []
    evidence = _window_evidence(ctx, window.series, days[0], days[-1], exact, "; ".join(said) or None)
    age = (ctx.now - end_of_day(days[-1])).total_seconds()
    inputs = (Input(window.series[0], result, age if stale else None, stale, evidence=evidence),)
    text = f"{fmt.quantity(result, '%')} ({fmt.count(held)} of {fmt.count(len(days))} common trading days "\
        f"from {days[0]} to {days[-1]}"
    text += (f"; {skipped} more could not be judged" if skipped else "") + \
        (f"; {window.gaps} session days without a bar left out" if window.gaps else "") + ")"
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
