"""Vision datasets: MNIST, FashionMNIST, CIFAR10/100 from local files, scikit-learn's digits,
and images in RecordIO files, folders or lists.

Nothing is downloaded: the standard files must already be under ``root`` (a clear error names
them otherwise). As in MXNet, a sample is ``(image, label)`` with the image an ``(H, W, C)``
uint8 NDArray on cpu and the label a NumPy int32; ``transform(image, label)`` is applied to
each sample when given. Image files are decoded with Pillow (``pip install mxplug[image]``).
"""

from __future__ import annotations

import gzip
import os
import pickle
import struct
import tarfile
import warnings

import numpy as np

from ....base import MXNetError, MXNetFileError, MXNetTypeError, MXNetValueError, data_dir
from ....context import cpu
from ....ndarray import array
from ....recordio import _decode_image, unpack
from ..dataset import Dataset, RecordFileDataset

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "Digits", "ImageRecordDataset",
           "ImageFolderDataset", "ImageListDataset", "data_dir", "imdecode", "imread"]


class DatasetFilesMissingError(MXNetError, FileNotFoundError):
    """The files of a dataset are not under its root (and cannot be downloaded here)."""


def _missing(name, root, files, source):
    listing = "\n".join(f"  {os.path.join(root, f)}" for f in files)
    raise DatasetFilesMissingError(
        f"{name}: dataset files not found. Downloading is not available here; put these files "
        f"in place (or pass root=<directory holding them>):\n{listing}\n"
        f"They are the standard files from {source}.")


class _DownloadedDataset(Dataset):
    """Base class for datasets held in memory: ``_data`` (NDArray) and ``_label`` (NumPy)."""

    def __init__(self, root, transform):
        self._transform = transform
        self._data = None
        self._label = None
        self._root = os.path.expanduser(root)
        self._get_data()

    def __getitem__(self, idx):
        if self._transform is not None:
            return self._transform(self._data[idx], self._label[idx])
        return self._data[idx], self._label[idx]

    def __len__(self):
        return len(self._label)

    def _get_data(self):
        raise NotImplementedError

    def _set(self, data, label):
        # Host memory on purpose: DataLoader workers index it without touching a device.
        self._data = array(data, ctx=cpu(), dtype=data.dtype)
        self._label = label


def _open_maybe_gz(path):
    """A ``.gz`` file, or the same file already unpacked (``path`` without ``.gz``)."""
    if os.path.exists(path):
        return gzip.open(path, "rb")
    return open(path[:-3], "rb")


def _read_idx(path, expect_ndim, what):
    with _open_maybe_gz(path) as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise MXNetValueError(f"{path}: not an idx-ubyte file (bad magic number)")
    ndim = raw[3]
    if ndim != expect_ndim:
        raise MXNetValueError(f"{path}: Expect: {expect_ndim}-d {what} / Actual: {ndim}-d")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise MXNetValueError(f"{path}: truncated or corrupted: header says {dims}, "
                              f"{body.size} bytes of data follow")
    return body.reshape(dims)


class MNIST(_DownloadedDataset):
    """MNIST handwritten digits dataset from http://yann.lecun.com/exdb/mnist

    Each sample is an image (in 3D NDArray, ``(28, 28, 1)``, uint8) with shape
    (28, 28, 1).

    Parameters
    ----------
    root : str, default $MXNET_HOME/datasets/mnist
        Path holding ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
        ``t10k-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte.gz`` (unpacked copies
        without ``.gz`` work too).
    train : bool, default True
        Whether to load the training or testing set.
    transform : function, default None
        A user defined callback that transforms each sample. For example::

            transform=lambda data, label: (data.astype(np.float32)/255, label)
    """

    _name = "MNIST"
    _source = "http://yann.lecun.com/exdb/mnist"
    _train_files = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
    _test_files = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")

    def __init__(self, root=os.path.join(data_dir(), "datasets", "mnist"), train=True,
                 transform=None):
        self._train = train
        super().__init__(root, transform)

    def _get_data(self):
        files = self._train_files if self._train else self._test_files
        paths = [os.path.join(self._root, f) for f in files]
        if not all(os.path.exists(p) or os.path.exists(p[:-3]) for p in paths):
            _missing(type(self).__name__, self._root, files, self._source)
        data = _read_idx(paths[0], 3, "images")
        label = _read_idx(paths[1], 1, "labels").astype(np.int32)
        if len(data) != len(label):
            raise MXNetValueError(f"{type(self).__name__}: {len(data)} images but {len(label)} "
                                  f"labels in {self._root}")
        self._set(data.reshape(len(label), data.shape[1], data.shape[2], 1), label)


