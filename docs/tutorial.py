# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Tutorial: one task, two learning rules, two dynamical systems
#
# This tutorial walks through cogdyn's whole pipeline in under a minute on one CPU core:
#
# 1. build the context-dependent decision-making task (CtxDM) and look at a trial;
# 2. train a small network with supervised learning (SL) and one with reinforcement learning
#    (PPO) — on tiny budgets, so they only get part of the way;
# 3. evaluate them on fresh trials;
# 4. take the **attractor census** of each network: freeze the stimulus input at every pair of
#    signed coherences (c₁, c₂), iterate the network as an autonomous map and classify what it
#    settles on;
# 5. plot the attractor maps side by side, for the tiny networks and for two shipped example
#    networks that were trained to the 95 % criterion.
#
# Every number is computed here; nothing is loaded from a cache except the example networks.

# %%
# ruff: noqa: E402  (a notebook imports where it first needs a name)
import os
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")  # run as a script: draw into files (a notebook shows them inline)
import matplotlib.pyplot as plt
import numpy as np
import torch

torch.set_num_threads(1)  # small networks: one thread is fastest and deterministic
OUT = Path(os.environ.get("COGDYN_TUTORIAL_OUT") or tempfile.mkdtemp(prefix="cogdyn-tutorial-"))
OUT.mkdir(parents=True, exist_ok=True)
started = time.perf_counter()
print(f"writing into {OUT}")

# %% [markdown]
# ## 1. The task
#
# A config is a set of frozen dataclasses (`cogdyn.config`); `run_config_from_dict` builds and
# validates one from nested dicts, exactly as a TOML file or `cogdyn train` flags would.
# The defaults are the study's: N = 250, δ = 0.1, σ = 0.45 and so on (see
# [Scientific notes](scientific-notes.md)). Here we shrink the network to N = 64.

# %%
from cogdyn.config import run_config_from_dict
from cogdyn.tasks import CtxDM

base = {"model": {"hidden": 64, "delta": 0.1}, "train": {"seed": 0, "eval_trials": 500}}
task = CtxDM(run_config_from_dict(base).task)
batch = task.sample(4, torch.Generator().manual_seed(0))
print(f"inputs (time, trials, channels): {tuple(batch.inputs.shape)}; actions: {task.n_actions}")
print(f"ideal-observer accuracy of this task: {task.ideal_observer_accuracy:.3f}")
print("trial variables:", {k: v.tolist() for k, v in batch.info.items()})

# %% [markdown]
# The seven input channels are the fixation cue (which turns off at the decision period: the
# go cue), two rings of two units (one per modality) and the context one-hot. The three
# actions are *fixate*, *choice 1* and *choice 2*. Chance accuracy is ½ for a network that
# fixates and then guesses, and 0 for one that breaks fixation.

# %%
fig, ax = plt.subplots(figsize=(7, 2.6))
steps = np.arange(batch.inputs.shape[0])
names = ["fixation", "mod 1 · ring 1", "mod 1 · ring 2", "mod 2 · ring 1", "mod 2 · ring 2"]
for i, name in enumerate(names):
    ax.plot(steps, batch.inputs[:, 0, i] + 1.5 * i, label=name)
ax.set_yticks([])
ax.set_xlabel("time step (100 ms)")
ax.set_title(f"trial 0, context {int(batch.info['context'][0])}: inputs (offset for clarity)")
ax.legend(fontsize=7, loc="upper right", ncols=2)
fig.tight_layout()
fig.savefig(OUT / "trial.png", dpi=100)

# %% [markdown]
# ## 2. Train one network with SL and one with PPO
#
# `cogdyn.train` does what `cogdyn train` does: it writes a run directory (`config.json`,
# `metrics.csv`, `model.safetensors`, `checkpoints/`, `summary.json`), stops at the accuracy
# criterion or the update budget, and returns a `Run` — the directory as an object, with
# `.config`, `.model`, `.metrics` (pandas), `.summary` and, after `cogdyn.analyze`,
# `.table("attractors")`. In a notebook a `Run` shows itself as a table.
#
# The budgets here are tiny (about ten seconds each, a learning rate of 3e-3 instead of 1e-3):
# both networks learn to fixate and to choose, and get well above the ½ of guessing, but stop
# short of the 95 % criterion — the example networks in section 5 reach it. Note the units of
# work: one SL update is one batch of 64 trials, one PPO update a rollout of 256 trials
# followed by 4 epochs over it.

