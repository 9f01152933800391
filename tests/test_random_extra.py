"""``mxplug/ops/random_extra.py`` and its front ends: the negative binomial samplers, the
per-element ``sample_*`` ops, the ``*_like`` samplers and the ``random_pdf_*`` densities.

Samplers: moments with a fixed seed (bounds of several standard errors; the seed makes every
run draw the same numbers, so the checks cannot flake), agreement with ``random_<dist>`` for
equal parameters, names, shapes, dtypes and errors as MXNet 1.9.1 gives them. Densities: SciPy,
MXNet 1.9.1's documented examples and values and gradients MXNet 1.9.1 computed."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

import mxplug as mx
from mxplug import autograd
from mxplug import random as R
from mxplug.base import MXNetError, MXNetNotImplementedError, MXNetTypeError, MXNetValueError
from mxplug.ops import REGISTRY, apply

rnd = mx.nd.random
DISTS = ("uniform", "normal", "gamma", "exponential", "poisson", "negative_binomial",
         "generalized_negative_binomial")


@pytest.fixture(autouse=True)
def _restore_state():
    saved = R.get_state()
    yield
    R.set_state(saved)


def f64(x):
    return mx.nd.array(np.asarray(x, dtype=np.float64), dtype="float64")


# -- names -----------------------------------------------------------------------------------------
def test_mxnet_random_names_exist():
    # MXNet 1.9.1's op names containing random_/sample_/pdf and its mx.nd.random *_like
    # functions (from MXListAllOpNames and dir(mx.nd.random)); _sample_unique_zipfian excepted
    for d in DISTS:
        for name in (f"random_{d}", f"_random_{d}", f"sample_{d}", f"_sample_{d}",
                     f"_random_{d}_like", f"random_pdf_{d}", f"_random_pdf_{d}"):
            assert name in REGISTRY, name
        assert callable(getattr(rnd, f"{d}_like")) and callable(getattr(mx.sym.random, f"{d}_like"))
    assert "random_pdf_dirichlet" in REGISTRY and "_random_pdf_dirichlet" in REGISTRY
    for name in ("negative_binomial", "generalized_negative_binomial"):
        assert callable(getattr(rnd, name))
    assert hasattr(mx.nd, "random_pdf_normal") and hasattr(mx.nd, "sample_gamma")
    assert hasattr(mx.nd._internal, "_random_uniform_like")


# -- samplers: moments ----------------------------------------------------------------------------
def _moments_ok(x, mean, var, k=5.0):
    """Sample mean within ``k`` standard errors, sample variance within ``k`` of its (normal-
    approximation) standard errors times two (heavier tails)."""
    n = x.size
    assert abs(x.mean() - mean) < k * math.sqrt(var / n), (x.mean(), mean)
    assert abs(x.var() - var) < 2 * k * var * math.sqrt(2 / n) + 1e-12, (x.var(), var)


@pytest.mark.parametrize("k, p", [(3, 0.4), (1, 0.9), (20, 0.2)])
def test_negative_binomial_moments(k, p):
    R.seed(10)
    x = rnd.negative_binomial(k, p, shape=(40_000,)).asnumpy()
    assert x.dtype == np.float32 and np.all(x == np.round(x)) and x.min() >= 0
    _moments_ok(x, k * (1 - p) / p, k * (1 - p) / p ** 2)


@pytest.mark.parametrize("mu, alpha", [(2.0, 0.3), (10.0, 1.5), (3.0, 0.0)])
def test_generalized_negative_binomial_moments(mu, alpha):
    R.seed(11)
    x = rnd.generalized_negative_binomial(mu, alpha, shape=(40_000,)).asnumpy()
    assert np.all(x == np.round(x)) and x.min() >= 0
    _moments_ok(x, mu, mu + alpha * mu ** 2)


def test_negative_binomial_degenerate_cases():
    assert np.all(rnd.negative_binomial(0, 0.5, shape=(50,)).asnumpy() == 0)   # k = 0
    assert np.all(rnd.negative_binomial(4, 1.0, shape=(50,)).asnumpy() == 0)   # p = 1
    assert np.all(rnd.generalized_negative_binomial(0.0, 0.7, shape=(50,)).asnumpy() == 0)


SAMPLE_CASES = [  # (dist, parameter rows, mean, variance)
    ("uniform", ([-1.0, 2.0], [3.0, 2.5]), lambda a, b: (a + b) / 2,
     lambda a, b: (b - a) ** 2 / 12),
    ("normal", ([0.0, 2.5], [1.0, 3.7]), lambda m, s: m, lambda m, s: s * s),
    ("gamma", ([0.4, 3.5], [2.0, 0.5]), lambda a, b: a * b, lambda a, b: a * b * b),
    ("exponential", ([0.5, 4.0],), lambda scale: scale, lambda scale: scale ** 2),  # 1 / lam
    ("poisson", ([2.5, 40.0],), lambda lam: lam, lambda lam: lam),
    ("negative_binomial", ([2.5, 7.0], [0.3, 0.6]), lambda k, p: k * (1 - p) / p,
     lambda k, p: k * (1 - p) / p ** 2),
    ("generalized_negative_binomial", ([2.0, 6.0], [1.0, 0.0]), lambda m, a: m,
     lambda m, a: m + a * m * m),
]


@pytest.mark.parametrize("dist, rows, mean, var", SAMPLE_CASES, ids=[c[0] for c in SAMPLE_CASES])
def test_per_element_samplers_moments(dist, rows, mean, var):
    R.seed(12)
    params = [mx.nd.array(r) for r in rows]
    x = getattr(rnd, dist)(*params, shape=(30_000,))          # NDArray parameters: sample_<dist>
    assert x.shape == (2, 30_000) and x.dtype == np.float32
    x = x.asnumpy().astype(np.float64)
    for i in range(2):
        args = [r[i] for r in rows]
        _moments_ok(x[i], mean(*args), var(*args))


@pytest.mark.parametrize("dist, attrs, mean, var", [
    ("uniform", dict(low=2.0, high=3.0), 2.5, 1 / 12),
    ("normal", dict(loc=1.0, scale=2.0), 1.0, 4.0),
    ("gamma", dict(alpha=2.5, beta=0.5), 1.25, 0.625),
    ("exponential", dict(lam=4.0), 0.25, 1 / 16),
    ("poisson", dict(lam=12.0), 12.0, 12.0),
    ("negative_binomial", dict(k=3, p=0.4), 4.5, 11.25),
    ("generalized_negative_binomial", dict(mu=2.0, alpha=0.3), 2.0, 3.2),
])
def test_like_samplers_moments_shape_dtype(dist, attrs, mean, var):
    R.seed(13)
    data = mx.nd.zeros((200, 150), dtype="float64")
    x = getattr(rnd, f"{dist}_like")(data, **attrs)
    assert x.shape == (200, 150) and x.dtype == np.float64        # data's, as MXNet 1.9.1
    _moments_ok(x.asnumpy().ravel(), mean, var)


# -- samplers: the same numbers as random_<dist>, reproducibility ---------------------------------
@pytest.mark.parametrize("dist, values", [
    ("uniform", dict(low=-1.0, high=3.0)), ("normal", dict(loc=1.0, scale=2.0)),
    ("gamma", dict(alpha=0.7, beta=2.0)), ("exponential", dict(lam=2.0)),
    ("poisson", dict(lam=15.0)), ("negative_binomial", dict(k=3, p=0.4)),
    ("generalized_negative_binomial", dict(mu=2.0, alpha=0.5))])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_equal_parameters_give_random_ops_numbers(dist, values, dtype):
    key, counter = 123, 45
    base = apply(REGISTRY[f"random_{dist}"], **REGISTRY[f"random_{dist}"].parse_attrs(
        dict(shape=(3, 4), dtype=dtype, key=key, counter=counter, **values))).asnumpy()
    like = apply(REGISTRY[f"_random_{dist}_like"], mx.nd.zeros((3, 4), dtype=dtype),
                 **REGISTRY[f"_random_{dist}_like"].parse_attrs(dict(key=key, counter=counter,
                                                                     **values))).asnumpy()
    np.testing.assert_array_equal(like, base)
    op = REGISTRY[f"sample_{dist}"]
    arrays = [mx.nd.full((3,), float(v), dtype="float64") for v in values.values()]
    per = apply(op, *arrays, **op.parse_attrs(dict(shape=(4,), dtype=dtype, key=key,
                                                    counter=counter))).asnumpy()
    np.testing.assert_array_equal(per, base)


def test_seed_reproduces_every_front_end():
    def draw():
        return [rnd.negative_binomial(3, 0.5, shape=(5,)),
                rnd.generalized_negative_binomial(mx.nd.array([1.0, 2.0]), mx.nd.array([0.5, 0])),
                rnd.gamma_like(mx.nd.zeros((4,)), alpha=0.5),
                rnd.normal(mx.nd.zeros((3,)), mx.nd.ones((3,)), shape=2)]
    R.seed(77)
    a = [x.asnumpy() for x in draw()]
    R.seed(77)
    b = [x.asnumpy() for x in draw()]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[3][:, 0], a[3][:, 1])


# -- samplers: shapes, dtypes, errors (as MXNet 1.9.1) -------------------------------------------
def test_sampler_shapes_and_dtypes():
    assert rnd.negative_binomial(3, 0.4).shape == (1,)
    assert rnd.negative_binomial(3, 0.4, shape=(2, 2), dtype="float16").dtype == np.float16
    assert mx.nd.random_negative_binomial(k=3, p=0.4, shape=(2,), dtype="float64").dtype == \
        np.float64
    m64 = mx.nd.array([0.0, 2.5], dtype="float64")
    s = mx.nd.sample_normal(m64, m64 + 1, shape=(4, 5))
    assert s.shape == (2, 4, 5) and s.dtype == np.float32     # MXNet 1.9.1: float32, not float64
    assert mx.nd.sample_normal(m64, m64 + 1, dtype="float64").dtype == np.float64
    assert mx.nd.sample_poisson(mx.nd.array([1, 3], dtype="int32")).shape == (2,)
    assert rnd.uniform_like(mx.nd.zeros((2, 3), dtype="float16")).dtype == np.float16
    u = mx.nd.sample_uniform(mx.nd.array([0.0, 10.0]), mx.nd.array([1.0, 11.0]), shape=(50,))
    u = u.asnumpy()
    assert np.all((u[0] >= 0) & (u[0] < 1)) and np.all((u[1] >= 10) & (u[1] < 11))


@pytest.mark.parametrize("call, match", [
    (lambda: rnd.negative_binomial(-1, 0.4), r"random_negative_binomial.*k >= 0.*k=-1"),
    (lambda: rnd.negative_binomial(3, 0.0), r"random_negative_binomial.*0 < p <= 1.*p=0.0"),
    (lambda: rnd.negative_binomial(3, 1.5), r"0 < p <= 1.*p=1.5"),
    (lambda: rnd.negative_binomial(2.5, 0.4), r"random_negative_binomial.*k=2.5.*integer"),
    (lambda: rnd.negative_binomial(3, 0.4, dtype="int32"), r"random_negative_binomial.*dtype"),
    (lambda: rnd.generalized_negative_binomial(-1, 0.3), r"mu >= 0.*mu=-1"),
    (lambda: rnd.generalized_negative_binomial(2, -0.3), r"alpha >= 0.*alpha=-0.3"),
    (lambda: mx.nd.sample_normal(mx.nd.zeros((2,)), mx.nd.ones((3,))),
     r"sample_normal.*mu, sigma of one shape.*mu \(2,\).*sigma \(3,\)"),
    (lambda: mx.nd.sample_normal(mx.nd.zeros((2,)), mx.nd.ones((2,), dtype="float64")),
     r"sample_normal.*one shape and dtype.*float32.*float64"),
    (lambda: mx.nd.sample_normal(mx.nd.zeros((2,)), mx.nd.ones((2,)), dtype="int32"),
     r"sample_normal.*dtype"),
    (lambda: mx.nd.sample_gamma(mx.nd.array([-1.0, 2.5]), mx.nd.ones((2,))),
     r"sample_gamma.*alpha > 0 and beta > 0.*1 of 2"),
    (lambda: mx.nd.sample_uniform(mx.nd.array([2.0]), mx.nd.array([1.0])), r"low <= high"),
    (lambda: mx.nd.sample_negative_binomial(mx.nd.array([1.0]), mx.nd.array([1.5])),
     r"0 < p <= 1"),
    (lambda: rnd.uniform_like(mx.nd.zeros((2,), dtype="int32")), r"_random_uniform_like.*dtype"),
    (lambda: rnd.uniform_like(mx.nd.zeros((2,)), low=3, high=2), r"low <= high.*low=3"),
    (lambda: rnd.normal_like(mx.nd.zeros((2,)), scale=-2), r"_random_normal_like.*scale >= 0"),
])
def test_sampler_errors(call, match):
    with pytest.raises(MXNetValueError, match=match):
        call()


def test_front_end_dispatch_errors():
    with pytest.raises(AssertionError, match="must all have the same type"):
        rnd.negative_binomial(mx.nd.array([1.0]), 0.5)
    with pytest.raises(ValueError, match="either NDArray or numbers"):
        rnd.gamma("a", 1)
    with pytest.raises(MXNetTypeError, match="randint"):   # MXNet has no per-element randint
        rnd.randint(mx.nd.zeros((2,)), mx.nd.ones((2,)))
    with pytest.raises(MXNetNotImplementedError, match="bernoulli"):
        rnd.bernoulli(mx.nd.array([0.5]))


def test_exponential_ndarray_scale_is_a_rate_of_one_over_scale():
    R.seed(3)
    x = rnd.exponential(mx.nd.array([0.5, 4.0]), shape=(20_000,)).asnumpy()
    _moments_ok(x[0], 0.5, 0.25)
    _moments_ok(x[1], 4.0, 16.0)


# -- symbols --------------------------------------------------------------------------------------
def test_symbol_front_ends():
    s = mx.sym.random.negative_binomial(3, 0.4, shape=(2,))
    node = s._outputs[0][0]
    assert node.name.startswith("_random_negative_binomial") and node.attrs["k"] == 3
    s = mx.sym.random.normal(mx.sym.var("m"), mx.sym.var("s"), shape=(4,))
    assert s.name.startswith("_sample_normal")
    # MXNet 1.9.1: ([(2,), (2,)], [(2, 4)], []) and a float32 output for float64 parameters
    assert s.infer_shape(m=(2,)) == ([(2,), (2,)], [(2, 4)], [])
    assert s.infer_type(m="float64")[1] == [np.float32]
    with mx.name.NameManager():  # a fresh counter, whatever earlier tests built
        like = mx.sym.random.uniform_like(mx.sym.var("x"), low=1, high=2)
    assert like.name == "uniform_like0" and like.list_arguments() == ["x"]   # as MXNet 1.9.1
    assert like.infer_type(x="float64")[1] == [np.float64]
    exe = like.bind(mx.cpu(), {"x": mx.nd.zeros((3, 4))}, grad_req="null")
    R.seed(5)
    a = exe.forward()[0].asnumpy()
    b = exe.forward()[0].asnumpy()
    R.seed(5)
    np.testing.assert_array_equal(exe.forward()[0].asnumpy(), a)
    assert not np.array_equal(a, b) and a.min() >= 1 and a.max() < 2


# -- densities ------------------------------------------------------------------------------------
PDF_POINTS = [  # (dist, sample, params, scipy log-density)
    ("normal", [-1.0, 0.3, 2.0], ([0.2, 0.0, 1.0], [1.0, 0.5, 2.0]),
     lambda x, m, s: stats.norm.logpdf(x, m, s)),
    ("uniform", [0.5, 1.5, 3.0], ([0.2, 0.1, 0.0], [1.0, 2.0, 2.0]),
     lambda x, lo, hi: stats.uniform.logpdf(x, lo, hi - lo)),
    ("gamma", [0.5, 1.5, 4.0], ([1.5, 2.0, 0.7], [1.0, 3.0, 0.5]),
     lambda x, a, b: stats.gamma.logpdf(x, a, scale=1 / b)),
    ("exponential", [0.5, 1.5, -1.0], ([1.0, 2.0, 2.0],),
     lambda x, lam: stats.expon.logpdf(x, scale=1 / lam)),
    ("poisson", [0.0, 1.0, 3.0], ([1.5, 2.0, 0.5],), lambda x, lam: stats.poisson.logpmf(x, lam)),
    ("negative_binomial", [0.0, 1.0, 3.0], ([1.5, 2.0, 4.0], [0.3, 0.6, 0.9]),
     lambda x, k, p: stats.nbinom.logpmf(x, k, p)),
    ("generalized_negative_binomial", [0.0, 1.0, 3.0], ([1.5, 2.0, 0.5], [0.3, 0.6, 2.0]),
     lambda x, m, a: stats.nbinom.logpmf(x, 1 / a, 1 / (1 + m * a))),
]


@pytest.mark.parametrize("dist, x, params, logpdf", PDF_POINTS, ids=[c[0] for c in PDF_POINTS])
def test_densities_match_scipy(dist, x, params, logpdf):
    fn = getattr(mx.nd, f"random_pdf_{dist}")
    want = logpdf(np.array(x), *map(np.array, params))
    args = [f64(x)] + [f64(p) for p in params]
    np.testing.assert_allclose(fn(*args, is_log=True).asnumpy(), want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(fn(*args).asnumpy(), np.exp(want), rtol=1e-12, atol=1e-14)
    out32 = fn(*[mx.nd.array(a.asnumpy(), dtype="float32") for a in args])
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32.asnumpy(), np.exp(want), rtol=1e-6, atol=1e-7)


def test_dirichlet_density_and_shapes():
    x, alpha = np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]]), np.array([1.5, 0.8, 3.0])
    got = mx.nd.random_pdf_dirichlet(f64(x), f64(alpha), is_log=True).asnumpy()
    np.testing.assert_allclose(got, [stats.dirichlet.logpdf(r, alpha) for r in x], rtol=1e-12)
    # MXNet 1.9.1's documented examples (off the simplex, as MXNet does not restrict it)
    got = mx.nd.random_pdf_dirichlet(mx.nd.array([[1, 2], [2, 3], [3, 4]]), mx.nd.array([2.5, 2.5]))
    np.testing.assert_allclose(got.asnumpy(), [38.413498, 199.60245, 564.56085], rtol=1e-5)
    s = [[[1, 2, 3], [10, 20, 30], [100, 200, 300]],
         [[0.1, 0.2, 0.3], [0.01, 0.02, 0.03], [0.001, 0.002, 0.003]]]
    got = mx.nd.random_pdf_dirichlet(f64(s), f64([0.1, 0.4, 0.9]))
    np.testing.assert_allclose(got.asnumpy(), [[2.3257459e-02, 5.8420084e-04, 1.4674458e-05],
                                               [9.2589635e-01, 3.6860607e+01, 1.4674468e+03]],
                               rtol=2e-6)
    # shapes (MXNet 1.9.1): alpha (2, 2) with sample (2, 1, 2) -> (2, 1); one row -> (1,)
    assert mx.nd.random_pdf_dirichlet(mx.nd.ones((2, 1, 2)), mx.nd.ones((2, 2))).shape == (2, 1)
    assert mx.nd.random_pdf_dirichlet(mx.nd.array([0.2, 0.8]), mx.nd.ones((2,))).shape == (1,)


def test_documented_examples():
    # MXNet 1.9.1's docstring examples (float32)
    nd = mx.nd
    np.testing.assert_allclose(nd.random_pdf_normal(
        nd.array([[-2, -1, 0, 1, 2]] * 2), nd.array([0, 0]), nd.array([1, 2])).asnumpy(),
        [[0.05399097, 0.24197073, 0.3989423, 0.24197073, 0.05399097],
         [0.12098537, 0.17603266, 0.19947115, 0.17603266, 0.12098537]], rtol=1e-6)
    np.testing.assert_allclose(nd.random_pdf_gamma(
        nd.array([[1, 2, 3, 4, 5]]), nd.array([5]), nd.array([1])).asnumpy(),
        [[0.01532831, 0.09022352, 0.16803136, 0.19536681, 0.17546739]], rtol=1e-6)
    np.testing.assert_allclose(nd.random_pdf_poisson(
        nd.array([[0, 1, 2, 3]] * 2), nd.array([1, 3])).asnumpy(),
        [[0.36787945, 0.36787945, 0.18393973, 0.06131324],
         [0.04978707, 0.14936121, 0.22404182, 0.22404182]], rtol=1e-6)
    np.testing.assert_allclose(nd.random_pdf_negative_binomial(
        nd.array([[1, 2, 3, 4]] * 2), nd.array([1, 1.5]), nd.array([0.5, 0.5])).asnumpy(),
        [[0.25, 0.125, 0.0625, 0.03125], [0.26516506, 0.16572815, 0.09667476, 0.05437956]],
        rtol=1e-6)
    np.testing.assert_allclose(nd.random_pdf_generalized_negative_binomial(
        nd.array([[1, 2, 3, 4]] * 2), nd.array([1, 1.5]), nd.array([1, 0.6666])).asnumpy(),
        [[0.25, 0.125, 0.0625, 0.03125], [0.26517063, 0.16573331, 0.09667706, 0.05437994]],
        rtol=1e-6)
    np.testing.assert_allclose(nd.random_pdf_exponential(
        nd.array([[1, 2, 3]] * 2), nd.array([1, 0.25])).asnumpy(),
        [[0.36787945, 0.13533528, 0.04978707], [0.1947002, 0.15163267, 0.11809164]], rtol=1e-6)
    np.testing.assert_allclose(nd.random_pdf_uniform(
        nd.array([[1, 2, 3, 4]]), nd.array([0]), nd.array([10])).asnumpy(), [[0.1] * 4],
        rtol=1e-6)


def test_density_edges_where_we_differ_from_mxnet():
    nd = mx.nd
    # outside the support: 0 (MXNet 1.9.1: 1.0, 14.778112 and nan); the log: -inf
    np.testing.assert_array_equal(nd.random_pdf_uniform(nd.array([2.0, -1.0]), nd.array([0, 0]),
                                                        nd.array([1, 1])).asnumpy(), [0, 0])
    assert nd.random_pdf_exponential(nd.array([-1.0]), nd.array([2.0])).asnumpy()[0] == 0
    assert nd.random_pdf_gamma(nd.array([-1.0]), nd.array([2.0]), nd.array([2.0]),
                               is_log=True).asnumpy()[0] == -np.inf
    assert nd.random_pdf_negative_binomial(nd.array([-1.0]), nd.array([1.0]),
                                           nd.array([0.5])).asnumpy()[0] == 0
    # invalid parameters: nan (MXNet 1.9.1: -0.35206532 for sigma=-1, -1 for high < low)
    assert np.isnan(nd.random_pdf_normal(nd.array([0.5]), nd.array([0]), nd.array([-1])).asnumpy())
    assert np.isnan(nd.random_pdf_uniform(nd.array([0.5]), nd.array([1]), nd.array([0])).asnumpy())
    assert np.isnan(nd.random_pdf_dirichlet(nd.array([[0.5, 0.5]]),
                                            nd.array([[0.5, -0.5]])).asnumpy()).all()
    # the limits (MXNet 1.9.1: nan): 0 log 0 = 0, alpha = 0 is Poisson(mu)
    assert nd.random_pdf_poisson(nd.array([0.0, 2.0]), nd.array([0.0, 0.0])).asnumpy().tolist() \
        == [1.0, 0.0]
    assert nd.random_pdf_negative_binomial(nd.array([0.0]), nd.array([1.5]),
                                           nd.array([1.0])).asnumpy()[0] == 1.0
    got = nd.random_pdf_generalized_negative_binomial(f64([0, 2, 5]), f64([1.5, 2, 0.7]),
                                                      f64([0, 0, 0]))
    np.testing.assert_allclose(got.asnumpy(), stats.poisson.pmf([0, 2, 5], [1.5, 2, 0.7]),
                               rtol=1e-12)
    # as MXNet: non-integer counts take the Gamma-function extension (MXNet 1.9.1: 0.28795183)
    np.testing.assert_allclose(nd.random_pdf_poisson(nd.array([1.5]), nd.array([2.0])).asnumpy(),
                               [0.28795183], rtol=1e-6)
    assert nd.random_pdf_gamma(nd.array([0.0]), nd.array([0.5]), nd.array([2.0])).asnumpy()[0] \
        == np.inf


GRAD_CASES = [  # (dist, inputs, is_log, output and gradients MXNet 1.9.1 computed in float64)
    ("normal", ([0.5, 1.5], [0.2, 0.1], [1.0, 2.0]), False, [0.38138781, 0.15612696],
     [[-0.11441634, -0.05464444], [0.11441634, 0.05464444], [-0.34706291, -0.03981238]]),
    ("normal", ([0.5, 1.5], [0.2, 0.1], [1.0, 2.0]), True, [-0.96393855, -1.85708573],
     [[-0.3, -0.35], [0.3, 0.35], [-0.91, -0.255]]),
    ("uniform", ([0.5, 1.5], [0.2, 0.1], [1.0, 2.0]), False, [1.25, 0.52631579],
     [[0, 0], [1.5625, 0.27700831], [-1.5625, -0.27700831]]),
    ("exponential", ([0.5, 1.5], [1.0, 2.0]), False, [0.60653066, 0.09957414],
     [[-0.60653066, -0.19914827], [0.30326533, -0.09957414]]),
    ("gamma", ([0.5, 1.5], [1.5, 2.0], [1.0, 3.0]), True, [-0.72579135, -1.89731031],
     [[0.0, -2.33333333], [-0.72963724, 1.08129306], [1.0, -0.83333333]]),
    ("poisson", ([1.0, 3.0], [1.5, 2.0]), False, [0.33469524, 0.18044704],
     [[0, 0], [-0.11156508, 0.09022352]]),
    ("negative_binomial", ([1.0, 3.0], [1.5, 2.0], [0.3, 0.6]), False, [0.17253261, 0.09216],
     [[0, 0], [-0.09270283, 0.05276231], [0.61618788, -0.384]]),
    ("generalized_negative_binomial", ([1.0, 3.0], [1.5, 2.0], [0.3, 0.6]), False,
     [0.29979882, 0.11844286], [[0, 0], [-0.06891927, 0.02691883], [-0.10621112, -0.06137401]]),
    ("dirichlet", ([[0.2, 0.8], [0.3, 0.7]], [[1.5, 2.0], [0.8, 3.0]]), True,
     [0.29389333, 0.22856002], [[[2.5, 1.25], [-0.66666667, 2.85714286]],
                                [[-0.54277125, 0.45722884], [0.95872561, -0.08176940]]]),
]


@pytest.mark.parametrize("dist, inputs, is_log, out, grads", GRAD_CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in GRAD_CASES])
def test_gradients_match_mxnet(dist, inputs, is_log, out, grads):
    xs = [f64(a) for a in inputs]
    for x in xs:
        x.attach_grad()
    with autograd.record():
        y = getattr(mx.nd, f"random_pdf_{dist}")(*xs, is_log=is_log)
    y.backward()
    np.testing.assert_allclose(y.asnumpy(), out, rtol=1e-7)
    for x, g in zip(xs, grads):   # MXNet's digamma is good to ~1e-7: so the tolerance
        np.testing.assert_allclose(x.grad.asnumpy(), g, rtol=1e-6, atol=1e-8)


def test_gradients_sum_over_the_samples_of_each_distribution():
    # MXNet 1.9.1: sample (1, 3) with mu = [0.2], sigma = [1.0]
    xs = [f64([[0.5, 1.5, 2.0]]), f64([0.2]), f64([1.0])]
    for x in xs:
        x.attach_grad()
    with autograd.record():
        y = mx.nd.random_pdf_normal(*xs)
    y.backward()
    np.testing.assert_allclose(xs[1].grad.asnumpy(), [0.47930579], rtol=1e-7)
    np.testing.assert_allclose(xs[2].grad.asnumpy(), [-0.05197023], rtol=1e-6)


def _gnb_alpha_grad(x, mu, alpha):
    a = f64(alpha)
    a.attach_grad()
    with autograd.record():
        y = mx.nd.random_pdf_generalized_negative_binomial(f64(x), f64(mu), a, is_log=True)
    y.backward()
    return a.grad.asnumpy()


def test_gnb_alpha_gradient_at_zero_is_the_limit():
    # d/dalpha log p at alpha = 0 (Poisson) is ((x - mu)^2 - x) / 2 (Cameron & Trivedi's score)
    x, mu = np.array([0.0, 2.0, 5.0]), np.array([1.5, 2.0, 0.7])
    limit = 0.5 * ((x - mu) ** 2 - x)
    np.testing.assert_allclose(_gnb_alpha_grad(x, mu, [0.0] * 3), limit, rtol=1e-12)
    np.testing.assert_allclose(_gnb_alpha_grad(x, mu, [1e-4] * 3), limit, rtol=1e-2, atol=1e-3)


@pytest.mark.parametrize("call, match", [
    (lambda: mx.nd.random_pdf_normal(mx.nd.ones((2, 2)), mx.nd.zeros((3,)), mx.nd.ones((3,))),
     r"random_pdf_normal.*sample's shape to start with mu's \(3,\).*sample.shape=\(2, 2\)"),
    (lambda: mx.nd.random_pdf_normal(mx.nd.ones((2, 2)), mx.nd.zeros((2,)), mx.nd.ones((3,))),
     r"mu and sigma of one shape.*mu.shape=\(2,\), sigma.shape=\(3,\)"),
    (lambda: mx.nd.random_pdf_normal(mx.nd.ones((1,)), mx.nd.zeros((1,), dtype="float64"),
                                     mx.nd.ones((1,))), r"one dtype.*mu.dtype=float64"),
    (lambda: mx.nd.random_pdf_poisson(mx.nd.ones((2,), dtype="int32"),
                                      mx.nd.ones((2,), dtype="int32")),
     r"random_pdf_poisson.*floating-point sample.*int32"),
    (lambda: mx.nd.random_pdf_dirichlet(mx.nd.ones((2,)), mx.nd.ones((3,))),
     r"random_pdf_dirichlet.*\(3,\).*sample.shape=\(2,\)"),
])
def test_density_errors(call, match):
    with pytest.raises(MXNetError, match=match):
        call()


def test_density_float16():
    h = mx.nd.random_pdf_normal(mx.nd.array([1.0], dtype="float16"),
                                mx.nd.array([0.0], dtype="float16"),
                                mx.nd.array([1.0], dtype="float16"))
    assert h.dtype == np.float16 and abs(float(h.asnumpy()[0]) - 0.2421) < 1e-3  # MXNet 1.9.1


def test_density_symbol_and_gradient_on_every_backend(ctx):
    s = mx.sym.random_pdf_gamma(mx.sym.var("x"), mx.sym.var("a"), mx.sym.var("b"), is_log=True)
    x, a, b = np.array([[0.5, 1.0], [2.0, 3.0]]), np.array([1.5, 2.0]), np.array([1.0, 0.5])
    args = {k: mx.nd.array(v, ctx=ctx) for k, v in (("x", x), ("a", a), ("b", b))}
    grads = {k: mx.nd.zeros(v.shape, ctx=ctx) for k, v in args.items()}
    exe = s.bind(ctx, args, args_grad=grads)
    want = stats.gamma.logpdf(x, a[:, None], scale=1 / b[:, None])
    np.testing.assert_allclose(exe.forward(is_train=True)[0].asnumpy(), want, rtol=1e-5)
    exe.backward([mx.nd.ones((2, 2), ctx=ctx)])
    # d/dalpha = log b + log x - digamma(a), summed over each row's samples
    np.testing.assert_allclose(grads["a"].asnumpy(), (np.log(b[:, None]) + np.log(x)
                                                      - special.digamma(a)[:, None]).sum(1),
                               rtol=1e-5)
    np.testing.assert_allclose(grads["x"].asnumpy(), (a[:, None] - 1) / x - b[:, None], rtol=1e-5)
