"""Running the RNN on packed trials: only the steps inside each trial are computed.

Trials in a batch differ in length (CtxDM: mean 19 steps, padded to up to 40), so a padded run
wastes about half its work. :class:`Packing` lays the trials out like torch's ``PackedSequence``
and :func:`run_packed` runs :class:`~cogdyn.models.VanillaRNN`'s exact network on them, with a
hand-written backward pass that is cheaper than autograd's through a per-step loop. PPO and
supervised training both use it; tests compare states and gradients with ``VanillaRNN.run``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from cogdyn.models.rnn import VanillaRNN


@dataclass(frozen=True)
class Packing:
    """Trials of different lengths laid out like torch's ``PackedSequence``, time-major.

    The M rows hold, for t = 0, 1, ..., the trials still running at step t, longest first:
    ``sizes[t]`` rows for step t, which are the first ``sizes[t]`` rows of step t − 1 carried on.
    ``steps[r]`` and ``trials[r]`` give the (step, trial) of row r, so ``steps * B + trials``
    indexes any flattened time-major (T, B) tensor.
    """

    steps: Tensor
    trials: Tensor
    sizes: list[int]

    @staticmethod
    def of(lengths: Tensor) -> Packing:
        """Packing of trials with these lengths (each ≥ 1)."""
        lengths = lengths.cpu()
        order = torch.argsort(lengths, descending=True, stable=True)
        n_steps = int(lengths[order[0]])
        inside = torch.arange(n_steps).unsqueeze(1) < lengths[order].unsqueeze(0)  # (T, B)
        steps = torch.arange(n_steps).unsqueeze(1).expand_as(inside)[inside]
        trials = order.unsqueeze(0).expand_as(inside)[inside]
        return Packing(steps, trials, inside.sum(1).tolist())

    def flat_index(self, n_trials: int) -> Tensor:
        """Row → position in a flattened (T, n_trials) tensor."""
        return self.steps * n_trials + self.trials


class _PackedRNN(torch.autograd.Function):
    """h_t = (1 − α) h_{t−1} + α ReLU(W h_{t−1} + W_in x_t + b) over packed rows, h₀ = 0.

    Exactly the network of :class:`~cogdyn.models.VanillaRNN` (tests compare states and
    gradients with ``model.run``), computed only on the steps inside each trial. Why not torch's
    packed RNN: its autograd graph adds a full-size gradient buffer per step and needs a padded
    copy of the states, which cost more than the matrix products here. This backward pass makes
    one small product per step (∂L/∂h_{t−1}) and forms the weight gradients as three large
    products over all rows at the end.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: Tensor,
        w_ih: Tensor,
        w_hh: Tensor,
        bias: Tensor,
        sizes: list[int],
        alpha: float,
    ) -> Tensor:
        pre = torch.addmm(bias, x, w_ih.t())  # input drive of every row, one product
        h = torch.empty_like(pre)
        start = [0]
        for k in sizes:
            start.append(start[-1] + k)
        for t, k in enumerate(sizes):
            cur = slice(start[t], start[t] + k)
            if t:
                prev = h[start[t - 1] : start[t - 1] + k]
                pre[cur].addmm_(prev, w_hh.t())
            if alpha == 1.0:
                torch.clamp_min(pre[cur], 0.0, out=h[cur])
            else:
                h[cur] = alpha * torch.relu(pre[cur])
                if t:
                    h[cur] += (1 - alpha) * prev
        ctx.save_for_backward(x, w_ih, w_hh, h, pre)
        ctx.start, ctx.sizes, ctx.alpha = start, sizes, alpha
        return h

    @staticmethod
    def backward(ctx: Any, grad_h: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        x, w_ih, w_hh, h, pre = ctx.saved_tensors
        start, sizes, alpha = ctx.start, ctx.sizes, ctx.alpha
        grad_pre = torch.empty_like(pre)
        h_prev = torch.zeros_like(h)  # h_{t−1} of every row, for the weight gradient
        carry: Tensor | None = None  # ∂L/∂h_t through step t + 1 (its first sizes[t+1] rows)
        for t in reversed(range(len(sizes))):
            k = sizes[t]
            cur = slice(start[t], start[t] + k)
            g = grad_h[cur]
            if carry is not None:
                g = g.clone()
                g[: carry.shape[0]] += carry
            d = grad_pre[cur]
            torch.mul(g, pre[cur] > 0, out=d)
            if alpha != 1.0:
                d.mul_(alpha)
            if t:
                prev = slice(start[t - 1], start[t - 1] + k)
                h_prev[cur] = h[prev]
                carry = d @ w_hh
                if alpha != 1.0:
                    carry += (1 - alpha) * g
        grad_x = grad_pre @ w_ih if ctx.needs_input_grad[0] else None
        return grad_x, grad_pre.t() @ x, grad_pre.t() @ h_prev, grad_pre.sum(0), None, None


def run_packed(model: VanillaRNN, x: Tensor, packing: Packing) -> Tensor:
    """Hidden states (M, N) of packed input rows (M, n_in), every trial from h₀ = 0."""
    return _PackedRNN.apply(
        x,
        model.weight_ih_l0,
        model.weight_hh_l0,
        model.bias_ih_l0 + model.bias_hh_l0,
        packing.sizes,
        model.alpha,
    )


def run_trials(model: VanillaRNN, inputs: Tensor, lengths: Tensor) -> Tensor:
    """Hidden states (T, B, N) of padded trials, each from h₀ = 0, and 0 past each trial's end.

    The same states as ``model.run(inputs)`` on every step inside a trial, computed the way PPO
    computes them (packed). Mostly for tests and inspection; PPO itself stays packed.
    """
    n_steps, n_trials, n_in = inputs.shape
    packing = Packing.of(lengths)
    pos = packing.flat_index(n_trials).to(inputs.device)
    rows = run_packed(model, inputs.reshape(-1, n_in)[pos], packing)
    out = rows.new_zeros(n_steps * n_trials, rows.shape[-1])
    return out.index_copy(0, pos, rows).view(n_steps, n_trials, -1)
