"""MXNet 1.x's contrib bounding-box ops: ``_contrib_box_iou``, ``_contrib_box_nms`` (alias
``_contrib_box_non_maximum_suppression``) and ``_contrib_bipartite_matching``.

The generic bodies are array-API code: NMS walks its (at most ``topk``) candidates in score order
with one vectorised suppression step per candidate, and bipartite matching takes the best free
pair of every batch element per step. Box NMS also has a NumPy kernel that skips suppressed
candidates and keeps memory linear in the number of boxes (SSD heads carry thousands).
"""

from __future__ import annotations

import math

import numpy as np

from . import infer as I
from .attrs import Attr, Bool, Enum, Float, Int
from .call import F
from .nn import _s, _u
from .registry import Sample, defop

__all__ = ["box_iou", "box_nms", "bipartite_matching"]


def _corners(xp, c, fmt):
    """(x1, y1, x2, y2) of boxes ``c`` (..., 4) in ``fmt`` ('corner' or 'center')."""
    a, b, w, h = (c[..., k] for k in range(4))
    if fmt == "corner":
        return a, b, w, h
    return a - w / 2, b - h / 2, a + w / 2, b + h / 2


def _area(xp, c, fmt):
    """MXNet's BoxArea: width * height, 0 when either is negative."""
    w, h = (c[..., 2] - c[..., 0], c[..., 3] - c[..., 1]) if fmt == "corner" else \
        (c[..., 2], c[..., 3])
    return xp.where((w < 0) | (h < 0), xp.zeros_like(w), w * h)


def _intersection(xp, a, b):
    """Overlap area of corner tuples ``a`` and ``b`` (broadcast against each other)."""
    w = xp.clip(xp.minimum(a[2], b[2]) - xp.maximum(a[0], b[0]), 0.0, None)
    h = xp.clip(xp.minimum(a[3], b[3]) - xp.maximum(a[1], b[1]), 0.0, None)
    return w * h


def _ratio(xp, inter, union):
    """inter / union, 0 where the union is not positive (no overlap)."""
    ok = union > 0
    return xp.where(ok, inter / xp.where(ok, union, xp.ones_like(union)), xp.zeros_like(inter))


# -- box_iou --------------------------------------------------------------------------------------
def _iou_infer(lhs, rhs, format="corner"):  # noqa: A002  (MXNet's attribute name)
    op = "_contrib_box_iou"
    for name, s in (("lhs", lhs), ("rhs", rhs)):
        I.expect(s.ndim >= 2 and s.shape[-1] == 4, op, f"{name} of shape (..., 4)",
                 f"{name}.shape={tuple(s.shape)}")
    return I.Spec(tuple(lhs.shape[:-1]) + tuple(rhs.shape[:-1]), I.result_dtype(lhs, rhs))


box_iou = defop(
    "_contrib_box_iou", ("lhs", "rhs"), {"format": Enum("corner", "center")},
    infer=_iou_infer, differentiable=False,
    doc="Intersection over union of every box of lhs (a_1, .., a_n, 4) with every box of rhs "
        "(b_1, .., b_m, 4): output (a_1, .., a_n, b_1, .., b_m). Boxes are [xmin, ymin, xmax, "
        "ymax] (``format='corner'``) or [x, y, width, height] (``'center'``); no overlap gives 0. "
        "No gradient flows back, as in MXNet.")


@box_iou.impl
def _(xp, lhs, rhs, format="corner"):  # noqa: A002
    out = _iou_infer(_s(lhs), _s(rhs))
    dt = out.dtype
    a = xp.reshape(xp.astype(lhs, dt), (-1, 1, 4))
    b = xp.reshape(xp.astype(rhs, dt), (1, -1, 4))
    inter = _intersection(xp, _corners(xp, a, format), _corners(xp, b, format))
    union = _area(xp, a, format) + _area(xp, b, format) - inter
    iou = xp.where(inter > 0, _ratio(xp, inter, union), xp.zeros_like(inter))
    return xp.reshape(iou, out.shape)


