"""The data contract every part of tapecheck shares: observations, series ids, articles, claims, verdicts.

Frozen dataclasses and pure functions only; nothing here imports Textual or touches the network.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeGuard

if TYPE_CHECKING:
    from tui.core.narratives.rules.ast import Node


class TapecheckError(Exception):
    """Bad input or a failed operation, with a message fit to show a user as it is."""


SERIES_KINDS: dict[str, frozenset[str]] = {
    "crypto": frozenset({"last", "high", "low"}),
    # shares: the count of shares outstanding (Yahoo's history of it), which a past market value is read with
    "equity": frozenset({"last", "high", "low", "prev_close", "market_cap", "shares"}),
    "index": frozenset({"last", "high", "low", "prev_close"}),
    "fx": frozenset({"last"}),
    "commodity": frozenset({"last", "high", "low", "prev_close"}),
    "network": frozenset({"hashrate", "difficulty"}),
}

# Yahoo symbol suffix -> listing currency. No suffix means a US listing.
LISTING_CURRENCY = {
    ".SS": "CNY",
    ".SZ": "CNY",
    ".HK": "HKD",
    ".JK": "IDR",
    ".T": "JPY",
    ".KS": "KRW",
}
NETWORK_UNITS = {"hashrate": "H/s", "difficulty": "ratio"}

_SYMBOL = re.compile(r"^[A-Za-z0-9^=._/-]{1,40}$")
# The one rule for the ids of articles and claims: lower-case letters and digits, in words joined by hyphens.
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def is_slug(text: object) -> TypeGuard[str]:
    """Whether `text` is an id of that form (the whole of it: "a-b\\n" is not)."""
    return isinstance(text, str) and _SLUG.fullmatch(text) is not None


def slug(text: str) -> str:
    """`text` made such an id: "NVDA market cap" -> "nvda-market-cap" ("" when it has no letter or digit)."""
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))
_CURRENCY = re.compile(r"^[A-Z]{3,5}$")


@dataclass(frozen=True, slots=True)
class SeriesId:
    """A parsed series id, `kind:symbol:field`, e.g. `crypto:BTC/USD:last`."""

    kind: str
    symbol: str
    field: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.symbol}:{self.field}"

    @classmethod
    def parse(cls, text: str) -> SeriesId:
        """The series id `text` names (remembered: a dashboard parses the same few hundred ids at every state)."""
        return _parse_series(text)

    @classmethod
    def _parse(cls, text: str) -> SeriesId:
        parts = text.split(":")
        if len(parts) != 3:
            raise TapecheckError(f"series id {text!r} is not of the form kind:symbol:field")
        kind, symbol, fld = parts
        if kind not in SERIES_KINDS:
            kinds = ", ".join(SERIES_KINDS)
            raise TapecheckError(f"series id {text!r} has unknown kind {kind!r} (known: {kinds})")
        if fld not in SERIES_KINDS[kind]:
            fields = ", ".join(sorted(SERIES_KINDS[kind]))
            raise TapecheckError(f"series id {text!r}: {kind} series have fields {fields}, not {fld!r}")
        if not _SYMBOL.match(symbol):
            raise TapecheckError(f"series id {text!r} has a malformed symbol {symbol!r}")
        series = cls(kind, symbol, fld)
        series.unit  # noqa: B018 - validates the symbol's shape for its kind
        return series

    def symbol_currency(self) -> str:
        """An equity's listing currency, from its symbol's exchange suffix."""
        for suffix, currency in LISTING_CURRENCY.items():
            if self.symbol.endswith(suffix):
                return currency
        if "." in self.symbol:
            raise TapecheckError(f"equity series {self}: unknown exchange suffix in {self.symbol!r}")
        return "USD"

    @property
    def yahoo_symbol(self) -> str | None:
        """Yahoo's symbol for an equity, index, fx or commodity series (fx:USDCNY → CNY=X), else None."""
        if self.kind == "fx":
            base, quote = self.symbol[:3], self.symbol[3:]
            return f"{quote}=X" if base == "USD" else f"{base}{quote}=X"
        return self.symbol if self.kind in ("equity", "index", "commodity") else None

    @property
    def unit(self) -> str:
        """The unit every observation of this series carries."""
        return _unit_of(self)

    def _unit(self) -> str:
        if self.kind == "crypto":
            base, sep, quote = self.symbol.partition("/")
            if not sep or not _CURRENCY.match(base) or not _CURRENCY.match(quote):
                raise TapecheckError(f"crypto series {self} needs a BASE/QUOTE symbol such as BTC/USD")
            return quote
        if self.kind == "equity":
            if self.field == "shares":
                self.symbol_currency()  # the symbol's exchange suffix is checked all the same
                return "shares"
            return self.symbol_currency()
        if self.kind == "index":
            return "pts"
        if self.kind == "fx":
            if not re.match(r"^[A-Z]{6}$", self.symbol):
                raise TapecheckError(f"fx series {self} needs a six-letter pair such as USDCNY")
            return f"{self.symbol[3:]}/{self.symbol[:3]}"
        if self.kind == "commodity":
            return "USD"
        return NETWORK_UNITS[self.field]


