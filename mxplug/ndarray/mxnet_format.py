"""MXNet 1.x's binary NDArray file format (``mx.nd.save`` / ``mx.nd.load``), read and written.

Layout (little-endian; MXNet's ``src/ndarray/ndarray.cc``, ``NDArray::Save/Load``)::

    uint64 0x112              list magic (kMXAPINDArrayListMagic)
    uint64 0                  reserved
    uint64 n                  then n array records:
        uint32 magic          0xF993fac9 (V2) | 0xF993faca (V3: NumPy shape semantics)
        int32  stype          0 dense (1 row_sparse, 2 csr: refused here)
        int32  ndim, int64 dims[ndim]
        int32  dev_type, int32 dev_id     (1 = cpu, 2 = gpu)
        int32  type_flag      mshadow's codes, see TYPE_FLAGS
        bytes  data           C order
    uint64 k                  then k names (k is 0 for a list, n for a dict):
        uint64 length, bytes  UTF-8

Older records (V1 magic 0xF993fac8, and the pre-V1 one whose "magic" is ``ndim`` followed by
uint32 dims) are read too. Nothing here unpickles or evaluates anything: every length is checked
against what is left of the buffer before it is used, so a truncated or corrupted file gives an
:class:`NDArrayFileError` naming the file and the array, never a wrong array.

The same module reads mxplug's own ``.npz`` parameter files (:func:`read_file` dispatches on the
first bytes), so ``mx.nd.load`` opens both.
"""

from __future__ import annotations

import io
import math
import os
import struct
import zipfile

import numpy as np

from .. import base
from ..base import MXNetError, MXNetFileError, MXNetTypeError, MXNetValueError, atomic_write
from .ndarray import NDArray, _wrap_host

__all__ = ["save", "load", "load_frombuffer", "save_tobuffer", "dump", "dumps", "loads",
           "read_file", "is_mxnet_format", "type_flag", "NDArrayFileError",
           "TYPE_FLAGS"]

LIST_MAGIC = 0x112
V1_MAGIC, V2_MAGIC, V3_MAGIC = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
_STYPES = {-1: "undefined", 0: "default", 1: "row_sparse", 2: "csr"}
_DEV_CPU, _DEV_GPU = 1, 2
#: mshadow ``TypeFlag`` -> dtype name (MXNet 1.9).
TYPE_FLAGS = {0: "float32", 1: "float64", 2: "float16", 3: "uint8", 4: "int32", 5: "int8",
              6: "int64", 7: "bool", 8: "int16", 9: "uint16", 10: "uint32", 11: "uint64",
              12: "bfloat16"}
_FLAG_OF = {name: flag for flag, name in TYPE_FLAGS.items()}
_ITEMSIZE = {0: 4, 1: 8, 2: 2, 3: 1, 4: 4, 5: 1, 6: 8, 7: 1, 8: 2, 9: 2, 10: 4, 11: 8, 12: 2}
_MAX_NDIM = 32  # more is corruption (and tells a pre-V1 record, which starts with ndim)


class NDArrayFileError(MXNetFileError):
    """An array file that cannot be read or written (missing, truncated, corrupted, foreign)."""


def type_flag(dtype):
    """MXNet's type code of ``dtype`` (``'float32'`` -> 0), or None where MXNet has none."""
    return _FLAG_OF.get(np.dtype(dtype).name if not isinstance(dtype, str) else dtype)


def is_mxnet_format(head: bytes) -> bool:
    """Whether ``head`` (a file's first 8+ bytes) starts an MXNet ``nd.save`` file."""
    return len(head) >= 8 and int.from_bytes(head[:8], "little") == LIST_MAGIC


