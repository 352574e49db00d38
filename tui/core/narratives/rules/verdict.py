"""Verdicts: a claim's rule evaluated on the tape, compared with the claimed value, explained in words."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from tui.core import format as fmt
from tui.core.model import Claim, ClaimKind, Evidence, Rule, Status, Verdict
from tui.core.narratives.rules.evaluate import Context, DisputedData, NoData, NotYet, Value, evaluate

STATUS_ORDER = {Status.DIVERGED: 0, Status.DISPUTED: 1, Status.STALE: 2, Status.NO_DATA: 3, Status.HOLDS: 4,
                Status.CONTEXT: 5}


def holds(live: float, op: str, claimed: float, tolerance_pct: float, upper: float | None = None) -> bool:
    """Whether `live op claimed` holds within tolerance_pct percent of the claimed value (op `in`: claimed to
    upper, both included)."""
    if op == "in":
        return claimed <= live <= (claimed if upper is None else upper)
    slack = abs(claimed) * tolerance_pct / 100
    if op == "~":
        return abs(live - claimed) <= slack
    if op in (">=", ">"):
        return live > claimed - slack if op == ">" and slack == 0 else live >= claimed - slack
    if op in ("<=", "<"):
        return live < claimed + slack if op == "<" and slack == 0 else live <= claimed + slack
    raise ValueError(f"unknown comparison {op!r}")


def deviation_pct(live: float, claimed: float, unit: str = "") -> float | None:
    """How far the live value is from the claimed one, in percent of the claimed value (none for a date)."""
    return None if claimed == 0 or unit == "date" else (live - claimed) / abs(claimed) * 100


def live_text(verdict: Verdict) -> str:
    """The rule's value, as the market of the series it reads quotes it ('250.30 USD', '819M USD')."""
    if verdict.live_value is None:
        return "—"
    unit, kind = verdict.unit or "ratio", fmt.series_kind(verdict.series)
    if verdict.claim_value is None:
        return fmt.quantity(verdict.live_value, unit, kind)
    return fmt.beside(verdict.live_value, verdict.claim_value, unit, kind)


def off_text(verdict: Verdict) -> str:
    """How far the live value is from the claimed one, as every screen and report says it: in percentage points
    for a percentage (claimed +20%, live +10%: -10.0 pp), in days for a date, else in percent of the claim."""
    live, claimed = verdict.live_value, verdict.claim_value
    if live is not None and claimed is not None and verdict.unit == "%":
        return fmt.points(live - claimed)
    if live is not None and claimed is not None and verdict.unit == "date":
        if verdict.op == "in" and verdict.claim_upper is not None:
            past = live - verdict.claim_upper if live > verdict.claim_upper else min(0.0, live - claimed)
            return f"{past:+.0f} days" if past else "in range"
        return f"{live - claimed:+.0f} days"
    return fmt.signed_pct(verdict.deviation_pct)


def _relation(live: float, claimed: float) -> str:
    return "<" if live < claimed else ">" if live > claimed else "="


def claimed_text(rule: Rule) -> str:
    """The claimed value as written: a day, a quantity, or a claimed month or year as its range of days."""
    if rule.op == "in" and rule.upper is not None:
        return f"{fmt.quantity(rule.value, 'date')} to {fmt.quantity(rule.upper, 'date')}"
    return fmt.quantity(rule.value, rule.unit)


def period_text(first: float, last: float) -> str:
    """A claimed range of days as short as it reads: `2025-12` for a month, `2025` for a year."""
    start, end = date.fromordinal(int(first)), date.fromordinal(int(last))
    if start.day == 1 and start.month == 1 and (end.month, end.day) == (12, 31) and start.year == end.year:
        return str(start.year)
    if start.day == 1 and (start.year, start.month) == (end.year, end.month):
        return f"{start:%Y-%m}"
    return f"{start} to {end}"


