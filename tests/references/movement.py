"""Independent NumPy references for the movement, joining, index and sorting ops.

Each ``fn(*inputs, **sample_attrs)`` applies MXNet 1.x's defaults itself; index inputs are
truncated toward zero as MXNet does with float indices. Written with loops or NumPy functions other
than the ones the op bodies use."""

from __future__ import annotations

import itertools

import numpy as np


def _ax(axis, ndim):
    return axis % ndim


def _idx(a):
    return np.trunc(np.asarray(a)).astype(np.int64)


def _along(x, axis, positions):
    """``x`` at the given positions along ``axis`` (np.take with an explicit list)."""
    return np.take(x, np.asarray(list(positions), dtype=np.int64), axis=axis)


def swapaxes(x, dim1=0, dim2=0):
    return np.swapaxes(x, dim1, dim2)


def flip(x, axis=()):
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    key = [slice(None)] * x.ndim
    for a in axes:
        key[a % x.ndim] = slice(None, None, -1)
    return x[tuple(key)]


def tile(x, reps=()):
    reps = tuple(reps)
    n = max(x.ndim, len(reps))
    out = x.reshape((1,) * (n - x.ndim) + x.shape)
    for a, r in enumerate((1,) * (n - len(reps)) + reps):
        out = np.concatenate([out] * r, axis=a)
    return out


def repeat(x, repeats=1, axis=None):
    if axis is None:
        x, axis = x.reshape(-1), 0
    a = _ax(axis, x.ndim)
    return _along(x, a, [i for i in range(x.shape[a]) for _ in range(repeats)])


def _bcast(x, shape):
    return (x + np.zeros(shape, dtype=x.dtype)).astype(x.dtype)


def broadcast_to(x, shape=()):
    src = (1,) * (len(shape) - x.ndim) + x.shape
    return _bcast(x, tuple(s if t == 0 else t for s, t in zip(src, shape)))


def broadcast_like(lhs, rhs, lhs_axes=None, rhs_axes=None):
    if not lhs_axes and not rhs_axes:
        return _bcast(lhs, rhs.shape)
    shape = list(lhs.shape)
    for a, b in zip(lhs_axes, rhs_axes):
        shape[a % lhs.ndim] = rhs.shape[b % rhs.ndim]
    return _bcast(lhs, tuple(shape))


def broadcast_axis(x, axis=(), size=()):
    shape = list(x.shape)
    for a, s in zip(axis, size):
        shape[a % x.ndim] = s
    return _bcast(x, tuple(shape))


def pad(x, mode="constant", pad_width=(), constant_value=0.0):
    pw = [(pad_width[2 * i], pad_width[2 * i + 1]) for i in range(x.ndim)]
    if mode == "constant":
        return np.pad(x, pw, mode="constant", constant_values=constant_value)
    return np.pad(x, pw, mode=mode)


def _py_slice(x, begin, end, step):
    step = tuple(step) if step else (None,) * len(begin)
    for a, (b, e, s) in enumerate(zip(begin, end, step)):
        x = _along(x, a, range(*slice(b, e, s).indices(x.shape[a])))
    return x


def slice_(x, begin=(), end=(), step=()):
    return _py_slice(x, tuple(begin), tuple(end), step)


def slice_axis(x, axis=0, begin=0, end=None):
    a = _ax(axis, x.ndim)
    return _along(x, a, range(*slice(begin, end).indices(x.shape[a])))


def slice_like(x, like, axes=()):
    axes = [a % x.ndim for a in axes] if axes else range(x.ndim)
    for a in axes:
        x = _along(x, a, range(like.shape[a]))
    return x


def take(a, indices, axis=0, mode="clip"):
    ax = _ax(axis, a.ndim)
    n = a.shape[ax]
    idx = _idx(indices)
    if mode == "clip":
        idx = np.minimum(np.maximum(idx, 0), n - 1)
    elif mode == "wrap":
        idx = idx % n
    else:
        assert ((idx >= -n) & (idx < n)).all()
        idx = np.where(idx < 0, idx + n, idx)
    out = np.empty(a.shape[:ax] + idx.shape + a.shape[ax + 1:], dtype=a.dtype)
    for pos in np.ndindex(idx.shape):
        out[(slice(None),) * ax + pos] = np.moveaxis(a, ax, 0)[idx[pos]]
    return out


def pick(data, index, axis=-1, keepdims=False, mode="clip"):
    ax = _ax(axis, data.ndim)
    n = data.shape[ax]
    rest = data.shape[:ax] + data.shape[ax + 1:]
    idx = _idx(index).reshape(rest)
    out = np.empty(rest, dtype=data.dtype)
    for pos in np.ndindex(rest):
        j = int(idx[pos])
        j = min(max(j, 0), n - 1) if mode == "clip" else j % n
        out[pos] = data[pos[:ax] + (j,) + pos[ax:]]
    if keepdims:
        return np.expand_dims(out, ax)
    return out.reshape(rest or (1,))


