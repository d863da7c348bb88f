"""Fixed points, stability and basins against hand-computed answers and each other."""

from __future__ import annotations

import math

import pytest
import torch

from cogdyn.config import ModelConfig
from cogdyn.dynamics import (
    STABILITY_TYPES,
    FixedPoints,
    FrozenInputMap,
    all_patterns,
    basins,
    classify_stability,
    find_fixed_points,
    fixed_points_from_states,
    patterns_from_states,
    relu_fixed_points,
)
from cogdyn.dynamics.relu_solver import pack_patterns, unpack_patterns
from cogdyn.models import VanillaRNN

F64 = torch.float64

# Bistable switch: two self-exciting (0.5), mutually inhibiting (−1) units with drive 1.
# h = ReLU(W h + 1): (2, 0) and (0, 2) with D W eigenvalues {0.5, 0} (stable); the symmetric
# (2/3, 2/3) with W's eigenvalues 0.5 ∓ 1 = −0.5, 1.5 (a saddle); (0, 0) is inconsistent.
SWITCH_W = torch.tensor([[0.5, -1.0], [-1.0, 0.5]], dtype=F64)
SWITCH_U = torch.ones(2, dtype=F64)


def _match(found: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Index of the nearest reference point of each found point, asserting it is ≈ equal."""
    d = torch.cdist(found, reference)
    assert float(d.min(dim=1).values.max()) < 1e-8
    return d.argmin(dim=1)


def _by_state(fp: FixedPoints) -> dict[tuple[float, ...], str]:
    return {
        tuple(round(v, 9) for v in s.tolist()): k for s, k in zip(fp.states, fp.kind, strict=True)
    }


# ---------------------------------------------------------------------- exact, by hand
@pytest.mark.parametrize(
    ("alpha", "stable_eigs", "saddle_eigs"),
    [(1.0, [0.5, 0.0], [1.5, -0.5]), (0.5, [0.75, 0.5], [1.25, 0.25])],
)
def test_bistable_switch_exact(alpha: float, stable_eigs: list, saddle_eigs: list) -> None:
    fp = relu_fixed_points(SWITCH_W, SWITCH_U, all_patterns(2), alpha)
    s = 2 / 3
    assert _by_state(fp) == {
        (2.0, 0.0): "stable",
        (0.0, 2.0): "stable",
        (round(s, 9), round(s, 9)): "saddle",
    }
    for i in range(len(fp)):
        expected = saddle_eigs if fp.kind[i] == "saddle" else stable_eigs
        eigs = fp.eigenvalues[i]
        torch.testing.assert_close(eigs.imag, torch.zeros(2, dtype=F64))
        # Sorted by decreasing modulus.
        torch.testing.assert_close(eigs.real, torch.tensor(expected, dtype=F64))
    assert float(fp.residual.max()) < 1e-14
    frame = fp.to_frame()
    assert list(frame.columns) == [
        "condition",
        "norm",
        "n_active",
        "max_abs_eig",
        "n_unstable",
        "stability",
        "residual",
    ]
    saddle = frame[frame["stability"] == "saddle"].iloc[0]
    assert saddle["n_active"] == 2 and saddle["n_unstable"] == 1
    assert saddle["norm"] == pytest.approx(s * math.sqrt(2))
    assert set(frame["stability"].cat.categories) == set(STABILITY_TYPES)


def test_one_unit_stable_and_unstable() -> None:
    # h = ReLU(2h − 1): h = 0 (silent, eigenvalue 0) and h = 1 (eigenvalue 2, unstable).
    fp = relu_fixed_points(torch.tensor([[2.0]], dtype=F64), torch.tensor([-1.0], dtype=F64),
                           all_patterns(1))  # fmt: skip
    assert _by_state(fp) == {(0.0,): "stable", (1.0,): "unstable"}


def test_three_units_block_network() -> None:
    # The switch beside an independent unit h₃ = ReLU(2 h₃ − 1): 3 × 2 points; a point is stable
    # only if both parts are.
    w = torch.zeros(3, 3, dtype=F64)
    w[:2, :2] = SWITCH_W
    w[2, 2] = 2.0
    u = torch.tensor([1.0, 1.0, -1.0], dtype=F64)
    fp = relu_fixed_points(w, u, all_patterns(3))
    s = round(2 / 3, 9)
    assert _by_state(fp) == {
        (2.0, 0.0, 0.0): "stable",
        (0.0, 2.0, 0.0): "stable",
        (s, s, 0.0): "saddle",
        (2.0, 0.0, 1.0): "saddle",
        (0.0, 2.0, 1.0): "saddle",
        (s, s, 1.0): "saddle",
    }
    assert sorted(fp.to_frame()["n_unstable"].tolist()) == [0, 0, 1, 1, 1, 2]


def test_singular_systems_are_skipped() -> None:
    # h = ReLU(h): the active pattern gives the singular 0·h = 0; only h = 0 is isolated.
    one = torch.ones(1, 1, dtype=F64)
    fp = relu_fixed_points(one, torch.zeros(1, dtype=F64), all_patterns(1))
    assert fp.states.tolist() == [[0.0]]
    # h = ReLU(h + 1): no fixed point at all (singular and inconsistent): an empty result.
    none = relu_fixed_points(one, torch.ones(1, dtype=F64), all_patterns(1))
    assert len(none) == 0 and len(none.to_frame()) == 0


def test_several_conditions_at_once() -> None:
    # Row 1 drives unit 2 negatively (u = (1, −1)): only (2, 0) remains.
    u = torch.stack([SWITCH_U, torch.tensor([1.0, -1.0], dtype=F64)])
    fp = relu_fixed_points(SWITCH_W, u, all_patterns(2))
    assert fp.condition.tolist().count(0) == 3
    one = fp.select(fp.condition == 1)
    assert one.states.tolist() == [[2.0, 0.0]] and one.kind == ("stable",)
    # Patterns tied to conditions: only the given pairs are solved.
    pats = torch.tensor([[1, 0], [1, 1]])
    tied = relu_fixed_points(SWITCH_W, u, pats, conditions=torch.tensor([1, 0]))
    order = torch.argsort(tied.condition)
    torch.testing.assert_close(
        tied.states[order], torch.tensor([[2 / 3, 2 / 3], [2.0, 0.0]], dtype=F64)
    )
    assert tied.condition[order].tolist() == [0, 1]


def test_relu_bad_arguments_raise_naming_them() -> None:
    pats = all_patterns(2)
    with pytest.raises(ValueError, match="W"):
        relu_fixed_points(torch.ones(2, 3, dtype=F64), SWITCH_U, pats)
    with pytest.raises(ValueError, match="u"):
        relu_fixed_points(SWITCH_W, torch.ones(3, dtype=F64), pats)
    with pytest.raises(ValueError, match="patterns"):
        relu_fixed_points(SWITCH_W, SWITCH_U, all_patterns(3))
    with pytest.raises(ValueError, match="patterns"):
        relu_fixed_points(SWITCH_W, SWITCH_U, torch.full((1, 2), 2))
    with pytest.raises(ValueError, match="alpha"):
        relu_fixed_points(SWITCH_W, SWITCH_U, pats, alpha=1.5)
    with pytest.raises(ValueError, match="conditions"):
        relu_fixed_points(SWITCH_W, SWITCH_U, pats, conditions=torch.zeros(2))
    with pytest.raises(ValueError, match="n_units"):
        all_patterns(0)


# ---------------------------------------------------------------------- stability
def test_classify_stability_types() -> None:
    eigs = torch.tensor(
        [[0.5, 0.1], [1.5, 0.1], [1.5, 2.0], [1.0, 0.5], [1.0, 1.5], [-1.2, 0.0]], dtype=F64
    )
    st = classify_stability(eigs)
    assert st.kind == ("stable", "saddle", "unstable", "marginal", "unstable", "saddle")
    assert st.n_unstable.tolist() == [0, 1, 2, 0, 1, 1]
    torch.testing.assert_close(st.max_abs, torch.tensor([0.5, 1.5, 2.0, 1.0, 1.5, 1.2], dtype=F64))
    # A rotation: a complex pair on the unit circle is marginal; scaled by 0.9 it is stable.
    th = 0.3
    rot = torch.tensor([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]], dtype=F64)
    assert classify_stability(torch.stack([rot, 0.9 * rot])).kind == ("marginal", "stable")
    # The leak maps μ to (1 − α) + α μ: μ = 1.5 with α = 0.5 is 1.25, μ = −3 is −1.
    leaky = classify_stability(torch.tensor([[1.5], [-3.0]], dtype=F64), alpha=0.5)
    assert leaky.kind == ("unstable", "marginal")
    with pytest.raises(ValueError, match="jacobians_or_eigs"):
        classify_stability(torch.ones(3, dtype=F64))
    with pytest.raises(ValueError, match="jacobians_or_eigs"):
        classify_stability(torch.ones(2, 2, 3, dtype=F64))
    with pytest.raises(ValueError, match="alpha"):
        classify_stability(eigs, alpha=0.0)


# ---------------------------------------------------------------------- a random network
def _random_net(alpha: float = 0.5) -> FrozenInputMap:
    """N = 12, self-excitation and strong random inhibition: 15 fixed points, 4 of them stable
    (winner-take-all states) — enumerated exactly over all 2^12 patterns."""
    n, gen = 12, torch.Generator().manual_seed(2)
    w = -(0.2 + 0.6 * torch.rand(n, n, generator=gen, dtype=F64))
    w = w + 0.3 * torch.randn(n, n, generator=gen, dtype=F64) / n**0.5
    w.diagonal().copy_(0.6 + 0.2 * torch.rand(n, generator=gen, dtype=F64))
    u = 1 + 0.3 * torch.randn(n, generator=gen, dtype=F64)
    return FrozenInputMap(weight=w, drive=u.unsqueeze(0), alpha=alpha)


@pytest.fixture(scope="module")
def random_net() -> tuple[FrozenInputMap, FixedPoints]:
    fmap = _random_net()
    exact = relu_fixed_points(fmap.weight, fmap.drive, all_patterns(12), fmap.alpha)
    return fmap, exact


def _starts(n: int, dim: int, seed: int) -> torch.Tensor:
    return 3 * torch.rand(n, dim, generator=torch.Generator().manual_seed(seed), dtype=F64)


def test_random_net_enumeration(random_net: tuple[FrozenInputMap, FixedPoints]) -> None:
    fmap, exact = random_net
    assert len(exact) == 15 and exact.kind.count("stable") == 4
    # Truly fixed.
    assert float((fmap.step(exact.states) - exact.states).norm(dim=-1).max()) < 1e-12
    # The pattern of each point is its own activation pattern.
    assert torch.equal(fmap.active(exact.states), exact.active)


def test_block_solve_equals_the_full_system(
    random_net: tuple[FrozenInputMap, FixedPoints],
) -> None:
    """The active-block solve finds the points the textbook N × N system finds, on all 2^12
    patterns, and refuses the same singular systems."""
    fmap, exact = random_net
    full = relu_fixed_points(fmap.weight, fmap.drive, all_patterns(12), fmap.alpha, reduced=False)
    assert torch.equal(full.active, exact.active) and full.kind == exact.kind
    torch.testing.assert_close(full.states, exact.states, rtol=0, atol=1e-12)
    # A singular block: unit 0 alone with self-weight 1 (I − W_AA = 0); beside it the pattern
    # of unit 1 alone, h = (0, 2), with unit 0 held silent by its drive −1.
    w = torch.tensor([[1.0, 0.0], [0.0, 0.5]], dtype=F64)
    pats = torch.tensor([[True, False], [False, True]])
    for reduced in (True, False):
        fp = relu_fixed_points(w, torch.tensor([-1.0, 1.0], dtype=F64), pats, reduced=reduced)
        assert fp.active.tolist() == [[False, True]]
        torch.testing.assert_close(fp.states, torch.tensor([[0.0, 2.0]], dtype=F64))


def test_packed_patterns_round_trip_in_the_same_order() -> None:
    gen = torch.Generator().manual_seed(0)
    for n in (1, 62, 63, 64, 250):
        pats = torch.rand(300, n, generator=gen) > 0.5
        words = pack_patterns(pats)
        assert words.shape == (300, -(-n // 63)) and bool((words >= 0).all())
        assert torch.equal(unpack_patterns(words, n), pats)
        # Sorting the words sorts the bool rows lexicographically (unit 0 first).
        uniq_words = torch.unique(words, dim=0)
        assert torch.equal(unpack_patterns(uniq_words, n), torch.unique(pats.long(), dim=0).bool())


def test_optimisation_finder_agrees_with_exact(
    random_net: tuple[FrozenInputMap, FixedPoints],
) -> None:
    fmap, exact = random_net
    found = find_fixed_points(fmap.step, _starts(64, 12, 0), jacobian=fmap.jacobian, n_iter=300)
    idx = _match(found.states, exact.states)
    assert len(set(idx.tolist())) == len(found) >= 5
    assert set(found.kind) == {"stable", "saddle"}
    assert found.kind == tuple(exact.kind[i] for i in idx.tolist())
    torch.testing.assert_close(found.stability.max_abs, exact.stability.max_abs[idx])
    # Without an analytic Jacobian (autograd) and with L-BFGS: still only true fixed points.
    lbfgs = find_fixed_points(fmap.step, _starts(64, 12, 1), method="lbfgs", n_iter=100)
    assert len(lbfgs) >= 2
    _match(lbfgs.states, exact.states)
    assert float(lbfgs.residual.max()) < 1e-7


def test_fixed_points_from_trajectories(random_net: tuple[FrozenInputMap, FixedPoints]) -> None:
    fmap, exact = random_net
    starts = _starts(64, 12, 2)
    fp = fixed_points_from_states(fmap, starts)
    idx = _match(fp.states, exact.states)
    assert fp.kind == tuple(exact.kind[i] for i in idx.tolist())
    # Every stable point some orbit converges to is found.
    stable = exact.stable()
    reached = set(basins(fmap, stable, starts).tolist()) - {-1}
    assert reached
    found_stable = {int(i) for i, k in zip(idx, fp.kind, strict=True) if k == "stable"}
    reached_in_exact = {int(_match(stable.states[[r]], exact.states)[0]) for r in reached}
    assert reached_in_exact <= found_stable


def test_stability_agrees_with_perturbations(
    random_net: tuple[FrozenInputMap, FixedPoints],
) -> None:
    fmap, exact = random_net
    eps, n_dir = 1e-7, 8
    gen = torch.Generator().manual_seed(3)
    dirs = torch.randn(len(exact), n_dir, 12, generator=gen, dtype=F64)
    dirs = eps * dirs / dirs.norm(dim=-1, keepdim=True)
    centre = exact.states.unsqueeze(1).expand(-1, n_dir, -1)
    h = (centre + dirs).reshape(-1, 12)
    dist_max = torch.zeros(len(h), dtype=F64)
    # Long enough for the weakest unstable direction to grow 10⁴-fold.
    rates = exact.stability.max_abs[exact.stability.max_abs > 1]
    n_steps = max(400, math.ceil(math.log(1e4) / math.log(float(rates.min()))))
    for _ in range(n_steps):
        h = fmap.step(h)
        dist_max = torch.maximum(dist_max, (h - centre.reshape(-1, 12)).norm(dim=-1))
    final = (h - centre.reshape(-1, 12)).norm(dim=-1).reshape(len(exact), n_dir)
    grew = (dist_max.reshape(len(exact), n_dir) > 1e3 * eps).any(dim=1)
    for i, kind in enumerate(exact.kind):
        if kind == "stable":
            assert float(final[i].max()) < 1e-2 * eps, i
        else:
            assert bool(grew[i]), i


# ---------------------------------------------------------------------- generic maps
def test_find_fixed_points_of_a_tanh_map_with_autograd() -> None:
    # h' = tanh(diag(2, 0.5) h): (0, 0) with eigenvalues 2, 0.5 (saddle) and (±x*, 0) with
    # x* = tanh(2x*) ≈ 0.9575, slope 2(1 − x*²) ≈ 0.166 (stable).
    a = torch.tensor([2.0, 0.5], dtype=F64)

    def step(h: torch.Tensor) -> torch.Tensor:
        return torch.tanh(h * a)

    x = 1.0
    for _ in range(100):
        x = math.tanh(2 * x)
    starts = torch.tensor([[1.5, 1.0], [-2.0, 0.3], [0.05, -0.2], [0.8, 0.0]], dtype=F64)
    fp = find_fixed_points(step, starts, n_iter=200, jitter=0.01, seed=1)
    got = {
        (round(s[0], 6), round(s[1], 6)): k
        for s, k in zip(fp.states.tolist(), fp.kind, strict=True)
    }
    assert got == {
        (round(x, 6), 0.0): "stable",
        (round(-x, 6), 0.0): "stable",
        (0.0, 0.0): "saddle",
    }
    i = fp.kind.index("stable")
    # Sorted by decreasing modulus.
    expected = torch.tensor([0.5, 2 * (1 - x * x)], dtype=F64)
    torch.testing.assert_close(fp.eigenvalues[i].real, expected)


def test_find_fixed_points_per_condition() -> None:
    # The switch under two drives; three starts per condition: conditions are not merged.
    u = torch.stack([SWITCH_U, torch.tensor([1.0, -1.0], dtype=F64)])
    fmap = FrozenInputMap(weight=SWITCH_W, drive=u).tile(3)
    x0 = torch.tensor([[3.0, 0.5], [0.5, 3.0], [1.0, 0.9]] * 2, dtype=F64)
    cond = torch.tensor([0, 0, 0, 1, 1, 1])
    fp = find_fixed_points(fmap.step, x0, jacobian=fmap.jacobian, conditions=cond, n_iter=200)
    assert fp.condition.tolist().count(1) == 1
    assert fp.select(fp.condition == 1).states.tolist() == [[2.0, 0.0]]
    assert sorted(fp.select(fp.condition == 0).kind) == ["saddle", "stable", "stable"]


def test_find_fixed_points_bad_arguments() -> None:
    with pytest.raises(ValueError, match="x0"):
        find_fixed_points(torch.tanh, torch.ones(3, dtype=F64))
    with pytest.raises(ValueError, match="method"):
        find_fixed_points(torch.tanh, torch.ones(3, 2, dtype=F64), method="sgd")
    with pytest.raises(ValueError, match="conditions"):
        find_fixed_points(torch.tanh, torch.ones(3, 2, dtype=F64), conditions=torch.zeros(2))
    with pytest.raises(ValueError, match="step"):
        find_fixed_points(lambda h: h.sum(-1), torch.ones(3, 2, dtype=F64))


# ---------------------------------------------------------------------- basins
def test_switch_basins_split_at_the_separatrix() -> None:
    fmap = FrozenInputMap(weight=SWITCH_W, drive=SWITCH_U.unsqueeze(0))
    stable = relu_fixed_points(SWITCH_W, SWITCH_U, all_patterns(2)).stable()
    high = [int(i) for i in torch.argmax(stable.states, dim=1)]  # the winning unit of each
    states = torch.rand(200, 2, generator=torch.Generator().manual_seed(0), dtype=F64)
    states = torch.cat([states, torch.tensor([[0.4, 0.4], [0.0, 0.0]], dtype=F64)])
    labels = basins(fmap, stable, states)
    winner = torch.tensor([high[i] if i >= 0 else -1 for i in labels.tolist()])
    expected = (states[:, 1] > states[:, 0]).long()
    assert torch.equal(winner[:200], expected[:200])
    # On the diagonal (the saddle's stable manifold) orbits reach the saddle: "other".
    assert labels[200:].tolist() == [-1, -1]
    # A plain step function and a tensor of points work too.
    again = basins(fmap.step, stable.states, states[:200])
    assert torch.equal(again, labels[:200])
    # With conditions, a state only matches points of its own condition (none in condition 1).
    other = basins(fmap.step, stable, states[:2], torch.tensor([0, 1]))
    assert other[0] >= 0 and other[1] == -1


def test_basins_per_condition() -> None:
    u = torch.stack([SWITCH_U, torch.tensor([1.0, -1.0], dtype=F64)])
    fmap = FrozenInputMap(weight=SWITCH_W, drive=u)
    fp = relu_fixed_points(SWITCH_W, u, all_patterns(2)).stable()
    states = torch.tensor([[0.1, 0.9], [0.1, 0.9]], dtype=F64)
    labels = basins(fmap, fp, states, torch.tensor([0, 1]))
    assert fp.condition[labels].tolist() == [0, 1]
    assert fp.states[labels].tolist() == [[0.0, 2.0], [2.0, 0.0]]
    with pytest.raises(ValueError, match="conditions"):
        basins(fmap, fp, torch.ones(3, 2, dtype=F64))
    with pytest.raises(ValueError, match="states"):
        basins(fmap, fp, torch.ones(2, 3, dtype=F64))
    with pytest.raises(ValueError, match="stable_points"):
        basins(fmap, fp.states[0], states)


# ---------------------------------------------------------------------- patterns
def test_patterns_from_states_cap_and_conditions() -> None:
    u = torch.stack([SWITCH_U, torch.tensor([1.0, -1.0], dtype=F64)])
    fmap = FrozenInputMap(weight=SWITCH_W, drive=u)
    states = torch.tensor([[0.1, 0.9], [3.0, 0.0], [0.1, 0.9]], dtype=F64)
    pats, cond = patterns_from_states(fmap, states, torch.tensor([0, 0, 1]), n_steps=50)
    # Condition 1 settles in (1, 0); condition 0 visits at least the patterns of its two winners.
    assert {
        tuple(p) for p, c in zip(pats.int().tolist(), cond.tolist(), strict=True) if c == 0
    } >= {
        (1, 0),
        (0, 1),
    }
    capped, ccond = patterns_from_states(
        fmap, states, torch.tensor([0, 0, 1]), n_steps=50, max_per_condition=1
    )
    assert ccond.tolist() == [0, 1]
    # The most visited pattern of condition 1 is (1, 0), where its orbit stays.
    assert capped[1].int().tolist() == [1, 0]
    with pytest.raises(ValueError, match="states"):
        patterns_from_states(fmap, torch.ones(2, 5, dtype=F64))


def test_patterns_are_capped_most_visited_first() -> None:
    # A contracting random N = 20 network: its one fixed point h* is visited at every step by the
    # 50 orbits started there, while 100 random starts meet many other patterns on the way in.
    gen = torch.Generator().manual_seed(0)
    w = 0.5 * torch.randn(20, 20, generator=gen, dtype=F64) / 20**0.5
    fmap = FrozenInputMap(weight=w, drive=torch.randn(1, 20, generator=gen, dtype=F64))
    h_star = fmap.iterate(torch.zeros(1, 20, dtype=F64), 200)
    starts = torch.cat([h_star.expand(50, 20), 20 * torch.randn(100, 20, generator=gen, dtype=F64)])
    full, _ = patterns_from_states(fmap, starts, n_steps=3, max_per_condition=10_000)
    assert len(full) > 50
    capped, cond = patterns_from_states(fmap, starts, n_steps=3, max_per_condition=1)
    assert cond.tolist() == [0] and torch.equal(capped[0], fmap.active(h_star)[0])
    five, _ = patterns_from_states(fmap, starts, n_steps=3, max_per_condition=5)
    assert len(torch.unique(five, dim=0)) == 5


def test_small_vanilla_rnn_under_two_inputs() -> None:
    # A VanillaRNN (α = 0.5) under two frozen inputs: the points met by its orbits and those of
    # the optimiser (a tiled map: rows 10·b + r are condition b) are among the exact ones.
    cfg = ModelConfig(hidden=10, delta=0.3, alpha=0.5)
    model = VanillaRNN(3, 2, cfg, torch.Generator().manual_seed(4))
    x = torch.tensor([[1.0, 0.2, 0.0], [0.0, 0.5, 1.0]], dtype=F64)
    fmap = FrozenInputMap.from_model(model, x)
    exact = relu_fixed_points(fmap.weight, fmap.drive, all_patterns(10), fmap.alpha)
    starts = _starts(20, 10, 5)
    cond = torch.arange(2).repeat_interleave(10)
    fp = fixed_points_from_states(fmap, starts, cond)
    tiled = fmap.tile(10)
    found = find_fixed_points(
        tiled.step, starts, jacobian=tiled.jacobian, conditions=cond, n_iter=100
    )
    for points in (fp, found):
        assert set(points.condition.tolist()) == {0, 1}
        for c in (0, 1):
            _match(points.select(points.condition == c).states,
                   exact.select(exact.condition == c).states)  # fmt: skip


def test_basins_give_up_early_only_on_orbits_that_cannot_match() -> None:
    """Orbits that diverge or converge to an unlisted point are dropped early; the labels are
    those of iterating every orbit for the whole budget and matching at the end."""
    fmap = FrozenInputMap(weight=SWITCH_W, drive=SWITCH_U.unsqueeze(0))
    stable = relu_fixed_points(SWITCH_W, SWITCH_U, all_patterns(2)).stable()
    states = torch.rand(300, 2, generator=torch.Generator().manual_seed(1), dtype=F64)
    # Listing only one of the two stable points: orbits flowing to the other must give −1.
    one = stable.select(torch.tensor([0]))
    labels = basins(fmap, one, states)
    h = states.clone()
    for _ in range(2000):
        h = fmap.step(h)
    near = (h - one.states[0]).norm(dim=-1) <= 1e-6 * (1 + one.states[0].norm())
    assert torch.equal(labels, torch.where(near, 0, -1))
    assert 0 < int(near.sum()) < len(states)
    # A divergent map: every orbit is "other".
    grow = FrozenInputMap(weight=2 * torch.eye(2, dtype=F64), drive=torch.ones(1, 2, dtype=F64))
    assert basins(grow, one, states).tolist() == [-1] * len(states)


def test_basins_wait_for_slow_convergence_and_stop_early_on_other_attractors() -> None:
    # h ↦ 0.99 h (ReLU map, h ≥ 0) reaches the origin's 1e-6 ball after ~1400 steps: matched,
    # although it approaches slowly.
    slow = FrozenInputMap(weight=0.99 * torch.eye(2, dtype=F64), drive=torch.zeros(1, 2, dtype=F64))
    origin = torch.zeros(1, 2, dtype=F64)
    assert basins(slow, origin, torch.tensor([[0.6, 0.8]], dtype=F64)).tolist() == [0]
    # An orbit on a circle around (2, 2) never approaches the listed point (5, 5): given up
    # after the rate window, not after the whole budget.
    calls = {"n": 0}
    angle = torch.tensor(0.3, dtype=F64)
    rot = torch.stack(
        [torch.stack([angle.cos(), -angle.sin()]), torch.stack([angle.sin(), angle.cos()])]
    )
    centre = torch.tensor([2.0, 2.0], dtype=F64)

    def circle(h):
        calls["n"] += 1
        return centre + (h - centre) @ rot.T

    far = torch.tensor([[5.0, 5.0]], dtype=F64)
    assert basins(circle, far, torch.tensor([[3.0, 2.0]], dtype=F64)).tolist() == [-1]
    assert calls["n"] < 600
