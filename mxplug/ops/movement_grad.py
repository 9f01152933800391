"""Gradient rules of the movement ops (movement.py) and the backward primitives they need.

The rules are written in mxplug ops (``F``), so they run on every backend and differentiate again.
Most movement gradients are other movement ops (a flip's is a flip, a slice's puts the gradient
back into zeros, a broadcast's sums). Where no forward op does the job, a backward primitive is
registered here with its own VJP (the forward gather), so second order works:

- ``_slice_backward``: zeros of ``shape`` with ``grad`` written at ``data[begin:end:step]``;
- ``_diag_backward``: zeros of ``shape`` with ``grad`` on diagonal ``k`` of the (axis1, axis2)
  planes.

:func:`scatter_add` is the accumulating scatter (repeated indices add up) that the index ops'
backward primitives in sorting.py are built on.
"""
from __future__ import annotations

import numpy as np

from . import infer as I
from .attrs import Int, Shape
from .call import F, unbroadcast
from .movement import (
    _diag_infer,
    _OptInts,
    _prod,
    _sliced_shape,
    _slices,
    _split_bounds,
    broadcast_axis,
    broadcast_like,
    broadcast_to,
    concat,
    depth_to_space,
    diag,
    flip,
    pad,
    repeat,
    slice_,
    slice_axis,
    slice_like,
    space_to_depth,
    split,
    split_v2,
    stack,
    swapaxes,
    tile,
)
from .registry import Sample, defop


# -- the accumulating scatter ----------------------------------------------------------------------
def scatter_add(xp, idx, vals, n):
    """``out[b, idx[b, k], ...] += vals[b, k, ...]``, into zeros of shape
    ``(B, n) + vals.shape[2:]``.

    ``idx`` is an int64 array of shape (B, K) or (1, K) (shared by every b) with entries in
    [0, n); ``vals`` has shape (B, K, ...). Repeated indices accumulate. Uses the namespace's
    ``add.at`` (NumPy, CuPy) where it has one, else a one-hot matmul (any array-API namespace)."""
    b, k = vals.shape[0], vals.shape[1]
    tail = tuple(vals.shape[2:])
    at = getattr(getattr(xp, "add", None), "at", None)
    if at is not None:
        out = xp.zeros((b, n) + tail, dtype=vals.dtype, device=vals.device)
        rows = xp.reshape(xp.arange(b, dtype=xp.int64, device=vals.device), (b, 1))
        at(out, (rows, idx), vals)
        return out
    hit = xp.reshape(idx, tuple(idx.shape) + (1,)) == xp.arange(n, dtype=xp.int64,
                                                                 device=idx.device)  # (B|1,K,n)
    hit = xp.permute_dims(xp.astype(hit, vals.dtype), (0, 2, 1))                      # (B|1, n, K)
    flat = xp.reshape(vals, (b, k, _prod(tail)))
    return xp.reshape(xp.matmul(hit, flat), (b, n) + tail)


# -- _slice_backward -------------------------------------------------------------------------------
def _slice_backward_infer(g, shape=(), begin=(), end=(), step=()):
    want = _sliced_shape(shape, _slices(shape, begin, end, step))
    I.expect(tuple(g.shape) == want, "_slice_backward", f"grad.shape == {want} (the slice of "
             f"{tuple(shape)})", f"grad.shape == {tuple(g.shape)}")
    return I.Spec(tuple(shape), g.dtype)


slice_backward = defop("_slice_backward", ("grad",),
                       {"shape": Shape(()), "begin": _OptInts(()), "end": _OptInts(()),
                        "step": _OptInts(())},
                       infer=_slice_backward_infer,
                       doc="The gradient of ``slice``: zeros of ``shape`` with ``grad`` written at "
                           "``[begin:end:step]``.")


@slice_backward.impl
def _(xp, g, shape=(), begin=(), end=(), step=()):
    _slice_backward_infer(I.Spec(tuple(g.shape), g.dtype), shape, begin, end, step)
    out = xp.zeros(tuple(shape), dtype=g.dtype, device=g.device)
    out[_slices(shape, begin, end, step)] = g
    return out


slice_backward.vjp(lambda g, out, grad, shape=(), begin=(), end=(), step=(): (
    F.slice(g, begin=begin, end=end, step=step),))
slice_backward.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (2, 2, 5)), shape=(3, 4, 5), begin=(0, 1), end=(2, 3)),
    lambda rng: Sample(rng.uniform(-1, 1, (4, 3)), shape=(4, 5), begin=(3, None),
                       end=(None, None), step=(-1, 2)),
)


