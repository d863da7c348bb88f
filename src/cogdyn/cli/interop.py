"""``cogdyn import-torch``: a saved torch network (a state dict) as a run directory."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cogdyn.cli.common import UsageError
from cogdyn.config import load_toml, run_config_from_dict
from cogdyn.interop import from_torch, load_state_dict_file, modules_from_state_dict
from cogdyn.tasks import make_task


def _cmd_import_torch(args: argparse.Namespace) -> int:
    table: dict[str, Any] = dict(load_toml(args.config).get("task", {})) if args.config else {}
    if args.task != "ctxdm":
        table["name"] = args.task
    task = run_config_from_dict({"task": table}).task
    try:
        state = load_state_dict_file(args.file)
        module, readout = modules_from_state_dict(
            state,
            args.arch,
            nonlinearity=args.nonlinearity,
            rnn_prefix=args.rnn_prefix,
            readout_prefix=args.readout_prefix,
            n_outputs=make_task(task).n_actions,
        )
        out = from_torch(
            module,
            readout,
            task,
            Path(args.out),
            alpha=args.alpha,
            algo=args.algo,
            overwrite=args.overwrite,
            source={"file": str(args.file)},
        )
    except (ValueError, FileExistsError) as err:
        raise UsageError(f"import-torch: {err}") from None
    from cogdyn import io

    summary = io.read_json(out / io.SUMMARY_FILE)
    print(
        f"imported {summary['source']['arch']} ({summary['hidden']} units) from {args.file}: "
        f"accuracy {summary['accuracy']:.4f} on {summary['accuracy_trials']} fresh trials"
    )
    print(f"run directory: {out}  (next: cogdyn analyze {out} --checkpoints final)")
    return 0


def add_commands(sub: Any) -> None:
    """Register ``import-torch`` on the CLI's sub-parsers."""
    p = sub.add_parser(
        "import-torch",
        help="a torch RNN/GRU/LSTM state dict (.pt or .safetensors) as a run directory",
        description="Write a saved torch network as a run directory that cogdyn analyze, eval "
        "and plot accept. FILE holds a state dict: .safetensors, or a .pt/.pth that "
        "torch.load(weights_only=True) reads (tensors only; nothing is unpickled, so save "
        "model.state_dict(), not the pickled model).",
    )
    p.add_argument("file", help="state dict: FILE.safetensors or FILE.pt (weights_only)")
    p.add_argument(
        "--arch", required=True, choices=["rnn", "gru", "lstm"], help="the recurrent layer"
    )
    p.add_argument(
        "--nonlinearity",
        choices=["tanh", "relu"],
        default="tanh",
        help="of --arch rnn (default tanh, as torch.nn.RNN)",
    )
    p.add_argument(
        "--alpha",
        type=float,
        help="leak of a leaky rnn: h' = (1-α)h + α φ(...) (default 1: torch.nn.RNN)",
    )
    p.add_argument(
        "--task",
        default="ctxdm",
        help="ctxdm (default) or neurogym:ENV_ID; its inputs and actions must match the weights",
    )
    p.add_argument("--config", help="TOML file whose [task] table sets the task's fields")
    p.add_argument(
        "--rnn-prefix",
        help="key prefix of the recurrent layer when the file has several, e.g. 'lstm_actor.'",
    )
    p.add_argument(
        "--readout-prefix",
        help="key prefix of the linear readout (weight, bias) when several fit, e.g. 'fc.'",
    )
    p.add_argument(
        "--algo",
        choices=["sl", "ppo"],
        default="sl",
        help="paradigm label for tables and figures (default sl; ppo for any RL agent)",
    )
    p.add_argument("--out", required=True, help="run directory to write")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    p.set_defaults(func=_cmd_import_torch)
