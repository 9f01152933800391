"""The rest of MXNet 1.9's transforms: hue, colour jitter, lighting, gray, crops, rotations and
random application (re-exported by ``transforms``)."""

from __future__ import annotations

import numbers

import numpy as np

from ....base import MXNetTypeError, MXNetValueError
from ...block import HybridBlock
from ..sampler import host_rng
from ._image import (
    Transform,
    _back,
    _host,
    _image_ndim,
    _pair,
    _saturate,
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_lighting,
    adjust_saturation,
    resize_image,
)

__all__ = ["HybridCompose", "RandomApply", "HybridRandomApply", "RandomHue",
           "RandomColorJitter", "RandomLighting", "RandomGray", "CropResize", "RandomCrop",
           "Rotate", "RandomRotation"]


def _rgb(a, name):
    """Colour transforms act on the last axis: 1 (left as is) or 3 (RGB) channels."""
    _image_ndim(a, name)
    if a.ndim == 2 or a.shape[-1] not in (1, 3):
        raise MXNetValueError(f"{name}: Expect: an image (H, W, C) or batch (N, H, W, C) with "
                              f"C = 1 or 3 / Actual: shape {a.shape}")


# -- composition ------------------------------------------------------------------------------

def _is_hybrid(t):
    """A transform MXNet makes a HybridBlock, or one of gluon's own HybridBlocks."""
    return getattr(t, "_hybrid", False) is True or isinstance(t, HybridBlock)


class Compose(Transform):
    """Sequentially composes multiple transforms.

    Parameters
    ----------
    transforms : list of transform Blocks or callables
        The list of transforms to be composed.
    """

    _hybrid = False

    def __init__(self, transforms):
        self._transforms = list(transforms)

    def forward(self, x):
        for t in self._transforms:
            x = t(x)
        return x

    def __len__(self):
        return len(self._transforms)

    def __getitem__(self, i):
        return self._transforms[i]

    def __repr__(self):
        inner = "\n".join(f"  ({i}): {t!r}" for i, t in enumerate(self._transforms))
        return f"{type(self).__name__}(\n{inner}\n)"


class HybridCompose(Compose):
    """Sequentially composes multiple transforms. This is the Hybrid version of Compose.

    Parameters
    ----------
    transforms : list of transform Blocks.
        The list of transforms to be composed; each must be one MXNet makes a HybridBlock
        (not Compose, RandomApply, Rotate or RandomRotation).
    """

    _hybrid = True

    def __init__(self, transforms):
        super().__init__(transforms)
        for t in self._transforms:
            if not _is_hybrid(t):
                raise MXNetValueError(f"{t!r} is not a HybridBlock, try use `Compose` instead")


class RandomApply(Transform):
    """Apply a list of transformations randomly given probability

    Parameters
    ----------
    transforms
        The transformation (a transform, a ``Compose``, or a list, composed in order).
    p : float
        Probability of applying the transformations.
    """

    _hybrid = False

    def __init__(self, transforms, p=0.5):
        if isinstance(transforms, (list, tuple)):
            transforms = Compose(transforms)
        if not callable(transforms):
            raise MXNetTypeError(f"{type(self).__name__}: Expect: a transform / Actual: "
                                 f"{type(transforms).__name__}")
        self.transforms = transforms
        self.p = p

    def forward(self, x):
        if host_rng().random() <= self.p:
            x = self.transforms(x)
        return x


class HybridRandomApply(RandomApply):
    """Apply a list of transformations randomly given probability

    Parameters
    ----------
    transforms
        List of transformations which must be HybridBlocks.
    p : float
        Probability of applying the transformations.
    """

    _hybrid = True

    def __init__(self, transforms, p=0.5):
        if isinstance(transforms, (list, tuple)):
            transforms = HybridCompose(transforms)
        if not _is_hybrid(transforms):
            raise MXNetValueError(f"HybridRandomApply: {transforms!r} is not a HybridBlock, "
                                  f"try use `RandomApply` instead")
        super().__init__(transforms, p)


