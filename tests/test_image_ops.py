"""``mx.nd.image`` / ``mx.sym.image`` (``mxplug/ops/image_ops.py``): values MXNet 1.9.1 computed
(recorded as literals), the random ops' distributions and reproducibility, exact gradients
(where MXNet's are wrong or missing: see the module docstring), hybridized blocks, bound symbols
and error messages."""
from __future__ import annotations

import importlib

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.base import MXNetError
from mxplug.gluon import nn
from mxplug.testing.checks import numeric_grad

IMG = mx.nd.image
NAMES = ("adjust_lighting", "crop", "flip_left_right", "flip_top_bottom", "normalize",
         "random_brightness", "random_color_jitter", "random_contrast", "random_flip_left_right",
         "random_flip_top_bottom", "random_hue", "random_lighting", "random_saturation", "resize",
         "to_tensor")
#: A 2x2 RGB image used with MXNet 1.9.1 below.
PX = np.array([[[201, 100, 3], [255, 0, 128]], [[7, 7, 7], [10, 250, 40]]], dtype=np.float64)
#: A 3x4 two-channel uint8 image for the resize literals.
U8 = np.array([[[12, 200], [45, 90], [250, 3], [77, 130]],
               [[0, 255], [128, 64], [33, 99], [180, 20]],
               [[240, 16], [5, 222], [60, 61], [91, 150]]], dtype=np.uint8)


def nd(x, dtype="float32", ctx=None):
    return mx.nd.array(np.asarray(x), dtype=dtype, ctx=ctx)


def test_namespaces():
    for ns in (mx.nd.image, mx.sym.image):
        missing = [n for n in NAMES if not callable(getattr(ns, n, None))]
        assert not missing, missing
    assert "image" in mx.nd.__all__ and "image" in mx.sym.__all__
    from mxplug.ndarray import image
    assert image is mx.nd.image
    assert importlib.import_module("mxplug.ndarray.image") is mx.nd.image
    assert importlib.import_module("mxplug.symbol.image") is mx.sym.image
    assert mx.nd.image.to_tensor.op.name == "_image_to_tensor"


