"""The one figure of dynamical similarity between a sweep's networks, drawn from
``DIR/similarity_mds.parquet`` (written by ``cogdyn similarity DIR``): in the report when the
file is there, and as ``DIR/similarity.png`` by ``cogdyn similarity`` itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cogdyn import io
from cogdyn.config import ALGOS
from cogdyn.report.data import SweepFiles, read_table_or_none
from cogdyn.report.style import ALGO_COLOR, ALGO_MARKER, ALGO_NAME, new_figure, save_figure


def fig_similarity(sweep: SweepFiles) -> Any:
    """The report's panel (:func:`mds_figure`); None when ``cogdyn similarity`` has not run."""
    mds = read_table_or_none(sweep.root / io.MDS_FILE)
    if mds is None or not {"method", "algo", "delta", "x", "y"} <= set(mds.columns):
        return None
    return mds_figure(mds)


def write_similarity_figure(sweep_dir: str | Path) -> Path:
    """Draw ``DIR/similarity_mds.parquet`` into ``DIR/similarity.png``; its path."""
    root = Path(sweep_dir)
    figure = mds_figure(pd.read_parquet(root / io.MDS_FILE))
    return save_figure(figure, root / Path(io.SIMILARITY_FIGURE_FILE).stem, ("png",))[0]


def mds_figure(mds: pd.DataFrame) -> Any:
    """One MDS panel per dissimilarity method: a point per network, colour and marker by
    paradigm, size by δ (columns ``method``, ``algo``, ``delta``, ``x``, ``y``)."""
    methods = list(dict.fromkeys(mds["method"]))
    fig, axes = new_figure(3.4 * len(methods), 3.2, ncols=len(methods))
    deltas = np.sort(mds["delta"].unique())
    size = {d: 18 + 40 * i / max(1, len(deltas) - 1) for i, d in enumerate(deltas)}
    for ax, method in zip(axes[0], methods, strict=True):
        part = mds[mds["method"] == method]
        for algo in ALGOS:
            sub = part[part["algo"] == algo]
            ax.scatter(
                sub["x"],
                sub["y"],
                s=[size[d] for d in sub["delta"]],
                c=ALGO_COLOR[algo],
                marker=ALGO_MARKER[algo],
                alpha=0.8,
                label=ALGO_NAME[algo],
            )
        ax.set_title(f"{method} (MDS)")
        ax.set_xlabel("MDS 1 (dissimilarity units)")
        ax.set_ylabel("MDS 2 (dissimilarity units)")
    axes[0][0].legend(title="marker size: δ", frameon=False)
    return fig
