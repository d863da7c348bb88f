"""Sweep files: a grid of runs (paradigm × δ × seed × task settings) with shared settings.

A sweep file is TOML::

    name = "quick"
    [grid]                      # every combination is one cell (one run directory)
    algo = ["sl", "ppo"]
    delta = [0.05, 0.1, 0.2]
    seed = [0, 1, 2, 3, 4]
    dim_ring = [2]              # optional; task complexity
    coherences = [[5, 15, 50]]  # optional; each entry is one coherence set
    [task] / [model] / [train] / [ppo]   # shared run settings, as in `cogdyn train --config`
    [analysis]                  # `cogdyn analyze` settings for every cell
    checkpoints = "post"
    [analysis.census]           # CensusOptions fields
    [analysis.classify]         # ClassifyOptions fields
    [execution]
    threads = 1                 # torch threads per cell

Everything is validated when the file is loaded: every cell's run config is built, so a bad
value fails before any work starts, with one line naming the field.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from cogdyn.analysis.census import CensusOptions, check_census_memory
from cogdyn.analysis.run import MIN_ACCURACY, check_analysis
from cogdyn.behaviour import check_trials_memory
from cogdyn.config import (
    MAX_THREADS,
    RunConfig,
    build_section,
    load_toml,
    merge,
    run_config_from_dict,
)
from cogdyn.dynamics.classify import ClassifyOptions
from cogdyn.errors import ConfigError, check_int, finite, require, unknown_key
from cogdyn.populations.options import PopulationOptions
from cogdyn.schema import stamp, unstamp
from cogdyn.tasks.registry import make_task
from cogdyn.train.run import check_run_config

PRESETS: tuple[str, ...] = ("quick", "paper", "neurogym-pdm")
"""Sweep files shipped with cogdyn (``cogdyn/experiments/presets/NAME.toml``)."""
AXES: dict[str, tuple[str, str]] = {
    "algo": ("train", "algo"),
    "delta": ("model", "delta"),
    "seed": ("train", "seed"),
    "dim_ring": ("task", "dim_ring"),
    "coherences": ("task", "coherences"),
    "sigma": ("task", "sigma"),
}
"""Grid axes and the config field each one sets."""
REQUIRED_AXES: tuple[str, ...] = ("algo", "delta", "seed")
TOP_LEVEL: tuple[str, ...] = (
    "name",
    "description",
    "grid",
    "task",
    "model",
    "train",
    "ppo",
    "analysis",
    "execution",
)
CHECKPOINT_SETS: tuple[str, ...] = ("post", "final", "all")
MAX_CELLS = 100_000
"""Most cells a sweep may have (a grid beyond it is a typo, not a study)."""


@dataclass(frozen=True)
class AnalysisSpec:
    """What ``cogdyn analyze`` does for every cell."""

    checkpoints: str = "post"
    n_trials: int = 500
    census: CensusOptions = dataclasses.field(default_factory=CensusOptions)
    populations: bool = True
    population: PopulationOptions = dataclasses.field(default_factory=PopulationOptions)
    figures: bool = False
    """Cache every network's figure data (``cogdyn plot``) after its analysis; by default only
    the networks the report shows get it, when the report is built."""
    min_accuracy: float = MIN_ACCURACY
    """Fresh-trial accuracy a checkpoint needs to enter the headline numbers
    (:data:`~cogdyn.analysis.run.MIN_ACCURACY`)."""

    def to_json(self) -> dict[str, Any]:
        """The settings as plain JSON values (census and classify options as tables)."""
        census = self.census.to_json()
        classify = census.pop("classify")
        return {
            "checkpoints": self.checkpoints,
            "n_trials": self.n_trials,
            "census": census,
            "classify": classify,
            "populations": self.populations,
            "population": dataclasses.asdict(self.population),
            "figures": self.figures,
            "min_accuracy": self.min_accuracy,
        }


@dataclass(frozen=True)
class Cell:
    """One run of a sweep: its id (also its directory name under ``runs/``), the swept values
    and the complete run config as nested tables."""

    id: str
    params: dict[str, Any]
    config: dict[str, Any]

    def run_config(self) -> RunConfig:
        """The cell's validated :class:`RunConfig`."""
        return run_config_from_dict(self.config)


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: cells in grid order, the analysis and the execution settings."""

    name: str
    description: str
    grid: dict[str, list[Any]]
    cells: tuple[Cell, ...]
    analysis: AnalysisSpec
    threads: int
    source: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The resolved sweep, as written to ``DIR/sweep.json`` (with its ``schema_version``)."""
        return stamp(
            {
                "name": self.name,
                "description": self.description,
                "grid": self.grid,
                "analysis": self.analysis.to_json(),
                "threads": self.threads,
                "cells": [
                    {"cell": c.id, "params": c.params, "config": c.config} for c in self.cells
                ],
                "source": self.source,
            }
        )

    def cell(self, cell_id: str) -> Cell:
        """The cell with id ``cell_id`` (KeyError if the sweep has none)."""
        for c in self.cells:
            if c.id == cell_id:
                return c
        raise KeyError(f"no cell {cell_id!r} in sweep {self.name!r}")


