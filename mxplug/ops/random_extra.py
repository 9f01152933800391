"""The rest of MXNet 1.x's random ops, over the counter-based generator of :mod:`.random`:

- ``random_negative_binomial`` / ``random_generalized_negative_binomial`` (``mx.nd.random.
  negative_binomial(k, p)``, ``generalized_negative_binomial(mu, alpha)``);
- the per-element samplers ``sample_{uniform, normal, gamma, exponential, poisson,
  negative_binomial, generalized_negative_binomial}``: parameter arrays of shape ``s`` and
  ``shape=t`` give ``s + t`` draws (what ``mx.nd.random.<dist>`` calls with NDArray parameters);
- ``_random_<dist>_like``: draws of ``data``'s shape and dtype (``mx.nd.random.<dist>_like``);
- the densities ``random_pdf_{uniform, normal, gamma, exponential, poisson, negative_binomial,
  generalized_negative_binomial, dirichlet}`` with gradients for the sample (continuous
  distributions) and the parameters, as MXNet.

Draws use the word layout of ``mxplug/random.py``: with equal parameters, ``sample_<dist>`` and
``_random_<dist>_like`` give the numbers ``random_<dist>`` gives for the same key, counter and
shape. The negative binomials draw ``Poisson(Gamma(...))`` as MXNet does: the gamma with the
call's key (gamma's rounds), the Poisson with ``key ^ _POISSON_KEY`` (Poisson's rounds).

Where MXNet differs, on purpose:
- invalid parameters raise (the ``sample_*`` ops check every element, MXNet checks none and
  returns garbage or loops forever, e.g. ``sample_gamma`` with alpha <= 0), and
  ``negative_binomial`` wants ``0 < p <= 1`` (MXNet draws garbage for p = 0 or p > 1);
- the densities are 0 (log: -inf) outside the support (MXNet evaluates its formula anyway, so
  ``random_pdf_uniform`` is ``1 / (high - low)`` and ``random_pdf_exponential`` ``lam e^(-lam x)``
  everywhere) and NaN for invalid parameters (sigma, alpha, beta, lam <= 0, high <= low, ...),
  with the limits where MXNet gives NaN: ``0 log 0 = 0`` (Poisson lam = 0 and negative binomial
  p = 1 at x = 0 have density 1) and the generalized negative binomial at alpha = 0 is the
  Poisson(mu) limit (as its sampler). As MXNet, the discrete densities take non-integer samples
  (the Gamma-function extension) and the Dirichlet density is not restricted to the simplex.
"""
from __future__ import annotations

import math

import numpy as np

from . import infer as I
from .attrs import Bool, Dtype, Float, Int, Shape
from .call import F
from .random import (
    _STATE,
    DRAW,
    _check_positive,
    _check_range,
    _check_scale,
    _float_dtype,
    _full,
    _gamma,
    _gen,
    _poisson,
    _size,
)
from .registry import Sample, defop
from .special import _lgamma, _work

#: Key mask of the Poisson stage of the negative binomial samplers (a splitmix64 constant).
_POISSON_KEY = 0xBF58476D1CE4E5B9
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


# -- the negative binomials' draws (added to random.DRAW) -----------------------------------------
def _neg_binomial(xp, key, counter, shape_k, scale):
    """Poisson(Gamma(shape_k) * scale); shape_k == 0 gives 0."""
    pos = shape_k > 0
    lam = xp.where(pos, _gamma(xp, key, counter, xp.where(pos, shape_k, 1.0)) * scale, 0.0)
    return _poisson(xp, key ^ _POISSON_KEY, counter, lam)


def _gnb(xp, key, counter, mu, alpha):
    """alpha > 0: NB(k = 1 / alpha, mean mu); alpha == 0: Poisson(mu), as MXNet."""
    pos = alpha > 0
    a = xp.where(pos, alpha, 1.0)
    lam = xp.where(pos, _gamma(xp, key, counter, 1.0 / a) * (mu * a), mu)
    return _poisson(xp, key ^ _POISSON_KEY, counter, lam)


