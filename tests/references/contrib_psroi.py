"""Independent NumPy references for ``mxplug/ops/contrib_psroi.py``: MXNet 1.x's PSROIPooling
and DeformablePSROIPooling with their gradients, as plain loops over rois, bins and samples,
written from MXNet 1.9's documentation and the oracle's behaviour (src/operator/contrib/
psroi_pooling.cc, deformable_psroi_pooling.cc), not from the op bodies."""
from __future__ import annotations

import math

import numpy as np


def _f32(v):
    """MXNet keeps float attributes (spatial_scale, trans_std) as float32."""
    return float(np.float32(v))


def _cround(v):
    """C's round(): halves away from zero."""
    return math.floor(v + 0.5) if v >= 0 else math.ceil(v - 0.5)


def _group(p, pooled, group_size):
    return min(max(int(math.floor(p * group_size / pooled)), 0), group_size - 1)


# -- PSROIPooling ---------------------------------------------------------------------------------
def _psroi_bins(x, rois, spatial_scale, output_dim, pooled_size, group_size):
    """[(roi, out channel, i, j, batch, in channel, rows range, cols range)] of every bin."""
    gs = group_size or pooled_size
    _, _, h, w = x.shape
    spatial_scale = _f32(spatial_scale)
    bins = []
    for r, roi in enumerate(rois):
        b = int(roi[0])
        sw, sh = _cround(roi[1]) * spatial_scale, _cround(roi[2]) * spatial_scale
        ew, eh = (_cround(roi[3]) + 1.0) * spatial_scale, (_cround(roi[4]) + 1.0) * spatial_scale
        rw, rh = max(ew - sw, 0.1), max(eh - sh, 0.1)
        bh, bw = rh / pooled_size, rw / pooled_size
        for ct in range(output_dim):
            for i in range(pooled_size):
                for j in range(pooled_size):
                    hs = min(max(math.floor(i * bh + sh), 0), h)
                    he = min(max(math.ceil((i + 1) * bh + sh), 0), h)
                    ws = min(max(math.floor(j * bw + sw), 0), w)
                    we = min(max(math.ceil((j + 1) * bw + sw), 0), w)
                    c = (ct * gs + _group(i, pooled_size, gs)) * gs + _group(j, pooled_size, gs)
                    bins.append((r, ct, i, j, b, c, range(hs, he), range(ws, we)))
    return bins


def _psroi(x, rois, spatial_scale=1.0, output_dim=0, pooled_size=0, group_size=0):
    y = np.zeros((len(rois), output_dim, pooled_size, pooled_size))
    for r, ct, i, j, b, c, rows, cols in _psroi_bins(x, rois, spatial_scale, output_dim,
                                                     pooled_size, group_size):
        if len(rows) and len(cols):
            y[r, ct, i, j] = sum(float(x[b, c, hh, ww]) for hh in rows for ww in cols) / (
                len(rows) * len(cols))
    return y.astype(x.dtype)


def _psroi_grad(g, x, rois, spatial_scale=1.0, output_dim=0, pooled_size=0, group_size=0):
    gx = np.zeros(x.shape)
    for r, ct, i, j, b, c, rows, cols in _psroi_bins(x, rois, spatial_scale, output_dim,
                                                     pooled_size, group_size):
        for hh in rows:
            for ww in cols:
                gx[b, c, hh, ww] += g[r, ct, i, j] / (len(rows) * len(cols))
    return gx.astype(x.dtype)


# -- DeformablePSROIPooling -----------------------------------------------------------------------
def _deform_samples(x, rois, trans, spatial_scale, output_dim, group_size, pooled_size,
                    part_size, sample_per_part, trans_std, no_trans):
    """Per output (r, ct, i, j): (batch, in channel, trans cells (x, y), roi size (w, h),
    [(h, w, in range)] of its samples)."""
    _, _, hgt, wid = x.shape
    part = part_size or pooled_size
    spatial_scale, trans_std = _f32(spatial_scale), _f32(trans_std)
    classes = 1 if no_trans else trans.shape[1] // 2
    per_class = output_dim // classes
    out = {}
    for r, roi in enumerate(rois):
        b = int(roi[0])
        sw = _cround(roi[1]) * spatial_scale - 0.5
        sh = _cround(roi[2]) * spatial_scale - 0.5
        ew = (_cround(roi[3]) + 1.0) * spatial_scale - 0.5
        eh = (_cround(roi[4]) + 1.0) * spatial_scale - 0.5
        rw, rh = max(ew - sw, 0.1), max(eh - sh, 0.1)
        bh, bw = rh / pooled_size, rw / pooled_size
        for ct in range(output_dim):
            k = ct // per_class
            for i in range(pooled_size):
                for j in range(pooled_size):
                    pi = int(math.floor(i / pooled_size * part))
                    pj = int(math.floor(j / pooled_size * part))
                    cells = ((r, 2 * k, pi, pj), (r, 2 * k + 1, pi, pj))
                    tx = 0.0 if no_trans else float(trans[cells[0]]) * trans_std
                    ty = 0.0 if no_trans else float(trans[cells[1]]) * trans_std
                    w0 = j * bw + sw + tx * rw
                    h0 = i * bh + sh + ty * rh
                    c = (ct * group_size + _group(i, pooled_size, group_size)) * group_size \
                        + _group(j, pooled_size, group_size)
                    pts = []
                    for ih in range(sample_per_part):
                        for iw in range(sample_per_part):
                            ww = w0 + iw * bw / sample_per_part
                            hh = h0 + ih * bh / sample_per_part
                            inside = -0.5 <= ww <= wid - 0.5 and -0.5 <= hh <= hgt - 0.5
                            pts.append((min(max(hh, 0.0), hgt - 1.0),
                                        min(max(ww, 0.0), wid - 1.0), inside))
                    out[r, ct, i, j] = (b, c, cells, (rw, rh), pts)
    return out


