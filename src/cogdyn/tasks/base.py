"""The trial-batch container and the scoring rules shared by every task.

A task produces a :class:`TrialBatch`: B trials laid side by side as time-major tensors, padded to
the longest trial. Scoring (:func:`score_actions`) needs only the period ids and the targets, so it
serves supervised evaluation, PPO rewards and any task that marks its periods the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import Tensor

# Period ids in ``TrialBatch.periods``. Steps past a trial's end are PAD.
FIXATION, STIMULUS, DELAY, DECISION = 0, 1, 2, 3
PAD = -1
PERIOD_NAMES = ("fixation", "stimulus", "delay", "decision")


@dataclass(frozen=True)
class TrialBatch:
    """B trials, time-major and padded to the longest one.

    inputs:  (T, B, n_in) float32, zero on padding.
    targets: (T, B) int64, 0 ("fixate") before the decision period, the correct choice (1..n) in it.
    mask:    (T, B) bool, the steps the supervised loss counts (the trial's own steps).
    periods: (T, B) int64 period ids (FIXATION .. DECISION, PAD after the trial).
    lengths: (B,) int64 number of steps of each trial.
    info:    per-trial tensors of shape (B,): ``context``, ``choice`` (correct, 1..n),
             ``choice_mod1``, ``choice_mod2``, ``coh_mod1``, ``coh_mod2`` (unsigned %), and for
             two choices ``signed_coh_mod1``/``signed_coh_mod2`` (+ toward choice 1).
    """

    inputs: Tensor
    targets: Tensor
    mask: Tensor
    periods: Tensor
    lengths: Tensor
    info: dict[str, Tensor]

    @property
    def n_steps(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def n_trials(self) -> int:
        return int(self.inputs.shape[1])

    @property
    def valid(self) -> Tensor:
        """(T, B) bool: steps that belong to a trial (not padding)."""
        return self.periods != PAD

    def to(self, device: torch.device | str) -> TrialBatch:
        kw = {f.name: getattr(self, f.name) for f in fields(self)}
        moved = {k: v.to(device) for k, v in kw.items() if isinstance(v, Tensor)}
        moved["info"] = {k: v.to(device) for k, v in self.info.items()}
        return TrialBatch(**moved)


@dataclass(frozen=True)
class Outcome:
    """What a sequence of actions earned on a batch of trials (one episode = one trial).

    rewards:   (T, B) float32 per-step reward, 0 after the episode ended.
    alive:     (T, B) bool, steps inside the episode (up to and including its last step).
    end_step:  (B,) int64 index of each episode's last step.
    choice:    (B,) int64 first non-fixate action in the decision period, 0 if none.
    fix_break: (B,) bool, a non-fixate action before the decision period.
    correct:   (B,) bool, right choice and no fixation break.
    """

    rewards: Tensor
    alive: Tensor
    end_step: Tensor
    choice: Tensor
    fix_break: Tensor
    correct: Tensor

    @property
    def accuracy(self) -> float:
        return float(self.correct.float().mean())


def _first_true(x: Tensor) -> Tensor:
    """Index along dim 0 of the first True per column; x.shape[0] where there is none."""
    n = x.shape[0]
    first = torch.argmax(x.to(torch.uint8), dim=0)  # argmax returns the first maximum
    return torch.where(x.any(dim=0), first, torch.full_like(first, n))


def score_actions(
    batch: TrialBatch,
    actions: Tensor,
    *,
    reward_correct: float = 1.0,
    reward_wrong: float = 0.0,
    reward_fix_break: float = -0.1,
    abort: bool = False,
) -> Outcome:
    """Score actions (T, B) on a batch: rewards, episode ends, choices and correctness.

    Rules (DESIGN.md): a non-fixate action before the decision period is a fixation break
    (reward ``reward_fix_break`` each time; with ``abort`` the episode ends there); the first
    non-fixate action in the decision period ends the episode with ``reward_correct`` or
    ``reward_wrong``; no response by the trial's end gives 0. Accuracy counts a fixation break
    as an error.
    """
    if actions.shape != batch.targets.shape:
        raise ValueError(
            f"actions must have shape {tuple(batch.targets.shape)}, got {tuple(actions.shape)}"
        )
    periods = batch.periods
    acting = actions != 0
    before = (periods >= FIXATION) & (periods < DECISION)
    in_decision = periods == DECISION
    breaks = acting & before
    responses = acting & in_decision

    n_steps = actions.shape[0]
    last = (batch.lengths - 1).to(actions.device)
    first_response = _first_true(responses)
    end = torch.minimum(first_response, last)
    if abort:
        end = torch.minimum(end, _first_true(breaks))
    steps = torch.arange(n_steps, device=actions.device).unsqueeze(1)
    alive = steps <= end.unsqueeze(0)

    responded = first_response <= end
    idx = first_response.clamp(max=n_steps - 1).unsqueeze(0)
    choice = torch.where(responded, actions.gather(0, idx).squeeze(0), torch.zeros_like(end))
    target = batch.targets.gather(0, idx).squeeze(0)
    fix_break = (breaks & alive).any(dim=0)
    right = responded & (choice == target)

    rewards = torch.zeros(actions.shape, dtype=torch.float32, device=actions.device)
    rewards = torch.where(breaks & alive, torch.full_like(rewards, reward_fix_break), rewards)
    final = torch.where(
        right,
        torch.full_like(end, 0, dtype=torch.float32) + reward_correct,
        torch.full_like(end, 0, dtype=torch.float32) + reward_wrong,
    )
    response_here = responded.unsqueeze(0) & (steps == first_response.unsqueeze(0))
    rewards = rewards + torch.where(response_here, final.unsqueeze(0), torch.zeros_like(rewards))
    return Outcome(
        rewards=rewards,
        alive=alive,
        end_step=end,
        choice=choice,
        fix_break=fix_break,
        correct=right & ~fix_break,
    )
