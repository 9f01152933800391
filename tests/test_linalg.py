"""MXNet-specific semantics and error paths of the linear-algebra ops."""
import numpy as np
import pytest

import mxplug as mx
from mxplug.ops import REGISTRY, apply


def run(name, *xs, **attrs):
    op = REGISTRY[name]
    return apply(op, *(mx.nd.array(x, dtype=x.dtype) for x in xs), **op.parse_attrs(attrs))


def test_dot_contracts_first_axis_of_rhs():
    a, b = np.ones((2, 3, 4)), np.ones((4, 5, 6))
    assert run("dot", a, b).shape == (2, 3, 5, 6)
    r = run("dot", np.arange(3.0), np.arange(3.0))
    assert r.shape == (1,) and r.asnumpy()[0] == 5.0


def test_dot_transpose_flags():
    a, b = np.random.rand(4, 3), np.random.rand(5, 4)
    got = run("dot", a, b, transpose_a=True, transpose_b=True).asnumpy()
    np.testing.assert_allclose(got, a.T @ b.T)


def test_dot_shape_error_names_op_and_shapes():
    with pytest.raises(mx.base.MXNetValueError, match=r"dot: Expect: .*\(3, 4\).*\(5, 2\)"):
        run("dot", np.ones((3, 4)), np.ones((5, 2)))


def test_dot_dtype_mismatch():
    with pytest.raises(mx.base.MXNetValueError, match="dot.*float32 vs float64"):
        run("dot", np.ones((2, 2), np.float32), np.ones((2, 2)))


def test_batch_dot_errors():
    with pytest.raises(mx.base.MXNetValueError, match="batch_dot.*ndim >= 3"):
        run("batch_dot", np.ones((3, 4)), np.ones((4, 3)))
    with pytest.raises(mx.base.MXNetValueError, match=r"batch_dot.*batch dims.*\(2,\) != \(3,\)"):
        run("batch_dot", np.ones((2, 3, 4)), np.ones((3, 4, 3)))
    with pytest.raises(mx.base.MXNetValueError, match="batch_dot.*inner dims.*4 != 5"):
        run("batch_dot", np.ones((2, 3, 4)), np.ones((2, 5, 3)))


def test_matmul_numpy_semantics_and_error():
    assert run("matmul", np.ones((4,)), np.ones((2, 4, 3))).shape == (2, 3)
    with pytest.raises(mx.base.MXNetValueError, match="matmul.*4 != 5"):
        run("matmul", np.ones((3, 4)), np.ones((5, 2)))


def test_gemm_axis_matches_swapaxes():
    a, b, c = np.random.rand(3, 2, 4), np.random.rand(4, 2, 5), np.random.rand(3, 2, 5)
    got = run("linalg_gemm", a, b, c, axis=0, alpha=2.0, beta=3.0).asnumpy()
    want = np.swapaxes(2 * (np.swapaxes(a, 0, 1) @ np.swapaxes(b, 0, 1)), 0, 1) + 3 * c
    np.testing.assert_allclose(got, want)


def test_gemm_errors():
    with pytest.raises(mx.base.MXNetValueError, match=r"linalg_gemm: Expect: C.shape.*\(3, 3\)"):
        run("linalg_gemm", np.ones((3, 4)), np.ones((4, 2)), np.ones((3, 3)))
    with pytest.raises(mx.base.MXNetValueError, match="linalg_gemm2.*axis"):
        run("linalg_gemm2", np.ones((3, 4)), np.ones((4, 2)), axis=-1)


@pytest.mark.parametrize("name", ["linalg_inverse", "linalg_det", "linalg_slogdet", "linalg_potrf"])
def test_square_ops_reject_non_square(name):
    with pytest.raises(mx.base.MXNetValueError, match=rf"{name}.*\(2, 3\)"):
        run(name, np.ones((2, 3)))


def test_det_and_slogdet_shapes():
    a = np.array([[2.0, 0.0], [0.0, -3.0]])
    d = run("linalg_det", a)
    assert d.shape == (1,) and d.asnumpy()[0] == pytest.approx(-6.0)
    sign, logabs = run("linalg_slogdet", np.stack([a, a]))
    assert sign.shape == (2,) and np.all(sign.asnumpy() == -1)
    np.testing.assert_allclose(logabs.asnumpy(), np.log(6.0))


def test_trsm_reads_only_one_triangle():
    a = np.array([[2.0, 99.0], [1.0, 4.0]])       # 99 sits in the ignored upper triangle
    b = np.array([[2.0], [9.0]])
    x = run("linalg_trsm", a, b).asnumpy()
    np.testing.assert_allclose(np.tril(a) @ x, b)


def test_potrf_reconstructs():
    m = np.array([[4.0, 2.0], [2.0, 3.0]])
    L = run("linalg_potrf", m).asnumpy()
    np.testing.assert_allclose(L @ L.T, m)
    assert L[0, 1] == 0


def test_potrf_and_trsm_gradients_stay_in_the_triangle_they_read():
    m = np.random.default_rng(1).uniform(-1, 1, (3, 3))
    a = mx.nd.array(m @ m.T + 3 * np.eye(3), dtype="float64")
    b = mx.nd.array(np.ones((3, 2)), dtype="float64")
    a.attach_grad()
    b.attach_grad()
    with mx.autograd.record():
        y = run_nd("linalg_trsm", run_nd("linalg_potrf", a), b)
    y.backward()
    assert not np.triu(a.grad.asnumpy(), 1).any() and np.tril(a.grad.asnumpy()).any()


def run_nd(name, *xs, **attrs):
    op = REGISTRY[name]
    return apply(op, *xs, **op.parse_attrs(attrs))
