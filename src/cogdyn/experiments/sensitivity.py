"""Sensitivity studies (``cogdyn sensitivity``): a base study and one-factor variants of it.

cogdyn fills each gap the paper leaves open with a documented choice. A sensitivity study asks
whether the study's verdicts are a finding about RL and SL or about those choices: every variant
is the base with one choice changed, and every variant run is reported.

A sensitivity file is a sweep file (the base; or ``base = "quick"``, a preset or a sweep file
beside it) plus ``[[variant]]`` entries::

    base = "quick"
    [[variant]]
    name = "noise"                  # its directory name: letters, digits, . _ -
    factor = "stimulus noise σ"     # what is varied (the readout groups variants by it)
    value = "0.7"                   # the variant's value, as the readout prints it
    set = { "task.sigma" = 0.7 }    # the change: dotted keys as a sweep's [grid] takes them

A variant's ``set`` keys are the dotted setting keys of a sweep (:func:`~cogdyn.experiments.
spec.setting_path`; also ``task.sigma``, ``task.dim_ring`` and ``task.coherences``) or
``readout.measure``. Its kind follows from them:

* **readout** (``readout.measure`` = ``frac_qp_bounded`` or ``frac_osc``): no cell at all;
  every F_QP reading of the claims (results, statistics) reads that measure of the base's
  networks instead (the denominator: all grid points, bounded ones, or F_osc);
* **analysis** (only ``analysis.*`` keys): the base's trained networks are analysed again;
* **train** (anything else): new cells, trained and analysed; a cell whose training is the
  base cell's (the change is to a setting its paradigm does not read, :data:`UNREAD`) reuses the
  base's network and is only analysed.

Directory layout (every variant is an ordinary sweep directory, so ``cogdyn results``,
``cogdyn report`` and the claims read it unchanged)::

    DIR/sensitivity.json           the resolved study
    DIR/base/                      the base sweep
    DIR/variants/<variant>/        a variant's sweep (analysis and train variants)
    DIR/variants/<v>/runs/<cell>/  a reused network: links to the base run's trained files
                                   (model, config, summary, checkpoints) and its own analysis/

A reused run directory links every file of the base run but ``analysis/`` (and ``eval/``,
``figures/``, the lock): the variant's analysis is written beside the base's, never over it.
Everything resumes: cells and analyses that are done are not redone, a variant's reused cells
run once their base cell is done, and all of it goes through the sweep executors (local or Ray),
one sweep after another (the base first).
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from cogdyn import io
from cogdyn.config import load_toml
from cogdyn.errors import ConfigError, unknown_key
from cogdyn.experiments.cell import DONE, done_seconds, read_record, record_path, run_dir
from cogdyn.experiments.spec import (
    AXES,
    PRESETS,
    SETTING_SECTIONS,
    TOP_LEVEL,
    Cell,
    Sweep,
    file_header,
    load_sweep,
    preset_path,
    setting_path,
    sweep_from_dict,
)
from cogdyn.experiments.sweep import prepare_dir, run_sweep
from cogdyn.io import BASE_DIR, LOCK_FILE, STUDY_FILE, VARIANTS_DIR
from cogdyn.schema import stamp, unstamp

SENSITIVITY_PRESETS: tuple[str, ...] = ("sensitivity",)
"""Sensitivity files shipped with cogdyn (``cogdyn/experiments/presets/NAME.toml``)."""
TRAIN, ANALYSIS, READOUT = "train", "analysis", "readout"
KINDS: tuple[str, ...] = (TRAIN, ANALYSIS, READOUT)
"""Variant kinds: new training, re-analysis of the base's networks, another readout of them."""
READOUT_MEASURES: tuple[str, ...] = ("frac_qp", "frac_qp_bounded", "frac_osc")
"""What ``readout.measure`` may name: F_QP over all grid points (the base), over bounded
points, or F_osc (periodic + quasi-periodic)."""
BASE = "base"
"""The base's name in the readout (no variant may take it)."""
VARIANT_KEYS: tuple[str, ...] = ("name", "factor", "value", "set")
UNREAD: dict[str, tuple[tuple[str, str | None], ...]] = {
    "sl": (("ppo", None),),
    "ppo": (
        ("train", "batch_size"),
        ("train", "decision_weight"),
        ("train", "hold_lr_scale"),
        ("train", "grad_clip"),
    ),
}
"""Settings a paradigm's training does not read (``None``: the whole table): SL never reads
``[ppo]`` (:mod:`cogdyn.train.supervised`); PPO takes only ``lr`` of the SL settings of
``[train]`` (:mod:`cogdyn.train.ppo`). A variant cell that differs from its base cell only in
these reuses the base's trained network."""
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_NOT_LINKED = (io.ANALYSIS_DIR, io.EVAL_DIR, io.FIGURES_DIR, LOCK_FILE)
"""Entries of a base run directory a reused run does not link: its own analysis and output."""
_TASK_AXES = {("task", "sigma"), ("task", "dim_ring"), ("task", "coherences")}
"""Named grid axes a variant may still set (when the base does not sweep them)."""


