"""config.toml → validated, frozen settings, built once and passed in.

Discovery order: --config PATH, $TAPECHECK_CONFIG, the user config dir, the shipped defaults. A user file
only overrides: keys it leaves out keep the shipped values. Every problem names the file, the key and the line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.model import SeriesId, TapecheckError
from tui.tomlfile import TomlFile, read_toml

ENV_VAR = "TAPECHECK_CONFIG"
LANGS = ("en", "zh")
SERIES_KINDS = ("crypto", "equity", "index", "fx", "commodity", "network")


def shipped_config_path() -> Path:
    """The defaults: packaged beside the code in a wheel, at the repository root in a checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "default_config.toml"
    return packaged if packaged.exists() else here.parent / "config.toml"


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
class Settings:
    lang: str
    staleness: Staleness
    files: tuple[Path, ...]


# section -> key -> (type check, description of what is allowed)
def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


_SCHEMA: dict[str, dict[str, tuple[Any, str]]] = {
    "display": {"lang": (lambda v: v in LANGS, f"one of {', '.join(LANGS)}")},
    "staleness": {
        **{kind: (_positive, "a number of seconds above 0") for kind in SERIES_KINDS},
        "history_days": (_whole, "a whole number of days, 0 or more"),
    },
}


def _validate(doc: TomlFile) -> list[str]:
    problems = []
    for section, body in doc.data.items():
        if section not in _SCHEMA:
            problems.append(f"{doc.where(section)}: unknown section [{section}] "
                            f"(known: {', '.join(_SCHEMA)})")
            continue
        if not isinstance(body, dict):
            problems.append(f"{doc.where(section)}: {section} must be a table")
            continue
        for key, value in body.items():
            rule = _SCHEMA[section].get(key)
            if rule is None:
                problems.append(f"{doc.where(section, key)}: unknown key {section}.{key}")
            elif not rule[0](value):
                problems.append(f"{doc.where(section, key)}: {section}.{key} = {value!r} must be {rule[1]}")
    return problems


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for section, body in extra.items():
        merged.setdefault(section, {}).update(body)
    return merged


def load_settings(path: Path | None = None) -> Settings:
    """Settings from the shipped defaults overlaid with the first user file found, or TapecheckError."""
    shipped = read_toml(shipped_config_path())
    chosen = path or (Path(os.environ[ENV_VAR]) if os.environ.get(ENV_VAR) else None)
    if chosen is None and user_config_path().exists():
        chosen = user_config_path()
    docs = [shipped] + ([read_toml(chosen)] if chosen else [])
    problems = [p for doc in docs for p in _validate(doc)]
    if problems:
        raise TapecheckError("\n".join(problems))
    data: dict[str, Any] = {}
    for doc in docs:
        data = _merge(data, doc.data)
    stale = data["staleness"]
    return Settings(
        lang=data["display"]["lang"],
        staleness=Staleness(**{k: stale[k] for k in (*SERIES_KINDS, "history_days")}),
        files=tuple(doc.path for doc in docs),
    )
