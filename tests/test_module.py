"""mx.mod.Module and mx.callback: MXNet 1.x's symbolic training API, against NumPy."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

import mxplug as mx
from mxplug.base import MXNetError

from .module_helpers import (
    N_IN,
    N_OUT,
    _batch,
    _bound,
    _dataset,
    _mlp,
    _nd_params,
    _np_forward,
    _np_grads,
    _params,
)


# -- training ------------------------------------------------------------------------------------
def test_fit_mlp_learns(ctx):
    x, y = _dataset()
    train = mx.io.NDArrayIter(x, y, batch_size=20, shuffle=True)
    mod = mx.mod.Module(_mlp(), context=ctx)
    mx.random.seed(3)
    mod.fit(train, num_epoch=10, optimizer="sgd", optimizer_params={"learning_rate": 0.5},
            initializer=mx.init.Xavier())
    ((name, acc),) = mod.score(train, "acc")
    assert name == "accuracy" and acc > 0.8  # chance is 1/3
    assert mod.binded and mod.params_initialized and mod.optimizer_initialized
    # the metric agrees with an independent NumPy forward of the trained parameters
    args, _ = mod.get_params()
    probs = _np_forward({k: v.asnumpy() for k, v in args.items()}, x)
    assert np.isclose((probs.argmax(1) == y).mean(), acc)


def test_fit_eval_data_callbacks_and_begin_epoch(tmp_path, caplog):
    x, y = _dataset()
    train = mx.io.NDArrayIter(x[:80], y[:80], batch_size=20)
    val = mx.io.NDArrayIter(x[80:], y[80:], batch_size=20)
    seen = {"batch": [], "epoch": [], "eval_end": [], "eval_batch": 0}
    mod = mx.mod.Module(_mlp())
    prefix = str(tmp_path / "mlp")
    with caplog.at_level(logging.INFO):
        mod.fit(train, eval_data=val, eval_metric="ce", validation_metric="acc",
                begin_epoch=1, num_epoch=3,
                batch_end_callback=[lambda p: seen["batch"].append((p.epoch, p.nbatch)),
                                    mx.callback.log_train_metric(2)],
                epoch_end_callback=[lambda e, s, a, x_: seen["epoch"].append((e, sorted(a))),
                                    mx.callback.do_checkpoint(prefix, period=2)],
                eval_end_callback=[lambda p: seen["eval_end"].append(
                                       p.eval_metric.get()[0]),
                                   mx.callback.LogValidationMetricsCallback()],
                eval_batch_end_callback=lambda p: seen.__setitem__(
                    "eval_batch", seen["eval_batch"] + 1))
    assert seen["batch"] == [(e, b) for e in (1, 2) for b in range(4)]
    assert seen["epoch"] == [(e, ["fc1_bias", "fc1_weight", "fc2_bias", "fc2_weight"])
                             for e in (1, 2)]
    assert seen["eval_end"] == ["accuracy", "accuracy"] and seen["eval_batch"] == 4
    text = caplog.text
    assert "Epoch[1] Train-cross-entropy=" in text and "Epoch[2] Validation-accuracy=" in text
    assert "Iter[1] Batch[2] Train-cross-entropy=" in text
    # do_checkpoint(period=2) saved after epoch index 1 only, numbered 2
    assert (tmp_path / "mlp-symbol.json").exists() and (tmp_path / "mlp-0002.params").exists()
    assert not (tmp_path / "mlp-0003.params").exists()


def test_forward_backward_update_matches_numpy():
    x, y = _dataset(10)
    p = _params()
    mod = _bound(10, inputs_need_grad=True)
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.1})
    mod.forward_backward(_batch(x, y))
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), _np_forward(p, x), rtol=1e-5,
                               atol=1e-6)
    want = _np_grads(p, x, y)
    grads = mod._exec_group.execs[0].grad_dict
    for name in ("fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias"):
        np.testing.assert_allclose(grads[name].asnumpy(), want[name], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(mod.get_input_grads()[0].asnumpy(), want["data"], rtol=1e-4,
                               atol=1e-5)
    mod.update()  # rescale_grad = 1/batch_size
    args, _ = mod.get_params()
    for name in ("fc1_weight", "fc2_bias"):
        np.testing.assert_allclose(args[name].asnumpy(), p[name] - 0.1 * want[name] / 10,
                                   rtol=1e-4, atol=1e-6)


def test_fixed_params_and_grad_req_add():
    x, y = _dataset(10)
    p = _params()
    mod = mx.mod.Module(_mlp(), fixed_param_names=["fc1_weight", "fc1_bias"])
    mod.bind([("data", (10, N_IN))], [("softmax_label", (10,))], grad_req="add")
    mod.init_params(arg_params=_nd_params(p))
    mod.init_optimizer(optimizer_params={"learning_rate": 1.0})
    ex = mod._exec_group.execs[0]
    assert ex.grad_dict["fc1_weight"] is None and ex.grad_dict["data"] is None
    for _ in range(2):  # 'add' accumulates over backward calls
        mod.forward_backward(_batch(x, y))
    np.testing.assert_allclose(ex.grad_dict["fc2_bias"].asnumpy(),
                               2 * _np_grads(p, x, y)["fc2_bias"], rtol=1e-4, atol=1e-5)
    mod.update()
    args, _ = mod.get_params()
    np.testing.assert_array_equal(args["fc1_weight"].asnumpy(),
                                  p["fc1_weight"].astype(np.float32))
    assert not np.allclose(args["fc2_weight"].asnumpy(), p["fc2_weight"])


# -- prediction ----------------------------------------------------------------------------------
def test_score_predict_iter_predict_match_numpy():
    x, y = _dataset(25)
    p = _params()
    mod = mx.mod.Module(_mlp())
    it = mx.io.NDArrayIter(x, y, batch_size=10)  # the last batch pads 5 samples
    mod.bind(it.provide_data, it.provide_label, for_training=False)
    mod.set_params(_nd_params(p), {})
    want = _np_forward(p, x)
    out = mod.predict(it)
    assert isinstance(out, mx.nd.NDArray) and out.shape == (25, N_OUT)
    np.testing.assert_allclose(out.asnumpy(), want, rtol=1e-5, atol=1e-6)
    (listed,) = mod.predict(it, always_output_list=True)
    np.testing.assert_allclose(listed.asnumpy(), want, rtol=1e-5, atol=1e-6)
    per_batch = mod.predict(it, merge_batches=False)
    assert [b[0].shape[0] for b in per_batch] == [10, 10, 5]
    assert len(mod.predict(it, num_batch=1, merge_batches=False)) == 1
    rows = [(outs[0].shape[0], i) for outs, i, _ in mod.iter_predict(it)]
    assert rows == [(10, 0), (10, 1), (5, 2)]
    np.testing.assert_allclose(mod.predict(x[:10]).asnumpy(), want[:10], rtol=1e-5, atol=1e-6)
    # MXNet's score counts the padded samples too (the pad repeats samples 0..4)
    xp, yp = np.concatenate([x, x[:5]]), np.concatenate([y, y[:5]])
    acc = (_np_forward(p, xp).argmax(1) == yp).mean()
    assert mod.score(it, mx.metric.Accuracy()) == [("accuracy", pytest.approx(acc))]
    assert mod.output_shapes == [("softmax_output", (10, N_OUT))]
    assert mod.data_names == ["data"] and mod.label_names == ["softmax_label"]
    assert mod.output_names == ["softmax_output"]


def test_forward_reshapes_for_another_batch_size():
    x, y = _dataset(7)
    p = _params()
    mod = _bound(10)
    mod.forward(_batch(x, y), is_train=False)  # 7 rows: executors re-shaped, params shared
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), _np_forward(p, x), rtol=1e-5,
                               atol=1e-6)
    assert mod.data_shapes[0].shape == (7, N_IN)
    mod.reshape([("data", (10, N_IN))], [("softmax_label", (10,))])
    assert mod.output_shapes == [("softmax_output", (10, N_OUT))]


def test_forward_reshape_keeps_training_one_set_of_parameters():
    """MXNet's test_forward_reshape: batches of other sizes and image shapes re-shape the
    executors; every shape trains the same parameters and predicts as a fresh module."""
    data = mx.sym.Variable("data")
    conv = mx.sym.Convolution(data, num_filter=4, kernel=(3, 3), pad=(1, 1), name="conv")
    pool = mx.sym.Pooling(conv, global_pool=True, pool_type="avg", kernel=(1, 1))
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.flatten(pool), num_hidden=3,
                                                     name="fc"), name="softmax")
    mod = mx.mod.Module(net)
    mod.bind([("data", (4, 2, 8, 8))], [("softmax_label", (4,))])
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(optimizer_params={"learning_rate": 0.1})
    rng = np.random.RandomState(0)
    before = mod.get_params()[0]["conv_weight"].asnumpy().copy()
    for shape in [(4, 2, 6, 6), (2, 2, 10, 10), (6, 2, 8, 8), (4, 2, 8, 8)]:
        x = mx.nd.array(rng.rand(*shape))
        y = mx.nd.array(rng.randint(0, 3, shape[0]))
        mod.forward(mx.io.DataBatch([x], [y]), is_train=True)
        mod.backward()
        mod.update()
        assert mod.get_outputs()[0].shape == (shape[0], 3)
        assert mod.data_shapes[0].shape == shape
    args, aux = mod.get_params()
    assert not np.allclose(args["conv_weight"].asnumpy(), before)
    fresh = mx.mod.Module(net)
    fresh.bind([("data", (2, 2, 10, 10))], [("softmax_label", (2,))], for_training=False)
    fresh.set_params(args, aux)
    x = mx.io.DataBatch([mx.nd.array(rng.rand(2, 2, 10, 10))], [mx.nd.zeros(2)])
    for m in (mod, fresh):
        m.forward(x, is_train=False)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), fresh.get_outputs()[0].asnumpy(),
                               rtol=1e-5, atol=1e-6)


# -- saving and loading --------------------------------------------------------------------------
def _trained(x, y, tmp_path):
    mod = mx.mod.Module(_mlp())
    it = mx.io.NDArrayIter(x, y, batch_size=20)
    mod.fit(it, num_epoch=2, optimizer="sgd",
            optimizer_params={"learning_rate": 0.2, "momentum": 0.9},
            arg_params=_nd_params(_params()), aux_params={})
    return mod, it


def test_checkpoint_round_trip(tmp_path):
    x, y = _dataset(60)
    mod, it = _trained(x, y, tmp_path)
    prefix = str(tmp_path / "ck")
    mod.save_checkpoint(prefix, 3, save_optimizer_states=True)
    for suffix in ("-symbol.json", "-0003.params", "-0003.states"):
        assert (tmp_path / f"ck{suffix}").exists()
    loaded = mx.mod.Module.load(prefix, 3, load_optimizer_states=True)
    assert loaded.params_initialized and not loaded.binded
    loaded.bind(it.provide_data, it.provide_label)
    loaded.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.2,
                                                             "momentum": 0.9})
    a, b = mod.get_params()[0], loaded.get_params()[0]
    for k in a:
        np.testing.assert_array_equal(a[k].asnumpy(), b[k].asnumpy())
    np.testing.assert_array_equal(mod.predict(it).asnumpy(), loaded.predict(it).asnumpy())
    # the momentum came back: one more identical step keeps them identical
    batch = _batch(x[:20], y[:20])
    for m in (mod, loaded):
        m.forward_backward(batch)
        m.update()
    a, b = mod.get_params()[0], loaded.get_params()[0]
    for k in a:
        np.testing.assert_allclose(a[k].asnumpy(), b[k].asnumpy(), rtol=1e-6, atol=1e-7)
    sym, args, _ = mx.model.load_checkpoint(prefix, 3)
    assert sym.list_outputs() == ["softmax_output"] and set(args) == set(a)


@pytest.mark.parametrize("name,epoch", [("mlp", 0), ("cnn", 3)])
def test_load_mxnet_checkpoint_and_predict(name, epoch):
    """Checkpoints written by MXNet 1.9.1 itself (tests/data): Module.load, bind for inference
    and predict reproduce MXNet's outputs (the cnn's BatchNorm statistics are aux params)."""
    data = Path(__file__).parent / "data" / "mxnet-1.9.1"
    expected = np.load(data / "expected.npz")
    x = expected[f"{name}_x"]
    mod = mx.mod.Module.load(str(data / name), epoch, label_names=None)
    mod.bind([("data", x.shape)], for_training=False)
    np.testing.assert_allclose(mod.predict(mx.nd.array(x)).asnumpy(), expected[f"{name}_y"],
                               rtol=1e-5, atol=1e-5)
    assert bool(mod.get_params()[1]) == (name == "cnn")


def test_optimizer_states_round_trip(tmp_path):
    x, y = _dataset(60)
    mod, it = _trained(x, y, tmp_path)
    fname = str(tmp_path / "opt.states")
    mod.save_optimizer_states(fname)
    fresh = mx.mod.Module(_mlp())
    fresh.bind(it.provide_data, it.provide_label)
    fresh.set_params(*mod.get_params())
    fresh.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.2,
                                                            "momentum": 0.9})
    fresh.load_optimizer_states(fname)
    states = mod._updater.states
    assert states and set(fresh._updater.states) == set(states)
    for k, s in states.items():
        np.testing.assert_array_equal(np.asarray(fresh._updater.states[k].asnumpy()),
                                      s.asnumpy())
    # without the states, the same step differs (momentum starts at zero)
    plain = mx.mod.Module(_mlp())
    plain.bind(it.provide_data, it.provide_label)
    plain.set_params(*mod.get_params())
    plain.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.2,
                                                            "momentum": 0.9})
    batch = _batch(x[:20], y[:20])
    for m in (mod, fresh, plain):
        m.forward_backward(batch)
        m.update()
    w = [m.get_params()[0]["fc2_weight"].asnumpy() for m in (mod, fresh, plain)]
    np.testing.assert_allclose(w[0], w[1], rtol=1e-6, atol=1e-7)
    assert not np.allclose(w[0], w[2])


def test_save_params_load_params(tmp_path):
    p = _params()
    mod = _bound(10)
    fname = str(tmp_path / "m.params")
    mod.save_params(fname)
    other = mx.mod.Module(_mlp())
    other.bind([("data", (10, N_IN))], [("softmax_label", (10,))])
    other.init_params()
    other.load_params(fname)
    for k, v in other.get_params()[0].items():
        np.testing.assert_array_equal(v.asnumpy(), p[k].astype(np.float32))
    assert set(mx.nd.load(fname)) == {f"arg:{k}" for k in p}


# -- several contexts ----------------------------------------------------------------------------
@pytest.mark.parametrize("contexts,workload", [
    (("cpu:0", "cpu:1"), None),
    (("cpu:0", "cpu:1", "cpu:2"), [1, 2, 1]),
])
@pytest.mark.parametrize("on_kvstore", ["1", "0"])
def test_multi_context_equals_single_context(contexts, workload, on_kvstore, monkeypatch):
    # MXNET_UPDATE_ON_KVSTORE=0: the store only sums, each context runs the optimizer
    monkeypatch.setenv("MXNET_UPDATE_ON_KVSTORE", on_kvstore)
    ctxs = [mx.Context(*c.split(":")[:1], int(c.split(":")[1])) for c in contexts]
    _check_multi(ctxs, workload)


def test_multi_context_cpu_and_opencl():
    if not any(b.name == "opencl" and b.available for b in mx.backends.list()):
        pytest.skip("no OpenCL device")
    _check_multi([mx.cpu(), mx.opencl(0)], [3, 1])


def _check_multi(ctxs, workload):
    x, y = _dataset(12)
    p = _params()
    single = _bound(12)
    multi = mx.mod.Module(_mlp(), context=ctxs, work_load_list=workload)
    multi.bind([("data", (12, N_IN))], [("softmax_label", (12,))])
    multi.init_params(arg_params=_nd_params(p))
    sizes = [s.stop - s.start for s in multi._exec_group.slices]
    assert sum(sizes) == 12 and len(sizes) == len(ctxs)
    for m in (single, multi):
        m.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.3,
                                                            "momentum": 0.5})
        m.forward_backward(_batch(x, y))
    assert multi._update_on_kvstore == (os.environ.get("MXNET_UPDATE_ON_KVSTORE", "1") == "1")
    np.testing.assert_allclose(multi.get_outputs()[0].asnumpy(),
                               single.get_outputs()[0].asnumpy(), rtol=1e-5, atol=1e-6)
    assert len(multi.get_outputs(merge_multi_context=False)[0]) == len(ctxs)
    grads = [ex.grad_dict for ex in multi._exec_group.execs]
    for name in p:  # the contexts' gradients sum to the whole batch's
        total = sum(g[name].asnumpy() for g in grads)
        np.testing.assert_allclose(total, single._exec_group.execs[0].grad_dict[name].asnumpy(),
                                   rtol=1e-4, atol=1e-5)
    metric = mx.metric.Accuracy()
    multi.update_metric(metric, [mx.nd.array(y)])
    assert metric.num_inst == 12
    for _ in range(2):
        for m in (single, multi):
            m.update()
            m.forward_backward(_batch(x, y))
    a, b = single.get_params()[0], multi.get_params()[0]
    for k in a:
        np.testing.assert_allclose(b[k].asnumpy(), a[k].asnumpy(), rtol=1e-4, atol=1e-5)
    for ex in multi._exec_group.execs:  # every device holds the same updated weights
        np.testing.assert_allclose(ex.arg_dict["fc1_weight"].asnumpy(), a["fc1_weight"].asnumpy(),
                                   rtol=1e-4, atol=1e-5)


# -- MXNet's own module tests, ported (two CPU contexts) -----------------------------------------
def test_module_dtype_and_layout():
    dshape = (3, 8, 7)  # batch axis 1 ('TNC'): each of two contexts gets (3, 4, 7)
    sym = mx.sym.Activation(mx.sym.Variable("data"), act_type="relu", __layout__="TNC")
    mod = mx.mod.Module(sym, ("data",), None, context=[mx.cpu(0), mx.cpu(1)])
    mod.bind(data_shapes=[mx.io.DataDesc("data", dshape, np.float16, layout="TNC")])
    mod.init_params()
    x = np.random.RandomState(0).randn(*dshape).astype(np.float16)
    mod.forward(mx.io.DataBatch(data=[mx.nd.array(x, dtype=np.float16)], label=None))
    mod.backward([mx.nd.ones(dshape, dtype=np.float16)])
    (out,) = mod.get_outputs()
    assert out.dtype == np.float16 and out.shape == dshape
    np.testing.assert_array_equal(out.asnumpy(), np.maximum(x, 0))
    assert [p.shape for p in mod.get_outputs(merge_multi_context=False)[0]] == [(3, 4, 7)] * 2


def test_module_input_grads():
    a, b, c = (mx.sym.Variable(n, __layout__="NC") for n in "abc")
    net = mx.mod.Module(a + 2 * b + 3 * c, data_names=["b", "c", "a"], label_names=None,
                        context=[mx.cpu(0), mx.cpu(1)])
    net.bind(data_shapes=[["b", (5, 5)], ["c", (5, 5)], ["a", (5, 5)]], label_shapes=None,
             inputs_need_grad=True)
    net.init_params()
    net.forward(mx.io.DataBatch(data=[mx.nd.ones((5, 5))] * 3))
    net.backward(out_grads=[mx.nd.ones((5, 5))])
    b_grad, c_grad, a_grad = (g.asnumpy() for g in net.get_input_grads())
    assert (a_grad == 1).all() and (b_grad == 2).all() and (c_grad == 3).all()


def test_module_reshape_and_update():
    sym = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=20, name="fc")
    mod = mx.mod.Module(sym, ("data",), None, context=[mx.cpu(0), mx.cpu(1)])
    mod.bind(data_shapes=[("data", (7, 20))])
    mod.init_params()
    mod.init_optimizer(optimizer_params={"learning_rate": 1})
    for dshape, bias in (((7, 20), -1), ((14, 20), -3)):
        mod.reshape(data_shapes=[("data", dshape)])
        mod.forward(mx.io.DataBatch(data=[mx.nd.ones(dshape)], label=None))
        mod.backward([mx.nd.ones(dshape)])
        mod.update()  # rescale_grad 1/7: the bias gradient sums 7, then 14 ones
        assert mod.get_outputs()[0].shape == dshape
        assert (mod.get_params()[0]["fc_bias"].asnumpy() == bias).all()


def test_module_states():
    data, state = mx.sym.Variable("data"), mx.sym.Variable("state")
    sym = mx.sym.tanh(mx.sym.FullyConnected(data, num_hidden=4, name="fc") + state)
    mod = mx.mod.Module(sym, label_names=None, state_names=["state"],
                        context=[mx.cpu(0), mx.cpu(1)])
    mod.bind(data_shapes=[("data", (6, 3))], label_shapes=None, for_training=False)
    mod.init_params(initializer=mx.init.Uniform(0.5))
    w, bias = (mod.get_params()[0][k].asnumpy() for k in ("fc_weight", "fc_bias"))
    x = np.random.RandomState(0).randn(6, 3).astype(np.float32)
    batch = mx.io.DataBatch(data=[mx.nd.array(x)], label=[])
    mod.set_states(value=1)
    mod.forward(batch)
    out1 = mod.get_outputs()[0].asnumpy()
    np.testing.assert_allclose(out1, np.tanh(x @ w.T + bias + 1), rtol=1e-5)
    mod.set_states(states=mod.get_outputs(merge_multi_context=False))
    mod.forward(batch)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(),
                               np.tanh(x @ w.T + bias + out1), rtol=1e-5)
    assert len(mod.get_states(merge_multi_context=False)[0]) == 2


def test_save_load_multi_device(tmp_path):
    """MXNet's test_save_load: a two-context module (kvstore 'local' updates on the store)
    saves its states; one loaded on one context gets the same parameters and states."""
    sym = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=10)
    mod = mx.mod.Module(sym, ("data",), None, context=[mx.cpu(0), mx.cpu(1)])
    mod.bind(data_shapes=[("data", (10, 10))])
    mod.init_params()
    mod.init_optimizer(optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    mod.forward(mx.io.DataBatch([mx.nd.ones((10, 10))]))
    mod.backward([mx.nd.ones((10, 10))])
    mod.update()
    prefix = str(tmp_path / "test")
    mod.save_checkpoint(prefix, 0, save_optimizer_states=True)
    mod2 = mx.mod.Module.load(prefix, 0, load_optimizer_states=True, data_names=("data",),
                              label_names=None)
    mod2.bind(data_shapes=[("data", (10, 10))])
    mod2.init_optimizer(optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    assert mod.symbol.tojson() == mod2.symbol.tojson()
    a, b = mod.get_params()[0], mod2.get_params()[0]
    assert set(a) == set(b) and all((a[k].asnumpy() == b[k].asnumpy()).all() for k in a)
    s1, s2 = mod._kvstore._updater.states, mod2._updater.states
    assert set(s1) == set(s2) and all((s1[k].asnumpy() == s2[k].asnumpy()).all() for k in s1)
    assert any(np.abs(s.asnumpy()).sum() > 0 for s in s1.values())


@pytest.mark.parametrize("ctxs,group2ctxs,grad_ctxs", [
    ([(0,)], {"dev1": 1, "dev2": 2}, [1, 2]),
    ([(0,), (1,)], [{"dev1": 2, "dev2": 3}, {"dev1": 4, "dev2": 5}], [2, 3]),
    ([(0,), (1,)], {"dev1": [2, 4], "dev2": [3, 5]}, [2, 3]),
    ([(0,), (1,)], {"dev1": 2, "dev2": [3]}, [2, 3]),
])
def test_module_ctx_group(ctxs, group2ctxs, grad_ctxs):
    """MXNet's test_module_ctx_group: variables of a ctx_group live on its context."""
    def cpus(v):
        if isinstance(v, dict):
            return {k: cpus(x) for k, x in v.items()}
        if isinstance(v, list):
            return [cpus(x) for x in v]
        return mx.cpu(v[0] if isinstance(v, tuple) else v)
    with mx.AttrScope(ctx_group="dev1"):
        a = mx.sym.Variable("a") * 2
    with mx.AttrScope(ctx_group="dev2"):
        c = a + mx.sym.Variable("b")
    shape = (2, 5)
    grads = []
    for g2c in (cpus(group2ctxs), None):
        mod = mx.mod.Module(c, context=cpus(ctxs), data_names=["a", "b"], label_names=None,
                            group2ctxs=g2c)
        mod.bind(data_shapes=[["a", shape], ["b", shape]], inputs_need_grad=True)
        mod.init_params()
        mod.forward(mx.io.DataBatch(data=[mx.nd.ones(shape), mx.nd.ones(shape)]),
                    is_train=True)
        mod.backward([mx.nd.ones(shape)])
        grads.append(mod.get_input_grads())
    assert [g.context for g in grads[0]] == [mx.cpu(i) for i in grad_ctxs]
    for g1, g2 in zip(*grads):
        np.testing.assert_array_equal(g1.asnumpy(), g2.asnumpy())
    assert (grads[0][0].asnumpy() == 2).all() and (grads[0][1].asnumpy() == 1).all()


