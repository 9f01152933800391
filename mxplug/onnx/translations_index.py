"""mxplug op -> ONNX translations: slicing, indexing and matrix products.

Registered in :data:`mxplug.onnx.translations.TRANSLATIONS` (see there for the calling
convention). Indices follow MXNet: float or int arrays, clipped into range (``mode='clip'``, the
default) or wrapped (``mode='wrap'``) before ONNX's Gather ops see them.
"""

from __future__ import annotations

import numpy as np

from .graph import onnx_dtype
from .translations import int64_indices, translates, unsupported

_INT64_MAX = np.iinfo(np.int64).max


def _dt(g, node, k=0):
    return g.spec(node, k).dtype


# -- slicing and indexing -------------------------------------------------------------------------
def _slice(g, node, x, starts, ends, axes, steps, out):
    g.add("Slice", [x, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)], out,
          node.name)


@translates("slice")
def _slice_op(g, node, args, out):
    a = node.attrs
    begin, end = list(a["begin"]), list(a["end"])
    step = list(a["step"]) or [None] * len(begin)
    starts, ends, axes, steps = [], [], [], []
    for axis, (b, e, s) in enumerate(zip(begin, end, step)):
        s = 1 if s is None else s
        if b is None and e is None and s == 1:
            continue
        starts.append(b if b is not None else (0 if s > 0 else -1))
        ends.append(e if e is not None else (_INT64_MAX if s > 0 else -_INT64_MAX))
        axes.append(axis)
        steps.append(s)
    if not axes:
        g.add("Identity", args, out, node.name)
        return
    _slice(g, node, args[0], starts, ends, axes, steps, out)


@translates("slice_axis")
def _slice_axis(g, node, args, out):
    a = node.attrs
    end = _INT64_MAX if a["end"] is None else a["end"]
    _slice(g, node, args[0], [a["begin"]], [end], [a["axis"]], [1], out)


@translates("flip")
def _flip(g, node, args, out):
    axes = list(node.attrs["axis"])
    n = len(axes)
    _slice(g, node, args[0], [-1] * n, [-_INT64_MAX] * n, axes, [-1] * n, out)


