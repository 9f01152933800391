"""mx.contrib.svrg_optimization: SVRGModule and its optimizer wrapper, against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug.base import MXNetError
from mxplug.contrib.svrg_optimization import SVRGModule
from mxplug.contrib.svrg_optimization.svrg_optimizer import _AssignmentOptimizer, _SVRGOptimizer
from mxplug.module import ModuleStateError

LABEL = "lin_reg_label"


def _linreg(name="fc1"):
    fc = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=1, name=name)
    return mx.sym.LinearRegressionOutput(fc, label=mx.sym.Variable(LABEL), name="lro")


def _data(n=6, d=2, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.uniform(-1, 1, (n, d)).astype(np.float32)
    y = (x @ np.arange(1, d + 1) + 0.5).astype(np.float32)
    w0 = rng.uniform(-0.5, 0.5, (1, d)).astype(np.float32)
    return x, y, w0, np.array([0.1], np.float32)


def _np_grads(w, b, x, y):
    """LinearRegressionOutput's gradients summed over the batch: (pred - y) x, (pred - y)."""
    r = (x @ w.T + b)[:, 0] - y
    return (r @ x)[None, :], np.array([r.sum()])


def _module(x, y, w0, b0, batch_size, ctx=None, update_freq=1, lr=0.1, momentum=0.0,
            kvstore="local", name="fc1"):
    it = mx.io.NDArrayIter(x, y, batch_size=batch_size, label_name=LABEL)
    mod = SVRGModule(_linreg(name), data_names=["data"], label_names=[LABEL],
                     context=ctx or mx.cpu(), update_freq=update_freq)
    mod.bind(it.provide_data, it.provide_label)
    mod.init_params(arg_params={f"{name}_weight": mx.nd.array(w0), f"{name}_bias": mx.nd.array(b0)})
    mod.init_optimizer(kvstore=kvstore, optimizer="sgd",
                       optimizer_params={"learning_rate": lr, "momentum": momentum})
    return it, mod


def _weights(mod, name="fc1"):
    args, _ = mod.get_params()
    return args[f"{name}_weight"].asnumpy(), args[f"{name}_bias"].asnumpy()


# -- the update rule -----------------------------------------------------------------------------
def test_updates_follow_svrg_rule_by_hand(ctx):
    x, y, w0, b0 = _data()
    lr, bs = 0.1, 2
    it, mod = _module(x, y, w0, b0, bs, ctx=ctx, lr=lr)
    mod.update_full_grads(it)
    batches = [(x[i:i + bs], y[i:i + bs]) for i in range(0, len(x), bs)]
    mu = [sum(g) / len(batches) for g in zip(*[_np_grads(w0, b0, xb, yb) for xb, yb in batches])]
    np.testing.assert_allclose(mod._param_dict[0]["fc1_weight"].asnumpy(), mu[0], rtol=1e-5)
    np.testing.assert_allclose(mod._param_dict[0]["fc1_bias"].asnumpy(), mu[1], rtol=1e-5)

    it.reset()
    w, b = w0.astype(np.float64), b0.astype(np.float64)
    for step, batch in enumerate(it):
        mod.forward_backward(batch)
        mod.update()
        xb, yb = batches[step]
        now, snap = _np_grads(w, b, xb, yb), _np_grads(w0, b0, xb, yb)
        if step == 0:  # at the snapshot the correction cancels: the step is plain SGD on mu
            np.testing.assert_allclose(now[0] - snap[0], 0, atol=1e-6)
        w = w - lr / bs * (now[0] - snap[0] + mu[0])
        b = b - lr / bs * (now[1] - snap[1] + mu[1])
        got_w, got_b = _weights(mod)
        np.testing.assert_allclose(got_w, w, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got_b, b, rtol=1e-5, atol=1e-6)
    # the snapshot did not move with the weights
    aux_w = mod._mod_aux.get_params()[0]["fc1_weight"].asnumpy()
    np.testing.assert_array_equal(aux_w, w0)
    assert not np.allclose(w, w0)


def test_full_grads_are_the_batch_average_with_padding_counted_off():
    x, y, w0, b0 = _data(n=5)
    it, mod = _module(x, y, w0, b0, batch_size=2)  # batches of 2, 2, 1 + 1 padding sample
    mod.update_full_grads(it)
    xp, yp = np.concatenate([x, x[:1]]), np.concatenate([y, y[:1]])  # NDArrayIter pads so
    total = [sum(g) for g in zip(*[_np_grads(w0, b0, xp[i:i + 2], yp[i:i + 2])
                                   for i in range(0, 6, 2)])]
    np.testing.assert_allclose(mod._param_dict[0]["fc1_weight"].asnumpy(), total[0] / 2.5,
                               rtol=1e-5)
    np.testing.assert_allclose(mod._param_dict[0]["fc1_bias"].asnumpy(), total[1] / 2.5,
                               rtol=1e-5)
    # a second pass starts afresh: the same snapshot gives the same mu (not one added on)
    mod.update_full_grads(it)
    np.testing.assert_allclose(mod._param_dict[0]["fc1_weight"].asnumpy(), total[0] / 2.5,
                               rtol=1e-5)


