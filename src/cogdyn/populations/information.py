"""Mutual information between units and task variables, and functional connectivity.

Estimator: Gaussian-copula MI (GCMI; Ince et al. 2017, Hum. Brain Mapp. 38:1541), in nats.
Each unit's activity is rank-transformed to standard normal scores (ties broken at random with
the caller's generator, so a unit that is 0 on many trials still gets a well-defined copula);

* unit vs a discrete variable (all CtxDM task variables are discrete: context, choices, signed
  coherences take a few values): I = ½ log σ² − Σ_y p(y) ½ log σ²_y, the Gaussian entropy of the
  scores minus their class-conditional entropies (within-class variances floored at
  :data:`VAR_FLOOR`, which bounds what a class of one or two trials can add);
* unit vs unit (and any two continuous variables): I = −½ log(1 − ρ²), ρ the correlation of the
  normal scores — exact for jointly Gaussian data.

Significance: circular shuffles — the variable (or the second unit) is shifted by a random number
of trials against the activity, which keeps every marginal and breaks the pairing. The shuffle
MIs are fitted by a gamma distribution (moments), whose upper tail gives the p-value (finer than
the 1/(S + 1) of a rank p-value, as multiple-comparison correction needs). p-values are corrected
by Benjamini–Hochberg over all tests of a table. Constant (silent) units get MI 0 and p = 1: they
are not selective, and no NaN arises.

Functional connectivity: the graph whose nodes are all units and whose edges join unit pairs with
significant MI between their per-trial activities, with density (over all N(N−1)/2 pairs),
modularity of networkx's greedy modularity communities (None without edges) and degree statistics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy import special, stats

VAR_FLOOR = 1e-4
"""Smallest within-class variance of normal scores (whose total variance is ≈ 1)."""
CONSTANT_TOL = 1e-12
"""A unit whose activity varies by less than this (standard deviation) is constant."""
INFO_COLUMNS: tuple[str, ...] = (
    "period",
    "variable",
    "unit",
    "mi",
    "p_value",
    "q_value",
    "selective",
)


def copula_normal(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Normal scores of every column of ``x`` (n, m) from its ranks, ties broken at random."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        return copula_normal(x[:, None], rng)[:, 0]
    n = x.shape[0]
    perm = rng.permutation(n)
    order = np.argsort(x[perm], axis=0, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(n)[:, None], axis=0)
    out = np.empty(x.shape)
    out[perm] = special.ndtri((ranks + 1.0) / (n + 1.0))
    return out


def gaussian_mi(rho: np.ndarray | float) -> np.ndarray:
    """−½ log(1 − ρ²) in nats."""
    r2 = np.minimum(np.square(rho), 1.0 - 1e-12)
    return -0.5 * np.log1p(-r2)


def gcmi_cc(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> float:
    """GCMI of two continuous 1-D samples (nats)."""
    cx, cy = copula_normal(x, rng), copula_normal(y, rng)
    return float(gaussian_mi(np.corrcoef(cx, cy)[0, 1]))


def label_codes(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """(codes 0..K−1 of each label, K) for any array of labels."""
    _, codes = np.unique(np.asarray(labels), return_inverse=True)
    return codes.reshape(-1), int(codes.max()) + 1 if codes.size else 0


def mi_discrete(scores: np.ndarray, codes: np.ndarray, n_classes: int) -> np.ndarray:
    """Mixed GCMI of normal scores (n, m) with class labels ``codes`` (..., n) → (..., m)."""
    n = scores.shape[0]
    onehot = (codes[..., None] == np.arange(n_classes)).astype(np.float64)  # (..., n, K)
    onehot = np.swapaxes(onehot, -1, -2)  # (..., K, n)
    count = onehot.sum(-1)[..., None]  # (..., K, 1)
    mean = (onehot @ scores) / np.maximum(count, 1.0)
    var = (onehot @ np.square(scores)) / np.maximum(count, 1.0) - np.square(mean)
    var = np.maximum(var, VAR_FLOOR)
    total = np.maximum(scores.var(0), VAR_FLOOR)
    cond = ((count / n) * 0.5 * np.log(var)).sum(-2)
    return 0.5 * np.log(total) - cond


def gcmi_cd(x: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> float:
    """GCMI of a continuous 1-D sample and a discrete one (nats)."""
    codes, k = label_codes(labels)
    return float(mi_discrete(copula_normal(x, rng)[:, None], codes, k)[0])


def shuffle_shifts(n: int, n_shuffles: int, rng: np.random.Generator) -> np.ndarray:
    """Random circular shifts in [1, n − 1] (none when n < 2)."""
    return rng.integers(1, n, size=n_shuffles) if n > 1 else np.zeros(0, dtype=np.int64)


def gamma_p_value(value: np.ndarray, null: np.ndarray) -> np.ndarray:
    """Upper-tail p of ``value`` (...) under a gamma fitted (moments) to ``null`` (S, ...);
    the rank p-value where the null has no spread."""
    m, v = null.mean(0), null.var(0)
    rank_p = (1.0 + (null >= value).sum(0)) / (1.0 + null.shape[0])
    ok = (m > 0) & (v > 0)
    p = np.array(rank_p, dtype=np.float64)
    if np.any(ok):
        shape = np.square(m[ok]) / v[ok]
        p[ok] = stats.gamma.sf(value[ok], shape, scale=v[ok] / m[ok])
    return p


def benjamini_hochberg(p: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """(reject (bool), adjusted p-values) of the Benjamini–Hochberg procedure at level ``q``."""
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    m = p.size
    if m == 0:
        return np.zeros(0, dtype=bool), np.zeros(0)
    order = np.argsort(p)
    scaled = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    out = np.empty(m)
    out[order] = adj
    return out <= q, out


def unit_selectivity(
    activity: Mapping[str, np.ndarray],
    variables: Mapping[str, np.ndarray],
    *,
    n_shuffles: int,
    fdr: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """MI of every unit with every discrete task variable in every period.

    Args:
        activity: period → (B, N) per-trial mean activity.
        variables: name → (B,) discrete values per trial.
        n_shuffles: circular shuffles per test.
        fdr: Benjamini–Hochberg level over all tests of the table.
        rng: draws the copula tie-breaks and the shifts.

    Returns:
        One row per period × variable × unit (columns :data:`INFO_COLUMNS`).
    """
    parts = []
    for period, x in activity.items():
        n, n_units = x.shape
        constant = x.std(0) < CONSTANT_TOL
        scores = copula_normal(x, rng)
        for name, values in variables.items():
            codes, k = label_codes(values)
            shifts = shuffle_shifts(n, n_shuffles, rng)
            stacked = np.stack([codes, *(np.roll(codes, s) for s in shifts)])
            mi = mi_discrete(scores, stacked, k)  # (1 + S, N)
            value = np.where(constant, 0.0, mi[0])
            p = np.where(constant, 1.0, gamma_p_value(mi[0], mi[1:])) if len(shifts) else 1.0
            parts.append(
                pd.DataFrame(
                    {
                        "period": period,
                        "variable": name,
                        "unit": np.arange(n_units),
                        "mi": value,
                        "p_value": np.broadcast_to(p, (n_units,)),
                    }
                )
            )
    table = pd.concat(parts, ignore_index=True)
    reject, adj = benjamini_hochberg(table["p_value"].to_numpy(), fdr)
    table["q_value"] = adj
    table["selective"] = reject
    return table[list(INFO_COLUMNS)]


def selective_fractions(table: pd.DataFrame, n_units: int) -> dict[str, float]:
    """Per variable, the fraction of units selective in at least one period."""
    hit = table[table["selective"]].groupby("variable")["unit"].nunique()
    return {str(v): float(hit.get(v, 0)) / n_units for v in table["variable"].unique()}


@dataclass(frozen=True)
class Connectivity:
    """Functional connectivity of one network: ``graph`` (nodes = units, edges = significant
    unit–unit MI, attribute ``mi``), ``mi`` (N, N) the MI matrix (0 on the diagonal and for
    constant units), ``community`` (N,) greedy-modularity community of each unit (−1 for an
    isolated one), and ``summary`` (JSON-ready numbers)."""

    graph: nx.Graph
    mi: np.ndarray
    community: np.ndarray
    summary: dict[str, Any]


def functional_connectivity(
    x: np.ndarray, *, n_shuffles: int, fdr: float, rng: np.random.Generator
) -> Connectivity:
    """The graph of significant unit–unit GCMI over the trials of ``x`` (B, N)."""
    n, n_units = x.shape
    constant = x.std(0) < CONSTANT_TOL
    z = copula_normal(x, rng)
    z = (z - z.mean(0)) / z.std(0)  # every column holds the same scores: one scale
    mi = gaussian_mi(z.T @ z / n)
    iu = np.triu_indices(n_units, 1)
    null = np.stack(
        [
            gaussian_mi(z.T @ np.roll(z, s, axis=0) / n)[iu]
            for s in shuffle_shifts(n, n_shuffles, rng)
        ]
    )
    live = ~(constant[iu[0]] | constant[iu[1]])
    p = np.ones(len(iu[0]))
    if len(null):
        p[live] = gamma_p_value(mi[iu][live], null[:, live])
    reject = np.zeros(len(p), dtype=bool)
    reject[live] = benjamini_hochberg(p[live], fdr)[0]
    mi[constant, :] = 0.0
    mi[:, constant] = 0.0
    np.fill_diagonal(mi, 0.0)

    graph = nx.Graph()
    graph.add_nodes_from(range(n_units))
    graph.add_weighted_edges_from(
        (
            (int(i), int(j), float(mi[i, j]))
            for i, j in zip(iu[0][reject], iu[1][reject], strict=True)
        ),
        weight="mi",
    )
    community = np.full(n_units, -1, dtype=np.int64)
    modularity = None
    if graph.number_of_edges():
        parts = nx.community.greedy_modularity_communities(graph)
        modularity = float(nx.community.modularity(graph, parts))
        for c, members in enumerate(parts):
            if len(members) > 1:
                community[list(members)] = c
    degree = np.array([d for _, d in graph.degree()], dtype=np.float64)
    summary = {
        "n_edges": graph.number_of_edges(),
        "density": float(nx.density(graph)),
        "modularity": modularity,
        "n_communities": len(set(community[community >= 0].tolist())),
        "degree_mean": float(degree.mean()),
        "degree_std": float(degree.std()),
        "degree_median": float(np.median(degree)),
        "degree_max": int(degree.max()),
        "frac_isolated": float((degree == 0).mean()),
    }
    return Connectivity(graph, mi, community, summary)
