"""MXNet 1.x's contrib resampling ops: ``_contrib_BilinearResize2D``,
``_contrib_AdaptiveAvgPooling2D`` and ``_contrib_ROIAlign`` (``mx.nd.contrib.<name>``).

Each is linear in its data and separable: ``out[n, c] = Wy @ data[n, c] @ Wx.T``, with weight
matrices that depend only on shapes and attributes (and, for ROIAlign, on the rois). The generic
bodies build the weights with array-API calls and apply them with two matmuls, so they run on
every backend. The data gradient is the transposed product, a ``_backward_*`` op whose own
gradient is the forward op again (second order comes for free).
"""

from __future__ import annotations

import math

import numpy as np

from ..base import MXNetValueError
from . import infer as I
from .attrs import Attr, Bool, Enum, Float, Int, Shape
from .call import F
from .nn import _s, _u
from .registry import Sample, defop

__all__ = ["bilinear_resize", "adaptive_avg_pooling", "roi_align"]


def _want_4d(op, x, name="data"):
    I.expect(x.ndim == 4, op, f"{name} of shape (N, C, H, W)", f"{name}.shape={tuple(x.shape)}")


def _separable(xp, x, wy, wx):
    """``wy (.., OH, H) @ x (.., H, W) @ wx.T (.., W, OW)``."""
    if wy.ndim == 2 and wx.ndim == 2:
        return _shared_product(xp, x, wy, wx)
    return xp.matmul(xp.matmul(wy, x), xp.matrix_transpose(wx))


def _separable_t(xp, g, wy, wx):
    """The transpose of :func:`_separable`: ``wy.T @ g @ wx``."""
    if wy.ndim == 2 and wx.ndim == 2:
        return _shared_product(xp, g, xp.matrix_transpose(wy), xp.matrix_transpose(wx))
    return xp.matmul(xp.matmul(xp.matrix_transpose(wy), g), wx)


def _shared_product(xp, x, a, b):
    """``a @ x[n, c] @ b.T`` for every image and channel, as two large 2-D products (a 2-D
    matrix broadcast against a stack of them is many small products on NumPy)."""
    lead, (h, w) = tuple(x.shape[:-2]), tuple(x.shape[-2:])
    planes = math.prod(lead)
    y = xp.matmul(xp.reshape(x, (-1, w)), xp.matrix_transpose(b))              # (P*H, OW)
    y = xp.permute_dims(xp.reshape(y, (planes, h, -1)), (1, 0, 2))              # (H, P, OW)
    y = xp.matmul(a, xp.reshape(y, (h, -1)))                                    # (OH, P*OW)
    y = xp.permute_dims(xp.reshape(y, (a.shape[0], planes, -1)), (1, 0, 2))    # (P, OH, OW)
    return xp.reshape(y, lead + tuple(y.shape[1:]))


def _column(xp, v):
    return xp.reshape(v, (-1, 1))


def _trailing(xp, v):
    """``v`` with a new last axis of length 1 (for broadcasting against a last axis)."""
    return xp.reshape(v, tuple(v.shape) + (1,))


def _grad_infer(op, g, x):
    """The rule of a ``_backward_*`` op: grad (N, C, oh, ow) of data (N, C, H, W)."""
    _want_4d(op, x)
    I.expect(g.ndim == 4 and tuple(g.shape[:2]) == tuple(x.shape[:2]), op,
             f"grad of shape ({x.shape[0]}, {x.shape[1]}, oh, ow) for data {tuple(x.shape)}",
             f"grad.shape={tuple(g.shape)}")
    return I.Spec(x.shape, x.dtype)


# -- BilinearResize2D -----------------------------------------------------------------------------
_MODES = ("size", "odd_scale", "like", "to_even_down", "to_even_up", "to_odd_down", "to_odd_up")


