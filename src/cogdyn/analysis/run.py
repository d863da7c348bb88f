"""``cogdyn analyze``: the attractor census and the stimulus-off fixed points of a run directory,
over its checkpoints rather than one snapshot.

Attractor structure can change a lot between checkpoints of equal accuracy, so by default every
checkpoint at or past the accuracy criterion is analysed (kinds ``criterion`` and
``post_criterion``), together with the untrained network (``init``, the baseline) and the final
model. Checkpoints with identical weights (the final model is usually the last post-criterion
checkpoint) are analysed once. Files written to ``RUN_DIR/analysis/``:

* ``attractors.parquet`` — the census (:func:`~cogdyn.dynamics.census.attractor_census`), one
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

import hashlib
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
from cogdyn.analysis.summary import POST_KINDS, run_summary
from cogdyn.dynamics.census import CensusOptions, attractor_census, census_summary
from cogdyn.dynamics.phase_points import phase_fixed_points, phase_points_summary
from cogdyn.errors import ConfigError
from cogdyn.populations import PopulationOptions, analyze_populations
from cogdyn.populations.crystallisation import training_trajectory
from cogdyn.tasks import CtxDM
from cogdyn.train.eval_run import load_run
from cogdyn.train.evaluate import evaluate
from cogdyn.train.loop import progress_bar  # the training bar's look, shared

ANALYSIS_DIR = "analysis"
CHECKPOINT_SETS: tuple[str, ...] = ("post", "final", "all")
"""``post``: init + criterion + post-criterion + final; ``final``: the final model only;
``all``: every checkpoint (log-spaced ones too) + final."""
CHECKPOINT_KINDS: tuple[str, ...] = ("init", "log", "criterion", "post_criterion", "final")


@dataclass(frozen=True)
class Checkpoint:
    """One set of weights of a run: ``name`` (file stem, or ``final``), ``file`` (relative to
    the run directory), ``kind`` (one of :data:`CHECKPOINT_KINDS`), ``update``, ``accuracy``
    (held-out accuracy recorded by training)."""

    name: str
    file: str
    kind: str
    update: int
    accuracy: float


def select_checkpoints(train_summary: dict[str, Any], which: str = "post") -> list[Checkpoint]:
    """The checkpoints of a run (its ``summary.json``) that ``which`` selects, final model last."""
    if which not in CHECKPOINT_SETS:
        raise ConfigError("analyze.checkpoints", f"must be one of {', '.join(CHECKPOINT_SETS)}")
    final = Checkpoint(
        "final",
        io.MODEL_FILE,
        "final",
        int(train_summary["updates"]),
        float(train_summary["accuracy"]),
    )
    listed = [
        Checkpoint(Path(c["file"]).stem, c["file"], c["kind"], int(c["update"]), c["accuracy"])
        for c in train_summary.get("checkpoints", [])
    ]
    if which == "final":
        return [final]
    if which == "post":
        listed = [c for c in listed if c.kind == "init" or c.kind in POST_KINDS]
    return [*listed, final]


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
) -> dict[str, Any]:
    """Census and fixed points of the selected checkpoints of a run; writes ``analysis/``.

    Args:
        run_dir: a run directory written by ``cogdyn train`` (with ``summary.json``).
        checkpoints: one of :data:`CHECKPOINT_SETS` (default ``post``).
        census: grid, phase and starts of the census (default :class:`CensusOptions`()).
        n_trials: real trials (seeded by ``seed``) whose end-of-stimulus states probe the
            basins of the delay/decision fixed points.
        seed: seed of those trials.
        threads: torch threads while analysing (restored afterwards); default unchanged.
        progress: show a progress bar (default: when stderr is a terminal).
        populations: also run the population analyses (groups, robustness, information,
            crystallisation) on every selected checkpoint, on the same trials.
        population_options: their options (default :class:`PopulationOptions`()).

    Returns:
        The summary also written to ``analysis/summary.json``, with ``files`` added. A run of
        another task than CtxDM (neurogym) gets the census over its trial conditions instead
        (:func:`~cogdyn.analysis.condition_census.analyze_condition_run`, with the census's
        classify options and ``seed``; its summary has a ``task`` key).
    """
    run_dir = Path(run_dir)
    config, final_model = load_run(run_dir)
    if not (run_dir / io.SUMMARY_FILE).is_file():
        raise FileNotFoundError(f"{run_dir} has no {io.SUMMARY_FILE}: training did not finish")
    if not config.task.is_ctxdm:  # a trial-condition task (neurogym): its own census only
        from cogdyn.analysis.condition_census import analyze_condition_run

        with _threads(threads):
            classify = (census or CensusOptions()).classify
            return analyze_condition_run(
                run_dir, checkpoints=checkpoints, classify=classify, seed=seed
            )
    train_summary = io.read_json(run_dir / io.SUMMARY_FILE)
    selected = select_checkpoints(train_summary, checkpoints)
    for ck in selected:
        if not (run_dir / ck.file).is_file():
            raise FileNotFoundError(f"checkpoint {ck.file} is missing from {run_dir}")
    if not isinstance(n_trials, int) or n_trials < 1:
        raise ConfigError("analyze.n_trials", f"must be an integer ≥ 1, got {n_trials!r}")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ConfigError("analyze.threads", f"must be an integer ≥ 1, got {threads!r}")
    opts = census or CensusOptions()
    if population_options is not None and not isinstance(population_options, PopulationOptions):
        raise ConfigError("analyze.population_options", "must be a PopulationOptions")
    pop_opts = population_options or PopulationOptions()
    task = CtxDM(config.task)
    batch = task.sample(n_trials, torch.Generator().manual_seed(seed))
    start = time.perf_counter()

    names = ["attractors", "fixed_points", "basins"]
    if populations:
        names += ["populations", "robustness", "information", "crystallisation"]
    tables: dict[str, list[pd.DataFrame]] = {name: [] for name in names}
    trajectory: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    done: dict[str, tuple[Any, ...]] = {}
    with _threads(threads), progress_bar(_show(progress)) as bar:
        job = bar.add_task(f"analyze {run_dir.name}", total=len(selected), status="")
        for ck in selected:
            model = final_model if ck.kind == "final" else io.load_model(run_dir / ck.file)
            model.eval()
            key = _digest(model)
            if key not in done:
                bar.update(job, status=f"{ck.name}: census")
                attractors = attractor_census(model, task, opts)
                bar.update(job, status=f"{ck.name}: fixed points")
                choice = evaluate(model, task, batch).outcome.choice
                points = phase_fixed_points(model, task, batch, network_choice=choice)
                numbers = census_summary(attractors)
                fp_numbers = phase_points_summary(points, task.config.dim_ring)
                pops = None
                if populations:
                    bar.update(job, status=f"{ck.name}: populations")
                    pops = analyze_populations(model, task, batch, choice, points, pop_opts, seed)
                done[key] = (attractors, points, numbers, fp_numbers, pops)
            attractors, points, numbers, fp_numbers, pops = done[key]
            record = {**_meta(ck), "census": numbers, "fixed_points": fp_numbers}
            tables["attractors"].append(_tag(attractors, ck))
            tables["fixed_points"].append(_tag(points.points, ck))
            tables["basins"].append(_tag(_basin_counts(points.trials), ck))
            if pops is not None:
                record["populations"] = dict(pops.numbers)
                tables["populations"].append(_tag(pops.units, ck))
                tables["robustness"].append(_tag(pops.robustness, ck))
                tables["information"].append(_tag(pops.information, ck))
                tables["crystallisation"].append(_tag(pops.crystallisation, ck))
                trajectory.append(
                    {
                        **record,
                        "labels": pops.groups.labels,
                        "group_names": pops.groups.names,
                        "attractor_phase": pops.groups.attractor_phase,
                        "balance_index": pops.numbers["balance_index"],
                    }
                )
            records.append(record)
            bar.update(job, advance=1, status=f"{ck.name}: F_QP {numbers['frac_qp']:.3f}")

    out = run_dir / ANALYSIS_DIR
    files = {name: out / f"{name}.parquet" for name in tables}
    for name, parts in tables.items():
        io.atomic_write_bytes(files[name], pd.concat(parts, ignore_index=True).to_parquet())
    if populations:
        over_training = training_trajectory(trajectory)
        for record, turnover in zip(records, over_training["turnover"], strict=True):
            record["populations"]["turnover"] = None if pd.isna(turnover) else float(turnover)
        files["crystallisation_training"] = out / "crystallisation_training.parquet"
        io.atomic_write_bytes(files["crystallisation_training"], over_training.to_parquet())
    summary = run_summary(records, train_summary, opts)
    summary.update(
        run_dir=str(run_dir),
        options={
            "census": opts.to_json(),
            "checkpoints": checkpoints,
            "n_trials": n_trials,
            "seed": seed,
            "populations": pop_opts.to_json() if populations else None,
        },
        wall_s=round(time.perf_counter() - start, 2),
        files={**{k: str(v) for k, v in files.items()}, "summary": str(out / "summary.json")},
    )
    io.write_json(out / "summary.json", summary)
    return summary


def _meta(ck: Checkpoint) -> dict[str, Any]:
    return {
        "checkpoint": ck.name,
        "kind": ck.kind,
        "update": ck.update,
        "accuracy": ck.accuracy,
    }


def _tag(frame: pd.DataFrame, ck: Checkpoint) -> pd.DataFrame:
    """``frame`` with the checkpoint's columns in front."""
    meta = pd.DataFrame(
        {
            "checkpoint": [ck.name] * len(frame),
            "kind": pd.Categorical([ck.kind] * len(frame), categories=list(CHECKPOINT_KINDS)),
            "update": [ck.update] * len(frame),
            "accuracy": [float(ck.accuracy)] * len(frame),
        }
    )
    return pd.concat([meta, frame.reset_index(drop=True)], axis=1)


def _basin_counts(trials: pd.DataFrame) -> pd.DataFrame:
    """Trials per phase × context × correct choice × network choice × basin choice."""
    keys = ["phase", "context", "correct_choice", "network_choice", "basin_choice"]
    return trials.groupby(keys, observed=True).size().rename("n_trials").reset_index()


def _digest(model: torch.nn.Module) -> str:
    """A hash of the weights: checkpoints with equal weights are analysed once."""
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


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
