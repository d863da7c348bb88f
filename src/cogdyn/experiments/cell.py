"""One cell of a sweep: train (resuming an interrupted run), analyse, record the outcome.

The cell's record is ``DIR/cells/<cell>.json``, beside its run directory rather than in it, so
a cell whose directory cannot even be created still gets one: ``status`` ``done`` or
``failed`` (with the stage and the reason). Training resumes from its last evaluation
(:mod:`cogdyn.train.resume`); an analysis that did not finish is redone. An exclusive lock on
``DIR/runs/<cell>/.lock`` keeps two processes (a rerun and an orphaned worker) from working on
the same cell at once.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from cogdyn import io
from cogdyn.analysis.figure_data import has_figure_data, write_figure_data
from cogdyn.analysis.run import analyze_run
from cogdyn.errors import ConfigError, RunFailed
from cogdyn.experiments.spec import Cell, Sweep
from cogdyn.io import LOCK_FILE, LOGS_DIR, RECORDS_DIR, RUNS_DIR
from cogdyn.train.run import train

DONE, FAILED = "done", "failed"


class CellBusy(RuntimeError):
    """Another process holds the cell's lock."""


def run_dir(sweep_dir: str | Path, cell_id: str) -> Path:
    """The run directory of a cell: ``DIR/runs/<cell>``."""
    return Path(sweep_dir) / RUNS_DIR / cell_id


def record_path(sweep_dir: str | Path, cell_id: str) -> Path:
    """Where a cell's record lives: ``DIR/cells/<cell>.json``."""
    return Path(sweep_dir) / RECORDS_DIR / f"{cell_id}.json"


def read_record(sweep_dir: str | Path, cell_id: str) -> dict[str, Any] | None:
    """The cell's record, or None when the cell has not ended. A record that cannot be read
    (garbled by something else: cogdyn writes it atomically) counts as none, so the cell runs
    again (resuming from what its run directory holds)."""
    path = record_path(sweep_dir, cell_id)
    if not path.is_file():
        return None
    try:
        record = io.read_json(path)
    except (ValueError, OSError):
        return None
    return record if isinstance(record, dict) and record.get("status") in (DONE, FAILED) else None


def done_seconds(sweep_dir: str | Path) -> list[tuple[str, float, float | None]]:
    """(algo, train_s, analysis_s) of every done cell whose record holds its training seconds
    (``analysis_s`` None where the record has none): what cost estimates are drawn from."""
    folder = Path(sweep_dir) / RECORDS_DIR
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        record = read_record(sweep_dir, path.stem)
        if record is None or record.get("status") != DONE:
            continue
        train_s, analysis_s = record.get("train_s"), record.get("analysis_s")
        if not isinstance(train_s, int | float) or isinstance(train_s, bool):
            continue
        analysed = isinstance(analysis_s, int | float) and not isinstance(analysis_s, bool)
        algo = str((record.get("params") or {}).get("algo"))
        out.append((algo, float(train_s), float(analysis_s) if analysed else None))
    return out


def cell_device(sweep: Sweep, cell_id: str) -> str:
    """The device a cell trains on, its ``train.device``; it analyses there too where its
    analysis can (:func:`_train_and_analyse`)."""
    return str(sweep.cell(cell_id).config.get("train", {}).get("device", "cpu"))


def gpu_note() -> str:
    """``, CUDA_VISIBLE_DEVICES=…`` when this process was given GPUs, for a cell log's first
    line (which GPU ran the cell); empty otherwise."""
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES")
    return "" if gpus is None else f", CUDA_VISIBLE_DEVICES={gpus}"


def write_failure(sweep_dir: str | Path, cell: Cell, stage: str, reason: str) -> dict[str, Any]:
    """Record a failed cell (also used by executors when a worker dies without a record)."""
    record = {"cell": cell.id, "params": cell.params, "status": FAILED, "stage": stage}
    record.update(error=reason, log=f"{LOGS_DIR}/{cell.id}.log")
    io.write_json(record_path(sweep_dir, cell.id), record)
    return record


def run_cell(
    sweep_dir: str | Path, sweep: Sweep, cell_id: str, wait_s: float = 0.0
) -> dict[str, Any]:
    """Train and analyse one cell into ``DIR/runs/<cell>``; returns its record.

    Never raises for a failure of the cell itself (exception, NaN loss): that is recorded as
    ``failed`` with its reason, and the traceback printed to stderr (the cell's log). Raises
    :class:`CellBusy` when another process still holds the cell after ``wait_s`` seconds (a
    retry of a cell whose first worker is still dying waits for it).
    """
    cell = sweep.cell(cell_id)
    out = run_dir(sweep_dir, cell.id)
    stage = "setup"
    try:
        out.mkdir(parents=True, exist_ok=True)
        lock = os.open(out / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        return write_failure(sweep_dir, cell, stage, f"{type(e).__name__}: {e}")
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise CellBusy(f"cell {cell.id} is being run by another process") from None
                time.sleep(0.5)
        os.ftruncate(lock, 0)
        os.write(lock, f"{os.getpid()}\n".encode())
        record = read_record(sweep_dir, cell.id)
        if record is not None and record.get("status") == DONE:
            return record
        return _train_and_analyse(sweep_dir, sweep, cell, out)
    finally:
        os.close(lock)  # releases the lock


def _train_and_analyse(
    sweep_dir: str | Path, sweep: Sweep, cell: Cell, out: Path
) -> dict[str, Any]:
    stage = "train"
    timings: dict[str, float] = {}
    spec = cell.analysis  # the sweep's [analysis] with the cell's swept analysis values
    try:
        config = cell.run_config()
        if not (out / io.SUMMARY_FILE).is_file():
            start = time.perf_counter()
            train(config, out, progress=False, resume=True)
            timings["train_s"] = round(time.perf_counter() - start, 3)
        stage = "analyze"
        if not (out / io.ANALYSIS_DIR / io.SUMMARY_FILE).is_file():
            # For a non-CtxDM task analyze_run runs the census over its trial conditions.
            start = time.perf_counter()
            analyze_run(
                out,
                checkpoints=spec.checkpoints,
                census=spec.census,
                n_trials=spec.n_trials,
                threads=sweep.threads,
                progress=False,
                populations=spec.populations,
                population_options=spec.population,
                min_accuracy=spec.min_accuracy,
                # A cell analyses where it trains, where its analysis can: a census that
                # cannot leave the CPU (not a ReLU RNN on CtxDM) stays there, as on `auto`.
                device="cpu" if config.train.device == "cpu" else "auto",
            )
            timings["analysis_s"] = round(time.perf_counter() - start, 3)
        stage = "figures"
        figures = config.task.is_ctxdm and spec.figures
        if figures and not has_figure_data(out):
            write_figure_data(out)
    except Exception as e:  # a failing cell is recorded; the sweep goes on
        traceback.print_exc(file=sys.stderr)  # the whole story goes to the cell's log
        sys.stderr.flush()
        if isinstance(e, RunFailed | ConfigError):  # a failure of the run, said in one line
            reason = " ".join(str(e).split())
        else:
            detail = traceback.format_exc(limit=-3).strip().splitlines()
            where = detail[-3].strip() if len(detail) >= 3 else ""
            reason = f"{type(e).__name__}: {e}" + (f" ({where})" if where else "")
        return write_failure(sweep_dir, cell, stage, reason)
    record = {"cell": cell.id, "params": cell.params, "status": DONE, "error": "", **timings}
    io.write_json(record_path(sweep_dir, cell.id), record)
    return record
