"""The run-level summary of an analysis: per-checkpoint numbers gathered into headline figures.

Headline numbers are statistics over the *headline checkpoints*: those at or past the accuracy
criterion (kinds ``criterion`` and ``post_criterion``) among the analysed ones, because the
attractor census can change a lot between checkpoints of equal accuracy — and, of those, only
the ones that still perform at the criterion: accuracy on fresh trials ≥ ``min_accuracy``
(``analysed_accuracy``). A checkpoint below it is analysed and kept in the tables but excluded
from every headline number (``n_checkpoints_excluded``). When no post-criterion checkpoint was
analysed (``--checkpoints final``, or a run that never reached the criterion) the final model is
the candidate, and ``headline_over`` says so. Every headline number — F_QP, fixed points per
choice, basin agreement, populations, the accuracy correlations use — comes from this one set
(one sample per network). The untrained network (``init``) is the baseline.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from cogdyn.analysis.census import CensusOptions
from cogdyn.analysis.checkpoints import POST_KINDS
from cogdyn.dynamics.classify import LABELS


def stats(values: list[float]) -> dict[str, Any]:
    """mean, std (population, ddof = 0: defined for one value too), min, max and n; the four
    numbers are None when there is no value."""
    if not values:
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    v = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(v.mean()),
        "std": float(v.std()),
        "min": float(v.min()),
        "max": float(v.max()),
        "n": len(v),
    }


def _mean_dicts(dicts: list[dict[str, Any]]) -> dict[str, float]:
    """Key-wise mean of dicts of numbers (a key missing from some is averaged where present)."""
    keys = list(dict.fromkeys(k for d in dicts for k in d))
    return {k: float(np.mean([d[k] for d in dicts if d.get(k) is not None])) for k in keys}


def _head_values(head: list[dict[str, Any]], key: str) -> list[float]:
    """The non-None population number ``key`` of each headline record."""
    return [r["populations"][key] for r in head if r["populations"].get(key) is not None]


def population_summary(records: list[dict[str, Any]], head: list[dict[str, Any]]) -> dict[str, Any]:
    """Headline numbers of the population analyses (records with a ``populations`` entry,
    :func:`~cogdyn.analysis.populations.analyze_populations`'s ``numbers`` plus ``turnover``,
    the group turnover since the previous analysed checkpoint, None for the first).

    Statistics are over the headline checkpoints ``head``; ``group_turnover`` over the turnovers
    between consecutive headline checkpoints (all but the first headline record's)."""
    final = next((r for r in records if r["kind"] == "final"), records[-1])["populations"]
    init = next((r for r in records if r["kind"] == "init"), None)
    pops = [r["populations"] for r in head]

    def mean_of(key: str) -> dict[str, float]:
        return _mean_dicts([p[key] for p in pops])

    return {
        "attractor_phase": final["attractor_phase"],
        "attractor_phases": {
            ph: sum(p["attractor_phase"] == ph for p in pops)
            for ph in dict.fromkeys(p["attractor_phase"] for p in pops)
        },
        "balance_index": {
            **stats(_head_values(head, "balance_index")),
            "untrained": init["populations"]["balance_index"] if init else None,
            "final": final["balance_index"],
            "per_checkpoint": [
                {
                    "checkpoint": r["checkpoint"],
                    "kind": r["kind"],
                    "balance_index": r["populations"]["balance_index"],
                }
                for r in head
            ],
        },
        "group_sizes": mean_of("group_sizes"),
        "group_sizes_final": final["group_sizes"],
        "group_weights_final": final["group_weights"],
        "robustness": mean_of("robustness"),
        "selective_fraction": mean_of("selective_fraction"),
        "fc_density": stats([p["fc"]["density"] for p in pops]),
        "fc_modularity": stats(
            [p["fc"]["modularity"] for p in pops if p["fc"]["modularity"] is not None]
        ),
        "fc_degree_mean": stats([p["fc"]["degree_mean"] for p in pops]),
        "crystallisation_step": stats(_head_values(head, "crystallisation_step")),
        "crystallisation_ms": stats(_head_values(head, "crystallisation_ms")),
        "decoder_max_accuracy": stats(_head_values(head, "decoder_max_accuracy")),
        "group_turnover": {
            **stats(_head_values(head[1:], "turnover")),
            "per_checkpoint": [
                {
                    "checkpoint": r["checkpoint"],
                    "kind": r["kind"],
                    "turnover": r["populations"]["turnover"],
                }
                for r in records
            ],
        },
    }


def _mean_or_none(values: list[Any]) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def headline(records: list[dict[str, Any]], min_accuracy: float) -> tuple[list, list, str]:
    """(headline records, excluded candidates, what they stand for): see the module docstring.

    A record without ``analysed_accuracy`` (an analysis written before it existed) counts as
    at the criterion."""
    post = [r for r in records if r["kind"] in POST_KINDS]
    final = next((r for r in records if r["kind"] == "final"), records[-1])
    candidates = post or [final]
    head = [r for r in candidates if r.get("analysed_accuracy", 1.0) >= min_accuracy]
    excluded = [r for r in candidates if r not in head]
    return head, excluded, "post_criterion" if post else "final"


def _phase_numbers(head: list[dict[str, Any]], phases: Iterable[str]) -> dict[str, Any]:
    """Per stimulus-off phase, over the headline checkpoints: the fraction with a stable fixed
    point for every choice, and the mean basin agreement with the network's choice (None
    without headline checkpoints)."""
    out: dict[str, Any] = {}
    for phase in phases:
        fps = [r["fixed_points"][phase] for r in head if phase in r["fixed_points"]]
        out[f"stable_fp_per_choice_{phase}"] = _mean_or_none(
            [fp["stable_per_choice"] for fp in fps]
        )
        out[f"basin_agreement_{phase}"] = _mean_or_none(
            [fp.get("basin_choice_agreement") for fp in fps]
        )
    return out


def run_summary(
    records: list[dict[str, Any]],
    train_summary: dict[str, Any],
    options: CensusOptions,
    min_accuracy: float = 0.0,
) -> dict[str, Any]:
    """The summary of one run's analysis (JSON-ready, no NaN).

    ``records``: one per analysed checkpoint, in order, each with ``checkpoint``, ``kind``,
    ``update``, ``accuracy``, ``analysed_accuracy`` (fresh trials), ``census``
    (:func:`~cogdyn.analysis.census.census_summary`) and ``fixed_points``
    (:func:`~cogdyn.analysis.phase_points.phase_points_summary`); the final model's record has
    kind ``final``. ``min_accuracy``: see the module docstring.
    """
    final = next((r for r in records if r["kind"] == "final"), records[-1])
    init = next((r for r in records if r["kind"] == "init"), None)
    head, excluded, over = headline(records, min_accuracy)
    census = [r["census"] for r in head]
    bounded = [c["frac_qp_bounded"] for c in census if c["frac_qp_bounded"] is not None]
    multi = [c["frac_multistable"] for c in census if c["frac_multistable"] is not None]
    decision = final["fixed_points"].get("decision", {})
    by_phase = _phase_numbers(head, final["fixed_points"])
    per_choice = {
        phase: by_phase[f"stable_fp_per_choice_{phase}"] for phase in final["fixed_points"]
    }
    analysed = [r["analysed_accuracy"] for r in head if r.get("analysed_accuracy") is not None]
    return {
        "algo": train_summary.get("algo"),
        "delta": train_summary.get("delta"),
        "seed": train_summary.get("seed"),
        "hidden": train_summary.get("hidden"),
        "accuracy": train_summary.get("accuracy"),
        "reached_criterion": train_summary.get("reached_criterion"),
        "updates_to_criterion": train_summary.get("updates_to_criterion"),
        "headline_over": over,
        "min_accuracy": min_accuracy,
        "headline_checkpoints": [r["checkpoint"] for r in head],
        "n_checkpoints_excluded": len(excluded),
        "excluded_checkpoints": [
            {k: r.get(k) for k in ("checkpoint", "kind", "update", "analysed_accuracy")}
            for r in excluded
        ],
        "analysed_accuracy": stats(analysed),
        "analysed_accuracy_min": min(analysed) if analysed else None,
        "frac_qp": {
            **stats([c["frac_qp"] for c in census]),
            "per_checkpoint": [
                {
                    "checkpoint": r["checkpoint"],
                    "kind": r["kind"],
                    "update": r["update"],
                    "accuracy": r["accuracy"],
                    "analysed_accuracy": r.get("analysed_accuracy"),
                    "frac_qp": r["census"]["frac_qp"],
                    "frac_qp_bounded": r["census"]["frac_qp_bounded"],
                    "frac_osc": r["census"].get("frac_osc"),
                }
                for r in head
            ],
        },
        "frac_qp_bounded": stats(bounded),
        "frac_osc": stats([c["frac_osc"] for c in census if c.get("frac_osc") is not None]),
        "frac_qp_torus": _mean_or_none([c.get("frac_qp_torus") for c in census]),
        "frac_qp_untrained": init["census"]["frac_qp"] if init else None,
        "frac_qp_bounded_untrained": init["census"]["frac_qp_bounded"] if init else None,
        "frac_qp_final": final["census"]["frac_qp"],
        "frac_qp_by_context": _mean_dicts([c["frac_qp_by_context"] for c in census]),
        "frac_qp_by_abs_coherence": _mean_dicts([c["frac_qp_by_abs_coherence"] for c in census]),
        "frac_divergent": _mean_or_none([c["frac_divergent"] for c in census]),
        "frac_multistable": _mean_or_none(multi),
        "label_counts_mean": {
            k: _mean_or_none([c["label_counts"][k] for c in census]) for k in LABELS
        },
        "label_counts_final": final["census"]["label_counts"],
        "label_counts_untrained": init["census"]["label_counts"] if init else None,
        "n_stable_fp_decision": decision.get("n_stable"),
        "stable_fp_choices": decision.get("stable_choices"),
        "stable_fp_per_choice": decision.get("stable_per_choice"),
        "basin_choice_agreement": decision.get("basin_choice_agreement"),
        "fixed_points_final": final["fixed_points"],
        "frac_checkpoints_stable_fp_per_choice": per_choice,
        **by_phase,
        "grid": {
            "coherences": options.coherences.tolist(),
            "contexts": list(options.contexts),
            "phase": options.phase,
            "n_grid_points": final["census"]["n_grid_points"],
            "n_starts": options.n_starts,
        },
        **(population_summary(records, head) if "populations" in final else {}),
        "checkpoints": records,
    }
