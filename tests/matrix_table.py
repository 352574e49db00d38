"""The fault matrix as a Markdown table, from a junit report of tests/test_fault_matrix.py.

    python3 -m uv run pytest tests/test_fault_matrix.py --junitxml=matrix.xml
    python3 -m uv run python -m tests.matrix_table matrix.xml

Rows are the faults, columns the source kinds; a cell is "pass", "FAIL" or "—" (not run), with the test's
time in seconds.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from tests.test_fault_matrix import FAULTS, TARGET

_ID = re.compile(r"test_fault_matrix\[(?P<source>[a-z]+)-(?P<fault>[a-z0-9_]+)\]")
COLUMNS = {"crypto": "crypto exchange (ccxt)", "yahoo": "Yahoo adapter (yfinance)", "hashrate": "hashrate API (httpx)"}


def read(report: Path) -> dict[tuple[str, str], tuple[str, float]]:
    cells = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        match = _ID.fullmatch(case.get("name", ""))
        if match is None:
            continue
        failed = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped") is not None
        outcome = "FAIL" if failed else "skipped" if skipped else "pass"
        cells[(match["fault"], match["source"])] = (outcome, float(case.get("time", 0)))
    return cells


def table(cells: dict[tuple[str, str], tuple[str, float]]) -> str:
    lines = ["| fault | effect (crypto / Yahoo / hashrate) | " + " | ".join(COLUMNS[s] for s in TARGET) + " |",
             "| --- | --- | " + " | ".join("---" for _ in TARGET) + " |"]
    for name, fault in FAULTS.items():
        effects = " / ".join(fault.effect[s] for s in TARGET)
        row = []
        for source in TARGET:
            outcome, seconds = cells.get((name, source), ("—", 0.0))
            row.append(outcome if outcome == "—" else f"{outcome} ({seconds:.1f} s)")
        lines.append(f"| {fault.title} | {effects} | " + " | ".join(row) + " |")
    passed = sum(1 for outcome, _ in cells.values() if outcome == "pass")
    lines.append("")
    lines.append(f"{passed} of {len(FAULTS) * len(TARGET)} cells pass.")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.matrix_table REPORT.xml", file=sys.stderr)
        return 2
    print(table(read(Path(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
