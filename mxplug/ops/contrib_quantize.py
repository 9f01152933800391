"""MXNet 1.x's contrib quantization ops (``mx.nd.contrib.<name>``), as the MXNet 1.9.1 CPU build
(oneDNN) computes them:

- ``_contrib_quantize(data, min_range, max_range, out_type='uint8')``
- ``_contrib_quantize_v2(data, out_type='int8', min_calib_range=None, max_calib_range=None)``
- ``_contrib_dequantize(data, min_range, max_range, out_type='float32')``
- ``_contrib_requantize(data, min_range, max_range, out_type='int8', min_calib_range=None,
  max_calib_range=None)``

Each quantizing op returns ``(data, min, max)``: the int8/uint8 data and the float32 range (shape
(1,)) it stands for. The rules, all in float32 as MXNet computes them (``r = max(|min|, |max|)``):

- int8 is zero-centred: ``q = saturate(round(x * Q / r))`` into [-128, 127], range ``(-r, r)``;
  uint8 is ``q = saturate(round(x * Q / r))`` into [0, 255] (negatives become 0), with zero at 0,
  not at ``min``. ``round`` is to nearest, ties to even; NaN becomes 127 (int8) or 0 (uint8).
- ``quantize``: Q = 127 (int8) or 255 (uint8); the uint8 range is the given (min, max).
- ``quantize_v2``: Q = 127.5 or 255.5 (MXNet's kInt8Range/kUint8Range); r from the calibration
  range when both ``min_calib_range`` and ``max_calib_range`` are given, else from the data's
  min and max at run time (NaN ignored); the uint8 range is that (min, max). ``out_type='auto'``
  is int8 unless ``min_calib_range`` is given and >= 0. int8/uint8 data is passed through with
  range (-127.5, 127.5) / (0, 255.5) or the calibration range.
- ``dequantize``: ``x = q * (r / Q)``, Q = 127.5 (int8) or 255.5 (uint8), float32.
- ``requantize``: int32 ``q`` stands for ``q * r / 2**31``; it becomes int8 (Q = 127, range
  (-r2, r2)) or uint8 (Q = 255, range (0, r2)), r2 = max(|min_calib|, |max_calib|) or, without
  calibration, the data's largest magnitude as a real value.

No gradient flows through them, as in MXNet. Deliberate differences from MXNet 1.9.1: data
already int8/uint8 is passed to ``quantize_v2`` only as that same type (``out_type`` equal to it
or 'auto'; MXNet reinterprets uint8 bits as int8); and ``requantize`` without calibration takes
the largest magnitude exactly, where MXNet's float-to-int32 conversion of magnitudes >= 2**31 -
64 overflows and flips the signs of its results.
"""
from __future__ import annotations

import numpy as np

from . import infer as I
from .attrs import Enum, OptFloat
from .nn import _s
from .registry import Sample, defop

__all__ = ["quantize", "quantize_v2", "dequantize", "requantize"]

_F32 = np.dtype("float32")
#: out dtype -> (lowest, highest, what NaN becomes: MXNet's oneDNN saturation gives these)
_LIMITS = {"int8": (-128.0, 127.0, 127.0), "uint8": (0.0, 255.0, 0.0)}
#: MXNet's kInt8Range / kUint8Range (quantize_v2, dequantize) and the int32 scale 2**31
_V2_RANGE = {"int8": np.float32(127.5), "uint8": np.float32(255.5)}
_INT32_RANGE = np.float32(2147483647)  # = 2**31 in float32


# -- shared pieces (float32 arrays of shape (1,) for ranges and scales) ---------------------------
def _range_spec():
    return I.Spec((1,), _F32)


def _check_dtype(op, x, name, allowed):
    dt = np.dtype(x.dtype).name
    if dt not in allowed:
        I.expect(False, op, f"{name} of dtype {' or '.join(allowed)}", f"{name}.dtype={dt}")


def _check_range(op, r, name):
    I.expect(tuple(r.shape) == (1,), op, f"{name} of shape (1,)", f"{name}.shape={tuple(r.shape)}")
    _check_dtype(op, r, name, ("float32",))


def _calibrated(lo, hi):
    """MXNet uses a calibration range only when both ends are given (one alone is ignored)."""
    return lo is not None and hi is not None


def _f32(xp, v, like):
    """A float32 (1,) array holding ``v`` on ``like``'s device."""
    return xp.asarray(np.array([v], dtype=_F32), device=like.device)


