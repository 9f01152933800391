"""MXNet 1.x's ``_image_resize`` (``mx.nd.image.resize``) and its gradient op
``_backward_image_resize`` (the transposed interpolation), part of :mod:`.image_ops`.

``resize`` reproduces OpenCV 3.4, which MXNet resizes with: ``interp`` 0 nearest, 1 bilinear
(default), 2 bicubic, 3 area, 4 Lanczos-4 (5 is taken as bilinear), down to its uint8 11-bit
fixed-point rounding (bit for bit against MXNet 1.9.1). HWC images or NHWC batches; uint8,
float32 and float64 (float16 and other integers are rejected, as MXNet does)."""
from __future__ import annotations

import functools
import math

import numpy as np

from . import infer as I
from .attrs import Bool, Int, Shape
from .call import F
from .image_ops import _DBL_EPS, _EPS32, _const, _hwc, _img, _s, _u8
from .registry import Sample, defop

#: MXNet's ``interp`` codes are OpenCV's; 5 (INTER_LINEAR_EXACT) is computed as 1 here.
_INTERP = {0: "nearest", 1: "bilinear", 2: "bicubic", 3: "area", 4: "Lanczos-4", 5: "bilinear"}
_RESIZE = {"size": Shape(()), "keep_ratio": Bool(False), "interp": Int(1)}
_COEF_BITS = 11   # OpenCV's INTER_RESIZE_COEF_BITS: uint8 weights are multiples of 2**-11


