"""``mx.image``'s augmenters: callables from one ``(H, W, C)`` image to another, composed by
``CreateAugmenter`` into the list an ``ImageIter`` applies to every sample.

Each draws its random numbers from ``mx.random`` (see :mod:`mxplug.image.image`), never
modifies its input (MXNet's colour augmenters update it in place), and keeps the input's
dtype: integer images are rounded and saturated after a colour change, float images are not.
The colour augmenters need RGB images (3 channels last); brightness and contrast also take
1-channel gray images, and saturation leaves them unchanged.
"""

from __future__ import annotations

import json
import numbers
import warnings

import numpy as np

from ..base import MXNetTypeError, MXNetValueError
from ..gluon.data.vision._image import _saturate
from ..ndarray import NDArray
from .image import (
    _back,
    _center_crop,
    _get_interp_method,
    _host,
    _resize,
    _rng,
    _size_pair,
    color_normalize,
    random_crop,
    random_size_crop,
    resize_short,
)

__all__ = ["Augmenter", "SequentialAug", "RandomOrderAug", "ResizeAug", "ForceResizeAug",
           "RandomCropAug", "RandomSizedCropAug", "CenterCropAug", "BrightnessJitterAug",
           "ContrastJitterAug", "SaturationJitterAug", "HueJitterAug", "ColorJitterAug",
           "LightingAug", "ColorNormalizeAug", "RandomGrayAug", "HorizontalFlipAug", "CastAug",
           "CreateAugmenter"]

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# AlexNet's ImageNet PCA of RGB pixels (CreateAugmenter's pca_noise)
_EIGVAL = np.array([55.46, 4.794, 1.148])
_EIGVEC = np.array([[-0.5675, 0.7192, 0.4009],
                    [-0.5808, -0.0045, -0.8140],
                    [-0.5836, -0.6948, 0.4203]])
_MEAN_RGB = np.array([123.68, 116.28, 103.53])
_STD_RGB = np.array([58.395, 57.12, 57.375])


def _plain(v):
    """A JSON-friendly copy of an augmenter argument (arrays become lists)."""
    if isinstance(v, NDArray):
        v = v.asnumpy()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


class Augmenter:
    """Image Augmenter base class.

    Subclasses keep their constructor arguments in ``_kwargs`` (what :meth:`dumps` writes) and
    implement ``__call__(src) -> image``.
    """

    def __init__(self, **kwargs):
        self._kwargs = {k: _plain(v) for k, v in kwargs.items()}

    def dumps(self):
        """Saves the Augmenter to string

        Returns
        -------
        str
            JSON formatted string ``[name, kwargs]`` that describes the Augmenter.
        """
        return json.dumps([self.__class__.__name__.lower(), self._kwargs])

    def __call__(self, src):
        """Abstract implementation body"""
        raise NotImplementedError("Must override implementation.")

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._kwargs.items())
        return f"{type(self).__name__}({args})"


def _check_augs(ts, fname):
    ts = list(ts)
    for t in ts:
        if not callable(t):
            raise MXNetTypeError(f"{fname}: every augmenter must be callable, got "
                                 f"{type(t).__name__}")
    return ts


class SequentialAug(Augmenter):
    """Composing a sequential augmenter list.

    Parameters
    ----------
    ts : list of augmenters
        A series of augmenters to be applied in sequential order.
    """

    def __init__(self, ts):
        super().__init__()
        self.ts = _check_augs(ts, "SequentialAug")

    def dumps(self):
        """``[name, [dumps of each augmenter]]`` (a list, as in MXNet)."""
        return [self.__class__.__name__.lower(), [x.dumps() for x in self.ts]]

    def __call__(self, src):
        for aug in self.ts:
            src = aug(src)
        return src


class RandomOrderAug(Augmenter):
    """Apply a list of augmenters in a random order (a new order for every image).

    Parameters
    ----------
    ts : list of augmenters
        A series of augmenters to be applied in random order.
    """

    def __init__(self, ts):
        super().__init__()
        self.ts = _check_augs(ts, type(self).__name__)

    def dumps(self):
        """``[name, [dumps of each augmenter]]`` (a list, as in MXNet)."""
        return [self.__class__.__name__.lower(), [x.dumps() for x in self.ts]]

    def __call__(self, src):
        for i in _rng().permutation(len(self.ts)):
            src = self.ts[i](src)
        return src


