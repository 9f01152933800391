"""``mxplug.test_utils``: MXNet 1.x's testing helpers, each on known inputs (passing and
failing), the Symbol checkers on every backend."""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np
import pytest

import mxplug as mx
import mxplug.test_utils as tu
from mxplug.base import MXNetNotImplementedError


@pytest.fixture(autouse=True)
def _seeded():
    np.random.seed(7)


def _opencl_available():
    return any(b.name == "opencl" and b.available for b in mx.backends.list())


# --- defaults, tolerances, random data ----------------------------------------------------------

def test_star_import_gives_mxnet_names():
    import logging
    ns = {}
    exec("from mxplug.test_utils import *", ns)
    for name in ("np", "mx", "assert_almost_equal", "default_context", "check_consistency",
                 "rand_ndarray", "same", "DummyIter", "environment", "use_np", "getenv",
                 "setenv", "get_tols", "effective_dtype", "default_rtols", "default_atols",
                 "default_numeric_eps", "get_identity_mat", "get_identity_mat_batch",
                 "is_aarch64_run", "logging", "platform", "errno", "ss", "Features",
                 "np_symbol", "get_cuda_compute_capability", "shuffle_csr_column_indices"):
        assert name in ns, name
    assert ns["logging"] is logging and ns["getenv"] is mx.util.getenv
    assert "annotations" not in ns and "_find_max_violation" not in ns


def test_default_context_follows_with_and_set_default_context():
    with mx.cpu(0):
        assert tu.default_context() == mx.cpu(0)
        with mx.cpu(1):
            tu.set_default_context(mx.cpu(2))
            assert tu.default_context() == mx.cpu(2)
            assert mx.nd.zeros((1,)).context == mx.cpu(2)
        assert tu.default_context() == mx.cpu(0)  # the surrounding `with` restores it


F16, F32, F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)


def test_tolerance_tables_and_defaults():
    # MXNet 1.9.1's tables (checked side by side against mxnet 1.9.1)
    assert tu.default_rtols()[F16] == 1e-2 and tu.default_atols()[F16] == 1e-1
    assert tu.default_rtols()[F32] == 1e-4 and tu.default_atols()[F32] == 1e-3
    assert tu.default_rtols()[F64] == 1e-5 and tu.default_atols()[F64] == 1e-20
    for dt in (np.bool_, np.int8, np.uint8, np.int32, np.uint32, np.int64, np.uint64):
        assert tu.default_rtols()[np.dtype(dt)] == 0 == tu.default_atols()[np.dtype(dt)]
    assert tu.default_numeric_eps() == {F16: 2.0 ** -6, F32: 2.0 ** -9, F64: 2.0 ** -14}
    assert tu.default_dtype() is np.float32
    # get_rtol / get_atol default to float64's; almost_equal uses them
    assert (tu.get_atol(), tu.get_rtol(), tu.get_etol()) == (1e-20, 1e-5, 0)
    assert (tu.get_atol(0.5), tu.get_rtol(0.25), tu.get_etol(0.1)) == (0.5, 0.25, 0.1)
    assert tu.get_rtol(dtype=F16) == 1e-2 and tu.get_atol(dtype=F32) == 1e-3


def test_get_tolerance_and_get_tols():
    f16, f32, f64 = (np.zeros(2, dt) for dt in (F16, F32, F64))
    assert tu.effective_dtype(f32) == F32 == tu.effective_dtype(mx.nd.zeros((2,)))
    assert tu.effective_dtype(mx.nd.zeros((2,), dtype="float16")) == F16
    assert tu.get_tolerance(f32, 0.5, tu.default_rtols()) == 0.5  # a number is the tolerance
    assert tu.get_tolerance(f32, None, tu.default_rtols()) == 1e-4
    assert tu.get_tolerance(f32, {F32: 0.25}, tu.default_rtols()) == 0.25
    assert tu.get_tolerance(f32, {F64: 0.25}, tu.default_rtols()) == 1e-4  # no entry: default
    assert tu.get_tolerance(f16, None, tu.default_atols()) == 0.1
    # the larger tolerance of the two data wins
    assert tu.get_tols(f16, f64, None, None) == (1e-2, 1e-1)
    assert tu.get_tols(f32, f64, None, None) == (1e-4, 1e-3)
    assert tu.get_tols(f64, f64, None, None) == (1e-5, 1e-20)
    assert tu.get_tols(np.arange(2), np.arange(2), None, None) == (0, 0)
    assert tu.get_tols(f32, f64, 0.5, {F64: 0.125}) == (0.5, 0.125)
    assert tu.get_tols(f32, f64, None, {F64: 1e-6}) == (1e-4, 1e-3)
    assert tu.get_tols(1.0, 2, None, None) == (1e-5, 1e-20)  # numbers: as NumPy arrays
    assert tu.get_tols(np.float32(1), 1.0, None, None) == (1e-4, 1e-3)


def _pair(dtype, rel, base=100.0):
    b = np.full((2, 3), base)
    return (b * (1 + rel)).astype(dtype), b.astype(dtype)


@pytest.mark.parametrize("dtype, rel_ok, rel_bad", [(np.float16, 5e-3, 3e-2),
                                                    (np.float32, 5e-5, 5e-3),
                                                    (np.float64, 5e-6, 2e-5)])
