"""Contexts: identity, printing, ``with ctx:``, the thread-local default, the env default."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import mxplug as mx
from mxplug.base import MXNetError

ROOT = str(Path(__file__).resolve().parents[1])


def _run(code, **env):
    full = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), **env}
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def _gpu_available():
    return any(b.available and b.device_type == "gpu" for b in mx.backends.list())


# -- identity ----------------------------------------------------------------------------------
def test_constructors_and_equality():
    assert mx.cpu() == mx.cpu(0) == mx.Context("cpu", 0) == mx.Context("cpu")
    assert mx.gpu(1) == mx.Context("gpu", 1)
    assert mx.opencl(0) == mx.Context("opencl", 0)
    assert mx.cpu(0) != mx.cpu(1)
    assert mx.cpu(0) != mx.gpu(0)
    assert mx.gpu(0) != mx.opencl(0)
    assert mx.cpu(0) != "cpu(0)"


def test_interning():
    assert mx.cpu() is mx.Context("cpu", 0)
    assert mx.gpu(3) is mx.gpu(3)
    assert mx.Context(mx.opencl(1)) is mx.opencl(1)
    assert len({mx.cpu(0), mx.Context("cpu", 0), mx.cpu(1)}) == 2


def test_attributes_and_str():
    c = mx.gpu(2)
    assert c.device_type == "gpu" and c.device_id == 2
    assert str(mx.cpu()) == "cpu(0)"
    assert repr(mx.cpu(1)) == "cpu(1)"
    assert str(mx.gpu(2)) == "gpu(2)"
    assert str(mx.opencl(0)) == "opencl(0)"


def test_device_typeid():
    # MXNet's numeric ids: cpu 1, gpu 2
    assert mx.cpu().device_typeid == 1
    assert mx.gpu().device_typeid == 2
    assert isinstance(mx.opencl().device_typeid, int)
    assert mx.opencl().device_typeid not in (1, 2)


def test_mxnets_host_memory_kinds_are_the_cpu():
    # page-locked and shared memory are plain NumPy memory here
    assert mx.Context("cpu_pinned", 1) is mx.cpu(1) and mx.cpu_pinned(2) is mx.cpu(2)
    assert mx.Context("cpu_shared", 0) is mx.cpu(0)
    assert mx.nd.array([1.0], ctx=mx.Context("cpu_shared", 0)).context == mx.cpu(0)


def test_default_ctx_class_property_is_deprecated_but_works():
    with pytest.warns(DeprecationWarning, match="default_ctx has been deprecated"):
        assert mx.Context.default_ctx == mx.current_context()
    with mx.cpu(3):
        with pytest.warns(DeprecationWarning):
            mx.Context.default_ctx = mx.cpu(4)
        assert mx.current_context() == mx.cpu(4)
    assert mx.current_context() == mx.cpu(0)


def test_pickle_keeps_identity():
    import pickle
    assert pickle.loads(pickle.dumps(mx.gpu(1))) is mx.gpu(1)


# -- errors ------------------------------------------------------------------------------------
def test_unknown_device_type():
    with pytest.raises(MXNetError) as ei:
        mx.Context("foo", 0)
    assert "foo" in str(ei.value)


@pytest.mark.parametrize("make", [lambda: mx.cpu(-1), lambda: mx.gpu(-2),
                                  lambda: mx.Context("opencl", -1)])
def test_negative_device_id(make):
    with pytest.raises(MXNetError) as ei:
        make()
    assert isinstance(ei.value, ValueError)


@pytest.mark.parametrize("bad", [1.0, "0", True, None, 2.5])
def test_device_id_must_be_int(bad):
    # Whether the check runs must not depend on an equal context having been made before
    # (1.0 == 1 == True hash alike, so the interning lookup must not bypass validation).
    mx.cpu(1)
    with pytest.raises(MXNetError):
        mx.Context("cpu", bad)


def test_device_type_must_be_str():
    with pytest.raises(MXNetError):
        mx.Context(1, 0)


def test_num_gpus():
    n = mx.context.num_gpus()
    assert isinstance(n, int) and n >= 0
    assert mx.num_gpus() == n


def test_gpu_array_without_gpu_backend_raises_with_reason():
    if _gpu_available():
        pytest.skip("a GPU backend is available on this machine, so gpu(0) arrays work")
    with pytest.raises(MXNetError) as ei:
        mx.nd.zeros((2,), ctx=mx.gpu(0))
    msg = str(ei.value)
    assert "gpu(0)" in msg
    assert "mxplug info" in msg
    assert "cupy" in msg
    with pytest.raises(MXNetError):
        mx.nd.array([1, 2], ctx=mx.gpu(0))
    assert mx.context.num_gpus() == 0


def test_copy_to_gpu_without_gpu_backend_raises():
    if _gpu_available():
        pytest.skip("a GPU backend is available on this machine")
    with pytest.raises(MXNetError) as ei:
        mx.nd.ones((2,)).as_in_context(mx.gpu(0))
    assert "mxplug info" in str(ei.value)


# -- default context ---------------------------------------------------------------------------
def test_with_sets_and_restores_current_context():
    base = mx.current_context()
    assert base == mx.cpu(0)
    with mx.cpu(1) as c:
        assert c is mx.cpu(1)
        assert mx.current_context() is mx.cpu(1)
        with mx.cpu(2):
            assert mx.current_context() is mx.cpu(2)
        assert mx.current_context() is mx.cpu(1)
    assert mx.current_context() is base


def test_with_restores_after_exception():
    base = mx.current_context()
    with pytest.raises(RuntimeError):
        with mx.cpu(3):
            raise RuntimeError("x")
    assert mx.current_context() is base


def test_with_gpu_context_without_gpu_does_not_raise_until_used():
    with mx.gpu(0):
        assert mx.current_context() == mx.gpu(0)
    assert mx.current_context() == mx.cpu(0)


def test_default_context_is_thread_local():
    seen = {}

    def worker():
        seen["ctx"] = mx.current_context()
        with mx.cpu(7):
            seen["inner"] = mx.current_context()

    with mx.cpu(5):
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert mx.current_context() is mx.cpu(5)
    assert seen["ctx"] is mx.cpu(0)
    assert seen["inner"] is mx.cpu(7)


def test_arrays_in_thread_use_thread_default():
    out = {}

    def worker():
        out["ctx"] = mx.nd.zeros((1,)).context

    with mx.cpu(4):
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert mx.nd.zeros((1,)).context is mx.cpu(4)
    assert out["ctx"] is mx.cpu(0)


@pytest.mark.parametrize("value, expected", [("cpu:0", "cpu(0)"), ("cpu(1)", "cpu(1)"),
                                             ("cpu", "cpu(0)"), ("cpu:2", "cpu(2)")])
def test_env_default_context(value, expected):
    r = _run("import mxplug as mx; print(mx.current_context()); "
             "print(mx.nd.zeros((1,)).context)", MXPLUG_DEFAULT_CONTEXT=value)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [expected, expected]


@pytest.mark.parametrize("value", ["bogus:0", "cpu:x", "cpu:-1"])
def test_env_default_context_invalid(value):
    r = _run("import mxplug as mx\nprint('imported')\nmx.current_context()",
             MXPLUG_DEFAULT_CONTEXT=value)
    assert r.returncode != 0
    assert "imported" in r.stdout          # import itself never fails on a bad default
    assert "MXPLUG_DEFAULT_CONTEXT" in r.stderr
    assert "MXNetValueError" in r.stderr or "MXNetError" in r.stderr


def test_env_default_gpu_without_gpu_reports_when_used():
    if _gpu_available():
        pytest.skip("a GPU backend is available on this machine")
    r = _run("import mxplug as mx\nprint(mx.current_context())\nmx.nd.zeros((1,))",
             MXPLUG_DEFAULT_CONTEXT="gpu:0")
    assert r.stdout.split() == ["gpu(0)"]
    assert r.returncode != 0
    assert "mxplug info" in r.stderr
