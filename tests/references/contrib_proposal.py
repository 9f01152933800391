"""Independent NumPy references for ``mxplug/ops/contrib_proposal.py``: MXNet 1.x's Proposal and
MultiProposal (Faster R-CNN's RPN proposal layer) as plain loops over anchors and boxes in
float32, written from MXNet 1.9's documentation and the oracle's behaviour
(src/operator/contrib/proposal.cc, multi_proposal.cc), not from the op bodies. Equal scores
keep MXNet's anchor order (a stable sort: checked against MXNet 1.9.1 on tie-heavy inputs)."""
from __future__ import annotations

import math

import numpy as np

f32 = np.float32


# -- the proposal layer ---------------------------------------------------------------------------
def _anchors(stride, ratios, scales):
    """MXNet's base anchors (A, 4): ratios outer, scales inner, around a stride x stride box."""
    base = [0.0, 0.0, stride - 1.0, stride - 1.0]
    w, h = base[2] - base[0] + 1.0, base[3] - base[1] + 1.0
    cx, cy = base[0] + 0.5 * (w - 1.0), base[1] + 0.5 * (h - 1.0)
    out = []
    for ratio in ratios:
        for scale in scales:
            size_ratio = math.floor(f32(w * h) / f32(ratio))
            nw = math.floor(math.sqrt(size_ratio) + 0.5) * f32(scale)
            nh = math.floor(f32(nw / f32(scale) * f32(ratio)) + 0.5) * f32(scale)
            out.append([cx - 0.5 * (nw - 1.0), cy - 0.5 * (nh - 1.0),
                        cx + 0.5 * (nw - 1.0), cy + 0.5 * (nh - 1.0)])
    return out


def _image(score, deltas, info, pre_n, post_n, threshold, min_size, scales, ratios, stride,
           iou_loss):
    """One image's proposals: (post_n rows [x1, y1, x2, y2], post_n scores)."""
    a_n, hgt, wid = score.shape[0] // 2, score.shape[1], score.shape[2]
    anchors = _anchors(stride, ratios, scales)
    real_h, real_w = int(f32(info[0]) / f32(stride)), int(f32(info[1]) / f32(stride))
    im_h, im_w = f32(info[0]), f32(info[1])
    boxes = []
    for hh in range(hgt):                 # MXNet's order: row, column, anchor
        for ww in range(wid):
            for a in range(a_n):
                x1, y1, x2, y2 = (f32(v) for v in anchors[a])
                x1, x2 = x1 + f32(ww * stride), x2 + f32(ww * stride)
                y1, y2 = y1 + f32(hh * stride), y2 + f32(hh * stride)
                d = [f32(deltas[a * 4 + k, hh, ww]) for k in range(4)]
                if iou_loss:
                    px1, py1, px2, py2 = x1 + d[0], y1 + d[1], x2 + d[2], y2 + d[3]
                else:
                    bw, bh = x2 - x1 + f32(1), y2 - y1 + f32(1)
                    cx, cy = x1 + f32(0.5) * (bw - f32(1)), y1 + f32(0.5) * (bh - f32(1))
                    pcx, pcy = d[0] * bw + cx, d[1] * bh + cy
                    pw, ph = f32(np.exp(d[2])) * bw, f32(np.exp(d[3])) * bh
                    px1, py1 = pcx - f32(0.5) * (pw - f32(1)), pcy - f32(0.5) * (ph - f32(1))
                    px2, py2 = pcx + f32(0.5) * (pw - f32(1)), pcy + f32(0.5) * (ph - f32(1))
                box = [min(max(px1, f32(0)), im_w - f32(1)), min(max(py1, f32(0)), im_h - f32(1)),
                       min(max(px2, f32(0)), im_w - f32(1)), min(max(py2, f32(0)), im_h - f32(1))]
                s = f32(score[a_n + a, hh, ww])
                if hh >= real_h or ww >= real_w:
                    s = f32(-1)
                if box[2] - box[0] + f32(1) < min_size or box[3] - box[1] + f32(1) < min_size:
                    half = min_size / f32(2)
                    box = [box[0] - half, box[1] - half, box[2] + half, box[3] + half]
                    s = f32(-1)
                boxes.append(box + [s])
    count = len(boxes)
    pre_n = min(pre_n if pre_n > 0 else count, count)
    post_n_nms = min(post_n, pre_n)
    order = sorted(range(count), key=lambda i: -boxes[i][4])[:pre_n]   # stable
    dets = [boxes[i] for i in order]
    area = [(d[2] - d[0] + f32(1)) * (d[3] - d[1] + f32(1)) for d in dets]
    suppressed, keep = [False] * pre_n, []
    for i in range(pre_n):
        if len(keep) >= post_n_nms:
            break
        if suppressed[i]:
            continue
        keep.append(i)
        for j in range(i + 1, pre_n):
            if suppressed[j]:
                continue
            iw = max(f32(0), min(dets[i][2], dets[j][2]) - max(dets[i][0], dets[j][0]) + f32(1))
            ih = max(f32(0), min(dets[i][3], dets[j][3]) - max(dets[i][1], dets[j][1]) + f32(1))
            inter = iw * ih
            if inter / (area[i] + area[j] - inter) > f32(threshold):
                suppressed[j] = True
    rows = [dets[keep[i % len(keep)]] for i in range(post_n)] if keep else []
    return [r[:4] for r in rows], [r[4] for r in rows]


def _proposals(cls_prob, bbox_pred, im_info, images, rpn_pre_nms_top_n=6000,
               rpn_post_nms_top_n=300, threshold=0.7, rpn_min_size=16, scales=(4, 8, 16, 32),
               ratios=(0.5, 1, 2), feature_stride=16, output_score=False, iou_loss=False):
    rois, scores = [], []
    for b in range(images):
        boxes, s = _image(cls_prob[b], bbox_pred[b], im_info[b], rpn_pre_nms_top_n,
                          rpn_post_nms_top_n, threshold, f32(rpn_min_size) * f32(im_info[b][2]),
                          scales, ratios, feature_stride, iou_loss)
        rois += [[float(b)] + [float(v) for v in box] for box in boxes]
        scores += [[float(v)] for v in s]
    rois = np.array(rois, dtype=np.float32).reshape(-1, 5)
    scores = np.array(scores, dtype=np.float32).reshape(-1, 1)
    return (rois, scores) if output_score else rois


def _proposal(cls_prob, bbox_pred, im_info, **kw):
    return _proposals(cls_prob, bbox_pred, im_info, 1, **kw)


def _multi_proposal(cls_prob, bbox_pred, im_info, **kw):
    return _proposals(cls_prob, bbox_pred, im_info, cls_prob.shape[0], **kw)


REFERENCES = {
    "_contrib_Proposal": _proposal,
    "_contrib_MultiProposal": _multi_proposal,
}
