"""Independent references for ``mxplug/ops/image_ops.py``: per-pixel loops written from MXNet
1.x's documentation and OpenCV 3.4's documented resize (sample positions, replicated borders,
11-bit uint8 weights), Python's ``colorsys`` for hue, and the Philox references of
``tests/references/random.py`` for the random draws. Not derived from the op bodies."""
from __future__ import annotations

import colorsys
import math

import numpy as np

from .random import normal, uniform

LUMA = (0.299, 0.587, 0.114)
EIG = np.array([[55.46 * -0.5675, 4.794 * 0.7192, 1.148 * 0.4009],
                [55.46 * -0.5808, 4.794 * -0.0045, 1.148 * -0.8140],
                [55.46 * -0.5836, 4.794 * -0.6948, 1.148 * 0.4203]])


def _cd(data):
    return np.float64 if data.dtype == np.float64 else np.float32


def _back(out, dtype):
    """MXNet's saturate_cast: uint8 clipped then truncated, other ints truncated."""
    if np.dtype(dtype) == np.uint8:
        out = np.clip(out, 0, 255)
    return np.trunc(out).astype(dtype) if np.dtype(dtype).kind in "iu" else out.astype(dtype)


def to_tensor(data):
    out = np.empty(data.shape[:-3] + (data.shape[-1],) + data.shape[-3:-1], np.float32)
    for idx in np.ndindex(*data.shape):
        *n, h, w, c = idx
        out[tuple(n) + (c, h, w)] = np.float32(data[idx]) / np.float32(255)
    return out


def normalize(data, mean=(0.0,), std=(1.0,)):
    out = np.empty_like(data)
    c_axis = data.ndim - 3
    for c in range(data.shape[c_axis]):
        m = mean[c] if len(mean) > 1 else mean[0]
        s = std[c] if len(std) > 1 else std[0]
        sel = (slice(None),) * c_axis + (c,)
        out[sel] = (data[sel] - data.dtype.type(m)) / data.dtype.type(s)
    return out


def flip_left_right(data):
    return data[:, ::-1, :].copy()


def flip_top_bottom(data):
    return data[::-1, :, :].copy()


def _coin(key, counter):
    return uniform(shape=(1,), key=key, counter=counter)[0] < 0.5


def random_flip_left_right(data, key=0, counter=0):
    return flip_left_right(data) if _coin(key, counter) else data.copy()


def random_flip_top_bottom(data, key=0, counter=0):
    return flip_top_bottom(data) if _coin(key, counter) else data.copy()


def crop(data, x, y, width, height):
    return data[..., y:y + height, x:x + width, :].copy()


# -- resize: OpenCV 3.4, one output pixel at a time ------------------------------------------------
def _out_size(h, w, size, keep_ratio):
    size = tuple(size) if isinstance(size, (tuple, list)) else (size,)
    if len(size) == 2:
        return size[1], size[0]
    if not keep_ratio:
        return size[0], size[0]
    if h > w:
        return int(h * size[0] / w), size[0]
    return size[0], int(w * size[0] / h)


def _cubic_w(t):
    a = np.float32(-0.75)
    t = np.float32(t)
    w0 = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a
    w1 = ((a + 2) * t - (a + 3)) * t * t + 1
    w2 = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1
    return [w0, w1, w2, np.float32(1) - w0 - w1 - w2]


def _lanczos_w(t):
    """Lanczos-4: sin(pi y) sin(pi y / 4) / y^2 at distances y = t + 3 - i (sin(pi y) only
    alternates in sign over the taps), normalised in float32 as OpenCV does."""
    t = np.float32(t)
    if t < np.finfo(np.float32).eps:
        return [np.float32(v) for v in (0, 0, 0, 1, 0, 0, 0, 0)]
    ws = []
    for i in range(8):
        y = float(t + np.float32(3) - np.float32(i)) * math.pi / 4
        ws.append(np.float32((-1) ** i * math.sin(y) / (y * y)))
    total = np.float32(0)
    for v in ws:
        total = np.float32(total + v)
    return [np.float32(v * (np.float32(1) / total)) for v in ws]