class FashionMNIST(MNIST):
    """A dataset of Zalando's article images consisting of fashion products,
    a drop-in replacement of the original MNIST dataset from
    https://github.com/zalandoresearch/fashion-mnist

    Each sample is an image (in 3D NDArray, uint8) with shape (28, 28, 1).

    Parameters
    ----------
    root : str, default $MXNET_HOME/datasets/fashion-mnist
        Path holding the four idx-ubyte.gz files, named as MNIST's.
    train : bool, default True
        Whether to load the training or testing set.
    transform : function, default None
        A user defined callback that transforms each sample.
    """

    _source = "https://github.com/zalandoresearch/fashion-mnist"

    def __init__(self, root=os.path.join(data_dir(), "datasets", "fashion-mnist"), train=True,
                 transform=None):
        super().__init__(root, train, transform)


class _SafeUnpickler(pickle.Unpickler):
    """Unpickles plain data and NumPy arrays only: a data file cannot run code."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy", "ndarray"),
                ("numpy._core.multiarray", "_reconstruct"), ("numpy", "dtype"),
                ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
                ("_codecs", "encode")}  # protocol-2 pickles spell bytes as _codecs.encode

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a data file")


def _load_pickled_batch(path):
    try:
        with open(path, "rb") as f:
            d = _SafeUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError) as e:
        raise MXNetFileError(f"{path}: not a CIFAR python batch (truncated, corrupted or "
                             f"holding more than arrays): {e}") from None
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}


class CIFAR10(_DownloadedDataset):
    """CIFAR10 image classification dataset from https://www.cs.toronto.edu/~kriz/cifar.html

    Each sample is an image (in 3D NDArray, uint8) with shape (32, 32, 3). Reads the binary
    version: ``root/cifar-10-batches-bin/data_batch_{1..5}.bin`` and ``test_batch.bin``
    (``root/cifar-10-binary.tar.gz`` is unpacked there when only the archive is present), or
    else the python version: ``root/cifar-10-batches-py/data_batch_{1..5}`` and ``test_batch``
    (read without running pickle code: only arrays and plain data are accepted).

    Parameters
    ----------
    root : str, default $MXNET_HOME/datasets/cifar10
        Path to temp folder for storing data.
    train : bool, default True
        Whether to load the training or testing set.
    transform : function, default None
        A user defined callback that transforms each sample.
    """

    _archive = "cifar-10-binary.tar.gz"
    _folder = "cifar-10-batches-bin"
    _train_files = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
    _test_files = ("test_batch.bin",)
    _py_folder = "cifar-10-batches-py"
    _py_train = tuple(f"data_batch_{i}" for i in range(1, 6))
    _py_test = ("test_batch",)
    _record = 3073  # label byte + 3x32x32 pixels
    _source = ("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz (the binary version; "
               "unpacking the archive in root gives this layout; the python version's "
               "cifar-10-batches-py/ folder is read too)")

    def __init__(self, root=os.path.join(data_dir(), "datasets", "cifar10"), train=True,
                 transform=None):
        self._train = train
        super().__init__(root, transform)

    def _read_batch(self, filename):
        with open(filename, "rb") as fin:
            raw = np.frombuffer(fin.read(), dtype=np.uint8)
        n = self._record
        if raw.size % n:
            raise MXNetValueError(f"{filename}: truncated or corrupted: {raw.size} bytes is not "
                                  f"a multiple of a {n}-byte record (label(s) + 3x32x32)")
        raw = raw.reshape(-1, n)
        return raw[:, -3072:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), self._label_of(raw)

    @staticmethod
    def _label_of(raw):
        return raw[:, 0].astype(np.int32)

    def _py_labels(self, d):
        return d["labels"]

    def _read_py_batch(self, path):
        d = _load_pickled_batch(path)
        try:
            data = np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            label = np.asarray(self._py_labels(d), dtype=np.int32)
        except (KeyError, ValueError) as e:
            raise MXNetFileError(f"{path}: not a CIFAR python batch ({e})") from None
        return data.transpose(0, 2, 3, 1), label

    def _get_data(self):
        names = self._train_files if self._train else self._test_files
        paths = [os.path.join(self._root, self._folder, n) for n in names]
        archive = os.path.join(self._root, self._archive)
        if not all(os.path.exists(p) for p in paths) and os.path.exists(archive):
            with tarfile.open(archive) as tar:
                try:
                    tar.extractall(self._root, filter="data")  # no paths outside root
                except TypeError:  # Python without extraction filters
                    tar.extractall(self._root)
        read = self._read_batch
        if not all(os.path.exists(p) for p in paths):
            py_names = self._py_train if self._train else self._py_test
            py_paths = [os.path.join(self._root, self._py_folder, n) for n in py_names]
            if not all(os.path.exists(p) for p in py_paths):
                _missing(type(self).__name__, self._root,
                         [os.path.join(self._folder, n) for n in names], self._source)
            paths, read = py_paths, self._read_py_batch
        batches = [read(p) for p in paths]
        self._set(np.ascontiguousarray(np.concatenate([b[0] for b in batches])),
                  np.concatenate([b[1] for b in batches]))


class CIFAR100(CIFAR10):
    """CIFAR100 image classification dataset from https://www.cs.toronto.edu/~kriz/cifar.html

    Each sample is an image (in 3D NDArray, uint8) with shape (32, 32, 3). Reads the binary
    version: ``root/cifar-100-binary/train.bin`` and ``test.bin`` (``root/cifar-100-binary.tar.gz``
    is unpacked there when only the archive is present), or else the python version:
    ``root/cifar-100-python/train`` and ``test``.

    Parameters
    ----------
    root : str, default $MXNET_HOME/datasets/cifar100
        Path to temp folder for storing data.
    fine_label : bool, default False
        Whether to load the fine-grained (100 classes) or coarse-grained (20 super-classes)
        labels.
    train : bool, default True
        Whether to load the training or testing set.
    transform : function, default None
        A user defined callback that transforms each sample.
    """

    _archive = "cifar-100-binary.tar.gz"
    _folder = "cifar-100-binary"
    _train_files = ("train.bin",)
    _test_files = ("test.bin",)
    _py_folder = "cifar-100-python"
    _py_train = ("train",)
    _py_test = ("test",)
    _record = 3074  # coarse label byte, fine label byte, 3x32x32 pixels
    _source = ("https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz (the binary version; "
               "unpacking the archive in root gives this layout; the python version's "
               "cifar-100-python/ folder is read too)")

    def __init__(self, root=os.path.join(data_dir(), "datasets", "cifar100"), fine_label=False,
                 train=True, transform=None):
        self._fine_label = bool(fine_label)
        super().__init__(root, train, transform)

    def _label_of(self, raw):
        return raw[:, int(self._fine_label)].astype(np.int32)

    def _py_labels(self, d):
        return d["fine_labels" if self._fine_label else "coarse_labels"]


class Digits(_DownloadedDataset):
    """scikit-learn's bundled handwritten digits (``sklearn.datasets.load_digits``): 1797
    8x8 images of the digits 0-9, no download needed.

    Images are scaled from their 0..16 range to uint8 0..255 (rounded), shape ``(8, 8, 1)``,
    or ``(size, size, 1)`` after a bilinear upscale (``size=28`` gives MNIST-shaped samples
    for LeNet-style tutorials). The split is fixed: the samples are permuted with
    ``numpy.random.RandomState(0).permutation(1797)``; the first ``1797 * 3 // 4 = 1347``
    form the training set, the other 450 the test set.

    Parameters
    ----------
    root : str, optional
        Unused (the data ships with scikit-learn); accepted for a uniform signature.
    train : bool, default True
        Whether to load the training or testing set.
    transform : function, default None
        A user defined callback that transforms each sample.
    size : int, default 8
        Side of the returned images.
    """

    def __init__(self, root=None, train=True, transform=None, size=8):
        self._train = train
        self._size = int(size)
        super().__init__(root or os.path.join(data_dir(), "datasets", "digits"), transform)

    def _get_data(self):
        try:
            from sklearn.datasets import load_digits
        except ImportError:
            raise MXNetError("Digits needs scikit-learn (pip install scikit-learn)") from None
        from .transforms import resize_image

        bunch = load_digits()
        images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
        labels = bunch.target.astype(np.int32)
        order = np.random.RandomState(0).permutation(len(labels))
        n_train = len(labels) * 3 // 4
        keep = order[:n_train] if self._train else order[n_train:]
        images, labels = images[keep], labels[keep]
        if self._size != images.shape[1]:
            images = resize_image(images, self._size, self._size, 1)
        self._set(np.ascontiguousarray(images), labels)


# -- images from files and records --------------------------------------------------------------

def imdecode(buf, flag=1, to_rgb=True):
    """Decode an image (JPEG, PNG, ...) to an ``(H, W, C)`` uint8 NDArray on cpu, as MXNet's
    ``mx.image.imdecode``: ``flag`` 1 gives 3 channels, 0 one gray channel; ``to_rgb=False``
    gives OpenCV's BGR order."""
    img = _decode_image(buf, 1 if flag else 0)
    img = img[:, :, None] if img.ndim == 2 else (img if to_rgb else img[:, :, ::-1])
    return array(np.ascontiguousarray(img), ctx=cpu(), dtype=np.uint8)


