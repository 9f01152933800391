"""NDArray core: creation, properties, conversion, reshape, operators, indexing, printing, pickling.

Expected values follow Apache MXNet 1.x's documented ``mx.nd`` behaviour.
"""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import mxplug as mx
from mxplug.base import MXNetError

ALL_DTYPES = ["float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool"]


def _np(x):
    return x.asnumpy()


# -- mx.nd.array -------------------------------------------------------------------------------
def test_array_default_dtype_is_float32_for_lists():
    x = mx.nd.array([[1, 2, 3], [4, 5, 6]])
    assert x.dtype is np.float32
    assert x.shape == (2, 3)
    np.testing.assert_array_equal(_np(x), [[1, 2, 3], [4, 5, 6]])


def test_array_default_dtype_is_float32_for_float64_numpy():
    src = np.arange(6, dtype=np.float64).reshape(2, 3) / 3
    x = mx.nd.array(src)
    assert x.dtype is np.float32
    np.testing.assert_allclose(_np(x), src.astype(np.float32))


def test_array_default_dtype_is_float32_for_int_numpy():
    x = mx.nd.array(np.arange(4, dtype=np.int64))
    assert x.dtype is np.float32


def test_array_from_ndarray_keeps_dtype_and_copies():
    src = mx.nd.array([1, 2, 3], dtype="int32")
    x = mx.nd.array(src)
    assert x.dtype is np.int32
    x[0] = 100
    assert src.asnumpy()[0] == 1


def test_array_from_ndarray_with_explicit_dtype():
    src = mx.nd.array([1.5, 2.5], dtype="float64")
    x = mx.nd.array(src, dtype="float16")
    assert x.dtype is np.float16
    np.testing.assert_array_equal(_np(x), [1.5, 2.5])


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_array_each_supported_dtype(dtype):
    x = mx.nd.array([0, 1, 1], dtype=dtype)
    assert x.dtype is np.dtype(dtype).type
    assert _np(x).dtype == np.dtype(dtype)
    np.testing.assert_array_equal(_np(x).astype(np.int64), [0, 1, 1])


@pytest.mark.parametrize("dtype", [np.float32, np.dtype("int64"), "uint8"])
def test_array_dtype_accepts_types_dtypes_and_names(dtype):
    assert mx.nd.array([1, 2], dtype=dtype).dtype is np.dtype(dtype).type


@pytest.mark.parametrize("dtype", ["complex64", np.complex128, "uint16"])
def test_array_unsupported_dtype_raises_mxnet_type_error(dtype):
    with pytest.raises(MXNetError) as ei:
        mx.nd.array([1, 2], dtype=dtype)
    assert isinstance(ei.value, TypeError)
    assert mx.base.MXNetError is MXNetError


def test_array_ragged_source_raises():
    with pytest.raises(MXNetError):
        mx.nd.array([[1, 2], [3]])


def test_array_ctx_argument():
    x = mx.nd.array([1, 2], ctx=mx.cpu(0))
    assert x.context == mx.cpu(0)


# -- properties --------------------------------------------------------------------------------
def test_properties():
    x = mx.nd.zeros((2, 3, 4))
    assert x.shape == (2, 3, 4)
    assert isinstance(x.shape, tuple)
    assert x.dtype is np.float32
    assert x.size == 24
    assert isinstance(x.size, int)
    assert x.ndim == 3
    assert x.context is mx.cpu(0)
    assert x.ctx is x.context
    assert x.stype == "default"


def test_transpose_property():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x = mx.nd.array(a)
    assert x.T.shape == (4, 3, 2)
    np.testing.assert_array_equal(_np(x.T), a.T)


# -- conversion --------------------------------------------------------------------------------
def test_asnumpy_returns_a_copy():
    x = mx.nd.array([1, 2, 3])
    a = x.asnumpy()
    assert isinstance(a, np.ndarray)
    a[0] = 100
    assert x.asnumpy()[0] == 1


def test_asscalar():
    x = mx.nd.array([3.5])
    s = x.asscalar()
    assert s == 3.5
    assert isinstance(s, np.float32)