# -- geometry ---------------------------------------------------------------------------------

class ResizeAug(Augmenter):
    """Resize the shorter edge to ``size`` (see :func:`resize_short`).

    Parameters
    ----------
    size : int
        The length to be set for the shorter edge.
    interp : int, default 2
        Interpolation method (OpenCV codes).
    """

    def __init__(self, size, interp=2):
        super().__init__(size=size, interp=interp)
        self.size = size
        self.interp = interp

    def __call__(self, src):
        return resize_short(src, self.size, self.interp)


class ForceResizeAug(Augmenter):
    """Force resize to ``size`` regardless of aspect ratio.

    Parameters
    ----------
    size : tuple of (int, int)
        The desired size as in (width, height).
    interp : int, default 2
        Interpolation method (OpenCV codes).
    """

    def __init__(self, size, interp=2):
        super().__init__(size=size, interp=interp)
        self.size = _size_pair(size, "ForceResizeAug")
        self.interp = interp

    def __call__(self, src):
        a, ctx = _host(src, "ForceResizeAug")
        w, h = self.size
        interp = _get_interp_method(self.interp, (a.shape[0], a.shape[1], h, w))
        return _back(_resize(a, w, h, interp), ctx)


class RandomCropAug(Augmenter):
    """Random crop to ``size`` (width, height), upsampling a smaller image.

    Parameters
    ----------
    size : tuple of (int, int)
        The output size (width, height).
    interp : int, default 2
        Interpolation method (OpenCV codes).
    """

    def __init__(self, size, interp=2):
        super().__init__(size=size, interp=interp)
        self.size = _size_pair(size, "RandomCropAug")
        self.interp = interp

    def __call__(self, src):
        return random_crop(src, self.size, self.interp)[0]


class RandomSizedCropAug(Augmenter):
    """Random crop with a random area and aspect ratio, resized to ``size``
    (see :func:`random_size_crop`).

    Parameters
    ----------
    size : tuple of (int, int)
        Size of the crop formatted as (width, height).
    area : float in (0, 1] or tuple of (float, float)
        Minimum (and maximum) fraction of the image area kept.
    ratio : tuple of (float, float)
        Aspect ratio range as (min_aspect_ratio, max_aspect_ratio).
    interp : int, default 2
        Interpolation method (OpenCV codes).
    """

    def __init__(self, size, area, ratio, interp=2, **kwargs):
        if "min_area" in kwargs:
            warnings.warn("`min_area` is deprecated. Please use `area` instead.",
                          DeprecationWarning)
            area = kwargs.pop("min_area")
        if kwargs:
            raise MXNetTypeError(f"RandomSizedCropAug: unexpected keyword arguments "
                                 f"{sorted(kwargs)}")
        super().__init__(size=size, area=area, ratio=ratio, interp=interp)
        self.size = _size_pair(size, "RandomSizedCropAug")
        self.area = area
        self.ratio = ratio
        self.interp = interp

    def __call__(self, src):
        return random_size_crop(src, self.size, self.area, self.ratio, self.interp)[0]


class CenterCropAug(Augmenter):
    """Center crop to ``size`` (width, height), upsampling a smaller image.

    Parameters
    ----------
    size : list or tuple of int
        The desired output image size (width, height).
    interp : int, default 2
        Interpolation method (OpenCV codes).
    """

    def __init__(self, size, interp=2):
        super().__init__(size=size, interp=interp)
        self.size = _size_pair(size, "CenterCropAug")
        self.interp = interp

    def __call__(self, src):
        a, ctx = _host(src, "CenterCropAug")
        return _center_crop(a, ctx, self.size, self.interp, "CenterCropAug")[0]


class HorizontalFlipAug(Augmenter):
    """Flip the image left to right with probability ``p``.

    Parameters
    ----------
    p : float
        Probability to flip image horizontally.
    """

    def __init__(self, p):
        super().__init__(p=p)
        self.p = p

    def __call__(self, src):
        if _rng().random() < self.p:
            a, ctx = _host(src, "HorizontalFlipAug")
            return _back(a[:, ::-1], ctx)
        return src


