"""solve_each agrees with a reference solve and stays correct with several threads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cogdyn.linalg import solve_each


@pytest.mark.parametrize("threads", [1, 2])
def test_batched_solve_matches_numpy_with_any_threads(threads):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        g = torch.Generator().manual_seed(0)
        # Size 250 and a batch of 16: where torch's batched LU goes wrong with 2 threads.
        a = torch.eye(250, dtype=torch.float64) + 0.05 * torch.rand(
            16, 250, 250, generator=g, dtype=torch.float64
        )
        b = torch.rand(16, 250, 2, generator=g, dtype=torch.float64)
        x, info = solve_each(a, b)
    finally:
        torch.set_num_threads(before)
    assert info.tolist() == [0] * 16
    np.testing.assert_allclose(x.numpy(), np.linalg.solve(a.numpy(), b.numpy()), atol=1e-10)


def test_singular_matrices_get_nan_and_info():
    a = torch.stack([torch.eye(3, dtype=torch.float64), torch.zeros(3, 3, dtype=torch.float64)])
    x, info = solve_each(a, torch.ones(2, 3, 1, dtype=torch.float64))
    assert info[0] == 0 and info[1] > 0
    assert x[0].flatten().tolist() == [1.0, 1.0, 1.0]
    assert torch.isnan(x[1]).all()
