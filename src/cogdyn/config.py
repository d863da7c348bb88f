"""Frozen, validated configuration for every part of cogdyn.

Configs are plain frozen dataclasses. They are validated when built (``__post_init__``), so a bad
value fails at the edge with a :class:`ConfigError` that names the field and what is allowed;
the CLI turns that into one line on stderr and exit status 2.

TOML files mirror the dataclasses: a ``[task]``, ``[model]`` and ``[train]`` table, keys equal to
field names. Durations are numbers (ms) or tables such as
``delay = {dist = "truncexp", mean = 600, min = 300, max = 3000}``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cogdyn.duration import Duration
from cogdyn.errors import ConfigError, finite, is_int, require, unknown_key
from cogdyn.schema import unstamp

__all__ = [
    "EXTRA_TABLES",
    "RUN_TABLES",
    "ConfigError",
    "Duration",
    "ModelConfig",
    "RunConfig",
    "TaskConfig",
    "TrainConfig",
    "build_section",
    "load_toml",
    "merge",
    "run_config_from_dict",
]


# σ = 0.45 puts the ideal observer at 99.4 % with the default timing (98.1 % at 5 % coherence);
# neurogym's σ = 1.0 caps it at 94.1 %, below the 95 % stop criterion. See docs/task.md.
DEFAULT_SIGMA = 0.45
CTXDM = "ctxdm"
NEUROGYM_PREFIX = "neurogym:"
# TaskConfig fields that describe the trial source rather than CtxDM itself.
_SOURCE_FIELDS = ("name", "env_kwargs")


@dataclass(frozen=True)
class TaskConfig:
    """The context-dependent decision-making task (CtxDM). Times in ms."""

    dt: float = 100.0
    """Time step (ms). Period boundaries fall at floor(t / dt) of the cumulative time."""
    fixation: Duration = field(default_factory=lambda: Duration("constant", value=300.0))
    stimulus: Duration = field(default_factory=lambda: Duration("constant", value=750.0))
    delay: Duration = field(
        default_factory=lambda: Duration("truncexp", mean=600.0, min=300.0, max=3000.0)
    )
    decision: Duration = field(default_factory=lambda: Duration("constant", value=100.0))
    coherences: tuple[float, ...] = (5.0, 15.0, 50.0)
    """Coherences (%) drawn uniformly and independently for each modality."""
    sigma: float = DEFAULT_SIGMA
    """Input noise; the per-step standard deviation is sigma / sqrt(dt), as in neurogym."""
    dim_ring: int = 2
    """Number of choices (ring units per modality)."""
    go_cue: bool = True
    """Keep the fixation input on until the decision period (neurogym ≤ 2.0); False turns it off
    after the fixation period (neurogym ≥ 2.1)."""
    reward_correct: float = 1.0
    reward_wrong: float = 0.0
    reward_fix_break: float = -0.1
    """Reward for a non-fixate action before the decision period."""
    abort: bool = False
    """End an RL episode at the first fixation break."""
    name: str = "ctxdm"
    """The trial source: ``ctxdm`` (this task) or ``neurogym:<EnvId>`` (any neurogym task through
    :mod:`cogdyn.tasks.neurogym`; the fields above are then unused and must stay at defaults)."""
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Keyword arguments of ``neurogym.make(EnvId, ...)`` (``dt``, ``timing``, ``sigma``,
    ``rewards``, ...), passed through as they are; only for neurogym tasks."""

    def __post_init__(self) -> None:
        _check_task_source(self)
        require(finite(self.dt) and self.dt > 0, "task.dt", f"must be > 0 ms, got {self.dt}")
        for name in ("fixation", "stimulus", "delay", "decision"):
            d = getattr(self, name)
            require(isinstance(d, Duration), f"task.{name}", "must be a Duration")
            if name == "delay":
                continue
            require(
                d.lowest >= self.dt,
                f"task.{name}",
                f"must last at least one step (≥ dt = {self.dt} ms), got {d.lowest} ms",
            )
        require(
            len(self.coherences) > 0 and all(finite(c) and 0 <= c <= 100 for c in self.coherences),
            "task.coherences",
            "must be a non-empty list of numbers in [0, 100] (%)",
        )
        require(
            finite(self.sigma) and self.sigma >= 0, "task.sigma", f"must be ≥ 0, got {self.sigma}"
        )
        require(
            isinstance(self.dim_ring, int) and not isinstance(self.dim_ring, bool),
            "task.dim_ring",
            "must be an integer ≥ 2",
        )
        require(self.dim_ring >= 2, "task.dim_ring", f"must be an integer ≥ 2, got {self.dim_ring}")
        for name in ("reward_correct", "reward_wrong", "reward_fix_break"):
            require(finite(getattr(self, name)), f"task.{name}", "must be a finite number")
        require(isinstance(self.go_cue, bool), "task.go_cue", "must be true or false")
        require(isinstance(self.abort, bool), "task.abort", "must be true or false")

    @property
    def is_ctxdm(self) -> bool:
        """True for cogdyn's own CtxDM, False for a neurogym task."""
        return self.name == CTXDM

    @property
    def n_inputs(self) -> int:
        return 1 + 2 * self.dim_ring + 2

    @property
    def n_actions(self) -> int:
        return 1 + self.dim_ring


