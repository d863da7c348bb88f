"""The frozen-input map of a trained ReLU RNN, and the states it is started from.

During a trial phase the input is constant (up to noise), so holding the noise-free input x of a
condition fixed turns the network into an autonomous map

    F(h) = (1 − α) h + α ReLU(W h + u),   u = W_in x + b.

:class:`FrozenInputMap` holds W and one drive u per condition (a row), so a whole grid of
conditions is one batched map. Its Jacobian is analytic, J(h) = (1 − α) I + α D(h) W with
D(h) = diag(W h + u > 0), and :meth:`FrozenInputMap.tangent` applies it to a tangent frame without
ever forming the (B, N, N) Jacobians — the fast path of Lyapunov exponents.

The CtxDM conditions a census holds the input at, and the states it starts from, are the
study's view of the task: :mod:`cogdyn.analysis.conditions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor


def _model_weights(model: Any) -> tuple[Tensor, Tensor, Tensor, float]:
    """(W, W_in, b, α) of a VanillaRNN or a one-layer ``torch.nn.RNN(nonlinearity="relu")``."""
    other = "; for any other network use cogdyn.dynamics.frozen_input_map (its step function)"
    mode = getattr(model, "mode", "RNN_RELU")  # torch.nn.RNNBase: RNN_TANH, GRU, LSTM, ...
    if getattr(model, "nonlinearity", "relu") != "relu" or mode != "RNN_RELU":
        kind = getattr(model, "nonlinearity", None) or type(model).__name__
        raise ValueError(f"FrozenInputMap is the map of a ReLU RNN, got {kind}{other}")
    try:
        w, w_in = model.weight_hh_l0, model.weight_ih_l0
    except AttributeError as err:
        raise ValueError(
            f"FrozenInputMap is the map of a ReLU RNN (weight_hh_l0, weight_ih_l0), got "
            f"{type(model).__name__}{other}"
        ) from err
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

    float32_tangents = True
    """:meth:`tangent` takes a float32 frame for float64 states (the active set is the states',
    W is used in float32): what :func:`~cogdyn.dynamics.classify.classify_map` checks before
    holding its Lyapunov frame in float32 (``ClassifyOptions.tangent_dtype``)."""

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

    @property
    def device(self) -> torch.device:
        """The device of the map's tensors."""
        return self.weight.device

    def to(
        self, device: torch.device | str | None = None, *, dtype: torch.dtype | None = None
    ) -> FrozenInputMap:
        """The same map with its tensors on ``device`` and/or in ``dtype`` (None: unchanged)."""

        def move(t: Tensor) -> Tensor:
            return t.to(device=device, dtype=dtype)

        x = None if self.inputs is None else move(self.inputs)
        return FrozenInputMap(move(self.weight), move(self.drive), self.alpha, x)

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
        # In place: the pre-activation is a fresh tensor.
        return self._leak(h, self.preactivation(h).relu_())

    def step_from_preactivation(self, h: Tensor, pre: Tensor) -> Tensor:
        """F(h) given ``pre`` = :meth:`preactivation` (h), for a caller that also needs the
        pattern ``pre > 0``; ``pre`` is left unchanged."""
        return self._leak(h, pre.relu())

    def _leak(self, h: Tensor, rectified: Tensor) -> Tensor:
        """(1 − α) h + α ReLU(W h + u) from its rectified pre-activation."""
        if self.alpha == 1.0:
            return rectified
        return (1 - self.alpha) * h + self.alpha * rectified

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

        V may be float32 for float64 states (:attr:`float32_tangents`): the active set comes
        from the states, the product is taken in V's dtype.

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
        out = (v.transpose(-1, -2) @ self._weight_t(v.dtype)).mul_(gain.unsqueeze(-2))
        out = out.transpose(-1, -2)
        if self.alpha != 1.0:
            out = out + (1 - self.alpha) * v
        return out

    def _weight_t(self, dtype: torch.dtype) -> Tensor:
        """Wᵀ in ``dtype`` (the frame's), cast once per map and dtype."""
        if dtype == self.weight.dtype:
            return self.weight.T
        cache = self.__dict__.setdefault("_cast", {})  # frozen: not through __setattr__
        if dtype not in cache:
            cache[dtype] = self.weight.T.to(dtype)
        return cache[dtype]


def _shape(x: object) -> str:
    return str(tuple(x.shape)) if isinstance(x, Tensor) else type(x).__name__
