"""MXNet 1.x math, reduction and index ops not covered elsewhere: ``gamma`` / ``gammaln`` (with
their gradient ops ``_backward_gamma`` / ``_backward_gammaln``), ``mx.nd.contrib.isinf`` /
``isfinite`` / ``isnan``, ``moments`` (mean and variance), ``_histogram`` (what MXNet's Python
``histogram`` wrapper calls), ``ravel_multi_index`` and ``unravel_index``.

The gamma-family special functions are plain array operations (:mod:`.special`), so they run
on every backend, OpenCL included; they compute in float64 (float32 on a device without it),
good to a few ulps, and cast back to the input dtype as MXNet does.
"""
from __future__ import annotations

import math

import numpy as np

from . import infer as I
from .attrs import Attr, Axes, Bool, OptInt
from .call import F
from .registry import Sample, defop
from .special import _digamma, _gamma, _lgamma, _trigamma_nd, _work


# -- shared helpers -------------------------------------------------------------------------------
def _s(a):
    return I.Spec(a.shape, a.dtype)


def _keep(xp, r, x):
    """MXNet keeps the input dtype (an integer input gets its result truncated). Results past
    a narrower float's range become +-inf before the cast, as the cast would round them, so
    that NumPy does not warn of an overflow that is the answer."""
    dt = np.dtype(x.dtype)
    if r.dtype == dt:
        return r
    if dt.kind == "f" and r.dtype.kind == "f" and dt.itemsize < r.dtype.itemsize:
        fi = np.finfo(dt)
        big = xp.abs(r) >= float(fi.max) + 2.0 ** (fi.maxexp - fi.nmant - 2)
        with np.errstate(invalid="ignore"):  # 0 * inf in the lanes where() drops
            r = xp.where(big, r * math.inf, r)
    return xp.astype(r, dt)


# -- gamma, gammaln and their gradient ops --------------------------------------------------------
gamma = defop("gamma", infer=I.same,
              doc="Elementwise Gamma function; the output keeps the input dtype. Poles: nan at "
                  "the negative integers, +-inf at +-0, as MXNet (C's tgamma).")
gammaln = defop("gammaln", infer=I.same,
                doc="Elementwise log |Gamma(x)|; +inf at the poles (x a non-positive integer).")
gamma.impl(lambda xp, x: _keep(xp, _gamma(xp, _work(xp, x)), x))
gammaln.impl(lambda xp, x: _keep(xp, _lgamma(xp, _work(xp, x)), x))


def _grad_infer(name):
    def rule(g, x):
        I.expect(tuple(g.shape) == tuple(x.shape) and g.dtype == x.dtype, name,
                 "lhs (the output gradient) and rhs (the data) of one shape and dtype",
                 f"lhs {tuple(g.shape)} {np.dtype(g.dtype).name}, "
                 f"rhs {tuple(x.shape)} {np.dtype(x.dtype).name}")
        return x
    return rule


gamma_grad = defop("_backward_gamma", ("lhs", "rhs"), infer=_grad_infer("_backward_gamma"),
                   doc="gamma's data gradient: ``lhs * Gamma(rhs) * digamma(rhs)``.")
gammaln_grad = defop("_backward_gammaln", ("lhs", "rhs"), infer=_grad_infer("_backward_gammaln"),
                     doc="gammaln's data gradient: ``lhs * digamma(rhs)`` (digamma: +-inf or nan "
                         "at the poles; MXNet gives DBL_MAX there).")


@gamma_grad.impl
def _(xp, g, x):
    gamma_grad.infer(_s(g), _s(x))
    w = _work(xp, x)
    return _keep(xp, _work(xp, g) * _gamma(xp, w) * _digamma(xp, w), x)


@gammaln_grad.impl
def _(xp, g, x):
    gammaln_grad.infer(_s(g), _s(x))
    return _keep(xp, _work(xp, g) * _digamma(xp, _work(xp, x)), x)


gamma.vjp(lambda g, out, x: (F._backward_gamma(g, x),))
gammaln.vjp(lambda g, out, x: (F._backward_gammaln(g, x),))


@gammaln_grad.vjp
def _(h, out, g, x):
    return F._backward_gammaln(h, x), h * g * _trigamma_nd(x)


@gamma_grad.vjp
def _(h, out, g, x):
    # d/dx Gamma psi = Gamma (psi^2 + psi1)
    hg = h * g
    psi = F._backward_gammaln(F.ones_like(x), x)
    return F._backward_gamma(h, x), hg * F.gamma(x) * (psi * psi + _trigamma_nd(x))


