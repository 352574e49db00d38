"""Loading the narratives: themes.toml and one TOML file per article, validated in full.

Every problem is reported as `file:line: claim <id>: what is wrong`, all of them at once, so an author can
fix a file in one pass. The shipped files must be whole: a problem there raises NarrativeError. The user's own
files (`[narratives] dirs`) load through the same code with fewer required fields; a broken one is left out
(a claim with a problem, or the whole file when its TOML or its [article] is bad) and its problems are kept in
`Narratives.problems` for the caller to show, while the rest loads.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from tui.core.dates import RANGE, day_in_range
from tui.core.model import OPS, Article, Claim, ClaimKind, Rule, SeriesId, TapecheckError, Theme, is_slug
from tui.core.narratives.names import NAMES_FILE, CompanyName, load_names
from tui.core.narratives.rules.ast import parse
from tui.core.narratives.rules.typecheck import typecheck
from tui.core.narratives.rules.units import Unit
from tui.core.printable import is_printable
from tui.core.tomlfile import TomlFile, read_toml
from tui.core.userfile import parse_failure

NARRATIVES_DIR = Path(__file__).parent / "shipped"
THEMES_FILE = "themes.toml"

_THEME_ID = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")
_ARTICLE_KEYS = {"id", "seed", "piece", "outlet", "author", "title", "title_en", "title_inferred",
                 "published", "published_inferred", "note", "url", "inferred"}
_CLAIM_KEYS = {"id", "theme", "as_of", "as_of_inferred", "kind", "summary", "summary_zh", "figure", "note",
               "value", "unit", "rule", "quote", "paragraph", "origin", "error", "draft",
               "reading", "reading_note"}
# What a user's file must give; the shipped files must also give seed, title_en and summary_zh.
_USER_ARTICLE_REQUIRED = ("id", "outlet", "title")
_SHIPPED_ARTICLE_REQUIRED = ("id", "seed", "outlet", "title", "title_en")
NETWORKS = {"bitcoin"}  # network series: the hashrate source carries Bitcoin's alone
ORIGINS = ("article", "derived")
READINGS = ("article", "ours")  # whose reading a rule's threshold, window and period are
_RULE_KEYS = {"expr", "op", "value", "unit", "tolerance_pct"}
MAX_CLAIMS = 5000  # the user's claims a desk holds by default ([narratives] max_claims): past it, left out


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
    problems: tuple[str, ...] = ()  # the user's broken files, one line each (file:line: what is wrong)
    dirs: tuple[Path, ...] = ()  # the user's narrative dirs they were read from (for hot reload)
    names: dict[str, CompanyName] = field(default_factory=dict)  # company names by exchange code
    max_claims: int = MAX_CLAIMS  # the cap they were read under (for hot reload)

    def name(self, symbol: str, lang: str) -> str:
        """The company's name for an exchange code, in `lang`; empty when none is known."""
        known = self.names.get(symbol)
        return "" if known is None else known.in_lang(lang)

    def claim(self, claim_id: str) -> Claim:
        return next(c for c in self.claims if c.id == claim_id)


class _Problems:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.lines.append(f"{where}: {message}")


def _number(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) < 10**300  # a float holds it (math.isfinite would raise on 400 digits)
    return isinstance(value, float) and math.isfinite(value)


def _text(value: Any) -> bool:
    """A non-empty string (its characters are checked by `_unprintable`, for every field alike)."""
    return isinstance(value, str) and bool(value.strip())


def _unprintable(doc: TomlFile, problems: _Problems, label: str, path: tuple[str | int, ...], value: Any) -> int:
    """One problem for each string field under `value` holding a control or invisible format character
    (a terminal escape, a bidi override): every field of a user's file is shown on someone's terminal, so none
    may carry them. Returns how many were found."""
    found = 0
    todo: list[tuple[tuple[str | int, ...], Any]] = [(path, value)]
    while todo:
        where, item = todo.pop()
        if isinstance(item, str) and not is_printable(item):
            key = ".".join(str(p) for p in where[len(path):] if not isinstance(p, int)) or str(where[-1])
            problems.add(doc.where(*where), f"{label}{key} holds control or invisible characters (a terminal "
                                            "escape, a bidi override): write it as plain text")
            found += 1
        elif isinstance(item, dict):
            todo.extend(((*where, k), v) for k, v in reversed(list(item.items())))
        elif isinstance(item, list):
            todo.extend(((*where, i), v) for i, v in reversed(list(enumerate(item))))
    return found


