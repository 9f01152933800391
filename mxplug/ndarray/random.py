"""``mx.nd.random``: MXNet 1.x's sampling functions over the counter-based generator.

Each call takes one ``(key, counter)`` from ``mxplug.random.next_state()``, so after
``mx.random.seed(s)`` the same sequence of calls gives the same numbers on every backend.
"""
from __future__ import annotations

from .. import random as _rng
from ..base import MXNetNotImplementedError, MXNetTypeError
from ..ops import REGISTRY, apply
from .ndarray import NDArray

__all__ = ["uniform", "normal", "randn", "randint", "exponential", "gamma", "poisson",
           "multinomial", "shuffle", "bernoulli", "seed"]

seed = _rng.seed


def _call(opname, inputs=(), out=None, **kwargs):
    op = REGISTRY[opname]
    attrs = op.parse_attrs(kwargs)
    attrs["key"], attrs["counter"] = _rng.next_state()
    res = apply(op, *inputs, **attrs)
    if out is not None:
        out[...] = res
        return out
    return res


def _scalars(fn, **params):
    """MXNet samples per element when the parameters are NDArrays (``_sample_*``): not yet."""
    for k, v in params.items():
        if isinstance(v, NDArray):
            raise MXNetNotImplementedError(
                f"random.{fn}: NDArray {k} (per-element parameters, MXNet's sample_{fn}) is not "
                f"supported yet; pass Python numbers")


def _gen(opname, fn, shape, dtype, ctx, out, **params):
    _scalars(fn, **params)
    if out is not None:            # MXNet fills ``out`` in its own shape and dtype
        shape = out.shape if shape is None else shape
        dtype = out.dtype if dtype is None else dtype
        ctx = out.context if ctx is None else ctx
    return _call(opname, out=out, shape=shape, dtype=dtype, ctx=ctx, **params)


def uniform(low=0, high=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from the uniform distribution on ``[low, high)``.

    Parameters
    ----------
    low, high : float
        The bounds (``low <= high``).
    shape : int or tuple of int, optional
        Output shape; default ``(1,)``.
    dtype : {'float16', 'float32', 'float64'}, optional
        Default float32.
    ctx : Context, optional
        Device of the result; default the current context.
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
    _scalars("exponential", scale=scale)
    return _gen("random_exponential", "exponential", shape, dtype, ctx, out,
                lam=1.0 / scale if scale else float("inf"))


def gamma(alpha=1, beta=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from the gamma distribution with shape ``alpha`` and scale ``beta``."""
    return _gen("random_gamma", "gamma", shape, dtype, ctx, out, alpha=alpha, beta=beta)


def poisson(lam=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from the Poisson distribution with rate ``lam`` (float output, as MXNet)."""
    return _gen("random_poisson", "poisson", shape, dtype, ctx, out, lam=lam)


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
