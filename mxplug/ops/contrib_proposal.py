"""MXNet 1.x's region proposal layers (Faster R-CNN's RPN): ``_contrib_Proposal`` (one image)
and ``_contrib_MultiProposal`` (a batch), ``mx.nd.contrib.<name>``.

Per image: anchors from ``scales`` x ``ratios`` around every feature-map cell, decoded by the
predicted deltas, clipped to the image, small and padded ones scored -1, sorted by score (a
stable sort, as MXNet 1.9.1 orders equal scores), the best ``rpn_pre_nms_top_n`` suppressed
with ``threshold``, and the first ``rpn_post_nms_top_n`` survivors returned, repeated cyclically
when fewer survive. The decoding is array code in float32 (MXNet's arithmetic); the NMS is
``contrib_boxes``' (its generic loop, or its host kernel on NumPy). The gradient is zero, as
MXNet's backward writes it.
"""

from __future__ import annotations

import functools

import numpy as np

from ..backends.array_api import to_numpy
from ..base import MXNetValueError
from . import infer as I
from .attrs import Attr, Bool, Float, Int
from .call import F
from .contrib_boxes import _nms_select, _nms_select_numpy
from .nn import _s
from .registry import Sample, defop

__all__ = ["proposal", "multi_proposal"]

_ATTRS = {"rpn_pre_nms_top_n": Int(6000), "rpn_post_nms_top_n": Int(300),
          "threshold": Float(0.7), "rpn_min_size": Int(16),
          "scales": Attr((4.0, 8.0, 16.0, 32.0), "floats"),
          "ratios": Attr((0.5, 1.0, 2.0), "floats"), "feature_stride": Int(16),
          "output_score": Bool(False), "iou_loss": Bool(False)}
_F32 = np.dtype(np.float32)


def _infer(op, single, cls_prob, bbox_pred, im_info, rpn_pre_nms_top_n=6000,
           rpn_post_nms_top_n=300, threshold=0.7, rpn_min_size=16, scales=(), ratios=(),
           feature_stride=16, output_score=False, iou_loss=False):
    for name, s in (("cls_prob", cls_prob), ("bbox_pred", bbox_pred), ("im_info", im_info)):
        I.expect(np.dtype(s.dtype) == _F32, op, f"{name} of dtype float32 (MXNet's only one)",
                 f"{name}.dtype={np.dtype(s.dtype)}")
    I.expect(len(scales) >= 1 and len(ratios) >= 1 and min(scales + ratios) > 0, op,
             "positive scales and ratios", f"scales={tuple(scales)}, ratios={tuple(ratios)}")
    I.expect(feature_stride >= 1 and rpn_post_nms_top_n >= 0, op,
             "feature_stride >= 1 and rpn_post_nms_top_n >= 0",
             f"feature_stride={feature_stride}, rpn_post_nms_top_n={rpn_post_nms_top_n}")
    a = len(scales) * len(ratios)
    I.expect(cls_prob.ndim == 4 and cls_prob.shape[1] == 2 * a and min(cls_prob.shape[2:]) >= 1,
             op, f"cls_prob of shape (N, 2 * len(scales) * len(ratios) = {2 * a}, H, W)",
             f"cls_prob.shape={tuple(cls_prob.shape)}")
    n, _, h, w = cls_prob.shape
    if single:
        I.expect(n == 1, op, "cls_prob of one image (MultiProposal takes a batch)",
                 f"cls_prob.shape={tuple(cls_prob.shape)}")
    I.expect(tuple(bbox_pred.shape) == (n, 4 * a, h, w), op,
             f"bbox_pred of shape {(n, 4 * a, h, w)}", f"bbox_pred.shape={tuple(bbox_pred.shape)}")
    I.expect(tuple(im_info.shape) == (n, 3), op, f"im_info of shape ({n}, 3): [height, width, "
             f"scale]", f"im_info.shape={tuple(im_info.shape)}")
    rows = rpn_post_nms_top_n * (1 if single else n)
    out = I.Spec((rows, 5), _F32)
    return (out, I.Spec((rows, 1), _F32)) if output_score else out


