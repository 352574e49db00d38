"""config.toml → validated, frozen settings, built once and passed in.

Discovery order: --config PATH, $TAPECHECK_CONFIG, the user config dir, the shipped defaults. A user file
only overrides: keys it leaves out keep the shipped values. Every problem names the file, the key and the line.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tui.core import format as fmt
from tui.core.model import Rule, SeriesId, TapecheckError
from tui.core.tomlfile import TomlFile, read_toml

ENV_VAR = "TAPECHECK_CONFIG"
LANGS = ("en", "zh")
SERIES_KINDS = ("crypto", "equity", "index", "fx", "commodity", "network")


def shipped_config_path() -> Path:
    """The defaults: packaged beside the code in a wheel, at the repository root in a checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "default_config.toml"
    return packaged if packaged.exists() else here.parent.parent / "config.toml"


def user_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("tapecheck")) / "config.toml"


@dataclass(frozen=True, slots=True)
class Staleness:
    """Seconds after which a live value is stale, per series kind; days for daily histories."""

    crypto: float
    equity: float
    index: float
    fx: float
    commodity: float
    network: float
    history_days: int

    def max_age_s(self, series: str) -> float:
        kind = SeriesId.parse(series).kind
        return float(getattr(self, kind))


@dataclass(frozen=True, slots=True)
class CryptoSettings:
    exchanges: tuple[str, ...]
    interval_s: float
    timeout_s: float
    history_interval_s: float
    urls: dict[str, str]  # exchange id -> API base URL replacing urls["api"]
    # exchange id -> ccxt credentials (apiKey, secret, ...): never needed for public prices, never shown or logged
    credentials: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class EquitiesSettings:
    interval_s: float
    timeout_s: float
    history_interval_s: float
    base_url: str = ""  # empty: Yahoo's own hosts; else every *.yahoo.com request goes here


@dataclass(frozen=True, slots=True)
class HashrateSettings:
    base_url: str
    fallback_url: str
    interval_s: float
    timeout_s: float


DISPUTE_FACTOR = (1.5, 1000.0)  # the bounds of poller.dispute_factor


@dataclass(frozen=True, slots=True)
class PollerSettings:
    backoff_base_s: float
    backoff_max_s: float
    # a value this many times above or below the other sources of its asset (or its own recent past) is disputed
    dispute_factor: float = 4.0


@dataclass(frozen=True, slots=True)
class StoreSettings:
    path: str
    retention_days: int
    url: str = field(default="", repr=False)  # a PostgreSQL URL; set, it replaces `path` (it may hold a password)


@dataclass(frozen=True, slots=True)
class CollectorSettings:
    linger_s: float = 300  # a collector a dashboard started stops this long after the last dashboard left


BINDING_IDS = ("quit", "help", "diverged", "refresh", "pause", "sources", "lang", "filter", "console", "alerts")


@dataclass(frozen=True, slots=True)
class DraftSettings:
    aliases: str = ""  # an alias file for `tapecheck draft`; empty: aliases.toml in the user config dir, if any

    def aliases_path(self) -> Path | None:
        """The user's alias file: the one named here, else aliases.toml beside the user config, else None."""
        if self.aliases:
            return Path(self.aliases).expanduser()
        beside = user_config_path().parent / "aliases.toml"
        return beside if beside.exists() else None


@dataclass(frozen=True, slots=True)
class AlertRule:
    """A user's own alert: `rule.expr op value unit`, met or not; `name` is what alerts call it."""

    name: str
    rule: Rule


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """[alerts]: what the collector alerts on, how it steadies flapping values, and how it delivers."""

    hysteresis_pct: float = 0.5  # a level counts as crossed once cleared by this percent of it
    cooldown_s: float = 300  # after an alert, a claim's or rule's next one waits this long
    on_stale: bool = False  # also alert when a claim turns stale
    on_no_data: bool = False  # and when it has no data
    command: tuple[str, ...] = ()  # argv run with the alert as JSON on stdin; empty: none
    command_timeout_s: float = 10
    desktop: bool = False  # notify-send (Linux) or osascript (macOS), where present
    rules: tuple[AlertRule, ...] = ()




@dataclass(frozen=True, slots=True)
class Settings:
    lang: str
    bell: bool
    keys: dict[str, str]  # binding id -> keys, for App.set_keymap
    staleness: Staleness
    crypto: CryptoSettings
    equities: EquitiesSettings
    hashrate: HashrateSettings
    poller: PollerSettings
    store: StoreSettings
    files: tuple[Path, ...]
    warnings: tuple[str, ...] = ()  # problems worth saying that do not stop the program
    theme: str = "textual-dark"  # a Textual theme's name, or tapecheck's "tapecheck-colour-blind"
    collector: CollectorSettings = field(default_factory=CollectorSettings)
    narrative_dirs: tuple[Path, ...] = ()  # the user's own article folders, absolute; the first gets new files
    max_claims: int = 5000  # the user's claims a desk loads at most ([narratives] max_claims)
    draft: DraftSettings = field(default_factory=DraftSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)

    def secrets(self) -> tuple[str, ...]:
        """Every credential value in the config, for the log to mask."""
        from tui.core.urls import url_secrets

        return (*(v for creds in self.crypto.credentials.values() for v in creds.values()),
                *url_secrets(self.store.url))


