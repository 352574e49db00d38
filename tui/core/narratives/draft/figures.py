"""Figures: a number with its unit or currency, normalized (3000亿美元 → 3.0e11 USD, 上涨20% → +20 % change),
with the words of direction around it (突破, 跌破, 超过, 回落至, 涨超, rose, more than, about).

Also the figures written without a number: 涨停 / 跌停 (a move to the day's limit, "20CM涨停": 20%).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tui.core.narratives.draft.dates import DateMention
from tui.core.narratives.draft.numbers import WIDE, Number, find_numbers

# Currencies written after the number, longest first where one is the start of another.
SUFFIX_CURRENCIES = {
    "美元": "USD", "美金": "USD", "港元": "HKD", "港币": "HKD", "港幣": "HKD", "新台币": "TWD", "新台幣": "TWD",
    "日元": "JPY", "日圓": "JPY", "欧元": "EUR", "歐元": "EUR", "英镑": "GBP", "英鎊": "GBP", "韩元": "KRW",
    "韓元": "KRW", "印尼盾": "IDR", "人民币": "CNY", "人民幣": "CNY", "元人民币": "CNY", "元人民幣": "CNY",
    "元": "CNY", "US dollars": "USD", "dollars": "USD", "USD": "USD", "yuan": "CNY", "RMB": "CNY", "CNY": "CNY",
    "HKD": "HKD", "EUR": "EUR", "euros": "EUR",
}
PREFIX_CURRENCIES = {"US$": "USD", "HK$": "HKD", "$": "USD", "¥": "CNY", "￥": "CNY", "€": "EUR", "£": "GBP",
                     "人民币": "CNY", "人民幣": "CNY", "USD": "USD", "RMB": "CNY", "CNY": "CNY"}
HASH_PREFIXES = {"K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18, "Z": 1e21}
# Units that are not money: (pattern, kind, unit).
OTHER_UNITS = (
    (r"个百分点|個百分點|百分点|百分點|percentage points?|pp\b", "pp", "pp"),
    (r"%|percent\b|per cent\b|pct\b", "percent", "%"),
    (r"(?P<hash>[KMGTPEZ])H/s", "hashrate", "H/s"),
    (r"倍", "multiple", "x"),
    (r"枚(?=\s?(?:比特币|比特幣|BTC|以太坊|ETH|狗狗币|狗狗幣))|个比特币|個比特幣|(?:BTC|bitcoins?)\b",
     "coins", "coins"),
    (r"枚", "coins", "枚"),  # 枚 counts medals and rockets too: coins only beside a coin's name
    (r"股(?![价價票份东東市])|shares\b", "shares", "shares"),
    (r"点(?!钟|鐘)|點(?!鐘)|points?\b|pts\b", "points", "pts"),
    (r"GWh|TWh|MWh|kWh|GW|MW|吉瓦|吨|噸|tonnes|tons|盎司|ounces|oz\b", "physical", ""),
)
_SUFFIX = "|".join(re.escape(k) for k in sorted(SUFFIX_CURRENCIES, key=len, reverse=True))
_SUFFIX_LOWER = {name.lower(): code for name, code in SUFFIX_CURRENCIES.items()}  # matched ignoring case
_PREFIX = "|".join(re.escape(k) for k in sorted(PREFIX_CURRENCIES, key=len, reverse=True))
_UNIT = re.compile(rf"\s?(?:(?P<currency>{_SUFFIX})(?P<per_share>\s?/\s?股|\s?per share|每股)?"
                   + "".join(f"|(?P<u{i}>{pattern})" for i, (pattern, _, _) in enumerate(OTHER_UNITS)) + ")",
                   re.IGNORECASE)
_PREFIX_AT_END = re.compile(rf"(?:{_PREFIX})\s?$")
LETTER_SCALES = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
_LETTER_SCALE = re.compile(r"[KMBTkmb](?![A-Za-z])")
_PERCENT_WORDS = re.compile(r"百分之$")
LIMIT = re.compile(r"(?:(?P<cm>\d{1,2})\s?cm\W{0,2})?(?P<word>涨停|漲停|跌停)(?!潮|板块|板塊)", re.IGNORECASE)
DOUBLING = re.compile(r"翻倍|翻番|翻了一倍|翻了一番|\bdoubled\b", re.IGNORECASE)  # twice the price: +100%

# Words of direction, looked for in the clause before a figure (and 以上 / 左右 / 多 just after it).
UP = re.compile(r"上涨|上漲|大涨|大漲|暴涨|暴漲|涨幅|漲幅|涨超|漲超|涨逾|漲逾|飙升|飆升|攀升|拉升|增长|增長|增加|涨|漲"
                r"|\b(?:rose|rises?|rising|gained|gains?|jumped|surged|soared|climbed|rallied|up|added)\b",
                re.IGNORECASE)
DOWN = re.compile(r"下跌|大跌|暴跌|跌幅|跌超|跌逾|下挫|下滑|回落|缩水|縮水|蒸发|蒸發|跌|下降|减少|減少"
                  r"|\b(?:fell|falls?|falling|dropped|drops?|declined|slumped|plunged|tumbled|slid|lost|down)\b",
                  re.IGNORECASE)
AMOUNT_MOVE = re.compile(r"增加|增长|增長|蒸发|蒸發|缩水|縮水|减少|減少|\b(?:added|lost|wiped|shed|gained|"
                         r"(?:rose|fell|grew|dropped|jumped|climbed) by)\b", re.IGNORECASE)
AFTER_MOVE = re.compile(r"\s?的?\s?(暴跌|大跌|下跌|跌幅|暴涨|暴漲|大涨|大漲|上涨|上漲|涨幅|漲幅"
                        r"|gain|rise|drop|fall)")
TO_LEVEL = re.compile(r"(?:至|到|\bto)\s*$", re.IGNORECASE)
AT_LEAST = re.compile(r"达到或超过|達到或超過|不低于|不低於|突破|站上|\b(?:at least|surpassed|topped|crossed|passed"
                      r"|broke above|hit a record)\b", re.IGNORECASE)
ABOVE = re.compile(r"超过|超過|超|逾|高于|高於|\b(?:more than|above|over|exceeded|exceeding|beyond)\b",
                   re.IGNORECASE)
BELOW = re.compile(r"跌破|失守|低于|低於|不足|不到|少于|少於|\b(?:below|under|less than|fewer than)\b", re.IGNORECASE)
APPROX = re.compile(r"约|約|近|大约|大約|左右|接近|\b(?:about|around|roughly|nearly|approximately|some|almost)\b",
                    re.IGNORECASE)
HIGH = re.compile(r"最高|盘中高|盤中高|\b(?:high|peaked)\b", re.IGNORECASE)
LOW = re.compile(r"最低|\blow\b", re.IGNORECASE)
_CLAUSE = re.compile(r"[,，。;；、:：!！?？()（）\n]|\.\s")
WINDOW = 14


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure in a sentence: where it stands, its words as written, its normalized value and unit.

    kind: amount (money), percent, pp, hashrate, multiple, coins, shares, points, physical, limit (涨停).
    A move (`change`) is signed: 下跌20% is -20. `op` is what the words claim: >=, >, <, or ~ (about).
    """

    start: int
    end: int
    text: str
    value: float
    unit: str
    kind: str
    change: bool = False
    op: str = "~"
    approx: bool = False
    field: str = ""  # "high" or "low" when the figure is a day's extreme (最高涨至99.44元)
    per_share: bool = False


