"""Where the cells of a sweep run: a local pool of worker processes, or a Ray cluster.

Both run the same function (:func:`~cogdyn.experiments.cell.run_cell`) on the same sweep
directory, so they write the same run directories and the same results table. An executor
takes the cells to run and calls ``on_event(kind, cell_id, record)`` with kind ``started`` or
``ended`` (``record`` is the cell's ``cell.json`` once it ended).

* :class:`LocalExecutor`: one process per cell (``python -m cogdyn.experiments.worker``), at
  most ``workers`` at once, each with ``threads`` torch threads. A worker killed by a signal is
  recorded as a failed cell; the workers die with the sweep (``PR_SET_PDEATHSIG``), so a killed
  sweep leaves no orphan writing into its directory.
* :class:`RayExecutor`: each cell is a Ray task (``num_cpus = threads``) on a local or remote
  cluster (``address``). The sweep directory must be on a file system every node sees.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from cogdyn.errors import ConfigError
from cogdyn.experiments.cell import read_record, run_cell, write_failure
from cogdyn.experiments.spec import Sweep, sweep_from_json

Event = Callable[[str, str, dict[str, Any] | None], None]
EXECUTORS: tuple[str, ...] = ("local", "ray")
WORKER: tuple[str, ...] = (sys.executable, "-m", "cogdyn.experiments.worker")


class Executor(Protocol):
    """Runs cells of a sweep and reports each start and end through ``on_event``."""

    def run(self, sweep_dir: Path, sweep: Sweep, cells: Sequence[str], on_event: Event) -> None:
        """Run ``cells`` of ``sweep`` into ``sweep_dir``; returns when all have ended."""


def thread_env(threads: int) -> dict[str, str]:
    """Environment that keeps a worker's BLAS/OpenMP pools at ``threads``."""
    n = str(threads)
    return {"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n}


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL when the sweep process dies (Linux)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class LocalExecutor:
    """A pool of ``workers`` processes on this machine, one per running cell."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def run(self, sweep_dir: Path, sweep: Sweep, cells: Sequence[str], on_event: Event) -> None:
        """Start a worker per cell, at most ``workers`` at once; record workers that died."""
        pending = list(cells)
        running: dict[str, subprocess.Popen[bytes]] = {}
        logs = sweep_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **thread_env(sweep.threads)}
        try:
            while pending or running:
                while pending and len(running) < self.workers:
                    cell_id = pending.pop(0)
                    with (logs / f"{cell_id}.log").open("ab") as log:
                        running[cell_id] = subprocess.Popen(
                            [*WORKER, str(sweep_dir), cell_id],
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            env=env,
                            preexec_fn=_die_with_parent,
                        )
                    on_event("started", cell_id, None)
                for cell_id, proc in list(running.items()):
                    rc = proc.poll()
                    if rc is None:
                        continue
                    del running[cell_id]
                    on_event("ended", cell_id, self._record(sweep_dir, sweep, cell_id, rc))
                time.sleep(0.2)
        finally:
            for proc in running.values():
                proc.kill()

    @staticmethod
    def _record(sweep_dir: Path, sweep: Sweep, cell_id: str, rc: int) -> dict[str, Any]:
        record = read_record(sweep_dir, cell_id)
        if rc == 0 and record is not None:
            return record
        if rc < 0:
            reason = f"worker killed by signal {signal.Signals(-rc).name}"
        elif rc == 3:
            reason = "another process was running this cell"
        else:
            reason = f"worker exited with status {rc} (see logs/{cell_id}.log)"
        return write_failure(sweep_dir, sweep.cell(cell_id), "worker", reason)


def _ray_cell(sweep_dir: str, source: dict[str, Any], cell_id: str, threads: int) -> dict:
    """The Ray task: run one cell inside a Ray worker process."""
    import torch

    torch.set_num_threads(threads)
    return run_cell(sweep_dir, sweep_from_json(source), cell_id)


class RayExecutor:
    """Cells as Ray tasks on the cluster at ``address`` (None starts a local one)."""

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        self.address, self.workers = address, workers

    def run(self, sweep_dir: Path, sweep: Sweep, cells: Sequence[str], on_event: Event) -> None:
        """Submit every cell as a Ray task and report them as they finish."""
        try:
            import ray
        except ImportError:
            raise ConfigError(
                "executor", "ray is not installed; pip install 'cogdyn[ray]'"
            ) from None
        started_here = not ray.is_initialized()
        if started_here:
            kwargs: dict[str, Any] = {"address": self.address, "log_to_driver": False}
            if self.address is None and self.workers:
                kwargs["num_cpus"] = self.workers * sweep.threads
            ray.init(**kwargs, runtime_env={"env_vars": thread_env(sweep.threads)})
        try:
            task = ray.remote(num_cpus=sweep.threads, max_retries=0)(_ray_cell)
            source = sweep.to_json()
            refs: dict[Any, str] = {}
            for cell_id in cells:
                refs[task.remote(str(sweep_dir), source, cell_id, sweep.threads)] = cell_id
                on_event("started", cell_id, None)
            waiting = list(refs)
            while waiting:
                done, waiting = ray.wait(waiting, num_returns=1)
                cell_id = refs[done[0]]
                try:
                    record = ray.get(done[0])
                except Exception as e:  # a worker that died or a task error
                    reason = f"ray task failed: {type(e).__name__}: {str(e).splitlines()[0]}"
                    record = write_failure(sweep_dir, sweep.cell(cell_id), "worker", reason)
                on_event("ended", cell_id, record)
        finally:
            if started_here:
                ray.shutdown()


def make_executor(kind: str, workers: int, address: str | None = None) -> Executor:
    """The executor ``kind`` (one of :data:`EXECUTORS`); ConfigError for another name."""
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(address, workers)

    raise ConfigError("executor", f"must be one of {', '.join(EXECUTORS)}, got {kind!r}")
