"""The dashboard's engine: one frozen DashboardState per change, built off the event loop.

Whatever the mode, a dashboard shows what an Engine builds from a tape at a moment: in LIVE mode the tape
is the store (read over the viewer's own read-only connection, written by the collector), in SNAPSHOT,
REPLAY and DEMO an in-memory tape. A state holds the panels' content, every verdict now and on its claim's
own date, the sources' health, the flips since the last state and the collector's status, so that the
screens render from it alone, and the filter, the diverged-only switch and the language act on it without
judging again. Nothing here imports Textual: `build()` blocks and runs in a worker thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from tui.core.config import Settings
from tui.core.judge import tally
from tui.core.judge.alerts import AlertJudge
from tui.core.judge.closes import KeptCloses
from tui.core.judge.status import collector_last_seen
from tui.core.judge.then import judge_then, read_then
from tui.core.judge.view import ClockDue, Earlier, ThemeView, build_views, make_context, pending_views
from tui.core.model import Alert, Claim, Health, Observation, Status, Verdict
from tui.core.narratives.claims import Narratives
from tui.core.narratives.rules.evaluate import PastDays, fresh_after
from tui.core.narratives.rules.kept import KeptWindows
from tui.core.narratives.rules.verdict import off_text
from tui.core.store.protocol import Store
from tui.core.store.sqlite import CollectorInfo
from tui.core.tape import Tape

FULL_EVERY_S = 60.0  # a viewer judges every claim at least this often, even when the clock changed nothing due
THEN_EVERY_S = 30.0  # a viewer reads the collector's verdicts on the claims' own dates again at most this often
JUDGED = (Status.HOLDS, Status.DIVERGED)
ALERTS_KEPT = 200  # the alerts a state holds: the Alerts screen's list


@dataclass(frozen=True, slots=True)
class Flip:
    """A claim's verdict turned between holds and diverged."""

    claim_id: str
    before: Status
    after: Status
    at: datetime
    explanation: str

    @property
    def line(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} UTC: {self.before} → {self.after} ({self.explanation})"


@dataclass(frozen=True, slots=True)
class CollectorStatus:
    """Whether a collector writes the store now, and since when it does not."""

    running: bool
    info: CollectorInfo | None
    down_since: datetime | None = None  # when it was last seen at work (the store's record), if known
    asked: tuple[str, str, datetime] | None = None  # the last pause or resume for the desk: what, who, when

    @property
    def paused_by(self) -> str:
        """`alice@desk at 14:02` when paused on someone's request (local time), else ""."""
        if self.asked is None or self.asked[0] != "pause" or self.info is None or not self.info.paused:
            return ""
        return f"{self.asked[1]} at {self.asked[2].astimezone():%H:%M}" if self.asked[1] else \
            f"at {self.asked[2].astimezone():%H:%M}"


@dataclass(frozen=True, slots=True)
class DashboardState:
    """Everything a dashboard shows at one moment. Frozen: screens render from it and never judge."""

    now: datetime
    views: tuple[ThemeView, ...]
    verdicts: Mapping[str, Verdict]  # now, by claim id
    then: Mapping[str, Verdict]  # on each claim's own date, by claim id, where known
    health: tuple[Health, ...] = ()
    flips: Mapping[str, tuple[Flip, ...]] = field(default_factory=dict)  # every flip seen, by claim id
    new_flips: tuple[Flip, ...] = ()  # the flips since the previous state
    collector: CollectorStatus | None = None  # LIVE only
    built_in_s: float = 0.0
    claims: Mapping[str, Claim] = field(default_factory=dict)  # by id: whose reading, which sentence
    drafts: frozenset[str] = frozenset()  # rules the user has not confirmed: shown, never counted
    alerts: tuple[Alert, ...] = ()  # the newest alerts, newest first (LIVE: the collector's, from the store)
    new_alerts: tuple[Alert, ...] = ()  # the alerts since the previous state, oldest first
    unacked: int = 0  # alerts nobody has acknowledged
    pending: bool = False  # the first frame's: stored values, no claim judged yet (Engine.pending)

    @property
    def diverged(self) -> int:
        return self.diverged_now.total

    @property
    def diverged_now(self) -> tally.Diverged:
        """Diverged claims (drafts aside), those of our reading counted apart: `8 diverged (3 ours)`."""
        return tally.diverged((v for v in self.verdicts.values() if v.claim_id not in self.drafts), self.claims)

    @property
    def wrong_then(self) -> int:
        """The articles' sentences the record does not support on their own dates (claims of our reading and
        drafts aside; claims quoting one sentence count once)."""
        return tally.wrong_then((v for v in self.then.values() if v.claim_id not in self.drafts), self.claims)


