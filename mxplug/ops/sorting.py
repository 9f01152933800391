"""Index-selection ops (take, pick, one_hot, where, gather_nd, scatter_nd) and sorting ops (sort,
argsort, topk), in MXNet 1.x semantics: index inputs may be float arrays (truncated toward zero) and
index outputs are float32 unless a ``dtype`` attribute says otherwise."""
from __future__ import annotations

import ast

import numpy as np

from ..base import MXNetIndexError
from . import infer as I
from .attrs import Attr, Bool, Dtype, Enum, Float, Int, Shape
from .call import F
from .movement import _as_index, _axis, _common_dtype, _prod, _spec, _take_range, _xp_dtype
from .movement_grad import scatter_add
from .registry import Sample, defop


# -- take, pick, one_hot ---------------------------------------------------------------------------
def _take_infer(a, idx, axis=0, mode="clip"):
    ax = _axis(axis, a.ndim, "take")
    return I.Spec(tuple(a.shape[:ax]) + tuple(idx.shape) + tuple(a.shape[ax + 1:]), a.dtype)


def _fix_index(xp, idx, n, mode, op):
    """Bring integer indices into ``[0, n)`` by MXNet's ``mode``: clip, wrap or raise (a
    negative index is out of range, as in MXNet, whose clip mode takes it to 0)."""
    if mode == "clip":
        return xp.clip(idx, 0, n - 1)
    if mode == "wrap":
        return xp.remainder(idx, n)
    bad = (idx < 0) | (idx >= n)
    if bool(xp.any(bad)):
        raise MXNetIndexError(f"{op}: Expect: 0 <= index < {n} (mode='raise') / Actual: "
                              f"index {int(xp.reshape(idx[bad], (-1,))[0])} is out of range")
    return idx


take = defop("take", ("a", "indices"), {"axis": Int(0), "mode": Enum("clip", "wrap", "raise")},
             infer=_take_infer,
             doc="Elements of ``a`` at ``indices`` along ``axis``; out-of-range indices are "
                 "clipped, wrapped or raise an error by ``mode``.")


@take.impl
def _(xp, a, indices, axis=0, mode="clip"):
    out = _take_infer(_spec(a), _spec(indices), axis, mode).shape
    ax = axis % a.ndim
    n = a.shape[ax]
    I.expect(n > 0, "take", f"a non-empty axis {ax}", f"a.shape={tuple(a.shape)}")
    idx = _fix_index(xp, _as_index(xp, xp.reshape(indices, (-1,))), n, mode, "take")
    return xp.reshape(xp.take(a, idx, axis=ax), out)


take.nograd("indices")
take.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (4, 3)), np.array([[0.0, 3.5], [1.2, 1.7]])),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 5, 3)), np.array([4, -1, 7, 0]), axis=1),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 5)), np.array([[6.5, -2.5, 3.2]]), axis=-1,
                       mode="wrap"),
    lambda rng: Sample(rng.uniform(-1, 1, (4, 2)), np.array([0, 3, 1]), mode="raise"),
)


def _pick_infer(x, index, axis=-1, keepdims=False, mode="clip"):
    op = "pick"
    ax = _axis(axis, x.ndim, op)
    want = tuple(1 if i == ax else s for i, s in enumerate(x.shape)) if keepdims else \
        (tuple(s for i, s in enumerate(x.shape) if i != ax) or (1,))
    got = tuple(index.shape)
    without = tuple(s for i, s in enumerate(x.shape) if i != ax) or (1,)
    kept = tuple(1 if i == ax else s for i, s in enumerate(x.shape))
    ok = got in (without, kept)  # MXNet takes the index with or without the picked axis
    I.expect(ok, op, f"index.shape == {want} (data.shape {tuple(x.shape)} without axis {ax})",
             f"index.shape == {got}")
    return I.Spec(want, x.dtype)


pick = defop("pick", ("data", "index"), {"axis": Attr(-1, "axis"), "keepdims": Bool(False),
                                         "mode": Enum("clip", "wrap")},
             infer=_pick_infer,
             doc="Pick one element along ``axis`` for each position of ``index``.")


