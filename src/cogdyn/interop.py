"""cogdyn models and trajectories in the formats other tools read, and other tools' networks
in cogdyn's.

Out of cogdyn:

* :func:`to_torch_rnn` — a trained model as ``torch.nn.RNN(nonlinearity="relu")`` + the readout
  ``torch.nn.Linear`` (exact for α = 1, the default: the same fused kernel runs both);
  :func:`to_torch` the same for any cogdyn model (an imported GRU/LSTM/tanh RNN included).
* :func:`rollout_arrays` / :func:`export_trajectories` — hidden trajectories on a batch of
  trials as NumPy arrays laid out (trial, time, unit), written to ``.npz`` (no pickles: strings
  are stored as Unicode arrays, ``np.load(path)`` needs no ``allow_pickle``).
* :func:`xarray_dict` — the same arrays as the dict ``xarray.Dataset.from_dict`` takes (dims
  ``trial``, ``time``, ``unit``, ``input``, ``output``; coords as separate arrays), so xarray
  users get a labelled Dataset without cogdyn depending on xarray.
* :func:`driada_data` / :func:`export_driada` — hidden states and task variables in the layout
  of DRIADA's experiment loader (``driada.experiment.load_exp_from_aligned_data``).

Into cogdyn ("bring your own network"):

* :func:`from_torch` — a ``torch.nn.RNN`` (relu or tanh), ``GRU`` or ``LSTM`` with its readout,
  or a leaky RNN given by its step function, written as a run directory that ``cogdyn analyze``,
  ``cogdyn eval`` and ``cogdyn plot`` accept;
* :func:`from_sb3` — the LSTM policy of an sb3-contrib ``RecurrentPPO`` agent, the same way;
* :func:`load_state_dict_file` + :func:`modules_from_state_dict` — a saved state dict
  (``.safetensors``, or a ``.pt`` that ``torch.load(weights_only=True)`` reads: nothing is
  unpickled) back into torch modules, what ``cogdyn import-torch`` does.
"""

from __future__ import annotations

import copy
import dataclasses
import io as _io
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from cogdyn import io
from cogdyn.behaviour import check_trials_memory, evaluate
from cogdyn.config import ModelConfig, RunConfig, TaskConfig, TrainConfig, run_config_from_dict
from cogdyn.io import load_run
from cogdyn.models import RecurrentNet, VanillaRNN
from cogdyn.models.recurrent import (
    NONLINEARITIES,
    readout_layers,
    recurrent_from_modules,
    torch_arch,
)
from cogdyn.tasks import make_task
from cogdyn.tasks.base import PERIOD_NAMES, TrialBatch

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
    if not isinstance(model, VanillaRNN):
        raise ValueError(
            f"to_torch_rnn takes cogdyn's VanillaRNN, got {type(model).__name__} "
            "(cogdyn.interop.to_torch gives the modules of any cogdyn model)"
        )
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


# ---------------------------------------------------------------------- cogdyn → torch (any)
def to_torch(model: Any) -> tuple[nn.RNNBase, nn.Module]:
    """The torch modules of any cogdyn model: ``(nn.RNN | nn.GRU | nn.LSTM, readout)``.

    A :class:`~cogdyn.models.VanillaRNN` gives :func:`to_torch_rnn`'s pair; an imported
    :class:`~cogdyn.models.RecurrentNet` its recurrent layer and its readout (``nn.Linear`` or
    the ``nn.Sequential`` MLP; for an LSTM it reads h, the torch module's output). A leaky RNN
    (α < 1) has no torch module: ValueError, as in :func:`to_torch_rnn`.
    """
    if isinstance(model, VanillaRNN):
        return to_torch_rnn(model)
    if not isinstance(model, RecurrentNet):
        raise ValueError(f"expected a VanillaRNN or RecurrentNet, got {type(model).__name__}")
    if model.alpha != 1.0:
        raise ValueError(f"torch has no leaky RNN; the model has alpha={model.alpha}, needs 1")
    core = copy.deepcopy(model.core)
    net = copy.deepcopy(model.readout.net)
    readout: nn.Module = net[0] if len(net) == 1 else net
    return core, readout


