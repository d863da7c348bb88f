"""Supervised training throughput: cogdyn vs the usual neurogym route vs the bare RNN.

Run: ``.venv/bin/python benchmarks/bench_supervised.py [--updates 150] [--batch 64] [--threads 2]``

All three train the same N-unit ReLU RNN with Adam and the same weighted cross-entropy, in one
process, interleaved in rounds so that machine noise hits them alike:

* **cogdyn** — ``SupervisedUpdater.update()``: draws a fresh batch of whole trials (padded, masked)
  and does one update. Counts the trials' own steps.
* **neurogym** — ``ngym.Dataset(ContextDecisionMaking-v0, use_expl_context=True)`` windows +
  ``torch.nn.RNN(nonlinearity="relu")`` + ``Linear`` — what a researcher writes today.
* **cogdyn pre-drawn** — cogdyn's own update on batches drawn beforehand: the RNN's packed
  forward + backward alone. Overhead of task generation and bookkeeping = cogdyn / this − 1.
* **bare padded RNN** — the same model, loss and Adam step on the same pre-drawn batches through
  torch's fused padded RNN kernel, i.e. without cogdyn's packing of trials.

Throughput is time steps per second (trial steps that enter the loss).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch
from torch.nn import functional as F

from cogdyn.config import RunConfig, TrainConfig
from cogdyn.models import VanillaRNN
from cogdyn.tasks import CtxDM
from cogdyn.train.supervised import SupervisedUpdater


def _cogdyn(batch: int, n_updates: int):
    config = RunConfig(train=TrainConfig(batch_size=batch))
    task = CtxDM(config.task)
    model = VanillaRNN(
        task.n_inputs, task.n_actions, config.model, torch.Generator().manual_seed(0)
    )
    up = SupervisedUpdater(
        model, task, torch.Generator().manual_seed(1), torch.device("cpu"), config
    )

    def run() -> tuple[float, int]:
        steps, t0 = 0, time.perf_counter()
        for _ in range(n_updates):
            steps += int(up.update()["env_steps"])
        return time.perf_counter() - t0, steps

    return run, up, task


def _pre_drawn(up: SupervisedUpdater, task: CtxDM, batch: int, n_updates: int):
    """cogdyn's own update on batches drawn beforehand: everything but trial generation."""
    gen = torch.Generator().manual_seed(2)
    batches = [task.sample(batch, gen) for _ in range(n_updates)]

    def run() -> tuple[float, int]:
        steps, t0 = 0, time.perf_counter()
        for b in batches:
            steps += int(up.step(b)["env_steps"])
        return time.perf_counter() - t0, steps

    return run, batches


def _bare(up: SupervisedUpdater, batches: list):
    """The plain padded RNN (torch's fused kernel) + the same loss and Adam step."""
    model, opt, weights = up.model, up.optimizer, up.class_weights

    def run() -> tuple[float, int]:
        steps, t0 = 0, time.perf_counter()
        for b in batches:
            _, logits = model(b.inputs)
            loss = F.cross_entropy(logits[b.mask], b.targets[b.mask], weight=weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), up.grad_clip)
            opt.step()
            steps += int(b.lengths.sum())
        return time.perf_counter() - t0, steps

    return run


def _neurogym(batch: int, n_updates: int, seq_len: int, hidden: int):
    import neurogym as ngym

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = ngym.make("ContextDecisionMaking-v0", use_expl_context=True, sigma=0.45)
        env.unwrapped.seed(0)
        dataset = ngym.Dataset(env, batch_size=batch, seq_len=seq_len)
    n_in, n_out = env.observation_space.shape[0], env.action_space.n
    torch.manual_seed(0)  # the neurogym route as people write it: global seeding
    rnn = torch.nn.RNN(n_in, hidden, nonlinearity="relu")
    readout = torch.nn.Linear(hidden, n_out)
    params = list(rnn.parameters()) + list(readout.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    weights = torch.tensor([1.0] + [20.0] * (n_out - 1))

    def run() -> tuple[float, int]:
        steps, t0 = 0, time.perf_counter()
        for _ in range(n_updates):
            inputs, labels = dataset()
            x = torch.from_numpy(inputs).float()
            y = torch.from_numpy(labels).long()
            out, _ = rnn(x)
            loss = F.cross_entropy(readout(out).reshape(-1, n_out), y.reshape(-1), weight=weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            steps += x.shape[0] * x.shape[1]
        return time.perf_counter() - t0, steps

    return run


def main() -> None:
    warnings.filterwarnings("ignore")  # neurogym's Dataset warns on every call under gymnasium
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--updates", type=int, default=100, help="updates per round and contender")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median reported)")
    p.add_argument("--batch", type=int, default=64, help="trials (or windows) per update")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    cog, up, task = _cogdyn(args.batch, args.updates)
    pre, batches = _pre_drawn(up, task, args.batch, args.updates)
    bare = _bare(up, batches)
    # neurogym windows as long as a padded cogdyn batch, so the matmuls match in size
    seq_len = int(batches[0].n_steps)
    ngr = _neurogym(args.batch, args.updates, seq_len, up.model.hidden)

    contenders = {"cogdyn": cog, "cogdyn pre-drawn": pre, "bare padded RNN": bare, "neurogym": ngr}
    rates: dict[str, list[float]] = {k: [] for k in contenders}
    per_update: dict[str, list[float]] = {k: [] for k in contenders}
    for fn in contenders.values():
        fn()  # warm-up
    for _ in range(args.rounds):
        for name, fn in contenders.items():
            wall, steps = fn()
            rates[name].append(steps / wall)
            per_update[name].append(wall / args.updates)

    med = {k: statistics.median(v) for k, v in rates.items()}
    t = {k: statistics.median(v) for k, v in per_update.items()}
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}, "
        f"N {up.model.hidden}, {args.updates} updates x {args.rounds} rounds (median)"
    )
    print(f"{'route':<18} {'time-steps/s':>14} {'ms/update':>10}")
    for name in contenders:
        print(f"{name:<18} {med[name]:>14,.0f} {1e3 * t[name]:>10.2f}")
    overhead = 100 * (t["cogdyn"] / t["cogdyn pre-drawn"] - 1)
    print(f"task generation + bookkeeping on top of cogdyn's RNN step: {overhead:+.1f} %  (< 20 %)")
    print(f"cogdyn / bare padded RNN, time-steps/s: {med['cogdyn'] / med['bare padded RNN']:.2f}x")
    print(f"cogdyn / neurogym route, time-steps/s: {med['cogdyn'] / med['neurogym']:.2f}x  (> 1)")


if __name__ == "__main__":
    main()