@pytest.mark.parametrize("shape", [(2,), (1, 1), (2, 3)])
def test_asscalar_requires_shape_1(shape):
    with pytest.raises(MXNetError) as ei:
        mx.nd.zeros(shape).asscalar()
    assert isinstance(ei.value, ValueError)


def test_item():
    assert mx.nd.array([[2.5]]).item() == 2.5
    v = mx.nd.array([7], dtype="int32").item()
    assert v == 7 and type(v) is int
    with pytest.raises(MXNetError):
        mx.nd.zeros((2,)).item()


def test_astype():
    x = mx.nd.array([1.7, -2.2])
    y = x.astype("int32")
    assert y.dtype is np.int32
    np.testing.assert_array_equal(_np(y), [1, -2])
    assert x.dtype is np.float32
    z = x.astype(np.float64)
    assert z.dtype is np.float64
    assert x.astype("float32", copy=False) is x
    c = x.astype("float32")
    assert c is not x
    c[0] = 9
    assert _np(x)[0] == pytest.approx(1.7)


def test_astype_unsupported_dtype():
    with pytest.raises(TypeError):
        mx.nd.ones((2,)).astype("complex64")


def test_copy_is_independent():
    x = mx.nd.array([1, 2, 3])
    y = x.copy()
    y[0] = 10
    x[1] = 20
    np.testing.assert_array_equal(_np(x), [1, 20, 3])
    np.testing.assert_array_equal(_np(y), [10, 2, 3])


def test_copyto_context():
    x = mx.nd.array([1, 2, 3])
    y = x.copyto(mx.cpu(0))
    assert y is not x
    assert y.context == mx.cpu(0)
    y[0] = 5
    assert _np(x)[0] == 1


def test_copyto_ndarray_writes_in_place():
    x = mx.nd.array([[1, 2], [3, 4]])
    y = mx.nd.zeros((2, 2))
    before = y.data
    r = x.copyto(y)
    assert r is y
    assert y.data is before
    np.testing.assert_array_equal(_np(y), [[1, 2], [3, 4]])


def test_copyto_ndarray_casts_to_target_dtype():
    y = mx.nd.zeros((2,), dtype="int32")
    mx.nd.array([1.0, 2.0]).copyto(y)
    assert y.dtype is np.int32
    np.testing.assert_array_equal(_np(y), [1, 2])


def test_copyto_shape_mismatch():
    with pytest.raises(MXNetError) as ei:
        mx.nd.ones((2, 3)).copyto(mx.nd.zeros((3, 2)))
    msg = str(ei.value)
    assert "(2, 3)" in msg and "(3, 2)" in msg


def test_copyto_bad_target():
    with pytest.raises(TypeError):
        mx.nd.ones((2,)).copyto("cpu")


def test_as_in_context_same_context_returns_self():
    x = mx.nd.ones((2,))
    assert x.as_in_context(mx.cpu(0)) is x
    assert x.as_in_context(mx.Context("cpu", 0)) is x


def test_as_in_context_other_cpu_id_copies():
    x = mx.nd.ones((2,))
    y = x.as_in_context(mx.cpu(1))
    assert y.context == mx.cpu(1)
    y[0] = 5
    assert _np(x)[0] == 1


# -- reshape -----------------------------------------------------------------------------------
# The examples of MXNet 1.x's reshape documentation.
@pytest.mark.parametrize("src, target, expected", [
    ((2, 3, 4), (4, 0, 2), (4, 3, 2)),
    ((2, 3, 4), (2, 0, 0), (2, 3, 4)),
    ((2, 3, 4), (6, 1, -1), (6, 1, 4)),
    ((2, 3, 4), (3, -1, 8), (3, 1, 8)),
    ((2, 3, 4), (-1,), (24,)),
    ((2, 3, 4), (-2,), (2, 3, 4)),
    ((2, 3, 4), (2, -2), (2, 3, 4)),
    ((2, 3, 4), (-2, 1, 1), (2, 3, 4, 1, 1)),
    ((2, 3, 4), (-3, 4), (6, 4)),
    ((2, 3, 4, 5), (-3, -3), (6, 20)),
    ((2, 3, 4), (0, -3), (2, 12)),
    ((2, 3, 4), (-3, -2), (6, 4)),
    ((2, 3, 4), (-4, 1, 2, -2), (1, 2, 3, 4)),
    ((2, 3, 4), (2, -4, -1, 3, -2), (2, 1, 3, 4)),
    ((10, 5, 4), (-1, 0), (40, 5)),
])
def test_reshape_special_values(src, target, expected):
    a = np.arange(int(np.prod(src)), dtype=np.float32).reshape(src)
    y = mx.nd.array(a).reshape(target)
    assert y.shape == expected
    np.testing.assert_array_equal(_np(y), a.reshape(expected))


