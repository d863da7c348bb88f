"""Small trained networks shipped with cogdyn, so the analysis can be tried without training first.

Each example is a complete run directory, exactly as ``cogdyn train`` writes it (``config.json``,
``env.json``, ``metrics.csv``, ``model.safetensors`` + ``model.json``, ``summary.json`` and
``checkpoints/``), trimmed to the checkpoints the analysis uses: the untrained network, the
criterion checkpoint and the post-criterion ones (the log-spaced checkpoints of early training
are left out to keep the package small). :mod:`cogdyn.examples.make_examples` regenerates them.

    >>> from cogdyn import examples
    >>> examples.names()
    ['rl-small', 'rl-wide', 'sl-small', 'sl-wide']
    >>> config, model = examples.load("rl-small")       # a VanillaRNN, ready to run
    >>> run_dir = examples.copy("rl-small", "runs/rl-small")   # a writable copy to analyse

The shipped directories live inside the installed package, which may be read-only, and
``cogdyn analyze`` writes ``analysis/`` into the run directory: analyse a :func:`copy`, not
:func:`path`.
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

from cogdyn import io
from cogdyn.io import load_run

NETWORKS_DIR = "networks"
"""Folder of this package that holds one run directory per example."""
INDEX_FILE = "index.json"
"""The examples' metadata (name → description, algorithm, δ, N, accuracies), in NETWORKS_DIR."""


def _root() -> Path:
    return Path(str(resources.files(__name__))) / NETWORKS_DIR


def index() -> dict[str, dict[str, Any]]:
    """Metadata of every example: description, algo, delta, hidden, seed, target and accuracies.

    Written by :mod:`cogdyn.examples.make_examples` from each run's ``summary.json``.
    """
    return json.loads((_root() / INDEX_FILE).read_text())


def names() -> list[str]:
    """The names of the shipped examples, sorted (e.g. ``rl-small``, ``sl-small``)."""
    return sorted(index())


def info(name: str) -> dict[str, Any]:
    """The metadata of one example (see :func:`index`); ``KeyError`` names the valid ones."""
    meta = index()
    if name not in meta:
        raise KeyError(f"no example network {name!r}; choose one of {', '.join(sorted(meta))}")
    return meta[name]


def path(name: str) -> Path:
    """The shipped run directory of example ``name`` (read-only in spirit: copy to analyse it)."""
    info(name)
    return _root() / name


def copy(name: str, dest: str | Path, *, overwrite: bool = False) -> Path:
    """Copy example ``name`` to ``dest`` (a new run directory) and return it.

    ``dest`` must not exist or be empty, unless ``overwrite`` (then it is replaced). The copy is
    an ordinary run directory: ``cogdyn eval``, ``cogdyn analyze`` and ``cogdyn plot`` work on it.
    """
    src = path(name)
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{dest} is not empty; choose another folder or overwrite=True")
        shutil.rmtree(dest)
    elif dest.exists():
        dest.rmdir()
    shutil.copytree(
        src, dest, ignore=shutil.ignore_patterns(io.ANALYSIS_DIR, io.EVAL_DIR, io.FIGURES_DIR)
    )
    return dest


def load(name: str) -> tuple[Any, Any]:
    """``(RunConfig, VanillaRNN)`` of example ``name``, the model in eval mode."""

    return load_run(path(name))


__all__ = ["INDEX_FILE", "NETWORKS_DIR", "copy", "index", "info", "load", "names", "path"]
