"""Exact ReLU fixed points: the active-block solve against the full N × N system, side by side.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_fixed_points.py [--sweep runs/quick]
[--cells ppo-d0.1-s0-r2-c5_15_50 ...] [--threads 1]``

For the saved model of each network, in one process, on the stimulus-off maps of
:func:`~cogdyn.analysis.phase_points.phase_fixed_points` (delay and decision input of both
contexts) and on the activation patterns its orbits visit (500 real trials' end-of-stimulus
states and the onset states, 200 steps, at most 500 patterns per map: the analysis's defaults):

* **patterns** — the visited (condition, pattern) rows made unique as the bool rows themselves
  (N + 1 int32 columns, the path before packing) and as packed words
  (:func:`~cogdyn.dynamics.relu_solver.pack_patterns`: ⌈N / 63⌉ + 1 int64 columns); the same
  unique rows in the same order is checked;
* **solve** — :func:`~cogdyn.dynamics.relu_solver.relu_fixed_points` with ``reduced=False``
  (every pattern's N × N system (I − D_s W) h = D_s u) and ``reduced=True`` (the default: the
  k × k block of its k active units); the same points (patterns, stability) and states within
  1e-9 are checked.

Printed per network: the patterns solved, the mean active-set size, the time of each path
(wall-clock and CPU: on a shared machine the process's CPU time is the steadier measure) and
their ratio. The full path runs first on each network.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from cogdyn.analysis.conditions import end_of_stimulus_states, stimulus_onset_states, zero_coherence
from cogdyn.dynamics.relu_solver import (
    pack_patterns,
    patterns_from_states,
    relu_fixed_points,
    unpack_patterns,
)
from cogdyn.dynamics.step_map import frozen_input_map
from cogdyn.io import load_run
from cogdyn.tasks import CtxDM
from cogdyn.tasks.base import DECISION, DELAY

DEFAULT_CELLS = (
    "sl-d0.1-s0-r2-c5_15_50",
    "sl-d0.2-s0-r2-c5_15_50",
    "ppo-d0.1-s0-r2-c5_15_50",
    "ppo-d0.2-s0-r2-c5_15_50",
)


def _timed(fn, *args, **kwargs):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def _problem(run: Path):
    """The stimulus-off maps of both contexts and the states their patterns are read from."""
    config, model = load_run(run)
    task = CtxDM(config.task)
    batch = task.sample(500, torch.Generator().manual_seed(0))
    zero = zero_coherence(task, 2)
    ctx = torch.tensor([0, 1])
    inputs = torch.cat([task.frozen_input(ctx, zero, zero, p) for p in (DELAY, DECISION)])
    fmap = frozen_input_map(model, inputs)
    ends = end_of_stimulus_states(model, task, batch)
    onset = stimulus_onset_states(model, task, [0, 1])
    trial_ctx = batch.info["context"].long()
    states, conds = [], []
    for phase in range(2):
        states += [ends, onset]
        conds += [phase * 2 + trial_ctx, phase * 2 + ctx]
    return fmap, torch.cat(states), torch.cat(conds)


def _visited_rows(fmap, states, conds, n_steps: int = 200) -> torch.Tensor:
    """Every (condition, pattern) row the orbits visit, as bools (int32)."""
    sel = fmap.select(conds)
    h, rows = states.to(fmap.dtype), []
    for _ in range(n_steps + 1):
        rows.append(torch.cat([conds.unsqueeze(1).int(), sel.active(h).int()], dim=1))
        h = sel.step(h)
    return torch.cat(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sweep", default="runs/quick", help="a sweep directory (runs/NAME)")
    parser.add_argument("--cells", nargs="+", default=list(DEFAULT_CELLS))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    totals = [0.0, 0.0, 0.0, 0.0]
    print(f"{'network':28s} {'patterns':>8s} {'k̄':>6s}  unique: rows → words   solve: full → block")
    for cell in args.cells:
        run = Path(args.sweep) / "runs" / cell
        if not (run / "model.safetensors").is_file():
            raise SystemExit(f"{run}: no trained network (run `make run` first, or give --sweep)")
        fmap, states, conds = _problem(run)

        rows = _visited_rows(fmap, states, conds)
        n = fmap.n_units
        plain, t_plain, _ = _timed(torch.unique, rows, dim=0)
        words = torch.cat([rows[:, :1].long(), pack_patterns(rows[:, 1:].bool())], dim=1)
        packed, t_packed, _ = _timed(torch.unique, words, dim=0)
        same_rows = torch.equal(
            plain[:, 1:].bool(), unpack_patterns(packed[:, 1:], n)
        ) and torch.equal(plain[:, 0].long(), packed[:, 0])

        pats, pcond = patterns_from_states(fmap, states, conds)
        args_fp = (relu_fixed_points, fmap.weight, fmap.drive, pats, fmap.alpha)
        full, t_full, c_full = _timed(*args_fp, conditions=pcond, reduced=False)
        block, t_block, c_block = _timed(*args_fp, conditions=pcond, reduced=True)
        same = (
            torch.equal(full.active, block.active)
            and full.kind == block.kind
            and (len(full) == 0 or float((full.states - block.states).abs().max()) < 1e-9)
        )
        for i, t in enumerate((t_plain, t_packed, c_full, c_block)):
            totals[i] += t
        print(
            f"{cell:28s} {len(pats):8d} {float(pats.sum(1).float().mean()):6.1f}  "
            f"{t_plain:6.2f} → {t_packed:5.2f} s ({t_plain / t_packed:4.1f}×, same: {same_rows})  "
            f"{t_full:6.2f} → {t_block:5.2f} s wall, CPU {c_full:6.2f} → {c_block:5.2f} s "
            f"({c_full / c_block:4.1f}×, {len(block)} points, same: {same})"
        )
    print(
        f"total: unique {totals[0]:.2f} → {totals[1]:.2f} s ({totals[0] / totals[1]:.1f}×); "
        f"solve CPU {totals[2]:.2f} → {totals[3]:.2f} s ({totals[2] / totals[3]:.1f}×)"
    )


if __name__ == "__main__":
    main()
