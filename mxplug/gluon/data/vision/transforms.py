"""Image transforms (MXNet 1.x ``gluon.data.vision.transforms``).

Transforms run on host samples, as a DataLoader's workers see them: an NDArray goes to NumPy,
is transformed there and comes back as an NDArray on its own context (a NumPy array in gives a
NumPy array out). Images are ``(H, W, C)`` (or ``(N, H, W, C)``) until :class:`ToTensor`, and
``(C, H, W)`` after. Random transforms draw from ``mx.random``, so ``mx.random.seed``
reproduces them.
"""

from __future__ import annotations

import numbers

import numpy as np

from ....base import MXNetValueError, dtype_of
from ....ndarray import NDArray
from ..sampler import host_rng
from ._augment import (
    Compose,
    CropResize,
    HybridCompose,
    HybridRandomApply,
    RandomApply,
    RandomColorJitter,
    RandomCrop,
    RandomGray,
    RandomHue,
    RandomLighting,
    RandomRotation,
    Rotate,
    imrotate,
)
from ._image import (
    Transform,
    _back,
    _center_crop,
    _crop_resize,
    _host,
    _image_ndim,
    _pair,
    _saturate,
    adjust_brightness,
    adjust_contrast,
    adjust_saturation,
    resize_image,
)

__all__ = ["Compose", "Cast", "ToTensor", "Normalize", "Resize", "CenterCrop",
           "RandomResizedCrop", "RandomFlipLeftRight", "RandomFlipTopBottom", "RandomBrightness",
           "RandomContrast", "RandomSaturation", "RandomHue", "RandomColorJitter",
           "RandomLighting", "RandomGray", "CropResize", "RandomCrop", "Rotate", "RandomRotation",
           "RandomApply", "HybridRandomApply", "HybridCompose", "imrotate", "resize_image"]


class Cast(Transform):
    """Cast inputs to a specific data type.

    Parameters
    ----------
    dtype : str, default 'float32'
        The target data type, in string or `numpy.dtype`.
    """

    def __init__(self, dtype="float32"):
        self._dtype = dtype_of(dtype).name

    def forward(self, x):
        if isinstance(x, NDArray):
            return x.astype(self._dtype)
        return np.asarray(x).astype(self._dtype)


class ToTensor(Transform):
    """Converts an image NDArray or batch of image NDArray to a tensor NDArray.

    Converts an image NDArray of shape (H x W x C) in the range [0, 255] to a float32 tensor
    NDArray of shape (C x H x W) in the range [0, 1). If input is a batch (N x H x W x C) the
    output is (N x C x H x W).
    """

    def forward(self, x):
        a, ctx = _host(x)
        if a.ndim not in (3, 4):
            raise MXNetValueError(f"ToTensor: Expect: (H, W, C) or (N, H, W, C) input / "
                                  f"Actual: shape {a.shape}")
        axes = (2, 0, 1) if a.ndim == 3 else (0, 3, 1, 2)
        out = np.ascontiguousarray(a.transpose(axes), dtype=np.float32) / np.float32(255.0)
        return _back(out, ctx)


class Normalize(Transform):
    """Normalize an tensor of shape (C x H x W) or (N x C x H x W) with mean and std.

    For each channel c: ``output[c] = (input[c] - mean[c]) / std[c]``.

    Parameters
    ----------
    mean : float or tuple of floats
        The mean values (one, or one per channel).
    std : float or tuple of floats
        The standard deviation values (one, or one per channel).
    """

    def __init__(self, mean=0.0, std=1.0):
        self._mean = mean
        self._std = std

    def forward(self, x):
        a, ctx = _host(x)
        if a.ndim not in (3, 4):
            raise MXNetValueError(f"Normalize: Expect: (C, H, W) or (N, C, H, W) input / "
                                  f"Actual: shape {a.shape}")
        c = a.shape[-3]
        stats = []
        for name, v in (("mean", self._mean), ("std", self._std)):
            v = np.asarray(v, dtype=np.float32).reshape(-1)
            if v.size not in (1, c):
                raise MXNetValueError(f"Normalize: Expect: {name} with 1 or {c} values (one per "
                                      f"channel) / Actual: {v.size}")
            stats.append(v.reshape(-1, 1, 1))
        dt = a.dtype if a.dtype.kind == "f" else np.float32
        out = ((a.astype(np.float32) - stats[0]) / stats[1]).astype(dt)
        return _back(out, ctx)


class Resize(Transform):
    """Resize an image or a batch of image NDArray to the given size.

    Parameters
    ----------
    size : int or tuple of (W, H)
        Size of output image.
    keep_ratio : bool
        Whether to resize the short edge or both edges to `size`, if size is give as an
        integer.
    interpolation : int
        Interpolation method: 0 nearest neighbour, 1 bilinear (the others of OpenCV are not
        available here).
    """

    def __init__(self, size, keep_ratio=False, interpolation=1):
        sizes = [size] if isinstance(size, numbers.Number) else list(size)
        bad = [v for v in sizes if not v > 0]
        if bad:
            raise MXNetValueError(f"Resize: Input size should be greater than 0, but got {bad[0]}")
        self._size = size
        self._keep = keep_ratio
        self._interpolation = interpolation

    def forward(self, x):
        a, ctx = _host(x)
        _image_ndim(a, "Resize")
        hax = 1 if a.ndim == 4 else 0
        h, w = a.shape[hax], a.shape[hax + 1]
        if isinstance(self._size, numbers.Integral) and self._keep:
            s = int(self._size)
            ow, oh = (s, int(h * s / w)) if h > w else (int(w * s / h), s)
        else:
            ow, oh = _pair(self._size, "Resize")
        return _back(resize_image(a, ow, oh, self._interpolation), ctx)


