"""mx.onnx.export_model: export, onnx.checker, run in onnxruntime, compare with mxplug (and with
MXNet 1.9.1's own outputs for the models it exported)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import mxplug as mx
from mxplug.base import MXNetError, MXNetNotImplementedError, MXNetValueError
from mxplug.gluon import nn

onnx = pytest.importorskip("onnx", reason="ONNX export needs onnx: pip install 'mxplug[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="the exported models run in onnxruntime: "
                          "pip install 'mxplug[onnx]'")
from .onnx_helpers import (  # noqa: E402  (needs onnx and onnxruntime)
    ATOL,
    RTOL,
    _check_model,
    _export_block_and_compare,
    _export_sym_and_compare,
    _run,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "data", "mxnet-1.9.1")
@pytest.fixture
def rng():
    return np.random.default_rng(7)


def _randomise_bn(net, rng):
    """Running statistics and affine terms away from their initial 0/1."""
    for name, p in net.collect_params().items():
        if name.endswith(("running_mean", "beta")):
            p.set_data(mx.nd.array(rng.uniform(-0.5, 0.5, p.shape).astype(np.float32)))
        elif name.endswith(("running_var", "gamma")):
            p.set_data(mx.nd.array(rng.uniform(0.5, 1.5, p.shape).astype(np.float32)))


# -- models ---------------------------------------------------------------------------------------
def test_mlp_block(tmp_path, rng):
    net = nn.HybridSequential(prefix="mlp_")
    with net.name_scope():
        net.add(nn.Dense(16, activation="relu"), nn.Dropout(0.3), nn.Dense(8, activation="tanh"),
                nn.Dense(4))
    net.initialize(mx.init.Xavier())
    path = _export_block_and_compare(net, [rng.standard_normal((3, 10)).astype(np.float32)],
                                     tmp_path)
    model = onnx.load(path)
    assert [i.name for i in model.graph.input] == ["data"]
    assert [o.name for o in model.graph.output] == ["mlp_dense2_fwd"]   # MXNet's output naming
    assert model.opset_import[0].version == 13
    assert {i.name for i in model.graph.initializer} >= {"mlp_dense0_weight", "mlp_dense2_bias"}


def _cnn():
    net = nn.HybridSequential(prefix="cnn_")
    with net.name_scope():
        net.add(nn.Conv2D(6, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"),
                nn.MaxPool2D(2), nn.Conv2D(8, 3, strides=2, groups=2, use_bias=False),
                nn.BatchNorm(scale=False), nn.Activation("sigmoid"),
                nn.AvgPool2D(2, strides=1, padding=1, ceil_mode=True, count_include_pad=False),
                nn.Flatten(), nn.Dense(5))
    return net


def test_cnn_batchnorm_pooling_flatten(tmp_path, rng):
    net = _cnn()
    net.initialize(mx.init.Xavier())
    x = rng.standard_normal((2, 3, 12, 12)).astype(np.float32)
    net(mx.nd.array(x))
    _randomise_bn(net, rng)
    path = _export_block_and_compare(net, [x], tmp_path)
    ops = [n.op_type for n in onnx.load(path).graph.node]
    assert ops.count("BatchNormalization") == 2 and "MaxPool" in ops and "Flatten" in ops


class _BasicBlock(mx.gluon.HybridBlock):
    """ResNet v1 basic block with a 1x1 projection shortcut (model zoo's BasicBlockV1)."""

    def __init__(self, channels, stride, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.body = nn.HybridSequential(prefix="")
            self.body.add(nn.Conv2D(channels, 3, stride, 1, use_bias=False), nn.BatchNorm(),
                          nn.Activation("relu"), nn.Conv2D(channels, 3, 1, 1, use_bias=False),
                          nn.BatchNorm())
            self.downsample = nn.HybridSequential(prefix="")
            self.downsample.add(nn.Conv2D(channels, 1, stride, use_bias=False), nn.BatchNorm())

    def hybrid_forward(self, F, x):
        return F.Activation(self.body(x) + self.downsample(x), act_type="relu")


def test_resnet_block(tmp_path, rng):
    net = nn.HybridSequential(prefix="resnet_")
    with net.name_scope():
        net.add(nn.Conv2D(4, 3, 1, 1, use_bias=False), nn.BatchNorm(), nn.Activation("relu"),
                _BasicBlock(8, 2), nn.GlobalAvgPool2D(), nn.Flatten(), nn.Dense(3))
    net.initialize(mx.init.Xavier())
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    net(mx.nd.array(x))
    _randomise_bn(net, rng)
    _export_block_and_compare(net, [x], tmp_path)


@pytest.mark.parametrize("act", [
    lambda: nn.Activation("relu"), lambda: nn.Activation("sigmoid"),
    lambda: nn.Activation("tanh"), lambda: nn.Activation("softrelu"),
    lambda: nn.Activation("softsign"), lambda: nn.LeakyReLU(0.1), lambda: nn.PReLU(),
    lambda: nn.ELU(0.7), lambda: nn.SELU(), lambda: nn.GELU(), lambda: nn.Swish(),
], ids=["relu", "sigmoid", "tanh", "softrelu", "softsign", "leaky", "prelu", "elu", "selu",
        "gelu", "swish"])
def test_activations(tmp_path, rng, act):
    net = nn.HybridSequential()
    net.add(nn.Conv2D(3, 1), act())
    net.initialize(mx.init.Uniform(0.5))
    _export_block_and_compare(net, [rng.uniform(-3, 3, (2, 2, 3, 3)).astype(np.float32)],
                              tmp_path)


def test_softmax_family(tmp_path, rng):
    d = mx.sym.var("data")
    outs = [mx.sym.softmax(d, axis=1), mx.sym.log_softmax(d), mx.sym.softmax(d, temperature=2.0),
            mx.sym.SoftmaxActivation(d), mx.sym.SoftmaxActivation(d, mode="channel"),
            mx.sym.SoftmaxOutput(d, mx.sym.var("softmax_label"))]
    sym = mx.sym.Group(outs)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    want = [o.eval(data=mx.nd.array(x), softmax_label=mx.nd.zeros((2,)))[0].asnumpy()
            if o.list_inputs() != ["data"] else o.eval(data=mx.nd.array(x))[0].asnumpy()
            for o in outs]
    path = mx.onnx.export_model(sym, {}, [x.shape], onnx_file_path=str(tmp_path / "sm.onnx"))
    model = _check_model(path)
    assert [i.name for i in model.graph.input] == ["data"]     # the label is not an input
    got = _run(path, [x])
    assert len(got) == len(want) == 6
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL)


def test_concat_reshape_and_tensor_ops(tmp_path, rng):
    a, b = mx.sym.var("a"), mx.sym.var("b")
    r1 = mx.sym.reshape(a, shape=(0, -1))                     # (2, 12)
    r2 = mx.sym.reshape(a, shape=(-3, -2))                    # (6, 4)
    r3 = mx.sym.reshape(a, shape=(0, -4, 1, -1, 0))           # (2, 1, 3, 4)
    r4 = mx.sym.reshape(a, shape=(-2,), reverse=True)
    cat = mx.sym.concat(r1, mx.sym.Flatten(b), dim=1)         # (2, 12 + 6)
    arith = mx.sym.broadcast_add(a, mx.sym.sum(b, axis=2, keepdims=True)) * 2.0 - 1.0
    arith = 1.0 / (mx.sym.abs(arith) + 1.0) + mx.sym.maximum(a, 0.5)
    math_ = mx.sym.sqrt(mx.sym.exp(mx.sym.clip(a, -1, 1))) + mx.sym.log(mx.sym.abs(a) + 1)
    moves = [mx.sym.transpose(a, axes=(2, 0, 1)), mx.sym.slice(a, begin=(None, 1), end=(None, 3)),
             mx.sym.slice_axis(a, axis=2, begin=1, end=None), mx.sym.expand_dims(a, axis=1),
             mx.sym.mean(a, axis=(1, 2)), mx.sym.sum(a), mx.sym.max(a, axis=1, exclude=True),
             mx.sym.split(a, num_outputs=3, axis=1, squeeze_axis=True)[1],
             mx.sym.stack(a, a, axis=1), mx.sym.tile(b, reps=(2, 1)), mx.sym.flip(a, axis=1),
             mx.sym.argmax(a, axis=2), mx.sym.broadcast_to(mx.sym.sum(a, axis=1, keepdims=True),
                                                           shape=(2, 3, 4)),
             a > 0.1, mx.sym.where(a > 0, a, -a), mx.sym.square(a), mx.sym.rsqrt(mx.sym.abs(a) + 1),
             mx.sym.swapaxes(a, dim1=0, dim2=2), mx.sym.round(a * 3), a % 0.7]
    sym = mx.sym.Group([r1, r2, r3, r4, cat, arith, math_] + moves)
    inputs = {"a": rng.standard_normal((2, 3, 4)).astype(np.float32),
              "b": rng.standard_normal((2, 3, 2)).astype(np.float32)}
    _export_sym_and_compare(sym, inputs, {}, tmp_path)


def test_embedding_dot_pick_take(tmp_path, rng):
    tok, x, idx = mx.sym.var("tok"), mx.sym.var("x"), mx.sym.var("idx")
    w, m = mx.sym.var("emb_weight"), mx.sym.var("m")
    emb = mx.sym.Embedding(tok, w, input_dim=10, output_dim=4)          # (2, 5, 4)
    outs = [emb, mx.sym.dot(x, m), mx.sym.dot(x, m, transpose_b=False) * 0.5,
            mx.sym.batch_dot(emb, emb, transpose_b=True), mx.sym.pick(x, idx, axis=1),
            mx.sym.take(m, idx), mx.sym.one_hot(idx, depth=4)]
    inputs = {"tok": rng.integers(0, 12, (2, 5)).astype(np.float32),   # 10, 11 clip to 9
              "x": rng.standard_normal((3, 4)).astype(np.float32),
              "idx": np.array([0, 3, 1], np.float32)}
    params = {"emb_weight": rng.standard_normal((10, 4)).astype(np.float32),
              "m": rng.standard_normal((4, 6)).astype(np.float32)}
    _export_sym_and_compare(mx.sym.Group(outs), inputs, params, tmp_path)


@pytest.mark.parametrize("layer,shape", [
    (lambda: nn.MaxPool2D(3, 2, 1, ceil_mode=True), (1, 2, 7, 7)),
    (lambda: nn.AvgPool2D(3, 2, 1, ceil_mode=False), (1, 2, 7, 7)),
    (lambda: nn.AvgPool2D(3, 2, 1, ceil_mode=True), (1, 2, 6, 6)),
    (lambda: nn.AvgPool2D(3, 2, 0, ceil_mode=True, count_include_pad=False), (1, 2, 6, 6)),
    (lambda: nn.GlobalMaxPool2D(), (2, 3, 5, 4)),
    (lambda: nn.MaxPool1D(2), (2, 3, 8)),
    (lambda: nn.Conv1D(4, 3, dilation=2, padding=2), (2, 3, 9)),
    (lambda: nn.Conv2DTranspose(3, 3, strides=2, padding=1, output_padding=1), (1, 2, 4, 4)),
    (lambda: nn.LayerNorm(), (2, 3, 5)),
    (lambda: nn.InstanceNorm(), (2, 3, 5)),
    # channel-last layers: the ops carry the layout, the export transposes around ONNX's ops
    (lambda: nn.Conv2D(4, 3, padding=1, layout="NHWC"), (2, 5, 6, 3)),
    (lambda: nn.Conv1DTranspose(3, 3, strides=2, layout="NWC"), (1, 4, 2)),
    (lambda: nn.MaxPool2D(2, layout="NHWC"), (2, 6, 4, 3)),
    (lambda: nn.GlobalAvgPool2D(layout="NHWC"), (2, 5, 4, 3)),
], ids=["maxpool-full", "avgpool", "avgpool-full", "avgpool-full-nopad", "globalmax",
        "maxpool1d", "conv1d-dilated", "deconv", "layernorm", "instancenorm", "conv-nhwc",
        "deconv-nwc", "maxpool-nhwc", "globalavg-nhwc"])
def test_layers(tmp_path, rng, layer, shape):
    net = nn.HybridSequential()
    net.add(layer())
    net.initialize(mx.init.Uniform(0.5))
    _export_block_and_compare(net, [rng.standard_normal(shape).astype(np.float32)], tmp_path)


# -- export options -------------------------------------------------------------------------------
def test_dynamic_batch_axis(tmp_path, rng):
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, 3), nn.BatchNorm(), nn.Activation("relu"), nn.Flatten(), nn.Dense(3))
    net.initialize(mx.init.Xavier())
    x = rng.standard_normal((2, 1, 6, 6)).astype(np.float32)
    net(mx.nd.array(x))
    path = mx.onnx.export_model(net, None, [x.shape], onnx_file_path=str(tmp_path / "d.onnx"),
                                dynamic=True, dynamic_input_shapes=[("N", 1, 6, 6)])
    dims = _check_model(path).graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "N" and [d.dim_value for d in dims[1:]] == [1, 6, 6]
    for n in (1, 5):
        xb = rng.standard_normal((n, 1, 6, 6)).astype(np.float32)
        np.testing.assert_allclose(_run(path, [xb])[0], net(mx.nd.array(xb)).asnumpy(),
                                   rtol=RTOL, atol=ATOL)


