"""MXNet 1.x's ``mx.test_utils``: the helpers MXNet's own unit tests are written with.

Same names, signatures, defaults and semantics as MXNet 1.9's ``python/mxnet/test_utils.py``
(``from mxplug.test_utils import *`` gives what ``from mxnet.test_utils import *`` gives,
``np`` and ``mx`` included), built on mxplug's public API (``mx.nd``, ``Symbol.bind`` /
``simple_bind``, ``Executor``), so every helper runs on every backend.

Where mxplug differs from MXNet, and why:

- Sparse storage (``csr``, ``row_sparse``) does not exist here: ``rand_ndarray`` with such an
  ``stype``, ``rand_sparse_ndarray`` and ``create_sparse_array`` raise
  :class:`~mxplug.base.MXNetNotImplementedError` naming the stype.
- Nothing is downloaded (the machines running these tests are offline). ``download`` returns
  the file when it is already where MXNet would have written it, and otherwise raises
  :class:`OfflineDataError` naming the URL and the path to put the file at; ``get_mnist``,
  ``get_cifar10``, ... then read the files as MXNet does.
- ``assert_almost_equal`` compares on the host (MXNet compares two NDArrays of the same context
  with ``nd.contrib.allclose``: the same formula). It prints MXNet's report and raises MXNet's
  message, but sets NumPy's print options only while building the message (MXNet leaves
  ``threshold=4`` set for the rest of the process).
- ``check_symbolic_forward`` and ``simple_forward`` bind with ``grad_req='null'``: MXNet binds
  without gradient arrays, which there means no gradient; mxplug's ``bind`` would allocate them.
- ``set_default_context`` replaces the innermost default of the current thread (MXNet sets its
  thread-local default, which a surrounding ``with ctx:`` restores on exit: the same effect).
- ``list_gpus()`` counts CUDA GPUs (``mx.num_gpus()``); ``check_consistency`` works across any
  contexts, e.g. ``[{'ctx': mx.cpu(0), ...}, {'ctx': mx.opencl(0), ...}]``.
- ``is_op_runnable()`` is always True and ``has_tvm_ops()`` False: there are no TVM kernels.
"""

from __future__ import annotations

import bz2
import gzip
import json
import numbers
import os
import struct
import sys
import time
import traceback
import zipfile
from collections import OrderedDict
from contextlib import contextmanager

import numpy as np
import numpy.random as rnd
import numpy.testing as npt

import mxplug as mx

# Re-exported: MXNet's ``from mxnet.test_utils import *`` carries these names into test files.
from .base import MXNetError, MXNetFileError, MXNetNotImplementedError  # noqa: F401
from .context import Context, current_context  # noqa: F401
from .ndarray import array
from .symbol import Symbol

# ---------------------------------------------------------------------------------------------
# Defaults and tolerances


def default_context():
    """Get default context for regression test."""
    return current_context()


def set_default_context(ctx):
    """Set default context (of the current thread)."""
    from .context import _stack
    _stack()[-1] = Context(ctx)


def default_dtype():
    """Get default data type for regression test."""
    return np.float32


def get_atol(atol=None):
    """Get default numerical threshold for regression test."""
    return 1e-20 if atol is None else atol


def get_rtol(rtol=None):
    """Get default numerical threshold for regression test."""
    return 1e-5 if rtol is None else rtol


def get_etol(etol=None):
    """Get default numerical threshold for regression test."""
    return 0 if etol is None else etol


def get_tolerance(rtol, ctx):
    """The atol for one ``check_consistency`` context dict: ``atol``, or ``atol_mult * rtol``,
    or ``rtol``."""
    if "atol" in ctx:
        return ctx["atol"]
    if "atol_mult" in ctx:
        return ctx["atol_mult"] * rtol
    return rtol


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


# ---------------------------------------------------------------------------------------------
# Comparisons


def _host(x):
    """NDArrays (of any backend) to NumPy; everything else unchanged."""
    return x.asnumpy() if isinstance(x, mx.nd.NDArray) else x


def find_max_violation(a, b, rtol=None, atol=None):
    """Finds and returns the location of maximum violation."""
    rtol = get_rtol(rtol)
    atol = get_atol(atol)
    a, b = _host(a), _host(b)
    # inf == inf counts as no violation, as in np.allclose
    with np.errstate(invalid="ignore", over="ignore"):
        absdiff = np.where(np.equal(a, b), 0, np.abs(a - b))
        tol = atol + rtol * np.abs(b)
        violation = absdiff / (tol + 1e-20)
    loc = np.argmax(violation)
    idx = tuple(int(i) for i in np.unravel_index(loc, violation.shape))
    return idx, np.max(violation)


def same(a, b):
    """Test if two NumPy arrays are the same."""
    return np.array_equal(_host(a), _host(b))


def checkShapes(a, b):  # noqa: N802 -- MXNet's name
    if a.shape != b.shape:
        msg = npt.build_err_msg([a, b], err_msg=f"a.shape = {a.shape} and b.shape = {b.shape} "
                                                "are not equal")
        raise AssertionError(msg)


def almost_equal(a, b, rtol=None, atol=None, equal_nan=False, use_broadcast=True):
    """Test if two numpy arrays are almost equal."""
    a, b = _host(a), _host(b)
    if not use_broadcast:
        checkShapes(a, b)
    return np.allclose(a, b, rtol=get_rtol(rtol), atol=get_atol(atol), equal_nan=equal_nan)


def locationError(a, b, index, names, maxError=False):  # noqa: N802, N803 -- MXNet's names
    """Create element mismatch comment."""
    maximum = "maximum " if maxError else ""
    return (f"Location of {maximum}error: {index}, {names[0]}={a[index]:.8f}, "
            f"{names[1]}={b[index]:.8f}")


def _raise_mismatch(a, b, rtol, atol, names, equal_nan, mismatches):
    """Print MXNet's list of the largest violations and raise its AssertionError."""
    a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
    index, rel = find_max_violation(a, b, rtol, atol)
    index_err, rel_err = index, rel
    print(f"\n*** Maximum errors for vector of size {a.size}:  rtol={rtol}, atol={atol}\n")
    a_tmp, b_tmp = a.copy(), b.copy()
    i = 1
    while i <= a.size:
        if i <= mismatches[0]:
            print(f"{i:3d}: Error {rel:f}  {locationError(a, b, index, names)}")
        a_tmp[index] = b_tmp[index] = 0
        if almost_equal(a_tmp, b_tmp, rtol, atol, equal_nan=equal_nan):
            break
        i += 1
        if i <= mismatches[1] or mismatches[1] <= 0:
            index, rel = find_max_violation(a_tmp, b_tmp, rtol, atol)
        else:
            break
    degree = "at least " if mismatches[1] > 0 and i > mismatches[1] else ""
    err_msg = (f"Error {rel_err:f} exceeds tolerance rtol={rtol:e}, atol={atol:e} "
               f"(mismatch {degree}{100 * i / a.size:f}%).\n"
               + locationError(a, b, index_err, names, maxError=True))
    with np.printoptions(threshold=4, suppress=True):
        msg = npt.build_err_msg([a, b], err_msg=err_msg)
    raise AssertionError(msg)