@pick.impl
def _(xp, x, index, axis=-1, keepdims=False, mode="clip"):
    out = _pick_infer(_spec(x), _spec(index), axis, keepdims, mode).shape
    ax = axis % x.ndim
    kshape = tuple(1 if i == ax else s for i, s in enumerate(x.shape))
    idx = _fix_index(xp, _as_index(xp, xp.reshape(index, kshape)), x.shape[ax], mode, "pick")
    return xp.reshape(xp.take_along_axis(x, idx, axis=ax), out)


def _rows_pick_index(x_shape, index, axis, mode):
    """The per-row column of a pick along the last axis of a 2-D array — the shape every
    classification loss uses — as an intp vector, or None for other layouts."""
    if len(x_shape) != 2 or axis % 2 != 1 or index.size != x_shape[0] or not (
            index.shape == (x_shape[0],) or index.shape == (x_shape[0], 1)):
        return None
    n = x_shape[1]
    i = index.reshape(-1).astype(np.intp)  # truncates toward zero, as _as_index does
    if mode == "clip":  # two in-place ufuncs: np.clip's dispatch costs more than both
        np.minimum(np.maximum(i, 0, out=i), n - 1, out=i)
    else:
        np.remainder(i, n, out=i)
    return i


@pick.kernel("numpy")
def _(be, x, index, axis=-1, keepdims=False, mode="clip"):
    i = _rows_pick_index(x.shape, index, axis, mode)
    if i is None:
        return pick.generic(np, x, index, axis, keepdims, mode)
    r = x[np.arange(x.shape[0]), i]          # one fancy index instead of take_along_axis
    return r.reshape(-1, 1) if keepdims else r


pick.nograd("index")
pick.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), np.array([0.0, 3.5, 1.2])),
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4, 2)), np.array([[2, 0], [1, 9], [-1, 3]]),
                       axis=1),
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), np.array([[5.5], [-1.5], [2.5]]), axis=-1,
                       keepdims=True, mode="wrap"),
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), np.array([2.5, 0.0, 1.5, 2.9]), axis=0),
)


def _one_hot_infer(idx, depth=1, on_value=1.0, off_value=0.0, dtype="float32"):
    I.expect(depth >= 1, "one_hot", "depth >= 1", f"depth={depth}")
    return I.Spec(tuple(idx.shape) + (depth,), np.dtype(dtype))


one_hot = defop("one_hot", ("indices",), {"depth": Int(1), "on_value": Float(1.0),
                                          "off_value": Float(0.0), "dtype": Dtype("float32")},
                infer=_one_hot_infer, differentiable=False,
                doc="One-hot rows of length ``depth``; out-of-range indices give all "
                    "``off_value``.")


@one_hot.impl
def _(xp, indices, depth=1, on_value=1.0, off_value=0.0, dtype="float32"):
    _one_hot_infer(_spec(indices), depth)
    dt = _xp_dtype(xp, dtype)
    hit = _as_index(xp, indices)[..., None] == xp.arange(depth, dtype=xp.int64)
    return xp.where(hit, xp.asarray(on_value, dtype=dt), xp.asarray(off_value, dtype=dt))


one_hot.samples(
    lambda rng: Sample(np.array([1.0, 0.0, 2.0, 0.0]), depth=3, grad=False),
    lambda rng: Sample(np.array([[1, 5], [-1, 3]]), depth=4, on_value=8.0, off_value=-1.0,
                       dtype="int32", grad=False),
)


# -- where, gather_nd, scatter_nd ------------------------------------------------------------------
def _where_infer(cond, x, y):
    op = "where"
    I.expect(tuple(x.shape) == tuple(y.shape), op, "x.shape == y.shape",
             f"{tuple(x.shape)} != {tuple(y.shape)}")
    ok = tuple(cond.shape) == tuple(x.shape) or (cond.ndim == 1 and cond.shape[0] == x.shape[0])
    I.expect(ok, op, f"condition.shape == x.shape {tuple(x.shape)} or condition 1-D of length "
             f"x.shape[0] = {x.shape[0] if x.ndim else 1}",
             f"condition.shape == {tuple(cond.shape)}")
    return I.Spec(tuple(x.shape), _common_dtype(x, y))


