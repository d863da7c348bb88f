"""Recurrent PPO: its pieces against hand-computed cases, learning, determinism, the CLI."""

import csv
import json
import math

import pytest
import torch
from safetensors.torch import load_file
from torch.nn import functional as F

from cogdyn.behaviour import evaluate
from cogdyn.cli import main
from cogdyn.config import ConfigError, ModelConfig, run_config_from_dict
from cogdyn.models import VanillaRNN
from cogdyn.tasks import DECISION, CtxDM, TrialBatch, score_actions
from cogdyn.train.ppo import (
    Packing,
    PPOConfig,
    PPOUpdater,
    clipped_surrogate,
    collect,
    gae,
    policy_logits,
    run_trials,
    train_ppo,
    trial_kl,
    value_loss,
)

TINY = {
    "model": {"hidden": 16},
    "train": {
        "algo": "ppo",
        "max_updates": 4,
        "eval_every": 2,
        "eval_trials": 64,
        "threads": 1,
    },
    "ppo": {"rollout_trials": 32, "minibatches": 2, "epochs": 2},
}


# ------------------------------------------------------------------------------ config


def test_config_defaults_and_table():
    assert PPOConfig.from_mapping({}) == PPOConfig()
    cfg = PPOConfig.from_mapping({"rollout_trials": 64, "gamma": 1, "clip_value": False})
    assert cfg.rollout_trials == 64 and cfg.gamma == 1.0 and isinstance(cfg.gamma, float)
    assert cfg.minibatch_trials == 16
    run = run_config_from_dict({"ppo": {"epochs": 2}})
    assert PPOConfig.from_run_config(run).epochs == 2


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ({"bogus": 1}, "ppo.bogus"),
        ({"clip": 0.0}, "ppo.clip"),
        ({"epochs": 0}, "ppo.epochs"),
        ({"epochs": 1.5}, "ppo.epochs"),
        ({"gamma": 1.5}, "ppo.gamma"),
        ({"gae_lambda": -0.1}, "ppo.gae_lambda"),
        ({"entropy_coef": -1.0}, "ppo.entropy_coef"),
        ({"grad_clip": 0}, "ppo.grad_clip"),
        ({"clip_value": "yes"}, "ppo.clip_value"),
        ({"rollout_trials": 4, "minibatches": 8}, "ppo.minibatches"),
        ({"logit_cap": float("nan")}, "ppo.logit_cap"),
    ],
)
def test_config_errors_name_the_field(table, field):
    with pytest.raises(ConfigError) as err:
        PPOConfig.from_mapping(table)
    assert err.value.field == field


def test_unknown_key_lists_allowed_keys():
    with pytest.raises(ConfigError, match="allowed: rollout_trials, minibatches"):
        PPOConfig.from_mapping({"lr": 1e-3})


# ------------------------------------------------------------------------------ GAE and losses


def _gae_loop(rewards, values, alive, gamma, lam):
    """Textbook GAE, one episode at a time, in plain Python."""
    n_steps, n_eps = len(rewards), len(rewards[0])
    adv = [[0.0] * n_eps for _ in range(n_steps)]
    for b in range(n_eps):
        length = sum(1 for t in range(n_steps) if alive[t][b])
        running = 0.0
        for t in reversed(range(length)):
            next_v = values[t + 1][b] if t + 1 < length else 0.0
            delta = rewards[t][b] + gamma * next_v - values[t][b]
            running = delta + gamma * lam * running
            adv[t][b] = running
    return adv