# -- deterministic ops ----------------------------------------------------------------------------
def test_to_tensor(ctx):
    x = np.arange(24, dtype=np.uint8).reshape(2, 4, 3) * 10
    y = IMG.to_tensor(nd(x, "uint8", ctx))
    assert y.shape == (3, 2, 4) and y.dtype == np.float32
    np.testing.assert_array_equal(y.asnumpy(), x.transpose(2, 0, 1).astype(np.float32) / 255)
    b = IMG.to_tensor(nd(np.stack([x, x[::-1]]), "float64", ctx))
    assert b.shape == (2, 3, 2, 4) and b.dtype == np.float32        # float32 whatever the input
    np.testing.assert_allclose(b.asnumpy()[1], x[::-1].transpose(2, 0, 1) / 255, rtol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_to_tensor_gradient(dtype):
    """MXNet 1.9.1's backward fails (shape mismatch); the gradient is the transposed head / 255."""
    x = nd(np.random.default_rng(0).uniform(0, 255, (2, 3, 4, 3)), dtype)
    x.attach_grad()
    head = np.random.default_rng(1).uniform(-1, 1, (2, 3, 3, 4))
    with autograd.record():
        y = IMG.to_tensor(x)
    y.backward(nd(head))
    assert x.grad.dtype == np.dtype(dtype)
    np.testing.assert_allclose(x.grad.asnumpy(), head.transpose(0, 2, 3, 1) / 255, rtol=1e-6)


def test_normalize(ctx):
    x = np.arange(24.0).reshape(3, 2, 4)
    y = IMG.normalize(nd(x, ctx=ctx), mean=(1, 2, 3), std=(2, 3, 4)).asnumpy()
    np.testing.assert_allclose(y, (x - [[[1]], [[2]], [[3]]]) / [[[2]], [[3]], [[4]]], rtol=1e-6)
    # MXNet 1.9.1: normalize(arange(24).reshape(3, 2, 4), mean=2, std=3)[0, 0, :5] (flattened)
    z = IMG.normalize(nd(x, ctx=ctx), mean=2, std=3).asnumpy().ravel()[:5]
    np.testing.assert_allclose(z, [-0.6666667, -0.33333334, 0.0, 0.33333334, 0.6666667], rtol=1e-6)
    b = IMG.normalize(nd(np.ones((2, 3, 2, 2)), "float64", ctx), mean=(1, 2, 3), std=(2, 3, 4))
    assert b.dtype == np.float64
    np.testing.assert_allclose(b.asnumpy()[:, :, 0, 0], [[0, -1 / 3, -0.5]] * 2)
    x = nd(x, "float64", ctx)
    x.attach_grad()
    with autograd.record():
        y = IMG.normalize(x, mean=(1, 2, 3), std=(2, 4, 8))
    y.backward(nd(np.ones(y.shape), "float64", ctx))
    np.testing.assert_allclose(x.grad.asnumpy()[:, 0, 0], [0.5, 0.25, 0.125])


def test_flips_and_their_gradients(ctx):
    x = np.arange(24.0).reshape(2, 4, 3)
    np.testing.assert_array_equal(IMG.flip_left_right(nd(x, ctx=ctx)).asnumpy(), x[:, ::-1])
    np.testing.assert_array_equal(IMG.flip_top_bottom(nd(x, "uint8", ctx)).asnumpy(), x[::-1])
    a = nd(x, ctx=ctx)
    a.attach_grad()
    head = np.random.default_rng(0).uniform(size=x.shape)
    with autograd.record():
        y = IMG.flip_left_right(a)
    y.backward(nd(head, ctx=ctx))
    # MXNet 1.9.1 hands back the head unflipped (an identity "_copy" gradient): wrong
    np.testing.assert_allclose(a.grad.asnumpy(), head[:, ::-1], rtol=1e-6)


def test_crop(ctx):
    y = np.arange(60.0).reshape(4, 5, 3)
    c = IMG.crop(nd(y, ctx=ctx), 1, 2, 3, 2)
    np.testing.assert_array_equal(c.asnumpy()[:, :, 0], [[33, 36, 39], [48, 51, 54]])  # MXNet
    b = IMG.crop(nd(np.stack([y, -y]), "uint8", ctx), x=0, y=1, width=2, height=3)
    assert b.shape == (2, 3, 2, 3) and b.dtype == np.uint8
    a = nd(y, "float64", ctx)
    a.attach_grad()
    with autograd.record():
        out = IMG.crop(a, 1, 2, 3, 2)
    out.backward(nd(np.ones(out.shape), "float64", ctx))
    want = np.zeros(y.shape)
    want[2:4, 1:4] = 1
    np.testing.assert_array_equal(a.grad.asnumpy(), want)


# MXNet 1.9.1 outputs for U8 (3x4x2) resized to (width, height) = (5, 2), per interp
RESIZE_U8 = {
    0: [[[12, 200], [12, 200], [45, 90], [250, 3], [77, 130]],
        [[0, 255], [0, 255], [128, 64], [33, 99], [180, 20]]],
    1: [[[9, 214], [49, 122], [131, 55], [168, 50], [103, 103]],
        [[180, 76], [79, 150], [44, 126], [71, 85], [113, 118]]],
    2: [[[0, 229], [35, 124], [149, 32], [187, 41], [98, 105]],
        [[194, 65], [76, 166], [21, 136], [66, 73], [119, 119]]],
    3: [[[8, 218], [56, 116], [125, 58], [161, 49], [111, 93]],
        [[160, 96], [74, 151], [48, 121], [68, 82], [121, 106]]],
    4: [[[0, 235], [30, 125], [156, 23], [187, 47], [98, 102]],
        [[195, 63], [81, 170], [12, 139], [68, 68], [120, 120]]],
}
# ... and (3, 5) (upscaling rows, shrinking columns), and the short form (2,)
RESIZE_U8_UP = {
    1: [[[17, 182], [147, 46], [106, 109]], [[19, 198], [121, 60], [125, 79]],
        [[21, 223], [81, 82], [156, 33]], [[129, 119], [52, 117], [114, 94]],
        [[201, 50], [32, 141], [86, 135]]],
    3: [[[20, 173], [148, 47], [120, 98]], [[24, 184], [125, 58], [128, 79]],
        [[32, 207], [81, 82], [143, 40]], [[131, 114], [48, 121], [103, 98]],
        [[181, 68], [33, 142], [83, 128]]],
}
RESIZE_U8_SQUARE = {0: [[[12, 200], [250, 3]], [[0, 255], [33, 99]]],
                    1: [[[37, 149], [149, 65]], [[108, 129], [83, 94]]]}
# MXNet 1.9.1 for U8 / 7 as float32, size (5, 2), first row
RESIZE_F32_ROW0 = {
    1: [[1.28571, 30.53571], [6.96071, 17.51072], [18.67857, 7.89286], [23.97857, 7.09286],
        [14.67857, 14.64286]],
    2: [[-0.4634, 32.78694], [4.97572, 17.7205], [21.33648, 4.57169], [26.78733, 5.86642],
        [13.94389, 15.00413]],
    3: [[1.14286, 31.19047], [8.07143, 16.5119], [17.88095, 8.30952], [23.0119, 7.08333],
        [15.90476, 13.33333]],
    4: [[-1.02431, 33.54519], [4.31163, 17.81654], [22.35241, 3.37498], [26.73074, 6.68613],
        [13.95245, 14.49471]],
}


def test_resize_matches_mxnet(ctx):
    x = nd(U8, "uint8", ctx)
    for interp, want in RESIZE_U8.items():
        got = IMG.resize(x, size=(5, 2), interp=interp)
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got.asnumpy(), want, err_msg=f"interp={interp}")
    for interp, want in RESIZE_U8_UP.items():
        np.testing.assert_array_equal(IMG.resize(x, (3, 5), interp=interp).asnumpy(), want)
    for interp, want in RESIZE_U8_SQUARE.items():
        np.testing.assert_array_equal(IMG.resize(x, 2, interp=interp).asnumpy(), want)
    f = nd(U8.astype(np.float32) / 7, ctx=ctx)
    for interp, want in RESIZE_F32_ROW0.items():
        got = IMG.resize(f, size=(5, 2), interp=interp).asnumpy()[0]
        np.testing.assert_allclose(got, want, atol=2e-5, err_msg=f"interp={interp}")
    batch = IMG.resize(nd(np.stack([U8, U8[::-1]]), "uint8", ctx), size=(5, 2))
    np.testing.assert_array_equal(batch.asnumpy()[0], RESIZE_U8[1])