def _check_task_source(task: TaskConfig) -> None:
    """Validate ``name`` and ``env_kwargs``; a neurogym task leaves the CtxDM fields alone."""
    name = task.name
    ok = isinstance(name, str) and (
        name == CTXDM or (name.startswith(NEUROGYM_PREFIX) and len(name) > len(NEUROGYM_PREFIX))
    )
    require(ok, "task.name", f"must be 'ctxdm' or 'neurogym:<EnvId>', got {name!r}")
    require(isinstance(task.env_kwargs, Mapping), "task.env_kwargs", "must be a table")
    try:
        plain = json.loads(json.dumps(dict(task.env_kwargs), allow_nan=False))
    except (TypeError, ValueError):
        raise ConfigError(
            "task.env_kwargs", "must hold only numbers, strings, booleans, lists and tables"
        ) from None
    object.__setattr__(task, "env_kwargs", plain)  # a private copy: the config owns it
    if name == CTXDM:
        require(not plain, "task.env_kwargs", "is only for neurogym tasks (task.name)")
        return
    for f in dataclasses.fields(task):
        if f.name in _SOURCE_FIELDS:
            continue
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
        require(
            getattr(task, f.name) == default,
            f"task.{f.name}",
            f"applies to ctxdm only; set {name}'s own settings in task.env_kwargs",
        )


@dataclass(frozen=True)
class ModelConfig:
    """The vanilla RNN h_t = (1 − α) h_{t−1} + α ReLU(W h_{t−1} + W_in x_t + b)."""

    hidden: int = 250
    delta: float = 0.1
    """Recurrent and input weights ~ U(−δ, δ)."""
    alpha: float = 1.0
    """Leak; 1 gives the piecewise-linear map of the paper."""
    readout_scale: float = 0.1
    """Readout (policy/class and value) weights ~ U(−scale, scale), biases 0."""

    def __post_init__(self) -> None:
        require(
            isinstance(self.hidden, int) and not isinstance(self.hidden, bool) and self.hidden >= 1,
            "model.hidden",
            f"must be an integer ≥ 1, got {self.hidden!r}",
        )
        require(
            finite(self.delta) and self.delta > 0, "model.delta", f"must be > 0, got {self.delta}"
        )
        require(
            finite(self.alpha) and 0 < self.alpha <= 1,
            "model.alpha",
            f"must be in (0, 1], got {self.alpha}",
        )
        require(
            finite(self.readout_scale) and self.readout_scale >= 0,
            "model.readout_scale",
            f"must be ≥ 0, got {self.readout_scale}",
        )


