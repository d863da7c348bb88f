"""``cogdyn plot RUN_DIR``: per-network figures as PNG and SVG, drawn from the run's files.

The figures that need the network itself read its figure data
(:mod:`cogdyn.analysis.figure_data`, ``RUN/analysis/figdata/``); ``cogdyn plot`` computes it
first when it is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cogdyn import io
from cogdyn.report import dyn_figures as df
from cogdyn.report import run_figures as rf
from cogdyn.report.data import Run
from cogdyn.report.style import save_figure


def plot_run(
    run_dir: str | Path,
    out_dir: str | Path | None = None,
    formats: tuple[str, ...] | list[str] = ("png", "svg"),
) -> list[Path]:
    """Write the per-network figures of a run as ``out_dir/<name>.<fmt>``, from its files.

    The figures that need the network read its figure data
    (:func:`~cogdyn.analysis.figure_data.write_figure_data`, which ``cogdyn plot`` runs first
    when it is missing); the analysis figures (attractor map, training, basins) need
    ``cogdyn analyze`` first. A figure whose data are missing is skipped. ``out_dir`` defaults
    to ``RUN/figures``.

    Returns:
        The files written.
    """
    run_dir = Path(run_dir)
    fmts = tuple(f.strip().lower() for f in formats if f.strip())
    bad = [f for f in fmts if f not in ("png", "svg", "pdf")]
    if bad or not fmts:
        raise ValueError(f"formats must be among png, svg, pdf; got {', '.join(formats)}")
    run = Run(path=run_dir, row=_row(run_dir))
    out = Path(out_dir) if out_dir is not None else run_dir / io.FIGURES_DIR
    written: list[Path] = []
    config = run.json(io.CONFIG_FILE) or {}
    figures = {
        "trial_structure": rf.fig_trial_structure(config.get("task", {})),
        "output_probabilities": rf.fig_output_probabilities([run]),
        "psychometric": rf.fig_psychometric([run]),
        "attractor_map": rf.fig_attractor_map([run]),
        "phase_portrait": df.fig_phase_portrait([run]),
        "training": df.fig_training([run]),
        "basins": df.fig_basins([run]),
    }
    for name, fig in figures.items():
        if fig is not None:
            written += save_figure(fig, out / name, fmts)
    return written


def _row(run_dir: Path) -> dict[str, Any]:
    """The results-table fields of a lone run, from its ``summary.json``."""
    s = io.read_json(run_dir / io.SUMMARY_FILE) if (run_dir / io.SUMMARY_FILE).is_file() else {}
    return {k: s.get(k) for k in ("algo", "delta", "seed", "dim_ring")}
