"""``mx.sym.random``: MXNet 1.x's symbolic sampling functions (``python/mxnet/symbol/random.py``).

The same wrappers as :mod:`mxplug.ndarray.random`, building graph nodes: number parameters go
to the ``_random_*`` ops (``uniform(0, 1, shape=(2, 3))`` is a ``_random_uniform0`` node), and
``exponential`` takes MXNet's ``scale`` (the op's ``lam`` is ``1 / scale``). A bound graph draws a
fresh generator state every run, so after ``mx.random.seed(s)`` a forward repeats its numbers.

Symbol parameters (all of them) select MXNet's per-element ``_sample_*`` ops
(``uniform(low_sym, high_sym)``: ``s + shape`` draws for parameters of shape ``s``).
``<dist>_like(data, ...)`` are MXNet's ``_random_<dist>_like`` ops (a node named
``<dist>_like0``): draws of ``data``'s shape and dtype. ``bernoulli`` is mxplug's extension, as
in ``mx.nd.random``.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..base import MXNetNotImplementedError, MXNetValueError
from ..graph.symbol import Symbol
from ..ops import REGISTRY

__all__ = ["uniform", "normal", "randn", "poisson", "exponential", "gamma", "multinomial",
           "negative_binomial", "generalized_negative_binomial", "shuffle", "randint",
           "bernoulli", "uniform_like", "normal_like", "gamma_like", "exponential_like",
           "poisson_like", "negative_binomial_like", "generalized_negative_binomial_like"]

_NUMBERS = (numbers.Number, np.generic)  # MXNet's numeric_types: (float, int, np.generic)


def _op(name, fn):
    """The symbolic function of registry op ``name`` (``mx.sym._internal.<name>``), or an
    error naming the op mxplug lacks."""
    from . import _internal
    if name not in REGISTRY:
        raise MXNetNotImplementedError(
            f"mx.sym.random.{fn}: mxplug has no {name} op (MXNet's {name}), so this "
            f"distribution cannot be sampled yet")
    return getattr(_internal, name)


def _random_helper(fn, random, sampler, params, shape, dtype, kwargs):
    """MXNet's ``_random_helper``: number parameters -> the ``random`` op, Symbol parameters
    (all of them) -> the per-element ``sampler`` op. ``shape``/``dtype`` None: the op's default."""
    if shape is not None:
        kwargs["shape"] = shape
    if dtype is not None:
        kwargs["dtype"] = dtype
    if isinstance(params[0], Symbol):
        for p in params[1:]:
            if not isinstance(p, Symbol):
                raise AssertionError(f"Distribution parameters must all have the same type, "
                                     f"but got both {type(params[0])} and {type(p)}.")
        if sampler is None:
            raise MXNetNotImplementedError(f"mx.sym.random.{fn}: the parameters must be "
                                           f"numbers (MXNet has no per-element {fn} sampler)")
        return _op(sampler, fn)(*params, **kwargs)
    if isinstance(params[0], _NUMBERS):
        for p in params[1:]:
            if not isinstance(p, _NUMBERS):
                raise AssertionError(f"Distribution parameters must all have the same type, "
                                     f"but got both {type(params[0])} and {type(p)}.")
        return _op(random, fn)(*params, **kwargs)
    raise MXNetValueError(f"Distribution parameters must be either Symbol or numbers, but got "
                          f"{type(params[0])}.")


def uniform(low=0, high=1, shape=None, dtype=None, **kwargs):
    """Samples from the uniform distribution on ``[low, high)``.

    Parameters
    ----------
    low, high : float or Symbol
        The bounds. Symbols (both) sample per element (a ``_sample_uniform`` node).
    shape : int or tuple of int, optional
        Output shape (with Symbol parameters: appended to theirs).
    dtype : {'float16', 'float32', 'float64'}, optional
        Default float32.
    **kwargs
        ``name``, ``attr``, ``ctx`` as for any op.

    Returns
    -------
    Symbol
        A ``_random_uniform`` node.
    """
    return _random_helper("uniform", "_random_uniform", "_sample_uniform", [low, high],
                          shape, dtype, kwargs)


def normal(loc=0, scale=1, shape=None, dtype=None, **kwargs):
    """Samples from the normal distribution with mean ``loc`` and standard deviation ``scale``
    (a ``_random_normal`` node; Symbol parameters: MXNet's ``_sample_normal``)."""
    return _random_helper("normal", "_random_normal", "_sample_normal", [loc, scale],
                          shape, dtype, kwargs)


