"""OpenCL kernels for registry ops that need more than the generic body: creation ops (they
have no input to take a device from) and fused or faster versions of hot ops."""

from __future__ import annotations

import numpy as np

from . import xp


def _device(be, ctx):
    return be.runtime(ctx.device_id if ctx is not None else 0)


def _zeros(be, shape=(), ctx=None, dtype="float32"):
    return xp.zeros(tuple(shape) or (1,), dtype, _device(be, ctx))


def _ones(be, shape=(), ctx=None, dtype="float32"):
    return xp.ones(tuple(shape) or (1,), dtype, _device(be, ctx))


def _full(be, shape=(), val=0.0, ctx=None, dtype="float32"):
    return xp.full(tuple(shape) or (1,), val, dtype, _device(be, ctx))


def _arange(be, start=0.0, stop=None, step=1.0, repeat=1, ctx=None, dtype="float32"):
    if stop is None:
        start, stop = 0.0, start
    dt = np.dtype(dtype)
    if dt in (np.float32, np.float64):
        # start + i * step rounded as MXNet rounds it: on the host, where no compiler fuses
        # the multiply-add (a device FMA rounds once and lands elsewhere)
        from ...ops.creation import _arange_len
        n = _arange_len(start, stop, step, 1)[2]
        r = xp.asarray(np.arange(n, dtype=dt) * dt.type(step) + dt.type(start),
                       device=_device(be, ctx))
    else:
        r = xp.astype(xp.arange(start, stop, step, dtype="float64" if _device(be, ctx).fp64
                                else "float32", device=_device(be, ctx)), dtype)
    if repeat != 1:
        r = xp.reshape(xp.broadcast_to(xp.expand_dims(r, 1), (r.shape[0], repeat)), (-1,))
    return r


def _linspace(be, start=0.0, stop=1.0, num=50, endpoint=True, ctx=None, dtype="float32"):
    r = xp.linspace(start, stop, num, device=_device(be, ctx), endpoint=endpoint)
    return xp.astype(r, dtype)


def _eye(be, N=1, M=0, k=0, ctx=None, dtype="float32"):  # noqa: N803  (MXNet's names)
    return xp.eye(N, M or N, k=k, dtype=dtype, device=_device(be, ctx))


def _erf(be, x):
    """OpenCL C has an exact erf; the generic body's polynomial is only good to 1.5e-7."""
    r = xp.erf(x)
    return r if r.dtype == x.dtype else xp.astype(r, x.dtype)


def _comparison(c_op):
    """MXNet's comparisons give 1/0 in the operands' dtype: one kernel instead of compare + cast."""
    def kernel(be, a, b):
        dt = xp._promoted(a, b)
        return xp.elementwise("cmp", f"({{T}})({{0}} {c_op} {{1}})", [a, b], dt, dt)
    return kernel


_COMPARISONS = {"equal": "==", "not_equal": "!=", "greater": ">", "greater_equal": ">=",
                "lesser": "<", "lesser_equal": "<="}

KERNELS = {"erf": _erf, "zeros": _zeros, "empty": _zeros, "ones": _ones, "full": _full,
           "arange": _arange,
           "linspace": _linspace, "eye": _eye}

# Philox random kernels (bit-identical to mxplug.random) and fused NN kernels.
from . import rnn_kernels  # noqa: E402, F401  (registers fused LSTM steps for the RNN op)
from .nn_kernels import NN_KERNELS  # noqa: E402
from .random_kernels import RANDOM_KERNELS  # noqa: E402

KERNELS.update({name: _comparison(c) for name, c in _COMPARISONS.items()})
KERNELS.update(RANDOM_KERNELS)
KERNELS.update(NN_KERNELS)
