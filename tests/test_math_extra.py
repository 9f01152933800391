"""gamma / gammaln (and their gradient ops), contrib.isinf / isfinite / isnan, moments,
_histogram, ravel_multi_index / unravel_index (``mxplug/ops/math_extra.py``): values, dtypes,
gradients and errors MXNet 1.9.1 gave (recorded as literals), the special functions' accuracy
against SciPy over wide ranges, second derivatives, and mx.sym use (MXNet's JSON included).
Tests taking ``ctx`` run on every backend (the special functions are plain array operations,
so OpenCL runs the same code)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import special

import mxplug as mx
from mxplug import autograd
from mxplug.base import MXNetError
from mxplug.ops import math_extra as ME

INF, NAN = np.inf, np.nan
#: Poles, infinities and nan among the inputs make NumPy warn (divide by zero, invalid value),
#: as its own functions do there; the values are what is checked.
pytestmark = pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")
ValueErr = mx.base.MXNetValueError


def _need(ctx, dtype):
    if dtype not in ctx.backend.dtypes:
        pytest.skip(f"{ctx} has no {dtype}")


def nd(x, ctx=None, dtype="float64"):
    return mx.nd.array(np.asarray(x, dtype=dtype), ctx=ctx or mx.cpu(), dtype=dtype)


def _grad(fn, x, dtype="float64"):
    a = nd(x, dtype=dtype)
    a.attach_grad()
    with autograd.record():
        y = fn(a)
    y.backward()
    return a.grad.asnumpy()


# -- gamma / gammaln ------------------------------------------------------------------------------
_X = [0.5, 1.0, -0.5, 3.0, 0.0, -1.0, -2.5, 171.0, 172.0, 200.0, -0.0, -1e-30, INF, -INF, NAN,
      -4503599627370495.5, 1e-300]
# MXNet 1.9.1, float64
_MX_GAMMA = [1.772453850905516, 1.0, -3.5449077018110318, 2.0, INF, NAN, -0.9453087204829419,
             7.257415615307999e+306, INF, INF, -INF, -1e30, INF, NAN, NAN, 0.0, 1e300]
_MX_GAMMALN = [0.5723649429247001, 0.0, 1.2655121234846454, 0.6931471805599453, INF, INF,
               -0.05624371649767407, 706.5730622457874, 711.71472580229, 857.9336698258574, INF,
               69.07755278982137, INF, INF, NAN, -1.5782258434492883e+17, 690.7755278982137]


def test_gamma_and_gammaln_match_mxnet(ctx):
    _need(ctx, "float64")
    x = nd(_X, ctx)
    g, lg = mx.nd.gamma(x).asnumpy(), mx.nd.gammaln(x).asnumpy()
    np.testing.assert_allclose(g, _MX_GAMMA, rtol=1e-14, atol=0)
    np.testing.assert_allclose(lg, _MX_GAMMALN, rtol=1e-14, atol=0)
    assert np.array_equal(np.signbit(g[[4, 10]]), [False, True])          # +-inf at +-0
    assert g[1] == 1.0 and g[3] == 2.0 and lg[1] == 0.0 and lg[3] == np.log(2.0)


def test_gamma_float32_float16_and_integer_inputs_keep_their_dtype():
    x = [0.5, 1.0, -0.5, 3.0, 0.0, -1.0, -2.5, 35.0, 36.0]
    g = mx.nd.gamma(nd(x, dtype="float32"))
    assert g.dtype == np.float32
    # MXNet 1.9.1: gamma(35) just fits float32, gamma(36) overflows
    np.testing.assert_allclose(g.asnumpy(), [1.7724538, 1.0, -3.544908, 2.0, INF, NAN, -0.9453086,
                                             2.952328e38, INF], rtol=3e-7)
    h = nd([0.5, 3.3, -2.5, 7.25], dtype="float16")
    assert mx.nd.gamma(h).asnumpy().tolist() == [1.7724609375, 2.685546875, -0.9453125, 1155.0]
    assert mx.nd.gammaln(h).asnumpy().tolist() == [0.572265625, 0.98779296875,
                                                   -0.056243896484375, 7.05078125]
    i = mx.nd.gamma(nd([1, 2, 3, 6], dtype="int32"))        # computed in float, truncated back
    assert i.dtype == np.int32 and i.asnumpy().tolist() == [1, 1, 2, 120]
    assert mx.nd.gammaln(nd([1, 2, 3, 20], dtype="int64")).asnumpy().tolist() == [0, 0, 0, 39]


def test_gradients_match_mxnet():
    x = [0.5, 1.5, 3.0, -0.5, -1.5]
    # MXNet 1.9.1: d gamma = gamma * digamma, d gammaln = digamma; its digamma is good to ~1e-7
    # only, ours to ~1e-15 (SciPy)
    for fn, mxnet, exact in (
            (mx.nd.gamma, [-3.4802307575806073, 0.032338472115211764, 1.8455686701969343,
                           -0.12935388846084703, 1.661750459778802],
             special.gamma(x) * special.digamma(x)),
            (mx.nd.gammaln, [-1.963509941769495, 0.03649005823050411, 0.9227843350984671,
                             0.03649005823050411, 0.7031567248971711], special.digamma(x))):
        g = _grad(fn, x)
        np.testing.assert_allclose(g, mxnet, rtol=3e-6)
        np.testing.assert_allclose(g, exact, rtol=1e-14)
    # the gradient ops under MXNet's names, (out grad, data)
    np.testing.assert_allclose(mx.nd._internal._backward_gammaln(nd([2.0]), nd([1.5])).asnumpy(),
                               [0.07297983], rtol=3e-6)
    np.testing.assert_allclose(mx.nd._internal._backward_gamma(nd([2.0]), nd([1.5])).asnumpy(),
                               [0.06467669], rtol=3e-6)
    with pytest.raises(ValueErr, match=r"_backward_gamma: .*lhs \(2,\) float64, rhs \(1,\)"):
        mx.nd._internal._backward_gamma(nd([2.0, 1.0]), nd([1.5]))


def test_second_derivatives_are_trigamma_based():
    """MXNet 1.9.1 has none (``_backward_gammaln`` is not differentiable there); ours is exact."""
    x = np.array([0.3, 1.5, 4.0, 12.5, -0.5, -2.7])
    for fn, want in ((mx.nd.gammaln, special.polygamma(1, x)),
                     (mx.nd.gamma, special.gamma(x) * (special.digamma(x) ** 2
                                                       + special.polygamma(1, x)))):
        a = nd(x)
        a.attach_grad()
        with autograd.record():
            (g,) = autograd.grad(fn(a), [a], create_graph=True)
            s = mx.nd.sum(g)
        s.backward()
        np.testing.assert_allclose(a.grad.asnumpy(), want, rtol=1e-12)


def test_special_functions_against_scipy(ctx):
    _need(ctx, "float64")
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(0, 30, 400), -rng.uniform(0, 30, 400),
                        np.geomspace(1e-12, 1e250, 60), np.arange(1.0, 40.0),
                        1 + rng.uniform(-1e-3, 1e-3, 20), 2 + rng.uniform(-1e-3, 1e-3, 20)])
    x = x[(x > 0) | (np.abs(x - np.round(x)) > 1e-3)]           # away from the poles
    a = nd(x, ctx)
    lg = mx.nd.gammaln(a).asnumpy()
    np.testing.assert_allclose(lg, special.gammaln(x), rtol=2e-14, atol=1e-15)
    small = x < 170
    np.testing.assert_allclose(mx.nd.gamma(nd(x[small], ctx)).asnumpy(), special.gamma(x[small]),
                               rtol=2e-14)
    psi = mx.nd._internal._backward_gammaln(mx.nd.ones(x.shape, ctx=ctx, dtype="float64"), a)
    np.testing.assert_allclose(psi.asnumpy(), special.digamma(x), rtol=1e-12, atol=1e-13)


def test_float32_path_for_devices_without_float64():
    """``_work`` falls back to float32 where a device has no float64: the same series hold."""
    x = np.linspace(-9.7, 30.0, 300).astype(np.float32)
    x = x[(x > 0) | (np.abs(x - np.round(x)) > 1e-2)]
    lg = ME._lgamma(np, x)
    assert lg.dtype == np.float32
    np.testing.assert_allclose(lg, special.gammaln(x.astype(np.float64)), rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(ME._gamma(np, x), special.gamma(x.astype(np.float64)), rtol=2e-5)
    np.testing.assert_allclose(ME._digamma(np, x), special.digamma(x.astype(np.float64)),
                               rtol=1e-5, atol=1e-5)


# -- contrib.isinf / isfinite / isnan -------------------------------------------------------------
def test_contrib_predicates_match_mxnet():
    x = [0.0, INF, -INF, NAN, 1.5]
    want = {"isinf": [0, 1, 1, 0, 0], "isfinite": [1, 0, 0, 0, 1], "isnan": [0, 0, 0, 1, 0]}
    ints = {"isinf": [0, 0], "isfinite": [1, 1], "isnan": [0, 0]}
    for name, values in want.items():
        fn = getattr(mx.nd.contrib, name)
        for dt in ("float16", "float32", "float64"):      # MXNet 1.9.1: 1/0 in the input dtype
            y = fn(nd(x, dtype=dt))
            assert y.dtype == np.dtype(dt) and y.asnumpy().tolist() == values, (name, dt)
        for dt in ("int32", "uint8"):
            y = fn(nd([1, 2], dtype=dt))
            assert y.dtype == np.dtype(dt) and y.asnumpy().tolist() == ints[name], (name, dt)
        # the gradient is zero, as MXNet's (abs and == have none)
        assert _grad(fn, [1.0, 2.0]).tolist() == [0.0, 0.0]


# -- moments --------------------------------------------------------------------------------------
def test_moments_documented_examples_and_mxnet_values():
    x = nd([[1, 2, 3], [4, 5, 6]], dtype="float32")
    m, v = mx.nd.moments(x, axes=[0])
    np.testing.assert_allclose(m.asnumpy(), [2.5, 3.5, 4.5])
    np.testing.assert_allclose(v.asnumpy(), [2.25, 2.25, 2.25])
    m, v = mx.nd.moments(x, axes=1)
    np.testing.assert_allclose(v.asnumpy(), [2 / 3, 2 / 3], rtol=1e-7)
    m, v = mx.nd.moments(x, axes=(0, 1))
    assert m.shape == v.shape == (1,)
    np.testing.assert_allclose([m.asscalar(), v.asscalar()], [3.5, 2.9166667], rtol=1e-7)
    a = nd(np.arange(24).reshape(2, 3, 4) * 0.5, dtype="float32")
    m, v = mx.nd.moments(a, axes=(0, 2), keepdims=True)
    assert m.shape == v.shape == (1, 3, 1) and m.dtype == np.float32
    np.testing.assert_allclose(m.asnumpy().ravel(), [3.75, 5.75, 7.75])
    np.testing.assert_allclose(v.asnumpy().ravel(), [9.3125] * 3)
    assert mx.nd.moments(a, axes=(2, 0))[0].shape == (3,)          # any order, negative axes
    np.testing.assert_allclose(mx.nd.moments(a, axes=(-1,))[1].asnumpy(), np.full((2, 3), 0.3125))
    # two-pass variance: exact for data with a large offset (MXNet 1.9.1's float32 values)
    off = nd(np.random.RandomState(0).uniform(0, 1, (3, 5)) + 1000, dtype="float32")
    np.testing.assert_allclose(mx.nd.moments(off, axes=(1,))[1].asnumpy(),
                               [0.008923524, 0.0544044, 0.08520489], rtol=2e-6)


def test_moments_of_integers_wrap_and_truncate_as_mxnet():
    # MXNet 1.9.1 computes in the integer dtype: sums wrap, divisions truncate toward zero
    cases = [("int32", [[-1, -2], [-3, 4]], [-1, 0], [0, 12]),
             ("int64", [[-1, -2], [-3, 4]], [-1, 0], [0, 12]),
             ("uint8", [[1, 2, 200], [3, 4, 250]], [67, 0], [52, 20]),
             ("int8", [[1, 2, 200], [3, 4, 250]], [-17, 0], [-32, 20])]
    for dt, x, mean, var in cases:
        m, v = mx.nd.moments(nd(np.array(x).astype(dt), dtype=dt), axes=(1,))
        assert m.dtype == v.dtype == np.dtype(dt)
        assert (m.asnumpy().tolist(), v.asnumpy().tolist()) == (mean, var), dt


def test_moments_gradient_matches_mxnet():
    a = nd([[1.0, 2.0, 4.0], [3.0, 5.0, 9.0]])
    a.attach_grad()
    with autograd.record():
        m, v = mx.nd.moments(a, axes=(1,))
    autograd.backward([m, v], [nd([1.0, 2.0]), nd([0.5, -1.0])])
    np.testing.assert_allclose(a.grad.asnumpy(), [      # MXNet 1.9.1
        [-0.11111111111111116, 0.22222222222222215, 0.8888888888888888],
        [2.4444444444444446, 1.1111111111111112, -1.5555555555555554]], rtol=1e-14)
    np.testing.assert_allclose(_grad(lambda t: mx.nd.moments(t, axes=(1,))[1], a.asnumpy()), [
        [-0.888888888888889, -0.22222222222222232, 1.111111111111111],
        [-1.777777777777778, -0.44444444444444464, 2.222222222222222]], rtol=1e-14)


@pytest.mark.parametrize("axes,match", [
    (None, r"moments: Expect: axes naming at least one axis"),
    ((), r"axes naming at least one axis"),
    ((1, 1), r"without duplicates / Actual: axes=\(1, 1\)"),
    ((0, -3), r"without duplicates"),
    ((3,), r"-3 <= axis < 3 / Actual: axis=3"),
    ((-4,), r"axis=-4"),
])
def test_moments_errors(axes, match):
    with pytest.raises(ValueErr, match=match):
        mx.nd.moments(nd(np.ones((2, 3, 4))), axes=axes)


def test_moments_symbol():
    s = mx.sym.moments(mx.sym.var("x"), axes=(1,), keepdims=True)
    assert len(s.list_outputs()) == 2
    assert s.infer_shape(x=(2, 3))[1] == [(2, 1), (2, 1)]
    node = json.loads(s.tojson())["nodes"][1]     # as MXNet 1.9.1 writes it
    assert node["op"] == "moments" and node["attrs"] == {"axes": "(1,)", "keepdims": "True"}
    m, v = s.eval(x=nd([[1, 2, 3], [4, 5, 6]], dtype="float32"))
    np.testing.assert_allclose(v.asnumpy(), [[2 / 3], [2 / 3]], rtol=1e-7)
    with pytest.raises(ValueErr, match="axes naming at least one axis"):
        mx.sym.moments(mx.sym.var("x")).infer_shape(x=(2, 3))


# -- _histogram -----------------------------------------------------------------------------------
_H = mx.nd._internal._histogram
_DATA = [[0, 1], [2, 2], [3, 4]]


def test_histogram_matches_mxnet(ctx):
    x = nd(_DATA, ctx, "float32")
    # (counts, edges) MXNet 1.9.1 gave
    cases = [(dict(bin_cnt=5, range=(0, 5)), [1, 1, 2, 1, 1], [0, 1, 2, 3, 4, 5]),
             (dict(bin_cnt=4, range=(0, 4)), [1, 1, 2, 2], [0, 1, 2, 3, 4]),
             (dict(bin_cnt=3, range=(0.5, 3.5)), [1, 2, 1], [0.5, 1.5, 2.5, 3.5]),
             (dict(bin_cnt=2, range=(1, 1)), [0, 1], [0.5, 1.0, 1.5])]
    for attrs, counts, edges in cases:
        h, e = _H(x, **attrs)
        assert h.dtype == np.int64 and e.dtype == np.float32
        assert h.asnumpy().tolist() == counts, attrs
        np.testing.assert_allclose(e.asnumpy(), edges)
    for bins, counts in (([0.0, 2.1, 3.0], [4, 1]), ([0.0, 2.0, 4.0], [2, 4]),
                         ([3.0, 0.0, 4.0], [0, 2])):              # unsorted: MXNet's scan
        h, e = _H(x, nd(bins, ctx, "float32"))
        assert h.asnumpy().tolist() == counts
        assert e.asnumpy().tolist() == np.float32(bins).tolist()
    h, _ = _H(nd([NAN, 1, 2, INF, -INF, 0.999999], ctx, "float32"), bin_cnt=2, range=(0, 2))
    assert h.asnumpy().tolist() == [1, 2]
    h, _ = _H(nd([-INF, -1, 0, 5, INF], ctx, "float32"), nd([-INF, 0, INF], ctx, "float32"))
    assert h.asnumpy().tolist() == [1, 3]                       # -inf - -inf is nan: not counted
    # the range is compared in double: float32(0.7) < 0.7 and float32(2.9) > 2.9 stay out
    f = nd([0.7, 0.69999, 0.7000001, 1.3, 2.9, 2.9000001], ctx, "float32")
    h, e = _H(f, bin_cnt=3, range=(0.7, 2.9))
    assert h.asnumpy().tolist() == [2, 0, 0]
    np.testing.assert_allclose(e.asnumpy(), [0.69999999, 1.4333333, 2.1666667, 2.9000001])
    h, _ = _H(nd(np.arange(12).reshape(3, 4) * 0.25, ctx, "float32"), bin_cnt=3, range=(0.3, 2.2))
    assert h.asnumpy().tolist() == [2, 3, 2]


def test_histogram_of_integers_uses_truncated_edges_as_mxnet():
    x = nd([0, 1, 2, 3], dtype="int32")
    h, e = _H(x, bin_cnt=3, range=(0.5, 3.5))
    assert e.dtype == np.int32 and e.asnumpy().tolist() == [0, 1, 2, 3]
    assert h.asnumpy().tolist() == [0, 1, 2]
    h, e = _H(x, bin_cnt=4, range=(0, 1))           # edges [0, 0, 0, 0, 1]: MXNet's correction
    assert (h.asnumpy().tolist(), e.asnumpy().tolist()) == ([0, 1, 0, 1], [0, 0, 0, 0, 1])
    h, e = _H(nd(_DATA, dtype="int32"), bin_cnt=4, range=(0, 4))
    assert h.asnumpy().tolist() == [1, 1, 2, 2] and e.asnumpy().tolist() == [0, 1, 2, 3, 4]


def test_histogram_large_input_in_blocks(monkeypatch):
    """The generic counting path (no bincount) and the scan work block by block."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=5000)
    monkeypatch.setattr(ME, "_BLOCK", 1000)
    monkeypatch.setattr(ME, "_maybe", lambda xp, name: None)
    h, _ = _H(nd(x), bin_cnt=7, range=(-2.0, 2.0))
    assert h.asnumpy().tolist() == np.histogram(x, bins=7, range=(-2.0, 2.0))[0].tolist()
    edges = np.array([-3.0, -1.0, -0.2, 0.0, 0.5, 2.5])
    h, _ = _H(nd(x), nd(edges))
    assert h.asnumpy().tolist() == np.histogram(x, bins=edges)[0].tolist()


