"""Shared pieces of the image transforms: the host round trip, saturation, resizing, crops and
the colour adjustments (written once, used by single transforms and by RandomColorJitter)."""

from __future__ import annotations

import numbers

import numpy as np

from ....base import MXNetNotImplementedError, MXNetValueError
from ....ndarray import NDArray, _wrap_host, array

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
    """Source positions for resizing one axis (OpenCV's half-pixel-centre convention)."""
    scale = n_in / n_out
    if interp == 0:
        return np.minimum(np.floor(np.arange(n_out) * scale).astype(np.int64), n_in - 1)
    f = np.clip((np.arange(n_out) + 0.5) * scale - 0.5, 0, n_in - 1)
    i0 = np.floor(f).astype(np.int64)
    return i0, np.minimum(i0 + 1, n_in - 1), (f - i0).astype(np.float32)


def resize_image(a, width, height, interp=1):
    """Resize a NumPy image ``(H, W[, C])`` or batch ``(N, H, W, C)`` to ``(height, width)``.

    ``interp`` 0 is nearest neighbour, 1 bilinear (OpenCV's pixel-centre convention); the
    dtype is kept (integer images are rounded and saturated).
    """
    if interp not in (0, 1):
        raise MXNetNotImplementedError(
            f"resize: interpolation={interp} is not supported; use 0 (nearest) or 1 (bilinear)")
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


class Transform:
    """Base of the transforms: a callable with the Block surface a data pipeline uses.

    Extra arguments pass through untouched, as in MXNet 1.9: ``t(image, label)`` returns
    ``(t(image), label)``, so ``dataset.transform(t)`` works on ``(image, label)`` samples.
    ``_hybrid`` says whether MXNet's version is a HybridBlock (what ``HybridCompose`` and
    ``HybridRandomApply`` accept)."""

    _hybrid = True

    def __call__(self, x, *args):
        out = self.forward(x)
        return (out,) + args if args else out

    def forward(self, x):
        raise NotImplementedError

    def hybridize(self, active=True, **kwargs):
        """Accepted for MXNet compatibility: transforms already run as plain host code."""

    def __repr__(self):
        args = ", ".join(f"{k.lstrip('_')}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


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
