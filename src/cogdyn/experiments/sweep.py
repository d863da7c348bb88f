"""``cogdyn sweep``: run every cell of a sweep through an executor, then tabulate and test.

Files in the sweep directory DIR:

* ``sweep.json`` — the resolved sweep (written first; a rerun must name the same sweep);
* ``runs/<cell>/`` — one run directory per cell (training + ``analysis/``);
* ``cells/<cell>.json`` — the record of each cell that ended: ``done`` or ``failed`` + reason;
* ``logs/<cell>.log`` — each local worker's output;
* ``results.parquet`` — one row per cell (:mod:`cogdyn.experiments.results`), rewritten as
  cells end, so a partial sweep has a partial table;
* ``stats.json`` — the statistics (:mod:`cogdyn.experiments.stats`).

A rerun skips cells that are done, resumes interrupted ones (training from its last evaluation)
and, unless ``retry_failed=False``, runs failed ones again.
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from cogdyn import io
from cogdyn.analysis.census import census_cost
from cogdyn.analysis.figure_data import has_figure_data, write_figure_data
from cogdyn.config import ALGOS, run_config_from_dict
from cogdyn.errors import ConfigError, check_int
from cogdyn.experiments.cell import DONE, FAILED, done_seconds, read_record
from cogdyn.experiments.executors import make_executor
from cogdyn.experiments.results import (
    read_checkpoints,
    read_results,
    representative_row,
    write_results,
)
from cogdyn.experiments.spec import Sweep, analysis_from_json
from cogdyn.experiments.stats import sweep_stats
from cogdyn.io import STATS_FILE, SWEEP_FILE
from cogdyn.models import VanillaRNN
from cogdyn.progress import progress_bar
from cogdyn.schema import stamp
from cogdyn.tasks import CtxDM


def default_workers(threads: int) -> int:
    """As many workers as there are cores for ``threads`` torch threads each."""
    return max(1, (os.cpu_count() or 1) // threads)


def prepare_dir(out: Path, sweep: Sweep) -> None:
    """Create DIR and write ``sweep.json``; refuse a DIR that holds a different sweep.

    "The same sweep" is judged as this cogdyn reads both: the cells' run configs and the
    analysis settings of the old ``sweep.json`` are resolved again, so a field added to cogdyn
    since it was written takes its default and does not make the directory a different sweep.
    """
    if out.exists() and not out.is_dir():
        raise ConfigError("--out", f"{out} is a file; choose a directory")
    out.mkdir(parents=True, exist_ok=True)
    path = out / SWEEP_FILE
    resolved = sweep.to_json()
    if path.is_file():
        old = io.read_json_object(path, "choose another --out, or remove the file to start over")
        if not same_sweep(old, resolved):
            raise ConfigError("--out", f"{out} holds a different sweep; choose another directory")
    io.write_json(path, resolved)


def same_sweep(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether two ``sweep.json`` contents describe the same cells and analysis, each resolved
    by this cogdyn (fields missing from the older one at their defaults)."""
    try:
        cells = [_resolved_cell(c) for c in old["cells"]]
        analysis = analysis_from_json(old["analysis"]).to_json()
    except (ConfigError, KeyError, TypeError, AttributeError):
        return False  # not readable as a sweep this cogdyn knows: not the same
    new_cells = [_resolved_cell(c) for c in new["cells"]]
    return io.as_written(cells) == io.as_written(new_cells) and io.as_written(
        analysis
    ) == io.as_written(new["analysis"])


def _resolved_cell(cell: dict[str, Any]) -> dict[str, Any]:
    config = run_config_from_dict(cell["config"]).to_json()
    out = {"cell": cell["cell"], "params": cell["params"], "config": config}
    if "analysis" in cell:  # a cell of a sweep with swept analysis settings
        out["analysis"] = analysis_from_json(cell["analysis"]).to_json()
    return out