def _nonint(rng, lo, hi, n):
    """Negative arguments at least 0.1 away from the poles."""
    return rng.integers(lo, hi, n) + rng.uniform(0.1, 0.9, n)


gamma.samples(lambda rng: Sample(rng.uniform(0.05, 8, (3, 4))),
              lambda rng: Sample(_nonint(rng, -6, 0, 8)),
              lambda rng: Sample(rng.uniform(10, 13, (4,))))
gammaln.samples(lambda rng: Sample(rng.uniform(0.05, 12, (3, 4))),
                lambda rng: Sample(_nonint(rng, -8, 0, 8)),
                lambda rng: Sample(rng.uniform(20, 150, (5,))))
gamma_grad.samples(lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), rng.uniform(0.2, 5, (3, 4))),
                   lambda rng: Sample(rng.uniform(-1, 1, (6,)), _nonint(rng, -4, 0, 6)))
gammaln_grad.samples(lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), rng.uniform(0.1, 14, (3, 4))),
                     lambda rng: Sample(rng.uniform(-1, 1, (6,)), _nonint(rng, -5, 0, 6)))


# -- contrib isinf / isfinite / isnan -------------------------------------------------------------
def _predicate(name, float_fn, int_value, doc):
    op = defop(f"_contrib_{name}", infer=I.same, doc=doc + " 1 or 0 in the input's dtype; the "
               "gradient is zero, as MXNet's.")

    @op.impl
    def _(xp, x):
        if x.dtype.kind != "f":                    # integers are finite numbers
            return xp.full(x.shape, int_value, dtype=x.dtype, device=x.device)
        return xp.astype(float_fn(xp, x), x.dtype)

    op.vjp(lambda g, out, x: (F.zeros_like(x),))
    op.samples(lambda rng: Sample(np.array([0.0, np.inf, -np.inf, np.nan, 1.5, -2.0]), grad=False),
               lambda rng: Sample(rng.uniform(-2, 2, (3, 4))))
    return op


isinf = _predicate("isinf", lambda xp, x: xp.isinf(x), 0, "1 where data is +-inf.")
isfinite = _predicate("isfinite", lambda xp, x: xp.isfinite(x), 1,
                      "1 where data is neither inf nor nan.")
isnan = _predicate("isnan", lambda xp, x: xp.isnan(x), 0, "1 where data is nan.")


# -- moments --------------------------------------------------------------------------------------
def _moments_axes(x, axes):
    op = "moments"
    I.expect(axes is not None and axes != (), op, "axes naming at least one axis (pass every "
             "axis for global moments)", f"axes={axes}")
    ax = I.normalize_axis(axes, x.ndim, op)
    I.expect(len(set(ax)) == len(ax), op, "axes without duplicates",
             f"axes={axes} on {x.ndim} dims")
    return tuple(sorted(ax))


def _moments_infer(x, axes=None, keepdims=False):
    ax = _moments_axes(x, axes)
    I.expect(all(x.shape[a] > 0 for a in ax), "moments", "reduced axes of nonzero length",
             f"data.shape={tuple(x.shape)}, axes={ax}")
    out = I.Spec(I.reduce_shape(x.shape, ax, keepdims, op="moments"), x.dtype)
    return out, out


moments = defop("moments", ("data",), {"axes": Axes(None), "keepdims": Bool(False)},
                infer=_moments_infer, nout=2,
                doc="(mean, var) of data over ``axes`` (required: MXNet rejects none), the "
                    "variance the biased one, mean((x - mean)^2). Integer data computes in its "
                    "own dtype as MXNet: sums wrap, divisions truncate toward zero.")


def _trunc_div(xp, s, n):
    """``s / n`` truncated toward zero (C's integer division), in int64, back in s's dtype."""
    w = xp.astype(s, xp.int64)
    q = w // n
    q = xp.where((w - q * n != 0) & (w < 0), q + 1, q)
    return xp.astype(q, s.dtype)


