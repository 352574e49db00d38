"""Writes tests/data/article_history.jsonl.gz: constructed daily history for the check claims of issue 13, so
that each one's rule can be judged on its own date in a test (tests/test_article_claims.py).

The values are stated here, near the real market where we know it, and chosen so that the verdict on each
claim can be worked out by hand. They are test data, not a record of the market:

- Hashrate (mempool, daily at 00:00 UTC) from 2025-01-01 to 2025-12-31: 0.80-0.84 ZH/s to July, then from
  0.92 ZH/s on 2025-08-01 rising 0.0018 a day, with a spike to 1.01 ZH/s on 2025-09-19; from 2025-10-20 on, 1.02 to 1.08. First day ≥ 1 ZH/s: 2025-09-19, so
  "first in December" is WRONG then.
- American Bitcoin (ABTC): close 5.00 on 2025-12-01, low 2.45 on 2025-12-02 (−51%): the 50% drop held.
- MARA and BTC: from 2025-08-01 to 2025-12-31 MARA's return from one weekday close to the next is 2.2 ×
  BTC's over the same span plus small noise, so its 90-day beta to BTC is near 2.2: "high beta" held.
- BTC around Tesla's payment halt: 56,700 USD at the 2021-05-11 close, 49,500 on 05-13 (−12.7%): held.
- MetaX (688802.SS): first close 829.90 CNY on 2025-12-17 against its 104.66 issue price (7.9×): held.
- Nvidia, 2025-07-01 to 07-10: closes 153.30 … 164.10 with 24.39B shares (market value = close × shares);
  highs 0.5% above each close, 164.42 on 07-09 (4.01T at the high): first intraday 4T day 07-09, held.
  Closes 176.67 on 2025-09-19 and 183.61 on 09-22 (+3.9%): "no Oracle-style jump" held.
- Oracle: closes 241.51 (2025-09-09) and 328.33 (09-10), +35.9%; market value at 2.807B shares: +243.7B, so
  "more than USD 250B" is WRONG then, while the 36% jump and "soared" held.
- CoreWeave (CRWV) on 2025-11-03: close 120.00, market value 59.0B: Nvidia's 24,182,460 shares are worth
  2.90B (≈ 3B held) but 4.9% of the company (≈ 7% WRONG).
- BTC and the Nasdaq Composite, daily from 2024-11-15 to 2025-12-31 (the Nasdaq on weekdays), driven by one
  shared factor until 2025-08-31 and independently after: the rolling 30-day correlation is above 0.5 on
  roughly two thirds of 2025's days, so "most of 2025" held.
- Copper 5.90 USD/lb, gold 4,950 and silver 95 USD/oz, USD/CNY 6.96 on 2026-01-23: Alacran's reserves are
  worth about CNY 68B, 36% above the article's 50B: WRONG then.
- Drinda (002865.SZ) daily highs from 2024-02-01 to 2026-01-22 between 40 and 90 CNY: its 99.44 high was the
  highest in two years, held. Maxwell (300751.SZ) highs from 2023-02-01, below 300 except 336.00 on
  2023-03-15: not the highest in the full three years, but 近三年 (nearly three years) is read as 30 months, from
  2023-07-23, so it holds. On 2026-01-23 their highs are the articles' 99.44
  and 324.36.

Run `python tests/data/make_article_history.py` to regenerate; the output is deterministic.
"""

from __future__ import annotations

import gzip
import json
import random
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

OUT = Path(__file__).with_name("article_history.jsonl.gz")
UNITS = {"network": "H/s", "commodity": "USD", "index": "pts"}


def unit_of(series: str) -> str:
    kind, symbol, _ = series.split(":")
    if kind == "equity":
        return "CNY" if symbol.endswith((".SS", ".SZ")) else "USD"
    if kind == "crypto":
        return symbol.split("/")[1]
    if kind == "fx":
        return "CNY/USD"
    return UNITS[kind]


def row(series: str, value: float, day: date, hour: int = 21) -> dict[str, object]:
    ts = datetime.combine(day, time(hour), UTC)
    return {"series": series, "value": round(value, 6), "unit": unit_of(series),
            "ts": ts.isoformat().replace("+00:00", "Z"), "source": "yahoo"}


def days(start: str, end: str, weekdays: bool = False) -> list[date]:
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    out = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [d for d in out if d.weekday() < 5] if weekdays else out


