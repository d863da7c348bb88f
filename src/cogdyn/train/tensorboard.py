"""Optional TensorBoard logging of training curves (``cogdyn train --tensorboard DIR``).

Each evaluation's row of ``metrics.csv`` (accuracy, return, loss, ...) is also written as
TensorBoard scalars under ``train/<name>``, with the update count as the step. Needs the
``tensorboard`` package (``pip install 'cogdyn[tensorboard]'``); ``metrics.csv`` has the same
numbers without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cogdyn.errors import ConfigError

STEP_KEY = "update"


class ScalarLog:
    """A TensorBoard event writer for the rows of ``metrics.csv``."""

    def __init__(self, log_dir: str | Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError(
                "--tensorboard", "needs the tensorboard package: pip install 'cogdyn[tensorboard]'"
            ) from None
        self.writer = SummaryWriter(log_dir=str(log_dir))

    def log(self, row: Mapping[str, Any]) -> None:
        """Write every number of ``row`` but the step itself, at step ``row['update']``."""
        step = int(row[STEP_KEY])
        for name, value in row.items():
            if name != STEP_KEY and isinstance(value, int | float) and not isinstance(value, bool):
                self.writer.add_scalar(f"train/{name}", float(value), step)
        self.writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self.writer.close()