def test_assert_almost_equal_default_tolerance_follows_dtype(dtype, rel_ok, rel_bad):
    rtol, atol = tu.default_rtols()[np.dtype(dtype)], tu.default_atols()[np.dtype(dtype)]
    a, b = _pair(dtype, rel_ok)
    tu.assert_almost_equal(a, b)
    tu.assert_almost_equal(mx.nd.array(a, dtype=dtype), mx.nd.array(b, dtype=dtype))
    tu.assert_almost_equal(mx.nd.array(a, dtype=dtype), b)
    a, b = _pair(dtype, rel_bad)
    for x, y in ((a, b), (mx.nd.array(a, dtype=dtype), b)):
        with pytest.raises(AssertionError, match=f"rtol={rtol:e}, atol={atol:e}"):
            tu.assert_almost_equal(x, y)


def test_assert_almost_equal_default_atol_and_mixed_dtypes(capsys):
    z = np.zeros(4, np.float32)
    tu.assert_almost_equal(z, z + np.float32(5e-4))  # float32's atol is 1e-3
    with pytest.raises(AssertionError):
        tu.assert_almost_equal(z, z + np.float32(2e-3))
    with pytest.raises(AssertionError):
        tu.assert_almost_equal(np.zeros(4), np.zeros(4) + 1e-19)  # float64's atol is 1e-20
    a, b = _pair(np.float64, 5e-5)
    with pytest.raises(AssertionError, match="rtol=1.000000e-05"):
        tu.assert_almost_equal(a, b)
    tu.assert_almost_equal(a, b.astype(np.float32))  # float32 on either side: its tolerance
    tu.assert_almost_equal(a.astype(np.float16) * 1.004, b)
    tu.assert_almost_equal(np.arange(3), np.arange(3))
    with pytest.raises(AssertionError, match="rtol=0.000000e\\+00, atol=0.000000e\\+00"):
        tu.assert_almost_equal(np.arange(3), np.arange(3) + np.array([0, 0, 1]))
    # 0-d data: MXNet's short message
    with pytest.raises(AssertionError, match="exceeds tolerance rtol=1.000000e-05, "
                                             "atol=1.000000e-20.\\n"):
        tu.assert_almost_equal(np.array(1.0), np.array(1.5))
    capsys.readouterr()


def test_assert_almost_equal_tolerance_dicts():
    a, b = _pair(np.float32, 5e-3)
    tu.assert_almost_equal(a, b, rtol={F32: 2e-2})
    tu.assert_almost_equal(a, b, rtol={np.float32: 2e-2})  # a dtype type as key works too
    tu.assert_almost_equal(a, b, rtol=1e-2)
    with pytest.raises(AssertionError, match="rtol=1.000000e-04"):
        tu.assert_almost_equal(a, b, rtol={F64: 2e-2})  # no float32 entry: the default
    z = np.zeros(3, np.float32)
    tu.assert_almost_equal(z, z + np.float32(0.05), atol={F32: 0.1})
    with pytest.raises(AssertionError):
        tu.assert_almost_equal(z, z + np.float32(0.05), atol={F16: 0.1})


def test_almost_equal_and_with_err_defaults():
    # almost_equal keeps float64's defaults whatever the dtype; the assert_* helpers do not
    assert not tu.almost_equal(*_pair(np.float32, 5e-5))
    assert tu.almost_equal(*_pair(np.float32, 5e-6))
    with pytest.raises(AssertionError, match="rtol=1.000000e-07, atol=0.000000e\\+00"):
        tu.assert_allclose(*_pair(np.float32, 5e-5))
    a = np.array([0, 0, 5e-4, 1.0], np.float32)
    tu.assert_almost_equal_with_err(a, np.zeros(4, np.float32), etol=0.3)  # 1 of 4 off
    with pytest.raises(AssertionError, match="rtol=1.000000e-04, atol=1.000000e-03"):
        tu.assert_almost_equal_with_err(a, np.zeros(4, np.float32), etol=0.2)
    with pytest.raises(AssertionError, match="mismatch 50.000000%"):  # float64: 2 of 4 off
        tu.assert_almost_equal_with_err(a.astype(np.float64), np.zeros(4), etol=0.3)
    tu.assert_almost_equal_ignore_nan(np.array([np.nan, 100.005], np.float32),
                                      np.array([1, 100], np.float32))


def test_random_arrays_and_samples():
    a = tu.random_arrays((2, 3))
    assert a.shape == (2, 3) and a.dtype == np.float32
    b, c = tu.random_arrays((4,), ())
    assert b.shape == (4,) and c.shape == () and c.dtype == np.float32
    u = tu.random_uniform_arrays((50,), low=2.0, high=3.0)[0]
    assert u.min() >= 2.0 and u.max() < 3.0
    pick = tu.random_sample(list(range(10)), 4)
    assert len(pick) == 4 == len(set(pick)) and set(pick) <= set(range(10))
    for _ in range(20):
        s2, s3 = tu.rand_shape_2d(3, 4), tu.rand_shape_3d(2, 2, 2)
        assert 1 <= s2[0] <= 3 and 1 <= s2[1] <= 4 and all(1 <= d <= 2 for d in s3)
        nd = tu.rand_shape_nd(4, dim=2, allow_zero_size=True)
        assert len(nd) == 4 and all(0 <= d <= 2 for d in nd)
        x, y = tu.rand_coord_2d(0, 5, 10, 12)
        assert 0 <= x < 5 and 10 <= y < 12


def test_rand_ndarray(ctx):
    a = tu.rand_ndarray((3, 4), dtype="float64")
    assert a.shape == (3, 4) and a.dtype == np.float64 and a.context == ctx
    assert a.asnumpy().std() > 0
    with pytest.raises(MXNetNotImplementedError, match="'csr'"):
        tu.rand_ndarray((3, 4), "csr", density=0.5)
    with pytest.raises(MXNetNotImplementedError, match="'row_sparse'"):
        tu.create_sparse_array((3, 4), "row_sparse")


