"""Independent NumPy references for MXNet 1.x's contrib ops (``mxplug/ops/contrib_*.py``):
explicit loops over pixels, samples and boxes, written from MXNet 1.9's kernels
(src/operator/contrib/bilinear_resize.cc, adaptive_avg_pooling.cc, roi_align.cc,
bounding_box-inl.h, ...)."""
from __future__ import annotations

import math

import numpy as np


def _out(x, y):
    return np.asarray(y).astype(x.dtype)


# -- BilinearResize2D -----------------------------------------------------------------------------
def _resize_len(n, mode, size, scale):
    if mode == "size":
        return size if scale is None else int(np.float32(scale) * np.float32(n))
    if mode == "odd_scale":
        return int(np.float32(n) * np.float32(scale)) if n % 2 == 0 else \
            int(np.float32(n - 1) * np.float32(scale)) + 1
    return {"to_even_down": n - n % 2, "to_even_up": n + n % 2,
            "to_odd_down": n - 1 + n % 2, "to_odd_up": n + 1 - n % 2}[mode]


def _source(n_in, n_out, align_corners):
    """Per output index: (low index, high index, weight of high), MXNet's float32 arithmetic."""
    if n_out > 1:
        scale = np.float32(n_in - 1) / np.float32(n_out - 1) if align_corners else \
            np.float32(n_in) / np.float32(n_out)
    else:
        scale = np.float32(0)
    rows = []
    for d in range(n_out):
        if align_corners:
            src = np.float32(scale * np.float32(d))
        else:
            src = np.float32(max(float(scale) * (d + 0.5) - 0.5, 0.0))
        lo = int(src)
        hi = lo + 1 if lo < n_in - 1 else lo
        rows.append((lo, hi, float(src - np.float32(lo))))
    return rows


def _resize(x, like=None, height=1, width=1, scale_height=None, scale_width=None, mode="size",
            align_corners=True):
    n_h, n_w = x.shape[2:]
    if mode == "like":
        oh, ow = like.shape[2:]
    else:
        oh, ow = _resize_len(n_h, mode, height, scale_height), \
            _resize_len(n_w, mode, width, scale_width)
    y = np.zeros(x.shape[:2] + (oh, ow))
    xs = x.astype(np.float64)
    for i, (h0, h1, lh) in enumerate(_source(n_h, oh, align_corners)):
        for j, (w0, w1, lw) in enumerate(_source(n_w, ow, align_corners)):
            y[:, :, i, j] = (1 - lh) * ((1 - lw) * xs[:, :, h0, w0] + lw * xs[:, :, h0, w1]) \
                + lh * ((1 - lw) * xs[:, :, h1, w0] + lw * xs[:, :, h1, w1])
    return _out(x, y)


def _resize_grad(g, x, align_corners=True):
    gx = np.zeros(x.shape)
    oh, ow = g.shape[2:]
    for i, (h0, h1, lh) in enumerate(_source(x.shape[2], oh, align_corners)):
        for j, (w0, w1, lw) in enumerate(_source(x.shape[3], ow, align_corners)):
            gij = g[:, :, i, j].astype(np.float64)
            gx[:, :, h0, w0] += (1 - lh) * (1 - lw) * gij
            gx[:, :, h0, w1] += (1 - lh) * lw * gij
            gx[:, :, h1, w0] += lh * (1 - lw) * gij
            gx[:, :, h1, w1] += lh * lw * gij
    return _out(g, gx)


# -- AdaptiveAvgPooling2D -------------------------------------------------------------------------
def _window(i, n_in, n_out):
    return math.floor(i * n_in / n_out), math.ceil((i + 1) * n_in / n_out)


def _out_size(output_size):
    size = (output_size,) if isinstance(output_size, int) else tuple(output_size)
    return (1, 1) if not size else (size * 2 if len(size) == 1 else size)


def _adaptive(x, output_size=()):
    oh, ow = _out_size(output_size)
    y = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        r0, r1 = _window(i, x.shape[2], oh)
        for j in range(ow):
            c0, c1 = _window(j, x.shape[3], ow)
            y[:, :, i, j] = x[:, :, r0:r1, c0:c1].astype(np.float64).mean(axis=(2, 3))
    return _out(x, y)


