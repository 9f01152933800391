"""Independent NumPy reference for ``Correlation`` and its gradient: a loop over output positions
and displacements, each window taken around its centre (MXNet's ``border_size`` from the padded
edge, stride1 apart), vectorised over batch and channels only. MXNet 1.x defaults are applied
here."""
from __future__ import annotations

import math

import numpy as np


def _setup(x1, x2, kernel_size, max_displacement, stride1, stride2, pad_size):
    pads = [(0, 0), (0, 0), (pad_size, pad_size), (pad_size, pad_size)]
    a = np.pad(x1.astype(np.float64), pads)
    b = np.pad(x2.astype(np.float64), pads)
    kr = (kernel_size - 1) // 2
    border = max_displacement + kr
    th = math.ceil((a.shape[2] - 2 * border) / stride1)
    tw = math.ceil((a.shape[3] - 2 * border) / stride1)
    r = max_displacement // stride2
    grid = 2 * r + 1
    moves = [((t // grid - r) * stride2, (t % grid - r) * stride2) for t in range(grid * grid)]
    centres = [(border + i * stride1, border + j * stride1, i, j)
               for i in range(th) for j in range(tw)]
    return a, b, kr, moves, centres, (th, tw)


def _box(cy, cx, kr):
    return (slice(None), slice(None), slice(cy - kr, cy + kr + 1), slice(cx - kr, cx + kr + 1))


def _correlation(x1, x2, kernel_size=1, max_displacement=1, stride1=1, stride2=1, pad_size=0,
                 is_multiply=True):
    a, b, kr, moves, centres, (th, tw) = _setup(x1, x2, kernel_size, max_displacement, stride1,
                                                stride2, pad_size)
    norm = kernel_size ** 2 * x1.shape[1]
    out = np.zeros((x1.shape[0], len(moves), th, tw))
    for cy, cx, i, j in centres:
        w1 = a[_box(cy, cx, kr)]
        for t, (dy, dx) in enumerate(moves):
            w2 = b[_box(cy + dy, cx + dx, kr)]
            v = w1 * w2 if is_multiply else np.abs(w1 - w2)
            out[:, t, i, j] = v.sum(axis=(1, 2, 3)) / norm
    return out.astype(x1.dtype)


def _correlation_grad(g, x1, x2, kernel_size=1, max_displacement=1, stride1=1, stride2=1,
                      pad_size=0, is_multiply=True):
    a, b, kr, moves, centres, _ = _setup(x1, x2, kernel_size, max_displacement, stride1,
                                         stride2, pad_size)
    norm = kernel_size ** 2 * x1.shape[1]
    d1, d2 = np.zeros(a.shape), np.zeros(b.shape)
    for cy, cx, i, j in centres:
        box1 = _box(cy, cx, kr)
        for t, (dy, dx) in enumerate(moves):
            box2 = _box(cy + dy, cx + dx, kr)
            gv = g[:, t, i, j].astype(np.float64)[:, None, None, None] / norm
            if is_multiply:
                d1[box1] += gv * b[box2]
                d2[box2] += gv * a[box1]
            else:          # MXNet: +1 for data1 where data1 >= data2, else -1; data2 the opposite
                sign = np.where(a[box1] >= b[box2], 1.0, -1.0)
                d1[box1] += gv * sign
                d2[box2] -= gv * sign
    h, w = x1.shape[2:]
    crop = (slice(None), slice(None), slice(pad_size, pad_size + h),
            slice(pad_size, pad_size + w))
    return d1[crop].astype(x1.dtype), d2[crop].astype(x2.dtype)


REFERENCES = {
    "Correlation": _correlation,
    "_backward_Correlation": _correlation_grad,
}