def test_dynamic_reshape_keeps_batch_symbolic(tmp_path, rng):
    d = mx.sym.var("data")
    sym = mx.sym.reshape(mx.sym.reshape(d, shape=(-3, -2)), shape=(-1, 3, 4)) + 1.0
    path = mx.onnx.export_model(sym, {}, [(2, 3, 4)], onnx_file_path=str(tmp_path / "r.onnx"),
                                dynamic=True, dynamic_input_shapes=[(None, 3, 4)])
    x = rng.standard_normal((5, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(_run(path, [x])[0], x + 1.0, rtol=RTOL)


def test_params_as_file_path_and_opset(tmp_path, rng):
    net = _cnn()
    net.initialize(mx.init.Xavier())
    net.hybridize()
    x = rng.standard_normal((2, 3, 12, 12)).astype(np.float32)
    want = net(mx.nd.array(x)).asnumpy()
    sym_file, params_file = net.export(str(tmp_path / "cnn"), epoch=2)
    for opset in (13, 17):
        path = mx.onnx.export_model(sym_file, params_file, [x.shape], np.float32,
                                    str(tmp_path / f"cnn{opset}.onnx"), opset_version=opset,
                                    run_shape_inference=True)
        model = _check_model(path)
        assert model.opset_import[0].version == opset
        np.testing.assert_allclose(_run(path, [x])[0], want, rtol=RTOL, atol=ATOL)
    # MXNet's [arg_params, aux_params] form, and the old keyword names
    params = mx.gluon.params_io.load(params_file)
    arg = {k: v for k, v in params.items() if k.startswith("arg:")}
    aux = {k[4:]: v for k, v in params.items() if k.startswith("aux:")}
    path = mx.onnx.export_model(mx.sym.load(sym_file), [arg, aux], input_shape=[x.shape],
                                input_type=np.float32, onnx_file_path=str(tmp_path / "c.onnx"))
    np.testing.assert_allclose(_run(path, [x])[0], want, rtol=RTOL, atol=ATOL)
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]   # atomic writes


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_mxnet_191_fixtures(tmp_path, name):
    """Models exported by MXNet 1.9.1 itself: the ONNX model reproduces MXNet's outputs."""
    expected = np.load(os.path.join(FIXTURES, "expected.npz"))
    x, y = expected[f"{name}_x"], expected[f"{name}_y"]
    epoch = {"mlp": 0, "cnn": 3}[name]
    path = mx.onnx.export_model(os.path.join(FIXTURES, f"{name}-symbol.json"),
                                os.path.join(FIXTURES, f"{name}-{epoch:04d}.params"), [x.shape],
                                onnx_file_path=str(tmp_path / f"{name}.onnx"))
    _check_model(path)
    np.testing.assert_allclose(_run(path, [x])[0], y, rtol=1e-4, atol=1e-5)
    # the MXNet way: Symbol and mx.nd.load's dict (keys with arg:/aux:), in_types a list
    sym = mx.sym.load(os.path.join(FIXTURES, f"{name}-symbol.json"))
    params = mx.nd.load(os.path.join(FIXTURES, f"{name}-{epoch:04d}.params"))
    path = mx.onnx.export_model(sym, params, [x.shape], [np.float32],
                                str(tmp_path / f"{name}2.onnx"))
    np.testing.assert_allclose(_run(path, [x])[0], y, rtol=1e-4, atol=1e-5)


def test_int_input_embedding_dynamic_and_verbose(tmp_path, rng, caplog):
    net = nn.HybridSequential()
    net.add(nn.Embedding(20, 4), nn.Flatten(), nn.Dense(3))
    net.initialize(mx.init.Xavier())
    x = rng.integers(0, 20, (2, 5)).astype(np.int32)
    want = net(mx.nd.array(x, dtype="int32")).asnumpy()
    with caplog.at_level("INFO", logger="mxplug.onnx.export"):
        path = mx.onnx.export_model(net, None, [x.shape], np.int32, str(tmp_path / "e.onnx"),
                                    verbose=True, dynamic=True)
    assert "Embedding" in caplog.text
    inp = _check_model(path).graph.input[0]
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.INT32
    assert all(not d.dim_value for d in inp.type.tensor_type.shape.dim)   # all dims dynamic
    np.testing.assert_allclose(_run(path, [x])[0], want, rtol=RTOL, atol=ATOL)


def test_export_from_opencl_params(tmp_path, rng):
    if not any(b.name == "opencl" and b.available for b in mx.backends.list()):
        pytest.skip("no OpenCL backend on this machine (pyopencl + a device needed)")
    net = nn.HybridSequential()
    net.add(nn.Dense(4, activation="relu"), nn.Dense(2))
    net.initialize(mx.init.Xavier(), ctx=mx.opencl(0))
    x = rng.standard_normal((3, 5)).astype(np.float32)
    want = net(mx.nd.array(x, ctx=mx.opencl(0))).asnumpy()
    path = mx.onnx.export_model(net, None, [x.shape], onnx_file_path=str(tmp_path / "cl.onnx"))
    np.testing.assert_allclose(_run(path, [x])[0], want, rtol=RTOL, atol=ATOL)


def test_contrib_alias_and_operator_support():
    assert mx.contrib.onnx.export_model is mx.onnx.export_model
    ops = mx.onnx.get_operator_support()
    for op in ("FullyConnected", "Convolution", "BatchNorm", "Pooling", "Reshape", "Concat",
               "broadcast_add", "_plus", "softmax", "Embedding"):
        assert op in ops


# -- errors ---------------------------------------------------------------------------------------
def test_unknown_op_names_op_and_node(tmp_path):
    d = mx.sym.var("data")
    sym = mx.sym.shuffle(mx.sym.relu(d), name="best")
    with pytest.raises(MXNetNotImplementedError, match=r"'shuffle'.*'best'"):
        mx.onnx.export_model(sym, {}, [(2, 5)], onnx_file_path=str(tmp_path / "x.onnx"))
    assert not os.path.exists(tmp_path / "x.onnx")


def test_unsupported_attribute_is_named(tmp_path):
    sym = mx.sym.Dropout(mx.sym.var("data"), p=0.5, mode="always", name="drop")
    with pytest.raises(MXNetNotImplementedError, match=r"'drop'.*mode='always'"):
        mx.onnx.export_model(sym, {}, [(2, 5)], onnx_file_path=str(tmp_path / "x.onnx"))


def test_missing_param_is_named(tmp_path, rng):
    d = mx.sym.var("data")
    sym = mx.sym.FullyConnected(d, mx.sym.var("fc_weight"), mx.sym.var("fc_bias"),
                                num_hidden=3, name="fc")
    params = {"fc_bias": mx.nd.zeros((3,))}
    with pytest.raises(MXNetValueError, match=r"fc_weight.*'weight' of FullyConnected 'fc'"):
        mx.onnx.export_model(sym, params, [(2, 4)], onnx_file_path=str(tmp_path / "x.onnx"))


def test_wrong_shape_is_reported(tmp_path):
    d = mx.sym.var("data")
    sym = mx.sym.FullyConnected(d, mx.sym.var("fc_weight"), mx.sym.var("fc_bias"),
                                num_hidden=3, name="fc")
    params = {"arg:fc_weight": mx.nd.zeros((3, 4)), "arg:fc_bias": mx.nd.zeros((3,))}
    with pytest.raises(MXNetError, match=r"in_shapes.*'fc'"):
        mx.onnx.export_model(sym, params, [(2, 7)], onnx_file_path=str(tmp_path / "x.onnx"))
    with pytest.raises(MXNetValueError, match=r"in_shapes is required"):
        mx.onnx.export_model(sym, params, onnx_file_path=str(tmp_path / "x.onnx"))
    with pytest.raises(MXNetValueError, match=r"opset_version"):
        mx.onnx.export_model(sym, params, [(2, 4)], opset_version=9)



def _fc_symbol(num_hidden=3):
    sym = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=num_hidden, name="fc")
    params = {"fc_weight": mx.nd.ones((num_hidden, 4)), "fc_bias": mx.nd.zeros((num_hidden,))}
    return sym, params