# -- writing ---------------------------------------------------------------------------------------
def _record(value) -> bytes:
    """One array record: MXNet writes V2; a 0-d array (which MXNet 1.x only has under NumPy
    shape semantics) gets V3, the magic MXNet writes in that mode."""
    if isinstance(value, NDArray):
        ctx = value.context
        host = value.asnumpy()
        dev = (_DEV_GPU, ctx.device_id) if ctx.device_type == "gpu" else \
            (_DEV_CPU, ctx.device_id if ctx.device_type == "cpu" else 0)
    else:
        host, dev = np.asarray(value), (_DEV_CPU, 0)
    flag = _FLAG_OF.get(host.dtype.name)
    if flag is None:
        raise MXNetTypeError(f"save: dtype {host.dtype.name} has no MXNet type flag "
                             f"(MXNet's file format holds {', '.join(_FLAG_OF)})")
    magic = V3_MAGIC if host.ndim == 0 else V2_MAGIC
    head = struct.pack(f"<Iii{host.ndim}q", magic, 0, host.ndim, *host.shape)
    data = np.ascontiguousarray(host, dtype=host.dtype.newbyteorder("<")).tobytes()
    return head + struct.pack("<iii", dev[0], dev[1], flag) + data


def _chunks(arrays, names):
    """The pieces of an ``nd.save`` file, one array at a time (a large model is never copied
    whole into one buffer)."""
    yield struct.pack("<QQQ", LIST_MAGIC, 0, len(arrays))
    for a in arrays:
        yield _record(a)
    names = list(names or ())
    yield struct.pack("<Q", len(names))
    for name in names:
        raw = name.encode("utf-8")
        yield struct.pack("<Q", len(raw)) + raw


def dumps(arrays, names=None) -> bytes:
    """The bytes of an ``nd.save`` file holding ``arrays`` (NDArrays or NumPy arrays), named by
    ``names`` (a list of str of the same length) or unnamed (a list file)."""
    return b"".join(_chunks(arrays, names))


def dump(fname, arrays, names=None) -> None:
    """Write :func:`dumps`'s bytes to ``fname`` atomically, streaming one array at a time."""
    def write(f):
        for chunk in _chunks(arrays, names):
            f.write(chunk)
    atomic_write(fname, write)




def _split(data, fn):
    """``(arrays, names)`` from ``nd.save``'s ``data`` argument, checked as MXNet checks it."""
    if isinstance(data, NDArray):
        data = [data]
    if isinstance(data, dict):
        if any(not isinstance(k, str) for k in data) or \
                any(not isinstance(v, NDArray) for v in data.values()):
            raise MXNetTypeError(f"{fn}: save only accept dict str->NDArray or list of NDArray")
        return list(data.values()), list(data)
    if isinstance(data, list):
        if any(not isinstance(v, NDArray) for v in data):
            raise MXNetTypeError(f"{fn}: save only accept dict str->NDArray or list of NDArray")
        return data, None
    raise MXNetValueError(f"{fn}: data needs to either be a NDArray, dict of str, NDArray pairs "
                          f"or a list of NDarrays (got {type(data).__name__})")


def save(fname, data) -> None:
    """Save an NDArray, a list of NDArrays or a dict of str -> NDArray in MXNet's binary format.

    The file is byte for byte what MXNet 1.x's ``mx.nd.save`` writes for the same arrays on
    ``cpu()``, so MXNet reads it back; it is written atomically (temporary file + rename).

    Parameters
    ----------
    fname : str or os.PathLike
        The file name.
    data : NDArray, list of NDArray, or dict of str to NDArray
        What to save. A dict keeps its keys; :func:`load` returns a dict for it, else a list.

    Examples
    --------
    >>> mx.nd.save("my_dict", {"x": mx.nd.zeros((2, 3)), "y": mx.nd.ones((1, 4))})
    >>> sorted(mx.nd.load("my_dict"))
    ['x', 'y']
    """
    if not isinstance(fname, (str, os.PathLike)):
        raise MXNetTypeError("save: fname required to be a string")
    arrays, names = _split(data, "save")
    dump(fname, arrays, names)


