"""Image transforms (MXNet 1.x ``gluon.data.vision.transforms``).

The transforms MXNet 1.9 makes HybridBlocks (Cast, ToTensor, Normalize, Resize, CropResize, the
flips and the colour ones) are :class:`~mxplug.gluon.HybridBlock` s here too, so
``net.add(transforms.Normalize(mean, std), model); net.hybridize(); net.export(...)`` ships the
preprocessing inside the model graph. A call picks one of two paths:

- NumPy input, or an NDArray while autograd is not recording and no graph is being built (the
  DataLoader case): host code. An NDArray goes to NumPy, is transformed there and comes back on
  its own context; NumPy in gives NumPy out. Random transforms draw from ``mx.random`` (so
  ``mx.random.seed`` reproduces them, in DataLoader workers too).
- a Symbol, a tracer (inside a hybridized block, or the transform hybridized itself) or an
  NDArray under ``autograd.record()``: ``hybrid_forward(F, x)`` with ``F.image.*`` and other F
  ops, which traces, exports to symbol JSON and differentiates; random ones draw per call.

CenterCrop, RandomResizedCrop, Compose, RandomApply, Rotate and RandomRotation are plain Blocks
(as in MXNet 1.9) and always run host code. Images are ``(H, W, C)`` (or ``(N, H, W, C)``) until
:class:`ToTensor`, and ``(C, H, W)`` after.
"""

from __future__ import annotations

import numbers

import numpy as np

from .... import ndarray as nd
from ....base import MXNetValueError, dtype_of
from ....ndarray import NDArray, array
from ..sampler import host_rng
from ._augment import (
    Compose,
    HybridCompose,
    HybridRandomApply,
    RandomApply,
    RandomBrightness,
    RandomColorJitter,
    RandomContrast,
    RandomFlipLeftRight,
    RandomFlipTopBottom,
    RandomGray,
    RandomHue,
    RandomLighting,
    RandomRotation,
    RandomSaturation,
    Rotate,
    imrotate,
)
from ._image import (
    HybridTransform,
    Transform,
    _back,
    _center_crop,
    _crop_resize,
    _graph_dtype,
    _graph_image,
    _host,
    _image_ndim,
    _known,
    _pair,
    resize_image,
)

__all__ = ["Compose", "Cast", "ToTensor", "Normalize", "Resize", "CenterCrop",
           "RandomResizedCrop", "RandomFlipLeftRight", "RandomFlipTopBottom", "RandomBrightness",
           "RandomContrast", "RandomSaturation", "RandomHue", "RandomColorJitter",
           "RandomLighting", "RandomGray", "CropResize", "RandomCrop", "Rotate", "RandomRotation",
           "RandomApply", "HybridRandomApply", "HybridCompose", "imrotate", "resize_image"]


class Cast(HybridTransform):
    """Cast inputs to a specific data type.

    Parameters
    ----------
    dtype : str, default 'float32'
        The target data type, in string or `numpy.dtype`.
    """

    def __init__(self, dtype="float32"):
        super().__init__(dtype=dtype)
        self._dtype = dtype_of(dtype).name

    def _host_forward(self, x):
        if isinstance(x, NDArray):
            return x.astype(self._dtype)
        return np.asarray(x).astype(self._dtype)

    def _graph_forward(self, F, x):
        return F.cast(x, dtype=self._dtype)


class ToTensor(HybridTransform):
    """Converts an image NDArray or batch of image NDArray to a tensor NDArray.

    Converts an image NDArray of shape (H x W x C) in the range [0, 255] to a float32 tensor
    NDArray of shape (C x H x W) in the range [0, 1). If input is a batch (N x H x W x C) the
    output is (N x C x H x W). In a graph this is ``F.image.to_tensor``.
    """

    def _host_forward(self, x):
        a, ctx = _host(x)
        if a.ndim not in (3, 4):
            raise MXNetValueError(f"ToTensor: Expect: (H, W, C) or (N, H, W, C) input / "
                                  f"Actual: shape {a.shape}")
        axes = (2, 0, 1) if a.ndim == 3 else (0, 3, 1, 2)
        out = np.ascontiguousarray(a.transpose(axes), dtype=np.float32) / np.float32(255.0)
        return _back(out, ctx)

    def _graph_forward(self, F, x):
        return F.image.to_tensor(x)


def _stats(name, v, c):
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    if c is not None and v.size not in (1, c):
        raise MXNetValueError(f"Normalize: Expect: {name} with 1 or {c} values (one per "
                              f"channel) / Actual: {v.size}")
    return v


