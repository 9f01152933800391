"""``im2col`` / ``col2im`` (``mxplug/ops/im2col.py``) and Pooling's ``pooling_convention='same'``
(``mxplug/ops/conv.py``): values MXNet 1.9.1 computed (recorded as literals), the adjoint identity
<im2col(x), y> == <x, col2im(y)>, gradients (each op the other's), mx.sym use and symbol JSON
MXNet wrote, errors; value tests on every backend through ``ctx``.

MXNet 1.9.1's CPU im2col/col2im kernels fail for 1-D and 3-D blocks (an index error / a shape
mismatch) although they are documented and shape-inferred, so 1-D and 3-D are checked against
2-D im2col and against Convolution instead. Its 'same' pooling is 1-D only and passes its own
check only with pad=(0, 0, 0); its values below came from its native kernel
(MXNET_MKLDNN_ENABLED=0; its oneDNN path rejects that pad)."""
from __future__ import annotations

import json

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.base import MXNetError

TOL = dict(rtol=1e-10, atol=1e-12)


def _need(ctx, dtype):
    if dtype not in ctx.backend.dtypes:
        pytest.skip(f"{ctx} has no {dtype}")


def nd(x, ctx, dtype="float32"):
    return mx.nd.array(np.asarray(x, dtype=dtype), ctx=ctx, dtype=dtype)


# -- im2col / col2im: MXNet 1.9.1's values -------------------------------------------------------
def test_values_match_mxnet(ctx):
    x = nd(np.arange(24).reshape(1, 2, 3, 4), ctx)
    r = mx.nd.im2col(x, kernel=(2, 2), stride=(1, 2), pad=(1, 0))
    assert r.shape == (1, 8, 8) and r.dtype == np.float32
    assert r.asnumpy().tolist() == [[
        [0, 0, 0, 2, 4, 6, 8, 10], [0, 0, 1, 3, 5, 7, 9, 11], [0, 2, 4, 6, 8, 10, 0, 0],
        [1, 3, 5, 7, 9, 11, 0, 0], [0, 0, 12, 14, 16, 18, 20, 22],
        [0, 0, 13, 15, 17, 19, 21, 23], [12, 14, 16, 18, 20, 22, 0, 0],
        [13, 15, 17, 19, 21, 23, 0, 0]]]
    r = mx.nd.im2col(nd(np.arange(20).reshape(1, 1, 4, 5), ctx), kernel=(2, 2), dilate=(2, 2),
                     pad=(0, 1))
    assert r.asnumpy().tolist() == [[
        [0, 0, 1, 2, 3, 0, 5, 6, 7, 8], [1, 2, 3, 4, 0, 6, 7, 8, 9, 0],
        [0, 10, 11, 12, 13, 0, 15, 16, 17, 18], [11, 12, 13, 14, 0, 16, 17, 18, 19, 0]]]
    c = mx.nd.col2im(nd(np.arange(16).reshape(1, 4, 4), ctx), output_size=(3, 4),
                     kernel=(2, 2), stride=(1, 2))
    assert c.shape == (1, 1, 3, 4)
    assert c.asnumpy().tolist() == [[[[0, 4, 1, 5], [10, 18, 12, 20], [10, 14, 11, 15]]]]
    # col2im of ones counts the blocks covering each position
    c = mx.nd.col2im(mx.nd.ones((1, 6, 9), ctx=ctx), output_size=(4, 5), kernel=(2, 3))
    assert c.asnumpy().tolist() == [[[[1, 2, 3, 2, 1], [2, 4, 6, 4, 2], [2, 4, 6, 4, 2],
                                      [1, 2, 3, 2, 1]]]]
    c = mx.nd.col2im(mx.nd.ones((1, 4, 16), ctx=ctx), output_size=(3, 4), kernel=(2, 2),
                     dilate=(1, 2), pad=(1, 1))
    assert c.asnumpy().tolist() == [[[[2, 4, 4, 2]] * 3]]
    c = mx.nd.col2im(mx.nd.ones((1, 6, 9), ctx=ctx), output_size=(5, 5), kernel=(2, 3),
                     stride=(2, 2), pad=(1, 1))
    assert c.asnumpy().tolist() == [[[[1, 2, 1, 2, 1]] * 5]]


def test_dtypes_follow_the_data():
    for dt in ("float16", "float64"):
        x = mx.nd.ones((2, 3, 4, 4), dtype=dt)
        assert mx.nd.im2col(x, kernel=(2, 2)).dtype == np.dtype(dt)
        assert mx.nd.col2im(mx.nd.ones((2, 12, 9), dtype=dt), output_size=(4, 4),
                            kernel=(2, 2)).dtype == np.dtype(dt)


