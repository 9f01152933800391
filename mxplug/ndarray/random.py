"""``mx.nd.random``: MXNet 1.x's sampling functions over the counter-based generator.

Each call takes one ``(key, counter)`` from ``mxplug.random.next_state()``, so after
``mx.random.seed(s)`` the same sequence of calls gives the same numbers on every backend.

As in MXNet, number parameters call the ``random_<dist>`` op (``shape`` draws, default
``(1,)``) and NDArray parameters (all of them, of one shape ``s``) the per-element
``sample_<dist>`` op (``s + shape`` draws; ``ctx`` is then the parameters'). ``<dist>_like(data,
...)`` draw an array of ``data``'s shape and dtype (MXNet's ``_random_<dist>_like`` ops).
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import random as _rng
from ..base import MXNetNotImplementedError, MXNetTypeError, MXNetValueError
from ..ops import REGISTRY, apply
from ..ops.dispatch import building_graph
from ..ops.frontend import make_frontend
from .ndarray import NDArray

__all__ = ["uniform", "normal", "randn", "randint", "exponential", "gamma", "poisson",
           "negative_binomial", "generalized_negative_binomial", "multinomial", "shuffle",
           "bernoulli", "seed", "uniform_like", "normal_like", "gamma_like", "exponential_like",
           "poisson_like", "negative_binomial_like", "generalized_negative_binomial_like"]

seed = _rng.seed
_NUMBERS = (numbers.Number, np.generic)  # MXNet's numeric_types


def _call(opname, inputs=(), out=None, **kwargs):
    op = REGISTRY[opname]
    attrs = op.parse_attrs(kwargs)
    if not building_graph():  # a traced graph draws its own state on every run
        attrs["key"], attrs["counter"] = _rng.next_state()
    res = apply(op, *inputs, **attrs)
    if out is not None:
        out[...] = res
        return out
    return res


def _same_type(params, kind):
    for p in params[1:]:
        if not isinstance(p, kind):
            raise AssertionError(f"Distribution parameters must all have the same type, but "
                                 f"got both {type(params[0])} and {type(p)}.")


def _gen(opname, fn, shape, dtype, ctx, out, **params):
    """MXNet's ``_random_helper``: NDArray parameters -> ``sample_<fn>``, numbers -> ``opname``."""
    values = list(params.values())
    if isinstance(values[0], NDArray):
        _same_type(values, NDArray)
        sampler = f"sample_{fn}"
        if sampler not in REGISTRY:
            raise MXNetNotImplementedError(f"random.{fn}: the parameters must be numbers "
                                           f"(MXNet has no per-element {fn} sampler)")
        return _call(sampler, values, out=out, shape=shape, dtype=dtype)
    if not isinstance(values[0], _NUMBERS):
        raise MXNetValueError(f"Distribution parameters must be either NDArray or numbers, but "
                              f"got {type(values[0])}.")
    _same_type(values, _NUMBERS)
    if out is not None:            # MXNet fills ``out`` in its own shape and dtype
        shape = out.shape if shape is None else shape
        dtype = out.dtype if dtype is None else dtype
        ctx = out.context if ctx is None else ctx
    return _call(opname, out=out, shape=shape, dtype=dtype, ctx=ctx, **params)


