"""`tapecheck status`: one line for a status bar or cron, read from the store with no network and no heavy
imports, e.g. `3 diverged · 1 stale · BTC 71,200 USD (30s) · collector ok`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tui.core import format as fmt
from tui.core.claims import Narratives
from tui.core.config import Settings
from tui.core.model import Status
from tui.core.rules.evaluate import NoData, last
from tui.core.rules.verdict import judge_all
from tui.core.store import Store
from tui.core.then import fingerprint
from tui.core.view import make_context
from tui.core.words import WRONG_THEN, now_label

BTC = "crypto:BTC/USD:last"


@dataclass(frozen=True, slots=True)
class StoreStatus:
    counts: dict[str, int]  # verdict status -> claims
    btc: float | None
    btc_age_s: float | None
    collector: str  # "ok", "paused" or "down"
    wrong_then: int = 0  # the articles' figures WRONG on their own date, as the collector judged and stored them

    @property
    def line(self) -> str:
        parts = [f"{self.counts.get(str(Status.DIVERGED), 0)} {now_label(Status.DIVERGED).lower()}"]
        stale = self.counts.get(str(Status.STALE), 0)
        if stale:
            parts.append(f"{stale} {now_label(Status.STALE)}")
        if self.wrong_then:
            parts.append(f"{self.wrong_then} {WRONG_THEN}")
        if self.btc is not None:
            parts.append(f"BTC {fmt.quantity(self.btc, 'USD')} ({fmt.age(self.btc_age_s)})")
        parts.append(f"collector {self.collector}")
        return " · ".join(parts)

    def json(self) -> dict[str, Any]:
        return {"line": self.line, "counts": self.counts, "wrong_then": self.wrong_then, "btc": self.btc,
                "btc_age_s": self.btc_age_s, "collector": self.collector}


def store_status(store: Store, narratives: Narratives, settings: Settings, now: datetime) -> StoreStatus:
    ctx = make_context(store, now, settings)
    counts: dict[str, int] = {}
    for verdict in judge_all([c for c in narratives.claims if not c.draft], ctx):  # drafts are not confirmed
        counts[str(verdict.status)] = counts.get(str(verdict.status), 0) + 1
    try:
        btc = last(ctx, BTC)
        value, age = btc.value, btc.inputs[0].age_s
    except NoData:
        value, age = None, None
    info = store.collector()
    collector = "down" if not store.collector_running() else "paused" if info and info.paused else "ok"
    stored = store.then_verdicts()
    wrong = sum(1 for c in narratives.claims if not c.derived and c.id in stored
                and stored[c.id].status is Status.DIVERGED and stored[c.id].fingerprint == fingerprint(c))
    return StoreStatus(counts, value, age, collector, wrong)