def load_themes(path: Path, problems: _Problems) -> tuple[Theme, ...]:
    try:
        doc = read_toml(path)
    except TapecheckError as error:
        problems.lines.append(str(error))
        return ()
    if not isinstance(doc.data.get("themes"), list) or not doc.data["themes"]:
        problems.add(str(path), "needs one or more [[themes]] tables")
        return ()
    return themes_in(doc, problems)


def themes_in(doc: TomlFile, problems: _Problems) -> tuple[Theme, ...]:
    """The [[themes]] tables of a file, each checked."""
    themes: list[Theme] = []
    entries = doc.data.get("themes", [])
    if not isinstance(entries, list):
        problems.add(doc.where("themes"), "themes must be [[themes]] tables")
        return ()
    for index, entry in enumerate(entries):
        where = doc.where("themes", index)
        if not isinstance(entry, dict):
            problems.add(where, "each [[themes]] entry must be a table")
            continue
        if _unprintable(doc, problems, "theme: ", ("themes", index), entry):
            continue
        theme_id, watch = entry.get("id"), entry.get("watch", [])
        if not isinstance(theme_id, str) or not _THEME_ID.match(theme_id):
            problems.add(where, f"theme id {theme_id!r} must be lower_case_with_underscores")
            continue
        if not _text(entry.get("title")) or not _text(entry.get("title_zh", entry.get("title"))):
            problems.add(where, f"theme {theme_id}: needs a title (and title_zh, if given, a non-empty string)")
            continue
        if not isinstance(watch, list) or not all(isinstance(s, str) for s in watch):
            problems.add(doc.where("themes", index, "watch"), f"theme {theme_id}: watch must be a list of series ids")
            continue
        for series in watch:
            if problem := series_problem(series):
                problems.add(doc.where("themes", index, "watch"), f"theme {theme_id}: {problem}")
        if any(t.id == theme_id for t in themes):
            problems.add(where, f"theme {theme_id} is defined twice")
        themes.append(Theme(theme_id, entry["title"], str(entry.get("title_zh", entry["title"])), tuple(watch)))
    return tuple(themes)


def series_problem(series: str) -> str | None:
    """Why no source could poll `series` (a malformed id, a network we do not carry), or None."""
    try:
        parsed = SeriesId.parse(series)
    except TapecheckError as error:
        return str(error)
    if parsed.kind == "network" and parsed.symbol not in NETWORKS:
        return f"series {series}: no source carries network {parsed.symbol!r} (known: {', '.join(sorted(NETWORKS))})"
    return None