def test_np_reduce_matches_numpy():
    x = np.random.rand(2, 3, 4)
    np.testing.assert_allclose(tu.np_reduce(x, [0, 2], True, np.sum),
                               x.sum(axis=(0, 2), keepdims=True))
    np.testing.assert_allclose(tu.np_reduce(x, 1, False, np.max), x.max(axis=1))
    np.testing.assert_allclose(tu.np_reduce(x, None, False, np.sum), x.sum())


def test_collapse_sum_like_and_assign_each():
    a = np.arange(24.).reshape(2, 3, 4)
    np.testing.assert_allclose(tu.collapse_sum_like(a, (3, 1)), a.sum(axis=(0, 2))[:, None])
    np.testing.assert_allclose(tu.assign_each(a, lambda v: v * 2), a * 2)
    np.testing.assert_allclose(tu.assign_each2(a, a, lambda u, v: u - v), np.zeros_like(a))


# --- comparisons --------------------------------------------------------------------------------

def test_same_almost_equal_reldiff():
    a = np.array([1.0, 2.0, np.nan])
    assert tu.same(a[:2], np.array([1.0, 2.0])) and not tu.same(a[:2], np.array([1.0, 2.5]))
    assert tu.same(mx.nd.array([1, 2]), np.array([1, 2], dtype=np.float32))
    assert tu.almost_equal(a, a + 1e-9, equal_nan=True)
    assert not tu.almost_equal(a, a, equal_nan=False)
    assert not tu.almost_equal([1.0], [1.001])
    assert tu.almost_equal([1.0], [1.001], rtol=1e-2)
    assert tu.reldiff(np.array([1.0, 1.0]), np.array([1.0, 3.0])) == pytest.approx(2 / 6)
    assert tu.reldiff(np.ones(3), np.ones(3)) == 0


def test_find_max_violation():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = np.array([[1.0, 2.2], [3.0, 5.0]])
    idx, viol = tu.find_max_violation(a, b, rtol=0.1, atol=0)
    assert idx == (1, 1)  # |4 - 5| / (0.1 * 5) = 2 beats |2 - 2.2| / 0.22 = 0.91
    assert viol == pytest.approx(2.0)
    assert tu._find_max_violation(a, b, 0.1, 0) == (idx, viol)  # MXNet 1.9's name
    # None: get_rtol() / get_atol(), float64's 1e-5 / 1e-20
    assert tu.find_max_violation(a, a + 1e-4)[1] == pytest.approx(1e-4 / (1e-5 * 1.0001))


def test_assert_almost_equal_passes_across_types(ctx):
    x = np.random.rand(3, 4).astype(np.float32)
    tu.assert_almost_equal(mx.nd.array(x), x)
    tu.assert_almost_equal(mx.nd.array(x), mx.nd.array(x, ctx=mx.cpu()).astype("float64"))
    tu.assert_almost_equal(x, x + 1e-3, rtol=0, atol=2e-3)
    tu.assert_almost_equal(np.array([True, False]), np.array([True, False]))
    tu.assert_almost_equal(np.array([1.0, np.nan]), np.array([1.0, np.nan]), equal_nan=True)


def test_assert_almost_equal_message_locates_largest_violation(capsys):
    a = np.arange(6.0).reshape(2, 3)
    b = a.copy()
    b[0, 1] += 0.5
    b[1, 2] += 1.0
    with pytest.raises(AssertionError) as err:
        tu.assert_almost_equal(a, b, names=("x", "y"))
    msg = str(err.value)
    # MXNet's format: the largest relative violation first (|1 - 1.5| / 1.5 beats 1 / 6)
    assert "Error 33333.333333 exceeds tolerance rtol=1.000000e-05, atol=1.000000e-20 " \
           "(mismatch 33.333333%)." in msg
    assert "Location of maximum error: (0, 1), x=1.00000000, y=1.50000000" in msg
    printed = capsys.readouterr().out
    assert "*** Maximum errors for vector of size 6:  rtol=1e-05, atol=1e-20" in printed
    assert "  2: Error 16666.666667  Location of error: (1, 2), x=5.00000000, y=6.00000000" \
        in printed
    assert np.get_printoptions()["threshold"] == 1000  # no global side effect


def test_assert_almost_equal_counts_at_most_mismatches():
    a, b = np.zeros(40), np.arange(1.0, 41.0)
    with pytest.raises(AssertionError, match=r"mismatch at least 27\.500000%"):
        tu.assert_almost_equal(a, b, mismatches=(3, 10))  # 11 / 40
    with pytest.raises(AssertionError, match=r"\(mismatch 100\.000000%\)"):
        tu.assert_almost_equal(a, b, mismatches=(3, 0))  # 0: count them all


def test_assert_almost_equal_shapes_and_bools():
    with pytest.raises(AssertionError, match="are not equal"):
        tu.assert_almost_equal(np.ones((2, 1)), np.ones((2, 3)), use_broadcast=False)
    tu.assert_almost_equal(np.ones((2, 1)), np.ones((2, 3)))  # broadcasting by default
    with pytest.raises(AssertionError):
        tu.assert_almost_equal(np.array([True, True]), np.array([True, False]))


def test_assert_almost_equal_with_err_and_ignore_nan():
    a = np.zeros(10)
    b = a.copy()
    b[3] = 1.0
    tu.assert_almost_equal_with_err(a, b, atol=1e-3, etol=0.15)  # 10% wrong <= 15%
    with pytest.raises(AssertionError, match="Location of maximum error: \\(3,\\)"):
        tu.assert_almost_equal_with_err(a, b, atol=1e-3, etol=0.05)
    with pytest.raises(AssertionError):
        tu.assert_almost_equal_with_err(a, b, atol=1e-3)  # etol 0: plain comparison
    c = np.array([1.0, np.nan, 3.0])
    d = np.array([1.0, 2.0, np.nan])
    tu.assert_almost_equal_ignore_nan(c, d)
    assert tu.almost_equal_ignore_nan(c, d)
    with pytest.raises(AssertionError):
        tu.assert_almost_equal_ignore_nan(c, d + 1)