box_iou.samples(
    lambda rng: Sample(np.array([[0.5, 0.5, 1.0, 1.0], [0.0, 0.0, 0.5, 0.5]]),
                       np.array([[0.25, 0.25, 0.75, 0.75]])),
    lambda rng: Sample(np.sort(_u(rng, 2, 3, 4, lo=0, hi=4), axis=-1),
                       np.sort(_u(rng, 5, 4, lo=0, hi=4), axis=-1)),
    lambda rng: Sample(_u(rng, 3, 4, lo=0.5, hi=3), _u(rng, 2, 2, 4, lo=0.5, hi=3),
                       format="center"),
)


# -- box_nms --------------------------------------------------------------------------------------
_NMS_ATTRS = {
    "overlap_thresh": Float(0.5), "valid_thresh": Float(0.0), "topk": Int(-1),
    "coord_start": Int(2), "score_index": Int(1), "id_index": Int(-1), "background_id": Int(-1),
    "force_suppress": Bool(False), "in_format": Enum("corner", "center"),
    "out_format": Enum("corner", "center"),
}


def _nms_infer(data, overlap_thresh=0.5, valid_thresh=0.0, topk=-1, coord_start=2,
               score_index=1, id_index=-1, background_id=-1, force_suppress=False,
               in_format="corner", out_format="corner"):
    op = "_contrib_box_nms"
    I.expect(data.ndim >= 2, op, "data of shape (..., num_boxes, box_width)",
             f"data.shape={tuple(data.shape)}")
    width = data.shape[-1]
    need = 6 if id_index >= 0 else 5
    I.expect(width >= need, op, f"box_width >= {need} (score, 4 coordinates"
             f"{', class id' if id_index >= 0 else ''})", f"data.shape={tuple(data.shape)}")
    coords = range(coord_start, coord_start + 4)
    I.expect(coord_start >= 0 and coord_start + 3 < width, op,
             f"coordinates coord_start .. coord_start + 3 inside box_width {width}",
             f"coord_start={coord_start}")
    I.expect(0 <= score_index < width and score_index not in coords, op,
             f"score_index in [0, {width}) outside the coordinates {tuple(coords)}",
             f"score_index={score_index}")
    if id_index >= 0:
        I.expect(id_index < width and id_index not in coords and id_index != score_index, op,
                 f"id_index in [0, {width}) apart from the coordinates and the score",
                 f"id_index={id_index}")
    return I.Spec(data.shape, data.dtype)


box_nms = defop(
    "_contrib_box_nms", ("data",), dict(_NMS_ATTRS), infer=_nms_infer,
    aliases=("_contrib_box_non_maximum_suppression",),
    doc="Non-maximum suppression of boxes data (..., n, k), each row [.., score, .., 4 "
        "coordinates, ..] (``score_index``, ``coord_start``). Per batch element: boxes with "
        "score > ``valid_thresh`` (and, with ``id_index``, class id != ``background_id``) are "
        "sorted by descending score, the first ``topk`` (-1: all) are candidates, and a "
        "candidate whose IoU with a higher-scored survivor exceeds ``overlap_thresh`` is removed "
        "(only within its class unless ``force_suppress``, when ``id_index`` is given). Output: "
        "the same shape, the survivors' whole rows first in score order (coordinates converted "
        "from ``in_format`` to ``out_format``, except rows whose first coordinate is negative, "
        "as MXNet), the other rows -1. ``topk=0`` returns data unchanged. The gradient flows "
        "from each output row back to the input row it copies.")


def _nms_order(xp, data, score_index, id_index, background_id, valid_thresh):
    """(valid (B, n) bool, order (B, n): row indices by descending score, invalid ones last,
    ties in input order as MXNet's stable sort)."""
    score = data[:, :, score_index]
    valid = score > valid_thresh
    if id_index >= 0:
        valid = valid & (data[:, :, id_index] != background_id)
    key = xp.where(valid, -score, xp.full_like(score, math.inf))
    return valid, xp.argsort(key, axis=1, stable=True)


