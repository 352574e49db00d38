"""Loading the narratives: themes.toml and one TOML file per article, validated in full.

Every problem is reported as `file:line: claim <id>: what is wrong`, all of them at once, so an author can
fix a file in one pass; nothing half-loaded is ever returned.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from tui.core.dates import RANGE, day_in_range
from tui.core.model import OPS, Article, Claim, ClaimKind, Rule, SeriesId, TapecheckError, Theme
from tui.core.printable import is_printable
from tui.core.rules.ast import parse
from tui.core.rules.typecheck import typecheck
from tui.core.rules.units import Unit
from tui.core.tomlfile import TomlFile, read_toml

NARRATIVES_DIR = Path(__file__).parent / "narratives"
THEMES_FILE = "themes.toml"

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_THEME_ID = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")
_ARTICLE_KEYS = {"id", "seed", "piece", "outlet", "author", "title", "title_en", "title_inferred",
                 "published", "published_inferred", "note"}
_CLAIM_KEYS = {"id", "theme", "as_of", "as_of_inferred", "kind", "summary", "summary_zh", "figure", "note",
               "value", "unit", "rule", "quote", "paragraph", "origin", "error"}
ORIGINS = ("article", "derived")
_RULE_KEYS = {"expr", "op", "value", "unit", "tolerance_pct"}


class NarrativeError(TapecheckError):
    """One or more problems in the claim files, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Narratives:
    """Everything the articles say: themes in panel order, articles by id, claims in file order."""

    themes: tuple[Theme, ...]
    articles: dict[str, Article]
    claims: tuple[Claim, ...]

    def claim(self, claim_id: str) -> Claim:
        return next(c for c in self.claims if c.id == claim_id)


class _Problems:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.lines.append(f"{where}: {message}")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: Any) -> bool:
    """A non-empty string with no control character: it is shown on a terminal as it stands."""
    return isinstance(value, str) and bool(value.strip()) and is_printable(value)


def load_themes(path: Path, problems: _Problems) -> tuple[Theme, ...]:
    try:
        doc = read_toml(path)
    except TapecheckError as error:
        problems.lines.append(str(error))
        return ()
    themes: list[Theme] = []
    entries = doc.data.get("themes")
    if not isinstance(entries, list) or not entries:
        problems.add(str(path), "needs one or more [[themes]] tables")
        return ()
    for index, entry in enumerate(entries):
        where = doc.where("themes", index)
        if not isinstance(entry, dict):
            problems.add(where, "each [[themes]] entry must be a table")
            continue
        theme_id, watch = entry.get("id"), entry.get("watch", [])
        if not isinstance(theme_id, str) or not _THEME_ID.match(theme_id):
            problems.add(where, f"theme id {theme_id!r} must be lower_case_with_underscores")
            continue
        if not _text(entry.get("title")) or not _text(entry.get("title_zh")):
            problems.add(where, f"theme {theme_id}: needs title and title_zh")
            continue
        if not isinstance(watch, list) or not all(isinstance(s, str) for s in watch):
            problems.add(doc.where("themes", index, "watch"), f"theme {theme_id}: watch must be a list of series ids")
            continue
        for series in watch:
            try:
                SeriesId.parse(series)
            except TapecheckError as error:
                problems.add(doc.where("themes", index, "watch"), f"theme {theme_id}: {error}")
        if any(t.id == theme_id for t in themes):
            problems.add(where, f"theme {theme_id} is defined twice")
        themes.append(Theme(theme_id, entry["title"], entry["title_zh"], tuple(watch)))
    return tuple(themes)


