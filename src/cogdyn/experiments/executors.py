"""Where the cells of a sweep run: a local pool of worker processes, or a Ray cluster.

Both run the same function (:func:`~cogdyn.experiments.cell.run_cell`) on the same sweep
directory, so they write the same run directories and the same results table. An executor
takes the cells to run and calls ``on_event(kind, cell_id, record)`` with kind ``started`` or
``ended`` (``record`` is the cell's ``cell.json`` once it ended).

* :class:`LocalExecutor`: one process per cell (``python -m cogdyn.experiments.worker``), at
  most ``workers`` at once, each with ``threads`` torch threads; the worker of a cell on
  ``cuda`` or ``auto`` sees one GPU (``CUDA_VISIBLE_DEVICES``, the least used of the visible
  ones). A worker killed by a signal is
  recorded as a failed cell; the workers die with the sweep (``PR_SET_PDEATHSIG``), so a killed
  sweep leaves no orphan writing into its directory.
* :class:`RayExecutor`: each cell is a Ray task (``num_cpus = threads``; ``num_gpus = 1`` for
  cells on ``cuda``, or on ``auto`` where the cluster has GPUs; a cell on ``cuda`` is refused
  up front on a cluster without GPUs) on a local or remote cluster (``address``). The sweep
  directory must be on a file system every node sees.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from cogdyn.errors import ConfigError
from cogdyn.experiments.cell import (
    cell_device,
    gpu_note,
    read_record,
    run_cell,
    write_failure,
)
from cogdyn.experiments.spec import Sweep, sweep_from_json
from cogdyn.io import LOGS_DIR

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


def visible_gpus() -> list[str]:
    """This process's GPUs as ``CUDA_VISIBLE_DEVICES`` names them (indices when unset)."""
    import torch

    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [g.strip() for g in listed.split(",") if g.strip()]
    return [str(i) for i in range(torch.cuda.device_count())]


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
        logs = sweep_dir / LOGS_DIR
        logs.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **thread_env(sweep.threads)}
        # Cells on cuda/auto: each worker sees one GPU, the least used one, as its `cuda`.
        gpus = visible_gpus() if any(cell_device(sweep, c) != "cpu" for c in cells) else []
        on_gpu: dict[str, str] = {}
        try:
            while pending or running:
                while pending and len(running) < self.workers:
                    cell_id = pending.pop(0)
                    cell_env = env
                    if gpus and cell_device(sweep, cell_id) != "cpu":
                        gpu = min(gpus, key=lambda g: sum(v == g for v in on_gpu.values()))
                        on_gpu[cell_id] = gpu
                        cell_env = {**env, "CUDA_VISIBLE_DEVICES": gpu}
                    with (logs / f"{cell_id}.log").open("ab") as log:
                        running[cell_id] = subprocess.Popen(
                            [*WORKER, str(sweep_dir), cell_id],
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            env=cell_env,
                            preexec_fn=_die_with_parent,
                        )
                    on_event("started", cell_id, None)
                for cell_id, proc in list(running.items()):
                    rc = proc.poll()
                    if rc is None:
                        continue
                    del running[cell_id]
                    on_gpu.pop(cell_id, None)
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


RAY_RETRIES = 3
"""Times Ray runs a cell again after a system failure (its worker or node lost); each retry
resumes the cell's training from its last evaluation. A cell that fails by itself (an error,
a diverged run) is recorded as failed and not retried."""
LOCK_WAIT_S = 120.0
"""How long a retried Ray cell waits for the cell's lock, held by a first attempt whose
worker is still dying after its node was lost."""


