"""Supervised training: Adam on the masked cross-entropy between readout and targets.

The targets are "fixate" (class 0) before the decision period and the correct choice in it, on
every step of the trial (``TrialBatch.mask``, exactly the steps that packing keeps).
``decision_weight`` up-weights the choice classes, which occupy one step in about twenty.

Once the criterion is met the training loop calls :meth:`SupervisedUpdater.hold`, and the
learning rate drops to ``lr × hold_lr_scale`` (0.1) for the post-criterion evaluations: at the
full rate the noise of 64-trial batches keeps moving the decision of weak-evidence trials, and
the network's accuracy swings below the criterion between checkpoints (see
:attr:`~cogdyn.config.TrainConfig.hold_lr_scale`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F

from cogdyn.config import RunConfig
from cogdyn.models import VanillaRNN
from cogdyn.models.packed import Packing, run_packed
from cogdyn.tasks import TrialBatch, TrialTask
from cogdyn.train.loop import run_training


class SupervisedUpdater:
    """One Adam step per fresh batch of trials."""

    def __init__(
        self,
        model: VanillaRNN,
        task: TrialTask,
        generator: torch.Generator,
        device: torch.device,
        config: RunConfig,
    ) -> None:
        tc = config.train
        self.model, self.task, self.generator, self.device = model, task, generator, device
        self.batch_size, self.grad_clip = tc.batch_size, tc.grad_clip
        self.lr, self.hold_lr = tc.lr, tc.lr * tc.hold_lr_scale
        self.optimizer = torch.optim.Adam(model.parameters(), lr=tc.lr)
        weights = [1.0] + [tc.decision_weight] * (task.n_actions - 1)
        self.class_weights = torch.tensor(weights, device=device)

    def hold(self) -> None:
        """The criterion is met: from now on take steps at ``lr × hold_lr_scale``."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.hold_lr

    def update(self) -> dict[str, float]:
        """Draw a fresh batch of trials and take one step on it."""
        return self.step(self.task.sample(self.batch_size, self.generator).to(self.device))

    def step(self, batch: TrialBatch) -> dict[str, float]:
        """One Adam step on the masked cross-entropy of ``batch``."""
        # Packed: only the steps inside each trial are computed (about half of a padded batch).
        # The loss mask is exactly the trial's own steps, so nothing the loss needs is skipped.
        packing = Packing.of(batch.lengths)
        pos = packing.flat_index(batch.n_trials).to(self.device)
        hidden = run_packed(
            self.model, batch.inputs.reshape(-1, batch.inputs.shape[-1])[pos], packing
        )
        loss = F.cross_entropy(
            self.model.readout(hidden), batch.targets.reshape(-1)[pos], weight=self.class_weights
        )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
        self.optimizer.step()
        return {
            "loss": float(loss.detach()),
            "grad_norm": float(grad_norm),
            "lr": float(self.optimizer.param_groups[0]["lr"]),
            "trials": batch.n_trials,
            "env_steps": int(batch.lengths.sum()),
        }


def train_supervised(
    config: RunConfig,
    out_dir: str | Path,
    *,
    progress: bool | None = None,
    resume: bool = False,
    tensorboard: str | Path | None = None,
) -> dict[str, Any]:
    """Train one network by supervised learning into ``out_dir``; returns the summary."""
    return run_training(
        config,
        out_dir,
        lambda model, task, gen, device: SupervisedUpdater(model, task, gen, device, config),
        progress=progress,
        resume=resume,
        tensorboard=tensorboard,
    )