def _load_article(doc: TomlFile, problems: _Problems) -> Article | None:
    entry = doc.data.get("article")
    if not isinstance(entry, dict):
        problems.add(str(doc.path), "needs an [article] table")
        return None
    where = doc.where("article")
    before = len(problems.lines)
    for key in sorted(set(entry) - _ARTICLE_KEYS):
        problems.add(doc.where("article", key), f"article: unknown key {key!r}")
    for key in ("id", "seed", "outlet", "title", "title_en"):
        if not _text(entry.get(key)):
            problems.add(where, f"article: needs {key} (a non-empty string, no control characters)")
    published = entry.get("published")
    if not isinstance(published, date) or isinstance(published, datetime) or not day_in_range(published):
        problems.add(doc.where("article", "published"),
                     f"article: published must be a date in the years {RANGE}, e.g. 2025-12-13")
    piece = entry.get("piece", 1)
    if not isinstance(piece, int) or isinstance(piece, bool) or piece < 1:
        problems.add(doc.where("article", "piece"), "article: piece must be a whole number from 1")
    if isinstance(entry.get("id"), str) and not _SLUG.match(entry["id"]):
        problems.add(doc.where("article", "id"), f"article id {entry['id']!r} must be a lower-case slug")
    if len(problems.lines) > before:
        return None
    return Article(
        id=entry["id"], seed=entry["seed"], piece=piece, outlet=entry["outlet"], title=entry["title"],
        title_en=entry["title_en"], published=entry["published"],
        published_inferred=bool(entry.get("published_inferred", False)),
        title_inferred=bool(entry.get("title_inferred", False)), author=entry.get("author"),
        note=entry.get("note"), file=doc.path.name,
    )


def _load_rule(doc: TomlFile, index: int, claim_id: str, entry: Any, problems: _Problems) -> Rule | None:
    def bad(key: str, message: str) -> None:
        problems.add(doc.where("claims", index, "rule", key), f"claim {claim_id}: {message}")

    if not isinstance(entry, dict):
        bad("", "a check claim needs a [claims.rule] table with expr, op, value, unit, tolerance_pct")
        return None
    before = len(problems.lines)
    for key in sorted(set(entry) - _RULE_KEYS):
        bad(key, f"rule: unknown key {key!r}")
    for key in sorted(_RULE_KEYS - set(entry)):
        bad("", f"rule: needs {key}")
    if len(problems.lines) > before:
        return None
    return build_rule(entry["expr"], entry["op"], entry["value"], entry["unit"], entry["tolerance_pct"], bad)


def build_rule(expr: Any, op: Any, value: Any, unit_text: Any, tolerance: Any, bad: Callable[[str, str], None],
               ops: tuple[str, ...] = OPS) -> Rule | None:
    """A rule from its parts, or None after telling `bad(key, message)` each thing wrong with them: the parser,
    the units and the bounds, as claim files and alert rules in the config share them."""
    problems = 0

    def said(key: str, message: str) -> None:
        nonlocal problems
        problems += 1
        bad(key, message)

    if not isinstance(expr, str):
        said("expr", "rule: expr must be a string")
        return None
    if op not in ops:
        said("op", f"rule: op {op!r} is not one of {' '.join(ops)}")
    if isinstance(value, date) and unit_text == "date":  # first_date() is compared with a day
        value = value.toordinal()
        if tolerance != 0:
            said("tolerance_pct", "rule: a rule in unit date needs tolerance_pct = 0 (percent of a date)")
    elif unit_text == "date":
        said("value", "rule: a rule in unit date needs a date value, e.g. 2025-12-01")
    elif not _number(value):
        said("value", "rule: value must be a finite number")
    if not _number(tolerance) or tolerance < 0:
        said("tolerance_pct", "rule: tolerance_pct must be a number ≥ 0")
    elif op == "~" and tolerance == 0 and "~" in ops:
        said("tolerance_pct", "rule: op '~' needs a tolerance_pct above 0")
    try:
        unit = Unit.of(unit_text) if isinstance(unit_text, str) else None
        if unit is None:
            said("unit", "rule: unit must be a string")
    except TapecheckError as error:
        said("unit", f"rule: {error}")
        unit = None
    try:
        ast = parse(expr)
        expr_unit, series = typecheck(ast)
    except TapecheckError as error:
        said("expr", f"rule: {error}")
        return None
    if unit is not None and expr_unit != unit:
        said("expr", f"rule: the expression is in {expr_unit} but unit says {unit} (convert with fx(PAIR))")
    if problems:
        return None
    return Rule(expr, ast, op, float(value), str(unit), float(tolerance), series)