def _axis_weights(n_in, n_out, mode, horizontal):
    """Per output index: list of (source index, float32 weight)."""
    inv = n_out / n_in
    scale = 1.0 / inv
    res = []
    for d in range(n_out):
        if mode == "nearest":
            res.append([(min(math.floor(d * scale), n_in - 1), np.float32(1))])
            continue
        if mode == "area_shrink":
            lo, hi = d * scale, (d + 1) * scale
            cell = min(scale, n_in - lo)
            taps = []
            for s in range(n_in):
                ov = min(hi, s + 1, n_in) - max(lo, s)
                if ov > 1e-3:
                    taps.append((s, np.float32(ov / cell)))
            res.append(taps)
            continue
        if mode == "area_grow":
            s = math.floor(d * scale)
            t = np.float32((d + 1) - (s + 1) * inv)
            t = np.float32(0) if t <= 0 else np.float32(t - math.floor(t))
        else:
            t = np.float32((d + 0.5) * scale - 0.5)
            s = math.floor(t)
            t = np.float32(t - np.float32(s))
        if mode in ("linear", "area_grow"):
            if horizontal and (s < 0 or s >= n_in - 1):
                s, t = min(max(s, 0), n_in - 1), np.float32(0)
            ws, first = [np.float32(1) - t, t], 0
        elif mode == "cubic":
            ws, first = _cubic_w(t), -1
        else:
            ws, first = _lanczos_w(t), -3
        res.append([(min(max(s + first + k, 0), n_in - 1), w) for k, w in enumerate(ws)])
    return res


def _plan(h, w, oh, ow, interp):
    interp = 1 if interp == 5 else interp
    sy, sx = h / oh, w / ow
    two = (abs(sx - 2) < 1e-15 and abs(sy - 2) < 1e-15)
    if interp == 1 and two:
        interp = 3
    names = {0: "nearest", 1: "linear", 2: "cubic", 4: "lanczos"}
    if interp == 3:
        mode = "area_shrink" if sx >= 1 and sy >= 1 else "area_grow"
    else:
        mode = names[interp]
    return mode, two


def _resize_one(img, oh, ow, interp):
    h, w, c = img.shape
    mode, two = _plan(h, w, oh, ow, interp)
    rows = _axis_weights(h, oh, mode, False)
    cols = _axis_weights(w, ow, mode, True)
    u8 = img.dtype == np.uint8
    out = np.zeros((oh, ow, c), img.dtype)
    for i in range(oh):
        for j in range(ow):
            for ch in range(c):
                if mode == "nearest":
                    out[i, j, ch] = img[rows[i][0][0], cols[j][0][0], ch]
                    continue
                if not u8:
                    dt = img.dtype.type
                    hs = [sum(dt(img[r, s, ch]) * dt(wx) for s, wx in cols[j]) for r, _ in rows[i]]
                    out[i, j, ch] = sum(hv * dt(wy) for hv, (_, wy) in zip(hs, rows[i]))
                    continue
                if mode == "area_shrink":
                    v = sum(float(img[r, s, ch]) * float(wx) * float(wy)
                            for r, wy in rows[i] for s, wx in cols[j])
                    v = math.floor(v + 0.5) if two else round(v)
                else:
                    hs = [sum(int(img[r, s, ch]) * int(round(float(wx) * 2048))
                              for s, wx in cols[j]) for r, _ in rows[i]]
                    bs = [int(round(float(wy) * 2048)) for _, wy in rows[i]]
                    if len(bs) == 2:       # OpenCV's vector formula for the vertical pass
                        v = (sum((b * (hv >> 4)) >> 16 for b, hv in zip(bs, hs)) + 2) >> 2
                    elif len(bs) == 4 and ow * c >= 8 and j * c + ch < (ow * c) // 8 * 8:
                        acc = np.float32(0)
                        for b, hv in zip(bs, hs):
                            acc = np.float32(acc + np.float32(hv) * np.float32(b * 2.0 ** -22))
                        v = int(np.rint(acc))
                    else:
                        v = (sum(b * hv for b, hv in zip(bs, hs)) + (1 << 21)) >> 22
                out[i, j, ch] = min(max(v, 0), 255)
    return out


