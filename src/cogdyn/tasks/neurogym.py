"""Any neurogym task as a cogdyn trial source (``task.name = "neurogym:<EnvId>"``).

Each batch is rebuilt trial by trial from neurogym's own trial generator: ``env.new_trial()``,
then its ``ob`` (inputs), ``gt`` (targets) and period boundaries (``start_ind``/``end_ind``).
Trials are laid side by side and padded as :class:`~cogdyn.tasks.base.TrialBatch` (per-trial
lengths, mask, period ids), not cut into neurogym's back-to-back ``Dataset`` windows, so SL, PPO,
evaluation and analysis see whole trials exactly as for CtxDM.

Period ids (neurogym period name → cogdyn id):

* ``fixation`` → FIXATION; ``decision`` → DECISION; any name starting with ``delay`` → DELAY;
* every other named period (``stimulus``, ``sample``, ``test``, ``cue``, ...) → STIMULUS.

Supported tasks: a discrete action space with 0 = fixate, a 1-D observation, a period named
``decision`` that ends the trial, a target of 0 before it and one choice (≥ 1) in it —
PerceptualDecisionMaking, ContextDecisionMaking, DelayMatchSample, DelayComparison and others.
Anything else is refused with a ConfigError when the task is built.

Rewards (PPO) come from cogdyn's :func:`~cogdyn.tasks.base.score_actions` on these targets with
the env's own reward values: ``rewards["correct"]`` for the right choice, ``rewards["fail"]``
(0 where the env has none) for a wrong one, ``rewards["abort"]`` for a fixation break and
``env.abort`` to end the episode there. Two differences from stepping neurogym, both as for
CtxDM: one episode is one trial (neurogym never ends an episode), and a non-fixate action is a
fixation break in every period before the decision (neurogym penalises it only in ``fixation``).

Seeding: each ``sample(B, generator)`` draws one integer from ``generator`` and calls
``env.seed(it)``, which reseeds neurogym's trial RNG and its timing samplers (``reset(seed=...)``
does not fix the trials). The same generator state therefore gives the same trials; the task
checks this when it is built.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from cogdyn.config import NEUROGYM_PREFIX, ConfigError, TaskConfig
from cogdyn.tasks.base import (
    DECISION,
    DELAY,
    FIXATION,
    PAD,
    STIMULUS,
    Outcome,
    TrialBatch,
    score_actions,
)

_UNSET = -2


def period_id(name: str) -> int:
    """cogdyn's period id of a neurogym period name (see the module docstring)."""
    low = name.lower()
    if low == "fixation":
        return FIXATION
    if low == "decision":
        return DECISION
    if low.startswith("delay"):
        return DELAY
    return STIMULUS


@dataclass(frozen=True)
class NeurogymTrial:
    """One neurogym trial: its info dict, inputs (T, n_in), targets (T,), cogdyn period ids
    (T,) and neurogym's period spans ``{name: (start, end)}`` in steps."""

    info: dict[str, Any]
    ob: np.ndarray
    gt: np.ndarray
    periods: np.ndarray
    spans: dict[str, tuple[int, int]]


@dataclass(frozen=True)
class FrozenInputs:
    """Per-period mean observation of each trial condition (the census's frozen inputs).

    ``conditions``: one row per condition (the trial's scalar variables, e.g. ``ground_truth``,
    ``coh``) with ``n_trials``; ``periods``: neurogym's period names in trial order;
    ``inputs``: (condition, period, n_in) float64 means over the condition's trials and the
    period's steps (NaN for a period with no steps).
    """

    conditions: pd.DataFrame
    periods: tuple[str, ...]
    inputs: np.ndarray


def make_env(env_id: str, env_kwargs: dict[str, Any]) -> Any:
    """The unwrapped neurogym env ``env_id`` built with ``env_kwargs``; ConfigError if not."""
    try:
        import neurogym as ngym
    except ImportError:
        raise ConfigError(
            "task.name", "neurogym tasks need the neurogym extra: pip install 'cogdyn[neurogym]'"
        ) from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            env = ngym.make(env_id, **env_kwargs)
        except TypeError as e:
            raise ConfigError("task.env_kwargs", f"{env_id}: {e}") from None
        except Exception as e:  # gymnasium's unknown-id errors have several types
            raise ConfigError("task.name", f"no neurogym task {env_id!r} ({e})") from None
    return env.unwrapped


