"""Robustness: accuracy of a trained network under damage, as curves and one score per kind.

Kinds of damage, each at several levels and over several random draws, all scored with the
task's rules on one fixed batch of trials (greedy readout, :func:`~cogdyn.behaviour.evaluate`):

* ``ablate_random``: a fraction ``level`` of all units, drawn at random, is silenced;
  ``ablate_<group>``: a fraction of one population group's units (empty groups are skipped).
  Silencing a unit zeroes its incoming weights (recurrent and input) and bias, which clamps its
  activity at 0 for the whole trial (h₀ = 0), and its outgoing weights (recurrent and readout).
* ``weight_noise``: W + level · std(W) · ε, ε ~ N(0, 1) per weight.
* ``state_noise``: h_t ← F(h_{t−1}, x_t) + level · s · ε_t every step, s = the standard deviation
  of the unperturbed hidden states over all trial steps, so levels are relative to activity.

The score of a kind is the normalised area under its mean accuracy-vs-level curve (trapezoids,
divided by the level range): the mean accuracy over the range, in [0, 1].
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from cogdyn.behaviour import evaluate
from cogdyn.models import VanillaRNN
from cogdyn.tasks import TrialBatch, TrialTask

ROBUSTNESS_COLUMNS: tuple[str, ...] = (
    "damage",
    "level",
    "draw",
    "n_units",
    "damaged_accuracy",
)


def ablate(model: VanillaRNN, units: Tensor) -> None:
    """Silence ``units`` of ``model`` in place (module docstring)."""
    with torch.no_grad():
        for p in (model.weight_hh_l0, model.weight_ih_l0, model.bias_ih_l0, model.bias_hh_l0):
            p[units] = 0.0
        model.weight_hh_l0[:, units] = 0.0
        model.readout.weight[:, units] = 0.0


@torch.no_grad()
def accuracy_with_state_noise(
    model: VanillaRNN, task: TrialTask, batch: TrialBatch, sd: float, generator: torch.Generator
) -> float:
    """Accuracy when N(0, sd²) noise is added to the hidden state after every step."""
    h = batch.inputs.new_zeros(batch.n_trials, model.hidden)
    actions = []
    for x in batch.inputs:
        h = model.step(h, x)
        if sd > 0:
            h = h + sd * torch.randn(h.shape, generator=generator, dtype=h.dtype)
        actions.append(model.readout(h).argmax(-1))
    return task.score(batch, torch.stack(actions)).accuracy


def robustness_curves(
    model: VanillaRNN,
    task: TrialTask,
    batch: TrialBatch,
    labels: np.ndarray,
    group_names: Sequence[str],
    *,
    ablation_levels: Sequence[float],
    weight_noise_levels: Sequence[float],
    state_noise_levels: Sequence[float],
    draws: int,
    generator: torch.Generator,
) -> pd.DataFrame:
    """Accuracy per damage kind × level × draw (columns :data:`ROBUSTNESS_COLUMNS`).

    ``labels`` (N,) is each unit's group (:mod:`cogdyn.populations.groups`); level 0 is the
    undamaged network (evaluated once, repeated for every draw so that all curves align).
    """
    model = copy.deepcopy(model).cpu().float().eval()
    base_state = {k: v.clone() for k, v in model.state_dict().items()}
    baseline = evaluate(model, task, batch).accuracy
    n = model.hidden
    rows: list[tuple[str, float, int, int, float]] = []

    def run(
        damage: str, levels: Sequence[float], hit: Callable[[float], tuple[int, float]]
    ) -> None:
        for level in levels:
            for d in range(draws):
                if level == 0:
                    rows.append((damage, float(level), d, 0, baseline))
                    continue
                model.load_state_dict(base_state)
                n_units, acc = hit(float(level))
                rows.append((damage, float(level), d, n_units, acc))
        model.load_state_dict(base_state)

    def ablation(pool: np.ndarray) -> Callable[[float], tuple[int, float]]:
        def hit(level: float) -> tuple[int, float]:
            k = round(level * len(pool))
            pick = torch.randperm(len(pool), generator=generator)[:k]
            ablate(model, torch.as_tensor(pool)[pick])
            return k, evaluate(model, task, batch).accuracy

        return hit

    run("ablate_random", ablation_levels, ablation(np.arange(n)))
    for g in group_names:
        members = np.flatnonzero(labels == g)
        if len(members):
            run(f"ablate_{g}", ablation_levels, ablation(members))

    w_sd = float(base_state["weight_hh_l0"].std())

    def weight_noise(level: float) -> tuple[int, float]:
        w = model.weight_hh_l0
        noise = torch.randn(w.shape, generator=generator, dtype=w.dtype)
        with torch.no_grad():
            w.add_(level * w_sd * noise)
        return 0, evaluate(model, task, batch).accuracy

    run("weight_noise", weight_noise_levels, weight_noise)

    with torch.no_grad():
        h_sd = float(model.run(batch.inputs)[batch.valid].std())

    def state_noise(level: float) -> tuple[int, float]:
        return 0, accuracy_with_state_noise(model, task, batch, level * h_sd, generator)

    run("state_noise", state_noise_levels, state_noise)
    return pd.DataFrame(rows, columns=list(ROBUSTNESS_COLUMNS))


def robustness_scores(curves: pd.DataFrame) -> dict[str, float]:
    """Normalised area under the mean accuracy-vs-level curve of every damage kind."""
    out = {}
    for damage, part in curves.groupby("damage", sort=False):
        mean = part.groupby("level")["damaged_accuracy"].mean()
        x, y = mean.index.to_numpy(dtype=np.float64), mean.to_numpy(dtype=np.float64)
        span = x[-1] - x[0]
        area = float(np.sum((y[1:] + y[:-1]) * np.diff(x)) / 2)  # trapezoids (numpy 1.26 too)
        out[str(damage)] = area / span if span > 0 else float(y[0])
    return out
