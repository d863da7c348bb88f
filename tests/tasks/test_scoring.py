"""score_actions on hand-made cases: rewards, episode ends, fixation breaks, abort."""

import torch

from cogdyn.tasks import DECISION, FIXATION, PAD, STIMULUS, TrialBatch, score_actions


def _batch(periods, targets, lengths):
    periods = torch.tensor(periods).T  # given per trial, stored (T, B)
    targets = torch.tensor(targets).T
    t, b = periods.shape
    return TrialBatch(
        inputs=torch.zeros(t, b, 3),
        targets=targets,
        mask=periods != PAD,
        periods=periods,
        lengths=torch.tensor(lengths),
        info={},
    )


F, S, D, P = FIXATION, STIMULUS, DECISION, PAD
# trial 0: 5 steps with a 2-step decision; trial 1: 4 steps, padded
BATCH = _batch(
    periods=[[F, S, S, D, D], [F, S, D, P, P]],
    targets=[[0, 0, 0, 2, 2], [0, 0, 1, 0, 0]],
    lengths=[5, 3],
)


def test_correct_wrong_and_late_responses():
    actions = torch.tensor([[0, 0, 0, 0, 2], [0, 0, 2, 0, 0]]).T
    out = score_actions(BATCH, actions)
    assert out.correct.tolist() == [True, False]
    assert out.choice.tolist() == [2, 2]
    assert out.end_step.tolist() == [4, 2]
    assert out.rewards.T.tolist() == [[0, 0, 0, 0, 1.0], [0, 0, 0, 0, 0]]
    assert out.alive.T.tolist() == [[True] * 5, [True, True, True, False, False]]


def test_first_decision_response_ends_the_episode():
    actions = torch.tensor([[0, 0, 0, 1, 2], [0, 0, 1, 0, 0]]).T
    out = score_actions(BATCH, actions, reward_wrong=-0.5)
    assert out.end_step.tolist() == [3, 2]
    assert out.choice.tolist() == [1, 1]
    assert out.correct.tolist() == [False, True]
    assert out.rewards.T.tolist() == [[0, 0, 0, -0.5, 0], [0, 0, 1.0, 0, 0]]


def test_fixation_break_is_penalised_and_an_error():
    actions = torch.tensor([[1, 0, 2, 2, 0], [0, 0, 0, 0, 0]]).T
    out = score_actions(BATCH, actions, reward_fix_break=-0.1)
    assert out.fix_break.tolist() == [True, False]
    # right choice, but a fixation break makes it an error; two breaks cost −0.1 each
    assert out.correct.tolist() == [False, False]
    assert torch.allclose(out.rewards[:, 0], torch.tensor([-0.1, 0, -0.1, 1.0, 0]))
    assert out.choice.tolist() == [2, 0]  # trial 1: no response → choice 0, reward 0
    assert out.end_step.tolist() == [3, 2]


def test_abort_ends_at_the_first_break():
    actions = torch.tensor([[0, 1, 2, 2, 0], [0, 0, 1, 0, 0]]).T
    out = score_actions(BATCH, actions, abort=True)
    assert out.end_step.tolist() == [1, 2]
    assert out.rewards[:, 0].tolist() == [0, -0.10000000149011612, 0, 0, 0]
    assert out.alive[:, 0].tolist() == [True, True, False, False, False]
    assert out.correct.tolist() == [False, True]


def test_padding_actions_are_ignored():
    actions = torch.tensor([[0, 0, 0, 2, 0], [0, 0, 1, 2, 2]]).T
    out = score_actions(BATCH, actions)
    assert out.correct.tolist() == [True, True]
    assert float(out.rewards[3:, 1].abs().sum()) == 0