def _load_article(doc: TomlFile, problems: _Problems, user: bool = False) -> Article | None:
    entry = doc.data.get("article")
    if not isinstance(entry, dict):
        problems.add(str(doc.path), "needs an [article] table")
        return None
    where = doc.where("article")
    before = len(problems.lines)
    _unprintable(doc, problems, "article: ", ("article",), entry)
    for key in sorted(set(entry) - _ARTICLE_KEYS):
        problems.add(doc.where("article", key), f"article: unknown key {key!r}")
    for key in _USER_ARTICLE_REQUIRED if user else _SHIPPED_ARTICLE_REQUIRED:
        if not _text(entry.get(key)):
            problems.add(where, f"article: needs {key} (a non-empty string, no control characters)")
    for key in ("seed", "title_en", "author", "url") if user else ("author", "url"):
        if key in entry and not _text(entry[key]):
            problems.add(doc.where("article", key), f"article: {key} must be a non-empty string")
    published = entry.get("published")
    if not isinstance(published, date) or isinstance(published, datetime) or not day_in_range(published):
        problems.add(doc.where("article", "published"),
                     f"article: published must be a date in the years {RANGE}, e.g. 2025-12-13")
    piece = entry.get("piece", 1)
    if not isinstance(piece, int) or isinstance(piece, bool) or piece < 1:
        problems.add(doc.where("article", "piece"), "article: piece must be a whole number from 1")
    if isinstance(entry.get("id"), str) and not is_slug(entry["id"]):
        problems.add(doc.where("article", "id"), f"article id {entry['id']!r} must be a lower-case slug")
    inferred = entry.get("inferred", [])
    if not isinstance(inferred, list) or not all(isinstance(k, str) and k in _ARTICLE_KEYS for k in inferred):
        problems.add(doc.where("article", "inferred"), "article: inferred must list article keys we guessed, "
                                                       "e.g. [\"published\"]")
    if len(problems.lines) > before:
        return None
    return Article(
        id=entry["id"], seed=entry.get("seed", ""), piece=piece, outlet=entry["outlet"], title=entry["title"],
        title_en=str(entry.get("title_en", entry["title"])), published=entry["published"],
        published_inferred=bool(entry.get("published_inferred", False)),
        title_inferred=bool(entry.get("title_inferred", False)), author=entry.get("author"),
        note=entry.get("note"), file=str(doc.path) if user else doc.path.name, url=entry.get("url"), user=user,
        inferred=tuple(inferred),
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
    upper: float | None = None
    if op == "in" and unit_text == "date" and ops is OPS:  # a claimed month or year: a range of days
        span = claimed_span(value)
        if span is None:
            said("value", "rule: op 'in' needs a month or a year as a string, e.g. \"2025-12\" or \"2025\"")
        else:
            value, upper = span[0].toordinal(), float(span[1].toordinal())
        if tolerance != 0:
            said("tolerance_pct", "rule: a rule in unit date needs tolerance_pct = 0 (percent of a date)")
    elif op not in ops:
        said("op", f"rule: op {op!r} is not one of {' '.join(ops)}"
             + (" (or in, with a month or a year, for a date)" if ops is OPS else ""))
    if op == "in" and unit_text == "date" and ops is OPS:
        pass  # checked above
    elif isinstance(value, date) and unit_text == "date":  # first_date() is compared with a day
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
    for name in series:
        if problem := series_problem(name):
            bad("expr", f"rule: {problem}")
    if unit is not None and expr_unit != unit:
        said("expr", f"rule: the expression is in {expr_unit} but unit says {unit} (convert with fx(PAIR))")
    if problems:
        return None
    return Rule(expr, ast, op, float(value), str(unit), float(tolerance), series, upper)


def claimed_span(value: Any) -> tuple[date, date] | None:
    """The first and last day of a claimed month ("2025-12") or year ("2025"), or None for anything else."""
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"(\d{4})(?:-(\d{2}))?", value.strip())
    if match is None:
        return None
    year, month = int(match[1]), int(match[2]) if match[2] else None
    if not 1970 <= year <= 2100 or (month is not None and not 1 <= month <= 12):
        return None
    if month is None:
        return date(year, 1, 1), date(year, 12, 31)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, 1), following - timedelta(days=1)


def _load_claim(doc: TomlFile, index: int, entry: Any, article: Article,
                theme_ids: set[str], problems: _Problems) -> Claim | None:
    """One [[claims]] table; a user's file (article.user) may leave out summary_zh."""
    where = doc.where("claims", index)
    if not isinstance(entry, dict):
        problems.add(where, "each [[claims]] entry must be a table")
        return None
    claim_id = entry.get("id")
    if not is_slug(claim_id):
        problems.add(doc.where("claims", index, "id"), f"claim id {claim_id!r} must be a lower-case slug")
        return None
    before = len(problems.lines)

    def bad(key: str, message: str) -> None:
        problems.add(doc.where("claims", index, key), f"claim {claim_id}: {message}")

    for key in sorted(set(entry) - _CLAIM_KEYS):
        bad(key, f"unknown key {key!r}")
    _unprintable(doc, problems, f"claim {claim_id}: ", ("claims", index), entry)
    if entry.get("theme") not in theme_ids:
        bad("theme", f"theme {entry.get('theme')!r} is not one of {', '.join(sorted(theme_ids))}")
    if not isinstance(entry.get("as_of"), date):
        bad("as_of", "as_of must be a date, e.g. 2025-12-12")
    elif isinstance(entry["as_of"], datetime) or not day_in_range(entry["as_of"]):
        bad("as_of", f"as_of must be a date (no time) in the years {RANGE}, not {entry['as_of']}")
    for key in ("summary", "summary_zh"):
        if (key in entry or key == "summary" or not article.user) and not _text(entry.get(key)):
            bad(key, f"needs {key} (a non-empty string, no control characters)")
    if "quote" in entry and not _text(entry["quote"]):
        bad("quote", "quote must be the article's sentence(s), a non-empty string")
    paragraph = entry.get("paragraph")
    if paragraph is not None and (not isinstance(paragraph, int) or isinstance(paragraph, bool) or paragraph < 1):
        bad("paragraph", "paragraph must be a whole number from 1")
    if entry.get("origin", "article") not in ORIGINS:
        bad("origin", f"origin {entry.get('origin')!r} must be \"article\" or \"derived\"")
    _check_reading(entry, bad)
    if not isinstance(entry.get("draft", False), bool):
        bad("draft", "draft must be true or false")
    elif entry.get("draft") and entry.get("kind") != "check":
        bad("draft", "draft = true marks a proposed rule: only a check claim is a draft")
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
        summary=entry["summary"], summary_zh=str(entry.get("summary_zh", entry["summary"])), kind=ClaimKind(str(kind)),
        rule=rule, draft=entry.get("draft") is True, user=article.user,
        as_of_inferred=bool(entry.get("as_of_inferred", False)), figure=entry.get("figure"),
        note=entry.get("note"), value=float(entry["value"]) if "value" in entry else None,
        unit=entry.get("unit"), file=article.file, line=doc.line("claims", index),
        quote=entry.get("quote"), paragraph=paragraph, origin=entry.get("origin", "article"),
        error=entry.get("error"), reading=_reading(entry), reading_note=entry.get("reading_note"),
    )