MAX_THREADS = 4096
"""Most torch threads a run may ask for (torch refuses far larger counts with an overflow)."""
ALGOS: tuple[str, ...] = ("ppo", "sl")
"""The learning paradigms (``train.algo``), in display order: RL first."""
_ALGO_DEFAULTS = {"max_updates": {"sl": 20000, "ppo": 1000}, "eval_every": {"sl": 50, "ppo": 5}}


@dataclass(frozen=True)
class TrainConfig:
    """Settings shared by supervised and PPO training."""

    algo: Literal["sl", "ppo"] = "sl"
    seed: int = 0
    target_accuracy: float = 0.95
    """Stop criterion on held-out trials (greedy choice; a fixation break is an error)."""
    max_updates: int | None = None
    """Budget of parameter updates; default 20000 for sl, 1000 for ppo (a PPO update uses
    1024 trials, an SL update 64)."""
    batch_size: int = 64
    """Trials per SL update (PPO: ``[ppo] rollout_trials``)."""
    lr: float = 1e-3
    """Adam learning rate (both algorithms) until the criterion is met."""
    hold_lr_scale: float = 0.1
    """SL: once the criterion is met, the learning rate is ``lr`` × this for the post-criterion
    evaluations (PPO adapts its rate instead: ``[ppo] trial_kl_target``). Why 0.1: at a constant
    1e-3, the decision of weak-evidence (5 %) trials swings with the noise of 64-trial batches —
    measured (2026-11-30, 2 cores, torch 2.13.0) at δ = 0.1, seed 0, over 1100 updates after the
    criterion, the fresh-trial accuracy
    of 110 evaluations ranged 0.853–0.99 and 22 % were below 0.93; at 1e-4 it ranged
    0.957–0.99, none below. 1 keeps ``lr``."""
    grad_clip: float = 1.0
    """Gradient-norm clip of SL (PPO: ``[ppo] grad_clip``)."""
    eval_every: int | None = None
    """Evaluate on the held-out trials every this many updates; default 50 for sl, 5 for ppo
    (in the quick study of 2026-12-01, docs/examples/quick, N = 250, σ 0.45 and 0.7, PPO
    reached 95 % after 30–165 updates, SL after 400–1350)."""
    eval_trials: int = 2000
    post_criterion_evals: int = 5
    """Evaluation intervals (each with a checkpoint) to keep training after the criterion."""
    criterion_evals: int = 1
    """Consecutive evaluations at ``target_accuracy`` on the held-out trials that meet the
    criterion: 1 (default) stops at the first one, 3 asks for three in a row. The criterion
    checkpoint is the last of them (the paper says only "95 %"; the stop rule is a choice)."""
    decision_weight: float = 20.0
    """Cross-entropy class weight of the choice classes relative to 'fixate' (SL). A default
    trial has ~18 fixate steps per decision step; weighting the decision about as much as all of
    them cut the updates to 95 % about 4× (400 vs 1700 at N = 250, δ = 0.1, seed 0, one thread;
    measured 2026-12-01)."""
    threads: int = 0
    """torch threads; 0 keeps torch's default (all cores)."""
    device: Literal["auto", "cpu", "cuda"] = "cpu"

    def __post_init__(self) -> None:
        require(
            self.algo in ("sl", "ppo"), "train.algo", f"must be 'sl' or 'ppo', got {self.algo!r}"
        )
        # Budgets that depend on the algorithm are resolved here, so config.json records them.
        for name, defaults in _ALGO_DEFAULTS.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, defaults[self.algo])
        for name in ("seed", "max_updates", "batch_size", "eval_every", "eval_trials", "threads"):
            v = getattr(self, name)
            require(is_int(v), f"train.{name}", "must be an integer")
        require(self.seed >= 0, "train.seed", f"must be ≥ 0, got {self.seed}")
        require(self.max_updates >= 1, "train.max_updates", "must be ≥ 1")
        require(self.batch_size >= 1, "train.batch_size", "must be ≥ 1")
        require(self.eval_every >= 1, "train.eval_every", "must be ≥ 1")
        require(self.eval_trials >= 1, "train.eval_trials", "must be ≥ 1")
        require(0 <= self.threads <= MAX_THREADS, "train.threads", f"must be in 0 … {MAX_THREADS}")
        require(
            isinstance(self.post_criterion_evals, int) and self.post_criterion_evals >= 0,
            "train.post_criterion_evals",
            "must be an integer ≥ 0",
        )
        require(
            is_int(self.criterion_evals) and self.criterion_evals >= 1,
            "train.criterion_evals",
            f"must be an integer ≥ 1, got {self.criterion_evals!r}",
        )
        require(
            finite(self.target_accuracy) and 0 < self.target_accuracy <= 1,
            "train.target_accuracy",
            f"must be in (0, 1], got {self.target_accuracy}",
        )
        require(finite(self.lr) and self.lr > 0, "train.lr", f"must be > 0, got {self.lr}")
        require(
            finite(self.hold_lr_scale) and 0 < self.hold_lr_scale <= 1,
            "train.hold_lr_scale",
            f"must be in (0, 1], got {self.hold_lr_scale}",
        )
        require(finite(self.grad_clip) and self.grad_clip > 0, "train.grad_clip", "must be > 0")
        require(
            finite(self.decision_weight) and self.decision_weight > 0,
            "train.decision_weight",
            "must be > 0",
        )
        require(
            self.device in ("auto", "cpu", "cuda"),
            "train.device",
            f"must be one of auto, cpu, cuda, got {self.device!r}",
        )