@translates("split")
def _split(g, node, args, out):
    a = node.attrs
    xs = g.arg_specs(node)[0]
    axis, n = a["axis"] % xs.ndim, a["num_outputs"]
    sizes = [xs.shape[axis] // n] * n
    if not a["squeeze_axis"]:
        g.add("Split", [args[0], g.ints(sizes)], out, node.name, axis=axis)
        return
    parts = g.add("Split", [args[0], g.ints(sizes)], n, node.name, axis=axis)
    for part, name in zip([parts] if n == 1 else parts, out):
        g.axes_op("Squeeze", part, [axis], [name], node.name)


@translates("take")
def _take(g, node, args, out):
    xs = g.arg_specs(node)[0]
    axis = node.attrs["axis"] % xs.ndim
    idx = int64_indices(g, node, args[1], xs.shape[axis], node.attrs["mode"])
    g.add("Gather", [args[0], idx], out, node.name, axis=axis)


@translates("pick")
def _pick(g, node, args, out):
    a = node.attrs
    xs = g.arg_specs(node)[0]
    axis = xs.ndim - 1 if a["axis"] is None else a["axis"] % xs.ndim
    idx = int64_indices(g, node, args[1], xs.shape[axis], a["mode"])
    idx = g.axes_op("Unsqueeze", idx, [axis], hint=node.name)
    r = g.add("GatherElements", [args[0], idx], hint=node.name, axis=axis)
    if a["keepdims"]:
        g.add("Identity", [r], out, node.name)
    else:
        g.axes_op("Squeeze", r, [axis], out, node.name)


@translates("one_hot")
def _one_hot(g, node, args, out):
    a = node.attrs
    idx = g.add("Cast", args[:1], hint=node.name, to=onnx_dtype(np.int64))
    values = g.const([a["off_value"], a["on_value"]], _dt(g, node))
    g.add("OneHot", [idx, g.const([a["depth"]], np.int64), values], out, node.name, axis=-1)


@translates("depth_to_space")
def _depth_to_space(g, node, args, out):
    g.add("DepthToSpace", args, out, node.name, blocksize=node.attrs["block_size"], mode="DCR")


@translates("space_to_depth")
def _space_to_depth(g, node, args, out):
    g.add("SpaceToDepth", args, out, node.name, blocksize=node.attrs["block_size"])


# -- matrix products ------------------------------------------------------------------------------
def _swap_last(g, node, x, ndim):
    perm = list(range(ndim))
    perm[-2:] = perm[-2:][::-1]
    return g.add("Transpose", [x], hint=node.name, perm=perm)


@translates("dot")
def _dot(g, node, args, out):
    """MXNet's dot contracts lhs's last axis with rhs's FIRST: MatMul when rhs is a matrix."""
    a, b = args
    sa, sb = g.arg_specs(node)
    ta, tb = node.attrs["transpose_a"], node.attrs["transpose_b"]
    if sb.ndim == 2 and (sa.ndim >= 2 or not ta) and not (ta and sa.ndim > 2):
        if ta:
            a = _swap_last(g, node, a, 2)
        if tb:
            b = _swap_last(g, node, b, 2)
        if sa.ndim == 1:
            r = g.add("MatMul", [a, b], hint=node.name)
            g.add("Reshape", [r, g.ints(g.spec(node).shape)], out, node.name)
        else:
            g.add("MatMul", [a, b], out, node.name)
        return
    if g.varying_axes(node) or ta or tb:
        raise unsupported(node, f"dot of {sa.shape} and {sb.shape} with transpose_a={ta}, "
                                f"transpose_b={tb} (or with dynamic axes)")
    k = sa.shape[-1]
    a2 = g.add("Reshape", [a, g.ints([-1, k])], hint=node.name)
    b2 = g.add("Reshape", [b, g.ints([k, -1])], hint=node.name)
    r = g.add("MatMul", [a2, b2], hint=node.name)
    g.add("Reshape", [r, g.ints(g.spec(node).shape)], out, node.name)


@translates("batch_dot")
def _batch_dot(g, node, args, out):
    a, b = args
    sa, sb = g.arg_specs(node)
    if node.attrs["transpose_a"]:
        a = _swap_last(g, node, a, sa.ndim)
    if node.attrs["transpose_b"]:
        b = _swap_last(g, node, b, sb.ndim)
    g.add("MatMul", [a, b], out, node.name)


@translates("matmul")
def _matmul(g, node, args, out):
    g.add("MatMul", args, out, node.name)


@translates("linalg_gemm2")
def _gemm2(g, node, args, out):
    a, b = args
    sa, sb = g.arg_specs(node)
    at = node.attrs
    if at["axis"] not in (-2, sa.ndim - 2):
        raise unsupported(node, f"axis={at['axis']}")
    if at["transpose_a"]:
        a = _swap_last(g, node, a, sa.ndim)
    if at["transpose_b"]:
        b = _swap_last(g, node, b, sb.ndim)
    if at["alpha"] == 1.0:
        g.add("MatMul", [a, b], out, node.name)
    else:
        r = g.add("MatMul", [a, b], hint=node.name)
        g.add("Mul", [r, g.const(at["alpha"], _dt(g, node))], out, node.name)


# -- basic indexing (traced ``x[1, :, 2:5:2]``) --------------------------------------------------
def _expand_ellipsis(key, ndim):
    real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if Ellipsis in key:
        i = key.index(Ellipsis)
        return key[:i] + (slice(None),) * (ndim - real) + key[i + 1:]
    return key + (slice(None),) * (ndim - real)


@translates("getitem")
def _getitem(g, node, args, out):
    """Ints, slices, ``None`` and ``...``: one Slice, then Squeeze/Unsqueeze/Reshape."""
    if len(args) > 1:
        raise unsupported(node, "indexing with arrays")
    key = node.attrs["key"]
    key = key if isinstance(key, tuple) else (key,)
    xs = g.arg_specs(node)[0]
    starts, ends, axes, steps, dropped, new_axes = [], [], [], [], [], []
    axis = 0
    for pos, k in enumerate(_expand_ellipsis(key, xs.ndim)):
        if k is None:
            new_axes.append(pos)
            continue
        if type(k) is int:
            starts.append(k)
            ends.append(k + 1 if k != -1 else _INT64_MAX)
            axes.append(axis)
            steps.append(1)
            dropped.append(axis)
        elif isinstance(k, slice):
            step = 1 if k.step is None else k.step
            if k != slice(None) and (k.start, k.stop, step) != (None, None, 1):
                starts.append(k.start if k.start is not None else (0 if step > 0 else -1))
                ends.append(k.stop if k.stop is not None else
                            (_INT64_MAX if step > 0 else -_INT64_MAX))
                axes.append(axis)
                steps.append(step)
        else:
            raise unsupported(node, f"the index {k!r}")
        axis += 1
    x = args[0]
    if axes:
        x = g.add("Slice", [x, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps)],
                  hint=node.name)
    if dropped and len(dropped) == xs.ndim and not new_axes:
        g.add("Reshape", [x, g.ints([1])], out, node.name)   # MXNet: a scalar has shape (1,)
        return
    if dropped:
        x = g.axes_op("Squeeze", x, dropped, hint=node.name)
    if new_axes:
        x = g.axes_op("Unsqueeze", x, new_axes, hint=node.name)
    g.add("Identity", [x], out, node.name)


