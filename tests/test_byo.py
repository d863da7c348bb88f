"""Bring your own network: torch RNN / GRU / LSTM / leaky step functions as run directories
that ``cogdyn analyze``, ``eval`` and ``plot`` accept (issue 18's "what it must show")."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from cogdyn import examples, io
from cogdyn.analysis.census import CensusOptions, attractor_census
from cogdyn.analysis.populations import analyze_populations
from cogdyn.cli import main
from cogdyn.dynamics import FrozenInputMap, StepMap, frozen_input_map, search_fixed_points
from cogdyn.dynamics.classify import LABELS, ClassifyOptions, classify_map
from cogdyn.interop import (
    from_torch,
    load_state_dict_file,
    modules_from_state_dict,
    to_torch,
    to_torch_rnn,
)
from cogdyn.models import RecurrentNet, VanillaRNN
from cogdyn.populations import PopulationOptions
from cogdyn.tasks import CtxDM

GRID = 5
QUICK = CensusOptions(
    grid=GRID, extra_starts=1, classify=ClassifyOptions(transient=300, measure=300, max_period=32)
)


def _modules(kind: str, seed: int = 0) -> tuple[nn.Module, nn.Linear]:
    torch.manual_seed(seed)
    module = {
        "gru": lambda: nn.GRU(7, 64),
        "lstm": lambda: nn.LSTM(7, 64),
        "rnn_tanh": lambda: nn.RNN(7, 64, nonlinearity="tanh"),
    }[kind]()
    return module, nn.Linear(64, 3)


# ---------------------------------------------------------------------- the acceptance runs
@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """A random GRU, LSTM and tanh RNN (7 → 64 → 3) imported and analysed by the CLI, exactly as
    the issue states: ``cogdyn analyze DIR --checkpoints final --grid 5``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("byo")
    runs = {}
    try:
        for kind in ("gru", "lstm", "rnn_tanh"):
            module, readout = _modules(kind)
            run = from_torch(module, readout, "ctxdm", root / kind)
            rc = main(["analyze", str(run), "--checkpoints", "final", "--grid", "5"])
            assert rc == 0
            runs[kind] = (run, module, readout)
    finally:
        torch.set_num_threads(before)
    return runs


@pytest.mark.parametrize("kind", ["gru", "lstm", "rnn_tanh"])
def test_imported_network_gets_a_label_per_grid_point(analysed, kind):
    run, _, _ = analysed[kind]
    table = pd.read_parquet(io.analysis_file(run, "attractors"))
    onset = table[table["start"] == 0]
    points = onset[["context", "coh_mod1", "coh_mod2"]].drop_duplicates()
    assert len(points) == len(onset) == 2 * GRID * GRID
    assert set(onset["label"].astype(str)) <= set(LABELS)
    assert not table[["lyap1", "lyap2", "final_norm"]].isna().any().any()
    # the census ran on the whole state: D = 2N for the LSTM, N otherwise
    summary = io.read_json(run / io.ANALYSIS_DIR / io.SUMMARY_FILE)
    assert summary["grid"]["n_grid_points"] == 2 * GRID * GRID
    assert summary["populations_skipped"].startswith("ReLU RNNs only")
    assert summary["source"]["from"].startswith("torch.nn.")
    points = pd.read_parquet(io.analysis_file(run, "fixed_points"))
    assert {"delay", "decision"} <= set(points["phase"].astype(str))
    assert (points["residual"] < 1e-6).all()


def test_random_small_gru_settles_on_fixed_points(analysed):
    """Known answer: PyTorch's default init (U(±1/√N), N = 64) gives a contracting GRU, so every
    orbit ends on a stable fixed point with λ₁ < 0, and the fixed points found agree."""
    run, _, _ = analysed["gru"]
    table = pd.read_parquet(io.analysis_file(run, "attractors"))
    assert (table["label"].astype(str) == "fixed_point").all()
    assert (table["lyap1"] < 0).all()
    points = pd.read_parquet(io.analysis_file(run, "fixed_points"))
    assert (points["stability"].astype(str) == "stable").all()


