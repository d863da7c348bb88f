"""check_task: passes the shipped tasks and the guide's example, and names what is wrong in a
task broken one way at a time."""

from __future__ import annotations

import dataclasses
import random
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from cogdyn.config import TaskConfig
from cogdyn.tasks import (
    DECISION,
    CtxDM,
    Outcome,
    TaskContractError,
    TrialBatch,
    check_task,
    make_task,
)

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "howto" / "custom-task.md"


def guide_task_class() -> type:
    """The ``TwoAFC`` class exactly as the custom-task guide's first Python block defines it."""
    text = GUIDE.read_text(encoding="utf-8")
    block = next(
        b for b in re.findall(r"^```python\n(.*?)^```", text, re.S | re.M) if "class TwoAFC:" in b
    )
    namespace: dict = {}
    exec(compile(block, str(GUIDE), "exec"), namespace)
    return namespace["TwoAFC"]


@pytest.mark.parametrize(
    "config",
    [TaskConfig(), TaskConfig(dim_ring=3, sigma=0.3), TaskConfig(abort=True, go_cue=False)],
    ids=["default", "three-choices", "abort"],
)
def test_ctxdm_keeps_the_contract(config: TaskConfig) -> None:
    check_task(CtxDM(config))


def test_the_guides_example_keeps_the_contract() -> None:
    check_task(guide_task_class()())


@pytest.mark.parametrize("env", ["PerceptualDecisionMaking-v0", "DelayMatchSample-v0"])
def test_neurogym_adapter_keeps_the_contract(env: str) -> None:
    pytest.importorskip("neurogym")
    check_task(make_task(TaskConfig(name=f"neurogym:{env}")))


# ---------------------------------------------------------------------- broken tasks
class Broken(CtxDM):
    """CtxDM with one thing changed by ``patch_batch`` (a function of the batch)."""

    def __init__(self, patch_batch=None, **attrs) -> None:
        super().__init__()
        self.patch_batch = patch_batch
        for k, v in attrs.items():
            setattr(self, k, v)

    def sample(self, batch_size: int, generator: torch.Generator) -> TrialBatch:
        batch = super().sample(batch_size, generator)
        return batch if self.patch_batch is None else self.patch_batch(batch)


def replace(**changes):
    return lambda b: dataclasses.replace(b, **{k: f(b) for k, f in changes.items()})


def expect(task, *fragments: str) -> None:
    with pytest.raises(TaskContractError) as err:
        check_task(task)
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message, message


def test_float64_inputs_are_refused() -> None:
    expect(Broken(replace(inputs=lambda b: b.inputs.double())), "inputs", "float32", "float64")


def test_wrong_input_width_is_refused() -> None:
    expect(Broken(replace(inputs=lambda b: b.inputs[..., :-1])), "inputs", "(T, 16, 7)")


def test_n_inputs_that_disagree_with_the_batch_are_refused() -> None:
    class Wider(CtxDM):
        n_inputs = 8

    expect(Wider(), "inputs", "n_inputs=8")


def test_batch_size_is_respected() -> None:
    def first_trial(b: TrialBatch) -> TrialBatch:
        return dataclasses.replace(
            b,
            inputs=b.inputs[:, :1],
            targets=b.targets[:, :1],
            mask=b.mask[:, :1],
            periods=b.periods[:, :1],
            lengths=b.lengths[:1],
            info={k: v[:1] for k, v in b.info.items()},
        )

    expect(Broken(first_trial), "inputs", "sample(16, ...)")


def test_float_targets_are_refused() -> None:
    expect(Broken(replace(targets=lambda b: b.targets.float())), "targets", "torch.int64")


def test_mask_that_is_not_the_trial_is_refused() -> None:
    expect(Broken(replace(mask=lambda b: torch.ones_like(b.mask))), "mask", "own steps")


def test_padding_in_the_wrong_place_is_refused() -> None:
    def no_pad(b: TrialBatch) -> torch.Tensor:
        return torch.where(b.periods < 0, DECISION, b.periods)

    expect(Broken(replace(periods=no_pad)), "periods", "PAD exactly")


def test_a_target_before_the_decision_is_refused() -> None:
    expect(Broken(replace(targets=lambda b: b.targets.clamp(min=1) * b.mask)), "targets", "fixate")


def test_missing_choice_info_is_refused() -> None:
    def drop(b: TrialBatch) -> dict:
        return {k: v for k, v in b.info.items() if k != "choice"}

    expect(Broken(replace(info=drop)), "info", "'choice'")


def test_info_of_the_wrong_shape_is_refused() -> None:
    expect(
        Broken(replace(info=lambda b: {**b.info, "extra": torch.zeros(2, 3)})), "info", "'extra'"
    )


