"""Gaussian-copula MI against closed forms, shuffle significance, BH, functional connectivity."""

from __future__ import annotations

import numpy as np
import pytest

from cogdyn.populations.information import (
    benjamini_hochberg,
    copula_normal,
    functional_connectivity,
    gcmi_cc,
    gcmi_cd,
    selective_fractions,
    unit_selectivity,
)


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.6, 0.9])
def test_gcmi_matches_closed_form_of_correlated_gaussians(rho) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(20000)
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal(20000)
    exact = -0.5 * np.log(1 - rho**2)
    assert gcmi_cc(x, y, rng) == pytest.approx(exact, abs=0.01)
    # A monotone transform of a marginal changes nothing (copula).
    assert gcmi_cc(np.exp(x), y**3, rng) == pytest.approx(exact, abs=0.01)


def test_mixed_gcmi_of_a_binary_label_and_a_shifted_gaussian() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 20000)
    x = rng.standard_normal(20000)
    assert gcmi_cd(x, y, rng) == pytest.approx(0.0, abs=0.005)
    # X = ±1 + N(0, 1) by label: MI ≤ H(Y) = log 2, and the Gaussian bound ½ log(1 + 1) for
    # total variance 2 against within-class variance 1 (the copula keeps it close).
    mi = gcmi_cd(x + 2 * y - 1, y, rng)
    assert 0.25 < mi < 0.5 * np.log(2.0) + 0.01


def test_copula_breaks_ties_at_random_and_gives_normal_scores() -> None:
    rng = np.random.default_rng(0)
    z = copula_normal(np.zeros((1000, 2)), rng)
    assert np.isfinite(z).all() and abs(z.mean()) < 1e-9 and 0.95 < z.std() < 1.0
    assert not np.array_equal(z[:, 0], np.sort(z[:, 0]))


def test_benjamini_hochberg_on_a_hand_example() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.5])
    reject, adj = benjamini_hochberg(p, 0.05)
    # sorted p · m / rank = 0.04, 0.06, 0.0533, 0.5; then the running minimum from the top.
    assert adj == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])
    assert reject.tolist() == [True, False, False, False]
    assert benjamini_hochberg(p, 0.06)[0].tolist() == [True, True, True, False]
    assert benjamini_hochberg(np.array([0.04, 0.5]), 0.05)[0].tolist() == [False, False]


def test_selectivity_finds_the_tuned_unit_only_and_silent_units_are_not_nan() -> None:
    rng = np.random.default_rng(3)
    n = 400
    context = rng.integers(0, 2, n)
    x = rng.standard_normal((n, 6))
    x[:, 0] += 1.5 * context  # tuned to context
    x[:, 1] = 0.0  # silent
    table = unit_selectivity(
        {"stimulus": x}, {"context": context, "other": rng.integers(0, 3, n)},
        n_shuffles=100, fdr=0.05, rng=rng,
    )  # fmt: skip
    assert not table.isna().any().any()
    sel = table[table["selective"]]
    assert list(zip(sel["variable"], sel["unit"], strict=True)) == [("context", 0)]
    silent = table[table["unit"] == 1]
    assert (silent["mi"] == 0).all() and (silent["p_value"] == 1).all()
    assert selective_fractions(table, 6) == {"context": 1 / 6, "other": 0.0}


def test_independent_data_is_not_significant() -> None:
    rng = np.random.default_rng(4)
    table = unit_selectivity(
        {"delay": rng.standard_normal((300, 50))}, {"choice": rng.integers(1, 3, 300)},
        n_shuffles=100, fdr=0.05, rng=rng,
    )  # fmt: skip
    assert table["selective"].sum() <= 1
    assert table["mi"].mean() < 0.01


def test_functional_connectivity_of_two_correlated_blocks() -> None:
    rng = np.random.default_rng(5)
    n = 500
    a, b = rng.standard_normal((2, n, 1))
    x = np.concatenate(
        [a + 0.5 * rng.standard_normal((n, 5)), b + 0.5 * rng.standard_normal((n, 5)),
         np.zeros((n, 1)), rng.standard_normal((n, 3))],
        axis=1,
    )  # fmt: skip
    fc = functional_connectivity(x, n_shuffles=50, fdr=0.05, rng=rng)
    edges = {tuple(sorted(e)) for e in fc.graph.edges()}
    within = {(i, j) for blk in (range(5), range(5, 10)) for i in blk for j in blk if i < j}
    assert within <= edges and len(edges - within) <= 1
    assert fc.summary["n_edges"] == len(edges)
    assert fc.summary["density"] == pytest.approx(len(edges) / (14 * 13 / 2))
    assert fc.summary["modularity"] > 0.4 and fc.summary["n_communities"] == 2
    assert fc.community[10] == -1 and fc.graph.degree(10) == 0  # the constant unit
    assert np.isfinite(fc.mi).all() and (fc.mi[10] == 0).all()


def test_functional_connectivity_without_edges_has_no_modularity() -> None:
    rng = np.random.default_rng(6)
    fc = functional_connectivity(np.zeros((100, 4)), n_shuffles=10, fdr=0.05, rng=rng)
    assert fc.summary["n_edges"] == 0 and fc.summary["modularity"] is None
    assert fc.summary["frac_isolated"] == 1.0
