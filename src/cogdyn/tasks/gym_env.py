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

``CtxDMVectorEnv`` is the same game for ``num_envs`` agents at once, a gymnasium
``VectorEnv`` stepped as one batch (the task is natively batched: trials are drawn together, the
rules applied with array operations, no Python loop over environments), with gymnasium 0.29's
autoreset: an environment whose episode ends starts its next trial in the same step, and the
ended episode's last observation and info are in ``info["final_observation"]`` and
``info["final_info"]``.

Importing this module registers the environment as ``cogdyn/CtxDM-v0``, with the vector
environment as its ``vector_entry_point``:

    >>> import gymnasium as gym, cogdyn.tasks.gym_env
    >>> env = gym.make("cogdyn/CtxDM-v0", sigma=0.45)
    >>> envs = gym.make_vec("cogdyn/CtxDM-v0", num_envs=256, vectorization_mode="custom")
    >>> envs = CtxDMVectorEnv(256, sigma=0.45)   # the same, with task fields
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.utils import seeding

from cogdyn.config import TaskConfig, run_config_from_dict
from cogdyn.tasks.base import DECISION, PAD, PERIOD_NAMES, TrialBatch
from cogdyn.tasks.ctxdm import CtxDM

ENV_ID = "cogdyn/CtxDM-v0"
try:  # gymnasium ≥ 1.1 names the autoreset modes; 0.29 has only this one
    from gymnasium.vector import AutoresetMode

    _SAME_STEP: Any = AutoresetMode.SAME_STEP
