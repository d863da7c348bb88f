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


# ---------------------------------------------------------------------------------------------
# The CLI table of issue 17: every error a user can cause is one line with the right status.


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A finished tiny run directory (8 units, 4 updates)."""
    out = tmp_path_factory.mktemp("tiny") / "run"
    args = ["--hidden", "8", "--max-updates", "4", "--eval-every", "2", "--threads", "1"]
    assert main(["train", "--out", str(out), "--no-progress", *args]) == 0
    return out


def _copy_run(tiny_run, tmp_path):
    import shutil

    shutil.copytree(tiny_run, tmp_path / "run")
    return tmp_path / "run"


def _one_line(capsys):
    err = capsys.readouterr().err.strip()
    assert err.startswith("cogdyn: error: "), err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def _damage(name, how):
    """Damage RUN/name: ``truncate`` (half of it, as a truncated download or a full disk leaves
    it), ``empty``, or ``text`` (replaced by some other file's content)."""

    def apply(run):
        path = run / name
        data = path.read_bytes()
        path.write_bytes({"truncate": data[: len(data) // 2], "empty": b"", "text": b"{ x"}[how])

    return apply


ANALYZE = ["--grid", "3", "--starts", "0", "--no-populations", "--no-progress"]


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (_damage("model.safetensors", "truncate"), "model.safetensors: unreadable"),
        (_damage("model.safetensors", "empty"), "model.safetensors: unreadable"),
        (_damage("config.json", "truncate"), "config.json: unreadable (not valid JSON"),
        (_damage("summary.json", "text"), "summary.json: unreadable"),
        (_damage("model.json", "truncate"), "model.json: unreadable"),
        (_damage("checkpoints/update_0000000.safetensors", "truncate"), "update_0000000"),
    ],
)
def test_analyze_of_a_corrupt_run_is_one_line_and_exit_2(
    tiny_run, tmp_path, capsys, damage, needle
):
    run = _copy_run(tiny_run, tmp_path)
    damage(run)
    assert main(["analyze", str(run), *ANALYZE]) == 2
    err = _one_line(capsys)
    assert needle in err and "restore it" in err
    assert not (run / "analysis").exists()


def test_analyze_refuses_garbled_weights_by_their_checksum(tiny_run, tmp_path, capsys):
    """A flipped byte inside the tensors still parses as safetensors; the sidecar's SHA-256
    catches it, so the analysis is not of a network that never existed."""
    run = _copy_run(tiny_run, tmp_path)
    data = bytearray((run / "model.safetensors").read_bytes())
    data[-5] ^= 0xFF
    (run / "model.safetensors").write_bytes(bytes(data))
    assert main(["analyze", str(run), *ANALYZE]) == 2
    assert "checksum does not match model.json" in _one_line(capsys)


def test_training_that_diverges_exits_1_and_is_recorded(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["--delta", "1e308", "--hidden", "8", "--max-updates", "5", "--threads", "1"]
    assert main(["train", "--out", str(out), "--no-progress", *args]) == 1
    err = _one_line(capsys)
    assert "training diverged: non-finite loss at update 1" in err
    assert "lower model.delta" in err and str(out / "failure.json") in err
    record = json.loads((out / "failure.json").read_text())
    assert record["status"] == "failed" and "non-finite loss" in record["error"]
    assert not (out / "summary.json").exists()
    # analysing the failed run says why there is nothing to analyse
    assert main(["analyze", str(out), *ANALYZE]) == 1
    assert "training failed (training diverged" in _one_line(capsys)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--hidden", "100000000"], "model.hidden: training a network of 100000000 units"),
        (["--batch-size", "100000000000"], "train.batch_size"),
        (["--threads", "100000000000"], "train.threads: must be in 0 … 4096"),
    ],
)
def test_absurd_sizes_are_refused_with_the_estimate(tmp_path, capsys, args, needle):
    assert main(["train", "--out", str(tmp_path / "x"), "--no-progress", *args]) == 2
    err = _one_line(capsys)
    assert needle in err
    if "training a network" in err or "batch_size" in err:
        assert "needs about" in err and "more than this machine's" in err
    assert not (tmp_path / "x").exists()


def test_memory_estimate_against_a_small_machine(tmp_path, capsys, monkeypatch):
    """The refusal compares the estimate with the machine's memory (here said to be 1 GiB)."""
    monkeypatch.setenv("COGDYN_MEMORY_BYTES", str(2**30))
    out = tmp_path / "x"
    assert main(["train", "--hidden", "20000", "--out", str(out), "--no-progress"]) == 2
    err = _one_line(capsys)
    assert "needs about" in err and "more than this machine's 1.0 GiB of memory" in err
    assert main(["train", "--hidden", "2000", "--dry-run"]) == 0
    assert "memory: about" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["eval", "RUN", "--trials", "1000000000"], "--trials: 1000000000 trials"),
        (["export", "RUN", "--trials", "1000000000"], "--trials: 1000000000 trials"),
        (["analyze", "RUN", "--grid", "200001", "--no-progress"], "census.grid: a census of"),
    ],
)
def test_absurd_analysis_sizes_are_refused(tiny_run, capsys, args, needle):
    args = [str(tiny_run) if a == "RUN" else a for a in args]
    assert main(args) == 2
    err = _one_line(capsys)
    assert needle in err and "needs about" in err


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("[bogus]\nx = 1\n", "bogus: unknown table; allowed: task, model, train, ppo"),
        ("[trian]\nseed = 1\n", "trian: unknown table; allowed: task, model, train, ppo (did you"),
        ("seed = 1\n", "seed: unknown table"),
        ("[model]\nhiden = 8\n", "model.hiden: unknown field; allowed: hidden, delta"),
        ("[ppo]\nepoch = 2\n", "ppo.epoch: unknown field"),  # an SL run still checks [ppo]
        ("[model]\ndelta = 1e999\n", "model.delta"),
        ("[model]\nhidden = 100000000000000000000000000000\n", "model.hidden"),
        ("[model]\ndelta = 1" + "0" * 400 + "\n", "model.delta: must be a finite number"),
        ("schema_version = 99\n", "written by a newer cogdyn"),
        (b"\xff\xfe[model]", "not valid TOML (not UTF-8 text)"),
    ],
)
def test_config_files_refuse_unknown_tables_and_keys(tmp_path, capsys, toml, needle):
    cfg = tmp_path / "c.toml"
    cfg.write_bytes(toml if isinstance(toml, bytes) else toml.encode())
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "x")]) == 2
    assert needle in _one_line(capsys)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["train", "--out", "<FILE>"], "--out: <FILE> is a file"),
        (["train", "--config", "<DIR>"], "--config: no such file"),
        (["train", "--resume"], "--resume needs --out DIR"),
        (["train", "--resume", "--overwrite", "--out", "<DIR>"], "--overwrite would delete it"),
        (["train", "--resume", "--out", "<DIR>"], "holds no run (no config.json)"),
        (["results", "<DIR>"], "has no results.parquet"),
        (["report", "<DIR>"], "has no results.parquet"),
        (["analyze", "<DIR>"], "is not a run directory (no config.json)"),
        (["sweep", "<FILE>", "--dry-run"], "sweep: <FILE> is not valid TOML"),
        (["sweep", "quick"], "--out DIR is required"),
        (["sweep", "quick", "--out", "<FILE>"], "--out: <FILE> is a file"),
        (["sweep", "quick", "--out", "<DIR>", "--address", "auto"], "--address: is for --executor"),
    ],
)
def test_paths_that_cannot_be_used(tmp_path, capsys, args, needle):
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "something").write_text("x")
    paths = {"<FILE>": str(tmp_path / "file"), "<DIR>": str(tmp_path / "dir")}
    assert main([paths.get(a, a) for a in args]) == 2
    err = _one_line(capsys)
    for key, value in paths.items():
        needle = needle.replace(key, value)
    assert needle in err


