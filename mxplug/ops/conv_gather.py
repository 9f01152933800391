"""Convolution, its weight gradient and Deconvolution on CuPy: im2col as one gather.

The generic bodies (``conv.py``) build im2col columns from one strided slice per kernel tap and
scatter-add Deconvolution's col2im tap by tap: on a GPU each tap is a launch or two, and a
launch costs 10-20 us of host time (a 5x5 kernel: 25-50 of them). Here the columns are one
``take`` with a flat index kept on the device per geometry, and Deconvolution is the
convolution it equals (below), so each op is a handful of launches and one GEMM. (On OpenCL
under PoCL the same gather ran 3-10x slower than the slices: its index kernel does not vectorise,
so the generic bodies stay as they are.)
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .conv import (
    _add_bias,
    _conv_geom,
    _conv_infer,
    _deconv_geom,
    _deconv_infer,
    _fill,
    _layouts,
    _pad,
    _wgrad_infer,
    conv_wgrad,
    convolution,
    deconvolution,
)

__all__: list = []


def _be_permute(backend):
    return backend.xp.permute_dims


@functools.lru_cache(maxsize=128)
def _gather_index(size, kernel, stride, dilate, out):
    """Flat positions in a (padded) input of spatial ``size`` that im2col reads: an int64
    (prod(kernel) * prod(out),) vector, kernel taps major, as ``_im2col_xp`` takes them."""
    taps, pos = np.indices(kernel), np.indices(out)
    nsp = len(kernel)
    tap_pos = [taps[i].reshape(kernel + (1,) * nsp) * dilate[i]
               + pos[i].reshape((1,) * nsp + out) * stride[i] for i in range(nsp)]
    return np.ravel_multi_index(tap_pos, size).reshape(-1).astype(np.int64)


_DEVICE_INDEX: dict = {}


def _im2col_xp(xp, xpad, kernel, stride, dilate, out):
    """The im2col columns (N, C, prod(kernel), prod(out)) of padded ``xpad`` (N, C, *size) as
    one gather: on a GPU, one launch instead of a strided slice per kernel tap and a stack of
    them. The index lives on the device, kept per (geometry, device)."""
    n, c, size = xpad.shape[0], xpad.shape[1], tuple(xpad.shape[2:])
    geom = (size, tuple(kernel), tuple(stride), tuple(dilate), tuple(out))
    key = (id(xp), str(xpad.device), geom)
    idx = _DEVICE_INDEX.get(key)
    if idx is None:
        if len(_DEVICE_INDEX) >= 256:  # geometries of past networks: let them go
            _DEVICE_INDEX.clear()
        idx = _DEVICE_INDEX[key] = xp.asarray(_gather_index(*geom), device=xpad.device)
    cols = xp.take(xp.reshape(xpad, (n, c, math.prod(size))), idx, axis=2)
    return xp.reshape(cols, (n, c, math.prod(kernel), math.prod(out)))


@convolution.kernel("cupy")
@_layouts(_conv_infer, _be_permute)
def _(be, x, w, b=None, **attrs):
    xp = be.xp
    stride, dilate, pad, out = _conv_geom(x, w, b, **attrs)
    kernel, g, f = attrs["kernel"], attrs["num_group"], attrs["num_filter"]
    n, c, kk = x.shape[0], x.shape[1], math.prod(kernel)
    cols = _im2col_xp(xp, _pad(xp, x, pad, pad), kernel, stride, dilate, out)
    r = xp.matmul(xp.reshape(w, (g, f // g, c // g * kk)),
                  xp.reshape(cols, (n, g, c // g * kk, math.prod(out))))  # (N, G, F/G, L)
    return _add_bias(xp, xp.reshape(r, (n, f) + out), b)


@conv_wgrad.kernel("cupy")
@_layouts(_wgrad_infer, _be_permute)
def _(be, x, g, **attrs):
    xp = be.xp
    _wgrad_infer(x, g, **attrs)
    kernel, (stride, dilate, pad) = attrs["kernel"], _fill(attrs)
    gr, f = attrs["num_group"], attrs["num_filter"]
    out, n, c, kk = g.shape[2:], x.shape[0], x.shape[1], math.prod(kernel)
    cols = _im2col_xp(xp, _pad(xp, x, pad, pad), kernel, stride, dilate, out)
    cols = xp.reshape(cols, (n, gr, c // gr * kk, math.prod(out)))
    gm = xp.reshape(g, (n, gr, f // gr, math.prod(out)))
    dw = xp.sum(xp.matmul(gm, xp.permute_dims(cols, (0, 1, 3, 2))), axis=0)   # (G, F/G, C/G*K)
    return xp.reshape(dw, (f, c // gr) + tuple(kernel))


@deconvolution.kernel("cupy")
@_layouts(_deconv_infer, _be_permute)
def _(be, x, w, b=None, **attrs):
    xp = be.xp
    # a convolution in disguise: the input with stride-1 zeros between its elements, padded by
    # dilate*(k-1) - pad (cropped where that is negative; the right side also by adj), correlated
    # with the kernel flipped and its channel axes swapped — one gather and one GEMM, where a
    # col2im would scatter-add each kernel tap (two launches per tap on a GPU)
    stride, dilate, pad, _, out = _deconv_geom(x, w, b, **attrs)
    kernel, g, f = attrs["kernel"], attrs["num_group"], attrs["num_filter"]
    n, c, kk, nsp = x.shape[0], x.shape[1], math.prod(kernel), len(kernel)
    xs = x
    if any(s > 1 for s in stride):
        spread = tuple((m - 1) * s + 1 for m, s in zip(x.shape[2:], stride))
        xs = xp.zeros((n, c) + spread, dtype=x.dtype, device=x.device)
        xs[(slice(None),) * 2 + tuple(slice(None, None, s) for s in stride)] = x
    lo = [d * (k - 1) - p for d, k, p in zip(dilate, kernel, pad)]
    hi = [o + d * (k - 1) - m - l for o, d, k, m, l in zip(out, dilate, kernel, xs.shape[2:], lo)]
    xs = xs[(slice(None),) * 2 + tuple(slice(max(-a, 0), m - max(-z, 0))
                                       for a, z, m in zip(lo, hi, xs.shape[2:]))]
    xpad = _pad(xp, xs, [max(a, 0) for a in lo], [max(z, 0) for z in hi])
    wg = xp.permute_dims(xp.reshape(w, (g, c // g, f // g) + tuple(kernel)),
                         (0, 2, 1) + tuple(range(3, 3 + nsp)))       # (G, F/G, C/G, *K)
    wm = xp.reshape(xp.flip(wg, axis=tuple(range(3, 3 + nsp))), (g, f // g, c // g * kk))
    cols = _im2col_xp(xp, xpad, kernel, (1,) * nsp, dilate, out)      # (N, C, K, L)
    r = xp.matmul(wm, xp.reshape(cols, (n, g, c // g * kk, math.prod(out))))  # (N, G, F/G, L)
    return _add_bias(xp, xp.reshape(r, (n, f) + out), b)