DRAW["negative_binomial"] = lambda xp, key, c, n, dt, dev, k, p: _neg_binomial(
    xp, key, c, k, (1.0 - p) / p)
DRAW["generalized_negative_binomial"] = lambda xp, key, c, n, dt, dev, mu, alpha: _gnb(
    xp, key, c, mu, alpha)


# -- random_negative_binomial, random_generalized_negative_binomial -------------------------------
def _check_nb(name, k=1, p=1.0, **_):
    I.expect(k >= 0, name, "k >= 0", f"k={k}")
    I.expect(0.0 < p <= 1.0, name, "0 < p <= 1", f"p={p}")


def _check_gnb(name, mu=1.0, alpha=1.0, **_):
    I.expect(mu >= 0, name, "mu >= 0", f"mu={mu}")
    I.expect(alpha >= 0, name, "alpha >= 0", f"alpha={alpha}")


random_negative_binomial = _gen(
    "random_negative_binomial", {"k": Int(1), "p": Float(1.0)}, _check_nb,
    lambda xp, n, key, counter, dtype, k=1, p=1.0:
        DRAW["negative_binomial"](xp, key, counter, n, dtype, None, _full(xp, n, k), p),
    "Negative binomial samples: failures before the ``k``-th success, success probability "
    "``p`` (mean ``k (1 - p) / p``); floats of the output dtype, as in MXNet.",
    [lambda rng: Sample(k=3, p=0.4, shape=(3, 4), key=5, counter=2),
     lambda rng: Sample(k=20, p=0.2, shape=(6,), dtype="float64", key=8, counter=1),
     lambda rng: Sample(k=0, p=0.5, shape=(2,), key=1, counter=1)],
    aliases=("_random_negative_binomial",))

random_generalized_negative_binomial = _gen(
    "random_generalized_negative_binomial", {"mu": Float(1.0), "alpha": Float(1.0)}, _check_gnb,
    lambda xp, n, key, counter, dtype, mu=1.0, alpha=1.0:
        _gnb(xp, key, counter, _full(xp, n, mu), _full(xp, n, alpha)),
    "Generalized negative binomial samples: mean ``mu``, dispersion ``alpha`` (variance "
    "``mu + alpha mu^2``; alpha = 0 is Poisson(mu)); floats of the output dtype.",
    [lambda rng: Sample(mu=2.0, alpha=0.3, shape=(3, 4), key=6, counter=3),
     lambda rng: Sample(mu=4.0, alpha=0.0, shape=(5,), dtype="float64", key=2, counter=9)],
    aliases=("_random_generalized_negative_binomial",))


# -- sample_*: one distribution per parameter element ---------------------------------------------
def _sample_rule(name, params):
    def rule(*specs, shape=(), dtype="float32", **_):
        _float_dtype(name, dtype)
        first = specs[0]
        for p, s in zip(params, specs):
            I.expect(np.dtype(s.dtype).kind in "iuf", name, f"a numeric {p}",
                     f"{p}.dtype={np.dtype(s.dtype).name}")
        I.expect(all(tuple(s.shape) == tuple(first.shape) and s.dtype == first.dtype
                     for s in specs), name, f"{', '.join(params)} of one shape and dtype",
                 ", ".join(f"{p} {tuple(s.shape)} {np.dtype(s.dtype).name}"
                           for p, s in zip(params, specs)))
        return I.Spec((tuple(first.shape) + tuple(shape)) or (1,), np.dtype(dtype))
    return rule


_VALID = {  # per-element parameter conditions (what the random_* ops check of their numbers)
    "uniform": (lambda low, high: low <= high, "low <= high"),
    "normal": (lambda mu, sigma: sigma >= 0, "sigma >= 0"),
    "gamma": (lambda alpha, beta: (alpha > 0) & (beta > 0), "alpha > 0 and beta > 0"),
    "exponential": (lambda lam: lam > 0, "lam > 0"),
    "poisson": (lambda lam: lam >= 0, "lam >= 0"),
    "negative_binomial": (lambda k, p: (k >= 0) & (p > 0) & (p <= 1), "k >= 0 and 0 < p <= 1"),
    "generalized_negative_binomial": (lambda mu, alpha: (mu >= 0) & (alpha >= 0),
                                      "mu >= 0 and alpha >= 0"),
}


