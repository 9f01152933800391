"""NDArray indexing: ``__getitem__`` and ``__setitem__`` with MXNet 1.x's semantics (views only for
first-axis basic keys, integer-array and boolean-mask indices, errors for out-of-range indices)."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug.base import MXNetError


def _np(x):
    return x.asnumpy() if isinstance(x, mx.nd.NDArray) else np.asarray(x)


# -- __getitem__ -------------------------------------------------------------------------------
N = np.arange(24, dtype=np.float32).reshape(4, 6)


@pytest.mark.parametrize("key", [
    1, -1, slice(1, 3), slice(None, None, 2), slice(3, 0, -1), (1, 2), (slice(None), 2),
    (Ellipsis, 1), (None, 1), (slice(1, 3), None, slice(0, 4, 2)), (-2, -3), Ellipsis,
    (1, slice(None, None, -1)),
])
def test_getitem_basic(key):
    got = mx.nd.array(N)[key]
    want = N[key]
    want = want.reshape(1) if want.ndim == 0 else want
    assert got.shape == want.shape
    np.testing.assert_array_equal(_np(got), want)


def test_integer_index_into_1d_gives_shape_1():
    x = mx.nd.array([5, 6, 7])
    assert x[1].shape == (1,)
    assert x[-1].asscalar() == 7
    assert mx.nd.array(N)[1, 2].shape == (1,)


@pytest.mark.parametrize("idx", [
    np.array([3, 0, 0]), [2, 1], mx.nd.array([0, 3]), mx.nd.array([0, 3], dtype="int32"),
    mx.nd.array([1.0, 2.0]),
])
def test_getitem_integer_arrays(idx):
    raw = np.asarray(idx.asnumpy() if isinstance(idx, mx.nd.NDArray) else idx).astype(np.int64)
    got = mx.nd.array(N)[idx]
    np.testing.assert_array_equal(_np(got), N[raw])


def test_getitem_two_integer_arrays():
    got = mx.nd.array(N)[mx.nd.array([0, 2]), mx.nd.array([1, 5])]
    np.testing.assert_array_equal(_np(got), N[[0, 2], [1, 5]])


def test_getitem_integer_array_with_slice():
    got = mx.nd.array(N)[1:3, [0, 5]]
    np.testing.assert_array_equal(_np(got), N[1:3, [0, 5]])


def test_getitem_boolean_mask():
    x = mx.nd.array(N)
    mask = N > 10
    np.testing.assert_array_equal(_np(x[mask]), N[mask])
    rows = np.array([True, False, True, False])
    np.testing.assert_array_equal(_np(x[rows]), N[rows])
    nd_mask = mx.nd.array(rows, dtype="bool")
    np.testing.assert_array_equal(_np(x[nd_mask]), N[rows])


@pytest.mark.parametrize("key", [4, -5, (0, 6), (1, -7)])
def test_getitem_out_of_range(key):
    with pytest.raises(MXNetError) as ei:
        mx.nd.array(N)[key]
    assert isinstance(ei.value, IndexError)


def test_getitem_out_of_range_1d():
    with pytest.raises(IndexError) as ei:
        mx.nd.array([1, 2, 3])[3]
    assert isinstance(ei.value, MXNetError)


def test_getitem_unsupported_key_type():
    with pytest.raises(MXNetError):
        mx.nd.array(N)["a"]


# -- __setitem__ -------------------------------------------------------------------------------
def test_setitem_scalar():
    x = mx.nd.zeros((3, 4))
    x[1] = 5
    x[:, 0] = -1
    x[2, 3] = 7.5
    want = np.zeros((3, 4), np.float32)
    want[1] = 5
    want[:, 0] = -1
    want[2, 3] = 7.5
    np.testing.assert_array_equal(_np(x), want)


def test_setitem_whole_array():
    x = mx.nd.zeros((2, 2))
    buf = x.data
    x[:] = 3
    assert x.data is buf
    np.testing.assert_array_equal(_np(x), np.full((2, 2), 3))
    x[...] = mx.nd.array([[1, 2], [3, 4]])
    np.testing.assert_array_equal(_np(x), [[1, 2], [3, 4]])


def test_setitem_ndarray_and_numpy_values():
    x = mx.nd.zeros((3, 4))
    x[0] = mx.nd.array([1, 2, 3, 4])
    x[1:3, 1:3] = np.array([[5, 6], [7, 8]])
    x[2] = mx.nd.array([9])           # broadcast
    want = np.zeros((3, 4), np.float32)
    want[0] = [1, 2, 3, 4]
    want[1:3, 1:3] = [[5, 6], [7, 8]]
    want[2] = 9
    np.testing.assert_array_equal(_np(x), want)
    assert x.dtype is np.float32


def test_setitem_step_slice():
    x = mx.nd.zeros((6,))
    x[::2] = 1
    np.testing.assert_array_equal(_np(x), [1, 0, 1, 0, 1, 0])


def test_setitem_numpy_value_cast_to_array_dtype():
    x = mx.nd.zeros((3,), dtype="int32")
    x[:] = np.array([1.9, 2.1, -3.7])
    assert x.dtype is np.int32
    np.testing.assert_array_equal(_np(x), [1, 2, -3])


def test_setitem_boolean_mask():
    x = mx.nd.array([1, -2, 3, -4])
    x[x.asnumpy() < 0] = 0
    np.testing.assert_array_equal(_np(x), [1, 0, 3, 0])
    y = mx.nd.array([1, 2, 3])
    y[mx.nd.array([True, False, True], dtype="bool")] = 9
    np.testing.assert_array_equal(_np(y), [9, 2, 9])


def test_setitem_integer_array_index():
    x = mx.nd.zeros((5,))
    x[mx.nd.array([0, 3])] = 2         # float NDArray index, as MXNet uses
    x[[1]] = 4
    np.testing.assert_array_equal(_np(x), [2, 4, 0, 2, 0])


def test_setitem_list_value():
    # MXNet 1.x accepts any array-like value (it goes through nd.array).
    x = mx.nd.zeros((2, 3))
    x[0] = [1, 2, 3]
    np.testing.assert_array_equal(_np(x)[0], [1, 2, 3])


def test_setitem_bad_value_type():
    x = mx.nd.zeros((2,))
    with pytest.raises(TypeError):
        x[0] = object()


def test_setitem_out_of_range_and_bad_shape():
    x = mx.nd.zeros((2, 3))
    with pytest.raises(MXNetError) as ei:
        x[5] = 1
    assert isinstance(ei.value, IndexError)
    with pytest.raises(MXNetError) as ei:
        x[0] = mx.nd.ones((4,))
    assert isinstance(ei.value, ValueError)


def test_setitem_takes_a_value_of_as_many_elements_in_another_shape_as_mxnet(ctx):
    b = mx.nd.zeros(1, ctx=ctx)
    b[0] = np.array([47.8])
    np.testing.assert_allclose(b.asnumpy(), [47.8], rtol=1e-6)
    c = mx.nd.zeros((2, 2), ctx=ctx)
    c[0, 1] = mx.nd.array([3.0], ctx=ctx)
    c[1] = [[5.0, 6.0]]
    np.testing.assert_array_equal(c.asnumpy(), [[0, 3], [5, 6]])
    with pytest.raises(ValueError, match=r"broadcast.*array shape \(2, 2\), key 0"):
        c[0] = [1.0, 2.0, 3.0]
