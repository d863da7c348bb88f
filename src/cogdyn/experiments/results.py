"""The results table of a sweep: ``DIR/results.parquet``, one row per cell, in grid order.

Columns: the swept parameters (``algo``, ``delta``, ``seed``, ``dim_ring``, ``coherences`` as
text such as ``"5,15,50"``, ``sigma`` when swept, and one column per swept setting named by its
dotted key, e.g. ``train.lr``: numbers, strings or booleans as they are, anything else, such
as a duration table, as compact JSON text, :func:`setting_text`), ``status`` (``done``,
``failed`` or ``pending``), ``stage`` and ``error`` of a failure, ``run_dir`` (relative to
DIR), the training outcome and the analysis headline numbers (:data:`TRAIN_COLUMNS`,
:data:`ANALYSIS_COLUMNS`; missing values are NaN only where a cell has no such number, e.g. a
failed cell or a run that never reached the criterion). :data:`TIMING_COLUMNS` are the only
ones that differ between two runs of the same sweep.
"""

from __future__ import annotations

import io as _bytes_io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cogdyn import io
from cogdyn.dynamics.classify import LABELS
from cogdyn.errors import ConfigError, UnreadableFile
from cogdyn.experiments.cell import read_record
from cogdyn.experiments.spec import Sweep, is_setting_axis
from cogdyn.io import RESULTS_FILE, RUNS_DIR
from cogdyn.schema import SCHEMA_KEY, SCHEMA_VERSION, check_version

TRAIN_COLUMNS: tuple[str, ...] = (
    "accuracy",
    "reached_criterion",
    "updates",
    "trials",
    "env_steps",
    "wall_s",
    "updates_to_criterion",
    "trials_to_criterion",
    "env_steps_to_criterion",
    "mean_return",
    "ideal_observer_accuracy",
)
ANALYSIS_COLUMNS: tuple[str, ...] = (
    "frac_qp",
    "frac_qp_std",
    "frac_qp_min",
    "frac_qp_max",
    "n_checkpoints",
    "frac_qp_bounded",
    "frac_qp_untrained",
    "frac_qp_final",
    "frac_qp_ctx0",
    "frac_qp_ctx1",
    "frac_divergent",
    *(f"n_{label}" for label in LABELS),
    "frac_osc",
    "frac_qp_torus",
    "stable_fp_per_choice",
    "frac_ckpt_fp_per_choice_delay",
    "frac_ckpt_fp_per_choice_decision",
    "stable_fp_per_choice_delay",
    "stable_fp_per_choice_decision",
    "basin_agreement_delay",
    "basin_agreement_decision",
    "analysed_accuracy",
    "analysed_accuracy_min",
    "n_checkpoints_excluded",
    "analysis_s",
)
TIMING_COLUMNS: tuple[str, ...] = ("wall_s", "analysis_s")
POPULATION_KEYS: dict[str, str] = {
    "balance_index": "balance_index",
    "group_sizes": "group",
    "robustness": "robust",
    "selective_fraction": "selective",
    "fc_density": "fc_density",
    "fc_modularity": "fc_modularity",
    "fc_degree_mean": "fc_degree_mean",
    "crystallisation_ms": "crystallisation_ms",
    "decoder_max_accuracy": "decoder_max_accuracy",
    "group_turnover": "group_turnover",
}
"""Headline numbers of the population analyses (analysis summary key → column or column
prefix), copied when the analysis summary has them: a stats dict gives its mean, a dict of
numbers one column per entry (``robust_ablate_random``, ``selective_context``, ...)."""


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _train_row(summary: dict[str, Any]) -> dict[str, Any]:
    row = {k: _num(summary.get(k)) for k in TRAIN_COLUMNS if k != "reached_criterion"}
    row["reached_criterion"] = bool(summary.get("reached_criterion", False))
    return row


