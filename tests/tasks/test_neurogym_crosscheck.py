"""cogdyn's CtxDM against neurogym's ContextDecisionMaking(use_expl_context=True).

neurogym ≥ 2.1 has no go cue, so the comparison uses ``go_cue=False``; everything else (channel
layout, stimulus values, periods, targets, timing law, noise) must agree.
"""

import math
import warnings

import numpy as np
import pytest
import torch

from cogdyn.config import TaskConfig
from cogdyn.tasks import DECISION, DELAY, FIXATION, STIMULUS, CtxDM
from cogdyn.tasks.timing import to_steps

ngym = pytest.importorskip("neurogym")


def _neurogym_env(sigma: float, seed: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = ngym.make("ContextDecisionMaking-v0", use_expl_context=True, sigma=sigma).unwrapped
    env.seed(seed)
    env.timing["delay"].rng = np.random.RandomState(seed)  # TruncExp keeps its own RNG
    return env


def test_noise_free_trials_are_identical_step_by_step():
    """For each neurogym trial, rebuild the trial from cogdyn's pieces and compare exactly."""
    env = _neurogym_env(sigma=0.0, seed=0)
    task = CtxDM(TaskConfig(go_cue=False, sigma=0.0))
    for _ in range(200):
        trial = env.new_trial()
        durations = {k: float(v) for k, v in env._duration.items()}
        steps = {k: int(to_steps(torch.tensor([v]), task.config.dt)) for k, v in durations.items()}
        ctx = int(trial["context"])
        gt, other = int(trial["ground_truth"]), int(trial["other_choice"])
        choice_mod = (gt, other) if ctx == 0 else (other, gt)
        signed = [
            c if ch == 1 else -c
            for c, ch in zip((trial["coh_1"], trial["coh_2"]), choice_mod, strict=True)
        ]
        rows, targets = [], []
        for pid, name in (
            (FIXATION, "fixation"),
            (STIMULUS, "stimulus"),
            (DELAY, "delay"),
            (DECISION, "decision"),
        ):
            frozen = task.frozen_input(
                torch.tensor([ctx]), torch.tensor([signed[0]]), torch.tensor([signed[1]]), pid
            )
            rows.append(frozen.expand(steps[name], -1))
            targets += [gt if pid == DECISION else 0] * steps[name]
        ours = torch.cat(rows).numpy()
        assert ours.shape == env.ob.shape
        np.testing.assert_allclose(ours, env.ob, atol=1e-6)
        np.testing.assert_array_equal(np.array(targets), env.gt)


def test_trial_statistics_agree():
    n = 4000
    env = _neurogym_env(sigma=1.0, seed=1)
    ng_len, ng_ctx, ng_cong, ng_resid = [], [], [], []
    for _ in range(n):
        trial = env.new_trial()
        ng_len.append(env.ob.shape[0])
        ng_ctx.append(int(trial["context"]))
        ng_cong.append(int(trial["ground_truth"] == trial["other_choice"]))
        s0, s1 = env.start_ind["stimulus"], env.end_ind["stimulus"]
        ng_resid.append(env.ob[s0:s1, 1:5] - _ng_mean(trial))
    ours = CtxDM(TaskConfig(go_cue=False, sigma=1.0)).sample(n, torch.Generator().manual_seed(1))
    ng_len = np.array(ng_len, dtype=float)
    ours_len = ours.lengths.double().numpy()
    # same law of trial lengths: means within 4 standard errors, same support
    se = math.sqrt(ng_len.var() / n + ours_len.var() / n)
    assert abs(ng_len.mean() - ours_len.mean()) < 4 * se
    assert (
        ng_len.min() >= 13 and ours_len.min() >= 13 and ng_len.max() <= 40 and ours_len.max() <= 40
    )
    from scipy.stats import ks_2samp

    assert ks_2samp(ng_len, ours_len).pvalue > 1e-3
    # noise sd σ/√dt on every stimulus channel
    resid = np.concatenate(ng_resid).ravel()
    assert abs(resid.std() - 0.1) < 0.003
    stim = ours.periods == STIMULUS
    clean = torch.cat([_our_mean(ours, m) for m in (0, 1)], dim=-1)
    our_resid = (ours.inputs[:, :, 1:5].double() - clean.unsqueeze(0))[stim]
    assert abs(float(our_resid.std()) - 0.1) < 0.003
    # congruent fraction and context balance
    assert (
        abs(
            np.mean(ng_cong)
            - float((ours.info["choice_mod1"] == ours.info["choice_mod2"]).double().mean())
        )
        < 0.05
    )
    assert abs(np.mean(ng_ctx) - float(ours.info["context"].double().mean())) < 0.05


def _ng_mean(trial) -> np.ndarray:
    gt, other, ctx = int(trial["ground_truth"]), int(trial["other_choice"]), int(trial["context"])
    c1, c2 = (gt, other) if ctx == 0 else (other, gt)
    out = []
    for ch, coh in ((c1, trial["coh_1"]), (c2, trial["coh_2"])):
        sign = 1 if ch == 1 else -1
        out += [0.5 + sign * coh / 200, 0.5 - sign * coh / 200]
    return np.array(out)


def _our_mean(batch, m: int) -> torch.Tensor:
    signed = batch.info[f"signed_coh_mod{m + 1}"].double()
    return torch.stack([0.5 + signed / 200, 0.5 - signed / 200], dim=-1)
