"""Independent NumPy references for MXNet 1.x's classic layers (``mxplug/ops/classic_nn.py``):
explicit loops over channels and rows, written from MXNet's documented formulas."""
from __future__ import annotations

import math

import numpy as np

from .nn import _deconv


def _out(x, y):
    return np.asarray(y).astype(x.dtype)


def _lrn(x, alpha=1e-4, beta=0.75, knorm=2.0, nsize=0):
    c = x.shape[1]
    y = np.empty(x.shape, dtype=np.float64)
    for ch in range(c):
        half = (nsize - 1) // 2  # MXNet 1.9.1's window: nsize - 1 channels for an even nsize
        lo, hi = ch - half, ch + half + 1   # window [lo, hi), clipped to [0, c)
        s = np.sum(x[:, max(lo, 0):min(hi, c)].astype(np.float64) ** 2, axis=1)
        y[:, ch] = x[:, ch] / (knorm + alpha / nsize * s) ** beta
    return _out(x, y)


def _upsampling(*xs, scale=1, num_filter=0, sample_type="nearest", multi_input_mode="concat",
                num_args=1, workspace=512):
    if sample_type == "bilinear":
        x, w = xs
        k = 2 * scale - scale % 2
        p = math.ceil((scale - 1) / 2)
        return _deconv(x, w, kernel=(k, k), stride=(scale, scale), pad=(p, p),
                       num_filter=x.shape[1], num_group=x.shape[1])
    oh, ow = xs[0].shape[2] * scale, xs[0].shape[3] * scale
    ups = []
    for x in xs:
        rows = np.arange(oh) // (oh // x.shape[2])      # nearest: output pixel -> source pixel
        cols = np.arange(ow) // (ow // x.shape[3])
        ups.append(x[:, :, rows][:, :, :, cols])
    y = sum(ups) if multi_input_mode == "sum" else np.concatenate(ups, axis=1)
    return _out(xs[0], y)


def _l2norm(x, eps=1e-10, mode="instance"):
    axes = {"instance": tuple(range(1, x.ndim)), "channel": (1,),
            "spatial": tuple(range(2, x.ndim))}[mode]
    norm = np.sqrt(np.sum(x.astype(np.float64) ** 2, axis=axes, keepdims=True) + eps)
    return _out(x, x / norm)


def _batch_take(a, indices):
    rows = a.reshape(a.shape[0], -1)
    idx = np.asarray(indices).reshape(-1).astype(np.int64)
    out = [rows[i, min(max(j, 0), rows.shape[1] - 1)] for i, j in enumerate(idx)]
    return np.array(out, dtype=a.dtype).reshape(np.shape(indices))


def _argmax_channel(x):
    return np.argmax(x, axis=1).astype(x.dtype)


def _choose(lhs, rhs):
    return np.array([lhs[i, int(j)] for i, j in enumerate(rhs)], dtype=lhs.dtype)


def _fill(lhs, mhs, rhs):
    out = lhs.copy()
    for i, j in enumerate(rhs):
        if 0 <= int(j) < lhs.shape[1]:
            out[i, int(j)] = mhs[i]
    return out


def _khatri_rao(*ms):
    k = ms[0].shape[1]
    cols = []
    for c in range(k):
        col = np.ones(1)
        for m in ms:
            col = np.kron(col, m[:, c])
        cols.append(col)
    return _out(ms[0], np.stack(cols, axis=1))


def _identity(x, *_, **__):
    return x.copy()


