"""Fixed points of autonomous maps, their linear stability, and the basins of stable ones.

Two finders:

* :func:`relu_fixed_points` — exact, for h ↦ (1 − α) h + α ReLU(W h + u). Every fixed point
  solves h = ReLU(W h + u) (the same set for any leak α > 0), and on an activation pattern s
  (D_s = diag(s)) that is the linear system (I − D_s W) h = D_s u. Each candidate pattern is solved
  (batched), and a solution counts when it is self-consistent: pre-activation W h + u > 0 on the
  active set and ≤ 0 elsewhere. Candidate patterns come from the trajectories of the map
  (:func:`patterns_from_states`) or, for small N, from all 2^N (:func:`all_patterns`).
* :func:`find_fixed_points` — any batched map: minimise q(h) = ½‖F(h) − h‖² from many starts
  (Adam or L-BFGS), then polish by safeguarded Newton steps; keep q < tol.

Both return :class:`FixedPoints`, with the Jacobian eigenvalues and a stability type per point
(:func:`classify_stability`); ``to_frame()`` gives one row per point. :func:`basins` tells which
stable point each state flows to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from cogdyn.dynamics.maps import FrozenInputMap

StepFn = Callable[[Tensor], Tensor]
"""A batched map: states (B, D) → next states (B, D), row by row."""

STABILITY_TYPES: tuple[str, ...] = ("stable", "saddle", "unstable", "marginal")
"""Stability types of a fixed point of a map, by the moduli |λ| of its Jacobian's eigenvalues."""

# Largest N for which all 2^N activation patterns may be enumerated.
MAX_ENUMERATED_UNITS = 20


# ---------------------------------------------------------------------- stability
@dataclass(frozen=True, eq=False)
class Stability:
    """Linear stability of M fixed points of a map.

    eigenvalues: (M, D) complex, sorted by decreasing modulus.
    kind:        stability type of each point, one of :data:`STABILITY_TYPES`.
    tol:         |λ| within ``tol`` of 1 counts as marginal.
    """

    eigenvalues: Tensor
    kind: tuple[str, ...]
    tol: float

    @property
    def max_abs(self) -> Tensor:
        """Largest |λ| of each point, (M,)."""
        mod = self.eigenvalues.abs()
        return mod[:, 0] if mod.shape[1] else mod.new_zeros(len(mod))

    @property
    def n_unstable(self) -> Tensor:
        """Number of eigenvalues with |λ| > 1 + tol, (M,)."""
        return (self.eigenvalues.abs() > 1 + self.tol).sum(-1)

    @property
    def n_stable(self) -> Tensor:
        """Number of eigenvalues with |λ| < 1 − tol, (M,)."""
        return (self.eigenvalues.abs() < 1 - self.tol).sum(-1)


def classify_stability(
    jacobians_or_eigs: Tensor, alpha: float = 1.0, tol: float = 1e-6
) -> Stability:
    """Eigenvalues and stability type of fixed points of a map from their Jacobians or eigenvalues.

    ``jacobians_or_eigs``: Jacobians (M, D, D) or eigenvalues (M, D) (real or complex).
    ``alpha``: the leak to apply — the values given are taken as those of the un-leaked map, and
    the map h ↦ (1 − α) h + α G(h) has eigenvalues (1 − α) + α μ for each eigenvalue μ of G's
    Jacobian. Keep α = 1 when passing the map's own Jacobian.

    Types (n_s, n_u, n_m count |λ| < 1 − tol, > 1 + tol, and in between):
    ``stable`` n_u = n_m = 0; ``marginal`` n_u = 0 < n_m; ``saddle`` n_u > 0 and n_s > 0;
    ``unstable`` n_u > 0 = n_s (every direction repels, up to marginal ones). A map's
    eigenvalue 0 (e.g. a silent ReLU unit with α = 1) counts as a stable direction.
    """
    x = jacobians_or_eigs
    if not isinstance(x, Tensor) or x.dim() not in (2, 3):
        raise ValueError(
            f"jacobians_or_eigs must be Jacobians (M, D, D) or eigenvalues (M, D), got {_shape(x)}"
        )
    if x.dim() == 3 and x.shape[1] != x.shape[2]:
        raise ValueError(f"jacobians_or_eigs: Jacobians must be square, got {tuple(x.shape)}")
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    if not tol >= 0:
        raise ValueError(f"tol must be ≥ 0, got {tol}")
    if x.dim() == 3:
        eigs = torch.linalg.eigvals(x) if x.shape[0] and x.shape[1] else x.new_zeros(x.shape[:2])
    else:
        eigs = x
    eigs = (1 - alpha) + alpha * eigs.to(torch.complex128)
    order = torch.argsort(eigs.abs(), dim=-1, descending=True)
    eigs = torch.gather(eigs, -1, order)
    mod = eigs.abs()
    n_u = (mod > 1 + tol).sum(-1).tolist()
    n_s = (mod < 1 - tol).sum(-1).tolist()
    dim = eigs.shape[1]
    kind = tuple(
        ("marginal" if s < dim else "stable") if u == 0 else ("saddle" if s > 0 else "unstable")
        for u, s in zip(n_u, n_s, strict=True)
    )
    return Stability(eigenvalues=eigs, kind=kind, tol=tol)


