"""``cogdyn analyze``: its flags, the choice of the run (a directory or a shipped example) and
the printed summary."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cogdyn import examples, io
from cogdyn.analysis import analyze_run
from cogdyn.analysis.census import CensusOptions
from cogdyn.analysis.run import MIN_ACCURACY
from cogdyn.cli.common import UsageError, count, fmt, positive_int, thread_count
from cogdyn.devices import DEVICES
from cogdyn.populations.options import PopulationOptions


def _cmd_analyze(args: argparse.Namespace) -> int:
    args.run_dir = _analysis_target(args)
    census = CensusOptions(grid=args.grid, phase=args.phase, extra_starts=args.starts)
    population = PopulationOptions(
        activity_threshold=args.activity_threshold,
        n_shuffles=args.shuffles,
        robustness_draws=args.robustness_draws,
        fc_period=args.fc_period,
    )
    summary = analyze_run(
        Path(args.run_dir),
        checkpoints=args.checkpoints,
        census=census,
        threads=args.threads,
        device=args.device,
        progress=None if args.progress else False,
        populations=args.populations,
        min_accuracy=args.min_accuracy,
        population_options=population,
    )
    if "task" in summary:  # a trial-condition task: the census over its conditions only
        _print_condition_analysis(summary)
    else:
        _print_analysis(summary)
    return 0


def _example_names() -> list[str]:
    return examples.names()


def _analysis_target(args: argparse.Namespace) -> str:
    """The run directory to analyse: RUN_DIR, or a copy of the example ``--example``."""
    if args.example is None:
        if args.run_dir is None:
            raise UsageError("analyze: give a run directory or --example NAME")
        return args.run_dir
    if args.run_dir is not None:
        raise UsageError("analyze: give a run directory or --example NAME, not both")
    dest = Path(args.out or f"runs/example-{args.example}")
    if (dest / io.CONFIG_FILE).is_file():
        return str(dest)
    return str(examples.copy(args.example, dest))


def _print_condition_analysis(s: dict[str, Any]) -> None:
    fq = s["frac_qp"]
    print(
        f"{s['task']} {s['algo']} δ={s['delta']} seed={s['seed']}: census of "
        f"{s['grid']['conditions']} trial conditions; F_QP {fmt(fq['mean'])} ± "
        f"{fmt(fq['std'])} over {fq['n']} checkpoints, untrained "
        f"{fmt(s['frac_qp_untrained'])} (fixed points and populations: CtxDM only)"
    )


def _print_analysis(s: dict[str, Any]) -> None:
    fq = s["frac_qp"]
    over = (
        f"{fq['n']} post-criterion checkpoints"
        if s["headline_over"] == "post_criterion"
        else "the final model (no post-criterion checkpoint analysed)"
    )
    source = s.get("source")
    head = (
        f"imported {source.get('arch')} from {source.get('from')}"
        if isinstance(source, dict)
        else f"{s['algo']} δ={s['delta']} seed={s['seed']}"
    )
    print(
        f"{head} (accuracy {fmt(s['accuracy'])}), "
        f"{s['grid']['phase']} census, {s['grid']['n_grid_points']} grid points × "
        f"{s['grid']['n_starts']} starts"
    )
    print(
        f"F_QP over {over}: mean {fmt(fq['mean'])} ± {fmt(fq['std'])} "
        f"(min {fmt(fq['min'])}, max {fmt(fq['max'])}); "
        f"bounded points only: {fmt(s['frac_qp_bounded']['mean'])}"
    )
    print(f"F_QP untrained: {fmt(s['frac_qp_untrained'])}; final: {fmt(s['frac_qp_final'])}")
    counts = ", ".join(f"{k} {v:.1f}" for k, v in s["label_counts_mean"].items() if v)
    print(f"labels (mean count per checkpoint): {counts}")
    for phase, fp in s["fixed_points_final"].items():
        choices = "; ".join(f"context {k}: {v}" for k, v in fp["stable_choices"].items())
        print(
            f"{phase} input (final model): {fp['n_fixed_points']} fixed points, "
            f"{fp['n_stable']} stable, choices of the stable ones {choices}; "
            f"one per choice: {'yes' if fp['stable_per_choice'] else 'no'}; "
            f"basin = network's choice in {fmt(fp['basin_choice_agreement'])} of trials"
        )
    if s.get("balance_index"):
        _print_populations(s)
    elif s.get("populations_skipped"):
        print(f"populations: skipped ({s['populations_skipped']})")
    for name, path in s["files"].items():
        print(f"{name}: {path}")


def _print_populations(s: dict[str, Any]) -> None:
    sizes = ", ".join(f"{k} {v:.1f}" for k, v in (s.get("group_sizes") or {}).items())
    print(
        f"populations ({s.get('attractor_phase')} attractors): balance index "
        f"{fmt(s['balance_index'].get('mean'))}; mean group sizes {sizes}"
    )
    robust = ", ".join(f"{k} {fmt(v)}" for k, v in (s.get("robustness") or {}).items())
    print(f"robustness (AUC): {robust}")
    selective = ", ".join(f"{k} {fmt(v)}" for k, v in (s.get("selective_fraction") or {}).items())
    print(f"selective units: {selective}")
    cryst = s.get("crystallisation_ms") or {}
    print(f"decision information saturates {fmt(cryst.get('mean'))} ms after stimulus onset")


def _odd_grid(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 3 or value % 2 == 0:
        raise argparse.ArgumentTypeError(f"must be an odd integer ≥ 3, got {text!r}")
    return value


def add_commands(sub: Any) -> None:
    """Register ``analyze`` on the CLI's sub-parsers."""
    p = sub.add_parser(
        "analyze",
        help="attractor census, fixed points and populations of a trained run",
        description="Attractor census, fixed points and populations of a trained run. Typical "
        "cost: 27–198 s per N = 250 network at --grid 11 --starts 0 on 4 checkpoints, 1 thread "
        "of a shared 2-core machine (min–max of the quick study, 2026-12-01, "
        "docs/examples/quick); the default grid 21 × 3 starts has 11× the census orbits and "
        "costs more. It prints a calibrated bound of the census before it starts.",
    )
    p.add_argument("run_dir", nargs="?", help="a run directory written by `cogdyn train`")
    p.add_argument(
        "--example",
        choices=_example_names(),
        help="analyse a shipped example network, copied to --out first",
    )
    p.add_argument("--out", help="with --example: where to copy it (default runs/example-NAME)")
    p.add_argument(
        "--grid", type=_odd_grid, default=21, help="coherences per modality, odd (default 21)"
    )
    p.add_argument(
        "--phase",
        choices=["stimulus", "delay", "decision"],
        default="stimulus",
        help="whose input is frozen in the census (default stimulus)",
    )
    p.add_argument(
        "--starts", type=count, default=2, help="extra starts per grid point (default 2)"
    )
    p.add_argument(
        "--checkpoints",
        choices=["post", "final", "all"],
        default="post",
        help="post: init + post-criterion + final (default); final; all",
    )
    p.add_argument(
        "--no-populations",
        dest="populations",
        action="store_false",
        help="skip the population analyses (groups, robustness, information, crystallisation)",
    )
    p.add_argument(
        "--activity-threshold",
        type=float,
        default=0.05,
        help="a unit is active in an attractor above this fraction of the largest activity "
        "(default 0.05)",
    )
    p.add_argument(
        "--shuffles",
        type=positive_int,
        default=100,
        help="circular shuffles per MI significance test (default 100)",
    )
    p.add_argument(
        "--robustness-draws",
        type=positive_int,
        default=3,
        help="random draws per damage level (default 3)",
    )
    p.add_argument(
        "--fc-period",
        choices=["fixation", "stimulus", "delay", "decision"],
        default="delay",
        help="period whose per-trial mean activity the functional connectivity uses "
        "(default delay)",
    )
    p.add_argument(
        "--min-accuracy",
        type=float,
        default=MIN_ACCURACY,
        help="fresh-trial accuracy a checkpoint needs to enter the headline numbers "
        f"(default {MIN_ACCURACY}: the 0.95 criterion less 0.02); the others are analysed and "
        "marked",
    )
    p.add_argument("--threads", type=thread_count, help="torch threads (default: unchanged)")
    p.add_argument(
        "--device",
        choices=list(DEVICES),
        default="cpu",
        help="where the census iterates its orbits (default cpu; cuda: the first visible GPU; "
        "auto: cuda if there is one); fixed points and populations stay on the CPU",
    )
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.set_defaults(func=_cmd_analyze)