def analysis_row(summary: dict[str, Any]) -> dict[str, Any]:
    """The results-table columns of one run's ``analysis/summary.json``."""
    fq = summary.get("frac_qp", {})
    by_ctx = summary.get("frac_qp_by_context", {})
    counts = summary.get("label_counts_mean", {})
    row: dict[str, Any] = {
        "frac_qp": _num(fq.get("mean")),
        "frac_qp_std": _num(fq.get("std")),
        "frac_qp_min": _num(fq.get("min")),
        "frac_qp_max": _num(fq.get("max")),
        "n_checkpoints": _num(fq.get("n")),
        "frac_qp_bounded": _num(summary.get("frac_qp_bounded", {}).get("mean")),
        "frac_qp_untrained": _num(summary.get("frac_qp_untrained")),
        "frac_qp_final": _num(summary.get("frac_qp_final")),
        "frac_qp_ctx0": _num(by_ctx.get("0")),
        "frac_qp_ctx1": _num(by_ctx.get("1")),
        "frac_divergent": _num(summary.get("frac_divergent")),
        "frac_osc": _num(summary.get("frac_osc", {}).get("mean")),
        "frac_qp_torus": _num(summary.get("frac_qp_torus")),
        "analysed_accuracy": _num(summary.get("analysed_accuracy", {}).get("mean")),
        "analysed_accuracy_min": _num(summary.get("analysed_accuracy_min")),
        "n_checkpoints_excluded": _num(summary.get("n_checkpoints_excluded")),
        **{f"n_{label}": _num(counts.get(label)) for label in LABELS},
        "stable_fp_per_choice": bool(summary.get("stable_fp_per_choice") or False),
        "analysis_s": _num(summary.get("wall_s")),
    }
    per_choice = summary.get("frac_checkpoints_stable_fp_per_choice", {})
    for phase in ("delay", "decision"):
        row[f"frac_ckpt_fp_per_choice_{phase}"] = _num(per_choice.get(phase))
        row[f"stable_fp_per_choice_{phase}"] = _num(summary.get(f"stable_fp_per_choice_{phase}"))
        row[f"basin_agreement_{phase}"] = _num(summary.get(f"basin_agreement_{phase}"))
    for key, column in POPULATION_KEYS.items():
        if key in summary:
            row.update(_flatten(column, summary[key]))
    return row


def _flatten(key: str, value: Any) -> dict[str, float]:
    """Numbers of a (nested) summary entry as columns: ``mean`` stands for a stats dict."""
    if isinstance(value, bool | int | float) or value is None:
        return {key: _num(value)}
    if isinstance(value, dict):
        if "mean" in value and "std" in value:
            return {key: _num(value["mean"])}
        out: dict[str, float] = {}
        for k, v in value.items():
            out.update(_flatten(f"{key}_{k}", v))
        return out
    return {}


def text_axes(grid: dict[str, list[Any]]) -> frozenset[str]:
    """The swept settings (dotted axes) whose column holds text: those whose values are not all
    numbers, all strings or all booleans (a duration table, a list, a number beside a table),
    so that every column has one type."""

    def kind(v: Any) -> str:
        if isinstance(v, bool):
            return "bool"
        return "number" if isinstance(v, int | float) else "str" if isinstance(v, str) else ""

    out = set()
    for axis, values in grid.items():
        kinds = {kind(v) for v in values}
        if is_setting_axis(axis) and (len(kinds) > 1 or "" in kinds):
            out.add(axis)
    return frozenset(out)


def setting_text(value: Any) -> str:
    """A swept setting's value as table text: compact JSON with sorted keys
    (``{"dist":"uniform","max":1500,"min":300}``, ``750``, ``[1,2]``)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def table_params(params: dict[str, Any], texts: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A cell's swept values as table columns (a coherence set as one "5,15,50" string; a swept
    setting of :func:`text_axes` as :func:`setting_text`)."""
    out = dict(params)
    if "coherences" in out:
        out["coherences"] = ",".join(f"{c:g}" for c in out["coherences"])
    for axis in texts & out.keys():
        out[axis] = setting_text(out[axis])
    return out


