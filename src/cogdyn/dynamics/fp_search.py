"""Fixed points of any batched map by optimisation.

Minimise q(h) = ½‖F(h) − h‖² from many starts (Adam or L-BFGS), then polish by safeguarded
Newton steps; keep q < tol. Every fixed point is a minimum of q, so unstable points are found as
well as stable ones, but no finder of this kind is exhaustive. For ReLU networks the exact solver
(:mod:`cogdyn.dynamics.relu_solver`) is preferable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from cogdyn.dynamics.fixed_points import (
    FixedPoints,
    StepFn,
    classify_stability,
    dedupe,
    shape_of,
)
from cogdyn.linalg import solve_each


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
            delta, info = solve_each(jac(h) - eye, -r.unsqueeze(-1))
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
        raise ValueError(f"x0 must be a float (B, D) tensor, got {shape_of(x0)}")
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
    keep = found[dedupe(h[found], cond[found], dedup_tol, q[found])]
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