def _sampler(dist, params, doc, samples):
    name = f"sample_{dist}"
    rule, (valid, what) = _sample_rule(name, params), _VALID[dist]
    op = defop(name, params, {"shape": Shape(()), "dtype": Dtype("float32"), **_STATE},
               infer=rule, differentiable=False, random=True, aliases=("_" + name,),
               doc=doc + " Parameter arrays of shape ``s`` (all one shape) and ``shape=t`` give "
               "``s + t`` draws: ``out[i]`` holds ``t`` draws of the distribution at ``i``.")

    @op.impl
    def _(xp, *arrays, shape=(), dtype="float32", key=0, counter=0):
        spec = rule(*[I.Spec(a.shape, np.dtype(a.dtype)) for a in arrays], shape=shape,
                    dtype=dtype)
        per, s = _size(shape), _size(arrays[0].shape)
        vals = [xp.reshape(a.astype(xp.float64), (s,)) for a in arrays]
        bad = s - int(xp.sum(valid(*vals).astype(xp.int64)))
        I.expect(bad == 0, name, f"{what} for every element",
                 f"{bad} of {s} parameter elements violate it "
                 f"({', '.join(f'{p}.shape={tuple(a.shape)}' for p, a in zip(params, arrays))})")
        flat = [xp.reshape(xp.broadcast_to(xp.reshape(v, (s, 1)), (s, per)), (-1,)) for v in vals]
        v = DRAW[dist](xp, key, counter, s * per, dtype, arrays[0].device, *flat)
        return xp.reshape(v, spec.shape).astype(dtype)

    # a Symbol's unknown parameter shapes are the known one's (as MXNet infers them)
    op.params(lambda *ss, **_: next(({i: tuple(s.shape) for i in range(len(ss))}
                                     for s in ss if s is not None), {}))
    op.samples(*samples)
    return op


sample_uniform = _sampler(
    "uniform", ("low", "high"), "Uniform samples in ``[low, high)`` per element.",
    [lambda rng: Sample(np.array([-1.0, 0.5, 2.0]), np.array([0.0, 3.0, 2.0]), shape=(2, 3),
                        key=4, counter=7),
     lambda rng: Sample(rng.uniform(-2, 0, (2, 2)), rng.uniform(0, 2, (2, 2)), dtype="float64",
                        key=2 ** 35 + 1, counter=5)])
sample_normal = _sampler(
    "normal", ("mu", "sigma"), "Normal samples, mean ``mu``, standard deviation ``sigma``.",
    [lambda rng: Sample(np.array([0.0, 2.5]), np.array([1.0, 3.7]), shape=(3,), key=3, counter=1),
     lambda rng: Sample(rng.uniform(-1, 1, (3, 1)), rng.uniform(0.1, 2, (3, 1)), shape=(5,),
                        dtype="float64", key=9, counter=2)])
sample_gamma = _sampler(
    "gamma", ("alpha", "beta"), "Gamma samples, shape ``alpha``, scale ``beta``.",
    [lambda rng: Sample(np.array([0.4, 1.0, 3.5]), np.array([1.0, 2.0, 0.5]), shape=(4,),
                        key=5, counter=3),
     lambda rng: Sample(rng.uniform(0.2, 6, (2, 2)), rng.uniform(0.5, 2, (2, 2)), dtype="float64",
                        key=1, counter=8)])
sample_exponential = _sampler(
    "exponential", ("lam",), "Exponential samples, rate ``lam`` (mean ``1 / lam``).",
    [lambda rng: Sample(np.array([1.0, 4.0]), shape=(2, 3), key=6, counter=6),
     lambda rng: Sample(rng.uniform(0.5, 3, (3,)), dtype="float64", key=7, counter=4)])
