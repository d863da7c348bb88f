"""The paper preset end to end, shrunk: every kind of cell it has (each paradigm at each task
level) with tiny budgets, on a real local Ray cluster, through to the report (issue 13)."""

from __future__ import annotations

import copy

import pytest

from cogdyn.experiments.spec import PRESETS, load_sweep, sweep_from_dict
from cogdyn.experiments.sweep import run_sweep
from cogdyn.report import build_report

TINY_BUDGET = {
    "model": {"hidden": 16},
    "train": {"max_updates": 4, "eval_every": 2, "eval_trials": 64, "batch_size": 16},
    "ppo": {"rollout_trials": 32, "minibatches": 2, "epochs": 1},
}
TINY_ANALYSIS = {
    "checkpoints": "post",
    "n_trials": 32,
    "min_accuracy": 0.0,  # tiny networks are far below the criterion
    "census": {"grid": 3, "extra_starts": 0, "start_trials": 4},
    "classify": {"transient": 50, "measure": 50, "max_period": 8},
    "population": {"n_shuffles": 5, "robustness_draws": 1},
}


def smoke_paper() -> dict:
    """The paper preset's own file with one δ and one seed and tiny budgets: every other axis
    (paradigms, task levels) as the preset has it."""
    source = copy.deepcopy(load_sweep("paper").source)
    source["name"] = "paper-smoke"
    source["grid"]["delta"] = source["grid"]["delta"][:1]
    source["grid"]["seed"] = source["grid"]["seed"][:1]
    for section, values in TINY_BUDGET.items():
        source.setdefault(section, {}).update(values)
    source["analysis"] = TINY_ANALYSIS
    return source


@pytest.mark.slow
def test_paper_preset_smoke_on_ray(tmp_path) -> None:
    ray = pytest.importorskip("ray")
    assert "paper" in PRESETS
    sweep = sweep_from_dict(smoke_paper())
    levels = {(c.params["algo"], c.params["dim_ring"]) for c in sweep.cells}
    assert levels == {("sl", 2), ("sl", 3), ("ppo", 2), ("ppo", 3)}
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        results, stats = run_sweep(sweep, tmp_path / "out", executor="ray", progress=False)
    finally:
        ray.shutdown()
    assert list(results["status"]) == ["done"] * len(sweep.cells), results[["cell", "error"]]
    assert {g["dim_ring"] for g in stats["groups"]} == {2, 3}
    assert (results["frac_qp"].notna()).all()
    page = build_report(tmp_path / "out").read_text(encoding="utf-8")
    assert "dim_ring" in page and "attractor maps" in page
