"""Per-network figures, each drawn from a run directory's files only (one or more runs side by
side, RL and SL in their house colours). Every function returns a matplotlib Figure, or None
when the data it needs is not there (the caller then says "not computed")."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.patches import Patch, Rectangle

from cogdyn.report.data import Run
from cogdyn.report.style import (
    ALGO_COLOR,
    ALGO_LINE,
    ALGO_MARKER,
    LABEL_COLOR,
    LABEL_HATCH,
    LABEL_NAME,
    LABEL_ORDER,
    OKABE_ITO,
    new_figure,
)

PERIODS = ("fixation", "stimulus", "delay", "decision")
CHOICE_COLOR = {1: OKABE_ITO["orange"], 2: OKABE_ITO["sky_blue"]}


def algo_of(run: Run) -> str:
    """The paradigm of a run, from its results row."""
    return str(run.row.get("algo", "sl"))


def _duration(spec: Any) -> tuple[float, str]:
    """(duration drawn, its description) of a period from config.json."""
    if isinstance(spec, dict):
        lo, hi = spec.get("min"), spec.get("max")
        mean = spec.get("mean", spec.get("value", lo if lo is not None else 0.0))
        if lo is not None and hi is not None:
            return float(mean if mean is not None else (lo + hi) / 2), f"{lo:g}–{hi:g} ms"
        return float(mean or 0.0), f"{mean:g} ms"
    return float(spec), f"{float(spec):g} ms"


def fig_trial_structure(task: dict[str, Any]) -> Any:
    """Fig. 1a analog: the periods of a trial and what each input channel does in them."""
    if not all(p in task for p in PERIODS):
        return None
    fig, axes = new_figure(7.0, 2.4)
    ax = axes[0, 0]
    edges = [0.0]
    for p in PERIODS:
        edges.append(edges[-1] + _duration(task[p])[0])
    shades = {"fixation": "0.95", "stimulus": "0.85", "delay": "0.93", "decision": "0.75"}
    for i, p in enumerate(PERIODS):
        ax.axvspan(edges[i], edges[i + 1], color=shades[p], lw=0)
        ax.text(
            (edges[i] + edges[i + 1]) / 2,
            6.9,
            f"{p}\n{_duration(task[p])[1]}",
            ha="center",
            va="bottom",
            fontsize=7,
        )
    rows = [
        ("fixation / go cue", [(edges[0], edges[3], 1.0)]),
        ("modality 1 (noisy)", [(edges[1], edges[2], 0.7)]),
        ("modality 2 (noisy)", [(edges[1], edges[2], 0.4)]),
        ("context cue", [(edges[0], edges[4], 1.0)]),
        ("target: choice", [(edges[3], edges[4], 1.0)]),
    ]
    rng = np.random.default_rng(0)
    t = np.linspace(edges[0], edges[-1], 400)
    for y, (name, spans) in enumerate(reversed(rows)):
        level = np.zeros_like(t)
        for lo, hi, value in spans:
            inside = (t >= lo) & (t <= hi)
            noise = rng.normal(0, 0.06, t.size) if "noisy" in name else 0.0
            level = np.where(inside, value + noise, level)
        ax.plot(t, 1.3 * y + 0.1 + 0.7 * level, color="black", lw=1)
        ax.text(
            -0.01,
            1.3 * y + 0.45,
            name,
            ha="right",
            va="center",
            fontsize=8,
            transform=ax.get_yaxis_transform(),
        )
    ax.set_ylim(-0.2, 8.6)
    ax.set_yticks([])
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel(f"time in trial (ms), dt = {task.get('dt', 100):g} ms; delay drawn at its mean")
    ax.spines["left"].set_visible(False)
    return fig


def fig_output_probabilities(runs: list[Run]) -> Any:
    """Fig. 1c analog: p(choice 1 | a choice is made) over the trial, one line per signed
    relevant coherence; black: p(fixate), averaged over conditions."""
    tables = [(r, r.table("output_probabilities")) for r in runs]
    tables = [(r, t) for r, t in tables if t is not None and not t.empty]
    if not tables:
        return None
    fig, axes = new_figure(
        7.0, 2.3 * len(tables), ncols=2, nrows=len(tables), sharex=True, sharey=True
    )
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("cividis")
    for i, (run, t) in enumerate(tables):
        choice_cols = [c for c in t.columns if c.startswith("p_") and c != "p_0"]
        if "choice" in t:  # more than two choices: p(correct | respond)
            y = np.array([row[f"p_{int(row['choice'])}"] for _, row in t.iterrows()])
            t = t.assign(_y=y / t[choice_cols].sum(axis=1))
        else:
            t = t.assign(_y=t["p_1"] / t[choice_cols].sum(axis=1))
        cohs = sorted(t["coh_relevant"].unique())
        for ctx in (0, 1):
            ax = axes[i, ctx]
            sub = t[t["context"] == ctx]
            _shade_periods(ax, sub)
            for j, c in enumerate(cohs):
                line = sub[sub["coh_relevant"] == c].groupby("time_ms", as_index=False)["_y"].mean()
                ax.plot(
                    line["time_ms"],
                    line["_y"],
                    color=cmap(j / max(len(cohs) - 1, 1)),
                    lw=1.2,
                    label=f"{c:+g} %",
                )
            fix = sub.groupby("time_ms", as_index=False)["p_0"].mean()
            ax.plot(fix["time_ms"], fix["p_0"], color="black", lw=1, ls=":", label="p(fixate)")
            ax.set_ylim(-0.03, 1.03)
            ax.set_title(
                f"{run.short} · context {ctx + 1}", color=ALGO_COLOR.get(algo_of(run), "black")
            )
        axes[i, 0].set_ylabel(
            "p(choice 1 | respond)" if "choice" not in t else "p(correct | respond)"
        )
    for ax in axes[-1]:
        ax.set_xlabel("time in trial (ms); shaded: stimulus, decision")
    axes[0, 1].legend(
        title="relevant coh.",
        fontsize=6,
        title_fontsize=6,
        loc="center left",
        bbox_to_anchor=(1, 0.5),
    )
    return fig


def _shade_periods(ax: Any, sub: pd.DataFrame) -> None:
    if "period" not in sub:
        return
    spans = sub.groupby("period")["time_ms"].agg(["min", "max"])
    dt = float(np.diff(np.unique(sub["time_ms"]))[:1].sum() or 100.0)
    for period, color in (("stimulus", "0.9"), ("decision", "0.78")):
        if period in spans.index:
            ax.axvspan(spans.loc[period, "min"], spans.loc[period, "max"] + dt, color=color, lw=0)


def fig_psychometric(runs: list[Run]) -> Any:
    """Psychometric curves per context: p(choice 1) against each modality's signed coherence;
    the paradigm's line style (RL solid, SL dashed): the relevant modality; dotted: the irrelevant
    one (flat when context is obeyed)."""
    tables = [(r, r.table("psychometric")) for r in runs]
    tables = [
        (r, t) for r, t in tables if t is not None and "p_choice1" in t and "congruent" not in t
    ]
    if not tables:
        return None
    fig, axes = new_figure(7.0, 2.6, ncols=2, sharey=True)
    for run, t in tables:
        a = algo_of(run)
        for ctx in (0, 1):
            ax = axes[0, ctx]
            sub = t[t["context"] == ctx]
            rel, irr = ("coh_mod1", "coh_mod2") if ctx == 0 else ("coh_mod2", "coh_mod1")
            for col, ls, alpha, tag in (
                (rel, ALGO_LINE[a], 1.0, "relevant"),
                (irr, ":", 0.6, "irrelevant"),
            ):
                g = sub.groupby(col).apply(
                    lambda d: np.average(d["p_choice1"], weights=d["n"]), include_groups=False
                )
                ax.plot(
                    g.index,
                    g.values,
                    ls=ls,
                    color=ALGO_COLOR[a],
                    marker=ALGO_MARKER[a],
                    ms=3,
                    alpha=alpha,
                    label=f"{run.label}: {tag}",
                )
            ax.set_title(f"context {ctx + 1} (modality {ctx + 1} relevant)")
            ax.set_xlabel("signed coherence (%), + toward choice 1")
            ax.set_ylim(-0.03, 1.03)
    axes[0, 0].set_ylabel("p(choice 1)")
    axes[0, 1].legend(fontsize=6, loc="upper left")
    return fig


def final_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of the final model (or of the last checkpoint when there is no ``final``)."""
    kinds = table["kind"].astype(str)
    if (kinds == "final").any():
        return table[kinds == "final"]
    return table[table["update"] == table["update"].max()]


