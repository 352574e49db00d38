"""Trading sessions by symbol: open or closed at a moment, the last close, the previous close (tui.core.markets)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from tui.core import markets
from tui.core.model import TapecheckError


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# 2026-01-23 is a Friday; the US switches to summer time on Sunday 2026-03-08 and back on Sunday 2026-11-01.
IS_OPEN = [
    # US equities and indices: 09:30–16:00 New York = 14:30–21:00 UTC in winter, 13:30–20:00 in summer
    ("NVDA", "2026-01-23T14:29:59", False),  # Friday, before the open
    ("NVDA", "2026-01-23T14:30:00", True),  # the open itself
    ("NVDA", "2026-01-23T20:59:59", True),
    ("NVDA", "2026-01-23T21:00:00", False),  # the close is the first moment closed
    ("NVDA", "2026-01-24T16:00:00", False),  # Saturday
    ("NVDA", "2026-01-25T16:00:00", False),  # Sunday
    ("NVDA", "2026-01-26T14:00:00", False),  # Monday 09:00 New York, before the open
    ("^IXIC", "2026-01-26T15:00:00", True),  # an index trades US hours
    ("NVDA", "2026-03-06T14:00:00", False),  # Friday before the change: 09:00 EST
    ("NVDA", "2026-03-09T13:29:59", False),  # Monday after the change: 09:29:59 EDT
    ("NVDA", "2026-03-09T13:30:00", True),  # 09:30 EDT
    ("NVDA", "2026-03-09T20:00:00", False),  # 16:00 EDT
    ("NVDA", "2026-03-09T20:30:00", False),  # would still be open on winter time
    ("NVDA", "2026-11-02T14:00:00", False),  # back on EST: 09:00
    ("NVDA", "2026-11-02T20:30:00", True),  # 15:30 EST
    # Shanghai and Shenzhen: 09:30–15:00 = 01:30–07:00 UTC, lunch ignored
    ("688795.SS", "2026-01-23T01:29:00", False),
    ("688795.SS", "2026-01-23T01:30:00", True),
    ("688795.SS", "2026-01-23T04:00:00", True),  # 12:00 local, the lunch break counts as open
    ("300751.SZ", "2026-01-23T06:59:00", True),
    ("300751.SZ", "2026-01-23T07:00:00", False),
    ("688795.SS", "2026-01-24T03:00:00", False),  # Saturday
    ("688795.SS", "2026-01-26T06:00:00", True),  # the test snapshot's now: Monday 14:00 in Shanghai
    ("688795.SS", "2026-01-25T23:00:00", False),  # Monday 07:00 local, before the open
    # Hong Kong 09:30–16:00 = 01:30–08:00 UTC; Jakarta 09:00–16:00 = 02:00–09:00 UTC
    ("0700.HK", "2026-01-23T07:59:00", True),
    ("0700.HK", "2026-01-23T08:00:00", False),
    ("NCKL.JK", "2026-01-23T02:00:00", True),
    ("NCKL.JK", "2026-01-23T08:59:00", True),
    ("NCKL.JK", "2026-01-23T09:00:00", False),
    # FX: Sunday 22:00 to Friday 22:00 UTC without a pause
    ("CNY=X", "2026-01-25T21:59:00", False),  # Sunday, just before the open
    ("CNY=X", "2026-01-25T22:00:00", True),
    ("CNY=X", "2026-01-26T22:00:00", True),  # Monday's close is Tuesday's open
    ("CNY=X", "2026-01-28T03:00:00", True),
    ("CNY=X", "2026-01-23T21:59:59", True),  # Friday
    ("CNY=X", "2026-01-23T22:00:00", False),
    ("CNY=X", "2026-01-24T12:00:00", False),  # Saturday
    # CME futures: Sunday 23:00 to Friday 22:00 UTC; 22:00–23:00 falls between two sessions
    ("GC=F", "2026-01-25T22:30:00", False),  # Sunday, before the open
    ("GC=F", "2026-01-25T23:00:00", True),
    ("GC=F", "2026-01-26T21:59:00", True),
    ("GC=F", "2026-01-26T22:30:00", False),
    ("GC=F", "2026-01-26T23:00:00", True),
    ("GC=F", "2026-01-23T22:00:00", False),  # Friday's close
]


@pytest.mark.parametrize(("symbol", "at", "expected"), IS_OPEN)
def test_is_open(symbol: str, at: str, expected: bool) -> None:
    assert markets.is_open(symbol, utc(at)) is expected


LAST_CLOSE = [
    ("NVDA", "2026-01-24T12:00:00", "2026-01-23T21:00:00"),  # Saturday: Friday's close
    ("NVDA", "2026-01-26T14:00:00", "2026-01-23T21:00:00"),  # Monday before the open: still Friday's
    ("NVDA", "2026-01-23T18:00:00", "2026-01-22T21:00:00"),  # in a session: the day before
    ("NVDA", "2026-01-23T21:00:00", "2026-01-23T21:00:00"),  # at the close: that close
    ("NVDA", "2026-03-09T12:00:00", "2026-03-06T21:00:00"),  # Monday after the change: Friday's EST close
    ("NVDA", "2026-03-09T20:30:00", "2026-03-09T20:00:00"),  # the same evening: the EDT close
    ("NVDA", "2026-11-02T12:00:00", "2026-10-30T20:00:00"),  # back to EST: the last EDT close
    ("688795.SS", "2026-01-26T06:00:00", "2026-01-23T07:00:00"),
    ("688795.SS", "2026-01-26T07:30:00", "2026-01-26T07:00:00"),
    ("0700.HK", "2026-01-24T00:00:00", "2026-01-23T08:00:00"),
    ("NCKL.JK", "2026-01-24T00:00:00", "2026-01-23T09:00:00"),
    ("CNY=X", "2026-01-25T23:00:00", "2026-01-23T22:00:00"),  # Sunday night: Friday's
    ("CNY=X", "2026-01-27T10:00:00", "2026-01-26T22:00:00"),
    ("GC=F", "2026-01-26T22:30:00", "2026-01-26T22:00:00"),
]


@pytest.mark.parametrize(("symbol", "at", "expected"), LAST_CLOSE)
def test_last_close(symbol: str, at: str, expected: str) -> None:
    closed = markets.last_close(symbol, utc(at))
    assert closed == utc(expected)
    assert closed.utcoffset() == timedelta(0)


PREVIOUS_CLOSE = [
    ("NVDA", "2026-01-23T21:00:01", "2026-01-22T21:00:00"),  # a quote at Friday's close: Thursday's
    ("NVDA", "2026-01-23T18:00:00", "2026-01-22T21:00:00"),  # during Friday's session: Thursday's
    ("NVDA", "2026-01-26T15:00:00", "2026-01-23T21:00:00"),  # during Monday's session: Friday's
    ("688795.SS", "2026-01-23T07:00:03", "2026-01-22T07:00:00"),
    ("CNY=X", "2026-01-23T21:58:30", "2026-01-22T22:00:00"),
    ("GC=F", "2026-01-26T01:00:00", "2026-01-23T22:00:00"),  # Sunday night's session follows Friday's
]


@pytest.mark.parametrize(("symbol", "at", "expected"), PREVIOUS_CLOSE)
def test_previous_close(symbol: str, at: str, expected: str) -> None:
    assert markets.previous_close(symbol, utc(at)) == utc(expected)


def test_times_in_other_zones_are_the_same_instants() -> None:
    shanghai = timezone(timedelta(hours=8))
    assert markets.is_open("688795.SS", datetime(2026, 1, 23, 10, 0, tzinfo=shanghai))
    assert not markets.is_open("688795.SS", datetime(2026, 1, 23, 15, 0, tzinfo=shanghai))
    # 06:00 Saturday in Shanghai is 22:00 Friday UTC, an hour after the US close
    assert markets.last_close("NVDA", datetime(2026, 1, 24, 6, 0, tzinfo=shanghai)) == utc("2026-01-23T21:00:00")
    assert markets.last_close("NVDA", datetime(2026, 1, 24, 2, 0, tzinfo=shanghai)) == utc("2026-01-22T21:00:00")


@pytest.mark.parametrize(("symbol", "expected"), [
    ("NVDA", markets.US), ("^IXIC", markets.US), ("^HSI", markets.HONG_KONG), ("688795.SS", markets.SHANGHAI),
    ("300751.SZ", markets.SHANGHAI), ("0700.HK", markets.HONG_KONG), ("NCKL.JK", markets.JAKARTA),
    ("7203.T", markets.TOKYO), ("CNY=X", markets.FX), ("EURUSD=X", markets.FX), ("GC=F", markets.CME_FUTURES),
])
def test_session_by_symbol(symbol: str, expected: markets.Session) -> None:
    assert markets.session(symbol) == expected


def test_session_definitions() -> None:
    assert (markets.US.tz, markets.US.open, markets.US.close) == ("America/New_York", time(9, 30), time(16))
    assert markets.SHANGHAI.close == time(15) and not markets.SHANGHAI.overnight
    assert markets.FX.overnight and markets.CME_FUTURES.overnight
    assert markets.US.weekdays == frozenset(range(5))


def test_unknown_suffix_and_naive_times_are_refused() -> None:
    with pytest.raises(TapecheckError, match=r"VOD\.L"):
        markets.session("VOD.L")
    with pytest.raises(ValueError, match="no time zone"):
        markets.is_open("NVDA", datetime(2026, 1, 23, 15, 0))


def test_holidays_follow_the_exchange_calendar() -> None:
    # Monday 2026-01-19 was Martin Luther King Jr. Day: New York was shut, its last close Friday's.
    assert not markets.is_open("NVDA", utc("2026-01-19T15:00:00"))
    assert markets.last_close("NVDA", utc("2026-01-19T15:00:00")) == utc("2026-01-16T21:00:00")
    assert markets.session_on_or_before("equity:NVDA:last", date(2026, 1, 19)) == date(2026, 1, 16)


def test_spring_festival_reads_closed_not_stale() -> None:
    """Shanghai and Shenzhen are shut for the Spring Festival (16-23 Feb 2026): a value from the last session
    (13 Feb) is a closed market's last close, and the rule reading it is not stale."""
    from tests.conftest import context, obs
    from tui.core.narratives.rules.evaluate import last
    now = utc("2026-02-18T04:00:00")  # a Wednesday, noon in Shanghai
    assert markets.closed_since("equity:688795.SS:last", now) == utc("2026-02-13T07:00:00")
    assert markets.closed_since("equity:002865.SZ:last", now) == utc("2026-02-13T07:00:00")
    value = last(context(obs("equity:002865.SZ:last", 85.0, utc("2026-02-13T07:00:00")), now=now),
                 "equity:002865.SZ:last")
    assert value.inputs[0].closed and not value.inputs[0].stale
    assert markets.session_on_or_before("equity:002865.SZ:last", date(2026, 2, 22)) == date(2026, 2, 13)
    assert not markets.is_session_day("equity:688795.SS:last", date(2026, 2, 19))
