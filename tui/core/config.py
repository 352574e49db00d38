"""config.toml → validated, frozen settings, built once and passed in.

Discovery order: --config PATH, $TAPECHECK_CONFIG, the user config dir, the shipped defaults. A user file
only overrides: keys it leaves out keep the shipped values. Every problem names the file, the key and the line.

Every key is declared once, as a field of the dataclasses below (`setting(default, spec, doc)`, see configspec):
its default, its type and bounds, the words of its error and its documentation. The checks, the defaults and the
JSON Schema of `tapecheck config-schema` are all derived from those fields.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tui.core import format as fmt
from tui.core.configspec import (
    BOOL,
    Spec,
    Table,
    build,
    defaults,
    json_schema,
    number,
    one_of,
    problems,
    seconds,
    setting,
    strings,
    text,
    whole,
)
from tui.core.model import Rule, SeriesId, TapecheckError
from tui.core.tomlfile import TomlFile, read_toml

ENV_VAR = "TAPECHECK_CONFIG"
LANGS = ("en", "zh")


def shipped_config_path() -> Path:
    """The defaults: packaged beside the code in a wheel, at the repository root in a checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "default_config.toml"
    return packaged if packaged.exists() else here.parent.parent / "config.toml"


def user_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("tapecheck")) / "config.toml"


# The declaration: every key of config.toml is a field below, with its default, what it must be (a Spec, whose
# words the errors use), a line of documentation and, where it helps, an example. `tapecheck config-schema` prints
# the same as JSON Schema. The shipped config.toml states these defaults again, with longer comments; a test keeps
# the two equal.

YEAR_S, DAY_S = 365 * 86_400, 86_400
# The bounds of every number, as config.toml states them. Intervals go down to a millisecond for local fakes and
# proxies; the upper bounds keep every date computed from them (now minus a staleness, minus a retention) real.
STALENESS_S = seconds(1, YEAR_S)
INTERVAL_S = seconds(0.001, DAY_S)
TIMEOUT_S = seconds(0.1, 600)
HISTORY_INTERVAL_S = seconds(1, 30 * DAY_S)
BACKOFF_S = seconds(0.01, DAY_S)
DISPUTE_FACTOR = (1.5, 1000.0)  # the bounds of poller.dispute_factor
HYSTERESIS_PCT = (0.0, 50.0)
MAX_CLAIMS = (1, 50_000)  # the bounds of [narratives] max_claims: validation and judging stay linear below it
ALERT_OPS = ("<", "<=", ">", ">=")
# ccxt's credential fields; their values are never repeated in an error message, the log or the screen
CREDENTIAL_KEYS = ("apiKey", "secret", "password", "uid")
BINDING_IDS = ("quit", "help", "diverged", "refresh", "pause", "sources", "lang", "filter", "console", "alerts")


def _url(value: Any) -> bool:
    if not isinstance(value, str) or not value.isprintable() or any(c.isspace() for c in value):
        return False
    try:  # urlparse raises on a malformed IPv6 host ("http://[::1"), .port on a port out of range
        parsed = urlparse(value)
        parsed.port  # noqa: B018
    except ValueError:
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.hostname)


URL_PATTERN = r"^https?://[^\s/?#]+"
URL = Spec(_url, "an http:// or https:// URL with a host", {"type": "string", "pattern": URL_PATTERN})
KEYS = text(lambda v: bool(v.strip()), "one or more keys, e.g. \"q\" or \"q,ctrl+c\"", pattern=r"\S")
CREDENTIAL = Spec(lambda v: isinstance(v, str) and bool(v), "a non-empty string", {"type": "string", "minLength": 1},
                  secret=True)


def _argv(value: Any) -> bool:
    return (isinstance(value, list) and len(value) <= 64 and all(
        isinstance(v, str) and v and "\0" not in v and len(v) <= 4096 for v in value))


# an [[alerts.rules]] table's keys, as JSON Schema; all but name are needed
RULE_NAME_MAX = 200
RULE_KEYS: dict[str, dict[str, Any]] = {
    "name": {"type": "string", "maxLength": RULE_NAME_MAX,
             "description": "what alerts call it (default: the rule itself)"},
    "expr": {"type": "string", "description": "an expression of the rule language",
             "examples": ["last(crypto:BTC/USD:last)"]},
    "op": {"type": "string", "enum": list(ALERT_OPS)},
    "value": {"type": "number", "description": "the level"},
    "unit": {"type": "string", "description": "the expression's unit, checked when the file loads",
             "examples": ["USD"]},
}
RULES = Spec(lambda v: isinstance(v, list), "[[alerts.rules]] tables",
             {"type": "array", "items": {"type": "object", "properties": RULE_KEYS, "required": list(RULE_KEYS)[1:],
                                         "additionalProperties": False}})


