"""The fused sparse softmax cross-entropy that ``gluon.loss.SoftmaxCrossEntropyLoss`` runs on.

``_softmax_ce(data, label, axis)`` is ``-log_softmax(data)[label]`` along ``axis`` (the axis kept
with size 1, as ``pick(..., keepdims=True)``), and ``_softmax_ce_backward(g, data, label)`` its
data gradient ``g * (softmax(data) - onehot(label))``. As one op each they replace five forward
and six backward graph steps of the composition; both have gradient rules of their own, so the
loss can still be differentiated twice.
"""

from __future__ import annotations

import numpy as np

from . import infer as I
from .attrs import Axis
from .call import F
from .nn import _softmax_xp
from .registry import Sample, defop
from .sorting import _pick_infer, _rows_pick_index, pick, pick_backward

__all__ = ["softmax_ce", "softmax_ce_backward"]


def _ce_infer(x, label, axis=-1):
    # the label is the data's shape without ``axis`` or with it as 1 (as pick takes it)
    return _pick_infer(x, label, axis, True, "clip")


softmax_ce = defop(
    "_softmax_ce", ("data", "label"), {"axis": Axis(-1)}, infer=_ce_infer,
    doc="Per-sample cross-entropy ``-log(softmax(data))[label]`` along ``axis`` (kept with size "
        "1); labels are class indices, clipped into range as ``pick`` does.")
softmax_ce.nograd("label")


@softmax_ce.impl
def _(xp, x, label, axis=-1):
    logp = _softmax_xp(xp, x, None, axis, None, None, False, True, False)
    return -pick.generic(xp, logp, label, axis, True, "clip")


def _row_max_and_exp(x):
    """Row maxima (N, 1) and ``exp(x - max)`` of 2-D ``x``. NumPy reduces a short last axis
    row by row (6 us for 128x10); over the transposed copy it runs along 128 lanes (3 us)."""
    m = np.maximum.reduce(np.ascontiguousarray(x.T), axis=0).reshape(-1, 1)
    e = np.subtract(x, m)
    return m, np.exp(e, out=e)


def _row_sums(e):
    """Row sums (N, 1) as one matrix-vector product (faster than a short-axis reduce)."""
    return (e @ np.ones(e.shape[1], e.dtype)).reshape(-1, 1)


#: Up to this many classes the NumPy kernels work on the transposed (classes, N) copy, where
#: every reduction runs along N lanes: 128x10 took 13 us instead of 21 (forward).
_FEW_CLASSES = 64


def _exp_t(x):
    """``exp(x - rowmax)`` of 2-D ``x`` transposed (C, N), its column sums (N,) and the row
    maxima (N,)."""
    e = np.ascontiguousarray(x.T)
    m = np.maximum.reduce(e, axis=0)
    np.subtract(e, m, out=e)
    np.exp(e, out=e)
    return e, np.add.reduce(e, axis=0), m


@softmax_ce.kernel("numpy")
def _(be, x, label, axis=-1):
    i = _rows_pick_index(x.shape, label, axis, "clip") if x.dtype.kind == "f" else None
    if i is None:
        return softmax_ce.generic(np, x, label, axis)
    picked = x[np.arange(x.shape[0]), i]
    if x.shape[1] <= _FEW_CLASSES:
        _, s, m = _exp_t(x)
        lse = np.log(s, out=s)
        lse += m
        lse -= picked
        return lse.reshape(-1, 1)
    m, e = _row_max_and_exp(x)
    lse = np.log(_row_sums(e)) + m
    return lse - picked.reshape(-1, 1)


@softmax_ce.vjp
def _(g, out, x, label, axis=-1):
    return F._softmax_ce_backward(g, x, label, axis=axis), None


def _ce_backward_infer(g, x, label, axis=-1):
    want = _ce_infer(x, label, axis).shape
    I.expect(tuple(g.shape) == want, "_softmax_ce_backward", f"grad.shape == {want}",
             f"grad.shape == {tuple(g.shape)}")
    return I.Spec(x.shape, x.dtype)


softmax_ce_backward = defop(
    "_softmax_ce_backward", ("grad", "data", "label"), {"axis": Axis(-1)},
    infer=_ce_backward_infer,
    doc="The data gradient of ``_softmax_ce``: ``grad * (softmax(data) - onehot(label))``.")
softmax_ce_backward.nograd("label")


@softmax_ce_backward.impl
def _(xp, g, x, label, axis=-1):
    p = _softmax_xp(xp, x, None, axis, None, None, False, False, False)
    return p * g - pick_backward.generic(xp, g, label, x.shape, axis, True, "clip")


@softmax_ce_backward.kernel("numpy")
def _(be, g, x, label, axis=-1):
    i = _rows_pick_index(x.shape, label, axis, "clip") if x.dtype.kind == "f" else None
    if i is None or g.shape != (x.shape[0], 1):
        return softmax_ce_backward.generic(np, g, x, label, axis)
    if x.shape[1] <= _FEW_CLASSES:
        e, s, _ = _exp_t(x)
        p = np.multiply(e.T, np.divide(g.reshape(-1), s, out=s)[:, None], order="C")
    else:
        p = _row_max_and_exp(x)[1]
        p *= g / _row_sums(p)
    p[np.arange(x.shape[0]), i] -= g.reshape(-1)
    return p


@softmax_ce_backward.vjp
def _(h, out, g, x, label, axis=-1):
    # out = g * (p - onehot) with p = softmax(x): d/dg sums h * (p - onehot) over the axis;
    # d/dx is softmax's own rule applied to h * g
    p = F.softmax(x, axis=axis)
    hg = h * g
    gx = p * (hg - F.sum(hg * p, axis=axis, keepdims=True))
    onehot = F._pick_backward(F.ones_like(g), label, shape=x.shape, axis=axis, keepdims=True)
    gg = F.sum(h * (p - onehot), axis=axis, keepdims=True)
    return gg, gx, None


def _u(rng, *shape):
    return rng.uniform(-3, 3, shape)


softmax_ce.samples(
    lambda rng: Sample(_u(rng, 4, 5), np.array([0.0, 4.0, 2.0, 1.0])),
    lambda rng: Sample(_u(rng, 3, 4), np.array([[3.2], [0.7], [7.0]])),        # clipped, kept
    lambda rng: Sample(_u(rng, 2, 3, 4), np.array([[1, 0, 2, 2], [0, 1, 1, 2]]), axis=1),
)
softmax_ce_backward.samples(
    lambda rng: Sample(rng.uniform(-1, 1, (4, 1)), _u(rng, 4, 5), np.array([0.0, 4.0, 2.0, 1.0])),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 1, 4)), _u(rng, 2, 3, 4),
                       np.array([[1, 0, 2, 2], [0, 1, 1, 2]]), axis=1),
)
