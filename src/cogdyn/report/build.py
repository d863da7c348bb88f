"""``cogdyn report DIR``: the study's report as one self-contained HTML page, built from files only
(``results.parquet``, ``stats.json``, ``sweep.json`` and the run directories); see
``docs/report.md``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from cogdyn import io
from cogdyn.config import ALGOS
from cogdyn.io import BASE_DIR, CLAIMS_FILE, REPORT_FILE
from cogdyn.report import dyn_figures as dfig
from cogdyn.report import figures as sfig
from cogdyn.report import pop_figures as pfig
from cogdyn.report import run_figures as rfig
from cogdyn.report.captions import CAPTION
from cogdyn.report.claims import Verdict, evaluate_claims
from cogdyn.report.data import Run, SweepFiles, dumps, num, read_sweep
from cogdyn.report.evidence import MEASURE_NAME, VERDICTS, representatives, sweep_evidence
from cogdyn.report.html import esc, figure, frame_table, missing, page, table, verdict_cell
from cogdyn.report.sensitivity import is_study_dir, sensitivity_section
from cogdyn.report.similarity_figure import fig_similarity
from cogdyn.report.style import ALGO_NAME

SECTIONS = (
    ("task", "Task and behaviour"),
    ("attractors", "Attractor maps"),
    ("portraits", "Phase portraits"),
    ("populations", "Populations"),
    ("information", "Information and crystallisation"),
    ("claims", "Claims"),
    ("config", "Configuration, versions and commands"),
)
"""Section ids and titles, in page order."""
STUDY_SECTION = ("sensitivity", "Sensitivity to cogdyn's choices")
"""The section a sensitivity study directory's report adds after the claims
(:mod:`cogdyn.report.sensitivity`)."""
POP_HOW = "run the population and information analyses (`cogdyn analyze`) on the runs"
PLOT_HOW = "run `cogdyn plot RUN_DIR` on the representative runs, then rebuild the report"


def build_report(sweep_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the report of a sweep directory as one HTML file (atomically) and return its path.

    ``out`` defaults to ``DIR/report.html``. A sensitivity study directory
    (``cogdyn sensitivity``) gets the report of its base sweep, ``DIR/base``, with a section
    on the variants (``DIR/sensitivity.parquet``), written to ``DIR/report.html``.
    Representative networks are, per paradigm, the finished run whose F_QP is nearest its
    paradigm's median. The claims table is also written as data, ``claims.json`` beside the
    report: a list of ``{key, statement, rule, measured, verdict}``, in the table's order.
    """
    study = Path(sweep_dir) if is_study_dir(sweep_dir) else None
    sweep = read_sweep(study / BASE_DIR if study is not None else sweep_dir)
    path = Path(out) if out is not None else (study or sweep.root) / REPORT_FILE
    reps = representatives(sweep)
    evidence = sweep_evidence(sweep, reps)
    analyses = evidence.analyses
    target = _target(sweep)
    verdicts = evaluate_claims(evidence)
    bodies = {
        "task": _task(sweep, reps, target),
        "attractors": _attractors(sweep, reps, analyses),
        "portraits": _portraits(reps),
        "populations": _populations(sweep, reps),
        "information": _information(sweep, reps),
        "claims": _claims(verdicts),
        "config": _config(sweep, reps),
    }
    sections = list(SECTIONS)
    if study is not None:
        bodies[STUDY_SECTION[0]] = sensitivity_section(study)
        sections.insert([s for s, _ in SECTIONS].index("claims") + 1, STUDY_SECTION)
    counts = {v: sum(x.verdict == v for x in verdicts) for v in VERDICTS}
    name = sweep.spec.get("name") or sweep.root.name
    intro = (
        f"<p>Sweep <code>{esc(name)}</code>: {len(sweep.done)} finished networks of "
        f"{len(sweep.results)} cells. Representative networks (F_QP nearest their paradigm's "
        f"median): {', '.join(esc(r.label) for r in reps) or 'none'}. Claims and targets: "
        + ", ".join(f"{n} {esc(v)}" for v, n in counts.items())
        + ".</p>"
    )
    html = page(
        "cogdyn report — RL vs SL dynamics", intro, [(s, t, bodies[s]) for s, t in sections]
    )
    io.atomic_write_bytes(path, html.encode("utf-8"))
    io.write_json(path.with_name(CLAIMS_FILE), [dataclasses.asdict(v) for v in verdicts])
    return path


