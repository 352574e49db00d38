"""The words for verdicts, the same everywhere: the dashboard's tables, the claim and article pages, `check`,
`status`, the README.

Now (the rule on the latest values): `holds`, `DIVERGED`, `stale`, `no data`, `disputed` (the only values are
from sources that disagree with each other: none of them is used), `context`.
Then (the rule at the close of the claim's own date): `held`, `WRONG` (the record does not support the
article's figure), `not met (our reading)` (a rule whose threshold, window or period is ours, or a claim we
derived: not the article's error), `stale`, `no data`, `disputed`.
Counted (tui/core/judge/tally.py): `N diverged (M ours)` (now), `N wrong then` (the articles' sentences in error).
"""

from __future__ import annotations

from tui.core.model import Status, Verdict

NOW_WORDS = {Status.HOLDS: "holds", Status.DIVERGED: "DIVERGED", Status.STALE: "stale", Status.NO_DATA: "no data",
             Status.CONTEXT: "context", Status.DISPUTED: "disputed"}
THEN_WORDS = {Status.HOLDS: "held", Status.DIVERGED: "WRONG", Status.STALE: "stale", Status.NO_DATA: "no data",
              Status.DISPUTED: "disputed"}
JUDGING = "judging…"  # a verdict not known yet: the first frame shows the panels before any claim is judged
NOT_MET = "not met (our reading)"  # then, for a rule of our reading: not the article's error
NOT_MET_SHORT = "not met"  # the same in a table's narrow then column, beside a claim labelled "(our reading)"
WRONG_THEN = "wrong then"  # the count of articles' figures WRONG on their own date


def now_label(status: Status | str) -> str:
    """The word for a verdict now: `holds`, `DIVERGED`, `stale`, `no data` or `context`."""
    return NOW_WORDS[Status(status)]


def then_label(then: Verdict | None, ours: bool = False, short: bool = False) -> str:
    """The word for the then-verdict: `held`, `WRONG` (the record does not support the article), or why not.
    A rule of our reading (Claim.ours) that fails on its date is `not met (our reading)`: not the article's
    error."""
    if then is None:
        return ""
    if then.status is Status.DIVERGED and ours:
        return NOT_MET_SHORT if short else NOT_MET
    return THEN_WORDS.get(then.status, "")
