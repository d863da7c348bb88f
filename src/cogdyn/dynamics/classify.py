"""Attractor classification for any autonomous discrete-time map, batched over initial states.

``classify_map(step, x0)`` iterates every orbit past a transient, then measures over a window:

* the k leading Lyapunov exponents (QR / Benettin, :mod:`cogdyn.dynamics.lyapunov`);
* recurrence, drift, escape and a projected series (:mod:`cogdyn.dynamics.orbit`);
* the dominant frequency of that series (:mod:`cogdyn.dynamics.spectrum`);

and labels each orbit by textbook criteria for maps (λ₁ is the largest exponent; "≈ 0" means
|λ₁| ≤ ``zero_tol``; "returns at lag p" means max ‖x_{t+p} − x_t‖ over the recurrence window is
within the recurrence tolerance, see :class:`ClassifyOptions`):

==================  =============================================================================
``divergent``       the state became non-finite or its norm exceeded ``bound``; or, not periodic,
                    λ₁ ≥ −zero_tol and escaping: every state of the window's last quarter lies
                    beyond 1.5 × the first half's RMS radius from its centroid and has a norm
                    above e^{drift_tol} × the first half's largest (growth too slow to hit the
                    bound within the window)
``fixed_point``     returns at lag 1 and λ₁ ≤ zero_tol
``periodic``        smallest returning lag p is in 2 … max_period and λ₁ ≤ zero_tol; or, with no
                    return up to max_period, a long cycle: the smallest lag p in max_period+1 …
                    long_period at which the orbit's projected series returns over a whole
                    period, confirmed on the full state p steps past the window's end (below)
``quasi_periodic``  no return up to long_period, λ₁ ≈ 0, and settled (|drift| ≤ drift_tol); an
                    invariant circle when λ₂ < −zero_tol, a torus when λ₂ ≈ 0 too
                    (:attr:`MapClassification.torus_dim`)
``chaotic``         no return up to max_period and λ₁ > zero_tol
``unresolved``      the evidence disagrees: returns but λ₁ > zero_tol (an unstable orbit hit
                    exactly); no return but λ₁ < −zero_tol (contracting, transient not over:
                    lengthen ``transient``); λ₁ ≈ 0 but still converging or growing (not settled)
==================  =============================================================================

**Long cycles.** Cycles of periods 70–2500 phase-locked on an invariant circle are common in
ReLU networks; with λ₁ ≈ −3e-3 they would otherwise read as quasi-periodic (|λ₁| ≤ zero_tol) or
unresolved (contracting, no return). After the window, every orbit with no return up to
``max_period``, λ₁ ≤ zero_tol and bounded is screened on its projected series (the spectrum's
random unit projections, so a projected gap never exceeds the state's): the smallest lag p ≤
``long_period`` (at most measure/2) whose projected gap stays within the lag-p recurrence
tolerance over the whole last period. The candidate is then iterated p more steps from its
final state and labelled periodic with period p only if it returns there within the same
tolerance on the full state. A long cycle still approached more slowly than the tolerance
(relative 1e-6 in float64) is not detectable this way and keeps its label: lengthen
``transient``. Its exponents are the window's.

**Early retirement** (``retire=True``, the default; :mod:`cogdyn.dynamics.settle`): an orbit
that has settled on a fixed point or a cycle of period ≤ ``max_period`` leaves the batch as
soon as the rules above are known to give it that label (its exact exponent at the attractor
is < −zero_tol and its return is established before the recurrence window opens), and a
divergent orbit leaves as soon as it crosses the bound; every other orbit is iterated exactly
as with ``retire=False``. The labels are the same; a retired orbit's exponents are the exact
ones of the attractor (log|eigenvalues| of J at the fixed point, of the monodromy matrix
over one period, divided by p, for a cycle) instead of a window average, its ``final`` state
is the point (Newton-polished) or the cycle's state at the window's end, and its frequency and
amplitude those the window would measure on the cycle (0 for a fixed point).

**Screening** (``screen=True``, float64 starts, a map that can be cast to float32): float32
matrix products run about 3× faster than float64 ones on a CPU, but float32 round-off is what
λ ≈ 0 and a recurrence tolerance of 1e-6 are judged against. So every orbit is first
classified in float32, with the recurrence tolerance raised to float32's default (1000·eps ≈
1.2e-4, ~10× the rounding accumulated on a cycle), and its float32 result stands only where
the float32 evidence settles the label with a margin (:data:`SCREEN_MARGIN` = 2 on every
threshold):

* divergent: crossed the bound (1e6, no float32 rounding is near it);
* fixed point or cycle retired early: its exact exponent at the attractor contracts the
  screen's tolerance to a tenth of float64's before the retirement deadline, so the float64
  orbit settles on it within the window too;
* quasi-periodic: |λ₁| ≤ zero_tol/2, |λ₂| ≤ zero_tol/2 or ≥ 2·zero_tol (the torus dimension),
  every recurrence gap ≥ 2× the float32 tolerance (so ≫ float64's), |drift| ≤ drift_tol/2,
  not growing;
* chaotic: λ₁ ≥ 2·zero_tol, every gap ≥ 2× the tolerance, not growing.

Every other orbit — cycles and fixed points found only at the window's end, long cycles,
escape-divergent, unresolved, and any near a threshold — is classified again in float64 from
its start, with the initial frame it has in the full batch, i.e. exactly as without
screening. ``MapClassification.screened`` says which rows kept their float32 result; their
exponents, frequencies and final states are float32's, cast to float64 (a fixed point to
~1e-7 relative, a quasi-periodic orbit's exponents to its finite-window error).

Conventions that keep NaN out of every field: a ``divergent`` orbit that crossed the bound
reports λ = +inf (all k) and amplitude = +inf (it grows without bound), period 0, frequency 0,
and as ``final`` its last state inside the bound; an orbit labelled ``divergent`` by the escape
test keeps its measured (finite) exponents and amplitude. A tangent direction annihilated by
the Jacobian (e.g. every ReLU unit off) gives λ = −inf, which is exact; a Jacobian that is not
finite along a bounded orbit gives λ = +inf and the label ``unresolved``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from cogdyn.dynamics.lyapunov import (
    ALIGN_STEPS,
    Benettin,
    JacobianFn,
    StepFn,
    TangentFn,
    as_tangent,
    make_propagator,
)
from cogdyn.dynamics.orbit import OrbitRecorder, OrbitSummary
from cogdyn.dynamics.settle import CHECK_EVERY, RowMaps, Settler, Window
from cogdyn.dynamics.spectrum import dominant_frequency

LABELS: tuple[str, ...] = (
    "fixed_point",
    "periodic",
    "quasi_periodic",
    "chaotic",
    "divergent",
    "unresolved",
)
"""All labels, in a fixed order; ``MapClassification.codes`` indexes into it."""

FIXED_POINT, PERIODIC, QUASI_PERIODIC, CHAOTIC, DIVERGENT, UNRESOLVED = range(len(LABELS))

# Random 1-D projections summed in the spectrum (see spectrum.dominant_frequency).
N_PROJECTIONS = 2
# Escape ratio (see orbit.OrbitSummary.escape) above which a growing orbit counts as divergent:
# ≲ 1 on any attractor, ≈ 3.5 for a linear drift.
ESCAPE_FACTOR = 1.5


TANGENT_PRECISIONS = ("auto", "states")
"""Allowed ``ClassifyOptions.tangent_precision`` values."""


@dataclass(frozen=True)
class ClassifyOptions:
    """Lengths and tolerances of :func:`classify_map`; every field is validated on creation.

    The defaults are meant to work untuned on textbook maps and on N = 250 ReLU networks in
    float64; each field says why it has its value.
    """

    transient: int = 2000
    """Iterations discarded before measuring. Attracting sets of the nets studied are reached
    within a few hundred steps; 2000 leaves margin for slow (|λ| ~ 1e-2) contraction."""
    measure: int = 2000
    """Iterations measured. Finite-time Lyapunov error on an invariant circle is ~log(stretch
    range)/measure ≲ 1e-3, well inside ``zero_tol``; chaotic λ is resolved to ~0.02."""
    n_exponents: int = 2
    """Leading exponents computed (clipped to D). Two tell a circle (λ₁ ≈ 0 > λ₂) from a torus
    (λ₁ ≈ λ₂ ≈ 0); each extra one costs one more tangent vector per step."""
    max_period: int = 128
    """Longest period detected. Longer cycles are reported as quasi-periodic (λ₁ ≈ 0) or
    unresolved. Phase-locked cycles of periods 70–2500 on invariant circles are common in
    random ReLU nets (λ₁ ≈ −3e-3); 128 catches the shorter ones while a quasi-periodic orbit
    rarely returns within rtol (its best return within P lags is ~2π/P² of its size)."""
    long_period: int | None = None
    """Longest cycle searched after the window (see "Long cycles" in the module docstring);
    default measure/2, the longest whose whole period the window holds twice. 0 turns the
    search off; otherwise it must lie in [max_period, measure/2]."""
    recurrence_window: int | None = None
    """States at the end of the window searched for returns; default min(8·max_period,
    measure). Must lie in [max_period, measure]."""
    qr_every: int = 1
    """Re-orthonormalise the tangent frame every this many steps. 1 is safe for any spread of
    exponents in float32; the cost of the k = 2 Gram–Schmidt is small next to the map."""
    rtol: float | None = None
    """Relative recurrence tolerance; default max(1e-6, 1000·eps): 1e-6 in float64, ≈1.2e-4 in
    float32 (rounding in a periodic orbit accumulates to ~100·eps). A lag-p return (p ≥ 2)
    counts when its gap ≤ rtol·amplitude + atol; a lag-1 return (fixed point) when its gap ≤
    rtol·(‖centroid‖ + amplitude) + atol, since a converged fixed point has no amplitude."""
    atol: float = 1e-10
    """Absolute recurrence tolerance, for orbits converging to the origin (states are assumed
    O(1), as for the RNNs; rescale for other units)."""
    zero_tol: float = 2e-3
    """|λ₁| ≤ zero_tol counts as λ₁ ≈ 0; above it the orbit is chaotic. Quasi-periodic orbits
    of the prototype's ReLU nets had |λ₁| < 1.5e-3; in random N = 250 nets most have |λ₁| ~
    1e-5–2e-4 over 2000 steps, while weak chaos (λ₁ ≈ +3e-3) and long cycles (λ₁ ≈ −3e-3)
    keep their sign as the window grows. Keep it ≳ 4/measure (finite-window error)."""
    drift_tol: float = 0.1
    """A non-returning orbit with λ₁ ≈ 0 is settled when its mean step length changed by at
    most a factor e^{±drift_tol} between the window's first and last quarter. A slowly growing
    orbit must also gain this much in (log) norm to count as divergent."""
    bound: float = 1e6
    """An orbit whose norm exceeds this (or turns non-finite) is divergent."""
    seed: int = 0
    """Seeds the torch.Generator for the initial tangent frames and spectral projections."""
    retire: bool = True
    """Let orbits that settled on a fixed point or a cycle leave the batch early, with exact
    exponents at the attractor (:mod:`cogdyn.dynamics.settle`). On by default because an orbit
    retires only when the brute-force rules would give it the same label, and most orbits of
    trained networks settle within a few hundred of the 4000 steps. False runs every orbit
    for the whole window (the reference the benchmarks and tests compare with). The batch
    shrinks only for a map that can be restricted to fewer rows (see
    :class:`~cogdyn.dynamics.settle.RowMaps`); any other map gets the same labels at the
    brute-force cost."""
    screen: bool = False
    """Screen in float32, confirm in float64 (see "Screening" in the module docstring): every
    orbit is iterated in float32 first, and only those whose label the float32 evidence does
    not settle with a factor-2 margin on every threshold are iterated again in float64,
    exactly as without screening. Needs ``retire`` and a map that can be cast (a ``step``
    bound to an object with ``select`` and ``to(dtype=...)``, e.g. the census's
    :class:`~cogdyn.dynamics.maps.FrozenInputMap`); any other map, or float32 starts, is
    classified without screening."""

    tangent_precision: str = "auto"
    """``auto``: for float64 states, hold the Lyapunov frame (the k tangent vectors) in float32
    where the map's tangent takes one (a ``tangent`` bound to an object whose
    ``float32_tangents`` is True, e.g. :class:`~cogdyn.dynamics.maps.FrozenInputMap`); else,
    and with ``states``, in the states' dtype. Why it is safe: the states, whose recurrences are
    judged at 1e-6, stay float64, and so does every activation pattern; the frame only carries
    growth rates, re-normalised every step, whose float32 round-off (~1e-7 per step, summed in
    float64) moves λ by ~1e-8, five orders below ``zero_tol`` and the window's own error
    (~1e-3). Why it pays: the frame's products are two thirds of a measured step's work, and
    float32 products are ~3× faster on a CPU. Retired orbits' exact exponents are float64."""

    def __post_init__(self) -> None:
        _check_int("transient", self.transient, 0)
        _check_int("measure", self.measure, 16)
        _check_int("n_exponents", self.n_exponents, 1)
        _check_int("max_period", self.max_period, 1)
        _check_int("qr_every", self.qr_every, 1)
        _check_int("seed", self.seed, 0)
        if 2 * self.max_period > self.measure:
            raise ValueError(
                f"max_period must be an int in [1, measure/2] = [1, {self.measure // 2}], "
                f"got {self.max_period}"
            )
        if self.long_period is not None and self.long_period != 0:
            _check_int("long_period", self.long_period, 0)
            if not self.max_period <= self.long_period <= self.measure // 2:
                raise ValueError(
                    f"long_period must be 0, None or an int in [max_period, measure/2] = "
                    f"[{self.max_period}, {self.measure // 2}], got {self.long_period}"
                )
        elif self.long_period is not None:
            _check_int("long_period", self.long_period, 0)
        if self.recurrence_window is not None:
            _check_int("recurrence_window", self.recurrence_window, self.max_period)
            if self.recurrence_window > self.measure:
                raise ValueError(
                    f"recurrence_window must be an int in [max_period, measure] = "
                    f"[{self.max_period}, {self.measure}] or None, got {self.recurrence_window}"
                )
        if self.rtol is not None:
            _check_float("rtol", self.rtol, "a float in (0, 1) or None", lambda v: 0 < v < 1)
        _check_float("atol", self.atol, "a float >= 0", lambda v: v >= 0)
        _check_float("zero_tol", self.zero_tol, "a float > 0", lambda v: v > 0)
        _check_float("drift_tol", self.drift_tol, "a float > 0", lambda v: v > 0)
        _check_float("bound", self.bound, "a float > 0 (inf allowed)", lambda v: v > 0)
        if not isinstance(self.retire, bool):
            raise ValueError(f"retire must be a bool, got {self.retire!r}")
        if not isinstance(self.screen, bool):
            raise ValueError(f"screen must be a bool, got {self.screen!r}")
        if self.tangent_precision not in TANGENT_PRECISIONS:
            raise ValueError(
                f"tangent_precision must be one of {', '.join(TANGENT_PRECISIONS)}, "
                f"got {self.tangent_precision!r}"
            )
        if self.screen and not self.retire:
            raise ValueError("screen must be False when retire is False (screening retires orbits)")

    def window(self) -> int:
        """The recurrence window, default applied."""
        if self.recurrence_window is not None:
            return self.recurrence_window
        return min(8 * self.max_period, self.measure)

    def longest_period(self) -> int:
        """The longest period searched after the window, default applied (0: none)."""
        if self.long_period is not None:
            return self.long_period
        return self.measure // 2

    def tolerance(self, dtype: torch.dtype) -> float:
        """The relative recurrence tolerance for ``dtype``, default applied."""
        if self.rtol is not None:
            return self.rtol
        return _default_rtol(dtype)


