"""gluon.data.vision.transforms as Blocks / HybridBlocks: the class bases and names of MXNet 1.9.1,
the host path (NumPy, or NDArrays outside autograd and graphs) against the graph path
(hybridized, Symbols, autograd.record), export + SymbolBlock.imports, gradients, random
transforms drawing per call inside a hybridized net, graph-mode errors, pickling for
DataLoader workers."""

from __future__ import annotations

import json
import pickle
import re

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd, gluon, nd
from mxplug.base import MXNetError
from mxplug.gluon import nn
from mxplug.gluon.data import ArrayDataset, DataLoader
from mxplug.gluon.data.vision import transforms as T

# (H, W, 3) uint8, the image the MXNet 1.9.1 values below were computed from
_ORACLE_IMG = (np.arange(4 * 5 * 3).reshape(4, 5, 3) * 37 % 256).astype(np.uint8)


def _img(shape=(6, 7, 3), seed=0):
    return np.random.RandomState(seed).randint(0, 256, size=shape).astype(np.uint8)


def _nd(a):
    return nd.array(a, dtype=a.dtype)


def _hybridized(*blocks):
    net = nn.HybridSequential()
    net.add(*blocks)
    net.hybridize()
    return net


# -- classes, names, repr -----------------------------------------------------------------------

# each class's base in MXNet 1.9.1 (inspect.getmro); HybridCompose, HybridRandomApply, RandomGray
# and RandomCrop are not in 1.9.1 and are HybridBlocks as in MXNet 2
_HYBRID = ["Cast", "ToTensor", "Normalize", "Resize", "CropResize", "RandomFlipLeftRight",
           "RandomFlipTopBottom", "RandomBrightness", "RandomContrast", "RandomSaturation",
           "RandomHue", "RandomColorJitter", "RandomLighting"]
_BLOCK = ["CenterCrop", "RandomResizedCrop", "Rotate", "RandomRotation"]


def _make(name):
    args = {"Resize": (4,), "CropResize": (0, 0, 2, 2), "CenterCrop": (3,),
            "RandomResizedCrop": (3,), "Rotate": (10,), "RandomRotation": ((-5, 5),),
            "RandomBrightness": (0.1,), "RandomContrast": (0.1,), "RandomSaturation": (0.1,),
            "RandomHue": (0.1,), "RandomLighting": (0.1,), "RandomCrop": (3,)}
    return getattr(T, name)(*args.get(name, ()))


@pytest.mark.parametrize("name", _HYBRID + ["RandomGray", "RandomCrop"])
def test_hybrid_transforms_are_hybrid_blocks(name):
    t = _make(name)
    assert isinstance(t, gluon.HybridBlock)
    assert re.fullmatch(name.lower() + r"\d+_", t.prefix)  # MXNet: normalize0_
    net = nn.HybridSequential()
    net.add(t)  # no "Children of HybridBlock must also be HybridBlock"
    assert repr(t).startswith(name + "(") and f"(0): {name}(" in repr(net)


@pytest.mark.parametrize("name", _BLOCK)
def test_block_transforms_are_plain_blocks(name):
    t = _make(name)
    assert isinstance(t, gluon.Block) and not isinstance(t, gluon.HybridBlock)
    with pytest.raises(MXNetError, match="must also be HybridBlock"):
        nn.HybridSequential().add(t)


def test_composition_classes():
    flip = T.RandomFlipLeftRight()
    assert isinstance(T.Compose([flip]), nn.Sequential)  # a Sequential in MXNet 1.9.1
    assert isinstance(T.RandomApply(flip), nn.Sequential)
    assert isinstance(T.HybridCompose([flip]), gluon.HybridBlock)
    assert isinstance(T.HybridRandomApply(flip), gluon.HybridBlock)
    assert T.HybridCompose([flip])[0] is flip
    with nn.HybridSequential().name_scope():
        assert T.Normalize().prefix.endswith("_normalize0_")


