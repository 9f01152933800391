"""Log likelihood of a marked self-exciting Hawkes process — ``_contrib_hawkesll`` (MXNet 1.x's
``mx.nd.contrib.hawkesll``) and its gradient op ``_contrib_backward_hawkesll``.

Each of the N rows of ``lags`` / ``marks`` (N, T) is a left-aligned ragged sequence of
``valid_length[i]`` points: interarrival times and the mark (process id in ``[0, K)``) of each.
Mark ``k`` has the conditional intensity ``lda[i, k] + alpha[k] * beta[k] * s_k(t)`` where the
memory ``s_k(t) = state[i, k] exp(-beta[k] t) + sum_{earlier points t_j of mark k}
exp(-beta[k] (t - t_j))``; ``loglike[i]`` is the sum of the log intensities at the points minus
the compensators (the intensities integrated over ``(0, max_time[i]]``), and ``out_state`` is
the memory at ``max_time``. The body is MXNet's recursion (one step per point, every row and
mark at once), over the array-API namespace, so it runs on every backend.

Gradients, as in MXNet: ``lda``, ``alpha`` and ``beta`` get theirs; ``state``, ``lags``,
``marks``, ``valid_length`` and ``max_time`` none. Deliberate differences from MXNet 1.9.1:

- ``out_state``'s incoming gradient reaches ``beta`` (MXNet drops it and differentiates only
  ``loglike``): with a zero one — ``loglike.backward()`` — the gradients are MXNet's.
- float64 inputs are computed in float64 (MXNet's kernel calls ``expf``/``logf``, so its float64
  results carry float32 rounding); float16 inputs in float32, rounded back to float16.
- ``marks`` may be of any integer or float dtype (float ones truncated), where MXNet wants
  int32: mxplug's Symbol type inference gives an untyped ``marks`` variable float32, not the
  int32 MXNet's gives it.
- Marks outside ``[0, K)`` count for the time only (MXNet reads outside its buffers), and a
  ``valid_length`` past T counts T points (MXNet reads into the next row); attaching a gradient
  to ``lags``, ``valid_length`` or ``max_time`` gives zeros where MXNet fails a check.
"""

from __future__ import annotations

import numpy as np

from . import infer as I
from .call import F
from .registry import Sample, defop

__all__ = ["hawkesll", "hawkesll_grad"]

_OP = "hawkesll"
_INPUTS = ("lda", "alpha", "beta", "state", "lags", "marks", "valid_length", "max_time")


def _shape(x):
    return tuple(x.shape)


def _check(op, lda, alpha, beta, state, lags, marks, valid_length, max_time):
    """MXNet's shape and type rules for the eight inputs; returns ``(N, K, dtype)``."""
    given = dict(zip(_INPUTS, (lda, alpha, beta, state, lags, marks, valid_length, max_time)))
    for name, ndim, form in (("lda", 2, "(N, K)"), ("alpha", 1, "(K,)"), ("beta", 1, "(K,)"),
                             ("state", 2, "(N, K)"), ("lags", 2, "(N, T)"),
                             ("marks", 2, "(N, T)"), ("valid_length", 1, "(N,)"),
                             ("max_time", 1, "(N,)")):
        x = given[name]
        I.expect(x.ndim == ndim, op, f"{name} of shape {form}", f"{name}.shape={_shape(x)}")
    n, t = lags.shape
    k = lda.shape[1]
    for name, want in (("lda", (n, k)), ("alpha", (k,)), ("beta", (k,)), ("state", (n, k)),
                       ("marks", (n, t)), ("valid_length", (n,)), ("max_time", (n,))):
        got = _shape(given[name])
        I.expect(got == want, op,
                 f"{name} of shape {want} (N={n}, T={t} from lags, K={k} from lda)",
                 f"{name}.shape={got}")
    I.expect_float(lda, op, "lda")
    dt = np.dtype(lda.dtype)
    for name in _INPUTS[1:]:
        if name == "marks":
            continue
        other = np.dtype(given[name].dtype)
        I.expect(other == dt, op, f"{name} of lda's dtype {dt.name}",
                 f"{name}.dtype={other.name}")
    mdt = np.dtype(marks.dtype)
    I.expect(mdt.kind in "iuf", op, "marks of dtype int32 (or another integer or float dtype)",
             f"marks.dtype={mdt.name}")
    return n, k, dt


def _infer(lda, alpha, beta, state, lags, marks, valid_length, max_time):
    n, k, dt = _check(_OP, lda, alpha, beta, state, lags, marks, valid_length, max_time)
    return I.Spec((n,), dt), I.Spec((n, k), dt)


