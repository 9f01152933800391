"""Independent references for ``mxplug/ops/math_extra.py``: SciPy's special functions for
gamma/gammaln and their gradients, NumPy for the predicates and moments, and element-by-element
Python loops for ``_histogram``, ``ravel_multi_index`` and ``unravel_index`` written from
MXNet 1.x's documented (and, for out-of-range input, observed) behaviour."""
from __future__ import annotations

import math

import numpy as np
from scipy import special


def _same(fn):
    """``fn`` computed in float64 and returned in the input's dtype, as MXNet keeps it."""
    return lambda x: fn(np.asarray(x, np.float64)).astype(np.asarray(x).dtype)


def _backward(fn):
    def ref(g, x):
        g, x = np.asarray(g), np.asarray(x)
        return (g.astype(np.float64) * fn(x.astype(np.float64))).astype(x.dtype)
    return ref


def _moments(x, axes=None, keepdims=False):
    ax = tuple(sorted(a % x.ndim for a in ((axes,) if isinstance(axes, int) else axes)))
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=ax, keepdims=True)
    var = ((x64 - mean) ** 2).mean(axis=ax, keepdims=True)
    if not keepdims:
        mean, var = np.squeeze(mean, ax), np.squeeze(var, ax)
    shape = mean.shape or (1,)
    return mean.reshape(shape).astype(x.dtype), var.reshape(shape).astype(x.dtype)


def _histogram(data, bins=None, bin_cnt=None, range=None):
    """Counts by testing each value against the edges in turn (bins[i] <= v < bins[i+1], the
    last bin closed on the right; nan and values outside not counted)."""
    values = [float(v) for v in np.asarray(data).ravel()]
    if bins is None:     # equal bins: the range itself (in double) bounds what is counted
        lo, hi = float(range[0]), float(range[1])
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.array([(hi * i + (bin_cnt - i) * lo) / bin_cnt for i in np.arange(bin_cnt + 1)],
                         dtype=np.asarray(data).dtype)
    else:
        edges = np.asarray(bins).copy()
        lo, hi = float(edges[0]), float(edges[-1])
    e = [float(v) for v in edges]
    counts = np.zeros(len(e) - 1, np.int64)
    for v in values:
        if math.isnan(v) or v < lo or v > hi:
            continue
        for i in np.arange(len(e) - 1):
            if e[i] <= v < e[i + 1] or (i == len(e) - 2 and v == e[-1]):
                counts[i] += 1
                break
    return counts, edges


def _ravel(data, shape=None):
    data = np.asarray(data)
    out = []
    for col in data.T:
        ret = 0
        for j, s in enumerate(shape):       # MXNet: ret = int(ret * shape[j] + data[j])
            ret = math.trunc(ret * s + float(col[j]))
        out.append(ret)
    return np.array(out, np.int64).astype(data.dtype)


def _unravel(data, shape=None):
    data = np.asarray(data)
    out = np.zeros((len(shape),) + data.shape, np.int64)
    for pos in np.ndindex(*data.shape):
        idx = math.trunc(float(data[pos]))
        for j in np.arange(len(shape) - 1, 0, -1):
            q = abs(idx) // shape[j] * (1 if idx >= 0 else -1)      # C's truncating division
            out[(j,) + pos] = idx - q * shape[j]
            idx = q
        out[(0,) + pos] = idx
    return out.astype(data.dtype)


REFERENCES = {
    "gamma": _same(special.gamma),
    "gammaln": _same(special.gammaln),
    "_backward_gamma": _backward(lambda x: special.gamma(x) * special.digamma(x)),
    "_backward_gammaln": _backward(special.digamma),
    "_contrib_isinf": lambda x: np.isinf(x).astype(x.dtype),
    "_contrib_isfinite": lambda x: np.isfinite(x).astype(x.dtype),
    "_contrib_isnan": lambda x: np.isnan(x).astype(x.dtype),
    "moments": _moments,
    "_histogram": _histogram,
    "ravel_multi_index": _ravel,
    "unravel_index": _unravel,
}
