"""The claims table: each claim and reproduction target of the paper, the numbers measured, and
a verdict — reproduced / contradicted / not reproduced / inconclusive / not tested
(:mod:`cogdyn.report.evidence`) — computed from the data by the rules below, never written by
hand. The rules are listed in ``docs/report.md``; each verdict carries its own rule text, which
the page prints beside it.

Evidence: ``stats.json`` (the overall RL − SL tests stratified by δ and task level, with effect
sizes and confidence intervals; Spearman trends), ``results.parquet`` (one row per network, its
headline numbers over the checkpoints at criterion) and, where a rule needs them, the runs'
analysis summaries and the representative networks' output probabilities. Missing or null
evidence gives "not tested", never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cogdyn.report.claims_text import CLAIMS, RULES, TARGETS
from cogdyn.report.data import num
from cogdyn.report.evidence import (
    ALPHA,
    LABELS,
    NEAR_ZERO,
    Evidence,
    Part,
    combine,
    effect_part,
    fmt,
    majority,
)
from cogdyn.report.population_claims import (
    balance_rules,
    information_rules,
    performance_rules,
    training_rules,
)

__all__ = ["ALPHA", "Evidence", "Verdict", "evaluate_claims"]

FP_ONLY = 0.9
"""A paradigm is "fixed-point only" when ≥ this fraction of its grid points are fixed points."""
BASIN_AGREEMENT = 0.8
"""Basins "split the states by choice" when ≥ this fraction of trials reach their choice's point."""
DECIDED = 0.8
"""A decision "has formed" when p(correct | respond) in the decision period is ≥ this …"""
RISE = 0.3
"""… and ≥ this much above its value at stimulus onset."""


@dataclass(frozen=True)
class Verdict:
    """One row of the claims table."""

    key: str
    statement: str
    rule: str
    measured: str
    verdict: str


def _rl_higher(ev: Evidence) -> Part:
    """F_QP higher under RL overall (stratified test; ``central`` of stats.json)."""
    return effect_part(ev, "frac_qp", "higher")


def _rl_higher_bounded(ev: Evidence) -> Part:
    """… and over bounded points too, so that SL networks diverging under a held stimulus
    cannot make RL look higher."""
    return effect_part(ev, "frac_qp_bounded", "higher")


def _reached(ev: Evidence) -> Part:
    parts, ok = [], True
    for algo in ("ppo", "sl"):
        r = ev.rows(algo)
        if r.empty or "reached_criterion" not in r:
            return None, f"no finished {algo} networks"
        by = r.groupby("delta")["reached_criterion"] if "delta" in r else None
        all_delta = bool(by.all().all()) if by is not None else bool(r["reached_criterion"].all())
        ok &= all_delta
        upd = r["updates_to_criterion"].median() if "updates_to_criterion" in r else None
        parts.append(
            f"{algo}: {int(r['reached_criterion'].sum())}/{len(r)} reached "
            f"{ev.target_accuracy:.0%}, mean accuracy {fmt(r['accuracy'].mean())}, "
            f"median updates to criterion {fmt(upd)}"
        )
    return ok, "; ".join(parts)


def _decision_forms(ev: Evidence) -> Part:
    found = []
    for algo, t in ev.output_probabilities:
        cols = [c for c in t.columns if c.startswith("p_") and c != "p_0"]
        t = t[t["coh_relevant"] != 0]
        if "choice" in t:
            correct = np.array([r[f"p_{int(r['choice'])}"] for _, r in t.iterrows()])
        else:
            correct = np.where(t["coh_relevant"] > 0, t["p_1"], t.get("p_2", 0))
        p = pd.Series(correct / t[cols].sum(axis=1).to_numpy(), index=t.index)
        dec, stim = p[t["period"] == "decision"].mean(), p[t["period"] == "stimulus"]
        onset = stim[t.loc[stim.index, "step"] == t.loc[stim.index, "step"].min()].mean()
        found.append((algo, dec, onset, dec >= DECIDED and dec - onset >= RISE))
    if not found:
        return None, "no output-probability data (run `cogdyn plot` on the representative runs)"
    text = "; ".join(
        f"{a}: p(correct | respond) {fmt(o, 2)} at stimulus onset → {fmt(d, 2)} at decision"
        for a, d, o, _ in found
    )
    return all(f[3] for f in found), text


