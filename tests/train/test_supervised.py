"""Supervised training: determinism, learning, checkpoints, run-directory contents."""

import csv
import json

import pytest
import torch
from safetensors.torch import load_file

from cogdyn.config import run_config_from_dict
from cogdyn.train.loop import log_spaced_updates
from cogdyn.train.supervised import train_supervised

TINY = {
    "model": {"hidden": 16},
    "train": {
        "max_updates": 12,
        "eval_every": 4,
        "eval_trials": 64,
        "batch_size": 16,
        "threads": 1,
    },
}


def test_train_twice_gives_identical_weights_and_metrics(tmp_path, read_metrics):
    cfg = run_config_from_dict(TINY)
    s1 = train_supervised(cfg, tmp_path / "a", progress=False)
    s2 = train_supervised(cfg, tmp_path / "b", progress=False)
    w1, w2 = (
        load_file(str(tmp_path / "a/model.safetensors")),
        load_file(str(tmp_path / "b/model.safetensors")),
    )
    assert w1.keys() == w2.keys()
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    assert read_metrics(tmp_path / "a/metrics.csv") == read_metrics(tmp_path / "b/metrics.csv")
    assert s1["accuracy"] == s2["accuracy"] and s1["env_steps"] == s2["env_steps"]
    other = train_supervised(
        run_config_from_dict({**TINY, "train": {**TINY["train"], "seed": 1}}),
        tmp_path / "c",
        progress=False,
    )
    w3 = load_file(str(tmp_path / "c/model.safetensors"))
    assert not torch.equal(w1["weight_hh_l0"], w3["weight_hh_l0"])
    assert other["seed"] == 1


def test_run_directory_contents(tmp_path):
    cfg = run_config_from_dict(TINY)
    s = train_supervised(cfg, tmp_path, progress=False)
    for name in (
        "config.json",
        "env.json",
        "metrics.csv",
        "model.safetensors",
        "model.json",
        "summary.json",
    ):
        assert (tmp_path / name).is_file(), name
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key in (
        "algo",
        "delta",
        "seed",
        "hidden",
        "accuracy",
        "reached_criterion",
        "updates",
        "trials",
        "env_steps",
        "wall_s",
    ):
        assert key in summary
    assert summary["updates"] == 12 and summary["trials"] == 12 * 16
    assert s["env_steps"] > 12 * 16 * 13  # every trial lasts ≥ 14 steps
    env = json.loads((tmp_path / "env.json").read_text())
    assert env["torch"] == torch.__version__ and env["cpu_count"] >= 1
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model"]["hidden"] == 16 and config["task"]["delay"]["dist"] == "truncexp"
    kinds = [c["kind"] for c in summary["checkpoints"]]
    assert kinds[0] == "init" and summary["checkpoints"][0]["update"] == 0
    expected_log = sorted(log_spaced_updates(12))
    assert [c["update"] for c in summary["checkpoints"] if c["kind"] == "log"] == expected_log
    for c in summary["checkpoints"]:
        assert (tmp_path / c["file"]).is_file()
        # every checkpoint is scored on the held-out and on the fresh trials, in its sidecar too
        sidecar = json.loads((tmp_path / c["file"]).with_suffix(".json").read_text())
        assert sidecar["fresh_accuracy"] == c["fresh_accuracy"] and 0 <= c["fresh_accuracy"] <= 1
        assert sidecar["accuracy"] == c["accuracy"]
    # not at the criterion after 12 updates: the final weights are saved, scored on fresh trials
    assert summary["model_checkpoint"] is None and summary["model_update"] == 12
    assert "never met" in summary["model_selection"]
    assert "fresh_accuracy" in (tmp_path / "metrics.csv").read_text().splitlines()[0]
    assert not list(tmp_path.rglob("*.tmp"))


def _script_held_out(monkeypatch, accuracies):
    """Make the loop's evaluations on the held-out trials return ``accuracies`` in turn; the
    fresh trials are scored for real."""
    from cogdyn.behaviour import Evaluation
    from cogdyn.tasks import CtxDM
    from cogdyn.train import loop

    held_out = CtxDM().sample(64, torch.Generator().manual_seed(loop.Seeds.from_seed(0).eval))
    script, real = iter(accuracies), loop.evaluate

    def scripted(model, task, batch):
        ev = real(model, task, batch)
        if not torch.equal(batch.inputs, held_out.inputs):
            return ev
        acc = next(script)
        return Evaluation(acc, ev.fix_break_rate, ev.no_response_rate, ev.mean_return, ev.outcome)

    monkeypatch.setattr(loop, "evaluate", scripted)


# evaluated at: init, 1, 2, 3 (log), 4 (interval), 6 (log), 8, 10 (log), 12, 16, 18 (log), 20, and
# once more for the saved model
BEFORE = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.96, 0.9]