# %%
import cogdyn


def tiny_run(algo: str, max_updates: int, eval_every: int, **extra) -> cogdyn.Run:
    """Train one small network into OUT/<algo> (replacing an earlier one); return its Run."""
    cfg = {
        "model": dict(base["model"]),
        "train": {**base["train"], "algo": algo, "lr": 3e-3, "max_updates": max_updates},
        **extra,
    }
    cfg["train"]["eval_every"] = eval_every
    run = cogdyn.train(cfg, OUT / algo, overwrite=True)
    s = run.summary
    print(
        f"{algo}: {s['updates']} updates, {s['trials']} trials, "
        f"{s['wall_s']:.1f} s, held-out accuracy {s['accuracy']:.3f}"
    )
    return run


sl_run = tiny_run("sl", max_updates=1500, eval_every=250)
rl_run = tiny_run(
    "ppo",
    max_updates=100,
    eval_every=20,
    ppo={"rollout_trials": 256, "minibatches": 2, "epochs": 4},
)
sl_summary, rl_summary = sl_run.summary, rl_run.summary
sl_run.metrics[["update", "trials", "accuracy", "fix_break_rate"]]

# %% [markdown]
# ## 3. Evaluate on fresh trials
#
# `cogdyn.load_run` opens any run directory (here the two just written) and `run.model` is its
# network (a `VanillaRNN`); `evaluate` scores the greedy policy with the task's own scoring (a
# fixation break is an error).

# %%
from cogdyn.behaviour import evaluate

fresh = task.sample(1000, torch.Generator().manual_seed(12345))
runs = {"SL": cogdyn.load_run(OUT / "sl"), "RL": cogdyn.load_run(OUT / "ppo")}
models, accuracy = {}, {}
for name, run in runs.items():
    models[name] = run.model
    ev = evaluate(models[name], task, fresh)
    accuracy[name] = ev.accuracy
    print(
        f"{name}: accuracy {ev.accuracy:.3f}, fixation breaks {ev.fix_break_rate:.3f}, "
        f"no response {ev.no_response_rate:.3f}"
    )
sl_accuracy, rl_accuracy = accuracy["SL"], accuracy["RL"]

# %% [markdown]
# ## 4. The attractor census
#
# For context k and signed coherences (c₁, c₂), holding the noise-free stimulus input x fixed
# turns the network into the map F(h) = ReLU(W h + W_in x + b). The census starts each map at
# the network's real state at stimulus onset, iterates it past a transient and classifies the
# orbit (`fixed_point`, `periodic`, `quasi_periodic`, `chaotic`, `divergent`, `unresolved`)
# from its Lyapunov exponents, its recurrences and its spectrum — one batched float64
# simulation for the whole grid.
#
# The study uses a 21 × 21 grid, two extra starts and 2000 + 2000 steps; a 5 × 5 grid and
# 200 + 200 steps keep this tutorial fast (short windows make the labels less certain).
# `run.census(options)` computes the census of the run's network in memory;
# `cogdyn.analyze(run)` would write it (with fixed points and populations, over checkpoints) to
# `run.table("attractors")`, as `cogdyn analyze` does.

# %%
from cogdyn.analysis.census import CensusOptions, census_summary
from cogdyn.dynamics.classify import LABELS, ClassifyOptions

options = CensusOptions(
    grid=5, extra_starts=0, classify=ClassifyOptions(transient=200, measure=200, max_period=16)
)
census = {name: run.census(options) for name, run in runs.items()}
census["SL"].head()

# %% [markdown]
# One row per context × c₁ × c₂ × start: 2 × 5 × 5 = 50 rows here. `census_summary` gives the
# headline numbers, among them **F_QP**, the fraction of grid points whose attractor is
# quasi-periodic.

# %%
for name, table in census.items():
    s = census_summary(table)
    counts = {k: v for k, v in s["label_counts"].items() if v}
    print(f"{name}: F_QP = {s['frac_qp']:.2f}, labels {counts}")

