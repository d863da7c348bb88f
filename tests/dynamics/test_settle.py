"""Early retirement in classify_map: the same labels as the brute-force path, exact exponents.

Each map is classified twice, ``retire=False`` (every orbit iterated for the whole window) and
``retire=True``; labels and periods must be identical. Retired orbits report exponents computed
at the attractor, checked here against closed forms (logistic fixed point and 2-cycle, a linear
contraction, a ReLU network's fixed points); an orbit that must not retire (slow, neutral or
late) reports exactly the brute-force numbers.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from cogdyn.dynamics import FrozenInputMap, MapClassification, classify_map
from cogdyn.dynamics.classify import LABELS
from cogdyn.dynamics.lyapunov import jacobians, leading_log_moduli, make_propagator
from cogdyn.dynamics.settle import RowMaps

F64 = torch.float64
GOLDEN = (math.sqrt(5) - 1) / 2

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


def both(step, x0: Tensor, **kwargs) -> tuple[MapClassification, MapClassification]:
    brute = classify_map(step, x0, retire=False, **kwargs)
    fast = classify_map(step, x0, retire=True, **kwargs)
    assert fast.labels == brute.labels
    assert torch.equal(fast.period, brute.period)
    return brute, fast


def logistic(r: Tensor):
    return lambda x: r.unsqueeze(-1) * x * (1 - x)


def circle(x: Tensor, omega: float) -> Tensor:
    c, s = math.cos(2 * math.pi * omega), math.sin(2 * math.pi * omega)
    gain = 1 + 0.5 * (1 - torch.linalg.vector_norm(x, dim=-1, keepdim=True))
    return gain * torch.stack([c * x[:, 0] - s * x[:, 1], s * x[:, 0] + c * x[:, 1]], -1)


def henon(x: Tensor) -> Tensor:
    return torch.stack([1 - 1.4 * x[:, 0] ** 2 + x[:, 1], 0.3 * x[:, 0]], -1)


# --- textbook maps -----------------------------------------------------------------------------


def test_logistic_family_same_labels_and_exact_exponents() -> None:
    r = torch.tensor([2.8, 3.2, 3.5, 3.83, 4.0, 4.5], dtype=F64)
    brute, fast = both(logistic(r), torch.full((6, 1), 0.3, dtype=F64))
    assert fast.labels == [
        "fixed_point",
        "periodic",
        "periodic",
        "periodic",
        "chaotic",
        "divergent",
    ]
    assert fast.period.tolist() == [1, 2, 4, 3, 0, 0]
    # Fixed point 1 − 1/r: multiplier 2 − r. The 2-cycle: multiplier 4 + 2r − r², per 2 steps.
    exact = [math.log(0.8), 0.5 * math.log(abs(4 + 2 * 3.2 - 3.2**2))]
    torch.testing.assert_close(
        fast.lyapunov[:2, 0], torch.tensor(exact, dtype=F64), atol=1e-12, rtol=0
    )
    # The brute-force window estimates agree to their finite-window error.
    torch.testing.assert_close(fast.lyapunov[:4], brute.lyapunov[:4], atol=2e-3, rtol=0)
    torch.testing.assert_close(
        fast.final[0, 0], torch.tensor(1 - 1 / 2.8, dtype=F64), atol=1e-15, rtol=0
    )
    # Cycle evidence from the periodic extension matches the window's.
    torch.testing.assert_close(fast.frequency[:4], brute.frequency[:4], atol=1e-9, rtol=0)
    torch.testing.assert_close(fast.amplitude[:4], brute.amplitude[:4], atol=1e-9, rtol=0)
    torch.testing.assert_close(fast.final[:4], brute.final[:4], atol=1e-9, rtol=0)
    assert torch.equal(fast.lyapunov[4:], brute.lyapunov[4:])  # chaotic, divergent: as before


def test_henon_circle_torus_and_contraction_same_labels() -> None:
    def torus(x: Tensor) -> Tensor:
        return torch.cat([circle(x[:, :2], GOLDEN), circle(x[:, 2:], math.sqrt(2) - 1)], -1)

    a = torch.tensor([[0.8, 0.3], [0.0, 0.5]], dtype=F64)
    cases = [
        (henon, torch.full((3, 2), 0.1, dtype=F64), ["chaotic"] * 3),
        (lambda x: circle(x, GOLDEN), torch.tensor([[0.3, 0.1]], dtype=F64), ["quasi_periodic"]),
        (lambda x: circle(x, 0.2), torch.tensor([[0.3, 0.1]], dtype=F64), ["periodic"]),
        (torus, torch.tensor([[0.5, 0.2, -0.3, 0.9]], dtype=F64), ["quasi_periodic"]),
        (lambda x: (x - 1) @ a.T + 1, torch.zeros(2, 2, dtype=F64), ["fixed_point"] * 2),
    ]
    for step, x0, labels in cases:
        fast = both(step, x0)[1]
        assert fast.labels == labels
    # The contraction retired: exact log-eigenvalues, and its final state is the point.
    expected = torch.tensor([math.log(0.8), math.log(0.5)], dtype=F64)
    torch.testing.assert_close(fast.lyapunov, expected.expand(2, 2), atol=1e-12, rtol=0)
    torch.testing.assert_close(fast.final, torch.ones(2, 2, dtype=F64), atol=1e-15, rtol=0)


# --- orbits that must not retire ---------------------------------------------------------------


def test_slow_neutral_and_late_orbits_keep_the_brute_force_numbers() -> None:
    # x ↦ 0.999 (x − 1) + 1 started at its fixed point: it returns at once, but λ = ln 0.999
    # is within zero_tol of 0, so it is left to the full window (label fixed_point either way).
    slow = classify_map(lambda x: 0.999 * (x - 1) + 1, torch.ones(1, 1, dtype=F64))
    brute = classify_map(lambda x: 0.999 * (x - 1) + 1, torch.ones(1, 1, dtype=F64), retire=False)
    assert slow.labels == ["fixed_point"] and torch.equal(slow.lyapunov, brute.lyapunov)
    # The unstable fixed point 0 of the doubling map, hit exactly: unresolved in both.
    b, f = both(lambda x: 2 * x, torch.zeros(1, 1, dtype=F64))
    assert f.labels == ["unresolved"] and torch.equal(f.lyapunov, b.lyapunov)
    # Converges (to within atol of 0) only after ~200 steps, past the first anchor of a short
    # window (step 128): the brute-force window decides, so nothing may retire.
    opts = {"transient": 0, "measure": 256, "max_period": 16}
    b, f = both(lambda x: 0.9 * x, torch.ones(1, 1, dtype=F64), **opts)
    assert torch.equal(f.lyapunov, b.lyapunov) and torch.equal(f.final, b.final)
    # With the default transient the same orbit retires, with the exact exponent.
    f = classify_map(lambda x: 0.9 * x, torch.ones(1, 1, dtype=F64))
    assert f.labels == ["fixed_point"]
    torch.testing.assert_close(f.lyapunov[0, 0], torch.tensor(math.log(0.9), dtype=F64))


# --- ReLU networks -----------------------------------------------------------------------------


def random_relu_batch(n: int = 250, batch: int = 48) -> tuple[FrozenInputMap, Tensor]:
    """A random N = 250 ReLU net, one drive per row: fixed points, cycles, tori and chaos."""
    g = torch.Generator().manual_seed(0)
    w = 1.5 * torch.randn(n, n, generator=g, dtype=F64) / math.sqrt(n) - 1.0 / n
    shift = torch.linspace(-0.6, 0.6, batch, dtype=F64).unsqueeze(-1)
    drive = shift + 0.3 * torch.randn(batch, n, generator=g, dtype=F64)
    return FrozenInputMap(w, drive), torch.rand(batch, n, generator=g, dtype=F64)


def test_random_relu_network_batch_same_labels_exact_fixed_points() -> None:
    fmap, x0 = random_relu_batch()
    brute, fast = both(fmap.step, x0, tangent=fmap.tangent_from_next)
    counts = fast.counts()
    assert counts["fixed_point"] >= 20 and counts["quasi_periodic"] >= 5, counts
    assert counts["chaotic"] >= 1 and counts["periodic"] >= 1, counts
    fp = torch.tensor([s == "fixed_point" for s in fast.labels])
    # Exact exponents: log|eigenvalues| of W restricted to the active set at the final point.
    for i in torch.nonzero(fp).reshape(-1).tolist():
        h = fast.final[i]
        active = fmap.select([i]).preactivation(h.unsqueeze(0))[0] > 0
        mods = torch.linalg.eigvals(fmap.weight[active][:, active]).abs().sort(descending=True)
        torch.testing.assert_close(fast.lyapunov[i], mods.values[:2].log(), atol=1e-10, rtol=0)
    # The final state is the point to round-off (the brute force's, after 4000 steps, still
    # carries e^{4000 λ₁} of its distance for the slowest point, λ₁ ≈ −0.004).
    residual = torch.linalg.vector_norm(fmap.step(fast.final) - fast.final, dim=-1)
    assert residual[fp].max() < 1e-12
    torch.testing.assert_close(fast.final[fp], brute.final[fp], atol=1e-8, rtol=0)
    torch.testing.assert_close(fast.lyapunov[fp], brute.lyapunov[fp], atol=2e-3, rtol=0)
    rest = ~fp & torch.tensor([s != "periodic" for s in fast.labels])
    # Orbits that ran the whole window: the brute-force numbers (up to GEMM round-off in a
    # smaller batch, amplified along chaotic orbits).
    torch.testing.assert_close(fast.lyapunov[rest], brute.lyapunov[rest], atol=2e-3, rtol=0)


def test_map_without_select_is_padded_to_the_same_result() -> None:
    fmap, x0 = random_relu_batch(batch=24)
    opts = {"transient": 600, "measure": 600, "max_period": 32}
    restricted = classify_map(fmap.step, x0, tangent=fmap.tangent_from_next, **opts)

    def step(h: Tensor) -> Tensor:  # a plain function: RowMaps cannot restrict it
        return fmap.step(h)

    def tangent(h: Tensor, v: Tensor, fh: Tensor) -> Tensor:
        return fmap.tangent(h, v, fh)

    padded = classify_map(step, x0, tangent=tangent, **opts)
    assert padded.labels == restricted.labels
    fp = torch.tensor([s == "fixed_point" for s in padded.labels])
    assert fp.sum() >= 5
    torch.testing.assert_close(padded.lyapunov[fp], restricted.lyapunov[fp], atol=1e-12, rtol=0)


# --- building blocks ---------------------------------------------------------------------------


def test_row_maps_restrict_by_select_or_by_padding() -> None:
    fmap, x0 = random_relu_batch(batch=6)
    rows = torch.tensor([4, 1])
    by_select = RowMaps(fmap.step, None, fmap.tangent_from_next, x0)
    by_padding = RowMaps(lambda h: fmap.step(h), None, lambda h, v, fh: fmap.tangent(h, v, fh), x0)
    assert by_select.shrinks and not by_padding.shrinks
    expected = fmap.step(x0)[rows]
    v = torch.randn(2, 3, 250, generator=torch.Generator().manual_seed(1), dtype=F64)
    v = v.transpose(-1, -2)
    for maps in (by_select, by_padding):
        step, propagate = maps(rows)
        torch.testing.assert_close(step(x0[rows]), expected, atol=1e-14, rtol=0)
        fx, jv = propagate(x0[rows], v)
        torch.testing.assert_close(fx, expected, atol=1e-14, rtol=0)
        jac = fmap.select(rows).jacobian(x0[rows])
        torch.testing.assert_close(jv, jac @ v, atol=1e-12, rtol=0)


def test_jacobians_and_deflated_log_moduli() -> None:
    g = torch.Generator().manual_seed(2)
    w = torch.randn(7, 7, generator=g, dtype=F64)
    off = torch.tensor([True, False, True, True, False, True, False])

    def step(h: Tensor) -> Tensor:
        return torch.relu(h @ w.T + torch.where(off, -100.0, 100.0))

    h = torch.rand(3, 7, generator=g, dtype=F64)
    for prop in (
        make_propagator(step),
        make_propagator(step, jacobian=lambda x: w.expand(3, 7, 7) * (~off).to(F64)[:, None]),
    ):
        jac = jacobians(prop, h)
        torch.testing.assert_close(jac, (w * (~off).to(F64)[:, None]).expand(3, 7, 7))
    # Rows of inactive units are zero: split off exactly; the rest is W on the active set.
    lam = leading_log_moduli(jac, 3)
    full = torch.linalg.eigvals(jac[0]).abs().log().sort(descending=True).values
    torch.testing.assert_close(lam, full[:3].expand(3, 3), atol=1e-12, rtol=0)
    assert torch.isneginf(leading_log_moduli(torch.zeros(1, 4, 4, dtype=F64), 2)).all()


# --- screening in float32 ----------------------------------------------------------------------


def test_screening_keeps_settled_float32_labels_and_confirms_the_rest_exactly() -> None:
    fmap, x0 = random_relu_batch()
    exact = classify_map(fmap.step, x0, tangent=fmap.tangent_from_next)
    screened = classify_map(fmap.step, x0, tangent=fmap.tangent_from_next, screen=True)
    assert exact.screened is None
    kept = screened.screened
    assert kept is not None and kept.dtype == torch.bool
    assert 0 < int(kept.sum()) < len(kept), kept.sum()  # both branches taken
    assert screened.lyapunov.dtype == F64 and screened.final.dtype == F64
    labels = torch.tensor([LABELS.index(s) for s in screened.labels])
    truth = torch.tensor([LABELS.index(s) for s in exact.labels])
    # Confirmed rows went through the float64 path from their own start and initial frame:
    # its numbers (up to GEMM round-off in a smaller batch, amplified along chaotic orbits).
    torch.testing.assert_close(labels[~kept], truth[~kept], atol=0, rtol=0)
    fin = torch.isfinite(exact.lyapunov[~kept])
    torch.testing.assert_close(
        screened.lyapunov[~kept][fin], exact.lyapunov[~kept][fin], atol=2e-3, rtol=0
    )
    # Kept rows only carry labels the float32 evidence can settle, and agree with float64.
    settled = {"fixed_point", "periodic", "quasi_periodic", "chaotic", "divergent"}
    assert {screened.labels[i] for i in torch.nonzero(kept).reshape(-1).tolist()} <= settled
    assert (labels == truth).double().mean() >= 0.97
    # A kept fixed point is the float64 map's fixed point to float32 round-off.
    fp = kept & (labels == LABELS.index("fixed_point"))
    assert fp.sum() >= 10
    h = screened.final[fp]
    residual = torch.linalg.vector_norm(
        fmap.select(torch.nonzero(fp).reshape(-1)).step(h) - h, dim=-1
    )
    assert float((residual / torch.linalg.vector_norm(h, dim=-1)).max()) < 1e-5


def test_screening_needs_a_castable_map_and_retirement() -> None:
    fmap, x0 = random_relu_batch(batch=12)
    opts = {"transient": 400, "measure": 400, "max_period": 32, "screen": True}

    def step(h: Tensor) -> Tensor:  # a plain function: its precision is its own
        return fmap.step(h)

    plain = classify_map(step, x0, tangent=lambda h, v, fh: fmap.tangent(h, v, fh), **opts)
    assert plain.screened is None
    reference = classify_map(
        fmap.step, x0, tangent=fmap.tangent_from_next, **{**opts, "screen": False}
    )
    assert plain.labels == reference.labels
    with pytest.raises(ValueError, match="screen must be False when retire is False"):
        classify_map(fmap.step, x0, retire=False, screen=True)
    with pytest.raises(ValueError, match="screen must be a bool"):
        classify_map(fmap.step, x0, screen=1)
    # float32 starts: nothing to screen against, classified as they are.
    low = fmap.to(dtype=torch.float32)
    single = classify_map(low.step, x0.float(), tangent=low.tangent_from_next, **opts)
    assert single.screened is None and single.lyapunov.dtype == torch.float32


# --- the Lyapunov frame's precision ------------------------------------------------------------


def test_a_float32_frame_gives_the_labels_and_exponents_of_a_float64_one() -> None:
    """tangent_precision "auto" holds the frame in float32 for a FrozenInputMap's float64
    states: the same labels, periods and final states, exponents to ~1e-6 (the states and
    every random draw are the float64 path's)."""
    fmap, x0 = random_relu_batch()
    for retire in (True, False):
        opts = {"tangent": fmap.tangent_from_next, "retire": retire}
        full = classify_map(fmap.step, x0, tangent_precision="states", **opts)
        low = classify_map(fmap.step, x0, **opts)
        assert low.labels == full.labels
        assert torch.equal(low.period, full.period)
        torch.testing.assert_close(low.final, full.final, rtol=0, atol=1e-12)
        fin = torch.isfinite(full.lyapunov)
        assert torch.equal(fin, torch.isfinite(low.lyapunov))
        gap = (low.lyapunov[fin] - full.lyapunov[fin]).abs()
        assert float(gap.max()) < 1e-4 and float(gap.median()) < 1e-7
        assert low.lyapunov.dtype == F64


def test_the_frame_is_float32_only_where_the_tangent_takes_it() -> None:
    from cogdyn.dynamics.classify import ClassifyOptions, _frame_dtype
    from cogdyn.dynamics.lyapunov import as_tangent

    fmap, _ = random_relu_batch(batch=2)
    auto, states = ClassifyOptions(), ClassifyOptions(tangent_precision="states")
    assert _frame_dtype(auto, F64, fmap.tangent_from_next) == torch.float32
    assert _frame_dtype(auto, torch.float32, fmap.tangent_from_next) == torch.float32
    assert _frame_dtype(states, F64, fmap.tangent_from_next) == F64
    assert _frame_dtype(auto, F64, lambda h, v, fh: fmap.tangent(h, v, fh)) == F64
    assert _frame_dtype(auto, F64, None) == F64  # autograd tangents: the states' dtype
    # A full Jacobian of the same map cannot multiply a float32 frame: float64, and it runs.
    assert _frame_dtype(auto, F64, as_tangent(fmap.jacobian, None)) == F64
    assert as_tangent(fmap.tangent_from_next, None) is not None
    fmap, x0 = random_relu_batch(batch=6)
    opts = {"transient": 200, "measure": 200, "max_period": 16}
    full = classify_map(fmap.step, x0, jacobian=fmap.jacobian, **opts)
    assert full.labels == classify_map(fmap.step, x0, tangent=fmap.tangent_from_next, **opts).labels
    with pytest.raises(ValueError, match="tangent_precision must be one of auto, states"):
        ClassifyOptions(tangent_precision="half")
