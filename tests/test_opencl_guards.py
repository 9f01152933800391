"""OpenCL kernels at the edges of their work-group grids, against NumPy.

Kernels built with ``kernels.elementwise._guarded`` run one branch in whole work-groups (no
bounds test, so PoCL vectorises it) and another in the last, partial group. These tests take
sizes that are a multiple of the work-group size, one more or less than one, and smaller than
one group (where the device picks the local size), so that both branches run and neither writes
outside its output: the Philox kernels (one work item per block of E elements, whose last block
may be partial), ``_pick_backward`` (a 2-D grid of columns and rows), and, as guards for the
same sizes, a reduction and the gather/scatter kernels (one work item per output element).
"""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug.ops import REGISTRY, apply

from .opencl_helpers import backend as _be
from .opencl_helpers import dev, namespace, needs_opencl

pytestmark = needs_opencl


@pytest.fixture(scope="module")
def xp():
    return namespace()


def _group():
    """The work-group size of a 1-D launch (``Runtime.launch``)."""
    return _be.runtime(0).local_size


def _edge_sizes(per_item=1):
    """Element counts around whole groups of items that each cover ``per_item`` elements."""
    g = _group() * per_item
    return sorted({1, 2, 3, per_item, per_item + 1, g - 1, g, g + 1, g + per_item - 1,
                   2 * g, 2 * g + 1, 3 * g - 1, 3 * g + per_item + 1})


# -- Philox: whole groups store full blocks unconditionally, the last group tests each element --
def _numpy_op(name, **attrs):
    op = REGISTRY[name]
    with mx.cpu():
        return apply(op, **op.parse_attrs(attrs)).asnumpy()


def _philox_into(xp, mode, bits, dtype, n, scalars, key, counter, x=None, scale=None, pad=5):
    """Launch the Philox kernel of ``mode`` straight into the middle of a buffer of ``pad``
    sentinels either side; returns (the ``n`` values, the sentinels left either side)."""
    from mxplug.backends.kernels.philox import key_words, per_block
    from mxplug.backends.opencl import random_kernels

    rt = _be.runtime(0)
    sentinel = -12345
    buf = xp.full((n + 2 * pad,), sentinel, dtype, rt)
    kern = random_kernels._program(rt, mode, bits, dtype, None if x is None else x.dtype)
    args = [np.int64(n), buf.buf, np.int64(pad)]
    if x is not None:
        args += [x.buf, np.int64(x.offset), x.dtype.type(scale)]
    args += [*key_words(key, counter), np.uint32(0), *scalars]
    rt.launch(kern, -(-n // per_block(bits)), *args)
    host = xp.to_numpy(buf)
    outside = np.concatenate([host[:pad], host[pad + n:]])
    assert np.all(outside == sentinel), "a Philox kernel wrote outside its output"
    return host[pad:pad + n]


def _real(v):
    return np.float64(v) if _be.runtime(0).fp64 else np.float32(v)


@pytest.mark.parametrize("dtype,bits", [("float32", 24), ("float64", 53)])
def test_philox_uniform_at_group_edges(xp, dtype, bits):
    if dtype not in _be.dtypes:
        pytest.skip(f"the OpenCL device has no {dtype}")
    per = 2 if bits == 53 else 4
    for n in _edge_sizes(per):
        key, counter, low, high = 2**40 + n, 3, -1.0, 3.0
        got = _philox_into(xp, "uniform", bits, dtype, n, [_real(low), _real(high - low)],
                           key, counter)
        ref = _numpy_op("random_uniform", low=low, high=high, shape=(n,), dtype=dtype,
                        key=key, counter=counter)
        np.testing.assert_array_equal(got, ref, err_msg=f"n={n}")


def test_philox_randint_and_normal_at_group_edges(xp):
    for n in _edge_sizes(4):
        ref = _numpy_op("random_randint", low=-5, high=17, shape=(n,), dtype="int64", key=n,
                        counter=1)
        got = _philox_into(xp, "randint", 24, "int64", n, [np.uint64(22), np.int64(-5)], n, 1)
        np.testing.assert_array_equal(got, ref, err_msg=f"n={n}")
        ref = _numpy_op("random_normal", loc=1.0, scale=2.0, shape=(n,), dtype="float32",
                        key=n, counter=2)
        got = _philox_into(xp, "normal", 24, "float32", n, [_real(1.0), _real(2.0)], n, 2)
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6, err_msg=f"n={n}")


def test_philox_dropout_at_group_edges(xp):
    """Dropout reads its input inside the guarded stores: never past the end of it either."""
    rng = np.random.default_rng(3)
    for n in _edge_sizes(4):
        x = rng.standard_normal(n).astype(np.float32) + 0.5
        got = _philox_into(xp, "dropout", 24, "float32", n, [_real(0.7)], n, 5,
                           x=dev(xp, x), scale=1 / 0.7)
        keep = _numpy_op("random_bernoulli", prob=0.7, shape=(n,), dtype="float32", key=n,
                         counter=5)
        np.testing.assert_array_equal(got, x * (keep * np.float32(1 / 0.7)),
                                      err_msg=f"n={n}")


@pytest.mark.parametrize("n", [1, 3, 1023, 1024, 1025, 1027])
def test_random_kernels_at_group_edges(n):
    """Through the backend's kernel of the op, bit for bit with the NumPy backend."""
    for dtype in ("float32",) + (("float64",) if "float64" in _be.dtypes else ()):
        attrs = dict(low=-2.0, high=2.0, shape=(n,), dtype=dtype, key=9, counter=n)
        got = _be.kernel("random_uniform")(_be, **attrs)
        ref = _numpy_op("random_uniform", **attrs)
        np.testing.assert_array_equal(_be.to_numpy(got), ref, err_msg=f"n={n} {dtype}")


# -- _pick_backward: a (columns, rows) grid ------------------------------------------------------
@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (40, 15), (40, 16), (40, 17), (1, 300),
                                   (3, 255), (3, 256), (300, 7), (257, 256), (600, 3),
                                   (9, 511), (70, 513)], ids=str)
