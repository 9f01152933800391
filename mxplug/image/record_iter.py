"""``ImageRecordIter``: MXNet 1.x's C++ ``mx.io.ImageRecordIter`` (``iter_image_recordio_2.cc``
with the ``aug_default`` augmenter of ``image_aug_default.cc``), written over ``ImageIter``'s
decoding in NumPy and Pillow.

Per image, in MXNet's order: decode, resize the shorter edge, affine transform (rotation,
shear, scale, aspect ratio), pad, crop (random-resized, random-size or centre/random),
brightness/contrast/saturation in a random order, HSL jitter, PCA noise; then mirror and
normalise ``(pixel - mean) * scale / std`` into an NCHW batch.
"""

from __future__ import annotations

import inspect
import numbers
import os
import warnings

import numpy as np

from .. import io, recordio
from .. import ndarray as nd
from ..base import MXNetFileError, MXNetTypeError, MXNetValueError
from ..gluon.data.vision._image import _saturate
from ..ndarray import _wrap_host
from .augmenters import _EIGVAL, _EIGVEC, _LUMA, Augmenter, _check_data_shape
from .image import (
    ImageError,
    _get_interp_method,
    _host,
    _resize,
    _rng,
    _rng_scope,
    copyMakeBorder,
    imdecode,
)
from .iterator import ImageIter, _positive_int, read_list_file

__all__ = ["ImageRecordIter"]

_PCA = (_EIGVEC * _EIGVAL).astype(np.float32)  # eigenvectors scaled by their eigenvalues
# OpenCV's HLS -> RGB sector table: rows give the indices into (p2, p1, rising, falling) for b, g, r
_HLS_SECTORS = np.array([[1, 3, 0], [1, 0, 2], [3, 0, 1], [0, 2, 1], [0, 1, 3], [2, 1, 0]])


def _rgb_to_hls8(a):
    """OpenCV's 8-bit RGB -> HLS: H in [0, 180) (degrees / 2), L and S in [0, 255]."""
    f = a.astype(np.float32) / 255
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    vmax, vmin = f.max(axis=-1), f.min(axis=-1)
    diff, light = vmax - vmin, (vmax + vmin) / 2
    chroma = diff > np.finfo(np.float32).eps
    with np.errstate(divide="ignore", invalid="ignore"):
        sat = np.where(light < 0.5, diff / (vmax + vmin), diff / (2 - vmax - vmin))
        hue = np.where(vmax == r, 60 * (g - b) / diff,
                       np.where(vmax == g, 120 + 60 * (b - r) / diff, 240 + 60 * (r - g) / diff))
    hue = np.where(chroma, np.mod(hue, 360), 0)
    sat = np.where(chroma, sat, 0)
    return np.stack([np.rint(hue / 2), np.rint(light * 255), np.rint(sat * 255)], axis=-1)


def _hls8_to_rgb(hls):
    """OpenCV's 8-bit HLS -> RGB (uint8)."""
    h, light, s = hls[..., 0] * 2, hls[..., 1] / 255, hls[..., 2] / 255
    p2 = np.where(light <= 0.5, light * (1 + s), light + s - light * s)
    p1 = 2 * light - p2
    h6 = np.mod(h / 60, 6)
    sector = np.minimum(np.floor(h6).astype(np.int64), 5)
    frac = h6 - sector
    tab = np.stack([p2, p1, p1 + (p2 - p1) * (1 - frac), p1 + (p2 - p1) * frac])
    rows = _HLS_SECTORS[sector]
    bgr = [np.take_along_axis(tab, rows[None, ..., k], 0)[0] for k in range(3)]
    rgb = np.stack([bgr[2], bgr[1], bgr[0]], axis=-1)
    rgb = np.where((s == 0)[..., None], light[..., None], rgb)
    return _saturate(rgb * 255, np.uint8)


