"""Robustness curves: no damage changes nothing, silencing every unit is chance or worse."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cogdyn.behaviour import evaluate
from cogdyn.populations.robustness import (
    ablate,
    accuracy_with_state_noise,
    robustness_curves,
    robustness_scores,
)

from .conftest import EXPECTED_GROUPS, hand_built_net

LEVELS = (0.0, 0.5, 1.0)


@pytest.fixture(scope="module")
def batch(task):
    return task.sample(128, torch.Generator().manual_seed(3))


@pytest.fixture(scope="module")
def curves(net, task, batch):
    return robustness_curves(
        net,
        task,
        batch,
        np.array(EXPECTED_GROUPS, dtype=object),
        ("G+", "G-", "Ga", "Gs"),
        ablation_levels=LEVELS,
        weight_noise_levels=LEVELS,
        state_noise_levels=LEVELS,
        draws=2,
        generator=torch.Generator().manual_seed(0),
    )


def test_ablating_no_unit_changes_nothing_and_all_units_is_chance_or_worse(net, task, batch):
    base = evaluate(net, task, batch).accuracy
    assert base > 0.5  # the hand-built net does better than chance
    model = hand_built_net()
    ablate(model, torch.tensor([], dtype=torch.long))
    assert evaluate(model, task, batch).accuracy == base
    ablate(model, torch.arange(model.hidden))
    assert evaluate(model, task, batch).accuracy <= 0.5
    gen = torch.Generator().manual_seed(0)
    assert accuracy_with_state_noise(net, task, batch, 0.0, gen) == pytest.approx(base)


def test_curves_and_scores(curves, net, task, batch) -> None:
    base = evaluate(net, task, batch).accuracy
    kinds = ["ablate_random", "ablate_G+", "ablate_G-", "ablate_Ga", "ablate_Gs"]
    assert list(curves["damage"].unique()) == [*kinds, "weight_noise", "state_noise"]
    assert len(curves) == 7 * len(LEVELS) * 2
    assert (curves.loc[curves["level"] == 0, "damaged_accuracy"] == base).all()
    every = curves[(curves["damage"] == "ablate_random") & (curves["level"] == 1.0)]
    assert (every["damaged_accuracy"] <= 0.5).all() and (every["n_units"] == 6).all()
    at = curves.set_index(["damage", "level", "draw"])["damaged_accuracy"]
    # Without its fixation unit (silent in the decision attractors) the network breaks fixation;
    # the shared unit feeds nothing, so silencing it changes no trial.
    assert at["ablate_Gs", 1.0, 0] <= 0.5
    assert (at["ablate_Ga"] == base).all()
    assert not curves.isna().any().any()
    scores = robustness_scores(curves)
    assert set(scores) == set(curves["damage"])
    assert all(0 <= v <= 1 for v in scores.values())
    # Trapezoids over (0, ½, 1), divided by the range.
    m = curves[curves["damage"] == "ablate_random"].groupby("level")["damaged_accuracy"].mean()
    assert scores["ablate_random"] == pytest.approx((m[0] + 2 * m[0.5] + m[1.0]) / 4)


def test_curves_are_seeded(net, task, batch, curves) -> None:
    again = robustness_curves(
        net,
        task,
        batch,
        np.array(EXPECTED_GROUPS, dtype=object),
        ("G+", "G-", "Ga", "Gs"),
        ablation_levels=LEVELS,
        weight_noise_levels=LEVELS,
        state_noise_levels=LEVELS,
        draws=2,
        generator=torch.Generator().manual_seed(0),
    )
    assert again.equals(curves)
