"""Shared pieces of the image transforms: the two base classes and how a call picks its path,
the host round trip, saturation, resizing, crops, the colour adjustments (written once, used by
single transforms and by RandomColorJitter) and the graph-side helpers.

A transform MXNet 1.9 makes a ``HybridBlock`` derives from :class:`HybridTransform`: on NumPy
input, or on an NDArray while nothing is recorded or traced, it runs host code (NumPy, as a
DataLoader worker wants); on a Symbol, a hybridize tracer or an NDArray under
``autograd.record()`` it runs ``hybrid_forward(F, x)`` written with ``F.image.*`` and other F
ops, so it traces, exports and differentiates. The ones MXNet makes plain Blocks derive from
:class:`Transform` and always run host code.
"""

from __future__ import annotations

import numbers

import numpy as np

from .... import autograd
from .... import ndarray as nd
from ....base import MXNetTypeError, MXNetValueError
from ....graph.symbol import Symbol
from ....graph.trace import Tracer
from ....ndarray import NDArray, _wrap_host, array
from ....ops.image_resize import _axis_taps
from ...block import Block, HybridBlock
from ...parameter import current_scope

_GRAY = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601 luma, as MXNet uses


def _host(x):
    """(NumPy array, context or None) of a sample."""
    if isinstance(x, NDArray):
        return x.asnumpy(), x.context
    return np.asarray(x), None


def _back(a, ctx):
    if ctx is None:
        return a
    if ctx.device_type == "cpu":
        return _wrap_host(a)
    return array(a, ctx=ctx, dtype=a.dtype)