def _reading(entry: dict[str, Any]) -> str:
    """A claim's reading: as given; else "ours" for a claim we derived, "article" for the article's own."""
    return str(entry.get("reading", "ours" if entry.get("origin") == "derived" else "article"))


def _check_reading(entry: dict[str, Any], bad: Callable[[str, str], None]) -> None:
    """`reading` ("article" or "ours") and `reading_note` (what we assumed) belong to a check claim's rule."""
    reading = entry.get("reading")
    if "reading" in entry and reading not in READINGS:
        bad("reading", f"reading {reading!r} must be \"article\" (the article's own words) or \"ours\" "
                       "(a threshold, window or period we chose)")
    elif reading == "article" and entry.get("origin") == "derived":
        bad("reading", "a claim we derived (origin = \"derived\") is our reading: reading = \"ours\"")
    if "reading_note" in entry and not _text(entry["reading_note"]):
        bad("reading_note", "reading_note must say what we assumed, a non-empty string")
    for key in ("reading", "reading_note"):
        if key in entry and entry.get("kind") == "context":
            bad(key, f"{key} is about a rule's reading: a context claim has no rule")


class _Loaded:
    """What has been loaded so far, for the next file to be checked against: themes, articles, claim ids."""

    def __init__(self) -> None:
        self.themes: list[Theme] = []
        self.articles: dict[str, Article] = {}
        self.claims: list[Claim] = []
        self.seen: dict[str, str] = {}  # claim id -> where it is
        self.names: dict[str, CompanyName] = {}  # company names by exchange code (the shipped names.toml)
        self.room: int | None = None  # how many more of the user's claims may load (None: no cap)
        self.over = 0  # the user's claims left out past the cap

    def add_themes(self, doc: TomlFile, problems: _Problems) -> None:
        for theme in themes_in(doc, problems):
            known = next((t for t in self.themes if t.id == theme.id), None)
            if known is None:
                self.themes.append(theme)
            elif known != theme:  # a file may repeat a theme to stay whole on its own, never change one
                problems.add(doc.where("themes"), f"theme {theme.id} is defined differently elsewhere (a shipped "
                                                  "theme, or another of your files): give yours another id")


def _load_file(path: Path, loaded: _Loaded, problems: _Problems, user: bool) -> None:
    """One article file into `loaded`: what has a problem is left out and said in `problems`. Whatever the file
    holds, an exception while it is checked leaves the whole file out, said in one line."""
    before = len(loaded.claims), dict(loaded.articles), dict(loaded.seen), list(loaded.themes), loaded.room
    try:
        _load_checked(path, loaded, problems, user)
    except Exception as error:  # RecursionError, OverflowError, ...: never past this file
        loaded.claims[before[0]:] = []
        loaded.articles, loaded.seen, loaded.themes, loaded.room = before[1], before[2], before[3], before[4]
        problems.add(str(path), f"left out: {parse_failure(error)}")


