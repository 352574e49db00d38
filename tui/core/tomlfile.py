"""Reading a TOML file so that errors can name the line: tomllib gives values, this finds where keys stand."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui.core.model import TapecheckError
from tui.core.userfile import MB, parse_failure, read_bounded

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")
_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+|\"[^\"\\\\]+\")\s*=")  # bare or quoted: "688795.SS" = [...]
MAX_BYTES = 4 * MB  # a TOML file of ours (config, a narrative, names, aliases) may hold this much
MAX_DEPTH = 32  # and nest values this deep: ours nest 3


@dataclass
class TomlFile:
    """A parsed TOML file and the line of each key, addressed as a path like `claims.3.rule.expr`."""

    path: Path
    data: dict[str, Any]
    lines: dict[str, int] = field(default_factory=dict)
    _first_inside: dict[str, int] | None = field(default=None, repr=False)

    def line(self, *path: str | int) -> int:
        """The line of the key at `path`, or of its nearest enclosing table that we know, or 0. Each question
        costs a few dictionary lookups: a file with 10,000 problems is validated in linear time."""
        parts = [str(p) for p in path]
        exact = self.lines.get(".".join(parts))
        if exact:  # the common case, asked for every key while a file is validated
            return exact
        if self._first_inside is None:  # every table's first key below it, made once
            self._first_inside = {}
            for key, number in self.lines.items():
                head = key.split(".")
                for end in range(1, len(head)):
                    prefix = ".".join(head[:end])
                    if number < self._first_inside.get(prefix, number + 1):
                        self._first_inside[prefix] = number
        inside = self._first_inside.get(".".join(parts)) if parts else None
        if inside:
            return inside  # a table known only by its sub-tables ([a.b], [[a]]): the first of them
        while parts:
            found = self.lines.get(".".join(parts))
            if found:
                return found
            parts.pop()
        return 0

    def where(self, *path: str | int) -> str:
        line = self.line(*path)
        return f"{self.path}:{line}" if line else str(self.path)


def read_toml(path: Path, max_bytes: int = MAX_BYTES) -> TomlFile:
    """Parse a TOML file, or raise TapecheckError naming the file and line. Whatever the file holds (gigabytes,
    a value nested 50,000 deep, a number of 5,000 digits, a FIFO), the answer is a value or that one line."""
    raw = read_bounded(path, max_bytes, "TOML file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise TapecheckError(f"{path}:{line}: not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
        deepest = _depth(data)
    except tomllib.TOMLDecodeError as error:
        raise TapecheckError(_toml_error(path, error)) from None
    except Exception as error:  # RecursionError, MemoryError, ValueError (digits), ...: the file is refused
        raise TapecheckError(f"{path}: not valid TOML ({parse_failure(error)})") from None
    if deepest > MAX_DEPTH:
        raise TapecheckError(f"{path}: values nested {deepest} deep; at most {MAX_DEPTH}")
    return TomlFile(path, data, _key_lines(text))


def _depth(value: object) -> int:
    """How deep tables and arrays nest in `value`, walked without recursion."""
    deepest, todo = 0, [(value, 0)]
    while todo:
        item, depth = todo.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            todo.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            todo.extend((v, depth + 1) for v in item)
    return deepest


def _toml_error(path: Path, error: tomllib.TOMLDecodeError) -> str:
    """`FILE:3: not valid TOML (expected '=' after a key, at column 5)`, from tomllib's `... (at line 3,
    column 5)`."""
    found = _AT.search(str(error))
    what = _AT.sub("", str(error)).strip()
    what = what[:1].lower() + what[1:]
    if found is None:
        return f"{path}: not valid TOML ({what})"
    return f"{path}:{found.group(1)}: not valid TOML ({what}, at column {found.group(2)})"


def _key_lines(text: str) -> dict[str, int]:
    """Lines of keys in the plain layout our files use: [table], [[array]], [array.sub], key = value."""
    lines: dict[str, int] = {}
    counts: dict[str, int] = {}
    prefix = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(raw)
        if header:
            name = header.group(2).replace('"', "").replace("'", "").replace(" ", "")
            if header.group(1) == "[[":
                index = counts.get(name, -1) + 1
                counts[name] = index
                prefix = f"{name}.{index}"
            else:
                head, _, rest = name.partition(".")
                prefix = f"{head}.{counts[head]}.{rest}" if head in counts and rest else name
            lines.setdefault(prefix, number)
            continue
        key = _KEY.match(raw)
        if key:
            name = key.group(1).strip('"')
            lines.setdefault(f"{prefix}.{name}" if prefix else name, number)
    return lines
