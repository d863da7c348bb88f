"""What supervised and PPO training share: the run directory, the held-out evaluation, the stop
criterion, checkpoints and the summary.

An algorithm is an :class:`Updater`: it owns its optimiser and draws its own trials, and each call
of ``update()`` performs one parameter update and reports what it consumed. :func:`run_training`
does the rest, identically for both paradigms, so their outputs line up column for column.

Checkpoints: at initialisation (update 0), at log-spaced update counts (four per decade), at every
evaluation after the criterion is first met (``post_criterion_evals`` of them), and the saved
model. Each is evaluated on the held-out trials (``accuracy``) and on fresh trials
(``fresh_accuracy``), and both are stored in its JSON sidecar.

Two batches of trials, from two seed streams that training never draws from:

* the **held-out** trials (``eval_trials`` of them) decide everything that is chosen: when the
  criterion is met and which checkpoint becomes ``model.safetensors``;
* the **fresh** trials (as many, from their own stream) decide nothing; they only score. A
  checkpoint chosen because it scored ≥ the criterion on the held-out trials is, on those same
  trials, biased upwards (the first evaluation to cross 0.95 is partly a lucky draw); its fresh
  accuracy is not. ``summary.json``'s ``accuracy`` is the saved model's fresh accuracy.

The saved model is the last evaluation at the criterion on the held-out trials: the final
weights when the last post-criterion evaluation is at the criterion (``model_selection``
says which), the criterion checkpoint at worst. A run that never met the criterion saves its
final weights.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from cogdyn import io
from cogdyn.behaviour import evaluate
from cogdyn.config import ConfigError, RunConfig
from cogdyn.devices import resolve_device
from cogdyn.errors import RunFailed
from cogdyn.models import VanillaRNN
from cogdyn.progress import progress_bar
from cogdyn.schema import stamp
from cogdyn.tasks import TrialTask, make_task
from cogdyn.train.resume import clear_resume, load_resume, save_resume
from cogdyn.train.tensorboard import ScalarLog


class TrainingDiverged(RunFailed):
    """Training produced a non-finite loss: the run is recorded as failed (``failure.json`` in
    its directory, with the reason), not saved as done."""


class Updater(Protocol):
    """One training algorithm. ``update()`` does one parameter update and returns its stats,
    which must include ``trials`` and ``env_steps`` consumed by that update. An updater may also
    have ``hold()``: called once the criterion is met (and again on resuming a run past it), to
    switch to the step size that keeps a solution rather than finds one."""

    def update(self) -> dict[str, float]: ...


@dataclass(frozen=True)
class Seeds:
    """Independent random streams derived from the run's one seed."""

    init: int
    train: int
    eval: int
    """The held-out trials: the criterion and the choice of the saved model."""
    fresh: int
    """The fresh trials: they score checkpoints and the saved model, and choose nothing."""

    @staticmethod
    def from_seed(seed: int) -> Seeds:
        # the first three words are those of generate_state(3): the streams that existed before
        # ``fresh`` are unchanged, so runs trained before it was added are reproduced exactly
        children = np.random.SeedSequence(seed).generate_state(4, dtype=np.uint64)
        return Seeds(*(int(c) & 0x7FFF_FFFF_FFFF_FFFF for c in children))


def log_spaced_updates(limit: int, per_decade: int = 4) -> set[int]:
    """Update counts 1, 2, 3, 6, 10, 18, 32, 56, 100, ... up to ``limit``."""
    out: set[int] = set()
    k = 0
    while True:
        u = round(10 ** (k / per_decade))
        if u > limit:
            return out
        out.add(u)
        k += 1