class DefaultImageAug(Augmenter):
    """MXNet's ``aug_default``: the augmentation ``ImageRecordIter`` applies to a decoded uint8
    ``(H, W, C)`` image, producing a ``data_shape`` crop (still HWC, uint8).

    The parameters are ``ImageRecordIter``'s augmentation parameters (see there).
    """

    def __init__(self, data_shape, resize=-1, rand_crop=False, random_resized_crop=False,
                 max_rotate_angle=0, max_aspect_ratio=0.0, min_aspect_ratio=None,
                 max_shear_ratio=0.0, max_crop_size=-1, min_crop_size=-1, max_random_scale=1.0,
                 min_random_scale=1.0, max_random_area=1.0, min_random_area=1.0,
                 max_img_size=1e10, min_img_size=0.0, brightness=0.0, contrast=0.0,
                 saturation=0.0, pca_noise=0.0, random_h=0, random_s=0, random_l=0, rotate=-1,
                 fill_value=255, inter_method=1, pad=0, rotate_list=None):
        args = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        super().__init__(**args)
        self.__dict__.update(args)
        self.data_shape = _check_data_shape(data_shape, "ImageRecordIter", (1, 3))
        if isinstance(rotate_list, str):
            rotate_list = [int(v) for v in rotate_list.split(",") if v.strip()]
        self.rotate_list = list(rotate_list or [])
        if inter_method not in (0, 1, 2, 3, 4, 9, 10):
            raise MXNetValueError(f"ImageRecordIter: invalid inter_method {inter_method!r}: "
                                  f"valid values are 0, 1, 2, 3, 4, 9 and 10")
        if min_aspect_ratio is None:
            self._ratio = (1.0 - max_aspect_ratio, 1.0 + max_aspect_ratio)
        else:
            self._ratio = (float(min_aspect_ratio), float(max_aspect_ratio))
        if random_resized_crop:
            if (min_random_scale != 1.0 or max_random_scale != 1.0 or min_crop_size != -1
                    or max_crop_size != -1 or rand_crop):
                raise MXNetValueError("ImageRecordIter: Setting random_resized_crop to true "
                                      "conflicts with min_random_scale, max_random_scale, "
                                      "min_crop_size, max_crop_size, and rand_crop.")
            if self._ratio[0] <= 0 or self._ratio[0] > self._ratio[1]:
                raise MXNetValueError(f"ImageRecordIter: the aspect ratio range {self._ratio} "
                                      f"must be positive and ordered")
            if min_random_area > max_random_area:
                raise MXNetValueError(f"ImageRecordIter: min_random_area {min_random_area} > "
                                      f"max_random_area {max_random_area}")
        if (max_crop_size != -1 or min_crop_size != -1) and max_crop_size < min_crop_size:
            raise MXNetValueError(f"ImageRecordIter: max_crop_size {max_crop_size} < "
                                  f"min_crop_size {min_crop_size}")

    def _interp(self, ow, oh, nw, nh):
        return _get_interp_method(self.inter_method, (oh, ow, nh, nw))

    def __call__(self, src):
        a, ctx = _host(src, "ImageRecordIter")
        if a.dtype != np.uint8:
            raise MXNetTypeError(f"ImageRecordIter: the default augmenter takes uint8 images, "
                                 f"got {a.dtype}")
        rng = _rng()
        if self.resize != -1:
            h, w = a.shape[:2]
            nh, nw = ((self.resize * h // w, self.resize) if h > w
                      else (self.resize, self.resize * w // h))
            a = _resize(a, nw, nh, self._interp(w, h, nw, nh))
        a = self._affine(a, rng)
        if self.pad > 0:
            p = self.pad
            a = copyMakeBorder(a, p, p, p, p, 0, values=(self.fill_value,) * 3)
        a = self._crop(a, rng)
        a = self._color_jitter(a, rng)
        a = self._hsl(a, rng)
        if self.pca_noise > 0 and a.shape[2] == 3:
            alpha = rng.normal(0, self.pca_noise, size=3).astype(np.float32)
            offset = _PCA @ alpha
            a = np.clip(np.trunc(a + offset), 0, 255).astype(np.uint8)
        return a if ctx is None else _wrap_host(a)

    def _affine(self, a, rng):
        ratio_on = not self.random_resized_crop and self._ratio != (1.0, 1.0)
        if not (self.max_rotate_angle > 0 or self.max_shear_ratio > 0 or self.rotate > 0
                or self.rotate_list or self.max_random_scale != 1 or self.min_random_scale != 1
                or ratio_on or self.max_img_size != 1e10 or self.min_img_size != 0):
            return a
        s = rng.random() * self.max_shear_ratio * 2 - self.max_shear_ratio
        angle = int(rng.integers(-self.max_rotate_angle, self.max_rotate_angle + 1))
        if self.rotate > 0:
            angle = self.rotate
        if self.rotate_list:
            angle = self.rotate_list[int(rng.integers(0, len(self.rotate_list)))]
        ca, sa = np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))
        scale, ratio = 1.0, 1.0
        if not self.random_resized_crop:
            scale = rng.random() * (self.max_random_scale - self.min_random_scale) + \
                self.min_random_scale
            ratio = rng.random() * (self._ratio[1] - self._ratio[0]) + self._ratio[0]
        hs = 2 * scale / (1 + ratio)
        ws = ratio * hs
        rows, cols = a.shape[:2]
        new_w = int(max(self.min_img_size, min(self.max_img_size, scale * cols)))
        new_h = int(max(self.min_img_size, min(self.max_img_size, scale * rows)))
        if new_w < 1 or new_h < 1:
            raise MXNetValueError(f"ImageRecordIter: the affine transform makes the image "
                                  f"{new_w}x{new_h}; check min_random_scale and min_img_size")
        m = np.array([[hs * ca - s * sa * ws, hs * sa + s * ca * ws, 0.0],
                      [-sa * ws, ca * ws, 0.0]])
        m[0, 2] = (new_w - (m[0, 0] * cols + m[0, 1] * rows)) / 2
        m[1, 2] = (new_h - (m[1, 0] * cols + m[1, 1] * rows)) / 2
        interp = self._interp(cols, rows, new_w, new_h)
        return _warp_affine(a, m, new_w, new_h, interp, self.fill_value)

    def _crop(self, a, rng):
        dh, dw = self.data_shape[1], self.data_shape[2]
        rows, cols = a.shape[:2]
        if self.random_resized_crop:
            lo_r, hi_r = self._ratio
            if (self.max_random_area != 1 or self.min_random_area != 1
                    or (lo_r, hi_r) != (1.0, 1.0)):
                for _ in range(10):
                    area = rows * cols * rng.uniform(self.min_random_area, self.max_random_area)
                    ratio = rng.uniform(lo_r, hi_r)
                    y_area = int(np.round(np.sqrt(area / ratio)))
                    x_area = int(np.round(np.sqrt(area * ratio)))
                    if rng.random() > 0.5:
                        x_area, y_area = y_area, x_area
                    if 0 < y_area <= rows and 0 < x_area <= cols:
                        y = int(rng.integers(0, rows - y_area + 1))
                        x = int(rng.integers(0, cols - x_area + 1))
                        return _resize(a[y:y + y_area, x:x + x_area], dw, dh,
                                       self._interp(x_area, y_area, dw, dh))
        elif self.max_crop_size != -1 or self.min_crop_size != -1:
            if cols < self.max_crop_size or rows < self.max_crop_size:
                raise MXNetValueError(f"ImageRecordIter: input image size {cols}x{rows} smaller "
                                      f"than max_crop_size {self.max_crop_size}")
            size = int(rng.integers(self.min_crop_size, self.max_crop_size + 1))
            y, x = self._offsets(rows - size, cols - size, rng)
            return _resize(a[y:y + size, x:x + size], dw, dh, self._interp(size, size, dw, dh))
        # centre (or random, with rand_crop) crop of data_shape, upscaling a small image first
        interp = self._interp(cols, rows, dw, dh)
        if rows < dh:
            a = _resize(a, int(dh / rows * cols), dh, interp)
            rows, cols = a.shape[:2]
        if cols < dw:
            a = _resize(a, dw, int(dw / cols * rows), interp)
            rows, cols = a.shape[:2]
        y, x = self._offsets(rows - dh, cols - dw, rng)
        return np.ascontiguousarray(a[y:y + dh, x:x + dw])

    def _offsets(self, y, x, rng):
        if self.rand_crop:
            return int(rng.integers(0, y + 1)), int(rng.integers(0, x + 1))
        return y // 2, x // 2

    def _color_jitter(self, a, rng):
        if not (self.brightness > 0 or self.contrast > 0 or self.saturation > 0):
            return a
        alpha_b = 1.0 + rng.uniform(-self.brightness, self.brightness)
        alpha_c = 1.0 + rng.uniform(-self.contrast, self.contrast)
        alpha_s = 1.0 + rng.uniform(-self.saturation, self.saturation)
        for step in rng.permutation(3):
            f = a.astype(np.float32)
            gray = f if a.shape[2] == 1 else (f * _LUMA).sum(axis=2, keepdims=True)
            if step == 0:
                f = f * alpha_b
            elif step == 1:
                f = f * alpha_c + (1 - alpha_c) * gray.mean()
            elif a.shape[2] == 3:
                f = f * alpha_s + gray * (1 - alpha_s)
            a = _saturate(f, np.uint8)  # OpenCV saturates after each step
        return a

    def _hsl(self, a, rng):
        if not (self.random_h or self.random_s or self.random_l) or a.shape[2] != 3:
            return a
        # an approximation of a gaussian, to reduce extreme values (as MXNet)
        rh, rs, rl = ((rng.random() + 4 * rng.random()) / 5 for _ in range(3))
        dh = int(rh * self.random_h * 2 - self.random_h)
        ds = int(rs * self.random_s * 2 - self.random_s)
        dl = int(rl * self.random_l * 2 - self.random_l)
        hls = _rgb_to_hls8(a)
        hls = np.clip(hls + np.array([dh, dl, ds]), 0, [180, 255, 255])
        return _hls8_to_rgb(hls)


def _cubic_weights(f):
    """OpenCV's bicubic kernel (A = -0.75) at offsets -1, 0, 1, 2 from the floor position."""
    A = -0.75
    d = np.stack([1 + f, f, 1 - f, 2 - f])
    near = ((A + 2) * d - (A + 3)) * d * d + 1
    far = ((A * d - 5 * A) * d + 8 * A) * d - 4 * A
    return np.where(d <= 1, near, far)


def _warp_affine(a, m, new_w, new_h, interp, fill):
    """OpenCV's ``warpAffine(a, m, (new_w, new_h))`` with a constant border: ``m`` maps source
    pixel centres to destination ones. Nearest (0), bilinear (1; also 3, area, as OpenCV
    does for warps) or bicubic (2; also 4, Lanczos) sampling, where pixels outside the source
    count as ``fill``; rounded and saturated."""
    inv = np.linalg.inv(m[:, :2])
    ys, xs = np.mgrid[0:new_h, 0:new_w].astype(np.float64)
    xs, ys = xs - m[0, 2], ys - m[1, 2]
    sx = inv[0, 0] * xs + inv[0, 1] * ys
    sy = inv[1, 0] * xs + inv[1, 1] * ys
    k = 2  # border wide enough for the bicubic taps; far-away positions clip into it
    h, w = a.shape[:2]
    src = np.pad(a.astype(np.float32), ((k, k), (k, k), (0, 0)), constant_values=fill)
    if interp == 0:
        iy = np.clip(np.floor(sy + 0.5), -k, h - 1 + k).astype(np.int64) + k
        ix = np.clip(np.floor(sx + 0.5), -k, w - 1 + k).astype(np.int64) + k
        return _saturate(src[iy, ix], a.dtype)
    y0, x0 = np.floor(sy), np.floor(sx)
    fy, fx = (sy - y0).astype(np.float32), (sx - x0).astype(np.float32)
    if interp in (2, 4):
        offsets, wy, wx = (-1, 0, 1, 2), _cubic_weights(fy), _cubic_weights(fx)
    else:
        offsets, wy, wx = (0, 1), np.stack([1 - fy, fy]), np.stack([1 - fx, fx])
    out = np.zeros((new_h, new_w, a.shape[2]), dtype=np.float32)
    for i, dy in enumerate(offsets):
        iy = np.clip(y0 + dy, -k, h - 1 + k).astype(np.int64) + k
        for j, dx in enumerate(offsets):
            ix = np.clip(x0 + dx, -k, w - 1 + k).astype(np.int64) + k
            out += (wy[i] * wx[j])[..., None] * src[iy, ix]
    return _saturate(out, a.dtype)


_AUG_PARAMS = [p for p in inspect.signature(DefaultImageAug).parameters if p != "data_shape"]
_IGNORED = ("preprocess_threads", "prefetch_buffer", "verbose", "ctx", "device_id",
            "shuffle_chunk_size", "shuffle_chunk_seed")


class _ScannedRecordIO:
    """Random access to a ``.rec`` file without an ``.idx``: one pass notes each record's
    byte offset (what shuffling and partitioning need)."""

    def __init__(self, rec):
        self._rec = rec
        self.idx = {}
        self.keys = []
        rec.reset()
        while True:
            pos = rec.tell()
            if rec.read() is None:
                break
            self.idx[len(self.keys)] = pos
            self.keys.append(len(self.keys))
        rec.reset()

    @property
    def uri(self):
        return self._rec.uri

    def read_idx(self, key):
        return self._rec._read_at(self.idx[key])[0]

    def reset(self):
        self._rec.reset()


class ImageRecordIter(ImageIter):
    """Iterates on image RecordIO files (MXNet 1.x's ``mx.io.ImageRecordIter``).

    Reads batches of images from .rec RecordIO files (written by im2rec.py or
    ``mx.recordio.pack_img``), augments them and returns NCHW batches.

    Example::

      data_iter = ImageRecordIter(
        path_imgrec="./sample.rec", # The target record file.
        data_shape=(3, 227, 227), # Output data shape; 227x227 region will be cropped.
        batch_size=4, # Number of items per batch.
        resize=256 # Resize the shorter edge to 256 before cropping.
        )
      batch = data_iter.next()  # batch.data[0] is 4x3x227x227
      data_iter.reset()  # To restart the iterator from the beginning.

    Parameters
    ----------
    path_imgrec : str
        Path to the image RecordIO (.rec) file.
    data_shape : tuple of int
        The shape of one output image (channels, height, width); 3 channels (RGB) or 1 (gray).
    batch_size : int
        Number of items per batch.
    label_width : int, default 1
        The number of labels per image.
    path_imglist : str, default ''
        Image list (.lst: index, label(s), path); when given, the labels come from it, looked
        up by each record's ``header.id``.
    path_imgidx : str, default ''
        The .idx file. Without it, shuffling or partitioning first scans the .rec file once.
    aug_seq : str, default 'aug_default'
        The augmenters to apply; only 'aug_default' exists.
    shuffle : bool, default False
        Shuffle the images every epoch (the order is drawn from ``seed``).
    seed : int, default 0
        Seed of the shuffling.
    round_batch : bool, default True
        Fill the last batch with images from the start of the next epoch (``pad`` says how
        many); the next epoch then continues after them, as MXNet does. False: the last batch
        is zero-filled (``pad`` says how many images are missing).
    part_index, num_parts : int, default 0, 1
        Read part ``part_index`` of ``num_parts`` contiguous, equal (rounded up) parts.
    dtype : str, default None
        Output data type: None or 'float32', 'uint8' (no normalisation) or 'int8'.
    data_name, label_name : str, default 'data', 'softmax_label'
    seed_aug : int, optional
        Seed of a private generator for the augmentations (default: draw from ``mx.random``).
    mirror, rand_mirror : bool, default False
        Always / with probability 0.5 flip images left to right.
    mean_r, mean_g, mean_b, mean_a : float, default 0
        Mean pixel value per channel, subtracted.
    std_r, std_g, std_b, std_a : float, default 1
        Standard deviation per channel, divided.
    scale : float, default 1
        Multiply the normalised value by it.
    mean_img : str, default ''
        A mean image file (``mx.nd.save`` format, (C, H, W)) subtracted instead of
        ``mean_r/g/b``; computed over the data and saved there when the file does not exist.
    max_random_contrast, max_random_illumination : float, default 0
        Random contrast factor ``1 + uniform(-c, c)`` and offset ``uniform(-i, i)`` in the
        normalisation.
    resize : int, default -1
        Resize the shorter edge to this size before the other augmentations.
    rand_crop : bool, default False
        Random instead of centre crop.
    random_resized_crop : bool, default False
        Crop a random area in ``[min_random_area, max_random_area]`` with an aspect ratio in
        ``[min_aspect_ratio, max_aspect_ratio]`` (10 tries, else a centre crop), resized to
        ``data_shape`` (ResNet's ImageNet training crop).
    max_rotate_angle, rotate : int
        Rotate by a random degree in ``[-v, v]``, or by ``rotate`` when it is > 0.
    max_aspect_ratio, min_aspect_ratio : float, default 0, None
        Aspect ratio range (``[1 - max, 1 + max]`` when ``min_aspect_ratio`` is None).
    max_shear_ratio : float, default 0
        Random shear ``(x, y) -> (x + m y, y)``, ``m`` in ``[-v, v]``.
    max_crop_size, min_crop_size : int, default -1
        Crop a random square of a size in ``[min, max]``, resized to ``data_shape``.
    max_random_scale, min_random_scale : float, default 1
        Resize by a random factor in ``[min, max]`` (with the affine transform).
    max_random_area, min_random_area : float, default 1
        Area range of ``random_resized_crop``.
    max_img_size, min_img_size : float
        Clamp the size after the affine transform.
    brightness, contrast, saturation : float, default 0
        Colour jitter ranges (applied in a random order).
    pca_noise : float, default 0
        AlexNet's PCA lighting noise level.
    random_h, random_s, random_l : int, default 0
        Random offsets to H (0-180), S and L (0-255) in OpenCV's 8-bit HLS space.
    fill_value : int, default 255
        The fill value of padding and of the affine transform's border.
    inter_method : int, default 1
        Interpolation (0 nearest, 1 bilinear, 2 bicubic, 3 area, 4 Lanczos, 9 auto, 10 random).
    pad : int, default 0
        Pad every side by this many pixels (``fill_value``) before cropping.
    preprocess_threads, prefetch_buffer, verbose, ctx, device_id, shuffle_chunk_size,
    shuffle_chunk_seed
        Accepted for compatibility; images are decoded in the calling thread.
    """

    def __init__(self, path_imgrec=None, data_shape=None, batch_size=None, label_width=1,
                 path_imglist="", path_imgidx="", aug_seq="aug_default", shuffle=False, seed=0,
                 round_batch=True, part_index=0, num_parts=1, dtype=None, data_name="data",
                 label_name="softmax_label", seed_aug=None, mirror=False, rand_mirror=False,
                 mean_img="", mean_r=0.0, mean_g=0.0, mean_b=0.0, mean_a=0.0, std_r=1.0,
                 std_g=1.0, std_b=1.0, std_a=1.0, scale=1.0, max_random_contrast=0.0,
                 max_random_illumination=0.0, **kwargs):
        io.DataIter.__init__(self)
        cls = "ImageRecordIter"
        if not path_imgrec:
            raise MXNetValueError(f"{cls}: path_imgrec (the .rec file) is required")
        if data_shape is None or batch_size is None:
            raise MXNetValueError(f"{cls}: data_shape and batch_size are required")
        unknown = sorted(set(kwargs) - set(_AUG_PARAMS) - set(_IGNORED))
        if unknown:  # MXNet 1.9 accepts (and ignores) them too: warn rather than refuse
            warnings.warn(f"{cls}: unknown argument(s) {unknown} ignored; see "
                          f"help(ImageRecordIter) for the parameters", stacklevel=2)
        if aug_seq != "aug_default":
            raise MXNetValueError(f"{cls}: aug_seq {aug_seq!r} is not available; only "
                                  f"'aug_default' is")
        out_dtype = np.dtype("float32" if dtype is None else dtype)
        if out_dtype not in (np.float32, np.uint8, np.int8):
            raise MXNetTypeError(f"{cls}: dtype must be None, 'float32', 'uint8' or 'int8', got "
                                 f"{dtype!r}")
        self.batch_size = batch_size = _positive_int(batch_size, "batch_size", cls)
        self.label_width = _positive_int(label_width, "label_width", cls)
        num_parts = _positive_int(num_parts, "num_parts", cls)
        if not isinstance(part_index, numbers.Integral) or not 0 <= part_index < num_parts:
            raise MXNetValueError(f"{cls}: part_index must be in [0, num_parts={num_parts}), "
                                  f"got {part_index!r}")
        self.check_data_shape(data_shape)
        self.data_shape = tuple(int(d) for d in data_shape)
        aug_args = {k: v for k, v in kwargs.items() if k in _AUG_PARAMS}
        self.auglist = [DefaultImageAug(self.data_shape, **aug_args)]

        self.imglist = None
        if path_imglist:
            self.imglist, _ = read_list_file(path_imglist, np.float32, cls)
        if path_imgidx:
            self.imgrec = recordio.MXIndexedRecordIO(path_imgidx, path_imgrec, "r")
        else:
            self.imgrec = recordio.MXRecordIO(path_imgrec, "r")
        self.shuffle = bool(shuffle)
        keys = None
        if path_imgidx:
            keys = list(self.imgrec.keys)
        elif self.shuffle or num_parts > 1:
            self.imgrec = _ScannedRecordIO(self.imgrec)
            keys = list(self.imgrec.keys)
        if keys is not None and num_parts > 1:
            step = -(-len(keys) // num_parts)  # dmlc's InputSplit: ceil-sized parts
            keys = keys[part_index * step:(part_index + 1) * step]
        self._keys = keys
        self._shuffle_rng = np.random.default_rng(seed)
        self._aug_rng = None if seed_aug is None else np.random.default_rng(seed_aug)
        self.round_batch = bool(round_batch)
        self._dtype = "float32"
        self._out_dtype = out_dtype
        self.mirror, self.rand_mirror = bool(mirror), bool(rand_mirror)
        c = self.data_shape[0]
        self._mean = np.array([mean_r, mean_g, mean_b, mean_a][:c if c > 1 else 1],
                              dtype=np.float32).reshape(-1, 1, 1)
        self._std = np.array([std_r, std_g, std_b, std_a][:c if c > 1 else 1],
                             dtype=np.float32).reshape(-1, 1, 1)
        if np.any(self._std == 0):
            raise MXNetValueError(f"{cls}: std_r/g/b must not be 0")
        self.scale = float(scale)
        self.max_random_contrast = float(max_random_contrast)
        self.max_random_illumination = float(max_random_illumination)

        self.provide_data = [io.DataDesc(data_name, (batch_size,) + self.data_shape,
                                         out_dtype.type)]
        label_shape = ((batch_size, self.label_width) if self.label_width > 1
                       else (batch_size,))
        self.provide_label = [io.DataDesc(label_name, label_shape, np.float32, layout="N")]
        self._order, self._pos = None, 0
        self._overflow = self._done = False
        self._new_epoch()
        self._mean_img = self._load_mean_img(mean_img) if mean_img else None

    # -- epochs ------------------------------------------------------------------------------
    def _new_epoch(self):
        if self._keys is not None:
            order = self._shuffle_rng.permutation(len(self._keys)) if self.shuffle else None
            self._order = (self._keys if order is None
                           else [self._keys[i] for i in order])
        else:
            self.imgrec.reset()
        self._pos = 0

    def reset(self):
        """Go back to the start (after a round_batch overflow: carry on after the images the
        last batch borrowed, as MXNet does)."""
        if self.round_batch and self._overflow:
            self._overflow = False
        else:
            self._new_epoch()
        self._done = False

    def hard_reset(self):
        """Start a new epoch from the beginning, forgetting a round_batch overflow."""
        self._overflow = self._done = False
        self._new_epoch()

    def next_sample(self):
        """``(label, encoded image)`` of the next record; StopIteration at the end of the epoch."""
        if self._order is not None:
            if self._pos >= len(self._order):
                raise StopIteration
            s = self.imgrec.read_idx(self._order[self._pos])
        else:
            s = self.imgrec.read()
            if s is None:
                raise StopIteration
        self._pos += 1
        header, img = recordio.unpack(s)
        self._header_id = header.id
        return self._label_of(header), img

    def _label_of(self, header):
        if self.imglist is not None:
            if header.id not in self.imglist:
                raise MXNetValueError(f"ImageRecordIter: record id {header.id} of "
                                      f"{self.imgrec.uri!r} is not in the image list")
            label = self.imglist[header.id][0]
            if label.size != self.label_width:
                raise MXNetValueError(f"ImageRecordIter: the image list gives {label.size} "
                                      f"label(s) for id {header.id}, label_width is "
                                      f"{self.label_width}")
            return label
        if header.flag > 0:
            if np.size(header.label) != self.label_width:
                raise MXNetValueError(f"ImageRecordIter: rec file provide {np.size(header.label)}"
                                      f"-dimensional label but label_width is set to "
                                      f"{self.label_width}")
            return header.label
        if self.label_width != 1:
            raise MXNetValueError("ImageRecordIter: label_width must be 1 unless an imglist is "
                                  "provided or the rec file is packed with multi dimensional "
                                  "label")
        return np.float32(header.label)

    # -- one image ---------------------------------------------------------------------------
    def _augment(self, s):
        """Decode and augment one record's image: ``(HWC uint8 image, mirror?, contrast,
        illumination)`` with MXNet's per-image draws."""
        img = self.imdecode(s).asnumpy()
        for aug in self.auglist:
            img = aug(img)
        rng = _rng()
        mirrored = bool(self.rand_mirror and rng.random() < 0.5) or self.mirror
        contrast, illumination = 1.0, 0.0
        if self._out_dtype != np.uint8:
            contrast = (rng.random() * self.max_random_contrast * 2 - self.max_random_contrast
                        + 1) * self.scale
            illumination = (rng.random() * self.max_random_illumination * 2
                            - self.max_random_illumination) * self.scale
        return img, mirrored, contrast, illumination

    def _process(self, s):
        with _rng_scope(self._aug_rng):
            img, mirrored, contrast, illumination = self._augment(s)
        chw = np.transpose(img, (2, 0, 1)).astype(np.float32)
        if chw.shape != self.data_shape:
            raise MXNetValueError(f"ImageRecordIter: an augmented image has shape {chw.shape} "
                                  f"(CHW), expected {self.data_shape}")
        if self._out_dtype != np.uint8:
            mean = self._mean if self._mean_img is None else self._mean_img
            chw = (chw - mean) * (np.float32(contrast) / self._std) + \
                np.float32(illumination) / self._std
        if mirrored:
            chw = chw[:, :, ::-1]
        return _saturate(chw, self._out_dtype)

    def imdecode(self, s):
        try:
            return imdecode(s, flag=0 if self.data_shape[0] == 1 else 1)
        except ImageError as e:
            raise ImageError(f"Broken image: record id {getattr(self, '_header_id', '?')} of "
                             f"{self.imgrec.uri!r}: {e}") from None

    # -- batches -----------------------------------------------------------------------------
    def _read_into(self, data, label, i):
        lab, s = self.next_sample()
        data[i] = self._process(s)
        label[i] = lab if self.label_width > 1 else np.asarray(lab).reshape(-1)[0]

    def next(self):
        """Returns the next batch of data."""
        if self._overflow or self._done:
            raise StopIteration
        bs = self.batch_size
        data = np.zeros((bs,) + self.data_shape, dtype=self._out_dtype)
        label = np.zeros(self.provide_label[0].shape, dtype=np.float32)
        i, pad = 0, 0
        while i < bs:
            try:
                self._read_into(data, label, i)
                i += 1
            except StopIteration:
                if i == 0:
                    self._done = True
                    raise
                pad = bs - i
                if not self.round_batch:
                    self._done = True
                    break
                self._overflow = True
                i = self._wrap_fill(data, label, i)
        return io.DataBatch([_wrap_host(data)], [_wrap_host(label)], pad=pad)

    def _wrap_fill(self, data, label, i):
        """Fill the rest of the batch from the next epoch (round_batch)."""
        while i < self.batch_size:
            self._new_epoch()
            filled = i
            try:
                while i < self.batch_size:
                    self._read_into(data, label, i)
                    i += 1
            except StopIteration:
                if i == filled:
                    raise MXNetValueError("ImageRecordIter: the data holds no images to fill "
                                          "the last batch") from None
        return i

    def _load_mean_img(self, path):
        cls = "ImageRecordIter"
        if os.path.exists(path):
            loaded = nd.load(path)
            arrays = list(loaded.values()) if isinstance(loaded, dict) else list(loaded)
            if len(arrays) != 1 or arrays[0].shape != self.data_shape:
                raise MXNetValueError(f"{cls}: Invalid mean image file format: {path!r} must "
                                      f"hold one array of shape {self.data_shape}")
            return arrays[0].asnumpy().astype(np.float32)
        # MXNet computes the mean of the (augmented) images once and saves it
        total, count = np.zeros(self.data_shape, dtype=np.float64), 0
        # the pass must not consume the seeded augmentation stream (seed_aug reproducibility)
        rng = self._aug_rng
        rng_state = None if rng is None else rng.bit_generator.state
        self._new_epoch()
        while True:
            try:
                _, s = self.next_sample()
            except StopIteration:
                break
            with _rng_scope(self._aug_rng):
                img = self._augment(s)[0]
            total += np.transpose(img, (2, 0, 1))
            count += 1
        if count == 0:
            raise MXNetValueError(f"{cls}: cannot compute the mean image of an empty file")
        mean = (total / count).astype(np.float32)
        try:
            nd.save(path, {"mean_img": nd.array(mean)})
        except OSError as e:
            raise MXNetFileError(f"{cls}: cannot save the mean image to {path!r}: {e}") from None
        if rng is not None:
            rng.bit_generator.state = rng_state
        self._new_epoch()
        return mean
