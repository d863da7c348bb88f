"""Classifier labels against a 4× longer window with periods up to 1000, on trained networks.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/classifier_window.py --sweep runs/quick
[--seeds 0 1] [--grid 11] [--out docs/data/classifier-window]``

For the saved model (the last checkpoint at criterion) of each done network of the sweep with
one of ``--seeds``, the census of the study (2 contexts × grid² frozen stimulus inputs, onset
starts, float64) is classified twice on the same starts:

* **default** — :class:`~cogdyn.dynamics.classify.ClassifyOptions` as ``cogdyn analyze`` uses
  them: 2000 transient + 2000 measured steps, cycles detected up to 128 steps in the window and
  up to 1000 by the long-cycle search;
* **long** — 8000 + 8000 steps (4×), ``max_period`` 1000 in the window and the long-cycle
  search up to 4000.

Printed and written (``OUT.json`` with the numbers, ``OUT.md`` with the table that
docs/concepts/dynamics.md includes), each stamped with date, commit, machine and command: per
network and over all, the fraction of orbits with the same label, the label-transition counts
(default → long) and F_QP under each. The long window is the reference: a label that changes
with it was decided on too little evidence.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import torch

from cogdyn.analysis.census import CensusOptions, attractor_census, census_summary
from cogdyn.dynamics.classify import LABELS, ClassifyOptions
from cogdyn.experiments.results import read_results
from cogdyn.io import environment_info, load_run, write_json
from cogdyn.tasks import CtxDM

LONG = {"transient": 8000, "measure": 8000, "max_period": 1000}
SHORT = {"fixed_point": "FP", "periodic": "P", "quasi_periodic": "QP", "chaotic": "C",
         "divergent": "D", "unresolved": "U"}  # fmt: skip


def _networks(sweep: Path, seeds: set[int]) -> list[tuple[dict, Path]]:
    results = read_results(sweep)
    done = results[(results["status"] == "done") & results["seed"].isin(seeds)]
    out = []
    for _, row in done.sort_values(["algo", "delta", "seed"]).iterrows():
        out.append(({"algo": row["algo"], "delta": float(row["delta"]), "seed": int(row["seed"])},
                    sweep / "runs" / row["cell"]))  # fmt: skip
    return out


def _classify(model, task: CtxDM, opts: CensusOptions) -> tuple[pd.DataFrame, float]:
    start = time.perf_counter()
    table = attractor_census(model, task, opts)
    return table, time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sweep", required=True, type=Path, help="a finished sweep directory")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    p.add_argument("--grid", type=int, default=11, help="census grid (the quick study's: 11)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=Path("docs/data/classifier-window"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    base = CensusOptions(grid=args.grid, extra_starts=0)
    long = dataclasses.replace(base, classify=dataclasses.replace(base.classify, **LONG))
    rows, total = [], Counter()
    for params, run in _networks(args.sweep, set(args.seeds)):
        config, model = load_run(run)
        task = CtxDM(config.task)
        short_t, t_short = _classify(model, task, base)
        long_t, t_long = _classify(model, task, long)
        pairs = Counter(zip(short_t["label"].astype(str), long_t["label"].astype(str), strict=True))
        total.update(pairs)
        same = sum(n for (a, b), n in pairs.items() if a == b)
        row = {
            **params,
            "orbits": len(short_t),
            "agreement": same / len(short_t),
            "frac_qp_default": census_summary(short_t)["frac_qp"],
            "frac_qp_long": census_summary(long_t)["frac_qp"],
            "changes": {f"{a} → {b}": n for (a, b), n in sorted(pairs.items()) if a != b},
            "seconds_default": round(t_short, 1),
            "seconds_long": round(t_long, 1),
        }
        row["hidden"] = int(getattr(model, "hidden", 0)) or None
        rows.append(row)
        print(
            f"{params['algo']:>3} δ={params['delta']:<5} seed {params['seed']}: agreement "
            f"{row['agreement']:.1%} of {row['orbits']}, F_QP {row['frac_qp_default']:.3f} → "
            f"{row['frac_qp_long']:.3f}, changes {row['changes'] or 'none'} "
            f"({t_short:.0f} s + {t_long:.0f} s)",
            flush=True,
        )
    if not rows:
        raise SystemExit(f"no done network with seeds {args.seeds} in {args.sweep}")
    n = sum(total.values())
    same = sum(v for (a, b), v in total.items() if a == b)
    env = environment_info()
    record = {
        "what": "census labels, default window against 4× longer with max_period 1000",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "commit": env.get("git_commit"),
        "machine": f"{env['cpu_count']} cores, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}",
        "command": "python benchmarks/classifier_window.py " + " ".join(sys.argv[1:]),
        "default": dataclasses.asdict(ClassifyOptions()),
        "long": LONG,
        "grid": args.grid,
        "networks": rows,
        "orbits": n,
        "agreement": same / n,
        "transitions": {f"{a} → {b}": v for (a, b), v in sorted(total.items())},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out.with_suffix(".json"), record)
    args.out.with_suffix(".md").write_text(_markdown(record), encoding="utf-8")
    print(f"\nagreement {same / n:.2%} of {n} orbits; wrote {args.out}.json and .md")


def _markdown(r: dict) -> str:
    sizes = ", ".join(str(h) for h in sorted({n["hidden"] for n in r["networks"]}, key=str))
    lines = [
        f"Measured {r['date']} (commit {str(r['commit'])[:7]}, {r['machine']}) with "
        f"`{r['command']}`: {len(r['networks'])} trained networks (N = {sizes}), the census of the "
        f"study ({r['grid']}² grid × 2 contexts, onset starts), {r['orbits']} orbits; "
        f"**{r['agreement']:.1%}** keep their label with the 4× window.",
        "",
        "| network | orbits | same label | F_QP default | F_QP 4× | changed (default → 4×) |",
        "|---|---|---|---|---|---|",
    ]
    for n in r["networks"]:
        changes = ", ".join(
            f"{SHORT[a]}→{SHORT[b]} {k}"
            for a, b, k in ((*key.split(" → "), v) for key, v in n["changes"].items())
        )
        lines.append(
            f"| {n['algo'].upper()} δ = {n['delta']:g}, seed {n['seed']} | {n['orbits']} | "
            f"{n['agreement']:.1%} | {n['frac_qp_default']:.3f} | {n['frac_qp_long']:.3f} | "
            f"{changes or '—'} |"
        )
    heads = [SHORT[x] for x in LABELS]
    lines += ["", "Label transitions over all orbits (rows: default window, columns: 4×):", ""]
    lines += ["| default \\ 4× | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|"]
    for a in LABELS:
        cells = [str(r["transitions"].get(f"{a} → {b}", 0)) for b in LABELS]
        lines.append(f"| {SHORT[a]} | " + " | ".join(cells) + " |")
    lines += ["", "FP fixed point, P periodic, QP quasi-periodic, C chaotic, D divergent, "
              "U unresolved."]  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
