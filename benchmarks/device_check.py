"""The same code on CPU and CUDA: training, the attractor census and a 4-cell sweep, timed.

Run on a machine with a GPU: ``benchmarks/device_check.sh`` (which calls this with the
checkout's ``src`` on the path). ``--device cpu --small`` runs the same steps on the CPU alone,
with small budgets, to check the script itself where there is no GPU.

1. **Training**: one SL and one PPO network (N = 250, δ = 0.1, seed 0) trained for the same
   fixed budget of updates on the CPU (all cores) and on ``--device``; updates per second of each
   and their ratio. The device's SL network trains on to the criterion: it is the network of
   step 2.
2. **Census**: that network's census (``cogdyn analyze``'s default grid, 21² × 2 contexts ×
   3 starts, and the quick study's 11² × 2 onset starts) on the CPU and on ``--device``: time of
   each, their ratio, the fraction of orbits with the same label, ΔF_QP and the largest |Δλ₁|
   of orbits labelled alike (float64 on both; the orbits are the same, the round-off is not);
   then the same census with float32 screening on ``--device`` (``classify.screen``): its time
   against the device's float64 and its labels against the CPU's.
3. **Sweep**: a 4-cell sweep (SL and PPO × δ ∈ {0.1, 0.2}, short budgets, the quick study's
   census) with ``train.device`` = ``--device`` and 4 local workers, each given its own GPU
   where there are several: wall time, each cell's training and analysis time, and which GPU
   each worker saw (its log's first line).

Everything prints as it goes; nothing is asserted, so one run gives every number.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from cogdyn.analysis.census import CensusOptions, attractor_census, census_summary
from cogdyn.cli import main as cogdyn_main
from cogdyn.devices import resolve_device, synchronize
from cogdyn.experiments.cell import read_record
from cogdyn.io import load_run, read_summary
from cogdyn.tasks import CtxDM

SWEEP = """
name = "device-check"
[grid]
algo = ["sl", "ppo"]
delta = [0.1, 0.2]
seed = [0]
[train]
device = "DEVICE"
max_updates = UPDATES
[analysis]
checkpoints = "final"
[analysis.census]
grid = 11
extra_starts = 0
[execution]
threads = 1
"""


def _train(out: Path, algo: str, device: str, updates: int | None, threads: int) -> float:
    """Train into ``out``; seconds per update."""
    argv = ["train", "--algo", algo, "--delta", "0.1", "--seed", "0", "--out", str(out)]
    argv += ["--device", device, "--threads", str(threads), "--no-progress", "--overwrite"]
    if updates is not None:
        argv += ["--max-updates", str(updates)]
    if cogdyn_main(argv) != 0:
        raise SystemExit(f"training {algo} on {device} failed")
    summary = read_summary(out)  # the training loop's own clock, without start-up
    return float(summary["wall_s"]) / max(1, int(summary["updates"]))


def _census(run: Path, opts: CensusOptions, device: str):
    config, model = load_run(run)
    task = CtxDM(config.task)
    where = torch.device(device)
    start = time.perf_counter()
    table = attractor_census(model, task, opts, device=where)
    synchronize(where)
    return table, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument(
        "--small", action="store_true", help="small budgets (a check of this script)"
    )
    parser.add_argument("--out", help="keep the runs here (default: a temporary directory)")
    args = parser.parse_args()
    device = str(resolve_device(args.device, "--device"))
    cores = os.cpu_count() or 1
    print(f"torch {torch.__version__}, {cores} CPU cores", flush=True)
    if device.startswith("cuda"):
        print(f"device: {torch.cuda.get_device_name(0)}", flush=True)
    root = Path(args.out or tempfile.mkdtemp(prefix="device-check-"))
    root.mkdir(parents=True, exist_ok=True)
    budget = {"sl": 20, "ppo": 3} if args.small else {"sl": 300, "ppo": 20}

    print("\n1. training: seconds per update, CPU vs device (same budget)", flush=True)
    for algo in ("sl", "ppo"):
        cpu = _train(root / f"{algo}-on-cpu", algo, "cpu", budget[algo], cores)
        dev = _train(root / f"{algo}-on-device", algo, device, budget[algo], cores)
        print(
            f"   {algo}: CPU {1000 * cpu:.1f} ms, {device} {1000 * dev:.1f} ms per update "
            f"({cpu / dev:.2f}× the CPU's speed)",
            flush=True,
        )
    net = root / "sl-criterion"
    _train(net, "sl", device, 60 if args.small else None, cores)
    summary = read_summary(net)
    print(
        f"   SL to the criterion on {device}: {summary.get('updates')} updates, "
        f"{summary.get('wall_s')} s, accuracy {summary.get('accuracy')}",
        flush=True,
    )

    print("\n2. census: CPU vs device on the same network", flush=True)
    grids = [("quick (11², onset)", CensusOptions(grid=11, extra_starts=0))]
    if not args.small:
        grids.insert(0, ("analyze default (21² × 3 starts)", CensusOptions()))
    else:
        small = dataclasses.replace(
            CensusOptions().classify, transient=200, measure=200, max_period=64
        )
        grids = [
            (
                "small (5², onset, 200 + 200 steps)",
                CensusOptions(grid=5, extra_starts=0, classify=small),
            )
        ]
    torch.set_num_threads(cores)
    for name, opts in grids:
        cpu_t, cpu_s = _census(net, opts, "cpu")
        dev_t, dev_s = _census(net, opts, device)
        same = cpu_t["label"].to_numpy() == dev_t["label"].to_numpy()
        both = (
            same & np.isfinite(cpu_t["lyap1"].to_numpy()) & np.isfinite(dev_t["lyap1"].to_numpy())
        )
        gap = np.abs(cpu_t["lyap1"].to_numpy() - dev_t["lyap1"].to_numpy())[both]
        fq = census_summary(cpu_t)["frac_qp"], census_summary(dev_t)["frac_qp"]
        print(
            f"   {name}: {len(cpu_t)} orbits; CPU {cpu_s:.1f} s, {device} {dev_s:.1f} s "
            f"({cpu_s / dev_s:.2f}×); same label {100 * same.mean():.2f} %; F_QP "
            f"{fq[0]:.4f} vs {fq[1]:.4f}; max |Δλ₁| (same label) "
            f"{gap.max() if len(gap) else 0.0:.1e}",
            flush=True,
        )
        screened = dataclasses.replace(
            opts, classify=dataclasses.replace(opts.classify, screen=True)
        )
        scr_t, scr_s = _census(net, screened, device)
        same = cpu_t["label"].to_numpy() == scr_t["label"].to_numpy()
        print(
            f"   {name}, float32 screening on {device}: {scr_s:.1f} s ({dev_s / scr_s:.2f}× its "
            f"float64); same label as the CPU's float64 {100 * same.mean():.2f} %; F_QP "
            f"{census_summary(scr_t)['frac_qp']:.4f}",
            flush=True,
        )

    print(f"\n3. a 4-cell sweep on {device}, 4 workers", flush=True)
    sweep_file = root / "device-check.toml"
    updates = 8 if args.small else 300
    sweep_file.write_text(SWEEP.replace("DEVICE", args.device).replace("UPDATES", str(updates)))
    out = root / "sweep"
    start = time.perf_counter()
    rc = cogdyn_main(
        ["sweep", str(sweep_file), "--out", str(out), "--workers", "4", "--no-progress"]
    )
    print(f"   exit {rc}, {time.perf_counter() - start:.1f} s wall", flush=True)
    for path in sorted((out / "cells").glob("*.json")):
        cell = path.stem
        record = read_record(out, cell) or {}
        log_file = out / "logs" / f"{cell}.log"
        log = log_file.read_text() if log_file.is_file() else ""
        gpu = re.search(r"CUDA_VISIBLE_DEVICES=(\S*)", log)
        print(
            f"   {cell}: {record.get('status')}, train {record.get('train_s')} s, analysis "
            f"{record.get('analysis_s')} s, GPU {gpu.group(1) if gpu else '-'}",
            flush=True,
        )
    print(f"\nruns in {root}", flush=True)


if __name__ == "__main__":
    main()