def _corners(hh, ww):
    """The bilinear corners of (hh, ww): [(row, col, weight)] (floor and ceil, as MXNet)."""
    y0, y1, x0, x1 = math.floor(hh), math.ceil(hh), math.floor(ww), math.ceil(ww)
    dy, dx = hh - y0, ww - x0
    return [(y0, x0, (1 - dx) * (1 - dy)), (y1, x0, (1 - dx) * dy),
            (y0, x1, dx * (1 - dy)), (y1, x1, dx * dy)]


def _deform_args(x, rois, trans, kw):
    gs = kw.get("group_size", 0)
    return dict(spatial_scale=kw.get("spatial_scale", 1.0), output_dim=kw["output_dim"],
                group_size=gs, pooled_size=kw["pooled_size"], part_size=kw.get("part_size", 0),
                sample_per_part=kw.get("sample_per_part", 1),
                trans_std=kw.get("trans_std", 0.0), no_trans=kw.get("no_trans", False))


def _deform(x, rois, *rest, **kw):
    trans = rest[0] if rest else None
    a = _deform_args(x, rois, trans, kw)
    ps = a["pooled_size"]
    y = np.zeros((len(rois), a["output_dim"], ps, ps))
    for (r, ct, i, j), (b, c, _, _, pts) in _deform_samples(x, rois, trans, **a).items():
        vals = [sum(wt * float(x[b, c, yy, xx]) for yy, xx, wt in _corners(hh, ww))
                for hh, ww, inside in pts if inside]
        y[r, ct, i, j] = sum(vals) / len(vals) if vals else 0.0
    return y.astype(x.dtype)


def _deform_grad(g, x, rois, *rest, **kw):
    """(data gradient, trans gradient); MXNet's trans gradient is the interpolation's slope at
    the clamped sample, times trans_std and the roi's size."""
    trans = rest[0] if rest else None
    a = _deform_args(x, rois, trans, kw)
    gx = np.zeros(x.shape)
    gt = None if trans is None else np.zeros(trans.shape)
    for (r, ct, i, j), (b, c, cells, (rw, rh), pts) in _deform_samples(x, rois, trans,
                                                                      **a).items():
        used = [(hh, ww) for hh, ww, inside in pts if inside]
        if not used:
            continue
        d = float(g[r, ct, i, j]) / len(used)
        for hh, ww in used:
            for yy, xx, wt in _corners(hh, ww):
                gx[b, c, yy, xx] += wt * d
            if a["no_trans"]:
                continue
            y0, y1, x0, x1 = math.floor(hh), math.ceil(hh), math.floor(ww), math.ceil(ww)
            dy, dx = hh - y0, ww - x0
            u00, u01 = float(x[b, c, y0, x0]), float(x[b, c, y1, x0])
            u10, u11 = float(x[b, c, y0, x1]), float(x[b, c, y1, x1])
            std = _f32(a["trans_std"])
            gt[cells[0]] += (u11 * dy + u10 * (1 - dy) - u01 * dy - u00 * (1 - dy)) * std * d * rw
            gt[cells[1]] += (u11 * dx + u01 * (1 - dx) - u10 * dx - u00 * (1 - dx)) * std * d * rh
    gx = gx.astype(x.dtype)
    return gx if gt is None else (gx, gt.astype(x.dtype))


REFERENCES = {
    "_contrib_PSROIPooling": _psroi,
    "_backward_contrib_PSROIPooling": _psroi_grad,
    "_contrib_DeformablePSROIPooling": _deform,
    "_backward_contrib_DeformablePSROIPooling": _deform_grad,
}
