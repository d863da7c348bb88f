"""Sweep-level figures: RL vs SL across networks, from ``results.parquet`` and ``stats.json``.
Each returns a Figure, or None when the columns it needs are missing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cogdyn.config import ALGOS
from cogdyn.experiments.stats import entry_level
from cogdyn.report.data import SweepFiles, num
from cogdyn.report.style import (
    ALGO_COLOR,
    ALGO_LINE,
    ALGO_MARKER,
    ALGO_NAME,
    LABEL_COLOR,
    LABEL_HATCH,
    LABEL_NAME,
    LABEL_ORDER,
    new_figure,
)


def level_keys(stats: dict[str, Any] | None) -> tuple[str, ...]:
    """The keys that tell one task level from another in ``stats.json``'s groups (dim_ring,
    coherences, σ where swept, swept settings such as ``train.lr``), in their order there."""
    keys: dict[str, None] = {}
    for g in (stats or {}).get("groups") or []:
        keys.update((k, None) for k in entry_level(g))
    return tuple(keys)


def _level_name(level: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in level.items() if v is not None)


def _jitter(n: int, width: float) -> np.ndarray:
    return np.linspace(-width, width, n) if n > 1 else np.zeros(n)


def _strip(ax: Any, done: pd.DataFrame, col: str, by: str = "delta") -> None:
    """One dot per network against ``by``, RL and SL side by side, with the mean as a bar."""
    xs = sorted(done[by].dropna().unique()) if by in done else [0]
    pos = {x: i for i, x in enumerate(xs)}
    for k, algo in enumerate(ALGOS):
        sub = done[done["algo"] == algo] if "algo" in done else done.iloc[:0]
        for x, g in sub.groupby(by) if by in sub else []:
            vals = g[col].dropna()
            if vals.empty:
                continue
            base = pos[x] + (k - 0.5) * 0.35
            ax.plot(
                base + _jitter(len(vals), 0.08),
                vals,
                ALGO_MARKER[algo],
                color=ALGO_COLOR[algo],
                ms=4,
                alpha=0.7,
                mfc="none",
            )
            ax.hlines(vals.mean(), base - 0.13, base + 0.13, color=ALGO_COLOR[algo], lw=2)
    ax.set_xticks(range(len(xs)), [f"{x:g}" if isinstance(x, float) else str(x) for x in xs])
    ax.set_xlabel("initialisation width δ" if by == "delta" else by)


def _algo_legend(fig: Any) -> None:
    from matplotlib.lines import Line2D

    handles = [
        Line2D(
            [], [], color=ALGO_COLOR[a], marker=ALGO_MARKER[a], ls=ALGO_LINE[a], label=ALGO_NAME[a]
        )
        for a in ALGOS
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=2)


def fig_performance(sweep: SweepFiles, target: float = 0.95) -> Any:
    """Accuracy and cost to criterion per network, RL vs SL, against δ."""
    done = sweep.done
    cols = [c for c in ("accuracy", "updates_to_criterion", "env_steps_to_criterion") if c in done]
    if done.empty or not cols:
        return None
    fig, axes = new_figure(7.0, 2.6, ncols=len(cols))
    labels = {
        "accuracy": "final held-out accuracy",
        "updates_to_criterion": "updates to criterion",
        "env_steps_to_criterion": "env. steps to criterion",
    }
    for ax, col in zip(axes[0], cols, strict=True):
        _strip(ax, done, col)
        ax.set_ylabel(labels[col])
        if col == "accuracy":
            ax.axhline(target, color="0.4", lw=0.8, ls=":")
        elif done[col].dropna().gt(0).all() and done[col].notna().any():
            ax.set_yscale("log")
    _algo_legend(fig)
    return fig


def _groups(stats: dict[str, Any] | None) -> dict[tuple, list[dict[str, Any]]]:
    """stats.json's groups by task level (:func:`level_keys`), never pooling two levels."""
    keys = level_keys(stats)
    out: dict[tuple, list[dict[str, Any]]] = {}
    for g in (stats or {}).get("groups") or []:
        out.setdefault(tuple(g.get(k) for k in keys), []).append(g)
    return out