def test_install_monitor():
    installed = []

    class Mon:
        def install(self, exe):
            installed.append(exe)
    mod = mx.mod.Module(_mlp(), context=[mx.cpu(0), mx.cpu(1)])
    mod.bind([("data", (4, N_IN))], [("softmax_label", (4,))])
    mod.install_monitor(Mon())
    assert installed == mod._exec_group.execs and len(installed) == 2


# -- other output layers -------------------------------------------------------------------------
def test_linear_regression_fit():
    rng = np.random.RandomState(0)
    x = rng.randn(100, 4).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.25).astype(np.float32)
    data = mx.sym.Variable("data")
    net = mx.sym.LinearRegressionOutput(mx.sym.FullyConnected(data, num_hidden=1, name="fc"),
                                        name="lro")
    it = mx.io.NDArrayIter(x, y, batch_size=10, label_name="lro_label")
    mod = mx.mod.Module(net, label_names=["lro_label"])
    mod.fit(it, num_epoch=20, eval_metric="mse", optimizer_params={"learning_rate": 0.1})
    ((name, mse),) = mod.score(it, "mse")
    assert name == "mse" and mse < 1e-3
    w = mod.get_params()[0]["fc_weight"].asnumpy()
    np.testing.assert_allclose(w.ravel(), [1.0, -2.0, 0.5, 3.0], atol=0.02)


