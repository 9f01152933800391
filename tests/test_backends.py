"""Backend plugins: listing, entry-point discovery of third-party plugins, broken and absent
plugins, host fallback, coverage and resolution caching. Global registry state is always
restored."""
from __future__ import annotations

import sys
import textwrap
import warnings

import numpy as np
import pytest

import mxplug as mx
from mxplug.backends import fallback, registry
from mxplug.base import MXNetError, MXNetNotImplementedError
from mxplug.ops import REGISTRY, Op

# A third-party plugin as its own module: it implements the protocol without importing mxplug.
TESTDEV_SRC = '''
import numpy as np

class TestDevBackend:
    name = "testbe"
    device_type = "testdev"
    xp = np
    dtypes = ("float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool")

    def __init__(self):
        self.synced = []

    def available(self):
        return None

    def num_devices(self):
        return 2

    def describe(self):
        return {"version": "testbe 1.0", "devices": ["dev0", "dev1"]}

    def asarray(self, obj, dtype, device_id):
        return np.array(obj, dtype=dtype, copy=True)

    def to_numpy(self, a):
        return np.array(a, copy=True)

    def copy_to(self, a, other, device_id):
        return other.asarray(np.array(a, copy=True), a.dtype, device_id)

    def setitem(self, a, key, value):
        a[key] = value

    def synchronize(self, device_id):
        self.synced.append(device_id)

    def kernel(self, op_name):
        return None

    def host_fallback(self, op):
        return None
'''

BROKEN_SRC = '''
raise RuntimeError("boom: the device library is missing")
'''

ABSENT_SRC = '''
import numpy as np
from mxplug.backends import BackendBase

class AbsentBackend(BackendBase):
    name = "absentbe"
    device_type = "absentdev"
    xp = np

    def available(self):
        return "driver libabsent.so not found"

    def num_devices(self):
        return 0

    def asarray(self, obj, dtype, device_id):
        return np.array(obj, dtype=dtype)

    def to_numpy(self, a):
        return np.array(a)
'''