def fig_fqp_delta(sweep: SweepFiles) -> Any:
    """F_QP against δ, RL vs SL: mean ± SEM over networks (stats.json), every network as a faint
    dot, the untrained baseline dotted, Mann–Whitney p above each δ; top: over all grid points,
    bottom: over bounded (not divergent) points."""
    groups = _groups(sweep.stats)
    if not groups:
        return None
    keys = level_keys(sweep.stats)
    rows = [("frac_qp", "F_QP (all grid points)"), ("frac_qp_bounded", "F_QP (bounded points)")]
    fig, axes = new_figure(3.6 * len(groups), 5.0, ncols=len(groups), nrows=2, sharey="row")
    done = sweep.done
    for j, (level, gs) in enumerate(groups.items()):
        gs = sorted(gs, key=lambda g: num(g.get("delta")) or 0.0)
        deltas = np.array([num(g.get("delta")) or 0.0 for g in gs])
        for i, (key, ylabel) in enumerate(rows):
            ax = axes[i, j]
            test = "mann_whitney" if key == "frac_qp" else "mann_whitney_bounded"
            for k, algo in enumerate(ALGOS):
                m = np.array([num((g.get(algo) or {}).get(f"{key}_mean")) for g in gs], dtype=float)
                e = np.array([num((g.get(algo) or {}).get(f"{key}_sem")) for g in gs], dtype=float)
                x = deltas * (1 + (k - 0.5) * 0.04)
                ax.errorbar(
                    x,
                    m,
                    yerr=np.nan_to_num(e),
                    color=ALGO_COLOR[algo],
                    marker=ALGO_MARKER[algo],
                    ls=ALGO_LINE[algo],
                    capsize=3,
                    label=ALGO_NAME[algo],
                )
                sub = done[(done["algo"] == algo)] if "algo" in done else done.iloc[:0]
                for name, val in zip(keys, level, strict=True):
                    if name in sub and val is not None:
                        sub = sub[sub[name].astype(str) == str(val)]
                if key in sub:
                    ax.plot(
                        sub["delta"] * (1 + (k - 0.5) * 0.04),
                        sub[key],
                        ALGO_MARKER[algo],
                        color=ALGO_COLOR[algo],
                        alpha=0.25,
                        ms=3,
                    )
                if key == "frac_qp":
                    base = np.array(
                        [num((g.get(algo) or {}).get("frac_qp_untrained_mean")) for g in gs],
                        dtype=float,
                    )
                    if np.isfinite(base).any():
                        ax.plot(
                            deltas,
                            base,
                            ls=":",
                            color=ALGO_COLOR[algo],
                            lw=1,
                            label=f"{ALGO_NAME[algo]} untrained",
                        )
            for d, g in zip(deltas, gs, strict=True):
                p = num((g.get(test) or {}).get("p"))
                ax.annotate(
                    f"p={p:.2g}" if p is not None else "p: n/a",
                    (d, 1.0),
                    xycoords=("data", "axes fraction"),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
            ax.set_ylabel(ylabel)
            ax.set_xlabel("initialisation width δ")
            ax.set_ylim(bottom=0)
        axes[0, j].set_title(_level_name(dict(zip(keys, level, strict=True))) + "\n", fontsize=8)
    axes[0, -1].legend(fontsize=6, loc="upper left")
    return fig


def fig_label_mix(sweep: SweepFiles) -> Any:
    """Mean share of each attractor type over the grid, per paradigm × δ (stacked, hatched)."""
    done = sweep.done
    cols = [f"n_{k}" for k in LABEL_ORDER if f"n_{k}" in done]
    if done.empty or not cols or "delta" not in done:
        return None
    frac = done[cols].div(done[cols].sum(axis=1).replace(0, np.nan), axis=0)
    frac[["algo", "delta"]] = done[["algo", "delta"]]
    mean = frac.groupby(["algo", "delta"])[cols].mean()
    fig, axes = new_figure(7.0, 2.8)
    ax = axes[0, 0]
    ticks = []
    for i, (algo, delta) in enumerate(mean.index):
        bottom = 0.0
        for c in cols:
            lab = c[2:]
            ax.bar(
                i,
                mean.loc[(algo, delta), c],
                bottom=bottom,
                color=LABEL_COLOR[lab],
                hatch=LABEL_HATCH[lab],
                edgecolor="0.35",
                lw=0.4,
                label=LABEL_NAME[lab] if i == 0 else None,
            )
            bottom += mean.loc[(algo, delta), c]
        ticks.append(f"{ALGO_NAME.get(algo, algo)}\nδ={delta:g}")
    ax.set_xticks(range(len(ticks)), ticks, fontsize=7)
    ax.set_ylabel("share of grid points")
    ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1, 0.5))
    return fig


