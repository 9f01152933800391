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


# -- kvstore plug-ins (MXNet 1.9.1's KVStoreBase); values checked against MXNet 1.9.1 --------------
def _two_copies(name="x", shape=(10,), init="zeros"):
    x = gluon.Parameter(name, shape=shape)
    x.initialize(ctx=[mx.cpu(0), mx.cpu(1)], init=init)
    return x


def _backward_each(x, f=lambda w: w + 1):
    with autograd.record():
        for w in x.list_data():
            f(w).backward()


def test_trainer_with_teststore():
    """MXNet 1.9.1's test_trainer_with_teststore: a store that cannot run the optimizer."""
    x = _two_copies()
    kv = mx.kv.create("teststore")
    trainer = gluon.Trainer([x], "sgd", {"learning_rate": 1.0, "momentum": 0.5}, kvstore=kv)
    _backward_each(x)
    trainer.step(1)
    assert trainer._update_on_kvstore is False and trainer._kvstore is kv
    for c in (mx.cpu(0), mx.cpu(1)):
        np.testing.assert_array_equal(x.data(c).asnumpy(), np.full(10, -2.0))
    _backward_each(x)
    trainer.step(1)
    np.testing.assert_array_equal(x.data(mx.cpu(1)).asnumpy(), np.full(10, -5.0))  # 1.9.1: -5
    invalid_trainer = gluon.Trainer([x], "sgd", kvstore=kv, update_on_kvstore=True)
    with pytest.raises(ValueError, match="update_on_kvstore=False"):
        invalid_trainer._init_kvstore()


class _Workers(mx.kv.KVStoreBase):
    """A Horovod-style plug-in: broadcast and an "allreduce" over two simulated workers (the
    other one holds the same gradient, so the sum doubles it); cannot run the optimizer."""

    def __init__(self):
        self.calls = []

    def broadcast(self, key, value, out, priority=0):
        self.calls.append(("broadcast", key))
        for o in out if isinstance(out, list) else [out]:
            o[:] = value

    def pushpull(self, key, value, out=None, priority=0):
        self.calls.append(("pushpull", key, out is None, priority))
        values = value if isinstance(value, list) else [value]
        total = sum(v.as_in_context(values[0].context) for v in values) * 2
        for o in values if out is None else out:
            o[:] = total

    def is_capable(self, capability):
        return False

    @property
    def type(self):
        return "workers"

    @property
    def rank(self):
        return 0

    @property
    def num_workers(self):
        return 2


def test_plugin_store_is_used_with_one_context():
    y = gluon.Parameter("y", shape=(3,))
    y.initialize(ctx=mx.cpu(0), init="ones")
    kv = _Workers()
    trainer = gluon.Trainer([y], "sgd", {"learning_rate": 0.5}, kvstore=kv)
    with autograd.record():
        (y.data() * 3).sum().backward()
    trainer.step(1)
    assert trainer._kvstore is kv and trainer._update_on_kvstore is False
    assert kv.calls == [("broadcast", 0), ("pushpull", 0, True, 0)]  # as 1.9.1 calls them
    np.testing.assert_allclose(y.data().asnumpy(), [-2.0, -2.0, -2.0])  # 1 - 0.5 * (3 + 3)


class _Server(mx.kv.KVStoreBase):
    """A plug-in that runs the optimizer on the summed gradients and returns the weights."""

    def __init__(self):
        self.calls, self._weights, self._updater = [], {}, None

    def broadcast(self, key, value, out, priority=0):
        self.calls.append(("broadcast", key))
        self._weights[key] = value.copy()
        for o in out if isinstance(out, list) else [out]:
            o[:] = value

    def pushpull(self, key, value, out=None, priority=0):
        self.calls.append(("pushpull", key, out is None, priority))
        self._updater(key, sum(v.as_in_context(mx.cpu(0)) for v in value), self._weights[key])
        for o in value if out is None else out:
            o[:] = self._weights[key]

    def set_optimizer(self, optimizer):
        self.calls.append(("set_optimizer", type(optimizer).__name__))
        self._updater = mx.optimizer.get_updater(optimizer)

    def is_capable(self, capability):
        return capability == self.OPTIMIZER

    def save_optimizer_states(self, fname, dump_optimizer=False):
        self.calls.append(("save", dump_optimizer))
        with open(fname, "wb") as f:
            f.write(self._updater.get_states(dump_optimizer))

    def load_optimizer_states(self, fname):
        self.calls.append(("load",))
        with open(fname, "rb") as f:
            self._updater.set_states(f.read())

    @property
    def type(self):
        return "server"

    @property
    def rank(self):
        return 0

    @property
    def num_workers(self):
        return 1


def test_plugin_store_running_the_optimizer(tmp_path):
    x, z = _two_copies("x", (4,), "ones"), _two_copies("z", (2,))
    kv = _Server()
    trainer = gluon.Trainer([x, z], "sgd", {"learning_rate": 0.1, "momentum": 0.9}, kvstore=kv)
    for _ in range(2):
        with autograd.record():
            for w, v in zip(x.list_data(), z.list_data()):
                ((w * w).sum() + (v + 1).sum()).backward()
        trainer.step(2)
    assert trainer._update_on_kvstore is True
    for c in (mx.cpu(0), mx.cpu(1)):  # MXNet 1.9.1 gives the same weights
        np.testing.assert_allclose(x.data(c).asnumpy(), np.full(4, 0.46), rtol=1e-6)
        np.testing.assert_allclose(z.data(c).asnumpy(), [-0.29, -0.29], rtol=1e-6)
    trainer.save_states(str(tmp_path / "s"))
    trainer.load_states(str(tmp_path / "s"))
    assert kv.calls == [("set_optimizer", "SGD"), ("broadcast", 0), ("broadcast", 1),
                        ("pushpull", 0, False, 0), ("pushpull", 1, False, -1),
                        ("pushpull", 0, False, 0), ("pushpull", 1, False, -1),
                        ("save", True), ("load",)]
    assert trainer._optimizer is kv._updater.optimizer
    with pytest.raises(AssertionError):
        trainer.update(1)


def test_update_on_kvstore_environment_applies_to_a_store_instance(monkeypatch):
    monkeypatch.setenv("MXNET_UPDATE_ON_KVSTORE", "0")
    x = _two_copies()
    trainer = gluon.Trainer([x], "sgd", kvstore=mx.kv.create("local"))
    trainer._init_kvstore()
    assert trainer._kvstore is not None and trainer._update_on_kvstore is False  # as 1.9.1


def test_load_states_names_the_file_and_what_is_wrong(tmp_path):
    import pickle
    net = gluon.nn.Dense(2)
    net.initialize()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    with autograd.record():
        loss = net(mx.nd.ones((1, 3))).sum()
    loss.backward()
    trainer.step(1)
    good = tmp_path / "t.states"
    trainer.save_states(str(good))
    data = good.read_bytes()
    (tmp_path / "cut.states").write_bytes(data[: len(data) // 2])
    (tmp_path / "mx.states").write_bytes(pickle.dumps({"a": 1}, protocol=2))
    with pytest.raises(mx.base.MXNetValueError, match=r"cut\.states.*truncated or corrupted"):
        trainer.load_states(str(tmp_path / "cut.states"))
    with pytest.raises(mx.base.MXNetValueError, match=r"mx\.states.*a Python pickle.*never "
                                                      r"unpickles"):
        trainer.load_states(str(tmp_path / "mx.states"))
    trainer.load_states(str(good))  # a failed load leaves the trainer usable
    trainer.step(1, ignore_stale_grad=True)
