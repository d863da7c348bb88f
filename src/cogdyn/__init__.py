"""cogdyn: how the learning algorithm shapes the dynamics a recurrent network discovers.

The Python API (:mod:`cogdyn.api`) is here, loaded on first use so that ``import cogdyn`` stays
light: ``cogdyn.train``, ``cogdyn.analyze``, ``cogdyn.sweep``, ``cogdyn.load_run``,
``cogdyn.load_sweep``, ``cogdyn.sweep_table`` and the ``Run`` and ``Sweep`` objects they return.

    >>> import cogdyn
    >>> run = cogdyn.train(model={"hidden": 64}, train={"max_updates": 300}, out="runs/sl")
    >>> cogdyn.analyze(run, grid=5).table("attractors")
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

API: tuple[str, ...] = (
    "Run",
    "Sweep",
    "analyze",
    "load_run",
    "load_sweep",
    "sweep",
    "sweep_table",
    "train",
)
"""The names of :mod:`cogdyn.api` that ``cogdyn`` itself offers."""


def __getattr__(name: str) -> Any:
    """The API names, imported when first used (PEP 562)."""
    if name == "train":  # the subpackage cogdyn.train, which is callable: cogdyn.api.train
        import cogdyn.train

        return cogdyn.train
    if name in API:
        from cogdyn import api

        return getattr(api, name)
    raise AttributeError(f"module 'cogdyn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *API])
