"""CtxDM against known answers: timing laws, trial statistics, noise, go cue, ideal observer."""

import math

import pytest
import torch
from scipy import stats

from cogdyn.config import ConfigError, Duration, TaskConfig
from cogdyn.tasks import DECISION, DELAY, FIXATION, PAD, STIMULUS, CtxDM
from cogdyn.tasks.timing import truncexp_mean

B = 20000


@pytest.fixture(scope="module")
def big_batch():
    return CtxDM().sample(B, torch.Generator().manual_seed(123))


def _exact_delay_step_law(mean=600.0, lo=300.0, hi=3000.0, dt=100.0):
    """P(floor(d / dt) = k) for d ~ Exp(mean) conditioned on [lo, hi)."""

    def cdf(x):
        x = min(max(x, lo), hi)
        return (math.exp(-lo / mean) - math.exp(-x / mean)) / (
            math.exp(-lo / mean) - math.exp(-hi / mean)
        )

    return {k: cdf((k + 1) * dt) - cdf(k * dt) for k in range(int(lo // dt), int(hi // dt))}


def test_period_lengths_match_floor_of_durations(big_batch):
    info = big_batch.info
    periods = big_batch.periods
    assert (info["stim_steps"] == 7).all()  # 750 ms floored to 7 steps, as neurogym
    for pid, n in ((FIXATION, 3), (STIMULUS, 7), (DECISION, 1)):
        assert ((periods == pid).sum(0) == n).all()
    assert ((periods == DELAY).sum(0) == info["delay_steps"]).all()
    assert (big_batch.lengths == 3 + 7 + 1 + info["delay_steps"]).all()
    # periods come in order and padding only at the end
    valid = periods != PAD
    assert (valid.sum(0) == big_batch.lengths).all()
    assert (periods[1:][valid[1:]] >= periods[:-1][valid[1:]]).all()


def test_delay_steps_follow_the_truncated_exponential(big_batch):
    law = _exact_delay_step_law()
    delays = big_batch.info["delay_steps"]
    assert int(delays.min()) >= 3 and int(delays.max()) <= 29
    counts = torch.bincount(delays, minlength=30).double()
    expected = torch.tensor([law.get(k, 0.0) for k in range(30)], dtype=torch.float64) * B
    keep = expected > 5
    chi2 = float((((counts - expected) ** 2 / expected)[keep]).sum())
    assert chi2 < stats.chi2.ppf(0.999, int(keep.sum()) - 1)
    # and the raw ms law has the analytic mean
    from cogdyn.tasks.timing import sample_ms

    ms = sample_ms(TaskConfig().delay, B, torch.Generator().manual_seed(5))
    se = float(ms.std()) / math.sqrt(B)
    assert abs(float(ms.mean()) - truncexp_mean(600, 300, 3000)) < 4 * se
    assert float(ms.min()) >= 300 and float(ms.max()) < 3000


def test_trial_variables_are_uniform_and_independent(big_batch):
    info = big_batch.info
    tol = 4 * math.sqrt(0.25 / B)
    assert abs(info["context"].float().mean() - 0.5) < tol
    assert abs((info["choice"] == 1).float().mean() - 0.5) < tol
    congruent = (info["choice_mod1"] == info["choice_mod2"]).float().mean()
    assert abs(congruent - 0.5) < tol
    tol3 = 4 * math.sqrt((1 / 3) * (2 / 3) / B)
    for key in ("coh_mod1", "coh_mod2"):
        for c in (5.0, 15.0, 50.0):
            assert abs((info[key] == c).float().mean() - 1 / 3) < tol3
    # the context's modality shows the correct choice
    relevant = torch.where(info["context"] == 0, info["choice_mod1"], info["choice_mod2"])
    assert (relevant == info["choice"]).all()


def test_stimulus_means_and_noise_sd(big_batch):
    x, info = big_batch.inputs.double(), big_batch.info
    stim = big_batch.periods == STIMULUS
    sd = TaskConfig().sigma / math.sqrt(TaskConfig().dt)
    for m, key in ((0, "signed_coh_mod1"), (1, "signed_coh_mod2")):
        signed = info[key].double()
        expect_u1 = 0.5 + signed / 200  # ring unit at θ = 0 (choice 1)
        expect_u2 = 0.5 - signed / 200  # ring unit at θ = π (choice 2)
        for unit, expect in ((1 + 2 * m, expect_u1), (2 + 2 * m, expect_u2)):
            resid = (x[:, :, unit] - expect.unsqueeze(0))[stim]
            n = resid.numel()
            assert abs(float(resid.mean())) < 4 * sd / math.sqrt(n)
            assert abs(float(resid.std()) / sd - 1) < 0.01
    # per condition: channel mean 0.5 + coh/200 on the chosen side
    sel = (info["choice_mod1"] == 1) & (info["coh_mod1"] == 50)
    mean = x[:, sel, 1][stim[:, sel]].mean()
    assert abs(float(mean) - 0.75) < 4 * sd / math.sqrt(int(stim[:, sel].sum()))
    # no stimulus outside the stimulus period
    assert (x[:, :, 1:5][~stim] == 0).all()


def test_go_cue_and_context_inputs(big_batch):
    x, periods = big_batch.inputs, big_batch.periods
    valid = periods != PAD
    fix = x[:, :, 0]
    assert (fix[(periods >= FIXATION) & (periods < DECISION)] == 1).all()
    assert (fix[periods == DECISION] == 0).all()
    ctx = big_batch.info["context"]
    onehot = torch.nn.functional.one_hot(ctx, 2).float()
    assert (x[:, :, 5:7][valid] == onehot.expand(x.shape[0], -1, -1)[valid]).all()
    assert (x[~valid] == 0).all()

    no_cue = CtxDM(TaskConfig(go_cue=False)).sample(500, torch.Generator().manual_seed(1))
    fix = no_cue.inputs[:, :, 0]
    assert (fix[no_cue.periods == FIXATION] == 1).all()
    assert (fix[(no_cue.periods > FIXATION) | (no_cue.periods == PAD)] == 0).all()


def test_targets_mask_and_determinism(big_batch):
    t = big_batch
    assert t.inputs.dtype == torch.float32 and t.targets.dtype == torch.int64
    assert (
        t.targets[t.periods == DECISION]
        == t.info["choice"].expand_as(t.targets)[t.periods == DECISION]
    ).all()
    assert (t.targets[t.periods != DECISION] == 0).all()
    assert (t.mask == (t.periods != PAD)).all()
    task = CtxDM()
    a = task.sample(64, torch.Generator().manual_seed(9))
    b = task.sample(64, torch.Generator().manual_seed(9))
    c = task.sample(64, torch.Generator().manual_seed(10))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a.info["choice"], c.info["choice"]) or not torch.equal(
        a.inputs, c.inputs
    )


def test_more_choices_ring_layout():
    task = CtxDM(TaskConfig(dim_ring=4))
    batch = task.sample(4000, torch.Generator().manual_seed(2))
    assert batch.inputs.shape[-1] == 1 + 8 + 2 and task.n_actions == 5
    stim = batch.periods == STIMULUS
    sel = (batch.info["choice_mod1"] == 2) & (batch.info["coh_mod1"] == 50)
    means = batch.inputs[:, sel][stim[:, sel]][:, 1:5].double().mean(0)
    theta = torch.arange(4) * math.pi / 2
    expected = 0.5 + torch.cos(theta - theta[1]) * 50 / 200
    assert torch.allclose(means, expected.double(), atol=0.005)
    assert set(batch.info["choice"].unique().tolist()) == {1, 2, 3, 4}


def test_ideal_observer_known_values():
    # neurogym's sigma = 1.0 and its 700 ms stimulus: 94.1 % overall, 82.5 % at 5 % coherence
    ng = CtxDM(TaskConfig(sigma=1.0))
    assert ng.ideal_observer_accuracy == pytest.approx(0.9409, abs=5e-4)
    assert ng.ideal_accuracy_at(5.0, 7) == pytest.approx(0.8251, abs=5e-4)
    default = CtxDM()
    assert default.ideal_observer_accuracy >= 0.99
    assert CtxDM(TaskConfig(sigma=0.0)).ideal_observer_accuracy == 1.0
    assert ng.ideal_accuracy_at(0.0, 7) == 0.5


def _monte_carlo_ideal(task: CtxDM, n: int, seed: int) -> float:
    """Optimal integrator on sampled trials: nearest ring angle to the summed relevant input."""
    batch = task.sample(n, torch.Generator().manual_seed(seed))
    d = task.config.dim_ring
    stim = (batch.periods == STIMULUS).unsqueeze(-1).double()
    summed = (batch.inputs.double() * stim).sum(0)  # (B, n_in)
    rel = torch.where(
        (batch.info["context"] == 0).unsqueeze(-1),
        summed[:, 1 : 1 + d],
        summed[:, 1 + d : 1 + 2 * d],
    )
    theta = torch.arange(d, dtype=torch.float64) * 2 * math.pi / d
    projection = rel @ torch.cos(theta.unsqueeze(0) - theta.unsqueeze(1))  # (B, d)
    choice = projection.argmax(-1) + 1
    return float((choice == batch.info["choice"]).double().mean())


@pytest.mark.parametrize(("dim_ring", "sigma"), [(2, 1.0), (2, 0.45), (3, 1.0), (4, 1.5)], ids=str)
def test_ideal_observer_matches_monte_carlo(dim_ring, sigma):
    task = CtxDM(TaskConfig(dim_ring=dim_ring, sigma=sigma))
    n = 40000
    mc = _monte_carlo_ideal(task, n, seed=dim_ring)
    exact = task.ideal_observer_accuracy
    se = math.sqrt(exact * (1 - exact) / n)
    assert abs(mc - exact) < 4 * se + 1e-4


def test_target_above_ideal_is_refused():
    task = CtxDM(TaskConfig(sigma=1.0))
    with pytest.raises(ConfigError, match=r"train.target_accuracy.*0\.9409"):
        task.check_target(0.95)
    task.check_target(0.94)


def test_random_stimulus_duration_law():
    cfg = TaskConfig(stimulus=Duration("choice", values=(500.0, 750.0)))
    task = CtxDM(cfg)
    assert task.stim_steps_distribution == {5: 0.5, 7: 0.5}
    expect = 0.5 * (task.ideal_accuracy_at(5.0, 5) + task.ideal_accuracy_at(5.0, 7))
    assert task.ideal_accuracy_at(5.0, 5) < task.ideal_accuracy_at(5.0, 7)
    per_coh = [
        0.5 * (task.ideal_accuracy_at(c, 5) + task.ideal_accuracy_at(c, 7)) for c in (5, 15, 50)
    ]
    assert task.ideal_observer_accuracy == pytest.approx(sum(per_coh) / 3)
    assert expect < 1


def test_frozen_input_matches_noise_free_trials():
    task = CtxDM(TaskConfig(sigma=0.0))
    batch = task.sample(200, torch.Generator().manual_seed(4))
    info = batch.info
    for period in (FIXATION, STIMULUS, DELAY, DECISION):
        frozen = task.frozen_input(
            info["context"], info["signed_coh_mod1"], info["signed_coh_mod2"], period
        ).float()
        for b in range(0, 200, 17):
            steps = batch.periods[:, b] == period
            assert torch.allclose(batch.inputs[steps, b], frozen[b].expand(int(steps.sum()), -1))