# -- host path versus graph path ----------------------------------------------------------------

def test_deployment_pattern_export_and_import(tmp_path):
    img = _img((2, 6, 7, 3))
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    net = nn.HybridSequential()
    net.add(T.ToTensor(), T.Normalize(mean, std), nn.Dense(4))
    net.initialize(mx.init.Xavier())
    x = _nd(img)
    eager = net(x).asnumpy()
    pre = (img.transpose(0, 3, 1, 2) / 255.0 - np.reshape(mean, (3, 1, 1))) / np.reshape(
        std, (3, 1, 1))
    w, b = net[2].weight.data().asnumpy(), net[2].bias.data().asnumpy()
    np.testing.assert_allclose(eager, pre.reshape(2, -1) @ w.T + b, rtol=1e-4, atol=1e-5)
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), eager, rtol=1e-5, atol=1e-6)
    sym_file, params_file = net.export(str(tmp_path / "pre"))
    # the ops MXNet 1.9.1's own export of ToTensor + Normalize has
    ops = [n["op"] for n in json.load(open(sym_file))["nodes"]]
    assert ops[:3] == ["null", "_image_to_tensor", "_image_normalize"]
    back = gluon.SymbolBlock.imports(sym_file, ["data"], params_file)
    np.testing.assert_allclose(back(x).asnumpy(), eager, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make, data", [
    (lambda: T.Cast("float64"), _img()),
    (lambda: T.ToTensor(), _img((2, 5, 4, 3))),
    (lambda: T.Normalize(0.5, 2.0), np.random.RandomState(1).rand(2, 3, 4, 4).astype("f")),
    (lambda: T.Normalize((1, 2, 3, 4, 5), 2.0), np.random.RandomState(1).rand(5, 3, 3)),
    (lambda: T.Normalize((1, 2, 3), (2, 3, 4)), _img((3, 4, 5))),  # integer in, float32 out
    (lambda: T.Resize((5, 4), interpolation=0), _img()),
    (lambda: T.Resize(5, interpolation=2), _img()),
    (lambda: T.Resize(3, keep_ratio=True), np.random.RandomState(2).rand(2, 6, 7, 3).astype("f")),
    (lambda: T.CropResize(1, 2, 3, 4), _img((2, 6, 7, 3))),
    (lambda: T.CropResize(1, 2, 3, 4), np.random.RandomState(1).rand(6, 7, 5).astype("f")),
    (lambda: T.RandomFlipLeftRight(p=1.0), _img((3, 6, 7, 3))),
    (lambda: T.RandomFlipTopBottom(p=0.0), _img()),
    (lambda: T.RandomGray(p=1.0), _img((2, 6, 7, 3))),
    (lambda: T.RandomCrop((7, 6)), _img()),
    (lambda: T.RandomBrightness(0.0), _img()),
    (lambda: T.RandomColorJitter(), _img()),
    (lambda: T.RandomLighting(0.0), _img((2, 6, 7, 3))),
    (lambda: T.HybridCompose([T.CropResize(0, 0, 4, 4), T.ToTensor(), T.Normalize(0.5, 0.25)]),
     _img()),
])
def test_graph_path_computes_the_host_result(make, data):
    host = make()(_nd(data))
    assert isinstance(host, nd.NDArray)
    t = make()
    t.hybridize()
    graph = t(_nd(data))
    assert t._cached_op is not None  # hybridize() is no stub: the call ran the traced graph
    assert graph.shape == host.shape and graph.dtype == host.dtype
    np.testing.assert_allclose(graph.asnumpy(), host.asnumpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(make()(data), host.asnumpy())  # NumPy in, NumPy out (host)
    with autograd.record():
        recorded = make()(_nd(data))
    np.testing.assert_allclose(recorded.asnumpy(), host.asnumpy(), rtol=1e-6, atol=1e-6)


def test_resize_graph_path_is_mxnet_opencv_resize():
    x = _nd(_ORACLE_IMG)
    # from MXNet 1.9.1: T.Resize((3, 2)) and T.CropResize(1, 0, 3, 4, size=(2, 3),
    # interpolation=1) on _ORACLE_IMG, channels 0 and 1
    resized = _hybridized(T.Resize((3, 2)))(x).asnumpy()
    assert resized[..., 0].tolist() == [[59, 116, 172], [145, 74, 88]]
    cropped = _hybridized(T.CropResize(1, 0, 3, 4, size=(2, 3)))(x).asnumpy()
    assert cropped[..., 1].tolist() == [[119, 93], [176, 151], [73, 208]]
    # the host path's NumPy bilinear is within 1 of it on uint8
    assert np.abs(T.Resize((3, 2))(_ORACLE_IMG).astype(int) - resized).max() <= 1


def test_symbol_inputs_give_mxnet_image_ops():
    data = mx.sym.var("data")
    img = _img()
    out = T.HybridCompose([T.Resize(4), T.ToTensor(), T.Normalize(0.5, 0.25)])(data)
    assert isinstance(out, mx.sym.Symbol)
    ops = [n["op"] for n in json.loads(out.tojson())["nodes"]]
    assert ops == ["null", "_image_resize", "_image_to_tensor", "_image_normalize"]
    got = out.bind(mx.cpu(), {"data": _nd(img)}).forward()[0]
    expect = T.Compose([T.Resize(4), T.ToTensor(), T.Normalize(0.5, 0.25)])(img)
    np.testing.assert_allclose(got.asnumpy(), expect, atol=1 / 255 / 0.25 + 1e-6)
    flip = T.RandomFlipLeftRight(p=1.0)(data)  # p != 0.5: composed from F ops
    got = flip.bind(mx.cpu(), {"data": _nd(_img((2, 6, 7, 3)))}).forward()[0]
    np.testing.assert_array_equal(got.asnumpy(), _img((2, 6, 7, 3))[:, :, ::-1])


# -- gradients ----------------------------------------------------------------------------------

def test_gradient_through_to_tensor_and_normalize():
    img = _img().astype(np.float32)
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    x = nd.array(img)
    x.attach_grad()
    with autograd.record():
        y = T.Normalize(mean, std)(T.ToTensor()(x))
        loss = (y * y).sum()
    loss.backward()
    s = np.reshape(std, (3, 1, 1))
    pre = (img.transpose(2, 0, 1) / 255.0 - np.reshape(mean, (3, 1, 1))) / s
    np.testing.assert_allclose(x.grad.asnumpy(), (2 * pre / s / 255.0).transpose(1, 2, 0),
                               rtol=1e-5, atol=1e-9)


def test_gradient_through_flip_crop_and_hybridized_net():
    rs = np.random.RandomState(3)
    x = nd.array(rs.rand(6, 7, 3).astype(np.float32))
    w = rs.rand(4, 3, 3).astype(np.float32)
    x.attach_grad()
    net = _hybridized(T.RandomFlipLeftRight(p=1.0), T.CropResize(1, 2, 3, 4))
    with autograd.record():
        loss = (net(x) * nd.array(w)).sum()
    loss.backward()
    expect = np.zeros((6, 7, 3), np.float32)
    expect[2:6, 1:4] = w
    np.testing.assert_allclose(x.grad.asnumpy(), expect[:, ::-1])


# -- random transforms in a graph ---------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: T.RandomFlipLeftRight(), lambda: T.RandomFlipTopBottom(p=0.3),
    lambda: T.RandomBrightness(0.5), lambda: T.RandomContrast(0.5),
    lambda: T.RandomSaturation(0.5), lambda: T.RandomHue(0.3),
    lambda: T.RandomColorJitter(0.3, 0.3, 0.3, 0.1), lambda: T.RandomLighting(0.5),
    lambda: T.RandomGray(0.5), lambda: T.RandomCrop(4, pad=1),
    lambda: T.HybridRandomApply(T.RandomFlipLeftRight(p=1.0))])
