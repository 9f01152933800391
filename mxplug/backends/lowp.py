"""Low-precision (float16 / bfloat16) matrix products on the NumPy backend.

NumPy has no BLAS path for either 2-byte float: a float16 ``matmul`` runs an element loop about
200x slower than float32, and ``ml_dtypes``' bfloat16 ``matmul`` returns float32 (so an op would
hand back a dtype its ``infer`` rule did not promise). The GEMM ops therefore compute on the
NumPy backend in float32 — which is also what GPUs do for half-precision GEMMs (float32
accumulation) — and round the result to the 2-byte type.

The adapters wrap the ops' NumPy kernels (or their generic bodies). They are switched on the
first time a low-precision dtype is resolved (``mxplug.base.LOW_PRECISION_HOOKS``), so that
float32-only programs keep the unwrapped kernels and pay nothing for them.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import base

__all__ = ["GEMM_OPS", "enable", "enabled", "install", "kernel"]

#: Ops whose NumPy bodies multiply matrices (the float32-accumulating adapters wrap these).
GEMM_OPS = ("FullyConnected", "Convolution", "Deconvolution", "_backward_Convolution_weight",
            "dot", "batch_dot", "matmul", "linalg_gemm", "linalg_gemm2", "RNN")
_LOW = frozenset(base.LOW_PRECISION)
_F32 = np.dtype(np.float32)
_enabled = False


def _low_dtype(arrays):
    """The 2-byte float dtype the result rounds back to; None when no input is one; float32
    when one is mixed with a wider float or with the other 2-byte type (promotion's answer)."""
    low, wide = None, False
    for a in arrays:
        dt = getattr(a, "dtype", None)
        if dt is None:
            continue
        if dt.name in _LOW:
            wide = wide or (low is not None and low != dt)
            low = dt
        elif dt.kind == "f":
            wide = True
    if low is None:
        return None
    return _F32 if wide else low


def _up(a):
    dt = getattr(a, "dtype", None)
    return a.astype(_F32) if dt is not None and dt.name in _LOW else a


def _down(r, dt):
    if isinstance(r, tuple):
        return tuple(_down(x, dt) for x in r)
    return r.astype(dt) if getattr(r, "dtype", None) == _F32 else r


def _compute_in_float32(fn, args, attrs):
    low = _low_dtype(args)
    if low is None:
        return fn(*args, **attrs)
    return _down(fn(*(_up(a) for a in args), **attrs), low)


def _wrap_kernel(fn, direct):
    """``fn`` computing in float32 when an input is float16/bfloat16, with ``fn``'s calling
    convention (``direct``: no backend argument)."""
    if direct:
        @functools.wraps(fn)
        def kernel(*args, **attrs):
            return _compute_in_float32(fn, args, attrs)
    else:
        @functools.wraps(fn)
        def kernel(be, *args, **attrs):
            return _compute_in_float32(functools.partial(fn, be), args, attrs)
    return kernel


def _wrap_out_kernel(fn):
    """``fn(be, out, *arrays, **attrs)``: through a float32 temporary when ``out`` is 2-byte."""

    @functools.wraps(fn)
    def out_kernel(be, out, *args, **attrs):
        if out.dtype.name not in _LOW:
            return fn(be, out, *args, **attrs)
        tmp = np.empty(out.shape, _F32)
        fn(be, tmp, *(_up(a) for a in args), **attrs)
        out[...] = tmp

    return out_kernel


#: Kernels the NumPy backend offers (``backend.kernel(name)``) for GEMM ops that have only a
#: generic body: that body in float32 for 2-byte inputs.
_GENERIC_KERNELS: dict = {}


def kernel(op_name):
    """The NumPy backend's own kernel for ``op_name`` (None unless enabled and a GEMM op)."""
    return _GENERIC_KERNELS.get(op_name)


def _wrap_op(op):
    kern = op.kernels.get("numpy")
    if kern is not None:  # the op's own NumPy kernel: wrapped in place, same convention
        fn, direct = kern
        op.kernels["numpy"] = (_wrap_kernel(fn, direct), direct)
        # out-kernels: the plain table, from which the registry rebuilds ``out_kernels`` when a
        # kernel wrapper (the profiler) comes or goes
        plain = getattr(op, "plain_out_kernels", op.out_kernels)
        out = plain.get("numpy")
        if out is not None:
            plain["numpy"] = _wrap_out_kernel(out)
            rewrap = getattr(op, "_rewrap", None)
            if rewrap is not None:
                rewrap()
            else:
                op.out_kernels["numpy"] = plain["numpy"]
    elif op.generic is not None:  # the generic body: offered through backend.kernel()
        generic = op.generic
        body = _wrap_kernel(lambda *a, **k: generic(np, *a, **k), True)
        _GENERIC_KERNELS[op.name] = lambda be, *a, **k: body(*a, **k)
    else:
        return  # a composite: its primitives are wrapped themselves
    op._resolved.clear()


def enable() -> None:
    """Make the GEMM ops compute 2-byte floats in float32 on the NumPy backend (once)."""
    global _enabled
    if _enabled:
        return
    from ..ops import REGISTRY

    _enabled = True
    for name in GEMM_OPS:
        op = REGISTRY.get(name)
        if op is not None:
            _wrap_op(op)


def install() -> None:
    """Called by the NumPy backend when it starts: enable now if a 2-byte float was already
    resolved, else when one first is."""
    if base._low_precision_seen:
        enable()
    else:
        base.LOW_PRECISION_HOOKS.append(lambda dtype: enable())


def enabled() -> bool:
    return _enabled
