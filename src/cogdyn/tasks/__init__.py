"""Trial sources: the batched CtxDM task, neurogym tasks (:mod:`cogdyn.tasks.neurogym`, through
:func:`make_task`), the trial container and shared scoring rules."""

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
    "TrialBatch",
    "TrialTask",
    "make_task",
    "score_actions",
]
