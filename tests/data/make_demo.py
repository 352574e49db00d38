"""The demo tape: made-up observations for every series the claims read, replayed by `tapecheck --demo`.

Run `python tests/data/make_demo.py` to regenerate `tui/core/data/demo.jsonl.gz`; the output is byte-for-byte
deterministic. The runtime knows only the constants in tui/core/demotape.py.
Nothing here is market data: every number below is an assumption, stated so that the verdicts can be traced.

The tape has two parts. The **daily history** runs from HISTORY_START (2025-09-26) to the day before DEMO_START:
one bar per trading day, stamped at the session close (crypto 23:59:59 UTC every day, network 00:00 UTC every day,
Yahoo series at their market's close on weekdays). The **live part** covers the three days from DEMO_START:
crypto every 2 minutes (the crypto staleness limit is 120 s), the network every 10 minutes, and Yahoo series
every 10 minutes while their market is open.

Each path is a geometric random walk (seeded, one generator per series) bent into a Brownian bridge through
anchor points, so that it passes exactly through the levels the articles report on their dates:

| series             | anchors (close unless noted)                               | why                             |
| ------------------ | ---------------------------------------------------------- | ------------------------------- |
| BTC/USD            | 109,500 on 10-31; 87,500 on 12-31; 90,500 on 02-01 → 83,500 | Tesla's 11,509 BTC > USD 1B    |
| ^IXIC and BTC/USD  | share one daily random factor                              | 30-day return correlation > 0.5 |
| hashrate           | 1.06 ZH/s on 12-31; 1.03 on 02-01 → 1.02 → 0.97 ZH/s       | "above 1 ZH/s", then a dip      |
| NVDA               | 207 on 10-29 (cap 5.03T); 182 on 11-13 (cap 4.42T)         | the 5T and 4.42T claims         |
| AMD                | 164.7 on 10-03, 235.6 on 10-08 (+43%), 259 on 11-03        | OpenAI deal jump, warrants      |
| 688795.SS          | listed 12-05 at 600.5; 825 on 12-12 (cap 388B CNY)         | CNY 383B and 6× issue price     |
| 002865.SZ          | 28 on 11-24; 82.86 on 01-22; 99.44 (= high) on 01-23; 104 → 92 | limit-up, then gives back   |
| 300751.SZ          | 105 on 11-24; 270.28 on 01-22; 324.36 (= high) on 01-23    | tripled, 20% limit-up           |
| other 01-23 movers | +20% from 01-22 (limit-ups), +23% from 01-16 (week gainers) | the 01-23 claims               |
| 603398.SS          | 30.0 on 01-22, 28.5 on 01-23 (−5%, its *ST limit)          | the one decliner of 01-23       |
| 01-08 movers       | day high 4-10% above the 01-07 close                       | the 01-08 intraday highs        |
| 603799.SS          | 55 on 12-15, 63 on 01-15 (+14.5%)                          | Huayou "strong lately"          |
| USDCNY             | 7.12 on 11-03, 6.97 on 01-15                               | CNY conversions within 2%       |

In the live part three claims are scripted to flip from holds to diverged, each by a quick move through its
threshold (anchors at fractions of the live part) so that the verdict flips once rather than flickering:
BTC/USD 90,500 → 89,600 (45%) → 85,900 (47%) → 83,500, through 86,888 where Tesla's 11,509 BTC are worth
USD 1B; the hashrate 1.03 → 1.02 (55%) → 0.985 (60%) → 0.97 ZH/s, with a smooth estimate (0.08% per tick);
002865.SZ 104 → 103 (35%) → 97 (45%) → 92 CNY over the three Shanghai sessions, below its 99.44 high.
Every other series walks on from its last close with its daily volatility spread over a day's ticks.

Share counts (market cap = last × shares): NVDA 24.3B, AAPL 14.8B, GOOGL 12.1B, AMZN 10.7B, MSFT 7.43B,
TSLA 3.32B, ORCL 2.85B, META 2.52B, AVGO 4.72B, TSM 5.19B (ADR equivalents), AMD 1.62B, CRWV 0.49B;
688795.SS 0.47B, 688256.SS 0.418B, 688802.SS 0.40B.
Day highs are the close plus a half-normal draw (lows likewise, below); live highs are the running session
high, the DOGE low the running UTC-day low. BTC/USDT is BTC/USD within ±0.04%, USDT/USD 1 ± 0.02%.
Difficulty follows the mean hashrate of each 14-day epoch (× 600 / 2³²) and stays constant in the live part.
Claims dated before 2025-09-26 (ORCL's 09-10 jump, the mag-7 since 2022, changes since 2024-12-31, Nvidia's
July 4T, the 2025 share of BTC-Nasdaq windows) have no demo data on their date; copper, silver, ABTC and
Dajin Heavy (002487.SZ) only walk from stated starting levels. Demo data never enters the store.
"""

