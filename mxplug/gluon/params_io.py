"""Parameter files: mxplug writes NumPy ``.npz`` archives (no pickle, atomically) and reads those
and MXNet 1.x's binary ``.params`` files.

A ``.npz`` file holds one array per parameter, stored under its key as a standard ``.npy``
member of a zip archive (``numpy.savez``): ``save_parameters`` uses structural keys
(``0.weight``, ``features.3.bias``) and ``ParameterDict.save`` full names (``dense0_weight``).
Any program with NumPy reads it (``np.load(f, allow_pickle=False)``); no backend is involved, so
a file written on one backend loads on every other. Object arrays are refused on both sides, so
loading never runs code. (``HybridBlock.export`` writes MXNet's own format instead, with
``arg:``/``aux:`` keys, so that MXNet 1.x imports mxplug's exports; see
:mod:`mxplug.ndarray.mxnet_format`.)

Writes go to a temporary file in the target directory, renamed over the target only when
complete (``os.replace``): a crash leaves the old file intact. Reading checks every member (CRC
and ``.npy`` header; every length of an MXNet file), so a truncated or corrupted file fails at
load time with an error naming the file instead of producing wrong weights later.
"""

from __future__ import annotations

import os

import numpy as np

from ..base import MXNetError, atomic_write
from ..ndarray.mxnet_format import NDArrayFileError, read_file

__all__ = ["save", "load", "ParameterFileError"]


class ParameterFileError(NDArrayFileError):
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
    host = {}
    for key, value in arrays.items():
        if not isinstance(key, str) or not key:
            raise MXNetError(f"save: keys must be non-empty strings, got {key!r}")
        host[key] = _host(value)
    atomic_write(fname, lambda f: np.savez(f, **host))  # a file object: no suffix added


def load(fname) -> dict:
    """Read a parameter file: ``{key: numpy.ndarray}`` in file order.

    Reads mxplug's ``.npz`` files and MXNet's binary ``.params`` files (``mx.nd.save`` of a
    dict, as MXNet's ``save_parameters`` and ``export`` write them), told apart by their first
    bytes.

    Raises
    ------
    ParameterFileError
        The file is missing, unreadable, truncated or corrupted, in neither format, holds a
        member that is not a plain numeric array, or is an unnamed MXNet list of arrays.
    """
    fname = os.fspath(fname)
    try:
        loaded = read_file(fname)
    except NDArrayFileError as e:
        raise ParameterFileError(str(e)) from None
    if isinstance(loaded, list):
        if not loaded:
            return {}
        raise ParameterFileError(f"{fname!r} holds an unnamed list of {len(loaded)} arrays "
                                 f"(mx.nd.save of a list), not named parameters")
    return loaded