# -- errors, as MXNet raises them ----------------------------------------------------------------
def test_errors_before_bind_and_init():
    mod = mx.mod.Module(_mlp())
    x, y = _dataset(10)
    it = mx.io.NDArrayIter(x, y, batch_size=10)
    for call in (lambda: mod.forward(_batch(x, y)), lambda: mod.init_params(),
                 lambda: mod.predict(it), lambda: mod.score(it, "acc"),
                 lambda: mod.get_params(), lambda: mod.update(), lambda: mod.data_shapes,
                 lambda: mod.save_optimizer_states("x")):
        with pytest.raises(AssertionError):
            call()
    with pytest.raises(MXNetError, match="num_epoch"):
        mod.fit(it)
    mod.bind(it.provide_data, it.provide_label)
    with pytest.raises(AssertionError, match="init_params"):
        mod.forward(_batch(x, y))
    with pytest.raises(RuntimeError, match="fc1_bias is not presented"):
        mod.init_params(arg_params={k: v for k, v in _nd_params(_params()).items()
                                    if k != "fc1_bias"})
    mod.init_params()
    with pytest.warns(UserWarning, match="already initialized"):
        mod.init_params()
    with pytest.raises(AssertionError, match="init_optimizer"):
        mod.update()
    with pytest.raises(AssertionError, match="inputs_need_grad"):
        mod.get_input_grads()



