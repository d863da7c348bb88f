"""Sweep statistics against hand-computed answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cogdyn.experiments.stats import mann_whitney, mean_sem, spearman, sweep_stats


def test_mean_sem_by_hand():
    out = mean_sem([1.0, 2.0, 3.0, 4.0])
    assert out["n"] == 4 and out["mean"] == 2.5
    assert out["sem"] == pytest.approx(math.sqrt(5 / 3) / 2)  # sd (ddof 1) = √(5/3)
    assert mean_sem([0.3])["sem"] is None
    assert mean_sem([float("nan")]) == {"n": 0, "mean": None, "sem": None}


def test_mann_whitney_u_by_hand():
    # Every a above every b: U = n_a · n_b; exact two-sided p = 2 / C(6, 3) = 0.1.
    out = mann_whitney([4.0, 5.0, 6.0], [1.0, 2.0, 3.0])
    assert out["u"] == 9.0
    assert out["p"] == pytest.approx(0.1)
    assert mann_whitney([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])["u"] == 0.0
    assert mann_whitney([], [1.0])["p"] is None


def test_spearman_monotone_and_undefined():
    assert spearman([1, 2, 3, 4], [10, 20, 25, 100])["rho"] == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1])["rho"] == pytest.approx(-1.0)
    assert spearman([1, 2, 3], [5, 5, 5])["rho"] is None  # constant: undefined, not NaN
    assert spearman([1, 2], [1, 2])["n"] == 2


def _table() -> pd.DataFrame:
    rows = []
    for algo, base in (("ppo", 0.3), ("sl", 0.0)):
        for delta in (0.05, 0.1):
            for seed in range(3):
                rows.append(
                    {
                        "algo": algo,
                        "delta": delta,
                        "seed": seed,
                        "dim_ring": 2,
                        "coherences": "5,15,50",
                        "status": "done",
                        "frac_qp": base + delta + 0.01 * seed,
                        "frac_qp_bounded": base + delta,
                        "frac_qp_untrained": 0.0,
                        "accuracy": 0.95 + 0.01 * seed,
                        "updates_to_criterion": 100.0 - seed,
                        "env_steps_to_criterion": np.nan,
                        "reached_criterion": True,
                    }
                )
    rows.append({**rows[0], "status": "failed", "frac_qp": np.nan})
    return pd.DataFrame(rows)


def test_sweep_stats_on_a_made_up_table():
    stats = sweep_stats(_table())
    assert (stats["n_cells"], stats["n_done"], stats["n_failed"]) == (13, 12, 1)
    assert [g["delta"] for g in stats["groups"]] == [0.05, 0.1]
    g = stats["groups"][0]
    assert g["ppo"]["n"] == 3 and g["sl"]["n"] == 3
    assert g["ppo"]["frac_qp_mean"] == pytest.approx(0.36)
    assert g["sl"]["frac_qp_mean"] == pytest.approx(0.06)
    assert g["ppo"]["frac_qp_sem"] == pytest.approx(0.01 / math.sqrt(3))
    assert g["ppo"]["env_steps_to_criterion_mean"] is None
    assert g["mann_whitney"]["u"] == 9.0  # every PPO network above every SL one
    # F_QP rises with δ in both paradigms (3 networks per δ, all higher at δ = 0.1).
    assert stats["delta_trend"]["ppo"]["rho"] > 0.8
    # Accuracy rises with seed, as does F_QP: ρ = 1 within a δ, diluted across δ.
    assert stats["performance"]["sl"]["accuracy"]["rho"] > 0
    assert stats["performance"]["sl"]["updates_to_criterion"]["rho"] < 0
    assert stats["delta_trend_by_level"][0]["dim_ring"] == 2
    assert stats["balance"] is None