def test_1d_and_3d_agree_with_2d_and_convolution(ctx):
    _need(ctx, "float64")
    rng = np.random.default_rng(3)
    x1 = rng.uniform(-1, 1, (2, 3, 9))
    got = mx.nd.im2col(nd(x1, ctx, "float64"), kernel=(3,), stride=(2,), dilate=(2,), pad=(1,))
    as_2d = mx.nd.im2col(nd(x1[:, :, None, :], ctx, "float64"), kernel=(1, 3), stride=(1, 2),
                         dilate=(1, 2), pad=(0, 1))
    np.testing.assert_allclose(got.asnumpy(), as_2d.asnumpy(), **TOL)
    # Convolution is (num_filter, C*prod(kernel)) @ im2col(x): a 3-D check
    x3, w = rng.uniform(-1, 1, (2, 2, 4, 5, 3)), rng.uniform(-1, 1, (3, 2, 2, 3, 2))
    win = dict(kernel=(2, 3, 2), stride=(1, 2, 1), dilate=(2, 1, 1), pad=(1, 0, 1))
    cols = mx.nd.im2col(nd(x3, ctx, "float64"), **win).asnumpy()
    conv = mx.nd.Convolution(nd(x3, ctx, "float64"), nd(w, ctx, "float64"), num_filter=3,
                             no_bias=True, **win).asnumpy()
    np.testing.assert_allclose(np.matmul(w.reshape(3, -1), cols), conv.reshape(2, 3, -1), **TOL)


_WINDOWS = [((2, 3, 7), dict(kernel=(3,), stride=(2,), pad=(2,))),
            ((2, 2, 6, 5), dict(kernel=(3, 2), stride=(2, 1), dilate=(1, 2), pad=(1, 1))),
            ((1, 2, 4, 3, 5), dict(kernel=(2, 2, 3), stride=(2, 1, 2), pad=(0, 1, 1)))]


def test_adjoint_identity(ctx):
    """<im2col(x), y> == <x, col2im(y)>: col2im is im2col's adjoint (1-D, 2-D, 3-D)."""
    _need(ctx, "float64")
    rng = np.random.default_rng(5)
    for shape, win in _WINDOWS:
        x = rng.uniform(-1, 1, shape)
        cols = mx.nd.im2col(nd(x, ctx, "float64"), **win)
        y = rng.uniform(-1, 1, cols.shape)
        back = mx.nd.col2im(nd(y, ctx, "float64"), output_size=shape[2:], **win)
        assert back.shape == shape
        lhs, rhs = np.sum(cols.asnumpy() * y), np.sum(x * back.asnumpy())
        assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs)), (win, lhs, rhs)


def test_gradients_are_each_other(ctx):
    _need(ctx, "float64")
    rng = np.random.default_rng(7)
    shape, win = _WINDOWS[1]
    x = nd(rng.uniform(-1, 1, shape), ctx, "float64")
    cshape = mx.nd.im2col(x, **win).shape
    g, v = nd(rng.uniform(-1, 1, cshape), ctx, "float64"), nd(rng.uniform(-1, 1, shape), ctx,
                                                                "float64")
    x.attach_grad()
    with autograd.record():
        y = mx.nd.im2col(x, **win)
    y.backward(g)
    want = mx.nd.col2im(g, output_size=shape[2:], **win).asnumpy()
    np.testing.assert_allclose(x.grad.asnumpy(), want, **TOL)
    g.attach_grad()
    with autograd.record():
        z = mx.nd.col2im(g, output_size=shape[2:], **win)
    z.backward(v)
    np.testing.assert_allclose(g.grad.asnumpy(), mx.nd.im2col(v, **win).asnumpy(), **TOL)
    # second order: d/dx <grad_x sum(im2col(x)^2), v> = 2 col2im(im2col(v))
    with autograd.record():
        y = mx.nd.im2col(x, **win)
        (gx,) = autograd.grad((y * y).sum(), [x], create_graph=True)
        s = (gx * v).sum()
    s.backward()
    want = 2 * mx.nd.col2im(mx.nd.im2col(v, **win), output_size=shape[2:], **win).asnumpy()
    np.testing.assert_allclose(x.grad.asnumpy(), want, **TOL)


