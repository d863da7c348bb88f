"""Statistics of a sweep (``DIR/stats.json``): RL vs SL per δ and task level, trends, correlations.

Each network contributes one F_QP: its mean over the post-criterion checkpoints (the results
table's ``frac_qp``). Only cells with status ``done`` count. A *level* is one setting of
everything swept besides paradigm, δ and seed (:func:`level_keys`): the task (``dim_ring`` ×
coherence set, and ``sigma`` when swept) and every swept setting of the grid's dotted axes
(``train.lr``, ``ppo.entropy_coef``, ``analysis.classify.zero_tol``, ...), so networks trained
or analysed with different settings are never pooled as if they were alike: a network with
``train.lr`` 1e-3 and one with 3e-4 fall in different levels, and in different strata of the
headline test and of the variance decomposition. For every level × δ: mean and SEM of
F_QP per paradigm (over all grid points and over bounded ones), the untrained baseline, accuracy
and updates to criterion, and a two-sided Mann–Whitney U test of PPO vs SL. Per paradigm and
level: Spearman ρ of F_QP with δ, and of F_QP with performance (accuracy, updates to criterion),
the latter with the level's median ideal-observer accuracy, its difficulty (``IDEAL``).
A statistic that is undefined (too few networks, constant values) is ``null``, never NaN.

The claims are about the whole study, so the headline test is not per δ: ``central`` is the
RL − SL difference of F_QP stratified by δ and task level (:func:`~cogdyn.experiments.effects.
paradigm_effect`: within-stratum permutation test, effect, rank-biserial, bootstrap CI and the
minimal detectable difference), and ``tests`` holds the same for bounded F_QP, F_osc (periodic +
quasi-periodic) and the balance index, with Benjamini–Hochberg q values over that family
(``q_bh``). ``variance`` splits the per-checkpoint F_QP into stratum, paradigm, seed and
checkpoint shares (:func:`~cogdyn.experiments.effects.variance_decomposition`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from cogdyn.experiments.effects import paradigm_effect, variance_decomposition
from cogdyn.experiments.spec import is_setting_axis

PARADIGMS: tuple[str, ...] = ("sl", "ppo")
LEVEL_KEYS: tuple[str, ...] = ("task", "dim_ring", "coherences", "sigma")
"""The task-level columns; every swept-setting column (a dotted key) is a level key too."""
SUMMARISED: tuple[str, ...] = (
    "frac_qp",
    "frac_qp_bounded",
    "frac_qp_untrained",
    "accuracy",
    "updates_to_criterion",
    "env_steps_to_criterion",
    "balance_index",
    "frac_osc",
    "analysed_accuracy",
)
PERFORMANCE: tuple[str, ...] = (
    "accuracy",
    "analysed_accuracy",
    "updates_to_criterion",
    "env_steps_to_criterion",
)
"""Performance measures F_QP is correlated with; ``analysed_accuracy`` is the fresh-trial
accuracy of the very checkpoints F_QP is averaged over."""
IDEAL = "ideal_observer_accuracy"
"""The results column of a run's ideal-observer accuracy, the difficulty of its task level."""
EFFECT_MEASURES: tuple[str, ...] = ("frac_qp", "frac_qp_bounded", "frac_osc", "balance_index")
"""Measures tested RL vs SL overall (``tests``); the first is ``central``."""


def _clean(x: Any) -> Any:
    if isinstance(x, float | np.floating):
        return None if not math.isfinite(float(x)) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


def mean_sem(values: Any) -> dict[str, Any]:
    """n, mean and standard error of the mean (ddof = 1; null for fewer than two values)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return {"n": 0, "mean": None, "sem": None}
    sem = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else None
    return {"n": int(v.size), "mean": float(v.mean()), "sem": _clean(sem)}


def mann_whitney(a: Any, b: Any) -> dict[str, Any]:
    """Two-sided Mann–Whitney U of ``a`` vs ``b`` (U of ``a``); null when a side is empty."""
    a = np.asarray([x for x in a if np.isfinite(x)], dtype=np.float64)
    b = np.asarray([x for x in b if np.isfinite(x)], dtype=np.float64)
    if a.size == 0 or b.size == 0:
        return {"u": None, "p": None, "n": [int(a.size), int(b.size)]}
    res = sps.mannwhitneyu(a, b, alternative="two-sided")
    return {"u": _clean(res.statistic), "p": _clean(res.pvalue), "n": [int(a.size), int(b.size)]}


def spearman(x: Any, y: Any) -> dict[str, Any]:
    """Spearman ρ and its p-value over the finite pairs; null when undefined."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = int(x.size)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return {"rho": None, "p": None, "n": n}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sps.spearmanr(x, y)
    return {"rho": _clean(res.statistic), "p": _clean(res.pvalue), "n": n}


def level_keys(frame: pd.DataFrame) -> list[str]:
    """The columns of ``frame`` whose values tell one level from another: those of
    :data:`LEVEL_KEYS` it has, then its swept-setting columns (``train.lr``, ...) in table order.
    Paradigm, δ and seed never are (a dotted key may not name them)."""
    settings = [str(c) for c in frame.columns if is_setting_axis(str(c))]
    return [k for k in LEVEL_KEYS if k in frame] + settings


def entry_level(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The level of one entry of ``stats.json`` (``groups``, ``*_by_level``): its keys of
    :data:`LEVEL_KEYS` and its swept settings, with their values, in the entry's order."""
    return {k: v for k, v in entry.items() if k in LEVEL_KEYS or is_setting_axis(k)}


def strata_keys(frame: pd.DataFrame) -> tuple[str, ...]:
    """The strata of the headline RL − SL tests and of the variance decomposition: δ × level."""
    return ("delta", *level_keys(frame))


def _levels(frame: pd.DataFrame) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    keys = level_keys(frame)
    if frame.empty:
        return []
    return [
        (dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True)), part)
        for key, part in frame.groupby(keys, sort=True)
    ]


