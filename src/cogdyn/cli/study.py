"""The study commands of the CLI: ``sweep``, ``sensitivity``, ``results``, ``reproduce``,
``report``, ``plot``, ``similarity``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from cogdyn.analysis.figure_data import has_figure_data, write_figure_data
from cogdyn.cli.common import UsageError, fmt, positive_int, require_ctxdm_run
from cogdyn.dynamics.similarity import SimilarityOptions, dsa_available
from cogdyn.errors import ConfigError
from cogdyn.experiments.results import format_table, read_results
from cogdyn.experiments.sensitivity import (
    Study,
    describe_plan,
    load_study,
    run_study,
)
from cogdyn.experiments.similarity import sweep_similarity
from cogdyn.experiments.spec import load_sweep
from cogdyn.experiments.stats import entry_level
from cogdyn.experiments.sweep import (
    default_workers,
    run_sweep,
    write_representative_figure_data,
)
from cogdyn.io import BASE_DIR, RESULTS_FILE, VARIANTS_DIR
from cogdyn.report import build_report, plot_run
from cogdyn.report.sensitivity import flip_table, is_study_dir, write_sensitivity
from cogdyn.report.similarity_figure import write_similarity_figure

EXECUTOR_CHOICES = ("local", "ray")
SWEEP_DESCRIPTION = (
    "Train and analyse every cell of a sweep: each combination of the [grid] axes of the sweep "
    "file is one cell. Axes: algo, delta, seed (required), dim_ring, coherences, sigma, and any "
    'other setting as a quoted dotted key: "train.lr", "ppo.entropy_coef", "task.stimulus", '
    '"analysis.n_trials", "analysis.census.grid", "analysis.classify.zero_tol", ... '
    "(docs/sweeps.md). Typical cost: the quick preset's 60 cells took ≈ 86 min on 2 workers of "
    "a shared 2-core machine (2026-12-01, two runs: docs/examples/quick/run.json). Before it "
    "starts it prints an estimate: from the done cells' median times on a resume, else the "
    "census bound of one checkpoint (training to criterion is not predictable)."
)


def _ms(group: dict[str, Any], name: str = "frac_qp") -> str:
    """mean ± SEM (n) of one paradigm's summary in a stats group."""
    sem = group.get(f"{name}_sem")
    pm = f" ± {fmt(sem)}" if sem is not None else ""
    return f"{fmt(group.get(f'{name}_mean'))}{pm} (n={group.get(f'{name}_n', 0)})"


def print_stats(stats: dict[str, Any]) -> None:
    """The headline statistics of a sweep, as a few readable lines."""
    print(f"cells: {stats['n_done']} done, {stats['n_failed']} failed of {stats['n_cells']}")
    for g in stats["groups"]:
        level = ", ".join(f"{k} {v}" for k, v in entry_level(g).items())
        mw = g["mann_whitney"]
        print(
            f"δ={g['delta']:g} ({level}): F_QP ppo {_ms(g['ppo'])} vs sl {_ms(g['sl'])}; "
            f"Mann–Whitney p={fmt(mw['p'])}; untrained ppo "
            f"{fmt(g['ppo'].get('frac_qp_untrained_mean'))} "
            f"sl {fmt(g['sl'].get('frac_qp_untrained_mean'))}"
        )
    for algo, r in stats["delta_trend"].items():
        print(f"F_QP vs δ ({algo}): Spearman ρ={fmt(r['rho'])}, p={fmt(r['p'])}, n={r['n']}")
    for algo, p in stats["performance"].items():
        parts = ", ".join(
            f"{m} ρ={fmt(p[m]['rho'])} (p={fmt(p[m]['p'])})"
            for m in ("accuracy", "updates_to_criterion")
        )
        print(f"F_QP vs performance ({algo}): {parts}")
    c = stats.get("central") or {}
    if c.get("effect") is not None:
        lo, hi = c.get("ci") or (None, None)
        print(
            f"F_QP RL − SL over the study (stratified by δ and level): {fmt(c['effect'])} "
            f"[95 % CI {fmt(lo)}, {fmt(hi)}], p={fmt(c.get('p'))}, "
            f"{c.get('n_rl')} vs {c.get('n_sl')} networks"
        )


