"""MXNet 1.x's DeformableConvolution (DCN v1) and ModulatedDeformableConvolution (DCN v2)
(``mxplug/ops/contrib_deformable.py``): values and gradients MXNet 1.9.1 computed (its border rules
probed point by point), agreement with Convolution at zero offsets, second derivatives, Symbol
use, shapes, dtypes and errors."""
from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.testing.checks import numeric_grad

C = mx.nd.contrib


def nd(x, ctx=None, dtype="float64"):
    return mx.nd.array(np.asarray(x, dtype=dtype), ctx=ctx or mx.cpu(), dtype=dtype)


def _need(ctx, dtype):
    if dtype not in ctx.backend.dtypes:
        pytest.skip(f"{ctx} has no {dtype}")


# -- deterministic inputs, built the same way in the MXNet 1.9.1 script that gave the literals ----
def _inputs(n=1, c=2, h=4, w=5, f=3, kh=3, kw=3, dg=1, g=1, ho=4, wo=5, spread=1.7):
    x = np.sin(np.arange(n * c * h * w) * 0.7 + 0.3).reshape(n, c, h, w)
    off = spread * np.sin(np.arange(n * 2 * dg * kh * kw * ho * wo) * 1.37 + 0.1).reshape(
        n, 2 * dg * kh * kw, ho, wo)
    mask = 0.5 + 0.5 * np.cos(np.arange(n * dg * kh * kw * ho * wo) * 0.91).reshape(
        n, dg * kh * kw, ho, wo)
    wt = np.cos(np.arange(f * c // g * kh * kw) * 0.53).reshape(f, c // g, kh, kw)
    return x, off, mask, wt, np.arange(f) * 0.1 - 0.05


def _fingerprint(a):
    """(sum, a dot a fixed non-uniform pattern): what the MXNet script recorded of big arrays."""
    a = np.asarray(a, np.float64)
    return [a.sum(), (a * np.cos(np.arange(a.size) * 0.77).reshape(a.shape)).sum()]


# (version, attrs, input sizes, full output or None, output fingerprint, v1: gradient
# fingerprints for data, offset, weight[, bias] of sum(out * cos(0.3 k))); all from MXNet 1.9.1
ORACLE = [
    (1, dict(kernel=(2, 2), num_filter=2),
     dict(h=3, w=4, f=2, kh=2, kw=2, ho=2, wo=3, spread=1.3),
     [1.2001458301, -0.1668401226, 0.1486484163, -1.1933860949, 0.7478399066, 0.6364473457,
      0.5089170634, 0.3006304805, 0.6683059164, 0.5435292645, -1.0538677679, -0.4188327806],
     [1.9215374576, 1.9780586579],
     [[-9.7125585542, 1.0443134316], [-5.0281077259, 1.0255403067],
      [0.2785849293, -1.7787814371], [-0.5156092949, 0.7117575236]]),
    (1, dict(kernel=(3, 3), pad=(1, 1), num_filter=3), {}, None,
     [7.5906683057, -4.8918263357],
     [[-3.978793623, 1.5763660763], [3.6404316359, -0.0797126374],
      [10.3124408613, 0.6525946908], [-2.314646273, -1.4925025038]]),
    (1, dict(kernel=(3, 3), pad=(1, 1), num_filter=2, stride=(1, 2), num_group=2,
             num_deformable_group=2, no_bias=True),
     dict(c=4, f=2, dg=2, g=2, ho=4, wo=3, spread=2.6),
     [0.0, -0.0398757561, -1.0635080672, 0.0358269062, -0.6220958805, 0.2926141731,
      0.0548628595, -1.2798661065, 0.8999463902, 0.6647521391, 0.5598686556, 0.8996184976,
      0.6329425938, -0.2628486626, -0.2135212761, 1.3064608552, 2.3858753934, 0.2432598719,
      0.3829620068, -0.4083071995, 1.0364538274, 1.2568258219, -0.2210811932, -0.6727350097],
     [5.8684308402, 1.3278311692],
     [[-10.6598523317, 2.4159910514], [-18.4768479043, 4.6654974269],
      [-8.5424711213, 0.4161002107]]),
    (1, dict(kernel=(2, 3), num_filter=2, dilate=(2, 1)),
     dict(n=2, f=2, kh=2, kw=3, ho=2, wo=3, spread=2.2), None,
     [-1.2333138191, 2.383623387],
     [[0.1871514105, 1.3837920522], [0.5294718861, -4.222294163],
      [2.0212917395, 4.8947603785], [2.8215123658, 2.5833144561]]),
    (2, dict(kernel=(2, 2), num_filter=2),
     dict(h=3, w=4, f=2, kh=2, kw=2, ho=2, wo=3, spread=1.3),
     [0.5288270903, 0.0525024141, 0.9531544504, -0.9083901332, -0.074534707, 0.3026362404,
      -0.2144519136, 0.0424163709, 0.768632493, -0.2131387585, -0.2572456305, -0.1809024856],
     [0.7995054306, 1.7565895983], None),
    (2, dict(kernel=(3, 3), pad=(1, 1), num_filter=2, stride=(1, 2), num_group=2,
             num_deformable_group=2, no_bias=True),
     dict(c=4, f=2, dg=2, g=2, ho=4, wo=3, spread=2.6), None,
     [3.2824153736, 0.4889157132], None),
    (2, dict(kernel=(2, 3), num_filter=2, dilate=(2, 1)),
     dict(n=2, f=2, kh=2, kw=3, ho=2, wo=3, spread=2.2),
     [0.6356738433, 0.0499961954, -0.2429060801, 0.4350605332, 0.0436641442, -0.2664244227,
      0.7157734107, 0.1889713169, -0.1348690157, 0.5211786971, 0.174646701, -0.2145496646,
      -0.1290001672, -0.3310820595, -0.1315612864, -0.5597285528, -0.2721898431, -0.3521182269,
      -0.0100560144, -0.1462210258, -0.0071096035, -0.5178911915, -0.2166969133, -0.2390071211],
     [-1.0064463469, 1.0912258237], None),
]


@pytest.mark.parametrize("case", range(len(ORACLE)))
def test_against_mxnet_values_and_gradients(ctx, case):
    _need(ctx, "float64")
    version, attrs, sizes, full, out_fp, grad_fps = ORACLE[case]
    x, off, mask, wt, b = _inputs(**sizes)
    arrays = [x, off] + ([mask] if version == 2 else []) + [wt] + (
        [] if attrs.get("no_bias") else [b])
    args = [nd(a, ctx) for a in arrays]
    for a in args:
        a.attach_grad()
    fn = C.DeformableConvolution if version == 1 else C.ModulatedDeformableConvolution
    with autograd.record():
        y = fn(*args, **attrs)
        head = np.cos(np.arange(y.size) * 0.3).reshape(y.shape)
        loss = mx.nd.sum(y * nd(head, ctx))
    loss.backward()
    got = y.asnumpy()
    if full is not None:
        np.testing.assert_allclose(got.ravel(), full, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(_fingerprint(got), out_fp, rtol=1e-8, atol=1e-9)
    for k, want in enumerate(grad_fps or []):      # MXNet 1.9.1 has no CPU backward for v2
        np.testing.assert_allclose(_fingerprint(args[k].grad.asnumpy()), want, rtol=1e-8,
                                   atol=1e-9, err_msg=f"gradient of input {k}")


# -- the border rules, one sample point per batch item: a 1x1 kernel of weight 1 reads the image
# at (y, x) for output pixel (0, 0); MXNet 1.9.1's value, offset gradient (dy, dx) and data
# gradient (pixel: weight) there
_IMAGE = np.arange(1, 13, dtype=np.float64).reshape(3, 4) ** 1.5
V1_POINTS = [
    ((0, 0), 1.0, [10.18034, 1.828427], {(0, 0): 1.0}),
    ((0.5, 0.25), 6.75829816, [10.602383, 2.672513],
     {(0, 0): 0.375, (0, 1): 0.125, (1, 0): 0.375, (1, 1): 0.125}),
    ((-0.5, 0), 0.0, [0.0, 0.0], {}),
    ((-0.9999, 0.5), 0.0, [0.0, 0.0], {}),
    ((1.5, 0), 19.09016994, [15.81966, 4.069688], {(1, 0): 0.5, (2, 0): 0.5}),
    ((2, 0), 27.0, [0.0, 4.622777], {(2, 0): 1.0}),          # on the last row: flat in y
    ((2.5, 0), 27.0, [0.0, 4.622777], {(2, 0): 1.0}),        # past it: reads it
    ((2.5, 1.5), 34.05282465, [0.0, 4.860096], {(2, 1): 0.5, (2, 2): 0.5}),
    ((2, 3), 41.56921938, [0.0, 0.0], {(2, 3): 1.0}),
    ((2.9999, 0), 27.0, [0.0, 4.622777], {(2, 0): 1.0}),
    ((3, 0), 0.0, [0.0, 0.0], {}),                           # y == H: outside
    ((0, 3.5), 8.0, [14.627417, 0.0], {(0, 3): 1.0}),
    ((0, -0.5), 0.0, [0.0, 0.0], {}),
    ((1.0, 1.5), 16.60859882, [17.444226, 3.823321], {(1, 1): 0.5, (1, 2): 0.5}),
]
# v2 with mask 0.5: bilinear over the zero-padded image
V2_POINTS = [((0, 0), 0.5), ((0.5, 0.25), 3.37914908), ((-0.5, 0), 0.25), ((-0.5, 0.5), 0.47855339),
             ((-1, 0), 0.0), ((-0.9999, 0), 5e-05), ((2.5, 0), 6.75), ((2.5, 1.5), 8.51320616),
             ((2.9999, 0), 0.00135), ((3, 0), 0.0), ((0, 3.5), 2.0), ((-0.5, -0.5), 0.125),
             ((-0.25, 3.25), 2.25)]


def _point_batch(points, ctx):
    n = len(points)
    off = np.zeros((n, 2, 3, 4))
    off[:, :, 0, 0] = [p for p, *_ in points]
    return nd(np.broadcast_to(_IMAGE, (n, 1, 3, 4)), ctx), nd(off, ctx), nd(np.ones((1, 1, 1, 1)),
                                                                           ctx)


def test_v1_border_rule_values_and_gradients(ctx):
    _need(ctx, "float64")
    x, off, w = _point_batch(V1_POINTS, ctx)
    x.attach_grad()
    off.attach_grad()
    with autograd.record():
        y = C.DeformableConvolution(x, off, w, kernel=(1, 1), num_filter=1, no_bias=True)
        loss = mx.nd.sum(mx.nd.slice(y, begin=(None, None, 0, 0), end=(None, None, 1, 1)))
    loss.backward()
    y, gx, goff = y.asnumpy(), x.grad.asnumpy(), off.grad.asnumpy()
    for i, (point, value, gpoint, gdata) in enumerate(V1_POINTS):
        np.testing.assert_allclose(y[i, 0, 0, 0], value, rtol=1e-8, err_msg=str(point))
        np.testing.assert_allclose(goff[i, :, 0, 0], gpoint, rtol=1e-6, atol=1e-6,
                                   err_msg=str(point))
        want = np.zeros((3, 4))
        for pix, v in gdata.items():
            want[pix] = v
        np.testing.assert_allclose(gx[i, 0], want, atol=1e-12, err_msg=str(point))
    assert not goff[:, :, 1:, :].any() and not goff[:, :, :, 1:].any()


def test_v2_border_rule_values(ctx):
    _need(ctx, "float64")
    x, off, w = _point_batch(V2_POINTS, ctx)
    mask = nd(np.full((len(V2_POINTS), 1, 3, 4), 0.5), ctx)
    y = C.ModulatedDeformableConvolution(x, off, mask, w, kernel=(1, 1), num_filter=1,
                                         no_bias=True).asnumpy()
    np.testing.assert_allclose(y[:, 0, 0, 0], [v for _, v in V2_POINTS], rtol=1e-7, atol=1e-12)


def test_v2_gradients_at_the_border_are_the_zero_padded_derivatives():
    """Points in (-1, 0) and (H-1, H): the neighbours outside count 0, and so do their terms."""
    x, off, w = _point_batch([((-0.5, 0.25), None), ((2.25, 3.5), None)], None)
    mask = nd(np.ones((2, 1, 3, 4)))
    for a in (x, off, mask):
        a.attach_grad()
    with autograd.record():
        y = C.ModulatedDeformableConvolution(x, off, mask, w, kernel=(1, 1), num_filter=1,
                                             no_bias=True)
        loss = mx.nd.sum(mx.nd.slice(y, begin=(None, None, 0, 0), end=(None, None, 1, 1)))
    loss.backward()
    a = _IMAGE
    # (-0.5, 0.25): only row 0 is inside, with weight 0.5: value 0.5 * lerp(a00, a01, 0.25)
    lerp0 = 0.75 * a[0, 0] + 0.25 * a[0, 1]
    np.testing.assert_allclose(off.grad.asnumpy()[0, :, 0, 0], [lerp0, 0.5 * (a[0, 1] - a[0, 0])])
    np.testing.assert_allclose(mask.grad.asnumpy()[0, 0, 0, 0], 0.5 * lerp0)
    # (2.25, 3.5): only pixel (2, 3) is inside, with weight 0.75 * 0.5
    np.testing.assert_allclose(off.grad.asnumpy()[1, :, 0, 0], [-0.5 * a[2, 3], -0.75 * a[2, 3]])
    want = np.zeros((3, 4))
    want[2, 3] = 0.375
    np.testing.assert_allclose(x.grad.asnumpy()[1, 0], want)


# -- relations ------------------------------------------------------------------------------------
CONV_CASES = [
    dict(kernel=(3, 3), pad=(1, 1), num_filter=3),
    dict(kernel=(3, 2), stride=(2, 1), dilate=(1, 2), pad=(1, 1), num_filter=4, num_group=2,
         num_deformable_group=2, no_bias=True),
]


@pytest.mark.parametrize("attrs", CONV_CASES, ids=["plain", "grouped"])
def test_zero_offsets_and_unit_mask_give_convolution(attrs):
    rng = np.random.default_rng(3)
    x = nd(rng.uniform(-1, 1, (2, 4, 5, 6)))
    w = nd(rng.uniform(-1, 1, (attrs["num_filter"], 4 // attrs.get("num_group", 1))
                       + attrs["kernel"]))
    extra = [] if attrs.get("no_bias") else [nd(rng.uniform(-1, 1, attrs["num_filter"]))]
    conv_attrs = {k: v for k, v in attrs.items() if k != "num_deformable_group"}
    want = mx.nd.Convolution(x, w, *extra, **conv_attrs).asnumpy()
    dg = attrs.get("num_deformable_group", 1)
    kk = attrs["kernel"][0] * attrs["kernel"][1]
    off = nd(np.zeros((2, 2 * dg * kk) + want.shape[2:]))
    mask = nd(np.ones((2, dg * kk) + want.shape[2:]))
    np.testing.assert_allclose(C.DeformableConvolution(x, off, w, *extra, **attrs).asnumpy(),
                               want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        C.ModulatedDeformableConvolution(x, off, mask, w, *extra, **attrs).asnumpy(), want,
        rtol=1e-12, atol=1e-12)


def test_integer_offsets_shift_the_input():
    """An offset of whole pixels everywhere is a convolution of the shifted image (inside it)."""
    rng = np.random.default_rng(4)
    x = rng.uniform(-1, 1, (1, 2, 6, 7))
    w = nd(rng.uniform(-1, 1, (2, 2, 2, 2)))
    off = np.zeros((1, 8, 5, 6))
    off[:, 0::2], off[:, 1::2] = 2.0, 1.0                    # dy = 2, dx = 1 at every tap
    got = C.DeformableConvolution(nd(x), nd(off), w, kernel=(2, 2), num_filter=2,
                                  no_bias=True).asnumpy()
    want = mx.nd.Convolution(nd(x[:, :, 2:, 1:]), w, kernel=(2, 2), num_filter=2,
                             no_bias=True).asnumpy()
    assert want.shape == (1, 2, 3, 5)
    np.testing.assert_allclose(got[:, :, :3, :5], want, rtol=1e-12, atol=1e-12)
    assert not got[:, :, 4].any()             # every point of the last row lies below the image


@pytest.mark.parametrize("version", [1, 2])
def test_second_derivatives_match_finite_differences(version):
    """The gradient is built from registered ops, so it is differentiable again: the derivative
    of sum(dL/doffset * v) w.r.t. offset (bilinear: the dy dx cross terms) and data."""
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (1, 2, 3, 4))
    off = (rng.integers(-1, 2, (1, 8, 2, 3)) + rng.uniform(0.1, 0.9, (1, 8, 2, 3))
           * rng.choice([-1.0, 1.0], (1, 8, 2, 3)))
    mask = rng.uniform(0, 1, (1, 4, 2, 3))
    w = rng.uniform(-1, 1, (2, 2, 2, 2))
    head, v = rng.uniform(-1, 1, (1, 2, 2, 3)), rng.uniform(-1, 1, off.shape)
    attrs = dict(kernel=(2, 2), num_filter=2, no_bias=True)

    def h(xv, ov, record):
        xs, os = nd(xv), nd(ov)
        for a in (xs, os):
            a.attach_grad()
        with autograd.record():
            ins = [xs, os] + ([nd(mask)] if version == 2 else []) + [nd(w)]
            fn = C.DeformableConvolution if version == 1 else C.ModulatedDeformableConvolution
            loss = mx.nd.sum(fn(*ins, **attrs) * nd(head))
            (g,) = autograd.grad([loss], [os], create_graph=True)
            hv = mx.nd.sum(g * nd(v))
        if record:
            hv.backward()
        return xs, os, hv

    xs, os, _ = h(x, off, True)
    inputs = [x, off]

    def scalar(values):
        return float(h(values[0], values[1], False)[2].asscalar())

    for k, a in enumerate((xs, os)):
        np.testing.assert_allclose(a.grad.asnumpy(), numeric_grad(scalar, inputs, k, 1e-6),
                                   rtol=1e-5, atol=1e-7, err_msg=f"input {k}")
    assert np.abs(os.grad.asnumpy()).max() > 1e-3            # the cross terms are there


# -- dtypes, Symbol, names ------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_lower_precision_follows_float64(dtype):
    x, off, mask, w, b = _inputs()
    want = C.ModulatedDeformableConvolution(*(nd(a) for a in (x, off, mask, w, b)),
                                            kernel=(3, 3), pad=(1, 1), num_filter=3).asnumpy()
    got = C.ModulatedDeformableConvolution(*(nd(a, dtype=dtype) for a in (x, off, mask, w, b)),
                                           kernel=(3, 3), pad=(1, 1), num_filter=3)
    assert got.dtype == np.dtype(dtype)
    tol = 3e-2 if dtype == "float16" else 1e-5
    np.testing.assert_allclose(got.asnumpy().astype(np.float64), want, rtol=tol, atol=tol)


def test_symbol_arguments_inference_and_binding():
    s = mx.sym.contrib.DeformableConvolution(mx.sym.var("data"), mx.sym.var("offset"),
                                             kernel=(3, 3), num_filter=2, name="dc")
    assert s.list_arguments() == ["data", "offset", "dc_weight", "dc_bias"]
    args, outs, _ = s.infer_shape(data=(1, 4, 5, 6), offset=(1, 18, 3, 4))
    assert args == [(1, 4, 5, 6), (1, 18, 3, 4), (2, 4, 3, 3), (2,)] and outs == [(1, 2, 3, 4)]
    s2 = mx.sym.contrib.ModulatedDeformableConvolution(
        mx.sym.var("data"), mx.sym.var("offset"), mx.sym.var("mask"), kernel=(3, 3),
        num_filter=4, num_group=2, no_bias=True, name="mdc")
    assert s2.list_arguments() == ["data", "offset", "mask", "mdc_weight"]
    args, outs, _ = s2.infer_shape(data=(2, 4, 5, 6), offset=(2, 18, 3, 4), mask=(2, 9, 3, 4))
    assert args[3] == (4, 2, 3, 3) and outs == [(2, 4, 3, 4)]
    assert s2.infer_type(data="float64")[1] == [np.float64]
    x, off, mask, w, _ = _inputs(h=5, w=6, f=2, ho=3, wo=4)
    feed = {"data": nd(x), "offset": nd(off), "dc_weight": nd(w), "dc_bias": nd([0.5, -1.0])}
    got = s.bind(mx.cpu(), feed).forward()[0].asnumpy()
    want = C.DeformableConvolution(*feed.values(), kernel=(3, 3), num_filter=2).asnumpy()
    np.testing.assert_array_equal(got, want)
    assert mx.sym.load_json(s2.tojson()).list_arguments() == s2.list_arguments()


# -- errors ---------------------------------------------------------------------------------------
V1, V2 = C.DeformableConvolution, C.ModulatedDeformableConvolution
_X, _O, _M, _W, _B = (1, 4, 5, 6), (1, 18, 3, 4), (1, 9, 3, 4), (2, 4, 3, 3), (2,)
ERRORS = [
    (V1, [_X, _O, _W, _B], dict(kernel=(3,), num_filter=2), r"2-D kernel.*kernel=\(3,\)"),
    (V1, [(1, 4, 5), _O, _W, _B], dict(kernel=(3, 3), num_filter=2), r"data of ndim 4"),
    (V1, [_X, (1, 16, 3, 4), _W, _B], dict(kernel=(3, 3), num_filter=2),
     r"offset of shape \(1, 18, 3, 4\).*offset.shape=\(1, 16, 3, 4\)"),
    (V1, [_X, (1, 27, 3, 4), _W, _B], dict(kernel=(3, 3), num_filter=2), r"offset of shape"),
    (V1, [_X, (1, 18, 5, 6), _W, _B], dict(kernel=(3, 3), num_filter=2), r"offset of shape"),
    (V1, [_X, (2, 18, 3, 4), _W, _B], dict(kernel=(3, 3), num_filter=2), r"offset of shape"),
    (V1, [_X, (1, 54, 3, 4), _W, _B], dict(kernel=(3, 3), num_filter=2, num_deformable_group=3),
     r"divisible by num_deformable_group.*num_deformable_group=3"),
    (V1, [_X, _O, (3, 2, 3, 3), (3,)], dict(kernel=(3, 3), num_filter=3, num_group=2),
     r"num_filter divisible by num_group.*num_filter=3"),
    (V1, [_X, _O, (2, 4, 3, 2), _B], dict(kernel=(3, 3), num_filter=2),
     r"weight.shape == \(2, 4, 3, 3\).*\(2, 4, 3, 2\)"),
    (V1, [_X, _O, _W], dict(kernel=(3, 3), num_filter=2), r"a bias input \(or no_bias=True\)"),
    (V1, [_X, _O, _W, _B], dict(kernel=(3, 3), num_filter=0), r"num_filter > 0"),
    (V1, [(1, 4, 2, 2), (1, 18, 1, 1), _W, _B], dict(kernel=(3, 3), num_filter=2),
     r"fits the padded input.*output size \(0, 0\)"),
    (V1, [_X, _O, _W, _B], dict(kernel=(3, 3), num_filter=2, layout="NHWC"), r"layout"),
    (V1, [_X, _O, _W, _B], dict(kernel=(3, 3), num_filter=2, layout="NCW"),
     r"layout None or 'NCHW'.*layout='NCW'"),
    (V2, [_X, _O, (1, 8, 3, 4), _W, _B], dict(kernel=(3, 3), num_filter=2),
     r"mask of shape \(1, 9, 3, 4\).*mask.shape=\(1, 8, 3, 4\)"),
    (V2, [_X, _O, (1, 9, 2, 4), _W, _B], dict(kernel=(3, 3), num_filter=2), r"mask of shape"),
    (V2, [(3, 4, 5, 6), (3, 18, 3, 4), (3, 9, 3, 4), _W, _B],
     dict(kernel=(3, 3), num_filter=2, im2col_step=2), r"im2col_step=2, data.shape=\(3, 4"),
    (V2, [_X, _O, _M, _W, _B], dict(kernel=(3, 3), num_filter=2, im2col_step=0),
     r"im2col_step > 0"),
    (V2, [(0, 4, 5, 6), (0, 18, 3, 4), (0, 9, 3, 4), _W, _B], dict(kernel=(3, 3), num_filter=2),
     r"non-empty batch.*data.shape=\(0, 4, 5, 6\)"),  # was a ZeroDivisionError
]


@pytest.mark.parametrize("fn,shapes,attrs,match", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_errors_name_the_op_and_shapes(fn, shapes, attrs, match):
    with pytest.raises(mx.base.MXNetValueError, match=match) as e:
        fn(*(mx.nd.ones(s) for s in shapes), **attrs)
    assert "DeformableConvolution" in str(e.value)


def test_dtypes_must_be_float_and_uniform():
    args = [mx.nd.ones(s) for s in (_X, _O, _W, _B)]
    with pytest.raises(mx.base.MXNetValueError, match=r"float16, float32 or float64.*int32"):
        V1(*(a.astype("int32") for a in args), kernel=(3, 3), num_filter=2)
    with pytest.raises(mx.base.MXNetValueError, match=r"one dtype.*offset.dtype=float64"):
        V1(args[0], args[1].astype("float64"), *args[2:], kernel=(3, 3), num_filter=2)


def test_im2col_step_dividing_or_exceeding_the_batch_is_accepted():
    x, off, mask = mx.nd.ones((4, 4, 5, 6)), mx.nd.zeros((4, 18, 3, 4)), mx.nd.ones((4, 9, 3, 4))
    for step in (2, 4, 64):
        y = V2(x, off, mask, mx.nd.ones(_W), mx.nd.ones(_B), kernel=(3, 3), num_filter=2,
               im2col_step=step)
        assert y.shape == (4, 2, 3, 4)
