"""Crystallisation: when decision information appears within a trial, and how the solution forms
over training.

Within a trial (:func:`decision_time_course`): at every time step, aligned to stimulus onset and
to the decision step, a cross-validated linear decoder predicts the choice the network is going to
make from the hidden state h_t, and the mean / max over units of the GCMI between h_t and that
choice (:mod:`cogdyn.populations.information`) measures the same per unit. The decoder is a ridge
classifier (one-hot targets, features standardised on the training folds, penalty ``ridge`` ×
training trials, arg-max prediction), solved in closed form for all steps and folds at once; only
trials with a response are used. The saturation ("crystallisation") step is the first
onset-aligned step at which the decoder reaches 95 % of its gain over chance,
acc_t − chance ≥ 0.95 (max_t acc_t − chance), chance = the most frequent choice's share; None when
the best gain is below :data:`MIN_GAIN`.

Over training (:func:`training_trajectory`): one row per analysed checkpoint with accuracy, the
census F_QP and label counts, stable delay/decision fixed points, group sizes, balance index and
the turnover of group membership since the previous analysed checkpoint: the mean Jaccard
distance 1 − |A ∩ B| / |A ∪ B| over the choice groups and the shared group (two empty sets are at
distance 0; the silent group is left out: not belonging is no membership).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from cogdyn.linalg import solve_each
from cogdyn.populations.groups import SILENT
from cogdyn.populations.information import CONSTANT_TOL, copula_normal, label_codes, mi_discrete

TARGET = 0.95
"""Fraction of the decoder's gain over chance that marks saturation."""
MIN_GAIN = 0.05
"""Below this best gain over chance the choice is not decodable and no step is reported."""


def ridge_decoder_accuracy(
    x: np.ndarray,
    labels: np.ndarray,
    *,
    folds: int = 5,
    ridge: float = 0.1,
    rng: np.random.Generator,
) -> np.ndarray:
    """Cross-validated accuracy of a ridge classifier at each of S time points.

    Args:
        x: (S, B, N) features per time point and trial.
        labels: (B,) class of each trial.
        folds: folds of the cross-validation (trials assigned at random).
        ridge: penalty per training trial on standardised features.
        rng: draws the fold assignment.

    Returns:
        (S,) fraction of trials predicted right when held out.
    """
    codes, k = label_codes(labels)
    n = len(codes)
    fold = rng.permutation(np.arange(n) % folds)
    feats = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))
    onehot = torch.eye(k, dtype=torch.float64)[torch.from_numpy(codes)]
    eye = torch.eye(x.shape[2], dtype=torch.float64)
    hits = torch.zeros(x.shape[0], dtype=torch.float64)
    for f in range(folds):
        train = torch.from_numpy(fold != f)
        test = ~train
        if not test.any() or not train.any():
            continue
        xt = feats[:, train]
        mean, sd = xt.mean(1, keepdim=True), xt.std(1, unbiased=False, keepdim=True)
        sd = torch.where(sd < CONSTANT_TOL, torch.ones_like(sd), sd)
        xt = (xt - mean) / sd
        y = onehot[train]
        y_mean = y.mean(0)
        gram = xt.transpose(1, 2) @ xt + ridge * len(y) * eye
        w, _ = solve_each(gram, xt.transpose(1, 2) @ (y - y_mean))
        pred = (((feats[:, test] - mean) / sd) @ w + y_mean).argmax(-1)
        hits += (pred == torch.from_numpy(codes)[test]).sum(1)
    return hits.numpy() / n


def saturation_index(accuracy: np.ndarray, chance: float) -> int | None:
    """Index of the first value reaching :data:`TARGET` of the best gain over chance."""
    if len(accuracy) == 0:
        return None
    gain = float(accuracy.max()) - chance
    if gain < MIN_GAIN:
        return None
    return int(np.argmax(accuracy - chance >= TARGET * gain))


