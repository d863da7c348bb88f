"""Trial sources: the batched CtxDM task, neurogym tasks (:mod:`cogdyn.tasks.neurogym`, through
:func:`make_task`), the trial container, shared scoring rules and :func:`check_task`, the check
of a task (one's own included) against the contract the trainers rely on."""

from cogdyn.tasks.base import (
    DECISION,
    DELAY,
    FIXATION,
    PAD,
    PERIOD_NAMES,
    STIMULUS,
    Outcome,
    TrialBatch,
    score_actions,
)
from cogdyn.tasks.check import TaskContractError, check_task
from cogdyn.tasks.ctxdm import CtxDM
from cogdyn.tasks.registry import TrialTask, make_task

__all__ = [
    "DECISION",
    "DELAY",
    "FIXATION",
    "PAD",
    "PERIOD_NAMES",
    "STIMULUS",
    "CtxDM",
    "Outcome",
    "TaskContractError",
    "TrialBatch",
    "TrialTask",
    "check_task",
    "make_task",
    "score_actions",
]