# -- sorting --------------------------------------------------------------------------------------
def _flat_axis(g, node, x):
    """``(x, axis, size along it)``; MXNet's ``axis=None`` sorts the flattened array."""
    xs, axis = g.arg_specs(node)[0], node.attrs["axis"]
    if axis is None:
        return g.add("Reshape", [x, g.ints([-1])], hint=node.name), 0, xs.size
    axis %= xs.ndim
    return x, axis, xs.shape[axis]


def _top_k(g, node, x, axis, k, ascending):
    """ONNX TopK's (values, int64 indices). Its sorted output puts equal elements in index
    order in both directions, as MXNet's stable sort does."""
    return g.add("TopK", [x, g.ints([k])], 2, node.name, axis=axis,
                 largest=0 if ascending else 1, sorted=1)


@translates("sort")
def _sort(g, node, args, out):
    x, axis, n = _flat_axis(g, node, args[0])
    values, _ = _top_k(g, node, x, axis, n, node.attrs["is_ascend"])
    g.add("Identity", [values], out, node.name)


@translates("argsort")
def _argsort(g, node, args, out):
    x, axis, n = _flat_axis(g, node, args[0])
    _, idx = _top_k(g, node, x, axis, n, node.attrs["is_ascend"])
    g.add("Cast", [idx], out, node.name, to=onnx_dtype(_dt(g, node)))


@translates("topk")
def _topk(g, node, args, out):
    a = node.attrs
    x, axis, n = _flat_axis(g, node, args[0])
    k = a["k"] if 0 < a["k"] <= n else n          # MXNet: k < 1 sorts the whole axis
    values, idx = _top_k(g, node, x, axis, k, a["is_ascend"])
    ret = a["ret_typ"]
    if ret == "mask":      # 1 at the chosen positions, 0 elsewhere, in the data's dtype
        from onnx import numpy_helper
        dt = _dt(g, node)
        zeros = g.add("ConstantOfShape", [g.add("Shape", [x], hint=node.name)],
                      hint=node.name, value=numpy_helper.from_array(np.zeros(1, dt)))
        ones = g.add("Expand", [g.const(1, dt), g.add("Shape", [idx], hint=node.name)],
                     hint=node.name)
        mask = g.add("ScatterElements", [zeros, idx, ones], hint=node.name, axis=axis)
        g.add("Reshape", [mask, g.ints(g.spec(node).shape)], out, node.name)
        return
    idx_out = out[-1] if ret in ("indices", "both") else None
    if ret in ("value", "both"):
        g.add("Identity", [values], out[:1], node.name)
    if idx_out is not None:
        g.add("Cast", [idx], [idx_out], node.name, to=onnx_dtype(_dt(g, node, len(out) - 1)))


@translates("slice_like")
def _slice_like(g, node, args, out):
    """From the start to ``shape_like``'s run-time sizes on ``axes`` (of data's ndim; all when
    empty)."""
    ndim = g.arg_specs(node)[0].ndim
    axes = [a % ndim for a in node.attrs["axes"]] or list(range(ndim))
    ends = g.add("Gather", [g.add("Shape", [args[1]], hint=node.name), g.ints(axes)],
                 hint=node.name, axis=0)
    g.add("Slice", [args[0], g.ints([0] * len(axes)), ends, g.ints(axes)], out, node.name)


