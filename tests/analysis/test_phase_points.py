"""Delay/decision fixed points and basins of a hand-built bistable network."""

from __future__ import annotations

import pytest
import torch

from cogdyn.analysis.conditions import end_of_stimulus_states
from cogdyn.analysis.phase_points import phase_fixed_points, phase_points_summary
from cogdyn.config import ModelConfig
from cogdyn.models import VanillaRNN
from cogdyn.tasks import CtxDM

F64 = torch.float64
TASK = CtxDM()
FIX, M1A, M1B, M2A, M2B, CTX0, CTX1 = range(7)


def _bistable_net() -> VanillaRNN:
    """Two self-exciting (0.5), mutually inhibiting (−1) units: with drive d on both, stable
    points (2d, 0) and (0, 2d) and a saddle (2d/3, 2d/3) on the diagonal, its stable manifold.

    The context cue drives both units by 1, the fixation cue by −0.5: drive 0.5 in the delay,
    1 in the decision period (go cue off). The stimulus pushes unit 0 up and unit 1 down by the
    summed signed coherence of both modalities. Readout: logit 0 (fixate) = 1.2, logit k = h_k:
    the decision points (2, 0), (0, 2) answer 1 and 2; the delay points (1, 0), (0, 1) read
    "fixate" but hold 1 and 2.
    """
    model = VanillaRNN(7, 3, ModelConfig(hidden=2))
    with torch.no_grad():
        model.weight_hh_l0.copy_(torch.tensor([[0.5, -1.0], [-1.0, 0.5]]))
        w_in = torch.zeros(2, 7)
        w_in[:, FIX] = -0.5
        w_in[:, CTX0] = w_in[:, CTX1] = 1.0
        for a, b in ((M1A, M1B), (M2A, M2B)):
            w_in[0, a], w_in[0, b], w_in[1, a], w_in[1, b] = 1.0, -1.0, -1.0, 1.0
        model.weight_ih_l0.copy_(w_in)
        model.readout.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
        model.readout.bias.copy_(torch.tensor([1.2, 0.0, 0.0]))
    return model


def test_bistable_net_has_one_stable_point_per_choice_and_basins_split_by_choice() -> None:
    model = _bistable_net()
    batch = TASK.sample(200, torch.Generator().manual_seed(0))
    ends = end_of_stimulus_states(model, TASK, batch)
    expected = torch.where(ends[:, 0] > ends[:, 1], 1, 2)
    result = phase_fixed_points(model, TASK, batch, network_choice=expected)
    points = result.points
    stable = points[points["stability"] == "stable"]
    for phase, scale, readouts in (("delay", 1.0, [0, 0]), ("decision", 2.0, [1, 2])):
        for k in (0, 1):
            here = stable[(stable["phase"] == phase) & (stable["context"] == k)]
            assert sorted(here["held_choice"]) == [1, 2]
            assert sorted(here["readout"]) == readouts
            assert sorted(here["choice"]) == [1, 2]
            assert here["norm"].tolist() == pytest.approx([scale, scale])
            assert here["basin_share"].sum() == pytest.approx(1.0)
        saddles = points[(points["phase"] == phase) & (points["stability"] == "saddle")]
        assert len(saddles) == 2 and (saddles["basin_share"] == 0).all()
    assert len(result.fixed_points) == len(points) == 2 * 2 * 3  # phases × contexts × points
    trials = result.trials
    assert len(trials) == 2 * 200 and (trials["basin"] >= 0).all()
    for phase in ("delay", "decision"):
        got = trials.loc[trials["phase"] == phase, "basin_choice"].to_numpy()
        assert got.tolist() == expected.tolist()

    summary = phase_points_summary(result)
    for phase in ("delay", "decision"):
        s = summary[phase]
        assert s["n_fixed_points"] == 6 and s["n_stable"] == 4
        assert s["stable_choices"] == {"0": [1, 2], "1": [1, 2]}
        assert s["stable_per_choice"] is True
        assert s["basin_choice_agreement"] == 1.0 and s["frac_in_basin"] == 1.0
        correct = float((expected == batch.info["choice"]).double().mean())
        assert s["basin_correct_agreement"] == pytest.approx(correct)


def test_one_context_and_phase_and_bad_arguments() -> None:
    model = _bistable_net()
    batch = TASK.sample(50, torch.Generator().manual_seed(1))
    result = phase_fixed_points(model, TASK, batch, phases=["decision"], contexts=[1])
    assert set(result.points["phase"]) == {"decision"} and set(result.points["context"]) == {1}
    n1 = int((batch.info["context"] == 1).sum())
    assert len(result.trials) == n1 and "network_choice" not in result.trials
    assert phase_points_summary(result)["decision"]["basin_choice_agreement"] is None
    with pytest.raises(ValueError, match="phases"):
        phase_fixed_points(model, TASK, batch, phases=["stimulus"])
    with pytest.raises(ValueError, match="contexts"):
        phase_fixed_points(model, TASK, batch, contexts=[3])