def test_random_transforms_redraw_per_call_and_follow_the_seed(make):
    x = _nd(_img((2, 6, 7, 3)))
    net = _hybridized(make())
    net(x)  # builds the graph
    mx.random.seed(11)
    first = [net(x).asnumpy() for _ in range(12)]
    mx.random.seed(11)
    again = [net(x).asnumpy() for _ in range(12)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(first[0], a) for a in first[1:])


def test_flip_probability_and_batches_in_a_graph():
    mx.random.seed(11)  # the bounds are ~3 standard deviations: fixed draws, no flakes
    batch = _img((8, 6, 7, 3))
    net = _hybridized(T.RandomFlipLeftRight(p=0.25))
    flips = []
    for _ in range(40):
        out = net(_nd(batch)).asnumpy()
        for img, o in zip(batch, out):  # a coin per image, as on the host
            flipped = np.array_equal(o, img[:, ::-1])
            assert flipped or np.array_equal(o, img)
            flips.append(flipped)
    assert 0.17 < np.mean(flips) < 0.33
    img = _img()
    mxnet_op = _hybridized(T.RandomFlipTopBottom())  # p = 0.5 on an image: MXNet's op
    seen = {np.array_equal(mxnet_op(_nd(img)).asnumpy(), img) for _ in range(30)}
    assert seen == {True, False}


