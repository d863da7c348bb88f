"""One entry point for training with either paradigm, chosen by ``config.train.algo``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cogdyn.config import RunConfig
from cogdyn.train.ppo import train_ppo
from cogdyn.train.supervised import train_supervised


def train(
    config: RunConfig,
    out: str | Path,
    *,
    progress: bool | None = None,
    resume: bool = False,
    tensorboard: str | Path | None = None,
) -> dict[str, Any]:
    """Train with the configured algorithm into ``out``; returns the run's summary.

    ``resume`` continues an interrupted run in ``out`` from its last evaluation
    (:mod:`cogdyn.train.resume`); ``tensorboard`` also logs each evaluation's metrics there
    (:mod:`cogdyn.train.tensorboard`).
    """
    if config.train.algo == "sl":
        return train_supervised(
            config, out, progress=progress, resume=resume, tensorboard=tensorboard
        )

    return train_ppo(config, out, progress=progress, resume=resume, tensorboard=tensorboard)