@dataclass(frozen=True, slots=True)
class DisplaySettings:
    """[display]: the dashboard's language, bell and theme."""

    lang: str = setting("en", one_of(LANGS), "the language of theme titles and claim summaries")
    bell: bool = setting(False, BOOL, "ring the terminal bell with every alert")
    theme: str = setting("textual-dark", text(lambda v: bool(re.fullmatch(r"[a-z0-9-]{1,40}", v)),
                                              "a theme's name, such as \"textual-light\" or \"tapecheck-colour-blind\"",
                                              pattern="^[a-z0-9-]{1,40}$"),
                         "a Textual theme's name, or tapecheck's \"tapecheck-colour-blind\"",
                         example="tapecheck-colour-blind")


@dataclass(frozen=True, slots=True)
class Staleness:
    """[staleness]: seconds after which a live value is stale, per series kind; days for daily histories."""

    crypto: float = setting(120, STALENESS_S, "seconds after which a crypto price is stale")
    equity: float = setting(900, STALENESS_S, "seconds after which an equity price is stale")
    index: float = setting(900, STALENESS_S, "seconds after which an index level is stale")
    fx: float = setting(900, STALENESS_S, "seconds after which an exchange rate is stale")
    commodity: float = setting(900, STALENESS_S, "seconds after which a commodity price is stale")
    network: float = setting(3600, STALENESS_S, "seconds after which a network figure (hashrate) is stale")
    history_days: int = setting(4, whole(0, 3650, "a whole number of days from 0 to 3650"),
                                "a daily history whose last close is older than this many days is stale")

    def max_age_s(self, series: str) -> float:
        kind = SeriesId.parse(series).kind
        return float(getattr(self, kind))


@dataclass(frozen=True, slots=True)
class CryptoSettings:
    """[sources.crypto]: exchanges polled through ccxt."""

    exchanges: tuple[str, ...] = setting(
        ("binance", "coinbase", "kraken", "okx"),
        strings(lambda v: bool(v) and all(s.isidentifier() and s.islower() for s in v),
                "a non-empty list of ccxt exchange ids such as \"binance\"", minItems=1),
        "the ccxt exchanges polled; every coin a claim reads is fetched from each that lists it")
    interval_s: float = setting(10, INTERVAL_S, "seconds between polls of one exchange")
    timeout_s: float = setting(10, TIMEOUT_S, "seconds before a request is given up")
    history_interval_s: float = setting(86400, HISTORY_INTERVAL_S, "seconds between refreshes of daily history")
    urls: dict[str, str] = setting({}, Table(URL), "exchange id -> API base URL replacing the exchange's urls[\"api\"]",
                                   example={"binance": "http://127.0.0.1:8101"})
    # exchange id -> ccxt credentials (apiKey, secret, ...): never needed for public prices, never shown or logged
    credentials: dict[str, dict[str, str]] = setting(
        {}, Table(Table(CREDENTIAL, CREDENTIAL_KEYS)),
        "exchange id -> ccxt credentials; never needed (public prices only), never shown or logged", repr=False)


@dataclass(frozen=True, slots=True)
class EquitiesSettings:
    """[sources.equities]: Yahoo Finance through yfinance (equities, indices, FX, futures)."""

    interval_s: float = setting(60, INTERVAL_S, "seconds between polls")
    timeout_s: float = setting(30, TIMEOUT_S, "seconds before a request is given up")
    history_interval_s: float = setting(86400, HISTORY_INTERVAL_S, "seconds between refreshes of daily bars")
    base_url: str = setting("", Spec(lambda v: v == "" or _url(v), "empty, or an http:// or https:// URL",
                                     {"type": "string", "pattern": f"^$|{URL_PATTERN}"}),
                            "empty: Yahoo's own hosts; else every *.yahoo.com request goes here (a proxy, the fakes)")


@dataclass(frozen=True, slots=True)
class HashrateSettings:
    """[sources.hashrate]: Bitcoin's network hashrate, from mempool.space with blockchain.com as fallback."""

    base_url: str = setting("https://mempool.space", URL, "mempool.space's mining API")
    fallback_url: str = setting("https://api.blockchain.info", URL, "blockchain.com's charts API, the fallback")
    interval_s: float = setting(300, INTERVAL_S, "seconds between polls")
    timeout_s: float = setting(15, TIMEOUT_S, "seconds before a request is given up")


