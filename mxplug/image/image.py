"""``mx.image``'s functions: decoding, resizing, cropping, normalising and padding HWC images.

Images are ``(H, W, C)`` arrays, uint8 RGB as ``imdecode`` returns them (or float32 after
``CastAug``). Work happens on the host in NumPy; decoding goes through Pillow (``pip install
"mxplug[image]"``), and the bicubic / area / Lanczos resamplers through the ``image.resize``
op (OpenCV's, as MXNet resizes, bit for bit on uint8). A function given an NDArray
returns an NDArray on the same context; given a NumPy array, a NumPy array.

Interpolation codes are OpenCV's, as MXNet passes them straight to ``cv::resize``: 0 nearest,
1 bilinear, 2 bicubic, 3 area, 4 Lanczos; 9 picks bicubic to enlarge, area to shrink and
bilinear otherwise; 10 picks one of 0-4 at random.

Random choices draw from ``mx.random`` (``mx.random.seed(s)`` reproduces them), where MXNet
uses Python's ``random`` module.
"""

from __future__ import annotations

import contextlib
import numbers
import os
import threading
import warnings

import numpy as np

from ..base import MXNetError, MXNetFileError, MXNetTypeError, MXNetValueError
from ..gluon.data.sampler import host_rng
from ..gluon.data.vision._augment import imrotate as _imrotate_chw
from ..gluon.data.vision._image import _saturate, resize_image
from ..ndarray import NDArray, _wrap_host, array

__all__ = ["imread", "imdecode", "imresize", "scale_down", "copyMakeBorder", "resize_short",
           "fixed_crop", "random_crop", "center_crop", "color_normalize", "random_size_crop",
           "imrotate", "random_rotate", "ImageError"]


class ImageError(MXNetError, RuntimeError):
    """An image that cannot be decoded (a RuntimeError too, as MXNet's ImageIter raises)."""


# -- randomness --------------------------------------------------------------------------------

_local = threading.local()


def _rng() -> np.random.Generator:
    """The generator one random choice draws from: ``mx.random``'s stream, unless an iterator
    seeded its augmentations (``ImageRecordIter(seed_aug=...)``) on this thread."""
    gen = getattr(_local, "rng", None)
    return gen if gen is not None else host_rng()


@contextlib.contextmanager
def _rng_scope(gen):
    """Make ``gen`` the source of :func:`_rng` on this thread inside the block."""
    prev = getattr(_local, "rng", None)
    _local.rng = gen
    try:
        yield
    finally:
        _local.rng = prev


# -- host round trip and checks -----------------------------------------------------------------

def _host(src, fname):
    """(NumPy image, context or None) of an NDArray or NumPy ``(H, W, C)`` image."""
    if isinstance(src, NDArray):
        a, ctx = src.asnumpy(), src.context
    elif isinstance(src, np.ndarray):
        a, ctx = src, None
    else:
        raise MXNetTypeError(f"{fname}: Expect: an NDArray image (H, W, C) / Actual: "
                             f"{type(src).__name__}")
    if a.ndim != 3:
        raise MXNetValueError(f"{fname}: Expect: an image of shape (H, W, C) / Actual: shape "
                              f"{a.shape}")
    return a, ctx


def _back(a, ctx, out=None, fname="image"):
    """``a`` as the caller's kind of array (NDArray on ``ctx``, or NumPy), or written to out."""
    a = np.ascontiguousarray(a)
    if out is not None:
        if not isinstance(out, NDArray) or out.shape != a.shape:
            shape = getattr(out, "shape", None)
            raise MXNetValueError(f"{fname}: out must be an NDArray of shape {a.shape}, got "
                                  f"{type(out).__name__} of shape {shape}")
        out[:] = array(a, ctx=out.context, dtype=out.dtype)
        return out
    if ctx is None:
        return a
    if ctx.device_type == "cpu":
        return _wrap_host(a)
    return array(a, ctx=ctx, dtype=a.dtype)