@dataclass(frozen=True)
class Variant:
    """One variant: the base with the settings ``settings`` changed.

    ``sweep`` is the variant's resolved sweep (None for a readout variant); ``reused`` the ids
    of its cells whose trained network is the base cell's (all of them for an analysis
    variant); ``measure`` the column its readout reads as F_QP."""

    name: str
    factor: str
    value: str
    settings: dict[str, Any]
    kind: str
    sweep: Sweep | None
    reused: tuple[str, ...] = ()
    measure: str = "frac_qp"

    @property
    def trained(self) -> tuple[str, ...]:
        """Ids of the cells this variant trains itself."""
        if self.sweep is None:
            return ()
        return tuple(c.id for c in self.sweep.cells if c.id not in set(self.reused))

    def to_json(self) -> dict[str, Any]:
        """The variant as ``sensitivity.json`` records it."""
        return {
            "name": self.name,
            "factor": self.factor,
            "value": self.value,
            "set": self.settings,
            "kind": self.kind,
            "measure": self.measure,
            "reused": list(self.reused),
            "trained": list(self.trained),
        }


@dataclass(frozen=True)
class Study:
    """A validated sensitivity study: the base sweep and its variants, in file order."""

    name: str
    description: str
    base: Sweep
    variants: tuple[Variant, ...]

    def variant(self, name: str) -> Variant:
        """The variant called ``name`` (KeyError if none)."""
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(f"no variant {name!r} in study {self.name!r}")

    def to_json(self) -> dict[str, Any]:
        """The resolved study, as written to ``DIR/sensitivity.json``."""
        return stamp(
            {
                "name": self.name,
                "description": self.description,
                "base": self.base.name,
                "base_cells": [c.id for c in self.base.cells],
                "variants": [v.to_json() for v in self.variants],
            }
        )


def study_path(name: str) -> Path:
    """The TOML file of a shipped sensitivity preset."""
    if name not in SENSITIVITY_PRESETS:
        allowed = ", ".join(SENSITIVITY_PRESETS)
        raise ConfigError("preset", f"must be one of {allowed}, got {name!r}")
    return Path(str(resources.files("cogdyn.experiments") / "presets" / f"{name}.toml"))


def is_study_file(file_or_preset: str | Path) -> bool:
    """Whether a name is a sensitivity preset, or a TOML file with ``[[variant]]`` entries."""
    text = str(file_or_preset)
    if text in SENSITIVITY_PRESETS and not Path(text).exists():
        return True
    path = Path(text)
    return path.is_file() and "variant" in load_toml(path, "sensitivity")


def load_study(file_or_preset: str | Path) -> Study:
    """Load and validate a sensitivity study from a TOML file or a preset name."""
    text = str(file_or_preset)
    exists = Path(text).exists()
    path = study_path(text) if text in SENSITIVITY_PRESETS and not exists else Path(text)
    if not path.is_file():
        allowed = ", ".join(SENSITIVITY_PRESETS)
        raise ConfigError("sensitivity", f"no such file or preset: {text} (presets: {allowed})")
    return study_from_dict(load_toml(path, "sensitivity"), path.parent, default_name=path.stem)