@dataclass(frozen=True, slots=True)
class SourcesSettings:
    """[sources.*]: where prices come from."""

    crypto: CryptoSettings = field(default_factory=CryptoSettings)
    equities: EquitiesSettings = field(default_factory=EquitiesSettings)
    hashrate: HashrateSettings = field(default_factory=HashrateSettings)


@dataclass(frozen=True, slots=True)
class PollerSettings:
    """[poller]: retries after a failure, and when a value is disputed."""

    backoff_base_s: float = setting(5, BACKOFF_S, "first retry after a failure; doubles on each further failure")
    backoff_max_s: float = setting(300, BACKOFF_S, "never wait longer than this between attempts "
                                                   "(at least backoff_base_s)")
    # a value this many times above or below the other sources of its asset (or its own recent past) is disputed
    dispute_factor: float = setting(4.0, number(*DISPUTE_FACTOR, f"a number from {DISPUTE_FACTOR[0]:g} to "
                                                                 f"{DISPUTE_FACTOR[1]:g}"),
                                    "a value this many times above or below its asset's other sources (or its own "
                                    "last value) is disputed: stored apart, shown, not used")


@dataclass(frozen=True, slots=True)
class StoreSettings:
    """[store]: where observations are kept."""

    path: str = setting("", text(lambda v: True, "a path (a string; empty for the default)"),
                        "the SQLite file; empty: tapecheck.sqlite in the user data dir")
    retention_days: int = setting(400, whole(1, 3650, "a whole number of days from 1 to 3650"),
                                  "observations older than this are thinned to a daily close")
    url: str = setting("", text(lambda v: v == "" or v.startswith(("postgresql://", "postgres://")),
                                "empty, or a postgresql://user@host:port/database URL", pattern="^$|^postgres(ql)?://"),
                       "a PostgreSQL store instead of path (keep the password in PGPASSFILE, not here)",
                       example="postgresql://user@host:5432/tapecheck", repr=False)


@dataclass(frozen=True, slots=True)
class CollectorSettings:
    """[collector]: the one process that polls the sources and writes the store."""

    linger_s: float = setting(300, seconds(1, 7 * DAY_S), "a collector a dashboard started stops this long after "
                                                          "the last dashboard left")


@dataclass(frozen=True, slots=True)
class NarrativeSettings:
    """[narratives]: folders of your own article files."""

    dirs: tuple[str, ...] = setting(
        ("narratives",), strings(lambda v: all(d.strip() and d.isprintable() for d in v),
                                 "a list of folder paths, e.g. [\"narratives\", \"~/articles\"]"),
        "folders of your own article files, relative to the user config dir; new-article writes into the first",
        example=["narratives", "~/articles"])
    max_claims: int = setting(5000, whole(*MAX_CLAIMS, f"a whole number of claims from {MAX_CLAIMS[0]} to "
                                                       f"{MAX_CLAIMS[1]:,}"),
                              "your claims a desk loads at most; past it they are left out, said")