class CastAug(Augmenter):
    """Cast to ``typ`` (float32 by default)."""

    def __init__(self, typ="float32"):
        super().__init__(type=typ)
        self.typ = typ

    def __call__(self, src):
        return src.astype(self.typ)


# -- colour ------------------------------------------------------------------------------------

def _float_image(src, fname, channels=(3,)):
    """(float32 image, original dtype, context) for a colour augmenter."""
    a, ctx = _host(src, fname)
    if a.shape[2] not in channels:
        want = " or ".join(str(c) for c in channels)
        raise MXNetValueError(f"{fname}: Expect: an image (H, W, C) with C = {want} (RGB "
                              f"channels last) / Actual: shape {a.shape}")
    return a.astype(np.float32), a.dtype, ctx


def _done(f, dtype, ctx):
    """Back to the input's dtype (integers rounded and saturated) and kind of array."""
    return _back(_saturate(f, dtype), ctx)


class _JitterAug(Augmenter):
    """Shared set-up of the brightness / contrast / saturation / hue jitters."""

    _name = ""

    def __init__(self, amount):
        if not isinstance(amount, numbers.Real) or isinstance(amount, bool) or amount < 0:
            raise MXNetValueError(f"{type(self).__name__}: {self._name} must be a number >= 0, "
                                  f"got {amount!r}")
        super().__init__(**{self._name: amount})
        setattr(self, self._name, amount)

    def _alpha(self, amount):
        return 1.0 + _rng().uniform(-amount, amount)


class BrightnessJitterAug(_JitterAug):
    """Random brightness jitter: multiply by ``1 + uniform(-brightness, brightness)``.

    Parameters
    ----------
    brightness : float
        The brightness jitter ratio range, [0, 1].
    """

    _name = "brightness"

    def __call__(self, src):
        f, dtype, ctx = _float_image(src, "BrightnessJitterAug", (1, 3))
        return _done(f * np.float32(self._alpha(self.brightness)), dtype, ctx)


class ContrastJitterAug(_JitterAug):
    """Random contrast jitter: blend with the mean gray level (ITU-R 601 luma),
    ``src * alpha + mean(gray) * (1 - alpha)``, ``alpha = 1 + uniform(-contrast, contrast)``.

    Parameters
    ----------
    contrast : float
        The contrast jitter ratio range, [0, 1].
    """

    _name = "contrast"

    def __call__(self, src):
        f, dtype, ctx = _float_image(src, "ContrastJitterAug", (1, 3))
        alpha = self._alpha(self.contrast)
        gray = f.mean() if f.shape[2] == 1 else (f * _LUMA).sum(axis=2).mean()
        return _done(f * np.float32(alpha) + np.float32(gray * (1.0 - alpha)), dtype, ctx)


class SaturationJitterAug(_JitterAug):
    """Random saturation jitter: blend each pixel with its gray level,
    ``src * alpha + gray * (1 - alpha)``, ``alpha = 1 + uniform(-saturation, saturation)``.

    Parameters
    ----------
    saturation : float
        The saturation jitter ratio range, [0, 1].
    """

    _name = "saturation"

    def __call__(self, src):
        f, dtype, ctx = _float_image(src, "SaturationJitterAug", (1, 3))
        alpha = self._alpha(self.saturation)
        if f.shape[2] == 1:
            return src
        gray = (f * _LUMA).sum(axis=2, keepdims=True)
        return _done(f * np.float32(alpha) + gray * np.float32(1.0 - alpha), dtype, ctx)


_TYIQ = np.array([[0.299, 0.587, 0.114],
                  [0.596, -0.274, -0.321],
                  [0.211, -0.523, 0.311]])
_ITYIQ = np.array([[1.0, 0.956, 0.621],
                   [1.0, -0.272, -0.647],
                   [1.0, -1.107, 1.705]])


def _hue_matrix(alpha):
    """The 3x3 matrix ``m`` with ``rgb @ m`` turning the hue by ``alpha * 180`` degrees in YIQ
    space (the linear approximation MXNet's HueJitterAug uses)."""
    u, w = np.cos(alpha * np.pi), np.sin(alpha * np.pi)
    bt = np.array([[1.0, 0.0, 0.0], [0.0, u, -w], [0.0, w, u]])
    return (_ITYIQ @ bt @ _TYIQ).T.astype(np.float32)


