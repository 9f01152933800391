"""The counter-based generator and the random ops: known answers, reproducibility, distributions,
MXNet semantics and error paths."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug import random as R
from mxplug.base import MXNetError, MXNetTypeError, MXNetValueError
from mxplug.ndarray import random as rnd
from mxplug.ops import REGISTRY, apply, state

from .references import random as ref

# Random123's kat_vectors for philox4x32_10: (counter, key, expected)
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.fixture(autouse=True)
def _restore_state():
    saved = R.get_state()
    yield
    R.set_state(saved)


@pytest.mark.parametrize("ctr,key,expected", KAT)
def test_philox_known_answers(ctr, key, expected):
    x = [np.array([c], dtype=np.uint64) for c in ctr]
    got = tuple(int(w[0]) for w in R.philox4x32(np, *x, *key))
    assert got == expected
    assert ref.philox(ctr, key) == expected          # the reference generator agrees too


def test_words_layout_matches_reference():
    key, counter = 0x123456789ABCDEF0, 2 ** 32 + 7
    got = [int(w) for w in R.words(np, key, counter, 11)]
    assert got == ref.stream(key, counter, 11)
    assert [int(w) for w in R.words(np, key, counter, 3, x1=5)] == \
        [ref.word(key, counter, i, rnd=5) for i in range(3)]


def test_same_seed_same_numbers_different_seed_differs():
    R.seed(42)
    a = rnd.uniform(shape=(100,)).asnumpy()
    b = rnd.normal(shape=(10,)).asnumpy()
    R.seed(42)
    np.testing.assert_array_equal(rnd.uniform(shape=(100,)).asnumpy(), a)
    np.testing.assert_array_equal(rnd.normal(shape=(10,)).asnumpy(), b)
    R.seed(43)
    assert not np.array_equal(rnd.uniform(shape=(100,)).asnumpy(), a)


def test_two_calls_differ_and_do_not_depend_on_earlier_sizes():
    R.seed(7)
    a, b = rnd.uniform(shape=(50,)).asnumpy(), rnd.uniform(shape=(50,)).asnumpy()
    assert not np.array_equal(a, b)
    R.seed(7)
    rnd.uniform(shape=(1000,))                       # a bigger first call ...
    np.testing.assert_array_equal(rnd.uniform(shape=(50,)).asnumpy(), b)   # ... same second


def test_next_state_and_stream():
    R.seed(5)
    assert R.next_state() == (5, 0)
    assert R.next_state() == (5, 1)
    R.set_stream(1)
    key, counter = R.next_state()
    assert key != 5 and counter == 0
    R.set_stream(0)
    assert R.next_state()[0] == 5


def test_seed_rejects_bad_input():
    with pytest.raises(MXNetTypeError, match="seed"):
        R.seed("abc")
    with pytest.raises(MXNetValueError, match="ctx"):
        R.seed(1, ctx="gpu")
    R.seed(3, ctx=mx.cpu())
    assert R.get_state()[0] == 3


def test_explicit_key_counter_are_pure():
    op = REGISTRY["random_uniform"]
    a = mx.nd.random_uniform(shape=(5,), key=9, counter=4).asnumpy()
    b = apply(op, **op.parse_attrs(dict(shape=(5,), key=9, counter=4))).asnumpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, ref.uniform(shape=(5,), key=9, counter=4))


def test_uniform_range_and_moments():
    R.seed(0)
    x = rnd.uniform(-2, 3, shape=(100_000,)).asnumpy()
    assert x.dtype == np.float32 and x.min() >= -2 and x.max() < 3
    assert abs(x.mean() - 0.5) < 0.03 and abs(x.std() - 5 / np.sqrt(12)) < 0.03
    h = rnd.uniform(0, 1, shape=(20_000,), dtype="float16").asnumpy()
    assert h.dtype == np.float16 and h.max() < 1.0


def test_normal_moments():
    R.seed(1)
    for dt in ("float32", "float64"):
        x = rnd.normal(1.5, 2.0, shape=(100_000,), dtype=dt).asnumpy()
        assert x.dtype == np.dtype(dt)
        assert abs(x.mean() - 1.5) < 0.03 and abs(x.std() - 2.0) < 0.03
    y = rnd.randn(2, 3, loc=1.0)
    assert y.shape == (2, 3)


def test_exponential_gamma_poisson_moments():
    R.seed(2)
    e = rnd.exponential(scale=2.0, shape=(100_000,)).asnumpy()
    assert e.min() >= 0 and abs(e.mean() - 2.0) < 0.05
    for alpha, beta in ((3.0, 0.5), (0.5, 2.0)):
        g = rnd.gamma(alpha, beta, shape=(100_000,)).asnumpy()
        assert g.min() >= 0 and abs(g.mean() - alpha * beta) < 0.03 * alpha * beta + 0.02
        assert abs(g.var() - alpha * beta ** 2) < 0.1 * alpha * beta ** 2
    for lam in (3.0, 50.0):
        p = rnd.poisson(lam, shape=(50_000,)).asnumpy()
        assert np.all(p == np.round(p)) and p.min() >= 0
        assert abs(p.mean() - lam) < 0.03 * lam + 0.05 and abs(p.var() - lam) < 0.08 * lam


def test_randint_bounds_and_dtype():
    R.seed(3)
    x = rnd.randint(-3, 4, shape=(10_000,)).asnumpy()
    assert x.dtype == np.int32 and x.min() == -3 and x.max() == 3
    counts = np.bincount(x + 3)
    assert counts.min() > 1200
    y = rnd.randint(0, 10, shape=(3,), dtype="int64")
    assert y.dtype == np.int64


def test_randint_errors_name_op_and_values():
    with pytest.raises(MXNetValueError, match=r"random_randint.*low < high.*low=5, high=5"):
        rnd.randint(5, 5, shape=(2,))
    with pytest.raises(MXNetValueError, match=r"random_randint.*dtype"):
        rnd.randint(0, 5, shape=(2,), dtype="float32")
    with pytest.raises(MXNetValueError, match=r"high - low <= 2\*\*32"):
        rnd.randint(0, 2 ** 33, shape=(2,), dtype="int64")
    with pytest.raises(MXNetTypeError, match="randint"):
        rnd.randint(0.5, 3)


def test_parameter_errors():
    with pytest.raises(MXNetValueError, match=r"random_uniform.*low <= high.*low=2.0, high=1.0"):
        rnd.uniform(2, 1, shape=(2,))
    with pytest.raises(MXNetValueError, match=r"random_normal.*scale >= 0"):
        rnd.normal(0, -1, shape=(2,))
    with pytest.raises(MXNetValueError, match=r"random_uniform.*dtype.*int32"):
        rnd.uniform(shape=(2,), dtype="int32")
    with pytest.raises(MXNetValueError, match=r"random_gamma.*alpha > 0"):
        rnd.gamma(0.0, 1.0)
    with pytest.raises(MXNetValueError, match=r"random_bernoulli.*prob=1.5"):
        rnd.bernoulli(1.5)
    with pytest.raises(MXNetValueError, match=r"sample_uniform.*low <= high"):
        rnd.uniform(mx.nd.ones((2,)), mx.nd.zeros((2,)))  # per-element parameters: checked too


def test_default_shape_and_out():
    x = rnd.uniform()
    assert x.shape == (1,) and x.dtype == np.float32
    out = mx.nd.zeros((2, 3), dtype="float64")
    res = rnd.normal(out=out)
    assert res is out and out.dtype == np.float64 and np.all(out.asnumpy() != 0)


def test_bernoulli_frequency():
    R.seed(4)
    b = rnd.bernoulli(0.3, shape=(50_000,)).asnumpy()
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.01


def test_multinomial_frequencies_shapes_and_prob():
    R.seed(5)
    p = np.array([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]])
    s = rnd.multinomial(mx.nd.array(p), shape=20_000)
    assert s.shape == (2, 20_000) and s.dtype == np.int32
    s = s.asnumpy()
    np.testing.assert_allclose(np.bincount(s[0], minlength=3) / 20_000, p[0], atol=0.015)
    assert not np.any(s[1] == 2)                     # zero-probability class never drawn
    one = rnd.multinomial(mx.nd.array([0.0, 1.0]))
    assert one.shape == (1,) and one.asnumpy()[0] == 1
    idx, lp = rnd.multinomial(mx.nd.array(p), shape=(4,), get_prob=True)
    np.testing.assert_allclose(lp.asnumpy(), np.log(np.take_along_axis(p, idx.asnumpy()
                                                                        .astype(int), 1)),
                               rtol=1e-6)


def test_multinomial_errors():
    with pytest.raises(MXNetValueError,
                       match=r"sample_multinomial.*floating-point data \(probabilities\)"):
        rnd.multinomial(mx.nd.array([1, 2], dtype="int32"))
    with pytest.raises(MXNetValueError, match=r"sample_multinomial.*dtype"):
        rnd.multinomial(mx.nd.array([0.5, 0.5]), dtype="int64")


def test_shuffle_is_permutation_of_rows():
    R.seed(6)
    x = np.arange(60, dtype=np.float32).reshape(20, 3)
    y = rnd.shuffle(mx.nd.array(x)).asnumpy()
    assert not np.array_equal(x, y)
    np.testing.assert_array_equal(np.sort(y[:, 0]), x[:, 0])
    np.testing.assert_array_equal(y[:, 1] - y[:, 0], np.ones(20))   # rows stay intact


def test_dropout_identity_outside_training():
    x = mx.nd.array(np.random.default_rng(0).uniform(1, 2, (4, 5)))
    assert not state.training
    np.testing.assert_array_equal(mx.nd.Dropout(x, p=0.5).asnumpy(), x.asnumpy())


def test_dropout_training_scales_and_drops():
    x = mx.nd.ones((200, 50))
    prev, state.training = state.training, True
    try:
        y = mx.nd.Dropout(x, p=0.4).asnumpy()
    finally:
        state.training = prev
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.6], rtol=1e-6)
    assert abs((y == 0).mean() - 0.4) < 0.02
    assert abs(y.mean() - 1.0) < 0.03               # expectation preserved


def test_dropout_always_axes_share_mask_and_edge_p():
    x = mx.nd.ones((8, 30, 4))
    y = mx.nd.Dropout(x, p=0.5, mode="always", axes=(1,)).asnumpy()
    assert np.all(y == y[:, :1, :])                  # same mask along axis 1
    assert np.array_equal(mx.nd.Dropout(x, p=1.0, mode="always").asnumpy(), np.zeros((8, 30, 4)))
    np.testing.assert_array_equal(mx.nd.Dropout(x, p=0.0, mode="always").asnumpy(), x.asnumpy())


def test_dropout_errors():
    with pytest.raises(MXNetValueError, match=r"Dropout.*0 <= p <= 1.*p=1.5"):
        mx.nd.Dropout(mx.nd.ones((2, 2)), p=1.5, mode="always")
    with pytest.raises(MXNetValueError, match=r"Dropout.*axes.*\(2, 2\)"):
        mx.nd.Dropout(mx.nd.ones((2, 2)), axes=(3,), mode="always")
    with pytest.raises(MXNetError, match="mode"):
        mx.nd.Dropout(mx.nd.ones((2, 2)), mode="sometimes")


def test_multinomial_with_probabilities_returns_a_list_as_mxnet():
    res = mx.nd.random.multinomial(mx.nd.array([[0.5, 0.5]]), get_prob=True)
    assert isinstance(res, list) and len(res) == 2
