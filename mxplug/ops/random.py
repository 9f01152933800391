"""Random ops over the counter-based Philox generator (``mxplug.random``), and Dropout.

Every random op is pure: its numbers are a function of its ``key`` and ``counter`` attributes,
which the front ends fill from ``mxplug.random.next_state()`` per call (``random=True``). The
word-to-value conversions are documented in ``mxplug/random.py``; backend kernels must copy them.
"""
from __future__ import annotations

import math

import numpy as np

from .. import random as R
from . import infer as I
from .attrs import Any, Bool, Dtype, Enum, Float, Int, Shape
from .dispatch import apply, state
from .registry import REGISTRY, Sample, defop

_STATE = {"key": Int(0), "counter": Int(0)}
_FLOATS = ("float16", "float32", "float64")
_MAX_ROUNDS = 64        # rejection rounds; P(an element still rejected) is astronomically small


def _attrs(**params):
    """Scalar parameters, then MXNet's shape/ctx/dtype, then the generator state."""
    return {**params, "shape": Shape(()), "ctx": Any(None), "dtype": Dtype("float32"), **_STATE}


def _size(shape):
    return int(math.prod(shape))


def _bits(dtype, half=24):
    """Uniform precision for an output dtype (float16 ``half``: 11 for uniform, else 24)."""
    dtype = np.dtype(dtype).name
    return 53 if dtype == "float64" else half if dtype == "float16" else 24


def _unit(xp, key, counter, n, bits, open0=False, device=None):
    """``n`` uniforms in [0, 1) (or (0, 1] with ``open0``) as float64, ``bits`` of precision."""
    if bits == 53:
        w = R.words(xp, key, counter, 2 * n, device=device)
        m = ((w[0::2] >> 5) << 26) | (w[1::2] >> 6)
    else:
        m = R.words(xp, key, counter, n, device=device) >> (32 - bits)
    if open0:
        m = m + 1
    return m.astype(xp.float64) * (2.0 ** -bits)


def _std_normal(xp, key, counter, n, bits, device=None):
    """``n`` standard normals (float64) by Box-Muller over (0, 1] uniforms."""
    m = (n + 1) // 2
    u = _unit(xp, key, counter, 2 * m, bits, open0=True, device=device)
    r, t = xp.sqrt(-2.0 * xp.log(u[0::2])), (2.0 * math.pi) * u[1::2]
    return xp.reshape(xp.stack((r * xp.cos(t), r * xp.sin(t)), axis=1), (-1,))[:n]


def _round_units(xp, key, counter, n, t, device=None):
    """Rejection round ``t``: four (0, 1] 24-bit uniforms per element (block x0=i, x1=t)."""
    w = xp.reshape(R.words(xp, key, counter, 4 * n, 0, t, device=device), (n, 4))
    return (((w >> 8) + 1).astype(xp.float64)) * (2.0 ** -24)


def _gamma(xp, key, counter, alpha):
    """Standard Gamma(alpha) draws (float64, alpha a float64 array) by Marsaglia-Tsang."""
    n = alpha.shape[0]
    small = alpha < 1.0
    a = xp.where(small, alpha + 1.0, alpha)        # Gamma(a) * U**(1/alpha) for alpha < 1
    d = a - 1.0 / 3.0
    c = 1.0 / xp.sqrt(9.0 * d)
    out = xp.zeros(n, dtype=xp.float64, device=alpha.device)
    done = xp.zeros(n, dtype=xp.bool, device=alpha.device)
    for t in range(_MAX_ROUNDS):
        u = _round_units(xp, key, counter, n, t, alpha.device)
        z = xp.sqrt(-2.0 * xp.log(u[:, 0])) * xp.cos((2.0 * math.pi) * u[:, 1])
        v = (1.0 + c * z) ** 3
        pos = v > 0
        logv = xp.log(xp.where(pos, v, 1.0))
        ok = pos & (xp.log(u[:, 2]) < 0.5 * z * z + d - d * v + d * logv)
        val = d * v
        val = xp.where(small, val * u[:, 3] ** (1.0 / xp.where(small, alpha, 1.0)), val)
        new = ok & ~done
        out = xp.where(new, val, out)
        done = done | ok
        if bool(xp.all(done)):
            break
    return out