sample_poisson = _sampler(
    "poisson", ("lam",), "Poisson samples, rate ``lam`` (floats of the output dtype).",
    [lambda rng: Sample(np.array([0.0, 2.5, 40.0]), shape=(4,), key=8, counter=2),
     lambda rng: Sample(np.array([[1, 3], [12, 0]], dtype=np.int32), dtype="float64", key=2,
                        counter=3, fixed_dtype=True)])
sample_negative_binomial = _sampler(
    "negative_binomial", ("k", "p"),
    "Negative binomial samples: failures before the ``k``-th success (``k`` may be "
    "fractional), success probability ``p``.",
    [lambda rng: Sample(np.array([1.0, 2.5, 0.0]), np.array([0.4, 0.5, 0.3]), shape=(3,),
                        key=3, counter=4),
     lambda rng: Sample(np.array([[20.0], [4.0]]), np.array([[0.2], [1.0]]), shape=(2,),
                        dtype="float64", key=4, counter=1)])
sample_generalized_negative_binomial = _sampler(
    "generalized_negative_binomial", ("mu", "alpha"),
    "Generalized negative binomial samples: mean ``mu``, dispersion ``alpha`` (0: Poisson).",
    [lambda rng: Sample(np.array([2.0, 2.5, 0.0, 3.0]), np.array([1.0, 0.1, 0.5, 0.0]),
                        shape=(2,), key=5, counter=5),
     lambda rng: Sample(rng.uniform(0.5, 20, (3,)), rng.uniform(0.05, 1, (3,)), dtype="float64",
                        key=6, counter=2)])


# -- _random_<dist>_like: draws of data's shape and dtype -----------------------------------------
def _like(dist, attrs, check, doc, samples):
    name = f"_random_{dist}_like"

    def rule(data, **kw):
        _float_dtype(name, data.dtype)
        check(name, **kw)
        return I.Spec(tuple(data.shape), np.dtype(data.dtype))

    op = defop(name, ("data",), {**attrs, **_STATE}, infer=rule, differentiable=False,
               random=True, doc=doc + " Shape and (float) dtype of ``data``, whose values are "
               "not read.")

    @op.impl
    def _(xp, x, key=0, counter=0, **kw):
        rule(I.Spec(x.shape, np.dtype(x.dtype)), **kw)
        n, dev = _size(x.shape), x.device
        vals = [xp.full((n,), float(kw.get(a, attrs[a].default)), dtype=xp.float64, device=dev)
                for a in attrs]
        v = DRAW[dist](xp, key, counter, n, x.dtype, dev, *vals)
        return xp.reshape(v, x.shape).astype(x.dtype)

    op.samples(*samples)
    return op


uniform_like = _like(
    "uniform", {"low": Float(0.0), "high": Float(1.0)}, _check_range,
    "Uniform samples in ``[low, high)``.",
    [lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), low=-1.0, high=2.0, key=7, counter=3)])
normal_like = _like(
    "normal", {"loc": Float(0.0), "scale": Float(1.0)}, _check_scale("scale"),
    "Normal samples, mean ``loc``, standard deviation ``scale``.",
    [lambda rng: Sample(rng.uniform(-1, 1, (5,)), loc=1.0, scale=2.0, key=11, counter=4)])
gamma_like = _like(
    "gamma", {"alpha": Float(1.0), "beta": Float(1.0)}, _check_positive("alpha", "beta"),
    "Gamma samples, shape ``alpha``, scale ``beta``.",
    [lambda rng: Sample(rng.uniform(-1, 1, (2, 3)), alpha=2.5, beta=0.5, key=9, counter=8)])
exponential_like = _like(
    "exponential", {"lam": Float(1.0)}, _check_positive("lam"),
    "Exponential samples, rate ``lam``.",
    [lambda rng: Sample(rng.uniform(-1, 1, (4,)), lam=2.0, key=5, counter=1)])
