"""``gluon.Trainer``: MXNet's step semantics (1/batch_size scaling), gradient aggregation over the
contexts of a parameter, learning-rate control and optimizer-state files."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd, gluon


def _net(ctx, units=3, in_units=4):
    net = gluon.nn.Dense(units, in_units=in_units)
    net.initialize(mx.init.Constant(0.5), ctx=ctx)
    return net


def test_step_rescales_by_batch_size(ctx):
    net = _net(ctx)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    x = mx.nd.ones((8, 4), ctx=ctx)
    with autograd.record():
        loss = net(x).sum()
    loss.backward()
    g = net.weight.grad(ctx).asnumpy().copy()
    before = net.weight.data(ctx).asnumpy().copy()
    trainer.step(8)
    np.testing.assert_allclose(net.weight.data(ctx).asnumpy(), before - 0.1 * g / 8, rtol=1e-6)


@pytest.mark.parametrize("opt,params", [("sgd", {"learning_rate": 0.1, "momentum": 0.9}),
                                        ("adam", {"learning_rate": 0.1})])
def test_two_contexts_sum_gradients_and_stay_equal(ctx, opt, params):
    """Adam: each device copy keeps its own update count (bias correction), as in MXNet."""
    ctxs = [mx.cpu(1), ctx]
    net = _net(ctxs)
    trainer = gluon.Trainer(net.collect_params(), opt, dict(params), kvstore="device")
    rng = np.random.default_rng(0)
    data = rng.normal(size=(8, 4)).astype(np.float32)
    single = _net(mx.cpu(2))  # the same model on one context with the whole batch
    trainer1 = gluon.Trainer(single.collect_params(), opt, dict(params))
    for _ in range(3):
        parts = gluon.utils.split_and_load(mx.nd.array(data), ctxs)
        with autograd.record():
            losses = [(net(p) ** 2).sum() for p in parts]
        for loss in losses:
            loss.backward()
        trainer.step(8)
        with autograd.record():
            loss = (single(mx.nd.array(data, ctx=mx.cpu(2))) ** 2).sum()
        loss.backward()
        trainer1.step(8)
    w = [net.weight.data(c).asnumpy() for c in ctxs]
    np.testing.assert_allclose(w[0], w[1], rtol=2e-5)  # OpenCL's update kernel rounds apart
    np.testing.assert_allclose(w[0], single.weight.data(mx.cpu(2)).asnumpy(), rtol=1e-5,
                               atol=1e-6)


def test_learning_rate_and_update_without_allreduce(ctx):
    net = _net(ctx)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5})
    assert trainer.learning_rate == 0.5
    trainer.set_learning_rate(0.25)
    assert trainer.learning_rate == 0.25
    with autograd.record():
        loss = net(mx.nd.ones((2, 4), ctx=ctx)).sum()
    loss.backward()
    before = net.weight.data(ctx).asnumpy().copy()
    trainer.allreduce_grads()
    trainer.update(2)
    g = net.weight.grad(ctx).asnumpy()
    np.testing.assert_allclose(net.weight.data(ctx).asnumpy(), before - 0.25 * g / 2, rtol=1e-6)


def test_states_round_trip(tmp_path, ctx):
    def run(trainer, net, steps):
        for _ in range(steps):
            with autograd.record():
                loss = (net(mx.nd.ones((2, 4), ctx=ctx)) ** 2).sum()
            loss.backward()
            trainer.step(2)

    net_a, net_b = _net(ctx), _net(ctx)
    ta = gluon.Trainer(net_a.collect_params(), "adam", {"learning_rate": 0.01})
    run(ta, net_a, 2)
    ta.save_states(str(tmp_path / "t.states"))
    net_b.weight.set_data(net_a.weight.data(ctx))
    net_b.bias.set_data(net_a.bias.data(ctx))
    tb = gluon.Trainer(net_b.collect_params(), "adam", {"learning_rate": 0.01})
    tb.load_states(str(tmp_path / "t.states"))
    run(ta, net_a, 1)
    run(tb, net_b, 1)
    np.testing.assert_allclose(net_b.weight.data(ctx).asnumpy(), net_a.weight.data(ctx).asnumpy(),
                               rtol=1e-6)


def test_bad_arguments():
    net = _net(mx.cpu())
    with pytest.raises(mx.MXNetError):
        gluon.Trainer("not params", "sgd")
    opt = mx.optimizer.SGD(learning_rate=0.1)
    with pytest.raises(mx.MXNetError, match="optimizer_params"):
        gluon.Trainer(net.collect_params(), opt, {"learning_rate": 0.2})
    with pytest.raises(mx.MXNetError, match="MPI"):
        gluon.Trainer(net.collect_params(), "sgd", kvstore="dist_async").step(1)