def test_resize_shapes():
    def shape(s, **kw):
        return IMG.resize(mx.nd.zeros(s), **kw).shape
    # as MXNet 1.9.1: keep_ratio scales the long edge, rounding down
    assert shape((4, 5, 3), size=7, keep_ratio=True) == (7, 8, 3)
    assert shape((5, 4, 3), size=7, keep_ratio=True) == (8, 7, 3)
    assert shape((4, 5, 3), size=(3, 2), keep_ratio=True) == (2, 3, 3)
    assert shape((4, 5, 3), size=3) == (3, 3, 3)
    assert shape((2, 4, 5, 4), size=(3, 2)) == (2, 2, 3, 4)         # any channel count
    same = mx.nd.array(np.arange(6.0).reshape(1, 2, 3))
    np.testing.assert_array_equal(IMG.resize(same, (2, 1), interp=2).asnumpy(), same.asnumpy())


@pytest.mark.parametrize("shape, size, interp", [
    ((480, 64, 3), (224, 20), 1), ((2, 7, 9, 1), (3,), 1), ((5, 6, 3), (9, 4), 1),
    ((8, 8, 3), (4, 4), 1), ((6, 8, 3), (20, 13), 3), ((7, 5, 3), (5, 7), 5)])
def test_resize_numpy_uint8_kernel_is_the_generic_body(shape, size, interp):
    # The NumPy fast path (int32 shifts) must give the generic body's OpenCV bits: bilinear
    # up/down, batches, the 2x2-average halving and area upscaling (also two taps).
    from mxplug.ops.image_resize import _resize_body
    a = np.random.RandomState(3).randint(0, 256, size=shape).astype(np.uint8)
    fast = mx.nd.image.resize(mx.nd.array(a, dtype="uint8"), size=size, interp=interp)
    np.testing.assert_array_equal(fast.asnumpy(), _resize_body(np, a, size=size, interp=interp))


