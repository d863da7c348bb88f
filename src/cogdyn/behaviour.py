"""Evaluation of any trained model, RL or SL: accuracy, psychometric tables, output probabilities
over time (the paper's Fig. 1c) and full rollouts with hidden states.

The policy is the readout: greedy evaluation takes the arg-max class at every step, and the task's
scoring rules decide (a fixation break is an error).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from torch import Tensor

from cogdyn.config import Duration, TaskConfig
from cogdyn.memory import require_memory, trial_bytes
from cogdyn.models import VanillaRNN
from cogdyn.tasks import PAD, PERIOD_NAMES, CtxDM, Outcome, TrialBatch, TrialTask
from cogdyn.tasks.timing import max_trial_steps, truncexp_mean


def check_trials_memory(task: TaskConfig, n_trials: int, hidden: int, field_name: str) -> None:
    """Refuse ``n_trials`` fresh trials (inputs, hidden states and outputs) that would not fit in
    the machine's memory, before drawing them (ConfigError naming ``field_name``)."""
    steps = max_trial_steps(task) or 1
    width = task.n_inputs + hidden + task.n_actions if task.is_ctxdm else hidden
    require_memory(
        trial_bytes(n_trials, steps, width),
        field_name,
        f"{n_trials} trials of up to {steps} steps through {hidden} units",
        f"lower {field_name}",
    )


@dataclass(frozen=True)
class Evaluation:
    """Greedy-policy results on a batch of held-out trials."""

    accuracy: float
    fix_break_rate: float
    no_response_rate: float
    mean_return: float
    outcome: Outcome


@torch.no_grad()
def greedy_actions(model: VanillaRNN, batch: TrialBatch) -> Tensor:
    """Arg-max readout class at every step, (T, B) int64."""
    _, logits = model(batch.inputs)
    return logits.argmax(dim=-1)


@torch.no_grad()
def evaluate(model: VanillaRNN, task: TrialTask, batch: TrialBatch) -> Evaluation:
    """Score the greedy policy of ``model`` on ``batch``."""
    was_training = model.training
    model.eval()
    try:
        outcome = task.score(batch, greedy_actions(model, batch))
    finally:
        model.train(was_training)
    return Evaluation(
        accuracy=outcome.accuracy,
        fix_break_rate=float(outcome.fix_break.float().mean()),
        no_response_rate=float((outcome.choice == 0).float().mean()),
        mean_return=float(outcome.rewards.sum(0).mean()),
        outcome=outcome,
    )


def psychometric_table(batch: TrialBatch, outcome: Outcome) -> pd.DataFrame:
    """Accuracy and choice fractions per context × coherence pair.

    Two choices: signed coherences (+ toward choice 1) and ``p_choice1``, the fraction of trials
    answered with choice 1 — the psychometric curve. More choices: unsigned coherences and whether
    the modalities agree (``congruent``).
    """
    info = batch.info
    frame = pd.DataFrame(
        {
            "context": info["context"].cpu().numpy(),
            "correct": outcome.correct.cpu().numpy(),
            "fix_break": outcome.fix_break.cpu().numpy(),
            "choice": outcome.choice.cpu().numpy(),
        }
    )
    if "signed_coh_mod1" in info:
        keys = ["context", "coh_mod1", "coh_mod2"]
        frame["coh_mod1"] = info["signed_coh_mod1"].cpu().numpy()
        frame["coh_mod2"] = info["signed_coh_mod2"].cpu().numpy()
    else:
        keys = ["context", "coh_mod1", "coh_mod2", "congruent"]
        frame["coh_mod1"] = info["coh_mod1"].cpu().numpy()
        frame["coh_mod2"] = info["coh_mod2"].cpu().numpy()
        frame["congruent"] = (info["choice_mod1"] == info["choice_mod2"]).cpu().numpy()
    frame["chose1"] = frame["choice"] == 1
    table = (
        frame.groupby(keys, as_index=False)
        .agg(
            n=("correct", "size"),
            accuracy=("correct", "mean"),
            p_choice1=("chose1", "mean"),
            fix_break_rate=("fix_break", "mean"),
        )
        .sort_values(keys, ignore_index=True)
    )
    return table


