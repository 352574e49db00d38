"""Dates as articles write them: 2025年11月3日, 11月3日, 去年12月, 2025-11-03, Nov 3, 2025, 3 November 2025.

A date without a year takes the year that puts it nearest the article's anchor date (its latest dated mention,
or its publication date), so that 1月23日 in an article of late January 2026 is 2026-01-23.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from tui.core.dates import day_in_range
from tui.core.narratives.draft.numbers import WIDE

MONTHS = {name: number for number in range(1, 13)
          for name in (calendar.month_name[number].lower(), calendar.month_abbr[number].lower())}
MONTHS["sept"] = 9
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_RELATIVE_YEAR = {"去年": -1, "今年": 0, "明年": 1, "前年": -2}
DATE = re.compile(
    r"(?P<iso>(?P<iy>\d{4})[-/.](?P<im>\d{1,2})[-/.](?P<id>\d{1,2}))(?!\d)"
    r"|(?:(?P<cy>\d{4}|\d{2})\s*年\s*|(?P<rel>去年|今年|明年|前年))?(?P<cm>\d{1,2})\s*月(?:\s*(?P<cd>\d{1,2})\s*[日号號])?"
    r"|(?P<cyo>\d{4}|\d{2}(?=\s*年全年))\s*年(?P<whole>全年|年[初中底末])?"
    rf"|(?P<em>{_MONTH})\.?\s+(?P<ed>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<ey>\d{{4}}))?"
    rf"|(?P<ed2>\d{{1,2}})\s+(?P<em2>{_MONTH})\.?(?:\s+(?P<ey2>\d{{4}}))?\b"
    rf"|(?P<em3>{_MONTH})\.?\s+(?P<ey3>\d{{4}})\b",
    re.IGNORECASE,
)
SINCE_BEFORE = re.compile(r"(?:自|从|從|\bsince|\bfrom)\s*$", re.IGNORECASE)
SINCE_AFTER = re.compile(r"\s*(?:以来|以來|至今)")


@dataclass(frozen=True, slots=True)
class DateMention:
    """A date in the text: year (None when not written), month (None: a whole year), day (None: a month)."""

    start: int
    end: int
    year: int | None
    month: int | None
    day: int | None
    relative_year: int | None = None  # 去年: -1
    since: bool = False  # 自2025年以来, since May 2021: where a stretch starts, not when the figure stands

    def resolve(self, anchor: date) -> date | None:
        """The last day the mention covers (a month: its last day), its year taken from `anchor` if unwritten."""
        year = self.year
        if year is None:
            year = anchor.year + (self.relative_year or 0)
            if self.relative_year is None and self.month is not None:
                candidates = [(abs((self._last(y) or anchor) - anchor), y) for y in (year - 1, year, year + 1)]
                year = min(candidates)[1]
        return self._last(year)

    def _last(self, year: int) -> date | None:
        month = self.month or 12
        try:
            day = date(year, month, self.day or calendar.monthrange(year, month)[1])
        except ValueError:
            return None
        return day if day_in_range(day) else None

    def first(self, anchor: date) -> date | None:
        """The day before the mention begins: a close to measure a move over the month or year from."""
        last = self.resolve(anchor)
        if last is None:
            return None
        if self.day is not None:
            return previous_weekday(last)
        begin = last.replace(day=1) if self.month is not None else last.replace(month=1, day=1)
        return begin - timedelta(days=1)

    @property
    def exact(self) -> bool:
        return self.day is not None


def previous_weekday(day: date) -> date:
    """The weekday before `day`: the last close before a move on `day`."""
    day -= timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def _year(text: str | None) -> int | None:
    if text is None:
        return None
    number = int(text)
    return number + 2000 if number < 100 else number


def find_dates(text: str) -> list[DateMention]:
    """Every date mention in `text`, left to right; impossible ones (13月) are left out."""
    found = []
    for m in DATE.finditer(text.translate(WIDE)):
        g = m.groupdict()
        year: int | None
        month: int | None
        day: int | None
        if g["iso"]:
            year, month, day = int(g["iy"]), int(g["im"]), int(g["id"])
        elif g["cm"]:
            if g["cy"] is not None and len(g["cy"]) == 2 and not g["cd"]:
                continue  # 25年12月 is rare; 10年3月 may be a duration
            year, month, day = _year(g["cy"]), int(g["cm"]), int(g["cd"]) if g["cd"] else None
        elif g["cyo"]:
            year, month, day = _year(g["cyo"]), None, None
        elif not m.group()[:1].isupper() and not m.group()[:1].isdigit():
            continue  # "may 5" is not May 5: English month names are capitalised
        elif g["em"]:
            year, month, day = _year(g["ey"]), MONTHS[g["em"].lower()], int(g["ed"])
        elif g["em2"]:
            year, month, day = _year(g["ey2"]), MONTHS[g["em2"].lower()], int(g["ed2"])
        else:
            year, month, day = int(g["ey3"]), MONTHS[g["em3"].lower()], None
        if (month is not None and not 1 <= month <= 12) or (day is not None and not 1 <= day <= 31):
            continue
        if year is not None and not 1970 <= year <= 2100:
            continue
        since = bool(SINCE_BEFORE.search(text, max(0, m.start() - 16), m.start())  # a bounded look back
                     or SINCE_AFTER.match(text, m.end()))
        found.append(DateMention(m.start(), m.end(), year, month, day, _RELATIVE_YEAR.get(g["rel"] or ""), since))
    return found


_DURATION = re.compile(
    r"(?:近|过去|過去|短短|最近|\b(?:past|last|over)\s+)?\s*(?<![\d.])(?P<n>\d{1,3}|[一二两兩三四五六七八九十半]{1,3}|"
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b)\s*"
    r"(?:(?P<cm>[个個])\s*月|(?P<unit>周|週|个星期|個星期|天|个交易日|個交易日|个年头|年(?![\d月全底初末中以]))"
    r"|\s*(?P<en>weeks?|months?|days?|years?)\b)", re.IGNORECASE)
_CN_SMALL = {"一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
             "十": 10}


@dataclass(frozen=True, slots=True)
class Duration:
    """A stretch of time ending at the figure: 近2个月, 一周, past three weeks (as days, or whole months)."""

    start: int
    end: int
    days: int
    months: int

    def before(self, day: date) -> date:
        """The day this stretch before `day` begins."""
        if self.months:
            total = day.year * 12 + day.month - 1 - self.months
            year, month = divmod(total, 12)
            return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
        return day - timedelta(days=self.days)


_EN_SMALL = {word: n for n, word in enumerate(
    ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"], start=1)}


def _small(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if text.lower() in _EN_SMALL:
        return _EN_SMALL[text.lower()]
    if text == "半":
        return None
    if len(text) == 1:
        return _CN_SMALL.get(text)
    tens, _, ones = text.partition("十")
    return (_CN_SMALL.get(tens, 1) if tens else 1) * 10 + (_CN_SMALL.get(ones, 0) if ones else 0)


@lru_cache(maxsize=4)  # asked once for each figure of a sentence: found once per sentence
def find_durations(text: str) -> tuple[Duration, ...]:
    return tuple(_durations(text))


def _durations(text: str) -> list[Duration]:
    found = []
    for m in _DURATION.finditer(text.translate(WIDE)):
        count = _small(m.group("n"))
        if not count or count > 60:
            continue
        unit = (m.group("unit") or m.group("en") or "").lower()
        if m.group("cm") or unit.startswith("month"):
            found.append(Duration(m.start(), m.end(), 0, count))
        elif unit.startswith(("年", "year", "个年", "個年")):
            found.append(Duration(m.start(), m.end(), 0, 12 * count))
        elif unit.startswith(("周", "週", "个星", "個星", "week")):
            found.append(Duration(m.start(), m.end(), 7 * count, 0))
        else:
            found.append(Duration(m.start(), m.end(), count, 0))
    return found
