"""Attractor census: early retirement against the brute-force batched path, side by side.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_census.py [--runs DIR ...] [--grid 21]
[--threads 1]``

For the final model of each run directory, in one process and on the same starts, the census
of :func:`attractor_census` with its defaults (``cogdyn analyze``'s: 2 contexts × grid² × 3
starts, 2000 transient + 2000 measured steps, float64, analytic tangent) is run twice:

* **brute force** — ``ClassifyOptions(retire=False, tangent_precision="states")``: every
  orbit iterated for the whole window, its Lyapunov frame in float64 (the path before early
  retirement and float32 frames);
* **retire** — the defaults: orbits that settled on a fixed point or a short cycle leave the
  batch with exact exponents at the attractor, and the frame of the others is float32 (the
  states stay float64; ``ClassifyOptions.tangent_precision``);
* **screen** (with ``--screen``) — ``ClassifyOptions(screen=True)``: retire, iterated in
  float32 first, with only the orbits whose float32 evidence does not settle the label
  confirmed in float64 (``cogdyn.dynamics.classify``, "Screening"). Printed: its time against
  retire, the fraction of orbits whose float32 result stood, and its labels against brute
  force.

Printed per network and in total: the time of each, wall-clock and CPU (on a shared machine
the process's CPU time is the steadier measure; with one thread it is its compute), their
ratio (target ≥ 5×), the fraction of
orbits with identical labels (target ≥ 99 %), F_QP of each (quasi-periodic fraction of the
onset starts, target equal ± 0.01), the label counts and, for the retired orbits of both
paths' fixed points and cycles, how far the exact exponents lie from the brute-force window
estimates. The brute force runs first on each network; their order does not favour either
(both start from the same starts, computed before timing).

Without ``--runs`` the benchmark first trains four N = 250 networks itself with ``cogdyn
train`` (SL and PPO at δ = 0.1 and 0.2, seed 0; the quick study's cells of these took 20–180 s
each on 2 cores) into a temporary directory
and removes them afterwards; ``--keep DIR`` trains into DIR and keeps them. ``--grid 11``
(a quarter of the orbits) gives a quick check.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from cogdyn.analysis.census import CensusOptions, attractor_census, census_map, census_summary
from cogdyn.cli import main as cogdyn_main
from cogdyn.dynamics.classify import classify_map
from cogdyn.io import load_run
from cogdyn.tasks import CtxDM

DEFAULT_RUNS = (("sl", 0.1), ("sl", 0.2), ("ppo", 0.1), ("ppo", 0.2))


def _train(root: Path, threads: int) -> list[Path]:
    runs = []
    for algo, delta in DEFAULT_RUNS:
        out = root / f"{algo}-d{delta}"
        if not (out / "model.safetensors").exists():
            print(f"training {algo} δ = {delta} into {out} …", flush=True)
            argv = ["train", "--algo", algo, "--delta", str(delta), "--seed", "0"]
            argv += ["--threads", str(threads), "--out", str(out), "--no-progress", "--overwrite"]
            if cogdyn_main(argv) != 0:
                raise SystemExit(f"training {algo} δ = {delta} failed")
        runs.append(out)
    return runs


def _census(model, task, opts: CensusOptions, retire: bool, screen: bool = False):
    precision = opts.classify.tangent_precision if retire else "states"
    classify = dataclasses.replace(
        opts.classify, retire=retire, screen=screen, tangent_precision=precision
    )
    opts = dataclasses.replace(opts, classify=classify)
    wall, cpu = time.perf_counter(), time.process_time()
    table = attractor_census(model, task, opts)
    return table, time.perf_counter() - wall, time.process_time() - cpu


def _exponent_gap(brute, fast, label: str) -> str:
    both = (brute["label"].to_numpy() == label) & (fast["label"].to_numpy() == label)
    if not both.any():
        return f"{label}: none"
    gap = np.abs(brute.loc[both, "lyap1"].to_numpy() - fast.loc[both, "lyap1"].to_numpy())
    return f"{label}: median |Δλ₁| {np.median(gap):.1e}, max {gap.max():.1e}"


def _screen_line(model, task, opts: CensusOptions, brute, retire_cpu: float, total) -> None:
    """Time the screened census and compare its labels and F_QP with the brute force's."""
    classify = dataclasses.replace(opts.classify, screen=True)
    fmap, x0, _ = census_map(model, task, opts)
    cpu = time.process_time()
    result = classify_map(fmap.step, x0, tangent=fmap.tangent_from_next, options=classify)
    cpu = time.process_time() - cpu
    labels = np.asarray(result.labels)
    same = labels == brute["label"].to_numpy()
    onset = labels.reshape(-1, opts.n_starts)[:, 0]
    qp = float((onset == "quasi_periodic").mean())
    qp_b = census_summary(brute)["frac_qp"]
    kept = result.screened.numpy()
    total["screen_cpu"] += cpu
    total["kept"] += int(kept.sum())
    total["screen_same"] += int(same.sum())
    print(
        f"  screen: cpu {cpu:6.1f} s ({retire_cpu / cpu:4.2f}× retire); float32 kept for "
        f"{kept.mean():.1%}; labels as brute force {same.mean():.2%}; F_QP {qp:.3f} "
        f"(Δ {qp - qp_b:+.3f})"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", nargs="+", help="run directories (default: train four)")
    p.add_argument("--keep", help="train the default networks into this directory and keep them")
    p.add_argument("--grid", type=int, default=CensusOptions().grid)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--screen", action="store_true", help="also time float32 screening")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    tmp = None
    if args.runs:
        runs = [Path(r) for r in args.runs]
    else:
        root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-census-"))
        tmp = None if args.keep else root
        runs = _train(root, args.threads)
    opts = CensusOptions(grid=args.grid)
    n_orbits = len(opts.contexts) * opts.grid**2 * opts.n_starts
    c = opts.classify
    print(
        f"census: {len(opts.contexts)} contexts × {opts.grid}² grid × {opts.n_starts} starts = "
        f"{n_orbits} orbits per network, {c.transient} + {c.measure} steps, float64; "
        f"torch {torch.__version__}, {args.threads} thread(s)"
        + ("" if opts.grid == CensusOptions().grid else f" (grid {opts.grid}, not the default)")
    )
    total = {"brute": 0.0, "retire": 0.0, "brute_cpu": 0.0, "retire_cpu": 0.0, "same": 0, "n": 0}
    total.update(screen_cpu=0.0, kept=0, screen_same=0)
    try:
        for run in runs:
            config, model = load_run(str(run))
            task = CtxDM(config.task)
            brute, t_brute, c_brute = _census(model, task, opts, retire=False)
            fast, t_fast, c_fast = _census(model, task, opts, retire=True)
            same = brute["label"].to_numpy() == fast["label"].to_numpy()
            qp_b = census_summary(brute)["frac_qp"]
            qp_f = census_summary(fast)["frac_qp"]
            total["brute"] += t_brute
            total["retire"] += t_fast
            total["brute_cpu"] += c_brute
            total["retire_cpu"] += c_fast
            total["same"] += int(same.sum())
            total["n"] += len(same)
            counts = census_summary(fast)["label_counts_all_starts"]
            settled = sum(counts[k] for k in ("fixed_point", "periodic", "divergent")) / len(same)
            print(f"\n{run.name}: labels (retire) {counts}")
            print(
                f"  wall: brute force {t_brute:6.1f} s, retire {t_fast:6.1f} s, ratio "
                f"{t_brute / t_fast:4.1f}×   cpu: {c_brute:6.1f} s, {c_fast:6.1f} s, ratio "
                f"{c_brute / c_fast:4.1f}×"
            )
            print(
                f"  identical labels {same.mean():.2%} ({int((~same).sum())} differ)   "
                f"F_QP brute {qp_b:.3f} retire {qp_f:.3f} (Δ {qp_f - qp_b:+.3f})   "
                f"settled (fixed point, periodic, divergent) {settled:.0%} of orbits"
            )
            if not same.all():
                pairs = zip(brute["label"][~same], fast["label"][~same], strict=True)
                moved: dict[tuple[str, str], int] = {}
                for pair in pairs:
                    moved[pair] = moved.get(pair, 0) + 1
                print("  changed (brute → retire):", moved)
            gaps = [_exponent_gap(brute, fast, lab) for lab in ("fixed_point", "periodic")]
            print("  exact vs window exponents:", "; ".join(gaps))
            if args.screen:
                _screen_line(model, task, opts, brute, c_fast, total)
        print(
            f"\ntotal over {len(runs)} networks: wall {total['brute']:.1f} s against "
            f"{total['retire']:.1f} s ({total['brute'] / total['retire']:.1f}×), cpu "
            f"{total['brute_cpu']:.1f} s against {total['retire_cpu']:.1f} s "
            f"({total['brute_cpu'] / total['retire_cpu']:.1f}×); identical labels "
            f"{total['same'] / total['n']:.2%} of {total['n']} orbits"
        )
        if args.screen:
            print(
                f"screen: cpu {total['screen_cpu']:.1f} s against retire "
                f"{total['retire_cpu']:.1f} s ({total['retire_cpu'] / total['screen_cpu']:.2f}×), "
                f"brute force {total['brute_cpu'] / total['screen_cpu']:.2f}×; float32 kept for "
                f"{total['kept'] / total['n']:.1%} of orbits; labels as brute force "
                f"{total['screen_same'] / total['n']:.2%}"
            )
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
