"""Errors and small helpers shared by every layer."""

from __future__ import annotations

import os
import tempfile

import numpy as np

__all__ = [
    "MXNetError",
    "MXNetValueError",
    "MXNetTypeError",
    "MXNetIndexError",
    "MXNetNotImplementedError",
    "dtype_of",
    "dtype_name",
    "is_float",
    "bfloat16",
    "SUPPORTED_DTYPES",
    "LOW_PRECISION",
    "MXNetFileError",
    "AtomicFile",
    "data_dir",
    "atomic_write",
    "py_str",
    "numeric_types",
    "integer_types",
    "string_types",
]


class MXNetError(Exception):
    """Base class of every error mxplug raises on bad input (MXNet's ``mx.base.MXNetError``)."""


class MXNetValueError(MXNetError, ValueError):
    """Bad shapes, values or attributes."""


class MXNetTypeError(MXNetError, TypeError):
    """Bad dtypes or argument types."""


class MXNetIndexError(MXNetError, IndexError):
    """An index out of range."""


class MXNetNotImplementedError(MXNetError, NotImplementedError):
    """An op or feature a backend does not provide."""


class MXNetFileError(MXNetError, OSError):
    """A file that cannot be read or written (missing, truncated, corrupted, foreign format)."""


class NotImplementedForSymbol(MXNetError, NotImplementedError):
    """An NDArray-only function called on a Symbol (MXNet's ``base.NotImplementedForSymbol``)."""

    def __init__(self, function, alias, *args):
        super().__init__()
        self.function = getattr(function, "__name__", str(function))
        self.alias, self.args = alias, [str(type(a)) for a in args]

    def __str__(self):
        msg = f"Function {self.function}"
        if self.alias:
            msg += f' (namely operator "{self.alias}")'
        if self.args:
            msg += " with arguments (" + ", ".join(self.args) + ")"
        return msg + " is not implemented for Symbol and only available in NDArray."


mx_real_t = np.float32  # MXNet's base.mx_real_t: the default real type


_UMASK: list = []


def _as_list(obj):
    """``obj`` if it is a list or tuple, else ``[obj]`` (MXNet's helper)."""
    return obj if isinstance(obj, (list, tuple)) else [obj]


#: MXNet's type tuples, which code written for it imports from ``mxnet.base``.
numeric_types = (float, int, np.generic)
integer_types = (int, np.int32, np.int64)
string_types = (str,)


def py_str(x):
    """``x`` as a str (bytes are decoded as UTF-8): MXNet's helper for C strings."""
    return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def _umask() -> int:
    """The process umask, read once (reading it means setting it, briefly)."""
    if not _UMASK:
        mask = os.umask(0o022)
        os.umask(mask)
        _UMASK.append(mask)
    return _UMASK[0]


def data_dir() -> str:
    """MXNet's data directory (datasets, embeddings, model files): ``$MXNET_HOME`` or
    ``~/.mxnet``."""
    return os.path.expanduser(os.environ.get("MXNET_HOME", os.path.join("~", ".mxnet")))


class AtomicFile:
    """A file written under a temporary name next to ``fname`` and renamed over it by
    :meth:`commit`: nobody sees it half-written, and :meth:`discard` (or a crash) leaves any
    previous file intact. It gets the mode ``open()`` would give (not ``mkstemp``'s 0600) and
    reaches the disk before the rename. A directory that cannot be written raises
    :class:`MXNetFileError` naming ``fname`` (``what`` says what it is: "symbol file", ...).
    ``file`` is the open temporary file (binary, or text with ``text=True``)."""

    def __init__(self, fname, what="file", text=False):
        self.fname = os.fspath(fname)
        directory = os.path.dirname(os.path.abspath(self.fname))
        try:
            fd, self._tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=directory)
        except OSError as e:
            raise MXNetFileError(f"cannot write the {what} {self.fname!r}: {e.strerror or e}"
                                 ) from None
        os.chmod(self._tmp, 0o666 & ~_umask())
        self.file = os.fdopen(fd, "w" if text else "wb")

    def commit(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self._tmp, self.fname)

    def discard(self) -> None:
        self.file.close()
        if os.path.exists(self._tmp):
            os.unlink(self._tmp)


def atomic_write(fname, write, what="file") -> None:
    """Call ``write(f)`` on a binary :class:`AtomicFile` for ``fname``, then commit it: a crash
    or an error leaves any previous file intact, and no partial file behind."""
    out = AtomicFile(fname, what)
    try:
        write(out.file)
        out.commit()
    except BaseException:
        out.discard()
        raise


#: The dtypes an NDArray may hold (MXNet 1.x set plus bool; bfloat16 with ``ml_dtypes``).
SUPPORTED_DTYPES = ("float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool",
                    "bfloat16")
#: Floating-point dtypes narrower than float32 (what mixed precision computes in).
LOW_PRECISION = ("float16", "bfloat16")
_DTYPE_CACHE: dict = {}
#: Called once, with the dtype, the first time ``dtype_of`` resolves a low-precision dtype:
#: the NumPy backend registers here to switch on its float32-accumulating GEMMs (a seam that
#: keeps ``base`` free of imports from the layers above).
LOW_PRECISION_HOOKS: list = []
_low_precision_seen = False


def bfloat16():
    """The ``bfloat16`` NumPy dtype from ``ml_dtypes`` (imported on first use, so that
    ``import mxplug`` stays fast); a clear error when it is not installed."""
    try:
        import ml_dtypes
    except ImportError:
        raise MXNetTypeError(
            "dtype bfloat16 needs the ml_dtypes package: pip install mxplug[amp]"
        ) from None
    return np.dtype(ml_dtypes.bfloat16)


def is_float(dtype) -> bool:
    """Whether ``dtype`` is a floating-point type (bfloat16 included: NumPy calls it kind 'V')."""
    dt = np.dtype(dtype)
    return dt.kind == "f" or dt.name == "bfloat16"


def _note_low_precision(dt):
    global _low_precision_seen
    if not _low_precision_seen:
        _low_precision_seen = True
        for hook in list(LOW_PRECISION_HOOKS):
            hook(dt)


def dtype_of(dtype, default="float32") -> np.dtype:
    """Normalise a dtype given as a string, NumPy type or np.dtype; reject what mxplug lacks."""
    try:
        return _DTYPE_CACHE[dtype]
    except (KeyError, TypeError):
        pass
    if dtype is None:
        return dtype_of(default)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        if not (isinstance(dtype, str) and dtype.strip().lower() == "bfloat16"):
            raise MXNetTypeError(
                f"unknown dtype {dtype!r}; supported: {', '.join(SUPPORTED_DTYPES)}"
            ) from None
        dt = bfloat16()
    if dt.name not in SUPPORTED_DTYPES:
        raise MXNetTypeError(
            f"dtype {dt.name} is not supported; supported: {', '.join(SUPPORTED_DTYPES)}"
        )
    if dt.name in LOW_PRECISION:
        _note_low_precision(dt)
    try:
        _DTYPE_CACHE[dtype] = dt
    except TypeError:
        pass
    return dt


def dtype_name(dtype) -> str:
    return np.dtype(dtype).name
