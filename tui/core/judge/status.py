"""`tapecheck status`: one line for a status bar or cron, read from the store with no network and no heavy
imports, e.g. `3 diverged · 1 stale · BTC 71,200 USD (30s) · collector ok`.

While a collector runs it keeps a summary of what it judged last in the store (`summary_of`, at least every
SUMMARY_EVERY_S), and `status` reads that: no narratives loaded, no claim judged, a start-up near a bare
Python's. With no collector, or an old summary, `status` judges every claim itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tui.core import format as fmt
from tui.core.judge import tally
from tui.core.judge.tally import counts_as_error
from tui.core.model import Status, Verdict
from tui.core.words import WRONG_THEN, now_label

if TYPE_CHECKING:
    from tui.core.config import Settings
    from tui.core.model import Cached
    from tui.core.narratives.claims import Narratives
    from tui.core.store.protocol import Store

BTC = "crypto:BTC/USD:last"
SUMMARY_EVERY_S = 60.0  # a collector writes its summary again this often, or at once when it changed
SUMMARY_FRESH_S = 3 * SUMMARY_EVERY_S  # an older summary is not trusted: status judges for itself


@dataclass(frozen=True, slots=True)
class StoreStatus:
    counts: dict[str, int]  # verdict status -> claims (drafts left out)
    btc: float | None
    btc_age_s: float | None
    collector: str  # "ok", "paused" or "down"
    wrong_then: int = 0  # the articles' sentences WRONG on their own date, as the collector judged and stored them
    judged_by: str = "status"  # "collector": the counts are the collector's summary; "status": judged here
    diverged_ours: int = 0  # of the diverged claims, those of our reading
    failing: tuple[str, ...] = ()  # the sources whose last poll failed (or were refused: 429), as last stored
    unacked: int = 0  # alerts nobody has acknowledged
    btc_stale: bool = False  # BTC's newest value is older than [staleness] max_age_s
    down_since: datetime | None = None  # the collector down: when it was last seen working, from the store

    @property
    def checked(self) -> bool:
        """Whether at least one claim could be judged (held or diverged); else `check` would exit 4."""
        return bool(self.counts.get(str(Status.HOLDS), 0) or self.counts.get(str(Status.DIVERGED), 0))

    @property
    def exit_status(self) -> int:
        """As `check`'s: 1 when a claim diverged, 4 when none could be judged (no data, or stale), else 0."""
        return 1 if self.counts.get(str(Status.DIVERGED), 0) else 0 if self.checked else 4

    @property
    def line(self) -> str:
        if self.checked:
            ours = f" ({self.diverged_ours} ours)" if self.diverged_ours else ""
            parts = [f"{self.counts.get(str(Status.DIVERGED), 0)} {now_label(Status.DIVERGED).lower()}{ours}"]
            for status in (Status.DISPUTED, Status.STALE):  # disputed: only disagreeing sources, nothing judged
                if self.counts.get(str(status), 0):
                    parts.append(f"{self.counts[str(status)]} {now_label(status)}")
        else:  # nothing could be judged: never a reassuring "0 diverged"
            held_back = (Status.NO_DATA, Status.DISPUTED, Status.STALE)
            why = ", ".join(f"{self.counts[str(s)]} {now_label(s)}" for s in held_back if self.counts.get(str(s), 0))
            parts = [f"no data: no claim checked ({why})" if why else "no data: no claim checked"]
        if self.wrong_then:
            parts.append(f"{self.wrong_then} {WRONG_THEN}")
        if self.unacked:
            parts.append(f"{self.unacked} alert{'s' if self.unacked > 1 else ''}")
        if self.btc is not None:
            parts.append(f"BTC {fmt.quantity(self.btc, 'USD')} ({fmt.age(self.btc_age_s)}"
                         f"{', ' + now_label(Status.STALE) if self.btc_stale else ''})")
        if self.failing:
            names = ", ".join(self.failing) if len(self.failing) <= 3 else f"{len(self.failing)} sources"
            parts.append(f"{names} failing")
        since = f" since {self.down_since.astimezone():%H:%M}" if self.down_since is not None else ""
        parts.append(f"collector {self.collector}{since if self.collector == 'down' else ''}")
        return " · ".join(parts)

    def json(self) -> dict[str, Any]:
        return {"line": self.line, "counts": self.counts, "diverged_ours": self.diverged_ours,
                "wrong_then": self.wrong_then, "btc": self.btc,
                "btc_age_s": self.btc_age_s, "btc_stale": self.btc_stale, "failing": list(self.failing),
                "unacked_alerts": self.unacked, "collector": self.collector,
                "collector_down_since": None if self.down_since is None else self.down_since.isoformat(),
                "judged_by": self.judged_by, "exit_status": self.exit_status}


