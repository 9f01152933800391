"""Independent references for ``mxplug/ops/random_extra.py``: the samplers element by element
from the pure-Python Philox of :mod:`.random` and the conversions documented in
``mxplug/random.py`` (the negative binomials: Poisson(Gamma) with the Poisson stage under
``key ^ 0xBF58476D1CE4E5B9``), and the densities from SciPy / closed forms with MXNet's
parametrisations (gamma density: rate beta; negative binomial: success probability p)."""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

from .random import gamma1, poisson1, std_normal, unit

POISSON_KEY = 0xBF58476D1CE4E5B9


# -- one draw of element i -----------------------------------------------------------------------
def nb1(key, counter, i, k, p):
    lam = gamma1(key, counter, i, k) * (1.0 - p) / p if k > 0 else 0.0
    return poisson1(key ^ POISSON_KEY, counter, i, lam)


def gnb1(key, counter, i, mu, alpha):
    lam = gamma1(key, counter, i, 1.0 / alpha) * mu * alpha if alpha > 0 else mu
    return poisson1(key ^ POISSON_KEY, counter, i, lam)


# -- n draws with per-element parameters (lists of floats) --------------------------------------
def _bits_dt(dtype):
    return "float64" if np.dtype(dtype).name == "float64" else "float32"


DRAWS = {
    "uniform": lambda key, c, n, dt, low, high:
        [lo + (hi - lo) * u for lo, hi, u in zip(low, high, unit(key, c, n, dt, half=11))],
    "normal": lambda key, c, n, dt, mu, sigma:
        [m + s * z for m, s, z in zip(mu, sigma, std_normal(key, c, n, dt))],
    "gamma": lambda key, c, n, dt, alpha, beta:
        [b * gamma1(key, c, i, a) for i, (a, b) in enumerate(zip(alpha, beta))],
    "exponential": lambda key, c, n, dt, lam:
        [-math.log(u) / lm for lm, u in zip(lam, unit(key, c, n, _bits_dt(dt), open0=True))],
    "poisson": lambda key, c, n, dt, lam: [poisson1(key, c, i, lm) for i, lm in enumerate(lam)],
    "negative_binomial": lambda key, c, n, dt, k, p:
        [nb1(key, c, i, a, b) for i, (a, b) in enumerate(zip(k, p))],
    "generalized_negative_binomial": lambda key, c, n, dt, mu, alpha:
        [gnb1(key, c, i, a, b) for i, (a, b) in enumerate(zip(mu, alpha))],
}


def _random(dist, names):
    """random_<dist>(params..., shape, dtype, key, counter)."""
    def ref(shape=(), dtype="float32", key=0, counter=0, ctx=None, **params):
        shape = tuple(shape) or (1,)
        n = math.prod(shape)
        vals = [[float(params[k])] * n for k in names]
        return np.array(DRAWS[dist](key, counter, n, dtype, *vals),
                        dtype=np.float64).reshape(shape).astype(dtype)
    return ref


def _sample(dist):
    """sample_<dist>(*arrays, shape, dtype): element (i, j) is draw i * prod(shape) + j."""
    def ref(*arrays, shape=(), dtype="float32", key=0, counter=0):
        per = math.prod(tuple(shape))
        vals = [[float(v) for v in np.asarray(a, np.float64).ravel() for _ in range(per)]
                for a in arrays]
        n = len(vals[0])
        out_shape = (tuple(arrays[0].shape) + tuple(shape)) or (1,)
        return np.array(DRAWS[dist](key, counter, n, dtype, *vals),
                        dtype=np.float64).reshape(out_shape).astype(dtype)
    return ref


def _like(dist, names, defaults):
    def ref(data, key=0, counter=0, **params):
        n = data.size
        vals = [[float(params.get(k, d))] * n for k, d in zip(names, defaults)]
        return np.array(DRAWS[dist](key, counter, n, data.dtype, *vals),
                        dtype=np.float64).reshape(data.shape).astype(data.dtype)
    return ref


# -- densities ------------------------------------------------------------------------------------
def _expand(p, ndim, vector=False):
    p = np.asarray(p, np.float64)
    lead = p.ndim - vector
    return p.reshape(p.shape[:lead] + (1,) * (ndim - p.ndim) + p.shape[lead:])