def assert_almost_equal(a, b, rtol=None, atol=None, names=("a", "b"), equal_nan=False,
                        use_broadcast=True, mismatches=(10, 10)):
    """Test that two arrays (NumPy or NDArray, any context) are almost equal:
    ``|a - b| <= atol + rtol * |b|`` elementwise. Raise MXNet's message if not.

    Parameters
    ----------
    a, b : np.ndarray or NDArray
    rtol, atol : None or float
        Thresholds; ``None`` takes :func:`get_rtol` / :func:`get_atol`.
    names : tuple of str
        The names of ``a`` and ``b`` in the error message.
    equal_nan : bool
        Whether NaN equals NaN.
    mismatches : tuple of int
        How many violations to print (``mismatches[0]``) and to count (``mismatches[1]``).
    """
    a, b = _host(a), _host(b)
    if not use_broadcast:
        checkShapes(a, b)
    rtol = get_rtol(rtol)
    atol = get_atol(atol)
    if getattr(a, "dtype", None) == np.bool_ and getattr(b, "dtype", None) == np.bool_:
        np.testing.assert_equal(a, b)
        return
    if almost_equal(a, b, rtol, atol, equal_nan=equal_nan):
        return
    _raise_mismatch(a, b, rtol, atol, names, equal_nan, mismatches)


