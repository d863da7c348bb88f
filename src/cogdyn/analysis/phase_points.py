"""Fixed points of the stimulus-off phases (delay, decision) and where real trials flow.

During the delay and the decision period the stimulus channels are 0, so each context has ONE
frozen input per phase (fixation cue on in the delay, off in the decision period, with the go
cue). For each such map this module finds the exact ReLU fixed points, their stability, and the
basins: which stable point the network's state at the end of the stimulus of each real trial
flows to under that phase's input. The paper's target: the decision input has (at least) one
stable point per choice, and their basins split the end-of-stimulus states by choice.

Candidate activation patterns come from the trajectories of the map started at those
end-of-stimulus states and at the stimulus-onset state of each context
(:func:`~cogdyn.dynamics.relu_solver.fixed_points_from_states`): attractors are visited most,
saddles by orbits that pass near them. A point no orbit comes near is not found. A network that
is not a ReLU RNN (a GRU, an LSTM, a tanh RNN) has no activation patterns: its fixed points come
from the optimisation finder started on the same orbits
(:func:`~cogdyn.dynamics.step_map.search_fixed_points`), with autograd Jacobians.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from cogdyn.analysis.conditions import (
    end_of_stimulus_states,
    stimulus_onset_states,
    zero_coherence,
)
from cogdyn.dynamics.fixed_points import FixedPoints, basins
from cogdyn.dynamics.maps import FrozenInputMap
from cogdyn.dynamics.relu_solver import fixed_points_from_states
from cogdyn.dynamics.step_map import frozen_input_map, search_fixed_points
from cogdyn.tasks.base import DECISION, DELAY, TrialBatch
from cogdyn.tasks.ctxdm import CtxDM

STIMULUS_OFF_PHASES: dict[str, int] = {"delay": DELAY, "decision": DECISION}
"""Phases without stimulus input, and their period ids."""


@dataclass(frozen=True)
class PhasePoints:
    """Fixed points of the stimulus-off maps and the basins of real trials.

    points: one row per fixed point: ``phase``, ``context``, ``norm``, ``n_active``,
        ``max_abs_eig``, ``n_unstable``, ``stability``, ``residual``, ``readout`` (arg-max of
        the readout logits at the point; 0 = fixate), ``held_choice`` (arg-max over the choice
        logits 1..n only: the choice the point holds even where it reads "fixate"), ``choice``
        (the choice the point stands for: ``readout`` in the decision phase, what the network
        answers there; ``held_choice`` in the delay, where the right answer is "fixate" and
        the readout's arg-max is 0 by design), ``basin_share`` (fraction of the phase ×
        context's trials whose state flows to it; 0 for points that are not stable, which
        attract no open set).
    trials: one row per trial × phase: ``trial``, ``phase``, ``context``, ``correct_choice``,
        ``network_choice`` (if given; 0 = no response), ``basin`` (row of ``points`` reached,
        −1 for none of the stable points), ``basin_choice`` (``choice`` of the point reached; 0
        when none).
    fixed_points: the :class:`FixedPoints` (states, eigenvalues); row i ↔ ``points`` row i.
    """

    points: pd.DataFrame
    trials: pd.DataFrame
    fixed_points: FixedPoints


def phase_fixed_points(
    model: Any,
    task: CtxDM,
    batch: TrialBatch,
    *,
    network_choice: Tensor | None = None,
    phases: Sequence[str] = ("delay", "decision"),
    contexts: Sequence[int] = (0, 1),
    pattern_steps: int = 200,
    max_patterns: int = 500,
    basin_steps: int = 2000,
) -> PhasePoints:
    """Fixed points, stability and basins of the frozen delay/decision input of each context.

    Args:
        model: a ReLU :class:`~cogdyn.models.VanillaRNN` with a ``readout`` layer, or any
            network with ``step``, ``run`` and ``readout`` (:class:`~cogdyn.models.RecurrentNet`).
        task: its task.
        batch: real (noisy) trials; their end-of-stimulus states are the basin probes.
        network_choice: optional (B,) choice the network made on each trial (0 = none), to
            tabulate against the basins.
        phases: any of ``delay``, ``decision``.
        contexts: contexts covered; trials of other contexts are left out.
        pattern_steps: iterations of the pattern search from each start.
        max_patterns: activation patterns solved per phase × context (most visited first; ReLU
            networks).
        basin_steps: iterations allowed for a trial's state to reach a stable point.
    """
    bad = [p for p in phases if p not in STIMULUS_OFF_PHASES]
    if bad or not phases:
        raise ValueError(f"phases must be some of {', '.join(STIMULUS_OFF_PHASES)}, got {phases}")
    ctx_list = list(dict.fromkeys(int(k) for k in contexts))
    if not ctx_list or any(k not in (0, 1) for k in ctx_list):
        raise ValueError(f"contexts must be some of 0, 1, got {contexts}")
    n_ctx = len(ctx_list)
    # Row r = phase index · K + context index: one frozen input per phase and context.
    zero = zero_coherence(task, n_ctx)
    inputs = torch.cat(
        [
            task.frozen_input(torch.tensor(ctx_list), zero, zero, STIMULUS_OFF_PHASES[p])
            for p in phases
        ]
    )
    fmap = frozen_input_map(model, inputs)

    trial_ctx = batch.info["context"].cpu()
    keep = torch.isin(trial_ctx, torch.tensor(ctx_list))
    trial_idx = torch.nonzero(keep).reshape(-1)
    lookup = torch.zeros(2, dtype=torch.long)
    lookup[torch.tensor(ctx_list)] = torch.arange(n_ctx)
    ctx_pos = lookup[trial_ctx[trial_idx]]  # position of each kept trial's context in ctx_list
    ends = end_of_stimulus_states(model, task, batch)[trial_idx]
    onset = stimulus_onset_states(model, task, ctx_list)

    probe, probe_rows, seeds, seed_rows = [], [], [], []
    for i in range(len(phases)):
        probe.append(ends)
        probe_rows.append(i * n_ctx + ctx_pos)
        seeds.extend([ends, onset])
        seed_rows.extend([i * n_ctx + ctx_pos, i * n_ctx + torch.arange(n_ctx)])
    probes, probe_cond = torch.cat(probe), torch.cat(probe_rows)
    if isinstance(fmap, FrozenInputMap):
        fp = fixed_points_from_states(
            fmap,
            torch.cat(seeds),
            torch.cat(seed_rows),
            n_steps=pattern_steps,
            max_per_condition=max_patterns,
        )
        stable_idx = torch.nonzero(fp.is_stable).reshape(-1)
        reached = basins(fmap, fp.select(stable_idx), probes, probe_cond, n_steps=basin_steps)
    else:  # any other network: the optimisation finder from the same orbits
        fp = search_fixed_points(
            fmap, torch.cat(seeds), torch.cat(seed_rows), n_steps=pattern_steps
        )
        stable_idx = torch.nonzero(fp.is_stable).reshape(-1)
        step = fmap.select(probe_cond).step  # row s of the probes under its own condition
        reached = basins(step, fp.select(stable_idx), probes, probe_cond, n_steps=basin_steps)
    point = torch.full_like(reached, -1)  # index into all points (fp), −1: no stable point
    hit = reached >= 0
    point[hit] = stable_idx[reached[hit]]

    points = _points_table(model, fp, phases, ctx_list)
    trials = _trials_table(
        batch, trial_idx, point, points, phases, ctx_list, ctx_pos, network_choice
    )
    share = trials[trials["basin"] >= 0].groupby("basin").size()
    n_trials = trials.groupby(["phase", "context"], observed=True).size()
    denom = [
        n_trials.get((p, c), 0) for p, c in zip(points["phase"], points["context"], strict=True)
    ]
    points["basin_share"] = [float(share.get(i, 0)) / d if d else 0.0 for i, d in enumerate(denom)]
    return PhasePoints(points=points, trials=trials, fixed_points=fp)


def _readout(model: Any, states: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(arg-max of the readout logits, arg-max over the choice logits 1..n) at ``states``."""
    param = next(model.readout.parameters())
    with torch.no_grad():
        logits = model.readout(states.to(dtype=param.dtype, device=param.device)).cpu()
    if len(states) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    return logits.argmax(-1).numpy(), (logits[:, 1:].argmax(-1) + 1).numpy()


