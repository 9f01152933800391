"""OpenCL indexing, gathers/scatters, scans and sorting (``xp_index`` / ``xp_sort``) against NumPy.

The namespace functions are called directly on device arrays, so these tests do not depend on
the backend being registered.
"""

from __future__ import annotations

import numpy as np
import pytest

from .opencl_helpers import backend as _be
from .opencl_helpers import dev, namespace, needs_opencl

pytestmark = needs_opencl


@pytest.fixture(scope="module")
def xp():
    return namespace()


rng = np.random.default_rng(7)


def host(xp, a):
    return xp.to_numpy(a)


X = rng.standard_normal((4, 5, 6)).astype(np.float32)
KEYS = [
    (np.array([3, 0, 0]),),
    (np.array([0, 2]), np.array([1, 4])),
    (slice(None), np.array([[1, 2], [0, 4]])),
    (np.array([1, 2]), slice(None), np.array([0, 5])),      # split: index dims go first
    (0, slice(None), np.array([1, 2])),                      # an int counts as advanced
    (slice(1, 3), np.array([1, -1]), np.array([[0], [5]])),
    (Ellipsis, np.array([2, 3])),
    (X[:, :, 0] > 0,),
    (np.array([1, 3]), None, slice(None, None, -2)),
    (X > 0.5,),
    (slice(None), X[0, :, 0] > 0),
    (None, np.array([2]), 1, slice(2, 4)),
    (np.array([], dtype=np.int64),),
]


def _dkey(xp, key):
    return tuple(dev(xp, k) if isinstance(k, np.ndarray) else k for k in key)


@pytest.mark.parametrize("i", range(len(KEYS)))
def test_advanced_getitem(xp, i):
    key = KEYS[i]
    r, e = host(xp, xp.getitem(dev(xp, X), _dkey(xp, key))), X[key]
    assert r.shape == e.shape and np.array_equal(r, e)


def test_getitem_strided_source_and_lists(xp):
    x = X[:, ::-2, 1:]
    r = host(xp, xp.getitem(dev(xp, X)[:, ::-2, 1:], ([2, 0], slice(None), [1, 1])))
    assert np.array_equal(r, x[[2, 0], :, [1, 1]])


@pytest.mark.parametrize("i", range(len(KEYS)))
def test_advanced_setitem(xp, i):
    key = KEYS[i]
    y = X.copy()
    y_cl = dev(xp, y)
    v = rng.standard_normal(y[key].shape[-1:]).astype(np.float32)   # broadcast along the rest
    y[key] = v
    xp.setitem(y_cl, _dkey(xp, key), dev(xp, v))
    assert np.array_equal(host(xp, y_cl), y)
    y[key] = 2.5
    xp.setitem(y_cl, _dkey(xp, key), 2.5)
    assert np.array_equal(host(xp, y_cl), y)


def test_setitem_from_overlapping_view(xp):
    y = np.arange(10, dtype=np.float32)
    y_cl = dev(xp, y)
    idx = np.array([0, 1, 2, 3, 4])
    xp.setitem(y_cl, (dev(xp, idx),), y_cl[::-1][:5])
    y[idx] = y[::-1][:5].copy()
    assert np.array_equal(host(xp, y_cl), y)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "uint8"])
def test_add_at_accumulates_repeats(xp, dtype):
    """float: compare-exchange atomics; ints: atomic add; uint8: the serial fallback."""
    if dtype == "float64" and not _be.runtime(0).fp64:
        pytest.skip("no fp64")
    o = np.zeros((6, 3), dtype)
    o_cl = dev(xp, o)
    idx = rng.integers(-6, 6, 400)
    v = rng.integers(0, 3, (400, 3)).astype(dtype)
    np.add.at(o, (idx,), v)
    xp.add.at(o_cl, (dev(xp, idx),), dev(xp, v))
    assert np.array_equal(host(xp, o_cl), o)


def test_add_at_two_index_arrays_and_basic_key(xp):
    o = np.zeros((3, 4, 2), np.float32)
    o_cl = dev(xp, o)
    rows, cols = np.array([[0], [2]]), np.array([[1, 1, 3]])
    v = rng.standard_normal((2, 3, 2)).astype(np.float32)
    np.add.at(o, (rows, cols), v)
    xp.add.at(o_cl, (dev(xp, rows), dev(xp, cols)), dev(xp, v))
    np.add.at(o, (slice(1, 3),), 1.0)
    xp.add.at(o_cl, (slice(1, 3),), 1.0)
    np.testing.assert_allclose(host(xp, o_cl), o, rtol=1e-6)


def test_take_and_take_along_axis(xp):
    x = dev(xp, X)
    idx = np.array([[1, 0], [3, 3]])
    assert np.array_equal(host(xp, xp.take(x, dev(xp, idx), axis=1)), np.take(X, idx, axis=1))
    assert np.array_equal(host(xp, xp.take(x, dev(xp, np.array([7, 0])))), np.take(X, [7, 0]))
    for shape, axis in (((4, 3, 6), 1), ((4, 1, 2), 2), ((1, 5, 6), 0)):
        ia = rng.integers(0, X.shape[axis], shape)
        r = host(xp, xp.take_along_axis(x, dev(xp, ia), axis=axis))
        assert np.array_equal(r, np.take_along_axis(X, ia, axis=axis))


