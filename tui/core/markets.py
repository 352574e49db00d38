"""Trading sessions by Yahoo symbol: when a market is open, and when its sessions close.

A session is named by the local day it closes on. Its open and close are wall-clock times in the market's
time zone; when the open is not before the close (FX, futures) the session opens on the previous calendar
day. `weekdays` are the local days a session closes on (Monday = 0).

| symbols                     | zone             | session                                       |
| --------------------------- | ---------------- | --------------------------------------------- |
| no suffix, `^IXIC` etc.     | America/New_York | 09:30–16:00 Mon–Fri (DST follows the zone)    |
| `.SS`, `.SZ`                | Asia/Shanghai    | 09:30–15:00 Mon–Fri (11:30–13:00 lunch ignored) |
| `.HK`                       | Asia/Hong_Kong   | 09:30–16:00 Mon–Fri (lunch ignored)            |
| `.JK`                       | Asia/Jakarta     | 09:00–16:00 Mon–Fri (lunch ignored)            |
| `.T`                        | Asia/Tokyo       | 09:00–15:30 Mon–Fri (lunch ignored)            |
| `.KS`                       | Asia/Seoul       | 09:00–15:30 Mon–Fri                            |
| `…=X` (FX)                  | UTC              | 22:00 the day before – 22:00, Mon–Fri (Sun 22:00 – Fri 22:00) |
| `…=F` (CME futures)         | UTC              | 23:00 the day before – 22:00, Mon–Fri (Sun 23:00 – Fri 22:00) |

Holidays come from each exchange's calendar in exchange-calendars (XNYS for New York, XSHG for Shanghai and
Shenzhen, XHKG, XIDX for Jakarta, XTKS, XKRX, CMES for futures), shipped as the small table
`data/sessions.json` (made by tests/data/make_sessions.py, so the viewer never imports pandas); outside a
table's years every weekday is taken as a session. FX trades every weekday; crypto and network series every day.

Simplifications, on purpose: lunch breaks are ignored; FX and futures use fixed UTC times all year (CME really follows
New York time, so in US summer its sessions end an hour earlier than modelled). CME's intraday halts are
ignored; the hour between a futures session's close (22:00 UTC) and the next open (23:00) is the gap
between two sessions, so `is_open` is False in it.

Pure functions over aware datetimes; nothing here touches the network or Textual.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from tui.core.model import SeriesId, TapecheckError

WEEKDAYS = frozenset(range(5))  # Monday to Friday


@dataclass(frozen=True, slots=True)
class Session:
    """A market's regular session: local open and close times in `tz`, on the local days in `weekdays`."""

    tz: str  # IANA time zone name
    open: time
    close: time
    weekdays: frozenset[int] = WEEKDAYS  # local days (Monday = 0) a session closes on
    calendar: str | None = None  # the exchange's calendar in data/sessions.json (its holidays), if any

    def trades_on(self, day: date) -> bool:
        """Whether a session closes on local `day`: a weekday in `weekdays` that is not the exchange's holiday."""
        if self.calendar is None:
            return day.weekday() in self.weekdays
        return _calendar(self.calendar).trades_on(day, day.weekday() in self.weekdays)

    @property
    def overnight(self) -> bool:
        """Whether a session opens on the calendar day before the one it closes on."""
        return self.open >= self.close

    def close_on(self, day: date) -> datetime | None:
        """The UTC close of the session closing on local `day`, or None when no session closes that day."""
        return self.close_at(day) if self.trades_on(day) else None

    def close_at(self, day: date) -> datetime:
        """The UTC time of the closing bell on local `day`, whether or not a session closes that day."""
        return datetime.combine(day, self.close, _zone(self.tz)).astimezone(UTC)

    def open_for(self, day: date) -> datetime | None:
        """The UTC open of the session closing on local `day`, or None when no session closes that day."""
        if not self.trades_on(day):
            return None
        start = day - timedelta(days=1) if self.overnight else day
        return datetime.combine(start, self.open, _zone(self.tz)).astimezone(UTC)


SESSIONS_TABLE = Path(__file__).parent / "data" / "sessions.json"


@dataclass(frozen=True, slots=True)
class Calendar:
    """One exchange's session days over the years of the shipped table: weekdays but `holidays`, plus
    `weekend_sessions`; outside `first`..`last` the plain weekdays."""

    first: date
    last: date
    holidays: frozenset[date]
    weekend_sessions: frozenset[date]

    def trades_on(self, day: date, weekday_session: bool) -> bool:
        if not self.first <= day <= self.last:
            return weekday_session
        if day in self.holidays:
            return False
        return weekday_session or day in self.weekend_sessions


@cache
def _calendars() -> dict[str, Calendar]:
    table = json.loads(SESSIONS_TABLE.read_text(encoding="utf-8"))["calendars"]
    return {name: Calendar(date.fromisoformat(c["first"]), date.fromisoformat(c["last"]),
                           frozenset(map(date.fromisoformat, c["holidays"])),
                           frozenset(map(date.fromisoformat, c["weekend_sessions"])))
            for name, c in table.items()}


def _calendar(name: str) -> Calendar:
    return _calendars()[name]


