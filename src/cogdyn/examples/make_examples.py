"""Regenerate the example networks shipped in ``cogdyn/examples/networks/``.

    python -m cogdyn.examples.make_examples            # all of them, into the package
    python -m cogdyn.examples.make_examples --only rl-small --out /tmp/examples
    python -m cogdyn.examples.make_examples --remeasure  # after a classifier change: no training

Each example is trained by :func:`cogdyn.train.run.train` (what ``cogdyn train`` calls) on one
torch thread from a fixed seed, so a rerun with the same torch version gives the same weights
(only wall-clock fields differ). The run directory is then trimmed: the log-spaced checkpoints of
early training are deleted (and dropped from ``summary.json``), which keeps the untrained
network, the criterion checkpoint, the post-criterion checkpoints and the final model — what
``cogdyn analyze`` uses by default. Finally every example is evaluated on fresh trials and its
final model's stimulus census is taken on an 11 × 11 grid, and ``index.json`` and ``README.md``
record the numbers. About two minutes on one core.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from cogdyn import io
from cogdyn.analysis.census import CensusOptions, attractor_census, census_summary
from cogdyn.behaviour import evaluate
from cogdyn.config import run_config_from_dict
from cogdyn.io import load_run
from cogdyn.tasks import CtxDM
from cogdyn.train.run import train

EXAMPLES: dict[str, dict[str, Any]] = {
    "rl-small": {
        "description": "PPO, N = 64, δ = 0.1 (untrained spectral radius ≈ 0.5)",
        "config": {"model": {"hidden": 64, "delta": 0.1}, "train": {"algo": "ppo", "seed": 0}},
    },
    "sl-small": {
        "description": "supervised, N = 64, δ = 0.1: the SL twin of rl-small",
        "config": {"model": {"hidden": 64, "delta": 0.1}, "train": {"algo": "sl", "seed": 0}},
    },
    "rl-wide": {
        "description": "PPO, N = 64, δ = 0.2 (untrained spectral radius ≈ 1)",
        "config": {"model": {"hidden": 64, "delta": 0.2}, "train": {"algo": "ppo", "seed": 0}},
    },
    "sl-wide": {
        "description": "supervised, N = 64, δ = 0.2: the SL twin of rl-wide",
        "config": {"model": {"hidden": 64, "delta": 0.2}, "train": {"algo": "sl", "seed": 0}},
    },
}
"""Name → description and the run config (on top of cogdyn's defaults) of each example."""

COMMON: dict[str, Any] = {"train": {"post_criterion_evals": 2, "threads": 1}}
"""Settings shared by every example: two post-criterion checkpoints, one thread."""
EVAL_TRIALS, EVAL_SEED = 2000, 12345
"""Fresh trials of the recorded ``eval_accuracy`` (as ``cogdyn eval`` draws them)."""
CENSUS_GRID = 11
"""Census grid of the recorded ``frac_qp`` (stimulus phase, onset start only)."""


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in a.items()}
    for key, value in b.items():
        out[key] = {**out.get(key, {}), **value} if isinstance(value, dict) else value
    return out


def trim(run_dir: Path) -> None:
    """Delete the log-spaced checkpoints of ``run_dir`` and drop them from ``summary.json``."""
    summary_file = run_dir / io.SUMMARY_FILE
    summary = json.loads(summary_file.read_text())
    keep = []
    for c in summary["checkpoints"]:
        if c["kind"] == "log":
            for suffix in (".safetensors", ".json"):
                (run_dir / c["file"]).with_suffix(suffix).unlink()
        else:
            keep.append(c)
    summary["checkpoints"] = keep
    summary_file.write_text(json.dumps(summary, indent=2) + "\n")
    for leftover in ("resume.safetensors", "resume.json"):
        (run_dir / leftover).unlink(missing_ok=True)