def test_resize_gradient_is_the_transposed_interpolation():
    rng = np.random.default_rng(3)
    x = nd(rng.uniform(0, 1, (3, 4, 2)), "float64")
    head = rng.uniform(-1, 1, (5, 6, 2))
    for interp in (0, 1, 2, 3):
        x.attach_grad()
        with autograd.record():
            y = IMG.resize(x, size=(6, 5), interp=interp)
        y.backward(nd(head, "float64"))
        cols = [IMG.resize(nd(np.eye(24)[k].reshape(3, 4, 2), "float64"), size=(6, 5),
                           interp=interp).asnumpy().ravel() for k in range(24)]
        np.testing.assert_allclose(x.grad.asnumpy().ravel(), np.array(cols) @ head.ravel(),
                                   rtol=1e-10, atol=1e-12)


# -- colour ops with a fixed factor (min_factor == max_factor), against MXNet 1.9.1 --------------
def test_colour_values_match_mxnet(ctx):
    u8, f32 = nd(PX, "uint8", ctx), nd(PX, "float32", ctx)

    def same(out, want, exact=True):
        if exact:
            np.testing.assert_array_equal(out.asnumpy().ravel(), want)
        else:
            np.testing.assert_allclose(out.asnumpy().ravel(), want, rtol=1e-6, atol=1e-5)

    same(IMG.random_brightness(u8, 0.5, 0.5), [100, 50, 1, 127, 0, 64, 3, 3, 3, 5, 125, 20])
    same(IMG.random_brightness(u8, 1.7, 1.7), [255, 170, 5, 255, 0, 217, 11, 11, 11, 17, 255, 68])
    same(IMG.random_contrast(u8, 0.3, 0.3), [125, 94, 65, 141, 64, 103, 67, 67, 67, 67, 139, 76])
    same(IMG.random_hue(u8, 0.1, 0.1), [183, 201, 2, 255, 25, 0, 7, 7, 7, 9, 250, 184])
    same(IMG.adjust_lighting(u8, alpha=(0.1, -0.2, 0.3)),
         [197, 96, 0, 251, 0, 125, 3, 3, 4, 6, 246, 37])
    same(IMG.random_contrast(f32, 0.3, 0.3),
         [125.273651, 94.973648, 65.87365, 141.473648, 64.973648, 103.37365, 67.073647,
          67.073647, 67.073647, 67.973648, 139.973648, 76.973648], exact=False)
    same(IMG.random_hue(f32, 0.1, 0.1),
         [183.200012, 201.0, 2.99999976, 255.0, 25.0001049, 0.0, 7.0, 7.0, 7.0, 9.99999905,
          250.000015, 184.000046], exact=False)
    same(IMG.adjust_lighting(f32, alpha=(1, 2, 3)),
         [177.802841, 64.942276, -34.580685, 231.802841, -35.057728, 90.419312, -16.197163,
          -28.057728, -30.580685, -13.197163, 214.942276, 2.419315], exact=False)
    # MXNet 1.9.1 prints [60, 30, 1, ...] for saturation 0.3: its loop keeps only 0.114 * B as
    # the grey value; mxplug blends with the full luma (see the module docstring)
    gray = PX @ [0.299, 0.587, 0.114]
    same(IMG.random_saturation(f32, 0.3, 0.3), (0.3 * PX + 0.7 * gray[..., None]).ravel(),
         exact=False)


def test_one_channel_images():
    x = nd(PX[..., :1])
    # MXNet 1.9.1: contrast [143.075, 159.275, 84.875, 85.775]; saturation returns the image
    np.testing.assert_allclose(IMG.random_contrast(x, 0.3, 0.3).asnumpy().ravel(),
                               [143.075, 159.275, 84.875, 85.775], rtol=1e-6)
    for fn in (lambda: IMG.random_saturation(x, 0.3, 0.3), lambda: IMG.random_hue(x, 0.3, 0.3),
               lambda: IMG.adjust_lighting(x, alpha=(1, 2, 3)), lambda: IMG.random_lighting(x)):
        np.testing.assert_array_equal(fn().asnumpy(), x.asnumpy())  # MXNet: zeros for the last 3