def choose_model(
    checkpoints: list[dict[str, Any]], target: float, reached: bool
) -> tuple[dict[str, Any] | None, str]:
    """The checkpoint that becomes ``model.safetensors``, and how it was chosen.

    The last criterion or post-criterion checkpoint whose *held-out* accuracy is at ``target``
    (the criterion checkpoint always is); None — the final weights — when the criterion was
    never met. Fresh-trial accuracies play no part, so they stay an unbiased score of the choice.
    """
    if not reached:
        return None, "final weights (the criterion was never met)"
    at = [
        c
        for c in checkpoints
        if c["kind"] in ("criterion", "post_criterion") and c["accuracy"] >= target
    ]
    chosen = at[-1]
    last = checkpoints[-1]
    if chosen is last:
        return chosen, "last evaluation, at the criterion on the held-out trials"
    return chosen, (
        "last evaluation at the criterion on the held-out trials (update "
        f"{chosen['update']}; the final weights, update {last['update']}, were below it)"
    )


def run_training(
    config: RunConfig,
    out_dir: str | Path,
    make_updater: Callable[[VanillaRNN, TrialTask, torch.Generator, torch.device], Updater],
    *,
    progress: bool | None = None,
    resume: bool = False,
    tensorboard: str | Path | None = None,
) -> dict[str, Any]:
    """Train one network into ``out_dir`` and return its summary (also in ``summary.json``).

    With ``resume``, a run interrupted in ``out_dir`` (same config) continues from its last
    evaluation (:mod:`cogdyn.train.resume`) and ends exactly as an uninterrupted run would.
    A non-finite loss stops training with :class:`TrainingDiverged`. ``tensorboard``: a
    directory where every evaluation's metrics are also logged as TensorBoard scalars.
    """
    tc = config.train
    task = make_task(config.task)
    task.check_target(tc.target_accuracy)
    device = resolve_device(tc.device)
    if tc.threads:
        torch.set_num_threads(tc.threads)

    out = _open_run_dir(Path(out_dir), config, device, resume)

    seeds = Seeds.from_seed(tc.seed)
    model = VanillaRNN(
        task.n_inputs, task.n_actions, config.model, torch.Generator().manual_seed(seeds.init)
    ).to(device)
    eval_batch = task.sample(tc.eval_trials, torch.Generator().manual_seed(seeds.eval)).to(device)
    fresh_batch = task.sample(tc.eval_trials, torch.Generator().manual_seed(seeds.fresh)).to(device)
    updater = make_updater(model, task, torch.Generator().manual_seed(seeds.train), device)

    model_meta = {"model": dataclasses.asdict(config.model), "n_inputs": task.n_inputs}
    checkpoints: list[dict[str, Any]] = []

    def checkpoint(kind: str, update: int, accuracy: float, fresh: float) -> None:
        name = f"{io.CHECKPOINT_DIR}/update_{update:07d}.safetensors"
        scores = {"accuracy": accuracy, "fresh_accuracy": fresh}
        io.save_model(model, out / name, {**model_meta, "kind": kind, "update": update, **scores})
        checkpoints.append({"file": name, "kind": kind, "update": update, **scores})

    log_points = log_spaced_updates(tc.max_updates)
    rows: list[dict[str, Any]] = []
    totals = {"trials": 0, "env_steps": 0}
    reached_at: dict[str, Any] | None = None
    post_done = 0
    update, elapsed = 0, 0.0
    book = load_resume(out, model, updater) if resume else None
    if book is None:
        accuracy = evaluate(model, task, eval_batch).accuracy
        checkpoint("init", 0, accuracy, evaluate(model, task, fresh_batch).accuracy)
    else:
        update, elapsed, rows = book["update"], book["wall_s"], book["rows"]
        totals, reached_at, post_done = book["totals"], book["reached_at"], book["post_done"]
        checkpoints.extend(book["checkpoints"])
        if reached_at is not None and hasattr(updater, "hold"):
            updater.hold()  # its optimiser state, restored, already holds the adapted step size
    start = time.perf_counter() - elapsed
    last_stats: dict[str, float] = {}
    show = sys.stderr.isatty() if progress is None else progress
    board = ScalarLog(tensorboard) if tensorboard is not None else None

    with progress_bar(show) as bar:
        job = bar.add_task(
            f"{tc.algo} δ={config.model.delta} seed={tc.seed}", total=tc.max_updates, status=""
        )
        bar.update(job, completed=update)
        while update < tc.max_updates:
            last_stats = updater.update()
            update += 1
            if not np.isfinite(last_stats.get("loss", 0.0)):
                _diverged(out, config, update)
            totals["trials"] += int(last_stats["trials"])
            totals["env_steps"] += int(last_stats["env_steps"])
            is_eval = update % tc.eval_every == 0 or update == tc.max_updates
            if not (is_eval or update in log_points):
                bar.advance(job)
                continue
            ev = evaluate(model, task, eval_batch)
            accuracy = ev.accuracy
            fresh = evaluate(model, task, fresh_batch).accuracy
            wall = time.perf_counter() - start
            if is_eval:
                rows.append(_metrics_row(update, totals, wall, ev, fresh, last_stats))
                io.write_csv(out / io.METRICS_FILE, rows)
                if board is not None:
                    board.log(rows[-1])
            kind = None
            if reached_at is not None and is_eval:
                post_done += 1
                kind = "post_criterion"
            elif is_eval and _at_criterion(rows, tc.target_accuracy, tc.criterion_evals):
                reached_at = {"update": update, "wall_s": wall, **totals}
                kind = "criterion"
                if hasattr(updater, "hold"):
                    updater.hold()
            elif update in log_points:
                kind = "log"
            if kind is not None:
                checkpoint(kind, update, accuracy, fresh)
            loss = last_stats.get("loss", float("nan"))
            status = f"acc {accuracy:.3f}  return {ev.mean_return:+.3f}  loss {loss:.3f}"
            bar.update(job, advance=1, status=status)
            if reached_at is not None and post_done >= tc.post_criterion_evals:
                break
            if is_eval:
                book = {"update": update, "wall_s": wall, "rows": rows, "totals": totals}
                book.update(reached_at=reached_at, post_done=post_done, checkpoints=checkpoints)
                save_resume(out, model, updater, book)

    if board is not None:
        board.close()
    wall = time.perf_counter() - start
    chosen, selection = choose_model(checkpoints, tc.target_accuracy, reached_at is not None)
    if chosen is not None and chosen["update"] != update:
        model.load_state_dict(io.load_state(out / chosen["file"])[0])
    held_out, final = evaluate(model, task, eval_batch), evaluate(model, task, fresh_batch)
    model_update = update if chosen is None else int(chosen["update"])
    meta = {**model_meta, "kind": "final", "update": model_update}
    meta.update(accuracy=held_out.accuracy, fresh_accuracy=final.accuracy)
    meta.update(checkpoint=None if chosen is None else chosen["file"], selection=selection)
    io.save_model(model, out / io.MODEL_FILE, meta)
    summary = _summary(
        config,
        task,
        device,
        final=final,
        held_out=held_out,
        chosen=chosen,
        selection=selection,
        model_update=model_update,
        reached_at=reached_at,
        update=update,
        totals=totals,
        wall=wall,
        checkpoints=checkpoints,
    )
    io.write_json(out / io.SUMMARY_FILE, stamp(summary))
    clear_resume(out)
    return summary


