"""The Python API: what the command line does, as functions that return objects.

``import cogdyn`` gives these names (loaded on first use, so ``import cogdyn`` stays light):

* :func:`train` — train one network (``cogdyn train``) → :class:`Run`;
* :func:`analyze` — census, fixed points and populations of a run (``cogdyn analyze``) → the
  same :class:`Run`, its tables now readable;
* :func:`sweep` — train and analyse every cell of a sweep (``cogdyn sweep``) → :class:`Sweep`;
* :func:`load_run`, :func:`load_sweep` — open a run or sweep directory that exists;
* :func:`sweep_table` — one analysis table concatenated over all cells of a sweep, each cell's
  parameters as columns (also :meth:`Sweep.table`).

A :class:`Run` reads its directory lazily: ``.config`` (:class:`~cogdyn.config.RunConfig`),
``.model`` (the network, in eval mode), ``.metrics`` (the training curve, pandas), ``.summary``
(training's ``summary.json``), ``.analysis`` (``analysis/summary.json``), ``.table("attractors")``
(any ``analysis/*.parquet``, pandas), and shows itself as a table in a notebook
(``_repr_html_``). Everything is files underneath: the CLI and the API read and write the same
run directories.

``cogdyn.train`` is also the training subpackage; calling it is this module's :func:`train`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from cogdyn import io
from cogdyn.analysis.census import CensusOptions, attractor_census
from cogdyn.analysis.evaluation import evaluate_run
from cogdyn.analysis.figure_data import has_figure_data, write_figure_data
from cogdyn.analysis.run import analyze_run
from cogdyn.config import RunConfig, load_toml, merge, run_config_from_dict
from cogdyn.dynamics.classify import ClassifyOptions
from cogdyn.experiments.results import read_results, table_params, text_axes
from cogdyn.experiments.spec import Sweep as SweepSpec
from cogdyn.experiments.spec import load_sweep as load_sweep_spec
from cogdyn.experiments.spec import sweep_from_dict
from cogdyn.experiments.sweep import run_sweep
from cogdyn.populations.options import PopulationOptions
from cogdyn.report import plot_run
from cogdyn.tasks import make_task
from cogdyn.train.run import train as train_run

__all__ = ["Run", "Sweep", "analyze", "load_run", "load_sweep", "sweep", "sweep_table", "train"]


# ---------------------------------------------------------------------- Run
class Run:
    """One run directory (trained by cogdyn, or imported by :mod:`cogdyn.interop`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not (self.path / io.CONFIG_FILE).is_file():
            raise FileNotFoundError(f"{self.path} is not a run directory (no {io.CONFIG_FILE})")

    # ------------------------------------------------------------------ files
    @cached_property
    def config(self) -> RunConfig:
        """The run's configuration (``config.json``)."""
        return run_config_from_dict(io.read_json(self.path / io.CONFIG_FILE))

    @cached_property
    def model(self) -> Any:
        """The final network (``model.safetensors``), in eval mode."""
        return self.checkpoint(io.MODEL_FILE)

    def checkpoint(self, file: str) -> Any:
        """The network of a weights file of the run, e.g.
        ``checkpoints/update_0000100.safetensors`` (``summary["checkpoints"]`` lists them)."""
        model = io.load_model(self.path / file)
        model.eval()
        return model

    @property
    def task(self) -> Any:
        """The run's task (trial source), built from its config."""
        return make_task(self.config.task)

    @property
    def metrics(self) -> pd.DataFrame:
        """The training curve (``metrics.csv``: one row per evaluation); empty for an
        imported network."""
        path = self.path / io.METRICS_FILE
        if not path.is_file() or path.stat().st_size == 0:
            return pd.DataFrame()
        return pd.read_csv(path)

    @property
    def summary(self) -> dict[str, Any]:
        """Training's ``summary.json`` (empty while training has not finished)."""
        path = self.path / io.SUMMARY_FILE
        return io.read_json(path) if path.is_file() else {}

    @property
    def analysis(self) -> dict[str, Any] | None:
        """``analysis/summary.json`` of ``cogdyn analyze`` (None before the analysis)."""
        path = self.path / io.ANALYSIS_DIR / io.SUMMARY_FILE
        return io.read_json(path) if path.is_file() else None

    @property
    def tables(self) -> list[str]:
        """Names of the analysis tables present (``attractors``, ``fixed_points``, …)."""
        folder = self.path / io.ANALYSIS_DIR
        return sorted(p.stem for p in folder.glob("*.parquet")) if folder.is_dir() else []

    def table(self, name: str) -> pd.DataFrame:
        """The analysis table ``name`` (``analysis/<name>.parquet``) as a DataFrame."""
        path = io.analysis_file(self.path, name)
        if not path.is_file():
            have = ", ".join(self.tables) or "none (run cogdyn.analyze(run) first)"
            raise FileNotFoundError(f"{self.path} has no analysis table {name!r}; tables: {have}")
        return pd.read_parquet(path)

    # ------------------------------------------------------------------ actions
    def analyze(self, **options: Any) -> Run:
        """:func:`analyze` this run (same keywords); returns it."""
        return analyze(self, **options)

    def evaluate(self, *, n_trials: int = 2000, seed: int = 12345) -> dict[str, Any]:
        """``cogdyn eval``: accuracy, psychometric table and output probabilities on fresh
        trials (written to ``eval/``); the summary, with the files."""
        return evaluate_run(self.path, n_trials=n_trials, seed=seed)

    def census(
        self,
        options: CensusOptions | None = None,
        *,
        model: Any = None,
        **overrides: Any,
    ) -> pd.DataFrame:
        """The attractor census of the final network (or ``model``), computed now and not
        written: :func:`~cogdyn.analysis.census.attractor_census` with ``options`` and keyword
        ``overrides`` of :class:`~cogdyn.analysis.census.CensusOptions` (e.g. ``grid=5``;
        ``classify`` may be a dict of :class:`~cogdyn.dynamics.classify.ClassifyOptions`)."""
        classify = overrides.get("classify")
        if isinstance(classify, Mapping):
            overrides["classify"] = ClassifyOptions(**classify)
        return attractor_census(model or self.model, self.task, options, **overrides)

    def plot(
        self, out: str | Path | None = None, formats: tuple[str, ...] = ("png", "svg")
    ) -> list[Path]:
        """``cogdyn plot``: the per-network figures (figure data computed first if missing)."""
        if not has_figure_data(self.path):
            write_figure_data(self.path)
        return plot_run(self.path, out_dir=out, formats=formats)

    # ------------------------------------------------------------------ display
    def facts(self) -> dict[str, Any]:
        """The numbers a notebook shows of this run (also its ``_repr_html_``)."""
        s = self.summary
        source = s.get("source") if isinstance(s.get("source"), dict) else None
        facts: dict[str, Any] = {"path": str(self.path)}
        if source:
            facts["network"] = f"imported {source.get('arch')} from {source.get('from')}"
        facts.update(
            {
                "algo": s.get("algo", self.config.train.algo),
                "hidden": s.get("hidden", self.config.model.hidden),
                "delta": s.get("delta"),
                "seed": s.get("seed"),
                "accuracy": s.get("accuracy"),
                "reached criterion": s.get("reached_criterion"),
                "updates": s.get("updates"),
            }
        )
        a = self.analysis
        if a is not None:
            fq = a.get("frac_qp") or {}
            facts["F_QP (headline)"] = fq.get("mean")
            facts["F_QP (final)"] = a.get("frac_qp_final")
            counts = a.get("label_counts_final") or {}
            facts["labels (final)"] = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        facts["tables"] = ", ".join(self.tables) or "not analysed"
        return facts

    def _repr_html_(self) -> str:
        return _html_table(f"cogdyn run {self.path.name}", self.facts())

    def __repr__(self) -> str:
        s = self.summary
        return (
            f"Run({str(self.path)!r}: {s.get('algo', '?')}, accuracy "
            f"{_fmt(s.get('accuracy'))}, tables {self.tables or 'none'})"
        )


# ---------------------------------------------------------------------- Sweep
class Sweep:
    """One sweep directory (``cogdyn sweep``): its cells, results and per-cell runs."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not (self.path / io.SWEEP_FILE).is_file():
            raise FileNotFoundError(f"{self.path} is not a sweep directory (no {io.SWEEP_FILE})")

    @cached_property
    def config(self) -> dict[str, Any]:
        """The resolved sweep (``sweep.json``): name, grid, analysis settings, cells."""
        return io.read_json(self.path / io.SWEEP_FILE)

    @property
    def name(self) -> str:
        """The sweep's name."""
        return str(self.config.get("name", self.path.name))

    @property
    def cells(self) -> list[str]:
        """Cell ids, in grid order."""
        return [c["cell"] for c in self.config["cells"]]

    @property
    def params(self) -> pd.DataFrame:
        """One row per cell: ``cell`` and its swept parameters (coherences as text)."""
        grid = self.config.get("grid", {})
        rows = [{"cell": c["cell"], **_params(c, grid)} for c in self.config["cells"]]
        return pd.DataFrame(rows)

    @property
    def results(self) -> pd.DataFrame:
        """``results.parquet``: one row per cell (status, training and headline numbers)."""
        return read_results(self.path)

    @property
    def summary(self) -> dict[str, Any]:
        """The statistics (``stats.json``; empty before the sweep ends)."""
        path = self.path / io.STATS_FILE
        return io.read_json(path) if path.is_file() else {}

    @property
    def metrics(self) -> pd.DataFrame:
        """Every cell's training curve, concatenated, the cell's parameters in front."""
        grid = self.config.get("grid", {})
        params = {c["cell"]: _params(c, grid) for c in self.config["cells"]}
        parts = [
            _with_params(metrics, cell, params[cell])
            for cell, run in self._runs().items()
            if not (metrics := run.metrics).empty
        ]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def run(self, cell: str) -> Run:
        """The :class:`Run` of one cell."""
        if cell not in self.cells:
            raise KeyError(f"no cell {cell!r} in sweep {self.name!r}")
        return Run(self.path / io.RUNS_DIR / cell)

    @property
    def runs(self) -> dict[str, Run]:
        """The runs that exist (cells started), by cell id."""
        return {cell: run for cell, run in self._runs().items()}

    def model(self, cell: str) -> Any:
        """The final network of one cell."""
        return self.run(cell).model

    def _runs(self) -> dict[str, Run]:
        out = {}
        for c in self.config["cells"]:
            path = self.path / io.RUNS_DIR / c["cell"]
            if (path / io.CONFIG_FILE).is_file():
                out[c["cell"]] = Run(path)
        return out

    def table(self, name: str) -> pd.DataFrame:
        """:func:`sweep_table`: the analysis table ``name`` of every analysed cell, concatenated,
        with ``cell`` and the cell's parameters as the first columns."""
        return sweep_table(self.path, name)

    def facts(self) -> dict[str, Any]:
        """The numbers a notebook shows of this sweep (also its ``_repr_html_``)."""
        status: dict[str, int] = {}
        if (self.path / io.RESULTS_FILE).is_file():
            status = self.results["status"].value_counts().to_dict()
        facts: dict[str, Any] = {
            "path": str(self.path),
            "cells": len(self.cells),
            "grid": ", ".join(f"{k} {v}" for k, v in self.config.get("grid", {}).items()),
            "status": ", ".join(f"{k} {v}" for k, v in status.items()) or "not run",
        }
        for g in self.summary.get("groups", []):
            key = f"F_QP δ={g.get('delta')}"
            facts[key] = (
                f"ppo {_fmt(g['ppo'].get('frac_qp_mean'))}, sl {_fmt(g['sl'].get('frac_qp_mean'))}"
            )
        return facts

    def _repr_html_(self) -> str:
        return _html_table(f"cogdyn sweep {self.name}", self.facts())

    def __repr__(self) -> str:
        return f"Sweep({str(self.path)!r}: {self.name}, {len(self.cells)} cells)"


def _params(cell: Mapping[str, Any], grid: Mapping[str, Any]) -> dict[str, Any]:
    """A cell's swept values as the results table writes them (a swept dict or list setting as
    its JSON text, not a raw object in a column)."""
    return table_params(dict(cell.get("params", {})), text_axes(dict(grid)))


def _with_params(frame: pd.DataFrame, cell: str, params: Mapping[str, Any] | None = None) -> Any:
    front = pd.DataFrame({"cell": [cell] * len(frame)})
    for k, v in (params or {}).items():
        front[k] = [v] * len(frame)
    return pd.concat([front, frame.reset_index(drop=True)], axis=1)


def sweep_table(sweep_dir: str | Path, name: str) -> pd.DataFrame:
    """The analysis table ``name`` (``attractors``, ``fixed_points``, ``information``, …) of every
    cell of a sweep that has it, concatenated in grid order, with ``cell`` and the cell's swept
    parameters (``algo``, ``delta``, ``seed``, …) as the first columns — one DataFrame to group
    by paradigm, δ or seed. FileNotFoundError (one line) when no cell has the table."""
    sw = Sweep(sweep_dir)
    parts = []
    for c in sw.config["cells"]:
        path = io.analysis_file(sw.path / io.RUNS_DIR / c["cell"], name)
        if path.is_file():
            grid = sw.config.get("grid", {})
            parts.append(_with_params(pd.read_parquet(path), c["cell"], _params(c, grid)))
    if not parts:
        raise FileNotFoundError(f"no cell of {sw.path} has the analysis table {name!r}")
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------- functions
def load_run(path: str | Path) -> Run:
    """Open a run directory (``cogdyn train``, a sweep cell, an import, an example's path)."""
    return Run(path)


def load_sweep(path: str | Path) -> Sweep:
    """Open a sweep directory written by ``cogdyn sweep`` (or :func:`sweep`)."""
    return Sweep(path)


def train(
    config: RunConfig | Mapping[str, Any] | str | Path | None = None,
    out: str | Path | None = None,
    *,
    progress: bool | None = False,
    resume: bool = False,
    overwrite: bool = False,
    tensorboard: str | Path | None = None,
    **sections: Mapping[str, Any],
) -> Run:
    """Train one network, as ``cogdyn train``; returns its :class:`Run`.

    Args:
        config: a :class:`~cogdyn.config.RunConfig`, nested tables (``{"model": {...}}``), a
            TOML file, or None for the defaults.
        out: the run directory (default ``runs/ALGO-dDELTA-sSEED``, as the CLI).
        progress: show a progress bar (default off; None: when stderr is a terminal).
        resume: continue an interrupted run in ``out``.
        overwrite: replace a non-empty ``out`` (otherwise it must be empty, or ``resume``).
        tensorboard: also log every evaluation to this TensorBoard directory.
        sections: tables merged over ``config``, e.g. ``train={"algo": "ppo"}``,
            ``model={"hidden": 64}``, ``ppo={...}``.

    Example:
        >>> run = cogdyn.train(model={"hidden": 64}, train={"algo": "sl", "max_updates": 200})
    """
    if isinstance(config, RunConfig):
        base: dict[str, Any] = config.to_json()
    elif isinstance(config, str | Path):
        base = load_toml(config)
    else:
        base = dict(config or {})
    cfg = run_config_from_dict(merge(base, {k: dict(v) for k, v in sections.items()}))
    path = Path(out or f"runs/{cfg.train.algo}-d{cfg.model.delta:g}-s{cfg.train.seed}")
    if path.exists() and any(path.iterdir()) and not resume:
        if not overwrite:
            raise FileExistsError(f"{path} is not empty; choose another folder or overwrite=True")
        import shutil

        shutil.rmtree(path)
    train_run(cfg, path, progress=progress, resume=resume, tensorboard=tensorboard)
    return Run(path)


def analyze(
    run: Run | str | Path,
    *,
    checkpoints: str = "post",
    grid: int = 21,
    phase: str = "stimulus",
    starts: int = 2,
    census: CensusOptions | None = None,
    classify: ClassifyOptions | Mapping[str, Any] | None = None,
    populations: bool = True,
    population_options: PopulationOptions | Mapping[str, Any] | None = None,
    n_trials: int = 500,
    seed: int = 0,
    threads: int | None = None,
    progress: bool | None = False,
    min_accuracy: float | None = None,
) -> Run:
    """``cogdyn analyze``: census, fixed points and populations of a run; returns the
    :class:`Run` (its tables are then in ``run.table(...)``).

    ``grid``, ``phase`` and ``starts`` are the CLI's flags; ``census`` (a
    :class:`~cogdyn.analysis.census.CensusOptions`) replaces all three, ``classify`` sets the
    classification's lengths and tolerances, ``population_options`` those of the population
    analyses (an options object or a dict of its fields). The rest as
    :func:`~cogdyn.analysis.run.analyze_run`.
    """
    target = run if isinstance(run, Run) else Run(run)
    if isinstance(classify, Mapping):
        classify = ClassifyOptions(**classify)
    if census is None:
        census = CensusOptions(grid=grid, phase=phase, extra_starts=starts)
    if classify is not None:
        census = CensusOptions(**{**_fields(census), "classify": classify})
    if isinstance(population_options, Mapping):
        population_options = PopulationOptions(**population_options)
    extra = {} if min_accuracy is None else {"min_accuracy": min_accuracy}
    analyze_run(
        target.path,
        checkpoints=checkpoints,
        census=census,
        n_trials=n_trials,
        seed=seed,
        threads=threads,
        progress=progress,
        populations=populations,
        population_options=population_options,
        **extra,
    )
    return target


def _fields(options: CensusOptions) -> dict[str, Any]:
    import dataclasses

    return {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}


def sweep(
    spec: SweepSpec | Mapping[str, Any] | str | Path,
    out: str | Path,
    *,
    workers: int | None = None,
    executor: str = "local",
    address: str | None = None,
    retry_failed: bool = True,
    progress: bool | None = False,
) -> Sweep:
    """``cogdyn sweep``: train and analyse every cell of a sweep (a TOML file, a preset name
    such as ``quick``, the tables of one as a dict, or a loaded spec) into ``out``; a rerun
    resumes. Returns the :class:`Sweep`."""
    if isinstance(spec, SweepSpec):
        resolved = spec
    elif isinstance(spec, Mapping):
        resolved = sweep_from_dict(spec)
    else:
        resolved = load_sweep_spec(spec)
    run_sweep(
        resolved,
        out,
        workers=workers,
        executor=executor,
        address=address,
        retry_failed=retry_failed,
        progress=progress,
    )
    return Sweep(out)


# ---------------------------------------------------------------------- display helpers
def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "n/a" if value is None else str(value)


def _html_table(title: str, facts: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
        f"<td style='text-align:left'>{html.escape(_fmt(v))}</td></tr>"
        for k, v in facts.items()
    )
    return f"<table><caption>{html.escape(title)}</caption>{rows}</table>"