def _resized(n, mode, size, scale):
    """MXNet's output length along one axis of length ``n`` (scales in float32, as MXNet)."""
    if mode == "size":
        return size if scale is None else int(np.float32(scale) * np.float32(n))
    if mode == "odd_scale":
        if n % 2 == 0:
            return int(np.float32(n) * np.float32(scale))
        return int(np.float32(n - 1) * np.float32(scale)) + 1
    even = n % 2 == 0
    step = {"to_even_down": -1, "to_even_up": 1, "to_odd_down": -1, "to_odd_up": 1}[mode]
    keep = even if mode.startswith("to_even") else not even
    return n if keep else n + step


def _resize_infer(x, like=None, height=1, width=1, scale_height=None, scale_width=None,
                  mode="size", align_corners=True):
    op = "_contrib_BilinearResize2D"
    _want_4d(op, x)
    if mode == "like":
        I.expect(like is not None and like.ndim == 4, op,
                 "a second input 'like' of shape (N, C, h, w) for mode='like'",
                 f"like.shape={None if like is None else tuple(like.shape)}")
        out_h, out_w = like.shape[2], like.shape[3]
    else:
        I.expect(like is None, op, "one input (data) unless mode='like'",
                 f"a second input with mode={mode!r}")
        if mode == "odd_scale":
            I.expect(scale_height is not None and scale_width is not None, op,
                     "scale_height and scale_width for mode='odd_scale'",
                     f"scale_height={scale_height}, scale_width={scale_width}")
        out_h = _resized(x.shape[2], mode, height, scale_height)
        out_w = _resized(x.shape[3], mode, width, scale_width)
    I.expect(out_h >= 1 and out_w >= 1, op, "an output height and width >= 1",
             f"({out_h}, {out_w}) from data {tuple(x.shape)}, mode={mode!r}")
    return I.Spec(tuple(x.shape[:2]) + (out_h, out_w), x.dtype)


bilinear_resize = defop(
    "_contrib_BilinearResize2D", ("data", "like"),
    {"height": Int(1), "width": Int(1), "scale_height": Attr(None, "float"),
     "scale_width": Attr(None, "float"), "mode": Enum(*_MODES), "align_corners": Bool(True)},
    infer=_resize_infer,
    doc="Resize data (N, C, H, W) by bilinear interpolation. The output height and width: "
        "``mode='size'``: ``height``/``width``, or ``int(H * scale_height)``/``int(W * "
        "scale_width)`` where a scale is given; ``'odd_scale'``: ``int(H * scale)`` for even H, "
        "``int((H - 1) * scale) + 1`` for odd H; ``'like'``: those of the second input; "
        "``'to_even_down'``/``'to_even_up'``/``'to_odd_down'``/``'to_odd_up'``: the nearest "
        "even/odd size below/above. ``align_corners=True`` maps the corner pixels onto each "
        "other (source = dst * (H - 1) / (oh - 1)); False maps pixel areas (source = (dst + "
        "0.5) * H / oh - 0.5, clipped at 0), as MXNet 1.9.")
bilinear_resize.nograd("like")


def _bilinear_weights(xp, n_in, n_out, align_corners, like):
    """(n_out, n_in): row i holds the two interpolation weights of output pixel i. Source
    coordinates are computed in float32 whatever the data type, as MXNet does."""
    dev, f32 = like.device, xp.float32
    if n_out > 1:
        scale = float(np.float32(n_in - (1 if align_corners else 0))
                      / np.float32(n_out - (1 if align_corners else 0)))
    else:
        scale = 0.0
    dst = xp.arange(n_out, dtype=f32, device=dev)
    src = dst * scale if align_corners else xp.clip((dst + 0.5) * scale - 0.5, 0.0, None)
    lo = xp.floor(src)
    lam = _column(xp, xp.astype(src - lo, like.dtype))
    lo = xp.astype(lo, xp.int64)
    hi = xp.where(lo < n_in - 1, lo + 1, lo)  # the last row/column interpolates with itself
    cols = xp.reshape(xp.arange(n_in, dtype=xp.int64, device=dev), (1, -1))
    at_lo = xp.astype(cols == _column(xp, lo), like.dtype)
    at_hi = xp.astype(cols == _column(xp, hi), like.dtype)
    return at_lo * (1 - lam) + at_hi * lam


