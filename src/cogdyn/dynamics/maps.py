"""The frozen-input map of a trained ReLU RNN, and the states it is started from.

During a trial phase the input is constant (up to noise), so holding the noise-free input x of a
condition fixed turns the network into an autonomous map

    F(h) = (1 − α) h + α ReLU(W h + u),   u = W_in x + b.

:class:`FrozenInputMap` holds W and one drive u per condition (a row), so a whole grid of
conditions is one batched map. Its Jacobian is analytic, J(h) = (1 − α) I + α D(h) W with
D(h) = diag(W h + u > 0), and :meth:`FrozenInputMap.tangent` applies it to a tangent frame without
ever forming the (B, N, N) Jacobians — the fast path of Lyapunov exponents.

Helpers build the inputs of a (context × coherence × coherence) grid from the task
(:func:`condition_inputs`), the network's real state at stimulus onset
(:func:`stimulus_onset_states`) and the states at the end of the stimulus of real noisy trials
(:func:`end_of_stimulus_states`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from cogdyn.tasks.base import FIXATION, STIMULUS, TrialBatch
from cogdyn.tasks.ctxdm import CtxDM
from cogdyn.tasks.timing import to_steps


def _model_weights(model: Any) -> tuple[Tensor, Tensor, Tensor, float]:
    """(W, W_in, b, α) of a VanillaRNN or a one-layer ``torch.nn.RNN(nonlinearity="relu")``."""
    if getattr(model, "nonlinearity", "relu") != "relu":
        raise ValueError(f"model must be a ReLU RNN, got nonlinearity={model.nonlinearity!r}")
    try:
        w, w_in = model.weight_hh_l0, model.weight_ih_l0
    except AttributeError as err:
        raise ValueError("model must have weight_hh_l0 and weight_ih_l0 (a ReLU RNN)") from err
    bias = getattr(model, "bias", None)
    if not isinstance(bias, Tensor):
        # torch.nn.RNN: `bias` is a bool flag; its biases are the two vectors.
        b_ih = getattr(model, "bias_ih_l0", None)
        b_hh = getattr(model, "bias_hh_l0", None)
        bias = torch.zeros_like(w[:, 0]) if b_ih is None else b_ih + b_hh
    return w, w_in, bias, float(getattr(model, "alpha", 1.0))


@dataclass(frozen=True, eq=False)
class FrozenInputMap:
    """F(h) = (1 − α) h + α ReLU(W h + u) with one drive u per condition (row).

    weight: W, (N, N).
    drive:  u = W_in x + b, (B, N): row b is condition b. States passed to the methods are (B, N)
            (row b evolves under drive b); a map with a single row also takes any (S, N).
    alpha:  leak α in (0, 1].
    inputs: the frozen inputs x (B, n_in) the drive was built from, if known (for reference).

    Build it from a network with :meth:`from_model`; give ``weight``/``drive`` directly for a
    hand-made system. All tensors share one dtype (float64 from :meth:`from_model` by default).
    """

    weight: Tensor
    drive: Tensor
    alpha: float = 1.0
    inputs: Tensor | None = None

    def __post_init__(self) -> None:
        w, u = self.weight, self.drive
        if not isinstance(w, Tensor) or w.dim() != 2 or w.shape[0] != w.shape[1]:
            raise ValueError(f"weight must be a square (N, N) tensor, got {_shape(w)}")
        if not isinstance(u, Tensor) or u.dim() != 2 or u.shape[1] != w.shape[0]:
            raise ValueError(f"drive must be (B, {w.shape[0]}), got {_shape(u)}")
        if u.dtype != w.dtype or not w.is_floating_point():
            raise ValueError(f"weight and drive must share a float dtype, got {w.dtype}, {u.dtype}")
        if not 0 < self.alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {self.alpha}")
        if self.inputs is not None and (self.inputs.dim() != 2 or len(self.inputs) != len(u)):
            raise ValueError(f"inputs must be (B={len(u)}, n_in), got {_shape(self.inputs)}")

    @classmethod
    def from_model(
        cls, model: Any, inputs: Tensor, dtype: torch.dtype = torch.float64
    ) -> FrozenInputMap:
        """The map of ``model`` (a VanillaRNN) under frozen ``inputs`` (B, n_in), in ``dtype``.

        The weights are copied (detached) in ``dtype``: float64 by default, because the
        classification of attractors needs it (float32 round-off masks λ ≈ 0).
        """
        w, w_in, b, alpha = _model_weights(model)
        if not isinstance(inputs, Tensor) or inputs.dim() != 2 or inputs.shape[1] != w_in.shape[1]:
            raise ValueError(f"inputs must be (B, n_in={w_in.shape[1]}), got {_shape(inputs)}")
        with torch.no_grad():
            w, w_in, b = (t.detach().to(dtype=dtype).clone() for t in (w, w_in, b))
            x = inputs.detach().to(dtype=dtype, device=w.device)
            drive = x @ w_in.T + b
        return cls(weight=w, drive=drive, alpha=alpha, inputs=x)

    # ------------------------------------------------------------------ shape
    @property
    def n_units(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_conditions(self) -> int:
        return int(self.drive.shape[0])

    @property
    def dtype(self) -> torch.dtype:
        return self.weight.dtype

    def select(self, index: Tensor | Sequence[int]) -> FrozenInputMap:
        """The map whose row i is this map's row ``index[i]`` (conditions may repeat)."""
        idx = torch.as_tensor(index, dtype=torch.long, device=self.drive.device).reshape(-1)
        if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= self.n_conditions):
            raise ValueError(f"index must lie in 0..{self.n_conditions - 1}")
        x = None if self.inputs is None else self.inputs[idx]
        return FrozenInputMap(self.weight, self.drive[idx], self.alpha, x)

    def tile(self, repeats: int) -> FrozenInputMap:
        """Each condition ``repeats`` times in a row: row b·repeats + r is condition b, start r."""
        if repeats < 1:
            raise ValueError(f"repeats must be ≥ 1, got {repeats}")
        return self.select(torch.arange(self.n_conditions).repeat_interleave(repeats))

    # ------------------------------------------------------------------ the map
    def preactivation(self, h: Tensor) -> Tensor:
        """W h + u for states (B, N)."""
        # addmm adds u inside the GEMM: one pass over (B, N) less than `h @ W.T + u`.
        return torch.addmm(self.drive, h, self.weight.T)

    def step(self, h: Tensor) -> Tensor:
        """F(h) for states (B, N)."""
        new = self.preactivation(h).relu_()  # in place: the pre-activation is a fresh tensor
        if self.alpha == 1.0:
            return new
        return (1 - self.alpha) * h + self.alpha * new

    def iterate(self, h: Tensor, n_steps: int) -> Tensor:
        """F applied ``n_steps`` times to states (B, N)."""
        for _ in range(n_steps):
            h = self.step(h)
        return h

    def trajectory(self, h: Tensor, n_steps: int) -> Tensor:
        """The states F(h), …, Fⁿ(h) as (n_steps, B, N)."""
        states = []
        for _ in range(n_steps):
            h = self.step(h)
            states.append(h)
        return torch.stack(states) if states else h.new_zeros(0, *h.shape)

    def active(self, h: Tensor) -> Tensor:
        """The activation pattern D(h): pre-activation > 0, (B, N) bool."""
        return self.preactivation(h) > 0

    def jacobian(self, h: Tensor) -> Tensor:
        """J(h) = (1 − α) I + α D(h) W for states (B, N) → (B, N, N)."""
        mask = self.active(h).to(h.dtype)
        jac = self.alpha * mask.unsqueeze(-1) * self.weight
        if self.alpha != 1.0:
            jac = jac + (1 - self.alpha) * torch.eye(self.n_units, dtype=h.dtype, device=h.device)
        return jac

    def tangent_from_next(self, h: Tensor, v: Tensor, fh: Tensor) -> Tensor:
        """:meth:`tangent` given ``fh = F(h)``, with three required arguments: the form that
        ``cogdyn.dynamics.lyapunov.make_propagator`` feeds F(x) to."""
        return self.tangent(h, v, fh)

    def tangent(self, h: Tensor, v: Tensor, fh: Tensor | None = None) -> Tensor:
        """J(h) V for states (B, N) and tangent frames V (B, N, k), as α D(h)(W V) + (1 − α) V.

        Never forms the (B, N, N) Jacobians. ``fh = F(h)``, if given, saves the pre-activation:
        the active set is where F(h) − (1 − α) h = α ReLU(W h + u) is > 0 (exact: an inactive
        unit adds exactly 0). The product is taken as (Vᵀ Wᵀ)ᵀ: the Lyapunov code stores V as a
        (B, N, k) view of (B, k, N) storage, so Vᵀ is contiguous and ``Vᵀ @ Wᵀ`` is a single
        (B·k, N) × (N, N) GEMM, ≈ 2.5× faster at N = 250, B ≈ 2600 than the B small
        (N, N) × (N, k) products of ``W @ V``; the result is again such a view.
        """
        if fh is None:
            mask = self.active(h)
        elif self.alpha == 1.0:
            mask = fh > 0
        else:
            mask = fh - (1 - self.alpha) * h > 0
        # Masking in place, by the bool mask itself, is ≈ 1.6× faster than a broadcast product.
        gain = mask if self.alpha == 1.0 else self.alpha * mask.to(v.dtype)
        out = (v.transpose(-1, -2) @ self.weight.T).mul_(gain.unsqueeze(-2)).transpose(-1, -2)
        if self.alpha != 1.0:
            out = out + (1 - self.alpha) * v
        return out