# Pure functions of a few hundred distinct ids, asked thousands of times per dashboard state: remembered.
# An id that fails raises each time (lru_cache keeps only answers).
_parse_series = functools.lru_cache(maxsize=4096)(SeriesId._parse)
_unit_of = functools.lru_cache(maxsize=4096)(SeriesId._unit)


@dataclass(frozen=True, slots=True)
class Observation:
    """One value of one series at one time, from one source."""

    series: str
    value: float
    unit: str
    ts: datetime  # timezone-aware, UTC
    source: str


class ClaimKind(StrEnum):
    CHECK = "check"
    CONTEXT = "context"


class Status(StrEnum):
    HOLDS = "holds"
    DIVERGED = "diverged"
    STALE = "stale"
    NO_DATA = "no_data"
    CONTEXT = "context"
    DISPUTED = "disputed"  # only sources that disagree with each other: no value to judge


OPS = (">=", ">", "<=", "<", "~")


@dataclass(frozen=True, slots=True)
class Theme:
    id: str
    title: str
    title_zh: str
    watch: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Article:
    id: str
    seed: str
    piece: int
    outlet: str
    title: str
    title_en: str
    published: date
    published_inferred: bool = False
    title_inferred: bool = False
    author: str | None = None
    note: str | None = None
    file: str = ""  # the file's name for a shipped article, its full path for one of the user's own
    url: str | None = None
    user: bool = False  # from the user's own narrative dirs, not shipped
    inferred: tuple[str, ...] = ()  # article keys we guessed (a draft's outlet, published), beyond the two flags


@dataclass(frozen=True, slots=True)
class Rule:
    """`expr op value unit`, within tolerance_pct percent of value; with op `in`, a claimed month or year: a date
    from `value` to `upper` (both days as ordinals, both included)."""

    expr: str
    ast: Node
    op: str
    value: float
    unit: str
    tolerance_pct: float
    series: tuple[str, ...]
    upper: float | None = None  # op `in`: the range's last day

    @property
    def bound(self) -> date | None:
        """The last day by which a claimed date must have come (a date rule with op <=, < or in), else None."""
        if self.unit != "date":
            return None
        if self.op == "in" and self.upper is not None:
            return date.fromordinal(int(self.upper))
        if self.op == "<=":
            return date.fromordinal(int(self.value))
        if self.op == "<":
            return date.fromordinal(int(self.value) - 1)
        return None