def claims_for(sweep_dir: str | Path) -> list[Verdict]:
    """The claims table of a sweep directory (what :func:`build_report` prints), without
    drawing any figure."""
    return evaluate_claims(sweep_evidence(read_sweep(sweep_dir)))


def _target(sweep: SweepFiles) -> float:
    return num((sweep.spec.get("train") or {}).get("target_accuracy")) or 0.95


def _min_accuracy(sweep: SweepFiles) -> float | None:
    """The analysis's ``min_accuracy`` as sweep.json records it (None for older sweeps, and
    where the grid sweeps it: then each cell has its own and no one line is true)."""
    if "analysis.min_accuracy" in ((sweep.spec or {}).get("grid") or {}):
        return None
    value = ((sweep.spec or {}).get("analysis") or {}).get("min_accuracy")
    return float(value) if isinstance(value, int | float) else None


def _task(sweep: SweepFiles, reps: list[Run], target: float) -> str:
    task_cfg = next((r.json(io.CONFIG_FILE) or {} for r in reps), {}).get("task", {})
    return "".join(
        [
            figure(
                rfig.fig_trial_structure(task_cfg),
                CAPTION["trial_structure"],
                "trial structure",
                how="no run config.json",
            ),
            figure(
                rfig.fig_output_probabilities(reps),
                CAPTION["output_probabilities"],
                "output probabilities over time",
                how=PLOT_HOW,
            ),
            figure(
                rfig.fig_psychometric(reps),
                CAPTION["psychometric"],
                "psychometric curves",
                how=PLOT_HOW,
            ),
            figure(
                sfig.fig_performance(sweep, target),
                CAPTION["performance"].format(target=target),
                "performance RL vs SL",
                how="no results",
            ),
            figure(
                sfig.fig_analysed_accuracy(sweep, _min_accuracy(sweep)),
                CAPTION["analysed_accuracy"].format(min_accuracy=_f(_min_accuracy(sweep))),
                "fresh-trial accuracy of the analysed checkpoints",
                how="rerun `cogdyn sweep` (analyses that predate analysed_accuracy)",
            ),
        ]
    )


def _attractors(
    sweep: SweepFiles, reps: list[Run], analyses: list[tuple[str, dict[str, Any]]]
) -> str:
    groups = (sweep.stats or {}).get("groups") or []
    keys = sfig.level_keys(sweep.stats)  # every key that tells levels apart, σ and settings too
    rows = []
    for g in groups:
        cells = [*(g.get(k) for k in keys), g.get("delta")]
        for a in ALGOS:
            s = g.get(a) or {}
            cells.append(
                f"{_f(s.get('frac_qp_mean'))} ± {_f(s.get('frac_qp_sem'))} (n = {s.get('n', '—')})"
            )
        mw = g.get("mann_whitney") or {}
        cells += [_f(mw.get("u")), _f(mw.get("p"))]
        rows.append(cells)
    heads = [*keys, "δ", *(f"F_QP {ALGO_NAME[a]}" for a in ALGOS), "U", "p"]
    stats_table = table(rows, heads) if rows else missing("stats.json groups")
    return "".join(
        [
            _effects_table(sweep.stats),
            _variance_table(sweep.stats),
            figure(
                rfig.fig_attractor_map(reps),
                CAPTION["attractor_map"],
                "attractor maps",
                how="run `cogdyn analyze` on the representative runs",
            ),
            figure(
                sfig.fig_fqp_delta(sweep),
                CAPTION["fqp_delta"],
                "F_QP against delta",
                how="no stats.json",
            ),
            stats_table,
            figure(
                sfig.fig_qp_by_coherence(analyses),
                CAPTION["qp_by_coherence"],
                "F_QP by coherence",
                how="no run analysis summaries",
            ),
            figure(
                sfig.fig_label_mix(sweep),
                CAPTION["label_mix"],
                "attractor label mix",
                how="no label counts",
            ),
            figure(
                sfig.fig_fqp_performance(sweep),
                CAPTION["fqp_performance"],
                "F_QP against performance",
                how="no results",
            ),
            figure(
                fig_similarity(sweep),
                CAPTION["similarity"],
                "dynamical similarity between networks",
                how="run `cogdyn similarity SWEEP_DIR`, then rebuild the report",
            ),
        ]
    )


