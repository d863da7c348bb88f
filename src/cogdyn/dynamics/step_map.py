"""The frozen-input map of any recurrent network with a step function, and its fixed points.

:class:`~cogdyn.dynamics.maps.FrozenInputMap` is the map of a ReLU RNN, with an analytic
tangent and exact fixed points by activation pattern. Any other network — a tanh RNN, a GRU, an
LSTM (state [h, c]), a leaky RNN — that has ``step(h, x)`` (states (B, D), inputs (B, n_in) →
next states) gets :class:`StepMap`:

    F_b(h) = step(h, x_b),  one frozen input x_b per condition (row),

with the same shape methods (``select``, ``tile``, ``step``, ``iterate``, ``trajectory``) so the
census and the fixed-point analyses take either. It has no analytic tangent: ``classify_map``
differentiates ``step`` with ``torch.func`` (and :meth:`StepMap.jacobian` builds J by reverse
mode), which is why ``step`` must be made of pure torch ops.

:func:`frozen_input_map` picks the map for a model: the exact ReLU one where it applies
(:func:`is_relu_rnn`), :class:`StepMap` otherwise. :func:`search_fixed_points` finds fixed points
of a :class:`StepMap` with the optimisation finder (:mod:`cogdyn.dynamics.fp_search`) from the
states its orbits visit — the counterpart of ReLU's
:func:`~cogdyn.dynamics.relu_solver.fixed_points_from_states`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from cogdyn.dynamics.fixed_points import FixedPoints, dedupe, state_conditions
from cogdyn.dynamics.fp_search import find_fixed_points
from cogdyn.dynamics.maps import FrozenInputMap


def is_relu_rnn(model: Any) -> bool:
    """Whether ``model`` is a ReLU RNN h' = (1 − α) h + α ReLU(W h + W_in x + b) whose weights
    :class:`~cogdyn.dynamics.maps.FrozenInputMap` reads (cogdyn's VanillaRNN, a one-layer
    ``torch.nn.RNN(nonlinearity="relu")``): the networks with exact fixed points and the
    population analyses."""
    mode = getattr(model, "mode", None)
    if isinstance(mode, str):  # a torch.nn.RNNBase
        return mode == "RNN_RELU" and model.num_layers == 1 and not model.bidirectional
    w = getattr(model, "weight_hh_l0", None)
    return isinstance(w, Tensor) and getattr(model, "nonlinearity", "relu") == "relu"


def network_kind(model: Any) -> str:
    """A short name of a model's architecture for messages (``gru``, ``relu rnn``, …)."""
    kind = getattr(model, "kind", None)
    if isinstance(kind, str):
        return kind
    return "relu rnn" if is_relu_rnn(model) else type(model).__name__


def relu_only(what: str, model: Any) -> None:
    """Raise a one-line ValueError unless ``model`` is a ReLU RNN (:func:`is_relu_rnn`)."""
    if not is_relu_rnn(model):
        raise ValueError(
            f"{what} needs a ReLU RNN (cogdyn's VanillaRNN or torch.nn.RNN(nonlinearity='relu')); "
            f"this network is a {network_kind(model)}"
        )