Check = tuple[Callable[[Any], bool], str]  # a test of a value, and what the value must be


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _url(value: Any) -> bool:
    if not isinstance(value, str) or not value.isprintable() or any(c.isspace() for c in value):
        return False
    try:  # urlparse raises on a malformed IPv6 host ("http://[::1"), .port on a port out of range
        parsed = urlparse(value)
        parsed.port  # noqa: B018
    except ValueError:
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.hostname)


def seconds(low: float, high: float) -> Check:
    """A number of seconds from `low` to `high`: a value past them would overflow a clock's arithmetic later."""
    return (lambda v: _number(v) and low <= v <= high, f"a number of seconds from {low:,g} to {high:,}")


def days(low: int, high: int) -> Check:
    return (lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high,
            f"a whole number of days from {low} to {high}")


def _exchanges(value: Any) -> bool:
    return (isinstance(value, list) and bool(value)
            and all(isinstance(v, str) and v.isidentifier() and v.islower() for v in value))


# ccxt's credential fields; their values are never repeated in an error message, the log or the screen
CREDENTIAL_KEYS = ("apiKey", "secret", "password", "uid")
URL: Check = (_url, "an http:// or https:// URL with a host")
YEAR_S, DAY_S = 365 * 86_400, 86_400
# The bounds of every number, as config.toml states them. Intervals go down to a millisecond for local fakes and
# proxies; the upper bounds keep every date computed from them (now minus a staleness, minus a retention) real.
STALENESS_S = seconds(1, YEAR_S)
INTERVAL_S = seconds(0.001, DAY_S)
TIMEOUT_S = seconds(0.1, 600)
HISTORY_INTERVAL_S = seconds(1, 30 * DAY_S)
BACKOFF_S = seconds(0.01, DAY_S)
LINGER_S = seconds(1, 7 * DAY_S)
HYSTERESIS_PCT = (0.0, 50.0)
MAX_CLAIMS = (1, 50_000)  # the bounds of [narratives] max_claims: validation and judging stay linear below it
ALERT_OPS = ("<", "<=", ">", ">=")
_RULE_KEYS = {"name", "expr", "op", "value", "unit"}
BOOL: Check = (lambda v: isinstance(v, bool), "true or false")


def _argv(value: Any) -> bool:
    return (isinstance(value, list) and len(value) <= 64 and all(
        isinstance(v, str) and v and "\0" not in v and len(v) <= 4096 for v in value))

