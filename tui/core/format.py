"""Numbers, units and ages written the way a trader reads them: 819M USD, 1.05 ZH/s, 250.30 USD, +12.3%, 3h 5m.

One place decides how a value is written: `quantity` for a value with its unit, `axis` for a chart's y axis.
A price is written to its market's quoting precision, chosen by the series kind and the unit (never by
ticker); an amount of a million or more (a market cap, a holding's worth) is scaled to M, B or T, and a
hashrate to its SI prefix (EH/s, ZH/s).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import date

_SCALES = ((1e12, "T"), (1e9, "B"), (1e6, "M"))
_HASH_SCALES = ((1e24, "YH/s"), (1e21, "ZH/s"), (1e18, "EH/s"), (1e15, "PH/s"), (1e12, "TH/s"), (1e9, "GH/s"),
                (1e6, "MH/s"), (1e3, "kH/s"))
WHOLE_CURRENCIES = frozenset({"JPY", "KRW", "IDR", "VND", "CLP", "ISK", "HUF", "TWD"})  # quoted without decimals
FIVE_FIGURE_KINDS = frozenset({"crypto", "fx", "commodity"})  # quoted to about five significant figures
PRICE_KINDS = frozenset({"equity", "index", *FIVE_FIGURE_KINDS})
AMOUNT = 1e6  # from here on a value in a currency is an amount, written 819M, 1.05B, 4.50T


def number(value: float, digits: int = 4) -> str:
    """A compact number: 1.23T, 819M, 71,200, 99.44, 0.5234. A value that rounds up to the next scale takes it
    (999.96M is 1.00B, never 1,000M)."""
    if not math.isfinite(value):
        return str(value)
    scaled = _scaled(value, _SCALES, strip=False)
    if scaled is not None:
        return "".join(scaled)
    if abs(value) >= 1000 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.{_decimals(value, digits)}f}"


def _scaled(value: float, scales: tuple[tuple[float, str], ...], strip: bool) -> tuple[str, str] | None:
    """(mantissa, suffix) with three significant figures at the largest scale the rounded value reaches."""
    found = None
    for scale, suffix in reversed(scales):  # smallest first: a larger scale wins once the value reaches it
        mantissa = round(value / scale, _decimals(value / scale, 3))  # 0.99996 rounds to 1.00
        if abs(mantissa) < 1:
            break
        text = f"{mantissa:,.{_decimals(mantissa, 3)}f}"
        found = (text.rstrip("0").rstrip(".") if strip and "." in text else text, suffix)
    return found


def _decimals(value: float, digits: int, most: int = 4) -> int:
    """Decimals that show `digits` significant figures, at most `most`."""
    size = abs(value)
    if size == 0:
        return 0
    whole = math.floor(math.log10(size)) + 1
    return max(0, min(most, digits - whole))


def price_decimals(value: float, unit: str, kind: str) -> int:
    """The decimals a market quotes a price in: none for a currency without minor units (JPY, IDR); about five
    significant figures for crypto, FX and commodities (71,200.50, 0.35123, 7.1234); two for stocks and
    indices (250.30, 23,365.69), more for a stock under one unit (0.4512)."""
    if unit in WHOLE_CURRENCIES:
        return 0
    if kind in FIVE_FIGURE_KINDS:
        return max(2, _decimals(value, 5, most=8))
    return 2 if abs(value) >= 1 or value == 0 else max(2, _decimals(value, 4, most=8))


def series_kind(series: Iterable[str]) -> str:
    """The kind of market ('equity', 'crypto', ...) that every one of `series` belongs to, or '' when they
    are of different kinds (the value is then a figure, written with significant figures)."""
    kinds = {s.partition(":")[0] for s in series}
    return kinds.pop() if len(kinds) == 1 else ""


def quantity(value: float, unit: str, kind: str = "") -> str:
    """A value with its unit: '819M USD', '1.05 ZH/s', '+250.3%', '0.523'. `kind` is the kind of series the
    value is a price of ('equity', 'crypto', ...): it is then written to its quoting precision ('250.30 USD');
    without one (an article's figure, a computed value) it keeps four significant figures ('74,600 USD')."""
    if not math.isfinite(value):
        return f"{value} {unit}"
    if unit == "H/s":
        scaled = _scaled(value, _HASH_SCALES, strip=True)
        return f"{scaled[0]} {scaled[1]}" if scaled else f"{number(value)} H/s"
    if unit == "%":
        return f"{value:+,.1f}%"
    if unit == "ratio":
        return number(value)
    if unit == "date":  # a calendar day held as its ordinal (first_date())
        return date.fromordinal(int(value)).isoformat() if 1 <= value < 3_652_060 else number(value)
    if kind in PRICE_KINDS and abs(value) < AMOUNT:
        return f"{value:,.{price_decimals(value, unit, kind)}f} {unit}"
    return f"{number(value)} {unit}"


def beside(value: float, other: float, unit: str, kind: str = "") -> str:
    """`value` as `quantity` writes it, with more figures when that would read the same as `other` though the
    two differ: a live 999,960,000 USD is not shown as the claimed 1.00B USD it falls short of."""
    text = quantity(value, unit, kind)
    if value == other or text != quantity(other, unit, kind) or not math.isfinite(value):
        return text
    if unit == "%":
        return f"{value:+,.2f}%"
    after = "" if unit == "ratio" else f" {unit}"
    scales = _HASH_SCALES if unit == "H/s" else _SCALES
    for scale, suffix in scales:  # the scale the value reaches unrounded, with five figures: 999.96M, not 1.00B
        if abs(value) >= scale:
            mantissa = f"{value / scale:,.{_decimals(value / scale, 5)}f}"
            return f"{mantissa} {suffix}" if unit == "H/s" else f"{mantissa}{suffix}{after}"
    whole, _, decimals = f"{value:,.{_decimals(value, 8, most=8)}f}".rstrip("0").partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}{after}"