def clause_before(text: str, start: int) -> str:
    """The words before `start`, back to the clause's start, at most WINDOW characters."""
    window = text[max(0, start - WINDOW * 3):start]
    cut = [m.end() for m in _CLAUSE.finditer(window)]
    window = window[cut[-1]:] if cut else window
    return window[-WINDOW * 3:] if re.search(r"[A-Za-z]{3}", window) else window[-WINDOW:]


def _direction(before: str, after: str) -> tuple[bool, int, str, bool]:
    """(a move?, its sign, op, approximate?) from the words around a figure."""
    trailing = AFTER_MOVE.match(after)  # 50%的暴跌, a 5% gain
    up = UP.search(before) or (trailing if trailing and UP.match(trailing.group(1)) else None)
    down = DOWN.search(before) or (trailing if trailing and DOWN.match(trailing.group(1)) else None)
    to_level = TO_LEVEL.search(before) is not None
    move = (up is not None or down is not None) and not to_level
    sign = -1 if down and (not up or down.start() > up.start()) else 1
    approx = APPROX.search(before) is not None or after.startswith(("左右", "上下"))
    if BELOW.search(before):
        op = "<"
    elif AT_LEAST.search(before) or after.startswith(("以上", "或以上", "+")):
        op = ">="
    elif ABOVE.search(before) or after.startswith(("多", "余", "餘")):
        op = ">"
    else:
        op = "~"
    if move and sign < 0 and op in (">", ">="):
        op = "<" if op == ">" else "<="  # 跌超30%: a fall of more than 30% is a change below -30%
    return move, sign, op, approx


def _unit_after(text: str, number: Number) -> tuple[re.Match[str] | None, str, str]:
    match = _UNIT.match(text, number.end)
    if match is None:
        return None, "", ""
    if match.group("currency"):
        return match, "amount", _SUFFIX_LOWER[match.group("currency").lower()]
    for index, (_, kind, unit) in enumerate(OTHER_UNITS):
        if match.group(f"u{index}"):
            return match, kind, unit or match.group(f"u{index}")
    return None, "", ""


