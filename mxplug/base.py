"""Errors and small helpers shared by every layer."""

from __future__ import annotations

import numpy as np

__all__ = [
    "MXNetError",
    "MXNetValueError",
    "MXNetTypeError",
    "MXNetIndexError",
    "MXNetNotImplementedError",
    "dtype_of",
    "dtype_name",
    "SUPPORTED_DTYPES",
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


#: The dtypes an NDArray may hold (MXNet 1.x set plus bool).
SUPPORTED_DTYPES = ("float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool")
_DTYPE_CACHE: dict = {}


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
        raise MXNetTypeError(
            f"unknown dtype {dtype!r}; supported: {', '.join(SUPPORTED_DTYPES)}"
        ) from None
    if dt.name not in SUPPORTED_DTYPES:
        raise MXNetTypeError(
            f"dtype {dt.name} is not supported; supported: {', '.join(SUPPORTED_DTYPES)}"
        )
    try:
        _DTYPE_CACHE[dtype] = dt
    except TypeError:
        pass
    return dt


def dtype_name(dtype) -> str:
    return np.dtype(dtype).name