# -- random ops: distributions, reproducibility ---------------------------------------------------
def test_random_flips_happen_about_half_the_time():
    mx.random.seed(11)
    x = np.arange(24.0).reshape(2, 4, 3)
    for op, flipped in ((IMG.random_flip_left_right, x[:, ::-1]),
                        (IMG.random_flip_top_bottom, x[::-1])):
        outs = [op(nd(x)).asnumpy() for _ in range(200)]
        hits = sum(np.array_equal(o, flipped) for o in outs)
        assert all(np.array_equal(o, flipped) or np.array_equal(o, x) for o in outs)
        assert 70 <= hits <= 130, hits          # binomial(200, 0.5): 4 standard deviations


def test_random_factors_stay_in_their_ranges():
    mx.random.seed(5)
    x = nd(PX)
    nz = PX > 0
    ratios = [IMG.random_brightness(x, 0.5, 1.5).asnumpy()[nz] / PX[nz] for _ in range(60)]
    alphas = [r.mean() for r in ratios]
    assert all(r.max() - r.min() < 1e-5 for r in ratios)     # one factor per call
    assert 0.5 <= min(alphas) < 0.65 and 1.35 < max(alphas) <= 1.5
    gray = PX @ [0.299, 0.587, 0.114]
    for _ in range(20):                  # contrast: out = a x + (1 - a) mean(gray)
        out = IMG.random_contrast(x, 0.2, 0.8).asnumpy()
        a = (out[0, 0, 0] - out[0, 0, 1]) / (PX[0, 0, 0] - PX[0, 0, 1])
        assert 0.2 - 1e-5 <= a <= 0.8 + 1e-5
        np.testing.assert_allclose(out, a * PX + (1 - a) * gray.mean(), rtol=1e-5, atol=1e-4)
        sat = IMG.random_saturation(x, 0.0, 2.0).asnumpy()      # saturation keeps the luma
        np.testing.assert_allclose(sat @ [0.299, 0.587, 0.114], gray, rtol=1e-5, atol=1e-4)
        hue = IMG.random_hue(x, 0.0, 1.0).asnumpy()             # hue keeps max and min
        np.testing.assert_allclose(hue.max(-1), PX.max(-1), atol=1e-3)
        np.testing.assert_allclose(hue.min(-1), PX.min(-1), atol=1e-3)


def test_random_lighting_draws_normal_alphas():
    mx.random.seed(2)
    x = nd(np.full((1, 1, 3), 100.0), "float64")
    eig = np.array([[55.46 * -0.5675, 4.794 * 0.7192, 1.148 * 0.4009],
                    [55.46 * -0.5808, 4.794 * -0.0045, 1.148 * -0.8140],
                    [55.46 * -0.5836, 4.794 * -0.6948, 1.148 * 0.4203]])
    alphas = np.array([np.linalg.solve(eig, IMG.random_lighting(x, 0.1).asnumpy().ravel() - 100)
                       for _ in range(300)])
    assert np.all(np.abs(alphas.mean(0)) < 0.025) and np.all(np.abs(alphas.std(0) - 0.1) < 0.02)


def test_color_jitter():
    mx.random.seed(4)
    x = nd(PX)
    for _ in range(20):
        r = IMG.random_color_jitter(x, 0.3, 0, 0, 0).asnumpy()[PX > 0] / PX[PX > 0]
        assert r.max() - r.min() < 1e-5 and 0.7 - 1e-6 <= r.mean() <= 1.3 + 1e-6
        h = IMG.random_color_jitter(x, 0, 0, 0, 0.4).asnumpy()
        np.testing.assert_allclose(h.max(-1), PX.max(-1), atol=1e-3)
    u8 = nd(PX, "uint8")
    out = IMG.random_color_jitter(u8, 0, 0, 0, 0)       # MXNet 1.9.1: uninitialised memory
    assert out.dtype == np.uint8 and np.array_equal(out.asnumpy(), PX)
    out = IMG.random_color_jitter(u8, 0.5, 0.5, 0.5, 0.5)
    assert out.dtype == np.uint8


@pytest.mark.parametrize("call", [
    lambda x: IMG.random_flip_left_right(x), lambda x: IMG.random_brightness(x, 0.1, 1.9),
    lambda x: IMG.random_hue(x, 0.0, 1.0), lambda x: IMG.random_lighting(x, 0.3),
    lambda x: IMG.random_color_jitter(x, 0.4, 0.4, 0.4, 0.4)])
