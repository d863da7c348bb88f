"""RL − SL effects as the claims state them: overall, stratified by δ and task level, with an
effect size, its confidence interval and the smallest difference the study could have detected.

The question "is F_QP higher under RL?" is one question about the whole study, not one per δ:
the answer pools the δ × task-level strata without letting a stratum's own level masquerade as
a paradigm effect. :func:`paradigm_effect` gives, for one measure (one value per network):

* ``effect`` — the stratified mean difference RL − SL: Σₛ wₛ (m̄_RL,s − m̄_SL,s) / Σₛ wₛ with
  wₛ = n_RL,s · n_SL,s / (n_RL,s + n_SL,s) (equal strata weigh equally; a stratum with few
  networks of one paradigm weighs less). Strata that lack either paradigm carry no contrast and
  are left out (``n_strata_dropped``).
* ``p`` — a within-stratum permutation test of that difference: paradigm labels are shuffled
  inside each stratum (which keeps every stratum's composition), two-sided, p = share of
  relabellings whose |effect| reaches the observed one. Every relabelling is enumerated when
  there are at most ``n_permutations`` of them (exact p); otherwise ``n_permutations`` seeded
  random ones are drawn and p = (1 + hits) / (1 + n_permutations).
* ``rank_biserial`` — the stratified rank-biserial correlation 2 ΣU_s / Σ n_RL,s n_SL,s − 1 (U of
  RL within each stratum; +1: every RL network above every SL network of its stratum).
* ``ci`` and ``rank_biserial_ci`` — 95 % percentile bootstrap intervals (networks resampled with
  replacement within each stratum × paradigm, ``n_bootstrap`` seeded draws).
* ``mdd`` — the minimal detectable difference at 80 % power and two-sided α: (t_{1−α/2} +
  t_{power}) · SE, with SE of the stratified difference from the pooled within-cell standard
  deviation (df = networks − cells): a true effect smaller than this would more often than not
  be missed by a study of this size.

:func:`variance_decomposition` splits the variance of the per-checkpoint F_QP into what lies
between strata, between paradigms within a stratum, between networks (seeds) within a paradigm,
and between checkpoints within a network.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

ALPHA = 0.05
"""Two-sided significance level."""
POWER = 0.8
"""Power at which the minimal detectable difference is stated."""
N_PERMUTATIONS = 10_000
N_BOOTSTRAP = 10_000


def _strata(
    frame: pd.DataFrame, column: str, strata: Sequence[str]
) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
    """Per stratum with both paradigms: (RL values, SL values); and the number dropped."""
    keys = [k for k in strata if k in frame]
    data = frame[np.isfinite(frame[column].to_numpy(dtype=np.float64))]
    groups = data.groupby(keys, sort=True, dropna=False) if keys else [((), data)]
    out, dropped = [], 0
    for _, part in groups:
        rl = part.loc[part["algo"] == "ppo", column].to_numpy(dtype=np.float64)
        sl = part.loc[part["algo"] == "sl", column].to_numpy(dtype=np.float64)
        if rl.size and sl.size:
            out.append((rl, sl))
        else:
            dropped += 1
    return out, dropped


def _weights(strata: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    return np.array([a.size * b.size / (a.size + b.size) for a, b in strata])


def stratified_difference(strata: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Σₛ wₛ (mean RL − mean SL) / Σₛ wₛ (module docstring)."""
    w = _weights(strata)
    d = np.array([a.mean() - b.mean() for a, b in strata])
    return float((w * d).sum() / w.sum())


