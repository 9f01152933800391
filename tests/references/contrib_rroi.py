"""Independent NumPy reference for ``mxplug/ops/contrib_rroi.py``: MXNet 1.x's RROIAlign as
plain loops over rois, bins and samples, written from MXNet 1.9's documentation and the oracle's
behaviour (src/operator/contrib/rroi_align.cc), not from the op body."""
from __future__ import annotations

import math

import numpy as np

# MXNet's bilinear_interpolate, the same as ROIAlign's
from .contrib import _bilinear_point as _rroi_point


# -- RROIAlign ------------------------------------------------------------------------------------
def _rroi(x, rois, pooled_size=(), spatial_scale=1.0, sampling_ratio=-1):
    _, c, h, w = x.shape
    ph, pw = pooled_size
    y = np.zeros((len(rois), c, ph, pw))
    for r, roi in enumerate(rois):
        b = int(roi[0])
        cx, cy, rw, rh = (float(v) * float(np.float32(spatial_scale)) for v in roi[1:5])
        theta = float(roi[5]) * math.pi / 180.0
        rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / ph, rw / pw
        gh = sampling_ratio if sampling_ratio > 0 else math.ceil(rh / ph)
        gw = sampling_ratio if sampling_ratio > 0 else math.ceil(rw / pw)
        cos, sin = math.cos(theta), math.sin(theta)
        for i in range(ph):
            for j in range(pw):
                acc = np.zeros(c)
                for iy in range(gh):
                    yy = -rh / 2 + i * bh + (iy + 0.5) * bh / gh
                    for ix in range(gw):
                        xx = -rw / 2 + j * bw + (ix + 0.5) * bw / gw
                        px = xx * cos + yy * sin + cx
                        py = yy * cos - xx * sin + cy
                        for rr, cc, wt in _rroi_point(h, w, py, px):
                            acc += wt * x[b, :, rr, cc]
                y[r, :, i, j] = acc / (gh * gw)
    return y.astype(x.dtype)


REFERENCES = {"_contrib_RROIAlign": _rroi}
