"""mx.test_utils: Defaults, tolerances and random data."""

from __future__ import annotations

import numbers
from collections import OrderedDict

import numpy as np
import numpy.random as rnd

import mxplug as mx

from ..base import MXNetNotImplementedError
from ..context import Context, current_context

# ---------------------------------------------------------------------------------------------
# Defaults and tolerances


def default_context():
    """Get default context for regression test."""
    return current_context()


def set_default_context(ctx):
    """Set default context (of the current thread)."""
    from ..context import _stack
    _stack()[-1] = Context(ctx)


def default_dtype():
    """Get default data type for regression test."""
    return np.float32


def default_rtols():
    """Get default relative tolerances for data comparisons involving each data type."""
    return {np.dtype(np.float16): 1e-2,
            np.dtype(np.float32): 1e-4,
            np.dtype(np.float64): 1e-5,
            np.dtype(np.bool_): 0,
            np.dtype(np.int8): 0,
            np.dtype(np.uint8): 0,
            np.dtype(np.int32): 0,
            np.dtype(np.uint32): 0,
            np.dtype(np.int64): 0,
            np.dtype(np.uint64): 0}


def default_atols():
    """Get default absolute tolerances for data comparisons involving each data type."""
    return {np.dtype(np.float16): 1e-1,
            np.dtype(np.float32): 1e-3,
            np.dtype(np.float64): 1e-20,
            np.dtype(np.bool_): 0,
            np.dtype(np.int8): 0,
            np.dtype(np.uint8): 0,
            np.dtype(np.int32): 0,
            np.dtype(np.uint32): 0,
            np.dtype(np.int64): 0,
            np.dtype(np.uint64): 0}


def default_numeric_eps():
    """Get default epsilon for finite difference gradient calculations with data type."""
    # powers of two: no bits are dropped when serving as an input delta
    return {np.dtype(np.float16): 1.0 / 2**6,
            np.dtype(np.float32): 1.0 / 2**9,
            np.dtype(np.float64): 1.0 / 2**14}


def effective_dtype(dat):
    """The dtype that decides the tolerance of comparisons involving ``dat`` (a NumPy array,
    an NDArray, or anything ``np.asarray`` takes).

    MXNet makes it float16 for float32 data on a GPU of compute capability >= 8.0 with TF32
    enabled (its float32 GEMMs and convolutions keep float16-like mantissas there); mxplug
    computes float32 as float32 on every backend, so it is the data's own dtype."""
    dtype = getattr(dat, "dtype", None)
    return np.dtype(dtype) if dtype is not None else np.asarray(dat).dtype


def get_tolerance(dat, tol, default_tol):
    """The tolerance for comparisons involving ``dat``: ``tol`` itself when it is a number;
    otherwise (None, or a dict dtype -> float) ``tol``'s entry for ``dat``'s effective dtype,
    or ``default_tol``'s (a dict dtype -> float) when it has none."""
    if isinstance(tol, numbers.Number):
        return tol
    dtype = effective_dtype(dat)
    # keys as dtypes: {np.float32: ...} means {np.dtype(np.float32): ...} (MXNet would skip it)
    tol = {} if tol is None else {np.dtype(k): v for k, v in tol.items()}
    if dtype in tol:
        return tol[dtype]
    if dtype not in default_tol and dtype.kind in "biu":  # exact types MXNet's tables omit
        return 0
    return default_tol[dtype]


def get_tols(x, y, rtol, atol):
    """``(rtol, atol)`` for comparing ``x`` and ``y``: each the larger of the two data's
    tolerances (:func:`get_tolerance` with :func:`default_rtols` / :func:`default_atols`)."""
    if isinstance(x, numbers.Number):
        x = np.array(x)
    if isinstance(y, numbers.Number):
        y = np.array(y)
    rtol = max(get_tolerance(x, rtol, default_rtols()), get_tolerance(y, rtol, default_rtols()))
    atol = max(get_tolerance(x, atol, default_atols()), get_tolerance(y, atol, default_atols()))
    return rtol, atol


def get_atol(atol=None, dtype=np.dtype(np.float64)):  # noqa: B008 -- MXNet's default
    """Get default numerical threshold for regression test."""
    return default_atols()[np.dtype(dtype)] if atol is None else atol


def get_rtol(rtol=None, dtype=np.dtype(np.float64)):  # noqa: B008 -- MXNet's default
    """Get default numerical threshold for regression test."""
    return default_rtols()[np.dtype(dtype)] if rtol is None else rtol


def get_etol(etol=None):
    """Get default numerical threshold for regression test."""
    return 0 if etol is None else etol


# ---------------------------------------------------------------------------------------------
# Random data


def random_arrays(*shapes):
    """Generate some random numpy arrays."""
    arrays = [np.array(np.random.randn(), dtype=default_dtype()) if len(s) == 0
              else np.random.randn(*s).astype(default_dtype()) for s in shapes]
    return arrays[0] if len(arrays) == 1 else arrays


def random_uniform_arrays(*shapes, **kwargs):
    """Generate some random numpy arrays, uniform in [``low``, ``high``)."""
    low = kwargs.pop("low", 0.0)
    high = kwargs.pop("high", 1.0)
    dtype = kwargs.pop("dtype", default_dtype())
    if kwargs:
        raise TypeError("Got unexpected argument/s : " + str(kwargs.keys()))
    return [np.random.uniform(low, high, size=s).astype(dtype) for s in shapes]


def random_sample(population, k):
    """Return a k length list of the elements chosen from the population sequence."""
    assert 0 <= k <= len(population)
    population_copy = population[:]
    np.random.shuffle(population_copy)
    return population_copy[0:k]