# section -> key -> check; "*" allows any key with that check.
_SCHEMA: dict[str, dict[str, Check]] = {
    "display": {"lang": (lambda v: v in LANGS, f"one of {', '.join(LANGS)}"),
                "bell": (lambda v: isinstance(v, bool), "true or false"),
                "theme": (lambda v: isinstance(v, str) and bool(re.fullmatch(r"[a-z0-9-]{1,40}", v)),
                          "a theme's name, such as \"textual-light\" or \"tapecheck-colour-blind\"")},
    "keys": {name: (lambda v: isinstance(v, str) and bool(v.strip()), "one or more keys, e.g. \"q\" or \"q,ctrl+c\"")
             for name in BINDING_IDS},
    "staleness": {**{kind: STALENESS_S for kind in SERIES_KINDS}, "history_days": days(0, 3650)},
    "sources.crypto": {"exchanges": (_exchanges, "a non-empty list of ccxt exchange ids such as \"binance\""),
                       "interval_s": INTERVAL_S, "timeout_s": TIMEOUT_S, "history_interval_s": HISTORY_INTERVAL_S},
    "sources.crypto.urls": {"*": URL},
    "sources.crypto.credentials.*": {key: (lambda v: isinstance(v, str) and bool(v), "a non-empty string")
                                     for key in CREDENTIAL_KEYS},
    "sources.equities": {"interval_s": INTERVAL_S, "timeout_s": TIMEOUT_S, "history_interval_s": HISTORY_INTERVAL_S,
                         "base_url": (lambda v: v == "" or _url(v), "empty, or an http:// or https:// URL")},
    "sources.hashrate": {"base_url": URL, "fallback_url": URL, "interval_s": INTERVAL_S, "timeout_s": TIMEOUT_S},
    "poller": {"backoff_base_s": BACKOFF_S, "backoff_max_s": BACKOFF_S,
               "dispute_factor": (lambda v: isinstance(v, int | float) and not isinstance(v, bool)
                                  and DISPUTE_FACTOR[0] <= v <= DISPUTE_FACTOR[1],
                                  f"a number from {DISPUTE_FACTOR[0]:g} to {DISPUTE_FACTOR[1]:g}")},
    "collector": {"linger_s": LINGER_S},
    "narratives": {"dirs": (lambda v: isinstance(v, list) and all(isinstance(d, str) and d.strip() and d.isprintable()
                                                                  for d in v),
                            "a list of folder paths, e.g. [\"narratives\", \"~/articles\"]"),
                   "max_claims": (lambda v: isinstance(v, int) and not isinstance(v, bool) and
                                  MAX_CLAIMS[0] <= v <= MAX_CLAIMS[1],
                                  f"a whole number of claims from {MAX_CLAIMS[0]} to {MAX_CLAIMS[1]:,}")},
    "draft": {"aliases": (lambda v: isinstance(v, str), "a path to an alias file (a string; empty for the default)")},
    "alerts": {"hysteresis_pct": (lambda v: _number(v) and HYSTERESIS_PCT[0] <= v <= HYSTERESIS_PCT[1],
                                  f"a percentage from {HYSTERESIS_PCT[0]:g} to {HYSTERESIS_PCT[1]:g}"),
               "cooldown_s": seconds(0, 7 * DAY_S), "on_stale": BOOL, "on_no_data": BOOL,
               "command": (_argv, "a list of up to 64 strings, the program first, e.g. [\"notify.py\", \"--desk\"]"),
               "command_timeout_s": seconds(0.1, 600), "desktop": BOOL,
               "rules": (lambda v: isinstance(v, list), "[[alerts.rules]] tables")},
    "store": {"path": (lambda v: isinstance(v, str), "a path (a string; empty for the default)"),
              "retention_days": days(1, 3650),
              "url": (lambda v: isinstance(v, str) and (v == "" or v.startswith(("postgresql://", "postgres://"))),
                      "empty, or a postgresql://user@host:port/database URL")},
}


def _schema_name(path: str) -> str:
    """The schema entry of a table: its own path, or its parent's `.*` entry (one table per exchange)."""
    parent, _, _ = path.rpartition(".")
    return path if path in _SCHEMA or f"{parent}.*" not in _SCHEMA else f"{parent}.*"


def _validate(doc: TomlFile, table: dict[str, Any], prefix: str = "") -> list[str]:
    problems = []
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else key
        where = doc.where(*path.split("."))
        if _schema_name(path) in _SCHEMA:
            if not isinstance(value, dict):
                hint = " (alert rules go in [[alerts.rules]] tables)" if path == "alerts" else ""
                problems.append(f"{where}: [{path}] must be a table{hint}")
            else:
                problems += _validate(doc, value, path)
            continue
        if any(name.startswith(path + ".") for name in _SCHEMA) and isinstance(value, dict):
            problems += _validate(doc, value, path)
            continue
        checks = _SCHEMA.get(_schema_name(prefix), {})
        check = checks.get(key) or checks.get("*")
        shown = "(hidden)" if key in CREDENTIAL_KEYS else repr(value)
        if check is None:
            problems.append(f"{where}: {_unknown(path, prefix, key, value, checks)}")
        elif not check[0](value):
            problems.append(f"{where}: {path} = {shown} must be {check[1]}")
    return problems


def _unknown(path: str, prefix: str, key: str, value: object, checks: dict[str, Any]) -> str:
    """`unknown section [bogus] (did you mean [display]?)`, `unknown key poller.foo (known: ...)`."""
    import difflib

    if isinstance(value, dict) or (isinstance(value, list) and value and all(isinstance(v, dict) for v in value)):
        sections = sorted({name for name in _SCHEMA if "*" not in name})
        near = difflib.get_close_matches(path, sections, n=1)
        return f"unknown section [{path}]" + (f" (did you mean [{near[0]}]?)" if near else "")
    if not prefix:
        owner = next((name for name, keys in _SCHEMA.items() if key in keys), None)
        return f"unknown key {key} outside any section" + (f" (it belongs under [{owner}])" if owner else "")
    near = difflib.get_close_matches(key, [k for k in checks if k != "*"], n=1)
    return f"unknown key {path}" + (f" (did you mean {prefix}.{near[0]}?)" if near else "")


