"""One place that turns a task config into its trial source.

``task.name = "ctxdm"`` (the default) is cogdyn's batched CtxDM; ``"neurogym:<EnvId>"`` is any
supported neurogym task through :class:`~cogdyn.tasks.neurogym.NeurogymTask` (neurogym is an
optional extra, imported only then). Both satisfy :class:`TrialTask`.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import Tensor

from cogdyn.config import TaskConfig
from cogdyn.tasks.base import Outcome, TrialBatch
from cogdyn.tasks.ctxdm import CtxDM
from cogdyn.tasks.neurogym import NeurogymTask


class TrialTask(Protocol):
    """What training and evaluation need from a task: batched trials and their scoring."""

    name: str
    ideal_observer_accuracy: float | None

    @property
    def n_inputs(self) -> int: ...

    @property
    def n_actions(self) -> int: ...

    def sample(self, batch_size: int, generator: torch.Generator) -> TrialBatch: ...

    def score(self, batch: TrialBatch, actions: Tensor) -> Outcome: ...

    def check_target(self, target_accuracy: float) -> None: ...


def make_task(config: TaskConfig | None = None) -> TrialTask:
    """The trial source that ``config.name`` selects (CtxDM by default)."""
    config = config or TaskConfig()
    if config.is_ctxdm:
        return CtxDM(config)

    return NeurogymTask(config)
