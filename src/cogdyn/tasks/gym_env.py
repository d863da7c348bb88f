"""A gymnasium view of CtxDM: one environment, one trial per episode.

``CtxDMEnv`` draws each episode's trial from the batched :class:`~cogdyn.tasks.CtxDM` task (a
batch of one) and scores actions step by step with exactly the rules of
:func:`~cogdyn.tasks.score_actions`, so an agent trained here plays the same game as cogdyn's own
PPO:

* a non-fixate action before the decision period is a fixation break (``reward_fix_break``;
  with ``abort`` the episode ends there);
* the first non-fixate action in the decision period ends the episode with ``reward_correct``
  or ``reward_wrong``;
* otherwise the episode ends (``terminated``) at the trial's last step with reward 0.

Episodes end by themselves (no ``truncated``), unlike neurogym's endless trial stream.
Seeding: ``reset(seed=s)`` seeds the torch generator the trials are drawn from, so the same seed
gives the same sequence of trials; ``reset()`` without a seed continues that sequence.

Importing this module registers the environment as ``cogdyn/CtxDM-v0``:

    >>> import gymnasium as gym, cogdyn.tasks.gym_env
    >>> env = gym.make("cogdyn/CtxDM-v0", sigma=0.45)
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from cogdyn.config import TaskConfig, run_config_from_dict
from cogdyn.tasks.base import DECISION, PERIOD_NAMES, TrialBatch
from cogdyn.tasks.ctxdm import CtxDM

ENV_ID = "cogdyn/CtxDM-v0"


class CtxDMEnv(gym.Env[np.ndarray, int]):
    """CtxDM as a single gymnasium environment (one trial per episode, h₀ is the agent's business).

    Observation: ``Box(-inf, inf, (n_inputs,), float32)`` — [fixation, modality-1 ring,
    modality-2 ring, context one-hot] at the current step. After the episode ends the observation
    is all zeros (the padding value of :class:`~cogdyn.tasks.TrialBatch`).
    Action: ``Discrete(1 + dim_ring)``; 0 fixates, 1..dim_ring choose.
    ``info``: the trial's metadata (``context``, ``choice``, ``coh_mod1`` …, ``n_steps``) and the
    ``period`` of the step; at the episode's end also ``choice_made``, ``correct`` and
    ``fix_break``.

    Build it from a :class:`~cogdyn.config.TaskConfig` or from task fields as keywords
    (validated like a ``[task]`` table), e.g. ``CtxDMEnv(sigma=0.3, abort=True)``.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (gymnasium's convention)

    def __init__(self, config: TaskConfig | None = None, **task_fields: Any) -> None:
        super().__init__()
        if config is not None and task_fields:
            raise TypeError("pass either a TaskConfig or task fields as keywords, not both")
        if config is None:
            config = run_config_from_dict({"task": task_fields}).task
        self.task = CtxDM(config)
        self.config = config
        self.observation_space = spaces.Box(
            -np.inf, np.inf, shape=(self.task.n_inputs,), dtype=np.float32
        )
        self.action_space = spaces.Discrete(self.task.n_actions)
        self._generator: torch.Generator | None = None
        self._batch: TrialBatch | None = None
        self._zeros = np.zeros(self.task.n_inputs, dtype=np.float32)
        self._inputs = np.zeros((0, self.task.n_inputs), dtype=np.float32)
        self._periods = np.zeros(0, dtype=np.int64)
        self._targets = np.zeros(0, dtype=np.int64)
        self._trial: dict[str, Any] = {}
        self._t = 0
        self._fix_break = False
        self._done = True

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new episode with a fresh trial; ``seed`` fixes the sequence of trials."""
        super().reset(seed=seed)
        if seed is not None or self._generator is None:
            # Derived from gymnasium's np_random, so seed=None still gives a random stream.
            torch_seed = int(self.np_random.integers(0, 2**63 - 1))
            self._generator = torch.Generator().manual_seed(torch_seed)
        batch = self.task.sample(1, self._generator)
        self._batch = batch
        self._inputs = batch.inputs[:, 0].numpy()
        self._periods = batch.periods[:, 0].numpy()
        self._targets = batch.targets[:, 0].numpy()
        self._trial = {k: v[0].item() for k, v in batch.info.items()}
        self._trial["n_steps"] = int(batch.lengths[0])
        self._t, self._fix_break, self._done = 0, False, False
        return self._inputs[0].copy(), self._info(0)

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply ``action`` at the current step; the rules of ``score_actions``, step by step."""
        if self._done:
            raise RuntimeError("the episode has ended; call reset() first")
        if not self.action_space.contains(action):
            raise ValueError(f"action must be in {self.action_space}, got {action!r}")
        cfg, t, a = self.config, self._t, int(action)
        period = int(self._periods[t])
        reward, terminated, choice = 0.0, False, 0
        if a != 0 and period < DECISION:
            reward = cfg.reward_fix_break
            self._fix_break = True
            terminated = cfg.abort
        elif a != 0 and period == DECISION:
            choice = a
            right = a == int(self._targets[t])
            reward = cfg.reward_correct if right else cfg.reward_wrong
            terminated = True
        if t == self._trial["n_steps"] - 1:
            terminated = True
        info = self._info(t)
        self._t = t + 1
        if terminated:
            self._done = True
            info.update(
                {
                    "choice_made": choice,
                    "correct": bool(choice != 0 and choice == self._trial["choice"])
                    and not self._fix_break,
                    "fix_break": self._fix_break,
                }
            )
            obs = self._zeros.copy()
        else:
            obs = self._inputs[self._t].copy()
        return obs, float(reward), terminated, False, info

    @property
    def trial_batch(self) -> TrialBatch:
        """The current episode's trial as a batch of one (for scoring it with the batched rules)."""
        if self._batch is None:
            raise RuntimeError("no trial yet; call reset() first")
        return self._batch

    # ------------------------------------------------------------------ helpers
    def _info(self, t: int) -> dict[str, Any]:
        return {**self._trial, "step": t, "period": PERIOD_NAMES[int(self._periods[t])]}


def register_env() -> None:
    """Register ``cogdyn/CtxDM-v0`` with gymnasium (idempotent: a second call does nothing)."""
    if ENV_ID not in gym.registry:
        gym.register(id=ENV_ID, entry_point="cogdyn.tasks.gym_env:CtxDMEnv")


register_env()

__all__ = ["ENV_ID", "CtxDMEnv", "register_env"]