def test_assert_exception_and_retry():
    tu.assert_exception(int, ValueError, "x")
    with pytest.raises(AssertionError, match="did not raise ValueError"):
        tu.assert_exception(int, ValueError, "3")
    calls = []

    @tu.retry(3)
    def flaky():
        calls.append(1)
        assert len(calls) >= 2

    flaky()
    assert len(calls) == 2


def test_same_array():
    a = mx.nd.ones((2, 2))
    assert tu.same_array(a, a)
    assert not tu.same_array(a, a.copy())
    np.testing.assert_array_equal(a.asnumpy(), np.ones((2, 2)))  # restored


# --- Symbol checkers ----------------------------------------------------------------------------

def test_check_numeric_gradient_tanh_and_broken_gradient(ctx):
    x = mx.sym.Variable("x")
    loc = [np.random.uniform(-1, 1, (2, 3))]
    tu.check_numeric_gradient(mx.sym.tanh(x), loc)
    with pytest.raises(AssertionError, match="maximum error: .*NUMERICAL_x=.*BACKWARD_x="):
        tu.check_numeric_gradient(mx.sym.tanh(mx.sym.BlockGrad(x) + 0.1 * x), loc)


def test_check_numeric_gradient_grad_nodes_and_aux_states():
    x, w = mx.sym.Variable("x"), mx.sym.Variable("w")
    loc = {"x": np.random.rand(3, 2), "w": np.random.rand(3, 2)}
    tu.check_numeric_gradient(x * w, loc, grad_nodes=["w"], dtype=np.float64,
                              numeric_eps=1e-6, rtol=1e-6)
    tu.check_numeric_gradient(x * w, loc, grad_nodes={"x": "add", "w": "null"})
    bn = mx.sym.BatchNorm(x, fix_gamma=False, name="bn")
    tu.check_numeric_gradient(bn, [np.random.normal(0, 1, (4, 3)), np.ones(3), np.zeros(3)],
                              [np.zeros(3), np.ones(3)], numeric_eps=1e-2, rtol=0.16, atol=1e-2)


def test_numeric_grad_of_square():
    x = mx.sym.Variable("x")
    v = np.array([[1.0, -2.0, 0.5]])
    exe = (x * x).bind(mx.cpu(), args={"x": mx.nd.array(v, dtype="float64")}, grad_req="null")
    g = tu.numeric_grad(exe, {"x": v.copy()}, eps=1e-6, dtype=np.float64)
    np.testing.assert_allclose(g["x"], 2 * v, rtol=1e-6)


def test_check_symbolic_forward(ctx):
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    s = mx.sym.dot(a, b, name="dot")
    m1, m2 = np.array([[1, 2], [3, 4]]), np.array([[5, 6], [7, 8]])
    outs = tu.check_symbolic_forward(s, [m1, m2], [np.array([[19, 22], [43, 50]])])
    assert outs[0].context == ctx
    tu.check_symbolic_forward(s, {"a": m1, "b": m2}, {"dot_output": m1 @ m2})
    with pytest.raises(AssertionError, match="EXPECTED_dot_output=20.0+, FORWARD_dot_output"):
        tu.check_symbolic_forward(s, [m1, m2], [np.array([[20, 22], [43, 50]])])
    with pytest.raises(ValueError, match="do not match"):
        tu.check_symbolic_forward(s, {"a": m1}, [m1])


def test_check_symbolic_forward_with_aux_states():
    x = mx.sym.Variable("x")
    bn = mx.sym.BatchNorm(x, fix_gamma=False, eps=1e-3, name="bn")
    data, gamma, beta = np.random.rand(4, 3), np.random.rand(3) + 1, np.random.rand(3)
    mean, var = np.random.rand(3), np.random.rand(3) + 0.5
    expect = (data - mean) / np.sqrt(var + 1e-3) * gamma + beta
    tu.check_symbolic_forward(bn, [data, gamma, beta], [expect], aux_states=[mean, var],
                              rtol=1e-4, atol=1e-5)
    tu.check_symbolic_forward(bn, [data, gamma, beta], [expect], rtol=1e-4, atol=1e-5,
                              aux_states={"bn_moving_mean": mean, "bn_moving_var": var})


def test_check_symbolic_backward_grad_reqs(ctx):
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    s = a * b
    va, vb, og = np.random.rand(2, 3), np.random.rand(2, 3), np.random.rand(2, 3)
    for req in ("write", "add"):
        grads = tu.check_symbolic_backward(s, [va, vb], [og], [og * vb, og * va], grad_req=req,
                                           rtol=1e-4, atol=1e-6)
        assert set(grads) == {"a", "b"} and grads["a"].context == ctx
    # 'null' leaves the (random) gradient buffer as it was; a dict of out_grads by name
    tu.check_symbolic_backward(s, {"a": va, "b": vb}, {s.list_outputs()[0]: og},
                               {"a": og * vb, "b": np.zeros((2, 3))},
                               grad_req={"a": "write", "b": "null"}, rtol=1e-4, atol=1e-6)
    with pytest.raises(AssertionError, match="EXPECTED_a"):
        tu.check_symbolic_backward(s, [va, vb], [og], [og * va, og * va], rtol=1e-4)
    with pytest.raises(AssertionError, match="EXPECTED_b"):
        tu.check_symbolic_backward(s, [va, vb], [og], {"b": og * vb}, rtol=1e-4)