def _maxabs(xp, lo, hi):
    return xp.maximum(xp.abs(lo), xp.abs(hi))


def _saturate(xp, v, out_type):
    """Float32 ``v`` rounded half to even and saturated into ``out_type``."""
    lo, hi, nan = _LIMITS[out_type]
    r = xp.clip(xp.round(v), lo, hi)
    r = xp.where(xp.isnan(v), xp.full_like(r, nan), r)
    return xp.astype(r, np.dtype(out_type))


def _data_minmax(xp, x, op):
    """The data's min and max as float32 (1,) arrays, NaN ignored."""
    I.expect(x.size > 0, op, "non-empty data (its range is computed at run time)",
             f"data.shape={tuple(x.shape)}")
    nan = xp.isnan(x)
    lo = xp.min(xp.where(nan, xp.full_like(x, np.inf), x))
    hi = xp.max(xp.where(nan, xp.full_like(x, -np.inf), x))
    return xp.reshape(lo, (1,)), xp.reshape(hi, (1,))


def _quantized(xp, x, scale, out_type):
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # r = 0: NaN/inf lanes
        return _saturate(xp, x * scale, out_type)


# -- quantize -------------------------------------------------------------------------------------
def _quantize_infer(x, lo, hi, out_type="uint8"):
    op = "_contrib_quantize"
    _check_dtype(op, x, "data", ("float32",))
    _check_range(op, lo, "min_range")
    _check_range(op, hi, "max_range")
    return I.Spec(tuple(x.shape), np.dtype(out_type)), _range_spec(), _range_spec()


quantize = defop(
    "_contrib_quantize", ("data", "min_range", "max_range"),
    {"out_type": Enum("uint8", "int8")}, infer=_quantize_infer, nout=3, differentiable=False,
    doc="Quantize float32 data with the given range (float32 arrays of shape (1,)): int8 "
        "``round(x * 127 / r)`` saturated into [-128, 127], range (-r, r); uint8 "
        "``round(x * 255 / r)`` saturated into [0, 255], range (min_range, max_range); "
        "r = max(|min_range|, |max_range|), ties to even. Returns (data, min, max).")


@quantize.impl
def _(xp, x, lo, hi, out_type="uint8"):
    _quantize_infer(_s(x), _s(lo), _s(hi), out_type)
    r = _maxabs(xp, lo, hi)
    q = _f32(xp, 127.0 if out_type == "int8" else 255.0, x)
    with np.errstate(divide="ignore"):
        out = _quantized(xp, x, q / r, out_type)
    if out_type == "int8":
        return out, -r, xp.asarray(r, copy=True)
    return out, xp.asarray(lo, copy=True), xp.asarray(hi, copy=True)


# -- quantize_v2 ----------------------------------------------------------------------------------
def _v2_out_type(x_dtype, out_type, lo):
    if np.dtype(x_dtype).name in ("int8", "uint8"):
        return np.dtype(x_dtype).name if out_type == "auto" else out_type
    if out_type == "auto":
        return "uint8" if lo is not None and np.float32(lo) >= 0 else "int8"
    return out_type


def _quantize_v2_infer(x, out_type="int8", min_calib_range=None, max_calib_range=None):
    op = "_contrib_quantize_v2"
    _check_dtype(op, x, "data", ("float32", "int8", "uint8"))
    lo = min_calib_range if _calibrated(min_calib_range, max_calib_range) else None
    out = _v2_out_type(x.dtype, out_type, lo)
    dt = np.dtype(x.dtype).name
    I.expect(dt == "float32" or out == dt, op,
             f"out_type '{dt}' or 'auto' for {dt} data (it is passed through)",
             f"out_type='{out_type}'")
    return I.Spec(tuple(x.shape), np.dtype(out)), _range_spec(), _range_spec()


#: The attributes of the ops that quantize to int8/uint8 by a calibration range.
_CALIBRATED = {"out_type": Enum("int8", "uint8", "auto"), "min_calib_range": OptFloat(None),
               "max_calib_range": OptFloat(None)}