def test_an_internal_error_prints_one_line_and_the_log_of_its_traceback(
    tmp_path, capsys, monkeypatch
):
    from cogdyn.cli import train as train_commands

    def broken(config, out, **kwargs):
        raise ZeroDivisionError("a bug\nspread over lines")

    monkeypatch.setattr(train_commands, "train", broken)
    monkeypatch.setenv("COGDYN_LOG_DIR", str(tmp_path / "logs"))
    assert main(["train", "--hidden", "8", "--out", str(tmp_path / "x")]) == 1
    err = _one_line(capsys)
    assert "internal error: ZeroDivisionError: a bug spread over lines" in err
    log = next((tmp_path / "logs").glob("cogdyn-crash-*.log"))
    assert str(log) in err
    text = log.read_text()
    assert "Traceback" in text and "ZeroDivisionError" in text and "command: cogdyn train" in text


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["analyze", "RUN", "--threads", "100000000"], "--threads: must be at most 4096"),
        (["train", "--device", "cuda", "--dry-run"], "train.device"),
        (["train", "--lr", "nan", "--dry-run"], "train.lr: must be > 0"),
        (["train", "--delta", "inf", "--dry-run"], "model.delta: must be > 0"),
    ],
)
def test_values_torch_would_crash_on_are_refused(tiny_run, capsys, args, needle):
    """torch segfaults on set_num_threads(10**8); CUDA may be absent; NaN and inf are no sizes."""
    import torch

    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main([str(tiny_run) if a == "RUN" else a for a in args]) == 2
    assert needle in _one_line(capsys)


def test_a_cuda_run_is_also_bounded_by_the_gpus_memory(tmp_path, capsys, monkeypatch):
    """With --device cuda the estimate is compared with the GPU's memory as well (a GPU of
    1 GiB is simulated)."""
    import types

    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    gpu = types.SimpleNamespace(total_memory=2**30)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda index: gpu)
    assert main(["train", "--hidden", "20000", "--device", "cuda", "--out", str(tmp_path)]) == 2
    err = _one_line(capsys)
    assert "training a network of 20000 units" in err and "the GPU's 1.0 GiB of memory" in err


def test_version(capsys):
    import cogdyn

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.startswith(f"cogdyn {cogdyn.__version__} (torch ")