@bilinear_resize.impl
def _(xp, x, like=None, align_corners=True, **attrs):
    out = _resize_infer(_s(x), None if like is None else _s(like), align_corners=align_corners,
                        **attrs)
    (h, w), (oh, ow) = x.shape[2:], out.shape[2:]
    return _separable(xp, x, _bilinear_weights(xp, h, oh, align_corners, x),
                      _bilinear_weights(xp, w, ow, align_corners, x))


bilinear_resize_grad = defop(
    "_backward_contrib_BilinearResize2D", ("grad", "data"), {"align_corners": Bool(True)},
    infer=lambda g, x, align_corners=True: _grad_infer("_backward_contrib_BilinearResize2D",
                                                       g, x),
    doc="BilinearResize2D's data gradient for an output gradient ``grad`` (N, C, oh, ow): "
        "``Wy.T @ grad @ Wx`` with the forward's interpolation weights.")
bilinear_resize_grad.nograd("data")


@bilinear_resize_grad.impl
def _(xp, g, x, align_corners=True):
    _grad_infer("_backward_contrib_BilinearResize2D", _s(g), _s(x))
    (h, w), (oh, ow) = x.shape[2:], g.shape[2:]
    return _separable_t(xp, g, _bilinear_weights(xp, h, oh, align_corners, x),
                        _bilinear_weights(xp, w, ow, align_corners, x))


@bilinear_resize.vjp
def _(g, out, x, like=None, align_corners=True, **attrs):
    gx = F._backward_contrib_BilinearResize2D(g, x, align_corners=align_corners)
    return (gx,) if like is None else (gx, None)


@bilinear_resize_grad.vjp
def _(h, out, g, x, align_corners=True):
    return F._contrib_BilinearResize2D(h, height=g.shape[2], width=g.shape[3],
                                       align_corners=align_corners), None


bilinear_resize.samples(
    lambda rng: Sample(_u(rng, 2, 2, 3, 4), height=5, width=7),
    lambda rng: Sample(_u(rng, 1, 2, 5, 6), height=3, width=4, align_corners=False),
    lambda rng: Sample(_u(rng, 1, 1, 4, 3), scale_height=1.5, scale_width=2.0),
    lambda rng: Sample(_u(rng, 1, 2, 3, 4), _u(rng, 1, 1, 6, 2), mode="like"),
    lambda rng: Sample(_u(rng, 1, 1, 5, 4), mode="odd_scale", scale_height=2.0,
                       scale_width=0.5, align_corners=False),
    lambda rng: Sample(_u(rng, 1, 1, 5, 4), mode="to_even_up"),
    lambda rng: Sample(_u(rng, 1, 1, 5, 4), mode="to_even_down", align_corners=False),
)
bilinear_resize_grad.samples(
    lambda rng: Sample(_u(rng, 2, 2, 5, 7), _u(rng, 2, 2, 3, 4)),
    lambda rng: Sample(_u(rng, 1, 2, 3, 4), _u(rng, 1, 2, 5, 6), align_corners=False),
)


# -- AdaptiveAvgPooling2D -------------------------------------------------------------------------
def _pool_size(output_size):
    """MXNet's output_size: () -> (1, 1), (n,) -> (n, n), (h, w)."""
    size = tuple(output_size)
    return (1, 1) if not size else (size * 2 if len(size) == 1 else size)


def _adaptive_infer(x, output_size=()):
    op = "_contrib_AdaptiveAvgPooling2D"
    _want_4d(op, x)
    size = _pool_size(output_size)
    I.expect(len(size) == 2 and min(size) >= 1, op,
             "output_size an int >= 1 or a tuple (height, width) of them",
             f"output_size={tuple(output_size)}")
    return I.Spec(tuple(x.shape[:2]) + size, x.dtype)