def save_tobuffer(data, _fn="save_tobuffer") -> bytes:
    """The bytes :func:`save` would write (mxplug's counterpart of :func:`load_frombuffer`)."""
    arrays, names = _split(data, _fn)
    return dumps(arrays, names)


# -- reading ---------------------------------------------------------------------------------------
class _Reader:
    """Bounds-checked little-endian reads from a buffer; errors say where and what was cut."""

    def __init__(self, buf, source):
        self.buf, self.pos, self.source = memoryview(buf).cast("B"), 0, source

    @property
    def left(self):
        return len(self.buf) - self.pos

    def take(self, n, what):
        if n > self.left:
            raise NDArrayFileError(
                f"{self.source} (MXNet's binary NDArray format) is truncated or corrupted: "
                f"{what} needs {n} bytes at offset {self.pos}, only {self.left} left")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def corrupt(self, why):
        """The error for a file whose structure is impossible."""
        return NDArrayFileError(f"{self.source} (MXNet's binary NDArray format) is corrupted: "
                                f"{why}")

    def unpack(self, fmt, what):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))


class _Skip(Exception):
    """A record read to its end but not loadable: ``reason`` is reported with its key."""

    def __init__(self, reason):
        self.reason = reason


class _UnknownFlag(Exception):
    def __init__(self, index, flag):
        self.index, self.flag = index, flag


def _shape(r, ndim, what, legacy=False):
    if not 0 <= ndim <= _MAX_NDIM:
        raise r.corrupt(f"{what} has {ndim} dimensions")
    dims = r.unpack(f"{ndim}{'I' if legacy else 'q'}", f"the shape of {what}")
    if any(d < 0 for d in dims):
        raise r.corrupt(f"{what} has the shape {dims}")
    return tuple(dims)


def _numpy_dtype(name):
    """The NumPy dtype of a type flag's name (None: bfloat16 without ml_dtypes)."""
    if name == "bfloat16":
        try:
            import ml_dtypes
        except ImportError:
            return None
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def _data(r, shape, flag, what, index, itemsize_guess):
    """The array of one record's data; a type flag unknown to MXNet stops the read unless the
    caller guesses its item size (only to find the record's key for the error message)."""
    name = TYPE_FLAGS.get(flag)
    size = _ITEMSIZE.get(flag, itemsize_guess)
    if size is None:
        raise _UnknownFlag(index, flag)
    count = math.prod(shape)  # Python ints: no overflow, checked against the bytes left
    raw = r.take(count * size, f"the data of {what}")
    if name is None:
        raise _Skip(f"unknown type flag {flag} (MXNet 1.9 knows 0..12)")
    dtype = _numpy_dtype(name)
    supported = base.SUPPORTED_DTYPES
    if name not in supported or dtype is None:
        why = "needs the ml_dtypes package" if name in supported else "is not supported by mxplug"
        raise _Skip(f"dtype {name} (MXNet type flag {flag}) {why} (supported: "
                    f"{', '.join(supported)})")
    arr = np.frombuffer(raw, dtype=dtype.newbyteorder("<"), count=count)
    return arr.astype(dtype.newbyteorder("="), copy=True).reshape(shape)


