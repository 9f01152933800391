"""MXNet 1.x's SSD layers: ``_contrib_MultiBoxPrior`` (anchor boxes), ``_contrib_MultiBoxTarget``
(training targets of the anchors) and ``_contrib_MultiBoxDetection`` (decoded, suppressed
detections), ``mx.nd.contrib.MultiBox*`` — as MXNet 1.9.1's CPU operators compute them, which
the tests check against outputs of MXNet 1.9.1 itself (``tests/data/mxnet-1.9.1``).

Boxes are corners ``[xmin, ymin, xmax, ymax]`` in [0, 1] image coordinates. Box offsets are
``contrib_box_coding``'s (box_encode's) with ``variances`` as the stds. Matching and suppression
are sequential and data-dependent (MXNet runs them on the host too): the ops compute in NumPy on
the host, in the inputs' float dtype, and return arrays of the inputs' backend. None of them has a
gradient (MXNet's backward writes zeros); their outputs are labels and constants.
"""

from __future__ import annotations

import numpy as np

from ..backends.array_api import to_numpy
from . import infer as I
from .attrs import Attr, Bool, Float, Int
from .contrib_box_coding import decode, encode
from .contrib_boxes import _intersection, _ratio
from .registry import Sample, defop

__all__ = ["multibox_prior", "multibox_target", "multibox_detection"]

_VARIANCES = Attr((0.1, 0.1, 0.2, 0.2), "floats")


def _host(xp, like, value):
    """``value`` (NumPy) as an array of ``like``'s namespace and device."""
    return xp.asarray(value, device=like.device)


def _check_variances(op, variances):
    I.expect(len(variances) == 4 and min(variances) > 0, op, "4 positive variances",
             f"variances={tuple(variances)}")


# -- MultiBoxPrior ---------------------------------------------------------------------------------
def _prior_infer(x, sizes=(1.0,), ratios=(1.0,), clip=False, steps=(-1.0, -1.0),
                 offsets=(0.5, 0.5)):
    op = "MultiBoxPrior"
    I.expect(x.ndim == 4, op, "data of shape (N, C, H, W)", f"data.shape={tuple(x.shape)}")
    I.expect(len(sizes) >= 1 and min(sizes) > 0 and len(ratios) >= 1 and min(ratios) > 0, op,
             "positive sizes and ratios", f"sizes={tuple(sizes)}, ratios={tuple(ratios)}")
    I.expect(len(steps) == 2 and len(offsets) == 2, op, "two steps and two offsets (y, x)",
             f"steps={tuple(steps)}, offsets={tuple(offsets)}")
    I.expect(np.dtype(x.dtype) == np.float32, op, "data of dtype float32 (MXNet's only one)",
             f"data.dtype={np.dtype(x.dtype).name}")
    h, w = x.shape[2:]
    return I.Spec((1, h * w * (len(sizes) + len(ratios) - 1), 4), np.dtype(np.float32))


def _anchors(h, w, sizes, ratios, clip, steps, offsets):
    """(H * W * A, 4) float32: per cell (row-major), the sizes at the first ratio, then the
    other ratios at the first size; widths scaled by H / W (MXNet's square anchors)."""
    f32 = np.float32
    step_y = f32(steps[0]) if steps[0] > 0 else f32(1) / f32(h)
    step_x = f32(steps[1]) if steps[1] > 0 else f32(1) / f32(w)
    shapes = [(f32(s), np.sqrt(f32(ratios[0]))) for s in sizes] + \
             [(f32(sizes[0]), np.sqrt(f32(r))) for r in ratios[1:]]
    half_w = np.array([s * f32(h) / f32(w) * r / f32(2) for s, r in shapes], f32)
    half_h = np.array([s / r / f32(2) for s, r in shapes], f32)
    cy = (np.arange(h, dtype=f32) + f32(offsets[0])) * step_y
    cx = (np.arange(w, dtype=f32) + f32(offsets[1])) * step_x
    cy, cx = cy[:, None, None], cx[None, :, None]
    out = np.stack(np.broadcast_arrays(cx - half_w, cy - half_h, cx + half_w, cy + half_h),
                   axis=-1).reshape(-1, 4)
    return np.clip(out, 0, 1) if clip else out


