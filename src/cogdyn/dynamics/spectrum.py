"""Dominant frequency of batched orbits from the power spectrum of their 1-D projections."""

from __future__ import annotations

import torch
from torch import Tensor


def dominant_frequency(series: Tensor) -> Tensor:
    """Frequency of the highest spectral peak, in cycles per iteration, in [0, 0.5].

    ``series`` (T, B, n): n scalar projections of each of B orbits over T iterations. The
    projections' power spectra (mean removed, Hann window) are summed, so a motion invisible in
    one projection still shows in another; the zero-frequency bin is ignored. The peak is refined
    by a parabola through the log-power of its neighbours (exact for a Gaussian peak, close for
    the Hann window's main lobe), so the resolution is much finer than the bin width 1/T. A
    rotation by ω cycles per iteration shows at its alias min(ω mod 1, 1 − ω mod 1). An orbit
    with no variation (all power 0) gets 0.

    Returns (B,) in the dtype of ``series``.
    """
    t = series.shape[0]
    if t < 4:
        return series.new_zeros(series.shape[1])
    centred = series - series.mean(0)
    window = torch.hann_window(t, periodic=False, dtype=series.dtype, device=series.device)
    power = torch.fft.rfft(centred * window[:, None, None], dim=0).abs().square().sum(-1)
    power[0] = 0
    peak = power.argmax(0)
    top = power.gather(0, peak.unsqueeze(0)).squeeze(0)
    # Parabolic interpolation needs both neighbours; at the Nyquist bin (or bin 1) keep the bin.
    inner = (peak > 1) & (peak < power.shape[0] - 1)
    lo = power.gather(0, (peak - 1).clamp_min(0).unsqueeze(0)).squeeze(0)
    hi = power.gather(0, (peak + 1).clamp_max(power.shape[0] - 1).unsqueeze(0)).squeeze(0)
    tiny = torch.finfo(series.dtype).tiny
    a, b, c = (torch.log(p.clamp_min(tiny)) for p in (lo, top, hi))
    denom = a - 2 * b + c
    shift = torch.where(inner & (denom < 0), 0.5 * (a - c) / denom.clamp_max(-tiny), 0.0)
    freq = (peak.to(series.dtype) + shift.clamp(-0.5, 0.5)) / t
    return torch.where(top > 0, freq, torch.zeros_like(freq)).clamp(0.0, 0.5)
