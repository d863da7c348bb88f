"""VanillaRNN against torch.nn.RNN, autograd and its own definition."""

import pytest
import torch

from cogdyn import io
from cogdyn.config import ModelConfig
from cogdyn.models import VanillaRNN


def _model(alpha=1.0, hidden=32, delta=0.3, seed=0):
    return VanillaRNN(
        7,
        3,
        ModelConfig(hidden=hidden, delta=delta, alpha=alpha),
        torch.Generator().manual_seed(seed),
    )


def test_initialisation_law():
    m = VanillaRNN(7, 3, ModelConfig(hidden=250, delta=0.2), torch.Generator().manual_seed(1))
    w = m.weight_hh_l0.detach()
    assert float(w.abs().max()) <= 0.2 and float(m.weight_ih_l0.detach().abs().max()) <= 0.2
    # U(−δ, δ): mean 0, variance δ²/3
    assert abs(float(w.mean())) < 4 * 0.2 / (3**0.5) / 250
    assert float(w.var()) == pytest.approx(0.2**2 / 3, rel=0.02)
    assert float(m.readout.weight.detach().abs().max()) <= 0.1
    for b in (m.bias_ih_l0, m.bias_hh_l0, m.readout.bias, m.value.bias):
        assert float(b.detach().abs().max()) == 0
    # the same generator seed gives the same weights
    m2 = VanillaRNN(7, 3, ModelConfig(hidden=250, delta=0.2), torch.Generator().manual_seed(1))
    assert torch.equal(m.weight_hh_l0, m2.weight_hh_l0)


def test_equals_torch_rnn_with_same_weights():
    m = _model()
    with torch.no_grad():
        m.bias_ih_l0.uniform_(-0.1, 0.1)
        m.bias_hh_l0.uniform_(-0.1, 0.1)
    ref = torch.nn.RNN(7, 32, nonlinearity="relu")
    ref.load_state_dict({k: v for k, v in m.state_dict().items() if k.endswith("_l0")})
    x = torch.randn(15, 5, 7, generator=torch.Generator().manual_seed(2))
    h0 = torch.rand(5, 32, generator=torch.Generator().manual_seed(3))
    ours = m.run(x, h0)
    theirs, _ = ref(x, h0.unsqueeze(0))
    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-6)
    # stepping by hand gives the same states
    h, states = h0, []
    for t in range(15):
        h = m.step(h, x[t])
        states.append(h)
    torch.testing.assert_close(torch.stack(states), ours, rtol=1e-5, atol=1e-6)


def test_leaky_run_matches_definition():
    m = _model(alpha=0.4)
    x = torch.randn(12, 4, 7, generator=torch.Generator().manual_seed(5))
    h = torch.zeros(4, 32)
    expected = []
    for t in range(12):
        pre = m.weight_hh_l0 @ h.T + (m.weight_ih_l0 @ x[t].T) + m.bias.unsqueeze(1)
        h = 0.6 * h + 0.4 * torch.relu(pre.T)
        expected.append(h)
    torch.testing.assert_close(m.run(x), torch.stack(expected), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_analytic_jacobian_equals_autograd(alpha):
    m = _model(alpha=alpha).double()
    h = torch.rand(3, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    x = torch.rand(3, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    analytic = m.jacobian(h, x)
    for b in range(3):
        auto = torch.autograd.functional.jacobian(
            lambda v, b=b: m.step(v.unsqueeze(0), x[b : b + 1]).squeeze(0), h[b]
        )
        torch.testing.assert_close(analytic[b], auto)
    # half the units are active: the Jacobian really has zero rows
    assert (analytic[0].abs().sum(1) == 0).any() or alpha != 1.0


def test_safetensors_round_trip_and_torch_rnn_load(tmp_path):
    from safetensors.torch import load_file

    m = _model()
    io.save_model(
        m,
        tmp_path / "m.safetensors",
        {"model": {"hidden": 32, "delta": 0.3, "alpha": 1.0, "readout_scale": 0.1}},
    )
    back = io.load_model(tmp_path / "m.safetensors")
    x = torch.randn(9, 2, 7)
    torch.testing.assert_close(back(x)[1], m(x)[1], rtol=0, atol=0)
    state = load_file(str(tmp_path / "m.safetensors"))
    rnn = torch.nn.RNN(7, 32, nonlinearity="relu")
    rnn.load_state_dict({k: v for k, v in state.items() if k.endswith("_l0")})
    readout = torch.nn.Linear(32, 3)
    readout.load_state_dict({"weight": state["readout.weight"], "bias": state["readout.bias"]})
    torch.testing.assert_close(readout(rnn(x)[0]), m(x)[1], rtol=0, atol=0)
    assert not list(tmp_path.glob("*.tmp"))