from __future__ import annotations

import gzip
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path

from tui.core import markets
from tui.core.demotape import DEMO_END, DEMO_SOURCE, DEMO_START, DEMO_TAPE
from tui.core.model import Observation, SeriesId, TapecheckError
from tui.core.narratives.claims import load_narratives
from tui.core.snapshot import format_observation

DEMO_SEED = 20260202
# The history holds, before DEMO_START, the common trading days of the longest rolling window a claim reads
# (MARA's beta() over 90 daily returns: 91 weekday closes, the last on Friday 01-30), so that every window is
# whole from the demo's first minute; it starts after the last pre-history date a claim names (09-22).
# tests/test_demo.py holds every claim to it: only a claim that names a date before it may find no data.
HISTORY_START = date(2025, 9, 26)

CRYPTO_STEP = timedelta(minutes=2)
TICK_STEP = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Spec:
    """How one symbol moves: its level on HISTORY_START (or listing day), its own daily log-volatility (besides
    any common factor), its anchors, and what its derived fields need."""

    start: float
    vol: float
    anchors: dict[str, float] = field(default_factory=dict)  # ISO date -> close
    highs: dict[str, float] = field(default_factory=dict)  # ISO date -> day high
    live: tuple[tuple[float, float], ...] = ()  # (fraction of the live part, level)
    shares: float = 0.0
    listed: str = ""  # first trading day, when after HISTORY_START
    digits: int = 6  # significant digits kept
    follows: str = ""  # another symbol of the same kind this one tracks within ±0.04%
    peg: bool = False  # a stablecoin: 1 ± 0.02% at each time
    live_vol: float = 0.0  # log-volatility per live tick; 0: the daily one spread over a day's ticks


LIMIT_UP = 1.2001


def _limit_up(before: float) -> dict[str, float]:
    """A 20% limit-up on 01-23 (a hair over, so the rounded change reads as at least 20%)."""
    return {"2026-01-22": before, "2026-01-23": before * LIMIT_UP}


def _week_up(before: float) -> dict[str, float]:
    return {"2026-01-16": before, "2026-01-23": before * 1.23}


def _high_on_0108(close_0107: float, up: float) -> tuple[dict[str, float], dict[str, float]]:
    high = close_0107 * (1 + up)
    return {"2026-01-07": close_0107, "2026-01-08": high / 1.01}, {"2026-01-08": high}


_AIKE, _ANFU, _CLOU, _TAIJIA = (_high_on_0108(40.0, 0.08), _high_on_0108(60.0, 0.04),
                                _high_on_0108(12.0, 0.05), _high_on_0108(20.0, 0.10))
_LEAD = _high_on_0108(50.0, 0.06)

