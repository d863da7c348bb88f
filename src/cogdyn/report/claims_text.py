"""The paper's claims and reproduction targets, where each comes from, the rule that decides its
verdict and why the rule tests it that way — the data of the claims table and of the docs page
``claims.md`` (generated from this module, so the two never disagree).

The paper: Kononov, Pospelov, Anokhin, Nekorkin, Maslennikov, "Emergence of hybrid computational
dynamics through reinforcement learning", arXiv:2510.11162v1 (2025). Its Methods could not be
consulted; the claims are read from its abstract, first pages, the figure-1 caption and
published summaries, and the targets are what a reproduction of those claims should show."""

from __future__ import annotations

CLAIMS: tuple[str, ...] = (
    "RL and SL on the same task and architecture reach similar performance but different "
    "computational solutions.",
    "RL networks develop hybrid attractor architectures: stable fixed points hold the decision, "
    "quasi-periodic attractors integrate evidence, mostly at low coherence.",
    "SL networks converge almost exclusively to fixed-point-only solutions.",
    "The fraction of quasi-periodic attractors over the coherence space, F_QP, is higher under RL.",
    "F_QP grows with the initialisation width δ under RL.",
    "F_QP correlates with performance gains, more strongly as task complexity grows.",
    "RL sculpts functionally balanced populations (G_s, G_+, G_−, G_a), which improves robustness; "
    "SL populations are heterogeneous.",
    "The hybrid architecture is built progressively during training (progressive sculpting).",
    "Information processing (unit–task mutual information, functional connectivity) differs "
    "between RL and SL.",
)

TARGETS: tuple[str, ...] = (
    "Both paradigms reach ≥ 95 % at every δ studied; steps/trials to criterion recorded.",
    "Output probabilities over a trial show the decision forming (Fig. 1c).",
    "F_QP(RL) > 0 for most RL networks; F_QP(SL) ≈ 0; the difference is significant across seeds.",
    "Quasi-periodic points concentrate at low |coherence|.",
    "F_QP(RL) rises with δ; F_QP(SL) stays near 0 across δ.",
    "Delay/decision inputs give ≥ 2 stable fixed points (one per choice) whose basins split the "
    "end-of-stimulus states by choice.",
    "Over training checkpoints, accuracy and the attractor census co-evolve.",
    "F_QP correlates with performance, more strongly for harder tasks.",
    "RL populations are more balanced than SL ones; balance goes with robustness.",
    "MI and functional connectivity differ between RL and SL; decision information crystallises.",
)

_T1 = "every finished network of both paradigms reached the accuracy criterion, at every δ"
_EFFECT = (
    "the RL − SL difference stratified by δ and task level (stats.json tests: within-stratum "
    "permutation test, bootstrap 95 % CI; q = Benjamini–Hochberg over the study's four RL-vs-SL "
    "tests)"
)
_MW = (
    f"F_QP higher under RL overall: {_EFFECT} > 0 with q < 0.05 — contradicted when the CI's "
    "upper end is below 0.05 (one grid point in twenty), inconclusive otherwise"
)
_MW_BOUNDED = "and the same for F_QP over bounded points, so divergent SL networks cannot decide it"
_LOWC = (
    "in a majority of RL networks with QP points, mean F_QP over the lower half of |relevant "
    "coherence| levels > over the upper half"
)
_TREND = "Spearman ρ(δ, F_QP(RL)) > 0 with p < 0.05 (stats.json delta_trend)"
_PERF = (
    "RL: ρ(F_QP, accuracy of the analysed checkpoints) > 0 or ρ(F_QP, updates to criterion) < 0 "
    "with Benjamini–Hochberg q < 0.05 over the two (stats.json performance); and ρ(F_QP, "
    "accuracy) of the hardest task level > 0 and > that of the easiest (stats.json "
    "performance_by_level, ≥ 2 levels; a level is harder when the ideal observer's accuracy on "
    "it is lower, whichever axis it varies: choices, coherences, noise)"
)
_TRAIN = (
    "in a majority of runs analysed over ≥ 2 pre-criterion checkpoints, Spearman ρ between "
    "checkpoint accuracy and the census's total-variation distance from the untrained one > 0"
)
_BAL = (
    f"balance index B higher under RL: {_EFFECT} > 0 with q < 0.05 (contradicted when the CI's "
    "upper end is below 0); and ρ(B, robust_*) > 0 for a majority of the robustness scores"
)
_INFO = "some selective_* fraction differs RL vs SL (Mann–Whitney, Bonferroni over measures)"

