"""The single-run commands of the CLI: ``train``, ``eval``, ``export``, ``quickstart``."""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cogdyn import io
from cogdyn.analysis.evaluation import evaluate_run
from cogdyn.cli.common import UsageError, positive_int, prepare_out
from cogdyn.config import RunConfig, load_toml, merge, run_config_from_dict
from cogdyn.devices import resolve_device
from cogdyn.interop import export_driada, export_run
from cogdyn.memory import format_bytes
from cogdyn.tasks import make_task
from cogdyn.train.run import check_run_config, train


def _train_overrides(args: argparse.Namespace) -> dict[str, Any]:
    over: dict[str, dict[str, Any]] = {"task": {}, "model": {}, "train": {}}
    for flag, section, key in (
        ("algo", "train", "algo"),
        ("seed", "train", "seed"),
        ("target_accuracy", "train", "target_accuracy"),
        ("max_updates", "train", "max_updates"),
        ("eval_every", "train", "eval_every"),
        ("batch_size", "train", "batch_size"),
        ("lr", "train", "lr"),
        ("threads", "train", "threads"),
        ("device", "train", "device"),
        ("delta", "model", "delta"),
        ("hidden", "model", "hidden"),
        ("alpha", "model", "alpha"),
        ("sigma", "task", "sigma"),
        ("dim_ring", "task", "dim_ring"),
        ("task", "task", "name"),
    ):
        value = getattr(args, flag, None)
        if value is not None:
            over[section][key] = value
    return {k: v for k, v in over.items() if v}


def build_run_config(args: argparse.Namespace, base: Mapping[str, Any] | None = None) -> RunConfig:
    """``base`` (default: nothing), then the config file (if any), then command-line flags on
    top; validated, [ppo] table and memory estimate included (:func:`check_run_config`)."""
    tables = merge(base or {}, load_toml(args.config) if args.config else {})
    config = run_config_from_dict(merge(tables, _train_overrides(args)))
    check_run_config(config)
    return config


def _cmd_train(args: argparse.Namespace) -> int:
    if args.resume:
        return _resume(args)
    config = build_run_config(args)
    if args.dry_run:
        return _print_dry_run(config)
    out = Path(args.out or f"runs/{config.train.algo}-d{config.model.delta:g}-s{config.train.seed}")
    prepare_out(out, args.overwrite, resumable=True)
    progress = None if args.progress else False
    summary = train(config, out, progress=progress, tensorboard=args.tensorboard)
    _print_summary(summary, out)
    return 0


def _print_dry_run(config: RunConfig) -> int:
    need = check_run_config(config)
    make_task(config.task).check_target(config.train.target_accuracy)
    resolve_device(config.train.device)
    print(json.dumps(config.to_json(), indent=2))
    print(f"memory: about {format_bytes(need)} at least; nothing trained (--dry-run)")
    return 0


def _resume(args: argparse.Namespace) -> int:
    """``cogdyn train --resume --out DIR``: continue the run in DIR from its last evaluation
    (the config is DIR's; flags may repeat it but not change it), or start it if DIR is new."""
    if args.overwrite:
        raise UsageError("train: --resume continues the run in --out; --overwrite would delete it")
    if not args.out:
        raise UsageError("train: --resume needs --out DIR, the run directory to continue")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out: {out} is a file, not a run directory")
    if (out / io.CONFIG_FILE).is_file():
        stored = io.read_config(out)
        config = build_run_config(args, base=stored.to_json())
        changed = _first_difference(stored.to_json(), config.to_json())
        if changed:
            raise UsageError(
                f"--resume: {out} holds a run with {changed}; drop that setting to continue it, "
                "or train into another --out"
            )
        if (out / io.SUMMARY_FILE).is_file():
            summary = io.read_summary(out)
            print(
                f"{out}: training already finished (accuracy {summary['accuracy']:.3f} after "
                f"{summary['updates']} updates); nothing to resume"
            )
            return 0
    elif out.is_dir() and any(out.iterdir()):
        raise UsageError(f"--resume: {out} holds no run (no {io.CONFIG_FILE}); check --out")
    else:
        config = build_run_config(args)
    if args.dry_run:
        return _print_dry_run(config)
    progress = None if args.progress else False
    summary = train(config, out, progress=progress, resume=True, tensorboard=args.tensorboard)
    _print_summary(summary, out)
    return 0