def collector_last_seen(store: Store) -> datetime | None:
    """When the store's collector was last seen at work: the moment it stopped (kept as it stops), else its last
    summary (kept at least each SUMMARY_EVERY_S while it runs); None if no collector ever wrote one."""
    kept = store.summary()
    if not kept:
        return None
    for key in ("stopped_at", "at"):
        try:
            return datetime.fromisoformat(str(kept[key]))
        except (KeyError, ValueError, TypeError):
            continue
    return None


def summary_of(narratives: Narratives, verdicts: Iterable[Verdict], stored_then: Mapping[str, Cached],
               fingerprint: Callable[..., str]) -> dict[str, Any]:
    """The counts `status` shows: verdicts now by status (drafts are not confirmed: left out), how many of the
    diverged are of our reading, and the articles' sentences WRONG on their own date (claims of our reading
    aside; claims quoting one sentence count once)."""
    claims = {c.id: c for c in narratives.claims}
    counts: dict[str, int] = {}
    now = [v for v in verdicts if not (v.claim_id in claims and claims[v.claim_id].draft)]
    for verdict in now:
        counts[str(verdict.status)] = counts.get(str(verdict.status), 0) + 1
    wrong = {c.sentence for c in narratives.claims if counts_as_error(c) and c.id in stored_then
             and stored_then[c.id].status is Status.DIVERGED and stored_then[c.id].fingerprint == fingerprint(c)}
    return {"counts": counts, "diverged_ours": tally.diverged(now, claims).ours, "wrong_then": len(wrong)}


def store_status(store: Store, narratives: Callable[[], Narratives], settings: Settings,
                 now: datetime) -> StoreStatus:
    """The status line's figures; `narratives` is called only when there is no fresh summary to read."""
    info = store.collector()
    collector = "down" if not store.collector_running() else "paused" if info and info.paused else "ok"
    kept = store.summary() if collector != "down" else None
    if kept is not None and _fresh(kept, now) and "stopped_at" not in kept:
        counts = {str(k): int(v) for k, v in dict(kept.get("counts", {})).items()}
        wrong, judged_by = int(kept.get("wrong_then", 0)), "collector"
        ours = int(kept.get("diverged_ours", 0))
    else:
        found = _judge(store, narratives(), settings, now)
        counts, wrong, judged_by, ours = found["counts"], found["wrong_then"], "status", found["diverged_ours"]
    value, age, stale = _btc(store, settings, now)
    failing = tuple(sorted(h.source for h in store.health()
                           if h.state in ("failing", "rate_limited") and h.kind != "alerts"))
    down_since = collector_last_seen(store) if collector == "down" else None
    return StoreStatus(counts, value, age, collector, wrong, judged_by, diverged_ours=ours, failing=failing,
                       unacked=store.unacked_alerts(), btc_stale=stale, down_since=down_since)


def _fresh(summary: Mapping[str, Any], now: datetime) -> bool:
    try:
        at = datetime.fromisoformat(str(summary["at"]))
        return 0 <= (now - at).total_seconds() <= SUMMARY_FRESH_S and isinstance(summary.get("counts"), dict)
    except (KeyError, ValueError, TypeError):
        return False


def _judge(store: Store, narratives: Narratives, settings: Settings, now: datetime) -> dict[str, Any]:
    from tui.core.judge.then import fingerprint
    from tui.core.judge.view import make_context
    from tui.core.narratives.rules.verdict import judge_all

    verdicts = judge_all(narratives.claims, make_context(store, now, settings))
    return summary_of(narratives, verdicts, store.then_verdicts(), fingerprint)


def _btc(store: Store, settings: Settings, now: datetime) -> tuple[float | None, float | None, bool]:
    """BTC/USD now, as a claim reads it (`last()`: the fresh sources' median), its age, and whether it is stale."""
    from tui.core.narratives.rules.evaluate import Context, NoData, last

    try:
        btc = last(Context(store, now, settings.staleness.max_age_s, settings.staleness.history_days), BTC)
    except NoData:
        return None, None, False
    return btc.value, btc.inputs[0].age_s, btc.inputs[0].stale
