"""The attractor census against hand-made networks with known answers, and its summary numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from cogdyn.analysis.census import (
    CENSUS_COLUMNS,
    CensusOptions,
    attractor_census,
    census_summary,
    phase_onset_states,
)
from cogdyn.analysis.conditions import condition_inputs
from cogdyn.config import ConfigError, ModelConfig, TaskConfig
from cogdyn.dynamics.classify import LABELS, ClassifyOptions
from cogdyn.models import VanillaRNN
from cogdyn.tasks import CtxDM
from cogdyn.tasks.base import FIXATION, STIMULUS

F64 = torch.float64
TASK = CtxDM()
# Inputs: [fixation, mod-1 ring (2), mod-2 ring (2), context (2)]; ring unit 0 shows
# 0.5 + c/200, unit 1 shows 0.5 − c/200 for a signed coherence c (in %).
FIX, M1A, M1B, M2A, M2B, CTX0, CTX1 = range(7)


def _net(w: torch.Tensor, w_in: torch.Tensor) -> VanillaRNN:
    """A VanillaRNN (7 inputs, 3 classes) with the given W and W_in and zero biases."""
    model = VanillaRNN(7, 3, ModelConfig(hidden=w.shape[0]))
    with torch.no_grad():
        model.weight_hh_l0.copy_(w)
        model.weight_ih_l0.copy_(w_in)
    return model.double()


# ---------------------------------------------------------------------- rotation: QP circles
# θ/2π = 0.1·√2 is irrational: no return within 128 lags (best: lag 99, 7e-4 of a turn).
THETA = 2 * math.pi * 0.1 * math.sqrt(2)
ROT = torch.tensor(
    [[math.cos(THETA), -math.sin(THETA)], [math.sin(THETA), math.cos(THETA)]], dtype=F64
)


def _rotation_net() -> VanillaRNN:
    """Two units whose map, wherever both are active, is h ↦ R h + u with R a rotation by θ.

    Fixation drive u_f = (1, 0.2) puts the stimulus-onset state at h₃ = (I + R + R²) u_f (both
    units stay active). The stimulus adds d₀ + d₁·c₁ with d₀ = −R³ u_f, so the centre of
    rotation (I − R)⁻¹ u is h₃ + (I − R)⁻¹ d₁ c₁: at c₁ = 0 the onset state IS the fixed
    point; otherwise the orbit is the circle of radius ‖(I − R)⁻¹ d₁‖·|c₁| ≤ 0.24 around it,
    inside the positive quadrant (h₃ ≥ 1.07), so the map stays linear: an irrational rotation,
    quasi-periodic, with frequency θ/2π. Modality 2 and the context do nothing.
    """
    u_f = torch.tensor([1.0, 0.2], dtype=F64)
    d0 = -torch.linalg.matrix_power(ROT, 3) @ u_f
    d1 = torch.tensor([0.004, 0.0], dtype=F64)
    w_in = torch.zeros(2, 7, dtype=F64)
    w_in[:, FIX] = u_f
    # a·(0.5 + c/200) + b·(0.5 − c/200) = (a + b)/2 + (a − b)·c/200
    w_in[:, M1A] = d0 + 100 * d1
    w_in[:, M1B] = d0 - 100 * d1
    return _net(ROT, w_in)


def test_rotation_net_gives_quasi_periodic_circles_and_one_fixed_point() -> None:
    table = attractor_census(_rotation_net(), TASK, grid=5, extra_starts=0)
    assert len(table) == 2 * 5 * 5
    zero = table["coh_mod1"] == 0
    assert set(table.loc[zero, "label"]) == {"fixed_point"}
    assert set(table.loc[~zero, "label"]) == {"quasi_periodic"}
    qp = table[~zero]
    np.testing.assert_allclose(qp["frequency"], 0.1 * math.sqrt(2), atol=1e-3)
    assert float(qp["lyap1"].abs().max()) < 1e-6 and float(qp["lyap2"].abs().max()) < 1e-6
    # The circle's radius is ‖(I − R)⁻¹ d₁‖·|c₁| (the RMS over a window of 2000 points of an
    # irrational rotation is within ~1e-4 of it: the sample centroid is not quite the centre).
    radius = 0.004 / (2 * math.sin(THETA / 2))
    np.testing.assert_allclose(qp["amplitude"], radius * qp["coh_mod1"].abs(), rtol=1e-3)
    s = census_summary(table)
    assert s["frac_qp"] == pytest.approx(20 / 25)
    assert s["frac_qp_by_context"] == {"0": pytest.approx(0.8), "1": pytest.approx(0.8)}
    # Context 0's relevant modality is 1 (QP unless c₁ = 0); context 1's is 2 (QP 4 times in 5
    # at every c₂): by |c_rel| = 0, 25, 50 that is (0 + 4)/10, (10 + 8)/20, (10 + 8)/20.
    assert s["frac_qp_by_abs_coherence"] == {
        "0": pytest.approx(0.4),
        "25": pytest.approx(0.9),
        "50": pytest.approx(0.9),
    }
    assert s["frac_multistable"] is None


# ---------------------------------------------------------------------- fixed point vs divergence
def _switch_net() -> VanillaRNN:
    """Unit k (k = 0, 1) integrates modality k + 1 with gain 2 (so it grows without bound once
    active) and is silenced by the other context; the onset state is 0. From it, context k's
    map stays at the fixed point 0 when the relevant coherence is ≤ 0 and diverges when > 0."""
    w = 2 * torch.eye(2, dtype=F64)
    w_in = torch.zeros(2, 7, dtype=F64)
    w_in[0, M1A], w_in[0, M1B], w_in[0, CTX1] = 1.0, -1.0, -10.0
    w_in[1, M2A], w_in[1, M2B], w_in[1, CTX0] = 1.0, -1.0, -10.0
    return _net(w, w_in)


def test_known_fixed_points_and_divergence_table_and_summary() -> None:
    grid, starts = 7, 2
    table = attractor_census(_switch_net(), TASK, grid=grid, extra_starts=starts)
    assert list(table.columns) == list(CENSUS_COLUMNS)
    assert len(table) == 2 * grid * grid * (1 + starts)
    assert not table.isna().any().any()
    assert list(table["label"].cat.categories) == list(LABELS)
    # Order: context-major, then c₁, c₂, start.
    assert table["start"].tolist()[:6] == [0, 1, 2, 0, 1, 2]
    assert (table["context"].diff().fillna(0) >= 0).all()
    onset = table[table["start"] == 0]
    expected = np.where(onset["coh_relevant"] > 0, "divergent", "fixed_point")
    assert onset["label"].astype(str).tolist() == expected.tolist()
    div = onset[onset["label"] == "divergent"]
    assert np.isposinf(div[["lyap1", "lyap2", "amplitude"]].to_numpy()).all()
    assert (div["period"] == 0).all() and (div["frequency"] == 0).all()
    assert (onset.loc[onset["label"] == "fixed_point", "final_norm"] == 0).all()
    assert onset["agrees_with_onset"].all()

    s = census_summary(table)
    assert s["n_grid_points"] == 2 * grid * grid
    assert s["frac_qp"] == 0 and s["frac_qp_bounded"] == 0
    assert s["frac_divergent"] == pytest.approx(3 / 7)  # c_rel > 0 in 3 of 7 grid columns
    assert s["label_counts"]["divergent"] == 2 * 3 * grid
    assert s["label_counts"]["fixed_point"] == 2 * 4 * grid
    assert sum(s["label_counts_all_starts"].values()) == len(table)
    # Multistability against the table: a grid point counts when some extra start disagrees.
    extra = table[table["start"] > 0]
    keys = ["context", "coh_mod1", "coh_mod2"]
    by_point = (~extra["agrees_with_onset"]).groupby([extra[k] for k in keys]).any()
    assert s["frac_multistable"] == pytest.approx(by_point.mean())
    assert s["frac_multistable"] > 0  # real-trial states of the relevant unit are often > 0
    # Starting above 0 a point with c_rel ≤ 0 can grow too: only there can starts disagree.
    rel = extra.loc[~extra["agrees_with_onset"], "coh_relevant"]
    assert (rel <= 0).all()


def test_everything_divergent_keeps_bounded_fraction_undefined() -> None:
    w = 2 * torch.eye(2, dtype=F64)
    w_in = torch.zeros(2, 7, dtype=F64)
    w_in[:, FIX] = 1.0  # always active, gain 2
    table = attractor_census(_net(w, w_in), TASK, grid=3, extra_starts=1)
    s = census_summary(table)
    assert s["frac_divergent"] == 1 and s["frac_qp_bounded"] is None and s["frac_qp"] == 0
    assert not table.isna().any().any()


# ---------------------------------------------------------------------- starts and options
def test_phase_onset_states_follow_a_noise_free_trial() -> None:
    model = VanillaRNN(7, 3, ModelConfig(hidden=8), torch.Generator().manual_seed(1)).double()
    coh = torch.tensor([-15.0, 50.0], dtype=F64)
    inputs, grid = condition_inputs(TASK, [0, 1], coh, coh)
    delay = phase_onset_states(model, TASK, grid, "delay")
    onset = phase_onset_states(model, TASK, grid, "stimulus")
    for c in range(len(grid)):
        ctx = torch.tensor([int(grid["context"][c])])
        c1 = torch.tensor([float(grid["coh_mod1"][c])], dtype=F64)
        c2 = torch.tensor([float(grid["coh_mod2"][c])], dtype=F64)
        fix = TASK.frozen_input(ctx, c1, c2, FIXATION)
        stim = TASK.frozen_input(ctx, c1, c2, STIMULUS)
        torch.testing.assert_close(stim, inputs[c : c + 1])
        seq = torch.cat([fix.expand(3, -1), stim.expand(7, -1)]).unsqueeze(1)
        states = model.run(seq)[:, 0]
        torch.testing.assert_close(onset[c], states[2])
        torch.testing.assert_close(delay[c], states[9])


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("grid", 1, "census.grid: must be an odd integer ≥ 3"),
        ("grid", 4, "census.grid"),
        ("grid", 5.0, "census.grid"),
        ("phase", "fixation", "census.phase"),
        ("extra_starts", -1, "census.extra_starts"),
        ("contexts", (0, 0), "census.contexts"),
        ("contexts", (2,), "census.contexts"),
        ("max_coherence", 0, "census.max_coherence"),
    ],
)
def test_bad_options_name_the_field(field: str, value: object, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        CensusOptions(**{field: value})


def test_options_grid_and_json() -> None:
    opts = CensusOptions()
    assert opts.coherences.tolist() == [float(c) for c in range(-50, 51, 5)]
    assert opts.n_starts == 3
    j = opts.to_json()
    assert j["grid"] == 21 and j["contexts"] == [0, 1] and j["classify"]["transient"] == 2000


# ---------------------------------------------------------------------- more than two choices
def _ring_net(task: CtxDM, gain: float = 1.5) -> VanillaRNN:
    """Known attractors on a 3-choice ring: unit 0 reads modality 1's direction-1 ring unit,
    h₀' = ReLU(gain·h₀ + 100·(x − 0.5)). The drive is positive exactly when modality 1 points
    to direction 1 with a positive strength (cos 0 = 1; the other directions are 120° away,
    cos = −½), so those conditions diverge (gain > 1) and every other one rests at h = 0."""
    model = VanillaRNN(task.n_inputs, task.n_actions, ModelConfig(hidden=3))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.weight_hh_l0[0, 0] = gain
        model.weight_ih_l0[0, 1] = 100.0  # input 1: modality 1, ring unit of direction 1
        model.bias_ih_l0[0] = -50.0
    return model.eval()


def test_census_of_a_three_choice_task_has_the_known_attractors() -> None:
    task = CtxDM(TaskConfig(dim_ring=3))
    opts = CensusOptions(
        grid=5, extra_starts=0, classify=ClassifyOptions(transient=100, measure=100, max_period=16)
    )
    table = attractor_census(_ring_net(task), task, opts)
    # Strengths 0, 25, 50: per modality the 0 stimulus once and 3 directions × 2 strengths.
    assert len(table) == 2 * 7 * 7
    assert set(table["choice_mod1"]) == {1, 2, 3} and set(table["coh_mod1"]) == {0.0, 25.0, 50.0}
    drive = (table["choice_mod1"] == 1) & (table["coh_mod1"] > 0)
    assert (table.loc[drive, "label"] == "divergent").all()
    assert (table.loc[~drive, "label"] == "fixed_point").all()
    assert (table.loc[~drive, "final_norm"] == 0).all()
    ctx1 = table["context"] == 1
    assert (table.loc[ctx1, "choice_relevant"] == table.loc[ctx1, "choice_mod2"]).all()
    s = census_summary(table)
    assert s["n_grid_points"] == 98 and s["frac_qp"] == 0.0
    assert s["frac_divergent"] == pytest.approx(2 * 2 * 7 / 98)  # 2 drives × 7 × 2 contexts
    assert set(s["frac_qp_by_abs_coherence"]) == {"0", "25", "50"}


def test_two_choice_ring_grid_is_the_signed_grid() -> None:
    """For two choices the (direction, strength) design is the signed coherence grid."""
    from cogdyn.analysis.conditions import ring_conditions

    opts = CensusOptions(grid=5)
    pairs = ring_conditions(2, opts.coherences[2:])
    signed = torch.where(pairs[:, 0] == 1, pairs[:, 1], -pairs[:, 1])
    assert sorted(signed.tolist()) == sorted(opts.coherences.tolist())
    assert torch.equal(opts.stimuli(2), opts.coherences)


def test_three_winner_take_all_units_give_a_stable_delay_point_per_choice() -> None:
    """k stable points, not two: three mutually inhibiting units (self 0.5, mutual −1, delay
    drive 0.5) have the stable points 1·e_k, one per choice, read out as choices 1..3."""
    from cogdyn.analysis.phase_points import phase_fixed_points, phase_points_summary

    task = CtxDM(TaskConfig(dim_ring=3))
    model = VanillaRNN(task.n_inputs, task.n_actions, ModelConfig(hidden=3))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.weight_hh_l0.copy_(1.5 * torch.eye(3) - torch.ones(3, 3))
        model.weight_ih_l0[:, 0] = 0.5  # the fixation cue: on in the delay
        # the stimulus pushes unit k toward choice k+1 (modality 1, ring unit k)
        for k in range(3):
            model.weight_ih_l0[k, 1 + k] = 1.0
        model.readout.weight[1:, :] = torch.eye(3)
    batch = task.sample(60, torch.Generator().manual_seed(0))
    points = phase_fixed_points(model.eval(), task, batch, phases=("delay",))
    stable = points.points[points.points["stability"] == "stable"]
    for ctx in (0, 1):
        assert sorted(stable.loc[stable["context"] == ctx, "choice"]) == [1, 2, 3]
    summary = phase_points_summary(points, n_choices=3)
    assert summary["delay"]["stable_per_choice"]
    assert summary["delay"]["stable_choices"] == {"0": [1, 2, 3], "1": [1, 2, 3]}