def test_gae_hand_computed():
    # Episode 1: three steps, reward at the end. Episode 2 ends after two steps; what follows
    # (reward 5, value 9) lies past its end and must be ignored.
    rewards = torch.tensor([[0.0, -0.1], [0.0, 1.0], [1.0, 5.0]])
    values = torch.tensor([[0.5, 0.3], [0.2, 0.6], [0.4, 9.0]])
    alive = torch.tensor([[True, True], [True, True], [True, False]])
    adv, ret = gae(rewards, values, alive, gamma=0.9, lam=0.5)
    # δ2 = 1 − .4 = .6; δ1 = .9·.4 − .2 = .16, A1 = .16 + .45·.6 = .43;
    # δ0 = .9·.2 − .5 = −.32, A0 = −.32 + .45·.43 = −.1265
    # episode 2: δ1 = 1 − .6 = .4; δ0 = −.1 + .9·.6 − .3 = .14, A0 = .14 + .45·.4 = .32
    expected = torch.tensor([[-0.1265, 0.32], [0.43, 0.4], [0.6, 0.0]])
    torch.testing.assert_close(adv, expected)
    torch.testing.assert_close(ret, (expected + values) * alive)


@pytest.mark.parametrize(("gamma", "lam"), [(1.0, 0.95), (0.9, 0.5), (0.99, 1.0), (1.0, 0.0)])
def test_gae_matches_python_loop(gamma, lam):
    g = torch.Generator().manual_seed(0)
    n_steps, n_eps = 12, 9
    lengths = torch.randint(1, n_steps + 1, (n_eps,), generator=g)
    alive = torch.arange(n_steps).unsqueeze(1) < lengths
    rewards = torch.randn(n_steps, n_eps, generator=g, dtype=torch.float64) * alive
    values = torch.randn(n_steps, n_eps, generator=g, dtype=torch.float64)
    adv, _ = gae(rewards, values, alive, gamma, lam)
    expected = torch.tensor(
        _gae_loop(rewards.tolist(), values.tolist(), alive.tolist(), gamma, lam)
    )
    torch.testing.assert_close(adv, expected.to(adv.dtype))


def test_clipped_surrogate_hand_computed():
    ratio = torch.tensor([1.5, 0.5, 1.1, 0.5, 1.5])
    adv = torch.tensor([1.0, -1.0, 2.0, 1.0, -1.0])
    loss = clipped_surrogate(ratio.log(), torch.zeros(5), adv, clip=0.2)
    # max(−A·r, −A·clip(r)): clipped where it helps, pessimistic where it does not
    torch.testing.assert_close(loss, torch.tensor([-1.2, 0.8, -2.2, -0.5, 1.5]))


def test_value_loss_hand_computed():
    new, old = torch.tensor([1.0, 0.6, 0.0]), torch.tensor([0.5, 0.5, 0.5])
    ret = torch.tensor([0.0, 1.0, 0.0])
    torch.testing.assert_close(value_loss(new, old, ret, None), 0.5 * (new - ret) ** 2)
    # clipped V: 0.7, 0.6, 0.3 → ½·max(unclipped, clipped)
    torch.testing.assert_close(value_loss(new, old, ret, 0.2), torch.tensor([0.5, 0.08, 0.045]))
    # Huber with threshold 1: ½e² inside, |e| − ½ outside
    big, zero = torch.tensor([3.0, -0.5, -4.0]), torch.zeros(3)
    torch.testing.assert_close(
        value_loss(big, zero, zero, None, huber=1.0), torch.tensor([2.5, 0.125, 3.5])
    )


def test_policy_logits_cap_keeps_argmax():
    logits = torch.tensor([[3000.0, -5.0, 20.0], [0.1, 0.2, -0.3]])
    capped = policy_logits(logits, 5.0)
    assert capped.abs().max() <= 5.0
    assert torch.equal(capped.argmax(-1), logits.argmax(-1))
    torch.testing.assert_close(capped[1], logits[1], atol=1e-3, rtol=1e-3)
    assert torch.equal(policy_logits(logits, 0.0), logits)


# ------------------------------------------------------------------------------ the RNN pass