def _shape(x: object) -> str:
    return str(tuple(x.shape)) if isinstance(x, Tensor) else type(x).__name__


# ---------------------------------------------------------------------- task helpers
def condition_inputs(
    task: CtxDM,
    contexts: Sequence[int] | Tensor,
    coh1: Sequence[float] | Tensor,
    coh2: Sequence[float] | Tensor,
    period: int = STIMULUS,
) -> tuple[Tensor, pd.DataFrame]:
    """Frozen noise-free inputs of every (context, coh₁, coh₂) of a grid, and the grid itself.

    Conditions are ordered context-major, then coh₁, then coh₂ (row = (k·M₁ + i)·M₂ + j). With
    two choices the coherences are signed (+ toward choice 1, in %); with more, each entry of
    ``coh1``/``coh2`` is a pair (choice 1..n, unsigned coherence). Returns the inputs (K, n_in)
    float64 and a table with columns ``condition``, ``context``, ``coh_mod1``, ``coh_mod2``
    (plus ``choice_mod1``, ``choice_mod2`` for pairs) and ``period``.
    """
    ctx = _contexts(contexts)
    if period not in (0, 1, 2, 3):
        raise ValueError(f"period must be one of 0..3, got {period!r}")
    c1, c2 = (_coherences(task, c, name) for c, name in ((coh1, "coh1"), (coh2, "coh2")))
    k, i, j = torch.meshgrid(
        torch.arange(len(ctx)), torch.arange(len(c1)), torch.arange(len(c2)), indexing="ij"
    )
    k, i, j = k.reshape(-1), i.reshape(-1), j.reshape(-1)
    inputs = task.frozen_input(ctx[k], c1[i], c2[j], period)
    table = pd.DataFrame({"condition": range(len(k)), "context": ctx[k].numpy()})
    for m, (c, idx) in enumerate(((c1, i), (c2, j)), start=1):
        if c.dim() == 2:
            table[f"choice_mod{m}"] = c[idx, 0].long().numpy()
            table[f"coh_mod{m}"] = c[idx, 1].numpy()
        else:
            table[f"coh_mod{m}"] = c[idx].numpy()
    table["period"] = period
    return inputs, table