hawkesll = defop(
    "_contrib_hawkesll", _INPUTS, infer=_infer, nout=2,
    doc="Log likelihood (N,) of N marked Hawkes process observations, and the process memory "
        "(N, K) at max_time: background intensities lda (N, K), branching ratios alpha (K,), "
        "decays beta (K,), the memory at time 0 state (N, K), interarrival times lags (N, T), "
        "marks (N, T) int32 in [0, K), the number of valid points valid_length (N,) and the "
        "observation period max_time (N,). Gradients for lda, alpha and beta.")
hawkesll.nograd("state", "lags", "marks", "valid_length", "max_time")
hawkesll.output_names = lambda attrs: ["output", "out_state"]


def _work(xp, arrays, dt):
    """``arrays`` in the compute dtype: the input dtype, float32 for float16."""
    work = np.dtype("float32") if dt.itemsize < 4 else dt
    return work, [a if a.dtype == work else xp.astype(a, work) for a in arrays]


def _int_marks(xp, marks):
    """Marks as int32; float marks (a Symbol's untyped ``marks`` variable is float32) truncated,
    as a C conversion would."""
    return marks if marks.dtype == xp.int32 else xp.astype(marks, xp.int32)


class _Steps:
    """The per-point recursion shared by the forward and the backward bodies: for each step
    ``j`` the points (rows, marks) ``hit``, the time since the mark's previous point ``d`` (0
    elsewhere), its decay ``ed`` and the memory ``s`` before the point."""

    def __init__(self, xp, lags, marks, valid_length, state, work):
        self.xp, self.lags, self.marks, self.valid = xp, lags, marks, valid_length
        n, k = state.shape
        self.ids = xp.arange(k, dtype=marks.dtype)
        self.zero = xp.zeros((n, k), dtype=work)
        self.t = xp.zeros((n,), dtype=work)
        self.last = self.zero

    def __iter__(self):
        xp = self.xp
        for j in range(self.lags.shape[1]):
            active = self.valid > j
            self.t = xp.where(active, self.t + self.lags[:, j], self.t)
            hit = (self.marks[:, j:j + 1] == self.ids) & active[:, None]
            tt = self.t[:, None]
            d = xp.where(hit, tt - self.last, self.zero)
            yield hit, d
            self.last = xp.where(hit, tt, self.last)

    def remaining(self, max_time):
        """The time from each mark's last point to the end of the observation period."""
        return max_time[:, None] - self.last


@hawkesll.impl
def _(xp, lda, alpha, beta, state, lags, marks, valid_length, max_time):
    _, _, dt = _check(_OP, lda, alpha, beta, state, lags, marks, valid_length, max_time)
    work, (lda, alpha, beta, s, lags, valid_length, max_time) = _work(
        xp, (lda, alpha, beta, state, lags, valid_length, max_time), dt)
    n, k = lda.shape
    steps = _Steps(xp, lags, _int_marks(xp, marks), valid_length, s, work)
    one = xp.ones((n, k), dtype=work)
    ll = xp.zeros((n,), dtype=work)
    ab = alpha * beta
    for hit, d in steps:
        ed = xp.exp(-beta * d)
        lam = lda + ab * s * ed
        comp = lda * d + alpha * s * (1 - ed)
        term = xp.log(xp.where(hit, lam, one)) - comp
        ll = ll + xp.sum(xp.where(hit, term, steps.zero), axis=1)
        s = xp.where(hit, 1 + s * ed, s)
    d = steps.remaining(max_time)
    ed = xp.exp(-beta * d)
    ll = ll - xp.sum(lda * d + alpha * s * (1 - ed), axis=1)
    s = ed * s
    if work != dt:
        ll, s = xp.astype(ll, dt), xp.astype(s, dt)
    return ll, s


# -- the gradient op -------------------------------------------------------------------------------
_GRAD = "_contrib_backward_hawkesll"


def _grad_infer(g_ll, g_state, lda, alpha, beta, state, lags, marks, valid_length, max_time):
    n, k, dt = _check(_GRAD, lda, alpha, beta, state, lags, marks, valid_length, max_time)
    for name, g, want in (("out_grad", g_ll, (n,)), ("out_state_grad", g_state, (n, k))):
        I.expect(_shape(g) == want and np.dtype(g.dtype) == dt, _GRAD,
                 f"{name} of shape {want} and dtype {dt.name} (hawkesll's output)",
                 f"{name} {_shape(g)} {np.dtype(g.dtype).name}")
    return I.Spec((n, k), dt), I.Spec((k,), dt), I.Spec((k,), dt)


