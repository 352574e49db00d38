"""Then and now: each claim judged on its own date from daily history, as well as at the current moment.

"Then" answers *was it true when the article said it?*: the rule is evaluated at the end of the claim's
`as_of` day, where `last()` reads that day's bar (or, for a `:high` series, the day's high): on a day the
market had no session, the last session's bar, under its own date; on a session day with no bar, no data.
A definite answer (holds or diverged) is final only when every value it read is a bar of the exact day it
needed and none rests on an assumption (Verdict.final); then the store keeps it, with its evidence, and it is
never computed again unless the rule changes or the history is refetched. Anything else is judged again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from tui.core import format as fmt
from tui.core.config import Settings
from tui.core.model import Cached, Claim, Status, Verdict
from tui.core.narratives.rules.evaluate import Context
from tui.core.narratives.rules.verdict import judge
from tui.core.narratives.rules.windows import Windows
from tui.core.tape import Tape, end_of_day
from tui.core.words import then_label as then_label  # re-exported: its words live with the others

FINAL = (Status.HOLDS, Status.DIVERGED)
# How verdicts are read (docs/claims.md, "How a verdict is read"); a kept answer read otherwise is judged again.
SEMANTICS = "bars-2"
# A then-verdict kept for the viewers that is not final (no data yet, or resting on an assumption): its
# fingerprint ends with this, so the collector judges it again and a viewer still reads it (read_then).
PROVISIONAL = "~"


def day_context(tape: Tape, day: date, settings: Settings, windows: Windows | None = None) -> Context:
    """Evaluation as of the close of `day`: that day's bars, no market hours, `history_days` of slack."""
    slack = settings.staleness.history_days * 86_400.0
    return Context(tape, end_of_day(day) - timedelta(milliseconds=1), lambda _series: slack,
                   settings.staleness.history_days, closed_since=lambda _series, _now: None, on_day=day,
                   windows=windows)



def fingerprint(claim: Claim) -> str:
    """What a cached answer depends on: the date, the rule as written, and how verdicts are read."""
    rule = claim.rule
    text = f"{SEMANTICS}|{claim.as_of}|{rule.expr}|{rule.op}|{rule.value!r}|{rule.upper!r}|{rule.unit}|" \
           f"{rule.tolerance_pct!r}" if rule else ""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class ThenCache(Protocol):
    """Where then-verdicts are kept between runs (the store); a tape file has none. A store opened read-only (a
    read-only filesystem) is read, never written."""

    read_only: bool

    def then_verdicts(self) -> dict[str, Cached]: ...

    def save_then_verdicts(self, rows: list[tuple[str, Cached]]) -> None: ...


def judge_then(claims: Iterable[Claim], tape: Tape, settings: Settings,
               cache: ThenCache | None = None, windows: Windows | None = None,
               today: date | None = None) -> dict[str, Verdict]:
    """The verdict on each checked claim at its own date, from the cache where it is known final. The answer on a
    day that is over (before `today`, UTC, by default the clock's: a day's bar is complete only once the day is)
    is kept: a final one (Verdict.final) for good, any other marked PROVISIONAL, for the viewers to read, and
    judged again here next time. `windows`: how share(), corr() and beta() work
    (see tui.core.narratives.rules.windows)."""
    today = today or datetime.now(UTC).date()
    known = cache.then_verdicts() if cache is not None else {}
    found: dict[str, Verdict] = {}
    new: list[tuple[str, Cached]] = []
    for claim in claims:
        if claim.rule is None:
            continue
        mark = fingerprint(claim)
        hit = known.get(claim.id)
        if hit is not None and hit.fingerprint == mark:
            found[claim.id] = hit.verdict(claim)
            continue
        if end_of_day(claim.as_of) > datetime.now(UTC):  # a claim made today: judged on its date after the close
            found[claim.id] = not_closed(claim)
            continue
        verdict = judge(claim, day_context(tape, claim.as_of, settings, windows))
        found[claim.id] = verdict
        if claim.as_of >= today:
            continue
        kept = Cached(mark if verdict.final else mark + PROVISIONAL, verdict.status, verdict.live_value,
                      verdict.deviation_pct, verdict.explanation, verdict.evidence)
        if kept != hit:  # a provisional answer is kept too, for the viewers, and written again only when it moves
            new.append((claim.id, kept))
    if cache is not None and new and not cache.read_only:
        cache.save_then_verdicts(new)
    return found


def not_closed(claim: Claim) -> Verdict:
    """A claim made today: its day has no close yet."""
    rule = claim.rule
    assert rule is not None
    return Verdict(claim.id, claim.theme, Status.NO_DATA, rule.value, None, rule.unit, None, tuple(claim.series),
                   f"{claim.as_of} has not closed yet: judged on its date after the close", rule.op)


def read_then(claims: Iterable[Claim], cache: ThenCache) -> dict[str, Verdict]:
    """The then-verdicts a collector judged and keeps (final or provisional), judging none: what a viewer
    shows. A claim the collector has not judged yet (or judged under another rule) has none."""
    known = cache.then_verdicts()
    found: dict[str, Verdict] = {}
    for claim in claims:
        if claim.rule is None:
            continue
        if end_of_day(claim.as_of) > datetime.now(UTC):
            found[claim.id] = not_closed(claim)
            continue
        hit = known.get(claim.id)
        if hit is not None and hit.fingerprint in (mark := fingerprint(claim), mark + PROVISIONAL):
            found[claim.id] = hit.verdict(claim)
    return found


def judge_on(claims: Iterable[Claim], tape: Tape, day: date, settings: Settings,
             windows: Windows | None = None) -> list[Verdict]:
    """Every claim as of the close of a past day (`check --at`)."""
    ctx = day_context(tape, day, settings, windows)
    return [judge(claim, ctx) for claim in claims]


def move_text(then: Verdict | None, now: Verdict) -> str | None:
    """How far the rule's value moved from the claim's date to now: percentage points for a percentage,
    otherwise percent of the value then."""
    if then is None or then.live_value is None or now.live_value is None:
        return None
    if now.unit == "date":
        return f"{now.live_value - then.live_value:+.0f} days"
    if now.unit == "%":
        return f"{now.live_value - then.live_value:+.2f} percentage points"
    if then.live_value == 0:
        return None
    unit, kind = now.unit or "ratio", fmt.series_kind(now.series)
    return f"{fmt.signed_pct((now.live_value / then.live_value - 1) * 100)} " \
           f"({fmt.quantity(then.live_value, unit, kind)} → {fmt.quantity(now.live_value, unit, kind)})"