KERNONLY_SRC = '''
import numpy as np
from mxplug.backends import BackendBase

class KernOnly(BackendBase):
    """Kernels only (xp=None): it runs ``negative`` natively and nothing else."""
    name = "kernonly"
    device_type = "kerndev"

    def num_devices(self):
        return None

    def asarray(self, obj, dtype, device_id):
        return np.array(obj, dtype=dtype, copy=True)

    def to_numpy(self, a):
        return np.array(a, copy=True)

    def kernel(self, op_name):
        if op_name == "negative":
            return lambda be, x: -x
        return None
'''


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """Install plugin modules in tmp_path and register them as if found through entry points."""
    added_names, added_mods = [], []
    registry.entry_points()                      # make sure _eps is populated
    monkeypatch.syspath_prepend(str(tmp_path))

    def install(name, module, source, cls):
        (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
        monkeypatch.setitem(registry._eps, name, f"{module}:{cls}")
        added_names.append(name)
        added_mods.append(module)

    yield install
    for name in added_names:
        be = registry._loaded.pop(name, None)
        if be is not None and not isinstance(be, str):
            for op in set(REGISTRY.values()):
                op._resolved.pop(be, None)
            for key in [k for k, c in mx.Context._interned.items()
                        if c.device_type == be.device_type]:
                del mx.Context._interned[key]
    for m in added_mods:
        sys.modules.pop(m, None)


@pytest.fixture
def testdev(plugins):
    plugins("testbe", "mxplug_test_testdev_plugin", TESTDEV_SRC, "TestDevBackend")
    return mx.Context("testdev", 0)


@pytest.fixture
def kerndev(plugins):
    plugins("kernonly", "mxplug_test_kernonly_plugin", KERNONLY_SRC, "KernOnly")
    return mx.Context("kerndev", 0)


@pytest.fixture
def fallback_state():
    """Save and restore the host-fallback switch and counters."""
    was, counts = fallback.enabled(), fallback.COUNTS.copy()
    yield
    fallback.enable(was)
    fallback.COUNTS.clear()
    fallback.COUNTS.update(counts)


# -- listing -----------------------------------------------------------------------------------
def test_list_has_available_numpy_row():
    rows = mx.backends.list()
    assert all(isinstance(r, mx.backends.BackendInfo) for r in rows)
    numpy_rows = [r for r in rows if r.name == "numpy"]
    assert len(numpy_rows) == 1
    row = numpy_rows[0]
    assert row.available and row.reason is None
    assert row.device_type == "cpu"
    assert row.line().startswith("numpy available")
    assert np.__version__ in row.line()


def test_unavailable_rows_say_why():
    rows = mx.backends.list()
    for r in rows:
        if not r.available:
            assert r.reason
            assert r.line().startswith(f"{r.name} unavailable: ")
    # every built-in device type has a row, served or not
    assert {"cpu", "gpu", "opencl"} <= {r.device_type for r in rows}


def test_get_numpy_backend_satisfies_protocol():
    be = mx.backends.get("numpy")
    assert isinstance(be, mx.backends.Backend)
    assert be.name == "numpy" and be.device_type == "cpu" and be.xp is np
    assert mx.cpu().backend is be


def test_get_unknown_backend_raises():
    with pytest.raises(MXNetError) as ei:
        mx.backends.get("no_such_backend_xyz")
    assert "no_such_backend_xyz" in str(ei.value)
    registry._loaded.pop("no_such_backend_xyz", None)


# -- third-party plugin ------------------------------------------------------------------------
def test_plugin_is_discovered_and_listed(testdev):
    row = next(r for r in mx.backends.list() if r.name == "testbe")
    assert row.available and row.device_type == "testdev"
    assert row.line().startswith("testbe available")
    assert "testbe 1.0" in row.line() and "[dev0]" in row.line()
    assert isinstance(mx.backends.get("testbe"), mx.backends.Backend)
    assert testdev.backend is mx.backends.get("testbe")
    assert testdev.device_typeid >= 16


def test_plugin_context_and_arrays(testdev):
    assert str(testdev) == "testdev(0)"
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    x = mx.nd.array(a, ctx=testdev)
    assert x.context is testdev
    assert x.dtype is np.float32
    np.testing.assert_array_equal(x.asnumpy(), a)
    z = mx.nd.zeros((2, 2), ctx=testdev)
    assert z.context is testdev
    with testdev:
        o = mx.nd.ones((3,))
    assert o.context is testdev


def test_plugin_ops_run_through_generic_path(testdev):
    be = testdev.backend
    a = np.array([[1.0, -2.0], [3.0, 0.5]], dtype=np.float32)
    x = mx.nd.array(a, ctx=testdev)
    y = mx.nd.exp(x) + x * 2
    assert y.context is testdev
    np.testing.assert_allclose(y.asnumpy(), np.exp(a) + a * 2, rtol=1e-6)
    s = mx.nd.sum(x, axis=1)
    np.testing.assert_allclose(s.asnumpy(), a.sum(axis=1))
    assert x[1].context is testdev
    np.testing.assert_array_equal(x[1].asnumpy(), a[1])
    for name in ("add", "exp", "sum", "erf"):
        assert REGISTRY[name].coverage(be) == "generic"
    assert be in REGISTRY["exp"]._resolved


def test_plugin_as_in_context_copies_back(testdev):
    x = mx.nd.array([1, 2, 3], ctx=testdev)
    y = x.as_in_context(mx.cpu())
    assert y.context is mx.cpu()
    np.testing.assert_array_equal(y.asnumpy(), [1, 2, 3])
    assert not np.shares_memory(y.data, x.data)
    back = y.as_in_context(testdev)
    assert back.context is testdev
    np.testing.assert_array_equal(back.asnumpy(), [1, 2, 3])


def test_plugin_mixed_context_error(testdev):
    with pytest.raises(MXNetError) as ei:
        mx.nd.ones((2,), ctx=testdev) + mx.nd.ones((2,))
    msg = str(ei.value)
    assert "testdev(0)" in msg and "cpu(0)" in msg and "add" in msg


def test_plugin_device_count_is_checked(testdev):
    with pytest.raises(MXNetError) as ei:
        mx.nd.zeros((1,), ctx=mx.Context("testdev", 5))
    assert "testdev(5)" in str(ei.value)


def test_plugin_waitall_synchronizes(testdev):
    mx.nd.zeros((1,), ctx=testdev)
    be = testdev.backend
    n = len(be.synced)
    mx.nd.waitall()
    assert len(be.synced) == n + 1


def test_broken_plugin_is_listed_and_harmless(plugins):
    plugins("brokenbe", "mxplug_test_broken_plugin", BROKEN_SRC, "Whatever")
    rows = mx.backends.list()
    row = next(r for r in rows if r.name == "brokenbe")
    assert not row.available
    assert "boom: the device library is missing" in row.reason
    assert "RuntimeError" in row.reason
    assert row.line().startswith("brokenbe unavailable: ")
    assert any(r.name == "numpy" and r.available for r in rows)
    with pytest.raises(MXNetError) as ei:
        mx.backends.get("brokenbe")
    assert "boom" in str(ei.value)
    # the rest of mxplug keeps working
    np.testing.assert_array_equal((mx.nd.ones((2,)) + 1).asnumpy(), [2, 2])
    assert mx.Context("cpu", 3) == mx.cpu(3)
    with pytest.raises(MXNetError):
        mx.Context("brokendev", 0)


def test_broken_plugin_does_not_break_import(tmp_path):
    """A plugin that fails at import time, installed before ``import mxplug``."""
    import subprocess
    from pathlib import Path
    (tmp_path / "mxplug_test_broken_plugin2.py").write_text(BROKEN_SRC)
    root = str(Path(__file__).resolve().parents[1])
    code = textwrap.dedent("""
        import importlib.metadata as md
        real = md.entry_points
        class EP:
            name, value, group = "brokenbe2", "mxplug_test_broken_plugin2:X", "mxplug.backends"
        def fake(**kw):
            return [EP()] if kw.get("group") == "mxplug.backends" else real(**kw)
        md.entry_points = fake
        import mxplug as mx
        lines = [r.line() for r in mx.backends.list()]
        print("\\n".join(lines))
        print((mx.nd.ones((2,)) * 3).asnumpy().tolist())
    """)
    import os
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), root])}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=120, cwd=root)
    assert r.returncode == 0, r.stderr
    assert any(ln.startswith("brokenbe2 unavailable: ") and "boom" in ln
               for ln in r.stdout.splitlines())
    assert "[3.0, 3.0]" in r.stdout


