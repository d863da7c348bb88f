"""What every ``cogdyn`` command shares: the one-line usage error, the parser that raises it,
integer argument types, number formatting and the check that a run's task supports an analysis.

The command modules (:mod:`~cogdyn.cli.train`, :mod:`~cogdyn.cli.analysis`,
:mod:`~cogdyn.cli.study`) import this module and never each other.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from cogdyn import io
from cogdyn.config import MAX_THREADS, TaskConfig


class UsageError(Exception):
    """A command-line problem reported as one line with exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (no usage dump) and exit 2."""

    def error(self, message: str) -> NoReturn:
        """Raise :class:`UsageError` with argparse's message (the CLI prints one line)."""
        raise UsageError(f"{self.prog}: {message}")


def int_at_least(lowest: int) -> Callable[[str], int]:
    """An argparse type: an integer ≥ ``lowest``, with a one-line message otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
        if value < lowest:
            raise argparse.ArgumentTypeError(f"must be ≥ {lowest}, got {value}")
        return value

    parse.__doc__ = f"An integer ≥ {lowest} from the command line (argparse type)."
    return parse


count = int_at_least(0)
positive_int = int_at_least(1)


def thread_count(text: str) -> int:
    """A number of torch threads, 1 … MAX_THREADS (torch crashes on absurd counts)."""
    value = positive_int(text)
    if value > MAX_THREADS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_THREADS}, got {value}")
    return value


def fmt(x: float | None, digits: int = 3) -> str:
    """A number for a printed summary; ``n/a`` for None."""
    return "n/a" if x is None else f"{x:.{digits}f}"


def prepare_out(out: Path, overwrite: bool, resumable: bool = False) -> None:
    """Refuse a non-empty output folder unless ``overwrite`` (then empty it); ``resumable``:
    the command has ``--resume``, which the message then suggests for a run left there."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out: {out} is a file; choose a folder")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            resume = (
                ", pass --overwrite, or --resume to continue the run in it"
                if resumable and (out / io.CONFIG_FILE).is_file()
                else " or pass --overwrite"
            )
            raise UsageError(f"--out: {out} is not empty; choose another folder{resume}")
        shutil.rmtree(out)


def run_task(run_dir: Path) -> TaskConfig | None:
    """The task config of a run directory (None when it has no ``config.json``)."""
    return io.read_config(run_dir).task if (run_dir / io.CONFIG_FILE).is_file() else None


def require_ctxdm_run(run_dir: Path, command: str) -> None:
    """The census grid, fixed points and populations read CtxDM's conditions: refuse a run of
    another task in one line."""
    task = run_task(run_dir)
    if task is not None and not task.is_ctxdm:
        raise UsageError(
            f"{command}: {run_dir} was trained on {task.name}; the census and population "
            "analyses support ctxdm only (use `cogdyn eval`, `export` or `similarity`)"
        )