def test_model_onnxruntime_would_refuse_names_the_node(tmp_path):
    """int32 data into float32 weights: mxplug's inference lets it through, onnxruntime does
    not ("Gemm bound to different types"); the full check catches it before any write."""
    sym, params = _fc_symbol()
    path = str(tmp_path / "x.onnx")
    with pytest.raises(MXNetValueError, match=r"'fc/Gemm'.*FullyConnected node 'fc'.*int32"):
        mx.onnx.export_model(sym, params, [(2, 4)], np.int32, path)
    assert os.listdir(tmp_path) == []
    # the same verdict when the model is over protobuf's limit (checked without big tensors)
    sym, params = _fc_symbol(num_hidden=64)                 # a 1 KiB weight: a graph input
    from mxplug.onnx import save
    model = onnx.load(mx.onnx.export_model(sym, params, [(2, 4)], onnx_file_path=path))
    skeleton = save.checkable(model, limit=0)
    assert "fc_weight" in [i.name for i in skeleton.graph.input]
    assert "fc_weight" not in [t.name for t in skeleton.graph.initializer]
    onnx.checker.check_model(skeleton, full_check=True)
    bad = onnx.load(path)
    bad.graph.input[0].type.tensor_type.elem_type = onnx.TensorProto.INT32
    with pytest.raises(MXNetValueError, match=r"'fc/Gemm'"):
        save.validate(save.checkable(bad, limit=0))


