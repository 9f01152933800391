"""Independent NumPy references for ``mxplug/ops/im2col.py``: plain loops over block positions and
kernel taps, written from MXNet 1.x's documentation of ``im2col`` / ``col2im`` (rows channel-major,
then the kernel tap in row-major order; columns the block positions in row-major order)."""
from __future__ import annotations

import itertools
import math

import numpy as np


def _window(kernel, spatial, stride, dilate, pad):
    nsp = len(kernel)
    stride, dilate, pad = stride or (1,) * nsp, dilate or (1,) * nsp, pad or (0,) * nsp
    out = [(n + 2 * p - d * (k - 1) - 1) // s + 1
           for n, p, d, k, s in zip(spatial, pad, dilate, kernel, stride)]
    return stride, dilate, pad, out


def _pairs(kernel, stride, dilate, pad, out):
    """(row tap index, column index, spatial index into the unpadded image or None)."""
    for t, tap in enumerate(itertools.product(*(range(k) for k in kernel))):
        for col, pos in enumerate(itertools.product(*(range(o) for o in out))):
            at = tuple(q * s + k * d - p for q, s, k, d, p in zip(pos, stride, tap, dilate, pad))
            yield t, col, at


def _im2col(x, kernel=(), stride=(), dilate=(), pad=()):
    n, c, sp = x.shape[0], x.shape[1], x.shape[2:]
    stride, dilate, pad, out = _window(kernel, sp, stride, dilate, pad)
    kk = math.prod(kernel)
    cols = np.zeros((n, c * kk, math.prod(out)), dtype=x.dtype)
    for t, col, at in _pairs(kernel, stride, dilate, pad, out):
        if all(0 <= a < m for a, m in zip(at, sp)):       # outside: zero padding
            for ch in range(c):
                cols[:, ch * kk + t, col] = x[(slice(None), ch) + at]
    return cols


def _col2im(cols, output_size=(), kernel=(), stride=(), dilate=(), pad=()):
    kk = math.prod(kernel)
    n, c = cols.shape[0], cols.shape[1] // kk
    stride, dilate, pad, out = _window(kernel, output_size, stride, dilate, pad)
    img = np.zeros((n, c) + tuple(output_size))
    for t, col, at in _pairs(kernel, stride, dilate, pad, out):
        if all(0 <= a < m for a, m in zip(at, output_size)):
            for ch in range(c):
                img[(slice(None), ch) + at] += cols[:, ch * kk + t, col]
    return img.astype(cols.dtype)


REFERENCES: dict = {"im2col": _im2col, "col2im": _col2im}
