"""Cross-source consistency in the collector: each poll's answer held against what else is known of its asset
before it is stored. The check itself is pure and lives in tui.core.consistency, where a snapshot, tape or
replay is held to it too; here it is applied to a source's FetchResult and seeded from the store.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from tui.collect.sources.base import Disputed, FetchResult
from tui.core import consistency
from tui.core.consistency import DOLLARS as DOLLARS  # re-exported: the collector's names for the check
from tui.core.consistency import asset_key as asset_key
from tui.core.store.protocol import Store


class ConsistencyCheck(consistency.ConsistencyCheck):
    """The core check, judging whole poll results. `counts` is how many values each source has had disputed."""

    def judge(self, result: FetchResult) -> FetchResult:
        """The result with its disagreeing observations moved to `disputed`."""
        if not result.observations:
            return result
        kept, disputed = self.sift(result.observations)
        if not disputed:
            return result
        return replace(result, observations=tuple(kept),
                       disputed=(*result.disputed, *(Disputed(obs, reason) for obs, reason in disputed)))


def seed_from_store(check: ConsistencyCheck, store: Store, now: datetime) -> None:
    """Give the check each source's latest stored value of every series, so that the first answers after a
    start are held against something. Reads the store: call it off the event loop."""
    for series in sorted(store.series_ids()):
        check.remember(store.latest(series, now))