def _qp_in_most_rl(ev: Evidence) -> Part:
    r = ev.rows("ppo")
    if r.empty or "frac_qp" not in r:
        return None, "no finished RL networks"
    pos = int((r["frac_qp"] > 0).sum())
    return pos > len(
        r
    ) / 2, f"{pos}/{len(r)} RL networks have F_QP > 0 (mean {fmt(r['frac_qp'].mean())})"


def _sl_near_zero(ev: Evidence) -> Part:
    r = ev.rows("sl")
    if r.empty or "frac_qp" not in r:
        return None, "no finished SL networks"
    m = r["frac_qp"].mean()
    return bool(m <= NEAR_ZERO), f"mean F_QP(SL) = {fmt(m)} (≈ 0 means ≤ {NEAR_ZERO})"


def _sl_fixed_points(ev: Evidence) -> Part:
    r = ev.rows("sl")
    cols = [f"n_{k}" for k in LABELS if f"n_{k}" in r]
    if r.empty or "n_fixed_point" not in cols:
        return None, "no label counts for SL networks"
    frac = r["n_fixed_point"] / r[cols].sum(axis=1).replace(0, np.nan)
    m = frac.mean()
    return bool(
        m >= FP_ONLY
    ), f"SL grid points at a fixed point: {fmt(m)} (mean over {len(r)} networks)"


def _low_coherence(ev: Evidence) -> Part:
    flags, pooled = [], []
    for algo, s in ev.analyses:
        by = s.get("frac_qp_by_abs_coherence") or {}
        if algo != "ppo" or not by or not any(v for v in by.values()):
            continue
        levels = sorted(by, key=float)
        half = len(levels) // 2
        low = np.mean([by[k] for k in levels[: max(half, 1)]])
        high = np.mean([by[k] for k in levels[-max(half, 1) :]])
        flags.append(bool(low > high))
        pooled.append(pd.Series(by).rename(float))
    if not flags:
        return None, "no RL network with quasi-periodic points and a per-|coherence| census"
    mean = pd.concat(pooled, axis=1).mean(axis=1).sort_index()
    text = ", ".join(f"{k:g} %: {v:.2f}" for k, v in mean.items())
    return majority(
        flags
    ), f"RL F_QP by |relevant coherence| — {text}; low > high in {sum(flags)}/{len(flags)} networks"


def _trend(ev: Evidence, algo: str) -> tuple[float | None, float | None, Any]:
    t = ((ev.stats or {}).get("delta_trend") or {}).get(algo) or {}
    return num(t.get("rho")), num(t.get("p")), t.get("n")


def _rl_rises(ev: Evidence) -> Part:
    rho, p, n = _trend(ev, "ppo")
    if rho is None or p is None:
        return None, "no Spearman trend of F_QP(RL) with δ (needs ≥ 2 δ values)"
    return rho > 0 and p < ALPHA, f"Spearman ρ(δ, F_QP) RL = {fmt(rho)}, p = {fmt(p, 2)}, n = {n}"


def _sl_flat(ev: Evidence) -> Part:
    means = [
        num((g.get("sl") or {}).get("frac_qp_mean"))
        for g in (ev.stats or {}).get("groups", []) or []
    ]
    means = [m for m in means if m is not None]
    if not means:
        return None, "no SL groups in stats.json"
    return max(
        means
    ) <= NEAR_ZERO, f"SL F_QP per δ group: max {fmt(max(means))} (≈ 0 means ≤ {NEAR_ZERO})"


HOLDS_CHOICE = 0.5
"""A network "has a stable point per choice" under an input when at least this fraction of its
headline checkpoints has one for every choice and context (``stable_fp_per_choice_<phase>``)."""


def _holders(r: pd.DataFrame, phase: str) -> pd.Series | None:
    col = f"stable_fp_per_choice_{phase}"
    if col not in r or r[col].isna().all():
        return None
    return r[col].dropna() >= HOLDS_CHOICE


