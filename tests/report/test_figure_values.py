"""What the report's figures draw, checked value by value against the files they are drawn from.

Every test pulls numbers out of a returned matplotlib Figure (line data, bar heights, errorbar
segments, scatter offsets, image arrays) and compares them with the column of ``results.parquet``,
``stats.json``, ``metrics.csv``, ``analysis/summary.json`` or an ``analysis/*.parquet`` table it
came from. Where the tiny runs' real values cannot tell columns, paradigms or checkpoints apart
(untrained networks: accuracy 0 everywhere), the test first writes distinctive hand-made values
into its own copy of the file (``sweep_dir`` is fresh per test; ``tiny_runs`` is only read).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from fake_sweep import SEEDS, fqp
from matplotlib.colors import same_color
from matplotlib.patches import Rectangle

from cogdyn import io
from cogdyn.config import ALGOS
from cogdyn.report import dyn_figures as dfig
from cogdyn.report import figures as sfig
from cogdyn.report import pop_figures as pfig
from cogdyn.report import run_figures as rfig
from cogdyn.report.data import Run, read_sweep
from cogdyn.report.figures import score_name
from cogdyn.report.similarity_figure import fig_similarity, mds_figure
from cogdyn.report.style import (
    ALGO_COLOR,
    ALGO_LINE,
    ALGO_MARKER,
    ALGO_NAME,
    LABEL_COLOR,
    LABEL_ORDER,
)

pytestmark = pytest.mark.usefixtures("one_thread")

ORDER = ("sl", "ppo")
"""Runs are passed SL first (the figures' own order is RL first), so a figure that mixed up
which run is which, or assumed the display order, draws the other paradigm's values."""


@contextmanager
def drawn(fig: Any) -> Iterator[Any]:
    """The figure (which must have been drawn), closed afterwards whatever the test does."""
    assert fig is not None, "the figure function returned None"
    try:
        yield fig
    finally:
        plt.close(fig)


def make_runs(root: Path) -> list[Run]:
    """The two tiny runs under ``root`` (``root/sl``, ``root/ppo``), SL first."""
    return [Run(path=root / a, row={"algo": a, "delta": 0.2, "seed": 0}) for a in ORDER]


def final(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["kind"].astype(str) == "final"]


def bar_heights(patches: list[Any]) -> np.ndarray:
    return np.array([p.get_height() for p in patches])


def bar_centres(patches: list[Any]) -> np.ndarray:
    return np.array([p.get_x() + p.get_width() / 2 for p in patches])


def y_of(lines: list[Any]) -> list[np.ndarray]:
    return [np.asarray(line.get_ydata(), dtype=float) for line in lines]


def differ(a: Any, b: Any) -> bool:
    """Whether two arrays of values differ (the check can then tell them apart)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape != b.shape or not np.allclose(a, b, equal_nan=True)


# ---------------------------------------------------------------------------------------------
# figures.py: sweep-level figures, from results.parquet and stats.json
# ---------------------------------------------------------------------------------------------


def distinct_results(sweep_dir: Path) -> pd.DataFrame:
    """Give every row of ``results.parquet`` its own accuracy, cost and optional score (in the
    fake sweep RL and SL share them) and return the finished rows as written."""
    path = sweep_dir / io.RESULTS_FILE
    res = pd.read_parquet(path)
    n = len(res)
    res["accuracy"] = np.linspace(0.50, 0.99, n)
    res["updates_to_criterion"] = 10.0 + 7.0 * np.arange(n)
    res["env_steps_to_criterion"] = 1000.0 + 300.0 * np.arange(n) ** 1.5
    res["frac_qp_bounded"] = res["frac_qp"] / 2 + 0.01 * np.arange(n)
    res["balance_index"] = np.cos(np.arange(n))
    res["robust_ablate_Gs"] = np.where(np.arange(n) % 4 == 0, np.nan, 0.3 + 0.02 * np.arange(n))
    res["robust_never"] = np.nan
    res.to_parquet(path)
    done = res[res["status"] == "done"]
    for col in ("accuracy", "updates_to_criterion", "balance_index"):
        assert differ(
            done.loc[done["algo"] == "ppo", col].mean(), done.loc[done["algo"] == "sl", col].mean()
        )
    return done


def check_strips(ax: Any, done: pd.DataFrame, col: str) -> None:
    """``_strip``: per paradigm (RL then SL) and δ, one dot per network at its column value and
    a bar at their mean, RL left of SL at each δ."""
    dots = [line for line in ax.lines if line.get_marker() not in ("None", None, "")]
    expected = []
    for k, algo in enumerate(ALGOS):
        sub = done[done["algo"] == algo]
        for i, (_, g) in enumerate(sub.groupby("delta")):
            vals = g[col].dropna().to_numpy()
            if len(vals):
                expected.append((k, algo, i, vals))
    assert len(dots) == len(expected), col
    for line, (k, algo, i, vals) in zip(dots, expected, strict=True):
        assert line.get_marker() == ALGO_MARKER[algo]
        assert same_color(line.get_color(), ALGO_COLOR[algo])
        np.testing.assert_allclose(line.get_ydata(), vals)
        assert np.mean(line.get_xdata()) == pytest.approx(i + (k - 0.5) * 0.35)
    means = [seg[0][1] for c in ax.collections for seg in c.get_segments()]
    np.testing.assert_allclose(means, [v.mean() for *_, v in expected])


def test_performance_strips_are_results_columns(sweep_dir: Path) -> None:
    done = distinct_results(sweep_dir)
    sweep = read_sweep(sweep_dir)
    cols = ("accuracy", "updates_to_criterion", "env_steps_to_criterion")
    with drawn(sfig.fig_performance(sweep, target=0.9)) as fig:
        assert len(fig.axes) == len(cols)
        for ax, col in zip(fig.axes, cols, strict=True):
            check_strips(ax, done, col)
        (target,) = [line for line in fig.axes[0].lines if line.get_marker() == "None"]
        np.testing.assert_allclose(target.get_ydata(), [0.9, 0.9])


def test_fqp_performance_dots_are_results_columns(sweep_dir: Path) -> None:
    done = distinct_results(sweep_dir)
    sweep = read_sweep(sweep_dir)
    with drawn(sfig.fig_fqp_performance(sweep)) as fig:
        for ax, col in zip(fig.axes, ("accuracy", "updates_to_criterion"), strict=True):
            assert len(ax.lines) == len(ALGOS)
            for line, algo in zip(ax.lines, ALGOS, strict=True):
                sub = done[done["algo"] == algo]
                assert line.get_label() == ALGO_NAME[algo]
                np.testing.assert_allclose(line.get_xdata(), sub[col])
                np.testing.assert_allclose(line.get_ydata(), sub["frac_qp"])


def test_metric_strips_are_results_columns(sweep_dir: Path) -> None:
    done = distinct_results(sweep_dir)
    sweep = read_sweep(sweep_dir)
    cols = ["balance_index", "robust_ablate_Gs", "robust_never", "not_a_column"]
    with drawn(sfig.fig_metric_strips(sweep, cols)) as fig:
        visible = [ax for ax in fig.axes if ax.get_visible()]
        assert [ax.get_title() for ax in visible] == [score_name(c) for c in cols[:2]]
        assert score_name("robust_ablate_Gs") == "robust:\nablate Gs"
        for ax, col in zip(visible, cols[:2], strict=True):
            check_strips(ax, done, col)


def test_fqp_delta_errorbars_are_stats_json(sweep_dir: Path) -> None:
    path = sweep_dir / io.STATS_FILE
    stats = json.loads(path.read_text())
    # In the fake sweep the bounded F_QP equals the full one: make them (and the SEMs, the
    # untrained baselines and the p-values) differ, so a swapped key shows.
    for n, g in enumerate(stats["groups"]):
        for algo in ALGOS:
            s = g[algo]
            s["frac_qp_bounded_mean"] = s["frac_qp_mean"] / 2 + 0.05
            s["frac_qp_bounded_sem"] = 0.003 + 0.001 * n
            s["frac_qp_untrained_mean"] = {"ppo": 0.07, "sl": 0.02}[algo] + 0.01 * n
        g["mann_whitney"]["p"] = 0.0123 * (n + 1)
        g["mann_whitney_bounded"]["p"] = 0.456 + 0.1 * n
    path.write_text(json.dumps(stats))
    sweep = read_sweep(sweep_dir)
    done = sweep.done
    groups = sorted(stats["groups"], key=lambda g: g["delta"])
    assert len({(g["dim_ring"], g["coherences"]) for g in groups}) == 1  # one column of panels
    deltas = np.array([g["delta"] for g in groups])
    with drawn(sfig.fig_fqp_delta(sweep)) as fig:
        assert len(fig.axes) == 2  # top: all grid points, bottom: bounded points
        for ax, key, test in zip(
            fig.axes,
            ("frac_qp", "frac_qp_bounded"),
            ("mann_whitney", "mann_whitney_bounded"),
            strict=True,
        ):
            bars = {c.get_label(): c for c in ax.containers}
            assert set(bars) == {ALGO_NAME[a] for a in ALGOS}
            for k, algo in enumerate(ALGOS):
                mean = np.array([g[algo][f"{key}_mean"] for g in groups])
                sem = np.array([g[algo][f"{key}_sem"] for g in groups])
                data_line, _, (bar_lines,) = bars[ALGO_NAME[algo]].lines
                np.testing.assert_allclose(data_line.get_ydata(), mean)
                np.testing.assert_allclose(data_line.get_xdata(), deltas * (1 + (k - 0.5) * 0.04))
                ends = np.array([seg[:, 1] for seg in bar_lines.get_segments()])
                np.testing.assert_allclose(ends, np.c_[mean - sem, mean + sem])
                # every network as a faint dot: its results row
                (faint,) = [
                    line
                    for line in ax.lines
                    if line.get_alpha() == 0.25 and same_color(line.get_color(), ALGO_COLOR[algo])
                ]
                sub = done[done["algo"] == algo]
                np.testing.assert_allclose(faint.get_ydata(), sub[key])
                np.testing.assert_allclose(faint.get_xdata(), sub["delta"] * (1 + (k - 0.5) * 0.04))
                untrained = [
                    line for line in ax.lines if line.get_label() == f"{ALGO_NAME[algo]} untrained"
                ]
                if key == "frac_qp":
                    (base,) = untrained
                    np.testing.assert_allclose(
                        base.get_ydata(), [g[algo]["frac_qp_untrained_mean"] for g in groups]
                    )
                else:
                    assert not untrained
            assert [t.get_text() for t in ax.texts] == [f"p={g[test]['p']:.2g}" for g in groups]
        # RL and SL really differ in the file, so drawing one for the other would fail above
        top = {c.get_label(): c.lines[0].get_ydata() for c in fig.axes[0].containers}
        assert differ(top[ALGO_NAME["ppo"]], top[ALGO_NAME["sl"]])


def test_label_mix_bars_are_label_shares(sweep_dir: Path) -> None:
    sweep = read_sweep(sweep_dir)
    done = sweep.done
    cols = [f"n_{k}" for k in LABEL_ORDER]
    share = done[cols].div(done[cols].sum(axis=1), axis=0)
    share[["algo", "delta"]] = done[["algo", "delta"]]
    expected = share.groupby(["algo", "delta"])[cols].mean()
    # known answer: the fake sweep's F_QP per (algo, δ), averaged over seeds
    for (algo, delta), row in expected.iterrows():
        want = np.mean([fqp(algo, delta, s) for s in SEEDS])
        assert row["n_quasi_periodic"] == pytest.approx(want)
    with drawn(sfig.fig_label_mix(sweep)) as fig:
        ax = fig.axes[0]
        patches = ax.patches
        assert len(patches) == len(expected) * len(cols)
        ticks = [t.get_text() for t in ax.get_xticklabels()]
        for i, ((algo, delta), row) in enumerate(expected.iterrows()):
            assert ticks[i] == f"{ALGO_NAME[algo]}\nδ={delta:g}"
            bottom = 0.0
            for j, c in enumerate(cols):
                p = patches[i * len(cols) + j]
                assert p.get_x() + p.get_width() / 2 == pytest.approx(i)
                assert p.get_height() == pytest.approx(row[c])
                assert p.get_y() == pytest.approx(bottom)
                assert same_color(p.get_facecolor(), LABEL_COLOR[c[2:]])
                bottom += row[c]
            assert bottom == pytest.approx(1.0)


def test_qp_by_coherence_is_mean_and_sem_over_networks() -> None:
    sl = [{"0": 0.10, "25": 0.20, "50": 0.35}, {"0": 0.30, "50": 0.05, "25": 0.40}]
    ppo = [{"50": 0.80, "0": 0.60, "25": 0.70}]
    analyses = [("sl", {"frac_qp_by_abs_coherence": sl[0]}), ("ppo", {"other": 1})]
    analyses += [("ppo", {"frac_qp_by_abs_coherence": ppo[0]})]
    analyses += [("sl", {"frac_qp_by_abs_coherence": sl[1]})]
    cohs = ["0", "25", "50"]
    with drawn(sfig.fig_qp_by_coherence(analyses)) as fig:
        bars = {c.get_label(): c for c in fig.axes[0].containers}
        assert set(bars) == {"RL (PPO) (n = 1)", "SL (n = 2)"}
        for label, nets in (("SL (n = 2)", sl), ("RL (PPO) (n = 1)", ppo)):
            vals = np.array([[net[c] for c in cohs] for net in nets])
            mean = vals.mean(axis=0)
            sem = vals.std(axis=0, ddof=1) / np.sqrt(len(nets)) if len(nets) > 1 else 0 * mean
            data_line, _, (bar_lines,) = bars[label].lines
            np.testing.assert_allclose(np.asarray(data_line.get_xdata(), float), [0, 25, 50])
            np.testing.assert_allclose(np.asarray(data_line.get_ydata(), float), mean)
            ends = np.array([seg[:, 1] for seg in bar_lines.get_segments()])
            np.testing.assert_allclose(ends, np.c_[mean - sem, mean + sem])


# ---------------------------------------------------------------------------------------------
# run_figures.py: per-network figures, from a run directory
# ---------------------------------------------------------------------------------------------


def test_trial_structure_periods_are_config_durations(tiny_runs: dict[str, Path]) -> None:
    task = io.read_json(tiny_runs["sl"] / io.CONFIG_FILE)["task"]
    durations = [
        float(task[p]) if not isinstance(task[p], dict) else float(task[p]["mean"])
        for p in rfig.PERIODS
    ]
    edges = np.concatenate([[0.0], np.cumsum(durations)])
    with drawn(rfig.fig_trial_structure(task)) as fig:
        ax = fig.axes[0]
        spans = [p for p in ax.patches if isinstance(p, Rectangle)]
        np.testing.assert_allclose([p.get_x() for p in spans], edges[:-1])
        np.testing.assert_allclose([p.get_x() + p.get_width() for p in spans], edges[1:])
        # rows bottom-up: target (on in the decision period) ... fixation / go cue (on before it)
        target, fixation = ax.lines[0], ax.lines[-1]
        t = np.asarray(target.get_xdata())
        in_decision = (t >= edges[3]) & (t <= edges[4])
        np.testing.assert_allclose(target.get_ydata(), np.where(in_decision, 0.8, 0.1))
        np.testing.assert_allclose(fixation.get_ydata(), np.where(t <= edges[3], 6.0, 5.3))


def test_output_probabilities_lines_are_figdata(tiny_runs: dict[str, Path]) -> None:
    runs = make_runs(Path(tiny_runs["sl"]).parent)
    tables = [
        pd.read_parquet(r.path / io.ANALYSIS_DIR / io.FIGDATA_DIR / "output_probabilities.parquet")
        for r in runs
    ]
    assert differ(tables[0]["p_1"], tables[1]["p_1"])
    with drawn(rfig.fig_output_probabilities(runs)) as fig:
        axes = np.array(fig.axes).reshape(len(runs), 2)
        for i, t in enumerate(tables):
            assert "choice" not in t
            y = t["p_1"] / (t["p_1"] + t["p_2"])
            cohs = sorted(t["coh_relevant"].unique())
            for ctx in (0, 1):
                ax = axes[i, ctx]
                assert ax.get_title().startswith(runs[i].short)
                assert len(ax.lines) == len(cohs) + 1
                in_ctx = t["context"] == ctx
                for line, c in zip(ax.lines, cohs, strict=False):
                    want = y[in_ctx & (t["coh_relevant"] == c)].groupby(t["time_ms"]).mean()
                    assert line.get_label() == f"{c:+g} %"
                    np.testing.assert_allclose(line.get_xdata(), want.index)
                    np.testing.assert_allclose(line.get_ydata(), want.to_numpy())
                fix = t[in_ctx].groupby("time_ms")["p_0"].mean()
                np.testing.assert_allclose(ax.lines[-1].get_xdata(), fix.index)
                np.testing.assert_allclose(ax.lines[-1].get_ydata(), fix.to_numpy())


def test_psychometric_curves_are_weighted_means(sweep_dir: Path) -> None:
    root = sweep_dir / "runs"
    cohs = [-50.0, -15.0, -5.0, 5.0, 15.0, 50.0]
    tables = []
    for seed, algo in enumerate(ORDER):
        rng = np.random.default_rng(seed)
        grid = pd.MultiIndex.from_product(
            [[0, 1], cohs, cohs], names=["context", "coh_mod1", "coh_mod2"]
        ).to_frame(index=False)
        t = grid.assign(
            n=rng.integers(1, 9, len(grid)),
            accuracy=rng.uniform(size=len(grid)),
            p_choice1=rng.uniform(size=len(grid)),
            fix_break_rate=0.0,
        )
        t.to_parquet(root / algo / io.ANALYSIS_DIR / io.FIGDATA_DIR / "psychometric.parquet")
        tables.append(t)
    runs = make_runs(root)
    with drawn(rfig.fig_psychometric(runs)) as fig:
        for ctx, ax in enumerate(fig.axes):
            rel, irr = ("coh_mod1", "coh_mod2") if ctx == 0 else ("coh_mod2", "coh_mod1")
            assert len(ax.lines) == 2 * len(runs)
            for i, (run, t) in enumerate(zip(runs, tables, strict=True)):
                sub = t[t["context"] == ctx]
                for line, col, ls, tag in (
                    (ax.lines[2 * i], rel, ALGO_LINE[run.row["algo"]], "relevant"),
                    (ax.lines[2 * i + 1], irr, ":", "irrelevant"),
                ):
                    w = sub["n"].groupby(sub[col]).sum()
                    want = (sub["p_choice1"] * sub["n"]).groupby(sub[col]).sum() / w
                    assert line.get_label() == f"{run.label}: {tag}"
                    assert line.get_linestyle() == ls
                    assert same_color(line.get_color(), ALGO_COLOR[run.row["algo"]])
                    np.testing.assert_allclose(line.get_xdata(), want.index)
                    np.testing.assert_allclose(line.get_ydata(), want.to_numpy())


def test_attractor_map_cells_are_final_census_labels(sweep_dir: Path) -> None:
    root = sweep_dir / "runs"
    expected = []
    for algo in ORDER:
        path = root / algo / io.ANALYSIS_DIR / "attractors.parquet"
        t = pd.read_parquet(path)
        c1, c2, ctx = t["coh_mod1"], t["coh_mod2"], t["context"]
        sign = 1 if algo == "sl" else -1
        lab = np.where(
            ctx == 0,
            np.where(sign * (c1 - c2) > 0, "quasi_periodic", "fixed_point"),
            np.where(sign * (c1 + c2) > 0, "periodic", "chaotic"),
        )
        # every checkpoint but the final model is "divergent": drawing one would show
        lab = np.where(t["kind"].astype(str) == "final", lab, "divergent")
        t["label"] = pd.Categorical(lab, categories=t["label"].cat.categories)
        t.to_parquet(path)
        f = final(t)
        f = f[(f["start"] == 0) & (f["phase"].astype(str) == "stimulus")]
        assert len(f) == 2 * 25
        expected.append(f)
    runs = make_runs(root)
    with drawn(rfig.fig_attractor_map(runs)) as fig:
        axes = np.array(fig.axes).reshape(len(runs), 2)
        for i, f in enumerate(expected):
            step = float(np.diff(np.sort(f["coh_mod1"].unique())).min())
            for ctx in (0, 1):
                ax = axes[i, ctx]
                sub = f[f["context"] == ctx]
                want = {
                    (a, b): LABEL_COLOR[lab]
                    for a, b, lab in zip(
                        sub["coh_mod1"], sub["coh_mod2"], sub["label"].astype(str), strict=True
                    )
                }
                got = {
                    (p.get_x() + step / 2, p.get_y() + step / 2): p.get_facecolor()
                    for p in ax.patches
                }
                assert len(ax.patches) == len(sub) and set(got) == set(want)
                for cell, color in want.items():
                    assert same_color(got[cell], color), cell
                qp = (sub["label"].astype(str) == "quasi_periodic").mean()
                assert ax.get_title().endswith(f"F_QP = {qp:.2f}")


# ---------------------------------------------------------------------------------------------
# dyn_figures.py: phase portrait, training, basins
# ---------------------------------------------------------------------------------------------


def test_phase_portrait_draws_trajectories_and_fixed_points(tiny_runs: dict[str, Path]) -> None:
    runs = make_runs(Path(tiny_runs["sl"]).parent)
    with drawn(dfig.fig_phase_portrait(runs)) as fig:
        for ax, run in zip(fig.axes, runs, strict=True):
            traj = run.table("trajectories")
            fps = run.table("fixed_points_pca")
            assert traj is not None and fps is not None
            trials = list(traj.groupby("trial"))
            dec = fps[fps["phase"].astype(str) == "decision"]
            assert len(ax.lines) == 2 * len(trials) + len(dec)
            for j, (_, tr) in enumerate(trials):
                path, end = ax.lines[2 * j], ax.lines[2 * j + 1]
                np.testing.assert_allclose(path.get_xdata(), tr["pc1"])
                np.testing.assert_allclose(path.get_ydata(), tr["pc2"])
                np.testing.assert_allclose(end.get_xdata(), [tr["pc1"].iloc[-1]])
                color = rfig.CHOICE_COLOR.get(int(tr["network_choice"].iloc[0]), "0.6")
                assert same_color(path.get_color(), color)
            for line, (_, p) in zip(ax.lines[2 * len(trials) :], dec.iterrows(), strict=True):
                np.testing.assert_allclose(
                    [*line.get_xdata(), *line.get_ydata()], p[["pc1", "pc2"]].astype(float)
                )


def test_training_curves_are_metrics_and_checkpoints(sweep_dir: Path) -> None:
    root = sweep_dir / "runs"
    metrics, ckpts = [], []
    for off, algo in enumerate(ORDER):
        path = root / algo / io.METRICS_FILE
        m = pd.read_csv(path)
        m["accuracy"] = 0.2 + 0.1 * off + 0.6 * np.arange(len(m)) / len(m)
        m.to_csv(path, index=False)
        metrics.append(m)
        spath = root / algo / io.ANALYSIS_DIR / "summary.json"
        summary = json.loads(spath.read_text())
        for n, c in enumerate(summary["checkpoints"]):
            c["accuracy"] = 0.05 * n + 0.01 * off
            c["census"]["frac_qp"] = 0.03 * n + 0.3 * off
        spath.write_text(json.dumps(summary))
        ck = pd.DataFrame(
            [
                {
                    "update": c["update"],
                    "accuracy": c["accuracy"],
                    "frac_qp": c["census"]["frac_qp"],
                }
                for c in summary["checkpoints"]
                if c["kind"] != "final"
            ]
        ).sort_values("update", kind="stable")
        ckpts.append(ck)
    runs = make_runs(root)
    with drawn(dfig.fig_training(runs)) as fig:
        acc, fqp = fig.axes
        assert len(acc.lines) == 2 * len(runs) and len(fqp.lines) == len(runs)
        for i, (run, m, ck) in enumerate(zip(runs, metrics, ckpts, strict=True)):
            line, marks = acc.lines[2 * i], acc.lines[2 * i + 1]
            assert line.get_label() == run.label
            np.testing.assert_allclose(line.get_xdata(), m["update"])
            np.testing.assert_allclose(line.get_ydata(), m["accuracy"])
            np.testing.assert_allclose(marks.get_xdata(), ck["update"])
            np.testing.assert_allclose(marks.get_ydata(), ck["accuracy"])
            assert fqp.lines[i].get_label() == run.label
            np.testing.assert_allclose(fqp.lines[i].get_xdata(), ck["update"])
            np.testing.assert_allclose(fqp.lines[i].get_ydata(), ck["frac_qp"])


def test_basin_bars_are_agreeing_trial_fractions(tiny_runs: dict[str, Path]) -> None:
    runs = make_runs(Path(tiny_runs["sl"]).parent)
    expected = []
    for run in runs:
        t = final(pd.read_parquet(run.path / io.ANALYSIS_DIR / "basins.parquet"))
        agree = t["n_trials"].where(t["basin_choice"] == t["network_choice"], 0)
        by = [t["phase"].astype(str), t["context"]]
        expected.append((agree.groupby(by).sum() / t["n_trials"].groupby(by).sum()).to_dict())
    assert differ(list(expected[0].values()), list(expected[1].values()))
    with drawn(dfig.fig_basins(runs)) as fig:
        ax = fig.axes[0]
        keys = []
        for label in ax.get_xticklabels():
            phase, ctx = label.get_text().split(", ctx ")
            keys.append((phase, int(ctx) - 1))
        assert set(keys) == set(expected[0])
        width = 0.8 / len(runs)
        patches = ax.patches
        assert len(patches) == len(runs) * len(keys)
        for i, want in enumerate(expected):
            mine = patches[i * len(keys) : (i + 1) * len(keys)]
            at = {
                round(x - i * width): h
                for x, h in zip(bar_centres(mine), bar_heights(mine), strict=True)
            }
            assert [at[j] for j in range(len(keys))] == pytest.approx([want[k] for k in keys])
            for p in mine:
                assert same_color(p.get_facecolor(), ALGO_COLOR[runs[i].row["algo"]])


# ---------------------------------------------------------------------------------------------
# pop_figures.py: populations, weights, robustness, selectivity, crystallisation
# ---------------------------------------------------------------------------------------------


def test_group_sizes_are_final_population_counts(tiny_runs: dict[str, Path]) -> None:
    runs = make_runs(Path(tiny_runs["sl"]).parent)
    counts = [
        final(pd.read_parquet(r.path / io.ANALYSIS_DIR / "populations.parquet"))["group"]
        .astype(str)
        .value_counts()
        for r in runs
    ]
    groups = sorted(set(counts[0].index) | set(counts[1].index))
    want = [[int(c.get(g, 0)) for g in groups] for c in counts]
    assert want[0] != want[1]
    with drawn(pfig.fig_group_sizes(runs)) as fig:
        ax = fig.axes[0]
        assert [t.get_text() for t in ax.get_xticklabels()] == groups
        width = 0.8 / len(runs)
        patches = ax.patches
        assert len(patches) == len(runs) * len(groups)
        for i, run in enumerate(runs):
            mine = patches[i * len(groups) : (i + 1) * len(groups)]
            assert bar_heights(mine).tolist() == want[i]
            np.testing.assert_allclose(bar_centres(mine), np.arange(len(groups)) + i * width)
            assert all(same_color(p.get_facecolor(), ALGO_COLOR[run.row["algo"]]) for p in mine)


def test_sorted_weights_image_is_w_in_population_order(tiny_runs: dict[str, Path]) -> None:
    from safetensors.numpy import load_file

    runs = make_runs(Path(tiny_runs["sl"]).parent)
    with drawn(pfig.fig_sorted_weights(runs)) as fig:
        for ax, run in zip(fig.axes[: len(runs)], runs, strict=True):
            w = load_file(str(run.path / io.MODEL_FILE))["weight_hh_l0"].astype(float)
            pops = final(pd.read_parquet(run.path / io.ANALYSIS_DIR / "populations.parquet"))
            order = pops.sort_values("sort_position")["unit"].to_numpy()
            assert differ(order, np.arange(len(order)))  # sorting matters here
            (image,) = ax.images
            np.testing.assert_allclose(np.asarray(image.get_array()), w[np.ix_(order, order)])
            lim = np.abs(w).max()
            assert image.get_clim() == pytest.approx((-lim, lim))


def test_robustness_lines_are_final_mean_accuracy(sweep_dir: Path) -> None:
    root = sweep_dir / "runs"
    tables = []
    for off, algo in enumerate(ORDER):
        path = root / algo / io.ANALYSIS_DIR / "robustness.parquet"
        t = pd.read_parquet(path)
        kind = t["damage"].astype(str).map({k: j for j, k in enumerate(sorted(set(t["damage"])))})
        value = 0.5 * t["level"] + 0.1 * t["draw"] + 0.03 * kind + 0.2 * off
        t["damaged_accuracy"] = np.where(t["kind"].astype(str) == "final", value, 0.99)
        t.to_parquet(path)
        tables.append(final(t))
    runs = make_runs(root)
    kinds = list(dict.fromkeys(tables[0]["damage"].astype(str)))
    with drawn(pfig.fig_robustness(runs)) as fig:
        assert [ax.get_title() for ax in fig.axes] == [k.replace("_", " ") for k in kinds[:5]]
        for ax, kind in zip(fig.axes, kinds, strict=False):
            assert len(ax.lines) == len(runs)
            for line, run, t in zip(ax.lines, runs, tables, strict=True):
                want = (
                    t[t["damage"].astype(str) == kind].groupby("level")["damaged_accuracy"].mean()
                )
                assert line.get_label() == run.short
                np.testing.assert_allclose(line.get_xdata(), want.index)
                np.testing.assert_allclose(line.get_ydata(), want.to_numpy())


def test_selectivity_bars_are_final_selective_fractions(tiny_runs: dict[str, Path]) -> None:
    runs = make_runs(Path(tiny_runs["sl"]).parent)
    tables = [
        final(pd.read_parquet(r.path / io.ANALYSIS_DIR / "information.parquet")) for r in runs
    ]
    periods = list(dict.fromkeys(tables[0]["period"].astype(str)))
    variables = sorted(
        set(tables[0]["variable"].astype(str)) | set(tables[1]["variable"].astype(str))
    )
    with drawn(pfig.fig_selectivity(runs)) as fig:
        assert [ax.get_title() for ax in fig.axes] == periods
        heights = []
        for ax, period in zip(fig.axes, periods, strict=True):
            assert [t.get_text() for t in ax.get_xticklabels()] == variables
            patches = ax.patches
            assert len(patches) == len(runs) * len(variables)
            for i, t in enumerate(tables):
                sub = t[t["period"].astype(str) == period]
                frac = sub.groupby(sub["variable"].astype(str))["selective"].mean()
                mine = patches[i * len(variables) : (i + 1) * len(variables)]
                np.testing.assert_allclose(bar_heights(mine), [frac.get(v, 0.0) for v in variables])
                heights.append((i, bar_heights(mine)))
        sl = np.concatenate([h for i, h in heights if i == 0])
        ppo = np.concatenate([h for i, h in heights if i == 1])
        assert differ(sl, ppo)


def test_crystallisation_lines_are_decoder_and_turnover(sweep_dir: Path) -> None:
    root = sweep_dir / "runs"
    within = []
    steps = np.arange(-3, 6)
    for off, algo in enumerate(ORDER):
        rows = []
        for kind, update in (("log", 3), ("final", 6)):
            for align in ("stimulus", "decision"):
                for s in steps:
                    acc = 0.5 + 0.04 * s + 0.1 * off + (0.2 if align == "decision" else 0.0)
                    rows.append(
                        {
                            "checkpoint": kind if kind == "final" else f"update_{update:07d}",
                            "kind": kind,
                            "update": update,
                            "accuracy": 0.0,
                            "align": align,
                            "step": int(s),
                            "decoder_accuracy": acc if kind == "final" else 0.99,
                            "chance": 0.5 + 0.01 * off,
                            "mi_mean": 0.0,
                            "mi_max": 0.0,
                            "n_trials": 50,
                        }
                    )
        t = pd.DataFrame(rows)
        t.to_parquet(root / algo / io.ANALYSIS_DIR / "crystallisation.parquet")
        within.append(t[(t["kind"] == "final") & (t["align"] == "stimulus")])
    runs = make_runs(root)
    over = [run.table("crystallisation_training") for run in runs]
    assert over[0] is not None and over[1] is not None
    assert differ(over[0]["turnover"].astype(float), over[1]["turnover"].astype(float))
    with drawn(pfig.fig_crystallisation(runs)) as fig:
        decode, training = fig.axes
        assert len(decode.lines) == 2 * len(runs)
        for i, (run, w) in enumerate(zip(runs, within, strict=True)):
            acc, chance = decode.lines[2 * i], decode.lines[2 * i + 1]
            assert acc.get_label() == run.short
            np.testing.assert_allclose(acc.get_xdata(), w["step"])
            np.testing.assert_allclose(acc.get_ydata(), w["decoder_accuracy"])
            np.testing.assert_allclose(chance.get_ydata(), w["chance"])
        lines = {line.get_label(): line for line in training.lines}
        for run, t in zip(runs, over, strict=True):
            assert (t["kind"].astype(str) == "final").any()
            t = t[t["kind"].astype(str) != "final"]  # the final model's weights, drawn once
            for col in ("turnover", "balance_index"):
                line = lines[f"{run.short}: {col}"]
                np.testing.assert_allclose(line.get_xdata(), t["update"])
                np.testing.assert_allclose(
                    y_of([line])[0], t[col].astype(float).to_numpy(), equal_nan=True
                )


# ---------------------------------------------------------------------------------------------
# similarity_figure.py: the MDS panel
# ---------------------------------------------------------------------------------------------


def hand_made_mds() -> pd.DataFrame:
    rows = []
    for m, method in enumerate(("procrustes", "dsa")):
        for a, algo in enumerate(ORDER):  # SL rows first: the panel draws RL first
            for d, delta in enumerate((0.1, 0.2, 0.4)):
                for seed in (0, 1):
                    x = 1.0 + m + 0.1 * a + 0.01 * d + 0.001 * seed
                    y = -2.0 * x + 0.5 * seed
                    rows.append(
                        {
                            "method": method,
                            "algo": algo,
                            "delta": delta,
                            "seed": seed,
                            "x": x,
                            "y": y,
                        }
                    )
    return pd.DataFrame(rows)


def check_mds(fig: Any, mds: pd.DataFrame) -> None:
    methods = list(dict.fromkeys(mds["method"]))
    size = {0.1: 18.0, 0.2: 38.0, 0.4: 58.0}
    assert [ax.get_title() for ax in fig.axes] == [f"{m} (MDS)" for m in methods]
    for ax, method in zip(fig.axes, methods, strict=True):
        assert len(ax.collections) == len(ALGOS)
        for points, algo in zip(ax.collections, ALGOS, strict=True):
            sub = mds[(mds["method"] == method) & (mds["algo"] == algo)]
            assert points.get_label() == ALGO_NAME[algo]
            np.testing.assert_allclose(points.get_offsets(), sub[["x", "y"]].to_numpy())
            np.testing.assert_allclose(points.get_sizes(), [size[d] for d in sub["delta"]])
            assert same_color(points.get_facecolor()[0][:3], ALGO_COLOR[algo])


def test_mds_figure_points_are_the_mds_table() -> None:
    mds = hand_made_mds()
    with drawn(mds_figure(mds)) as fig:
        check_mds(fig, mds)


def test_fig_similarity_reads_the_sweep_mds_file(sweep_dir: Path) -> None:
    sweep = read_sweep(sweep_dir)
    assert fig_similarity(sweep) is None
    mds = hand_made_mds()
    mds.to_parquet(sweep_dir / io.MDS_FILE)
    with drawn(fig_similarity(sweep)) as fig:
        check_mds(fig, pd.read_parquet(sweep_dir / io.MDS_FILE))