def test_1x1_kernel_result_owns_its_memory():
    x = mx.nd.array(np.arange(12.0).reshape(1, 3, 2, 2))
    r = mx.nd.im2col(x, kernel=(1, 1))
    assert r.asnumpy().tolist() == [[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]]
    r[:] = -1
    assert x.asnumpy().ravel().tolist() == list(range(12))


# -- mx.sym ---------------------------------------------------------------------------------------
#: ``mx.sym.col2im(mx.sym.im2col(d, kernel=(2, 2), stride=(1, 2), name='a'), output_size=(4, 5),
#: kernel=(2, 2), stride=(1, 2), name='b').tojson()`` from MXNet 1.9.1 (nodes only)
_MX_JSON = {"nodes": [
    {"op": "null", "name": "d", "inputs": []},
    {"op": "im2col", "name": "a", "attrs": {"kernel": "(2, 2)", "stride": "(1, 2)"},
     "inputs": [[0, 0, 0]]},
    {"op": "col2im", "name": "b", "attrs": {"kernel": "(2, 2)", "output_size": "(4, 5)",
                                            "stride": "(1, 2)"}, "inputs": [[1, 0, 0]]}],
    "arg_nodes": [0], "node_row_ptr": [0, 1, 2, 3], "heads": [[2, 0, 0]],
    "attrs": {"mxnet_version": ["int", 10901]}}


def test_symbol():
    s = mx.sym.im2col(mx.sym.var("data"), kernel=(2, 2), name="i2c")
    assert s.list_arguments() == ["data"]
    assert s.infer_shape(data=(2, 3, 4, 4)) == ([(2, 3, 4, 4)], [(2, 12, 9)], [])
    c = mx.sym.col2im(mx.sym.var("data"), output_size=(4, 4), kernel=(2, 2))
    assert c.infer_shape(data=(2, 12, 9)) == ([(2, 12, 9)], [(2, 3, 4, 4)], [])
    node = json.loads(s.tojson())["nodes"][1]
    assert node["op"] == "im2col" and node["attrs"] == {"kernel": "(2, 2)"}

    loaded = mx.sym.load_json(json.dumps(_MX_JSON))
    assert loaded.infer_shape(d=(2, 3, 4, 5)) == ([(2, 3, 4, 5)], [(2, 3, 4, 5)], [])
    x = np.ones((1, 1, 4, 5))
    out = loaded.eval(d=mx.nd.array(x))[0].asnumpy()
    # each position times the number of (2, 2) blocks at stride (1, 2) covering it
    assert out[0, 0].tolist() == [[1, 1, 1, 1, 0], [2, 2, 2, 2, 0], [2, 2, 2, 2, 0],
                                  [1, 1, 1, 1, 0]]


# -- errors ---------------------------------------------------------------------------------------
_ERRORS = [
    (lambda: mx.nd.im2col(mx.nd.ones((2, 3, 4, 4, 4, 4)), kernel=(2, 2, 2, 2)),
     r"im2col: Expect: len\(kernel\) in \(1, 2, 3\)"),
    (lambda: mx.nd.im2col(mx.nd.ones((2, 3, 4, 4))), r"im2col: Expect: len\(kernel\)"),
    (lambda: mx.nd.im2col(mx.nd.ones((2, 3, 4, 4)), kernel=(2,)),
     r"im2col: Expect: data of ndim 3 for a 1-D kernel .* Actual: data.shape=\(2, 3, 4, 4\)"),
    (lambda: mx.nd.im2col(mx.nd.ones((2, 3, 4, 4)), kernel=(3, 3), dilate=(2, 1)),
     r"im2col: Expect: a dilated kernel of extent \(5, 3\) .* within the padded input \(4, 4\)"),
    (lambda: mx.nd.im2col(mx.nd.ones((2, 3, 4, 4)), kernel=(2, 2), stride=(1,)),
     r"im2col: Expect: len\(stride\) == len\(kernel\) == 2"),
    (lambda: mx.nd.im2col(mx.nd.ones((2, 3, 4, 4)), kernel=(2, 2), stride=(0, 1)),
     r"im2col: Expect: kernel, stride, dilate > 0 and pad >= 0"),
    (lambda: mx.nd.im2col(mx.nd.ones((2, 3, 4, 4)), kernel=(2, 2), pad=(-1, 0)),
     r"im2col: Expect: kernel, stride, dilate > 0 and pad >= 0"),
    (lambda: mx.nd.im2col(mx.nd.ones((2, 3, 4, 4), dtype="int32"), kernel=(2, 2)),
     r"im2col: Expect: float16, float32 or float64 data .* Actual: data.dtype=int32"),
    (lambda: mx.nd.col2im(mx.nd.ones((2, 13, 12)), output_size=(4, 5), kernel=(2, 2)),
     r"col2im: Expect: data of shape \(N, C \* 4, 12\)"),
    (lambda: mx.nd.col2im(mx.nd.ones((2, 12, 11)), output_size=(4, 5), kernel=(2, 2)),
     r"col2im: Expect: data of shape \(N, C \* 4, 12\).* Actual: data.shape=\(2, 12, 11\)"),
    (lambda: mx.nd.col2im(mx.nd.ones((2, 12, 12, 1)), output_size=(4, 5), kernel=(2, 2)),
     r"col2im: Expect: data of shape \(N, C \* prod\(kernel\), L\)"),
    (lambda: mx.nd.col2im(mx.nd.ones((2, 12, 12)), output_size=(4,), kernel=(2, 2)),
     r"col2im: Expect: len\(output_size\) == len\(kernel\) == 2"),
    (lambda: mx.nd.col2im(mx.nd.ones((2, 12, 12)), output_size=(1, 5), kernel=(2, 2)),
     r"col2im: Expect: a dilated kernel .* within the padded output_size \(1, 5\)"),
    (lambda: mx.nd.col2im(mx.nd.ones((2, 12, 12), dtype="int32"), output_size=(4, 5),
                          kernel=(2, 2)), r"col2im: Expect: float16, float32 or float64"),
    (lambda: mx.sym.im2col(mx.sym.var("d"), kernel=(5, 5)).infer_shape(d=(1, 1, 4, 4)),
     r"im2col: Expect: a dilated kernel"),
]


