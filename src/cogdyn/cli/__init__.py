"""The ``cogdyn`` command line. Thin: parse, validate, call one library function per command.

Bad input exits with status 2 and one line on stderr naming the field and what is allowed. The
commands live in :mod:`~cogdyn.cli.train` (single runs), :mod:`~cogdyn.cli.analysis`
(``analyze``), :mod:`~cogdyn.cli.interop` (``import-torch``) and :mod:`~cogdyn.cli.study`
(sweeps, results, report); each imports only :mod:`~cogdyn.cli.common`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cogdyn.cli import analysis, interop, study, train
from cogdyn.cli.common import Parser, UsageError
from cogdyn.config import ConfigError


def make_parser() -> argparse.ArgumentParser:
    """The parser of every ``cogdyn`` command."""
    parser = Parser(
        prog="cogdyn",
        description="Train vanilla ReLU RNNs on CtxDM with RL and SL and analyse their dynamics.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    train.add_commands(sub)
    analysis.add_commands(sub)
    interop.add_commands(sub)
    study.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cogdyn`` command."""
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args))
    except (UsageError, ConfigError, FileNotFoundError) as e:
        print(f"cogdyn: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("cogdyn: interrupted", file=sys.stderr)
        return 130


__all__ = ["UsageError", "main", "make_parser"]
