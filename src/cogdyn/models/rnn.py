"""The vanilla ReLU RNN shared by supervised and reinforcement learning.

    h_t = (1 − α) h_{t−1} + α ReLU(W h_{t−1} + W_in x_t + b),  b = b_ih + b_hh

Parameters carry ``torch.nn.RNN``'s names (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``,
``bias_hh_l0``), so a saved model loads into ``torch.nn.RNN(nonlinearity="relu")`` as it is. The
readout gives class logits (SL) and policy logits (RL) alike; ``value`` is the critic of PPO.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from cogdyn.config import ModelConfig
from cogdyn.memory import FLOAT32, require_memory, rnn_parameters


class VanillaRNN(nn.Module):
    """Vanilla leaky ReLU RNN with a linear readout and a linear value head."""

    def __init__(
        self,
        n_inputs: int,
        n_outputs: int,
        config: ModelConfig | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.config = config or ModelConfig()
        n = self.config.hidden
        # Refuse a network larger than the machine's memory before allocating it.
        need = FLOAT32 * rnn_parameters(n, n_inputs, n_outputs)
        require_memory(need, "model.hidden", f"a network of {n} units", "lower model.hidden")
        self.n_inputs, self.n_outputs, self.hidden = n_inputs, n_outputs, n
        self.alpha = float(self.config.alpha)
        self.weight_ih_l0 = nn.Parameter(torch.empty(n, n_inputs))
        self.weight_hh_l0 = nn.Parameter(torch.empty(n, n))
        self.bias_ih_l0 = nn.Parameter(torch.zeros(n))
        self.bias_hh_l0 = nn.Parameter(torch.zeros(n))
        self.readout = nn.Linear(n, n_outputs)
        self.value = nn.Linear(n, 1)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """W, W_in ~ U(−δ, δ); readout and value weights ~ U(−s, s); all biases 0."""
        d, s = self.config.delta, self.config.readout_scale
        with torch.no_grad():
            for p, scale in (
                (self.weight_ih_l0, d),
                (self.weight_hh_l0, d),
                (self.readout.weight, s),
                (self.value.weight, s),
            ):
                p.copy_((torch.rand(p.shape, generator=generator) * 2 - 1) * scale)
            for p in (self.bias_ih_l0, self.bias_hh_l0, self.readout.bias, self.value.bias):
                p.zero_()

    @property
    def bias(self) -> Tensor:
        return self.bias_ih_l0 + self.bias_hh_l0

    def preactivation(self, h: Tensor, x: Tensor) -> Tensor:
        """W h + W_in x + b for states (..., N) and inputs (..., n_in)."""
        return h @ self.weight_hh_l0.T + x @ self.weight_ih_l0.T + self.bias

    def step(self, h: Tensor, x: Tensor) -> Tensor:
        """One update of states (B, N) under inputs (B, n_in)."""
        new = torch.relu(self.preactivation(h, x))
        if self.alpha == 1.0:
            return new
        return (1 - self.alpha) * h + self.alpha * new

    def run(self, inputs: Tensor, h0: Tensor | None = None) -> Tensor:
        """All hidden states (T, B, N) for inputs (T, B, n_in), starting from h0 (default 0).

        With α = 1 this calls torch's fused RNN kernel (the same as ``torch.nn.RNN``); otherwise
        it loops over time with the input projection precomputed for all steps.
        """
        t, b, _ = inputs.shape
        if h0 is None:
            h0 = inputs.new_zeros(b, self.hidden)
        if self.alpha == 1.0:
            out, _ = torch._VF.rnn_relu(
                inputs,
                h0.unsqueeze(0),
                [self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0],
                True,  # has biases
                1,  # layers
                0.0,  # dropout
                self.training,
                False,  # bidirectional
                False,  # batch_first
            )
            return out
        drive = inputs @ self.weight_ih_l0.T + self.bias
        h, states = h0, []
        for k in range(t):
            h = (1 - self.alpha) * h + self.alpha * torch.relu(drive[k] + h @ self.weight_hh_l0.T)
            states.append(h)
        return torch.stack(states)

    def forward(self, inputs: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Hidden states (T, B, N) and readout logits (T, B, n_outputs)."""
        states = self.run(inputs, h0)
        return states, self.readout(states)

    def jacobian(self, h: Tensor, x: Tensor) -> Tensor:
        """Analytic Jacobian ∂h'/∂h = (1 − α) I + α D(h) W, D = diag(pre-activation > 0).

        ``h`` (B, N), ``x`` (B, n_in) → (B, N, N).
        """
        active = (self.preactivation(h, x) > 0).to(h.dtype)
        jac = self.alpha * active.unsqueeze(-1) * self.weight_hh_l0.to(h.dtype)
        if self.alpha != 1.0:
            jac = jac + (1 - self.alpha) * torch.eye(self.hidden, dtype=h.dtype, device=h.device)
        return jac