def _nms_select(xp, data, overlap_thresh, valid_thresh, topk, coord_start, score_index,
                id_index, background_id, force_suppress, in_format, **_):
    """For data (B, n, k): (B, n) int64, the input row each output row copies, or -1."""
    b, n, k = data.shape
    cand = n if topk < 0 else min(n, topk)
    valid, order = _nms_order(xp, data, score_index, id_index, background_id, valid_thresh)
    rows = _gather_rows(xp, data, order)
    rank = xp.reshape(xp.arange(n, dtype=xp.int64, device=data.device), (1, -1))
    alive = xp.take_along_axis(valid, order, axis=1) & (rank < cand)
    box = rows[:, :, coord_start:coord_start + 4]
    corners = _corners(xp, box, in_format)
    area = _area(xp, box, in_format)
    classwise = id_index >= 0 and not force_suppress
    if classwise:
        cls = xp.trunc(rows[:, :, id_index])  # MXNet compares the ids as ints
    for ref in range(cand - 1):  # each survivor, best first, removes what it overlaps
        one = slice(ref, ref + 1)
        inter = _intersection(xp, tuple(c[:, one] for c in corners), corners)
        iou = _ratio(xp, inter, area[:, one] + area - inter)
        hit = alive[:, one] & (iou > overlap_thresh) & (rank > ref)
        if classwise:
            hit = hit & (cls == cls[:, one])
        alive = alive & ~hit
    # survivors first, in score order; the source row of each, -1 after the last survivor
    firsts = xp.argsort(xp.astype(~alive, xp.int8), axis=1, stable=True)
    source = xp.take_along_axis(order, firsts, axis=1)
    count = xp.sum(xp.astype(alive, xp.int64), axis=1, keepdims=True)
    return xp.where(rank < count, source, xp.full_like(source, -1))


def _nms_select_numpy(data, overlap_thresh, valid_thresh, topk, coord_start, score_index,
                      id_index, background_id, force_suppress, in_format, **_):
    """:func:`_nms_select` on the host: only valid candidates, and suppressed ones skipped."""
    b, n, _ = data.shape
    cand = n if topk < 0 else min(n, topk)
    valid, order = _nms_order(np, data, score_index, id_index, background_id, valid_thresh)
    source = np.full((b, n), -1, dtype=np.int64)
    classwise = id_index >= 0 and not force_suppress
    for i in range(b):
        idx = order[i][:min(cand, int(valid[i].sum()))]
        rows = data[i, idx]
        box = rows[:, coord_start:coord_start + 4]
        corners, area = _corners(np, box, in_format), _area(np, box, in_format)
        alive = np.ones(len(idx), dtype=bool)
        for ref in range(len(idx) - 1):
            if not alive[ref]:
                continue
            rest = slice(ref + 1, None)
            inter = _intersection(np, tuple(c[ref] for c in corners),
                                  tuple(c[rest] for c in corners))
            hit = _ratio(np, inter, area[ref] + area[rest] - inter) > overlap_thresh
            if classwise:
                hit &= np.trunc(rows[rest, id_index]) == np.trunc(rows[ref, id_index])
            alive[rest] &= ~hit
        kept = idx[alive]
        source[i, :len(kept)] = kept
    return source


def _gather_rows(xp, data, index):
    """data (B, n, k) rows at index (B, n) (non-negative) along axis 1."""
    b, n, k = data.shape
    return xp.take_along_axis(data, xp.broadcast_to(xp.reshape(index, (b, n, 1)), (b, n, k)),
                              axis=1)


def _as_3d(data):
    return (1,) + tuple(data.shape) if data.ndim == 2 else \
        (math.prod(data.shape[:-2]),) + tuple(data.shape[-2:])


def _convert(xp, box, in_format, out_format):
    """Boxes (..., 4) from in_format to out_format, as MXNet's corner_to_center and
    center_to_corner."""
    a, b, c, d = (box[..., k] for k in range(4))
    if in_format == out_format:
        return box
    if out_format == "center":
        new = ((a + c) / 2, (b + d) / 2, c - a, d - b)
    else:
        new = (a - c / 2, b - d / 2, a + c / 2, b + d / 2)
    return xp.stack(new, axis=-1)