def test_colour_transforms_on_batches_in_a_graph():
    batch = _img((3, 6, 7, 3)).astype(np.float32) + 1
    out = _hybridized(T.RandomBrightness(0.5))(nd.array(batch)).asnumpy()
    ratio = out / batch  # one factor for the whole batch, as on the host
    np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-5)
    assert 0.5 <= ratio.flat[0] <= 1.5
    out = _hybridized(T.RandomContrast(0.5))(nd.array(batch)).asnumpy()
    gray = (batch.astype(np.float64) @ [0.299, 0.587, 0.114]).mean()
    far = np.abs(batch - gray) > 5
    alpha = (out - gray)[far] / (batch - gray)[far]
    np.testing.assert_allclose(alpha, alpha[0], rtol=1e-3)
    u8 = _hybridized(T.RandomColorJitter(0.3, 0.3, 0.3, 0.1))(_nd(_img((3, 6, 7, 3))))
    assert u8.shape == (3, 6, 7, 3) and u8.dtype == np.uint8


def test_host_colour_results_truncate_like_mxnet():
    img = _img()
    for make in (lambda: T.RandomBrightness(0.5), lambda: T.RandomSaturation(0.5),
                 lambda: T.RandomHue(0.3)):
        mx.random.seed(4)
        f = make()(img.astype(np.float32))
        mx.random.seed(4)
        u8 = make()(img)
        # MXNet 1.9.1 gives exactly clip(trunc(float result)) for uint8 images
        np.testing.assert_array_equal(u8, np.clip(np.trunc(f), 0, 255).astype(np.uint8))


def test_graph_random_crop_and_random_apply():
    img = _img()
    padded = np.pad(img, ((1, 0), (3, 2), (0, 0)), constant_values=7)
    net = _hybridized(T.RandomCrop((5, 4), pad=(1, 0, 3, 2), pad_value=7))
    for _ in range(8):
        out = net(_nd(img)).asnumpy()
        assert any(np.array_equal(out, padded[y:y + 4, x:x + 5])
                   for y in range(padded.shape[0] - 3) for x in range(padded.shape[1] - 4))
    assert _hybridized(T.RandomCrop(10))(_nd(img)).shape == (10, 10, 3)
    apply = _hybridized(T.HybridRandomApply([T.RandomFlipLeftRight(p=1.0)], p=0.5))
    outs = [apply(_nd(img)).asnumpy() for _ in range(30)]
    assert all(np.array_equal(o, img) or np.array_equal(o, img[:, ::-1]) for o in outs)
    assert {np.array_equal(o, img) for o in outs} == {True, False}