def _default_rtol(dtype: torch.dtype) -> float:
    return max(1e-6, 1000 * torch.finfo(dtype).eps)


def _check_int(name: str, value: Any, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")


def _check_float(name: str, value: Any, allowed: str, ok: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    if not ok(float(value)):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")


_OPTION_NAMES = tuple(f.name for f in dataclasses.fields(ClassifyOptions))


@dataclass(frozen=True)
class MapClassification:
    """Per-orbit labels and evidence from :func:`classify_map` (B orbits, k exponents).

    Tensors are on the device of ``x0``; floating ones have its dtype.
    """

    labels: list[str]
    """B labels, each one of :data:`LABELS`."""
    lyapunov: Tensor
    """(B, k) leading exponents, natural log per iteration, sorted descending; −inf for a
    direction the Jacobian annihilates, +inf for an orbit that crossed ``bound``."""
    period: Tensor
    """(B,) int64: 1 for fixed points, p for period-p orbits, 0 otherwise."""
    frequency: Tensor
    """(B,) dominant frequency of the orbit, cycles per iteration in [0, 0.5] (spectral peak of
    random projections of the measured window); 0 for fixed points and divergent orbits."""
    amplitude: Tensor
    """(B,) RMS distance of the measured states from their centroid; +inf past ``bound``."""
    final: Tensor
    """(B, D) last state (for an orbit that crossed ``bound``: its last state inside it)."""
    options: ClassifyOptions = field(default_factory=ClassifyOptions)
    """The options used."""
    screened: Tensor | None = None
    """(B,) bool with ``screen``: True where the float32 screening's result was kept, False
    where the orbit was confirmed in float64; None without screening."""

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def codes(self) -> Tensor:
        """(B,) int64 index of each label in :data:`LABELS`."""
        return torch.tensor([LABELS.index(s) for s in self.labels], dtype=torch.int64)

    @property
    def torus_dim(self) -> Tensor:
        """(B,) int64: for a quasi-periodic orbit, how many of its k exponents are ≈ 0
        (|λ| ≤ zero_tol): 1 for an invariant circle (λ₁ ≈ 0 > λ₂), 2 for a 2-torus (λ₁ ≈ λ₂
        ≈ 0), at most k; 0 for every other label."""
        neutral = (self.lyapunov.abs() <= self.options.zero_tol).sum(-1)
        qp = self.codes.to(neutral.device) == QUASI_PERIODIC
        return torch.where(qp, neutral.clamp_min(1), 0).to(torch.int64)

    def counts(self) -> dict[str, int]:
        """Number of orbits per label, every label present, in :data:`LABELS` order."""
        return {name: self.labels.count(name) for name in LABELS}


def classify_map(
    step: StepFn,
    x0: Tensor,
    *,
    jacobian: JacobianFn | TangentFn | None = None,
    tangent: TangentFn | None = None,
    options: ClassifyOptions | None = None,
    **overrides: Any,
) -> MapClassification:
    """Classify the attractor reached by each orbit of an autonomous map.

    Args:
        step: batched map, states (B, D) → next states (B, D), row-wise independent and pure.
            Without ``jacobian``/``tangent`` it must be differentiable by torch autograd and
            ``torch.func`` (reverse mode for D ≤ 16, ``torch.func.jvp`` above).
        x0: initial states (B, D), float32 or float64; the dtype is kept throughout (float64 is
            recommended for ReLU networks, where λ₁ of quasi-periodic orbits is ~1e-3).
        jacobian: optional analytic Jacobian ``x -> J(x)`` (B, D, D); a callable with two (or
            three) required arguments is taken as ``tangent``.
        tangent: optional ``(x, V) -> J(x) V`` for V (B, D, k), or ``(x, V, fx) -> J(x) V``
            where ``fx = step(x)`` was just computed. For a ReLU RNN h' = ReLU(W h + b)
            (no leak), J V = D(h) W V with D(h) = diag(h' > 0), and::

                def tangent(h, V, fh):  # one (B·k, N) @ (N, N) GEMM, no (B, N, N) Jacobian
                    return ((V.transpose(1, 2) @ W.T) * (fh > 0).unsqueeze(1)).transpose(1, 2)

            never forms a Jacobian nor recomputes the pre-activation. V arrives as a (B, D, k)
            view of (B, k, D) storage, which is why transposing first makes the GEMM one call.
        options: a :class:`ClassifyOptions`; keyword ``overrides`` replace its fields, e.g.
            ``classify_map(f, x0, transient=5000, zero_tol=1e-3)``.

    With early retirement the batch shrinks as orbits settle only if the map can be restricted
    to fewer rows: ``step`` a bound method of an object with ``select(index)`` (row i of the
    result is row ``index[i]``, e.g. :meth:`~cogdyn.dynamics.maps.FrozenInputMap.select`), and
    ``jacobian``/``tangent`` bound to the same object. Any other map gets the same results,
    with the retired rows' slots filled by their initial states in every call.

    Returns:
        A :class:`MapClassification`; the labelling rules are in this module's docstring.

    Raises:
        ValueError: an unknown or invalid option (the message names it and its allowed
            values), a malformed ``x0``, or a ``step``/``jacobian``/``tangent`` returning the
            wrong shape.
    """
    unknown = sorted(set(overrides) - set(_OPTION_NAMES))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown}; allowed: {', '.join(_OPTION_NAMES)}")
    opts = dataclasses.replace(options or ClassifyOptions(), **overrides)
    if not isinstance(x0, Tensor) or x0.dim() != 2 or x0.shape[0] == 0 or x0.shape[1] == 0:
        shape = tuple(x0.shape) if isinstance(x0, Tensor) else type(x0).__name__
        raise ValueError(f"x0 must be a non-empty (B, D) tensor, got {shape}")
    if x0.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"x0 must be float32 or float64, got {x0.dtype}")
    # Only a tangent (J·V) can take a frame of another dtype; a full Jacobian J(x) cannot.
    frame = _frame_dtype(opts, x0.dtype, as_tangent(jacobian, tangent))
    with torch.no_grad():
        if opts.retire:
            maps = RowMaps(step, jacobian, tangent, x0.detach())
            low = maps.cast(torch.float32) if opts.screen and x0.dtype == torch.float64 else None
            if low is not None:
                return _classify_screened(x0.detach(), maps, low, opts, frame)
            return _classify_retiring(x0.detach(), maps, opts, frame=frame).classification(opts)
        propagate = make_propagator(step, jacobian, tangent)
        return _classify(step, x0.detach(), propagate, opts, frame)


