"""What the claims-table rules look at (:class:`Evidence`), and the small helpers every rule
module shares: the significance level, number formatting and the majority vote over groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cogdyn.dynamics.classify import LABELS
from cogdyn.report.data import num

ALPHA = 0.05
"""Significance level of every test."""

__all__ = ["ALPHA", "LABELS", "Evidence", "fmt", "majority"]


@dataclass
class Evidence:
    """What the rules look at. ``analyses``: (algo, analysis/summary.json) of every finished run
    that has one; ``output_probabilities``: (algo, table) of the representative networks."""

    results: pd.DataFrame
    stats: dict[str, Any] | None = None
    analyses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    output_probabilities: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    target_accuracy: float = 0.95

    def rows(self, algo: str) -> pd.DataFrame:
        r = self.results
        if "status" in r:
            r = r[r["status"] == "done"]
        return r[r["algo"] == algo] if "algo" in r else r.iloc[:0]


def fmt(x: Any, digits: int = 3) -> str:
    """A measured number in a verdict's text (``—`` when missing)."""
    v = num(x)
    return "—" if v is None else f"{v:.{digits}g}"


def majority(flags: list[bool]) -> bool:
    """More than half of ``flags`` are true (false for none)."""
    return bool(flags) and sum(flags) > len(flags) / 2