def _execution(args: argparse.Namespace) -> dict[str, Any]:
    """The executor flags of sweep, reproduce and sensitivity, as run_sweep/run_study take them."""
    return {
        "workers": args.workers,
        "executor": args.executor,
        "address": args.address,
        "retry_failed": args.retry_failed,
        "progress": None if args.progress else False,
    }


def _sweep_and_report(args: argparse.Namespace, source: str, out: Path) -> int:
    sweep = load_sweep(source)
    print(f"sweep {sweep.name}: {len(sweep.cells)} cells → {out}")
    _, stats = run_sweep(sweep, out, **_execution(args))
    print_stats(stats)
    print(f"results: {out / 'results.parquet'}\nstats: {out / 'stats.json'}")
    return 0 if stats["n_failed"] == 0 else 1


def _cmd_sweep(args: argparse.Namespace) -> int:
    if args.dry_run:
        sweep = load_sweep(args.sweep)
        print(f"sweep {sweep.name}: {len(sweep.cells)} cells, {sweep.threads} threads each")
        for cell in sweep.cells:
            print(f"  {cell.id}")
        print("valid; nothing run (--dry-run)")
        return 0
    if not args.out:
        raise UsageError("sweep: --out DIR is required (the sweep directory; a rerun resumes it)")
    return _sweep_and_report(args, args.sweep, Path(args.out))


def _cmd_reproduce(args: argparse.Namespace) -> int:
    out = Path(args.out or f"runs/{args.preset}")
    if args.preset == "sensitivity":
        return _study_and_report(args, load_study(args.preset), out)
    rc = _sweep_and_report(args, args.preset, out)
    print(f"report: {_report(out, None)}")
    return rc


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    study = load_study(args.study)
    if args.dry_run:
        workers = args.workers or default_workers(study.base.threads)
        for line in describe_plan(study, args.out, workers):
            print(line)
        print("valid; nothing run (--dry-run)")
        return 0
    if not args.out:
        raise UsageError(
            "sensitivity: --out DIR is required (the study directory; a rerun resumes)"
        )
    return _study_and_report(args, study, Path(args.out))


def _study_and_report(args: argparse.Namespace, study: Study, out: Path) -> int:
    """Run a sensitivity study, then its readout (``sensitivity.parquet``) and report."""
    print(
        f"sensitivity {study.name}: base {study.base.name} + {len(study.variants)} variants → {out}"
    )
    stats = run_study(study, out, **_execution(args))
    for name, s in stats.items():
        print(f"  {name}: {s['n_done']} done, {s['n_failed']} failed of {s['n_cells']} cells")
    report = _report(out, None)
    flips = flip_table(pd.read_parquet(out / "sensitivity.parquet"))
    print(f"verdicts flipped by a variant: {len(flips)}")
    for r in flips.itertuples(index=False):
        print(f"  {r.variant} ({r.factor}: {r.value}): {r.claim} {r.base_verdict} → {r.verdict}")
    print(f"sensitivity: {out / 'sensitivity.parquet'}\nreport: {report}")
    return 0 if all(s["n_failed"] == 0 for s in stats.values()) else 1


