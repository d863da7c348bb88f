"""``cogdyn analyze``: the attractor census and the stimulus-off fixed points of a run directory,
over its checkpoints rather than one snapshot.

Which checkpoints, and why: :mod:`cogdyn.analysis.checkpoints`. Files written to
``RUN_DIR/analysis/``:

* ``attractors.parquet`` — the census (:func:`~cogdyn.analysis.census.attractor_census`), one
  row per checkpoint × context × c₁ × c₂ × start;
* ``fixed_points.parquet`` — one row per fixed point of the delay and decision inputs;
* ``basins.parquet`` — trial counts per checkpoint × phase × context × correct choice ×
  network choice × basin choice (which stable point the end-of-stimulus state flows to);
* ``summary.json`` — headline numbers (:func:`~cogdyn.analysis.summary.run_summary`).

With ``populations`` (default on; :mod:`cogdyn.populations`, ``docs/populations.md``), also:

* ``populations.parquet`` — one row per checkpoint × unit: its group (pooled and per context),
  place in the group-sorted order of W, activity in each decision attractor, functional
  connectivity degree and community;
* ``robustness.parquet`` — accuracy per checkpoint × damage kind × level × draw;
* ``information.parquet`` — MI per checkpoint × period × task variable × unit, p and BH q values;
* ``crystallisation.parquet`` — choice decoding and unit–choice MI per checkpoint × alignment ×
  step within the trial;
* ``crystallisation_training.parquet`` — one row per checkpoint over training: accuracy, census,
  stable fixed points, group sizes, balance and group turnover.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from cogdyn import io
from cogdyn.analysis.census import (
    CensusOptions,
    attractor_census,
    census_cost,
    census_map,
    census_summary,
)
from cogdyn.analysis.checkpoints import Checkpoint, select_checkpoints, tag, weights_digest
from cogdyn.analysis.condition_census import analyze_condition_run, condition_inputs_of
from cogdyn.analysis.phase_points import PhasePoints, phase_fixed_points, phase_points_summary
from cogdyn.analysis.populations import PopulationResult, analyze_populations
from cogdyn.analysis.summary import run_summary
from cogdyn.behaviour import check_trials_memory, evaluate
from cogdyn.config import MAX_THREADS, ModelConfig, TaskConfig
from cogdyn.devices import resolve_device
from cogdyn.dynamics.step_map import is_relu_rnn, network_kind
from cogdyn.errors import ConfigError, check_int, finite, require
from cogdyn.models import VanillaRNN
from cogdyn.populations import PopulationOptions
from cogdyn.populations.crystallisation import training_trajectory
from cogdyn.progress import progress_bar
from cogdyn.schema import stamp
from cogdyn.tasks import CtxDM, TrialBatch, make_task

POPULATION_TABLES = ("populations", "robustness", "information", "crystallisation")
MIN_ACCURACY = 0.93
"""Default ``min_accuracy``: a checkpoint enters the headline numbers only if it performs at the
0.95 criterion within 0.02 on fresh trials. 0.02 is about four standard errors of an accuracy of
0.95 measured on 2000 trials (√(0.95 · 0.05 / 2000) ≈ 0.005), so a network at the criterion
passes and one that has fallen off it does not."""
ACCURACY_TRIALS = 2000
"""Fresh trials each analysed checkpoint is scored on (its ``analysed_accuracy``)."""
ACCURACY_STREAM = 0x00A7_A1_75_15
"""Offset of the fresh-trial seed (``ACCURACY_STREAM + seed``): training draws its held-out and
fresh trials from 63-bit SeedSequence words, so these trials are ones no choice of training saw."""


def analyze_run(
    run_dir: str | Path,
    *,
    checkpoints: str = "post",
    census: CensusOptions | None = None,
    n_trials: int = 500,
    seed: int = 0,
    threads: int | None = None,
    progress: bool | None = None,
    populations: bool = True,
    population_options: PopulationOptions | None = None,
    min_accuracy: float = MIN_ACCURACY,
    device: str = "cpu",
) -> dict[str, Any]:
    """Census and fixed points of the selected checkpoints of a run; writes ``analysis/``.

    Args:
        run_dir: a run directory written by ``cogdyn train`` (with ``summary.json``).
        checkpoints: one of :data:`~cogdyn.analysis.checkpoints.CHECKPOINT_SETS` (default
            ``post``).
        census: grid, phase and starts of the census (default :class:`CensusOptions`()).
        n_trials: real trials (seeded by ``seed``) whose end-of-stimulus states probe the
            basins of the delay/decision fixed points.
        seed: seed of those trials.
        threads: torch threads while analysing (restored afterwards); default unchanged.
        progress: show a progress bar (default: when stderr is a terminal).
        populations: also run the population analyses (groups, robustness, information,
            crystallisation) on every selected checkpoint, on the same trials. They act on a
            ReLU RNN's weights: for any other network they are skipped, and the summary's
            ``populations_skipped`` says why.
        population_options: their options (default :class:`PopulationOptions`()).
        min_accuracy: a checkpoint enters the headline numbers only if its accuracy on
            :data:`ACCURACY_TRIALS` fresh trials (seeded by :data:`ACCURACY_STREAM` + ``seed``)
            is at least this (default :data:`MIN_ACCURACY`); the others are analysed, marked
            and counted (:func:`~cogdyn.analysis.summary.run_summary`).
        device: where the census iterates its orbits: ``cpu`` (default), ``cuda`` (the first
            visible GPU) or ``auto`` (:func:`~cogdyn.devices.resolve_device`); fixed points,
            basins and populations stay on the CPU. The same labels within float tolerance
            (``benchmarks/device_check.sh``). Only a ReLU RNN's census on CtxDM leaves the
            CPU: for any other run ``cuda`` is refused and ``auto`` means the CPU.

    Returns:
        The summary also written to ``analysis/summary.json``, with ``files`` added. A run of
        another task than CtxDM (neurogym) gets the census over its trial conditions instead
        (:func:`~cogdyn.analysis.condition_census.analyze_condition_run`, with the census's
        classify options and ``seed``; its summary has a ``task`` key).
    """
    run_dir = Path(run_dir)
    io.check_finished(run_dir)
    config, final_model = io.load_run(run_dir)
    where = resolve_device(device, "analyze.device")
    movable = config.task.is_ctxdm and is_relu_rnn(final_model)
    if where.type != "cpu" and not movable:
        if device != "auto":
            kind = network_kind(final_model) if config.task.is_ctxdm else f"{config.task.name} run"
            raise ConfigError(
                "analyze.device",
                f"the census leaves the CPU for a ReLU RNN on ctxdm only; this is a {kind} "
                "(allowed: cpu)",
            )
        where = torch.device("cpu")  # auto: where this census can run
    if not config.task.is_ctxdm:  # a trial-condition task (neurogym): its own census only
        with _threads(threads):
            classify = (census or CensusOptions()).classify
            return analyze_condition_run(
                run_dir, checkpoints=checkpoints, classify=classify, seed=seed
            )
    train_summary = io.read_summary(run_dir)
    selected = select_checkpoints(train_summary, checkpoints)
    for ck in selected:
        if not (run_dir / ck.file).is_file():
            raise FileNotFoundError(f"checkpoint {ck.file} is missing from {run_dir}")
    check_int("analyze.n_trials", n_trials, 1)
    check_trials_memory(config.task, n_trials, final_model.hidden, "analyze.n_trials")
    if threads is not None:
        check_int("analyze.threads", threads, 1)
        require(threads <= MAX_THREADS, "analyze.threads", f"must be at most {MAX_THREADS}")
    require(
        finite(min_accuracy) and 0 <= min_accuracy <= 1,
        "analyze.min_accuracy",
        f"must be a number in [0, 1], got {min_accuracy!r}",
    )
    opts = census or CensusOptions()
    if population_options is not None and not isinstance(population_options, PopulationOptions):
        raise ConfigError("analyze.population_options", "must be a PopulationOptions")
    pop_opts = population_options or PopulationOptions()
    # The population analyses damage and read W of a ReLU RNN: other networks skip them.
    skipped = None
    if populations and not is_relu_rnn(final_model):
        populations = False
        skipped = f"ReLU RNNs only; this network is a {network_kind(final_model)}"
    task = CtxDM(config.task)
    batch = task.sample(n_trials, torch.Generator().manual_seed(seed))
    fresh = task.sample(ACCURACY_TRIALS, torch.Generator().manual_seed(ACCURACY_STREAM + seed))
    start = time.perf_counter()

    tables = _Tables(populations)
    done: dict[str, _Analysed] = {}
    with _threads(threads), progress_bar(_show(progress)) as bar:
        # Say the cost before spending it: the census dominates, and its bound is calibrated
        # on this machine with this network's batch (about 1 % of one census).
        cost = census_cost(final_model, task, opts, where)
        on = "" if where.type == "cpu" else f" on {where}"
        bar.console.print(
            f"analyze {run_dir.name}: {len(selected)} checkpoint(s); census{on} of each: "
            f"{cost.describe()}; plus fixed points, basins"
            + (" and populations" if populations else "")
        )
        job = bar.add_task(f"analyze {run_dir.name}", total=len(selected), status="")
        for ck in selected:
            model = final_model if ck.kind == "final" else io.load_model(run_dir / ck.file)
            model.eval()
            key = weights_digest(model)
            if key not in done:

                def status(stage: str, ck: Checkpoint = ck) -> None:
                    bar.update(job, status=f"{ck.name}: {stage}")

                done[key] = _analyse(
                    model, task, batch, fresh, opts, populations, pop_opts, seed, status, where
                )
            numbers = tables.add(ck, done[key])
            bar.update(job, advance=1, status=f"{ck.name}: F_QP {numbers['frac_qp']:.3f}")

    out = run_dir / io.ANALYSIS_DIR
    files = tables.write(run_dir)
    summary = run_summary(tables.records, train_summary, opts, min_accuracy)
    summary.update(
        run_dir=str(run_dir),
        options={
            "census": opts.to_json(),
            "checkpoints": checkpoints,
            "n_trials": n_trials,
            "seed": seed,
            "min_accuracy": min_accuracy,
            "accuracy_trials": ACCURACY_TRIALS,
            "populations": pop_opts.to_json() if populations else None,
            "device": str(where),
        },
        wall_s=round(time.perf_counter() - start, 2),
        census_cost={
            "orbits": cost.orbits,
            "steps": cost.steps,
            "seconds_per_step": cost.seconds_per_step,
            "seconds_max_per_checkpoint": round(cost.seconds_max, 1),
        },
        populations_skipped=skipped,
        source=train_summary.get("source"),
        files={**{k: str(v) for k, v in files.items()}, "summary": str(out / io.SUMMARY_FILE)},
    )
    io.write_json(out / io.SUMMARY_FILE, stamp(summary))
    return summary


def check_analysis(task_config: TaskConfig, census: CensusOptions | None = None) -> None:
    """Refuse, before anything is trained, an analysis that could not run on this task.

    Runs the analysis's own setup — the census problem (grid inputs, onset states, extra
    starts), the stimulus-off fixed points on a few real trials, or for a trial-condition task
    its frozen condition inputs — on an untrained 4-unit network of the task, so any stage that
    would fail on the trained network fails here, in a fraction of a second.

    Raises:
        ConfigError: ``analysis`` and the reason, naming the task.
    """
    base = census or CensusOptions()
    if not task_config.is_ctxdm and base.phase != "stimulus":
        raise ConfigError(
            "analysis.census.phase",
            f"the census of {task_config.name} holds each trial condition's stimulus-period "
            f"input; phase = {base.phase!r} needs a ctxdm task (allowed here: stimulus)",
        )
    task = make_task(task_config)
    model = VanillaRNN(task.n_inputs, task.n_actions, ModelConfig(hidden=4)).eval()
    opts = dataclasses.replace(base, grid=3, extra_starts=min(base.extra_starts, 1))
    try:
        if task_config.is_ctxdm:
            assert isinstance(task, CtxDM)
            census_map(model, task, opts)
            batch = task.sample(4, torch.Generator().manual_seed(0))
            phase_fixed_points(model, task, batch, pattern_steps=5, max_patterns=2, basin_steps=5)
        else:
            condition_inputs_of(task)
    except (ValueError, RuntimeError, KeyError, IndexError) as e:
        raise ConfigError("analysis", f"cannot analyse task {task_config.name}: {e}") from None


@dataclass(frozen=True)
class _Analysed:
    """Everything computed for one set of weights."""

    attractors: pd.DataFrame
    points: PhasePoints
    census: dict[str, Any]
    fixed_points: dict[str, Any]
    populations: PopulationResult | None
    accuracy: float
    """Accuracy on the analysis's fresh trials."""


