"""neurogym tasks as cogdyn trial sources, checked against neurogym's own trials.

Each batch must hold exactly the trials neurogym draws after ``env.seed(s)`` (``ob`` as inputs,
``gt`` as targets, the trial's length, mask and period ids), padded as cogdyn pads; the same
generator state must give the same batch; SL and PPO must learn PerceptualDecisionMaking.
"""

import math
import warnings

import numpy as np
import pytest
import torch
from scipy import stats

from cogdyn.config import ConfigError, RunConfig, TaskConfig, run_config_from_dict
from cogdyn.tasks import DECISION, DELAY, FIXATION, PAD, STIMULUS, make_task
from cogdyn.tasks.neurogym import NeurogymTask, period_id

ngym = pytest.importorskip("neurogym")

TASKS = {
    "PerceptualDecisionMaking-v0": {"timing": {"stimulus": 500}},
    "ContextDecisionMaking-v0": {"use_expl_context": True},
    "DelayMatchSample-v0": {},
    "DelayComparison-v0": {},
}
# neurogym period names → the ids the adapter must give them (module docstring)
EXPECTED_IDS = {
    "fixation": FIXATION,
    "stimulus": STIMULUS,
    "sample": STIMULUS,
    "test": STIMULUS,
    "stimulus1": STIMULUS,
    "stimulus2": STIMULUS,
    "delay": DELAY,
    "decision": DECISION,
}


def _task(env_id, **kwargs):
    return NeurogymTask(TaskConfig(name=f"neurogym:{env_id}", env_kwargs=kwargs))


