"""Early retirement for :func:`~cogdyn.dynamics.classify.classify_map`: orbits that have settled.

The brute-force classification iterates every orbit for ``transient + measure`` steps. Most
orbits of trained networks reach a fixed point or a short cycle within a few hundred steps and
would spend the rest of the window confirming it. Here such an orbit leaves the batch as soon
as it is *known* what the brute-force rules would say about it, and its evidence is computed
exactly from the attractor instead of being averaged along the orbit:

* **fixed point**: ‖x_{t+1} − x_t‖ ≤ rtol·‖x_{t+1}‖ + atol (the lag-1 recurrence tolerance of
  :class:`~cogdyn.dynamics.classify.ClassifyOptions`) for :data:`SPAN` consecutive steps. Its
  exponents are the k largest log|eigenvalues| of J(x_t) (:func:`~cogdyn.dynamics.lyapunov.
  leading_log_moduli`); period 1, frequency 0, amplitude 0, final state x_t.
* **cycle of period p ≥ 2**: the orbit came back to within rtol·(its largest distance from an
  anchor state) of that anchor after p steps (anchors every ``max_period`` steps, as in
  :class:`~cogdyn.dynamics.orbit.OrbitRecorder`). The p states of one period are recorded and
  the brute-force evidence is computed on the periodic extension of the cycle over the
  measuring window — the same anchors, lags, tolerances, centroid, amplitude, projected series
  and final state as the brute-force window would see once the orbit is on the cycle. The
  exponents are (1/p)·log|eigenvalues| of the monodromy matrix M = J(x_{p−1})⋯J(x_0): by
  subspace iteration on M with k + :data:`EXTRA_COLUMNS` tangent vectors carried around the
  cycle, and Rayleigh–Ritz values accepted only when their residual is within
  :data:`RITZ_TOL` (for D ≤ k + EXTRA_COLUMNS the frame is the identity and M is exact after
  one period).

An orbit retires only when the brute-force rules would give it the same label:

* the exact leading exponent is clearly contracting, λ₁ < −zero_tol (so the brute-force
  estimate, which converges to it with an error ~1/measure, stays ≤ zero_tol; a neutral or
  slowly converging point, |λ₁| ≲ zero_tol, is left to the full window);
* the return is established before the brute-force recurrence window opens (the first anchor,
  :attr:`Window.deadline`): the orbit is then on the attractor at every anchor the window
  looks at, and contracting onto it, so its returns only tighten;
* for a cycle, the smallest returning lag of the emulated recurrence is p, the orbit stays
  within the lag-p tolerance of the recorded cycle for as long as the exponents are iterated,
  and the Ritz values converged.

A candidate that fails is not looked at again for :data:`BACKOFF` steps (doubling each time),
so an orbit resting on an unstable or neutral point costs few confirmations. Orbits that never
settle (quasi-periodic, chaotic, slowly converging, long cycles) run the full window exactly as
in the brute-force path.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from cogdyn.dynamics.lyapunov import (
    JacobianFn,
    Propagator,
    StepFn,
    TangentFn,
    jacobians,
    leading_log_moduli,
    make_propagator,
)
from cogdyn.dynamics.spectrum import dominant_frequency

SPAN = 16
"""Consecutive lag-1 returns before an orbit is a fixed-point candidate. A converging orbit's
steps shrink geometrically, so 16 in a row rule out a single near-return of a slow orbit."""
CHECK_EVERY = 16
"""Steps between confirmations of fixed points: retiring in waves keeps the number of batch
compactions (each costs about one step) small next to the steps saved."""
CYCLE_CHECK_EVERY = 64
"""Steps between confirmations of cycles (a multiple of CHECK_EVERY). Confirming a cycle
takes ≥ 2 periods of steps of its own, so candidates are gathered into larger batches; the
wait costs each one at most 64 plain steps against the ~1000s saved."""
BACKOFF = 64
"""Steps before a candidate that failed confirmation is looked at again (doubled each time)."""
EXTRA_COLUMNS = 6
"""Tangent vectors beyond k in the subspace iteration of a cycle's monodromy: its Ritz values
converge like |μ_{k+e+1} / μ_k| per period, so a few extra columns make one or two periods
enough for the cycles of N = 250 networks (p ≳ 10, exponents spread by ≳ 0.05)."""
RITZ_TOL = 1e-8
"""Relative residual ‖M y − θ y‖ / |θ| below which a Ritz value θ of the monodromy is taken
as its eigenvalue: an exponent error ≲ 1e-8 / p for a well-conditioned one, five orders below
the finite-window error of the brute-force estimate."""
MAX_CYCLE_STEPS = 256
"""Most steps of subspace iteration per cycle (at least two periods are always allowed)."""
BLOCK_STEPS = 32
"""Fewest steps between two Rayleigh–Ritz checks of a cycle (a whole number of periods): each
check costs about as much as a step, and a few periods are needed anyway."""
DENSE_STEPS = (2 + EXTRA_COLUMNS + 1) * MAX_CYCLE_STEPS
"""A cycle with p·D at most this forms its monodromy densely (p·D tangent-vector steps, exact
in one period) instead of iterating a subspace (up to (k + EXTRA_COLUMNS + 1)·MAX_CYCLE_STEPS):
every cycle of a map with D ≤ 18, and p ≤ 9 at N = 250, where the spectrum of M is too
crowded for subspace iteration to converge in a few periods."""
CHUNK = 64
"""Candidates confirmed at once: bounds the (chunk, D, D) Jacobians and (chunk, p, D) cycles."""

_SEED_SALT = 0x5E771E
# The confirmation's own random draws (hash weights, initial subspaces) come from a generator
# seeded with seed ^ _SEED_SALT, so that they never shift the main generator's stream.


# ---------------------------------------------------------------------------- row-wise maps
class RowMaps:
    """The map restricted to a subset of the batch's rows: ``maps(rows) -> (step, propagate)``.

    A batched map may carry per-row parameters (the census's frozen-input map has one drive per
    row), so it cannot simply be called on fewer rows. Two ways to restrict it:

    * ``step`` is a bound method of an object with ``select(index)`` returning an object of
      the same kind whose row i is row ``index[i]`` (e.g.
      :meth:`~cogdyn.dynamics.maps.FrozenInputMap.select`), and the linearisation, if any, is
      bound to the same object: the methods are re-bound to ``owner.select(rows)`` and the
      restricted map costs in proportion to the rows kept;
    * anything else: the rows are placed into a full-size batch (the other rows hold their
      initial states, which are finite) and the full map is called. Correct for any row-wise
      independent map, but no cheaper than the full batch.
    """

    def __init__(
        self,
        step: StepFn,
        jacobian: JacobianFn | TangentFn | None,
        tangent: TangentFn | None,
        x0: Tensor,
    ) -> None:
        self.step, self.jacobian, self.tangent = step, jacobian, tangent
        self.x0 = x0
        self.full = make_propagator(step, jacobian, tangent)
        self.owner = _selectable_owner(step, (jacobian, tangent))

    @property
    def shrinks(self) -> bool:
        """Whether a restricted map costs less than the full one."""
        return self.owner is not None

    def cast(self, dtype: torch.dtype) -> RowMaps | None:
        """The same map in ``dtype``, for an owner with ``to(dtype=...)`` (e.g.
        :meth:`~cogdyn.dynamics.maps.FrozenInputMap.to`); None for any other map, whose
        precision only its caller knows."""
        if self.owner is None or not callable(getattr(self.owner, "to", None)):
            return None
        low = self.owner.to(dtype=dtype)
        return self._on(low, self.x0.to(dtype))

    def restricted(self, rows: Tensor) -> RowMaps:
        """The map of rows ``rows`` alone, as a batch of its own (row i is row ``rows[i]``);
        needs a selectable owner (:attr:`shrinks`)."""
        if self.owner is None:
            raise ValueError("only a map with select(index) can be restricted to a batch of rows")
        return self._on(self.owner.select(rows), self.x0[rows])

    def _on(self, owner: Any, x0: Tensor) -> RowMaps:
        return RowMaps(
            _rebind(self.step, owner),
            _rebind(self.jacobian, owner),
            _rebind(self.tangent, owner),
            x0,
        )

    def __call__(self, rows: Tensor) -> tuple[StepFn, Propagator]:
        if len(rows) == len(self.x0) and bool(
            (rows == torch.arange(len(rows), device=rows.device)).all()
        ):
            return self.step, self.full
        if self.owner is not None:
            sub = self.owner.select(rows)
            step = _rebind(self.step, sub)
            jac = _rebind(self.jacobian, sub)
            tan = _rebind(self.tangent, sub)
            return step, make_propagator(step, jac, tan)
        return self._padded(rows)

    def _padded(self, rows: Tensor) -> tuple[StepFn, Propagator]:
        fill, full_step, full_prop = self.x0, self.step, self.full

        def step(x: Tensor) -> Tensor:
            return full_step(fill.index_copy(0, rows, x))[rows]

        def propagate(x: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
            frame = q.new_zeros(len(fill), q.shape[-1], q.shape[-2]).transpose(-1, -2)
            frame[rows] = q
            fx, v = full_prop(fill.index_copy(0, rows, x), frame)
            return fx[rows], v[rows]

        return step, propagate


def _selectable_owner(step: Any, linear: tuple[Any, ...]) -> Any:
    owner = getattr(step, "__self__", None)
    if owner is None or not callable(getattr(owner, "select", None)):
        return None
    if any(fn is not None and getattr(fn, "__self__", None) is not owner for fn in linear):
        return None
    return owner


def _rebind(fn: Any, owner: Any) -> Any:
    return None if fn is None else types.MethodType(fn.__func__, owner)


# ---------------------------------------------------------------------------- the window
@dataclass(frozen=True)
class Window:
    """Where the brute-force measurement looks, in global time (x0 is state 0)."""

    start: int
    """Global time of the first measured state s_0 (= transient)."""
    length: int
    """Measured steps M (states s_0 … s_M)."""
    max_period: int
    anchors: Tensor
    """(A,) global times of the recurrence anchors (each compared with the next P states)."""

    @classmethod
    def of(cls, transient: int, measure: int, max_period: int, window: int) -> Window:
        """The window of ClassifyOptions' lengths (``window`` = its recurrence window)."""
        n_anchors = max(1, window // max_period)
        first = measure - n_anchors * max_period
        anchors = transient + first + max_period * torch.arange(n_anchors)
        return cls(transient, measure, max_period, anchors)

    @property
    def deadline(self) -> int:
        """Latest global time at which an orbit may retire: the first anchor."""
        return int(self.anchors[0])


@dataclass(frozen=True)
class Settled:
    """Orbits confirmed at one check, with the evidence the brute-force window would give."""

    rows: Tensor
    """(n,) positions in the active batch."""
    period: Tensor
    """(n,) int64: 1 for a fixed point, p for a cycle."""
    lyapunov: Tensor
    """(n, k) exact exponents, sorted descending."""
    frequency: Tensor
    amplitude: Tensor
    final: Tensor


# ---------------------------------------------------------------------------- detection
class Settler:
    """Watches the active orbits for a settled state and confirms candidates.

    Call :meth:`observe` after every step (while ``t ≤ window.deadline``), :meth:`settle` every
    :data:`CHECK_EVERY` steps, and :meth:`select` whenever the batch shrinks.
    """

    _ROW_FIELDS = ("calm", "anchor", "scale", "cand", "wait", "backoff")

    def __init__(
        self,
        x: Tensor,
        window: Window,
        *,
        rtol: float,
        atol: float,
        zero_tol: float,
        k: int,
        projections: Tensor,
        seed: int,
    ) -> None:
        n = x.shape[0]
        self.window, self.rtol, self.atol, self.zero_tol, self.k = window, rtol, atol, zero_tol, k
        self.projections = projections
        self.generator = torch.Generator().manual_seed(seed ^ _SEED_SALT)
        self.calm = torch.zeros(n, dtype=torch.int64, device=x.device)
        self.anchor, self.anchor_t = x, 0
        self.scale = x.new_zeros(n)
        self.cand = torch.zeros_like(self.calm)
        self.wait = torch.zeros_like(self.calm)
        self.backoff = torch.full_like(self.calm, BACKOFF)
        self._cache: dict[bytes, Tensor] = {}  # fingerprint of J → its exponents
        self._probe: Tensor | None = None
        self._give_up: list[Tensor] = []

    def select(self, rows: Tensor) -> None:
        """Keep only the orbits selected by ``rows`` (a bool mask or an index tensor)."""
        for name in self._ROW_FIELDS:
            setattr(self, name, getattr(self, name)[rows])

    def observe(self, t: int, prev: Tensor, x: Tensor, norm: Tensor) -> None:
        """Record state x = x_t (its norm given) that followed ``prev`` = x_{t−1}."""
        gap = torch.linalg.vector_norm(x - prev, dim=-1)
        still = gap <= self.rtol * norm + self.atol
        self.calm = torch.where(still, self.calm + 1, 0)
        lag = t - self.anchor_t
        dist = torch.linalg.vector_norm(x - self.anchor, dim=-1)
        if lag >= 2:
            back = (self.cand == 0) & (dist <= self.rtol * self.scale + self.atol)
            self.cand = torch.where(back, lag, self.cand)
        self.scale = torch.maximum(self.scale, dist)
        if lag >= self.window.max_period:
            self.anchor, self.anchor_t = x, t
            self.scale = torch.zeros_like(self.scale)

    def settle(self, t: int, x: Tensor, rows: Tensor, maps: RowMaps) -> Settled | None:
        """Confirm this step's candidates; ``rows`` are the active orbits' global indices."""
        ready = self.wait <= t
        fixed = ready & (self.calm >= SPAN)
        cycle = ready & ~fixed & (self.cand > 0) & (t % CYCLE_CHECK_EVERY == 0)
        tried = fixed | cycle
        if not bool(tried.any()):
            return None
        parts = []
        fp_idx = torch.nonzero(fixed).reshape(-1)
        for lo in range(0, len(fp_idx), CHUNK):
            parts.append(self._fixed_points(fp_idx[lo : lo + CHUNK], x, rows, maps))
        cy_idx = torch.nonzero(cycle).reshape(-1)
        for lo in range(0, len(cy_idx), CHUNK):
            parts.append(self._cycles(cy_idx[lo : lo + CHUNK], t, x, rows, maps))
        self.cand = torch.where(tried, 0, self.cand)  # a cycle candidate waits for its check
        parts = [p for p in parts if len(p.rows)]
        done = torch.zeros_like(tried)
        if parts:
            settled = Settled(
                *(torch.cat(f) for f in zip(*(_fields(p) for p in parts), strict=True))
            )
            done[settled.rows] = True
        failed = tried & ~done
        self.wait = torch.where(failed, t + self.backoff, self.wait)
        self.backoff = torch.where(failed, 2 * self.backoff, self.backoff)
        if self._give_up:
            self.wait[torch.cat(self._give_up)] = self.window.deadline + 1
            self._give_up = []
        return settled if parts else None

    # ------------------------------------------------------------------ fixed points
    def _fixed_points(self, idx: Tensor, x: Tensor, rows: Tensor, maps: RowMaps) -> Settled:
        """Confirm fixed-point candidates ``idx``: a Newton polish, then exact exponents there.

        Orbits often share their Jacobian exactly (starts that reach the same point; for a
        ReLU net, J = D·W depends only on the active set), so candidates are grouped by a
        fingerprint, J applied to two fixed random vectors (bitwise equal for equal J; equal
        for different J only if (J₁ − J₂) r = 0 exactly for both random r). J is built and
        factorised once per group; the exponents are those of J at the point reported (the
        polished one where it is a better fixed point), computed once per fingerprint and
        cached across checks. For a ReLU net the polished point lies in the same linear piece,
        so its J is the one already built.
        """
        point = x[idx]
        n = len(point)
        sub = maps(rows[idx])
        fx, prints = self._fingerprints(sub[1], point)
        groups = _groups(prints)
        keys = list(groups)
        lam = torch.full((n, self.k), torch.inf, dtype=torch.float64, device=x.device)
        if not keys:
            return _settled_points(idx, torch.zeros_like(idx, dtype=torch.bool), lam, point)
        reps = torch.tensor([groups[key][0] for key in keys], device=x.device)
        jac = jacobians(maps(rows[idx[reps]])[1], point[reps])
        built = {key: jac[g] for g, key in enumerate(keys) if bool(torch.isfinite(jac[g]).all())}
        final = point.clone()
        for key, matrix in built.items():
            m = torch.tensor(groups[key], device=x.device)
            final[m] = _newton_step(point[m], fx[m] - point[m], matrix)
        # Keep the polished point where it is a better fixed point (not where it jumped to a
        # point of another linear piece, or the system was singular).
        f_fx, f_prints = self._fingerprints(sub[1], torch.where(final.isfinite(), final, point))
        resid = torch.linalg.vector_norm(f_fx - final, dim=-1)
        better = resid <= torch.linalg.vector_norm(fx - point, dim=-1)  # False for NaN
        final = torch.where(better.unsqueeze(-1), final, point)
        prints = [f if b else p for f, p, b in zip(f_prints, prints, better.tolist(), strict=True)]
        groups = _groups(prints)
        todo = [key for key in groups if key not in self._cache]
        fresh = [key for key in todo if key not in built]
        if fresh:
            reps = torch.tensor([groups[key][0] for key in fresh], device=x.device)
            more = jacobians(maps(rows[idx[reps]])[1], final[reps])
            built.update({key: more[g] for g, key in enumerate(fresh)})
        todo = [key for key in todo if bool(torch.isfinite(built[key]).all())]
        if todo:
            exps = leading_log_moduli(torch.stack([built[key] for key in todo]), self.k)
            self._cache.update(zip(todo, exps, strict=True))
        for key, members in groups.items():
            if key in self._cache:
                lam[torch.tensor(members, device=x.device)] = self._cache[key]
        ok = lam[:, 0] < -self.zero_tol  # False for the +inf of an unusable Jacobian
        return _settled_points(idx, ok, lam.to(x.dtype), final)

    def _fingerprints(self, propagate: Propagator, x: Tensor) -> tuple[Tensor, list[bytes | None]]:
        """(F(x), per row the bytes of J(x) r₁, J(x) r₂, or None where not finite)."""
        n, dim = x.shape
        if self._probe is None:
            probe = torch.randn((2, dim), generator=self.generator, dtype=x.dtype)
            self._probe = probe.to(x.device)
        fx, tv = propagate(x, self._probe.expand(n, 2, dim).transpose(-1, -2))
        finite = (torch.isfinite(tv).all(-1).all(-1) & torch.isfinite(fx).all(-1)).tolist()
        raw = tv.transpose(-1, -2).contiguous().cpu().numpy()
        return fx, [raw[i].tobytes() if finite[i] else None for i in range(n)]

    # ------------------------------------------------------------------ cycles
    def _cycles(self, idx: Tensor, t: int, x: Tensor, rows: Tensor, maps: RowMaps) -> Settled:
        period = self.cand[idx]
        step = maps(rows[idx])[0]
        p_max = int(period.max())
        states = [x[idx]]
        for _ in range(2 * p_max):  # two periods: the state alone, one tangent-free step each
            states.append(step(states[-1]))
        cyc = torch.stack(states, 1)  # (n, 2 p_max + 1, D)
        n, dtype = len(idx), x.dtype
        ok = torch.isfinite(cyc).all(-1).all(-1)
        emulated = x.new_zeros(n, dtype=torch.int64)
        tol_p = x.new_zeros(n)
        frequency, amplitude = x.new_zeros(n), x.new_zeros(n)
        final = x[idx].clone()
        for p in torch.unique(period).tolist():
            sel = torch.nonzero((period == p) & ok).reshape(-1)
            if len(sel):
                ev = self._emulate(cyc[sel, : p + 1], t, p)
                emulated[sel], tol_p[sel], frequency[sel], amplitude[sel], final[sel] = ev
                # Every phase of the second period within half the tolerance of the first: the
                # orbit is on the cycle all round, with margin for the exponent iteration.
                gap = torch.linalg.vector_norm(cyc[sel, p : 2 * p] - cyc[sel, :p], dim=-1)
                ok[sel] &= gap.amax(-1) <= tol_p[sel] / 2
        ok &= emulated == period
        lam = torch.full((n, self.k), torch.inf, dtype=torch.float64, device=x.device)
        dense = ok & (period * cyc.shape[-1] <= DENSE_STEPS)
        if bool(dense.any()):
            sel = torch.nonzero(dense).reshape(-1)
            lam[sel] = self._dense_monodromy(maps, rows[idx[sel]], cyc[sel], period[sel])
        if bool((ok & ~dense).any()):
            sel = torch.nonzero(ok & ~dense).reshape(-1)
            lam[sel] = self._monodromy(maps, rows[idx[sel]], cyc[sel], period[sel], tol_p[sel])
        # Ritz values that did not converge are a property of the cycle's spectrum, not of
        # how far the orbit has settled: such an orbit is not tried again.
        self._give_up.append(idx[torch.isnan(lam[:, 0])])
        ok &= lam[:, 0] < -self.zero_tol
        return Settled(
            rows=idx[ok],
            period=period[ok],
            lyapunov=lam[ok].to(dtype),
            frequency=frequency[ok],
            amplitude=amplitude[ok],
            final=final[ok],
        )

    def _emulate(self, cyc: Tensor, t: int, p: int) -> tuple[Tensor, ...]:
        """The brute-force evidence on the periodic extension of cycles (n, p + 1, D) from t.

        Returns (smallest returning lag or 0, lag-p tolerance, frequency, amplitude, final
        state); the smallest lag is 0 unless the recorded state p steps on is a return too.
        """
        w, dtype = self.window, cyc.dtype
        device = cyc.device
        pts = cyc[:, :p]
        times = torch.arange(w.start, w.start + w.length + 1, device=device)
        phase = (times - t) % p
        counts = torch.bincount(phase, minlength=p).to(dtype)
        ref = pts[:, :1]
        mean = (counts[:, None] * (pts - ref)).sum(1) / counts.sum()
        centroid = ref[:, 0] + mean
        spread = (pts - centroid[:, None]).square().sum(-1)
        amplitude = ((counts * spread).sum(-1) / counts.sum()).sqrt()
        tol = self.rtol * amplitude + self.atol
        tol1 = self.rtol * (torch.linalg.vector_norm(centroid, dim=-1) + amplitude) + self.atol
        dist = torch.cdist(pts, pts)  # (n, p, p)
        a = ((w.anchors.to(device) - t) % p).reshape(-1, 1)  # (A, 1)
        lags = torch.arange(1, w.max_period + 1, device=device)
        b = (a + lags) % p  # (A, P)
        rec = dist[:, a.expand_as(b), b].amax(1)  # (n, P)
        limit = tol[:, None].expand_as(rec).clone()
        limit[:, 0] = tol1
        returns = rec <= limit
        first = torch.where(returns.any(-1), returns.to(torch.int64).argmax(-1) + 1, 0)
        back = torch.linalg.vector_norm(cyc[:, p] - cyc[:, 0], dim=-1) <= tol
        first = torch.where(back, first, 0)
        series = (pts @ self.projections)[:, phase[:-1]]  # (n, M, n_proj)
        frequency = dominant_frequency(series.transpose(0, 1))
        return first, tol, frequency, amplitude, pts[:, phase[-1]]

    def _dense_monodromy(
        self, maps: RowMaps, global_rows: Tensor, cyc: Tensor, period: Tensor
    ) -> Tensor:
        """(1/p)·log|eigenvalues| (n, k) of the monodromy M = J(c_{p−1})⋯J(c_0), formed.

        M is the identity frame pushed round the recorded cycle (rescaled each step, the log
        scale kept), then :func:`~cogdyn.dynamics.lyapunov.leading_log_moduli`: exact, at p·D
        tangent-vector steps, the cheaper way for short cycles (p·D ≤ DENSE_STEPS).
        """
        n, dim = cyc.shape[0], cyc.shape[-1]
        lam = torch.empty(n, self.k, dtype=torch.float64, device=cyc.device)
        tiny = torch.finfo(cyc.dtype).tiny
        eye = torch.eye(dim, dtype=cyc.dtype, device=cyc.device)
        for p in torch.unique(period).tolist():
            sel = torch.nonzero(period == p).reshape(-1)
            propagate = maps(global_rows[sel])[1]
            v = eye.expand(len(sel), dim, dim).contiguous()
            log_scale = torch.zeros(len(sel), dtype=torch.float64, device=cyc.device)
            for i in range(p):
                v = propagate(cyc[sel, i], v)[1]
                scale = v.abs().amax((-1, -2)).clamp_min(tiny)
                v = v / scale[:, None, None]
                log_scale += torch.log(scale.to(torch.float64))
            finite = torch.isfinite(v).all(-1).all(-1)
            got = torch.full((len(sel), self.k), torch.inf, dtype=torch.float64, device=cyc.device)
            if bool(finite.any()):
                f = torch.nonzero(finite).reshape(-1)
                got[f] = leading_log_moduli(v[f], self.k) + log_scale[f, None]
            lam[sel] = got / p
        return lam

    def _monodromy(
        self, maps: RowMaps, global_rows: Tensor, cyc: Tensor, period: Tensor, tol: Tensor
    ) -> Tensor:
        """(1/p)·log|eigenvalues| (n, k) of each cycle's monodromy by subspace iteration.

        +inf where the orbit left its cycle, NaN where the Ritz values did not converge within
        MAX_CYCLE_STEPS (or two periods).

        Starts at the state 2 p_max steps on (any phase of a cycle has the same monodromy
        spectrum), carries a frame of m tangent vectors around the cycle, re-orthonormalised
        every step, and at the end of each block of whole periods takes the Ritz values of the
        block's map M^(block/p) on the frame's span at the block's start. The orbit must stay
        within ``tol`` of its recorded cycle throughout, else the row fails.
        """
        n, dim = cyc.shape[0], cyc.shape[-1]
        p_max = cyc.shape[1] - 1  # steps recorded
        dtype, device = cyc.dtype, cyc.device
        m = min(dim, self.k + EXTRA_COLUMNS)
        frame = torch.randn((n, dim, m), generator=self.generator, dtype=dtype).to(device)
        frame = _qr(frame)[0]
        start = frame
        acc = torch.eye(m, dtype=dtype, device=device).expand(n, m, m).clone()
        log_scale = torch.zeros(n, dtype=torch.float64, device=device)
        lam = torch.full((n, self.k), torch.inf, dtype=torch.float64, device=device)
        live = torch.ones(n, dtype=torch.bool, device=device)
        x = cyc[:, p_max]
        # Whole periods of at least BLOCK_STEPS steps between Ritz checks: the iteration is on
        # M^(block/p), whose eigenvalues are μ^(block/p), so the exponents are log|θ| / block.
        block = period * ((BLOCK_STEPS + period - 1) // period)
        limit = torch.maximum(2 * block, torch.full_like(period, MAX_CYCLE_STEPS))
        rows = torch.arange(n, device=device)
        propagate = maps(global_rows)[1]
        for s in range(1, int(limit.max()) + 1):
            x, v = propagate(x, frame)
            phase = (p_max + s) % period[rows]
            dev = torch.linalg.vector_norm(x - cyc[rows, phase], dim=-1)
            live[rows] &= dev <= tol[rows]
            frame, r = _qr(v)
            acc = r @ acc
            scale = acc.abs().amax((-1, -2)).clamp_min(torch.finfo(dtype).tiny)
            acc = acc / scale[:, None, None]
            log_scale[rows] += torch.log(scale.to(torch.float64))
            boundary = s % block[rows] == 0
            for i in torch.nonzero(boundary & live[rows]).reshape(-1).tolist():
                got = _ritz(start[i], frame[i], acc[i], self.k)
                if got is not None:
                    lam[rows[i]] = (got + log_scale[rows[i]]) / float(block[rows[i]])
            if bool(boundary.any()):
                start = torch.where(boundary[:, None, None], frame, start)
                eye = torch.eye(m, dtype=dtype, device=device)
                acc = torch.where(boundary[:, None, None], eye, acc)
                log_scale[rows[boundary]] = 0.0
            going = live[rows] & torch.isinf(lam[rows, 0]) & (s < limit[rows])
            if not bool(going.any()):
                break
            if not bool(going.all()):
                keep = torch.nonzero(going).reshape(-1)
                rows, x, frame = rows[keep], x[keep], frame[keep]
                start, acc = start[keep], acc[keep]
                propagate = maps(global_rows[rows])[1]
        lam[torch.isinf(lam[:, 0])] = torch.nan
        lam[~live] = torch.inf
        return lam


def _groups(prints: list[bytes | None]) -> dict[bytes, list[int]]:
    groups: dict[bytes, list[int]] = {}
    for i, key in enumerate(prints):
        if key is not None:
            groups.setdefault(key, []).append(i)
    return groups


def _settled_points(idx: Tensor, ok: Tensor, lam: Tensor, final: Tensor) -> Settled:
    n = int(ok.sum())
    return Settled(
        rows=idx[ok],
        period=torch.ones(n, dtype=torch.int64, device=idx.device),
        lyapunov=lam[ok],
        frequency=final.new_zeros(n),
        amplitude=final.new_zeros(n),
        final=final[ok],
    )


def _newton_step(x: Tensor, resid: Tensor, jac: Tensor) -> Tensor:
    """x + (I − J)⁻¹ (F(x) − x) for states x (n, D) sharing one Jacobian J (D, D).

    The brute-force path reports the state after the whole window, converged to round-off; a
    retired orbit stops within the recurrence tolerance, up to ~1/(1 − e^{λ₁}) of it from the
    point. For a piecewise-linear map whose point lies in the same linear piece this step lands
    on the point; for a smooth map it squares the error (the caller keeps it only where it is
    a better fixed point). Indices whose row of J is zero off the diagonal are solved
    directly, so the dense LU has the size of a ReLU net's active set; one matrix per call (see
    :mod:`cogdyn.linalg`). A singular system gives NaN, which the caller discards.
    """
    dim = x.shape[-1]
    eye = torch.eye(dim, dtype=torch.bool, device=x.device)
    a = torch.eye(dim, dtype=x.dtype, device=x.device) - jac
    direct = ~(jac.masked_fill(eye, 0) != 0).any(-1)
    keep = ~direct
    delta = torch.zeros_like(x)
    delta[:, direct] = resid[:, direct] / a.diagonal()[direct]
    if bool(keep.any()):
        rhs = resid[:, keep] - delta[:, direct] @ a[keep][:, direct].T
        sol, info = torch.linalg.solve_ex(a[keep][:, keep], rhs.T)
        delta[:, keep] = sol.T if int(info) == 0 else torch.nan
    return x + delta


def _fields(s: Settled) -> tuple[Tensor, ...]:
    return (s.rows, s.period, s.lyapunov, s.frequency, s.amplitude, s.final)


def _qr(v: Tensor) -> tuple[Tensor, Tensor]:
    """Thin QR (B, D, m) → (Q (B, D, m), R (B, m, m)), Householder (LAPACK), batched.

    Batched QR gives the same factors with 1 or 2 threads in torch 2.13 (unlike batched LU,
    see :mod:`cogdyn.linalg`); it is ~4× faster than a Gram–Schmidt of 8 columns in Python.
    """
    return torch.linalg.qr(v)


def _ritz(start: Tensor, end: Tensor, acc: Tensor, k: int) -> Tensor | None:
    """log|θ| (k,) of the k largest Ritz values of M on span(start), or None if unconverged.

    ``end`` R = M·start with ``acc`` = R (scaled); H = startᵀ M start = (startᵀ end) R, and the
    residual of a Ritz pair (θ, y) is ‖(end − start·startᵀ end) R y‖.
    """
    c = start.T @ end
    h = c @ acc
    theta, y = torch.linalg.eig(h)
    order = theta.abs().argsort(descending=True)[:k]
    theta, y = theta[order], y[:, order]
    resid = (end - start @ c).to(y.dtype) @ (acc.to(y.dtype) @ y)
    res = torch.linalg.vector_norm(resid, dim=0) / torch.linalg.vector_norm(y, dim=0)
    mod = theta.abs()
    if not bool((res <= RITZ_TOL * mod).all()):  # an exact zero (θ = 0, residual 0) passes
        return None
    return torch.log(mod.to(torch.float64))
