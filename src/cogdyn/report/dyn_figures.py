"""Per-network dynamics figures (phase portrait, training, basins), from a run's files only;
each returns a Figure, or None when its data is missing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from cogdyn import io
from cogdyn.report.data import Run, read_csv_or_none
from cogdyn.report.run_figures import CHOICE_COLOR, algo_of, final_rows
from cogdyn.report.style import (
    ALGO_COLOR,
    ALGO_LINE,
    ALGO_MARKER,
    OKABE_ITO,
    STABILITY_MARKER,
    new_figure,
)


def fig_phase_portrait(runs: list[Run]) -> Any:
    """Fig. 3 analog: real trials in their first two PCs (colour: the network's choice), the
    decision-input fixed points (filled: stable, triangle: saddle, cross: unstable) and a
    quasi-periodic orbit of the stimulus census, when the network has one."""
    data = [(r, r.table("trajectories")) for r in runs]
    data = [(r, t) for r, t in data if t is not None and not t.empty]
    if not data:
        return None
    fig, axes = new_figure(3.5 * len(data), 3.4, ncols=len(data))
    for i, (run, traj) in enumerate(data):
        ax = axes[0, i]
        for _, tr in traj.groupby("trial"):
            ch = int(tr["network_choice"].iloc[0])
            ax.plot(tr["pc1"], tr["pc2"], color=CHOICE_COLOR.get(ch, "0.6"), lw=0.6, alpha=0.6)
            ax.plot(
                tr["pc1"].iloc[-1], tr["pc2"].iloc[-1], ".", color=CHOICE_COLOR.get(ch, "0.6"), ms=3
            )
        fps = run.table("fixed_points_pca")
        if fps is not None and not fps.empty:
            dec = fps[fps["phase"].astype(str) == "decision"]
            for _, p in dec.iterrows():
                kind = str(p["stability"])
                mk = STABILITY_MARKER.get(kind, "d")
                face = CHOICE_COLOR.get(int(p["choice"]), "white") if kind == "stable" else "none"
                ax.plot(p["pc1"], p["pc2"], mk, ms=9, mfc=face, mec="black", mew=1.2)
        orbit = run.table("qp_orbit")
        if orbit is not None and not orbit.empty:
            o = orbit.iloc[0]
            ax.plot(
                orbit["pc1"],
                orbit["pc2"],
                ".",
                color=OKABE_ITO["bluish_green"],
                ms=1.5,
                label=f"QP orbit (ctx {int(o['context']) + 1}, "
                f"c = {o['coh_mod1']:+g}, {o['coh_mod2']:+g} %)",
            )
            ax.legend(fontsize=6, loc="best")
        meta = run.json("analysis/figdata/meta.json") or {}
        ev = meta.get("pca_explained_variance_ratio", [None, None])
        ax.set_xlabel(f"PC1 ({ev[0]:.0%} var.)" if ev[0] is not None else "PC1")
        ax.set_ylabel(f"PC2 ({ev[1]:.0%} var.)" if ev[1] is not None else "PC2")
        ax.set_title(run.label, color=ALGO_COLOR.get(algo_of(run), "black"))
    handles = [Patch(color=CHOICE_COLOR[c], label=f"chose / holds {c}") for c in (1, 2)]
    handles += [
        Line2D([], [], ls="", marker=STABILITY_MARKER[k], mfc="white", mec="black", label=k)
        for k in ("stable", "saddle", "unstable")
    ]
    handles.append(Patch(facecolor="white", edgecolor="black", label="point reads fixate"))
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=7)
    return fig


def fig_training(runs: list[Run]) -> Any:
    """The evolution over training: held-out accuracy (metrics.csv, line) and the census F_QP of
    every analysed checkpoint (markers), per run."""
    recs = [(r, (r.analysis or {}).get("checkpoints")) for r in runs]
    # A run with a training history: metrics.csv or a checkpoint before the final model (an
    # imported network has neither, and nothing to draw here).
    recs = [
        (r, c)
        for r, c in recs
        if c and ((r.path / io.METRICS_FILE).is_file() or any(x["kind"] != "final" for x in c))
    ]
    if not recs:
        return None
    fig, axes = new_figure(7.0, 2.6, ncols=2, sharex=True)
    for run, checkpoints in recs:
        a = algo_of(run)
        metrics = run.path / io.METRICS_FILE
        m = read_csv_or_none(metrics)
        if m is not None and {"update", "accuracy"} <= set(m.columns):
            m = m[["update", "accuracy"]].apply(pd.to_numeric, errors="coerce").dropna()
            if len(m):
                axes[0, 0].plot(
                    m["update"],
                    m["accuracy"],
                    color=ALGO_COLOR[a],
                    ls=ALGO_LINE[a],
                    lw=1,
                    label=run.label,
                )
        ck = pd.DataFrame(
            [
                {
                    "update": c["update"],
                    "accuracy": c["accuracy"],
                    "frac_qp": c["census"]["frac_qp"],
                    "kind": c["kind"],
                }
                for c in checkpoints
            ]
        )
        ck = ck[ck["kind"] != "final"].sort_values("update")
        axes[0, 0].plot(ck["update"], ck["accuracy"], ALGO_MARKER[a], color=ALGO_COLOR[a], ms=4)
        axes[0, 1].plot(
            ck["update"],
            ck["frac_qp"],
            color=ALGO_COLOR[a],
            ls=ALGO_LINE[a],
            marker=ALGO_MARKER[a],
            ms=4,
            label=run.label,
        )
    axes[0, 0].set_ylabel("held-out accuracy")
    axes[0, 1].set_ylabel("F_QP (fraction of grid points)")
    for ax in axes[0]:
        ax.set_xlabel("training update (symlog)")
        ax.set_xscale("symlog", linthresh=1)
    axes[0, 1].legend(fontsize=6)
    return fig


def fig_basins(runs: list[Run]) -> Any:
    """Where real trials go: per phase, the fraction of trials whose end-of-stimulus state flows
    to a stable fixed point standing for the network's own choice (final model)."""
    rows = []
    for i_run, run in enumerate(runs):
        t = run.table("basins")
        if t is None or t.empty or "network_choice" not in t:
            continue
        t = final_rows(t)
        for (phase, ctx), g in t.groupby([t["phase"].astype(str), "context"]):
            agree = g.loc[g["basin_choice"] == g["network_choice"], "n_trials"].sum()
            rows.append(
                {
                    "run": i_run,
                    "phase": phase,
                    "context": int(ctx),
                    "agree": agree / max(g["n_trials"].sum(), 1),
                }
            )
    if not rows:
        return None
    frame = pd.DataFrame(rows)
    fig, axes = new_figure(7.0, 2.4)
    ax = axes[0, 0]
    keys = list(dict.fromkeys(zip(frame["phase"], frame["context"], strict=True)))
    pos = {k: i for i, k in enumerate(keys)}
    width = 0.8 / max(len(runs), 1)
    for i, i_run in enumerate(dict.fromkeys(frame["run"])):
        run = runs[i_run]
        sub = frame[frame["run"] == i_run]
        a = algo_of(run)
        x = [pos[k] + i * width for k in zip(sub["phase"], sub["context"], strict=True)]
        ax.bar(
            x,
            sub["agree"],
            width,
            color=ALGO_COLOR[a],
            hatch="" if a == "ppo" else "//",
            edgecolor="white",
            label=run.short,
        )
    ticks = np.arange(len(keys)) + width * (len(runs) - 1) / 2
    ax.set_xticks(ticks, [f"{p}, ctx {c + 1}" for p, c in keys])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("trials in the basin of\ntheir choice (fraction)")
    ax.legend(fontsize=6, loc="lower right")
    return fig
