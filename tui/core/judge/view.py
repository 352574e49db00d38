"""What the dashboard shows, computed without Textual: per theme, its series rows and its claim rows.

Everything here is derived from the narratives, the tape and the clock, so it is tested as plain data and
the screens only lay it out.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from tui.core import format as fmt
from tui.core import markets
from tui.core.config import Settings
from tui.core.judge import tally
from tui.core.judge.tally import Diverged, counts_as_error
from tui.core.model import Claim, ClaimKind, Observation, SeriesId, Status, TapecheckError, Verdict
from tui.core.narratives.claims import Narratives
from tui.core.narratives.names import CompanyName
from tui.core.narratives.rules.evaluate import Context, NoData, PastDays, last
from tui.core.narratives.rules.kept import KeptWindows
from tui.core.narratives.rules.verdict import STATUS_ORDER, judge, judge_all, live_text, period_text
from tui.core.narratives.rules.windows import Windows
from tui.core.tape import CachedTape, Tape
from tui.core.words import JUDGING

SPARK_POINTS = 40


@dataclass(frozen=True, slots=True)
class SeriesRow:
    series: str
    label: str
    value: float | None
    unit: str
    change_pct: float | None  # since previous close (equities) or 24 h (crypto, network)
    age_s: float | None
    state: str  # "live", "stale", "closed", "no data"
    spark: tuple[float, ...]
    name: CompanyName | None = None  # the company behind an exchange code such as 688795.SS

    def label_in(self, lang: str) -> str:
        """The label with the company's name after its code: `688795.SS Moore Threads mkt cap`."""
        if self.name is None:
            return self.label
        symbol, _, rest = self.label.partition(" ")
        return " ".join(part for part in (symbol, self.name.in_lang(lang), rest) if part)

    @property
    def value_text(self) -> str:
        return "—" if self.value is None else fmt.quantity(self.value, self.unit, fmt.series_kind([self.series]))

    def age_text(self, later_s: float = 0.0) -> str:
        """The age a panel shows `later_s` seconds after the row was read, in steps (fmt.age_step): `stale 45s`,
        `closed 20m`, `<15s`; `—` without a value."""
        age = fmt.age_step(self.age_s + later_s, coarse=self.state == "closed") if self.age_s is not None else "—"
        return f"stale {age}" if self.state == "stale" else f"closed {age}" if self.state == "closed" else age

    def age_text_until(self, later_s: float) -> float:
        """The `later_s` from which age_text reads otherwise than at `later_s` (never, without a value): a panel's
        clock repaints the cell then, and touches nothing before."""
        if self.age_s is None:
            return math.inf
        return next_age_step(self.age_s + later_s, coarse=self.state == "closed") - self.age_s


@dataclass(frozen=True, slots=True)
class ClaimRow:
    claim: Claim
    verdict: Verdict  # now
    then: Verdict | None = None  # on the claim's own date, from daily history
    pending: bool = False  # not judged yet (the first frame's): the verdict says no more than JUDGING

    @property
    def wrong_then(self) -> bool:
        """The record does not support the article's figure even on its own date (never so for our own claims)."""
        return self.then is not None and self.then.status is Status.DIVERGED and counts_as_error(self.claim)

    def summary(self, lang: str) -> str:
        text = self.claim.summary_zh if lang == "zh" else self.claim.summary
        if self.claim.draft:
            text = ("(草稿,未确认) " if lang == "zh" else "(draft, unconfirmed) ") + text
        if self.claim.derived:
            return ("(我们的推论) " if lang == "zh" else "(ours) ") + text
        return ("(我们的解读) " if lang == "zh" else "(our reading) ") + text if self.claim.ours else text

    @property
    def claimed_text(self) -> str:
        v = self.verdict
        if v.claim_value is None:
            return "—"
        if v.op == "in" and v.claim_upper is not None:
            return f"in {period_text(v.claim_value, v.claim_upper)}"
        return f"{v.op or ''} {fmt.quantity(v.claim_value, v.unit or 'ratio')}".strip()

    @property
    def live_text(self) -> str:
        return live_text(self.verdict)


