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
No Textual, no network: the collector's poller applies it to every answer (tui/collect/consistency.py), and a
snapshot, tape or replay is held to it when it is read (`sift_file`). A file has no order of arrival: there
each value is held against the other sources' values near it before and after, and one against one that
disagree are both disputed (which of them is right cannot be told).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from tui.core.model import Observation, SeriesId, TapecheckError

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

    def sift(self, observations: Iterable[Observation]) -> tuple[list[Observation], list[tuple[Observation, str]]]:
        """Observations judged in time order (history: each day against the one before): those kept, in their
        order, and those disputed with why. Remembers what it kept and disputed."""
        given = list(observations)
        kept: list[Observation] = []
        disputed: list[tuple[Observation, str]] = []
        for obs in sorted(given, key=lambda o: o.ts):
            reason = self.reason(obs)
            if reason is None:
                kept.append(obs)
                self._note(obs, disputed=False)
            else:
                disputed.append((obs, reason))
                self._note(obs, disputed=True)
                self.counts[obs.source] = self.counts.get(obs.source, 0) + 1
        order = {id(obs): i for i, obs in enumerate(given)}
        kept.sort(key=lambda o: order[id(o)])
        return kept, disputed

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




class FileCheck(ConsistencyCheck):
    """The check over a whole file (a snapshot, tape or replay), which has no order of arrival: each value's
    peers are the other sources' values of its asset nearest to it in time, before or after, within
    `peer_window`. So one against one that disagree are both disputed, unless its own source's value just before
    it (within `own_window`) vouches for one of them; and with two of four sources at 100x every value is:
    which are right cannot be told. A value with no peers is held against its own source's past, in time
    order, as the collector holds it."""

    def __init__(self, observations: Iterable[Observation], factor: float, **windows: timedelta) -> None:
        super().__init__(factor, **windows)
        self._all: dict[str, dict[tuple[str, str], tuple[list[datetime], list[float]]]] = defaultdict(dict)
        rows: dict[tuple[str, str], list[Observation]] = defaultdict(list)
        for obs in observations:
            rows[(obs.series, obs.source)].append(obs)
        for (series, source), found in rows.items():
            found.sort(key=lambda o: o.ts)
            self._all[asset_key(series)][(series, source)] = ([o.ts for o in found], [o.value for o in found])

    def _peers(self, obs: Observation) -> list[tuple[str, _Seen]]:
        peers = []
        for (_, source), (times, values) in self._all.get(asset_key(obs.series), {}).items():
            if source == obs.source:
                continue
            index = bisect.bisect_left(times, obs.ts)
            near = [i for i in (index - 1, index)
                    if 0 <= i < len(times) and abs(times[i] - obs.ts) <= self.peer_window]
            if near:
                best = min(near, key=lambda i: abs(times[i] - obs.ts))
                peers.append((source, _Seen(values[best], times[best])))
        return peers

    def reason(self, obs: Observation) -> str | None:
        peers = self._peers(obs)
        if len(peers) == 1 and _times(obs.value, peers[0][1].value) > self.factor:
            times, values = self._all[asset_key(obs.series)][(obs.series, obs.source)]
            index = bisect.bisect_left(times, obs.ts) - 1
            if index >= 0 and obs.ts - times[index] <= self.own_window \
                    and _times(obs.value, values[index]) <= self.factor:
                return None  # one against one, and its own past agrees with it
        return super().reason(obs)


def sift_file(observations: list[Observation], factor: float
              ) -> tuple[list[Observation], list[tuple[Observation, str]]]:
    """A file's observations held to the collector's consistency check (see FileCheck): those kept, in their
    order, and those disputed, with why."""
    return FileCheck(observations, factor).sift(observations)
