"""The figure data the report needs from a network itself, computed once from the final model
and cached as small Parquet tables plus a JSON under ``RUN/analysis/figdata/``, so that the report
and ``cogdyn plot`` read files only.

The figures that need the trained network — output probabilities over a trial (Fig. 1c),
psychometric curves and the PCA phase portrait with fixed points and a quasi-periodic orbit
(Fig. 3) — come from:

* ``output_probabilities.parquet`` — :func:`cogdyn.behaviour.output_probabilities`;
* ``psychometric.parquet`` — :func:`cogdyn.behaviour.psychometric_table` on fresh trials;
* ``trajectories.parquet`` — hidden states of real trials projected on their first 3 PCs;
* ``fixed_points_pca.parquet`` — the delay/decision fixed points in the same PCs;
* ``qp_orbit.parquet`` — a quasi-periodic attractor of the census, if the final model has one;
* ``meta.json`` — PCA explained variance, trial counts and seeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from cogdyn import io
from cogdyn.analysis.census import phase_onset_states
from cogdyn.analysis.conditions import condition_inputs
from cogdyn.analysis.phase_points import phase_fixed_points
from cogdyn.behaviour import evaluate, output_probabilities, psychometric_table, rollout
from cogdyn.dynamics.step_map import frozen_input_map
from cogdyn.tasks import CtxDM
from cogdyn.tasks.base import STIMULUS

N_PCS = 3
FIGDATA_META = "meta.json"


def has_figure_data(run_dir: str | Path) -> bool:
    """Whether :func:`write_figure_data` has run for this run directory."""
    return (Path(run_dir) / io.ANALYSIS_DIR / io.FIGDATA_DIR / FIGDATA_META).is_file()


def write_figure_data(
    run_dir: str | Path, *, n_trials: int = 200, n_traj: int = 40, seed: int = 12345
) -> dict[str, Path]:
    """Compute and cache the network-dependent figure data of a run (see the module docstring).

    Args:
        run_dir: a trained run directory.
        n_trials: fresh trials for the psychometric table and the PCA basis.
        n_traj: of those, trials whose projected trajectories are kept.
        seed: seeds every trial draw.

    Returns:
        The files written, by name.
    """
    run_dir = Path(run_dir)
    config, model = io.load_run(run_dir)
    task = CtxDM(config.task)
    out = run_dir / io.ANALYSIS_DIR / io.FIGDATA_DIR
    files: dict[str, Path] = {}

    frames: dict[str, pd.DataFrame] = {}

    def put(name: str, frame: pd.DataFrame) -> None:  # written once all are computed
        frames[name] = frame.reset_index(drop=True)

    with torch.no_grad():
        put("output_probabilities", output_probabilities(model, task, seed=seed))
        roll = rollout(model, task, n_trials, seed)
        ev = evaluate(model, task, roll.batch)
        put("psychometric", psychometric_table(roll.batch, ev.outcome))
        valid = roll.batch.periods >= 0  # (T, B), padding is negative
        hidden = roll.hidden.double().cpu()
        mean, basis, explained = _pca(hidden[valid].numpy())
        put("trajectories", _trajectories(roll, ev.outcome.choice, hidden, mean, basis, n_traj))
        points = phase_fixed_points(model, task, roll.batch, network_choice=ev.outcome.choice)
        frame = points.points.drop(columns=["basin_share"], errors="ignore").copy()
        proj = (points.fixed_points.states.double().cpu().numpy() - mean) @ basis
        for k in range(N_PCS):
            frame[f"pc{k + 1}"] = proj[:, k] if len(frame) else []
        put("fixed_points_pca", frame)
        orbit = _qp_orbit(run_dir, model, task, mean, basis)
        if orbit is not None:
            put("qp_orbit", orbit)
    meta = {
        "model": io.MODEL_FILE,
        "n_trials": n_trials,
        "n_traj": n_traj,
        "seed": seed,
        "pca_explained_variance_ratio": explained.tolist(),
        "qp_orbit": orbit is not None,
    }
    for name, frame in frames.items():
        files[name] = out / f"{name}.parquet"
        io.atomic_write_bytes(files[name], frame.to_parquet())
    files["meta"] = out / FIGDATA_META
    io.write_json(files["meta"], meta)  # last: has_figure_data() is true once all are there
    return files


def _pca(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mean, (N, 3) basis, explained-variance ratios) of the rows of ``x``."""
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    var = s**2
    total = var.sum() if var.sum() > 0 else 1.0
    basis = np.zeros((x.shape[1], N_PCS))
    k = min(N_PCS, vt.shape[0])
    basis[:, :k] = vt[:k].T
    ratio = np.zeros(N_PCS)
    ratio[:k] = var[:k] / total
    return mean, basis, ratio


def _trajectories(
    roll: Any, choice: torch.Tensor, hidden: torch.Tensor, mean: Any, basis: Any, n: int
) -> pd.DataFrame:
    info = roll.batch.info
    n = min(n, hidden.shape[1])
    rows = []
    for b in range(n):
        valid = (roll.batch.periods[:, b] >= 0).cpu().numpy()
        proj = (hidden[:, b].numpy()[valid] - mean) @ basis
        frame = pd.DataFrame({f"pc{k + 1}": proj[:, k] for k in range(N_PCS)})
        frame.insert(0, "step", np.arange(len(frame)))
        frame.insert(0, "trial", b)
        frame["period"] = roll.batch.periods[:, b].cpu().numpy()[valid]
        frame["context"] = int(info["context"][b])
        frame["correct_choice"] = int(info["choice"][b])
        frame["network_choice"] = int(choice[b])
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)


def _qp_orbit(
    run_dir: Path, model: Any, task: Any, mean: Any, basis: Any, steps: int = 400
) -> pd.DataFrame | None:
    """The attractor of the final model's quasi-periodic census point nearest zero coherence,
    followed for ``steps`` steps after a 2000-step transient, in the trajectories' PCs."""
    path = io.analysis_file(run_dir, "attractors")
    if not path.is_file():
        return None
    columns = ("kind", "start", "label", "phase", "context", "coh_mod1", "coh_mod2")
    att = io.read_table(path, columns, "rerun `cogdyn analyze` on the run")
    sel = att[(att["kind"].astype(str) == "final") & (att["start"] == 0)]
    sel = sel[
        (sel["label"].astype(str) == "quasi_periodic") & (sel["phase"].astype(str) == "stimulus")
    ]
    if sel.empty:
        return None
    pick = sel.assign(_r=sel["coh_mod1"].abs() + sel["coh_mod2"].abs()).sort_values("_r").iloc[0]
    ctx, c1, c2 = int(pick["context"]), float(pick["coh_mod1"]), float(pick["coh_mod2"])
    inputs, grid = condition_inputs(task, [ctx], [c1], [c2], STIMULUS)
    fmap = frozen_input_map(model, inputs)
    h = fmap.iterate(phase_onset_states(model, task, grid, "stimulus"), 2000)
    traj = fmap.trajectory(h, steps)[:, 0].cpu().numpy()
    proj = (traj - mean) @ basis
    frame = pd.DataFrame({f"pc{k + 1}": proj[:, k] for k in range(N_PCS)})
    frame.insert(0, "step", np.arange(steps))
    frame.insert(0, "coh_mod2", c2)
    frame.insert(0, "coh_mod1", c1)
    frame.insert(0, "context", ctx)
    return frame