# -- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize("make, data, match", [
    (lambda: T.RandomBrightness(0.1), np.ones((6, 7, 4), "f"), "RandomBrightness.*C = 1 or 3"),
    (lambda: T.RandomHue(0.1), np.ones((6, 7), "f"), r"RandomHue.*\(H, W, C\)"),
    (lambda: T.RandomContrast(0.1), np.ones((6, 7, 3), "int32"),
     "RandomContrast.*uint8 or float.*int32"),
    (lambda: T.Normalize((1, 2), 1.0), np.ones((3, 2, 2), "f"), "mean with 1 or 3 values"),
    (lambda: T.CropResize(5, 0, 4, 2), _img(), "does not fit"),
    (lambda: T.RandomGray(), np.ones((4, 4, 1), "f"), "RGB"),
    (lambda: T.Resize(3), np.ones((5, 5, 3), "int32"), "Resize.*uint8, float32 or float64"),
    (lambda: T.HybridRandomApply(T.ToTensor()), _img(), "HybridRandomApply.*keep the shape"),
])
def test_graph_mode_refuses_what_it_cannot_compute(make, data, match):
    with pytest.raises(MXNetError, match=match):
        _hybridized(make())(_nd(data))


def test_random_crop_of_a_symbol_names_the_problem():
    with pytest.raises(MXNetError, match="RandomCrop: a Symbol's shape is unknown"):
        T.RandomCrop(3)(mx.sym.var("data"))


# -- pipelines ----------------------------------------------------------------------------------

def test_extra_arguments_hooks_and_numpy_input():
    img = _img()
    t = T.RandomFlipLeftRight(p=1.0)
    calls = []
    t.register_forward_hook(lambda block, args, out: calls.append(len(args)))
    out, label = t(img, 3)
    assert label == 3 and calls == [2]
    np.testing.assert_array_equal(out, img[:, ::-1])
    t.hybridize()  # NumPy input stays on the host even so
    out = t(img)
    assert isinstance(out, np.ndarray)
    out, label = t(_nd(img), 5)  # the label stays out of the graph
    assert label == 5 and t._cached_op is not None
    np.testing.assert_array_equal(out.asnumpy(), img[:, ::-1])
    out, label = T.HybridCompose([T.ToTensor()])(img, "cat")
    assert label == "cat" and out.shape == (3, 6, 7)


def test_pickling_and_dataloader_workers():
    imgs = np.stack([_img(seed=i) for i in range(6)])
    tf = T.Compose([T.ToTensor(), T.Normalize((0.5, 0.4, 0.3), (0.2, 0.2, 0.2))])
    data = ArrayDataset(nd.array(imgs, dtype=np.uint8), np.arange(6)).transform_first(tf)
    single = [b[0].asnumpy() for b in DataLoader(data, batch_size=3)]
    multi = [b[0].asnumpy() for b in DataLoader(data, batch_size=3, num_workers=2)]
    for a, b in zip(single, multi):
        np.testing.assert_array_equal(a, b)
    hyb = T.HybridCompose([T.ToTensor(), T.Normalize(0.5, 0.25)])
    hyb.hybridize()
    expect = hyb(_nd(imgs[0])).asnumpy()
    for t in (tf, hyb, T.HybridRandomApply([T.RandomBrightness(0.1)]), T.RandomApply(T.Rotate(3))):
        copy = pickle.loads(pickle.dumps(t))
        assert type(copy) is type(t) and copy.prefix == t.prefix
    np.testing.assert_allclose(pickle.loads(pickle.dumps(hyb))(_nd(imgs[0])).asnumpy(), expect)


# -- found by MXNet 1.9.1's tests/python/unittest/test_gluon_data_vision.py ----------------------

