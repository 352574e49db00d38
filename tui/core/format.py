"""Numbers, units and ages written the way a trader reads them: 819M USD, 1.05 ZH/s, +12.3%, 3h 5m."""

from __future__ import annotations

import math
from datetime import date

_SCALES = ((1e12, "T"), (1e9, "B"), (1e6, "M"))
_HASH_SCALES = ((1e21, "ZH/s"), (1e18, "EH/s"), (1e15, "PH/s"), (1e12, "TH/s"))


def number(value: float, digits: int = 4) -> str:
    """A compact number: 1.23T, 819M, 71,200, 99.44, 0.5234."""
    if not math.isfinite(value):
        return str(value)
    size = abs(value)
    for scale, suffix in _SCALES:
        if size >= scale:
            return f"{value / scale:,.{_decimals(value / scale, 3)}f}{suffix}"
    if size >= 1000 or value.is_integer():
        return f"{value:,.0f}"
    return f"{value:,.{_decimals(value, digits)}f}"


def _decimals(value: float, digits: int) -> int:
    """Decimals that show `digits` significant figures, at most 4."""
    size = abs(value)
    if size == 0:
        return 0
    whole = math.floor(math.log10(size)) + 1
    return max(0, min(4, digits - whole))


def quantity(value: float, unit: str) -> str:
    """A value with its unit: '819M USD', '1.05 ZH/s', '+250.3%', '0.523'."""
    if unit == "H/s":
        for scale, suffix in _HASH_SCALES:
            if abs(value) >= scale:
                return f"{value / scale:,.3g} {suffix}"
        return f"{number(value)} H/s"
    if unit == "%":
        return f"{value:+,.1f}%"
    if unit == "ratio":
        return number(value)
    if unit == "date":  # a calendar day held as its ordinal (first_date())
        return date.fromordinal(int(value)).isoformat() if 1 <= value < 3_652_060 else number(value)
    return f"{number(value)} {unit}"


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