poisson_like = _like(
    "poisson", {"lam": Float(1.0)}, _check_scale("lam"), "Poisson samples, rate ``lam``.",
    [lambda rng: Sample(rng.uniform(-1, 1, (2, 4)), lam=12.0, key=4, counter=4)])
negative_binomial_like = _like(
    "negative_binomial", {"k": Int(1), "p": Float(1.0)}, _check_nb,
    "Negative binomial samples (``k`` successes, success probability ``p``).",
    [lambda rng: Sample(rng.uniform(-1, 1, (3, 2)), k=3, p=0.4, key=2, counter=2)])
generalized_negative_binomial_like = _like(
    "generalized_negative_binomial", {"mu": Float(1.0), "alpha": Float(1.0)}, _check_gnb,
    "Generalized negative binomial samples (mean ``mu``, dispersion ``alpha``).",
    [lambda rng: Sample(rng.uniform(-1, 1, (5,)), mu=2.0, alpha=0.3, key=6, counter=3)])


# -- random_pdf_*: densities, forward over xp (in float64), gradients in mxplug ops ---------------
def _xlogy(xp, a, y):
    """``a * log(y)`` for ``y >= 0``, with ``0 * log(0) = 0``."""
    pos = y > 0
    t = a * xp.log(xp.where(pos, y, 1.0))
    edge = xp.where(a < 0, math.inf, xp.zeros_like(t))
    return xp.where(pos, t, xp.where(a > 0, -math.inf, edge))


def _safe(xp, ok, v):
    return xp.where(ok, v, 1.0)


def _done(xp, lp, inside, valid):
    """-inf outside the support (None: everywhere inside), nan for invalid parameters."""
    return xp.where(valid, lp if inside is None else xp.where(inside, lp, -math.inf), math.nan)


def _lp_uniform(xp, x, low, high):
    valid = high > low
    lp = -xp.log(_safe(xp, valid, high - low))
    return _done(xp, lp, (x >= low) & (x <= high), valid)


def _lp_normal(xp, x, mu, sigma):
    valid = sigma > 0
    s = _safe(xp, valid, sigma)
    z = (x - mu) / s
    return _done(xp, -0.5 * z * z - xp.log(s) - _HALF_LOG_2PI, None, valid)


def _lp_gamma(xp, x, alpha, beta):
    valid, inside = (alpha > 0) & (beta > 0), x >= 0
    a, b, xs = _safe(xp, valid, alpha), _safe(xp, valid, beta), _safe(xp, inside, x)
    lp = a * xp.log(b) + _xlogy(xp, a - 1.0, xs) - b * xs - _lgamma(xp, a)
    return _done(xp, lp, inside, valid)


def _lp_exponential(xp, x, lam):
    valid, inside = lam > 0, x >= 0
    lm = _safe(xp, valid, lam)
    return _done(xp, xp.log(lm) - lm * x, inside, valid)


def _lp_poisson_raw(xp, xs, lam):
    return _xlogy(xp, xs, lam) - lam - _lgamma(xp, xs + 1.0)


def _lp_poisson(xp, x, lam):
    valid, inside = lam >= 0, x >= 0
    xs = _safe(xp, inside, x)
    return _done(xp, _lp_poisson_raw(xp, xs, _safe(xp, valid, lam)), inside, valid)


def _lp_nb_raw(xp, xs, k, log_p, q):
    """log C(x + k - 1, x) + k log p + x log q (q = 1 - p)."""
    return (_lgamma(xp, xs + k) - _lgamma(xp, xs + 1.0) - _lgamma(xp, k) + k * log_p
            + _xlogy(xp, xs, q))


def _lp_negative_binomial(xp, x, k, p):
    valid, inside = (k > 0) & (p > 0) & (p <= 1), x >= 0
    kk, pp, xs = _safe(xp, valid, k), _safe(xp, valid, p), _safe(xp, inside, x)
    return _done(xp, _lp_nb_raw(xp, xs, kk, xp.log(pp), 1.0 - pp), inside, valid)