def resize(data, size=(), keep_ratio=False, interp=1):
    oh, ow = _out_size(data.shape[-3], data.shape[-2], size, keep_ratio)
    if data.ndim == 4:
        return np.stack([_resize_one(im, oh, ow, interp) for im in data])
    return _resize_one(data, oh, ow, interp)


def resize_backward(grad, data, size=(), keep_ratio=False, interp=1):
    """The transpose of the (float, linear) resize, column by column of its matrix."""
    out = np.zeros(data.shape, grad.dtype)
    for idx in np.ndindex(*data.shape):
        unit = np.zeros(data.shape, grad.dtype)
        unit[idx] = 1
        out[idx] = np.sum(resize(unit, size, keep_ratio, interp) * grad)
    return out


# -- colour ---------------------------------------------------------------------------------------
def _gray(img):
    if img.shape[-1] == 1:
        return img[..., 0]
    return LUMA[0] * img[..., 0] + LUMA[1] * img[..., 1] + LUMA[2] * img[..., 2]


def _brightness(img, a):
    return img * a


def _contrast(img, a):
    return img * a + (1 - a) * _gray(img).mean()


def _saturation(img, a):
    if img.shape[-1] == 1:
        return img.copy()
    return img * a + (1 - a) * _gray(img)[..., None]


def _hue(img, a):
    if img.shape[-1] == 1:
        return img.copy()
    out = np.empty(img.shape, np.float64)
    for i, j in np.ndindex(*img.shape[:2]):
        h, l, s = colorsys.rgb_to_hls(*(float(v) / 255 for v in img[i, j]))
        out[i, j] = [v * 255 for v in colorsys.hls_to_rgb((h + float(a)) % 1.0, l, s)]
    return out


def adjust_lighting(data, alpha):
    if data.shape[-1] == 1:
        return data.copy()
    pca = EIG @ np.asarray(alpha, np.float64)
    return _back(data.astype(np.float64) + pca, data.dtype)


def random_lighting(data, alpha_std=0.05, key=0, counter=0):
    if data.shape[-1] == 1:
        return data.copy()
    a = normal(0.0, abs(alpha_std), shape=(3,), dtype=_cd(data), key=key, counter=counter)
    return _back(data.astype(np.float64) + EIG @ a.astype(np.float64), data.dtype)


def _random_adjust(adjust):
    def ref(data, min_factor=None, max_factor=None, key=0, counter=0):
        lo, hi = sorted((min_factor, max_factor))
        a = float(uniform(lo, hi, shape=(1,), dtype=_cd(data), key=key, counter=counter)[0])
        return _back(adjust(data.astype(np.float64), a), data.dtype)
    return ref


def random_color_jitter(data, brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0, key=0,
                        counter=0):
    """MXNet's order: the four steps sorted by their order keys u[0:4], each with its factor."""
    u = uniform(shape=(8,), dtype=_cd(data), key=key, counter=counter).astype(np.float64)
    steps = [(_brightness, 1 + (2 * u[4] - 1) * brightness, brightness),
             (_contrast, 1 + (2 * u[5] - 1) * contrast, contrast),
             (_saturation, 1 + (2 * u[6] - 1) * saturation, saturation),
             (_hue, (2 * u[7] - 1) * hue, hue)]
    img = data.astype(np.float64)
    for k in np.argsort(u[:4], kind="stable"):
        fn, factor, amount = steps[k]
        if amount > 0:
            img = fn(img, factor)
    return _back(img, data.dtype)


REFERENCES = {
    "_image_to_tensor": to_tensor,
    "_image_normalize": normalize,
    "_image_flip_left_right": flip_left_right,
    "_image_flip_top_bottom": flip_top_bottom,
    "_image_random_flip_left_right": random_flip_left_right,
    "_image_random_flip_top_bottom": random_flip_top_bottom,
    "_image_crop": crop,
    "_image_resize": resize,
    "_backward_image_resize": resize_backward,
    "_image_adjust_lighting": adjust_lighting,
    "_image_random_lighting": random_lighting,
    "_image_random_brightness": _random_adjust(_brightness),
    "_image_random_contrast": _random_adjust(_contrast),
    "_image_random_saturation": _random_adjust(_saturation),
    "_image_random_hue": _random_adjust(_hue),
    "_image_random_color_jitter": random_color_jitter,
}
