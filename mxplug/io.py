"""Data iterators (MXNet 1.x ``mx.io``): DataDesc, DataBatch, DataIter, NDArrayIter, ResizeIter.

The file iterators (``CSVIter``, ``LibSVMIter``, ``MNISTIter``) live in :mod:`mxplug.io_iters`
and ``PrefetchingIter`` in :mod:`mxplug.io_prefetch`, re-exported here; ``ImageRecordIter`` (and
``ImageRecordUInt8Iter``) load from :mod:`mxplug.image.record_iter` on first access.

The legacy Module-era iterator protocol: ``next()`` returns a :class:`DataBatch` of lists of
NDArrays, an epoch ends with ``StopIteration`` and the caller calls ``reset()`` before the next
one. Gluon code uses ``gluon.data.DataLoader`` instead; these exist so MXNet scripts that build an
``mx.io.NDArrayIter`` run unchanged.
"""

from __future__ import annotations

import numbers
from collections import OrderedDict, namedtuple

import numpy as np

from . import ndarray as nd
from .base import MXNetTypeError, MXNetValueError
from .ndarray import NDArray

__all__ = ["DataDesc", "DataBatch", "DataIter", "NDArrayIter", "ResizeIter", "CSVIter",
           "LibSVMIter", "MNISTIter", "PrefetchingIter"]

_LAST_BATCH_HANDLES = ("pad", "discard", "roll_over")


class DataDesc(namedtuple("DataDesc", ["name", "shape"])):
    """Name, shape, dtype and layout of one data or label input.

    A namedtuple of ``(name, shape)`` (so it compares equal to that pair, as in MXNet) with
    ``dtype`` and ``layout`` attributes.

    Parameters
    ----------
    name : str
        Input name, e.g. ``'data'`` or ``'softmax_label'``.
    shape : tuple of int
        Shape of one batch.
    dtype : numpy dtype, default float32
    layout : str, default 'NCHW'
        Axis letters; ``'N'`` marks the batch axis.
    """

    def __new__(cls, name, shape, dtype=np.float32, layout="NCHW"):
        desc = super().__new__(cls, name, shape)
        desc.dtype = dtype
        desc.layout = layout
        return desc

    def __repr__(self):
        return f"DataDesc[{self.name},{self.shape},{self.dtype},{self.layout}]"

    @staticmethod
    def get_batch_axis(layout):
        """Index of ``'N'`` in ``layout`` (0 when ``layout`` is None, -1 when it has no N)."""
        if layout is None:
            return 0
        return layout.find("N")

    @staticmethod
    def get_list(shapes, types):
        """DataDescs from ``[(name, shape)]`` and optional ``[(name, dtype)]`` pairs."""
        if types is None:
            return [DataDesc(name, shape) for name, shape in shapes]
        type_of = dict(types)
        return [DataDesc(name, shape, type_of[name]) for name, shape in shapes]


class DataBatch:
    """One batch: lists of data and label NDArrays plus bookkeeping.

    Parameters
    ----------
    data : list of NDArray
    label : list of NDArray, optional
    pad : int, optional
        How many trailing samples of the batch are padding (not real data of this epoch).
    index : numpy.ndarray, optional
        Sample indices of the batch.
    bucket_key, provide_data, provide_label : optional
        As in MXNet (bucketing / per-batch shape descriptions).
    """

    def __init__(self, data, label=None, pad=None, index=None, bucket_key=None,
                 provide_data=None, provide_label=None):
        if data is not None and not isinstance(data, (list, tuple)):
            raise MXNetTypeError(f"DataBatch: data must be a list of NDArrays, got "
                                 f"{type(data).__name__}")
        if label is not None and not isinstance(label, (list, tuple)):
            raise MXNetTypeError(f"DataBatch: label must be a list of NDArrays, got "
                                 f"{type(label).__name__}")
        self.data = data
        self.label = label
        self.pad = pad
        self.index = index
        self.bucket_key = bucket_key
        self.provide_data = provide_data
        self.provide_label = provide_label

    def __str__(self):
        data_shapes = [d.shape for d in self.data]
        label_shapes = [lab.shape for lab in self.label] if self.label else None
        return f"{type(self).__name__}: data shapes: {data_shapes} label shapes: {label_shapes}"


