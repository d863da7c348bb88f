"""The cogdyn command line: a tiny training run, evaluation, and one-line errors."""

import json

import pytest

from cogdyn.cli import main

TINY = ["--hidden", "16", "--max-updates", "6", "--threads", "1", "--no-progress"]


def test_train_then_eval(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        main(["train", "--algo", "sl", "--delta", "0.2", "--seed", "3", "--out", str(out), *TINY])
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["delta"] == 0.2 and summary["seed"] == 3 and summary["hidden"] == 16
    assert str(out) in capsys.readouterr().out
    assert main(["eval", str(out), "--trials", "200"]) == 0
    printed = capsys.readouterr().out
    assert "accuracy" in printed
    for name in (
        "psychometric.csv",
        "output_probabilities.csv",
        "output_probabilities.png",
        "summary.json",
    ):
        assert (out / "eval" / name).is_file()


def test_config_file_and_flags(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        "[task]\nsigma = 0.3\n"
        'delay = {dist = "uniform", min = 300, max = 600}\n'
        "[model]\ndelta = 0.07\n"
    )
    out = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--seed", "2", "--out", str(out), *TINY]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["task"]["sigma"] == 0.3 and config["model"]["delta"] == 0.07
    assert config["task"]["delay"] == {"dist": "uniform", "min": 300.0, "max": 600.0}
    assert config["train"]["seed"] == 2


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["train", "--delta", "-1"], "model.delta"),
        (["train", "--delta", "abc"], "--delta"),
        (["train", "--algo", "dqn"], "--algo"),
        (["train", "--sigma", "1.0"], "train.target_accuracy"),
        (["train", "--target-accuracy", "1.5"], "train.target_accuracy"),
        (["train", "--dim-ring", "1"], "task.dim_ring"),
        (["train", "--hidden", "0"], "model.hidden"),
        (["train", "--config", "/nonexistent.toml"], "--config"),
        (["eval", "/nonexistent-run"], "not a run directory"),
        (["train", "--unknown-flag"], "unrecognized"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle, capsys, tmp_path):
    assert main([*args, "--out", str(tmp_path / "x")] if args[0] == "train" else args) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("[task]\nsigmaa = 1\n", "task.sigmaa: unknown field"),
        ('[task]\ndelay = {dist = "gamma", mean = 3}\n', "task.delay.dist"),
        ("[task]\ngo_cue = 1\n", "task.go_cue"),
        ("[model\n", "not valid TOML"),
        ("[train]\nalgo = 'a2c'\n", "train.algo"),
    ],
)
def test_bad_config_file(tmp_path, capsys, toml, needle):
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml)
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err


def test_out_must_be_empty(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("x")
    assert main(["train", "--out", str(tmp_path), *TINY]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (tmp_path / "keep.txt").exists()