def preset_path(name: str) -> Path:
    """The TOML file of a shipped preset."""
    if name not in PRESETS:
        raise ConfigError("preset", f"must be one of {', '.join(PRESETS)}, got {name!r}")
    return Path(str(resources.files("cogdyn.experiments") / "presets" / f"{name}.toml"))


def load_sweep(file_or_preset: str | Path) -> Sweep:
    """Load and validate a sweep from a TOML file or a preset name (``quick``, ``paper``)."""
    text = str(file_or_preset)
    path = preset_path(text) if text in PRESETS and not Path(text).exists() else Path(text)
    if not path.is_file():
        raise ConfigError(
            "sweep", f"no such file or preset: {text} (presets: {', '.join(PRESETS)})"
        )
    return sweep_from_dict(load_toml(path, "sweep"), default_name=path.stem)


def sweep_from_dict(data: Mapping[str, Any], default_name: str = "sweep") -> Sweep:
    """Validate the tables of a sweep file and expand its grid into cells."""
    for key in data:
        if key not in TOP_LEVEL:
            raise unknown_key(key, TOP_LEVEL, "key")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise ConfigError("name", "must be a non-empty string")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError("description", "must be a string")
    grid = _grid(data.get("grid"))
    shared = {}
    for k in ("task", "model", "train", "ppo"):
        if k in data:
            if not isinstance(data[k], Mapping):
                raise ConfigError(k, "must be a table")
            shared[k] = dict(data[k])
    for section, values in shared.items():
        for key in values:
            if any(AXES[a] == (section, key) for a in grid):
                raise ConfigError(f"{section}.{key}", "is swept in [grid]; remove it here")
    threads = _execution(data.get("execution", {}))
    cells = tuple(_cells(grid, shared, threads))
    analysis = _analysis(data.get("analysis", {}))
    _check_analysis_memory(cells, analysis)
    _check_analysable(cells, analysis)
    return Sweep(
        name=name,
        description=description,
        grid=grid,
        cells=cells,
        analysis=analysis,
        threads=threads,
        source=dict(data),
    )


def _check_analysable(cells: Sequence[Cell], analysis: AnalysisSpec) -> None:
    """Every cell's analysis must be able to run (:func:`~cogdyn.analysis.run.check_analysis`),
    checked once per distinct task before any training; the error names the first cell."""
    seen: set[str] = set()
    for cell in cells:
        run = cell.run_config()
        key = repr(run.to_json()["task"])
        if key in seen:
            continue
        seen.add(key)
        try:
            check_analysis(run.task, analysis.census)
        except ConfigError as e:
            raise ConfigError(e.field, f"{e.message} (cell {cell.id})") from None