def study_from_dict(
    data: Mapping[str, Any], folder: str | Path = ".", default_name: str = "sensitivity"
) -> Study:
    """Validate a sensitivity file's tables: its base sweep (inline, or ``base`` naming a preset
    or a sweep file relative to ``folder``) and every variant (a one-line ConfigError naming
    the field of the first that is wrong)."""
    name, description = file_header(data, (*TOP_LEVEL, "base", "variant"), default_name)
    base = _base(data, Path(folder), name)
    entries = data.get("variant")
    if not isinstance(entries, list) or not entries:
        raise ConfigError("variant", "at least one [[variant]] entry is required")
    variants: list[Variant] = []
    for i, entry in enumerate(entries):
        variant = _variant(i, entry, base)
        if variant.name in {v.name for v in variants}:
            raise ConfigError(f"variant.{variant.name}", "two variants share this name")
        variants.append(variant)
    return Study(name, description, base, tuple(variants))


def _base(data: Mapping[str, Any], folder: Path, name: str) -> Sweep:
    inline = {k: v for k, v in data.items() if k in TOP_LEVEL and k not in ("name", "description")}
    ref = data.get("base")
    if ref is None:
        return sweep_from_dict({**inline, "name": f"{name}-base"}, default_name=name)
    if inline:
        raise ConfigError(
            "base",
            f"give the base either as base = ... or as tables, not both "
            f"(found {', '.join(inline)})",
        )
    if not isinstance(ref, str) or not ref:
        raise ConfigError("base", "must name a sweep preset or a sweep file")
    if ref in PRESETS and not (folder / ref).exists():
        return load_sweep(preset_path(ref))
    path = folder / ref
    if not path.is_file():
        raise ConfigError(
            "base", f"no such sweep file or preset: {ref} (presets: {', '.join(PRESETS)})"
        )
    return load_sweep(path)


def _variant(index: int, entry: Any, base: Sweep) -> Variant:
    where = f"variant[{index}]"
    if not isinstance(entry, Mapping):
        raise ConfigError(where, "must be a table")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name) or name == BASE:
        raise ConfigError(
            f"{where}.name",
            f"must be a short name of letters, digits, '.', '_', '-' other than {BASE!r}, "
            f"got {name!r}",
        )
    where = f"variant.{name}"
    for key in entry:
        if key not in VARIANT_KEYS:
            raise unknown_key(f"{where}.{key}", VARIANT_KEYS)
    factor = entry.get("factor")
    if not isinstance(factor, str) or not factor:
        raise ConfigError(f"{where}.factor", "must be a non-empty string (what is varied)")
    value = entry.get("value")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(f"{where}.value", "must be a string or a number (the variant's value)")
    settings = entry.get("set")
    if not isinstance(settings, Mapping) or not settings:
        raise ConfigError(
            f"{where}.set", 'must be a table of dotted keys, e.g. {"train.lr" = 3e-4}'
        )
    paths = {key: _set_path(where, key, base) for key in settings}
    settings = copy.deepcopy(dict(settings))
    if "readout.measure" in settings:
        return _readout(where, name, factor, str(value), settings)
    source = copy.deepcopy(base.source)
    source["name"] = f"{base.name}@{name}"
    for key, path in paths.items():
        table = source
        for part in path[:-1]:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise ConfigError(f"{where}.set.{key}", f"{part} is not a table in the base")
        table[path[-1]] = settings[key]
    try:
        sweep = sweep_from_dict(source, default_name=source["name"])
    except ConfigError as e:
        raise ConfigError(where, f"{e.field}: {e.message}") from None
    kind = ANALYSIS if all(p[0] == "analysis" for p in paths.values()) else TRAIN
    reused = tuple(
        c.id
        for c, b in zip(sweep.cells, base.cells, strict=True)
        if c.id == b.id and (kind == ANALYSIS or same_training(c, b))
    )
    if kind == TRAIN and len(reused) == len(sweep.cells) and _same_analysis(sweep, base):
        raise ConfigError(f"{where}.set", "changes nothing the study trains or analyses")
    if kind == ANALYSIS and _same_analysis(sweep, base):
        raise ConfigError(f"{where}.set", "changes nothing: every value is the base's")
    return Variant(name, factor, str(value), settings, kind, sweep, reused)