def imread(filename, flag=1, to_rgb=True):
    """Read and decode an image file (see :func:`imdecode`); a file that cannot be read or
    decoded is an error naming it."""
    try:
        with open(filename, "rb") as f:
            buf = f.read()
    except OSError as e:
        raise MXNetFileError(f"imread: cannot read {filename!r}: {e.strerror or e}") from None
    try:
        return imdecode(buf, flag, to_rgb)
    except MXNetValueError as e:
        raise MXNetFileError(f"imread: {filename!r}: {e}") from None


class ImageRecordDataset(RecordFileDataset):
    """A dataset wrapping over a RecordIO file containing images.

    Each sample is an image and its corresponding label (a float, or a float32 NumPy array
    for records packed with several labels).

    Parameters
    ----------
    filename : str
        Path to rec file (its index, ``.idx``, next to it).
    flag : {0, 1}, default 1
        If 0, always convert images to greyscale.

        If 1, always convert images to colored (RGB).
    transform : function, default None
        A user defined callback that transforms each sample. For example::

            transform=lambda data, label: (data.astype(np.float32)/255, label)
    """

    def __init__(self, filename, flag=1, transform=None):
        super().__init__(filename)
        self._flag = flag
        self._transform = transform

    def __getitem__(self, idx):
        record = super().__getitem__(idx)
        header, img = unpack(record)
        try:
            img = imdecode(img, self._flag)
        except MXNetValueError as e:
            raise MXNetFileError(f"ImageRecordDataset: record {idx} of {self.filename!r}: "
                                 f"{e}") from None
        if self._transform is not None:
            return self._transform(img, header.label)
        return img, header.label