def one_hot(indices, depth=1, on_value=1.0, off_value=0.0, dtype="float32"):
    idx = _idx(indices)
    out = np.full(idx.shape + (depth,), off_value, dtype=dtype)
    for pos in np.ndindex(idx.shape):
        if 0 <= idx[pos] < depth:
            out[pos + (idx[pos],)] = on_value
    return out


def where(cond, x, y):
    out = np.empty(x.shape, dtype=np.result_type(x, y))
    for pos in np.ndindex(x.shape):
        c = cond[pos[0]] if cond.ndim == 1 and x.ndim > 1 else cond[pos]
        out[pos] = x[pos] if c != 0 else y[pos]
    return out


def gather_nd(data, indices):
    idx = _idx(indices)
    m = idx.shape[0]
    out = np.empty(idx.shape[1:] + data.shape[m:], dtype=data.dtype)
    for pos in np.ndindex(idx.shape[1:]):
        out[pos] = data[tuple(int(idx[(i,) + pos]) for i in range(m))]
    return out.reshape(out.shape or (1,))


def scatter_nd(data, indices, shape=()):
    idx = _idx(indices)
    m = idx.shape[0]
    out = np.zeros(shape, dtype=data.dtype)
    for pos in np.ndindex(idx.shape[1:]):
        out[tuple(int(idx[(i,) + pos]) for i in range(m))] = data[pos]
    return out


def concat(*xs, dim=1):
    return np.concatenate(xs, axis=dim)


def stack(*xs, axis=0):
    return np.stack(xs, axis=axis)


def _pieces(x, parts, axis, squeeze_axis):
    out = [np.squeeze(p, axis=axis) if squeeze_axis else p for p in parts]
    out = [p.reshape(p.shape or (1,)) for p in out]
    return out[0] if len(out) == 1 else tuple(out)


def split(x, num_outputs=1, axis=1, squeeze_axis=False):
    return _pieces(x, np.split(x, num_outputs, axis=axis), axis, squeeze_axis)


def split_v2(x, indices_or_sections=1, axis=0, squeeze_axis=False):
    ios = indices_or_sections
    return _pieces(x, np.split(x, ios if isinstance(ios, int) else list(ios), axis=axis), axis,
                   squeeze_axis)


def diag(x, k=0, axis1=0, axis2=1):
    if x.ndim == 1:
        return np.diag(x, k)
    return np.diagonal(x, k, axis1, axis2).copy()


def shape_array(x):
    return np.array(x.shape, dtype=np.int64)


def size_array(x):
    return np.array([x.size], dtype=np.int64)


def depth_to_space(x, block_size=1):
    b = block_size
    n, c, h, w = x.shape
    co = c // (b * b)
    out = np.empty((n, co, h * b, w * b), dtype=x.dtype)
    for i, j, ch in itertools.product(range(b), range(b), range(co)):
        out[:, ch, i::b, j::b] = x[:, (i * b + j) * co + ch]
    return out