RULES: dict[str, str] = {
    "claim 1": f"{_T1}; and F_QP differs RL vs SL: {_EFFECT} with q < 0.05 — contradicted when "
    "the whole CI lies within ±0.05",
    "claim 2": "a majority of RL networks have a stable delay-input point per choice (in ≥ half "
    f"of their headline checkpoints) and F_QP > 0; and {_LOWC}",
    "claim 3": "≥ 90 % of SL grid points are fixed points (mean over networks) and mean "
    "F_QP(SL) ≤ 0.05",
    "claim 4": f"{_MW}; {_MW_BOUNDED}",
    "claim 5": _TREND,
    "claim 6": _PERF,
    "claim 7": _BAL,
    "claim 8": _TRAIN,
    "claim 9": _INFO,
    "target 1": _T1,
    "target 2": "for each representative network, mean p(correct | respond) in the decision "
    "period ≥ 0.8 and ≥ 0.3 above its value at stimulus onset",
    "target 3": f"more than half of RL networks have F_QP > 0; mean F_QP(SL) ≤ 0.05; and {_MW}",
    "target 4": _LOWC,
    "target 5": f"{_TREND}; and every δ group's mean F_QP(SL) ≤ 0.05",
    "target 6": "more than half of the networks have a stable delay-input point per choice (in ≥ "
    "half of their headline checkpoints; the delay holds the choice in a trial, the one-step "
    "decision input is reported beside it), and mean agreement of the delay-input basins with "
    "the network's choice ≥ 0.8",
    "target 7": _TRAIN,
    "target 8": _PERF,
    "target 9": _BAL,
    "target 10": f"{_INFO}; and a crystallisation time (cryst* column) is defined for a majority "
    "of networks",
}
"""Verdict rules. Every rule combines its parts as :func:`cogdyn.report.evidence.combine` says:
a part contradicted → contradicted; a part false → not reproduced; a part inconclusive →
inconclusive; evidence missing or null → not tested; all parts true → reproduced."""

SOURCES: dict[str, str] = {
    "claim 1": "abstract",
    "claim 2": "abstract; the attractor maps (Fig. 2 analog) and phase portraits",
    "claim 3": "abstract",
    "claim 4": "abstract: the key measure, the fraction of quasi-periodic attractors",
    "claim 5": "abstract: broader initial weights give more quasi-periodic dynamics under RL",
    "claim 6": "abstract: correlation with performance gains, stronger as complexity grows",
    "claim 7": "abstract; the populations section (Fig. 4 analog)",
    "claim 8": "abstract (progressive sculpting); section on temporal dynamics and "
    "crystallisation (Fig. 6 analog)",
    "claim 9": "abstract; information-processing section (Fig. 5 analog)",
    "target 1": "claim 1; the 95 % stop rule",
    "target 2": "Fig. 1c",
    "target 3": "claims 3 and 4",
    "target 4": "claim 2 (evidence integration at low coherence)",
    "target 5": "claims 3 and 5",
    "target 6": "claim 2 (stable fixed points hold the decision)",
    "target 7": "claim 8",
    "target 8": "claim 6",
    "target 9": "claim 7",
    "target 10": "claims 8 and 9",
}
"""Where in the paper each claim comes from (section or figure, as far as it could be read)."""

WHY: dict[str, str] = {
    "claim 1": "Similar performance is what makes the comparison fair; a difference in F_QP is "
    "tested once for the whole study, stratified by δ and task level, because the claim is "
    "about the paradigms, not about one δ.",
    "claim 2": "Holding the decision is the delay's job in a trial (the decision period is one "
    "step nothing trains), so the stable points are looked for under the delay input; "
    "quasi-periodic points must exist in the same networks.",
    "claim 3": "'Almost exclusively fixed points' is read as ≥ 90 % of grid points and F_QP at "
    "most one point in twenty.",
    "claim 4": "Higher F_QP is tested over all grid points and over bounded ones: held ReLU "
    "inputs make many SL networks diverge, which alone could make RL look higher.",
    "claim 5": "A monotone trend with δ, so a rank correlation over networks.",
    "claim 6": "The accuracy is that of the checkpoints F_QP is measured on (one sample per "
    "network); the complexity dependence needs two task levels.",
    "claim 7": "Balance is tested like F_QP (overall, stratified); 'improves robustness' as a "
    "positive correlation of balance with the robustness scores.",
    "claim 8": "The census over training checkpoints must move away from the untrained one as "
    "accuracy grows.",
    "claim 9": "Unit-level selectivity fractions, one test per measure, Bonferroni-corrected.",
    "target 1": "Every analysed network must have reached the criterion.",
    "target 2": "Read off the representative networks' output probabilities over a trial.",
    "target 3": "The three parts of the target, each as stated.",
    "target 4": "Within each RL network, low against high relevant coherence.",
    "target 5": "The RL trend and SL staying near 0 at every δ.",
    "target 6": "One stable delay-input point per choice in most networks, and basins that send "
    "trials to their network's choice.",
    "target 7": "Needs the pre-criterion checkpoints (`cogdyn analyze --checkpoints all`).",
    "target 8": "As claim 6.",
    "target 9": "As claim 7.",
    "target 10": "Selectivity differs, and a crystallisation time is defined.",
}
"""Why each rule tests its claim the way it does."""