where = defop("where", ("condition", "x", "y"), infer=_where_infer,
              doc="``x`` where ``condition`` is nonzero, else ``y``; a 1-D ``condition`` selects "
                  "whole rows along the first axis.")


@where.impl
def _(xp, cond, x, y):
    _where_infer(_spec(cond), _spec(x), _spec(y))
    if cond.ndim != x.ndim:
        cond = xp.reshape(cond, (cond.shape[0],) + (1,) * (x.ndim - 1))
    return xp.where(cond != 0, x, y)


where.nograd("condition")
where.dtype_rule = lambda dts, attrs: (dts[1],)  # x's, whatever the condition's
where.samples(
    lambda rng: Sample((rng.uniform(0, 1, (3, 4)) > 0.5).astype(np.int32),
                       rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (3, 4))),
    lambda rng: Sample(np.array([1, 0, 3]), rng.uniform(-1, 1, (3, 2, 2)),
                       rng.uniform(-1, 1, (3, 2, 2))),
    lambda rng: Sample(np.array([[0.5, -1.0, 2.0], [-0.25, 3.0, 1.0]]), rng.uniform(-1, 1, (2, 3)),
                       rng.uniform(-1, 1, (2, 3))),
)


def _gather_infer(data, idx):
    op = "gather_nd"
    m = idx.shape[0] if idx.ndim else 0
    I.expect(idx.ndim >= 1 and 1 <= m <= data.ndim, op,
             f"1 <= indices.shape[0] <= data.ndim ({data.ndim})",
             f"indices.shape={tuple(idx.shape)}")
    return I.Spec((tuple(idx.shape[1:]) + tuple(data.shape[m:])) or (1,), data.dtype)


def _linear_index(xp, idx, dims, op="gather_nd"):
    """Row-major flat positions of the index tuples in ``idx`` (shape (M, ...)); negatives wrap
    once; an index still outside its axis is an IndexError (as MXNet's, not another row)."""
    lin = None
    for i, n in enumerate(dims):
        k = idx[i, ...]
        k = xp.where(k < 0, k + n, k)
        if bool(xp.any((k < 0) | (k >= n))):
            raise MXNetIndexError(f"{op}: an index is out of bounds for axis {i} with size {n}")
        lin = k if lin is None else lin * n + k
    return xp.reshape(lin, (-1,))


gather_nd = defop("gather_nd", ("data", "indices"), infer=_gather_infer,
                  doc="``out[y...] = data[indices[0, y...], ..., indices[M-1, y...], ...]``.")


@gather_nd.impl
def _(xp, data, indices):
    out = _gather_infer(_spec(data), _spec(indices)).shape
    m = indices.shape[0]
    lin = _linear_index(xp, _as_index(xp, indices), data.shape[:m])
    flat = xp.reshape(data, (_prod(data.shape[:m]),) + tuple(data.shape[m:]))
    return xp.reshape(xp.take(flat, lin, axis=0), out)


gather_nd.nograd("indices")
gather_nd.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), np.array([[0.0, 2.5, 1.5], [3.2, 0.0, 1.9]])),
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4, 2)), np.array([[[2, -1], [0, 1]]])),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3)), np.array([1.5, 2.5])),
)


def _scatter_infer(data, idx, shape=()):
    op = "scatter_nd"
    shape = tuple(shape)
    m = idx.shape[0] if idx.ndim else 0
    I.expect(idx.ndim >= 1 and 1 <= m <= len(shape), op,
             f"1 <= indices.shape[0] <= len(shape) ({len(shape)})",
             f"indices.shape={tuple(idx.shape)}, shape={shape}")
    want = (tuple(idx.shape[1:]) + shape[m:]) or (1,)
    I.expect(tuple(data.shape) == want, op, f"data.shape == indices.shape[1:] + shape[{m}:] = "
             f"{want}", f"data.shape == {tuple(data.shape)}")
    return I.Spec(shape, data.dtype)


scatter_nd = defop("scatter_nd", ("data", "indices"), {"shape": Shape(())}, infer=_scatter_infer,
                   doc="Zeros of ``shape`` with ``data`` written at ``indices`` (the inverse of "
                       "gather_nd); with repeated indices one write wins.")