# -- colour -----------------------------------------------------------------------------------

class RandomHue(Transform):
    """Randomly jitters image hue with a factor chosen from ``[max(0, 1 - hue), 1 + hue]``.

    As in MXNet's ``image.random_hue``, each pixel's hue (HLS) turns by ``factor * 360``
    degrees, i.e. by ``(factor - 1) * 360`` degrees: up to ``hue * 360`` either way.

    Parameters
    ----------
    hue : float
        How much to jitter hue.
    """

    def __init__(self, hue):
        if hue < 0:
            raise MXNetValueError(f"RandomHue: Expect: a non-negative hue / Actual: {hue}")
        self._hue = hue

    def forward(self, x):
        a, ctx = _host(x)
        _rgb(a, "RandomHue")
        alpha = host_rng().uniform(max(0.0, 1.0 - self._hue), 1.0 + self._hue)
        return _back(_saturate(adjust_hue(a.astype(np.float32), alpha), a.dtype), ctx)


class RandomColorJitter(Transform):
    """Randomly jitters the brightness, contrast, saturation, and hue of an image.

    The four adjustments run in a random order; each one whose amount is 0 is skipped, and
    integer images are rounded and saturated after each step (MXNet's
    ``image.random_color_jitter``).

    Parameters
    ----------
    brightness : float
        How much to jitter brightness: factor ``1 + uniform(-brightness, brightness)``.
    contrast : float
        How much to jitter contrast: factor ``1 + uniform(-contrast, contrast)``.
    saturation : float
        How much to jitter saturation: factor ``1 + uniform(-saturation, saturation)``.
    hue : float
        How much to jitter hue: a turn of ``uniform(-hue, hue) * 360`` degrees.
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self._args = (brightness, contrast, saturation, hue)
        for name, v in zip(("brightness", "contrast", "saturation", "hue"), self._args):
            if v < 0:
                raise MXNetValueError(f"RandomColorJitter: Expect: {name} >= 0 / Actual: {v}")

    def forward(self, x):
        a, ctx = _host(x)
        _rgb(a, "RandomColorJitter")
        rng = host_rng()
        steps = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)
        out = a
        for k in rng.permutation(4):
            amount = self._args[k]
            if amount > 0:
                alpha = rng.uniform(-amount, amount) + (0.0 if k == 3 else 1.0)
                out = _saturate(steps[k](out.astype(np.float32), alpha), a.dtype)
        return _back(a.copy() if out is a else out, ctx)

    def __repr__(self):
        b, c, s, h = self._args
        return f"RandomColorJitter(brightness={b}, contrast={c}, saturation={s}, hue={h})"


class RandomLighting(Transform):
    """Add AlexNet-style PCA-based noise to an image.

    Draws ``alpha_r, alpha_g, alpha_b ~ N(0, alpha)`` and adds ``eig @ alpha_rgb`` to every
    pixel, with ``eig`` the ImageNet RGB eigenvectors scaled by their eigenvalues (MXNet's
    ``image.random_lighting``); a 1-channel image is returned unchanged.

    Parameters
    ----------
    alpha : float
        Intensity of the image (the standard deviation of the noise).
    """

    def __init__(self, alpha):
        if alpha < 0:
            raise MXNetValueError(f"RandomLighting: Expect: alpha >= 0 / Actual: {alpha}")
        self._alpha = alpha

    def forward(self, x):
        a, ctx = _host(x)
        _rgb(a, "RandomLighting")
        alpha_rgb = host_rng().normal(0.0, self._alpha, size=3) if self._alpha else np.zeros(3)
        return _back(_saturate(adjust_lighting(a.astype(np.float32), alpha_rgb), a.dtype), ctx)


class RandomGray(Transform):
    """Randomly convert to gray image.

    With probability ``p`` each of the three channels becomes the luma
    ``0.2989 R + 0.587 G + 0.114 B``; the output is float32 either way, as in MXNet.

    Parameters
    ----------
    p : float
        Probability to convert to grayscale
    """

    def __init__(self, p=0.5):
        self.p = p

    def forward(self, x):
        a, ctx = _host(x)
        _image_ndim(a, "RandomGray")
        if a.ndim == 2 or a.shape[-1] != 3:
            raise MXNetValueError(f"RandomGray: Expect: RGB images (..., 3) / Actual: shape "
                                  f"{a.shape}")
        f = a.astype(np.float32)
        if not host_rng().random() < self.p:
            return _back(f, ctx)
        gray = f @ np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)
        return _back(np.repeat(gray[..., None], 3, axis=-1), ctx)


# -- crops ------------------------------------------------------------------------------------

class CropResize(Transform):
    """Crop the input image with and optionally resize it.

    Parameters
    ----------
    x : int
        Left boundary of the cropping area
    y : int
        Top boundary of the cropping area
    width : int
        Width of the cropping area
    height : int
        Height of the cropping area
    size : int or tuple of (w, h)
        Optional, resize to new size after cropping
    interpolation : int, optional
        Interpolation method for resizing (0 nearest, 1 bilinear, the default).
    """

    def __init__(self, x, y, width, height, size=None, interpolation=None):
        self._x, self._y, self._width, self._height = int(x), int(y), int(width), int(height)
        if self._x < 0 or self._y < 0 or self._width <= 0 or self._height <= 0:
            raise MXNetValueError(f"CropResize: Expect: x, y >= 0 and width, height > 0 / "
                                  f"Actual: x={x}, y={y}, width={width}, height={height}")
        self._size = _pair(size, "CropResize") if size else None
        self._interpolation = 1 if interpolation is None else interpolation

    def forward(self, x):
        a, ctx = _host(x)
        _image_ndim(a, "CropResize")
        hax = 1 if a.ndim == 4 else 0
        h, w = a.shape[hax], a.shape[hax + 1]
        if self._x + self._width > w or self._y + self._height > h:
            raise MXNetValueError(
                f"CropResize: the crop x={self._x}, y={self._y}, width={self._width}, "
                f"height={self._height} does not fit the image (H={h}, W={w}, shape {a.shape})")
        idx = [slice(None)] * a.ndim
        idx[hax] = slice(self._y, self._y + self._height)
        idx[hax + 1] = slice(self._x, self._x + self._width)
        out = np.ascontiguousarray(a[tuple(idx)])
        if self._size is not None:
            out = resize_image(out, self._size[0], self._size[1], self._interpolation)
        return _back(out, ctx)


def _scale_down(src_w, src_h, w, h):
    """The largest (w, h) of the target's aspect ratio that fits the source (MXNet's
    ScaleDown, truncated to ints)."""
    w, h = float(w), float(h)
    if src_h < h:
        w, h = w * src_h / h, float(src_h)
    if src_w < w:
        w, h = float(src_w), h * src_w / w
    return int(w), int(h)


class RandomCrop(Transform):
    """Randomly crop `src` with `size` (width, height). Padding is optional. Upsample result
    if `src` is smaller than `size`.

    The crop is the largest window of the output's aspect ratio that fits (the whole output
    size when the image is big enough), at a uniformly random position, resized to `size`.
    A batch gets one position for all its images.

    Parameters
    ----------
    size : int or tuple of (W, H)
        Size of the final output.
    pad : int or tuple
        If int, size of the zero-padding on every side; if a tuple,
        ``(top, bottom, left, right)`` padding.
    pad_value : int
        The value to use for padded pixels
    interpolation : int
        Interpolation method for resizing (0 nearest, 1 bilinear).
    """

    def __init__(self, size, pad=None, pad_value=0, interpolation=1):
        self._size = _pair(size, "RandomCrop")
        if isinstance(pad, numbers.Integral):
            pad = (int(pad),) * 4
        elif pad is not None:
            if len(pad) < 4:
                raise MXNetValueError(f"RandomCrop: Expect: pad as an int or (top, bottom, "
                                      f"left, right) / Actual: {pad!r}")
            pad = tuple(int(p) for p in pad[:4])
        self._pad = pad
        self._pad_value = pad_value
        self._interpolation = interpolation

    def forward(self, x):
        a, ctx = _host(x)
        _image_ndim(a, "RandomCrop")
        hax = 1 if a.ndim == 4 else 0
        if self._pad:
            widths = [(0, 0)] * a.ndim
            widths[hax] = self._pad[:2]
            widths[hax + 1] = self._pad[2:]
            a = np.pad(a, widths, mode="constant", constant_values=self._pad_value)
        h, w = a.shape[hax], a.shape[hax + 1]
        cw, ch = _scale_down(w, h, *self._size)
        rng = host_rng()
        x0 = int(rng.uniform(0, 1) * (w - cw))
        y0 = int(rng.uniform(0, 1) * (h - ch))
        idx = [slice(None)] * a.ndim
        idx[hax] = slice(y0, y0 + ch)
        idx[hax + 1] = slice(x0, x0 + cw)
        out = np.ascontiguousarray(a[tuple(idx)])
        if (cw, ch) != self._size:
            out = resize_image(out, self._size[0], self._size[1], self._interpolation)
        return _back(out, ctx)


# -- rotations --------------------------------------------------------------------------------

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


class Rotate(Transform):
    """Rotate the input image by a given angle. Keeps the original image shape.

    Parameters
    ----------
    rotation_degrees : float32
        Desired rotation angle in degrees.
    zoom_in : bool
        Zoom in image so that no padding is present in final output.
    zoom_out : bool
        Zoom out image so that the entire original image is present in final output.

    Inputs are float32 ``(C, H, W)`` or ``(N, C, H, W)`` tensors (after ``ToTensor``).
    """

    _hybrid = False

    def __init__(self, rotation_degrees, zoom_in=False, zoom_out=False):
        if zoom_in and zoom_out:
            raise MXNetValueError("Rotate: `zoom_in` and `zoom_out` cannot be both True")
        self._args = (rotation_degrees, zoom_in, zoom_out)

    def forward(self, x):
        a, ctx = _host(x)
        return _back(imrotate(a, *self._args), ctx)


class RandomRotation(Transform):
    """Random rotate the input image by a random angle. Keeps the original image shape and
    aspect ratio.

    Parameters
    ----------
    angle_limits: tuple
        Tuple of 2 elements containing the upper and lower limit for rotation angles in degree
        (each image of a batch gets its own angle).
    zoom_in : bool
        Zoom in image so that no padding is present in final output.
    zoom_out : bool
        Zoom out image so that the entire original image is present in final output.
    rotate_with_proba : float32
        Probability of rotating the input at all.
    """

    _hybrid = False

    def __init__(self, angle_limits, zoom_in=False, zoom_out=False, rotate_with_proba=1.0):
        lower, upper = angle_limits
        if lower >= upper:
            raise MXNetValueError("RandomRotation: `angle_limits` must be an ordered tuple")
        if not 0 <= rotate_with_proba <= 1:
            raise MXNetValueError("RandomRotation: Probability of rotating the image should be "
                                  "between 0 and 1")
        if zoom_in and zoom_out:
            raise MXNetValueError("RandomRotation: `zoom_in` and `zoom_out` cannot be both True")
        self._args = (tuple(angle_limits), zoom_in, zoom_out)
        self._rotate_with_proba = rotate_with_proba

    def forward(self, x):
        rng = host_rng()
        if rng.random() > self._rotate_with_proba:
            return x
        a, ctx = _host(x)
        limits, zoom_in, zoom_out = self._args
        angles = rng.uniform(*limits) if a.ndim == 3 else rng.uniform(*limits, size=len(a))
        return _back(imrotate(a, angles, zoom_in, zoom_out), ctx)