def collect_results(sweep_dir: str | Path, sweep: Sweep) -> pd.DataFrame:
    """One row per cell from the files of its run directory (pending cells included)."""
    sweep_dir = Path(sweep_dir)
    texts = text_axes(sweep.grid)
    rows = []
    for cell in sweep.cells:
        params = table_params(cell.params, texts)
        row: dict[str, Any] = {"cell": cell.id, **params}
        record = read_record(sweep_dir, cell.id)
        row["status"] = record["status"] if record else "pending"
        row["stage"] = record.get("stage", "") if record else ""
        row["error"] = record.get("error", "") if record else ""
        row["run_dir"] = f"{RUNS_DIR}/{cell.id}"
        rd = sweep_dir / RUNS_DIR / cell.id
        train = _summary_or_none(rd / io.SUMMARY_FILE)
        if train is not None:
            row.update(_train_row(train))
        analysis = _summary_or_none(rd / io.ANALYSIS_DIR / io.SUMMARY_FILE)
        if analysis is not None:
            row.update(analysis_row(analysis))
        rows.append(row)
    frame = pd.DataFrame(rows)
    for col in (*TRAIN_COLUMNS, *ANALYSIS_COLUMNS):
        if col not in frame:
            frame[col] = False if col in ("reached_criterion", "stable_fp_per_choice") else np.nan
    return frame


CHECKPOINT_COLUMNS: tuple[str, ...] = (
    "checkpoint",
    "kind",
    "update",
    "accuracy",
    "analysed_accuracy",
    "headline",
    "frac_qp",
    "frac_qp_bounded",
    "frac_osc",
    "frac_divergent",
)


def collect_checkpoints(sweep_dir: str | Path, sweep: Sweep) -> pd.DataFrame:
    """One row per done cell × analysed checkpoint: the cell's parameters, the checkpoint, its
    fresh-trial accuracy, whether it is a headline checkpoint, and its census numbers (what the
    variance decomposition of :mod:`cogdyn.experiments.effects` reads)."""
    sweep_dir = Path(sweep_dir)
    texts = text_axes(sweep.grid)
    rows = []
    for cell in sweep.cells:
        record = read_record(sweep_dir, cell.id)
        path = sweep_dir / RUNS_DIR / cell.id / io.ANALYSIS_DIR / io.SUMMARY_FILE
        if not record or record.get("status") != "done" or not path.is_file():
            continue
        summary = io.read_json(path)
        params = table_params(cell.params, texts)
        head = set(summary.get("headline_checkpoints") or [])
        for r in summary.get("checkpoints", []):
            census = r.get("census") or {}
            rows.append(
                {
                    "cell": cell.id,
                    **params,
                    "checkpoint": r.get("checkpoint"),
                    "kind": r.get("kind"),
                    "update": _num(r.get("update")),
                    "accuracy": _num(r.get("accuracy")),
                    "analysed_accuracy": _num(r.get("analysed_accuracy")),
                    "headline": r.get("checkpoint") in head,
                    **{k: _num(census.get(k)) for k in CHECKPOINT_COLUMNS[6:]},
                }
            )
    frame = pd.DataFrame(rows)
    for col in CHECKPOINT_COLUMNS:
        if col not in frame:
            frame[col] = pd.Series(dtype=bool if col == "headline" else float)
    return frame


def _summary_or_none(path: Path) -> dict[str, Any] | None:
    """A summary for the table, or None when missing or unreadable (its numbers are then NaN;
    the numbers of a garbled summary are not worth a failed table)."""
    if not path.is_file():
        return None
    try:
        data = io.read_json_object(path)
        _train_row(data)
        analysis_row(data)
    except UnreadableFile:
        return None
    except ConfigError:  # written by a newer cogdyn: refused, not misread
        raise
    except (OSError, TypeError, ValueError, AttributeError):
        return None
    return data