@scatter_nd.impl
def _(xp, data, indices, shape=()):
    _scatter_infer(_spec(data), _spec(indices), shape)
    m, shape = indices.shape[0], tuple(shape)
    lin = _linear_index(xp, _as_index(xp, indices), shape[:m], "scatter_nd")
    out = xp.zeros((_prod(shape[:m]),) + shape[m:], dtype=data.dtype)
    out[lin, ...] = xp.reshape(data, (-1,) + shape[m:])
    return xp.reshape(out, shape)


scatter_nd.nograd("indices")
scatter_nd.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (3,)), np.array([[0.0, 2.5, 1.5], [3.2, 0.0, 1.9]]),
                       shape=(3, 4)),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 2)), np.array([[2, 0]]), shape=(4, 2)),
)


# -- sort, argsort, topk ---------------------------------------------------------------------------
class _AxisOrNone(Attr):
    """An axis where ``None`` means "the flattened array" (MXNet's sort/argsort/topk)."""

    __slots__ = ()

    def __init__(self, default=-1):
        super().__init__(default, "axis or None")

    def parse(self, value, op="op", name="attr"):
        v = ast.literal_eval(value) if isinstance(value, str) else value
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise I.MXNetValueError(f"{op}: attribute {name}={value!r} is not an int or None")
        return int(v)


def _sort_layout(x, axis, op):
    """(shape the op works on, its axis): ``axis=None`` works on the flattened array."""
    if axis is None:
        return (x.size,), 0
    return tuple(x.shape), _axis(axis, x.ndim, op)


def _flat(xp, x, axis):
    return (xp.reshape(x, (-1,)), 0) if axis is None else (x, axis % x.ndim)


def _argsort(xp, x, ax, ascending):
    """Stable argsort along ``ax``; descending order keeps equal elements in input order."""
    if ascending:
        return xp.argsort(x, axis=ax, stable=True)
    n = x.shape[ax]     # flip, sort ascending, flip back: no negation, so unsigned ints work too
    return (n - 1) - xp.flip(xp.argsort(xp.flip(x, axis=ax), axis=ax, stable=True), axis=ax)


_SORT_ATTRS = {"axis": _AxisOrNone(-1), "is_ascend": Bool(True)}


def _sort_infer(x, axis=-1, is_ascend=True):
    return I.Spec(_sort_layout(x, axis, "sort")[0], x.dtype)


sort = defop("sort", ("data",), dict(_SORT_ATTRS), infer=_sort_infer,
             doc="Sort along ``axis`` (the flattened array when None), ascending unless "
                 "``is_ascend=False``.")


@sort.impl
def _(xp, x, axis=-1, is_ascend=True):
    _sort_infer(_spec(x), axis)
    x, ax = _flat(xp, x, axis)
    r = xp.sort(x, axis=ax)
    return r if is_ascend else xp.flip(r, axis=ax)


sort.samples(lambda rng: Sample(rng.uniform(-1, 1, (3, 4))),
             lambda rng: Sample(rng.integers(0, 3, (2, 5, 3)).astype(float), axis=1,
                                is_ascend=False, grad=False),
             lambda rng: Sample(rng.uniform(-1, 1, (2, 3)), axis=None))


def _argsort_infer(x, axis=-1, is_ascend=True, dtype="float32"):
    return I.Spec(_sort_layout(x, axis, "argsort")[0], np.dtype(dtype))


argsort = defop("argsort", ("data",), {**_SORT_ATTRS, "dtype": Dtype("float32")},
                infer=_argsort_infer, differentiable=False,
                doc="Indices that sort along ``axis`` (stable), as ``dtype`` (float32 by default).")


@argsort.impl
def _(xp, x, axis=-1, is_ascend=True, dtype="float32"):
    _argsort_infer(_spec(x), axis)
    x, ax = _flat(xp, x, axis)
    return xp.astype(_argsort(xp, x, ax, is_ascend), _xp_dtype(xp, dtype))