def _model(hidden=24, delta=0.15, alpha=1.0, seed=0, n_in=7, n_out=3):
    cfg = ModelConfig(hidden=hidden, delta=delta, alpha=alpha)
    return VanillaRNN(n_in, n_out, cfg, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_hidden_state_reset_at_every_trial(alpha, one_thread):
    """States of a trial run inside a batch equal those of the same trial run alone from h₀ = 0,
    and PPO's packed pass equals ``model.run`` (states and gradients)."""
    model = _model(alpha=alpha).double()
    batch = CtxDM().sample(12, torch.Generator().manual_seed(1))
    x, lengths = batch.inputs.double(), batch.lengths
    states = run_trials(model, x, lengths)
    for b in range(12):
        n = int(lengths[b])
        alone = model.run(x[:n, b : b + 1])
        torch.testing.assert_close(states[:n, b : b + 1], alone)
        assert not states[n:, b].any()
    inside = (torch.arange(x.shape[0]).unsqueeze(1) < lengths).unsqueeze(-1)
    weights = torch.randn(states.shape, generator=torch.Generator().manual_seed(2)).double()

    def grads(fn):
        model.zero_grad()
        (fn() * weights * inside).sum().backward()
        return [p.grad.clone() for p in model.parameters() if p.grad is not None]

    packed, padded = grads(lambda: run_trials(model, x, lengths)), grads(lambda: model.run(x))
    for a, b in zip(packed, padded, strict=True):
        torch.testing.assert_close(a, b)


def test_packed_rnn_gradcheck():
    from cogdyn.models.packed import _PackedRNN

    packing = Packing.of(torch.tensor([3, 1, 4, 2]))
    assert packing.sizes == [4, 3, 2, 1]
    g = torch.Generator().manual_seed(0)
    args = [
        torch.randn(sum(packing.sizes), 3, generator=g, dtype=torch.float64, requires_grad=True),
        torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True),
        torch.randn(5, 5, generator=g, dtype=torch.float64, requires_grad=True) * 0.5,
        torch.randn(5, generator=g, dtype=torch.float64, requires_grad=True),
    ]
    for alpha in (1.0, 0.3):
        assert torch.autograd.gradcheck(
            lambda x, a, b, c, alpha=alpha: _PackedRNN.apply(x, a, b, c, packing.sizes, alpha),
            args,
        )


def test_rollout_masks_and_rewards_follow_the_task_rules():
    task = CtxDM()
    model = _model()
    exp = collect(model, task, 64, torch.Generator().manual_seed(3))
    out = task.score(exp.batch, exp.actions)
    assert torch.equal(out.rewards, exp.rewards) and torch.equal(out.alive, exp.alive)
    assert not exp.alive[~exp.batch.valid].any()
    assert not exp.log_probs[~exp.batch.valid].any()
    assert (exp.log_probs[exp.batch.valid] <= 0).all()
    # the whole action distribution of each step, of which log_probs is the sampled entry
    taken = exp.log_policy.gather(-1, exp.actions.unsqueeze(-1)).squeeze(-1)
    assert torch.equal(taken, exp.log_probs)
    valid = exp.log_policy[exp.batch.valid]
    torch.testing.assert_close(valid.exp().sum(-1), torch.ones(valid.shape[0]))
    assert not exp.log_policy[~exp.batch.valid].any()


def test_first_minibatch_reproduces_rollout_policy(one_thread):
    """Before any step the re-run minibatch must give ratio 1 (same states, same log-probs)."""
    task = CtxDM()
    updater = PPOUpdater(_model(), task, torch.Generator().manual_seed(0), "cpu", PPOConfig())
    exp = collect(updater.model, task, 64, torch.Generator().manual_seed(4))
    adv, ret = gae(exp.rewards, exp.values, exp.alive, 1.0, 0.95)
    _, stats = updater._minibatch_loss(exp, torch.arange(10, 42), adv, ret)
    assert float(stats["approx_kl"]) < 1e-6 and float(stats["clip_frac"]) == 0.0


