"""The readout of a sensitivity study (:mod:`cogdyn.experiments.sensitivity`): a verdict per
variant × claim, the specification curve and the table of flipped verdicts.

Every variant is read exactly as the report reads a sweep: its results table and statistics
(the central test: :func:`~cogdyn.experiments.effects.paradigm_effect` of F_QP, stratified by
δ and task level) and the claims rules of :func:`~cogdyn.report.claims.evaluate_claims` on its
evidence. A readout variant (``readout.measure``) is the base's networks with every F_QP reading
— the results column ``frac_qp`` and the per-checkpoint one — replaced by that measure and the
statistics recomputed; its per-run analyses and representative networks are the base's.

``DIR/sensitivity.parquet``: one row per entry (the base first) × claim, columns
:data:`SENSITIVITY_COLUMNS`; ``effect``, ``ci_low``, ``ci_high`` and ``p`` are the entry's
central RL − SL test (the same on each of its rows), NaN where it has none; ``cells`` and
``cells_done`` count the entry's networks and those done (a readout entry: the base's). A
variant not yet run has the verdict ``not run`` on every claim. A variant still running
(``cells_done < cells``) has the verdicts of its done cells: they are shown as partial and
never counted as flips.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cogdyn import io
from cogdyn.experiments.results import read_checkpoints, results_parquet
from cogdyn.experiments.sensitivity import BASE, READOUT, variant_dir
from cogdyn.experiments.stats import sweep_stats
from cogdyn.io import BASE_DIR, RESULTS_FILE, SENSITIVITY_FILE, STUDY_FILE
from cogdyn.report.claims import evaluate_claims
from cogdyn.report.data import SweepFiles, num, read_sweep
from cogdyn.report.evidence import representatives, sweep_evidence
from cogdyn.report.html import esc, figure, missing, table, verdict_cell
from cogdyn.report.style import new_figure
from cogdyn.schema import unstamp

SENSITIVITY_COLUMNS: tuple[str, ...] = (
    "variant",
    "factor",
    "value",
    "kind",
    "measure",
    "claim",
    "verdict",
    "effect",
    "ci_low",
    "ci_high",
    "p",
    "cells",
    "cells_done",
)
NOT_RUN = "not run"
"""The verdict of every claim of a variant whose sweep has no results yet."""
BASE_COLOR = "#000000"
VARIANT_COLOR = "#555555"


def is_study_dir(path: str | Path) -> bool:
    """Whether ``path`` is a sensitivity study directory (it holds ``sensitivity.json``)."""
    return (Path(path) / STUDY_FILE).is_file()


def readout_files(base: SweepFiles, measure: str) -> SweepFiles:
    """The base's networks read with ``measure`` as F_QP: the results and per-checkpoint
    ``frac_qp`` columns replaced by it, and the statistics recomputed from them."""
    results = base.results.copy()
    results["frac_qp"] = results.get(measure, np.nan)
    checkpoints = read_checkpoints(base.root)
    if checkpoints is not None:
        checkpoints = checkpoints.copy()
        checkpoints["frac_qp"] = checkpoints.get(measure, np.nan)
    stats = sweep_stats(results, checkpoints)
    return SweepFiles(root=base.root, spec=base.spec, results=results, stats=stats)


def _entries(root: Path) -> list[dict[str, Any]]:
    study = unstamp(io.read_json_object(root / STUDY_FILE), str(root / STUDY_FILE))
    base = {"name": BASE, "factor": BASE, "value": "", "kind": BASE, "measure": "frac_qp"}
    return [base, *study.get("variants", [])]


def sensitivity_table(study_dir: str | Path) -> pd.DataFrame:
    """One row per entry × claim (module docstring), from the files of a study directory."""
    root = Path(study_dir)
    base = read_sweep(root / BASE_DIR)
    base_reps = representatives(base)
    rows: list[dict[str, Any]] = []
    keys: list[str] = []
    for entry in _entries(root):
        name, kind = str(entry["name"]), str(entry.get("kind"))
        files, reps = None, None
        if kind == BASE:
            files = base
        elif kind == READOUT:
            files, reps = readout_files(base, str(entry.get("measure"))), base_reps
        elif (variant_dir(root, name) / RESULTS_FILE).is_file():
            files = read_sweep(variant_dir(root, name))
        head = {
            "variant": name,
            "factor": str(entry.get("factor", "")),
            "value": str(entry.get("value", "")),
            "kind": kind,
            "measure": str(entry.get("measure", "frac_qp")),
        }
        if files is None:
            none = {**_effect(None), "cells": np.nan, "cells_done": 0}
            rows += [{**head, "claim": k, "verdict": NOT_RUN, **none} for k in keys]
            continue
        verdicts = evaluate_claims(sweep_evidence(files, reps))
        keys = keys or [v.key for v in verdicts]
        central = _effect((files.stats or {}).get("central"))
        status = files.results["status"] if "status" in files.results else pd.Series([], dtype=str)
        central |= {"cells": len(files.results), "cells_done": int((status == "done").sum())}
        rows += [{**head, "claim": v.key, "verdict": v.verdict, **central} for v in verdicts]
    frame = pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS))
    for col in ("effect", "ci_low", "ci_high", "p", "cells"):
        frame[col] = frame[col].astype(float)
    return frame


def partial(frame: pd.DataFrame) -> pd.Series:
    """(rows,) bool: the row's entry has cells still to run (``cells_done < cells``); False for
    a table written before the counts existed."""
    if "cells" not in frame or "cells_done" not in frame:
        return pd.Series(False, index=frame.index)
    return frame["cells_done"].astype(float) < frame["cells"].astype(float)


def partial_entries(frame: pd.DataFrame) -> dict[str, str]:
    """Entries still running → "k/n" cells done, in study order."""
    rows = frame[partial(frame)].drop_duplicates("variant")
    return {
        str(r.variant): f"{int(r.cells_done)}/{int(r.cells)}" for r in rows.itertuples(index=False)
    }


def _effect(test: dict[str, Any] | None) -> dict[str, float]:
    test = test or {}
    lo, hi = (test.get("ci") or [None, None])[:2]
    values = {"effect": test.get("effect"), "ci_low": lo, "ci_high": hi, "p": test.get("p")}
    return {k: float("nan") if num(v) is None else float(v) for k, v in values.items()}


def write_sensitivity(study_dir: str | Path) -> Path:
    """Compute and atomically write ``DIR/sensitivity.parquet``; its path."""
    path = Path(study_dir) / SENSITIVITY_FILE
    io.atomic_write_bytes(path, results_parquet(sensitivity_table(study_dir)))
    return path


def read_sensitivity(study_dir: str | Path) -> pd.DataFrame | None:
    """``DIR/sensitivity.parquet``, or None when it has not been written."""
    path = Path(study_dir) / SENSITIVITY_FILE
    return pd.read_parquet(path) if path.is_file() else None


def flip_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Every variant × claim whose verdict differs from the base's (variants not run, or still
    running, left out): ``variant``, ``factor``, ``value``, ``claim``, ``base_verdict``,
    ``verdict``."""
    base = frame[frame["variant"] == BASE].set_index("claim")["verdict"]
    keep = (frame["variant"] != BASE) & (frame["verdict"] != NOT_RUN) & ~partial(frame)
    rest = frame[keep].copy()
    rest["base_verdict"] = rest["claim"].map(base)
    flips = rest[rest["base_verdict"].notna() & (rest["verdict"] != rest["base_verdict"])]
    cols = ["variant", "factor", "value", "claim", "base_verdict", "verdict"]
    return flips[cols].reset_index(drop=True)


