"""Devices: `--device` validation at the edge, and each sweep worker given its own GPU.

This machine has no GPU: what needs one runs in ``benchmarks/device_check.sh``. Here, the
CUDA path's plumbing: a worker of cells on ``auto`` sees one GPU of ``CUDA_VISIBLE_DEVICES``
(a CPU machine resolves ``auto`` to the CPU, so the cells still train), Ray hands a GPU
resource to such cells, and ``cuda`` without a GPU is refused in one line.
"""

from __future__ import annotations

import re

import pytest
import torch

from cogdyn.cli import main
from cogdyn.dynamics.maps import FrozenInputMap
from cogdyn.experiments.spec import load_sweep
from cogdyn.experiments.sweep import run_sweep

no_gpu = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal without a GPU")


def _tiny_on(tmp_path, device: str, cells: int = 4):
    from tests.experiments.conftest import write_tiny

    path = write_tiny(tmp_path, max_updates=4)
    text = path.read_text().replace("[train]\n", f'[train]\ndevice = "{device}"\n')
    if cells == 2:
        text = text.replace("delta = [0.1, 0.2]", "delta = [0.1]")
    path.write_text(text)
    return load_sweep(path)


def _gpu_of_each_cell(out) -> dict[str, str]:
    seen = {}
    for log in sorted((out / "logs").glob("*.log")):
        m = re.search(r"CUDA_VISIBLE_DEVICES=(\S*)", log.read_text())
        seen[log.stem] = m.group(1) if m else None
    return seen


def test_local_workers_each_see_one_gpu(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    sweep = _tiny_on(tmp_path, "auto")
    results, _ = run_sweep(sweep, tmp_path / "out", workers=2, progress=False)
    assert (results["status"] == "done").all()
    seen = _gpu_of_each_cell(tmp_path / "out")
    assert len(seen) == 4 and set(seen.values()) == {"0", "1"}
    # The first two cells start together on different GPUs.
    first_two = [seen[c.id] for c in sweep.cells[:2]]
    assert sorted(first_two) == ["0", "1"]


def test_cpu_cells_are_given_no_gpu(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    results, _ = run_sweep(_tiny_on(tmp_path, "cpu", 2), tmp_path / "out", progress=False)
    assert (results["status"] == "done").all()
    assert set(_gpu_of_each_cell(tmp_path / "out").values()) == {None}


@pytest.mark.slow
def test_ray_gives_cells_on_auto_a_gpu(tmp_path, monkeypatch):
    """A Ray cluster that declares one GPU: the cells on auto ask for it, one at a time, and
    Ray hands it to each as CUDA_VISIBLE_DEVICES=0."""
    pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "num_gpus": 1})
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    try:
        sweep = _tiny_on(tmp_path, "auto", 2)
        results, _ = run_sweep(sweep, tmp_path / "ray", executor="ray", progress=False)
    finally:
        cluster.shutdown()
    assert (results["status"] == "done").all()
    assert set(_gpu_of_each_cell(tmp_path / "ray").values()) == {"0"}


@no_gpu
def test_analyze_on_cuda_without_a_gpu_exits_2_in_one_line(tmp_path, capsys):
    assert (
        main(
            [
                "analyze",
                "--example",
                "sl-small",
                "--out",
                str(tmp_path / "x"),
                "--device",
                "cuda",
                "--no-progress",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "analyze.device" in err[0] and "no CUDA device" in err[0]


def test_a_census_map_moves_between_devices_and_a_step_map_refuses():
    """The move itself, onto torch's meta device (shapes without data): every tensor of the
    map goes; a non-ReLU network's map is refused with the reason."""
    from cogdyn.analysis.census import _on_device

    w = torch.eye(3, dtype=torch.float64)
    fmap = FrozenInputMap(w, torch.ones(2, 3, dtype=torch.float64), 0.5, torch.ones(2, 1))
    moved, x0, where = _on_device(fmap, torch.zeros(2, 3, dtype=torch.float64), "meta")
    assert where.type == "meta" and x0.device.type == "meta"
    assert {t.device.type for t in (moved.weight, moved.drive, moved.inputs)} == {"meta"}
    assert moved.alpha == 0.5
    same = _on_device(fmap, torch.zeros(2, 3, dtype=torch.float64), None)
    assert same[0] is fmap
    with pytest.raises(ValueError, match="only a ReLU RNN"):
        _on_device(object(), torch.zeros(2, 3), "meta")  # type: ignore[arg-type]


@pytest.mark.slow
def test_ray_refuses_a_cuda_cell_on_a_cluster_without_gpus(tmp_path, monkeypatch):
    """Ray would keep such a task waiting for a GPU forever: it is refused before submitting,
    in one line naming train.device, and nothing is trained."""
    pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    from cogdyn.errors import ConfigError

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "num_gpus": 0})
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)
    try:
        with pytest.raises(ConfigError, match="has no GPU") as err:
            run_sweep(_tiny_on(tmp_path, "cuda", 2), tmp_path / "ray", executor="ray")
    finally:
        cluster.shutdown()
    assert err.value.field == "train.device"
    assert not list((tmp_path / "ray").glob("runs/*/model.safetensors"))