def explain(rule: Rule, value: Value, status: Status) -> str:
    live = fmt.beside(value.value, rule.value, rule.unit, fmt.series_kind(rule.series))
    claimed = claimed_text(rule)
    computed = live if value.text == live else f"{value.text} = {live}"
    if rule.op == "in" and rule.upper is not None:
        inside = rule.value <= value.value <= rule.upper
        where = "within" if inside else "before" if value.value < rule.value else "after"
        return f"{computed}: {where} {claimed} claimed"
    text = f"{computed} {_relation(value.value, rule.value)} {claimed} claimed"
    if rule.unit == "date":
        text += f" ({value.value - rule.value:+.0f} days)"
    if rule.op == "~":
        text += f" (≈ within {rule.tolerance_pct:g}%)"
    elif rule.tolerance_pct:
        text += f" ({rule.op} within {rule.tolerance_pct:g}%)"
    else:
        text += f" ({rule.op})"
    if status is Status.STALE:
        old = [f"{i.series} is {fmt.age(i.age_s)} old" for i in value.inputs if i.stale]
        text += "; stale: " + ", ".join(old)
    closed = [i.series for i in value.inputs if i.closed]
    if closed:
        text += "; market closed, last close of " + ", ".join(closed)
    return text


def judge(claim: Claim, ctx: Context) -> Verdict:
    """The verdict on one claim at ctx.now."""
    rule = claim.rule
    if claim.kind is ClaimKind.CONTEXT or rule is None:
        return Verdict(claim.id, claim.theme, Status.CONTEXT, claim.value, None, claim.unit, None, (),
                       "context: shown beside the data, not tested" + (f" ({claim.note})" if claim.note else ""))
    try:
        value = evaluate(rule.ast, ctx)
    except DisputedData as reason:
        return Verdict(claim.id, claim.theme, Status.DISPUTED, rule.value, None, rule.unit, None, rule.series,
                       f"disputed: {reason}", op=rule.op)
    except NotYet as never:
        return _never(claim, rule, never)
    except NoData as reason:
        return Verdict(claim.id, claim.theme, Status.NO_DATA, rule.value, None, rule.unit, None, rule.series,
                       f"no data: {reason}", op=rule.op, claim_upper=rule.upper)
    if value.stale:
        status = Status.STALE
    else:
        status = Status.HOLDS if holds(value.value, rule.op, rule.value, rule.tolerance_pct, rule.upper) \
            else Status.DIVERGED
    ages = [i.age_s for i in value.inputs if i.age_s is not None]
    inputs = tuple((i.series, i.value, i.age_s if i.age_s is not None else -1.0) for i in value.inputs)
    return Verdict(
        claim.id, claim.theme, status, rule.value, value.value, rule.unit,
        deviation_pct(value.value, rule.value, rule.unit), rule.series, explain(rule, value, status),
        op=rule.op, age_s=max(ages) if ages else None, inputs=inputs,
        market_closed=any(i.closed for i in value.inputs), evidence=evidence_of(value), claim_upper=rule.upper,
        todays_shares=any(i.todays_shares for i in value.inputs),
    )


def evidence_of(value: Value) -> tuple[Evidence, ...]:
    """The observations behind a value, once each, in the order read."""
    return tuple(dict.fromkeys(e for i in value.inputs for e in i.evidence))


def _never(claim: Claim, rule: Rule, never: NotYet) -> Verdict:
    """first_date() found no day: the claimed date is wrong once the data reaches past its bound (`not by D;
    data to D2`); before that it may still come, and there is no data to say."""
    bound: date | None = rule.bound
    if bound is not None and never.data_to is not None and never.data_to >= bound:
        return Verdict(claim.id, claim.theme, Status.DIVERGED, rule.value, None, rule.unit, None, rule.series,
                       f"not by {bound}; data to {never.data_to} ({never})", op=rule.op, evidence=never.evidence,
                       claim_upper=rule.upper)
    ends = f"; data to {never.data_to}" if never.data_to else ""
    ends += f", before {bound}, the claimed bound" if bound is not None and never.data_to else ""
    return Verdict(claim.id, claim.theme, Status.NO_DATA, rule.value, None, rule.unit, None, rule.series,
                   f"no data: {never}{ends}", op=rule.op, evidence=never.evidence, claim_upper=rule.upper)


def judge_all(claims: Iterable[Claim], ctx: Context) -> list[Verdict]:
    return [judge(claim, ctx) for claim in claims]