def _base_anchors(stride, ratios, scales):
    """(A, 4) float32 [x1, y1, x2, y2]: for each ratio, each scale, a box of area about
    (stride * scale)**2 and aspect ratio h / w = ratio, centred on a stride x stride cell."""
    f = np.float32
    w = h = f(stride)
    cx = cy = f(0.5) * (w - f(1))
    out = []
    for ratio in ratios:
        side = np.floor(np.sqrt(np.floor(w * h / f(ratio))) + f(0.5))
        for scale in scales:
            nw = side * f(scale)
            nh = np.floor(nw / f(scale) * f(ratio) + f(0.5)) * f(scale)
            out.append([cx - f(0.5) * (nw - f(1)), cy - f(0.5) * (nh - f(1)),
                        cx + f(0.5) * (nw - f(1)), cy + f(0.5) * (nh - f(1))])
    return np.asarray(out, dtype=np.float32)


def _last(xp, v):
    return xp.reshape(v, tuple(v.shape) + (1,))


def _decode(xp, cls_prob, bbox_pred, info, attrs):
    """Every anchor's clipped box (B, count, 4) and score (B, count), count = H * W * A in
    MXNet's order (row, column, anchor); padded cells and boxes below the minimum size score
    -1, the latter widened by the minimum size as MXNet does."""
    b, a2, h, w = cls_prob.shape
    a, stride, dev = a2 // 2, attrs["feature_stride"], cls_prob.device
    f32 = xp.float32
    anchors = xp.asarray(_base_anchors(stride, attrs["ratios"], attrs["scales"]), device=dev)
    sx = xp.reshape(xp.arange(w, dtype=f32, device=dev) * float(stride), (1, 1, w, 1))
    sy = xp.reshape(xp.arange(h, dtype=f32, device=dev) * float(stride), (1, h, 1, 1))
    x1, y1, x2, y2 = (xp.reshape(anchors[:, k], (1, 1, 1, a)) + (sx if k % 2 == 0 else sy)
                      for k in range(4))                                           # (1, H, W, A)
    d = xp.permute_dims(xp.reshape(bbox_pred, (b, a, 4, h, w)), (0, 3, 4, 1, 2))  # (B, H, W, A, 4)
    d0, d1, d2, d3 = (d[..., k] for k in range(4))
    if attrs["iou_loss"]:
        px1, py1, px2, py2 = x1 + d0, y1 + d1, x2 + d2, y2 + d3
    else:
        bw, bh = x2 - x1 + 1.0, y2 - y1 + 1.0
        cx, cy = x1 + 0.5 * (bw - 1.0), y1 + 0.5 * (bh - 1.0)
        pcx, pcy = d0 * bw + cx, d1 * bh + cy
        pw, ph = xp.exp(d2) * bw, xp.exp(d3) * bh
        px1, py1 = pcx - 0.5 * (pw - 1.0), pcy - 0.5 * (ph - 1.0)
        px2, py2 = pcx + 0.5 * (pw - 1.0), pcy + 0.5 * (ph - 1.0)

    def per_image(v):
        return xp.reshape(xp.asarray(v, dtype=f32, device=dev), (b, 1, 1, 1))

    im_h, im_w = per_image(info[:, 0] - np.float32(1)), per_image(info[:, 1] - np.float32(1))
    zero = xp.zeros((1, 1, 1, 1), dtype=f32, device=dev)
    box = [xp.maximum(xp.minimum(v, lim), zero)          # MXNet: max(min(v, size - 1), 0)
           for v, lim in ((px1, im_w), (py1, im_h), (px2, im_w), (py2, im_h))]
    score = xp.permute_dims(cls_prob[:, a:], (0, 2, 3, 1))                         # (B, H, W, A)
    real_h = info[:, 0].astype(np.float32) / np.float32(stride)
    real_w = info[:, 1].astype(np.float32) / np.float32(stride)
    rows = xp.reshape(xp.arange(h, dtype=f32, device=dev), (1, h, 1, 1))
    cols = xp.reshape(xp.arange(w, dtype=f32, device=dev), (1, 1, w, 1))
    padded = (rows >= per_image(np.trunc(real_h))) | (cols >= per_image(np.trunc(real_w)))
    min_size = per_image(np.float32(attrs["rpn_min_size"]) * info[:, 2].astype(np.float32))
    small = (box[2] - box[0] + 1.0 < min_size) | (box[3] - box[1] + 1.0 < min_size)
    half = min_size / 2.0
    box = [xp.where(small, v - half if k < 2 else v + half, v) for k, v in enumerate(box)]
    minus = xp.full(score.shape, -1.0, dtype=f32, device=dev)
    score = xp.where(padded | small, minus, score)
    box = xp.stack([xp.broadcast_to(v, score.shape) for v in box], axis=-1)
    return xp.reshape(box, (b, -1, 4)), xp.reshape(score, (b, -1))


