"""A sweep on a neurogym task: trained, then the census over its trial conditions."""

from __future__ import annotations

import pandas as pd
import pytest

from cogdyn import io
from cogdyn.experiments.spec import load_sweep, preset_path
from cogdyn.experiments.sweep import run_sweep

pytest.importorskip("neurogym")

TINY = """
name = "ng-tiny"
[grid]
algo = ["sl", "ppo"]
delta = [0.1]
seed = [0]
[task]
name = "neurogym:PerceptualDecisionMaking-v0"
[task.env_kwargs]
dt = 100
timing = { fixation = 100, stimulus = 500, delay = 0, decision = 100 }
[model]
hidden = 32
[train]
max_updates = 20
eval_every = 10
eval_trials = 64
batch_size = 16
target_accuracy = 0.8
[ppo]
rollout_trials = 64
minibatches = 2
epochs = 2
[analysis.classify]
transient = 200
measure = 200
max_period = 16
"""


def test_neurogym_sweep_runs_the_condition_census(tmp_path, one_thread):
    path = tmp_path / "ng.toml"
    path.write_text(TINY)
    sweep = load_sweep(path)
    assert [c.id for c in sweep.cells] == ["sl-d0.1-s0", "ppo-d0.1-s0"]
    results, stats = run_sweep(sweep, tmp_path / "out", workers=2, progress=False)
    assert list(results["status"]) == ["done", "done"]
    assert set(results["task"]) == {"neurogym:PerceptualDecisionMaking-v0"}
    assert results["frac_qp"].between(0, 1).all()
    assert results["frac_qp_untrained"].between(0, 1).all()
    table = pd.read_parquet(tmp_path / "out/runs/sl-d0.1-s0/analysis/attractors.parquet")
    per_checkpoint = table.groupby("checkpoint").size()
    # PerceptualDecisionMaking: ground truth (2) × coherence (0, 6.4, 12.8, 25.6, 51.2 %).
    assert set(per_checkpoint) == {10}
    assert {"ground_truth", "coh", "label", "lyap1"} <= set(table.columns)
    summary = io.read_json(tmp_path / "out/runs/sl-d0.1-s0/analysis/summary.json")
    assert summary["grid"]["conditions"] == 10
    assert stats["groups"][0]["task"] == "neurogym:PerceptualDecisionMaking-v0"


def test_the_neurogym_preset_loads():
    sweep = load_sweep("neurogym-pdm")
    assert preset_path("neurogym-pdm").is_file()
    assert len(sweep.cells) == 30
    assert all(c.params["task"].startswith("neurogym:") for c in sweep.cells)