def run_sweep(
    sweep: Sweep,
    out: str | Path,
    *,
    workers: int | None = None,
    executor: str = "local",
    address: str | None = None,
    retry_failed: bool = True,
    progress: bool | None = None,
    only: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run the cells of ``sweep`` that are not done yet into ``out``; returns the results table
    and the statistics (also written to ``results.parquet`` and ``stats.json``). ``only``: run
    none but these cells (the others are left as they are, pending until a later run; a
    sensitivity study holds back the cells whose trained network is not there yet)."""
    out = Path(out)
    if workers is not None:
        check_int("--workers", workers, 1)
    n_workers = workers or default_workers(sweep.threads)
    runner = make_executor(executor, n_workers if executor == "local" else workers, address)
    prepare_dir(out, sweep)
    skip = {DONE} if retry_failed else {DONE, FAILED}
    chosen = sweep.cells if only is None else [sweep.cell(c) for c in dict.fromkeys(only)]
    todo = []
    for cell in chosen:
        record = read_record(out, cell.id)
        if record is None or record.get("status") not in skip:
            todo.append(cell.id)
    show = sys.stderr.isatty() if progress is None else progress
    tally = {"running": 0, "failed": 0}
    already = len(chosen) - len(todo)

    with progress_bar(show, eta=True) as bar:
        if todo and show:  # the calibration is only worth its second when it is shown
            bar.console.print(f"sweep {sweep.name}: " + cost_line(out, sweep, todo, n_workers))
        job = bar.add_task(
            f"sweep {sweep.name} ({n_workers} local workers)"
            if executor == "local"
            else f"sweep {sweep.name} (ray)",
            total=len(chosen),
            completed=already,
            status="",
        )

        def on_event(kind: str, cell_id: str, record: dict[str, Any] | None) -> None:
            if kind == "started":
                tally["running"] += 1
            else:
                tally["running"] -= 1
                if record is not None and record.get("status") == FAILED:
                    tally["failed"] += 1
                    bar.console.print(f"[red]failed[/red] {cell_id}: {record.get('error')}")
                bar.advance(job)
                write_results(out, sweep)
            status = f"running {tally['running']}  failed {tally['failed']}"
            bar.update(job, status=status)

        if todo:
            runner.run(out, sweep, todo, on_event)
    results = write_results(out, sweep)
    stats = sweep_stats(results, read_checkpoints(out))
    io.write_json(out / STATS_FILE, stamp(stats))
    return results, stats


def cost_line(out: Path, sweep: Sweep, todo: Sequence[str], workers: int) -> str:
    """What the cells still to run will cost, said before they run.

    From the done cells of the same paradigm when every paradigm still to run has some (the
    median training + analysis seconds per paradigm, spread over the workers); otherwise the
    census bound of one analysed checkpoint, calibrated on an untrained network of the first
    remaining cell's size (:func:`~cogdyn.analysis.census.census_cost`). Training runs until
    the criterion, which nothing predicts before cells have run."""
    done: dict[str, list[float]] = {}
    for algo, train_s, analysis_s in done_seconds(out):
        done.setdefault(algo, []).append(train_s + (analysis_s or 0.0))
    head = f"{len(todo)} of {len(sweep.cells)} cells to run, {workers} at a time"
    algos = [str(sweep.cell(c).params.get("algo")) for c in todo]
    if all(a in done for a in algos):
        median = {a: statistics.median(v) for a, v in done.items()}
        minutes = sum(median[a] for a in algos) / workers / 60
        per = ", ".join(f"{a} {median[a]:.0f} s" for a in sorted(set(algos)))
        return f"{head}: about {minutes:.0f} min (median per done cell: {per})"
    first = sweep.cell(todo[0])
    config = first.run_config()
    if not config.task.is_ctxdm:
        return f"{head}; training runs until the criterion, which nothing predicts"
    task = CtxDM(config.task)
    network = VanillaRNN(task.n_inputs, task.n_actions, config.model, torch.Generator())
    cost = census_cost(network, task, first.analysis.census)
    return (
        f"{head}; the census of each analysed checkpoint: {cost.describe()} (calibrated now on "
        f"an untrained network of the cells' size); training runs until the criterion (at most "
        f"{config.train.max_updates} updates), which nothing predicts before cells have run"
    )


def write_representative_figure_data(
    sweep_dir: str | Path, *, skip_unreadable: bool = False
) -> tuple[list[Path], list[str]]:
    """Cache the figure data of the networks the report shows (the median-F_QP network of each
    paradigm, :func:`~cogdyn.experiments.results.representative_row`) where it is missing; the
    run directories written, and (with ``skip_unreadable``) one line for each network skipped
    because its files cannot be read (without it, that is an UnreadableFile). Loading two
    networks here keeps the report file-only and spares every other cell of a sweep the cost."""
    root = Path(sweep_dir)
    table = read_results(root)
    written, skipped = [], []
    for algo in ALGOS:
        row = representative_row(table, root, algo)
        path = root / str(row.get("run_dir", "")) if row is not None else None
        if path is None or not (path / io.MODEL_FILE).is_file():
            continue
        if not has_figure_data(path):
            try:
                write_figure_data(path)
            except ConfigError as e:  # UnreadableFile among them
                if not skip_unreadable:
                    raise
                skipped.append(f"no figures of {path.name}: {e}")
                continue
            written.append(path)
    return written, skipped
