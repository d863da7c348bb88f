"""Recurrent PPO over the batched task, in one readable file (in the spirit of CleanRL).

The actor-critic is the shared :class:`~cogdyn.models.VanillaRNN`: policy logits come from
``model.readout`` and the state value from ``model.value``, both read off the same hidden state.
One episode is one trial and every trial starts from h₀ = 0.

Why a rollout is a single batched forward pass: the observations of a trial do not depend on the
agent's actions (actions only decide rewards and when the episode ends). So a rollout of B trials
is ONE batched RNN pass over all its trials, then actions are sampled for all steps at once, then
``task.score(batch, actions)`` gives rewards and the ``alive`` mask. Steps after an episode ended
(after the first decision response, an abort, or the trial's end) are not ``alive`` and are
excluded from every loss and statistic.

Speed: trials are packed (as torch's ``PackedSequence``: at step t only the trials still running
are computed), which halves the work on CtxDM (mean trial 19 steps, padded to 40), and the RNN's
backward pass is written out (:mod:`cogdyn.models.packed`) so that it costs one small matrix
product per step plus three large ones, instead of autograd's several per step. It computes exactly
:meth:`VanillaRNN.run`'s network (tests compare states and gradients).

One update: a rollout, GAE(γ, λ) over the alive steps (terminal at each episode's end, nothing
bootstrapped past it), then ``epochs`` passes over ``minibatches`` minibatches of WHOLE trials;
each minibatch re-runs the RNN on its trials' inputs from h₀ = 0 and backpropagates through the
full trial (clipped surrogate + value loss − entropy bonus, gradient-norm clipping, Adam).

All randomness (trial sampling, action sampling, minibatch shuffles) comes from the one
``torch.Generator`` handed to :class:`PPOUpdater`, so the same seed gives the same weights and
metrics.

Large δ. At δ = 0.2 the untrained network is unstable (spectral radius ≈ 1.8): over a 20–40
step trial its hidden state grows by orders of magnitude, readout logits reach 10²–10³ (the
softmax policy is deterministic) and the first value losses are 10²–10⁶. Measured at δ = 0.2
(21 runs: no cap seeds 0–5, cap 10 and cap 3 seeds 0–2, Huber value loss seeds 0–3, and a shorter
prototype timing with and without the cap, seeds 0–2): PPO spends its first 15–25 updates
shrinking that activity — driven mostly by the value loss through the shared RNN, limited by
Adam's step size — and then learns; no run collapsed to always-fixate. The guard kept on by
default acts only on the *policy distribution*, never on the network: sampling, log-probabilities
and entropy use ``logit_cap · tanh(logits / logit_cap)``, strictly monotone, so the greedy action
of the readout (what evaluation scores) is unchanged. It bounds log-probabilities below by
−2·cap − log A, so ratios, entropy and KL stay finite and well-conditioned whatever the logits,
and it stops pushing a policy that is already near-deterministic. Cap 10, cap 3, no cap, and a
Huber value loss (:attr:`PPOConfig.value_huber`) all reached the criterion in 30–115 updates at
δ = 0.2 with no consistent difference between them, so the cap is a safety bound, not a speed-up.

Holding the criterion. At a constant learning rate PPO reaches 95 % and then does not stay
there. Measured at δ = 0.1, seed 0 (one thread, 200 updates, greedy accuracy on 2000 fresh
trials after every update): after the criterion (update 55) the accuracy ranged 0.22–0.99 and
was ≥ 0.93 at only 44 % of updates. The greedy policy never broke fixation; 76 of the 79
updates below 0.93 lost only to wrong choices on weak evidence (5 % and 15 % coherence), with a
choice bias that flipped sign from one update to the next (the other three, a collapse to 0.22,
stopped responding). One update moved the decision-step policy by a KL of 0.56
(median; up to 10) on held-out trials, and an update's KL summed over a trial's steps set how
far it moved the accuracy: median |Δ accuracy| 0.007 below 0.05, 0.04 at 0.2–0.4, 0.13 at
0.8–1.6 (480 updates of three runs). PPO's own guards do not see this: the ratio clip binds only
on the sampled actions of a near-deterministic decision, and the approximate KL is a mean over
steps, which divides the one decision of a trial by its ~19 steps (median 0.019 per step). Not
the cause: the entropy bonus (its gradient on W is ~1/500 of the decision term's), fixation
breaks (the greedy policy made none; the sampled policy's breaks are why ``train_accuracy`` is
lower than the greedy accuracy), and advantage normalisation (without it the decision KL halved
to 0.2, but still only 63 % of post-criterion updates were ≥ 0.93). A smaller rate throughout
slows the search and changes what it finds (3e-4: criterion at update 90, still 61 % ≥ 0.93; a
per-trial KL target from the start: a policy so soft its own sampled accuracy was 0.45).

So once the criterion is met (:meth:`PPOUpdater.hold`), the learning rate is adapted after each
update to its KL per trial, measured on the update's rollout (``PPOConfig.trial_kl_target``,
0.02): at δ = 0.1, seed 0 it fell from 1e-3 to ~1e-6 within three updates and then stayed
between 1e-6 and 2e-4 (median 3e-5), and every one of the 145 updates after the criterion was
≥ 0.93 on fresh trials (median 0.989; lowest 0.930, one update with a KL of 0.41 that the next
undid).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from cogdyn.config import PPOConfig, RunConfig
from cogdyn.models import VanillaRNN
from cogdyn.models.packed import Packing, run_packed, run_trials
from cogdyn.tasks import Outcome, TrialBatch
from cogdyn.tasks.registry import TrialTask
from cogdyn.train.loop import run_training

# ----------------------------------------------------------------------------------------------
# Configuration


# ----------------------------------------------------------------------------------------------
# The pieces of PPO, as plain functions of tensors (tested against hand-computed cases)


def policy_logits(logits: Tensor, cap: float) -> Tensor:
    """The logits of the action distribution: ``cap · tanh(logits / cap)``, or as is for cap 0.

    Strictly monotone per entry, so the arg-max action is the readout's arg-max.
    """
    if cap <= 0:
        return logits
    return cap * torch.tanh(logits / cap)


def gae(
    rewards: Tensor, values: Tensor, alive: Tensor, gamma: float, lam: float
) -> tuple[Tensor, Tensor]:
    """Generalised advantage estimates and returns for time-major (T, B) episodes.

    ``alive`` marks each episode's steps, a prefix of its column: the last alive step is terminal
    (the next value counts 0; nothing is bootstrapped past the episode's end). Steps that are not
    alive get advantage and return 0.
    """
    n_steps = rewards.shape[0]
    alive_f = alive.to(values.dtype)
    advantages = torch.zeros_like(values)
    running = torch.zeros_like(values[0])
    next_value = torch.zeros_like(values[0])
    next_alive = torch.zeros_like(values[0])
    for t in reversed(range(n_steps)):
        # next_alive = 1 iff step t + 1 belongs to the same episode (t is not its last step)
        delta = rewards[t] + gamma * next_value * next_alive - values[t]
        running = (delta + gamma * lam * next_alive * running) * alive_f[t]
        advantages[t] = running
        next_value, next_alive = values[t], alive_f[t]
    returns = (advantages + values) * alive_f
    return advantages, returns


def clipped_surrogate(
    new_logp: Tensor, old_logp: Tensor, advantages: Tensor, clip: float
) -> Tensor:
    """Per-step PPO policy loss, max(−A·r, −A·clip(r, 1 − ε, 1 + ε)), with r = π_new / π_old."""
    ratio = torch.exp(new_logp - old_logp)
    return torch.maximum(-advantages * ratio, -advantages * ratio.clamp(1 - clip, 1 + clip))


def value_loss(
    new_values: Tensor,
    old_values: Tensor,
    returns: Tensor,
    clip: float | None,
    huber: float = 0.0,
) -> Tensor:
    """Per-step value loss ½(V − R)² (Huber beyond ``huber`` when > 0); with ``clip`` the larger
    of it and the loss of V clipped to ``old_values`` ± clip (PPO2's pessimistic value update)."""

    def err(v: Tensor) -> Tensor:
        if huber > 0:
            return F.huber_loss(v, returns, reduction="none", delta=huber)
        return 0.5 * (v - returns) ** 2

    if clip is None:
        return err(new_values)
    clipped = old_values + (new_values - old_values).clamp(-clip, clip)
    return torch.maximum(err(new_values), err(clipped))


def sample_actions(logits: Tensor, generator: torch.Generator) -> Tensor:
    """One action per row of ``logits`` (..., A) from Categorical(logits), by Gumbel-max.

    The noise is drawn on the CPU from ``generator`` (a CPU generator can drive any device), so
    the draw is reproducible and independent of the device.
    """
    u = torch.rand(logits.shape, generator=generator, dtype=torch.float32)
    gumbel = -torch.log(-torch.log(u.clamp(min=1e-20))).to(logits.device)
    return (logits.float() + gumbel).argmax(dim=-1)


@dataclass(frozen=True)
class Experience:
    """One rollout: B trials as time-major (T, B) tensors padded like the batch."""

    batch: TrialBatch
    actions: Tensor
    """Sampled actions; 0 (fixate) past each trial's end, where nothing is scored."""
    log_probs: Tensor
    """log π(action) under the rollout policy."""
    log_policy: Tensor
    """log π(·) of every action under the rollout policy, (T, B, A); 0 past each trial's end."""
    values: Tensor
    """Critic estimates V(h_t) under the rollout policy."""
    outcome: Outcome
    """Rewards, alive mask, episode ends and correctness from the task's scoring rules."""

    @property
    def alive(self) -> Tensor:
        return self.outcome.alive

    @property
    def rewards(self) -> Tensor:
        return self.outcome.rewards


@torch.no_grad()
def collect(
    model: VanillaRNN,
    task: TrialTask,
    n_trials: int,
    generator: torch.Generator,
    *,
    logit_cap: float = 0.0,
    device: torch.device | str = "cpu",
) -> Experience:
    """Roll out the stochastic policy on ``n_trials`` fresh trials: one batched RNN pass.

    Valid because a trial's observations do not depend on the actions: the whole rollout is run
    at once, then actions are sampled for every step and the task's rules decide rewards and
    where each episode ended.
    """
    batch = task.sample(n_trials, generator).to(device)
    n_steps, _, n_in = batch.inputs.shape
    packing = Packing.of(batch.lengths)
    pos = packing.flat_index(n_trials).to(device)
    hidden = run_packed(model, batch.inputs.reshape(-1, n_in)[pos], packing)
    logits = policy_logits(model.readout(hidden), logit_cap)
    actions = sample_actions(logits, generator)
    log_policy = torch.log_softmax(logits, dim=-1)
    log_probs = log_policy.gather(-1, actions.unsqueeze(-1)).squeeze(-1)

    def padded(rows: Tensor) -> Tensor:
        out = rows.new_zeros((n_steps * n_trials, *rows.shape[1:]))
        return out.index_copy(0, pos, rows).view(n_steps, n_trials, *rows.shape[1:])

    actions = padded(actions)
    outcome = task.score(batch, actions)
    values = padded(model.value(hidden).squeeze(-1))
    return Experience(batch, actions, padded(log_probs), padded(log_policy), values, outcome)


def trial_kl(log_old: Tensor, log_new: Tensor, n_trials: int) -> Tensor:
    """KL(π_old ‖ π_new) of each step's action distribution (rows (S, A) of log-probabilities),
    summed over all steps and divided by ``n_trials``: the mean KL per trial. The observations
    of a trial do not depend on its actions, so this is the KL between the two policies'
    distributions over whole trials (the chain rule of the KL)."""
    return (log_old.exp() * (log_old - log_new)).sum() / n_trials


# ----------------------------------------------------------------------------------------------
# The updater


class PPOUpdater:
    """One PPO update per call: a fresh rollout, then epochs × minibatches of whole trials."""

    def __init__(
        self,
        model: VanillaRNN,
        task: TrialTask,
        generator: torch.Generator,
        device: torch.device | str,
        config: RunConfig | PPOConfig,
        *,
        lr: float | None = None,
    ) -> None:
        if isinstance(config, RunConfig):
            ppo = PPOConfig.from_run_config(config)
            lr = config.train.lr if lr is None else lr
        else:
            ppo = config
        self.model, self.task, self.generator = model, task, generator
        self.device = torch.device(device)
        self.config = ppo
        self.max_lr = 1e-3 if lr is None else lr
        self.optimizer = torch.optim.Adam(model.parameters(), lr=self.max_lr)
        self.holding = False
        self.last_trial_kl: float | None = None

    def hold(self) -> None:
        """The criterion is met: from now on, adapt the learning rate to the update's KL per
        trial (:attr:`PPOConfig.trial_kl_target`), starting with the last update's KL.

        Called by the training loop at the criterion, and again when a run resumed after it
        (then there is no last KL in memory and the resumed optimiser holds the adapted rate)."""
        self.holding = True
        if self.last_trial_kl is not None:
            self._adapt_lr(self.last_trial_kl)

    def _adapt_lr(self, kl: float) -> None:
        target = self.config.trial_kl_target
        if target <= 0 or target / 2 <= kl <= 2 * target:
            return
        factor = min(target / kl, 1.5) if kl > 0 else 1.5
        for group in self.optimizer.param_groups:
            group["lr"] = min(group["lr"] * max(factor, 0.1), self.max_lr)

    def _alive_rows(self, exp: Experience, idx: Tensor) -> tuple[Tensor, Tensor]:
        """The packed alive steps of trials ``idx``: their hidden states (RNN re-run from
        h₀ = 0 with the current weights) and their positions in the rollout's (T, B) tensors."""
        n_trials = exp.actions.shape[1]
        packing = Packing.of(exp.outcome.end_step[idx] + 1)
        # packed row → position in the rollout's flattened (T, B) tensors
        pos = packing.steps.to(self.device) * n_trials + idx[packing.trials.to(self.device)]
        inputs = exp.batch.inputs.reshape(-1, exp.batch.inputs.shape[-1])[pos]
        return run_packed(self.model, inputs, packing), pos

    @torch.no_grad()
    def _trial_kl(self, exp: Experience) -> float:
        """The KL per trial from the rollout's policy to the current one, on the rollout."""
        n_trials = exp.actions.shape[1]
        hidden, pos = self._alive_rows(exp, torch.arange(n_trials, device=self.device))
        logits = policy_logits(self.model.readout(hidden), self.config.logit_cap)
        log_new = torch.log_softmax(logits, dim=-1)
        log_old = exp.log_policy.reshape(-1, log_new.shape[-1])[pos]
        return float(trial_kl(log_old, log_new, n_trials))

    def _minibatch_loss(
        self, exp: Experience, idx: Tensor, advantages: Tensor, returns: Tensor
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Loss of the whole trials ``idx``: re-run the RNN on their inputs from h₀ = 0.

        Only alive steps are run (each trial up to its episode's end), packed, so every row of
        the loss is an alive step and the means below are plain means over alive steps.
        """
        cfg, model = self.config, self.model
        hidden, pos = self._alive_rows(exp, idx)
        logits = policy_logits(model.readout(hidden), cfg.logit_cap)
        values = model.value(hidden).squeeze(-1)
        log_all = torch.log_softmax(logits, dim=-1)
        actions = exp.actions.reshape(-1)[pos]
        new_logp = log_all.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        old_logp = exp.log_probs.reshape(-1)[pos]

        pg = clipped_surrogate(new_logp, old_logp, advantages.reshape(-1)[pos], cfg.clip).mean()
        vl = value_loss(
            values,
            exp.values.reshape(-1)[pos],
            returns.reshape(-1)[pos],
            cfg.clip if cfg.clip_value else None,
            cfg.value_huber,
        ).mean()
        entropy = -(log_all.exp() * log_all).sum(-1).mean()
        loss = pg + cfg.value_coef * vl - cfg.entropy_coef * entropy
        with torch.no_grad():
            log_ratio = new_logp - old_logp
            ratio = log_ratio.exp()
            stats = {
                "loss": loss.detach(),
                "policy_loss": pg.detach(),
                "value_loss": vl.detach(),
                "entropy": entropy.detach(),
                "approx_kl": ((ratio - 1) - log_ratio).mean(),
                "clip_frac": ((ratio - 1).abs() > cfg.clip).float().mean(),
            }
        return loss, stats

    def update(self) -> dict[str, float]:
        """Collect one rollout and optimise on it; returns the update's statistics."""
        cfg, model = self.config, self.model
        exp = collect(
            model,
            self.task,
            cfg.rollout_trials,
            self.generator,
            logit_cap=cfg.logit_cap,
            device=self.device,
        )
        alive = exp.alive
        advantages, returns = gae(exp.rewards, exp.values, alive, cfg.gamma, cfg.gae_lambda)
        if cfg.normalize_advantages:
            flat = advantages[alive]
            std = flat.std() if flat.numel() > 1 else flat.new_tensor(1.0)
            advantages = torch.where(alive, (advantages - flat.mean()) / (std + 1e-8), 0.0)

        totals: dict[str, float] = {}
        n_minibatches, train_steps, grad_norm = 0, 0, torch.tensor(0.0)
        stop = False
        for _ in range(cfg.epochs):
            perm = torch.randperm(cfg.rollout_trials, generator=self.generator)
            for idx in perm.split(cfg.minibatch_trials):
                loss, stats = self._minibatch_loss(exp, idx.to(self.device), advantages, returns)
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                self.optimizer.step()
                for k, v in stats.items():
                    totals[k] = totals.get(k, 0.0) + float(v)
                n_minibatches += 1
                train_steps += int(alive[:, idx].sum())
                if cfg.target_kl > 0 and float(stats["approx_kl"]) > cfg.target_kl:
                    stop = True
                    break
            if stop:
                break

        out = {k: v / n_minibatches for k, v in totals.items()}
        out["lr"] = float(self.optimizer.param_groups[0]["lr"])  # the rate of this update
        self.last_trial_kl = out["trial_kl"] = self._trial_kl(exp)
        if self.holding:
            self._adapt_lr(self.last_trial_kl)
        outcome = exp.outcome
        out.update(
            {
                # the stochastic rollout's return and accuracy; not the greedy evaluation's
                # ``mean_return``/``accuracy`` columns of metrics.csv
                "train_return": float(exp.rewards.sum(0).mean()),
                "train_accuracy": outcome.accuracy,
                "grad_norm": float(grad_norm),
                "minibatch_steps": n_minibatches,
                # RNN steps computed: forward over every step of every trial in the rollout,
                # forward + backward over the alive steps of each minibatch (for FLOP counts)
                "rollout_rnn_steps": int(exp.batch.lengths.sum()),
                "train_rnn_steps": train_steps,
                "trials": cfg.rollout_trials,
                "env_steps": int(alive.sum()),
            }
        )
        return out


def train_ppo(
    config: RunConfig,
    out_dir: str | Path,
    *,
    progress: bool | None = None,
    resume: bool = False,
    tensorboard: str | Path | None = None,
) -> dict[str, Any]:
    """Train one network with PPO into ``out_dir``; returns the summary (as ``summary.json``).

    The run directory, evaluation, stop criterion, checkpoints and summary are those of
    :func:`cogdyn.train.loop.run_training`, identical to supervised training. ``config.json``
    records the complete ``[ppo]`` table, defaults included, so a run can be repeated exactly.
    """
    ppo = PPOConfig.from_run_config(config)  # validate before the run directory is written
    resolved = dataclasses.replace(config, ppo=ppo)
    return run_training(
        resolved,
        out_dir,
        lambda model, task, gen, device: PPOUpdater(
            model, task, gen, device, ppo, lr=config.train.lr
        ),
        progress=progress,
        resume=resume,
        tensorboard=tensorboard,
    )


__all__ = [
    "Experience",
    "PPOConfig",
    "PPOUpdater",
    "Packing",
    "clipped_surrogate",
    "collect",
    "gae",
    "policy_logits",
    "run_packed",
    "run_trials",
    "sample_actions",
    "train_ppo",
    "trial_kl",
    "value_loss",
]
