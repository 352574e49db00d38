"""Writes tui/core/data/sessions.json: the exchanges' session days, from exchange-calendars, for the viewer.

The viewer never imports pandas or exchange_calendars, so the calendars ship as a small table generated here:
per calendar, the span it covers (2015 to 2030, or to the last year the library records holidays for) and the
weekdays in it that are not sessions (holidays), plus any weekend day that is one. tests/test_sessions.py
checks that the shipped table equals what the library says.

Run `python tests/data/make_sessions.py` to regenerate; the output is deterministic for a library version.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

OUT = Path(__file__).parents[2] / "tui" / "core" / "data" / "sessions.json"
CALENDARS = ("XNYS", "XSHG", "XHKG", "XIDX", "CMES", "XTKS", "XKRX")
FIRST, LAST = date(2015, 1, 1), date(2030, 12, 31)


def calendar_table(name: str) -> dict[str, Any]:
    """One calendar's span, holidays (weekdays that are not sessions) and weekend sessions, as ISO dates."""
    import exchange_calendars as xcals
    import pandas as pd

    cls = type(xcals.get_calendar(name))
    bound = cls.bound_max()
    last = min(LAST, bound.date()) if bound is not None else LAST
    calendar = xcals.get_calendar(name, start=FIRST.isoformat(), end=last.isoformat())
    sessions = {pd.Timestamp(s).date() for s in calendar.sessions}
    holidays, weekend = [], []
    day = FIRST
    while day <= last:
        if day.weekday() < 5 and day not in sessions:
            holidays.append(day.isoformat())
        elif day.weekday() >= 5 and day in sessions:
            weekend.append(day.isoformat())
        day += timedelta(days=1)
    return {"first": FIRST.isoformat(), "last": last.isoformat(), "holidays": holidays, "weekend_sessions": weekend}


def sessions_table() -> dict[str, Any]:
    import exchange_calendars as xcals

    return {"generator": "tests/data/make_sessions.py", "exchange_calendars": xcals.__version__,
            "calendars": {name: calendar_table(name) for name in CALENDARS}}


if __name__ == "__main__":
    table = sessions_table()
    OUT.write_text(json.dumps(table, indent=None, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