def _adaptive_grad(g, x):
    gx = np.zeros(x.shape)
    oh, ow = g.shape[2:]
    for i in range(oh):
        r0, r1 = _window(i, x.shape[2], oh)
        for j in range(ow):
            c0, c1 = _window(j, x.shape[3], ow)
            gx[:, :, r0:r1, c0:c1] += g[:, :, i:i + 1, j:j + 1] / ((r1 - r0) * (c1 - c0))
    return _out(g, gx)


# -- ROIAlign -------------------------------------------------------------------------------------
def _bilinear_point(h, w, y, x):
    """[(row, col, weight)] of MXNet's bilinear_interpolate at (y, x), [] outside."""
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return []
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(y), int(x)
    if y0 >= h - 1:
        y0 = y1 = h - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= w - 1:
        x0 = x1 = w - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    return [(y0, x0, (1 - ly) * (1 - lx)), (y0, x1, (1 - ly) * lx),
            (y1, x0, ly * (1 - lx)), (y1, x1, ly * lx)]


def _roi_samples(roi, h, w, pooled_size, spatial_scale, sample_ratio, aligned):
    """Per bin (i, j): the list of (row, col, weight / count) of all its samples."""
    ph, pw = pooled_size
    off = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (float(v) * spatial_scale - off for v in roi[1:5])
    rw, rh = x2 - x1, y2 - y1
    if not aligned:
        rw, rh = max(rw, 1.0), max(rh, 1.0)
    bh, bw = rh / ph, rw / pw
    gh = sample_ratio if sample_ratio > 0 else math.ceil(rh / ph)
    gw = sample_ratio if sample_ratio > 0 else math.ceil(rw / pw)
    bins = {}
    for i in range(ph):
        for j in range(pw):
            pts = []
            for iy in range(gh):
                yy = y1 + i * bh + (iy + 0.5) * bh / gh
                for ix in range(gw):
                    xx = x1 + j * bw + (ix + 0.5) * bw / gw
                    pts += [(r, c, wt / (gh * gw)) for r, c, wt in _bilinear_point(h, w, yy, xx)]
            bins[i, j] = pts
    return bins


def _roi_align(x, rois, pooled_size=(), spatial_scale=1.0, sample_ratio=-1,
               position_sensitive=False, aligned=False):
    n, c, h, w = x.shape
    ph, pw = pooled_size
    c_out = c // (ph * pw) if position_sensitive else c
    y = np.zeros((len(rois), c_out, ph, pw))
    for r, roi in enumerate(rois):
        b = int(roi[0])
        if b < 0:
            continue
        for (i, j), pts in _roi_samples(roi, h, w, pooled_size, spatial_scale, sample_ratio,
                                        aligned).items():
            for ch in range(c_out):
                src = ch * ph * pw + i * pw + j if position_sensitive else ch
                y[r, ch, i, j] = sum(wt * float(x[b, src, rr, cc]) for rr, cc, wt in pts)
    return _out(x, y)


def _roi_align_grad(g, x, rois, pooled_size=(), spatial_scale=1.0, sample_ratio=-1,
                    position_sensitive=False, aligned=False):
    n, c, h, w = x.shape
    ph, pw = pooled_size
    gx = np.zeros(x.shape)
    for r, roi in enumerate(rois):
        b = int(roi[0])
        if b < 0:
            continue
        for (i, j), pts in _roi_samples(roi, h, w, pooled_size, spatial_scale, sample_ratio,
                                        aligned).items():
            for ch in range(g.shape[1]):
                src = ch * ph * pw + i * pw + j if position_sensitive else ch
                for rr, cc, wt in pts:
                    gx[b, src, rr, cc] += wt * float(g[r, ch, i, j])
    return _out(g, gx)