multibox_prior = defop(
    "_contrib_MultiBoxPrior", ("data",),
    {"sizes": Attr((1.0,), "floats"), "ratios": Attr((1.0,), "floats"), "clip": Bool(False),
     "steps": Attr((-1.0, -1.0), "floats"), "offsets": Attr((0.5, 0.5), "floats")},
    infer=_prior_infer, differentiable=False,
    doc="Anchor boxes (1, H * W * A, 4) for a feature map data (N, C, H, W): around the centre "
        "of every cell ``(i + offsets) * steps`` (steps -1: 1/H and 1/W), A = len(sizes) + "
        "len(ratios) - 1 boxes — each size at the first ratio, then each other ratio at the "
        "first size — of height ``size / sqrt(ratio)`` and width ``size * sqrt(ratio) * H / W``; "
        "``clip`` clips them to [0, 1]. float32, as in MXNet.")


@multibox_prior.impl
def _(xp, x, sizes=(1.0,), ratios=(1.0,), clip=False, steps=(-1.0, -1.0), offsets=(0.5, 0.5)):
    spec = _prior_infer(I.Spec(x.shape, x.dtype), sizes, ratios, clip, steps, offsets)
    a = _anchors(x.shape[2], x.shape[3], sizes, ratios, clip, steps, offsets)
    return _host(xp, x, a.reshape(spec.shape))


multibox_prior.samples(
    lambda rng: Sample(np.zeros((1, 3, 2, 3), np.float32), sizes=(0.5, 0.25), ratios=(1, 2, 0.5),
                       fixed_dtype=True),
    lambda rng: Sample(np.zeros((2, 1, 3, 2), np.float32), sizes=(0.7,), ratios=(1.0, 3.0),
                       clip=True, steps=(0.4, 0.3), offsets=(0.2, 0.6), fixed_dtype=True),
)


# -- shared box arithmetic -------------------------------------------------------------------------
def _iou(a, b):
    """IoU of every box of ``a`` (n, 4) with every box of ``b`` (m, 4): (n, m), 0 where the
    union is not positive (MXNet's CalculateOverlap: areas as the corners give them)."""
    inter = _intersection(np, tuple(a[:, None, k] for k in range(4)),
                          tuple(b[None, :, k] for k in range(4)))
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return _ratio(np, inter, area_a[:, None] + area_b[None, :] - inter).astype(a.dtype)


# -- MultiBoxTarget --------------------------------------------------------------------------------
def _target_infer(anchor, label, cls_pred, overlap_threshold=0.5, ignore_label=-1.0,
                  negative_mining_ratio=-1.0, negative_mining_thresh=0.5,
                  minimum_negative_samples=0, variances=(0.1, 0.1, 0.2, 0.2)):
    op = "MultiBoxTarget"
    I.expect(anchor.ndim == 3 and anchor.shape[0] == 1 and anchor.shape[2] == 4, op,
             "anchor of shape (1, A, 4)", f"anchor.shape={tuple(anchor.shape)}")
    a = anchor.shape[1]
    I.expect(label.ndim == 3 and label.shape[2] >= 5, op,
             "label of shape (N, M, 5 or more): [class, xmin, ymin, xmax, ymax, ...]",
             f"label.shape={tuple(label.shape)}")
    n = label.shape[0]
    I.expect(cls_pred.ndim == 3 and cls_pred.shape[0] == n and cls_pred.shape[2] == a
             and cls_pred.shape[1] >= 2, op,
             f"cls_pred of shape ({n}, classes + 1 >= 2, {a})", f"cls_pred.shape="
             f"{tuple(cls_pred.shape)}")
    _check_variances(op, variances)
    I.expect(negative_mining_ratio <= 0 or negative_mining_thresh > 0, op,
             "negative_mining_thresh > 0 with negative mining",
             f"negative_mining_thresh={negative_mining_thresh}")
    for name, s in (("anchor", anchor), ("label", label), ("cls_pred", cls_pred)):
        I.expect_float(s, op, name)
    dt = np.dtype(anchor.dtype)
    return I.Spec((n, 4 * a), dt), I.Spec((n, 4 * a), dt), I.Spec((n, a), dt)