@dataclass(frozen=True, slots=True)
class Claim:
    id: str
    theme: str
    article: str
    as_of: date
    summary: str
    summary_zh: str
    kind: ClaimKind
    rule: Rule | None = None
    as_of_inferred: bool = False
    figure: str | None = None
    note: str | None = None
    value: float | None = None
    unit: str | None = None
    file: str = ""
    line: int = 0
    quote: str | None = None  # the article's own sentence(s), verbatim, in its own script
    paragraph: int | None = None  # the quote's paragraph: the n-th non-blank line of the seed file
    origin: str = "article"  # "article": the article says it; "derived": we added it to follow the article
    error: str | None = None  # the article's own error here, with the evidence, where no rule can show it
    draft: bool = False  # a proposed rule not yet confirmed by the user: shown, never counted as diverged
    user: bool = False  # from the user's own narrative dirs, not shipped
    # Whose reading the rule's threshold, window and period are: "article" (the article's own words) or "ours"
    # (what we assumed, said in reading_note). A rule of our reading that fails on its date is not the article's
    # error. A derived claim is ours throughout.
    reading: str = "article"
    reading_note: str | None = None

    def __post_init__(self) -> None:
        if self.origin == "derived" and self.reading != "ours":  # what we wrote ourselves is our reading
            object.__setattr__(self, "reading", "ours")

    @property
    def series(self) -> tuple[str, ...]:
        return self.rule.series if self.rule else ()

    @property
    def derived(self) -> bool:
        """A claim we wrote to follow the article: its failures are never the article's errors."""
        return self.origin == "derived"

    @property
    def ours(self) -> bool:
        """Whether the rule is our reading (a derived claim's always is): its failure is never the article's
        error. The one field that decides it is `reading`."""
        return self.reading == "ours"

    @property
    def sentence(self) -> str:
        """What an article's error is counted by: its sentence (the quote), so that claims quoting the same
        sentence count once; a claim without a quote is a sentence of its own."""
        return f"{self.article}|{self.quote}" if self.quote else f"{self.article}|#{self.id}"


@dataclass(frozen=True, slots=True)
class Evidence:
    """One value a verdict read: the series, its source, the day it is from (and its time), the value.

    `exact` is False for a value that is not the bar of the very day the rule needed (a live value, a window
    with missing bars); `assumed` marks a value resting on an assumption (today's share count for a past day):
    a verdict that read either is never kept as final. `note` says what the reader should know about it."""

    series: str
    source: str
    day: date
    value: float
    unit: str
    ts: datetime | None = None
    note: str | None = None
    exact: bool = True
    assumed: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"series": self.series, "source": self.source, "date": self.day.isoformat(),
                "ts": None if self.ts is None else self.ts.isoformat().replace("+00:00", "Z"), "value": self.value,
                "unit": self.unit, "note": self.note, "exact": self.exact, "assumed": self.assumed}

    @classmethod
    def from_dict(cls, row: dict[str, object]) -> Evidence:
        ts = row.get("ts")
        value = row["value"]
        assert isinstance(value, (int, float))
        return cls(str(row["series"]), str(row["source"]), date.fromisoformat(str(row["date"])), float(value),
                   str(row["unit"]), datetime.fromisoformat(ts) if isinstance(ts, str) else None,
                   None if row.get("note") is None else str(row["note"]), bool(row.get("exact", True)),
                   bool(row.get("assumed", False)))


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the tape says of one claim at one moment."""

    claim_id: str
    theme: str
    status: Status
    claim_value: float | None
    live_value: float | None
    unit: str | None
    deviation_pct: float | None
    series: tuple[str, ...]
    explanation: str
    op: str | None = None
    age_s: float | None = None
    inputs: tuple[tuple[str, float, float], ...] = field(default=())  # (series, value, age_s)
    market_closed: bool = False  # a value read is a market's last close while it is shut
    # A past market value was read at today's share count (no share history reaches its day): the explanation
    # says "at today's share count", and such a verdict on a claim's own date is not final.
    todays_shares: bool = False
    evidence: tuple[Evidence, ...] = ()  # the values it read, each under its own date
    claim_upper: float | None = None  # op `in`: the claimed range's last day

    @property
    def final(self) -> bool:
        """Whether this verdict can be kept for good: judged (holds or diverged) on values that are each the bar
        of the exact day needed, resting on no assumption."""
        return self.status in (Status.HOLDS, Status.DIVERGED) and bool(self.evidence) and not self.todays_shares \
            and all(e.exact and not e.assumed for e in self.evidence)


MET, CLEAR = "met", "clear"
CLAIM, RULE = "claim", "rule"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert as kept in the store: which claim or rule, from what state to what, why, and how it went out."""

    id: int  # the store's row id; 0 before it is stored
    at: datetime
    kind: str  # "claim" or "rule"
    subject: str  # the claim's id or the rule's name
    before: str  # holds, diverged, stale, no_data; a rule: met, clear
    after: str
    message: str  # one line: the numbers and the rule
    value: float | None = None
    level: float | None = None
    unit: str = ""
    delivery: str = ""  # the command's outcome: "" (none or not yet), "ok", "failed: why"
    acked: bool = False

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.subject}"

    @property
    def change(self) -> str:
        return f"{self.before} → {self.after}"

    @property
    def serious(self) -> bool:
        """A claim that diverged or went dark, a rule met: worth a warning rather than a note."""
        return self.after in (str(Status.DIVERGED), str(Status.STALE), str(Status.NO_DATA), str(Status.DISPUTED),
                              MET)

    @property
    def title(self) -> str:
        return "Verdict changed" if self.kind == CLAIM else "Alert rule " + ("met" if self.after == MET else "cleared")

    @property
    def line(self) -> str:
        return f"{self.subject}: {self.change}: {self.message}"

    def json(self) -> dict[str, Any]:
        """As the hook and `alerts --json` give it: a date claim's value and level are ISO dates, not ordinals."""
        value, level = (_iso_day(self.value), _iso_day(self.level)) if self.unit == "date" else (self.value, self.level)
        return {"id": self.id, "at": self.at.strftime("%Y-%m-%dT%H:%M:%SZ"), "kind": self.kind,
                "subject": self.subject, "before": self.before, "after": self.after, "message": self.message,
                "value": value, "level": level, "unit": self.unit, "delivery": self.delivery,
                "acked": self.acked}