# ---------------------------------------------------------------------- torch → cogdyn
StepFunction = Callable[[Tensor, Tensor], Tensor]
"""``step(h, x) -> h'`` for states (B, N) and inputs (B, n_in)."""


def from_torch(
    module: nn.Module,
    readout: nn.Module,
    task: Any = "ctxdm",
    out_dir: str | Path = "runs/imported",
    *,
    step: StepFunction | None = None,
    alpha: float | None = None,
    nonlinearity: str | None = None,
    algo: str = "sl",
    overwrite: bool = False,
    n_trials: int = 2000,
    seed: int = 12345,
    source: Mapping[str, Any] | None = None,
) -> Path:
    """Write a torch network as a cogdyn run directory (``cogdyn analyze``, ``eval``, ``plot``).

    Args:
        module: the recurrent layer: a one-layer unidirectional ``torch.nn.RNN``
            (``nonlinearity`` relu or tanh), ``torch.nn.GRU`` or ``torch.nn.LSTM`` (its state
            is (h, c): cogdyn analyses the map of [h, c], D = 2N); or, with ``step``, any module
            holding a leaky RNN's weights — as ``input2h`` / ``h2h`` linear layers (neurogym's
            tutorial ``CTRNN``) or ``weight_ih_l0`` … as in ``torch.nn.RNN``.
        readout: ``torch.nn.Linear`` from h to the task's actions (fixate, choice 1, …), or an
            ``nn.Sequential`` of Linear layers and Tanh/ReLU/Sigmoid activations.
        task: what the network does: ``"ctxdm"`` (default), ``"neurogym:<EnvId>"``, a
            :class:`~cogdyn.config.TaskConfig`, a ``[task]`` table (dict) or a task object with
            ``.config``. Inputs and actions must match the module and the readout.
        out_dir: the run directory to write (must not exist or be empty, unless ``overwrite``).
        step: a leaky RNN's step function ``step(h, x) -> h'`` (B, N), (B, n_in); cogdyn
            rebuilds h' = (1 − α) h + α φ(W_hh h + b_hh + W_ih x + b_ih) from ``module``'s
            weights and checks it against ``step`` on random states (ValueError when they
            differ). ``alpha`` (default ``module.alpha``) and ``nonlinearity`` (default: the
            one of tanh, relu that matches) pin it down.
        alpha: the leak, with ``step`` (or for a ``torch.nn.RNN`` whose weights belong to a leaky
            network); default 1.
        nonlinearity: ``tanh`` or ``relu`` of a leaky RNN (with ``step``).
        algo: the paradigm the network stands for in tables and figures, ``sl`` (default; also
            for an untrained network) or ``ppo`` (any RL); the origin goes into ``source``.
        overwrite: replace a non-empty ``out_dir``.
        n_trials, seed: fresh trials the imported network is scored on (its ``accuracy``).
        source: extra provenance to record in ``summary.json`` (``source``).

    Returns:
        ``out_dir``. A ReLU RNN with a linear readout becomes cogdyn's own
        :class:`~cogdyn.models.VanillaRNN` (exact fixed points and the population analyses);
        anything else a :class:`~cogdyn.models.RecurrentNet` (fixed points by optimisation,
        census with autograd tangents, no population analyses: those are ReLU-only).
    """
    task_config = _task_config(task)
    if step is not None:
        model, origin = _leaky_from_step(module, step, readout, alpha, nonlinearity)
    else:
        model, origin = _from_module(module, readout, alpha)
    info = {"from": origin, **dict(source or {})}
    return write_imported_run(
        model,
        task_config,
        out_dir,
        algo=algo,
        source=info,
        overwrite=overwrite,
        n_trials=n_trials,
        seed=seed,
    )


