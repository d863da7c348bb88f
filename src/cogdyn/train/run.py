"""One entry point for training with either paradigm, chosen by ``config.train.algo``, and the
memory estimate that refuses a run too large for this machine before anything is allocated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from cogdyn.config import RunConfig
from cogdyn.memory import FLOAT32, format_bytes, require_memory, rnn_parameters, trial_bytes
from cogdyn.tasks.timing import max_trial_steps
from cogdyn.train.ppo import PPOConfig, train_ppo
from cogdyn.train.supervised import train_supervised

LONG_TRIAL = 10_000
"""Steps beyond which a refused run is blamed on its trial length rather than its sizes."""
OPTIMISER_COPIES = 4
"""Weights, gradients and Adam's two moments: four floats per parameter."""


def training_memory(config: RunConfig) -> dict[str, tuple[str, int]]:
    """A lower bound of the memory a training run takes, by part: part → (the config field that
    sets its size, bytes). Parts: the network with its optimiser, the held-out evaluation batch
    (inputs and hidden states) and one update's training batch (inputs, states, pre-activations)."""
    task, model = config.task, config.model
    steps = max_trial_steps(task) or 1
    n_in, n_out = task.n_inputs, task.n_actions
    if config.train.algo == "ppo":
        trials, field = PPOConfig.from_run_config(config).rollout_trials, "ppo.rollout_trials"
    else:
        trials, field = config.train.batch_size, "train.batch_size"
    params = rnn_parameters(model.hidden, n_in, n_out)
    eval_trials = config.train.eval_trials
    return {
        "network and optimiser": ("model.hidden", OPTIMISER_COPIES * FLOAT32 * params),
        "held-out batch": (
            "train.eval_trials",
            trial_bytes(eval_trials, steps, n_in + model.hidden),
        ),
        "training batch": (field, trial_bytes(trials, steps, n_in + 2 * model.hidden + n_out)),
    }


def check_training_memory(config: RunConfig) -> int:
    """Refuse (ConfigError naming the field of the largest part) a run whose
    :func:`training_memory` exceeds the machine's memory; the estimate in bytes otherwise."""
    parts = training_memory(config)
    need = sum(b for _, b in parts.values())
    field = max(parts.values(), key=lambda fb: fb[1])[0]
    detail = ", ".join(f"{name} {format_bytes(b)}" for name, (_, b) in parts.items())
    steps = max_trial_steps(config.task)
    advice = f"lower {field}"
    if steps is not None and steps > LONG_TRIAL:  # the trials' length is what is absurd
        field = "task.dt"
        advice = f"a trial lasts up to {steps} steps: raise task.dt or shorten the periods"
    what = f"training a network of {config.model.hidden} units"
    require_memory(need, field, what, advice, detail)
    gpu = _gpu_memory(config.train.device)
    if gpu is not None:  # the run's tensors live on the GPU: its memory bounds them too
        require_memory(need, field, what, advice, detail, total=gpu, where="the GPU's")
    return need


def _gpu_memory(device: str) -> int | None:
    """Total memory of the GPU a run of ``device`` would use, or None (CPU, or no CUDA)."""
    if device not in ("cuda", "auto") or not torch.cuda.is_available():
        return None
    return int(torch.cuda.get_device_properties(0).total_memory)


def check_run_config(config: RunConfig) -> int:
    """Everything about a run config that can be checked without training: the algorithm
    tables (``[ppo]`` is validated even for an SL run, so a typo there is not silently
    ignored) and the memory estimate (:func:`check_training_memory`, whose bytes it returns)."""
    PPOConfig.from_run_config(config)
    return check_training_memory(config)


def train(
    config: RunConfig,
    out: str | Path,
    *,
    progress: bool | None = None,
    resume: bool = False,
    tensorboard: str | Path | None = None,
) -> dict[str, Any]:
    """Train with the configured algorithm into ``out``; returns the run's summary.

    ``resume`` continues an interrupted run in ``out`` from its last evaluation
    (:mod:`cogdyn.train.resume`); ``tensorboard`` also logs each evaluation's metrics there
    (:mod:`cogdyn.train.tensorboard`). A run too large for this machine's memory is refused
    before anything is allocated (:func:`check_training_memory`); a run whose loss turns
    non-finite raises :class:`~cogdyn.train.loop.TrainingDiverged` after recording the failure
    in ``out/failure.json``.
    """
    check_run_config(config)
    if config.train.algo == "sl":
        return train_supervised(
            config, out, progress=progress, resume=resume, tensorboard=tensorboard
        )

    return train_ppo(config, out, progress=progress, resume=resume, tensorboard=tensorboard)