@contextlib.contextmanager
def cell_log(path: Path) -> Iterator[None]:
    """Send this process's output (Python's and C libraries', file descriptors 1 and 2) to
    ``path`` (appended to) for the duration; a Ray worker runs a cell under it, so that the
    cell's log lands in ``DIR/logs`` as the local executor's do."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("ab", buffering=0) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    text = path.open("a", encoding="utf-8", buffering=1)
    try:
        with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text):
            yield
    finally:
        text.close()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def _ray_cell(sweep_dir: str, source: dict[str, Any], cell_id: str, threads: int) -> dict:
    """The Ray task: run one cell inside a Ray worker process, its output in DIR/logs."""
    import torch

    torch.set_num_threads(threads)
    with cell_log(Path(sweep_dir) / LOGS_DIR / f"{cell_id}.log"):
        sweep = sweep_from_json(source)
        # Ray leaves a CPU task the node's own CUDA_VISIBLE_DEVICES: only a GPU cell names one.
        note = gpu_note() if cell_device(sweep, cell_id) != "cpu" else ""
        print(f"== {cell_id}: Ray worker pid {os.getpid()} on {platform.node()}{note}", flush=True)
        record = run_cell(sweep_dir, sweep, cell_id, wait_s=LOCK_WAIT_S)
        print(f"{cell_id}: {record['status']} {record.get('error', '')}".rstrip(), flush=True)
    return record


class RayExecutor:
    """Cells as Ray tasks, on the cluster Ray users expect.

    * ``address`` given (``auto``, ``host:port``, ``ray://…``) or ``RAY_ADDRESS`` set (as it is
      under ``ray job submit``): attach to that cluster, passing no resources (the cluster has
      its own);
    * neither: attach to the cluster ``ray start`` left running on this machine, or start a
      local one with ``workers × threads`` CPUs when none is running;
    * ``ray.init`` already called by the caller: use that.

    The resolved sweep is put in the object store once and every task reads it from there.
    ``workers`` (when given) caps the cells in flight at once. Tasks are retried
    :data:`RAY_RETRIES` times after a system failure (a lost worker or node), resuming their
    training; each cell's output goes to ``DIR/logs/<cell>.log``.
    """

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        self.address, self.workers = address, workers

    def _init(self, ray: Any, threads: int) -> bool:
        """Connect to (or start) a cluster unless the caller did; whether we did."""
        if ray.is_initialized():
            return False
        common: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
        address = self.address or os.environ.get("RAY_ADDRESS") or None
        if address is not None:
            ray.init(address=address, **common)
            return True
        cpus = self.workers * threads if self.workers else None
        try:  # no address: Ray starts a local cluster unless `ray start` left one running
            ray.init(num_cpus=cpus, include_dashboard=False, **common)
        except ValueError as e:
            if "existing cluster" not in str(e):
                raise
            ray.init(**common)  # attach to that one, without resources of our own
        return True

    def run(self, sweep_dir: Path, sweep: Sweep, cells: Sequence[str], on_event: Event) -> None:
        """Submit every cell as a Ray task and report them as they finish."""
        try:
            import ray
        except ImportError:
            raise ConfigError(
                "executor", "ray is not installed; pip install 'cogdyn[ray]'"
            ) from None
        sweep_dir = sweep_dir.resolve()  # Ray workers do not share our working directory
        try:
            started_here = self._init(ray, sweep.threads)
        except ConnectionError as e:
            raise ConfigError("--address", f"no Ray cluster to attach to ({e})") from None
        refs: dict[Any, str] = {}
        try:
            common: dict[str, Any] = {
                "num_cpus": sweep.threads,
                "max_retries": RAY_RETRIES,
                "runtime_env": {"env_vars": thread_env(sweep.threads)},
            }
            # A GPU task is its own remote function: declared with num_gpus, Ray gives each
            # call a fresh worker process (max_calls = 1), so a cell never inherits another
            # cell's CUDA context or GPU.
            tasks = {
                False: ray.remote(**common)(_ray_cell),
                True: ray.remote(**common, num_gpus=1)(_ray_cell),
            }
            source = ray.put(sweep.to_json())  # once, not serialised into every task
            cluster_gpus = ray.cluster_resources().get("GPU", 0)
            on_cuda = [c for c in cells if cell_device(sweep, c) == "cuda"]
            if on_cuda and not cluster_gpus:
                raise ConfigError(
                    "train.device",
                    f"cell {on_cuda[0]} trains on cuda but the Ray cluster has no GPU "
                    "(allowed there: cpu, auto)",
                )
            pending = list(cells)
            cap = self.workers or len(pending)
            while pending or refs:
                while pending and len(refs) < cap:
                    cell_id = pending.pop(0)
                    # A cell on cuda asks Ray for a GPU, which Ray hands it as
                    # CUDA_VISIBLE_DEVICES; a cell on auto, where the cluster has GPUs.
                    device = cell_device(sweep, cell_id)
                    gpu = device == "cuda" or (device == "auto" and cluster_gpus > 0)
                    ref = tasks[gpu].remote(str(sweep_dir), source, cell_id, sweep.threads)
                    refs[ref] = cell_id
                    on_event("started", cell_id, None)
                done, _ = ray.wait(list(refs), num_returns=1)
                cell_id = refs.pop(done[0])
                try:
                    record = ray.get(done[0])
                except Exception as e:  # retries exhausted, or the task raised
                    first = str(e).strip().splitlines()[0] if str(e).strip() else ""
                    reason = f"ray task failed: {type(e).__name__}: {first}"
                    record = write_failure(sweep_dir, sweep.cell(cell_id), "worker", reason)
                on_event("ended", cell_id, record)
        finally:
            for ref in refs:  # interrupted: nothing of ours keeps running on the cluster
                ray.cancel(ref, force=True)
            if started_here:
                ray.shutdown()


def make_executor(kind: str, workers: int | None, address: str | None = None) -> Executor:
    """The executor ``kind`` (one of :data:`EXECUTORS`); ConfigError for another name.
    ``workers``: processes of the local executor (None: 1); cells in flight on Ray (None: no
    cap, the cluster's resources decide)."""
    if address is not None and kind != "ray":
        raise ConfigError("--address", "is for --executor ray")
    if kind == "local":
        return LocalExecutor(workers or 1)
    if kind == "ray":
        return RayExecutor(address, workers)

    raise ConfigError("executor", f"must be one of {', '.join(EXECUTORS)}, got {kind!r}")
