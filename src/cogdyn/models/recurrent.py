"""Recurrent networks brought from elsewhere: one-layer ``torch.nn.RNN`` (tanh or ReLU, with an
optional leak), ``torch.nn.GRU`` and ``torch.nn.LSTM``, each with a readout, in the shape cogdyn's
analyses read.

A :class:`RecurrentNet` behaves like :class:`~cogdyn.models.VanillaRNN` where the analyses look:

* ``step(h, x)`` — one update of the *state* (B, D) under inputs (B, n_in);
* ``run(inputs, h0)`` — all states (T, B, D) of time-major inputs (T, B, n_in), h₀ = 0;
* ``forward(inputs)`` — ``(states, logits)``; ``readout(states)`` — logits of any states;
* ``hidden`` — D, the size of the state.

The state is what the dynamics are a map of: h for the RNN and the GRU (D = N); for the LSTM
the pair (h, c) laid side by side, ``state = [h, c]`` (D = 2N, units 0…N−1 are h, N…2N−1 the
cell). The readout reads h only (``state[..., :N]``), so it sees what the torch module outputs.

Weights keep torch's names under ``core.`` (``core.weight_ih_l0``, …) and the readout's under
``readout.net.<i>.``; :meth:`RecurrentNet.spec` is what rebuilds the module (it goes into the
safetensors sidecar as ``"arch"`` and friends: :func:`model_from_state`). A ReLU ``nn.RNN``
with a linear readout is cogdyn's own :class:`~cogdyn.models.VanillaRNN`; importing it as such
(:func:`cogdyn.interop.from_torch` does) keeps the exact ReLU analyses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

ARCHS: tuple[str, ...] = ("rnn", "gru", "lstm")
"""Architectures of :class:`RecurrentNet` (the ``arch`` of a sidecar)."""
NONLINEARITIES: tuple[str, ...] = ("tanh", "relu")
"""Nonlinearities of the ``rnn`` architecture."""
ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}
"""Activations a readout may have between its linear layers."""
_LAYER_NAMES = {cls: name for name, cls in ACTIVATIONS.items()}


class StateReadout(nn.Module):
    """Logits from a state: an MLP (``net``: linear layers, optionally with activations between
    them) applied to the first ``n_units`` coordinates of the state (h of an LSTM's [h, c])."""

    def __init__(self, n_units: int, net: nn.Sequential) -> None:
        super().__init__()
        self.n_units = n_units
        self.net = net

    @property
    def out_features(self) -> int:
        """Number of logits."""
        return int(self.layers_of(self.net)[-1][1])

    @staticmethod
    def layers_of(net: nn.Sequential) -> list[tuple[str, int]]:
        """``(kind, out_features)`` of each layer: ``linear`` or an activation name."""
        out = []
        for layer in net:
            if isinstance(layer, nn.Linear):
                out.append(("linear", layer.out_features))
            else:
                out.append((_LAYER_NAMES[type(layer)], out[-1][1] if out else 0))
        return out

    def spec(self) -> list[str]:
        """The layer kinds, e.g. ``["linear", "tanh", "linear"]``."""
        return [kind for kind, _ in self.layers_of(self.net)]

    def forward(self, state: Tensor) -> Tensor:
        """Logits (..., n_out) of states (..., D)."""
        return self.net(state[..., : self.n_units])


def readout_net(layers: Sequence[str], sizes: Sequence[tuple[int, int]]) -> nn.Sequential:
    """An ``nn.Sequential`` of ``layers`` (``linear`` or an activation of :data:`ACTIVATIONS`);
    ``sizes`` holds (in, out) of each linear layer, in order."""
    modules: list[nn.Module] = []
    shapes = iter(sizes)
    for kind in layers:
        if kind == "linear":
            n_in, n_out = next(shapes)
            modules.append(nn.Linear(n_in, n_out))
        elif kind in ACTIVATIONS:
            modules.append(ACTIVATIONS[kind]())
        else:
            allowed = ", ".join(["linear", *ACTIVATIONS])
            raise ValueError(f"readout layer must be one of {allowed}, got {kind!r}")
    if not modules or not isinstance(modules[-1], nn.Linear):
        raise ValueError(f"a readout must end with a linear layer, got {list(layers)}")
    return nn.Sequential(*modules)


class RecurrentNet(nn.Module):
    """A one-layer RNN (tanh/ReLU, leak α), GRU or LSTM with a readout; see the module docstring.

    Args:
        arch: one of :data:`ARCHS`.
        n_inputs: input channels.
        n_units: N, units of the recurrent layer.
        n_outputs: logits of the readout.
        nonlinearity: ``tanh`` or ``relu`` (``rnn`` only).
        alpha: leak of ``rnn``, h' = (1 − α) h + α φ(W h + W_in x + b); 1 is ``torch.nn.RNN``.
        readout: the readout's layer kinds (default one linear layer).
        readout_sizes: (in, out) of each linear readout layer (default (N, n_outputs)).
    """

    def __init__(
        self,
        arch: str,
        n_inputs: int,
        n_units: int,
        n_outputs: int,
        *,
        nonlinearity: str = "tanh",
        alpha: float = 1.0,
        readout: Sequence[str] = ("linear",),
        readout_sizes: Sequence[tuple[int, int]] | None = None,
    ) -> None:
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"arch must be one of {', '.join(ARCHS)}, got {arch!r}")
        if arch == "rnn" and nonlinearity not in NONLINEARITIES:
            raise ValueError(
                f"nonlinearity must be one of {', '.join(NONLINEARITIES)}, got {nonlinearity!r}"
            )
        if not 0 < float(alpha) <= 1 or (arch != "rnn" and float(alpha) != 1.0):
            raise ValueError(f"alpha must be in (0, 1] (and 1 for {arch}), got {alpha}")
        self.arch = arch
        self.nonlinearity = nonlinearity if arch == "rnn" else None
        self.alpha = float(alpha)
        self.n_inputs, self.n_units, self.n_outputs = int(n_inputs), int(n_units), int(n_outputs)
        self.hidden = 2 * self.n_units if arch == "lstm" else self.n_units
        core: nn.RNNBase
        if arch == "rnn":
            core = nn.RNN(n_inputs, n_units, nonlinearity=nonlinearity)
        elif arch == "gru":
            core = nn.GRU(n_inputs, n_units)
        else:
            core = nn.LSTM(n_inputs, n_units)
        self.core = core
        sizes = list(readout_sizes) if readout_sizes is not None else [(n_units, n_outputs)]
        self.readout = StateReadout(self.n_units, readout_net(readout, sizes))
        if self.readout.out_features != self.n_outputs:
            raise ValueError(
                f"the readout gives {self.readout.out_features} logits, n_outputs is {n_outputs}"
            )

    # ------------------------------------------------------------------ description
    def spec(self) -> dict[str, Any]:
        """What rebuilds this module (with its state dict): JSON values."""
        sizes = [
            [m.in_features, m.out_features] for m in self.readout.net if isinstance(m, nn.Linear)
        ]
        return {
            "arch": self.arch,
            "n_inputs": self.n_inputs,
            "n_units": self.n_units,
            "n_outputs": self.n_outputs,
            "nonlinearity": self.nonlinearity,
            "alpha": self.alpha,
            "readout": self.readout.spec(),
            "readout_sizes": sizes,
        }

    @property
    def kind(self) -> str:
        """A short name: ``gru``, ``lstm``, ``rnn (tanh)``, ``leaky rnn (tanh, α=0.2)``."""
        if self.arch != "rnn":
            return self.arch
        if self.alpha == 1.0:
            return f"rnn ({self.nonlinearity})"
        return f"leaky rnn ({self.nonlinearity}, α={self.alpha:g})"

    def _weights(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        c = self.core
        return c.weight_ih_l0, c.weight_hh_l0, c.bias_ih_l0, c.bias_hh_l0

    # ------------------------------------------------------------------ the map
    def step(self, h: Tensor, x: Tensor) -> Tensor:
        """The next state (B, D) from states (B, D) under inputs (B, n_in); pure torch ops, so
        ``torch.func`` can differentiate it (the census's tangents)."""
        w_ih, w_hh, b_ih, b_hh = self._weights()
        gi = x @ w_ih.T + b_ih
        if self.arch == "rnn":
            pre = gi + h @ w_hh.T + b_hh
            new = torch.tanh(pre) if self.nonlinearity == "tanh" else torch.relu(pre)
            return new if self.alpha == 1.0 else (1 - self.alpha) * h + self.alpha * new
        if self.arch == "gru":
            gh = h @ w_hh.T + b_hh
            ir, iz, i_n = gi.chunk(3, -1)
            hr, hz, h_n = gh.chunk(3, -1)
            r = torch.sigmoid(ir + hr)
            z = torch.sigmoid(iz + hz)
            n = torch.tanh(i_n + r * h_n)
            return (1 - z) * n + z * h
        n_units = self.n_units
        hh, cc = h[..., :n_units], h[..., n_units:]
        gates = gi + hh @ w_hh.T + b_hh
        i, f, g, o = gates.chunk(4, -1)
        c_new = torch.sigmoid(f) * cc + torch.sigmoid(i) * torch.tanh(g)
        h_new = torch.sigmoid(o) * torch.tanh(c_new)
        return torch.cat([h_new, c_new], dim=-1)

    def run(self, inputs: Tensor, h0: Tensor | None = None) -> Tensor:
        """All states (T, B, D) for time-major inputs (T, B, n_in), from h0 (default 0).

        The RNN (α = 1) and the GRU run torch's fused kernel (their state is the output); the
        LSTM and a leaky RNN loop over :meth:`step` (the LSTM's cell is not an output of
        ``torch.nn.LSTM``)."""
        t, b, _ = inputs.shape
        if h0 is None:
            h0 = inputs.new_zeros(b, self.hidden)
        if self.arch in ("rnn", "gru") and self.alpha == 1.0:
            out, _ = self.core(inputs, h0.unsqueeze(0).contiguous())
            return out
        h, states = h0, []
        for k in range(t):
            h = self.step(h, inputs[k])
            states.append(h)
        return torch.stack(states) if states else inputs.new_zeros(0, b, self.hidden)

    def forward(self, inputs: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """States (T, B, D) and readout logits (T, B, n_outputs)."""
        states = self.run(inputs, h0)
        return states, self.readout(states)


def recurrent_from_modules(module: nn.Module, readout: nn.Module) -> RecurrentNet:
    """A :class:`RecurrentNet` holding copies of the weights of ``module`` (one-layer,
    unidirectional ``torch.nn.RNN``, ``GRU`` or ``LSTM``) and ``readout`` (``nn.Linear`` or an
    ``nn.Sequential`` of linear layers and activations of :data:`ACTIVATIONS`)."""
    arch, nonlinearity = torch_arch(module)
    layers, sizes = readout_layers(readout)
    net = RecurrentNet(
        arch,
        module.input_size,
        module.hidden_size,
        sizes[-1][1],
        nonlinearity=nonlinearity or "tanh",
        readout=layers,
        readout_sizes=sizes,
    )
    state = core_state(module)
    net.core.load_state_dict(state)
    linear = [m for m in _readout_modules(readout) if isinstance(m, nn.Linear)]
    for mine, theirs in zip(
        [m for m in net.readout.net if isinstance(m, nn.Linear)], linear, strict=True
    ):
        with torch.no_grad():
            mine.weight.copy_(theirs.weight.detach())
            if theirs.bias is None:
                mine.bias.zero_()
            else:
                mine.bias.copy_(theirs.bias.detach())
    return net


def torch_arch(module: nn.Module) -> tuple[str, str | None]:
    """(``rnn`` | ``gru`` | ``lstm``, nonlinearity or None) of a torch recurrent module; one-line
    ValueError for what cogdyn cannot analyse (several layers, bidirectional, projections)."""
    if not isinstance(module, nn.RNNBase):
        raise ValueError(f"expected torch.nn.RNN, GRU or LSTM, got {type(module).__name__}")
    name = type(module).__name__
    if module.num_layers != 1 or module.bidirectional or getattr(module, "proj_size", 0):
        raise ValueError(
            f"{name}: only one unidirectional layer without projections can be imported "
            f"(num_layers={module.num_layers}, bidirectional={module.bidirectional})"
        )
    mode = module.mode
    if mode == "RNN_TANH":
        return "rnn", "tanh"
    if mode == "RNN_RELU":
        return "rnn", "relu"
    if mode in ("GRU", "LSTM"):
        return mode.lower(), None
    raise ValueError(f"{name}: unsupported recurrent mode {mode!r}")


def core_state(module: nn.Module) -> dict[str, Tensor]:
    """The four layer-0 tensors of a torch recurrent module, zero biases where it has none."""
    w_ih = module.weight_ih_l0.detach()
    w_hh = module.weight_hh_l0.detach()
    rows = w_ih.shape[0]
    zero = torch.zeros(rows, dtype=w_ih.dtype, device=w_ih.device)
    b_ih = module.bias_ih_l0.detach() if module.bias else zero
    b_hh = module.bias_hh_l0.detach() if module.bias else zero
    return {
        "weight_ih_l0": w_ih.clone(),
        "weight_hh_l0": w_hh.clone(),
        "bias_ih_l0": b_ih.clone(),
        "bias_hh_l0": b_hh.clone(),
    }


def _readout_modules(readout: nn.Module) -> list[nn.Module]:
    if isinstance(readout, nn.Linear):
        return [readout]
    if isinstance(readout, nn.Sequential):
        return [m for m in readout if not isinstance(m, nn.Identity | nn.Dropout)]
    raise ValueError(
        f"readout must be torch.nn.Linear or an nn.Sequential of Linear layers and "
        f"{'/'.join(c.__name__ for c in ACTIVATIONS.values())}, got {type(readout).__name__}"
    )


def readout_layers(readout: nn.Module) -> tuple[list[str], list[tuple[int, int]]]:
    """(layer kinds, (in, out) of each linear layer) of a readout module; one-line ValueError
    for a layer cogdyn cannot rebuild."""
    kinds, sizes = [], []
    for m in _readout_modules(readout):
        if isinstance(m, nn.Linear):
            kinds.append("linear")
            sizes.append((m.in_features, m.out_features))
        elif type(m) in _LAYER_NAMES:
            kinds.append(_LAYER_NAMES[type(m)])
        else:
            raise ValueError(
                f"readout layer {type(m).__name__} is not supported; allowed: Linear, "
                f"{', '.join(c.__name__ for c in ACTIVATIONS.values())}"
            )
    if not kinds or kinds[-1] != "linear":
        raise ValueError("readout must end with a torch.nn.Linear layer")
    return kinds, sizes


def model_from_state(state: Mapping[str, Tensor], spec: Mapping[str, Any]) -> RecurrentNet:
    """Rebuild a :class:`RecurrentNet` from its state dict and :meth:`RecurrentNet.spec`."""
    sizes = [tuple(int(v) for v in s) for s in spec.get("readout_sizes") or []] or None
    net = RecurrentNet(
        spec["arch"],
        int(spec["n_inputs"]),
        int(spec["n_units"]),
        int(spec["n_outputs"]),
        nonlinearity=spec.get("nonlinearity") or "tanh",
        alpha=float(spec.get("alpha", 1.0)),
        readout=tuple(spec.get("readout") or ("linear",)),
        readout_sizes=sizes,  # type: ignore[arg-type]
    )
    net.load_state_dict(dict(state))
    return net