def _at_criterion(rows: list[dict[str, Any]], target: float, n: int) -> bool:
    """Whether the last ``n`` evaluations (``metrics.csv`` rows, the current one last) all
    reached ``target`` on the held-out trials. Read from the rows rather than counted, so a
    resumed run (whose rows come back from ``resume.json``) decides exactly as it would have."""
    return len(rows) >= n and all(r["accuracy"] >= target for r in rows[-n:])


def _metrics_row(
    update: int,
    totals: dict[str, int],
    wall: float,
    ev: Any,
    fresh: float,
    stats: dict[str, float],
) -> dict[str, Any]:
    """One row of ``metrics.csv``: the held-out evaluation, the fresh-trial accuracy, then the
    updater's own statistics, which never replace an evaluation column (PPO's rollout return
    is ``train_return``, not the greedy ``mean_return``)."""
    row: dict[str, Any] = {
        "update": update,
        "trials": totals["trials"],
        "env_steps": totals["env_steps"],
        "wall_s": round(wall, 4),
        "accuracy": ev.accuracy,
        "fix_break_rate": ev.fix_break_rate,
        "no_response_rate": ev.no_response_rate,
        "mean_return": ev.mean_return,
        "fresh_accuracy": fresh,
    }
    row.update({k: float(v) for k, v in stats.items() if k not in totals | row})
    return row