class HueJitterAug(_JitterAug):
    """Random hue jitter: rotate the chroma in YIQ space by ``uniform(-hue, hue) * 180``
    degrees (an approximate linear transform, https://beesbuzz.biz/code/hsv_color_transforms.php).

    Parameters
    ----------
    hue : float
        The hue jitter ratio range, [0, 1].
    """

    _name = "hue"

    def __call__(self, src):
        f, dtype, ctx = _float_image(src, "HueJitterAug")
        alpha = _rng().uniform(-self.hue, self.hue)
        return _done(f @ _hue_matrix(alpha), dtype, ctx)


class ColorJitterAug(RandomOrderAug):
    """Apply random brightness, contrast and saturation jitter in random order (those whose
    amount is 0 are left out).

    Parameters
    ----------
    brightness : float
        The brightness jitter ratio range, [0, 1].
    contrast : float
        The contrast jitter ratio range, [0, 1].
    saturation : float
        The saturation jitter ratio range, [0, 1].
    """

    def __init__(self, brightness, contrast, saturation):
        ts = []
        if brightness > 0:
            ts.append(BrightnessJitterAug(brightness))
        if contrast > 0:
            ts.append(ContrastJitterAug(contrast))
        if saturation > 0:
            ts.append(SaturationJitterAug(saturation))
        super().__init__(ts)


class LightingAug(Augmenter):
    """Add PCA based noise (AlexNet's lighting): ``eigvec @ (alpha * eigval)`` with
    ``alpha ~ N(0, alphastd)`` per eigenvector, added to every pixel.

    Parameters
    ----------
    alphastd : float
        Noise level.
    eigval : 3 array
        Eigen values.
    eigvec : 3x3 array
        Eigen vectors (one per column).
    """

    def __init__(self, alphastd, eigval, eigvec):
        super().__init__(alphastd=alphastd, eigval=eigval, eigvec=eigvec)
        self.alphastd = alphastd
        self.eigval = np.asarray(_plain(eigval), dtype=np.float64)
        self.eigvec = np.asarray(_plain(eigvec), dtype=np.float64)
        if self.eigval.shape != (3,) or self.eigvec.shape != (3, 3):
            raise MXNetValueError(f"LightingAug: Expect: eigval (3,) and eigvec (3, 3) / Actual: "
                                  f"{self.eigval.shape} and {self.eigvec.shape}")

    def __call__(self, src):
        f, dtype, ctx = _float_image(src, "LightingAug")
        alpha = _rng().normal(0, self.alphastd, size=(3,))
        rgb = np.dot(self.eigvec * alpha, self.eigval)
        return _done(f + rgb.astype(np.float32), dtype, ctx)


class ColorNormalizeAug(Augmenter):
    """Mean and std normalization: ``(src - mean) / std`` (see :func:`color_normalize`).

    Parameters
    ----------
    mean : NDArray or array-like
        RGB mean to be subtracted.
    std : NDArray or array-like
        RGB standard deviation to be divided.
    """

    def __init__(self, mean, std):
        super().__init__(mean=mean, std=std)
        self.mean = None if mean is None else np.asarray(_plain(mean), dtype=np.float32)
        self.std = None if std is None else np.asarray(_plain(std), dtype=np.float32)

    def __call__(self, src):
        return color_normalize(src, self.mean, self.std)


class RandomGrayAug(Augmenter):
    """Convert to gray with probability ``p``, keeping 3 channels (each becomes
    ``0.21 R + 0.72 G + 0.07 B``, MXNet's weights).

    Parameters
    ----------
    p : float
        Probability to convert to grayscale.
    """

    _MAT = np.array([[0.21, 0.21, 0.21],
                     [0.72, 0.72, 0.72],
                     [0.07, 0.07, 0.07]], dtype=np.float32)

    def __init__(self, p):
        super().__init__(p=p)
        self.p = p

    def __call__(self, src):
        if _rng().random() < self.p:
            f, dtype, ctx = _float_image(src, "RandomGrayAug")
            return _done(f @ self._MAT, dtype, ctx)
        return src


# -- the standard list -------------------------------------------------------------------------