def test_check_symbolic_backward_with_aux_states_and_nan():
    x = mx.sym.Variable("x")
    bn = mx.sym.BatchNorm(x, fix_gamma=False, use_global_stats=True, eps=1e-3, name="bn")
    data, gamma, beta = np.random.rand(4, 3), np.random.rand(3) + 1, np.random.rand(3)
    mean, var, og = np.random.rand(3), np.random.rand(3) + 0.5, np.random.rand(4, 3)
    inv_std = 1 / np.sqrt(var + 1e-3)
    expect = {"x": og * gamma * inv_std, "bn_gamma": (og * (data - mean) * inv_std).sum(0),
              "bn_beta": og.sum(0)}
    tu.check_symbolic_backward(bn, [data, gamma, beta], [og], expect, rtol=1e-4, atol=1e-5,
                               aux_states={"bn_moving_mean": mean, "bn_moving_var": var})
    with pytest.raises(AssertionError, match="EXPECTED_bn_beta"):
        tu.check_symbolic_backward(bn, [data, gamma, beta], [og], {"bn_beta": og.sum(0) + 1},
                                   aux_states=[mean, var], rtol=1e-4, atol=1e-5)
    # sqrt's gradient at a negative input is NaN: equal_nan decides whether NaN == NaN
    v = np.array([4.0, -1.0])
    want = np.array([0.25, np.nan])
    with np.errstate(invalid="ignore"):
        tu.check_symbolic_forward(mx.sym.sqrt(x), [v], [np.sqrt(v)], equal_nan=True)
        tu.check_symbolic_backward(mx.sym.sqrt(x), [v], [np.ones(2)], [want], equal_nan=True)
        with pytest.raises(AssertionError):
            tu.check_symbolic_backward(mx.sym.sqrt(x), [v], [np.ones(2)], [want])


def test_check_symbolic_backward_default_head_and_asnumpy():
    x = mx.sym.Variable("x")
    v = np.random.rand(3)
    tu.check_symbolic_backward(mx.sym.exp(x), [v], None, [np.exp(v)], dtype="asnumpy",
                               rtol=1e-12)


def test_symbol_checkers_default_tolerances():
    x = mx.sym.Variable("x")
    v = np.random.uniform(1, 2, (3, 4))
    tu.check_symbolic_forward(x * 2, [v], [2 * v * (1 + 5e-5)])  # float32: 1e-4 / 1e-3
    with pytest.raises(AssertionError, match="rtol=1.000000e-04, atol=1.000000e-03"):
        tu.check_symbolic_forward(x * 2, [v], [2 * v * (1 + 5e-3)])
    with pytest.raises(AssertionError, match="rtol=1.000000e-05, atol=1.000000e-20"):
        tu.check_symbolic_forward(x * 2, [v], [2 * v * (1 + 2e-5)], dtype=np.float64)
    tu.check_symbolic_forward(x * 2, [v], [2 * v * (1 + 5e-3)], dtype=np.float16)
    og = np.random.uniform(1, 2, (3, 4))
    tu.check_symbolic_backward(x * 3, [v], [og], [3 * og * (1 + 5e-5)])
    with pytest.raises(AssertionError, match="EXPECTED_x"):
        tu.check_symbolic_backward(x * 3, [v], [og], [3 * og * (1 + 5e-3)])
    # 'add' compares with the float64 increment (grad - start): float64's tolerance, as in MXNet
    tu.check_symbolic_backward(x * 3, [v], [og], [3 * og], grad_req="add")
    with pytest.raises(AssertionError, match="rtol=1.000000e-05, atol=1.000000e-20"):
        tu.check_symbolic_backward(x * 3, [v], [og], [3 * og * (1 + 5e-5)], grad_req="add")
    tu.check_symbolic_backward(x * 3, [v], [og], [np.zeros((3, 4))], grad_req="null")


def test_check_numeric_gradient_default_eps_per_dtype(monkeypatch):
    import mxplug.test_utils._symbolic as symbolic
    seen = []
    real = symbolic.numeric_grad

    def recording(*args, **kwargs):
        seen.append(kwargs["eps"])
        return real(*args, **kwargs)

    monkeypatch.setattr(symbolic, "numeric_grad", recording)
    x = mx.sym.Variable("x")
    loc = [np.random.uniform(0.5, 1, (2, 3))]
    for dtype, eps in ((np.float16, 2.0 ** -6), (np.float32, 2.0 ** -9),
                       (np.float64, 2.0 ** -14)):
        tu.check_numeric_gradient(mx.sym.tanh(x), loc, dtype=dtype)
        assert seen[-1] == eps, dtype
        tu.check_numeric_gradient(mx.sym.tanh(x), loc, dtype=dtype, rtol=0.1, atol=0.1,
                                  numeric_eps={np.dtype(dtype): 2.0 ** -5})
        assert seen[-1] == 2.0 ** -5
        if dtype != np.float16:  # float16 cannot resolve a 1e-3 step
            tu.check_numeric_gradient(mx.sym.tanh(x), loc, dtype=dtype, numeric_eps=1e-3,
                                      rtol=0.1, atol=0.1)
            assert seen[-1] == 1e-3
    with pytest.raises(AssertionError):  # no precision for float32 steps below 1e-5
        tu.check_numeric_gradient(x * 2, [np.ones(2)], numeric_eps=1e-6)