def _lp_generalized_negative_binomial(xp, x, mu, alpha):
    valid, inside, pos = (mu >= 0) & (alpha >= 0), x >= 0, alpha > 0
    m, a, xs = _safe(xp, valid, mu), _safe(xp, pos, alpha), _safe(xp, inside, x)
    ma = m * a                                          # k = 1 / a, p = 1 / (1 + ma)
    nb = _lp_nb_raw(xp, xs, 1.0 / a, -xp.log1p(ma), ma / (1.0 + ma))
    return _done(xp, xp.where(pos, nb, _lp_poisson_raw(xp, xs, m)), inside, valid)


def _lp_dirichlet(xp, x, alpha):
    valid, inside = xp.all(alpha > 0, axis=-1), xp.all(x >= 0, axis=-1)
    a, xs = _safe(xp, alpha > 0, alpha), _safe(xp, x >= 0, x)
    lp = (_lgamma(xp, xp.sum(a, axis=-1)) - xp.sum(_lgamma(xp, a), axis=-1)
          + xp.sum(_xlogy(xp, a - 1.0, xs), axis=-1))
    return _done(xp, lp, inside, valid)


def _psi(a):
    """digamma in mxplug ops (differentiable again)."""
    return F._backward_gammaln(F.ones_like(a), a)


def _d_gnb(x, mu, alpha):
    mu, alpha = F.broadcast_like(mu, x), F.broadcast_like(alpha, x)
    pos = alpha > 0
    a = F.where(pos, alpha, F.ones_like(alpha))
    k, q = 1.0 / a, 1.0 + mu * a
    d_mu = F.where(pos, x / mu - (1.0 + x * a) / q, x / mu - 1.0)
    d_nb = -(k * k) * (_psi(x + k) - _psi(k) - F.log(q)) + x / a - (k + x) * mu / q
    d_alpha = F.where(pos, d_nb, 0.5 * (F.square(x - mu) - x))   # the alpha -> 0 limit
    return [None, d_mu, d_alpha]


#: d log p / d (sample, *params), each broadcastable to the sample's shape; None: no gradient.
_DLP = {
    "uniform": lambda x, low, high: [None, 1.0 / (high - low), -1.0 / (high - low)],
    "normal": lambda x, mu, sigma: (lambda z: [-z / sigma, z / sigma, (z * z - 1.0) / sigma])(
        (x - mu) / sigma),
    "gamma": lambda x, alpha, beta: [(alpha - 1.0) / x - beta,
                                     F.log(beta) + F.log(x) - _psi(alpha), alpha / beta - x],
    "exponential": lambda x, lam: [-lam, 1.0 / lam - x],
    "poisson": lambda x, lam: [None, x / lam - 1.0],
    "negative_binomial": lambda x, k, p: [None, _psi(x + k) - _psi(k) + F.log(p),
                                          k / p - x / (1.0 - p)],
    "generalized_negative_binomial": _d_gnb,
    "dirichlet": lambda x, alpha: [(alpha - 1.0) / x,
                                   _psi(F.sum(alpha, axis=-1, keepdims=True)) - _psi(alpha)
                                   + F.log(x)],
}


def _pdf_rule(name, params, vector):
    """Parameters of one shape ``s`` (``s + (k,)`` for a ``vector`` distribution); the sample's
    shape starts with ``s`` (and ends with ``k``)."""
    def rule(x, *ps, is_log=False):
        names = ("sample",) + params
        for nm, s in zip(names, (x,) + ps):
            I.expect_float(s, name, nm, "MXNet takes only float16/32/64")
        I.expect(all(s.dtype == x.dtype for s in ps), name, "sample and parameters of one dtype",
                 ", ".join(f"{n}.dtype={np.dtype(s.dtype).name}" for n, s in zip(names, (x,) + ps)))
        p0 = tuple(ps[0].shape)
        I.expect(all(tuple(s.shape) == p0 for s in ps), name, f"{' and '.join(params)} of one "
                 "shape", ", ".join(f"{n}.shape={tuple(s.shape)}" for n, s in zip(params, ps)))
        xs = tuple(x.shape)
        if vector:
            ok = len(p0) >= 1 and len(xs) >= len(p0) and xs[-1] == p0[-1] and \
                xs[:len(p0) - 1] == p0[:-1]
            want = f"sample of shape {p0[:-1]} + (...) + {p0[-1:]} ({params[0]}'s shape {p0})"
        else:
            ok, want = xs[:len(p0)] == p0, f"sample's shape to start with {params[0]}'s {p0}"
        I.expect(ok, name, want, f"sample.shape={xs}")
        return I.Spec((xs[:-1] or (1,)) if vector else xs, x.dtype)
    return rule