def test_reshape_reverse():
    # MXNet docs: input (10, 5, 4), shape (-1, 0): (40, 5); with reverse=True: (50, 4)
    x = mx.nd.zeros((10, 5, 4))
    assert x.reshape((-1, 0), reverse=True).shape == (50, 4)
    assert x.reshape(shape=(-1, 0), reverse=False).shape == (40, 5)


def test_reshape_call_forms():
    x = mx.nd.arange(6)
    assert x.reshape(2, 3).shape == (2, 3)
    assert x.reshape((3, 2)).shape == (3, 2)
    assert x.reshape([1, 6]).shape == (1, 6)
    assert x.reshape(shape=(6, 1)).shape == (6, 1)
    assert mx.nd.reshape(x, shape=(2, -1)).shape == (2, 3)


def test_reshape_size_mismatch_names_shapes():
    with pytest.raises(MXNetError) as ei:
        mx.nd.zeros((2, 3)).reshape((4, 2))
    assert isinstance(ei.value, ValueError)
    msg = str(ei.value)
    assert "(4, 2)" in msg and "(2, 3)" in msg


def test_reshape_two_minus_ones():
    with pytest.raises(ValueError):
        mx.nd.zeros((2, 3)).reshape((-1, -1))


def test_reshape_unknown_keyword():
    with pytest.raises(TypeError):
        mx.nd.zeros((2, 3)).reshape((3, 2), order="F")


# -- operators ---------------------------------------------------------------------------------
A = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], dtype=np.float32)
B = np.array([[2.0, 3.0, -1.5], [0.5, 4.0, 2.0]], dtype=np.float32)


