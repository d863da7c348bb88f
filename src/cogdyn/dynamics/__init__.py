"""Reverse-engineering a network as a dynamical system: attractor classification (Lyapunov
spectra, recurrence, spectrum), frozen-input maps of trained networks, fixed points and basins,
for any batched map; the CtxDM census over the stimulus-coherence grid is in
:mod:`cogdyn.analysis`."""

from cogdyn.dynamics.classify import LABELS, ClassifyOptions, MapClassification, classify_map
from cogdyn.dynamics.fixed_points import (
    STABILITY_TYPES,
    FixedPoints,
    Stability,
    basins,
    classify_stability,
)
from cogdyn.dynamics.fp_search import find_fixed_points
from cogdyn.dynamics.lyapunov import lyapunov_spectrum
from cogdyn.dynamics.maps import FrozenInputMap
from cogdyn.dynamics.relu_solver import (
    all_patterns,
    fixed_points_from_states,
    patterns_from_states,
    relu_fixed_points,
)
from cogdyn.dynamics.step_map import (
    StepMap,
    frozen_input_map,
    is_relu_rnn,
    search_fixed_points,
)

__all__ = [
    "LABELS",
    "STABILITY_TYPES",
    "ClassifyOptions",
    "FixedPoints",
    "FrozenInputMap",
    "MapClassification",
    "Stability",
    "StepMap",
    "all_patterns",
    "basins",
    "classify_map",
    "classify_stability",
    "find_fixed_points",
    "fixed_points_from_states",
    "frozen_input_map",
    "is_relu_rnn",
    "lyapunov_spectrum",
    "patterns_from_states",
    "relu_fixed_points",
    "search_fixed_points",
]