class NeurogymTask:
    """A neurogym task as a batched cogdyn trial source (``sample``, ``score``, frozen inputs)."""

    ideal_observer_accuracy: float | None = None
    """Unknown for a general neurogym task; the stop criterion is not checked against it."""

    def __init__(self, config: TaskConfig) -> None:
        if not config.name.startswith(NEUROGYM_PREFIX):
            raise ConfigError("task.name", f"not a neurogym task: {config.name!r}")
        self.config = config
        self.name = config.name
        self.env_id = config.name[len(NEUROGYM_PREFIX) :]
        self.env = make_env(self.env_id, dict(config.env_kwargs))
        env = self.env
        n_actions = getattr(env.action_space, "n", None)
        shape = getattr(env.observation_space, "shape", None)
        if n_actions is None or shape is None or len(shape) != 1:
            raise ConfigError(
                "task.name", f"{self.env_id}: needs a discrete action and a 1-D observation space"
            )
        self._n_inputs, self._n_actions = int(shape[0]), int(n_actions)
        rewards = dict(getattr(env, "rewards", {}) or {})
        self.reward_correct = float(rewards.get("correct", 1.0))
        self.reward_wrong = float(rewards.get("fail", 0.0))
        self.reward_fix_break = float(rewards.get("abort", -0.1))
        self.abort = bool(getattr(env, "abort", False))
        self._check_seeding()

    # ------------------------------------------------------------------ properties
    @property
    def n_inputs(self) -> int:
        return self._n_inputs

    @property
    def n_actions(self) -> int:
        return self._n_actions

    @property
    def dt(self) -> float:
        """Time step (ms) of the env."""
        return float(self.env.dt)

    def check_target(self, target_accuracy: float) -> None:
        """No ideal observer is known for a general neurogym task: any criterion is accepted."""

    # ------------------------------------------------------------------ trials
    def seed(self, seed: int) -> None:
        """Reseed neurogym's trial RNG and timing samplers (what fixes the trials drawn)."""
        self.env.seed(int(seed))

    def new_trial(self) -> NeurogymTrial:
        """Draw the env's next trial and read it back as a :class:`NeurogymTrial`."""
        env = self.env
        for spans in (env.start_ind, env.end_ind, env.start_t, env.end_t, env._duration):
            spans.clear()  # period dicts persist between trials in neurogym; start afresh
        info = env.new_trial()
        ob = np.asarray(env.ob, dtype=np.float32)
        gt = np.asarray(env.gt).astype(np.int64).reshape(ob.shape[0], -1)
        if gt.shape[1] != 1:
            raise ConfigError("task.name", f"{self.env_id}: needs one integer target per step")
        gt = gt[:, 0]
        n = ob.shape[0]
        spans = {p: (int(env.start_ind[p]), int(env.end_ind[p])) for p in env.start_ind}
        periods = np.full(n, _UNSET, dtype=np.int64)
        ordered = sorted(spans, key=lambda p: (period_id(p) == DECISION, spans[p][0]))
        for p in ordered:  # in time order, the decision period last (it wins any overlap)
            lo, hi = spans[p]
            periods[lo:hi] = period_id(p)
        self._check_trial(gt, periods, spans)
        return NeurogymTrial(dict(info or {}), ob, gt, periods, spans)

    def _check_trial(
        self, gt: np.ndarray, periods: np.ndarray, spans: dict[str, tuple[int, int]]
    ) -> None:
        def refuse(why: str) -> None:
            raise ConfigError("task.name", f"{self.env_id} is not supported: {why}")

        n = gt.shape[0]
        dec = [p for p in spans if period_id(p) == DECISION]
        if not dec:
            refuse("no period named 'decision'")
        lo, hi = spans[dec[0]]
        if hi != n or lo >= hi:
            refuse("the decision period must be non-empty and end the trial")
        if (periods == _UNSET).any():
            refuse("some steps belong to no period")
        decision = periods == DECISION
        if (gt[~decision] != 0).any():
            refuse("the target must be 0 (fixate) before the decision period")
        choice = gt[decision]
        if choice.min() < 1 or (choice != choice[0]).any():
            refuse("the decision period needs one choice ≥ 1 as target")

    def _check_seeding(self) -> None:
        """The same seed must give the same trials (env.seed reseeds every sampler)."""
        draws = []
        for _ in range(2):
            self.seed(12345)
            draws.append([self.new_trial() for _ in range(3)])
        same = all(
            a.ob.shape == b.ob.shape and np.array_equal(a.ob, b.ob) and np.array_equal(a.gt, b.gt)
            for a, b in zip(*draws, strict=True)
        )
        if not same:
            raise ConfigError("task.name", f"{self.env_id}: env.seed does not fix its trials")

    def sample(self, batch_size: int, generator: torch.Generator) -> TrialBatch:
        """Draw ``batch_size`` trials; the same ``generator`` state gives the same batch."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
        self.seed(int(torch.randint(2**31 - 1, (1,), generator=generator)))
        return self.batch([self.new_trial() for _ in range(batch_size)])

    def batch(self, trials: list[NeurogymTrial]) -> TrialBatch:
        """Lay trials side by side, padded to the longest one."""
        b = len(trials)
        lengths = np.array([t.ob.shape[0] for t in trials], dtype=np.int64)
        n_steps = int(lengths.max())
        inputs = np.zeros((n_steps, b, self.n_inputs), dtype=np.float32)
        targets = np.zeros((n_steps, b), dtype=np.int64)
        periods = np.full((n_steps, b), PAD, dtype=np.int64)
        for i, t in enumerate(trials):
            n = t.ob.shape[0]
            inputs[:n, i], targets[:n, i], periods[:n, i] = t.ob, t.gt, t.periods
        info = {"choice": torch.from_numpy(targets[lengths - 1, np.arange(b)].copy())}
        info.update(_scalar_info([t.info for t in trials]))
        periods_t = torch.from_numpy(periods)
        return TrialBatch(
            inputs=torch.from_numpy(inputs),
            targets=torch.from_numpy(targets),
            mask=periods_t != PAD,
            periods=periods_t,
            lengths=torch.from_numpy(lengths),
            info=info,
        )

    def score(self, batch: TrialBatch, actions: Tensor) -> Outcome:
        """Rewards, episode ends and correctness of ``actions`` with the env's reward values."""
        return score_actions(
            batch,
            actions,
            reward_correct=self.reward_correct,
            reward_wrong=self.reward_wrong,
            reward_fix_break=self.reward_fix_break,
            abort=self.abort,
        )

    # ------------------------------------------------------------------ frozen inputs
    def frozen_inputs(self, n_trials: int = 2000, seed: int = 0) -> FrozenInputs:
        """Per-period mean observation of each trial condition, over ``n_trials`` trials.

        A condition is one combination of the trial's scalar variables (neurogym's trial dict,
        e.g. ``ground_truth`` and ``coh``); averaging over its trials and a period's steps
        removes the noise, as CtxDM's :meth:`~cogdyn.tasks.CtxDM.frozen_input` does exactly.
        """
        if n_trials < 1:
            raise ValueError(f"n_trials must be ≥ 1, got {n_trials}")
        self.seed(seed)
        sums: dict[tuple, dict[str, np.ndarray]] = {}
        steps: dict[tuple, dict[str, int]] = {}
        counts: dict[tuple, int] = {}
        order: list[str] = []
        keys: list[str] | None = None
        for _ in range(n_trials):
            trial = self.new_trial()
            scalars = _scalars(trial.info)
            keys = sorted(scalars) if keys is None else keys
            cond = tuple(scalars.get(k) for k in keys)
            counts[cond] = counts.get(cond, 0) + 1
            for p, (lo, hi) in sorted(trial.spans.items(), key=lambda kv: kv[1]):
                if p not in order:
                    order.append(p)
                s = sums.setdefault(cond, {}).setdefault(p, np.zeros(self.n_inputs))
                s += trial.ob[lo:hi].sum(axis=0, dtype=np.float64)
                steps.setdefault(cond, {})[p] = steps.get(cond, {}).get(p, 0) + (hi - lo)
        conds = sorted(counts, key=repr)
        out = np.full((len(conds), len(order), self.n_inputs), np.nan)
        for i, c in enumerate(conds):
            for j, p in enumerate(order):
                n = steps[c].get(p, 0)
                if n:
                    out[i, j] = sums[c][p] / n
        frame = pd.DataFrame([dict(zip(keys or [], c, strict=True)) for c in conds])
        frame["n_trials"] = [counts[c] for c in conds]
        return FrozenInputs(frame, tuple(order), out)


def _scalars(info: dict[str, Any]) -> dict[str, Any]:
    """The trial variables that are plain numbers (numpy scalars made Python numbers)."""
    out: dict[str, Any] = {}
    for k, v in info.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, bool | int | float) and isinstance(v, Hashable):
            out[str(k)] = v
    return out


def _scalar_info(infos: list[dict[str, Any]]) -> dict[str, Tensor]:
    """Per-trial tensors of the scalar trial variables that every trial has."""
    rows = [_scalars(i) for i in infos]
    common = set(rows[0]).intersection(*rows[1:]) if rows else set()
    out: dict[str, Tensor] = {}
    for k in sorted(common - {"choice"}):
        values = [r[k] for r in rows]
        if all(isinstance(v, bool | int) for v in values):
            out[k] = torch.tensor(values, dtype=torch.int64)
        else:
            out[k] = torch.tensor(values, dtype=torch.float32)
    return out
