"""Vision datasets: MNIST, FashionMNIST, CIFAR10 from local files, and scikit-learn's digits.

Nothing is downloaded: the standard files must already be under ``root`` (a clear error names
them otherwise). As in MXNet, a sample is ``(image, label)`` with the image an ``(H, W, C)``
uint8 NDArray on cpu and the label a NumPy int32; ``transform(image, label)`` is applied to
each sample when given.
"""

from __future__ import annotations

import gzip
import os
import struct
import tarfile

import numpy as np

from ....base import MXNetError, MXNetValueError
from ....context import cpu
from ....ndarray import array
from ..dataset import Dataset

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "Digits", "data_dir"]


def data_dir():
    """MXNet's data directory: ``$MXNET_HOME`` or ``~/.mxnet``."""
    return os.path.expanduser(os.environ.get("MXNET_HOME", os.path.join("~", ".mxnet")))


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


class CIFAR10(_DownloadedDataset):
    """CIFAR10 image classification dataset from https://www.cs.toronto.edu/~kriz/cifar.html

    Each sample is an image (in 3D NDArray, uint8) with shape (32, 32, 3). Reads the binary
    version: ``root/cifar-10-batches-bin/data_batch_{1..5}.bin`` and ``test_batch.bin``
    (``root/cifar-10-binary.tar.gz`` is unpacked there when only the archive is present).

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

    def __init__(self, root=os.path.join(data_dir(), "datasets", "cifar10"), train=True,
                 transform=None):
        self._train = train
        super().__init__(root, transform)

    @staticmethod
    def _read_batch(filename):
        with open(filename, "rb") as fin:
            raw = np.frombuffer(fin.read(), dtype=np.uint8)
        if raw.size % 3073:
            raise MXNetValueError(f"{filename}: truncated or corrupted: {raw.size} bytes is not "
                                  f"a multiple of a 3073-byte record (label + 3x32x32)")
        raw = raw.reshape(-1, 3073)
        return (raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1),
                raw[:, 0].astype(np.int32))

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
        if not all(os.path.exists(p) for p in paths):
            _missing(type(self).__name__, self._root,
                     [os.path.join(self._folder, n) for n in names],
                     "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz (the binary "
                     "version; unpacking the archive in root gives this layout)")
        batches = [self._read_batch(p) for p in paths]
        self._set(np.concatenate([b[0] for b in batches]),
                  np.concatenate([b[1] for b in batches]))


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
