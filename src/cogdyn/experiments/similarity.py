"""Dynamical similarity between the networks of a sweep: the final models of its done cells,
compared on one shared batch of trials (:mod:`cogdyn.dynamics.similarity`), with a classical MDS
embedding per method, written beside the results table."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import torch

from cogdyn import io
from cogdyn.dynamics.similarity import SimilarityOptions, classical_mds, compare_networks
from cogdyn.errors import ConfigError
from cogdyn.tasks import make_task


def sweep_similarity(
    sweep_dir: str | Path, options: SimilarityOptions | None = None
) -> dict[str, Path]:
    """Compare the final models of a sweep's done cells; write the tables and the figure.

    Reads ``DIR/results.parquet`` (``run_dir``, ``status``, ``algo``, ``delta``, ...). Writes
    ``DIR/similarity.parquet`` (long: ``method``, ``cell_a``, ``cell_b``, ``dissimilarity``),
    ``DIR/similarity_mds.parquet`` (``method``, ``cell``, ``algo``, ``delta``, ``seed``, ``x``,
    ``y``) and ``DIR/similarity.json`` (the options); ``cogdyn similarity`` then draws the MDS
    (:func:`~cogdyn.report.similarity_figure.write_similarity_figure`).
    """
    opts = options or SimilarityOptions()
    root = Path(sweep_dir)
    table_path = root / io.RESULTS_FILE
    if not table_path.is_file():
        raise FileNotFoundError(f"{root} has no results.parquet (run `cogdyn sweep` first)")
    table = pd.read_parquet(table_path)
    done = table[table["status"] == "done"].reset_index(drop=True)
    if len(done) < 2:
        raise ConfigError("similarity", f"needs at least 2 done cells in {root}, got {len(done)}")
    models, task_json = [], None
    for rel in done["run_dir"]:
        config, model = io.load_run(root / rel)
        this = config.to_json()["task"]
        if task_json is not None and this != task_json:
            raise ConfigError("similarity", f"{rel} was trained on another task than the others")
        task_json = this
        models.append(model)
    task = make_task(config.task)
    batch = task.sample(opts.n_trials, torch.Generator().manual_seed(opts.seed))
    matrices = compare_networks(models, batch, opts)

    cells = done["cell"].astype(str).tolist() if "cell" in done else done["run_dir"].tolist()
    meta = done[[c for c in ("algo", "delta", "seed") if c in done]].reset_index(drop=True)
    long_rows, mds_frames = [], []
    for method, mat in matrices.items():
        for i, a in enumerate(cells):
            for j, b in enumerate(cells):
                long_rows.append((method, a, b, float(mat[i, j])))
        xy = classical_mds(mat)
        frame = pd.DataFrame({"method": method, "cell": cells, **meta.to_dict("list")})
        frame["x"], frame["y"] = xy[:, 0], xy[:, 1]
        mds_frames.append(frame)
    long = pd.DataFrame(long_rows, columns=["method", "cell_a", "cell_b", "dissimilarity"])
    mds = pd.concat(mds_frames, ignore_index=True)
    files = {"matrix": root / io.SIMILARITY_FILE, "mds": root / io.MDS_FILE}
    io.atomic_write_bytes(files["matrix"], long.to_parquet(index=False))
    io.atomic_write_bytes(files["mds"], mds.to_parquet(index=False))
    io.write_json(root / io.SIMILARITY_JSON, {"options": dataclasses.asdict(opts), "n": len(cells)})
    return files