SPECS: dict[tuple[str, str], Spec] = {
    ("crypto", "BTC/USD"): Spec(114_000, 0.010, {"2025-10-31": 109_500, "2025-12-31": 87_500, "2026-02-01": 90_500},
                                live=((0.45, 89_600), (0.47, 85_900), (0.7, 84_900), (1.0, 83_500))),
    ("crypto", "BTC/USDT"): Spec(114_000, 0.0, follows="BTC/USD"),
    ("crypto", "USDT/USD"): Spec(1.0, 0.0, peg=True),
    ("crypto", "DOGE/USD"): Spec(0.25, 0.04, {"2026-02-01": 0.12}),
    ("crypto", "WLD/USDT"): Spec(1.30, 0.05, {"2026-02-01": 0.50}),
    ("network", "bitcoin"): Spec(1.05e21, 0.03, {"2025-12-31": 1.06e21, "2026-02-01": 1.03e21},
                                 live=((0.55, 1.02e21), (0.6, 0.985e21), (1.0, 0.97e21)), live_vol=0.0008),
    ("index", "^IXIC"): Spec(22_700, 0.004, {"2026-01-30": 23_500}),
    ("fx", "USDCNY"): Spec(7.12, 0.0015, {"2025-11-03": 7.12, "2026-01-15": 6.97, "2026-01-30": 6.95}),
    ("commodity", "GC=F"): Spec(3_870, 0.012, {"2025-11-13": 4_200, "2026-01-30": 4_700}),
    ("commodity", "HG=F"): Spec(4.9, 0.015, {"2026-01-30": 5.8}),
    ("commodity", "SI=F"): Spec(47, 0.025, {"2026-01-30": 90}),
    ("equity", "NVDA"): Spec(187, 0.025, {"2025-10-29": 207, "2025-11-13": 182, "2026-01-30": 185}, shares=24.3e9),
    ("equity", "AMD"): Spec(161, 0.03, {"2025-10-03": 164.7, "2025-10-08": 235.6, "2025-11-03": 259,
                                        "2026-01-30": 236}, shares=1.62e9),
    ("equity", "CRWV"): Spec(137, 0.05, {"2025-11-03": 100, "2026-01-30": 95}, shares=0.49e9),
    ("equity", "ORCL"): Spec(282, 0.03, {"2026-01-30": 170}, shares=2.85e9),
    ("equity", "TSLA"): Spec(444, 0.03, {"2026-01-30": 430}, shares=3.32e9),
    ("equity", "AAPL"): Spec(255, 0.015, {"2026-01-30": 258}, shares=14.8e9),
    ("equity", "MSFT"): Spec(519, 0.015, {"2026-01-30": 430}, shares=7.43e9),
    ("equity", "GOOGL"): Spec(244, 0.02, {"2026-01-30": 338}, shares=12.1e9),
    ("equity", "AMZN"): Spec(220, 0.02, {"2026-01-30": 239}, shares=10.7e9),
    ("equity", "META"): Spec(717, 0.02, {"2026-01-30": 716}, shares=2.52e9),
    ("equity", "AVGO"): Spec(340, 0.025, {"2026-01-30": 330}, shares=4.72e9),
    ("equity", "TSM"): Spec(290, 0.02, {"2026-01-30": 310}, shares=5.19e9),
    ("equity", "MARA"): Spec(18, 0.05, {"2026-01-30": 11}),
    ("equity", "ABTC"): Spec(5.5, 0.06, {"2026-01-30": 2.0}),
    ("equity", "002487.SZ"): Spec(45, 0.03, {"2026-01-30": 50}),
    ("equity", "BABA"): Spec(178, 0.025, {"2026-01-30": 165}),
    ("equity", "BIDU"): Spec(132, 0.025, {"2026-01-30": 140}),
    ("equity", "NCKL.JK"): Spec(1_100, 0.03, {"2026-01-30": 1_300}, digits=4),
    ("equity", "603799.SS"): Spec(55, 0.03, {"2025-12-15": 55, "2026-01-15": 63, "2026-01-30": 60}),
    ("equity", "601600.SS"): Spec(8.5, 0.025, {"2026-01-30": 11}),
    ("equity", "603993.SS"): Spec(14, 0.03, {"2026-01-30": 19}),
    ("equity", "688256.SS"): Spec(1_400, 0.04, {"2026-01-30": 1_250}, shares=0.418e9),
    ("equity", "688795.SS"): Spec(600.5, 0.06, {"2025-12-12": 825, "2026-01-30": 580}, shares=0.47e9,
                                  listed="2025-12-05"),
    ("equity", "688802.SS"): Spec(829.9, 0.06, {"2026-01-30": 600}, shares=0.40e9, listed="2025-12-17"),
    ("equity", "002865.SZ"): Spec(30, 0.04, {"2025-11-24": 28.0, **_limit_up(99.44 / LIMIT_UP), "2026-01-30": 104},
                                  {"2026-01-23": 99.44}, live=((0.35, 103), (0.45, 97), (1.0, 92))),
    ("equity", "300751.SZ"): Spec(95, 0.04, {"2025-11-24": 105, **_limit_up(324.36 / LIMIT_UP), "2026-01-30": 335},
                                  {"2026-01-23": 324.36}),
    ("equity", "688516.SS"): Spec(30, 0.04, {"2025-11-24": 28, **_limit_up(80.5), "2026-01-30": 98}),
    ("equity", "300051.SZ"): Spec(11, 0.04, {"2025-11-24": 10, "2026-01-23": 26, "2026-01-30": 27}),
    ("equity", "300118.SZ"): Spec(12, 0.04, {"2025-11-24": 11, **_limit_up(28.0), "2026-01-30": 34}),
    ("equity", "688556.SS"): Spec(22, 0.04, {**_limit_up(25.0), "2026-01-30": 31}),
    ("equity", "300345.SZ"): Spec(11, 0.04, {**_limit_up(13.0), "2026-01-30": 15}),
    ("equity", "688223.SS"): Spec(5.5, 0.04, {**_limit_up(6.0), "2026-01-30": 7.0}),
    ("equity", "300316.SZ"): Spec(36, 0.04, {**_limit_up(40.0), "2026-01-30": 47}),
    ("equity", "688726.SS"): Spec(35, 0.04, {**_limit_up(40.0), "2026-01-30": 50}),
    ("equity", "300724.SZ"): Spec(100, 0.04, {**_limit_up(120.0), "2026-01-30": 140}),
    ("equity", "300842.SZ"): Spec(50, 0.035, {**_week_up(60.0), "2026-01-30": 72}),
    ("equity", "688047.SS"): Spec(130, 0.035, {**_week_up(150.0), "2026-01-30": 180}),
    ("equity", "002408.SZ"): Spec(6.0, 0.035, {**_week_up(6.5), "2026-01-30": 8.2}),
    ("equity", "688719.SS"): Spec(35, 0.035, _AIKE[0], _AIKE[1]),
    ("equity", "603031.SS"): Spec(55, 0.03, _ANFU[0], _ANFU[1]),
    ("equity", "002121.SZ"): Spec(11, 0.03, _CLOU[0], _CLOU[1]),
    ("equity", "002843.SZ"): Spec(18, 0.035, _TAIJIA[0], _TAIJIA[1]),
    ("equity", "300450.SZ"): Spec(45, 0.035, _LEAD[0], _LEAD[1]),
    ("equity", "603398.SS"): Spec(32, 0.03, {"2026-01-22": 30.0, "2026-01-23": 28.5, "2026-01-30": 27}),
}