def test_trial_kl_hand_computed():
    """Two trials, three steps in all: KL summed over the steps, divided by the trials."""
    p_old = torch.tensor([[0.5, 0.25, 0.25], [0.9, 0.05, 0.05], [1 / 3, 1 / 3, 1 / 3]])
    p_new = torch.tensor([[0.25, 0.5, 0.25], [0.9, 0.05, 0.05], [0.5, 0.25, 0.25]])
    per_step = (p_old * (p_old / p_new).log()).sum(-1)
    expected = float(per_step.sum()) / 2
    assert float(trial_kl(p_old.log(), p_new.log(), 2)) == pytest.approx(expected, rel=1e-6)
    assert float(trial_kl(p_old.log(), p_old.log(), 2)) == 0.0
    assert per_step[0] == pytest.approx(0.25 * math.log(2), rel=1e-6)


def test_trial_kl_of_an_update_is_measured_on_its_rollout(one_thread):
    """``trial_kl`` of an update's stats is the KL per trial from the rollout's policy to the
    updated one: recomputed here trial by trial with ``model.run``."""
    task = CtxDM()
    cfg = PPOConfig(rollout_trials=16, minibatches=2, epochs=2)
    gen = torch.Generator().manual_seed(5)
    updater = PPOUpdater(_model(), task, gen, "cpu", cfg)
    state = gen.get_state()
    stats = updater.update()
    exp = collect(_model(), task, 16, torch.Generator().set_state(state), logit_cap=cfg.logit_cap)
    with torch.no_grad():
        logits = updater.model.readout(updater.model.run(exp.batch.inputs))
        log_new = torch.log_softmax(policy_logits(logits, cfg.logit_cap), -1)
    alive = exp.alive
    kl = (exp.log_policy.exp() * (exp.log_policy - log_new)).sum(-1)[alive].sum() / 16
    assert stats["trial_kl"] == pytest.approx(float(kl), rel=1e-4)
    assert stats["lr"] == 1e-3


def test_hold_adapts_the_learning_rate_to_the_trial_kl():
    cfg = PPOConfig(rollout_trials=16, minibatches=2, epochs=1, trial_kl_target=0.02)
    updater = PPOUpdater(_model(), CtxDM(), torch.Generator(), "cpu", cfg, lr=1e-3)

    def lr():
        return updater.optimizer.param_groups[0]["lr"]

    updater.hold()  # no update yet: nothing to adapt to
    assert updater.holding and lr() == 1e-3
    for kl, expected in [
        (0.03, 1e-3),  # inside [target / 2, 2 target]: unchanged
        (0.08, 2.5e-4),  # 4 × the target: lr × 1/4
        (2.0, 2.5e-5),  # 100 × the target: at most ÷ 10 per update
        (0.02, 2.5e-5),
        (0.005, 3.75e-5),  # below target / 2: at most × 1.5 per update
        (0.0, 5.625e-5),
    ]:
        updater._adapt_lr(kl)
        assert lr() == pytest.approx(expected), kl
    for _ in range(20):
        updater._adapt_lr(0.0)
    assert lr() == 1e-3  # never above train.lr

    # at the criterion, the last update's KL is used at once
    fresh = PPOUpdater(_model(), CtxDM(), torch.Generator(), "cpu", cfg, lr=1e-3)
    fresh.last_trial_kl = 0.2
    fresh.hold()
    assert fresh.optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
    # trial_kl_target = 0: the learning rate stays constant
    off = PPOUpdater(
        _model(), CtxDM(), torch.Generator(), "cpu", PPOConfig(trial_kl_target=0.0), lr=1e-3
    )
    off.last_trial_kl = 0.2
    off.hold()
    off._adapt_lr(5.0)
    assert off.optimizer.param_groups[0]["lr"] == 1e-3


def test_learning_rate_is_constant_until_the_criterion(tmp_path, read_metrics):
    """Before the criterion the rate is train.lr whatever the KL; held afterwards."""
    cfg = run_config_from_dict(TINY)
    train_ppo(cfg, tmp_path, progress=False)
    rows = read_metrics(tmp_path / "metrics.csv")
    assert all(float(r["lr"]) == 1e-3 for r in rows)
    assert all(float(r["trial_kl"]) >= 0 for r in rows)


