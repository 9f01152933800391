"""Independent NumPy references for ``mxplug/ops/contrib_deformable.py``: DCN v1/v2 as plain loops
over the sample points, with MXNet 1.9.1's bilinear border rules (found on the oracle), then the
grouped convolution of the sampled columns; not written from the op bodies."""
from __future__ import annotations

import numpy as np


def _bilinear_v1(img, y, x):
    """MXNet's v1 rule: 0 outside [0, H) x [0, W); at or past the last row/column read it."""
    h, w = img.shape
    if not (0 <= y < h and 0 <= x < w):
        return 0.0
    y, x = min(y, h - 1.0), min(x, w - 1.0)
    y0, x0 = int(np.floor(y)), int(np.floor(x))
    y1, x1 = min(y0 + 1, h - 1), min(x0 + 1, w - 1)
    fy, fx = y - y0, x - x0
    return ((1 - fy) * ((1 - fx) * img[y0, x0] + fx * img[y0, x1])
            + fy * ((1 - fx) * img[y1, x0] + fx * img[y1, x1]))


def _bilinear_v2(img, y, x):
    """Bilinear over the zero-padded image: neighbours outside it count 0."""
    h, w = img.shape
    y0, x0 = int(np.floor(y)), int(np.floor(x))
    total = 0.0
    for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            if 0 <= yy < h and 0 <= xx < w:
                total += wy * wx * img[yy, xx]
    return total


def _deformable(x, off, mask, w, b, sample, kernel, stride=(), dilate=(), pad=(), num_filter=0,
                num_group=1, num_deformable_group=1, **_):
    n, c, h, wd = x.shape
    kh, kw = kernel
    sh, sw = stride or (1, 1)
    dh, dw = dilate or (1, 1)
    ph, pw = pad or (0, 0)
    ho, wo = off.shape[2:]
    dg, g, f = num_deformable_group, num_group, num_filter
    cols = np.zeros((n, c, kh, kw, ho, wo))
    for i in range(n):
        for ch in range(c):
            d = ch // (c // dg)
            for ki in range(kh):
                for kj in range(kw):
                    tap = d * kh * kw + ki * kw + kj
                    for oy in range(ho):
                        for ox in range(wo):
                            y = oy * sh - ph + ki * dh + off[i, 2 * tap, oy, ox]
                            xx = ox * sw - pw + kj * dw + off[i, 2 * tap + 1, oy, ox]
                            v = sample(x[i, ch], y, xx)
                            if mask is not None:
                                v *= mask[i, tap, oy, ox]
                            cols[i, ch, ki, kj, oy, ox] = v
    out = np.zeros((n, f, ho, wo))
    cg, fg = c // g, f // g
    for i in range(n):
        for k in range(f):
            grp = k // fg
            chunk = cols[i, grp * cg:(grp + 1) * cg]
            out[i, k] = np.einsum("cij,cijyx->yx", w[k], chunk)
            if b is not None:
                out[i, k] += b[k]
    return out.astype(x.dtype)


def _dcn(x, off, w, b=None, **attrs):
    return _deformable(x, off, None, w, b, _bilinear_v1, **attrs)


def _mdcn(x, off, mask, w, b=None, **attrs):
    return _deformable(x, off, mask, w, b, _bilinear_v2, **attrs)


REFERENCES = {
    "_contrib_DeformableConvolution": _dcn,
    "_contrib_ModulatedDeformableConvolution": _mdcn,
}