def _contexts(contexts: Sequence[int] | Tensor) -> Tensor:
    """Validated context ids (K,) int64 from a list, tensor, array or pandas column."""
    raw = contexts if isinstance(contexts, Tensor) else torch.as_tensor(np.array(contexts))
    ctx = raw.reshape(-1)
    if len(ctx) == 0 or ctx.is_floating_point() or not bool(((ctx == 0) | (ctx == 1)).all()):
        raise ValueError(f"contexts must be a non-empty list of 0/1, got {contexts!r}")
    return ctx.long()


def _coherences(task: CtxDM, c: Sequence[float] | Tensor, name: str) -> Tensor:
    """Validated coherences: (M,) signed for two choices, (M, 2) (choice, coherence) pairs."""
    c = torch.as_tensor(c, dtype=torch.float64)
    n = task.config.dim_ring
    pairs = c.dim() == 2 and c.shape[1] == 2 and len(c) > 0
    if not pairs and (c.dim() != 1 or len(c) == 0 or n != 2):
        raise ValueError(
            f"{name} must be a non-empty list of signed coherences (2 choices) or of "
            f"(choice, coherence) pairs, got shape {tuple(c.shape)} with dim_ring={n}"
        )
    coh = c[:, 1] if pairs else c
    if not bool(torch.isfinite(coh).all()) or float(coh.abs().max()) > 100:
        raise ValueError(f"{name} must be coherences within [−100, 100] %")
    if pairs and not bool(((c[:, 0] >= 1) & (c[:, 0] <= n) & (c[:, 0] % 1 == 0)).all()):
        raise ValueError(f"{name}: choices must be integers in 1..{n}")
    return c


