"""The rule language's syntax tree and its parser: a tokenizer and a recursive-descent parser.

No `eval`, no attribute access, no names but the whitelisted functions: the only things an expression can
do are arithmetic and the calls listed in `tui.core.narratives.rules.functions`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

from tui.core.dates import RANGE, day_in_range
from tui.core.model import TapecheckError

MAX_LENGTH = 2000
MAX_DEPTH = 32
MAX_TOKENS = 400


class RuleSyntaxError(TapecheckError):
    """A rule that does not parse, with the column where it went wrong."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"{message} (column {column + 1})")
        self.column = column


@dataclass(frozen=True, slots=True)
class Num:
    """A number, optionally with a currency: `11509`, `4.9e9 USD`."""

    value: float
    pos: int = 0
    unit: str = ""


@dataclass(frozen=True, slots=True)
class SeriesRef:
    series: str
    pos: int = 0


@dataclass(frozen=True, slots=True)
class DateLit:
    value: date
    pos: int = 0


@dataclass(frozen=True, slots=True)
class PairLit:
    """A bare upper-case name, used as a currency pair in fx(USDCNY)."""

    name: str
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Node
    pos: int = 0


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str
    left: Node
    right: Node
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Compare:
    """`left op right`, allowed only as the condition argument of first_date() and share()."""

    op: str
    left: Node
    right: Node
    pos: int = 0


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]
    kwargs: tuple[tuple[str, Node], ...]
    pos: int = 0


Node = Num | SeriesRef | DateLit | PairLit | Neg | BinOp | Compare | Call

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\d.eE]))
  | (?P<number>(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<series>[a-z]+:[A-Za-z0-9^=._/-]+:[a-z_]+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<cmp>>=|<=|>|<)
  | (?P<op>[-+*/(),=])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise RuleSyntaxError(f"unexpected character {text[pos]!r}", pos)
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(_Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        if len(self.tokens) > MAX_TOKENS:
            raise RuleSyntaxError(f"expression has more than {MAX_TOKENS} tokens", self.tokens[MAX_TOKENS].pos)
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, text: str) -> _Token:
        if self.token.text != text or self.token.kind != "op":
            found = self.token.text or "the end"
            raise RuleSyntaxError(f"expected {text!r}, found {found!r}", self.token.pos)
        return self.take()

    def enter(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise RuleSyntaxError(f"expression nested deeper than {MAX_DEPTH} levels", pos)

    def expression(self) -> Node:
        self.enter(self.token.pos)
        node = self.term()
        while self.token.kind == "op" and self.token.text in "+-":
            op = self.take()
            node = BinOp(op.text, node, self.term(), op.pos)
        self.depth -= 1
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.token.kind == "op" and self.token.text in "*/":
            op = self.take()
            node = BinOp(op.text, node, self.unary(), op.pos)
        return node

    def unary(self) -> Node:
        if self.token.kind == "op" and self.token.text in "+-":
            op = self.take()
            self.enter(op.pos)
            operand = self.unary()
            self.depth -= 1
            return Neg(operand, op.pos) if op.text == "-" else operand
        return self.atom()

    def atom(self) -> Node:
        token = self.token
        if token.kind == "number":
            self.take()
            value = float(token.text.replace("_", ""))
            if not math.isfinite(value):
                raise RuleSyntaxError(f"number {token.text} is too large", token.pos)
            unit = ""
            nxt = self.token
            if nxt.kind == "name" and re.fullmatch(r"[A-Z]{3,5}", nxt.text):
                self.take()
                unit = nxt.text
            return Num(value, token.pos, unit)
        if token.kind == "series":
            self.take()
            return SeriesRef(token.text, token.pos)
        if token.kind == "date":
            self.take()
            try:
                day = date.fromisoformat(token.text)
            except ValueError:
                raise RuleSyntaxError(f"{token.text} is not a calendar date", token.pos) from None
            if not day_in_range(day):
                raise RuleSyntaxError(f"{token.text} is outside the years {RANGE}", token.pos)
            return DateLit(day, token.pos)
        if token.kind == "name":
            self.take()
            if self.token.text == "(" and self.token.kind == "op":
                return self.call(token)
            if token.text.isupper():
                return PairLit(token.text, token.pos)
            raise RuleSyntaxError(f"unknown name {token.text!r}: only function calls are allowed", token.pos)
        if token.kind == "op" and token.text == "(":
            self.take()
            node = self.expression()
            self.expect(")")
            return node
        found = token.text or "the end"
        raise RuleSyntaxError(f"expected a number, a series or a function call, found {found!r}", token.pos)

    def call(self, name: _Token) -> Call:
        self.expect("(")
        args: list[Node] = []
        kwargs: list[tuple[str, Node]] = []
        while not (self.token.kind == "op" and self.token.text == ")"):
            if args or kwargs:
                self.expect(",")
            if self.token.kind == "end":
                raise RuleSyntaxError(f"{name.text}( is never closed", self.token.pos)
            nxt = self.tokens[self.index + 1]
            if self.token.kind == "name" and nxt.kind == "op" and nxt.text == "=":
                key = self.take()
                self.take()
                if any(k == key.text for k, _ in kwargs):
                    raise RuleSyntaxError(f"argument {key.text!r} given twice", key.pos)
                kwargs.append((key.text, self.expression()))
            elif kwargs:
                raise RuleSyntaxError("a positional argument follows a keyword argument", self.token.pos)
            else:
                args.append(self.argument())
        self.expect(")")
        return Call(name.text, tuple(args), tuple(kwargs), name.pos)


    def argument(self) -> Node:
        """A positional argument: an expression, or a comparison of two (a condition)."""
        left = self.expression()
        if self.token.kind != "cmp":
            return left
        op = self.take()
        right = self.expression()
        if self.token.kind == "cmp":
            raise RuleSyntaxError("a condition has one comparison", self.token.pos)
        return Compare(op.text, left, right, op.pos)


def parse(text: str) -> Node:
    """Parse a rule expression into a tree, or raise RuleSyntaxError."""
    if len(text) > MAX_LENGTH:
        raise RuleSyntaxError(f"expression longer than {MAX_LENGTH} characters", MAX_LENGTH)
    if not text.strip():
        raise RuleSyntaxError("empty expression", 0)
    parser = _Parser(text)
    node = parser.expression()
    if parser.token.kind == "cmp":
        raise RuleSyntaxError("a comparison is allowed only as the condition of first_date() or share(); "
                              "the rule's own comparison is its op", parser.token.pos)
    if parser.token.kind != "end":
        raise RuleSyntaxError(f"unexpected {parser.token.text!r} after the expression", parser.token.pos)
    return node