argsort.samples(lambda rng: Sample(rng.permutation(12).reshape(3, 4).astype(float), grad=False),
                lambda rng: Sample(rng.permutation(24).reshape(2, 3, 4).astype(float), axis=0,
                                   is_ascend=False, dtype="int32", grad=False),
                lambda rng: Sample(rng.permutation(6).reshape(2, 3).astype(float), axis=None,
                                   grad=False))


def _topk_infer(x, axis=-1, k=1, ret_typ="indices", is_ascend=False, dtype="float32"):
    op = "topk"
    shape, ax = _sort_layout(x, axis, op)
    n = shape[ax]
    kk = n if k < 1 else k
    I.expect(kk <= n, op, f"k <= data.shape[{ax}] = {n}", f"k={k}")
    if ret_typ == "mask":
        return x
    out = tuple(kk if i == ax else s for i, s in enumerate(shape))
    vals, idx = I.Spec(out, x.dtype), I.Spec(out, np.dtype(dtype))
    return {"value": vals, "indices": idx, "both": (vals, idx)}[ret_typ]


topk = defop("topk", ("data",), {"axis": _AxisOrNone(-1), "k": Int(1),
                                 "ret_typ": Enum("indices", "value", "both", "mask"),
                                 "is_ascend": Bool(False), "dtype": Dtype("float32")},
             infer=_topk_infer,
             doc="The ``k`` largest (smallest if ``is_ascend``) elements along ``axis``: their "
                 "indices, values, both (values, indices), or a 0/1 mask; ``k < 1`` takes all.")


@topk.impl
def _(xp, x, axis=-1, k=1, ret_typ="indices", is_ascend=False, dtype="float32"):
    _topk_infer(_spec(x), axis, k, ret_typ)
    shape = x.shape
    x, ax = _flat(xp, x, axis)
    kk = x.shape[ax] if k < 1 else k
    order = _argsort(xp, x, ax, is_ascend)
    if ret_typ == "mask":       # rank of each element = the inverse permutation of the order
        rank = xp.argsort(order, axis=ax, stable=True)
        return xp.reshape(xp.astype(rank < kk, x.dtype), shape)
    top = _take_range(xp, order, ax, 0, kk)
    if ret_typ == "indices":
        return xp.astype(top, _xp_dtype(xp, dtype))
    vals = xp.take_along_axis(x, top, axis=ax)
    return vals if ret_typ == "value" else (vals, xp.astype(top, _xp_dtype(xp, dtype)))


topk.nout = lambda attrs: 2 if attrs.get("ret_typ") == "both" else 1
# MXNet's list_outputs: the ops keep a hidden second output, so one visible output is output0
topk.output_names = lambda attrs: ["output0", "output1"] if attrs.get("ret_typ") in (
    "value", "both") else ["output"]
sort.output_names = lambda attrs: ["output0"]
topk.dtype_rule = lambda dts, attrs: {
    "both": (dts[0], attrs["dtype"]), "indices": (attrs["dtype"],)}.get(attrs["ret_typ"],
                                                                          (dts[0],))
topk.samples(
    lambda rng: Sample(rng.permutation(12).reshape(3, 4).astype(float), k=2, grad=False),
    lambda rng: Sample(rng.permutation(24).reshape(2, 3, 4).astype(float), axis=1, k=2,
                       ret_typ="value"),
    lambda rng: Sample(rng.permutation(24).reshape(2, 3, 4).astype(float), axis=0, k=0,
                       ret_typ="both", is_ascend=True, dtype="int64"),
    lambda rng: Sample(rng.permutation(12).reshape(3, 4).astype(float), axis=None, k=3,
                       ret_typ="mask", grad=False),
    lambda rng: Sample(rng.permutation(12).reshape(4, 3).astype(float), axis=-2, k=3,
                       ret_typ="mask", is_ascend=True, grad=False),
)


# -- gradients: the index ops' backward primitives (accumulating scatters) and rules ---------------
# Each backward primitive is the adjoint of a forward gather, and that gather is its VJP, so
# second order works. Repeated indices accumulate (``scatter_add``) on every backend.
def _take_backward_infer(g, idx, shape=(), axis=0, mode="clip"):
    want = _take_infer(I.Spec(tuple(shape), g.dtype), idx, axis, mode).shape
    I.expect(tuple(g.shape) == want, "_take_backward", f"grad.shape == {want}",
             f"grad.shape == {tuple(g.shape)}")
    return I.Spec(tuple(shape), g.dtype)