def _nms_forward(xp, data, source, coord_start, in_format, out_format, **_):
    """Gather the selected rows (B, n, k) and convert their coordinates."""
    b, n, _ = data.shape
    rows = _gather_rows(xp, data, xp.clip(source, 0, None))
    rows = xp.where(xp.reshape(source, (b, n, 1)) >= 0, rows, xp.full_like(rows, -1))
    if in_format == out_format:
        return rows
    box = rows[:, :, coord_start:coord_start + 4]
    # MXNet converts in place and skips boxes whose first coordinate is negative (its -1 rows)
    box = xp.where(box[:, :, :1] >= 0, _convert(xp, box, in_format, out_format), box)
    return xp.concat([rows[:, :, :coord_start], box, rows[:, :, coord_start + 4:]], axis=2)


def _nms_row_grads(xp, g, data, source, coord_start, in_format, out_format, **_):
    """The gradient of each output row with respect to the input row it copies: ``g``, through
    the transposed coordinate conversion where the forward applied one."""
    if in_format == out_format:
        return g
    b, n, _ = data.shape
    src_first = _gather_rows(xp, data, xp.clip(source, 0, None))[:, :, coord_start:coord_start + 1]
    gb = g[:, :, coord_start:coord_start + 4]
    p, q, r, s = (gb[..., j] for j in range(4))
    if out_format == "center":      # d(center)/d(corner), transposed
        back = (p / 2 - r, q / 2 - s, p / 2 + r, q / 2 + s)
    else:                           # d(corner)/d(center), transposed
        back = (p + r, q + s, (r - p) / 2, (s - q) / 2)
    converted = (src_first >= 0) & (xp.reshape(source, (b, n, 1)) >= 0)
    gb = xp.where(converted, xp.stack(back, axis=-1), gb)
    return xp.concat([g[:, :, :coord_start], gb, g[:, :, coord_start + 4:]], axis=2)


def _nms_backward(xp, g, data, source, **attrs):
    """Scatter the row gradients back to their input rows (a one-hot matmul: the standard has
    no scatter); removed rows get 0."""
    g = _nms_row_grads(xp, g, data, source, **attrs)
    n = data.shape[1]
    cols = xp.reshape(xp.arange(n, dtype=xp.int64, device=data.device), (1, 1, -1))
    scatter = xp.astype(xp.reshape(source, source.shape + (1,)) == cols, g.dtype)
    return xp.matmul(xp.matrix_transpose(scatter), g)


def _nms_backward_numpy(g, data, source, **attrs):
    g = _nms_row_grads(np, g, data, source, **attrs)
    gx = np.zeros(data.shape, dtype=g.dtype)
    batch, row = np.nonzero(source >= 0)
    gx[batch, source[batch, row]] = g[batch, row]
    return gx


@box_nms.impl
def _(xp, data, **attrs):
    _nms_infer(_s(data), **attrs)
    if attrs["topk"] == 0:
        return xp.asarray(data, copy=True)
    x = xp.reshape(data, _as_3d(data))
    return xp.reshape(_nms_forward(xp, x, _nms_select(xp, x, **attrs), **attrs), data.shape)


@box_nms.kernel("numpy")
def _(be, data, **attrs):
    _nms_infer(_s(data), **attrs)
    if attrs["topk"] == 0:
        return data.copy()
    x = data.reshape(_as_3d(data))
    return _nms_forward(np, x, _nms_select_numpy(x, **attrs), **attrs).reshape(data.shape)


def _nms_grad_infer(g, data, **attrs):
    out = _nms_infer(data, **attrs)
    I.expect_output_grad(g, out, "_backward_contrib_box_nms", "box_nms")
    return I.Spec(data.shape, data.dtype)