def _load_claim(doc: TomlFile, index: int, entry: Any, article: Article,
                theme_ids: set[str], problems: _Problems) -> Claim | None:
    where = doc.where("claims", index)
    if not isinstance(entry, dict):
        problems.add(where, "each [[claims]] entry must be a table")
        return None
    claim_id = entry.get("id")
    if not isinstance(claim_id, str) or not _SLUG.match(claim_id):
        problems.add(doc.where("claims", index, "id"), f"claim id {claim_id!r} must be a lower-case slug")
        return None
    before = len(problems.lines)

    def bad(key: str, message: str) -> None:
        problems.add(doc.where("claims", index, key), f"claim {claim_id}: {message}")

    for key in sorted(set(entry) - _CLAIM_KEYS):
        bad(key, f"unknown key {key!r}")
    if entry.get("theme") not in theme_ids:
        bad("theme", f"theme {entry.get('theme')!r} is not one of {', '.join(sorted(theme_ids))}")
    if not isinstance(entry.get("as_of"), date):
        bad("as_of", "as_of must be a date, e.g. 2025-12-12")
    elif isinstance(entry["as_of"], datetime) or not day_in_range(entry["as_of"]):
        bad("as_of", f"as_of must be a date (no time) in the years {RANGE}, not {entry['as_of']}")
    for key in ("summary", "summary_zh"):
        if not _text(entry.get(key)):
            bad(key, f"needs {key} (a non-empty string, no control characters)")
    if "quote" in entry and not _text(entry["quote"]):
        bad("quote", "quote must be the article's sentence(s), a non-empty string")
    paragraph = entry.get("paragraph")
    if paragraph is not None and (not isinstance(paragraph, int) or isinstance(paragraph, bool) or paragraph < 1):
        bad("paragraph", "paragraph must be a whole number from 1")
    if entry.get("origin", "article") not in ORIGINS:
        bad("origin", f"origin {entry.get('origin')!r} must be \"article\" or \"derived\"")
    if "error" in entry and not _text(entry["error"]):
        bad("error", "error must say what the article got wrong, a non-empty string")
    kind = entry.get("kind")
    rule = None
    if kind == "check":
        rule = _load_rule(doc, index, claim_id, entry.get("rule"), problems)
    elif kind == "context":
        if "rule" in entry:
            bad("rule", "a context claim has no rule (make it kind = \"check\")")
        if "value" in entry and not _number(entry["value"]):
            bad("value", "value must be a finite number")
        if "unit" in entry and not _text(entry["unit"]):
            bad("unit", "unit must be a string")
    else:
        bad("kind", f"kind {kind!r} must be \"check\" or \"context\"")
    if len(problems.lines) > before:
        return None
    return Claim(
        id=claim_id, theme=entry["theme"], article=article.id, as_of=entry["as_of"],
        summary=entry["summary"], summary_zh=entry["summary_zh"], kind=ClaimKind(str(kind)), rule=rule,
        as_of_inferred=bool(entry.get("as_of_inferred", False)), figure=entry.get("figure"),
        note=entry.get("note"), value=float(entry["value"]) if "value" in entry else None,
        unit=entry.get("unit"), file=doc.path.name, line=doc.line("claims", index),
        quote=entry.get("quote"), paragraph=paragraph, origin=entry.get("origin", "article"),
        error=entry.get("error"),
    )


def load_narratives(directory: Path = NARRATIVES_DIR) -> Narratives:
    """Read and validate every narrative file in `directory`, or raise NarrativeError listing each problem."""
    problems = _Problems()
    themes = load_themes(directory / THEMES_FILE, problems)
    theme_ids = {t.id for t in themes}
    articles: dict[str, Article] = {}
    claims: list[Claim] = []
    seen: dict[str, str] = {}
    files = sorted(p for p in directory.glob("*.toml") if p.name != THEMES_FILE)
    if not files:
        problems.add(str(directory), "no article files (*.toml)")
    for path in files:
        try:
            doc = read_toml(path)
        except TapecheckError as error:
            problems.lines.append(str(error))
            continue
        article = _load_article(doc, problems)
        if article is None:
            continue
        if article.id in articles:
            problems.add(doc.where("article", "id"), f"article id {article.id} is also in "
                                                     f"{articles[article.id].file}")
        articles[article.id] = article
        entries = doc.data.get("claims", [])
        if not isinstance(entries, list):
            problems.add(str(path), "claims must be an array of [[claims]] tables")
            continue
        for index, entry in enumerate(entries):
            claim = _load_claim(doc, index, entry, article, theme_ids, problems)
            if claim is None:
                continue
            if claim.id in seen:
                problems.add(doc.where("claims", index, "id"), f"claim {claim.id} is also in {seen[claim.id]}")
                continue
            seen[claim.id] = f"{path.name}:{claim.line}"
            claims.append(claim)
    if problems.lines:
        raise NarrativeError(problems.lines)
    return Narratives(themes, articles, tuple(claims))