def from_sb3(
    agent: Any,
    task: Any = "ctxdm",
    out_dir: str | Path = "runs/sb3",
    *,
    algo: str = "ppo",
    overwrite: bool = False,
    n_trials: int = 2000,
    seed: int = 12345,
) -> Path:
    """Write the LSTM policy of an sb3-contrib ``RecurrentPPO`` agent (or its policy) as a run
    directory, like :func:`from_torch`.

    The network is the actor's LSTM (``policy.lstm_actor``) and the readout the policy's MLP
    (``mlp_extractor.policy_net``, then ``action_net``), so its logits are the agent's action
    logits (tests compare them step by step). The observation must reach the LSTM as it is (the
    default ``FlattenExtractor`` of a Box space); an agent trained with normalised observations
    (``VecNormalize``) saw other inputs than cogdyn gives it. The critic is left out.
    """
    policy = getattr(agent, "policy", agent)
    lstm = getattr(policy, "lstm_actor", None)
    if not isinstance(lstm, nn.LSTM):
        raise ValueError(
            f"expected a RecurrentPPO agent or its policy (with lstm_actor), got "
            f"{type(agent).__name__}"
        )
    extractor = getattr(policy, "pi_features_extractor", None) or policy.features_extractor
    if type(extractor).__name__ != "FlattenExtractor":
        raise ValueError(
            f"the policy's features extractor is {type(extractor).__name__}; only "
            "FlattenExtractor (observations passed to the LSTM as they are) can be imported"
        )
    head = [*policy.mlp_extractor.policy_net, policy.action_net]
    readout = nn.Sequential(*head)
    name = f"{type(agent).__module__.split('.')[0]}.{type(agent).__name__}"
    model, _ = _from_module(lstm, readout, None)
    return write_imported_run(
        model,
        _task_config(task),
        out_dir,
        algo=algo,
        source={"from": name, "policy": type(policy).__name__, "part": "lstm_actor + policy MLP"},
        overwrite=overwrite,
        n_trials=n_trials,
        seed=seed,
    )


def _task_config(task: Any) -> TaskConfig:
    if isinstance(task, TaskConfig):
        return task
    if isinstance(task, str):
        return run_config_from_dict({"task": {} if task == "ctxdm" else {"name": task}}).task
    if isinstance(task, Mapping):
        return run_config_from_dict({"task": dict(task)}).task
    config = getattr(task, "config", None)
    if isinstance(config, TaskConfig):
        return config
    raise ValueError(
        f"task must be 'ctxdm', 'neurogym:<EnvId>', a TaskConfig, a [task] dict or a task "
        f"object, got {type(task).__name__}"
    )


def _from_module(module: nn.Module, readout: nn.Module, alpha: float | None) -> tuple[Any, str]:
    """(cogdyn model, origin) of a torch recurrent module + readout (or a cogdyn model)."""
    if isinstance(module, VanillaRNN | RecurrentNet):
        return copy.deepcopy(module).cpu().float(), f"cogdyn.models.{type(module).__name__}"
    arch, nonlin = torch_arch(module)
    origin = f"torch.nn.{type(module).__name__}"
    leak = 1.0 if alpha is None else float(alpha)
    if arch != "rnn" and leak != 1.0:
        raise ValueError(f"alpha applies to a leaky RNN, not to {origin}")
    readout_layers(readout)  # validates the readout (one line)
    n_units = module.hidden_size
    first = _first_linear(readout)
    if first.in_features != n_units:
        raise ValueError(f"the readout reads {first.in_features} values; the network has {n_units}")
    if nonlin == "relu" and isinstance(readout, nn.Linear):
        return _vanilla(module.input_size, n_units, readout, leak, _torch_weights(module)), origin
    net = recurrent_from_modules(module, readout)  # copies the weights, to the CPU
    if leak != 1.0:
        net = _with_alpha(net, leak)
    return net, origin


def _with_alpha(net: RecurrentNet, alpha: float) -> RecurrentNet:
    spec = {**net.spec(), "alpha": alpha}
    leaky = RecurrentNet(
        spec["arch"],
        spec["n_inputs"],
        spec["n_units"],
        spec["n_outputs"],
        nonlinearity=spec["nonlinearity"],
        alpha=alpha,
        readout=spec["readout"],
        readout_sizes=[tuple(s) for s in spec["readout_sizes"]],
    )
    leaky.load_state_dict(net.state_dict())
    return leaky


