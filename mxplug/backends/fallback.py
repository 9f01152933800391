"""Opt-in host fallback: an op a backend lacks runs with NumPy on host copies, with a warning.

Enabled by ``MXPLUG_HOST_FALLBACK=1`` or :func:`enable`; every fallback call is counted in
:data:`COUNTS` so a coverage report can show what did not run natively.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter

import numpy as np

from ..base import MXNetNotImplementedError

COUNTS: Counter = Counter()
_enabled = os.environ.get("MXPLUG_HOST_FALLBACK", "") not in ("", "0")


def enable(on: bool = True) -> None:
    global _enabled
    _enabled = on


def enabled() -> bool:
    return _enabled


def make(backend, op):
    if not _enabled or op.generic is None:
        return None
    warned = []

    def run(*args, **attrs):
        if not _enabled:  # switched off after this callable was cached by Op.resolve
            raise MXNetNotImplementedError(
                f"op {op.name} is not implemented by backend {backend.name!r}; set "
                f"MXPLUG_HOST_FALLBACK=1 to run it on the host")
        key = (backend.name, op.name)
        COUNTS[key] += 1
        if not warned:
            warned.append(True)
            warnings.warn(
                f"op {op.name} runs on the host: backend {backend.name!r} has no kernel for it",
                RuntimeWarning,
                stacklevel=3,
            )
        host = [backend.to_numpy(a) if not isinstance(a, (int, float, bool)) else a for a in args]
        out = op.generic(np, *host, **attrs)
        dev = attrs.get("ctx")
        did = dev.device_id if dev is not None else 0
        if isinstance(out, tuple):
            return tuple(backend.asarray(o, o.dtype, did) for o in out)
        return backend.asarray(out, out.dtype, did)

    return run
