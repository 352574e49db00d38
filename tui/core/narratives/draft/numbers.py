"""Numbers as articles write them: 3,830, 1.5, 三千, 两, 一百二十, with a magnitude (万, 亿, 万亿, 兆, billion, bn, k).

`find_numbers` reads a text and returns each number with where it stands and its value; it never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Full-width digits and signs read as their ASCII forms; one character for one, so offsets stay.
WIDE = str.maketrans("０１２３４５６７８９．，％＄－", "0123456789.,%$-")
CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
             "八": 8, "九": 9}
CN_UNITS = {"十": 10, "百": 100, "千": 1000}
# The section marks inside a numeral: 三万五千 is one number, 35000; 一万二千亿 is (一万二千) × 亿.
CN_SECTIONS = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8, "兆": 10**12}
# Longest first: 万亿 before 万, 千亿 before 千.
CN_MAGNITUDES = {"万亿": 1e12, "萬億": 1e12, "千亿": 1e11, "千億": 1e11, "百亿": 1e10, "百億": 1e10,
                 "十亿": 1e9, "十億": 1e9, "千万": 1e7, "千萬": 1e7, "百万": 1e6, "百萬": 1e6, "亿": 1e8,
                 "億": 1e8, "万": 1e4, "萬": 1e4, "兆": 1e12}
EN_MAGNITUDES = {"trillion": 1e12, "billion": 1e9, "million": 1e6, "thousand": 1e3, "tn": 1e12, "trn": 1e12,
                 "bn": 1e9, "mn": 1e6, "mln": 1e6, "k": 1e3}
_ARABIC = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_CN_NUMERAL = f"[{''.join(CN_DIGITS)}{''.join(CN_UNITS)}{''.join(CN_SECTIONS)}]+"
_CN_MAG = "|".join(sorted(CN_MAGNITUDES, key=len, reverse=True))
_EN_MAG = "|".join(sorted(EN_MAGNITUDES, key=len, reverse=True))
NUMBER = re.compile(
    rf"(?P<arabic>{_ARABIC})(?:\s?(?P<cnmag>{_CN_MAG})|\s?(?P<enmag>{_EN_MAG})(?![A-Za-z]))?"
    rf"|(?P<cn>{_CN_NUMERAL})",
    re.IGNORECASE,
)


_VAGUE = frozenset("数數几幾")  # 数十亿, 几百万: "some tens of", not a figure


@dataclass(frozen=True, slots=True)
class Number:
    start: int
    end: int
    value: float
    chinese: bool  # written in Chinese numerals (三千亿): only a figure when a unit follows


def chinese_integer(text: str) -> int | None:
    """三千 → 3000, 一百二十 → 120, 十五 → 15, 两 → 2, 三万五千 → 35000, 一万二千亿 → 1.2e12, 一千五 → 1500;
    None when `text` is not a well-formed numeral.

    Read section by section: the part below 万 (units falling 千, 百, 十), closed by 万; what stands before 亿
    (or 兆) is multiplied by it, 万 sections included (一万二千亿 = 12000 × 亿, 三万亿 = 3 × 10^12). A last
    digit straight after a unit counts in the next unit down, as it is spoken: 一千五 = 1500, 三万五 = 35000
    (一千零五, with 零, is 1005).
    """
    closed, last_big = 0, 0  # the parts closed by 亿 or 兆; the last such mark (the next must be smaller)
    wan = 0  # the part closed by 万 since then
    section, digit, last_unit = 0, None, 10_000
    before = 0  # the unit or section mark just before the pending digit (0: none, or 零)
    for char in text:
        if char in "零〇":
            if digit is not None:
                return None  # 二〇二五 is a year written digit by digit, not a number
            before = 0  # 一千零五: 零 only holds a place
        elif char in CN_DIGITS:
            if digit is not None:
                return None  # 三五: two digits in a row is not a numeral we read
            digit = CN_DIGITS[char]
        elif char in CN_UNITS:
            unit = CN_UNITS[char]
            if unit >= last_unit:
                return None  # 十百: units must fall
            section += (1 if digit is None else digit) * unit
            digit, last_unit, before = None, unit, unit
        else:
            mark, below = CN_SECTIONS[char], section + (digit or 0)
            if mark == 10**4:
                if wan or not below:
                    return None  # 三万五万, or 万 with no number before it (万科)
                wan = below * mark
            else:
                if not (wan or below) or (last_big and mark >= last_big):
                    return None  # 亿 alone (亿纬), or 亿 after 亿
                closed += (wan + below) * mark
                wan, last_big = 0, mark
            section, digit, last_unit, before = 0, None, 10_000, mark
    if digit is not None and before > 10:
        digit *= before // 10  # 一千五: five hundred
    return closed + wan + section + (digit or 0)


def find_numbers(text: str) -> list[Number]:
    """Every number in `text` with its magnitude applied, left to right."""
    found = []
    plain = text.translate(WIDE)
    for match in NUMBER.finditer(plain):
        if match.group("arabic"):
            if match.start() and (plain[match.start() - 1].isalpha() and plain[match.start() - 1].isascii()):
                continue  # part of a name or code: H200, A100, 5G
            value = float(match.group("arabic").replace(",", ""))
            magnitude = match.group("cnmag") or match.group("enmag")
            scale = CN_MAGNITUDES.get(magnitude, 0) or EN_MAGNITUDES.get((magnitude or "").lower(), 1.0)
            found.append(Number(match.start(), match.end(), value * scale, chinese=False))
            continue
        numeral = chinese_integer(match.group("cn"))
        if numeral is None or numeral == 0 or plain[max(0, match.start() - 1):match.start()] in _VAGUE:
            continue
        found.append(Number(match.start(), match.end(), float(numeral), chinese=True))
    return found
