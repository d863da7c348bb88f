"""Exact fixed points of ReLU maps, by activation pattern.

Every fixed point of h ↦ (1 − α) h + α ReLU(W h + u) solves h = ReLU(W h + u) (the same set for
any leak α > 0), and on an activation pattern s (D_s = diag(s)) that is the linear system
(I − D_s W) h = D_s u. Each candidate pattern is solved (batched), and a solution counts when it
is self-consistent: pre-activation W h + u > 0 on the active set and ≤ 0 elsewhere. Candidate
patterns come from the trajectories of the map (:func:`patterns_from_states`) or, for small N,
from all 2^N (:func:`all_patterns`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from cogdyn.dynamics.fixed_points import (
    FixedPoints,
    classify_stability,
    dedupe,
    shape_of,
    state_conditions,
)
from cogdyn.dynamics.maps import FrozenInputMap
from cogdyn.linalg import solve_each

# Largest N for which all 2^N activation patterns may be enumerated.
MAX_ENUMERATED_UNITS = 20


def all_patterns(n_units: int) -> Tensor:
    """All 2^N activation patterns of N units, (2^N, N) bool (N ≤ 20)."""
    if not 1 <= n_units <= MAX_ENUMERATED_UNITS:
        raise ValueError(f"n_units must be in 1..{MAX_ENUMERATED_UNITS}, got {n_units}")
    codes = torch.arange(2**n_units).unsqueeze(1)
    return (codes >> torch.arange(n_units)) & 1 == 1


def relu_fixed_points(
    W: Tensor,
    u: Tensor,
    patterns: Tensor,
    alpha: float = 1.0,
    *,
    conditions: Tensor | None = None,
    tol: float = 1e-9,
    dedup_tol: float = 1e-7,
    stability_tol: float = 1e-6,
    chunk_size: int = 256,
    reduced: bool = True,
) -> FixedPoints:
    """Exact fixed points of h ↦ (1 − α) h + α ReLU(W h + u) on the given activation patterns.

    ``W`` (N, N); ``u`` (N,) or (B, N), one drive per condition; ``patterns`` (P, N) bool/0-1.
    ``conditions`` (P,) gives the condition of each pattern; without it every pattern is tried
    under every condition. For each (pattern s, condition) the system (I − D_s W) h = D_s u is
    solved (``chunk_size`` systems at a time); singular systems are skipped. A silent unit's row
    of that system reads h_i = 0, so only the active block is solved: (I − W_AA) h_A = u_A on the
    k active units A, k × k instead of N × N (``reduced=False`` solves the full N × N system,
    the textbook form: the same points to round-off, kept as the reference of
    ``benchmarks/bench_fixed_points.py`` and the tests). A solution
    is kept when it is self-consistent up to ``tol`` × (1 + max|u| + max|h|): pre-activation
    ≥ −tol on s and ≤ tol off s. Points are de-duplicated by (condition, pattern), then by L2
    distance ``dedup_tol`` (a point on a pattern boundary solves several patterns). ``alpha``
    only affects the stability (eigenvalues (1 − α) + α μ of μ ∈ eig(D_s W)).
    """
    W, u2, pats, cond = _check_relu_args(W, u, patterns, alpha, conditions)
    n = W.shape[0]
    # Unique (condition, pattern) pairs: trajectories revisit the same patterns many times.
    key = torch.unique(torch.cat([cond.unsqueeze(1), pack_patterns(pats)], dim=1), dim=0)
    cond, pats = key[:, 0], unpack_patterns(key[:, 1:], n)
    states, conds, active = [], [], []
    for start in range(0, len(pats), chunk_size):
        on = pats[start : start + chunk_size]
        c = cond[start : start + chunk_size]
        uc = u2[c]
        h, info = (_solve_active if reduced else _solve_full)(W, uc, on)
        pre = h @ W.T + uc
        scale = 1 + uc.abs().amax(-1, keepdim=True) + h.abs().amax(-1, keepdim=True)
        consistent = torch.where(on, pre >= -tol * scale, pre <= tol * scale).all(-1)
        ok = (info == 0) & torch.isfinite(h).all(-1) & consistent
        states.append(h[ok].clamp(min=0))  # a ReLU fixed point is ≥ 0; clamps round-off only
        conds.append(c[ok])
        active.append(on[ok])
    h = torch.cat(states) if states else W.new_zeros(0, n)
    c = torch.cat(conds) if conds else cond.new_zeros(0)
    on = torch.cat(active) if active else pats.new_zeros(0, n)
    keep = dedupe(h, c, dedup_tol, None)
    h, c, on = h[keep], c[keep], on[keep]
    fmap = FrozenInputMap(W, u2, alpha).select(c)
    residual = (fmap.step(h) - h).norm(dim=-1)
    jac = on.to(W.dtype).unsqueeze(-1) * W  # D_s W, the un-leaked Jacobian
    stability = classify_stability(jac, alpha, stability_tol)
    return FixedPoints(states=h, condition=c, residual=residual, active=on, stability=stability)


def _solve_full(W: Tensor, u: Tensor, on: Tensor) -> tuple[Tensor, Tensor]:
    """h (P, N) solving (I − D_s W) h = D_s u for patterns ``on`` (P, N) bool, and LAPACK info."""
    s = on.to(W.dtype)
    eye = torch.eye(W.shape[0], dtype=W.dtype, device=W.device)
    # D_s W = s[:, :, None] * W (rows of silent units zeroed).
    h, info = solve_each(eye - s.unsqueeze(-1) * W, (s * u).unsqueeze(-1))
    return h.squeeze(-1), info


def _solve_active(W: Tensor, u: Tensor, on: Tensor) -> tuple[Tensor, Tensor]:
    """:func:`_solve_full` by blocks: h_A = (I − W_AA)⁻¹ u_A on the active units, 0 elsewhere.

    The full matrix has identity rows on the silent units, so det(I − D_s W) = det(I − W_AA):
    the same systems are singular. O(k³) per pattern instead of O(N³).
    """
    h = torch.zeros(on.shape, dtype=W.dtype, device=W.device)
    info = torch.zeros(len(on), dtype=torch.int32, device=W.device)
    for i in range(len(on)):
        idx = torch.nonzero(on[i]).reshape(-1)
        if len(idx) == 0:
            continue  # all silent: h = 0, the system is I h = 0
        block = W[idx.unsqueeze(1), idx].neg_()  # a copy: advanced indexing
        block.diagonal().add_(1.0)
        x, fail = torch.linalg.solve_ex(block, u[i, idx].unsqueeze(-1))
        info[i] = fail
        if int(fail) == 0:
            h[i, idx] = x.squeeze(-1)
        else:
            h[i] = torch.nan
    return h, info


def _check_relu_args(
    W: Tensor, u: Tensor, patterns: Tensor, alpha: float, conditions: Tensor | None
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Validated (W, u (B, N), patterns (P', N) bool, conditions (P',)) with all pairs expanded."""
    if not isinstance(W, Tensor) or W.dim() != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be a square (N, N) tensor, got {shape_of(W)}")
    if not W.is_floating_point():
        raise ValueError(f"W must be floating point, got {W.dtype}")
    n = W.shape[0]
    if not isinstance(u, Tensor) or u.dim() not in (1, 2) or u.shape[-1] != n:
        raise ValueError(f"u must be ({n},) or (B, {n}), got {shape_of(u)}")
    u2 = u.reshape(-1, n).to(W.dtype)
    if not isinstance(patterns, Tensor) or patterns.dim() != 2 or patterns.shape[1] != n:
        raise ValueError(f"patterns must be (P, {n}), got {shape_of(patterns)}")
    if not bool(((patterns == 0) | (patterns == 1)).all()):
        raise ValueError("patterns must be binary (bool or 0/1)")
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    pats = patterns.bool()
    if conditions is None:
        b, p = len(u2), len(pats)
        cond = torch.arange(b).repeat_interleave(p)
        pats = pats.repeat(b, 1)
    else:
        cond = torch.as_tensor(conditions).long().reshape(-1)
        if len(cond) != len(pats):
            raise ValueError(f"conditions must have one entry per pattern ({len(pats)})")
        if len(cond) and (int(cond.min()) < 0 or int(cond.max()) >= len(u2)):
            raise ValueError(f"conditions must lie in 0..{len(u2) - 1}")
    return W, u2, pats, cond.to(W.device)