@pytest.mark.parametrize("name, f", [
    ("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b), ("mod", lambda a, b: a % b),
])
def test_binary_operators_arrays(name, f):
    x, y = mx.nd.array(A), mx.nd.array(B)
    r = f(x, y)
    assert isinstance(r, mx.nd.NDArray)
    assert r.dtype is np.float32
    np.testing.assert_allclose(_np(r), f(A, B), rtol=1e-6)


def test_pow_operator():
    x = mx.nd.array(np.abs(A))
    np.testing.assert_allclose(_np(x ** mx.nd.array(B)), np.abs(A) ** B, rtol=1e-5)
    np.testing.assert_allclose(_np(x ** 2), np.abs(A) ** 2, rtol=1e-6)
    np.testing.assert_allclose(_np(2 ** x), 2 ** np.abs(A), rtol=1e-6)
    assert (x ** 2).dtype is np.float32


def test_broadcasting():
    x = mx.nd.array(A)                       # (2, 3)
    row = mx.nd.array([10, 20, 30])          # (3,)
    col = mx.nd.array([[1], [2]])            # (2, 1)
    np.testing.assert_array_equal(_np(x + row), A + np.array([10, 20, 30]))
    np.testing.assert_array_equal(_np(x * col), A * np.array([[1], [2]]))
    assert (col + row).shape == (2, 3)


@pytest.mark.parametrize("scalar", [2, 2.5])
def test_scalar_operands_both_sides(scalar):
    x = mx.nd.array(A)
    cases = [(x + scalar, A + scalar), (scalar + x, scalar + A),
             (x - scalar, A - scalar), (scalar - x, scalar - A),
             (x * scalar, A * scalar), (scalar * x, scalar * A),
             (x / scalar, A / scalar), (scalar / x, scalar / A),
             (x % scalar, A % scalar), (scalar % x, np.float32(scalar) % A)]
    for got, want in cases:
        assert got.dtype is np.float32
        np.testing.assert_allclose(_np(got), want.astype(np.float32), rtol=1e-6)


def test_float_scalar_keeps_float16():
    x = mx.nd.array([1, 2], dtype="float16")
    assert (x * 0.5).dtype is np.float16
    assert (0.5 + x).dtype is np.float16


_SCALAR_OPS = {
    "add": lambda x, s: x + s, "radd": lambda x, s: s + x, "sub": lambda x, s: x - s,
    "rsub": lambda x, s: s - x, "mul": lambda x, s: x * s, "rmul": lambda x, s: s * x,
    "div": lambda x, s: x / s, "mod": lambda x, s: x % s, "pow": lambda x, s: x ** s,
}


@pytest.mark.parametrize("op", list(_SCALAR_OPS))
def test_int_array_with_python_float_keeps_int_dtype(op):
    # MXNet 1.x scalar ops (_plus_scalar etc.) keep the array's dtype: the scalar is cast to it.
    x = mx.nd.array([1, 2], dtype="int32")
    assert _SCALAR_OPS[op](x, 1).dtype is np.int32
    assert _SCALAR_OPS[op](x, 1.5).dtype is np.int32


@pytest.mark.parametrize("op", list(_SCALAR_OPS))
def test_numpy_float64_scalar_does_not_widen_float32(op):
    # MXNet counts NumPy scalars (np.generic) as numeric scalars: the array dtype wins.
    x = mx.nd.array([1, 2])
    r = _SCALAR_OPS[op](x, np.float64(2))
    assert isinstance(r, mx.nd.NDArray)
    assert r.dtype is np.float32


def test_numpy_scalar_operand():
    x = mx.nd.array([1, 2])
    r = x + np.float32(1)
    assert isinstance(r, mx.nd.NDArray)
    np.testing.assert_array_equal(_np(r), [2, 3])


def test_unary_neg_abs_pos():
    x = mx.nd.array(A)
    np.testing.assert_array_equal(_np(-x), -A)
    np.testing.assert_array_equal(_np(abs(x)), np.abs(A))
    assert (+x) is x or np.array_equal(_np(+x), A)


@pytest.mark.parametrize("name, f", [
    ("eq", lambda a, b: a == b), ("ne", lambda a, b: a != b), ("gt", lambda a, b: a > b),
    ("ge", lambda a, b: a >= b), ("lt", lambda a, b: a < b), ("le", lambda a, b: a <= b),
])
def test_comparisons_return_one_zero_in_operand_dtype(name, f):
    a = np.array([1, 2, 3, 4], dtype=np.float32)
    b = np.array([2, 2, 2, 5], dtype=np.float32)
    r = f(mx.nd.array(a), mx.nd.array(b))
    assert r.dtype is np.float32
    np.testing.assert_array_equal(_np(r), f(a, b).astype(np.float32))
    rs = f(mx.nd.array(a), 2)
    assert rs.dtype is np.float32
    np.testing.assert_array_equal(_np(rs), f(a, 2).astype(np.float32))
    ri = f(mx.nd.array(a, dtype="int32"), mx.nd.array(b, dtype="int32"))
    assert ri.dtype is np.int32
    np.testing.assert_array_equal(_np(ri), f(a, b).astype(np.int32))


def test_reflected_comparison_with_scalar():
    x = mx.nd.array([1, 2, 3])
    np.testing.assert_array_equal(_np(2 < x), [0, 0, 1])
    np.testing.assert_array_equal(_np(2 == x), [0, 1, 0])


def test_int32_division_truncates_toward_zero():
    x = mx.nd.array([-7, 7, -8, 9], dtype="int32")
    r = x / 2
    assert r.dtype is np.int32
    np.testing.assert_array_equal(_np(r), [-3, 3, -4, 4])
    r2 = x / mx.nd.array([2, -2, 3, 4], dtype="int32")
    assert r2.dtype is np.int32
    np.testing.assert_array_equal(_np(r2), [-3, -3, -2, 2])


def test_incompatible_shapes_error_names_op_shapes_dtype():
    with pytest.raises(MXNetError) as ei:
        mx.nd.ones((2, 3)) + mx.nd.ones((4,))
    assert isinstance(ei.value, ValueError)
    msg = str(ei.value)
    assert "add" in msg
    assert "(2, 3)" in msg and "(4,)" in msg
    assert "float32" in msg


# -- in-place operators ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["iadd", "isub", "imul", "itruediv", "imod", "ipow"])
def test_inplace_ops_keep_identity_and_memory(name):
    a = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    x = mx.nd.array(a)
    ident, buf = x, x.data
    if name == "iadd":
        x += 2
        want = a + 2
    elif name == "isub":
        x -= mx.nd.array([1, 1, 1])
        want = a - 1
    elif name == "imul":
        x *= 3
        want = a * 3
    elif name == "itruediv":
        x /= 2
        want = a / 2
    elif name == "imod":
        x %= 2
        want = a % 2
    else:
        x **= 2
        want = a ** 2
    assert x is ident
    assert x.data is buf
    np.testing.assert_allclose(_np(x), want)


def test_inplace_visible_through_first_axis_slice_view():
    x = mx.nd.array(np.arange(8, dtype=np.float32).reshape(4, 2))
    v = x[1:3]
    x += 1
    np.testing.assert_array_equal(_np(v), [[3, 4], [5, 6]])
    v += 100
    np.testing.assert_array_equal(_np(x)[1:3], [[103, 104], [105, 106]])
    np.testing.assert_array_equal(_np(x)[0], [1, 2])


def test_integer_index_on_first_axis_is_a_view():
    x = mx.nd.array(np.arange(6, dtype=np.float32).reshape(2, 3))
    row = x[1]
    assert row.shape == (3,)
    x[1, 0] = 100
    assert _np(row)[0] == 100


def test_column_index_is_a_copy():
    x = mx.nd.array(np.arange(6, dtype=np.float32).reshape(2, 3))
    col = x[:, 1]
    x += 10
    np.testing.assert_array_equal(_np(col), [1, 4])


def test_inplace_broadcast_shape_error():
    x = mx.nd.ones((2,))
    with pytest.raises(MXNetError):
        x += mx.nd.ones((3, 2))


# -- protocols ---------------------------------------------------------------------------------
def test_len_and_iteration():
    x = mx.nd.array(np.arange(6, dtype=np.float32).reshape(3, 2))
    assert len(x) == 3
    rows = list(x)
    assert len(rows) == 3
    assert all(isinstance(r, mx.nd.NDArray) and r.shape == (2,) for r in rows)
    np.testing.assert_array_equal(_np(rows[2]), [4, 5])
    items = list(mx.nd.array([1, 2]))
    assert [i.shape for i in items] == [(1,), (1,)]


def test_bool():
    assert bool(mx.nd.array([1])) is True
    assert bool(mx.nd.array([0])) is False
    assert bool(mx.nd.array([[2.5]]))
    with pytest.raises(ValueError) as ei:
        bool(mx.nd.array([1, 1]))
    assert isinstance(ei.value, MXNetError)


def test_np_asarray():
    x = mx.nd.array([[1, 2], [3, 4]])
    a = np.asarray(x)
    assert isinstance(a, np.ndarray)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, [[1, 2], [3, 4]])
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert np.array(x).shape == (2, 2)