def _xlogy(a, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y > 0, a * np.log(np.where(y > 0, y, 1.0)),
                        np.where(a > 0, -np.inf, np.where(a < 0, np.inf, 0.0)))


def _finish(lp, inside, valid, is_log, dtype, shape):
    lp = np.where(valid, np.where(inside, lp, -np.inf), np.nan)
    out = lp if is_log else np.exp(lp)
    return np.asarray(out, np.float64).reshape(shape).astype(dtype)


def _density(logpdf, vector=False):
    def ref(sample, *params, is_log=False):
        x = np.asarray(sample, np.float64)
        ps = [_expand(p, x.ndim, vector) for p in params]
        with np.errstate(all="ignore"):
            lp, inside, valid = logpdf(x, *ps)
        shape = (x.shape[:-1] or (1,)) if vector else x.shape
        return _finish(lp, inside, valid, is_log, sample.dtype, shape)
    return ref


def _lp_nb(x, k, p):
    return (special.gammaln(x + k) - special.gammaln(x + 1) - special.gammaln(k)
            + k * np.log(p) + _xlogy(x, 1 - p))


def _lp_gnb(x, mu, alpha):
    a = np.where(alpha > 0, alpha, 1.0)
    nb = _lp_nb(x, 1 / a, 1 / (1 + mu * a))
    return np.where(alpha > 0, nb, _xlogy(x, mu) - mu - special.gammaln(x + 1))


def _lp_dirichlet(x, alpha):
    a = np.where(alpha > 0, alpha, 1.0)
    lp = (special.gammaln(a.sum(-1)) - special.gammaln(a).sum(-1)
          + _xlogy(a - 1, np.where(x >= 0, x, 1.0)).sum(-1))
    return lp, np.all(x >= 0, -1), np.all(alpha > 0, -1)


DENSITIES = {
    "uniform": _density(lambda x, lo, hi: (
        stats.uniform.logpdf(x, lo, np.where(hi > lo, hi - lo, 1.0)), True, hi > lo)),
    "normal": _density(lambda x, mu, s: (stats.norm.logpdf(x, mu, s), True, s > 0)),
    "gamma": _density(lambda x, a, b: (
        stats.gamma.logpdf(x, a, scale=1 / b), x >= 0, (a > 0) & (b > 0))),
    "exponential": _density(lambda x, lam: (
        stats.expon.logpdf(x, scale=1 / lam), x >= 0, lam > 0)),
    "poisson": _density(lambda x, lam: (
        _xlogy(x, lam) - lam - special.gammaln(x + 1), x >= 0, lam >= 0)),
    "negative_binomial": _density(lambda x, k, p: (
        _lp_nb(x, k, p), x >= 0, (k > 0) & (p > 0) & (p <= 1))),
    "generalized_negative_binomial": _density(lambda x, mu, alpha: (
        _lp_gnb(x, mu, alpha), x >= 0, (mu >= 0) & (alpha >= 0))),
    "dirichlet": _density(_lp_dirichlet, vector=True),
}

PARAMS = {"uniform": ("low", "high"), "normal": ("loc", "scale"), "gamma": ("alpha", "beta"),
          "exponential": ("lam",), "poisson": ("lam",), "negative_binomial": ("k", "p"),
          "generalized_negative_binomial": ("mu", "alpha")}
DEFAULTS = {"uniform": (0.0, 1.0), "normal": (0.0, 1.0), "gamma": (1.0, 1.0),
            "exponential": (1.0,), "poisson": (1.0,), "negative_binomial": (1, 1.0),
            "generalized_negative_binomial": (1.0, 1.0)}

REFERENCES = {
    "random_negative_binomial": _random("negative_binomial", ("k", "p")),
    "random_generalized_negative_binomial": _random("generalized_negative_binomial",
                                                    ("mu", "alpha")),
    **{f"sample_{d}": _sample(d) for d in DRAWS},
    **{f"_random_{d}_like": _like(d, PARAMS[d], DEFAULTS[d]) for d in DRAWS},
    **{f"random_pdf_{d}": f for d, f in DENSITIES.items()},
}