# %% [markdown]
# ## 5. Attractor maps, side by side
#
# Each panel is one context; each square one (c₁, c₂) grid point, coloured by the attractor the
# onset state reaches. The same function draws the tiny networks trained above and two networks
# shipped with cogdyn (`cogdyn.examples`, N = 64, trained to 95 % held-out accuracy; see
# [Example networks](examples.md)).

# %%
from cogdyn.report.style import LABEL_COLOR, LABEL_HATCH


def attractor_maps(tables: dict, title: str):
    """One row per network, one column per context: the census label of every grid point."""
    fig, axes = plt.subplots(
        len(tables), 2, figsize=(6.4, 3.0 * len(tables)), squeeze=False, layout="constrained"
    )
    for row, (name, table) in enumerate(tables.items()):
        onset = table[table["start"] == 0]
        cohs = np.sort(onset["coh_mod1"].unique())
        step = float(np.diff(cohs).min())
        for ctx in (0, 1):
            ax = axes[row, ctx]
            sub = onset[onset["context"] == ctx]
            for c1, c2, label in zip(
                sub["coh_mod1"], sub["coh_mod2"], sub["label"].astype(str), strict=True
            ):
                ax.add_patch(
                    plt.Rectangle(
                        (c1 - step / 2, c2 - step / 2),
                        step,
                        step,
                        facecolor=LABEL_COLOR[label],
                        hatch=LABEL_HATCH[label],
                        edgecolor="0.4",
                        lw=0.3,
                    )
                )
            lim = (cohs[0] - step / 2, cohs[-1] + step / 2)
            ax.set(xlim=lim, ylim=lim, aspect="equal", xlabel="c₁ (%)", ylabel="c₂ (%)")
            qp = float((sub["label"] == "quasi_periodic").mean())
            ax.set_title(f"{name}, context {ctx + 1}: F_QP = {qp:.2f}", fontsize=9)
    handles = [
        plt.Rectangle((0, 0), 1, 1, facecolor=LABEL_COLOR[k], hatch=LABEL_HATCH[k], label=k)
        for k in LABELS
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=7)
    fig.suptitle(title)
    return fig


fig = attractor_maps(census, "tiny networks trained above")
fig.savefig(OUT / "attractor_maps_tiny.png", dpi=100)

# %% [markdown]
# Now the example networks. Each is a shipped run directory (`examples.path`), so
# `cogdyn.load_run` opens it like any other; the census runs exactly as above (on the example's
# own task config, `run.task`).

# %%
from cogdyn import examples

print(examples.names())
trained, example_census = {}, {}
for name in ("sl-small", "rl-small"):
    example = cogdyn.load_run(examples.path(name))
    trained[name] = example.model
    fresh_trials = example.task.sample(1000, torch.Generator().manual_seed(12345))
    ev = evaluate(example.model, example.task, fresh_trials)
    print(f"{name}: {examples.info(name)['description']}; accuracy {ev.accuracy:.3f}")
    example_census[name] = example.census(options)

fig = attractor_maps(example_census, "example networks (trained to 95 %)")
fig.savefig(OUT / "attractor_maps_examples.png", dpi=100)

# %% [markdown]
# ## Where to go next
#
# * The same analysis on every post-criterion checkpoint, with fixed points, basins and
#   populations: `cogdyn.analyze(run)` (or `cogdyn analyze RUN_DIR`, [Analyse a
#   network](howto/analyse.md)); then `run.table("attractors")`, `run.table("fixed_points")`.
# * Many networks: `cogdyn.sweep("quick", "runs/quick")` returns a `Sweep`;
#   `sweep.table("attractors")` is every cell's census in one DataFrame, with the cell's
#   parameters (`algo`, `delta`, `seed`) as columns.
# * Your own network (a torch GRU, LSTM, RNN or an SB3 agent): [Analyse your own
#   network](howto/torch.md).
# * Why the census looks at several checkpoints, and what the labels and F_QP mean:
#   [Attractors and F_QP](concepts/dynamics.md).
# * The ensemble question — is F_QP higher under RL, and does it grow with δ? — needs many
#   networks: [Run a sweep](howto/sweep.md).

# %%
elapsed = time.perf_counter() - started
print(f"tutorial ran in {elapsed:.1f} s; figures in {OUT}")
