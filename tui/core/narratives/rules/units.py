"""Units as products of atoms with integer powers, so that USD × CNY/USD is CNY and USD + CNY is an error."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tui.core.model import TapecheckError

# "H/s" is one atom: hashes per second is never split into H and s.
_ATOMS_WITH_SLASH = ("H/s",)
_ATOM = re.compile(r"^(?:[A-Z]{3,5}|pts|%|date|shares)$")


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit: atoms with non-zero integer powers. The empty unit is a pure number (`ratio`)."""

    powers: tuple[tuple[str, int], ...] = ()

    @classmethod
    def of(cls, text: str) -> Unit:
        """Parse `USD`, `CNY/USD`, `H/s`, `pts`, `%`, `date` (a calendar day, from first_date()) or `ratio`."""
        text = text.strip()
        if text in ("ratio", ""):
            return RATIO
        if text in _ATOMS_WITH_SLASH:
            return cls(((text, 1),))
        num, sep, den = text.partition("/")
        for atom in (num, den) if sep else (num,):
            if not _ATOM.match(atom):
                raise TapecheckError(f"unknown unit {text!r} (use a currency code, H/s, pts, %, date or ratio)")
        if sep and "/" in den:
            raise TapecheckError(f"unknown unit {text!r}: at most one '/'")
        unit = cls(((num, 1),))
        return unit / cls(((den, 1),)) if sep else unit

    def _combine(self, other: Unit, sign: int) -> Unit:
        powers = dict(self.powers)
        for atom, power in other.powers:
            powers[atom] = powers.get(atom, 0) + sign * power
        return Unit(tuple(sorted((a, p) for a, p in powers.items() if p)))

    def __mul__(self, other: Unit) -> Unit:
        return self._combine(other, 1)

    def __truediv__(self, other: Unit) -> Unit:
        return self._combine(other, -1)

    def __str__(self) -> str:
        if not self.powers:
            return "ratio"
        num = [a if p == 1 else f"{a}^{p}" for a, p in self.powers if p > 0]
        den = [a if p == -1 else f"{a}^{-p}" for a, p in self.powers if p < 0]
        top = "·".join(num) or "1"
        return f"{top}/{'·'.join(den)}" if den else top


RATIO = Unit()
PERCENT = Unit((("%", 1),))
DATE = Unit((("date", 1),))
