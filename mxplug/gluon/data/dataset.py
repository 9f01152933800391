"""Datasets: MXNet 1.x's ``gluon.data.Dataset``, ``SimpleDataset``, ``ArrayDataset`` and
``RecordFileDataset``."""

from __future__ import annotations

import os

import numpy as np

from ...base import MXNetFileError, MXNetValueError
from ...ndarray import NDArray, array
from ...ndarray import take as _nd_take
from ...recordio import MXIndexedRecordIO

__all__ = ["Dataset", "SimpleDataset", "ArrayDataset", "RecordFileDataset"]


class Dataset:
    """Abstract dataset class. All datasets should have this interface.

    Subclasses need to override ``__getitem__``, which returns the i-th element, and
    ``__len__``, which returns the total number elements.

    Notes
    -----
    An mxnet or numpy array can be directly used as a dataset.
    """

    def __getitem__(self, idx):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError

    def filter(self, fn):
        """Returns a new dataset with samples filtered by the filter function `fn`.

        Parameters
        ----------
        fn : callable
            A filter function that takes a sample as input and returns a boolean. Samples
            that return False are discarded.

        Returns
        -------
        Dataset
            The filtered dataset.
        """
        from .sampler import FilterSampler

        return _SampledDataset(self, FilterSampler(fn, self))

    def shard(self, num_shards, index):
        """Returns a new dataset that includes only 1/num_shards of this dataset.

        For distributed training, be sure to shard before you randomize the dataset (such as
        shuffle), if you want each worker to reach a unique subset. Shard ``index`` holds a
        contiguous block; the first ``len(self) % num_shards`` shards get one extra sample.

        Parameters
        ----------
        num_shards : int
            An integer representing the number of data shards.
        index : int
            An integer representing the index of the current shard.

        Returns
        -------
        Dataset
            The result dataset.
        """
        from .sampler import SequentialSampler

        if not num_shards > 0:
            raise MXNetValueError(f"shard: Expect: num_shards > 0 / Actual: {num_shards}")
        if not 0 <= index < num_shards:
            raise MXNetValueError(
                f"shard: Expect: 0 <= index < num_shards / Actual: index={index}, "
                f"num_shards={num_shards} (shard index out of bound)")
        length = len(self)
        shard_len, rest = divmod(length, num_shards)
        start = shard_len * index + min(index, rest)
        end = start + shard_len + (index < rest)
        return _SampledDataset(self, SequentialSampler(end - start, start))

    def take(self, count):
        """Returns a new dataset with at most `count` number of samples in it.

        Parameters
        ----------
        count : int or None
            A integer representing the number of elements of this dataset that should be
            taken to form the new dataset. If count is None, or if count is greater than the
            size of this dataset, the new dataset will contain all elements of this dataset.

        Returns
        -------
        Dataset
            The result dataset.
        """
        from .sampler import SequentialSampler

        if count is None or count > len(self):
            count = len(self)
        return _SampledDataset(self, SequentialSampler(count))

    def sample(self, sampler):
        """Returns a new dataset with elements sampled by the sampler.

        Parameters
        ----------
        sampler : Sampler
            A Sampler that returns the indices of sampled elements.

        Returns
        -------
        Dataset
            The result dataset.
        """
        from .sampler import Sampler

        if not isinstance(sampler, Sampler):
            raise MXNetValueError(
                f"sample: Expect: a gluon.data.Sampler / Actual: {type(sampler).__name__}")
        return _SampledDataset(self, sampler)

    def transform(self, fn, lazy=True):
        """Returns a new dataset with each sample transformed by the transformer function `fn`.

        Parameters
        ----------
        fn : callable
            A transformer function that takes a sample as input and returns the transformed
            sample. A sample that is a tuple is unpacked: ``fn(*sample)``.
        lazy : bool, default True
            If False, transforms all samples at once. Otherwise, transforms each sample on
            demand. Note that if `fn` is stochastic, you must set lazy to True or you will get
            the same result on all epochs.

        Returns
        -------
        Dataset
            The transformed dataset.
        """
        trans = _LazyTransformDataset(self, fn)
        if lazy:
            return trans
        return SimpleDataset([trans[i] for i in range(len(trans))])

    def transform_first(self, fn, lazy=True):
        """Returns a new dataset with the first element of each sample transformed by `fn`.

        This is useful, for example, when you only want to transform data while keeping label
        as is.

        Parameters
        ----------
        fn : callable
            A transformer function that takes the first element of a sample as input and
            returns the transformed element.
        lazy : bool, default True
            If False, transforms all samples at once. Otherwise, transforms each sample on
            demand.

        Returns
        -------
        Dataset
            The transformed dataset.
        """
        return self.transform(_TransformFirstClosure(fn), lazy)


