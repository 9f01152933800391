"""The parameter file format: a NumPy ``.npz`` archive, no pickle, written atomically.

A file holds one array per parameter, stored under its key as a standard ``.npy`` member of a
zip archive (``numpy.savez``): ``save_parameters`` uses structural keys (``0.weight``,
``features.3.bias``), ``ParameterDict.save`` full names (``dense0_weight``) and ``export`` MXNet's
``arg:``/``aux:`` prefixed names. Any program with NumPy reads it
(``np.load(f, allow_pickle=False)``); no backend is involved, so a file written on one backend
loads on every other. Object arrays are refused on both sides, so loading never runs code.

Writes go to a temporary file in the target directory, renamed over the target only when
complete (``os.replace``): a crash leaves the old file intact. Reading checks every member (CRC
and ``.npy`` header), so a truncated or corrupted file fails at load time with an error naming
the file instead of producing wrong weights later.

MXNet's own binary ``.params`` format is recognised (by its magic number) and refused with an
explanation; reading it is left to a later issue.
"""

from __future__ import annotations

import os
import tempfile
import zipfile

import numpy as np

from ..base import MXNetError

__all__ = ["save", "load", "ParameterFileError"]

#: ``kMXAPINDArrayListMagic``: the first 8 bytes of an MXNet ``nd.save`` file.
_MXNET_MAGIC = 0x112


class ParameterFileError(MXNetError, OSError):
    """A parameter file that cannot be read (missing, truncated, corrupted, foreign format)."""


def _host(value):
    """A NumPy array from an NDArray (its host copy) or array-like; object dtypes refused."""
    arr = value.asnumpy() if hasattr(value, "asnumpy") else np.asarray(value)
    if arr.dtype.hasobject:
        raise MXNetError("parameter files hold numeric arrays only (object dtype refused)")
    return np.ascontiguousarray(arr)


def save(fname, arrays) -> None:
    """Write ``{key: NDArray or array}`` to ``fname`` as ``.npz`` (atomic; no pickle).

    Parameters
    ----------
    fname : str or os.PathLike
        Target path; written exactly as given (NumPy's habit of appending ``.npz`` is avoided).
    arrays : dict of str to NDArray or numpy.ndarray
        What to store. Keys may contain ``.``, ``:`` and ``_``.
    """
    fname = os.fspath(fname)
    host = {}
    for key, value in arrays.items():
        if not isinstance(key, str) or not key:
            raise MXNetError(f"save: keys must be non-empty strings, got {key!r}")
        host[key] = _host(value)
    directory = os.path.dirname(os.path.abspath(fname))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **host)  # a file object: no suffix added
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, fname)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(fname) -> dict:
    """Read a file written by :func:`save`: ``{key: numpy.ndarray}`` in file order.

    Raises
    ------
    ParameterFileError
        The file is missing, unreadable, not an ``.npz`` archive (truncated, corrupted, MXNet's
        binary format), or holds a member that is not a plain numeric array.
    """
    fname = os.fspath(fname)
    try:
        with open(fname, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise ParameterFileError(f"cannot read parameter file {fname!r}: {e.strerror or e}") \
            from None
    if len(head) == 8 and int.from_bytes(head, "little") == _MXNET_MAGIC:
        raise ParameterFileError(
            f"{fname!r} is in MXNet's binary NDArray format, which mxplug does not read yet; "
            f"convert it once with MXNet (mx.nd.load -> numpy.savez) or re-save it with mxplug")
    if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        what = "it is empty" if not head else "it does not start like a zip archive"
        raise ParameterFileError(f"{fname!r} is not a parameter file (mxplug writes NumPy .npz "
                                 f"archives): {what}")
    try:
        out = {}
        with np.load(fname, allow_pickle=False) as z:
            for key in z.files:
                arr = z[key]  # reads the member: CRC and .npy header are checked here
                out[key] = arr
        return out
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError) as e:
        why = str(e) or type(e).__name__
        if "pickle" in why:
            why = "it holds Python objects, which are never loaded (no pickle)"
        raise ParameterFileError(
            f"parameter file {fname!r} is truncated or corrupted, or not a parameter file "
            f"(mxplug writes NumPy .npz archives): {why}") from None
