"""The counts every screen shows, counted one way: the header, the panels, `check` and `status`.

- Diverged now: every confirmed claim whose rule fails on the latest values, with how many of them are of
  our reading (a threshold, window or period we chose, or a claim we derived) kept apart: `8 diverged (3 ours)`.
- Wrong then: the articles' sentences the record does not support on their own date. Claims of our reading
  and drafts never count; claims that quote the same sentence count once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tui.core.model import Claim, Status, Verdict


@dataclass(frozen=True, slots=True)
class Diverged:
    """Claims diverged now: all of them, and how many of those are of our reading."""

    total: int = 0
    ours: int = 0

    def __str__(self) -> str:
        """`8 diverged (3 ours)`, `8 diverged`, or empty when none did."""
        if not self.total:
            return ""
        return f"{self.total} diverged" + (f" ({self.ours} ours)" if self.ours else "")

    @property
    def article(self) -> int:
        """Those of the article's own reading."""
        return self.total - self.ours


def diverged(verdicts: Iterable[Verdict], claims: Mapping[str, Claim]) -> Diverged:
    """The claims diverged now, drafts (not yet confirmed) aside."""
    total = ours = 0
    for verdict in verdicts:
        claim = claims.get(verdict.claim_id)
        if verdict.status is not Status.DIVERGED or (claim is not None and claim.draft):
            continue
        total += 1
        ours += claim is not None and claim.ours
    return Diverged(total, ours)


def counts_as_error(claim: Claim) -> bool:
    """Whether a claim's failure on its own date is the article's error: not for our reading, nor a draft."""
    return not claim.ours and not claim.draft


def wrong_sentences(then: Iterable[Verdict], claims: Mapping[str, Claim]) -> set[str]:
    """The articles' sentences shown WRONG on their own date (see Claim.sentence)."""
    return {claims[v.claim_id].sentence for v in then
            if v.status is Status.DIVERGED and v.claim_id in claims and counts_as_error(claims[v.claim_id])}


def wrong_then(then: Iterable[Verdict], claims: Mapping[str, Claim]) -> int:
    """How many of the articles' sentences the record does not support on their own date."""
    return len(wrong_sentences(then, claims))