@translates("gather_nd")
def _gather_nd(g, node, args, out):
    """MXNet's indices put the index tuple on axis 0 (ONNX's GatherND: on the last axis);
    negative indices count from the end in both."""
    ind = g.add("Cast", [args[1]], hint=node.name, to=onnx_dtype(np.int64))
    nd = g.arg_specs(node)[1].ndim
    ind = g.add("Transpose", [ind], hint=node.name, perm=[*range(1, nd), 0])
    g.add("GatherND", [args[0], ind], out, node.name, batch_dims=0)


# -- interleaved attention (MXNet's contrib transformer ops) --------------------------------------
# Projections are (seq, batch, proj) with, per head, its q, k, v (or k, v) rows of head_dim each;
# scores are (batch * heads, seq_q, seq_k), row b * heads + h.
def _heads_first(g, node, x, heads, parts, part, d):
    """Part ``part`` of each head of ``x`` as (batch * heads, seq, d)."""
    x = g.add("Reshape", [x, g.ints([0, -1, parts * d])], hint=node.name)
    if parts > 1:
        x = g.add("Slice", [x, g.ints([part * d]), g.ints([(part + 1) * d]), g.ints([2])],
                  hint=node.name)
    return g.add("Transpose", [x], hint=node.name, perm=[1, 0, 2])


def _attention_scores(g, node, q, k, d, out):
    """``q k^T / sqrt(d)``, the scale applied to q as MXNet does."""
    q = g.add("Mul", [q, g.const(1.0 / np.sqrt(d), _dt(g, node))], hint=node.name)
    g.add("MatMul", [q, g.add("Transpose", [k], hint=node.name, perm=[0, 2, 1])], out,
          node.name)


def _time_major(g, node, o, heads, d, out):
    """(batch * heads, seq, d) -> (seq, batch, heads * d)."""
    seq_d = g.add("Slice", [g.add("Shape", [o], hint=node.name), g.ints([1]), g.ints([3])],
                  hint=node.name)
    target = g.add("Concat", [g.ints([-1, heads]), seq_d], hint=node.name, axis=0)
    o = g.add("Reshape", [o, target], hint=node.name)
    o = g.add("Transpose", [o], hint=node.name, perm=[2, 0, 1, 3])
    g.add("Reshape", [o, g.ints([0, 0, heads * d])], out, node.name)


@translates("_contrib_interleaved_matmul_selfatt_qk")
def _selfatt_qk(g, node, args, out):
    heads = node.attrs["heads"]
    d = g.arg_specs(node)[0].shape[2] // (3 * heads)
    _attention_scores(g, node, _heads_first(g, node, args[0], heads, 3, 0, d),
                      _heads_first(g, node, args[0], heads, 3, 1, d), d, out)


@translates("_contrib_interleaved_matmul_selfatt_valatt")
def _selfatt_valatt(g, node, args, out):
    heads = node.attrs["heads"]
    d = g.arg_specs(node)[0].shape[2] // (3 * heads)
    v = _heads_first(g, node, args[0], heads, 3, 2, d)
    _time_major(g, node, g.add("MatMul", [args[1], v], hint=node.name), heads, d, out)


@translates("_contrib_interleaved_matmul_encdec_qk")
def _encdec_qk(g, node, args, out):
    heads = node.attrs["heads"]
    d = g.arg_specs(node)[0].shape[2] // heads
    _attention_scores(g, node, _heads_first(g, node, args[0], heads, 1, 0, d),
                      _heads_first(g, node, args[1], heads, 2, 0, d), d, out)


@translates("_contrib_interleaved_matmul_encdec_valatt")
def _encdec_valatt(g, node, args, out):
    heads = node.attrs["heads"]
    d = g.arg_specs(node)[0].shape[2] // (2 * heads)
    v = _heads_first(g, node, args[0], heads, 2, 1, d)
    _time_major(g, node, g.add("MatMul", [args[1], v], hint=node.name), heads, d, out)
