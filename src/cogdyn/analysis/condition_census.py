"""The attractor census of a task given by its trial conditions (neurogym tasks).

CtxDM has a continuous stimulus space, so its census covers a grid of signed coherences
(:mod:`cogdyn.analysis.census`). A neurogym task has a finite set of trial conditions (e.g.
PerceptualDecisionMaking's ground truth × coherence); its frozen input of a condition is the
mean observation of that condition's trials over the stimulus period
(:meth:`~cogdyn.tasks.neurogym.NeurogymTask.frozen_inputs`). Each condition's map is started
from the state the network reaches under the mean inputs of the periods before the stimulus,
each held for its mean number of steps, from h₀ = 0 — the noise-free analogue of CtxDM's
stimulus-onset start. F_QP = quasi-periodic conditions / conditions.

:func:`analyze_condition_run` is what ``cogdyn analyze`` and sweeps run for such a task: the
census on every selected checkpoint (init = the untrained baseline), written to
``analysis/attractors.parquet`` and ``analysis/summary.json`` with the same headline keys as
the CtxDM analysis (no fixed points or populations: those read CtxDM's trial variables).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from cogdyn import io
from cogdyn.analysis.checkpoints import POST_KINDS, select_checkpoints
from cogdyn.analysis.summary import stats
from cogdyn.dynamics.classify import LABELS, ClassifyOptions, classify_map
from cogdyn.dynamics.maps import FrozenInputMap
from cogdyn.dynamics.step_map import frozen_input_map
from cogdyn.schema import stamp
from cogdyn.tasks.base import STIMULUS
from cogdyn.tasks.neurogym import period_id
from cogdyn.tasks.registry import make_task


def condition_inputs_of(task: Any, n_trials: int = 64, seed: int = 0) -> tuple[Any, int]:
    """The task's frozen condition inputs (``task.frozen_inputs``) and the index of its
    stimulus period among them; ValueError when it has none (no census to take)."""
    frozen = task.frozen_inputs(n_trials=n_trials, seed=seed)
    stim = [j for j, p in enumerate(frozen.periods) if period_id(p) == STIMULUS]
    if not stim:
        raise ValueError(f"{task.name} has no stimulus period among {frozen.periods}")
    return frozen, stim[0]


def condition_census(
    model: Any,
    task: Any,
    classify: ClassifyOptions | None = None,
    *,
    n_trials: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Classify the attractor of each trial condition's frozen stimulus input; one row each.

    ``task`` is a :class:`~cogdyn.tasks.neurogym.NeurogymTask`. Columns: the condition's
    variables and ``n_trials`` (trials it had among ``n_trials``), then ``label``, ``lyap1`` …,
    ``period``, ``frequency``, ``amplitude``, ``final_norm``.
    """
    frozen, j = condition_inputs_of(task, n_trials=n_trials, seed=seed)
    lengths = _mean_steps(task, seed)
    n_cond = frozen.inputs.shape[0]
    h = torch.zeros(n_cond, model.hidden, dtype=torch.float64)
    with torch.no_grad():
        for k, name in enumerate(frozen.periods[:j]):
            x = torch.as_tensor(np.nan_to_num(frozen.inputs[:, k]))
            fmap = frozen_input_map(model, x)
            for _ in range(lengths.get(name, 0)):
                h = fmap.step(h)
    fmap = frozen_input_map(model, torch.as_tensor(frozen.inputs[:, j]))
    tangent = fmap.tangent_from_next if isinstance(fmap, FrozenInputMap) else None
    result = classify_map(fmap.step, h, tangent=tangent, options=classify)
    table = frozen.conditions.copy()
    table["label"] = pd.Categorical(result.labels, categories=list(LABELS))
    lyap = result.lyapunov.cpu().numpy()
    for i in range(lyap.shape[1]):
        table[f"lyap{i + 1}"] = lyap[:, i]
    table["period"] = result.period.cpu().numpy()
    table["frequency"] = result.frequency.cpu().numpy()
    table["amplitude"] = result.amplitude.cpu().numpy()
    table["final_norm"] = result.final.norm(dim=-1).cpu().numpy()
    return table


