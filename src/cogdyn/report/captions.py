"""Figure captions of the report (plain text, escaped when the page is built)."""

from __future__ import annotations

CAPTION: dict[str, str] = {
    "analysed_accuracy": "Accuracy on fresh trials of the checkpoints each network's headline "
    "numbers come from: their mean and their lowest, RL vs SL against δ; dotted: min_accuracy "
    "({min_accuracy}), below which a checkpoint is analysed but left out of every headline "
    "number; right: checkpoints left out per network.",
    "group_sizes": "Population sizes (final model): G+ / G− active in one decision attractor only, "
    "Ga in both, Gs in neither.",
    "weights": "Recurrent weights W sorted by population (Fig. 4 analog); lines: group borders.",
    "robustness": "Accuracy under unit ablation, weight noise and state noise, mean over draws.",
    "selectivity": "Units with significant mutual information (shuffle test, corrected) about "
    "each task variable, per trial period (Fig. 5 analog).",
    "crystallisation": "Crystallisation (Fig. 6 analog): choice decoding over a trial (dotted: "
    "chance) and group turnover / balance over training checkpoints.",
    "trial_structure": (
        "Trial structure (Fig. 1a analog): periods and input channels; the go cue is the fixation "
        "cue turning off."
    ),
    "output_probabilities": (
        "Output probabilities over a trial (Fig. 1c analog), representative networks; lines: "
        "signed relevant coherence; dotted: p(fixate)."
    ),
    "psychometric": (
        "Psychometric curves per context: solid/dashed against the relevant modality, dotted "
        "against the irrelevant one."
    ),
    "performance": (
        "Accuracy and cost to the {target:.0%} criterion, one marker per network, bar = mean."
    ),
    "attractor_map": (
        "Attractor type at every (c₁, c₂) of the census grid, per context (Fig. 2 analog), final "
        "model of each representative network, from the stimulus-onset state."
    ),
    "similarity": (
        "Dynamical similarity between the networks (cogdyn similarity): multidimensional "
        "scaling of the pairwise dissimilarities of their hidden trajectories on the same trials, "
        "one panel per method (Procrustes, CCA, DSA when installed). Networks close together "
        "compute alike."
    ),
    "fqp_delta": (
        "F_QP against δ: mean ± SEM over networks, faint dots = networks, dotted = untrained "
        "baseline, p = two-sided Mann–Whitney RL vs SL."
    ),
    "qp_by_coherence": ("F_QP by |relevant coherence|, mean ± SEM over networks."),
    "label_mix": (
        "Share of each attractor type over the grid, per paradigm and δ (post-criterion means)."
    ),
    "fqp_performance": ("F_QP against performance, one marker per network (claim 6)."),
    "phase_portrait": (
        "Hidden trajectories of real trials in their first two principal components with the "
        "decision-input fixed points and a quasi-periodic orbit (Fig. 3 analog)."
    ),
    "basins": (
        "Decision basins: fraction of trials whose end-of-stimulus state flows to the stable "
        "point of their own choice."
    ),
    "training": (
        "Evolution over training: accuracy (line: metrics.csv) and the census F_QP of every "
        "analysed checkpoint."
    ),
    "scores": ("Per-network scores, RL vs SL against δ (bar = mean)."),
}
"""Captions by figure name."""
