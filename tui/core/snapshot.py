"""Reading and writing observations as JSON Lines: one object per line, the format snapshots and tapes share.

    {"series": "crypto:BTC/USD:last", "value": 91234.5, "unit": "USD",
     "ts": "2026-01-23T08:00:00Z", "source": "coinbase"}

A bad line stops the read with `file:line: what is wrong`; nothing is half-read. Blank lines are skipped.
A file whose name ends in `.gz` is read through gzip.
Lines need not be sorted; a repeated (series, source, ts) keeps the first line's value, as the store does.

A snapshot or tape to show or judge (`load_tape`) is held to what the collector holds its sources to
(tui/core/validate.py, tui/core/consistency.py): a value the collector refuses (zero, negative, implausibly
large, a hashrate out of range, the demo's source) stops the read at its line; a value many times off the
other sources of its asset is disputed, set aside with its line named, and never used as a value.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import IO, Any, cast

from tui.core.consistency import sift_file
from tui.core.dates import parse_time as parse_time  # re-exported: tapes and flags read times alike
from tui.core.model import Observation, SeriesId, TapecheckError
from tui.core.oserrors import why
from tui.core.userfile import open_regular, parse_failure
from tui.core.validate import refusal

_FIELDS = ("series", "value", "unit", "ts", "source")
DISPUTE_FACTOR = 4.0  # as config's poller.dispute_factor by default: a file read without settings
MAX_LINE = 10_000
MAX_OBSERVATIONS = 5_000_000  # a tape holds at most this many lines (a month of polling every source)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def parse_observation(line: str) -> Observation:
    """One JSON line as an Observation, or TapecheckError saying what is wrong with it."""
    if len(line) > MAX_LINE:
        raise TapecheckError(f"line longer than {MAX_LINE} characters")
    try:
        obj = json.loads(line, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:  # its "line 2 column 1" would count the line's own newline
        what = error.msg[:1].lower() + error.msg[1:]
        raise TapecheckError(f"not valid JSON ({what}, at column {min(error.pos, len(line.rstrip())) + 1})") \
            from None
    except Exception as error:  # RecursionError, a number of 5,000 digits (ValueError), ...
        raise TapecheckError(f"not valid JSON ({parse_failure(error)})") from None
    if not isinstance(obj, dict):
        raise TapecheckError("each line must be a JSON object")
    missing = [f for f in _FIELDS if f not in obj]
    if missing:
        raise TapecheckError(f"missing field(s): {', '.join(missing)}")
    for key in ("series", "unit", "ts", "source"):
        if not isinstance(obj[key], str) or not obj[key]:
            raise TapecheckError(f"{key} must be a non-empty string")
    value = obj["value"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TapecheckError(f"value must be a number, not {json.dumps(value)[:40]}")
    try:
        value = float(value)
    except OverflowError:
        raise TapecheckError("value is too large") from None
    if not math.isfinite(value):
        raise TapecheckError("value is not finite")
    series = SeriesId.parse(obj["series"])
    if obj["unit"] != series.unit:
        raise TapecheckError(f"{series} is in {series.unit}, but the line says {obj['unit']!r}")
    return Observation(str(series), value, obj["unit"], parse_time(obj["ts"]), obj["source"])


def read_observations(path: Path) -> list[Observation]:
    """Every observation in a JSON Lines file, or TapecheckError naming the file and line."""
    return [obs for _, obs in _read_numbered(path)]


def _read_numbered(path: Path) -> list[tuple[int, Observation]]:
    """Every observation in a JSON Lines file with its line number, or TapecheckError naming the file and line.
    Only a regular file is read (never a FIFO), a line at a time within MAX_LINE, at most MAX_OBSERVATIONS of
    them."""
    raw = os.fdopen(open_regular(path), "rb")
    try:
        binary = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb") if path.suffix == ".gz" else raw)
        with io.TextIOWrapper(binary, encoding="utf-8") as handle:
            return list(_read(handle, str(path)))
    except MemoryError:
        raise TapecheckError(f"{path}: too large to hold in memory") from None
    except gzip.BadGzipFile:
        raise TapecheckError(f"{path}: not a gzip file, though its name ends in .gz") from None
    except EOFError:
        raise TapecheckError(f"{path}: the gzip file is cut short") from None
    except OSError as error:
        raise TapecheckError(f"{path}: cannot read: {why(path, error)}") from None
    except UnicodeDecodeError:
        raise TapecheckError(f"{path}: not UTF-8 text") from None
    finally:
        raw.close()


@dataclass(frozen=True, slots=True)
class TapeFile:
    """A snapshot or tape as read to show or judge: the observations used, and those disputed (set aside, each
    with its line and why: `file:line: disputed: …`)."""

    observations: list[Observation]
    disputed: list[Observation] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def load_tape(path: Path, dispute_factor: float = DISPUTE_FACTOR, synthetic_ok: bool = False) -> TapeFile:
    """A snapshot or tape to show or judge, held to the collector's validation and consistency check (see the
    module's docstring); TapecheckError naming the file and line of a refused value, or the file when it holds
    none (an empty file would only show every claim without data, and not say why). `synthetic_ok`: the demo's
    own tape."""
    numbered = _read_numbered(path)
    if not numbered:
        raise TapecheckError(f"{path}: holds no observations (an empty snapshot or tape); give a file that "
                             "`tapecheck record --out` wrote")
    for number, obs in numbered:
        if reason := refusal(obs, synthetic_ok=synthetic_ok):
            raise TapecheckError(f"{path}:{number}: refused, as the collector refuses it: {reason}")
    lines = {id(obs): number for number, obs in numbered}
    kept, disputed = sift_file([obs for _, obs in numbered], dispute_factor)
    warnings = [f"{path}:{lines[id(obs)]}: disputed, not used as a value: {reason}" for obs, reason in disputed]
    return TapeFile(kept, [obs for obs, _ in disputed], sorted(warnings, key=_line_order))


def _line_order(warning: str) -> tuple[str, int]:
    where, _, number = warning.split(": ", 1)[0].rpartition(":")
    return where, int(number) if number.isdigit() else 0


def read_tape(path: Path, dispute_factor: float = DISPUTE_FACTOR) -> list[Observation]:
    """The observations `load_tape` keeps of a snapshot or tape (the disputed ones left out)."""
    return load_tape(path, dispute_factor).observations


def _read(handle: IO[str], name: str) -> Iterator[tuple[int, Observation]]:
    number = 0
    while line := handle.readline(MAX_LINE + 1):  # never a whole 10 GB line in memory
        number += 1
        if len(line) > MAX_LINE:
            raise TapecheckError(f"{name}:{number}: line longer than {MAX_LINE} characters")
        if number > MAX_OBSERVATIONS:
            raise TapecheckError(f"{name}: more than {MAX_OBSERVATIONS:,} lines; split the tape")
        if not line.strip():
            continue
        try:
            yield number, parse_observation(line)
        except TapecheckError as error:
            raise TapecheckError(f"{name}:{number}: {error}") from None


def format_observation(obs: Observation) -> str:
    ts = obs.ts.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({"series": obs.series, "value": obs.value, "unit": obs.unit, "ts": ts,
                       "source": obs.source}, ensure_ascii=False)


def write_observations(observations: Iterable[Observation], handle: IO[str]) -> int:
    count = 0
    for obs in observations:
        handle.write(format_observation(obs) + "\n")
        count += 1
    return count
