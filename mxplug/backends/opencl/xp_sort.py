"""``sort`` and ``argsort`` for the OpenCL array namespace: a stable merge sort of every row at
once (:mod:`mxplug.backends.kernels.sort`), ``ceil(log2 n)`` launches of one work item per
element, along any axis, ascending or descending."""

from __future__ import annotations

import numpy as np

from ..kernels import OPENCL
from ..kernels.sort import merge_source
from . import xp as _xp

_SOURCES: dict = {}


def _sorted_rows(x, axis, descending, want_values):
    """(positions, values or None), both laid out ``(other dims..., n)`` then viewed back with
    the sorted axis in its place."""
    if x.ndim == 0:
        x = _xp.reshape(x, (1,))
    ax = axis % x.ndim
    perm = tuple(i for i in range(x.ndim) if i != ax) + (ax,)
    keys = _xp.permute_dims(x, perm)
    if not (keys.is_contiguous and keys.offset == 0):
        keys = _xp._copy(keys)            # rows contiguous: the merge passes read them often
    shape, n = keys.shape, x.shape[ax]
    total = keys.size
    rt = x.rt
    a = _xp.empty(shape, np.int64, rt)
    vals = _xp.empty(shape, x.dtype, rt) if want_values else None
    if total:
        _xp._elementwise_into(a, "iota_rows", "({T})(i % {0})", [np.int64(n)], compute=np.int64)
        if n == 1 and want_values:
            _xp._elementwise_into(vals, "copy", "{0}", [keys])
        elif n > 1:
            name = f"msort_{x.dtype.name}"
            src = _SOURCES.get(x.dtype.name)
            if src is None:
                src = _SOURCES[x.dtype.name] = merge_source(name, x.dtype, OPENCL)
            k = rt.kernel(src, name, [x.dtype])
            b = _xp.empty(shape, np.int64, rt)
            width = 1
            while width < n:
                last = width * 2 >= n
                rt.launch(k, total, np.int64(total), np.int64(n), np.int64(width),
                          np.int32(bool(descending)), keys.buf, a.buf, b.buf,
                          (vals if want_values else keys).buf, np.int32(last and want_values))
                a, b = b, a
                width *= 2
    back = tuple(perm.index(i) for i in range(x.ndim))
    pos = _xp.permute_dims(a, back)
    return pos, (_xp.permute_dims(vals, back) if want_values else None)


def argsort(x, /, *, axis=-1, descending=False, stable=True):
    """Indices (int64) that sort ``x`` along ``axis``; always stable."""
    return _sorted_rows(x, axis, descending, False)[0]


def sort(x, /, *, axis=-1, descending=False, stable=True):
    """``x`` sorted along ``axis``; always stable."""
    return _sorted_rows(x, axis, descending, True)[1]