def _load_checked(path: Path, loaded: _Loaded, problems: _Problems, user: bool) -> None:
    try:
        doc = read_toml(path)
    except TapecheckError as error:
        problems.lines.append(str(error))
        return
    if user:
        loaded.add_themes(doc, problems)
    elif "themes" in doc.data:
        problems.add(doc.where("themes"), f"themes of the shipped files go in {THEMES_FILE}")
    article = _load_article(doc, problems, user)
    if article is None:
        return
    if article.id in loaded.articles:
        problems.add(doc.where("article", "id"), f"article id {article.id} is also in "
                                                 f"{loaded.articles[article.id].file}")
        return
    entries = doc.data.get("claims", [])
    if not isinstance(entries, list):
        problems.add(str(path), "claims must be an array of [[claims]] tables")
        return
    loaded.articles[article.id] = article
    theme_ids = {t.id for t in loaded.themes}
    for index, entry in enumerate(entries):
        if user and loaded.room is not None and loaded.room <= 0:
            loaded.over += len(entries) - index  # past the cap: not even checked, so the cost stays bounded
            break
        claim = _load_claim(doc, index, entry, article, theme_ids, problems)
        if claim is None:
            continue
        if claim.id in loaded.seen:
            problems.add(doc.where("claims", index, "id"), f"claim {claim.id} is also in {loaded.seen[claim.id]}")
            continue
        loaded.seen[claim.id] = f"{claim.file}:{claim.line}"
        loaded.claims.append(claim)
        if user and loaded.room is not None:
            loaded.room -= 1


def article_files(directory: Path) -> list[Path]:
    """A narrative dir's article files, in name order (themes.toml and names.toml are not)."""
    try:
        # not only regular files: a FIFO or a loop of links among them is named by read_toml, not passed over
        return sorted(p for p in directory.glob("*.toml") if p.name not in (THEMES_FILE, NAMES_FILE) and not p.is_dir())
    except OSError:
        return []


def _load_shipped(directory: Path) -> _Loaded:
    problems = _Problems()
    loaded = _Loaded()
    loaded.themes = list(load_themes(directory / THEMES_FILE, problems))
    loaded.names, trouble = load_names(directory / NAMES_FILE)
    problems.lines += trouble
    files = article_files(directory)
    if not files:
        problems.add(str(directory), "no article files (*.toml)")
    for path in files:
        _load_file(path, loaded, problems, user=False)
    if problems.lines:
        raise NarrativeError(problems.lines)
    return loaded


def load_narratives(directory: Path = NARRATIVES_DIR, user_dirs: tuple[Path, ...] = (),
                    max_claims: int = MAX_CLAIMS) -> Narratives:
    """The shipped narratives in `directory` (every problem raises NarrativeError), then the user's own files
    in `user_dirs` (a missing dir is empty; a broken file is left out and named in `problems`), at most
    `max_claims` of the user's claims (the rest left out, said in one line)."""
    loaded = _load_shipped(directory)
    problems = _Problems()
    loaded.room = max_claims
    for path in (p for d in user_dirs for p in article_files(d)):
        _load_file(path, loaded, problems, user=True)
    if loaded.over:
        problems.lines.append(f"{user_dirs[0]}: {loaded.over:,} of your claims left out: a desk holds at most "
                              f"{max_claims:,} ([narratives] max_claims in config.toml)")
    return Narratives(tuple(loaded.themes), loaded.articles, tuple(loaded.claims), tuple(problems.lines),
                      tuple(user_dirs), loaded.names, max_claims)


def lint_files(paths: list[Path], user_dirs: tuple[Path, ...] = ()) -> tuple[list[str], int]:
    """Check the files in `paths` as user narrative files, against the shipped ones and the user's other files
    (ids unique across all of them); returns the problems in `paths`, one line each, and the claims that load."""
    loaded = _load_shipped(NARRATIVES_DIR)
    linted = {os.path.realpath(p) for p in paths}  # never raises, even on a loop of symbolic links
    for path in (p for d in user_dirs for p in article_files(d) if os.path.realpath(p) not in linted):
        _load_file(path, loaded, _Problems(), user=True)  # their own problems are not these files'
    problems = _Problems()
    before = len(loaded.claims)
    for path in dict.fromkeys(paths):  # a FIFO, a folder, a loop: read_toml says which, in one line
        _load_file(path, loaded, problems, user=True)
    return problems.lines, len(loaded.claims) - before


def narratives_signature(dirs: tuple[Path, ...]) -> tuple[tuple[str, int, int], ...]:
    """What changes when a user's narrative file is added, changed or removed: each file's path, mtime, size."""
    signature = []
    for path in (p for d in dirs for p in article_files(d)):
        try:
            stat = path.stat()
        except OSError:
            continue
        signature.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(signature)
