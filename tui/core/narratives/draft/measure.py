"""How much of the shipped narratives a draft finds: `python -m tui.core.narratives.draft.measure [SEEDS_DIR]`.

For each seed article, the draft is made as a user would make it, from the text alone (no flags). A shipped
`check` claim counts as found when some drafted rule reads the same series and claims the same value (same
unit, within 1%). Prints one line per narrative file, the misses, and the share found.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from tui.core.model import Claim
from tui.core.narratives.claims import Narratives, load_narratives
from tui.core.narratives.draft.build import DraftRequest, article_meta, draft_claims, narrative_names
from tui.core.narratives.draft.propose import DraftClaim
from tui.core.narratives.draft.segment import read_article
from tui.core.narratives.rules.ast import parse
from tui.core.narratives.rules.typecheck import typecheck

SEEDS = Path(__file__).resolve().parents[5] / "shared" / "seeds"
CLOSE = 0.01


@dataclass(frozen=True, slots=True)
class Measure:
    found: list[Claim]
    missed: list[Claim]
    drafted: int
    ruled: int
    ruled_right: int  # drafted rules that match some shipped check claim

    @property
    def share(self) -> float:
        total = len(self.found) + len(self.missed)
        return len(self.found) / total if total else 0.0

    @property
    def stated(self) -> tuple[int, int]:
        """Found, and in all, among the checks whose level the article states (`reading = "article"`): the
        ones a draft, which needs a figure in the sentence, can find at all. The others are levels and windows
        of our choosing."""
        found = sum(1 for c in self.found if c.reading == "article")
        return found, found + sum(1 for c in self.missed if c.reading == "article")


def matches(draft: DraftClaim, claim: Claim) -> bool:
    if draft.rule is None or claim.rule is None or draft.rule.unit != claim.rule.unit:
        return False
    series = set(typecheck(parse(draft.rule.expr))[1])
    close = abs(draft.rule.value - claim.rule.value) <= CLOSE * max(abs(claim.rule.value), 1e-9)
    return close and series == set(claim.rule.series)


def measure(seeds: Path, narratives: Narratives) -> Measure:
    names = narrative_names(narratives)
    found: list[Claim] = []
    missed: list[Claim] = []
    drafted = ruled = right = 0
    for path in sorted(seeds.glob("*.txt")):
        request = DraftRequest(read_article(path), path.name)
        drafts = draft_claims(request, names, article_meta(request))
        shipped = [c for c in narratives.claims if c.rule and narratives.articles[c.article].seed == path.name]
        drafted += len(drafts)
        ruled += sum(1 for d in drafts if d.rule)
        right += sum(1 for d in drafts if any(matches(d, c) for c in shipped))
        for claim in shipped:
            (found if any(matches(d, claim) for d in drafts) else missed).append(claim)
    return Measure(found, missed, drafted, ruled, right)


def report(result: Measure) -> str:
    lines = ["missed:"]
    lines += [f"  {c.file} {c.id}: {c.rule.expr if c.rule else ''} {c.rule.op if c.rule else ''} "
              f"{c.rule.value if c.rule else '':g} {c.rule.unit if c.rule else ''}" for c in result.missed]
    total = len(result.found) + len(result.missed)
    stated = result.stated
    lines += [f"drafted {result.drafted} claims, {result.ruled} with a rule; {result.ruled_right} of those rules "
              "match a shipped check claim",
              f"found {len(result.found)} of {total} shipped check claims: {result.share:.0%}",
              f"found {stated[0]} of the {stated[1]} whose level the article states: "
              f"{stated[0] / max(stated[1], 1):.0%}"]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    seeds = Path(argv[0]) if argv else SEEDS
    if not seeds.is_dir():
        print(f"no seed articles at {seeds}", file=sys.stderr)
        return 2
    print(report(measure(seeds, load_narratives())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
