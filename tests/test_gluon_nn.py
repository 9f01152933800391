"""Gluon layers (``mx.gluon.nn``, ``mx.gluon.contrib.nn``): every layer's forward against an
independent NumPy computation, hybridized vs eager, and gradients (inputs and parameters) against
central finite differences in float64 for a representative subset; on every backend.

The helpers ``nd``, ``eager_and_hybrid`` and ``check_block_grads`` are shared with
test_gluon_loss.py."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.gluon import nn
from mxplug.gluon.contrib import nn as cnn

EPS = 1e-6


def nd(a, ctx, dtype="float32"):
    return mx.nd.array(np.asarray(a), ctx=ctx, dtype=dtype)


def eager_and_hybrid(block, *args, rtol=1e-5, atol=1e-6):
    """The block's output (NumPy), after checking that hybridizing it does not change it."""
    eager = block(*args).asnumpy()
    block.hybridize()
    hybrid = block(*args).asnumpy()
    np.testing.assert_allclose(hybrid, eager, rtol=rtol, atol=atol,
                               err_msg=f"{block.__class__.__name__}: hybridized != eager")
    return eager


def _trainable(block):
    return [p for p in block.collect_params().values() if p.grad_req != "null"]


def check_block_grads(block, inputs, ctx, wrt=(0,), seed=0, params=True, initialized=False,
                      rtol=1e-4, atol=1e-6):
    """Gradients of ``sum(block(*inputs) * w)`` with respect to the inputs ``wrt`` and the
    block's trainable parameters: autograd (eager and hybridized) vs finite differences."""
    if not initialized:
        block.initialize(ctx=ctx)
    block.cast("float64")
    inputs = [np.array(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
              for a in inputs]
    args = [nd(a, ctx, "float64") for a in inputs]
    with autograd.train_mode():
        out = block(*args)  # completes deferred initialisation
    weights = np.random.default_rng(seed).uniform(-1, 1, out.shape)
    plist = _trainable(block) if params else []

    def loss():
        with autograd.train_mode():
            o = block(*[nd(a, ctx, "float64") for a in inputs])
        return float(np.sum(o.asnumpy().astype(np.float64) * weights))

    numeric = []
    for k in wrt:
        x, g = inputs[k], np.zeros_like(inputs[k])
        for idx in np.ndindex(*x.shape):
            orig = x[idx]
            x[idx] = orig + EPS
            up = loss()
            x[idx] = orig - EPS
            down = loss()
            x[idx] = orig
            g[idx] = (up - down) / (2 * EPS)
        numeric.append((f"input {k}", g))
    for p in plist:
        v = p.data(ctx).asnumpy().astype(np.float64)
        g = np.zeros_like(v)
        for idx in np.ndindex(*v.shape):
            orig = v[idx]
            v[idx] = orig + EPS
            p.set_data(nd(v, ctx, "float64"))
            up = loss()
            v[idx] = orig - EPS
            p.set_data(nd(v, ctx, "float64"))
            down = loss()
            v[idx] = orig
            g[idx] = (up - down) / (2 * EPS)
        p.set_data(nd(v, ctx, "float64"))
        numeric.append((p.name, g))

    for mode in ("eager", "hybridized"):
        if mode == "hybridized":
            block.hybridize()
        args = [nd(a, ctx, "float64") for a in inputs]
        for k in wrt:
            args[k].attach_grad()
        with autograd.record():
            out = block(*args)
        out.backward(nd(weights, ctx, "float64"))
        got = [args[k].grad for k in wrt] + [p.grad(ctx) for p in plist]
        for (what, expected), g in zip(numeric, got):
            np.testing.assert_allclose(g.asnumpy(), expected, rtol=rtol, atol=atol,
                                       err_msg=f"{block.__class__.__name__} ({mode}): "
                                               f"gradient of {what}")


def rand(*shape, lo=-1.0, hi=1.0, seed=0):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


def setp(block, ctx, **values):
    """Give the block's parameters (by attribute name) known values."""
    for name, v in values.items():
        getattr(block, name).set_data(nd(v, ctx, dtype=getattr(block, name).dtype))


def first_call(block, ctx, *args):
    """Initialize the block on ``ctx`` and run it once (completes deferred shapes)."""
    block.initialize(ctx=ctx)
    return block(*args)


# -- independent NumPy references ------------------------------------------------------------
def conv_ref(x, w, b, stride, pad, dilate, groups=1):
    n = x.ndim - 2
    x = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    N, C = x.shape[:2]
    O, k = w.shape[0], w.shape[2:]
    sp = [(x.shape[2 + i] - dilate[i] * (k[i] - 1) - 1) // stride[i] + 1 for i in range(n)]
    out = np.zeros((N, O, *sp))
    cg, og = C // groups, O // groups
    for pos in np.ndindex(*sp):
        sl = tuple(slice(pos[i] * stride[i], pos[i] * stride[i] + dilate[i] * (k[i] - 1) + 1,
                         dilate[i]) for i in range(n))
        patch = x[(slice(None), slice(None)) + sl]
        for g in range(groups):
            axes = list(range(1, n + 2))
            out[(slice(None), slice(g * og, (g + 1) * og)) + pos] = np.tensordot(
                patch[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og], axes=(axes, axes))
    if b is not None:
        out += b.reshape((1, -1) + (1,) * n)
    return out


def deconv_ref(x, w, b, stride, pad, dilate, adj, groups=1):
    n = x.ndim - 2
    N, C = x.shape[:2]
    og, k = w.shape[1], w.shape[2:]
    cg = C // groups
    full = [(x.shape[2 + i] - 1) * stride[i] + dilate[i] * (k[i] - 1) + 1 + adj[i]
            for i in range(n)]
    out = np.zeros((N, og * groups, *full))
    for pos in np.ndindex(*x.shape[2:]):
        for kp in np.ndindex(*k):
            o = tuple(pos[i] * stride[i] + kp[i] * dilate[i] for i in range(n))
            for g in range(groups):
                xin = x[(slice(None), slice(g * cg, (g + 1) * cg)) + pos]
                out[(slice(None), slice(g * og, (g + 1) * og)) + o] += np.einsum(
                    "nc,co->no", xin, w[(slice(g * cg, (g + 1) * cg), slice(None)) + kp])
    size = [(x.shape[2 + i] - 1) * stride[i] - 2 * pad[i] + dilate[i] * (k[i] - 1) + 1 + adj[i]
            for i in range(n)]
    out = out[(slice(None), slice(None)) + tuple(slice(p, p + s) for p, s in zip(pad, size))]
    if b is not None:
        out = out + b.reshape((1, -1) + (1,) * n)
    return out


def pool_ref(x, kernel, stride, pad, pool_type, ceil=False, count_include_pad=True):
    n, sp = x.ndim - 2, x.shape[2:]
    rnd = (lambda a, b: -(-a // b)) if ceil else (lambda a, b: a // b)
    osp = [rnd(sp[i] + 2 * pad[i] - kernel[i], stride[i]) + 1 for i in range(n)]
    out = np.zeros(x.shape[:2] + tuple(osp))
    axes = tuple(range(2, 2 + n))
    for pos in np.ndindex(*osp):
        start = [pos[i] * stride[i] - pad[i] for i in range(n)]
        end = [min(start[i] + kernel[i], sp[i] + pad[i]) for i in range(n)]
        size = np.prod([e - s for s, e in zip(start, end)])
        sl = tuple(slice(max(s, 0), min(e, sp[i])) for i, (s, e) in enumerate(zip(start, end)))
        win = x[(slice(None), slice(None)) + sl]
        if pool_type == "max":
            v = win.max(axis=axes)
        else:
            v = win.sum(axis=axes) / (size if count_include_pad else np.prod(win.shape[2:]))
        out[(slice(None), slice(None)) + pos] = v
    return out


def norm_ref(x, axes, eps):
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def chan(v, ndim, axis=1):
    shape = [1] * ndim
    shape[axis] = -1
    return v.reshape(shape)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# -- Dense, Dropout, Embedding, Flatten ---------------------------------------------------------
@pytest.mark.parametrize("flatten", [True, False])
def test_dense_forward(ctx, flatten):
    layer = nn.Dense(4, activation="tanh", flatten=flatten)
    x = rand(2, 3, 5)
    first_call(layer, ctx, nd(x, ctx))
    in_units = 15 if flatten else 5
    assert layer.weight.shape == (4, in_units) and layer.bias.shape == (4,)
    w, b = rand(4, in_units, seed=1), rand(4, seed=2)
    setp(layer, ctx, weight=w, bias=b)
    out = eager_and_hybrid(layer, nd(x, ctx))
    ref = np.tanh((x.reshape(2, -1) if flatten else x) @ w.T + b)
    assert out.shape == ((2, 4) if flatten else (2, 3, 4))
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


def test_dense_no_bias_and_in_units(ctx):
    layer = nn.Dense(3, use_bias=False, in_units=4)
    assert layer.bias is None and layer.weight.shape == (3, 4)
    layer.initialize(ctx=ctx)
    w, x = rand(3, 4), rand(5, 4, seed=3)
    setp(layer, ctx, weight=w)
    np.testing.assert_allclose(eager_and_hybrid(layer, nd(x, ctx)), x @ w.T, rtol=1e-5,
                               atol=1e-6)
    assert "Dense(4 -> 3, linear)" == repr(layer)


def test_dense_grad(ctx):
    check_block_grads(nn.Dense(3, activation="sigmoid"), [rand(2, 4)], ctx)


def test_dropout(ctx):
    layer = nn.Dropout(0.5)
    layer.initialize(ctx=ctx)
    x = rand(20, 30, lo=0.5, hi=1.5)
    np.testing.assert_array_equal(layer(nd(x, ctx)).asnumpy(), x.astype(np.float32))  # predict
    with autograd.record():
        out = layer(nd(x, ctx)).asnumpy()
    kept = out != 0
    assert 0.3 < kept.mean() < 0.7
    np.testing.assert_allclose(out[kept], (x * 2)[kept], rtol=1e-6)
    shared = nn.Dropout(0.5, axes=(1,))
    shared.initialize(ctx=ctx)
    with autograd.record():
        out = shared(nd(x, ctx)).asnumpy()
    assert all(len(set(row != 0)) == 1 for row in out)  # one mask value per row
    zero = nn.Dropout(0.0)
    with autograd.record():
        np.testing.assert_allclose(zero(nd(x, ctx)).asnumpy(), x, rtol=1e-6)


def test_embedding(ctx):
    layer = nn.Embedding(6, 3)
    idx = np.array([[0, 5, 2], [1, 1, 4]], dtype=np.float32)
    first_call(layer, ctx, nd(idx, ctx))
    w = rand(6, 3)
    setp(layer, ctx, weight=w)
    out = eager_and_hybrid(layer, nd(idx, ctx))
    np.testing.assert_allclose(out, w[idx.astype(int)], rtol=1e-6)
    assert repr(layer) == "Embedding(6 -> 3, float32)"


def test_embedding_grad(ctx):
    layer = nn.Embedding(4, 2)
    check_block_grads(layer, [np.array([[0, 3], [3, 1]], dtype=np.float64)], ctx, wrt=())


def test_flatten(ctx):
    layer = nn.Flatten()
    x = rand(2, 3, 4)
    np.testing.assert_allclose(eager_and_hybrid(layer, nd(x, ctx)), x.reshape(2, 12), rtol=1e-6)


# -- normalisation ------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [1, -1])
def test_batchnorm_train_and_predict(ctx, axis):
    layer = nn.BatchNorm(axis=axis, momentum=0.8, epsilon=1e-3)
    x = rand(4, 3, 5) * 2 + 0.5
    c = x.shape[axis]
    first_call(layer, ctx, nd(x, ctx))
    g, b = rand(c, lo=0.5, hi=1.5, seed=1), rand(c, seed=2)
    rm, rv = rand(c, seed=3), rand(c, lo=0.5, hi=2.0, seed=4)
    setp(layer, ctx, gamma=g, beta=b, running_mean=rm, running_var=rv)
    axes = tuple(i for i in range(3) if i != axis % 3)
    # predict mode: the running statistics
    out = layer(nd(x, ctx)).asnumpy()
    ref = (x - chan(rm, 3, axis)) / np.sqrt(chan(rv, 3, axis) + 1e-3) * chan(g, 3, axis) \
        + chan(b, 3, axis)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    # training: batch statistics, and the running ones move by momentum
    with autograd.record():
        out = layer(nd(x, ctx)).asnumpy()
    ref = norm_ref(x, axes, 1e-3) * chan(g, 3, axis) + chan(b, 3, axis)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    np.testing.assert_allclose(layer.running_mean.data(ctx).asnumpy(), 0.8 * rm + 0.2 * mean,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(layer.running_var.data(ctx).asnumpy(), 0.8 * rv + 0.2 * var,
                               rtol=1e-5, atol=1e-6)
    assert layer.running_mean.grad_req == "null" and layer.running_var.grad_req == "null"


def test_batchnorm_hybridized_updates_running_stats(ctx):
    x = rand(4, 2, 3) + 1.0
    stats = []
    for hybrid in (False, True):
        layer = nn.BatchNorm(in_channels=2)
        layer.initialize(ctx=ctx)
        if hybrid:
            layer.hybridize()
        with autograd.record():
            train = layer(nd(x, ctx)).asnumpy()
        pred = layer(nd(x, ctx)).asnumpy()
        stats.append((train, pred, layer.running_mean.data(ctx).asnumpy(),
                      layer.running_var.data(ctx).asnumpy()))
    for a, b in zip(*stats):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stats[0][2], 0.1 * x.mean(axis=(0, 2)), rtol=1e-5, atol=1e-6)


def test_batchnorm_options(ctx):
    x = rand(3, 2, 4)
    fixed = nn.BatchNorm(scale=False, center=False, use_global_stats=True, in_channels=2)
    fixed.initialize(ctx=ctx)
    assert fixed.gamma.grad_req == "null" and fixed.beta.grad_req == "null"
    setp(fixed, ctx, gamma=np.array([3.0, 3.0]), running_mean=np.array([0.5, -0.5]),
         running_var=np.array([4.0, 1.0]))
    with autograd.record():  # use_global_stats: the running statistics even in training
        out = fixed(nd(x, ctx)).asnumpy()
    ref = (x - chan(np.array([0.5, -0.5]), 3)) / np.sqrt(chan(np.array([4.0, 1.0]), 3) + 1e-5)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)  # gamma ignored: scale=False
    np.testing.assert_allclose(fixed.running_mean.data(ctx).asnumpy(), [0.5, -0.5])


def test_batchnorm_grad(ctx):
    check_block_grads(nn.BatchNorm(), [rand(3, 2, 2) * 2], ctx)


@pytest.mark.parametrize("axis", [-1, 1])
def test_layernorm(ctx, axis):
    layer = nn.LayerNorm(axis=axis, epsilon=1e-4)
    x = rand(2, 3, 4) * 3
    c = x.shape[axis]
    first_call(layer, ctx, nd(x, ctx))
    assert layer.gamma.shape == (c,)
    g, b = rand(c, seed=1), rand(c, seed=2)
    setp(layer, ctx, gamma=g, beta=b)
    out = eager_and_hybrid(layer, nd(x, ctx))
    ref = norm_ref(x, axis, 1e-4) * chan(g, 3, axis) + chan(b, 3, axis)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


def test_layernorm_grad(ctx):
    check_block_grads(nn.LayerNorm(), [rand(2, 3) * 2], ctx)


@pytest.mark.parametrize("axis", [1, 2])
def test_instancenorm(ctx, axis):
    layer = nn.InstanceNorm(axis=axis, scale=True)
    x = rand(2, 3, 4, 5)
    c = x.shape[axis]
    first_call(layer, ctx, nd(x, ctx))
    g, b = rand(c, seed=1), rand(c, seed=2)
    setp(layer, ctx, gamma=g, beta=b)
    out = eager_and_hybrid(layer, nd(x, ctx))
    red = tuple(i for i in range(1, 4) if i != axis)
    ref = norm_ref(x, red, 1e-5) * chan(g, 4, axis) + chan(b, 4, axis)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    assert nn.InstanceNorm().gamma.grad_req == "null"  # scale=False by default


def test_instancenorm_grad(ctx):
    check_block_grads(nn.InstanceNorm(scale=True), [rand(2, 2, 3) * 2], ctx)


def test_groupnorm(ctx):
    layer = nn.GroupNorm(num_groups=2)
    x = rand(2, 4, 3)
    first_call(layer, ctx, nd(x, ctx))
    g, b = rand(2, seed=1), rand(2, seed=2)
    setp(layer, ctx, gamma=g, beta=b)
    out = eager_and_hybrid(layer, nd(x, ctx))
    ref = norm_ref(x.reshape(2, 2, -1), 2, 1e-5) * g.reshape(1, 2, 1) + b.reshape(1, 2, 1)
    np.testing.assert_allclose(out, ref.reshape(x.shape), rtol=1e-4, atol=1e-5)


def test_groupnorm_grad(ctx):
    check_block_grads(nn.GroupNorm(num_groups=2), [rand(2, 4, 2) * 2], ctx)


# -- activations --------------------------------------------------------------------------------
SELU_A, SELU_L = 1.6732632423543772, 1.0507009873554805
ACTS = [
    (lambda: nn.Activation("relu"), lambda x: np.maximum(x, 0)),
    (lambda: nn.Activation("sigmoid"), sigmoid),
    (lambda: nn.Activation("tanh"), np.tanh),
    (lambda: nn.Activation("softrelu"), lambda x: np.log1p(np.exp(x))),
    (lambda: nn.Activation("softsign"), lambda x: x / (1 + np.abs(x))),
    (lambda: nn.LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    (lambda: nn.ELU(0.7), lambda x: np.where(x > 0, x, 0.7 * np.expm1(x))),
    (lambda: nn.SELU(), lambda x: SELU_L * np.where(x > 0, x, SELU_A * np.expm1(x))),
    (lambda: nn.GELU(), lambda x: 0.5 * x * (1 + np.vectorize(__import__("math").erf)(
        x / np.sqrt(2)))),
    (lambda: nn.Swish(1.5), lambda x: x * sigmoid(1.5 * x)),
]


@pytest.mark.parametrize("k", range(len(ACTS)))
def test_activation_layers(ctx, k):
    make, ref = ACTS[k]
    layer = make()
    layer.initialize(ctx=ctx)
    x = rand(3, 4, lo=-3, hi=3) + 0.01
    np.testing.assert_allclose(eager_and_hybrid(layer, nd(x, ctx)), ref(x), rtol=1e-5,
                               atol=1e-6)


def test_activation_prefix_and_repr():
    act = nn.Activation("relu")
    assert act.prefix.startswith("relu") and repr(act) == "Activation(relu)"
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(0.2)"
    with pytest.raises(AssertionError):
        nn.LeakyReLU(-0.1)


@pytest.mark.parametrize("in_channels", [1, 3])
def test_prelu(ctx, in_channels):
    layer = nn.PReLU(in_channels=in_channels)
    layer.initialize(ctx=ctx)
    x = rand(2, 3, 4, lo=-2, hi=2)
    np.testing.assert_allclose(layer.alpha.data(ctx).asnumpy(), np.full(in_channels, 0.25))
    a = rand(in_channels, lo=0, hi=0.5, seed=1)
    setp(layer, ctx, alpha=a)
    ref = np.where(x > 0, x, x * a.reshape(1, -1, 1))
    np.testing.assert_allclose(eager_and_hybrid(layer, nd(x, ctx)), ref, rtol=1e-5, atol=1e-6)


# -- convolution, pooling, padding ------------------------------------------------------------
CONVS = [
    # (class, kwargs, input shape)
    (nn.Conv1D, dict(channels=4, kernel_size=3, strides=2, padding=1), (2, 3, 7)),
    (nn.Conv2D, dict(channels=4, kernel_size=(3, 2), strides=(1, 2), padding=(1, 0),
                     dilation=(2, 1), groups=2), (2, 4, 6, 5)),
    (nn.Conv2D, dict(channels=2, kernel_size=3, use_bias=False), (1, 3, 5, 5)),
    (nn.Conv3D, dict(channels=2, kernel_size=2, padding=(1, 0, 0)), (1, 2, 3, 4, 3)),
]


@pytest.mark.parametrize("k", range(len(CONVS)))
def test_conv_forward(ctx, k):
    cls, kw, shape = CONVS[k]
    layer = cls(**kw)
    x = rand(*shape)
    first_call(layer, ctx, nd(x, ctx))
    n = len(shape) - 2
    groups = kw.get("groups", 1)
    kernel = layer._kwargs["kernel"]
    assert layer.weight.shape == (kw["channels"], shape[1] // groups) + kernel
    w = rand(*layer.weight.shape, seed=1)
    b = rand(kw["channels"], seed=2) if kw.get("use_bias", True) else None
    setp(layer, ctx, weight=w, **({} if b is None else {"bias": b}))
    out = eager_and_hybrid(layer, nd(x, ctx))
    tup = lambda v: (v,) * n if isinstance(v, int) else v  # noqa: E731
    ref = conv_ref(x, w, b, tup(kw.get("strides", 1)), tup(kw.get("padding", 0)),
                   tup(kw.get("dilation", 1)), groups)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


def test_conv2d_nhwc_layout(ctx):
    layer = nn.Conv2D(3, kernel_size=(2, 3), padding=1, layout="NHWC", in_channels=2,
                      activation="relu")
    assert layer.weight.shape == (3, 2, 3, 2)  # (channels, *kernel, in_channels)
    layer.initialize(ctx=ctx)
    w, b, x = rand(3, 2, 3, 2, seed=1), rand(3, seed=2), rand(2, 4, 5, 2)
    setp(layer, ctx, weight=w, bias=b)
    out = eager_and_hybrid(layer, nd(x, ctx))
    ref = conv_ref(x.transpose(0, 3, 1, 2), w.transpose(0, 3, 1, 2), b, (1, 1), (1, 1), (1, 1))
    np.testing.assert_allclose(out, np.maximum(ref, 0).transpose(0, 2, 3, 1), rtol=1e-4,
                               atol=1e-5)


def test_conv_prefix_and_repr():
    layer = nn.Conv2D(8, 3, strides=2, padding=1, in_channels=4, prefix="c_")
    assert list(layer.collect_params().keys()) == ["c_weight", "c_bias"]
    assert repr(layer) == "Conv2D(4 -> 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"
    assert nn.Conv1D(2, 3).prefix.startswith("conv")
    assert nn.MaxPool2D().prefix.startswith("pool")


def test_conv2d_grad(ctx):
    check_block_grads(nn.Conv2D(2, kernel_size=2, strides=(1, 2), padding=1), [rand(1, 2, 3, 3)],
                      ctx)


TRANSPOSED = [
    (nn.Conv1DTranspose, dict(channels=3, kernel_size=3, strides=2, padding=1,
                              output_padding=1), (2, 2, 4)),
    (nn.Conv2DTranspose, dict(channels=4, kernel_size=(2, 3), strides=(2, 1), padding=(0, 1),
                              groups=2), (1, 2, 3, 3)),
    (nn.Conv2DTranspose, dict(channels=2, kernel_size=3, dilation=2, use_bias=False),
     (1, 3, 3, 2)),
]


@pytest.mark.parametrize("k", range(len(TRANSPOSED)))
def test_conv_transpose_forward(ctx, k):
    cls, kw, shape = TRANSPOSED[k]
    layer = cls(**kw)
    x = rand(*shape)
    first_call(layer, ctx, nd(x, ctx))
    n = len(shape) - 2
    groups = kw.get("groups", 1)
    assert layer.weight.shape == (shape[1], kw["channels"] // groups) + layer._kwargs["kernel"]
    w = rand(*layer.weight.shape, seed=1)
    b = rand(kw["channels"], seed=2) if kw.get("use_bias", True) else None
    setp(layer, ctx, weight=w, **({} if b is None else {"bias": b}))
    out = eager_and_hybrid(layer, nd(x, ctx))
    tup = lambda v: (v,) * n if isinstance(v, int) else v  # noqa: E731
    ref = deconv_ref(x, w, b, tup(kw.get("strides", 1)), tup(kw.get("padding", 0)),
                     tup(kw.get("dilation", 1)), tup(kw.get("output_padding", 0)), groups)
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


def test_conv_transpose_grad(ctx):
    check_block_grads(nn.Conv1DTranspose(2, 2, strides=2), [rand(1, 2, 3)], ctx)


POOLS = [
    (nn.MaxPool1D, dict(), (2, 3, 7), "max"),
    (nn.MaxPool2D, dict(pool_size=3, strides=2, padding=1), (1, 2, 6, 5), "max"),
    (nn.MaxPool2D, dict(pool_size=(2, 3), ceil_mode=True), (1, 2, 5, 7), "max"),
    (nn.MaxPool3D, dict(pool_size=2, strides=1), (1, 1, 3, 3, 4), "max"),
    (nn.AvgPool1D, dict(pool_size=3, strides=2, padding=1), (2, 2, 6), "avg"),
    (nn.AvgPool2D, dict(pool_size=3, strides=2, padding=1, count_include_pad=False),
     (1, 2, 5, 6), "avg"),
    (nn.AvgPool2D, dict(pool_size=2, ceil_mode=True), (1, 1, 5, 5), "avg"),
    (nn.AvgPool3D, dict(pool_size=(1, 2, 2)), (1, 2, 2, 4, 4), "avg"),
]


@pytest.mark.parametrize("k", range(len(POOLS)))
def test_pool_forward(ctx, k):
    cls, kw, shape, ptype = POOLS[k]
    layer = cls(**kw)
    layer.initialize(ctx=ctx)
    x = rand(*shape)
    out = eager_and_hybrid(layer, nd(x, ctx))
    n = len(shape) - 2
    tup = lambda v: (v,) * n if isinstance(v, int) else tuple(v)  # noqa: E731
    size = tup(kw.get("pool_size", 2))
    ref = pool_ref(x, size, tup(kw.get("strides") or size), tup(kw.get("padding", 0)), ptype,
                   kw.get("ceil_mode", False), kw.get("count_include_pad", True))
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_global_pools(ctx, n):
    x = rand(2, 3, *(4, 3, 2)[:n])
    axes = tuple(range(2, 2 + n))
    for cls, ref in ((getattr(nn, f"GlobalMaxPool{n}D"), x.max(axis=axes, keepdims=True)),
                     (getattr(nn, f"GlobalAvgPool{n}D"), x.mean(axis=axes, keepdims=True))):
        layer = cls()
        layer.initialize(ctx=ctx)
        np.testing.assert_allclose(eager_and_hybrid(layer, nd(x, ctx)), ref, rtol=1e-5,
                                   atol=1e-6)


def test_pool_nhwc_layout(ctx):
    x = rand(1, 4, 6, 3)
    layer = nn.MaxPool2D(2, layout="NHWC")
    ref = pool_ref(x.transpose(0, 3, 1, 2), (2, 2), (2, 2), (0, 0), "max")
    np.testing.assert_allclose(eager_and_hybrid(layer, nd(x, ctx)), ref.transpose(0, 2, 3, 1),
                               rtol=1e-6)


@pytest.mark.parametrize("cls,kw", [(nn.MaxPool2D, dict(pool_size=2, strides=1)),
                                    (nn.AvgPool2D, dict(pool_size=2, padding=1))])
def test_pool_grad(ctx, cls, kw):
    check_block_grads(cls(**kw), [rand(1, 2, 3, 3)], ctx)


def test_reflection_pad(ctx):
    x = rand(2, 1, 3, 4)
    layer = nn.ReflectionPad2D(2)
    ref = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)), mode="reflect")
    np.testing.assert_allclose(eager_and_hybrid(layer, nd(x, ctx)), ref, rtol=1e-6)
    layer = nn.ReflectionPad2D((0, 0, 0, 0, 1, 0, 0, 2))
    ref = np.pad(x, ((0, 0), (0, 0), (1, 0), (0, 2)), mode="reflect")
    np.testing.assert_allclose(eager_and_hybrid(layer, nd(x, ctx)), ref, rtol=1e-6)


# -- containers, lambdas, contrib -------------------------------------------------------------
def test_hybrid_sequential(ctx):
    net = nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Dense(5, activation="relu"), nn.Dense(3))
    assert len(net) == 2
    assert list(net.collect_params().keys()) == ["net_dense0_weight", "net_dense0_bias",
                                                 "net_dense1_weight", "net_dense1_bias"]
    x = rand(4, 6)
    first_call(net, ctx, nd(x, ctx))
    w0, b0, w1, b1 = rand(5, 6, seed=1), rand(5, seed=2), rand(3, 5, seed=3), rand(3, seed=4)
    setp(net[0], ctx, weight=w0, bias=b0)
    setp(net[1], ctx, weight=w1, bias=b1)
    out = eager_and_hybrid(net, nd(x, ctx))
    np.testing.assert_allclose(out, np.maximum(x @ w0.T + b0, 0) @ w1.T + b1, rtol=1e-5,
                               atol=1e-6)
    head = net[:1]
    assert isinstance(head, nn.HybridSequential) and len(head) == 1 and head[0] is net[0]
    assert "(0): Dense(6 -> 5, Activation(relu))" in repr(net)


def test_sequential_with_lambdas(ctx):
    net = nn.Sequential()
    with net.name_scope():
        net.add(nn.Lambda("tanh"), nn.Lambda(lambda x: x * 2),
                nn.HybridLambda("sigmoid"), nn.HybridLambda(lambda F, x: F.relu(x - 0.5)))
    x = rand(3, 4, lo=-2, hi=2)
    net.initialize(ctx=ctx)
    out = net(nd(x, ctx)).asnumpy()
    ref = np.maximum(sigmoid(np.tanh(x) * 2) - 0.5, 0)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    hl = nn.HybridLambda(lambda F, x: F.relu(x - 0.5))
    np.testing.assert_allclose(eager_and_hybrid(hl, nd(x, ctx)), np.maximum(x - 0.5, 0),
                               rtol=1e-6)
    with pytest.raises(AssertionError):
        nn.Lambda("no_such_op")
    with pytest.raises(ValueError):
        nn.HybridLambda(3)


@pytest.mark.parametrize("hybrid", [False, True])
def test_concurrent(ctx, hybrid):
    net = (cnn.HybridConcurrent if hybrid else cnn.Concurrent)(axis=1)
    with net.name_scope():
        net.add(nn.Dense(2, in_units=3), cnn.Identity(), nn.Activation("relu"))
    net.initialize(ctx=ctx)
    w, b, x = rand(2, 3, seed=1), rand(2, seed=2), rand(4, 3)
    setp(net[0], ctx, weight=w, bias=b)
    out = eager_and_hybrid(net, nd(x, ctx)) if hybrid else net(nd(x, ctx)).asnumpy()
    ref = np.concatenate([x @ w.T + b, x, np.maximum(x, 0)], axis=1)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


def test_identity(ctx):
    x = rand(2, 3)
    np.testing.assert_allclose(eager_and_hybrid(cnn.Identity(), nd(x, ctx)), x, rtol=1e-6)


def test_small_cnn_trains_a_step(ctx):
    """Layers together, recorded: every trainable parameter receives a finite gradient."""
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv2D(4, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"),
                nn.MaxPool2D(2), nn.Conv2D(4, 3, activation="relu"), nn.GlobalAvgPool2D(),
                nn.Flatten(), nn.Dropout(0.2), nn.Dense(3))
    net.initialize(ctx=ctx)
    net.hybridize()
    x = nd(rand(2, 1, 8, 8), ctx)
    with autograd.record():
        out = net(x)
    out.backward()
    assert out.shape == (2, 3)
    for p in net.collect_params().values():
        if p.grad_req != "null":
            assert np.isfinite(p.grad(ctx).asnumpy()).all(), p.name
