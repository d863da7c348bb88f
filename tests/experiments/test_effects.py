"""The stratified RL − SL effect against hand-computed answers and a brute-force reference."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from cogdyn.experiments.effects import (
    minimal_detectable_difference,
    paradigm_effect,
    variance_decomposition,
)
from cogdyn.experiments.stats import sweep_stats


def _table(strata: dict[float, tuple[list[float], list[float]]]) -> pd.DataFrame:
    rows = []
    for delta, (rl, sl) in strata.items():
        rows += [{"algo": "ppo", "delta": delta, "frac_qp": v, "status": "done"} for v in rl]
        rows += [{"algo": "sl", "delta": delta, "frac_qp": v, "status": "done"} for v in sl]
    return pd.DataFrame(rows)


def test_one_stratum_exact_p_by_hand() -> None:
    # RL above SL everywhere: of the C(6, 3) = 20 relabellings only the observed one and its
    # mirror reach |difference| = 3, so p = 2 / 20.
    out = paradigm_effect(_table({0.1: ([4.0, 5.0, 6.0], [1.0, 2.0, 3.0])}), "frac_qp")
    assert out["exact"] and out["n_permutations"] == 20
    assert out["p"] == pytest.approx(0.1)
    assert out["effect"] == pytest.approx(3.0)
    assert out["rank_biserial"] == pytest.approx(1.0)
    assert out["n_rl"] == 3 and out["n_sl"] == 3 and out["n_strata"] == 1


def test_two_strata_exact_p_by_hand() -> None:
    # Per stratum the RL-minus-SL differences of the 6 relabellings are −2, −1, 0, 0, 1, 2; the
    # stratified statistic (d₁ + d₂)/2 reaches |2| only for (2, 2) and (−2, −2): p = 2/36.
    table = _table({0.1: ([3.0, 4.0], [1.0, 2.0]), 0.2: ([13.0, 14.0], [11.0, 12.0])})
    out = paradigm_effect(table, "frac_qp")
    assert out["p"] == pytest.approx(1 / 18)
    assert out["effect"] == pytest.approx(2.0)
    # A stratum effect (0.2 is 10 higher for both paradigms) is not a paradigm effect: pooling
    # without strata would give the same mean difference, but not the same p.
    assert out["strata"] == ["delta"]


def _brute_force_p(strata: list[tuple[list[float], list[float]]]) -> float:
    """Reference: enumerate every within-stratum relabelling explicitly."""
    w = [len(a) * len(b) / (len(a) + len(b)) for a, b in strata]

    def stat(groups):
        return sum(wi * (np.mean(a) - np.mean(b)) for wi, (a, b) in zip(w, groups, strict=True))

    observed = abs(stat(strata))
    choices = []
    for a, b in strata:
        v = [*a, *b]
        choices.append(
            [
                ([v[i] for i in idx], [v[i] for i in range(len(v)) if i not in idx])
                for idx in itertools.combinations(range(len(v)), len(a))
            ]
        )
    hits = total = 0
    for combo in itertools.product(*choices):
        total += 1
        hits += abs(stat(combo)) >= observed - 1e-12
    return hits / total


def test_exact_p_equals_brute_force_with_unequal_strata() -> None:
    strata = {0.05: ([0.3, 0.1, 0.4], [0.2, 0.0]), 0.1: ([0.5, 0.2], [0.1, 0.3, 0.0, 0.05])}
    out = paradigm_effect(_table(strata), "frac_qp")
    assert out["exact"]
    assert out["p"] == pytest.approx(_brute_force_p(list(strata.values())))


def test_monte_carlo_p_approaches_the_exact_p() -> None:
    rng = np.random.default_rng(3)
    strata = {0.1: (list(rng.normal(0.4, 0.2, 6)), list(rng.normal(0.2, 0.2, 6)))}
    exact = paradigm_effect(_table(strata), "frac_qp", n_permutations=1000)  # 924 ≤ 1000
    assert exact["exact"]
    mc = paradigm_effect(_table(strata), "frac_qp", n_permutations=4000, seed=7)
    mc_small = paradigm_effect(_table(strata), "frac_qp", n_permutations=500, seed=7)
    assert not mc_small["exact"] and mc_small["n_permutations"] == 500
    se = math.sqrt(exact["p"] * (1 - exact["p"]) / 500)
    assert abs(mc_small["p"] - exact["p"]) < 4 * se + 1 / 500
    # seeded: the same seed gives the same p
    again = paradigm_effect(_table(strata), "frac_qp", n_permutations=500, seed=7)
    assert again["p"] == mc_small["p"]
    assert mc["exact"]  # 924 relabellings ≤ 4000: enumerated


def test_minimal_detectable_difference_by_hand() -> None:
    # One stratum, 5 vs 5, within-cell sd exactly 1: SE = √(0.4), df = 8.
    a = np.array([-2.0, -1.0, 0.0, 1.0, 2.0]) / math.sqrt(2.5)  # sd (ddof 1) = 1
    mdd = minimal_detectable_difference([(a + 1.0, a)])
    expected = (sps.t.ppf(0.975, 8) + sps.t.ppf(0.8, 8)) * math.sqrt(0.4)
    assert mdd == pytest.approx(expected)
    assert minimal_detectable_difference([(np.array([1.0]), np.array([0.0]))]) is None


def test_bootstrap_interval_and_undefined_cases() -> None:
    out = paradigm_effect(_table({0.1: ([1.0, 1.0, 1.0], [0.0, 0.0, 0.0])}), "frac_qp")
    assert out["ci"] == pytest.approx([1.0, 1.0])  # no spread: a point interval
    spread = paradigm_effect(_table({0.1: ([0.9, 1.0, 1.3], [0.0, 0.1, 0.5])}), "frac_qp")
    lo, hi = spread["ci"]
    assert lo <= spread["effect"] <= hi and hi - lo > 0
    lo, hi = spread["rank_biserial_ci"]
    assert -1 <= lo <= spread["rank_biserial"] <= hi <= 1
    only_rl = paradigm_effect(_table({0.1: ([0.3, 0.4], [])}), "frac_qp")
    assert only_rl["p"] is None and only_rl["effect"] is None and only_rl["n_strata_dropped"] == 1


def test_variance_decomposition_known_shares() -> None:
    # 2 strata × 2 paradigms × 2 seeds × 2 checkpoints; the value is the sum of a stratum part
    # (±3), a paradigm part (±2), a seed part (±1) and a checkpoint part (±0.5), balanced, so
    # each part's share is its square over 9 + 4 + 1 + 0.25.
    rows = []
    for s, ds in ((0.1, -3), (0.2, 3)):
        for algo, da in (("ppo", 2), ("sl", -2)):
            for seed, dn in ((0, -1), (1, 1)):
                for ck, dc in (("a", -0.5), ("b", 0.5)):
                    rows.append(
                        {
                            "cell": f"{algo}-{s}-{seed}",
                            "algo": algo,
                            "delta": s,
                            "checkpoint": ck,
                            "headline": True,
                            "frac_qp": ds + da + dn + dc,
                        }
                    )
    rows.append({**rows[0], "checkpoint": "excluded", "headline": False, "frac_qp": 100.0})
    out = variance_decomposition(pd.DataFrame(rows))
    total = 9 + 4 + 1 + 0.25
    assert out["stratum"] == pytest.approx(9 / total)
    assert out["paradigm"] == pytest.approx(4 / total)
    assert out["seed"] == pytest.approx(1 / total)
    assert out["checkpoint"] == pytest.approx(0.25 / total)
    assert out["n_networks"] == 8 and out["n_checkpoints_per_network"]["max"] == 2


def test_sweep_stats_central_and_tests() -> None:
    table = _table({0.1: ([0.4, 0.5, 0.6], [0.1, 0.2, 0.3]), 0.2: ([0.5, 0.6], [0.0, 0.1])})
    table["frac_qp_bounded"] = table["frac_qp"]
    table["reached_criterion"] = True
    table["dim_ring"] = 2
    out = sweep_stats(table)
    central = out["central"]
    assert set(central) >= {"test", "p", "effect", "ci", "n_rl", "n_sl", "mdd"}
    assert central["n_rl"] == 5 and central["n_sl"] == 5
    assert central["effect"] == pytest.approx(0.3 * 1.5 / 2.5 + 0.5 * 1.0 / 2.5)
    assert set(out["tests"]) == {"frac_qp", "frac_qp_bounded"}
    q = sps.false_discovery_control([out["tests"][m]["p"] for m in ("frac_qp", "frac_qp_bounded")])
    assert out["tests"]["frac_qp"]["q_bh"] == pytest.approx(q[0])
