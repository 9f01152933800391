"""Independent references for ``mxplug/ops/contrib_box_coding.py``: MXNet 1.x's box_encode and
box_decode as loops over boxes in Python floats, from MXNet's documentation and its CPU
operator's behaviour (``tests/test_contrib_multibox.py`` checks the ops against MXNet 1.9.1's
outputs too)."""
from __future__ import annotations

import math

import numpy as np


def _centre(box):
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, box[2] - box[0], box[3] - box[1]


def _encode(samples, matches, anchors, refs, means, stds):
    b, n = samples.shape
    target, mask = np.zeros((b, n, 4)), np.zeros((b, n, 4))
    for i in range(b):
        for j in range(n):
            if samples[i, j] <= 0.5:
                continue
            ax, ay, aw, ah = _centre([float(v) for v in anchors[i, j]])
            gx, gy, gw, gh = _centre([float(v) for v in refs[i, int(matches[i, j])]])
            parts = [(gx - ax) / aw, (gy - ay) / ah, math.log(gw / aw), math.log(gh / ah)]
            target[i, j] = [(p - m) / s for p, m, s in zip(parts, means, stds)]
            mask[i, j] = 1
    return target.astype(anchors.dtype), mask.astype(anchors.dtype)


def _decode(data, anchors, std0=1.0, std1=1.0, std2=1.0, std3=1.0, clip=-1.0, format="center"):
    out = np.zeros(data.shape)
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            a = [float(v) for v in anchors[0, j]]
            ax, ay, aw, ah = a if format == "center" else _centre(a)
            d = [float(v) for v in data[i, j]]
            x, y = d[0] * std0 * aw + ax, d[1] * std1 * ah + ay
            dw, dh = d[2] * std2, d[3] * std3
            if clip > 0:
                dw, dh = min(dw, clip), min(dh, clip)
            hw, hh = math.exp(dw) * aw / 2, math.exp(dh) * ah / 2
            out[i, j] = [x - hw, y - hh, x + hw, y + hh]
    return out.astype(data.dtype)


REFERENCES = {"_contrib_box_encode": _encode, "_contrib_box_decode": _decode}
