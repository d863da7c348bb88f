"""Dissimilarity between networks: references (scipy's orthogonal Procrustes), invariances,
a network against itself and against others, DSA, and ``cogdyn similarity`` on a sweep."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.linalg import orthogonal_procrustes
from scipy.stats import ortho_group

from cogdyn import io
from cogdyn.cli import main
from cogdyn.config import ConfigError, ModelConfig, RunConfig
from cogdyn.dynamics.similarity import (
    SimilarityOptions,
    cca_distance,
    classical_mds,
    compare_networks,
    dsa_available,
    procrustes_distance,
)
from cogdyn.models import VanillaRNN
from cogdyn.tasks import CtxDM


def _net(seed, delta=0.1, hidden=24):
    return VanillaRNN(
        7, 3, ModelConfig(hidden=hidden, delta=delta), torch.Generator().manual_seed(seed)
    )


def _cloud(seed, s=300, k=6):
    return np.random.default_rng(seed).standard_normal((s, k)) @ np.diag(np.arange(1, k + 1))


def test_procrustes_matches_scipy_and_its_invariances():
    x, y = _cloud(0), _cloud(1)
    a, b = x - x.mean(0), y - y.mean(0)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    _, scale = orthogonal_procrustes(a, b)  # scale = nuclear norm of aᵀb
    assert procrustes_distance(x, y) == pytest.approx(np.arccos(scale), abs=1e-12)
    q = ortho_group.rvs(6, random_state=2)
    assert procrustes_distance(x, 3.0 * x @ q + 5.0) == pytest.approx(0.0, abs=1e-6)
    assert procrustes_distance(x, y) > 0.5


def test_cca_is_invariant_to_invertible_linear_maps_only_procrustes_sees_them():
    x = _cloud(0)
    stretch = x @ np.diag([1.0, 10.0, 0.1, 1.0, 3.0, 1.0]) @ ortho_group.rvs(6, random_state=1)
    assert cca_distance(x, stretch) == pytest.approx(0.0, abs=1e-9)
    assert procrustes_distance(x, stretch) > 0.1
    assert 0 < cca_distance(x, _cloud(1)) <= 1


def _compare(methods, one_thread=None):
    batch = CtxDM().sample(60, torch.Generator().manual_seed(0))
    nets = [_net(0), _net(0), _net(1), _net(2, delta=0.2)]
    return compare_networks(nets, batch, SimilarityOptions(methods=methods, n_components=6))


def test_a_network_with_itself_is_zero_and_with_others_positive(one_thread):
    out = _compare(("procrustes", "cca"))
    for mat in out.values():
        assert np.allclose(mat, mat.T)
        assert np.abs(np.diag(mat)).max() < 1e-6
        assert mat[0, 1] < 1e-6  # the same weights
        assert mat[0, 2] > 0.05 and mat[0, 3] > 0.05 and mat[2, 3] > 0.05


def test_dsa_with_itself_zero_and_with_others_positive(one_thread):
    pytest.importorskip("DSA")
    mat = _compare(("dsa",))["dsa"]
    assert mat[0, 1] == pytest.approx(0.0, abs=1e-9)
    assert mat[0, 2] > 1e-3 and mat[0, 3] > 1e-3


def test_classical_mds_recovers_euclidean_distances():
    points = np.random.default_rng(0).standard_normal((8, 2))
    d = np.linalg.norm(points[:, None] - points[None], axis=-1)
    xy = classical_mds(d)
    np.testing.assert_allclose(np.linalg.norm(xy[:, None] - xy[None], axis=-1), d, atol=1e-9)


def test_options_are_validated():
    with pytest.raises(ConfigError, match=r"similarity.methods"):
        SimilarityOptions(methods=("svcca",))
    with pytest.raises(ConfigError, match=r"similarity.n_trials"):
        SimilarityOptions(n_trials=0)


def _fake_sweep(root):
    rows = []
    for i, (algo, delta, seed) in enumerate(
        [("sl", 0.1, 0), ("sl", 0.1, 1), ("ppo", 0.1, 0), ("ppo", 0.2, 0), ("sl", 0.2, 0)]
    ):
        cell = f"{algo}-d{delta:g}-s{seed}"
        run = root / "runs" / cell
        config = RunConfig(model=ModelConfig(hidden=16, delta=delta))
        io.write_json(run / io.CONFIG_FILE, config.to_json())
        meta = {"model": {"hidden": 16, "delta": delta, "alpha": 1.0, "readout_scale": 0.1}}
        io.save_model(_net(seed + 10 * i, delta, hidden=16), run / io.MODEL_FILE, meta)
        status = "failed" if i == 4 else "done"
        rows.append({"cell": cell, "algo": algo, "delta": delta, "seed": seed, "status": status})
        rows[-1]["run_dir"] = f"runs/{cell}"
    pd.DataFrame(rows).to_parquet(root / "results.parquet")


def test_cli_similarity_writes_matrix_mds_and_figure(tmp_path, capsys, one_thread):
    _fake_sweep(tmp_path)
    rc = main(["similarity", str(tmp_path), "--methods", "procrustes,cca", "--trials", "40"])
    assert rc == 0
    long = pd.read_parquet(tmp_path / "similarity.parquet")
    assert set(long["method"]) == {"procrustes", "cca"}
    assert len(long) == 2 * 4 * 4  # the failed cell is left out
    mat = long[long["method"] == "procrustes"].pivot(
        index="cell_a", columns="cell_b", values="dissimilarity"
    )
    assert np.allclose(mat.values, mat.values.T) and np.abs(np.diag(mat.values)).max() < 1e-6
    mds = pd.read_parquet(tmp_path / "similarity_mds.parquet")
    assert {"method", "cell", "algo", "delta", "seed", "x", "y"} <= set(mds.columns)
    assert (tmp_path / "similarity.png").read_bytes()[:4] == b"\x89PNG"
    assert "procrustes: off-diagonal mean" in capsys.readouterr().out


def test_cli_similarity_refuses_a_sweep_without_results(tmp_path, capsys):
    assert main(["similarity", str(tmp_path)]) == 2
    assert "results.parquet" in capsys.readouterr().err


def test_dsa_available_reports_the_optional_package(monkeypatch):
    """Known answers: a module named DSA that imports gives True; a failing import gives False."""
    import sys
    import types

    monkeypatch.setitem(sys.modules, "DSA", types.ModuleType("DSA"))
    assert dsa_available() is True
    monkeypatch.setitem(sys.modules, "DSA", None)  # `import DSA` raises ImportError
    assert dsa_available() is False