def _effects_table(stats: dict[str, Any] | None) -> str:
    """The overall RL − SL tests of stats.json, one row per measure."""
    tests = (stats or {}).get("tests") or {}
    if not tests:
        return missing("overall RL − SL tests (stats.json tests)", "rerun `cogdyn sweep`")
    rows = []
    for measure, t in tests.items():
        lo, hi = t.get("ci") or [None, None]
        rlo, rhi = t.get("rank_biserial_ci") or [None, None]
        rows.append(
            [
                MEASURE_NAME.get(measure, measure),
                f"{_f(t.get('effect'))} [{_f(lo)}, {_f(hi)}]",
                f"{_f(t.get('rank_biserial'))} [{_f(rlo)}, {_f(rhi)}]",
                _f(t.get("p")),
                _f(t.get("q_bh")),
                _f(t.get("mdd")),
                f"{t.get('n_rl')} / {t.get('n_sl')} ({t.get('n_strata')} strata)",
            ]
        )
    heads = [
        "measure",
        "RL − SL [95 % CI]",
        "rank-biserial [95 % CI]",
        "p",
        "BH q",
        "detectable (80 % power)",
        "RL / SL networks",
    ]
    note = (
        "<p><small>Overall RL − SL difference, stratified by δ and task level: within-stratum "
        "permutation test, bootstrap CIs, Benjamini–Hochberg q over these tests, and the "
        "smallest difference this study would detect with 80 % power "
        "(<code>cogdyn.experiments.effects</code>).</small></p>"
    )
    return table(rows, heads) + note


def _variance_table(stats: dict[str, Any] | None) -> str:
    """Where F_QP varies: shares of its sum of squares over headline checkpoints."""
    v = (stats or {}).get("variance")
    if not v or v.get("paradigm") is None:
        return missing("variance decomposition of F_QP", "rerun `cogdyn sweep`")
    per = v.get("n_checkpoints_per_network") or {}
    rows = [
        [
            _f(v.get("stratum")),
            _f(v.get("paradigm")),
            _f(v.get("seed")),
            _f(v.get("checkpoint")),
            f"{v.get('n_networks')} ({_f(per.get('mean'))} checkpoints each)",
        ]
    ]
    heads = [
        "between δ × task strata",
        "between paradigms",
        "between seeds",
        "between checkpoints",
        "networks",
    ]
    note = (
        "<p><small>Shares of the sum of squares of per-checkpoint F_QP (headline checkpoints "
        "only), nested: stratum ⊃ paradigm ⊃ network ⊃ checkpoint. A large checkpoint share "
        "means a network's frozen-input attractors change between checkpoints of equal "
        "accuracy.</small></p>"
    )
    return table(rows, heads) + note


def _portraits(reps: list[Run]) -> str:
    return "".join(
        [
            figure(
                dfig.fig_phase_portrait(reps),
                CAPTION["phase_portrait"],
                "phase portraits",
                how=PLOT_HOW,
            ),
            figure(
                dfig.fig_basins(reps),
                CAPTION["basins"],
                "basins",
                how="run `cogdyn analyze`",
            ),
            figure(
                dfig.fig_training(reps),
                CAPTION["training"],
                "evolution over training",
                how="run `cogdyn analyze`",
            ),
        ]
    )