quantize_v2 = defop(
    "_contrib_quantize_v2", ("data",),
    dict(_CALIBRATED),
    infer=_quantize_v2_infer, nout=3, differentiable=False,
    doc="Quantize float32 data to int8 (``round(x * 127.5 / r)`` in [-128, 127], range (-r, r)) "
        "or uint8 (``round(x * 255.5 / r)`` in [0, 255], range (min, max)), ties to even, "
        "r = max(|min|, |max|) of the calibration range if both ends are given, else of the "
        "data. 'auto': uint8 when min_calib_range >= 0, else int8. int8/uint8 data passes "
        "through unchanged. Returns (data, min, max).")


@quantize_v2.impl
def _(xp, x, out_type="int8", min_calib_range=None, max_calib_range=None):
    spec = _quantize_v2_infer(_s(x), out_type, min_calib_range, max_calib_range)[0]
    calib = _calibrated(min_calib_range, max_calib_range)
    out = np.dtype(spec.dtype).name
    if np.dtype(x.dtype).name != "float32":          # already quantized: pass it through
        lo, hi = ((min_calib_range, max_calib_range) if calib else
                  (-127.5, 127.5) if out == "int8" else (0.0, 255.5))
        return xp.asarray(x, copy=True), _f32(xp, lo, x), _f32(xp, hi, x)
    if calib:   # MXNet keeps the calibration range as float32
        lo, hi = _f32(xp, min_calib_range, x), _f32(xp, max_calib_range, x)
    else:
        lo, hi = _data_minmax(xp, x, "_contrib_quantize_v2")
    r = _maxabs(xp, lo, hi)
    with np.errstate(divide="ignore"):
        scale = _f32(xp, _V2_RANGE[out], x) / r
    data = _quantized(xp, x, scale, out)
    if out == "int8":
        return data, -r, r
    return data, lo, hi


# -- dequantize -----------------------------------------------------------------------------------
def _dequantize_infer(x, lo, hi, out_type="float32"):
    op = "_contrib_dequantize"
    _check_dtype(op, x, "data", ("int8", "uint8"))
    _check_range(op, lo, "min_range")
    _check_range(op, hi, "max_range")
    return I.Spec(tuple(x.shape), _F32)


dequantize = defop(
    "_contrib_dequantize", ("data", "min_range", "max_range"), {"out_type": Enum("float32")},
    infer=_dequantize_infer, differentiable=False,
    doc="Float32 values of int8 data (``q * r / 127.5``) or uint8 data (``q * r / 255.5``), "
        "r = max(|min_range|, |max_range|) (float32 arrays of shape (1,)).")


@dequantize.impl
def _(xp, x, lo, hi, out_type="float32"):
    _dequantize_infer(_s(x), _s(lo), _s(hi))
    q = _f32(xp, _V2_RANGE[np.dtype(x.dtype).name], x)
    return xp.astype(x, xp.float32) * (_maxabs(xp, lo, hi) / q)


# -- requantize -----------------------------------------------------------------------------------
def _requantize_out_type(out_type, lo):
    if out_type == "auto":
        return "uint8" if lo is not None and np.float32(lo) >= 0 else "int8"
    return out_type


def _requantize_infer(x, lo, hi, out_type="int8", min_calib_range=None, max_calib_range=None):
    op = "_contrib_requantize"
    _check_dtype(op, x, "data", ("int32",))
    _check_range(op, lo, "min_range")
    _check_range(op, hi, "max_range")
    calib_lo = min_calib_range if _calibrated(min_calib_range, max_calib_range) else None
    out = _requantize_out_type(out_type, calib_lo)
    return I.Spec(tuple(x.shape), np.dtype(out)), _range_spec(), _range_spec()


requantize = defop(
    "_contrib_requantize", ("data", "min_range", "max_range"),
    dict(_CALIBRATED),
    infer=_requantize_infer, nout=3, differentiable=False,
    doc="Requantize int32 data standing for ``q * max(|min_range|, |max_range|) / 2**31`` into "
        "int8 (``round(v * 127 / r)`` in [-128, 127], range (-r, r)) or uint8 "
        "(``round(v * 255 / r)`` in [0, 255], range (0, r)), ties to even; r = "
        "max(|min_calib_range|, |max_calib_range|) if both are given, else the data's largest "
        "magnitude as a real value. 'auto': uint8 when min_calib_range >= 0, else int8.")