def test_tolist():
    assert mx.nd.array([[1, 2]]).tolist() == [[1.0, 2.0]]


def test_dlpack_to_numpy():
    x = mx.nd.array([[1, 2, 3], [4, 5, 6]])
    a = np.from_dlpack(x)
    assert a.shape == (2, 3)
    assert a.dtype == np.float32
    np.testing.assert_array_equal(a, [[1, 2, 3], [4, 5, 6]])


def test_dlpack_from_numpy_shares_memory():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    x = mx.nd.from_dlpack(a)
    assert x.shape == (2, 3)
    assert x.dtype is np.float64
    assert x.context == mx.cpu(0)
    a[0, 0] = 42
    assert _np(x)[0, 0] == 42


def test_dlpack_round_trip():
    x = mx.nd.array([1.5, 2.5], dtype="float64")
    y = mx.nd.from_dlpack(np.from_dlpack(x))
    np.testing.assert_array_equal(_np(y), [1.5, 2.5])
    assert y.dtype is np.float64


def test_from_numpy_zero_copy_and_copy():
    a = np.arange(4, dtype=np.int32)
    x = mx.nd.from_numpy(a)
    assert x.dtype is np.int32 and x.context == mx.cpu(0)
    x[0] = 9  # shared memory; the NumPy array itself becomes read-only, as in MXNet
    assert a[0] == 9 and not a.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        a[1] = 5
    with pytest.raises(ValueError, match="only C-contiguous arrays"):
        mx.nd.from_numpy(np.ones((3, 4))[:, ::2])
    assert mx.nd.from_numpy(np.ones((3, 4))[:, ::2], zero_copy=False).shape == (3, 2)
    b = np.arange(4, dtype=np.float32)
    y = mx.nd.from_numpy(b, zero_copy=False)
    b[0] = 9
    assert _np(y)[0] == 0