def shortest_steps(task: CtxDM, period: str) -> int:
    """Steps of a period (``fixation``, ``stimulus``, ``delay`` or ``decision``); a random
    duration counts with its lowest value."""
    cfg = task.config
    lowest = getattr(cfg, period).lowest
    return int(to_steps(torch.tensor([lowest], dtype=torch.float64), cfg.dt)[0])


def fixation_steps(task: CtxDM) -> int:
    """Steps of the fixation period; a random duration counts with its lowest value."""
    return shortest_steps(task, "fixation")


def stimulus_onset_states(
    model: Any,
    task: CtxDM,
    contexts: Sequence[int] | Tensor,
    dtype: torch.dtype = torch.float64,
) -> Tensor:
    """The network's hidden state at stimulus onset for each context, (K, N) in ``dtype``.

    The state after the fixation period of a real trial, from h₀ = 0: the fixation-period input
    carries no noise, so this is exact. A random fixation duration counts with its lowest value
    (a longer one continues the same autonomous map for a few more steps).
    """
    ctx = _contexts(contexts)
    n_ring = task.config.dim_ring
    # The stimulus part of the fixation input is zero whatever the coherences.
    if n_ring == 2:
        coh: Tensor = torch.zeros(len(ctx), dtype=torch.float64)
    else:
        coh = torch.tensor([[1.0, 0.0]], dtype=torch.float64).expand(len(ctx), 2)
    inputs = task.frozen_input(ctx, coh, coh, FIXATION)
    fmap = FrozenInputMap.from_model(model, inputs, dtype)
    h0 = torch.zeros(len(ctx), fmap.n_units, dtype=dtype, device=fmap.weight.device)
    return fmap.iterate(h0, fixation_steps(task))


def end_of_stimulus_states(
    model: Any, task: CtxDM, batch: TrialBatch, dtype: torch.dtype = torch.float64
) -> Tensor:
    """Hidden states (B, N) after the last stimulus step of each (noisy) trial of ``batch``.

    The model runs in its own precision on the batch's real inputs (as in training); the states
    are returned in ``dtype``. Trial b's condition and correct choice are in ``batch.info``.
    """
    if batch.inputs.shape[-1] != task.n_inputs:
        raise ValueError(
            f"batch has {batch.inputs.shape[-1]} inputs but the task has {task.n_inputs}"
        )
    in_stim = batch.periods == STIMULUS
    if not bool(in_stim.any(dim=0).all()):
        raise ValueError("batch: every trial must have at least one stimulus step")
    n_steps = in_stim.shape[0]
    # Index of the last stimulus step: the first True of the time-reversed mask.
    last = n_steps - 1 - torch.argmax(in_stim.flip(0).to(torch.uint8), dim=0)
    param = next(model.parameters())
    with torch.no_grad():
        states = model.run(batch.inputs.to(dtype=param.dtype, device=param.device))
    rows = torch.arange(states.shape[1], device=states.device)
    return states[last.to(states.device), rows].to(dtype)
