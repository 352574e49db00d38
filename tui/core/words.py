"""The words for verdicts, the same everywhere: the dashboard's tables, the claim and article pages, `check`,
`status`, the README.

Now (the rule on the latest values): `holds`, `DIVERGED`, `stale`, `no data`, `context`.
Then (the rule at the close of the claim's own date): `held`, `WRONG` (the record does not support the
article's figure), `not met` (a rule we derived ourselves, so not the article's error), `stale`, `no data`.
Counted: `N diverged` (now), `N wrong then` (the articles' own errors).
"""

from __future__ import annotations

from tui.core.model import Status, Verdict

NOW_WORDS = {Status.HOLDS: "holds", Status.DIVERGED: "DIVERGED", Status.STALE: "stale", Status.NO_DATA: "no data",
             Status.CONTEXT: "context"}
THEN_WORDS = {Status.HOLDS: "held", Status.DIVERGED: "WRONG", Status.STALE: "stale", Status.NO_DATA: "no data"}
NOT_MET = "not met"  # then, for a rule of ours: not the article's error
WRONG_THEN = "wrong then"  # the count of articles' figures WRONG on their own date


def now_label(status: Status | str) -> str:
    """The word for a verdict now: `holds`, `DIVERGED`, `stale`, `no data` or `context`."""
    return NOW_WORDS[Status(status)]


def then_label(then: Verdict | None, derived: bool = False) -> str:
    """The word for the then-verdict: `held`, `WRONG` (the record does not support the article), or why not.
    A claim we derived ourselves that fails on its date is `not met`: it is not the article's error."""
    if then is None:
        return ""
    if then.status is Status.DIVERGED and derived:
        return NOT_MET
    return THEN_WORDS.get(then.status, "")