def _check_analysis_memory(cells: tuple[Cell, ...], analysis: AnalysisSpec) -> None:
    """Refuse, before any cell runs, an analysis whose census or trials would not fit in memory
    for some cell's network."""
    seen = set()
    for cell in cells:
        run = cell.run_config()
        key = (run.model.hidden, repr(cell.config["task"]))
        if key in seen or not run.task.is_ctxdm:
            continue
        seen.add(key)
        check_census_memory(run.model.hidden, analysis.census, run.task.dim_ring)
        check_trials_memory(run.task, analysis.n_trials, run.model.hidden, "analysis.n_trials")


def _grid(table: Any) -> dict[str, list[Any]]:
    if not isinstance(table, Mapping):
        raise ConfigError("grid", f"a [grid] table is required, with at least {REQUIRED_AXES}")
    for axis in table:
        if axis not in AXES:
            raise unknown_key(f"grid.{axis}", AXES, "axis")
    for axis in REQUIRED_AXES:
        if axis not in table:
            raise ConfigError(f"grid.{axis}", "is required (a list of values)")
    grid: dict[str, list[Any]] = {}
    for axis, values in table.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"grid.{axis}", "must be a non-empty list")
        if axis == "coherences":
            values = [list(v) if isinstance(v, list | tuple) else v for v in values]
        keys = [repr(v) for v in values]
        if len(set(keys)) != len(keys):
            raise ConfigError(f"grid.{axis}", f"has repeated values: {values}")
        grid[axis] = values
    n_cells = math.prod(len(v) for v in grid.values())
    if n_cells > MAX_CELLS:
        sizes = " × ".join(f"{len(v)} {a}" for a, v in grid.items())
        raise ConfigError("grid", f"has {n_cells} cells ({sizes}); at most {MAX_CELLS}")
    return grid


def _execution(table: Any) -> int:
    if not isinstance(table, Mapping):
        raise ConfigError("execution", "must be a table")
    for key in table:
        if key != "threads":
            raise unknown_key(f"execution.{key}", ["threads"])
    threads = table.get("threads", 1)
    check_int("execution.threads", threads, 1)
    if threads > MAX_THREADS:
        raise ConfigError("execution.threads", f"must be at most {MAX_THREADS}, got {threads}")
    return threads


def _cell_id(params: Mapping[str, Any]) -> str:
    parts = [str(params["algo"]), f"d{params['delta']:g}", f"s{params['seed']}"]
    if "dim_ring" in params:
        parts.append(f"r{params['dim_ring']}")
    if "coherences" in params:
        parts.append("c" + "_".join(f"{c:g}" for c in params["coherences"]))
    if "sigma" in params:
        parts.append(f"n{params['sigma']:g}")
    return "-".join(parts)


def _check_axis_types(params: Mapping[str, Any]) -> None:
    """Grid values that a cell id can be made of (the run config checks their ranges)."""
    for axis, value in params.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if axis == "algo":
            ok = isinstance(value, str)
        elif axis == "coherences":
            ok = isinstance(value, list) and all(
                isinstance(c, int | float) and not isinstance(c, bool) for c in value
            )
        elif axis in ("seed", "dim_ring"):
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = number
        if not ok:
            raise ConfigError(f"grid.{axis}", f"has a value of the wrong type: {value!r}")


def _cells(grid: dict[str, list[Any]], shared: dict[str, Any], threads: int) -> list[Cell]:
    base_task = build_section(type(RunConfig().task), "task", shared.get("task", {}))
    cells: list[Cell] = []
    tasks: dict[str, Any] = {}
    axes = list(grid)
    for combo in itertools.product(*(grid[a] for a in axes)):
        params = dict(zip(axes, combo, strict=True))
        _check_axis_types(params)
        over: dict[str, dict[str, Any]] = {"train": {"threads": threads}}
        for axis, value in params.items():
            section, key = AXES[axis]
            over.setdefault(section, {})[key] = value
        config = merge(shared, over)
        try:
            run = run_config_from_dict(config)
            task_key = repr(run.to_json()["task"])  # each task (and its ideal observer) built once
            if task_key not in tasks:
                tasks[task_key] = make_task(run.task)
            tasks[task_key].check_target(run.train.target_accuracy)
            check_run_config(run)  # the [ppo] table (for SL cells too) and the memory estimate
        except ConfigError as e:
            where = ", ".join(f"{k}={v}" for k, v in params.items())
            raise ConfigError(e.field, f"{e.message} (cell {where})") from None
        if run.task.is_ctxdm:
            params.setdefault("dim_ring", base_task.dim_ring)
            params.setdefault("coherences", list(base_task.coherences))
            params["coherences"] = [float(c) for c in params["coherences"]]
        else:
            params["task"] = run.task.name
        cells.append(Cell(_cell_id(params), params, run.to_json()))
    ids = [c.id for c in cells]
    if len(set(ids)) != len(ids):
        raise ConfigError("grid", "two cells share an id; make the grid values distinct")
    return cells


