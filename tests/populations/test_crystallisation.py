"""The choice decoder, its saturation step, group turnover and the training trajectory."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cogdyn.behaviour import evaluate
from cogdyn.dynamics.classify import LABELS
from cogdyn.populations.activity import aligned_states, period_means, trial_states
from cogdyn.populations.crystallisation import (
    crystallisation_step,
    decision_time_course,
    group_turnover,
    jaccard_distance,
    ridge_decoder_accuracy,
    saturation_index,
    training_trajectory,
)


def _data(rng, n=300, dims=20):
    labels = rng.integers(1, 3, n)
    x = rng.standard_normal((n, dims))
    x[:, 0] += 3.0 * (labels == 1)
    return x, labels


def test_decoder_finds_signal_and_is_at_chance_on_shuffled_labels() -> None:
    rng = np.random.default_rng(0)
    x, labels = _data(rng)
    acc = ridge_decoder_accuracy(np.stack([x, x]), labels, folds=5, ridge=0.1, rng=rng)
    assert acc.shape == (2,) and (acc > 0.9).all()
    shuffled = [
        ridge_decoder_accuracy(x[None], rng.permutation(labels), folds=5, ridge=0.1, rng=rng)[0]
        for _ in range(5)
    ]
    assert np.mean(shuffled) == pytest.approx(0.5, abs=0.06)


def test_saturation_index() -> None:
    acc = np.array([0.5, 0.5, 0.7, 0.9, 0.99, 1.0])
    assert saturation_index(acc, 0.5) == 4  # 0.99 − 0.5 ≥ 0.95 · 0.5
    assert saturation_index(np.array([0.5, 0.52]), 0.5) is None
    assert saturation_index(np.array([]), 0.5) is None


def test_time_course_on_hand_built_network(net, task) -> None:
    batch = task.sample(200, torch.Generator().manual_seed(1))
    states = trial_states(net, batch)
    choice = evaluate(net, task, batch).outcome.choice.numpy()
    aligned = {a: aligned_states(states, batch, a) for a in ("stimulus", "decision")}
    offsets, onset = aligned["stimulus"]
    assert offsets[0] == -3 and onset.shape[1:] == (200, 6)  # 3 fixation steps before onset
    assert aligned["decision"][0][-1] == 0
    course = decision_time_course(aligned, choice, folds=4, ridge=0.1, rng=np.random.default_rng(0))
    assert not course.isna().any().any()
    pre = course[(course["align"] == "stimulus") & (course["step"] < 0)]
    # Before the stimulus every trial's state is the same: no information, no decoding.
    assert (pre["mi_max"] == 0).all()
    assert (pre["decoder_accuracy"] <= pre["chance"] + 0.05).all()
    dec = course[course["align"] == "decision"]
    assert dec["decoder_accuracy"].iloc[-1] > 0.95  # the flip-flop holds the choice
    step = crystallisation_step(course)
    assert step is not None and step >= 0
    means = period_means(states, batch)
    assert set(means) == {"fixation", "stimulus", "delay", "decision"}


def test_time_course_without_two_choices_is_empty() -> None:
    x = np.zeros((3, 20, 4))
    course = decision_time_course(
        {"stimulus": (np.arange(3), x)}, np.ones(20, dtype=int), folds=2, ridge=0.1,
        rng=np.random.default_rng(0),
    )  # fmt: skip
    assert course.empty and crystallisation_step(course) is None


def test_turnover() -> None:
    a = np.array([True, True, False, False])
    b = np.array([False, True, True, False])
    assert jaccard_distance(a, b) == pytest.approx(1 - 1 / 3)
    assert jaccard_distance(~a & ~b & a, np.zeros(4, dtype=bool)) == 0.0
    names = ("G+", "G-", "Ga", "Gs")
    before = np.array(["G+", "G-", "Ga", "Gs"], dtype=object)
    assert group_turnover(before, before, names) == 0.0
    after = np.array(["G-", "G+", "Ga", "Gs"], dtype=object)
    assert group_turnover(before, after, names) == pytest.approx(2 / 3)


def test_training_trajectory() -> None:
    names = ("G+", "G-", "Ga", "Gs")
    counts = dict.fromkeys(LABELS, 1)

    def rec(name, labels):
        return {
            "checkpoint": name, "kind": "log", "update": 1, "accuracy": 0.5,
            "census": {"frac_qp": 0.25, "label_counts": counts},
            "fixed_points": {"decision": {"n_stable": 2}},
            "labels": np.array(labels, dtype=object), "group_names": names,
            "attractor_phase": "delay", "balance_index": 1.0,
        }  # fmt: skip

    frame = training_trajectory([rec("a", ["G+", "G-"]), rec("b", ["G+", "G+"])])
    assert frame["turnover"].isna().tolist() == [True, False]
    assert frame["turnover"].iloc[1] == pytest.approx((0.5 + 1 + 0) / 3)
    assert frame["size_G+"].tolist() == [1, 2] and frame["n_stable_fp_delay"].tolist() == [0, 0]
    assert frame["n_quasi_periodic"].tolist() == [1, 1]
