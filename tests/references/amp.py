"""Independent NumPy references for the mixed-precision ops (``mxplug/ops/amp_ops.py``), from
MXNet 1.x's documented rules: casts touch only float16/bfloat16/float32 inputs."""

from __future__ import annotations

import numpy as np

_AMP = ("float16", "bfloat16", "float32")


def _amp_cast(x, dtype=None):
    return x.astype(dtype) if x.dtype.name in _AMP else x.copy()


def _amp_multicast(*xs, num_outputs=0, cast_narrow=False):
    names = [x.dtype.name for x in xs if x.dtype.name in _AMP]
    sizes = {"float16": 2, "bfloat16": 2, "float32": 4}
    if not names:
        target = None
    elif cast_narrow:
        target = min(names, key=lambda n: (sizes[n], n != "float16"))
    elif len(set(names)) == 1:
        target = names[0]
    else:
        target = "float32"  # two different dtypes: float32 holds both 2-byte floats
    outs = tuple(x.astype(target) if x.dtype.name in _AMP else x.copy() for x in xs)
    return outs if len(outs) > 1 else outs[0]


def _all_finite(*xs, **attrs):
    ok = all(bool(np.isfinite(x.astype(np.float64)).all()) for x in xs)
    return np.array([1.0 if ok else 0.0], dtype=np.float32)


REFERENCES = {
    "amp_cast": _amp_cast,
    "amp_multicast": _amp_multicast,
    "all_finite": _all_finite,
    "multi_all_finite": _all_finite,
}
