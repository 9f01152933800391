"""MXNet 1.x conformance of Gluon core, metrics and utils: behaviours MXNet's own unit tests
(test_gluon.py, test_gluon_trainer.py, test_metric.py, test_gluon_utils.py, test_gluon_contrib.py)
expect, each checked against an independent computation or MXNet's documented result."""

from __future__ import annotations

import io
import json
import warnings
from copy import deepcopy

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd, gluon
from mxplug.gluon import nn
from mxplug.gluon.contrib import nn as cnn


# -- Parameter / ParameterDict ---------------------------------------------------------------
def test_invalid_stype_is_an_assertion_error():
    with pytest.raises(AssertionError):
        gluon.Parameter("weight", shape=(2, 2), stype="invalid")
    with pytest.raises(AssertionError):
        gluon.Parameter("weight", shape=(2, 2), grad_stype="invalid")


def test_private_grad_list_follows_grad_req():
    p = gluon.Parameter("w", shape=(2,))
    assert p._grad is None
    p.initialize(ctx=[mx.cpu(0), mx.cpu(1)])
    assert len(p._grad) == 2 and all((g.asnumpy() == 0).all() for g in p._grad)
    p.grad_req = "null"
    assert p._grad is None


def test_load_with_saved_dtype_recasts_initialised_parameters(tmp_path):
    f = str(tmp_path / "p.params")
    src = gluon.ParameterDict("")
    src.get("w0", shape=(3,), dtype="float32")
    src.get("w1", shape=(3,), dtype="int8")
    src.initialize(mx.init.One())
    src.save(f)
    dst = gluon.ParameterDict("")
    dst.get("w0", shape=(3,), dtype="float16")
    dst.get("w1", shape=(3,), dtype="float64")
    dst.load(f, cast_dtype=True, dtype_source="current")
    assert dst["w0"].data().dtype == np.float16 and dst["w1"].data().dtype == np.float64
    dst.load(f, cast_dtype=True, dtype_source="saved")  # already initialised: re-created
    assert dst["w0"].data().dtype == np.float32 and dst["w1"].data().dtype == np.int8
    assert dst["w1"].dtype == np.int8 and (dst["w1"].data().asnumpy() == 1).all()


def test_deduplicated_file_loads_into_shared_parameters(tmp_path):
    class B(gluon.Block):
        def __init__(self, prefix=None, params=None):
            super().__init__(prefix=prefix, params=params)
            self.weight = self.params.get("weight", shape=(3, 3))

    class C(gluon.Block):
        def __init__(self, b1, b2):
            super().__init__()
            self.b1, self.b2 = b1, b2

    def make():
        b1 = B()
        return C(b1, B(params=b1.collect_params()))

    c = make()
    c.initialize()
    f = str(tmp_path / "c.params")
    c.save_parameters(f, deduplicate=True)
    assert len(mx.nd.load(f)) == 1
    c2 = make()
    c2.load_parameters(f)  # b2.weight is b1.weight: not missing
    np.testing.assert_array_equal(c2.b2.weight.data().asnumpy(), c.b1.weight.data().asnumpy())


# -- Block / HybridBlock -----------------------------------------------------------------------
def test_blocks_in_plain_containers_warn():
    class InList(gluon.Block):
        def __init__(self):
            super().__init__()
            self.layers = [nn.Dense(2), nn.Dense(3)]

    class InSequential(gluon.Block):
        def __init__(self):
            super().__init__()
            self.layers = nn.Sequential()
            self.layers.add(nn.Dense(2))
            self.data = {"a": "4", "b": 123}

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        InList().collect_params()
    assert any("unregistered container" in str(x.message) for x in w)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        InSequential().collect_params()
    assert not w


