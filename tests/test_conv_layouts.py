"""Channel-last layouts (NWC / NHWC / NDHWC) of Convolution, Deconvolution and Pooling at the op
level, on every backend: results and gradients equal the channel-first ones transposed; weights
are stored as MXNet stores them for the layout; Symbol inference, executors and Gluon's deferred
initialisation see those shapes; bad layouts are clear errors."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.base import MXNetError
from mxplug.ops.call import F

LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}
TOL = dict(rtol=1e-5, atol=1e-5)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape)


def to_last(a):
    return np.moveaxis(a, 1, -1)


def nd(a, ctx):
    return mx.nd.array(a, ctx=ctx, dtype="float64")


# (op, data shape (channel-first), weight shape (channel-first) or None, bias?, attrs)
CASES = [
    ("Convolution", (2, 4, 6, 5), (6, 2, 3, 2), True,
     dict(kernel=(3, 2), num_filter=6, num_group=2, stride=(2, 1), pad=(1, 1))),
    ("Convolution", (2, 3, 7), (4, 3, 3), False,
     dict(kernel=(3,), num_filter=4, dilate=(2,), no_bias=True)),
    ("Convolution", (1, 2, 4, 3, 4), (3, 2, 2, 2, 2), True,
     dict(kernel=(2, 2, 2), num_filter=3, pad=(1, 0, 1))),
    ("Deconvolution", (2, 4, 3, 4), (4, 3, 3, 3), True,
     dict(kernel=(3, 3), num_filter=6, num_group=2, stride=(2, 2), pad=(1, 1), adj=(1, 0),
          no_bias=False)),
    ("Deconvolution", (2, 3, 4), (3, 2, 2), False,
     dict(kernel=(2,), num_filter=2, stride=(2,), target_shape=(7,))),
    ("Pooling", (2, 3, 5, 6), None, False,
     dict(kernel=(3, 2), stride=(2, 2), pad=(1, 0), pool_type="avg", count_include_pad=False)),
    ("Pooling", (2, 3, 5, 6), None, False,
     dict(kernel=(2, 2), stride=(2, 2), pooling_convention="full")),
    ("Pooling", (2, 3, 7), None, False, dict(kernel=(3,), pool_type="sum", pad=(1,))),
    ("Pooling", (1, 2, 4, 3, 4), None, False, dict(global_pool=True, pool_type="avg")),
]
IDS = [f"{op}-{len(shape) - 2}d-{i}" for i, (op, shape, *_) in enumerate(CASES)]


def _inputs(shape, wshape, bias, attrs):
    x = rand(*shape, seed=1)
    arrays = [x] + ([rand(*wshape, seed=2)] if wshape else [])
    if bias:
        arrays.append(rand(attrs["num_filter"], seed=3))
    return arrays


def _last_inputs(arrays):
    return [to_last(a) if a.ndim >= 3 else a for a in arrays]


@pytest.mark.parametrize("op,shape,wshape,bias,attrs", CASES, ids=IDS)
def test_channel_last_equals_transposed_channel_first(ctx, op, shape, wshape, bias, attrs):
    fn = getattr(mx.nd, op)
    arrays = _inputs(shape, wshape, bias, attrs)
    first = fn(*[nd(a, ctx) for a in arrays], **attrs).asnumpy()
    layout = LAST[len(shape) - 2]
    last = fn(*[nd(a, ctx) for a in _last_inputs(arrays)], layout=layout, **attrs)
    assert last.shape == to_last(first).shape
    np.testing.assert_allclose(last.asnumpy(), to_last(first), **TOL)


@pytest.mark.parametrize("op,shape,wshape,bias,attrs", CASES, ids=IDS)
def test_channel_last_gradients_equal_transposed(ctx, op, shape, wshape, bias, attrs):
    fn = getattr(mx.nd, op)
    arrays = _inputs(shape, wshape, bias, attrs)
    layout = LAST[len(shape) - 2]

    def grads(inputs, **extra):
        args = [nd(a, ctx) for a in inputs]
        for a in args:
            a.attach_grad()
        with autograd.record():
            out = fn(*args, **attrs, **extra)
        head = rand(*out.shape, seed=4)
        out.backward(nd(head, ctx))
        return [a.grad.asnumpy() for a in args], head

    gfirst, head = grads(arrays)
    args = [nd(a, ctx) for a in _last_inputs(arrays)]
    for a in args:
        a.attach_grad()
    with autograd.record():
        out = fn(*args, layout=layout, **attrs)
    out.backward(nd(to_last(head), ctx))
    for a, g in zip(args, gfirst):
        np.testing.assert_allclose(a.grad.asnumpy(), to_last(g) if g.ndim >= 3 else g, **TOL)


def test_nhwc_convolution_follows_mxnet_formula(ctx):
    """out[n, y, x, f] = bias[f] + sum over (i, j, c) of data[n, y+i, x+j, c] * w[f, i, j, c]
    (weight (num_filter, *kernel, channels) for NHWC), straight from the definition."""
    x, w, b = rand(2, 5, 6, 3, seed=5), rand(4, 2, 3, 3, seed=6), rand(4, seed=7)
    out = mx.nd.Convolution(nd(x, ctx), nd(w, ctx), nd(b, ctx), kernel=(2, 3), num_filter=4,
                            layout="NHWC").asnumpy()
    ref = np.zeros((2, 4, 4, 4))
    for y in range(4):
        for xx in range(4):
            ref[:, y, xx, :] = np.einsum("nijc,fijc->nf", x[:, y:y + 2, xx:xx + 3, :], w) + b
    np.testing.assert_allclose(out, ref, **TOL)


def test_nhwc_deconvolution_is_the_convolution_adjoint(ctx):
    # <conv(x), y> == <x, deconv(y)> with the same NHWC weight (num_filter, *kernel, channels)
    x, w, y = rand(2, 5, 5, 3, seed=8), rand(4, 3, 3, 3, seed=9), rand(2, 3, 3, 4, seed=10)
    win = dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1), no_bias=True, layout="NHWC")
    cx = mx.nd.Convolution(nd(x, ctx), nd(w, ctx), num_filter=4, **win).asnumpy()
    dy = mx.nd.Deconvolution(nd(y, ctx), nd(w, ctx), num_filter=3, **win).asnumpy()
    assert dy.shape == x.shape
    np.testing.assert_allclose(np.sum(cx * y), np.sum(x * dy), rtol=1e-10)


def test_symbol_inference_gives_mxnet_weight_layouts():
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, kernel=(3, 2), num_filter=8, num_group=2, layout="NHWC",
                              name="c")
    args, outs, _ = conv.infer_shape(data=(2, 7, 6, 4))
    assert dict(zip(conv.list_arguments(), args)) == {
        "data": (2, 7, 6, 4), "c_weight": (8, 3, 2, 2), "c_bias": (8,)}
    assert outs == [(2, 5, 5, 8)]
    deconv = mx.sym.Deconvolution(data, kernel=(3,), num_filter=6, num_group=3, layout="NWC",
                                  stride=(2,), name="d")
    args, outs, _ = deconv.infer_shape(data=(2, 5, 3))
    assert dict(zip(deconv.list_arguments(), args)) == {"data": (2, 5, 3),
                                                        "d_weight": (3, 3, 2)}
    assert outs == [(2, 11, 6)]
    pool = mx.sym.Pooling(data, kernel=(2, 2, 2), stride=(2, 2, 2), layout="NDHWC")
    assert pool.infer_shape(data=(1, 4, 6, 8, 3))[1] == [(1, 2, 3, 4, 3)]
    gpool = mx.sym.Pooling(data, global_pool=True, layout="NHWC")
    assert gpool.infer_shape(data=(2, 5, 4, 3))[1] == [(2, 1, 1, 3)]


def test_nhwc_executor_forward_backward_matches_eager(ctx):
    data = mx.sym.var("data")
    net = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, pad=(1, 1), layout="NHWC",
                             name="c")
    net = mx.sym.Pooling(mx.sym.relu(net), kernel=(2, 2), stride=(2, 2), pool_type="avg",
                         layout="NHWC")
    net = mx.sym.Deconvolution(net, kernel=(2, 2), stride=(2, 2), num_filter=2, layout="NHWC",
                               name="d")
    ex = net.simple_bind(ctx, data=(2, 6, 4, 3))
    shapes = {n: a.shape for n, a in ex.arg_dict.items()}
    assert shapes == {"data": (2, 6, 4, 3), "c_weight": (4, 3, 3, 3), "c_bias": (4,),
                      "d_weight": (4, 2, 2, 2)}
    values = {n: rand(*s, seed=i) for i, (n, s) in enumerate(sorted(shapes.items()))}
    for n, v in values.items():
        ex.arg_dict[n][:] = nd(v, ctx)
    out = ex.forward(is_train=True)[0]
    head = rand(*out.shape, seed=11)
    ex.backward(nd(head, ctx))

    args = {n: nd(v, ctx) for n, v in values.items()}
    for a in args.values():
        a.attach_grad()
    with autograd.record():
        y = mx.nd.Convolution(args["data"], args["c_weight"], args["c_bias"], kernel=(3, 3),
                              num_filter=4, pad=(1, 1), layout="NHWC")
        y = mx.nd.Pooling(mx.nd.relu(y), kernel=(2, 2), stride=(2, 2), pool_type="avg",
                          layout="NHWC")
        y = mx.nd.Deconvolution(y, args["d_weight"], kernel=(2, 2), stride=(2, 2), num_filter=2,
                                layout="NHWC")
    y.backward(nd(head, ctx))
    np.testing.assert_allclose(out.asnumpy(), y.asnumpy(), rtol=1e-4, atol=1e-5)
    for n, a in args.items():
        np.testing.assert_allclose(ex.grad_dict[n].asnumpy(), a.grad.asnumpy(), rtol=1e-4,
                                   atol=1e-5, err_msg=n)


@pytest.mark.parametrize("cls,n,kw,wshape", [
    ("Conv2D", 2, dict(channels=6, kernel_size=(3, 2), groups=2), (6, 3, 2, 2)),
    ("Conv1D", 1, dict(channels=3, kernel_size=3, strides=2), (3, 3, 4)),
    ("Conv2DTranspose", 2, dict(channels=6, kernel_size=2, strides=2, groups=2), (4, 2, 2, 3)),
    ("Conv3D", 3, dict(channels=2, kernel_size=2), (2, 2, 2, 2, 4)),
])
def test_gluon_channel_last_deferred_init(ctx, cls, n, kw, wshape):
    """No in_channels: the weight's shape comes from the op's params rule for the layout, and
    the layer equals its channel-first twin with the weight transposed."""
    layer = getattr(mx.gluon.nn, cls)(layout=LAST[n], **kw)
    layer.initialize(ctx=ctx)
    x = rand(2, *(5,) * n, 4, seed=12)
    out = layer(nd(x, ctx).astype("float32"))
    assert layer.weight.shape == wshape
    twin = getattr(mx.gluon.nn, cls)(in_channels=4, **kw)
    twin.initialize(ctx=ctx)
    twin.weight.set_data(mx.nd.array(np.moveaxis(layer.weight.data().asnumpy(), -1, 1), ctx=ctx))
    twin.bias.set_data(layer.bias.data())
    ref = twin(mx.nd.array(np.moveaxis(x, -1, 1), ctx=ctx)).asnumpy()
    np.testing.assert_allclose(out.asnumpy(), np.moveaxis(ref, 1, -1), rtol=1e-5, atol=1e-5)
    layer.hybridize()
    np.testing.assert_allclose(layer(nd(x, ctx).astype("float32")).asnumpy(), out.asnumpy(),
                               rtol=1e-5, atol=1e-6)


def _conv(x, w, **kw):
    return mx.nd.Convolution(mx.nd.array(x), mx.nd.array(w), no_bias=True, **kw)


@pytest.mark.parametrize("layout,what", [
    ("NCWH", "layout None, 'NCHW' or 'NHWC' for a 2-D kernel"),
    ("nhwc", "layout None, 'NCHW' or 'NHWC' for a 2-D kernel"),
    ("NCW", "layout None, 'NCHW' or 'NHWC' for a 2-D kernel"),
    ("NDHWC", "layout None, 'NCHW' or 'NHWC' for a 2-D kernel"),
])
def test_unknown_or_mismatched_layouts_are_errors(layout, what):
    with pytest.raises(MXNetError, match=f"Convolution: Expect: {what} / Actual: "
                                         f"layout='{layout}'"):
        _conv(rand(1, 5, 5, 3), rand(4, 3, 3, 3), kernel=(3, 3), num_filter=4, layout=layout)
    with pytest.raises(MXNetError, match=f"Pooling: Expect: {what}"):
        mx.nd.Pooling(mx.nd.array(rand(1, 5, 5, 3)), kernel=(2, 2), layout=layout)
    with pytest.raises(MXNetError, match="Deconvolution: Expect: layout"):
        mx.nd.Deconvolution(mx.nd.array(rand(1, 5, 5, 3)), mx.nd.array(rand(3, 3, 3, 2)),
                            kernel=(3, 3), num_filter=2, layout=layout)
    with pytest.raises(MXNetError, match="Convolution: Expect: layout"):
        mx.sym.Convolution(mx.sym.var("x"), kernel=(3, 3), num_filter=4,
                           layout=layout).infer_shape(x=(1, 5, 5, 3))


def test_channel_last_shape_errors_name_the_layout():
    # a channel-first weight given to an NHWC convolution
    with pytest.raises(MXNetError, match=r"Convolution: Expect: weight.shape == \(4, 3, 3, 3\) "
                                         r"\(num_filter, \*kernel, channels/num_group\) / "
                                         r"Actual: \(4, 3, 3, 2\)"):
        _conv(rand(1, 5, 5, 3), rand(4, 3, 3, 2), kernel=(3, 3), num_filter=4, layout="NHWC")
    with pytest.raises(MXNetError, match=r"Deconvolution: Expect: weight.shape == \(3, 2, 2\) "
                                         r"\(channels, \*kernel, num_filter/num_group\) / "
                                         r"Actual: \(2, 2, 3\)"):
        mx.nd.Deconvolution(mx.nd.array(rand(1, 5, 3)), mx.nd.array(rand(2, 2, 3)),
                            kernel=(2,), num_filter=2, layout="NWC")
    with pytest.raises(MXNetError, match=r"Convolution: Expect: data of ndim 4 for a 2-D kernel "
                                         r"\(3, 3\) \(NHWC\)"):
        _conv(rand(5, 5, 3), rand(4, 3, 3, 3), kernel=(3, 3), num_filter=4, layout="NHWC")
    with pytest.raises(MXNetError, match=r"Pooling: Expect: kernel \(4, 4\) <= padded input "
                                         r"\(3, 5\)"):
        mx.nd.Pooling(mx.nd.array(rand(1, 3, 5, 2)), kernel=(4, 4), layout="NHWC")
    with pytest.raises(MXNetError, match=r"_backward_Pooling: Expect: grad of Pooling's output "
                                         r"shape \(1, 1, 2, 2\)"):
        F._backward_Pooling(mx.nd.array(rand(1, 2, 1, 2)), mx.nd.array(rand(1, 3, 5, 2)),
                            kernel=(2, 2), stride=(2, 2), layout="NHWC")
    with pytest.raises(MXNetError, match=r"_backward_Convolution_weight: Expect: grad of shape "
                                         r"\(1, 3, 3, 4\)"):
        F._backward_Convolution_weight(mx.nd.array(rand(1, 5, 5, 3)),
                                       mx.nd.array(rand(1, 4, 3, 3)), kernel=(3, 3),
                                       num_filter=4, layout="NHWC")


def test_gluon_refuses_layouts_it_does_not_know():
    with pytest.raises(AssertionError, match="'NCHW' and 'NHWC'"):
        mx.gluon.nn.Conv2D(2, 3, layout="NCW")
    with pytest.raises(AssertionError, match="'NCW' and 'NWC'"):
        mx.gluon.nn.MaxPool1D(layout="NHWC")
