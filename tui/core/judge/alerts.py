"""Alerts: what a trader is told when a claim's verdict flips or one of their own rules is met, judged from the
same values the dashboards show, steadied against noise.

`AlertJudge` is pure: given each claim's verdict and the context the rules read, at a moment, it says which
alerts fire. The collector runs it after every write (so alerts fire with no dashboard open) and keeps what
fires in the store, where every dashboard reads it; a replay or the demo runs it over its own tape.

- Hysteresis: a state changes only once the value clears the level by `hysteresis_pct` percent of it (for a
  claim, the rule's level with its tolerance). A value wobbling around a level changes nothing.
- Cooldown: after an alert on a claim or rule, the next one waits `cooldown_s`. A change that reverts within
  it is never alerted; one that lasts is alerted when the cooldown ends, saying how often it changed meanwhile.
- A claim alerts on every change between holds and diverged, and into (and out of) stale or no data when
  `on_stale` / `on_no_data` are set. A rule alerts when it becomes met and when it is cleared.
- Baselines: what the store's last alert on a subject said, else its first state (a claim's first verdict is
  no news; a rule already met when first judged is).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from tui.core import format as fmt
from tui.core.config import AlertRule, AlertSettings
from tui.core.model import CLAIM, CLEAR, MET, RULE, Alert, Rule, Status, Verdict
from tui.core.narratives.rules.evaluate import Context, NoData, evaluate
from tui.core.narratives.rules.verdict import holds, off_text

JUDGED = (str(Status.HOLDS), str(Status.DIVERGED))


def crossed(held: bool, live: float, op: str, level: float, tolerance_pct: float, hysteresis_pct: float) -> bool:
    """Whether `live op level` holds now, given whether it `held` before: it changes only once `live` is past
    the boundary (the level, widened by the tolerance) by `hysteresis_pct` percent of the level."""
    now = holds(live, op, level, tolerance_pct)
    if now == held or hysteresis_pct <= 0 or level == 0:
        return now
    slack = abs(level) * tolerance_pct / 100
    bounds = (level - slack, level + slack) if op == "~" else (level - slack,) if op in (">", ">=") \
        else (level + slack,)
    needed = abs(level) * hysteresis_pct / 100
    if op == "~" and now:  # back inside a band: half its width at most, or a narrow band could never be entered
        needed = min(needed, slack / 2)
    return now if min(abs(live - b) for b in bounds) >= needed else held


@dataclass(slots=True)
class _Track:
    """What the judge remembers of one claim or rule."""

    state: str | None = None  # now, steadied by the hysteresis; None until first judged
    judged: str | None = None  # a claim's last holds or diverged, which the hysteresis holds against
    alerted: str | None = None  # what the last alert said (or the baseline)
    alerted_at: datetime | None = None
    changes: int = 0  # changes of `state` since the last alert
    remembered: bool = False  # its baseline is the store's last alert, not its first state here


@dataclass
class AlertJudge:
    """Which alerts fire, judgement after judgement. Not thread-safe: one judgement at a time."""

    settings: AlertSettings
    rules: Mapping[str, Rule]  # claim id -> its rule, for the level and tolerance the hysteresis holds against
    seen: Mapping[str, tuple[str, datetime]] = field(default_factory=dict)  # key -> the store's last alert
    _tracks: dict[str, _Track] = field(default_factory=dict)

    def judge(self, verdicts: Iterable[Verdict], ctx: Context, rules: Iterable[AlertRule] | None = None) -> list[Alert]:
        """The alerts that fire at ctx.now, given the claims' verdicts now and the context the rules read; `rules`:
        the alert rules to judge (by default every one). A claim or rule left out keeps its state."""
        fired = [a for v in verdicts if (a := self._claim(v, ctx.now)) is not None]
        chosen = self.settings.rules if rules is None else rules
        return fired + [a for r in chosen if (a := self._rule(r, ctx)) is not None]

    def cooldown_ends(self) -> datetime | None:
        """The first moment a change held back by a cooldown may be alerted (judged again then), or None."""
        cooldown = timedelta(seconds=self.settings.cooldown_s)
        waiting = [t.alerted_at + cooldown for t in self._tracks.values()
                   if t.alerted_at is not None and t.state is not None and t.state != t.alerted]
        return min(waiting, default=None)

    def _track(self, key: str, first: str | None) -> _Track:
        track = self._tracks.get(key)
        if track is None:
            last = self.seen.get(key)
            track = self._tracks[key] = _Track(alerted=last[0] if last else first,
                                               alerted_at=last[1] if last else None, remembered=last is not None)
        return track

    def _claim(self, verdict: Verdict, now: datetime) -> Alert | None:
        status = str(verdict.status)
        if verdict.status is Status.CONTEXT:
            return None
        track = self._track(f"{CLAIM}:{verdict.claim_id}", None)
        rule = self.rules.get(verdict.claim_id)
        if status in JUDGED and verdict.live_value is not None and rule is not None and track.judged is not None:
            steady = 0.0 if rule.unit == "date" else self.settings.hysteresis_pct  # days move in whole steps
            held = crossed(track.judged == str(Status.HOLDS), verdict.live_value, rule.op, rule.value,
                           rule.tolerance_pct, steady)
            status = str(Status.HOLDS if held else Status.DIVERGED)
        if status in JUDGED:
            if track.judged is None and not track.remembered:
                track.alerted = None  # its first verdict, after waiting for data: the baseline, not news
            track.judged = status
        elif not (self.settings.on_stale if verdict.status is Status.STALE else self.settings.on_no_data):
            return None  # not alerted on: the claim keeps the state it had
        return self._moved(track, status, now, lambda before, after: Alert(
            0, now, CLAIM, verdict.claim_id, before, after, _said(verdict), verdict.live_value,
            verdict.claim_value, verdict.unit or ""))

    def _rule(self, alert_rule: AlertRule, ctx: Context) -> Alert | None:
        rule = alert_rule.rule
        try:
            value = evaluate(rule.ast, ctx)
        except NoData:
            return None  # nothing to judge: the rule keeps its state
        if value.stale:
            return None  # a stale value is no news either way
        track = self._track(f"{RULE}:{alert_rule.name}", CLEAR)
        if track.state is None:
            met = holds(value.value, rule.op, rule.value, 0)
        else:
            met = crossed(track.state == MET, value.value, rule.op, rule.value, 0, self.settings.hysteresis_pct)
        live = fmt.quantity(value.value, rule.unit, fmt.series_kind(rule.series))  # a price to its quoting precision
        level = fmt.quantity(rule.value, rule.unit)
        shown = live if value.text == live else f"{value.text} = {live}"
        return self._moved(track, MET if met else CLEAR, ctx.now, lambda before, after: Alert(
            0, ctx.now, RULE, alert_rule.name, before, after, f"{shown} {'' if met else 'not '}{rule.op} {level}",
            value.value, rule.value, rule.unit))

    def _moved(self, track: _Track, state: str, now: datetime, make: Callable[[str, str], Alert]) -> Alert | None:
        """Note `state`; an alert when it differs from what was last alerted and the cooldown is over."""
        if track.state is not None and state != track.state:
            track.changes += 1
        track.state = state
        if track.alerted is None:  # a claim's first verdict is the baseline, not news
            track.alerted = state
            return None
        if state == track.alerted:
            return None
        if track.alerted_at is not None and (now - track.alerted_at).total_seconds() < self.settings.cooldown_s:
            return None  # wait: if it reverts meanwhile, nothing is said
        alert = make(track.alerted, state)
        if track.changes > 1:
            alert = _with_note(alert, f" (changed {track.changes} times since the last alert)")
        track.alerted, track.alerted_at, track.changes = state, now, 0
        return alert


def _with_note(alert: Alert, note: str) -> Alert:
    return replace(alert, message=alert.message + note)


def _said(verdict: Verdict) -> str:
    """What an alert on a claim says: how far off, as every screen says it, then why."""
    if verdict.deviation_pct is None or verdict.live_value is None:
        return verdict.explanation
    return f"off {off_text(verdict)}: {verdict.explanation}"