def test_forward_of_a_hybridized_block_runs_the_graph(tmp_path):
    net = nn.HybridSequential(prefix="m_")
    with net.name_scope():
        net.add(nn.Dense(3))
    net.initialize()
    net.hybridize()
    x = mx.nd.array(np.random.RandomState(0).uniform(size=(2, 4)))
    out = net.forward(x)  # not __call__: MXNet still builds the cached graph
    sym_file, params_file = net.export(str(tmp_path / "m"))
    back = gluon.SymbolBlock.imports(sym_file, ["data"], params_file)
    np.testing.assert_allclose(back(x).asnumpy(), out.asnumpy(), rtol=1e-6)
    lines = str(back).splitlines()
    assert lines[0] == "SymbolBlock(" and " : 1 -> 1" in lines[1] and lines[2] == ")"


class _Add(gluon.HybridBlock):
    def hybrid_forward(self, F, a, b=None):
        if a is None and b is None:
            raise NotImplementedError
        return b if a is None else a if b is None else a + b


def test_none_arguments_as_mxnet():
    x = mx.nd.array([1.0, 2.0])
    for hybrid in (False, True):
        f = _Add()
        if hybrid:
            f.hybridize()
        with pytest.raises(ValueError):
            f(None, None)
    f = _Add()
    f.hybridize()
    np.testing.assert_array_equal(f(x, None).asnumpy(), x.asnumpy())
    np.testing.assert_array_equal(f(x).asnumpy(), x.asnumpy())  # a trailing default: same graph
    with pytest.raises(ValueError, match="argument structure"):
        f(x, x)  # an array where the graph was built with None


def test_hybridized_inputs_must_be_arrays_on_one_context():
    for args in [(mx.nd.ones((2,)), 1),
                 (mx.nd.ones((2,), ctx=mx.cpu(1)), mx.nd.ones((2,), ctx=mx.cpu(2)))]:
        f = _Add()
        f.hybridize()
        with pytest.raises(ValueError):
            f(*args)
    f = _Add()
    np.testing.assert_array_equal(f(mx.nd.ones((2,)), 1).asnumpy(), [2, 2])  # eager: fine


# -- Trainer -----------------------------------------------------------------------------------
def _step(trainer, x, grad_of=lambda i, w: w + 1):
    with autograd.record():
        for i, w in enumerate(x.list_data()):
            grad_of(i, w).backward()
    trainer.step(1)


def test_trainer_kvstore_follows_mxnet():
    x = gluon.Parameter("x", shape=(4,))
    x.initialize(ctx=mx.cpu(0), init="zeros")
    t = gluon.Trainer([x], "sgd", {"learning_rate": 1.0})
    _step(t, x)
    assert t._kvstore is None and t._update_on_kvstore is None  # one context: no kvstore
    assert (x.data().asnumpy() == -1).all()

    x = gluon.Parameter("x", shape=(4,))
    x.initialize(ctx=[mx.cpu(0), mx.cpu(1)], init="zeros")
    t = gluon.Trainer([x], "sgd", {"learning_rate": 1.0, "momentum": 0.5})
    _step(t, x)
    assert t._update_on_kvstore is True and t._kvstore.type == "device"
    assert (x.data(mx.cpu(1)).asnumpy() == -2).all()  # summed gradients, one update
    with pytest.raises(AssertionError):
        t.allreduce_grads()
    with pytest.raises(AssertionError):
        t.update(1)


def test_trainer_update_on_devices_and_states(tmp_path):
    x = gluon.Parameter("x", shape=(4,))
    x.initialize(ctx=[mx.cpu(0), mx.cpu(1)], init="zeros")
    t = gluon.Trainer([x], "sgd", {"learning_rate": 1.0, "momentum": 0.5},
                      update_on_kvstore=False)
    with autograd.record():
        for i, w in enumerate(x.list_data()):
            (i * w).backward()
    t.allreduce_grads()
    np.testing.assert_array_equal(x.grad(mx.cpu(0)).asnumpy(), x.grad(mx.cpu(1)).asnumpy())
    t.update(1)
    assert (x.data(mx.cpu(1)).asnumpy() == -1).all()
    assert isinstance(t._updaters, list) and len(t._updaters) == 2
    states = deepcopy(t._updaters[0].states)
    t.save_states(str(tmp_path / "t.states"))
    t.load_states(str(tmp_path / "t.states"))
    for u in t._updaters:
        np.testing.assert_array_equal(u.states[0].asnumpy(), states[0].asnumpy())
        assert u.optimizer is t._optimizer
    x.lr_mult = 2.0  # the restored optimizer still reads the parameters
    assert t._optimizer._get_lr(0) == 2.0


