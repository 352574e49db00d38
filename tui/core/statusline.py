"""The status line's figures and words (`tapecheck status`), in a module that imports next to nothing: both the
full path (tui.core.judge.status, which may judge every claim) and the fast one (tui.core.quickstatus, which
reads a running collector's summary with sqlite3 alone) build the same StoreStatus, so they print the same line.

No tui.core.model here (its dataclasses cost more to import than the fast path may spend): verdict statuses
are their string values, and their words are tui.core.words', kept equal by tests/test_quick_status.py.
"""

from __future__ import annotations

from datetime import datetime

from tui.core import format as fmt

TYPE_CHECKING = False  # typing itself is not imported: it costs the fast path a tenth of a bare Python's start
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

BTC = "crypto:BTC/USD:last"
SUMMARY_EVERY_S = 60.0  # a collector writes its summary again this often, or at once when it changed
SUMMARY_FRESH_S = 3 * SUMMARY_EVERY_S  # an older summary is not trusted: status judges for itself

# tui.core.model.Status's values, and tui.core.words' words for them now
HOLDS, DIVERGED, STALE, NO_DATA, DISPUTED = "holds", "diverged", "stale", "no_data", "disputed"
NOW_WORDS = {HOLDS: "holds", DIVERGED: "DIVERGED", STALE: "stale", NO_DATA: "no data", DISPUTED: "disputed"}
WRONG_THEN = "wrong then"


class StoreStatus:
    """The figures of the status line, read from a store (and judged, when no collector keeps a summary)."""

    __slots__ = ("btc", "btc_age_s", "btc_stale", "collector", "counts", "diverged_ours", "down_since", "failing",
                 "judged_by", "unacked", "wrong_then")

    def __init__(self, counts: dict[str, int], btc: float | None, btc_age_s: float | None, collector: str,
                 wrong_then: int = 0, judged_by: str = "status", *, diverged_ours: int = 0,
                 failing: tuple[str, ...] = (), unacked: int = 0, btc_stale: bool = False,
                 down_since: datetime | None = None) -> None:
        self.counts = counts  # verdict status -> claims (drafts left out)
        self.btc = btc
        self.btc_age_s = btc_age_s
        self.collector = collector  # "ok", "paused" or "down"
        self.wrong_then = wrong_then  # the articles' sentences WRONG on their own date, as the collector stored them
        self.judged_by = judged_by  # "collector": the counts are the collector's summary; "status": judged here
        self.diverged_ours = diverged_ours  # of the diverged claims, those of our reading
        self.failing = failing  # the sources whose last poll failed (or were refused: 429), as last stored
        self.unacked = unacked  # alerts nobody has acknowledged
        self.btc_stale = btc_stale  # BTC's newest value is older than [staleness] max_age_s
        self.down_since = down_since  # the collector down: when it was last seen working, from the store

    @property
    def checked(self) -> bool:
        """Whether at least one claim could be judged (held or diverged); else `check` would exit 4."""
        return bool(self.counts.get(HOLDS, 0) or self.counts.get(DIVERGED, 0))

    @property
    def exit_status(self) -> int:
        """As `check`'s: 1 when a claim diverged, 4 when none could be judged (no data, or stale), else 0."""
        return 1 if self.counts.get(DIVERGED, 0) else 0 if self.checked else 4

    @property
    def line(self) -> str:
        if self.checked:
            ours = f" ({self.diverged_ours} ours)" if self.diverged_ours else ""
            parts = [f"{self.counts.get(DIVERGED, 0)} {NOW_WORDS[DIVERGED].lower()}{ours}"]
            for status in (DISPUTED, STALE):  # disputed: only disagreeing sources, nothing judged
                if self.counts.get(status, 0):
                    parts.append(f"{self.counts[status]} {NOW_WORDS[status]}")
        else:  # nothing could be judged: never a reassuring "0 diverged"
            why = ", ".join(f"{self.counts[s]} {NOW_WORDS[s]}" for s in (NO_DATA, DISPUTED, STALE)
                            if self.counts.get(s, 0))
            parts = [f"no data: no claim checked ({why})" if why else "no data: no claim checked"]
        if self.wrong_then:
            parts.append(f"{self.wrong_then} {WRONG_THEN}")
        if self.unacked:
            parts.append(f"{self.unacked} alert{'s' if self.unacked > 1 else ''}")
        if self.btc is not None:
            parts.append(f"BTC {fmt.quantity(self.btc, 'USD')} ({fmt.age(self.btc_age_s)}"
                         f"{', ' + NOW_WORDS[STALE] if self.btc_stale else ''})")
        if self.failing:
            names = ", ".join(self.failing) if len(self.failing) <= 3 else f"{len(self.failing)} sources"
            parts.append(f"{names} failing")
        since = f" since {self.down_since.astimezone():%H:%M}" if self.down_since is not None else ""
        parts.append(f"collector {self.collector}{since if self.collector == 'down' else ''}")
        return " · ".join(parts)

    def json(self) -> dict[str, Any]:
        return {"line": self.line, "counts": self.counts, "diverged_ours": self.diverged_ours,
                "wrong_then": self.wrong_then, "btc": self.btc,
                "btc_age_s": self.btc_age_s, "btc_stale": self.btc_stale, "failing": list(self.failing),
                "unacked_alerts": self.unacked, "collector": self.collector,
                "collector_down_since": None if self.down_since is None else self.down_since.isoformat(),
                "judged_by": self.judged_by, "exit_status": self.exit_status}


def fresh_summary(kept: Mapping[str, Any] | None, now: datetime) -> tuple[dict[str, int], int, int] | None:
    """A running collector's summary as status reads it: (counts, wrong then, diverged of our reading), or None
    when there is none, it is older than SUMMARY_FRESH_S (or from the future) or the collector stopped."""
    if kept is None or "stopped_at" in kept:
        return None
    try:
        age = (now - datetime.fromisoformat(str(kept["at"]))).total_seconds()
    except (KeyError, ValueError, TypeError):
        return None
    if not (0 <= age <= SUMMARY_FRESH_S and isinstance(kept.get("counts"), dict)):
        return None
    counts = {str(k): int(v) for k, v in dict(kept.get("counts", {})).items()}
    return counts, int(kept.get("wrong_then", 0)), int(kept.get("diverged_ours", 0))


def failing_sources(health: Iterable[tuple[str, str, str]]) -> tuple[str, ...]:
    """The sources whose last poll failed or was refused, from (source, kind, state) as stored, by name; a
    name from the store is shown with its control characters escaped (tui.core.printable, and its regular
    expressions, loaded only for a name that has some: printable() leaves a str.isprintable() name as it is)."""
    names = sorted(source for source, kind, state in health
                   if state in ("failing", "rate_limited") and kind != "alerts")
    if all(name.isprintable() for name in names):
        return tuple(names)
    from tui.core.printable import printable

    return tuple(printable(name) for name in names)
