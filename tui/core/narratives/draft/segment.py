"""Reading a pasted article and cutting it into sentences, for Chinese (either script) and English.

A sentence ends at 。！？!? (with any closing quote after them), at a line break, and in English at a full
stop followed by a space, unless the stop belongs to a number (1.5), an abbreviation (U.S., Inc.) or an initial.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tui.core.model import TapecheckError
from tui.core.printable import printable
from tui.core.userfile import read_bounded

_WORD_AT_END = re.compile(r"([A-Za-z]+(?:\.[A-Za-z]+)*)$")
MAX_SENTENCE = 600  # characters: a longer run without a sentence end is cut (at a space or comma where it can)
MAX_ARTICLE = 2 * 1024 * 1024  # bytes: a long article is 50 KB
_CLOSERS = "”’\"'」』）)】"
_END = re.compile(rf"[。！？!?]+[{_CLOSERS}]*|\.(?=[{_CLOSERS}]*\s)[{_CLOSERS}]*")
ABBREVIATIONS = frozenset({
    "u.s", "u.k", "u.n", "e.u", "inc", "corp", "co", "ltd", "plc", "llc", "mr", "mrs", "ms", "dr", "prof", "st",
    "vs", "e.g", "i.e", "etc", "no", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
    "dec", "est", "approx", "fig", "jr", "sr", "dept", "gov", "a.m", "p.m", "n.v", "s.a", "ag",
})


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence, verbatim, with its paragraph (the n-th non-blank line) and where it starts in the text."""

    text: str
    paragraph: int
    start: int


def read_article(path: Path) -> str:
    """The article's text (UTF-8, with or without a BOM), control characters removed, or TapecheckError."""
    raw = read_bounded(path, MAX_ARTICLE, "article to draft from")  # a regular file (never a FIFO), bounded
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise TapecheckError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[error.start]:02x}); "
                             "save the article as UTF-8") from None
    return clean(text)


def clean(text: str) -> str:
    """`text` with Windows and old Mac line ends made \\n, tabs made spaces and other control characters gone."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return printable(text, keep_newlines=True, replace="")  # the one filter: here what it finds is removed


def paragraphs(text: str) -> list[tuple[int, int, str]]:
    """(paragraph number, offset, line) for each non-blank line."""
    found, offset, number = [], 0, 0
    for line in text.split("\n"):
        if line.strip():
            number += 1
            found.append((number, offset, line))
        offset += len(line) + 1
    return found


def _abbreviation(line: str, stop: int) -> bool:
    """True when the full stop at `stop` closes an abbreviation or an initial, not a sentence."""
    word = _WORD_AT_END.search(line, max(0, stop - 40), stop)  # an abbreviation is short: a bounded look back
    if word is None:
        return False
    token = word.group(1)
    return token.lower() in ABBREVIATIONS or (len(token) == 1 and token.isupper())


def split_line(line: str) -> list[tuple[int, str]]:
    """(offset, sentence) for each sentence of one line, stripped of surrounding spaces."""
    pieces, begin = [], 0
    for end in _END.finditer(line):
        if end.group().startswith(".") and _abbreviation(line, end.start()):
            continue
        pieces.append((begin, line[begin:end.end()]))
        begin = end.end()
    pieces.append((begin, line[begin:]))
    found = []
    for offset, piece in (cut for whole in pieces for cut in _bounded(*whole)):
        stripped = piece.strip()
        if stripped:
            found.append((offset + piece.index(stripped[0]), stripped))
    return found


def _bounded(offset: int, piece: str) -> list[tuple[int, str]]:
    """A piece of at most MAX_SENTENCE characters as it stands; a longer one cut into such pieces, each at its
    last space or comma where there is one: what reads a sentence then costs a bounded amount per character."""
    cuts = []
    while len(piece) > MAX_SENTENCE:
        head = piece[:MAX_SENTENCE]
        at = max(head.rfind(" "), head.rfind(","), head.rfind("，"), head.rfind("、"))
        at = at + 1 if at > MAX_SENTENCE // 2 else MAX_SENTENCE
        cuts.append((offset, piece[:at]))
        offset, piece = offset + at, piece[at:]
    cuts.append((offset, piece))
    return cuts


def sentences(text: str) -> list[Sentence]:
    """Every sentence of the article, in order."""
    return [Sentence(piece, number, offset + inner)
            for number, offset, line in paragraphs(text)
            for inner, piece in split_line(line)]