def _mean_steps(task: Any, seed: int, n: int = 64) -> dict[str, int]:
    """Mean number of steps of each period over ``n`` trials, rounded."""
    task.seed(seed)
    total: dict[str, int] = {}
    for _ in range(n):
        for name, (lo, hi) in task.new_trial().spans.items():
            total[name] = total.get(name, 0) + (hi - lo)
    return {name: round(steps / n) for name, steps in total.items()}


def condition_census_summary(table: pd.DataFrame) -> dict[str, Any]:
    """F_QP (over all conditions and over bounded ones), divergent fraction, label counts."""
    counts = table["label"].value_counts()
    n = len(table)
    bounded = n - int(counts.get("divergent", 0))
    qp = int(counts.get("quasi_periodic", 0))
    return {
        "n_grid_points": n,
        "frac_qp": qp / n if n else 0.0,
        "frac_qp_bounded": qp / bounded if bounded else None,
        "frac_divergent": int(counts.get("divergent", 0)) / n if n else 0.0,
        "label_counts": {label: int(counts.get(label, 0)) for label in LABELS},
    }


def analyze_condition_run(
    run_dir: str | Path,
    *,
    checkpoints: str = "post",
    classify: ClassifyOptions | None = None,
    n_trials: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """The condition census of the selected checkpoints of a (neurogym) run; see the module."""

    run_dir = Path(run_dir)
    config, final_model = io.load_run(run_dir)
    train_summary = io.read_summary(run_dir)
    task = make_task(config.task)
    start = time.perf_counter()
    tables, records = [], []
    for ck in select_checkpoints(train_summary, checkpoints):
        model = final_model if ck.kind == "final" else io.load_model(run_dir / ck.file)
        table = condition_census(model, task, classify, n_trials=n_trials, seed=seed)
        meta = {"checkpoint": ck.name, "kind": ck.kind, "update": ck.update}
        tables.append(table.assign(**meta, accuracy=float(ck.accuracy)))
        records.append({**meta, "accuracy": ck.accuracy, "census": condition_census_summary(table)})
    out = run_dir / io.ANALYSIS_DIR
    attractors = pd.concat(tables, ignore_index=True)
    io.atomic_write_bytes(io.analysis_file(run_dir, "attractors"), attractors.to_parquet())
    summary = _summary(records, train_summary, task.name)
    summary["wall_s"] = round(time.perf_counter() - start, 2)
    io.write_json(out / io.SUMMARY_FILE, stamp(summary))
    return summary


def _summary(records: list[dict[str, Any]], train: dict[str, Any], task: str) -> dict[str, Any]:
    post = [r for r in records if r["kind"] in POST_KINDS]
    final = next((r for r in records if r["kind"] == "final"), records[-1])
    init = next((r for r in records if r["kind"] == "init"), None)
    head = [r["census"] for r in (post or [final])]
    bounded = [c["frac_qp_bounded"] for c in head if c["frac_qp_bounded"] is not None]
    return {
        "task": task,
        "algo": train.get("algo"),
        "delta": train.get("delta"),
        "seed": train.get("seed"),
        "accuracy": train.get("accuracy"),
        "headline_over": "post_criterion" if post else "final",
        "frac_qp": {
            **stats([c["frac_qp"] for c in head]),
            "per_checkpoint": [
                {k: r[k] for k in ("checkpoint", "kind", "update", "accuracy")}
                | {"frac_qp": r["census"]["frac_qp"]}
                for r in (post or [final])
            ],
        },
        "frac_qp_bounded": stats(bounded),
        "frac_qp_untrained": init["census"]["frac_qp"] if init else None,
        "frac_qp_final": final["census"]["frac_qp"],
        "frac_divergent": float(np.mean([c["frac_divergent"] for c in head])),
        "label_counts_mean": {
            k: float(np.mean([c["label_counts"][k] for c in head])) for k in LABELS
        },
        "grid": {"conditions": final["census"]["n_grid_points"], "phase": "stimulus"},
        "checkpoints": records,
    }
