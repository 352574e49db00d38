"""The rule console's data side: an expression read against the tape now, and a rule saved as a user's claim.

`read_expression` parses, type-checks and evaluates what the user types, saying where it went wrong (the column)
when it does not parse or check; `save_claim` appends a claim to a user narrative file (creating the file with
its [article] table), checks the result with the same code as `tapecheck lint`, and takes it back if it fails.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from tui.core import format as fmt
from tui.core.config import Settings
from tui.core.judge.view import make_context
from tui.core.model import OPS, TapecheckError
from tui.core.narratives.rules.ast import RuleSyntaxError, parse
from tui.core.narratives.rules.evaluate import NoData, evaluate
from tui.core.narratives.rules.typecheck import RuleTypeError, typecheck
from tui.core.tape import Tape

CONSOLE_FILE = "console.toml"
CONSOLE_ARTICLE = "console-rules"


@dataclass(frozen=True, slots=True)
class Reading:
    """What an expression says now: its value (None without data), unit, the series it reads, or an error."""

    expr: str
    value: float | None = None
    unit: str | None = None
    series: tuple[str, ...] = ()
    working: str = ""  # the computation with the numbers plugged in
    stale: bool = False
    error: str | None = None  # a parse or type error (with its column), or why there is no value
    column: int | None = None  # where a parse or type error is, from 0

    @property
    def valid(self) -> bool:
        """The expression parses and checks: it can be a claim's rule, whatever the data says now."""
        return self.unit is not None

    @property
    def shown(self) -> str:
        return "—" if self.value is None or self.unit is None else fmt.quantity(self.value, self.unit)


def read_expression(expr: str, tape: Tape, now: datetime, settings: Settings) -> Reading:
    """Parse, check and evaluate `expr` against `tape` at `now`. Blocking (it reads the tape)."""
    if not expr.strip():
        return Reading(expr, error="type a rule expression, e.g. last(crypto:BTC/USD:last) * 11509")
    try:
        unit, series = typecheck(parse(expr))
    except (RuleSyntaxError, RuleTypeError) as error:
        return Reading(expr, error=str(error), column=error.column)
    except TapecheckError as error:
        return Reading(expr, error=str(error))
    try:
        value = evaluate(parse(expr), make_context(tape, now, settings))
    except NoData as error:
        return Reading(expr, unit=str(unit), series=series, error=f"no data: {error}")
    return Reading(expr, value.value, str(unit), series, value.text, value.stale)


def _toml_text(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def claim_toml(claim_id: str, theme: str, summary: str, reading: Reading, op: str, value: float,
               tolerance_pct: float, today: date) -> str:
    """A [[claims]] table for a rule typed in the console."""
    if op not in OPS:
        raise TapecheckError(f"op {op!r} is not one of {' '.join(OPS)}")
    if not math.isfinite(value) or not math.isfinite(tolerance_pct) or tolerance_pct < 0:
        raise TapecheckError("the value and the tolerance must be finite numbers (the tolerance ≥ 0)")
    return (f"\n[[claims]]\nid = {_toml_text(claim_id)}\ntheme = {_toml_text(theme)}\nas_of = {today.isoformat()}\n"
            f"kind = \"check\"\nsummary = {_toml_text(summary)}\norigin = \"derived\"  # typed in the rule console\n"
            f"[claims.rule]\nexpr = {_toml_text(reading.expr)}\nop = {_toml_text(op)}\nvalue = {value!r}\n"
            f"unit = {_toml_text(reading.unit or 'ratio')}\ntolerance_pct = {tolerance_pct!r}\n")


def article_toml(today: date) -> str:
    return ("# Rules saved from the dashboard's rule console (`:`). Edit freely: tapecheck lint checks this file.\n"
            f"[article]\nid = \"{CONSOLE_ARTICLE}\"\noutlet = \"tapecheck rule console\"\n"
            f"title = \"Rules saved from the rule console\"\npublished = {today.isoformat()}\n")


def save_claim(directory: Path, claim: str, today: date, user_dirs: tuple[Path, ...]) -> Path:
    """Append `claim` (a [[claims]] table) to the console's file in `directory`; raise TapecheckError, leaving
    the file as it was, when the result would not pass `tapecheck lint`. Blocking."""
    from tui.core.narratives.claims import lint_files

    path = directory / CONSOLE_FILE
    try:
        before = path.read_text(encoding="utf-8") if path.exists() else None
        directory.mkdir(parents=True, exist_ok=True)
        path.write_text((before if before is not None else article_toml(today)) + claim, encoding="utf-8")
    except OSError as error:
        raise TapecheckError(f"{path}: cannot write: {error.strerror or error}") from None
    problems, _ = lint_files([path], user_dirs)
    if problems:
        if before is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(before, encoding="utf-8")
        raise TapecheckError("; ".join(p.replace(f"{path}:", f"{path.name}:", 1) for p in problems))  # console.toml:23
    return path