def _axis(t: pd.DataFrame, m: int) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """Map positions of modality ``m``'s stimuli: signed coherences as they are; on a ring of
    n ≥ 3 choices, one slot per (direction, strength) — strength 0 first, then each direction's
    strengths in turn — with tick labels ``d<k> <strength>``. (positions, slot values, labels)."""
    if f"choice_mod{m}" not in t:
        return t[f"coh_mod{m}"].to_numpy(dtype=float), np.sort(t["coh_mod1"].unique()), None
    keys = sorted(
        set(zip(t[f"choice_mod{m}"].astype(int), t[f"coh_mod{m}"], strict=True)),
        key=lambda k: (k[1] > 0, k[0], k[1]),
    )
    slot = {k: i for i, k in enumerate(keys)}
    pos = np.array(
        [slot[k] for k in zip(t[f"choice_mod{m}"].astype(int), t[f"coh_mod{m}"], strict=True)],
        dtype=float,
    )
    labels = ["0" if c == 0 else f"d{d} {c:g}" for d, c in keys]
    return pos, np.arange(len(keys), dtype=float), labels


def fig_attractor_map(runs: list[Run]) -> Any:
    """Fig. 2 analog: the attractor reached at every (c₁, c₂) of the census grid, per context,
    from the stimulus-onset state, for the final model of each run. With more than two choices
    each axis lists a modality's (direction, strength) stimuli."""
    maps = [(r, r.table("attractors")) for r in runs]
    maps = [(r, t) for r, t in maps if t is not None and not t.empty]
    if not maps:
        return None
    fig, axes = new_figure(7.0, 3.1 * len(maps), ncols=2, nrows=len(maps))
    seen: set[str] = set()
    for i, (run, t) in enumerate(maps):
        t = final_rows(t)
        t = t[(t["start"] == 0) & (t["phase"].astype(str) == "stimulus")]
        x, cohs, ticks = _axis(t, 1)
        y, _, _ = _axis(t, 2)
        step = float(np.diff(cohs).min()) if len(cohs) > 1 else 1.0
        for ctx in (0, 1):
            ax = axes[i, ctx]
            in_ctx = (t["context"] == ctx).to_numpy()
            sub = t[in_ctx]
            for c1, c2, lab in zip(x[in_ctx], y[in_ctx], sub["label"].astype(str), strict=True):
                seen.add(lab)
                ax.add_patch(
                    Rectangle(
                        (c1 - step / 2, c2 - step / 2),
                        step,
                        step,
                        facecolor=LABEL_COLOR[lab],
                        hatch=LABEL_HATCH[lab],
                        edgecolor="0.35",
                        lw=0.3,
                    )
                )
            lim = (cohs.min() - step / 2, cohs.max() + step / 2) if len(cohs) else (-1, 1)
            ax.set_xlim(lim)
            ax.set_ylim(lim)
            ax.set_aspect("equal")
            qp = float((sub["label"].astype(str) == "quasi_periodic").mean()) if len(sub) else 0.0
            ax.set_title(
                f"{run.label}\ncontext {ctx + 1}: F_QP = {qp:.2f}",
                color=ALGO_COLOR.get(algo_of(run), "black"),
            )
            if ticks is None:
                ax.set_xlabel("modality-1 coherence c₁ (%)")
                ax.set_ylabel("modality-2 coherence c₂ (%)")
            else:
                ax.set_xticks(cohs, ticks, rotation=90, fontsize=5)
                ax.set_yticks(cohs, ticks, fontsize=5)
                ax.set_xlabel("modality-1 stimulus (direction, strength %)")
                ax.set_ylabel("modality-2 stimulus (direction, strength %)")
    handles = [
        Patch(facecolor=LABEL_COLOR[k], hatch=LABEL_HATCH[k], edgecolor="0.35", label=LABEL_NAME[k])
        for k in LABEL_ORDER
        if k in seen
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=max(len(handles), 1), fontsize=7)
    return fig
