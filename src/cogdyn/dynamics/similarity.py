"""Dissimilarity between networks, from their hidden trajectories on the same trials.

Every network is run on one shared batch of trials (same inputs, h₀ = 0); rows of the state
matrices then mean the same trial and step for every network, which is what a comparison needs.

Methods (0 = same up to the method's invariance; larger = more different):

* ``procrustes`` — angular Procrustes shape distance (Williams et al. 2021) between the
  PCA-reduced state clouds: centre, scale to unit Frobenius norm, arccos of the nuclear norm of
  XᵀY (the best orthogonal alignment). In [0, π/2]; invariant to rotation, reflection,
  translation and scale.
* ``cca`` — 1 − mean canonical correlation of the PCA-reduced states; invariant to any
  invertible linear map.
* ``dsa`` — Dynamical Similarity Analysis (Ostrow et al. 2023, the ``dsa-metric`` package,
  optional): a delay-embedded DMD model per network on trials × time × PCs, compared by the
  Wasserstein distance between the eigenvalue spectra of the two DMD operators. It compares
  the dynamics (how states evolve), not the geometry of the states.

:func:`~cogdyn.experiments.similarity.sweep_similarity` does this for the done cells of a
sweep; the report draws its MDS embedding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from cogdyn.errors import ConfigError, check_int, require
from cogdyn.tasks.base import TrialBatch

METHODS: tuple[str, ...] = ("procrustes", "cca", "dsa")


@dataclass(frozen=True)
class SimilarityOptions:
    """Settings of a comparison (``cogdyn similarity`` flags)."""

    methods: tuple[str, ...] = ("procrustes", "cca", "dsa")
    n_trials: int = 200
    """Shared trials every network is run on."""
    seed: int = 0
    """Seed of those trials."""
    n_components: int = 10
    """PCs kept per network (each network's own PCA)."""
    dsa_delays: int = 3
    """Delay-embedding depth of DSA's DMD."""
    dsa_rank: int = 10
    """Rank of DSA's DMD operator."""

    def __post_init__(self) -> None:
        require(
            isinstance(self.methods, tuple) and len(self.methods) > 0,
            "similarity.methods",
            f"must be a non-empty list of {', '.join(METHODS)}",
        )
        for m in self.methods:
            require(m in METHODS, "similarity.methods", f"must be among {METHODS}, got {m!r}")
        for name in ("n_trials", "n_components", "dsa_delays", "dsa_rank"):
            v = getattr(self, name)
            check_int(f"similarity.{name}", v, 1)
        check_int("similarity.seed", self.seed, 0)


# ----------------------------------------------------------------------------------------------
# States


@torch.no_grad()
def hidden_states(model: Any, batch: TrialBatch) -> np.ndarray:
    """Hidden states (T, B, N) float64 of ``model`` on ``batch`` (h₀ = 0; zero on padding)."""
    device = next(model.parameters()).device
    hidden = model.run(batch.inputs.to(device)).double().cpu()
    return (hidden * batch.valid.unsqueeze(-1).to(hidden.dtype)).numpy()


def valid_rows(hidden: np.ndarray, batch: TrialBatch) -> np.ndarray:
    """The states of every trial step (S, N), in the same order for every network."""
    return hidden[batch.valid.cpu().numpy()]


def pca_reduce(states: np.ndarray, n_components: int) -> np.ndarray:
    """Centred states projected on their first ``n_components`` principal axes (S, k)."""
    centred = states - states.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    k = min(n_components, vt.shape[0])
    return centred @ vt[:k].T


# ----------------------------------------------------------------------------------------------
# Geometric baselines


def _normalised(x: np.ndarray) -> np.ndarray | None:
    x = x - x.mean(axis=0, keepdims=True)
    norm = np.linalg.norm(x)
    return None if norm == 0 else x / norm


def procrustes_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Angular Procrustes distance between two (S, k) state matrices with matching rows."""
    a, b = _normalised(x), _normalised(y)
    if a is None or b is None:
        return 0.0 if a is None and b is None else float(np.pi / 2)
    nuclear = np.linalg.svd(a.T @ b, compute_uv=False).sum()
    return float(np.arccos(np.clip(nuclear, 0.0, 1.0)))


def _orthonormal_basis(x: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    u, s, _ = np.linalg.svd(x - x.mean(axis=0, keepdims=True), full_matrices=False)
    keep = s > rtol * (s[0] if s.size else 0.0)
    return u[:, keep]


def cca_distance(x: np.ndarray, y: np.ndarray) -> float:
    """1 − mean canonical correlation between two (S, k) state matrices with matching rows."""
    qx, qy = _orthonormal_basis(x), _orthonormal_basis(y)
    if qx.shape[1] == 0 or qy.shape[1] == 0:
        return 0.0 if qx.shape[1] == qy.shape[1] else 1.0
    rho = np.linalg.svd(qx.T @ qy, compute_uv=False)[: min(qx.shape[1], qy.shape[1])]
    return float(max(0.0, 1.0 - np.clip(rho, 0.0, 1.0).mean()))


def pairwise(reduced: Sequence[np.ndarray], metric: Any) -> np.ndarray:
    """Symmetric (n, n) matrix of ``metric`` over all pairs; the diagonal is metric(x, x)."""
    n = len(reduced)
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            out[i, j] = out[j, i] = metric(reduced[i], reduced[j])
    return out


# ----------------------------------------------------------------------------------------------
# DSA


def dsa_available() -> bool:
    """Whether the optional ``dsa-metric`` package can be imported."""
    try:
        import DSA  # noqa: F401
    except ImportError:
        return False
    return True


def dsa_matrix(
    trajectories: Sequence[np.ndarray], *, n_delays: int = 3, rank: int = 10
) -> np.ndarray:
    """DSA dissimilarities between (trials, time, dims) trajectory sets (``dsa-metric``).

    Wasserstein score between the DMD spectra: deterministic, and 0 for identical data.
    """
    try:
        from DSA import DSA
    except ImportError:
        raise ConfigError(
            "similarity.methods", "dsa needs the dsa-metric package: pip install dsa-metric"
        ) from None
    data = [np.ascontiguousarray(t, dtype=np.float64) for t in trajectories]
    rank = min(rank, n_delays * min(t.shape[-1] for t in data))
    model = DSA(data, n_delays=n_delays, rank=rank, score_method="wasserstein", verbose=False)
    out = np.asarray(model.fit_score(), dtype=np.float64).reshape(len(data), len(data))
    out = (out + out.T) / 2
    np.fill_diagonal(out, 0.0)
    return out


# ----------------------------------------------------------------------------------------------
# Networks


def compare_networks(
    models: Sequence[Any], batch: TrialBatch, options: SimilarityOptions | None = None
) -> dict[str, np.ndarray]:
    """Dissimilarity matrices (one per method) between ``models`` on the trials of ``batch``."""
    opts = options or SimilarityOptions()
    hidden = [hidden_states(m, batch) for m in models]
    reduced = [pca_reduce(valid_rows(h, batch), opts.n_components) for h in hidden]
    out: dict[str, np.ndarray] = {}
    if "procrustes" in opts.methods:
        out["procrustes"] = pairwise(reduced, procrustes_distance)
    if "cca" in opts.methods:
        out["cca"] = pairwise(reduced, cca_distance)
    if "dsa" in opts.methods:
        out["dsa"] = dsa_matrix(
            [_trial_tensor(h, batch, opts.n_components) for h in hidden],
            n_delays=opts.dsa_delays,
            rank=opts.dsa_rank,
        )
    return out


def _trial_tensor(hidden: np.ndarray, batch: TrialBatch, n_components: int) -> np.ndarray:
    """(trials, time, PCs): every trial cut to the shortest trial's length (all steps valid)."""
    t_min = int(batch.lengths.min())
    states = hidden[:t_min].transpose(1, 0, 2)  # (B, t_min, N)
    flat = states.reshape(-1, states.shape[-1])
    mean = flat.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(flat - mean, full_matrices=False)
    k = min(n_components, vt.shape[0])
    return (states - mean) @ vt[:k].T


def classical_mds(distances: np.ndarray, n_dims: int = 2) -> np.ndarray:
    """Torgerson's classical MDS: (n, n_dims) coordinates whose distances approximate the
    matrix (exact when it is Euclidean); dimensions with no positive eigenvalue are 0."""
    d = np.asarray(distances, dtype=np.float64)
    n = d.shape[0]
    j = np.eye(n) - np.ones((n, n)) / n
    b = -0.5 * j @ (d**2) @ j
    vals, vecs = np.linalg.eigh((b + b.T) / 2)
    order = np.argsort(vals)[::-1][:n_dims]
    coords = vecs[:, order] * np.sqrt(np.clip(vals[order], 0.0, None))
    if coords.shape[1] < n_dims:
        coords = np.pad(coords, ((0, 0), (0, n_dims - coords.shape[1])))
    return coords
