"""All population analyses of one network (one checkpoint), from one batch of real trials."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from cogdyn.analysis.phase_points import PhasePoints
from cogdyn.dynamics.step_map import relu_only
from cogdyn.models import VanillaRNN
from cogdyn.populations.activity import aligned_states, last_step_of, period_means, trial_states
from cogdyn.populations.crystallisation import crystallisation_step, decision_time_course
from cogdyn.populations.groups import Groups, block_weights, decision_attractors, group_units
from cogdyn.populations.information import (
    functional_connectivity,
    selective_fractions,
    unit_selectivity,
)
from cogdyn.populations.options import PopulationOptions
from cogdyn.populations.robustness import robustness_curves, robustness_scores
from cogdyn.tasks import CtxDM, TrialBatch
from cogdyn.tasks.base import DELAY


@dataclass(frozen=True)
class PopulationResult:
    """Tables and JSON-ready headline numbers of one network's population analyses.

    units: one row per unit: ``unit``, ``group`` (pooled), ``group_context<k>``,
        ``sort_position`` (place in the group-sorted order of W), ``activity_choice<c>`` (pooled
        activity in each choice's attractor), ``fc_degree``, ``fc_community``.
    robustness: :func:`~cogdyn.populations.robustness.robustness_curves`.
    information: :func:`~cogdyn.populations.information.unit_selectivity`.
    crystallisation: :func:`~cogdyn.populations.crystallisation.decision_time_course`.
    groups: the :class:`~cogdyn.populations.groups.Groups`.
    numbers: headline numbers (see :func:`analyze_populations`).
    """

    units: pd.DataFrame
    robustness: pd.DataFrame
    information: pd.DataFrame
    crystallisation: pd.DataFrame
    groups: Groups
    numbers: dict[str, Any]


def task_variables(batch: TrialBatch, network_choice: torch.Tensor) -> dict[str, np.ndarray]:
    """The discrete task variables of each trial: context, correct choice, each modality's signed
    coherence (for more than two choices: the direction each modality shows), network choice."""
    info = {k: v.cpu().numpy() for k, v in batch.info.items()}
    two = "signed_coh_mod1" in info
    return {
        "context": info["context"],
        "correct_choice": info["choice"],
        "coh_mod1": info["signed_coh_mod1"] if two else info["choice_mod1"],
        "coh_mod2": info["signed_coh_mod2"] if two else info["choice_mod2"],
        "network_choice": network_choice.cpu().numpy(),
    }


def analyze_populations(
    model: VanillaRNN,
    task: CtxDM,
    batch: TrialBatch,
    network_choice: torch.Tensor,
    points: PhasePoints,
    options: PopulationOptions,
    seed: int = 0,
) -> PopulationResult:
    """Groups, robustness, information and within-trial crystallisation of one network.

    Args:
        model: the network.
        task: its task.
        batch: real trials (their states feed groups' fallback, MI and decoding).
        network_choice: (B,) the network's choice on each trial of ``batch`` (0 = none).
        points: :func:`~cogdyn.analysis.phase_points.phase_fixed_points` of the network.
        options: what to compute.
        seed: seeds every random draw (robustness trials and damage, shuffles, folds).

    ``numbers``: ``attractor_phase``, ``group_sizes``, ``group_sizes_by_context``,
    ``balance_index``, ``balance_index_by_context``, ``group_weights`` (mean W from group to
    group: ``{to: {from: mean}}``, None for an empty block), ``robustness`` (score per damage
    kind), ``selective_fraction`` (per variable), ``fc`` (connectivity summary),
    ``crystallisation_step`` (steps after stimulus onset), ``crystallisation_ms``,
    ``decoder_max_accuracy``, ``decoder_chance``.
    """
    relu_only("the population analyses (ablation, weight noise, groups of W)", model)
    opts = options
    rng = np.random.default_rng(seed)
    n_choices = task.config.dim_ring
    choice = network_choice.cpu()
    states = trial_states(model, batch)
    b = torch.arange(batch.n_trials)
    end_of_delay = states[last_step_of(batch, DELAY), b].numpy()
    ctx = batch.info["context"].cpu().numpy()
    contexts = tuple(sorted(set(ctx.tolist()))) or (0,)
    fp_states = points.fixed_points.states.cpu().double().numpy()
    attractors = decision_attractors(
        points.points, fp_states, n_choices, end_of_delay, ctx, choice.numpy(), contexts
    )
    groups = group_units(attractors, opts.activity_threshold)
    weight = model.weight_hh_l0.detach().double().cpu().numpy()
    blocks = block_weights(weight, groups.labels, groups.names)

    rob_batch = task.sample(opts.robustness_trials, torch.Generator().manual_seed(seed + 1))
    curves = robustness_curves(
        model,
        task,
        rob_batch,
        groups.labels,
        groups.names,
        ablation_levels=opts.ablation_levels,
        weight_noise_levels=opts.weight_noise_levels,
        state_noise_levels=opts.state_noise_levels,
        draws=opts.robustness_draws,
        generator=torch.Generator().manual_seed(seed + 2),
    )

    means = period_means(states, batch)
    info = unit_selectivity(
        means, task_variables(batch, choice), n_shuffles=opts.n_shuffles, fdr=opts.fdr, rng=rng
    )
    fc = functional_connectivity(
        means[opts.fc_period], n_shuffles=opts.n_shuffles, fdr=opts.fdr, rng=rng
    )
    aligned = {a: aligned_states(states, batch, a) for a in ("stimulus", "decision")}
    course = decision_time_course(
        aligned, choice.numpy(), folds=opts.decoder_folds, ridge=opts.decoder_ridge, rng=rng
    )
    step = crystallisation_step(course)

    n_units = len(groups.labels)
    position = np.empty(n_units, dtype=np.int64)
    position[groups.order] = np.arange(n_units)
    units = pd.DataFrame(
        {
            "unit": np.arange(n_units),
            "group": groups.labels.astype(str),
            **{f"group_context{k}": v.astype(str) for k, v in groups.by_context.items()},
            "sort_position": position,
            **{f"activity_choice{c + 1}": groups.activity[c] for c in range(n_choices)},
            "fc_degree": np.array([d for _, d in fc.graph.degree()], dtype=np.int64),
            "fc_community": fc.community,
        }
    )
    onset = course[course["align"] == "stimulus"]
    numbers = {
        "attractor_phase": groups.attractor_phase,
        "group_sizes": groups.sizes(),
        "group_sizes_by_context": {str(k): groups.sizes(v) for k, v in groups.by_context.items()},
        "balance_index": groups.balance(),
        "balance_index_by_context": {
            str(k): groups.balance(v) for k, v in groups.by_context.items()
        },
        "group_weights": {
            dst: {r.from_group: (r.mean_weight if r.n_pairs else None) for r in part.itertuples()}
            for dst, part in blocks.groupby("to_group", sort=False)
        },
        "robustness": robustness_scores(curves),
        "selective_fraction": selective_fractions(info, n_units),
        "fc": fc.summary,
        "crystallisation_step": step,
        "crystallisation_ms": None if step is None else step * float(task.config.dt),
        "decoder_max_accuracy": float(onset["decoder_accuracy"].max()) if len(onset) else None,
        "decoder_chance": float(onset["chance"].iloc[0]) if len(onset) else None,
    }
    return PopulationResult(units, curves, info, course, groups, numbers)