# -- boxes ----------------------------------------------------------------------------------------
def _edges(box, fmt):
    """(left, top, right, bottom) and MXNet's BoxArea of one box."""
    a, b, c, d = (float(v) for v in box)
    if fmt == "corner":
        edges, (wd, ht) = (a, b, c, d), (c - a, d - b)
    else:
        edges, (wd, ht) = (a - c / 2, b - d / 2, a + c / 2, b + d / 2), (c, d)
    return edges, (0.0 if wd < 0 or ht < 0 else wd * ht)


def _overlap(p, q):
    w = max(min(p[2], q[2]) - max(p[0], q[0]), 0.0)
    h = max(min(p[3], q[3]) - max(p[1], q[1]), 0.0)
    return w * h


def _box_iou(lhs, rhs, format="corner"):  # noqa: A002
    a, b = lhs.reshape(-1, 4), rhs.reshape(-1, 4)
    y = np.zeros((len(a), len(b)))
    for i, p in enumerate(a):
        pe, pa = _edges(p, format)
        for j, q in enumerate(b):
            qe, qa = _edges(q, format)
            inter = _overlap(pe, qe)
            y[i, j] = 0.0 if inter <= 0 else inter / (pa + qa - inter)
    return y.reshape(lhs.shape[:-1] + rhs.shape[:-1]).astype(np.result_type(lhs, rhs))


def _nms_record(data, overlap_thresh=0.5, valid_thresh=0.0, topk=-1, coord_start=2,
                score_index=1, id_index=-1, background_id=-1, force_suppress=False,
                in_format="corner", **_):
    """Per batch element: the input rows kept, in output order (MXNet's BoxNMSForward)."""
    batches = data.reshape((-1,) + data.shape[-2:])
    n = batches.shape[1]
    k = n if topk < 0 else min(n, topk)
    kept_all = []
    for rows in batches:
        cand = [i for i in range(n) if rows[i, score_index] > valid_thresh
                and (id_index < 0 or rows[i, id_index] != background_id)]
        cand = sorted(cand, key=lambda i: -float(rows[i, score_index]))[:k]   # stable
        alive = [True] * len(cand)
        for r in range(len(cand)):
            if not alive[r]:
                continue
            re, ra = _edges(rows[cand[r], coord_start:coord_start + 4], in_format)
            for p in range(r + 1, len(cand)):
                if not alive[p]:
                    continue
                if id_index >= 0 and not force_suppress and \
                        int(rows[cand[r], id_index]) != int(rows[cand[p], id_index]):
                    continue
                pe, pa = _edges(rows[cand[p], coord_start:coord_start + 4], in_format)
                inter = _overlap(re, pe)
                union = ra + pa - inter
                if union > 0 and inter / union > overlap_thresh:
                    alive[p] = False
        kept_all.append([i for i, a in zip(cand, alive) if a])
    return batches, kept_all


def _box_nms(data, **attrs):
    if attrs.get("topk", -1) == 0:
        return data.copy()
    batches, kept_all = _nms_record(data, **attrs)
    cs = attrs.get("coord_start", 2)
    fin, fout = attrs.get("in_format", "corner"), attrs.get("out_format", "corner")
    out = -np.ones(batches.shape)
    for b, kept in enumerate(kept_all):
        for j, i in enumerate(kept):
            row = batches[b, i].astype(np.float64)
            a, bb, c, d = row[cs:cs + 4]
            if fin != fout and a >= 0:
                row[cs:cs + 4] = ((a + c) / 2, (bb + d) / 2, c - a, d - bb) if fout == "center" \
                    else (a - c / 2, bb - d / 2, a + c / 2, bb + d / 2)
            out[b, j] = row
    return _out(data, out.reshape(data.shape))


