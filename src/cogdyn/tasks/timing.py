"""Period durations: sampling in ms and conversion to whole time steps.

Each period's duration is floored to whole steps, ``floor(duration / dt)``, as neurogym (≥ 2.2)
does when it samples a period. With the defaults (dt = 100 ms) that gives fixation 3 steps,
stimulus 7 (the 750 ms stimulus really lasts 700 ms), delay 3–29 and decision 1. Periods follow
each other with no gap, so a trial lasts the sum of its periods' steps.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from cogdyn.config import Duration, TaskConfig

# Guards floor() against float round-off such as 0.3 / 0.1 = 2.9999999999999996.
_EPS = 1e-9


def sample_ms(duration: Duration, n: int, generator: torch.Generator) -> Tensor:
    """Draw ``n`` durations (ms) as float64; constants draw nothing from ``generator``."""
    kind = duration.kind
    if kind == "constant":
        return torch.full((n,), float(duration.value), dtype=torch.float64)
    u = torch.rand(n, generator=generator, dtype=torch.float64)
    if kind == "uniform":
        return duration.min + u * (duration.max - duration.min)
    if kind == "truncexp":
        # Inverse CDF of Exp(mean) conditioned on [min, max): the law of neurogym's TruncExp.
        a = math.exp(-duration.min / duration.mean)
        b = math.exp(-duration.max / duration.mean)
        return -duration.mean * torch.log(a - u * (a - b))
    values = torch.tensor(duration.values, dtype=torch.float64)
    idx = torch.randint(len(values), (n,), generator=generator)
    return values[idx]


def to_steps(time_ms: Tensor, dt: float) -> Tensor:
    """Duration (ms) to whole steps, floor(t / dt) with a round-off guard, as int64."""
    return torch.floor(time_ms / dt + _EPS).to(torch.int64)


def truncexp_mean(mean: float, lo: float, hi: float) -> float:
    """Mean of Exp(mean) conditioned on [lo, hi): used by tests and docs."""
    a, b = math.exp(-lo / mean), math.exp(-hi / mean)
    return mean + (lo * a - hi * b) / (a - b)


def max_trial_steps(config: TaskConfig) -> int | None:
    """The most steps a CtxDM trial of ``config`` can last (each period at its longest); None for
    a neurogym task, whose trials only the environment knows. For memory estimates."""
    if not config.is_ctxdm:
        return None
    periods = (config.fixation, config.stimulus, config.delay, config.decision)
    total = sum(d.highest / config.dt for d in periods)
    return int(total + _EPS) if math.isfinite(total) and total < 1e18 else 10**18