def _check_data_shape(data_shape, fname, channels=(1, 3)):
    if (not isinstance(data_shape, (tuple, list)) or len(data_shape) != 3
            or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d > 0
                       for d in data_shape)):
        raise MXNetValueError(f"{fname}: data_shape should have length 3, with dimensions CxHxW "
                              f"(positive ints), got {data_shape!r}")
    if data_shape[0] not in channels:
        want = " or ".join(str(c) for c in channels)
        raise MXNetValueError(f"{fname}: data_shape {tuple(data_shape)} has {data_shape[0]} "
                              f"channels; this iterator expects inputs to have {want} channels")
    return tuple(int(d) for d in data_shape)


def _mean_std(v, default, name):
    if v is True:
        return default.copy()
    if v is None or v is False:
        return None
    arr = np.asarray(_plain(v), dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] not in (1, 3):
        raise MXNetValueError(f"CreateAugmenter: {name} must be True, None or an array of 1 or 3 "
                              f"values (R, G, B), got shape {arr.shape}")
    return arr


def CreateAugmenter(data_shape, resize=0, rand_crop=False, rand_resize=False,
                    rand_mirror=False, mean=None, std=None, brightness=0, contrast=0,
                    saturation=0, hue=0, pca_noise=0, rand_gray=0, inter_method=2):
    """Creates an augmenter list.

    Parameters
    ----------
    data_shape : tuple of int
        Shape for output data (C, H, W).
    resize : int
        Resize shorter edge if larger than 0 at the begining.
    rand_crop : bool
        Whether to enable random cropping other than center crop.
    rand_resize : bool
        Whether to enable random sized cropping, require rand_crop to be enabled.
    rand_mirror : bool
        Whether to apply horizontal flip to image with probability 0.5.
    mean : np.ndarray, True or None
        Mean pixel values for [r, g, b] (True: ImageNet's).
    std : np.ndarray, True or None
        Standard deviations for [r, g, b] (True: ImageNet's).
    brightness, contrast, saturation, hue : float
        Jittering ranges (percent).
    pca_noise : float
        Pca noise level (percent).
    rand_gray : float
        [0, 1], probability to convert to grayscale for all channels, the number of channels
        will not be reduced to 1.
    inter_method : int, default 2
        Interpolation method for all resizing operations (OpenCV codes: 0 nearest, 1 bilinear,
        2 bicubic, 3 area, 4 Lanczos, 9 auto, 10 random).

    Examples
    --------
    >>> augs = mx.image.CreateAugmenter(data_shape=(3, 300, 300), rand_mirror=True,
    ...    mean=True, brightness=0.125, contrast=0.125, rand_gray=0.05,
    ...    saturation=0.125, pca_noise=0.05, inter_method=10)
    >>> [aug.dumps() for aug in augs]
    """
    data_shape = _check_data_shape(data_shape, "CreateAugmenter")
    _get_interp_method(9 if inter_method == 10 else inter_method)  # validate once, up front
    auglist = []
    if resize > 0:
        auglist.append(ResizeAug(resize, inter_method))

    crop_size = (data_shape[2], data_shape[1])
    if rand_resize:
        if not rand_crop:
            raise MXNetValueError("CreateAugmenter: rand_resize=True requires rand_crop=True")
        auglist.append(RandomSizedCropAug(crop_size, 0.08, (3.0 / 4.0, 4.0 / 3.0), inter_method))
    elif rand_crop:
        auglist.append(RandomCropAug(crop_size, inter_method))
    else:
        auglist.append(CenterCropAug(crop_size, inter_method))

    if rand_mirror:
        auglist.append(HorizontalFlipAug(0.5))

    auglist.append(CastAug())

    if brightness or contrast or saturation:
        auglist.append(ColorJitterAug(brightness, contrast, saturation))

    if hue:
        auglist.append(HueJitterAug(hue))

    if pca_noise > 0:
        auglist.append(LightingAug(pca_noise, _EIGVAL, _EIGVEC))

    if rand_gray > 0:
        auglist.append(RandomGrayAug(rand_gray))

    mean = _mean_std(mean, _MEAN_RGB, "mean")
    std = _mean_std(std, _STD_RGB, "std")
    if mean is not None or std is not None:
        auglist.append(ColorNormalizeAug(mean, std))

    return auglist