@pytest.mark.parametrize("bad", [[7], [-6], [0, 5]])
def test_out_of_range_indices_raise(xp, bad):
    """As NumPy: an index outside [-n, n) is an IndexError naming it, never a wrapped read."""
    x = dev(xp, np.arange(5.0))
    with pytest.raises(IndexError, match="out of bounds"):
        xp.take(x, dev(xp, np.array(bad)))
    with pytest.raises(IndexError, match="out of bounds"):
        x[dev(xp, np.array(bad))] = 1.0
    assert np.array_equal(host(xp, x), np.arange(5.0))  # nothing was written


@pytest.mark.parametrize("reps", [(2,), (2, 1, 3), (3, 1, 1, 2), (0, 2)])
def test_tile(xp, reps):
    assert np.array_equal(host(xp, xp.tile(dev(xp, X), reps)), np.tile(X, reps))


def test_repeat(xp):
    x = dev(xp, X)
    assert np.array_equal(host(xp, xp.repeat(x, 3, axis=1)), np.repeat(X, 3, axis=1))
    assert np.array_equal(host(xp, xp.repeat(x, 2)), np.repeat(X, 2))
    assert np.array_equal(host(xp, xp.repeat(x[:, ::2], 2, axis=-1)),
                          np.repeat(X[:, ::2], 2, axis=-1))


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_cumulative_sum(xp, axis):
    x = dev(xp, X)
    np.testing.assert_allclose(host(xp, xp.cumulative_sum(x, axis=axis)),
                               np.cumulative_sum(X, axis=axis), atol=1e-5)
    np.testing.assert_allclose(host(xp, xp.cumulative_sum(x, axis=axis, include_initial=True)),
                               np.cumulative_sum(X, axis=axis, include_initial=True), atol=1e-5)
    i = np.arange(12, dtype=np.int32).reshape(3, 4)
    r = xp.cumulative_sum(dev(xp, i), axis=1)
    assert r.dtype == np.int64 and np.array_equal(host(xp, r), np.cumsum(i, axis=1))


@pytest.mark.parametrize("shape,axis", [((5000,), 0), ((3, 300001), 1), ((2100, 3), 0)])
def test_cumulative_sum_long_rows_in_blocks(xp, shape, axis):
    i = rng.integers(-3, 4, shape).astype(np.int32)
    r = xp.cumulative_sum(dev(xp, i), axis=axis, include_initial=True)
    assert np.array_equal(host(xp, r), np.cumulative_sum(i, axis=axis, include_initial=True))
    f = rng.standard_normal(shape).astype(np.float32)
    np.testing.assert_allclose(host(xp, xp.cumulative_sum(dev(xp, f), axis=axis)),
                               np.cumulative_sum(f.astype(np.float64), axis=axis), atol=2e-3)


def test_nonzero(xp):
    m = X > 0
    for a, b in zip(xp.nonzero(dev(xp, m)), np.nonzero(m)):
        assert np.array_equal(host(xp, a), b)
    assert host(xp, xp.nonzero(dev(xp, np.zeros(4)))[0]).shape == (0,)
    big = rng.uniform(size=(700, 300)) > 0.7
    for a, b in zip(xp.nonzero(dev(xp, big)), np.nonzero(big)):
        assert np.array_equal(host(xp, a), b)


SORT_SHAPES = [(7,), (3, 17), (2, 33, 5), (4, 1), (2, 3000)]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "uint64", "int8"])
@pytest.mark.parametrize("shape", SORT_SHAPES, ids=str)
def test_sort_is_stable_along_every_axis(xp, dtype, shape):
    if dtype == "float64" and not _be.runtime(0).fp64:
        pytest.skip("no fp64")
    z = rng.integers(0, 5, shape).astype(dtype)    # many ties: stability shows
    z_cl = dev(xp, z)
    for ax in range(len(shape)):
        assert np.array_equal(host(xp, xp.argsort(z_cl, axis=ax)),
                              np.argsort(z, axis=ax, kind="stable"))
        assert np.array_equal(host(xp, xp.sort(z_cl, axis=ax)), np.sort(z, axis=ax))
        n = shape[ax]   # stable descending: equal keys keep input order
        want = (n - 1) - np.flip(np.argsort(np.flip(z, axis=ax), axis=ax, kind="stable"), axis=ax)
        assert np.array_equal(host(xp, xp.argsort(z_cl, axis=ax, descending=True)), want)
        assert np.array_equal(host(xp, xp.sort(z_cl, axis=ax, descending=True)),
                              np.take_along_axis(z, want, axis=ax))


def test_sort_floats_nan_last_and_strided_input(xp):
    f = rng.standard_normal((3, 1000)).astype(np.float32)
    f[0, 5] = np.nan
    assert np.array_equal(host(xp, xp.argsort(dev(xp, f), axis=1)),
                          np.argsort(f, axis=1, kind="stable"))
    g = dev(xp, f)[:, ::-3]
    np.testing.assert_array_equal(host(xp, xp.sort(g, axis=0)), np.sort(f[:, ::-3], axis=0))


def test_one_program_per_dtype(xp):
    """Shapes and keys are run-time data: new shapes and keys compile nothing new."""
    rt = _be.runtime(0)
    xp.argsort(dev(xp, rng.standard_normal((3, 9)).astype(np.float32)), axis=0)
    xp.getitem(dev(xp, X), (dev(xp, np.array([1])), slice(None), dev(xp, np.array([0, 1]))))
    before = len(rt._programs)
    xp.argsort(dev(xp, rng.standard_normal((5, 2, 40)).astype(np.float32)), axis=1)
    xp.getitem(dev(xp, X), (slice(1, None), dev(xp, np.array([[1, 2]])), dev(xp, np.array([0]))))
    assert len(rt._programs) == before