def test_unnamed_fully_connected_is_updated_by_sgd():
    # its parameters are "fullyconnected0_*": only the "_full" suffix marks a full gradient
    x, y, w0, b0 = _data(n=2)
    name = "fullyconnected0"
    it, mod = _module(x, y, w0, b0, batch_size=2, lr=0.1, name=name)
    mod.update_full_grads(it)
    it.reset()
    mod.forward_backward(next(iter(it)))
    mod.update()
    gw, _ = _np_grads(w0, b0, x, y)
    np.testing.assert_allclose(_weights(mod, name)[0], w0 - 0.1 / 2 * gw, rtol=1e-5)


def test_several_contexts_match_one(monkeypatch):
    x, y, w0, b0 = _data(n=12)
    results = []
    for ctx, on_kvstore in (([mx.cpu(0)], "1"), ([mx.cpu(0), mx.cpu(1)], "1"),
                            ([mx.cpu(0), mx.cpu(1)], "0")):
        monkeypatch.setenv("MXNET_UPDATE_ON_KVSTORE", on_kvstore)
        it, mod = _module(x, y, w0, b0, batch_size=4, ctx=ctx, momentum=0.9)
        assert (mod._kvstore is not None) == (len(ctx) > 1)
        for _ in range(2):
            mod.update_full_grads(it)
            it.reset()
            for batch in it:
                mod.forward_backward(batch)
                mod.update()
        results.append(np.concatenate([a.ravel() for a in _weights(mod)]))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results[2], results[0], rtol=1e-5, atol=1e-6)


# -- training with fit ---------------------------------------------------------------------------
def test_fit_reaches_least_squares_where_sgd_stalls():
    # noisy labels: constant-rate SGD keeps jittering around the optimum, SVRG's variance
    # vanishes there, so it converges to the least-squares solution itself
    rng = np.random.RandomState(1)
    x = rng.uniform(-1, 1, (200, 2)).astype(np.float32)
    y = (x @ np.array([1.0, 2.0]) + 0.5 + 0.5 * rng.randn(200)).astype(np.float32)
    best = np.linalg.lstsq(np.hstack([x, np.ones((200, 1))]), y, rcond=None)[0]
    it = mx.io.NDArrayIter(x, y, batch_size=10, label_name=LABEL)
    errors = []
    for mod in (SVRGModule(_linreg(), data_names=["data"], label_names=[LABEL], update_freq=2),
                mx.mod.Module(_linreg(), data_names=["data"], label_names=[LABEL])):
        mod.fit(it, eval_metric="mse", optimizer="sgd", num_epoch=10,
                optimizer_params={"learning_rate": 0.2}, initializer=mx.init.Zero())
        errors.append(np.abs(np.concatenate([a.ravel() for a in _weights(mod)]) - best).max())
    assert errors[0] < 1e-4 and errors[1] > 5e-3, errors


def test_fit_takes_snapshots_every_update_freq_epochs(monkeypatch):
    x, y, _, _ = _data(n=8)
    it = mx.io.NDArrayIter(x, y, batch_size=4, label_name=LABEL)
    original = SVRGModule.update_full_grads
    ended, snapshots = [], []  # epochs ended; epochs whose start took a snapshot

    def recording(self, train_data):
        snapshots.append(ended[-1] + 1 if ended else "first")
        original(self, train_data)

    monkeypatch.setattr(SVRGModule, "update_full_grads", recording)
    for begin, expected in ((0, ["first", 3, 6]), (1, ["first", 3, 6])):
        ended.clear()
        snapshots.clear()
        mod = SVRGModule(_linreg(), data_names=["data"], label_names=[LABEL], update_freq=3)
        # resuming at epoch 1 without a snapshot takes one first
        mod.fit(it, eval_metric="mse", begin_epoch=begin, num_epoch=7,
                epoch_end_callback=lambda epoch, *_: ended.append(epoch))
        assert snapshots == expected
        assert ended == list(range(begin, 7))