def test_loading_parameters_resets_the_kvstore_copy():
    x = gluon.Parameter("x", shape=(4,))
    x.initialize(ctx=[mx.cpu(0), mx.cpu(1)], init="zeros")
    t = gluon.Trainer([x], "sgd", {"learning_rate": 0.1}, kvstore="local")
    _step(t, x)
    x._load_init(mx.nd.zeros((4,)), None)  # back to the checkpoint
    assert t._kvstore is None and not t._kv_initialized
    _step(t, x)
    np.testing.assert_allclose(x.data(mx.cpu(0)).asnumpy(), -0.2, rtol=1e-6)


def test_trainer_argument_errors():
    with pytest.raises(ValueError, match="list or dict of Parameters"):
        gluon.Trainer([1, 2], "sgd")
    p = gluon.Parameter("p", shape=(1,))
    with pytest.raises(AssertionError):
        gluon.Trainer([p], mx.optimizer.SGD(), {"learning_rate": 0.1})


# -- metrics -----------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [("acc",), ("f1",), ("mcc",), ("perplexity", -1),
                                  ("pearsonr",), ("pcc",), ("nll_loss",), ("loss",),
                                  (["acc", "f1"],)])
def test_metric_config_round_trips_through_json(args):
    m = mx.metric.create(*args)
    again = mx.metric.create(json.dumps(m.get_config()))
    assert type(again) is type(m) and again.get_config() == m.get_config()


def _f1(tp, fp, fn):
    return 2.0 * tp / (2 * tp + fp + fn)


def test_f1_macro_averages_update_calls_micro_pools_counts():
    labels = [mx.nd.array([1, 0]), mx.nd.array([1, 0])]
    preds = [mx.nd.array([[0.1, 0.9], [0.5, 0.5]]), mx.nd.array([[0.85, 0.15], [1.0, 0.0]])]
    micro, macro = mx.metric.F1(average="micro"), mx.metric.F1(average="macro")
    for m in (micro, macro):
        m.update(labels, preds)  # one call, two arrays: tp=1, fp=0, fn=1
    assert micro.num_inst == 4 and macro.num_inst == 1
    np.testing.assert_allclose([micro.get()[1], macro.get()[1]], _f1(1, 0, 1))
    for m in (micro, macro):
        m.update([mx.nd.array([0]), mx.nd.array([1])],
                 [mx.nd.array([[0.6, 0.4]]), mx.nd.array([[0.2, 0.8]])])  # tp=1
    np.testing.assert_allclose(micro.get()[1], _f1(2, 0, 1))
    np.testing.assert_allclose(macro.get()[1], (_f1(1, 0, 1) + 1.0) / 2)


def test_micro_f1_keeps_global_counts_across_reset_local():
    rng = np.random.RandomState(3)
    m1, m2 = mx.metric.F1(average="micro"), mx.metric.F1(average="micro")
    for _ in range(4):
        pred = mx.nd.array(rng.uniform(size=(8, 2)))
        label = mx.nd.array(rng.randint(0, 2, 8))
        m1.update([label], [pred])
        m1.reset_local()
        m2.update([label], [pred])
    assert m1.get_global() == m2.get()
    assert np.isnan(m1.get()[1])