# BTC and the Nasdaq Composite load on one daily N(0, 1) factor, so that their daily returns correlate.
COMMON_LOADING = {"BTC/USD": 0.020, "^IXIC": 0.010}


def demo_series() -> list[str]:
    """Every series a claim reads or a theme watches."""
    narratives = load_narratives()
    wanted = {s for c in narratives.claims for s in c.series} | {s for t in narratives.themes for s in t.watch}
    return sorted(wanted)


def spec_of(series: SeriesId) -> Spec:
    try:
        return SPECS[(series.kind, series.symbol)]
    except KeyError:
        raise TapecheckError(f"the demo generator has no assumptions for {series}: add it to SPECS") from None


def bridge(steps: Sequence[float], anchors: dict[int, float]) -> list[float]:
    """A path from log-steps, shifted piecewise-linearly so that it passes exactly through each anchor."""
    walk = [0.0]
    for step in steps[1:]:
        walk.append(walk[-1] + step)
    points = sorted((i, math.log(level) - walk[i]) for i, level in anchors.items())
    path = []
    for i, position in enumerate(walk):
        before = [p for p in points if p[0] <= i]
        after = [p for p in points if p[0] >= i]
        if not before or not after:
            offset = (before or after)[-1 if before else 0][1]
        elif before[-1][0] == after[0][0]:
            offset = before[-1][1]
        else:
            (i0, o0), (i1, o1) = before[-1], after[0]
            offset = o0 + (o1 - o0) * (i - i0) / (i1 - i0)
        path.append(math.exp(position + offset))
    return path