class Normalize(HybridTransform):
    """Normalize an tensor of shape (C x H x W) or (N x C x H x W) with mean and std.

    For each channel c: ``output[c] = (input[c] - mean[c]) / std[c]``. Integer input gives
    float32 output (MXNet's op runs integer arithmetic on it); float input keeps its dtype
    (computed in float64 for float64, else float32). Any number of channels; in a graph, 1 or 3
    channels are MXNet's ``F.image.normalize``, others the same arithmetic per channel.

    Parameters
    ----------
    mean : float or tuple of floats
        The mean values (one, or one per channel).
    std : float or tuple of floats
        The standard deviation values (one, or one per channel).
    """

    def __init__(self, mean=0.0, std=1.0):
        super().__init__(mean=mean, std=std)
        self._mean = mean
        self._std = std
        self._host_stats = {}

    def _host_forward(self, x):
        a, ctx = _host(x)
        if a.ndim not in (3, 4):
            raise MXNetValueError(f"Normalize: Expect: (C, H, W) or (N, C, H, W) input / "
                                  f"Actual: shape {a.shape}")
        dt = a.dtype if a.dtype.kind == "f" else np.dtype(np.float32)
        cd = np.float64 if dt == np.float64 else np.float32
        key = (a.shape[-3], cd)
        if key not in self._host_stats:  # (C, 1, 1) constants, made once per channels/dtype
            self._host_stats[key] = tuple(_stats(k, v, key[0]).astype(cd).reshape(-1, 1, 1)
                                          for k, v in (("mean", self._mean), ("std", self._std)))
        m, s = self._host_stats[key]
        return _back(((a.astype(cd, copy=False) - m) / s).astype(dt, copy=False), ctx)

    def _graph_forward(self, F, x):
        c = None
        if _known(x):
            _graph_image("Normalize", x, (3, 4), rgb=False)
            c = x.shape[-3]
            if np.dtype(x.dtype).kind != "f":
                x = F.cast(x, dtype="float32")
        mean, std = _stats("mean", self._mean, c), _stats("std", self._std, c)
        if c is None or c in (1, 3):
            return F.image.normalize(x, mean=tuple(mean), std=tuple(std))
        if mean.size == std.size == 1:
            return (x - float(mean[0])) / float(std[0])
        mean, std = np.broadcast_to(mean, (c,)), np.broadcast_to(std, (c,))
        chans = F.split(x, num_outputs=c, axis=x.ndim - 3)
        return F.concat(*[(ch - float(m)) / float(s) for ch, m, s in zip(chans, mean, std)],
                        dim=x.ndim - 3)


class Resize(HybridTransform):
    """Resize an image or a batch of image NDArray to the given size.

    Host code resizes float images with nearest neighbour (0) or bilinear (1) interpolation in
    NumPy; uint8 bilinear, the other interpolations and the graph path use ``F.image.resize``
    (MXNet's OpenCV resize, bit for bit).

    Parameters
    ----------
    size : int or tuple of (W, H)
        Size of output image.
    keep_ratio : bool
        Whether to resize the short edge or both edges to `size`, if size is give as an
        integer.
    interpolation : int
        Interpolation method: 0 nearest, 1 bilinear, 2 bicubic, 3 area, 4 Lanczos-4.
    """

    def __init__(self, size, keep_ratio=False, interpolation=1):
        super().__init__(size=size, keep_ratio=keep_ratio, interpolation=interpolation)
        self._size = size
        self._keep = keep_ratio
        self._interpolation = interpolation

    def _op_size(self):
        """The op's ``size``; a bad size raises here, on the call (MXNet's constructor takes
        any size and its op refuses it when the transform runs)."""
        sizes = [self._size] if isinstance(self._size, numbers.Number) else list(self._size)
        bad = [v for v in sizes if not v > 0]
        if bad:
            raise MXNetValueError(f"Resize: Input size should be greater than 0, but got {bad[0]}")
        if isinstance(self._size, numbers.Integral):
            return (int(self._size),)
        return _pair(self._size, "Resize")

    def _host_forward(self, x):
        self._op_size()
        a, ctx = _host(x)
        _image_ndim(a, "Resize")
        if self._interpolation not in (0, 1) and a.ndim in (3, 4):
            out = nd.image.resize(array(a, dtype=a.dtype), size=self._op_size(),  # OpenCV's
                                  keep_ratio=self._keep, interp=self._interpolation)
            return _back(out.asnumpy(), ctx)
        hax = 1 if a.ndim == 4 else 0
        h, w = a.shape[hax], a.shape[hax + 1]
        if isinstance(self._size, numbers.Integral) and self._keep:
            s = int(self._size)
            ow, oh = (s, int(h * s / w)) if h > w else (int(w * s / h), s)
        else:
            ow, oh = _pair(self._size, "Resize")
        return _back(resize_image(a, ow, oh, self._interpolation), ctx)

    def _graph_forward(self, F, x):
        if _known(x):
            _graph_image("Resize", x, (3, 4), rgb=False)
            _graph_dtype("Resize", x, resize=True)
        return F.image.resize(x, size=self._op_size(), keep_ratio=self._keep,
                              interp=self._interpolation)


