"""docs/claims.md's per-article counts are those of `tapecheck claims --json`: check claims, how many of them are
our reading, context claims and error notes, per article and in total."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tui.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "claims.md"
ROW = re.compile(r"^\| .*\(`([a-z0-9-]+)`\) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$")
TOTAL = re.compile(r"^\| \*\*total\*\* \| \*\*(\d+)\*\* \| \*\*(\d+)\*\* \| \*\*(\d+)\*\* \| \*\*(\d+)\*\* \|$")


def documented() -> tuple[dict[str, tuple[int, ...]], tuple[int, ...]]:
    rows: dict[str, tuple[int, ...]] = {}
    total: tuple[int, ...] = ()
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if match := ROW.match(line):
            rows[match[1]] = tuple(int(n) for n in match.groups()[1:])
        elif match := TOTAL.match(line):
            total = tuple(int(n) for n in match.groups())
    return rows, total


def test_the_docs_counts_match_claims_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["claims", "--json"]) == 0
    claims = json.loads(capsys.readouterr().out)
    counts: dict[str, Counter[str]] = {}
    for claim in claims:
        count = counts.setdefault(claim["article"], Counter())
        count["check" if claim["kind"] == "check" else "context"] += 1
        count["ours"] += claim["reading"] == "ours"
        count["errors"] += bool(claim["error"])
    actual = {a: (c["check"], c["ours"], c["context"], c["errors"]) for a, c in counts.items()}
    rows, total = documented()
    assert rows == actual
    assert total == tuple(sum(r[i] for r in actual.values()) for i in range(4))
