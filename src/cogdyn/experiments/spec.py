"""Sweep files: a grid of runs (paradigm × δ × seed × any other settings) with shared settings.

A sweep file is TOML::

    name = "quick"
    [grid]                      # every combination is one cell (one run directory)
    algo = ["sl", "ppo"]
    delta = [0.05, 0.1, 0.2]
    seed = [0, 1, 2, 3, 4]
    dim_ring = [2]              # optional; task complexity
    coherences = [[5, 15, 50]]  # optional; each entry is one coherence set
    "train.lr" = [1e-3, 3e-4]   # optional; any other setting, as a dotted key (below)
    [task] / [model] / [train] / [ppo]   # shared run settings, as in `cogdyn train --config`
    [analysis]                  # `cogdyn analyze` settings for every cell
    checkpoints = "post"
    [analysis.census]           # CensusOptions fields
    [analysis.classify]         # ClassifyOptions fields
    [execution]
    threads = 1                 # torch threads per cell

Everything is validated when the file is loaded: every cell's run config is built, so a bad
value fails before any work starts, with one line naming the field.

Any setting is an axis under a quoted dotted key (:func:`setting_path`): ``"TABLE.FIELD"`` for
the ``task``, ``model``, ``train`` and ``ppo`` tables (``"ppo.entropy_coef"``, ``"task.stimulus"``
with a duration as its values), ``"analysis.FIELD"`` for a plain analysis setting and
``"analysis.census.FIELD"``, ``"analysis.classify.FIELD"``, ``"analysis.population.FIELD"``
for the fields of those tables. A key that names no field is a ConfigError naming
``grid."KEY"`` and the allowed fields; one for a field with a named axis (``"model.delta"``) or
``"train.threads"`` is refused, and a swept field may not also be set in its shared table.
Each cell gets its own :class:`AnalysisSpec` (``Cell.analysis``): ``[analysis]`` with the
cell's swept analysis values over it. Cell ids keep the named part (``ppo-d0.1-s3-r2-c5_15_50``,
unchanged, so old sweep directories resume) and add one ``-KEY_VALUE`` part per dotted axis in
grid order (``-train.lr_0.0003``); the results tables have a column per dotted axis, named by
its key, and the statistics treat it as part of the level (:mod:`cogdyn.experiments.stats`).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import json
import math
import re
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
    ModelConfig,
    PPOConfig,
    RunConfig,
    TaskConfig,
    TrainConfig,
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
"""The named grid axes and the config field each one sets. Any other setting is swept with a
dotted key (:func:`setting_path`)."""
RUN_SECTIONS: dict[str, type] = {
    "task": TaskConfig,
    "model": ModelConfig,
    "train": TrainConfig,
    "ppo": PPOConfig,
}
"""The run-config tables a dotted grid key may name, and their dataclasses."""
ANALYSIS_SETTINGS: tuple[str, ...] = (
    "checkpoints",
    "n_trials",
    "populations",
    "figures",
    "min_accuracy",
)
"""The plain settings of ``[analysis]``."""
ANALYSIS_TABLES: dict[str, type] = {
    "census": CensusOptions,
    "classify": ClassifyOptions,
    "population": PopulationOptions,
}
"""The sub-tables of ``[analysis]`` and the options dataclass of each."""
SETTING_SECTIONS: tuple[str, ...] = (*RUN_SECTIONS, "analysis")
"""The first part of a dotted grid key: the table it sets a field of."""
NOT_SWEPT: dict[tuple[str, str], str] = {
    **{field: f"is the [grid] axis {axis}; write {axis} = [...]" for axis, field in AXES.items()},
    ("train", "threads"): "is set by [execution] threads",
}
"""Fields a dotted grid key may not set, and why."""
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
    """One run of a sweep: its id (also its directory name under ``runs/``), the swept values,
    the complete run config as nested tables and what ``cogdyn analyze`` does for it (the
    sweep's ``[analysis]`` with the cell's swept ``analysis.*`` values)."""

    id: str
    params: dict[str, Any]
    config: dict[str, Any]
    analysis: AnalysisSpec

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

    @property
    def setting_axes(self) -> tuple[str, ...]:
        """The grid's dotted axes (``train.lr``, ``analysis.classify.zero_tol``, ...)."""
        return tuple(a for a in self.grid if is_setting_axis(a))

    def to_json(self) -> dict[str, Any]:
        """The resolved sweep, as written to ``DIR/sweep.json`` (with its ``schema_version``).
        A cell entry holds its own ``analysis`` only when the grid sweeps an analysis setting,
        so the file of any other sweep is what it was before such axes existed."""
        per_cell = any(a.startswith("analysis.") for a in self.setting_axes)
        cells = []
        for c in self.cells:
            entry: dict[str, Any] = {"cell": c.id, "params": c.params, "config": c.config}
            if per_cell:
                entry["analysis"] = c.analysis.to_json()
            cells.append(entry)
        return stamp(
            {
                "name": self.name,
                "description": self.description,
                "grid": self.grid,
                "analysis": self.analysis.to_json(),
                "threads": self.threads,
                "cells": cells,
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


def file_header(
    data: Mapping[str, Any], allowed: Sequence[str], default_name: str
) -> tuple[str, str]:
    """(name, description) of a sweep or study file, after refusing a top-level key not in
    ``allowed`` (one-line ConfigError naming it)."""
    for key in data:
        if key not in allowed:
            raise unknown_key(key, tuple(allowed), "key")
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise ConfigError("name", "must be a non-empty string")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ConfigError("description", "must be a string")
    return name, description


def sweep_from_dict(data: Mapping[str, Any], default_name: str = "sweep") -> Sweep:
    """Validate the tables of a sweep file and expand its grid into cells."""
    name, description = file_header(data, TOP_LEVEL, default_name)
    grid = _grid(data.get("grid"))
    shared = {}
    for k in ("task", "model", "train", "ppo"):
        if k in data:
            if not isinstance(data[k], Mapping):
                raise ConfigError(k, "must be a table")
            shared[k] = dict(data[k])
    swept = {_axis_path(a) for a in grid}
    for section, values in shared.items():
        for key in values:
            if (section, key) in swept:
                raise ConfigError(f"{section}.{key}", "is swept in [grid]; remove it here")
    analysis_table = data.get("analysis", {})
    for path in sorted(p for p in swept if p[0] == "analysis"):
        if _has_path(analysis_table, path[1:]):
            raise ConfigError(".".join(path), "is swept in [grid]; remove it here")
    threads = _execution(data.get("execution", {}))
    runs = _cells(grid, shared, threads)
    analysis = _analysis(analysis_table)
    cells = tuple(_with_analysis(runs, analysis_table, analysis))
    ids = [c.id for c in cells]
    if len(set(ids)) != len(ids):
        raise ConfigError("grid", "two cells share an id; make the grid values distinct")
    _check_analysis_memory(cells)
    _check_analysable(cells)
    return Sweep(
        name=name,
        description=description,
        grid=grid,
        cells=cells,
        analysis=analysis,
        threads=threads,
        source=dict(data),
    )


def is_setting_axis(name: str) -> bool:
    """Whether a grid axis, or a column of the results tables, is a dotted setting such as
    ``train.lr`` or ``analysis.classify.zero_tol`` (rather than a named axis)."""
    return "." in name and name.split(".", 1)[0] in SETTING_SECTIONS


def setting_path(axis: str) -> tuple[str, ...]:
    """The config path a dotted grid key sets: ``"train.lr"`` → ``("train", "lr")``,
    ``"analysis.census.grid"`` → ``("analysis", "census", "grid")``. A key that names no
    setting is a ConfigError naming ``grid."KEY"`` and the allowed fields."""
    where = f'grid."{axis}"'
    parts = axis.split(".")
    section, rest = parts[0], parts[1:]
    if section not in SETTING_SECTIONS:
        raise _unknown(where, section, SETTING_SECTIONS, "table")
    if section == "analysis":
        return _analysis_setting(where, rest)
    names = [f.name for f in dataclasses.fields(RUN_SECTIONS[section])]
    key = rest[0] if rest else ""
    if (section, key) in NOT_SWEPT:
        raise ConfigError(where, NOT_SWEPT[section, key])
    if key not in names:
        allowed = [n for n in names if (section, n) not in NOT_SWEPT]
        raise _unknown(where, key, allowed)
    if len(rest) > 1:
        raise ConfigError(where, f'{section}.{key} is one setting; sweep it as "{section}.{key}"')
    return (section, key)


def _analysis_setting(where: str, rest: list[str]) -> tuple[str, ...]:
    key = rest[0] if rest else ""
    if key not in (*ANALYSIS_SETTINGS, *ANALYSIS_TABLES):
        raise _unknown(where, key, (*ANALYSIS_SETTINGS, *ANALYSIS_TABLES))
    if key in ANALYSIS_SETTINGS:
        if len(rest) > 1:
            raise ConfigError(where, f'analysis.{key} is one setting; sweep it as "analysis.{key}"')
        return ("analysis", key)
    fields = [f.name for f in dataclasses.fields(ANALYSIS_TABLES[key]) if f.name != "classify"]
    name = rest[1] if len(rest) > 1 else ""
    if key == "census" and name == "classify":
        tail = ".".join(rest[2:]) or "FIELD"
        raise ConfigError(where, f'use "analysis.classify.{tail}" (the [analysis.classify] table)')
    if len(rest) == 1:
        raise ConfigError(
            where,
            f'is a table; sweep one of its fields ("analysis.{key}.FIELD"): {", ".join(fields)}',
        )
    if name not in fields:
        raise _unknown(where, name, fields)
    if len(rest) > 2:
        raise ConfigError(where, f"analysis.{key}.{name} is one setting; sweep it as such")
    return ("analysis", key, name)


def _unknown(where: str, key: str, allowed: Sequence[str], what: str = "field") -> ConfigError:
    """:func:`~cogdyn.errors.unknown_key` of ``key`` (its did-you-mean), reported at ``where``."""
    return ConfigError(where, unknown_key(key, allowed, what).message)


def _axis_path(axis: str) -> tuple[str, ...]:
    """The config path an axis sets, named (``delta`` → ``("model", "delta")``) or dotted."""
    return AXES[axis] if axis in AXES else setting_path(axis)


def _has_path(table: Any, path: Sequence[str]) -> bool:
    for key in path:
        if not isinstance(table, Mapping) or key not in table:
            return False
        table = table[key]
    return True


def _nest(path: Sequence[str], value: Any) -> dict[str, Any]:
    """``("census", "grid"), 5`` → ``{"census": {"grid": 5}}``."""
    out: Any = value
    for key in reversed(path):
        out = {key: out}
    return out


def _check_analysable(cells: Sequence[Cell]) -> None:
    """Every cell's analysis must be able to run (:func:`~cogdyn.analysis.run.check_analysis`),
    checked once per distinct task and census before any training; the error names the first
    cell."""
    seen: set[str] = set()
    for cell in cells:
        run = cell.run_config()
        key = repr((run.to_json()["task"], cell.analysis.census))
        if key in seen:
            continue
        seen.add(key)
        try:
            check_analysis(run.task, cell.analysis.census)
        except ConfigError as e:
            raise ConfigError(e.field, f"{e.message} (cell {cell.id})") from None


def _check_analysis_memory(cells: tuple[Cell, ...]) -> None:
    """Refuse, before any cell runs, an analysis whose census or trials would not fit in memory
    for some cell's network."""
    seen = set()
    for cell in cells:
        run = cell.run_config()
        spec = cell.analysis
        key = (run.model.hidden, repr(cell.config["task"]), repr(spec.census), spec.n_trials)
        if key in seen or not run.task.is_ctxdm:
            continue
        seen.add(key)
        check_census_memory(run.model.hidden, spec.census, run.task.dim_ring)
        check_trials_memory(run.task, spec.n_trials, run.model.hidden, "analysis.n_trials")


def _grid(table: Any) -> dict[str, list[Any]]:
    if not isinstance(table, Mapping):
        raise ConfigError("grid", f"a [grid] table is required, with at least {REQUIRED_AXES}")
    for axis in table:
        if axis not in AXES and "." not in axis:
            allowed = [*AXES, '"SECTION.FIELD" (any setting, e.g. "train.lr")']
            raise unknown_key(f"grid.{axis}", allowed, "axis")
        if axis not in AXES:
            setting_path(axis)
    for axis in REQUIRED_AXES:
        if axis not in table:
            raise ConfigError(f"grid.{axis}", "is required (a list of values)")
    grid: dict[str, list[Any]] = {}
    for axis, values in table.items():
        where = f"grid.{axis}" if axis in AXES else f'grid."{axis}"'
        if not isinstance(values, list) or not values:
            raise ConfigError(where, "must be a non-empty list")
        if axis == "coherences":
            values = [list(v) if isinstance(v, list | tuple) else v for v in values]
        if axis in AXES:
            keys = [repr(v) for v in values]
        else:
            keys = [_canonical(where, v) for v in values]
            values = copy.deepcopy(values)
        if len(set(keys)) != len(keys):
            raise ConfigError(where, f"has repeated values: {values}")
        grid[axis] = values
    n_cells = math.prod(len(v) for v in grid.values())
    if n_cells > MAX_CELLS:
        sizes = " × ".join(f"{len(v)} {a}" for a, v in grid.items())
        raise ConfigError("grid", f"has {n_cells} cells ({sizes}); at most {MAX_CELLS}")
    return grid


def _canonical(where: str, value: Any) -> str:
    """A swept setting's value as canonical JSON text (tables with sorted keys); one that JSON
    cannot hold (a TOML date, NaN) is a ConfigError."""
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        raise ConfigError(
            where, f"has a value that is not a number, string, boolean, array or table: {value!r}"
        ) from None


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


MAX_CELL_ID = 160
"""Longest cell id (a directory name) before the swept settings are shortened to a digest."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


def _cell_id(params: Mapping[str, Any]) -> str:
    """The cell's directory name: the named axes as before (``ppo-d0.1-s3-r2-c5_15_50``), then
    one ``-KEY_VALUE`` part per swept setting, in grid order (``-train.lr_0.001``)."""
    parts = [str(params["algo"]), f"d{params['delta']:g}", f"s{params['seed']}"]
    if "dim_ring" in params:
        parts.append(f"r{params['dim_ring']}")
    if "coherences" in params:
        parts.append("c" + "_".join(f"{c:g}" for c in params["coherences"]))
    if "sigma" in params:
        parts.append(f"n{params['sigma']:g}")
    named = "-".join(parts)
    settings = [f"{k}_{_id_token(v)}" for k, v in params.items() if is_setting_axis(k)]
    cell_id = "-".join([named, *settings])
    if len(cell_id) > MAX_CELL_ID:  # many or long values: a digest keeps the name a file name
        text = json.dumps({k: params[k] for k in params if is_setting_axis(k)}, sort_keys=True)
        cell_id = f"{named}-x{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    return cell_id


def _id_token(value: Any) -> str:
    """A swept value as file-name text: ``0.001``, ``true``, ``post``, ``5_15_50``,
    ``distuniform_max1500_min300``; text with other characters, or long, ends in a digest."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = repr(value)
    elif isinstance(value, str):
        text = value
    elif isinstance(value, list):
        text = "_".join(_id_token(v) for v in value)
    else:
        text = "_".join(f"{k}{_id_token(value[k])}" for k in sorted(value))
    safe = _UNSAFE.sub("_", text)
    if safe != text or len(safe) > 40:
        digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:8]
        safe = f"{safe[:24]}~{digest}"
    return safe


def _check_axis_types(params: Mapping[str, Any]) -> None:
    """Grid values that a cell id can be made of (the run config checks their ranges)."""
    for axis, value in params.items():
        if axis not in AXES:
            continue  # a swept setting: any JSON value (checked in _grid), validated by its table
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


@dataclass(frozen=True)
class _RunCell:
    """A cell before its analysis settings are resolved."""

    params: dict[str, Any]
    config: dict[str, Any]
    analysis: dict[str, Any]
    """The cell's swept ``analysis.*`` values, nested as in ``[analysis]``."""
    where: str
    """The cell's grid values, for errors: ``algo=sl, delta=0.1, seed=0, train.lr=0.001``."""


def _cells(grid: dict[str, list[Any]], shared: dict[str, Any], threads: int) -> list[_RunCell]:
    base_task = build_section(type(RunConfig().task), "task", shared.get("task", {}))
    cells: list[_RunCell] = []
    tasks: dict[str, Any] = {}
    axes = list(grid)
    paths = {a: _axis_path(a) for a in axes}
    for combo in itertools.product(*(grid[a] for a in axes)):
        params = dict(zip(axes, combo, strict=True))
        _check_axis_types(params)
        over: dict[str, Any] = {"train": {"threads": threads}}
        analysis: dict[str, Any] = {}
        for axis, value in params.items():
            section, *path = paths[axis]
            if section == "analysis":
                analysis = merge(analysis, _nest(path, value))
            else:
                over = merge(over, {section: _nest(path, value)})
        config = merge(shared, over)
        where = ", ".join(f"{k}={v}" for k, v in params.items())
        try:
            run = run_config_from_dict(config)
            task_key = repr(run.to_json()["task"])  # each task (and its ideal observer) built once
            if task_key not in tasks:
                tasks[task_key] = make_task(run.task)
            tasks[task_key].check_target(run.train.target_accuracy)
            check_run_config(run)  # the [ppo] table (for SL cells too) and the memory estimate
        except ConfigError as e:
            raise ConfigError(e.field, f"{e.message} (cell {where})") from None
        if run.task.is_ctxdm:
            params.setdefault("dim_ring", base_task.dim_ring)
            params.setdefault("coherences", list(base_task.coherences))
            params["coherences"] = [float(c) for c in params["coherences"]]
        else:
            params["task"] = run.task.name
        cells.append(_RunCell(params, run.to_json(), analysis, where))
    return cells


def _with_analysis(
    runs: Sequence[_RunCell], table: Mapping[str, Any], base: AnalysisSpec
) -> list[Cell]:
    """The cells, each with its analysis: ``base`` unless the grid sweeps analysis settings,
    then ``[analysis]`` with the cell's values over it (each distinct one validated once)."""
    specs: dict[str, AnalysisSpec] = {}
    cells = []
    for run in runs:
        spec = base
        if run.analysis:
            key = json.dumps(run.analysis, sort_keys=True)
            if key not in specs:
                try:
                    specs[key] = _analysis(merge(table, run.analysis))
                except ConfigError as e:
                    raise ConfigError(e.field, f"{e.message} (cell {run.where})") from None
            spec = specs[key]
        cells.append(Cell(_cell_id(run.params), run.params, run.config, spec))
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