def _open_run_dir(out: Path, config: RunConfig, device: torch.device, resume: bool) -> Path:
    """Create the run directory and write ``config.json`` and ``env.json``; with ``resume``, a
    directory holding another config is refused (compared as this cogdyn reads both, so a field
    added since the run began is at its default)."""
    out.mkdir(parents=True, exist_ok=True)
    if resume and (out / io.CONFIG_FILE).is_file():
        old = io.as_written(io.read_config(out).to_json())
        if old != io.as_written(config.to_json()):
            raise ConfigError("resume", f"{out} holds a run with a different config")
    io.write_json(out / io.CONFIG_FILE, stamp(config.to_json()))
    (out / io.FAILURE_FILE).unlink(missing_ok=True)  # a failure of an earlier attempt
    io.write_json(out / io.ENV_FILE, io.environment_info(str(device)))
    return out


def _diverged(out: Path, config: RunConfig, update: int) -> None:
    """Record a non-finite loss as the run's failure and raise :class:`TrainingDiverged`."""
    reason = f"training diverged: non-finite loss at update {update}"
    record = {"status": "failed", "stage": "train", "error": reason, "update": update}
    io.write_json(out / io.FAILURE_FILE, stamp(record))
    advice = f"lower model.delta ({config.model.delta:g}) or train.lr ({config.train.lr:g})"
    raise TrainingDiverged(f"{reason}; {advice}", out / io.FAILURE_FILE)


def _summary(
    config: RunConfig,
    task: TrialTask,
    device: torch.device,
    *,
    final: Any,
    held_out: Any,
    chosen: dict[str, Any] | None,
    selection: str,
    model_update: int,
    reached_at: dict[str, Any] | None,
    update: int,
    totals: dict[str, int],
    wall: float,
    checkpoints: list[dict[str, Any]],
) -> dict[str, Any]:
    """``summary.json`` of a finished run: what was trained, the saved model's scores (fresh
    and held-out trials), how it was chosen, and the cost to the criterion."""
    tc = config.train
    return {
        "algo": tc.algo,
        "delta": config.model.delta,
        "seed": tc.seed,
        "hidden": config.model.hidden,
        "alpha": config.model.alpha,
        **({} if config.task.is_ctxdm else {"task": config.task.name}),
        "dim_ring": config.task.dim_ring if config.task.is_ctxdm else None,
        "sigma": config.task.sigma if config.task.is_ctxdm else None,
        # the saved model on the fresh trials, which chose nothing
        "accuracy": final.accuracy,
        "fix_break_rate": final.fix_break_rate,
        "mean_return": final.mean_return,
        "heldout_accuracy": held_out.accuracy,
        "model_checkpoint": None if chosen is None else chosen["file"],
        "model_update": model_update,
        "model_selection": selection,
        "target_accuracy": tc.target_accuracy,
        "ideal_observer_accuracy": task.ideal_observer_accuracy,
        "reached_criterion": reached_at is not None,
        "updates": update,
        "trials": totals["trials"],
        "env_steps": totals["env_steps"],
        "wall_s": round(wall, 3),
        "env_steps_per_s": round(totals["env_steps"] / wall, 1) if wall > 0 else None,
        "updates_to_criterion": reached_at["update"] if reached_at else None,
        "trials_to_criterion": reached_at["trials"] if reached_at else None,
        "env_steps_to_criterion": reached_at["env_steps"] if reached_at else None,
        "wall_s_to_criterion": round(reached_at["wall_s"], 3) if reached_at else None,
        "device": str(device),
        "checkpoints": checkpoints,
    }