def hashrate() -> list[dict[str, object]]:
    rows = []
    for day in days("2025-01-01", "2025-12-31"):
        i = (day - date(2025, 8, 1)).days
        if day < date(2025, 8, 1):
            value = 0.80e21 + (day.toordinal() % 5) * 0.01e21  # the year's start: well below 1 ZH/s
        elif day == date(2025, 9, 19):
            value = 1.01e21  # the first day at 1 ZH/s
        elif day < date(2025, 10, 20):
            value = min(0.92e21 + i * 0.0018e21, 0.995e21)
        else:
            value = 1.02e21 + (i % 7) * 0.01e21
        rows.append({**row("network:bitcoin:hashrate", value, day, 0), "source": "mempool"})
    return rows


def btc_nasdaq_mara() -> list[dict[str, object]]:
    """BTC every day, the Nasdaq and MARA on weekdays; returns share one factor until 2025-08-31."""
    rng = random.Random(13)
    rows = []
    btc, ndx, mara = 90_000.0, 19_000.0, 18.0
    btc_at_last_mara = btc
    for day in days("2024-11-15", "2025-12-31"):
        common = rng.gauss(0, 0.012)
        own = rng.gauss(0, 0.012)
        linked = day <= date(2025, 8, 31)
        btc_move = (1.2 * common if linked else own) + rng.gauss(0, 0.004)
        btc *= 1 + btc_move
        rows.append({**row("crypto:BTC/USD:last", btc, day, 23), "source": "coinbase"})
        if day.weekday() < 5:
            ndx *= 1 + common + rng.gauss(0, 0.003)
            rows.append(row("index:^IXIC:last", ndx, day))
            if day >= date(2025, 8, 1):  # MARA's return since its last close is 2.2 × BTC's over that time
                mara *= 1 + 2.2 * (btc / btc_at_last_mara - 1) + rng.gauss(0, 0.002)
                rows.append(row("equity:MARA:last", mara, day))
            btc_at_last_mara = btc
    return rows


def equities() -> list[dict[str, object]]:
    rows = [
        row("equity:ABTC:last", 5.00, date(2025, 12, 1)),
        row("equity:ABTC:low", 2.45, date(2025, 12, 2)),
        row("equity:ABTC:last", 3.06, date(2025, 12, 2)),
        row("equity:688802.SS:last", 829.90, date(2025, 12, 17), 7),
        {**row("crypto:BTC/USD:last", 56_700.0, date(2021, 5, 11), 23), "source": "coinbase"},
        {**row("crypto:BTC/USD:last", 49_500.0, date(2021, 5, 13), 23), "source": "coinbase"},
        row("equity:NVDA:last", 176.67, date(2025, 9, 19)),
        row("equity:NVDA:last", 183.61, date(2025, 9, 22)),
        row("equity:CRWV:last", 120.00, date(2025, 11, 3)),
        row("equity:CRWV:market_cap", 59.0e9, date(2025, 11, 3)),
    ]
    for day, close in (("2025-09-09", 241.51), ("2025-09-10", 328.33)):
        rows += [row("equity:ORCL:last", close, date.fromisoformat(day)),
                 row("equity:ORCL:market_cap", close * 2.807e9, date.fromisoformat(day))]
    closes = [153.30, 157.25, 159.34, 159.34, 158.24, 160.00, 162.88, 164.10]
    for day, close in zip(days("2025-07-01", "2025-07-10", weekdays=True), closes, strict=True):
        high = 164.42 if day == date(2025, 7, 9) else close * 1.005
        rows += [row("equity:NVDA:last", close, day), row("equity:NVDA:high", high, day),
                 row("equity:NVDA:market_cap", close * 24.39e9, day)]
    for series, value in (("commodity:HG=F:last", 5.90), ("commodity:GC=F:last", 4950.0),
                          ("commodity:SI=F:last", 95.0), ("fx:USDCNY:last", 6.96)):
        rows.append(row(series, value, date(2026, 1, 23)))
    rng = random.Random(7)
    for day in days("2024-02-01", "2026-01-22", weekdays=True):
        rows.append(row("equity:002865.SZ:high", rng.uniform(40, 90), day, 7))
    for day in days("2023-02-01", "2026-01-22", weekdays=True):
        high = 336.00 if day == date(2023, 3, 15) else rng.uniform(120, 300)
        rows.append(row("equity:300751.SZ:high", high, day, 7))
    rows += [row("equity:002865.SZ:high", 99.44, date(2026, 1, 23), 7),
             row("equity:300751.SZ:high", 324.36, date(2026, 1, 23), 7)]
    return rows


def main() -> None:
    rows = hashrate() + btc_nasdaq_mara() + equities()
    rows.sort(key=lambda r: (str(r["ts"]), str(r["series"]), str(r["source"])))
    with gzip.GzipFile(OUT, "wb", mtime=0) as out:
        out.write("".join(json.dumps(r) + "\n" for r in rows).encode())
    print(f"wrote {len(rows)} observations to {OUT}")


if __name__ == "__main__":
    main()