def write_results(sweep_dir: str | Path, sweep: Sweep) -> pd.DataFrame:
    """Collect and atomically write ``DIR/results.parquet`` (its Parquet metadata holds
    ``schema_version``) and ``DIR/checkpoints.parquet``."""
    frame = collect_results(sweep_dir, sweep)
    io.atomic_write_bytes(Path(sweep_dir) / RESULTS_FILE, results_parquet(frame))
    checkpoints = collect_checkpoints(sweep_dir, sweep)
    io.atomic_write_bytes(
        Path(sweep_dir) / io.CHECKPOINTS_FILE, checkpoints.to_parquet(index=False)
    )
    return frame


def results_parquet(frame: pd.DataFrame) -> bytes:
    """``frame`` as Parquet bytes with ``schema_version`` in the file's key-value metadata."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = {**(table.schema.metadata or {}), SCHEMA_KEY.encode(): str(SCHEMA_VERSION).encode()}
    buf = _bytes_io.BytesIO()
    pq.write_table(table.replace_schema_metadata(meta), buf)
    return buf.getvalue()


def results_version(path: str | Path) -> int:
    """The ``schema_version`` in a results file's metadata (0 when it has none)."""
    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(SCHEMA_KEY.encode())
    try:
        version = None if raw is None else int(raw)
    except ValueError:
        version = -1
    return check_version(version, path)


def read_results(sweep_dir: str | Path) -> pd.DataFrame:
    """``DIR/results.parquet``; FileNotFoundError (one line) when the sweep has none,
    UnreadableFile when it is truncated or garbled."""
    path = Path(sweep_dir) / RESULTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{sweep_dir} has no {RESULTS_FILE}: run `cogdyn sweep` first")
    advice = f"rerun `cogdyn sweep` on {sweep_dir} to rewrite it"
    try:
        results_version(path)
        frame = pd.read_parquet(path)
    except ConfigError:
        raise
    except (OSError, ValueError, pa.ArrowException) as e:
        text = str(e).strip().splitlines()
        raise UnreadableFile(path, text[0] if text else type(e).__name__, advice) from None
    if "cell" not in frame or "status" not in frame:
        raise UnreadableFile(path, "no cell and status columns: not a results table", advice)
    return frame


SHOWN = (
    "cell",
    "status",
    "accuracy",
    "updates_to_criterion",
    "wall_s",
    "frac_qp",
    "frac_qp_std",
    "frac_qp_bounded",
    "frac_qp_untrained",
    "n_divergent",
    "error",
)


def format_table(frame: pd.DataFrame) -> str:
    """A readable plain-text table of the main columns."""
    cols = [c for c in SHOWN if c in frame]
    view = frame[cols].copy()

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return "—" if math.isnan(v) else f"{v:.3f}" if abs(v) < 100 else f"{v:.0f}"
        return str(v)

    cells = [[fmt(v) for v in row] for row in view.itertuples(index=False)]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def representative_row(table: pd.DataFrame, root: str | Path, algo: str) -> dict[str, Any] | None:
    """The done cell of ``algo`` whose F_QP is nearest the median of its paradigm (ties: the
    lower seed, then the lower δ), preferring cells whose run directory (relative to ``root``)
    is there to read; its results row, or None when the paradigm has no finished cell."""
    done = table[table["status"] == "done"] if "status" in table else table
    if "algo" not in done:
        return None
    rows = done[done["algo"] == algo]
    if "frac_qp" in rows:
        rows = rows[rows["frac_qp"].notna()]
    if rows.empty:
        return None
    if "run_dir" in rows:
        present = rows["run_dir"].map(lambda d: (Path(root) / str(d)).is_dir())
        rows = rows[present] if present.any() else rows
    med = rows["frac_qp"].median()
    order = rows.assign(_dist=(rows["frac_qp"] - med).abs())
    keys = [k for k in ("_dist", "seed", "delta") if k in order]
    return order.sort_values(keys, kind="stable").iloc[0].drop("_dist").to_dict()


def read_checkpoints(sweep_dir: str | Path) -> pd.DataFrame | None:
    """``DIR/checkpoints.parquet`` (:func:`collect_checkpoints`), or None when it is missing."""
    path = Path(sweep_dir) / io.CHECKPOINTS_FILE
    return pd.read_parquet(path) if path.is_file() else None