@pytest.mark.parametrize("args,attrs,match", [
    ((), dict(bin_cnt=2, range=(3, 1)), r"lo <= hi / Actual: range=\(3.0, 1.0\)"),
    ((), dict(bin_cnt=3), r"bin_cnt and range given together"),
    ((), {}, r"bin_cnt and range given together"),
    ((), dict(bin_cnt=0, range=(0, 1)), r"bin_cnt >= 1"),
    ((), dict(bin_cnt=2, range=(0, np.inf)), r"finite"),
    (([[0.0, 1.5], [2, 4]],), {}, r"1-D array of >= 2 edges / Actual: bins.shape=\(2, 2\)"),
    (([1.0],), {}, r">= 2 edges"),
    (([0.0, 1.5, 4],), dict(bin_cnt=3, range=(0, 1)), r"not both"),
])
def test_histogram_errors(args, attrs, match):
    x = nd(_DATA, dtype="float32")
    with pytest.raises(ValueErr, match=rf"_histogram: .*{match}"):
        _H(x, *(nd(a, dtype="float32") for a in args), **attrs)
    with pytest.raises(ValueErr, match="bins of data's dtype.*float64, bins float32"):
        _H(nd(_DATA), nd([0.0, 2.0, 4.0], dtype="float32"))


def test_histogram_has_no_gradient_and_reads_mxnet_json():
    a = nd([1.0, 2.0])
    a.attach_grad()
    with autograd.record():
        h, _ = _H(a, bin_cnt=2, range=(0, 3))
    with pytest.raises(MXNetError):                 # MXNet 1.9.1: non-differentiable
        h.backward()
    mxnet_json = {"nodes": [{"op": "null", "name": "x", "inputs": []},
                            {"op": "_histogram", "name": "_histogram0",
                             "attrs": {"bin_cnt": "3", "range": "(0, 1)"},
                             "inputs": [[0, 0, 0]]}],
                  "arg_nodes": [0], "node_row_ptr": [0, 1, 3], "heads": [[1, 0, 0], [1, 1, 0]],
                  "attrs": {"mxnet_version": ["int", 10901]}}
    s = mx.sym.load_json(json.dumps(mxnet_json))
    assert s.infer_shape(x=(2, 3))[1] == [(3,), (4,)]
    h, e = s.eval(x=nd([[0.1, 0.5, 0.9], [1.0, 0.2, 2.0]], dtype="float32"))
    assert h.asnumpy().tolist() == [2, 1, 2]
    assert json.loads(s.tojson())["nodes"][1]["op"] == "_histogram"


