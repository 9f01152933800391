"""MXNet 1.x's file iterators (re-exported by ``mx.io``).

``CSVIter``, ``LibSVMIter`` and ``MNISTIter`` are MXNet's C++ iterators (``src/io``) written in
Python: the same parameters, batch shapes, ``pad`` and ``round_batch`` rules, and the same
``getdata()`` / ``getlabel()`` (one NDArray each) as the ``MXDataIter`` wrapper they come in.
Batches are NumPy-built cpu NDArrays, as MXNet's iterators give cpu arrays.
"""

from __future__ import annotations

import gzip
import logging
import math
import numbers
import os
import struct
import warnings

import numpy as np

from .base import MXNetFileError, MXNetValueError
from .io import DataBatch, DataDesc, DataIter
from .ndarray import _wrap_host

__all__ = ["CSVIter", "LibSVMIter", "MNISTIter"]

_OUTPUT_DTYPES = ("float32", "float64", "float16", "int32", "int64", "int8", "uint8")
_PREFETCH_CTXS = ("cpu", "gpu")


# -- argument checks ------------------------------------------------------------------------------
def _int_arg(value, what, owner, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise MXNetValueError(f"{owner}: {what} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _shape_arg(value, what, owner):
    shape = (value,) if isinstance(value, numbers.Integral) else value
    try:
        shape = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        shape = ()
    if not shape or any(d < 1 for d in shape):
        raise MXNetValueError(f"{owner}: {what} must be a non-empty tuple of positive ints, got "
                              f"{value!r}")
    return shape


def _dtype_arg(value, owner):
    try:
        name = "float32" if value is None else np.dtype(value).name
    except TypeError:
        name = None
    if name not in _OUTPUT_DTYPES:
        raise MXNetValueError(f"{owner}: dtype must be one of {_OUTPUT_DTYPES} (or None), got "
                              f"{value!r}")
    return np.dtype(name)


def _prefetch_args(owner, prefetch_buffer, ctx):
    """MXNet's PrefetcherParam: accepted for compatibility; the rows are read up front."""
    _int_arg(prefetch_buffer, "prefetch_buffer", owner, 0)
    if ctx not in _PREFETCH_CTXS:
        raise MXNetValueError(f"{owner}: ctx must be one of {_PREFETCH_CTXS}, got {ctx!r}")


def _input_files(path, owner, what):
    """``path`` itself, or the files of the directory ``path`` in name order (hidden ones
    skipped): MXNet reads every file of a directory."""
    path = os.fspath(path)
    if os.path.isdir(path):
        names = sorted(n for n in os.listdir(path) if not n.startswith("."))
        files = [os.path.join(path, n) for n in names if os.path.isfile(os.path.join(path, n))]
        if not files:
            raise MXNetFileError(f"{owner}: {what} directory {path!r} holds no files")
        return files
    if not os.path.isfile(path):
        raise MXNetFileError(f"{owner}: {what} file {path!r} does not exist")
    return [path]


def _cast(values, dtype, owner, source):
    """``values`` (float64 or int64) as ``dtype``; integers out of its range are an error."""
    if dtype.kind in "iu" and values.size:
        info = np.iinfo(dtype)
        low, high = values.min(), values.max()
        if low < info.min or high > info.max:
            raise MXNetValueError(f"{owner}: {source} has values in [{low}, {high}], outside the "
                                  f"range of dtype {dtype.name}")
    return values.astype(dtype)


# -- batching: MXNet's BatchLoader ---------------------------------------------------------------
class _RowFileIter(DataIter):
    """Batches of consecutive rows held in memory, with MXNet's ``BatchLoader`` rules.

    A last incomplete batch is filled by wrapping around to the first rows (``round_batch``,
    ``pad`` = how many); the next ``reset()`` then only ends that epoch, and the following one
    starts where the wrap stopped. Without ``round_batch`` the missing rows keep the previous
    batch's rows (MXNet reuses its batch buffer) and ``pad`` says how many they are.
    Subclasses set the sizes and implement ``_rows(indices) -> (data, label)``.
    """

    _owner = "iterator"

    def _init_batching(self, num_rows, batch_size, round_batch, data_shape, label_shape,
                       dtype, data_name, label_name):
        self.batch_size = batch_size
        self.round_batch = bool(round_batch)
        self._num_rows = num_rows
        self._data_shape, self._label_shape, self._dtype = data_shape, label_shape, dtype
        self._data_name, self._label_name = data_name, label_name
        self._cursor = 0    # the next row the row reader returns
        self._overflow = 0  # rows of the next pass taken by the last (wrapped) batch
        self._prev = (np.zeros((batch_size,) + data_shape, dtype),
                      np.zeros((batch_size,) + label_shape, dtype),
                      np.zeros(batch_size, np.uint64))
        self._current = None

    def _label_batch_shape(self):
        # MXNet's MXDataIterGetLabel turns a (batch, 1) label into (batch,)
        if self._label_shape == (1,):
            return (self.batch_size,)
        return (self.batch_size,) + self._label_shape

    @property
    def provide_data(self):
        return [DataDesc(self._data_name, (self.batch_size,) + self._data_shape, self._dtype)]

    @property
    def provide_label(self):
        return [DataDesc(self._label_name, self._label_batch_shape(), self._dtype)]

    def reset(self):
        if self.round_batch and self._overflow:
            self._overflow = 0  # MXNet: the wrapped batch already started the next pass
        else:
            self._cursor = 0
        self._current = None

    def iter_next(self):
        self._current = None
        if self._overflow:
            return False  # the epoch ended with a wrapped batch; reset() first
        n, size = self._num_rows, self.batch_size
        take = min(size, n - self._cursor)
        if take <= 0:
            return False
        rows = np.arange(self._cursor, self._cursor + take)
        self._cursor += take
        pad = size - take
        if pad and self.round_batch:
            if pad > n:
                raise MXNetValueError(
                    f"{self._owner}: batch_size {size} is too large for {n} rows: round_batch "
                    f"wraps around once (MXNet: 'number of input must be bigger than batch "
                    f"size'); use a smaller batch_size or round_batch=False")
            rows = np.concatenate([rows, np.arange(pad)])
            self._cursor = self._overflow = pad
        data, label = self._rows(rows)
        prev_data, prev_label, prev_index = self._prev
        if len(rows) < size:  # round_batch=False: the tail keeps the previous batch's rows
            data = np.concatenate([data, prev_data[len(rows):]])
            label = np.concatenate([label, prev_label[len(rows):]])
            rows = np.concatenate([rows.astype(np.uint64), prev_index[len(rows):]])
        index = rows.astype(np.uint64)
        self._prev = (data, label, index)
        self._current = (_wrap_host(data), _wrap_host(label.reshape(self._label_batch_shape())),
                         pad, index)
        return True

    def next(self):
        if not self.iter_next():
            raise StopIteration
        data, label, pad, index = self._current
        return DataBatch(data=[data], label=[label], pad=pad, index=index)

    def _batch(self):
        if self._current is None:
            raise MXNetValueError(f"{self._owner}: no current batch; call iter_next() or next() "
                                  f"first")
        return self._current

    def getdata(self):
        """The data NDArray of the current batch (one array, as MXNet's MXDataIter)."""
        return self._batch()[0]

    def getlabel(self):
        """The label NDArray of the current batch."""
        return self._batch()[1]

    def getpad(self):
        return self._batch()[2]

    def getindex(self):
        """Row numbers (uint64) of the current batch's samples."""
        return self._batch()[3]


# -- CSV ------------------------------------------------------------------------------------------
def _read_csv(path, shape, dtype, owner, what):
    """All rows of the CSV file(s) at ``path`` as ``(rows, *shape)``; a row of the wrong length,
    or a value that does not parse, is an error naming the file and the line."""
    width = math.prod(shape)
    parse = np.int64 if dtype.kind in "iu" else np.float64
    chunks = []
    for name in _input_files(path, owner, what):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # an empty file: "no data"
            try:
                values = np.loadtxt(name, delimiter=",", dtype=parse, comments=None, ndmin=2,
                                    encoding="utf-8")
            except (ValueError, UnicodeDecodeError):
                values = None
        if values is None or (values.size and values.shape[1] != width):
            _raise_bad_csv_line(name, shape, parse, owner, what)
        values = values.reshape(-1, width)
        chunks.append(_cast(values, dtype, owner, f"{what} file {name!r}"))
    return np.concatenate(chunks).reshape((-1,) + shape)


def _raise_bad_csv_line(name, shape, parse, owner, what):
    width = math.prod(shape)
    try:
        with open(name, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                fields = line.strip().split(",")
                if len(fields) != width:
                    raise MXNetValueError(
                        f"{owner}: line {lineno} of {what} file {name!r} has {len(fields)} "
                        f"values, but {what}_shape {shape} needs {width}")
                for field in fields:
                    try:
                        parse(field) if parse is np.float64 else int(field)
                    except ValueError:
                        raise MXNetValueError(
                            f"{owner}: line {lineno} of {what} file {name!r}: cannot read "
                            f"{field.strip()!r} as {np.dtype(parse).name}") from None
    except UnicodeDecodeError as err:
        raise MXNetFileError(f"{owner}: {what} file {name!r} is not UTF-8 text ({err})") from None
    raise MXNetFileError(f"{owner}: cannot read {what} file {name!r} as CSV")


class CSVIter(_RowFileIter):
    """Batches of rows of CSV files (MXNet 1.x ``mx.io.CSVIter``).

    Each line holds one sample: ``prod(data_shape)`` comma-separated numbers, reshaped to
    ``data_shape``. Labels come from ``label_csv`` (one line per sample, ``label_shape``), or are
    0 when it is not given. ``data_csv`` / ``label_csv`` may also name a directory: its files are
    read in name order. The files are read when the iterator is created.

    Parameters
    ----------
    data_csv : str
    data_shape : tuple of int
    label_csv : str, optional
    label_shape : tuple of int, default (1,)
        A ``(1,)`` label gives ``(batch_size,)`` label batches, as in MXNet.
    batch_size : int, default 1
    round_batch : bool, default True
        Fill a last incomplete batch with the first rows (``pad`` counts them); the ``reset()``
        after such an epoch is ignored, so the next epoch starts where the wrap stopped. False:
        the padding rows hold stale values of the previous batch; only ``pad`` marks them.
    prefetch_buffer : int, default 4
        Accepted for compatibility (the rows are read up front; see ``PrefetchingIter``).
    ctx : {'cpu', 'gpu'}, default 'gpu'
        Accepted for compatibility; batches are cpu NDArrays, as in MXNet.
    dtype : str, default 'float32'
        Values are parsed as integers for ``int32``/``int64``/``int8``/``uint8`` (out-of-range
        values are an error), else as floats.
    data_name, label_name : str
    """

    _owner = "CSVIter"

    def __init__(self, data_csv, data_shape, label_csv=None, label_shape=(1,), batch_size=1,
                 round_batch=True, prefetch_buffer=4, ctx="gpu", dtype="float32",
                 data_name="data", label_name="softmax_label"):
        super().__init__()
        owner = self._owner
        batch_size = _int_arg(batch_size, "batch_size", owner, 1)
        data_shape = _shape_arg(data_shape, "data_shape", owner)
        label_shape = _shape_arg(label_shape, "label_shape", owner)
        dtype = _dtype_arg(dtype, owner)
        _prefetch_args(owner, prefetch_buffer, ctx)
        self._data = _read_csv(data_csv, data_shape, dtype, owner, "data")
        n = len(self._data)
        if n == 0:
            raise MXNetValueError(f"{owner}: data_csv {os.fspath(data_csv)!r} has no rows")
        if label_csv is None or label_csv == "NULL":
            label_shape = (1,)  # MXNet's stand-in label is one 0 per sample, whatever label_shape
            self._label = np.zeros((n, 1), dtype)
        else:
            self._label = _read_csv(label_csv, label_shape, dtype, owner, "label")
            if len(self._label) < n:
                raise MXNetValueError(
                    f"{owner}: label_csv {os.fspath(label_csv)!r} has {len(self._label)} rows, "
                    f"fewer than the {n} rows of data_csv {os.fspath(data_csv)!r}")
            if len(self._label) > n:
                warnings.warn(f"{owner}: label_csv has {len(self._label)} rows, data_csv {n}; "
                              f"the extra labels are ignored", stacklevel=2)
        self._init_batching(n, batch_size, round_batch, data_shape, label_shape, dtype,
                            data_name, label_name)

    def _rows(self, rows):
        return self._data[rows], self._label[rows]


# -- LibSVM ---------------------------------------------------------------------------------------
def _read_libsvm(path, width, owner, what):
    """``(labels, rows)`` of LibSVM file(s): a float label per line, then zero-based
    ``index:value`` pairs, each row as ``(indices, values)``."""
    labels, rows = [], []
    for name in _input_files(path, owner, what):
        with open(name, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                tokens = line.split()
                if not tokens:
                    continue
                where = f"line {lineno} of {what} file {name!r}"
                try:
                    labels.append(float(tokens[0].split(":")[0]))  # 'label' or 'label:weight'
                    pairs = [t.split(":") for t in tokens[1:] if not t.startswith("qid:")]
                    indices = np.array([int(p[0]) for p in pairs], np.int64)
                    values = np.array([float(p[1]) for p in pairs], np.float64)
                except (ValueError, IndexError):
                    raise MXNetValueError(f"{owner}: {where} is not 'label index:value ...' "
                                          f"with integer indices: {line.strip()[:80]!r}") from None
                if indices.size and (indices.min() < 0 or indices.max() >= width):
                    raise MXNetValueError(
                        f"{owner}: {where} has feature index {int(indices.max())} outside the "
                        f"shape ({width},) (indices are zero-based)")
                if len(np.unique(indices)) != len(indices):
                    raise MXNetValueError(f"{owner}: {where} repeats a feature index")
                rows.append((indices, values))
    return np.array(labels, np.float64), rows


def _dense(rows, width, dtype):
    out = np.zeros((len(rows), width), dtype)
    for i, (indices, values) in enumerate(rows):
        out[i, indices] = values
    return out


class LibSVMIter(_RowFileIter):
    """Batches of LibSVM-format rows (MXNet 1.x ``mx.io.LibSVMIter``), as dense NDArrays.

    Each line is ``label index:value index:value ...`` with zero-based, distinct indices below
    ``data_shape[0]``. MXNet returns the data as a CSRNDArray; mxplug has dense storage only,
    so a batch is the dense ``(batch_size, data_shape[0])`` array of the same values (rows are
    kept sparse in memory and densified per batch). Without ``label_libsvm`` the label is the
    first number of each line, ``(batch_size,)``; with it, the label is the dense
    ``(batch_size, label_shape[0])`` array of that file's pairs (its own labels are ignored).

    Parameters
    ----------
    data_libsvm : str
        A file, or a directory whose files are read in name order.
    data_shape : tuple of one int
    label_libsvm : str, optional
    label_shape : tuple of one int, default (1,)
        Must be ``(1,)`` without ``label_libsvm`` and larger with it, as in MXNet.
    num_parts, part_index : int, default 1, 0
        Read only rows ``[n * part_index // num_parts, n * (part_index + 1) // num_parts)``
        (MXNet splits by byte ranges, so its parts differ slightly).
    batch_size : int, default 1
    round_batch : True
        The only mode MXNet supports for this iterator.
    prefetch_buffer, ctx
        Accepted for compatibility.
    dtype : str, default 'float32'
    data_name, label_name : str
    """

    _owner = "LibSVMIter"

    def __init__(self, data_libsvm, data_shape, label_libsvm=None, label_shape=(1,),
                 num_parts=1, part_index=0, batch_size=1, round_batch=True, prefetch_buffer=4,
                 ctx="gpu", dtype="float32", data_name="data", label_name="softmax_label"):
        super().__init__()
        owner = self._owner
        batch_size = _int_arg(batch_size, "batch_size", owner, 1)
        data_shape = _shape_arg(data_shape, "data_shape", owner)
        label_shape = _shape_arg(label_shape, "label_shape", owner)
        num_parts = _int_arg(num_parts, "num_parts", owner, 1)
        part_index = _int_arg(part_index, "part_index", owner, 0)
        dtype = _dtype_arg(dtype, owner)
        _prefetch_args(owner, prefetch_buffer, ctx)
        if len(data_shape) != 1:
            raise MXNetValueError(f"{owner}: data_shape must have one dimension, got {data_shape}")
        if part_index >= num_parts:
            raise MXNetValueError(f"{owner}: part_index {part_index} must be < num_parts "
                                  f"{num_parts}")
        if not round_batch:
            raise MXNetValueError(f"{owner}: only round_batch=True is supported (as in MXNet)")
        has_label_file = label_libsvm is not None and label_libsvm != "NULL"
        if has_label_file and (len(label_shape) != 1 or label_shape[0] < 2):
            raise MXNetValueError(f"{owner}: with label_libsvm, label_shape must be (k,) with "
                                  f"k > 1, got {label_shape}")
        if not has_label_file and label_shape != (1,):
            raise MXNetValueError(f"{owner}: without label_libsvm, label_shape must be (1,), got "
                                  f"{label_shape}")
        labels, rows = _read_libsvm(data_libsvm, data_shape[0], owner, "data")
        if has_label_file:
            _, label_rows = _read_libsvm(label_libsvm, label_shape[0], owner, "label")
            if len(label_rows) < len(rows):
                raise MXNetValueError(f"{owner}: label_libsvm has {len(label_rows)} rows, fewer "
                                      f"than the {len(rows)} of data_libsvm")
        n = len(rows)
        start, stop = n * part_index // num_parts, n * (part_index + 1) // num_parts
        self._rows_data = rows[start:stop]
        self._labels = labels[start:stop]
        self._label_rows = label_rows[start:stop] if has_label_file else None
        if not self._rows_data:
            raise MXNetValueError(f"{owner}: part {part_index} of {num_parts} of "
                                  f"{os.fspath(data_libsvm)!r} has no rows ({n} in all)")
        self._init_batching(len(self._rows_data), batch_size, True, data_shape, label_shape,
                            dtype, data_name, label_name)

    def _rows(self, rows):
        data = _dense([self._rows_data[i] for i in rows], self._data_shape[0], self._dtype)
        if self._label_rows is None:
            label = self._labels[rows].astype(self._dtype).reshape(-1, 1)
        else:
            label = _dense([self._label_rows[i] for i in rows], self._label_shape[0],
                           self._dtype)
        return data, label


# -- MNIST ----------------------------------------------------------------------------------------
_IDX_UBYTE = 0x08


def _read_idx(path, ndim, owner, what):
    """An idx-ubyte file (plain or gzip) as a uint8 array of the shape its header gives."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise MXNetFileError(f"{owner}: {what} file {path!r} does not exist") from None
    except (OSError, EOFError) as err:
        raise MXNetFileError(f"{owner}: cannot read {what} file {path!r} ({err})") from None
    head = 4 + 4 * ndim
    if len(raw) < head or raw[:2] != b"\0\0" or raw[2] != _IDX_UBYTE or raw[3] != ndim:
        raise MXNetFileError(
            f"{owner}: {what} file {path!r} is not an idx-ubyte file with {ndim} dimension(s) "
            f"(header {raw[:4].hex() or 'empty'}, expected 000008{ndim:02x})")
    dims = struct.unpack(f">{ndim}I", raw[4:head])
    need = math.prod(dims)
    if len(raw) - head < need:
        raise MXNetFileError(f"{owner}: {what} file {path!r} is truncated: its header says "
                             f"{dims} ({need} bytes), it holds {len(raw) - head}")
    return np.frombuffer(raw, np.uint8, count=need, offset=head).reshape(dims)


def _part(count, num_parts, part_index):
    """MXNet's MNISTIter split: ``[count / parts * index, count / parts * (index + 1))``."""
    return int(count / num_parts * part_index), int(count / num_parts * (part_index + 1))


class MNISTIter(DataIter):
    """Batches of the MNIST idx-ubyte files (MXNet 1.x ``mx.io.MNISTIter``).

    Images are scaled to [0, 1) by ``pixel / 256`` (MXNet's factor) as float32
    ``(batch_size, 1, rows, cols)``, or ``(batch_size, rows * cols)`` with ``flat``; labels are
    float32 ``(batch_size,)``. Only full batches are returned (``pad`` is always 0). Files may be
    gzip-compressed.

    Parameters
    ----------
    image, label : str, default './train-images-idx3-ubyte', './train-labels-idx1-ubyte'
    batch_size : int, default 128
    shuffle : bool, default True
        Shuffle once, when the iterator is created (as MXNet does): every epoch has the same
        order. The permutation is NumPy's ``RandomState(seed)``, not MXNet's C++ engine.
    flat : bool, default False
    seed : int, default 0
    silent : bool, default False
        False logs ``MNISTIter: load N images, shuffle=..., shape=...`` at INFO level.
    num_parts, part_index : int, default 1, 0
        Read only part ``part_index`` of ``num_parts`` (MXNet's split).
    prefetch_buffer, ctx
        Accepted for compatibility.
    data_shape : tuple, optional
        Accepted and unused, as in MXNet (MNIST scripts pass ``(784,)`` with ``flat``); the
        shape comes from the file and ``flat``.
    dtype : str, optional
        Output dtype (default float32).
    data_name, label_name : str
    """

    _owner = "MNISTIter"

    def __init__(self, image="./train-images-idx3-ubyte", label="./train-labels-idx1-ubyte",
                 batch_size=128, shuffle=True, flat=False, seed=0, silent=False, num_parts=1,
                 part_index=0, prefetch_buffer=4, ctx="gpu", dtype=None, data_name="data",
                 label_name="softmax_label", data_shape=None):
        owner = self._owner
        super().__init__(_int_arg(batch_size, "batch_size", owner, 1))
        num_parts = _int_arg(num_parts, "num_parts", owner, 1)
        part_index = _int_arg(part_index, "part_index", owner, 0)
        if part_index >= num_parts:
            raise MXNetValueError(f"{owner}: part_index {part_index} must be < num_parts "
                                  f"{num_parts}")
        _prefetch_args(owner, prefetch_buffer, ctx)
        self._dtype = _dtype_arg(dtype, owner)
        images = _read_idx(image, 3, owner, "image")
        labels = _read_idx(label, 1, owner, "label")
        if len(images) != len(labels):
            raise MXNetValueError(f"{owner}: image file {os.fspath(image)!r} has {len(images)} "
                                  f"images but label file {os.fspath(label)!r} has {len(labels)} "
                                  f"labels")
        start, stop = _part(len(images), num_parts, part_index)
        self._images, self._labels = images[start:stop], labels[start:stop]
        self._sample_ids = np.arange(start, stop, dtype=np.uint64)
        if shuffle:
            order = np.random.RandomState(_int_arg(seed, "seed", owner, 0)).permutation(
                len(self._images))
            self._images, self._labels = self._images[order], self._labels[order]
            self._sample_ids = self._sample_ids[order]
        if len(self._images) < self.batch_size:
            raise MXNetValueError(f"{owner}: batch_size {self.batch_size} is larger than the "
                                  f"{len(self._images)} images of part {part_index} of "
                                  f"{num_parts} of {os.fspath(image)!r}")
        rows, cols = self._images.shape[1:]
        self._sample_shape = (rows * cols,) if flat else (1, rows, cols)
        self._data_name, self._label_name = data_name, label_name
        self._loc = 0
        self._current = None
        if not silent:
            logging.info("MNISTIter: load %d images, shuffle=%d, shape=%s", len(self._images),
                         int(bool(shuffle)), (self.batch_size,) + self._sample_shape)

    @property
    def provide_data(self):
        return [DataDesc(self._data_name, (self.batch_size,) + self._sample_shape, self._dtype)]

    @property
    def provide_label(self):
        return [DataDesc(self._label_name, (self.batch_size,), self._dtype)]

    def reset(self):
        self._loc = 0
        self._current = None

    def iter_next(self):
        self._current = None
        start, stop = self._loc, self._loc + self.batch_size
        if stop > len(self._images):
            return False
        self._loc = stop
        # pixel * (1/256) is exact in float32, so this is MXNet's value bit for bit
        pixels = self._images[start:stop].astype(np.float32) * np.float32(1 / 256)
        data = pixels.reshape((self.batch_size,) + self._sample_shape).astype(self._dtype)
        label = self._labels[start:stop].astype(self._dtype)
        self._current = (_wrap_host(data), _wrap_host(label), self._sample_ids[start:stop])
        return True

    def next(self):
        if not self.iter_next():
            raise StopIteration
        data, label, index = self._current
        return DataBatch(data=[data], label=[label], pad=0, index=index)

    def _batch(self):
        if self._current is None:
            raise MXNetValueError("MNISTIter: no current batch; call iter_next() or next() first")
        return self._current

    def getdata(self):
        return self._batch()[0]

    def getlabel(self):
        return self._batch()[1]

    def getpad(self):
        self._batch()
        return 0

    def getindex(self):
        """Positions (uint64) of the batch's samples in the files."""
        return self._batch()[2]