def _permutation_p(
    strata: list[tuple[np.ndarray, np.ndarray]], n_permutations: int, seed: int
) -> tuple[float, int, bool]:
    """(two-sided p, relabellings used, exact?) of the within-stratum permutation test."""
    w = _weights(strata)
    observed = abs(stratified_difference(strata))
    pooled = [np.concatenate([a, b]) for a, b in strata]
    n_rl = [a.size for a, _ in strata]
    counts = [math.comb(v.size, k) for v, k in zip(pooled, n_rl, strict=True)]
    total = math.prod(counts)
    tol = 1e-12 * max(1.0, observed)
    if total <= n_permutations:
        # Every relabelling: per stratum, the RL mean difference of each choice of RL indices.
        per_stratum = []
        for v, k in zip(pooled, n_rl, strict=True):
            diffs = []
            for idx in itertools.combinations(range(v.size), k):
                mask = np.zeros(v.size, dtype=bool)
                mask[list(idx)] = True
                diffs.append(v[mask].mean() - v[~mask].mean())
            per_stratum.append(np.asarray(diffs))
        grid = np.meshgrid(*per_stratum, indexing="ij")
        stat = sum(wi * g for wi, g in zip(w, grid, strict=True)) / w.sum()
        hits = int((np.abs(stat) >= observed - tol).sum())
        return hits / total, total, True
    rng = np.random.default_rng(seed)
    stat = np.zeros(n_permutations)
    for wi, v, k in zip(w, pooled, n_rl, strict=True):
        order = np.argsort(rng.random((n_permutations, v.size)), axis=1)
        shuffled = v[order]
        stat += wi * (shuffled[:, :k].mean(1) - shuffled[:, k:].mean(1))
    stat /= w.sum()
    hits = int((np.abs(stat) >= observed - tol).sum())
    return (1 + hits) / (1 + n_permutations), n_permutations, False