def test_unavailable_plugin_context_raises_with_reason(plugins):
    plugins("absentbe", "mxplug_test_absent_plugin", ABSENT_SRC, "AbsentBackend")
    ctx = mx.Context("absentdev", 0)               # the device type is known ...
    with pytest.raises(MXNetError) as ei:          # ... but it cannot hold arrays
        mx.nd.zeros((2,), ctx=ctx)
    msg = str(ei.value)
    assert "driver libabsent.so not found" in msg
    assert "absentdev(0)" in msg
    row = next(r for r in mx.backends.list() if r.name == "absentbe")
    assert row.line().startswith("absentbe unavailable: driver libabsent.so not found")
    with pytest.raises(MXNetError) as ei:
        mx.backends.get("absentbe")
    assert "driver libabsent.so not found" in str(ei.value)


# -- kernels-only backends and host fallback ---------------------------------------------------
def test_kernels_only_backend_missing_op(kerndev, fallback_state):
    fallback.enable(False)
    x = mx.nd.array([1.0, 2.0], ctx=kerndev)
    with pytest.raises(MXNetNotImplementedError) as ei:
        mx.nd.exp(x)
    assert isinstance(ei.value, MXNetError) and isinstance(ei.value, NotImplementedError)
    msg = str(ei.value)
    assert "exp" in msg and "kernonly" in msg
    # its own kernel runs natively
    y = -x
    assert y.context is kerndev
    np.testing.assert_array_equal(y.asnumpy(), [-1, -2])


