"""Advanced indexing, gathers and scatters for the OpenCL array namespace.

``x[key]`` with integer arrays and boolean masks mixed with ints, slices, None and Ellipsis
(NumPy's rules, including where the broadcast index dims go), index assignment with broadcast
values, ``add.at`` (repeated indices accumulate, with atomics), ``take``, ``take_along_axis``,
``tile``, ``repeat``, ``cumulative_sum`` and ``nonzero``. Every key compiles to one ``meta`` array
for the gather/scatter kernels of :mod:`mxplug.backends.kernels.index`, so one kernel per dtype
serves every key. Out-of-range indices raise IndexError as in NumPy (the index extremes are
reduced on the device and checked on the host before the gather or scatter runs).
"""

from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from ..kernels import MAXDIM, OPENCL
from ..kernels.index import index_meta, index_source, nonzero_source, scan_meta, scan_source
from . import xp as _xp
from .array import CLArray, c_strides
from .launch import _broadcast_strides

__all__ = ["_advanced_getitem", "_advanced_setitem", "cumsum", "cumulative_prod", "cumulative_sum",
           "nonzero", "repeat", "take", "take_along_axis", "tile"]

_SOURCES: dict = {}


def _source(key, render):
    src = _SOURCES.get(key)
    if src is None:
        src = _SOURCES[key] = render()
    return src


def _int64_atomics(rt) -> bool:
    ok = getattr(rt, "_mx_int64_atomics", None)
    if ok is None:
        ok = "cl_khr_int64_base_atomics" in rt.device.extensions
        rt._mx_int64_atomics = ok
    return ok


def _program(rt, x_dtype, v_dtype):
    xd, vd = np.dtype(x_dtype), np.dtype(v_dtype)
    atomics = xd.itemsize != 8 or _int64_atomics(rt)
    name = f"ix_{xd.name}_{vd.name}"
    src = _source(("index", xd.name, vd.name, atomics),
                  lambda: index_source(name, xd, vd, OPENCL, atomics))
    return src, name


# -- the plan of a key --------------------------------------------------------------------------
class _Plan:
    """``x[key]`` as (result shape, per-dim x strides and index strides, x offset, the index
    buffer with its offset and the step between its K arrays, each array's axis size/stride)."""

    __slots__ = ("shape", "sst", "ist", "offset", "idx", "idx_off", "step", "asizes", "astrs")

    def meta(self, vst=None):
        vst = [0] * len(self.shape) if vst is None else vst
        return index_meta(self.shape, self.sst, self.ist, vst, self.step, self.asizes, self.astrs)


def _as_index_array(k, rt):
    if isinstance(k, (list, np.ndarray)):
        a = np.asarray(k)
        if a.dtype.kind not in "biu":
            if a.size == 0:
                a = a.astype(np.int64)
            else:
                raise IndexError("arrays used as indices must be of integer or boolean type")
        k = _xp.asarray(a, device=rt)
    if k.dtype.kind not in "biu":
        raise IndexError("arrays used as indices must be of integer or boolean type, "
                         f"not {k.dtype.name}")
    return k


