"""PPO throughput against the usual alternative, and against this machine's compute bound.

In one run:

(a) sb3-contrib ``RecurrentPPO`` with the settings of neurogym's ContextDecisionMaking example
    notebook (``MlpLstmPolicy``, LSTM 128 × 2 layers shared by actor and critic, lr 3e-4,
    ``n_steps`` ≈ 64 trials, batch 32, no entropy bonus) on neurogym's
    ``ContextDecisionMaking-v0`` with ``use_expl_context=True``;
(b) cogdyn's PPO with its defaults (N = 250 ReLU RNN, 1024 trials per update) on cogdyn's CtxDM,
    for the same number of env steps (rounded to whole updates, about 20k env steps each);
(c) cogdyn's PPO again for the wall time (a) took (``--no-same-time`` skips it), since a budget
    of a few ten thousand steps is only one or two cogdyn updates.

It prints env steps/s of each and their ratio, the accuracy each reached (greedy policy on
held-out trials: neurogym's per-trial ``performance`` for (a), cogdyn's scoring — where a
fixation break is an error — for (b, c)), and cogdyn's fraction of the compute bound: the FLOPs
of PPO's forward and backward passes per env step times env steps/s, over the matmul throughput
measured here, in the same process and with the same thread count.

Both tasks use the same noise σ (``--sigma``, cogdyn's default 0.45; neurogym's example uses 1.0,
with which no policy can reach 95 %), so accuracies are comparable; neurogym's task still lacks
the go cue (see docs). Run: ``python benchmarks/bench_ppo.py [--env-steps 20000] [--threads 1]``.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from typing import Any

import numpy as np
import torch

from cogdyn.behaviour import evaluate
from cogdyn.config import ModelConfig, TaskConfig
from cogdyn.models import VanillaRNN
from cogdyn.tasks import CtxDM
from cogdyn.train.ppo import PPOConfig, PPOUpdater


def matmul_gflops(hidden: int, rows: int, repeats: int = 30) -> float:
    """Best measured GFLOP/s of float32 matrix products: PPO's own shape and a large square one."""
    best = 0.0
    g = torch.Generator().manual_seed(0)
    for m, k, n in ((rows, hidden, hidden), (1024, 1024, 1024)):
        a, b = torch.randn(m, k, generator=g), torch.randn(k, n, generator=g)
        for _ in range(3):
            a @ b  # warm-up
        t0 = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best = max(best, 2 * m * k * n * repeats / (time.perf_counter() - t0) / 1e9)
    return best


def ppo_flops_per_env_step(
    hidden: int, n_in: int, n_out: int, rollout_rows: int, train_rows: int, env_steps: int
) -> float:
    """Matrix-product FLOPs of cogdyn's PPO per env step.

    Forward, per computed step: recurrent 2N², input 2N·n_in, heads 2N(n_out + 1).
    Backward: ∂h (2N²) plus the weight gradients (2N², 2N·n_in) and the heads' two products.
    The rollout runs forward on every step of every trial; training runs forward and backward on
    the alive steps, ``epochs`` times.
    """
    n = hidden
    fwd = 2 * n * n + 2 * n * n_in + 2 * n * (n_out + 1)
    bwd = 4 * n * n + 2 * n * n_in + 4 * n * (n_out + 1)
    return (rollout_rows * fwd + train_rows * (fwd + bwd)) / env_steps


def run_sb3(env_steps: int, sigma: float, seed: int, eval_trials: int) -> dict[str, Any]:
    """RecurrentPPO as in neurogym's ContextDecisionMaking example notebook."""
    import neurogym as ngym
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    kwargs = {"use_expl_context": True, "sigma": sigma}
    env = ngym.make("ContextDecisionMaking-v0", **kwargs)
    env.reset(seed=seed)
    avg_steps = int(env.unwrapped.trial_length_stats(num_trials=500)["mean"])
    vec = DummyVecEnv([lambda: env])
    model = RecurrentPPO(
        "MlpLstmPolicy",
        vec,
        learning_rate=3e-4,
        n_steps=avg_steps * 64,  # about 64 trials per update
        batch_size=32,
        ent_coef=0.0,
        policy_kwargs={
            "lstm_hidden_size": 128,
            "n_lstm_layers": 2,
            "shared_lstm": True,
            "enable_critic_lstm": False,
        },
        seed=seed,
        device="cpu",
        verbose=0,
    )
    t0 = time.perf_counter()
    model.learn(total_timesteps=env_steps)
    wall = time.perf_counter() - t0
    steps = int(model.num_timesteps)

    # Greedy evaluation on fresh trials; neurogym never ends an episode, so the LSTM state runs
    # on across trials exactly as it did in training.
    test = ngym.make("ContextDecisionMaking-v0", **kwargs)
    obs, _ = test.reset(seed=seed + 1)
    state, start = None, np.ones(1, dtype=bool)
    trials = correct = 0
    while trials < eval_trials:
        action, state = model.predict(obs, state=state, episode_start=start, deterministic=True)
        obs, _, _, _, info = test.step(int(action))
        start = np.zeros(1, dtype=bool)
        if info["new_trial"]:
            trials += 1
            correct += int(info["performance"])
    return {
        "env_steps": steps,
        "wall_s": wall,
        "env_steps_per_s": steps / wall,
        "accuracy": correct / trials,
    }


