"""What the claims-table rules look at (:class:`Evidence`), and what every rule module shares:
the verdict kinds, the significance level, number formatting, the majority vote over groups,
and :func:`effect_part`, the reading of an overall RL − SL test of ``stats.json``.

Verdict kinds, from a rule's parts (each part: True, False, ``contradicted``, ``inconclusive``
or None for "not tested"): any part ``contradicted`` → **contradicted** (the study could have
seen the claimed effect and its confidence interval excludes it); else any part False → **not
reproduced** (a descriptive part is measured false); else any ``inconclusive`` → **inconclusive**
(not significant, and the interval still allows the claimed effect); else any None → **not
tested**; else **reproduced**."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cogdyn.config import ALGOS
from cogdyn.dynamics.classify import LABELS
from cogdyn.report.data import Run, SweepFiles, num, representative, runs

ALPHA = 0.05
"""Significance level of every test."""
NEAR_ZERO = 0.05
"""F_QP (or F_osc) at or below this counts as "≈ 0": one grid point in twenty."""
SMALLEST_EFFECT: dict[str, float] = {
    "frac_qp": NEAR_ZERO,
    "frac_qp_bounded": NEAR_ZERO,
    "frac_osc": NEAR_ZERO,
    "balance_index": 0.0,
}
"""The smallest RL − SL difference that counts as the claimed one: for the attractor fractions
the ≈ 0 resolution of F_QP (a difference below one grid point in twenty is "no difference");
for the balance index, which has no such resolution, any positive difference."""
MEASURE_NAME: dict[str, str] = {
    "frac_qp": "F_QP",
    "frac_qp_bounded": "F_QP over bounded points",
    "frac_osc": "F_osc (periodic + quasi-periodic)",
    "balance_index": "balance index B",
}

REPRODUCED, NOT_REPRODUCED, NOT_TESTED = "reproduced", "not reproduced", "not tested"
CONTRADICTED, INCONCLUSIVE = "contradicted", "inconclusive"
VERDICTS: tuple[str, ...] = (REPRODUCED, CONTRADICTED, NOT_REPRODUCED, INCONCLUSIVE, NOT_TESTED)
"""Every verdict, in the order the report counts them."""
Part = tuple[bool | str | None, str]
"""A rule part: (True / False / CONTRADICTED / INCONCLUSIVE / None, the numbers measured)."""

__all__ = [
    "ALPHA",
    "CONTRADICTED",
    "INCONCLUSIVE",
    "LABELS",
    "NEAR_ZERO",
    "NOT_REPRODUCED",
    "NOT_TESTED",
    "REPRODUCED",
    "VERDICTS",
    "Evidence",
    "Part",
    "combine",
    "effect_part",
    "fmt",
    "majority",
    "representatives",
    "sweep_evidence",
]


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


def combine(*parts: Part) -> tuple[str, str]:
    """The verdict of a rule from its parts (module docstring), and their texts joined."""
    text = "; ".join(t for _, t in parts)
    status = [ok for ok, _ in parts]
    if CONTRADICTED in status:
        return CONTRADICTED, text
    if any(ok is False for ok in status):
        return NOT_REPRODUCED, text
    if INCONCLUSIVE in status:
        return INCONCLUSIVE, text
    if any(ok is None for ok in status):
        return NOT_TESTED, text
    return REPRODUCED, text


def effect_part(ev: Evidence, measure: str, claim: str = "higher") -> Part:
    """Read the overall RL − SL test of ``measure`` (``stats.json`` ``tests``; ``central`` for
    F_QP): ``claim`` ``higher`` holds when the effect is positive with BH q < α (q over the
    family of tests in ``stats.json``); it is contradicted when the CI's upper end is below
    :data:`SMALLEST_EFFECT`, inconclusive otherwise. ``differs`` holds when q < α, is
    contradicted when the whole CI lies within ± the smallest effect, inconclusive otherwise."""
    stats = ev.stats or {}
    test = (stats.get("tests") or {}).get(measure)
    if test is None and measure == "frac_qp":
        test = stats.get("central")
    name = MEASURE_NAME.get(measure, measure)
    if not test or num(test.get("p")) is None:
        return None, f"no overall RL − SL test of {name} in stats.json (rerun `cogdyn sweep`)"
    p, q = num(test["p"]), num(test.get("q_bh"))
    q = p if q is None else q
    eff, (lo, hi), mdd = num(test["effect"]), test["ci"], num(test.get("mdd"))
    small = SMALLEST_EFFECT.get(measure, 0.0)
    text = (
        f"{name} RL − SL = {fmt(eff)} [95 % CI {fmt(lo)}, {fmt(hi)}], rank-biserial "
        f"{fmt(test.get('rank_biserial'), 2)}, stratified permutation p = {fmt(p, 2)} (BH q = "
        f"{fmt(q, 2)}), {test.get('n_rl')} RL vs {test.get('n_sl')} SL networks in "
        f"{test.get('n_strata')} strata; detectable at 80 % power: {fmt(mdd, 2)}"
    )
    if claim == "higher":
        if eff is not None and eff > 0 and q < ALPHA:
            return True, text
        if hi is not None and hi < small:
            return CONTRADICTED, f"{text} — the CI excludes an RL advantage ≥ {small:g}"
        return INCONCLUSIVE, f"{text} — not significant; the CI still allows the claimed effect"
    if q < ALPHA:
        return True, text
    if lo is not None and hi is not None and -small < lo and hi < small:
        return CONTRADICTED, f"{text} — the CI excludes a difference of {small:g} either way"
    return INCONCLUSIVE, f"{text} — not significant; the CI still allows a difference"


def representatives(sweep: SweepFiles) -> list[Run]:
    """The networks the report shows: per paradigm, the finished run whose F_QP is nearest its
    paradigm's median (:func:`~cogdyn.report.data.representative`)."""
    return [r for r in (representative(sweep, a) for a in ALGOS) if r is not None]


def sweep_evidence(sweep: SweepFiles, reps: list[Run] | None = None) -> Evidence:
    """The evidence of a sweep directory as the report reads it: its results and statistics,
    every finished run's analysis summary and the output probabilities of ``reps`` (default
    :func:`representatives`)."""
    reps = representatives(sweep) if reps is None else reps
    target = num((sweep.spec.get("train") or {}).get("target_accuracy")) or 0.95
    return Evidence(
        results=sweep.results,
        stats=sweep.stats,
        analyses=[(str(r.row.get("algo")), r.analysis) for r in runs(sweep) if r.analysis],
        output_probabilities=[
            (str(r.row.get("algo")), t)
            for r in reps
            if (t := r.table("output_probabilities")) is not None
        ],
        target_accuracy=target,
    )