def test_set_params_missing_and_extra():
    """MXNet's test_module_set_params: which combinations raise what."""
    mod = _bound(10)
    full = _nd_params(_params())
    missing = {k: v for k, v in full.items() if k != "fc2_bias"}
    extra = {**full, "fc9_weight": mx.nd.zeros((2,))}
    mod.set_params(missing, {}, allow_missing=True)
    with pytest.raises(RuntimeError, match="fc2_bias is not presented"):
        mod.set_params(missing, {})
    mod.set_params(extra, {}, allow_missing=True, allow_extra=True)
    with pytest.raises(ValueError, match="fc9_weight"):
        mod.set_params(extra, {}, allow_missing=True, allow_extra=False)
    with pytest.raises(RuntimeError):
        mod.set_params({"fc9_weight": mx.nd.zeros((2,))}, {})
    with pytest.raises(ValueError):
        mod.set_params({"fc9_weight": mx.nd.zeros((2,))}, {}, allow_missing=True)
    np.testing.assert_array_equal(mod.get_params()[0]["fc1_weight"].asnumpy(),
                                  full["fc1_weight"].asnumpy())


def test_errors_in_constructor_and_bind():
    with pytest.raises(ValueError, match="data_names=\\['x'\\].*Did you mean one of"):
        mx.mod.Module(_mlp(), data_names=["x"])
    with pytest.warns(UserWarning, match="label_names"):
        mx.mod.Module(_mlp(), label_names=["nolabel"])
    with pytest.raises(ValueError, match="fixed_param"):
        mx.mod.Module(_mlp(), fixed_param_names=["fc9_weight"])
    mod = mx.mod.Module(_mlp())
    with pytest.raises(ValueError, match="don't match names specified by data_names"):
        mod.bind([("x", (10, N_IN))], [("softmax_label", (10,))])
    assert not mod.binded
    with pytest.raises(AssertionError):
        mod.bind([("data", (10, N_IN))], for_training=False, inputs_need_grad=True)
    with pytest.raises(ValueError, match="Too many slices"):
        mx.mod.Module(_mlp(), context=[mx.cpu(0), mx.cpu(1), mx.cpu(2)]).bind(
            [("data", (2, N_IN))], [("softmax_label", (2,))])
    mod.bind([("data", (10, N_IN))], [("softmax_label", (10,))], for_training=False)
    mod.init_params()
    with pytest.raises(AssertionError, match="for_training"):
        mod.backward()


