"""Initializers: suffix dispatch, constant values, statistics of the random ones, seeding."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

import mxplug as mx

I = mx.init


def _arr(ctx, shape):
    return mx.nd.zeros(shape, ctx=ctx)


def test_suffix_dispatch(ctx):
    init = I.Uniform(0.5)
    for name, value in (("fc_bias", 0.0), ("bn_gamma", 1.0), ("bn_beta", 0.0),
                        ("bn_moving_mean", 0.0), ("bn_moving_var", 1.0),
                        ("bn_running_mean", 0.0), ("bn_running_var", 1.0)):
        a = mx.nd.full((3,), 7.0, ctx=ctx)
        init(I.InitDesc(name), a)
        np.testing.assert_array_equal(a.asnumpy(), value, err_msg=name)
        b = mx.nd.full((3,), 7.0, ctx=ctx)
        init(name, b)  # the legacy (plain str) path
        np.testing.assert_array_equal(b.asnumpy(), value, err_msg=name)
    w = _arr(ctx, (50, 40))
    init(I.InitDesc("fc_weight"), w)
    assert np.abs(w.asnumpy()).max() <= 0.5 and w.asnumpy().std() > 0.2
    with pytest.raises(ValueError):
        init(I.InitDesc("something"), _arr(ctx, (2,)))


def test_desc_own_init_wins(ctx):
    a = _arr(ctx, (4,))
    I.Uniform()(I.InitDesc("fc_bias", {"__init__": I.Constant(3.0)}), a)
    np.testing.assert_array_equal(a.asnumpy(), 3.0)
    b = _arr(ctx, (2, 2))
    I.Uniform()(I.InitDesc("x_weight", {"__init__": I.One().dumps()}), b)
    np.testing.assert_array_equal(b.asnumpy(), 1.0)


def test_constants(ctx):
    for init, val in ((I.Zero(), 0.0), (I.One(), 1.0), (I.Constant(2.5), 2.5)):
        a = mx.nd.full((2, 3), 9.0, ctx=ctx)
        init("w_weight", a)
        np.testing.assert_array_equal(a.asnumpy(), val)
    a = _arr(ctx, (2, 3))
    I.Constant([1.0, 2.0, 3.0])("w_weight", a)
    np.testing.assert_array_equal(a.asnumpy(), [[1, 2, 3], [1, 2, 3]])
    a = _arr(ctx, (8,))
    I.LSTMBias(forget_bias=1.5)("lstm_bias", a)  # as in MXNet, suffix dispatch: bias -> zeros
    np.testing.assert_array_equal(a.asnumpy(), 0.0)
    I.LSTMBias(forget_bias=1.5)._init_weight("lstm_i2h_bias", a)
    np.testing.assert_array_equal(a.asnumpy(), [0, 0, 1.5, 1.5, 0, 0, 0, 0])


def test_uniform_normal_stats(ctx):
    mx.random.seed(0)
    a = _arr(ctx, (200, 100))
    I.Uniform(0.3)("w_weight", a)
    v = a.asnumpy()
    assert v.min() >= -0.3 and v.max() <= 0.3
    assert abs(v.mean()) < 0.01 and abs(v.std() - 0.3 / math.sqrt(3)) < 0.01
    I.Normal(0.2)("w_weight", a)
    v = a.asnumpy()
    assert abs(v.mean()) < 0.01 and abs(v.std() - 0.2) < 0.01


def test_xavier_and_msra_scale(ctx):
    mx.random.seed(1)
    a = _arr(ctx, (64, 32, 3, 3))
    I.Xavier(rnd_type="uniform", factor_type="avg", magnitude=3)("c_weight", a)
    scale = math.sqrt(3 / ((32 * 9 + 64 * 9) / 2))
    v = a.asnumpy()
    assert np.abs(v).max() <= scale and abs(v.std() - scale / math.sqrt(3)) < 0.02 * scale
    I.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2)("c_weight", a)
    assert abs(a.asnumpy().std() - math.sqrt(2 / (32 * 9))) < 0.03 * math.sqrt(2 / (32 * 9))
    I.MSRAPrelu(factor_type="out", slope=0.0)("c_weight", a)
    assert abs(a.asnumpy().std() - math.sqrt(2 / (64 * 9))) < 0.03 * math.sqrt(2 / (64 * 9))
    with pytest.raises(ValueError):
        I.Xavier()("v_weight", _arr(ctx, (5,)))


def test_orthogonal(ctx):
    a = _arr(ctx, (4, 6))
    I.Orthogonal(scale=2.0)("w_weight", a)
    v = a.asnumpy().astype(np.float64)
    np.testing.assert_allclose(v @ v.T, 4 * np.eye(4), atol=1e-5)
    b = _arr(ctx, (6, 4))
    I.Orthogonal(scale=1.0, rand_type="normal")("w_weight", b)
    w = b.asnumpy().astype(np.float64)
    np.testing.assert_allclose(w.T @ w, np.eye(4), atol=1e-5)


def test_bilinear(ctx):
    a = _arr(ctx, (1, 1, 4, 4))
    I.Bilinear()("up_weight", a)
    row = np.array([0.25, 0.75, 0.75, 0.25])
    np.testing.assert_allclose(a.asnumpy()[0, 0], np.outer(row, row), rtol=1e-6)


def test_seed_reproduces(ctx):
    def draw():
        mx.random.seed(42)
        a = _arr(ctx, (3, 5))
        I.Xavier()("w_weight", a)
        return a.asnumpy()
    np.testing.assert_array_equal(draw(), draw())


def test_mixed_and_load(ctx):
    init = I.Mixed(["fc1_.*", ".*"], [I.Constant(0.5), I.One()])
    a, b = _arr(ctx, (2,)), _arr(ctx, (2,))
    init("fc1_weight", a)
    init("fc2_weight", b)
    np.testing.assert_array_equal(a.asnumpy(), 0.5)
    np.testing.assert_array_equal(b.asnumpy(), 1.0)
    with pytest.raises(ValueError):
        I.Mixed(["x"], [I.One()])("y", a)
    load = I.Load({"arg:fc_weight": mx.nd.full((2,), 3.0)}, default_init=I.Zero())
    load("fc_weight", b)
    np.testing.assert_array_equal(b.asnumpy(), 3.0)
    load("other_weight", b)
    np.testing.assert_array_equal(b.asnumpy(), 0.0)
    with pytest.raises(ValueError):
        load("fc_weight", _arr(ctx, (3,)))


def test_create_register_dumps():
    assert isinstance(I.create("zeros"), I.Zero) and isinstance(I.create("ones"), I.One)
    x = I.Xavier(magnitude=2.0)
    assert json.loads(x.dumps()) == ["xavier", {"rnd_type": "uniform", "factor_type": "avg",
                                                "magnitude": 2.0}]
    y = I.create(x.dumps())
    assert isinstance(y, I.Xavier) and y.magnitude == 2.0
    assert I.create(x) is x

    @I.register
    class Halves(I.Initializer):
        def _init_weight(self, _, arr):
            arr[:] = 0.5

    a = mx.nd.zeros((2,))
    I.create("halves")("w_weight", a)
    np.testing.assert_array_equal(a.asnumpy(), 0.5)
    with pytest.raises(ValueError):
        I.create("nonexistent")


def test_fused_rnn_initializer_without_importing_mx_rnn():
    # MXNet-written symbol JSON carries '["fusedrnn", {"init": null, ...}]' for a fused cell's
    # parameters: it must load in a process that never imported mx.rnn
    code = ("import mxplug as mx, sys; assert 'mxplug.rnn' not in sys.modules; "
            "i = mx.init.create('[\"fusedrnn\", {\"init\": null, \"num_hidden\": 3}]'); "
            "assert type(i) is mx.init.FusedRNN and i.dumps().startswith('[\"fusedrnn\"')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