class DataIter:
    """Base class of the ``mx.io`` iterators.

    Subclasses implement :meth:`iter_next`, :meth:`getdata`, :meth:`getlabel`, :meth:`getpad`
    (and :meth:`reset`); :meth:`next` assembles a :class:`DataBatch` from them. Iterating does
    not reset: call :meth:`reset` between epochs.

    Parameters
    ----------
    batch_size : int, default 0
    """

    def __init__(self, batch_size=0):
        self.batch_size = batch_size

    def __iter__(self):
        return self

    def reset(self):
        """Go back to the start of the data."""

    def next(self):
        """The next :class:`DataBatch`; raises ``StopIteration`` at the end of the epoch."""
        if self.iter_next():
            return DataBatch(data=self.getdata(), label=self.getlabel(), pad=self.getpad(),
                             index=self.getindex())
        raise StopIteration

    def __next__(self):
        return self.next()

    def iter_next(self):
        """Move to the next batch; False at the end of the epoch."""

    def getdata(self):
        """The data NDArrays of the current batch."""

    def getlabel(self):
        """The label NDArrays of the current batch."""

    def getindex(self):
        """The sample indices of the current batch (None here)."""
        return None

    def getpad(self):
        """The number of padding samples in the current batch."""


class _HoldsBatch(DataIter):
    """An iterator whose ``iter_next`` keeps the batch it moved to in ``current_batch``: the
    getters read it (ResizeIter, PrefetchingIter)."""

    current_batch = None

    def getdata(self):
        return self.current_batch.data

    def getlabel(self):
        return self.current_batch.label

    def getindex(self):
        return self.current_batch.index

    def getpad(self):
        return self.current_batch.pad


def _init_data(data, allow_empty, default_name, what):
    """``data`` as a key-sorted list of ``(name, NDArray)`` (MXNet's naming and order)."""
    if data is None:
        if not allow_empty:
            raise MXNetValueError(f"NDArrayIter: {what} must not be None")
        data = []
    if isinstance(data, (np.ndarray, NDArray)):
        data = [data]
    if isinstance(data, (list, tuple)):
        if not data and not allow_empty:
            raise MXNetValueError(f"NDArrayIter: {what} must not be an empty list")
        if len(data) == 1:
            data = OrderedDict([(default_name, data[0])])
        else:
            data = OrderedDict((f"_{i}_{default_name}", d) for i, d in enumerate(data))
    if not isinstance(data, dict):
        raise MXNetTypeError(f"NDArrayIter: {what} must be an NDArray, a numpy.ndarray, a list "
                             f"of them or a dict with them as values, got {type(data).__name__}")
    arrays = {}
    for name, value in data.items():
        if isinstance(value, NDArray):
            arrays[name] = value
            continue
        try:
            arrays[name] = nd.array(value)
        except Exception as err:  # anything nd.array cannot convert
            raise MXNetTypeError(f"NDArrayIter: invalid type {type(value).__name__} for {what} "
                                 f"{name!r}; expected NDArray or numpy.ndarray ({err})") from None
    return sorted(arrays.items())


