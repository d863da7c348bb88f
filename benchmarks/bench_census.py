"""Attractor census speed, and batched Lyapunov exponents against a naive per-point loop.

Run: ``.venv/bin/python benchmarks/bench_census.py [--run RUN_DIR] [--grid 21] [--starts 2]
[--threads 2] [--naive-points 10] [--naive-steps 50]``

1. **Census**: the default census (contexts × grid × grid × (1 + starts) orbits, 2000 transient
   + 2000 measured steps, float64) of an N = 250 network: the final model of ``--run``, or
   else a random one with δ = 0.1 (untrained, so every orbit is bounded and none stops early).
2. **Lyapunov, batched vs naive**, on the same starting points in the same process:

   * batched — :func:`cogdyn.dynamics.lyapunov_spectrum` on every orbit of the census at
     once with the analytic tangent (``FrozenInputMap.tangent_from_next``: one GEMM per step,
     no Jacobian formed), 2 exponents, ``--lyap-steps`` steps;
   * naive — what one writes without cogdyn: per point and per step,
     ``torch.autograd.functional.jacobian`` of the one-point map (N backward passes), J·Q and
     ``torch.linalg.qr``. Timed on ``--naive-points`` points × ``--naive-steps`` steps and
     extrapolated per point-step (its cost per step does not depend on the step count).

   The ratio compares time per point-step.
"""

from __future__ import annotations

import argparse
import time

import torch

from cogdyn.analysis.census import CensusOptions, attractor_census, census_map, census_summary
from cogdyn.config import ModelConfig
from cogdyn.dynamics import lyapunov_spectrum
from cogdyn.io import load_run
from cogdyn.models import VanillaRNN
from cogdyn.tasks import CtxDM


def _model(run: str | None) -> tuple[torch.nn.Module, CtxDM, str]:
    if run:
        config, model = load_run(run)
        return model, CtxDM(config.task), f"final model of {run}"
    task = CtxDM()
    model = VanillaRNN(
        task.n_inputs,
        task.n_actions,
        ModelConfig(hidden=250, delta=0.1),
        torch.Generator().manual_seed(0),
    )
    return model, task, "random N = 250, δ = 0.1 (seed 0)"


def _naive(fmap, x0: torch.Tensor, n_points: int, n_steps: int) -> float:
    """Seconds per point-step of the per-point autograd Jacobian + QR loop."""
    w = fmap.weight
    start = time.perf_counter()
    for b in range(n_points):
        u = fmap.drive[b]

        def f(h: torch.Tensor, u: torch.Tensor = u) -> torch.Tensor:
            return torch.relu(w @ h + u)

        h = x0[b].clone()
        q = torch.linalg.qr(torch.randn(len(h), 2, dtype=h.dtype))[0]
        log_sum = torch.zeros(2, dtype=h.dtype)
        for _ in range(n_steps):
            jac = torch.autograd.functional.jacobian(f, h)
            q, r = torch.linalg.qr(jac @ q)
            log_sum += torch.log(torch.diagonal(r).abs())
            h = f(h).detach()
    return (time.perf_counter() - start) / (n_points * n_steps)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", help="a run directory (default: a random network)")
    p.add_argument("--grid", type=int, default=21)
    p.add_argument("--starts", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lyap-steps", type=int, default=500)
    p.add_argument("--naive-points", type=int, default=10)
    p.add_argument("--naive-steps", type=int, default=50)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model, task, what = _model(args.run)
    opts = CensusOptions(grid=args.grid, extra_starts=args.starts)
    steps = opts.classify.transient + opts.classify.measure
    print(f"network: {what}; torch {torch.__version__}, {args.threads} thread(s)")

    t0 = time.perf_counter()
    table = attractor_census(model, task, opts)
    census_s = time.perf_counter() - t0
    n = len(table)
    s = census_summary(table)
    print(
        f"census: {n} orbits ({len(opts.contexts)} contexts × {opts.grid}² × {opts.n_starts} "
        f"starts), {steps} steps each: {census_s:.1f} s ({1e3 * census_s / n:.1f} ms per orbit)"
    )
    print(f"  F_QP {s['frac_qp']:.3f}; labels {s['label_counts_all_starts']}")

    fmap, x0, _ = census_map(model, task, opts)
    t0 = time.perf_counter()
    lyapunov_spectrum(fmap.step, x0, tangent=fmap.tangent_from_next, steps=args.lyap_steps)
    fast = (time.perf_counter() - t0) / (n * args.lyap_steps)
    naive = _naive(fmap, x0, args.naive_points, args.naive_steps)
    print(
        f"lyapunov, batched tangent: {1e6 * fast:.1f} µs per point-step "
        f"({n} points × {args.lyap_steps} steps)"
    )
    print(
        f"lyapunov, naive autograd.functional.jacobian loop: {1e6 * naive:.0f} µs per "
        f"point-step ({args.naive_points} points × {args.naive_steps} steps)"
    )
    print(
        f"  → naive / batched = {naive / fast:.0f}×; the naive loop would take "
        f"{naive * n * 2200 / 3600:.1f} h for the census's {n} points × 2200 tangent steps"
    )


if __name__ == "__main__":
    main()