def _positive_int(v, name, fname):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v <= 0:
        raise MXNetValueError(f"{fname}: {name} must be a positive int, got {v!r}")
    return int(v)


def _size_pair(size, fname):
    """``(width, height)`` from a pair of positive ints."""
    if not isinstance(size, (tuple, list)) or len(size) != 2:
        raise MXNetValueError(f"{fname}: size must be (width, height), got {size!r}")
    return (_positive_int(size[0], "width", fname), _positive_int(size[1], "height", fname))


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise MXNetError('mx.image needs Pillow to decode and resample images: '
                         'pip install "mxplug[image]"') from None
    return Image


# -- decoding -----------------------------------------------------------------------------------

def imdecode(buf, flag=1, to_rgb=1, out=None):
    """Decode an image (JPEG, PNG, ...) to an ``(H, W, C)`` uint8 NDArray on cpu.

    Parameters
    ----------
    buf : bytes, bytearray, numpy.ndarray or NDArray
        The encoded image (a uint8 array holds the bytes).
    flag : int, default 1
        1 for three channels, 0 for one gray channel (``(H, W, 1)``), -1 for the channels as
        stored (gray, RGB or RGBA), as OpenCV's flags.
    to_rgb : int, default 1
        1 for RGB order (MXNet's default), 0 for OpenCV's BGR.
    out : NDArray, optional
        Output buffer of the decoded shape.

    Returns
    -------
    NDArray
        The decoded image, uint8.
    """
    if isinstance(buf, NDArray):
        buf = buf.asnumpy()
    if isinstance(buf, np.ndarray):
        if buf.dtype != np.uint8:
            raise MXNetTypeError(f"imdecode: Expect: the encoded bytes as a uint8 array / "
                                 f"Actual: dtype {buf.dtype}")
        buf = buf.tobytes()
    elif isinstance(buf, str):
        raise MXNetTypeError("imdecode: buf must be of type bytes, bytearray or numpy.ndarray; "
                             "got str (encode it, or read the file in binary mode)")
    elif not isinstance(buf, (bytes, bytearray, memoryview)):
        raise MXNetTypeError(f"imdecode: buf must be of type bytes, bytearray or numpy.ndarray, "
                             f"got {type(buf).__name__}")
    if flag not in (-1, 0, 1):
        raise MXNetValueError(f"imdecode: flag must be 1 (colour), 0 (gray) or -1 (unchanged), "
                              f"got {flag!r}")
    _pillow()
    from ..recordio import _decode_image
    try:
        img = _decode_image(bytes(buf), flag, "image")
    except MXNetValueError as e:
        raise ImageError(f"imdecode: {e}") from None
    if img.ndim == 2:
        img = img[:, :, None]
    elif not to_rgb:
        img = img[:, :, [2, 1, 0, 3][:img.shape[2]]]
    return _back(img, None, out, "imdecode") if out is not None else _wrap_host(img)


def imread(filename, flag=1, to_rgb=1, out=None):
    """Read and decode an image file to an ``(H, W, C)`` uint8 NDArray (see :func:`imdecode`).

    A file that cannot be read or decoded is an error naming it."""
    try:
        with open(filename, "rb") as f:
            buf = f.read()
    except OSError as e:
        raise MXNetFileError(f"imread: cannot read {os.fspath(filename)!r}: "
                             f"{e.strerror or e}") from None
    try:
        return imdecode(buf, flag, to_rgb, out)
    except ImageError as e:
        raise ImageError(f"imread: {os.fspath(filename)!r}: {e}") from None


# -- resizing -----------------------------------------------------------------------------------

def _get_interp_method(interp, sizes=()):
    """The OpenCV interpolation code (0-4) for ``interp``: 9 chooses by ``sizes`` (old height,
    old width, new height, new width), 10 at random."""
    if interp == 9:
        if sizes:
            oh, ow, nh, nw = sizes
            if nh > oh and nw > ow:
                return 2
            if nh < oh and nw < ow:
                return 3
            return 1
        return 2
    if interp == 10:
        return int(_rng().integers(0, 5))
    if isinstance(interp, bool) or interp not in (0, 1, 2, 3, 4):
        raise MXNetValueError(f"Unknown interp method {interp!r}: use 0 (nearest), 1 (bilinear), "
                              f"2 (bicubic), 3 (area), 4 (Lanczos), 9 (auto) or 10 (random)")
    return int(interp)