def _readout(where: str, name: str, factor: str, value: str, settings: dict) -> Variant:
    if len(settings) > 1:
        raise ConfigError(f"{where}.set", "readout.measure changes the readout only; set it alone")
    measure = settings["readout.measure"]
    if measure not in READOUT_MEASURES[1:]:
        raise ConfigError(
            f'{where}.set."readout.measure"',
            f"must be one of {', '.join(READOUT_MEASURES[1:])} (frac_qp is the base), "
            f"got {measure!r}",
        )
    return Variant(name, factor, value, settings, READOUT, None, measure=measure)


def _set_path(where: str, key: Any, base: Sweep) -> tuple[str, ...]:
    """The config path a variant's dotted key sets (validated as a sweep's grid key is, but
    refusing the study's design, paradigm × δ × seed, and what the base sweeps)."""
    at = f'{where}.set."{key}"'
    if not isinstance(key, str):
        raise ConfigError(at, "must be a dotted key")
    if key == "readout.measure":
        return ("readout", "measure")
    parts = tuple(key.split("."))
    if parts[0] not in SETTING_SECTIONS:
        allowed = (*SETTING_SECTIONS, "readout")
        raise ConfigError(at, unknown_key(parts[0], allowed, "table").message)
    if parts in _TASK_AXES:
        path = parts
    else:
        try:
            path = setting_path(key)
        except ConfigError as e:
            raise ConfigError(at, e.message) from None
    swept = {AXES.get(a) or setting_path(a) for a in base.grid}
    if path in swept:
        raise ConfigError(at, "is swept in the base [grid]; a variant changes one shared setting")
    return path


def same_training(cell: Cell, base: Cell) -> bool:
    """Whether ``cell`` trains the same network as ``base``: equal run configs once the settings
    its paradigm does not read (:data:`UNREAD`) are left out."""
    algo = cell.config.get("train", {}).get("algo")
    if algo != base.config.get("train", {}).get("algo"):
        return False

    def read(config: dict[str, Any]) -> Any:
        out = copy.deepcopy(config)
        for table, key in UNREAD.get(str(algo), ()):
            if key is None:
                out.pop(table, None)
            else:
                out.get(table, {}).pop(key, None)
        return io.as_written(out)

    return read(cell.config) == read(base.config)


def same_analysis(cell: Cell, base: Cell) -> bool:
    """Whether a variant's cell is analysed exactly as its base cell (every analysis setting)."""
    return io.as_written(cell.analysis.to_json()) == io.as_written(base.analysis.to_json())


def _same_analysis(sweep: Sweep, base: Sweep) -> bool:
    return all(same_analysis(a, b) for a, b in zip(sweep.cells, base.cells, strict=True))


def copied_cells(study: Study, variant: Variant) -> list[str]:
    """The variant's reused cells analysed exactly as in the base: their analysis is copied
    (:func:`copy_base_analysis`), not computed again."""
    if variant.sweep is None:
        return []
    sweep = variant.sweep
    return [c for c in variant.reused if same_analysis(sweep.cell(c), study.base.cell(c))]


def copy_base_analysis(base_dir: Path, vdir: Path, cell_id: str, record: dict[str, Any]) -> None:
    """Give a reused cell whose analysis settings are the base cell's the base's analysis: the
    same network analysed the same way gives the same files, so they are copied, not computed
    again (a PPO cell of an SL-only variant, say). The copy goes to a temporary directory first
    and the cell's record, marked ``analysis_from: base``, is written last, so an interrupted
    copy is redone. Nothing is done where the variant's cell has a record already."""
    if read_record(vdir, cell_id) is not None:
        return
    source, dest = run_dir(base_dir, cell_id), run_dir(vdir, cell_id)
    if not (source / io.ANALYSIS_DIR / io.SUMMARY_FILE).is_file():
        return
    staging = dest / f".{io.ANALYSIS_DIR}.copy"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source / io.ANALYSIS_DIR, staging)
    summary = io.read_json(staging / io.SUMMARY_FILE)
    # Its paths name the variant's run directory, where the files now are; they are read
    # relative to the run directory the summary itself names (however it was spelt).
    old = Path(str(summary.get("run_dir") or source))
    summary["run_dir"] = str(dest)
    summary["files"] = {
        k: str(dest / Path(f).relative_to(old)) if Path(f).is_relative_to(old) else f
        for k, f in (summary.get("files") or {}).items()
    }
    io.write_json(staging / io.SUMMARY_FILE, summary)
    shutil.rmtree(dest / io.ANALYSIS_DIR, ignore_errors=True)
    staging.rename(dest / io.ANALYSIS_DIR)
    # Nothing was trained or analysed here: the record carries no seconds of its own.
    mine = {k: v for k, v in record.items() if k not in ("train_s", "analysis_s")}
    io.write_json(record_path(vdir, cell_id), {**mine, "analysis_from": BASE})