def fig_qp_by_coherence(analyses: list[tuple[str, dict[str, Any]]]) -> Any:
    """F_QP by |relevant coherence|, mean ± SEM over networks, RL vs SL (target 4)."""
    per: dict[str, list[pd.Series]] = {}
    for algo, s in analyses:
        by = s.get("frac_qp_by_abs_coherence")
        if by:
            per.setdefault(algo, []).append(pd.Series(by).rename(float))
    if not per:
        return None
    fig, axes = new_figure(4.2, 2.8)
    ax = axes[0, 0]
    for algo in ALGOS:
        if algo not in per:
            continue
        frame = pd.concat(per[algo], axis=1).sort_index()
        sem = (
            frame.std(axis=1, ddof=1) / np.sqrt(frame.shape[1])
            if frame.shape[1] > 1
            else 0 * frame.mean(axis=1)
        )
        ax.errorbar(
            frame.index,
            frame.mean(axis=1),
            yerr=sem.fillna(0),
            color=ALGO_COLOR[algo],
            marker=ALGO_MARKER[algo],
            ls=ALGO_LINE[algo],
            capsize=3,
            label=f"{ALGO_NAME[algo]} (n = {frame.shape[1]})",
        )
    ax.set_xlabel("|relevant coherence| (%)")
    ax.set_ylabel("F_QP at that |coherence|")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7)
    return fig


def fig_fqp_performance(sweep: SweepFiles) -> Any:
    """F_QP against accuracy and updates to criterion, one dot per network (claim 6)."""
    done = sweep.done
    cols = [c for c in ("accuracy", "updates_to_criterion") if c in done]
    if done.empty or "frac_qp" not in done or not cols:
        return None
    fig, axes = new_figure(7.0, 2.6, ncols=len(cols), sharey=True)
    for ax, col in zip(axes[0], cols, strict=True):
        for algo in ALGOS:
            sub = done[done["algo"] == algo]
            ax.plot(
                sub[col],
                sub["frac_qp"],
                ALGO_MARKER[algo],
                color=ALGO_COLOR[algo],
                mfc="none",
                label=ALGO_NAME[algo],
            )
        ax.set_xlabel(
            {"accuracy": "final held-out accuracy", "updates_to_criterion": "updates to criterion"}[
                col
            ]
        )
    axes[0, 0].set_ylabel("F_QP (post-criterion mean)")
    axes[0, 0].legend(fontsize=7)
    return fig


SCORE_NAME: dict[str, str] = {
    "balance_index": "balance index B",
    "robust_ablate_random": "robustness:\nrandom ablation",
    "robust_ablate_targeted": "robustness:\ntargeted ablation",
    "robust_weight_noise": "robustness:\nweight noise",
    "robust_state_noise": "robustness:\nstate noise",
    "selective_context": "selective units:\ncontext",
    "selective_choice": "selective units:\nchoice",
    "analysed_accuracy": "mean accuracy\n(fresh trials)",
    "analysed_accuracy_min": "lowest accuracy\n(fresh trials)",
    "n_checkpoints_excluded": "checkpoints left out\n(below min_accuracy)",
}
"""Readable panel titles of the per-network score columns; others are spelled from the name."""
SCORE_COLUMNS = 4
"""Panels per row of :func:`fig_metric_strips`."""


def score_name(column: str) -> str:
    """A readable, two-line title for a results column (``robust_weight_noise`` →
    "robustness: weight noise")."""
    if column in SCORE_NAME:
        return SCORE_NAME[column]
    head, _, rest = column.partition("_")
    return f"{head}:\n{rest.replace('_', ' ')}" if rest else head


def fig_metric_strips(sweep: SweepFiles, columns: list[str], ylabel: str = "") -> Any:
    """One strip plot per column (RL vs SL against δ), for the optional per-network scores,
    at most :data:`SCORE_COLUMNS` panels a row, each titled by :func:`score_name`."""
    done = sweep.done
    cols = [c for c in columns if c in done and done[c].notna().any()]
    if not cols:
        return None
    ncols = min(len(cols), SCORE_COLUMNS)
    nrows = -(-len(cols) // ncols)
    fig, axes = new_figure(2.6 * ncols, 2.7 * nrows, ncols=ncols, nrows=nrows)
    flat = list(axes.reshape(-1))
    for ax, col in zip(flat, cols, strict=False):
        _strip(ax, done, col)
        ax.set_ylabel(ylabel)
        ax.set_title(score_name(col), fontsize=8)
    for ax in flat[len(cols) :]:
        ax.set_visible(False)
    _algo_legend(fig)
    return fig


def fig_analysed_accuracy(sweep: SweepFiles, min_accuracy: float | None = None) -> Any:
    """Fresh-trial accuracy of the analysed checkpoints per network, RL vs SL side by side
    against δ: mean, lowest, and checkpoints left out (below ``min_accuracy``)."""
    cols = ["analysed_accuracy", "analysed_accuracy_min", "n_checkpoints_excluded"]
    fig = fig_metric_strips(sweep, cols)
    if fig is None:
        return None
    if min_accuracy is not None:
        for ax in fig.axes[:2]:
            if ax.get_visible():
                ax.axhline(min_accuracy, color="0.4", lw=0.8, ls=":")
    return fig
