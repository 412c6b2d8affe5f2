"""The figures a benchmark prints: name, value, unit, target and verdict, one line each.

Every new benchmark script reports through `report`, so `python -m bench` (which runs each
script in its own process) can gather the figures without parsing prose: when the
environment names a file in CRM_BENCH_FIGURES, each figure is also appended to it as JSON.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass

FIGURES_ENV = "CRM_BENCH_FIGURES"


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None  # None: informative, no target of its own

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "FAIL", None: ""}[self.ok]

    def shown(self) -> str:
        if float(self.value).is_integer() or abs(self.value) >= 100:
            value = f"{self.value:,.0f}"
        elif abs(self.value) >= 1:
            value = f"{self.value:.1f}"
        else:
            value = f"{self.value:.2g}"
        return f"{value} {self.unit}".strip()


def percentile(samples: list[float], pct: int) -> float:
    """The pct-th percentile (inclusive method: p99 of 200 samples lies between the top two)."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[pct - 1]


def line(figure: Figure) -> str:
    target = f"target: {figure.target}" if figure.target else ""
    return f"{figure.name:<52} {figure.shown():>10}   {target:<48} {figure.verdict}".rstrip()


def report(figures: Iterable[Figure]) -> None:
    """Print the figures as a table; append them as JSON lines where CRM_BENCH_FIGURES says."""
    figures = list(figures)
    for figure in figures:
        sys.stdout.write(line(figure) + "\n")
    sys.stdout.flush()
    record(figures)


def record(figures: Iterable[Figure]) -> None:
    """Append the figures as JSON lines where CRM_BENCH_FIGURES says, printing nothing: for
    a script whose own printed report people read."""
    if path := os.environ.get(FIGURES_ENV):
        with open(path, "a", encoding="utf-8") as out:
            for figure in figures:
                out.write(json.dumps(asdict(figure), ensure_ascii=False) + "\n")