def test_large_model_external_data(tmp_path, rng, monkeypatch):
    net = nn.HybridSequential(prefix="big_")
    with net.name_scope():
        net.add(nn.Dense(32, activation="relu"), nn.Dense(3))
    net.initialize(mx.init.Xavier())
    x = rng.standard_normal((2, 10)).astype(np.float32)
    want = net(mx.nd.array(x)).asnumpy()
    path = str(tmp_path / "big.onnx")
    for _ in range(2):         # the second export replaces the data file (onnx would append)
        assert mx.onnx.export_model(net, None, [x.shape], onnx_file_path=path,
                                    large_model=True) == path
        assert sorted(os.listdir(tmp_path)) == ["big.onnx", "big.onnx.data"]
        assert os.path.getsize(tmp_path / "big.onnx.data") == 32 * 10 * 4  # the 1280 B weight
    assert (os.stat(tmp_path / "big.onnx.data").st_mode & 0o777
            == os.stat(path).st_mode & 0o777)
    header = onnx.load(path, load_external_data=False)
    external = {t.name for t in header.graph.initializer
                if t.data_location == onnx.TensorProto.EXTERNAL}
    assert external == {"big_dense0_weight"}              # tensors under 1 KiB stay inline
    onnx.checker.check_model(path, full_check=True)
    np.testing.assert_allclose(_run(path, [x])[0], want, rtol=RTOL, atol=ATOL)
    # MXNet's signature: large_model is the 12th positional argument
    path2 = mx.onnx.export_model(net, None, [x.shape], np.float32, str(tmp_path / "b2.onnx"),
                                 False, False, None, False, None, None, True)
    assert os.path.exists(path2 + ".data")
    # over the limit (lowered here): refused without large_model, written with it
    from mxplug.onnx import save
    monkeypatch.setattr(save, "PROTOBUF_LIMIT", 2000)
    with pytest.raises(MXNetValueError, match=r"exceeds protobuf's 2 GB.*large_model=True"):
        mx.onnx.export_model(net, None, [x.shape], onnx_file_path=str(tmp_path / "no.onnx"))
    assert not os.path.exists(tmp_path / "no.onnx")
    path3 = mx.onnx.export_model(net, None, [x.shape], onnx_file_path=str(tmp_path / "b3.onnx"),
                                 large_model=True)
    np.testing.assert_allclose(_run(path3, [x])[0], want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kwargs, pattern", [
    ({"in_shapes": 4}, r"in_shapes must be a list of shapes.*\['data'\].*in_shapes=4"),
    ({"in_shapes": [2, 4]}, r"in_shapes\[0\] is 2.*\[\(2, 4\)\]"),
    ({"in_shapes": [(2, "4")]}, r"in_shapes\[0\] is \(2, '4'\)"),
    ({"in_shapes": "2,4"}, r"of type str.*in_shapes='2,4'"),
    ({"in_shapes": [(2, 4)], "in_types": "foo"}, r"in_types must be a dtype.*\['data'\].*'foo'"),
    ({"in_shapes": [(2, 4)], "in_types": [None]}, r"in_types\[0\] must be a dtype.*None"),
    ({"in_shapes": [(2, 4)], "in_types": [np.float32] * 2}, r"in_types gives 2 dtype"),
    ({"in_shapes": [(2, 4)], "in_types": np.complex64}, r"in_types must be a dtype.*complex"),
])
def test_bad_in_shapes_and_in_types_are_named(tmp_path, kwargs, pattern):
    sym, params = _fc_symbol()
    with pytest.raises(MXNetValueError, match=pattern):
        mx.onnx.export_model(sym, params, onnx_file_path=str(tmp_path / "x.onnx"), **kwargs)
    net = nn.Dense(3, in_units=4)
    net.initialize()
    with pytest.raises(MXNetValueError, match=r"in_(shapes|types)"):
        mx.onnx.export_model(net, None, onnx_file_path=str(tmp_path / "x.onnx"), **kwargs)


