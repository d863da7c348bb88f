"""The gymnasium view of CtxDM: API checkers, seeding, and the same rules as ``score_actions``."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

from cogdyn.config import ConfigError, TaskConfig
from cogdyn.tasks import score_actions
from cogdyn.tasks.gym_env import ENV_ID, CtxDMEnv, register_env


def _quiet(fn, *args, **kwargs):
    # The checkers warn about the unbounded Box (Gaussian input noise has no bound) and about
    # render modes; neither is a failure.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def test_gymnasium_checker_passes():
    _quiet(check_env, CtxDMEnv())
    _quiet(check_env, CtxDMEnv(abort=True, dim_ring=3))


def test_stable_baselines3_checker_passes():
    sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    _quiet(sb3_checker.check_env, CtxDMEnv(), warn=True)


def test_registered_and_idempotent():
    register_env()
    register_env()
    env = gym.make(ENV_ID, sigma=0.3)
    assert isinstance(env.unwrapped, CtxDMEnv)
    assert env.unwrapped.config.sigma == 0.3
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.float32 and obs.shape == (7,)
    assert env.action_space.n == 3
    assert info["period"] == "fixation" and info["context"] in (0, 1)
    env.close()


def test_bad_task_fields_are_config_errors():
    with pytest.raises(ConfigError, match=r"task\.sigma"):
        CtxDMEnv(sigma=-1.0)
    with pytest.raises(TypeError):
        CtxDMEnv(TaskConfig(), sigma=0.3)


def _episode(env, seed, policy):
    obs, info = env.reset(seed=seed)
    observations, rewards, actions = [obs], [], []
    terminated = False
    while not terminated:
        a = policy(len(actions), obs)
        obs, r, terminated, truncated, info = env.step(a)
        assert not truncated
        actions.append(a)
        rewards.append(r)
        observations.append(obs)
    return np.array(observations), rewards, actions, info


def test_seed_fixes_the_trials():
    env1, env2 = CtxDMEnv(), CtxDMEnv()
    runs = []
    for env in (env1, env2):
        env.reset(seed=7)
        trials = [env.trial_batch.inputs.clone()]
        for _ in range(4):
            env.reset()  # continues the seeded sequence
            trials.append(env.trial_batch.inputs.clone())
        runs.append(trials)
    assert all(torch.equal(a, b) for a, b in zip(*runs, strict=True))
    env1.reset(seed=8)
    assert not torch.equal(env1.trial_batch.inputs, runs[0][0])


@pytest.mark.parametrize("abort", [False, True])
def test_step_rules_match_score_actions(abort):
    env = CtxDMEnv(abort=abort)
    rng = np.random.default_rng(0)
    outcomes = set()
    for seed in range(60):
        # mostly fixate, sometimes break; usually answer once the go cue (fixation input) is
        # off: covers breaks, correct and wrong answers, and no response
        p_act = rng.choice([0.0, 0.03, 0.3])
        draws = rng.random(64)
        choices = rng.integers(1, 3, 64)

        def policy(t, obs, draws=draws, choices=choices, p_act=p_act):
            act = draws[t] < (0.8 if obs[0] == 0 else p_act)
            return int(choices[t]) if act else 0

        observations, rewards, actions, info = _episode(env, seed, policy)
        batch = env.trial_batch
        n = batch.n_steps
        full = torch.zeros(n, 1, dtype=torch.int64)
        full[: len(actions), 0] = torch.tensor(actions)
        out = score_actions(batch, full, abort=abort)
        k = len(actions)
        assert int(out.alive.sum()) == k
        assert np.allclose(rewards, out.rewards[:k, 0].numpy())
        assert info["correct"] == bool(out.correct[0])
        assert info["fix_break"] == bool(out.fix_break[0])
        assert info["choice_made"] == int(out.choice[0])
        # observations are the trial's inputs, then zeros after the end
        assert np.array_equal(observations[:k], batch.inputs[:k, 0].numpy())
        assert not observations[k].any()
        outcomes.add((info["correct"], info["fix_break"], info["choice_made"] != 0))
    assert len(outcomes) >= 4


def test_step_after_end_raises():
    env = CtxDMEnv()
    env.reset(seed=0)
    terminated = False
    while not terminated:
        _, _, terminated, _, _ = env.step(0)
    with pytest.raises(RuntimeError):
        env.step(0)


def test_sb3_ppo_runs_on_the_env():
    sb3 = pytest.importorskip("stable_baselines3")
    torch_threads = torch.get_num_threads()
    try:
        model = sb3.PPO(
            "MlpPolicy", CtxDMEnv(), n_steps=128, batch_size=64, n_epochs=1, seed=0, device="cpu"
        )
        model.learn(total_timesteps=256)
    finally:
        torch.set_num_threads(torch_threads)  # SB3 may change it; leave the process as it was
    assert model.num_timesteps >= 256


def test_stable_baselines3_make_vec_env_builds_it():
    """SB3's make_vec_env passes render_mode (rgb_array by default): the env accepts it."""
    env_util = pytest.importorskip("stable_baselines3.common.env_util")
    venv = _quiet(env_util.make_vec_env, ENV_ID, n_envs=2, seed=0)
    obs = venv.reset()
    assert obs.shape == (2, 7)
    obs, rewards, _dones, infos = venv.step(np.zeros(2, dtype=np.int64))
    assert rewards.shape == (2,) and len(infos) == 2