def _report(sweep_dir: Path, out: str | None) -> Path:
    """Figure data of the two networks the report shows (if missing), then the report. A
    network whose files cannot be read loses its figures (the page says so), with a warning.
    A sensitivity study directory: the same for its base and every variant, then its readout
    (``sensitivity.parquet``), then the base's report with the sensitivity section."""
    study = is_study_dir(sweep_dir)
    dirs = [sweep_dir]
    if study:
        variants = sweep_dir / VARIANTS_DIR
        found = (
            sorted(p for p in variants.iterdir() if (p / RESULTS_FILE).is_file())
            if (variants.is_dir())
            else []
        )
        dirs = [sweep_dir / BASE_DIR, *found]
    read_results(dirs[0])  # a missing or unreadable table: one line, before anything else
    for folder in dirs:
        for warning in write_representative_figure_data(folder, skip_unreadable=True)[1]:
            print(f"cogdyn: warning: {warning}", file=sys.stderr)
    if study:
        write_sensitivity(sweep_dir)
    return build_report(sweep_dir, out=out)


def _cmd_results(args: argparse.Namespace) -> int:
    frame = read_results(Path(args.sweep_dir))
    if args.format == "csv":
        print(frame.to_csv(index=False), end="")
    elif args.format == "json":
        print(frame.to_json(orient="records", indent=1))
    else:
        print(format_table(frame))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    print(f"report: {_report(Path(args.sweep_dir), args.out)}")
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    require_ctxdm_run(Path(args.run_dir), "plot")
    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    allowed = ("png", "svg", "pdf")
    if not formats or any(f not in allowed for f in formats):
        raise ConfigError("--format", f"must be a comma list of {', '.join(allowed)}")
    if not has_figure_data(args.run_dir):
        write_figure_data(args.run_dir)
    for path in plot_run(Path(args.run_dir), out_dir=args.out, formats=formats):
        print(path)
    return 0


def _cmd_similarity(args: argparse.Namespace) -> int:
    if args.methods is None:
        methods = ("procrustes", "cca", "dsa") if dsa_available() else ("procrustes", "cca")
        if "dsa" not in methods:
            print("similarity: dsa-metric is not installed; DSA skipped (pip install dsa-metric)")
    else:
        methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    options = SimilarityOptions(
        methods=methods, n_trials=args.trials, seed=args.seed, n_components=args.components
    )
    files = sweep_similarity(Path(args.sweep_dir), options)
    files["figure"] = write_similarity_figure(Path(args.sweep_dir))

    table = pd.read_parquet(files["matrix"])
    for method, grp in table.groupby("method", sort=False):
        off = grp[grp["cell_a"] != grp["cell_b"]]["dissimilarity"]
        spread = f"min {off.min():.4f}, max {off.max():.4f}"
        print(f"{method}: off-diagonal mean {off.mean():.4f} ({spread})")
    for name, path in files.items():
        print(f"{name}: {path}")
    return 0


