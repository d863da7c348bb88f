"""``cogdyn eval``: evaluate a saved run on fresh trials and write its tables and figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from cogdyn import io
from cogdyn.behaviour import (
    check_trials_memory,
    condition_table,
    evaluate,
    output_probabilities,
    plot_output_probabilities,
    psychometric_table,
)
from cogdyn.tasks import make_task


def evaluate_run(run_dir: str | Path, *, n_trials: int = 2000, seed: int = 12345) -> dict[str, Any]:
    """Accuracy on fresh trials, the psychometric table and output probabilities over time.

    Writes ``eval/psychometric.csv``, ``eval/output_probabilities.csv``, ``eval/
    output_probabilities.png`` and ``eval/summary.json`` in the run directory. A neurogym task
    writes ``eval/conditions.csv`` (accuracy per trial condition) instead of the CtxDM tables.
    """
    run_dir = Path(run_dir)
    config, model = io.load_run(run_dir)
    check_trials_memory(config.task, n_trials, config.model.hidden, "--trials")
    task = make_task(config.task)
    batch = task.sample(n_trials, torch.Generator().manual_seed(seed))
    ev = evaluate(model, task, batch)
    out = run_dir / io.EVAL_DIR
    if not config.task.is_ctxdm:
        files = {"conditions": out / "conditions.csv"}
        table = condition_table(batch, ev.outcome)
        io.atomic_write_bytes(files["conditions"], table.to_csv(index=False).encode())
        result = {
            "task": config.task.name,
            "accuracy": ev.accuracy,
            "fix_break_rate": ev.fix_break_rate,
            "no_response_rate": ev.no_response_rate,
            "n_trials": n_trials,
            "seed": seed,
            "ideal_observer_accuracy": None,
        }
        io.write_json(out / io.SUMMARY_FILE, result)
        return {**result, "files": {k: str(v) for k, v in files.items()}}
    psych = psychometric_table(batch, ev.outcome)
    probs = output_probabilities(model, task, seed=seed)
    files = {
        "psychometric": out / "psychometric.csv",
        "output_probabilities": out / "output_probabilities.csv",
        "figure": out / "output_probabilities.png",
    }
    io.atomic_write_bytes(files["psychometric"], psych.to_csv(index=False).encode())
    io.atomic_write_bytes(files["output_probabilities"], probs.to_csv(index=False).encode())
    plot_output_probabilities(probs, files["figure"])
    result = {
        "accuracy": ev.accuracy,
        "fix_break_rate": ev.fix_break_rate,
        "no_response_rate": ev.no_response_rate,
        "n_trials": n_trials,
        "seed": seed,
        "ideal_observer_accuracy": task.ideal_observer_accuracy,
    }
    io.write_json(out / io.SUMMARY_FILE, result)
    return {**result, "files": {k: str(v) for k, v in files.items()}}