def _resized_hw(h, w, size, keep_ratio):
    if len(size) == 2:
        return size[1], size[0]
    s = size[0]
    if not keep_ratio:
        return s, s
    return (h * s // w, s) if h > w else (s, w * s // h)   # the short edge becomes s


def _resize_infer(x, size=(), keep_ratio=False, interp=1):
    op = "_image_resize"
    _hwc(op, x, batch=True, rgb=False)
    I.expect(len(size) in (1, 2), op, "size as (width, height) or (size,)", f"size={tuple(size)}")
    I.expect(all(s > 0 for s in size), op, "positive sizes", f"size={tuple(size)}")
    I.expect(interp in _INTERP, op, "interp in 0 (nearest), 1 (bilinear), 2 (bicubic), 3 (area), "
             "4 (Lanczos), 5 (bilinear)", f"interp={interp}")
    dt = np.dtype(x.dtype).name
    I.expect(dt in ("uint8", "float32", "float64"), op,
             "uint8, float32 or float64 data (what MXNet's OpenCV resize takes)", f"dtype={dt}")
    h, w = x.shape[-3], x.shape[-2]
    I.expect(h > 0 and w > 0, op, "a non-empty image", f"data.shape={tuple(x.shape)}")
    oh, ow = _resized_hw(h, w, size, keep_ratio)
    return I.Spec(tuple(x.shape[:-3]) + (oh, ow, x.shape[-1]), x.dtype)


def _cubic(f):
    a, one = np.float32(-0.75), np.float32(1)
    c0 = ((a * (f + one) - 5 * a) * (f + one) + 8 * a) * (f + one) - 4 * a
    c1 = ((a + 2) * f - (a + 3)) * f * f + one
    c2 = ((a + 2) * (one - f) - (a + 3)) * (one - f) * (one - f) + one
    return np.stack([c0, c1, c2, one - c0 - c1 - c2], axis=1)


_S45 = 0.70710678118654752440084436210485
#: (cos, sin) of 5*pi*i/4: OpenCV gets sin(y0 + 5*pi*i/4) from one sin and cos of y0.
_LANCZOS_CS = ((1, 0), (-_S45, -_S45), (0, 1), (_S45, -_S45), (-1, 0), (_S45, _S45), (0, -1),
               (-_S45, _S45))


def _lanczos4(f):
    """OpenCV's 8 normalised Lanczos-4 weights, with its float32/float64 steps."""
    y0 = -(f + np.float32(3)).astype(np.float64) * math.pi * 0.25
    s0, c0 = np.sin(y0), np.cos(y0)
    c = np.empty(f.shape + (8,), np.float32)
    total = np.zeros(f.shape, np.float32)
    for i, (a, b) in enumerate(_LANCZOS_CS):
        y = -(f + np.float32(3) - np.float32(i)).astype(np.float64) * math.pi * 0.25
        with np.errstate(divide="ignore", invalid="ignore"):   # y = 0 only where f = 0 (below)
            c[:, i] = (a * s0 + b * c0) / (y * y)
        total = total + c[:, i]
    with np.errstate(divide="ignore", invalid="ignore"):
        c = c * (np.float32(1) / total)[:, None]
    small = f < _EPS32
    c[small] = 0
    c[small, 3] = 1
    return c


def _area_taps(n_in, n_out, scale):
    """Area averaging when shrinking: the overlap of each source pixel with the output cell."""
    rows = []
    for d in range(n_out):
        lo, hi = d * scale, d * scale + scale
        cell = min(scale, n_in - lo)
        s1, s2 = math.ceil(lo), min(math.floor(hi), n_in - 1)
        s1 = min(s1, s2)
        row = [(s1 - 1, (s1 - lo) / cell)] if s1 - lo > 1e-3 else []
        row += [(s, 1.0 / cell) for s in range(s1, s2)]
        if hi - s2 > 1e-3:
            row.append((s2, min(hi - s2, 1.0, cell) / cell))
        rows.append(row)
    k = max(len(r) for r in rows)
    idx, wgt = np.zeros((n_out, k), np.int64), np.zeros((n_out, k), np.float32)
    for d, row in enumerate(rows):
        for j, (s, a) in enumerate(row):
            idx[d, j], wgt[d, j] = s, a
    return idx, wgt


def _axis_taps(n_in, n_out, interp, area, clamp):
    """(indices, float32 weights), each (n_out, taps), of one axis as OpenCV 3.4 resizes it:
    ``interp`` 0 nearest, 1 bilinear, 2 bicubic, 4 Lanczos; ``area``: OpenCV's area mode ("true":
    averaging, when shrinking both axes; "grow": bilinear with its own offsets); ``clamp``:
    OpenCV moves bilinear positions outside the image to the border along x only (same value)."""
    inv = n_out / n_in
    scale, d = 1.0 / inv, np.arange(n_out, dtype=np.float64)
    if interp == 0:
        idx = np.minimum(np.floor(d * scale).astype(np.int64), n_in - 1)[:, None]
        return idx, np.ones(idx.shape, np.float32)
    if area == "true":
        return _area_taps(n_in, n_out, scale)
    if area == "grow":
        sx = np.floor(d * scale)
        f = ((d + 1) - (sx + 1) * inv).astype(np.float32)
        f = np.where(f <= 0, np.float32(0), f - np.floor(f))
    else:
        f = ((d + 0.5) * scale - 0.5).astype(np.float32)
        sx = np.floor(f)
        f = f - sx.astype(np.float32)
    sx = sx.astype(np.int64)
    if interp == 2:
        w, first = _cubic(f), -1
    elif interp == 4:
        w, first = _lanczos4(f), -3
    else:
        if clamp:
            out = (sx < 0) | (sx >= n_in - 1)
            f, sx = np.where(out, np.float32(0), f), np.clip(sx, 0, n_in - 1)
        w, first = np.stack([np.float32(1) - f, f], axis=1), 0
    idx = np.clip(sx[:, None] + first + np.arange(w.shape[1]), 0, n_in - 1)
    return idx, w.astype(np.float32)


@functools.lru_cache(maxsize=256)
def _resize_plan(h, w, oh, ow, interp):
    """Taps for rows and columns, and how uint8 results round: "fixed" (OpenCV's 11-bit fixed
    point), "even" (float, half to even), "up" (OpenCV's 2x2 averaging, half up), "none".
    Cached (read-only arrays): a data pipeline resizes image after image of one size."""
    interp = 1 if interp == 5 else interp
    sy, sx = 1.0 / (oh / h), 1.0 / (ow / w)
    half = abs(sx - 2) < _DBL_EPS and abs(sy - 2) < _DBL_EPS
    if interp == 1 and half:
        interp = 3        # OpenCV: halving both axes bilinearly is its 2x2 area average
    area = interp == 3 and ("true" if sx >= 1 and sy >= 1 else "grow")
    rnd = "none" if interp == 0 else ("up" if half else "even") if area == "true" else "fixed"
    taps = (_axis_taps(h, oh, interp, area, False), _axis_taps(w, ow, interp, area, True))
    for a in (a for pair in taps for a in pair if isinstance(a, np.ndarray)):
        a.flags.writeable = False
    return taps + (rnd,)


def _along(xp, x, axis, idx, wgt):
    """``sum_k wgt[o, k] * x[idx[o, k]]`` along ``axis`` (weights already of x's dtype)."""
    n_out, k = idx.shape
    t = xp.take(x, _const(xp, idx.reshape(-1), x), axis=axis)
    if k == 1 and wgt is None:
        return t
    t = xp.reshape(t, tuple(x.shape[:axis]) + (n_out, k) + tuple(x.shape[axis + 1:]))
    wv = _const(xp, wgt.reshape((n_out, k) + (1,) * (x.ndim - axis - 1)), x)
    return xp.sum(t * wv, axis=axis + 1)


resize = defop(
    "_image_resize", ("data",), _RESIZE, infer=_resize_infer,
    doc="Resize an (H, W, C) image or (N, H, W, C) batch to ``size`` = (width, height), or "
        "(size,): both edges, or with ``keep_ratio`` the short edge (the long one scaled, "
        "rounded down). ``interp`` as OpenCV (MXNet resizes with it): 0 nearest, 1 bilinear "
        "(default), 2 bicubic, 3 area, 4 Lanczos-4, as OpenCV 3.4 computes them (sample "
        "positions, replicated borders, float32 weights; uint8 in its 11-bit fixed point with "
        "its SSE2 rounding), which matches MXNet 1.9.1 bit for bit on uint8. Not supported: "
        "float16 and integer types other than uint8 (MXNet rejects them too); interp 5 "
        "(OpenCV's INTER_LINEAR_EXACT) runs as 1, which may round uint8 differently.")


@resize.impl
def _resize_body(xp, x, size=(), keep_ratio=False, interp=1):
    spec = _resize_infer(_s(x), size, keep_ratio, interp)
    (h, w), (oh, ow) = x.shape[-3:-1], spec.shape[-3:-1]
    if (oh, ow) == (h, w):
        return xp.asarray(x, copy=True)       # OpenCV copies
    (ih, wh), (iw, ww), rnd = _resize_plan(h, w, oh, ow, interp)
    hax, wax = x.ndim - 3, x.ndim - 2
    if rnd == "none":
        return _along(xp, _along(xp, x, wax, iw, None), hax, ih, None)
    if np.dtype(x.dtype) != np.uint8:
        dt = np.dtype(x.dtype)
        return _along(xp, _along(xp, x, wax, iw, ww.astype(dt)), hax, ih, wh.astype(dt))
    if rnd == "fixed":
        return _fixed_point_u8(xp, x, (ih, wh), (iw, ww))
    t = _along(xp, _along(xp, x.astype(xp.float32), wax, iw, ww), hax, ih, wh)
    v = xp.floor(t + 0.5) if rnd == "up" else xp.round(t)
    return xp.clip(v, 0, 255).astype(xp.uint8)


def _fixed_point_u8(xp, x, rows, cols):
    """uint8 as OpenCV 3.4 (SSE2) computes it: 11-bit integer weights along x (exact sums), then
    along y: bilinear as its vector formula ``((b * (S >> 4)) >> 16)`` per row, ``+ 2 >> 2``
    (its scalar loop copies it); bicubic in float32 rounded half to even for the first multiple
    of 8 values of a row, the rest (and Lanczos) exactly, rounded half up."""
    one = 2 ** _COEF_BITS
    (ih, wh), (iw, ww) = rows, cols
    hax, taps = x.ndim - 3, ih.shape[1]          # 2 bilinear (or area upscaling), 4 bicubic
    s = _along(xp, x.astype(xp.int64), x.ndim - 2, iw, np.rint(ww * one).astype(np.int64))
    b = np.rint(wh * one).astype(np.int64)                       # (oh, k)
    t = xp.take(s, _const(xp, ih.reshape(-1), s), axis=hax)
    shape = tuple(s.shape[:hax]) + ih.shape + tuple(s.shape[hax + 1:])
    t = xp.reshape(t, shape)                                     # (..., oh, k, ow, C)

    def tap(k, dtype=np.int64, scale=1.0):
        return t[..., k, :, :], _const(xp, (b[:, k] * scale).astype(dtype).reshape(-1, 1, 1), s)

    if taps == 2:
        v = 2
        for k in range(2):
            tk, bk = tap(k)
            v = v + (bk * (tk // 16)) // 65536
        v = v // 4
    else:
        v = (xp.sum(t * _const(xp, b.reshape(b.shape + (1, 1)), s), axis=hax + 1)
             + 2 ** (2 * _COEF_BITS - 1)) // 2 ** (2 * _COEF_BITS)
        width = s.shape[-2] * s.shape[-1]
        if taps == 4 and width >= 8:
            acc = None
            for k in range(4):
                tk, bk = tap(k, np.float32, np.float32(1.0 / one ** 2))
                term = tk.astype(xp.float32) * bk
                acc = term if acc is None else acc + term
            simd = np.arange(width).reshape(s.shape[-2:]) < width // 8 * 8
            v = xp.where(_const(xp, simd, s), xp.round(acc).astype(xp.int64), v)
    return xp.clip(v, 0, 255).astype(xp.uint8)


@resize.kernel("numpy")
def _(be, x, size=(), keep_ratio=False, interp=1):
    """uint8 bilinear (the common case, and DataLoader's) with int32 shifts: 4-5x the generic
    body's speed, same bits; everything else is the generic body."""
    if x.dtype == np.uint8 and interp in (1, 3, 5):
        spec = _resize_infer(_s(x), size, keep_ratio, interp)
        (h, w), (oh, ow) = x.shape[-3:-1], spec.shape[-3:-1]
        if (oh, ow) != (h, w):
            rows, cols, rnd = _resize_plan(h, w, oh, ow, interp)
            if rnd == "fixed" and rows[0].shape[1] == 2:
                return _bilinear_u8_numpy(x, rows, cols)
    return _resize_body(np, x, size, keep_ratio, interp)


def _bilinear_u8_numpy(x, rows, cols):
    """:func:`_fixed_point_u8`'s two-tap case in int32 (its largest product, 32640 * 2048, fits)."""
    one = 2 ** _COEF_BITS
    (ih, wh), (iw, ww) = rows, cols
    hax, wax = x.ndim - 3, x.ndim - 2
    bx = np.rint(ww * one).astype(np.int32).reshape(-1, 2, 1)        # (ow, 2, 1)
    xi = x.astype(np.int32)
    s = np.take(xi, iw[:, 0], axis=wax) * bx[:, 0] + np.take(xi, iw[:, 1], axis=wax) * bx[:, 1]
    by = np.rint(wh * one).astype(np.int32).reshape(-1, 2, 1, 1)     # (oh, 2, 1, 1)
    v = (((np.take(s, ih[:, 0], axis=hax) >> 4) * by[:, 0]) >> 16) \
        + (((np.take(s, ih[:, 1], axis=hax) >> 4) * by[:, 1]) >> 16)
    return np.clip((v + 2) >> 2, 0, 255).astype(np.uint8)


def _dense(idx, wgt, n_in):
    m = np.zeros((idx.shape[0], n_in), np.float64)
    np.add.at(m, (np.repeat(np.arange(idx.shape[0]), idx.shape[1]), idx.reshape(-1)),
              wgt.reshape(-1).astype(np.float64))
    return m


def _resize_grad_infer(g, x, size=(), keep_ratio=False, interp=1):
    out = _resize_infer(x, size, keep_ratio, interp)
    I.expect(tuple(g.shape) == tuple(out.shape), "_backward_image_resize",
             f"grad of the resized shape {tuple(out.shape)}", f"grad.shape={tuple(g.shape)}")
    return I.Spec(tuple(x.shape), g.dtype)


resize_grad = defop(
    "_backward_image_resize", ("grad", "data"), _RESIZE, infer=_resize_grad_infer,
    doc="``_image_resize``'s data gradient: the transposed interpolation applied to ``grad``.")
resize_grad.nograd("data")


@resize_grad.impl
def _(xp, g, x, size=(), keep_ratio=False, interp=1):
    _resize_grad_infer(_s(g), _s(x), size, keep_ratio, interp)
    (h, w), (oh, ow) = x.shape[-3:-1], g.shape[-3:-1]
    if (oh, ow) == (h, w):
        return xp.asarray(g, copy=True)
    (ih, wh), (iw, ww), _ = _resize_plan(h, w, oh, ow, interp)
    dt = np.dtype(g.dtype)
    awt = _const(xp, _dense(iw, ww, w).T.astype(dt), g)                # (w, ow)
    aht = _const(xp, _dense(ih, wh, h).T.astype(dt), g)                # (h, oh)
    t = xp.matmul(awt, g)                                              # (..., oh, w, C)
    lead, c = tuple(g.shape[:-3]), g.shape[-1]
    t = xp.matmul(aht, xp.reshape(t, lead + (oh, w * c)))              # (..., h, w * C)
    return xp.reshape(t, lead + (h, w, c))


@resize.vjp
def _(g, out, x, **attrs):
    return (F._backward_image_resize(g, x, **attrs),)


@resize_grad.vjp
def _(h, out, g, x, **attrs):
    return F._image_resize(h, **attrs), None


resize.samples(
    lambda rng: Sample(_img(rng, 4, 5, 3), size=(7, 6)),
    lambda rng: Sample(_img(rng, 2, 6, 4, 1), size=(3,), interp=0),
    lambda rng: Sample(_img(rng, 5, 7, 3), size=(3, 4), interp=3),
    lambda rng: Sample(_img(rng, 4, 4, 1), size=(6, 5), interp=2),
    lambda rng: Sample(_img(rng, 3, 5, 2), size=(4,), keep_ratio=True, interp=4),
    lambda rng: Sample(_u8(rng, 5, 6, 3), size=(4, 9), grad=False),
    lambda rng: Sample(_u8(rng, 6, 8, 3), size=(4, 3), interp=3, grad=False),
    lambda rng: Sample(_u8(rng, 4, 5, 3), size=(6, 3), interp=2, grad=False))
resize_grad.samples(
    lambda rng: Sample(_img(rng, 6, 7, 3), _img(rng, 4, 5, 3), size=(7, 6)),
    lambda rng: Sample(_img(rng, 2, 3, 4, 1), _img(rng, 2, 5, 7, 1), size=(4, 3), interp=3))
