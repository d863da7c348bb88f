"""Batched linear solves that are safe with several torch threads.

torch 2.13's CPU batched LU (``torch.linalg.solve`` / ``lu_factor`` on a (P, N, N) batch of
float64 matrices of N ≈ 250, the networks' size) returns garbage pivots for part of the batch
when torch uses more than one thread (MKL prints "Parameter 6 was incorrect on entry to
DLASWP"), which then raises or, worse, solves the wrong system. One matrix at a time is correct
with any number of threads and costs little next to the O(N³) factorisation itself.
"""

from __future__ import annotations

import torch
from torch import Tensor


def solve_each(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """Solve ``a[i] x[i] = b[i]`` for a batch ``a`` (..., N, N), ``b`` (..., N, K).

    Returns ``x`` (NaN where a matrix is singular) and ``info`` (..., 0 where solved), as
    ``torch.linalg.solve_ex`` would, one LAPACK call per matrix.
    """
    batch = a.shape[:-2]
    flat_a = a.reshape(-1, *a.shape[-2:])
    flat_b = b.reshape(-1, *b.shape[-2:])
    x = torch.full_like(flat_b, torch.nan)
    info = torch.zeros(len(flat_a), dtype=torch.int32, device=a.device)
    for i in range(len(flat_a)):
        xi, fail = torch.linalg.solve_ex(flat_a[i], flat_b[i])
        info[i] = fail
        if int(fail) == 0:
            x[i] = xi
    return x.reshape(b.shape), info.reshape(batch)
