"""mx.test_utils: Comparisons of arrays and symbols."""

from __future__ import annotations

import json

import numpy as np
import numpy.testing as npt

import mxplug as mx

from ._data import get_atol, get_etol, get_rtol, get_tols

# ---------------------------------------------------------------------------------------------
# Comparisons


def _host(x):
    """NDArrays (of any backend) to NumPy; everything else unchanged."""
    return x.asnumpy() if isinstance(x, mx.nd.NDArray) else x


def _find_max_violation(a, b, rtol, atol):
    """Finds and returns the location of maximum violation."""
    a, b = _host(a), _host(b)
    # inf == inf counts as no violation, as in np.allclose
    with np.errstate(invalid="ignore", over="ignore"):
        absdiff = np.where(np.equal(a, b), 0, np.abs(a - b))
        tol = atol + rtol * np.abs(b)
        violation = absdiff / (tol + 1e-20)
    loc = np.argmax(violation)
    idx = tuple(int(i) for i in np.unravel_index(loc, violation.shape))
    return idx, np.max(violation)


def find_max_violation(a, b, rtol=None, atol=None):
    """:func:`_find_max_violation` (MXNet 1.9's name) with :func:`get_rtol` /
    :func:`get_atol` defaults (the public name of earlier MXNet 1.x)."""
    return _find_max_violation(a, b, get_rtol(rtol), get_atol(atol))


def same(a, b):
    """Test if two NumPy arrays are the same."""
    return np.array_equal(_host(a), _host(b))


def checkShapes(a, b):  # noqa: N802 -- MXNet's name
    if a.shape != b.shape:
        msg = npt.build_err_msg([a, b], err_msg=f"a.shape = {a.shape} and b.shape = {b.shape} "
                                                "are not equal")
        raise AssertionError(msg)


def almost_equal(a, b, rtol=None, atol=None, equal_nan=False, use_broadcast=True):
    """Test if two numpy arrays are almost equal (``None`` tolerances: float64's,
    :func:`get_rtol` / :func:`get_atol`, whatever the dtypes)."""
    a, b = _host(a), _host(b)
    if not use_broadcast:
        checkShapes(a, b)
    return np.allclose(a, b, rtol=get_rtol(rtol), atol=get_atol(atol), equal_nan=equal_nan)


def locationError(a, b, index, names, maxError=False):  # noqa: N802, N803 -- MXNet's names
    """Create element mismatch comment."""
    maximum = "maximum " if maxError else ""
    return (f"Location of {maximum}error: {index}, {names[0]}={a[index]:.8f}, "
            f"{names[1]}={b[index]:.8f}")


def _raise_mismatch(a, b, rtol, atol, names, equal_nan, mismatches, scalar_message=False):
    """Print MXNet's list of the largest violations and raise its AssertionError."""
    a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
    index, rel = _find_max_violation(a, b, rtol, atol)
    if scalar_message and index == ():  # 0-d data: assert_almost_equal's short message
        err_msg = f"Error {rel:f} exceeds tolerance rtol={rtol:e}, atol={atol:e}.\n"
    else:
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
                index, rel = _find_max_violation(a_tmp, b_tmp, rtol, atol)
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
    rtol, atol : None, float, or dict of dtype -> float
        Thresholds; ``None`` (or a dtype missing from the dict) takes the default of each
        array's dtype (:func:`default_rtols` / :func:`default_atols`: float16 1e-2 / 1e-1,
        float32 1e-4 / 1e-3, float64 1e-5 / 1e-20, integers 0), the larger of the two
        (:func:`get_tols`).
    names : tuple of str
        The names of ``a`` and ``b`` in the error message.
    equal_nan : bool
        Whether NaN equals NaN.
    use_broadcast : bool
        False: the shapes must be equal.
    mismatches : tuple of int
        How many violations to print (``mismatches[0]``) and to count (``mismatches[1]``).
    """
    if not use_broadcast:
        checkShapes(a, b)
    rtol, atol = get_tols(a, b, rtol, atol)
    a, b = _host(a), _host(b)
    if getattr(a, "dtype", None) == np.bool_ and getattr(b, "dtype", None) == np.bool_:
        np.testing.assert_equal(a, b)
        return
    if almost_equal(a, b, rtol, atol, equal_nan=equal_nan):
        return
    _raise_mismatch(a, b, rtol, atol, names, equal_nan, mismatches, scalar_message=True)


def assert_allclose(a, b, rtol=1e-07, atol=0, equal_nan=True):
    assert_almost_equal(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def assert_almost_equal_with_err(a, b, rtol=None, atol=None, etol=None, names=("a", "b"),
                                 equal_nan=False, mismatches=(10, 10)):
    """Like :func:`assert_almost_equal` (the same dtype-dependent default tolerances), but
    passes while the fraction of elements out of tolerance is at most ``etol`` (``etol=0``,
    the default, is assert_almost_equal)."""
    etol = get_etol(etol)
    if etol <= 0:
        assert_almost_equal(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
        return
    rtol, atol = get_tols(a, b, rtol, atol)
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
    """Test that two NumPy arrays are almost equal (ignoring NaN in either array); earlier
    MXNet 1.x's helper, with :func:`almost_equal`'s defaults."""
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
            for i in range(n):
                try:
                    f(*args, **kwargs)
                    return
                except AssertionError:
                    if i == n - 1:
                        raise
                    mx.nd.waitall()
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
