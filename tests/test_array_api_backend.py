"""The Array API adapter itself: availability reasons, the NumPy-contract translation (dtypes,
promotion, host scatter), copies between numpy / opencl / strict contexts, a namespace turned into
a backend with no code (at run time and through ``MXPLUG_PLUGINS``), Gluon training on it, and
the CuPy backend's behaviour on a machine without a GPU. The whole generic op suite runs on
``array_api_strict`` through ``conftest.py``; this module tests what that suite does not."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd, gluon
from mxplug.backends import array_api, registry
from mxplug.base import MXNetError
from mxplug.ops import REGISTRY

strict = pytest.importorskip("array_api_strict", reason="array-api-strict is not installed "
                             "(pip install 'mxplug[test]')")
pytest.importorskip("array_api_compat", reason="array-api-compat is not installed")

STRICT = mx.Context("strict", 0)


def _run(code, env=None):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **(env or {})})


@pytest.fixture
def runtime_backends():
    """Backends registered at run time by a test, removed again afterwards."""
    names = []
    yield names
    for name in names:
        be = registry._loaded.pop(name, None)
        registry.entry_points().pop(name, None)
        if be is not None and not isinstance(be, str):
            for op in set(REGISTRY.values()):
                op._resolved.pop(be, None)
            for key in [k for k, c in mx.Context._interned.items()
                        if c.device_type == be.device_type]:
                del mx.Context._interned[key]


# -- availability -------------------------------------------------------------------------------
def test_missing_library_is_a_reason_not_an_error():
    be = array_api.ArrayAPIBackend("no_such_array_library_xyz", name="nosuch")
    why = be.available()
    assert why is not None and "no_such_array_library_xyz is not installed" in why
    assert be.xp is None


def test_strict_backend_is_listed_with_its_devices():
    row = next(b for b in mx.backends.list() if b.name == "array_api_strict")
    assert row.available and row.device_type == "strict"
    assert "Array API 20" in row.version
    assert row.devices[0].startswith("strict(0): ")
    be = mx.backends.get("array_api_strict")
    assert be.wrapped and be.num_devices() == len(strict.__array_namespace_info__().devices())
    assert "float16" not in be.dtypes and "float32" in be.dtypes  # the standard has no float16


def test_cupy_without_gpu_says_why_and_import_stays_lazy():
    r = _run("import sys, mxplug as mx\n"
             "assert 'cupy' not in sys.modules and 'array_api_strict' not in sys.modules\n"
             "row = next(b for b in mx.backends.list() if b.name == 'cupy')\n"
             "print(row.device_type, '|', row.reason)\n")
    assert r.returncode == 0, r.stderr
    device_type, reason = r.stdout.strip().split(" | ", 1)
    assert device_type == "gpu"
    try:
        import cupy  # noqa: F401
    except ImportError:
        assert "cupy is not installed" in reason and "mxplug[cuda]" in reason
    else:  # a CuPy without a usable GPU, or a GPU machine (then no reason)
        assert reason == "None" or "CUDA" in reason
    assert r.stderr == ""  # import and listing stay silent


def test_unsupported_dtype_names_backend_and_dtype():
    with pytest.raises((TypeError, MXNetError), match="float16"):
        mx.nd.array([1.0, 2.0], ctx=STRICT, dtype="float16")


# -- the NumPy contract over a strict namespace ---------------------------------------------------
def test_arrays_report_numpy_dtypes_and_promote_as_numpy():
    a = mx.nd.array([1, 2, 3], ctx=STRICT, dtype="int32")
    b = mx.nd.array([0.5, 0.5, 0.5], ctx=STRICT, dtype="float32")
    assert a.dtype is np.int32 and isinstance(a.data, array_api.Array)
    xp = mx.backends.get("array_api_strict").xp
    r = xp.add(a.data, b.data)  # the standard leaves int32 + float32 undefined; NumPy: float64
    assert r.dtype == np.float64
    np.testing.assert_array_equal(np.asarray(r), [1.5, 2.5, 3.5])
    assert xp.multiply(a.data, 0.5).dtype == np.float64  # an int array meets a float scalar
    assert xp.float32 == np.float32  # dtype attributes compare equal to arrays' dtypes
    assert xp.astype(a.data, "float32").dtype == np.float32


def test_getitem_and_scatter_setitem_run_through_the_host_in_place():
    x = mx.nd.array(np.arange(12.0).reshape(3, 4), ctx=STRICT)
    view = x[1]  # a basic index: shares memory
    before = dict(array_api.HOST_PATHS)
    x[mx.nd.array([0, 1], ctx=STRICT, dtype="int64")] = 7.0  # scatter: host, then written back
    want = np.arange(12.0).reshape(3, 4)
    want[[0, 1]] = 7.0
    np.testing.assert_array_equal(x.asnumpy(), want)
    np.testing.assert_array_equal(view.asnumpy(), want[1])  # in place: the view sees it
    got = x[np.array([2, 0]), np.array([1, 3])]  # two index arrays: beyond the standard
    np.testing.assert_array_equal(got.asnumpy(), want[[2, 0], [1, 3]])
    assert array_api.HOST_PATHS["setitem with index arrays"] == before.get(
        "setitem with index arrays", 0) + 1
    assert array_api.HOST_PATHS["getitem with integer arrays"] > before.get(
        "getitem with integer arrays", 0)


def test_host_ops_are_documented_and_run_the_numpy_kernel():
    be = mx.backends.get("array_api_strict")
    for op_name, why in be.host_ops.items():
        assert op_name in REGISTRY and len(why) > 20
    x = np.array([-1.5, 0.0, 0.3, 2.0])
    got = mx.nd.erf(mx.nd.array(x, ctx=STRICT, dtype="float64")).asnumpy()
    np.testing.assert_allclose(got, mx.nd.erf(mx.nd.array(x, dtype="float64")).asnumpy(),
                               rtol=1e-15)


# -- copies between contexts ----------------------------------------------------------------------
def _contexts():
    ctxs = [mx.cpu(), STRICT]
    if any(b.name == "opencl" and b.available for b in mx.backends.list()):
        ctxs.append(mx.opencl(0))
    return ctxs


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_copies_between_numpy_opencl_and_strict(dtype):
    src = np.array([[1, 0, 3], [4, 5, 0]]).astype(dtype)
    ctxs = _contexts()
    for a in ctxs:
        x = mx.nd.array(src, ctx=a, dtype=dtype)
        for b in ctxs:
            y = x.as_in_context(b)
            assert y.context == b and y.dtype == np.dtype(dtype).type
            np.testing.assert_array_equal(y.asnumpy(), src)
            if a != b:  # a copy, not an alias
                y[0, 0] = 0
                assert x.asnumpy()[0, 0] == src[0, 0]


def test_dlpack_out_of_a_strict_array():
    x = mx.nd.array([1.0, 2.0, 3.0], ctx=STRICT)
    np.testing.assert_array_equal(np.from_dlpack(x), [1.0, 2.0, 3.0])
    y = mx.nd.from_dlpack(np.arange(3.0), ctx=STRICT)
    assert y.context == STRICT
    np.testing.assert_array_equal(y.asnumpy(), [0.0, 1.0, 2.0])


# -- a namespace as a backend with no code --------------------------------------------------------
def test_make_backend_from_a_user_namespace(runtime_backends):
    import array_api_compat.numpy as compat_np

    be = array_api.make_backend(compat_np, "compatnp")
    runtime_backends.append(be.name)
    assert not be.wrapped  # NumPy dtypes: arrays are used as they are
    ctx = mx.Context("compatnp", 0)
    x = mx.nd.array([[1.0, -2.0], [3.0, 4.0]], ctx=ctx)
    y = mx.nd.softmax(mx.nd.relu(x) * 2)
    np.testing.assert_allclose(y.asnumpy(), mx.nd.softmax(mx.nd.relu(x.as_in_context(mx.cpu()))
                                                          * 2).asnumpy(), rtol=1e-6)
    assert any(r.name == "compatnp" and r.available for r in mx.backends.list())


def test_mxplug_plugins_turns_a_module_into_a_backend():
    r = _run("import mxplug as mx, numpy as np\n"
             "c = mx.Context('strict2', 0)\n"
             "x = mx.nd.array(np.arange(6.0).reshape(2, 3), ctx=c)\n"
             "print(mx.nd.sum(x * x, axis=1).asnumpy().tolist(), type(x.data).__name__)\n"
             "print(next(b.line() for b in mx.backends.list() if b.name == 'strict2'))\n",
             env={"MXPLUG_PLUGINS": "strict2=array-api:array_api_strict"})
    assert r.returncode == 0, r.stderr
    first, line = r.stdout.strip().splitlines()
    assert first == "[5.0, 50.0] Array"
    assert line.startswith("strict2 available") and "device_type=strict2" in line


# -- training --------------------------------------------------------------------------------------
def _train_mlp(ctx, steps=15):
    rng = np.random.default_rng(0)
    data = rng.normal(0, 1, (32, 8)).astype(np.float32)
    labels = rng.integers(0, 3, 32).astype(np.float32)
    mx.random.seed(0)
    net = gluon.nn.HybridSequential()
    with net.name_scope():
        net.add(gluon.nn.Dense(16, activation="relu"), gluon.nn.Dense(3))
    net.initialize(mx.init.Xavier(), ctx=ctx)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.05})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    x, y = mx.nd.array(data, ctx=ctx), mx.nd.array(labels, ctx=ctx)
    losses = []
    for _ in range(steps):
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(32)
        losses.append(float(loss.mean().asnumpy()[0]))
    return losses


def test_gluon_mlp_trains_on_strict_as_on_numpy():
    got, ref = _train_mlp(STRICT), _train_mlp(mx.cpu())
    assert got[-1] < 0.7 * got[0]  # it learns
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)


def test_boolean_mask_assignment_stays_on_the_device():
    x = mx.nd.array([1.0, -2.0, 3.0, -4.0], ctx=STRICT)
    before = array_api.HOST_PATHS["setitem with index arrays"]
    x[mx.nd.array([False, True, False, True], ctx=STRICT, dtype="bool")] = 0.0
    np.testing.assert_array_equal(x.asnumpy(), [1.0, 0.0, 3.0, 0.0])
    assert array_api.HOST_PATHS["setitem with index arrays"] == before


def test_waitall_with_an_unavailable_cupy_loaded():
    be = registry.load("cupy")
    if registry._reason(be) is None:
        pytest.skip("a usable GPU is present: this checks the unavailable case")
    mx.nd.waitall()  # every loaded backend is asked to synchronize, unavailable ones too
    assert be.num_devices() == 0
