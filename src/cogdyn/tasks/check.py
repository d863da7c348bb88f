"""Check that a trial task keeps the contract the trainers and evaluation rely on.

:func:`check_task` draws a few small batches from a task and scores hand-made action sequences
on them; the first thing that is wrong raises :class:`TaskContractError`, one line naming the
task, the part (``sample``, ``inputs``, ``score``, ...) and what was expected. The contract is
what the code that consumes a :class:`~cogdyn.tasks.TrialTask` actually uses:

* ``n_inputs`` / ``n_actions`` size the network (:class:`~cogdyn.models.VanillaRNN`); action 0
  is "fixate" and actions 1.. are the choices, so ``n_actions ≥ 2``.
* ``sample(B, generator)`` returns a :class:`~cogdyn.tasks.TrialBatch` of B trials: float32
  inputs (T, B, n_inputs), finite and zero on padding; int64 targets, period ids and lengths;
  a bool mask equal to the trial's own steps (supervised training packs trials by ``lengths``
  and counts every step of a trial); padding (``PAD``) exactly after each trial's length and T
  the longest trial.
* Targets are 0 (fixate) before the decision period and one choice (1..n_actions − 1) in it;
  every trial ends in a non-empty decision period. ``info`` holds per-trial tensors of shape
  (B,), among them ``choice``, the correct choice (evaluation tables and analyses group by it).
* The trials depend only on the generator: the same seed gives the same batch whatever was
  drawn before, another seed another batch, and no global random state (torch, numpy,
  ``random``) is used — the training loop draws its held-out, fresh and training trials from
  separate generators and a run must be reproducible from its seed.
* ``score(batch, actions)`` returns an :class:`~cogdyn.tasks.Outcome` of the documented shapes
  and dtypes (PPO reads ``rewards`` and ``alive``; evaluation reads ``correct``, ``choice`` and
  ``fix_break``): answering the targets is correct with no fixation break; always fixating and
  a wrong choice are not correct; a choice before the decision period is a fixation break;
  rewards are finite, 0 after the episode's end, and answering correctly earns more than
  fixating or answering wrongly (otherwise PPO has nothing to learn).
* ``check_target(accuracy)`` accepts a criterion of 0 and, when ``ideal_observer_accuracy`` is
  known and below 1, refuses one above it.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from torch import Tensor

from cogdyn.tasks.base import DECISION, PAD, PERIOD_NAMES, Outcome, TrialBatch

__all__ = ["TaskContractError", "check_task"]

_PERIOD_IDS = (PAD, *range(len(PERIOD_NAMES)))


class TaskContractError(ValueError):
    """A trial task that breaks the contract of :class:`~cogdyn.tasks.TrialTask`; the message
    names the task, the part that is wrong and what was expected."""


def check_task(task: Any, *, batch_size: int = 16, seed: int = 0) -> None:
    """Raise :class:`TaskContractError` unless ``task`` keeps the trial-task contract.

    Draws batches of ``batch_size`` trials (and one of a single trial) from generators seeded
    with ``seed`` and ``seed + 1``, and scores hand-made actions on them (the module docstring
    lists what is checked). Quick: a few small batches, no network.

    Example:
        >>> from cogdyn.tasks import CtxDM, check_task
        >>> check_task(CtxDM())
    """
    if batch_size < 2:
        raise ValueError(f"batch_size must be ≥ 2, got {batch_size}")
    label = _label(task)

    def fail(part: str, message: str) -> TaskContractError:
        return TaskContractError(f"{label}: {part}: {message}")

    _check_attributes(task, fail)
    n_inputs, n_actions = int(task.n_inputs), int(task.n_actions)

    states = _global_rng_states()
    first = _sample(task, batch_size, seed, fail)
    other = _sample(task, batch_size, seed + 1, fail)
    again = _sample(task, batch_size, seed, fail)
    single = _sample(task, 1, seed, fail)
    used = [
        name for name, state in _global_rng_states().items() if not _same_state(state, states[name])
    ]
    if used:
        raise fail(
            "sample",
            f"draws from the global random state of {', '.join(used)}; draw every random number "
            "from the generator passed to sample(batch_size, generator) (e.g. torch.randn(..., "
            "generator=generator)) so that a run is reproducible from its seed",
        )

    for batch, size in ((first, batch_size), (other, batch_size), (single, 1)):
        _check_batch(batch, size, n_inputs, n_actions, fail)
    if not _same_batch(first, again):
        raise fail(
            "sample",
            "the same generator seed gave different trials (the second draw came after a draw "
            "with another seed): the trials must depend only on the generator, not on state "
            "kept in the task or on a random source of its own",
        )
    if _same_batch(first, other):
        raise fail(
            "sample",
            "two different generator seeds gave identical trials: sample must draw its trials "
            "from the generator it is given (held-out, fresh and training trials would be the "
            "same batch)",
        )

    _check_scoring(task, first, n_actions, fail)
    _check_criterion(task, fail)


# ---------------------------------------------------------------------------------- parts
def _label(task: Any) -> str:
    name = getattr(task, "name", None)
    return f"task {name!r}" if isinstance(name, str) and name else f"task {type(task).__name__}"


def _is_int(x: Any) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool)


def _check_attributes(task: Any, fail: Any) -> None:
    name = getattr(task, "name", None)
    if not isinstance(name, str) or not name:
        raise fail("name", f"must be a non-empty string, got {name!r}")
    for method in ("sample", "score", "check_target"):
        if not callable(getattr(task, method, None)):
            raise fail(method, "missing: a trial task needs sample, score and check_target")
    n_inputs, n_actions = getattr(task, "n_inputs", None), getattr(task, "n_actions", None)
    if not _is_int(n_inputs) or n_inputs < 1:
        raise fail("n_inputs", f"must be an integer ≥ 1 (the network's inputs), got {n_inputs!r}")
    if not _is_int(n_actions) or n_actions < 2:
        raise fail(
            "n_actions",
            f"must be an integer ≥ 2 (0 = fixate, then one action per choice), got {n_actions!r}",
        )
    if not hasattr(task, "ideal_observer_accuracy"):
        raise fail("ideal_observer_accuracy", "missing: give the accuracy or None when unknown")
    ideal = task.ideal_observer_accuracy
    if ideal is not None and not (
        isinstance(ideal, int | float) and not isinstance(ideal, bool) and 0 < ideal <= 1
    ):
        raise fail("ideal_observer_accuracy", f"must be None or a number in (0, 1], got {ideal!r}")


def _sample(task: Any, size: int, seed: int, fail: Any) -> TrialBatch:
    generator = torch.Generator().manual_seed(seed)
    try:
        batch = task.sample(size, generator)
    except Exception as e:
        raise fail("sample", f"sample({size}, generator) raised {type(e).__name__}: {e}") from e
    if not isinstance(batch, TrialBatch):
        raise fail("sample", f"must return a cogdyn.tasks.TrialBatch, got {type(batch).__name__}")
    return batch


def _global_rng_states() -> dict[str, Any]:
    return {
        "torch": torch.get_rng_state(),
        "numpy": np.random.get_state(),
        "random": random.getstate(),
    }


def _same_state(a: Any, b: Any) -> bool:
    if isinstance(a, Tensor):
        return torch.equal(a, b)
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return all(_same_state(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return bool(a == b)


def _tensor(batch: TrialBatch, field: str, dtype: torch.dtype, shape: tuple, fail: Any) -> Tensor:
    value = getattr(batch, field)
    if not isinstance(value, Tensor):
        raise fail(field, f"must be a torch tensor, got {type(value).__name__}")
    if value.dtype != dtype:
        raise fail(field, f"must be {dtype}, got {value.dtype}")
    if tuple(value.shape) != shape:
        raise fail(field, f"must have shape {shape}, got {tuple(value.shape)}")
    return value


def _check_batch(batch: TrialBatch, size: int, n_inputs: int, n_actions: int, fail: Any) -> None:
    inputs = batch.inputs
    if not isinstance(inputs, Tensor) or inputs.dim() != 3:
        raise fail("inputs", f"must be a (T, B, n_inputs) tensor, got {_shape(inputs)}")
    n_steps = int(inputs.shape[0])
    if n_steps < 1:
        raise fail("inputs", "has no time steps")
    what = "float32 (the network's dtype)"
    if inputs.dtype != torch.float32:
        raise fail("inputs", f"must be {what}, got {inputs.dtype}")
    if tuple(inputs.shape[1:]) != (size, n_inputs):
        raise fail(
            "inputs",
            f"must have shape (T, {size}, {n_inputs}) for sample({size}, ...) and n_inputs="
            f"{n_inputs}, got {tuple(inputs.shape)}",
        )
    if not bool(torch.isfinite(inputs).all()):
        raise fail("inputs", "has non-finite values (NaN or inf)")
    grid = (n_steps, size)
    targets = _tensor(batch, "targets", torch.int64, grid, fail)
    mask = _tensor(batch, "mask", torch.bool, grid, fail)
    periods = _tensor(batch, "periods", torch.int64, grid, fail)
    lengths = _tensor(batch, "lengths", torch.int64, (size,), fail)

    if bool((lengths < 1).any()) or bool((lengths > n_steps).any()):
        raise fail("lengths", f"must be in 1..T={n_steps}, got {lengths.tolist()}")
    if int(lengths.max()) != n_steps:
        raise fail("lengths", f"the longest trial ({int(lengths.max())}) must fill T={n_steps}")
    bad = ~torch.isin(periods, torch.tensor(_PERIOD_IDS))
    if bool(bad.any()):
        raise fail(
            "periods",
            f"ids must be PAD (-1) or 0..3 ({', '.join(PERIOD_NAMES)}), got "
            f"{sorted(set(periods[bad].tolist()))}",
        )
    valid = torch.arange(n_steps).unsqueeze(1) < lengths.unsqueeze(0)
    if not torch.equal(periods != PAD, valid):
        raise fail("periods", "must be PAD exactly on the steps after each trial's length")
    if not torch.equal(mask, valid):
        raise fail("mask", "must be True exactly on each trial's own steps (t < lengths)")
    if bool((inputs[~valid] != 0).any()):
        raise fail("inputs", "must be zero on padding (the steps after a trial's length)")

    if bool((targets[valid] < 0).any()) or bool((targets[valid] >= n_actions).any()):
        raise fail("targets", f"must be actions in 0..{n_actions - 1} (n_actions={n_actions})")
    decision = periods == DECISION
    if bool((targets[valid & ~decision] != 0).any()):
        raise fail("targets", "must be 0 (fixate) on every step before the decision period")
    last = periods.gather(0, (lengths - 1).unsqueeze(0)).squeeze(0)
    if bool((last != DECISION).any()):
        raise fail("periods", "every trial must end in a decision period (the last step's id 3)")
    first_decision = torch.argmax(decision.to(torch.uint8), dim=0)
    steps = torch.arange(n_steps).unsqueeze(1)
    if not torch.equal(decision, (steps >= first_decision) & valid):
        raise fail("periods", "the decision period must be one run of steps that ends the trial")
    choice = targets.gather(0, (lengths - 1).unsqueeze(0)).squeeze(0)
    if bool((targets[decision] < 1).any()):
        raise fail("targets", "must be a choice (1..n_actions - 1) in the decision period")
    if bool((torch.where(decision, targets, choice.unsqueeze(0)) != choice).any()):
        raise fail("targets", "must be one choice per trial over its decision period")

    info = batch.info
    if not isinstance(info, dict):
        raise fail("info", f"must be a dict of per-trial tensors, got {type(info).__name__}")
    for key, value in info.items():
        if not isinstance(key, str) or not isinstance(value, Tensor) or value.shape != (size,):
            raise fail("info", f"{key!r} must be a tensor of shape ({size},), got {_shape(value)}")
    if "choice" not in info:
        raise fail("info", "needs 'choice', the correct choice of each trial (1..n_actions - 1)")
    if not torch.equal(info["choice"].long(), choice):
        raise fail("info", "'choice' must be the decision-period target of each trial")


def _check_scoring(task: Any, batch: TrialBatch, n_actions: int, fail: Any) -> None:
    size = batch.n_trials
    oracle = batch.targets.clone()
    fixate = torch.zeros_like(oracle)
    best = _score(task, batch, oracle, fail)
    if not bool(best.correct.all()) or bool(best.fix_break.any()):
        raise fail(
            "score",
            "answering the targets (fixate, then the correct choice) must be correct on every "
            f"trial with no fixation break; {int(best.correct.sum())}/{size} were correct",
        )
    choice = batch.info["choice"].long()
    if not torch.equal(best.choice, choice):
        raise fail("score", "Outcome.choice must be the first choice made in the decision period")
    idle = _score(task, batch, fixate, fail)
    if bool(idle.correct.any()) or bool((idle.choice != 0).any()):
        raise fail("score", "always fixating must not be correct (and its choice must be 0)")
    if bool(idle.fix_break.any()):
        raise fail("score", "always fixating must not count as a fixation break")
    best_return, idle_return = _returns(best), _returns(idle)
    if not bool((best_return > idle_return).all()):
        raise fail(
            "score",
            "answering correctly must earn more reward than never answering on every trial "
            f"(returns {best_return.tolist()} against {idle_return.tolist()})",
        )
    if n_actions >= 3:
        wrong_choice = choice % (n_actions - 1) + 1  # another choice in 1..n_actions - 1
        wrong = torch.where(batch.periods == DECISION, wrong_choice.unsqueeze(0), 0)
        missed = _score(task, batch, wrong, fail)
        if bool(missed.correct.any()):
            raise fail("score", "a wrong choice in the decision period must not be correct")
        if not bool((best_return > _returns(missed)).all()):
            raise fail("score", "a correct choice must earn more reward than a wrong one")
    early = batch.periods != DECISION
    has_early = (early & batch.valid).any(dim=0)
    breaking = torch.where(early & batch.valid, 1, batch.targets)
    broke = _score(task, batch, breaking, fail)
    if not torch.equal(broke.fix_break, has_early) or bool((broke.correct & has_early).any()):
        raise fail(
            "score",
            "a choice before the decision period must be a fixation break, and an error",
        )


def _score(task: Any, batch: TrialBatch, actions: Tensor, fail: Any) -> Outcome:
    try:
        outcome = task.score(batch, actions)
    except Exception as e:
        raise fail("score", f"score(batch, actions) raised {type(e).__name__}: {e}") from e
    if not isinstance(outcome, Outcome):
        raise fail("score", f"must return a cogdyn.tasks.Outcome, got {type(outcome).__name__}")
    grid, size = tuple(actions.shape), (actions.shape[1],)
    for field, dtype, shape in (
        ("rewards", torch.float32, grid),
        ("alive", torch.bool, grid),
        ("end_step", torch.int64, size),
        ("choice", torch.int64, size),
        ("fix_break", torch.bool, size),
        ("correct", torch.bool, size),
    ):
        value = getattr(outcome, field)
        if not isinstance(value, Tensor) or value.dtype != dtype or tuple(value.shape) != shape:
            raise fail(
                "score",
                f"Outcome.{field} must be a {dtype} tensor of shape {shape}, got "
                f"{getattr(value, 'dtype', type(value).__name__)} {_shape(value)}",
            )
    if not bool(torch.isfinite(outcome.rewards).all()):
        raise fail("score", "rewards must be finite")
    end = outcome.end_step
    if bool((end < 0).any()) or bool((end >= batch.lengths).any()):
        raise fail("score", "Outcome.end_step must lie inside each trial (0..length - 1)")
    steps = torch.arange(grid[0]).unsqueeze(1)
    if not torch.equal(outcome.alive, steps <= end.unsqueeze(0)):
        raise fail("score", "Outcome.alive must be True exactly up to each episode's end_step")
    if bool((outcome.rewards[~outcome.alive] != 0).any()):
        raise fail("score", "rewards must be 0 after the episode's end (PPO sums them)")
    return outcome


def _returns(outcome: Outcome) -> Tensor:
    return outcome.rewards.sum(dim=0)


def _check_criterion(task: Any, fail: Any) -> None:
    try:
        task.check_target(0.0)
    except Exception as e:
        raise fail("check_target", f"must accept a criterion of 0, raised {e}") from e
    ideal = task.ideal_observer_accuracy
    if ideal is None or ideal >= 1:
        return
    above = (ideal + 1.0) / 2
    try:
        task.check_target(above)
    except Exception:
        return
    raise fail(
        "check_target",
        f"accepted a criterion of {above:.4f}, above ideal_observer_accuracy {ideal:.4f}; it "
        "must refuse a criterion the task cannot reach (raise an error)",
    )


def _same_batch(a: TrialBatch, b: TrialBatch) -> bool:
    fields = ("inputs", "targets", "mask", "periods", "lengths")
    if any(getattr(a, f).shape != getattr(b, f).shape for f in fields):
        return False
    if not all(torch.equal(getattr(a, f), getattr(b, f)) for f in fields):
        return False
    if set(a.info) != set(b.info):
        return False
    return all(
        a.info[k].shape == b.info[k].shape and torch.equal(a.info[k], b.info[k]) for k in a.info
    )


def _shape(x: Any) -> str:
    return str(tuple(x.shape)) if hasattr(x, "shape") else type(x).__name__
