"""Helpers shared by the autograd test modules."""

from __future__ import annotations

import numpy as np

import mxplug as mx

RTOL, ATOL = 1e-6, 1e-8


def arr(a, dtype="float64"):
    """An NDArray on the test's default context (the ``ctx`` fixture makes it the default)."""
    return mx.nd.array(np.asarray(a), dtype=dtype)


def var(a, grad_req="write", dtype="float64"):
    x = arr(a, dtype)
    x.attach_grad(grad_req=grad_req)
    return x


def close(got, want, rtol=RTOL, atol=ATOL):
    got = got.asnumpy() if hasattr(got, "asnumpy") else np.asarray(got)
    np.testing.assert_allclose(got, np.asarray(want, dtype=np.float64), rtol=rtol, atol=atol)