def test_declared_shapes_and_non_numeric_params(tmp_path):
    params = {"fc_weight": mx.nd.ones((3, 4)), "fc_bias": mx.nd.arange(3)}
    sym = mx.sym.FullyConnected(mx.sym.var("data", shape=(2, 4)), num_hidden=3, name="fc")
    path = mx.onnx.export_model(sym, params, onnx_file_path=str(tmp_path / "d.onnx"))
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(_run(path, [x])[0], np.tile([4.0, 5.0, 6.0], (2, 1)))
    # MXNet writes unknown dims as 0: such a declaration does not stand in for in_shapes
    sym = mx.sym.FullyConnected(mx.sym.var("data", shape=(0, 4)), num_hidden=3, name="fc")
    with pytest.raises(MXNetValueError, match=r"in_shapes is required.*\['data'\]"):
        mx.onnx.export_model(sym, params, onnx_file_path=str(tmp_path / "d.onnx"))
    bad = {**params, "fc_bias": np.array([object()] * 3)}
    with pytest.raises(MXNetError, match=r"parameter 'fc_bias' is not a numeric array"):
        mx.onnx.export_model(sym, bad, [(2, 4)], onnx_file_path=str(tmp_path / "d.onnx"))


def test_embedding_index_beyond_float32_precision(tmp_path):
    """Indices above 2**24 are clipped in int64: float32 would round 2**24 + 1 to 2**24."""
    n = 2 ** 24 + 3
    weight = (np.arange(n) % 1000).astype(np.float16).reshape(n, 1)     # 32 MiB
    sym = mx.sym.Embedding(mx.sym.var("tok"), mx.sym.var("w"), input_dim=n, output_dim=1,
                           name="emb")
    idx = np.array([[2 ** 24 + 1, 5, n + 7, -3]], dtype=np.int32)
    path = mx.onnx.export_model(sym, {"w": weight}, [idx.shape], np.int32,
                                str(tmp_path / "e.onnx"))
    want = weight[np.clip(idx, 0, n - 1)][..., 0]                         # MXNet clips
    assert want.ravel().tolist() == [217, 5, 218, 0]
    np.testing.assert_array_equal(_run(path, [idx])[0][..., 0], want)


