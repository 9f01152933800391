"""``mx.image.ImageIter``: batches of augmented images from a RecordIO file, an image list
(``.lst``) or a Python list, as an ``mx.io.DataIter`` of NCHW float32 batches."""

from __future__ import annotations

import logging
import numbers
import os

import numpy as np

from .. import io, recordio
from ..base import MXNetFileError, MXNetTypeError, MXNetValueError
from ..ndarray import NDArray, _wrap_host
from .augmenters import CreateAugmenter, _check_data_shape
from .image import ImageError, _rng, imdecode

__all__ = ["ImageIter"]

_LAST_BATCH = ("pad", "discard", "roll_over")
_LABEL_DTYPES = ("int32", "float32", "int64", "float64")


def _positive_int(v, name, fname):
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
        raise MXNetValueError(f"{fname}: {name} must be a positive int, got {v!r}")
    return int(v)


def read_list_file(path, dtype, fname):
    """``({key: (label array, relative path)}, [keys in file order])`` from a ``.lst`` file
    (``index<TAB>label(s)<TAB>path`` per line)."""
    try:
        with open(path) as fin:
            lines = fin.read().splitlines()
    except OSError as e:
        raise MXNetFileError(f"{fname}: cannot read the image list {os.fspath(path)!r}: "
                             f"{e.strerror or e}") from None
    imglist, keys = {}, []
    for lineno, line in enumerate(lines, 1):
        fields = line.strip().split("\t")
        if fields == [""]:
            continue
        try:
            if len(fields) < 3:
                raise ValueError("too few fields")
            key = int(fields[0])
            label = np.asarray([float(x) for x in fields[1:-1]], dtype=dtype)
        except ValueError:
            raise MXNetValueError(f"{fname}: {os.fspath(path)!r} line {lineno}: Expect: "
                                  f"index<TAB>label(s)<TAB>path with numbers for index and "
                                  f"labels / Actual: {line!r}") from None
        if key in imglist:
            raise MXNetValueError(f"{fname}: {os.fspath(path)!r} line {lineno}: index {key} "
                                  f"appears twice")
        imglist[key] = (label, fields[-1])
        keys.append(key)
    return imglist, keys


