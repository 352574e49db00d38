"""Writes tests/data/snapshot.jsonl: a hand-built tape at NOW = 2026-01-26T06:00:00Z (14:00 in Shanghai).

Every value is stated here so that the verdict on each claim the tests check can be worked out by hand:

- BTC/USD: coinbase 71,150 and kraken 71,250, 30 s old → median 71,200 (Tesla's 11,509 BTC = 819M USD).
  A third source (bitstamp) last reported 2 hours ago: stale, so it is left out of the median.
- Hashrate 1.05 ZH/s from mempool, 10 minutes old (network values may be an hour old).
- USD/CNY 6.95, 5 minutes old.
- NVDA market value 4.5T USD from Thursday's close (2026-01-22 21:00 UTC): Friday's session is missing, so at
  NOW (Monday, before New York opens) it is stale. NVDA's price 184.8 from Friday's close is current: the
  market is closed, and a last close is "closed", not stale.
- Moore Threads (688795.SS) market value 290B CNY, 1 minute old → below the article's 383B.
- Jinko/Junda (002865.SZ): close 28.00 on 2025-11-24, 82.87 on 2026-01-22, 91.16 on 2026-01-23 (+10%),
  intraday high 99.44 on 2026-01-23, and 85.00 now.
- BTC and the Nasdaq Composite: 45 daily closes to 2026-01-25 (BTC) and on weekdays (Nasdaq), built from
  one shared random factor so that their 30-day return correlation is clearly above 0.5; see `corr_series`.
- MetaX (688802.SS) and Dogecoin are absent on purpose: claims on them have no data.

Run `python tests/data/make_snapshot.py` to regenerate; the output is deterministic.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

NOW = datetime(2026, 1, 26, 6, 0, tzinfo=UTC)
OUT = Path(__file__).with_name("snapshot.jsonl")


def row(series: str, value: float, unit: str, ts: datetime, source: str) -> dict[str, object]:
    return {"series": series, "value": value, "unit": unit,
            "ts": ts.isoformat().replace("+00:00", "Z"), "source": source}


def close(day: str, hour: int = 7) -> datetime:
    """A daily bar stamped at the session close (07:00 UTC is 15:00 in Shanghai and Shenzhen)."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def corr_series() -> list[dict[str, object]]:
    """Daily closes of BTC (every day) and the Nasdaq (weekdays) driven by one common factor."""
    rng = random.Random(20260126)
    rows = []
    btc, ndx = 90_000.0, 23_000.0
    day = NOW.date() - timedelta(days=45)
    while day < NOW.date():
        common = rng.gauss(0, 0.01)
        btc *= 1 + 1.5 * common + rng.gauss(0, 0.006)
        ts = datetime(day.year, day.month, day.day, 23, 59, tzinfo=UTC)
        rows.append(row("crypto:BTC/USD:last", round(btc, 2), "USD", ts, "coinbase"))
        if day.weekday() < 5:
            ndx *= 1 + common + rng.gauss(0, 0.004)
            rows.append(row("index:^IXIC:last", round(ndx, 2), "pts", ts.replace(hour=21, minute=0), "yahoo"))
        day += timedelta(days=1)
    return rows


def snapshot() -> list[dict[str, object]]:
    seconds = lambda s: NOW - timedelta(seconds=s)  # noqa: E731
    rows = corr_series()
    rows += [
        row("crypto:BTC/USD:last", 71_150.0, "USD", seconds(30), "coinbase"),
        row("crypto:BTC/USD:last", 71_250.0, "USD", seconds(30), "kraken"),
        row("crypto:BTC/USD:last", 60_000.0, "USD", seconds(7200), "bitstamp"),
        row("crypto:BTC/USDT:last", 71_230.0, "USDT", seconds(20), "binance"),
        row("network:bitcoin:hashrate", 1.05e21, "H/s", seconds(600), "mempool"),
        row("fx:USDCNY:last", 6.95, "CNY/USD", seconds(300), "yahoo"),
        row("equity:NVDA:market_cap", 4.5e12, "USD", datetime(2026, 1, 22, 21, 0, tzinfo=UTC), "yahoo"),
        row("equity:NVDA:last", 184.8, "USD", datetime(2026, 1, 23, 21, 0, tzinfo=UTC), "yahoo"),
        row("equity:688795.SS:market_cap", 290e9, "CNY", seconds(60), "yahoo"),
        row("equity:002865.SZ:last", 28.00, "CNY", close("2025-11-24"), "yahoo"),
        row("equity:002865.SZ:last", 82.87, "CNY", close("2026-01-22"), "yahoo"),
        row("equity:002865.SZ:last", 91.16, "CNY", close("2026-01-23"), "yahoo"),
        row("equity:002865.SZ:high", 99.44, "CNY", close("2026-01-23"), "yahoo"),
        row("equity:002865.SZ:last", 85.00, "CNY", seconds(45), "yahoo"),
    ]
    return rows


def main() -> None:
    rows = snapshot()
    rows.sort(key=lambda r: (str(r["ts"]), str(r["series"]), str(r["source"])))
    OUT.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} observations to {OUT}")


if __name__ == "__main__":
    main()