def test_imported_run_loads_back_as_the_same_network(analysed):
    batch = CtxDM().sample(16, torch.Generator().manual_seed(1))
    for kind, (run, module, readout) in analysed.items():
        _, model = io.load_run(run)
        assert isinstance(model, RecurrentNet), kind
        with torch.no_grad():
            states, logits = model(batch.inputs)
            out, _ = module(batch.inputs)
            torch.testing.assert_close(states[..., :64], out, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(logits, readout(out), rtol=1e-5, atol=1e-6)
        assert states.shape[-1] == (128 if kind == "lstm" else 64)


def test_eval_and_plot_accept_an_imported_run(analysed, capsys):
    run, _, _ = analysed["lstm"]
    assert main(["eval", str(run), "--trials", "200"]) == 0
    assert "accuracy" in capsys.readouterr().out
    assert (run / io.EVAL_DIR / "psychometric.csv").is_file()
    assert main(["plot", str(run), "--format", "png"]) == 0
    written = capsys.readouterr().out.split()
    assert any(p.endswith("attractor_map.png") for p in written)
    assert any(p.endswith("phase_portrait.png") for p in written)
    assert not any(p.endswith("training.png") for p in written)  # no training to draw


# ---------------------------------------------------------------------- round trip
def test_cogdyn_network_round_trip_through_torch_gives_the_identical_census(tmp_path, one_thread):
    """A cogdyn-trained network → to_torch_rnn → from_torch: same weights, a VanillaRNN again
    (the exact ReLU path), and the identical census."""
    _, trained = examples.load("rl-small")
    rnn, readout = to_torch_rnn(trained)
    run = from_torch(rnn, readout, "ctxdm", tmp_path / "back")
    _, back = io.load_run(run)
    assert isinstance(back, VanillaRNN)
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
        assert torch.equal(getattr(back, name), getattr(trained, name))
    assert torch.equal(back.readout.weight, trained.readout.weight)
    config, _ = examples.load("rl-small")
    task = CtxDM(config.task)
    ref = attractor_census(trained, task, QUICK)
    got = attractor_census(back, task, QUICK)
    pd.testing.assert_frame_equal(got, ref)
    assert (ref["label"].astype(str) != "fixed_point").any()  # a census worth comparing


def test_to_torch_gives_the_modules_of_an_imported_network(one_thread):
    module, readout = _modules("gru")
    from cogdyn.models.recurrent import recurrent_from_modules

    net = recurrent_from_modules(module, readout)
    core, head = to_torch(net)
    assert isinstance(core, nn.GRU) and isinstance(head, nn.Linear)
    x = CtxDM().sample(4, torch.Generator().manual_seed(0)).inputs
    with torch.no_grad():
        torch.testing.assert_close(head(core(x)[0]), readout(module(x)[0]))


# ---------------------------------------------------------------------- the map of any network
@pytest.mark.parametrize("kind", ["gru", "lstm", "rnn_tanh"])
def test_step_matches_torch_and_run(kind, one_thread):
    from cogdyn.models.recurrent import recurrent_from_modules

    module, readout = _modules(kind)
    net = recurrent_from_modules(module, readout)
    batch = CtxDM().sample(8, torch.Generator().manual_seed(0))
    with torch.no_grad():
        states = net.run(batch.inputs)
        h = torch.zeros(8, net.hidden)
        for t in range(batch.n_steps):
            h = net.step(h, batch.inputs[t])
            torch.testing.assert_close(h, states[t], rtol=1e-5, atol=1e-6)
        ref, _ = module(batch.inputs)
        torch.testing.assert_close(states[..., :64], ref, rtol=1e-5, atol=1e-6)


def test_step_map_jacobian_is_the_derivative(one_thread):
    from cogdyn.models.recurrent import recurrent_from_modules

    net = recurrent_from_modules(*_modules("lstm"))
    x = torch.randn(3, 7, generator=torch.Generator().manual_seed(0))
    fmap = frozen_input_map(net, x)
    assert isinstance(fmap, StepMap) and fmap.n_units == 128
    h = 0.3 * torch.randn(3, 128, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    jac = fmap.jacobian(h)
    eps = 1e-6
    for j in (0, 64, 127):  # an h and a c coordinate
        e = torch.zeros(128, dtype=torch.float64)
        e[j] = eps
        fd = (fmap.step(h + e) - fmap.step(h - e)) / (2 * eps)
        torch.testing.assert_close(jac[:, :, j], fd, rtol=1e-6, atol=1e-8)


def _scalar_tanh(w: float, u: float = 0.0) -> RecurrentNet:
    net = RecurrentNet("rnn", 1, 1, 2, nonlinearity="tanh")
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        net.core.weight_hh_l0.fill_(w)
        net.core.bias_hh_l0.fill_(u)
    return net


def test_fixed_points_of_a_tanh_map_by_optimisation(one_thread):
    """h' = tanh(2h): an unstable point at 0 and stable points ±x*, x* = tanh(2x*) = 0.95750."""
    fmap = frozen_input_map(_scalar_tanh(2.0), torch.zeros(1, 1))
    states = torch.tensor([[-1.5], [-0.2], [0.0], [0.1], [0.7]], dtype=torch.float64)
    fp = search_fixed_points(fmap, states, n_steps=50)
    order = torch.argsort(fp.states[:, 0])
    got = fp.states[order, 0]
    x_star = 0.9575040240772687
    torch.testing.assert_close(got, torch.tensor([-x_star, 0.0, x_star], dtype=torch.float64))
    assert [fp.kind[i] for i in order.tolist()] == ["stable", "unstable", "stable"]
    eig = fp.eigenvalues[order[0], 0].real
    assert abs(float(eig) - 2 * (1 - x_star**2)) < 1e-9  # F'(x*) = 2 (1 − x*²)


def test_census_of_any_map_uses_autograd_tangents(one_thread):
    """classify_map without a tangent (autograd) on a StepMap: h' = tanh(2h) ends on the fixed
    point x* (λ₁ = log F'(x*) = log 2(1 − x*²)); h' = tanh(−2h) on the 2-cycle x* → −x* → x*,
    whose two-step multiplier is F'(x*)², the same λ₁ per step."""
    for w, label, period in ((2.0, "fixed_point", 1), (-2.0, "periodic", 2)):
        fmap = frozen_input_map(_scalar_tanh(w), torch.zeros(1, 1))
        res = classify_map(fmap.step, torch.tensor([[0.3]], dtype=torch.float64), measure=400)
        assert res.labels == [label] and int(res.period[0]) == period
        x_star = 0.9575040240772687
        expect = np.log(2 * (1 - x_star**2))
        assert abs(float(res.lyapunov[0, 0]) - expect) < 1e-6


# ---------------------------------------------------------------------- what is ReLU-only
def test_relu_only_analyses_say_so_in_one_line(one_thread):
    from cogdyn.models.recurrent import recurrent_from_modules

    net = recurrent_from_modules(*_modules("gru"))
    x = torch.zeros(2, 7)
    with pytest.raises(ValueError, match="ReLU RNN") as err:
        FrozenInputMap.from_model(net, x)
    assert "\n" not in str(err.value) and "frozen_input_map" in str(err.value)
    with pytest.raises(ValueError, match="ReLU RNN"):
        FrozenInputMap.from_model(nn.GRU(7, 8), x)
    with pytest.raises(ValueError, match="from_torch"):
        frozen_input_map(nn.GRU(7, 8), x)
    with pytest.raises(ValueError, match="this network is a gru"):
        analyze_populations(net, CtxDM(), None, None, None, PopulationOptions())
    with pytest.raises(ValueError, match="VanillaRNN"):
        to_torch_rnn(net)
    with pytest.raises(ValueError, match="exact fixed points"):
        search_fixed_points(frozen_input_map(examples.load("rl-small")[1], x), torch.zeros(2, 64))


def test_a_relu_torch_rnn_is_imported_as_cogdyn_own_network(tmp_path, one_thread):
    torch.manual_seed(0)
    rnn, readout = nn.RNN(7, 16, nonlinearity="relu"), nn.Linear(16, 3)
    _, model = io.load_run(from_torch(rnn, readout, "ctxdm", tmp_path / "r"))
    assert isinstance(model, VanillaRNN) and torch.equal(model.value.weight, torch.zeros(1, 16))
    assert isinstance(frozen_input_map(model, torch.zeros(1, 7)), FrozenInputMap)


# ---------------------------------------------------------------------- leaky step functions
class CTRNN(nn.Module):
    """The leaky RNN of neurogym's PyTorch tutorial: h ← (1 − α) h + α φ(W_in x + W h)."""

    def __init__(self, n_in: int, n_hidden: int, alpha: float, phi: str) -> None:
        super().__init__()
        self.alpha = alpha
        self.input2h = nn.Linear(n_in, n_hidden)
        self.h2h = nn.Linear(n_hidden, n_hidden)
        self.phi = torch.tanh if phi == "tanh" else torch.relu

    def recurrence(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        new = self.phi(self.input2h(x) + self.h2h(h))
        return h * (1 - self.alpha) + new * self.alpha


@pytest.mark.parametrize("phi", ["tanh", "relu"])
def test_leaky_rnn_given_as_a_step_function(tmp_path, phi, one_thread):
    torch.manual_seed(3)
    ctrnn, readout = CTRNN(7, 32, 0.2, phi), nn.Linear(32, 3)
    run = from_torch(
        ctrnn, readout, "ctxdm", tmp_path / phi, step=lambda h, x: ctrnn.recurrence(x, h)
    )
    _, model = io.load_run(run)
    assert isinstance(model, VanillaRNN if phi == "relu" else RecurrentNet)
    assert model.alpha == pytest.approx(0.2)
    batch = CtxDM().sample(6, torch.Generator().manual_seed(0))
    with torch.no_grad():
        states, logits = model(batch.inputs)
        h = torch.zeros(6, 32)
        for t in range(batch.n_steps):
            h = ctrnn.recurrence(batch.inputs[t], h)
        torch.testing.assert_close(states[-1], h, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(logits[-1], readout(h), rtol=1e-5, atol=1e-6)


def test_a_step_function_that_is_not_a_leaky_rnn_is_refused(tmp_path):
    ctrnn = CTRNN(7, 8, 0.5, "tanh")
    with pytest.raises(ValueError, match="step does not match"):
        from_torch(
            ctrnn,
            nn.Linear(8, 3),
            "ctxdm",
            tmp_path / "x",
            step=lambda h, x: torch.sigmoid(ctrnn.h2h(h) + ctrnn.input2h(x)),
        )


def test_mismatched_task_is_one_line(tmp_path):
    with pytest.raises(ValueError, match="takes 5 inputs"):
        from_torch(nn.GRU(5, 8), nn.Linear(8, 3), "ctxdm", tmp_path / "x")
    with pytest.raises(ValueError, match="3 actions"):
        from_torch(nn.GRU(7, 8), nn.Linear(8, 4), "ctxdm", tmp_path / "y")


# ---------------------------------------------------------------------- cogdyn import-torch
class Net(nn.Module):
    """A user's model as in neurogym's tutorials: a GRU and a linear readout."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.GRU(7, 24)
        self.fc = nn.Linear(24, 3)


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_cli_import_torch_state_dict(tmp_path, capsys, suffix, one_thread):
    torch.manual_seed(0)
    net = Net()
    path = tmp_path / f"net{suffix}"
    if suffix == ".pt":
        torch.save(net.state_dict(), path)
    else:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    out = tmp_path / "run"
    assert (
        main(["import-torch", str(path), "--arch", "gru", "--task", "ctxdm", "--out", str(out)])
        == 0
    )
    assert "imported gru (24 units)" in capsys.readouterr().out
    _, model = io.load_run(out)
    x = CtxDM().sample(5, torch.Generator().manual_seed(0)).inputs
    with torch.no_grad():
        torch.testing.assert_close(model(x)[1], net.fc(net.rnn(x)[0]), rtol=1e-5, atol=1e-6)


def test_cli_import_torch_errors_are_one_line(tmp_path, capsys):
    net = Net()
    good = tmp_path / "net.pt"
    torch.save(net.state_dict(), good)
    pickled = tmp_path / "module.pt"
    torch.save(net, pickled)  # a pickled module: weights_only refuses it
    cases = [
        ([str(pickled), "--arch", "gru"], "weights_only"),
        ([str(good), "--arch", "lstm"], "the shapes fit gru"),
        ([str(tmp_path / "missing.pt"), "--arch", "gru"], "no such file"),
    ]
    for args, message in cases:
        rc = main(["import-torch", *args, "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert rc == 2 and message in err and err.count("\n") == 1, err


def test_import_torch_help_says_nothing_is_unpickled(capsys):
    with pytest.raises(SystemExit):
        main(["import-torch", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "weights_only=True" in text and "nothing is unpickled" in text


def test_state_dict_with_several_layers_needs_prefixes(tmp_path):
    state = {
        **{f"lstm_actor.{k}": v for k, v in nn.LSTM(7, 8).state_dict().items()},
        **{f"lstm_critic.{k}": v for k, v in nn.LSTM(7, 8).state_dict().items()},
        **{f"action_net.{k}": v for k, v in nn.Linear(8, 3).state_dict().items()},
        **{f"value_net.{k}": v for k, v in nn.Linear(8, 1).state_dict().items()},
    }
    with pytest.raises(ValueError, match=re.escape("'lstm_actor.', 'lstm_critic.'")):
        modules_from_state_dict(state, "lstm")
    module, readout = modules_from_state_dict(state, "lstm", rnn_prefix="lstm_actor.", n_outputs=3)
    assert isinstance(module, nn.LSTM) and readout.out_features == 3
    torch.testing.assert_close(readout.weight, state["action_net.weight"])
    path = tmp_path / "s.pt"
    torch.save({"state_dict": state}, path)
    assert set(load_state_dict_file(path)) == set(state)