def _first_linear(readout: nn.Module) -> nn.Linear:
    if isinstance(readout, nn.Linear):
        return readout
    return next(m for m in readout.modules() if isinstance(m, nn.Linear))


def _torch_weights(module: nn.Module) -> dict[str, Tensor]:
    """weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0 (zeros where there is no bias)."""
    w_ih, w_hh = module.weight_ih_l0.detach(), module.weight_hh_l0.detach()
    zero = torch.zeros(w_hh.shape[0], dtype=w_hh.dtype, device=w_hh.device)
    has_bias = bool(getattr(module, "bias", True)) and hasattr(module, "bias_ih_l0")
    return {
        "weight_ih_l0": w_ih,
        "weight_hh_l0": w_hh,
        "bias_ih_l0": module.bias_ih_l0.detach() if has_bias else zero,
        "bias_hh_l0": module.bias_hh_l0.detach() if has_bias else zero,
    }


def _vanilla(
    n_inputs: int, n_units: int, readout: nn.Linear, alpha: float, weights: Mapping[str, Tensor]
) -> VanillaRNN:
    """cogdyn's VanillaRNN with these weights (value head zero: an imported net has no critic)."""
    model = VanillaRNN(n_inputs, readout.out_features, ModelConfig(hidden=n_units, alpha=alpha))
    with torch.no_grad():
        for name, value in weights.items():
            getattr(model, name).copy_(value.cpu())
        model.readout.weight.copy_(readout.weight.detach().cpu())
        if readout.bias is None:
            model.readout.bias.zero_()
        else:
            model.readout.bias.copy_(readout.bias.detach().cpu())
        model.value.weight.zero_()
        model.value.bias.zero_()
    return model


def _leaky_weights(module: nn.Module) -> dict[str, Tensor]:
    """A leaky RNN module's weights in torch.nn.RNN's names: from ``input2h``/``h2h`` linear
    layers (neurogym's CTRNN) or ``weight_ih_l0``/``weight_hh_l0`` (+ biases)."""
    i2h, h2h = getattr(module, "input2h", None), getattr(module, "h2h", None)
    if isinstance(i2h, nn.Linear) and isinstance(h2h, nn.Linear):
        zero = torch.zeros(h2h.out_features)
        return {
            "weight_ih_l0": i2h.weight.detach(),
            "weight_hh_l0": h2h.weight.detach(),
            "bias_ih_l0": i2h.bias.detach() if i2h.bias is not None else zero,
            "bias_hh_l0": h2h.bias.detach() if h2h.bias is not None else zero,
        }
    if isinstance(getattr(module, "weight_hh_l0", None), Tensor):
        return _torch_weights(module)
    raise ValueError(
        f"{type(module).__name__}: a leaky RNN's weights must be input2h/h2h linear layers or "
        "weight_ih_l0/weight_hh_l0 (+ bias_ih_l0/bias_hh_l0) parameters"
    )


