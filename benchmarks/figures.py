"""A measured figure with its same-run baseline, its goal, and how it prints."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One line of the results table. `ratio` is value / baseline; `met` says whether the goal holds."""

    name: str
    value: float
    unit: str
    baseline: float | None
    baseline_label: str
    goal: str
    met: bool | None  # None: a figure shown for context, with no goal of its own
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None


def amount(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "%":
        return f"{value:.2f} %"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "/s":
        return f"{value:,.0f} /s"
    return f"{value:.4g} {unit}".strip()


def table(figures: Sequence[Figure]) -> list[str]:
    """The figures as a Markdown table (it reads as plain text too)."""
    lines = ["| figure | measured | baseline (same run) | ratio | goal | met |",
             "| --- | ---: | --- | ---: | --- | --- |"]
    for f in figures:
        ratio = "—" if f.ratio is None else f"{f.ratio:.2f}×"
        base = f"{amount(f.baseline, f.unit)} {f.baseline_label}".strip()
        lines.append(f"| {f.name} | {amount(f.value, f.unit)} | {base} | {ratio} | {f.goal} | "
                     f"{'—' if f.met is None else 'yes' if f.met else '**no**'} |")
    return lines


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], share: float) -> float:
    """The value below which `share` (0..1) of the values fall (nearest rank)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]