def _propose(xp, select, cls_prob, bbox_pred, im_info, single, attrs):
    op = proposal.name if single else multi_proposal.name
    _infer(op, single, _s(cls_prob), _s(bbox_pred), _s(im_info), **attrs)
    b, _, h, w = cls_prob.shape
    post = attrs["rpn_post_nms_top_n"]
    dev = cls_prob.device
    info = to_numpy(im_info).astype(np.float32)
    stride = np.float32(attrs["feature_stride"])
    for k, (size, extent) in enumerate(((h, "height"), (w, "width"))):
        real = np.trunc(info[:, k] / stride)
        if np.any(real > size):
            raise MXNetValueError(
                f"{op}: Expect: im_info {extent}s / feature_stride <= the feature map's {size} "
                f"/ Actual: im_info[:, {k}]={info[:, k].tolist()}")
    if post == 0:
        empty = xp.zeros((0, 5), dtype=xp.float32, device=dev)
        return (empty, xp.zeros((0, 1), dtype=xp.float32, device=dev)) if \
            attrs["output_score"] else empty
    box, score = _decode(xp, cls_prob, bbox_pred, info, attrs)
    count = box.shape[1]
    pre = min(attrs["rpn_pre_nms_top_n"] if attrs["rpn_pre_nms_top_n"] > 0 else count, count)
    order = xp.argsort(-score, axis=1, stable=True)[:, :pre]         # equal scores: anchor order
    box = xp.take_along_axis(box, xp.broadcast_to(_last(xp, order), (b, pre, 4)), axis=1)
    score = xp.take_along_axis(score, order, axis=1)
    # contrib_boxes' NMS: rows [rank, x1, y1, x2 + 1, y2 + 1] (MXNet's boxes are inclusive
    # pixel ranges) keep their order, all valid, suppressed above ``threshold``
    rank = xp.reshape(xp.arange(pre, 0, -1, dtype=xp.float32, device=dev), (1, pre, 1))
    rows = xp.concat([xp.broadcast_to(rank, (b, pre, 1)), box[..., :2], box[..., 2:] + 1.0],
                     axis=2)
    limit = min(post, pre)                                            # MXNet stops there
    # the first survivors of a prefix of the candidates are the first survivors of all: grow
    # the prefix until each image has ``limit`` of them (NMS costs the prefix's length squared)
    m = min(pre, max(2 * limit, 64))
    while True:
        source = select(rows[:, :m], overlap_thresh=float(np.float32(attrs["threshold"])),
                        valid_thresh=0.0, topk=-1, coord_start=1, score_index=0, id_index=-1,
                        background_id=-1, force_suppress=False, in_format="corner")
        kept = xp.sum(xp.astype(source >= 0, xp.int64), axis=1, keepdims=True)
        if m == pre or int(xp.min(kept)) >= limit:
            break
        m = min(pre, 4 * m)
    kept = xp.clip(kept, None, limit)
    # output row i repeats survivor i % kept when fewer than post survive
    i = xp.reshape(xp.arange(post, dtype=xp.int64, device=dev), (1, post))
    pick = xp.take_along_axis(source, xp.remainder(i, kept), axis=1)
    out_box = xp.take_along_axis(box, xp.broadcast_to(_last(xp, pick), (b, post, 4)), axis=1)
    out_score = xp.take_along_axis(score, pick, axis=1)
    image = xp.broadcast_to(xp.reshape(xp.arange(b, dtype=xp.float32, device=dev), (b, 1, 1)),
                            (b, post, 1))
    rois = xp.reshape(xp.concat([image, out_box], axis=2), (b * post, 5))
    if not attrs["output_score"]:
        return rois
    return rois, xp.reshape(out_score, (b * post, 1))