# -- _diag_backward --------------------------------------------------------------------------------
def _diag_backward_infer(g, shape=(), k=0, axis1=0, axis2=1):
    op = "_diag_backward"
    I.expect(len(shape) >= 2, op, "a target shape of 2 or more dims", f"shape={tuple(shape)}")
    want = _diag_infer(I.Spec(tuple(shape), g.dtype), k, axis1, axis2).shape
    I.expect(tuple(g.shape) == want, op, f"grad.shape == {want}", f"{tuple(g.shape)}")
    return I.Spec(tuple(shape), g.dtype)


diag_backward = defop("_diag_backward", ("grad",),
                      {"shape": Shape(()), "k": Int(0), "axis1": Int(0), "axis2": Int(1)},
                      infer=_diag_backward_infer,
                      doc="The gradient of ``diag`` of an N-D array: zeros of ``shape`` with "
                          "``grad`` on diagonal ``k`` of the (axis1, axis2) planes.")


@diag_backward.impl
def _(xp, g, shape=(), k=0, axis1=0, axis2=1):
    _diag_backward_infer(I.Spec(tuple(g.shape), g.dtype), shape, k, axis1, axis2)
    nd = len(shape)
    a1, a2 = axis1 % nd, axis2 % nd
    rest = [i for i in range(nd) if i not in (a1, a2)]
    d1, d2, n = shape[a1], shape[a2], g.shape[-1]
    i = xp.arange(n, dtype=xp.int64, device=g.device)
    lin = xp.reshape((i + max(-k, 0)) * d2 + (i + max(k, 0)), (n, 1))
    hit = lin == xp.reshape(xp.arange(d1 * d2, dtype=xp.int64, device=g.device), (1, d1 * d2))
    gk = xp.reshape(g, tuple(g.shape) + (1,))
    y = xp.sum(xp.where(hit, gk, xp.zeros_like(gk)), axis=-2)   # distinct positions: no adds
    y = xp.reshape(y, tuple(shape[r] for r in rest) + (d1, d2))
    perm = rest + [a1, a2]
    return xp.permute_dims(y, tuple(perm.index(j) for j in range(nd)))


diag_backward.vjp(lambda g, out, grad, shape=(), k=0, axis1=0, axis2=1: (
    F.diag(g, k=k, axis1=axis1, axis2=axis2),))
diag_backward.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (3,)), shape=(3, 4), k=1),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3)), shape=(2, 3, 4), k=-1, axis1=-1, axis2=1),
)


# -- gradient rules --------------------------------------------------------------------------------
def _like(g, x):
    """``g`` in ``x``'s dtype (inputs of joins may have been promoted)."""
    return g if np.dtype(g.dtype) == np.dtype(x.dtype) else F.cast(g, dtype=np.dtype(x.dtype).name)


swapaxes.vjp(lambda g, out, x, dim1=0, dim2=0: (F.swapaxes(g, dim1=dim1, dim2=dim2),))
flip.vjp(lambda g, out, x, axis=(): (F.flip(g, axis=axis),))
depth_to_space.vjp(lambda g, out, x, block_size=1: (F.space_to_depth(g, block_size=block_size),))
space_to_depth.vjp(lambda g, out, x, block_size=1: (F.depth_to_space(g, block_size=block_size),))
broadcast_to.vjp(lambda g, out, x, shape=(): (unbroadcast(g, x.shape),))
broadcast_axis.vjp(lambda g, out, x, axis=(), size=(): (unbroadcast(g, x.shape),))
broadcast_like.vjp(lambda g, out, lhs, rhs, lhs_axes=None, rhs_axes=None: (
    unbroadcast(g, lhs.shape), None))


@tile.vjp
def _(g, out, x, reps=()):
    n = max(x.ndim, len(reps))
    shape = (1,) * (n - x.ndim) + tuple(x.shape)
    reps = (1,) * (n - len(reps)) + tuple(reps)
    if 0 in reps or 0 in shape:
        return (F.zeros_like(x),)
    if any(r != 1 for r in reps):  # output axis a is (rep, element): sum the rep axes away
        g = F.reshape(g, shape=tuple(v for r, s in zip(reps, shape) for v in (r, s)))
        g = F.sum(g, axis=tuple(range(0, 2 * n, 2)))
    return (F.reshape(g, shape=x.shape),)


@repeat.vjp
def _(g, out, x, repeats=1, axis=None):
    if repeats == 0 or 0 in x.shape:
        return (F.zeros_like(x),)
    if axis is None:
        g = F.sum(F.reshape(g, shape=(_prod(x.shape), repeats)), axis=1)
        return (F.reshape(g, shape=x.shape),)
    ax = axis % x.ndim      # output index i * repeats + r along ax: sum over r
    s = tuple(x.shape)
    return (F.sum(F.reshape(g, shape=s[:ax + 1] + (repeats,) + s[ax + 1:]), axis=ax + 1),)