US = Session("America/New_York", time(9, 30), time(16, 0), calendar="XNYS")
SHANGHAI = Session("Asia/Shanghai", time(9, 30), time(15, 0), calendar="XSHG")
HONG_KONG = Session("Asia/Hong_Kong", time(9, 30), time(16, 0), calendar="XHKG")
JAKARTA = Session("Asia/Jakarta", time(9, 0), time(16, 0), calendar="XIDX")
TOKYO = Session("Asia/Tokyo", time(9, 0), time(15, 30), calendar="XTKS")
SEOUL = Session("Asia/Seoul", time(9, 0), time(15, 30), calendar="XKRX")
FX = Session("UTC", time(22, 0), time(22, 0))
CME_FUTURES = Session("UTC", time(23, 0), time(22, 0), calendar="CMES")

SUFFIX_SESSIONS = {".SS": SHANGHAI, ".SZ": SHANGHAI, ".HK": HONG_KONG, ".JK": JAKARTA, ".T": TOKYO, ".KS": SEOUL}
# Indices whose home is not New York; every other "^" symbol is taken as a US index.
INDEX_SESSIONS = {"^HSI": HONG_KONG, "^HSCE": HONG_KONG, "^JKSE": JAKARTA, "^N225": TOKYO, "^KS11": SEOUL,
                  "^SSEC": SHANGHAI}

# How far back to look for a session: more than the longest holiday (Spring Festival, Golden Week) and a weekend.
_LOOKBACK_DAYS = 21


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def session(symbol: str) -> Session:
    """The regular session of a Yahoo symbol; TapecheckError for an exchange suffix we do not know."""
    if symbol.endswith("=X"):
        return FX
    if symbol.endswith("=F"):
        return CME_FUTURES
    if symbol.startswith("^"):
        return INDEX_SESSIONS.get(symbol, US)
    if "." not in symbol:
        return US
    suffix = symbol[symbol.rindex("."):]
    if suffix in SUFFIX_SESSIONS:
        return SUFFIX_SESSIONS[suffix]
    raise TapecheckError(f"no trading session known for {symbol!r} (exchange suffix {suffix})")


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"{at} has no time zone")
    return at.astimezone(UTC)


def _sessions_around(sess: Session, at: datetime) -> list[tuple[datetime, datetime]]:
    """(open, close) in UTC of the sessions closing from ten days before `at` to the day after, oldest first."""
    return _sessions_before(sess, at.astimezone(_zone(sess.tz)).date())


@lru_cache(maxsize=256)
def _sessions_before(sess: Session, today: date) -> list[tuple[datetime, datetime]]:
    """_sessions_around for a local day (remembered: a dashboard asks about the same markets all day; callers
    only read the list)."""
    spans = []
    for back in range(_LOOKBACK_DAYS, -2, -1):
        day = today - timedelta(days=back)
        opened, closed = sess.open_for(day), sess.close_on(day)
        if opened is not None and closed is not None:
            spans.append((opened, closed))
    return spans


def is_open(symbol: str, at: datetime) -> bool:
    """Whether `symbol`'s regular session is running at `at` (open inclusive, close exclusive)."""
    at = _utc(at)
    return any(opened <= at < closed for opened, closed in _sessions_around(session(symbol), at))


def last_close(symbol: str, at: datetime) -> datetime:
    """The most recent session close at or before `at`, in UTC."""
    at = _utc(at)
    closes = [closed for _, closed in _sessions_around(session(symbol), at) if closed <= at]
    return closes[-1]


def session_open(symbol: str, at: datetime) -> datetime:
    """The open of the latest session that opened at or before `at` (the running one, or the last one), in UTC."""
    at = _utc(at)
    opens = [opened for opened, _ in _sessions_around(session(symbol), at) if opened <= at]
    return opens[-1]


def previous_close(symbol: str, at: datetime) -> datetime:
    """The close of the session before the one `at` belongs to: a quote at `at` has its previous close then.

    A time inside a session belongs to it; a time after a close (and before the next open) belongs to the
    session that just closed, so a Saturday quote's previous close is Thursday's.
    """
    return last_close(symbol, session_open(symbol, at))


def closed_since(series: str, now: datetime) -> datetime | None:
    """When the market of a Yahoo-quoted series last closed, if it is closed at `now`; None while it trades.

    Crypto and network series trade around the clock and are never closed.
    """
    symbol = SeriesId.parse(series).yahoo_symbol
    if symbol is None or is_open(symbol, now):
        return None
    return last_close(symbol, now)


def session_of_series(series: str) -> Session | None:
    """The session of a series' market, or None for a market that trades every day (crypto, network)."""
    symbol = SeriesId.parse(series).yahoo_symbol
    return None if symbol is None else session(symbol)


def is_session_day(series: str, day: date) -> bool:
    """Whether `series`' market has a session closing on `day` (every day for crypto and network series)."""
    sess = session_of_series(series)
    return sess is None or sess.trades_on(day)


def session_on_or_before(series: str, day: date) -> date:
    """The last day on or before `day` on which `series`' market had a session: `day` itself on a session day,
    else the last one before a weekend or a holiday."""
    sess = session_of_series(series)
    if sess is None:
        return day
    for back in range(_LOOKBACK_DAYS + 1):
        earlier = day - timedelta(days=back)
        if sess.trades_on(earlier):
            return earlier
    return day - timedelta(days=_LOOKBACK_DAYS)  # no session in three weeks: not a calendar we know