def _valid_labels(op, rows):
    """The leading rows before the first class -1 (MXNet: every row after it is all -1)."""
    count = 0
    while count < len(rows) and rows[count, 0] != -1:
        count += 1
    I.expect(bool(np.all(rows[count:, :5] == -1)), op,
             "padding label rows after the first class -1 that are all -1",
             f"label rows {rows[count:, :5].tolist()}")
    return rows[:count]


def _match(iou, overlap_threshold):
    """MXNet's matching of A anchors to G boxes: each box in turn takes the free anchor of the
    largest overlap left (the greatest pair first), then every other anchor overlapping some
    box by more than ``overlap_threshold`` takes its best box. (positive mask, box index)."""
    a, g = iou.shape
    match = np.full(a, -1)
    free_a, free_g = np.ones(a, bool), np.ones(g, bool)
    for _ in range(g):
        masked = np.where(free_a[:, None] & free_g[None, :], iou, -1)
        k = int(np.argmax(masked))                   # row-major: the first of equal pairs
        i, j = divmod(k, g)
        if masked[i, j] <= 1e-6:
            break
        match[i], free_a[i], free_g[j] = j, False, False
    if overlap_threshold > 0:
        best = np.argmax(iou, axis=1)
        take = free_a & (iou[np.arange(a), best] > overlap_threshold)
        match[take] = best[take]
    return match >= 0, match


def _hard_negatives(cls_pred, positive, max_iou, ratio, thresh):
    """MXNet's negative mining: of the anchors neither positive nor overlapping a box by
    ``thresh`` or more, the ones whose background probability (softmax of ``cls_pred`` (C, A))
    is smallest (the first on ties), ``ratio`` per positive — all of them where there are
    fewer (MXNet 1.9.1 fails a check there)."""
    n_pos = int(positive.sum())
    want = min(int(n_pos * ratio), positive.size - n_pos)
    candidates = np.flatnonzero(~positive & (max_iou < thresh))
    if want <= 0 or not candidates.size:
        return np.zeros_like(positive)
    z = cls_pred[:, candidates]
    z = np.exp(z - z.max(axis=0, keepdims=True))
    background = z[0] / z.sum(axis=0)
    chosen = candidates[np.argsort(background, kind="stable")[:want]]
    negative = np.zeros_like(positive)
    negative[chosen] = True
    return negative


def _targets(anchor, label, cls_pred, attrs):
    op = "MultiBoxTarget"
    dt = anchor.dtype
    anchor = anchor.reshape(-1, 4)
    n, a = label.shape[0], anchor.shape[0]
    loc_target, loc_mask = np.zeros((n, a, 4), dt), np.zeros((n, a, 4), dt)
    cls_target = np.zeros((n, a), dt)
    for b in range(n):
        gt = _valid_labels(op, label[b])
        if not len(gt):
            cls_target[b] = attrs["ignore_label"]  # no box: nothing to learn, as in MXNet
            continue
        iou = _iou(anchor, gt[:, 1:5])
        positive, match = _match(iou, attrs["overlap_threshold"])
        if attrs["negative_mining_ratio"] > 0:
            negative = _hard_negatives(cls_pred[b], positive, iou.max(axis=1),
                                       attrs["negative_mining_ratio"],
                                       attrs["negative_mining_thresh"])
            cls_target[b] = np.where(negative, 0, attrs["ignore_label"])
        cls_target[b, positive] = gt[match[positive], 0] + 1
        loc_mask[b, positive] = 1
        loc_target[b, positive] = encode(np, anchor[positive], gt[match[positive], 1:5],
                                         stds=attrs["variances"])
    return loc_target.reshape(n, -1), loc_mask.reshape(n, -1), cls_target