def decision_time_course(
    aligned: dict[str, tuple[np.ndarray, np.ndarray]],
    network_choice: np.ndarray,
    *,
    folds: int,
    ridge: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Decoder accuracy and unit–choice MI per aligned step.

    Args:
        aligned: align name (``stimulus``/``decision``) → (offsets (S,), states (S, B, N)),
            from :func:`~cogdyn.populations.activity.aligned_states`.
        network_choice: (B,) the network's choice (0 = no response; those trials are left out).

    Returns:
        One row per align × step: ``align``, ``step`` (offset from the event),
        ``decoder_accuracy``,
        ``chance``, ``mi_mean``, ``mi_max``, ``n_trials``; empty when fewer than two choices
        were made or too few trials remain for the folds.
    """
    keep = network_choice > 0
    labels = network_choice[keep]
    _, counts = np.unique(labels, return_counts=True)
    if len(counts) < 2 or keep.sum() < 2 * folds:
        return pd.DataFrame(
            columns=["align", "step", "decoder_accuracy", "chance", "mi_mean", "mi_max", "n_trials"]
        )
    chance = float(counts.max() / counts.sum())
    codes, k = label_codes(labels)
    parts = []
    for align, (offsets, states) in aligned.items():
        x = states[:, keep]
        acc = ridge_decoder_accuracy(x, labels, folds=folds, ridge=ridge, rng=rng)
        mi = np.zeros((len(offsets), x.shape[2]))
        for s in range(len(offsets)):
            live = x[s].std(0) >= CONSTANT_TOL
            if live.any():
                mi[s, live] = mi_discrete(copula_normal(x[s][:, live], rng), codes, k)
        parts.append(
            pd.DataFrame(
                {
                    "align": align,
                    "step": offsets,
                    "decoder_accuracy": acc,
                    "chance": chance,
                    "mi_mean": mi.mean(1),
                    "mi_max": mi.max(1),
                    "n_trials": int(keep.sum()),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def crystallisation_step(course: pd.DataFrame) -> int | None:
    """Steps after stimulus onset at which the onset-aligned decoder saturates (see module)."""
    onset = course[(course["align"] == "stimulus") & (course["step"] >= 0)]
    if onset.empty:
        return None
    i = saturation_index(onset["decoder_accuracy"].to_numpy(), float(onset["chance"].iloc[0]))
    return None if i is None else int(onset["step"].iloc[i])


def jaccard_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 − |A ∩ B| / |A ∪ B| of two boolean membership masks; 0 when both are empty."""
    union = int((a | b).sum())
    return 0.0 if union == 0 else 1.0 - int((a & b).sum()) / union


def group_turnover(before: np.ndarray, after: np.ndarray, names: Sequence[str]) -> float:
    """Mean Jaccard distance of each non-silent group's members between two labelings."""
    return float(np.mean([jaccard_distance(before == g, after == g) for g in names if g != SILENT]))


def training_trajectory(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per analysed checkpoint, in order (module docstring).

    Each record holds ``checkpoint``, ``kind``, ``update``, ``accuracy``, ``census``
    (:func:`~cogdyn.analysis.census.census_summary`), ``fixed_points``
    (:func:`~cogdyn.analysis.phase_points.phase_points_summary`), ``labels`` ((N,) pooled group
    of each unit), ``group_names``, ``attractor_phase`` and ``balance_index``.
    """
    rows = []
    previous: np.ndarray | None = None
    for r in records:
        names, labels = r["group_names"], r["labels"]
        row: dict[str, Any] = {k: r[k] for k in ("checkpoint", "kind", "update", "accuracy")}
        row["frac_qp"] = r["census"]["frac_qp"]
        row.update({f"n_{k}": v for k, v in r["census"]["label_counts"].items()})
        for phase in ("delay", "decision"):
            row[f"n_stable_fp_{phase}"] = r["fixed_points"].get(phase, {}).get("n_stable", 0)
        row["attractor_phase"] = r["attractor_phase"]
        row.update({f"size_{g}": int((labels == g).sum()) for g in names})
        row["balance_index"] = r["balance_index"]
        row["turnover"] = None if previous is None else group_turnover(previous, labels, names)
        previous = labels
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame["turnover"] = pd.array(frame["turnover"].tolist(), dtype="Float64")
    return frame
