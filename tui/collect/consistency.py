"""Cross-source consistency: each new value held against what else is known of its asset, before it is stored.

A value is *disputed* (quarantined: stored apart, with the reason, never read as a value) when it is more than
`factor` times above or below

- the other sources of the same asset: the same series from another exchange, and the asset's other dollar
  quotes (BTC/USD against BTC/USDT and BTC/USDC), their latest values within `peer_window` of it. It is
  disputed only when most of them disagree with it: with one source in cents and two in dollars the cents are
  disputed, whichever came first; one against one cannot be told apart, and the first keeps its place until
  a third speaks. Disputed values count as witnesses too, so that one wrong value accepted first cannot
  keep the right ones out for long;
- or, where no other source has a recent value (Yahoo is the only source of a stock), its own source's last
  accepted value within `own_window`. A real jump (a stock split) that holds at its new level for `settle`
  is accepted as the new level.

The values are never averaged with what they are held against: a value is either kept whole or disputed.
No Textual, no network: the poller applies it to every answer, and the store seeds it at start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from statistics import median

from tui.collect.sources.base import Disputed, FetchResult
from tui.core.model import Observation, SeriesId, TapecheckError
from tui.core.store import Store

# Quote currencies that are dollars for this purpose: a BTC/USDT price is held against BTC/USD's.
DOLLARS = frozenset({"USD", "USDT", "USDC", "FDUSD", "PYUSD", "DAI", "TUSD", "USDE"})


def asset_key(series: str) -> str:
    """What a series is a reading of, across sources and dollar quotes: crypto:BTC/USDT:last → crypto:BTC/$:last."""
    try:
        parsed = SeriesId.parse(series)
    except TapecheckError:
        return series
    if parsed.kind != "crypto":
        return series
    base, _, quote = parsed.symbol.partition("/")
    return f"crypto:{base}/{'$' if quote in DOLLARS else quote}:{parsed.field}"


@dataclass(frozen=True, slots=True)
class _Seen:
    value: float
    ts: datetime
    disputed: bool = False


def _times(value: float, reference: float) -> float:
    """How many times apart two positive values are (≥ 1)."""
    ratio = value / reference
    return ratio if ratio >= 1 else 1 / ratio


class ConsistencyCheck:
    """Judges each poll's observations against the other sources and the recent past; remembers what it kept.

    `counts` is how many values each source has had disputed since start.
    """

    def __init__(self, factor: float, peer_window: timedelta = timedelta(hours=1),
                 own_window: timedelta = timedelta(days=7), settle: timedelta = timedelta(hours=1)) -> None:
        self.factor = factor
        self.peer_window = peer_window
        self.own_window = own_window
        self.settle = settle
        self.counts: dict[str, int] = {}
        # asset -> (series, source, disputed) -> the newest value kept, and the newest disputed
        self._latest: dict[str, dict[tuple[str, str, bool], _Seen]] = {}
        self._jump: dict[tuple[str, str], _Seen] = {}  # (series, source) -> first of a run of disputed values

    def remember(self, observations: Iterable[Observation]) -> None:
        """Take values as known good (the store's, at start)."""
        for obs in observations:
            self._note(obs, disputed=False)

    def _note(self, obs: Observation, disputed: bool) -> None:
        seen = self._latest.setdefault(asset_key(obs.series), {})
        key = (obs.series, obs.source, disputed)  # the last kept and the last disputed, apart
        before = seen.get(key)
        if before is None or obs.ts >= before.ts:
            seen[key] = _Seen(obs.value, obs.ts, disputed)

    def _peers(self, obs: Observation) -> list[tuple[str, _Seen]]:
        """Each other source's newest value of the asset near `obs` in time, kept or disputed: (source, value)."""
        newest: dict[tuple[str, str], _Seen] = {}
        for (series, source, _), seen in self._latest.get(asset_key(obs.series), {}).items():
            if source == obs.source or abs(seen.ts - obs.ts) > self.peer_window:
                continue
            before = newest.get((series, source))
            if before is None or seen.ts > before.ts:
                newest[(series, source)] = seen
        return [(source, seen) for (_, source), seen in newest.items()]

    def judge(self, result: FetchResult) -> FetchResult:
        """The result with its disagreeing observations moved to `disputed`."""
        if not result.observations:
            return result
        kept: list[Observation] = []
        disputed = list(result.disputed)
        for obs in sorted(result.observations, key=lambda o: o.ts):  # history: each day against the one before
            reason = self.reason(obs)
            if reason is None:
                kept.append(obs)
                self._note(obs, disputed=False)
            else:
                disputed.append(Disputed(obs, reason))
                self._note(obs, disputed=True)
                self.counts[obs.source] = self.counts.get(obs.source, 0) + 1
        if len(disputed) == len(result.disputed):
            return result
        order = {id(obs): i for i, obs in enumerate(result.observations)}
        kept.sort(key=lambda o: order[id(o)])
        return replace(result, observations=tuple(kept), disputed=tuple(disputed))

    def reason(self, obs: Observation) -> str | None:
        """Why `obs` is disputed, or None when it agrees (or nothing is known to hold it against)."""
        peers = self._peers(obs)
        if peers:
            against = [(source, s.value) for source, s in peers if _times(obs.value, s.value) > self.factor]
            if len(against) * 2 <= len(peers):  # most agree, or it is one against one
                self._jump.pop((obs.series, obs.source), None)
                return None
            reference = median(value for _, value in against)
            names = ", ".join(sorted({source for source, _ in against}))
            what = f"the other sources' {reference:.6g} ({names})"
        else:
            own = self._latest.get(asset_key(obs.series), {}).get((obs.series, obs.source, False))
            if own is None or abs(obs.ts - own.ts) > self.own_window:
                return None
            if _times(obs.value, own.value) <= self.factor:
                self._jump.pop((obs.series, obs.source), None)
                return None
            if self._settled(obs):
                return None
            reference = own.value
            what = f"its own last value {reference:.6g} ({own.ts:%Y-%m-%d %H:%M} UTC)"
        direction = "above" if obs.value > reference else "below"
        return (f"{obs.series}: {obs.value:.6g} is {_times(obs.value, reference):.3g}x {direction} {what}, "
                f"more than the {self.factor:g}x allowed")

    def _settled(self, obs: Observation) -> bool:
        """Whether a jump away from the source's own past has held at its new level for `settle` (a split)."""
        key = (obs.series, obs.source)
        first = self._jump.get(key)
        if first is None or _times(obs.value, first.value) > self.factor:
            self._jump[key] = _Seen(obs.value, obs.ts)
            return False
        if obs.ts - first.ts < self.settle:
            return False
        del self._jump[key]
        return True


def seed_from_store(check: ConsistencyCheck, store: Store, now: datetime) -> None:
    """Give the check each source's latest stored value of every series, so that the first answers after a
    start are held against something. Reads the store: call it off the event loop."""
    for series in sorted(store.series_ids()):
        check.remember(store.latest(series, now))
