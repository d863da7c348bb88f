"""A real multi-node Ray cluster on this machine survives the loss of a node mid-sweep.

A head node (no CPUs: it only schedules) and two worker nodes with one CPU each run a 6-cell
sweep; as soon as both workers are training a cell, one worker node is removed (its raylet and
everything on it killed, as when a machine dies). Its cell is retried on the node that is left
and resumes its training; every cell finishes and the results table equals that of an
undisturbed local run, timing columns aside.
"""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from cogdyn.experiments.cell import record_path
from cogdyn.experiments.results import TIMING_COLUMNS
from cogdyn.experiments.spec import load_sweep
from cogdyn.experiments.sweep import run_sweep
from cogdyn.io import BOOK_FILE, RUNS_DIR
from tests.experiments.conftest import TINY

# Long enough that both worker nodes are seen training at once: at 40 updates a cell trained
# and analysed in about the time the polling below needs to see two, and the test once missed
# every overlap on a quiet machine.
SIX = TINY.replace("MAX_UPDATES", "120").replace("delta = [0.1, 0.2]", "delta = [0.05, 0.1, 0.2]")


def _training(out):
    """Cells in training: resume state saved, no record yet."""
    if not (out / RUNS_DIR).is_dir():
        return []
    return [
        r.name
        for r in (out / RUNS_DIR).iterdir()
        if (r / BOOK_FILE).is_file() and not record_path(out, r.name).is_file()
    ]


@pytest.mark.slow
def test_a_lost_node_mid_sweep_changes_nothing(tmp_path):
    pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    (tmp_path / "six.toml").write_text(SIX)
    sweep = load_sweep(tmp_path / "six.toml")
    assert len(sweep.cells) == 6
    local, _ = run_sweep(sweep, tmp_path / "local", workers=2, progress=False)

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    nodes = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    out = tmp_path / "ray"
    killed: dict[str, object] = {}

    def kill_a_node_while_both_train() -> None:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and "done" not in killed:
            running = _training(out)
            if len(running) == 2:  # one cell per worker node: one of them is on nodes[0]
                killed["running"] = running
                cluster.remove_node(nodes[0], allow_graceful=False)
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_a_node_while_both_train)
    killer.start()
    try:
        on_ray, _ = run_sweep(sweep, out, executor="ray", address=cluster.address, progress=False)
    finally:
        killed["done"] = True
        killer.join()
        cluster.shutdown()

    assert "running" in killed, "no moment with both worker nodes training a cell"
    assert list(on_ray["status"]) == ["done"] * 6, list(on_ray["error"])
    drop = list(TIMING_COLUMNS)
    pd.testing.assert_frame_equal(
        on_ray.drop(columns=drop).reset_index(drop=True),
        local.drop(columns=drop).reset_index(drop=True),
    )
    # the cell of the lost node ran twice (the retry resumed it); its log shows both attempts
    attempts = {
        cell: (out / "logs" / f"{cell}.log").read_text().count(f"== {cell}: Ray worker")
        for cell in on_ray["cell"]
    }
    retried = [cell for cell, n in attempts.items() if n > 1]
    assert len(retried) == 1 and retried[0] in killed["running"], attempts