def _read_record(r, index, itemsize_guess):
    what = f"array #{index}"
    (magic,) = r.unpack("I", f"the header of {what}")
    if magic in (V2_MAGIC, V3_MAGIC):
        (stype,) = r.unpack("i", f"the storage type of {what}")
        if stype == -1:  # MXNet saves an uninitialised NDArray as magic, -1, ndim 0 (or -1)
            if r.unpack("i", f"the shape of {what}")[0] in (0, -1):
                raise _Skip("an uninitialised NDArray (no shape) was saved")
            raise r.corrupt(f"{what} has a shape but an undefined storage type")
        if stype != 0:
            kind = _STYPES.get(stype, f"unknown ({stype})")
            if stype in (1, 2):
                _skip_sparse(r, stype, what)
                raise _Skip(f"{kind} storage: mxplug reads dense arrays only; save it after "
                            f".tostype('default') in MXNet")
            raise r.corrupt(f"{what} has the storage type {kind}")
        (ndim,) = r.unpack("i", f"the shape of {what}")
        if ndim == -1 and magic == V3_MAGIC or ndim == 0 and magic == V2_MAGIC:
            raise _Skip("an uninitialised NDArray (no shape) was saved")
        shape = _shape(r, ndim, what)
    elif magic == V1_MAGIC:
        (ndim,) = r.unpack("i", f"the shape of {what}")
        shape = _shape(r, ndim, what)
        if ndim == 0:
            raise _Skip("an uninitialised NDArray (no shape) was saved")
    elif magic <= _MAX_NDIM:  # pre-V1: the first word is ndim, dims are uint32
        if magic == 0:
            raise _Skip("an uninitialised NDArray (no shape) was saved")
        shape = _shape(r, magic, what, legacy=True)
    else:
        raise r.corrupt(f"{what} starts with the unknown magic {magic:#x}")
    r.unpack("ii", f"the context of {what}")  # arrays load on cpu(), as MXNet without a GPU
    (flag,) = r.unpack("i", f"the type flag of {what}")
    return _data(r, shape, flag, what, index, itemsize_guess)


def _skip_sparse(r, stype, what):
    """Read past a sparse record (so that the error can name its key)."""
    sshape = _shape(r, r.unpack("i", f"the storage shape of {what}")[0], what)
    _shape(r, r.unpack("i", f"the shape of {what}")[0], what)  # the dense shape: not needed
    r.unpack("ii", f"the context of {what}")
    (flag,) = r.unpack("i", f"the type flag of {what}")
    aux = []
    for _ in range(1 if stype == 1 else 2):  # row_sparse: indices; csr: indptr, indices
        (aux_flag,) = r.unpack("i", f"an aux type flag of {what}")
        aux.append((aux_flag, _shape(r, r.unpack("i", f"an aux shape of {what}")[0], what)))
    for f, s in [(flag, sshape)] + aux:
        if f not in _ITEMSIZE:
            raise r.corrupt(f"{what} has the unknown type flag {f}")
        r.take(math.prod(s) * _ITEMSIZE[f], f"the data of {what}")


def _parse(buf, source, itemsize_guess=None):
    r = _Reader(buf, source)
    if r.left < 8 or int.from_bytes(r.buf[:8], "little") != LIST_MAGIC:
        head = bytes(r.buf[:8])
        raise NDArrayFileError(f"{source} is not in MXNet's binary NDArray format: it starts "
                               f"with {head.hex() or 'nothing'}, not the list magic 0x112")
    r.unpack("QQ", "the file header")
    (count,) = r.unpack("Q", "the number of arrays")
    if count > r.left // 4:
        raise r.corrupt(f"it claims {count} arrays in {r.left} bytes")
    arrays, problems = [], {}
    for i in range(count):
        try:
            arrays.append(_read_record(r, i, itemsize_guess))
        except _Skip as s:
            arrays.append(None)
            problems[i] = s.reason
    (nnames,) = r.unpack("Q", "the number of names")
    if nnames not in (0, count):
        raise r.corrupt(f"{count} arrays but {nnames} names")
    names = []
    for i in range(nnames):
        (n,) = r.unpack("Q", f"the length of name #{i}")
        raw = bytes(r.take(n, f"name #{i}"))
        try:
            names.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise r.corrupt(f"name #{i} is not UTF-8: {raw[:40]!r}") from None
    if r.left:
        raise r.corrupt(f"{r.left} unexpected bytes after the names")
    return arrays, names, problems


def _key(names, i):
    return f"key {names[i]!r} (array #{i})" if names else f"array #{i}"


