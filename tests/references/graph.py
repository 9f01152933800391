"""References for the graph layer's internal ops: ``_constant`` and ``_fused_elemwise`` (the
program is evaluated op by op with the elementwise references of ``core.py``)."""

from __future__ import annotations

import numpy as np

import mxplug.graph.passes  # noqa: F401  (registers _constant and _fused_elemwise)

from .core import REFERENCES as _CORE


def _constant(value=None, ctx=None, dtype=None):
    v = np.asarray(value, dtype=dtype)
    return v.reshape(v.shape or (1,))


def _fused(*xs, program=()):
    vals = []
    for name, args, attrs in program:
        ops = [xs[v] if kind == "i" else vals[v] if kind == "t" else v for kind, v in args]
        vals.append(np.asarray(_CORE[name](*ops, **dict(attrs))))
    return vals[-1]


REFERENCES = {"_constant": _constant, "_fused_elemwise": _fused}
