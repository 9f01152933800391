"""``mx.image``'s object-detection pieces: augmenters that move the boxes with the image
(``DetAugmenter`` and subclasses, ``CreateDetAugmenter``) and ``ImageDetIter``.

A detection label is a NumPy array of objects, one row each: ``[class_id, xmin, ymin, xmax,
ymax, ...]`` with coordinates as fractions of the image size. In a record or list file the
label is flat: ``[header_width, object_width, (header extras...), objects...]``.
"""

from __future__ import annotations

import json
import logging
import numbers
import warnings
from math import sqrt

import numpy as np

from .. import io
from ..base import MXNetTypeError, MXNetValueError
from ..ndarray import NDArray
from .augmenters import (
    _EIGVAL,
    _EIGVEC,
    _MEAN_RGB,
    _STD_RGB,
    Augmenter,
    CastAug,
    ColorJitterAug,
    ColorNormalizeAug,
    ForceResizeAug,
    HueJitterAug,
    LightingAug,
    RandomGrayAug,
    ResizeAug,
    _check_data_shape,
    _mean_std,
    _plain,
)
from .image import ImageError, _back, _host, _rng, copyMakeBorder, fixed_crop
from .iterator import ImageIter

__all__ = ["DetAugmenter", "DetBorrowAug", "DetRandomSelectAug", "DetHorizontalFlipAug",
           "DetRandomCropAug", "DetRandomPadAug", "CreateMultiRandCropAugmenter",
           "CreateDetAugmenter", "ImageDetIter"]


class DetAugmenter:
    """Detection base augmenter: ``__call__(src, label) -> (src, label)``."""

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

    def __call__(self, src, label):
        """Abstract implementation body"""
        raise NotImplementedError("Must override implementation.")


class DetBorrowAug(DetAugmenter):
    """Borrow a standard augmenter that does not move the boxes (resize, colour, ...).

    Parameters
    ----------
    augmenter : mx.image.Augmenter
        The borrowed standard augmenter which has no effect on label.
    """

    def __init__(self, augmenter):
        if not isinstance(augmenter, Augmenter):
            raise MXNetTypeError(f"DetBorrowAug: Borrowing from invalid Augmenter "
                                 f"{type(augmenter).__name__}")
        super().__init__(augmenter=augmenter.dumps())
        self.augmenter = augmenter

    def dumps(self):
        """``[name, dumps of the borrowed augmenter]``."""
        return [self.__class__.__name__.lower(), self.augmenter.dumps()]

    def __call__(self, src, label):
        return self.augmenter(src), label


class DetRandomSelectAug(DetAugmenter):
    """Apply one augmenter chosen at random, or none with probability ``skip_prob``.

    Parameters
    ----------
    aug_list : list of DetAugmenter
        The augmenters to choose from.
    skip_prob : float
        The probability to skip all augmenters and return input directly.
    """

    def __init__(self, aug_list, skip_prob=0):
        super().__init__(skip_prob=skip_prob)
        if not isinstance(aug_list, (list, tuple)):
            aug_list = [aug_list]
        for aug in aug_list:
            if not isinstance(aug, DetAugmenter):
                raise MXNetValueError(f"DetRandomSelectAug: Allow DetAugmenter in list only, "
                                      f"got {type(aug).__name__}")
        if not aug_list:
            skip_prob = 1  # disabled
        self.aug_list = list(aug_list)
        self.skip_prob = skip_prob

    def dumps(self):
        """``[name, [dumps of each augmenter]]``."""
        return [self.__class__.__name__.lower(), [x.dumps() for x in self.aug_list]]

    def __call__(self, src, label):
        rng = _rng()
        if rng.random() < self.skip_prob:
            return src, label
        return self.aug_list[int(rng.integers(0, len(self.aug_list)))](src, label)


class DetHorizontalFlipAug(DetAugmenter):
    """Flip the image and its boxes left to right with probability ``p``.

    Parameters
    ----------
    p : float
        chance [0, 1] to flip
    """

    def __init__(self, p):
        super().__init__(p=p)
        self.p = p

    def __call__(self, src, label):
        if _rng().random() < self.p:
            a, ctx = _host(src, "DetHorizontalFlipAug")
            src = _back(a[:, ::-1], ctx)
            label = np.array(label, dtype=np.float32, copy=True)
            xmin = 1.0 - label[:, 3]
            label[:, 3] = 1.0 - label[:, 1]
            label[:, 1] = xmin
        return src, label


