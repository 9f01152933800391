"""MXNet 1.x's rotated ROI align, ``_contrib_RROIAlign`` (``mx.nd.contrib.RROIAlign``), for
rotated text boxes: forward only, as MXNet registers no gradient for it.

The generic body gathers every sample's four bilinear corners (all channels at once) with
``take`` and averages them per bin, rois in chunks; the helpers are ``contrib_psroi``'s.
"""

from __future__ import annotations

import math

import numpy as np

from . import infer as I
from .attrs import Attr, Int
from .contrib_psroi import _batch_index, _check_common, _chunks, _f32, _last
from .contrib_resample import bilinear_neighbours
from .nn import _s, _u
from .registry import Sample, defop

__all__ = ["rroi_align"]


# -- RROIAlign ------------------------------------------------------------------------------------
def _rroi_infer(x, rois, pooled_size=None, spatial_scale=None, sampling_ratio=-1):
    op = "_contrib_RROIAlign"
    _check_common(op, x, rois, 6, spatial_scale)
    I.expect(pooled_size is not None and len(pooled_size) == 2 and min(pooled_size) >= 1, op,
             "pooled_size == (height, width) >= 1 (it is required)",
             f"pooled_size={pooled_size}")
    return I.Spec((rois.shape[0], x.shape[1]) + tuple(pooled_size), x.dtype)


rroi_align = defop(
    "_contrib_RROIAlign", ("data", "rois"),
    {"pooled_size": Attr(None, "shape"), "spatial_scale": Attr(None, "float"),
     "sampling_ratio": Int(-1)},
    infer=_rroi_infer, differentiable=False,
    doc="Rotated ROI align. Each roi [batch_index, center_x, center_y, width, height, angle] "
        "(image coordinates times ``spatial_scale``; width and height at least 1; angle in "
        "degrees, counter-clockwise) is cut into a ``pooled_size`` (ph, pw) grid of bins; a bin "
        "is the mean of ``sampling_ratio`` x ``sampling_ratio`` samples (<= 0: ceil(roi size "
        "/ bins) per axis), each interpolated bilinearly at its rotated position (0 beyond one "
        "pixel outside the data). Output (R, C, ph, pw). MXNet registers no gradient: none "
        "flows back. Unlike MXNet, a batch index outside the data is an error.")


def _rroi_geometry(xp, x, rois, pooled_size, spatial_scale, sampling_ratio):
    """Per roi (R,): centre x, y, width, height (at least 1), angle in radians, samples per
    bin along y and x; and the most samples along y and x."""
    r = xp.astype(rois, x.dtype)
    scale = _f32(spatial_scale)
    rw, rh = xp.clip(r[:, 3] * scale, 1.0, None), xp.clip(r[:, 4] * scale, 1.0, None)
    if sampling_ratio > 0:
        gh = gw = xp.full((rois.shape[0],), float(sampling_ratio), dtype=x.dtype,
                          device=x.device)
    else:
        gh, gw = xp.ceil(rh / float(pooled_size[0])), xp.ceil(rw / float(pooled_size[1]))
    geo = (r[:, 1] * scale, r[:, 2] * scale, rw, rh, r[:, 5] * (math.pi / 180.0), gh, gw)
    return geo, (int(xp.max(gh)), int(xp.max(gw))) if rois.shape[0] else (1, 1)


def _rroi_corners(xp, x, geo, gmax, pooled_size):
    """(pixel indices (R, ph, pw, G, 4) int64 into an image's H * W, weights (same shape,
    already divided by each roi's sample count))."""
    dt, dev = x.dtype, x.device
    _, _, h, w = x.shape
    ph, pw = pooled_size
    cx, cy, rw, rh, theta, gh, gw = geo
    rn, (gmax_h, gmax_w) = cx.shape[0], gmax

    def col(v):
        return xp.reshape(v, (-1, 1, 1, 1, 1))

    def grid(n, axis):   # (1, ph, pw, Gh, Gw) coordinates along one of the last four axes
        shape = [1, 1, 1, 1, 1]
        shape[axis] = -1
        return xp.reshape(xp.arange(n, dtype=dt, device=dev), tuple(shape))

    bin_h, bin_w = col(rh / float(ph)), col(rw / float(pw))
    yy = -col(rh) / 2.0 + grid(ph, 1) * bin_h + (grid(gmax_h, 3) + 0.5) * bin_h / col(gh)
    xx = -col(rw) / 2.0 + grid(pw, 2) * bin_w + (grid(gmax_w, 4) + 0.5) * bin_w / col(gw)
    cos, sin = col(xp.cos(theta)), col(xp.sin(theta))
    px = xx * cos + yy * sin + col(cx)
    py = yy * cos - xx * sin + col(cy)
    used = (grid(gmax_h, 3) < col(gh)) & (grid(gmax_w, 4) < col(gw)) & \
        (py >= -1.0) & (py <= float(h)) & (px >= -1.0) & (px <= float(w))
    (y0, y1, ly), (x0, x1, lx) = bilinear_neighbours(xp, py, h), bilinear_neighbours(xp, px, w)
    share = xp.astype(used, dt) / col(gh * gw)
    weight = xp.stack([(1.0 - ly) * (1.0 - lx), (1.0 - ly) * lx, ly * (1.0 - lx), ly * lx],
                      axis=-1) * _last(xp, share)
    pos = xp.stack([y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1], axis=-1)
    pos = xp.astype(xp.where(_last(xp, used), pos, xp.zeros_like(pos)), xp.int64)
    return (xp.reshape(pos, (rn, ph, pw, -1)), xp.reshape(weight, (rn, ph, pw, -1)))


@rroi_align.impl
def _(xp, x, rois, **attrs):
    out = _rroi_infer(_s(x), _s(rois), **attrs)
    b = _batch_index(xp, rroi_align.name, rois, x.shape[0])
    if not math.prod(out.shape):
        return xp.zeros(out.shape, dtype=x.dtype, device=x.device)
    n, c, h, w = x.shape
    pixels = xp.reshape(xp.permute_dims(xp.reshape(x, (n, c, h * w)), (0, 2, 1)), (-1, c))
    geo, gmax = _rroi_geometry(xp, x, rois, **attrs)
    parts = []
    for lo, hi in _chunks(rois.shape[0], math.prod(out.shape[1:]) * 4 * gmax[0] * gmax[1]):
        pos, weight = _rroi_corners(xp, x, [v[lo:hi] for v in geo], gmax, attrs["pooled_size"])
        idx = xp.reshape(b[lo:hi], (-1, 1, 1, 1)) * (h * w) + pos           # (r, ph, pw, K)
        vals = xp.reshape(xp.take(pixels, xp.reshape(idx, (-1,)), axis=0), idx.shape + (c,))
        pooled = xp.sum(vals * _last(xp, weight), axis=3)                    # (r, ph, pw, C)
        parts.append(xp.permute_dims(pooled, (0, 3, 1, 2)))
    return parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)


_RROIS = np.array([[0, 3.5, 3.2, 4, 3, 30], [1, 4.1, 2.2, 6, 2.5, -75], [0, 2, 3, 9, 5, 120],
                   [1, 1, 1, 0.5, 0.5, 0], [0, 7, 5, 20, 10, 200]])
rroi_align.samples(
    lambda rng: Sample(_u(rng, 2, 3, 7, 9), _RROIS, pooled_size=(2, 3), spatial_scale=1.0),
    lambda rng: Sample(_u(rng, 2, 2, 6, 5), _RROIS, pooled_size=(3, 2), spatial_scale=0.5,
                       sampling_ratio=2),
)
