"""Rows and records, both ways, for both backends: what a stored row reads back as (Observation, Alert, Health,
a kept then-verdict, the collector) and what a record is stored as. Times are stored as milliseconds since the
Unix epoch, UTC; lists as JSON text."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from statistics import median
from typing import Any

from tui.core.model import Alert, Cached, Evidence, Health, Observation, Status, TapecheckError
from tui.core.store.facts import FOREVER_MS as FOREVER_MS

DAY_MS = 86_400_000
STATUSES = frozenset(str(s) for s in Status)
REQUEST_KINDS = ("refresh", "pause", "resume", "ack", "ack-upto")  # what a viewer may ask of the collector

# The columns of the tables both backends keep alike, in their stored order (as `store copy` moves them).
COLUMNS = {
    "health": ("source", "kind", "last_success", "last_error", "last_error_at", "latency_ms", "failures",
               "next_attempt", "state", "partial"),
    "then_verdicts": ("claim_id", "fingerprint", "status", "value", "deviation_pct", "explanation", "judged_at",
                      "evidence"),
    "history_coverage": ("job", "first_day", "last_day", "fetched_at"),
    "alerts": ("id", "at", "kind", "subject", "before_state", "after_state", "message", "value", "level", "unit",
               "delivery", "acked_at"),
    "disputed": ("series", "source", "ts", "value", "unit", "reason"),
}
KEYS = {"disputed": ("series", "ts", "source")}  # a table's key, where it is more than its first column
ALERT_COLUMNS = ", ".join(COLUMNS["alerts"])

Row = tuple[str, int, float]  # an observation of a known series: source, ts (ms), value


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def ms_or_none(moment: datetime | None) -> int | None:
    return None if moment is None else to_ms(moment)


def moment_or_none(ms: int | None) -> datetime | None:
    return None if ms is None else from_ms(int(ms))


def upsert(table: str) -> str:
    """One row of `table` written over the row with its key, in SQL both backends speak."""
    columns = COLUMNS[table]
    key = KEYS.get(table, columns[:1])
    return (f"INSERT INTO {table} VALUES ({', '.join('?' * len(columns))}) ON CONFLICT ({', '.join(key)}) "
            f"DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in columns if c not in key)}")


# ---- observations --------------------------------------------------------------------------------------

def observations(name: str, unit: str, rows: Iterable[Row]) -> list[Observation]:
    return [Observation(name, float(value), unit, from_ms(int(ts)), str(source)) for source, ts, value in rows]


def day_closes(rows: Iterable[tuple[int, float]]) -> list[tuple[date, float]]:
    """Daily closes from (UTC day number, one source's close) rows: the median over sources, oldest first."""
    per_day: dict[int, list[float]] = {}
    for day, value in rows:
        per_day.setdefault(int(day), []).append(float(value))
    return [(from_ms(day * DAY_MS).date(), float(median(values))) for day, values in sorted(per_day.items())]


def disputed_values(rows: Iterable[tuple[Observation, str]]) -> list[tuple[object, ...]]:
    return [(o.series, o.source, to_ms(o.ts), o.value, o.unit, reason) for o, reason in rows]


def disputed_row(row: Sequence[Any]) -> tuple[Observation, str]:
    """(series, source, ts, value, unit, reason) as stored."""
    return Observation(str(row[0]), float(row[3]), str(row[4]), from_ms(int(row[2])), str(row[1])), str(row[5])


# ---- health ----------------------------------------------------------------------------------------------

def health_values(record: Health) -> tuple[object, ...]:
    """A health record's stored columns (COLUMNS["health"]); the collector's own counts are not stored."""
    return (record.source, record.kind, ms_or_none(record.last_success), record.last_error,
            ms_or_none(record.last_error_at), record.latency_ms, record.failures, ms_or_none(record.next_attempt),
            record.state, json.dumps(list(record.partial), ensure_ascii=False))


def health_row(row: Sequence[Any]) -> Health:
    return Health(str(row[0]), str(row[1]), moment_or_none(row[2]), row[3], moment_or_none(row[4]),
                  None if row[5] is None else float(row[5]), int(row[6]), moment_or_none(row[7]), str(row[8]),
                  health_partial(row[9]))


def health_partial(text: str | None) -> tuple[str, ...]:
    """A health record's `partial`, as stored (JSON); anything else reads as nothing missing."""
    try:
        found = json.loads(text or "[]")
    except ValueError:
        return ()
    return tuple(str(item) for item in found) if isinstance(found, list) else ()


# ---- then-verdicts and the summary ----------------------------------------------------------------------

def evidence_json(evidence: tuple[Evidence, ...]) -> str:
    return json.dumps([e.as_dict() for e in evidence], ensure_ascii=False)


def parse_evidence(text: str | None) -> tuple[Evidence, ...]:
    """A kept then-verdict's evidence; none when it is missing or not readable (the verdict is still shown)."""
    try:
        rows = json.loads(text or "[]")
        return tuple(Evidence.from_dict(row) for row in rows)
    except (ValueError, TypeError, KeyError, AssertionError):
        return ()


def verdict_values(claim_id: str, kept: Cached, judged_at: int) -> tuple[object, ...]:
    return (claim_id, kept.fingerprint, str(kept.status), kept.value, kept.deviation_pct, kept.explanation,
            judged_at, evidence_json(kept.evidence))


def verdicts(rows: Iterable[Sequence[Any]]) -> dict[str, Cached]:
    """Kept then-verdicts from (claim_id, fingerprint, status, value, deviation_pct, explanation, evidence) rows;
    a row of a status this version does not know is left out."""
    return {str(r[0]): Cached(str(r[1]), Status(r[2]), r[3], r[4], str(r[5]), parse_evidence(r[6])) for r in rows
            if r[2] in STATUSES}


def parse_summary(text: str | None) -> dict[str, Any] | None:
    """A stored summary's JSON object, or None when there is none or it is not one."""
    try:
        found = json.loads(text) if text else None
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


# ---- alerts ----------------------------------------------------------------------------------------------

def alert_row(row: Sequence[Any]) -> Alert:
    """An Alert from a row of ALERT_COLUMNS."""
    return Alert(int(row[0]), from_ms(int(row[1])), str(row[2]), str(row[3]), str(row[4]), str(row[5]), str(row[6]),
                 None if row[7] is None else float(row[7]), None if row[8] is None else float(row[8]), str(row[9]),
                 str(row[10]), row[11] is not None)


def alert_values(alert: Alert) -> tuple[object, ...]:
    """An alert's columns after its id, as stored."""
    return (to_ms(alert.at), alert.kind, alert.subject, alert.before, alert.after, alert.message, alert.value,
            alert.level, alert.unit, alert.delivery)


# ---- a collector and its viewers ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class CollectorInfo:
    """The running collector as it described itself: which process on which host, since when, paused or not."""

    pid: int
    host: str
    started_at: datetime
    paused: bool


def this_collector(paused: bool = False) -> CollectorInfo:
    return CollectorInfo(os.getpid(), socket.gethostname(), datetime.now(UTC), paused)


def collector_row(row: Sequence[Any]) -> CollectorInfo:
    return CollectorInfo(int(row[0]), str(row[1]), from_ms(int(row[2])), bool(row[3]))


def check_request(kind: str) -> None:
    """Refuse a request the collector would not understand."""
    name, _, arg = kind.partition(":")
    if name not in REQUEST_KINDS or (name.startswith("ack") != arg.isdigit()):
        raise TapecheckError(f"unknown request {kind!r}: one of refresh, pause, resume, ack:ID, ack-upto:ID")


def newest_request(rows: Iterable[Sequence[Any]], names: tuple[str, ...]) -> tuple[str, datetime] | None:
    """The first of `rows` (kind, at; newest first) whose request is one of `names`."""
    for kind, at in rows:
        if str(kind).partition(":")[0] in names:
            return str(kind), from_ms(int(at))
    return None


def requester() -> str:
    """Who asks, as requests for the whole desk name them: user@host."""
    import getpass

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "someone"
    return f"{user}@{socket.gethostname()}"