def _executor_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workers", type=positive_int, help="cells run at once (default: cores / threads)"
    )
    p.add_argument(
        "--executor", choices=EXECUTOR_CHOICES, default="local", help="local (default) or ray"
    )
    p.add_argument(
        "--address",
        help="Ray cluster to attach to: auto, HOST:PORT (default: $RAY_ADDRESS, else a cluster "
        "`ray start` left running here, else a local Ray started for the sweep)",
    )
    p.add_argument(
        "--no-retry",
        dest="retry_failed",
        action="store_false",
        help="on a rerun, leave failed cells as they are (default: run them again)",
    )
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def add_commands(sub: Any) -> None:
    """Register the study commands on the CLI's sub-parsers."""
    p = sub.add_parser(
        "sweep",
        help="train and analyse every cell of a sweep file or preset (quick, paper)",
        description=SWEEP_DESCRIPTION,
    )
    p.add_argument("sweep", help="a sweep TOML file, or a preset name: quick, paper")
    p.add_argument("--out", help="sweep directory (required; a rerun resumes it)")
    p.add_argument(
        "--dry-run", action="store_true", help="validate the sweep and list its cells; run nothing"
    )
    _executor_flags(p)
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser(
        "sensitivity",
        help="a base study and one-factor variants of it: which verdicts hold (docs/howto)",
        description=(
            "Run a sensitivity study: the base sweep, then every variant (the base with one "
            "choice changed: training, analysis or readout), then the readout "
            "DIR/sensitivity.parquet (a verdict per variant x claim) and DIR/report.html with a "
            "specification curve. A rerun resumes; variants may be added. Typical cost: the "
            "preset trains 210 cells and re-analyses 90, estimated (not measured) at ≈ 5.3 h on "
            "2 workers from the quick study's median cell times (docs/examples/quick, "
            "2026-12-01); --dry-run --out DIR prints what is done and prices what is left "
            "from the base's own cells."
        ),
    )
    p.add_argument("study", help="a sensitivity TOML file, or the preset: sensitivity")
    p.add_argument("--out", help="study directory (required; a rerun resumes it)")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="validate, list every variant with its new and reused cells and the cost; run nothing",
    )
    _executor_flags(p)
    p.set_defaults(func=_cmd_sensitivity)

    p = sub.add_parser("results", help="print the results table of a sweep")
    p.add_argument("sweep_dir", help="a directory written by `cogdyn sweep`")
    p.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="table (default), csv or json",
    )
    p.set_defaults(func=_cmd_results)

    p = sub.add_parser(
        "reproduce",
        help="the main job: a preset sweep, its statistics and the report",
        description="Run a preset sweep, its statistics and the report. Typical cost: "
        "--preset quick (60 cells) took ≈ 86 min on a shared 2-core machine (2026-12-01, "
        "two runs: docs/examples/quick/run.json); --preset paper (240 cells, default census) "
        "is ≈ 60 core-hours at the rates of one measured cell of each kind (docs/sweeps.md). "
        "The sweep prints its own estimate before it starts.",
    )
    p.add_argument(
        "--preset",
        choices=["quick", "paper", "sensitivity"],
        default="quick",
        help="quick: 60 networks (2 noise levels) on a laptop (default); paper: 240, for a "
        "cluster; sensitivity: the quick study's first level and its one-factor variants "
        "(`cogdyn sensitivity`)",
    )
    p.add_argument("--out", help="sweep directory (default runs/PRESET)")
    _executor_flags(p)
    p.set_defaults(func=_cmd_reproduce)

    p = sub.add_parser(
        "report",
        help="the study's HTML report from a sweep directory",
        description="Write the study's HTML report from a sweep directory. Typical cost: "
        "9 s for the one-level quick study's 30 networks, measured on a 2-core machine shared "
        "with other work (2026-12-01, torch 2.13.0 CPU).",
    )
    p.add_argument("sweep_dir", help="a directory written by `cogdyn sweep`")
    p.add_argument("--out", help="HTML file (default SWEEP_DIR/report.html)")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser(
        "similarity",
        help="dissimilarity between the networks of a sweep (Procrustes, CCA, DSA)",
        description="Dissimilarity between the networks of a sweep (Procrustes, CCA, DSA). "
        "Typical cost: 54 s for the one-level quick study's 30 networks, all three methods, "
        "measured on a 2-core machine shared with other work (2026-12-01, torch 2.13.0 CPU).",
    )
    p.add_argument("sweep_dir", help="a directory written by `cogdyn sweep`")
    p.add_argument(
        "--methods",
        help="comma list of procrustes, cca, dsa (default: all, dsa where dsa-metric is installed)",
    )
    p.add_argument("--trials", type=positive_int, default=200, help="shared trials (default 200)")
    p.add_argument("--seed", type=int, default=0, help="seed of the shared trials (default 0)")
    p.add_argument(
        "--components", type=positive_int, default=10, help="PCs per network (default 10)"
    )
    p.set_defaults(func=_cmd_similarity)

    p = sub.add_parser("plot", help="per-network figures of a run directory (PNG and SVG)")
    p.add_argument("run_dir", help="a run directory written by `cogdyn train`")
    p.add_argument("--out", help="figure directory (default RUN_DIR/figures)")
    p.add_argument("--format", default="png,svg", help="comma list of png, svg, pdf")
    p.set_defaults(func=_cmd_plot)