def variant_dir(out: str | Path, name: str) -> Path:
    """A variant's sweep directory, ``DIR/variants/<name>``; the base's is ``DIR/base``."""
    return Path(out) / (BASE_DIR if name == BASE else f"{VARIANTS_DIR}/{name}")


@dataclass(frozen=True)
class PlanRow:
    """What one entry of the study costs: cells it trains, base networks it (re-)analyses."""

    variant: str
    factor: str
    value: str
    kind: str
    train: int
    reanalyse: int
    copied: int = 0
    """Reused base networks analysed exactly as in the base: their analysis is copied."""
    done_train: int = 0
    """Of the cells it trains, those done in the study directory (0 without one)."""
    done_again: int = 0
    """Of the base networks it re-analyses, those done."""
    done_copied: int = 0
    """Of the copied analyses, those done."""

    @property
    def done(self) -> int:
        """Cells of the entry done in the study directory."""
        return self.done_train + self.done_again + self.done_copied


@dataclass(frozen=True)
class _Cells:
    """An entry's cells by what happens to them: trained, re-analysed, analysis copied."""

    name: str
    sweep: Sweep
    trained: list[str]
    again: list[str]
    copied: list[str]


def _cells(study: Study) -> list[_Cells]:
    """The base and every variant with cells, in study order."""
    out = [_Cells(BASE, study.base, [c.id for c in study.base.cells], [], [])]
    for v in study.variants:
        if v.sweep is not None:
            copied = copied_cells(study, v)
            again = [c for c in v.reused if c not in copied]
            out.append(_Cells(v.name, v.sweep, list(v.trained), again, copied))
    return out


def _not_done(out: str | Path, name: str, ids: list[str]) -> list[str]:
    """The cells of ``ids`` whose record in entry ``name`` of ``out`` is not done."""
    vdir = variant_dir(out, name)
    return [c for c in ids if (read_record(vdir, c) or {}).get("status") != DONE]


def plan(study: Study, out: str | Path | None = None) -> list[PlanRow]:
    """One row per entry (the base first): the cells it trains, the base networks it analyses
    again, those whose base analysis it copies (a readout variant: none of these), and, with
    the study directory ``out``, how many of its cells are done."""
    cells = {e.name: e for e in _cells(study)}

    def done(name: str, ids: list[str]) -> int:
        return 0 if out is None else len(ids) - len(_not_done(out, name, ids))

    rows = []
    for name, factor, value, kind in [
        (BASE, BASE, "", BASE),
        *((v.name, v.factor, v.value, v.kind) for v in study.variants),
    ]:
        e = cells.get(name)
        if e is None:
            rows.append(PlanRow(name, factor, value, kind, 0, 0))
            continue
        rows.append(
            PlanRow(
                name,
                factor,
                value,
                kind,
                len(e.trained),
                len(e.again),
                len(e.copied),
                done(name, e.trained),
                done(name, e.again),
                done(name, e.copied),
            )
        )
    return rows


