"""Interop: torch.nn.RNN round trip (exact), trajectory export to .npz and the xarray layout."""

import numpy as np
import pytest
import torch

from cogdyn import io
from cogdyn.cli import main
from cogdyn.config import ModelConfig, RunConfig
from cogdyn.interop import (
    export_trajectories,
    load_trajectories,
    rollout_arrays,
    to_torch_rnn,
    xarray_dict,
)
from cogdyn.models import VanillaRNN
from cogdyn.tasks import CtxDM


def _model(alpha=1.0, seed=0):
    cfg = ModelConfig(hidden=32, delta=0.15, alpha=alpha)
    return VanillaRNN(7, 3, cfg, torch.Generator().manual_seed(seed))


def test_torch_rnn_round_trip_reproduces_outputs_exactly(one_thread):
    model = _model()
    with torch.no_grad():
        model.bias_ih_l0.normal_(0, 0.1, generator=torch.Generator().manual_seed(1))
        model.readout.bias.normal_(0, 0.1, generator=torch.Generator().manual_seed(2))
    rnn, readout = to_torch_rnn(model)
    batch = CtxDM().sample(50, torch.Generator().manual_seed(0))
    with torch.no_grad():
        hidden, logits = model(batch.inputs)
        ref_hidden, _ = rnn(batch.inputs)
        assert torch.equal(hidden, ref_hidden)
        assert torch.equal(logits, readout(ref_hidden))
        # and step by step, the textbook recurrence
        h = torch.zeros(50, 32)
        for t in range(batch.n_steps):
            h = torch.relu(
                batch.inputs[t] @ rnn.weight_ih_l0.T
                + rnn.bias_ih_l0
                + h @ rnn.weight_hh_l0.T
                + rnn.bias_hh_l0
            )
            torch.testing.assert_close(h, hidden[t], rtol=1e-5, atol=1e-6)


def test_torch_rnn_refuses_a_leaky_model():
    with pytest.raises(ValueError, match="alpha"):
        to_torch_rnn(_model(alpha=0.5))


def test_export_layout_and_round_trip(tmp_path, one_thread):
    model = _model()
    batch = CtxDM().sample(20, torch.Generator().manual_seed(3))
    arrays = rollout_arrays(model, batch, dt=100.0)
    path = export_trajectories(arrays, tmp_path / "t.npz")
    back = load_trajectories(path)
    assert back["dims"]["hidden"] == ["trial", "time", "unit"]
    hidden = back["hidden"]
    assert hidden.shape == (20, batch.n_steps, 32)
    with torch.no_grad():
        ref = model.run(batch.inputs)
    for i in range(20):
        n = int(batch.lengths[i])
        np.testing.assert_array_equal(hidden[i, :n], ref[:n, i].numpy())
        assert (hidden[i, n:] == 0).all() and back["mask"][i, :n].all()
    np.testing.assert_array_equal(back["info_context"], batch.info["context"].numpy())
    np.testing.assert_allclose(back["time_ms"], np.arange(batch.n_steps) * 100.0)


def test_xarray_dict_builds_a_labelled_dataset(tmp_path, one_thread):
    xr = pytest.importorskip("xarray")
    batch = CtxDM().sample(10, torch.Generator().manual_seed(0))
    arrays = load_trajectories(
        export_trajectories(rollout_arrays(_model(), batch, dt=100.0), tmp_path / "t.npz")
    )
    ds = xr.Dataset.from_dict(xarray_dict(arrays))
    assert ds["hidden"].dims == ("trial", "time", "unit")
    assert ds.sizes["trial"] == 10 and "context" in ds.coords
    assert float(ds["time_ms"][1]) == 100.0


def test_cli_export_of_a_run_directory(tmp_path, capsys, one_thread):
    run = tmp_path / "run"
    io.write_json(run / io.CONFIG_FILE, RunConfig(model=ModelConfig(hidden=32)).to_json())
    meta = {"model": {"hidden": 32, "delta": 0.15, "alpha": 1.0, "readout_scale": 0.1}}
    io.save_model(_model(), run / io.MODEL_FILE, meta)
    assert main(["export", str(run), "--trials", "15", "--seed", "4"]) == 0
    data = load_trajectories(run / "trajectories.npz")
    assert data["hidden"].shape[0] == 15 and data["hidden"].shape[2] == 32
    assert "trajectories of 15 trials" in capsys.readouterr().out