def curve_points(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per entry with its central effect and CI, sorted by effect (entries without
    one last, in study order); what the specification curve draws."""
    cols = ["variant", "factor", "value", "kind", "effect", "ci_low", "ci_high", "p"]
    points = frame.drop_duplicates("variant")[cols].reset_index(drop=True)
    running = partial_entries(frame)
    points["partial"] = [running.get(str(v), "") for v in points["variant"]]
    points["order"] = range(len(points))
    return points.sort_values(["effect", "order"], na_position="last", kind="stable").drop(
        columns="order"
    )


def fig_spec_curve(frame: pd.DataFrame) -> Any:
    """The specification curve: every entry's RL − SL effect on F_QP with its 95 % CI, sorted,
    the base marked; None when no entry has an effect."""
    points = curve_points(frame)
    points = points[points["effect"].notna()]
    if points.empty:
        return None
    fig, axes = new_figure(7.0, 0.6 + 0.28 * len(points))
    ax = axes[0][0]
    y = np.arange(len(points))
    is_base = (points["variant"] == BASE).to_numpy()
    eff = points["effect"].to_numpy()
    err = np.vstack([eff - points["ci_low"].to_numpy(), points["ci_high"].to_numpy() - eff])
    err = np.nan_to_num(np.abs(err))
    for mask, color, marker, label in (
        (~is_base, VARIANT_COLOR, "o", "variant"),
        (is_base, BASE_COLOR, "D", "base"),
    ):
        if mask.any():
            ax.errorbar(
                eff[mask], y[mask], xerr=err[:, mask], fmt=marker, color=color, ms=5,
                capsize=2, lw=1, label=label,
            )  # fmt: skip
    base_eff = eff[is_base]
    if base_eff.size:
        ax.axvline(base_eff[0], color=BASE_COLOR, lw=0.8, ls=":")
    ax.axvline(0.0, color="#999999", lw=0.8)
    labels = [
        "base" if b else f"{f}: {v}" + (f" (partial, {k} cells)" if k else "")
        for b, f, v, k in zip(
            is_base, points["factor"], points["value"], points["partial"], strict=True
        )
    ]
    ax.set_yticks(y, labels)
    for tick, b in zip(ax.get_yticklabels(), is_base, strict=True):
        tick.set_fontweight("bold" if b else "normal")
    ax.set_xlabel("RL − SL effect on F_QP (stratified by δ), 95 % bootstrap CI")
    ax.invert_yaxis()
    ax.legend(loc="best", frameon=False)
    return fig


SPEC_CURVE_CAPTION = (
    "Specification curve: the central RL − SL difference of F_QP (stratified by δ and task "
    "level; a denominator variant reads its measure instead) for the base (black diamond, "
    "dotted line) and every variant, each the base with one choice changed, sorted by effect, "
    "with 95 % bootstrap intervals. Variants are the choices the paper leaves open, chosen "
    "before any was run; every variant run is shown (one still running is marked partial, "
    "with the cells it has done)."
)


def sensitivity_section(study_dir: str | Path) -> str:
    """The report section of a study: the curve, the flipped verdicts and every verdict."""
    frame = read_sensitivity(study_dir)
    if frame is None:
        return missing("sensitivity.parquet", "run `cogdyn sensitivity` on this directory")
    flips = flip_table(frame)
    points = curve_points(frame)
    not_run = sorted(set(frame.loc[frame["verdict"] == NOT_RUN, "variant"]))
    running = partial_entries(frame)
    parts = [figure(fig_spec_curve(frame), SPEC_CURVE_CAPTION, "specification curve")]
    if not_run:
        parts.append(f"<p>Not run yet: {esc(', '.join(not_run))}.</p>")
    if running:
        said = ", ".join(f"{k} ({v} cells done)" for k, v in running.items())
        parts.append(
            f"<p>Still running: {esc(said)}. Their effects and verdicts are those of the cells "
            "done so far; they are not counted as verdicts that change.</p>"
        )
    parts.append("<h3>Verdicts that change</h3>")
    if flips.empty:
        parts.append("<p>No variant changes any verdict of the base.</p>")
    else:
        rows = [
            [
                esc(r.variant),
                esc(f"{r.factor}: {r.value}"),
                esc(r.claim),
                verdict_cell(str(r.base_verdict)),
                verdict_cell(str(r.verdict)),
            ]
            for r in flips.itertuples(index=False)
        ]
        heads = ["variant", "choice changed", "claim", "base verdict", "variant verdict"]
        parts.append(table(rows, heads, raw=True))
    rows = [
        [
            esc(r.variant),
            esc(r.kind),
            esc(f"{r.factor}: {r.value}" if r.variant != BASE else "—"),
            _f(r.effect) + f" [{_f(r.ci_low)}, {_f(r.ci_high)}]",
            _f(r.p),
            str(int((flips["variant"] == r.variant).sum()))
            if r.variant not in running
            else f"— (partial: {running[r.variant]})",
        ]
        for r in points.itertuples(index=False)
    ]
    heads = ["variant", "kind", "choice changed", "RL − SL [95 % CI]", "p", "verdicts flipped"]
    parts.append("<h3>Every variant</h3>" + table(rows, heads))
    return "".join(parts)


def _f(x: Any) -> str:
    v = num(x)
    return "—" if v is None else f"{v:.3g}"