def test_pcc_is_the_multiclass_matthews_correlation():
    cm = np.array([[23, 13, 3], [7, 19, 11], [2, 5, 17]])  # rows: label, columns: prediction
    labels = np.repeat(np.arange(3), cm.sum(1))
    preds = np.concatenate([np.repeat(np.arange(3), cm[i]) for i in range(3)])
    m = mx.metric.create("pcc")
    m.update([mx.nd.array(labels)], [mx.nd.array(np.eye(3)[preds])])
    # Gorodkin's R_K from the confusion matrix (the Pearson correlation of one-hot vectors)
    n, t, p = cm.sum(), cm.sum(1), cm.sum(0)
    want = (np.trace(cm) * n - t @ p) / np.sqrt((n * n - t @ t) * (n * n - p @ p))
    np.testing.assert_allclose(m.get()[1], want, rtol=1e-12)
    binary = mx.metric.create("mcc")
    two = mx.metric.create("pcc")
    lab, pr = mx.nd.array([1, 0, 1, 1, 0]), mx.nd.array(np.eye(2)[[1, 0, 0, 1, 1]])
    binary.update([lab], [pr])
    two.update([lab], [pr])
    np.testing.assert_allclose(two.get()[1], binary.get()[1])


def test_pearsonr_equals_numpy_corrcoef_exactly():
    pred = np.array([[0.7, 0.3], [0.1, 0.9], [1.0, 0.0]])
    label = np.array([[0, 1], [1, 0], [1, 0]])
    m = mx.metric.create("pearsonr")
    m.update([mx.nd.array(label)], [mx.nd.array(pred)])
    assert m.get()[1] == np.corrcoef(pred.astype(np.float32).ravel(), label.ravel())[0, 1]


# -- utils -------------------------------------------------------------------------------------
def test_download_goes_through_requests(tmp_path, monkeypatch):
    requests = pytest.importorskip("requests")

    class Response(requests.Response):
        def __init__(self, content):
            super().__init__()
            self.status_code = 200
            self.raw = io.BytesIO(content)

    calls = []
    monkeypatch.setattr(requests, "get",
                        lambda url, **kw: calls.append(kw) or Response(b"mxplug " * 100))
    target = tmp_path / "README.md"
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        got = gluon.utils.download("https://example.invalid/README.md", path=str(target),
                                   verify_ssl=False)
    assert got == str(target) and target.read_bytes() == b"mxplug " * 100
    assert calls[0]["verify"] is False
    assert any(str(x.message).startswith("Unverified HTTPS request") for x in w)
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]  # no temporary file left


# -- contrib.nn ---------------------------------------------------------------------------------
def _shuffle_reference(x, factors):
    n = len(factors)
    b, c = x.shape[0], x.shape[1] // int(np.prod(factors))
    y = x.reshape((b, c) + tuple(factors) + x.shape[2:])
    axes = (0, 1) + sum(((2 + n + i, 2 + i) for i in range(n)), ())
    return y.transpose(axes).reshape((b, c) + tuple(s * f for s, f in zip(x.shape[2:], factors)))


@pytest.mark.parametrize("layer,factors,shape", [
    (cnn.PixelShuffle1D, (2,), (1, 4, 3)),
    (cnn.PixelShuffle2D, (2, 3), (2, 12, 2, 3)),
    (cnn.PixelShuffle3D, (2, 1, 2), (1, 8, 2, 1, 3))])
def test_pixel_shuffle(ctx, layer, factors, shape):
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    want = _shuffle_reference(x, factors)
    for hybrid in (False, True):
        block = layer(factors if len(factors) > 1 else factors[0])
        if hybrid:
            block.hybridize()
        np.testing.assert_array_equal(block(mx.nd.array(x, ctx=ctx)).asnumpy(), want)
    y = cnn.PixelShuffle1D(2)(mx.nd.arange(12).reshape((1, 4, 3)))
    np.testing.assert_array_equal(y.asnumpy(), [[[0, 3, 1, 4, 2, 5], [6, 9, 7, 10, 8, 11]]])