class CenterCrop(Transform):
    """Crops the image `src` to the given `size` by trimming on all four sides and preserving
    the center of the image. Upsamples if `src` is smaller than `size`.

    Parameters
    ----------
    size : int or tuple of (W, H)
        Size of output image.
    interpolation : int
        Interpolation method for resizing (0 nearest, 1 bilinear).
    """

    def __init__(self, size, interpolation=1):
        self._size = _pair(size, "CenterCrop")
        self._interpolation = interpolation

    def forward(self, x):
        a, ctx = _host(x)
        _image_ndim(a, "CenterCrop")
        if a.ndim == 4:
            out = np.stack([_center_crop(i, self._size, self._interpolation) for i in a])
        else:
            out = _center_crop(a, self._size, self._interpolation)
        return _back(out, ctx)


class RandomResizedCrop(Transform):
    """Crop the input image with random scale and aspect ratio.

    Makes a crop with a random size (default: 0.08 to 1.0 of the original area) and a random
    aspect ratio (default: 3/4 to 4/3), then resizes it to `size`; after 10 failed tries it
    falls back to a centre crop.

    Parameters
    ----------
    size : int or tuple of (W, H)
        Size of the final output.
    scale : tuple of two floats
        The range of the crop's area as a fraction of the image's.
    ratio : tuple of two floats
        The range of aspect ratios (width / height) of the crop.
    interpolation : int
        Interpolation method for resizing (0 nearest, 1 bilinear).
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0), interpolation=1):
        self._size = _pair(size, "RandomResizedCrop")
        self._scale = scale
        self._ratio = ratio
        self._interpolation = interpolation

    def _one(self, a, rng):
        h, w = a.shape[:2]
        area = h * w
        log_ratio = (np.log(self._ratio[0]), np.log(self._ratio[1]))
        for _ in range(10):
            target = rng.uniform(self._scale[0], self._scale[1]) * area
            aspect = np.exp(rng.uniform(*log_ratio))
            nw = int(round(np.sqrt(target * aspect)))
            nh = int(round(np.sqrt(target / aspect)))
            if nw <= w and nh <= h:
                x0 = int(rng.integers(0, w - nw + 1))
                y0 = int(rng.integers(0, h - nh + 1))
                return _crop_resize(a, x0, y0, nw, nh, self._size, self._interpolation)
        return _center_crop(a, self._size, self._interpolation)

    def forward(self, x):
        a, ctx = _host(x)
        _image_ndim(a, "RandomResizedCrop")
        rng = host_rng()
        out = np.stack([self._one(i, rng) for i in a]) if a.ndim == 4 else self._one(a, rng)
        return _back(out, ctx)


class _RandomFlip(Transform):
    _axis = 1

    def __init__(self, p=0.5):
        self._p = p

    def forward(self, x):
        a, ctx = _host(x)
        _image_ndim(a, type(self).__name__)
        rng = host_rng()
        if a.ndim == 4:
            flip = rng.random(a.shape[0]) < self._p
            out = a.copy()
            out[flip] = np.flip(a[flip], axis=self._axis + 1)
        else:
            out = np.flip(a, axis=self._axis).copy() if rng.random() < self._p else a.copy()
        return _back(out, ctx)


class RandomFlipLeftRight(_RandomFlip):
    """Randomly flip the input image left to right with a probability of `p` (default 0.5).

    Parameters
    ----------
    p : float
        The probability of a flip.
    """

    _axis = 1


class RandomFlipTopBottom(_RandomFlip):
    """Randomly flip the input image top to bottom with a probability of `p` (default 0.5).

    Parameters
    ----------
    p : float
        The probability of a flip.
    """

    _axis = 0


class _RandomAdjust(Transform):
    """A colour jitter: one factor alpha uniform in ``[max(0, 1 - amount), 1 + amount]`` per
    call (MXNet's range), applied by ``_adjust`` in float32, saturated back to the dtype."""

    _adjust = None

    def __init__(self, amount):
        if amount < 0:
            raise MXNetValueError(f"{type(self).__name__}: Expect: a non-negative amount / "
                                  f"Actual: {amount}")
        self._amount = amount

    def forward(self, x):
        a, ctx = _host(x)
        _image_ndim(a, type(self).__name__)
        alpha = host_rng().uniform(max(0.0, 1.0 - self._amount), 1.0 + self._amount)
        out = self._adjust(a.astype(np.float32), alpha)
        return _back(_saturate(out, a.dtype), ctx)


class RandomBrightness(_RandomAdjust):
    """Randomly jitters image brightness with a factor chosen from
    ``[max(0, 1 - brightness), 1 + brightness]``: ``out = x * alpha``.

    Parameters
    ----------
    brightness : float
        How much to jitter brightness (non-negative).
    """

    _adjust = staticmethod(adjust_brightness)


class RandomContrast(_RandomAdjust):
    """Randomly jitters image contrast with a factor chosen from
    ``[max(0, 1 - contrast), 1 + contrast]``: ``out = x * alpha + mean_gray * (1 - alpha)``.

    Parameters
    ----------
    contrast : float
        How much to jitter contrast (non-negative).
    """

    _adjust = staticmethod(adjust_contrast)


class RandomSaturation(_RandomAdjust):
    """Randomly jitters image saturation with a factor chosen from
    ``[max(0, 1 - saturation), 1 + saturation]``: ``out = x * alpha + gray * (1 - alpha)``
    with the per-pixel gray value (ITU-R 601 luma).

    Parameters
    ----------
    saturation : float
        How much to jitter saturation (non-negative).
    """

    _adjust = staticmethod(adjust_saturation)
