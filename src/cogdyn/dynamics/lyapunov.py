"""Leading Lyapunov exponents of discrete-time maps by the QR (Benettin) method, batched.

A batch of B orbits x_{t+1} = F(x_t) in D dimensions carries k tangent vectors each, stored as
a frame Q of shape (B, D, k). Every step the frame is pushed forward by the Jacobian,
V = J(x_t) Q, and re-orthonormalised, V = Q' R; the exponents are the time averages of
log |R_jj| (natural log per iteration). All orbits advance together as tensors: there is no
Python loop over orbits, only over time (and over the k ≤ a few columns in Gram–Schmidt).

Tangents come from one of three sources (see :func:`make_propagator`):

* ``tangent(x, V) -> J(x) V`` (optionally ``tangent(x, V, fx)`` with ``fx = F(x)``), the fast
  path for structured maps: for a ReLU RNN, J = D(h)·W, so ``J V`` is ``W @ V`` with rows masked
  by D and the (B, D, D) Jacobian is never materialised;
* ``jacobian(x) -> J(x)`` of shape (B, D, D), multiplied in batch;
* neither: automatic differentiation. Small maps (D ≤ ``REVERSE_MODE_MAX_DIM``) build J by
  reverse mode, one batched backward pass; larger ones use forward mode, ``torch.func.jvp``
  vmapped over the k tangent columns. Both return F(x) too, so the map runs once per step.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch
from torch import Tensor

StepFn = Callable[[Tensor], Tensor]
"""A batched map: states (B, D) → next states (B, D)."""
JacobianFn = Callable[[Tensor], Tensor]
"""States (B, D) → Jacobians (B, D, D)."""
TangentFn = Callable[..., Tensor]
"""``(x, V) -> J(x) V`` or ``(x, V, fx) -> J(x) V`` for x (B, D), V (B, D, k), fx = F(x)."""
Propagator = Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]
"""``(x, Q) -> (F(x), J(x) Q)``: one step of the state and of its tangent frame."""

# Tangent vectors are pushed forward for this many iterations before exponents are measured,
# so that the frame has turned towards the leading directions (a random frame in D = 250 has
# a component ~1/√D along them; log of that over a 2000-step window biases λ by ~1e-3).
ALIGN_STEPS = 200

# Without an analytic linearisation, maps of at most this many dimensions get their full Jacobian
# by reverse mode (D batched vector–Jacobian products); larger ones get J·Q by forward mode
# (k jvps, vmapped). Forward mode in torch 2.13 CPU runs ops that mix dual and plain tensors
# through Python decompositions, ~0.3 ms each: for a 4-D textbook map a vmapped jvp step costs
# ~7 ms against ~0.8 ms for the reverse-mode Jacobian. For large D the D backward passes lose.
REVERSE_MODE_MAX_DIM = 16


def _required_positional(fn: Callable[..., object]) -> int | None:
    """Number of required positional parameters of ``fn``; None when it cannot be told."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in params if p.kind in kinds and p.default is inspect.Parameter.empty)


def as_tangent(
    jacobian: JacobianFn | TangentFn | None, tangent: TangentFn | None
) -> TangentFn | None:
    """The tangent callable (``J·V``) among ``jacobian``/``tangent`` as :func:`make_propagator`
    reads them (a ``jacobian`` with two or more required arguments is one), or None."""
    if tangent is not None:
        return tangent
    if jacobian is not None and (_required_positional(jacobian) or 1) >= 2:
        return jacobian
    return None