class ImageFolderDataset(Dataset):
    """A dataset for loading image files stored in a folder structure like::

        root/car/0001.jpg
        root/car/xxxa.jpg
        root/car/yyyb.jpg
        root/bus/123.jpg
        root/bus/023.jpg
        root/bus/wwww.jpg

    Files that are not ``.jpg``, ``.jpeg`` or ``.png`` images, and files directly under
    ``root``, are skipped with a warning.

    Parameters
    ----------
    root : str
        Path to root directory.
    flag : {0, 1}, default 1
        If 0, always convert loaded images to greyscale (1 channel).
        If 1, always convert loaded images to colored (3 channels).
    transform : callable, default None
        A function that takes data and label and transforms them::

            transform = lambda data, label: (data.astype(np.float32)/255, label)

    Attributes
    ----------
    synsets : list
        List of class names. `synsets[i]` is the name for the integer label `i`
    items : list of tuples
        List of all images in (filename, label) pairs.
    """

    def __init__(self, root, flag=1, transform=None):
        self._root = os.path.expanduser(root)
        self._flag = flag
        self._transform = transform
        self._exts = [".jpg", ".jpeg", ".png"]
        if not os.path.isdir(self._root):
            raise MXNetFileError(f"ImageFolderDataset: {self._root!r} is not a directory")
        self._list_images(self._root)

    def _list_images(self, root):
        self.synsets = []
        self.items = []
        for folder in sorted(os.listdir(root)):
            path = os.path.join(root, folder)
            if not os.path.isdir(path):
                warnings.warn(f"Ignoring {path}, which is not a directory.", stacklevel=3)
                continue
            label = len(self.synsets)
            self.synsets.append(folder)
            for filename in sorted(os.listdir(path)):
                filename = os.path.join(path, filename)
                ext = os.path.splitext(filename)[1]
                if ext.lower() not in self._exts:
                    warnings.warn(f"Ignoring {filename} of type {ext}. Only support "
                                  f"{', '.join(self._exts)}", stacklevel=3)
                    continue
                self.items.append((filename, label))

    def __getitem__(self, idx):
        img = imread(self.items[idx][0], self._flag)
        label = self.items[idx][1]
        if self._transform is not None:
            return self._transform(img, label)
        return img, label

    def __len__(self):
        return len(self.items)