def _place(p, ax, start, n):
    """``p`` written at [start, start + len) along ``ax`` into zeros of length ``n`` there."""
    pw = [0] * (2 * p.ndim)
    pw[2 * ax], pw[2 * ax + 1] = start, n - start - p.shape[ax]
    return F.pad(p, mode="constant", pad_width=tuple(pw), constant_value=0.0)


@pad.vjp
def _(g, out, x, mode="constant", pad_width=(), constant_value=0.0):
    if mode == "constant":
        before = tuple(pad_width[0::2])
        return (F.slice(g, begin=before, end=tuple(b + n for b, n in zip(before, x.shape))),)
    for ax in range(x.ndim):   # each axis's padding only reads that axis: undo them one by one
        b, a = pad_width[2 * ax], pad_width[2 * ax + 1]
        if b == 0 and a == 0:
            continue
        n = x.shape[ax]
        gx = F.slice_axis(g, axis=ax, begin=b, end=b + n)
        head = F.slice_axis(g, axis=ax, begin=0, end=b) if b else None
        tail = F.slice_axis(g, axis=ax, begin=b + n, end=b + n + a) if a else None
        if mode == "edge":      # every padded cell copies the edge value
            parts = [(F.sum(head, axis=ax, keepdims=True), 0) if b else None,
                     (F.sum(tail, axis=ax, keepdims=True), n - 1) if a else None]
        else:                   # reflect: padded cells mirror x[1:b+1] and x[n-1-a:n-1]
            parts = [(F.flip(head, axis=ax), 1) if b else None,
                     (F.flip(tail, axis=ax), n - 1 - a) if a else None]
        for p in parts:
            if p is not None:
                gx = gx + _place(p[0], ax, p[1], n)
        g = gx
    return (g,)


slice_.vjp(lambda g, out, x, begin=(), end=(), step=(): (
    F._slice_backward(g, shape=x.shape, begin=begin, end=end, step=step),))


@slice_axis.vjp
def _(g, out, x, axis=0, begin=0, end=None):
    ax = axis % x.ndim
    return (F._slice_backward(g, shape=x.shape, begin=(None,) * ax + (begin,),
                              end=(None,) * ax + (end,)),)


slice_like.vjp(lambda g, out, x, like, axes=(): (
    F._slice_backward(g, shape=x.shape, begin=(0,) * x.ndim, end=tuple(g.shape)), None))


@concat.vjp
def _(g, out, *xs, dim=1):
    ax, off, grads = dim % g.ndim, 0, []
    for x in xs:
        n = x.shape[ax]
        grads.append(_like(F.slice_axis(g, axis=ax, begin=off, end=off + n), x))
        off += n
    return tuple(grads)


@stack.vjp
def _(g, out, *xs, axis=0):
    ax = axis % g.ndim
    return tuple(_like(F.reshape(F.slice_axis(g, axis=ax, begin=i, end=i + 1), shape=x.shape), x)
                 for i, x in enumerate(xs))


def _join_pieces(gs, x, bounds, axis):
    """The gradient of a split: the pieces' gradients concatenated back along ``axis``."""
    gs = gs if isinstance(gs, tuple) else (gs,)
    ax = axis % x.ndim
    parts = []
    for (a, b), gi in zip(bounds, gs):
        if b > a:
            shp = tuple(b - a if i == ax else s for i, s in enumerate(x.shape))
            parts.append(gi if tuple(gi.shape) == shp else F.reshape(gi, shape=shp))
    if not parts:
        return (F.zeros_like(x),)
    return (F.concat(*parts, dim=ax) if len(parts) > 1 else parts[0],)


split.vjp(lambda g, out, x, num_outputs=1, axis=1, squeeze_axis=False: _join_pieces(
    g, x, _split_bounds(x.shape[axis % x.ndim], num_outputs, "split"), axis))
split_v2.vjp(lambda g, out, x, indices_or_sections=1, axis=0, squeeze_axis=False: _join_pieces(
    g, x, _split_bounds(x.shape[axis % x.ndim], indices_or_sections, "split_v2"), axis))


@diag.vjp
def _(g, out, x, k=0, axis1=0, axis2=1):
    if x.ndim == 1:     # out is a matrix with x on diagonal k: read that diagonal back
        return (F.diag(g, k=k),)
    return (F._diag_backward(g, shape=x.shape, k=k, axis1=axis1, axis2=axis2),)
