"""classify_map against textbook maps with known attractors, and a ReLU network map."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
from torch import Tensor

from cogdyn.dynamics import LABELS, ClassifyOptions, MapClassification, classify_map

# torch's forward-mode AD registers TorchScript decompositions on first use.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")

F64 = torch.float64


GOLDEN = (math.sqrt(5) - 1) / 2


def logistic(r: Tensor) -> Callable[[Tensor], Tensor]:
    return lambda x: r.unsqueeze(-1) * x * (1 - x)


def henon(x: Tensor) -> Tensor:
    return torch.stack([1 - 1.4 * x[:, 0] ** 2 + x[:, 1], 0.3 * x[:, 0]], -1)


def circle(x: Tensor, omega: float) -> Tensor:
    """Planar map attracted to the unit circle (radial multiplier 0.5), rotating by ω turns."""
    c, s = math.cos(2 * math.pi * omega), math.sin(2 * math.pi * omega)
    gain = 1 + 0.5 * (1 - torch.linalg.vector_norm(x, dim=-1, keepdim=True))
    return gain * torch.stack([c * x[:, 0] - s * x[:, 1], s * x[:, 0] + c * x[:, 1]], -1)


def rotation(scale: float, omega: float) -> Tensor:
    c, s = math.cos(2 * math.pi * omega), math.sin(2 * math.pi * omega)
    return scale * torch.tensor([[c, -s], [s, c]], dtype=F64)


def relu_net(w: Tensor, b: Tensor) -> tuple[Callable, Callable, Callable]:
    """h ↦ ReLU(W h + b) with its analytic Jacobian and J·V (from F(h): unit on ⇔ F(h) > 0)."""

    def step(h: Tensor) -> Tensor:
        return torch.relu(h @ w.T + b)

    def jacobian(h: Tensor) -> Tensor:
        return (h @ w.T + b > 0).to(h.dtype).unsqueeze(-1) * w

    def tangent(h: Tensor, v: Tensor, fh: Tensor) -> Tensor:
        return ((v.transpose(1, 2) @ w.T) * (fh > 0).unsqueeze(1)).transpose(1, 2)

    return step, jacobian, tangent


def assert_no_nan(res: MapClassification) -> None:
    for name in ("lyapunov", "frequency", "amplitude", "final"):
        assert not torch.isnan(getattr(res, name)).any(), name


# --- linear maps -------------------------------------------------------------------------------


@pytest.mark.parametrize("retire", [False, True])
def test_linear_contraction_is_fixed_point_with_log_eigenvalues(retire: bool) -> None:
    a = torch.tensor([[0.8, 0.3], [0.0, 0.5]], dtype=F64)
    res = classify_map(
        lambda x: x @ a.T,
        torch.ones(2, 2, dtype=F64),
        jacobian=lambda x: a.expand(x.shape[0], 2, 2),
        retire=retire,
    )
    assert res.labels == ["fixed_point"] * 2
    assert res.period.tolist() == [1, 1]
    expected = torch.tensor([math.log(0.8), math.log(0.5)], dtype=F64).expand(2, 2)
    # Retired: the exponents are log|eigenvalues| of J at the point, exactly; the final state
    # is the point to round-off (a Newton step from where the orbit retired). Brute force: a
    # 2000-step average, and 4000 steps of contraction by 0.8 underflow to 0.
    torch.testing.assert_close(res.lyapunov, expected, atol=1e-12 if retire else 1e-3, rtol=0)
    assert res.frequency.eq(0).all() and res.final.abs().max() < (1e-20 if retire else 1e-100)


@pytest.mark.parametrize(
    ("scale", "label", "lam"),
    [
        (0.95, "fixed_point", math.log(0.95)),
        (1.0, "quasi_periodic", 0.0),
        (1.05, "divergent", None),
    ],
)
def test_scaled_rotation(scale: float, label: str, lam: float | None) -> None:
    a = rotation(scale, 0.1234567)
    res = classify_map(
        lambda x: x @ a.T,
        torch.tensor([[1.0, 0.5]], dtype=F64),
        jacobian=lambda x: a.expand(x.shape[0], 2, 2),
    )
    assert res.labels == [label]
    assert_no_nan(res)
    if lam is not None:
        torch.testing.assert_close(
            res.lyapunov, torch.full((1, 2), lam, dtype=F64), atol=1e-3, rtol=0
        )


def test_slow_growth_is_divergent_and_slow_contraction_unresolved() -> None:
    # Growth too slow to reach the bound in the window (λ = 0.002, a translation with λ = 0) is
    # caught by the escape test; a spiral contracting at λ = −0.001 has not settled yet.
    a = rotation(0.999, 0.1234567)
    maps = [lambda x: 1.002 * x, lambda x: x + 1.0, lambda x: x @ a.T]
    labels = [classify_map(f, torch.tensor([[1.0, 0.5]], dtype=F64)).labels[0] for f in maps]
    assert labels == ["divergent", "divergent", "unresolved"]


def test_doubling_map_diverges_without_nan() -> None:
    # Row 2 sits exactly on the unstable fixed point 0: it returns, but λ₁ = ln 2 > 0, so the
    # evidence disagrees (not an attractor) and the label is unresolved.
    res = classify_map(lambda x: 2 * x, torch.tensor([[1.0, -2.0], [0.0, 0.0]], dtype=F64))
    assert res.labels == ["divergent", "unresolved"]
    assert_no_nan(res)
    assert torch.isposinf(res.lyapunov[0]).all() and torch.isposinf(res.amplitude[0])
    assert res.period.tolist() == [0, 0] and res.frequency[0] == 0
    assert torch.isfinite(res.final).all() and res.final[0].abs().max() <= 1e6
    torch.testing.assert_close(res.lyapunov[1], torch.full((2,), math.log(2), dtype=F64))
    res = classify_map(lambda x: x * x + 2, torch.ones(3, 1, dtype=F64))  # overflows to inf
    assert res.labels == ["divergent"] * 3
    assert_no_nan(res)


# --- logistic and Hénon maps -------------------------------------------------------------------


def test_logistic_family_in_one_batch() -> None:
    r = torch.tensor([2.8, 3.2, 3.5, 4.0, 4.5], dtype=F64)
    res = classify_map(logistic(r), torch.full((5, 1), 0.3, dtype=F64))
    assert res.labels == ["fixed_point", "periodic", "periodic", "chaotic", "divergent"]
    assert res.period.tolist() == [1, 2, 4, 0, 0]
    assert res.lyapunov.shape == (5, 1)
    torch.testing.assert_close(res.lyapunov[0, 0], torch.tensor(math.log(0.8), dtype=F64))
    assert res.lyapunov[1:3, 0].lt(0).all()
    torch.testing.assert_close(res.frequency[1], torch.tensor(0.5, dtype=F64))
    torch.testing.assert_close(res.final[0, 0], torch.tensor(1 - 1 / 2.8, dtype=F64))
    assert res.counts() == {
        "fixed_point": 1,
        "periodic": 2,
        "quasi_periodic": 0,
        "chaotic": 1,
        "divergent": 1,
        "unresolved": 0,
    }
    assert res.codes.tolist() == [0, 1, 1, 3, 4] and list(LABELS)[3] == "chaotic"


def test_logistic_r4_exponent_is_ln2() -> None:
    x0 = torch.linspace(0.11, 0.89, 8, dtype=F64).unsqueeze(-1)
    r = torch.full((8,), 4.0, dtype=F64)
    res = classify_map(logistic(r), x0, jacobian=lambda x: (4 * (1 - 2 * x)).unsqueeze(-1))
    assert res.labels == ["chaotic"] * 8
    assert abs(res.lyapunov.mean().item() - math.log(2)) < 0.02


def test_henon_is_chaotic_with_known_exponent() -> None:
    x0 = 0.1 * torch.rand(8, 2, generator=torch.Generator().manual_seed(0), dtype=F64)
    res = classify_map(henon, x0)
    assert res.labels == ["chaotic"] * 8
    lam = res.lyapunov.mean(0)
    assert abs(lam[0].item() - 0.419) < 0.02
    # λ₁ + λ₂ = ln|det J| = ln 0.3 exactly for the Hénon map.
    assert abs(lam.sum().item() - math.log(0.3)) < 1e-6
    assert res.period.eq(0).all() and res.frequency.gt(0).all()


# --- invariant circles and tori ----------------------------------------------------------------


def test_irrational_circle_is_quasi_periodic() -> None:
    x0 = torch.tensor([[0.3, 0.1], [2.0, 0.0]], dtype=F64)
    res = classify_map(lambda x: circle(x, GOLDEN), x0)
    assert res.labels == ["quasi_periodic"] * 2
    assert res.lyapunov[:, 0].abs().max() < 1e-3
    torch.testing.assert_close(res.lyapunov[:, 1], torch.full((2,), math.log(0.5), dtype=F64))
    # A rotation by ω turns shows at the alias 1 − ω; the orbit is the unit circle.
    torch.testing.assert_close(
        res.frequency, torch.full((2,), 1 - GOLDEN, dtype=F64), atol=1e-3, rtol=0
    )
    torch.testing.assert_close(res.amplitude, torch.ones(2, dtype=F64))


def test_rational_circle_is_periodic() -> None:
    res = classify_map(lambda x: circle(x, 0.2), torch.tensor([[0.3, 0.1]], dtype=F64))
    assert res.labels == ["periodic"] and res.period.item() == 5
    torch.testing.assert_close(res.frequency, torch.tensor([0.2], dtype=F64))


@pytest.mark.parametrize("retire", [False, True])
@pytest.mark.parametrize("q", [300, 997])
def test_long_rational_circle_is_periodic_with_its_period(q: int, retire: bool) -> None:
    # A rotation by 37/q turns (q prime to 37) closes after exactly q > max_period = 128 steps;
    # beside it the golden rotation, which never closes, must stay quasi-periodic.
    x0 = torch.tensor([[0.3, 0.1], [2.0, 0.0]], dtype=F64)
    omega = torch.tensor([[37 / q], [GOLDEN]], dtype=F64)

    def step(x: Tensor) -> Tensor:
        c, s = torch.cos(2 * math.pi * omega), torch.sin(2 * math.pi * omega)
        gain = 1 + 0.5 * (1 - torch.linalg.vector_norm(x, dim=-1, keepdim=True))
        rot = torch.cat([c * x[:, :1] - s * x[:, 1:], s * x[:, :1] + c * x[:, 1:]], -1)
        return gain * rot

    res = classify_map(step, x0, retire=retire)
    assert res.labels == ["periodic", "quasi_periodic"]
    assert res.period.tolist() == [q, 0]
    # Without the long-cycle search (or with it shorter than q) the cycle reads as λ₁ ≈ 0 and
    # no return: quasi-periodic, as before the search existed.
    short = classify_map(step, x0, retire=retire, long_period=0)
    assert short.labels == ["quasi_periodic"] * 2
    capped = classify_map(step, x0, retire=retire, long_period=q - 1)
    assert capped.labels == ["quasi_periodic"] * 2


def test_torus_dim_tells_a_circle_from_a_torus() -> None:
    def step(x: Tensor) -> Tensor:
        on_torus = torch.cat([circle(x[:, :2], GOLDEN), circle(x[:, 2:], math.sqrt(2) - 1)], -1)
        # Row 1: the second pair contracts to 0 instead, leaving an invariant circle.
        on_circle = torch.cat([circle(x[:, :2], GOLDEN), 0.5 * x[:, 2:]], -1)
        return torch.where(torch.arange(len(x)).unsqueeze(-1) == 0, on_torus, on_circle)

    x0 = torch.tensor([[0.5, 0.2, -0.3, 0.9], [0.5, 0.2, -0.3, 0.9]], dtype=F64)
    res = classify_map(step, x0)
    assert res.labels == ["quasi_periodic"] * 2
    assert res.torus_dim.tolist() == [2, 1]
    fixed = classify_map(lambda x: 0.5 * x, x0)
    assert fixed.torus_dim.tolist() == [0, 0]


def test_circle_with_contracting_third_direction() -> None:
    def step(x: Tensor) -> Tensor:
        return torch.cat([circle(x[:, :2], GOLDEN), 0.3 * x[:, 2:]], -1)

    res = classify_map(step, torch.tensor([[0.5, 0.2, 1.0]], dtype=F64), n_exponents=3)
    assert res.labels == ["quasi_periodic"]
    expected = torch.tensor([[0.0, math.log(0.5), math.log(0.3)]], dtype=F64)
    torch.testing.assert_close(res.lyapunov, expected, atol=1e-3, rtol=0)


def test_two_torus_is_quasi_periodic() -> None:
    def step(x: Tensor) -> Tensor:
        return torch.cat([circle(x[:, :2], GOLDEN), circle(x[:, 2:], math.sqrt(2) - 1)], -1)

    res = classify_map(step, torch.tensor([[0.5, 0.2, -0.3, 0.9]], dtype=F64))
    assert res.labels == ["quasi_periodic"]
    assert res.lyapunov.abs().max() < 1e-3  # two neutral directions: λ₁ ≈ λ₂ ≈ 0


# --- ReLU network maps -------------------------------------------------------------------------


def test_relu_net_stable_fixed_point_matches_analytic_solution() -> None:
    # Build h* first: on the active set A, b_A = (I − W_AA) h*_A; off it the pre-activation is
    # −1. With ‖W‖₂ = 0.5 the map is a contraction, so h* is the unique, stable fixed point.
    g = torch.Generator().manual_seed(0)
    n = 20
    w = torch.randn(n, n, generator=g, dtype=F64)
    w = 0.5 * w / torch.linalg.matrix_norm(w, ord=2)
    h_star = torch.rand(n, generator=g, dtype=F64) + 0.1
    h_star[::3] = 0
    active = h_star > 0
    b = torch.where(active, h_star - w @ h_star, -(w @ h_star) - 1)
    step, _, tangent = relu_net(w, b)
    res = classify_map(step, torch.rand(4, n, generator=g, dtype=F64) * 3, tangent=tangent)
    assert res.labels == ["fixed_point"] * 4 and res.period.eq(1).all()
    torch.testing.assert_close(res.final, h_star.expand(4, n), atol=1e-12, rtol=0)
    # At h*, J = D·W has the eigenvalues of W_AA (and zeros): λ₁ = log of their largest modulus.
    rho = torch.linalg.eigvals(w[active][:, active]).abs().max()
    torch.testing.assert_close(res.lyapunov[:, 0], rho.log().expand(4), atol=1e-3, rtol=0)


def test_relu_net_all_units_off_gives_minus_inf_without_nan() -> None:
    w = torch.eye(3, dtype=F64)
    step, jacobian, _ = relu_net(w, torch.full((3,), -5.0, dtype=F64))
    res = classify_map(step, torch.ones(2, 3, dtype=F64), jacobian=jacobian)
    assert res.labels == ["fixed_point"] * 2 and torch.isneginf(res.lyapunov).all()
    assert_no_nan(res)


@pytest.mark.parametrize("n", [8, 30])  # autodiff by reverse mode (n ≤ 16) and by forward mode
def test_analytic_and_autodiff_tangents_agree(n: int) -> None:
    g = torch.Generator().manual_seed(3)
    w = (torch.rand(n, n, generator=g, dtype=F64) * 2 - 1) * 2.0 / math.sqrt(n / 3) - 0.6 / n
    b = (torch.rand(6, n, generator=g, dtype=F64) * 2 - 1) * 0.5
    step, jacobian, tangent = relu_net(w, b)
    h0 = torch.rand(6, n, generator=g, dtype=F64)
    opts = ClassifyOptions(transient=300, measure=600, max_period=32)
    auto = classify_map(step, h0, options=opts)
    for linearisation in ({"jacobian": jacobian}, {"tangent": tangent}, {"jacobian": tangent}):
        res = classify_map(step, h0, options=opts, **linearisation)
        torch.testing.assert_close(res.lyapunov, auto.lyapunov, atol=1e-8, rtol=0)
        assert res.labels == auto.labels
    if n == 30:
        assert auto.counts()["chaotic"] == 6  # the agreement is checked on chaotic orbits


# --- dtype, options, determinism ---------------------------------------------------------------


def test_float32_is_kept() -> None:
    x0 = torch.tensor([[0.3, 0.1], [0.1, 0.1]])
    r = torch.tensor([2.8, 3.2])
    steps = [
        lambda x: circle(x, 0.2),
        lambda x: torch.cat([logistic(r)(x[:, :1]), x[:, 1:] * 0.5], -1),
    ]
    for step, labels in zip(steps, (["periodic"] * 2, ["fixed_point", "periodic"]), strict=True):
        res = classify_map(step, x0)
        assert res.labels == labels
        for name in ("lyapunov", "frequency", "amplitude", "final"):
            assert getattr(res, name).dtype == torch.float32, name
        assert res.period.dtype == torch.int64


def test_deterministic_and_no_global_random_state() -> None:
    state = torch.get_rng_state()
    a = classify_map(henon, torch.full((2, 2), 0.1, dtype=F64), measure=500, transient=100)
    b = classify_map(henon, torch.full((2, 2), 0.1, dtype=F64), measure=500, transient=100)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a.lyapunov, b.lyapunov) and torch.equal(a.frequency, b.frequency)


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"transient": -1}, "transient"),
        ({"measure": 10}, "measure"),
        ({"measure": 2.5}, "measure"),
        ({"n_exponents": 0}, "n_exponents"),
        ({"max_period": 2000}, "max_period"),
        ({"recurrence_window": 5000}, "recurrence_window"),
        ({"long_period": 1001}, "long_period"),
        ({"long_period": 50}, "long_period"),
        ({"long_period": -1}, "long_period"),
        ({"qr_every": 0}, "qr_every"),
        ({"rtol": 2.0}, "rtol"),
        ({"atol": -1.0}, "atol"),
        ({"zero_tol": 0.0}, "zero_tol"),
        ({"drift_tol": "big"}, "drift_tol"),
        ({"bound": -1.0}, "bound"),
        ({"seed": True}, "seed"),
        ({"retire": 1}, "retire"),
        ({"transiant": 10}, "transiant"),
    ],
)
def test_bad_option_raises_naming_it(options: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name) as info:
        classify_map(henon, torch.zeros(1, 2), **options)
    assert "must be" in str(info.value) or "allowed" in str(info.value)


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="x0"):
        classify_map(henon, torch.zeros(2))
    with pytest.raises(ValueError, match="x0"):
        classify_map(henon, torch.zeros(2, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match="jacobian"):
        classify_map(henon, torch.zeros(1, 2), jacobian=lambda x: x, tangent=lambda x, v: v)
    with pytest.raises(ValueError, match="step"):
        classify_map(lambda x: x[:, :1], torch.zeros(1, 2), jacobian=lambda x: torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match="tangent"):
        classify_map(henon, torch.zeros(1, 2), tangent=lambda x, v: v[..., :1])
