"""Hidden states of real trials, cut the ways the population analyses need them.

Every analysis here starts from one run of the network on a batch of real (noisy) trials:
``states`` (T, B, N), time-major like the batch. This module turns them into per-trial means over
each period, the state at the end of a period, and windows aligned to stimulus onset or to the
decision step.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from cogdyn.tasks.base import DECISION, PERIOD_NAMES, STIMULUS, TrialBatch


@torch.no_grad()
def trial_states(model: torch.nn.Module, batch: TrialBatch) -> Tensor:
    """Hidden states (T, B, N) of ``model`` on ``batch``, float64 on the CPU (0 past each end)."""
    param = next(model.parameters())
    states = model.run(batch.inputs.to(dtype=param.dtype, device=param.device))  # type: ignore[operator]
    return (states * batch.valid.to(states.device).unsqueeze(-1)).double().cpu()


def period_means(states: Tensor, batch: TrialBatch) -> dict[str, np.ndarray]:
    """Mean activity of every unit over each period of each trial: name → (B, N) float64.

    Every CtxDM trial has at least one step of each period, so no mean is empty.
    """
    periods = batch.periods.cpu()
    out = {}
    for pid, name in enumerate(PERIOD_NAMES):
        inside = (periods == pid).double().unsqueeze(-1)  # (T, B, 1)
        n = inside.sum(0).clamp_min(1.0)
        out[name] = ((states * inside).sum(0) / n).numpy()
    return out


def last_step_of(batch: TrialBatch, period: int) -> Tensor:
    """(B,) index of the last step of ``period`` in each trial."""
    inside = batch.periods.cpu() == period
    n_steps = inside.shape[0]
    return n_steps - 1 - torch.argmax(inside.flip(0).to(torch.uint8), dim=0)


def first_step_of(batch: TrialBatch, period: int) -> Tensor:
    """(B,) index of the first step of ``period`` in each trial."""
    return torch.argmax((batch.periods.cpu() == period).to(torch.uint8), dim=0)


def aligned_states(states: Tensor, batch: TrialBatch, align: str) -> tuple[np.ndarray, np.ndarray]:
    """States of every trial in a window where all trials are inside, aligned to an event.

    ``align="stimulus"``: steps relative to stimulus onset, from the start of the trial to the
    end of the shortest stimulus + delay of the batch (every trial is still before its decision).
    ``align="decision"``: steps relative to the (first) decision step, from the start of the
    shortest stimulus before it up to the decision step (0).

    Returns:
        (offsets (S,) int, states (S, B, N) float64).
    """
    b = torch.arange(states.shape[1])
    onset = first_step_of(batch, STIMULUS)
    decision = first_step_of(batch, DECISION)
    if align == "stimulus":
        before = int(onset.min())
        after = int((decision - onset).min())  # steps from onset until the earliest decision
        offsets = torch.arange(-before, after)
        index = onset.unsqueeze(0) + offsets.unsqueeze(1)
    elif align == "decision":
        before = int((decision - onset).min())
        offsets = torch.arange(-before, 1)
        index = decision.unsqueeze(0) + offsets.unsqueeze(1)
    else:
        raise ValueError(f"align must be 'stimulus' or 'decision', got {align!r}")
    return offsets.numpy(), states[index, b.unsqueeze(0)].numpy()
