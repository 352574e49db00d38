"""From an article's text to a narrative file: metadata given or inferred, then the claims, then the TOML."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from tui.core.model import TapecheckError, is_slug, slug
from tui.core.narratives.claims import Narratives
from tui.core.narratives.draft.dates import find_dates
from tui.core.narratives.draft.emit import ArticleMeta, emit, themes_for
from tui.core.narratives.draft.entities import Entity, EntityFinder, declared, known_names
from tui.core.narratives.draft.propose import DraftClaim, Proposer
from tui.core.narratives.draft.segment import clean, paragraphs, sentences

_OUTLET = re.compile(r"^\s*(?:来源|來源|出处|出處|Source|From|本文来自|本文來自)\s*(?:微信公众号|微信公眾號)?\s*[:：]?"
                     r"\s*(?P<name>[^,，|｜]{1,40}?)\s*(?:$|[,，|｜])", re.IGNORECASE)
_BYLINE = re.compile(r"^\s*(?:作者|文|By|撰文|编辑|編輯|来源|來源|Source)\s*[|｜:：/ ]", re.IGNORECASE)
_BREADCRUMB = re.compile(r">|当前位置|當前位置|首页|首頁")


@dataclass(frozen=True, slots=True)
class DraftRequest:
    """What the user gave: the text, its file name, and any of id, outlet, title, published."""

    text: str
    source: str
    article_id: str | None = None
    outlet: str | None = None
    title: str | None = None
    published: date | None = None
    today: date = field(default_factory=date.today)


def infer_published(text: str, today: date) -> date:
    """The latest day the article names, up to today. Yearless dates are placed nearest the latest month the
    article dates in full (2025年12月); a year alone (到2030年) is mostly a forecast, used only when nothing else is.
    """
    mentions = find_dates(text)
    months = [d.resolve(today) for d in mentions if d.year is not None and d.month is not None]
    years = [date(d.year, 1, 1) for d in mentions if d.year is not None and d.month is None]
    anchor = min(max((d for d in months if d is not None and d <= today), default=None)
                 or max((d for d in years if d <= today), default=today), today)
    days = [d.resolve(anchor) for d in mentions if d.exact]
    return max((d for d in days if d is not None and d <= today), default=anchor)


def infer_title(text: str) -> str | None:
    """The first short line that is neither a site's breadcrumb nor a byline."""
    for _, _, line in paragraphs(text)[:4]:
        candidate = line.strip().lstrip("#").strip()
        if 4 <= len(candidate) <= 60 and not _BREADCRUMB.search(candidate) and not _BYLINE.match(candidate) \
                and re.search(r"[A-Za-z\u4e00-\u9fff]{2}", candidate):
            return candidate
    return None


def _given(value: str | None, flag: str) -> str | None:
    """A flag's text on one line, control characters gone; TapecheckError when nothing is left of it."""
    if value is None:
        return None
    cleaned = " ".join(clean(value).split())
    if not cleaned:
        raise TapecheckError(f"{flag} must not be empty")
    return cleaned


def article_meta(request: DraftRequest) -> ArticleMeta:
    text = request.text
    if request.article_id is not None and not is_slug(request.article_id):
        raise TapecheckError(f"--id {request.article_id!r} must be a lower-case slug such as wire-chips")
    given_title, given_outlet = _given(request.title, "--title"), _given(request.outlet, "--outlet")
    inferred = [key for key, value in (("id", request.article_id), ("outlet", given_outlet),
                                       ("published", request.published), ("title", given_title)) if value is None]
    source = _given(Path(request.source).name, "the article's file name") or "article.txt"
    title = given_title or infer_title(text) or f"Article from {source}"
    outlet = given_outlet or next((m.group("name") for _, _, line in paragraphs(text)
                                   if (m := _OUTLET.match(line))), "unknown outlet")
    published = request.published or infer_published(text, request.today)
    article_id = request.article_id or slug(Path(source).stem) or \
        f"draft-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    return ArticleMeta(article_id, source, outlet, title, title, published, tuple(inferred))


def narrative_names(narratives: Narratives, user_aliases: Path | None = None) -> dict[str, Entity]:
    """Every name a draft knows: the alias tables, and the tickers and declared names of the narratives."""
    return known_names(user_aliases, [c.quote for c in narratives.claims if c.quote],
                       [s for c in narratives.claims for s in c.series])


def series_themes(narratives: Narratives) -> dict[str, str]:
    """Each series the shipped narratives read or watch → the theme most of its claims are in."""
    counts: dict[str, Counter[str]] = {}
    for theme in narratives.themes:
        for series in theme.watch:
            counts.setdefault(series, Counter())[theme.id] += 1
    for claim in narratives.claims:
        for series in claim.series:
            counts.setdefault(series, Counter())[claim.theme] += 2
    return {series: count.most_common(1)[0][0] for series, count in sorted(counts.items())}


def draft_claims(request: DraftRequest, names: dict[str, Entity], meta: ArticleMeta) -> list[DraftClaim]:
    """The claims of the article's body (its headline is left out: the body says the same, with dates)."""
    finder = EntityFinder({**names, **declared(request.text)})
    body = [s for s in sentences(request.text) if s.text.strip().lstrip("#").strip() != meta.title]
    return Proposer(finder, meta.published).claims(body)


MAX_DRAFT_CLAIMS = 1000  # claims a draft proposes at most (a desk loads 5,000 of the user's claims)


def draft_file(request: DraftRequest, narratives: Narratives, user_aliases: Path | None = None) -> str:
    """The narrative file drafted from `request`, ready to write."""
    meta = article_meta(request)
    names = narrative_names(narratives, user_aliases)
    claims = draft_claims(request, names, meta)
    over = len(claims) - MAX_DRAFT_CLAIMS
    claims = claims[:MAX_DRAFT_CLAIMS]
    themes = themes_for(claims, series_themes(narratives), narratives.themes[0].id)
    text = emit(meta, claims, themes)
    if over > 0:
        text = (f"# {over:,} more claims were found past the first {MAX_DRAFT_CLAIMS:,} and left out: draft the "
                "article in parts\n") + text
    return text


def save_draft(out: Path, text: str, force: bool) -> None:
    """Write the draft to `out`; an existing file only with `force`. TapecheckError names the file."""
    try:
        with out.open("w" if force else "x", encoding="utf-8") as file:
            file.write(text)
    except FileExistsError:
        raise TapecheckError(f"{out}: already exists; pass --force to replace it") from None
    except OSError as error:
        raise TapecheckError(f"{out}: cannot write: {error.strerror or error}") from None
