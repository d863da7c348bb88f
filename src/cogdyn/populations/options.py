"""Options of the population analyses, validated on creation (one-line :class:`ConfigError`)."""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import Any

from cogdyn.errors import ConfigError, check_int, finite, require
from cogdyn.tasks.base import PERIOD_NAMES


@dataclass(frozen=True)
class PopulationOptions:
    """What :func:`~cogdyn.analysis.populations.analyze_populations` computes, and how."""

    activity_threshold: float = 0.05
    """A unit is active in an attractor above this fraction of the largest activity of any unit
    in the attractors (:mod:`cogdyn.populations.groups`)."""
    ablation_levels: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 1.0)
    """Fractions of units (of all, or of one group) silenced; increasing, from 0, at most 1."""
    weight_noise_levels: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 1.0)
    """Standard deviations of the noise added to W, in units of std(W); increasing, from 0."""
    state_noise_levels: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 1.0)
    """Standard deviations of the noise added to h every step, in units of std(h)."""
    robustness_draws: int = 3
    """Random draws per damage level."""
    robustness_trials: int = 256
    """Trials every damaged network is scored on (one fixed batch, seeded)."""
    n_shuffles: int = 100
    """Circular shuffles per significance test (unit–variable and unit–unit MI)."""
    fdr: float = 0.05
    """Benjamini–Hochberg false-discovery rate."""
    fc_period: str = "delay"
    """Trial period whose per-trial mean activity the functional connectivity uses."""
    decoder_folds: int = 5
    """Cross-validation folds of the choice decoder."""
    decoder_ridge: float = 0.1
    """Ridge penalty of the choice decoder per training trial (standardised features)."""

    def __post_init__(self) -> None:
        t = self.activity_threshold
        require(
            finite(t) and 0 <= t < 1,
            "populations.activity_threshold",
            f"must be in [0, 1), got {t!r}",
        )
        for name, top in (
            ("ablation_levels", 1.0),
            ("weight_noise_levels", None),
            ("state_noise_levels", None),
        ):
            levels = getattr(self, name)
            try:
                levels = tuple(levels)
            except TypeError:
                raise ConfigError(f"populations.{name}", "must be a list of numbers") from None
            ok = (
                len(levels) >= 2
                and all(finite(v) for v in levels)
                and levels[0] == 0
                and all(a < b for a, b in itertools.pairwise(levels))
                and (top is None or levels[-1] <= top)
            )
            bound = f" at most {top:g}" if top is not None else ""
            require(
                ok,
                f"populations.{name}",
                f"must be ≥ 2 increasing numbers from 0{bound}, got {levels!r}",
            )
            object.__setattr__(self, name, tuple(float(v) for v in levels))
        for name, low in (
            ("robustness_draws", 1),
            ("robustness_trials", 1),
            ("n_shuffles", 1),
            ("decoder_folds", 2),
        ):
            v = getattr(self, name)
            check_int(f"populations.{name}", v, low)
        require(
            finite(self.fdr) and 0 < self.fdr < 1,
            "populations.fdr",
            f"must be in (0, 1), got {self.fdr!r}",
        )
        require(
            self.fc_period in PERIOD_NAMES,
            "populations.fc_period",
            f"must be one of {', '.join(PERIOD_NAMES)}, got {self.fc_period!r}",
        )
        r = self.decoder_ridge
        require(finite(r) and r > 0, "populations.decoder_ridge", f"must be > 0, got {r!r}")

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