def loads(buf, source="<buffer>"):
    """Decode an ``nd.save`` file's bytes: a list of NumPy arrays, or a dict when the file has
    names. ``source`` names the file in errors."""
    try:
        arrays, names, problems = _parse(buf, source)
    except _UnknownFlag as e:
        names = None
        for guess in (4, 8, 2, 1):  # find the key the failing record has, for the message
            try:
                names = _parse(buf, source, itemsize_guess=guess)[1]
                break
            except (NDArrayFileError, _UnknownFlag):
                continue
        raise NDArrayFileError(f"cannot load {source}: {_key(names, e.index)} has the unknown "
                               f"type flag {e.flag} (MXNet 1.9 knows 0..12)") from None
    if problems:
        rows = "; ".join(f"{_key(names, i)}: {why}" for i, why in problems.items())
        raise NDArrayFileError(f"cannot load {source}: {rows}")
    return dict(zip(names, arrays)) if names else arrays


def _read_npz(f, fname):
    """mxplug's ``.npz`` parameter files: ``{key: numpy array}``; objects are never unpickled."""
    try:
        with np.load(f, allow_pickle=False) as z:
            return {key: z[key] for key in z.files}  # reading checks each member's CRC
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError) as e:
        why = str(e) or type(e).__name__
        if "pickle" in why:
            why = "it holds Python objects, which are never loaded (no pickle)"
        raise NDArrayFileError(f"{fname!r} is truncated or corrupted, or not an array file "
                               f"(an .npz archive or MXNet's binary format): {why}") from None


def read_file(fname):
    """Read an array file of either format as NumPy arrays: MXNet's binary ``nd.save`` format (a
    list, or a dict when it has names) or mxplug's ``.npz`` parameter files (a dict)."""
    fname = os.fspath(fname)
    try:
        with open(fname, "rb") as f:
            buf = f.read()
    except OSError as e:
        raise NDArrayFileError(f"cannot read {fname!r}: {e.strerror or e}") from None
    if is_mxnet_format(buf):
        return loads(buf, repr(fname))
    if buf.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _read_npz(io.BytesIO(buf), fname)
    what = "it is empty" if not buf else f"it starts with {buf[:8].hex()}"
    raise NDArrayFileError(f"{fname!r} is not an array file (MXNet's binary nd.save format or "
                           f"an .npz archive): {what}")


def _to_ndarrays(data, source):
    """NDArrays on cpu() (an ``.npz`` member of a dtype mxplug lacks is named in the error)."""
    items = data.items() if isinstance(data, dict) else enumerate(data)
    out = {}
    for key, value in items:
        try:
            out[key] = _wrap_host(value)
        except MXNetError as e:
            raise NDArrayFileError(f"cannot load {source}: {key!r}: {e}") from None
    return out if isinstance(data, dict) else list(out.values())


def load(fname):
    """Load arrays saved by :func:`save` or MXNet 1.x's ``mx.nd.save`` (or an ``.npz`` file).

    Parameters
    ----------
    fname : str or os.PathLike
        The file name.

    Returns
    -------
    list of NDArray or dict of str to NDArray
        A dict when the file has names (saved from a dict), else a list; on ``cpu()``.

    Raises
    ------
    NDArrayFileError
        The file is missing, truncated, corrupted, or holds arrays mxplug cannot represent
        (sparse storage, unsupported dtypes); the message names the file and the key.
    """
    if not isinstance(fname, (str, os.PathLike)):
        raise MXNetTypeError("load: fname required to be a string")
    return _to_ndarrays(read_file(fname), repr(os.fspath(fname)))


def load_frombuffer(buf):
    """Like :func:`load`, from the bytes of an ``nd.save`` file."""
    if not isinstance(buf, (str, bytes, bytearray, memoryview)):
        raise MXNetTypeError("load_frombuffer: buf required to be a string or bytes")
    if isinstance(buf, str):
        buf = buf.encode("latin-1")  # MXNet passes a str's bytes through unchanged
    return _to_ndarrays(loads(buf), "<buffer>")