def _u(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mann–Whitney U of ``a`` over ``b`` along the last axis pair: (..., n_a), (..., n_b)."""
    diff = a[..., :, None] - b[..., None, :]
    return (diff > 0).sum((-1, -2)) + 0.5 * (diff == 0).sum((-1, -2))


def rank_biserial(strata: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Stratified rank-biserial correlation 2 ΣU / Σ n_RL n_SL − 1 (module docstring)."""
    u = sum(float(_u(a, b)) for a, b in strata)
    pairs = sum(a.size * b.size for a, b in strata)
    return 2.0 * u / pairs - 1.0


def _bootstrap(
    strata: list[tuple[np.ndarray, np.ndarray]], n_bootstrap: int, seed: int
) -> tuple[list[float], list[float]]:
    """95 % percentile intervals of the effect and of the rank-biserial correlation."""
    rng = np.random.default_rng(seed)
    w = _weights(strata)
    effect = np.zeros(n_bootstrap)
    u = np.zeros(n_bootstrap)
    pairs = 0
    for wi, (a, b) in zip(w, strata, strict=True):
        ra = a[rng.integers(0, a.size, (n_bootstrap, a.size))]
        rb = b[rng.integers(0, b.size, (n_bootstrap, b.size))]
        effect += wi * (ra.mean(1) - rb.mean(1))
        u += _u(ra, rb)
        pairs += a.size * b.size
    effect /= w.sum()
    rb_corr = 2.0 * u / pairs - 1.0
    lo, hi = 100 * ALPHA / 2, 100 * (1 - ALPHA / 2)
    return (
        [float(np.percentile(effect, lo)), float(np.percentile(effect, hi))],
        [float(np.percentile(rb_corr, lo)), float(np.percentile(rb_corr, hi))],
    )


def minimal_detectable_difference(
    strata: list[tuple[np.ndarray, np.ndarray]], alpha: float = ALPHA, power: float = POWER
) -> float | None:
    """(t_{1−α/2} + t_{power}) · SE of the stratified difference (module docstring); None when
    no cell has two networks (no within-cell spread to estimate)."""
    w = _weights(strata)
    ss = sum(((x - x.mean()) ** 2).sum() for a, b in strata for x in (a, b))
    df = sum(a.size + b.size for a, b in strata) - 2 * len(strata)
    if df < 1:
        return None
    var = ss / df
    terms = [wi**2 * var * (1 / a.size + 1 / b.size) for wi, (a, b) in zip(w, strata, strict=True)]
    se = math.sqrt(sum(terms)) / w.sum()
    t = sps.t.ppf(1 - alpha / 2, df) + sps.t.ppf(power, df)
    return float(t * se)


def paradigm_effect(
    frame: pd.DataFrame,
    column: str,
    strata: Sequence[str] = ("delta", "task", "dim_ring", "coherences", "sigma"),
    *,
    n_permutations: int = N_PERMUTATIONS,
    n_bootstrap: int = N_BOOTSTRAP,
    seed: int = 0,
) -> dict[str, Any]:
    """The RL − SL effect on ``column`` (one value per network, rows with ``algo``), stratified
    by the ``strata`` columns present; the fields of the module docstring, JSON-ready, with
    nulls (never NaN) where a field is undefined (no stratum holds both paradigms)."""
    groups, dropped = _strata(frame, column, strata)
    base: dict[str, Any] = {
        "test": "stratified permutation of the mean difference RL − SL (two-sided)",
        "measure": column,
        "strata": [k for k in strata if k in frame],
        "n_strata": len(groups),
        "n_strata_dropped": dropped,
        "n_rl": int(sum(a.size for a, _ in groups)),
        "n_sl": int(sum(b.size for _, b in groups)),
    }
    if not groups:
        return {
            **base,
            "p": None,
            "effect": None,
            "ci": [None, None],
            "rank_biserial": None,
            "rank_biserial_ci": [None, None],
            "mdd": None,
            "n_permutations": 0,
            "exact": False,
        }
    p, used, exact = _permutation_p(groups, n_permutations, seed)
    ci, rb_ci = _bootstrap(groups, n_bootstrap, seed + 1)
    return {
        **base,
        "p": float(p),
        "effect": stratified_difference(groups),
        "ci": ci,
        "rank_biserial": rank_biserial(groups),
        "rank_biserial_ci": rb_ci,
        "mdd": minimal_detectable_difference(groups),
        "n_permutations": int(used),
        "exact": exact,
    }


def variance_decomposition(
    checkpoints: pd.DataFrame,
    column: str = "frac_qp",
    strata: Sequence[str] = ("delta", "task", "dim_ring", "coherences", "sigma"),
) -> dict[str, Any]:
    """Shares of the total sum of squares of ``column`` over the headline checkpoints of every
    network (``checkpoints``: one row per cell × checkpoint with ``cell``, ``algo``, the
    strata columns and ``headline``), nested: ``stratum`` (between δ × task-level strata),
    ``paradigm`` (between RL and SL within a stratum), ``seed`` (between networks within a
    paradigm and stratum) and ``checkpoint`` (between checkpoints within a network). The four
    shares add up to 1; ``n_checkpoints_per_network`` says how many checkpoints each network
    contributes. Null shares when there is no variance or no data."""
    rows = checkpoints
    if "headline" in rows:
        rows = rows[rows["headline"].astype(bool)]
    rows = rows[np.isfinite(rows[column].to_numpy(dtype=np.float64))] if len(rows) else rows
    keys = [k for k in strata if k in rows]
    names = ("stratum", "paradigm", "seed", "checkpoint")
    if len(rows) < 2:
        return {"measure": column, **{n: None for n in names}, "n": len(rows)}
    y = rows[column].to_numpy(dtype=np.float64)

    def means(by: list[str]) -> np.ndarray:
        if not by:
            return np.full(len(rows), y.mean())
        return rows.groupby(by, sort=False, dropna=False)[column].transform("mean").to_numpy()

    levels = [keys, [*keys, "algo"], [*keys, "algo", "cell"]]
    m0 = np.full(len(rows), y.mean())
    m1, m2, m3 = (means(k) for k in levels)
    ss = [((m1 - m0) ** 2).sum(), ((m2 - m1) ** 2).sum(), ((m3 - m2) ** 2).sum()]
    ss.append(((y - m3) ** 2).sum())
    total = float(sum(ss))
    per_net = rows.groupby("cell").size()
    out: dict[str, Any] = {"measure": column, "n": len(rows), "total_ss": total}
    for name, part in zip(names, ss, strict=True):
        out[name] = float(part / total) if total > 0 else None
    out["n_networks"] = int(per_net.size)
    out["n_checkpoints_per_network"] = {
        "min": int(per_net.min()),
        "mean": float(per_net.mean()),
        "max": int(per_net.max()),
    }
    return out