take_backward = defop("_take_backward", ("grad", "indices"),
                      {"shape": Shape(()), "axis": Int(0),
                       "mode": Enum("clip", "wrap", "raise")},
                      infer=_take_backward_infer,
                      doc="The gradient of ``take``: ``grad`` added into zeros of ``shape`` at "
                          "``indices`` along ``axis`` (repeated indices accumulate).")


@take_backward.impl
def _(xp, g, indices, shape=(), axis=0, mode="clip"):
    shape = tuple(shape)
    _take_backward_infer(_spec(g), _spec(indices), shape, axis, mode)
    ax = axis % len(shape)
    n = shape[ax]
    idx = _fix_index(xp, _as_index(xp, xp.reshape(indices, (-1,))), n, mode, "take")
    vals = xp.reshape(g, (_prod(shape[:ax]), idx.shape[0], _prod(shape[ax + 1:])))
    return xp.reshape(scatter_add(xp, xp.reshape(idx, (1, -1)), vals, n), shape)


take_backward.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (2, 2, 3)), np.array([[0.0, 3.5], [1.2, 1.7]]),
                       shape=(4, 3)),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 4, 3)), np.array([4, -1, 7, 4]), shape=(2, 5, 3),
                       axis=1),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 1, 3)), np.array([[6, -4, 1]]), shape=(2, 5),
                       axis=-1, mode="wrap"),
)
take_backward.vjp(lambda g, out, grad, indices, shape=(), axis=0, mode="clip": (
    F.take(g, indices, axis=axis, mode=mode), None))
take.vjp(lambda g, out, a, indices, axis=0, mode="clip": (
    F._take_backward(g, indices, shape=a.shape, axis=axis, mode=mode), None))


def _pick_backward_infer(g, index, shape=(), axis=-1, keepdims=False, mode="clip"):
    want = _pick_infer(I.Spec(tuple(shape), g.dtype), index, axis, keepdims, mode).shape
    I.expect(tuple(g.shape) == want, "_pick_backward", f"grad.shape == {want}",
             f"grad.shape == {tuple(g.shape)}")
    return I.Spec(tuple(shape), g.dtype)


pick_backward = defop("_pick_backward", ("grad", "index"),
                      {"shape": Shape(()), "axis": Attr(-1, "axis"), "keepdims": Bool(False),
                       "mode": Enum("clip", "wrap")},
                      infer=_pick_backward_infer,
                      doc="The gradient of ``pick``: zeros of ``shape`` with ``grad`` at the "
                          "picked position of each fiber along ``axis``.")


@pick_backward.impl
def _(xp, g, index, shape=(), axis=-1, keepdims=False, mode="clip"):
    shape = tuple(shape)
    _pick_backward_infer(_spec(g), _spec(index), shape, axis, keepdims, mode)
    nd = len(shape)
    ax = axis % nd
    kshape = tuple(1 if i == ax else s for i, s in enumerate(shape))
    idx = _fix_index(xp, _as_index(xp, xp.reshape(index, kshape)), shape[ax], mode, "pick")
    pos = xp.reshape(xp.arange(shape[ax], dtype=xp.int64),
                     tuple(shape[ax] if i == ax else 1 for i in range(nd)))
    gk = xp.reshape(g, kshape)      # one pick per fiber: a select, nothing to accumulate
    return xp.where(idx == pos, gk, xp.zeros_like(gk))


@pick_backward.kernel("numpy")
def _(be, g, index, shape=(), axis=-1, keepdims=False, mode="clip"):
    shape = tuple(shape)
    i = _rows_pick_index(shape, index, axis, mode)
    want = (shape[0], 1) if keepdims else (shape[0],)
    if i is None or len(shape) != 2 or g.shape != want:
        return pick_backward.generic(np, g, index, shape, axis, keepdims, mode)
    out = np.zeros(shape, dtype=g.dtype)
    out[np.arange(shape[0]), i] = g.reshape(-1)
    return out