def make_propagator(
    step: StepFn,
    jacobian: JacobianFn | TangentFn | None = None,
    tangent: TangentFn | None = None,
) -> Propagator:
    """Combine a map and its linearisation into ``(x, Q) -> (F(x), J(x) Q)``.

    ``jacobian`` is either ``J(x)`` (one required argument, returns (B, D, D)) or, as a
    convenience, a tangent callable (two or three required arguments), treated as ``tangent``.
    ``tangent`` is ``tangent(x, V)`` or ``tangent(x, V, fx)``; the three-argument form receives
    ``fx = step(x)`` so that, e.g., a ReLU map can read its active set off ``fx > 0`` instead of
    recomputing the pre-activation. Without either, automatic differentiation is used (reverse
    mode for D ≤ ``REVERSE_MODE_MAX_DIM``, else ``torch.func.jvp`` vmapped over the tangent
    columns); ``step`` must then be composable with ``torch.func`` (pure torch ops, no in-place
    updates of its input, no ``.item()``).
    """
    if jacobian is not None and tangent is not None:
        raise ValueError("give at most one of 'jacobian' and 'tangent'")
    if jacobian is not None and as_tangent(jacobian, None) is not None:
        jacobian, tangent = None, jacobian
    if tangent is not None:
        tan = tangent
        if _required_positional(tan) == 3:

            def propagate(x: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
                fx = step(x)
                return fx, tan(x, q, fx)

        else:

            def propagate(x: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
                return step(x), tan(x, q)

        return propagate
    if jacobian is not None:
        jac = jacobian

        def propagate(x: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
            return step(x), torch.bmm(jac(x), q)

        return propagate

    def propagate(x: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
        if x.shape[-1] <= REVERSE_MODE_MAX_DIM:
            return _reverse_mode(step, x, q)

        def push(v: Tensor) -> tuple[Tensor, Tensor]:
            return torch.func.jvp(step, (x,), (v,))

        # The primal F(x) does not depend on the tangent, so vmap returns it once (out_dims None).
        return torch.func.vmap(push, in_dims=2, out_dims=(None, 2))(q)

    return propagate


def _reverse_mode(step: StepFn, x: Tensor, q: Tensor) -> tuple[Tensor, Tensor]:
    """(F(x), J(x) Q) with the full Jacobian from one batched vector–Jacobian product.

    Rows of J are the vjps of the D unit vectors; the map is row-wise, so one backward pass of
    the summed output per unit vector gives that row of J for every orbit at once.
    """
    dim = x.shape[-1]
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        fx = step(xg)
        basis = torch.eye(dim, dtype=x.dtype, device=x.device).unsqueeze(1).expand(-1, *x.shape)
        (rows,) = torch.autograd.grad(fx, xg, basis, is_grads_batched=True)
    return fx.detach(), torch.bmm(rows.transpose(0, 1), q)


def orthonormalize(v: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Thin QR of a batch of frames by Gram–Schmidt applied twice.

    ``v`` (B, D, k) → (Q (B, D, k), log|R_jj| (B, k) in float64, dead (B, k) bool).

    Hand-written rather than ``torch.linalg.qr`` because k is tiny (default 2): a few fused
    vector ops beat a LAPACK call per orbit. The second pass ("twice is enough") restores
    orthogonality lost when columns are nearly parallel, i.e. when exponents are far apart.
    A column the Jacobian has annihilated (norm 0, e.g. every ReLU unit off) is *dead*: it
    stays the zero vector, its log-norm is clamped to log(tiny) and the caller reports −inf.
    """
    tiny = torch.finfo(v.dtype).tiny
    # Work on (B, k, D) so that each tangent vector is contiguous: slicing columns of a
    # (B, D, k) tensor gives strided views that make every vector op slower. Q is returned as a
    # (B, D, k) view of (B, k, D) storage, so the next call needs no copy if J·Q keeps it.
    vecs = v.transpose(-1, -2)
    if not vecs.is_contiguous():
        vecs = vecs.contiguous()
    cols: list[Tensor] = []
    norms: list[Tensor] = []
    for j in range(vecs.shape[-2]):
        u = vecs[..., j, :]
        for _ in range(2 if cols else 0):  # modified Gram–Schmidt, twice
            for q in cols:
                u = u - torch.linalg.vecdot(q, u).unsqueeze(-1) * q
        r = torch.linalg.vector_norm(u, dim=-1)
        cols.append(u / r.clamp_min(tiny).unsqueeze(-1))
        norms.append(r)
    r_diag = torch.stack(norms, -1)
    logs = torch.log(r_diag.to(torch.float64).clamp_min(tiny))
    return torch.stack(cols, -2).transpose(-1, -2), logs, r_diag <= tiny


def random_frame(
    batch: int,
    dim: int,
    k: int,
    *,
    dtype: torch.dtype,
    device: torch.device | str = "cpu",
    generator: torch.Generator | None = None,
) -> Tensor:
    """An orthonormal random frame (batch, dim, k), drawn from ``generator`` (on the CPU)."""
    v = torch.randn((batch, dim, k), generator=generator, dtype=dtype).to(device)
    return orthonormalize(v)[0]


class Benettin:
    """Running QR estimate of the k leading exponents of a batch of orbits.

    Call :meth:`advance` once per iteration (it returns the next state), :meth:`start` when the
    measurement begins (it discards the growth seen so far), and :meth:`exponents` at the end.
    With ``qr_every`` > 1 the frame is re-orthonormalised only every that many steps: cheaper,
    but growth e^{λ·qr_every} must stay within the dtype's range.
    """

    def __init__(
        self,
        propagate: Propagator,
        x: Tensor,
        k: int,
        *,
        qr_every: int = 1,
        generator: torch.Generator | None = None,
        rows_of: tuple[int, Tensor] | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        self.propagate = propagate
        self.qr_every = qr_every
        self.generator = generator
        batch, dim = x.shape
        self._shape = (batch, dim, k)
        # The frame may be held in a lower precision than the states (``dtype``): growth rates
        # need ~1e-4, not the states' precision, and the propagator must accept such a frame.
        self._dtype, self._device, self._draw = dtype or x.dtype, x.device, x.dtype
        # rows_of = (n, rows): these orbits are rows ``rows`` of a batch of n and start from the
        # frames they have there (the same draw, so a subset gives its rows' full-batch numbers).
        if rows_of is None:
            self.frame = self._fresh(batch)
        else:
            n, rows = rows_of
            self.frame = self._fresh(n)[rows.to(self._device)]
        self.log_sum = torch.zeros(batch, k, dtype=torch.float64, device=x.device)
        self.dead = torch.zeros(batch, k, dtype=torch.bool, device=x.device)
        self.count = 0
        self._pending = 0
        self._accumulate = False

    def _fresh(self, n: int) -> Tensor:
        _, dim, k = self._shape
        # Drawn in the states' dtype whatever the frame's, so that the generator's stream (and
        # every later draw from it) is the same as with a frame in the states' dtype.
        frame = random_frame(
            n, dim, k, dtype=self._draw, device=self._device, generator=self.generator
        )
        return frame.to(self._dtype)

    def _orthonormalize(self, v: Tensor) -> Tensor:
        q, logs, dead = orthonormalize(v)
        if self._accumulate:
            self.log_sum += logs
            self.dead |= dead
        self._pending = 0
        return q

    def advance(self, x: Tensor) -> Tensor:
        """Advance states and frame by one iteration; returns F(x)."""
        fx, v = self.propagate(x, self.frame)
        self._pending += 1
        self.frame = self._orthonormalize(v) if self._pending >= self.qr_every else v
        if self._accumulate:
            self.count += 1
        return fx

    def start(self) -> None:
        """Begin measuring: normalise the frame, zero the sums, re-seed columns that died.

        A column can die before measurement (an orbit that passed through a point where J
        annihilates it); that says nothing about the attractor, so it gets a fresh random
        direction. A column that dies *during* measurement yields λ = −inf, which is exact.
        """
        self._accumulate = False
        q, _, dead = orthonormalize(self.frame)
        rows = dead.any(-1)
        if bool(rows.any()):
            # Replace only the dead columns and put the live (aligned) ones first, so that
            # Gram–Schmidt keeps their alignment and fits the fresh ones around them.
            sub, sub_dead = q[rows], dead[rows]
            sub = torch.where(sub_dead.unsqueeze(1), self._fresh(sub.shape[0]), sub)
            order = torch.argsort(sub_dead.to(torch.int8), dim=-1, stable=True)
            sub = sub.gather(-1, order.unsqueeze(1).expand_as(sub))
            q[rows] = orthonormalize(sub)[0]
        self.frame = q
        self._pending = 0
        self.log_sum.zero_()
        self.dead.zero_()
        self.count = 0
        self._accumulate = True

    def reset_rows(self, rows: Tensor) -> None:
        """Give the orbits selected by the bool mask ``rows`` (B,) a fresh frame."""
        if bool(rows.any()):
            self.frame = self.frame.clone()
            self.frame[rows] = self._fresh(int(rows.sum()))

    def select(self, rows: Tensor) -> None:
        """Keep only the orbits selected by ``rows`` (a bool mask (B,) or an index tensor).

        For callers whose batch shrinks as orbits leave it: the kept orbits' frames and sums
        are unchanged, so their exponents are those they would have had in the full batch.
        """
        self.frame = self.frame[rows]
        self.log_sum = self.log_sum[rows]
        self.dead = self.dead[rows]
        self._shape = (int(self.frame.shape[0]), *self._shape[1:])

    def exponents(self) -> Tensor:
        """Exponents (B, k), float64, sorted descending; dead directions give −inf.

        Flushes growth pending since the last re-orthonormalisation first. Before any measured
        step every exponent is 0 (no evidence of growth or decay).
        """
        if self._pending and self._accumulate:
            self.frame = self._orthonormalize(self.frame)
        lam = self.log_sum / max(self.count, 1)
        lam = torch.where(self.dead, torch.full_like(lam, -torch.inf), lam)
        return lam.sort(dim=-1, descending=True).values


def jacobians(propagate: Propagator, x: Tensor) -> Tensor:
    """The Jacobians J(x) (B, D, D) of a map at states ``x`` (B, D), from its propagator.

    J is the propagator's tangent applied to the identity frame, so any linearisation
    :func:`make_propagator` accepts works: an analytic ``jacobian``, a ``tangent`` (for a ReLU
    RNN ``J I`` is ``D(h) W`` exactly: each entry is one product by 1 or 0) or automatic
    differentiation. All B orbits go at once, as the propagator's rows may carry parameters
    (holds B identity frames: chunk large batches with a propagator per chunk).
    """
    batch, dim = x.shape
    eye = torch.eye(dim, dtype=x.dtype, device=x.device)
    return propagate(x, eye.expand(batch, dim, dim).contiguous())[1]


def leading_log_moduli(jac: Tensor, k: int) -> Tensor:
    """The k largest log|eigenvalue| of each matrix of ``jac`` (B, D, D), (B, k) float64.

    Sorted descending; a zero eigenvalue gives −inf. These are the Lyapunov exponents of a
    fixed point x* with J(x*) = ``jac`` (and, divided by p, of a p-cycle with monodromy
    ``jac``).

    An index whose row (or column) is zero off the diagonal splits off its diagonal entry as
    an eigenvalue (expand det(J − μI) along that row), exactly; the rest is one dense
    eigenvalue problem of the remaining indices. For a ReLU RNN at a fixed point, J = D·W has
    a zero row per inactive unit, so the dense problem has the size of the active set, not N
    (the O(n³) eigensolver is ~8× cheaper at half the units active). One matrix at a time:
    torch 2.13's batched CPU LAPACK calls are not safe with several threads (see
    :mod:`cogdyn.linalg`).
    """
    batch, dim = jac.shape[0], jac.shape[-1]
    device, jac = jac.device, jac.cpu()  # small eigenproblems, one matrix each: on the CPU
    out = torch.empty(batch, k, dtype=torch.float64)
    eye = torch.eye(dim, dtype=torch.bool)
    off = jac.masked_fill(eye, 0) != 0
    trivial = ~(off.any(-1) & off.any(-2))  # (B, D): row or column zero off the diagonal
    diag = jac.diagonal(dim1=-2, dim2=-1)
    for i in range(batch):
        keep = ~trivial[i]
        mods = [diag[i][~keep].abs().to(torch.float64)]
        if bool(keep.any()):
            sub = jac[i][keep][:, keep]
            mods.append(torch.linalg.eigvals(sub).abs().to(torch.float64))
        logs = torch.log(torch.cat(mods))
        out[i] = logs.sort(descending=True).values[:k]
    return out.to(device)


def lyapunov_spectrum(
    step: StepFn,
    x0: Tensor,
    *,
    n_exponents: int = 2,
    steps: int = 2000,
    transient: int = 0,
    jacobian: JacobianFn | TangentFn | None = None,
    tangent: TangentFn | None = None,
    qr_every: int = 1,
    seed: int = 0,
) -> Tensor:
    """The ``n_exponents`` leading Lyapunov exponents of the orbits of ``step`` from ``x0``.

    Args:
        step: batched map (B, D) → (B, D), pure; differentiable by ``torch.func`` unless a
            ``jacobian`` or ``tangent`` is given.
        x0: initial states (B, D), float32 or float64.
        n_exponents: number of exponents k (at most D; larger values are clipped to D).
        steps: iterations averaged over (the measuring window).
        transient: iterations discarded first; the last ``min(transient, 200)`` of them already
            carry the tangent frame so it is aligned when measurement begins.
        jacobian, tangent: analytic linearisation, see :func:`make_propagator`.
        qr_every: re-orthonormalise every this many steps.
        seed: seeds the ``torch.Generator`` that draws the initial frames.

    Returns:
        (B, k) exponents in the dtype of ``x0``, natural log per iteration, sorted descending.
        A direction annihilated by the Jacobian gives −inf; an orbit that overflows gives +inf
        (use :func:`cogdyn.dynamics.classify_map` for a bounded-orbit guard with labels).
    """
    if x0.dim() != 2 or not x0.is_floating_point():
        raise ValueError(f"x0 must be a floating (B, D) tensor, got {tuple(x0.shape)} {x0.dtype}")
    for name, value, low in (("n_exponents", n_exponents, 1), ("steps", steps, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    if not isinstance(transient, int) or transient < 0:
        raise ValueError(f"transient must be an int >= 0, got {transient!r}")
    if not isinstance(qr_every, int) or qr_every < 1:
        raise ValueError(f"qr_every must be an int >= 1, got {qr_every!r}")
    generator = torch.Generator().manual_seed(seed)
    k = min(n_exponents, x0.shape[1])
    with torch.no_grad():
        x = x0.detach().clone()
        propagate = make_propagator(step, jacobian, tangent)
        flow = Benettin(propagate, x, k, qr_every=qr_every, generator=generator)
        align = min(transient, ALIGN_STEPS)
        for _ in range(transient - align):
            x = step(x)
        for _ in range(align):
            x = flow.advance(x)
        flow.start()
        for _ in range(steps):
            x = flow.advance(x)
        lam = flow.exponents()
        bad = ~torch.isfinite(x).all(-1) | torch.isnan(lam).any(-1)
        lam = torch.where(bad.unsqueeze(-1), torch.full_like(lam, torch.inf), lam)
    return lam.to(x0.dtype)
