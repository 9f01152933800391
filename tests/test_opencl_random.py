"""OpenCL Philox kernels and fused NN kernels against the NumPy backend.

The kernels are called directly (``RANDOM_KERNELS`` / ``NN_KERNELS``), so these tests hold
whether or not they are merged into the backend's ``KERNELS`` table. Uniform, randint, bernoulli
and Dropout must equal the NumPy backend bit for bit for the same key/counter; normal and
exponential values within the device's ``log``/``cos`` rounding.
"""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug.backends import registry
from mxplug.ops import REGISTRY, apply

_be = registry.load("opencl")
_why = _be if isinstance(_be, str) else _be.available()
pytestmark = pytest.mark.skipif(_why is not None, reason=f"OpenCL backend unavailable: {_why}")

if _why is None:
    from mxplug.backends.opencl.nn_kernels import NN_KERNELS
    from mxplug.backends.opencl.random_kernels import RANDOM_KERNELS

SHAPES = [(1,), (3,), (5, 3), (2, 3, 7), (1001,)]
CL = mx.opencl(0)


def _kernel(name, *arrays, **attrs):
    """Run the OpenCL kernel of op ``name`` on NumPy inputs; returns NumPy outputs."""
    a = REGISTRY[name].parse_attrs(attrs)
    out = (RANDOM_KERNELS.get(name) or NN_KERNELS[name])(
        _be, *(_be.asarray(x, x.dtype, 0) for x in arrays), **a)
    return tuple(_be.to_numpy(o) for o in out) if isinstance(out, tuple) else _be.to_numpy(out)


def _numpy(name, *arrays, **attrs):
    """The same op on the NumPy backend."""
    op = REGISTRY[name]
    out = apply(op, *(mx.nd.array(x, ctx=mx.cpu(), dtype=x.dtype) for x in arrays),
                **op.parse_attrs(attrs))
    return tuple(o.asnumpy() for o in out) if isinstance(out, tuple) else out.asnumpy()


def _dtypes(*names):
    """The names this device can hold (float64 needs cl_khr_fp64, float16 cl_khr_fp16)."""
    return [d for d in names if d in _be.dtypes]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_uniform_bit_identical(shape, dtype):
    if dtype not in _dtypes(dtype):
        pytest.skip(f"the OpenCL device has no {dtype}")
    for key, counter, low, high in ((7, 3, -1.0, 3.0), (2**40 + 5, 2**33 + 1, 0.0, 1.0),
                                    (1, 0, 2.0, 2.5), (2**64 - 1, 2**64 - 1, -1e-3, 7.25)):
        attrs = dict(low=low, high=high, shape=shape, dtype=dtype, key=key, counter=counter)
        got, ref = _kernel("random_uniform", **attrs), _numpy("random_uniform", **attrs)
        assert got.dtype == ref.dtype and got.shape == ref.shape
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("name,params", [("random_normal", dict(loc=1.0, scale=2.0)),
                                         ("random_exponential", dict(lam=2.5))])
def test_normal_and_exponential_match(name, params, shape, dtype):
    if dtype not in _dtypes(dtype):
        pytest.skip(f"the OpenCL device has no {dtype}")
    attrs = dict(params, shape=shape, dtype=dtype, key=11, counter=4)
    got, ref = _kernel(name, **attrs), _numpy(name, **attrs)
    assert got.dtype == ref.dtype and got.shape == ref.shape
    tol = {"float16": 1e-3, "float32": 1e-6, "float64": 1e-12}[dtype]
    np.testing.assert_allclose(got.astype(np.float64), ref.astype(np.float64), rtol=tol, atol=tol)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype,low,high", [("int32", -5, 17), ("int32", -2**31, 2**31 - 1),
                                            ("int64", 0, 2**32), ("int64", -7, 3)])
def test_randint_bit_identical(shape, dtype, low, high):
    attrs = dict(low=low, high=high, shape=shape, dtype=dtype, key=3, counter=12)
    got, ref = _kernel("random_randint", **attrs), _numpy("random_randint", **attrs)
    assert got.dtype == ref.dtype
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
def test_bernoulli_bit_identical(shape, dtype):
    if dtype not in _dtypes(dtype):
        pytest.skip(f"the OpenCL device has no {dtype}")
    for prob in (0.0, 0.3, 1.0):
        attrs = dict(prob=prob, shape=shape, dtype=dtype, key=2, counter=5)
        got, ref = _kernel("random_bernoulli", **attrs), _numpy("random_bernoulli", **attrs)
        assert got.dtype == ref.dtype
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("p,axes", [(0.3, ()), (0.5, (1,)), (1.0, ()), (0.0, ()), (0.7, (0, 2))])
def test_dropout_bit_identical(dtype, p, axes):
    if dtype not in _dtypes(dtype):
        pytest.skip(f"the OpenCL device has no {dtype}")
    x = np.random.default_rng(0).uniform(-1, 1, (6, 5, 3)).astype(dtype)
    attrs = dict(p=p, mode="always", axes=axes, key=5, counter=9)
    np.testing.assert_array_equal(_kernel("Dropout", x, **attrs), _numpy("Dropout", x, **attrs))


