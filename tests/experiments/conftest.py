"""A tiny sweep (4 cells, 16 units, a few updates, a 3 × 3 census) shared by the sweep tests."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY = """
name = "tiny"
[grid]
algo = ["sl", "ppo"]
delta = [0.1, 0.2]
seed = [0]
[model]
hidden = 16
[train]
max_updates = MAX_UPDATES
eval_every = 4
eval_trials = 64
batch_size = 16
[ppo]
rollout_trials = 32
minibatches = 2
epochs = 2
[analysis]
n_trials = 32
# The tiny networks are far below the criterion; 0 lets their checkpoints into the headline
# numbers so the whole pipeline has numbers to check.
min_accuracy = 0.0
[analysis.census]
grid = 3
extra_starts = 0
start_trials = 4
[analysis.classify]
transient = 100
measure = 100
max_period = 16
"""


def write_tiny(folder: Path, max_updates: int = 8) -> Path:
    path = folder / "tiny.toml"
    path.write_text(TINY.replace("MAX_UPDATES", str(max_updates)))
    return path


@pytest.fixture(scope="session")
def tiny_sweep(tmp_path_factory):
    """The uninterrupted reference: (sweep file, sweep directory, results table)."""
    from cogdyn.experiments.spec import load_sweep
    from cogdyn.experiments.sweep import run_sweep

    folder = tmp_path_factory.mktemp("tiny")
    path = write_tiny(folder, max_updates=40)
    results, _ = run_sweep(load_sweep(path), folder / "out", workers=2, progress=False)
    return path, folder / "out", results