def condition_table(batch: TrialBatch, outcome: Outcome) -> pd.DataFrame:
    """Accuracy, fixation breaks and no-responses per trial condition, for any task.

    A condition is one combination of the batch's per-trial variables (``batch.info``, e.g.
    ``ground_truth`` and ``coh`` of a neurogym task), the correct ``choice`` included.
    """
    frame = pd.DataFrame({k: v.cpu().numpy() for k, v in sorted(batch.info.items())})
    keys = list(frame.columns)
    frame["correct"] = outcome.correct.cpu().numpy()
    frame["fix_break"] = outcome.fix_break.cpu().numpy()
    frame["no_response"] = (outcome.choice == 0).cpu().numpy()
    return (
        frame.groupby(keys, as_index=False)
        .agg(
            n=("correct", "size"),
            accuracy=("correct", "mean"),
            fix_break_rate=("fix_break", "mean"),
            no_response_rate=("no_response", "mean"),
        )
        .sort_values(keys, ignore_index=True)
    )


@torch.no_grad()
def output_probabilities(
    model: VanillaRNN, task: CtxDM, *, trials_per_condition: int = 64, seed: int = 0
) -> pd.DataFrame:
    """Mean output probabilities at each step, per context × signed relevant coherence.

    The delay is fixed to its mean (rounded to a step) so that trials align in time; everything
    else, noise included, is as in training. Long format: one row per condition and step with
    columns ``p_0`` (fixate) .. ``p_n``.
    """
    cfg = task.config
    delay = task.config.delay
    mean_delay = {
        "constant": delay.value,
        "uniform": (delay.min + delay.max) / 2,
        "choice": sum(delay.values) / max(len(delay.values), 1),
    }.get(delay.kind)
    if mean_delay is None:
        mean_delay = truncexp_mean(delay.mean, delay.min, delay.max)
    fixed = dataclasses.replace(
        cfg,
        fixation=Duration("constant", value=cfg.fixation.lowest),
        stimulus=Duration("constant", value=cfg.stimulus.lowest),
        delay=Duration("constant", value=round(mean_delay / cfg.dt) * cfg.dt),
        decision=Duration("constant", value=cfg.decision.lowest),
    )
    aligned = CtxDM(fixed)
    n_cond = 2 * len(cfg.coherences) * cfg.dim_ring
    gen = torch.Generator().manual_seed(seed)
    batch = aligned.sample(n_cond * trials_per_condition, gen)
    device = next(model.parameters()).device
    _, logits = model(batch.inputs.to(device))
    probs = torch.softmax(logits.float(), dim=-1).cpu()  # (T, B, n_out)

    info = batch.info
    relevant = torch.where(info["context"] == 0, info["coh_mod1"], info["coh_mod2"])
    choice = info["choice"]
    # two choices: sign toward choice 1; more: the relevant coherence and the correct choice
    signed = torch.where(choice == 1, relevant, -relevant) if cfg.dim_ring == 2 else relevant
    rows = []
    n_steps = batch.n_steps
    periods = batch.periods[:, 0]
    for ctx in (0, 1):
        for c in torch.unique(signed).tolist():
            for ch in torch.unique(choice).tolist() if cfg.dim_ring > 2 else [None]:
                sel = (info["context"] == ctx) & (signed == c)
                if ch is not None:
                    sel &= choice == ch
                if not sel.any():
                    continue
                mean = probs[:, sel].mean(dim=1)  # (T, n_out)
                for t in range(n_steps):
                    row = {
                        "context": ctx,
                        "coh_relevant": float(c),
                        "step": t,
                        "time_ms": t * cfg.dt,
                        "period": PERIOD_NAMES[int(periods[t])] if periods[t] != PAD else "pad",
                    }
                    if ch is not None:
                        row["choice"] = int(ch)
                    row.update({f"p_{k}": float(mean[t, k]) for k in range(mean.shape[1])})
                    rows.append(row)
    return pd.DataFrame(rows)