box_nms_grad = defop(
    "_backward_contrib_box_nms", ("grad", "data"), dict(_NMS_ATTRS), infer=_nms_grad_infer,
    differentiable=False,
    doc="box_nms's data gradient: each output row's gradient at the input row it came from, 0 "
        "for removed rows.")
box_nms_grad.nograd("data")


@box_nms_grad.impl
def _(xp, g, data, **attrs):
    _nms_grad_infer(_s(g), _s(data), **attrs)
    if attrs["topk"] == 0:
        return xp.asarray(g, copy=True)
    x = xp.reshape(data, _as_3d(data))
    gx = _nms_backward(xp, xp.reshape(g, x.shape), x, _nms_select(xp, x, **attrs), **attrs)
    return xp.reshape(gx, data.shape)


@box_nms_grad.kernel("numpy")
def _(be, g, data, **attrs):
    _nms_grad_infer(_s(g), _s(data), **attrs)
    if attrs["topk"] == 0:
        return g.copy()
    x = data.reshape(_as_3d(data))
    return _nms_backward_numpy(g.reshape(x.shape), x, _nms_select_numpy(x, **attrs),
                               **attrs).reshape(data.shape)


@box_nms.vjp
def _(g, out, data, **attrs):
    return (F._backward_contrib_box_nms(g, data, **attrs),)


def _nms_boxes(rng, batch=(), id_offset=0.5):
    """Hand-made boxes [id, score, x1, y1, x2, y2] with well separated scores and overlaps
    (finite differences must not reorder them or cross a threshold), jittered slightly. Class
    ids sit half-way between integers (MXNet compares their integer parts), so a finite
    difference of an id does not change its class."""
    base = np.array([
        [0, 0.90, 0.10, 0.10, 0.50, 0.50],
        [0, 0.80, 0.12, 0.11, 0.52, 0.49],   # overlaps box 0 (IoU ~0.87): removed
        [1, 0.70, 0.11, 0.09, 0.49, 0.52],   # overlaps box 0 but another class
        [0, 0.60, 0.60, 0.60, 0.90, 0.95],
        [1, 0.05, 0.55, 0.50, 0.70, 0.90],   # below valid_thresh=0.1
        [2, 0.40, 0.62, 0.58, 0.88, 0.93],   # overlaps box 3 (another class)
    ])
    out = np.broadcast_to(base, batch + base.shape).copy()
    out[..., 0] += id_offset
    out[..., 2:] += rng.uniform(-0.004, 0.004, out[..., 2:].shape)
    out[..., 1] += rng.uniform(-0.004, 0.004, out[..., 1].shape)
    return out


box_nms.output_names = lambda attrs: ["output0"]  # MXNet's (a hidden second output)
box_nms.samples(
    lambda rng: Sample(_nms_boxes(rng), valid_thresh=0.1, id_index=0, force_suppress=False),
    lambda rng: Sample(_nms_boxes(rng, (2,)), valid_thresh=0.1, force_suppress=True,
                       id_index=0),
    lambda rng: Sample(_nms_boxes(rng, (2,)), overlap_thresh=0.3, topk=4),
    lambda rng: Sample(_nms_boxes(rng), valid_thresh=0.1, out_format="center"),
    # ids exactly at background_id: a finite difference of one crosses the background filter
    lambda rng: Sample(_nms_boxes(rng, id_offset=0.0), id_index=0, background_id=1,
                       in_format="center", out_format="corner", overlap_thresh=0.2, grad=False),
    lambda rng: Sample(_nms_boxes(rng), topk=0),
)
box_nms_grad.samples(
    lambda rng: Sample(_u(rng, 6, 6), _nms_boxes(rng), valid_thresh=0.1, id_index=0),
    lambda rng: Sample(_u(rng, 2, 6, 6), _nms_boxes(rng, (2,)), out_format="center",
                       overlap_thresh=0.3),
)


