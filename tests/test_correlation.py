"""``Correlation`` (FlowNet) against a line-by-line loop transcription of MXNet 1.x's CPU
implementation (``src/operator/correlation.cc``: ``AddPad``, ``CorrelationForward``,
``CorrelationBackward`` with the shapes of ``correlation-inl.h``), forward and gradients, eager
and through Symbol executors, on every backend; and its errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.base import MXNetError, MXNetNotImplementedError


def _params(shape, kernel_size=1, max_displacement=1, stride1=1, stride2=1, pad_size=0):
    """MXNet's InferShape / Forward set-up: (top_channels, top_height, top_width, grid radius,
    grid width)."""
    paddedbottomheight = shape[2] + 2 * pad_size
    paddedbottomwidth = shape[3] + 2 * pad_size
    kernel_radius = (kernel_size - 1) // 2
    border_size = max_displacement + kernel_radius
    top_width = math.ceil((paddedbottomwidth - border_size * 2) / stride1)
    top_height = math.ceil((paddedbottomheight - border_size * 2) / stride1)
    neighborhood_grid_radius = max_displacement // stride2
    neighborhood_grid_width = neighborhood_grid_radius * 2 + 1
    top_channels = neighborhood_grid_width * neighborhood_grid_width
    return top_channels, top_height, top_width, neighborhood_grid_radius, neighborhood_grid_width


def _add_pad(original, pad_size):
    n, c, h, w = original.shape
    out = np.zeros((n, h + 2 * pad_size, w + 2 * pad_size, c))
    for nbatch in range(n):
        for channel in range(c):
            for y in range(h):
                for x in range(w):
                    out[nbatch][y + pad_size][x + pad_size][channel] = \
                        original[nbatch][channel][y][x]
    return out


def mxnet_forward(data1, data2, kernel_size=1, max_displacement=1, stride1=1, stride2=1,
                  pad_size=0, is_multiply=True):
    top_channels, top_height, top_width, radius, grid = _params(
        data1.shape, kernel_size, max_displacement, stride1, stride2, pad_size)
    bnum, bchannels = data1.shape[:2]
    sumelems = kernel_size * kernel_size * bchannels
    tmp1, tmp2 = _add_pad(data1, pad_size), _add_pad(data2, pad_size)
    out = np.zeros((bnum, top_channels, top_height, top_width))
    for i in range(top_height):
        for j in range(top_width):
            for nbatch in range(bnum):
                x1 = j * stride1 + max_displacement
                y1 = i * stride1 + max_displacement
                for top_channel in range(top_channels):
                    s2o = (top_channel % grid - radius) * stride2
                    s2p = (top_channel // grid - radius) * stride2
                    x2 = x1 + s2o
                    y2 = y1 + s2p
                    for h in range(kernel_size):
                        for w in range(kernel_size):
                            for channel in range(bchannels):
                                if is_multiply:
                                    out[nbatch][top_channel][i][j] += \
                                        tmp1[nbatch][y1 + h][x1 + w][channel] * \
                                        tmp2[nbatch][y2 + h][x2 + w][channel]
                                else:
                                    out[nbatch][top_channel][i][j] += abs(
                                        tmp1[nbatch][y1 + h][x1 + w][channel]
                                        - tmp2[nbatch][y2 + h][x2 + w][channel])
                    out[nbatch][top_channel][i][j] /= sumelems
    return out


def mxnet_backward(out_grad, data1, data2, kernel_size=1, max_displacement=1, stride1=1,
                   stride2=1, pad_size=0, is_multiply=True):
    top_channels, top_height, top_width, radius, grid = _params(
        data1.shape, kernel_size, max_displacement, stride1, stride2, pad_size)
    num, channels, height, width = data1.shape
    sumelems = kernel_size * kernel_size * channels
    tmp1, tmp2 = _add_pad(data1, pad_size), _add_pad(data2, pad_size)
    in_grad1, in_grad2 = np.zeros(data1.shape), np.zeros(data2.shape)
    for i in range(top_height):
        for j in range(top_width):
            for nbatch in range(num):
                x1 = j * stride1 + max_displacement
                y1 = i * stride1 + max_displacement
                for top_channel in range(top_channels):
                    s2o = (top_channel % grid - radius) * stride2
                    s2p = (top_channel // grid - radius) * stride2
                    x2 = x1 + s2o
                    y2 = y1 + s2p
                    g = out_grad[nbatch][top_channel][i][j]
                    for h in range(kernel_size):
                        for w in range(kernel_size):
                            for channel in range(channels):
                                v1 = tmp1[nbatch][y1 + h][x1 + w][channel]
                                v2 = tmp2[nbatch][y2 + h][x2 + w][channel]
                                in1 = (y1 + h - pad_size >= 0 and x1 + w - pad_size >= 0
                                       and y1 + h < height + pad_size
                                       and x1 + w < width + pad_size)
                                in2 = (y2 + h - pad_size >= 0 and x2 + w - pad_size >= 0
                                       and y2 + h < height + pad_size
                                       and x2 + w < width + pad_size)
                                if is_multiply:
                                    d1, d2 = g * v2 / sumelems, g * v1 / sumelems
                                else:
                                    sign = 1.0 if v1 >= v2 else -1.0
                                    d1, d2 = g * sign / sumelems, -g * sign / sumelems
                                if in1:
                                    in_grad1[nbatch][channel][y1 + h - pad_size][
                                        x1 + w - pad_size] += d1
                                if in2:
                                    in_grad2[nbatch][channel][y2 + h - pad_size][
                                        x2 + w - pad_size] += d2
    return in_grad1, in_grad2


CASES = [
    ((2, 3, 5, 6), dict()),                                         # MXNet's defaults
    ((1, 2, 7, 8), dict(kernel_size=3, max_displacement=2, pad_size=2)),
    ((2, 2, 9, 7), dict(kernel_size=1, max_displacement=4, stride1=2, stride2=2, pad_size=4)),
    ((1, 3, 8, 9), dict(kernel_size=3, max_displacement=3, stride1=3, stride2=2, pad_size=1)),
    ((2, 2, 6, 6), dict(kernel_size=3, max_displacement=1, pad_size=1, is_multiply=False)),
    ((1, 2, 10, 11), dict(max_displacement=4, stride1=3, is_multiply=False)),
]


def _data(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, shape), rng.uniform(-1, 1, shape)


def _nd(a, ctx):
    return mx.nd.array(a, ctx=ctx, dtype="float64")


@pytest.mark.parametrize("shape,attrs", CASES)
def test_forward_and_gradients_match_mxnet_loops(ctx, shape, attrs):
    d1, d2 = _data(shape)
    want = mxnet_forward(d1, d2, **attrs)
    a, b = _nd(d1, ctx), _nd(d2, ctx)
    a.attach_grad()
    b.attach_grad()
    with autograd.record():
        out = mx.nd.Correlation(a, b, **attrs)
    assert out.shape == want.shape and out.dtype == np.float64
    np.testing.assert_allclose(out.asnumpy(), want, rtol=1e-10, atol=1e-12)
    head = np.random.default_rng(1).uniform(-1, 1, want.shape)
    out.backward(_nd(head, ctx))
    g1, g2 = mxnet_backward(head, d1, d2, **attrs)
    np.testing.assert_allclose(a.grad.asnumpy(), g1, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad.asnumpy(), g2, rtol=1e-10, atol=1e-12)


def test_float32_and_defaults(ctx):
    d1, d2 = _data((1, 4, 4, 5), seed=3)
    out = mx.nd.Correlation(mx.nd.array(d1, ctx=ctx), mx.nd.array(d2, ctx=ctx))
    assert out.dtype == np.float32 and out.shape == (1, 9, 2, 3)  # max_displacement 1, no pad
    np.testing.assert_allclose(out.asnumpy(), mxnet_forward(d1, d2), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape,attrs,top", [
    ((1, 1, 10, 10), dict(max_displacement=4, stride1=3), (81, 1, 1)),
    ((2, 5, 12, 16), dict(kernel_size=3, max_displacement=5, stride2=2, pad_size=3), (25, 6, 10)),
    ((1, 1, 6, 9), dict(max_displacement=2, stride1=4, stride2=3), (1, 1, 2)),
])
def test_output_shape_formula(shape, attrs, top):
    out = mx.sym.Correlation(mx.sym.var("a"), mx.sym.var("b"), **attrs)
    _, outs, _ = out.infer_shape(a=shape, b=shape)
    assert outs == [(shape[0],) + top]
    assert top == _params(shape, **attrs)[:3]


def test_symbol_executor_matches_mxnet_loops(ctx):
    shape, attrs = (2, 2, 7, 7), dict(kernel_size=3, max_displacement=2, stride2=2, pad_size=1)
    sym = mx.sym.Correlation(mx.sym.var("a"), mx.sym.var("b"), **attrs)
    assert sym.list_arguments() == ["a", "b"] and len(sym.list_outputs()) == 1
    d1, d2 = _data(shape, seed=5)
    ex = sym.simple_bind(ctx, a=shape, b=shape)
    ex.arg_dict["a"][:] = mx.nd.array(d1, ctx=ctx)
    ex.arg_dict["b"][:] = mx.nd.array(d2, ctx=ctx)
    out = ex.forward(is_train=True)[0]
    want = mxnet_forward(d1, d2, **attrs)
    np.testing.assert_allclose(out.asnumpy(), want, rtol=1e-5, atol=1e-6)
    head = np.random.default_rng(6).uniform(-1, 1, want.shape)
    ex.backward(mx.nd.array(head, ctx=ctx))
    g1, g2 = mxnet_backward(head, d1, d2, **attrs)
    np.testing.assert_allclose(ex.grad_dict["a"].asnumpy(), g1, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ex.grad_dict["b"].asnumpy(), g2, rtol=1e-4, atol=1e-6)


def test_second_derivative():
    # is_multiply: the gradient is bilinear again, so its derivative exists (checked against
    # finite differences by the generic suite); absolute differences: not implemented
    d1, d2 = _data((1, 2, 5, 5), seed=7)
    for mult in (True, False):
        a = mx.nd.array(d1, dtype="float64")
        a.attach_grad()
        with autograd.record():
            out = mx.nd.Correlation(a, mx.nd.array(d2, dtype="float64"), kernel_size=3,
                                    pad_size=1, is_multiply=mult)
            (g,) = autograd.grad([mx.nd.sum(out * out)], [a], create_graph=True)
            h = mx.nd.sum(g * g)
        if mult:
            h.backward()
            assert np.all(np.isfinite(a.grad.asnumpy()))
        else:
            with pytest.raises(MXNetNotImplementedError, match="is_multiply=False"):
                h.backward()


@pytest.mark.parametrize("shapes,attrs,match", [
    (((1, 2, 5, 5), (1, 2, 5, 5)), dict(kernel_size=2), "an odd kernel_size > 0 / Actual: "
                                                         "kernel_size=2"),
    (((1, 2, 5, 5), (1, 2, 5, 6)), {}, r"data2.shape == data1.shape \(1, 2, 5, 5\)"),
    (((2, 5, 5), (2, 5, 5)), {}, r"data1 of ndim 4 \(N, C, H, W\)"),
    (((1, 1, 5, 5), (1, 1, 5, 5)), dict(max_displacement=3), r"inside the padded input "
                                                             r"\(5, 5\) / Actual: output size"),
    (((1, 1, 5, 5), (1, 1, 5, 5)), dict(stride2=0), "stride1, stride2 > 0"),
])
def test_errors(shapes, attrs, match):
    a, b = (mx.nd.zeros(s) for s in shapes)
    with pytest.raises(MXNetError, match=f"Correlation: Expect: .*{match}"):
        mx.nd.Correlation(a, b, **attrs)
    with pytest.raises(MXNetError, match="Correlation: Expect"):
        mx.sym.Correlation(mx.sym.var("a"), mx.sym.var("b"), **attrs).infer_shape(
            a=shapes[0], b=shapes[1])


def test_unknown_attribute_is_an_error():
    with pytest.raises(MXNetError, match="Correlation: unknown attribute 'kernel'"):
        mx.nd.Correlation(mx.nd.zeros((1, 1, 5, 5)), mx.nd.zeros((1, 1, 5, 5)), kernel=3)
