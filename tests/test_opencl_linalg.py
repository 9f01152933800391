"""The OpenCL namespace's matmul and linalg against NumPy: every layout (transposes, strided
slices, flipped and broadcast views need no copy), edge tiles, batches, dtypes."""
from __future__ import annotations

import numpy as np
import pytest

from mxplug.backends.opencl import OpenCLBackend

_be = OpenCLBackend()
_why = _be.available()
if _why:
    pytest.skip(f"OpenCL backend unavailable: {_why}", allow_module_level=True)
xp = _be.xp
rt = _be.runtime(0)
FLOATS = ["float32"] + (["float64"] if rt.fp64 else [])


def _tol(dt, k=1):
    return dict(rtol=1e-4, atol=1e-5 * max(k, 1)) if dt == "float32" else dict(rtol=1e-10,
                                                                                atol=1e-12)


def _dev(a):
    return xp.asarray(np.ascontiguousarray(a))


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("sa,sb", [
    ((3, 4), (4, 2)), ((1, 1), (1, 1)), ((6, 16), (16, 16)), ((7, 33), (33, 17)),
    ((13, 1), (1, 29)), ((40, 30), (30, 50)), ((4,), (4,)), ((5,), (2, 5, 3)), ((9, 5), (5,)),
    ((2, 1, 3, 4), (3, 4, 2)), ((3, 20, 9), (9, 25)), ((1, 40), (40, 1)), ((2, 7, 0), (0, 3)),
    ((0, 5), (5, 4)), ((2, 0, 3), (2, 3, 6))])
def test_matmul_shapes(dt, sa, sb):
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-1, 1, sa).astype(dt), rng.uniform(-1, 1, sb).astype(dt)
    got = xp.matmul(_dev(a), _dev(b))
    want = a @ b
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(xp.to_numpy(got), want, **_tol(dt, sa[-1]))


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("m,k,n", [(17, 33, 19), (40, 50, 30), (6, 8, 16), (3, 7, 5), (64, 9, 2)])
def test_matmul_views_need_no_copy(dt, m, k, n):
    """Transposed, sliced (offset, step), flipped and broadcast operands, read in place."""
    rng = np.random.default_rng(1)
    a, b = rng.uniform(-1, 1, (m, k)).astype(dt), rng.uniform(-1, 1, (k, n)).astype(dt)
    da, db, dat, dbt = _dev(a), _dev(b), _dev(a.T), _dev(b.T)
    big = rng.uniform(-1, 1, (2 * m + 3, 3 * k + 1)).astype(dt)
    cases = [(da, db, a, b), (xp.permute_dims(dat, (1, 0)), db, a, b), (da, dbt.T, a, b),
             (dat.T, dbt.T, a, b), (xp.flip(_dev(a[::-1]), 0), db, a, b),
             (xp.getitem(_dev(big), (slice(3, None, 2), slice(1, None, 3))), db,
              big[3::2, 1::3], b),
             (da, xp.flip(_dev(b[:, ::-1]), 1), a, b)]
    for x, y, xa, yb in cases:
        np.testing.assert_allclose(xp.to_numpy(xp.matmul(x, y)), xa @ yb, **_tol(dt, k))
    # a broadcast batch: the same matrix for every batch entry (stride 0)
    bb = xp.broadcast_to(da, (3, m, k))
    np.testing.assert_allclose(xp.to_numpy(xp.matmul(bb, db)), np.broadcast_to(a @ b, (3, m, n)),
                               **_tol(dt, k))


def test_matmul_batched_broadcast_and_transposed_batches():
    rng = np.random.default_rng(2)
    a = rng.uniform(-1, 1, (2, 1, 4, 7, 9)).astype(np.float32)
    b = rng.uniform(-1, 1, (3, 1, 9, 8)).astype(np.float32)
    np.testing.assert_allclose(xp.to_numpy(xp.matmul(_dev(a), _dev(b))), a @ b, rtol=1e-4,
                               atol=1e-5)
    # batch axes permuted too: (N, G, K, L) viewed as (G, N, L, K)
    c = rng.uniform(-1, 1, (5, 3, 8, 10)).astype(np.float32)
    d = rng.uniform(-1, 1, (3, 5, 8, 6)).astype(np.float32)
    x = xp.permute_dims(_dev(c), (1, 0, 3, 2))
    want = np.transpose(c, (1, 0, 3, 2)) @ d
    np.testing.assert_allclose(xp.to_numpy(xp.matmul(x, _dev(d))), want, rtol=1e-4, atol=1e-5)