# --- daily history -------------------------------------------------------------------------------------------

def bar_days(series: SeriesId, spec: Spec) -> list[date]:
    first = date.fromisoformat(spec.listed) if spec.listed else HISTORY_START
    days = [first + timedelta(days=n) for n in range((DEMO_START.date() - first).days)]
    return days if series.yahoo_symbol is None else [d for d in days if d.weekday() < 5]


def bar_time(series: SeriesId, day: date) -> datetime:
    if series.yahoo_symbol is not None:
        return markets.session(series.yahoo_symbol).close_at(day)
    if series.kind == "network":
        return datetime.combine(day, time(), UTC)
    return datetime.combine(day, time(23, 59, 59), UTC)


def daily_steps(series: SeriesId, spec: Spec, days: list[date], seed: int) -> list[float]:
    rng = random.Random(f"{seed}:{series.symbol}:daily")
    common = random.Random(f"{seed}:common")
    factor = {HISTORY_START + timedelta(days=n): common.gauss(0, 1) for n in range(400)}
    load = COMMON_LOADING.get(series.symbol, 0.0)
    weekends = series.yahoo_symbol is None  # the factor moves markets that trade that day
    return [(load * factor[d] if weekends or d.weekday() < 5 else 0.0) + rng.gauss(0, spec.vol) for d in days]


def daily_closes(series: SeriesId, seed: int) -> list[tuple[date, float]]:
    spec = spec_of(series)
    days = bar_days(series, spec)
    index = {d: i for i, d in enumerate(days)}
    anchors = {0: spec.start, **{index[date.fromisoformat(d)]: v for d, v in spec.anchors.items()}}
    return list(zip(days, bridge(daily_steps(series, spec, days, seed), anchors), strict=True))


# --- the live part -------------------------------------------------------------------------------------------

def grid(step: timedelta) -> list[datetime]:
    """DEMO_START to DEMO_END inclusive, every `step`."""
    return [DEMO_START + step * n for n in range(int((DEMO_END - DEMO_START) / step) + 1)]


@cache
def session_ticks(session: markets.Session) -> tuple[datetime, ...]:
    """The 10-minute ticks of the live part while `session` is open (as `markets.is_open`: open to close)."""
    days = [DEMO_START.date() + timedelta(days=n) for n in range(-1, (DEMO_END - DEMO_START).days + 2)]
    spans = [(session.open_for(d), session.close_on(d)) for d in days]
    return tuple(t for t in grid(TICK_STEP) if any(o and c and o <= t < c for o, c in spans))


def live_times(series: SeriesId) -> list[datetime]:
    """Crypto every 2 minutes, the network every 10, Yahoo series every 10 while their market is open."""
    if series.yahoo_symbol is not None:
        return list(session_ticks(markets.session(series.yahoo_symbol)))
    return grid(CRYPTO_STEP if series.kind == "crypto" else TICK_STEP)


def live_values(series: SeriesId, spec: Spec, times: list[datetime], last_close: float, seed: int) -> list[float]:
    """A bridge from the last daily close through the spec's live anchors, with the daily volatility spread
    over the ticks of a day (a 6.5-hour session or 24 hours)."""
    per_day = 390 if series.yahoo_symbol else 1440
    minutes = (CRYPTO_STEP if series.kind == "crypto" else TICK_STEP).total_seconds() / 60
    vol = spec.live_vol or spec.vol * math.sqrt(minutes / per_day)
    rng = random.Random(f"{seed}:{series.symbol}:live")
    steps = [rng.gauss(0, vol) for _ in times]
    anchors = {0: last_close, **{round(f * (len(times) - 1)): v for f, v in spec.live}}
    return bridge(steps, anchors)


# --- fields --------------------------------------------------------------------------------------------------

def round_to(value: float, digits: int) -> float:
    return float(f"{value:.{digits}g}")


Row = tuple[datetime, float, bool]  # time, value, whether it is a daily bar (else a live tick)