class Engine:
    """Builds DashboardStates from `tape` at `clock()`. Not thread-safe: one build at a time."""

    def __init__(self, narratives: Narratives, settings: Settings, tape: Tape, clock: Callable[[], datetime],
                 store: Store | None = None) -> None:
        self.narratives = narratives
        self.settings = settings
        self.tape = tape
        self.clock = clock
        self.store = store  # LIVE: the viewer's read-only store (also `tape`)
        self.state: DashboardState | None = None
        self._then: dict[str, Verdict] = {}
        self._then_at = float("-inf")
        self._flips: dict[str, tuple[Flip, ...]] = {}
        self._down_since: datetime | None = None
        self._past_days: PastDays = {}  # conditions' answers on past days, kept from one state to the next
        self._kept_windows = KeptWindows()  # what corr() and beta() work out from past closes, likewise
        self._full_at = float("-inf")  # when every claim was last judged
        self._due: datetime | None = None  # when the clock alone may next change a verdict or a row (ClockDue)
        self._clock_due = ClockDue(settings)
        self._ahead: dict[str, datetime] = {}  # series whose newest stored value is after the clock: when it is
        self._judge: AlertJudge | None = None  # a tape's alerts, judged here as the collector would (see use)
        self._alerts: list[Alert] = []  # a tape's, newest first
        self._alert_seen: int | None = None  # the newest alert id already in a state
        self._acked: set[int] = set()  # acknowledged here, before the store says so
        self._alerts_read: tuple[list[Alert], int] | None = None  # LIVE: the store's newest alerts and unacked count
        self._health_read: tuple[Health, ...] = ()
        self.closes = KeptCloses(store, clock) if store is not None else None  # LIVE: past days' closes, kept
        self.use(narratives)

    def use(self, narratives: Narratives) -> None:
        """Judge these narratives from the next build on (the user's files changed): every claim on its own date
        again too, since a claim may be new or its rule changed."""
        self.narratives = narratives
        self._then = {}
        self._full_at = float("-inf")  # a rule may have changed under a kept id: judge every claim
        if self.store is None:  # a tape has no collector: its alerts are judged here, on these claims' rules
            self._judge = AlertJudge(self.settings.alerts,
                                     {c.id: c.rule for c in narratives.claims if c.rule is not None})

    def judge_then(self, narratives: Narratives) -> dict[str, Verdict]:
        """Each claim on its own date: LIVE, as the collector judged and keeps it in the store (a viewer judges
        none itself); a tape's, judged here."""
        if self.store is not None:
            return read_then(narratives.claims, self.store)
        return judge_then(narratives.claims, self.tape, self.settings)

    def build(self, changed: set[str] | None = None, quiet: bool = False) -> DashboardState:
        """The state now: judge every claim, fill every panel, note the flips since the last state. With
        `changed` (the series appended to since the last state; empty: none), judge and read again only what
        reads them, unless the clock may have changed something else meanwhile (a value turned stale, a market
        opened or closed, a new day: ClockDue) or the last full judgement is FULL_EVERY_S old. `quiet`: nothing
        was committed to the store since the last state, so its alerts and health are not read again."""
        started = time.perf_counter()
        now = self.clock()
        narratives = self.narratives  # one set of claims for the whole build, though `use` may come meanwhile
        if self.closes is not None:
            if changed is None and not quiet:
                self.closes.forget()
                self._kept_windows.forget()
            elif changed:
                self.closes.appended(changed)
        earlier = None
        if changed is not None and self.state is not None and time.monotonic() - self._full_at < FULL_EVERY_S \
                and self._due is not None and now < self._due:
            earlier = Earlier(self.state.verdicts, self.state.views, self.state.now, changed)
        else:
            self._full_at = time.monotonic()
        # A tape's history is all there from the start; the store's grows as the collector fetches it.
        if not self._then or (self.store is not None and time.monotonic() - self._then_at >= THEN_EVERY_S):
            self._then = self.judge_then(narratives)
            self._then_at = time.monotonic()
        context = make_context(self.closes or self.tape, now, self.settings, self._past_days,
                               kept_windows=self._kept_windows)
        views, verdicts = build_views(narratives, context, "en", self._then, earlier)
        self._read_ahead({r.series for v in views for r in v.series} if changed is None else changed, now)
        self._due = self._clock_due.due(views, verdicts, now, (t for t in self._ahead.values() if t > now))
        by_id = {v.claim_id: v for v in verdicts}
        new_flips = self._note_flips(by_id, now)
        if self._judge is not None:
            drafts = {c.id for c in narratives.claims if c.draft}  # a draft is never alerted on
            for alert in self._judge.judge([v for v in verdicts if v.claim_id not in drafts], context):
                self._alerts.insert(0, replace(alert, id=(self._alerts[0].id if self._alerts else 0) + 1))
            del self._alerts[ALERTS_KEPT:]
        state = DashboardState(now, tuple(views), by_id, dict(self._then), self._health(quiet), dict(self._flips),
                               new_flips, self._collector(now), time.perf_counter() - started,
                               {c.id: c for c in narratives.claims},
                               frozenset(c.id for c in narratives.claims if c.draft), *self._read_alerts(quiet))
        self.state = state
        return state

    def _read_ahead(self, series: set[str], now: datetime) -> None:
        """Note the first time after `now` of the newest values of `series` (stored by a source whose clock is
        ahead of ours: not shown before ours reaches them), read anew for the series appended to (each value comes
        with a commit), or for all."""
        horizon = now + timedelta(days=1)
        for name in series:
            ahead = [o.ts for o in self.tape.latest(name, horizon) if o.ts > now]
            if ahead:
                self._ahead[name] = min(ahead)
            else:
                self._ahead.pop(name, None)

    def pending(self) -> DashboardState:
        """What the first frame shows, before anything is judged: the panels with each series' stored value,
        each claim JUDGING, the then-verdicts the collector keeps (LIVE; a tape's are judged with the first
        state), the sources' health and the collector's status. The verdicts come with the first build."""
        started = time.perf_counter()
        now = self.clock()
        narratives = self.narratives
        then = read_then(narratives.claims, self.store) if self.store is not None else {}
        views = pending_views(narratives, self.tape, now, self.settings, then)
        verdicts = {row.claim.id: row.verdict for view in views for row in view.claims}
        return DashboardState(now, tuple(views), verdicts, then, self._health(), {}, (), self._collector(now),
                              time.perf_counter() - started, {c.id: c for c in narratives.claims},
                              frozenset(c.id for c in narratives.claims if c.draft), pending=True)

    def _store_alerts(self, quiet: bool) -> tuple[list[Alert], int]:
        """The store's newest alerts and how many are not acknowledged, read only as far as they changed: the
        alerts after the newest already read, and the whole list only when the count says some were acknowledged
        (or removed) meanwhile. `quiet`: nothing was committed since the last read."""
        assert self.store is not None
        kept = self._alerts_read
        if kept is not None and quiet:
            return kept
        unacked = self.store.unacked_alerts()
        if kept is None:
            found = self.store.alerts(limit=ALERTS_KEPT)
        else:
            newer = self.store.alerts(after=kept[0][0].id, limit=ALERTS_KEPT) if kept[0] else \
                self.store.alerts(limit=ALERTS_KEPT)
            if unacked == kept[1] + sum(1 for a in newer if not a.acked):
                found = (newer + kept[0])[:ALERTS_KEPT]
            else:  # acknowledged (or pruned) meanwhile: which ones, only the whole list says
                found = self.store.alerts(limit=ALERTS_KEPT)
        self._alerts_read = (found, unacked)
        return self._alerts_read

    def _read_alerts(self, quiet: bool = False) -> tuple[tuple[Alert, ...], tuple[Alert, ...], int]:
        """The newest alerts (acknowledged ones marked), those new since the last state, and the count of those
        not acknowledged."""
        if self.store is not None:
            found, unacked = self._store_alerts(quiet)
        else:
            found, unacked = self._alerts, sum(1 for a in self._alerts if not a.acked)
        alerts = tuple(replace(a, acked=True) if a.id in self._acked and not a.acked else a for a in found)
        unacked -= sum(1 for a in found if a.id in self._acked and not a.acked)
        newest = alerts[0].id if alerts else 0
        seen = newest if self._alert_seen is None and self.store is not None else (self._alert_seen or 0)
        self._alert_seen = max(seen, newest)  # a viewer's first look toasts nothing of the past
        return alerts, tuple(a for a in reversed(alerts) if a.id > seen), max(0, unacked)

    def acknowledge(self, alert_id: int, through: bool = False) -> DashboardState | None:
        """Mark an alert (with `through`, every alert up to it) acknowledged here, and return the state saying
        so. A LIVE app also asks the collector to record it, for every dashboard: the viewer's store is read-only,
        and the collector is the alerts' one writer."""
        if self.state is None:
            return None
        ids = {a.id for a in self.state.alerts if a.id <= alert_id} if through else {alert_id}
        self._acked |= ids
        if self.store is None:
            self._alerts = [replace(a, acked=True) if a.id in ids else a for a in self._alerts]
        newly = sum(1 for a in self.state.alerts if a.id in ids and not a.acked)
        self.state = replace(self.state, alerts=tuple(replace(a, acked=True) if a.id in ids else a
                                                      for a in self.state.alerts),
                             new_alerts=(), new_flips=(), unacked=max(0, self.state.unacked - newly))
        return self.state

    def refresh_status(self) -> DashboardState:
        """The last state with the sources' health and the collector's status read again, and nothing judged
        again: what a commit that added no observation (a health record, a request, a prune) can change."""
        if self.state is None:
            return self.build()
        alerts, new_alerts, unacked = self._read_alerts()
        self.state = replace(self.state, health=self._health(), collector=self._collector(self.clock()),
                             new_flips=(), alerts=alerts, new_alerts=new_alerts, unacked=unacked)
        return self.state

    def _note_flips(self, verdicts: dict[str, Verdict], now: datetime) -> tuple[Flip, ...]:
        before = self.state.verdicts if self.state is not None else {}
        flips = []
        for claim_id, verdict in verdicts.items():
            old = before.get(claim_id)
            if old is not None and old.status in JUDGED and verdict.status in JUDGED \
                    and old.status is not verdict.status:
                said = f"off {off_text(verdict)}: {verdict.explanation}"
                flip = Flip(claim_id, old.status, verdict.status, now, said)
                flips.append(flip)
                self._flips[claim_id] = (*self._flips.get(claim_id, ()), flip)
        return tuple(flips)

    def _health(self, quiet: bool = False) -> tuple[Health, ...]:
        """The sources' health; `quiet`: nothing was committed since it was last read, so it is the same."""
        if self.store is not None and not (quiet and self.state is not None):
            self._health_read = tuple(self.store.health())
        return self._health_read

    def _collector(self, now: datetime) -> CollectorStatus | None:
        if self.store is None:
            return None
        running = self.store.collector_running()
        if running:
            self._down_since = None
        elif self._down_since is None:  # when it stopped, as the store keeps it: not when this viewer looked
            self._down_since = collector_last_seen(self.store)
        last = self.store.last_request(("pause", "resume"))
        asked = None if last is None else (last[0].partition(":")[0], last[0].partition(":")[2], last[1])
        return CollectorStatus(running, self.store.collector(), self._down_since, asked)

    # ---- drill-downs: what a claim or series page reads beyond the state -------------------------------

    def latest(self, series: str) -> tuple[list[Observation], datetime]:
        """Each source's latest value of `series`, and the moment before which a value is stale."""
        now = self.clock()
        return self.tape.latest(series, now), fresh_after(make_context(self.tape, now, self.settings), series)
