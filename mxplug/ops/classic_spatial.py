"""MXNet 1.x's spatial layers: ROIPooling, GridGenerator, BilinearSampler, SpatialTransformer.

All are composites of registered primitives (take, max, floor, batch_dot, ...): the bin masks,
sampling grids and corner weights are computed with ops, so the layers run on every backend and
their gradients (data, grid, affine parameters) come from the primitives' rules.
"""

from __future__ import annotations

import numpy as np

from . import infer as I
from .attrs import Any, Enum, Float, Shape
from .call import F
from .nn import _f, _s, _u
from .registry import Sample, defop

__all__ = ["roi_pooling", "grid_generator", "bilinear_sampler", "spatial_transformer"]

#: Added to masked-out positions before a max: far below any activation, finite in float32 so
#: that ``0 * _BIG`` stays 0 and no NaN reaches a gradient.
_BIG = 1e30


def _arange(n, like):
    return _f("arange", start=0.0, stop=float(n), ctx=like.context, dtype=like.dtype)


# -- ROIPooling -----------------------------------------------------------------------------------
def _roi_infer(x, rois, pooled_size=(), spatial_scale=1.0):
    op = "ROIPooling"
    I.expect(x.ndim == 4, op, "data of shape (N, C, H, W)", f"data.shape={tuple(x.shape)}")
    I.expect(rois.ndim == 2 and rois.shape[1] == 5, op,
             "rois of shape (R, 5): [batch_index, x1, y1, x2, y2]",
             f"rois.shape={tuple(rois.shape)}")
    I.expect(len(pooled_size) == 2 and min(pooled_size) >= 1, op,
             "pooled_size == (height, width) >= 1", f"pooled_size={tuple(pooled_size)}")
    return I.Spec((rois.shape[0], x.shape[1]) + tuple(pooled_size), x.dtype)


roi_pooling = defop(
    "ROIPooling", ("data", "rois"), {"pooled_size": Shape(()), "spatial_scale": Float(1.0)},
    infer=_roi_infer, aliases=("roi_pooling",),
    doc="Max-pool each region of interest [batch_index, x1, y1, x2, y2] (image coordinates, "
        "scaled by ``spatial_scale`` and rounded) of data (N, C, H, W) into a ``pooled_size`` "
        "(ph, pw) grid of bins; an empty bin gives 0. Output (R, C, ph, pw). The gradient goes "
        "to each bin's maximum (the first one, row-major, on ties), as in MXNet.")
roi_pooling.nograd("rois")


def _cround(xp, v):
    """C's round(): halves away from zero (``xp.round`` rounds them to even)."""
    return xp.where(v >= 0, xp.floor(v + 0.5), xp.ceil(v - 0.5))


def _roi_bounds(xp, rois, n, ph, pw, h, w, spatial_scale):
    """MXNet's bins: (batch index (R,), row start/end (R, ph), column start/end (R, pw)), as
    whole numbers in rois' dtype, clipped into the image."""
    col = [rois[:, k] for k in range(5)]
    x1, y1, x2, y2 = (_cround(xp, c * spatial_scale) for c in col[1:])

    def axis(lo, hi, pooled, size):
        step = xp.reshape(xp.clip(hi - lo + 1.0, 1.0, None) / pooled, (-1, 1))
        i = xp.reshape(xp.arange(pooled, dtype=rois.dtype, device=rois.device), (1, -1))
        lo = xp.reshape(lo, (-1, 1))
        return (xp.clip(xp.floor(i * step) + lo, 0.0, float(size)),
                xp.clip(xp.ceil((i + 1.0) * step) + lo, 0.0, float(size)))

    return (xp.clip(xp.floor(col[0]), 0.0, float(n - 1)),) + axis(y1, y2, ph, h) + \
        axis(x1, x2, pw, w)