def _as_range(v, name, fname):
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise MXNetValueError(f"{fname}: {name} must be a (min, max) pair, got {v!r}")
        return tuple(v)
    if not isinstance(v, numbers.Real):
        raise MXNetTypeError(f"{fname}: {name} must be a number or a (min, max) pair, got "
                             f"{type(v).__name__}")
    logging.info("Using fixed %s: %s in %s", name, v, fname)
    return (v, v)


def _areas(boxes):
    """Areas of ``[xmin, ymin, xmax, ymax]`` rows (0 for empty boxes)."""
    return (np.maximum(0, boxes[:, 3] - boxes[:, 1]) * np.maximum(0, boxes[:, 2] - boxes[:, 0]))


class DetRandomCropAug(DetAugmenter):
    """Random cropping with constraints on the objects (SSD's crop).

    Parameters
    ----------
    min_object_covered : float, default=0.1
        The cropped area of the image must contain at least this fraction of any bounding box
        supplied (0: no need to overlap any box).
    aspect_ratio_range : tuple of floats, default=(0.75, 1.33)
        The cropped area of the image must have an aspect ratio = width / height within this
        range.
    area_range : tuple of floats, default=(0.05, 1.0)
        The cropped area of the image must contain a fraction of the supplied image within in
        this range.
    min_eject_coverage : float, default=0.3
        The minimum coverage of cropped sample w.r.t its original size. With this constraint,
        objects that have marginal area after crop will be discarded.
    max_attempts : int, default=50
        Number of attempts at generating a cropped region of the image of the specified
        constraints. After max_attempts failures, return the original image.
    """

    def __init__(self, min_object_covered=0.1, aspect_ratio_range=(0.75, 1.33),
                 area_range=(0.05, 1.0), min_eject_coverage=0.3, max_attempts=50):
        aspect_ratio_range = _as_range(aspect_ratio_range, "aspect_ratio_range",
                                       "DetRandomCropAug")
        area_range = _as_range(area_range, "area_range", "DetRandomCropAug")
        super().__init__(min_object_covered=min_object_covered,
                         aspect_ratio_range=aspect_ratio_range, area_range=area_range,
                         min_eject_coverage=min_eject_coverage, max_attempts=max_attempts)
        self.min_object_covered = min_object_covered
        self.min_eject_coverage = min_eject_coverage
        self.max_attempts = max_attempts
        self.aspect_ratio_range = aspect_ratio_range
        self.area_range = area_range
        self.enabled = False
        if area_range[1] <= 0 or area_range[0] > area_range[1]:
            warnings.warn(f"Skip DetRandomCropAug due to invalid area_range: {area_range}")
        elif aspect_ratio_range[0] > aspect_ratio_range[1] or aspect_ratio_range[0] <= 0:
            warnings.warn(f"Skip DetRandomCropAug due to invalid aspect_ratio_range: "
                          f"{aspect_ratio_range}")
        else:
            self.enabled = True

    def __call__(self, src, label):
        crop = self._random_crop_proposal(label, src.shape[0], src.shape[1])
        if crop:
            x, y, w, h, label = crop
            src = fixed_crop(src, x, y, w, h, None)
        return src, label

    @staticmethod
    def _intersect(boxes, xmin, ymin, xmax, ymax):
        """The boxes clipped to the window (rows that miss it become zeros)."""
        out = boxes.copy()
        out[:, 0] = np.maximum(boxes[:, 0], xmin)
        out[:, 1] = np.maximum(boxes[:, 1], ymin)
        out[:, 2] = np.minimum(boxes[:, 2], xmax)
        out[:, 3] = np.minimum(boxes[:, 3], ymax)
        out[(out[:, 0] >= out[:, 2]) | (out[:, 1] >= out[:, 3])] = 0
        return out

    def _check_satisfy_constraints(self, label, xmin, ymin, xmax, ymax, width, height):
        if (xmax - xmin) * (ymax - ymin) < 2:
            return False  # only 1 pixel
        x1, y1 = float(xmin) / width, float(ymin) / height
        x2, y2 = float(xmax) / width, float(ymax) / height
        object_areas = _areas(label[:, 1:])
        valid = np.where(object_areas * width * height > 2)[0]
        if valid.size < 1:
            return False
        inter = self._intersect(label[valid, 1:], x1, y1, x2, y2)
        coverages = _areas(inter) / object_areas[valid]
        coverages = coverages[coverages > 0]
        return coverages.size > 0 and np.amin(coverages) > self.min_object_covered

    def _update_labels(self, label, crop_box, height, width):
        xmin, ymin = float(crop_box[0]) / width, float(crop_box[1]) / height
        w, h = float(crop_box[2]) / width, float(crop_box[3]) / height
        out = label.copy()
        out[:, (1, 3)] = (out[:, (1, 3)] - xmin) / w
        out[:, (2, 4)] = (out[:, (2, 4)] - ymin) / h
        out[:, 1:5] = np.clip(out[:, 1:5], 0, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            coverage = _areas(out[:, 1:]) * w * h / _areas(label[:, 1:])
        valid = (out[:, 3] > out[:, 1]) & (out[:, 4] > out[:, 2])
        valid &= coverage > self.min_eject_coverage
        if not valid.any():
            return None
        return out[valid]

    def _random_crop_proposal(self, label, height, width):
        if not self.enabled or height <= 0 or width <= 0:
            return ()
        rng = _rng()
        min_area = self.area_range[0] * height * width
        max_area = self.area_range[1] * height * width
        for _ in range(self.max_attempts):
            ratio = rng.uniform(*self.aspect_ratio_range)
            if ratio <= 0:
                continue
            h = int(round(sqrt(min_area / ratio)))
            max_h = int(round(sqrt(max_area / ratio)))
            if round(max_h * ratio) > width:
                # the smallest max_h with round(max_h * ratio) <= width
                max_h = int((width + 0.4999999) / ratio)
            max_h = min(max_h, height)
            h = min(h, max_h)
            if h < max_h:
                h = int(rng.integers(h, max_h + 1))
            w = int(round(h * ratio))
            area = w * h  # fix rounding problems
            if area < min_area:
                h += 1
                w = int(round(h * ratio))
                area = w * h
            if area > max_area:
                h -= 1
                w = int(round(h * ratio))
                area = w * h
            if not (min_area <= area <= max_area and 0 <= w <= width and 0 <= h <= height):
                continue
            y = int(rng.integers(0, max(0, height - h) + 1))
            x = int(rng.integers(0, max(0, width - w) + 1))
            if self._check_satisfy_constraints(label, x, y, x + w, y + h, width, height):
                new_label = self._update_labels(label, (x, y, w, h), height, width)
                if new_label is not None:
                    return x, y, w, h, new_label
        return ()


class DetRandomPadAug(DetAugmenter):
    """Random padding (zoom out) that keeps the boxes on their objects.

    Parameters
    ----------
    aspect_ratio_range : tuple of floats, default=(0.75, 1.33)
        The padded area of the image must have an aspect ratio = width / height within this
        range.
    area_range : tuple of floats, default=(1.0, 3.0)
        The padded area of the image must be larger than the original area.
    max_attempts : int, default=50
        Number of attempts at generating a padded region of the image of the specified
        constraints. After max_attempts failures, return the original image.
    pad_val: float or tuple of float, default=(128, 128, 128)
        pixel value to be filled when padding is enabled.
    """

    def __init__(self, aspect_ratio_range=(0.75, 1.33), area_range=(1.0, 3.0),
                 max_attempts=50, pad_val=(128, 128, 128)):
        if not isinstance(pad_val, (list, tuple)):
            if not isinstance(pad_val, numbers.Real):
                raise MXNetTypeError(f"DetRandomPadAug: pad_val must be a number or a tuple, "
                                     f"got {type(pad_val).__name__}")
            pad_val = (pad_val,) * 3
        aspect_ratio_range = _as_range(aspect_ratio_range, "aspect_ratio_range",
                                       "DetRandomPadAug")
        area_range = _as_range(area_range, "area_range", "DetRandomPadAug")
        super().__init__(aspect_ratio_range=aspect_ratio_range, area_range=area_range,
                         max_attempts=max_attempts, pad_val=pad_val)
        self.pad_val = tuple(pad_val)
        self.aspect_ratio_range = aspect_ratio_range
        self.area_range = area_range
        self.max_attempts = max_attempts
        self.enabled = False
        if area_range[1] <= 1.0 or area_range[0] > area_range[1]:
            warnings.warn(f"Skip DetRandomPadAug due to invalid parameters: {area_range}")
        elif aspect_ratio_range[0] <= 0 or aspect_ratio_range[0] > aspect_ratio_range[1]:
            warnings.warn(f"Skip DetRandomPadAug due to invalid aspect_ratio_range: "
                          f"{aspect_ratio_range}")
        else:
            self.enabled = True

    def __call__(self, src, label):
        height, width = src.shape[0], src.shape[1]
        pad = self._random_pad_proposal(label, height, width)
        if pad:
            x, y, w, h, label = pad
            src = copyMakeBorder(src, y, h - y - height, x, w - x - width, 16,
                                 values=self.pad_val)
        return src, label

    @staticmethod
    def _update_labels(label, pad_box, height, width):
        out = label.copy()
        out[:, (1, 3)] = (out[:, (1, 3)] * width + pad_box[0]) / pad_box[2]
        out[:, (2, 4)] = (out[:, (2, 4)] * height + pad_box[1]) / pad_box[3]
        return out

    def _random_pad_proposal(self, label, height, width):
        if not self.enabled or height <= 0 or width <= 0:
            return ()
        rng = _rng()
        min_area = self.area_range[0] * height * width
        max_area = self.area_range[1] * height * width
        for _ in range(self.max_attempts):
            ratio = rng.uniform(*self.aspect_ratio_range)
            if ratio <= 0:
                continue
            h = int(round(sqrt(min_area / ratio)))
            max_h = int(round(sqrt(max_area / ratio)))
            if round(h * ratio) < width:
                h = int((width + 0.499999) / ratio)
            h = max(h, height)
            h = min(h, max_h)
            if h < max_h:
                h = int(rng.integers(h, max_h + 1))
            w = int(round(h * ratio))
            if (h - height) < 2 or (w - width) < 2:
                continue  # marginal padding is not helpful
            y = int(rng.integers(0, max(0, h - height) + 1))
            x = int(rng.integers(0, max(0, w - width) + 1))
            return x, y, w, h, self._update_labels(label, (x, y, w, h), height, width)
        return ()


def CreateMultiRandCropAugmenter(min_object_covered=0.1, aspect_ratio_range=(0.75, 1.33),
                                 area_range=(0.05, 1.0), min_eject_coverage=0.3,
                                 max_attempts=50, skip_prob=0):
    """Several ``DetRandomCropAug``s (one per value of a list-valued parameter; scalars are
    shared), wrapped in a ``DetRandomSelectAug`` that picks one per image.

    >>> aug = mx.image.CreateMultiRandCropAugmenter(min_object_covered=[0.1, 0.3, 0.5],
    ...     area_range=[(0.1, 1.0), (0.2, 1.0), (0.3, 1.0)])
    """
    params = [min_object_covered, aspect_ratio_range, area_range, min_eject_coverage,
              max_attempts]
    params = [p if isinstance(p, list) else [p] for p in params]
    num = max(len(p) for p in params)
    for name, p in zip(("min_object_covered", "aspect_ratio_range", "area_range",
                        "min_eject_coverage", "max_attempts"), params):
        if len(p) not in (1, num):
            raise MXNetValueError(f"CreateMultiRandCropAugmenter: {name} has {len(p)} values, "
                                  f"others have {num}")
    params = [p * num if len(p) == 1 else p for p in params]
    augs = [DetRandomCropAug(min_object_covered=moc, aspect_ratio_range=arr, area_range=ar,
                             min_eject_coverage=mec, max_attempts=ma)
            for moc, arr, ar, mec, ma in zip(*params)]
    return DetRandomSelectAug(augs, skip_prob=skip_prob)


def CreateDetAugmenter(data_shape, resize=0, rand_crop=0, rand_pad=0, rand_gray=0,
                       rand_mirror=False, mean=None, std=None, brightness=0, contrast=0,
                       saturation=0, pca_noise=0, hue=0, inter_method=2, min_object_covered=0.1,
                       aspect_ratio_range=(0.75, 1.33), area_range=(0.05, 3.0),
                       min_eject_coverage=0.3, max_attempts=50, pad_val=(127, 127, 127)):
    """Create augmenters for detection.

    Parameters
    ----------
    data_shape : tuple of int
        Shape for output data (C, H, W); images are force-resized to it.
    resize : int
        Resize shorter edge if larger than 0 at the begining.
    rand_crop : float
        [0, 1], probability to apply random cropping.
    rand_pad : float
        [0, 1], probability to apply random padding.
    rand_gray : float
        [0, 1], probability to convert to grayscale for all channels.
    rand_mirror : bool
        Whether to apply horizontal flip to image with probability 0.5.
    mean, std : np.ndarray, True or None
        Mean pixel values / standard deviations for [r, g, b] (True: ImageNet's).
    brightness, contrast, saturation, hue : float
        Jittering ranges (percent).
    pca_noise : float
        Pca noise level (percent).
    inter_method : int, default 2
        Interpolation method for all resizing operations (OpenCV codes).
    min_object_covered, aspect_ratio_range, area_range, min_eject_coverage, max_attempts
        Random crop constraints (see ``DetRandomCropAug``; lists give several crop
        augmenters); the pad augmenter uses ``aspect_ratio_range``, ``(1, area_range[1])``
        and ``max_attempts``.
    pad_val : float or tuple
        Pixel value to be filled when padding is enabled.
    """
    data_shape = _check_data_shape(data_shape, "CreateDetAugmenter")
    auglist = []
    if resize > 0:
        auglist.append(DetBorrowAug(ResizeAug(resize, inter_method)))
    if rand_crop > 0:
        auglist.append(CreateMultiRandCropAugmenter(min_object_covered, aspect_ratio_range,
                                                    area_range, min_eject_coverage,
                                                    max_attempts, skip_prob=(1 - rand_crop)))
    if rand_mirror > 0:
        auglist.append(DetHorizontalFlipAug(0.5))
    # apply random padding as late as possible to save computation
    if rand_pad > 0:
        pad_aug = DetRandomPadAug(aspect_ratio_range, (1.0, area_range[1]), max_attempts,
                                  pad_val)
        auglist.append(DetRandomSelectAug([pad_aug], 1 - rand_pad))
    auglist.append(DetBorrowAug(ForceResizeAug((data_shape[2], data_shape[1]), inter_method)))
    auglist.append(DetBorrowAug(CastAug()))
    if brightness or contrast or saturation:
        auglist.append(DetBorrowAug(ColorJitterAug(brightness, contrast, saturation)))
    if hue:
        auglist.append(DetBorrowAug(HueJitterAug(hue)))
    if pca_noise > 0:
        auglist.append(DetBorrowAug(LightingAug(pca_noise, _EIGVAL, _EIGVEC)))
    if rand_gray > 0:
        auglist.append(DetBorrowAug(RandomGrayAug(rand_gray)))
    mean = _mean_std(mean, _MEAN_RGB, "mean")
    std = _mean_std(std, _STD_RGB, "std")
    if mean is not None or std is not None:
        auglist.append(DetBorrowAug(ColorNormalizeAug(mean, std)))
    return auglist


class ImageDetIter(ImageIter):
    """Image iterator with a large number of augmentation choices for detection.

    Labels come out as ``(batch_size, max objects, object width)`` arrays, rows past an
    image's objects filled with -1; the object count is the largest in the data (read once at
    construction).

    Parameters
    ----------
    batch_size : int
        Number of examples per batch.
    data_shape : tuple
        Data shape in (channels, height, width) format.
    path_imgrec, path_imglist, path_root, path_imgidx, imglist, shuffle, part_index,
    num_parts, data_name, last_batch_handle
        As for ``ImageIter``.
    aug_list : list or None
        Detection augmenters, ``(src, label) -> (src, label)`` (default:
        ``CreateDetAugmenter(data_shape, **kwargs)``).
    label_name : str
        Name for detection labels.
    kwargs : ...
        More arguments for creating augmenter. See mx.image.CreateDetAugmenter.
    """

    def __init__(self, batch_size, data_shape, path_imgrec=None, path_imglist=None,
                 path_root=None, path_imgidx=None, shuffle=False, part_index=0, num_parts=1,
                 aug_list=None, imglist=None, data_name="data", label_name="label",
                 last_batch_handle="pad", **kwargs):
        super().__init__(batch_size=batch_size, data_shape=data_shape, path_imgrec=path_imgrec,
                         path_imglist=path_imglist, path_root=path_root,
                         path_imgidx=path_imgidx, shuffle=shuffle, part_index=part_index,
                         num_parts=num_parts, aug_list=[], imglist=imglist,
                         data_name=data_name, label_name=label_name,
                         last_batch_handle=last_batch_handle)
        self.auglist = (CreateDetAugmenter(self.data_shape, **kwargs) if aug_list is None
                        else aug_list)
        label_shape = self._estimate_label_shape()
        self.provide_label = [_desc(label_name, (self.batch_size,) + label_shape)]
        self.label_shape = label_shape

    def _check_valid_label(self, label):
        """Validate label and its shape."""
        if len(label.shape) != 2 or label.shape[1] < 5:
            raise ImageError(f"Label with shape (1+, 5+) required, {label.shape} received.")
        valid = (label[:, 0] >= 0) & (label[:, 3] > label[:, 1]) & (label[:, 4] > label[:, 2])
        if not valid.any():
            raise ImageError("Invalid label occurs.")

    def _estimate_label_shape(self):
        """The largest object count and the object width over the whole data."""
        max_count, width = 0, None
        self.reset()
        try:
            while True:
                label, _ = self.next_sample()
                label = self._parse_label(label)
                max_count = max(max_count, label.shape[0])
                width = label.shape[1]
        except StopIteration:
            pass
        self.reset()
        if width is None:
            raise MXNetValueError("ImageDetIter: the data holds no images")
        return (max_count, width)

    def _parse_label(self, label):
        """Helper function to parse object detection label.

        Format for raw label:
        n \\t k \\t ... \\t [id \\t xmin\\t ymin \\t xmax \\t ymax \\t ...] \\t [repeat]
        where n is the width of header, 2 or larger
        k is the width of each object annotation, can be arbitrary, at least 5
        """
        raw = (label.asnumpy() if isinstance(label, NDArray) else np.asarray(label)).ravel()
        if raw.size < 7:
            raise ImageError(f"Label shape is invalid: {raw.shape}")
        header_width, obj_width = int(raw[0]), int(raw[1])
        if header_width < 2 or obj_width < 5 or (raw.size - header_width) % obj_width != 0:
            raise ImageError(f"Label shape {raw.shape} inconsistent with header width "
                             f"{header_width} and annotation width {obj_width}.")
        out = np.reshape(raw[header_width:], (-1, obj_width)).astype(np.float32)
        valid = (out[:, 3] > out[:, 1]) & (out[:, 4] > out[:, 2])  # drop bad ground truths
        if not valid.any():
            raise ImageError("Encounter sample with no valid label.")
        return out[valid]

    def reshape(self, data_shape=None, label_shape=None):
        """Reshape iterator for data_shape or label_shape (None: keep it)."""
        if data_shape is not None:
            self.check_data_shape(data_shape)
            data_shape = tuple(data_shape)
            self.provide_data = [_desc(self.provide_data[0][0],
                                       (self.batch_size,) + data_shape)]
            self.data_shape = data_shape
        if label_shape is not None:
            self.check_label_shape(label_shape)
            label_shape = tuple(label_shape)
            self.provide_label = [_desc(self.provide_label[0][0],
                                        (self.batch_size,) + label_shape)]
            self.label_shape = label_shape

    def check_label_shape(self, label_shape):
        """Checks if the new label shape is valid"""
        if not len(label_shape) == 2:
            raise MXNetValueError("ImageDetIter: label_shape should have length 2")
        if label_shape[0] < self.label_shape[0]:
            raise MXNetValueError(f"ImageDetIter: Attempts to reduce label count from "
                                  f"{self.label_shape[0]} to {label_shape[0]}, not allowed.")
        if label_shape[1] != self.provide_label[0][1][2]:
            raise MXNetValueError(f"ImageDetIter: label_shape object width inconsistent: "
                                  f"{self.provide_label[0][1][2]} vs {label_shape[1]}.")

    def _new_batch(self):
        data, _ = super()._new_batch()
        return data, np.full(self.provide_label[0][1], -1, dtype=np.float32)

    def _batchify(self, batch_data, batch_label, start=0):
        """Fill batch slots from ``start``; samples whose labels turn invalid are skipped."""
        i = start
        try:
            while i < self.batch_size:
                label, s = self.next_sample()
                data = self.imdecode(s)
                try:
                    self.check_valid_image(data)
                    label = self._parse_label(label)
                    data, label = self.augmentation_transform(data, label)
                    label = np.asarray(label, dtype=np.float32)
                    self._check_valid_label(label)
                except RuntimeError as e:
                    logging.debug("Invalid image, skipping:  %s", str(e))
                    continue
                self._store_data(batch_data, i, self.postprocess_data(data))
                n = label.shape[0]
                if n > batch_label.shape[1] or label.shape[1] != batch_label.shape[2]:
                    raise MXNetValueError(f"ImageDetIter: a label of shape {label.shape} does "
                                          f"not fit the label shape {batch_label.shape[1:]}")
                batch_label[i, :n] = label
                batch_label[i, n:] = -1
                i += 1
        except StopIteration:
            if not i:
                raise StopIteration from None
        return i

    def augmentation_transform(self, data, label):
        """Override Transforms input data with specified augmentations."""
        for aug in self.auglist:
            data, label = aug(data, label)
        return data, label

    def sync_label_shape(self, it, verbose=False):
        """Give this iterator and ``it`` the same (larger) label shape, e.g. for train and
        validation iterators with different object counts; returns ``it``."""
        if not isinstance(it, ImageDetIter):
            raise MXNetTypeError("ImageDetIter.sync_label_shape: Synchronize with invalid "
                                 "iterator.")
        if self.label_shape[1] != it.label_shape[1]:
            raise MXNetValueError(f"ImageDetIter.sync_label_shape: object width mismatch: "
                                  f"{self.label_shape[1]} vs {it.label_shape[1]}")
        max_count = max(self.label_shape[0], it.label_shape[0])
        if max_count > self.label_shape[0]:
            self.reshape(None, (max_count, self.label_shape[1]))
        if max_count > it.label_shape[0]:
            it.reshape(None, (max_count, it.label_shape[1]))
        if verbose:
            logging.info("Resized label_shape to (%d, %d).", max_count, self.label_shape[1])
        return it

    def draw_next(self, color=None, thickness=2, mean=None, std=None, clip=True,
                  waitKey=None, window_name="draw_next", id2labels=None):
        """Yield the next augmented images (uint8 RGB NumPy arrays) with their boxes drawn.

        ``mean`` / ``std`` (True: ImageNet's) undo a ``ColorNormalizeAug``. Nothing is shown
        on screen: ``waitKey``, ``window_name`` and ``id2labels`` (OpenCV windows and text)
        are not supported here.
        """
        if waitKey is not None or id2labels is not None:
            raise MXNetValueError("ImageDetIter.draw_next: waitKey and id2labels need OpenCV "
                                  "windows, which mx.image does not use; display the yielded "
                                  "images instead")
        mean = _mean_std(mean, _MEAN_RGB, "mean")
        std = _mean_std(std, _STD_RGB, "std")
        while True:
            try:
                label, s = self.next_sample()
            except StopIteration:
                return
            data = self.imdecode(s)
            try:
                self.check_valid_image(data)
                label = self._parse_label(label)
            except RuntimeError as e:
                logging.debug("Invalid image, skipping:  %s", str(e))
                continue
            data, label = self.augmentation_transform(data, label)
            image = _host(data, "draw_next")[0].astype(np.float64)
            if std is not None:
                image = image * std
            if mean is not None:
                image = image + mean
            if clip:
                image = np.clip(image, 0, 255)
            image = image.astype(np.uint8)
            height, width = image.shape[:2]
            for row in np.asarray(label):
                if row[1] < 0:
                    continue
                box = (int(row[1] * width), int(row[2] * height), int(row[3] * width),
                       int(row[4] * height))
                rgb = color if color else _rng().integers(0, 256, size=3)
                _rectangle(image, box, rgb, thickness)
            yield image


def _rectangle(image, box, color, thickness):
    """Draw a box outline ``(x1, y1, x2, y2)`` into an HWC uint8 image, in place."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    t = max(1, int(thickness))
    for ys, xs in ((slice(y1, y1 + t), slice(x1, x2 + 1)), (slice(y2 - t + 1, y2 + 1),
                   slice(x1, x2 + 1)), (slice(y1, y2 + 1), slice(x1, x1 + t)),
                   (slice(y1, y2 + 1), slice(x2 - t + 1, x2 + 1))):
        ys = slice(max(0, ys.start), min(h, ys.stop))
        xs = slice(max(0, xs.start), min(w, xs.stop))
        image[ys, xs] = np.asarray(color)[:image.shape[2]]


def _desc(name, shape):
    return io.DataDesc(name, shape)
