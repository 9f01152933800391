"""Helpers shared by the test modules of the OpenCL array namespace (``xp``)."""

from __future__ import annotations

import numpy as np
import pytest

try:
    from mxplug.backends.opencl import OpenCLBackend

    backend = OpenCLBackend()
    _why = backend.available()
except Exception as e:  # pragma: no cover - import problems are a skip reason too
    backend = None
    _why = f"{type(e).__name__}: {e}"

#: ``pytestmark`` of a module that needs the OpenCL backend (skipped, with the reason, without)
needs_opencl = pytest.mark.skipif(_why is not None, reason=f"OpenCL backend unavailable: {_why}")


def namespace():
    """The OpenCL array namespace, its default device started (a module's ``xp`` fixture)."""
    backend.runtime(0)
    return backend.xp


def dev(xp, a):
    """``a`` copied to opencl(0)."""
    return xp.asarray(np.asarray(a), device=backend.runtime(0))