class ImageListDataset(Dataset):
    """A dataset for loading image files specified by a list of entries, like::

        # if written to text file *.lst (im2rec.py's format: index, label(s), path)
        0\t0\troot/car/0001.jpg
        1\t1\troot/bus/0001.jpg
        2\t0\troot/car/0002.jpg
        # if as a pure list, each item is [label(s)..., imgpath]
        [[0, 'car/0001.jpg'], [1, 'bus/0001.jpg'], [0, 'car/0002.jpg']]

    Each sample is ``(image, label)`` with the label a float32 NDArray of shape ``(k,)``.

    Parameters
    ----------
    root : str
        Path to the folder stored the images (image paths, and a list file name, are relative
        to it).
    imglist : str or list
        Specify the path of imglist file or a list directly
    flag : {0, 1}, default 1
        If 0, always convert loaded images to greyscale (1 channel).
        If 1, always convert loaded images to colored (3 channels).

    Attributes
    ----------
    items : list of tuples
        List of all images in (filename, label) pairs.
    """

    def __init__(self, root=".", imglist=None, flag=1):
        self._root = os.path.expanduser(root)
        self._flag = flag
        self._imglist = {}
        self._imgkeys = []
        if isinstance(imglist, (str, os.PathLike)):
            self._read_list_file(os.path.join(self._root, imglist))
        elif isinstance(imglist, (list, tuple)):
            for i, entry in enumerate(imglist, 1):
                if not isinstance(entry, (list, tuple)) or len(entry) < 2 or \
                        not isinstance(entry[-1], str):
                    raise MXNetValueError(f"ImageListDataset: entry {i - 1} of imglist: Expect: "
                                          f"[label(s)..., path] / Actual: {entry!r}")
                if len(entry) > 2:
                    label = entry[:-1]
                elif isinstance(entry[0], (int, float, np.number)):
                    label = [entry[0]]
                else:
                    label = entry[0]
                self._add(str(i), label, entry[-1], f"entry {i - 1} of imglist")
        else:
            raise MXNetTypeError(f"ImageListDataset: imglist must be filename or list of valid "
                                 f"entries, however, type is {type(imglist).__name__}")

    def _read_list_file(self, fname):
        try:
            with open(fname) as fin:
                lines = fin.read().splitlines()
        except OSError as e:
            raise MXNetFileError(f"ImageListDataset: cannot read {fname!r}: "
                                 f"{e.strerror or e}") from None
        for lineno, line in enumerate(lines, 1):
            fields = line.strip().split("\t")
            if fields == [""]:
                continue
            if len(fields) < 3:
                raise MXNetValueError(f"ImageListDataset: {fname!r} line {lineno}: Expect: "
                                      f"index<TAB>label(s)<TAB>path / Actual: {line!r}")
            self._add(int(fields[0]), fields[1:-1], fields[-1], f"{fname!r} line {lineno}")

    def _add(self, key, label, path, where):
        try:
            label = np.asarray(label, dtype=np.float32).reshape(-1)
        except (TypeError, ValueError):
            raise MXNetValueError(f"ImageListDataset: {where}: labels must be numbers, got "
                                  f"{label!r}") from None
        self._imglist[key] = (array(label, ctx=cpu(), dtype=np.float32),
                              os.path.join(self._root, path))
        self._imgkeys.append(key)

    @property
    def items(self):
        return [(self._imglist[k][1], self._imglist[k][0]) for k in self._imgkeys]

    def __getitem__(self, idx):
        label, path = self._imglist[self._imgkeys[idx]]
        return imread(path, self._flag), label

    def __len__(self):
        return len(self._imgkeys)
