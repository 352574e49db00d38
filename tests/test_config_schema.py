"""Config declared once: the dataclasses' fields give the defaults, the checks and the JSON Schema editors read
(`tapecheck config-schema`), and the shipped config.toml states exactly what they declare."""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
import typing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.cli import main
from tui.core.config import ConfigFile, config_schema, load_settings, shipped_config_path
from tui.core.configspec import SPEC, Table, defaults, json_schema, problems, setting, tree, whole
from tui.core.model import TapecheckError
from tui.core.tomlfile import read_toml

DRAFT4 = {"$schema", "title", "description", "default", "examples", "type", "enum", "minimum", "maximum", "pattern",
          "properties", "additionalProperties", "items", "minItems", "maxItems", "minLength", "maxLength", "required"}
TYPES = {"object": dict, "array": list, "string": str, "boolean": bool}


def valid(schema: dict[str, Any], value: Any) -> bool:
    """`value` against the JSON Schema keywords config-schema uses (draft 4, as taplo reads it)."""
    kind = schema.get("type")
    if kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, int if kind == "integer" else int | float):
            return False
        if not schema.get("minimum", value) <= value <= schema.get("maximum", value):
            return False
    elif kind is not None and not isinstance(value, TYPES[kind]):
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return False
        if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value)):
            return False
    if isinstance(value, list):
        if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value)):
            return False
        return all(valid(schema.get("items", {}), v) for v in value)
    if isinstance(value, dict):
        if any(key not in value for key in schema.get("required", ())):
            return False
        for key, item in value.items():
            sub = schema.get("properties", {}).get(key, schema.get("additionalProperties", {}))
            if sub is False or (isinstance(sub, dict) and not valid(sub, item)):
                return False
    return True


def keywords(schema: Any) -> set[str]:
    """Every keyword the schema uses, at any depth (property names are not keywords)."""
    if not isinstance(schema, dict):
        return set()
    found = set(schema) - {"properties"}
    for key, value in schema.items():
        if key == "properties":
            found |= {k for v in value.values() for k in keywords(v)}
        elif key in ("items", "additionalProperties"):
            found |= keywords(value)
    return found