def test_kernels_only_backend_host_fallback(kerndev, fallback_state):
    be = kerndev.backend
    fallback.enable(True)
    x = mx.nd.array([0.0, 1.0], ctx=kerndev)
    before = fallback.COUNTS[("kernonly", "exp")]
    with pytest.warns(RuntimeWarning, match="exp"):
        y = mx.nd.exp(x)
    assert y.context is kerndev
    np.testing.assert_allclose(y.asnumpy(), np.exp([0.0, 1.0]), rtol=1e-6)
    assert fallback.COUNTS[("kernonly", "exp")] == before + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mx.nd.exp(x)
    assert fallback.COUNTS[("kernonly", "exp")] == before + 2
    # creation ops fall back too, on the requested device
    with pytest.warns(RuntimeWarning):
        z = mx.nd.ones((2,), ctx=kerndev)
    assert z.context is kerndev
    np.testing.assert_array_equal(z.asnumpy(), [1, 1])
    assert REGISTRY["exp"].coverage(be) == "host-fallback"


def test_disabling_fallback_takes_effect_again(kerndev, fallback_state):
    """After ``enable(False)`` an op that fell back before must raise again, not keep falling back
    silently through the resolution cache."""
    x = mx.nd.array([0.0, 1.0], ctx=kerndev)
    fallback.enable(True)
    with pytest.warns(RuntimeWarning):
        mx.nd.exp(x)
    fallback.enable(False)
    with pytest.raises(MXNetNotImplementedError):
        mx.nd.exp(x)


def test_coverage(kerndev, fallback_state):
    numpy_be = mx.cpu().backend
    kbe = kerndev.backend
    assert REGISTRY["add"].coverage(numpy_be) == "native"        # NumPy ufunc kernel
    assert REGISTRY["exp"].coverage(numpy_be) == "generic"
    assert REGISTRY["negative"].coverage(kbe) == "native"        # the backend's kernel()
    fallback.enable(False)
    assert REGISTRY["exp"].coverage(kbe) == "missing"
    fallback.enable(True)
    assert REGISTRY["exp"].coverage(kbe) == "host-fallback"
    comp = Op("test_composite_op_xyz")
    comp.compose(lambda x: x)
    assert comp.coverage(numpy_be) == "composite"
    assert comp.coverage(kbe) == "composite"
    empty = Op("test_empty_op_xyz")
    assert empty.coverage(numpy_be) == "missing"
    with pytest.raises(MXNetNotImplementedError):
        empty.resolve(numpy_be)


def test_resolution_is_cached():
    be = mx.cpu().backend
    op = REGISTRY["exp"]
    mx.nd.exp(mx.nd.ones((2,)))
    assert be in op._resolved
    fn = op._resolved[be]
    assert op.resolve(be) is fn
    mx.nd.exp(mx.nd.ones((3,)))
    assert op._resolved[be] is fn


def test_registering_impl_invalidates_cache():
    be = mx.cpu().backend
    op = Op("test_cache_op_xyz", ("data",))
    op.impl(lambda xp, x: x + 1)
    first = op.resolve(be)
    assert be in op._resolved
    op.impl(lambda xp, x: x + 2)
    assert be not in op._resolved
    second = op.resolve(be)
    assert second is not first
    np.testing.assert_array_equal(second(np.zeros(2)), [2, 2])
    op.kernel("numpy")(lambda backend, x: x * 10)
    assert op.coverage(be) == "native"
    np.testing.assert_array_equal(op.resolve(be)(np.ones(2)), [10, 10])


def test_numpy_backend_malloc_tuning(monkeypatch):
    """glibc keeps freed big buffers (fewer page faults per step) unless told not to."""
    import sys

    from mxplug.backends.numpy import MALLOC_TUNING_ENV, tune_malloc
    monkeypatch.setenv(MALLOC_TUNING_ENV, "0")
    assert tune_malloc() is False
    monkeypatch.delenv(MALLOC_TUNING_ENV)
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "1000000")  # the user's own glibc setting wins
    assert tune_malloc() is False
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_")
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    if sys.platform.startswith("linux"):
        import platform
        if platform.libc_ver()[0] == "glibc":
            assert tune_malloc() is True
