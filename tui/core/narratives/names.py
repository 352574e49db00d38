"""Company names beside exchange codes: `688795.SS` says nothing to most readers, `688795.SS Moore Threads`
(or `摩尔线程` in Chinese) does. The names are data, in the narratives folder's `names.toml`; a code missing
there is shown alone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui.core.model import TapecheckError
from tui.core.printable import is_printable
from tui.core.tomlfile import read_toml

NAMES_FILE = "names.toml"
_KEYS = {"symbol", "en", "zh"}


@dataclass(frozen=True, slots=True)
class CompanyName:
    """A listed company's name in English and in Chinese."""

    en: str
    zh: str

    def in_lang(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip()) and is_printable(value)


def load_names(path: Path) -> tuple[dict[str, CompanyName], list[str]]:
    """The names in `path` by symbol (none when the file is absent), and its problems as `file:line: ...`."""
    if not path.exists():
        return {}, []
    try:
        doc = read_toml(path)
    except TapecheckError as error:
        return {}, [str(error)]
    names: dict[str, CompanyName] = {}
    problems: list[str] = []
    entries = doc.data.get("names", [])
    if set(doc.data) - {"names"} or not isinstance(entries, list):
        return {}, [f"{doc.where(*(set(doc.data) - {'names'}) or {'names'})}: names.toml holds [[names]] tables "
                    "only, each with symbol, en and zh"]
    for index, entry in enumerate(entries):
        where = doc.where("names", index)
        if not isinstance(entry, dict) or set(entry) != _KEYS or not all(_text(entry[k]) for k in _KEYS):
            problems.append(f"{where}: each [[names]] needs symbol, en and zh, non-empty text, and nothing else")
            continue
        if entry["symbol"] in names:
            problems.append(f"{doc.where('names', index, 'symbol')}: {entry['symbol']} is named twice")
        names[entry["symbol"]] = CompanyName(entry["en"], entry["zh"])
    return names, problems


def with_names(text: str, names: dict[str, CompanyName], lang: str) -> str:
    """`text` with each known code followed by its company's name: `688795.SS (Moore Threads)`."""
    if not names:
        return text
    pattern = re.compile("|".join(re.escape(s) for s in sorted(names, key=len, reverse=True)))
    return pattern.sub(lambda m: f"{m.group(0)} ({names[m.group(0)].in_lang(lang)})", text)