def plot_output_probabilities(table: pd.DataFrame, path: str | Path) -> Path:
    """Fig. 1c analog, one column per context, one line per signed relevant coherence.

    Top: p(choice 1), the probability of answering choice 1 now. Bottom: p(choice 1) /
    p(any choice), the decision the network would take if asked now — it forms during the
    stimulus even while the network (rightly) keeps fixating.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, axes = plt.subplots(
        2, 2, figsize=(9, 5.6), sharex=True, sharey="row", constrained_layout=True
    )
    cohs = sorted(table["coh_relevant"].unique())
    cmap = plt.get_cmap("cividis")
    dt = float(table["time_ms"][table["step"] == 1].iloc[0]) if (table["step"] == 1).any() else 1.0
    choice_cols = [c for c in table.columns if c.startswith("p_") and c != "p_0"]
    shades = {"stimulus": "0.9", "decision": "0.78"}
    for ctx in (0, 1):
        sub = table[table["context"] == ctx]
        if "choice" in sub:
            sub = sub[sub["choice"] == 1]
        first = sub[sub["coh_relevant"] == cohs[0]]
        spans = first.groupby("period", sort=False)["time_ms"].agg(["min", "max"])
        for row, ax in enumerate(axes[:, ctx]):
            for period, (lo, hi) in spans.iterrows():
                if period in shades:
                    ax.axvspan(lo, hi + dt, color=shades[period], lw=0)
            for i, c in enumerate(cohs):
                line = sub[sub["coh_relevant"] == c]
                color = cmap(i / max(len(cohs) - 1, 1))
                y = line["p_1"] if row == 0 else line["p_1"] / line[choice_cols].sum(axis=1)
                ax.plot(line["time_ms"] + dt / 2, y, color=color, marker=".", label=f"{c:+g} %")
            ax.set_ylim(-0.03, 1.03)
        axes[0, ctx].set_title(f"context {ctx + 1} (modality {ctx + 1} relevant)")
        axes[1, ctx].set_xlabel("time in trial (ms); shaded: stimulus, decision")
    axes[0, 0].set_ylabel("p(choice 1)")
    axes[1, 0].set_ylabel("p(choice 1) / p(any choice)")
    axes[0, 1].legend(title="relevant coh.", fontsize=7, title_fontsize=7, loc="upper left")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
    return path


@dataclass(frozen=True)
class Rollout:
    """Everything a model did on a batch of trials; time-major (T, B, ...), padded like the batch.

    ``hidden`` (T, B, N), ``inputs`` (T, B, n_in), ``probs`` (T, B, n_out) action/class
    probabilities, ``actions`` (T, B), ``rewards`` (T, B) and ``alive`` (T, B) from the task's
    scoring rules, plus the batch itself for periods, targets and trial metadata.
    """

    hidden: Tensor
    inputs: Tensor
    probs: Tensor
    actions: Tensor
    rewards: Tensor
    alive: Tensor
    batch: TrialBatch


@torch.no_grad()
def rollout(
    model: VanillaRNN, task: TrialTask, n_trials: int, seed: int, *, greedy: bool = True
) -> Rollout:
    """Run ``model`` on ``n_trials`` fresh trials drawn with ``seed`` and keep every step.

    ``greedy`` takes the arg-max action; otherwise actions are sampled from the policy with the
    same seed. Hidden states start at 0 for every trial.
    """
    gen = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    batch = task.sample(n_trials, gen).to(device)
    hidden, logits = model(batch.inputs)
    probs = torch.softmax(logits, dim=-1)
    if greedy:
        actions = probs.argmax(-1)
    else:
        flat = probs.reshape(-1, probs.shape[-1]).cpu()
        actions = torch.multinomial(flat, 1, generator=gen).reshape(probs.shape[:-1]).to(device)
    outcome = task.score(batch, actions)
    return Rollout(
        hidden=hidden,
        inputs=batch.inputs,
        probs=probs,
        actions=actions,
        rewards=outcome.rewards,
        alive=outcome.alive,
        batch=batch,
    )