@pytest.mark.parametrize("call,match", _ERRORS, ids=[str(i) for i in range(len(_ERRORS))])
def test_errors(call, match):
    with pytest.raises(MXNetError, match=match):
        call()


# -- Pooling, pooling_convention='same' -----------------------------------------------------------
_X = [3.0, -1, 4, 1, -5, 9, 2, -6, 5]
#: MXNet 1.9.1's Pooling(x, kernel, stride, pad=(0, 0, 0), pooling_convention='same') of _X
#: (the same with count_include_pad=False; lp with p_value=2, rounded to 4 places)
_MX_SAME = {
    ("max", 3, 1): [4, 4, 4, 9, 9, 9, 5, 5, 5], ("max", 3, 2): [4, 4, 9, 5, 5],
    ("max", 2, 3): [3, 1, 2], ("max", 4, 3): [4, 9, 5], ("max", 1, 2): [3, 4, -5, 2, 5],
    ("max", 9, 1): [9, 9, 9, 9, 9, 9, 5, 5, 5],
    ("avg", 3, 1): [2, 1.3333, 0, 1.6667, 2, 1.6667, 0.3333, -0.5, 5],
    ("avg", 2, 3): [1, -2, -2], ("avg", 4, 3): [1.75, 1.75, 0.3333],
    ("sum", 3, 2): [6, 0, 6, 1, 5], ("sum", 4, 3): [7, 7, 1],
    ("lp", 3, 2): [5.099, 6.4807, 10.4881, 8.0623, 5], ("lp", 4, 3): [5.1962, 10.5357, 8.0623],
}


@pytest.mark.parametrize("cip", [True, False])
def test_same_pooling_matches_mxnet(ctx, cip):
    x = nd(np.reshape(_X, (1, 1, 9)), ctx)
    for (ptype, k, s), want in _MX_SAME.items():
        pad = (0, 0, 0) if k % 2 else ()      # MXNet's spelling and mxplug's default alike
        got = mx.nd.Pooling(x, kernel=(k,), stride=(s,), pad=pad, pool_type=ptype, p_value=2,
                            pooling_convention="same", count_include_pad=cip)
        assert got.shape == (1, 1, len(want))
        np.testing.assert_allclose(got.asnumpy().ravel(), want, atol=1e-4,
                                   err_msg=f"{ptype} kernel={k} stride={s}")


def test_same_pooling_gradient_matches_mxnet(ctx):
    # MXNet 1.9.1: x.grad after Pooling(x, kernel=(4,), stride=(3,), 'same').backward([1, 2, 3])
    want = {"max": [0, 0, 1, 0, 0, 2, 0, 0, 3],
            "avg": [0.25, 0.25, 0.25, 0.75, 0.5, 0.5, 1.5, 1, 1]}
    for ptype, grad in want.items():
        x = nd(np.reshape(_X, (1, 1, 9)), ctx)
        x.attach_grad()
        with autograd.record():
            y = mx.nd.Pooling(x, kernel=(4,), stride=(3,), pooling_convention="same",
                              pool_type=ptype)
        y.backward(nd([[[1.0, 2.0, 3.0]]], ctx))
        np.testing.assert_allclose(x.grad.asnumpy().ravel(), grad, rtol=1e-6)