def measured_cost(out: str | Path, name: str = BASE) -> dict[str, float] | None:
    """Median train and analysis seconds of entry ``name``'s done cells (``train_s``,
    ``analysis_s`` of their records; the base by default), or None when none has been measured
    yet."""
    times = done_seconds(variant_dir(out, name))
    train_s = [t for _, t, _ in times]
    analysis_s = [a for _, _, a in times if a is not None]
    if not train_s or not analysis_s:
        return None
    return {"train_s": statistics.median(train_s), "analysis_s": statistics.median(analysis_s)}


def _costs_by_algo(out: str | Path, name: str) -> dict[str, tuple[float, float]]:
    """Per algorithm, median (train_s, analysis_s) of entry ``name``'s done, measured cells."""
    by: dict[str, list[tuple[float, float]]] = {}
    for algo, train_s, analysis_s in done_seconds(variant_dir(out, name)):
        if analysis_s is not None:
            by.setdefault(algo, []).append((train_s, analysis_s))
    return {
        algo: (statistics.median(t for t, _ in v), statistics.median(a for _, a in v))
        for algo, v in by.items()
    }


def seconds_left(study: Study, out: str | Path) -> tuple[float, list[str]] | None:
    """Cell-seconds the study directory ``out`` still needs, and the entries priced by their
    own done cells; None before any base cell has been measured.

    A cell still to train costs the median training + analysis of the cells of its algorithm
    done in its own entry, where there are some (a variant that changes the trials, dt or the
    stop rule costs what its own cells cost, not what the base's do), else the base's; a base
    network still to re-analyse costs the base's median analysis of its algorithm."""
    overall = measured_cost(out)
    if overall is None:
        return None
    base = _costs_by_algo(out, BASE)
    fallback = (overall["train_s"], overall["analysis_s"])

    def algo(sweep: Sweep, cell_id: str) -> str:
        return str(sweep.cell(cell_id).config.get("train", {}).get("algo"))

    total, own = 0.0, []
    for e in _cells(study):
        mine = _costs_by_algo(out, e.name) if e.name != BASE else base
        todo = _not_done(out, e.name, e.trained)
        if e.name != BASE and todo and any(algo(e.sweep, c) in mine for c in todo):
            own.append(e.name)
        for c in todo:
            a = algo(e.sweep, c)
            t, s = mine.get(a) or base.get(a) or fallback
            total += t + s
        for c in _not_done(out, e.name, e.again):
            total += (base.get(algo(e.sweep, c)) or fallback)[1]
    return total, own


def prepare_study(out: str | Path, study: Study) -> None:
    """Create DIR and write ``sensitivity.json``. A DIR that holds a study whose base or a
    same-named variant differs is refused (variants may be added to a study)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError("--out", f"{out} is a file; choose a directory")
    out.mkdir(parents=True, exist_ok=True)
    path = out / STUDY_FILE
    new = study.to_json()
    if path.is_file():
        old = unstamp(io.read_json_object(path, "choose another --out"), str(path))
        if old.get("base_cells") != new["base_cells"]:
            raise ConfigError("--out", f"{out} holds a study with another base; choose another")
        for v in old.get("variants", []):
            mine = next((w for w in new["variants"] if w["name"] == v.get("name")), None)
            if mine is not None and io.as_written(mine["set"]) != io.as_written(v.get("set")):
                raise ConfigError(
                    "--out", f"{out} holds a variant {mine['name']!r} with other settings"
                )
        kept = [v for v in old.get("variants", []) if v.get("name") not in study_names(study)]
        new = {**new, "variants": [*new["variants"], *kept]}  # earlier variants stay reported
    io.write_json(path, new)


def study_names(study: Study) -> set[str]:
    """The names of a study's variants."""
    return {v.name for v in study.variants}


def link_base_run(base_run: Path, dest: Path) -> None:
    """Make ``dest`` a run directory of the base run's trained network: a relative link to each
    of its files but ``analysis/`` (and ``eval/``, ``figures/``, the lock), so that an analysis
    in ``dest`` is written beside the base's, never over it. Links already there are kept."""
    dest.mkdir(parents=True, exist_ok=True)
    for entry in sorted(base_run.iterdir()):
        if entry.name in _NOT_LINKED or entry.name.startswith("."):
            continue
        target = dest / entry.name
        if target.is_symlink() or target.exists():
            continue
        target.symlink_to(os.path.relpath(entry, dest))


