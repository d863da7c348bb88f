"""CtxDM conditions of the frozen-input map: grid inputs, onset and end-of-stimulus states,
against real trials of the task."""

from __future__ import annotations

import pytest
import torch

from cogdyn.analysis.conditions import (
    condition_inputs,
    end_of_stimulus_states,
    fixation_steps,
    stimulus_onset_states,
)
from cogdyn.config import Duration, ModelConfig, TaskConfig
from cogdyn.models import VanillaRNN
from cogdyn.tasks import DELAY, FIXATION, STIMULUS, CtxDM

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


def test_condition_inputs_grid_order_and_values() -> None:
    task = CtxDM()
    coh = [-50.0, 0.0, 15.0]
    inputs, table = condition_inputs(task, [0, 1], coh, [5.0, -5.0], STIMULUS)
    assert inputs.shape == (12, task.n_inputs) and inputs.dtype == F64
    assert list(table.columns) == [
        "condition",
        "context",
        "coh_mod1",
        "coh_mod2",
        "period",
    ]
    # Row (k·3 + i)·2 + j is (context k, coh1 i, coh2 j).
    row = (1 * 3 + 2) * 2 + 1
    assert table.loc[row, ["context", "coh_mod1", "coh_mod2"]].tolist() == [1, 15.0, -5.0]
    expected = task.frozen_input(torch.tensor([1]), torch.tensor(15.0), torch.tensor(-5.0))
    torch.testing.assert_close(inputs[row], expected[0])
    # The grid's context column gives each condition its stimulus-onset state.
    model = _model(n_in=task.n_inputs)
    onset = stimulus_onset_states(model, task, table["context"])
    assert onset.shape == (12, 16)
    torch.testing.assert_close(onset[row], onset[6])
    delay, _ = condition_inputs(task, [0], [50.0], [50.0], DELAY)
    torch.testing.assert_close(delay[0, 1:5], torch.zeros(4, dtype=F64))


def test_condition_inputs_with_choice_pairs() -> None:
    task = CtxDM(TaskConfig(dim_ring=4))
    inputs, table = condition_inputs(task, [0], [[1, 50.0], [3, 15.0]], [[2, 5.0]])
    assert inputs.shape == (2, task.n_inputs)
    assert table["choice_mod1"].tolist() == [1, 3] and table["coh_mod2"].tolist() == [5.0, 5.0]
    with pytest.raises(ValueError, match="coh1"):
        condition_inputs(task, [0], [50.0], [[2, 5.0]])


def test_condition_inputs_bad_arguments() -> None:
    task = CtxDM()
    with pytest.raises(ValueError, match="contexts"):
        condition_inputs(task, [2], [0.0], [0.0])
    with pytest.raises(ValueError, match="coh1"):
        condition_inputs(task, [0], [150.0], [0.0])
    with pytest.raises(ValueError, match="coh2"):
        condition_inputs(task, [0], [0.0], [])
    with pytest.raises(ValueError, match="period"):
        condition_inputs(task, [0], [0.0], [0.0], period=7)


@pytest.mark.parametrize(
    "fixation", [Duration("constant", value=300.0), Duration("uniform", min=300.0, max=600.0)]
)
def test_stimulus_onset_states_equal_a_real_noise_free_trial(fixation: Duration) -> None:
    task = CtxDM(TaskConfig(sigma=0.0, fixation=fixation))
    model = _model(alpha=0.7, hidden=24, n_in=task.n_inputs)
    batch = task.sample(16, torch.Generator().manual_seed(0))
    with torch.no_grad():
        states = model.run(batch.inputs)
    n_fix = fixation_steps(task)
    assert n_fix == 3
    onset = stimulus_onset_states(model, task, batch.info["context"])
    assert onset.shape == (16, 24) and onset.dtype == F64
    # The state after the first n_fix fixation steps (all trials are still in fixation there).
    assert bool((batch.periods[:n_fix] == FIXATION).all())
    torch.testing.assert_close(onset, states[n_fix - 1].double(), rtol=0, atol=1e-5)
    if fixation.is_constant:
        assert bool((batch.periods[n_fix] == STIMULUS).all())
    with pytest.raises(ValueError, match="contexts"):
        stimulus_onset_states(model, task, [3])


def test_end_of_stimulus_states_are_the_last_stimulus_step() -> None:
    task = CtxDM(TaskConfig(stimulus=Duration("choice", values=(300.0, 500.0))))
    model = _model(hidden=12, n_in=task.n_inputs)
    batch = task.sample(20, torch.Generator().manual_seed(1))
    got = end_of_stimulus_states(model, task, batch)
    with torch.no_grad():
        states = model.run(batch.inputs)
    for b in range(20):
        last = int(torch.nonzero(batch.periods[:, b] == STIMULUS).max())
        torch.testing.assert_close(got[b], states[last, b].double())
    assert {int(s) for s in batch.info["stim_steps"]} == {3, 5}