# -- ravel_multi_index / unravel_index ------------------------------------------------------------
def test_ravel_and_unravel_match_mxnet(ctx):
    a = [[3, 6, 6], [4, 5, 1]]
    for dt in ("float32", "float64", "int32", "int64"):
        if dt not in ctx.backend.dtypes:
            continue
        r = mx.nd.ravel_multi_index(nd(a, ctx, dt), shape=(7, 6))
        assert r.dtype == np.dtype(dt) and r.asnumpy().tolist() == [22, 41, 37]
        u = mx.nd.unravel_index(nd([22, 41, 37], ctx, dt), shape=(-1, 6))
        assert u.dtype == np.dtype(dt) and u.asnumpy().tolist() == a
    # out of range, negative and fractional indices: no check, truncation at each step (MXNet)
    assert mx.nd.ravel_multi_index(nd([[7, -1, 2.7], [0, 2, -0.5]], ctx, "float32"),
                                   shape=(7, 6)).asnumpy().tolist() == [42, -4, 11]
    assert mx.nd.unravel_index(nd([42, -1, 100, 2.7], ctx, "float32"), shape=(7, 6)) \
        .asnumpy().tolist() == [[7, 0, 16, 0], [0, -1, 4, 2]]
    assert mx.nd.unravel_index(nd([5, 50], ctx, "float32"), shape=(-1, 6)).asnumpy().tolist() \
        == [[0, 8], [5, 2]]
    assert mx.nd.unravel_index(nd([-1.5, 2.9], ctx, "float32"), shape=(3, 4)).asnumpy() \
        .tolist() == [[0, 0], [-1, 2]]
    u = mx.nd.unravel_index(nd([5, 6, 7], ctx, "uint8"), shape=(2, 3))
    assert u.dtype == np.uint8 and u.asnumpy().tolist() == [[1, 2, 2], [2, 0, 1]]
    r = mx.nd.ravel_multi_index(nd([[1], [2]], ctx, "uint8"), shape=(200, 200))
    assert r.dtype == np.uint8 and r.asnumpy().tolist() == [202]