# -- callbacks -----------------------------------------------------------------------------------
class _Metric:
    def __init__(self):
        self.resets = 0

    def get_name_value(self):
        return [("accuracy", 0.5)]

    def reset_local(self):
        self.resets += 1


def test_speedometer_and_progress_bar(caplog):
    metric = mx.metric.Accuracy()  # 1 of 2 right
    metric.update([mx.nd.array([0, 1])], [mx.nd.array([[1, 0], [1, 0]])])
    speed = mx.callback.Speedometer(batch_size=4, frequent=2)
    fake = _Metric()
    keep = mx.callback.Speedometer(4, 2, auto_reset=False)
    with caplog.at_level(logging.INFO):
        for nbatch in range(5):
            speed(mx.mod.BatchEndParam(epoch=0, nbatch=nbatch, eval_metric=fake, locals=None))
        for nbatch in range(3):  # a new epoch: the count restarts
            keep(mx.mod.BatchEndParam(1, nbatch, metric, None))
        mx.callback.ProgressBar(total=4, length=8)(mx.mod.BatchEndParam(0, 2, None, None))
        no_metric = mx.callback.Speedometer(4, 1)
        for nbatch in range(2):
            no_metric(mx.mod.BatchEndParam(3, nbatch, None, None))
    msgs = [r.getMessage() for r in caplog.records]
    assert [m.split("\t")[0] for m in msgs[:3]] == [
        "Epoch[0] Batch [0-2]", "Epoch[0] Batch [2-4]", "Epoch[1] Batch [0-2]"]
    assert all("samples/sec\taccuracy=0.500000" in m for m in msgs[:3]) and fake.resets == 2
    assert metric.num_inst == 2  # auto_reset=False leaves the metric alone
    assert msgs[3] == "[====----] 50%\r"
    assert msgs[4].startswith("Iter[3] Batch [1]\tSpeed: ") and len(msgs) == 5


def test_module_checkpoint_callback(tmp_path):
    mod = _bound(10)
    mod.init_optimizer()
    cb = mx.callback.module_checkpoint(mod, str(tmp_path / "m"), period=2,
                                       save_optimizer_states=True)
    for epoch in range(4):
        cb(epoch)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "m-0002.params", "m-0002.states", "m-0004.params", "m-0004.states", "m-symbol.json"]