def test_check_numeric_gradient_default_tolerance_per_dtype():
    x = mx.sym.Variable("x")
    loc = [np.random.uniform(0.5, 1, (2, 3))]

    def off_by(err):  # forward (1 + err) x, backward 1: the gradient is off by err relative
        return mx.sym.BlockGrad(x) * err + x

    tu.check_numeric_gradient(off_by(5e-5), loc)
    with pytest.raises(AssertionError, match="rtol=1.000000e-04, atol=1.000000e-03"):
        tu.check_numeric_gradient(off_by(5e-3), loc)
    tu.check_numeric_gradient(off_by(5e-3), loc, rtol=1e-2)  # earlier 1.x's default rtol
    tu.check_numeric_gradient(off_by(5e-6), loc, dtype=np.float64)
    with pytest.raises(AssertionError, match="rtol=1.000000e-05, atol=1.000000e-20"):
        tu.check_numeric_gradient(off_by(2e-5), loc, dtype=np.float64)


def test_simple_forward():
    x, y = mx.sym.Variable("x"), mx.sym.Variable("y")
    out = tu.simple_forward(x + 2 * y, x=np.ones(3), y=np.arange(3.0))
    np.testing.assert_allclose(out, [1, 3, 5])
    both = tu.simple_forward(mx.sym.Group([x + y, x - y]), x=np.ones(2), y=np.ones(2))
    assert isinstance(both, list) and len(both) == 2


def test_check_speed():
    x = mx.sym.Variable("x")
    t = tu.check_speed(mx.sym.tanh(x), N=3, x=(4, 4))
    assert t > 0
    assert tu.check_speed(mx.sym.tanh(x), location={"x": np.ones((2, 2))}, N=2,
                          typ="forward") > 0
    with pytest.raises(ValueError, match="whole"):
        tu.check_speed(mx.sym.tanh(x), N=1, typ="backward", x=(2, 2))


def _two_contexts():
    second = mx.opencl(0) if _opencl_available() else mx.cpu(1)
    return mx.cpu(0), second


def test_check_consistency_across_contexts():
    c0, c1 = _two_contexts()
    sym = mx.sym.FullyConnected(num_hidden=3, name="inner")
    ctx_list = [{"ctx": c0, "inner_data": (2, 5), "type_dict": {"inner_data": np.float64}},
                {"ctx": c1, "inner_data": (2, 5), "type_dict": {"inner_data": np.float32}},
                {"ctx": c0, "inner_data": (2, 5), "type_dict": {"inner_data": np.float16}}]
    gt = tu.check_consistency(sym, ctx_list)
    assert set(gt) == {"inner_output", "inner_data", "inner_weight", "inner_bias"}
    assert gt["inner_output"].dtype == np.float64  # the widest is the ground truth
    tu.check_consistency(sym, ctx_list[:2], grad_req={"inner_data": "write",
                                                      "inner_weight": "write",
                                                      "inner_bias": "null"})


def test_check_consistency_reports_a_mismatch(capsys):
    c0, c1 = _two_contexts()
    x = mx.sym.Variable("x")
    syms = [mx.sym.tanh(x, name="f"), mx.sym.sigmoid(x, name="f")]
    ctx_list = [{"ctx": c0, "x": (3,)}, {"ctx": c1, "x": (3,)}]
    with pytest.raises(AssertionError, match="Location of maximum error"):
        tu.check_consistency(syms, ctx_list)
    tu.check_consistency(syms, ctx_list, raise_on_err=False)
    assert "Predict Err: ctx 1 vs ctx 0 at f_output" in capsys.readouterr().out


def test_check_consistency_with_ground_truth():
    x = mx.sym.Variable("x")
    sym = mx.sym.exp(x, name="e")
    ctx_list = [{"ctx": mx.cpu(0), "x": (4,)}, {"ctx": mx.cpu(1), "x": (4,)}]
    args = {"x": np.linspace(-1, 1, 4)}
    truth = {"e_output": np.exp(args["x"])}
    tu.check_consistency(sym, ctx_list, arg_params=args, ground_truth=truth, grad_req="null")
    with pytest.raises(AssertionError):
        tu.check_consistency(sym, ctx_list, arg_params=args, grad_req="null",
                             ground_truth={"e_output": truth["e_output"] + 1})


def _scaled_pair(factor):
    x = mx.sym.Variable("x")
    return [mx.sym.identity(x * 2, name="f"), mx.sym.identity(x * (2 * factor), name="f")]


def _spec(dtype, shape=(4, 5)):
    return {"ctx": mx.cpu(0), "x": shape, "type_dict": {"x": dtype}}


@pytest.mark.parametrize("dtypes, rel_ok, rel_bad", [((np.float64, np.float32), 5e-5, 5e-3),
                                                     ((np.float32, np.float64), 5e-5, 5e-3),
                                                     ((np.float64, np.float16), 5e-3, 5e-2),
                                                     ((np.float64, np.float64), 5e-6, 5e-5)])
def test_check_consistency_default_tolerance_follows_dtypes(dtypes, rel_ok, rel_bad, capsys):
    ctx_list = [_spec(dtypes[0]), _spec(dtypes[1])]
    tu.check_consistency(_scaled_pair(1 + rel_ok), ctx_list, scale=10)
    with pytest.raises(AssertionError, match="exceeds tolerance"):
        tu.check_consistency(_scaled_pair(1 + rel_bad), ctx_list, scale=10)
    capsys.readouterr()