# -- op by op -------------------------------------------------------------------------------------
_S = mx.sym
_OPS = {   # id -> (builder(a, b, p) with a, b: (2, 3, 4) inputs (b > 0), p: parameter variables)
    "neg-abs-sign": lambda a, b, p: [-a, _S.abs(a), _S.sign(a)],
    "exp-log": lambda a, b, p: [_S.exp(a), _S.log(b), _S.log2(b), _S.log10(b), _S.log1p(b),
                                _S.expm1(a)],
    "roots": lambda a, b, p: [_S.sqrt(b), _S.rsqrt(b), _S.reciprocal(b), _S.square(a)],
    "trig": lambda a, b, p: [_S.sin(a), _S.cos(a), _S.tan(a * 0.5), _S.arcsin(a * 0.4),
                             _S.arccos(a * 0.4), _S.arctan(a), _S.sinh(a), _S.cosh(a),
                             _S.arcsinh(a), _S.arccosh(b + 1), _S.arctanh(a * 0.4),
                             _S.degrees(a), _S.radians(a)],
    "rounding": lambda a, b, p: [_S.floor(a * 3), _S.ceil(a * 3), _S.rint(a * 3), _S.round(a * 3),
                                 _S.round(a * 0 + 2.5), _S.rint(a * 0 + 2.5)],
    "activations": lambda a, b, p: [_S.erf(a), _S.sigmoid(a), _S.tanh(a), _S.relu(a),
                                    _S.softrelu(a), _S.softsign(a),
                                    _S.hard_sigmoid(a, alpha=0.3, beta=0.4)],
    "scalars": lambda a, b, p: [2 - a, 2 / b, 2 ** a, b ** 0.5, a * 3 + 1, a / 4,
                                _S.maximum(a, 0.2), _S.minimum(a, 0.2)],
    "broadcast-binary": lambda a, b, p: [
        _S.broadcast_mul(a, _S.sum(b, axis=1, keepdims=True)),
        _S.broadcast_minimum(a, _S.mean(b, axis=0, keepdims=True)),
        _S.broadcast_power(b, _S.max(a, axis=2, keepdims=True)),
        _S.broadcast_div(a, _S.min(b, axis=(0, 1), keepdims=True)), _S.add_n(a, b, a)],
    "logical": lambda a, b, p: [_S.logical_and(a > 0, b > 1), _S.logical_or(a > 0, b > 1),
                                _S.logical_xor(a > 0, b > 1), _S.logical_not(a > 0),
                                _S.isnan(_S.log(a)), _S.isinf(1 / (a > 0)),
                                _S.isfinite(_S.log(a))],
    "comparisons": lambda a, b, p: [a == b, a != b, a < b, a <= b, a >= b, a > 0,
                                    _S.broadcast_equal(a, _S.max(a, axis=1, keepdims=True))],
    "reductions": lambda a, b, p: [_S.min(a, axis=1), _S.prod(b, axis=(0, 2), keepdims=True),
                                   _S.norm(a, ord=1, axis=1), _S.norm(a), _S.argmin(a),
                                   _S.sum(a, axis=(), exclude=True)],
    "squeeze-expand": lambda a, b, p: [_S.squeeze(_S.expand_dims(a, axis=-1), axis=3),
                                       _S.squeeze(_S.sum(a, axis=1, keepdims=True)),
                                       _S.reshape_like(a, _S.reshape(b, shape=(4, 6)))],
    "split-outputs": lambda a, b, p: list(_S.split(a, num_outputs=2, axis=2)),
    "broadcast-like": lambda a, b, p: [
        _S.broadcast_like(_S.sum(a, axis=0, keepdims=True), b),
        _S.broadcast_axis(_S.sum(a, axis=2, keepdims=True), axis=2, size=5)],
    "pad": lambda a, b, p: [_S.pad(_S.expand_dims(a, axis=0), mode=m, constant_value=0.5,
                                   pad_width=(0, 0, 0, 0, 1, 2, 2, 1))
                            for m in ("constant", "edge", "reflect")],
    "depth-space": lambda a, b, p: [
        _S.depth_to_space(_S.reshape(a, shape=(1, 8, 3, 1)), block_size=2),
        _S.space_to_depth(_S.reshape(a, shape=(1, 1, 4, 6)), block_size=2)],
    "fills": lambda a, b, p: [_S.zeros_like(a), _S.ones_like(b), _S.full_like(a, fill_value=3),
                              _S.cast(a, dtype="float64"), a + _S.ones((2, 3, 4))],
    "products": lambda a, b, p: [
        _S.dot(a, p["m45"]), _S.dot(_S.reshape(a, shape=(6, 4)), p["m453"]),
        _S.dot(_S.reshape(a, shape=(4, 6)), _S.reshape(b, shape=(4, 6)), transpose_a=True),
        _S.dot(_S.slice_axis(_S.reshape(a, shape=(-1,)), axis=0, begin=0, end=4),
               _S.slice_axis(_S.reshape(b, shape=(-1,)), axis=0, begin=0, end=4)),
        _S.linalg_gemm2(a, b, transpose_b=True, alpha=0.5)],
    "fc-no-flatten": lambda a, b, p: [_S.FullyConnected(a, p["m54"], p["v5"], num_hidden=5,
                                                        flatten=False)],
    "batchnorm-last-axis": lambda a, b, p: [_S.BatchNorm(a, p["v4"], p["w4"], p["mean4"],
                                                         p["var4"], axis=-1, fix_gamma=False)],
    "groupnorm": lambda a, b, p: [_S.GroupNorm(_S.reshape(a, shape=(2, 6, 2)), p["g3"], p["h3"],
                                               num_groups=3)],
    "pool-sum-lp": lambda a, b, p: [
        _S.Pooling(a, kernel=(2,), pool_type="sum", stride=(1,)),
        _S.Pooling(a, kernel=(2,), pool_type="lp", p_value=2, stride=(2,)),
        _S.Pooling(a, kernel=(1,), pool_type="sum", global_pool=True),
        _S.Pooling(a, kernel=(1,), pool_type="avg", global_pool=True)],
    "pool-same": lambda a, b, p: [  # MXNet's 1-D 'same' convention: ceil(w / stride) windows
        _S.Pooling(a, kernel=(3,), pool_type=t, stride=(s,), pooling_convention="same",
                   p_value=2) for t, s in (("max", 2), ("avg", 3), ("sum", 3), ("lp", 2))],
    "deconv-target-shape": lambda a, b, p: [_S.Deconvolution(
        a, p["k332"], kernel=(3,), stride=(2,), num_filter=3, target_shape=(8,))],
    "sorting": lambda a, b, p: [
        *_S.topk(a, k=2, axis=1, ret_typ="both"), _S.topk(a, k=3, is_ascend=True, dtype="int32"),
        _S.topk(a, k=2, ret_typ="mask"), _S.topk(a, k=0, axis=None, ret_typ="value"),
        _S.argsort(a, axis=0, is_ascend=False), _S.sort(a, axis=None)],
    "repeat-shape-arange": lambda a, b, p: [
        _S.repeat(a, repeats=2, axis=1), _S.repeat(a, repeats=3), _S.shape_array(a),
        _S.size_array(b), _S.contrib.arange_like(a, start=1, step=0.5, repeat=2),
        _S.contrib.arange_like(a, axis=-1, start=-2), _S.contrib.div_sqrt_dim(a),
        _S.argmax(a, axis=None, keepdims=True),
        _S.slice_like(a, _S.slice_axis(b, axis=2, begin=0, end=2), axes=(-1, 0))],
    # W=4, kernel 3, stride 4, 'full': two windows, the second wholly in the padding (MXNet:
    # lowest float for max, 0 for avg/sum); avg divides by the counted positions only
    "pool-full": lambda a, b, p: [
        _S.Pooling(_S.reshape(a, shape=(1, 2, 3, 4)), kernel=(2, 3), stride=(2, 4), pad=(1, 0),
                   pool_type=t, pooling_convention="full", count_include_pad=c, p_value=2)
        for t, c in (("max", True), ("avg", False), ("avg", True), ("sum", True), ("lp", True))],
    "resampling": lambda a, b, p: [
        _S.contrib.BilinearResize2D(_S.reshape(a, shape=(1, 2, 3, 4)), height=5, width=7),
        _S.contrib.BilinearResize2D(_S.reshape(a, shape=(1, 2, 3, 4)), scale_height=0.7,
                                    scale_width=1.5, align_corners=False),
        _S.contrib.AdaptiveAvgPooling2D(_S.reshape(b, shape=(1, 2, 3, 4)), output_size=(2, 3)),
        _S.UpSampling(_S.reshape(a, shape=(1, 2, 3, 4)), scale=2, sample_type="nearest",
                      num_args=1),
        _S.UpSampling(_S.reshape(a, shape=(2, 1, 3, 4)), _S.reshape(b, shape=(2, 1, 6, 2)),
                      scale=2, sample_type="nearest", num_args=2, multi_input_mode="sum")],
    "box-decode": lambda a, b, p: [
        _S.contrib.box_decode(a, _S.slice_axis(b, axis=0, begin=0, end=1), format=f, clip=c,
                              std0=0.3, std1=1.4, std2=0.5, std3=1.6)
        for f, c in (("center", -1.0), ("corner", 0.4))],
}
_PARAM_SHAPES = {"m45": (4, 5), "m453": (4, 5, 3), "m54": (5, 4), "v5": (5,), "v4": (4,),
                 "w4": (4,), "mean4": (4,), "var4": (4,), "g3": (3,), "h3": (3,),
                 "k332": (3, 3, 3)}


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")   # NaN/inf made on purpose
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")   # ("logical" case)
@pytest.mark.parametrize("case", sorted(_OPS))
def test_op_translations(tmp_path, rng, case):
    _check_op_case(tmp_path, rng, case, 13)