adaptive_avg_pooling = defop(
    "_contrib_AdaptiveAvgPooling2D", ("data",), {"output_size": Shape(())},
    infer=_adaptive_infer,
    doc="Average-pool data (N, C, H, W) to (N, C, oh, ow) (``output_size``: an int for a square "
        "output or (oh, ow); empty: (1, 1)). Output row i averages input rows floor(i * H / oh) "
        ".. ceil((i + 1) * H / oh) - 1, and likewise for columns, as MXNet and PyTorch.")


def _adaptive_weights(xp, n_in, n_out, like):
    """(n_out, n_in): row i is the mean over the input window of output i."""
    dev = like.device
    i = xp.arange(n_out, dtype=xp.int64, device=dev)
    start = _column(xp, (i * n_in) // n_out)
    end = _column(xp, -((-(i + 1) * n_in) // n_out))
    cols = xp.reshape(xp.arange(n_in, dtype=xp.int64, device=dev), (1, -1))
    inside = xp.astype((cols >= start) & (cols < end), like.dtype)
    return inside / xp.astype(end - start, like.dtype)


@adaptive_avg_pooling.impl
def _(xp, x, output_size=()):
    out = _adaptive_infer(_s(x), output_size)
    (h, w), (oh, ow) = x.shape[2:], out.shape[2:]
    return _separable(xp, x, _adaptive_weights(xp, h, oh, x), _adaptive_weights(xp, w, ow, x))


adaptive_avg_pooling_grad = defop(
    "_backward_contrib_AdaptiveAvgPooling2D", ("grad", "data"),
    infer=lambda g, x: _grad_infer("_backward_contrib_AdaptiveAvgPooling2D", g, x),
    doc="AdaptiveAvgPooling2D's data gradient: each output gradient spread evenly over its "
        "window.")
adaptive_avg_pooling_grad.nograd("data")


@adaptive_avg_pooling_grad.impl
def _(xp, g, x):
    _grad_infer("_backward_contrib_AdaptiveAvgPooling2D", _s(g), _s(x))
    (h, w), (oh, ow) = x.shape[2:], g.shape[2:]
    return _separable_t(xp, g, _adaptive_weights(xp, h, oh, x), _adaptive_weights(xp, w, ow, x))


@adaptive_avg_pooling.vjp
def _(g, out, x, output_size=()):
    return (F._backward_contrib_AdaptiveAvgPooling2D(g, x),)


@adaptive_avg_pooling_grad.vjp
def _(h, out, g, x):
    return F._contrib_AdaptiveAvgPooling2D(h, output_size=tuple(g.shape[2:])), None


adaptive_avg_pooling.samples(
    lambda rng: Sample(_u(rng, 2, 3, 5, 7), output_size=3),
    lambda rng: Sample(_u(rng, 1, 2, 4, 6), output_size=(3, 4)),
    lambda rng: Sample(_u(rng, 1, 2, 3, 5)),
)
adaptive_avg_pooling_grad.samples(
    lambda rng: Sample(_u(rng, 2, 3, 3, 3), _u(rng, 2, 3, 5, 7)),
    lambda rng: Sample(_u(rng, 1, 2, 3, 4), _u(rng, 1, 2, 4, 6)),
)


# -- ROIAlign -------------------------------------------------------------------------------------
def _roi_align_infer(x, rois, pooled_size=(), spatial_scale=1.0, sample_ratio=-1,
                     position_sensitive=False, aligned=False):
    op = "_contrib_ROIAlign"
    _want_4d(op, x)
    I.expect(rois.ndim == 2 and rois.shape[1] == 5, op,
             "rois of shape (R, 5): [batch_index, x1, y1, x2, y2]",
             f"rois.shape={tuple(rois.shape)}")
    I.expect(len(pooled_size) == 2 and min(pooled_size) >= 1, op,
             "pooled_size == (height, width) >= 1", f"pooled_size={tuple(pooled_size)}")
    ph, pw = pooled_size
    chans = x.shape[1]
    if position_sensitive:
        I.expect(chans % (ph * pw) == 0, op,
                 f"data channels divisible by pooled_size[0] * pooled_size[1] = {ph * pw} "
                 f"(position_sensitive=True)", f"data.shape={tuple(x.shape)}")
        chans //= ph * pw
    return I.Spec((rois.shape[0], chans, ph, pw), x.dtype)


_ROI_ATTRS = {"pooled_size": Shape(()), "spatial_scale": Float(1.0), "sample_ratio": Int(-1),
              "position_sensitive": Bool(False), "aligned": Bool(False)}

roi_align = defop(
    "_contrib_ROIAlign", ("data", "rois"), dict(_ROI_ATTRS), infer=_roi_align_infer,
    doc="Average-pool each region of interest [batch_index, x1, y1, x2, y2] (image "
        "coordinates, times ``spatial_scale``; ``aligned`` shifts them by -0.5 pixel) of data "
        "(N, C, H, W) into a ``pooled_size`` (ph, pw) grid of bins, each bin the mean of "
        "``sample_ratio`` x ``sample_ratio`` bilinearly interpolated samples (<= 0: "
        "ceil(bin size) per axis). Without ``aligned``, rois are at least 1 x 1 pixel. A "
        "negative batch index gives zeros. ``position_sensitive``: output channel c of bin "
        "(i, j) reads input channel (c * ph + i) * pw + j. Output (R, C, ph, pw) (C / (ph * pw) "
        "when position-sensitive); the rois get no gradient, as in MXNet.")
roi_align.nograd("rois")


def bilinear_neighbours(xp, y, extent):
    """MXNet's ``bilinear_interpolate`` along one axis of ``extent`` pixels: the lower and upper
    neighbour (as floats) and the fraction towards the upper one, coordinates clamped to
    [0, extent - 1] (at or past the last pixel both neighbours are the last pixel)."""
    y = xp.clip(y, 0.0, None)
    lo = xp.floor(y)
    at_end = lo >= extent - 1
    lo = xp.where(at_end, xp.full_like(lo, extent - 1), lo)
    y = xp.where(at_end, lo, y)
    hi = xp.where(at_end, lo, lo + 1.0)
    return lo, hi, y - lo


def _roi_axis_weights(xp, start, size, pooled, grid, gmax, extent, dtype):
    """(R, pooled, extent): along one axis, each bin's bilinear weights averaged over its
    ``grid`` (R,) samples, with MXNet's edge rules (samples beyond -1 or ``extent`` are 0,
    coordinates clamp to [0, extent - 1])."""
    dev = start.device
    bin_size = xp.reshape(size / pooled, (-1, 1, 1))
    grid_f = xp.reshape(xp.astype(grid, dtype), (-1, 1, 1))
    p = xp.reshape(xp.arange(pooled, dtype=dtype, device=dev), (1, -1, 1))
    k = xp.reshape(xp.arange(gmax, dtype=dtype, device=dev), (1, 1, -1))
    y = xp.reshape(start, (-1, 1, 1)) + p * bin_size + (k + 0.5) * bin_size / grid_f
    used = xp.astype((k < grid_f) & (y >= -1.0) & (y <= float(extent)), dtype)
    lo, hi, frac = bilinear_neighbours(xp, y, extent)
    cols = xp.reshape(xp.arange(extent, dtype=dtype, device=dev), (1, 1, 1, -1))
    w = (xp.astype(cols == _trailing(xp, lo), dtype) * _trailing(xp, 1 - frac)
         + xp.astype(cols == _trailing(xp, hi), dtype) * _trailing(xp, frac)) \
        * _trailing(xp, used)                                              # (R, pooled, G, E)
    return xp.sum(w, axis=2) / grid_f


def _roi_align_setup(xp, x, rois, pooled_size, spatial_scale, sample_ratio, aligned):
    """(batch index (R,) int64 clipped into the batch, keep (R,) 0/1 for non-negative batch
    indices, Wy (R, ph, H), Wx (R, pw, W))."""
    n, _, h, w = x.shape
    ph, pw = pooled_size
    rois = xp.astype(rois, x.dtype)
    batch = xp.trunc(rois[:, 0])       # MXNet casts the batch index to int: truncation
    offset = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (rois[:, k] * spatial_scale - offset for k in range(1, 5))
    roi_w, roi_h = x2 - x1, y2 - y1
    if aligned:
        if bool(xp.any((roi_w <= 0) | (roi_h <= 0))):
            raise MXNetValueError("_contrib_ROIAlign: Expect: rois with x2 > x1 and y2 > y1 for "
                                  "aligned=True / Actual: an empty or inverted roi")
    else:  # malformed rois become 1 x 1, as MXNet does without ``aligned``
        roi_w, roi_h = xp.clip(roi_w, 1.0, None), xp.clip(roi_h, 1.0, None)
    if sample_ratio > 0:
        gh = gw = xp.full((rois.shape[0],), sample_ratio, dtype=xp.int64, device=x.device)
    else:
        gh = xp.astype(xp.ceil(roi_h / ph), xp.int64)
        gw = xp.astype(xp.ceil(roi_w / pw), xp.int64)
    gmax_h, gmax_w = int(xp.max(gh)), int(xp.max(gw))
    wy = _roi_axis_weights(xp, y1, roi_h, ph, gh, gmax_h, h, x.dtype)
    wx = _roi_axis_weights(xp, x1, roi_w, pw, gw, gmax_w, w, x.dtype)
    keep = xp.astype(batch >= 0, x.dtype)
    index = xp.astype(xp.clip(batch, 0.0, float(n - 1)), xp.int64)
    return index, keep, wy, wx


def _per_roi(xp, wgt):
    """Weights (R, bins, extent) as (R, 1, bins, extent): shared by every channel."""
    return xp.reshape(wgt, (wgt.shape[0], 1) + tuple(wgt.shape[1:]))


def _position_mask(xp, ph, pw, like):
    """(ph * pw, ph, pw): 1 where bin (i, j) reads its channel group i * pw + j."""
    k = xp.reshape(xp.arange(ph * pw, dtype=xp.int64, device=like.device), (-1, 1, 1))
    i = xp.reshape(xp.arange(ph, dtype=xp.int64, device=like.device), (1, -1, 1))
    j = xp.reshape(xp.arange(pw, dtype=xp.int64, device=like.device), (1, 1, -1))
    return xp.astype(k == i * pw + j, like.dtype)


#: Elements of gathered roi images the generic body holds at once (rois go in chunks).
_CHUNK_ELEMENTS = 1 << 24


def _roi_chunks(r, x):
    step = max(1, _CHUNK_ELEMENTS // max(1, x.shape[1] * x.shape[2] * x.shape[3]))
    return [(a, min(a + step, r)) for a in range(0, r, step)]


def _pool_rois(xp, x, index, wy, wx):
    """(R, C, ph, pw): each roi's image pooled by its weights (the images gathered in chunks)."""
    parts = []
    for a, b in _roi_chunks(index.shape[0], x):
        feat = xp.take(x, index[a:b], axis=0)                        # (r, C, H, W)
        parts.append(_separable(xp, feat, _per_roi(xp, wy[a:b]), _per_roi(xp, wx[a:b])))
    return parts[0] if len(parts) == 1 else xp.concat(parts, axis=0)


def _roi_windows(wy, wx):
    """Per roi: the (row, column) slices its nonzero weights cover, or None (host arrays)."""
    out = []
    for ry, rx in zip(wy, wx):
        rows, cols = np.flatnonzero(ry.any(axis=0)), np.flatnonzero(rx.any(axis=0))
        out.append(None if not len(rows) or not len(cols) else
                   (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)))
    return out


def _roi_output(xp, pooled, keep, pooled_size, position_sensitive):
    """Zero the rois with a negative batch index; position-sensitive: keep bin (i, j) of
    channel group i * pw + j."""
    if position_sensitive:
        (ph, pw), r = pooled_size, pooled.shape[0]
        groups = xp.reshape(pooled, (r, pooled.shape[1] // (ph * pw), ph * pw, ph, pw))
        pooled = xp.sum(groups * _position_mask(xp, ph, pw, pooled), axis=2)
    return pooled * xp.reshape(keep, (-1, 1, 1, 1))


def _roi_grad_input(xp, g, keep, pooled_size, position_sensitive, channels):
    """The output gradient per roi and input channel (the transpose of :func:`_roi_output`)."""
    g = g * xp.reshape(keep, (-1, 1, 1, 1))
    if not position_sensitive:
        return g
    (ph, pw), r = pooled_size, g.shape[0]
    spread = xp.reshape(g, (r, g.shape[1], 1, ph, pw)) * _position_mask(xp, ph, pw, g)
    return xp.reshape(spread, (r, channels, ph, pw))


@roi_align.impl
def _(xp, x, rois, pooled_size=(), spatial_scale=1.0, sample_ratio=-1,
      position_sensitive=False, aligned=False):
    out = _roi_align_infer(_s(x), _s(rois), pooled_size, spatial_scale, sample_ratio,
                           position_sensitive, aligned)
    if rois.shape[0] == 0:
        return xp.zeros(out.shape, dtype=x.dtype, device=x.device)
    index, keep, wy, wx = _roi_align_setup(xp, x, rois, pooled_size, spatial_scale,
                                           sample_ratio, aligned)
    pooled = _pool_rois(xp, x, index, wy, wx)
    return _roi_output(xp, pooled, keep, pooled_size, position_sensitive)


@roi_align.kernel("numpy")
def _(be, x, rois, pooled_size=(), spatial_scale=1.0, sample_ratio=-1,
      position_sensitive=False, aligned=False):
    # each roi's weights are zero outside its window: multiply only that part of its image
    out = _roi_align_infer(_s(x), _s(rois), pooled_size, spatial_scale, sample_ratio,
                           position_sensitive, aligned)
    r = rois.shape[0]
    pooled = np.zeros((r, x.shape[1]) + tuple(pooled_size), dtype=x.dtype)
    if r == 0:
        return np.zeros(out.shape, dtype=x.dtype)
    index, keep, wy, wx = _roi_align_setup(np, x, rois, pooled_size, spatial_scale,
                                           sample_ratio, aligned)
    for k, win in enumerate(_roi_windows(wy, wx)):
        if win is not None and keep[k]:
            rows, cols = win
            pooled[k] = wy[k][:, rows] @ x[index[k], :, rows, cols] @ wx[k][:, cols].T
    return _roi_output(np, pooled, keep, pooled_size, position_sensitive)


def _roi_grad_infer(g, x, rois, **attrs):
    out = _roi_align_infer(x, rois, **attrs)
    I.expect_output_grad(g, out, "_backward_ROIAlign", "ROIAlign")
    return I.Spec(x.shape, x.dtype)


roi_align_grad = defop(
    "_backward_ROIAlign", ("grad", "data", "rois"), dict(_ROI_ATTRS), infer=_roi_grad_infer,
    doc="ROIAlign's data gradient: each bin's gradient spread over its samples' four "
        "neighbours with the bilinear weights, summed per image.")
roi_align_grad.nograd("data", "rois")


@roi_align_grad.impl
def _(xp, g, x, rois, **attrs):
    _roi_grad_infer(_s(g), _s(x), _s(rois), **attrs)
    n, c, h, w = x.shape
    if rois.shape[0] == 0:
        return xp.zeros(x.shape, dtype=x.dtype, device=x.device)
    index, keep, wy, wx = _roi_align_setup(xp, x, rois, attrs["pooled_size"],
                                           attrs["spatial_scale"], attrs["sample_ratio"],
                                           attrs["aligned"])
    g = _roi_grad_input(xp, xp.astype(g, x.dtype), keep, attrs["pooled_size"],
                        attrs["position_sensitive"], c)
    images = xp.reshape(xp.arange(n, dtype=xp.int64, device=x.device), (1, -1))
    gx = xp.zeros((n, c * h * w), dtype=x.dtype, device=x.device)
    for a, b in _roi_chunks(rois.shape[0], x):   # scatter-add per image: a one-hot matmul
        gfeat = _separable_t(xp, g[a:b], _per_roi(xp, wy[a:b]), _per_roi(xp, wx[a:b]))
        pick = xp.astype(_column(xp, index[a:b]) == images, x.dtype)             # (r, N)
        gx = gx + xp.matmul(xp.matrix_transpose(pick), xp.reshape(gfeat, (b - a, -1)))
    return xp.reshape(gx, x.shape)


@roi_align_grad.kernel("numpy")
def _(be, g, x, rois, **attrs):
    _roi_grad_infer(_s(g), _s(x), _s(rois), **attrs)
    gx = np.zeros(x.shape, dtype=x.dtype)
    if rois.shape[0] == 0:
        return gx
    index, keep, wy, wx = _roi_align_setup(np, x, rois, attrs["pooled_size"],
                                           attrs["spatial_scale"], attrs["sample_ratio"],
                                           attrs["aligned"])
    g = _roi_grad_input(np, g.astype(x.dtype), keep, attrs["pooled_size"],
                        attrs["position_sensitive"], x.shape[1])
    for k, win in enumerate(_roi_windows(wy, wx)):
        if win is not None and keep[k]:
            rows, cols = win
            gx[index[k], :, rows, cols] += wy[k][:, rows].T @ g[k] @ wx[k][:, cols]
    return gx


@roi_align.vjp
def _(g, out, x, rois, **attrs):
    return F._backward_ROIAlign(g, x, rois, **attrs), None


@roi_align_grad.vjp
def _(h, out, g, x, rois, **attrs):
    return F._contrib_ROIAlign(h, rois, **attrs), None, None


_ALIGN_ROIS = (np.array([[0, 0.5, 0.4, 4.2, 3.6], [1, 1.3, 2.0, 3.1, 4.9],
                         [0, -1.5, -0.8, 2.2, 6.4], [-1, 0, 0, 2, 2]]),
               np.array([[0, 2.0, 1.0, 9.0, 11.0], [0, 6.5, 7.5, 14.0, 13.0]]))
roi_align.samples(
    lambda rng: Sample(_u(rng, 2, 2, 5, 6), _ALIGN_ROIS[0], pooled_size=(2, 3)),
    lambda rng: Sample(_u(rng, 1, 2, 7, 7), _ALIGN_ROIS[1], pooled_size=(2, 2),
                       spatial_scale=0.5, sample_ratio=2, aligned=True),
    lambda rng: Sample(_u(rng, 2, 8, 5, 6), _ALIGN_ROIS[0], pooled_size=(2, 2),
                       position_sensitive=True),
)
roi_align_grad.samples(
    lambda rng: Sample(_u(rng, 4, 2, 2, 3), _u(rng, 2, 2, 5, 6), _ALIGN_ROIS[0],
                       pooled_size=(2, 3)),
    lambda rng: Sample(_u(rng, 4, 2, 2, 2), _u(rng, 2, 8, 5, 6), _ALIGN_ROIS[0],
                       pooled_size=(2, 2), position_sensitive=True),
)