@dataclass(frozen=True, slots=True)
class ThemeView:
    theme_id: str
    title: str
    series: tuple[SeriesRow, ...]
    claims: tuple[ClaimRow, ...]
    title_zh: str = ""

    def title_in(self, lang: str) -> str:
        return self.title_zh if lang == "zh" and self.title_zh else self.title

    @property
    def diverged(self) -> Diverged:
        """Diverged claims, drafts (rules not yet confirmed) aside, those of our reading counted apart."""
        return tally.diverged((c.verdict for c in self.claims), {c.claim.id: c.claim for c in self.claims})

    @property
    def wrong_then(self) -> int:
        """The articles' sentences WRONG on their own date (claims quoting one sentence count once)."""
        return tally.wrong_then((c.then for c in self.claims if c.then is not None),
                                {c.claim.id: c.claim for c in self.claims})


def next_age_step(seconds: float, coarse: bool = False) -> float:
    """The age, above `seconds`, at which fmt.age_step's text next changes: `<15s` until 15 s, then 15 s steps
    to a minute, minutes (10 of them when `coarse`, from ten on) to an hour, hours to a day, then days."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        step = 15.0
    elif seconds < 3600:
        step = 600.0 if coarse and seconds >= 600 else 60.0
    elif seconds < 86400:
        step = 3600.0
    else:
        step = 86400.0
    return (seconds // step + 1) * step  # as fmt.age_step divides: no float edge apart


def series_label(series: str) -> str:
    parsed = SeriesId.parse(series)
    names = {"last": "", "market_cap": " mkt cap", "hashrate": " hashrate", "difficulty": " difficulty",
             "shares": " shares"}
    return f"{parsed.symbol}{names.get(parsed.field, ' ' + parsed.field)}"


def series_row(series: str, ctx: Context, name: CompanyName | None = None) -> SeriesRow:
    """The live value of a series (as rules see it) with its change, age, state and a daily sparkline; `name`,
    the company behind its code, where one is known."""
    parsed = SeriesId.parse(series)
    label = series_label(series)
    try:
        live = last(ctx, series)
    except NoData:
        return SeriesRow(series, label, None, parsed.unit, None, None, "no data", (), name)
    reading = live.inputs[0]
    state = "stale" if reading.stale else "closed" if reading.closed else "live"
    spark = tuple(v for _, v in ctx.tape.daily(series, ctx.now)[-SPARK_POINTS:])
    newest = max(o.ts for o in ctx.tape.latest(series, ctx.now))
    reference = _reference(series, parsed, ctx, newest)
    change = (live.value / reference - 1) * 100 if reference else None
    return SeriesRow(series, label, live.value, parsed.unit, change, reading.age_s, state, spark, name)


def _reference(series: str, parsed: SeriesId, ctx: Context, at: datetime) -> float | None:
    """Previous close for Yahoo series, the value 24 h earlier for crypto and network series."""
    if parsed.yahoo_symbol is not None and parsed.kind != "fx":
        prev = ctx.tape.latest(f"{parsed.kind}:{parsed.symbol}:prev_close", ctx.now) if parsed.field == "last" else []
        if prev:
            return max(prev, key=lambda o: o.ts).value
        try:
            before = markets.previous_close(parsed.yahoo_symbol, at)
        except TapecheckError:  # a symbol whose market has no known session
            return None
        earlier = ctx.tape.latest(series, before)
    else:
        earlier = ctx.tape.latest(series, at - timedelta(hours=24))
    if not earlier:
        return None
    return max(earlier, key=lambda o: o.ts).value


@dataclass(frozen=True, slots=True)
class Earlier:
    """What a build may keep from the one before: its verdicts and series rows, from `at`, for every series
    but those in `changed` (appended to since). Verdicts are kept as judged then; ages are moved on."""

    verdicts: Mapping[str, Verdict]
    views: Sequence[ThemeView]
    at: datetime
    changed: set[str]


def _older(verdict: Verdict, later_s: float) -> Verdict:
    """A kept verdict `later_s` seconds on: its values are those it was judged on, and they are older now."""
    if verdict.age_s is None:
        return verdict
    return replace(verdict, age_s=verdict.age_s + later_s,  # a dated input's age is -1 (no age): it stays so
                   inputs=tuple((series, value, age + later_s if age >= 0 else age)
                                for series, value, age in verdict.inputs))


def build_views(narratives: Narratives, ctx: Context, lang: str = "en",
                then: Mapping[str, Verdict] | None = None,
                earlier: Earlier | None = None) -> tuple[list[ThemeView], list[Verdict]]:
    """Every theme's panel content, and the verdicts in claim order. `then` holds each claim's verdict on
    its own date, where known. Both titles are kept; `lang` picks `title`. With `earlier`, only the claims
    and series rows that read a changed series are judged and read again."""
    then = then or {}
    if earlier is None:
        verdicts = judge_all(narratives.claims, ctx)
        rows_kept: dict[str, SeriesRow] = {}
    else:
        later = (ctx.now - earlier.at).total_seconds()
        verdicts = [_older(earlier.verdicts[c.id], later)
                    if c.id in earlier.verdicts and earlier.changed.isdisjoint(c.series) else judge(c, ctx)
                    for c in narratives.claims]
        rows_kept = {r.series: replace(r, age_s=None if r.age_s is None else r.age_s + later)
                     for view in earlier.views for r in view.series if r.series not in earlier.changed}
    by_id = {v.claim_id: v for v in verdicts}
    views = []
    for theme in narratives.themes:
        claims = [c for c in narratives.claims if c.theme == theme.id]
        wanted = list(dict.fromkeys([*theme.watch, *(s for c in claims for s in c.series)]))
        rows = sorted((ClaimRow(c, by_id[c.id], then.get(c.id)) for c in claims),
                      key=lambda r: (STATUS_ORDER[r.verdict.status], -abs(r.verdict.deviation_pct or 0)))
        series = tuple(rows_kept.get(s) or series_row(s, ctx, narratives.names.get(SeriesId.parse(s).symbol))
                       for s in wanted)
        views.append(ThemeView(theme.id, theme.title_zh if lang == "zh" else theme.title, series, tuple(rows),
                               theme.title_zh))
    return views, verdicts


def session_change_after(series: str, now: datetime) -> datetime | None:
    """The next open or close of the market of a Yahoo-quoted series after `now` (None for a series that trades
    around the clock, or whose market has no known session)."""
    symbol = SeriesId.parse(series).yahoo_symbol
    if symbol is None:
        return None
    try:
        spans = markets._sessions_around(markets.session(symbol), now)
    except TapecheckError:
        return None
    times = [moment for span in spans for moment in span if moment > now]
    return min(times) if times else now + timedelta(hours=1)  # none within the day after: look again in an hour


class ClockDue:
    """The first moment after a state's `now` at which the clock alone may change what its views and verdicts
    say, no new value coming: a fresh value turning stale (its kind's maximum age), a market opening or closing, a
    new day (daily bars, the history's staleness, dates in rules). Until then the claims that read no new value
    keep their verdicts, their ages moved on (Earlier). Each series' maximum age and its market's next open or
    close are kept from one state to the next (the latter until it passes)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.max_age: dict[str, float] = {}
        self.sessions: dict[str, tuple[datetime, datetime | None]] = {}  # series -> (asked at, next change)

    def session_change(self, series: str, now: datetime) -> datetime | None:
        kept = self.sessions.get(series)
        if kept is None or now < kept[0] or (kept[1] is not None and now >= kept[1]):
            kept = self.sessions[series] = (now, session_change_after(series, now))
        return kept[1]

    def due(self, views: Sequence[ThemeView], verdicts: Sequence[Verdict], now: datetime,
            ahead: Iterable[datetime] = ()) -> datetime:
        """The moment (see the class), or the first of `ahead` (values stored with a time after `now`, a source's
        clock ahead of ours: shown once ours reaches them) if sooner."""
        day = now.astimezone(UTC).date() + timedelta(days=1)
        due = min([datetime(day.year, day.month, day.day, tzinfo=UTC), *ahead])
        max_age, ages = self.max_age, dict[str, float]()  # the youngest age each series is read at
        for view in views:
            for row in view.series:
                if row.age_s is not None and row.age_s < ages.get(row.series, math.inf):
                    ages[row.series] = row.age_s
                elif row.series not in ages:
                    ages[row.series] = math.inf
        for verdict in verdicts:
            for series, _, age_s in verdict.inputs:
                if age_s < ages.get(series, math.inf):
                    ages[series] = age_s
                elif series not in ages:
                    ages[series] = math.inf
        for series, age_s in ages.items():
            if series not in max_age:
                max_age[series] = self.settings.staleness.max_age_s(series)
            if age_s < max_age[series]:
                due = min(due, now + timedelta(seconds=max_age[series] - age_s))
            change = self.session_change(series, now)
            if change is not None:
                due = min(due, change)
        return due


def make_context(tape: Tape, now: datetime, settings: Settings, past_days: PastDays | None = None,
                 windows: Windows | None = None, kept_windows: KeptWindows | None = None) -> Context:
    """An evaluation context over `tape` at `now`. It remembers the tape's answers and the market hours for as
    long as it is used: one evaluation asks both about each series several times. `past_days`, kept by the
    caller from one context to the next, keeps conditions' answers on past days (first_date(), share()), and
    `kept_windows` what corr() and beta() work out from past days' closes.
    `windows`: how share(), corr() and beta() work (plain Python unless given: the viewer never loads polars)."""
    return Context(CachedTape(tape), now, settings.staleness.max_age_s, settings.staleness.history_days,
                   closed_since=functools.cache(markets.closed_since), past_days=past_days, windows=windows,
                   kept_windows=kept_windows)


class _NoHistory:
    """A tape without daily closes: the first frame's values, read before a year of closes is."""

    def __init__(self, tape: Tape) -> None:
        self.tape = tape

    def latest(self, series: str, now: datetime) -> list[Observation]:
        return self.tape.latest(series, now)

    def at(self, series: str, day: date) -> list[Observation]:
        return self.tape.at(series, day)

    def daily(self, series: str, now: datetime) -> list[tuple[date, float]]:
        return []

    def series_ids(self) -> set[str]:
        return self.tape.series_ids()

    def disputed_latest(self, series: str, now: datetime) -> list[Observation]:
        disputed = getattr(self.tape, "disputed_latest", None)
        return [] if disputed is None else list(disputed(series, now))


def pending_verdict(claim: Claim, ctx: Context) -> Verdict:
    """A claim not judged yet: what it claims, and JUDGING (a context claim, never judged, reads nothing)."""
    rule = claim.rule
    if claim.kind is ClaimKind.CONTEXT or rule is None:
        return judge(claim, ctx)
    return Verdict(claim.id, claim.theme, Status.NO_DATA, rule.value, None, rule.unit, None, rule.series, JUDGING,
                   op=rule.op, claim_upper=rule.upper)


def pending_views(narratives: Narratives, tape: Tape, now: datetime, settings: Settings,
                  then: Mapping[str, Verdict]) -> list[ThemeView]:
    """The panels before any claim is judged: each series' stored value and age (no trend yet), each claim's
    row saying JUDGING, and `then` where already known (read from the store, never judged here)."""
    ctx = make_context(_NoHistory(tape), now, settings)
    views = []
    for theme in narratives.themes:
        claims = [c for c in narratives.claims if c.theme == theme.id]
        wanted = list(dict.fromkeys([*theme.watch, *(s for c in claims for s in c.series)]))
        rows = tuple(ClaimRow(c, pending_verdict(c, ctx), then.get(c.id), pending=c.rule is not None) for c in claims)
        series = tuple(series_row(s, ctx, narratives.names.get(SeriesId.parse(s).symbol)) for s in wanted)
        views.append(ThemeView(theme.id, theme.title, series, rows, theme.title_zh))
    return views