def _box_nms_grad(g, data, **attrs):
    if attrs.get("topk", -1) == 0:
        return g.copy()
    batches, kept_all = _nms_record(data, **attrs)
    gb = g.reshape(batches.shape).astype(np.float64)
    cs = attrs.get("coord_start", 2)
    fin, fout = attrs.get("in_format", "corner"), attrs.get("out_format", "corner")
    gx = np.zeros(batches.shape)
    for b, kept in enumerate(kept_all):
        for j, i in enumerate(kept):
            row = gb[b, j].copy()
            if fin != fout and batches[b, i, cs] >= 0:   # the chain rule through the conversion
                p, q, r, s = row[cs:cs + 4]
                jac = np.array([[.5, 0, .5, 0], [0, .5, 0, .5], [-1, 0, 1, 0], [0, -1, 0, 1]]) \
                    if fout == "center" else \
                    np.array([[1, 0, -.5, 0], [0, 1, 0, -.5], [1, 0, .5, 0], [0, 1, 0, .5]])
                row[cs:cs + 4] = jac.T @ np.array([p, q, r, s])
            gx[b, i] = row
    return _out(g, gx.reshape(data.shape))


def _bipartite(data, is_ascend=False, threshold=None, topk=-1):
    n, m = data.shape[-2:]
    scores = data.reshape(-1, n * m)
    rows_out, cols_out = [], []
    for s in scores:
        order = sorted(range(n * m), key=lambda j: s[j] if is_ascend else -s[j])   # stable
        rmark, cmark, count = [-1] * n, [-1] * m, 0
        for j in order:
            r, c = divmod(j, m)
            if rmark[r] == -1 and cmark[c] == -1:
                if (not is_ascend and s[j] > threshold) or (is_ascend and s[j] < threshold):
                    rmark[r], cmark[c] = c, r
                    count += 1
                    if topk > 0 and count > topk:
                        break
                else:
                    break
        rows_out.append(rmark)
        cols_out.append(cmark)
    return (np.array(rows_out).reshape(data.shape[:-1]).astype(data.dtype),
            np.array(cols_out).reshape(data.shape[:-2] + (m,)).astype(data.dtype))


# -- small ops ------------------------------------------------------------------------------------
def _arange_like(x, start=0.0, step=1.0, repeat=1, ctx=None, axis=None):
    size = x.size if axis is None else x.shape[axis]
    vals = [start + (i // repeat) * step for i in range(size)]
    return np.array(vals).reshape(x.shape if axis is None else (size,)).astype(x.dtype)


def _index_copy(old, index, new):
    out = old.copy()
    for i, k in enumerate(index):
        out[int(k)] = new[i]
    return out


def _index_array(x, axes=None):
    axes = range(x.ndim) if axes is None else ([axes] if isinstance(axes, int) else axes)
    axes = [a % x.ndim for a in axes]
    out = np.zeros(x.shape + (len(axes),), dtype=np.int64)
    for idx in np.ndindex(*x.shape):
        out[idx] = [idx[a] for a in axes]
    return out


def _allclose(a, b, rtol=1e-5, atol=1e-8, equal_nan=True):
    ok = True
    for p, q in zip(a.ravel().tolist(), b.ravel().tolist()):
        if math.isnan(p) or math.isnan(q):
            ok &= equal_nan and math.isnan(p) and math.isnan(q)
        else:
            ok &= p == q or abs(p - q) <= atol + rtol * abs(q)
    return np.array([int(ok)], dtype=np.uint8)


REFERENCES = {
    "_contrib_BilinearResize2D": _resize,
    "_backward_contrib_BilinearResize2D": _resize_grad,
    "_contrib_AdaptiveAvgPooling2D": _adaptive,
    "_backward_contrib_AdaptiveAvgPooling2D": _adaptive_grad,
    "_contrib_ROIAlign": _roi_align,
    "_backward_ROIAlign": _roi_align_grad,
    "_contrib_box_iou": _box_iou,
    "_contrib_box_nms": _box_nms,
    "_backward_contrib_box_nms": _box_nms_grad,
    "_contrib_bipartite_matching": _bipartite,
    "_contrib_arange_like": _arange_like,
    "_contrib_index_copy": _index_copy,
    "_contrib_index_array": _index_array,
    "_contrib_div_sqrt_dim": lambda x: _out(x, x / math.sqrt(x.shape[-1])),
    "_contrib_quadratic": lambda x, a=0.0, b=0.0, c=0.0: _out(x, a * x * x + b * x + c),
    "_contrib_gradientmultiplier": lambda x, scalar=1.0: _out(x, x),
    "_contrib_allclose": _allclose,
}
