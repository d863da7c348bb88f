"""The frozen-input map against VanillaRNN, autograd, and real trials of the task."""

from __future__ import annotations

import pytest
import torch

from cogdyn.config import ModelConfig
from cogdyn.dynamics.maps import FrozenInputMap
from cogdyn.models import VanillaRNN

F64 = torch.float64


def _model(alpha: float = 1.0, hidden: int = 16, n_in: int = 7, seed: int = 0) -> VanillaRNN:
    m = VanillaRNN(
        n_in,
        3,
        ModelConfig(hidden=hidden, delta=0.4, alpha=alpha),
        torch.Generator().manual_seed(seed),
    )
    with torch.no_grad():
        m.bias_ih_l0.uniform_(-0.2, 0.2, generator=torch.Generator().manual_seed(seed + 1))
    return m


def _rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


@pytest.mark.parametrize("alpha", [1.0, 0.4])
def test_step_equals_model_step_with_constant_input(alpha: float) -> None:
    model = _model(alpha)
    x = _rand(5, 7, seed=1)
    fmap = FrozenInputMap.from_model(model, x)
    assert fmap.dtype == F64 and fmap.n_conditions == 5 and fmap.n_units == 16
    assert not fmap.weight.requires_grad and not fmap.drive.requires_grad
    ref = model.double()
    h = _rand(5, 16, seed=2) * 2 - 0.5
    with torch.no_grad():
        torch.testing.assert_close(fmap.step(h), ref.step(h, x), rtol=0, atol=1e-14)
        torch.testing.assert_close(fmap.jacobian(h), ref.jacobian(h, x), rtol=0, atol=1e-14)
        states = ref.run(x.unsqueeze(0).expand(6, 5, 7).contiguous(), h)
    torch.testing.assert_close(fmap.trajectory(h, 6), states, rtol=0, atol=1e-12)
    torch.testing.assert_close(fmap.iterate(h, 6), states[-1], rtol=0, atol=1e-12)


def test_weights_are_a_copy_in_the_chosen_dtype() -> None:
    model = _model()
    fmap = FrozenInputMap.from_model(model, _rand(2, 7).float(), dtype=torch.float32)
    assert fmap.weight.dtype == torch.float32 and fmap.drive.dtype == torch.float32
    before = fmap.weight.clone()
    with torch.no_grad():
        model.weight_hh_l0.add_(1.0)
    assert torch.equal(fmap.weight, before)


@pytest.mark.parametrize("alpha", [1.0, 0.4])
def test_tangent_equals_jacobian_product_and_autograd(alpha: float) -> None:
    fmap = FrozenInputMap.from_model(_model(alpha), _rand(4, 7, seed=3))
    h = _rand(4, 16, seed=4) * 2 - 0.5
    v = _rand(4, 16, 3, seed=5) - 0.5
    jv = fmap.tangent(h, v)
    torch.testing.assert_close(jv, fmap.jacobian(h) @ v, rtol=0, atol=1e-13)
    # Given F(h), the active set is read off it: the same product.
    torch.testing.assert_close(fmap.tangent(h, v, fmap.step(h)), jv, rtol=0, atol=1e-13)
    torch.testing.assert_close(fmap.tangent_from_next(h, v, fmap.step(h)), jv, rtol=0, atol=1e-13)
    for b in range(4):
        auto = torch.autograd.functional.jacobian(
            lambda y, b=b: fmap.select([b]).step(y.unsqueeze(0))[0], h[b]
        )
        torch.testing.assert_close(fmap.jacobian(h)[b], auto, rtol=0, atol=1e-13)


@pytest.mark.parametrize("alpha", [1.0, 0.4])
def test_a_float32_frame_for_float64_states_and_a_cast_map(alpha: float) -> None:
    fmap = FrozenInputMap.from_model(_model(alpha), _rand(4, 7, seed=3))
    h = _rand(4, 16, seed=4) * 2 - 0.5
    v = _rand(4, 16, 3, seed=5) - 0.5
    exact = fmap.tangent(h, v, fmap.step(h))
    low = fmap.tangent(h, v.float(), fmap.step(h))  # the pattern is the float64 states'
    assert low.dtype == torch.float32 and FrozenInputMap.float32_tangents
    torch.testing.assert_close(low.double(), exact, rtol=0, atol=1e-6)
    assert fmap.tangent(h, v.float()).dtype == torch.float32  # the cast W is reused
    cast = fmap.to(dtype=torch.float32)
    assert cast.weight.dtype == cast.drive.dtype == torch.float32 and cast.alpha == alpha
    torch.testing.assert_close(cast.step(h.float()).double(), fmap.step(h), rtol=0, atol=1e-6)


def test_select_and_tile() -> None:
    fmap = FrozenInputMap.from_model(_model(), _rand(3, 7, seed=6))
    tiled = fmap.tile(2)
    assert tiled.n_conditions == 6
    torch.testing.assert_close(tiled.drive[4], fmap.drive[2])
    assert tiled.inputs is not None and torch.equal(tiled.inputs[1], fmap.inputs[0])
    torch.testing.assert_close(fmap.select([2, 0]).drive, fmap.drive[[2, 0]])


def test_hand_made_map() -> None:
    w = torch.tensor([[0.5, -1.0], [-1.0, 0.5]], dtype=F64)
    fmap = FrozenInputMap(weight=w, drive=torch.ones(1, 2, dtype=F64))
    # A one-row map takes any number of states.
    out = fmap.step(torch.tensor([[2.0, 0.0], [0.0, 0.0]], dtype=F64))
    torch.testing.assert_close(out, torch.tensor([[2.0, 0.0], [1.0, 1.0]], dtype=F64))


def test_bad_arguments_raise_naming_them() -> None:
    model = _model()
    with pytest.raises(ValueError, match="inputs"):
        FrozenInputMap.from_model(model, _rand(7))
    with pytest.raises(ValueError, match="inputs"):
        FrozenInputMap.from_model(model, _rand(2, 5))
    w = torch.eye(2, dtype=F64)
    with pytest.raises(ValueError, match="weight"):
        FrozenInputMap(weight=torch.ones(2, 3, dtype=F64), drive=torch.ones(1, 2, dtype=F64))
    with pytest.raises(ValueError, match="drive"):
        FrozenInputMap(weight=w, drive=torch.ones(1, 3, dtype=F64))
    with pytest.raises(ValueError, match="alpha"):
        FrozenInputMap(weight=w, drive=torch.ones(1, 2, dtype=F64), alpha=0.0)
    with pytest.raises(ValueError, match="repeats"):
        FrozenInputMap(weight=w, drive=torch.ones(1, 2, dtype=F64)).tile(0)
    with pytest.raises(ValueError, match="index"):
        FrozenInputMap(weight=w, drive=torch.ones(1, 2, dtype=F64)).select([1])


# ---------------------------------------------------------------------- task helpers
