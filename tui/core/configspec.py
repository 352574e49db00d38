"""A config declared once: the settings dataclasses' fields carry, in their metadata, what a value must be (a
`Spec`: its test, the words an error uses, the same as JSON Schema), a line of documentation and an example. From
those fields alone come the defaults, the checks with `file:line` errors, and the JSON Schema editors read.

A field whose type is a dataclass is a table of its own ([sources.crypto]); a field declared with a `Table` is a
table of keys the dataclass does not fix (an exchange's URL, a binding's keys).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from tui.core.tomlfile import TomlFile

SPEC, DOC, EXAMPLE = "tapecheck.spec", "tapecheck.doc", "tapecheck.example"
JSON_SCHEMA_DRAFT = "http://json-schema.org/draft-04/schema#"  # the newest taplo (Even Better TOML) reads


@dataclass(frozen=True, slots=True)
class Spec:
    """What a value must be: `test` says whether it is, `must` says it in an error, `json` says it to an editor."""

    test: Callable[[Any], bool]
    must: str
    json: dict[str, Any]
    secret: bool = False  # a credential: its value is never repeated in an error


@dataclass(frozen=True, slots=True)
class Table:
    """A table of keys the dataclass does not fix: the `names` listed, or any key when none are, each holding a
    value `each` checks (or a table of its own)."""

    each: Spec | Table
    names: tuple[str, ...] = ()


def setting(default: Any, spec: Spec | Table, doc: str, example: Any = None, repr: bool = True) -> Any:
    """A config key's field: its default, what it must be, what it is for, and an example of a value."""
    meta = {SPEC: spec, DOC: doc, **({EXAMPLE: example} if example is not None else {})}
    if isinstance(default, dict | list):
        return field(default_factory=lambda: type(default)(default), metadata=meta, repr=repr)
    return field(default=default, metadata=meta, repr=repr)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def seconds(low: float, high: float) -> Spec:
    """A number of seconds from `low` to `high`: a value past them would overflow a clock's arithmetic later."""
    return Spec(lambda v: _number(v) and low <= v <= high, f"a number of seconds from {low:,g} to {high:,}",
                {"type": "number", "minimum": low, "maximum": high})


def number(low: float, high: float, must: str) -> Spec:
    return Spec(lambda v: _number(v) and low <= v <= high, must, {"type": "number", "minimum": low, "maximum": high})


def whole(low: int, high: int, must: str) -> Spec:
    return Spec(lambda v: _whole(v) and low <= v <= high, must, {"type": "integer", "minimum": low, "maximum": high})


def one_of(values: tuple[str, ...]) -> Spec:
    return Spec(lambda v: v in values, f"one of {', '.join(values)}", {"type": "string", "enum": list(values)})


def text(test: Callable[[str], bool], must: str, **json: Any) -> Spec:
    """A string that passes `test`."""
    return Spec(lambda v: isinstance(v, str) and test(v), must, {"type": "string", **json})


BOOL = Spec(lambda v: isinstance(v, bool), "true or false", {"type": "boolean"})


def strings(test: Callable[[list[Any]], bool], must: str, **json: Any) -> Spec:
    """A list of strings that passes `test`."""
    return Spec(lambda v: isinstance(v, list) and all(isinstance(s, str) for s in v) and test(v), must,
                {"type": "array", "items": {"type": "string"}, **json})


# The declaration, read once per class: a table's keys with a value, its sub-tables, and what any other key holds.


@dataclass(frozen=True, slots=True)
class Node:
    path: str
    values: dict[str, Spec]
    tables: dict[str, Node]
    other: Spec | Node | None = None  # what a key not named holds: None refuses it

    def walk(self) -> Iterator[Node]:
        yield self
        for table in self.tables.values():
            yield from table.walk()
        if isinstance(self.other, Node):
            yield from self.other.walk()

    def sections(self) -> list[str]:
        """The tables a user writes keys into, for `did you mean`."""
        return sorted(n.path for n in self.walk() if (n.values or isinstance(n.other, Spec)) and "*" not in n.path)


@cache
def _hints(cls: type) -> dict[str, Any]:
    """The field types of dataclass `cls`, evaluated once (they are strings under `from __future__ import
    annotations`, and evaluating them costs more than the rest of loading a config)."""
    return typing.get_type_hints(cls)


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


@cache
def tree(cls: type, path: str = "") -> Node:
    """The declaration of dataclass `cls`, as the table at `path`."""
    node = Node(path, {}, {})
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        spec = f.metadata.get(SPEC)
        if dataclasses.is_dataclass(hints[f.name]):
            node.tables[f.name] = tree(hints[f.name], _join(path, f.name))
        elif isinstance(spec, Table):
            node.tables[f.name] = _table(spec, _join(path, f.name))
        elif isinstance(spec, Spec):
            node.values[f.name] = spec
    return node


def _table(table: Table, path: str) -> Node:
    each = table.each
    if not table.names:
        return Node(path, {}, {}, each if isinstance(each, Spec) else _table(each, f"{path}.*"))
    if isinstance(each, Spec):
        return Node(path, dict.fromkeys(table.names, each), {})
    return Node(path, {}, {name: _table(each, f"{path}.{name}") for name in table.names})