def _pdf(dist, params, doc, samples, vector=False, discrete=False):
    name = f"random_pdf_{dist}"
    rule, logpdf, dlp = _pdf_rule(name, params, vector), globals()[f"_lp_{dist}"], _DLP[dist]
    op = defop(name, ("sample", *params), {"is_log": Bool(False)}, infer=rule,
               aliases=("_" + name,), doc=doc + " ``is_log``: the log-density instead.")
    if discrete:
        op.nograd("sample")  # MXNet's sample gradient is 0 for the discrete ones

    def expand(p, xnd, pnd):   # s (+ (k,)) -> s + (1,) * m (+ (k,)): broadcasts to the sample
        m, lead = xnd - pnd, pnd - vector
        return tuple(p[:lead]) + (1,) * m + tuple(p[lead:])

    @op.impl
    def _(xp, x, *ps, is_log=False):
        spec = rule(*[I.Spec(a.shape, np.dtype(a.dtype)) for a in (x, *ps)])
        w = [_work(xp, a) for a in (x, *ps)]
        ps = [xp.reshape(p, expand(p.shape, x.ndim, p.ndim)) for p in w[1:]]
        lp = logpdf(xp, w[0], *ps)
        return xp.reshape(lp if is_log else xp.exp(lp), spec.shape).astype(x.dtype)

    @op.vjp
    def _(g, out, x, *ps, is_log=False):
        lp = out if is_log else getattr(F, name)(x, *ps, is_log=True)
        scale = g if is_log else g * out
        if vector:    # one density per row of the sample's last axis
            scale, lp = (F.reshape(a, shape=tuple(x.shape[:-1]) + (1,)) for a in (scale, lp))
        keep = F.broadcast_to(lp != -math.inf, shape=tuple(x.shape))
        zero = F.zeros_like(keep)
        big = [F.reshape(p, shape=expand(p.shape, x.ndim, p.ndim)) for p in ps]
        grads = []
        for a, d in zip((x, *ps), dlp(x, *big)):
            if d is None:
                grads.append(None)
                continue
            full = scale * d
            if tuple(full.shape) != tuple(x.shape):
                full = F.broadcast_to(full, shape=tuple(x.shape))
            full = F.where(keep, full, zero)
            lead = a.ndim - vector
            if a is not x and x.ndim > a.ndim:
                full = F.reshape(F.sum(full, axis=tuple(range(lead, lead + x.ndim - a.ndim))),
                                 shape=tuple(a.shape))
            grads.append(full)
        return tuple(grads)

    op.samples(*samples)
    return op


def _ints(rng, hi, shape):
    return rng.integers(0, hi, shape).astype(np.float64)


pdf_uniform = _pdf(
    "uniform", ("low", "high"), "Density of Uniform(low, high) at ``sample``.",
    [lambda rng: Sample(rng.uniform(-0.9, 0.9, (2, 5)), rng.uniform(-2, -1, (2,)),
                        rng.uniform(1, 2, (2,))),
     lambda rng: Sample(np.array([[-3.0, 0.5], [1.5, 4.0]]), np.array([0.0, 1.0]),
                        np.array([1.0, 2.0]))])