class CropResize(HybridTransform):
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
        Interpolation method for resizing (default 1, bilinear; see :class:`Resize`).
    """

    def __init__(self, x, y, width, height, size=None, interpolation=None):
        super().__init__(x=x, y=y, width=width, height=height, size=size,
                         interpolation=interpolation)
        self._x, self._y, self._width, self._height = int(x), int(y), int(width), int(height)
        self._size = _pair(size, "CropResize") if size else None
        self._interpolation = 1 if interpolation is None else interpolation

    def _check_box(self):
        """Bad boxes and sizes raise on the call, as in MXNet (its constructor takes them)."""
        if self._x < 0 or self._y < 0 or self._width <= 0 or self._height <= 0:
            raise MXNetValueError(
                f"CropResize: Expect: x, y >= 0 and width, height > 0 / Actual: x={self._x}, "
                f"y={self._y}, width={self._width}, height={self._height}")
        if self._size is not None and min(self._size) <= 0:
            raise MXNetValueError(f"CropResize: Expect: a positive resize size (width, height) / "
                                  f"Actual: size={self._size}")

    def _check_fits(self, shape, hax):
        self._check_box()
        h, w = shape[hax], shape[hax + 1]
        if self._x + self._width > w or self._y + self._height > h:
            raise MXNetValueError(
                f"CropResize: the crop x={self._x}, y={self._y}, width={self._width}, "
                f"height={self._height} does not fit the image (H={h}, W={w}, shape {shape})")

    def _host_forward(self, x):
        a, ctx = _host(x)
        _image_ndim(a, "CropResize")
        hax = 1 if a.ndim == 4 else 0
        self._check_fits(a.shape, hax)
        idx = [slice(None)] * a.ndim
        idx[hax] = slice(self._y, self._y + self._height)
        idx[hax + 1] = slice(self._x, self._x + self._width)
        out = np.ascontiguousarray(a[tuple(idx)])
        if self._size is not None:
            out = resize_image(out, self._size[0], self._size[1], self._interpolation)
        return _back(out, ctx)

    def _graph_forward(self, F, x):
        self._check_box()
        box = dict(x=self._x, y=self._y, width=self._width, height=self._height)
        if not _known(x) or (x.ndim in (3, 4) and x.shape[-1] in (1, 3)):
            if _known(x):
                self._check_fits(x.shape, x.ndim - 3)
            out = F.image.crop(x, **box)
        else:  # what MXNet's crop refuses (2-D images, other channel counts): plain slices
            _graph_image("CropResize", x, (2, 3, 4), rgb=False)
            hax = 1 if x.ndim == 4 else 0
            self._check_fits(x.shape, hax)
            out = F.slice_axis(x, axis=hax, begin=self._y, end=self._y + self._height)
            out = F.slice_axis(out, axis=hax + 1, begin=self._x, end=self._x + self._width)
        if self._size is not None:
            if _known(x):
                _graph_image("CropResize", x, (3, 4), rgb=False)
                _graph_dtype("CropResize", x, resize=True)
            out = F.image.resize(out, size=self._size, interp=self._interpolation)
        return out


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
        super().__init__(size=size, interpolation=interpolation)
        self._size = _pair(size, "CenterCrop")
        self._interpolation = interpolation

    def _host_forward(self, x):
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
        super().__init__(size=size, scale=scale, ratio=ratio, interpolation=interpolation)
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

    def _host_forward(self, x):
        a, ctx = _host(x)
        _image_ndim(a, "RandomResizedCrop")
        rng = host_rng()
        out = np.stack([self._one(i, rng) for i in a]) if a.ndim == 4 else self._one(a, rng)
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


class RandomCrop(HybridTransform):
    """Randomly crop `src` with `size` (width, height). Padding is optional. Upsample result
    if `src` is smaller than `size`.

    The crop is the largest window of the output's aspect ratio that fits (the whole output
    size when the image is big enough), at a uniformly random position, resized to `size`.
    A batch gets one position for all its images. (Not in MXNet 1.9; a HybridBlock as in
    MXNet 2. In a graph it needs the input's shape: arrays and tracers, not bare Symbols.)

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
        super().__init__(size=size, pad=pad, pad_value=pad_value, interpolation=interpolation)
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

    def _host_forward(self, x):
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

    def _graph_forward(self, F, x):
        if not _known(x):
            raise MXNetValueError("RandomCrop: a Symbol's shape is unknown, and the random "
                                  "window needs it; hybridize the block instead (its graph is "
                                  "traced with the first call's shapes)")
        _graph_image("RandomCrop", x, (3, 4), rgb=False)
        hax = x.ndim - 3
        if self._pad:
            widths = [0] * (2 * x.ndim)
            widths[2 * hax:2 * hax + 4] = self._pad
            x = F.pad(x, mode="constant", pad_width=tuple(widths),
                      constant_value=self._pad_value)
        h, w = x.shape[hax], x.shape[hax + 1]
        cw, ch = _scale_down(w, h, *self._size)
        u = F.split(F.random.uniform(0.0, 1.0, shape=(2,), ctx=x.context), num_outputs=2, axis=0)
        for ax, n, room, draw in ((hax, ch, h - ch, u[1]), (hax + 1, cw, w - cw, u[0])):
            if room:  # the window's offset: floor(u * room), as on the host
                idx = F.broadcast_add(F.arange(n, ctx=x.context), F.floor(draw * room))
                x = F.take(x, idx, axis=ax)
        if (cw, ch) != self._size:
            _graph_dtype("RandomCrop", x, resize=True)
            x = F.image.resize(x, size=self._size, interp=self._interpolation)
        return x