# ---------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class FixedPoints:
    """M fixed points of a (possibly multi-condition) map.

    states:    (M, D) the points h*.
    condition: (M,) int64, the row of the map (frozen input / condition) each point belongs to.
    residual:  (M,) ‖F(h*) − h*‖₂.
    active:    (M, D) bool, the activation pattern (pre-activation > 0; for a map found by
               optimisation, the coordinates > 0, which are the active units of a ReLU net).
    stability: eigenvalues and stability type (:class:`Stability`).
    """

    states: Tensor
    condition: Tensor
    residual: Tensor
    active: Tensor
    stability: Stability

    def __len__(self) -> int:
        return int(self.states.shape[0])

    @property
    def kind(self) -> tuple[str, ...]:
        return self.stability.kind

    @property
    def eigenvalues(self) -> Tensor:
        return self.stability.eigenvalues

    @property
    def is_stable(self) -> Tensor:
        """(M,) bool, the points of type ``stable``."""
        return torch.tensor([k == "stable" for k in self.kind], dtype=torch.bool)

    def select(self, index: Tensor) -> FixedPoints:
        """The points at ``index`` (int64 indices or an (M,) bool mask), in that order."""
        idx = torch.as_tensor(index)
        if idx.dtype == torch.bool:
            idx = torch.nonzero(idx).reshape(-1)
        idx = idx.long().reshape(-1)
        st = self.stability
        picked = [st.kind[i] for i in idx.tolist()]
        return FixedPoints(
            states=self.states[idx],
            condition=self.condition[idx],
            residual=self.residual[idx],
            active=self.active[idx],
            stability=Stability(st.eigenvalues[idx], tuple(picked), st.tol),
        )

    def stable(self) -> FixedPoints:
        """The stable points only."""
        return self.select(self.is_stable)

    def to_frame(self) -> pd.DataFrame:
        """One row per point: condition, norm, n_active, max_abs_eig, n_unstable, stability,
        residual (the states stay in ``states``, row i ↔ point i)."""
        st = self.stability
        return pd.DataFrame(
            {
                "condition": self.condition.cpu().numpy(),
                "norm": self.states.norm(dim=-1).cpu().numpy(),
                "n_active": self.active.sum(-1).cpu().numpy(),
                "max_abs_eig": st.max_abs.cpu().numpy(),
                "n_unstable": st.n_unstable.cpu().numpy(),
                "stability": pd.Categorical(list(st.kind), categories=STABILITY_TYPES),
                "residual": self.residual.cpu().numpy(),
            }
        )


def _shape(x: object) -> str:
    return str(tuple(x.shape)) if isinstance(x, Tensor) else type(x).__name__


