"""Neuron populations: units grouped by their activity in the decision attractors.

The decision attractors are one state per choice (per context): the paper's stable fixed points
of the decision-period input. In trained cogdyn networks the decision input's stable points
usually all read "fixate" (the decision period is one step, so nothing trains the network to
hold a choice there), while the delay input usually has one stable point per choice. So
:func:`decision_attractors` takes, in this order, the first that gives every context one stable
point per choice, and records which in ``phase``:

1. ``decision``: the stable fixed points of the decision input, ``choice`` = what they read;
2. ``delay``: the stable fixed points of the delay input, ``choice`` = the choice they hold;
3. ``trial_mean``: the mean end-of-delay state of the real trials per network choice (per
   context; a context without trials of a choice borrows the other contexts' mean, and a choice
   the network never made gets the zero state).

Where a context has several stable points for one choice, the one with the largest basin share
stands for it.

Groups (:func:`classify_units`): a unit is *active* in an attractor when its activity there
exceeds ``threshold`` × the largest activity of any unit in any of the attractors considered
(relative, so that networks of different activity scales compare). For two choices: G+ active in
the choice-1 attractor only, G− in the choice-2 attractor only, Ga (shared) in both, Gs (silent) in
neither. For n > 2 choices: G1 … Gn active in that choice's attractor only, Ga in two or more, Gs
in none. Per context the attractors of that context are used; *pooled* (the headline) takes each
unit's largest activity over the contexts' attractors of each choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

SHARED, SILENT = "Ga", "Gs"
ATTRACTOR_PHASES: tuple[str, ...] = ("decision", "delay", "trial_mean")


def group_names(n_choices: int) -> tuple[str, ...]:
    """Group labels in display order: choice groups, shared, silent."""
    choice = ("G+", "G-") if n_choices == 2 else tuple(f"G{k}" for k in range(1, n_choices + 1))
    return (*choice, SHARED, SILENT)


def balance_index(counts: Sequence[int]) -> float:
    """B = 1 − (max − min) / (max + min) over the sizes of the choice groups.

    For two choices this is 1 − |G₊ − G₋| / (G₊ + G₋). With no choice-selective unit at all
    (0 / 0) the groups are equal (both empty) and B = 1; the group sizes tell such a network apart.
    """
    c = np.asarray(counts, dtype=np.float64)
    if c.size < 2:
        raise ValueError("balance_index needs the sizes of at least two choice groups")
    lo, hi = float(c.min()), float(c.max())
    return 1.0 if hi + lo == 0 else 1.0 - (hi - lo) / (hi + lo)


@dataclass(frozen=True)
class Attractors:
    """One state per context × choice: ``states`` (K, n_choices, N); ``phase`` (one of
    :data:`ATTRACTOR_PHASES`) says where they come from."""

    states: np.ndarray
    contexts: tuple[int, ...]
    phase: str


def decision_attractors(
    points: pd.DataFrame,
    fixed_points: np.ndarray,
    n_choices: int,
    end_of_delay: np.ndarray,
    trial_context: np.ndarray,
    network_choice: np.ndarray,
    contexts: Sequence[int] = (0, 1),
) -> Attractors:
    """The decision attractors of a network (module docstring: decision → delay → trial_mean).

    Args:
        points: one row per fixed point of the decision- and delay-input maps, with columns
            ``phase`` ("decision" / "delay"), ``context``, ``stability``, ``choice`` (the
            readout's choice at the point, 1-based) and ``basin_share``; its index numbers the
            rows of ``fixed_points`` (the ``points`` table of
            :func:`~cogdyn.analysis.phase_points.phase_fixed_points`).
        fixed_points: (P, N) the fixed points' states.
        n_choices: the task's number of choices.
        end_of_delay: (B, N) state at the last delay step of each real trial (fallback).
        trial_context: (B,) context of each trial.
        network_choice: (B,) the network's choice per trial (0 = none).
        contexts: contexts covered.
    """
    table, states = points, np.asarray(fixed_points, dtype=np.float64)
    for phase in ("decision", "delay"):
        chosen = np.zeros((len(contexts), n_choices, end_of_delay.shape[1]))
        complete = True
        for i, ctx in enumerate(contexts):
            for c in range(1, n_choices + 1):
                rows = table[
                    (table["phase"] == phase)
                    & (table["context"] == ctx)
                    & (table["stability"] == "stable")
                    & (table["choice"] == c)
                ]
                if rows.empty:
                    complete = False
                    break
                chosen[i, c - 1] = states[int(rows["basin_share"].idxmax())]
            if not complete:
                break
        if complete:
            return Attractors(chosen, tuple(contexts), phase)
    return Attractors(
        trial_mean_attractors(end_of_delay, trial_context, network_choice, n_choices, contexts),
        tuple(contexts),
        "trial_mean",
    )


def trial_mean_attractors(
    end_of_delay: np.ndarray,
    trial_context: np.ndarray,
    network_choice: np.ndarray,
    n_choices: int,
    contexts: Sequence[int] = (0, 1),
) -> np.ndarray:
    """(K, n_choices, N) mean end-of-delay state per context × network choice (see module)."""
    out = np.zeros((len(contexts), n_choices, end_of_delay.shape[1]))
    for c in range(1, n_choices + 1):
        of_choice = network_choice == c
        pooled = end_of_delay[of_choice].mean(0) if of_choice.any() else np.zeros(out.shape[2])
        for i, ctx in enumerate(contexts):
            sel = of_choice & (trial_context == ctx)
            out[i, c - 1] = end_of_delay[sel].mean(0) if sel.any() else pooled
    return out


def classify_units(activity: np.ndarray, threshold: float) -> np.ndarray:
    """Group label of every unit from its activity (n_choices, N) in each choice's attractor."""
    n_choices = activity.shape[0]
    names = group_names(n_choices)
    scale = float(activity.max(initial=0.0))
    active = activity > threshold * scale if scale > 0 else np.zeros(activity.shape, dtype=bool)
    n_active = active.sum(0)
    labels = np.full(activity.shape[1], SILENT, dtype=object)
    labels[n_active >= 2] = SHARED
    only = n_active == 1
    labels[only] = np.asarray(names[:n_choices], dtype=object)[active[:, only].argmax(0)]
    return labels


@dataclass(frozen=True)
class Groups:
    """Population membership of a network's units.

    labels: (N,) pooled group of each unit (the headline); by_context: context → (N,) labels;
    activity: (n_choices, N) pooled activity used; names: the group labels in display order;
    attractor_phase: where the attractors come from.
    """

    labels: np.ndarray
    by_context: dict[int, np.ndarray]
    activity: np.ndarray
    names: tuple[str, ...]
    attractor_phase: str

    def sizes(self, labels: np.ndarray | None = None) -> dict[str, int]:
        lab = self.labels if labels is None else labels
        return {g: int((lab == g).sum()) for g in self.names}

    def balance(self, labels: np.ndarray | None = None) -> float:
        """:func:`balance_index` of the choice groups (pooled labels by default)."""
        sizes = self.sizes(labels)
        return balance_index([sizes[g] for g in self.names[:-2]])

    @property
    def order(self) -> np.ndarray:
        """Unit indices sorted by group (display order), then by falling total activity: the
        order that shows W's block structure (``W[np.ix_(order, order)]``)."""
        rank = {g: i for i, g in enumerate(self.names)}
        group = np.array([rank[g] for g in self.labels])
        return np.lexsort((-self.activity.sum(0), group))


def group_units(attractors: Attractors, threshold: float = 0.05) -> Groups:
    """Groups per context and pooled (module docstring) from the attractor states."""
    n_choices = attractors.states.shape[1]
    by_context = {
        ctx: classify_units(attractors.states[i], threshold)
        for i, ctx in enumerate(attractors.contexts)
    }
    pooled = attractors.states.max(0)
    return Groups(
        labels=classify_units(pooled, threshold),
        by_context=by_context,
        activity=pooled,
        names=group_names(n_choices),
        attractor_phase=attractors.phase,
    )


def block_weights(weight: np.ndarray, labels: np.ndarray, names: Sequence[str]) -> pd.DataFrame:
    """Mean recurrent weight from each group to each group.

    ``weight`` is W (N, N) with W[i, j] the weight from unit j to unit i. One row per
    (``from_group``, ``to_group``) with ``mean_weight`` (0 for an empty block) and ``n_pairs``.
    """
    rows = []
    for src in names:
        cols = labels == src
        for dst in names:
            block = weight[np.ix_(labels == dst, cols)]
            rows.append(
                {
                    "from_group": src,
                    "to_group": dst,
                    "mean_weight": float(block.mean()) if block.size else 0.0,
                    "n_pairs": int(block.size),
                }
            )
    return pd.DataFrame(rows)