def axis(values: Iterable[float], unit: str) -> tuple[float, str]:
    """How a chart's y axis shows `values`: the divisor to plot them by, and the axis label with its unit,
    e.g. (1e21, 'ZH/s') for a hashrate, (1e12, 'T USD') for a market cap, (1, 'USD') for a price."""
    size = max((abs(v) for v in values if math.isfinite(v)), default=0.0)
    if unit == "%":
        return 1.0, "%"
    scales = _HASH_SCALES if unit == "H/s" else _SCALES
    for scale, suffix in scales:
        if size >= scale:
            return scale, suffix if unit == "H/s" else f"{suffix} {unit}" if unit != "ratio" else f"ratio, ×{suffix}"
    return 1.0, unit


def ticks(low: float, high: float, count: int = 5) -> list[tuple[float, str]]:
    """Round places for a chart's y axis from `low` to `high`, at least `count` - 1 of them, each with its label
    written as the app writes numbers: thousands separators, and as many decimals as the step between them
    needs (94,600 · 94,800 · 95,000; 1.02 · 1.04; 0.25 · 0.50), never a raw 94637.5."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    low, high = min(low, high), max(low, high)
    if high == low:  # a flat line: its one level
        return [(low, number(low))]
    magnitude = 10.0 ** math.floor(math.log10((high - low) / max(1, count - 1)))
    steps = [m * magnitude * scale for scale in (0.1, 1, 10) for m in (1, 2, 5)]
    enough = [step for step in steps if _places(low, high, step) >= max(1, count - 1)]
    step = max(enough) if enough else min(steps)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))  # a step of 1, 2 or 5 times a power of ten
    found = []
    for n in range(math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9) + 1):
        place = n * step if n else 0.0  # never a "-0"
        found.append((place, f"{place:,.{decimals}f}"))
    return found


def _places(low: float, high: float, step: float) -> int:
    """How many multiples of `step` lie from `low` to `high`."""
    return math.floor(high / step + 1e-9) - math.ceil(low / step - 1e-9) + 1


def count(n: int) -> str:
    """A count as every number in the app is written, with thousands separators: 34,975 observations."""
    return f"{n:,}"


def signed_pct(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}%"


def age_step(seconds: float | None, coarse: bool = False) -> str:
    """An age for a panel left open all day, in steps: `<15s`, then 15 s steps (`15s`, `30s`, `45s`), minutes
    under an hour, hours under a day (`3h`), then days (`2d`). A value polled every 10 s keeps reading `<15s`
    instead of repainting each second, and a late one shows within 15 s of turning late; the pages about one
    claim or series show `age`, to the second. `coarse` (a closed market's last price): minutes in 10s."""
    if seconds is None:
        return age(seconds)
    seconds = max(0.0, seconds)
    if seconds < 15:
        return "<15s"
    if seconds < 60:
        return f"{int(seconds // 15) * 15}s"
    if seconds < 3600:
        return f"{int(seconds // 600) * 10 or 1}m" if coarse and seconds >= 600 else age(seconds)
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def change(pct: float | None) -> str:
    """A change with an arrow as well as a sign, readable without colour: '▲ +1.23%', '▼ -14.92%'."""
    if pct is None:
        return "—"
    shown = round(pct, 2)
    arrow = "▲" if shown > 0 else "▼" if shown < 0 else "="
    return f"{arrow} {shown:+.2f}%"


def points(value: float | None) -> str:
    """A difference between two percentages, in percentage points: '−10.0 pp'."""
    return "—" if value is None else f"{value:+.1f} pp"


def age(seconds: float | None) -> str:
    """An age as a person says it: 12s, 4m, 3h 5m, 2d 4h."""
    if seconds is None:
        return "—"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"