# -- log-gamma for integer arguments (the array API has no lgamma) -------------------------------
_LOGGAM_A = (8.333333333333333e-02, -2.777777777777778e-03, 7.936507936507937e-04,
             -5.952380952380952e-04, 8.417508417508418e-04, -1.917526917526918e-03,
             6.410256410256410e-03, -2.955065359477124e-02, 1.796443723688307e-01,
             -1.39243221690590e+00)


def _loggam(xp, x):
    """log Gamma(x) for float64 ``x >= 1``: Stirling series at ``x + n >= 7``, shifted back."""
    n = xp.where(x < 7.0, 7.0 - xp.floor(x), 0.0)
    x0 = x + n
    x2 = 1.0 / (x0 * x0)
    g = _LOGGAM_A[9]
    for coef in _LOGGAM_A[8::-1]:
        g = g * x2 + coef
    gl = g / x0 + 0.5 * math.log(2.0 * math.pi) + (x0 - 0.5) * xp.log(x0) - x0
    for j in range(1, 8):
        gl = gl - xp.where(n >= j, xp.log(xp.where(n >= j, x0 - j, 1.0)), 0.0)
    return gl


def _poisson(xp, key, counter, lam):
    """Poisson(lam) draws (float64 counts): inversion for lam < 10, PTRS (Hoermann) above."""
    n = lam.shape[0]
    big = lam >= 10.0
    # inversion: X = min{k : u < F(k)} with u the first word of round 0
    u = _round_units(xp, key, counter, n, 0, lam.device)[:, 0] - 2.0 ** -24   # back to [0, 1)
    ls = xp.where(big, 0.0, lam)
    p = xp.exp(-ls)
    s, k = p, xp.zeros(n, dtype=xp.float64, device=lam.device)
    for j in range(1, 200):
        more = (u >= s) & ~big
        if not bool(xp.any(more)):
            break
        k = k + more
        p = p * ls / j
        s = s + p
    # PTRS rounds for lam >= 10 (rounds start at 1: round 0 fed the inversion)
    lb = xp.where(big, lam, 10.0)
    slam, loglam = xp.sqrt(lb), xp.log(lb)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    out, done = k, ~big
    for t in range(1, _MAX_ROUNDS):
        if bool(xp.all(done)):
            break
        w = _round_units(xp, key, counter, n, t, lam.device)
        uu, v = w[:, 0] - 0.5, w[:, 1]
        us = 0.5 - xp.abs(uu)
        kk = xp.floor((2.0 * a / us + b) * uu + lb + 0.43)
        quick = (us >= 0.07) & (v <= vr)
        bad = (kk < 0) | ((us < 0.013) & (v > us))
        lhs = xp.log(v) + xp.log(invalpha) - xp.log(a / (us * us) + b)
        rhs = -lb + kk * loglam - _loggam(xp, xp.maximum(kk, 0.0) + 1.0)
        ok = quick | (~bad & (lhs <= rhs))
        new = ok & ~done
        out = xp.where(new, kk, out)
        done = done | ok
    return out


# -- rules -----------------------------------------------------------------------------------------
def _full(xp, n, v):
    return xp.full((n,), float(v), dtype=xp.float64)


#: The samplers, one place for every op that draws from a distribution (``random_<dist>``,
#: ``sample_<dist>``, ``_random_<dist>_like``): ``DRAW[dist](xp, key, counter, n, dtype,
#: device, *params)`` -> ``n`` float64 values; a parameter is a number or ``n`` float64 values
#: (gamma's ``alpha`` and poisson's ``lam`` always the latter). ``random_extra`` adds the
#: negative binomials.
DRAW = {
    "uniform": lambda xp, key, c, n, dt, dev, low, high:
        low + (high - low) * _unit(xp, key, c, n, _bits(dt, half=11), device=dev),
    "normal": lambda xp, key, c, n, dt, dev, mu, sigma:
        mu + sigma * _std_normal(xp, key, c, n, _bits(dt), dev),
    "gamma": lambda xp, key, c, n, dt, dev, alpha, beta: beta * _gamma(xp, key, c, alpha),
    "exponential": lambda xp, key, c, n, dt, dev, lam:
        -xp.log(_unit(xp, key, c, n, _bits(dt), open0=True, device=dev)) / lam,
    "poisson": lambda xp, key, c, n, dt, dev, lam: _poisson(xp, key, c, lam),
}


def _float_dtype(op, dtype):
    I.expect(np.dtype(dtype).name in _FLOATS, op, "dtype in (float16, float32, float64)",
             f"dtype={np.dtype(dtype).name}")