@dataclass(frozen=True)
class PPOConfig:
    """PPO settings: the ``[ppo]`` table of a run config. The learning rate is ``train.lr``."""

    rollout_trials: int = 1024
    """Trials (episodes) collected per update; each contributes all of its alive steps."""
    minibatches: int = 4
    """Minibatches of whole trials per epoch (1024 / 4 = 256 trials each by default)."""
    epochs: int = 4
    """Passes over the rollout per update."""
    gamma: float = 1.0
    """Discount factor. Trials are short (≤ 40 steps), so no discounting is needed."""
    gae_lambda: float = 0.95
    """GAE λ: bias/variance trade-off of the advantage estimate."""
    clip: float = 0.2
    """PPO ratio clip ε: the surrogate is flat outside [1 − ε, 1 + ε]."""
    clip_value: bool = True
    """Clip the value update to ±clip around the rollout's value, as PPO2/CleanRL do."""
    value_coef: float = 0.5
    """Weight of the value loss in the total loss."""
    value_huber: float = 0.0
    """Value loss: Huber loss with this threshold (½e² for |e| ≤ it, linear beyond); 0 gives the
    plain squared error ½e². See the module notes on large δ."""
    entropy_coef: float = 0.01
    """Weight of the entropy bonus (subtracted from the loss)."""
    grad_clip: float = 0.5
    """Maximum global gradient norm (PPO's own; ``train.grad_clip`` is the SL setting)."""
    normalize_advantages: bool = True
    """Standardise advantages over the rollout's alive steps."""
    target_kl: float = 0.0
    """Stop an update's remaining epochs once the approximate KL *per step* exceeds this; 0
    disables. (A per-step mean dilutes the one decision of a trial by its ~19 steps: see
    ``trial_kl_target``.)"""
    trial_kl_target: float = 0.02
    """Once the criterion is met, the learning rate is adapted so that one update moves the
    policy by about this KL per trial (the KL from the rollout's policy to the updated one,
    summed over each trial's steps, averaged over the rollout's trials): outside [½, 2] × this,
    it is multiplied by target / KL (by at most 1.5 up and 10 down), never above ``train.lr``.
    0 keeps ``train.lr`` throughout. Why 0.02: an update's trial KL sets how far it moves the
    greedy accuracy, and in measurements nine updates in ten with a trial KL below 0.05 moved
    it by less than 0.02 — the room between the 0.95 criterion and the 0.93 that an analysed
    checkpoint must keep (module notes, "Holding the criterion")."""
    logit_cap: float = 10.0
    """Soft cap on the policy logits inside the action distribution, logits → cap·tanh(logits /
    cap): a guard for saturated policies at large δ (logits of 10²–10³ at init). 0 disables.
    Never changes the network or its arg-max (greedy) action."""

    def __post_init__(self) -> None:
        is_num = finite
        for name in ("rollout_trials", "minibatches", "epochs"):
            v = getattr(self, name)
            if not (is_int(v) and v >= 1):
                raise ConfigError(f"ppo.{name}", f"must be an integer ≥ 1, got {v!r}")
        if self.minibatches > self.rollout_trials:
            raise ConfigError(
                "ppo.minibatches",
                f"must be ≤ ppo.rollout_trials ({self.rollout_trials}), got {self.minibatches}",
            )
        for name, lo, hi in (("gamma", 0.0, 1.0), ("gae_lambda", 0.0, 1.0)):
            v = getattr(self, name)
            if not (is_num(v) and lo <= v <= hi):
                raise ConfigError(f"ppo.{name}", f"must be in [{lo}, {hi}], got {v!r}")
        if not (is_num(self.clip) and self.clip > 0):
            raise ConfigError("ppo.clip", f"must be > 0, got {self.clip!r}")
        if not (is_num(self.grad_clip) and self.grad_clip > 0):
            raise ConfigError("ppo.grad_clip", f"must be > 0, got {self.grad_clip!r}")
        for name in ("value_coef", "value_huber", "entropy_coef", "target_kl", "logit_cap"):
            v = getattr(self, name)
            if not (is_num(v) and v >= 0):
                raise ConfigError(f"ppo.{name}", f"must be a number ≥ 0, got {v!r}")
        for name in ("clip_value", "normalize_advantages"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"ppo.{name}", "must be true or false")

    @property
    def minibatch_trials(self) -> int:
        """Trials per minibatch (the last minibatch takes the remainder, if any)."""
        return math.ceil(self.rollout_trials / self.minibatches)

    @staticmethod
    def from_mapping(values: Mapping[str, Any] | None) -> PPOConfig:
        """Build from the ``[ppo]`` table; unknown keys and bad values raise ConfigError."""
        if values is None:
            return PPOConfig()
        return build_section(PPOConfig, "ppo", values)

    @staticmethod
    def from_run_config(config: RunConfig) -> PPOConfig:
        """The PPO settings of a run: ``config.ppo`` (the defaults without a ``[ppo]`` table)."""
        return config.ppo or PPOConfig()


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines one training run."""

    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    ppo: PPOConfig | None = None
    """The ``[ppo]`` table (PPO's settings; None when the config has none: the defaults)."""

    def __post_init__(self) -> None:
        if self.ppo is not None and not isinstance(self.ppo, PPOConfig):
            raise ConfigError("ppo", "must be a table of PPO settings")

    def to_json(self) -> dict[str, Any]:
        """The config as plain JSON tables (``ppo`` only when the config has one)."""
        out = {
            "task": _task_to_json(self.task),
            "model": dataclasses.asdict(self.model),
            "train": dataclasses.asdict(self.train),
        }
        if self.ppo is not None:
            out["ppo"] = dataclasses.asdict(self.ppo)
        return out


def _task_to_json(task: TaskConfig) -> dict[str, Any]:
    """The ``[task]`` table. CtxDM omits ``name`` and ``env_kwargs``, so its ``config.json`` is
    exactly what it was before neurogym tasks existed (resume compares it); a neurogym task is
    only its ``name`` and ``env_kwargs`` (the CtxDM fields are unused and at their defaults)."""
    if not task.is_ctxdm:
        return {"name": task.name, "env_kwargs": dict(task.env_kwargs)}
    out: dict[str, Any] = {}
    for f in dataclasses.fields(task):
        if f.name in _SOURCE_FIELDS:
            continue
        v = getattr(task, f.name)
        out[f.name] = v.to_json() if isinstance(v, Duration) else v
    out["coherences"] = list(task.coherences)
    return out


def build_section(cls: type, section: str, values: Mapping[str, Any]) -> Any:
    """Build the config dataclass ``cls`` from the table ``[section]``; unknown keys and wrong
    types are ConfigErrors naming ``section.key``. Integers are accepted for float fields."""
    if not isinstance(values, Mapping):
        raise ConfigError(section, "must be a table")
    names = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in names:
            raise unknown_key(f"{section}.{key}", names)
        default = getattr(cls(), key)
        if cls is TaskConfig and key in ("fixation", "stimulus", "delay", "decision"):
            value = Duration.parse(value, f"{section}.{key}")
        elif cls is TaskConfig and key == "coherences":
            if not isinstance(value, list | tuple):
                raise ConfigError(f"{section}.{key}", "must be a list of numbers in [0, 100]")
            value = tuple(value)
        elif isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            try:
                value = float(value)
            except OverflowError:
                raise ConfigError(
                    f"{section}.{key}",
                    f"must be a finite number, got an integer of {len(str(value))} digits",
                ) from None
        elif isinstance(default, bool) and not isinstance(value, bool):
            raise ConfigError(f"{section}.{key}", f"must be true or false, got {value!r}")
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except ConfigError as e:
        raise e from None
    except (TypeError, ValueError) as e:
        raise ConfigError(section, str(e)) from None


RUN_TABLES: tuple[str, ...] = ("task", "model", "train")
EXTRA_TABLES: tuple[str, ...] = ("ppo",)
"""Algorithm tables a run config may hold besides :data:`RUN_TABLES`."""


def run_config_from_dict(data: Mapping[str, Any], where: str = "config") -> RunConfig:
    """Build a :class:`RunConfig` from nested tables (as in TOML or ``config.json``).

    A table or key this cogdyn does not know is a ConfigError (a typo such as ``[trian]`` must
    not silently train with defaults); fields missing from ``data`` take their defaults, which
    is how a ``config.json`` written before a field was added still reads. ``schema_version``
    (:mod:`cogdyn.schema`) is checked against ``where`` and dropped."""
    if not isinstance(data, Mapping):
        raise ConfigError(where, "must be a table of task, model, train (and ppo) tables")
    data = unstamp(data, where)
    allowed = (*RUN_TABLES, *EXTRA_TABLES)
    for k, v in data.items():
        if k not in allowed:
            raise unknown_key(str(k), allowed, "table")
        if not isinstance(v, Mapping):
            raise ConfigError(str(k), "must be a table")
    return RunConfig(
        task=build_section(TaskConfig, "task", data.get("task", {})),
        model=build_section(ModelConfig, "model", data.get("model", {})),
        train=build_section(TrainConfig, "train", data.get("train", {})),
        ppo=build_section(PPOConfig, "ppo", data["ppo"]) if "ppo" in data else None,
    )


def load_toml(path: str | Path, field_name: str = "--config") -> dict[str, Any]:
    """Read a TOML config file; a missing or unreadable file, or bad syntax, is a ConfigError
    naming ``field_name``."""
    p = Path(path)
    if not p.exists() or p.is_dir():
        raise ConfigError(field_name, f"no such file: {p}")
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(field_name, f"{p} is not valid TOML ({e})") from None
    except UnicodeDecodeError:
        raise ConfigError(field_name, f"{p} is not valid TOML (not UTF-8 text)") from None
    except OSError as e:
        raise ConfigError(field_name, f"cannot read {p} ({e.strerror or e})") from None


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge two nested dicts (overrides win); used to apply CLI flags over a file."""
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in base.items()}
    for k, v in overrides.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out