def _dedupe(states: Tensor, condition: Tensor, tol: float, priority: Tensor | None) -> Tensor:
    """Indices of points to keep: per condition, greedily drop any point within ``tol`` (L2) of
    a kept one, visiting points by increasing ``priority`` (default: given order)."""
    order = torch.arange(len(states)) if priority is None else torch.argsort(priority, stable=True)
    keep: list[int] = []
    cond = condition.cpu().numpy()
    order_np = order.numpy()
    for c in np.unique(cond):
        members = order_np[cond[order_np] == c]
        pts = states[torch.as_tensor(members)]
        close = (torch.cdist(pts, pts) <= tol).cpu().numpy()
        taken = np.zeros(len(members), dtype=bool)
        for i in range(len(members)):
            if not (close[i] & taken).any():
                taken[i] = True
        keep.extend(members[taken].tolist())
    return torch.tensor(sorted(keep), dtype=torch.long)


# ---------------------------------------------------------------------- exact ReLU points
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
) -> FixedPoints:
    """Exact fixed points of h ↦ (1 − α) h + α ReLU(W h + u) on the given activation patterns.

    ``W`` (N, N); ``u`` (N,) or (B, N), one drive per condition; ``patterns`` (P, N) bool/0-1.
    ``conditions`` (P,) gives the condition of each pattern; without it every pattern is tried
    under every condition. For each (pattern s, condition) the system (I − D_s W) h = D_s u is
    solved (batched, ``chunk_size`` systems at a time); singular systems are skipped. A solution
    is kept when it is self-consistent up to ``tol`` × (1 + max|u| + max|h|): pre-activation
    ≥ −tol on s and ≤ tol off s. Points are de-duplicated by (condition, pattern), then by L2
    distance ``dedup_tol`` (a point on a pattern boundary solves several patterns). ``alpha``
    only affects the stability (eigenvalues (1 − α) + α μ of μ ∈ eig(D_s W)).
    """
    W, u2, pats, cond = _check_relu_args(W, u, patterns, alpha, conditions)
    n = W.shape[0]
    # Unique (condition, pattern) pairs: trajectories revisit the same patterns many times.
    key = torch.cat([cond.unsqueeze(1), pats.long()], dim=1)
    key = torch.unique(key, dim=0)
    cond, pats = key[:, 0], key[:, 1:].bool()
    states, conds, active = [], [], []
    eye = torch.eye(n, dtype=W.dtype, device=W.device)
    for start in range(0, len(pats), chunk_size):
        s = pats[start : start + chunk_size].to(W.dtype)
        c = cond[start : start + chunk_size]
        uc = u2[c]
        # (I − D_s W) h = D_s u, with D_s W = s[:, :, None] * W (rows of silent units zeroed).
        a = eye - s.unsqueeze(-1) * W
        h, info = torch.linalg.solve_ex(a, (s * uc).unsqueeze(-1))
        h = h.squeeze(-1)
        pre = h @ W.T + uc
        scale = 1 + uc.abs().amax(-1, keepdim=True) + h.abs().amax(-1, keepdim=True)
        on = s.bool()
        consistent = torch.where(on, pre >= -tol * scale, pre <= tol * scale).all(-1)
        ok = (info == 0) & torch.isfinite(h).all(-1) & consistent
        states.append(h[ok].clamp(min=0))  # a ReLU fixed point is ≥ 0; clamps round-off only
        conds.append(c[ok])
        active.append(on[ok])
    h = torch.cat(states) if states else W.new_zeros(0, n)
    c = torch.cat(conds) if conds else cond.new_zeros(0)
    on = torch.cat(active) if active else pats.new_zeros(0, n)
    keep = _dedupe(h, c, dedup_tol, None)
    h, c, on = h[keep], c[keep], on[keep]
    fmap = FrozenInputMap(W, u2, alpha).select(c)
    residual = (fmap.step(h) - h).norm(dim=-1)
    jac = on.to(W.dtype).unsqueeze(-1) * W  # D_s W, the un-leaked Jacobian
    stability = classify_stability(jac, alpha, stability_tol)
    return FixedPoints(states=h, condition=c, residual=residual, active=on, stability=stability)


