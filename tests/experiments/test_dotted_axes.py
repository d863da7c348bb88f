"""Any config field as a sweep axis: dotted keys in ``[grid]`` (``"train.lr"``, ``"ppo.*"``,
``"task.*"``, ``"analysis.*"``), validated, named, tabulated, resumed and stratified."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from cogdyn import io
from cogdyn.cli import main
from cogdyn.errors import ConfigError
from cogdyn.experiments.results import read_checkpoints, read_results
from cogdyn.experiments.spec import load_sweep, sweep_from_dict, sweep_from_json
from cogdyn.experiments.stats import level_keys, sweep_stats
from cogdyn.experiments.sweep import prepare_dir, run_sweep, same_sweep
from cogdyn.io import SWEEP_FILE

GRID = """
name = "dotted"
[grid]
algo = ["sl", "ppo"]
delta = [0.1]
seed = [0]
"train.lr" = [1e-3, 3e-4]
"ppo.entropy_coef" = [0.0]
"task.stimulus" = [750, {dist = "uniform", min = 300, max = 1500}]
"train.decision_weight" = [20, 1]
"analysis.classify.zero_tol" = [2e-3, 1e-3]
[model]
hidden = 16
"""


def _write(tmp_path, text, name="sweep.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _plain(extra: str = "") -> str:
    return '[grid]\nalgo = ["sl"]\ndelta = [0.1]\nseed = [0]\n' + extra


def test_each_cell_gets_its_values_of_the_dotted_axes(tmp_path):
    sweep = load_sweep(_write(tmp_path, GRID))
    assert len(sweep.cells) == 2 * 2 * 2 * 2 * 2
    assert sweep.setting_axes == (
        "train.lr",
        "ppo.entropy_coef",
        "task.stimulus",
        "train.decision_weight",
        "analysis.classify.zero_tol",
    )
    seen = set()
    for cell in sweep.cells:
        run = cell.run_config()
        p = cell.params
        assert run.train.algo == p["algo"] and run.model.delta == p["delta"] == 0.1
        assert run.train.lr == p["train.lr"]
        assert run.ppo is not None and run.ppo.entropy_coef == p["ppo.entropy_coef"] == 0.0
        assert run.train.decision_weight == float(p["train.decision_weight"])
        if p["task.stimulus"] == 750:
            assert (run.task.stimulus.kind, run.task.stimulus.value) == ("constant", 750.0)
        else:
            stim = run.task.stimulus
            assert (stim.kind, stim.min, stim.max) == ("uniform", 300.0, 1500.0)
        assert cell.analysis.census.classify.zero_tol == p["analysis.classify.zero_tol"]
        assert run.model.hidden == 16  # the shared tables still apply
        seen.add(
            (
                p["algo"],
                p["train.lr"],
                repr(p["task.stimulus"]),
                p["train.decision_weight"],
                p["analysis.classify.zero_tol"],
            )
        )
    assert len(seen) == len(sweep.cells)
    # the sweep-wide analysis is the [analysis] table itself (no zero_tol there: the default)
    assert sweep.analysis.census.classify.zero_tol == 2e-3


def test_cell_ids_of_named_axes_are_unchanged_and_dotted_ones_are_appended(tmp_path):
    plain = sweep_from_dict({"grid": {"algo": ["sl", "ppo"], "delta": [0.1], "seed": [3]}})
    assert [c.id for c in plain.cells] == ["sl-d0.1-s3-r2-c5_15_50", "ppo-d0.1-s3-r2-c5_15_50"]
    sweep = load_sweep(_write(tmp_path, GRID))
    first = sweep.cells[0].id
    assert first == (
        "sl-d0.1-s0-r2-c5_15_50-train.lr_0.001-ppo.entropy_coef_0.0-task.stimulus_750"
        "-train.decision_weight_20-analysis.classify.zero_tol_0.002"
    )
    uniform = [c.id for c in sweep.cells if isinstance(c.params["task.stimulus"], dict)]
    assert all("task.stimulus_distuniform_max1500_min300" in i for i in uniform)
    ids = [c.id for c in sweep.cells]
    assert len(set(ids)) == len(ids)
    assert all(all(ch.isalnum() or ch in "._+-~" for ch in i) for i in ids)
    assert ids == [c.id for c in load_sweep(_write(tmp_path, GRID, "again.toml")).cells]


def test_odd_values_give_file_names(tmp_path):
    text = _plain('"task.name" = ["neurogym:PerceptualDecisionMaking-v0"]\n')
    sweep = load_sweep(_write(tmp_path, text))
    (cell_id,) = [c.id for c in sweep.cells]
    assert "/" not in cell_id and ":" not in cell_id and len(cell_id) < 160


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('"train.lrr" = [1e-3]', 'grid."train.lrr": unknown field; allowed: '),
        ('"trian.lr" = [1e-3]', 'grid."trian.lr": unknown table; allowed: task, model, train'),
        ('"ppo.entropy" = [0.0]', 'grid."ppo.entropy": unknown field; allowed: rollout_trials'),
        ('"analysis.census.gird" = [5]', 'grid."analysis.census.gird": unknown field'),
        ('"analysis.n_trails" = [5]', 'grid."analysis.n_trails": unknown field'),
        ('"analysis.census" = [5]', 'grid."analysis.census": is a table'),
        ('"analysis.census.classify.zero_tol" = [1e-3]', 'use "analysis.classify.zero_tol"'),
        ('"task.stimulus.value" = [750]', 'grid."task.stimulus.value": task.stimulus is one'),
        ('"train.seed" = [1]', 'grid."train.seed": is the [grid] axis seed'),
        ('"model.delta" = [0.2]', 'grid."model.delta": is the [grid] axis delta'),
        ('"train.threads" = [2]', 'grid."train.threads": is set by [execution] threads'),
        ('"train.lr" = 1e-3', 'grid."train.lr": must be a non-empty list'),
        ('"train.lr" = [1e-3, 0.001]', 'grid."train.lr": has repeated values'),
        ('"train.lr" = [1979-05-27]', 'grid."train.lr": has a value that is not a number'),
        ('"train.lr" = [-1]', "train.lr: must be > 0, got -1.0 (cell algo=sl, delta=0.1"),
        ('"analysis.n_trials" = [0]', "analysis.n_trials: must be an integer ≥ 1, got 0 (cell"),
        ('"train.lr" = [1e-3]\n[train]\nlr = 1e-3', "train.lr: is swept in [grid]; remove it"),
        (
            '"analysis.census.grid" = [3]\n[analysis.census]\ngrid = 5',
            "analysis.census.grid: is swept in [grid]; remove it here",
        ),
    ],
)
def test_a_bad_dotted_axis_is_one_line_and_exit_2(tmp_path, capsys, line, message):
    path = _write(tmp_path, _plain(line + "\n"))
    with pytest.raises(ConfigError) as info:
        load_sweep(path)
    assert message in str(info.value)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "out").exists()


def test_a_typo_gets_a_did_you_mean(tmp_path):
    with pytest.raises(ConfigError, match=r"did you mean 'lr'\?"):
        load_sweep(_write(tmp_path, _plain('"train.lrr" = [1e-3]\n')))
    with pytest.raises(ConfigError, match=r"did you mean 'entropy_coef'\?"):
        load_sweep(_write(tmp_path, _plain('"ppo.entropy_coeff" = [0.0]\n')))


def test_sweep_json_round_trips_and_changes_are_a_different_sweep(tmp_path):
    sweep = load_sweep(_write(tmp_path, GRID))
    written = io.as_written(sweep.to_json())
    again = sweep_from_json(written)
    assert io.as_written(again.to_json()) == written
    assert [c.analysis for c in again.cells] == [c.analysis for c in sweep.cells]
    zero_tols = {c["analysis"]["classify"]["zero_tol"] for c in written["cells"]}
    assert zero_tols == {2e-3, 1e-3}
    out = tmp_path / "out"
    prepare_dir(out, sweep)
    prepare_dir(out, again)  # a rerun of the same sweep: accepted
    assert same_sweep(io.read_json(out / SWEEP_FILE), written)
    # another value of a swept analysis setting in one cell is another sweep
    cell = sweep.cells[0]
    census = dataclasses.replace(
        cell.analysis.census,
        classify=dataclasses.replace(cell.analysis.census.classify, zero_tol=5e-3),
    )
    other = dataclasses.replace(cell, analysis=dataclasses.replace(cell.analysis, census=census))
    changed = dataclasses.replace(sweep, cells=(other, *sweep.cells[1:]))
    assert not same_sweep(written, io.as_written(changed.to_json()))
    with pytest.raises(ConfigError, match="holds a different sweep"):
        prepare_dir(out, changed)


def test_a_sweep_without_analysis_axes_writes_no_cell_analysis():
    sweep = sweep_from_dict(
        {"grid": {"algo": ["sl"], "delta": [0.1], "seed": [0], "train.lr": [1e-3, 3e-4]}}
    )
    cells = sweep.to_json()["cells"]
    assert all(set(c) == {"cell", "params", "config"} for c in cells)
    assert [c["config"]["train"]["lr"] for c in cells] == [1e-3, 3e-4]


def _frame(lr_effect: float) -> pd.DataFrame:
    """Results of 2 paradigms × 2 lr × 4 seeds at one δ: F_QP depends on lr only."""
    rows = []
    for algo in ("sl", "ppo"):
        for lr in (1e-3, 3e-4):
            for seed in range(4):
                rows.append(
                    {
                        "cell": f"{algo}-{lr}-{seed}",
                        "algo": algo,
                        "delta": 0.1,
                        "seed": seed,
                        "dim_ring": 2,
                        "coherences": "5,15,50",
                        "train.lr": lr,
                        "status": "done",
                        "reached_criterion": True,
                        "frac_qp": (lr_effect if lr == 1e-3 else 0.0) + 0.01 * seed,
                    }
                )
    return pd.DataFrame(rows)


def test_stats_keep_networks_of_different_settings_apart():
    frame = _frame(0.5)
    assert level_keys(frame) == ["dim_ring", "coherences", "train.lr"]
    stats = sweep_stats(frame)
    assert sorted(g["train.lr"] for g in stats["groups"]) == [3e-4, 1e-3]
    for g in stats["groups"]:
        assert g["sl"]["n"] == g["ppo"]["n"] == 4
        expected = 0.5 + 0.015 if g["train.lr"] == 1e-3 else 0.015
        assert g["sl"]["frac_qp_mean"] == pytest.approx(expected)
    central = stats["central"]
    assert central["strata"] == ["delta", "dim_ring", "coherences", "train.lr"]
    assert central["n_strata"] == 2
    assert central["effect"] == pytest.approx(0.0)
    assert [t["train.lr"] for t in stats["delta_trend_by_level"]] == [3e-4, 1e-3]


def test_the_variance_decomposition_puts_a_swept_setting_in_the_stratum():
    rows = []
    for _, r in _frame(0.5).iterrows():
        for k in range(2):
            rows.append({**r.to_dict(), "checkpoint": f"c{k}", "headline": True})
    checkpoints = pd.DataFrame(rows)
    variance = sweep_stats(_frame(0.5), checkpoints)["variance"]
    assert variance["stratum"] > 0.9  # lr explains it: between strata, not between paradigms
    assert variance["paradigm"] == pytest.approx(0.0, abs=1e-12)


TINY = """
name = "tiny-dotted"
[grid]
algo = ["sl"]
delta = [0.1]
seed = [0]
"train.lr" = [1e-3, 3e-4]
"analysis.classify.zero_tol" = [1.5e-3]
"task.stimulus" = [{dist = "uniform", min = 500, max = 800}]
[model]
hidden = 32
[train]
max_updates = 60
eval_every = 5
eval_trials = 128
batch_size = 32
[ppo]
rollout_trials = 64
minibatches = 2
epochs = 2
[analysis]
n_trials = 64
min_accuracy = 0.0
[analysis.census]
grid = 5
extra_starts = 1
start_trials = 8
[analysis.classify]
transient = 300
measure = 300
max_period = 32
"""


def test_a_tiny_dotted_sweep_runs_end_to_end(tmp_path):
    sweep = load_sweep(_write(tmp_path, TINY))
    assert len(sweep.cells) == 2
    out = tmp_path / "out"
    results, stats = run_sweep(sweep, out, workers=1, progress=False)
    assert list(results["status"]) == ["done", "done"], list(results["error"])
    assert list(results["train.lr"]) == [1e-3, 3e-4]
    assert list(results["analysis.classify.zero_tol"]) == [1.5e-3, 1.5e-3]
    assert list(results["task.stimulus"]) == ['{"dist":"uniform","max":800,"min":500}'] * 2
    table = read_results(out)
    assert list(table["train.lr"]) == [1e-3, 3e-4]
    assert table["train.lr"].dtype == np.float64
    checkpoints = read_checkpoints(out)
    assert checkpoints is not None and len(checkpoints)
    assert set(checkpoints["train.lr"]) == {1e-3, 3e-4}
    for cell in sweep.cells:
        config = io.read_json(out / "runs" / cell.id / io.CONFIG_FILE)
        assert config["train"]["lr"] == cell.params["train.lr"]
        assert config["task"]["stimulus"] == {"dist": "uniform", "min": 500.0, "max": 800.0}
        analysis = io.read_json(out / "runs" / cell.id / io.ANALYSIS_DIR / io.SUMMARY_FILE)
        # the cell's swept analysis setting, not the sweep-wide default (2e-3), was used
        assert analysis["options"]["census"]["classify"]["zero_tol"] == 1.5e-3
        assert analysis["options"]["census"]["classify"]["transient"] == 300
    assert sorted(g["train.lr"] for g in stats["groups"]) == [3e-4, 1e-3]
    # The Python API's tables write a swept table setting as the results table does: text.
    from cogdyn import api

    sw = api.Sweep(out)
    assert list(sw.params["task.stimulus"]) == list(results["task.stimulus"])
    assert set(sw.metrics["task.stimulus"]) == {'{"dist":"uniform","max":800,"min":500}'}
    # a rerun reads sweep.json back (the workers do too) and has nothing left to do
    again, _ = run_sweep(load_sweep(_write(tmp_path, TINY)), out, workers=1, progress=False)
    assert list(again["cell"]) == list(results["cell"])
    assert list(again["status"]) == ["done", "done"]


def test_every_analysis_setting_can_be_swept(tmp_path):
    """The dotted analysis keys are the [analysis] table's keys: none missing, none extra."""
    from cogdyn.experiments.spec import ANALYSIS_SETTINGS, ANALYSIS_TABLES

    with pytest.raises(ConfigError) as info:
        sweep_from_dict(
            {"grid": {"algo": ["sl"], "delta": [0.1], "seed": [0]}, "analysis": {"x": 1}}
        )
    allowed = str(info.value).split("allowed: ", 1)[1].split(" (", 1)[0].split(", ")
    assert sorted(allowed) == sorted([*ANALYSIS_SETTINGS, *ANALYSIS_TABLES])
    grid = {"algo": ["sl"], "delta": [0.1], "seed": [0], "analysis.figures": [True, False]}
    sweep = sweep_from_dict({"grid": grid})
    assert [c.analysis.figures for c in sweep.cells] == [True, False]
    assert [c.id.rsplit("-", 1)[1] for c in sweep.cells] == [
        "analysis.figures_true",
        "analysis.figures_false",
    ]