def test_same_pooling_layouts_global_and_symbol():
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 9))
    first = mx.nd.Pooling(mx.nd.array(x), kernel=(3,), stride=(2,), pooling_convention="same")
    last = mx.nd.Pooling(mx.nd.array(x.transpose(0, 2, 1)), kernel=(3,), stride=(2,),
                         pooling_convention="same", layout="NWC")
    assert first.shape == (2, 3, 5)
    np.testing.assert_allclose(last.asnumpy().transpose(0, 2, 1), first.asnumpy())
    # global pooling ignores the convention (MXNet 1.9.1: (1, 1, 1), the mean 4/3)
    g = mx.nd.Pooling(mx.nd.array(np.reshape(_X, (1, 1, 9))), kernel=(3,), global_pool=True,
                      pool_type="avg", pooling_convention="same")
    np.testing.assert_allclose(g.asnumpy(), [[[4 / 3]]], rtol=1e-6)
    # Pooling JSON node as MXNet 1.9.1 writes it, pad (0, 0, 0) included
    node = {"op": "Pooling", "name": "pool", "attrs": {
        "kernel": "(3,)", "pad": "(0, 0, 0)", "pool_type": "avg", "pooling_convention": "same",
        "stride": "(2,)"}, "inputs": [[0, 0, 0]]}
    sym = mx.sym.load_json(json.dumps({
        "nodes": [{"op": "null", "name": "d", "inputs": []}, node], "arg_nodes": [0],
        "node_row_ptr": [0, 1, 2], "heads": [[1, 0, 0]],
        "attrs": {"mxnet_version": ["int", 10901]}}))
    assert sym.infer_shape(d=(2, 3, 9)) == ([(2, 3, 9)], [(2, 3, 5)], [])


_POOL_ERRORS = [
    (dict(data=(1, 1, 5, 5), kernel=(2, 2)), r"Pooling: Expect: 1-D pooling \(data \(N, C, W\)\) "
     r"and pad 0 for pooling_convention='same' / Actual: data.shape=\(1, 1, 5, 5\)"),
    (dict(data=(1, 1, 5, 4), global_pool=True), r"Pooling: Expect: 1-D pooling"),
    (dict(data=(1, 1, 5), kernel=(2,), pad=(1,)), r"Actual: data.shape=\(1, 1, 5\), pad=\(1,\)"),
    (dict(data=(1, 1, 5), kernel=(6,)), r"Pooling: Expect: kernel \(6,\) <= padded input \(5,\)"),
    # every convention (MXNet 1.9.1 checks it for 'full' as well)
    (dict(data=(1, 1, 3, 3), kernel=(4, 4), stride=(2, 2), pooling_convention="full"),
     r"Pooling: Expect: kernel \(4, 4\) <= padded input \(3, 3\)"),
]


@pytest.mark.parametrize("kw,match", _POOL_ERRORS, ids=[str(i) for i in range(len(_POOL_ERRORS))])
def test_same_pooling_errors(kw, match):
    kw = {"pooling_convention": "same", **kw}
    with pytest.raises(MXNetError, match=match):
        mx.nd.Pooling(mx.nd.ones(kw.pop("data")), **kw)


def test_gluon_pooling_ceil_mode_unchanged():
    """Gluon's pools map ceil_mode to 'full'/'valid' (values from MXNet 1.9.1)."""
    from mxplug.gluon import nn
    x = mx.nd.array(np.arange(36.0).reshape(1, 1, 6, 6))
    assert nn.MaxPool2D(3, 2)(x).asnumpy().tolist() == [[[[14, 16], [26, 28]]]]
    assert nn.MaxPool2D(3, 2, ceil_mode=True)(x).asnumpy().tolist() == [
        [[[14, 16, 17], [26, 28, 29], [32, 34, 35]]]]
    y = mx.nd.array(np.arange(5.0).reshape(1, 1, 5))
    assert nn.AvgPool1D(2, 2)(y).asnumpy().tolist() == [[[0.5, 2.5]]]
    assert nn.AvgPool1D(2, 2, ceil_mode=True)(y).asnumpy().tolist() == [[[0.5, 2.5, 4.0]]]