def test_seed_reproduces_random_ops(call):
    x = nd(np.random.default_rng(0).uniform(0, 255, (3, 4, 3)))
    runs = []
    for s in (7, 7, 8):
        mx.random.seed(s)
        runs.append(np.concatenate([call(x).asnumpy().ravel() for _ in range(4)]))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


# -- gradients of the random (composite) ops, at fixed generator states --------------------------
@pytest.mark.parametrize("name,attrs", [
    ("random_flip_left_right", {}), ("random_flip_top_bottom", {}),
    ("random_brightness", dict(min_factor=0.5, max_factor=1.5)),
    ("random_contrast", dict(min_factor=0.5, max_factor=1.5)),
    ("random_saturation", dict(min_factor=0.0, max_factor=2.0)),
    ("random_hue", dict(min_factor=0.1, max_factor=0.9)),
    ("random_lighting", dict(alpha_std=0.5)),
    ("random_color_jitter", dict(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.3))])
def test_random_op_gradients_match_finite_differences(name, attrs):
    rng = np.random.default_rng(1)
    x0 = rng.uniform(20, 235, (3, 2, 3))
    w = rng.uniform(-1, 1, (3, 2, 3))
    fn = getattr(IMG, name)
    for key, counter in ((3, 1), (3, 2), (9, 5)):
        def loss(inputs, key=key, counter=counter):
            out = fn(nd(inputs[0], "float64"), key=key, counter=counter, **attrs)
            return float(np.sum(out.asnumpy() * w))
        x = nd(x0, "float64")
        x.attach_grad()
        with autograd.record():
            y = fn(x, key=key, counter=counter, **attrs)
        y.backward(nd(w, "float64"))
        np.testing.assert_allclose(x.grad.asnumpy(), numeric_grad(loss, [x0.copy()], 0, 1e-6),
                                   rtol=1e-5, atol=1e-6, err_msg=f"{name} key={key}")


# -- graphs ---------------------------------------------------------------------------------------
class _Prep(nn.HybridBlock):
    def hybrid_forward(self, F, x):
        return F.image.normalize(F.image.to_tensor(x), mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3))


def test_hybridized_block_matches_eager():
    x = nd(np.random.default_rng(2).uniform(0, 255, (2, 4, 5, 3)))
    net = _Prep()
    eager = net(x).asnumpy()
    net.hybridize()
    x.attach_grad()
    with autograd.record():
        y = net(x)
    y.backward(nd(np.ones(y.shape)))
    np.testing.assert_allclose(y.asnumpy(), eager, rtol=1e-6)
    want = np.broadcast_to(1 / (255 * np.array([0.2, 0.25, 0.3])), x.shape)
    np.testing.assert_allclose(x.grad.asnumpy(), want, rtol=1e-5)


class _Flip(nn.HybridBlock):
    def hybrid_forward(self, F, x):
        return F.image.random_flip_left_right(x) * 2


def test_hybridized_random_op_redraws_and_differentiates():
    x0 = np.arange(24.0).reshape(2, 4, 3)
    net = _Flip()
    net.hybridize()
    mx.random.seed(1)
    seen = set()
    for _ in range(16):
        x = nd(x0)
        x.attach_grad()
        with autograd.record():
            y = net(x)
        y.backward(nd(np.ones(y.shape)))
        flipped = np.array_equal(y.asnumpy(), 2 * x0[:, ::-1])
        assert flipped or np.array_equal(y.asnumpy(), 2 * x0)
        np.testing.assert_array_equal(x.grad.asnumpy(), np.full(x0.shape, 2.0))
        seen.add(flipped)
    assert seen == {True, False}
    net(nd(x0))     # builds the inference graph (tracing it draws a generator state once)
    runs = []
    for _ in range(2):
        mx.random.seed(9)
        runs.append([net(nd(x0)).asnumpy() for _ in range(6)])
    np.testing.assert_array_equal(runs[0], runs[1])