multibox_target = defop(
    "_contrib_MultiBoxTarget", ("anchor", "label", "cls_pred"),
    {"overlap_threshold": Float(0.5), "ignore_label": Float(-1.0),
     "negative_mining_ratio": Float(-1.0), "negative_mining_thresh": Float(0.5),
     "minimum_negative_samples": Int(0), "variances": _VARIANCES},
    infer=_target_infer, nout=3, differentiable=False,
    doc="SSD training targets of the anchors (1, A, 4) for the boxes of label (N, M, 5+) "
        "(rows [class, xmin, ymin, xmax, ymax], padded with rows of -1): each box takes the "
        "free anchor it overlaps most (greatest pair first), then anchors overlapping a box by "
        "more than ``overlap_threshold`` take their best box. Returns loc_target (N, 4A) "
        "(encoded offsets of positives), loc_mask (N, 4A) (1 for positives) and cls_target "
        "(N, A): class + 1 for positives, 0 for background — with ``negative_mining_ratio`` > "
        "0 only the hardest negatives by cls_pred (N, classes + 1, A) (``ratio`` per positive, "
        "IoU below ``negative_mining_thresh``) and ``ignore_label`` for the rest; an image "
        "without boxes gets ``ignore_label`` everywhere. ``minimum_negative_samples`` is "
        "accepted and, as in MXNet 1.9.1's CPU operator, not used.")
multibox_target.output_names = lambda attrs: ["loc_target", "loc_mask", "cls_target"]


@multibox_target.impl
def _(xp, anchor, label, cls_pred, **attrs):
    _target_infer(*(I.Spec(v.shape, v.dtype) for v in (anchor, label, cls_pred)), **attrs)
    dt = np.dtype(anchor.dtype)
    outs = _targets(to_numpy(anchor), to_numpy(label).astype(dt),
                    to_numpy(cls_pred).astype(dt), attrs)
    return tuple(_host(xp, anchor, o) for o in outs)


def _target_sample(rng, **attrs):
    anchor = np.array([[[0.1, 0.1, 0.4, 0.4], [0.15, 0.1, 0.45, 0.42], [0.5, 0.5, 0.9, 0.9],
                        [0.52, 0.5, 0.9, 0.95], [0.0, 0.0, 1.0, 1.0], [0.3, 0.3, 0.6, 0.6]]])
    label = np.array([[[1, 0.12, 0.1, 0.42, 0.41], [0, 0.5, 0.52, 0.88, 0.9], [-1] * 5],
                      [[2, 0.3, 0.3, 0.62, 0.58], [-1] * 5, [-1] * 5]])
    return Sample(anchor, label, rng.normal(0, 1, (2, 4, 6)), **attrs)


multibox_target.samples(lambda rng: _target_sample(rng),
                        lambda rng: _target_sample(rng, negative_mining_ratio=1.0,
                                                   ignore_label=-2.0))


# -- MultiBoxDetection -----------------------------------------------------------------------------
def _detection_infer(cls_prob, loc_pred, anchor, clip=True, threshold=0.01, background_id=0,
                     nms_threshold=0.5, force_suppress=False,
                     variances=(0.1, 0.1, 0.2, 0.2), nms_topk=-1):
    op = "MultiBoxDetection"
    I.expect(cls_prob.ndim == 3 and cls_prob.shape[1] >= 2, op,
             "cls_prob of shape (N, classes + 1 >= 2, A)", f"cls_prob.shape="
             f"{tuple(cls_prob.shape)}")
    n, _, a = cls_prob.shape
    I.expect(tuple(loc_pred.shape) == (n, 4 * a), op, f"loc_pred of shape ({n}, {4 * a})",
             f"loc_pred.shape={tuple(loc_pred.shape)}")
    I.expect(tuple(anchor.shape) == (1, a, 4), op, f"anchor of shape (1, {a}, 4)",
             f"anchor.shape={tuple(anchor.shape)}")
    _check_variances(op, variances)
    for name, s in (("cls_prob", cls_prob), ("loc_pred", loc_pred), ("anchor", anchor)):
        I.expect_float(s, op, name)
    return I.Spec((n, a, 6), cls_prob.dtype)