def _col(part: pd.DataFrame, name: str) -> np.ndarray:
    """The column as floats; all NaN (undefined, not empty) when the table lacks it."""
    return part[name].to_numpy(dtype=np.float64) if name in part else np.full(len(part), np.nan)


def _summary(sub: pd.DataFrame) -> dict[str, Any]:
    """Flat ``NAME_mean``, ``NAME_sem``, ``NAME_n`` per summarised column, ``n`` networks."""
    out: dict[str, Any] = {"n": len(sub), "reached_criterion": int(sub["reached_criterion"].sum())}
    for name in SUMMARISED:
        if name in sub:
            ms = mean_sem(_col(sub, name))
            out.update({f"{name}_mean": ms["mean"], f"{name}_sem": ms["sem"], f"{name}_n": ms["n"]})
    return out


def _trend(sub: pd.DataFrame) -> dict[str, Any]:
    return {
        **spearman(_col(sub, "delta"), _col(sub, "frac_qp")),
        "bounded": spearman(_col(sub, "delta"), _col(sub, "frac_qp_bounded")),
    }


def _performance(sub: pd.DataFrame) -> dict[str, Any]:
    return {m: spearman(_col(sub, "frac_qp"), _col(sub, m)) for m in PERFORMANCE}


def _ppo_vs_sl(part: pd.DataFrame, column: str) -> dict[str, Any]:
    return mann_whitney(
        _col(part[part["algo"] == "ppo"], column), _col(part[part["algo"] == "sl"], column)
    )


def effect_tests(done: pd.DataFrame, seed: int = 0) -> dict[str, dict[str, Any]]:
    """:func:`~cogdyn.experiments.effects.paradigm_effect` of every measure of
    :data:`EFFECT_MEASURES` the table has, with Benjamini–Hochberg ``q_bh`` over them."""
    strata = strata_keys(done)
    tests = {m: paradigm_effect(done, m, strata, seed=seed) for m in EFFECT_MEASURES if m in done}
    named = [m for m, t in tests.items() if t["p"] is not None]
    if named:
        q = sps.false_discovery_control([tests[m]["p"] for m in named], method="bh")
        for m, qv in zip(named, q, strict=True):
            tests[m]["q_bh"] = float(qv)
    for t in tests.values():
        t.setdefault("q_bh", None)
    return tests


def sweep_stats(results: pd.DataFrame, checkpoints: pd.DataFrame | None = None) -> dict[str, Any]:
    """The statistics of a results table (see the module docstring); JSON-ready.

    ``groups``: one entry per level × δ with ``sl`` and ``ppo`` summaries (``frac_qp_mean``,
    ``frac_qp_sem``, ... see :func:`_summary`) and the tests ``mann_whitney`` (F_QP),
    ``mann_whitney_bounded`` and, when computed, ``mann_whitney_balance``. ``delta_trend`` and
    ``performance``: per paradigm over all levels pooled; ``*_by_level``: per level.
    """
    done = results[results["status"] == "done"]
    groups, trends, performance, balance = [], [], [], []
    for level, part in _levels(done):
        level = {k: _clean(v) for k, v in level.items()}
        for delta, cell in part.groupby("delta", sort=True):
            entry: dict[str, Any] = {**level, "delta": float(delta)}
            for algo in PARADIGMS:
                entry[algo] = _summary(cell[cell["algo"] == algo])
            entry["mann_whitney"] = _ppo_vs_sl(cell, "frac_qp")
            entry["mann_whitney_bounded"] = _ppo_vs_sl(cell, "frac_qp_bounded")
            if "balance_index" in cell:
                entry["mann_whitney_balance"] = _ppo_vs_sl(cell, "balance_index")
            groups.append(entry)
        by_algo = {a: part[part["algo"] == a] for a in PARADIGMS}
        trends.append({**level, **{a: _trend(sub) for a, sub in by_algo.items()}})
        ideal = _col(part, IDEAL)  # the level's difficulty: the ideal observer's accuracy
        difficulty = float(np.nanmedian(ideal)) if np.isfinite(ideal).any() else None
        performance.append(
            {
                **level,
                IDEAL: difficulty,
                **{a: _performance(sub) for a, sub in by_algo.items()},
            }
        )
        if "balance_index" in part:
            balance.append(
                {
                    **level,
                    **{a: mean_sem(_col(sub, "balance_index")) for a, sub in by_algo.items()},
                    "mann_whitney": _ppo_vs_sl(part, "balance_index"),
                }
            )
    pooled = {a: done[done["algo"] == a] for a in PARADIGMS}
    tests = effect_tests(done)
    return {
        "n_cells": len(results),
        "n_done": len(done),
        "n_failed": int((results["status"] == "failed").sum()),
        "groups": groups,
        "delta_trend": {a: _trend(sub) for a, sub in pooled.items()},
        "delta_trend_by_level": trends,
        "performance": {a: _performance(sub) for a, sub in pooled.items()},
        "performance_by_level": performance,
        "balance": balance or None,
        "central": tests.get("frac_qp")
        or paradigm_effect(done.assign(frac_qp=np.nan), "frac_qp", strata_keys(done)),
        "tests": tests,
        "variance": (
            variance_decomposition(checkpoints, strata=strata_keys(checkpoints))
            if checkpoints is not None and len(checkpoints)
            else None
        ),
        "notes": (
            "frac_qp of a network = its mean F_QP over post-criterion checkpoints; "
            "Mann-Whitney U is two-sided, U of ppo vs sl; Spearman over networks"
        ),
    }