def _leaky_from_step(
    module: nn.Module,
    step: StepFunction,
    readout: nn.Module,
    alpha: float | None,
    nonlinearity: str | None,
) -> tuple[Any, str]:
    weights = {k: v.cpu().float() for k, v in _leaky_weights(module).items()}
    n_units, n_inputs = weights["weight_ih_l0"].shape
    if weights["weight_hh_l0"].shape != (n_units, n_units):
        raise ValueError(f"the recurrent weight must be ({n_units}, {n_units})")
    leak = alpha if alpha is not None else getattr(module, "alpha", None)
    if leak is None:
        raise ValueError(f"{type(module).__name__} has no alpha attribute: pass alpha=")
    leak = float(leak)
    if nonlinearity is not None and nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be tanh or relu, got {nonlinearity!r}")
    layers, sizes = readout_layers(readout)
    if sizes[0][0] != n_units:
        raise ValueError(f"the readout reads {sizes[0][0]} values; the network has {n_units}")
    gen = torch.Generator().manual_seed(0)
    h = 0.5 * torch.randn(64, n_units, generator=gen)
    x = torch.randn(64, n_inputs, generator=gen)
    with torch.no_grad():
        want = step(h.to(weights["weight_hh_l0"].dtype), x)
    for phi in [nonlinearity] if nonlinearity else list(NONLINEARITIES):
        net = RecurrentNet(
            "rnn",
            n_inputs,
            n_units,
            sizes[-1][1],
            nonlinearity=phi,
            alpha=leak,
            readout=layers,
            readout_sizes=sizes,
        )
        with torch.no_grad():
            for name, value in weights.items():
                getattr(net.core, name).copy_(value)
            got = net.step(h, x)
        same = isinstance(want, Tensor) and want.shape == got.shape
        if not same or not torch.allclose(got, want.to(got.dtype), rtol=1e-4, atol=1e-5):
            continue
        origin = f"step function of {type(module).__name__}"
        if phi == "relu" and isinstance(readout, nn.Linear):
            return _vanilla(n_inputs, n_units, readout, leak, weights), origin
        _copy_readout(net, readout)
        return net, origin
    tried = nonlinearity or "tanh or relu"
    raise ValueError(
        f"step does not match h' = (1 - α) h + α φ(W_hh h + b_hh + W_ih x + b_ih) with "
        f"{type(module).__name__}'s weights, α = {leak:g} and φ = {tried}; pass alpha= and "
        "nonlinearity= if they differ"
    )


def _copy_readout(net: RecurrentNet, readout: nn.Module) -> None:
    """Copy the linear layers of ``readout`` into ``net``'s readout (same layout)."""
    theirs = [readout] if isinstance(readout, nn.Linear) else list(readout)
    linear = [m for m in theirs if isinstance(m, nn.Linear)]
    mine = [m for m in net.readout.net if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for a, b in zip(mine, linear, strict=True):
            a.weight.copy_(b.weight.detach())
            if b.bias is None:
                a.bias.zero_()
            else:
                a.bias.copy_(b.bias.detach())


def write_imported_run(
    model: Any,
    task: TaskConfig,
    out_dir: str | Path,
    *,
    algo: str = "sl",
    source: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    n_trials: int = 2000,
    seed: int = 12345,
) -> Path:
    """Write ``model`` (a VanillaRNN or RecurrentNet) for ``task`` as a run directory:
    ``config.json``, ``env.json``, ``model.safetensors`` + ``model.json`` (with ``arch`` for a
    RecurrentNet) and ``summary.json`` (no checkpoints: ``cogdyn analyze --checkpoints final``
    and the default both analyse the one network). Its accuracy is measured on ``n_trials``
    fresh trials drawn with ``seed``."""
    out = Path(out_dir)
    if algo not in ("sl", "ppo"):
        raise ValueError(f"algo must be 'sl' or 'ppo', got {algo!r}")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} is not empty; choose another folder or overwrite")
        import shutil

        shutil.rmtree(out)
    trial_task = make_task(task)
    n_units = int(getattr(model, "n_units", model.hidden))
    if model.n_inputs != trial_task.n_inputs:
        raise ValueError(
            f"the network takes {model.n_inputs} inputs; {task.name} gives {trial_task.n_inputs}"
        )
    n_out = model.readout.out_features
    if n_out != trial_task.n_actions:
        raise ValueError(
            f"the readout gives {n_out} outputs; {task.name} has {trial_task.n_actions} actions "
            "(fixate, then one per choice)"
        )
    alpha = float(getattr(model, "alpha", 1.0))
    config = RunConfig(
        task=task,
        model=ModelConfig(hidden=n_units, alpha=alpha),
        train=TrainConfig(algo=algo),  # type: ignore[arg-type]
    )
    model = copy.deepcopy(model).cpu().eval()  # the caller's module stays where it is
    ev = evaluate(
        model, trial_task, trial_task.sample(n_trials, torch.Generator().manual_seed(seed))
    )
    import cogdyn

    origin = {"imported_with": f"cogdyn {cogdyn.__version__}", **dict(source or {})}
    meta: dict[str, Any] = {"n_inputs": model.n_inputs, "source": origin}
    if isinstance(model, RecurrentNet):
        meta = {"arch": model.arch, "network": model.spec(), **meta}
        origin["arch"] = model.kind
    else:
        meta = {"model": dataclasses.asdict(config.model), **meta}
        origin["arch"] = "relu rnn" if alpha == 1.0 else f"leaky relu rnn (α={alpha:g})"
    out.mkdir(parents=True, exist_ok=True)
    io.write_json(out / io.CONFIG_FILE, config.to_json())
    io.write_json(out / io.ENV_FILE, io.environment_info("cpu"))
    io.save_model(
        model, out / io.MODEL_FILE, {**meta, "kind": "final", "update": 0, "accuracy": ev.accuracy}
    )
    summary = {
        "algo": algo,
        "delta": None,
        "seed": None,
        "hidden": n_units,
        "alpha": alpha,
        **({} if task.is_ctxdm else {"task": task.name}),
        "dim_ring": task.dim_ring if task.is_ctxdm else None,
        "sigma": task.sigma if task.is_ctxdm else None,
        "accuracy": ev.accuracy,
        "fix_break_rate": ev.fix_break_rate,
        "mean_return": ev.mean_return,
        "accuracy_trials": n_trials,
        "accuracy_seed": seed,
        "ideal_observer_accuracy": trial_task.ideal_observer_accuracy,
        "reached_criterion": None,
        "updates": 0,
        "trials": 0,
        "env_steps": 0,
        "imported": True,
        "source": origin,
        "checkpoints": [],
    }
    io.write_json(out / io.SUMMARY_FILE, summary)
    return out