def assert_allclose(a, b, rtol=1e-07, atol=0, equal_nan=True):
    assert_almost_equal(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def assert_almost_equal_with_err(a, b, rtol=None, atol=None, etol=None, names=("a", "b"),
                                 equal_nan=False, mismatches=(10, 10)):
    """Like :func:`assert_almost_equal`, but passes while the fraction of elements out of
    tolerance is at most ``etol`` (``etol=0``, the default, is assert_almost_equal)."""
    etol = get_etol(etol)
    if etol <= 0:
        assert_almost_equal(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
        return
    rtol, atol = get_rtol(rtol), get_atol(atol)
    a, b = _host(a), _host(b)
    equals = np.isclose(a, b, rtol=rtol, atol=atol)
    err = 1 - np.count_nonzero(equals) / equals.size
    if err > etol:
        _raise_mismatch(a, b, rtol, atol, names, equal_nan, mismatches)


def _zero_nans(a, b):
    a, b = np.copy(_host(a)), np.copy(_host(b))
    nan_mask = np.logical_or(np.isnan(a), np.isnan(b))
    a[nan_mask] = 0
    b[nan_mask] = 0
    return a, b


def almost_equal_ignore_nan(a, b, rtol=None, atol=None):
    """Test that two NumPy arrays are almost equal (ignoring NaN in either array)."""
    a, b = _zero_nans(a, b)
    return almost_equal(a, b, rtol, atol)


def assert_almost_equal_ignore_nan(a, b, rtol=None, atol=None, names=("a", "b")):
    """:func:`assert_almost_equal`, ignoring positions where either array is NaN."""
    a, b = _zero_nans(a, b)
    assert_almost_equal(a, b, rtol, atol, names)


def reldiff(a, b):
    """``sum|a - b| / (sum|a| + sum|b|)``, 0 when the arrays are equal."""
    a, b = _host(a), _host(b)
    diff = np.sum(np.abs(a - b))
    norm = np.sum(np.abs(a)) + np.sum(np.abs(b))
    if diff == 0:
        return 0
    return diff / norm


def assert_exception(f, exception_type, *args, **kwargs):
    """Test that function f will throw an exception of type given by `exception_type`."""
    try:
        f(*args, **kwargs)
    except exception_type:
        return
    raise AssertionError(f"{getattr(f, '__name__', f)} did not raise "
                         f"{getattr(exception_type, '__name__', exception_type)}")


def retry(n):
    """Retry n times before failing for stochastic test cases."""
    assert n > 0

    def decorate(f):
        def wrapper(*args, **kwargs):
            err = None
            for _ in range(n):
                try:
                    f(*args, **kwargs)
                except AssertionError as e:
                    err = e
                    continue
                return
            raise err
        return wrapper
    return decorate


def same_array(array1, array2):
    """Check whether two NDArrays share the same memory block (by writing through one)."""
    array1[:] += 1
    if not same(array1.asnumpy(), array2.asnumpy()):
        array1[:] -= 1
        return False
    array1[:] -= 1
    return same(array1.asnumpy(), array2.asnumpy())


def compare_ndarray_tuple(t1, t2, rtol=None, atol=None):
    """Compare (nested tuples of) arrays with :func:`assert_almost_equal`."""
    if t1 is None or t2 is None:
        return
    if isinstance(t1, tuple):
        for s1, s2 in zip(t1, t2):
            compare_ndarray_tuple(s1, s2, rtol, atol)
    else:
        assert_almost_equal(t1, t2, rtol=rtol, atol=atol)


def collapse_sum_like(a, shape):
    """Sum ``a`` over the axes it was broadcast along from ``shape``."""
    assert len(a.shape) >= len(shape)
    if np.prod(shape) == 0 or a.size == 0:
        return np.zeros(shape, dtype=a.dtype)
    ndim_diff = len(a.shape) - len(shape)
    axes = list(range(ndim_diff))
    for i, s in enumerate(shape):
        if s != a.shape[i + ndim_diff]:
            assert s == 1
            axes.append(i + ndim_diff)
    return np.sum(a, axis=tuple(axes)).reshape(shape)


def same_symbol_structure(sym1, sym2):
    """Whether the two symbols' JSON graphs have the same op at every node id."""
    nodes = json.loads(sym1.tojson())["nodes"]
    nodes2 = json.loads(sym2.tojson())["nodes"]
    return all(n1["op"] == n2["op"] for n1, n2 in zip(nodes, nodes2))


# ---------------------------------------------------------------------------------------------
# Symbols: forward, backward, finite differences, consistency across contexts


def _as_nd(v, ctx, dtype):
    """A location value as an NDArray on ``ctx``: NumPy input takes ``dtype`` (or its own
    with ``"asnumpy"``); an NDArray is used as given (as in MXNet), moved to ``ctx`` if it
    lives elsewhere."""
    if isinstance(v, mx.nd.NDArray):
        return v.as_in_context(ctx)
    v = np.asarray(v)
    return mx.nd.array(v, ctx=ctx, dtype=v.dtype if dtype == "asnumpy" else dtype)


def _check_dtype(dtype, allow_asnumpy=True):
    if allow_asnumpy and isinstance(dtype, str) and dtype == "asnumpy":
        return
    assert np.dtype(dtype) in (np.float16, np.float32, np.float64), \
        f"dtype must be float16, float32 or float64{' or asnumpy' * allow_asnumpy}, got {dtype}"


def _parse_location(sym, location, ctx, dtype=default_dtype()):
    """``location`` (a list in ``sym.list_arguments()`` order, or a dict by name) as a
    name-sorted dict of NDArrays on ``ctx``."""
    assert isinstance(location, (dict, list, tuple))
    _check_dtype(dtype)
    if isinstance(location, dict):
        if set(location.keys()) != set(sym.list_arguments()):
            raise ValueError("Symbol arguments and keys of the given location do not match."
                             f"symbol args:{set(sym.list_arguments())}, "
                             f"location.keys():{set(location.keys())}")
    else:
        location = dict(zip(sym.list_arguments(), location))
    return _sorted_dict({k: _as_nd(v, ctx, dtype) for k, v in location.items()})


def _parse_aux_states(sym, aux_states, ctx, dtype=default_dtype()):
    """``aux_states`` (a list in ``sym.list_auxiliary_states()`` order, or a dict) as a dict
    of NDArrays on ``ctx``; None stays None."""
    _check_dtype(dtype)
    if aux_states is None:
        return None
    if isinstance(aux_states, dict):
        if set(aux_states.keys()) != set(sym.list_auxiliary_states()):
            raise ValueError("Symbol aux_states names and given aux_states do not match."
                             f"symbol aux_names:{set(sym.list_auxiliary_states())}, "
                             f"aux_states.keys:{set(aux_states.keys())}")
    elif isinstance(aux_states, (list, tuple)):
        aux_states = dict(zip(sym.list_auxiliary_states(), aux_states))
    return {k: _as_nd(v, ctx, dtype) for k, v in aux_states.items()}


def simple_forward(sym, ctx=None, is_train=False, **inputs):
    """Run ``sym`` forward on NumPy ``inputs`` (by argument name); the output as NumPy, or a
    list of them when there are several."""
    ctx = ctx or default_context()
    inputs = {k: array(v, ctx=ctx) for k, v in inputs.items()}
    exe = sym.bind(ctx, args=inputs, grad_req="null")
    exe.forward(is_train=is_train)
    outputs = [x.asnumpy() for x in exe.outputs]
    return outputs[0] if len(outputs) == 1 else outputs


def numeric_grad(executor, location, aux_states=None, eps=1e-4, use_forward_train=True,
                 dtype=default_dtype()):
    """Central finite differences of ``sum(executor.outputs[0])`` at ``location`` (a dict of
    NumPy arrays by argument name), one element at a time, computed in ``dtype``."""
    _check_dtype(dtype, allow_asnumpy=False)
    dtype = np.dtype(dtype)
    approx_grads = {k: np.zeros(np.shape(v), dtype=dtype) for k, v in location.items()}
    for k, v in location.items():
        executor.arg_dict[k][:] = np.asarray(v).astype(dtype)
    for k in location:  # own, writable, C-ordered copies: perturbed in place below
        location[k] = np.array(location[k], order="C")

    def run():
        if aux_states is not None:  # a training forward moves the aux states: reset them
            for key, val in aux_states.items():
                executor.aux_dict[key][:] = val
        executor.forward(is_train=use_forward_train)
        return executor.outputs[0].asnumpy()

    for k, v in location.items():
        if v.dtype.kind != "f":
            continue
        old_value = v.copy()
        flat = v.reshape(-1)  # a view: location is C-contiguous
        for i in range(v.size):
            flat[i] += eps / 2.0
            executor.arg_dict[k][:] = v.astype(dtype)
            f_peps = run()
            flat[i] -= eps
            executor.arg_dict[k][:] = v.astype(dtype)
            f_neps = run()
            approx_grads[k].ravel()[i] = (f_peps - f_neps).sum() / eps
            flat[i] = old_value.ravel()[i]
        executor.arg_dict[k][:] = old_value.astype(dtype)
    return approx_grads


def _grad_nodes_and_req(sym, grad_nodes):
    if grad_nodes is None:
        grad_nodes = sym.list_arguments()
        return grad_nodes, {k: "write" for k in grad_nodes}
    if isinstance(grad_nodes, (list, tuple)):
        grad_nodes = list(grad_nodes)
        return grad_nodes, {k: "write" for k in grad_nodes}
    if isinstance(grad_nodes, dict):
        return list(grad_nodes.keys()), grad_nodes.copy()
    raise ValueError(f"grad_nodes must be None, a list or a dict, got {grad_nodes!r}")


def _check_grads(expected, actual, before, req, rtol, atol, names, equal_nan=False):
    """Compare one argument's gradient as its grad_req ``req`` says: 'write' -> ``actual``,
    'add' -> ``actual - before``, 'null' -> untouched ``before``."""
    if req == "write":
        assert_almost_equal(expected, actual, rtol, atol, names, equal_nan=equal_nan)
    elif req == "add":
        assert_almost_equal(expected, actual - before, rtol, atol, names, equal_nan=equal_nan)
    elif req == "null":
        assert_almost_equal(before, actual, rtol, atol, names, equal_nan=equal_nan)
    else:
        raise ValueError(f"Invalid grad_req {req} for argument {names[1]}")


def check_numeric_gradient(sym, location, aux_states=None, numeric_eps=1e-3, rtol=1e-2,
                           atol=None, grad_nodes=None, use_forward_train=True, ctx=None,
                           grad_stype_dict=None, dtype=default_dtype()):
    """Verify a symbol's backward pass against finite differences (Theano's ``verify_grad``).

    The output is projected on a random positive tensor, ``sum(sym * proj)``, whose gradient
    by every node in ``grad_nodes`` (all arguments by default; a dict gives each a grad_req)
    is compared with central differences of step ``numeric_eps``.

    Parameters
    ----------
    sym : Symbol
        A symbol with one output.
    location : list or dict of np.ndarray
        The value of every argument (a list in ``sym.list_arguments()`` order).
    aux_states : list or dict of np.ndarray, optional
    numeric_eps, rtol, atol : float
    grad_nodes : None, list or dict of str
    use_forward_train : bool
        ``is_train`` of the finite-difference forwards.
    ctx : Context, optional
    dtype : np.float16, np.float32 or np.float64
    """
    _check_dtype(dtype, allow_asnumpy=False)
    if np.dtype(dtype) in (np.float32, np.float16):
        assert numeric_eps >= 1e-5  # no precision for smaller steps
    if grad_stype_dict and any(v not in (None, "default") for v in grad_stype_dict.values()):
        _no_sparse("check_numeric_gradient", grad_stype_dict)
    ctx = ctx or default_context()
    location = _parse_location(sym=sym, location=location, ctx=ctx, dtype=dtype)
    location_npy = {k: v.asnumpy() for k, v in location.items()}
    aux_states = _parse_aux_states(sym=sym, aux_states=aux_states, ctx=ctx, dtype=dtype)
    aux_states_npy = None if aux_states is None else {
        k: v.asnumpy() for k, v in aux_states.items()}
    grad_nodes, grad_req = _grad_nodes_and_req(sym, grad_nodes)

    _, out_shape, _ = sym.infer_shape(**{k: v.shape for k, v in location.items()})
    proj = mx.sym.Variable("__random_proj")
    out = mx.sym.make_loss(sym * proj)
    # not too small: tiny weights lose the numerical gradient in rounding
    proj_value = np.random.rand(*out_shape[0]) + 0.1
    location = dict(location)
    location["__random_proj"] = mx.nd.array(proj_value, ctx=ctx, dtype=dtype)
    args_grad_npy = {k: np.random.normal(0, 0.01, size=location[k].shape) for k in grad_nodes}
    args_grad_npy["__random_proj"] = np.random.normal(0, 0.01, size=out_shape[0])
    args_grad = {k: mx.nd.array(v, ctx=ctx, dtype=dtype) for k, v in args_grad_npy.items()}

    executor = out.bind(ctx, grad_req=grad_req, args=location, args_grad=args_grad,
                        aux_states=aux_states)
    if len(executor.arg_arrays) != len(location):
        raise ValueError("Executor arg_arrays and and location len do not match."
                         f"Got {len(executor.arg_arrays)} inputs and {len(location)} locations")
    assert len(executor.outputs) == 1
    executor.forward(is_train=True)
    executor.backward()
    symbolic_grads = {k: executor.grad_dict[k].asnumpy() for k in grad_nodes}

    # differences only for the checked nodes (MXNet also perturbs the others, e.g. labels,
    # and discards the result: the same assertions at a fraction of the forwards)
    numeric_gradients = numeric_grad(executor, {k: location_npy[k] for k in grad_nodes},
                                     aux_states_npy, eps=numeric_eps,
                                     use_forward_train=use_forward_train, dtype=dtype)
    for name in grad_nodes:
        _check_grads(numeric_gradients[name], symbolic_grads[name], args_grad_npy[name],
                     grad_req[name], rtol, atol, (f"NUMERICAL_{name}", f"BACKWARD_{name}"))


def check_symbolic_forward(sym, location, expected, rtol=1E-4, atol=None, aux_states=None,
                           ctx=None, equal_nan=False, dtype=default_dtype()):
    """Compare a symbol's forward outputs (``is_train=False``) with ``expected``.

    Parameters
    ----------
    sym : Symbol
    location : list or dict of np.ndarray
        The value of every argument (a list in ``sym.list_arguments()`` order).
    expected : list or dict of np.ndarray
        One per output (a dict by ``sym.list_outputs()`` name).
    rtol, atol : float
    aux_states : list or dict of np.ndarray, optional
    ctx : Context, optional
    equal_nan : bool
    dtype : "asnumpy" or a float dtype
        The dtype of the arrays made from ``location``.

    Returns
    -------
    list of NDArray
        The executor's outputs.
    """
    _check_dtype(dtype)
    ctx = ctx or default_context()
    location = _parse_location(sym=sym, location=location, ctx=ctx, dtype=dtype)
    aux_states = _parse_aux_states(sym=sym, aux_states=aux_states, ctx=ctx, dtype=dtype)
    if isinstance(expected, dict):
        expected = [expected[k] for k in sym.list_outputs()]
    executor = sym.bind(ctx=ctx, args=location, aux_states=aux_states, grad_req="null")
    executor.forward(is_train=False)
    outputs = [x.asnumpy() for x in executor.outputs]
    for output_name, expect, output in zip(sym.list_outputs(), expected, outputs):
        assert_almost_equal(expect, output, rtol, atol,
                            (f"EXPECTED_{output_name}", f"FORWARD_{output_name}"),
                            equal_nan=equal_nan)
    return executor.outputs


def _as_out_grads(out_grads, sym, ctx, dtype):
    """``out_grads`` (None, an array, a list, or a dict by output name) as a list of
    NDArrays, None for the default head gradient."""
    if out_grads is None:
        return None
    if isinstance(out_grads, dict):
        out_grads = [out_grads[k] for k in sym.list_outputs()]
    elif not isinstance(out_grads, (list, tuple)):
        out_grads = [out_grads]
    return [_as_nd(g, ctx, dtype) for g in out_grads]


def check_symbolic_backward(sym, location, out_grads, expected, rtol=1e-5, atol=None,
                            aux_states=None, grad_req="write", ctx=None, grad_stypes=None,
                            equal_nan=False, dtype=default_dtype()):
    """Compare a symbol's gradients (after ``forward(is_train=True)`` and
    ``backward(out_grads)``) with ``expected``.

    Gradient arrays start as random normal values, so ``grad_req='add'`` is checked as
    ``grad - start`` and ``'null'`` as "left untouched".

    Parameters
    ----------
    sym : Symbol
    location : list or dict of np.ndarray
        The value of every argument (a list in ``sym.list_arguments()`` order).
    out_grads : None, list or dict of np.ndarray
        The head gradients, one per output (None: ones).
    expected : list or dict of np.ndarray
        The expected gradients (a list in ``sym.list_arguments()`` order).
    rtol, atol : float
    aux_states : list or dict of np.ndarray, optional
    grad_req : str, list or dict of str
        'write', 'add' or 'null', for all arguments or each.
    ctx : Context, optional
    equal_nan : bool
    dtype : "asnumpy" or a float dtype

    Returns
    -------
    dict of str to NDArray
        The gradient arrays.
    """
    _check_dtype(dtype)
    if grad_stypes and any(v not in (None, "default") for v in grad_stypes.values()):
        _no_sparse("check_symbolic_backward", grad_stypes)
    ctx = ctx or default_context()
    location = _parse_location(sym=sym, location=location, ctx=ctx, dtype=dtype)
    aux_states = _parse_aux_states(sym=sym, aux_states=aux_states, ctx=ctx, dtype=dtype)
    if isinstance(expected, (list, tuple)):
        expected = dict(zip(sym.list_arguments(), expected))
    # dirty the gradient buffers (deterministically, for reproducibility)
    args_grad_npy = {k: np.random.normal(size=np.shape(v)) for k, v in _sorted_items(expected)}
    args_grad_data = {
        k: mx.nd.array(v, ctx=ctx, dtype=expected[k].dtype if dtype == "asnumpy" else dtype)
        for k, v in args_grad_npy.items()}
    if isinstance(grad_req, str):
        grad_req = {k: grad_req for k in sym.list_arguments()}
    elif isinstance(grad_req, (list, tuple)):
        grad_req = dict(zip(sym.list_arguments(), grad_req))

    executor = sym.bind(ctx=ctx, args=location, args_grad=args_grad_data,
                        aux_states=aux_states, grad_req=grad_req)
    executor.forward(is_train=True)
    executor.backward(_as_out_grads(out_grads, sym, ctx, dtype))

    grads = {k: v.asnumpy() for k, v in args_grad_data.items()}
    for name in expected:
        _check_grads(expected[name], grads[name], args_grad_npy[name], grad_req[name], rtol,
                     atol, (f"EXPECTED_{name}", f"BACKWARD_{name}"), equal_nan=equal_nan)
    return args_grad_data


def check_speed(sym, location=None, ctx=None, N=20, grad_req=None, typ="whole",  # noqa: N803
                **kwargs):
    """Seconds per run of ``sym``: forward and backward (``typ='whole'``) or forward only
    (``'forward'``), averaged over ``N`` runs after one warm-up. Shapes come from
    ``location`` (a dict of NumPy arrays) or from ``kwargs``."""
    ctx = ctx or default_context()
    grad_req = grad_req or "write"
    if location is None:
        exe = sym.simple_bind(grad_req=grad_req, ctx=ctx, **kwargs)
        location = {k: np.random.normal(size=arr.shape, scale=1.0)
                    for k, arr in exe.arg_dict.items()}
    else:
        assert isinstance(location, dict), f'Expect dict, get "location"={location}'
        exe = sym.simple_bind(grad_req=grad_req, ctx=ctx,
                              **{k: v.shape for k, v in location.items()})
    for name, iarr in location.items():
        exe.arg_dict[name][:] = iarr.astype(exe.arg_dict[name].dtype)
    if typ not in ("whole", "forward"):
        raise ValueError('typ can only be "whole" or "forward".')
    train = typ == "whole"

    def run():
        exe.forward(is_train=train)
        if train:
            exe.backward(out_grads=exe.outputs)

    run()  # warm-up: compiles kernels and plans memory
    mx.nd.waitall()
    tic = time.time()
    for _ in range(N):
        run()
    mx.nd.waitall()
    return (time.time() - tic) / N


_CONSISTENCY_TOL = {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 1e-3,
                    np.dtype(np.float64): 1e-5, np.dtype(np.uint8): 0, np.dtype(np.int32): 0,
                    np.dtype(np.int64): 0}


def _widest(dtypes):
    """Index of the most precise dtype (floats over ints, then by size); the first on ties."""
    return max(range(len(dtypes)), key=lambda i: (dtypes[i].kind == "f", dtypes[i].itemsize))


def check_consistency(sym, ctx_list, scale=1.0, grad_req="write", arg_params=None,
                      aux_params=None, tol=None, raise_on_err=True, ground_truth=None,
                      equal_nan=False, use_uniform=False, rand_type=np.float64):
    """Check that a symbol gives the same outputs and gradients on several contexts/dtypes.

    Each entry of ``ctx_list`` is a dict of ``simple_bind`` arguments: ``ctx``, input shapes
    by name, optionally ``type_dict`` (and ``atol`` or ``atol_mult`` for the tolerance). All
    executors get the same random inputs; each is compared with the one of the most precise
    output dtype (or with ``ground_truth``), first in inference, then outputs and gradients
    in training (head gradients: the outputs themselves).

    Parameters
    ----------
    sym : Symbol or list of Symbol
        One symbol for all entries, or one per entry (same arguments and outputs).
    ctx_list : list of dict
    scale : float
        Standard deviation of the random normal inputs.
    grad_req : str, list or dict of str
    arg_params, aux_params : dict of np.ndarray, optional
        Fixed input values (aux states default to 0).
    tol : None, float, or dict of np.dtype to float
        The rtol per dtype (atol: see :func:`get_tolerance`).
    raise_on_err : bool
        False: print the mismatches and go on.
    ground_truth : dict of arrays, optional
    equal_nan, use_uniform : bool
    rand_type : np.dtype
        The dtype of the random inputs.

    Returns
    -------
    dict
        The ground truth: outputs (and gradients) by name.
    """
    if tol is None:
        tol = dict(_CONSISTENCY_TOL)
    elif isinstance(tol, numbers.Number):
        tol = {k: tol for k in _CONSISTENCY_TOL}
    assert len(ctx_list) > 1
    syms = [sym] * len(ctx_list) if isinstance(sym, Symbol) else list(sym)
    assert len(syms) == len(ctx_list)

    output_names = syms[0].list_outputs()
    arg_names = syms[0].list_arguments()
    exe_list = []
    for s, spec in zip(syms, ctx_list):
        assert s.list_arguments() == arg_names
        assert s.list_outputs() == output_names
        bind_args = {k: v for k, v in spec.items() if k not in ("atol", "atol_mult")}
        exe_list.append(s.simple_bind(grad_req=grad_req, **bind_args))

    arg_params = {} if arg_params is None else arg_params
    aux_params = {} if aux_params is None else aux_params
    for n, arr in exe_list[0].arg_dict.items():
        if n not in arg_params:
            if use_uniform:
                value = np.random.uniform(low=-0.92, high=0.92, size=arr.shape)
            else:
                value = np.random.normal(size=arr.shape, scale=scale)
            arg_params[n] = value.astype(rand_type)
    for n in exe_list[0].aux_dict:
        aux_params.setdefault(n, 0)
    for exe in exe_list:
        for name, arr in exe.arg_dict.items():
            arr[:] = arg_params[name]
        for name, arr in exe.aux_dict.items():
            arr[:] = aux_params[name]
        if grad_req == "add":
            for arr in exe.grad_arrays:
                if arr is not None:
                    arr[:] = 0

    dtypes = [np.dtype(exe.outputs[0].dtype) for exe in exe_list]
    max_idx = _widest(dtypes)
    gt = ground_truth

    def compare(phase, names_arrays, i):
        rtol = tol[dtypes[i]]
        atol = get_tolerance(rtol, ctx_list[i])
        for name, arr in names_arrays:
            if gt[name] is None:
                assert arr is None
                continue
            # cast the truth to the actual type (the symbol may be mixed-precision), on the
            # host: the truth's device may lack that type (PoCL has no float16)
            gtarr = np.asarray(_host(gt[name])).astype(arr.dtype)
            try:
                assert_almost_equal(arr, gtarr, rtol=rtol, atol=atol, equal_nan=equal_nan)
            except AssertionError as e:
                print(f"{phase} Err: ctx {i} vs ctx {max_idx} at {name}")
                traceback.print_exc()
                if raise_on_err:
                    raise e
                print(str(e))

    for exe in exe_list:
        exe.forward(is_train=False)
    if ground_truth is None:
        gt = dict(exe_list[max_idx].output_dict)
    for i, exe in enumerate(exe_list):
        if i != max_idx:
            compare("Predict", zip(output_names, exe.outputs), i)

    if grad_req != "null":
        for exe in exe_list:
            exe.forward(is_train=True)
            exe.backward(exe.outputs)
        if ground_truth is None:
            gt = dict(exe_list[max_idx].output_dict)
            gt.update(exe_list[max_idx].grad_dict)
        for i, exe in enumerate(exe_list):
            if i != max_idx:
                compare("Train", zip(output_names + arg_names,
                                     list(exe.outputs) + list(exe.grad_arrays)), i)
    return gt


def check_gluon_hybridize_consistency(net_builder, data_l, numpy_func=None, test_grad=True,
                                      rtol=1E-4, atol=1E-4):
    """Check that a HybridBlock gives the same outputs (and input gradients) hybridized and
    not. ``net_builder(prefix='net_')`` builds it afresh each time; all builds get the first
    one's parameter values. The network must not draw random numbers."""
    saved_out_np = saved_grad_np_l = np_params = None
    for hybridize in (False, True):
        for use_autograd in ((False, True) if test_grad else (False,)):
            net = net_builder(prefix="net_")
            net.initialize(None if np_params is None else _NumpyParamDictInit(np_params))
            if hybridize:
                net.hybridize()
            in_data_l = [ele.copy() for ele in data_l]
            if use_autograd:
                for ele in in_data_l:
                    ele.attach_grad()
                with mx.autograd.record():
                    out = net(*in_data_l)
                out.backward(out)
            else:
                out = net(*in_data_l)
            if np_params is None:
                np_params = {k: v.data().asnumpy() for k, v in net.collect_params().items()}
            if saved_out_np is None:
                saved_out_np = out.asnumpy()
            else:
                assert_almost_equal(out.asnumpy(), saved_out_np, rtol=rtol, atol=atol)
            if use_autograd:
                if saved_grad_np_l is None:
                    saved_grad_np_l = [ele.grad.asnumpy() for ele in in_data_l]
                else:
                    for data, saved in zip(in_data_l, saved_grad_np_l):
                        assert_almost_equal(data.grad.asnumpy(), saved, rtol=rtol, atol=atol)
    if numpy_func is not None:
        numpy_out = numpy_func(*[ele.asnumpy() for ele in data_l])
        assert_almost_equal(saved_out_np, numpy_out, rtol=rtol, atol=atol)


class _NumpyParamDictInit(mx.init.Initializer):
    """Every parameter from a dict of NumPy arrays by parameter name."""

    def __init__(self, np_params):
        super().__init__()
        self._np_params = np_params

    def __call__(self, desc, arr):
        arr[:] = self._np_params[str(desc)]


# ---------------------------------------------------------------------------------------------
# Random-number generators: distribution checks (scipy is imported on first use)


def gen_buckets_probs_with_ppf(ppf, nbuckets):
    """``nbuckets`` equiprobable buckets ``(ppf(i/n), ppf((i+1)/n))`` and their
    probabilities, for :func:`chi_square_check`."""
    assert nbuckets > 0
    probs = [1.0 / nbuckets for _ in range(nbuckets)]
    buckets = [(ppf(i / float(nbuckets)), ppf((i + 1) / float(nbuckets)))
               for i in range(nbuckets)]
    return buckets, probs


def mean_check(generator, mu, sigma, nsamples=1000000):
    """Whether the mean of ``generator(nsamples)`` lies within ``mu +- 3 sigma/sqrt(n)``."""
    sample_mean = np.array(_host(generator(nsamples))).mean()
    bound = 3 * sigma / np.sqrt(nsamples)
    return bool(mu - bound < sample_mean < mu + bound)


def var_check(generator, sigma, nsamples=1000000):
    """Whether the variance of ``generator(nsamples)`` lies within
    ``sigma^2 +- 3 sqrt(2 sigma^4 / (n-1))``."""
    sample_var = np.array(_host(generator(nsamples))).var(ddof=1)
    bound = 3 * np.sqrt(2 * sigma ** 4 / (nsamples - 1))
    return bool(sigma ** 2 - bound < sample_var < sigma ** 2 + bound)


def chi_square_check(generator, buckets, probs, nsamples=1000000):
    """Chi-square test of ``generator(nsamples)`` against bucket probabilities.

    ``buckets``: ascending, disjoint ``(low, high)`` ranges for a continuous distribution, or
    the possible values of a discrete one. Returns ``(p, obs_freq, expected_freq)``."""
    try:
        import scipy.stats as ss
    except ImportError:
        raise ImportError("scipy is not available."
                          " Please check if the scipy python bindings are installed.") from None
    assert isinstance(buckets, list)
    samples = np.asarray(_host(generator(nsamples)))
    assert len(probs) == len(buckets)
    continuous = isinstance(buckets[0], (list, tuple))
    expected_freq = (nsamples * np.array(probs, dtype=np.float32)).astype(np.int32)
    if continuous:
        edges = np.zeros((len(buckets) * 2,), dtype=np.float32)  # MXNet's float32 edges
        for i, (low, high) in enumerate(buckets):
            assert low <= high
            if i < len(buckets) - 1:
                assert high <= buckets[i + 1][0]
            edges[2 * i], edges[2 * i + 1] = low, high
        # bucket i holds high[i-1] <= x < high[i] (MXNet's searchsorted(side='right') // 2);
        # counting x >= each upper edge is 10x faster than searchsorted on 1e6 samples
        at_least = [np.count_nonzero(samples >= -np.inf)]
        at_least += [np.count_nonzero(samples >= h) for h in edges[1::2]]
        obs_freq = -np.diff(np.array(at_least, dtype=np.int64))
    else:
        obs_freq = np.array([(samples == b).sum() for b in buckets], dtype=np.int64)
    # Pearson's statistic as scipy.stats.chisquare computed it when MXNet used it: scipy >= 1.9
    # rejects totals that differ, and MXNet's int-truncated expectations can fall short by a
    # few counts (samples outside every bucket must still count against the generator)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.sum((obs_freq - expected_freq) ** 2 / expected_freq.astype(np.float64))
    p = ss.chi2.sf(stat, len(buckets) - 1)
    return p, obs_freq, expected_freq


def verify_generator(generator, buckets, probs, nsamples=1000000, nrepeat=5, success_rate=0.2,
                     alpha=0.05):
    """Run :func:`chi_square_check` ``nrepeat`` times; fail unless at least
    ``success_rate`` of the p values exceed ``alpha``. Returns the p values."""
    cs_ret_l, obs_freq_l, expected_freq_l = [], [], []
    for _ in range(nrepeat):
        cs_ret, obs_freq, expected_freq = chi_square_check(
            generator=generator, buckets=buckets, probs=probs, nsamples=nsamples)
        cs_ret_l.append(cs_ret)
        obs_freq_l.append(obs_freq)
        expected_freq_l.append(expected_freq)
    success_num = (np.array(cs_ret_l) > alpha).sum()
    if success_num < nrepeat * success_rate:
        raise AssertionError(f"Generator test fails, Chi-square p={cs_ret_l}, "
                             f"obs_freq={obs_freq_l}, expected_freq={expected_freq_l}."
                             f"\nbuckets={buckets}, probs={probs}")
    return cs_ret_l


# ---------------------------------------------------------------------------------------------
# Environment, devices, iterators


def list_gpus():
    """``range(n)`` over the n CUDA GPUs (empty without one)."""
    return range(mx.num_gpus())


def is_op_runnable():
    """Whether the current context can run every op: always (MXNet: TVM ops on old GPUs)."""
    return True


def has_tvm_ops():
    """Whether TVM-generated ops are built in: never here."""
    return False


def is_cd_run():
    """Checks if the test is running as part of a Continuous Delivery run."""
    return os.environ.get("CD_JOB", 0) == "1"


def set_env_var(key, val, default_val=""):
    """Set an environment variable; return its previous value (``default_val`` if unset)."""
    prev_val = os.environ.get(key, default_val)
    os.environ[key] = val
    return prev_val


@contextmanager
def environment(*args):
    """Set environment variables for the body of a ``with`` statement, then restore them.

    ``environment('NAME', 'value')`` or ``environment({'NAME': 'value', ...})``; a value of
    None unsets the variable. The previous state comes back even if the body raises."""
    if len(args) == 1 and isinstance(args[0], dict):
        env_vars = args[0]
    else:
        assert len(args) == 2, "Expecting one dict arg or two args: env var name and value"
        env_vars = {args[0]: args[1]}

    def set_environ(values):
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    snapshot = {name: os.environ.get(name) for name in env_vars}
    set_environ(env_vars)
    try:
        yield
    finally:
        mx.nd.waitall()
        set_environ(snapshot)


class EnvManager:
    """Environment variable setter and unsetter via with idiom."""

    def __init__(self, key, val):
        self._key = key
        self._next_val = val
        self._prev_val = None

    def __enter__(self):
        self._prev_val = os.environ.get(self._key)
        os.environ[self._key] = self._next_val

    def __exit__(self, ptype, value, trace):
        if self._prev_val:
            os.environ[self._key] = self._prev_val
        else:
            del os.environ[self._key]


@contextmanager
def discard_stderr():
    """Discard what the body writes to stderr: file descriptor 2 (where C code writes) and
    ``sys.stderr``'s own descriptor when a harness (pytest) has pointed it elsewhere."""
    fds = {2}
    try:
        fds.add(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):  # a capture object with no descriptor
        pass
    with open(os.devnull, "w") as bit_bucket:
        sys.stderr.flush()
        saved = {fd: os.dup(fd) for fd in fds}
        try:
            for fd in fds:
                os.dup2(bit_bucket.fileno(), fd)
            yield
        finally:
            sys.stderr.flush()
            for fd, old in saved.items():
                os.dup2(old, fd)
                os.close(old)


class DummyIter(mx.io.DataIter):
    """Returns the first batch of ``real_iter`` forever (for speed tests)."""

    def __init__(self, real_iter):
        super().__init__()
        self.real_iter = real_iter
        self.provide_data = real_iter.provide_data
        self.provide_label = real_iter.provide_label
        self.batch_size = real_iter.batch_size
        self.the_batch = next(real_iter)

    def __iter__(self):
        return self

    def next(self):
        """The first data batch of the real iterator; never raises StopIteration."""
        return self.the_batch


# ---------------------------------------------------------------------------------------------
# Data sets: offline. Files already in place are used; nothing is fetched.


class OfflineDataError(MXNetFileError):
    """A download was needed: mxplug's test helpers never fetch anything."""


def download(url, fname=None, dirname=None, overwrite=False, retries=5):
    """MXNet's ``download``, offline: returns the path where MXNet would have saved ``url``
    if the file is already there (and ``overwrite`` is False); otherwise raises
    :class:`OfflineDataError` naming the URL and that path."""
    assert retries >= 0, "Number of retries should be at least 0"
    if fname is None:
        fname = url.split("/")[-1]
    if dirname is None:
        dirname = os.path.dirname(fname)
    else:
        fname = os.path.join(dirname, fname)
    if not overwrite and os.path.exists(fname):
        return fname
    raise OfflineDataError(
        f"download: mxplug does not download ({url}); fetch it yourself and put it at "
        f"{os.path.abspath(fname)!r}")


def download_model(model_name, dst_dir="./", meta_info=None):
    """MXNet's model download: only ``meta_info`` models whose files are already in
    ``dst_dir`` (``<name>-symbol.json``, ``<name>-0000.params``); ``(None, 0)`` for an
    unknown name."""
    meta_info = dict(meta_info or {})
    if model_name not in meta_info:
        return (None, 0)
    meta = dict(meta_info[model_name])
    prefix = os.path.join(dst_dir, model_name)
    download(meta["symbol"], prefix + "-symbol.json")
    download(meta["params"], prefix + "-0000.params")
    return (prefix, 0)


_MNIST_URL = "http://data.mxnet.io/data/mnist/"


def get_mnist():
    """MNIST as a dict of NumPy arrays (``train_data``, ``train_label``, ``test_data``,
    ``test_label``), read from the four ``*-ubyte.gz`` files in the current directory."""
    def read_data(label_url, image_url):
        with gzip.open(download(label_url)) as flbl:
            struct.unpack(">II", flbl.read(8))
            label = np.frombuffer(flbl.read(), dtype=np.int8)
        with gzip.open(download(image_url), "rb") as fimg:
            _, _, rows, cols = struct.unpack(">IIII", fimg.read(16))
            image = np.frombuffer(fimg.read(), dtype=np.uint8).reshape(len(label), rows, cols)
            image = image.reshape(image.shape[0], 1, 28, 28).astype(np.float32) / 255
        return label, image

    train_lbl, train_img = read_data(_MNIST_URL + "train-labels-idx1-ubyte.gz",
                                     _MNIST_URL + "train-images-idx3-ubyte.gz")
    test_lbl, test_img = read_data(_MNIST_URL + "t10k-labels-idx1-ubyte.gz",
                                   _MNIST_URL + "t10k-images-idx3-ubyte.gz")
    return {"train_data": train_img, "train_label": train_lbl,
            "test_data": test_img, "test_label": test_lbl}


def get_mnist_pkl():
    """Needs ``data/mnist.pkl.gz`` in place."""
    if not os.path.exists("data/mnist.pkl.gz"):
        download("http://deeplearning.net/data/mnist/mnist.pkl.gz", dirname="data")


def _extract_zip(files, url):
    if all(os.path.exists(f) for f in files):
        return
    with zipfile.ZipFile(download(url, dirname="data")) as zf:
        zf.extractall("data")


def get_mnist_ubyte():
    """Needs ``data/{train,t10k}-{images-idx3,labels-idx1}-ubyte``, or ``data/mnist.zip``."""
    _extract_zip([f"data/{s}-ubyte" for s in ("train-images-idx3", "train-labels-idx1",
                                              "t10k-images-idx3", "t10k-labels-idx1")],
                 "http://data.mxnet.io/mxnet/data/mnist.zip")


def get_cifar10():
    """Needs ``data/cifar/{train,test}.{rec,lst}``, or ``data/cifar10.zip``."""
    _extract_zip([f"data/cifar/{s}" for s in ("train.rec", "test.rec", "train.lst", "test.lst")],
                 "http://data.mxnet.io/mxnet/data/cifar10.zip")


def get_mnist_iterator(batch_size, input_shape, num_parts=1, part_index=0):
    """MNIST train and validation ``mx.io.MNISTIter`` over the files of :func:`get_mnist_ubyte`."""
    get_mnist_ubyte()
    if not hasattr(mx.io, "MNISTIter"):
        raise MXNetNotImplementedError("get_mnist_iterator: mx.io.MNISTIter is not available")
    flat = len(input_shape) != 3
    common = dict(input_shape=input_shape, batch_size=batch_size, flat=flat,
                  num_parts=num_parts, part_index=part_index)
    train = mx.io.MNISTIter(image="data/train-images-idx3-ubyte",
                            label="data/train-labels-idx1-ubyte", shuffle=True, **common)
    val = mx.io.MNISTIter(image="data/t10k-images-idx3-ubyte",
                          label="data/t10k-labels-idx1-ubyte", **common)
    return train, val


def get_zip_data(data_dir, url, data_origin_name):
    """Extract ``data_dir/data_origin_name`` (which must be in place) into ``data_dir``."""
    data_origin_name = os.path.join(data_dir, data_origin_name)
    if not os.path.exists(data_origin_name):
        download(url, dirname=data_dir, overwrite=False)
    with zipfile.ZipFile(data_origin_name) as zf:
        zf.extractall(path=data_dir)


def get_bz2_data(data_dir, data_name, url, data_origin_name):
    """Decompress ``data_dir/data_origin_name`` (which must be in place) to
    ``data_dir/data_name``."""
    data_name = os.path.join(data_dir, data_name)
    data_origin_name = os.path.join(data_dir, data_origin_name)
    if os.path.exists(data_name):
        return
    download(url, fname=data_origin_name, overwrite=False)
    with bz2.BZ2File(data_origin_name, "rb") as bz_file, open(data_name, "wb") as fout:
        for line in bz_file:
            fout.write(line)
    os.remove(data_origin_name)


def get_im2rec_path(home_env="MXNET_HOME"):
    """MXNet's ``tools/im2rec.py``: not part of mxplug."""
    raise MXNetFileError("get_im2rec_path: mxplug ships no tools/im2rec.py; use "
                         "mx.recordio to write .rec files")


# ---------------------------------------------------------------------------------------------
# Optimizers and matrices


def _rand_pair(shape, dtype, stype):
    if stype != "default":
        _no_sparse("compare_optimizer", stype)
    w2 = mx.random.uniform(shape=shape, ctx=default_context(), dtype=dtype)
    return w2.copyto(default_context()), w2


def compare_optimizer(opt1, opt2, shapes, dtype, w_stype="default", g_stype="default",
                      rtol=1e-4, atol=1e-5, compare_states=True):
    """Run one aggregated ``update_multi_precision`` of two optimizers on the same random
    weights and gradients; compare their states and weights."""
    compare_optimizer_noise_seeded(opt1, opt2, shapes, dtype, None, w_stype, g_stype, rtol,
                                   atol, compare_states)


def compare_optimizer_noise_seeded(opt1, opt2, shapes, dtype, noise_seed, w_stype="default",
                                   g_stype="default", rtol=1e-4, atol=1e-5,
                                   compare_states=True):
    """:func:`compare_optimizer`, reseeding ``mx.random`` with ``noise_seed`` before each
    update (SGLD draws noise)."""
    w1_list, w2_list, g1_list, g2_list, s1_list, s2_list = [], [], [], [], [], []
    for i, shape in enumerate(shapes):
        w1, w2 = _rand_pair(shape, dtype, w_stype)
        g1, g2 = _rand_pair(shape, dtype, g_stype)
        s1 = opt1.create_state_multi_precision(i, w1)
        s2 = opt2.create_state_multi_precision(i, w2)
        if compare_states:
            compare_ndarray_tuple(s1, s2)
        w1_list.append(w1)
        w2_list.append(w2)
        g1_list.append(g1)
        g2_list.append(g2)
        s1_list.append(s1)
        s2_list.append(s2)
    indices = list(range(len(shapes)))
    for opt, w, g, s in ((opt1, w1_list, g1_list, s1_list), (opt2, w2_list, g2_list, s2_list)):
        if noise_seed is not None:
            mx.random.seed(noise_seed)
        opt.update_multi_precision(indices, w, g, s)
    if compare_states:
        compare_ndarray_tuple(tuple(s1_list), tuple(s2_list), rtol=rtol, atol=atol)
    compare_ndarray_tuple(tuple(w1_list), tuple(w2_list), rtol=rtol, atol=atol)


def new_matrix_with_real_eigvals_2d(n):
    """Generate a well-conditioned matrix with small real eigenvalues."""
    eye = np.eye(n)
    while True:
        d = np.diag(np.random.uniform(-1.0, 1.0, n))
        v = np.random.uniform(-1., 1., n).reshape(n, 1)
        v = v / np.linalg.norm(v, axis=-2, keepdims=True)
        q = np.matmul(eye - 2 * np.matmul(v, v.T), d)
        if np.linalg.cond(q, 2) < 3:
            break
    d = np.diag(np.random.uniform(-10.0, 10.0, n))
    return np.matmul(np.matmul(np.linalg.inv(q), d), q)


def new_matrix_with_real_eigvals_nd(shape):
    """Generate well-conditioned matrices with small real eigenvalues."""
    n = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return np.array([new_matrix_with_real_eigvals_2d(shape[-1]) for _ in range(n)]).reshape(shape)


def new_orthonormal_matrix_2d(n):
    """Generate an orthonormal matrix."""
    x = np.random.randn(n, n)
    return np.linalg.qr(np.matmul(x.T, x))[0]


def new_sym_matrix_with_real_eigvals_2d(n):
    """Generate a symmetric matrix with real eigenvalues."""
    q = new_orthonormal_matrix_2d(n)
    d = np.diag(np.random.uniform(-10.0, 10.0, n))
    return np.matmul(np.matmul(q.T, d), q)


def new_sym_matrix_with_real_eigvals_nd(shape):
    """Generate symmetric matrices with real eigenvalues."""
    n = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return np.array([new_sym_matrix_with_real_eigvals_2d(shape[-1])
                     for _ in range(n)]).reshape(shape)
