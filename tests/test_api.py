"""The Python API: ``import cogdyn`` gives train, analyze, sweep, load_run, load_sweep; Run and
Sweep objects read the same files as the CLI writes."""

from __future__ import annotations

import pandas as pd
import pytest

import cogdyn
from cogdyn import io
from cogdyn.analysis.census import CENSUS_COLUMNS
from cogdyn.cli import main
from cogdyn.config import RunConfig
from cogdyn.dynamics.classify import LABELS
from cogdyn.models import VanillaRNN

TINY = {"model": {"hidden": 16}, "train": {"max_updates": 12, "eval_every": 4, "eval_trials": 64}}
QUICK = {"transient": 100, "measure": 100, "max_period": 16}
SWEEP = {
    "name": "api-tiny",
    "grid": {"algo": ["sl"], "delta": [0.1, 0.2], "seed": [0]},
    "model": {"hidden": 16},
    "train": {"max_updates": 8, "eval_every": 4, "eval_trials": 64, "batch_size": 16},
    "analysis": {
        "n_trials": 32,
        "checkpoints": "final",
        "populations": False,
        "min_accuracy": 0.0,
        "census": {"grid": 3, "extra_starts": 0, "start_trials": 4},
        "classify": QUICK,
    },
}


def test_import_cogdyn_gives_the_api():
    for name in ("train", "analyze", "sweep", "load_run", "load_sweep", "Run", "Sweep"):
        assert callable(getattr(cogdyn, name)), name
    assert set(cogdyn.API) <= set(dir(cogdyn))
    import importlib

    package = importlib.import_module("cogdyn.train.run")  # the subpackage of the same name
    assert callable(cogdyn.train) and cogdyn.train.run is package
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = cogdyn.nothing


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path_factory.mktemp("api") / "sl"
        run = cogdyn.train(TINY, out)
        cogdyn.analyze(run, checkpoints="final", grid=3, starts=0, classify=QUICK, n_trials=64)
    finally:
        torch.set_num_threads(before)
    return run


def test_train_returns_a_run_with_config_model_metrics_summary(trained):
    run = trained
    assert isinstance(run, cogdyn.Run)
    assert isinstance(run.config, RunConfig) and run.config.model.hidden == 16
    assert isinstance(run.model, VanillaRNN) and not run.model.training
    metrics = run.metrics
    assert isinstance(metrics, pd.DataFrame) and list(metrics["update"]) == [4, 8, 12]
    assert run.summary["updates"] == 12 and run.summary["algo"] == "sl"
    assert run.summary == io.read_json(run.path / io.SUMMARY_FILE)


def test_analyze_gives_tables_as_pandas(trained):
    run = trained
    assert {"attractors", "fixed_points", "basins", "populations"} <= set(run.tables)
    table = run.table("attractors")
    assert list(table.columns[4:]) == list(CENSUS_COLUMNS)
    assert len(table) == 2 * 3 * 3 and set(table["label"].astype(str)) <= set(LABELS)
    assert run.analysis["grid"]["n_grid_points"] == 18
    with pytest.raises(FileNotFoundError, match="no analysis table 'nope'; tables: attractors"):
        run.table("nope")


def test_api_and_cli_write_the_same_analysis(trained, tmp_path):
    """cogdyn.analyze is cogdyn analyze: the same census from the same run."""
    import shutil

    copy = shutil.copytree(trained.path, tmp_path / "copy")
    shutil.rmtree(copy / io.ANALYSIS_DIR)
    args = ["analyze", str(copy), "--checkpoints", "final", "--grid", "3", "--starts", "0"]
    # the CLI has no classify flags: compare against an API census with the CLI's defaults
    assert main([*args, "--no-populations"]) == 0
    cli = pd.read_parquet(io.analysis_file(copy, "attractors"))
    api = cogdyn.analyze(
        cogdyn.load_run(copy), checkpoints="final", grid=3, starts=0, populations=False
    )
    pd.testing.assert_frame_equal(api.table("attractors"), cli)


def test_census_of_a_run_in_memory(trained):
    table = trained.census(grid=3, extra_starts=0, classify=QUICK)
    assert list(table.columns) == list(CENSUS_COLUMNS) and len(table) == 18


def test_run_shows_itself_in_a_notebook(trained):
    page = trained._repr_html_()
    assert page.startswith("<table>") and "accuracy" in page and "attractors" in page
    assert f"{trained.summary['accuracy']:.3f}" in page
    assert "Run(" in repr(trained)


def test_load_run_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a run directory"):
        cogdyn.load_run(tmp_path)
    with pytest.raises(FileNotFoundError, match="is not a sweep directory"):
        cogdyn.load_sweep(tmp_path)


def test_train_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("")
    with pytest.raises(FileExistsError, match="not empty"):
        cogdyn.train(TINY, tmp_path / "x")


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("api-sweep") / "sweep"
    return cogdyn.sweep(SWEEP, out, workers=1)


def test_sweep_returns_a_sweep_of_runs(swept):
    sw = swept
    assert isinstance(sw, cogdyn.Sweep) and len(sw.cells) == 2
    assert (sw.results["status"] == "done").all()
    assert set(sw.runs) == set(sw.cells)
    assert isinstance(sw.model(sw.cells[0]), VanillaRNN)
    assert sw.summary["n_done"] == 2
    assert cogdyn.load_sweep(sw.path).cells == sw.cells
    assert "api-tiny" in sw._repr_html_() and "done 2" in sw._repr_html_()


def test_sweep_table_concatenates_cells_with_their_parameters(swept):
    table = swept.table("attractors")
    params = ["cell", "algo", "delta", "seed", "dim_ring", "coherences"]
    assert list(table.columns[:6]) == params
    assert set(table["coherences"]) == {"5,15,50"}
    assert len(table) == 2 * 18
    per_cell = table.groupby("cell").size()
    assert (per_cell == 18).all()
    for cell, part in table.groupby("cell"):
        one = swept.run(cell).table("attractors")
        pd.testing.assert_frame_equal(part.drop(columns=params).reset_index(drop=True), one)
    assert sorted(table["delta"].unique()) == [0.1, 0.2]
    assert cogdyn.sweep_table(swept.path, "fixed_points")["cell"].nunique() == 2
    metrics = swept.metrics
    assert {"cell", "delta", "update", "accuracy"} <= set(metrics.columns)
    with pytest.raises(FileNotFoundError, match="no cell"):
        swept.table("populations")  # populations were off in this sweep