def _sorted_items(d):
    return sorted(d.items(), key=lambda t: t[0])


def _sorted_dict(d):
    return OrderedDict(_sorted_items(d))


def _no_sparse(what, stype):
    raise MXNetNotImplementedError(
        f"{what}: storage type {stype!r} is not supported by mxplug (dense arrays only, "
        f"stype='default')")


def rand_sparse_ndarray(shape, stype, density=None, dtype=None, distribution=None,
                        data_init=None, rsp_indices=None, modifier_func=None,
                        shuffle_csr_indices=False, ctx=None):
    """MXNet's random sparse array: not available (mxplug has dense storage only)."""
    _no_sparse("rand_sparse_ndarray", stype)


def rand_ndarray(shape, stype="default", density=None, dtype=None, modifier_func=None,
                 shuffle_csr_indices=False, distribution=None, ctx=None):
    """A random (standard normal) NDArray of ``shape`` on ``ctx`` (default context)."""
    if stype != "default":
        _no_sparse("rand_ndarray", stype)
    ctx = ctx if ctx else default_context()
    return mx.nd.array(random_arrays(shape), dtype=dtype, ctx=ctx)


def create_sparse_array(shape, stype, data_init=None, rsp_indices=None, dtype=None,
                        modifier_func=None, density=.5, shuffle_csr_indices=False):
    """MXNet's sparse array factory: not available (mxplug has dense storage only)."""
    _no_sparse("create_sparse_array", stype)


def create_sparse_array_zd(shape, stype, density, data_init=None, rsp_indices=None,
                           dtype=None, modifier_func=None, shuffle_csr_indices=False):
    """MXNet's sparse array factory: not available (mxplug has dense storage only)."""
    _no_sparse("create_sparse_array_zd", stype)


def assign_each(the_input, function):
    """Return ndarray composed of passing each array value through some function."""
    if function is None:
        return np.array(the_input)
    flat = [function(v) for v in np.asarray(the_input).ravel()]
    return np.array(flat, dtype=np.float64).reshape(np.shape(the_input))


def assign_each2(input1, input2, function):
    """Return ndarray composed of passing two array values through some function."""
    if function is None:
        return np.array(input1)
    assert input1.shape == input2.shape
    flat = [function(u, v) for u, v in zip(np.ravel(input1), np.ravel(input2))]
    return np.array(flat, dtype=np.float64).reshape(input1.shape)


def create_2d_tensor(rows, columns, dtype=np.int64, ctx=None):
    """``rows x columns`` with row ``i`` all ``i`` (MXNet's large-tensor test input)."""
    a = mx.nd.arange(0, rows, dtype=dtype, ctx=ctx).reshape(rows, 1)
    return mx.nd.broadcast_to(a, shape=(a.shape[0], columns))


def create_vector(size, dtype=np.int64):
    """``arange(size)`` (MXNet's large-vector test input)."""
    return mx.nd.arange(0, size, dtype=dtype)


def get_identity_mat(size):
    """The ``size x size`` float32 identity matrix (MXNet's large-matrix test input)."""
    return mx.nd.eye(size)


def get_identity_mat_batch(size):
    """Two stacked ``size x size`` identity matrices (MXNet's large-matrix test input)."""
    a_np = get_identity_mat(size).asnumpy()
    return mx.nd.array([a_np, a_np])


def shuffle_csr_column_indices(csr):
    """Shuffle the column indices of each row of a CSR matrix in place (one with ``indptr``
    and ``indices`` arrays, e.g. ``scipy.sparse.csr_matrix``: mxplug has no CSRNDArray), to
    check that unordered indices are accepted."""
    row_count = len(csr.indptr) - 1
    for i in range(row_count):
        start_index = csr.indptr[i]
        end_index = csr.indptr[i + 1]
        sublist = np.array(csr.indices[start_index:end_index])
        np.random.shuffle(sublist)
        csr.indices[start_index:end_index] = sublist


def rand_shape_2d(dim0=10, dim1=10, allow_zero_size=False):
    low = 0 if allow_zero_size else 1
    return rnd.randint(low, dim0 + 1), rnd.randint(low, dim1 + 1)


def rand_shape_3d(dim0=10, dim1=10, dim2=10, allow_zero_size=False):
    low = 0 if allow_zero_size else 1
    return rnd.randint(low, dim0 + 1), rnd.randint(low, dim1 + 1), rnd.randint(low, dim2 + 1)


def rand_shape_nd(num_dim, dim=10, allow_zero_size=False):
    low = 0 if allow_zero_size else 1
    return tuple(rnd.randint(low, dim + 1, size=num_dim))


def rand_coord_2d(x_low, x_high, y_low, y_high):
    x = np.random.randint(x_low, x_high, dtype=np.int64)
    y = np.random.randint(y_low, y_high, dtype=np.int64)
    return x, y


def np_reduce(dat, axis, keepdims, numpy_reduce_func):
    """Reduce ``dat`` over ``axis`` (None, an int or a list) with ``numpy_reduce_func``
    (``np.sum``, ``np.max``, ...), one axis at a time."""
    if isinstance(axis, int):
        axis = [axis]
    else:
        axis = list(axis) if axis is not None else range(len(dat.shape))
    ret = dat
    for i in reversed(sorted(axis)):
        ret = numpy_reduce_func(ret, axis=i)
    if keepdims:
        keepdims_shape = list(dat.shape)
        for i in axis:
            keepdims_shape[i] = 1
        ret = ret.reshape(tuple(keepdims_shape))
    return ret