def run_study(
    study: Study,
    out: str | Path,
    *,
    workers: int | None = None,
    executor: str = "local",
    address: str | None = None,
    retry_failed: bool = True,
    progress: bool | None = None,
) -> dict[str, dict[str, Any]]:
    """Run the base, then every variant that has cells, into ``out``; what is done is not done
    again. Returns each sweep's statistics by name (``base`` and the variants with cells)."""
    out = Path(out)
    prepare_study(out, study)
    flags = dict(
        workers=workers,
        executor=executor,
        address=address,
        retry_failed=retry_failed,
        progress=progress,
    )
    base_dir = variant_dir(out, BASE)
    stats = {BASE: run_sweep(study.base, base_dir, **flags)[1]}
    for v in study.variants:
        if v.sweep is None:
            continue
        vdir = variant_dir(out, v.name)
        prepare_dir(vdir, v.sweep)
        ready, copied = [], set(copied_cells(study, v))
        for cell_id in v.reused:
            record = read_record(base_dir, cell_id)
            if record is not None and record.get("status") == DONE:
                link_base_run(run_dir(base_dir, cell_id), run_dir(vdir, cell_id))
                if cell_id in copied:
                    copy_base_analysis(base_dir, vdir, cell_id, record)
                ready.append(cell_id)
        stats[v.name] = run_sweep(v.sweep, vdir, only=[*v.trained, *ready], **flags)[1]
    return stats


def describe_plan(study: Study, out: str | Path | None = None, workers: int = 1) -> list[str]:
    """The ``--dry-run`` lines: every entry with its cells (new training vs reused base
    networks) and a cost estimate in base cells, in seconds where the base has been measured."""
    rows = plan(study, out)
    lines = [f"sensitivity {study.name}: base {study.base.name} ({len(study.base.cells)} cells)"]
    for r in rows:
        what = {
            BASE: f"trains {r.train} cells",
            READOUT: "no cells (reads the base's networks)",
        }.get(r.kind, f"trains {r.train} new cells, re-analyses {r.reanalyse} base networks")
        if r.copied:
            what += f", copies the base's analysis of {r.copied}"
        cells = r.train + r.reanalyse + r.copied
        if out is not None and r.kind != READOUT:
            what += f" — {r.done}/{cells} done"
        label = r.variant if r.kind == BASE else f"{r.variant} [{r.kind}] {r.factor} = {r.value}"
        lines.append(f"  {label}: {what}")
    n_train = sum(r.train for r in rows)
    n_again = sum(r.reanalyse for r in rows)
    cost = measured_cost(out) if out is not None else None
    total = f"total: {n_train} trained cells + {n_again} re-analyses"
    if cost is None:
        lines.append(
            f"{total} (≈ {n_train / max(len(study.base.cells), 1):.1f}× the base's training); "
            "no measured cell times yet: run the base first for seconds"
        )
    else:
        left_train = sum(max(0, r.train - r.done_train) for r in rows)
        left_again = sum(max(0, r.reanalyse - r.done_again) for r in rows)
        seconds, own = seconds_left(study, out) or (0.0, [])
        priced = (
            f"; {', '.join(own)} at {'its' if len(own) == 1 else 'their'} own cells' medians"
            if own
            else ""
        )
        lines.append(
            f"{total}; left: {left_train} + {left_again}, ≈ "
            f"{seconds / max(workers, 1) / 3600:.1f} h on {workers} worker(s) at the "
            f"base's median {cost['train_s']:.0f} s training + {cost['analysis_s']:.0f} s "
            f"analysis per cell, per algorithm{priced} (entries not yet started that change "
            "the trials, dt or the stop rule may take longer)"
        )
    return lines


def reused_dirs(sweep_dir: str | Path) -> list[Path]:
    """The run directories of a variant's sweep directory that link a base run (for tests and
    tools: what must never be written through)."""
    runs = Path(sweep_dir) / io.RUNS_DIR
    return (
        sorted(p for p in runs.iterdir() if (p / io.SUMMARY_FILE).is_symlink())
        if runs.is_dir()
        else []
    )
