"""The OpenCL backend itself: discovery, devices, dtypes, transfers, views, memory, build errors.

Op values and gradients on OpenCL are checked by the generic suites (tests/test_ops.py,
tests/test_grad_ops.py), which run on every available backend.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import mxplug as mx
from mxplug.backends import registry

_be = registry.load("opencl")
_why = _be if isinstance(_be, str) else _be.available()
pytestmark = pytest.mark.skipif(_why is not None, reason=f"OpenCL backend unavailable: {_why}")


@pytest.fixture
def cl():
    return mx.opencl(0)


def test_info_lists_the_device_with_fp64_and_memory():
    row = next(b for b in mx.backends.list() if b.name == "opencl")
    assert row.available and row.device_type == "opencl"
    assert row.devices and "fp64" in row.devices[0] and "GiB" in row.devices[0]
    assert row.line().startswith("opencl available")


def test_round_trip_and_dtypes(cl):
    for dt in ("float32", "float64", "int32", "int64", "int8", "uint8", "bool"):
        src = (np.arange(12).reshape(3, 4) % 3).astype(dt)
        x = mx.nd.array(src, ctx=cl, dtype=dt)
        assert x.context == cl and x.dtype == np.dtype(dt).type
        np.testing.assert_array_equal(x.asnumpy(), src)


def test_dtype_the_device_lacks_is_a_clear_error(cl):
    if "float16" in _be.dtypes:
        pytest.skip("this OpenCL device supports float16")
    with pytest.raises(mx.base.MXNetTypeError, match="opencl.*float16"):
        mx.nd.array([1.0], ctx=cl, dtype="float16")


def test_copies_between_cpu_and_opencl(cl):
    a = mx.nd.array([[1.0, 2.0], [3.0, 4.0]])
    b = a.as_in_context(cl)
    assert b.context == cl
    c = b.copyto(mx.cpu())
    np.testing.assert_array_equal(c.asnumpy(), a.asnumpy())
    d = mx.nd.zeros((2, 2), ctx=cl)
    a.copyto(d)
    np.testing.assert_array_equal(d.asnumpy(), a.asnumpy())


def test_mixing_contexts_is_an_error(cl):
    with pytest.raises(mx.MXNetError, match="different contexts"):
        mx.nd.ones((2,), ctx=cl) + mx.nd.ones((2,))


def test_views_compute_without_copies(cl):
    src = np.arange(24.0).reshape(2, 3, 4)
    x = mx.nd.array(src, ctx=cl)
    np.testing.assert_array_equal(x.T.asnumpy(), src.T)
    np.testing.assert_array_equal(mx.nd.flip(x, axis=2).asnumpy(), src[:, :, ::-1])
    np.testing.assert_array_equal((x[1] * 2).asnumpy(), src[1] * 2)
    np.testing.assert_array_equal((x.T + 1).asnumpy(), src.T + 1)


def test_setitem_and_inplace_share_memory(cl):
    x = mx.nd.zeros((4, 3), ctx=cl)
    v = x[1:3]
    x += 1
    x[0] = 5
    x[:, 2] = mx.nd.array([7.0, 8.0, 9.0, 10.0], ctx=cl).reshape((4,))
    expect = np.ones((4, 3), np.float32)
    expect[0] = 5
    expect[:, 2] = [7, 8, 9, 10]
    np.testing.assert_array_equal(x.asnumpy(), expect)
    np.testing.assert_array_equal(v.asnumpy(), expect[1:3])


def test_memory_pool_reuses_buffers(cl):
    rt = _be.runtime(0)
    for _ in range(3):  # warm the pool with the sizes this loop uses
        (mx.nd.ones((256, 256), ctx=cl) * 2).wait_to_read()
    held = rt.pool.held_blocks
    active_before = rt.pool.active_blocks
    for _ in range(20):
        (mx.nd.ones((256, 256), ctx=cl) * 2).wait_to_read()
    assert rt.pool.active_blocks == active_before  # every temporary was returned
    assert rt.pool.held_blocks <= held + 2  # and steady state allocated (almost) nothing new


def test_build_error_shows_the_source_and_log():
    rt = _be.runtime(0)
    with pytest.raises(RuntimeError, match=r"(?s)OpenCL build failed for kernel broken.*1  "):
        rt.kernel("__kernel void broken(__global float* x) { x[0] = undefined_name; }", "broken")


def test_missing_array_function_names_op_and_function(cl):
    from mxplug.backends.opencl import xp

    with pytest.raises(NotImplementedError, match="no 'no_such_function'"):
        xp.no_such_function  # noqa: B018  (the attribute access itself must raise)


def test_default_context_from_environment():
    code = "import mxplug as mx; x = mx.nd.ones((2,)); print(x.context)"
    env = dict(os.environ, MXPLUG_DEFAULT_CONTEXT="opencl:0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "opencl(0)"


def test_device_choice_from_environment():
    code = ("import mxplug as mx; from mxplug.backends import registry; "
            "print(registry.load('opencl').num_devices())")
    env = dict(os.environ, MXPLUG_OPENCL_DEVICE="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) == _be.num_devices()


def test_wait_and_waitall(cl):
    x = mx.nd.ones((64, 64), ctx=cl) * 3
    x.wait_to_read()
    mx.nd.waitall()
    assert float(x.sum().asscalar()) == 3 * 64 * 64


def test_kernel_launches_from_several_threads_do_not_mix_arguments(cl):
    """A launch sets a kernel's arguments and enqueues it in separate calls: threads (DataLoader
    workers on a device dataset) each get their own kernel objects."""
    import threading

    errors = []

    def work(seed):
        rng = np.random.default_rng(seed)
        try:
            for _ in range(60):
                n = int(rng.integers(1, 50))
                a = rng.uniform(-1, 1, n).astype(np.float32)
                b = rng.uniform(-1, 1, n).astype(np.float32)
                got = (mx.nd.array(a, ctx=cl) * 2 + mx.nd.array(b, ctx=cl)).asnumpy()
                np.testing.assert_allclose(got, a * 2 + b, rtol=1e-6)
        except Exception as e:  # collected: an assertion in a thread would not fail the test
            errors.append(e)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
