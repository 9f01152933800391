"""Philox kernels for the random ops and Dropout (``RANDOM_KERNELS``, merged into ``KERNELS``).

One launch per call, one work item per Philox block, straight into the output: the generic
bodies instead build the counter arrays, run ten rounds as ~60 uint64 array ops and then
convert. Values equal the NumPy backend's for the same ``key``/``counter`` (see
:mod:`mxplug.backends.kernels.philox`). ``random_gamma`` and ``random_poisson`` keep their
generic (rejection-sampling) bodies over ``xp``.
"""

from __future__ import annotations

import numpy as np

from ...context import current_context
from ...ops import infer as I
from ...ops.dispatch import state
from ...ops.registry import REGISTRY
from ..kernels import OPENCL
from ..kernels.philox import bits_per_element, key_words, per_block, philox_kernel, philox_program
from . import xp

_SOURCES: dict = {}


def _runtime(be, ctx):
    if ctx is None:
        ctx = current_context()
    return be.runtime(ctx.device_id if ctx.device_type == be.device_type else 0)


def _program(rt, mode, bits, out_dtype, in_dtype=None):
    """The compiled kernel for (mode, bits, dtypes) on ``rt`` (source rendered once)."""
    out_dtype = np.dtype(out_dtype)
    key = (mode, bits, out_dtype.name, in_dtype and np.dtype(in_dtype).name, rt.fp64)
    src = _SOURCES.get(key)
    if src is None:
        name = "philox_" + "_".join(str(k) for k in key[:4] if k is not None)
        body = philox_kernel(name, mode, bits, out_dtype, OPENCL, rt.fp64, in_dtype)
        src = _SOURCES[key] = (philox_program([body], OPENCL, rt.fp64), name)
    dts = [out_dtype] + ([np.dtype(in_dtype)] if in_dtype is not None else [])
    return rt.kernel(src[0], src[1], dts + ([np.float64] if rt.fp64 else []))


def _check_dtype(rt, op, dtype):
    if np.dtype(dtype) == np.float64 and not rt.fp64:
        raise TypeError(f"{op}: this OpenCL device has no float64 (cl_khr_fp64)")


def _run(rt, mode, bits, shape, dtype, key, counter, scalars, x=None, x_scale=None):
    """Launch one Philox kernel; returns the new array of ``shape``/``dtype``."""
    out = xp.empty(shape, dtype, rt)
    n = out.size
    if n == 0:
        return out
    kern = _program(rt, mode, bits, dtype, None if x is None else x.dtype)
    args = [np.int64(n), out.buf, np.int64(0)]
    if x is not None:
        args += [x.buf, np.int64(x.offset), x.dtype.type(x_scale)]
    args += [*key_words(key, counter), np.uint32(0), *scalars]
    rt.launch(kern, -(-n // per_block(bits)), *args)
    return out


def _real(rt, v):
    return np.float64(v) if rt.fp64 else np.float32(v)


def _generator(op_name, mode, half, scalars):
    """A kernel for generator op ``op_name``: ``scalars(**params)`` gives the kernel's scalars."""
    op = REGISTRY[op_name]

    def kernel(be, shape=(), ctx=None, dtype="float32", key=0, counter=0, **params):
        spec = op.infer(shape=shape, dtype=dtype, **params)      # validates like the generic body
        rt = _runtime(be, ctx)
        _check_dtype(rt, op_name, spec.dtype)
        bits = bits_per_element(spec.dtype, half)
        return _run(rt, mode, bits, spec.shape, spec.dtype, key, counter,
                    [_real(rt, s) for s in scalars(**params)])

    kernel.__name__ = f"_{op_name}"
    return kernel


_uniform = _generator("random_uniform", "uniform", 11,
                      lambda low=0.0, high=1.0: (low, high - low))
_normal = _generator("random_normal", "normal", 24, lambda loc=0.0, scale=1.0: (loc, scale))
_exponential = _generator("random_exponential", "exponential", 24, lambda lam=1.0: (lam,))


def _randint(be, low=0, high=1, shape=(), ctx=None, dtype="int32", key=0, counter=0):
    spec = REGISTRY["random_randint"].infer(low=low, high=high, shape=shape, dtype=dtype)
    rt = _runtime(be, ctx)
    return _run(rt, "randint", 24, spec.shape, spec.dtype, key, counter,
                [np.uint64(high - low), np.int64(low)])


def _bernoulli(be, prob=0.5, shape=(), ctx=None, dtype="float32", key=0, counter=0, rt=None):
    spec = REGISTRY["random_bernoulli"].infer(prob=prob, shape=shape, dtype=dtype)
    rt = rt or _runtime(be, ctx)
    _check_dtype(rt, "random_bernoulli", spec.dtype)
    return _run(rt, "bernoulli", bits_per_element(spec.dtype), spec.shape, spec.dtype, key,
                counter, [_real(rt, prob)])


def _dropout(be, x, p=0.5, mode="training", axes=(), cudnn_off=False, key=0, counter=0):
    """Mask and scale in one pass (the composite: a bernoulli mask, then two multiplies)."""
    REGISTRY["Dropout"].infer(I.Spec(tuple(x.shape), x.dtype), p=p, mode=mode, axes=axes)
    if (mode == "training" and not state.training) or p == 0.0:
        return xp.asarray(x, copy=True)
    scale = 1.0 / (1.0 - p) if p < 1.0 else 0.0
    if axes or x.dtype not in (np.float32, np.float64):
        # a mask shared along ``axes``: draw it at its own shape, as the composite does
        shared = {a % x.ndim for a in axes}
        mshape = tuple(1 if i in shared else s for i, s in enumerate(x.shape))
        mask = _bernoulli(be, 1.0 - p, mshape, dtype=x.dtype, key=key, counter=counter, rt=x.rt)
        return x * (mask * scale) if p < 1.0 else x * mask
    src = x if x.is_contiguous else xp.asarray(x, copy=True)
    return _run(x.rt, "dropout", bits_per_element(x.dtype), x.shape, x.dtype, key, counter,
                [_real(x.rt, 1.0 - p)], x=src, x_scale=scale)


RANDOM_KERNELS = {"random_uniform": _uniform, "random_normal": _normal,
                  "random_exponential": _exponential, "random_randint": _randint,
                  "random_bernoulli": _bernoulli, "Dropout": _dropout}
