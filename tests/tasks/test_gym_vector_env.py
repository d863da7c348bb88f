"""The natively batched gymnasium VectorEnv of CtxDM: the single environment's game, for many
agents in one step."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from cogdyn import examples
from cogdyn.behaviour import evaluate
from cogdyn.tasks.gym_env import ENV_ID, CtxDMEnv, CtxDMVectorEnv


def test_one_vector_env_plays_exactly_the_single_env():
    """num_envs = 1 and the same seed: the same trials, observations, rewards and ends, the
    vector env starting the next trial in the step where the single one must be reset."""
    single, vec = CtxDMEnv(), CtxDMVectorEnv(1)
    obs, _ = single.reset(seed=7)
    vobs, _ = vec.reset(seed=7)
    rng = np.random.default_rng(0)
    episodes = 0
    for _ in range(600):
        np.testing.assert_array_equal(vobs[0], obs)
        a = int(rng.choice(3, p=[0.9, 0.05, 0.05]))
        obs, r, term, trunc, info = single.step(a)
        vobs, vr, vterm, vtrunc, vinfo = vec.step(np.array([a]))
        assert (vr[0], vterm[0], vtrunc[0]) == (r, term, trunc)
        if term:
            episodes += 1
            final = vinfo["final_info"][0]
            for key in ("choice_made", "correct", "fix_break", "choice", "context"):
                assert final[key] == info[key], key
            np.testing.assert_array_equal(vinfo["final_observation"][0], obs)
            obs, _ = single.reset()
    assert episodes > 20


def test_a_trained_network_scores_in_the_vector_env_as_on_the_task(one_thread):
    """A cogdyn network playing 256 environments at once (its state reset when an episode ends)
    gets the accuracy evaluate() measures on the batched task."""
    config, model = examples.load("sl-small")
    envs = CtxDMVectorEnv(256, config.task)
    obs, _ = envs.reset(seed=1)
    h = torch.zeros(256, model.hidden)
    correct, done = [], 0
    with torch.no_grad():
        while done < 1500:
            h = model.step(h, torch.as_tensor(obs))
            actions = model.readout(h).argmax(-1).numpy()
            obs, _, term, trunc, info = envs.step(actions)
            ended = term | trunc
            if ended.any():
                correct += [info["final_info"][b]["correct"] for b in np.flatnonzero(ended)]
                done += int(ended.sum())
                h[torch.as_tensor(ended)] = 0.0
    task_accuracy = evaluate(
        model, envs.task, envs.task.sample(2000, torch.Generator().manual_seed(3))
    ).accuracy
    assert abs(np.mean(correct) - task_accuracy) < 0.04, (np.mean(correct), task_accuracy)


def test_registered_as_the_vector_entry_point():
    envs = gym.make_vec(
        ENV_ID, num_envs=4, vectorization_mode="custom", vector_kwargs={"sigma": 0.3}
    )
    assert isinstance(envs.unwrapped, CtxDMVectorEnv) and envs.unwrapped.config.sigma == 0.3
    obs, info = envs.reset(seed=0)
    assert obs.shape == (4, 7) and obs.dtype == np.float32
    assert envs.single_action_space == gym.spaces.Discrete(3)
    assert info["_context"].all() and info["period"].tolist() == [0, 0, 0, 0]


def test_same_seed_same_run():
    def run(seed):
        envs = CtxDMVectorEnv(16, abort=True)
        obs, _ = envs.reset(seed=seed)
        rng = np.random.default_rng(5)
        out = [obs]
        for _ in range(50):
            obs, r, term, _, _ = envs.step(rng.integers(0, 3, size=16))
            out += [obs, r, term]
        return out

    for a, b in zip(run(3), run(3), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(run(3), run(4), strict=True))


def test_bad_use_is_one_line():
    envs = CtxDMVectorEnv(2)
    with pytest.raises(RuntimeError, match="reset"):
        envs.step(np.array([0, 0]))
    envs.reset(seed=0)
    with pytest.raises(ValueError, match="2 integers"):
        envs.step(np.array([0, 0, 0]))
    with pytest.raises(ValueError, match=r"0\.\.2"):
        envs.step(np.array([0, 3]))
    with pytest.raises(ValueError, match="num_envs"):
        CtxDMVectorEnv(0)


def test_max_episode_steps_truncates():
    envs = CtxDMVectorEnv(3, max_episode_steps=2)
    envs.reset(seed=0)
    envs.step(np.zeros(3, dtype=np.int64))
    _, _, term, trunc, info = envs.step(np.zeros(3, dtype=np.int64))
    assert trunc.all() and not term.any() and info["_final_info"].all()