def _plan(x: CLArray, key) -> _Plan:
    items = key if isinstance(key, tuple) else (key,)
    conv = []   # ("s", slice) | ("n", None) | ("i", int) | ("a", array)
    for k in items:
        if k is None:
            conv.append(("n", None))
        elif k is Ellipsis:
            conv.append(("e", None))
        elif isinstance(k, slice):
            conv.append(("s", k))
        elif isinstance(k, (CLArray, list, np.ndarray)):
            a = _as_index_array(k, x.rt)
            if a.dtype.kind == "b":   # a k-d mask indexes k dims with its nonzero coordinates
                if a.ndim == 0:
                    raise IndexError("0-d boolean indices are not supported on OpenCL arrays")
                conv.extend(("a", c) for c in nonzero(a))
            else:
                conv.append(("a", a))
        elif isinstance(k, (bool, np.bool_)):
            raise IndexError("boolean scalar indices are not supported on OpenCL arrays")
        else:
            try:
                conv.append(("i", operator.index(k)))
            except TypeError:
                raise IndexError(f"only integers, slices, None, ..., integer or boolean arrays "
                                 f"are valid indices (got {type(k).__name__})") from None
    n_real = builtins.sum(1 for t, _ in conv if t in "sia")
    if n_real > x.ndim:
        raise IndexError(f"too many indices for array: array is {x.ndim}-dimensional, but "
                         f"{n_real} were indexed")
    ell = [i for i, (t, _) in enumerate(conv) if t == "e"]
    if len(ell) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    fill = [("s", slice(None))] * (x.ndim - n_real)
    conv = (conv[:ell[0]] + fill + conv[ell[0] + 1:]) if ell else conv + fill

    p = _Plan()
    shape, sst, offset, dim = [], [], x.offset, 0
    arrays, asizes, astrs, adv_pos, insert_at = [], [], [], [], None
    for pos, (t, k) in enumerate(conv):
        if t == "n":
            shape.append(1)
            sst.append(0)
            continue
        n, st = x.shape[dim], x._strides[dim]
        if t == "s":
            start, stop, step = k.indices(n)
            length = builtins.max(0, (stop - start + (step - (1 if step > 0 else -1))) // step)
            shape.append(length)
            sst.append(st * step)
            offset += start * st if length else 0
        elif t == "i":
            if not -n <= k < n:
                raise IndexError(f"index {k} is out of bounds for axis {dim} with size {n}")
            offset += (k % n) * st
            adv_pos.append(pos)
        else:
            if insert_at is None:
                insert_at = len(shape)
            _check_bounds(k, n, dim)
            arrays.append(k)
            asizes.append(n)
            astrs.append(st)
            adv_pos.append(pos)
        dim += 1
    bshape = tuple(np.broadcast_shapes(*(a.shape for a in arrays)))
    adjacent = bool(adv_pos) and adv_pos == list(range(adv_pos[0], adv_pos[0] + len(adv_pos)))
    if not adjacent or insert_at is None:   # NumPy: split advanced indices put their dims first
        insert_at = 0
    if len(arrays) == 1:
        idx = arrays[0] if arrays[0].dtype == np.int64 else _xp.astype(arrays[0], np.int64)
        bist, p.idx_off, p.step = _broadcast_strides(idx, bshape), idx.offset, 0
    else:   # K arrays: broadcast and stack into one contiguous (K,) + bshape block
        nb = math.prod(bshape)
        idx = _xp.empty((len(arrays),) + bshape, np.int64, x.rt)
        for i, a in enumerate(arrays):
            _xp._elementwise_into(_xp.getitem(idx, i), "copy", "{0}",
                                  [_xp.broadcast_to(a, bshape)])
        bist, p.idx_off, p.step = list(c_strides(bshape)), 0, nb
    nb_dims = len(bshape)
    p.shape = tuple(shape[:insert_at]) + bshape + tuple(shape[insert_at:])
    p.sst = sst[:insert_at] + [0] * nb_dims + sst[insert_at:]
    p.ist = [0] * insert_at + list(bist) + [0] * (len(shape) - insert_at)
    p.offset, p.idx, p.asizes, p.astrs = offset, idx, asizes, astrs
    return p


def _check_bounds(idx: CLArray, n: int, dim: int) -> None:
    """Raise IndexError for an index outside [-n, n), as NumPy does: a kernel cannot raise, so
    the extremes are reduced on the device and two numbers come back to the host."""
    if idx.size == 0 or idx.dtype == np.bool_:
        return
    lo, hi = int(_xp.to_numpy(_xp.min(idx))), int(_xp.to_numpy(_xp.max(idx)))
    if lo < -n or hi >= n:
        bad = hi if hi >= n else lo
        raise IndexError(f"index {bad} is out of bounds for axis {dim} with size {n}")


def _gather(x: CLArray, p: _Plan) -> CLArray:
    out = _xp.empty(p.shape, x.dtype, x.rt)
    n = out.size
    if n:
        rt = x.rt
        src, name = _program(rt, x.dtype, x.dtype)
        k = rt.kernel(src, name + "_gather", [x.dtype])
        rt.launch(k, n, np.int64(n), rt.meta(p.meta()), out.buf, np.int64(0), x.buf,
                  np.int64(p.offset), p.idx.buf, np.int64(p.idx_off))
    return out


def _value_array(x, value, shape):
    """``value`` as an OpenCL array broadcast to ``shape`` (leading 1-dims dropped, as NumPy)."""
    if not isinstance(value, CLArray):
        if isinstance(value, (np.ndarray, list, tuple)):
            value = _xp.asarray(np.asarray(value, dtype=x.dtype), device=x.rt)
        else:
            value = _xp.full((1,), value, x.dtype, x.rt)
    while value.ndim > len(shape) and value.shape[0] == 1:
        value = _xp.reshape(value, value.shape[1:]) if value.is_contiguous else value.view(
            value.shape[1:], value._strides[1:])
    return _xp.broadcast_to(value, shape)


def _scatter(x: CLArray, key, value, mode):
    p = _plan(x, key)
    if isinstance(value, CLArray) and value.buf is x.buf:
        value = _xp._copy(value)    # a view of x: read it all before any write (as NumPy)
    v = _value_array(x, value, p.shape)
    n = math.prod(p.shape)
    if n == 0:
        return
    rt = x.rt
    src, name = _program(rt, x.dtype, v.dtype)
    if mode == "add":
        atomic = f"{name}_add(" in src
        kname = name + ("_add" if atomic else "_add_serial")
    else:
        kname, atomic = name + "_set", True
    k = rt.kernel(src, kname, [x.dtype, v.dtype])
    args = (np.int64(n), rt.meta(p.meta(list(v._strides))), x.buf, np.int64(p.offset), v.buf,
            np.int64(v.offset), p.idx.buf, np.int64(p.idx_off))
    rt.launch(k, n if atomic else 1, *args)


def _advanced_getitem(x, key):
    return _gather(x, _plan(x, key))


def _advanced_setitem(x, key, value):
    _scatter(x, key, value, "set")


def _add_at(a, indices, b):
    """``numpy.add.at``: ``a[indices] += b`` with repeated indices accumulating (in place)."""
    if _xp._is_basic(indices):   # no repeats possible: a plain read-add-write
        target = _xp.getitem(a, indices)
        _xp._elementwise_into(target, "add", "{0} + {1}",
                              [target, _value_array(a, b, target.shape)])
        return
    _scatter(a, indices, b, "add")


_xp.add.at = _add_at


# -- take, take_along_axis ----------------------------------------------------------------------
def take(x, indices, /, *, axis=None):
    if axis is None:
        x, axis = _xp.reshape(x, (-1,)), 0
    ax = axis % builtins.max(x.ndim, 1)
    return _advanced_getitem(x, (slice(None),) * ax + (indices,))


def take_along_axis(x, indices, /, *, axis=-1):
    if x.ndim != indices.ndim:
        raise ValueError(f"take_along_axis: indices.ndim {indices.ndim} != x.ndim {x.ndim}")
    ax = axis % x.ndim
    idx = _as_index_array(indices, x.rt)
    if idx.dtype != np.int64:
        idx = _xp.astype(idx, np.int64)
    # No bounds check here (it costs a host round trip): only op bodies call take_along_axis,
    # and they clip, wrap or check their indices first (pick, sort, topk).
    shape = list(np.broadcast_shapes(tuple(1 if i == ax else s for i, s in enumerate(x.shape)),
                                     tuple(1 if i == ax else s for i, s in enumerate(idx.shape))))
    shape[ax] = idx.shape[ax]
    shape = tuple(shape)
    xs = _broadcast_strides(x.view(tuple(1 if i == ax else s for i, s in enumerate(x.shape)),
                                       x._strides), shape)
    p = _Plan()
    p.shape, p.ist = shape, _broadcast_strides(idx, shape)
    p.sst = [0 if i == ax else s for i, s in enumerate(xs)]
    p.offset, p.idx, p.idx_off, p.step = x.offset, idx, idx.offset, 0
    p.asizes, p.astrs = [x.shape[ax]], [x._strides[ax]]
    return _gather(x, p)


# -- tile, repeat (stride-0 views copied out) ---------------------------------------------------
def tile(x, repetitions, /):
    reps = (repetitions,) if isinstance(repetitions, int) else tuple(repetitions)
    nd = builtins.max(x.ndim, len(reps))
    reps = (1,) * (nd - len(reps)) + reps
    x = x.view((1,) * (nd - x.ndim) + x.shape, (0,) * (nd - x.ndim) + x._strides)
    # (r0, s0, r1, s1, ...) with stride 0 on each r: a contiguous copy is the tiled array
    shape = tuple(v for r, s in zip(reps, x.shape) for v in (r, s))
    strides = tuple(v for st in x._strides for v in (0, st))
    out = _xp._copy(x.view(shape, strides))
    return _xp.reshape(out, tuple(r * s for r, s in zip(reps, x.shape)))


def repeat(x, repeats, /, *, axis=None):
    try:
        repeats = operator.index(repeats)
    except TypeError:
        raise NotImplementedError("repeat on OpenCL arrays takes an int number of repeats, "
                                  "not per-element repeats") from None
    if axis is None:
        x, axis = _xp.reshape(x, (-1,)), 0
    ax = axis % x.ndim
    shape = x.shape[:ax + 1] + (int(repeats),) + x.shape[ax + 1:]
    strides = x._strides[:ax + 1] + (0,) + x._strides[ax + 1:]
    out = _xp._copy(x.view(shape, strides))
    return _xp.reshape(out, x.shape[:ax] + (x.shape[ax] * int(repeats),) + x.shape[ax + 1:])


# -- cumulative_sum, nonzero --------------------------------------------------------------------
_SCAN_BLOCK = 256


def _scan(x, axis, dtype, include_initial, op, name):
    if axis is None:
        if x.ndim > 1:
            raise ValueError(f"{name}: axis is required for arrays of more than one dimension")
        axis = 0
    if x.ndim == 0:
        x = _xp.reshape(x, (1,))
    ax = axis % x.ndim
    out_dt = np.dtype(dtype) if dtype is not None else _xp._sum_dtype(x, None)
    acc_dt = out_dt
    kept = [i for i in range(x.ndim) if i != ax]
    kshape = [x.shape[i] for i in kept]
    n, init = x.shape[ax], int(bool(include_initial))
    out = _xp.empty(tuple(kshape) + (n + init,), out_dt, x.rt)
    rows = math.prod(kshape)
    if rows and n + init:
        rt = x.rt
        kname = f"scan_{name}_{x.dtype.name}_{out_dt.name}"
        src = _source(("scan", op, x.dtype.name, out_dt.name),
                      lambda: scan_source(kname, x.dtype, acc_dt, out_dt, op, OPENCL))
        meta = rt.meta(scan_meta(kshape, [x._strides[i] for i in kept],
                                 x._strides[ax] if n else 0))
        args = (np.int64(rows), np.int64(n))
        if n <= _SCAN_BLOCK * 4:     # short rows: one work item per row
            k = rt.kernel(src, kname, [x.dtype, out_dt])
            rt.launch(k, rows, *args, np.int32(init), meta, out.buf, x.buf, np.int64(x.offset))
        else:   # long rows: per-block totals, their exclusive scan, then each block from its offset
            nb = -(-n // _SCAN_BLOCK)
            blocks = (np.int64(_SCAN_BLOCK), np.int64(nb), meta, x.buf, np.int64(x.offset))
            sums = _xp.empty((rows, nb), acc_dt, rt)
            k = rt.kernel(src, kname + "_bsum", [x.dtype, out_dt])
            rt.launch(k, rows * nb, *args, *blocks, sums.buf)
            offs = _scan(sums, 1, acc_dt, True, op, name)
            k = rt.kernel(src, kname + "_bscan", [x.dtype, out_dt])
            rt.launch(k, rows * nb, *args, np.int32(init), *blocks, offs.buf, out.buf)
    perm = list(range(x.ndim - 1))
    perm.insert(ax, x.ndim - 1)
    return _xp.permute_dims(out, tuple(perm))


def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial=False):
    return _scan(x, axis, dtype, include_initial, "+", "cumulative_sum")


def cumulative_prod(x, /, *, axis=None, dtype=None, include_initial=False):
    return _scan(x, axis, dtype, include_initial, "*", "cumulative_prod")


def cumsum(x, axis=None, dtype=None):
    """NumPy's spelling: ``axis=None`` sums the flattened array."""
    if axis is None:
        x, axis = _xp.reshape(x, (-1,)), 0
    return cumulative_sum(x, axis=axis, dtype=dtype)


def nonzero(x, /):
    """The coordinates of the nonzero elements (the count is read back: the shape needs it)."""
    if x.ndim == 0:
        raise ValueError("nonzero of a 0-d array is not supported")
    flat = _xp.reshape(x, (-1,))
    cs = cumulative_sum(_xp.not_equal(flat, 0), dtype=np.int64)
    total = flat.size
    count = int(_xp.to_numpy(_xp.getitem(cs, slice(total - 1, total)))[0]) if total else 0
    out = _xp.empty((x.ndim, count), np.int64, x.rt)
    if count:
        rt = x.rt
        kname = f"nonzero_{flat.dtype.name}"
        src = _source(("nonzero", flat.dtype.name),
                      lambda: nonzero_source(kname, flat.dtype, OPENCL))
        meta = np.zeros(1 + MAXDIM, dtype=np.int64)
        meta[0] = x.ndim
        meta[1:1 + x.ndim] = x.shape
        k = rt.kernel(src, kname, [flat.dtype])
        rt.launch(k, total, np.int64(total), rt.meta(meta), out.buf, np.int64(count), flat.buf,
                  np.int64(flat.offset), cs.buf)
    return tuple(_xp.getitem(out, d) for d in range(x.ndim))