def _truncate(out, dtype):
    """Back into an integer dtype as MXNet's colour ops do (uint8: clipped to [0, 255], then
    truncated); other integers are truncated and saturated too, never wrapped. Floats pass."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.trunc(out), info.min, info.max).astype(dtype)
    return out.astype(dtype, copy=False)


def _saturate(out, dtype):
    """Round and clip into an integer dtype (OpenCV's saturate_cast); floats pass through."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(dtype)
    return out.astype(dtype, copy=False)


def _image_ndim(a, name):
    if a.ndim not in (2, 3, 4):
        raise MXNetValueError(f"{name}: Expect: an image (H, W, C) or a batch (N, H, W, C) / "
                              f"Actual: shape {a.shape}")


def _axis_coords(n_out, n_in, interp):
    """Source positions for resizing one axis (OpenCV's half-pixel-centre convention, and its
    scale ``1 / (n_out / n_in)``: ``n_in / n_out`` rounds differently and picks other pixels)."""
    if interp == 0:
        return _axis_taps(n_in, n_out, 0, None, False)[0][:, 0]
    scale = 1.0 / (n_out / n_in)
    f = np.clip((np.arange(n_out) + 0.5) * scale - 0.5, 0, n_in - 1)
    i0 = np.floor(f).astype(np.int64)
    return i0, np.minimum(i0 + 1, n_in - 1), (f - i0).astype(np.float32)


def resize_image(a, width, height, interp=1):
    """Resize a NumPy image ``(H, W[, C])`` or batch ``(N, H, W, C)`` to ``(height, width)``.

    ``interp`` 0 is nearest neighbour, 1 bilinear (OpenCV's pixel-centre convention), in NumPy
    for non-uint8 images; the dtype is kept (integer images are rounded and saturated). uint8
    bilinear and the other interpolations (2 bicubic, 3 area, 4 Lanczos-4, ...) go through
    ``nd.image.resize`` (OpenCV's fixed point bit for bit, as MXNet's ``image.imresize``), which
    also checks ``interp`` and the dtype.
    """
    if width <= 0 or height <= 0:
        raise MXNetValueError(f"resize: Expect: a positive output size / Actual: "
                              f"width={width}, height={height}")
    if interp not in (0, 1) or (interp == 1 and a.dtype == np.uint8):
        img = a[..., None] if a.ndim == 2 else a
        out = nd.image.resize(array(img, dtype=img.dtype), size=(int(width), int(height)),
                              interp=interp).asnumpy()
        return out[..., 0] if a.ndim == 2 else out
    hax = 1 if a.ndim == 4 else 0
    h, w = a.shape[hax], a.shape[hax + 1]
    if (h, w) == (height, width):
        return a.copy()
    if interp == 0:
        ys, xs = _axis_coords(height, h, 0), _axis_coords(width, w, 0)
        return np.take(np.take(a, ys, axis=hax), xs, axis=hax + 1)
    y0, y1, wy = _axis_coords(height, h, 1)
    x0, x1, wx = _axis_coords(width, w, 1)
    f = a.astype(np.float32, copy=False)
    shape_y = [1] * a.ndim
    shape_y[hax] = height
    shape_x = [1] * a.ndim
    shape_x[hax + 1] = width
    wy, wx = wy.reshape(shape_y), wx.reshape(shape_x)
    rows = np.take(f, y0, axis=hax) * (1 - wy) + np.take(f, y1, axis=hax) * wy
    out = np.take(rows, x0, axis=hax + 1) * (1 - wx) + np.take(rows, x1, axis=hax + 1) * wx
    return _saturate(out, a.dtype)


def _pair(size, name):
    """(width, height) from an int or a (width, height) pair."""
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    if isinstance(size, (tuple, list)) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise MXNetValueError(f"{name}: Expect: size as an int or (width, height) / Actual: {size!r}")


def _crop_resize(a, x0, y0, w, h, size, interp):
    out = a[y0:y0 + h, x0:x0 + w]
    if (w, h) != tuple(size):
        out = resize_image(out, size[0], size[1], interp)
    return np.ascontiguousarray(out)


def _center_crop(a, size, interp):
    """MXNet's ``image.center_crop``: crop the centre (scaled down to fit), then resize."""
    h, w = a.shape[:2]
    nw, nh = size
    if h < nh:
        nw, nh = float(nw * h) / nh, h
    if w < nw:
        nw, nh = w, float(nh * w) / nw
    nw, nh = int(nw), int(nh)
    return _crop_resize(a, int((w - nw) / 2), int((h - nh) / 2), nw, nh, size, interp)


def _luma(f):
    if f.shape[-1] != 3:
        raise MXNetValueError(f"Expect: an RGB image (3 channels last) / Actual: shape {f.shape}")
    return (f * _GRAY).sum(axis=-1, keepdims=True)


def adjust_brightness(f, alpha):
    """``f * alpha`` (f a float32 image)."""
    return f * np.float32(alpha)


def adjust_contrast(f, alpha):
    """Blend with the image's mean gray level: ``f * alpha + mean(gray) * (1 - alpha)``."""
    gray = f.mean() if f.shape[-1] == 1 else _luma(f).mean()
    return f * np.float32(alpha) + np.float32(gray * (1 - alpha))


def adjust_saturation(f, alpha):
    """Blend with each pixel's gray level: ``f * alpha + gray * (1 - alpha)``."""
    if f.shape[-1] == 1:
        return f
    return f * np.float32(alpha) + _luma(f) * np.float32(1 - alpha)


_HLS_SECTORS = np.array([[1, 3, 0], [1, 0, 2], [3, 0, 1], [0, 2, 1], [0, 1, 3], [2, 1, 0]])


def adjust_hue(f, alpha):
    """Rotate the hue by ``alpha * 360`` degrees in HLS space, as MXNet's image ops do (RGB
    channels last, 0..255 scale; a 1-channel image is returned unchanged)."""
    if f.shape[-1] == 1:
        return f
    r, g, b = (f[..., i] / np.float32(255) for i in range(3))
    vmax = np.maximum(np.maximum(r, g), b)
    vmin = np.minimum(np.minimum(r, g), b)
    diff = vmax - vmin
    light = (vmax + vmin) * np.float32(0.5)
    chroma = diff > np.finfo(np.float32).eps
    with np.errstate(divide="ignore", invalid="ignore"):
        sat = np.where(light < 0.5, diff / (vmax + vmin), diff / (2 - vmax - vmin))
        scale = np.float32(60) / diff
        hue = np.where(vmax == r, (g - b) * scale,
                       np.where(vmax == g, (b - r) * scale + 120, (r - g) * scale + 240))
    sat = np.where(chroma, sat, 0).astype(np.float32)
    hue = np.where(chroma, hue, 0).astype(np.float32) + np.float32(alpha * 360.0)
    # back to RGB (OpenCV's HLS2RGB sector table)
    p2 = np.where(light <= 0.5, light * (1 + sat), light + sat - light * sat)
    p1 = 2 * light - p2
    h6 = np.mod(hue / np.float32(60), np.float32(6))
    sector = np.minimum(np.floor(h6).astype(np.int64), 5)
    frac = h6 - sector
    tab = np.stack([p2, p1, p1 + (p2 - p1) * (1 - frac), p1 + (p2 - p1) * frac])
    rows = _HLS_SECTORS[sector]  # (..., 3): table rows for b, g, r
    bgr = [np.take_along_axis(tab, rows[None, ..., k], 0)[0] for k in range(3)]
    out = np.stack([bgr[2], bgr[1], bgr[0]], axis=-1)
    out = np.where((sat == 0)[..., None], light[..., None], out)
    return (out * np.float32(255)).astype(np.float32)


# AlexNet's ImageNet RGB eigenvectors scaled by their eigenvalues (MXNet's adjust_lighting).
_LIGHTING_EIG = np.array([[55.46 * -0.5675, 4.794 * 0.7192, 1.148 * 0.4009],
                          [55.46 * -0.5808, 4.794 * -0.0045, 1.148 * -0.8140],
                          [55.46 * -0.5836, 4.794 * -0.6948, 1.148 * 0.4203]], dtype=np.float32)


def adjust_lighting(f, alpha_rgb):
    """Add the PCA colour offset ``eig @ alpha_rgb`` to every pixel (3 channels only)."""
    if f.shape[-1] == 1:
        return f
    return f + (_LIGHTING_EIG @ np.asarray(alpha_rgb, dtype=np.float32)).astype(np.float32)


# -- rotations ----------------------------------------------------------------------------------

def _bilinear_sample(img, xs, ys):
    """MXNet's BilinearSampler on one (C, H, W) image at source positions ``xs``, ``ys`` (each
    (H', W')): neighbours outside the image count as 0."""
    c, h, w = img.shape
    x0, y0 = np.floor(xs).astype(np.int64), np.floor(ys).astype(np.int64)
    wx, wy = (xs - x0).astype(np.float32), (ys - y0).astype(np.float32)
    out = np.zeros((c,) + xs.shape, dtype=np.float32)
    for dy, dx, weight in ((0, 0, (1 - wy) * (1 - wx)), (0, 1, (1 - wy) * wx),
                           (1, 0, wy * (1 - wx)), (1, 1, wy * wx)):
        yy, xx = y0 + dy, x0 + dx
        inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        vals = img[:, np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
        out += np.where(inside, vals * weight, 0)
    return out


def imrotate(src, rotation_degrees, zoom_in=False, zoom_out=False):
    """Rotate a float32 ``(C, H, W)`` image, or a ``(N, C, H, W)`` batch (one angle or one per
    image), about its centre by ``rotation_degrees``, keeping the shape (MXNet's
    ``image.imrotate``: bilinear sampling, zeros outside; ``zoom_in`` scales so no padding
    shows, ``zoom_out`` so the whole image stays in view)."""
    if zoom_in and zoom_out:
        raise MXNetValueError("imrotate: `zoom_in` and `zoom_out` cannot be both True")
    if src.dtype != np.float32:
        raise MXNetTypeError(f"Rotate: This transformation only supports float32. Consider "
                             f"calling it after ToTensor, given: {src.dtype}")
    single = src.ndim == 3
    if single:
        src = src[None]
    elif src.ndim != 4:
        raise MXNetValueError(f"Rotate: Expect: (C, H, W) or (N, C, H, W) / Actual: shape "
                              f"{src.shape}")
    angles = np.asarray(rotation_degrees, dtype=np.float64).reshape(-1)
    if np.ndim(rotation_degrees) == 0:
        angles = np.repeat(angles, len(src))
    if len(angles) != len(src):
        raise MXNetValueError(f"Rotate: {len(src)} images but {len(angles)} rotation angles")
    _, _, h, w = src.shape
    hc, wc = (h - 1) / 2.0, (w - 1) / 2.0
    yy, xx = np.meshgrid(np.arange(h) - hc, np.arange(w) - wc, indexing="ij")
    out = np.empty_like(src)
    rho, corner = np.hypot(h, w), np.arctan(h / w)
    for i, deg in enumerate(angles):
        rad = np.pi * deg / 180.0
        c, s = np.cos(rad), np.sin(rad)
        scale = 1.0
        if zoom_in or zoom_out:
            ext_x = max(abs(rho * np.cos(corner + abs(rad))), abs(rho * np.cos(corner - abs(rad))))
            ext_y = max(abs(rho * np.sin(corner + abs(rad))), abs(rho * np.sin(corner - abs(rad))))
            scale = max(ext_x / w, ext_y / h) if zoom_out else min(w / ext_x, h / ext_y)
        xs = (xx * c - yy * s) * scale + wc
        ys = (xx * s + yy * c) * scale + hc
        out[i] = _bilinear_sample(src[i], xs, ys)
    return out[0] if single else out


# -- the two bases and the choice of path -------------------------------------------------------

def _on_host(block, x):
    """Whether a call takes the host path: NumPy (any non-array) input always; an NDArray unless
    autograd records, a graph is being built, or the transform itself is hybridized."""
    if isinstance(x, Symbol):
        return False
    if not isinstance(x, NDArray):
        return True
    if isinstance(x, Tracer) or current_scope() is not None:
        return False
    return not (getattr(block, "_active", False) or autograd.is_recording())


def _with_extra(out, args):
    """As in MXNet 1.9's data pipelines, extra arguments pass through: ``t(img, label)``."""
    return (out,) + tuple(args) if args else out


def _cfg_repr(block):
    args = ", ".join(f"{k}={v!r}" for k, v in block._cfg.items())
    return f"{type(block).__name__}({args})"


class _HostCall:
    """Mixin of the hybrid transforms: ``__call__`` runs :meth:`_host_forward` (with the hooks)
    when :func:`_on_host` says so, else the HybridBlock call (``hybrid_forward``, the cached
    graph when hybridized)."""

    def __call__(self, *args):
        if not args:
            return super().__call__()
        if not _on_host(self, args[0]):  # extra arguments stay out of the graph
            return _with_extra(super().__call__(args[0]), args[1:])
        if self._forward_pre_hooks:
            for hook in list(self._forward_pre_hooks.values()):
                hook(self, args)
        out = self._host_forward(args[0])
        if len(args) > 1:
            out = (out,) + args[1:]
        if self._forward_hooks:
            for hook in list(self._forward_hooks.values()):
                hook(self, args, out)
        return out


class Transform(Block):
    """Base of the transforms MXNet 1.9 makes plain Blocks: host code on every input (an NDArray
    goes to NumPy and back to its context; NumPy in gives NumPy out). ``cfg``: the constructor's
    arguments, for ``repr``."""

    def __init__(self, **cfg):
        super().__init__()
        self._cfg = cfg

    def forward(self, x, *args):
        return _with_extra(self._host_forward(x), args)

    def _host_forward(self, x):
        raise NotImplementedError

    def __repr__(self):
        return _cfg_repr(self)


class HybridTransform(_HostCall, HybridBlock):
    """Base of the transforms MXNet 1.9 makes HybridBlocks: host code for NumPy input and for
    NDArrays while nothing is recorded or traced; ``hybrid_forward(F, x)`` (``_graph_forward``,
    F ops only) for Symbols, tracers (inside a hybridized block, or hybridized itself) and
    NDArrays under ``autograd.record()``."""

    def __init__(self, **cfg):
        super().__init__()
        self._cfg = cfg

    def hybrid_forward(self, F, x, *args):
        return _with_extra(self._graph_forward(F, x), args)

    def _host_forward(self, x):
        raise NotImplementedError

    def _graph_forward(self, F, x):
        raise NotImplementedError

    def __repr__(self):
        return _cfg_repr(self)


# -- graph-side helpers -------------------------------------------------------------------------

def _known(x):
    """Shape and dtype are known for arrays and tracers, not for Symbols (then the MXNet op is
    emitted as is and checks its input when the graph is bound)."""
    return isinstance(x, NDArray)


def _graph_image(name, x, ranks=(3, 4), rgb=True):
    """The graph path's input contract (MXNet's image ops), checked with the transform's name."""
    what = " or ".join({2: "(H, W)", 3: "(H, W, C)", 4: "(N, H, W, C)"}[r] for r in ranks)
    if x.ndim not in ranks or (rgb and x.shape[-1] not in (1, 3)):
        chans = " with C = 1 or 3" if rgb else ""
        raise MXNetValueError(f"{name}: Expect: in a graph (hybridized, a Symbol or under "
                              f"autograd.record) an image {what}{chans} / Actual: shape {x.shape}")


def _graph_dtype(name, x, resize=False):
    """MXNet's colour ops take uint8 or float images, its OpenCV resize uint8, float32, float64."""
    dt = np.dtype(x.dtype)
    ok = dt.name in ("uint8", "float32", "float64") if resize else dt.kind == "f" or dt == np.uint8
    if not ok:
        what = "uint8, float32 or float64 images (MXNet's resize)" if resize else \
            "uint8 or float images (MXNet's image ops)"
        raise MXNetTypeError(f"{name}: Expect: in a graph, {what} / Actual: {dt.name}; "
                             f"Cast('float32') first")


def _coin(F, x, p, per_image=False):
    """``draw < p`` broadcast like ``x``: one uniform draw per call, or with ``per_image`` one per
    image of an (N, H, W, C) batch. A Symbol's rank is unknown: its draw is shaped by slicing x
    (at least 3 axes, (..., H, W, C)) or summing it."""
    if _known(x):
        shape = [1] * x.ndim
        if per_image and x.ndim == 4:
            shape[0] = x.shape[0]
        u = F.random.uniform(0.0, 1.0, shape=tuple(shape), ctx=x.context)
    else:
        ref = F.stop_gradient(x)
        if per_image:
            for ax in (-1, -2, -3):
                ref = F.slice_axis(ref, axis=ax, begin=0, end=1)
        else:
            ref = F.sum(ref, keepdims=True)
        u = F.random.uniform_like(F.cast(ref, dtype="float32"))
    return F.broadcast_like(u < p, x)


def _rgb(a, name):
    """Colour transforms act on the last axis: 1 (left as is) or 3 (RGB) channels."""
    _image_ndim(a, name)
    if a.ndim == 2 or a.shape[-1] not in (1, 3):
        raise MXNetValueError(f"{name}: Expect: an image (H, W, C) or batch (N, H, W, C) with "
                              f"C = 1 or 3 / Actual: shape {a.shape}")


def _graph_colour(name, F, x, op):
    """``op(F, image)`` (an MXNet colour op, one (H, W, C) image) in a graph; an (N, H, W, C)
    batch runs as one (N*H, W, C) image, so it gets one draw for all its images, as on the
    host (the ops are per pixel, contrast's mean over all pixels)."""
    if not _known(x):
        return op(F, x)
    _graph_image(name, x)
    _graph_dtype(name, x)
    if x.ndim == 3:
        return op(F, x)
    return F.reshape_like(op(F, F.reshape(x, shape=(-1, 0, 0), reverse=True)), x)