@requantize.impl
def _(xp, x, lo, hi, out_type="int8", min_calib_range=None, max_calib_range=None):
    spec = _requantize_infer(_s(x), _s(lo), _s(hi), out_type, min_calib_range,
                             max_calib_range)[0]
    out = np.dtype(spec.dtype).name
    xf = xp.astype(x, xp.float32)
    first = _maxabs(xp, lo, hi)
    big = _f32(xp, _INT32_RANGE, x)
    if _calibrated(min_calib_range, max_calib_range):
        r = _maxabs(xp, _f32(xp, min_calib_range, x), _f32(xp, max_calib_range, x))
    else:
        I.expect(x.size > 0, "_contrib_requantize", "non-empty data (its range is computed at "
                 "run time without min/max_calib_range)", f"data.shape={tuple(x.shape)}")
        r = xp.reshape(xp.max(xp.abs(xf)), (1,)) * first / big
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = (first / big) * (_f32(xp, 127.0 if out == "int8" else 255.0, x) / r)
    data = _quantized(xp, xf, scale, out)
    return data, (-r if out == "int8" else xp.zeros_like(r)), r


# min_range / max_range are (1,) whatever the data: Symbol shape inference fills them in, as
# MXNet's does. Only for quantize: inference gives a filled variable the data's dtype, which is
# float32 only there (dequantize/requantize ranges must be given or declared, float32).
quantize.params(lambda *specs, **attrs: {1: (1,), 2: (1,)})


# -- samples (float32 only: MXNet's quantize ops take no other float type) ------------------------
def _rng_range(lo, hi):
    return np.array([lo], dtype=np.float32), np.array([hi], dtype=np.float32)


def _halves(rng, n, scale):
    """float32 data with exact ties ``k + 0.5`` after scaling, NaN/inf and saturating values."""
    ties = (np.arange(-4, 4) + 0.5) / scale
    x = np.concatenate([rng.uniform(-1.2, 1.2, n), ties, [np.nan, np.inf, -np.inf, 0.0]])
    return x.astype(np.float32)


quantize.samples(
    lambda rng: Sample(_halves(rng, 12, 127.0), *_rng_range(-1.0, 1.0), out_type="int8",
                       fixed_dtype=True),
    lambda rng: Sample(_halves(rng, 12, 85.0), *_rng_range(-3.0, 2.0), fixed_dtype=True),
    lambda rng: Sample(rng.uniform(-2, 2, (3, 4)).astype(np.float32), *_rng_range(0.5, -1.5),
                       out_type="int8", fixed_dtype=True),
)
quantize_v2.samples(
    lambda rng: Sample(_halves(rng, 12, 127.5), min_calib_range=-1.0, max_calib_range=1.0,
                       fixed_dtype=True),
    lambda rng: Sample(rng.uniform(-2, 1.5, (4, 5)).astype(np.float32), fixed_dtype=True),
    lambda rng: Sample(rng.uniform(-0.5, 3, (4, 5)).astype(np.float32), out_type="uint8",
                       fixed_dtype=True),
    lambda rng: Sample(rng.uniform(-1, 1, (2, 3, 4)).astype(np.float32), out_type="auto",
                       min_calib_range=0.0, max_calib_range=0.7, fixed_dtype=True),
    lambda rng: Sample(rng.integers(-128, 128, (3, 4)).astype(np.int8), out_type="auto"),
)
dequantize.samples(
    lambda rng: Sample(rng.integers(-128, 128, (3, 5)).astype(np.int8), *_rng_range(-1.0, 2.5),
                       fixed_dtype=True),
    lambda rng: Sample(rng.integers(0, 256, (4, 4)).astype(np.uint8), *_rng_range(-3.0, 2.0),
                       fixed_dtype=True),
)
requantize.samples(
    lambda rng: Sample(rng.integers(-2**30, 2**30, (4, 6)).astype(np.int32),
                       *_rng_range(-2.0, 3.0), fixed_dtype=True),
    lambda rng: Sample(rng.integers(-2**24, 2**24, (4, 6)).astype(np.int32),
                       *_rng_range(-2.0, 3.0), min_calib_range=-0.01, max_calib_range=0.02,
                       fixed_dtype=True),
    lambda rng: Sample(rng.integers(-2**20, 2**20, (20,)).astype(np.int32),
                       *_rng_range(-1.0, 1.0), out_type="auto", min_calib_range=0.0,
                       max_calib_range=1e-4, fixed_dtype=True),
    lambda rng: Sample(rng.integers(-2**20, 2**20, (20,)).astype(np.int32),
                       *_rng_range(-1.0, 1.0), out_type="uint8", fixed_dtype=True),
)