@dataclass(frozen=True, eq=False)
class StepMap:
    """F(h) = ``net.step(h, x)`` with one frozen input x per condition (row).

    net:    the network, a detached copy in the map's dtype (its ``step(h, x)`` is used).
    inputs: the frozen inputs x (B, n_in): row b is condition b. States passed to the methods
            are (B, D) (row b evolves under input b); a map with a single row takes any (S, D).
    n_units: D, the size of the state.

    Build it with :meth:`from_model`.
    """

    net: nn.Module
    inputs: Tensor
    n_units: int

    @classmethod
    def from_model(cls, model: Any, inputs: Tensor, dtype: torch.dtype = torch.float64) -> StepMap:
        """The map of ``model`` (anything with ``step(h, x)`` and ``hidden``, the state size)
        under frozen ``inputs`` (B, n_in), on a copy of the model in ``dtype`` (float64 by
        default, as the classification needs)."""
        if not callable(getattr(model, "step", None)) or not isinstance(
            getattr(model, "hidden", None), int
        ):
            raise ValueError(
                f"{type(model).__name__} has no step(h, x) and hidden (the state size); a torch "
                "RNN/GRU/LSTM becomes such a model with cogdyn.interop.from_torch"
            )
        n_in = getattr(model, "n_inputs", None)
        if not isinstance(inputs, Tensor) or inputs.dim() != 2:
            raise ValueError(f"inputs must be (B, n_in), got {_shape(inputs)}")
        if n_in is not None and inputs.shape[1] != n_in:
            raise ValueError(f"inputs must be (B, n_in={n_in}), got {_shape(inputs)}")
        net = copy.deepcopy(model).to(dtype)
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        param = next(net.parameters(), None)
        device = param.device if param is not None else inputs.device
        x = inputs.detach().to(dtype=dtype, device=device)
        return cls(net=net, inputs=x, n_units=int(model.hidden))

    # ------------------------------------------------------------------ shape
    @property
    def n_conditions(self) -> int:
        """Number of rows (frozen inputs)."""
        return int(self.inputs.shape[0])

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the map."""
        return self.inputs.dtype

    @property
    def device(self) -> torch.device:
        """The device of the map's tensors."""
        return self.inputs.device

    def select(self, index: Tensor | Sequence[int]) -> StepMap:
        """The map whose row i is this map's row ``index[i]`` (conditions may repeat)."""
        idx = torch.as_tensor(index, dtype=torch.long, device=self.inputs.device).reshape(-1)
        if len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= self.n_conditions):
            raise ValueError(f"index must lie in 0..{self.n_conditions - 1}")
        return StepMap(self.net, self.inputs[idx], self.n_units)

    def tile(self, repeats: int) -> StepMap:
        """Each condition ``repeats`` times in a row: row b·repeats + r is condition b, start r."""
        if repeats < 1:
            raise ValueError(f"repeats must be ≥ 1, got {repeats}")
        return self.select(torch.arange(self.n_conditions).repeat_interleave(repeats))

    # ------------------------------------------------------------------ the map
    def _x(self, h: Tensor) -> Tensor:
        if self.n_conditions == 1 and h.shape[0] != 1:
            return self.inputs.expand(h.shape[0], -1)
        return self.inputs

    def step(self, h: Tensor) -> Tensor:
        """F(h) for states (B, D)."""
        return self.net.step(h, self._x(h))

    def iterate(self, h: Tensor, n_steps: int) -> Tensor:
        """F applied ``n_steps`` times to states (B, D)."""
        with torch.no_grad():
            for _ in range(n_steps):
                h = self.step(h)
        return h

    def trajectory(self, h: Tensor, n_steps: int) -> Tensor:
        """The states F(h), …, Fⁿ(h) as (n_steps, B, D)."""
        states = []
        with torch.no_grad():
            for _ in range(n_steps):
                h = self.step(h)
                states.append(h)
        return torch.stack(states) if states else h.new_zeros(0, *h.shape)

    def jacobian(self, h: Tensor) -> Tensor:
        """J(h) (B, D, D) of each row's map at states (B, D), by reverse mode (``torch.func``)."""
        x = self._x(h)

        def one(hh: Tensor, xx: Tensor) -> Tensor:
            return self.net.step(hh.unsqueeze(0), xx.unsqueeze(0)).squeeze(0)

        return torch.func.vmap(torch.func.jacrev(one))(h.detach(), x).detach()


def frozen_input_map(
    model: Any, inputs: Tensor, dtype: torch.dtype = torch.float64
) -> FrozenInputMap | StepMap:
    """The frozen-input map of ``model`` under ``inputs`` (B, n_in): the exact ReLU
    :class:`~cogdyn.dynamics.maps.FrozenInputMap` for a ReLU RNN (:func:`is_relu_rnn`), else a
    :class:`StepMap` of its ``step(h, x)``."""
    if is_relu_rnn(model):
        return FrozenInputMap.from_model(model, inputs, dtype)
    return StepMap.from_model(model, inputs, dtype)


