"""Trial sources: the batched CtxDM task, the trial container and shared scoring rules."""

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
    "score_actions",
]
