"""Copy a finished study into the docs: ``python docs/examples/ship.py runs/quick OUT``.

A sensitivity study directory (with ``sensitivity.json``, after ``cogdyn sensitivity``) ships
as its report, its readout as CSV (``sensitivity.csv``, one row per variant × claim), the
resolved study (``sensitivity.json``) and the file it was written as (``sensitivity.toml``:
``--study``, or the preset for the study named ``sensitivity``), the base's claims
and statistics, and a ``run.json`` per entry: cells, cells done, training and analysis seconds
summed over its cells and the span from its first run directory to its last outcome.

(``make examples`` after ``make run``.) Writes into OUT the report (``report.html``), its claims
table (``claims.json``), the statistics (``stats.json``), the results table as CSV
(``results.csv``, as ``cogdyn results DIR --format csv`` prints it) and ``run.json``: the date,
commit at shipping and the commits the networks were trained at (their env.json), machine, the
command that made the study, its wall time (from the first run directory opened to the last
cell's outcome) and the training and analysis seconds summed over cells.
The results page of the docs (generated at build time) is drawn from these files only.
"""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from cogdyn.experiments.sensitivity import BASE, study_path
from cogdyn.io import (
    BASE_DIR,
    CLAIMS_FILE,
    CONFIG_FILE,
    ENV_FILE,
    RECORDS_DIR,
    REPORT_FILE,
    RESULTS_FILE,
    RUNS_DIR,
    SENSITIVITY_FILE,
    STATS_FILE,
    STUDY_FILE,
    SWEEP_FILE,
    VARIANTS_DIR,
    environment_info,
    write_json,
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sweep", type=Path, help="a finished sweep directory (report built)")
    p.add_argument("out", type=Path, help="docs folder to write, e.g. docs/examples/quick")
    p.add_argument("--command", default="make run", help="the command that made the study")
    p.add_argument("--note", default="", help="what else ran on the machine meanwhile, if anything")
    p.add_argument("--study", type=Path, help="a sensitivity study's file (default: the preset)")
    p.add_argument(
        "--wall-s",
        type=float,
        help="the study's wall seconds where the files cannot tell (a study assembled from "
        "several runs: say how in --note); default: first run directory opened to last outcome",
    )
    args = p.parse_args()
    if (args.sweep / STUDY_FILE).is_file():
        ship_sensitivity(args)
        return
    for name in (REPORT_FILE, CLAIMS_FILE, STATS_FILE, RESULTS_FILE, SWEEP_FILE):
        if not (args.sweep / name).is_file():
            raise SystemExit(f"{args.sweep / name} is missing: finish the study (and its report)")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in (REPORT_FILE, CLAIMS_FILE, STATS_FILE):
        shutil.copyfile(args.sweep / name, args.out / name)
    results = pd.read_parquet(args.sweep / RESULTS_FILE)
    results.to_csv(args.out / "results.csv", index=False)
    record = sweep_record(args.sweep)
    if args.wall_s is not None:
        record["wall_s"] = args.wall_s
    env = environment_info()
    write_json(
        args.out / "run.json",
        {
            "command": args.command,
            "date": record.pop("date"),
            "commit": env["git_commit"],
            "note": args.note,
            "machine": f"{env['cpu_count']} cores, {env['platform']}, torch {env['torch']}",
            **record,
        },
    )
    print(f"wrote {args.out}: {record['cells']} cells, wall {record['wall_s'] / 60:.1f} min")


def sweep_record(sweep: Path) -> dict:
    """What a sweep directory's files say of its run: cells, done, seconds, commits, span."""
    cells = [json.loads(f.read_text()) for f in sorted((sweep / RECORDS_DIR).glob("*.json"))]
    # A copied analysis (a sensitivity variant's reused cell analysed as in the base) cost
    # nothing here, whatever seconds its record carries.
    own = [c for c in cells if not c.get("analysis_from")]
    # From the first run directory opened (its config.json is written once, as training
    # starts) to the last cell's outcome: the sweep's wall time, resumed or not rewriting it.
    # Reused run directories of a sensitivity variant link the base's config.json: not theirs.
    opened = [f for f in (sweep / RUNS_DIR).glob(f"*/{CONFIG_FILE}") if not f.is_symlink()]
    outcomes = [f.stat().st_mtime for f in (sweep / RECORDS_DIR).glob("*.json")]
    start = min((f.stat().st_mtime for f in opened), default=min(outcomes, default=0.0))
    end = max(outcomes, default=start)
    commits: dict[str, int] = {}
    for f in (sweep / RUNS_DIR).glob(f"*/{ENV_FILE}"):
        if f.is_symlink():
            continue
        commit = str(json.loads(f.read_text()).get("git_commit") or "unknown")[:7]
        commits[commit] = commits.get(commit, 0) + 1
    spec = json.loads((sweep / SWEEP_FILE).read_text())
    return {
        "date": datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%d"),
        "training_commits": commits,
        "threads_per_cell": spec.get("threads"),
        "wall_s": round(end - start, 1),
        "cells": len(cells),
        "done": sum(c.get("status") == "done" for c in cells),
        "copied_analyses": len(cells) - len(own),
        "train_s": round(sum(c.get("train_s") or 0 for c in own), 1),
        "analysis_s": round(sum(c.get("analysis_s") or 0 for c in own), 1),
    }


def ship_sensitivity(args: argparse.Namespace) -> None:
    """The sensitivity branch of :func:`main` (module docstring)."""
    study = args.sweep
    for name in (REPORT_FILE, SENSITIVITY_FILE):
        if not (study / name).is_file():
            raise SystemExit(f"{study / name} is missing: finish the study (cogdyn report DIR)")
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(study / REPORT_FILE, args.out / REPORT_FILE)
    for name in (CLAIMS_FILE, STATS_FILE):
        if (study / BASE_DIR / name).is_file():
            shutil.copyfile(study / BASE_DIR / name, args.out / f"base-{name}")
    pd.read_parquet(study / SENSITIVITY_FILE).to_csv(args.out / "sensitivity.csv", index=False)
    shutil.copyfile(study / STUDY_FILE, args.out / STUDY_FILE)  # the resolved study it ran
    resolved = json.loads((study / STUDY_FILE).read_text())
    source = args.study or (
        study_path("sensitivity") if resolved.get("name") == "sensitivity" else None
    )
    if source is not None:  # the file it was written as: the preset, or --study
        shutil.copyfile(source, args.out / "sensitivity.toml")
    entries = {BASE: sweep_record(study / BASE_DIR)}
    variants = study / VARIANTS_DIR
    for vdir in sorted(variants.iterdir()) if variants.is_dir() else []:
        if (vdir / SWEEP_FILE).is_file():
            entries[vdir.name] = sweep_record(vdir)
    env = environment_info()
    date = max(e["date"] for e in entries.values())
    ran = [e for name, e in entries.items() if name != BASE]
    write_json(
        args.out / "run.json",
        {
            "command": args.command,
            "date": date,
            "commit": env["git_commit"],
            "note": args.note,
            "machine": f"{env['cpu_count']} cores, {env['platform']}, torch {env['torch']}",
            "train_s": round(sum(e["train_s"] for e in ran), 1),
            "analysis_s": round(sum(e["analysis_s"] for e in ran), 1),
            "entries": entries,
        },
    )
    print(f"wrote {args.out}: base and {len(ran)} variants with cells")


if __name__ == "__main__":
    main()
