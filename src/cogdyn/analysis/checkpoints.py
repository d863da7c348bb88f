"""Which weights of a run an analysis reads: the checkpoints a run's ``summary.json`` lists, the
sets a user selects (``post``, ``final``, ``all``), and the columns that tag every analysis
table with its checkpoint.

Attractor structure can change a lot between checkpoints of equal accuracy, so by default every
checkpoint at or past the accuracy criterion is analysed (kinds ``criterion`` and
``post_criterion``), together with the untrained network (``init``, the baseline) and the final
model. Checkpoints with identical weights (the final model is usually the last post-criterion
checkpoint) share one :func:`weights_digest`, so they are analysed once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from cogdyn import io
from cogdyn.errors import ConfigError

CHECKPOINT_SETS: tuple[str, ...] = ("post", "final", "all")
"""``post``: init + criterion + post-criterion + final; ``final``: the final model only;
``all``: every checkpoint (log-spaced ones too) + final."""
CHECKPOINT_KINDS: tuple[str, ...] = ("init", "log", "criterion", "post_criterion", "final")
POST_KINDS: tuple[str, ...] = ("criterion", "post_criterion")
"""Checkpoint kinds at or past the accuracy criterion."""


@dataclass(frozen=True)
class Checkpoint:
    """One set of weights of a run: ``name`` (file stem, or ``final``), ``file`` (relative to
    the run directory), ``kind`` (one of :data:`CHECKPOINT_KINDS`), ``update``, ``accuracy``
    (held-out accuracy recorded by training), ``fresh_accuracy`` (training's fresh-trial
    accuracy, None for runs that predate it)."""

    name: str
    file: str
    kind: str
    update: int
    accuracy: float
    fresh_accuracy: float | None = None

    def meta(self) -> dict[str, Any]:
        """The checkpoint's keys of a per-checkpoint record."""
        return {
            "checkpoint": self.name,
            "kind": self.kind,
            "update": self.update,
            "accuracy": self.accuracy,
            "fresh_accuracy": self.fresh_accuracy,
        }


def select_checkpoints(train_summary: dict[str, Any], which: str = "post") -> list[Checkpoint]:
    """The checkpoints of a run (its ``summary.json``) that ``which`` selects, final model last."""
    if which not in CHECKPOINT_SETS:
        raise ConfigError("analyze.checkpoints", f"must be one of {', '.join(CHECKPOINT_SETS)}")
    heldout = train_summary.get("heldout_accuracy")  # runs that record fresh accuracy
    final = Checkpoint(
        "final",
        io.MODEL_FILE,
        "final",
        int(train_summary.get("model_update", train_summary["updates"])),
        float(heldout if heldout is not None else train_summary["accuracy"]),
        float(train_summary["accuracy"]) if heldout is not None else None,
    )
    listed = [
        Checkpoint(
            Path(c["file"]).stem,
            c["file"],
            c["kind"],
            int(c["update"]),
            c["accuracy"],
            c.get("fresh_accuracy"),
        )
        for c in train_summary.get("checkpoints", [])
    ]
    if which == "final":
        return [final]
    if which == "post":
        listed = [c for c in listed if c.kind == "init" or c.kind in POST_KINDS]
    return [*listed, final]


def tag(frame: pd.DataFrame, ck: Checkpoint) -> pd.DataFrame:
    """``frame`` with the checkpoint's columns in front."""
    meta = pd.DataFrame(
        {
            "checkpoint": [ck.name] * len(frame),
            "kind": pd.Categorical([ck.kind] * len(frame), categories=list(CHECKPOINT_KINDS)),
            "update": [ck.update] * len(frame),
            "accuracy": [float(ck.accuracy)] * len(frame),
        }
    )
    return pd.concat([meta, frame.reset_index(drop=True)], axis=1)


def weights_digest(model: torch.nn.Module) -> str:
    """A hash of the weights: checkpoints with equal weights are analysed once."""
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
