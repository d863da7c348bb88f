"""Groups by decision attractor on a hand-built network; the balance index on hand-made counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cogdyn.analysis.phase_points import PhasePoints, phase_fixed_points
from cogdyn.behaviour import evaluate
from cogdyn.populations.activity import last_step_of, trial_states
from cogdyn.populations.groups import (
    balance_index,
    block_weights,
    classify_units,
    decision_attractors,
    group_names,
    group_units,
)
from cogdyn.tasks.base import DELAY

from .conftest import DELAY_GROUPS, EXPECTED_GROUPS


@pytest.mark.parametrize(
    ("counts", "expected"),
    [((10, 10), 1.0), ((10, 0), 0.0), ((3, 1), 0.5), ((0, 0), 1.0), ((2, 4, 4), 1 - 2 / 6)],
)
def test_balance_index_on_hand_made_counts(counts, expected) -> None:
    assert balance_index(counts) == pytest.approx(expected)


def test_balance_index_needs_two_groups() -> None:
    with pytest.raises(ValueError):
        balance_index([3])


def test_classify_units_threshold_is_relative() -> None:
    activity = np.array([[4.0, 0.0, 1.0, 0.1, 0.0], [0.0, 2.0, 1.0, 0.0, 0.0]])
    assert classify_units(activity, 0.05).tolist() == ["G+", "G-", "Ga", "Gs", "Gs"]
    assert classify_units(activity, 0.0).tolist() == ["G+", "G-", "Ga", "G+", "Gs"]
    assert classify_units(np.zeros((3, 2)), 0.05).tolist() == ["Gs", "Gs"]
    assert group_names(3) == ("G1", "G2", "G3", "Ga", "Gs")


@pytest.fixture(scope="module")
def found(net, task):
    batch = task.sample(200, torch.Generator().manual_seed(0))
    choice = evaluate(net, task, batch).outcome.choice
    points = phase_fixed_points(net, task, batch, network_choice=choice)
    states = trial_states(net, batch)
    end = states[last_step_of(batch, DELAY), torch.arange(batch.n_trials)].numpy()
    return points, end, batch.info["context"].numpy(), choice.numpy()


def _groups(points: PhasePoints, found):
    _, end, ctx, choice = found
    states = points.fixed_points.states.numpy()
    return group_units(decision_attractors(points.points, states, 2, end, ctx, choice), 0.05)


def test_groups_of_hand_built_network_from_decision_attractors(found, net) -> None:
    groups = _groups(found[0], found)
    assert groups.attractor_phase == "decision"
    assert groups.labels.tolist() == EXPECTED_GROUPS
    for labels in groups.by_context.values():
        assert labels.tolist() == EXPECTED_GROUPS
    assert groups.sizes() == {"G+": 2, "G-": 2, "Ga": 1, "Gs": 1}
    assert groups.balance() == 1.0
    # Decision drive 1: the choice-1 attractor is (2, 0, 2, 0, 2, 0).
    assert groups.activity[0] == pytest.approx([2, 0, 2, 0, 2, 0])
    assert groups.activity[1] == pytest.approx([0, 2, 2, 0, 0, 1])
    assert groups.order.tolist() == [0, 4, 1, 5, 2, 3]
    blocks = block_weights(net.weight_hh_l0.detach().numpy(), groups.labels, groups.names)
    to_ga = blocks.set_index(["from_group", "to_group"]).loc[("G+", "Ga")]
    assert to_ga["mean_weight"] == pytest.approx(0.5) and to_ga["n_pairs"] == 2
    assert (blocks.loc[blocks["n_pairs"] == 0, "mean_weight"] == 0).all()


def test_fall_back_to_delay_then_trial_means(found) -> None:
    points = found[0]
    table = points.points
    no_decision = PhasePoints(
        table[table["phase"] != "decision"], points.trials, points.fixed_points
    )
    groups = _groups(no_decision, found)
    assert groups.attractor_phase == "delay"
    assert groups.labels.tolist() == DELAY_GROUPS
    assert groups.activity[0] == pytest.approx([1, 0, 1, 3, 1, 0])  # delay drive 0.5

    none = PhasePoints(table.iloc[:0], points.trials, points.fixed_points)
    groups = _groups(none, found)
    assert groups.attractor_phase == "trial_mean"
    assert groups.labels.tolist() == DELAY_GROUPS
