"""Each article's scorecard: its claims in article order, what the record says of them then and now, and the
article's own errors, with totals per outlet. Pure functions over claims and verdicts; shown by
`tapecheck articles` and the Articles screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from tui.core.model import Article, Claim, Status, Verdict
from tui.core.narratives.claims import Narratives


def citation(article: Article) -> str:
    """Outlet, title and date, saying which of them we wrote or inferred."""
    title = f"“{article.title}”" + (" (our title)" if article.title_inferred else "")
    day = article.published.isoformat() + (" (date inferred)" if article.published_inferred else "")
    byline = f", {article.author}" if article.author else ""
    return f"{article.outlet}{byline}, {title}, {day}"


def article_error(claim: Claim, then: Verdict | None) -> str | None:
    """The article's own error on this claim: a then-verdict of WRONG (with the `error` note, when there is one
    too), or the `error` note where no rule can show it. Claims we derived ourselves, a rule of our reading that
    fails, and drafts not yet confirmed, are never the article's error by their verdict."""
    if claim.derived or claim.draft:
        return None
    if claim.rule is not None and then is not None and then.status is Status.DIVERGED and not claim.ours:
        wrong = f"wrong on its own date ({claim.as_of}): {then.explanation}"
        return wrong if claim.error is None else f"{wrong}. {claim.error}"
    return claim.error


@dataclass(frozen=True, slots=True)
class ClaimRow:
    """One claim of an article with its verdicts now and on its own date."""

    claim: Claim
    now: Verdict | None
    then: Verdict | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Tally:
    """Counts over claims: how many, how many checkable, and what the record says of the checkable ones."""

    claims: int = 0
    checkable: int = 0
    derived: int = 0
    held_then: int = 0
    wrong_then: int = 0  # the article's: a rule of its own reading that the record does not support
    not_met_then: int = 0  # a rule of our reading that failed on its date: never the article's error
    no_data_then: int = 0
    holds_now: int = 0
    diverged_now: int = 0
    errors: int = 0
    ours: int = 0  # checkable claims of our reading (a threshold, window or period we chose; every derived one)

    def __add__(self, other: Tally) -> Tally:
        return Tally(*(a + b for a, b in zip(self.as_tuple(), other.as_tuple(), strict=True)))

    def as_tuple(self) -> tuple[int, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def tally(rows: list[ClaimRow]) -> Tally:
    checks = [r for r in rows if r.claim.rule is not None and not r.claim.draft]  # a draft is not counted yet
    then = [r.then.status if r.then else Status.NO_DATA for r in checks if not r.claim.ours]
    wrong = {r.claim.sentence for r in checks if not r.claim.ours and r.then and r.then.status is Status.DIVERGED}
    not_met = [r for r in checks if not r.claim.derived and r.claim.ours and r.then is not None
               and r.then.status is Status.DIVERGED]  # our reading not met: not the article's error
    now = [r.now.status if r.now else Status.NO_DATA for r in checks]
    return Tally(
        claims=len(rows), checkable=len(checks), derived=sum(r.claim.derived for r in rows),
        ours=sum(r.claim.ours for r in checks),
        held_then=then.count(Status.HOLDS), wrong_then=len(wrong),  # per sentence
        not_met_then=len(not_met),
        no_data_then=sum(s not in (Status.HOLDS, Status.DIVERGED) for s in then),
        holds_now=now.count(Status.HOLDS), diverged_now=now.count(Status.DIVERGED),
        errors=sum(r.error is not None for r in rows),
    )


@dataclass(frozen=True, slots=True)
class Scorecard:
    """An article with its claims in the order the article makes them, and their tally."""

    article: Article
    rows: tuple[ClaimRow, ...]
    tally: Tally = field(default_factory=Tally)


def scorecards(narratives: Narratives, now: dict[str, Verdict], then: dict[str, Verdict]) -> list[Scorecard]:
    """One scorecard per article, in seed order. `then` holds held/wrong on its date (the 'then' verdicts):
    a derived claim's then-verdict is shown but never counted as the article's."""
    cards = []
    for article in sorted(narratives.articles.values(), key=lambda a: (a.seed, a.piece)):
        claims = [c for c in narratives.claims if c.article == article.id]
        claims.sort(key=lambda c: c.paragraph or 0)  # stable: file order within a paragraph
        rows = [ClaimRow(c, now.get(c.id), then.get(c.id), article_error(c, then.get(c.id))) for c in claims]
        cards.append(Scorecard(article, tuple(rows), tally(rows)))
    return cards


def outlet_totals(cards: list[Scorecard]) -> dict[str, Tally]:
    totals: dict[str, Tally] = {}
    for card in cards:
        totals[card.article.outlet] = totals.get(card.article.outlet, Tally()) + card.tally
    return totals


def scorecard_json(card: Scorecard) -> dict[str, Any]:
    a = card.article
    return {
        "id": a.id, "outlet": a.outlet, "author": a.author, "title": a.title, "title_en": a.title_en,
        "title_inferred": a.title_inferred, "published": a.published.isoformat(),
        "published_inferred": a.published_inferred, "seed": a.seed, "piece": a.piece, "citation": citation(a),
        "notes": article_notes(a),
        **card.tally.as_dict(),
        "claims": [{"id": r.claim.id, "kind": str(r.claim.kind), "origin": r.claim.origin,
                    "reading": r.claim.reading if r.claim.rule else None, "paragraph": r.claim.paragraph,
                    "summary": r.claim.summary, "quote": r.claim.quote,
                    "then": None if r.then is None else str(r.then.status),
                    "now": None if r.now is None else str(r.now.status),
                    "error": r.error} for r in card.rows],
        "errors": [{"id": r.claim.id, "error": r.error} for r in card.rows if r.error],
    }


def tally_line(t: Tally) -> str:
    return (f"{t.claims} claims, {t.checkable} checkable ({t.ours} our reading) · then: {t.held_then} held, "
            f"{t.wrong_then} wrong, {t.not_met_then} not met (our reading), {t.no_data_then} no data · now: "
            f"{t.holds_now} hold, {t.diverged_now} diverged · {t.errors} errors of the article")


def article_notes(article: Article) -> list[str]:
    """What a reader should know of the article itself: what we inferred or wrote, and its note (a conversion
    the seed made, where a date comes from)."""
    notes = []
    if article.title_inferred:
        notes.append("The seed has no headline: the title is ours.")
    if article.published_inferred:
        notes.append("The date is inferred, not printed in the article.")
    if article.note:
        notes.append(article.note)
    return notes