@dataclass(frozen=True, slots=True)
class DraftSettings:
    """[draft]: the alias file `tapecheck draft` reads beside the shipped one."""

    aliases: str = setting("", text(lambda v: True, "a path to an alias file (a string; empty for the default)"),
                           "an alias file for `tapecheck draft`; empty: aliases.toml in the user config dir, if any")

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

    hysteresis_pct: float = setting(0.5, number(*HYSTERESIS_PCT, f"a percentage from {HYSTERESIS_PCT[0]:g} to "
                                                                 f"{HYSTERESIS_PCT[1]:g}"),
                                    "a level counts as crossed once cleared by this percent of it")
    cooldown_s: float = setting(300, seconds(0, 7 * DAY_S),
                                "after an alert, a claim's or rule's next one waits this long")
    on_stale: bool = setting(False, BOOL, "also alert when a claim turns stale")
    on_no_data: bool = setting(False, BOOL, "also alert when a claim has no data")
    command: tuple[str, ...] = setting(
        (), Spec(_argv, "a list of up to 64 strings, the program first, e.g. [\"notify.py\", \"--desk\"]",
                 {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 4096}, "maxItems": 64}),
        "a program run for every alert with the alert as JSON on stdin, never through a shell; empty: none",
        example=["/usr/local/bin/page-me", "--desk"])
    command_timeout_s: float = setting(10, seconds(0.1, 600), "a command still running after this is killed")
    desktop: bool = setting(False, BOOL, "also a desktop notification (notify-send or osascript), where present")
    rules: tuple[AlertRule, ...] = setting((), RULES, "your own alert rules, in the claims' rule language")


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """tapecheck's config.toml: every table and key it reads."""

    display: DisplaySettings = field(default_factory=DisplaySettings)
    keys: dict[str, str] = setting({}, Table(KEYS, BINDING_IDS), "binding id -> the keys that trigger it",
                                   example={"quit": "q,ctrl+c"})
    staleness: Staleness = field(default_factory=Staleness)
    sources: SourcesSettings = field(default_factory=SourcesSettings)
    poller: PollerSettings = field(default_factory=PollerSettings)
    collector: CollectorSettings = field(default_factory=CollectorSettings)
    narratives: NarrativeSettings = field(default_factory=NarrativeSettings)
    draft: DraftSettings = field(default_factory=DraftSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    store: StoreSettings = field(default_factory=StoreSettings)


@dataclass(frozen=True, slots=True)
class Settings:
    """The settings the program runs with: a ConfigFile's, and which files they came from."""

    lang: str
    bell: bool
    theme: str  # a Textual theme's name, or tapecheck's "tapecheck-colour-blind"
    keys: dict[str, str]  # binding id -> keys, for App.set_keymap
    staleness: Staleness
    crypto: CryptoSettings
    equities: EquitiesSettings
    hashrate: HashrateSettings
    poller: PollerSettings
    store: StoreSettings
    collector: CollectorSettings
    narrative_dirs: tuple[Path, ...]  # the user's own article folders, absolute; the first gets new files
    max_claims: int  # the user's claims a desk loads at most ([narratives] max_claims)
    draft: DraftSettings
    alerts: AlertSettings
    files: tuple[Path, ...]
    warnings: tuple[str, ...] = ()  # problems worth saying that do not stop the program

    def secrets(self) -> tuple[str, ...]:
        """Every credential value in the config, for the log to mask."""
        from tui.core.urls import url_secrets

        return (*(v for creds in self.crypto.credentials.values() for v in creds.values()),
                *url_secrets(self.store.url))


def config_schema() -> dict[str, Any]:
    """config.toml as JSON Schema, for editors (taplo, Even Better TOML): `tapecheck config-schema`."""
    return json_schema(ConfigFile, "tapecheck config.toml")


def _validate(doc: TomlFile) -> list[str]:
    return problems(doc, ConfigFile, {"alerts": " (alert rules go in [[alerts.rules]] tables)"})


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
    found = [p for doc in docs for p in _validate(doc)]
    data: dict[str, Any] = defaults(ConfigFile)
    for doc in docs:
        data = _merge(data, doc.data)
    if not found and data["poller"]["backoff_max_s"] < data["poller"]["backoff_base_s"]:
        found.append(f"{docs[-1].where('poller')}: poller.backoff_max_s is below poller.backoff_base_s")
    rules = [r for doc in docs for r in _alert_rules(doc, found)]
    if found:
        raise TapecheckError("\n".join(found))
    data["alerts"]["rules"] = rules
    config: ConfigFile = build(ConfigFile, data)
    return Settings(
        lang=config.display.lang, bell=config.display.bell, theme=config.display.theme, keys=dict(config.keys),
        staleness=config.staleness, crypto=config.sources.crypto, equities=config.sources.equities,
        hashrate=config.sources.hashrate, poller=config.poller, store=config.store, collector=config.collector,
        narrative_dirs=narrative_dirs(list(config.narratives.dirs)), max_claims=config.narratives.max_claims,
        draft=config.draft, alerts=config.alerts,
        files=tuple(doc.path for doc in docs),
        warnings=tuple(w for w in map(_exposed, docs) if w),
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
        for key in sorted(set(entry) - set(RULE_KEYS)):
            bad(key, f"unknown key {key!r} (known: {', '.join(sorted(RULE_KEYS))})")
        for key in sorted(set(RULE_KEYS) - {"name"} - set(entry)):
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
        if not isinstance(name, str) or not name.strip() or not name.isprintable() or len(name) > RULE_NAME_MAX:
            bad("name", f"name must be a short line of text (up to {RULE_NAME_MAX} characters, no control "
                        "characters)")
        elif name in names:
            bad("name", f"another rule is named {name!r}: each alert rule needs its own name")
        else:
            names.add(name)
            rules.append(AlertRule(name, rule))
    return rules