def test_matmul_integer_bool_and_mixed_dtypes():
    rng = np.random.default_rng(3)
    a, b = rng.integers(-5, 5, (7, 9)).astype(np.int32), rng.integers(-5, 5, (9, 20))
    got = xp.matmul(_dev(a), _dev(b))
    assert got.dtype == np.int64
    np.testing.assert_array_equal(xp.to_numpy(got), a @ b)
    p, q = rng.random((4, 6)) > 0.7, rng.random((6, 3)) > 0.7
    got = xp.matmul(_dev(p), _dev(q))
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(xp.to_numpy(got), p @ q)
    f = rng.uniform(-1, 1, (9, 4)).astype(np.float32)
    np.testing.assert_allclose(xp.to_numpy(xp.matmul(_dev(a), _dev(f))), a @ f, rtol=1e-5)


def test_matmul_errors():
    with pytest.raises(ValueError, match="contracted dimension"):
        xp.matmul(_dev(np.ones((2, 3), np.float32)), _dev(np.ones((4, 2), np.float32)))
    with pytest.raises(ValueError):
        xp.matmul(_dev(np.ones((2, 2, 3), np.float32)), _dev(np.ones((3, 3, 2), np.float32)))


def _spd(rng, shape, dt):
    m = rng.uniform(-1, 1, shape)
    n = shape[-1]
    return (m @ np.swapaxes(m, -1, -2) + n * np.eye(n)).astype(dt)


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (2, 5, 5), (2, 3, 4, 4), (12, 12)])
def test_linalg_square_functions(dt, shape):
    rng = np.random.default_rng(4)
    a = (rng.uniform(-1, 1, shape) + 2 * np.eye(shape[-1])).astype(dt)
    a[..., 0, :] *= -1 if shape[-1] > 1 else 1       # some negative determinants
    da = _dev(a)
    tol = dict(rtol=2e-4, atol=1e-4) if dt == "float32" else dict(rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(xp.to_numpy(xp.linalg.inv(da)), np.linalg.inv(a), **tol)
    np.testing.assert_allclose(xp.to_numpy(xp.linalg.det(da)), np.linalg.det(a), **tol)
    sign, logabs = xp.linalg.slogdet(da)
    ws, wl = np.linalg.slogdet(a)
    np.testing.assert_array_equal(xp.to_numpy(sign), ws)
    np.testing.assert_allclose(xp.to_numpy(logabs), wl, **tol)
    assert xp.linalg.slogdet(da).logabsdet.shape == wl.shape
    s = _spd(rng, shape, dt)
    np.testing.assert_allclose(xp.to_numpy(xp.linalg.cholesky(_dev(s))), np.linalg.cholesky(s),
                               **tol)
    b = rng.uniform(-1, 1, shape[:-1] + (3,)).astype(dt)
    np.testing.assert_allclose(xp.to_numpy(xp.linalg.solve(da, _dev(b))), np.linalg.solve(a, b),
                               **tol)


def test_linalg_views_broadcast_and_singular():
    rng = np.random.default_rng(5)
    a = rng.uniform(-1, 1, (4, 4)) + 3 * np.eye(4)
    # a transposed, strided view is read through its strides
    big = np.zeros((8, 8))
    big[::2, ::2] = a.T
    v = xp.permute_dims(xp.getitem(_dev(big), (slice(None, None, 2), slice(None, None, 2))), (1, 0))
    np.testing.assert_allclose(xp.to_numpy(xp.linalg.inv(v)), np.linalg.inv(a), rtol=1e-10)
    # solve broadcasts batch dims, and takes a vector right-hand side
    b = rng.uniform(-1, 1, (3, 4, 2))
    np.testing.assert_allclose(xp.to_numpy(xp.linalg.solve(_dev(a), _dev(b))),
                               np.linalg.solve(a, b), rtol=1e-10)
    vec = rng.uniform(-1, 1, 4)
    np.testing.assert_allclose(xp.to_numpy(xp.linalg.solve(_dev(a), _dev(vec))),
                               np.linalg.solve(a, vec), rtol=1e-10)
    # pivoting: a zero leading entry
    p = np.array([[0.0, 1.0], [2.0, 3.0]])
    np.testing.assert_allclose(xp.to_numpy(xp.linalg.inv(_dev(p))), np.linalg.inv(p))
    np.testing.assert_allclose(xp.to_numpy(xp.linalg.det(_dev(p))), -2.0)
    # singular: slogdet gives (0, -inf) as NumPy does
    sign, logabs = xp.linalg.slogdet(_dev(np.ones((2, 3, 3))))
    np.testing.assert_array_equal(xp.to_numpy(sign), [0.0, 0.0])
    np.testing.assert_array_equal(xp.to_numpy(logabs), [-np.inf, -np.inf])
    with pytest.raises(ValueError, match="square"):
        xp.linalg.inv(_dev(np.ones((2, 3))))
