"""CtxDM conditions of the frozen-input map: the noise-free inputs of a (context × coherence ×
coherence) grid (:func:`condition_inputs`), the network's real state at stimulus onset
(:func:`stimulus_onset_states`) and the states at the end of the stimulus of real noisy trials
(:func:`end_of_stimulus_states`).

The map itself (:func:`~cogdyn.dynamics.step_map.frozen_input_map`) knows no task; this module is
where CtxDM's periods and coherences meet it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from cogdyn.dynamics.step_map import frozen_input_map
from cogdyn.tasks.base import FIXATION, STIMULUS, TrialBatch
from cogdyn.tasks.ctxdm import CtxDM
from cogdyn.tasks.timing import to_steps


def condition_inputs(
    task: CtxDM,
    contexts: Sequence[int] | Tensor,
    coh1: Sequence[float] | Tensor,
    coh2: Sequence[float] | Tensor,
    period: int = STIMULUS,
) -> tuple[Tensor, pd.DataFrame]:
    """Frozen noise-free inputs of every (context, coh₁, coh₂) of a grid, and the grid itself.

    Conditions are ordered context-major, then coh₁, then coh₂ (row = (k·M₁ + i)·M₂ + j). With
    two choices the coherences are signed (+ toward choice 1, in %); with more, each entry of
    ``coh1``/``coh2`` is a pair (choice 1..n, unsigned coherence). Returns the inputs (K, n_in)
    float64 and a table with columns ``condition``, ``context``, ``coh_mod1``, ``coh_mod2``
    (plus ``choice_mod1``, ``choice_mod2`` for pairs) and ``period``.
    """
    ctx = _contexts(contexts)
    if period not in (0, 1, 2, 3):
        raise ValueError(f"period must be one of 0..3, got {period!r}")
    c1, c2 = (_coherences(task, c, name) for c, name in ((coh1, "coh1"), (coh2, "coh2")))
    k, i, j = torch.meshgrid(
        torch.arange(len(ctx)), torch.arange(len(c1)), torch.arange(len(c2)), indexing="ij"
    )
    k, i, j = k.reshape(-1), i.reshape(-1), j.reshape(-1)
    inputs = task.frozen_input(ctx[k], c1[i], c2[j], period)
    table = pd.DataFrame({"condition": range(len(k)), "context": ctx[k].numpy()})
    for m, (c, idx) in enumerate(((c1, i), (c2, j)), start=1):
        if c.dim() == 2:
            table[f"choice_mod{m}"] = c[idx, 0].long().numpy()
            table[f"coh_mod{m}"] = c[idx, 1].numpy()
        else:
            table[f"coh_mod{m}"] = c[idx].numpy()
    table["period"] = period
    return inputs, table


def _contexts(contexts: Sequence[int] | Tensor) -> Tensor:
    """Validated context ids (K,) int64 from a list, tensor, array or pandas column."""
    raw = contexts if isinstance(contexts, Tensor) else torch.as_tensor(np.array(contexts))
    ctx = raw.reshape(-1)
    if len(ctx) == 0 or ctx.is_floating_point() or not bool(((ctx == 0) | (ctx == 1)).all()):
        raise ValueError(f"contexts must be a non-empty list of 0/1, got {contexts!r}")
    return ctx.long()


def _coherences(task: CtxDM, c: Sequence[float] | Tensor, name: str) -> Tensor:
    """Validated coherences: (M,) signed for two choices, (M, 2) (choice, coherence) pairs."""
    c = torch.as_tensor(c, dtype=torch.float64)
    n = task.config.dim_ring
    pairs = c.dim() == 2 and c.shape[1] == 2 and len(c) > 0
    if not pairs and (c.dim() != 1 or len(c) == 0 or n != 2):
        raise ValueError(
            f"{name} must be a non-empty list of signed coherences (2 choices) or of "
            f"(choice, coherence) pairs, got shape {tuple(c.shape)} with dim_ring={n}"
        )
    coh = c[:, 1] if pairs else c
    if not bool(torch.isfinite(coh).all()) or float(coh.abs().max()) > 100:
        raise ValueError(f"{name} must be coherences within [−100, 100] %")
    if pairs and not bool(((c[:, 0] >= 1) & (c[:, 0] <= n) & (c[:, 0] % 1 == 0)).all()):
        raise ValueError(f"{name}: choices must be integers in 1..{n}")
    return c


def zero_coherence(task: CtxDM, k: int) -> Tensor:
    """A coherence of 0 for ``k`` conditions in the form :meth:`CtxDM.frozen_input` takes:
    (k,) signed for two choices, (k, 2) (choice, coherence) pairs for more."""
    if task.config.dim_ring == 2:
        return torch.zeros(k, dtype=torch.float64)
    return torch.tensor([[1.0, 0.0]], dtype=torch.float64).expand(k, 2)


def ring_conditions(n_choices: int, strengths: Sequence[float] | Tensor) -> Tensor:
    """The stimuli of one modality on an ``n_choices`` ring: (direction 1..n, strength) pairs,
    (1 + n·(S − 1), 2) float64 for S strengths starting at 0.

    At strength 0 every direction gives the same input, so it appears once (direction 1). For
    two choices this is exactly the signed-coherence grid: direction 1 at +s, direction 2 at −s.
    """
    s = torch.as_tensor(strengths, dtype=torch.float64).reshape(-1)
    if len(s) == 0 or float(s[0]) != 0.0 or bool((s[1:] <= 0).any()):
        raise ValueError(f"strengths must start at 0 and then be positive, got {s.tolist()}")
    pairs = [(1.0, 0.0)] + [(float(d), float(c)) for d in range(1, n_choices + 1) for c in s[1:]]
    return torch.tensor(pairs, dtype=torch.float64)


def grid_coherences(grid: pd.DataFrame, modality: int) -> Tensor:
    """Modality ``modality``'s coherences of a condition table (:func:`condition_inputs`) in
    the form :meth:`CtxDM.frozen_input` takes: signed (C,), or (C, 2) pairs when the table has
    ``choice_mod*`` columns."""
    coh = torch.tensor(grid[f"coh_mod{modality}"].to_numpy(), dtype=torch.float64)
    if f"choice_mod{modality}" not in grid:
        return coh
    choice = torch.tensor(grid[f"choice_mod{modality}"].to_numpy(), dtype=torch.float64)
    return torch.stack([choice, coh], dim=-1)


def shortest_steps(task: CtxDM, period: str) -> int:
    """Steps of a period (``fixation``, ``stimulus``, ``delay`` or ``decision``); a random
    duration counts with its lowest value."""
    cfg = task.config
    lowest = getattr(cfg, period).lowest
    return int(to_steps(torch.tensor([lowest], dtype=torch.float64), cfg.dt)[0])


def fixation_steps(task: CtxDM) -> int:
    """Steps of the fixation period; a random duration counts with its lowest value."""
    return shortest_steps(task, "fixation")


def stimulus_onset_states(
    model: Any,
    task: CtxDM,
    contexts: Sequence[int] | Tensor,
    dtype: torch.dtype = torch.float64,
) -> Tensor:
    """The network's hidden state at stimulus onset for each context, (K, N) in ``dtype``.

    The state after the fixation period of a real trial, from h₀ = 0: the fixation-period input
    carries no noise, so this is exact. A random fixation duration counts with its lowest value
    (a longer one continues the same autonomous map for a few more steps).
    """
    ctx = _contexts(contexts)
    # The stimulus part of the fixation input is zero whatever the coherences.
    coh = zero_coherence(task, len(ctx))
    inputs = task.frozen_input(ctx, coh, coh, FIXATION)
    fmap = frozen_input_map(model, inputs, dtype)
    h0 = torch.zeros(len(ctx), fmap.n_units, dtype=dtype, device=fmap.device)
    return fmap.iterate(h0, fixation_steps(task))


def end_of_stimulus_states(
    model: Any, task: CtxDM, batch: TrialBatch, dtype: torch.dtype = torch.float64
) -> Tensor:
    """Hidden states (B, N) after the last stimulus step of each (noisy) trial of ``batch``.

    The model runs in its own precision on the batch's real inputs (as in training); the states
    are returned in ``dtype``. Trial b's condition and correct choice are in ``batch.info``.
    """
    if batch.inputs.shape[-1] != task.n_inputs:
        raise ValueError(
            f"batch has {batch.inputs.shape[-1]} inputs but the task has {task.n_inputs}"
        )
    in_stim = batch.periods == STIMULUS
    if not bool(in_stim.any(dim=0).all()):
        raise ValueError("batch: every trial must have at least one stimulus step")
    n_steps = in_stim.shape[0]
    # Index of the last stimulus step: the first True of the time-reversed mask.
    last = n_steps - 1 - torch.argmax(in_stim.flip(0).to(torch.uint8), dim=0)
    param = next(model.parameters())
    with torch.no_grad():
        states = model.run(batch.inputs.to(dtype=param.dtype, device=param.device))
    rows = torch.arange(states.shape[1], device=states.device)
    return states[last.to(states.device), rows].to(dtype)
