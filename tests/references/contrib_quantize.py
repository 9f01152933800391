"""Independent NumPy references for ``mxplug/ops/contrib_quantize.py``: element by element in
float32 scalars, from the rules MXNet 1.9.1's CPU build was observed to follow (scale =
Q / max(|min|, |max|) in float32, round half to even, saturate, NaN -> 127 for int8 / 0 for
uint8; Q = 127 / 255 for quantize and requantize, 127.5 / 255.5 for quantize_v2 and
dequantize)."""
from __future__ import annotations

import math

import numpy as np

f32 = np.float32
_BOUNDS = {"int8": (-128, 127, 127), "uint8": (0, 255, 0)}


def _maxabs(a, b):
    return max(abs(f32(a)), abs(f32(b)))


def _div(a, b):
    with np.errstate(divide="ignore"):
        return f32(a) / f32(b)


def _one(v, out_type):
    """One float32 value rounded half to even and saturated."""
    lo, hi, nan = _BOUNDS[out_type]
    if math.isnan(v):
        return nan
    if math.isinf(v):
        return hi if v > 0 else lo
    fl = math.floor(v)
    frac = v - fl
    r = fl + 1 if frac > 0.5 or (frac == 0.5 and fl % 2 == 1) else fl
    return int(min(max(r, lo), hi))


def _quantize_all(x, scale, out_type):
    with np.errstate(invalid="ignore", over="ignore"):
        vals = [_one(float(f32(v) * scale), out_type) for v in np.asarray(x).ravel()]
    return np.array(vals, dtype=out_type).reshape(np.shape(x))


def _arr(v):
    return np.array([v], dtype=np.float32)


def quantize(x, lo, hi, out_type="uint8"):
    r = _maxabs(lo[0], hi[0])
    q = f32(127.0 if out_type == "int8" else 255.0)
    data = _quantize_all(x, _div(q, r), out_type)
    if out_type == "int8":
        return data, _arr(-r), _arr(r)
    return data, lo.copy(), hi.copy()


def quantize_v2(x, out_type="int8", min_calib_range=None, max_calib_range=None):
    calib = min_calib_range is not None and max_calib_range is not None
    if x.dtype in (np.int8, np.uint8):
        same = x.dtype.name
        lo, hi = ((min_calib_range, max_calib_range) if calib else
                  (-127.5, 127.5) if same == "int8" else (0.0, 255.5))
        return x.copy(), _arr(lo), _arr(hi)
    if out_type == "auto":
        out_type = "uint8" if calib and f32(min_calib_range) >= 0 else "int8"
    if calib:
        lo, hi = f32(min_calib_range), f32(max_calib_range)
    else:
        finite = x[~np.isnan(x)]
        lo, hi = finite.min(), finite.max()
    r = _maxabs(lo, hi)
    data = _quantize_all(x, _div(127.5 if out_type == "int8" else 255.5, r), out_type)
    if out_type == "int8":
        return data, _arr(-r), _arr(r)
    return data, _arr(lo), _arr(hi)


def dequantize(x, lo, hi, out_type="float32"):
    scale = _maxabs(lo[0], hi[0]) / f32(127.5 if x.dtype == np.int8 else 255.5)
    return np.array([f32(v) * scale for v in x.ravel()], dtype=np.float32).reshape(x.shape)


def requantize(x, lo, hi, out_type="int8", min_calib_range=None, max_calib_range=None):
    calib = min_calib_range is not None and max_calib_range is not None
    if out_type == "auto":
        out_type = "uint8" if calib and f32(min_calib_range) >= 0 else "int8"
    first = _maxabs(lo[0], hi[0])
    int32_range = f32(2.0 ** 31)
    if calib:
        r = _maxabs(min_calib_range, max_calib_range)
    else:
        r = f32(int(np.max(np.abs(x.astype(np.int64))))) * first / int32_range
    q = f32(127.0 if out_type == "int8" else 255.0)
    scale = (first / int32_range) * _div(q, r)
    data = _quantize_all(x.astype(np.float32), scale, out_type)
    return data, _arr(-r if out_type == "int8" else 0.0), _arr(r)


REFERENCES = {
    "_contrib_quantize": quantize,
    "_contrib_quantize_v2": quantize_v2,
    "_contrib_dequantize": dequantize,
    "_contrib_requantize": requantize,
}