def _resize(a, w, h, interp):
    """Resize a NumPy ``(H, W, C)`` image to ``(h, w)`` with OpenCV code ``interp`` (0-4),
    keeping the dtype (integers rounded and saturated): OpenCV's results (the ``image.resize``
    op, or NumPy where that is as exact)."""
    if a.shape[:2] == (h, w):
        return a.copy()
    if interp in (0, 1) or a.dtype in (np.uint8, np.float32, np.float64):
        return resize_image(a, w, h, interp)
    return _saturate(resize_image(a.astype(np.float32), w, h, interp), a.dtype)  # (the op's dtypes)


def imresize(src, w, h, interp=1, out=None):
    """Resize an image to ``w`` x ``h`` (OpenCV's ``cv::resize``).

    Parameters
    ----------
    src : NDArray
        Source image ``(H, W, C)``.
    w, h : int
        Width and height of the resized image.
    interp : int, default 1
        Interpolation method (OpenCV codes, see the module docstring).
    out : NDArray, optional
        Output buffer.

    Returns
    -------
    NDArray
        The resized image ``(h, w, C)``, same dtype.
    """
    a, ctx = _host(src, "imresize")
    w, h = _positive_int(w, "w", "imresize"), _positive_int(h, "h", "imresize")
    interp = _get_interp_method(interp, (a.shape[0], a.shape[1], h, w))
    return _back(_resize(a, w, h, interp), ctx, out, "imresize")


def scale_down(src_size, size):
    """Scales down crop size if it's larger than image size.

    Both are ``(width, height)``; the crop keeps its aspect ratio.

    >>> mx.image.scale_down((640, 480), (720, 120))
    (640, 106)
    """
    w, h = size
    sw, sh = src_size
    if sh < h:
        w, h = float(w * sh) / h, sh
    if sw < w:
        w, h = sw, float(h * sw) / w
    return int(w), int(h)


def resize_short(src, size, interp=2):
    """Resize the shorter edge to ``size``, the longer one in proportion (rounded down).

    Parameters
    ----------
    src : NDArray
        The original image ``(H, W, C)``.
    size : int
        The length to be set for the shorter edge.
    interp : int, default 2
        Interpolation method (OpenCV codes, see the module docstring).
    """
    a, ctx = _host(src, "resize_short")
    size = _positive_int(size, "size", "resize_short")
    h, w = a.shape[:2]
    if h > w:
        new_h, new_w = size * h // w, size
    else:
        new_h, new_w = size, size * w // h
    interp = _get_interp_method(interp, (h, w, new_h, new_w))
    return _back(_resize(a, new_w, new_h, interp), ctx)


# -- cropping -----------------------------------------------------------------------------------

