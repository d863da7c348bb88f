"""Fixed points of autonomous maps: the result type, linear stability, and basins.

The finders live beside this module and all return :class:`FixedPoints`:

* :mod:`cogdyn.dynamics.relu_solver` — exact, for ReLU maps h ↦ (1 − α) h + α ReLU(W h + u):
  solve the linear system of each activation pattern and keep the self-consistent solutions
  (:func:`~cogdyn.dynamics.relu_solver.relu_fixed_points`, with candidate patterns from
  trajectories, :func:`~cogdyn.dynamics.relu_solver.fixed_points_from_states`);
* :mod:`cogdyn.dynamics.fp_search` — any batched map: minimise ½‖F(h) − h‖² from many starts
  and polish by Newton (:func:`~cogdyn.dynamics.fp_search.find_fixed_points`).

Here: :class:`FixedPoints` (one row per point via ``to_frame()``), the stability type of each
point from its Jacobian's eigenvalues (:func:`classify_stability`), and :func:`basins`, which
tells which stable point each state flows to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from cogdyn.dynamics.maps import FrozenInputMap

StepFn = Callable[[Tensor], Tensor]
"""A batched map: states (B, D) → next states (B, D), row by row."""

STABILITY_TYPES: tuple[str, ...] = ("stable", "saddle", "unstable", "marginal")
"""Stability types of a fixed point of a map, by the moduli |λ| of its Jacobian's eigenvalues."""


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
        got = shape_of(x)
        raise ValueError(
            f"jacobians_or_eigs must be Jacobians (M, D, D) or eigenvalues (M, D), got {got}"
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


# ---------------------------------------------------------------------- helpers of the finders
def shape_of(x: object) -> str:
    """Shape of a tensor, or the type name of anything else, for error messages."""
    return str(tuple(x.shape)) if isinstance(x, Tensor) else type(x).__name__


def dedupe(states: Tensor, condition: Tensor, tol: float, priority: Tensor | None) -> Tensor:
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


def state_conditions(fmap: FrozenInputMap, states: Tensor, conditions: Tensor | None) -> Tensor:
    """The map row of each state: ``conditions`` if given, else 0 for a one-row map, else the
    row index when there is one state per row."""
    if not isinstance(states, Tensor) or states.dim() != 2 or states.shape[1] != fmap.n_units:
        raise ValueError(f"states must be (S, {fmap.n_units}), got {shape_of(states)}")
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


# ---------------------------------------------------------------------- basins
DIVERGED = 1e6
"""A state whose norm exceeds this has left every fixed point's basin (it diverges)."""
RATE_WINDOW = 400
"""Steps over which :func:`basins` measures how fast an orbit approaches the nearest point."""


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
        got = shape_of(stable_points)
        raise ValueError(f"stable_points must be FixedPoints or an (M, N) tensor, got {got}")
    if n_steps < 0 or check_every < 1 or not tol > 0:
        raise ValueError("n_steps must be ≥ 0, check_every ≥ 1 and tol > 0")
    frozen = isinstance(model_map, FrozenInputMap)
    if frozen:
        cond = state_conditions(model_map, states, conditions)
        h = states.to(model_map.dtype)
    else:
        if not isinstance(states, Tensor) or states.dim() != 2:
            raise ValueError(f"states must be (S, N), got {shape_of(states)}")
        h = states
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
    # Only orbits that have not matched yet are iterated (a frozen-input map is restricted to
    # their rows); a plain step function gets the whole batch, as its rows are fixed. Orbits
    # that cannot match any more are given up as −1 as soon as that is clear: diverged,
    # converged to a point not in the list, or approaching the nearest allowed point too slowly
    # to come within its radius in the steps left even at twice their rate over the last
    # RATE_WINDOW steps (an orbit on another attractor does not approach at all).
    live = torch.arange(len(h))
    settled = torch.zeros(len(h), dtype=torch.bool)
    lag = max(1, RATE_WINDOW // check_every)
    history = torch.full((len(h), lag + 1), torch.inf, dtype=torch.float64)
    step: StepFn = model_map.select(cond).step if frozen else model_map  # type: ignore[union-attr]
    with torch.no_grad():
        for t in range(n_steps + 1):
            nxt = step(h) if t < n_steps else h
            if t % check_every == 0 or t == n_steps:
                hit, excess = _match(h, pts, same[live], radius)
                labels[live] = torch.where(labels[live] < 0, hit, labels[live])
                norm = h.norm(dim=-1)
                gone = ~torch.isfinite(norm) | (norm > DIVERGED)
                # Converged (steps 1000× below the match tolerance) yet far from every allowed
                # point: a slowly converging orbit still on its way has steps ≫ that.
                still = ((nxt - h).norm(dim=-1) <= 1e-3 * tol * (1 + norm)) & (excess > 100)
                history[live] = torch.cat([history[live, 1:], excess.log().unsqueeze(1)], 1)
                old, now = history[live, 0], history[live, -1]
                rate = ((old - now) / (lag * check_every)).clamp(min=0.0)
                slow = torch.isfinite(old) & (now > 2 * rate * (n_steps - t))
                nowhere = ~same[live].any(dim=-1)  # no stable point of its condition at all
                settled[live] |= (labels[live] < 0) & (gone | still | slow | nowhere)
                keep = (labels[live] < 0) & ~settled[live]
                if not bool(keep.any()):
                    break
                if frozen and not bool(keep.all()):
                    live, h, nxt = live[keep], h[keep], nxt[keep]
                    step = model_map.select(cond[live]).step  # type: ignore[union-attr]
            h = nxt
    return labels


def _match(h: Tensor, pts: Tensor, allowed: Tensor, radius: Tensor) -> tuple[Tensor, Tensor]:
    """Per state: the index of the nearest allowed point within its radius, else −1; and the
    smallest distance to an allowed point in units of that point's radius (inf: none)."""
    if pts.shape[0] == 0:
        return torch.full((len(h),), -1, dtype=torch.long), torch.full(
            (len(h),), torch.inf, dtype=torch.float64
        )
    scaled = torch.where(allowed, torch.cdist(h, pts) / radius, torch.inf)
    excess, best = scaled.min(dim=-1)
    return torch.where(excess <= 1, best, torch.full_like(best, -1)), excess.double()