# ------------------------------------------------------------------------------ learning


class Bandit:
    """A one-step contextual two-armed bandit: the context (one-hot) names the paying arm.

    Actions: 0 abstain (reward 0), 1 and 2 the arms (1 if it is the context's arm, else 0).
    Built from cogdyn's own trial container and scoring rules: a one-step decision period.
    """

    n_inputs, n_actions = 2, 3

    def sample(self, batch_size: int, generator: torch.Generator) -> TrialBatch:
        ctx = torch.randint(2, (batch_size,), generator=generator)
        return TrialBatch(
            inputs=F.one_hot(ctx, 2).float().unsqueeze(0),
            targets=(ctx + 1).unsqueeze(0),
            mask=torch.ones(1, batch_size, dtype=torch.bool),
            periods=torch.full((1, batch_size), DECISION),
            lengths=torch.ones(batch_size, dtype=torch.int64),
            info={"context": ctx, "choice": ctx + 1},
        )

    def score(self, batch, actions):
        return score_actions(batch, actions)


def test_ppo_solves_a_contextual_bandit(one_thread):
    task = Bandit()
    model = _model(hidden=16, delta=0.1, n_in=2)
    cfg = PPOConfig(rollout_trials=128, minibatches=2, epochs=4)
    updater = PPOUpdater(model, task, torch.Generator().manual_seed(0), "cpu", cfg, lr=1e-2)
    held_out = task.sample(1000, torch.Generator().manual_seed(99))
    assert evaluate(model, task, held_out).accuracy < 0.8
    for _ in range(30):
        stats = updater.update()
    assert evaluate(model, task, held_out).accuracy > 0.95
    assert stats["train_return"] > 0.8
    assert stats["trials"] == 128 and stats["env_steps"] == 128  # one step per episode


def test_update_stats(one_thread):
    task = CtxDM()
    cfg = PPOConfig(rollout_trials=32, minibatches=2, epochs=2)
    updater = PPOUpdater(_model(), task, torch.Generator().manual_seed(0), "cpu", cfg)
    stats = updater.update()
    for key in ("loss", "policy_loss", "value_loss", "entropy", "train_return", "approx_kl"):
        assert key in stats and stats[key] == stats[key]  # present and not NaN
    assert 0 <= stats["clip_frac"] <= 1
    assert stats["trials"] == 32
    # env steps = alive steps: at least one per trial, at most each trial's length
    assert 32 <= stats["env_steps"] <= 32 * 40
    assert stats["minibatch_steps"] == 4


def test_train_twice_gives_identical_weights_and_metrics(tmp_path, read_metrics):
    cfg = run_config_from_dict(TINY)
    s1 = train_ppo(cfg, tmp_path / "a", progress=False)
    s2 = train_ppo(cfg, tmp_path / "b", progress=False)
    w1 = load_file(str(tmp_path / "a/model.safetensors"))
    w2 = load_file(str(tmp_path / "b/model.safetensors"))
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    assert read_metrics(tmp_path / "a/metrics.csv") == read_metrics(tmp_path / "b/metrics.csv")
    assert s1["env_steps"] == s2["env_steps"] and s1["accuracy"] == s2["accuracy"]
    assert s1["algo"] == "ppo" and s1["trials"] == 4 * 32
    # config.json holds the whole [ppo] table and rebuilds the same config
    saved = json.loads((tmp_path / "a/config.json").read_text())
    assert PPOConfig.from_run_config(run_config_from_dict(saved)) == PPOConfig.from_run_config(cfg)
    assert set(saved["ppo"]) == set(PPOConfig.__dataclass_fields__)
    other = run_config_from_dict({**TINY, "train": {**TINY["train"], "seed": 1}})
    train_ppo(other, tmp_path / "c", progress=False)
    w3 = load_file(str(tmp_path / "c/model.safetensors"))
    assert not torch.equal(w1["weight_hh_l0"], w3["weight_hh_l0"])
    with open(tmp_path / "a/metrics.csv") as fh:
        header = next(csv.reader(fh))
    for col in ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_frac", "env_steps"):
        assert col in header