def _scores(sweep: SweepFiles, prefixes: tuple[str, ...], what: str) -> str:
    cols = [c for c in sweep.done.columns if c.startswith(prefixes)]
    return figure(
        sfig.fig_metric_strips(sweep, cols),
        CAPTION["scores"],
        f"{what} scores ({', '.join(p + '*' for p in prefixes)} columns of results.parquet)",
        how=POP_HOW,
    )


def _populations(sweep: SweepFiles, reps: list[Run]) -> str:
    return "".join(
        [
            _scores(sweep, ("balance_index", "robust_"), "balance and robustness"),
            figure(pfig.fig_group_sizes(reps), CAPTION["group_sizes"], "group sizes", how=POP_HOW),
            figure(pfig.fig_sorted_weights(reps), CAPTION["weights"], "sorted W", how=POP_HOW),
            figure(pfig.fig_robustness(reps), CAPTION["robustness"], "robustness", how=POP_HOW),
        ]
    )


def _information(sweep: SweepFiles, reps: list[Run]) -> str:
    return "".join(
        [
            _scores(sweep, ("selective_", "fc_", "cryst"), "information"),
            figure(pfig.fig_selectivity(reps), CAPTION["selectivity"], "selectivity", how=POP_HOW),
            figure(
                pfig.fig_crystallisation(reps),
                CAPTION["crystallisation"],
                "crystallisation",
                how=POP_HOW,
            ),
        ]
    )


def _claims(verdicts: list[Verdict]) -> str:
    rows = [
        [
            esc(v.key),
            esc(v.statement),
            esc(v.measured),
            verdict_cell(v.verdict),
            f"<small>{esc(v.rule)}</small>",
        ]
        for v in verdicts
    ]
    note = (
        "<p>Verdicts are computed from the data by the rules shown (every claim, where it "
        "comes from and why it is tested so: <code>docs/claims.md</code>): a part whose "
        "confidence interval excludes the claimed effect → contradicted; a part measured false "
        "→ not reproduced; a test not significant whose interval still allows the effect → "
        "inconclusive; evidence missing → not tested; all parts true → reproduced.</p>"
    )
    return note + table(rows, ["#", "claim / target", "measured", "verdict", "rule"], raw=True)


def _config(sweep: SweepFiles, reps: list[Run]) -> str:
    env = next((e for r in reps if (e := r.json(io.ENV_FILE))), None)
    failed = (
        sweep.results[sweep.results.get("status", "done") == "failed"]
        if "status" in sweep.results
        else sweep.results.iloc[:0]
    )
    root = esc(sweep.root)
    cmds = [
        f"cogdyn sweep {esc(sweep.spec.get('name') or 'SWEEP.toml')} --out {root}",
        f"cogdyn report {root}",
    ]
    cmds += [f"cogdyn plot {esc(r.path)}" for r in reps]
    parts = [
        "<h3>Commands to rerun</h3><pre>" + "\n".join(cmds) + "</pre>",
        "<h3>Versions</h3>"
        + (
            table([[esc(k), esc(v)] for k, v in env.items()], ["", "value"])
            if env
            else missing(io.ENV_FILE)
        ),
        "<details><summary>Resolved sweep (sweep.json)</summary><pre>"
        + esc(dumps(sweep.spec))
        + "</pre></details>",
    ]
    if not failed.empty:
        cols = [c for c in ("cell", "algo", "delta", "seed", "error") if c in failed]
        parts.append("<h3>Failed cells</h3>" + frame_table(failed[cols], max_rows=50))
    return "".join(parts)


def _f(x: Any) -> str:
    v = num(x)
    return "—" if v is None else f"{v:.3g}"