def test_post_criterion_checkpoints(tmp_path, monkeypatch):
    """Scripted held-out accuracies: the criterion is met at update 8, then exactly K = 3 more
    evaluation intervals run, each checkpointed, even when accuracy dips below the criterion."""
    _script_held_out(monkeypatch, [*BEFORE, 0.93, 0.97, 0.5, 0.98, 0.98])
    train = {**TINY["train"], "max_updates": 100, "post_criterion_evals": 3}
    s = train_supervised(run_config_from_dict({**TINY, "train": train}), tmp_path, progress=False)
    assert s["updates_to_criterion"] == 8 and s["reached_criterion"]
    crit = [c for c in s["checkpoints"] if c["kind"] == "criterion"]
    post = [c for c in s["checkpoints"] if c["kind"] == "post_criterion"]
    assert [c["update"] for c in crit] == [8]
    assert [c["update"] for c in post] == [12, 16, 20]
    assert [c["accuracy"] for c in post] == [0.93, 0.97, 0.98]
    assert s["updates"] == 20
    # the final weights are at the criterion: they are the saved model
    assert s["model_checkpoint"] == post[-1]["file"] and s["model_update"] == 20
    assert s["model_selection"].startswith("last evaluation, at the criterion")
    assert s["accuracy"] == post[-1]["fresh_accuracy"]  # scored on the fresh trials
    assert s["heldout_accuracy"] == 0.98
    # after the criterion the steps are hold_lr_scale (0.1) × lr
    with open(tmp_path / "metrics.csv") as fh:
        rates = {int(r["update"]): float(r["lr"]) for r in csv.DictReader(fh)}
    assert rates == {4: 1e-3, 8: 1e-3, 12: 1e-4, 16: 1e-4, 20: 1e-4}


def test_saved_model_is_the_last_checkpoint_at_criterion(tmp_path, monkeypatch):
    """The final weights fell below the criterion: the saved model is the last checkpoint that
    was at it on the held-out trials, weights, sidecar and summary alike."""
    _script_held_out(monkeypatch, [*BEFORE, 0.97, 0.96, 0.5, 0.90, 0.96])
    train = {**TINY["train"], "max_updates": 100, "post_criterion_evals": 3}
    s = train_supervised(run_config_from_dict({**TINY, "train": train}), tmp_path, progress=False)
    post = {c["update"]: c for c in s["checkpoints"] if c["kind"] == "post_criterion"}
    assert s["updates"] == 20 and s["model_update"] == 16
    assert s["model_checkpoint"] == post[16]["file"]
    assert "update 16" in s["model_selection"] and "update 20" in s["model_selection"]
    saved = load_file(str(tmp_path / "model.safetensors"))
    chosen = load_file(str(tmp_path / post[16]["file"]))
    assert all(torch.equal(saved[k], chosen[k]) for k in saved)
    assert s["accuracy"] == post[16]["fresh_accuracy"]
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["update"] == 16 and meta["fresh_accuracy"] == s["accuracy"]
    assert meta["checkpoint"] == post[16]["file"]


def test_choose_model_without_criterion():
    from cogdyn.train.loop import choose_model

    ckpts = [{"file": "a", "kind": "init", "update": 0, "accuracy": 0.99}]
    chosen, how = choose_model(ckpts, 0.95, reached=False)
    assert chosen is None and "never met" in how


def test_fresh_trials_are_their_own_stream():
    """The fresh trials come from a fourth stream; the three older streams are unchanged, so
    every run trained before the fresh trials existed is reproduced exactly."""
    import numpy as np

    from cogdyn.train.loop import Seeds

    for seed in (0, 1, 12345):
        s = Seeds.from_seed(seed)
        old = np.random.SeedSequence(seed).generate_state(3, dtype=np.uint64)
        assert (s.init, s.train, s.eval) == tuple(int(c) & 0x7FFF_FFFF_FFFF_FFFF for c in old)
        assert len({s.init, s.train, s.eval, s.fresh}) == 4


def test_log_spaced_updates():
    assert sorted(log_spaced_updates(100)) == [1, 2, 3, 6, 10, 18, 32, 56, 100]


def test_learns_above_chance(tmp_path):
    train = {"max_updates": 400, "eval_every": 100, "eval_trials": 500, "target_accuracy": 0.95}
    s = train_supervised(run_config_from_dict({"train": train}), tmp_path, progress=False)
    # chance is 0.5 (and a fixation break counts as an error); the untrained net scores 0
    assert s["checkpoints"][0]["accuracy"] < 0.5
    assert s["accuracy"] > 0.65


@pytest.mark.slow
@pytest.mark.parametrize("delta", [0.05, 0.1, 0.2])
def test_default_settings_reach_criterion(tmp_path, delta):
    cfg = run_config_from_dict({"model": {"delta": delta}})
    s = train_supervised(cfg, tmp_path, progress=False)
    assert s["reached_criterion"]
    crit = [c for c in s["checkpoints"] if c["kind"] == "criterion"]
    assert len(crit) == 1 and crit[0]["accuracy"] >= 0.95
    # held after the criterion (lr × 0.1): the saved model's fresh-trial accuracy was 0.96–0.99
    # at δ = 0.05, 0.1, 0.2 (seed 0; seeds 1–2 at δ = 0.1), every post-criterion checkpoint ≥ 0.96
    assert s["accuracy"] >= 0.93
    post = [c["fresh_accuracy"] for c in s["checkpoints"] if c["kind"] == "post_criterion"]
    assert min(post) >= 0.93


def test_hold_lr_scale_is_validated():
    from cogdyn.config import ConfigError

    for bad in (0.0, 1.5, -0.1, float("nan")):
        with pytest.raises(ConfigError, match=r"train\.hold_lr_scale"):
            run_config_from_dict({"train": {"hold_lr_scale": bad}})
    assert run_config_from_dict({"train": {"hold_lr_scale": 1}}).train.hold_lr_scale == 1.0