def test_from_numpy_unsupported_dtype():
    with pytest.raises(MXNetError):
        mx.nd.from_numpy(np.zeros(2, dtype=np.complex64))


def test_repr():
    x = mx.nd.array([[1, 2, 3], [4, 5, 6]])
    r = repr(x)
    assert "<NDArray 2x3 @cpu(0)>" in r
    assert "[[1. 2. 3.]" in r
    assert "<NDArray 4 @cpu(0)>" in str(mx.nd.zeros((4,)))


def test_pickle_round_trip():
    for x in (mx.nd.array([[1.5, 2], [3, 4]]), mx.nd.array([1, 2, 3], dtype="int64"),
              mx.nd.array([1, 2], ctx=mx.cpu(1))):
        y = pickle.loads(pickle.dumps(x))
        assert isinstance(y, mx.nd.NDArray)
        assert y.shape == x.shape and y.dtype is x.dtype
        assert y.context == x.context
        np.testing.assert_array_equal(_np(y), _np(x))


def test_hashable_and_eq_with_other_types():
    x = mx.nd.ones((2,))
    assert {x: 1}[x] == 1
    assert (x == "a") is False


# -- creation functions ------------------------------------------------------------------------
@pytest.mark.parametrize("fn, val", [(mx.nd.zeros, 0), (mx.nd.ones, 1), (mx.nd.empty, None)])
def test_zeros_ones_empty(fn, val):
    x = fn((2, 3))
    assert x.shape == (2, 3) and x.dtype is np.float32 and x.context == mx.cpu(0)
    if val is not None:
        np.testing.assert_array_equal(_np(x), np.full((2, 3), val))
    y = fn((4,), ctx=mx.cpu(1), dtype="int32")
    assert y.shape == (4,) and y.dtype is np.int32 and y.context == mx.cpu(1)
    assert fn(5).shape == (5,)


def test_full():
    x = mx.nd.full((2, 2), 7)
    assert x.dtype is np.float32
    np.testing.assert_array_equal(_np(x), np.full((2, 2), 7))
    y = mx.nd.full((3,), 2.5, ctx=mx.cpu(0), dtype="float64")
    assert y.dtype is np.float64
    np.testing.assert_array_equal(_np(y), [2.5, 2.5, 2.5])


def test_arange():
    np.testing.assert_array_equal(_np(mx.nd.arange(5)), np.arange(5))
    assert mx.nd.arange(5).dtype is np.float32
    np.testing.assert_allclose(_np(mx.nd.arange(2, 9, 1.5)), np.arange(2, 9, 1.5))
    np.testing.assert_array_equal(_np(mx.nd.arange(0, 3, repeat=2)), [0, 0, 1, 1, 2, 2])
    r = mx.nd.arange(1, 4, dtype="int32")
    assert r.dtype is np.int32
    np.testing.assert_array_equal(_np(r), [1, 2, 3])
    np.testing.assert_array_equal(_np(mx.nd.arange(5, 0, -2)), [5, 3, 1])