# -- the optimizer -------------------------------------------------------------------------------
def test_init_optimizer_wraps_the_optimizer():
    x, y, w0, b0 = _data(n=4)
    _, mod = _module(x, y, w0, b0, batch_size=4, momentum=0.9)
    opt = mod._optimizer
    assert isinstance(opt, _SVRGOptimizer) and isinstance(opt.aux_opt, _AssignmentOptimizer)
    assert isinstance(opt.default_opt, mx.optimizer.SGD) and opt.default_opt.momentum == 0.9
    assert opt.rescale_grad == opt.default_opt.rescale_grad == 0.25
    assert sorted(opt.idx2name.values()) == ["fc1_bias", "fc1_bias_full", "fc1_weight",
                                             "fc1_weight_full"]
    # an Optimizer instance is wrapped as it is
    it, mod = _module(x, y, w0, b0, batch_size=4)
    adam = mx.optimizer.Adam(learning_rate=0.01)
    mod.init_optimizer(optimizer=adam, force_init=True)
    assert mod._optimizer.default_opt is adam


def test_svrg_optimizer_routes_full_keys_to_assignment():
    opt = _SVRGOptimizer(default_optimizer="sgd", learning_rate=0.5,
                         param_idx2name={0: "w", 1: "w_full"})
    kv = mx.kv.create("local")
    kv.set_optimizer(opt)
    kv.init(0, mx.nd.array([1.0, 1.0]))
    kv.init(1, mx.nd.array([1.0, 1.0]))
    kv.push(0, [mx.nd.array([1.0, 2.0]), mx.nd.array([1.0, 0.0])])
    kv.push(1, [mx.nd.array([3.0, 4.0]), mx.nd.array([1.0, 0.0])])
    out = mx.nd.zeros((2,))
    kv.pull(0, out=out)
    np.testing.assert_allclose(out.asnumpy(), [0.0, 0.0])  # SGD: 1 - 0.5 * (2, 2)
    kv.pull(1, out=out)
    np.testing.assert_allclose(out.asnumpy(), [4.0, 4.0])  # assigned the sum, not rescaled
    assert mx.optimizer.create("_svrgoptimizer", default_optimizer="adam").default_opt.lr == 0.001


# -- states and errors ---------------------------------------------------------------------------
def test_inference_needs_no_snapshot_and_training_forward_does():
    x, y, w0, b0 = _data(n=4)
    it, mod = _module(x, y, w0, b0, batch_size=2)
    pred = mod.predict(it).asnumpy()
    np.testing.assert_allclose(pred[:, 0], (x @ w0.T + b0)[:, 0], rtol=1e-5)
    it.reset()
    with pytest.raises(ModuleStateError, match="update_full_grads"):
        mod.forward(next(iter(it)), is_train=True)
    infer = SVRGModule(_linreg(), data_names=["data"], label_names=[LABEL], update_freq=1)
    infer.bind(it.provide_data, it.provide_label, for_training=False)
    assert infer.binded and not infer._mod_aux.binded


def test_reshape_and_checkpoint_round_trip(tmp_path):
    x, y, w0, b0 = _data(n=6)
    it, mod = _module(x, y, w0, b0, batch_size=3, momentum=0.9)
    mod.update_full_grads(it)
    small = mx.io.DataBatch([mx.nd.array(x[:2])], [mx.nd.array(y[:2])])
    mod.forward_backward(small)  # a smaller batch re-shapes both modules
    mod.update()
    assert mod.get_outputs()[0].shape == (2, 1)
    assert mod._mod_aux.get_outputs()[0].shape == (2, 1)
    prefix = str(tmp_path / "svrg")
    mod.save_checkpoint(prefix, 1, save_optimizer_states=True)
    it2, mod2 = _module(x, y, w0, b0, batch_size=3, momentum=0.9)
    mod2.load_params(f"{prefix}-0001.params")
    mod2.load_optimizer_states(f"{prefix}-0001.states")
    np.testing.assert_array_equal(_weights(mod2)[0], _weights(mod)[0])


@pytest.mark.parametrize("update_freq, error", [(None, TypeError), (2.0, TypeError),
                                                (True, TypeError), (0, ValueError),
                                                (-1, ValueError)])
def test_bad_update_freq(update_freq, error):
    with pytest.raises(error, match="update_freq") as info:
        SVRGModule(_linreg(), data_names=["data"], label_names=[LABEL], update_freq=update_freq)
    assert isinstance(info.value, MXNetError)


def test_errors_name_the_missing_step():
    x, y, w0, b0 = _data(n=4)
    it = mx.io.NDArrayIter(x, y, batch_size=2, label_name=LABEL)
    mod = SVRGModule(_linreg(), data_names=["data"], label_names=[LABEL], update_freq=1)
    mod.bind(it.provide_data, it.provide_label)
    mod.init_params()
    with pytest.raises(ModuleStateError, match="update_full_grads: call init_optimizer"):
        mod.update_full_grads(it)
    with pytest.raises(ModuleStateError, match="update: call"):
        mod.update()
    with pytest.raises(TypeError, match="default_optimizer"):
        _SVRGOptimizer(default_optimizer=3)