MAX_FIGURE = 1e30  # larger numbers are no figure of a market: not proposed


CORRELATION = re.compile(r"相关性|相關性|相关系数|相關係數|\bcorrelat(?:ion|ed)\b", re.IGNORECASE)


def find_coefficient(text: str, dates: list[DateMention]) -> Figure | None:
    """A correlation coefficient: the first bare number from -1 to 1 after a word for correlation (相关性保持在0.5
    以上, a correlation above 0.5), with its direction; None when the sentence gives none."""
    plain = text.translate(WIDE)
    said = CORRELATION.search(plain)
    if said is None:
        return None
    taken = [(d.start, d.end) for d in dates]
    for number in find_numbers(plain):
        if number.start < said.end() or any(a <= number.start < b for a, b in taken) or not -1 <= number.value <= 1:
            continue
        if _UNIT.match(plain, number.end) or number.chinese:
            continue  # 0.5% or 0.5倍: not a coefficient; nor 一 in 一直
        _, _, op, approx = _direction(clause_before(plain, number.start), plain[number.end:number.end + 8])
        return Figure(number.start, number.end, text[number.start:number.end], number.value, "ratio", "correlation",
                      op=op, approx=approx)
    return None


def find_figures(text: str, dates: list[DateMention]) -> list[Figure]:
    """Every figure in one sentence, left to right; numbers inside a date are not figures."""
    plain = text.translate(WIDE)
    taken = [(d.start, d.end) for d in dates]
    found: list[Figure] = []
    for number in find_numbers(plain):
        if any(a <= number.start < b for a, b in taken) or not abs(number.value) < MAX_FIGURE:
            continue  # inside a date; or 320 digits, which no market figure has (and no float holds exactly)
        match, kind, unit = _unit_after(plain, number)
        prefix = _PREFIX_AT_END.search(plain, max(0, number.start - 24), number.start)
        letter = _LETTER_SCALE.match(plain, number.end) if prefix else None
        if match is None and prefix:
            kind, unit, end = "amount", PREFIX_CURRENCIES[prefix.group().strip()], number.end
            if letter:  # $5B, US$4.5T, $30m: a single letter scales a sum only after a currency sign
                number = Number(number.start, letter.end(), number.value * LETTER_SCALES[letter.group().upper()],
                                number.chinese)
                end = letter.end()
        elif match is None and _PERCENT_WORDS.search(plain, max(0, number.start - 3), number.start):
            kind, unit, end = "percent", "%", number.end  # 百分之二十
        elif match is None or (number.chinese and kind in ("points", "shares", "coins") and number.value < 10):
            continue  # a bare number (29只股票) or 一点, 一股: not a figure
        elif number.chinese and kind == "amount" and number.value < 100:
            continue  # 三元前驱体, 一元复始: small sums are written in digits
        else:
            end = match.end()
        if kind == "amount" and prefix and unit == "CNY" and PREFIX_CURRENCIES[prefix.group().strip()] != "CNY":
            unit = PREFIX_CURRENCIES[prefix.group().strip()]  # HK$5元 is not a thing; the prefix wins
        begin = prefix.start() if prefix else number.start
        if _PERCENT_WORDS.search(plain, max(0, number.start - 3), number.start):
            begin = number.start - 3
        value = number.value
        if kind == "hashrate" and match is not None:
            value *= HASH_PREFIXES[match.group("hash").upper()]
        before = clause_before(plain, begin)
        move, sign, op, approx = _direction(before, plain[end:end + 8])
        if kind == "amount":  # an amount moves only by what is added or lost: 市值增加2500亿美元, lost $1 trillion
            move = AMOUNT_MOVE.search(before) is not None
            sign = -1 if move and DOWN.search(before) else 1
        move = move and kind in ("percent", "pp", "amount", "multiple")
        field = "high" if HIGH.search(before) else "low" if LOW.search(before) else ""
        per_share = bool(match is not None and match.groupdict().get("per_share"))
        found.append(Figure(begin, end, text[begin:end], sign * value if move else value, unit, kind,
                            change=move, op=op, approx=approx, field=field, per_share=per_share))
    for limit in LIMIT.finditer(plain):
        cm = limit.group("cm")
        sign = -1 if limit.group("word") == "跌停" else 1
        found.append(Figure(limit.start(), limit.end(), text[limit.start():limit.end()],
                            sign * (float(cm) if cm else 0.0), "%", "limit", change=True,
                            op=">=" if sign > 0 else "<="))
    for doubled in DOUBLING.finditer(plain):
        found.append(Figure(doubled.start(), doubled.end(), text[doubled.start():doubled.end()], 2.0, "x",
                            "multiple", op=">=" if plain[doubled.end():doubled.end() + 1] in "多余餘" else "~"))
    return sorted(found, key=lambda f: f.start)