def _fixed_points_per_choice(ev: Evidence) -> Part:
    """Target 6 under the delay input — the period that holds the choice in a trial — with the
    decision input (one untrained step) reported beside it."""
    r = pd.concat([ev.rows("ppo"), ev.rows("sl")])
    delay = _holders(r, "delay") if not r.empty else None
    if delay is None or delay.empty:
        return None, "no delay-input fixed points of headline checkpoints (rerun `cogdyn analyze`)"
    agree = r["basin_agreement_delay"].dropna() if "basin_agreement_delay" in r else pd.Series()
    ok = bool(delay.mean() > 0.5) and (agree.empty or float(agree.mean()) >= BASIN_AGREEMENT)
    per = ", ".join(
        f"{a}: {int(h.sum())}/{len(h)}"
        for a in ("ppo", "sl")
        if (h := _holders(ev.rows(a), "delay")) is not None
    )
    text = f"networks with a stable delay-input point per choice — {per}"
    if not agree.empty:
        text += (
            f"; mean basin agreement under the delay input {fmt(agree.mean(), 2)} "
            f"(rule: ≥ {BASIN_AGREEMENT})"
        )
    decision = _holders(r, "decision")
    if decision is not None and not decision.empty:
        text += f"; decision input (not in the rule): {int(decision.sum())}/{len(decision)}"
    return ok, text


def _hybrid(ev: Evidence) -> Part:
    """Claim 2: RL networks hold the choice in stable points and have quasi-periodic points."""
    r = ev.rows("ppo")
    holds = _holders(r, "delay") if not r.empty else None
    if holds is None or "frac_qp" not in r:
        return None, "no RL delay-input fixed-point and census numbers"
    both = holds & (r.loc[holds.index, "frac_qp"] > 0)
    return bool(both.mean() > 0.5), (
        f"{int(both.sum())}/{len(both)} RL networks have both a stable delay-input point per "
        "choice and F_QP > 0"
    )


def evaluate_claims(ev: Evidence) -> list[Verdict]:
    """Every claim (1–9) and target (1–10) of the paper (``docs/claims.md``) with its measured
    numbers and verdict."""
    reached, rl_higher, decision = _reached(ev), _rl_higher(ev), _decision_forms(ev)
    rl_higher_bounded = _rl_higher_bounded(ev)
    most_rl, sl_zero, low_c = _qp_in_most_rl(ev), _sl_near_zero(ev), _low_coherence(ev)
    rises, flat, fps = _rl_rises(ev), _sl_flat(ev), _fixed_points_per_choice(ev)
    sl_fp = _sl_fixed_points(ev)
    perf, train, bal, info = (
        performance_rules(ev),
        training_rules(ev),
        balance_rules(ev),
        information_rules(ev),
    )
    different = _different(ev)
    hybrid = _hybrid(ev)
    parts: dict[str, tuple[Part, ...]] = {
        "claim 1": (reached, different),
        "claim 2": (hybrid, low_c),
        "claim 3": (sl_fp, sl_zero),
        "claim 4": (rl_higher, rl_higher_bounded),
        "claim 5": (rises,),
        "claim 6": perf,
        "claim 7": bal,
        "claim 8": (train,),
        "claim 9": info[:1],
        "target 1": (reached,),
        "target 2": (decision,),
        "target 3": (most_rl, sl_zero, rl_higher),
        "target 4": (low_c,),
        "target 5": (rises, flat),
        "target 6": (fps,),
        "target 7": (train,),
        "target 8": perf,
        "target 9": bal,
        "target 10": info,
    }
    texts = {
        **{f"claim {i + 1}": c for i, c in enumerate(CLAIMS)},
        **{f"target {i + 1}": t for i, t in enumerate(TARGETS)},
    }
    out = []
    for key, ps in parts.items():
        verdict, measured = combine(*ps)
        out.append(Verdict(key, texts[key], RULES[key], measured, verdict))
    return out


def _different(ev: Evidence) -> Part:
    """F_QP differs RL vs SL overall (stratified test of stats.json)."""
    return effect_part(ev, "frac_qp", "differs")