def _gen_rule(name, check=None):
    """Shape rule of a generator op: ``shape`` (default (1,)), float ``dtype``, valid params."""
    def rule(shape=(), dtype="float32", **attrs):
        _float_dtype(name, dtype)
        if check:
            check(name, **attrs)
        return I.Spec(tuple(shape) or (1,), np.dtype(dtype))
    return rule


def _gen(name, params, check, body, doc, samples, aliases=()):
    """Declare a generator op whose body ``body(xp, n, key, counter, dtype, **params)`` returns
    ``n`` float64 values."""
    rule = _gen_rule(name, check)
    op = defop(name, (), _attrs(**params), infer=rule, differentiable=False, random=True,
               aliases=aliases, doc=doc)

    @op.impl
    def _(xp, shape=(), ctx=None, dtype="float32", key=0, counter=0, **kw):
        shape = rule(shape, dtype, **kw).shape
        v = body(xp, _size(shape), key, counter, dtype, **kw)
        return xp.reshape(v, shape).astype(dtype)

    op.samples(*samples)
    return op


def _check_range(name, low=0.0, high=1.0, **_):
    I.expect(low <= high, name, "low <= high", f"low={low}, high={high}")


def _check_scale(key):
    def check(name, **attrs):
        I.expect(attrs[key] >= 0, name, f"{key} >= 0", f"{key}={attrs[key]}")
    return check


def _check_positive(*keys):
    def check(name, **attrs):
        for k in keys:
            I.expect(attrs[k] > 0, name, f"{k} > 0", f"{k}={attrs[k]}")
    return check


random_uniform = _gen(
    "random_uniform", {"low": Float(0.0), "high": Float(1.0)}, _check_range,
    lambda xp, n, key, counter, dtype, low=0.0, high=1.0:
        DRAW["uniform"](xp, key, counter, n, dtype, None, low, high),
    "Uniform samples in ``[low, high)``.",
    [lambda rng: Sample(low=-1.0, high=3.0, shape=(3, 5), key=7, counter=3),
     lambda rng: Sample(shape=(9,), dtype="float64", key=2**40 + 5, counter=2**33 + 1),
     lambda rng: Sample(low=2.0, high=2.5, shape=(2, 3), dtype="float16", key=1, counter=0)],
    aliases=("_random_uniform", "uniform"))

random_normal = _gen(
    "random_normal", {"loc": Float(0.0), "scale": Float(1.0)}, _check_scale("scale"),
    lambda xp, n, key, counter, dtype, loc=0.0, scale=1.0:
        DRAW["normal"](xp, key, counter, n, dtype, None, loc, scale),
    "Normal samples with mean ``loc`` and standard deviation ``scale``.",
    [lambda rng: Sample(loc=1.0, scale=2.0, shape=(3, 5), key=11, counter=4),
     lambda rng: Sample(shape=(7,), dtype="float64", key=3, counter=9)],
    aliases=("_random_normal", "normal"))

random_exponential = _gen(
    "random_exponential", {"lam": Float(1.0)}, _check_positive("lam"),
    lambda xp, n, key, counter, dtype, lam=1.0:
        DRAW["exponential"](xp, key, counter, n, dtype, None, lam),
    "Exponential samples with rate ``lam`` (mean ``1 / lam``).",
    [lambda rng: Sample(lam=2.0, shape=(4, 3), key=5, counter=1),
     lambda rng: Sample(shape=(5,), dtype="float64", key=6, counter=2)],
    aliases=("_random_exponential",))

random_gamma = _gen(
    "random_gamma", {"alpha": Float(1.0), "beta": Float(1.0)}, _check_positive("alpha", "beta"),
    lambda xp, n, key, counter, dtype, alpha=1.0, beta=1.0:
        DRAW["gamma"](xp, key, counter, n, dtype, None, _full(xp, n, alpha), beta),
    "Gamma samples with shape ``alpha`` and scale ``beta`` (mean ``alpha * beta``).",
    [lambda rng: Sample(alpha=2.5, beta=0.5, shape=(3, 4), key=9, counter=8),
     lambda rng: Sample(alpha=0.4, shape=(6,), dtype="float64", key=1, counter=2)],
    aliases=("_random_gamma",))

random_poisson = _gen(
    "random_poisson", {"lam": Float(1.0)}, _check_scale("lam"),
    lambda xp, n, key, counter, dtype, lam=1.0:
        DRAW["poisson"](xp, key, counter, n, dtype, None, _full(xp, n, lam)),
    "Poisson samples with rate ``lam`` (as floats of the output dtype, as in MXNet).",
    [lambda rng: Sample(lam=3.0, shape=(3, 4), key=4, counter=4),
     lambda rng: Sample(lam=40.0, shape=(8,), dtype="float64", key=2, counter=6)],
    aliases=("_random_poisson",))