def test_bad_ppo_table_fails_before_writing(tmp_path):
    """A bad [ppo] value is refused where the run config is built (PPOConfig is a typed field
    of RunConfig), so nothing is ever written."""
    with pytest.raises(ConfigError, match=r"ppo\.clip"):
        run_config_from_dict({**TINY, "ppo": {"clip": -1}})
    config = tmp_path / "bad.toml"
    config.write_text('[train]\nalgo = "ppo"\n\n[ppo]\nclip = -1\n')
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "run")]) == 2
    assert not (tmp_path / "run").exists()


def test_cli_train_ppo_smoke(tmp_path, capsys):
    config = tmp_path / "ppo.toml"
    config.write_text(
        "[train]\neval_trials = 64\neval_every = 2\n\n[ppo]\nrollout_trials = 32\nepochs = 1\n"
    )
    out = tmp_path / "run"
    argv = ["train", "--algo", "ppo", "--max-updates", "2", "--hidden", "16", "--threads", "1"]
    argv += ["--config", str(config), "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["algo"] == "ppo" and summary["updates"] == 2
    assert summary["env_steps_per_s"] > 0 and summary["trials"] == 64
    assert "ppo δ=" in capsys.readouterr().out

    config.write_text("[ppo]\nbogus = 1\n")
    assert main([*argv, "--overwrite"]) == 2
    assert "ppo.bogus" in capsys.readouterr().err


@pytest.mark.slow
def test_default_ppo_reaches_criterion(tmp_path):
    """The real thing: default settings, N = 250, δ = 0.1, to 95 % held-out accuracy."""
    cfg = run_config_from_dict(
        {"train": {"algo": "ppo", "eval_every": 5, "max_updates": 400, "threads": 1}}
    )
    summary = train_ppo(cfg, tmp_path, progress=False)
    assert summary["reached_criterion"], summary
    # and holds it: measured, every post-criterion checkpoint ≥ 0.948 on fresh trials (δ = 0.05,
    # 0.1, 0.2, seed 0; seeds 1–2 at δ = 0.1), the saved model 0.978–0.992
    post = [c["fresh_accuracy"] for c in summary["checkpoints"] if c["kind"] == "post_criterion"]
    assert min(post) >= 0.93 and summary["accuracy"] >= 0.95, summary


def test_metrics_mean_return_is_the_greedy_evaluation(tmp_path, one_thread):
    """metrics.csv's ``mean_return`` is the greedy policy's return on the held-out trials (as in
    summary.json), not the stochastic rollout's, which is ``train_return`` (issue 19, item 6)."""
    from cogdyn.tasks import make_task
    from cogdyn.train.loop import Seeds

    cfg = run_config_from_dict(TINY)
    train_ppo(cfg, tmp_path, progress=False)
    with open(tmp_path / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert "train_return" in rows[0]
    task = make_task(cfg.task)
    seeds = Seeds.from_seed(cfg.train.seed)
    held_out = task.sample(cfg.train.eval_trials, torch.Generator().manual_seed(seeds.eval))
    # four updates never reach the criterion: model.safetensors holds the weights of update 4
    from cogdyn import io

    model = io.load_model(tmp_path / "model.safetensors")
    assert int(rows[-1]["update"]) == 4
    ev = evaluate(model, task, held_out)
    assert float(rows[-1]["mean_return"]) == pytest.approx(ev.mean_return, abs=1e-6)
    assert float(rows[-1]["accuracy"]) == pytest.approx(ev.accuracy, abs=1e-9)
    # the rollout's return is a different number (a stochastic policy on other trials)
    assert any(r["train_return"] != r["mean_return"] for r in rows)