def test_bound_symbol_to_tensor(ctx):
    sym = mx.sym.image.to_tensor(mx.sym.var("x"))
    x = np.random.default_rng(4).uniform(0, 255, (3, 4, 3))
    ex = sym.bind(ctx, {"x": nd(x, ctx=ctx)}, args_grad={"x": mx.nd.zeros((3, 4, 3), ctx=ctx)})
    out = ex.forward(is_train=True)[0]
    assert out.shape == (3, 3, 4) and out.dtype == np.float32
    np.testing.assert_allclose(out.asnumpy(), x.transpose(2, 0, 1) / 255, rtol=1e-6)
    head = np.random.default_rng(5).uniform(-1, 1, (3, 3, 4))
    ex.backward(nd(head, ctx=ctx))
    np.testing.assert_allclose(ex.grad_dict["x"].asnumpy(), head.transpose(1, 2, 0) / 255,
                               rtol=1e-6)
    u8 = sym.bind(ctx, {"x": nd(x, "uint8", ctx)}).forward()[0]
    np.testing.assert_allclose(u8.asnumpy(), x.astype(np.uint8).transpose(2, 0, 1) / 255.0,
                               rtol=1e-6)
    shapes = sym.infer_shape(x=(2, 5, 6, 1))[1]
    assert shapes == [(2, 1, 5, 6)]


# -- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("call,words", [
    (lambda: IMG.to_tensor(mx.nd.zeros((4, 5))), ["_image_to_tensor", "(H, W, C)", "(4, 5)"]),
    (lambda: IMG.flip_left_right(mx.nd.zeros((2, 4, 5, 3))), ["_image_flip_left_right",
                                                              "(2, 4, 5, 3)"]),
    (lambda: IMG.random_brightness(mx.nd.zeros((4, 5, 4)), 0.5, 1.5), ["_image_random_brightness",
                                                                       "1 or 3 channels"]),
    (lambda: IMG.random_brightness(mx.nd.zeros((4, 5, 3)), -0.5, 1.5), ["min_factor=-0.5"]),
    (lambda: IMG.random_brightness(mx.nd.zeros((4, 5, 3))), ["min_factor", "required"]),
    (lambda: IMG.normalize(mx.nd.zeros((3, 4, 5))), ["_image_normalize", "mean", "(0.0, 0.0"]),
    (lambda: IMG.normalize(mx.nd.zeros((4, 4, 5)), mean=0, std=1), ["1 or 3 channels",
                                                                     "(4, 4, 5)"]),
    (lambda: IMG.normalize(mx.nd.zeros((3, 4, 5), dtype="uint8"), mean=0, std=1),
     ["floating-point data", "uint8"]),
    (lambda: IMG.normalize(mx.nd.zeros((3, 4, 5)), mean=(1, 2), std=1), ["mean", "(1.0, 2.0)"]),
    (lambda: IMG.crop(mx.nd.zeros((4, 5, 3)), 3, 0, 3, 2), ["_image_crop", "x + width <= 5"]),
    (lambda: IMG.crop(mx.nd.zeros((4, 5, 3)), -1, 0, 2, 2), ["x >= 0", "x=-1"]),
    (lambda: IMG.crop(mx.nd.zeros((4, 5, 3)), 0, 0, 0, 1), ["width > 0"]),
    (lambda: IMG.resize(mx.nd.zeros((4, 5, 3), dtype="int32"), 2), ["_image_resize", "int32"]),
    (lambda: IMG.resize(mx.nd.zeros((4, 5, 3), dtype="float16"), 2), ["float16"]),
    (lambda: IMG.resize(mx.nd.zeros((4, 5, 3)), 2, interp=9), ["interp=9"]),
    (lambda: IMG.resize(mx.nd.zeros((4, 5, 3))), ["size", "()"]),
    (lambda: IMG.resize(mx.nd.zeros((4, 5, 3)), (0, 2)), ["positive", "(0, 2)"]),
    (lambda: IMG.adjust_lighting(mx.nd.zeros((4, 5, 3)), alpha=(1, 2)), ["alpha", "3 values"]),
    (lambda: mx.sym.image.to_tensor(mx.sym.var("x")).infer_shape(x=(2, 3, 4, 5, 6)),
     ["_image_to_tensor", "(2, 3, 4, 5, 6)"]),
])
def test_errors_name_the_op_and_the_input(call, words):
    with pytest.raises(MXNetError) as e:
        call()
    for w in words:
        assert w in str(e.value), (w, str(e.value))