def test_a_trial_without_a_decision_period_is_refused() -> None:
    def no_decision(b: TrialBatch) -> TrialBatch:
        decision = b.periods == DECISION
        return dataclasses.replace(
            b,
            periods=torch.where(decision, 1, b.periods),
            targets=torch.where(decision, 0, b.targets),
        )

    expect(Broken(no_decision), "periods", "end in a decision period")


class GlobalNoise(CtxDM):
    """Adds noise from torch's global RNG: not reproducible from the generator."""

    def sample(self, batch_size: int, generator: torch.Generator) -> TrialBatch:
        b = super().sample(batch_size, generator)
        return dataclasses.replace(
            b, inputs=b.inputs + 0.01 * torch.randn(b.inputs.shape) * b.mask.unsqueeze(-1)
        )


def test_global_torch_rng_is_refused() -> None:
    expect(GlobalNoise(), "sample", "global random state of torch")


def test_global_numpy_rng_is_refused() -> None:
    class NumpyJitter(CtxDM):
        def sample(self, batch_size: int, generator: torch.Generator) -> TrialBatch:
            np.random.random()
            return super().sample(batch_size, generator)

    expect(NumpyJitter(), "numpy")


def test_global_python_rng_is_refused() -> None:
    class PythonJitter(CtxDM):
        def sample(self, batch_size: int, generator: torch.Generator) -> TrialBatch:
            random.random()
            return super().sample(batch_size, generator)

    expect(PythonJitter(), "random")


def test_a_task_with_its_own_random_source_is_refused() -> None:
    class OwnRng(CtxDM):
        """Draws from a generator it keeps: the same seed does not give the same trials."""

        def __init__(self) -> None:
            super().__init__()
            self.rng = torch.Generator().manual_seed(0)

        def sample(self, batch_size: int, generator: torch.Generator) -> TrialBatch:
            return super().sample(batch_size, self.rng)

    expect(OwnRng(), "sample", "same generator seed gave different trials")


def test_a_task_that_ignores_the_generator_is_refused() -> None:
    class Fixed(CtxDM):
        def sample(self, batch_size: int, generator: torch.Generator) -> TrialBatch:
            return super().sample(batch_size, torch.Generator().manual_seed(0))

    expect(Fixed(), "sample", "different generator seeds gave identical trials")


def test_a_non_batch_is_refused() -> None:
    class Dict(CtxDM):
        def sample(self, batch_size: int, generator: torch.Generator):
            return dataclasses.asdict(super().sample(batch_size, generator))

    expect(Dict(), "sample", "TrialBatch", "dict")


@pytest.mark.parametrize(
    ("attr", "value", "fragment"),
    [
        ("n_actions", 1, "n_actions: must be an integer ≥ 2"),
        ("n_inputs", "7", "n_inputs"),
        ("name", "", "name"),
    ],
)
def test_bad_sizes_are_refused(attr: str, value: object, fragment: str) -> None:
    expect(type("Sized", (CtxDM,), {attr: value})(), fragment)


def test_rewards_that_do_not_favour_the_correct_choice_are_refused() -> None:
    task = CtxDM(TaskConfig(reward_correct=0.0, reward_wrong=1.0))
    expect(task, "score", "more reward")


def test_scoring_that_ignores_the_targets_is_refused() -> None:
    class AlwaysRight(CtxDM):
        def score(self, batch: TrialBatch, actions: torch.Tensor) -> Outcome:
            out = super().score(batch, actions)
            return dataclasses.replace(out, correct=torch.ones_like(out.correct))

    expect(AlwaysRight(), "score", "fixating must not be correct")


def test_float64_rewards_are_refused() -> None:
    class Double(CtxDM):
        def score(self, batch: TrialBatch, actions: torch.Tensor) -> Outcome:
            out = super().score(batch, actions)
            return dataclasses.replace(out, rewards=out.rewards.double())

    expect(Double(), "score", "Outcome.rewards", "float32")


def test_a_criterion_above_the_ideal_observer_must_be_refused() -> None:
    class Lenient(CtxDM):
        def check_target(self, target_accuracy: float) -> None:
            pass

    expect(Lenient(), "check_target", "above ideal_observer_accuracy")


def test_the_guides_example_broken_is_caught() -> None:
    """The guide's task with float64 inputs: the message the guide quotes."""
    cls = guide_task_class()

    class Double(cls):
        def sample(self, batch_size, generator):
            b = super().sample(batch_size, generator)
            return dataclasses.replace(b, inputs=b.inputs.double())

    with pytest.raises(TaskContractError) as err:
        check_task(Double())
    assert (
        str(err.value)
        == "task 'twoafc': inputs: must be float32 (the network's dtype), got torch.float64"
    )
