"""Independent references for ``mxplug/ops/contrib_multibox.py``: MXNet 1.x's MultiBoxPrior,
MultiBoxTarget and MultiBoxDetection as plain loops over cells, anchors and boxes (Python
floats, results cast to the op's dtype), written from MXNet's documentation and its CPU
operators' behaviour, not from the op bodies. ``tests/test_contrib_multibox.py`` also checks
the op against outputs of MXNet 1.9.1 itself."""
from __future__ import annotations

import math

import numpy as np


def _prior(data, sizes=(1.0,), ratios=(1.0,), clip=False, steps=(-1.0, -1.0),
           offsets=(0.5, 0.5)):
    h, w = data.shape[2:]
    step_y = steps[0] if steps[0] > 0 else 1.0 / h
    step_x = steps[1] if steps[1] > 0 else 1.0 / w
    shapes = [(s, ratios[0]) for s in sizes] + [(sizes[0], r) for r in ratios[1:]]
    rows = []
    for r in range(h):
        for c in range(w):
            cy, cx = (r + offsets[0]) * step_y, (c + offsets[1]) * step_x
            for size, ratio in shapes:
                half_w = size * h / w * math.sqrt(ratio) / 2
                half_h = size / math.sqrt(ratio) / 2
                box = [cx - half_w, cy - half_h, cx + half_w, cy + half_h]
                rows.append([min(max(v, 0.0), 1.0) for v in box] if clip else box)
    return np.array([rows], np.float32)


def _overlap(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return 0.0 if union <= 0 else inter / union


def _target(anchor, label, cls_pred, overlap_threshold=0.5, ignore_label=-1.0,
            negative_mining_ratio=-1.0, negative_mining_thresh=0.5, minimum_negative_samples=0,
            variances=(0.1, 0.1, 0.2, 0.2)):
    anchors = [list(map(float, a)) for a in anchor[0]]
    n, na = label.shape[0], len(anchors)
    loc_t, loc_m = np.zeros((n, na * 4)), np.zeros((n, na * 4))
    cls_t = np.full((n, na), float(ignore_label))
    for b in range(n):
        gts = []
        for row in label[b]:
            if row[0] == -1:
                break
            gts.append([float(v) for v in row[:5]])
        if not gts:
            continue
        iou = [[_overlap(a, g[1:]) for g in gts] for a in anchors]
        match, used_gt = [-1] * na, set()
        while len(used_gt) < len(gts):            # greatest free pair first
            best, pair = 1e-6, None
            for i in range(na):
                if match[i] >= 0:
                    continue
                for j in range(len(gts)):
                    if j not in used_gt and iou[i][j] > best:
                        best, pair = iou[i][j], (i, j)
            if pair is None:
                break
            match[pair[0]] = pair[1]
            used_gt.add(pair[1])
        bipartite = [m >= 0 for m in match]
        for i in range(na):
            if not bipartite[i] and overlap_threshold > 0:
                j = max(range(len(gts)), key=lambda k: (iou[i][k], -k))
                if iou[i][j] > overlap_threshold:
                    match[i] = j
        positive = [m >= 0 for m in match]
        if negative_mining_ratio > 0:
            count = min(int(sum(positive) * negative_mining_ratio), na - sum(positive))
            scored = []
            for i in range(na):
                if not positive[i] and max(iou[i]) < negative_mining_thresh:
                    z = [float(cls_pred[b, k, i]) for k in range(cls_pred.shape[1])]
                    top = max(z)
                    background = math.exp(z[0] - top) / sum(math.exp(v - top) for v in z)
                    scored.append((background, i))
            for _, i in sorted(scored)[:count]:   # smallest background probability first
                cls_t[b, i] = 0
        else:
            for i in range(na):
                cls_t[b, i] = 0
        for i in range(na):
            if not positive[i]:
                continue
            g, a = gts[match[i]], anchors[i]
            aw, ah = a[2] - a[0], a[3] - a[1]
            gw, gh = g[3] - g[1], g[4] - g[2]
            cls_t[b, i] = g[0] + 1
            loc_m[b, 4 * i:4 * i + 4] = 1
            loc_t[b, 4 * i:4 * i + 4] = [
                ((g[1] + g[3]) / 2 - (a[0] + a[2]) / 2) / aw / variances[0],
                ((g[2] + g[4]) / 2 - (a[1] + a[3]) / 2) / ah / variances[1],
                math.log(gw / aw) / variances[2], math.log(gh / ah) / variances[3]]
    dt = anchor.dtype
    return loc_t.astype(dt), loc_m.astype(dt), cls_t.astype(dt)


def _detection(cls_prob, loc_pred, anchor, clip=True, threshold=0.01, background_id=0,
               nms_threshold=0.5, force_suppress=False, variances=(0.1, 0.1, 0.2, 0.2),
               nms_topk=-1):
    n, c, na = cls_prob.shape
    out = np.full((n, na, 6), -1.0)
    for b in range(n):
        dets = []
        for i in range(na):
            probs = [float(cls_prob[b, k, i]) for k in range(1, c)]
            k = max(range(len(probs)), key=lambda j: (probs[j], -j))
            if probs[k] <= -1 or probs[k] < threshold:
                continue
            a, p = anchor[0, i], loc_pred[b, 4 * i:4 * i + 4]
            aw, ah = a[2] - a[0], a[3] - a[1]
            x = p[0] * variances[0] * aw + (a[0] + a[2]) / 2
            y = p[1] * variances[1] * ah + (a[1] + a[3]) / 2
            hw, hh = math.exp(p[2] * variances[2]) * aw / 2, math.exp(p[3] * variances[3]) * ah / 2
            box = [x - hw, y - hh, x + hw, y + hh]
            dets.append([k, probs[k]] + ([min(max(v, 0.0), 1.0) for v in box] if clip else box))
        for i, d in enumerate(dets):
            out[b, i] = d
        if not dets or not 0 < nms_threshold <= 1:
            continue
        ranked = sorted(range(len(dets)), key=lambda i: -dets[i][1])   # stable: ties in order
        if 0 < nms_topk < len(ranked):
            ranked = ranked[:nms_topk]
            for i in range(len(ranked), len(dets)):
                out[b, i, 0] = -1
        rows = [list(dets[i]) for i in ranked]
        for i, r in enumerate(rows):
            if r[0] < 0:
                continue
            for s in rows[i + 1:]:
                if s[0] >= 0 and (force_suppress or s[0] == r[0]) and \
                        _overlap(r[2:], s[2:]) >= nms_threshold:
                    s[0] = -1
        for i, r in enumerate(rows):
            out[b, i] = r
    return out.astype(cls_prob.dtype)


REFERENCES = {"_contrib_MultiBoxPrior": _prior, "_contrib_MultiBoxTarget": _target,
              "_contrib_MultiBoxDetection": _detection}
