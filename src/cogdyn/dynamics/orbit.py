"""Online statistics of a batch of orbits over a measuring window: the non-Lyapunov evidence.

:class:`OrbitRecorder` sees the states s_0 … s_M of the window one at a time and keeps only
O(B·D) memory (plus the projected series for the spectrum): no (M, B, D) trajectory is stored,
which matters for B ≈ 10³ orbits of an N = 250 network over thousands of steps.

Evidence gathered (all per orbit, batched):

* centroid and RMS radius ("amplitude") of the orbit;
* recurrence: for lags p = 1 … P, the largest ‖s_{a+p} − s_a‖ over anchor times a spread over the
  last ``window`` states (anchors every P steps: one (B, D) anchor in memory at a time);
* drift: log of (mean step length ‖s_{t+1} − s_t‖ over the last quarter) / (the same over the
  first quarter), ≈ 0 on an attractor, ≪ 0 while still converging, ≫ 0 while still growing;
* escape: how far the last quarter's states lie outside the first half, as (smallest distance
  of a late state from the first half's centroid) / (the first half's RMS radius) (≲ 1 on an
  attractor, ≈ 3.5 for a linear drift) and log(smallest late norm / largest early norm); both
  large is the signature of a drift to infinity too slow to cross a divergence bound;
* a few random 1-D projections of s_0 … s_{M−1} for the power spectrum.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class OrbitSummary:
    """What :class:`OrbitRecorder` measured; all tensors are indexed by orbit first."""

    centroid_norm: Tensor
    """(B,) ‖mean state‖ over the window."""
    amplitude: Tensor
    """(B,) root-mean-square distance of the states from their centroid."""
    recurrence: Tensor
    """(B, P) max over anchors of ‖s_{a+p} − s_a‖, p = 1 … P."""
    drift: Tensor
    """(B,) log(mean step length, last quarter / first quarter); 0 when both are 0."""
    escape: Tensor
    """(B,) late distance from the early centroid / early RMS radius (0 when both are 0)."""
    growth: Tensor
    """(B,) log(smallest norm in the last quarter / largest norm in the first half)."""
    series: Tensor
    """(M, B, n) projections of the window's states onto n fixed random unit vectors."""


class OrbitRecorder:
    """Accumulates :class:`OrbitSummary` over states s_0 (given here) … s_M (via update)."""

    def __init__(
        self,
        x: Tensor,
        length: int,
        *,
        max_period: int,
        window: int,
        projections: Tensor,
    ) -> None:
        batch = x.shape[0]
        self.length, self.max_period = length, max_period
        self.t = 0
        self.quarter = max(1, length // 4)
        self.half = length // 2
        n_anchors = max(1, window // max_period)
        self.first_anchor = length - n_anchors * max_period
        self.projections = projections
        zeros = x.new_zeros(batch)
        # Sums are shifted by the first state so that a converged orbit (a fixed point far
        # from the origin) does not lose its tiny radius to cancellation.
        self.ref = x.clone()
        self.sum = torch.zeros_like(x)
        self.sum_sq = zeros.clone()
        self.early_sum = torch.zeros_like(x)
        self.early_sum_sq = zeros.clone()
        self.early_centroid = x.clone()
        self.early_radius = zeros.clone()
        self.early_max_norm = torch.linalg.vector_norm(x, dim=-1)
        self.late_min_norm = torch.full_like(zeros, torch.inf)
        self.late_min_dist = torch.full_like(zeros, torch.inf)
        self.step_first = zeros.clone()
        self.step_last = zeros.clone()
        self.recurrence = x.new_zeros(batch, max_period)
        self.anchor = x.clone()
        self.series = x.new_empty(length, batch, projections.shape[-1])
        self.prev = x
        self._observe(x, self.early_max_norm)

    def _observe(self, x: Tensor, norm: Tensor) -> None:
        """Statistics of state s_t (t = self.t), excluding step lengths."""
        t, m = self.t, self.length
        d = x - self.ref
        d_sq = d.square().sum(-1)
        self.sum += d
        self.sum_sq += d_sq
        if t <= self.half:
            self.early_sum += d
            self.early_sum_sq += d_sq
            self.early_max_norm = torch.maximum(self.early_max_norm, norm)
            if t == self.half:
                n = t + 1
                mean = self.early_sum / n
                self.early_centroid = self.ref + mean
                var = self.early_sum_sq / n - mean.square().sum(-1)
                self.early_radius = var.clamp_min(0).sqrt()
        if t >= m - self.quarter:
            dist = torch.linalg.vector_norm(x - self.early_centroid, dim=-1)
            self.late_min_dist = torch.minimum(self.late_min_dist, dist)
            self.late_min_norm = torch.minimum(self.late_min_norm, norm)
        if t > self.first_anchor:
            lag = (t - self.first_anchor - 1) % self.max_period
            gap = torch.linalg.vector_norm(x - self.anchor, dim=-1)
            self.recurrence[:, lag] = torch.maximum(self.recurrence[:, lag], gap)
        if t >= self.first_anchor and (t - self.first_anchor) % self.max_period == 0:
            self.anchor = x
        if t < m:
            self.series[t] = x @ self.projections

    def update(self, x: Tensor, norm: Tensor) -> None:
        """Record the next state s_{t+1} (B, D) with its norm (B,)."""
        self.t += 1
        t, m = self.t, self.length
        if t <= self.quarter or t > m - self.quarter:
            size = torch.linalg.vector_norm(x - self.prev, dim=-1)
            if t <= self.quarter:
                self.step_first += size
            else:
                self.step_last += size
        self.prev = x
        self._observe(x, norm)

    _ROW_FIELDS = (
        "ref",
        "sum",
        "sum_sq",
        "early_sum",
        "early_sum_sq",
        "early_centroid",
        "early_radius",
        "early_max_norm",
        "late_min_norm",
        "late_min_dist",
        "step_first",
        "step_last",
        "recurrence",
        "anchor",
        "prev",
    )

    def select(self, rows: Tensor) -> None:
        """Keep only the orbits selected by ``rows`` (a bool mask (B,) or an index tensor).

        For a caller whose batch shrinks as orbits leave it; what the kept orbits recorded is
        unchanged.
        """
        for name in self._ROW_FIELDS:
            setattr(self, name, getattr(self, name)[rows])
        self.series = self.series[:, rows]

    def summary(self) -> OrbitSummary:
        """Finish (after s_M has been recorded) and return the evidence."""
        if self.t != self.length:
            raise RuntimeError(f"recorded {self.t} of {self.length} steps")
        n = self.length + 1
        mean = self.sum / n
        var = self.sum_sq / n - mean.square().sum(-1)
        tiny = torch.finfo(self.sum.dtype).tiny
        first, last = self.step_first.clamp_min(tiny), self.step_last.clamp_min(tiny)
        both_zero = (self.step_first <= tiny) & (self.step_last <= tiny)
        drift = torch.where(both_zero, torch.zeros_like(first), torch.log(last / first))
        dist, radius = self.late_min_dist, self.early_radius
        escape = torch.where(dist > 0, dist / radius.clamp_min(tiny), torch.zeros_like(dist))
        growth = torch.log(self.late_min_norm.clamp_min(tiny) / self.early_max_norm.clamp_min(tiny))
        return OrbitSummary(
            centroid_norm=torch.linalg.vector_norm(self.ref + mean, dim=-1),
            amplitude=var.clamp_min(0).sqrt(),
            recurrence=self.recurrence,
            drift=drift,
            escape=escape,
            growth=growth,
            series=self.series,
        )