def randn(*shape, **kwargs):
    """Normal samples of the given shape: ``randn(2, 3, loc=0, scale=1, dtype=None)``."""
    loc, scale = kwargs.pop("loc", 0), kwargs.pop("scale", 1)
    dtype = kwargs.pop("dtype", None)
    for k, v in (("loc", loc), ("scale", scale)):
        if not isinstance(v, (int, float, Symbol)):
            raise AssertionError(f"randn: {k} must be a number or a Symbol, got {type(v)}")
    return _random_helper("randn", "_random_normal", "_sample_normal", [loc, scale], shape,
                          dtype, kwargs)


def poisson(lam=1, shape=None, dtype=None, **kwargs):
    """Samples from the Poisson distribution with rate ``lam`` (float output, as MXNet)."""
    return _random_helper("poisson", "_random_poisson", "_sample_poisson", [lam], shape,
                          dtype, kwargs)


def exponential(scale=1, shape=None, dtype=None, **kwargs):
    """Samples from the exponential distribution with mean ``scale``: the ``_random_exponential``
    op's rate ``lam`` is ``1.0 / scale`` (``scale=0`` raises ZeroDivisionError, as MXNet)."""
    return _random_helper("exponential", "_random_exponential", "_sample_exponential",
                          [1.0 / scale], shape, dtype, kwargs)


def gamma(alpha=1, beta=1, shape=None, dtype=None, **kwargs):
    """Samples from the gamma distribution with shape ``alpha`` and scale ``beta``."""
    return _random_helper("gamma", "_random_gamma", "_sample_gamma", [alpha, beta], shape,
                          dtype, kwargs)


def negative_binomial(k=1, p=1, shape=None, dtype=None, **kwargs):
    """Samples from the negative binomial distribution: failures before the ``k``-th success,
    success probability ``p`` (mean ``k (1 - p) / p``); a ``_random_negative_binomial`` node
    (Symbol parameters: ``_sample_negative_binomial``)."""
    return _random_helper("negative_binomial", "_random_negative_binomial",
                          "_sample_negative_binomial", [k, p], shape, dtype, kwargs)


def generalized_negative_binomial(mu=1, alpha=1, shape=None, dtype=None, **kwargs):
    """Samples from the generalized negative binomial distribution (mean ``mu``, dispersion
    ``alpha``): a ``_random_generalized_negative_binomial`` node (Symbol parameters:
    ``_sample_generalized_negative_binomial``)."""
    return _random_helper("generalized_negative_binomial",
                          "_random_generalized_negative_binomial",
                          "_sample_generalized_negative_binomial", [mu, alpha], shape, dtype,
                          kwargs)


def randint(low, high, shape=None, dtype=None, **kwargs):
    """Uniform random integers in ``[low, high)`` (numbers only); dtype int32 (default) or
    int64."""
    return _random_helper("randint", "_random_randint", None, [low, high], shape, dtype,
                          kwargs)


def bernoulli(prob=0.5, shape=None, dtype=None, **kwargs):
    """1 with probability ``prob``, else 0 (mxplug's extension, as ``mx.nd.random.bernoulli``)."""
    return _random_helper("bernoulli", "_random_bernoulli", None, [prob], shape, dtype, kwargs)


def multinomial(data, shape=None, get_prob=True, dtype="int32", **kwargs):
    """Sample indices from the categorical distributions in the last axis of ``data``.

    Unlike ``mx.nd.random.multinomial``, ``get_prob`` defaults to True here (as in MXNet): the
    Symbol has two outputs, the samples and their log-likelihoods (same shape).
    """
    if shape is not None:
        kwargs["shape"] = shape
    return _op("_sample_multinomial", "multinomial")(data, get_prob=get_prob, dtype=dtype,
                                                     **kwargs)


def shuffle(data, **kwargs):
    """``data`` with its rows (first axis) randomly permuted, anew every run."""
    return _op("_shuffle", "shuffle")(data, **kwargs)


def _like(dist):
    from . import _make_symbolic  # the generated front end, named as MXNet's: uniform_like0
    return _make_symbolic(REGISTRY[f"_random_{dist}_like"], f"{dist}_like")


# ``uniform_like(data, low=0, high=1, name=None, attr=None)`` etc.
uniform_like = _like("uniform")
normal_like = _like("normal")
gamma_like = _like("gamma")
exponential_like = _like("exponential")
poisson_like = _like("poisson")
negative_binomial_like = _like("negative_binomial")
generalized_negative_binomial_like = _like("generalized_negative_binomial")
