"""The example networks shipped in ``cogdyn.examples``: complete, trained, and analysable."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from cogdyn import examples, io
from cogdyn.analysis import analyze_run
from cogdyn.analysis.census import CensusOptions, attractor_census, census_summary
from cogdyn.behaviour import evaluate
from cogdyn.dynamics.classify import LABELS, ClassifyOptions
from cogdyn.populations import PopulationOptions
from cogdyn.tasks import CtxDM

NAMES = examples.names()
TINY_CENSUS = CensusOptions(
    grid=3, extra_starts=0, classify=ClassifyOptions(transient=100, measure=100, max_period=16)
)
RUN_FILES = ("config.json", "env.json", "metrics.csv", "model.safetensors", "model.json")


def test_there_are_rl_and_sl_examples() -> None:
    algos = {examples.info(name)["algo"] for name in NAMES}
    assert algos == {"ppo", "sl"}
    assert {"rl-small", "sl-small"} <= set(NAMES)


def test_examples_are_small() -> None:
    """A few hundred KB in all, as the index says."""
    total = sum(f.stat().st_size for n in NAMES for f in examples.path(n).rglob("*") if f.is_file())
    assert total < 600_000
    for name in NAMES:
        files = [f for f in examples.path(name).rglob("*") if f.is_file()]
        assert sum(f.stat().st_size for f in files) == examples.info(name)["size_bytes"]


@pytest.mark.parametrize("name", NAMES)
def test_example_is_a_complete_trimmed_run_directory(name: str) -> None:
    root = examples.path(name)
    for rel in (*RUN_FILES, "summary.json"):
        assert (root / rel).is_file(), rel
    summary = json.loads((root / "summary.json").read_text())
    meta = examples.info(name)
    assert summary["reached_criterion"] and meta["reached_criterion"]
    assert summary["algo"] == meta["algo"] and summary["hidden"] == meta["hidden"]
    kinds = [c["kind"] for c in summary["checkpoints"]]
    assert kinds[0] == "init" and "criterion" in kinds and "log" not in kinds
    assert kinds.count("post_criterion") == len(meta["heldout_accuracy_post_criterion"]) >= 1
    listed = {c["file"] for c in summary["checkpoints"]}
    on_disk = {f"checkpoints/{f.name}" for f in (root / "checkpoints").glob("*.safetensors")}
    assert listed == on_disk
    assert not (root / "resume.json").exists() and not (root / "analysis").exists()


@pytest.mark.parametrize("name", NAMES)
def test_example_performs_above_chance(name: str, one_thread) -> None:
    """Fresh trials: guessing after fixating gets ½, random actions about ⅓ of that."""
    config, model = examples.load(name)
    task = CtxDM(config.task)
    ev = evaluate(model, task, task.sample(1000, torch.Generator().manual_seed(7)))
    assert ev.accuracy > 0.75, ev.accuracy
    assert ev.accuracy == pytest.approx(examples.info(name)["eval_accuracy"], abs=0.05)


def test_analyze_runs_on_a_copy(tmp_path, one_thread) -> None:
    run_dir = examples.copy("rl-small", tmp_path / "rl-small")
    options = PopulationOptions(
        n_shuffles=5, robustness_draws=1, robustness_trials=32, decoder_folds=2
    )
    summary = analyze_run(
        run_dir,
        census=TINY_CENSUS,
        n_trials=40,
        progress=False,
        population_options=options,
    )
    assert summary["frac_qp"]["n"] >= 1
    assert summary["balance_index"] is not None
    table = pd.read_parquet(run_dir / "analysis" / "attractors.parquet")
    n_weights = len({str(k) for k in table["checkpoint"].unique()})
    assert len(table) == n_weights * 3 * 3 * 2
    assert set(table["label"].astype(str)) <= set(LABELS)
    assert not (examples.path("rl-small") / "analysis").exists(), "the shipped copy is untouched"


@pytest.mark.parametrize("name", NAMES)
def test_census_of_every_example_matches_its_index(name: str, one_thread) -> None:
    """Known answer: the final model's 11 × 11 stimulus census (the one ``make_examples``
    records in ``index.json``) gives the same label counts and F_QP today."""
    recorded = examples.index()[name]
    config, model = io.load_run(examples.path(name))
    table = attractor_census(model, CtxDM(config.task), CensusOptions(grid=11, extra_starts=0))
    summary = census_summary(table)
    assert {k: v for k, v in summary["label_counts"].items() if v} == recorded["label_counts"]
    assert round(summary["frac_qp"], 4) == recorded["frac_qp"]


def test_copy_refuses_a_non_empty_folder(tmp_path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("")
    with pytest.raises(FileExistsError):
        examples.copy("sl-small", tmp_path / "x")
    assert (
        examples.copy("sl-small", tmp_path / "x", overwrite=True).joinpath("config.json").is_file()
    )


def test_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(KeyError, match="rl-small"):
        examples.path("no-such-net")


def test_trim_keeps_what_analyze_uses(tmp_path, one_thread) -> None:
    """make_examples' trimming on a tiny fresh run: log checkpoints gone, analysis still works."""
    from cogdyn.config import run_config_from_dict
    from cogdyn.examples.make_examples import trim
    from cogdyn.train.run import train

    cfg = run_config_from_dict(
        {
            "model": {"hidden": 16},
            "train": {"max_updates": 12, "eval_every": 4, "eval_trials": 64, "batch_size": 16},
        }
    )
    run_dir = tmp_path / "run"
    train(cfg, run_dir, progress=False)
    trim(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert all(c["kind"] != "log" for c in summary["checkpoints"])
    assert len(list((run_dir / "checkpoints").glob("*.safetensors"))) == len(summary["checkpoints"])
    analyze_run(run_dir, checkpoints="all", census=TINY_CENSUS, progress=False, populations=False)