def _check_relu_args(
    W: Tensor, u: Tensor, patterns: Tensor, alpha: float, conditions: Tensor | None
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Validated (W, u (B, N), patterns (P', N) bool, conditions (P',)) with all pairs expanded."""
    if not isinstance(W, Tensor) or W.dim() != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be a square (N, N) tensor, got {_shape(W)}")
    if not W.is_floating_point():
        raise ValueError(f"W must be floating point, got {W.dtype}")
    n = W.shape[0]
    if not isinstance(u, Tensor) or u.dim() not in (1, 2) or u.shape[-1] != n:
        raise ValueError(f"u must be ({n},) or (B, {n}), got {_shape(u)}")
    u2 = u.reshape(-1, n).to(W.dtype)
    if not isinstance(patterns, Tensor) or patterns.dim() != 2 or patterns.shape[1] != n:
        raise ValueError(f"patterns must be (P, {n}), got {_shape(patterns)}")
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


def _state_conditions(fmap: FrozenInputMap, states: Tensor, conditions: Tensor | None) -> Tensor:
    """The map row of each state: ``conditions`` if given, else 0 for a one-row map, else the
    row index when there is one state per row."""
    if not isinstance(states, Tensor) or states.dim() != 2 or states.shape[1] != fmap.n_units:
        raise ValueError(f"states must be (S, {fmap.n_units}), got {_shape(states)}")
    s = len(states)
    if conditions is not None:
        cond = torch.as_tensor(conditions).long().reshape(-1)
        if len(cond) != s:
            raise ValueError(f"conditions must have one entry per state ({s}), got {len(cond)}")
        if s and (int(cond.min()) < 0 or int(cond.max()) >= fmap.n_conditions):
            raise ValueError(f"conditions must lie in 0..{fmap.n_conditions - 1}")
        return cond
    if fmap.n_conditions == 1:
        return torch.zeros(s, dtype=torch.long)
    if s == fmap.n_conditions:
        return torch.arange(s)
    raise ValueError(
        f"conditions: needed when the map has {fmap.n_conditions} rows and there are {s} states"
    )


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
    Each pattern costs one N × N solve in :func:`relu_fixed_points` (≈ 1 ms at N = 250), so
    mind the cap for large grids.
    """
    cond = _state_conditions(model_map, states, conditions)
    if n_steps < 0 or max_per_condition < 1:
        raise ValueError("n_steps must be ≥ 0 and max_per_condition ≥ 1")
    fmap = model_map.select(cond)
    h = states.to(model_map.dtype)
    # Merge the visited patterns every few steps: the raw history (steps × S × N) can be large.
    chunk_steps = max(1, min(32, 4_000_000 // max(1, len(h) * (fmap.n_units + 1))))
    keys: Tensor | None = None
    counts: Tensor | None = None
    chunk: list[Tensor] = []
    cond_col = cond.to(device=h.device, dtype=torch.int32).unsqueeze(1)
    for t in range(n_steps + 1):
        chunk.append(torch.cat([cond_col, fmap.active(h).to(torch.int32)], dim=1))
        if len(chunk) == chunk_steps or t == n_steps:
            keys, counts = _merge_counts(keys, counts, torch.cat(chunk))
            # Chaotic or quasi-periodic orbits meet a new pattern nearly every step: prune the
            # rarest so memory stays bounded (the kept ones are the most visited so far).
            keys, counts = _top_per_condition(keys, counts, 4 * max_per_condition)
            chunk = []
        if t < n_steps:
            h = fmap.step(h)
    assert keys is not None and counts is not None
    keys, _ = _top_per_condition(keys, counts, max_per_condition)
    return keys[:, 1:].bool(), keys[:, 0].long()


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


# ---------------------------------------------------------------------- optimisation finder
def _autograd_jacobian(step: StepFn, h: Tensor) -> Tensor:
    """J(h) (B, D, D) of a row-wise batched map by reverse mode (one batched backward pass)."""
    dim = h.shape[-1]
    with torch.enable_grad():
        x = h.detach().requires_grad_(True)
        fx = step(x)
        basis = torch.eye(dim, dtype=h.dtype, device=h.device).unsqueeze(1).expand(-1, *h.shape)
        try:
            (rows,) = torch.autograd.grad(fx, x, basis, is_grads_batched=True)
        except RuntimeError:
            # Some ops lack a vmap rule: one backward pass per output coordinate instead.
            rows = torch.stack(
                [torch.autograd.grad(fx, x, basis[j], retain_graph=True)[0] for j in range(dim)]
            )
    return rows.transpose(0, 1).detach()


def _residual_q(step: StepFn, h: Tensor) -> Tensor:
    """q(h) = ½‖F(h) − h‖² per row, without a graph."""
    with torch.no_grad():
        return 0.5 * (step(h) - h).pow(2).sum(-1)


def _newton(step: StepFn, jac: Callable[[Tensor], Tensor], h: Tensor, n_steps: int) -> Tensor:
    """Safeguarded Newton on F(h) − h = 0: a row takes a step only if it lowers q.

    For a ReLU map one step lands exactly on the fixed point of the current activation pattern.
    """
    eye = torch.eye(h.shape[-1], dtype=h.dtype, device=h.device)
    q = _residual_q(step, h)
    for _ in range(n_steps):
        with torch.no_grad():
            r = step(h) - h
            delta, info = torch.linalg.solve_ex(jac(h) - eye, -r.unsqueeze(-1))
            cand = h + delta.squeeze(-1)
            q_new = _residual_q(step, cand)
            ok = (info == 0) & torch.isfinite(q_new) & (q_new < q)
            if not bool(ok.any()):
                break
            h = torch.where(ok.unsqueeze(-1), cand, h)
            q = torch.where(ok, q_new, q)
    return h


@dataclass
class _Search:
    """Best state and q of each row so far; rows with q < tol are done."""

    best: Tensor
    best_q: Tensor
    tol: float

    def offer(self, h: Tensor, q: Tensor) -> None:
        better = torch.isfinite(q) & (q < self.best_q)
        self.best = torch.where(better.unsqueeze(-1), h.detach(), self.best)
        self.best_q = torch.where(better, q.detach(), self.best_q)

    @property
    def done(self) -> bool:
        return bool((self.best_q < self.tol).all())


def _optimiser(method: str, x: Tensor, lr: float, round_len: int) -> Any:
    if method == "lbfgs":
        # L-BFGS takes unit steps scaled by its line search; ``lr`` is Adam's.
        return torch.optim.LBFGS(
            [x],
            lr=1.0,
            max_iter=round_len,
            line_search_fn="strong_wolfe",
            tolerance_grad=0.0,
            tolerance_change=0.0,
        )
    return torch.optim.Adam([x], lr=lr)


def _search(
    step: StepFn,
    jac: Callable[[Tensor], Tensor],
    h: Tensor,
    opts: dict[str, Any],
) -> Tensor:
    """Minimise Σ_rows q(h) (rows are independent, so each follows its own gradient), trying
    Newton from the current iterate every ``newton_every`` iterations and at the end."""
    method, n_iter, lr, tol = opts["method"], opts["n_iter"], opts["lr"], opts["tol"]
    every, newton_steps = opts["newton_every"], opts["newton_steps"]
    search = _Search(h.clone(), _residual_q(step, h), tol)
    x = h.clone().requires_grad_(True)
    round_len = min(every, n_iter) if newton_steps > 0 else n_iter
    opt = _optimiser(method, x, lr, max(round_len, 1))
    # Adam moves by ~lr per step even at a minimum, so its rate decays 1000-fold over the run.
    gamma = 1e-3 ** (1 / max(n_iter, 1))

    def loss() -> Tensor:
        opt.zero_grad()
        value = 0.5 * (step(x) - x).pow(2).sum()
        value.backward()
        return value

    it = 0
    while it < n_iter and not search.done:
        n = min(round_len, n_iter - it)
        with torch.enable_grad():
            if method == "lbfgs":
                opt.param_groups[0]["max_iter"] = n
                opt.step(loss)
            else:
                for _ in range(n):
                    loss()
                    opt.step()
                    opt.param_groups[0]["lr"] *= gamma
        it += n
        hx = x.detach()
        search.offer(hx, _residual_q(step, hx))
        if newton_steps > 0:
            # For a ReLU map, Newton is exact once the iterate is in the right pattern region.
            polished = _newton(step, jac, hx.clone(), newton_steps)
            search.offer(polished, _residual_q(step, polished))
    if newton_steps > 0 and n_iter == 0:
        polished = _newton(step, jac, h.clone(), newton_steps)
        search.offer(polished, _residual_q(step, polished))
    return search.best


def find_fixed_points(
    step: StepFn,
    x0: Tensor,
    *,
    jacobian: Callable[[Tensor], Tensor] | None = None,
    conditions: Tensor | None = None,
    method: str = "adam",
    n_iter: int = 1000,
    lr: float = 0.1,
    newton_steps: int = 10,
    newton_every: int = 5,
    tol: float = 1e-14,
    dedup_tol: float = 1e-6,
    stability_tol: float = 1e-6,
    jitter: float = 0.0,
    seed: int = 0,
) -> FixedPoints:
    """Fixed points of a batched map by minimising q(h) = ½‖F(h) − h‖² from the rows of ``x0``.

    ``step`` maps (B, D) → (B, D) row by row (row b may carry its own frozen input, e.g.
    ``FrozenInputMap.step``); ``x0`` (B, D) are the starts, moved by ``jitter`` × N(0, 1) noise
    drawn from a generator seeded with ``seed``. ``method`` is ``"adam"`` (learning rate ``lr``
    decaying 1000-fold over ``n_iter`` steps) or ``"lbfgs"`` (strong-Wolfe line search on the
    summed q, ``n_iter`` iterations). Every ``newton_every`` iterations, up to ``newton_steps``
    safeguarded Newton steps (a row moves only if q drops) are tried from the current iterate;
    they use ``jacobian`` (B, D) → (B, D, D) if given (e.g. ``FrozenInputMap.jacobian``), else
    autograd, and need (B, D, D) memory. The search stops early once every row has q < ``tol``.
    Rows ending with q < ``tol`` are fixed points, de-duplicated per condition (``conditions``
    (B,), default: all rows one system) within ``dedup_tol`` (L2), lowest q kept. Stability
    comes from the Jacobian at each point. Unstable points are found as well as stable ones
    (every fixed point is a minimum of q), but no finder of this kind is exhaustive.
    """
    if not isinstance(x0, Tensor) or x0.dim() != 2 or not x0.is_floating_point():
        raise ValueError(f"x0 must be a float (B, D) tensor, got {_shape(x0)}")
    if method not in ("adam", "lbfgs"):
        raise ValueError(f"method must be 'adam' or 'lbfgs', got {method!r}")
    if n_iter < 0 or newton_steps < 0 or newton_every < 1 or jitter < 0:
        raise ValueError("n_iter, newton_steps and jitter must be ≥ 0, newton_every ≥ 1")
    if not (lr > 0 and tol > 0 and dedup_tol >= 0):
        raise ValueError(f"lr and tol must be > 0 and dedup_tol ≥ 0, got {lr}, {tol}, {dedup_tol}")
    b = len(x0)
    if conditions is None:
        cond = torch.zeros(b, dtype=torch.long)
    else:
        cond = torch.as_tensor(conditions).long().reshape(-1)
        if len(cond) != b:
            raise ValueError(f"conditions must have one entry per row of x0 ({b}), got {len(cond)}")
    h = x0.detach().clone()
    if jitter > 0:
        gen = torch.Generator(device=h.device).manual_seed(seed)
        h = h + jitter * torch.randn(h.shape, generator=gen, dtype=h.dtype, device=h.device)
    with torch.no_grad():
        fx = step(h)
    if fx.shape != h.shape:
        raise ValueError(f"step must map (B, D) to (B, D), got {tuple(fx.shape)}")

    def jac_fn(x: Tensor) -> Tensor:
        return jacobian(x) if jacobian is not None else _autograd_jacobian(step, x)

    opts = {
        "method": method,
        "n_iter": n_iter,
        "lr": lr,
        "tol": tol,
        "newton_every": newton_every,
        "newton_steps": newton_steps,
    }
    h = _search(step, jac_fn, h, opts)
    q = _residual_q(step, h)
    found = torch.nonzero(torch.isfinite(q) & (q < tol)).reshape(-1)
    keep = found[_dedupe(h[found], cond[found], dedup_tol, q[found])]
    pts = h[keep]
    # The Jacobian of row r is that of row r's own map, so it is taken on the full batch.
    jac = jac_fn(h)[keep] if len(keep) else h.new_zeros(0, h.shape[1], h.shape[1])
    scale = 1e-9 * (1 + pts.abs().amax(-1, keepdim=True)) if len(pts) else 0.0
    return FixedPoints(
        states=pts,
        condition=cond[keep],
        residual=(2 * q[keep]).sqrt(),
        active=pts > scale,
        stability=classify_stability(jac, 1.0, stability_tol),
    )


# ---------------------------------------------------------------------- basins
def basins(
    model_map: FrozenInputMap | StepFn,
    stable_points: FixedPoints | Tensor,
    states: Tensor,
    conditions: Tensor | None = None,
    *,
    n_steps: int = 2000,
    tol: float = 1e-6,
    check_every: int = 20,
) -> Tensor:
    """Which of ``stable_points`` each state flows to: an index into them, or −1 (other).

    Each state (S, N) is iterated under its condition's row (``conditions`` (S,); default: 0
    for a one-row map, the row index when S equals the number of rows) for up to ``n_steps``
    steps, stopping early once every orbit has matched. An orbit matches a point of its own
    condition when within ``tol`` × (1 + ‖h*‖) of it (L2); orbits that never do (another
    attractor, a saddle's stable manifold, divergence, or too slow a convergence) get −1.
    ``model_map`` may also be a plain batched step function applied to ``states`` as they are
    (row s under condition ``conditions[s]``, default 0); ``stable_points`` may be an (M, N)
    tensor of points of condition 0.
    """
    if isinstance(stable_points, FixedPoints):
        pts, pcond = stable_points.states, stable_points.condition
    elif isinstance(stable_points, Tensor) and stable_points.dim() == 2:
        pts, pcond = stable_points, torch.zeros(len(stable_points), dtype=torch.long)
    else:
        got = _shape(stable_points)
        raise ValueError(f"stable_points must be FixedPoints or an (M, N) tensor, got {got}")
    if n_steps < 0 or check_every < 1 or not tol > 0:
        raise ValueError("n_steps must be ≥ 0, check_every ≥ 1 and tol > 0")
    if isinstance(model_map, FrozenInputMap):
        cond = _state_conditions(model_map, states, conditions)
        step: StepFn = model_map.select(cond).step
        h = states.to(model_map.dtype)
    else:
        if not isinstance(states, Tensor) or states.dim() != 2:
            raise ValueError(f"states must be (S, N), got {_shape(states)}")
        step, h = model_map, states
        cond = torch.zeros(len(h), dtype=torch.long) if conditions is None else conditions
        cond = torch.as_tensor(cond).long().reshape(-1)
        if len(cond) != len(h):
            raise ValueError(f"conditions must have one entry per state ({len(h)})")
    if pts.shape[1:] != h.shape[1:]:
        raise ValueError(f"stable_points must have {h.shape[1]} coordinates, got {pts.shape[1]}")
    pts = pts.to(h.dtype)
    # Allowed targets of each state: points of its own condition.
    same = cond.unsqueeze(1) == pcond.unsqueeze(0)  # (S, M)
    radius = tol * (1 + pts.norm(dim=-1))
    labels = torch.full((len(h),), -1, dtype=torch.long)
    with torch.no_grad():
        for t in range(n_steps + 1):
            if t % check_every == 0 or t == n_steps:
                labels = torch.where(labels < 0, _match(h, pts, same, radius), labels)
                if bool((labels >= 0).all()):
                    break
            if t < n_steps:
                h = step(h)
    return labels


def _match(h: Tensor, pts: Tensor, allowed: Tensor, radius: Tensor) -> Tensor:
    """Index of the nearest allowed point within its radius, else −1, per state."""
    if pts.shape[0] == 0:
        return torch.full((len(h),), -1, dtype=torch.long)
    d = torch.cdist(h, pts)
    d = torch.where(allowed & (d <= radius), d, torch.full_like(d, float("inf")))
    best = d.argmin(dim=-1)
    return torch.where(torch.isfinite(d.min(dim=-1).values), best, torch.full_like(best, -1))