class SimpleDataset(Dataset):
    """Simple Dataset wrapper for lists and arrays.

    Parameters
    ----------
    data : dataset-like object
        Any object that implements `len()` and `[]`.
    """

    def __init__(self, data):
        self._data = data

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        return self._data[idx]


class _LazyTransformDataset(Dataset):
    """Lazily transformed dataset."""

    def __init__(self, data, fn):
        self._data = data
        self._fn = fn

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        item = self._data[idx]
        if isinstance(item, tuple):
            return self._fn(*item)
        return self._fn(item)


class _TransformFirstClosure:
    """Use callable object instead of nested function, so it can be pickled (spawn workers)."""

    def __init__(self, fn):
        self._fn = fn

    def __call__(self, x, *args):
        if args:
            return (self._fn(x),) + args
        return self._fn(x)


class _SampledDataset(Dataset):
    """Dataset with elements chosen by a sampler (the indices are fixed at creation)."""

    def __init__(self, dataset, sampler):
        self._dataset = dataset
        self._sampler = sampler
        self._indices = list(iter(sampler))

    def __len__(self):
        return len(self._indices)

    def __getitem__(self, idx):
        return self._dataset[self._indices[idx]]


class ArrayDataset(Dataset):
    """A dataset that combines multiple dataset-like objects, e.g. Datasets, lists, arrays, etc.

    The i-th sample is defined as `(x1[i], x2[i], ...)`.

    Parameters
    ----------
    *args : one or more dataset-like objects
        The data arrays. All of them must have the same length. One-dimensional NDArrays are
        kept as NumPy arrays (as MXNet does), so a label sample is a NumPy scalar.

    Raises
    ------
    MXNetValueError
        When no array is given or the lengths differ.
    """

    def __init__(self, *args):
        if not args:
            raise MXNetValueError("ArrayDataset: Expect: at least 1 array / Actual: none given")
        self._length = len(args[0])
        self._data = []
        for i, data in enumerate(args):
            if len(data) != self._length:
                lengths = ", ".join(f"array[{j}]: {len(a)}" for j, a in enumerate(args))
                raise MXNetValueError(
                    f"ArrayDataset: all arrays must have the same length; array[0] has length "
                    f"{self._length} while array[{i}] has {len(data)} ({lengths})")
            if isinstance(data, NDArray) and len(data.shape) == 1:
                data = data.asnumpy()
            self._data.append(data)

    def __getitem__(self, idx):
        if len(self._data) == 1:
            return self._data[0][idx]
        return tuple(data[idx] for data in self._data)

    def __len__(self):
        return self._length

    def _take_batch(self, indices):
        """The batch ``default_batchify_fn`` would build from these samples, gathered with one
        index per array (the DataLoader's fast path), or None when a field is not an array."""
        if not all(isinstance(d, (NDArray, np.ndarray)) for d in self._data):
            return None
        idx = np.asarray(indices, dtype=np.int64)
        fields = []
        for d in self._data:
            if isinstance(d, NDArray):
                fields.append(_nd_take(d, array(idx, ctx=d.context, dtype="int64"), axis=0))
            else:
                rows = d[idx]
                fields.append(array(rows, dtype=rows.dtype))
        return fields[0] if len(fields) == 1 else fields


class RecordFileDataset(Dataset):
    """A dataset wrapping over a RecordIO (.rec) file.

    Each sample is a string representing the raw content of an record.

    Parameters
    ----------
    filename : str
        Path to rec file. The index must sit next to it with the extension ``.idx`` (as
        ``im2rec.py`` and ``MXIndexedRecordIO`` write it).
    """

    def __init__(self, filename):
        self.filename = os.fspath(filename)
        self.idx_file = os.path.splitext(self.filename)[0] + ".idx"
        if not os.path.exists(self.idx_file) and os.path.exists(self.filename):
            raise MXNetFileError(
                f"RecordFileDataset: {self.filename!r} has no index {self.idx_file!r}; write "
                f"the file with mx.recordio.MXIndexedRecordIO (or im2rec.py), which writes both")
        self._record = MXIndexedRecordIO(self.idx_file, self.filename, "r")

    def __getitem__(self, idx):
        return self._record.read_idx(self._record.keys[idx])

    def __len__(self):
        return len(self._record.keys)