def _analysis(table: Any) -> AnalysisSpec:
    if not isinstance(table, Mapping):
        raise ConfigError("analysis", "must be a table")
    allowed = ("checkpoints", "n_trials", "census", "classify", "populations", "population")
    allowed += ("figures", "min_accuracy")
    for key in table:
        if key not in allowed:
            raise unknown_key(f"analysis.{key}", allowed)
    checkpoints = table.get("checkpoints", "post")
    if checkpoints not in CHECKPOINT_SETS:
        raise ConfigError("analysis.checkpoints", f"must be one of {', '.join(CHECKPOINT_SETS)}")
    n_trials = table.get("n_trials", 500)
    check_int("analysis.n_trials", n_trials, 1)
    classify = _options(ClassifyOptions, "analysis.classify", table.get("classify", {}))
    census_table = table.get("census", {})
    if not isinstance(census_table, Mapping):
        raise ConfigError("analysis.census", "must be a table")
    census_table = dict(census_table)
    if "classify" in census_table:
        raise ConfigError("analysis.census.classify", "use the [analysis.classify] table")
    census = _options(CensusOptions, "analysis.census", {**census_table, "classify": classify})
    flags = {}
    for key, default in (("populations", True), ("figures", False)):
        flags[key] = table.get(key, default)
        if not isinstance(flags[key], bool):
            raise ConfigError(f"analysis.{key}", "must be true or false")
    population = _options(PopulationOptions, "analysis.population", table.get("population", {}))
    min_accuracy = table.get("min_accuracy", MIN_ACCURACY)
    require(
        finite(min_accuracy) and 0 <= min_accuracy <= 1,
        "analysis.min_accuracy",
        f"must be a number in [0, 1], got {min_accuracy!r}",
    )
    return AnalysisSpec(
        checkpoints,
        n_trials,
        census,
        population=population,
        min_accuracy=float(min_accuracy),
        **flags,
    )


def _options(cls: type, section: str, values: Any) -> Any:
    """Build an options dataclass whose own validation raises ValueError or ConfigError."""
    if not isinstance(values, Mapping):
        raise ConfigError(section, "must be a table")
    fields = [f.name for f in dataclasses.fields(cls)]
    for key in values:
        if key not in fields:
            raise unknown_key(f"{section}.{key}", fields)
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    try:
        return cls(**kwargs)
    except ConfigError as e:
        raise ConfigError(f"analysis.{e.field}", e.message) from None
    except (TypeError, ValueError, OverflowError) as e:
        raise ConfigError(section, str(e)) from None


def sweep_from_json(data: Mapping[str, Any], where: str = "sweep.json") -> Sweep:
    """Rebuild a sweep from its ``sweep.json`` (the resolved source is re-validated, so fields
    added to cogdyn since it was written take their defaults)."""
    if not isinstance(data, Mapping):
        raise ConfigError(where, "must be a JSON object (a sweep written by `cogdyn sweep`)")
    data = unstamp(data, where)
    source, name = data.get("source"), data.get("name")
    if not isinstance(source, Mapping) or not isinstance(name, str):
        raise ConfigError(where, "has no sweep source (not written by `cogdyn sweep`)")
    return sweep_from_dict(source, default_name=name)


def analysis_from_json(data: Any) -> AnalysisSpec:
    """The :class:`AnalysisSpec` of a resolved ``analysis`` table (``sweep.json``), fields it
    lacks at their defaults."""
    return _analysis(data)