@pytest.mark.parametrize("mode", ["clip", "wrap"])
def test_pick_backward_at_group_edges(xp, shape, mode):
    rows, L = shape
    rng = np.random.default_rng(rows * 1000 + L)
    label = rng.integers(-2 * L, 2 * L, rows).astype(np.float32)
    g = rng.standard_normal(2 * rows).astype(np.float32)
    idx = np.clip(label.astype(np.int64), 0, L - 1) if mode == "clip" else np.remainder(
        label.astype(np.int64), L)
    want = np.zeros(shape, np.float32)
    want[np.arange(rows), idx] = g[::2]
    g_view, label_d = dev(xp, g)[::2], dev(xp, label)          # a strided gradient
    got = _be.kernel("_pick_backward")(_be, g_view, label_d, shape=shape, axis=-1, mode=mode)
    np.testing.assert_array_equal(xp.to_numpy(got), want)
    # the same launch into a buffer with sentinels after the output: nothing written there
    from mxplug.backends.opencl.launch import _grid
    from mxplug.backends.opencl.nn_kernels import _kernel

    rt, pad = _be.runtime(0), 300
    out = xp.full((rows * L + pad,), -7.0, np.float32, rt)
    glob, local = _grid(rt, shape)
    _kernel(rt, "pick_bwd", np.float32, np.float32)(
        rt.queue, glob, local, rows, out.buf, g_view.buf, g_view.offset, g_view._strides[0],
        label_d.buf, label_d.offset, label_d._strides[0], L, int(mode == "wrap"))
    host = xp.to_numpy(out)
    np.testing.assert_array_equal(host[:rows * L].reshape(shape), want)
    assert np.all(host[rows * L:] == -7.0), "_pick_backward wrote past its output"


# -- a reduction and the gather/scatter kernels: one work item per output element ---------------
@pytest.mark.parametrize("kept", [1, 5, 255, 256, 257, 300, 512, 513], ids=str)
def test_reduction_at_group_edges(xp, kept):
    rng = np.random.default_rng(kept)
    a = rng.standard_normal((kept, 37)).astype(np.float32)
    d = dev(xp, a)
    np.testing.assert_allclose(xp.to_numpy(xp.sum(d, axis=1)), a.sum(axis=1), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_array_equal(xp.to_numpy(xp.max(d, axis=1)), a.max(axis=1))
    np.testing.assert_array_equal(xp.to_numpy(xp.argmax(d, axis=1)), a.argmax(axis=1))
    np.testing.assert_allclose(xp.to_numpy(xp.sum(dev(xp, a.T.copy()), axis=0)), a.sum(axis=1),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("n", [1, 3, 255, 256, 257, 1000], ids=str)
def test_gather_and_scatter_at_group_edges(xp, n):
    rng = np.random.default_rng(n)
    src = rng.standard_normal((50, 3)).astype(np.float32)
    idx = rng.integers(-50, 50, n)
    d = dev(xp, src)
    np.testing.assert_array_equal(xp.to_numpy(xp.take(d, dev(xp, idx % 50), axis=0)),
                                  src[idx % 50])
    flat = src.reshape(-1)
    fidx = rng.integers(-flat.size, flat.size, n)
    np.testing.assert_array_equal(xp.to_numpy(xp.getitem(dev(xp, flat), (dev(xp, fidx),))),
                                  flat[fidx])
    # set through unique indices; add through repeated ones (accumulating)
    target = np.zeros(n + 7, np.float32)
    uniq = rng.permutation(n + 7)[:n]
    vals = rng.standard_normal(n).astype(np.float32)
    t = dev(xp, target)
    xp.setitem(t, (dev(xp, uniq),), dev(xp, vals))
    want = target.copy()
    want[uniq] = vals
    np.testing.assert_array_equal(xp.to_numpy(t), want)
    from mxplug.backends.opencl import xp_index
    acc = dev(xp, np.zeros(9, np.float32))
    rep = rng.integers(0, 9, n)
    xp_index._add_at(acc, (dev(xp, rep),), dev(xp, vals))
    want = np.zeros(9, np.float32)
    np.add.at(want, rep, vals)
    np.testing.assert_allclose(xp.to_numpy(acc), want, rtol=1e-5, atol=1e-5)