def _analyse(
    model: Any,
    task: CtxDM,
    batch: TrialBatch,
    fresh: TrialBatch,
    opts: CensusOptions,
    populations: bool,
    pop_opts: PopulationOptions,
    seed: int,
    status: Any,
    device: torch.device,
) -> _Analysed:
    """Census (on ``device``), fixed points, (optionally) populations and the fresh-trial
    accuracy of one checkpoint's weights."""
    status("census")
    attractors = attractor_census(model, task, opts, device=device)
    status("fixed points")
    choice = evaluate(model, task, batch).outcome.choice
    points = phase_fixed_points(model, task, batch, network_choice=choice)
    pops = None
    if populations:
        status("populations")
        pops = analyze_populations(model, task, batch, choice, points, pop_opts, seed)
    return _Analysed(
        attractors,
        points,
        census_summary(attractors),
        phase_points_summary(points, task.config.dim_ring),
        pops,
        evaluate(model, task, fresh).accuracy,
    )


class _Tables:
    """The per-checkpoint tables and records of one analysis, gathered in checkpoint order."""

    def __init__(self, populations: bool) -> None:
        names = ["attractors", "fixed_points", "basins"]
        if populations:
            names += list(POPULATION_TABLES)
        self.populations = populations
        self.parts: dict[str, list[pd.DataFrame]] = {name: [] for name in names}
        self.records: list[dict[str, Any]] = []
        self.trajectory: list[dict[str, Any]] = []

    def add(self, ck: Checkpoint, result: _Analysed) -> dict[str, Any]:
        """Add one checkpoint's results; returns its census numbers."""
        record = {
            **ck.meta(),
            "analysed_accuracy": result.accuracy,
            "census": result.census,
            "fixed_points": result.fixed_points,
        }
        self.parts["attractors"].append(tag(result.attractors, ck))
        self.parts["fixed_points"].append(tag(result.points.points, ck))
        self.parts["basins"].append(tag(_basin_counts(result.points.trials), ck))
        pops = result.populations
        if pops is not None:
            record["populations"] = dict(pops.numbers)
            self.parts["populations"].append(tag(pops.units, ck))
            self.parts["robustness"].append(tag(pops.robustness, ck))
            self.parts["information"].append(tag(pops.information, ck))
            self.parts["crystallisation"].append(tag(pops.crystallisation, ck))
            self.trajectory.append(
                {
                    **record,
                    "labels": pops.groups.labels,
                    "group_names": pops.groups.names,
                    "attractor_phase": pops.groups.attractor_phase,
                    "balance_index": pops.numbers["balance_index"],
                }
            )
        self.records.append(record)
        return result.census

    def write(self, run_dir: Path) -> dict[str, Path]:
        """Write every table (atomically) and the over-training table; their paths."""
        files = {name: io.analysis_file(run_dir, name) for name in self.parts}
        for name, parts in self.parts.items():
            io.atomic_write_bytes(files[name], pd.concat(parts, ignore_index=True).to_parquet())
        if self.populations:
            over_training = training_trajectory(self.trajectory)
            for record, turnover in zip(self.records, over_training["turnover"], strict=True):
                record["populations"]["turnover"] = None if pd.isna(turnover) else float(turnover)
            path = io.analysis_file(run_dir, "crystallisation_training")
            io.atomic_write_bytes(path, over_training.to_parquet())
            files["crystallisation_training"] = path
        return files


def _basin_counts(trials: pd.DataFrame) -> pd.DataFrame:
    """Trials per phase × context × correct choice × network choice × basin choice."""
    keys = ["phase", "context", "correct_choice", "network_choice", "basin_choice"]
    return trials.groupby(keys, observed=True).size().rename("n_trials").reset_index()


def _show(progress: bool | None) -> bool:
    return sys.stderr.isatty() if progress is None else progress


@contextmanager
def _threads(n: int | None) -> Iterator[None]:
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