def _crop(a, x0, y0, w, h, size, interp, fname):
    for name, v in (("x0", x0), ("y0", y0)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise MXNetValueError(f"{fname}: {name} must be a non-negative int, got {v!r}")
    w, h = _positive_int(w, "w", fname), _positive_int(h, "h", fname)
    H, W = a.shape[:2]
    if x0 + w > W or y0 + h > H:
        raise MXNetValueError(f"{fname}: the crop (x0={x0}, y0={y0}, w={w}, h={h}) does not fit "
                              f"in the image of width {W} and height {H}")
    out = a[y0:y0 + h, x0:x0 + w]
    if size is not None:
        size = _size_pair(size, fname)
        if (w, h) != size:
            interp = _get_interp_method(interp, (h, w, size[1], size[0]))
            return _resize(out, size[0], size[1], interp)
    return out.copy()


def fixed_crop(src, x0, y0, w, h, size=None, interp=2):
    """Crop ``src`` at a fixed location, and (optionally) resize it to ``size``.

    Parameters
    ----------
    src : NDArray
        Input image ``(H, W, C)``.
    x0, y0 : int
        Left and top boundary of the cropping area.
    w, h : int
        Width and height of the cropping area (it must lie inside the image).
    size : tuple of (w, h), optional
        Resize to this size after cropping.
    interp : int, default 2
        Interpolation method (OpenCV codes, see the module docstring).
    """
    a, ctx = _host(src, "fixed_crop")
    return _back(_crop(a, x0, y0, w, h, size, interp, "fixed_crop"), ctx)


def random_crop(src, size, interp=2):
    """Randomly crop ``src`` with ``size`` (width, height); upsample if ``src`` is smaller.

    Returns
    -------
    NDArray
        The cropped image.
    tuple
        ``(x0, y0, width, height)`` of the crop in the original image.
    """
    a, ctx = _host(src, "random_crop")
    size = _size_pair(size, "random_crop")
    h, w = a.shape[:2]
    new_w, new_h = scale_down((w, h), size)
    rng = _rng()
    x0 = int(rng.integers(0, w - new_w + 1))
    y0 = int(rng.integers(0, h - new_h + 1))
    out = _crop(a, x0, y0, new_w, new_h, size, interp, "random_crop")
    return _back(out, ctx), (x0, y0, new_w, new_h)


def center_crop(src, size, interp=2):
    """Crop the centre of ``src`` to ``size`` (width, height), upsampling a smaller image.

    Returns
    -------
    NDArray
        The cropped image.
    tuple
        ``(x0, y0, width, height)`` of the crop in the original image.

    >>> cropped, rect = mx.image.center_crop(image_2321x3482, (1000, 500))
    >>> rect
    (1241, 910, 1000, 500)
    """
    a, ctx = _host(src, "center_crop")
    return _center_crop(a, ctx, _size_pair(size, "center_crop"), interp, "center_crop")


def _center_crop(a, ctx, size, interp, fname):
    h, w = a.shape[:2]
    new_w, new_h = scale_down((w, h), size)
    x0, y0 = int((w - new_w) / 2), int((h - new_h) / 2)
    out = _crop(a, x0, y0, new_w, new_h, size, interp, fname)
    return _back(out, ctx), (x0, y0, new_w, new_h)


def random_size_crop(src, size, area, ratio, interp=2, **kwargs):
    """Randomly crop ``src`` with a random area and aspect ratio, then resize to ``size``.

    Up to 10 tries draw an area fraction uniformly from ``area`` and an aspect ratio
    (width / height) log-uniformly from ``ratio``; when none fits, a centre crop is taken.

    Parameters
    ----------
    src : NDArray
        Input image ``(H, W, C)``.
    size : tuple of (int, int)
        Output size (width, height).
    area : float in (0, 1] or tuple of (float, float)
        Minimum (and maximum, default 1.0) fraction of the image area to keep.
    ratio : tuple of (float, float)
        Aspect ratio range (min, max).
    interp : int, default 2
        Interpolation method (OpenCV codes, see the module docstring).

    Returns
    -------
    NDArray
        The cropped image.
    tuple
        ``(x0, y0, width, height)`` of the crop in the original image.
    """
    if "min_area" in kwargs:
        warnings.warn("`min_area` is deprecated. Please use `area` instead.", DeprecationWarning)
        area = kwargs.pop("min_area")
    if kwargs:
        raise MXNetTypeError(f"random_size_crop: unexpected keyword arguments "
                             f"{sorted(kwargs)}")
    a, ctx = _host(src, "random_size_crop")
    size = _size_pair(size, "random_size_crop")
    area = _range(area, "area", "random_size_crop", default_hi=1.0)
    ratio = _range(ratio, "ratio", "random_size_crop")
    if ratio[0] <= 0:
        raise MXNetValueError(f"random_size_crop: ratio must be positive, got {ratio}")
    h, w = a.shape[:2]
    src_area = h * w
    rng = _rng()
    log_ratio = (np.log(ratio[0]), np.log(ratio[1]))
    for _ in range(10):
        target_area = rng.uniform(area[0], area[1]) * src_area
        new_ratio = np.exp(rng.uniform(*log_ratio))
        new_w = int(round(np.sqrt(target_area * new_ratio)))
        new_h = int(round(np.sqrt(target_area / new_ratio)))
        if 0 < new_w <= w and 0 < new_h <= h:
            x0 = int(rng.integers(0, w - new_w + 1))
            y0 = int(rng.integers(0, h - new_h + 1))
            out = _crop(a, x0, y0, new_w, new_h, size, interp, "random_size_crop")
            return _back(out, ctx), (x0, y0, new_w, new_h)
    return _center_crop(a, ctx, size, interp, "random_size_crop")


def _range(v, name, fname, default_hi=None):
    """``(lo, hi)`` from a pair, or from a number when ``default_hi`` is given."""
    if isinstance(v, numbers.Real) and not isinstance(v, bool) and default_hi is not None:
        v = (v, default_hi)
    if not isinstance(v, (tuple, list)) or len(v) != 2:
        raise MXNetValueError(f"{fname}: {name} must be a (min, max) pair, got {v!r}")
    lo, hi = float(v[0]), float(v[1])
    if lo > hi:
        raise MXNetValueError(f"{fname}: {name} range {tuple(v)} has min > max")
    return lo, hi


# -- colour and borders -------------------------------------------------------------------------

def _channel_values(v, what, fname):
    """A float32 array that broadcasts over the channel axis (a number, or one per channel)."""
    if isinstance(v, NDArray):
        v = v.asnumpy()
    try:
        return np.asarray(v, dtype=np.float32)
    except (TypeError, ValueError):
        raise MXNetTypeError(f"{fname}: {what} must be a number or an array of numbers, got "
                             f"{type(v).__name__}") from None


def color_normalize(src, mean, std=None):
    """Normalize ``src`` with ``mean`` and ``std``: ``(src - mean) / std``.

    Parameters
    ----------
    src : NDArray
        Input image ``(H, W, C)``.
    mean : NDArray, array-like or number
        RGB mean to be subtracted (None skips it).
    std : NDArray, array-like or number, optional
        RGB standard deviation to be divided.

    Returns
    -------
    NDArray
        A new normalized image (MXNet updates ``src`` in place): float32 for an integer
        ``src``, else ``src``'s dtype.
    """
    a, ctx = _host(src, "color_normalize")
    out = a.astype(np.float32) if a.dtype.kind in "iub" else a.copy()
    try:
        if mean is not None:
            out = out - _channel_values(mean, "mean", "color_normalize")
        if std is not None:
            out = out / _channel_values(std, "std", "color_normalize")
    except ValueError as e:
        raise MXNetValueError(f"color_normalize: mean/std do not broadcast over the image of "
                              f"shape {a.shape}: {e}") from None
    if out.shape != a.shape:
        raise MXNetValueError(f"color_normalize: mean/std must broadcast to the image shape "
                              f"{a.shape}, got a result of shape {out.shape}")
    return _back(out.astype(a.dtype if a.dtype.kind == "f" else np.float32, copy=False), ctx)


# OpenCV's border types; 16 (BORDER_ISOLATED) is a flag that changes nothing for whole images.
_BORDER_MODES = {0: "constant", 1: "edge", 2: "symmetric", 3: "wrap", 4: "reflect"}


def copyMakeBorder(src, top, bot, left, right, type=0, value=0.0, values=(), out=None):
    """Pad the image border (OpenCV's ``cv::copyMakeBorder``).

    Parameters
    ----------
    src : NDArray
        Source image ``(H, W, C)``.
    top, bot, left, right : int
        Margins.
    type : int, default 0
        OpenCV's border type: 0 ``BORDER_CONSTANT`` (fill with ``values``/``value``),
        1 ``BORDER_REPLICATE`` (``aaa|abcd|ddd``), 2 ``BORDER_REFLECT`` (``cba|abcd|dcb``),
        3 ``BORDER_WRAP`` (``bcd|abcd|abc``), 4 ``BORDER_REFLECT_101`` (``dcb|abcd|cba``);
        the ``BORDER_ISOLATED`` flag (16) may be or-ed in.
    value : float, default 0
        Fill value for every channel (constant border).
    values : tuple of float, optional
        Fill value per channel (up to 4; missing channels get 0, as in ``cv::Scalar``).
    out : NDArray, optional
        Output buffer.
    """
    a, ctx = _host(src, "copyMakeBorder")
    pads = []
    for name, v in (("top", top), ("bot", bot), ("left", left), ("right", right)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise MXNetValueError(f"copyMakeBorder: {name} must be a non-negative int, got "
                                  f"{v!r}")
        pads.append(int(v))
    kind = type & ~16 if isinstance(type, numbers.Integral) else None
    if kind not in _BORDER_MODES:
        raise MXNetValueError(f"copyMakeBorder: unknown border type {type!r}: use 0 (constant), "
                              f"1 (replicate), 2 (reflect), 3 (wrap) or 4 (reflect_101)")
    top, bot, left, right = pads
    if kind != 0:
        h, w = a.shape[:2]
        if (h == 0 or w == 0) and any(pads):
            raise MXNetValueError(f"copyMakeBorder: cannot extend an empty image {a.shape}")
        res = np.pad(a, ((top, bot), (left, right), (0, 0)), mode=_BORDER_MODES[kind])
        return _back(res, ctx, out, "copyMakeBorder")
    c = a.shape[2]
    if values is not None and len(values) > 0:
        if len(values) > 4:
            raise MXNetValueError(f"copyMakeBorder: values holds at most 4 channels, got "
                                  f"{len(values)}")
        fill = np.zeros(max(c, 4), dtype=np.float64)
        fill[:len(values)] = values
        fill = fill[:c]
    else:
        fill = np.full(c, value, dtype=np.float64)
    res = np.empty((a.shape[0] + top + bot, a.shape[1] + left + right, c), dtype=a.dtype)
    res[...] = _saturate(fill, a.dtype)
    res[top:top + a.shape[0], left:left + a.shape[1]] = a
    return _back(res, ctx, out, "copyMakeBorder")


# -- rotation -----------------------------------------------------------------------------------

def imrotate(src, rotation_degrees, zoom_in=False, zoom_out=False):
    """Rotate a float32 ``(C, H, W)`` image, or an ``(N, C, H, W)`` batch, about its centre.

    Bilinear sampling, zeros outside the source; ``rotation_degrees`` is one angle, or one per
    image of a batch. ``zoom_in`` scales so that no padding shows, ``zoom_out`` so that the
    whole source stays in view. A single image takes a number, as in MXNet (a TypeError
    otherwise).
    """
    if len(src.shape) == 3 and not isinstance(rotation_degrees, numbers.Number):
        raise MXNetTypeError(f"imrotate: a single (C, H, W) image takes one rotation angle, a "
                             f"number; got {type(rotation_degrees).__name__} (rotate a "
                             f"(N, C, H, W) batch for one angle per image)")
    if isinstance(src, NDArray):
        return _back(_imrotate_chw(src.asnumpy(), _angles(rotation_degrees), zoom_in, zoom_out),
                     src.context)
    return _imrotate_chw(np.asarray(src), _angles(rotation_degrees), zoom_in, zoom_out)


def _angles(v):
    return v.asnumpy() if isinstance(v, NDArray) else v


def random_rotate(src, angle_limits, zoom_in=False, zoom_out=False):
    """Rotate ``src`` (see :func:`imrotate`) by an angle drawn uniformly from ``angle_limits``
    (one per image of a batch)."""
    lo, hi = _range(angle_limits, "angle_limits", "random_rotate")
    rng = _rng()
    degrees = rng.uniform(lo, hi) if src.ndim == 3 else rng.uniform(lo, hi, size=src.shape[0])
    return imrotate(src, degrees, zoom_in=zoom_in, zoom_out=zoom_out)
