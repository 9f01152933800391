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

from ....base import MXNetNotImplementedError, MXNetValueError, dtype_of
from ....ndarray import NDArray, array, from_numpy
from ..sampler import host_rng

__all__ = ["Compose", "Cast", "ToTensor", "Normalize", "Resize", "CenterCrop",
           "RandomResizedCrop", "RandomFlipLeftRight", "RandomFlipTopBottom", "RandomBrightness",
           "RandomContrast", "RandomSaturation", "resize_image"]

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
        return from_numpy(a)
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
    """Base of the transforms: a callable with the Block surface a data pipeline uses."""

    def __call__(self, x, *args):
        return self.forward(x, *args)

    def forward(self, x):
        raise NotImplementedError

    def hybridize(self, active=True, **kwargs):
        """Accepted for MXNet compatibility: transforms already run as plain host code."""

    def __repr__(self):
        args = ", ".join(f"{k.lstrip('_')}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Compose(Transform):
    """Sequentially composes multiple transforms.

    Parameters
    ----------
    transforms : list of transform Blocks or callables
        The list of transforms to be composed.
    """

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
        return f"Compose(\n{inner}\n)"


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
    def __init__(self, amount):
        if amount < 0:
            raise MXNetValueError(f"{type(self).__name__}: Expect: a non-negative amount / "
                                  f"Actual: {amount}")
        self._amount = amount

    def forward(self, x):
        a, ctx = _host(x)
        _image_ndim(a, type(self).__name__)
        alpha = 1.0 + host_rng().uniform(-self._amount, self._amount)
        out = self._adjust(a.astype(np.float32), np.float32(alpha))
        return _back(_saturate(out, a.dtype), ctx)


def _luma(f):
    if f.shape[-1] != 3:
        raise MXNetValueError(f"Expect: an RGB image (3 channels last) / Actual: shape {f.shape}")
    return (f * _GRAY).sum(axis=-1, keepdims=True)


class RandomBrightness(_RandomAdjust):
    """Randomly jitters image brightness: ``out = x * alpha``, alpha uniform in
    ``[1 - brightness, 1 + brightness]``.

    Parameters
    ----------
    brightness : float
        How much to jitter brightness (non-negative).
    """

    def _adjust(self, f, alpha):
        return f * alpha


class RandomContrast(_RandomAdjust):
    """Randomly jitters image contrast: ``out = x * alpha + mean_gray * (1 - alpha)``, alpha
    uniform in ``[1 - contrast, 1 + contrast]``.

    Parameters
    ----------
    contrast : float
        How much to jitter contrast (non-negative).
    """

    def _adjust(self, f, alpha):
        return f * alpha + _luma(f).mean() * (1 - alpha)


class RandomSaturation(_RandomAdjust):
    """Randomly jitters image saturation: ``out = x * alpha + gray * (1 - alpha)`` with the
    per-pixel gray value, alpha uniform in ``[1 - saturation, 1 + saturation]``.

    Parameters
    ----------
    saturation : float
        How much to jitter saturation (non-negative).
    """

    def _adjust(self, f, alpha):
        return f * alpha + _luma(f) * (1 - alpha)