class NDArrayIter(DataIter):
    """Iterate over in-memory arrays in batches (MXNet 1.x ``mx.io.NDArrayIter``).

    Parameters
    ----------
    data : NDArray, numpy.ndarray, list of them or dict of name -> array
        Inputs, samples along the first axis. A single array is named ``data_name``; a list of
        n > 1 arrays is named ``_0_<data_name>`` ... ``_<n-1>_<data_name>``; a dict keeps its
        keys. Entries are ordered by name (as MXNet sorts them). Non-NDArrays are converted with
        ``mx.nd.array`` (float32, like MXNet).
    label : same kinds as ``data``, optional
        Labels, named from ``label_name`` the same way.
    batch_size : int, default 1
    shuffle : bool, default False
        Shuffle the samples at construction and at every :meth:`reset`. The permutation comes
        from ``mx.random``'s stream (a NumPy generator seeded from it, as DataLoader's
        RandomSampler does), so ``mx.random.seed`` reproduces it; MXNet uses
        ``np.random.shuffle``.
    last_batch_handle : {'pad', 'discard', 'roll_over'}, default 'pad'
        What to do with a final incomplete batch. ``'pad'``: fill it with samples from the
        start of the data and report how many in ``pad``. ``'discard'``: drop it.
        ``'roll_over'``: drop it from this epoch and put its samples at the front of the first
        batch of the next epoch (after :meth:`reset`); that batch reports their number as
        ``pad``, as MXNet does.
    data_name : str, default 'data'
    label_name : str, default 'softmax_label'

    Examples
    --------
    >>> it = mx.io.NDArrayIter(np.arange(10).reshape(5, 2), np.arange(5), batch_size=2)
    >>> [batch.pad for batch in it]
    [0, 0, 1]
    """

    def __init__(self, data, label=None, batch_size=1, shuffle=False, last_batch_handle="pad",
                 data_name="data", label_name="softmax_label"):
        if (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
                or batch_size < 1):
            raise MXNetValueError(f"NDArrayIter: batch_size must be a positive int, got "
                                  f"{batch_size!r}")
        if last_batch_handle not in _LAST_BATCH_HANDLES:
            raise MXNetValueError(f"NDArrayIter: last_batch_handle must be one of "
                                  f"{_LAST_BATCH_HANDLES}, got {last_batch_handle!r}")
        super().__init__(int(batch_size))
        self._source_data = _init_data(data, False, data_name, "data")
        self._source_label = _init_data(label, True, label_name, "label")
        self.num_data = self._source_data[0][1].shape[0]
        for what, source in (("data", self._source_data), ("label", self._source_label)):
            for name, value in source:
                # as MXNet: arrays with more samples than the first data array are cut to it
                if value.shape[0] < self.num_data:
                    first = self._source_data[0]
                    raise MXNetValueError(
                        f"NDArrayIter: every data and label array needs at least as many "
                        f"samples (first axis) as the first data array: {what} {name!r} has "
                        f"shape {value.shape} but data {first[0]!r} has {first[1].shape}")
        self.data = list(self._source_data)
        self.label = list(self._source_label)
        self.idx = np.arange(self.num_data)
        self.shuffle = shuffle
        self.last_batch_handle = last_batch_handle
        self.cursor = -self.batch_size
        # samples of the incomplete last batch, carried into the next epoch by 'roll_over'
        self._cache_data = None
        self._cache_label = None
        self.reset()

    @property
    def provide_data(self):
        """``[DataDesc]`` of the data batches (name, batch shape, dtype)."""
        return [DataDesc(k, (self.batch_size,) + tuple(v.shape[1:]), v.dtype)
                for k, v in self.data]

    @property
    def provide_label(self):
        """``[DataDesc]`` of the label batches."""
        return [DataDesc(k, (self.batch_size,) + tuple(v.shape[1:]), v.dtype)
                for k, v in self.label]

    def hard_reset(self):
        """Go back to the start and forget any rolled-over samples."""
        if self.shuffle:
            self._shuffle_data()
        self.cursor = -self.batch_size
        self._cache_data = None
        self._cache_label = None

    def reset(self):
        if self.shuffle:
            self._shuffle_data()
        # a cursor inside the last (incomplete) batch means its samples were cached: start the
        # next epoch that many samples early so the first batch is cache + fresh samples
        if (self.last_batch_handle == "roll_over"
                and self.num_data - self.batch_size < self.cursor < self.num_data):
            self.cursor = self.cursor - self.num_data - self.batch_size
        else:
            self.cursor = -self.batch_size

    def iter_next(self):
        self.cursor += self.batch_size
        return self.cursor < self.num_data

    def next(self):
        if not self.iter_next():
            raise StopIteration
        data = self.getdata()
        label = self.getlabel()
        if data[0].shape[0] != self.batch_size:
            # incomplete last batch ('discard' / 'roll_over'): keep it for a roll-over
            self._cache_data = data
            self._cache_label = label
            raise StopIteration
        return DataBatch(data=data, label=label, pad=self.getpad(), index=None)

    def _slices(self, source, start=0, end=None):
        end = self.num_data if end is None else end
        return [value[start:end] for _, value in source]

    @staticmethod
    def _concat(first, second):
        return [nd.concat(a, b, dim=0) for a, b in zip(first, second)]

    def _batchify(self, source, is_label):
        if self.cursor >= self.num_data:
            raise MXNetValueError("NDArrayIter: the epoch is over; call reset() first")
        if self.last_batch_handle == "roll_over" and -self.batch_size < self.cursor < 0:
            cache = self._cache_label if is_label else self._cache_data
            if cache is None:
                raise MXNetValueError("NDArrayIter: no rolled-over samples cached for this "
                                      "epoch (was reset() called mid-epoch?)")
            if is_label:
                self._cache_label = None
            else:
                self._cache_data = None
            return self._concat(cache, self._slices(source, end=self.cursor + self.batch_size))
        if self.last_batch_handle == "pad" and self.cursor + self.batch_size > self.num_data:
            # the tail, then the data from the start again, as often as the batch needs (a
            # batch larger than the whole data repeats it, as MXNet does)
            parts = self._slices(source, start=self.cursor)
            pad = self.cursor + self.batch_size - self.num_data
            for _ in range(pad // self.num_data):
                parts = self._concat(parts, self._slices(source))
            if pad % self.num_data:
                parts = self._concat(parts, self._slices(source, end=pad % self.num_data))
            return parts
        end = min(self.cursor + self.batch_size, self.num_data)
        return self._slices(source, self.cursor, end)

    def getdata(self):
        return self._batchify(self.data, is_label=False)

    def getlabel(self):
        return self._batchify(self.label, is_label=True)

    def getpad(self):
        if self.last_batch_handle == "pad" and self.cursor + self.batch_size > self.num_data:
            return self.cursor + self.batch_size - self.num_data
        if self.last_batch_handle == "roll_over" and -self.batch_size < self.cursor < 0:
            return -self.cursor
        return 0

    def _shuffle_data(self):
        from .gluon.data.sampler import host_rng  # gluon loads lazily; only shuffling needs it
        self.idx = host_rng().permutation(self.num_data)
        self.data = [(k, self._take(v, self.idx)) for k, v in self._source_data]
        self.label = [(k, self._take(v, self.idx)) for k, v in self._source_label]

    @staticmethod
    def _take(value, idx):
        indices = nd.array(idx, ctx=value.context, dtype="int64")
        return nd.take(value, indices, axis=0)


class ResizeIter(_HoldsBatch):
    """Make an iterator yield exactly ``size`` batches per epoch.

    It restarts ``data_iter`` (``reset``) when that runs out before ``size`` batches, and stops
    early otherwise.

    Parameters
    ----------
    data_iter : DataIter
    size : int
        Batches per epoch.
    reset_internal : bool, default True
        Also reset ``data_iter`` on :meth:`reset` (False: carry on where it stopped).
    """

    def __init__(self, data_iter, size, reset_internal=True):
        super().__init__()
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 0:
            raise MXNetValueError(f"ResizeIter: size must be a non-negative int, got {size!r}")
        self.data_iter = data_iter
        self.size = int(size)
        self.reset_internal = reset_internal
        self.cur = 0
        self.current_batch = None
        self.provide_data = data_iter.provide_data
        self.provide_label = data_iter.provide_label
        self.batch_size = data_iter.batch_size
        if hasattr(data_iter, "default_bucket_key"):
            self.default_bucket_key = data_iter.default_bucket_key

    def reset(self):
        self.cur = 0
        if self.reset_internal:
            self.data_iter.reset()

    def iter_next(self):
        if self.cur == self.size:
            return False
        try:
            self.current_batch = self.data_iter.next()
        except StopIteration:
            self.data_iter.reset()
            try:
                self.current_batch = self.data_iter.next()
            except StopIteration:
                raise MXNetValueError("ResizeIter: the wrapped iterator yields no batches even "
                                      "right after reset()") from None
        self.cur += 1
        return True


# Below the base classes, which io_iters and io_prefetch import from this module.
from .io_iters import CSVIter, LibSVMIter, MNISTIter  # noqa: E402
from .io_prefetch import PrefetchingIter  # noqa: E402

_FROM_IMAGE = ("ImageRecordIter", "ImageRecordUInt8Iter")


def __getattr__(name):
    """``ImageRecordIter`` / ``ImageRecordUInt8Iter`` from :mod:`mxplug.image.record_iter`,
    imported on first access (it needs the image stack; ``mx.io`` must load without it)."""
    if name not in _FROM_IMAGE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .image import record_iter
    value = getattr(record_iter, name, None)
    if value is None and name == "ImageRecordUInt8Iter":
        value = _uint8_variant(record_iter.ImageRecordIter)
    if value is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r} "
                             f"(mxplug.image.record_iter does not define it)")
    globals()[name] = value
    return value


def _uint8_variant(image_record_iter):
    """MXNet's ImageRecordUInt8Iter: ImageRecordIter with uint8 output."""
    def ImageRecordUInt8Iter(*args, **kwargs):  # noqa: N802 - MXNet's name
        kwargs.setdefault("dtype", "uint8")
        return image_record_iter(*args, **kwargs)
    ImageRecordUInt8Iter.__doc__ = _uint8_variant.__doc__
    return ImageRecordUInt8Iter
