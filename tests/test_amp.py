"""Mixed precision: the amp ops, ``mx.contrib.amp`` (casts by list, hybridized graphs, symbols,
conversion), dynamic loss scaling with a Gluon Trainer, bfloat16 on NumPy and its GEMMs."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd, base, gluon
from mxplug.base import MXNetError, MXNetTypeError, MXNetValueError
from mxplug.contrib import amp
from mxplug.contrib.amp import LossScaler

ml_dtypes = pytest.importorskip("ml_dtypes", reason="bfloat16 needs ml_dtypes (mxplug[amp])")
BF16 = np.dtype(ml_dtypes.bfloat16)


@pytest.fixture
def amp_fp16():
    amp.init("float16")
    yield
    amp._deinit()


@pytest.fixture(autouse=True)
def _restore_namespaces():
    """Other tests run in this process: every test leaves mx.nd / mx.sym un-patched."""
    yield
    amp._deinit()


def _ops_of(sym):
    return [n.op.name for n in sym._nodes() if not n.is_variable]


# -- the ops --------------------------------------------------------------------------------------
def test_amp_cast_values_dtypes_and_gradient():
    x = mx.nd.array(np.linspace(-3, 3, 12).reshape(3, 4), dtype="float32")
    x.attach_grad()
    with autograd.record():
        y = mx.nd.amp_cast(x, dtype="float16")
        z = mx.nd.amp_cast(y, dtype="bfloat16")
    assert y.dtype == np.float16 and z.dtype == BF16.type
    np.testing.assert_array_equal(y.asnumpy(), x.asnumpy().astype(np.float16))
    np.testing.assert_array_equal(z.asnumpy(), x.asnumpy().astype(np.float16).astype(BF16))
    head = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    z.backward(mx.nd.array(head).astype("bfloat16"))
    assert x.grad.dtype == np.float32  # the gradient is cast back to the input's dtype
    np.testing.assert_array_equal(x.grad.asnumpy(), head.astype(BF16).astype(np.float16)
                                  .astype(np.float32))
    ints = mx.nd.array([1, 2, 3], dtype="int32")
    assert mx.nd.amp_cast(ints, dtype="float16").dtype == np.int32  # non-floats pass through
    f64 = mx.nd.array([1.5], dtype="float64")
    assert mx.nd.amp_cast(f64, dtype="float16").dtype == np.float64  # as MXNet: not an AMP type
    with pytest.raises(MXNetValueError, match="dtype attribute is required"):
        mx.nd.amp_cast(x)


def test_amp_multicast_widest_narrow_and_gradients():
    h = mx.nd.array([[1.0, 2.0]], dtype="float16")
    f = mx.nd.array([0.1, 0.2, 0.3], dtype="float32")
    i = mx.nd.array([1, 2], dtype="int32")
    a, b, c = mx.nd.amp_multicast(h, f, i, num_outputs=3)
    assert (a.dtype, b.dtype, c.dtype) == (np.float32, np.float32, np.int32)
    a, b = mx.nd.amp_multicast(h, f, num_outputs=2, cast_narrow=True)
    assert (a.dtype, b.dtype) == (np.float16, np.float16)
    np.testing.assert_array_equal(b.asnumpy(), f.asnumpy().astype(np.float16))
    a, b = mx.nd.amp_multicast(h, h.astype("bfloat16"), num_outputs=2)
    assert a.dtype == b.dtype == np.float32  # float32 holds both 2-byte types
    h.attach_grad()
    f.attach_grad()
    with autograd.record():
        a, b = mx.nd.amp_multicast(h, f, num_outputs=2)
        loss = (a * 3).sum() + (b * 2).sum()
    loss.backward()
    assert h.grad.dtype == np.float16 and f.grad.dtype == np.float32
    np.testing.assert_array_equal(h.grad.asnumpy(), [[3, 3]])
    np.testing.assert_array_equal(f.grad.asnumpy(), [2, 2, 2])
    with pytest.raises(MXNetValueError, match="num_outputs"):
        mx.nd.amp_multicast(h, f, num_outputs=3)


def test_all_finite_ops():
    good = mx.nd.array([1.0, -2.0])
    bad = mx.nd.array([[1.0, np.nan]], dtype="float16")
    assert mx.nd.all_finite(good).asnumpy().tolist() == [1.0]
    assert mx.nd.all_finite(bad).asnumpy().tolist() == [0.0]
    assert mx.nd.multi_all_finite(good, good, num_arrays=2).asnumpy().tolist() == [1.0]
    out = mx.nd.multi_all_finite(good, bad, num_arrays=2)
    assert out.dtype == np.float32 and out.asnumpy().tolist() == [0.0]


def test_amp_ops_on_every_backend(ctx):
    """float32 targets run everywhere; a backend without float16 says so by name."""
    x = mx.nd.array(np.array([[0.5, -1.25]]), ctx=ctx)
    y = mx.nd.amp_cast(x, dtype="float32")
    np.testing.assert_array_equal(y.asnumpy(), x.asnumpy())
    a, b = mx.nd.amp_multicast(x, mx.nd.array([[1.0, 2.0]], ctx=ctx), num_outputs=2)
    assert a.dtype == b.dtype == np.float32
    assert mx.nd.all_finite(x).asnumpy().tolist() == [1.0]
    amp.init("float16")
    w = mx.nd.array(np.ones((3, 2)), ctx=ctx)
    if "float16" in ctx.backend.dtypes:
        assert mx.nd.FullyConnected(x, w, num_hidden=3, no_bias=True).dtype == np.float16
    else:
        with pytest.raises(MXNetTypeError, match=f"backend '{ctx.backend.name}'.*float16"):
            mx.nd.FullyConnected(x, w, num_hidden=3, no_bias=True)
        net = gluon.nn.Dense(3, in_units=2)
        net.initialize(ctx=ctx)
        net.hybridize()
        with pytest.raises(MXNetTypeError, match=f"backend '{ctx.backend.name}'.*float16"):
            net(x)  # the same check while the graph is traced


# -- init: casts where the lists say --------------------------------------------------------------
def test_init_casts_by_the_lists(amp_fp16):
    rng = np.random.default_rng(0)
    x = mx.nd.array(rng.uniform(-1, 1, (4, 5)))
    w, b = mx.nd.array(rng.uniform(-1, 1, (3, 5))), mx.nd.zeros((3,))
    y = mx.nd.FullyConnected(x, w, b, num_hidden=3)
    assert y.dtype == np.float16  # target-precision list
    ref = (x.asnumpy().astype(np.float16).astype(np.float32)
           @ w.asnumpy().astype(np.float16).astype(np.float32).T)
    np.testing.assert_allclose(y.asnumpy(), ref, rtol=2e-3, atol=2e-3)
    assert mx.nd.fully_connected(x, w, b, num_hidden=3).dtype == np.float16  # alias too
    assert mx.nd.softmax(y).dtype == np.float32  # float32 list
    assert mx.nd.log_softmax(y).dtype == np.float32
    assert mx.nd.exp(y).dtype == np.float32
    assert mx.nd.relu(y).dtype == np.float16  # neutral: runs in what it gets
    assert mx.nd.broadcast_add(y, mx.nd.ones((1, 3))).dtype == np.float32  # widest
    assert mx.nd.broadcast_add(y, y).dtype == np.float16
    assert mx.nd.concat(y, x, dim=1).dtype == np.float32
    assert mx.nd.Activation(y, act_type="softrelu").dtype == np.float32  # conditional
    assert mx.nd.Activation(y, act_type="relu").dtype == np.float16
    assert mx.nd.Activation(y, "softrelu").dtype == np.float32  # the attribute positionally


@pytest.mark.parametrize("hybridize", [False, True])
def test_batchnorm_runs_in_float32_and_keeps_updating_its_statistics(amp_fp16, hybridize):
    x = np.random.default_rng(1).normal(2, 1, (8, 3)).astype(np.float32)
    bn = gluon.nn.BatchNorm(momentum=0.5)
    bn.initialize()
    if hybridize:
        bn.hybridize()
    with autograd.record():  # training: the moving statistics are updated in place
        y = bn(mx.nd.array(x, dtype="float16"))
    assert y.dtype == np.float32
    mean = bn.running_mean.data()
    assert mean.dtype == np.float32  # not a cast copy: the update reached the parameter
    np.testing.assert_allclose(mean.asnumpy(), 0.5 * x.astype(np.float16).mean(0), rtol=1e-3)


def test_init_twice_is_harmless_and_deinit_restores():
    original = mx.nd.FullyConnected
    amp.init("float16")
    patched = mx.nd.FullyConnected
    assert patched is not original
    amp.init("bfloat16")  # ignored, as in MXNet: the first init stays
    assert mx.nd.FullyConnected is patched
    x = mx.nd.ones((2, 4))
    assert mx.nd.FullyConnected(x, mx.nd.ones((3, 4)), num_hidden=3, no_bias=True).dtype == \
        np.float16
    amp._deinit()
    assert mx.nd.FullyConnected is original and mx.sym.FullyConnected.__name__ == \
        "FullyConnected"
    assert mx.nd.FullyConnected(x, mx.nd.ones((3, 4)), num_hidden=3, no_bias=True).dtype == \
        np.float32


def test_custom_lists_and_bad_target():
    with pytest.raises(MXNetValueError, match="'float16' or 'bfloat16'"):
        amp.init("float64")
    amp.init("float16", target_precision_ops=["dot"], fp32_ops=["FullyConnected"])
    x = mx.nd.ones((2, 4), dtype="float16")
    assert mx.nd.dot(x.astype("float32"), mx.nd.ones((4, 2))).dtype == np.float16
    assert mx.nd.FullyConnected(x, mx.nd.ones((3, 4)), num_hidden=3, no_bias=True).dtype == \
        np.float32


def test_lists_api():
    assert "FullyConnected" in amp.list_lp16_ops("float16")
    assert "softmax" in amp.list_fp32_ops("float16")
    assert ("Activation", "act_type", ["softrelu"]) in amp.list_conditional_fp32_ops("float16")
    assert "broadcast_add" in amp.list_widest_type_cast("float16")
    assert amp.list_lp16_ops("bfloat16") == ["Convolution", "FullyConnected"]
    assert "Deconvolution" in amp.list_fp32_ops("bfloat16")
    assert amp.list_fp16_ops() == amp.list_lp16_ops("float16")
    for ns, low in ((amp.lists.symbol_fp16, "FP16"), (amp.lists.symbol_bf16, "BF16")):
        # MXNet's test_amp_coverage: no op twice in a list, nor in two lists
        groups = [getattr(ns, f"{low}_FUNCS"), getattr(ns, f"{low}_FP32_FUNCS"), ns.FP32_FUNCS,
                  ns.WIDEST_TYPE_CASTS, [c[0] for c in ns.CONDITIONAL_FP32_FUNCS]]
        for g in groups:
            assert len(g) == len(set(g)), g
        every = [name for g in groups for name in g]
        assert len(every) == len(set(every))


# -- symbols and hybridized graphs ----------------------------------------------------------------
def test_symbol_ops_get_amp_cast_nodes(amp_fp16):
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(data, num_hidden=4, name="fc1")
    out = mx.sym.softmax(fc, name="sm")
    assert out.list_arguments() == ["data", "fc1_weight", "fc1_bias"]
    assert _ops_of(out).count("amp_cast") == 4  # data, weight, bias -> fp16; fc -> fp32
    _, out_types, _ = out.infer_type(data="float32", fc1_weight="float32", fc1_bias="float32")
    assert out_types == [np.float32]
    assert fc.infer_type(data="float32", fc1_weight="float32",
                         fc1_bias="float32")[1] == [np.float16]
    ex = out.bind(mx.cpu(), {"data": mx.nd.ones((2, 3)), "fc1_weight": mx.nd.ones((4, 3)) / 4,
                             "fc1_bias": mx.nd.zeros((4,))})
    np.testing.assert_allclose(ex.forward()[0].asnumpy(), np.full((2, 4), 0.25), rtol=1e-3)
    a, b = mx.sym.var("a"), mx.sym.var("b")
    assert "amp_multicast" in _ops_of(mx.sym.broadcast_add(a, b))


def _mlp(hidden=16, classes=3, in_units=0):
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(hidden, activation="relu", in_units=in_units),
            gluon.nn.Dense(classes, in_units=hidden))
    return net


def test_hybridized_net_has_amp_casts_and_matches_eager(amp_fp16):
    mx.random.seed(0)
    net = _mlp()
    net.initialize(mx.init.Xavier())
    x = mx.nd.array(np.random.default_rng(2).uniform(-1, 1, (5, 7)))
    eager = net(x)
    assert eager.dtype == np.float16
    net.hybridize()
    hybrid = net(x)
    ops = _ops_of(net._traced_graph().symbol)
    assert ops.count("amp_cast") == 5 and ops.count("FullyConnected") == 2
    assert hybrid.dtype == np.float16
    np.testing.assert_allclose(hybrid.asnumpy(), eager.asnumpy(), rtol=1e-3, atol=1e-3)
    for p in net.collect_params().values():
        assert p.data().dtype == np.float32  # the parameters stay float32


def test_gradients_flow_with_float32_parameter_grads(amp_fp16):
    mx.random.seed(3)
    net = _mlp(8, 2)
    net.initialize(mx.init.Xavier())
    rng = np.random.default_rng(3)
    x, label = mx.nd.array(rng.uniform(-1, 1, (6, 4))), mx.nd.array(rng.integers(0, 2, 6))
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    with autograd.record():
        loss = loss_fn(net(x), label)
    assert loss.dtype == np.float32
    loss.backward()
    grads = {p.name: p.grad().asnumpy() for p in net.collect_params().values()}
    assert all(g.dtype == np.float32 and np.isfinite(g).all() for g in grads.values())
    amp._deinit()  # the same step in float32: the mixed-precision gradients are close
    with autograd.record():
        loss32 = loss_fn(net(x), label)
    loss32.backward()
    for p in net.collect_params().values():
        np.testing.assert_allclose(grads[p.name], p.grad().asnumpy(), rtol=0.05, atol=5e-3)


# -- training with loss scaling -------------------------------------------------------------------
def _blobs(n=64, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[2, 0, 0, 1], [0, 2, 1, 0], [-2, -1, 0, 0]], dtype=np.float32)
    y = rng.integers(0, 3, n)
    x = centers[y] + rng.normal(0, 0.5, (n, 4)).astype(np.float32)
    return mx.nd.array(x), mx.nd.array(y)


def _train(net, trainer, steps, x, y, hybridize=True):
    if hybridize:
        net.hybridize()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    losses = []
    for _ in range(steps):
        with autograd.record():
            loss = loss_fn(net(x), y)
            with amp.scale_loss(loss, trainer) as scaled:
                autograd.backward(scaled)
        trainer.step(x.shape[0])
        losses.append(float(loss.mean().asscalar()))
    return losses


# the float16 overflows that loss scaling recovers from warn in NumPy's casts
OVERFLOW_WARNINGS = pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                                               "ignore:invalid value encountered:RuntimeWarning")


@OVERFLOW_WARNINGS
@pytest.mark.parametrize("target", ["float16", "bfloat16"])
def test_mlp_trains_with_loss_scaling(target):
    amp.init(target)
    mx.random.seed(4)
    net = _mlp()
    net.initialize(mx.init.Xavier())
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5})
    amp.init_trainer(trainer)
    x, y = _blobs()
    losses = _train(net, trainer, 25, x, y)
    assert losses[-1] < 0.5 * losses[0], losses
    scale = trainer._amp_loss_scaler.loss_scale
    # float16 overflows at first (a per-sample loss times 2**16 exceeds its 65504) and the
    # scaler comes down to a scale that fits; bfloat16 has float32's range
    assert scale == 2.0 ** 16 if target == "bfloat16" else 2.0 ** 6 <= scale < 2.0 ** 16
    for p in net.collect_params().values():
        assert p.data().dtype == np.float32 and p.grad().dtype == np.float32
    assert net(x).dtype == np.dtype(target)


@OVERFLOW_WARNINGS
def test_float16_weights_keep_float32_master_copies(amp_fp16):
    mx.random.seed(5)
    net = _mlp()
    net.initialize(mx.init.Xavier())
    net.cast("float16")
    trainer = gluon.Trainer(net.collect_params(), "sgd",
                            {"learning_rate": 0.5, "momentum": 0.5, "multi_precision": True})
    amp.init_trainer(trainer)
    x, y = _blobs(seed=1)
    losses = _train(net, trainer, 25, x.astype("float16"), y)
    assert losses[-1] < 0.5 * losses[0], losses
    states = next(iter(trainer._updaters.values())).states
    masters = [s[1] for s in states.values()]  # SGD's multi-precision state: (momentum, master)
    assert masters and all(m.dtype == np.float32 for m in masters)
    for p, m in zip(net.collect_params().values(), masters):
        assert p.data().dtype == np.float16
        np.testing.assert_allclose(p.data().asnumpy(), m.asnumpy().astype(np.float16))


@OVERFLOW_WARNINGS
def test_overflow_skips_the_step_and_halves_the_scale(amp_fp16):
    mx.random.seed(6)
    net = _mlp()
    net.initialize(mx.init.Xavier())
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    amp.init_trainer(trainer)
    trainer._amp_loss_scaler._loss_scale = 2.0 ** 8  # small enough for float16 on this data
    x, y = _blobs(16)
    _train(net, trainer, 1, x, y, hybridize=False)
    assert trainer._amp_loss_scaler.loss_scale == 2.0 ** 8
    before = {p.name: p.data().asnumpy().copy() for p in net.collect_params().values()}
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    with autograd.record():
        # the loss times the scale overflows float16 inside the backward pass
        loss = loss_fn(net(x * 1e4), y) * 1e4
        with amp.scale_loss(loss, trainer) as scaled:
            autograd.backward(scaled)
    grads = [p.grad().asnumpy() for p in net.collect_params().values()]
    assert not all(np.isfinite(g).all() for g in grads)
    trainer.step(x.shape[0])
    for p in net.collect_params().values():
        np.testing.assert_array_equal(p.data().asnumpy(), before[p.name])  # skipped
    assert trainer._amp_loss_scaler.loss_scale == 2.0 ** 7
    _train(net, trainer, 1, x, y, hybridize=False)  # a good step updates again
    assert any(not np.array_equal(p.data().asnumpy(), before[p.name])
               for p in net.collect_params().values())
    assert trainer._amp_loss_scaler.loss_scale == 2.0 ** 7


def test_scale_grows_after_the_window_and_stops_at_the_maximum():
    scaler = LossScaler()
    assert (scaler.loss_scale, scaler._scale_seq_len, scaler._scale_factor) == (2.0 ** 16, 2000,
                                                                                 2.0)
    p = gluon.Parameter("w", shape=(2,), grad_req="write")
    p.initialize()
    scaler = LossScaler(scale_window=3, max_loss_scale=2.0 ** 18)
    for _ in range(2):
        assert not scaler.has_overflow([p])
    assert scaler.loss_scale == 2.0 ** 16
    scaler.has_overflow([p])
    assert scaler.loss_scale == 2.0 ** 17
    for _ in range(6):
        scaler.has_overflow([p])
    assert scaler.loss_scale == 2.0 ** 18  # capped
    p.grad()[:] = np.inf
    assert scaler.has_overflow([p]) and scaler.loss_scale == 2.0 ** 17


def test_loss_scaling_is_divided_out_of_the_update():
    """With float32 everywhere, a scaled step updates exactly like an unscaled one."""
    amp.init("float16", target_precision_ops=[], fp32_ops=[])
    x, y = _blobs(16, seed=7)
    nets = []
    for _ in range(2):
        mx.random.seed(7)
        net = _mlp(in_units=4)  # initialised now, from the same random stream
        net.initialize(mx.init.Xavier())
        nets.append(net)
    t_amp = gluon.Trainer(nets[0].collect_params(), "sgd", {"learning_rate": 0.3})
    amp.init_trainer(t_amp)
    t_ref = gluon.Trainer(nets[1].collect_params(), "sgd", {"learning_rate": 0.3})
    _train(nets[0], t_amp, 2, x, y, hybridize=False)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    for _ in range(2):
        with autograd.record():
            loss = loss_fn(nets[1](x), y)
        loss.backward()
        t_ref.step(x.shape[0])
    for pa, pr in zip(nets[0].collect_params().values(), nets[1].collect_params().values()):
        np.testing.assert_allclose(pa.data().asnumpy(), pr.data().asnumpy(), rtol=1e-5,
                                   atol=1e-6)


@OVERFLOW_WARNINGS
def test_unscale_divides_the_scale_out_of_the_gradients(amp_fp16):
    mx.random.seed(8)
    net = _mlp()
    net.initialize(mx.init.Xavier())
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    amp.init_trainer(trainer)
    trainer._amp_loss_scaler._loss_scale = 2.0 ** 8  # no float16 overflow on this data
    x, y = _blobs(8)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    with autograd.record():
        loss = loss_fn(net(x), y)
    loss.backward()
    plain = [p.grad().asnumpy().copy() for p in net.collect_params().values()]
    with autograd.record():
        loss = loss_fn(net(x), y)
        with amp.scale_loss(loss, trainer) as scaled:
            autograd.backward(scaled)
    amp.unscale(trainer)
    assert trainer._scale == 1.0
    for g, p in zip(plain, net.collect_params().values()):
        # a power-of-two scale is exact in float16, up to the gradients that underflow
        # without it (the point of scaling)
        np.testing.assert_allclose(p.grad().asnumpy(), g, rtol=1e-2, atol=1e-5)


def test_trainer_errors():
    net = _mlp()
    net.initialize()
    trainer = gluon.Trainer(net.collect_params(), "sgd")
    with pytest.raises(MXNetError, match="did you forget to call amp.init"):
        amp.init_trainer(trainer)
    amp.init()
    with pytest.raises(MXNetTypeError, match="only compatible with Gluon Trainer"):
        amp.init_trainer(mx.optimizer.SGD())
    with pytest.raises(MXNetTypeError, match="should be a Gluon Trainer"):
        amp.init_trainer("sgd")
    with pytest.raises(MXNetError, match="did you forget to call amp.init_trainer"):
        with amp.scale_loss(mx.nd.ones((1,)), trainer):
            pass


# -- conversion of finished models ----------------------------------------------------------------
def _fp32_symbol():
    data = mx.sym.var("data")
    h = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=6, name="fc1"), act_type="relu",
                          name="relu1")
    return mx.sym.softmax(mx.sym.FullyConnected(h, num_hidden=3, name="fc2"), name="sm")


def _params(rng):
    shapes = {"fc1_weight": (6, 4), "fc1_bias": (6,), "fc2_weight": (3, 6), "fc2_bias": (3,)}
    return {k: mx.nd.array(rng.uniform(-1, 1, s)) for k, s in shapes.items()}


def test_convert_symbol_and_model():
    sym = _fp32_symbol()
    rng = np.random.default_rng(9)
    args = _params(rng)
    x = mx.nd.array(rng.uniform(-1, 1, (5, 4)))
    ref = sym.eval(data=x, **args)[0].asnumpy()
    conv = amp.convert_symbol(sym)
    # MXNet 1.9.1: data, fc1/fc2 weight and bias to float16, fc2's output to float32 for the
    # softmax; relu1 runs in float16 on fc1's float16 output without a cast
    assert _ops_of(conv).count("amp_cast") == 6 and _ops_of(sym).count("amp_cast") == 0
    out = conv.eval(data=x, **args)[0]
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.asnumpy(), ref, rtol=1e-2, atol=2e-3)
    kept = amp.convert_symbol(sym, excluded_sym_names=["fc2"])
    casts = [n.name for n in kept._nodes() if not n.is_variable and n.op.name == "amp_cast"]
    assert casts == ["data_amp_cast_float16", "fc1_weight_amp_cast_float16",  # MXNet 1.9.1's
                     "fc1_bias_amp_cast_float16", "relu1_output_amp_cast_float32"]
    _, kept_params, _ = amp.convert_model(sym, dict(args), {}, excluded_sym_names=["fc2"],
                                          cast_optional_params=True)
    assert kept_params["fc2_weight"].dtype == np.float32  # the excluded layer stays float32
    assert kept_params["fc1_weight"].dtype == np.float16
    new, arg_params, aux = amp.convert_model(sym, dict(args), {}, cast_optional_params=True)
    assert all(v.dtype == np.float16 for v in arg_params.values()) and aux == {}
    np.testing.assert_allclose(new.eval(data=x, **arg_params)[0].asnumpy(), ref, rtol=1e-2,
                               atol=2e-3)
    stripped = amp.remove_amp_cast(conv)
    assert _ops_of(stripped) == _ops_of(sym)
    with pytest.raises(MXNetValueError, match="Common ops"):
        amp.convert_symbol(sym, target_dtype_ops=["FullyConnected"],
                           fp32_ops=["FullyConnected"])


def test_convert_symbol_list_errors_are_assertions():
    # MXNet's convert_symbol checks its lists with ``assert`` (test_contrib_amp.py expects
    # AssertionError); mxplug's error is both
    x, y = mx.sym.var("x"), mx.sym.var("y")
    res = mx.sym.FullyConnected(x, y, num_hidden=10, no_bias=True) + mx.sym.sin(y)
    bad = [dict(target_dtype_ops=["FullyConnected"], fp32_ops=["elemwise_add"]),
           dict(target_dtype_ops=["FullyConnected"], fp32_ops=["Activation"],
                conditional_fp32_ops=[("Activation", "act_type", ["selu"])]),
           dict(target_dtype_ops=["Activation"], fp32_ops=["Activation"],
                conditional_fp32_ops=[("Activation", "act_type", ["selu"])]),
           dict(target_dtype_ops=["FullyConnected"], fp32_ops=["FullyConnected"])]
    for kw in bad:
        with pytest.raises(AssertionError):
            amp.convert_symbol(res, target_dtype="float16", **kw)
    with pytest.raises(AssertionError, match="should be Symbol"):
        amp.convert_symbol("not a symbol")
    with pytest.raises(AssertionError, match="HybridBlock"):
        amp.convert_hybrid_block(gluon.nn.Block())


def test_set_up_errors_are_assertions():
    # MXNet: ``assert _amp_initialized`` / ``assert ..._amp_loss_scaler is not None``
    trainer = gluon.Trainer(gluon.nn.Dense(2, in_units=2).collect_params(), "sgd")
    with pytest.raises(AssertionError, match="'float16' or 'bfloat16'"):
        amp.init("float64")
    with pytest.raises(AssertionError, match="float16 or bfloat16"):
        amp.list_lp16_ops("float64")
    with pytest.raises(AssertionError, match=r"forget to call amp.init\(\)"):
        amp.init_trainer(trainer)
    amp.init()
    with pytest.raises(AssertionError, match=r"forget to call amp.init_trainer\(\)"):
        with amp.scale_loss(mx.nd.ones((1,)), trainer):
            pass


def test_convert_symbol_names_casts_as_mxnet():
    x, y = mx.sym.var("x"), mx.sym.var("y")
    fc = mx.sym.FullyConnected(x, y, num_hidden=10, no_bias=True, name="fc")
    conv = amp.convert_symbol(fc + mx.sym.sin(y), target_dtype_ops=["FullyConnected"],
                              fp32_ops=["sin"])
    names = [n.name for n in conv._nodes() if not n.is_variable]
    # MXNet 1.9.1's graph: the add's inputs are known (float16 fc, float32 sin), so the
    # narrower is cast to the wider instead of an amp_multicast
    assert {"x_amp_cast_float16", "y_amp_cast_float16", "fc_output_amp_cast_float32"} \
        == {n for n in names if "amp" in n}
    assert len(names) == len(set(names))


def test_convert_symbol_casts_low_precision_outputs_back_to_float32():
    # MXNet 1.9.1's ReducePrecision: each graph output computed in the target dtype gets one
    # amp_cast to float32 (shared by outputs that are the same entry); float32 outputs get none
    x = mx.sym.var("x")
    fc = mx.sym.FullyConnected(x, num_hidden=3, name="fc")
    group = mx.sym.Group([fc, fc, mx.sym.relu(fc, name="r"), mx.sym.softmax(fc, name="sm")])
    for target in ("float16", "bfloat16"):
        conv = amp.convert_symbol(group, target_dtype=target)
        ops = _ops_of(conv)
        assert ops.count("amp_cast") == 3 + 2  # x, fc_weight, fc_bias; fc and r back to float32
        heads = [n.name for n, _ in conv._outputs]
        assert heads == ["fc_output_amp_cast_float32", "fc_output_amp_cast_float32",
                         "r_0_amp_cast_float32", "sm"]  # MXNet 1.9.1's names
        outs = conv.eval(x=mx.nd.ones((2, 4)), fc_weight=mx.nd.ones((3, 4)),
                         fc_bias=mx.nd.zeros((3,)))
        assert [np.dtype(o.dtype).name for o in outs] == ["float32"] * 4
        np.testing.assert_allclose(outs[2].asnumpy(), np.full((2, 3), 4.0))


def test_convert_functions_are_in_the_amp_module_too():
    # MXNet defines them in contrib/amp/amp.py; its tests call them through
    # ``from mxnet.contrib.amp import amp``
    from mxplug.contrib.amp import amp as amp_module
    for name in ("convert_symbol", "convert_model", "convert_hybrid_block", "remove_amp_cast"):
        assert getattr(amp_module, name) is getattr(amp, name)
        assert name in amp_module.__all__
    x = mx.sym.var("x")
    conv = amp_module.convert_symbol(mx.sym.FullyConnected(x, num_hidden=2, name="fc"),
                                     target_dtype="bfloat16")
    assert "x_amp_cast_bfloat16" in [n.name for n in conv._nodes()]
    with pytest.raises(AssertionError, match="'float16' or 'bfloat16'"):
        amp_module.convert_symbol(x, target_dtype="float64")


def _bound_dtypes(sym, **shapes):
    ex = sym.simple_bind(mx.cpu(), grad_req="null", **shapes)
    return [np.dtype(a.dtype).name for a in ex.arg_arrays]


def test_cast_optional_params_infers_variable_dtypes_as_mxnet():
    # MXNet's test_fp16_casting (tests/python/gpu/test_contrib_amp.py), on the CPU
    f16, f32 = np.float16, np.float32
    data = mx.sym.var("data")
    c16, c32 = mx.sym.amp_cast(data, dtype="float16"), mx.sym.amp_cast(data, dtype="float32")
    conv = amp.convert_symbol(mx.sym.Group([c16, c32]), data_names=[], cast_optional_params=True)
    assert _bound_dtypes(conv, data=(1, 2))[0] == "float32"  # two casts disagree
    conv = amp.convert_symbol(mx.sym.Group([c16, mx.sym.amp_cast(data, dtype="float16")]),
                              data_names=[], cast_optional_params=True)
    assert _bound_dtypes(conv, data=(1, 2))[0] == "float16"
    # a multicast of variables only: they are all stored in float16
    d1, d2 = mx.sym.var("data", dtype=f32), mx.sym.var("data2", dtype=f16)
    conv = amp.convert_symbol(mx.sym.amp_multicast(d1, d2, num_outputs=2),
                              cast_optional_params=True)
    assert _bound_dtypes(conv, data=(1, 2), data2=(1, 2)) == ["float16", "float16"]
    assert d1.attr("__dtype__") == "0"  # float32 (MXNet's code): only the converted copy changed
    # one input is an op's output: the variable keeps its dtype
    d3 = mx.sym.var("data3", dtype=f16)
    conv = amp.convert_symbol(mx.sym.amp_multicast(d1, mx.sym.elemwise_add(d2, d3),
                                                   num_outputs=2),
                              target_dtype_ops=[], fp32_ops=[], cast_optional_params=True)
    assert _bound_dtypes(conv, data=(1, 2), data2=(1, 2), data3=(1, 2))[0] == "float32"
    # a data input (no __dtype__) is never given one
    conv = amp.convert_symbol(mx.sym.amp_multicast(mx.sym.var("a", dtype=f16),
                                                   mx.sym.var("b", dtype=f32),
                                                   mx.sym.var("c"), num_outputs=3),
                              target_dtype_ops=[], fp32_ops=[], cast_optional_params=True)
    attrs = conv.attr_dict()
    assert attrs["a"]["__dtype__"] == attrs["b"]["__dtype__"] == "2"  # float16's code
    assert "__dtype__" not in attrs.get("c", {})
    for d in (mx.sym.var("data", dtype=f16), mx.sym.var("data", dtype=f32)):
        group = mx.sym.Group([mx.sym.amp_multicast(d, mx.sym.var("data2", dtype=f32 if
                                                                 d.attr("__dtype__") ==
                                                                 "2" else f16),
                                                   num_outputs=2),
                              mx.sym.amp_cast(d, dtype="float16")])
        conv = amp.convert_symbol(group, target_dtype_ops=[], fp32_ops=[],
                                  cast_optional_params=True)
        assert _bound_dtypes(conv, data=(1, 2), data2=(1, 2))[0] == "float16"


def test_convert_model_gives_parameters_their_inferred_dtype():
    # Only Convolution in float16: the FullyConnected after it gets float16 data, so (as in
    # MXNet's type inference) its parameters are stored in float16 and the model trains
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, num_filter=4, kernel=(2, 3), name="conv")
    fc = mx.sym.FullyConnected(mx.sym.Flatten(conv), num_hidden=5, name="fc")
    rng = np.random.default_rng(3)
    shapes = {"conv_weight": (4, 3, 2, 3), "conv_bias": (4,), "fc_weight": (5, 196),
              "fc_bias": (5,)}
    args = {k: mx.nd.array(rng.uniform(-0.3, 0.3, s)) for k, s in shapes.items()}
    x = mx.nd.array(rng.uniform(-1, 1, (2, 3, 8, 9)))
    ref = fc.eval(data=x, **args)[0].asnumpy()
    new, arg_params, _ = amp.convert_model(fc, dict(args), {}, target_dtype_ops=["Convolution"])
    dtypes = {k: np.dtype(v.dtype).name for k, v in arg_params.items()}
    assert dtypes == {"conv_weight": "float32", "conv_bias": "float32", "fc_weight": "float16",
                      "fc_bias": "float16"}
    ex = new.simple_bind(mx.cpu(), data=x.shape)
    ex.copy_params_from(arg_params)
    out = ex.forward(is_train=True, data=x)[0]
    ex.backward(mx.nd.ones(out.shape, dtype=out.dtype))
    # the float16 result is cast back to float32 at the output, as MXNet 1.9.1 does
    assert out.dtype == np.float32 and ex.grad_dict["fc_weight"].dtype == np.float16
    np.testing.assert_allclose(out.asnumpy().astype(np.float32), ref, rtol=2e-2, atol=2e-2)


def test_convert_hybrid_block():
    mx.random.seed(10)
    net = _mlp(8, 3)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    x = mx.nd.array(np.random.default_rng(10).uniform(-1, 1, (4, 5)))
    ref = net(x).asnumpy()
    for target in ("float16", "bfloat16"):
        block = amp.convert_hybrid_block(net, target_dtype=target)
        out = block(x)
        assert out.dtype == np.float32  # computed in ``target``, returned as float32
        np.testing.assert_allclose(out.asnumpy().astype(np.float32), ref, rtol=0.05, atol=0.05)


# -- bfloat16 on NumPy ----------------------------------------------------------------------------
def test_bfloat16_arrays_and_gemms():
    assert base.dtype_of("bfloat16") == BF16 and "bfloat16" in mx.cpu().backend.dtypes
    rng = np.random.default_rng(11)
    a32, b32 = rng.uniform(-1, 1, (5, 8)).astype(np.float32), rng.uniform(-1, 1, (3, 8))
    a = mx.nd.array(a32, dtype="bfloat16")
    b = mx.nd.array(b32, dtype="bfloat16")
    ref = a32.astype(BF16).astype(np.float32) @ b32.astype(BF16).astype(np.float32).T
    for out in (mx.nd.FullyConnected(a, b, num_hidden=3, no_bias=True),
                mx.nd.dot(a, b, transpose_b=True),
                mx.nd.batch_dot(a.expand_dims(0), b.expand_dims(0), transpose_b=True)[0]):
        assert out.dtype == BF16.type  # ml_dtypes' own matmul would return float32
        np.testing.assert_allclose(out.asnumpy().astype(np.float32), ref, rtol=1e-2, atol=1e-2)
    out = mx.nd.zeros((5, 3), dtype="bfloat16")  # the out-kernel path (graph memory plans)
    mx.nd.FullyConnected(a, b, num_hidden=3, no_bias=True, out=out)
    np.testing.assert_allclose(out.asnumpy().astype(np.float32), ref, rtol=1e-2, atol=1e-2)
    h = mx.nd.FullyConnected(a.astype("float16"), b.astype("float16"), num_hidden=3,
                             no_bias=True)
    assert h.dtype == np.float16
    np.testing.assert_allclose(h.asnumpy(), ref, rtol=1e-2, atol=1e-2)


def test_bfloat16_without_ml_dtypes_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)  # import ml_dtypes now fails
    with pytest.raises(MXNetTypeError, match=r"pip install mxplug\[amp\]"):
        base.bfloat16()