def _crop(x, like=None, num_args=1, offset=(0, 0), h_w=(0, 0), center_crop=False):
    h, w = (like.shape[2], like.shape[3]) if num_args == 2 else h_w
    if center_crop:
        offset = ((x.shape[2] - h) // 2, (x.shape[3] - w) // 2)
    return x[:, :, offset[0]:offset[0] + h, offset[1]:offset[1] + w].copy()


def svm_output_grad(x, label, margin=1.0, regularization_coefficient=1.0, use_linear=False):
    """MXNet's SVMOutput gradient (L1_SVM / L2_SVM in svm_output.cc), row by row."""
    s = x.reshape(-1, x.shape[-1]).astype(np.float64)
    lab = np.asarray(label).reshape(-1).astype(np.int64)
    g = np.zeros_like(s)
    reg = regularization_coefficient
    for r in range(s.shape[0]):
        for c in range(s.shape[1]):
            v = s[r, c]
            if c == lab[r]:
                if use_linear:
                    g[r, c] = -reg * float(margin > v)
                else:
                    g[r, c] = -reg * 2 * (margin - v) if margin > v else 0.0
            elif use_linear:
                g[r, c] = reg * float(margin > -v)
            else:
                g[r, c] = reg * 2 * (margin + v) if margin > -v else 0.0
    return g.reshape(x.shape)


REFERENCES = {
    "LRN": _lrn,
    "UpSampling": _upsampling,
    "L2Normalization": _l2norm,
    "batch_take": _batch_take,
    "argmax_channel": _argmax_channel,
    "choose_element_0index": _choose,
    "fill_element_0index": _fill,
    "khatri_rao": _khatri_rao,
    "SVMOutput": _identity,
    "Crop": _crop,
}


def _c_round(v):
    """C's round(): halves away from zero."""
    return math.floor(v + 0.5) if v >= 0 else math.ceil(v - 0.5)


def _roi_bins(x, roi, pooled_size, spatial_scale):
    """[(i, j, rows slice, cols slice)] of the non-empty bins of one roi, and its image."""
    ph, pw = pooled_size
    h, w = x.shape[2:]
    b = min(max(int(roi[0]), 0), x.shape[0] - 1)
    x1, y1, x2, y2 = (_c_round(v * spatial_scale) for v in roi[1:])
    bh, bw = max(y2 - y1 + 1, 1) / ph, max(x2 - x1 + 1, 1) / pw
    bins = []
    for i in range(ph):
        hs = min(max(math.floor(i * bh) + y1, 0), h)
        he = min(max(math.ceil((i + 1) * bh) + y1, 0), h)
        for j in range(pw):
            ws = min(max(math.floor(j * bw) + x1, 0), w)
            we = min(max(math.ceil((j + 1) * bw) + x1, 0), w)
            if he > hs and we > ws:
                bins.append((i, j, slice(hs, he), slice(ws, we)))
    return b, bins


def _roi_pool(x, rois, pooled_size=(), spatial_scale=1.0):
    y = np.zeros((rois.shape[0], x.shape[1]) + tuple(pooled_size))
    for r, roi in enumerate(rois):
        b, bins = _roi_bins(x, roi, pooled_size, spatial_scale)
        for i, j, rs, cs in bins:
            y[r, :, i, j] = x[b, :, rs, cs].max(axis=(1, 2))
    return _out(x, y)


def _roi_pool_grad(g, x, rois, pooled_size=(), spatial_scale=1.0):
    gx = np.zeros(x.shape)
    for r, roi in enumerate(rois):
        b, bins = _roi_bins(x, roi, pooled_size, spatial_scale)
        for i, j, rs, cs in bins:
            for c in range(x.shape[1]):
                win = x[b, c, rs, cs]
                k, m = np.unravel_index(np.argmax(win), win.shape)   # first maximum
                gx[b, c, rs.start + k, cs.start + m] += g[r, c, i, j]
    return _out(x, gx)


def _norm_coords(n):
    return np.array([-1.0 + 2.0 * i / (n - 1) if n > 1 else -1.0 for i in range(n)])


def _grid_gen(x, transform_type="affine", target_shape=(0, 0)):
    if transform_type == "affine":
        h, w = target_shape
        y = np.zeros((x.shape[0], 2, h, w))
        for n in range(x.shape[0]):
            theta = x[n].reshape(2, 3)
            for i, gy in enumerate(_norm_coords(h)):
                for j, gx in enumerate(_norm_coords(w)):
                    y[n, :, i, j] = theta @ np.array([gx, gy, 1.0])
        return _out(x, y)
    h, w = x.shape[2:]
    y = np.empty(x.shape)
    for i in range(h):
        for j in range(w):
            y[:, 0, i, j] = (x[:, 0, i, j] + j) / ((w - 1) / 2) - 1
            y[:, 1, i, j] = (x[:, 1, i, j] + i) / ((h - 1) / 2) - 1
    return _out(x, y)


def _bilinear(x, grid, cudnn_off=None):
    n, c, h, w = x.shape
    ho, wo = grid.shape[2:]
    y = np.zeros((n, c, ho, wo))
    for b in range(n):
        for i in range(ho):
            for j in range(wo):
                xr = (grid[b, 0, i, j] + 1) * (w - 1) / 2
                yr = (grid[b, 1, i, j] + 1) * (h - 1) / 2
                x0, y0 = math.floor(xr), math.floor(yr)
                for cy, wy in ((y0, 1 - (yr - y0)), (y0 + 1, yr - y0)):
                    for cx, wx in ((x0, 1 - (xr - x0)), (x0 + 1, xr - x0)):
                        if 0 <= cx < w and 0 <= cy < h:
                            y[b, :, i, j] += x[b, :, cy, cx] * wx * wy
    return _out(x, y)


def _spatial_transformer(x, loc, target_shape=(0, 0), **_):
    return _bilinear(x, _grid_gen(loc.astype(np.float64), "affine", target_shape))


REFERENCES.update({
    "ROIPooling": _roi_pool,
    "_backward_ROIPooling": _roi_pool_grad,
    "GridGenerator": _grid_gen,
    "BilinearSampler": _bilinear,
    "SpatialTransformer": _spatial_transformer,
})


def _ctc(x, label, data_lengths=None, label_lengths=None, use_data_lengths=False,
         use_label_lengths=False, blank_label="first"):
    """By brute force: the probability of a label is the sum over every path of symbols that
    collapses to it (repeats merged, then blanks removed); the samples keep C**T small."""
    import itertools

    t_len, n, c = x.shape
    blank, pad = (0, 0) if blank_label == "first" else (c - 1, -1)
    z = x.astype(np.float64)
    logp = z - z.max(axis=2, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(axis=2, keepdims=True))
    out = np.zeros(n)
    for b in range(n):
        row = [int(v) for v in label[b]]
        if use_label_lengths:
            target = row[:int(label_lengths[b])]
        else:
            target = row[:row.index(pad)] if pad in row else row
        steps = int(data_lengths[b]) if use_data_lengths else t_len
        total = 0.0
        for path in itertools.product(range(c), repeat=steps):
            merged = [s for i, s in enumerate(path) if i == 0 or s != path[i - 1]]
            if [s for s in merged if s != blank] == target:
                total += math.exp(sum(logp[t, b, s] for t, s in enumerate(path)))
        out[b] = -math.log(total)
    return _out(x, out)


REFERENCES["CTCLoss"] = _ctc
