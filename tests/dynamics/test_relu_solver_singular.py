"""The exact ReLU solver skips patterns whose linear system is singular instead of failing."""

from __future__ import annotations

import torch

from cogdyn.dynamics.relu_solver import relu_fixed_points

F64 = torch.float64


def test_singular_patterns_are_skipped_not_fatal():
    # W = I: the all-active pattern gives I − W = 0 (singular); the silent pattern gives h = 0.
    w = torch.eye(3, dtype=F64)
    u = torch.tensor([-1.0, -1.0, -1.0], dtype=F64)
    patterns = torch.tensor([[True, True, True], [False, False, False]] * 40)
    for threads in (1, 2):
        torch.set_num_threads(threads)
        fp = relu_fixed_points(w, u, patterns)
        assert fp.states.tolist() == [[0.0, 0.0, 0.0]]
    torch.set_num_threads(1)
