"""An interrupted run resumed from its last evaluation ends exactly like an uninterrupted one."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from cogdyn import io
from cogdyn.config import ConfigError, run_config_from_dict
from cogdyn.io import BOOK_FILE, STATE_FILE
from cogdyn.train import ppo, supervised
from cogdyn.train.run import train

SMALL = {
    "model": {"hidden": 16},
    "train": {"max_updates": 12, "eval_every": 4, "eval_trials": 64, "target_accuracy": 0.99},
}


def _config(algo: str):
    extra = {"ppo": {"rollout_trials": 32, "minibatches": 2, "epochs": 2}} if algo == "ppo" else {}
    return run_config_from_dict(
        {**SMALL, "train": {**SMALL["train"], "algo": algo, "batch_size": 16}, **extra}
    )


class _Crash(Exception):
    pass


def _interrupt_after(monkeypatch, cls, n_updates: int) -> None:
    """Make ``cls.update`` raise on its (n_updates + 1)-th call: a crash mid-run."""
    original, calls = cls.update, {"n": 0}

    def update(self):
        calls["n"] += 1
        if calls["n"] > n_updates:
            raise _Crash
        return original(self)

    monkeypatch.setattr(cls, "update", update)


@pytest.mark.parametrize(
    ("algo", "cls"), [("sl", supervised.SupervisedUpdater), ("ppo", ppo.PPOUpdater)]
)
def test_resumed_run_equals_uninterrupted(tmp_path, monkeypatch, one_thread, algo, cls):
    config = _config(algo)
    whole = train(config, tmp_path / "whole", progress=False)

    with monkeypatch.context() as m:
        _interrupt_after(m, cls, 6)  # evaluations at 4 and 8: the crash loses updates 5–6
        with pytest.raises(_Crash):
            train(config, tmp_path / "cut", progress=False)
    assert (tmp_path / "cut" / BOOK_FILE).is_file()
    assert io.read_json(tmp_path / "cut" / BOOK_FILE)["update"] == 4
    resumed = train(config, tmp_path / "cut", progress=False, resume=True)

    keys = ("accuracy", "heldout_accuracy", "model_update", "updates", "trials", "env_steps")
    for key in (*keys, "checkpoints"):
        assert resumed[key] == whole[key], key
    a = io.load_state(tmp_path / "whole" / io.MODEL_FILE)[0]
    b = io.load_state(tmp_path / "cut" / io.MODEL_FILE)[0]
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert (tmp_path / "cut" / io.METRICS_FILE).read_text().count("\n") == 4  # header + 3 evals
    assert not (tmp_path / "cut" / STATE_FILE).exists()  # cleared once the summary is written


def test_resume_refuses_a_different_config(tmp_path, one_thread):
    train(_config("sl"), tmp_path / "run", progress=False)
    other = run_config_from_dict({**SMALL, "train": {**SMALL["train"], "seed": 3}})
    with pytest.raises(ConfigError, match="different config"):
        train(other, tmp_path / "run", progress=False, resume=True)


def test_without_resume_state_a_run_starts_afresh(tmp_path, one_thread):
    config = _config("sl")
    first = train(config, tmp_path / "a", progress=False, resume=True)
    second = train(config, tmp_path / "b", progress=False)
    assert first["accuracy"] == second["accuracy"]
    assert first["env_steps"] == second["env_steps"]


def test_kill_9_during_cogdyn_train_then_resume_gives_the_same_weights(
    tmp_path, one_thread, capsys, read_metrics
):
    """`cogdyn train` killed with SIGKILL mid-run, then `cogdyn train --resume --out DIR`: the
    same weights (every checkpoint and the final model), metrics and summary as a run that was
    never interrupted."""
    import json
    import signal
    import subprocess
    import sys
    import time

    from cogdyn.cli import main

    args = ["--hidden", "32", "--max-updates", "600", "--eval-every", "25", "--batch-size", "16"]
    args += ["--target-accuracy", "0.99", "--threads", "1", "--no-progress"]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert main(["train", *args, "--out", str(whole)]) == 0

    cmd = [sys.executable, "-m", "cogdyn.cli", "train", *args, "--out", str(cut)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if json.loads((cut / BOOK_FILE).read_text())["update"] >= 50:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL, "training ended before it could be killed"
    assert not (cut / io.SUMMARY_FILE).exists()
    at = json.loads((cut / BOOK_FILE).read_text())["update"]
    assert 50 <= at < 600

    # the run's config is DIR's: a flag that changes it is refused, one line
    assert main(["train", "--resume", "--out", str(cut), "--hidden", "64"]) == 2
    err = capsys.readouterr().err.strip()
    assert "model.hidden = 32 (the flags ask for 64)" in err and "\n" not in err

    assert main(["train", "--resume", "--out", str(cut), "--no-progress"]) == 0
    a, b = json.loads((whole / "summary.json").read_text()), io.read_json(cut / "summary.json")
    for key in ("accuracy", "updates", "trials", "env_steps", "checkpoints", "schema_version"):
        assert a[key] == b[key], key
    files = sorted(p.relative_to(whole) for p in whole.rglob("*.safetensors"))
    assert files == sorted(p.relative_to(cut) for p in cut.rglob("*.safetensors"))
    for rel in files:
        x, y = io.load_state(whole / rel)[0], io.load_state(cut / rel)[0]
        assert x.keys() == y.keys()
        for name in x:
            assert torch.equal(x[name], y[name]), (rel, name)
    assert read_metrics(whole / io.METRICS_FILE) == read_metrics(cut / io.METRICS_FILE)
    assert not (cut / BOOK_FILE).exists()
    # a finished run: --resume has nothing to do
    assert main(["train", "--resume", "--out", str(cut)]) == 0
    assert "training already finished" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("algo", "cls"), [("sl", supervised.SupervisedUpdater), ("ppo", ppo.PPOUpdater)]
)
def test_resumed_after_the_criterion_equals_uninterrupted(
    tmp_path, monkeypatch, one_thread, read_metrics, algo, cls
):
    """Resumed past the criterion, the updater holds the solution as it did uninterrupted
    (``hold()``: for PPO an adapted learning rate, restored with the optimiser state)."""
    from cogdyn.behaviour import Evaluation
    from cogdyn.tasks import make_task
    from cogdyn.train import loop

    config = _config(algo)
    if algo == "ppo":  # a target the tiny network's updates exceed: the rate falls every update
        held = dataclasses.replace(config.ppo, trial_kl_target=1e-5)
        config = dataclasses.replace(config, ppo=held)
    task = make_task(config.task)
    seed = loop.Seeds.from_seed(config.train.seed).eval
    held_out = task.sample(config.train.eval_trials, torch.Generator().manual_seed(seed))
    real = loop.evaluate

    def at_criterion(model, task, batch):  # the held-out trials say 1.0: criterion at update 4
        ev = real(model, task, batch)
        if not torch.equal(batch.inputs, held_out.inputs):
            return ev
        return Evaluation(1.0, ev.fix_break_rate, ev.no_response_rate, ev.mean_return, ev.outcome)

    monkeypatch.setattr(loop, "evaluate", at_criterion)
    whole = train(config, tmp_path / "whole", progress=False)
    assert whole["updates_to_criterion"] == 4 and whole["updates"] == 12
    with monkeypatch.context() as m:
        _interrupt_after(m, cls, 6)
        with pytest.raises(_Crash):
            train(config, tmp_path / "cut", progress=False)
    resumed = train(config, tmp_path / "cut", progress=False, resume=True)
    for key in ("accuracy", "model_update", "updates", "checkpoints"):
        assert resumed[key] == whole[key], key
    if algo == "ppo":
        rates = [float(r["lr"]) for r in read_metrics(tmp_path / "whole" / io.METRICS_FILE)]
        assert rates[0] == 1e-3 and max(rates[1:]) < 1e-3  # adapted after the criterion
    a = io.load_state(tmp_path / "whole" / io.MODEL_FILE)[0]
    b = io.load_state(tmp_path / "cut" / io.MODEL_FILE)[0]
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert read_metrics(tmp_path / "whole" / io.METRICS_FILE) == read_metrics(
        tmp_path / "cut" / io.METRICS_FILE
    )  # every column but wall_s