except ImportError:
    _SAME_STEP = "SameStep"


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
    ``render_mode`` is accepted (gymnasium and SB3's ``make_vec_env`` pass one) and ignored:
    there is nothing to render.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (gymnasium's convention)

    def __init__(
        self,
        config: TaskConfig | None = None,
        *,
        render_mode: str | None = None,
        **task_fields: Any,
    ) -> None:
        super().__init__()
        self.render_mode = render_mode  # nothing to render; gymnasium and SB3 pass one
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


class CtxDMVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` CtxDM episodes stepped as one batch, by :class:`CtxDMEnv`'s rules.

    Observations (num_envs, n_inputs) float32, actions (num_envs,) in ``Discrete(1 +
    dim_ring)``, rewards (num_envs,) float64, ``terminated`` when a trial ends (a choice in the
    decision period, a fixation break with ``abort``, or the trial's last step), ``truncated``
    only past ``max_episode_steps`` (default none: episodes end by themselves). An ended
    environment is reset in the same step (gymnasium 0.29's autoreset): the returned
    observation is its new trial's first; ``info["final_observation"]`` and
    ``info["final_info"]`` (object arrays, None elsewhere, masks ``_final_observation``,
    ``_final_info``) hold the ended episode's last observation (zeros, as :class:`CtxDMEnv`)
    and its info (``choice_made``, ``correct``, ``fix_break`` and the trial's variables).
    ``info`` also has, per environment, the trial variables (``context``, ``choice``, …),
    ``n_steps``, ``step`` and ``period`` (id, see :data:`~cogdyn.tasks.PERIOD_NAMES`).

    Seeding: ``reset(seed=s)`` seeds one torch generator that every trial of every environment
    is drawn from (in batches: the trials of the environments that end together are drawn
    together), so the same seed and actions give the same run; with ``num_envs=1`` the trials
    are those of ``CtxDMEnv`` reset with the same seed.

    Build it from a :class:`~cogdyn.config.TaskConfig` or task fields as keywords, like
    :class:`CtxDMEnv`; ``gym.make_vec(ENV_ID, num_envs, vectorization_mode="custom",
    vector_kwargs={...task fields})`` builds it through the registry.
    """

    metadata: dict[str, Any] = {"render_modes": [], "autoreset_mode": _SAME_STEP}  # noqa: RUF012

    def __init__(
        self,
        num_envs: int = 1,
        config: TaskConfig | None = None,
        *,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        **task_fields: Any,
    ) -> None:
        self.render_mode = render_mode
        if not isinstance(num_envs, int) or isinstance(num_envs, bool) or num_envs < 1:
            raise ValueError(f"num_envs must be an integer ≥ 1, got {num_envs!r}")
        if max_episode_steps is not None and (
            not isinstance(max_episode_steps, int) or max_episode_steps < 1
        ):
            raise ValueError(
                f"max_episode_steps must be an integer ≥ 1 or None, got {max_episode_steps!r}"
            )
        if config is not None and task_fields:
            raise TypeError("pass either a TaskConfig or task fields as keywords, not both")
        if config is None:
            config = run_config_from_dict({"task": task_fields}).task
        self.task = CtxDM(config)
        self.config = config
        self.max_episode_steps = max_episode_steps
        single_obs = spaces.Box(-np.inf, np.inf, shape=(self.task.n_inputs,), dtype=np.float32)
        single_act = spaces.Discrete(self.task.n_actions)
        # Set what gymnasium's VectorEnv.__init__ sets (its signature differs across versions).
        self.num_envs = num_envs
        self.is_vector_env = True
        self.single_observation_space = single_obs
        self.single_action_space = single_act
        self.observation_space = gym.vector.utils.batch_space(single_obs, num_envs)
        self.action_space = gym.vector.utils.batch_space(single_act, num_envs)
        self.closed = False
        self.viewer = None
        self._np_random: np.random.Generator | None = None
        self._generator: torch.Generator | None = None
        n = num_envs
        self._inputs = np.zeros((n, 0, self.task.n_inputs), dtype=np.float32)
        self._periods = np.full((n, 0), PAD, dtype=np.int64)
        self._targets = np.zeros((n, 0), dtype=np.int64)
        self._lengths = np.zeros(n, dtype=np.int64)
        self._trial: dict[str, np.ndarray] = {}
        self._t = np.zeros(n, dtype=np.int64)
        self._fix_break = np.zeros(n, dtype=bool)
        self._started = False

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new episode in every environment; ``seed`` (an int, or a list whose first
        entry is used) fixes the sequence of trials."""
        if isinstance(seed, list | tuple):
            seed = seed[0] if seed else None
        if seed is not None or self._np_random is None:
            self._np_random, _ = seeding.np_random(seed)
            torch_seed = int(self._np_random.integers(0, 2**63 - 1))
            self._generator = torch.Generator().manual_seed(torch_seed)
        self._new_trials(np.arange(self.num_envs))
        self._started = True
        return self._inputs[:, 0].copy(), self._info(np.ones(self.num_envs, dtype=bool))

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Apply one action per environment (the rules of ``score_actions``) and autoreset
        the environments whose episode ended."""
        if not self._started:
            raise RuntimeError("call reset() before step()")
        a = np.asarray(actions).reshape(-1)
        if a.shape != (self.num_envs,) or not np.issubdtype(a.dtype, np.integer):
            raise ValueError(
                f"actions must be {self.num_envs} integers, got {np.asarray(actions)!r}"
            )
        if (a < 0).any() or (a >= self.task.n_actions).any():
            raise ValueError(f"actions must lie in 0..{self.task.n_actions - 1}")
        cfg, rows, t = self.config, np.arange(self.num_envs), self._t
        period = self._periods[rows, t]
        act = a != 0
        breaking = act & (period < DECISION)
        choosing = act & (period == DECISION)
        right = choosing & (a == self._targets[rows, t])
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        rewards[breaking] = cfg.reward_fix_break
        rewards[choosing] = np.where(right[choosing], cfg.reward_correct, cfg.reward_wrong)
        self._fix_break |= breaking
        terminated = choosing | (t == self._lengths - 1) | (breaking & cfg.abort)
        self._t = t + 1
        truncated = np.zeros(self.num_envs, dtype=bool)
        if self.max_episode_steps is not None:
            truncated = ~terminated & (self._t >= self.max_episode_steps)
        ended = terminated | truncated
        step_info = self._info(np.ones(self.num_envs, dtype=bool), t=t, period=period)
        obs = np.zeros((self.num_envs, self.task.n_inputs), dtype=np.float32)
        live = ~ended
        obs[live] = self._inputs[rows[live], self._t[live]]
        if ended.any():
            done = rows[ended]
            final_obs = np.full(self.num_envs, None, dtype=object)
            final_info = np.full(self.num_envs, None, dtype=object)
            choice = np.where(choosing, a, 0)
            for b in done.tolist():
                final_obs[b] = np.zeros(self.task.n_inputs, dtype=np.float32)
                info_b = {k: v[b] for k, v in step_info.items() if not k.startswith("_")}
                info_b["choice_made"] = int(choice[b])
                info_b["correct"] = bool(right[b]) and not bool(self._fix_break[b])
                info_b["fix_break"] = bool(self._fix_break[b])
                final_info[b] = info_b
            self._new_trials(done)
            obs[done] = self._inputs[done, 0]
            step_info = {
                **self._info(np.ones(self.num_envs, dtype=bool)),
                "final_observation": final_obs,
                "_final_observation": ended.copy(),
                "final_info": final_info,
                "_final_info": ended.copy(),
            }
        return obs, rewards, terminated, truncated, step_info

    def close_extras(self, **kwargs: Any) -> None:
        """Nothing to release: the environments are arrays."""

    # ------------------------------------------------------------------ helpers
    def _new_trials(self, envs: np.ndarray) -> None:
        """Draw new trials (one batch) for the environments ``envs``."""
        assert self._generator is not None
        batch = self.task.sample(len(envs), self._generator)
        steps = batch.inputs.shape[0]
        if steps > self._inputs.shape[1]:  # grow the buffers to the longest trial so far
            grow = steps - self._inputs.shape[1]
            n = self.num_envs
            self._inputs = np.concatenate(
                [self._inputs, np.zeros((n, grow, self.task.n_inputs), dtype=np.float32)], 1
            )
            self._periods = np.concatenate([self._periods, np.full((n, grow), PAD)], 1)
            self._targets = np.concatenate([self._targets, np.zeros((n, grow), np.int64)], 1)
        self._inputs[envs] = 0.0
        self._periods[envs] = PAD
        self._targets[envs] = 0
        self._inputs[envs, :steps] = batch.inputs.transpose(0, 1).numpy()
        self._periods[envs, :steps] = batch.periods.T.numpy()
        self._targets[envs, :steps] = batch.targets.T.numpy()
        self._lengths[envs] = batch.lengths.numpy()
        for k, v in batch.info.items():
            values = v.numpy()
            if k not in self._trial:
                self._trial[k] = np.zeros(self.num_envs, dtype=values.dtype)
            self._trial[k][envs] = values
        self._t[envs] = 0
        self._fix_break[envs] = False

    def _info(
        self, mask: np.ndarray, *, t: np.ndarray | None = None, period: np.ndarray | None = None
    ) -> dict[str, Any]:
        t = self._t if t is None else t
        if period is None:
            period = self._periods[
                np.arange(self.num_envs), np.minimum(t, self._periods.shape[1] - 1)
            ]
        out: dict[str, Any] = {k: v.copy() for k, v in self._trial.items()}
        out["n_steps"] = self._lengths.copy()
        out["step"] = np.asarray(t).copy()
        out["period"] = np.asarray(period).copy()
        for k in list(out):
            out[f"_{k}"] = mask.copy()
        return out


def register_env() -> None:
    """Register ``cogdyn/CtxDM-v0`` with gymnasium, the vector environment as its
    ``vector_entry_point`` (idempotent: a second call does nothing)."""
    vector = "cogdyn.tasks.gym_env:CtxDMVectorEnv"
    spec = gym.registry.get(ENV_ID)
    if spec is None:
        gym.register(
            id=ENV_ID, entry_point="cogdyn.tasks.gym_env:CtxDMEnv", vector_entry_point=vector
        )
    elif getattr(spec, "vector_entry_point", vector) is None:
        spec.vector_entry_point = vector


register_env()

__all__ = ["ENV_ID", "CtxDMEnv", "CtxDMVectorEnv", "register_env"]