def run_cogdyn(
    *, env_steps: int | None, wall_s: float | None, sigma: float, seed: int, eval_trials: int
) -> dict[str, Any]:
    """cogdyn's PPO (defaults) for about ``env_steps`` env steps or ``wall_s`` seconds."""
    task = CtxDM(TaskConfig(sigma=sigma))
    model = VanillaRNN(
        task.n_inputs, task.n_actions, ModelConfig(), torch.Generator().manual_seed(seed)
    )
    cfg = PPOConfig()
    updater = PPOUpdater(model, task, torch.Generator().manual_seed(seed + 1), "cpu", cfg)
    held_out = task.sample(eval_trials, torch.Generator().manual_seed(seed + 2))
    steps = rollout_rows = train_rows = updates = 0
    t0 = time.perf_counter()
    while True:
        stats = updater.update()
        updates += 1
        steps += stats["env_steps"]
        rollout_rows += stats["rollout_rnn_steps"]
        train_rows += stats["train_rnn_steps"]
        wall = time.perf_counter() - t0
        # whole updates only: stop at the update count whose env steps come nearest the budget
        if (env_steps is not None and steps + steps / updates / 2 >= env_steps) or (
            wall_s is not None and wall >= wall_s
        ):
            break
    acc = evaluate(model, task, held_out).accuracy
    flops = ppo_flops_per_env_step(
        model.hidden, task.n_inputs, task.n_actions, rollout_rows, train_rows, steps
    )
    return {
        "env_steps": steps,
        "updates": updates,
        "wall_s": wall,
        "env_steps_per_s": steps / wall,
        "accuracy": acc,
        "flops_per_env_step": flops,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env-steps", type=int, default=20_000, help="budget of (a) and (b)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--sigma", type=float, default=0.45, help="input noise of both tasks")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-trials", type=int, default=1000)
    parser.add_argument(
        "--no-same-time", dest="same_time", action="store_false", help="skip run (c)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")  # neurogym/gymnasium deprecation chatter

    peak = matmul_gflops(250, 256)
    print(f"matmul throughput ({args.threads} thread(s)): {peak:.1f} GFLOP/s")

    sb3 = run_sb3(args.env_steps, args.sigma, args.seed, args.eval_trials)
    print(
        f"(a) sb3-contrib RecurrentPPO (LSTM 128×2) on neurogym: {sb3['env_steps']} env steps in "
        f"{sb3['wall_s']:.1f} s = {sb3['env_steps_per_s']:.0f} steps/s, "
        f"accuracy {sb3['accuracy']:.3f}"
    )
    same = run_cogdyn(
        env_steps=args.env_steps,
        wall_s=None,
        sigma=args.sigma,
        seed=args.seed,
        eval_trials=args.eval_trials,
    )
    gflops = same["flops_per_env_step"] * same["env_steps_per_s"] / 1e9
    print(
        f"(b) cogdyn PPO (ReLU RNN 250): {same['env_steps']} env steps ({same['updates']} "
        f"updates) in {same['wall_s']:.1f} s = {same['env_steps_per_s']:.0f} steps/s, "
        f"accuracy {same['accuracy']:.3f}"
    )
    print(f"    speed ratio cogdyn / sb3: {same['env_steps_per_s'] / sb3['env_steps_per_s']:.1f}×")
    print(
        f"    compute: {same['flops_per_env_step'] / 1e6:.2f} MFLOP per env step → "
        f"{gflops:.1f} GFLOP/s = {gflops / peak:.0%} of the measured matmul throughput"
    )
    if args.same_time:
        timed = run_cogdyn(
            env_steps=None,
            wall_s=sb3["wall_s"],
            sigma=args.sigma,
            seed=args.seed,
            eval_trials=args.eval_trials,
        )
        print(
            f"(c) cogdyn PPO for sb3's wall time ({sb3['wall_s']:.0f} s): {timed['env_steps']} "
            f"env steps ({timed['updates']} updates), accuracy {timed['accuracy']:.3f}"
        )
    if not math.isfinite(peak) or peak <= 0:
        raise SystemExit("matmul throughput could not be measured")


if __name__ == "__main__":
    main()