pick_backward.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (3,)), np.array([0.0, 3.5, 1.2]), shape=(3, 4)),
    lambda rng: Sample(rng.uniform(-1, 1, (3, 1)), np.array([[5], [-1], [2]]), shape=(3, 4),
                       keepdims=True, mode="wrap"),
)
pick_backward.vjp(lambda g, out, grad, index, shape=(), axis=-1, keepdims=False, mode="clip": (
    F.pick(g, index, axis=axis, keepdims=keepdims, mode=mode), None))
pick.vjp(lambda g, out, x, index, axis=-1, keepdims=False, mode="clip": (
    F._pick_backward(g, index, shape=x.shape, axis=axis, keepdims=keepdims, mode=mode), None))


def _gather_nd_backward_infer(g, idx, shape=()):
    want = _gather_infer(I.Spec(tuple(shape), g.dtype), idx).shape
    I.expect(tuple(g.shape) == want, "_gather_nd_backward", f"grad.shape == {want}",
             f"grad.shape == {tuple(g.shape)}")
    return I.Spec(tuple(shape), g.dtype)


gather_nd_backward = defop("_gather_nd_backward", ("grad", "indices"), {"shape": Shape(())},
                           infer=_gather_nd_backward_infer,
                           doc="The gradient of ``gather_nd``: ``grad`` added into zeros of "
                               "``shape`` at ``indices`` (repeated indices accumulate).")


@gather_nd_backward.impl
def _(xp, g, indices, shape=()):
    shape = tuple(shape)
    _gather_nd_backward_infer(_spec(g), _spec(indices), shape)
    m = indices.shape[0]
    lin = _linear_index(xp, _as_index(xp, indices), shape[:m])
    vals = xp.reshape(g, (1, lin.shape[0]) + shape[m:])
    out = scatter_add(xp, xp.reshape(lin, (1, -1)), vals, _prod(shape[:m]))
    return xp.reshape(out, shape)


gather_nd_backward.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (4,)), np.array([[0, 2, 0, -3], [3, 0, 3, 3]]),
                       shape=(3, 4)),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 2)), np.array([[2, -1], [3, 3]]),
                       shape=(3, 4, 2)),
    lambda rng: Sample(rng.uniform(-1, 1, (1,)), np.array([1.5, 2.5]), shape=(2, 3)),
)
gather_nd_backward.vjp(lambda g, out, grad, indices, shape=(): (F.gather_nd(g, indices), None))
gather_nd.vjp(lambda g, out, data, indices: (
    F._gather_nd_backward(g, indices, shape=data.shape), None))
# As MXNet: the gradient of scatter_nd is gather_nd. With repeated indices (where the forward
# result is backend-defined: one write wins) every writer gets the gradient of its target.
scatter_nd.vjp(lambda g, out, data, indices, shape=(): (F.gather_nd(g, indices), None))


def _where_vjp(g, out, cond, x, y):
    zero = F.zeros_like(g)
    gx, gy = F.where(cond, g, zero), F.where(cond, zero, g)
    cast = lambda a, v: a if np.dtype(a.dtype) == np.dtype(v.dtype) else F.cast(  # noqa: E731
        a, dtype=np.dtype(v.dtype).name)
    return None, cast(gx, x), cast(gy, y)


where.vjp(_where_vjp)


# -- along-axis gather / scatter: the gradients of sort and topk -----------------------------------
def _along_infer(data, idx, axis, size, op):
    ax = _axis(axis, data.ndim, op)
    I.expect(idx.ndim == data.ndim and all(a == b for i, (a, b) in enumerate(
        zip(idx.shape, data.shape)) if i != ax), op,
        f"indices.shape == {tuple(data.shape)} except on axis {ax}",
        f"indices.shape == {tuple(idx.shape)}")
    return I.Spec(tuple(size if i == ax else s for i, s in enumerate(idx.shape)), data.dtype)


