"""cogdyn models and trajectories in the formats other tools read.

* :func:`to_torch_rnn` — a trained model as ``torch.nn.RNN(nonlinearity="relu")`` + the readout
  ``torch.nn.Linear`` (exact for α = 1, the default: the same fused kernel runs both).
* :func:`rollout_arrays` / :func:`export_trajectories` — hidden trajectories on a batch of
  trials as NumPy arrays laid out (trial, time, unit), written to ``.npz`` (no pickles: strings
  are stored as Unicode arrays, ``np.load(path)`` needs no ``allow_pickle``).
* :func:`xarray_dict` — the same arrays as the dict ``xarray.Dataset.from_dict`` takes (dims
  ``trial``, ``time``, ``unit``, ``input``, ``output``; coords as separate arrays), so xarray
  users get a labelled Dataset without cogdyn depending on xarray.
"""

from __future__ import annotations

import io as _io
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from cogdyn import io
from cogdyn.behaviour import check_trials_memory
from cogdyn.io import load_run
from cogdyn.tasks import make_task
from cogdyn.tasks.base import TrialBatch

DIMS: dict[str, tuple[str, ...]] = {
    "hidden": ("trial", "time", "unit"),
    "inputs": ("trial", "time", "input"),
    "probs": ("trial", "time", "output"),
    "targets": ("trial", "time"),
    "periods": ("trial", "time"),
    "mask": ("trial", "time"),
    "lengths": ("trial",),
}
"""Dimensions of each data array in an export; trial variables (``info_*``) are ``(trial,)``."""
COORDS: tuple[str, ...] = ("trial", "time", "unit", "input", "output", "time_ms")


def to_torch_rnn(model: Any) -> tuple[nn.RNN, nn.Linear]:
    """``torch.nn.RNN`` (one ReLU layer, time-major) and ``torch.nn.Linear`` holding the
    recurrent weights and the readout of a cogdyn model (α must be 1: ``nn.RNN`` has no leak)."""
    if float(model.alpha) != 1.0:
        raise ValueError(f"torch.nn.RNN has no leak; the model has alpha={model.alpha}, needs 1")
    n_hidden, n_in = model.weight_ih_l0.shape
    rnn = nn.RNN(n_in, n_hidden, nonlinearity="relu")
    state = {k: v.detach().clone() for k, v in model.state_dict().items() if k.endswith("_l0")}
    rnn.load_state_dict(state)
    readout = nn.Linear(n_hidden, model.readout.out_features)
    readout.load_state_dict({k: v.detach().clone() for k, v in model.readout.state_dict().items()})
    return rnn.to(model.weight_hh_l0.device), readout.to(model.weight_hh_l0.device)


@torch.no_grad()
def rollout_arrays(model: Any, batch: TrialBatch, dt: float | None = None) -> dict[str, np.ndarray]:
    """Hidden states, inputs, output probabilities, targets, periods and mask of ``model`` on
    ``batch`` as (trial, time, ...) arrays, plus coordinates and per-trial ``info_*`` arrays.

    Padding (steps past a trial's end) is zero in every array and False in ``mask``.
    """
    device = next(model.parameters()).device
    hidden, logits = model(batch.inputs.to(device))
    valid = batch.valid.to(device)
    keep = valid.unsqueeze(-1).to(hidden.dtype)
    probs = torch.softmax(logits, dim=-1) * keep

    def tbx(x: torch.Tensor) -> np.ndarray:  # (T, B, ...) → (B, T, ...)
        return x.detach().cpu().transpose(0, 1).contiguous().numpy()

    n_trials, n_steps = batch.n_trials, batch.n_steps
    out: dict[str, np.ndarray] = {
        "hidden": tbx(hidden * keep),
        "inputs": tbx(batch.inputs),
        "probs": tbx(probs),
        "targets": tbx(batch.targets),
        "periods": tbx(batch.periods),
        "mask": tbx(batch.valid),
        "lengths": batch.lengths.cpu().numpy(),
        "trial": np.arange(n_trials),
        "time": np.arange(n_steps),
        "unit": np.arange(hidden.shape[-1]),
        "input": np.arange(batch.inputs.shape[-1]),
        "output": np.arange(logits.shape[-1]),
    }
    if dt is not None:
        out["time_ms"] = np.arange(n_steps) * float(dt)
    for k, v in batch.info.items():
        out[f"info_{k}"] = v.cpu().numpy()
    return out


def export_trajectories(arrays: dict[str, np.ndarray], path: str | Path) -> Path:
    """Write :func:`rollout_arrays` output to a compressed ``.npz`` (atomically), with a
    ``dims`` entry (JSON text) naming each array's dimensions."""
    path = Path(path)
    dims = {k: list(DIMS.get(k, ("trial",) if k.startswith("info_") else (k,))) for k in arrays}
    buf = _io.BytesIO()
    np.savez_compressed(buf, dims=np.array(json.dumps(dims)), **arrays)
    io.atomic_write_bytes(path, buf.getvalue())
    return path


def load_trajectories(path: str | Path) -> dict[str, np.ndarray]:
    """The arrays of an export (``dims`` decoded to a dict), without pickles."""
    with np.load(path, allow_pickle=False) as data:
        out = {k: data[k] for k in data.files}
    out["dims"] = json.loads(str(out["dims"]))
    return out


def xarray_dict(arrays: dict[str, Any]) -> dict[str, Any]:
    """The arrays in ``xarray.Dataset.from_dict`` form: coords (trial, time, unit, input,
    output, time_ms) and data variables with their dims; ``info_*`` become trial coords."""
    dims = arrays.get("dims")
    if not isinstance(dims, dict):
        dims = {k: list(DIMS.get(k, ("trial",) if k.startswith("info_") else (k,))) for k in arrays}
    coords: dict[str, Any] = {}
    data_vars: dict[str, Any] = {}
    for k, v in arrays.items():
        if k == "dims":
            continue
        if k in COORDS:
            coords[k] = {"dims": ("time",) if k == "time_ms" else (k,), "data": v}
        elif k.startswith("info_"):
            coords[k[len("info_") :]] = {"dims": ("trial",), "data": v}
        else:
            data_vars[k] = {"dims": tuple(dims[k]), "data": v}
    return {"coords": coords, "data_vars": data_vars, "dims": {}, "attrs": {}}


def export_run(
    run_dir: str | Path,
    out: str | Path,
    *,
    n_trials: int = 500,
    seed: int = 0,
    model_file: str = io.MODEL_FILE,
) -> Path:
    """Hidden trajectories of a run directory's model on ``n_trials`` fresh trials → ``.npz``."""

    config, model = load_run(run_dir, model_file)
    check_trials_memory(config.task, n_trials, model.hidden, "--trials")
    task = make_task(config.task)
    batch = task.sample(n_trials, torch.Generator().manual_seed(seed))
    dt = config.task.dt if config.task.is_ctxdm else float(getattr(task, "dt", 1.0))
    return export_trajectories(rollout_arrays(model, batch, dt=dt), out)