def _exposed(doc: TomlFile) -> str | None:
    """A warning when a config file holding credentials can be read by other users."""
    if not doc.data.get("sources", {}).get("crypto", {}).get("credentials"):
        return None
    try:
        mode = doc.path.stat().st_mode
    except OSError:
        return None
    if not mode & 0o077:
        return None
    return (f"{doc.path}: holds exchange credentials but other users may read it (mode {mode & 0o777:o}); "
            f"run: chmod 600 {doc.path}")


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(path: Path | None = None) -> Settings:
    """Settings from the shipped defaults overlaid with the first user file found, or TapecheckError."""
    shipped = read_toml(shipped_config_path())
    chosen = path or (Path(os.environ[ENV_VAR]) if os.environ.get(ENV_VAR) else None)
    if chosen is None and user_config_path().exists():
        chosen = user_config_path()
    docs = [shipped] + ([read_toml(chosen)] if chosen else [])
    problems = [p for doc in docs for p in _validate(doc, doc.data)]
    data: dict[str, Any] = {}
    for doc in docs:
        data = _merge(data, doc.data)
    if not problems and data["poller"]["backoff_max_s"] < data["poller"]["backoff_base_s"]:
        problems.append(f"{docs[-1].where('poller')}: poller.backoff_max_s is below poller.backoff_base_s")
    rules = [r for doc in docs for r in _alert_rules(doc, problems)]
    if problems:
        raise TapecheckError("\n".join(problems))
    alerts = dict(data.get("alerts", {}))
    alerts.pop("rules", None)
    src = data["sources"]
    crypto = src["crypto"]
    return Settings(
        lang=data["display"]["lang"],
        bell=data["display"]["bell"],
        theme=data["display"]["theme"],
        keys=dict(data.get("keys", {})),
        staleness=Staleness(**data["staleness"]),
        crypto=CryptoSettings(tuple(crypto["exchanges"]), crypto["interval_s"], crypto["timeout_s"],
                              crypto["history_interval_s"], dict(crypto.get("urls", {})),
                              {k: dict(v) for k, v in crypto.get("credentials", {}).items()}),
        equities=EquitiesSettings(**src["equities"]),
        hashrate=HashrateSettings(**src["hashrate"]),
        poller=PollerSettings(**data["poller"]),
        store=StoreSettings(**data["store"]),
        files=tuple(doc.path for doc in docs),
        warnings=tuple(w for w in map(_exposed, docs) if w),
        collector=CollectorSettings(**data.get("collector", {})),
        narrative_dirs=narrative_dirs(data.get("narratives", {}).get("dirs", [])),
        max_claims=data.get("narratives", {}).get("max_claims", 5000),
        draft=DraftSettings(**data.get("draft", {})),
        alerts=AlertSettings(**{**alerts, "command": tuple(alerts.get("command", ())), "rules": tuple(rules)}),
    )


def narrative_dirs(paths: list[str]) -> tuple[Path, ...]:
    """`[narratives] dirs` as absolute paths: "~" expanded, a relative path taken from the user config dir."""
    base = user_config_path().parent
    return tuple(dict.fromkeys(base / Path(p).expanduser() for p in paths))


def _alert_rules(doc: TomlFile, problems: list[str]) -> list[AlertRule]:
    """The [[alerts.rules]] of one file, each checked as a claim's rule is (series, units, op), every problem
    named by file and line."""
    entries = doc.data.get("alerts", {}).get("rules", []) if isinstance(doc.data.get("alerts"), dict) else []
    if not entries:
        return []
    from tui.core.narratives.claims import build_rule  # the rule language, loaded only for a config that has rules
    rules: list[AlertRule] = []
    names: set[str] = set()
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        before = len(problems)

        def bad(key: str, message: str, index: int = index) -> None:
            problems.append(f"{doc.where('alerts', 'rules', index, *([key] if key else []))}: "
                            f"alerts.rules[{index + 1}]: {message}")

        if not isinstance(entry, dict):
            bad("", "each [[alerts.rules]] entry must be a table with expr, op, value, unit")
            continue
        for key in sorted(set(entry) - _RULE_KEYS):
            bad(key, f"unknown key {key!r} (known: {', '.join(sorted(_RULE_KEYS))})")
        for key in sorted(_RULE_KEYS - {"name"} - set(entry)):
            bad("", f"needs {key}")
        if len(problems) > before:
            continue
        if entry.get("unit") == "date":
            bad("unit", "an alert compares a value with a level: unit date is for claims' first_date()")
            continue
        rule = build_rule(entry["expr"], entry["op"], entry["value"], entry["unit"], 0, bad, ALERT_OPS)
        if rule is None:
            continue
        name = entry.get("name", f"{rule.expr} {rule.op} {fmt.quantity(rule.value, rule.unit)}")
        if not isinstance(name, str) or not name.strip() or not name.isprintable() or len(name) > 200:
            bad("name", "name must be a short line of text (up to 200 characters, no control characters)")
        elif name in names:
            bad("name", f"another rule is named {name!r}: each alert rule needs its own name")
        else:
            names.add(name)
            rules.append(AlertRule(name, rule))
    return rules