# -- bipartite_matching ---------------------------------------------------------------------------
def _matching_infer(data, is_ascend=False, threshold=None, topk=-1):
    op = "_contrib_bipartite_matching"
    I.expect(data.ndim >= 2, op, "a score matrix data of shape (..., N, M)",
             f"data.shape={tuple(data.shape)}")
    I.expect(threshold is not None, op, "a threshold (it is required)", "threshold=None")
    return (I.Spec(tuple(data.shape[:-1]), data.dtype),
            I.Spec(tuple(data.shape[:-2]) + (data.shape[-1],), data.dtype))


bipartite_matching = defop(
    "_contrib_bipartite_matching", ("data",),
    {"is_ascend": Bool(False), "threshold": Attr(None, "float"), "topk": Int(-1)},
    infer=_matching_infer, nout=2, differentiable=False,
    doc="Greedy bipartite matching of a score matrix data (..., N, M): repeatedly match the "
        "best-scored pair (highest, or lowest with ``is_ascend``) whose row and column are both "
        "free, while its score is > ``threshold`` (< with ``is_ascend``). Returns the matched "
        "column of each row (..., N) and the matched row of each column (..., M), -1 where "
        "unmatched, in data's dtype. ``topk`` > 0 stops after topk + 1 matches: MXNet checks the "
        "limit after recording a match. No gradient flows back, as in MXNet.")


@bipartite_matching.impl
def _(xp, data, is_ascend=False, threshold=None, topk=-1):
    rows_spec, cols_spec = _matching_infer(_s(data), is_ascend, threshold, topk)
    n, m = data.shape[-2:]
    b = math.prod(data.shape[:-2])
    dev = data.device
    key = xp.reshape(-data if is_ascend else data, (b, n * m))   # the best pair has the max key
    bar = -threshold if is_ascend else threshold
    row_of = xp.full((b, m), -1, dtype=xp.int64, device=dev)
    col_of = xp.full((b, n), -1, dtype=xp.int64, device=dev)
    row_free = xp.ones((b, n), dtype=xp.bool, device=dev)
    col_free = xp.ones((b, m), dtype=xp.bool, device=dev)
    active = xp.ones((b, 1), dtype=xp.bool, device=dev)
    count = xp.zeros((b, 1), dtype=xp.int64, device=dev)
    rows = xp.reshape(xp.arange(n, dtype=xp.int64, device=dev), (1, -1))
    cols = xp.reshape(xp.arange(m, dtype=xp.int64, device=dev), (1, -1))
    steps = min(n, m) if topk <= 0 else min(n, m, topk + 1)
    for _ in range(steps):
        free = xp.reshape(xp.reshape(row_free, (b, n, 1)) & xp.reshape(col_free, (b, 1, m)),
                          (b, n * m))
        masked = xp.where(free, key, xp.full_like(key, -math.inf))
        best = xp.argmax(masked, axis=1, keepdims=True)                     # (b, 1)
        ok = active & (xp.max(masked, axis=1, keepdims=True) > bar)
        r, c = best // m, best % m
        hit_row, hit_col = ok & (rows == r), ok & (cols == c)
        col_of = xp.where(hit_row, xp.broadcast_to(c, col_of.shape), col_of)
        row_of = xp.where(hit_col, xp.broadcast_to(r, row_of.shape), row_of)
        row_free, col_free = row_free & ~hit_row, col_free & ~hit_col
        count = count + xp.astype(ok, xp.int64)
        active = ok if topk <= 0 else ok & (count <= topk)
    return (xp.reshape(xp.astype(col_of, data.dtype), rows_spec.shape),
            xp.reshape(xp.astype(row_of, data.dtype), cols_spec.shape))


bipartite_matching.samples(
    lambda rng: Sample(np.array([[0.5, 0.6], [0.1, 0.2], [0.3, 0.4]]), threshold=1e-12),
    lambda rng: Sample(rng.permutation(24).reshape(2, 3, 4) / 24.0, threshold=0.2),
    lambda rng: Sample(rng.permutation(20).reshape(4, 5) / 20.0, threshold=0.7,
                       is_ascend=True),
    lambda rng: Sample(rng.permutation(30).reshape(5, 6) / 30.0, threshold=0.0, topk=2),
)
