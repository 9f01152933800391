"""Test parametrisation over every available backend.

A test that takes ``backend`` (a backend name) or ``ctx`` (a Context) runs once per backend that
is available on this machine, narrowed by ``MXPLUG_TEST_BACKENDS=numpy,opencl``; ids are the
backend names.

With ``array-api-strict`` installed (it is in ``mxplug[test]``), the ``array_api_strict`` backend
(contexts ``strict(i)``, see ``mxplug/backends/array_api.py``) is one of them: every generic op
body, gradient rule and Gluon layer also runs on the strictest Array API namespace. No test is
excluded for it; what the standard cannot express runs through the adapter's documented host
paths instead (``ArrayAPIBackend.host_ops``, ``array_api.HOST_PATHS``).
"""

from __future__ import annotations

import os

import pytest

import mxplug as mx


def _available_backends():
    wanted = os.environ.get("MXPLUG_TEST_BACKENDS")
    rows = [b for b in mx.backends.list() if b.available]
    if wanted:
        names = {w.strip() for w in wanted.split(",") if w.strip()}
        rows = [b for b in rows if b.name in names]
    return rows


BACKENDS = _available_backends()


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames or "ctx" in metafunc.fixturenames:
        names = [b.name for b in BACKENDS]
        metafunc.parametrize("backend", names, ids=names, scope="session")


@pytest.fixture
def ctx(backend):
    """The device-0 context of ``backend``, also made the default for the test."""
    info = next(b for b in BACKENDS if b.name == backend)
    c = mx.Context(info.device_type, 0)
    with c:
        yield c


@pytest.fixture
def rng():
    """A seeded NumPy generator (tests may define their own ``rng`` to override it)."""
    import numpy as np
    return np.random.default_rng(1234)