@moments.impl
def _(xp, x, axes=None, keepdims=False):
    spec, _ = _moments_infer(_s(x), axes, keepdims)
    ax = _moments_axes(x, axes)
    if x.dtype.kind == "f":
        w = x if x.dtype.itemsize >= 4 else xp.astype(x, xp.float32)
        mean = xp.mean(w, axis=ax, keepdims=True)
        d = w - mean
        var = xp.mean(d * d, axis=ax, keepdims=True)
    else:
        n = math.prod(x.shape[a] for a in ax)
        mean = _trunc_div(xp, xp.sum(x, axis=ax, keepdims=True, dtype=x.dtype), n)
        d = x - mean
        var = _trunc_div(xp, xp.sum(d * d, axis=ax, keepdims=True, dtype=x.dtype), n)
    return (xp.reshape(_keep(xp, mean, x), spec.shape), xp.reshape(_keep(xp, var, x), spec.shape))


@moments.vjp
def _(g, out, x, axes=None, keepdims=False):
    ax = _moments_axes(x, axes)
    kshape = I.reduce_shape(x.shape, ax, True)
    n = math.prod(x.shape[a] for a in ax)
    gm, gv = (F.reshape(t, shape=kshape) for t in g)
    mean = F.reshape(out[0], shape=kshape)
    return (gm * (1.0 / n) + gv * (x - mean) * (2.0 / n),)


moments.samples(lambda rng: Sample(rng.uniform(-2, 2, (3, 4)), axes=(1,)),
                lambda rng: Sample(rng.uniform(-2, 2, (2, 3, 4)), axes=(0, 2), keepdims=True),
                lambda rng: Sample(rng.uniform(-2, 2, (2, 3, 4)), axes=(-1, 0)),
                lambda rng: Sample(rng.uniform(-2, 2, (2, 3)), axes=(0, 1)))


# -- _histogram -----------------------------------------------------------------------------------
_INT64 = np.dtype(np.int64)


def _hist_infer(data, bins=None, bin_cnt=None, range=None):
    op = "_histogram"
    if bins is None:
        I.expect(bin_cnt is not None and range is not None, op,
                 "bin_cnt and range given together, or a bins array of edges",
                 f"bin_cnt={bin_cnt}, range={range}, no bins")
        I.expect(bin_cnt >= 1, op, "bin_cnt >= 1", f"bin_cnt={bin_cnt}")
        I.expect(len(range) == 2 and all(math.isfinite(v) for v in range) and
                 range[0] <= range[1], op, "range (lo, hi) finite with lo <= hi",
                 f"range={range}")
        return I.Spec((bin_cnt,), _INT64), I.Spec((bin_cnt + 1,), data.dtype)
    I.expect(bin_cnt is None and range is None, op,
             "either a bins array or bin_cnt with range, not both",
             f"bins of shape {tuple(bins.shape)}, bin_cnt={bin_cnt}, range={range}")
    I.expect(bins.ndim == 1 and bins.shape[0] >= 2, op, "bins a 1-D array of >= 2 edges",
             f"bins.shape={tuple(bins.shape)}")
    I.expect(bins.dtype == data.dtype, op, "bins of data's dtype",
             f"data {np.dtype(data.dtype).name}, bins {np.dtype(bins.dtype).name}")
    return I.Spec((bins.shape[0] - 1,), _INT64), I.Spec(tuple(bins.shape), data.dtype)


histogram = defop(
    "_histogram", ("data", "bins"),
    {"bin_cnt": OptInt(None), "range": Attr(None, "floats")},
    infer=_hist_infer, nout=2, differentiable=False,
    doc="Histogram of the flattened data: returns (counts int64, bin edges in data's dtype). "
        "Either ``bin_cnt`` equal bins over ``range`` = (lo, hi) (lo == hi widens it to "
        "lo - 0.5, hi + 0.5), or the edges in a 1-D ``bins`` array (non-decreasing; for others "
        "a value falls in the bin before the first edge above it, as MXNet's scan). Bins are "
        "half-open [e_i, e_i+1) except the last, which holds its right edge; values outside "
        "the edges and nan are not counted. Differences from MXNet: bin_cnt < 1 and a "
        "non-finite range are errors. No gradient (MXNet has none).")

histogram.dtype_rule = lambda dts, attrs: (_INT64, dts[0])

#: Elements of one (values x edges) comparison block of the generic bodies.
_BLOCK = 1 << 22


def _maybe(xp, name):
    """``xp.<name>`` or None (OpenCL's namespace raises NotImplementedError for what it lacks)."""
    try:
        return getattr(xp, name, None)
    except NotImplementedError:
        return None