def _frame_dtype(opts: ClassifyOptions, dtype: torch.dtype, linear: Any) -> torch.dtype:
    """The Lyapunov frame's dtype (``ClassifyOptions.tangent_precision``)."""
    owner = getattr(linear, "__self__", None)
    low = dtype == torch.float64 and getattr(owner, "float32_tangents", False) is True
    return torch.float32 if opts.tangent_precision == "auto" and low else dtype


class _Guard:
    """Tracks orbits that left the bound; keeps their last good state and restarts them at x0.

    Restarting (rather than letting inf/NaN run on) keeps every later computation finite; the
    results of those rows are overwritten at the end.
    """

    def __init__(self, x0: Tensor, bound: float) -> None:
        self.x0, self.bound = x0, bound
        self.diverged = torch.zeros(x0.shape[0], dtype=torch.bool, device=x0.device)
        self.last_good = x0.clone()

    def check(self, prev: Tensor, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(x with out-of-bound rows reset to x0, norms, rows reset).

        A row already marked divergent is reset again each time it leaves the bound, so its
        state never reaches inf or NaN.
        """
        norm = torch.linalg.vector_norm(x, dim=-1)
        out = ~(norm <= self.bound)  # NaN compares False: caught here
        if bool(out.any()):
            new = out & ~self.diverged
            self.diverged |= out
            self.last_good[new] = prev[new]
            x = torch.where(out.unsqueeze(-1), self.x0, x)
            norm = torch.where(out, torch.linalg.vector_norm(self.x0, dim=-1), norm)
        return x, norm, out


def _check_shapes(propagate: Any, x: Tensor, frame: Tensor) -> None:
    fx, v = propagate(x, frame)
    if fx.shape != x.shape or fx.dtype != x.dtype:
        raise ValueError(
            f"step must map {tuple(x.shape)} {x.dtype} to the same, got {tuple(fx.shape)} "
            f"{fx.dtype}"
        )
    if v.shape != frame.shape:
        raise ValueError(
            f"jacobian/tangent must give J·V of shape {tuple(frame.shape)}, got {tuple(v.shape)}"
        )


def _classify(
    step: StepFn, x0: Tensor, propagate: Any, opts: ClassifyOptions, frame: torch.dtype
) -> MapClassification:
    dim = x0.shape[1]
    dtype, device = x0.dtype, x0.device
    generator = torch.Generator().manual_seed(opts.seed)
    k = min(opts.n_exponents, dim)
    flow = Benettin(propagate, x0, k, qr_every=opts.qr_every, generator=generator, dtype=frame)
    _check_shapes(propagate, x0, flow.frame)
    proj = _projections(dim, dtype, device, generator)
    guard = _Guard(x0, opts.bound)

    x = x0.clone()
    align = min(opts.transient, ALIGN_STEPS)
    for t in range(opts.transient):
        nxt = step(x) if t < opts.transient - align else flow.advance(x)
        x, _, new = guard.check(x, nxt)
        flow.reset_rows(new)
        if bool(guard.diverged.all()):
            break

    flow.start()
    recorder = OrbitRecorder(
        x, opts.measure, max_period=opts.max_period, window=opts.window(), projections=proj
    )
    if not bool(guard.diverged.all()):
        for _ in range(opts.measure):
            nxt = flow.advance(x)
            x, norm, new = guard.check(x, nxt)
            flow.reset_rows(new)
            recorder.update(x, norm)
            if bool(guard.diverged.all()):
                break
    lyap = flow.exponents().to(dtype)
    if recorder.t < opts.measure:  # everything diverged: no orbit evidence is needed
        return _all_divergent(guard, lyap, opts)
    orbit = recorder.summary()
    codes, period = _decide(orbit, lyap[:, 0], guard.diverged, opts, dtype)

    def subset_step(idx: Tensor) -> StepFn:
        def one(xs: Tensor) -> Tensor:  # the full batch, so that a per-row map stays aligned
            full = x.clone()
            full[idx] = xs
            return step(full)[idx]

        return one

    codes, period = _long_cycles(codes, period, lyap[:, 0], orbit, x, subset_step, opts, dtype)
    return _result(codes, period, lyap, orbit, guard, x, opts)


def _projections(
    dim: int, dtype: torch.dtype, device: torch.device, generator: torch.Generator
) -> Tensor:
    """The spectrum's random unit projections (D, n). Drawn right after the initial frames, so
    that both paths draw the same ones whatever orbits diverge (and draw fresh frames) later."""
    proj = torch.randn((dim, N_PROJECTIONS), generator=generator, dtype=dtype).to(device)
    return proj / torch.linalg.vector_norm(proj, dim=0)


class _Results:
    """Full-batch outputs, filled in as orbits leave the active batch."""

    def __init__(self, x0: Tensor, k: int) -> None:
        batch = x0.shape[0]
        self.codes = torch.full((batch,), UNRESOLVED, dtype=torch.int64, device=x0.device)
        self.period = torch.zeros(batch, dtype=torch.int64, device=x0.device)
        self.lyapunov = x0.new_zeros(batch, k)
        self.frequency = x0.new_zeros(batch)
        self.amplitude = x0.new_zeros(batch)
        self.final = x0.clone()
        self.decided = torch.zeros(batch, dtype=torch.bool, device=x0.device)
        """Rows whose label a screening pass settles (see :class:`_Screen`)."""

    def astype(self, dtype: torch.dtype) -> _Results:
        """A copy whose floating fields are in ``dtype``."""
        out = _Results.__new__(_Results)
        for name in _RESULT_FIELDS:
            value = getattr(self, name)
            setattr(out, name, value.to(dtype) if value.is_floating_point() else value.clone())
        return out

    def take(self, rows: Tensor, other: _Results) -> None:
        """Rows ``rows`` from ``other``, a classification of those rows alone (in order)."""
        for name in _RESULT_FIELDS:
            getattr(self, name)[rows] = getattr(other, name).to(getattr(self, name).dtype)

    def put(
        self, rows: Tensor, code: Tensor | int, period: Tensor, lyap: Tensor, **rest: Tensor
    ) -> None:
        self.codes[rows] = code if isinstance(code, Tensor) else torch.full_like(rows, code)
        self.period[rows] = period
        self.lyapunov[rows] = lyap.to(self.lyapunov.dtype)
        for name, value in rest.items():
            getattr(self, name)[rows] = value.to(getattr(self, name).dtype)

    def diverged(self, rows: Tensor, last_good: Tensor) -> None:
        n = len(rows)
        inf = torch.full((n,), torch.inf, dtype=self.amplitude.dtype, device=rows.device)
        self.put(
            rows,
            DIVERGENT,
            torch.zeros_like(rows),
            inf.unsqueeze(-1).expand(n, self.lyapunov.shape[1]),
            frequency=torch.zeros_like(inf),
            amplitude=inf,
            final=last_good,
            decided=torch.ones_like(rows, dtype=torch.bool),
        )

    def classification(self, opts: ClassifyOptions) -> MapClassification:
        return MapClassification(
            labels=[LABELS[c] for c in self.codes.tolist()],
            lyapunov=self.lyapunov,
            period=self.period,
            frequency=self.frequency,
            amplitude=self.amplitude,
            final=self.final,
            options=opts,
        )


_RESULT_FIELDS = ("codes", "period", "lyapunov", "frequency", "amplitude", "final", "decided")


class _Active:
    """The orbits still iterated: their global rows, states and per-row trackers."""

    def __init__(self, x0: Tensor, maps: RowMaps) -> None:
        self.rows = torch.arange(x0.shape[0], device=x0.device)
        self.maps = maps
        self.step, self.propagate = maps(self.rows)
        self.trackers: list[Any] = []

    def __len__(self) -> int:
        return len(self.rows)

    def keep(self, keep: Tensor, *tensors: Tensor) -> list[Tensor]:
        """Drop the rows where ``keep`` (bool, active-batch) is False; returns ``tensors``
        restricted likewise."""
        idx = torch.nonzero(keep).reshape(-1)
        self.rows = self.rows[idx]
        for tracker in self.trackers:
            tracker.select(idx)
        if len(idx):
            self.step, self.propagate = self.maps(self.rows)
        return [t[idx] for t in tensors]


def _classify_retiring(
    x0: Tensor,
    maps: RowMaps,
    opts: ClassifyOptions,
    *,
    screen: _Screen | None = None,
    rows_of: tuple[int, Tensor] | None = None,
    frame: torch.dtype | None = None,
) -> _Results:
    """:func:`_classify` with early retirement (see :mod:`cogdyn.dynamics.settle`).

    Every orbit that does not retire goes through exactly the brute-force steps: the same
    initial frame, transient, alignment, measurement and rules. With ``screen`` the results
    say which rows the evidence settles (:class:`_Screen`). ``rows_of = (B, rows)``: these
    orbits are rows ``rows`` of a batch of B, and get the initial frames they have there.
    ``frame``: the Lyapunov frame's dtype (default the states').
    """
    dim = x0.shape[1]
    dtype, device = x0.dtype, x0.device
    generator = torch.Generator().manual_seed(opts.seed)
    k = min(opts.n_exponents, dim)
    active = _Active(x0, maps)
    flow = Benettin(
        active.propagate,
        x0,
        k,
        qr_every=opts.qr_every,
        generator=generator,
        rows_of=rows_of,
        dtype=frame,
    )
    _check_shapes(active.propagate, x0, flow.frame)
    proj = _projections(dim, dtype, device, generator)
    out = _Results(x0, k)
    window = Window.of(opts.transient, opts.measure, opts.max_period, opts.window())
    settler = Settler(
        x0,
        window,
        rtol=opts.tolerance(dtype),
        atol=opts.atol,
        zero_tol=opts.zero_tol,
        k=k,
        projections=proj,
        seed=opts.seed,
    )
    active.trackers = [flow, settler]

    def advance(x: Tensor, t: int, tangent: bool, recorder: OrbitRecorder | None) -> Tensor:
        """One step of every active orbit to global time t; settled and divergent ones leave."""
        flow.propagate = active.propagate
        nxt = flow.advance(x) if tangent else active.step(x)
        norm = torch.linalg.vector_norm(nxt, dim=-1)
        out_of_bound = ~(norm <= opts.bound)  # NaN compares False: caught here
        if bool(out_of_bound.any()):
            out.diverged(active.rows[out_of_bound], x[out_of_bound])
            x, nxt, norm = active.keep(~out_of_bound, x, nxt, norm)
            if not len(active):
                return nxt
        watching = t <= window.deadline
        if watching:
            settler.observe(t, x, nxt, norm)
        if recorder is not None:
            recorder.update(nxt, norm)
        if watching and t % CHECK_EVERY == 0:
            settled = settler.settle(t, nxt, active.rows, maps)
            if settled is not None:
                rows = active.rows[settled.rows]
                codes = torch.where(settled.period == 1, FIXED_POINT, PERIODIC)
                extra = {}
                if screen is not None:
                    lam1 = settled.lyapunov[:, 0]
                    extra["decided"] = screen.retired(lam1, window.deadline - t)
                out.put(
                    rows,
                    codes,
                    settled.period,
                    settled.lyapunov,
                    frequency=settled.frequency,
                    amplitude=settled.amplitude,
                    final=settled.final,
                    **extra,
                )
                keep = torch.ones(len(active), dtype=torch.bool, device=device)
                keep[settled.rows] = False
                (nxt,) = active.keep(keep, nxt)
        return nxt

    x = x0.clone()
    align = min(opts.transient, ALIGN_STEPS)
    for t in range(opts.transient):
        x = advance(x, t + 1, t >= opts.transient - align, None)
        if not len(active):
            return out

    flow.start()
    recorder = OrbitRecorder(
        x, opts.measure, max_period=opts.max_period, window=opts.window(), projections=proj
    )
    active.trackers.append(recorder)
    for t in range(opts.measure):
        x = advance(x, opts.transient + t + 1, True, recorder)
        if not len(active):
            return out
    lyap = flow.exponents().to(dtype)
    orbit = recorder.summary()
    none = torch.zeros(len(active), dtype=torch.bool, device=device)
    codes, period = _decide(orbit, lyap[:, 0], none, opts, dtype)
    rows = active.rows
    codes, period = _long_cycles(
        codes, period, lyap[:, 0], orbit, x, lambda idx: maps(rows[idx])[0], opts, dtype
    )
    frequency = dominant_frequency(orbit.series)
    frequency = torch.where((codes == FIXED_POINT) | (codes == DIVERGENT), 0.0, frequency)
    inf = torch.tensor(torch.inf, dtype=dtype, device=device)
    extra = {} if screen is None else {"decided": screen.decisive(orbit, lyap, codes, opts, dtype)}
    out.put(
        active.rows,
        codes,
        period,
        torch.where(lyap.isnan(), inf, lyap),
        frequency=frequency,
        amplitude=orbit.amplitude,
        final=x,
        **extra,
    )
    return out


def _classify_screened(
    x0: Tensor, maps: RowMaps, low: RowMaps, opts: ClassifyOptions, frame: torch.dtype
) -> MapClassification:
    """Screen every orbit in float32 (map ``low``), confirm the unsettled ones in float64
    (``maps``); module docstring, "Screening"."""
    exact_rtol = opts.tolerance(x0.dtype)
    screen = _Screen(exact_rtol=exact_rtol, rtol=max(exact_rtol, _default_rtol(low.x0.dtype)))
    first = _classify_retiring(
        low.x0, low, dataclasses.replace(opts, rtol=screen.rtol), screen=screen
    )
    kept = first.decided.to(x0.device)
    out = first.astype(x0.dtype)
    confirm = torch.nonzero(~kept).reshape(-1)
    if len(confirm):
        exact = _classify_retiring(
            x0[confirm], maps.restricted(confirm), opts, rows_of=(len(x0), confirm), frame=frame
        )
        out.take(confirm, exact)
    return dataclasses.replace(out.classification(opts), screened=kept)


SCREEN_MARGIN = 2.0
"""Factor by which float32 evidence must clear every threshold of the labelling rules for its
label to stand without a float64 confirmation (module docstring, "Screening")."""


@dataclass(frozen=True)
class _Screen:
    """Which float32 results stand (module docstring, "Screening")."""

    exact_rtol: float
    """The recurrence tolerance of the float64 classification."""
    rtol: float
    """The screening pass's: never below float32's default (rounding on a cycle ~100·eps)."""

    def retired(self, lam1: Tensor, remaining: int) -> Tensor:
        """A fixed point or cycle retired in float32 stands if its contraction e^{λ₁·t} over
        the ``remaining`` steps to the deadline takes the screen's tolerance below a tenth of
        the exact one: a float64 orbit there settles within the window too."""
        return lam1 * max(remaining, 0) <= math.log(self.exact_rtol / (10 * self.rtol))

    def decisive(
        self,
        orbit: OrbitSummary,
        lyap: Tensor,
        codes: Tensor,
        opts: ClassifyOptions,
        dtype: torch.dtype,
    ) -> Tensor:
        """(B,) bool: a quasi-periodic or chaotic orbit measured over the whole window whose
        evidence clears every threshold by :data:`SCREEN_MARGIN`: no return (every gap ≥ margin
        × its tolerance, which is ≥ float32's, itself ~10× the rounding on a cycle), |λ₁| (and,
        for quasi-periodic, |λ₂|) away from zero_tol, drift and escape away from theirs."""
        m, zt = SCREEN_MARGIN, opts.zero_tol
        lam1 = lyap[:, 0]
        no_return = (orbit.recurrence >= m * _recurrence_tol(orbit, opts, dtype)).all(-1)
        steady = (orbit.growth <= opts.drift_tol / m) | (orbit.escape <= ESCAPE_FACTOR / m)
        qp = (codes == QUASI_PERIODIC) & (lam1.abs() <= zt / m)
        qp &= orbit.drift.abs() <= opts.drift_tol / m
        if lyap.shape[1] > 1:
            lam2 = lyap[:, 1].abs()
            qp &= (lam2 <= zt / m) | (lam2 >= zt * m)
        chaos = (codes == CHAOTIC) & (lam1 >= zt * m)
        return (qp | chaos) & no_return & steady


def _decide(
    orbit: OrbitSummary,
    lam1: Tensor,
    diverged: Tensor,
    opts: ClassifyOptions,
    dtype: torch.dtype,
) -> tuple[Tensor, Tensor]:
    """Label codes (B,) and periods (B,) from the evidence (rules in the module docstring)."""
    zt = opts.zero_tol
    returns = orbit.recurrence <= _recurrence_tol(orbit, opts, dtype)
    found = returns.any(-1)
    period = torch.where(found, returns.to(torch.int64).argmax(-1) + 1, 0)
    # λ₁ is NaN only if J was not finite along a bounded orbit; every comparison below is then
    # False, so such an orbit lands in unresolved (and _result reports λ = +inf).
    contracting_or_neutral = lam1 <= zt
    positive = lam1 > zt
    neutral = lam1.abs() <= zt
    settled = orbit.drift.abs() <= opts.drift_tol

    codes = torch.full_like(period, UNRESOLVED)
    codes = torch.where(found & contracting_or_neutral & (period == 1), FIXED_POINT, codes)
    codes = torch.where(found & contracting_or_neutral & (period > 1), PERIODIC, codes)
    codes = torch.where(~found & positive, CHAOTIC, codes)
    codes = torch.where(~found & neutral & settled, QUASI_PERIODIC, codes)
    growing = (orbit.escape > ESCAPE_FACTOR) & (orbit.growth > opts.drift_tol)
    escaping = ~found & growing & (lam1 >= -zt)
    codes = torch.where(diverged | escaping, DIVERGENT, codes)
    keep = (codes == FIXED_POINT) | (codes == PERIODIC)
    return codes, torch.where(keep, period, 0)


def _recurrence_tol(orbit: OrbitSummary, opts: ClassifyOptions, dtype: torch.dtype) -> Tensor:
    """(B, max_period) tolerance of each lag's return: rtol·amplitude + atol, and for lag 1
    (a fixed point has no amplitude) rtol·(‖centroid‖ + amplitude) + atol."""
    rtol = opts.tolerance(dtype)
    tol = (rtol * orbit.amplitude + opts.atol).unsqueeze(-1).repeat(1, opts.max_period)
    tol[:, 0] = rtol * (orbit.centroid_norm + orbit.amplitude) + opts.atol
    return tol


def _long_cycles(
    codes: Tensor,
    period: Tensor,
    lam1: Tensor,
    orbit: OrbitSummary,
    x: Tensor,
    subset_step: Any,
    opts: ClassifyOptions,
    dtype: torch.dtype,
) -> tuple[Tensor, Tensor]:
    """Relabel as periodic the orbits that close a cycle of period max_period < p ≤
    long_period (rules under "Long cycles" in the module docstring). ``x`` holds the orbits'
    final states; ``subset_step(idx)`` is the map restricted to rows ``idx``."""
    longest = opts.longest_period()
    first = opts.max_period + 1
    if longest < first:
        return codes, period
    undecided = (codes == QUASI_PERIODIC) | (codes == UNRESOLVED)
    cand = torch.nonzero(undecided & (period == 0) & (lam1 <= opts.zero_tol)).reshape(-1)
    if not len(cand):
        return codes, period
    tol = opts.tolerance(dtype) * orbit.amplitude[cand] + opts.atol
    series = orbit.series[:, cand]
    m = series.shape[0]
    lag = torch.zeros(len(cand), dtype=torch.int64, device=x.device)
    for p in range(first, min(longest, m // 2) + 1):
        open_ = lag == 0
        if not bool(open_.any()):
            break
        gap = torch.linalg.vector_norm(series[m - p :] - series[m - 2 * p : m - p], dim=-1)
        hit = open_ & (gap.amax(0) <= tol)
        lag = torch.where(hit, p, lag)
    found = torch.nonzero(lag > 0).reshape(-1)
    if not len(found):
        return codes, period
    idx, lags = cand[found], lag[found]
    step = subset_step(idx)
    start = x[idx]
    state = start.clone()
    gap = torch.full((len(idx),), torch.inf, dtype=x.dtype, device=x.device)
    for t in range(1, int(lags.max()) + 1):
        state = step(state)
        at = lags == t
        if bool(at.any()):
            gap[at] = torch.linalg.vector_norm(state[at] - start[at], dim=-1)
    ok = gap <= tol[found]
    codes, period = codes.clone(), period.clone()
    codes[idx[ok]] = PERIODIC
    period[idx[ok]] = lags[ok]
    return codes, period


def _result(
    codes: Tensor,
    period: Tensor,
    lyap: Tensor,
    orbit: OrbitSummary,
    guard: _Guard,
    x: Tensor,
    opts: ClassifyOptions,
) -> MapClassification:
    div = guard.diverged
    inf = torch.tensor(torch.inf, dtype=lyap.dtype, device=lyap.device)
    frequency = dominant_frequency(orbit.series)
    frequency = torch.where((codes == FIXED_POINT) | (codes == DIVERGENT), 0.0, frequency)
    return MapClassification(
        labels=[LABELS[c] for c in codes.tolist()],
        lyapunov=torch.where(div.unsqueeze(-1) | lyap.isnan(), inf, lyap),
        period=period,
        frequency=frequency,
        amplitude=torch.where(div, inf, orbit.amplitude),
        final=torch.where(div.unsqueeze(-1), guard.last_good, x),
        options=opts,
    )


def _all_divergent(guard: _Guard, lyap: Tensor, opts: ClassifyOptions) -> MapClassification:
    batch = guard.diverged.shape[0]
    zeros = guard.x0.new_zeros(batch)
    return MapClassification(
        labels=[LABELS[DIVERGENT]] * batch,
        lyapunov=torch.full_like(lyap, torch.inf),
        period=torch.zeros(batch, dtype=torch.int64, device=zeros.device),
        frequency=zeros,
        amplitude=torch.full_like(zeros, torch.inf),
        final=guard.last_good,
        options=opts,
    )
