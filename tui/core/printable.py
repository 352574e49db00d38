"""Text from outside (API errors, tape fields, config values, file names) made safe to show on a terminal.

An exchange's error text or a tape's `source` field may hold escape sequences that retitle the terminal, clear
the screen or move the cursor. `printable()` is the one function every boundary uses before such text reaches
stderr or a screen: control characters (C0, DEL, C1) and the invisible Unicode format characters that reorder
or hide text (bidi overrides, zero-width joiners) become visible `\\xNN` / `\\uNNNN` escapes.
"""

from __future__ import annotations

import re

# C0 and C1 controls and DEL, then the format characters that can disguise text: bidi embeddings, overrides
# and isolates, zero-width characters, lone surrogates (which cannot be encoded), the BOM. Newlines are kept
# only where a caller asks for them.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ud800-\udfff\ufeff\ufff9-\ufffb]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_UNSAFE_RUN = re.compile(_UNSAFE.pattern + "+")


def printable(text: object, keep_newlines: bool = False, replace: str | None = None) -> str:
    """`text` as a string with every control and disguising format character shown as an escape; with
    `replace`, each run of them replaced by it instead (" " for an upstream's one-line error, "" for an
    article's text). The one filter of the program: every boundary uses it."""
    value = str(text)
    if keep_newlines:
        return "\n".join(printable(line, replace=replace) for line in value.split("\n"))
    if replace is not None:
        return _UNSAFE_RUN.sub(replace, value)
    return _UNSAFE.sub(_escape, value)


def is_printable(text: str) -> bool:
    """True when `text` holds nothing `printable()` would escape."""
    return _UNSAFE.search(text) is None