def measure(run_dir: Path) -> dict[str, Any]:
    """Fresh-trial accuracy and the final model's F_QP (11 × 11 stimulus census)."""

    config, model = load_run(run_dir)
    task = CtxDM(config.task)
    batch = task.sample(EVAL_TRIALS, torch.Generator().manual_seed(EVAL_SEED))
    accuracy = evaluate(model, task, batch).accuracy
    census = census_summary(
        attractor_census(model, task, CensusOptions(grid=CENSUS_GRID, extra_starts=0))
    )
    return {
        "eval_accuracy": round(float(accuracy), 4),
        "frac_qp": round(census["frac_qp"], 4),
        "label_counts": {k: v for k, v in census["label_counts"].items() if v},
    }


def make_example(name: str, out_root: Path) -> dict[str, Any]:
    """Train, trim and measure example ``name`` into ``out_root/name``; returns its metadata."""

    spec = EXAMPLES[name]
    config = run_config_from_dict(_merge(COMMON, spec["config"]))
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / name
        t0 = time.perf_counter()
        summary = train(config, run_dir, progress=False)
        seconds = time.perf_counter() - t0
        trim(run_dir)
        dest = out_root / name
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(run_dir, dest)
    post = [c["accuracy"] for c in summary["checkpoints"] if c["kind"] == "post_criterion"]
    meta = {
        "description": spec["description"],
        "algo": summary["algo"],
        "delta": summary["delta"],
        "hidden": summary["hidden"],
        "seed": summary["seed"],
        "target_accuracy": summary["target_accuracy"],
        "reached_criterion": summary["reached_criterion"],
        "updates_to_criterion": summary["updates_to_criterion"],
        "heldout_accuracy_final": round(summary["accuracy"], 4),
        "heldout_accuracy_post_criterion": [round(a, 4) for a in post],
        "train_seconds": round(seconds, 1),
        **measure(dest),
        "size_bytes": sum(f.stat().st_size for f in dest.rglob("*") if f.is_file()),
    }
    return meta


def write_readme(root: Path, meta: dict[str, dict[str, Any]]) -> None:
    """A README.md beside the examples: what they are and their numbers."""
    lines = [
        "# Example networks",
        "",
        "Small trained networks shipped with cogdyn (`cogdyn.examples`). Regenerate with",
        "`python -m cogdyn.examples.make_examples`; numbers below come from that script.",
        "Every example reached the default criterion (95 % held-out accuracy) at N = 64;",
        "accuracy on fresh trials is measured on 2000 trials (seed 12345), as `cogdyn eval` does.",
        "The final model is the last post-criterion checkpoint; accuracy fluctuates after the",
        "criterion (`heldout_accuracy_post_criterion` in index.json), so it can sit below 95 %.",
        "",
        "| name | what | updates to criterion | fresh-trial accuracy | F_QP (11 × 11) | size |",
        "|---|---|---|---|---|---|",
    ]
    for name, m in sorted(meta.items()):
        lines.append(
            f"| `{name}` | {m['description']} | {m['updates_to_criterion']} | "
            f"{m['eval_accuracy']:.3f} | {m['frac_qp']:.2f} | {m['size_bytes'] / 1024:.0f} KiB |"
        )
    (root / "README.md").write_text("\n".join(lines) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``[--out DIR] [--only NAME ...] [--remeasure]``."""
    default = Path(__file__).resolve().parent / "networks"
    parser = argparse.ArgumentParser(description="Regenerate cogdyn's example networks.")
    parser.add_argument("--out", type=Path, default=default, help="folder of the examples")
    parser.add_argument("--only", nargs="*", choices=sorted(EXAMPLES), help="these examples only")
    parser.add_argument(
        "--remeasure",
        action="store_true",
        help="keep the trained networks; measure them again (after a classifier change)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    index_file = out / "index.json"
    meta = json.loads(index_file.read_text()) if index_file.is_file() else {}
    for name in args.only or sorted(EXAMPLES):
        if args.remeasure:
            meta[name] = {**meta[name], **measure(out / name)}
        else:
            meta[name] = make_example(name, out)
        print(f"{name}: {json.dumps(meta[name])}")
    meta = {k: meta[k] for k in sorted(meta) if k in EXAMPLES}
    index_file.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    write_readme(out, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