# ---------------------------------------------------------------------- state-dict files
def load_state_dict_file(path: str | Path) -> dict[str, Tensor]:
    """A state dict saved as ``.safetensors`` or ``.pt``/``.pth``.

    A ``.pt`` file is read with ``torch.load(weights_only=True)``: tensors and plain containers
    only, nothing unpickled, so a whole pickled module is refused (save its ``state_dict()``).
    One level of nesting under ``state_dict`` / ``model_state_dict`` is unwrapped.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path)))
    if path.suffix not in (".pt", ".pth"):
        raise ValueError(f"{path.name}: expected a .pt, .pth or .safetensors file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # unpickling refused, or not a torch file
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"{path.name} is not a state dict torch.load(weights_only=True) can read ({first}); "
            "save model.state_dict() (or use .safetensors)"
        ) from None
    for key in ("state_dict", "model_state_dict"):
        if isinstance(data, Mapping) and isinstance(data.get(key), Mapping):
            data = data[key]
    if not isinstance(data, Mapping) or not all(isinstance(v, Tensor) for v in data.values()):
        raise ValueError(f"{path.name} does not hold a flat state dict (names → tensors)")
    return {str(k): v for k, v in data.items()}


GATES: dict[str, int] = {"rnn": 1, "gru": 3, "lstm": 4}
"""Rows of ``weight_ih_l0`` per unit for each architecture."""


def modules_from_state_dict(
    state: Mapping[str, Tensor],
    arch: str,
    *,
    nonlinearity: str = "tanh",
    rnn_prefix: str | None = None,
    readout_prefix: str | None = None,
    n_outputs: int | None = None,
) -> tuple[nn.RNNBase, nn.Linear]:
    """The recurrent layer (``arch`` rnn, gru or lstm) and the linear readout held by a state
    dict, e.g. ``{"rnn.weight_ih_l0": …, "fc.weight": …}``.

    The layer is the unique ``<prefix>weight_ih_l0`` … group (``rnn_prefix`` picks one when
    there are several, e.g. ``lstm_actor.`` of an SB3 policy); the readout the unique
    ``<prefix>weight``/``<prefix>bias`` pair that reads the N units (``n_outputs`` rows when
    given; ``readout_prefix`` picks one, e.g. ``action_net.``). Every ambiguity or mismatch is
    a one-line ValueError naming the candidates.
    """
    if arch not in GATES:
        raise ValueError(f"arch must be one of {', '.join(GATES)}, got {arch!r}")
    prefixes = sorted(k[: -len("weight_ih_l0")] for k in state if k.endswith("weight_ih_l0"))
    if rnn_prefix is not None:
        if rnn_prefix not in prefixes:
            raise ValueError(f"no {rnn_prefix}weight_ih_l0; recurrent layers: {_names(prefixes)}")
        prefix = rnn_prefix
    elif len(prefixes) == 1:
        prefix = prefixes[0]
    else:
        found = _names(prefixes) if prefixes else "none (no *weight_ih_l0)"
        raise ValueError(f"need exactly one recurrent layer, found {found}: pass --rnn-prefix")
    if any(k.startswith(prefix) and k.endswith(("_l1", "_reverse")) for k in state):
        raise ValueError(f"{prefix or 'the layer'}: only one unidirectional layer can be imported")
    w_ih, w_hh = state[f"{prefix}weight_ih_l0"], state.get(f"{prefix}weight_hh_l0")
    if w_hh is None or w_hh.dim() != 2:
        raise ValueError(f"{prefix}weight_hh_l0 is missing")
    n_units = w_hh.shape[1]
    rows = w_ih.shape[0]
    if rows != GATES[arch] * n_units:
        guess = [a for a, g in GATES.items() if g * n_units == rows]
        hint = f" (the shapes fit {guess[0]})" if guess else ""
        raise ValueError(
            f"{prefix}weight_ih_l0 has {rows} rows for {n_units} units; a {arch} has "
            f"{GATES[arch] * n_units}{hint}"
        )
    has_bias = f"{prefix}bias_ih_l0" in state
    if arch == "rnn":
        module: nn.RNNBase = nn.RNN(
            w_ih.shape[1], n_units, nonlinearity=nonlinearity, bias=has_bias
        )
    elif arch == "gru":
        module = nn.GRU(w_ih.shape[1], n_units, bias=has_bias)
    else:
        module = nn.LSTM(w_ih.shape[1], n_units, bias=has_bias)
    layer = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix) and "_l0" in k}
    module.load_state_dict(layer)
    candidates = [
        k[: -len("weight")]
        for k, v in state.items()
        if k.endswith("weight")
        and not k.startswith(prefix)
        and v.dim() == 2
        and v.shape[1] == n_units
        and (n_outputs is None or v.shape[0] == n_outputs)
    ]
    if readout_prefix is not None:
        if f"{readout_prefix}weight" not in state:
            raise ValueError(f"no {readout_prefix}weight; readouts that fit: {_names(candidates)}")
        head = readout_prefix
    elif len(candidates) == 1:
        head = candidates[0]
    else:
        found = _names(candidates) if candidates else "none"
        raise ValueError(
            f"need exactly one linear readout of the {n_units} units, found {found}: "
            "pass --readout-prefix"
        )
    weight = state[f"{head}weight"]
    if weight.dim() != 2 or weight.shape[1] != n_units:
        raise ValueError(f"{head}weight has shape {tuple(weight.shape)}, needs (A, {n_units})")
    readout = nn.Linear(n_units, weight.shape[0], bias=f"{head}bias" in state)
    readout.load_state_dict(
        {k: state[f"{head}{k}"] for k in ("weight", "bias") if f"{head}{k}" in state}
    )
    return module, readout


def _names(prefixes: list[str]) -> str:
    return ", ".join(repr(p) for p in prefixes) or "none"


# ---------------------------------------------------------------------- DRIADA
DRIADA_VARIABLES: tuple[str, ...] = (
    "trial",
    "step",
    "period",
    "context",
    "correct_choice",
    "coh_mod1",
    "coh_mod2",
    "network_choice",
)
"""Task variables of a DRIADA export, one value per time point (``coh_mod*`` signed, %)."""


@torch.no_grad()
def driada_data(model: Any, task: Any, batch: TrialBatch) -> dict[str, np.ndarray]:
    """Hidden states and task variables of ``model`` on ``batch``, as DRIADA's experiment loader
    (``driada.experiment.load_exp_from_aligned_data``) takes them: ``calcium`` (units, time) —
    the state at every valid step of every trial, trials one after the other — and one (time,)
    array per task variable (:data:`DRIADA_VARIABLES`; the network's greedy choice of the
    trial repeated over its steps). CtxDM with two choices only (signed coherences)."""
    info = batch.info
    if "signed_coh_mod1" not in info:
        raise ValueError("the DRIADA export needs CtxDM with two choices (signed coherences)")
    device = next(model.parameters()).device
    states = model.run(batch.inputs.to(device)).double().cpu()
    choice = evaluate(model, task, batch).outcome.choice.cpu()
    valid = batch.valid.cpu().T  # (B, T): trial-major, so time runs trial after trial
    b_idx, t_idx = torch.nonzero(valid, as_tuple=True)
    per_trial = {
        "context": info["context"],
        "correct_choice": info["choice"],
        "coh_mod1": info["signed_coh_mod1"],
        "coh_mod2": info["signed_coh_mod2"],
        "network_choice": choice,
    }
    out: dict[str, np.ndarray] = {"calcium": states[t_idx, b_idx].T.contiguous().numpy()}
    out["trial"] = b_idx.numpy().astype(np.int64)
    out["step"] = t_idx.numpy().astype(np.int64)
    out["period"] = batch.periods.cpu()[t_idx, b_idx].numpy().astype(np.int64)
    for name, values in per_trial.items():
        v = values.cpu()[b_idx].numpy()
        out[name] = v.astype(np.int64) if np.allclose(v, np.round(v)) else v.astype(np.float64)
    return out


def export_driada(
    run_dir: str | Path,
    out: str | Path,
    *,
    n_trials: int = 500,
    seed: int = 0,
    model_file: str = io.MODEL_FILE,
) -> Path:
    """:func:`driada_data` of a run's model on ``n_trials`` fresh trials → ``.npz`` (atomic, no
    pickles), with a ``meta`` entry (JSON text: ``fps`` = 1000 / dt, the period names, the
    run). :func:`load_driada` reads it back; :func:`driada_experiment` builds DRIADA's
    ``Experiment`` from it."""
    config, model = load_run(run_dir, model_file)
    if not config.task.is_ctxdm:
        raise ValueError(f"the DRIADA export covers CtxDM runs; {run_dir} is {config.task.name}")
    task = make_task(config.task)
    batch = task.sample(n_trials, torch.Generator().manual_seed(seed))
    arrays = driada_data(model, task, batch)
    meta = {
        "fps": 1000.0 / float(config.task.dt),
        "periods": list(PERIOD_NAMES),
        "run_dir": str(run_dir),
        "model_file": model_file,
        "n_trials": n_trials,
        "seed": seed,
        "variables": list(DRIADA_VARIABLES),
    }
    buf = _io.BytesIO()
    np.savez_compressed(buf, meta=np.array(json.dumps(meta)), **arrays)
    path = Path(out)
    io.atomic_write_bytes(path, buf.getvalue())
    return path


def load_driada(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(data, meta) of :func:`export_driada`'s file: ``data`` is the dict DRIADA's loader takes
    (``calcium`` and the task variables), ``meta`` the JSON entry (``fps`` …)."""
    with np.load(path, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files if k != "meta"}
        meta = json.loads(str(f["meta"])) if "meta" in f.files else {}
    return data, meta


def driada_experiment(path: str | Path, *, verbose: bool = False, seed: int = 0) -> Any:
    """DRIADA's ``Experiment`` of an export (needs the ``driada`` extra:
    ``pip install 'cogdyn[driada]'``): ``load_exp_from_aligned_data`` with the task variables
    typed as discrete and ``fps`` from the export."""
    try:
        from driada.experiment import load_exp_from_aligned_data
    except ImportError:
        raise ImportError(
            "DRIADA is not installed: pip install 'cogdyn[driada]' (or pip install driada)"
        ) from None
    data, meta = load_driada(path)
    return load_exp_from_aligned_data(
        "cogdyn",
        {"name": Path(str(meta.get("run_dir", path))).name or "run"},
        data,
        feature_types={k: "discrete" for k in data if k != "calcium"},
        static_features={"fps": float(meta.get("fps", 10.0))},
        verbose=verbose,
        n_jobs=1,
        enable_parallelization=False,
        create_circular_2d=False,
        seed=seed,
    )