def test_ravel_and_unravel_large_and_nd_indices():
    big = nd([[16777217], [0]], dtype="int64")       # int64 stays exact (MXNet 1.9.1)
    assert mx.nd.ravel_multi_index(big, shape=(20000000, 1)).asnumpy().tolist() == [16777217]
    u = mx.nd.unravel_index(nd([400004007], dtype="int32"), shape=(100000, 100001))
    assert u.asnumpy().tolist() == [[4000], [7]]
    # N-d data: NumPy's layout (MXNet 1.9.1 mis-sizes this output)
    flat = np.array([[1, 2, 3], [30, 4, 5]])
    u = mx.nd.unravel_index(nd(flat), shape=(7, 6))
    assert u.shape == (2, 2, 3)
    assert u.asnumpy().tolist() == np.array(np.unravel_index(flat, (7, 6))).tolist()
    u = mx.nd.unravel_index(nd([NAN, 3.0]), shape=(3, 4))   # nan/inf: nan (MXNet: garbage)
    assert np.isnan(u.asnumpy()[:, 0]).all() and u.asnumpy()[:, 1].tolist() == [0, 3]
    assert np.isnan(mx.nd.ravel_multi_index(nd([[NAN], [1]]), shape=(3, 4)).asscalar())


@pytest.mark.parametrize("fn,data,shape,match", [
    ("ravel_multi_index", [1.0, 2.0], (7, 6), r"data of shape \(2, N\).*data.shape=\(2,\)"),
    ("ravel_multi_index", [[1.0, 2.0], [3.0, 4.0]], (7, 6, 5), r"data.shape=\(2, 2\)"),
    ("ravel_multi_index", [[[1.0]], [[2.0]]], (7, 6), r"data.shape=\(2, 1, 1\)"),
    ("ravel_multi_index", [[1.0], [2.0]], None, r"a non-empty shape"),
    ("unravel_index", [1.0], (), r"a non-empty shape"),
    ("unravel_index", [5.0], (7, 0), r"dimensions >= 1 after the first.*shape=\(7, 0\)"),
    ("ravel_multi_index", [[1.0], [2.0]], (7, -1), r"dimensions >= 1 after the first"),
])
def test_ravel_errors(fn, data, shape, match):
    with pytest.raises(ValueErr, match=rf"{fn}: .*{match}"):
        getattr(mx.nd, fn)(nd(data), shape=shape)