def test_linspace():
    x = mx.nd.linspace(0, 1, 5)
    assert x.dtype is np.float32
    np.testing.assert_allclose(_np(x), np.linspace(0, 1, 5))
    y = mx.nd.linspace(0, 1, 4, endpoint=False, dtype="float64")
    assert y.dtype is np.float64
    np.testing.assert_allclose(_np(y), [0, 0.25, 0.5, 0.75])


def test_eye():
    np.testing.assert_array_equal(_np(mx.nd.eye(3)), np.eye(3))
    x = mx.nd.eye(3, 4, 1, dtype="int32")
    assert x.dtype is np.int32
    np.testing.assert_array_equal(_np(x), np.eye(3, 4, 1))


@pytest.mark.parametrize("fn, val", [(mx.nd.zeros_like, 0), (mx.nd.ones_like, 1)])
def test_zeros_ones_like(fn, val):
    src = mx.nd.array([[1, 2, 3]], dtype="int64", ctx=mx.cpu(1))
    x = fn(src)
    assert x.shape == (1, 3) and x.dtype is np.int64 and x.context == mx.cpu(1)
    np.testing.assert_array_equal(_np(x), np.full((1, 3), val))


def test_creation_uses_current_context():
    with mx.cpu(2):
        assert mx.nd.zeros((2,)).context == mx.cpu(2)
        assert mx.nd.array([1]).context == mx.cpu(2)
    assert mx.nd.zeros((2,)).context == mx.cpu(0)


def test_waitall_and_wait_to_read():
    x = mx.nd.ones((3,)) * 2
    assert mx.nd.waitall() is None
    x.wait_to_read()
    np.testing.assert_array_equal(_np(x), [2, 2, 2])


def test_mixed_contexts_error_names_both():
    with pytest.raises(MXNetError) as ei:
        mx.nd.ones((2,), ctx=mx.cpu(0)) + mx.nd.ones((2,), ctx=mx.cpu(1))
    msg = str(ei.value)
    assert "cpu(0)" in msg and "cpu(1)" in msg


def test_reset_arrays_zeroes_in_place_as_mxnet(ctx):
    a, b = mx.nd.ones((2,), ctx=ctx), mx.nd.full((3, 2), 4.0, ctx=ctx)
    assert mx.nd.reset_arrays(a, b, num_arrays=2) == []
    assert a.asnumpy().tolist() == [0, 0] and not b.asnumpy().any()
    with pytest.raises(ValueError, match="num_arrays=3 but 2 arrays"):
        mx.nd.reset_arrays(a, b, num_arrays=3)
    with pytest.raises(TypeError, match="expected NDArrays"):
        mx.nd.reset_arrays(a, [1.0])


def test_mxnet_ndarray_method_details():
    a = mx.nd.ones((2, 3, 1))
    view = a.flatten(inplace=True)
    view[0, 0] = 5  # inplace: a view, as MXNet's
    assert a[0, 0, 0].asscalar() == 5
    copy = a.flatten()
    copy[0, 0] = 7
    assert a[0, 0, 0].asscalar() == 5 and copy.shape == (2, 3)
    assert a.expand_dims(0, inplace=True).shape == (1, 2, 3, 1)
    assert a.reshape_like(rhs=mx.nd.zeros((3, 2))).shape == (3, 2)
    assert bool(mx.nd.array([])) is False  # MXNet: an empty array is False
    b = mx.nd.array([[1.0, 3.0, 2.0], [0.0, -1.0, 4.0]])
    assert b.argmax_channel().asnumpy().tolist() == [1, 2]
    assert b.softmin().shape == (2, 3) and len(b.split_v2(2, axis=0)) == 2
    assert "Activation" in mx.operator.get_all_registered_operators()