# -- randint and bernoulli -------------------------------------------------------------------------
def _randint_rule(low=0, high=1, shape=(), dtype="int32", **_):
    I.expect(np.dtype(dtype).name in ("int32", "int64"), "random_randint",
             "dtype in (int32, int64)", f"dtype={np.dtype(dtype).name}")
    I.expect(low < high, "random_randint", "low < high", f"low={low}, high={high}")
    I.expect(high - low <= 2 ** 32, "random_randint", "high - low <= 2**32",
             f"high - low = {high - low}")
    info = np.iinfo(np.dtype(dtype))
    I.expect(info.min <= low and high - 1 <= info.max, "random_randint",
             f"low, high - 1 within {np.dtype(dtype).name}", f"low={low}, high={high}")
    return I.Spec(tuple(shape) or (1,), np.dtype(dtype))


random_randint = defop(
    "random_randint", (), {"low": Int(0), "high": Int(1), "shape": Shape(()), "ctx": Any(None),
                           "dtype": Dtype("int32"), **_STATE},
    infer=_randint_rule, differentiable=False, random=True, aliases=("_random_randint",),
    doc="Uniform random integers in ``[low, high)``.")


@random_randint.impl
def _(xp, low=0, high=1, shape=(), ctx=None, dtype="int32", key=0, counter=0):
    _randint_rule(low, high, shape, dtype)
    shape = tuple(shape) or (1,)
    w = R.words(xp, key, counter, _size(shape))
    v = (w % (high - low)).astype(xp.int64) + low
    return xp.reshape(v, shape).astype(dtype)


random_randint.samples(
    lambda rng: Sample(low=-5, high=17, shape=(4, 5), key=3, counter=12),
    lambda rng: Sample(low=0, high=2 ** 32, shape=(6,), dtype="int64", key=8, counter=1))


def _bernoulli_rule(prob=0.5, shape=(), dtype="float32", **_):
    I.expect(0.0 <= prob <= 1.0, "random_bernoulli", "0 <= prob <= 1", f"prob={prob}")
    return I.Spec(tuple(shape) or (1,), np.dtype(dtype))


random_bernoulli = defop(
    "random_bernoulli", (), _attrs(prob=Float(0.5)), infer=_bernoulli_rule, differentiable=False,
    random=True, aliases=("_random_bernoulli", "bernoulli"),
    doc="Bernoulli samples: 1 with probability ``prob``, else 0.")


@random_bernoulli.impl
def _(xp, prob=0.5, shape=(), ctx=None, dtype="float32", key=0, counter=0):
    shape = _bernoulli_rule(prob, shape, dtype).shape
    u = _unit(xp, key, counter, _size(shape), _bits(dtype))
    return xp.reshape(u < prob, shape).astype(dtype)


random_bernoulli.samples(lambda rng: Sample(prob=0.3, shape=(5, 4), key=2, counter=5),
                         lambda rng: Sample(prob=0.7, shape=(6,), dtype="int32", key=4, counter=1))


# -- multinomial -----------------------------------------------------------------------------------
def _multinomial_rule(data, shape=(), get_prob=False, dtype="int32", **_):
    op = "sample_multinomial"
    I.expect(data.ndim >= 1 and data.shape[-1] >= 1, op,
             "data of shape (..., k) with k >= 1 probabilities", f"data.shape={data.shape}")
    I.expect_float(data, op, "data", "probabilities")
    I.expect(np.dtype(dtype).name in ("float16", "float32", "float64", "int32", "uint8"), op,
             "dtype in (float16, float32, float64, int32, uint8)", f"dtype={np.dtype(dtype).name}")
    out = tuple(data.shape[:-1]) + tuple(shape)
    s = I.Spec(out or (1,), np.dtype(dtype))
    return (s, I.Spec(s.shape, data.dtype)) if get_prob else s


sample_multinomial = defop(
    "sample_multinomial", ("data",), {"shape": Shape(()), "get_prob": Bool(False),
                                      "dtype": Dtype("int32"), **_STATE},
    infer=_multinomial_rule, differentiable=False, random=True,
    nout=lambda attrs: 2 if attrs.get("get_prob") else 1,
    aliases=("_sample_multinomial", "random_multinomial"),
    doc="Draw ``shape`` indices from each categorical distribution in the last axis of ``data``; "
        "with ``get_prob`` also return their log-probabilities.")


