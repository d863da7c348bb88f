"""Population, robustness, information and crystallisation figures of the representative
networks (Fig. 4–6 analogs), from ``analysis/{populations,robustness,information,
crystallisation,crystallisation_training}.parquet`` and the weights file. Each returns a Figure,
or None when its table (or a column it needs) is missing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cogdyn import io
from cogdyn.errors import ConfigError
from cogdyn.report.data import Run
from cogdyn.report.run_figures import algo_of, final_rows
from cogdyn.report.style import ALGO_COLOR, ALGO_LINE, ALGO_MARKER, new_figure


def _tables(runs: list[Run], name: str, cols: set[str]) -> list[tuple[Run, pd.DataFrame]]:
    out = []
    for r in runs:
        t = r.table(name)
        if t is not None and not t.empty and cols <= set(t.columns):
            out.append((r, final_rows(t) if "kind" in t else t))
    return out


def fig_group_sizes(runs: list[Run]) -> Any:
    """Units per population group (G+, G−, Ga, Gs; final model), RL vs SL."""
    data = _tables(runs, "populations", {"group"})
    if not data:
        return None
    groups = sorted(set().union(*(set(t["group"].astype(str)) for _, t in data)))
    fig, axes = new_figure(4.6, 2.6)
    ax = axes[0, 0]
    width = 0.8 / len(data)
    for i, (run, t) in enumerate(data):
        counts = t["group"].astype(str).value_counts()
        a = algo_of(run)
        ax.bar(
            np.arange(len(groups)) + i * width,
            [counts.get(g, 0) for g in groups],
            width,
            color=ALGO_COLOR[a],
            hatch="" if a == "ppo" else "//",
            edgecolor="white",
            label=run.short,
        )
    ax.set_xticks(np.arange(len(groups)) + width * (len(data) - 1) / 2, groups)
    ax.set_ylabel("units in group")
    ax.set_xlabel("population (activity in the two decision attractors)")
    ax.legend(fontsize=7)
    return fig


def fig_sorted_weights(runs: list[Run]) -> Any:
    """The recurrent weight matrix W with units sorted by population (Fig. 4 analog)."""
    data = []
    for run, table in _tables(runs, "populations", {"unit", "group", "sort_position"}):
        try:
            state, _ = io.load_state(run.path / io.MODEL_FILE)
        except (OSError, ConfigError):  # missing or unreadable weights: no panel
            continue
        w = state.get("weight_hh_l0")
        t = table.sort_values("sort_position")
        order = t["unit"].to_numpy()
        if w is None or sorted(order.tolist()) != list(range(w.shape[0])):
            continue  # a table that does not describe these weights
        data.append((run, t, order, w.double().numpy()))
    if not data:
        return None
    fig, axes = new_figure(3.6 * len(data), 3.4, ncols=len(data))
    for ax, (run, t, order, w) in zip(axes[0], data, strict=True):
        lim = float(np.abs(w).max()) or 1.0
        im = ax.imshow(
            w[np.ix_(order, order)], cmap="PuOr_r", vmin=-lim, vmax=lim, interpolation="nearest"
        )
        groups = t["group"].astype(str).to_numpy()
        edges = [i for i in range(1, len(groups)) if groups[i] != groups[i - 1]]
        for e in edges:
            ax.axhline(e - 0.5, color="black", lw=0.6)
            ax.axvline(e - 0.5, color="black", lw=0.6)
        starts = [0, *edges]
        ax.set_xticks(starts, [groups[s] for s in starts], fontsize=7)
        ax.set_yticks(starts, [groups[s] for s in starts], fontsize=7)
        ax.set_xlabel("presynaptic unit (sorted by group)")
        ax.set_ylabel("postsynaptic unit")
        ax.set_title(run.short, color=ALGO_COLOR[algo_of(run)])
        fig.colorbar(im, ax=ax, shrink=0.7, label="weight W_ij")
    return fig


def fig_robustness(runs: list[Run]) -> Any:
    """Accuracy under damage (Fig. 4 analog): mean over draws against the damage level, one
    panel per kind of damage, RL vs SL."""
    data = _tables(runs, "robustness", {"damage", "level", "damaged_accuracy"})
    if not data:
        return None
    kinds = list(dict.fromkeys(k for _, t in data for k in t["damage"].astype(str)))
    ncols = min(len(kinds), 5)
    fig, axes = new_figure(min(2.3 * ncols, 9.5), 2.5, ncols=ncols, sharey=True)
    for ax, kind in zip(axes[0], kinds[:ncols], strict=False):
        for run, t in data:
            a = algo_of(run)
            g = t[t["damage"].astype(str) == kind].groupby("level")["damaged_accuracy"].mean()
            ax.plot(
                g.index,
                g.values,
                color=ALGO_COLOR[a],
                ls=ALGO_LINE[a],
                marker=ALGO_MARKER[a],
                ms=3,
                label=run.short,
            )
        ax.set_title(kind.replace("_", " "))
    axes[0, 0].set_ylabel("accuracy")
    axes[0, 0].legend(fontsize=6)
    fig.supxlabel("damage level (fraction of units ablated, or noise s.d.)", fontsize=8)
    return fig


def fig_selectivity(runs: list[Run]) -> Any:
    """Fraction of units whose activity carries significant information about each task
    variable, per trial period (Fig. 5 analog)."""
    data = _tables(runs, "information", {"period", "variable", "selective"})
    if not data:
        return None
    periods = list(dict.fromkeys(p for _, t in data for p in t["period"].astype(str)))
    fig, axes = new_figure(min(2.4 * len(periods), 9.5), 2.8, ncols=len(periods), sharey=True)
    for ax, period in zip(axes[0], periods, strict=True):
        variables = sorted(set().union(*(set(t["variable"].astype(str)) for _, t in data)))
        width = 0.8 / len(data)
        for i, (run, t) in enumerate(data):
            sub = t[t["period"].astype(str) == period]
            frac = sub.groupby(sub["variable"].astype(str))["selective"].mean()
            a = algo_of(run)
            ax.bar(
                np.arange(len(variables)) + i * width,
                [frac.get(v, 0.0) for v in variables],
                width,
                color=ALGO_COLOR[a],
                hatch="" if a == "ppo" else "//",
                edgecolor="white",
                label=run.short,
            )
        ax.set_xticks(
            np.arange(len(variables)) + width * (len(data) - 1) / 2,
            variables,
            rotation=60,
            fontsize=6,
            ha="right",
        )
        ax.set_title(period)
        ax.set_ylim(0, 1)
    axes[0, 0].set_ylabel("selective units (fraction)")
    axes[0, 0].legend(fontsize=6)
    return fig


def fig_crystallisation(runs: list[Run]) -> Any:
    """Crystallisation: within a trial, the cross-validated decoding accuracy of the upcoming
    choice from h_t (chance dotted); over training, the turnover of group membership and the
    balance index per checkpoint (Fig. 6 analog)."""
    within = _tables(runs, "crystallisation", {"step", "decoder_accuracy"})
    over = [
        (r, t)
        for r in runs
        if (t := r.table("crystallisation_training")) is not None and not t.empty
    ]
    if not within and not over:
        return None
    fig, axes = new_figure(7.0, 2.6, ncols=2)
    for run, t in within:
        a = algo_of(run)
        align = t["align"].astype(str).iloc[0] if "align" in t else ""
        sub = t[t["align"].astype(str) == align] if "align" in t else t
        ax = axes[0, 0]
        ax.plot(
            sub["step"],
            sub["decoder_accuracy"],
            color=ALGO_COLOR[a],
            ls=ALGO_LINE[a],
            marker=ALGO_MARKER[a],
            ms=3,
            label=run.short,
        )
        if "chance" in sub:
            ax.plot(sub["step"], sub["chance"], ":", color="0.4", lw=1)
        ax.set_xlabel(f"time step (aligned to {align or 'trial start'})")
    axes[0, 0].set_ylabel("choice decoding accuracy")
    for run, t in over:
        a = algo_of(run)
        if "kind" in t:  # the final model repeats a checkpoint's weights: drawn once
            t = t[t["kind"].astype(str) != "final"]
        for col, mk in (("turnover", ALGO_MARKER[a]), ("balance_index", "^")):
            if col in t:
                axes[0, 1].plot(
                    t["update"],
                    t[col],
                    color=ALGO_COLOR[a],
                    ls=ALGO_LINE[a] if col == "turnover" else ":",
                    marker=mk,
                    ms=3,
                    label=f"{run.short}: {col}",
                )
    axes[0, 1].set_xscale("symlog", linthresh=1)
    axes[0, 1].set_xlabel("training update (symlog)")
    axes[0, 1].set_ylabel("group turnover / balance index")
    for ax in axes[0]:
        if ax.lines:
            ax.legend(fontsize=6)
    return fig