def _roi_setup(xp, x, rois, ph, pw, spatial_scale):
    """Bounds, the rois' images (R, C, H, W) gathered by a one-hot matmul (the namespaces have
    no common gather), the per-bin penalties that mask a max, and the bins that are not empty."""
    n, c, h, w = x.shape
    rois = xp.astype(rois, x.dtype)
    b, hs, he, ws, we = _roi_bounds(xp, rois, n, ph, pw, h, w, spatial_scale)
    pick = xp.astype(xp.reshape(b, (-1, 1)) == xp.reshape(
        xp.arange(n, dtype=x.dtype, device=x.device), (1, -1)), x.dtype)        # (R, N)
    feat = xp.reshape(xp.matmul(pick, xp.reshape(x, (n, -1))), (-1, c, h, w))

    def penalty(start, end, size):   # (R, bins, size): 0 inside a bin, -_BIG outside
        pos = xp.reshape(xp.arange(size, dtype=x.dtype, device=x.device), (1, 1, -1))
        inside = (pos >= xp.reshape(start, start.shape + (1,))) & (
            pos < xp.reshape(end, end.shape + (1,)))
        return (xp.astype(inside, x.dtype) - 1.0) * _BIG

    full = xp.astype(xp.reshape(he > hs, (-1, ph, 1)) & xp.reshape(we > ws, (-1, 1, pw)),
                     x.dtype)
    return pick, feat, penalty(hs, he, h), penalty(ws, we, w), full


@roi_pooling.impl
def _(xp, x, rois, pooled_size=(), spatial_scale=1.0):
    out = _roi_infer(_s(x), _s(rois), pooled_size, spatial_scale)
    ph, pw = pooled_size
    r, h, w = out.shape[0], x.shape[2], x.shape[3]
    _, feat, pen_h, pen_w, full = _roi_setup(xp, x, rois, ph, pw, spatial_scale)
    cols = []
    for j in range(pw):   # the max over a bin's columns, then over its rows: (R, C, H) at most
        over_w = xp.max(feat + xp.reshape(pen_w[:, j], (r, 1, 1, w)), axis=3)
        cols.append(xp.stack([xp.max(over_w + xp.reshape(pen_h[:, i], (r, 1, h)), axis=2)
                              for i in range(ph)], axis=2))
    return xp.stack(cols, axis=3) * xp.reshape(full, (r, 1, ph, pw))


def _roi_host_bounds(x, rois, ph, pw, spatial_scale):
    n, _, h, w = x.shape
    bounds = _roi_bounds(np, np.asarray(rois, dtype=np.float64), n, ph, pw, h, w,
                         spatial_scale)
    return [v.astype(np.int64) for v in bounds]


@roi_pooling.kernel("numpy")
def _(be, x, rois, pooled_size=(), spatial_scale=1.0):
    # one slice per bin instead of the generic body's masked maxima over whole images
    out = _roi_infer(_s(x), _s(rois), pooled_size, spatial_scale)
    ph, pw = pooled_size
    b, hs, he, ws, we = _roi_host_bounds(x, rois, ph, pw, spatial_scale)
    y = np.zeros(out.shape, dtype=x.dtype)
    for r in range(out.shape[0]):
        for i in range(ph):
            if he[r, i] <= hs[r, i]:
                continue
            rows = x[b[r], :, hs[r, i]:he[r, i]].max(axis=1)              # (C, W)
            for j in range(pw):
                if we[r, j] > ws[r, j]:
                    y[r, :, i, j] = rows[:, ws[r, j]:we[r, j]].max(axis=1)
    return y


def _roi_grad_infer(g, x, rois, pooled_size=(), spatial_scale=1.0):
    out = _roi_infer(x, rois, pooled_size, spatial_scale)
    I.expect_output_grad(g, out, "_backward_ROIPooling", "ROIPooling")
    return I.Spec(x.shape, x.dtype)


roi_pooling_grad = defop(
    "_backward_ROIPooling", ("grad", "data", "rois"), dict(roi_pooling.attrs),
    infer=_roi_grad_infer, differentiable=False,
    doc="ROIPooling's data gradient: each bin's gradient added at its maximum's position.")


@roi_pooling.vjp
def _(g, out, x, rois, pooled_size=(), spatial_scale=1.0):
    return F._backward_ROIPooling(g, x, rois, pooled_size=pooled_size,
                                  spatial_scale=spatial_scale), None


