"""What the command line prints: claims and verdicts as tables for people, or as JSON for programs."""

from __future__ import annotations

import json
from typing import Any

from tui.core import format as fmt
from tui.core.judge import tally
from tui.core.model import Claim, Status, Verdict
from tui.core.narratives.articles import article_notes, citation, outlet_totals, scorecard_json, scorecards, tally_line
from tui.core.narratives.claims import Narratives
from tui.core.narratives.rules.verdict import STATUS_ORDER, live_text, off_text, period_text
from tui.core.words import WRONG_THEN, now_label, then_label


def claim_json(claim: Claim, narratives: Narratives) -> dict[str, Any]:
    article = narratives.articles[claim.article]
    rule = claim.rule
    return {
        "id": claim.id,
        "theme": claim.theme,
        "article": claim.article,
        "citation": citation(article),
        "as_of": claim.as_of.isoformat(),
        "as_of_inferred": claim.as_of_inferred,
        "summary": claim.summary,
        "summary_zh": claim.summary_zh,
        "kind": str(claim.kind),
        "series": list(claim.series),
        "expr": rule.expr if rule else None,
        "op": rule.op if rule else None,
        "value": rule.value if rule else claim.value,
        "unit": rule.unit if rule else claim.unit,
        "tolerance_pct": rule.tolerance_pct if rule else None,
        "figure": claim.figure,
        "note": claim.note,
        "quote": claim.quote,
        "paragraph": claim.paragraph,
        "origin": claim.origin,
        "error": claim.error,
        "reading": claim.reading if rule else None,  # whose threshold, window and period: "article" or "ours"
        "reading_note": claim.reading_note,
        "file": f"{claim.file}:{claim.line}",
        "draft": claim.draft,  # a proposed rule not yet confirmed: never counted as diverged
        "user": claim.user,  # from the user's own narrative files
    }



def print_claims(narratives: Narratives, lang: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps([claim_json(c, narratives) for c in narratives.claims], ensure_ascii=False, indent=1))
        return
    checks = sum(1 for c in narratives.claims if c.rule)
    print(f"{len(narratives.claims)} claims ({checks} checked against the tape) "
          f"from {len(narratives.articles)} articles\n")
    for theme in narratives.themes:
        claims = [c for c in narratives.claims if c.theme == theme.id]
        print(f"== {theme.title_zh if lang == 'zh' else theme.title} ({len(claims)}) ==")
        for claim in sorted(claims, key=lambda c: (c.rule is None, c.as_of)):
            summary = claim.summary_zh if lang == "zh" else claim.summary
            print(f"  {claim.as_of}  {claim.kind!s:7}  {claim.id}")
            print(f"      {summary}")
            if claim.rule:
                r = claim.rule
                tol = f" ±{r.tolerance_pct:g}%" if r.tolerance_pct else ""
                print(f"      rule: {r.expr} {r.op} {fmt.quantity(r.value, r.unit)}{tol}")
        print()



def verdict_json(verdict: Verdict, claim: Claim, then: Verdict | None) -> dict[str, Any]:
    """A verdict now, and on the claim's own date (`then_*`, null for context claims or when unknown)."""
    return {
        "id": verdict.claim_id,
        "theme": verdict.theme,
        "origin": claim.origin,  # "derived": a claim we added to follow the article
        "reading": claim.reading,  # "ours": its failure on its date is never the article's error
        "draft": claim.draft,  # a proposed rule not yet confirmed: never counted
        "status": str(verdict.status),
        "claim_value": verdict.claim_value,
        "live_value": verdict.live_value,
        "unit": verdict.unit,
        "op": verdict.op,
        "deviation_pct": None if verdict.deviation_pct is None else round(verdict.deviation_pct, 4),
        "off": None if verdict.live_value is None else off_text(verdict),  # as people read it: "-10.0 pp" for a %
        "age_s": None if verdict.age_s is None else round(verdict.age_s, 1),
        "market_closed": verdict.market_closed,
        "series": list(verdict.series),
        "explanation": verdict.explanation,
        "evidence": [e.as_dict() for e in verdict.evidence],  # what it read, each value under its own date
        "then_date": claim.as_of.isoformat() if claim.rule else None,
        "then_status": None if then is None else str(then.status),
        "then_word": None if then is None else then_label(then, claim.ours),  # "not met (our reading)", "WRONG"
        "then_value": None if then is None else then.live_value,
        "then_deviation_pct": None if then is None or then.deviation_pct is None else round(then.deviation_pct, 4),
        "then_off": None if then is None or then.live_value is None else off_text(then),
        "then_explanation": None if then is None else then.explanation,
        # a past market value read at today's share count (no share history reaches its day): not final
        "todays_shares": verdict.todays_shares,
        "then_todays_shares": None if then is None else then.todays_shares,
        "then_evidence": [] if then is None else [e.as_dict() for e in then.evidence],
        "then_final": None if then is None else then.final,  # kept for good: exact bars, no assumption
    }


