"""Lyapunov exponents by the QR (Benettin) method against known answers."""

from __future__ import annotations

import math

import pytest
import torch

from cogdyn.dynamics import lyapunov_spectrum
from cogdyn.dynamics.lyapunov import make_propagator, orthonormalize

F64 = torch.float64


def linear(a: torch.Tensor):
    return lambda x: x @ a.T


def test_linear_map_exponents_are_log_abs_eigenvalues() -> None:
    # Non-normal, real eigenvalues 1.5 and 0.5: the exponents ignore the shear.
    a = torch.tensor([[1.5, 2.0], [0.0, 0.5]], dtype=F64)
    lam = lyapunov_spectrum(linear(a), torch.ones(3, 2, dtype=F64), steps=1000, transient=100)
    expected = torch.tensor([math.log(1.5), math.log(0.5)], dtype=F64).expand(3, 2)
    torch.testing.assert_close(lam, expected, atol=2e-3, rtol=0)


def test_complex_pair_and_extra_direction() -> None:
    # A rotation scaled by 0.9 (a complex pair of modulus 0.9) plus a contraction by 0.2.
    th = 2 * math.pi * 0.1
    c, s = 0.9 * math.cos(th), 0.9 * math.sin(th)
    a = torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 0.2]], dtype=F64)
    lam = lyapunov_spectrum(
        linear(a), torch.ones(2, 3, dtype=F64), n_exponents=3, steps=1000, transient=100
    )
    expected = torch.tensor([math.log(0.9), math.log(0.9), math.log(0.2)], dtype=F64)
    torch.testing.assert_close(lam, expected.expand(2, 3), atol=2e-3, rtol=0)


def test_n_exponents_clipped_to_dimension_and_dtype_kept() -> None:
    lam = lyapunov_spectrum(lambda x: 0.5 * x, torch.ones(4, 1), n_exponents=3, steps=50)
    assert lam.shape == (4, 1) and lam.dtype == torch.float32
    torch.testing.assert_close(lam, torch.full((4, 1), math.log(0.5)))


def test_annihilated_direction_gives_minus_inf() -> None:
    # A Jacobian with a zero eigenvalue (a ReLU unit that is off): that exponent is −inf, not NaN.
    a = torch.tensor([[0.5, 0.0], [0.0, 0.0]], dtype=F64)
    lam = lyapunov_spectrum(linear(a), torch.ones(2, 2, dtype=F64), steps=100, transient=10)
    torch.testing.assert_close(lam[:, 0], torch.full((2,), math.log(0.5), dtype=F64))
    assert torch.isneginf(lam[:, 1]).all()


def test_overflowing_orbit_gives_plus_inf() -> None:
    lam = lyapunov_spectrum(lambda x: x * x + 2.0, torch.ones(2, 1, dtype=F64), steps=100)
    assert torch.isposinf(lam).all()


def test_orthonormalize_is_a_thin_qr() -> None:
    v = torch.randn(5, 7, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    q, logr, dead = orthonormalize(v)
    eye = torch.eye(3, dtype=F64).expand(5, 3, 3)
    torch.testing.assert_close(q.transpose(1, 2) @ q, eye)
    r = torch.linalg.qr(v).R
    torch.testing.assert_close(logr, r.diagonal(dim1=-2, dim2=-1).abs().log())
    assert not dead.any()


@pytest.mark.parametrize("dim", [3, 40])  # reverse mode (D ≤ 16) and vmapped forward mode
def test_autodiff_propagator_matches_jacobian(dim: int) -> None:
    g = torch.Generator().manual_seed(1)
    w = torch.randn(dim, dim, generator=g, dtype=F64)
    x = torch.randn(4, dim, generator=g, dtype=F64)
    q = torch.randn(4, dim, 2, generator=g, dtype=F64)

    def step(h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(h @ w.T)

    fx, jq = make_propagator(step)(x, q)
    jac = (1 - step(x).square()).unsqueeze(-1) * w
    torch.testing.assert_close(fx, step(x))
    torch.testing.assert_close(jq, jac @ q)


def test_bad_arguments() -> None:
    x = torch.ones(2, 2)
    with pytest.raises(ValueError, match="n_exponents"):
        lyapunov_spectrum(lambda v: v, x, n_exponents=0)
    with pytest.raises(ValueError, match="steps"):
        lyapunov_spectrum(lambda v: v, x, steps=0)
    with pytest.raises(ValueError, match="x0"):
        lyapunov_spectrum(lambda v: v, torch.ones(3))
    with pytest.raises(ValueError, match="jacobian"):
        lyapunov_spectrum(lambda v: v, x, jacobian=lambda v: v, tangent=lambda v, q: q)
