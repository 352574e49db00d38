"""Entities: the companies, coins, indices and commodities an article names, and the series each is read from.

Names come from three places, later ones adding to earlier: the alias table shipped beside this module
(aliases.toml), the user's own alias file, and names an article declares with a code, 钧达股份(SZ:002865) or
Nvidia (NASDAQ: NVDA), both in the shipped narratives' quotes and in the article being drafted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tui.core.model import SeriesId, TapecheckError
from tui.core.printable import is_printable
from tui.core.tomlfile import read_toml

SHIPPED_ALIASES = Path(__file__).parent / "aliases.toml"
KINDS = ("equity", "crypto", "index", "commodity")
# How articles name a listing → Yahoo's suffix ("" for a US ticker).
_MARKETS = {"SH": ".SS", "SS": ".SS", "SZ": ".SZ", "HK": ".HK", "港股": ".HK", "NASDAQ": "", "NYSE": "",
            "纳斯达克": "", "納斯達克": "", "纽交所": "", "紐交所": "", "美股": ""}
_DECLARED = re.compile(
    r"(?P<name>(?:\*?ST)?[\u4e00-\u9fff]{2,}|[A-Z][A-Za-z0-9&.\-]*(?: [A-Z][A-Za-z0-9&.\-]*){0,2})\s?[(（]\s?"
    r"(?:[^()（）]{0,12}?[,，、]\s?)?(?:(?:股票)?代[码碼]\s?[:：]\s?)?"
    r"(?:(?P<market>SH|SZ|HK|NASDAQ|Nasdaq|NYSE|纳斯达克|納斯達克|纽交所|紐交所|港股|美股)\s?[:：.]?\s?"
    r"(?P<code>\d{4,6}|[A-Z]{1,5})|(?P<code2>\d{4,6})(?:\.(?P<suffix>SH|SZ|SS|HK))?)\s?[)）]")


def _listing(market: str, code: str) -> str:
    """The Yahoo symbol of a code as an article writes it, or "" when the two do not fit together."""
    suffix = _MARKETS[market.upper() if market.isascii() else market]
    if suffix == ".HK":
        return f"{int(code):04d}.HK" if code.isdigit() and len(code) <= 5 else ""  # 00700 → 0700.HK
    if suffix:
        return f"{code}{suffix}" if code.isdigit() and len(code) == 6 else ""
    return code if code.isalpha() else ""


@dataclass(frozen=True, slots=True)
class Entity:
    """A named thing with a series: `kind` equity, crypto, index or commodity; `symbol` as in its series id."""

    kind: str
    symbol: str

    @property
    def price_series(self) -> str:
        return f"{self.kind}:{self.symbol}:last"

    @property
    def a_share(self) -> bool:
        return self.kind == "equity" and self.symbol.endswith((".SS", ".SZ"))


@dataclass(frozen=True, slots=True)
class Mention:
    start: int
    end: int
    name: str
    entity: Entity


def load_aliases(path: Path) -> dict[str, Entity]:
    """name → entity from an alias file, or TapecheckError naming the file and line of each problem."""
    doc = read_toml(path)
    names: dict[str, Entity] = {}
    problems = []
    for kind, table in doc.data.items():
        if kind not in KINDS or not isinstance(table, dict):
            problems.append(f"{doc.where(kind)}: [{kind}] is not one of [{'], ['.join(KINDS)}] (a table)")
            continue
        for symbol, listed in table.items():
            where = doc.where(kind, symbol)
            try:
                SeriesId.parse(f"{kind}:{symbol}:last")
            except TapecheckError as error:
                problems.append(f"{where}: {error}")
                continue
            if not isinstance(listed, list) or not listed or not all(
                    isinstance(n, str) and n.strip() and is_printable(n) for n in listed):
                problems.append(f"{where}: {kind}.{symbol} must be a list of names, e.g. [\"英伟达\", \"Nvidia\"]")
                continue
            for name in listed:
                names[name.strip()] = Entity(kind, symbol)
    if problems:
        raise TapecheckError("\n".join(problems))
    return names


def declared(text: str) -> dict[str, Entity]:
    """Names an article declares with a stock code: 钧达股份(SZ:002865) → 002865.SZ, Nvidia (NASDAQ: NVDA)."""
    names = {}
    for match in _DECLARED.finditer(text):
        name, code = match.group("name"), match.group("code") or match.group("code2")
        market = match.group("market") or match.group("suffix")
        if market is None and len(code) == 6:  # a bare A-share code: 6… Shanghai, 0… and 3… Shenzhen
            market = "SH" if code.startswith("6") else "SZ" if code[0] in "03" else None
        symbol = _listing(market, code) if market else ""
        if not symbol:
            continue
        special = next((p for p in ("*ST", "ST") if name.startswith(p)), "")
        chinese = name[len(special):]
        if "\u4e00" <= chinese[:1] <= "\u9fff":
            # A-share short names have at most four characters (龙头钧达股份 → 钧达股份), after any *ST
            name = special + chinese[-4:]
        names[name] = Entity("equity", symbol)
    return names


class EntityFinder:
    """Finds known names in a sentence, longest first; short Latin names (AMD, Meta) only in their own case."""

    def __init__(self, names: dict[str, Entity]) -> None:
        self.names = dict(names)
        self._by_lower = {name.lower(): entity for name, entity in self.names.items()}
        parts = []
        for name in sorted(self.names, key=len, reverse=True):
            escaped = re.escape(name)
            if name.isascii():
                case = "(?i:" if len(name) >= 5 else "(?:"
                parts.append(rf"(?<![A-Za-z0-9]){case}{escaped})(?![A-Za-z0-9])")
            else:
                parts.append(escaped)
        self._pattern = re.compile("|".join(parts)) if parts else None

    def with_names(self, extra: dict[str, Entity]) -> EntityFinder:
        return EntityFinder({**self.names, **extra})

    def find(self, text: str) -> list[Mention]:
        if self._pattern is None:
            return []
        return [Mention(m.start(), m.end(), m.group(), self.names.get(m.group()) or self._by_lower[m.group().lower()])
                for m in self._pattern.finditer(text)]


def known_names(user_aliases: Path | None, quotes: Iterable[str] = (), series: Iterable[str] = ()) -> dict[str, Entity]:
    """The shipped alias table; the US tickers of `series` and the names declared in `quotes` (both the shipped
    narratives'); then the user's own file, whose names win."""
    names = load_aliases(SHIPPED_ALIASES)
    for text in series:
        kind, symbol, _ = text.split(":")
        if kind == "equity" and symbol.isalpha() and symbol.isupper() and len(symbol) >= 2:
            names.setdefault(symbol, Entity("equity", symbol))  # NVDA, ORCL, CRWV as a US article writes them
    for quote in quotes:
        names.update(declared(quote))
    if user_aliases is not None:
        names.update(load_aliases(user_aliases))
    return names
