"""cogdyn: how the learning algorithm shapes the dynamics a recurrent network discovers."""

__version__ = "0.1.0"