hawkesll_grad = defop(
    _GRAD, ("out_grad", "out_state_grad") + _INPUTS, infer=_grad_infer, nout=3,
    differentiable=False,
    doc="hawkesll's gradients for lda (N, K), alpha (K,) and beta (K,) given the gradients of "
        "its outputs loglike (N,) and out_state (N, K) (out_state depends on beta only).")


@hawkesll_grad.impl
def _(xp, g_ll, g_state, lda, alpha, beta, state, lags, marks, valid_length, max_time):
    _, _, dt = _check(_GRAD, lda, alpha, beta, state, lags, marks, valid_length, max_time)
    work, (g_ll, g_state, lda, alpha, beta, s, lags, valid_length, max_time) = _work(
        xp, (g_ll, g_state, lda, alpha, beta, state, lags, valid_length, max_time), dt)
    n, k = lda.shape
    steps = _Steps(xp, lags, _int_marks(xp, marks), valid_length, s, work)
    zero, one = steps.zero, xp.ones((n, k), dtype=work)
    ds = g_lda = g_alpha = g_beta = zero  # ds: d(memory)/d(beta)
    for hit, d in steps:
        ed = xp.exp(-beta * d)
        inv = 1 / xp.where(hit, lda + alpha * beta * s * ed, one)
        g_lda = g_lda + xp.where(hit, inv - d, zero)
        g_alpha = g_alpha + xp.where(hit, beta * s * ed * inv - s * (1 - ed), zero)
        step_beta = (alpha * ed * (s * (1 - beta * d) + beta * ds) * inv
                     - alpha * (ds * (1 - ed) + s * d * ed))
        g_beta = g_beta + xp.where(hit, step_beta, zero)
        ds = xp.where(hit, ed * (ds - d * s), ds)
        s = xp.where(hit, 1 + s * ed, s)
    d = steps.remaining(max_time)
    ed = xp.exp(-beta * d)
    w = g_ll[:, None]
    g_lda = w * (g_lda - d)
    g_alpha = w * (g_alpha - s * (1 - ed))
    g_beta = w * (g_beta - alpha * (ds * (1 - ed) + s * d * ed)) + g_state * ed * (ds - d * s)
    outs = (g_lda, xp.sum(g_alpha, axis=0), xp.sum(g_beta, axis=0))
    return outs if work == dt else tuple(xp.astype(o, dt) for o in outs)


@hawkesll.vjp
def _(g, out, lda, alpha, beta, state, lags, marks, valid_length, max_time):
    g_ll, g_state = g
    grads = F._contrib_backward_hawkesll(g_ll, g_state, lda, alpha, beta, state, lags, marks,
                                         valid_length, max_time)
    return (*grads, None, None, None, None, None)


# -- samples ---------------------------------------------------------------------------------------
def _case(rng, n, t, k, lengths=None, state=True, horizon=1.5):
    """Positive parameters and sequences; max_time past every row's last point."""
    lags = rng.uniform(0.05, 1.5, (n, t))
    lengths = rng.integers(0, t + 1, n) if lengths is None else np.asarray(lengths)
    last = np.array([lags[i, :int(lengths[i])].sum() for i in range(n)])
    return (rng.uniform(0.3, 2.0, (n, k)), rng.uniform(0.1, 0.9, (k,)),
            rng.uniform(0.3, 3.0, (k,)),
            rng.uniform(0.0, 1.5, (n, k)) if state else np.zeros((n, k)), lags,
            rng.integers(0, k, (n, t)).astype(np.int32), lengths.astype(np.float64),
            last + rng.uniform(0.1, horizon, n))


hawkesll.samples(
    lambda rng: Sample(*_case(rng, 3, 6, 2, lengths=[6, 3, 0])),
    lambda rng: Sample(*_case(rng, 2, 5, 1, state=False)),
    lambda rng: Sample(*_case(rng, 4, 7, 3, lengths=[7, 5, 2, 1], horizon=4.0)),
)
hawkesll_grad.samples(
    lambda rng: Sample(rng.uniform(-1, 1, 3), rng.uniform(-1, 1, (3, 2)),
                       *_case(rng, 3, 6, 2, lengths=[6, 4, 1]), grad=False),
    lambda rng: Sample(rng.uniform(-1, 1, 2), np.zeros((2, 3)), *_case(rng, 2, 5, 3),
                       grad=False),
)
