"""Fixtures of the report tests: two tiny trained runs (built once) and a fresh sweep
directory around them per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from fake_sweep import make_sweep, train_tiny


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory) -> dict[str, Path]:
    """An SL and a PPO run (hidden 16, 6 updates), analysed and with figure data."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        root = tmp_path_factory.mktemp("tiny_runs")
        runs = {algo: root / algo for algo in ("sl", "ppo")}
        for algo, path in runs.items():
            train_tiny(path, algo)
    finally:
        torch.set_num_threads(before)
    return runs


@pytest.fixture
def sweep_dir(tmp_path, tiny_runs) -> Path:
    """A schema-true sweep directory (results, stats, sweep.json, two real runs)."""
    return make_sweep(tmp_path / "sweep", tiny_runs)