def _declare(name, single, what):
    op = defop(
        name, ("cls_prob", "bbox_pred", "im_info"), dict(_ATTRS),
        infer=functools.partial(_infer, name, single),
        nout=lambda attrs: 2 if attrs.get("output_score") else 1,
        doc=f"Region proposals of {what} (Faster R-CNN's RPN). Inputs: cls_prob (N, 2A, H, W) "
            "(channels A.. are the foreground scores), bbox_pred (N, 4A, H, W) (per anchor "
            "[dx, dy, dw, dh], or with ``iou_loss`` offsets of the corners), im_info (N, 3) "
            "[height, width, scale]; A = len(scales) * len(ratios) anchors (ratio-major) per "
            "cell, ``feature_stride`` pixels apart. Boxes are clipped to the image; those "
            "narrower than ``rpn_min_size`` * scale and those of cells beyond the image score "
            "-1. The ``rpn_pre_nms_top_n`` best (<= 0: all; equal scores in anchor order) go "
            "through NMS (IoU > ``threshold`` removes, inclusive pixel boxes) and the first "
            "``rpn_post_nms_top_n`` survivors, repeated cyclically when fewer survive, give "
            "rois (rows [image index, x1, y1, x2, y2]) and, with ``output_score``, their "
            "scores (rows, 1). float32 only, as in MXNet. The gradient is zero (MXNet's).")
    op.output_names = lambda attrs: ["output", "score"] if attrs.get("output_score") else \
        ["output"]

    @op.impl
    def _(xp, cls_prob, bbox_pred, im_info, **attrs):
        return _propose(xp, lambda d, **k: _nms_select(xp, d, **k), cls_prob, bbox_pred,
                        im_info, single, attrs)

    @op.kernel("numpy")
    def _(be, cls_prob, bbox_pred, im_info, **attrs):
        return _propose(np, _nms_select_numpy, cls_prob, bbox_pred, im_info, single, attrs)

    @op.vjp
    def _(g, out, cls_prob, bbox_pred, im_info, **attrs):   # MXNet's backward writes zeros
        return tuple(F.zeros_like(a) for a in (cls_prob, bbox_pred, im_info))

    return op


proposal = _declare("_contrib_Proposal", True, "one image")
multi_proposal = _declare("_contrib_MultiProposal", False, "each image of a batch")


def _rpn(rng, n, a, h, w, ties=False, spread=0.2):
    cls = rng.uniform(0, 1, (n, 2 * a, h, w))
    if ties:   # scores in quarters: many equal ones
        cls = np.round(cls * 4) / 4
    return (cls.astype(np.float32), (rng.standard_normal((n, 4 * a, h, w)) * spread)
            .astype(np.float32))


def _sample(rng, n, a, h, w, info, ties=False, **attrs):
    cls, bbox = _rpn(rng, n, a, h, w, ties)
    # grad=False: the outputs move with bbox_pred, but MXNet defines the gradient as zero
    return Sample(cls, bbox, np.asarray(info, dtype=np.float32), fixed_dtype=True, grad=False,
                  **attrs)


proposal.samples(
    lambda rng: _sample(rng, 1, 3, 4, 5, [[64, 80, 1]], scales=(1.0,), rpn_min_size=20,
                        rpn_pre_nms_top_n=50, rpn_post_nms_top_n=40, output_score=True,
                        threshold=0.5),
    lambda rng: _sample(rng, 1, 6, 5, 6, [[50, 60, 1.5]], scales=(2.0, 4.0), rpn_min_size=8,
                        rpn_pre_nms_top_n=100, rpn_post_nms_top_n=60),
    lambda rng: _sample(rng, 1, 9, 6, 7, [[96, 112, 1]], True, scales=(2.0, 4.0, 8.0),
                        rpn_min_size=4, rpn_pre_nms_top_n=-1, rpn_post_nms_top_n=80,
                        threshold=0.6, iou_loss=True, output_score=True),
)
multi_proposal.samples(
    lambda rng: _sample(rng, 3, 4, 4, 5, [[64, 80, 1], [40, 60, 1], [64, 64, 2]],
                        scales=(1.0, 2.0), ratios=(0.5, 1.0), rpn_min_size=4,
                        rpn_pre_nms_top_n=30, rpn_post_nms_top_n=25, output_score=True),
    lambda rng: _sample(rng, 2, 9, 6, 7, [[96, 112, 1], [80, 100, 0.5]], True,
                        scales=(2.0, 4.0, 8.0), rpn_min_size=10, rpn_pre_nms_top_n=200,
                        rpn_post_nms_top_n=150, threshold=0.6),
)