def test_check_consistency_rtol_atol(capsys):
    ctx_list = [_spec(np.float64), _spec(np.float32)]
    tu.check_consistency(_scaled_pair(1.005), ctx_list, scale=10, rtol=1e-2)
    tu.check_consistency(_scaled_pair(1.005), ctx_list, scale=10, rtol={F32: 1e-2})
    with pytest.raises(AssertionError, match="rtol=1.000000e-04"):  # no float32 entry
        tu.check_consistency(_scaled_pair(1.005), ctx_list, scale=10, rtol={F16: 1e-1})
    z = [mx.sym.identity(mx.sym.Variable("x") * 0, name="f"),
         mx.sym.identity(mx.sym.Variable("x") * 0 + 0.05, name="f")]
    tu.check_consistency(z, ctx_list, atol=0.1, grad_req="null")
    with pytest.raises(AssertionError, match="atol=1.000000e-03"):
        tu.check_consistency(z, ctx_list, grad_req="null")
    capsys.readouterr()


def test_check_consistency_head_gradients_and_uniform_scale(capsys):
    # training head gradients: the first executor's outputs (here 3x), for every executor
    gt = tu.check_consistency(_scaled_pair(1.5)[::-1], [_spec(np.float32, (1, 3)),
                                                        _spec(np.float64, (1, 3))],
                              arg_params={"x": np.array([[1.0, -2.0, 0.5]])},
                              raise_on_err=False)
    np.testing.assert_array_equal(gt["f_output"].asnumpy(), [[2.0, -4.0, 1.0]])
    np.testing.assert_array_equal(gt["x"].asnumpy(), [[6.0, -12.0, 3.0]])  # 2 * 3x
    printed = capsys.readouterr().out
    assert "Train Err: float32 cpu(0) ctx 0 vs float64 cpu(0) ctx 1 at x" in printed
    gt = tu.check_consistency(mx.sym.Variable("x") * 1, [_spec(np.float64, (50,)),
                                                         _spec(np.float32, (50,))],
                              use_uniform=True, scale=3, grad_req="null")
    values = np.abs(gt[list(gt)[0]].asnumpy())
    assert values.max() > 0.92 and values.max() <= 0.92 * 3  # uniform in +-0.92 * scale


# --- random-number generator checks -------------------------------------------------------------

def test_verify_generator_normal_and_wrong_distribution():
    import scipy.stats as ss
    buckets, probs = tu.gen_buckets_probs_with_ppf(lambda p: ss.norm.ppf(p, 0, 1), 5)
    assert len(buckets) == 5 and buckets[0][0] == -np.inf and sum(probs) == pytest.approx(1)

    def normal(n):
        return mx.nd.random.normal(0, 1, shape=(n,)).asnumpy()

    pvals = tu.verify_generator(normal, buckets, probs, nsamples=20000, nrepeat=3)
    assert len(pvals) == 3
    with pytest.raises(AssertionError, match="Generator test fails"):
        tu.verify_generator(lambda n: np.random.uniform(-1, 1, n), buckets, probs,
                            nsamples=20000, nrepeat=3)
    assert tu.mean_check(normal, 0, 1, nsamples=20000)
    assert not tu.mean_check(lambda n: np.random.normal(0.5, 1, n), 0, 1, nsamples=20000)
    assert tu.var_check(normal, 1, nsamples=20000)


def test_chi_square_check_discrete():
    import scipy.stats as ss
    p, obs, exp = tu.chi_square_check(lambda n: np.random.randint(0, 3, n), [0, 1, 2],
                                      [1 / 3] * 3, nsamples=30000)
    assert obs.sum() == 30000 and list(exp) == [10000] * 3 and p > 1e-4
    assert p == pytest.approx(ss.chisquare(obs, exp).pvalue)
    # samples outside every bucket count against the generator
    p, obs, _ = tu.chi_square_check(lambda n: np.random.randint(0, 4, n), [0, 1, 2],
                                    [1 / 3] * 3, nsamples=30000)
    assert obs.sum() < 25000 and p < 1e-6


def test_chi_square_check_continuous_buckets():
    buckets = [(-np.inf, 0.0), (0.0, 1.0), (1.0, np.inf)]
    samples = np.array([-5.0, -1.0, 0.0, 0.5, 0.99, 1.0, 7.0, 8.0])
    _, obs, exp = tu.chi_square_check(lambda n: samples, buckets, [0.25, 0.5, 0.25],
                                      nsamples=8)
    assert obs.tolist() == [2, 3, 3] and exp.tolist() == [2, 4, 2]


# --- environment, devices, iterators, data ------------------------------------------------------

def test_environment_sets_and_restores(monkeypatch):
    monkeypatch.setenv("MXPLUG_TU_A", "old")
    monkeypatch.delenv("MXPLUG_TU_B", raising=False)
    with tu.environment({"MXPLUG_TU_A": "new", "MXPLUG_TU_B": "1"}):
        assert os.environ["MXPLUG_TU_A"] == "new" and os.environ["MXPLUG_TU_B"] == "1"
    assert os.environ["MXPLUG_TU_A"] == "old" and "MXPLUG_TU_B" not in os.environ
    with pytest.raises(RuntimeError), tu.environment("MXPLUG_TU_A", None):
        assert "MXPLUG_TU_A" not in os.environ
        raise RuntimeError
    assert os.environ["MXPLUG_TU_A"] == "old"
    with tu.EnvManager("MXPLUG_TU_B", "2"):
        assert os.environ["MXPLUG_TU_B"] == "2"
    assert "MXPLUG_TU_B" not in os.environ
    assert tu.set_env_var("MXPLUG_TU_B", "3", default_val="none") == "none"
    monkeypatch.delenv("MXPLUG_TU_B")


def test_devices_and_runnable():
    assert list(tu.list_gpus()) == list(range(mx.num_gpus()))
    assert tu.is_op_runnable() is True and tu.has_tvm_ops() is False


def test_discard_stderr(capfd):
    with tu.discard_stderr():
        os.write(2, b"hidden\n")
    os.write(2, b"shown\n")
    err = capfd.readouterr().err
    assert "hidden" not in err and "shown" in err