def paths(symbol: SeriesId, seed: int) -> list[Row]:
    """A symbol's base series (last price, or hashrate), daily history then the live part."""
    spec = spec_of(symbol)
    rng = random.Random(f"{seed}:{symbol.symbol}:noise")
    if spec.follows:
        leader = paths(SeriesId(symbol.kind, spec.follows, symbol.field), seed)
        return [(t, v * (1 + rng.uniform(-4e-4, 4e-4)), bar) for t, v, bar in leader]
    closes = daily_closes(symbol, seed)
    rows = [(bar_time(symbol, d), v, True) for d, v in closes]
    times = live_times(symbol)
    rows += [(t, v, False) for t, v in zip(times, live_values(symbol, spec, times, closes[-1][1], seed), strict=True)]
    if spec.peg:
        return [(t, 1 + rng.gauss(0, 2e-4), bar) for t, _, bar in rows]
    return rows


def period_key(series: SeriesId, ts: datetime) -> object:
    """Which live session (or UTC day, for crypto) a running high or low belongs to."""
    symbol = series.yahoo_symbol
    return ts.date() if symbol is None else markets.session_open(symbol, ts)


def extremes(series: SeriesId, rows: list[Row], seed: int, sign: int) -> list[float]:
    """Day highs (sign 1) or lows (sign -1): per daily bar a draw beyond the close, live the running extreme."""
    spec = spec_of(series)
    rng = random.Random(f"{seed}:{series}")
    overrides = {date.fromisoformat(d): v for d, v in spec.highs.items()} if sign > 0 else {}
    found: list[float] = []
    running: dict[object, float] = {}
    pick = max if sign > 0 else min
    for ts, value, is_bar in rows:
        if is_bar:
            day = ts.date()  # every session modelled here closes on its UTC date
            drawn = value * (1 + sign * abs(rng.gauss(0, spec.vol / 2)))
            found.append(pick(overrides.get(day, drawn), value))
        else:
            key = period_key(series, ts)
            running[key] = pick(running.get(key, value), value)
            found.append(running[key])
    return found


def difficulty(rows: list[Row]) -> list[float]:
    """Per hashrate row, the difficulty set from the previous 14-day epoch's mean daily hashrate."""
    bars = [v for _, v, is_bar in rows if is_bar]
    found, level = [], bars[0] * 600 / 2**32
    for n, (_, _, is_bar) in enumerate(rows):
        if is_bar and n and n % 14 == 0:
            level = sum(bars[n - 14:n]) / 14 * 600 / 2**32
        found.append(level)
    return found


def series_values(series: SeriesId, seed: int) -> list[tuple[datetime, float]]:
    base = SeriesId(series.kind, series.symbol, "hashrate" if series.kind == "network" else "last")
    rows = paths(base, seed)
    spec = spec_of(series)
    if series.field in ("last", "hashrate"):
        values = [v for _, v, _ in rows]
    elif series.field == "market_cap":
        values = [v * spec.shares for _, v, _ in rows]
    elif series.field in ("high", "low"):
        values = extremes(series, rows, seed, 1 if series.field == "high" else -1)
    elif series.field == "difficulty":
        values = difficulty(rows)
    else:
        raise TapecheckError(f"the demo generator does not make {series.field} series ({series})")
    return [(t, round_to(v, spec.digits)) for (t, _, _), v in zip(rows, values, strict=True)]


def generate(seed: int = DEMO_SEED) -> list[Observation]:
    """The whole demo tape for `seed`, sorted by (time, series)."""
    found = []
    for text in demo_series():
        series = SeriesId.parse(text)
        found += [Observation(text, v, series.unit, t, DEMO_SOURCE) for t, v in series_values(series, seed)]
    return sorted(found, key=lambda o: (o.ts, o.series))


def write(path: Path, observations: Iterable[Observation]) -> None:
    """Gzipped JSON Lines with a zero mtime and no file name, so equal tapes are equal bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed:
        for obs in observations:
            packed.write((format_observation(obs) + "\n").encode("utf-8"))


def main() -> None:
    observations = generate()
    write(DEMO_TAPE, observations)
    print(f"wrote {len(observations):,} observations to {DEMO_TAPE} ({DEMO_TAPE.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