@pytest.mark.parametrize("make", [
    lambda: T.Resize(-150, keep_ratio=True), lambda: T.Resize(0), lambda: T.Resize((-5, 5)),
    lambda: T.Resize((100, 100, 100), keep_ratio=True), lambda: T.CropResize(0, 0, -100, -50),
    lambda: T.CropResize(0, 0, 4, 3, (-25, 25), 2)])
def test_bad_sizes_construct_and_raise_on_the_call(make):
    # MXNet 1.9.1's constructors take these; the call raises (its test builds them outside
    # assertRaises). Host path and graph path alike.
    t = make()
    with pytest.raises(MXNetError):
        t(_nd(_img()))
    with pytest.raises(MXNetError):
        with autograd.record():
            t(nd.array(_img(), dtype="float32"))


# CropResize(1, 0, 3, 4, (5, 3), interp) of this image, channel 0 (MXNet 1.9.1 outputs).
_CROP_IMG = ((np.arange(60).reshape(5, 4, 3) * 4) % 256).astype(np.uint8)
_CROP_RESIZE_MXNET = {
    2: [[17, 22, 30, 38, 43], [83, 88, 96, 104, 109], [149, 154, 162, 170, 175]],
    3: [[24, 28, 36, 44, 48], [84, 88, 96, 104, 108], [144, 148, 156, 164, 168]],
    4: [[17, 21, 29, 38, 42], [83, 87, 96, 104, 109], [150, 154, 163, 171, 175]]}


@pytest.mark.parametrize("interp", [2, 3, 4])
def test_host_crop_resize_and_center_crop_take_every_opencv_interpolation(interp):
    # The host path used to refuse interpolation 2-4 (MXNet's test uses CropResize(..., 2)).
    t = T.CropResize(1, 0, 3, 4, (5, 3), interp)
    out = t(_nd(_CROP_IMG))
    assert out.dtype == np.uint8 and out.shape == (3, 5, 3)
    np.testing.assert_array_equal(out.asnumpy()[..., 0], _CROP_RESIZE_MXNET[interp])
    batch = t(_nd(np.stack([_CROP_IMG, _CROP_IMG])))
    np.testing.assert_array_equal(batch.asnumpy()[1, ..., 0], _CROP_RESIZE_MXNET[interp])
    with autograd.record():   # the graph path (F.image.resize) agrees
        np.testing.assert_array_equal(t(_nd(_CROP_IMG)).asnumpy(), out.asnumpy())


def test_center_crop_upscales_with_bicubic_like_mxnet():
    # CenterCrop((5, 6), 2) of a 5x4 float image: the 4x3 centre crop is resized bicubically;
    # channel 1, first row and last row, from MXNet 1.9.1.
    img = np.arange(60).reshape(5, 4, 3) * 0.5
    out = T.CenterCrop((5, 6), 2)(nd.array(img)).asnumpy()[..., 1]
    assert out.shape == (6, 5)
    np.testing.assert_allclose(out[0], [-0.112, 0.8953, 2.2292, 3.563, 4.5703], atol=1e-4)
    np.testing.assert_allclose(out[5], [18.9297, 19.937, 21.2708, 22.6047, 23.612], atol=1e-4)


def test_host_uint8_bilinear_resize_is_opencv_bit_for_bit():
    # The host path used to round uint8 bilinear results in float (off by 1 in ~10% of the
    # pixels); MXNet 1.9.1 gives these (Resize((3, 4)) channel 0, Resize((7, 6)) channel 2 row 1).
    img = ((np.arange(60).reshape(5, 4, 3) * 37) % 256).astype(np.uint8)
    np.testing.assert_array_equal(T.Resize((3, 4))(_nd(img)).asnumpy()[..., 0],
                                  [[36, 158, 92], [154, 121, 87], [96, 116, 136], [198, 143, 88]])
    np.testing.assert_array_equal(T.Resize((7, 6))(img)[..., 2][1],
                                  [23, 62, 126, 157, 175, 129, 100])