def _detections(cls_prob, loc_pred, anchor, attrs):
    n, c, a = cls_prob.shape
    dt = cls_prob.dtype
    anchor = anchor.reshape(-1, 4).astype(dt)
    out = np.empty((n, a, 6), dt)
    nms = attrs["nms_threshold"]
    for b in range(n):
        # the best class after the background (class 0), if it beats -1 (the first on ties)
        best = np.argmax(cls_prob[b, 1:], axis=0)
        score = cls_prob[b, 1:][best, np.arange(a)]
        cid = np.where(score > -1, best + 1, 0)
        cid[score < attrs["threshold"]] = 0
        valid = np.flatnonzero(cid > 0)
        # the detections first, in anchor order; the rest of the rows -1
        out[b] = -1
        out[b, :len(valid), 0] = cid[valid] - 1
        out[b, :len(valid), 1] = score[valid]
        box = decode(np, anchor[valid], loc_pred[b].reshape(a, 4)[valid], attrs["variances"])
        out[b, :len(valid), 2:] = np.clip(box, 0, 1) if attrs["clip"] else box
        if not 0 < nms <= 1:
            continue  # MXNet: no suppression, no ranking
        order = np.argsort(-out[b, :len(valid), 1], kind="stable")
        topk = attrs["nms_topk"]
        rows = out[b, order[:topk] if 0 < topk < len(order) else order]
        iou = _iou(rows[:, 2:], rows[:, 2:])
        for i in range(len(rows)):
            if rows[i, 0] < 0:
                continue
            later = np.arange(i + 1, len(rows))
            hit = later[(rows[later, 0] >= 0) & (iou[i, later] >= nms)
                        & (attrs["force_suppress"] | (rows[later, 0] == rows[i, 0]))]
            rows[hit, 0] = -1
        # the ranked rows first; detections past nms_topk keep their row, with class -1
        out[b, len(rows):len(valid), 0] = -1
        out[b, :len(rows)] = rows
    return out


multibox_detection = defop(
    "_contrib_MultiBoxDetection", ("cls_prob", "loc_pred", "anchor"),
    {"clip": Bool(True), "threshold": Float(0.01), "background_id": Int(0),
     "nms_threshold": Float(0.5), "force_suppress": Bool(False), "variances": _VARIANCES,
     "nms_topk": Int(-1)},
    infer=_detection_infer, differentiable=False,
    doc="SSD detections (N, A, 6), rows [class, score, xmin, ymin, xmax, ymax]: per anchor the "
        "best class after the background class 0 (class -1 when its probability in cls_prob "
        "(N, classes + 1, A) is below ``threshold``), the anchor (1, A, 4) moved by loc_pred "
        "(N, 4A) (``clip``: to [0, 1]); ranked by score (ties in anchor order), the best "
        "``nms_topk`` (-1: all) suppressed at IoU >= ``nms_threshold`` within a class (every "
        "class with ``force_suppress``), suppressed and unranked rows class -1. "
        "``nms_threshold`` outside (0, 1] leaves the rows in anchor order. ``background_id`` "
        "is accepted and, as in MXNet 1.9.1's CPU operator, not used.")


@multibox_detection.impl
def _(xp, cls_prob, loc_pred, anchor, **attrs):
    _detection_infer(*(I.Spec(v.shape, v.dtype) for v in (cls_prob, loc_pred, anchor)),
                     **attrs)
    dt = np.dtype(cls_prob.dtype)
    out = _detections(to_numpy(cls_prob), to_numpy(loc_pred).astype(dt), to_numpy(anchor),
                      attrs)
    return _host(xp, cls_prob, out)


def _detection_sample(rng, **attrs):
    prob = rng.uniform(0.05, 1, (2, 3, 6))
    prior = _target_sample(rng).inputs[0]
    return Sample(prob / prob.sum(axis=1, keepdims=True), rng.normal(0, 0.5, (2, 24)), prior,
                  **attrs)


multibox_detection.samples(lambda rng: _detection_sample(rng),
                           lambda rng: _detection_sample(rng, force_suppress=True,
                                                         nms_threshold=0.3, nms_topk=3))