def leaves(schema: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Dotted key -> its schema, for every key that holds a value (tables walked, `*` for any key)."""
    found: dict[str, dict[str, Any]] = {}
    if schema.get("type") != "object":
        return {prefix: schema}
    for key, sub in schema.get("properties", {}).items():
        found |= leaves(sub, f"{prefix}.{key}" if prefix else key)
    if isinstance(schema.get("additionalProperties"), dict):
        found |= leaves(schema["additionalProperties"], f"{prefix}.*")
    return found


def declared(cls: type, prefix: str = "") -> set[str]:
    """Dotted key of every field the dataclasses declare, read from dataclasses.fields alone."""
    hints = typing.get_type_hints(cls)
    found: set[str] = set()
    for f in dataclasses.fields(cls):
        path = f"{prefix}.{f.name}" if prefix else f.name
        if dataclasses.is_dataclass(hints[f.name]):
            found |= declared(hints[f.name], path)
        elif f.metadata.get(SPEC) is not None:
            found.add(path)
    return found


def test_the_command_prints_a_draft4_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config-schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == config_schema()
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#" and schema["type"] == "object"
    assert keywords(schema) <= DRAFT4, keywords(schema) - DRAFT4
    keys = leaves(schema)
    assert keys["display.lang"]["enum"] == ["en", "zh"] and keys["display.bell"]["type"] == "boolean"
    assert (keys["staleness.crypto"]["type"], keys["staleness.crypto"]["minimum"],
            keys["staleness.crypto"]["maximum"]) == ("number", 1, 31_536_000)
    assert (keys["store.retention_days"]["type"], keys["store.retention_days"]["minimum"],
            keys["store.retention_days"]["maximum"]) == ("integer", 1, 3650)
    assert (keys["poller.dispute_factor"]["minimum"], keys["poller.dispute_factor"]["maximum"]) == (1.5, 1000)
    assert (keys["narratives.max_claims"]["minimum"], keys["narratives.max_claims"]["maximum"]) == (1, 50_000)
    assert keys["alerts.rules"]["items"]["properties"]["op"]["enum"] == ["<", "<=", ">", ">="]
    assert keys["sources.crypto.urls.*"]["pattern"].startswith("^https?://")
    assert set(schema["properties"]["keys"]["properties"]) >= {"quit", "help", "console", "alerts"}
    assert keys["sources.crypto.exchanges"]["default"] == ["binance", "coinbase", "kraken", "okx"]
    for table in ("display", "staleness", "sources", "poller", "collector", "narratives", "draft", "alerts", "store"):
        for key, sub in schema["properties"][table].get("properties", {}).items():
            assert sub.get("description"), f"{table}.{key} has no description"


def test_the_schema_needs_no_config_and_takes_no_config_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[display\n")
    monkeypatch.setenv("TAPECHECK_CONFIG", str(broken))
    assert main(["config-schema"]) == 0  # the file the schema would help fix does not stop it
    assert json.loads(capsys.readouterr().out)["title"] == "tapecheck config.toml"
    assert main(["--config", str(broken), "config-schema"]) == 2
    assert "--config does not apply to `config-schema`" in capsys.readouterr().err


def test_the_schema_has_every_declared_key_and_no_other() -> None:
    """The schema's keys are the dataclasses' fields: a field added there is in the schema with nothing else done."""
    fields = declared(ConfigFile)
    owners = {key: [f for f in fields if key == f or key.startswith(f + ".")] for key in leaves(config_schema())}
    assert all(len(owner) == 1 for owner in owners.values()), owners  # each key in the schema is one field's
    assert {owner[0] for owner in owners.values()} == fields  # and each field is in the schema


def test_a_field_added_to_a_dataclass_is_checked_defaulted_and_in_the_schema(tmp_path: Path) -> None:
    @dataclasses.dataclass(frozen=True)
    class Extra:
        """[extra]: a table made up for this test."""

        depth: int = setting(3, whole(0, 9, "a whole number from 0 to 9"), "how deep", example=5)

    @dataclasses.dataclass(frozen=True)
    class Grown(ConfigFile):
        extra: Extra = dataclasses.field(default_factory=Extra)

    Grown.__annotations__["extra"] = Extra  # the class itself: a local name would not resolve from its string
    schema = json_schema(Grown, "grown")
    assert schema["properties"]["extra"]["properties"]["depth"] == {
        "type": "integer", "minimum": 0, "maximum": 9, "description": "how deep", "default": 3, "examples": [5]}
    assert declared(Grown) == declared(ConfigFile) | {"extra.depth"}
    assert defaults(Grown)["extra"] == {"depth": 3}
    path = tmp_path / "c.toml"
    path.write_text("[extra]\n\ndepth = 12\ndpeth = 1\n")
    assert problems(read_toml(path), Grown) == [f"{path}:3: extra.depth = 12 must be a whole number from 0 to 9",
                                                f"{path}:4: unknown key extra.dpeth (did you mean extra.depth?)"]
    assert "extra" in tree(Grown).sections()


def test_shipped_config_states_the_declared_defaults_and_every_section() -> None:
    shipped = tomllib.loads(shipped_config_path().read_text())
    assert valid(config_schema(), shipped), "config.toml fails its own schema"
    assert not problems(read_toml(shipped_config_path()), ConfigFile)
    declared_defaults = defaults(ConfigFile)

    def same(found: dict[str, Any], wanted: dict[str, Any], prefix: str) -> None:
        for key, value in found.items():
            assert key in wanted, f"config.toml sets {prefix}{key}, which is not declared"
            if isinstance(value, dict):
                same(value, wanted[key], f"{prefix}{key}.")
            else:
                assert value == wanted[key], f"config.toml says {prefix}{key} = {value!r}, declared {wanted[key]!r}"

    same(shipped, declared_defaults, "")
    text = shipped_config_path().read_text()
    for section in tree(ConfigFile).sections():
        assert re.search(rf"^#? ?\[{re.escape(section)}\]", text, re.M), f"config.toml never shows [{section}]"
    assert "[sources.crypto.credentials." in text and "[[alerts.rules]]" in text
    for key in declared(ConfigFile):  # every key with a value of its own is set (and so documented) in config.toml
        table, _, name = key.rpartition(".")
        spec = _spec(key)
        if isinstance(spec, Table) or key == "alerts.rules":
            continue
        assert name in _dig(shipped, table), f"config.toml does not document {key}"
    assert "tapecheck config-schema" in text.split("\n\n")[0], "config.toml's header does not name config-schema"


def _dig(data: dict[str, Any], dotted: str) -> dict[str, Any]:
    for part in dotted.split(".") if dotted else ():
        data = data[part]
    return data


def _spec(dotted: str) -> Any:
    cls: Any = ConfigFile
    *tables, name = dotted.split(".")
    for part in tables:
        cls = typing.get_type_hints(cls)[part]
    return next(f for f in dataclasses.fields(cls) if f.name == name).metadata[SPEC]


BOUNDED = [(key, sub) for key, sub in leaves(config_schema()).items() if "minimum" in sub and "*" not in key]


@pytest.mark.parametrize(("key", "schema"), BOUNDED, ids=[key for key, _ in BOUNDED])
def test_the_schema_and_the_checks_agree_on_every_bound(tmp_path: Path, key: str, schema: dict[str, Any]) -> None:
    low, high = schema["minimum"], schema["maximum"]
    step = 1 if schema["type"] == "integer" else max(abs(high) * 1e-9, 1e-6)
    table, _, name = key.rpartition(".")
    cases = [low, high, low - step, high + step, str(low), True, float("inf"), float("nan")]
    if schema["type"] == "integer":
        cases.append(float(low))
    for value in cases:
        path = tmp_path / "c.toml"
        literal = toml_value(value)
        # backoff_max_s is also checked against backoff_base_s: give the other its widest value
        other = {"poller.backoff_max_s": "backoff_base_s = 0.01\n",
                 "poller.backoff_base_s": "backoff_max_s = 86400\n"}.get(key, "")
        path.write_text(f"[{table}]\n{name} = {literal}\n{other}")
        try:
            load_settings(path)
            loads = True
        except TapecheckError as error:
            loads = False
            assert f"{path}:2: {key} = " in str(error)
        assert loads == (value == value and valid(schema, value)), (key, value)


SCALARS = st.one_of(st.booleans(), st.integers(-10**20, 10**20), st.floats(), st.text(max_size=20),
                    st.lists(st.text(max_size=5), max_size=3))
VALUES = st.recursive(SCALARS, lambda inner: st.dictionaries(st.sampled_from(["a", "quit", "apiKey", "x"]), inner,
                                                             max_size=3), max_leaves=6)
TABLES = sorted({key.rpartition(".")[0] or key for key in leaves(config_schema())})
NAMES = sorted({part for key in leaves(config_schema()) for part in key.split(".")} | {"bogus"})


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if value != value else {float("inf"): "inf", float("-inf"): "-inf"}.get(value, repr(value))
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(TABLES), st.sampled_from(NAMES), VALUES), max_size=6))
def test_any_value_in_any_declared_table_loads_or_names_its_line(tmp_path: Path,
                                                                  entries: list[tuple[str, str, Any]]) -> None:
    """Hostile values where the declaration expects others: every problem is one line naming the file and line."""
    tables: dict[str, dict[str, Any]] = {}
    for table, name, value in entries:
        tables.setdefault(table.replace(".*", ".binance"), {})[name] = value
    path = tmp_path / "c.toml"
    path.write_text("".join(f"[{table}]\n" + "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in keys.items())
                            for table, keys in tables.items()))
    try:
        load_settings(path)
    except TapecheckError as error:
        for line in str(error).splitlines():
            assert re.match(rf"{re.escape(str(path))}(:\d+)?: ", line), line
            assert "Traceback" not in line


def test_staleness_declares_a_maximum_age_for_every_series_kind() -> None:
    """The kinds are declared once, in the model; [staleness] has a key for each (max_age_s reads it by name)."""
    from tui.core.config import Staleness
    from tui.core.model import SERIES_KINDS

    assert {f.name for f in dataclasses.fields(Staleness)} - {"history_days"} == set(SERIES_KINDS)