@pytest.mark.parametrize("case", ["reductions", "squeeze-expand", "split-outputs", "groupnorm"])
def test_op_translations_opset18(tmp_path, rng, case):
    """Opset 18 moved the reductions' axes from attributes to inputs."""
    _check_op_case(tmp_path, rng, case, 18)


def _check_op_case(tmp_path, rng, case, opset):
    a, b = mx.sym.var("a"), mx.sym.var("b")
    p = {k: mx.sym.var(k) for k in _PARAM_SHAPES}
    sym = mx.sym.Group(_OPS[case](a, b, p))
    used = set(sym.list_inputs())
    params = {k: rng.uniform(0.5, 1.5, s).astype(np.float32) for k, s in _PARAM_SHAPES.items()
              if k in used}
    inputs = {"a": rng.uniform(-2, 2, (2, 3, 4)).astype(np.float32),
              "b": rng.uniform(0.1, 2, (2, 3, 4)).astype(np.float32)}
    inputs = {k: v for k, v in inputs.items() if k in used}
    path = _export_sym_and_compare(sym, inputs, params, tmp_path, opset_version=opset)
    assert onnx.load(path).opset_import[0].version == opset


class _NDArrayOnly(mx.gluon.HybridBlock):
    """A forward written with NDArray methods and indexing: Symbols cannot run it."""

    def __init__(self, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.fc = nn.Dense(6)

    def forward(self, x):
        y = self.fc(x)
        return (mx.nd.relu(y.reshape((0, 2, 3))) * 2 + y[:, 1:3].sum(), y[1], y[..., None, ::2],
                y[-1, 2], y[:, -3:-1])


def test_block_with_ndarray_forward_uses_the_traced_graph(tmp_path, rng):
    net = _NDArrayOnly()
    net.initialize(mx.init.Xavier())
    x = rng.standard_normal((3, 5)).astype(np.float32)
    with pytest.raises(MXNetValueError, match="hybridize"):
        mx.onnx.export_model(net, None, [x.shape], onnx_file_path=str(tmp_path / "n.onnx"))
    net.hybridize()
    net(mx.nd.array(x))
    _export_block_and_compare(net, [x], tmp_path)


# -- recurrent layers -----------------------------------------------------------------------------
@pytest.mark.parametrize("mode,bidirectional", [("lstm", True), ("gru", True), ("gru", False),
                                                ("rnn_tanh", True), ("rnn_relu", False)])
def test_gluon_rnn_layers_with_dynamic_batch_and_time(tmp_path, rng, mode, bidirectional):
    from mxplug.gluon import rnn
    make = {"lstm": rnn.LSTM, "gru": rnn.GRU,
            "rnn_tanh": lambda *a, **k: rnn.RNN(*a, activation="tanh", **k),
            "rnn_relu": lambda *a, **k: rnn.RNN(*a, activation="relu", **k)}[mode]
    layer = make(5, num_layers=2, bidirectional=bidirectional, layout="NTC", input_size=3)
    mx.random.seed(17)  # the weights (and the output-size check below) whatever ran before
    layer.initialize(mx.init.Uniform(0.5))
    x = rng.uniform(-1, 1, (2, 4, 3)).astype(np.float32)
    path = _export_block_and_compare(layer, [x], tmp_path, dynamic=True,
                                     dynamic_input_shapes=[("N", "T", 3)])
    x2 = rng.uniform(-1, 1, (3, 6, 3)).astype(np.float32)       # other batch and length
    want = layer(mx.nd.array(x2)).asnumpy()
    assert np.abs(want).max() > 0.05
    np.testing.assert_allclose(_run(path, [x2])[0], want, rtol=RTOL, atol=ATOL)


def test_rnn_op_states_and_sequence_length(tmp_path, rng):
    from mxplug.ops.rnn import param_size
    data, params, h0, c0, lens = (mx.sym.var(n) for n in ("data", "rnn_parameters", "h0", "c0",
                                                          "lens"))
    sym = mx.sym.RNN(data, params, h0, c0, lens, state_size=4, num_layers=2, mode="lstm",
                     bidirectional=True, state_outputs=True, use_sequence_length=True)
    inputs = {"data": rng.uniform(-1, 1, (5, 3, 2)).astype(np.float32),
              "h0": rng.uniform(-1, 1, (4, 3, 4)).astype(np.float32),
              "c0": rng.uniform(-1, 1, (4, 3, 4)).astype(np.float32),
              "lens": np.array([5, 2, 4], np.float32)}
    size = param_size("lstm", 4, 2, 2, bidirectional=True)
    weights = {"rnn_parameters": rng.uniform(-0.5, 0.5, (size,)).astype(np.float32)}
    _export_sym_and_compare(sym, inputs, weights, tmp_path)


def test_model_zoo_resnet18(tmp_path, rng):
    from mxplug.gluon.model_zoo import vision
    net = vision.get_model("resnet18_v1", classes=10, thumbnail=True)
    net.initialize(mx.init.Xavier())
    x = rng.uniform(-1, 1, (1, 3, 32, 32)).astype(np.float32)
    net(mx.nd.array(x))
    _randomise_bn(net, rng)
    _export_block_and_compare(net, [x], tmp_path)


@pytest.mark.parametrize("attrs,label_shape", [({"multi_output": True}, (2, 4)),
                                               ({"preserve_shape": True}, (2, 3)),
                                               ({}, (2,))])
def test_softmax_output_variants(tmp_path, rng, attrs, label_shape):
    sym = mx.sym.SoftmaxOutput(mx.sym.var("data"), mx.sym.var("softmax_label"), **attrs)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    want = sym.eval(data=mx.nd.array(x), softmax_label=mx.nd.zeros(label_shape))[0].asnumpy()
    path = mx.onnx.export_model(sym, {}, [x.shape], onnx_file_path=str(tmp_path / "so.onnx"))
    np.testing.assert_allclose(_run(path, [x])[0], want, rtol=RTOL, atol=ATOL)


def test_exported_files_give_mxnet_output_names(tmp_path, rng):
    # MXNet's export + export_model: the ONNX output is named after MXNet's node name
    net = nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Dense(4, activation="tanh"), nn.Dense(2))
    net.initialize()
    net.hybridize()
    x = rng.standard_normal((3, 5)).astype(np.float32)
    want = net(mx.nd.array(x)).asnumpy()
    sym_file, params_file = net.export(str(tmp_path / "net"))
    path = mx.onnx.export_model(sym_file, params_file, [(3, 5)], np.float32,
                                str(tmp_path / "net.onnx"))
    model = _check_model(path)
    assert [o.name for o in model.graph.output] == ["net_dense1_fwd"]
    np.testing.assert_allclose(_run(path, [x])[0], want, rtol=RTOL, atol=ATOL)
