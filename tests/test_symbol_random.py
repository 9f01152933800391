"""``mx.sym.random``: MXNet 1.9.1's symbolic sampling wrappers (python/mxnet/symbol/random.py).

Node names, attributes and errors are those MXNet 1.9.1 gives for the same calls; sampled
values are checked by their moments and by repeating after ``mx.random.seed``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import mxplug as mx
from mxplug.base import MXNetNotImplementedError
from mxplug.ops import REGISTRY

R = mx.sym.random


def _run(s, seed=3, **inputs):
    exe = s.bind(mx.cpu(), {k: mx.nd.array(v) for k, v in inputs.items()}, grad_req="null")
    mx.random.seed(seed)
    return [o.asnumpy() for o in exe.forward()]


def test_wrappers_are_mxnets():
    # MXNet 1.9.1's mx.sym.random functions (besides its *_like ops)
    for name in ("uniform", "normal", "randn", "poisson", "exponential", "gamma",
                 "multinomial", "negative_binomial", "generalized_negative_binomial",
                 "shuffle", "randint"):
        assert callable(getattr(R, name)), name
    assert not hasattr(R, "random_uniform")  # not the raw registry ops


@pytest.mark.parametrize("make, name, attrs, shape, dtype", [
    # (call, MXNet 1.9.1's node name, op attributes, output shape, dtype)
    (lambda: R.uniform(-1, 2, shape=(2, 3)), "_random_uniform",
     {"low": -1.0, "high": 2.0}, (2, 3), np.float32),
    (lambda: R.normal(1, 2, shape=(2,)), "_random_normal", {"loc": 1.0, "scale": 2.0}, (2,),
     np.float32),
    (lambda: R.randn(2, 3, loc=1, scale=2), "_random_normal", {"loc": 1.0, "scale": 2.0},
     (2, 3), np.float32),
    (lambda: R.poisson(3, shape=(2,)), "_random_poisson", {"lam": 3.0}, (2,), np.float32),
    (lambda: R.exponential(scale=2.0, shape=(3,)), "_random_exponential", {"lam": 0.5}, (3,),
     np.float32),
    (lambda: R.gamma(2, 3, shape=(2,)), "_random_gamma", {"alpha": 2.0, "beta": 3.0}, (2,),
     np.float32),
    (lambda: R.randint(0, 5, shape=(2,)), "_random_randint", {"low": 0, "high": 5}, (2,),
     np.int32),
    (lambda: R.randint(0, 5, shape=(2,), dtype="int64"), "_random_randint",
     {"low": 0, "high": 5}, (2,), np.int64),
    (lambda: R.uniform(shape=(2,), dtype="float64"), "_random_uniform", {}, (2,), np.float64),
])
def test_number_parameters_make_random_nodes(make, name, attrs, shape, dtype):
    s = make()
    node = s._outputs[0][0]
    assert node.name.startswith(name) and node.name[len(name):].isdigit()
    assert s.list_outputs() == [node.name + "_output"]
    for k, v in attrs.items():
        assert node.attrs[k] == v, k
    assert s.infer_shape()[1] == [shape]
    assert s.infer_type()[1] == [dtype]


def test_name_attr_and_ctx_pass_through():
    s = R.uniform(shape=(2,), name="u", attr={"lr_mult": "2"}, ctx=mx.cpu())
    assert s.name == "u" and s.attr("lr_mult") == "2"


def test_exponential_takes_the_scale():
    # MXNet 1.9.1: exponential(scale=2.0) is _random_exponential(lam=0.5); mean = scale
    (v,) = _run(R.exponential(scale=2.0, shape=(20000,)))
    assert v.mean() == pytest.approx(2.0, rel=0.05)
    assert v.std() == pytest.approx(2.0, rel=0.05)
    with pytest.raises(ZeroDivisionError):  # 1.0 / scale, as MXNet
        R.exponential(scale=0, shape=(3,))


@pytest.mark.parametrize("make, mean, std", [
    (lambda: R.uniform(-1.5, 3.0, shape=(20000,)), 0.75, 4.5 / np.sqrt(12)),
    (lambda: R.normal(10.0, 0.5, shape=(20000,)), 10.0, 0.5),
    (lambda: R.randn(20000, loc=10.0, scale=0.5), 10.0, 0.5),
    (lambda: R.gamma(9.0, 0.5, shape=(20000,)), 4.5, 1.5),
    (lambda: R.poisson(4.0, shape=(20000,)), 4.0, 2.0),
])
def test_moments_and_seed_repeat(make, mean, std):
    s = make()
    (a,) = _run(s, seed=5)
    (b,) = _run(s, seed=5)
    np.testing.assert_array_equal(a, b)
    assert a.mean() == pytest.approx(mean, rel=0.03)
    assert a.std() == pytest.approx(std, rel=0.05)


def test_randint_range_and_dtype():
    (v,) = _run(R.randint(-3, 4, shape=(5000,)))
    assert v.dtype == np.int32 and v.min() == -3 and v.max() == 3


def test_shuffle_and_multinomial():
    data = np.arange(12, dtype=np.float32).reshape(6, 2)
    s = R.shuffle(mx.sym.var("d"))
    assert s.name.startswith("_shuffle")
    (v,) = _run(s, d=data)
    assert sorted(map(tuple, v)) == sorted(map(tuple, data)) and v.shape == (6, 2)
    p = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)
    m = R.multinomial(mx.sym.var("p"), shape=3, get_prob=False)
    assert m.name.startswith("_sample_multinomial")
    (v,) = _run(m, p=p)
    np.testing.assert_array_equal(v, [[1, 1, 1], [0, 0, 0]])
    assert v.dtype == np.int32


def test_multinomial_get_prob_defaults_to_true():
    # MXNet 1.9.1: ['_sample_multinomial0_output0', '_sample_multinomial0_output1']
    m = R.multinomial(mx.sym.var("p"), shape=2)
    assert len(m.list_outputs()) == 2
    assert len(R.multinomial(mx.sym.var("p"), shape=2, get_prob=False).list_outputs()) == 1
    p = np.array([[0.0, 1.0], [1.0, 0.0]], np.float32)
    samples, logp = _run(m, p=p)
    np.testing.assert_array_equal(samples, [[1, 1], [0, 0]])
    np.testing.assert_array_equal(logp, np.zeros((2, 2), np.float32))  # log(1)


def test_parameter_type_errors_are_mxnets():
    lo, hi = mx.sym.var("lo"), mx.sym.var("hi")
    # MXNet 1.9.1's messages
    with pytest.raises(AssertionError, match="Distribution parameters must all have the same "
                                             "type, but got both"):
        R.uniform(lo, 1.0)
    with pytest.raises(AssertionError, match="must all have the same type"):
        R.normal(0, hi)
    with pytest.raises(ValueError, match="Distribution parameters must be either Symbol or "
                                         "numbers, but got <class 'str'>"):
        R.uniform("a", 1)


@pytest.mark.parametrize("make, op", [
    (lambda: R.uniform(mx.sym.var("lo"), mx.sym.var("hi"), shape=(2,)), "_sample_uniform"),
    (lambda: R.normal(mx.sym.var("m"), mx.sym.var("s")), "_sample_normal"),
    (lambda: R.exponential(mx.sym.var("s")), "_sample_exponential"),
    (lambda: R.gamma(mx.sym.var("a"), mx.sym.var("b")), "_sample_gamma"),
    (lambda: R.poisson(mx.sym.var("lam")), "_sample_poisson"),
    (lambda: R.negative_binomial(3, 0.4, shape=(2,)), "_random_negative_binomial"),
    (lambda: R.generalized_negative_binomial(2, 0.3), "_random_generalized_negative_binomial"),
])
def test_symbol_parameters_build_the_per_element_samplers(make, op):
    # as MXNet 1.9.1: Symbol parameters take its per-element _sample_* ops
    node = json.loads(make().tojson())["nodes"][-1]
    assert REGISTRY[node["op"]] is REGISTRY[op]


def test_randint_with_symbols_is_an_error():
    # MXNet 1.9.1 has no per-element randint (it fails calling None)
    with pytest.raises(MXNetNotImplementedError, match="randint"):
        R.randint(mx.sym.var("lo"), mx.sym.var("hi"))


def test_bound_graph_draws_anew_each_forward():
    x = mx.sym.var("x")
    exe = (R.uniform(shape=(4,)) + x).bind(mx.cpu(), {"x": mx.nd.zeros((4,))}, grad_req="null")
    mx.random.seed(1)
    a = exe.forward()[0].asnumpy()
    b = exe.forward()[0].asnumpy()
    mx.random.seed(1)
    np.testing.assert_array_equal(exe.forward()[0].asnumpy(), a)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("make, mean, std", [
    (lambda: R.normal(loc=10.0, scale=0.5), 10.0, 0.5),
    (lambda: R.uniform(), 0.5, (1 / 12) ** 0.5),
    (lambda: R.negative_binomial(k=3, p=0.4), 4.5, 3.35),
])
def test_a_sampler_without_shape_draws_its_elementwise_peers_shape(make, mean, std):
    # MXNet 1.9.1 infers the sample shape from X (one draw per element: std 0.52 for normal);
    # mxplug drew one number and broadcast it (std 0)
    x = mx.sym.var("X")
    for y in (make() + x, x * 1.0 + make()):
        ex = y.bind(mx.cpu(), {"X": mx.nd.zeros((60, 50))})
        mx.random.seed(3)
        out = ex.forward()[0].asnumpy()
        assert out.shape == (60, 50)
        assert abs(out.mean() - mean) < 0.1 * max(std, 1) and abs(out.std() - std) < 0.1 * std


def test_the_peer_shape_reaches_samplers_through_elementwise_chains():
    # MXNet carries the shape back through elementwise ops: one draw per element of X
    x, n = mx.sym.var("X"), R.normal
    for y in (n() * 2 + x, mx.sym.maximum(n(), x - 9), mx.sym.exp(n()) + x, n() + n() + x):
        out = y.bind(mx.cpu(), {"X": mx.nd.zeros((3, 4))}).forward()[0].asnumpy()
        assert out.shape == (3, 4) and len(np.unique(out)) == 12