def patterns_from_states(
    model_map: FrozenInputMap,
    states: Tensor,
    conditions: Tensor | None = None,
    *,
    n_steps: int = 200,
    max_per_condition: int = 500,
) -> tuple[Tensor, Tensor]:
    """Activation patterns met along trajectories of the map, per condition.

    ``states`` (S, N) are iterated ``n_steps`` times under their condition's row
    (``conditions`` (S,); see :func:`basins` for the default). Returns the unique patterns
    (P, N) bool and their conditions (P,); per condition at most ``max_per_condition``, the most
    often visited first (attractors are visited most; a saddle's pattern is met by orbits that
    pass near it). A fixed point whose pattern no orbit meets is not found: add more starts.
    Each pattern costs one k × k solve of its k active units in :func:`relu_fixed_points`
    (≈ 0.3 ms at N = 250, k ≈ 100), so mind the cap for large grids.
    """
    cond = state_conditions(model_map, states, conditions)
    if n_steps < 0 or max_per_condition < 1:
        raise ValueError("n_steps must be ≥ 0 and max_per_condition ≥ 1")
    fmap = model_map.select(cond)
    h = states.to(model_map.dtype)
    # Merge the visited patterns every few steps: the raw history (steps × S × N) can be large.
    chunk_steps = max(1, min(32, 4_000_000 // max(1, len(h) * (fmap.n_units + 1))))
    keys: Tensor | None = None
    counts: Tensor | None = None
    chunk: list[Tensor] = []
    cond_col = cond.to(device=h.device, dtype=torch.int64).unsqueeze(1)
    for t in range(n_steps + 1):
        # One row per state: its condition, then its pattern packed 63 bits to an int64 word,
        # so the unique rows below compare ⌈N / 63⌉ + 1 words instead of N + 1 columns.
        pre = fmap.preactivation(h)
        chunk.append(torch.cat([cond_col, pack_patterns(pre > 0)], dim=1))
        if len(chunk) == chunk_steps or t == n_steps:
            keys, counts = _merge_counts(keys, counts, torch.cat(chunk))
            # Chaotic or quasi-periodic orbits meet a new pattern nearly every step: prune the
            # rarest so memory stays bounded (the kept ones are the most visited so far).
            keys, counts = _top_per_condition(keys, counts, 4 * max_per_condition)
            chunk = []
        if t < n_steps:
            h = fmap.step_from_preactivation(h, pre)
    assert keys is not None and counts is not None
    keys, _ = _top_per_condition(keys, counts, max_per_condition)
    return unpack_patterns(keys[:, 1:], fmap.n_units), keys[:, 0]


_WORD_BITS = 63  # bits per packed word: int64 without its sign bit


def pack_patterns(patterns: Tensor) -> Tensor:
    """Bool patterns (S, N) as int64 words (S, ⌈N / 63⌉), 63 bits each, exactly invertible by
    :func:`unpack_patterns`. Unit 0 is the highest bit of word 0, so the words sort rows in the
    same (lexicographic) order as the bools do: ``torch.unique`` and the visit-count ties of
    :func:`patterns_from_states` order patterns exactly as on the unpacked rows."""
    s, n = patterns.shape
    words = -(-n // _WORD_BITS)
    padded = patterns.new_zeros(s, words * _WORD_BITS)
    padded[:, :n] = patterns
    weights = torch.ones(_WORD_BITS, dtype=torch.int64, device=patterns.device)
    shifts = torch.arange(_WORD_BITS - 1, -1, -1, device=patterns.device)
    weights = torch.bitwise_left_shift(weights, shifts)
    return (padded.view(s, words, _WORD_BITS).to(torch.int64) * weights).sum(-1)


def unpack_patterns(words: Tensor, n_units: int) -> Tensor:
    """The bool patterns (S, N) of :func:`pack_patterns`' words (S, W)."""
    shifts = torch.arange(_WORD_BITS - 1, -1, -1, device=words.device)
    bits = torch.bitwise_right_shift(words.unsqueeze(-1), shifts) & 1
    return bits.reshape(len(words), -1)[:, :n_units].bool()


def _top_per_condition(keys: Tensor, counts: Tensor, cap: int) -> tuple[Tensor, Tensor]:
    """At most ``cap`` rows per condition (column 0), the most visited first, grouped by
    condition."""
    order = torch.argsort(counts, descending=True, stable=True)
    keys, counts = keys[order], counts[order]
    order = torch.argsort(keys[:, 0], stable=True)
    keys, counts = keys[order], counts[order]
    keep = _rank_within(keys[:, 0]) < cap
    return keys[keep], counts[keep]


def _merge_counts(keys: Tensor | None, counts: Tensor | None, new: Tensor) -> tuple[Tensor, Tensor]:
    """Unique rows of ``new`` merged with (keys, counts) and their visit counts."""
    uniq, inv = torch.unique(new, dim=0, return_inverse=True)
    cnt = torch.zeros(len(uniq), dtype=torch.long, device=new.device).index_add_(
        0, inv, torch.ones_like(inv)
    )
    if keys is None or counts is None:
        return uniq, cnt
    allk = torch.cat([keys, uniq])
    uniq, inv = torch.unique(allk, dim=0, return_inverse=True)
    total = torch.zeros(len(uniq), dtype=torch.long, device=new.device)
    return uniq, total.index_add_(0, inv, torch.cat([counts, cnt]))


def _rank_within(sorted_groups: Tensor) -> Tensor:
    """Position of each element within its run of equal values (input sorted by group)."""
    n = len(sorted_groups)
    idx = torch.arange(n)
    starts = torch.ones(n, dtype=torch.bool)
    starts[1:] = sorted_groups[1:] != sorted_groups[:-1]
    first = torch.cummax(torch.where(starts, idx, torch.zeros_like(idx)), dim=0).values
    return idx - first


def fixed_points_from_states(
    model_map: FrozenInputMap,
    states: Tensor,
    conditions: Tensor | None = None,
    *,
    n_steps: int = 200,
    max_per_condition: int = 500,
    tol: float = 1e-9,
    dedup_tol: float = 1e-7,
    stability_tol: float = 1e-6,
) -> FixedPoints:
    """Exact fixed points of a ReLU map on the patterns its orbits from ``states`` visit.

    :func:`patterns_from_states` followed by :func:`relu_fixed_points` on the map's weights.
    """
    pats, pcond = patterns_from_states(
        model_map, states, conditions, n_steps=n_steps, max_per_condition=max_per_condition
    )
    return relu_fixed_points(
        model_map.weight,
        model_map.drive,
        pats,
        model_map.alpha,
        conditions=pcond,
        tol=tol,
        dedup_tol=dedup_tol,
        stability_tol=stability_tol,
    )
