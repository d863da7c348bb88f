"""The attractor census: which attractor the frozen-input map reaches at every stimulus condition.

For a network and a task, every context k and every pair of stimuli (one per modality) of a
grid defines a frozen-input map (:class:`~cogdyn.dynamics.maps.
FrozenInputMap`). The census classifies the attractor of each map reached from S = 1 + M starts
with :func:`~cogdyn.dynamics.classify.classify_map`, in ONE batched call over contexts × grid ×
starts, in float64, with the analytic tangent for a ReLU network (no Jacobian is ever formed);
any other network (:func:`~cogdyn.dynamics.step_map.frozen_input_map`) gets autograd tangents.

Starts (row ``start`` of the table):

* ``start = 0`` is the network's real, noise-free state at the onset of the phase: for the
  stimulus phase the state at stimulus onset (after the fixation period from h₀ = 0); for the
  delay phase the state after the shortest stimulus period of that condition, noise-free; for
  the decision phase that state carried on through the shortest delay. So every grid point of
  the delay and decision censuses starts where its own (noise-free) trial would be.
* ``start = 1 … M`` are hidden states of real noisy trials of the same context (any time step,
  any period), drawn from a seeded generator: states the network actually visits, so a
  different attractor reached from them is multistability the network could meet. They are
  drawn per grid point, so different grid points get different extra starts.

The grid of stimuli. With two choices a modality's stimulus is a signed coherence: ``grid``
values evenly spaced over [−c_max, c_max] (0 included). With n ≥ 3 choices it is a direction
on the ring and a strength: the strengths are the non-negative half of that grid (0, …, c_max,
(grid + 1)/2 values) and every direction 1..n is taken at every positive strength, plus the
strength-0 stimulus once (it is the same in every direction): 1 + n·(grid − 1)/2 stimuli per
modality (:func:`~cogdyn.analysis.conditions.ring_conditions`). For n = 2 that is exactly the
signed grid, so the two designs agree. The census covers every pair of modality-1 and
modality-2 stimuli per context — for context 0, (relevant direction, strength) × (irrelevant
direction, strength); ``choice_mod*`` / ``choice_relevant`` columns hold the directions and
``coh_*`` the (unsigned) strengths. A grid of 21 gives 441 conditions per context for two
choices and 961 for three.

Summary numbers (:func:`census_summary`) come from the onset start only: F_QP = quasi-periodic
grid points / grid points, also over bounded (not divergent) points, per context and by
|relevant coherence|; the extra starts give the multistability fraction.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from cogdyn.analysis.conditions import (
    condition_inputs,
    grid_coherences,
    ring_conditions,
    shortest_steps,
    stimulus_onset_states,
)
from cogdyn.devices import synchronize
from cogdyn.dynamics.classify import (
    FIXED_POINT,
    LABELS,
    PERIODIC,
    ClassifyOptions,
    MapClassification,
    classify_map,
)
from cogdyn.dynamics.maps import FrozenInputMap
from cogdyn.dynamics.step_map import StepMap, frozen_input_map
from cogdyn.errors import check_int, finite, is_int, require
from cogdyn.memory import FLOAT64, require_memory
from cogdyn.tasks.base import DECISION, DELAY, STIMULUS
from cogdyn.tasks.ctxdm import CtxDM

PHASES: dict[str, int] = {"stimulus": STIMULUS, "delay": DELAY, "decision": DECISION}
"""Trial phases whose input a census may freeze, and their period ids."""

CENSUS_COLUMNS: tuple[str, ...] = (
    "phase",
    "context",
    "coh_mod1",
    "coh_mod2",
    "coh_relevant",
    "coh_irrelevant",
    "start",
    "label",
    "lyap1",
    "lyap2",
    "period",
    "torus_dim",
    "frequency",
    "amplitude",
    "final_norm",
    "agrees_with_onset",
)
"""Columns of a census table (with the default two exponents)."""


@dataclass(frozen=True)
class CensusOptions:
    """What a census covers and how it classifies; validated on creation (:class:`ConfigError`)."""

    grid: int = 21
    """Coherences per modality, evenly spaced over [−max_coherence, max_coherence]. Odd, so that
    0 % (the ambiguous stimulus, where evidence integration matters most) is on the grid. With
    more than two choices: (grid + 1)/2 strengths in every direction (module docstring)."""
    max_coherence: float = 50.0
    """Largest |coherence| in %: the task's strongest stimulus."""
    phase: str = "stimulus"
    """Whose input is frozen: ``stimulus`` (the grid's coherences), ``delay`` or ``decision``
    (stimulus channels 0; the grid then only changes the start, see the module docstring)."""
    extra_starts: int = 2
    """M states of real trials per grid point besides the onset state (multistability). Each
    costs as much as the onset start; 2 keeps the default census under a minute at N = 250."""
    start_trials: int = 64
    """Real noisy trials whose hidden states the extra starts are drawn from."""
    contexts: tuple[int, ...] = (0, 1)
    """Contexts covered."""
    seed: int = 0
    """Seeds the trials and the draw of extra starts (classification has its own seed)."""
    agree_tol: float = 1e-3
    """Two fixed points are the same when ‖a − b‖ ≤ agree_tol · (1 + ‖b‖): loose enough for a
    slowly converging orbit (λ₁ ≈ −2e-3 leaves ~e⁻⁸ of its distance after 4000 steps), tight
    next to the O(1) distance between distinct fixed points of the networks studied."""
    classify: ClassifyOptions = field(default_factory=ClassifyOptions)
    """Lengths and tolerances of :func:`~cogdyn.dynamics.classify.classify_map`."""

    def __post_init__(self) -> None:
        g, c, phase = self.grid, self.max_coherence, self.phase
        require(
            is_int(g) and g >= 3 and g % 2 == 1,
            "census.grid",
            f"must be an odd integer ≥ 3, got {g!r}",
        )
        require(
            finite(c) and 0 < c <= 100, "census.max_coherence", f"must be in (0, 100], got {c!r}"
        )
        require(
            phase in PHASES, "census.phase", f"must be one of {', '.join(PHASES)}, got {phase!r}"
        )
        for name, low in (("extra_starts", 0), ("start_trials", 1), ("seed", 0)):
            v = getattr(self, name)
            check_int(f"census.{name}", v, low)
        ctx = tuple(self.contexts)
        require(
            bool(ctx) and len(set(ctx)) == len(ctx) and all(k in (0, 1) for k in ctx),
            "census.contexts",
            f"must be distinct values of 0, 1, got {ctx!r}",
        )
        object.__setattr__(self, "contexts", ctx)
        tol = self.agree_tol
        require(finite(tol) and tol > 0, "census.agree_tol", f"must be > 0, got {tol!r}")
        require(
            isinstance(self.classify, ClassifyOptions),
            "census.classify",
            "must be a ClassifyOptions",
        )

    @property
    def coherences(self) -> Tensor:
        """The signed coherences of one modality's grid, (grid,) float64."""
        return torch.linspace(
            -self.max_coherence, self.max_coherence, self.grid, dtype=torch.float64
        )

    def stimuli(self, n_choices: int) -> Tensor:
        """One modality's stimuli for a task of ``n_choices``: signed coherences (grid,) for two,
        (1 + n·(grid − 1)/2, 2) (direction, strength) pairs for more (module docstring)."""
        if n_choices == 2:
            return self.coherences
        return ring_conditions(n_choices, self.coherences[self.grid // 2 :])

    @property
    def n_starts(self) -> int:
        """Starts per grid point, the onset state included."""
        return 1 + self.extra_starts

    def to_json(self) -> dict[str, Any]:
        """The options as plain JSON values."""
        out = dataclasses.asdict(self)
        out["contexts"] = list(self.contexts)
        return out


# ---------------------------------------------------------------------- starts
def phase_onset_states(
    model: Any, task: CtxDM, grid: pd.DataFrame, phase: str, dtype: torch.dtype = torch.float64
) -> Tensor:
    """The noise-free state at the onset of ``phase`` for each condition of ``grid``, (C, N).

    ``grid`` is the condition table of :func:`~cogdyn.analysis.conditions.condition_inputs`
    (columns ``context``, ``coh_mod1``, ``coh_mod2``, and ``choice_mod*`` for more than two
    choices). See the module docstring.
    """
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {', '.join(PHASES)}, got {phase!r}")
    contexts = sorted(set(grid["context"].tolist()))
    onset = stimulus_onset_states(model, task, contexts, dtype)
    index = torch.as_tensor(np.searchsorted(contexts, grid["context"].to_numpy()))
    h = onset[index]
    for period, name in ((STIMULUS, "stimulus"), (DELAY, "delay")):
        if PHASES[phase] <= period:
            break
        inputs = task.frozen_input(
            torch.tensor(grid["context"].to_numpy()),
            grid_coherences(grid, 1),
            grid_coherences(grid, 2),
            period,
        )
        h = frozen_input_map(model, inputs, dtype).iterate(h, shortest_steps(task, name))
    return h


def sampled_trial_states(
    model: Any,
    task: CtxDM,
    contexts: Tensor,
    n: int,
    *,
    n_trials: int = 64,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> Tensor:
    """``n`` hidden states of real noisy trials per entry of ``contexts`` (C,), (C, n, N).

    ``n_trials`` trials are drawn from a generator seeded with ``seed`` and run through the
    model; entry c gets states drawn uniformly (with replacement) from the valid steps of the
    trials of context ``contexts[c]`` (all trials if none has that context).
    """
    gen = torch.Generator().manual_seed(seed)
    batch = task.sample(n_trials, gen)
    param = next(model.parameters())
    with torch.no_grad():
        states = model.run(batch.inputs.to(dtype=param.dtype, device=param.device))
    states = states.to(dtype=dtype, device="cpu")
    valid = batch.valid
    out = torch.empty(len(contexts), n, states.shape[-1], dtype=dtype)
    for k in torch.unique(contexts).tolist():
        pool = valid & (batch.info["context"] == k).unsqueeze(0)
        if not bool(pool.any()):
            pool = valid
        t_idx, b_idx = torch.nonzero(pool, as_tuple=True)
        rows = torch.nonzero(contexts == k).reshape(-1)
        pick = torch.randint(len(t_idx), (len(rows), n), generator=gen)
        out[rows] = states[t_idx[pick], b_idx[pick]]
    return out


# ---------------------------------------------------------------------- census
def census_map(
    model: Any, task: CtxDM, options: CensusOptions | None = None, **overrides: Any
) -> tuple[FrozenInputMap | StepMap, Tensor, pd.DataFrame]:
    """The batched problem a census solves: (map, starts x0, grid table).

    The map has one row per grid point × start (row c·S + r: condition c of the grid table,
    start r), float64; ``x0`` (C·S, N) holds the starts (see the module docstring). Arguments
    as for :func:`attractor_census`.
    """
    opts = dataclasses.replace(options or CensusOptions(), **overrides)
    check_census_memory(_hidden_size(model), opts, task.config.dim_ring)
    coh = opts.stimuli(task.config.dim_ring)
    inputs, grid = condition_inputs(task, list(opts.contexts), coh, coh, PHASES[opts.phase])
    n_cond, s = len(grid), opts.n_starts
    starts = [phase_onset_states(model, task, grid, opts.phase).unsqueeze(1)]
    if opts.extra_starts:
        ctx = torch.tensor(grid["context"].to_numpy())
        starts.append(
            sampled_trial_states(
                model, task, ctx, opts.extra_starts, n_trials=opts.start_trials, seed=opts.seed
            ).to(starts[0].device)
        )
    x0 = torch.cat(starts, dim=1).reshape(n_cond * s, -1)
    fmap = frozen_input_map(model, inputs).tile(s)
    return fmap, x0.to(fmap.dtype), grid


@dataclass(frozen=True)
class CensusCost:
    """What one census costs at most: every orbit iterated for the whole window."""

    orbits: int
    steps: int
    """Map steps per orbit: transient + measure."""
    seconds_per_step: float
    """Measured seconds of one step of the whole batch (map, tangent frame, QR, recorder)."""

    @property
    def seconds_max(self) -> float:
        """The brute-force time: every orbit for every step. Early retirement (the default)
        takes less; how much depends on how many orbits settle early (most, in trained
        networks whose grid points are mostly fixed points)."""
        return self.seconds_per_step * self.steps

    def describe(self) -> str:
        """One line for a progress message."""
        return (
            f"{self.orbits} orbits × {self.steps} steps, ≤ {_duration(self.seconds_max)} "
            f"({1000 * self.seconds_per_step:.1f} ms per batch step; early retirement "
            "usually takes much less)"
        )


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


CALIBRATION_STEPS = 24
"""Steps of the whole census batch timed by :func:`census_cost` (8 transient + 16 measured)."""


def census_cost(
    model: Any,
    task: CtxDM,
    options: CensusOptions | None = None,
    device: torch.device | str | None = None,
) -> CensusCost:
    """The cost of :func:`attractor_census` of ``model`` (on ``device``, as there), calibrated
    by classifying the same batch for :data:`CALIBRATION_STEPS` steps with every orbit kept
    (about 1 % of a default census). The cost per step does not depend on the weights, so one
    network's calibration prices every checkpoint of the same size."""
    opts = options or CensusOptions()
    fmap, x0, _ = census_map(model, task, opts)
    fmap, x0, where = _on_device(fmap, x0, device)
    tangent = fmap.tangent_from_next if isinstance(fmap, FrozenInputMap) else None
    short = dataclasses.replace(
        opts.classify,
        transient=8,
        measure=16,
        max_period=8,
        long_period=0,
        retire=False,
        screen=False,
    )
    start = time.perf_counter()
    classify_map(fmap.step, x0, tangent=tangent, options=short)
    synchronize(where)
    per_step = (time.perf_counter() - start) / CALIBRATION_STEPS
    c = opts.classify
    return CensusCost(len(x0), c.transient + c.measure, per_step)


def census_rows(options: CensusOptions, n_choices: int = 2) -> int:
    """Orbits of one census: contexts × stimuli² × starts."""
    return len(options.contexts) * len(options.stimuli(n_choices)) ** 2 * options.n_starts


def census_bytes(n_hidden: int, options: CensusOptions, n_choices: int = 2) -> int:
    """A lower bound of the memory of one census's batched classification: per orbit (context ×
    c₁ × c₂ × start) about a dozen float64 states of the orbit's statistics, a tangent frame per
    exponent (with its QR work) and the measured series and recurrences."""
    c = options.classify
    rows = census_rows(options, n_choices)
    k = min(c.n_exponents, n_hidden)
    per_row = (12 + 3 * k) * n_hidden + c.max_period + 2 * c.measure
    return FLOAT64 * rows * per_row


def check_census_memory(n_hidden: int, options: CensusOptions, n_choices: int = 2) -> None:
    """Refuse a census whose batch exceeds the machine's memory (ConfigError naming
    ``census.grid``) before allocating it."""
    rows = census_rows(options, n_choices)
    points = len(options.stimuli(n_choices))
    require_memory(
        census_bytes(n_hidden, options, n_choices),
        "census.grid",
        f"a census of {rows} orbits ({points}² grid points × {len(options.contexts)} "
        f"contexts × {options.n_starts} starts) of a network of {n_hidden} units",
        "lower the grid (--grid) or the extra starts (--starts)",
    )


def _hidden_size(model: Any) -> int:
    hidden = getattr(model, "hidden", None)
    if isinstance(hidden, int):
        return hidden
    return int(next(model.parameters()).shape[0])


def attractor_census(
    model: Any,
    task: CtxDM,
    options: CensusOptions | None = None,
    *,
    device: torch.device | str | None = None,
    **overrides: Any,
) -> pd.DataFrame:
    """Classify the attractor of every context × c₁ × c₂ × start; one row each.

    Args:
        model: a ReLU :class:`~cogdyn.models.VanillaRNN`, or any network with ``step(h, x)``
            and ``run`` (:class:`~cogdyn.models.RecurrentNet`: GRU, LSTM, tanh RNN), whose map
            is a :class:`~cogdyn.dynamics.step_map.StepMap` classified with autograd tangents.
        task: the :class:`CtxDM` it was trained on, any number of choices (module docstring).
        options: a :class:`CensusOptions`; keyword ``overrides`` replace its fields.
        device: where the orbits are iterated (default: where the model is). The problem
            (grid inputs, onset states) is built beside the model, the map and its starts are
            moved to ``device`` for the classification, and the table comes back on the CPU.
            A ReLU RNN's census only, for another device than the model's.

    Returns:
        A table with the columns of :data:`CENSUS_COLUMNS` (``lyap1 … lyapk`` for k
        exponents), ordered context-major, then c₁, c₂, start. ``label`` is categorical over
        :data:`~cogdyn.dynamics.classify.LABELS`; ``coh_relevant`` is the coherence of the
        context's modality. Divergent orbits keep classify_map's +inf for their exponents and
        amplitude (Parquet stores ±inf as they are); no value is NaN. ``agrees_with_onset``:
        same label as start 0 of the grid point, and for fixed points the same point (within
        ``agree_tol``), for periodic orbits the same period.
    """
    opts = dataclasses.replace(options or CensusOptions(), **overrides)
    fmap, x0, grid = census_map(model, task, opts)
    fmap, x0, _ = _on_device(fmap, x0, device)
    # One batched classification of every grid point × start: the analytic tangent of a ReLU
    # map, autograd (torch.func) through the step of any other network.
    tangent = fmap.tangent_from_next if isinstance(fmap, FrozenInputMap) else None
    result = classify_map(fmap.step, x0, tangent=tangent, options=opts.classify)
    return _table(grid, result, opts)


def _on_device(
    fmap: FrozenInputMap | StepMap, x0: Tensor, device: torch.device | str | None
) -> tuple[FrozenInputMap | StepMap, Tensor, torch.device]:
    """The census problem moved to ``device`` (None: left where it is), and that device."""
    where = torch.device(device) if device is not None else x0.device
    if where == x0.device:
        return fmap, x0, where
    if not isinstance(fmap, FrozenInputMap):
        raise ValueError(
            f"the census of a {type(fmap).__name__} runs where its network is ({x0.device}); "
            "only a ReLU RNN's map moves to another device"
        )
    return fmap.to(where), x0.to(where), where


def _table(grid: pd.DataFrame, result: MapClassification, opts: CensusOptions) -> pd.DataFrame:
    s = opts.n_starts
    rep = np.repeat(np.arange(len(grid)), s)
    ctx = grid["context"].to_numpy()[rep]
    c1, c2 = grid["coh_mod1"].to_numpy()[rep], grid["coh_mod2"].to_numpy()[rep]
    table = pd.DataFrame(
        {
            "phase": pd.Categorical([opts.phase] * len(rep), categories=list(PHASES)),
            "context": ctx.astype(np.int64),
            "coh_mod1": c1,
            "coh_mod2": c2,
            "coh_relevant": np.where(ctx == 0, c1, c2),
            "coh_irrelevant": np.where(ctx == 0, c2, c1),
            **_directions(grid, rep, ctx),
            "start": np.tile(np.arange(s), len(grid)),
            "label": pd.Categorical(result.labels, categories=list(LABELS)),
        }
    )
    lyap = result.lyapunov.cpu().numpy()
    for j in range(lyap.shape[1]):
        table[f"lyap{j + 1}"] = lyap[:, j]
    table["period"] = result.period.cpu().numpy()
    table["torus_dim"] = result.torus_dim.cpu().numpy()
    table["frequency"] = result.frequency.cpu().numpy()
    table["amplitude"] = result.amplitude.cpu().numpy()
    table["final_norm"] = result.final.norm(dim=-1).cpu().numpy()
    table["agrees_with_onset"] = _agreement(result, s, opts.agree_tol).numpy()
    return table


def _directions(grid: pd.DataFrame, rep: np.ndarray, ctx: np.ndarray) -> dict[str, np.ndarray]:
    """The stimulus directions of a ring grid (empty for signed coherences)."""
    if "choice_mod1" not in grid:
        return {}
    d1 = grid["choice_mod1"].to_numpy()[rep].astype(np.int64)
    d2 = grid["choice_mod2"].to_numpy()[rep].astype(np.int64)
    return {
        "choice_mod1": d1,
        "choice_mod2": d2,
        "choice_relevant": np.where(ctx == 0, d1, d2),
        "choice_irrelevant": np.where(ctx == 0, d2, d1),
    }


def _agreement(result: MapClassification, s: int, tol: float) -> Tensor:
    """(B,) bool: the orbit reached the same attractor as start 0 of its grid point."""
    codes = result.codes.view(-1, s)
    period = result.period.cpu().view(-1, s)
    final = result.final.cpu().view(codes.shape[0], s, -1)
    ref = final[:, :1]
    close = (final - ref).norm(dim=-1) <= tol * (1 + ref.norm(dim=-1))
    same = codes == codes[:, :1]
    same &= (codes != FIXED_POINT) | close
    same &= (codes != PERIODIC) | (period == period[:, :1])
    return same.reshape(-1)


# ---------------------------------------------------------------------- summary
def census_summary(table: pd.DataFrame) -> dict[str, Any]:
    """Headline numbers of one census table (of :func:`attractor_census`); JSON-ready.

    Grid points are the rows with ``start == 0`` (one per context × c₁ × c₂):

    * ``frac_qp``: quasi-periodic grid points / grid points; ``frac_qp_by_context`` the same
      per context (keys "0", "1");
    * ``frac_qp_bounded``: quasi-periodic / grid points that are not divergent (None when every
      point diverges); ``frac_divergent``;
    * ``frac_qp_by_abs_coherence``: F_QP among grid points of each |relevant coherence| (keys
      like "0", "5", …, "50");
    * ``frac_osc``: periodic + quasi-periodic grid points / grid points (one family of
      oscillations, split only by whether the rotation number is rational), and
      ``frac_osc_bounded`` over bounded points;
    * ``frac_qp_torus``: of the quasi-periodic grid points, those on a torus (λ₁ ≈ λ₂ ≈ 0)
      rather than an invariant circle (λ₂ < −zero_tol); None without quasi-periodic points or
      for a table written before the column existed;
    * ``label_counts`` (grid points) and ``label_counts_all_starts`` (every row), every label;
    * ``frac_multistable``: grid points where some extra start reached another attractor (None
      without extra starts).
    """
    onset = table[table["start"] == 0]
    n = len(onset)
    if n == 0:
        raise ValueError("table has no rows with start == 0")
    qp = (onset["label"] == "quasi_periodic").to_numpy()
    osc = onset["label"].isin(["quasi_periodic", "periodic"]).to_numpy()
    bounded = (onset["label"] != "divergent").to_numpy()
    ctx = onset["context"].to_numpy()
    abs_rel = np.round(np.abs(onset["coh_relevant"].to_numpy()), 6)
    extra = table[table["start"] > 0]
    if len(extra):
        disagree = ~extra["agrees_with_onset"].to_numpy()
        point_cols = [
            c
            for c in ("context", "coh_mod1", "coh_mod2", "choice_mod1", "choice_mod2")
            if c in extra
        ]
        keys = extra[point_cols].to_numpy()
        _, point = np.unique(keys, axis=0, return_inverse=True)
        multi: float | None = float(
            np.bincount(point.reshape(-1), weights=disagree).astype(bool).mean()
        )
    else:
        multi = None
    return {
        "n_grid_points": n,
        "frac_qp": float(qp.mean()),
        "frac_qp_by_context": {str(k): float(qp[ctx == k].mean()) for k in np.unique(ctx)},
        "frac_qp_bounded": float(qp[bounded].mean()) if bounded.any() else None,
        "frac_divergent": float(1 - bounded.mean()),
        "frac_qp_torus": (
            float((onset["torus_dim"].to_numpy()[qp] >= 2).mean())
            if qp.any() and "torus_dim" in onset
            else None
        ),
        "frac_osc": float(osc.mean()),
        "frac_osc_bounded": float(osc[bounded].mean()) if bounded.any() else None,
        "frac_qp_by_abs_coherence": {
            f"{c:g}": float(qp[abs_rel == c].mean()) for c in np.unique(abs_rel)
        },
        "label_counts": _counts(onset["label"]),
        "label_counts_all_starts": _counts(table["label"]),
        "frac_multistable": multi,
    }


def _counts(labels: pd.Series) -> dict[str, int]:
    counts = labels.astype(str).value_counts()
    return {name: int(counts.get(name, 0)) for name in LABELS}
