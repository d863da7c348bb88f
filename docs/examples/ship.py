"""Copy a finished study into the docs: ``python docs/examples/ship.py runs/quick OUT``.

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

from cogdyn.io import (
    CLAIMS_FILE,
    REPORT_FILE,
    RESULTS_FILE,
    STATS_FILE,
    environment_info,
    write_json,
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sweep", type=Path, help="a finished sweep directory (report built)")
    p.add_argument("out", type=Path, help="docs folder to write, e.g. docs/examples/quick")
    p.add_argument("--command", default="make run", help="the command that made the study")
    p.add_argument("--note", default="", help="what else ran on the machine meanwhile, if anything")
    args = p.parse_args()
    for name in (REPORT_FILE, CLAIMS_FILE, STATS_FILE, RESULTS_FILE, "sweep.json"):
        if not (args.sweep / name).is_file():
            raise SystemExit(f"{args.sweep / name} is missing: finish the study (and its report)")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in (REPORT_FILE, CLAIMS_FILE, STATS_FILE):
        shutil.copyfile(args.sweep / name, args.out / name)
    results = pd.read_parquet(args.sweep / RESULTS_FILE)
    results.to_csv(args.out / "results.csv", index=False)
    cells = [json.loads(f.read_text()) for f in sorted((args.sweep / "cells").glob("*.json"))]
    # From the first run directory opened (its config.json is written once, as training
    # starts) to the last cell's outcome: the sweep's wall time, resumed or not rewriting it.
    start = min(f.stat().st_mtime for f in (args.sweep / "runs").glob("*/config.json"))
    end = max(f.stat().st_mtime for f in (args.sweep / "cells").glob("*.json"))
    commits: dict[str, int] = {}
    for f in (args.sweep / "runs").glob("*/env.json"):
        commit = str(json.loads(f.read_text()).get("git_commit") or "unknown")[:7]
        commits[commit] = commits.get(commit, 0) + 1
    spec = json.loads((args.sweep / "sweep.json").read_text())
    env = environment_info()
    write_json(
        args.out / "run.json",
        {
            "command": args.command,
            "date": datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%d"),
            "commit": env["git_commit"],
            "training_commits": commits,
            "note": args.note,
            "machine": f"{env['cpu_count']} cores, {env['platform']}, torch {env['torch']}",
            "threads_per_cell": spec.get("threads"),
            "wall_s": round(end - start, 1),
            "cells": len(cells),
            "done": sum(c.get("status") == "done" for c in cells),
            "train_s": round(sum(c.get("train_s") or 0 for c in cells), 1),
            "analysis_s": round(sum(c.get("analysis_s") or 0 for c in cells), 1),
        },
    )
    print(f"wrote {args.out}: {len(cells)} cells, wall {(end - start) / 60:.1f} min")


if __name__ == "__main__":
    main()