class ImageIter(io.DataIter):
    """Image data iterator with a large number of augmentation choices.

    This iterator supports reading from both .rec files and raw image files.

    To load input images from .rec files, use `path_imgrec` parameter and to load from raw image
    files, use `path_imglist` and `path_root` parameters (or `imglist`). To use data partition
    (for distributed training) or shuffling of a .rec file, specify `path_imgidx` too.

    Parameters
    ----------
    batch_size : int
        Number of examples per batch.
    data_shape : tuple
        Data shape in (channels, height, width) format: 3 channels (RGB), or 1 (images are
        decoded to gray).
    label_width : int, optional
        Number of labels per example. The default label width is 1.
    path_imgrec : str
        Path to image record file (.rec), created with im2rec.py or ``mx.recordio.pack_img``.
    path_imglist : str
        Path to image list (.lst). Tab separated: index, one or more labels, path relative to
        ``path_root``. With ``path_imgrec`` and ``path_imgidx`` it supplies the labels.
    path_root : str
        Root folder of image files (None: the current directory).
    path_imgidx : str
        Path to image index file. Needed for partition and shuffling when using .rec source.
    shuffle : bool
        Whether to shuffle all images at the start of each iteration or not.
    part_index : int
        Partition index.
    num_parts : int
        Total number of partitions: each part gets ``N // num_parts`` images.
    aug_list : list of callables, optional
        Augmenters applied to every decoded image, in order (default: ``CreateAugmenter(
        data_shape, **kwargs)``).
    imglist : list
        A list of images with the label(s): each item is ``[label(s)..., imgpath]``.
    data_name : str
        Data name for provided symbols.
    label_name : str
        Label name for provided symbols.
    dtype : str
        Label data type: float32 (default), int32, int64 or float64.
    last_batch_handle : str, optional
        How to handle the last batch: 'pad' (default; fill it with images from the start and
        report how many in ``pad``), 'discard' (drop it) or 'roll_over' (keep its images for
        the first batch of the next epoch).
    kwargs : ...
        More arguments for creating augmenter. See mx.image.CreateAugmenter.

    Notes
    -----
    Shuffling draws from ``mx.random`` (``mx.random.seed`` reproduces the order), where MXNet
    uses Python's ``random``. Images are decoded in the calling thread.
    """

    def __init__(self, batch_size, data_shape, label_width=1,
                 path_imgrec=None, path_imglist=None, path_root=None, path_imgidx=None,
                 shuffle=False, part_index=0, num_parts=1, aug_list=None, imglist=None,
                 data_name="data", label_name="softmax_label", dtype="float32",
                 last_batch_handle="pad", **kwargs):
        super().__init__()
        cls = type(self).__name__
        if not (path_imgrec or path_imglist or isinstance(imglist, list)):
            raise MXNetValueError(f"{cls}: give path_imgrec, path_imglist or imglist (a list) "
                                  f"as the source of images")
        if dtype not in _LABEL_DTYPES:
            raise MXNetTypeError(f"{cls}: label dtype {dtype!r} is not supported; use one of "
                                 f"{', '.join(_LABEL_DTYPES)}")
        if last_batch_handle not in _LAST_BATCH:
            raise MXNetValueError(f"{cls}: last_batch_handle must be one of {_LAST_BATCH}, got "
                                  f"{last_batch_handle!r}")
        batch_size = _positive_int(batch_size, "batch_size", cls)
        label_width = _positive_int(label_width, "label_width", cls)
        num_parts = _positive_int(num_parts, "num_parts", cls)
        if (isinstance(part_index, bool) or not isinstance(part_index, numbers.Integral)
                or not 0 <= part_index < num_parts):
            raise MXNetValueError(f"{cls}: part_index must be in [0, num_parts={num_parts}), "
                                  f"got {part_index!r}")
        self.check_data_shape(data_shape)
        data_shape = tuple(int(d) for d in data_shape)

        self.imgidx = None
        if path_imgrec:
            if path_imgidx:
                self.imgrec = recordio.MXIndexedRecordIO(path_imgidx, path_imgrec, "r")
                self.imgidx = list(self.imgrec.keys)
            else:
                self.imgrec = recordio.MXRecordIO(path_imgrec, "r")
        else:
            self.imgrec = None

        imgkeys = None
        if path_imglist:
            self.imglist, imgkeys = read_list_file(path_imglist, dtype, cls)
        elif isinstance(imglist, list):
            self.imglist, imgkeys = self._from_list(imglist, dtype)
        else:
            self.imglist = None
        self.path_root = path_root
        self._dtype = dtype

        self.provide_data = [io.DataDesc(data_name, (batch_size,) + data_shape)]
        label_shape = (batch_size, label_width) if label_width > 1 else (batch_size,)
        self.provide_label = [io.DataDesc(label_name, label_shape, np.dtype(dtype).type,
                                          layout="N")]
        self.batch_size = batch_size
        self.data_shape = data_shape
        self.label_width = label_width
        self.shuffle = shuffle
        if self.imgrec is None:
            self.seq = imgkeys
        elif shuffle or num_parts > 1 or path_imgidx:
            if self.imgidx is None:
                raise MXNetValueError(f"{cls}: shuffle=True or num_parts > 1 on a .rec file "
                                      f"needs its index: pass path_imgidx (the .idx file)")
            self.seq = self.imgidx
        else:
            self.seq = None

        if num_parts > 1:
            n = len(self.seq) // num_parts
            self.seq = self.seq[part_index * n:(part_index + 1) * n]
        self.auglist = CreateAugmenter(data_shape, **kwargs) if aug_list is None else aug_list
        self.cur = 0
        self._allow_read = True
        self.last_batch_handle = last_batch_handle
        self.num_image = len(self.seq) if self.seq is not None else None
        self._cache_data = None
        self._cache_label = None
        self._cache_idx = None
        self.reset()

    @staticmethod
    def _from_list(imglist, dtype):
        result, keys = {}, []
        for index, img in enumerate(imglist, 1):
            if (not isinstance(img, (list, tuple)) or len(img) < 2
                    or not isinstance(img[-1], (str, os.PathLike))):
                raise MXNetValueError(f"ImageIter: imglist entry {index - 1}: Expect: "
                                      f"[label(s)..., path] / Actual: {img!r}")
            if len(img) > 2:
                label = img[:-1]
            elif isinstance(img[0], numbers.Number):
                label = [img[0]]
            else:
                label = img[0]
            try:
                label = np.asarray(_numpy(label), dtype=dtype).reshape(-1)
            except (TypeError, ValueError):
                raise MXNetValueError(f"ImageIter: imglist entry {index - 1}: labels must be "
                                      f"numbers, got {label!r}") from None
            key = str(index)
            result[key] = (label, img[-1])
            keys.append(key)
        return result, keys

    # -- epochs ------------------------------------------------------------------------------
    def _shuffle_seq(self):
        if self.seq is not None and self.shuffle:
            order = _rng().permutation(len(self.seq))
            self.seq = [self.seq[i] for i in order]

    def reset(self):
        """Resets the iterator to the beginning of the data."""
        self._shuffle_seq()
        if self.last_batch_handle != "roll_over" or self._cache_data is None:
            if self.imgrec is not None:
                self.imgrec.reset()
            self.cur = 0
            self._allow_read = True

    def hard_reset(self):
        """Resets the iterator and ignore roll over data"""
        self._shuffle_seq()
        if self.imgrec is not None:
            self.imgrec.reset()
        self.cur = 0
        self._allow_read = True
        self._cache_data = None
        self._cache_label = None
        self._cache_idx = None

    # -- samples -----------------------------------------------------------------------------
    def next_sample(self):
        """Helper function for reading in next sample: ``(label, encoded image bytes)``."""
        if self._allow_read is False:
            raise StopIteration
        if self.seq is not None:
            if self.cur < self.num_image:
                idx = self.seq[self.cur]
            else:
                if self.last_batch_handle != "discard":
                    self.cur = 0
                raise StopIteration
            self.cur += 1
            if self.imgrec is not None:
                header, img = recordio.unpack(self.imgrec.read_idx(idx))
                if self.imglist is None:
                    return header.label, img
                if idx not in self.imglist:
                    raise MXNetValueError(f"{type(self).__name__}: record {idx!r} of "
                                          f"{self.imgrec.uri!r} has no line in the image list")
                return self.imglist[idx][0], img
            label, fname = self.imglist[idx]
            return label, self.read_image(fname)
        s = self.imgrec.read()
        if s is None:
            if self.last_batch_handle != "discard":
                self.imgrec.reset()
            raise StopIteration
        header, img = recordio.unpack(s)
        return header.label, img

    def _store_label(self, batch_label, i, label):
        label = np.asarray(_numpy(label), dtype=batch_label.dtype).reshape(-1)
        if label.size != self.label_width:
            raise MXNetValueError(f"{type(self).__name__}: a sample has {label.size} label(s) "
                                  f"but label_width is {self.label_width}")
        batch_label[i] = label if self.label_width > 1 else label[0]

    def _store_data(self, batch_data, i, datum):
        datum = _numpy(datum)
        if tuple(datum.shape) != batch_data.shape[1:]:
            raise MXNetValueError(f"{type(self).__name__}: an augmented image has shape "
                                  f"{tuple(datum.shape)} (CHW), but data_shape is "
                                  f"{batch_data.shape[1:]}: the augmenters must crop or resize "
                                  f"every image to it")
        batch_data[i] = datum

    def _batchify(self, batch_data, batch_label, start=0):
        """Helper function for batchifying data"""
        i = start
        batch_size = self.batch_size
        try:
            while i < batch_size:
                label, s = self.next_sample()
                data = self.imdecode(s)
                try:
                    self.check_valid_image(data)
                except RuntimeError as e:
                    logging.debug("Invalid image, skipping:  %s", str(e))
                    continue
                data = self.augmentation_transform(data)
                self._store_data(batch_data, i, self.postprocess_data(data))
                self._store_label(batch_label, i, label)
                i += 1
        except StopIteration:
            if not i:
                raise StopIteration from None
        return i

    def _new_batch(self):
        label_shape = self.provide_label[0].shape
        return (np.zeros((self.batch_size,) + self.data_shape, dtype=np.float32),
                np.zeros(label_shape, dtype=self._dtype))

    def next(self):
        """Returns the next batch of data."""
        batch_size = self.batch_size
        if self._cache_data is not None:  # the last batch of the previous epoch rolled over
            batch_data, batch_label, i = self._cache_data, self._cache_label, self._cache_idx
        else:
            batch_data, batch_label = self._new_batch()
            i = self._batchify(batch_data, batch_label)
        pad = batch_size - i
        if pad != 0:
            if self.last_batch_handle == "discard":
                raise StopIteration
            if self.last_batch_handle == "roll_over" and self._cache_data is None:
                self._cache_data, self._cache_label, self._cache_idx = batch_data, batch_label, i
                raise StopIteration
            self._batchify(batch_data, batch_label, i)
            if self.last_batch_handle == "pad":
                self._allow_read = False
            else:
                self._cache_data = self._cache_label = self._cache_idx = None
        return io.DataBatch([_wrap_host(batch_data)], [_wrap_host(batch_label)], pad=pad)

    # -- hooks subclasses override -----------------------------------------------------------
    def check_data_shape(self, data_shape):
        """Checks if the input data shape is valid"""
        _check_data_shape(data_shape, type(self).__name__)

    def check_valid_image(self, data):
        """Checks if the input data is valid"""
        if len(data.shape) != 3 or 0 in data.shape:
            raise ImageError(f"Data shape is wrong: {tuple(data.shape)}")

    def imdecode(self, s):
        """Decodes a string or byte string to an NDArray (gray when data_shape has 1 channel).
        See mx.img.imdecode for more details."""
        try:
            return imdecode(s, flag=0 if self.data_shape[0] == 1 else 1)
        except ImageError as e:
            raise ImageError(f"Broken image {self._locate()}: {e}") from None

    def _locate(self):
        """Where the sample just read came from (for error messages)."""
        if self.seq is None:
            return f"in {self.imgrec.uri!r}"
        idx = self.seq[(self.cur - 1) % max(self.num_image, 1)]
        if self.imglist is not None and self.imgrec is None:
            return f"filename: {self.imglist[idx][1]!r}"
        return f"index: {idx!r} of {self.imgrec.uri!r}"

    def read_image(self, fname):
        """Reads an input image `fname` and returns the decoded raw bytes."""
        path = os.path.join(self.path_root or "", fname)
        try:
            with open(path, "rb") as fin:
                return fin.read()
        except OSError as e:
            raise MXNetFileError(f"{type(self).__name__}: cannot read image {path!r}: "
                                 f"{e.strerror or e}") from None

    def augmentation_transform(self, data):
        """Transforms input data with specified augmentation."""
        for aug in self.auglist:
            data = aug(data)
        return data

    def postprocess_data(self, datum):
        """Final postprocessing step before image is loaded into the batch: HWC -> CHW."""
        if isinstance(datum, NDArray):
            return datum.transpose((2, 0, 1))
        return np.transpose(datum, (2, 0, 1))


def _numpy(x):
    if isinstance(x, NDArray):
        return x.asnumpy()
    return np.asarray(x)