@roi_pooling_grad.impl
def _(xp, g, x, rois, pooled_size=(), spatial_scale=1.0):
    _roi_grad_infer(_s(g), _s(x), _s(rois), pooled_size, spatial_scale)
    ph, pw = pooled_size
    n, c, h, w = x.shape
    r = rois.shape[0]
    pick, feat, pen_h, pen_w, full = _roi_setup(xp, x, rois, ph, pw, spatial_scale)
    pos = xp.reshape(xp.arange(h * w, dtype=xp.int64, device=x.device), (1, 1, -1))
    gfeat = None
    for i in range(ph):
        for j in range(pw):
            pen = xp.reshape(pen_h[:, i], (r, 1, h, 1)) + xp.reshape(pen_w[:, j], (r, 1, 1, w))
            at = xp.argmax(xp.reshape(feat + pen, (r, c, h * w)), axis=2)    # first maximum
            hit = xp.astype(pos == xp.reshape(at, (r, c, 1)), x.dtype)
            term = hit * xp.reshape(g[:, :, i, j] * xp.reshape(full[:, i, j], (r, 1)),
                                    (r, c, 1))
            gfeat = term if gfeat is None else gfeat + term
    gx = xp.matmul(xp.permute_dims(pick, (1, 0)), xp.reshape(gfeat, (r, -1)))
    return xp.reshape(gx, x.shape)