def print_verdicts(verdicts: list[Verdict], then: dict[str, Verdict], narratives: Narratives, lang: str,
                   heading: str) -> None:
    counts: dict[str, int] = {}
    drafts = {c.id for c in narratives.claims if c.draft}  # shown, never counted
    for verdict in verdicts:
        if verdict.claim_id not in drafts:
            counts[verdict.status] = counts.get(verdict.status, 0) + 1
    claims = {c.id: c for c in narratives.claims}
    of_ours = tally.diverged(verdicts, claims).ours  # drafts aside
    summary = ", ".join(f"{counts[s]} {now_label(s)}" + (f" ({of_ours} ours)" if s is Status.DIVERGED and of_ours
                                                         else "")
                        for s in STATUS_ORDER if s in counts)
    summary += f" ({len(drafts)} drafts aside)" if drafts else ""
    wrong = tally.wrong_then(then.values(), claims)  # drafts and our reading aside
    summary += f"; {wrong} {WRONG_THEN} (articles' sentences the record does not support on their own date)" \
        if wrong else ""
    print(f"tapecheck {heading}: {summary}\n")
    for theme in narratives.themes:
        rows = sorted((v for v in verdicts if v.theme == theme.id and v.status != "context"),
                      key=lambda v: (STATUS_ORDER[v.status], v.claim_id))
        if not rows:
            continue
        print(f"== {theme.title_zh if lang == 'zh' else theme.title} ==")
        for v in rows:
            claim = narratives.claim(v.claim_id)
            claimed, live = _value(v.claim_value, v.unit), live_text(v)
            if v.op == "in" and v.claim_value is not None and v.claim_upper is not None:
                claimed = period_text(v.claim_value, v.claim_upper)
            ours = "  (ours: derived from the article, not its claim)" if claim.derived else \
                "  (our reading)" if claim.ours else ""
            ours += "  (draft: a rule not yet confirmed, not counted)" if claim.draft else ""
            ours += f"  (your file {claim.file}:{claim.line})" if claim.user else ""
            print(f"  {now_label(v.status):9} {v.claim_id}{ours}")
            print(f"            {claim.summary_zh if lang == 'zh' else claim.summary}")
            if claim.ours and claim.reading_note:
                print(f"            our reading: {claim.reading_note}")
            print(f"            claimed {v.op} {claimed} · live {live} · off {off_text(v)}"
                  f" · age {fmt.age(v.age_s)}")
            print(f"            {v.explanation}")
            before = then.get(v.claim_id)
            if before is not None and before.status is not Status.NO_DATA:
                print(f"            then ({claim.as_of}): {then_label(before, claim.ours)} · "
                      f"{live_text(before)} · off {off_text(before)}"
                      + (" · wrong on its own date" if before.status is Status.DIVERGED and not claim.ours else "")
                      + (" · our reading, not the article's error" if before.status is Status.DIVERGED and claim.ours
                         else ""))
        print()


def _value(value: float | None, unit: str | None) -> str:
    return "—" if value is None else fmt.quantity(value, unit or "ratio")


def print_articles(narratives: Narratives, now: dict[str, Verdict], then: dict[str, Verdict], lang: str,
                   as_json: bool, no_data: str | None = None) -> None:
    """Each article's scorecard in article order, then totals per outlet. With `no_data` (why there is none, and
    how to get it) every verdict is "no data" and the rest, claims, quotes and known errors, is shown."""
    cards = scorecards(narratives, now, then)
    totals = outlet_totals(cards)
    if as_json:
        print(json.dumps({"articles": [scorecard_json(c) for c in cards],
                          "outlets": {o: t.as_dict() for o, t in totals.items()}, "no_data": no_data},
                         ensure_ascii=False, indent=1))
        return
    if no_data:
        print(f"{no_data}\nEvery verdict below reads \"no data\"; the claims, quotes and known errors need none.\n")
    for card in cards:
        print(f"== {citation(card.article)} ==")
        print(f"   {card.article.title_en}")
        for note in article_notes(card.article):
            print(f"   note: {note}")
        print(f"   {tally_line(card.tally)}")
        for row in card.rows:
            c = row.claim
            then_word = ("no data" if row.then is None else then_label(row.then, c.ours, short=True)) if c.rule else ""
            now_word = ("no data" if c.rule else "") if row.now is None else str(row.now.status)
            mark = " (ours)" if c.derived else " (our reading)" if c.ours and c.rule else ""
            summary = c.summary_zh if lang == "zh" else c.summary
            print(f"   ¶{c.paragraph or '?':<3} {c.kind!s:7} {then_word:8} {now_word:9} {c.id}{mark}")
            print(f"        {summary}")
            if c.quote:
                print(f"        “{c.quote}”")
            if row.error:
                print(f"        article's error: {row.error}")
        print()
    print("== totals per outlet ==")
    for outlet, t in totals.items():
        print(f"   {outlet}: {tally_line(t)}")
