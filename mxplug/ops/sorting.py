"""Index-selection ops (take, pick, one_hot, where, gather_nd, scatter_nd) and sorting ops (sort,
argsort, topk), in MXNet 1.x semantics: index inputs may be float arrays (truncated toward zero) and
index outputs are float32 unless a ``dtype`` attribute says otherwise."""
from __future__ import annotations

import ast

import numpy as np

from ..base import MXNetIndexError
from . import infer as I
from .attrs import Attr, Bool, Dtype, Enum, Float, Int, Shape
from .movement import _as_index, _axis, _common_dtype, _prod, _spec, _take_range, _xp_dtype
from .registry import Sample, defop


# -- take, pick, one_hot ---------------------------------------------------------------------------
def _take_infer(a, idx, axis=0, mode="clip"):
    ax = _axis(axis, a.ndim, "take")
    return I.Spec(tuple(a.shape[:ax]) + tuple(idx.shape) + tuple(a.shape[ax + 1:]), a.dtype)


def _fix_index(xp, idx, n, mode, op):
    """Bring integer indices into ``[0, n)`` by MXNet's ``mode``: clip, wrap or raise."""
    if mode == "clip":
        return xp.clip(idx, 0, n - 1)
    if mode == "wrap":
        return xp.remainder(idx, n)
    bad = (idx < -n) | (idx >= n)
    if bool(xp.any(bad)):
        raise MXNetIndexError(f"{op}: Expect: -{n} <= index < {n} (mode='raise') / Actual: "
                              f"index {int(xp.reshape(idx[bad], (-1,))[0])} is out of range")
    return xp.where(idx < 0, idx + n, idx)


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


take.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (4, 3)), np.array([[0.0, 3.0], [1.0, 1.0]])),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 5, 3)), np.array([4, -1, 7, 0]), axis=1),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 5)), np.array([[6.0, -2.0, 3.0]]), axis=-1,
                       mode="wrap"),
    lambda rng: Sample(rng.uniform(-1, 1, (4, 2)), np.array([-4, 3, -1]), mode="raise"),
)


def _pick_infer(x, index, axis=-1, keepdims=False, mode="clip"):
    op = "pick"
    ax = _axis(axis, x.ndim, op)
    want = tuple(1 if i == ax else s for i, s in enumerate(x.shape)) if keepdims else \
        (tuple(s for i, s in enumerate(x.shape) if i != ax) or (1,))
    got = tuple(index.shape)
    ok = got == want or (not keepdims and got == tuple(
        1 if i == ax else s for i, s in enumerate(x.shape)))
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


pick.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), np.array([0.0, 3.0, 1.0])),
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4, 2)), np.array([[2, 0], [1, 9], [-1, 3]]),
                       axis=1),
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), np.array([[5.0], [-1.0], [2.0]]), axis=-1,
                       keepdims=True, mode="wrap"),
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), np.array([2.0, 0.0, 1.0, 2.0]), axis=0),
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


where.samples(
    lambda rng: Sample((rng.uniform(0, 1, (3, 4)) > 0.5).astype(float), rng.uniform(-1, 1, (3, 4)),
                       rng.uniform(-1, 1, (3, 4))),
    lambda rng: Sample(np.array([1.0, 0.0, 3.0]), rng.uniform(-1, 1, (3, 2, 2)),
                       rng.uniform(-1, 1, (3, 2, 2))),
)


def _gather_infer(data, idx):
    op = "gather_nd"
    m = idx.shape[0] if idx.ndim else 0
    I.expect(idx.ndim >= 1 and 1 <= m <= data.ndim, op,
             f"1 <= indices.shape[0] <= data.ndim ({data.ndim})",
             f"indices.shape={tuple(idx.shape)}")
    return I.Spec((tuple(idx.shape[1:]) + tuple(data.shape[m:])) or (1,), data.dtype)


def _linear_index(xp, idx, dims):
    """Row-major flat positions of the index tuples in ``idx`` (shape (M, ...)); negatives wrap."""
    lin = None
    for i, n in enumerate(dims):
        k = idx[i, ...]
        k = xp.where(k < 0, k + n, k)
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


gather_nd.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4)), np.array([[0.0, 2.0, 1.0], [3.0, 0.0, 1.0]])),
    lambda rng: Sample(rng.uniform(-1, 1, (3, 4, 2)), np.array([[[2, -1], [0, 1]]])),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3)), np.array([1.0, 2.0])),
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
    lin = _linear_index(xp, _as_index(xp, indices), shape[:m])
    out = xp.zeros((_prod(shape[:m]),) + shape[m:], dtype=data.dtype)
    out[lin, ...] = xp.reshape(data, (-1,) + shape[m:])
    return xp.reshape(out, shape)


scatter_nd.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (3,)), np.array([[0.0, 2.0, 1.0], [3.0, 0.0, 1.0]]),
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
