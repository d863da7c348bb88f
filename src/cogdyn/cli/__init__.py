"""The ``cogdyn`` command line. Thin: parse, validate, call one library function per command.

Nothing ends in a traceback. Bad input (a flag, a config value, an unreadable file of a run
directory, a size beyond the machine's memory) exits with status 2 and one line on stderr naming
what is wrong and what to do; a run that failed (training diverged) exits with status 1 and one
line saying where the failure is recorded; an unexpected internal error exits with status 1 and
one line giving the path of a log that holds its traceback (:func:`crash_log`). The commands live
in :mod:`~cogdyn.cli.train` (single runs), :mod:`~cogdyn.cli.analysis` (``analyze``),
:mod:`~cogdyn.cli.interop` (``import-torch``) and :mod:`~cogdyn.cli.study` (sweeps, results,
report); each imports only :mod:`~cogdyn.cli.common`.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

import torch

import cogdyn
from cogdyn.cli import analysis, interop, study, train
from cogdyn.cli.common import Parser, UsageError
from cogdyn.config import ConfigError
from cogdyn.errors import RunFailed

LOG_DIR_ENV = "COGDYN_LOG_DIR"
"""Where crash logs go (default ``$XDG_STATE_HOME/cogdyn/logs``, i.e. ``~/.local/state``)."""
# OS errors that come from what the user asked for (a path that cannot be used), not the system.
_OUT_OF_MEMORY = (MemoryError, getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError))
_OOM_MESSAGE = "out of memory: lower the sizes of the run (--hidden, trials, grid, batch sizes)"
_USER_ERRNOS = {errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.EROFS}


def make_parser() -> argparse.ArgumentParser:
    """The parser of every ``cogdyn`` command."""
    parser = Parser(
        prog="cogdyn",
        description="Train vanilla ReLU RNNs on CtxDM with RL and SL and analyse their dynamics.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"cogdyn {cogdyn.__version__} (torch {torch.__version__})",
        help="print cogdyn's and torch's versions and exit",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    train.add_commands(sub)
    analysis.add_commands(sub)
    interop.add_commands(sub)
    study.add_commands(sub)
    return parser


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _fail(message: object, status: int) -> int:
    print(f"cogdyn: error: {_one_line(message)}", file=sys.stderr)
    return status


def crash_log(argv: Sequence[str], exc: BaseException) -> Path | None:
    """Write the traceback of an unexpected error to a new log file; its path (None when no
    log could be written anywhere)."""
    state = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    folders = [Path(os.environ[LOG_DIR_ENV])] if os.environ.get(LOG_DIR_ENV) else []
    folders += [state / "cogdyn" / "logs", Path(tempfile.gettempdir())]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = (
        f"cogdyn {cogdyn.__version__}, python {sys.version.split()[0]}, torch {torch.__version__}\n"
        f"command: cogdyn {' '.join(argv)}\n\n" + "".join(traceback.format_exception(exc))
    )
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"cogdyn-crash-{stamp}-{os.getpid()}.log"
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cogdyn`` command; returns its exit status (see the module)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = make_parser()
    try:
        args = parser.parse_args(args_list)
        return int(args.func(args))
    except (UsageError, ConfigError, FileNotFoundError) as e:
        return _fail(e, 2)
    except RunFailed as e:
        where = f" (recorded in {e.record})" if e.record else ""
        return _fail(f"{e}{where}", 1)
    except _OUT_OF_MEMORY:
        return _fail(_OOM_MESSAGE, 1)
    except KeyboardInterrupt:
        print("cogdyn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `cogdyn results DIR | head`: the reader left; nothing to say
        _silence_stdout()
        return 0
    except OSError as e:
        what = f"{e.filename}: {e.strerror}" if e.filename and e.strerror else str(e)
        return _fail(what, 2 if e.errno in _USER_ERRNOS else 1)
    except Exception as e:
        if isinstance(e, RuntimeError) and "can't allocate memory" in str(e):
            return _fail(_OOM_MESSAGE, 1)  # torch's CPU allocator
        log = crash_log(args_list, e)
        where = f"; the traceback is in {log}" if log else ""
        text = _one_line(e)
        text = text if len(text) <= 300 else text[:297] + "..."
        return _fail(f"internal error: {type(e).__name__}: {text}{where}", 1)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that Python's flush at exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


__all__ = ["UsageError", "crash_log", "main", "make_parser"]