def _reference_env(env_id, kwargs, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = ngym.make(env_id, **kwargs).unwrapped
    env.seed(seed)
    return env


def _seed_drawn(generator_seed):
    """The seed ``sample`` hands to ``env.seed``: one draw from the generator (documented)."""
    return int(
        torch.randint(2**31 - 1, (1,), generator=torch.Generator().manual_seed(generator_seed))
    )


@pytest.mark.parametrize("env_id", list(TASKS))
def test_batches_are_neurogyms_own_trials(env_id, one_thread):
    kwargs = TASKS[env_id]
    task = _task(env_id, **kwargs)
    batch = task.sample(64, torch.Generator().manual_seed(3))
    env = _reference_env(env_id, kwargs, _seed_drawn(3))
    assert batch.inputs.shape[-1] == env.observation_space.shape[0]
    assert task.n_actions == env.action_space.n
    for i in range(batch.n_trials):
        for d in (env.start_ind, env.end_ind, env.start_t, env.end_t):
            d.clear()
        trial = env.new_trial()
        n = env.ob.shape[0]
        assert int(batch.lengths[i]) == n
        np.testing.assert_array_equal(batch.inputs[:n, i].numpy(), env.ob.astype(np.float32))
        np.testing.assert_array_equal(batch.targets[:n, i].numpy(), env.gt)
        assert batch.mask[:n, i].all() and not batch.mask[n:, i].any()
        assert (batch.inputs[n:, i] == 0).all() and (batch.periods[n:, i] == PAD).all()
        expected = np.full(n, -9)
        for name in env.start_ind:
            expected[env.start_ind[name] : env.end_ind[name]] = EXPECTED_IDS[name]
        np.testing.assert_array_equal(batch.periods[:n, i].numpy(), expected)
        # the correct choice is the decision-period target, also in info
        assert int(batch.info["choice"][i]) == int(env.gt[-1]) >= 1
        assert int(batch.info["ground_truth"][i]) == int(trial["ground_truth"])


@pytest.mark.parametrize("env_id", list(TASKS)[:3])
def test_same_seed_same_trials(env_id, one_thread):
    a = _task(env_id, **TASKS[env_id]).sample(32, torch.Generator().manual_seed(11))
    b = _task(env_id, **TASKS[env_id]).sample(32, torch.Generator().manual_seed(11))
    c = _task(env_id, **TASKS[env_id]).sample(32, torch.Generator().manual_seed(12))
    for name in ("inputs", "targets", "periods", "lengths", "mask"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    assert a.inputs.shape != c.inputs.shape or not torch.equal(a.inputs, c.inputs)


def test_period_names_map_onto_cogdyn_ids():
    assert [period_id(n) for n in ("fixation", "stimulus", "delay", "decision")] == [0, 1, 2, 3]
    assert period_id("delay2") == DELAY and period_id("sample") == STIMULUS


def test_rewards_follow_the_envs_reward_table():
    task = _task(
        "PerceptualDecisionMaking-v0",
        timing={"stimulus": 300},
        rewards={"correct": 2.0, "fail": -1.0, "abort": -0.5},
    )
    batch = task.sample(50, torch.Generator().manual_seed(0))
    perfect = task.score(batch, batch.targets)
    assert perfect.accuracy == 1.0
    assert torch.allclose(perfect.rewards.sum(0), torch.full((50,), 2.0))
    wrong = torch.where(batch.targets > 0, 3 - batch.targets, 0)  # the other choice
    out = task.score(batch, wrong)
    assert out.accuracy == 0.0 and torch.allclose(out.rewards.sum(0), torch.full((50,), -1.0))
    early = torch.zeros_like(batch.targets)
    early[0] = 1  # a choice in the fixation period: a fixation break, then no response
    out = task.score(batch, early)
    assert out.fix_break.all() and torch.allclose(out.rewards.sum(0), torch.full((50,), -0.5))


def test_frozen_inputs_are_the_noise_free_period_means():
    task = _task("PerceptualDecisionMaking-v0", sigma=0.0, timing={"stimulus": 300})
    frozen = task.frozen_inputs(n_trials=300, seed=0)
    assert frozen.periods == ("fixation", "stimulus", "delay", "decision")
    assert set(frozen.conditions.columns) == {"coh", "ground_truth", "n_trials"}
    assert frozen.conditions["n_trials"].sum() == 300
    assert len(frozen.conditions) == 10  # 2 choices × 5 coherences
    theta = np.array([0.0, np.pi])
    for k, row in frozen.conditions.iterrows():
        stim = np.cos(theta - theta[int(row["ground_truth"])]) * row["coh"] / 200 + 0.5
        np.testing.assert_allclose(frozen.inputs[k, 1], [0.0, *stim], atol=1e-6)
        np.testing.assert_allclose(frozen.inputs[k, 0], [1.0, 0.0, 0.0])
        assert np.isnan(frozen.inputs[k, 2]).all()  # PDM's delay lasts 0 steps
        np.testing.assert_allclose(frozen.inputs[k, 3], [0.0, 0.0, 0.0])


def test_unsupported_or_unknown_tasks_are_one_line_config_errors():
    with pytest.raises(ConfigError, match=r"task.name: GoNogo-v0 is not supported"):
        _task("GoNogo-v0")
    with pytest.raises(ConfigError, match=r"task.name: no neurogym task"):
        _task("NoSuchTask-v0")
    with pytest.raises(ConfigError, match=r"task.env_kwargs"):
        _task("PerceptualDecisionMaking-v0", no_such_kwarg=1)
    with pytest.raises(ConfigError, match=r"task.sigma: applies to ctxdm only"):
        TaskConfig(name="neurogym:PerceptualDecisionMaking-v0", sigma=1.0)
    with pytest.raises(ConfigError, match=r"task.env_kwargs: is only for neurogym"):
        TaskConfig(env_kwargs={"dt": 50})


def test_config_round_trip_and_ctxdm_json_unchanged():
    data = {"task": {"name": "neurogym:DelayMatchSample-v0", "env_kwargs": {"dt": 50}}}
    config = run_config_from_dict(data)
    assert config.to_json()["task"] == data["task"]
    assert run_config_from_dict(config.to_json()) == config
    assert "name" not in RunConfig().to_json()["task"]  # CtxDM's config.json is as before
    assert make_task(config.task).dt == 50.0


def _train(tmp_path, algo, updates, **extra):
    from cogdyn.train.run import train

    data = {
        "task": {
            "name": "neurogym:PerceptualDecisionMaking-v0",
            "env_kwargs": {"timing": {"stimulus": 500}},
        },
        "model": {"hidden": 64},
        "train": {
            "algo": algo,
            "seed": 0,
            "max_updates": updates,
            "eval_every": updates,
            "eval_trials": 500,
            "target_accuracy": 0.99,
            "threads": 1,
            **extra.pop("train", {}),
        },
        **extra,
    }
    return train(run_config_from_dict(data), tmp_path / algo, progress=False)


def _pdm_ideal_accuracy(steps=5, sigma=1.0, dt=100.0, cohs=(0, 6.4, 12.8, 25.6, 51.2)):
    """Two channels 0.5 ± coh/200, noise σ/√dt each: the sum over the stimulus decides."""
    sd = sigma / math.sqrt(dt) * math.sqrt(2) / math.sqrt(steps)
    return float(np.mean([stats.norm.cdf(c / 100 / sd) for c in cohs]))


def test_supervised_learns_perceptual_decision_making(tmp_path, one_thread):
    summary = _train(tmp_path, "sl", 150, train={"lr": 3e-3})
    ideal = _pdm_ideal_accuracy()  # 0.864; chance is 0.5
    assert summary["task"] == "neurogym:PerceptualDecisionMaking-v0"
    assert 0.7 < summary["accuracy"] <= ideal + 0.03
    from cogdyn.analysis.evaluation import evaluate_run

    result = evaluate_run(tmp_path / "sl", n_trials=300, seed=1)
    assert result["accuracy"] > 0.7
    assert (tmp_path / "sl" / "eval" / "conditions.csv").is_file()


def test_ppo_learns_perceptual_decision_making(tmp_path, one_thread):
    ppo = {"rollout_trials": 512, "minibatches": 2, "epochs": 4}
    summary = _train(tmp_path, "ppo", 25, train={"lr": 2e-3}, ppo=ppo)
    assert 0.7 < summary["accuracy"] <= _pdm_ideal_accuracy() + 0.03


def test_cli_trains_evaluates_and_exports_a_neurogym_run(tmp_path, capsys, one_thread):
    from cogdyn.cli import main
    from cogdyn.interop import load_trajectories

    out = tmp_path / "run"
    args = ["train", "--task", "neurogym:DelayMatchSample-v0", "--hidden", "8", "--threads", "1"]
    args += ["--max-updates", "2", "--eval-every", "1", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    assert main(["eval", str(out), "--trials", "50"]) == 0
    assert main(["export", str(out), "--trials", "12"]) == 0
    data = load_trajectories(out / "trajectories.npz")
    assert data["hidden"].shape == (12, 32, 8)  # DelayMatchSample: 32 steps
    assert "info_sample_theta" in data
    # analyze runs the census over the task's trial conditions; plot stays CtxDM-only.
    assert main(["analyze", str(out), "--checkpoints", "final"]) == 0
    assert "trial conditions" in capsys.readouterr().out
    assert (out / "analysis" / "attractors.parquet").is_file()
    assert main(["plot", str(out)]) == 2
    assert "support ctxdm only" in capsys.readouterr().err