def _first_difference(old: Any, new: Any, where: str = "") -> str | None:
    """``task.sigma = 0.45 (the flags ask for 0.3)``: the first setting that differs, or None."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in dict.fromkeys([*old, *new]):
            found = _first_difference(old.get(key), new.get(key), f"{where}.{key}".lstrip("."))
            if found:
                return found
        return None
    if io.as_written(old) == io.as_written(new):
        return None
    was, now = json.dumps(io.as_written(old)), json.dumps(io.as_written(new))
    return f"{where} = {was} (the flags ask for {now})"


def _print_summary(summary: dict[str, Any], out: Path) -> None:
    head = f"{summary.get('algo')} δ={summary.get('delta')} seed={summary.get('seed')}"
    target = summary.get("target_accuracy")
    if summary.get("reached_criterion"):
        print(
            f"{head}: reached {target} held-out accuracy after {summary['updates_to_criterion']} "
            f"updates ({summary['trials_to_criterion']} trials, "
            f"{summary['wall_s_to_criterion']:.1f} s)"
        )
        post = [c["accuracy"] for c in summary["checkpoints"] if c["kind"] == "post_criterion"]
        if post:
            print(
                f"  then {len(post)} post-criterion checkpoints, accuracy "
                f"{min(post):.3f}–{max(post):.3f}; final {summary['accuracy']:.3f}"
            )
    else:
        print(
            f"{head}: did NOT reach {target}; held-out accuracy {summary['accuracy']:.3f} "
            f"after {summary['updates']} updates ({summary['wall_s']:.1f} s)"
        )
    print(f"results: {out}")


def _cmd_eval(args: argparse.Namespace) -> int:
    result = evaluate_run(Path(args.run_dir), n_trials=args.trials, seed=args.seed)
    print(f"accuracy {result['accuracy']:.4f} on {args.trials} fresh trials (seed {args.seed})")
    if result["ideal_observer_accuracy"] is not None:
        print(f"ideal observer {result['ideal_observer_accuracy']:.4f}")
    for name, path in result["files"].items():
        print(f"{name}: {path}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    if args.driada:
        out = Path(args.out) if args.out else run_dir / "driada.npz"
        try:
            path = export_driada(
                run_dir,
                out,
                n_trials=args.trials,
                seed=args.seed,
                model_file=args.checkpoint or io.MODEL_FILE,
            )
        except ValueError as err:
            raise UsageError(f"export: {err}") from None
        print(f"hidden states and task variables of {args.trials} trials for DRIADA: {path}")
        print("load: cogdyn.interop.driada_experiment(path)  (pip install 'cogdyn[driada]')")
        return 0
    out = Path(args.out) if args.out else run_dir / "trajectories.npz"
    path = export_run(
        run_dir,
        out,
        n_trials=args.trials,
        seed=args.seed,
        model_file=args.checkpoint or io.MODEL_FILE,
    )
    print(f"trajectories of {args.trials} trials (seed {args.seed}): {path}")
    print("load: cogdyn.interop.load_trajectories(path); xarray: cogdyn.interop.xarray_dict")
    return 0


def _cmd_quickstart(args: argparse.Namespace) -> int:
    out = Path(args.out)
    prepare_out(out, overwrite=True)
    config = run_config_from_dict({"train": {"algo": "sl", "seed": args.seed}})
    print("Training one supervised network (N = 250, δ = 0.1) on CtxDM to 95 % held-out accuracy…")
    summary = train(config, out, progress=None)
    _print_summary(summary, out)
    result = evaluate_run(out, n_trials=2000, seed=12345)
    print(f"fresh-trial accuracy {result['accuracy']:.4f}")
    for name, path in result["files"].items():
        print(f"{name}: {path}")
    return 0


def add_commands(sub: Any) -> None:
    """Register ``train``, ``eval``, ``export`` and ``quickstart`` on the CLI's sub-parsers."""
    p = sub.add_parser(
        "train",
        help="train one network into a run directory",
        description="Train one network into a run directory. Typical cost: 20–87 s (SL) / "
        "68–181 s (PPO) per N = 250 network on 1 thread of a shared 2-core machine (min–max "
        "of the quick study, 2026-12-01, docs/examples/quick, whose training stops 2 evaluations "
        "after the criterion; the default is 5).",
    )
    p.add_argument("--algo", choices=["sl", "ppo"], help="learning algorithm (default sl)")
    p.add_argument("--delta", type=float, help="init width δ: W, W_in ~ U(−δ, δ) (default 0.1)")
    p.add_argument("--seed", type=int, help="seed of every random draw (default 0)")
    p.add_argument("--hidden", type=int, help="number of hidden units (default 250)")
    p.add_argument("--alpha", type=float, help="leak α in (0, 1] (default 1)")
    p.add_argument("--sigma", type=float, help="input noise σ (default 0.45)")
    p.add_argument("--dim-ring", type=int, help="number of choices (default 2)")
    p.add_argument(
        "--task",
        help="trial source: ctxdm (default) or neurogym:ENV_ID, e.g. "
        "neurogym:PerceptualDecisionMaking-v0 (env kwargs: [task.env_kwargs] in --config)",
    )
    p.add_argument("--target-accuracy", type=float, help="stop criterion (default 0.95)")
    p.add_argument(
        "--max-updates", type=int, help="budget of updates (default 20000 for sl, 1000 for ppo)"
    )
    p.add_argument(
        "--eval-every", type=int, help="updates between evaluations (default 50 sl, 5 ppo)"
    )
    p.add_argument(
        "--batch-size", type=int, help="trials per SL update (default 64; PPO: [ppo] table)"
    )
    p.add_argument("--lr", type=float, help="Adam learning rate (default 1e-3)")
    p.add_argument("--threads", type=int, help="torch threads (default: all cores)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], help="device (default cpu)")
    p.add_argument(
        "--config", help="TOML file with [task], [model], [train] (and [ppo]) tables; flags win"
    )
    p.add_argument("--out", help="run directory (default runs/ALGO-dDELTA-sSEED)")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the interrupted run in --out from its last evaluation, bit for bit "
        "(its config.json is the config; flags may repeat but not change it)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="validate the config, print it and its memory estimate; train nothing",
    )
    p.add_argument(
        "--tensorboard",
        metavar="DIR",
        help="also log each evaluation's metrics as TensorBoard scalars in DIR "
        "(needs the tensorboard package)",
    )
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("eval", help="evaluate a trained run: accuracy, psychometrics, Fig. 1c")
    p.add_argument("run_dir", help="a run directory written by `cogdyn train`")
    p.add_argument("--trials", type=positive_int, default=2000, help="fresh trials (default 2000)")
    p.add_argument("--seed", type=int, default=12345, help="seed of the fresh trials")
    p.set_defaults(func=_cmd_eval)

    p = sub.add_parser(
        "export", help="hidden trajectories of a run on fresh trials → .npz (trial, time, unit)"
    )
    p.add_argument("run_dir", help="a run directory written by `cogdyn train`")
    p.add_argument(
        "--out", help="output file (default RUN_DIR/trajectories.npz, or RUN_DIR/driada.npz)"
    )
    p.add_argument(
        "--driada",
        action="store_true",
        help="hidden states (units × time) and task variables per time step, as DRIADA's "
        "experiment loader takes them (cogdyn.interop.driada_experiment)",
    )
    p.add_argument("--trials", type=positive_int, default=500, help="fresh trials (default 500)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fresh trials (default 0)")
    p.add_argument(
        "--checkpoint",
        help="a weights file relative to RUN_DIR, e.g. checkpoints/update_0000100.safetensors "
        "(default: the final model)",
    )
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser(
        "quickstart",
        help="train and evaluate one supervised network (a first look)",
        description="Train and evaluate one supervised network (N = 250, δ = 0.1). Typical "
        "cost: 2.7 min measured on a 2-core machine shared with other work (2026-12-01, torch "
        "2.13.0 CPU, both threads; docs/getting-started.md).",
    )
    p.add_argument("--out", default="runs/quickstart", help="run directory (replaced)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.set_defaults(func=_cmd_quickstart)
