"""Lining up figures, entities and dates into draft claims: a proposed rule where an entity, a series and a
figure agree, otherwise a context claim that keeps the figure. Every claim carries its sentence verbatim.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, timedelta

from tui.core.model import LISTING_CURRENCY
from tui.core.narratives.draft.dates import DateMention, Duration, find_dates, find_durations, previous_weekday
from tui.core.narratives.draft.entities import EntityFinder, Mention
from tui.core.narratives.draft.figures import DOUBLING, Figure, find_coefficient, find_figures
from tui.core.narratives.draft.segment import Sentence
from tui.core.narratives.rules.typecheck import FIAT, STABLECOINS

MARKET_CAP = re.compile(r"市值|总市值|總市值|\bmarket (?:cap|value|capitali[sz]ation)\b", re.IGNORECASE)
PRICE = re.compile(r"股价|股價|价格|價格|币价|幣價|收盘价|收盤價|报价|報價|收报|收報"
                   r"|\b(?:price|shares?|stock|closed at|trad(?:ed|ing) at)\b", re.IGNORECASE)
WORTH = re.compile(r"价值|價值|市值|折合|worth|valued", re.IGNORECASE)
CONVERTED = re.compile(r"约合|約合|折合|合计?|相当于|相當於|换算|換算|≈|\b(?:or|about)\b")
PRONOUN = re.compile(r"该股|該股|该公司|該公司|前者|公司股价|公司股價|其股价|其股價|"
                     r"\b(?:the stock|its shares|the company's shares|its stock)\b", re.IGNORECASE)
INTRADAY = re.compile(r"盘中|盤中|一度|\bintraday\b", re.IGNORECASE)
DOUBLED = re.compile(r"翻了?$")
# "the price six times its IPO price": against a price no series holds, so no rule (never a one-day change)
AGAINST_ISSUE_PRICE = re.compile(r"[发發](?:\([^)]{1,8}\))?行[价價]|IPO price|issue price|listing price",
                                 re.IGNORECASE)  # a pasted page may gloss a character: 發(fā)行價
YEAR_TO_DATE = re.compile(r"今年以来|今年以來|开年以来|開年以來|年初以来|年初以來|年初至今|年内|年內"
                          r"|\b(?:this year|year to date|so far this year)\b",
                          re.IGNORECASE)
RANGE_WORD = re.compile(r"^\s*(?:收盘|收盤|close)?\s*(?:至|到|-|–|~|to|until|through)\s*$", re.IGNORECASE)
_LIST_GAP = re.compile(r"^\s*(?:[、,，&]|和|与|與|及|以及|and|, and)\s*$")
_PAREN = re.compile(r"[(（][^()（）]{0,24}[)）]|[“”\"'‘’]")
# What a figure next to a company may measure other than its price or market value.
OTHER_METRIC = re.compile(
    r"营收|營收|收入|利润|利潤|净利|淨利|盈利|现金流|現金流|销量|銷量|销售|銷售|出货|出貨|订单|訂單|合同|合約|投资|投資|"
    r"融资|融資|估值|份额|份額|持股|股权|股權|占比|佔比|比例|毛利|市盈率|市占|市佔|发行价|發行價|产能|產能|"
    r"\b(?:revenue|sales|profit|earnings|income|cash flow|stake|share of|margin|orders?|deal|contract|"
    r"investment|valuation|issue price|IPO price)\b", re.IGNORECASE)
NO_DATE = "No date in the sentence: as_of is the article's date."
GUESSED_SINCE = "Nothing says when the move began: it is measured over one day; change `since` if need be."
AFTER = 4  # characters: how far after a figure a name may stand and still be what it is about
MAX_PRICE = 1e7  # an amount next to a coin above this is a holding or a deal, not a price


MOST_OF = re.compile(r"大部分|大多数|大多數|多数时间|多數時間|\bmost of\b", re.IGNORECASE)
CORR_DAYS = 30  # the window of daily returns a drafted correlation is read over: ours, no article gives one
CORR_NOTE = (f"The window ({CORR_DAYS} daily returns) is ours: the article gives none. ")


@dataclass(frozen=True, slots=True)
class ProposedRule:
    expr: str
    op: str
    value: float
    unit: str
    tolerance_pct: float
    reading_note: str = ""  # when the rule's window or threshold is ours, what we chose (reading = "ours")


@dataclass(frozen=True, slots=True)
class DraftClaim:
    """A claim as drafted: the sentence, the figure it is about, the entity and rule where they line up."""

    quote: str
    paragraph: int
    figure: Figure
    as_of: date
    as_of_inferred: bool
    entity: Mention | None = None
    rule: ProposedRule | None = None
    note: str = ""
    partner: Figure | None = None  # the second figure of a pair: 49亿美元 (约合人民币345亿元), 11509枚 (价值10亿美元)
    other: Mention | None = None  # the second asset of a correlation


@dataclass(frozen=True, slots=True)
class Window:
    """When a figure stands: its as_of day, and the close a move is measured from."""

    as_of: date
    since: date
    inferred: bool
    note: str = ""
    exact: bool = False  # the figure's date is a day, not a month or a year
    since_guessed: bool = False  # nothing says where a move starts: we took the day before as_of


def literal(value: float) -> str:
    """A number as a rule or TOML writes it: 383e9, 1.5e12, 99.44, -30."""
    if value == int(value) and abs(value) >= 1e6:
        exponent = 3 * ((len(str(int(abs(value)))) - 1) // 3)
        return f"{value / 10 ** exponent:.10g}e{exponent}"
    return f"{int(value)}" if value == int(value) else f"{value:.10g}"


def convert(expr: str, unit: str, wanted: str) -> str | None:
    """`expr` in `unit` turned into `wanted` with fx(); None when no rate is read between the two."""
    if unit == wanted:
        return expr
    known = FIAT | STABLECOINS
    return f"{expr} * fx({unit}{wanted})" if unit in known and wanted in known else None


def _tolerance(figure: Figure, op: str) -> float:
    if figure.kind == "limit":
        return 1.0  # a limit move is rounded to the fen: 9.98% is a 10% limit-up
    if op != "~":
        return 0.0
    return 10.0 if figure.approx else 5.0 if figure.change else 2.0


class Proposer:
    """Drafts the claims of one article, sentence by sentence, carrying dates from sentence to sentence."""

    def __init__(self, finder: EntityFinder, anchor: date) -> None:
        self.finder = finder
        self.anchor = anchor

    def claims(self, sentences: list[Sentence]) -> list[DraftClaim]:
        drafted: list[DraftClaim] = []
        paragraph, carried, named = 0, None, None  # within a paragraph: its last date and last company named
        for sentence in sentences:
            if sentence.paragraph != paragraph:
                paragraph, carried, named = sentence.paragraph, None, None
            dates = find_dates(sentence.text)
            mentions = self.resolve_pronouns(sentence.text, self.finder.find(sentence.text), named)
            drafted += self.sentence(sentence, dates, mentions, carried)
            if stands := [d for d in dates if not d.since]:
                carried = stands[-1]
            named = next((m for m in reversed(mentions) if m.entity.kind == "equity"), named)
        return drafted

    @staticmethod
    def resolve_pronouns(text: str, mentions: list[Mention], named: Mention | None) -> list[Mention]:
        """Mentions with 该股 / 前者 / the stock standing for the company named last before them."""
        found = list(mentions)
        for pronoun in PRONOUN.finditer(text):
            before = [m for m in mentions if m.end <= pronoun.start() and m.entity.kind == "equity"]
            antecedent = before[-1] if before else named
            if antecedent is not None:
                found.append(Mention(pronoun.start(), pronoun.end(), antecedent.name, antecedent.entity))
        return sorted(found, key=lambda m: m.start)

    def sentence(self, sentence: Sentence, dates: list[DateMention], mentions: list[Mention],
                 carried: DateMention | None) -> list[DraftClaim]:
        text = sentence.text
        figures = find_figures(text, dates)
        done: set[int] = set()
        drafted = []
        if correlated := self.correlation(sentence, dates, mentions, carried):
            drafted.append(correlated)
        for index, figure in enumerate(figures):
            if index in done:
                continue
            window = self.window(text, figure, dates, carried)
            partner = figures[index + 1] if index + 1 < len(figures) else None
            claim = DraftClaim(text, sentence.paragraph, figure, window.as_of, window.inferred, note=window.note)
            if partner is not None and (paired := self.pair(text, figure, partner, mentions, claim)):
                done.add(index + 1)
                drafted.append(paired)
                continue
            targets = self.targets(text, figure, mentions)
            proposals = [(m, self.rule(text, figure, m, window, targets[-1])) for m in targets]
            ruled: list[tuple[Mention | None, ProposedRule]] = [(m, r) for m, r in proposals if r is not None]
            if not ruled and figure.kind == "hashrate":
                ruled = [(None, ProposedRule("last(network:bitcoin:hashrate)", figure.op, figure.value, "H/s",
                                             _tolerance(figure, figure.op)))]
            if not ruled:
                if figure.kind != "limit" or targets:
                    drafted.append(DraftClaim(text, sentence.paragraph, figure, window.as_of, window.inferred,
                                              targets[0] if targets else None, note=window.note))
                continue
            drafted += [DraftClaim(text, sentence.paragraph, figure, window.as_of, window.inferred, m, r,
                                   note=_note(window, r)) for m, r in ruled]
        return drafted

    def correlation(self, sentence: Sentence, dates: list[DateMention], mentions: list[Mention],
                    carried: DateMention | None) -> DraftClaim | None:
        """A correlation coefficient between two named assets: corr() of their daily returns against it, over a
        window of ours; held over a period ("most of 2025") as the share of days it held, more than half."""
        text = sentence.text
        figure = find_coefficient(text, dates)
        named = list(dict.fromkeys(m.entity for m in mentions if m.start < (figure.start if figure else 0)))
        if figure is None or len(named) < 2:
            return None
        a, b = named[-2], named[-1]
        window = self.window(text, figure, dates, carried)
        op = coefficient_op(figure)
        corr = f"corr({a.price_series}, {b.price_series}, days={CORR_DAYS})"
        if MOST_OF.search(text) and window.since < window.as_of:
            since = window.since + timedelta(days=1)  # the period's own days, not the close before it
            rule = ProposedRule(f"share({corr} {op} {literal(figure.value)}, since={since}, "
                                f"until={window.as_of})", ">", 50.0, "%", 0.0,
                                CORR_NOTE + "'Most of the time' is read as more than half of the trading days.")
        else:
            rule = ProposedRule(corr, op, figure.value, "ratio", _tolerance(figure, op), CORR_NOTE.strip())
        first, second = (next(m for m in mentions if m.entity == e) for e in (a, b))
        return DraftClaim(text, sentence.paragraph, figure, window.as_of, window.inferred, first, rule,
                          note=window.note, other=second)

    def window(self, text: str, figure: Figure, dates: list[DateMention], carried: DateMention | None) -> Window:
        before = [d for d in dates if d.end <= figure.start and not d.since]
        after = [d for d in dates if d.start >= figure.end and not d.since]
        mention = before[-1] if before else after[0] if after else carried  # fell below $100,000 on Nov 5
        if mention is None or (as_of := mention.resolve(self.anchor)) is None:
            as_of = self.anchor
            if span := _stretch(text, figure):
                return Window(as_of, span.before(as_of), True, NO_DATE)
            return Window(as_of, previous_weekday(as_of), True, NO_DATE, since_guessed=True)
        inferred = mention is carried or (mention.year is None and mention.relative_year is None)
        if as_of > self.anchor and not mention.exact:
            as_of = self.anchor  # 2026年 in an article of January 2026: as of the article, not December
        since = mention.first(self.anchor) or previous_weekday(as_of)
        if len(before) >= 2 and before[-2].exact and mention.exact and RANGE_WORD.match(
                _PAREN.sub("", text[before[-2].end:mention.start])):
            since = before[-2].resolve(self.anchor) or since  # 2025年11月24日收盘至1月23日收盘
        elif YEAR_TO_DATE.search(text[:figure.start]):
            since = date(as_of.year - 1, 12, 31)
        elif starts := [d for d in dates if d.since and d.end <= figure.start]:
            since = starts[-1].first(self.anchor) or since  # 自2024年底以来上涨
        elif span := _stretch(text, figure):
            since = span.before(as_of)  # 近2个月, doubled over the past six months
        if since >= as_of:  # 明年3月 in an article of January: a move cannot start after it is reported
            since = previous_weekday(as_of)
        return Window(as_of, since, inferred, exact=mention.exact)

    def targets(self, text: str, figure: Figure, mentions: list[Mention]) -> list[Mention]:
        """The entity nearest the figure (before it counts double), with those listed with it for a move."""
        # A name after the figure is its subject only right after it (4.42万亿美元的市值 ... no; 30%的英伟达 ...).
        mentions_near = [m for m in mentions if m.end <= figure.start or (
            m.start - figure.end <= AFTER and not re.search(r"[,，。;；、:：]", text[figure.end:m.start]))]
        if not mentions_near:
            return []
        nearest = min(mentions_near, key=lambda m: figure.start - m.end if m.end <= figure.start
                      else 2 * (m.start - figure.end) + 10)
        group = [nearest]
        if figure.change and nearest.end <= figure.start:
            at = mentions.index(nearest)
            while at > 0 and _LIST_GAP.match(_PAREN.sub("", text[mentions[at - 1].end:mentions[at].start])):
                at -= 1
                group.insert(0, mentions[at])
        return group

    def pair(self, text: str, first: Figure, second: Figure, mentions: list[Mention],
             claim: DraftClaim) -> DraftClaim | None:
        """A figure that pairs with the next: a conversion between currencies, or a holding and its worth."""
        between = text[first.end:second.start]
        if first.kind == second.kind == "amount" and first.unit != second.unit and len(between) <= 10 \
                and CONVERTED.search(between) and (expr := convert(f"{literal(first.value)} {first.unit}",
                                                                   first.unit, second.unit)):
            rule = ProposedRule(expr, "~", second.value, second.unit, 3.0)
            return DraftClaim(claim.quote, claim.paragraph, first, claim.as_of, claim.as_of_inferred, None, rule,
                              "The article's conversion, held against the exchange rate.", second)
        if first.kind in ("coins", "shares") and second.kind == "amount" and len(between) <= 24 \
                and WORTH.search(between):
            kind = "crypto" if first.kind == "coins" else "equity"
            near = [m for m in mentions if m.entity.kind == kind and m.end <= second.start]
            if not near:
                return None
            mention = min(near, key=lambda m: abs(first.start - m.end))
            entity = mention.entity
            quote_unit = entity.symbol.partition("/")[2] if kind == "crypto" else _listing(entity.symbol)
            expr = convert(f"{literal(first.value)} * last({entity.price_series})", quote_unit, second.unit)
            if expr is None:
                return None
            op = second.op if second.op != "~" else "~"
            rule = ProposedRule(expr, op, second.value, second.unit, _tolerance(second, op))
            return DraftClaim(claim.quote, claim.paragraph, first, claim.as_of, claim.as_of_inferred, mention, rule,
                              "A holding held against its stated worth at today's price.", second)
        return None

    def rule(self, text: str, figure: Figure, mention: Mention, window: Window,
             nearest: Mention) -> ProposedRule | None:
        """The rule for `figure` about `mention`'s entity; `nearest` is the one written next to the figure."""
        entity = mention.entity
        span = text[min(nearest.end, figure.start):figure.start] if nearest.end <= figure.start \
            else text[figure.end:nearest.start]
        if entity.kind == "equity" and OTHER_METRIC.search(span + text[figure.end:figure.end + 6]):
            return None  # 营收增长60%, 持股7%: a figure about the company, not about its price
        around = text[max(0, nearest.start - 12):nearest.start] + span + text[figure.end:figure.end + 4]
        since, until = window.since.isoformat(), window.as_of.isoformat()
        op, tolerance = figure.op, _tolerance(figure, figure.op)
        if figure.kind == "limit":
            if not entity.a_share:
                return None
            value = figure.value or math.copysign(_limit(entity.symbol, mention.name), figure.value)  # 跌停: -0.0
            return ProposedRule(f"change({entity.price_series}, since={since}, until={until})", op, value, "%",
                                tolerance)
        if figure.kind == "multiple" and AGAINST_ISSUE_PRICE.search(text[max(0, figure.start - 24):figure.start]):
            return None
        if figure.kind == "multiple" and (DOUBLED.search(text[:figure.start]) or DOUBLING.fullmatch(figure.text)):
            value = (figure.value - 1) * 100  # 翻了3倍: read as three times the price, +200%
            return ProposedRule(f"change({entity.price_series}, since={since}, until={until})",
                                ">=" if op == "~" else op, value, "%", 0.0)
        if figure.kind == "percent" and figure.change:
            if INTRADAY.search(text[:figure.start]) and window.exact and entity.kind != "index":
                extreme = "high" if figure.value > 0 else "low"  # 盘中涨超7%: the day's high on the last close
                expr = (f"pct(at({entity.kind}:{entity.symbol}:{extreme}, {until}), "
                        f"at({entity.price_series}, {since}))")
                return ProposedRule(expr, op, figure.value, "%", tolerance)
            return ProposedRule(f"change({entity.price_series}, since={since}, until={until})", op, figure.value,
                                "%", tolerance)
        if figure.kind == "points" and entity.kind == "index":
            return ProposedRule(f"last({entity.price_series})", op, figure.value, "pts", tolerance)
        if figure.kind != "amount":
            return None
        if entity.kind == "equity" and MARKET_CAP.search(around):
            cap = f"{entity.kind}:{entity.symbol}:market_cap"
            expr = f"at({cap}, {until}) - at({cap}, {since})" if figure.change else f"last({cap})"
            converted = convert(expr if not figure.change else f"({expr})", _listing(entity.symbol), figure.unit)
            return ProposedRule(converted, op, figure.value, figure.unit, tolerance) if converted else None
        if figure.change:
            return None
        if entity.kind == "equity" and figure.value < MAX_PRICE and (figure.per_share or PRICE.search(around)):
            if figure.field and window.exact:
                expr = f"at({entity.kind}:{entity.symbol}:{figure.field}, {until})"
            else:
                expr = f"last({entity.price_series})"
            converted = convert(expr, _listing(entity.symbol), figure.unit)
            return ProposedRule(converted, op, figure.value, figure.unit, tolerance) if converted else None
        if entity.kind in ("crypto", "commodity") and figure.value < MAX_PRICE and not WORTH.search(span):
            quote = entity.symbol.partition("/")[2] if entity.kind == "crypto" else "USD"
            converted = convert(f"last({entity.price_series})", quote, figure.unit)
            return ProposedRule(converted, op, figure.value, figure.unit, tolerance) if converted else None
        return None


def coefficient_op(figure: Figure) -> str:
    """How a correlation is held against its coefficient: as the words say ("about 0.6": within 10%); "stays at
    0.5", with no word of direction, read as at least."""
    return figure.op if figure.op != "~" or figure.approx else ">="


def _stretch(text: str, figure: Figure) -> Duration | None:
    """The stretch of time a move is over: the last one named before the figure, else the first after it."""
    spans = find_durations(text)
    before = [d for d in spans if d.end <= figure.start]
    return before[-1] if before else next((d for d in spans if d.start >= figure.end), None)


def _note(window: Window, rule: ProposedRule) -> str:
    moved = "since=" in rule.expr or rule.expr.count("at(") == 2
    return " ".join(n for n in (window.note, GUESSED_SINCE if moved and window.since_guessed else "") if n)


def _listing(symbol: str) -> str:
    return next((c for suffix, c in LISTING_CURRENCY.items() if symbol.endswith(suffix)), "USD")


def _limit(symbol: str, name: str) -> float:
    """The daily limit of an A-share: 20% on the STAR Market and ChiNext, 5% for ST shares, else 10%."""
    if "ST" in name:
        return 5.0
    return 20.0 if symbol.startswith(("688", "689", "300", "301")) else 10.0