def test_sync_batchnorm_on_one_device_is_batchnorm():
    x = mx.nd.array(np.random.RandomState(1).uniform(size=(6, 3, 2)))
    a, b = nn.BatchNorm(in_channels=3), cnn.SyncBatchNorm(in_channels=3, num_devices=1)
    a.initialize()
    b.initialize()
    with autograd.record():
        ya, yb = a(x), b(x)
    np.testing.assert_allclose(yb.asnumpy(), ya.asnumpy(), rtol=1e-6)
    np.testing.assert_allclose(b.running_mean.data().asnumpy(), a.running_mean.data().asnumpy())
    with pytest.raises(NotImplementedError):
        cnn.SyncBatchNorm(num_devices=2)


@pytest.mark.parametrize("hybrid", [False, True])
def test_stale_gradients_raise_or_are_skipped(hybrid):
    class Two(gluon.Block):
        def __init__(self):
            super().__init__()
            with self.name_scope():
                self.a, self.b = nn.Dense(2, in_units=2), nn.Dense(2, in_units=2)

        def forward(self, x, use_b):
            return self.b(self.a(x)) if use_b else self.a(x)

    net = Two()
    net.initialize(mx.init.One())
    if hybrid:
        net.a.hybridize()
        net.b.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    for use_b in (True, False):
        with autograd.record():
            net(mx.nd.ones((1, 2)), use_b).sum().backward()
        if use_b:
            trainer.step(1)
    with pytest.raises(UserWarning, match="has not been updated by backward"):
        trainer.step(1)  # b got no gradient in the second pass
    b, a = net.b.weight.data().asnumpy().copy(), net.a.weight.data().asnumpy().copy()
    trainer.step(1, ignore_stale_grad=True)
    np.testing.assert_array_equal(net.b.weight.data().asnumpy(), b)  # left alone
    assert not np.array_equal(net.a.weight.data().asnumpy(), a)


def test_op_hook_sees_every_op_of_the_hybridized_graph():
    net = nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Dense(2), nn.Activation("relu"))
    net.initialize(mx.init.One())
    seen = []
    net.register_op_hook(lambda name, op, arr: seen.append((name, op, arr.asnumpy())), True)
    x = mx.nd.array(np.arange(6).reshape((2, 3)) - 2.0)
    net(x)
    assert not seen  # not hybridized: no op hooks, as in MXNet
    net.hybridize()
    out = net(x)
    names = [n for n, _, _ in seen]
    assert names == ["net_dense0_fwd_data", "net_dense0_fwd_weight", "net_dense0_fwd_bias",
                     "net_dense0_fwd_output", "net_relu0_fwd_data", "net_relu0_fwd_output"]
    assert [op for _, op, _ in seen] == ["FullyConnected"] * 4 + ["Activation"] * 2
    fc = x.asnumpy() @ np.ones((3, 2))  # the bias keeps its own initializer: zeros
    np.testing.assert_allclose(seen[3][2], fc)
    np.testing.assert_allclose(seen[5][2], out.asnumpy())


def test_ctc_loss_on_symbols_with_declared_shapes():
    rng = np.random.RandomState(2)
    pred = rng.uniform(-1, 1, (2, 6, 4)).astype(np.float32)
    label = np.array([[1, 0, -1], [2, 1, 1]], np.float32)
    loss = gluon.loss.CTCLoss()
    want = loss(mx.nd.array(pred), mx.nd.array(label)).asnumpy()
    sym = loss(mx.sym.var("pred", shape=pred.shape), mx.sym.var("label", shape=label.shape))
    ex = sym.bind(mx.cpu(), {"pred": mx.nd.array(pred), "label": mx.nd.array(label)})
    np.testing.assert_allclose(ex.forward()[0].asnumpy(), want, rtol=1e-5)
    # undeclared shapes are fine too: the CTCLoss op takes them at bind time, as in MXNet
    sym = loss(mx.sym.var("pred"), mx.sym.var("label"))
    ex = sym.bind(mx.cpu(), {"pred": mx.nd.array(pred), "label": mx.nd.array(label)})
    np.testing.assert_allclose(ex.forward()[0].asnumpy(), want, rtol=1e-5)