def uniform(low=0, high=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from the uniform distribution on ``[low, high)``.

    Parameters
    ----------
    low, high : float or NDArray
        The bounds (``low <= high``); NDArrays (both, one shape ``s``) draw per element.
    shape : int or tuple of int, optional
        Output shape; default ``(1,)`` (NDArray parameters: ``s + shape``, default ``s``).
    dtype : {'float16', 'float32', 'float64'}, optional
        Default float32.
    ctx : Context, optional
        Device of the result; default the current context (NDArray parameters: theirs).
    out : NDArray, optional
        Write the samples into this array.
    """
    return _gen("random_uniform", "uniform", shape, dtype, ctx, out, low=low, high=high)


def normal(loc=0, scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from the normal distribution with mean ``loc`` and standard deviation ``scale``."""
    return _gen("random_normal", "normal", shape, dtype, ctx, out, loc=loc, scale=scale)


def randn(*shape, **kwargs):
    """Normal samples of the given shape: ``randn(2, 3, loc=0, scale=1, dtype=None, ctx=None)``."""
    loc, scale = kwargs.pop("loc", 0), kwargs.pop("scale", 1)
    return normal(loc, scale, shape=shape or None, **kwargs)


def randint(low, high, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Uniform random integers in ``[low, high)``; dtype int32 (default) or int64."""
    for k, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not hasattr(v, "__index__"):
            raise MXNetTypeError(f"random.randint: Expect: integer {k} / Actual: {v!r}")
    return _gen("random_randint", "randint", shape, dtype, ctx, out, low=int(low), high=int(high))


def exponential(scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from the exponential distribution with mean ``scale`` (rate ``1 / scale``)."""
    if isinstance(scale, NDArray):
        return _gen("random_exponential", "exponential", shape, dtype, ctx, out,
                    lam=1.0 / scale)
    return _gen("random_exponential", "exponential", shape, dtype, ctx, out,
                lam=1.0 / scale if scale else float("inf"))


def gamma(alpha=1, beta=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from the gamma distribution with shape ``alpha`` and scale ``beta``."""
    return _gen("random_gamma", "gamma", shape, dtype, ctx, out, alpha=alpha, beta=beta)


def poisson(lam=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from the Poisson distribution with rate ``lam`` (float output, as MXNet)."""
    return _gen("random_poisson", "poisson", shape, dtype, ctx, out, lam=lam)


def negative_binomial(k=1, p=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from the negative binomial distribution: failures before the ``k``-th success
    with success probability ``p`` (MXNet's doc calls it the failure probability; the mean is
    ``k (1 - p) / p``). Float output, as MXNet; ``k`` an integer unless NDArrays."""
    return _gen("random_negative_binomial", "negative_binomial", shape, dtype, ctx, out, k=k,
                p=p)


def generalized_negative_binomial(mu=1, alpha=1, shape=None, dtype=None, ctx=None, out=None,
                                  **kwargs):
    """Samples from the generalized negative binomial distribution: mean ``mu``, dispersion
    ``alpha`` (variance ``mu + alpha mu^2``; ``alpha = 0`` is Poisson(mu))."""
    return _gen("random_generalized_negative_binomial", "generalized_negative_binomial", shape,
                dtype, ctx, out, mu=mu, alpha=alpha)


def bernoulli(prob=0.5, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """1 with probability ``prob``, else 0 (``mx.np.random.bernoulli``'s ``prob`` form)."""
    return _gen("random_bernoulli", "bernoulli", shape, dtype, ctx, out, prob=prob)


def multinomial(data, shape=None, get_prob=False, out=None, dtype="int32", **kwargs):
    """Sample indices from the categorical distributions in the last axis of ``data``.

    Output shape ``data.shape[:-1] + shape``; with ``get_prob=True`` also the log-probability of
    each sampled index (for REINFORCE-style gradients).
    """
    res = _call("sample_multinomial", (data,), out=out, shape=shape, get_prob=get_prob,
                dtype=dtype)
    return list(res) if isinstance(res, tuple) else res  # (samples, log-probs) as MXNet's list


def shuffle(data, **kwargs):
    """A copy of ``data`` with its rows (first axis) randomly permuted."""
    return _call("shuffle", (data,), out=kwargs.get("out"))


def _like(dist):
    return make_frontend(REGISTRY[f"_random_{dist}_like"], f"{dist}_like")


# ``uniform_like(data, low=0, high=1, out=None)`` etc.: MXNet's generated functions of these ops
uniform_like = _like("uniform")
normal_like = _like("normal")
gamma_like = _like("gamma")
exponential_like = _like("exponential")
poisson_like = _like("poisson")
negative_binomial_like = _like("negative_binomial")
generalized_negative_binomial_like = _like("generalized_negative_binomial")