@sample_multinomial.impl
def _(xp, p, shape=(), get_prob=False, dtype="int32", key=0, counter=0):
    spec = _multinomial_rule(I.Spec(p.shape, np.dtype(p.dtype)), shape, get_prob, dtype)
    out_shape = (spec[0] if get_prob else spec).shape
    k, batch, per = p.shape[-1], _size(p.shape[:-1]), _size(shape)
    p2 = xp.reshape(p, (batch, k))
    cum = xp.cumulative_sum(p2.astype(xp.float64), axis=1)
    u = xp.reshape(_unit(xp, key, counter, batch * per, _bits(p.dtype), device=p.device),
                   (batch, per))
    # the first j with u < cum[j] (MXNet's scan), i.e. how many cum[j] <= u; rounding -> k - 1
    idx = xp.minimum(xp.sum((cum[:, None, :] <= u[:, :, None]).astype(xp.int64), axis=2), k - 1)
    res = xp.reshape(idx, out_shape).astype(dtype)
    if not get_prob:
        return res
    lp = xp.log(xp.take_along_axis(p2, idx, axis=1))
    return res, xp.reshape(lp, out_shape)


sample_multinomial.samples(
    lambda rng: Sample(np.array([[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1]]), shape=(5,),
                       key=3, counter=2, fixed_dtype=False),
    lambda rng: Sample(np.array([0.25, 0.25, 0.5]), key=1, counter=1),
    lambda rng: Sample(np.array([[0.5, 0.5], [0.9, 0.1]]), shape=(2, 3), get_prob=True,
                       dtype="float32", key=6, counter=7))


# -- shuffle ---------------------------------------------------------------------------------------
shuffle = defop("shuffle", ("data",), dict(_STATE), infer=I.same, differentiable=False,
                random=True, aliases=("_shuffle",),
                doc="Randomly permute the array along its first axis.")


@shuffle.impl
def _(xp, x, key=0, counter=0):
    n = x.shape[0]
    w = R.words(xp, key, counter, 2 * n, device=x.device)
    perm = xp.argsort((w[0::2] << 32) | w[1::2], stable=True)
    return xp.take(x, perm, axis=0)


shuffle.samples(lambda rng: Sample(rng.uniform(-1, 1, (6, 3)), key=5, counter=9),
                lambda rng: Sample(rng.uniform(-1, 1, (10,)), key=1, counter=2))


# -- Dropout ---------------------------------------------------------------------------------------
def _dropout_rule(x, p=0.5, mode="training", axes=(), **_):
    I.expect(0.0 <= p <= 1.0, "Dropout", "0 <= p <= 1", f"p={p}")
    for a in axes:
        I.expect(-x.ndim <= a < x.ndim, "Dropout", f"axes within the input's {x.ndim} dims",
                 f"axes={tuple(axes)} for data.shape={x.shape}")
    return x


Dropout = defop(
    "Dropout", ("data",), {"p": Float(0.5), "mode": Enum("training", "always"),
                           "axes": Shape(()), "cudnn_off": Bool(False), **_STATE},
    infer=_dropout_rule, random=True,
    doc="Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``; "
        "an identity unless training (``autograd.record()``/``train_mode``) or mode='always'. "
        "``axes`` share one mask along those axes (variational dropout).")


@Dropout.compose
def _(x, p=0.5, mode="training", axes=(), cudnn_off=False, key=0, counter=0):
    _dropout_rule(I.Spec(tuple(x.shape), np.dtype(x.dtype)), p, mode, axes)
    if (mode == "training" and not state.training) or p == 0.0:
        return apply(REGISTRY["copy"], x)
    shared = {a % x.ndim for a in axes}
    mshape = tuple(1 if i in shared else s for i, s in enumerate(x.shape))
    dt = np.dtype(x.dtype).name
    mask = apply(REGISTRY["random_bernoulli"], prob=1.0 - p, shape=mshape, ctx=x.context,
                 dtype=dt, key=key, counter=counter)
    return x * (mask * (1.0 / (1.0 - p))) if p < 1.0 else x * mask


Dropout.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (4, 5)), p=0.3, mode="always", key=2, counter=3),
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4, 2)), p=0.5, mode="always", axes=(1,), key=5,
                       counter=1))