@roi_pooling_grad.kernel("numpy")
def _(be, g, x, rois, pooled_size=(), spatial_scale=1.0):
    _roi_grad_infer(_s(g), _s(x), _s(rois), pooled_size, spatial_scale)
    ph, pw = pooled_size
    b, hs, he, ws, we = _roi_host_bounds(x, rois, ph, pw, spatial_scale)
    gx = np.zeros(x.shape, dtype=x.dtype)
    chans = np.arange(x.shape[1])
    for r in range(g.shape[0]):
        for i in range(ph):
            for j in range(pw):
                bh, bw = he[r, i] - hs[r, i], we[r, j] - ws[r, j]
                if bh <= 0 or bw <= 0:
                    continue
                win = x[b[r], :, hs[r, i]:he[r, i], ws[r, j]:we[r, j]].reshape(len(chans), -1)
                k = np.argmax(win, axis=1)                 # the first maximum, row-major
                np.add.at(gx[b[r]], (chans, hs[r, i] + k // bw, ws[r, j] + k % bw),
                          g[r, :, i, j])
    return gx


_ROIS = (np.array([[0, 0, 0, 4, 5], [1, 1, 2, 3, 3], [0, 2.2, 1.4, 4.6, 3.7]]),
         np.array([[0, 2, 4, 13, 15], [0, 8, 0, 9, 1], [0, -3, -2, 1, 20]]))
roi_pooling.samples(
    lambda rng: Sample(_u(rng, 2, 2, 6, 5), _ROIS[0], pooled_size=(2, 2)),
    lambda rng: Sample(_u(rng, 1, 3, 8, 8), _ROIS[1], pooled_size=(3, 2), spatial_scale=0.5),
)
roi_pooling_grad.samples(
    lambda rng: Sample(_u(rng, 3, 2, 2, 2), _u(rng, 2, 2, 6, 5), _ROIS[0], pooled_size=(2, 2)),
    lambda rng: Sample(_u(rng, 3, 3, 3, 2), _u(rng, 1, 3, 8, 8), _ROIS[1], pooled_size=(3, 2),
                       spatial_scale=0.5),
)


# -- GridGenerator --------------------------------------------------------------------------------
def _gg_infer(x, transform_type="affine", target_shape=(0, 0)):
    op = "GridGenerator"
    if transform_type == "affine":
        I.expect(x.ndim == 2 and x.shape[1] == 6, op, "data of shape (N, 6) (affine)",
                 f"data.shape={tuple(x.shape)}")
        I.expect(len(target_shape) == 2 and min(target_shape) >= 1, op,
                 "target_shape == (H, W) >= 1", f"target_shape={tuple(target_shape)}")
        return I.Spec((x.shape[0], 2) + tuple(target_shape), x.dtype)
    I.expect(x.ndim == 4 and x.shape[1] == 2, op, "data of shape (N, 2, H, W) (warp)",
             f"data.shape={tuple(x.shape)}")
    return I.Spec(x.shape, x.dtype)


grid_generator = defop(
    "GridGenerator", ("data",),
    {"transform_type": Enum("affine", "warp"), "target_shape": Shape((0, 0))},
    infer=_gg_infer, aliases=("grid_generator",),
    doc="Sampling grid (N, 2, H, W) of (x, y) in [-1, 1] for BilinearSampler. ``affine``: data "
        "(N, 6) is a 2x3 matrix applied to the target grid's normalised (x, y, 1). ``warp``: "
        "data (N, 2, H, W) is an optical flow in pixels added to each pixel's position, then "
        "normalised.")


def _pixel_grid(h, w, like):
    """(x, y) pixel coordinates of an h x w image, each of shape (h * w,), row-major."""
    i = _arange(h * w, like)
    return _f("modulo", i, float(w)), _f("floor", i * (1.0 / w))


def _scale(n):
    """Pixel -> [-1, 1] factor along an axis of ``n`` pixels (MXNet: 2 / (n - 1))."""
    return 2.0 / (n - 1) if n > 1 else 0.0


@grid_generator.compose
def _(x, transform_type="affine", target_shape=(0, 0)):
    out = _gg_infer(_s(x), transform_type, target_shape)
    n, _, h, w = out.shape
    px, py = _pixel_grid(h, w, x)
    gx, gy = px * _scale(w) - 1.0, py * _scale(h) - 1.0
    if transform_type == "affine":
        src = _f("stack", gx, gy, _f("ones_like", gx), axis=0)       # (3, H*W)
        return _f("reshape", _f("dot", _f("reshape", x, shape=(n * 2, 3)), src), shape=out.shape)
    flow_x = _f("slice_axis", x, axis=1, begin=0, end=1)
    flow_y = _f("slice_axis", x, axis=1, begin=1, end=2)
    # warp: (flow + pixel) / ((size - 1) / 2) - 1, i.e. flow * scale + the normalised grid
    ox = _f("broadcast_add", flow_x * _scale(w), _f("reshape", gx, shape=(1, 1, h, w)))
    oy = _f("broadcast_add", flow_y * _scale(h), _f("reshape", gy, shape=(1, 1, h, w)))
    return _f("concat", ox, oy, dim=1)


grid_generator.samples(
    lambda rng: Sample(_u(rng, 2, 6), target_shape=(3, 4)),
    lambda rng: Sample(_u(rng, 2, 2, 3, 2, lo=-2, hi=2), transform_type="warp"),
)


# -- BilinearSampler ------------------------------------------------------------------------------
def _bs_infer(x, grid, cudnn_off=None):
    op = "BilinearSampler"
    I.expect(x.ndim == 4, op, "data of shape (N, C, H, W)", f"data.shape={tuple(x.shape)}")
    I.expect(grid.ndim == 4 and grid.shape[:2] == (x.shape[0], 2), op,
             f"grid of shape (N, 2, h, w) with N == {x.shape[0]}",
             f"grid.shape={tuple(grid.shape)}")
    return I.Spec(x.shape[:2] + tuple(grid.shape[2:]), x.dtype)


bilinear_sampler = defop(
    "BilinearSampler", ("data", "grid"), {"cudnn_off": Any(None)}, infer=_bs_infer,
    aliases=("bilinear_sampler",),
    doc="Sample data (N, C, H, W) at grid (N, 2, h, w) positions (x, y) in [-1, 1] (-1: the "
        "first pixel, 1: the last) by bilinear interpolation; pixels outside the image count "
        "as 0. Output (N, C, h, w); differentiable in data and grid.")


def _sample(x, grid):
    """Bilinear sampling in ops: the four neighbours' values gathered with ``take`` from data
    flattened to (N * H * W, C), weighted by the fractional distances, out-of-image ones 0."""
    n, c, h, w = x.shape
    ho, wo = grid.shape[2], grid.shape[3]
    gx = _f("reshape", _f("slice_axis", grid, axis=1, begin=0, end=1), shape=(n, ho * wo))
    gy = _f("reshape", _f("slice_axis", grid, axis=1, begin=1, end=2), shape=(n, ho * wo))
    xr, yr = (gx + 1.0) * ((w - 1) / 2.0), (gy + 1.0) * ((h - 1) / 2.0)
    x0, y0 = _f("floor", xr), _f("floor", yr)
    wx1, wy1 = xr - x0, yr - y0            # weights of the right and lower neighbours
    table = _f("reshape", _f("transpose", x, axes=(0, 2, 3, 1)), shape=(n * h * w, c))
    # table rows in int32: float rows lose exactness past 2**11 (float16) or 2**24 (float32)
    base = _f("reshape", _f("arange", start=0, stop=n, ctx=x.context, dtype="int32") * (h * w),
              shape=(n, 1))
    out = None
    for dy, wy in ((0.0, 1.0 - wy1), (1.0, wy1)):
        for dx, wx in ((0.0, 1.0 - wx1), (1.0, wx1)):
            cx, cy = x0 + dx, y0 + dy
            inside = (cx >= 0.0) * (cx <= w - 1.0) * (cy >= 0.0) * (cy <= h - 1.0)
            yi = _f("cast", _f("clip", cy, a_min=0.0, a_max=h - 1.0), dtype="int32")
            xi = _f("cast", _f("clip", cx, a_min=0.0, a_max=w - 1.0), dtype="int32")
            idx = _f("broadcast_add", yi * w + xi, base)
            val = _f("take", table, _f("reshape", _f("stop_gradient", idx), shape=(-1,)),
                     axis=0)                                           # (N*ho*wo, C)
            wt = _f("reshape", wx * wy * inside, shape=(-1, 1))
            term = _f("broadcast_mul", val, wt)
            out = term if out is None else out + term
    return _f("transpose", _f("reshape", out, shape=(n, ho, wo, c)), axes=(0, 3, 1, 2))


@bilinear_sampler.compose
def _(x, grid, cudnn_off=None):
    _bs_infer(_s(x), _s(grid))
    return _sample(x, grid)


bilinear_sampler.samples(
    lambda rng: Sample(_u(rng, 2, 3, 4, 5), _u(rng, 2, 2, 3, 3, lo=-1.2, hi=1.2)),
    lambda rng: Sample(_u(rng, 1, 2, 3, 3), _u(rng, 1, 2, 4, 2, lo=-0.9, hi=0.9)),
)


# -- SpatialTransformer ---------------------------------------------------------------------------
def _st_infer(x, loc, target_shape=(0, 0), transform_type="affine", sampler_type="bilinear",
              cudnn_off=None):
    op = "SpatialTransformer"
    I.expect(x.ndim == 4, op, "data of shape (N, C, H, W)", f"data.shape={tuple(x.shape)}")
    I.expect(tuple(loc.shape) == (x.shape[0], 6), op, f"loc of shape (N, 6) == ({x.shape[0]}, 6)",
             f"loc.shape={tuple(loc.shape)}")
    I.expect(len(target_shape) == 2 and min(target_shape) >= 1, op,
             "target_shape == (H, W) >= 1", f"target_shape={tuple(target_shape)}")
    return I.Spec(x.shape[:2] + tuple(target_shape), x.dtype)


spatial_transformer = defop(
    "SpatialTransformer", ("data", "loc"),
    {"target_shape": Shape((0, 0)), "transform_type": Enum("affine"),
     "sampler_type": Enum("bilinear"), "cudnn_off": Any(None)},
    infer=_st_infer, aliases=("spatial_transformer",),
    doc="``BilinearSampler(data, GridGenerator(loc, 'affine', target_shape))``: warp data "
        "(N, C, H, W) by the affine transforms loc (N, 6) to (N, C, *target_shape).")


@spatial_transformer.compose
def _(x, loc, target_shape=(0, 0), transform_type="affine", sampler_type="bilinear",
      cudnn_off=None):
    _st_infer(_s(x), _s(loc), target_shape)
    grid = _f("GridGenerator", loc, transform_type="affine", target_shape=target_shape)
    return _sample(x, grid)


spatial_transformer.samples(
    lambda rng: Sample(_u(rng, 2, 2, 4, 5),
                       np.array([[0.9, 0.1, 0.05, -0.1, 0.8, 0.1],
                                 [0.5, -0.2, 0.2, 0.3, 1.1, -0.1]]) + _u(rng, 2, 6, lo=0, hi=.01),
                       target_shape=(3, 3)),
)
