"""Claims-table rules for performance, training, populations and information (claims 6–9,
targets 7–10); the rest and the table itself are in :mod:`cogdyn.report.claims`, what both read
in :mod:`cogdyn.report.evidence`. Each rule returns (True / False / None for "not tested", the
numbers measured)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from cogdyn.experiments.stats import IDEAL, LEVEL_KEYS, entry_level
from cogdyn.report.data import num
from cogdyn.report.evidence import ALPHA, LABELS, Evidence, Part, effect_part, fmt, majority


def _spearman(
    x: pd.Series | list[float], y: pd.Series | list[float]
) -> tuple[float | None, float | None]:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3 or np.ptp(x[keep]) == 0 or np.ptp(y[keep]) == 0:
        return None, None
    res = sps.spearmanr(x[keep], y[keep])
    return num(res.statistic), num(res.pvalue)


def performance_rules(ev: Evidence) -> tuple[Part, Part]:
    """(F_QP(RL) correlates with performance, more strongly for the harder task level)."""
    perf = ((ev.stats or {}).get("performance") or {}).get("ppo") or {}
    # The accuracy of the very checkpoints F_QP is averaged over, where the analysis has it.
    analysed = num((perf.get("analysed_accuracy") or {}).get("p")) is not None
    acc_key = "analysed_accuracy" if analysed else "accuracy"
    acc, upd = perf.get(acc_key) or {}, perf.get("updates_to_criterion") or {}
    ra, pa, ru, pu = (
        num(acc.get("rho")),
        num(acc.get("p")),
        num(upd.get("rho")),
        num(upd.get("p")),
    )
    if (ra is None or pa is None) and (ru is None or pu is None):
        first: Part = (None, "no correlation of F_QP(RL) with performance in stats.json")
    else:
        # Two tests for one rule: Benjamini–Hochberg over the ones defined.
        ps = [p for p in (pa, pu) if p is not None]
        q = dict(
            zip(
                [k for k, p in (("a", pa), ("u", pu)) if p is not None],
                sps.false_discovery_control(ps),
                strict=True,
            )
        )
        qa, qu = q.get("a"), q.get("u")
        ok = (ra is not None and qa is not None and ra > 0 and qa < ALPHA) or (
            ru is not None and qu is not None and ru < 0 and qu < ALPHA
        )
        first = (
            ok,
            f"RL: ρ(F_QP, {acc_key.replace('_', ' ')}) = {fmt(ra)} (BH q = {fmt(qa, 2)}), "
            f"ρ(F_QP, updates to criterion) = {fmt(ru)} (BH q = {fmt(qu, 2)})",
        )
    levels = []
    entries = (ev.stats or {}).get("performance_by_level") or []
    for entry in entries:
        m = ((entry.get("ppo") or {}).get(acc_key)) or {}
        rho = num(m.get("rho"))
        if rho is None:
            continue
        level = entry_level(entry)
        ideal = num(entry.get(IDEAL))
        levels.append((level, ideal, rho))
    settings = sorted({k for e in entries for k in entry_level(e) if k not in LEVEL_KEYS})
    if settings:
        # Levels that differ in swept settings too (train.lr, ...) are not task levels: their
        # extremes would compare learning rates, not complexity.
        return first, (
            None,
            "task-complexity dependence: the levels also differ in swept settings "
            f"({', '.join(settings)}); claim 6 compares task levels at one setting",
        )
    if len(levels) < 2:
        return first, (
            None,
            "task-complexity dependence: fewer than two task levels with a correlation",
        )
    # Easiest first: by the ideal observer's accuracy on each level's trials where every level
    # has it (it ranks any axis: choices, coherences, noise), else by choices then coherence.
    if all(ideal is not None for _, ideal, _ in levels):
        levels.sort(key=lambda t: -float(t[1]))
    else:
        levels.sort(key=lambda t: _hardness(t[0]))
    text = "; ".join(
        f"{_level_name(level)}"
        + (f" (ideal observer {ideal:.3f})" if ideal is not None else "")
        + f": ρ = {fmt(rho)}"
        for level, ideal, rho in levels
    )
    # "Correlates with performance gains, particularly as complexity increases": at the hardest
    # level F_QP goes with higher accuracy (ρ > 0), and more so than at the easiest. A
    # correlation with lower accuracy is one with performance losses, however strong.
    easy, hard = levels[0][2], levels[-1][2]
    return first, (
        hard > 0 and hard > easy,
        f"RL ρ(F_QP, {acc_key.replace('_', ' ')}) easiest → hardest level: {text} "
        "(the claim: ρ > 0 at the hardest level and above the easiest's)",
    )


def _level_name(level: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in level.items()) or "all"


def _hardness(level: dict) -> tuple[float, float]:
    """Order of task levels without ideal-observer accuracies: more choices is harder, then
    weaker mean coherence."""
    cohs = [float(c) for c in str(level.get("coherences", "")).split(",") if c.strip()]
    return float(level.get("dim_ring", 2)), -float(np.mean(cohs)) if cohs else 0.0


def _label_fractions(census: dict) -> np.ndarray:
    counts = census.get("label_counts") or {}
    v = np.array([float(counts.get(k, 0)) for k in LABELS])
    return v / v.sum() if v.sum() > 0 else v


def training_rules(ev: Evidence) -> Part:
    """Accuracy and the attractor census co-evolve over training checkpoints."""
    flags, rhos = [], []
    for _, s in ev.analyses:
        recs = [
            c for c in s.get("checkpoints") or [] if c.get("kind") != "final" and c.get("census")
        ]
        if sum(c["kind"] in ("init", "log") for c in recs) < 2 or len(recs) < 4:
            continue
        init = next((c for c in recs if c["kind"] == "init"), recs[0])
        base = _label_fractions(init["census"])
        change = [0.5 * np.abs(_label_fractions(c["census"]) - base).sum() for c in recs]
        rho, _ = _spearman([c["accuracy"] for c in recs], change)
        if rho is not None:
            rhos.append(rho)
            flags.append(rho > 0)
    if not flags:
        return (
            None,
            "no run analysed over its training checkpoints (`cogdyn analyze --checkpoints all`)",
        )
    return majority(flags), (
        f"ρ(accuracy, census change from init) > 0 in {sum(flags)}/{len(flags)} "
        f"networks (median ρ = {fmt(np.median(rhos))})"
    )


def _mw(a: pd.Series, b: pd.Series) -> float | None:
    a, b = a.dropna(), b.dropna()
    if len(a) < 2 or len(b) < 2:
        return None
    return num(sps.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def balance_rules(ev: Evidence) -> tuple[Part, Part]:
    """(RL populations more balanced than SL, balance goes with robustness)."""
    rl, sl = ev.rows("ppo"), ev.rows("sl")
    if "balance_index" not in rl or rl.empty or sl.empty:
        return (None, "balance index not computed"), (None, "robustness not computed")
    m_rl, m_sl = rl["balance_index"].mean(), sl["balance_index"].mean()
    ok, text = effect_part(ev, "balance_index", "higher")
    first: Part = (ok, f"B RL {fmt(m_rl)} vs SL {fmt(m_sl)}: {text}")
    both = pd.concat([rl, sl])
    robust = [c for c in both.columns if c.startswith("robust_")]
    rhos = {c: _spearman(both["balance_index"], both[c])[0] for c in robust}
    rhos = {c: r for c, r in rhos.items() if r is not None}
    if not rhos:
        return first, (None, "robustness scores not computed")
    text = ", ".join(f"ρ(B, {c}) = {fmt(r)}" for c, r in rhos.items())
    return first, (majority([r > 0 for r in rhos.values()]), text)


def information_rules(ev: Evidence) -> tuple[Part, Part]:
    """(selective-unit fractions differ between RL and SL, decision information crystallises)."""
    rl, sl = ev.rows("ppo"), ev.rows("sl")
    cols = [c for c in rl.columns if c.startswith("selective_")] if not rl.empty else []
    tests = {c: _mw(rl[c], sl[c]) for c in cols if c in sl}
    tests = {c: p for c, p in tests.items() if p is not None}
    if not tests:
        first: Part = (None, "information measures not computed")
    else:  # Bonferroni over the measures
        sig = [c for c, p in tests.items() if p < ALPHA / len(tests)]
        text = ", ".join(
            f"{c}: RL {fmt(rl[c].mean())} vs SL {fmt(sl[c].mean())} (p = {fmt(p, 2)})"
            for c, p in tests.items()
        )
        first = (bool(sig), f"{text}; {len(sig)}/{len(tests)} differ at p < {ALPHA}/{len(tests)}")
    both = pd.concat([rl, sl])
    cryst = [c for c in both.columns if c.startswith("cryst")]
    if not cryst:
        return first, (None, "crystallisation not computed")
    col = cryst[0]
    finite = both[col].map(lambda v: num(v) is not None)
    return first, (
        bool(finite.mean() > 0.5),
        f"{col} defined for {int(finite.sum())}/{len(both)} networks "
        f"(median {fmt(both[col].median())})",
    )