# Checking a file against the declaration: every problem named by file, key and line.


def problems(doc: TomlFile, root: type, hints: dict[str, str] | None = None) -> list[str]:
    """Every problem of `doc` against the declaration `root`; `hints` adds words to `[table] must be a table`."""
    top = tree(root)
    return _check(doc, top, top, doc.data, "", hints or {})


def _check(doc: TomlFile, top: Node, node: Node, table: dict[str, Any], prefix: str, hints: dict[str, str]
           ) -> list[str]:
    """The problems of `table`, at `prefix` in the file, against `node` of the declaration."""
    found = []
    for key, value in table.items():
        path = _join(prefix, key)
        where = doc.where(*path.split("."))
        sub = node.tables.get(key) or (node.other if isinstance(node.other, Node) else None)
        if sub is not None:
            if isinstance(value, dict):
                found += _check(doc, top, sub, value, path, hints)
            else:
                found.append(f"{where}: [{path}] must be a table{hints.get(path, '')}")
            continue
        spec = node.values.get(key) or (node.other if isinstance(node.other, Spec) else None)
        if spec is None:
            found.append(f"{where}: {_unknown(top, node, prefix, key, value)}")
        elif not spec.test(value):
            found.append(f"{where}: {path} = {'(hidden)' if spec.secret else repr(value)} must be {spec.must}")
    return found


def _unknown(top: Node, node: Node, prefix: str, key: str, value: object) -> str:
    """`unknown section [bogus] (did you mean [display]?)`, `unknown key poller.foo (did you mean ...?)`."""
    path = _join(prefix, key)
    if isinstance(value, dict) or (isinstance(value, list) and value and all(isinstance(v, dict) for v in value)):
        near = difflib.get_close_matches(path, top.sections(), n=1)
        return f"unknown section [{path}]" + (f" (did you mean [{near[0]}]?)" if near else "")
    if not prefix:
        owner = next((n.path for n in top.walk() if key in n.values), None)
        return f"unknown key {key} outside any section" + (f" (it belongs under [{owner}])" if owner else "")
    near = difflib.get_close_matches(key, list(node.values), n=1)
    return f"unknown key {path}" + (f" (did you mean {prefix}.{near[0]}?)" if near else "")


# The defaults, and the settings built from checked data.


def _plain(value: Any) -> Any:
    """A default as TOML (and JSON) has it: tuples as lists."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def defaults(cls: type) -> dict[str, Any]:
    """The declared defaults of dataclass `cls`, as the nested tables a TOML file would hold."""
    hints, made = _hints(cls), cls()
    return {f.name: defaults(hints[f.name]) if dataclasses.is_dataclass(hints[f.name])
            else _plain(getattr(made, f.name)) for f in dataclasses.fields(cls)}


def build(cls: type, table: dict[str, Any], **given: Any) -> Any:
    """An instance of dataclass `cls` from checked data: sub-tables built alike, lists made tuples where the
    field is one; `given` sets fields outright."""
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in given or f.name not in table:
            continue
        hint, value = hints[f.name], table[f.name]
        if dataclasses.is_dataclass(hint):
            values[f.name] = build(typing.cast(type, hint), value)
        elif typing.get_origin(hint) is tuple:
            values[f.name] = tuple(value)
        elif isinstance(value, dict):
            values[f.name] = {k: dict(v) if isinstance(v, dict) else v for k, v in value.items()}
        else:
            values[f.name] = value
    return cls(**values, **given)


# The JSON Schema for editors.


def json_schema(root: type, title: str) -> dict[str, Any]:
    return {"$schema": JSON_SCHEMA_DRAFT, "title": title, **_object(root)}


def _object(cls: type) -> dict[str, Any]:
    hints = _hints(cls)
    properties: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        spec = f.metadata.get(SPEC)
        if dataclasses.is_dataclass(hints[f.name]):
            properties[f.name] = _object(hints[f.name])
            continue
        if spec is None:
            continue
        entry = _table_schema(spec) if isinstance(spec, Table) else dict(spec.json)
        entry["description"] = f.metadata[DOC]
        if isinstance(spec, Spec) and not spec.secret:
            entry["default"] = _plain(getattr(cls(), f.name))
        if EXAMPLE in f.metadata:
            entry["examples"] = [_plain(f.metadata[EXAMPLE])]
        properties[f.name] = entry
    doc = cls.__doc__ or ""  # a dataclass without a docstring is given its signature: not worth showing
    described = {"description": " ".join(doc.split())} if doc and not doc.startswith(f"{cls.__name__}(") else {}
    return {"type": "object", **described, "properties": properties, "additionalProperties": False}


def _table_schema(table: Table) -> dict[str, Any]:
    each = table.each.json if isinstance(table.each, Spec) else _table_schema(table.each)
    if not table.names:
        return {"type": "object", "additionalProperties": each}
    return {"type": "object", "properties": dict.fromkeys(table.names, each), "additionalProperties": False}