gather_along_axis = defop("_gather_along_axis", ("data", "indices"), {"axis": Int(-1)},
                          infer=lambda d, i, axis=-1: _along_infer(
                              d, i, axis, i.shape[_axis(axis, d.ndim, "_gather_along_axis")],
                              "_gather_along_axis"),
                          doc="``take_along_axis``: ``out[..., j, ...] = data[..., indices[..., "
                              "j, ...], ...]`` (indices in range).")


@gather_along_axis.impl
def _(xp, data, indices, axis=-1):
    I.expect(indices.ndim == data.ndim, "_gather_along_axis", f"indices.ndim == {data.ndim}",
             f"{indices.ndim}")
    return xp.take_along_axis(data, _as_index(xp, indices), axis=axis % data.ndim)


def _scatter_along_infer(g, idx, axis=-1, size=1):
    I.expect(tuple(idx.shape) == tuple(g.shape), "_scatter_add_along_axis",
             f"indices.shape == grad.shape {tuple(g.shape)}", f"{tuple(idx.shape)}")
    return _along_infer(g, idx, axis, size, "_scatter_add_along_axis")


scatter_add_along_axis = defop("_scatter_add_along_axis", ("grad", "indices"),
                               {"axis": Int(-1), "size": Int(1)}, infer=_scatter_along_infer,
                               doc="The adjoint of ``_gather_along_axis``: ``grad`` added into "
                                   "zeros (``size`` long on ``axis``) at ``indices`` there.")


@scatter_add_along_axis.impl
def _(xp, g, indices, axis=-1, size=1):
    _scatter_along_infer(_spec(g), _spec(indices), axis, size)
    nd = g.ndim
    ax = axis % nd
    perm = tuple(i for i in range(nd) if i != ax) + (ax,)
    gt, it = xp.permute_dims(g, perm), xp.permute_dims(_as_index(xp, indices), perm)
    lead, k = tuple(gt.shape[:-1]), gt.shape[-1]
    out = scatter_add(xp, xp.reshape(it, (_prod(lead), k)), xp.reshape(gt, (_prod(lead), k)), size)
    out = xp.reshape(out, lead + (size,))
    return xp.permute_dims(out, tuple(perm.index(j) for j in range(nd)))


_ALONG_IDX = np.array([[[2, 0, 2], [1, 1, 0]], [[0, 0, 0], [2, 1, 2]]])
gather_along_axis.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (2, 2, 3)), _ALONG_IDX[:, :, :2], axis=-1),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 3)), _ALONG_IDX + 0.5, axis=1))
scatter_add_along_axis.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (2, 2, 3)), _ALONG_IDX, axis=2, size=4),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 2, 3)), _ALONG_IDX + 0.5, axis=-2, size=3))
gather_along_axis.vjp(lambda g, out, data, indices, axis=-1: (F._scatter_add_along_axis(
    g, indices, axis=axis, size=data.shape[axis % data.ndim]), None))
scatter_add_along_axis.vjp(lambda g, out, grad, indices, axis=-1, size=1: (
    F._gather_along_axis(g, indices, axis=axis), None))


def _scatter_sorted(g, order, x, axis):
    """``g`` (of the sorted/top values) sent back to the positions ``order`` they came from."""
    if axis is None:
        g = F._scatter_add_along_axis(g, order, axis=0, size=_prod(x.shape))
        return F.reshape(g, shape=x.shape)
    return F._scatter_add_along_axis(g, order, axis=axis, size=x.shape[axis % x.ndim])


sort.vjp(lambda g, out, x, axis=-1, is_ascend=True: (_scatter_sorted(
    g, F.argsort(x, axis=axis, is_ascend=is_ascend, dtype="int64"), x, axis),))


@topk.vjp
def _(g, out, x, axis=-1, k=1, ret_typ="indices", is_ascend=False, dtype="float32"):
    if ret_typ in ("indices", "mask"):     # piecewise constant in x
        return (None,)
    if ret_typ == "both":
        g, idx = g[0], out[1]
    if ret_typ == "value" or dtype == "float16":    # float16 cannot hold large indices exactly
        idx = F.topk(x, axis=axis, k=k, ret_typ="indices", is_ascend=is_ascend, dtype="int64")
    return (_scatter_sorted(g, idx, x, axis),)