def _iso_day(ordinal: float | None) -> str | float | None:
    """A calendar day held as its ordinal, as an ISO date (a value out of range is left as it is)."""
    if ordinal is None or not 1 <= ordinal < 3_652_060:
        return ordinal
    return date.fromordinal(int(ordinal)).isoformat()


@dataclass(frozen=True, slots=True)
class Cached:
    """A then-verdict as the store keeps it."""

    fingerprint: str
    status: Status
    value: float | None
    deviation_pct: float | None
    explanation: str
    evidence: tuple[Evidence, ...] = ()

    def verdict(self, claim: Claim) -> Verdict:
        rule = claim.rule
        assert rule is not None
        return Verdict(claim.id, claim.theme, self.status, rule.value, self.value, rule.unit, self.deviation_pct,
                       rule.series, self.explanation, op=rule.op, evidence=self.evidence, claim_upper=rule.upper)


REFUSED = "refused "  # how a refused value is listed in a health record's `partial`
DISPUTED = "disputed "  # and a disputed one (kept apart in the store's `disputed` table)


@dataclass(frozen=True, slots=True)
class Health:
    """A source's health: when it last worked, what went wrong, when it tries again. The poller keeps one per
    source and the store keeps the first ten fields; the last three are the collector's own, never stored."""

    source: str
    kind: str
    last_success: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    latency_ms: float | None = None
    failures: int = 0
    next_attempt: datetime | None = None
    state: str = "waiting"  # waiting, ok, slow, failing, rate_limited, paused
    partial: tuple[str, ...] = ()  # items missing from the last answer, "symbol: reason"; refused values
    last_count: int = 0  # observations accepted by the last successful poll
    retry_after_s: float | None = None  # what the upstream asked for with its last failure
    disputed_total: int = 0  # values disputed since start (tui.collect.consistency)

    @property
    def latency_s(self) -> float | None:
        return None if self.latency_ms is None else self.latency_ms / 1000

    @property
    def refused(self) -> bool:
        """Whether the last answer held values refused as bad data (NaN, negative, absurd, from the future)."""
        return any(item.startswith(REFUSED) for item in self.partial)

    @property
    def disputed(self) -> bool:
        """Whether the last answer held values disputed against the other sources (stored apart, not used)."""
        return any(item.startswith(DISPUTED) for item in self.partial)
