"""The calendar tapecheck accepts: every date and time it reads (flags, tapes, rules, claims' `as_of`) lies in
1970–2100, checked where it is parsed, so that arithmetic on it (a week back, a day on, milliseconds since
the epoch) can never leave Python's calendar and crash later.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from tui.core.model import TapecheckError

FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2100, 12, 31)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
RANGE = f"{FIRST_DAY.year}–{LAST_DAY.year}"


def day_in_range(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def check_day(day: date) -> date:
    """`day`, or TapecheckError when it is outside 1970–2100."""
    if not day_in_range(day):
        raise TapecheckError(f"{day.isoformat()} is outside the years {RANGE} that tapecheck reads")
    return day


def parse_time(text: str) -> datetime:
    """An ISO-8601 time as an aware UTC datetime in 1970–2100; a time without a zone is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise TapecheckError(f"{text!r} is not an ISO-8601 time such as 2026-01-23T08:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not FIRST_DAY <= moment.date() <= LAST_DAY:  # before converting: year 1 at +01:00 is before year 1 UTC
        raise TapecheckError(f"{text.strip()!r} is outside the years {RANGE} that tapecheck reads")
    moment = moment.astimezone(UTC)
    if not EARLIEST <= moment <= LATEST:
        raise TapecheckError(f"{text.strip()!r} is outside the years {RANGE} that tapecheck reads")
    return moment


def parse_day(text: str) -> date:
    """A YYYY-MM-DD date in 1970–2100."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise TapecheckError(f"{text!r} is not a date such as 2026-01-23") from None
    return check_day(day)
