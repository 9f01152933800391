"""``gluon.model_zoo.vision``: every model builds with MXNet's names and parameter counts, runs
eagerly and hybridized, exports, saves/loads, loads local pretrained weights, and trains.

The big networks run on the NumPy backend with tiny inputs (batch 1-2, 8x8 to 32x32); one small
residual network runs on every backend (``ctx``). Parameter counts are checked against counts
computed here from the architectures' definitions, layer by layer, and against published
figures where MXNet's layers equal torchvision's.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd, gluon
from mxplug.base import MXNetError, MXNetValueError
from mxplug.gluon.model_zoo import model_store, vision
from mxplug.ops import conv as conv_ops

MODEL_NAMES = sorted(vision._MODELS)
#: Too deep to be worth a real forward pass here (same blocks as resnet50, more of them): their
#: output shape comes from shape inference on the Symbol graph instead.
#: So are the models whose fixed-size final pooling needs ImageNet-sized inputs.
SYMBOLIC_ONLY = {"resnet101_v1", "resnet101_v2", "resnet152_v1", "resnet152_v2", "densenet121",
                 "densenet161", "densenet169", "densenet201", "squeezenet1.0", "inceptionv3"}
#: The smallest input each such model takes (MXNet's test_gluon_model_zoo uses 224, 299).
_MIN_SIZE = {"alexnet": 63, "squeezenet1.0": 224, "squeezenet1.1": 224, "inceptionv3": 299,
             **{f"densenet{n}": 224 for n in (121, 161, 169, 201)}}


def _input_shape(name, size=32):
    if name == "mlp":
        return (2, 784)
    if name == "lenet":
        return (2, 1, 28, 28)
    size = _MIN_SIZE.get(name, size)
    return (1, 3, size, size)


def _cheap_init(net):
    """Constant weights: the random initializers cost seconds on 100M+ parameters, and shapes
    do not depend on values."""
    for p in net.collect_params().values():
        p.init = mx.init.Constant(0.01)
    net.initialize()


def _symbolic(net, shape):
    """(output shapes, {parameter name: shape}) by shape inference on the traced graph."""
    out = net(mx.sym.var("data"))
    args, outs, aux = out.infer_shape(data=shape)
    shapes = dict(zip(out.list_arguments(), args))
    shapes.update(zip(out.list_auxiliary_states(), aux))
    shapes.pop("data")
    return outs, shapes


# -- every model: builds, output shape ------------------------------------------------------------
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_builds_and_gives_the_output_shape(name):
    net = vision.get_model(name, classes=7)
    assert isinstance(net, gluon.HybridBlock)
    assert hasattr(net, "features") and hasattr(net, "output")
    shape = _input_shape(name)
    if name in SYMBOLIC_ONLY:
        outs, _ = _symbolic(net, shape)
        assert outs == [(1, 7)]
        return
    _cheap_init(net)
    y = net(mx.nd.ones(shape))
    assert y.shape == (shape[0], 7)
    assert np.isfinite(y.asnumpy()).all()


def test_get_model_is_case_insensitive_and_matches_the_constructors():
    assert type(vision.get_model("ResNet18_V1")) is vision.ResNetV1
    assert type(vision.get_model("resnet50_v2")) is vision.ResNetV2
    assert type(vision.get_model("mobilenet0.5")) is vision.MobileNet
    assert type(vision.get_model("mobilenetv2_0.25")) is vision.MobileNetV2
    assert type(vision.get_model("vgg16_bn")) is vision.VGG
    assert type(vision.get_model("lenet")) is vision.LeNet
    assert type(mx.gluon.model_zoo.get_model("mlp")) is vision.MLP
    assert vision.get_resnet(2, 34).__class__ is vision.ResNetV2


def test_get_model_unknown_name_lists_the_known_ones():
    with pytest.raises(MXNetValueError) as err:
        vision.get_model("resnet19_v1")
    msg = str(err.value)
    assert "resnet19_v1" in msg and "resnet18_v1" in msg and "mobilenetv2_1.0" in msg
    assert isinstance(err.value, ValueError)  # what MXNet raises
    assert "alexnet" in msg and "densenet121" in msg and "inceptionv3" in msg


def test_invalid_depth_and_version_are_rejected():
    with pytest.raises(AssertionError, match="Invalid number of layers"):
        vision.get_resnet(1, 20)
    with pytest.raises(AssertionError, match="Invalid resnet version"):
        vision.get_resnet(3, 18)
    with pytest.raises(AssertionError, match="Invalid number of layers"):
        vision.get_vgg(12)


# -- structure and names as in MXNet 1.x --------------------------------------------------------
def test_resnet_parameter_names_and_structure_follow_mxnet():
    net = vision.resnet18_v1(prefix="resnetv10_")
    names = list(net.collect_params())
    assert names[:5] == ["resnetv10_conv0_weight", "resnetv10_batchnorm0_gamma",
                         "resnetv10_batchnorm0_beta", "resnetv10_batchnorm0_running_mean",
                         "resnetv10_batchnorm0_running_var"]
    # stage 2 starts with the strided block: body conv0/conv1, then the projection conv2
    for n in ("resnetv10_stage1_conv3_weight", "resnetv10_stage2_conv2_weight",
              "resnetv10_stage2_batchnorm2_running_var", "resnetv10_dense0_weight",
              "resnetv10_dense0_bias"):
        assert n in names
    assert len(net.features) == 9          # conv, bn, relu, pool, 4 stages, global pool
    structural = set(net._collect_params_with_prefix())
    assert {"features.0.weight", "features.4.0.body.0.weight", "features.5.0.downsample.0.weight",
            "features.5.0.downsample.1.running_mean", "output.weight"} <= structural
    thumb = vision.resnet18_v1(thumbnail=True)
    assert len(thumb.features) == 6        # the CIFAR stem is a single 3x3 convolution
    stem = thumb.features[0]
    assert stem._kwargs["kernel"] == (3, 3) and stem._kwargs["stride"] == (1, 1)
    v2 = vision.resnet50_v2(prefix="resnetv20_")
    names2 = list(v2.collect_params())
    assert names2[0] == "resnetv20_batchnorm0_gamma"    # the data BatchNorm (no scale/center)
    assert "resnetv20_stage1_conv3_weight" in names2      # the bottleneck's projection
    assert "resnetv20_stage1_conv0_bias" not in names2


def test_bottleneck_v1_has_biases_in_its_1x1_convolutions_as_mxnet():
    names = list(vision.resnet50_v1(prefix="r_").collect_params())
    assert "r_stage1_conv0_bias" in names and "r_stage1_conv2_bias" in names
    assert "r_stage1_conv1_bias" not in names and "r_stage1_conv3_bias" not in names


def test_mobilenet_and_vgg_parameter_names_follow_mxnet():
    m1 = list(vision.mobilenet1_0(prefix="mobilenet0_").collect_params())
    assert m1[0] == "mobilenet0_conv0_weight" and m1[-1] == "mobilenet0_dense0_bias"
    m2 = list(vision.mobilenet_v2_1_0(prefix="mobilenetv20_").collect_params())
    assert m2[0] == "mobilenetv20_features_conv0_weight"
    assert "mobilenetv20_features_linearbottleneck0_conv0_weight" in m2
    assert "mobilenetv20_features_linearbottleneck16_batchnorm2_running_var" in m2
    assert m2[-1] == "mobilenetv20_output_pred_weight"
    v = list(vision.vgg11_bn(prefix="vgg0_").collect_params())
    assert v[:2] == ["vgg0_conv0_weight", "vgg0_conv0_bias"]
    assert "vgg0_batchnorm7_running_var" in v and v[-1] == "vgg0_dense2_bias"


# -- parameter counts ------------------------------------------------------------------------------
def _conv(cin, cout, k, bias=False, groups=1):
    return cout * cin // groups * k * k + (cout if bias else 0)


def _bn(c):
    return 4 * c                                 # gamma, beta, running mean and variance


def _resnet_count(version, num_layers, classes=1000):
    """Parameters (trainable + BN statistics) of MXNet's ResNet, from the paper's tables."""
    kind, layers, channels = vision.resnet.resnet_spec[num_layers]
    n = _conv(3, 64, 7) + (_bn(64) if version == 1 else _bn(3) + _bn(64))
    cin = channels[0]
    for stage, (count, c) in enumerate(zip(layers, channels[1:])):
        for i in range(count):
            down = i == 0 and (stage > 0 or cin != c)
            if kind == "basic_block":
                n += _conv(cin, c, 3) + _conv(c, c, 3) + (_bn(c) * 2 if version == 1
                                                          else _bn(cin) + _bn(c))
            elif version == 1:
                m = c // 4
                n += (_conv(cin, m, 1, bias=True) + _conv(m, m, 3) + _conv(m, c, 1, bias=True)
                      + 2 * _bn(m) + _bn(c))
            else:
                m = c // 4
                n += _conv(cin, m, 1) + _conv(m, m, 3) + _conv(m, c, 1) + _bn(cin) + 2 * _bn(m)
            if down:
                n += _conv(cin, c, 1) + (_bn(c) if version == 1 else 0)
            cin = c
    if version == 2:
        n += _bn(cin)
    return n + cin * classes + classes


def _vgg_count(num_layers, batch_norm, classes=1000):
    layers, filters = vision.vgg.vgg_spec[num_layers]
    n, cin = 0, 3
    for count, c in zip(layers, filters):
        for _ in range(count):
            n += _conv(cin, c, 3, bias=True) + (_bn(c) if batch_norm else 0)
            cin = c
    return n + (512 * 7 * 7 + 1) * 4096 + (4096 + 1) * 4096 + (4096 + 1) * classes


def _mobilenet_count(multiplier, classes=1000):
    def sep(dw, c):
        return _conv(dw, dw, 3, groups=dw) + _bn(dw) + _conv(dw, c, 1) + _bn(c)
    a = [int(x * multiplier) for x in (32, 64, 128, 128, 256, 256, *[512] * 6, 1024, 1024)]
    n = _conv(3, a[0], 3) + _bn(a[0])
    n += sum(sep(a[i], a[i + 1]) for i in range(len(a) - 1))
    return n + a[-1] * classes + classes


def _mobilenet_v2_count(multiplier, classes=1000):
    settings = [(1, 16, 1), (6, 24, 2), (6, 32, 3), (6, 64, 4), (6, 96, 3), (6, 160, 3),
                (6, 320, 1)]                     # (expansion t, channels c, repeats n)
    cin = int(32 * multiplier)
    n = _conv(3, cin, 3) + _bn(cin)
    for t, c, reps in settings:
        c = int(c * multiplier)
        for _ in range(reps):
            e = cin * t
            n += _conv(cin, e, 1) + _bn(e) + _conv(e, e, 3, groups=e) + _bn(e)
            n += _conv(e, c, 1) + _bn(c)
            cin = c
    last = int(1280 * multiplier) if multiplier > 1 else 1280
    return n + _conv(cin, last, 1) + _bn(last) + last * classes   # classifier: 1x1 conv, no bias


def _count(shapes):
    return sum(math.prod(s) for s in shapes.values())


@pytest.mark.parametrize("name,expected", [
    ("resnet18_v1", _resnet_count(1, 18)), ("resnet34_v1", _resnet_count(1, 34)),
    ("resnet50_v1", _resnet_count(1, 50)), ("resnet101_v1", _resnet_count(1, 101)),
    ("resnet18_v2", _resnet_count(2, 18)), ("resnet50_v2", _resnet_count(2, 50)),
    ("vgg11", _vgg_count(11, False)), ("vgg16_bn", _vgg_count(16, True)),
    ("mobilenet1.0", _mobilenet_count(1.0)), ("mobilenet0.25", _mobilenet_count(0.25)),
    ("mobilenetv2_1.0", _mobilenet_v2_count(1.0)), ("mobilenetv2_0.5", _mobilenet_v2_count(0.5)),
])
def test_parameter_counts_at_imagenet_size(name, expected):
    net = vision.get_model(name)
    outs, shapes = _symbolic(net, (1, 3, 224, 224))
    assert outs == [(1, 1000)]
    assert _count(shapes) == expected
    assert set(shapes) == set(net.collect_params())


def test_parameter_counts_match_published_figures():
    # torchvision's published trainable counts, plus 2 BN statistics per BN channel (MXNet
    # counts running_mean/var as parameters): its resnet18 and VGGs have MXNet's layers
    bn18 = 64 + 4 * 64 + (4 * 128 + 128) + (4 * 256 + 256) + (4 * 512 + 512)
    assert _count(_symbolic(vision.resnet18_v1(), (1, 3, 224, 224))[1]) == 11_689_512 + 2 * bn18
    assert 11_689_512 + 2 * bn18 == 11_699_112
    assert _count(_symbolic(vision.vgg11(), (1, 3, 224, 224))[1]) == 132_863_336
    assert _count(_symbolic(vision.vgg16(), (1, 3, 224, 224))[1]) == 138_357_544
    assert _count(_symbolic(vision.vgg16_bn(), (1, 3, 224, 224))[1]) == 138_365_992 + 2 * 4224


# -- hybridize, export, save / load, pretrained --------------------------------------------------
def _small_resnet(ctx=None, classes=4):
    """A 2-stage ResNet V1 (thumbnail stem, BasicBlockV1, 4/8 channels) for quick checks."""
    net = vision.ResNetV1(vision.BasicBlockV1, [1, 1], [4, 4, 8], classes=classes,
                          thumbnail=True)
    net.initialize(mx.init.Xavier(), ctx=ctx)
    return net


def _forward_and_grads(net, x):
    with autograd.record():
        y = net(x)
        loss = (y * y).sum()
    loss.backward()
    grads = {k: p.grad().asnumpy().copy() for k, p in net.collect_params().items()
             if p.grad_req != "null"}
    return y.asnumpy(), grads


@pytest.mark.parametrize("make,size", [
    # each residual block kind in a 2-stage network (a full ResNet's random initialization alone
    # takes seconds), and two whole zoo models
    (lambda: vision.ResNetV1(vision.BasicBlockV1, [1, 1], [8, 8, 16], classes=5,
                             thumbnail=True), 8),
    (lambda: vision.ResNetV1(vision.BottleneckV1, [1, 1], [8, 16, 32], classes=5), 16),
    (lambda: vision.ResNetV2(vision.BasicBlockV2, [1, 1], [8, 8, 16], classes=5,
                             thumbnail=True), 8),
    (lambda: vision.ResNetV2(vision.BottleneckV2, [1, 1], [8, 16, 32], classes=5), 16),
    (lambda: vision.mobilenet_v2_0_25(classes=10), 32),
    (lambda: vision.mobilenet0_25(classes=10), 32),
], ids=["basic_v1", "bottleneck_v1", "basic_v2", "bottleneck_v2", "mobilenet_v2_0_25",
        "mobilenet0_25"])
def test_hybridized_equals_eager(make, size):
    eager, hyb = make(), make()
    eager.initialize(mx.init.Xavier())
    hyb.initialize()
    x = mx.nd.array(np.random.default_rng(0).normal(size=(2, 3, size, size)))
    _copy_params(eager, hyb, x)
    hyb.hybridize()
    np.testing.assert_allclose(hyb(x).asnumpy(), eager(x).asnumpy(), rtol=1e-4, atol=1e-5)
    eager_y, eager_grads = _forward_and_grads(eager, x)       # training mode: batch statistics
    hyb_y, hyb_grads = _forward_and_grads(hyb, x)
    np.testing.assert_allclose(hyb_y, eager_y, rtol=1e-4, atol=1e-5)
    for (k, g), h in zip(eager_grads.items(), hyb_grads.values()):
        np.testing.assert_allclose(h, g, rtol=1e-3, atol=1e-4, err_msg=k)
    for p, q in zip(eager.collect_params(".*running_.*").values(),   # BN statistics updated alike
                    hyb.collect_params(".*running_.*").values()):
        np.testing.assert_allclose(q.data().asnumpy(), p.data().asnumpy(), rtol=1e-4, atol=1e-6)


def _copy_params(src, dst, x, ctx=None):
    """Copy ``src``'s parameter values into ``dst`` (same architecture, other prefix), after a
    forward pass of ``x`` through both has finished their deferred initialization."""
    src(x.as_in_context(mx.cpu()) if ctx is not None else x)
    dst(x.as_in_context(ctx) if ctx is not None else x)
    for p, q in zip(dst.collect_params().values(), src.collect_params().values()):
        assert p.shape == q.shape, (p.name, q.name)
        p.set_data(mx.nd.array(q.data().asnumpy(), ctx=ctx))


def test_small_resnet_on_every_backend_matches_numpy(ctx):
    ref = _small_resnet(mx.cpu())
    net = _small_resnet(ctx)
    x = np.random.default_rng(1).normal(size=(2, 3, 6, 6)).astype(np.float32)
    _copy_params(ref, net, mx.nd.array(x, ctx=mx.cpu()), ctx)
    want_y, want_g = _forward_and_grads(ref, mx.nd.array(x, ctx=mx.cpu()))
    net.hybridize()
    got_y, got_g = _forward_and_grads(net, mx.nd.array(x, ctx=ctx))
    np.testing.assert_allclose(got_y, want_y, rtol=1e-4, atol=1e-4)
    for k, g in want_g.items():
        got = got_g[k.replace(ref.prefix, net.prefix, 1)]
        np.testing.assert_allclose(got, g, rtol=1e-3, atol=1e-3, err_msg=k)


def test_export_and_symbolblock_imports_round_trip(tmp_path):
    net = vision.mobilenet_v2_0_25(classes=10)
    net.initialize(mx.init.Xavier())
    net.hybridize()
    x = mx.nd.array(np.random.default_rng(2).normal(size=(2, 3, 32, 32)))
    want = net(x).asnumpy()
    sym_file, params_file = net.export(str(tmp_path / "mobilenetv2"), epoch=1)
    assert os.path.basename(sym_file) == "mobilenetv2-symbol.json"
    assert os.path.basename(params_file) == "mobilenetv2-0001.params"
    back = gluon.SymbolBlock.imports(sym_file, ["data"], params_file)
    np.testing.assert_allclose(back(x).asnumpy(), want, rtol=1e-5, atol=1e-6)


def test_save_load_parameters_and_pretrained_from_local_files(tmp_path):
    def make(**kw):
        return vision.mobilenet0_25(classes=10, **kw)
    net = make()
    net.initialize(mx.init.Xavier())
    x = mx.nd.array(np.random.default_rng(3).normal(size=(1, 3, 32, 32)))
    want = net(x).asnumpy()
    path = str(tmp_path / "mobilenet0.25.params")      # the name get_model uses
    net.save_parameters(path)

    other = make()
    other.load_parameters(path)
    np.testing.assert_allclose(other(x).asnumpy(), want, rtol=1e-6)
    by_root = make(pretrained=True, root=str(tmp_path))
    np.testing.assert_allclose(by_root(x).asnumpy(), want, rtol=1e-6)
    by_path = vision.get_model("mobilenet0.25", pretrained=path, classes=10, ctx=mx.cpu())
    np.testing.assert_allclose(by_path(x).asnumpy(), want, rtol=1e-6)

    # MXNet's cached file name (<name>-<sha1 prefix>.params) in MXNet's binary format
    hashed = tmp_path / "mx"
    hashed.mkdir()
    arrays = {k: p.data() for k, p in net._collect_params_with_prefix().items()}
    mx.nd.save(str(hashed / "mobilenet0.25-9f83e440.params"), arrays)
    assert model_store.get_model_file("mobilenet0.25", root=str(hashed)).endswith(
        "mobilenet0.25-9f83e440.params")
    mxnet_file = make(pretrained=True, root=str(hashed))
    np.testing.assert_allclose(mxnet_file(x).asnumpy(), want, rtol=1e-6)


def test_pretrained_without_a_local_file_says_there_is_no_download(tmp_path, monkeypatch):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path / "home"))
    with pytest.raises(model_store.PretrainedFileNotFoundError) as err:
        vision.mobilenet0_25(pretrained=True)
    msg = str(err.value)
    assert "does not download" in msg and "mobilenet0.25" in msg
    assert os.path.join(str(tmp_path / "home"), "models", "mobilenet0.25.params") in msg
    assert isinstance(err.value, MXNetError) and isinstance(err.value, FileNotFoundError)
    with pytest.raises(model_store.PretrainedFileNotFoundError, match="no file at"):
        vision.vgg11(pretrained=str(tmp_path / "nope.params"))
    with pytest.raises(model_store.PretrainedFileNotFoundError, match="vgg16_bn.params"):
        vision.vgg16_bn(pretrained=True, root=str(tmp_path))
    with pytest.raises(model_store.PretrainedFileNotFoundError, match="mobilenetv2_0.75"):
        vision.get_model("mobilenetv2_0.75", pretrained=True, root=str(tmp_path))
    with pytest.raises(model_store.PretrainedFileNotFoundError,
                       match="'lenet' \\(MXNet publishes no weights for it\\)"):
        vision.lenet(pretrained=True, root=str(tmp_path))


def test_short_hash_names_mxnets_published_files():
    assert model_store.short_hash("resnet18_v1") == "a0666292"  # MXNet 1.9.1's table
    assert model_store.short_hash("mobilenet0.25") == "9f83e440"
    with pytest.raises(ValueError, match="Pretrained model for nope is not available"):
        model_store.short_hash("nope")


def test_pretrained_file_of_another_architecture_is_refused(tmp_path):
    small = vision.lenet()
    small.initialize()
    small(mx.nd.ones((1, 1, 28, 28)))
    small.save_parameters(str(tmp_path / "mlp.params"))
    with pytest.raises(MXNetError):
        vision.mlp(pretrained=True, root=str(tmp_path))


def test_model_store_purge(tmp_path):
    (tmp_path / "a.params").write_bytes(b"x")
    (tmp_path / "keep.txt").write_bytes(b"x")
    model_store.purge(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["keep.txt"]


# -- training --------------------------------------------------------------------------------------
@pytest.mark.parametrize("make,shape", [
    (lambda: vision.ResNetV1(vision.BasicBlockV1, [2, 2], [16, 16, 32], classes=4,
                             thumbnail=True), (8, 3, 8, 8)),
    (lambda: vision.lenet(classes=4), (8, 1, 28, 28)),
])
def test_a_few_training_steps_lower_the_loss(make, shape):
    rng = np.random.default_rng(4)
    net = make()
    net.initialize(mx.init.Xavier())
    net.hybridize()
    x = mx.nd.array(rng.normal(size=shape))
    y = mx.nd.array(rng.integers(0, 4, shape[0]))
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd",
                            {"learning_rate": 0.05, "momentum": 0.9})
    losses = []
    for _ in range(6):
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(shape[0])
        losses.append(float(loss.mean().asscalar()))
    assert losses[-1] < 0.7 * losses[0], losses


# -- the NumPy convolution kernels at ResNet sizes --------------------------------------------
@pytest.mark.parametrize("n,c,f,hw,k,stride,pad,groups,dil", [
    (2, 4, 6, 24, 3, 1, 1, 1, 1),     # >= 512 output positions: per-sample GEMMs
    (3, 6, 4, 8, 3, 2, 1, 2, 1),      # few positions: one GEMM over the batch, grouped
    (2, 5, 3, 9, 1, 2, 0, 1, 1),      # 1x1 strided projection
    (2, 3, 5, 10, 3, 1, 2, 1, 2),     # dilated, stride 1: data gradient as a convolution
])
def test_numpy_conv_kernels_match_the_generic_bodies(n, c, f, hw, k, stride, pad, groups, dil):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(n, c, hw, hw))
    w = rng.normal(size=(f, c // groups, k, k))
    win = dict(kernel=(k, k), stride=(stride, stride), dilate=(dil, dil), pad=(pad, pad))
    attrs = dict(win, num_filter=f, num_group=groups, no_bias=True, layout=None)
    fwd, generic = conv_ops.convolution.kernels["numpy"][0], conv_ops.convolution.generic
    y = fwd(None, x, w, **attrs)
    np.testing.assert_allclose(y, generic(np, x, w, **attrs), rtol=1e-10, atol=1e-10)
    g = rng.normal(size=y.shape)
    wattrs = dict(win, num_filter=f, num_group=groups, layout=None)
    np.testing.assert_allclose(conv_ops.conv_wgrad.kernels["numpy"][0](None, x, g, **wattrs),
                               conv_ops.conv_wgrad.generic(np, x, g, **wattrs), rtol=1e-10,
                               atol=1e-10)
    adj = tuple(hw + 2 * pad - stride * (y.shape[2] - 1) - dil * (k - 1) - 1 for _ in range(2))
    dattrs = dict(win, adj=adj, target_shape=(), num_filter=c, num_group=groups, no_bias=True,
                  layout=None)
    wt = rng.normal(size=(f, c // groups, k, k))
    np.testing.assert_allclose(conv_ops.deconvolution.kernels["numpy"][0](None, g, wt, **dattrs),
                               conv_ops.deconvolution.generic(np, g, wt, **dattrs), rtol=1e-10,
                               atol=1e-10)


# -- AlexNet, SqueezeNet, DenseNet, Inception V3 (MXNet's test_gluon_model_zoo models) ------------
@pytest.mark.parametrize("name, shape, prefix, trainable", [
    # torchvision's published counts: the same layers (Inception V3 without its aux classifier)
    ("alexnet", (1, 3, 224, 224), "alexnet0_", 61_100_840),
    ("squeezenet1.0", (1, 3, 224, 224), "squeezenet0_", 1_248_424),
    ("squeezenet1.1", (1, 3, 224, 224), "squeezenet0_", 1_235_496),
    ("densenet121", (1, 3, 224, 224), "densenet0_", 7_978_856),
    ("inceptionv3", (1, 3, 299, 299), "inception30_", 23_834_568),
])
def test_more_mxnet_models_parameter_counts_and_names(name, shape, prefix, trainable):
    net = vision.get_model(name, prefix=prefix)
    outs, shapes = _symbolic(net, shape)
    assert outs == [(1, 1000)]
    params = net.collect_params()
    assert set(shapes) == set(params)
    assert sum(math.prod(shapes[k]) for k, p in params.items() if p.grad_req != "null") \
        == trainable
    names = list(params)
    assert names[0] == f"{prefix}conv0_weight" and names[-1] in (f"{prefix}dense2_bias",
                                                                  f"{prefix}dense0_bias",
                                                                  f"{prefix}conv25_bias")


def test_more_mxnet_models_structure_and_names():
    dn = list(vision.densenet121(prefix="densenet0_").collect_params())
    assert "densenet0_stage1_conv0_weight" in dn and "densenet0_stage4_batchnorm31_gamma" in dn
    assert "densenet0_batchnorm1_gamma" in dn          # the first transition, outside stages
    inc = list(vision.inception_v3(prefix="inception30_").collect_params())
    assert "inception30_A1_conv0_weight" in inc and "inception30_E2_conv8_weight" in inc
    with pytest.raises(AssertionError, match="Unsupported SqueezeNet version"):
        vision.get_squeezenet("1.2")
    with pytest.raises(AssertionError, match="Invalid number of layers"):
        vision.get_densenet(100)


def test_small_densenet_concatenates_its_input_and_runs():
    # a dense layer's output is its input followed by growth_rate new channels
    net = vision.DenseNet(8, 4, [2, 1], bn_size=2, classes=3)
    net.initialize(mx.init.Xavier())
    x = mx.nd.array(np.random.RandomState(3).uniform(-1, 1, (2, 3, 56, 56)))
    stem = net.features[:4](x)
    block = net.features[4]
    first = block[0](stem)
    assert first.shape == (2, 8 + 4, 14, 14)
    np.testing.assert_allclose(first[:, :8].asnumpy(), stem.asnumpy())
    y = net(x)
    net.hybridize()
    assert y.shape == (2, 3)
    np.testing.assert_allclose(net(x).asnumpy(), y.asnumpy(), rtol=1e-5, atol=1e-6)