def _points_table(
    model: Any, fp: FixedPoints, phases: Sequence[str], ctx_list: list[int]
) -> pd.DataFrame:
    frame = fp.to_frame()
    row = frame.pop("condition").to_numpy()
    n_ctx = len(ctx_list)
    frame.insert(
        0,
        "phase",
        pd.Categorical([phases[r // n_ctx] for r in row], categories=list(STIMULUS_OFF_PHASES)),
    )
    frame.insert(1, "context", np.array([ctx_list[r % n_ctx] for r in row], dtype=np.int64))
    readout, held = _readout(model, fp.states)
    frame["readout"] = readout
    frame["held_choice"] = held
    frame["choice"] = np.where(frame["phase"].to_numpy() == "decision", readout, held)
    return frame


def _trials_table(
    batch: TrialBatch,
    trial_idx: Tensor,
    point: Tensor,
    points: pd.DataFrame,
    phases: Sequence[str],
    ctx_list: list[int],
    ctx_pos: Tensor,
    network_choice: Tensor | None,
) -> pd.DataFrame:
    n = len(trial_idx)
    frame = pd.DataFrame(
        {
            "trial": np.tile(trial_idx.numpy(), len(phases)),
            "phase": pd.Categorical(
                np.repeat(list(phases), n), categories=list(STIMULUS_OFF_PHASES)
            ),
            "context": np.tile(np.asarray(ctx_list)[ctx_pos.numpy()], len(phases)),
            "correct_choice": np.tile(batch.info["choice"].cpu()[trial_idx].numpy(), len(phases)),
        }
    )
    if network_choice is not None:
        choice = torch.as_tensor(network_choice).cpu()[trial_idx].numpy()
        frame["network_choice"] = np.tile(choice, len(phases))
    basin = point.numpy()
    frame["basin"] = basin
    reached = basin >= 0
    choice = np.zeros(len(basin), dtype=np.int64)
    choice[reached] = points["choice"].to_numpy()[basin[reached]]
    frame["basin_choice"] = choice
    return frame


def phase_points_summary(result: PhasePoints, n_choices: int = 2) -> dict[str, Any]:
    """Per phase, JSON-ready: ``n_fixed_points``, ``n_stable``, ``stable_choices`` (per context,
    the ``choice`` of each stable point, sorted), ``stable_per_choice`` (every context has a
    stable point for each choice 1..n), ``basin_choice_agreement`` (fraction of trials whose
    state flows to a stable point standing for the network's choice, where a point reading
    "fixate" (0) agrees with no response; a trial reaching no stable point disagrees; None without
    ``network_choice``), ``basin_correct_agreement`` (the same for the correct choice) and
    ``frac_in_basin`` (trials reaching any stable point)."""
    points, trials = result.points, result.trials
    out: dict[str, Any] = {}
    for phase in trials["phase"].unique():
        pts = points[points["phase"] == phase]
        stable = pts[pts["stability"] == "stable"]
        tr = trials[trials["phase"] == phase]
        choices = {
            str(k): sorted(int(c) for c in stable.loc[stable["context"] == k, "choice"])
            for k in sorted(tr["context"].unique())
        }
        # A trial agrees when its state reaches a stable point standing for that choice.
        reached = tr["basin"].to_numpy() >= 0
        basin = np.where(reached, tr["basin_choice"].to_numpy(), -1)
        agree = None
        if "network_choice" in tr:
            agree = float((basin == tr["network_choice"].to_numpy()).mean())
        out[str(phase)] = {
            "n_fixed_points": len(pts),
            "n_stable": len(stable),
            "stable_choices": choices,
            "stable_per_choice": all(
                set(range(1, n_choices + 1)) <= set(c) for c in choices.values()
            ),
            "basin_choice_agreement": agree,
            "basin_correct_agreement": float((basin == tr["correct_choice"].to_numpy()).mean()),
            "frac_in_basin": float(reached.mean()),
        }
    return out