pdf_normal = _pdf(
    "normal", ("mu", "sigma"), "Density of Normal(mu, sigma) at ``sample``.",
    [lambda rng: Sample(rng.uniform(-2, 2, (3, 4)), rng.uniform(-1, 1, (3,)),
                        rng.uniform(0.5, 2, (3,))),
     lambda rng: Sample(rng.uniform(-2, 2, (2, 3)), rng.uniform(-1, 1, (2, 3)),
                        rng.uniform(0.5, 2, (2, 3)), is_log=True)])
pdf_gamma = _pdf(
    "gamma", ("alpha", "beta"), "Density of Gamma(alpha, beta) at ``sample`` (``beta`` is the "
    "rate here, as MXNet's: ``beta^alpha x^(alpha-1) e^(-beta x) / Gamma(alpha)``).",
    [lambda rng: Sample(rng.uniform(0.2, 3, (3, 2)), rng.uniform(0.5, 3, (3,)),
                        rng.uniform(0.5, 2, (3,))),
     lambda rng: Sample(rng.uniform(0.2, 3, (4,)), rng.uniform(0.5, 3, (4,)),
                        rng.uniform(0.5, 2, (4,)), is_log=True)])
pdf_exponential = _pdf(
    "exponential", ("lam",), "Density of Exponential(lam) (rate ``lam``) at ``sample``.",
    [lambda rng: Sample(rng.uniform(0.1, 3, (2, 3)), rng.uniform(0.5, 2, (2,))),
     lambda rng: Sample(np.array([-1.0, 0.5, 2.0]), np.array([1.5, 0.5, 2.0]))])
pdf_poisson = _pdf(
    "poisson", ("lam",), "Probability of ``sample`` under Poisson(lam).",
    [lambda rng: Sample(_ints(rng, 7, (3, 4)), rng.uniform(0.5, 5, (3,))),
     lambda rng: Sample(_ints(rng, 7, (4,)), rng.uniform(0.5, 5, (4,)), is_log=True)],
    discrete=True)
pdf_negative_binomial = _pdf(
    "negative_binomial", ("k", "p"), "Probability of ``sample`` failures before the ``k``-th "
    "success, success probability ``p``.",
    [lambda rng: Sample(_ints(rng, 8, (2, 3)), rng.uniform(0.5, 4, (2,)),
                        rng.uniform(0.2, 0.8, (2,))),
     lambda rng: Sample(_ints(rng, 8, (4,)), rng.uniform(0.5, 4, (4,)),
                        rng.uniform(0.2, 0.8, (4,)), is_log=True)],
    discrete=True)
pdf_generalized_negative_binomial = _pdf(
    "generalized_negative_binomial", ("mu", "alpha"), "Probability of ``sample`` under the "
    "negative binomial of mean ``mu`` and dispersion ``alpha`` (``k = 1 / alpha``, ``p = 1 / "
    "(1 + mu alpha)``; alpha = 0: Poisson(mu)).",
    [lambda rng: Sample(_ints(rng, 8, (2, 3)), rng.uniform(0.5, 4, (2,)),
                        rng.uniform(0.1, 1.5, (2,))),
     lambda rng: Sample(_ints(rng, 8, (4,)), rng.uniform(0.5, 4, (4,)),
                        rng.uniform(0.1, 1.5, (4,)), is_log=True),
     lambda rng: Sample(np.array([0.0, 2.0, 5.0]), np.array([1.5, 2.0, 0.7]),
                        np.array([0.0, 0.0, 0.4]), grad=False)],
    discrete=True)
pdf_dirichlet = _pdf(
    "dirichlet", ("alpha",), "Density of Dirichlet(alpha) at ``sample`` (the last axis holds "
    "the k components; one density per row).",
    [lambda rng: Sample(rng.uniform(0.05, 1, (2, 3, 4)), rng.uniform(0.5, 3, (2, 4))),
     lambda rng: Sample(rng.uniform(0.05, 1, (3, 2)), rng.uniform(0.5, 3, (2,)), is_log=True)],
    vector=True)