def test_dummy_iter_repeats_first_batch():
    it = mx.io.NDArrayIter(np.arange(12.0).reshape(6, 2), np.arange(6.0), batch_size=2)
    d = tu.DummyIter(it)
    first, second = next(d), d.next()
    assert first is second and d.batch_size == 2
    np.testing.assert_array_equal(first.data[0].asnumpy(), [[0, 1], [2, 3]])
    assert d.provide_data == it.provide_data


def _write_idx(path, magic_dims, payload):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">" + "I" * len(magic_dims), *magic_dims))
        f.write(payload)


def test_downloads_are_offline_but_use_files_in_place(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(tu.OfflineDataError, match="put it at .*mnist.zip"):
        tu.get_mnist_ubyte()
    with pytest.raises(mx.base.MXNetError, match="cifar10.zip"):
        tu.get_cifar10()
    (tmp_path / "model.bin").write_bytes(b"x")
    assert tu.download("http://example.com/a/model.bin") == "model.bin"
    for split, n in (("train", 3), ("t10k", 2)):
        _write_idx(f"{split}-labels-idx1-ubyte.gz", (2049, n), bytes(range(n)))
        pixels = np.arange(n * 28 * 28, dtype=np.uint8).tobytes()
        _write_idx(f"{split}-images-idx3-ubyte.gz", (2051, n, 28, 28), pixels)
    data = tu.get_mnist()
    assert data["train_data"].shape == (3, 1, 28, 28) and data["test_label"].tolist() == [0, 1]
    assert data["train_data"].dtype == np.float32 and data["train_data"].max() <= 1.0


# --- Gluon and optimizers -----------------------------------------------------------------------

def test_check_gluon_hybridize_consistency():
    from mxplug.gluon import nn

    def build(prefix=None):
        net = nn.HybridSequential(prefix=prefix)
        with net.name_scope():
            net.add(nn.Dense(4, activation="tanh"), nn.Dense(2))
        return net

    data = [mx.nd.array(np.random.rand(3, 5))]
    tu.check_gluon_hybridize_consistency(build, data)


def test_compare_optimizer():
    from mxplug import optimizer
    # a tuple: one tensor, one update each
    tu.compare_optimizer(optimizer.SGD(learning_rate=0.1, momentum=0.9),
                         optimizer.SGD(learning_rate=0.1, momentum=0.9), (3, 4), np.float32)
    with pytest.raises(AssertionError):
        tu.compare_optimizer(optimizer.SGD(learning_rate=0.1), optimizer.SGD(learning_rate=0.1001),
                             (3, 4), np.float32)
    with pytest.raises(AssertionError):
        tu.compare_optimizer(optimizer.SGD(), optimizer.SGD(), (3, 4), np.float32, ntensors=2)
    # a list: opt1 one tensor at a time, opt2 all ntensors in one aggregated update
    tu.compare_optimizer(optimizer.SGD(learning_rate=0.1, momentum=0.9),
                         optimizer.SGD(learning_rate=0.1, momentum=0.9), [(3, 4), (5,)],
                         np.float32, ntensors=2)
    with pytest.raises(AssertionError):
        tu.compare_optimizer(optimizer.SGD(learning_rate=0.1), optimizer.SGD(learning_rate=0.2),
                             [(3, 4), (5,)], np.float32, ntensors=2)


def test_identity_matrices_and_platform_helpers():
    import platform
    eye = tu.get_identity_mat(3)
    assert eye.dtype == np.float32 and eye.context == tu.default_context()
    np.testing.assert_array_equal(eye.asnumpy(), np.eye(3))
    batch = tu.get_identity_mat_batch(3)
    assert batch.shape == (2, 3, 3) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch.asnumpy(), np.stack([np.eye(3)] * 2))
    assert tu.is_aarch64_run() is (platform.machine() == "aarch64")
    with pytest.raises(ValueError, match="Expecting a gpu context"):
        tu.get_cuda_compute_capability(mx.cpu())
    assert isinstance(tu.Features(), mx.runtime.Features)


def test_numpy_semantics_names_refuse_clearly():
    from mxplug.util import NumpySemanticsError
    assert not isinstance(mx.sym.Variable("x"), tu.np_symbol)
    with pytest.raises(NumpySemanticsError, match="np_symbol"):
        tu.np_symbol()

    @tu.use_np
    def f():
        return 1

    with pytest.raises(NumpySemanticsError):
        f()


def test_shuffle_csr_column_indices():
    class Csr:
        indptr = np.array([0, 2, 6, 6, 14])
        indices = np.array([1, 5, 0, 2, 4, 5, 0, 1, 2, 3, 4, 5, 6, 7])

    m = Csr()
    before = m.indices.copy()
    np.random.seed(11)
    tu.shuffle_csr_column_indices(m)
    assert not np.array_equal(m.indices, before)
    for lo, hi in zip(m.indptr[:-1], m.indptr[1:]):  # each row keeps its columns
        assert sorted(m.indices[lo:hi]) == sorted(before[lo:hi])


def test_lazy_scipy_stats():
    import scipy.stats
    assert tu.ss is scipy.stats


def test_random_matrices():
    m = tu.new_sym_matrix_with_real_eigvals_nd((2, 3, 3))
    np.testing.assert_allclose(m, np.swapaxes(m, -1, -2), atol=1e-10)
    q = tu.new_orthonormal_matrix_2d(4)
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-10)
    r = tu.new_matrix_with_real_eigvals_2d(3)
    assert np.all(np.abs(np.linalg.eigvals(r).imag) < 1e-8)