def space_to_depth(x, block_size=1):
    b = block_size
    n, c, h, w = x.shape
    out = np.empty((n, c * b * b, h // b, w // b), dtype=x.dtype)
    for i, j, ch in itertools.product(range(b), range(b), range(c)):
        out[:, (i * b + j) * c + ch] = x[:, ch, i::b, j::b]
    return out


def _order(x, axis, is_ascend):
    """Sorted positions along ``axis``; the samples have no ties, so stability does not matter."""
    return np.argsort(x if is_ascend else -x, axis=axis, kind="mergesort")


def sort(x, axis=-1, is_ascend=True):
    if axis is None:
        x, axis = x.reshape(-1), 0
    s = np.sort(x, axis=axis, kind="mergesort")
    return s if is_ascend else flip(s, (axis,))


def argsort(x, axis=-1, is_ascend=True, dtype="float32"):
    if axis is None:
        x, axis = x.reshape(-1), 0
    return _order(x, axis, is_ascend).astype(dtype)


def topk(x, axis=-1, k=1, ret_typ="indices", is_ascend=False, dtype="float32"):
    shape = x.shape
    if axis is None:
        x, axis = x.reshape(-1), 0
    ax = _ax(axis, x.ndim)
    kk = x.shape[ax] if k < 1 else k
    order = _along(_order(x, ax, is_ascend), ax, range(kk))
    if ret_typ == "mask":
        mask = np.zeros(x.shape, dtype=x.dtype)
        np.put_along_axis(mask, order, 1, axis=ax)
        return mask.reshape(shape)
    vals = np.take_along_axis(x, order, axis=ax)
    idx = order.astype(dtype)
    return {"indices": idx, "value": vals, "both": (vals, idx)}[ret_typ]


# -- backward primitives: explicit loops over the positions, accumulating --------------------------
def _slice_backward(g, shape=(), begin=(), end=(), step=()):
    out = np.zeros(shape, dtype=g.dtype)
    step = tuple(step) if step else (None,) * len(begin)
    ranges = [list(range(*slice(b, e, s).indices(n)))
              for b, e, s, n in zip(begin, end, step, shape)]
    ranges += [list(range(n)) for n in shape[len(begin):]]
    for pos in np.ndindex(g.shape):
        out[tuple(r[p] for r, p in zip(ranges, pos))] = g[pos]
    return out


def _diag_backward(g, shape=(), k=0, axis1=0, axis2=1):
    out = np.zeros(shape, dtype=g.dtype)
    a1, a2 = axis1 % len(shape), axis2 % len(shape)
    rest = [i for i in range(len(shape)) if i not in (a1, a2)]
    for pos in np.ndindex(g.shape):
        key = [0] * len(shape)
        for r, p in zip(rest, pos[:-1]):
            key[r] = p
        key[a1], key[a2] = pos[-1] + max(-k, 0), pos[-1] + max(k, 0)
        out[tuple(key)] += g[pos]
    return out


def _take_backward(g, indices, shape=(), axis=0, mode="clip"):
    out = np.zeros(shape, dtype=g.dtype)
    ax = _ax(axis, len(shape))
    n = shape[ax]
    idx = _idx(indices)
    idx = np.clip(idx, 0, n - 1) if mode == "clip" else idx % n
    for pos in np.ndindex(g.shape):
        j = idx[pos[ax:ax + idx.ndim]]
        out[pos[:ax] + (j,) + pos[ax + idx.ndim:]] += g[pos]
    return out


def _pick_backward(g, index, shape=(), axis=-1, keepdims=False, mode="clip"):
    out = np.zeros(shape, dtype=g.dtype)
    ax = _ax(axis, len(shape))
    n = shape[ax]
    rest = shape[:ax] + shape[ax + 1:]
    idx, gr = _idx(index).reshape(rest), g.reshape(rest)
    for pos in np.ndindex(rest):
        j = int(idx[pos])
        j = min(max(j, 0), n - 1) if mode == "clip" else j % n
        out[pos[:ax] + (j,) + pos[ax:]] += gr[pos]
    return out


def _gather_nd_backward(g, indices, shape=()):
    idx = _idx(indices)
    m = idx.shape[0]
    out = np.zeros(shape, dtype=g.dtype)
    gr = g.reshape(idx.shape[1:] + tuple(shape[m:]))
    for pos in np.ndindex(idx.shape[1:]):
        out[tuple(int(idx[(i,) + pos]) for i in range(m))] += gr[pos]
    return out


def _gather_along_axis(data, indices, axis=-1):
    idx, ax = _idx(indices), _ax(axis, data.ndim)
    out = np.empty(idx.shape, dtype=data.dtype)
    for pos in np.ndindex(idx.shape):
        out[pos] = data[pos[:ax] + (idx[pos],) + pos[ax + 1:]]
    return out


def _scatter_add_along_axis(g, indices, axis=-1, size=1):
    idx, ax = _idx(indices), _ax(axis, g.ndim)
    out = np.zeros(g.shape[:ax] + (size,) + g.shape[ax + 1:], dtype=g.dtype)
    for pos in np.ndindex(g.shape):
        out[pos[:ax] + (idx[pos],) + pos[ax + 1:]] += g[pos]
    return out


REFERENCES = {
    "_slice_backward": _slice_backward, "_diag_backward": _diag_backward,
    "_take_backward": _take_backward, "_pick_backward": _pick_backward,
    "_gather_nd_backward": _gather_nd_backward, "_gather_along_axis": _gather_along_axis,
    "_scatter_add_along_axis": _scatter_add_along_axis,
    "swapaxes": swapaxes, "flip": flip, "tile": tile, "repeat": repeat,
    "broadcast_to": broadcast_to, "broadcast_like": broadcast_like,
    "broadcast_axis": broadcast_axis, "pad": pad, "slice": slice_, "slice_axis": slice_axis,
    "slice_like": slice_like, "take": take, "pick": pick, "one_hot": one_hot, "where": where,
    "gather_nd": gather_nd, "scatter_nd": scatter_nd, "concat": concat, "stack": stack,
    "split": split, "split_v2": split_v2, "diag": diag, "shape_array": shape_array,
    "size_array": size_array, "depth_to_space": depth_to_space,
    "space_to_depth": space_to_depth, "sort": sort, "argsort": argsort, "topk": topk,
}