@pytest.mark.parametrize("dtype", ["float16", "float64", "int32", "uint8", "int8"])
def test_arg_reductions_give_indices_in_the_data_dtype_as_mxnet(ctx, dtype):
    if dtype not in ctx.backend.dtypes:
        pytest.skip(f"{ctx.backend.name} has no {dtype} arrays")
    x = mx.nd.array([[1, 3, 2], [4, 0, 4]], ctx=ctx, dtype=dtype)
    for fn, want in ((mx.nd.argmax, [1, 0]), (mx.nd.argmin, [0, 1])):
        r = fn(x, axis=1)
        assert r.dtype == np.dtype(dtype) and r.asnumpy().tolist() == want
    assert mx.nd.argmax_channel(x).dtype == np.dtype(dtype)  # as its shape rule says
    assert mx.nd.argmax(x).dtype == np.dtype(dtype)
    wide = {"int8": 200, "uint8": 300, "float16": 3000}.get(dtype)
    if wide:  # MXNet wraps or rounds an index the dtype cannot hold: an error here
        with pytest.raises(mx.base.MXNetValueError, match=rf"argmax: .*{dtype}.*{wide} positions"):
            mx.nd.argmax(mx.nd.zeros((2, wide), ctx=ctx, dtype=dtype), axis=1)


def test_reductions_over_an_empty_axis_tuple_reduce_everything_as_mxnet(ctx):
    x = mx.nd.array(np.arange(6.0).reshape(2, 3), ctx=ctx)
    assert mx.nd.sum(x, axis=()).asnumpy().tolist() == [15.0]
    assert mx.nd.sum(x, axis=(), keepdims=True).shape == (1, 1)
    assert mx.nd.max(x, exclude=True).asnumpy().tolist() == [5.0]  # no axis: all, exclude or not
    assert mx.nd.norm(x, axis=()).shape == (1,)
    assert mx.nd.squeeze(mx.nd.ones((2, 1, 3), ctx=ctx), axis=()).shape == (2, 1, 3)


def test_integer_arange_steps_by_the_integer_step_as_mxnet():
    a = mx.nd.arange(1.3, 456.6, 1.3, dtype="int32").asnumpy()
    assert len(a) == 351 and a[:3].tolist() == [1, 2, 3] and a[-1] == 351


def test_gather_nd_out_of_bounds_is_an_index_error(ctx):
    data = mx.nd.array(np.arange(6.0).reshape(2, 3), ctx=ctx)
    with pytest.raises(IndexError, match="out of bounds for axis 1 with size 3"):
        mx.nd.gather_nd(data, mx.nd.array([[0, 1, 0], [0, 1, 3]], ctx=ctx))
    assert mx.nd.gather_nd(data, mx.nd.array([[0, -1], [0, -1]], ctx=ctx)).asnumpy().tolist() \
        == [0.0, 5.0]


def test_ieee_results_come_without_numpy_warnings():
    """As MXNet's kernels: log(0), 1/0, sqrt(-1), exp(1e4) give -inf, inf, nan, inf silently;
    NumPy code of the user's own still warns. (A subprocess: pytest shows every warning.)"""
    import os
    import subprocess
    import sys
    script = ("import numpy as np, mxplug as mx\n"
              "got = [mx.nd.log(mx.nd.array([0.0])), mx.nd.array([1.0]) / 0,\n"
              "       mx.nd.sqrt(mx.nd.array([-1.0])), mx.nd.exp(mx.nd.array([1e4]))]\n"
              "print([float(g.asscalar()) for g in got])\n"
              "np.log(np.zeros(1))\n")
    env = {**os.environ, "PYTHONWARNINGS": "default"}  # not whatever the caller set
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, env=env)
    assert res.returncode == 0 and res.stdout.strip() == "[-inf, inf, nan, inf]", res.stderr
    assert res.stderr.count("RuntimeWarning") == 1 and "encountered in log" in res.stderr


def test_float_arange_is_computed_in_its_dtype_as_mxnet(ctx):
    # MXNet: start + i * step in float32, so 0.1 steps carry float32 rounding and hit 0 exactly
    got = mx.nd.arange(-8.0, 8.0, 0.1, ctx=ctx)[78:82].asnumpy().tolist()
    assert got == [-0.19999980926513672, -0.09999990463256836, 0.0, 0.10000038146972656]
    assert mx.nd.arange(0, 1, 0.1, ctx=ctx)[-1].asscalar() == np.float32(0.90000004)
    assert mx.nd.arange(0, 1, 0.1, dtype="float64", ctx=ctx)[-1].asscalar() == 0.9
