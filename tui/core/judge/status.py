"""`tapecheck status`: one line for a status bar or cron, read from the store with no network and no heavy
imports, e.g. `3 diverged · 1 stale · BTC 71,200 USD (30s) · collector ok`.

While a collector runs it keeps a summary of what it judged last in the store (`summary_of`, at least every
SUMMARY_EVERY_S), and `status` reads that: no narratives loaded, no claim judged. `python -m tui status` and
the `tapecheck` command first try tui.core.quickstatus, which reads it with sqlite3 alone (a start-up near a
bare Python's); this is the full path, taken when that one cannot answer: with no collector, or an old
summary, `status` judges every claim itself. Both build tui.core.statusline.StoreStatus, so print alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tui.core.judge import tally
from tui.core.judge.tally import counts_as_error
from tui.core.model import Status, Verdict
from tui.core.statusline import BTC as BTC
from tui.core.statusline import SUMMARY_EVERY_S as SUMMARY_EVERY_S
from tui.core.statusline import SUMMARY_FRESH_S as SUMMARY_FRESH_S
from tui.core.statusline import StoreStatus as StoreStatus
from tui.core.statusline import failing_sources, fresh_summary

if TYPE_CHECKING:
    from tui.core.config import Settings
    from tui.core.model import Cached
    from tui.core.narratives.claims import Narratives
    from tui.core.store.protocol import Store


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
    kept = fresh_summary(store.summary(), now) if collector != "down" else None
    if kept is not None:
        (counts, wrong, ours), judged_by = kept, "collector"
    else:
        found = _judge(store, narratives(), settings, now)
        counts, wrong, judged_by, ours = found["counts"], found["wrong_then"], "status", found["diverged_ours"]
    value, age, stale = _btc(store, settings, now)
    failing = failing_sources((h.source, h.kind, h.state) for h in store.health())
    down_since = collector_last_seen(store) if collector == "down" else None
    return StoreStatus(counts, value, age, collector, wrong, judged_by, diverged_ours=ours, failing=failing,
                       unacked=store.unacked_alerts(), btc_stale=stale, down_since=down_since)


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
