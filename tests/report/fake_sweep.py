"""A small, schema-true sweep directory for the report tests: two tiny real runs (SL and PPO,
trained and analysed in-process) plus hand-written rows, ``stats.json`` and ``sweep.json``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from cogdyn.analysis.census import CensusOptions
from cogdyn.analysis.figure_data import write_figure_data
from cogdyn.analysis.run import analyze_run
from cogdyn.config import run_config_from_dict
from cogdyn.dynamics.classify import ClassifyOptions
from cogdyn.experiments.effects import paradigm_effect
from cogdyn.experiments.stats import effect_tests
from cogdyn.train.run import train

DELTAS = (0.1, 0.2)
SEEDS = (0, 1, 2)
LABEL_COLS = ("fixed_point", "periodic", "quasi_periodic", "chaotic", "divergent", "unresolved")
GRID = 5
REAL = {"ppo": (0.2, 1), "sl": (0.1, 0)}
"""(δ, seed) of the rows whose run directory is a real tiny run: the F_QP medians."""


def train_tiny(out: Path, algo: str, delta: float = 0.2) -> None:
    """Train, analyse (grid 5, short classification) and cache the figure data of a tiny run."""
    cfg: dict[str, Any] = {
        "model": {"hidden": 16, "delta": delta},
        "train": {"algo": algo, "max_updates": 6, "eval_every": 2, "eval_trials": 200, "seed": 0},
    }
    if algo == "ppo":
        cfg["ppo"] = {"rollout_trials": 64, "minibatches": 2, "epochs": 1}
    train(run_config_from_dict(cfg), out, progress=False)
    opts = CensusOptions(
        grid=GRID,
        extra_starts=0,
        classify=ClassifyOptions(transient=200, measure=200, max_period=16),
    )
    analyze_run(out, checkpoints="all", census=opts, n_trials=50, progress=False)
    write_figure_data(out, n_trials=40, n_traj=10)


def fqp(algo: str, delta: float, seed: int) -> float:
    """RL well above SL and rising with δ; the real runs (seed 0, δ 0.2) sit at the medians."""
    if algo == "ppo":
        return {0: 0.30, 1: 0.25, 2: 0.35}[seed] + (0.1 if delta == 0.2 else 0.0)
    return {0: 0.01, 1: 0.0, 2: 0.02}[seed]


def results_frame() -> pd.DataFrame:
    rows = []
    for algo in ("sl", "ppo"):
        for delta in DELTAS:
            for seed in SEEDS:
                real = (delta, seed) == REAL[algo]
                f = fqp(algo, delta, seed)
                n = 2 * GRID * GRID
                counts = {"quasi_periodic": f * n, "fixed_point": (1 - f) * n}
                rows.append(
                    {
                        "cell": f"{algo}-d{delta}-s{seed}",
                        "algo": algo,
                        "delta": delta,
                        "seed": seed,
                        "dim_ring": 2,
                        "coherences": "5,15,50",
                        "status": "done",
                        "error": "",
                        "run_dir": f"runs/{algo}" if real else f"runs/absent-{algo}-{delta}-{seed}",
                        "accuracy": 0.96 + 0.01 * seed,
                        "reached_criterion": True,
                        "updates": 100,
                        "env_steps": 10_000,
                        "trials": 1000,
                        "wall_s": 1.0,
                        "updates_to_criterion": 80.0 - 10 * seed,
                        "env_steps_to_criterion": 8000.0,
                        "frac_qp": f,
                        "frac_qp_std": 0.01,
                        "frac_qp_bounded": f,
                        "frac_qp_untrained": 0.0,
                        "frac_qp_ctx0": f,
                        "frac_qp_ctx1": f,
                        "frac_divergent": 0.0,
                        **{f"n_{k}": float(counts.get(k, 0.0)) for k in LABEL_COLS},
                        "stable_fp_per_choice": True,
                        "analysis_s": 1.0,
                    }
                )
    rows.append({**rows[0], "cell": "sl-bad", "status": "failed", "error": "NaN loss", "seed": 9})
    return pd.DataFrame(rows)


def _side(g: pd.DataFrame) -> dict[str, Any]:
    n = len(g)
    sem = lambda c: float(g[c].std(ddof=1) / np.sqrt(n)) if n > 1 else None  # noqa: E731
    return {
        "n": n,
        "frac_qp_mean": float(g["frac_qp"].mean()),
        "frac_qp_sem": sem("frac_qp"),
        "frac_qp_bounded_mean": float(g["frac_qp_bounded"].mean()),
        "frac_qp_bounded_sem": sem("frac_qp_bounded"),
        "frac_qp_untrained_mean": float(g["frac_qp_untrained"].mean()),
        "accuracy_mean": float(g["accuracy"].mean()),
        "updates_to_criterion_mean": float(g["updates_to_criterion"].mean()),
    }


def stats_from(results: pd.DataFrame) -> dict[str, Any]:
    """stats.json as the sweep writes it (same keys), computed from ``results``."""
    done = results[results["status"] == "done"]
    groups = []
    for (dim, coh, delta), g in done.groupby(["dim_ring", "coherences", "delta"]):
        sl, ppo = g[g["algo"] == "sl"], g[g["algo"] == "ppo"]
        mw = sps.mannwhitneyu(ppo["frac_qp"], sl["frac_qp"], alternative="two-sided")
        mwb = sps.mannwhitneyu(
            ppo["frac_qp_bounded"], sl["frac_qp_bounded"], alternative="two-sided"
        )
        groups.append(
            {
                "dim_ring": int(dim),
                "coherences": coh,
                "delta": float(delta),
                "sl": _side(sl),
                "ppo": _side(ppo),
                "mann_whitney": {"u": float(mw.statistic), "p": float(mw.pvalue)},
                "mann_whitney_bounded": {"u": float(mwb.statistic), "p": float(mwb.pvalue)},
            }
        )

    def rho(x: pd.Series, y: pd.Series) -> dict[str, Any]:
        r = sps.spearmanr(x, y)
        return {"rho": float(r.statistic), "p": float(r.pvalue), "n": len(x)}

    by = {a: done[done["algo"] == a] for a in ("sl", "ppo")}
    return {
        "groups": groups,
        "delta_trend": {a: rho(g["delta"], g["frac_qp"]) for a, g in by.items()},
        "performance": {
            a: {
                "accuracy": rho(g["frac_qp"], g["accuracy"]),
                "updates_to_criterion": rho(g["frac_qp"], g["updates_to_criterion"]),
            }
            for a, g in by.items()
        },
        "balance": None,
        # The overall tests come from the library (checked against hand answers in
        # tests/experiments/test_effects.py).
        "central": paradigm_effect(done, "frac_qp"),
        "tests": effect_tests(done),
    }


def make_sweep(root: Path, runs: dict[str, Path] | None = None) -> Path:
    """Write the sweep into ``root``; ``runs`` maps algo → an already trained tiny run to copy
    (trained here when not given)."""
    root.mkdir(parents=True, exist_ok=True)
    for algo in ("sl", "ppo"):
        dest = root / "runs" / algo
        if runs and algo in runs:
            shutil.copytree(runs[algo], dest)
        else:
            train_tiny(dest, algo)
    results = results_frame()
    results.to_parquet(root / "results.parquet")
    (root / "stats.json").write_text(json.dumps(stats_from(results), indent=2))
    spec = {
        "name": "tiny",
        "grid": {
            "algo": ["sl", "ppo"],
            "delta": list(DELTAS),
            "seed": list(SEEDS),
            "dim_ring": [2],
            "coherences": [[5, 15, 50]],
        },
        "train": {"target_accuracy": 0.95, "max_updates": 6},
        "analysis": {"grid": GRID},
        "cells": [{"cell": c, "params": {}} for c in results["cell"]],
    }
    (root / "sweep.json").write_text(json.dumps(spec, indent=2))
    return root
