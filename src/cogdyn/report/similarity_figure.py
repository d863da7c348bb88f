"""The report's figure of dynamical similarity between a sweep's networks, drawn from
``DIR/similarity_mds.parquet`` (written by ``cogdyn similarity DIR``) when it is there."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cogdyn.report.data import Sweep
from cogdyn.report.style import ALGO_COLOR, ALGO_MARKER, ALGO_NAME, ALGOS, new_figure

MDS_FILE = "similarity_mds.parquet"


def fig_similarity(sweep: Sweep) -> Any:
    """One MDS panel per dissimilarity method: a point per network, colour and marker by
    paradigm, size by δ; None when ``cogdyn similarity`` has not been run."""
    path = sweep.root / MDS_FILE
    if not path.is_file():
        return None
    mds = pd.read_parquet(path)
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