def test_dropout_is_identity_outside_training():
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(_kernel("Dropout", x, p=0.5, key=1, counter=1), x)


def test_front_end_on_opencl_matches_cpu():
    """Through mx.nd (the kernels when merged, else the generic bodies): same numbers."""
    for f in (mx.nd.random.uniform, mx.nd.random.normal):
        mx.random.seed(9)
        a = f(shape=(4, 9), ctx=CL).asnumpy()
        mx.random.seed(9)
        b = f(shape=(4, 9), ctx=mx.cpu()).asnumpy()
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    mx.random.seed(42)
    a = mx.nd.random.randint(0, 100, shape=(50,), ctx=CL).asnumpy()
    mx.random.seed(42)
    np.testing.assert_array_equal(a, mx.nd.random.randint(0, 100, shape=(50,)).asnumpy())


# -- fused NN kernels ---------------------------------------------------------------------------
def _close(got, ref, dtype):
    tol = 2e-5 if dtype == "float32" else 1e-11
    for g, r in zip(got if isinstance(got, tuple) else (got,),
                    ref if isinstance(ref, tuple) else (ref,)):
        assert g.dtype == r.dtype and g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=tol, atol=tol)


ROWS = [((7, 10), -1), ((3, 300, 4), 1), ((5, 3), 0), ((2, 1, 3), 1), ((2, 1000), 1)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,axis", ROWS, ids=str)
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_family(name, shape, axis, dtype):
    if dtype not in _dtypes(dtype):
        pytest.skip(f"the OpenCL device has no {dtype}")
    x = np.random.default_rng(1).uniform(-6, 6, shape).astype(dtype)
    for attrs in (dict(axis=axis), dict(axis=axis, temperature=2.0)):
        _close(_kernel(name, x, **attrs), _numpy(name, x, **attrs), dtype)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_with_length(name):
    x = np.random.default_rng(2).uniform(-3, 3, (2, 6, 4)).astype(np.float32)
    length = np.array([[1, 6, 3, 2], [4, 5, 6, 1]])
    attrs = dict(axis=1, use_length=True)
    _close(_kernel(name, x, length, **attrs), _numpy(name, x, length, **attrs), "float32")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,axis", ROWS, ids=str)
def test_layer_norm(shape, axis, dtype):
    if dtype not in _dtypes(dtype):
        pytest.skip(f"the OpenCL device has no {dtype}")
    rng = np.random.default_rng(3)
    x = rng.uniform(-2, 2, shape).astype(dtype)
    g, b = (rng.uniform(0.5, 1.5, shape[axis]).astype(dtype) for _ in range(2))
    for omv in (False, True):
        attrs = dict(axis=axis, eps=1e-3, output_mean_var=omv)
        _close(_kernel("LayerNorm", x, g, b, **attrs), _numpy("LayerNorm", x, g, b, **attrs),
               dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,axis", [((2, 3, 4, 4), 1), ((4, 3), -1), ((3, 5, 7), 2),
                                        ((64, 8, 5), 1)], ids=str)
@pytest.mark.parametrize("global_stats", [False, True])
def test_batch_norm(shape, axis, dtype, global_stats):
    if dtype not in _dtypes(dtype):
        pytest.skip(f"the OpenCL device has no {dtype}")
    rng = np.random.default_rng(4)
    c = shape[axis]
    x = rng.uniform(-2, 2, shape).astype(dtype)
    g, b, mm = (rng.uniform(-1, 1, c).astype(dtype) for _ in range(3))
    mv = rng.uniform(0.5, 2, c).astype(dtype)
    for fix_gamma in (True, False):
        for omv in (False, True):
            attrs = dict(axis=axis, fix_gamma=fix_gamma, use_global_stats=global_stats,
                         output_mean_var=omv, eps=1e-5)
            _close(_kernel("_BatchNorm", x, g, b, mm, mv, **attrs),
                   _numpy("_BatchNorm", x, g, b, mm, mv, **attrs), dtype)


def test_batch_norm_strided_input():
    """A transposed (non-contiguous) input walks its own strides."""
    rng = np.random.default_rng(5)
    x = rng.uniform(-2, 2, (4, 5, 3, 2)).astype(np.float32)
    p = [rng.uniform(0.5, 1.5, 5).astype(np.float32) for _ in range(4)]
    xt = _be.xp.permute_dims(_be.asarray(x, x.dtype, 0), (0, 2, 1, 3))   # (4, 3, 5, 2), axis 2
    attrs = REGISTRY["_BatchNorm"].parse_attrs(dict(axis=2, fix_gamma=False))
    got = _be.to_numpy(NN_KERNELS["_BatchNorm"](_be, xt, *(_be.asarray(a, a.dtype, 0) for a in p),
                                                **attrs))
    ref = _numpy("_BatchNorm", np.ascontiguousarray(x.transpose(0, 2, 1, 3)), *p,
                 axis=2, fix_gamma=False)
    _close(got, ref, "float32")
