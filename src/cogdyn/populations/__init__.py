"""Neuron populations of a trained network: groups by decision attractor, robustness to damage,
information carried by units, and the crystallisation of the decision (paper claims 7–9)."""

from cogdyn.populations.groups import Groups, balance_index, group_units
from cogdyn.populations.options import PopulationOptions

__all__ = [
    "Groups",
    "PopulationOptions",
    "balance_index",
    "group_units",
]