def test_ravel_gradients_are_zero_and_symbol_json_is_mxnets():
    assert _grad(lambda t: mx.nd.ravel_multi_index(t, shape=(7, 6)),
                 [[3.0, 6, 6], [4, 5, 1]]).tolist() == [[0.0] * 3] * 2        # as MXNet
    assert _grad(lambda t: mx.nd.unravel_index(t, shape=(7, 6)), [22.0, 41.0]).tolist() == [0, 0]
    s = mx.sym.ravel_multi_index(mx.sym.var("x"), shape=(7, 6))
    assert s.infer_shape(x=(2, 5))[1] == [(5,)]
    node = json.loads(s.tojson())["nodes"][1]
    assert node["op"] == "_ravel_multi_index" and node["attrs"] == {"shape": "(7, 6)"}
    u = mx.sym.unravel_index(mx.sym.var("x"), shape=(-1, 6))
    assert u.infer_shape(x=(5,))[1] == [(2, 5)]
    assert json.loads(u.tojson())["nodes"][1]["op"] == "_unravel_index"
    back = mx.sym.load_json(u.tojson())
    assert back.eval(x=nd([22.0, 41.0]))[0].asnumpy().tolist() == [[3, 6], [4, 5]]


# -- the histogram wrappers (mx.nd.histogram / mx.sym.histogram, MXNet's Python functions) ---------
def test_histogram_wrappers_as_mxnet():
    a = mx.nd.array([0.1, 0.5, 0.7, 1.5, 2.5, 2.9, 3.0])
    for counts, edges in (mx.nd.histogram(a, bins=3, range=(0, 3)),
                          mx.nd.histogram(a, bins=mx.nd.array([0, 1, 2, 3]))):
        assert counts.dtype == np.int64  # MXNet 1.9.1: [3 1 3], edges [0 1 2 3]
        np.testing.assert_array_equal(counts.asnumpy(), [3, 1, 3])
        np.testing.assert_array_equal(edges.asnumpy(), [0, 1, 2, 3])
    with pytest.warns(UserWarning, match="range is not specified"):
        res = mx.nd.histogram(a, bins=3)  # MXNet: NumPy's result, as float32 arrays
    assert isinstance(res, tuple) and res[0].dtype == np.float32
    np.testing.assert_allclose(res[1].asnumpy(), np.histogram(a.asnumpy(), bins=3)[1])
    with pytest.raises(ValueError, match="either an integer or an NDArray"):
        mx.nd.histogram(a, bins=2.5)
    s = mx.sym.histogram(mx.sym.var("a"), bins=3, range=(0, 3))
    assert len(s.list_outputs()) == 2
    np.testing.assert_array_equal(s.eval(a=a)[0].asnumpy(), [3, 1, 3])
    assert mx.sym.histogram(mx.sym.var("a"), bins=mx.sym.var("b")).list_arguments() == ["a", "b"]
    with pytest.raises(ValueError, match="null range is not supported in symbol mode"):
        mx.sym.histogram(mx.sym.var("a"), bins=3)