def _blocks(n, width):
    step = max(1, _BLOCK // max(width, 1))
    return [(s, min(n, s + step)) for s in range(0, n, step)]


def _leading_run(xp, d, edges):
    """For each value, how many leading edges e_0, e_1, ... satisfy ``d - e >= 0``: MXNet's
    linear scan (``>=`` directly for integers, where C promotes instead of wrapping)."""
    n = edges.shape[0]
    if d.shape[0] == 0:
        return xp.zeros((0,), dtype=xp.int64, device=d.device)
    e = xp.reshape(edges, (1, n))
    parts = []
    for s, t in _blocks(d.shape[0], n):
        v = xp.reshape(d[s:t], (t - s, 1))
        ok = (v - e) >= 0 if d.dtype.kind == "f" else v >= e
        stop = xp.astype(xp.logical_not(ok), xp.int32)
        first = xp.argmax(stop, axis=1)
        parts.append(xp.where(xp.max(stop, axis=1) > 0, xp.astype(first, xp.int64), n))
    return parts[0] if len(parts) == 1 else xp.concat(parts)


def _count(xp, b, valid, nbins):
    """int64 counts of bin indices ``b`` where ``valid``."""
    k = xp.where(valid, b + 1, 0)                      # 0: not counted
    bincount = _maybe(xp, "bincount")
    if bincount is not None:
        return xp.astype(bincount(k, minlength=nbins + 1)[1:], xp.int64)
    ks = xp.reshape(xp.arange(1, nbins + 1, dtype=xp.int64, device=b.device), (1, nbins))
    total = xp.zeros((nbins,), dtype=xp.int64, device=b.device)
    for s, t in _blocks(k.shape[0], nbins):
        hit = xp.reshape(k[s:t], (t - s, 1)) == ks
        total = total + xp.sum(xp.astype(hit, xp.int64), axis=0)
    return total


@histogram.impl
def _(xp, data, bins=None, bin_cnt=None, range=None):
    _hist_infer(_s(data), None if bins is None else _s(bins), bin_cnt, range)
    x = xp.reshape(data, (-1,))
    if bins is not None:
        n = bins.shape[0] - 1
        inside = (x >= bins[0:1]) & (x <= bins[n:n + 1])
        b = xp.minimum(_leading_run(xp, x, bins) - 1, n - 1)
        return _count(xp, b, inside & (b >= 0), n), xp.astype(bins, bins.dtype, copy=True)
    lo, hi = range
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    # as MXNet: edges computed in double and cast to data's dtype; a first guess of the bin from
    # (d - lo) / width, corrected by one against those edges
    d = _work(xp, x)
    i = xp.arange(bin_cnt + 1, dtype=d.dtype, device=d.device)
    edges = xp.astype((hi * i + (bin_cnt - i) * lo) / bin_cnt, data.dtype)
    inside = (d >= lo) & (d <= hi)
    guess = xp.floor(xp.where(inside, d - lo, 0.0) * bin_cnt / (hi - lo))
    b = xp.astype(xp.minimum(guess, bin_cnt - 1), xp.int64)
    b = b - xp.astype(x < xp.take(edges, b), xp.int64)
    b = b + xp.astype((x >= xp.take(edges, b + 1)) & (b != bin_cnt - 1), xp.int64)
    return _count(xp, b, inside & (b >= 0), bin_cnt), edges


histogram.samples(
    lambda rng: Sample(rng.uniform(-1, 3, (4, 5)), bin_cnt=5, range=(0.0, 2.0)),
    lambda rng: Sample(np.array([[0.0, 1], [2, 2], [3, 4]]), bin_cnt=4, range=(0, 4)),
    lambda rng: Sample(rng.uniform(-1, 3, (17,)), np.array([-0.5, 0.1, 0.7, 2.5])),
    lambda rng: Sample(np.array([0.0, 0.5, 1, 1.5, 2.0, 2.1, np.nan, np.inf]),
                       np.array([0.0, 0.5, 1.5, 2.0])),
    lambda rng: Sample(np.array([0.4, 0.6, 1.0, 1.4, 1.6]), bin_cnt=2, range=(1.0, 1.0)),
)


# -- ravel_multi_index / unravel_index ------------------------------------------------------------
def _check_shape(op, shape):
    I.expect(shape is not None and len(shape) > 0, op, "a non-empty shape", f"shape={shape}")
    I.expect(all(s >= 1 for s in shape[1:]), op,
             "shape dimensions >= 1 after the first (which may be -1: it is never used)",
             f"shape={shape}")


def _ravel_infer(x, shape=None):
    op = "ravel_multi_index"
    _check_shape(op, shape)
    I.expect(x.ndim == 2 and x.shape[0] == len(shape), op,
             f"data of shape ({len(shape)}, N): one row per dimension of shape={shape}",
             f"data.shape={tuple(x.shape)}")
    return I.Spec((x.shape[1],), x.dtype)


def _unravel_infer(x, shape=None):
    _check_shape("unravel_index", shape)
    return I.Spec((len(shape),) + tuple(x.shape), x.dtype)


_SHAPE_ATTR = {"shape": Attr(None, "shape")}
ravel = defop("ravel_multi_index", ("data",), _SHAPE_ATTR, infer=_ravel_infer,
              aliases=("_ravel_multi_index",),
              doc="Flat indices of the multi-indices in the columns of data (len(shape), N) in "
                  "an array of ``shape``: sum_j data[j] * prod(shape[j+1:]), in data's dtype. "
                  "As MXNet: no bounds check (out-of-range and negative indices enter the sum "
                  "as they are; ``shape[0]`` is never used, so -1 may stand for it) and "
                  "fractional ones truncate toward zero at each step. nan/inf give nan (MXNet: "
                  "garbage); dimensions after the first must be >= 1. The gradient is zero.")
unravel = defop("unravel_index", ("data",), _SHAPE_ATTR, infer=_unravel_infer,
                aliases=("_unravel_index",),
                doc="Multi-indices (len(shape), *data.shape) of the flat indices in data for an "
                    "array of ``shape``, in data's dtype. As MXNet: the index truncates toward "
                    "zero, then C's division and remainder by shape[-1], shape[-2], ..., "
                    "shape[1]; what is left is row 0 (no bounds check: ``shape[0]`` is never "
                    "used, so -1 may stand for it). Differences: N-d data gets NumPy's layout "
                    "(MXNet 1.9.1 mis-sizes the output), nan/inf give nan, dimensions after the "
                    "first must be >= 1 (MXNet divides by them). The gradient is zero.")


def _c_div(xp, a, s):
    """C's truncating ``a / s`` for int64 ``a`` and a positive int ``s``."""
    q = a // s
    return xp.where((a < 0) & (q * s != a), q + 1, q)


@ravel.impl
def _(xp, x, shape=None):
    _ravel_infer(_s(x), shape)
    if x.dtype.kind == "f":
        w = _work(xp, x)
        ret = xp.trunc(w[0])
        for j in range(1, len(shape)):
            ret = xp.trunc(ret * shape[j] + w[j])
    else:
        w = xp.astype(x, xp.int64)
        ret = w[0]
        for j in range(1, len(shape)):
            ret = ret * shape[j] + w[j]
    return _keep(xp, ret, x)


@unravel.impl
def _(xp, x, shape=None):
    _unravel_infer(_s(x), shape)
    floating = x.dtype.kind == "f"
    if floating:
        finite = xp.isfinite(x)
        idx = xp.astype(xp.trunc(xp.where(finite, _work(xp, x), 0.0)), xp.int64)
    else:
        idx = xp.astype(x, xp.int64)
    rows = []
    for s in reversed(shape[1:]):
        q = _c_div(xp, idx, s)
        rows.append(idx - q * s)
        idx = q
    out = _keep(xp, xp.stack([idx] + rows[::-1], axis=0), x)
    return xp.where(finite, out, math.nan) if floating else out


ravel.vjp(lambda g, out, x, shape=None: (F.zeros_like(x),))
unravel.vjp(lambda g, out, x, shape=None: (F.zeros_like(x),))

ravel.samples(
    lambda rng: Sample(np.array([[3.0, 6, 6], [4, 5, 1]]), shape=(7, 6), grad=False),
    lambda rng: Sample(np.array([[1.0, 0, 7, -1], [2, 3, 0, 2], [4, 0, 1, 9]]), shape=(-1, 3, 5),
                       grad=False),
    lambda rng: Sample(np.array([[2.3, -1.6, 0.4], [1.4, 2.8, -0.3]]), shape=(4, 5)),
)
unravel.samples(
    lambda rng: Sample(np.array([22.0, 41, 37]), shape=(7, 6), grad=False),
    lambda rng: Sample(np.array([[5.0, 100, -7], [0, 59, 13]]), shape=(-1, 3, 4), grad=False),
    lambda rng: Sample(np.array([22.4, -3.3, 7.6]), shape=(7, 6)),
)