def search_fixed_points(
    fmap: StepMap,
    states: Tensor,
    conditions: Tensor | None = None,
    *,
    n_steps: int = 200,
    max_per_condition: int = 32,
    n_iter: int = 300,
    newton_every: int = 100,
    newton_steps: int = 10,
    tol: float = 1e-14,
    dedup_tol: float = 1e-6,
    stability_tol: float = 1e-6,
    seed: int = 0,
) -> FixedPoints:
    """Fixed points of a :class:`StepMap` near the orbits of ``states`` (S, D).

    Each state is iterated ``n_steps`` steps under its condition's row (``conditions`` (S,);
    default as for :func:`~cogdyn.dynamics.fixed_points.basins`). The starts of the
    optimisation finder (:func:`~cogdyn.dynamics.fp_search.find_fixed_points`: Adam on
    ½‖F(h) − h‖² for ``n_iter`` steps, Newton polish every ``newton_every``) are, per
    condition, the distinct end points of those orbits (attractors, visited most) and then
    states drawn from their middle and first halves (where orbits pass saddles), up to
    ``max_per_condition``, drawn with a generator seeded by ``seed``. Points are de-duplicated
    per condition within ``dedup_tol``; stability from the autograd Jacobian. Like any finder of
    this kind it is not exhaustive: a point no orbit comes near is not found.
    """
    if not isinstance(fmap, StepMap):
        raise ValueError(
            f"search_fixed_points takes a StepMap; a ReLU FrozenInputMap has exact fixed points "
            f"(relu_solver.fixed_points_from_states), got {type(fmap).__name__}"
        )
    cond = state_conditions(fmap, states, conditions)  # type: ignore[arg-type]
    if max_per_condition < 1 or n_steps < 0:
        raise ValueError("max_per_condition must be ≥ 1 and n_steps ≥ 0")
    h = states.detach().to(fmap.dtype)
    sub = fmap.select(cond)
    marks = sorted({n_steps, n_steps // 2, n_steps // 4, 0})
    snapshots: dict[int, Tensor] = {}
    with torch.no_grad():
        for t in range(n_steps + 1):
            if t in marks:
                snapshots[t] = h
            if t < n_steps:
                h = sub.step(h)
    gen = torch.Generator().manual_seed(seed)
    seeds, seed_cond = [], []
    for c in torch.unique(cond).tolist():
        rows = torch.nonzero(cond == c).reshape(-1)
        chosen = []
        for t in reversed(marks):  # end points first, then earlier states in random order
            pts = snapshots[t][rows]
            ok = torch.isfinite(pts).all(-1)
            pts = pts[ok]
            if not len(pts):
                continue
            if t != n_steps:
                pts = pts[torch.randperm(len(pts), generator=gen)]
            else:
                pts = pts[dedupe(pts, torch.zeros(len(pts), dtype=torch.long), 1e-4, None)]
            chosen.append(pts)
        picked = torch.cat(chosen)[:max_per_condition]
        seeds.append(picked)
        seed_cond.append(torch.full((len(picked),), c, dtype=torch.long))
    starts, start_cond = torch.cat(seeds), torch.cat(seed_cond)
    rows_map = fmap.select(start_cond)
    return find_fixed_points(
        rows_map.step,
        starts,
        jacobian=rows_map.jacobian,
        conditions=start_cond,
        n_iter=n_iter,
        newton_every=newton_every,
        newton_steps=newton_steps,
        tol=tol,
        dedup_tol=dedup_tol,
        stability_tol=stability_tol,
        seed=seed,
    )


def _shape(x: object) -> str:
    return str(tuple(x.shape)) if isinstance(x, Tensor) else type(x).__name__
