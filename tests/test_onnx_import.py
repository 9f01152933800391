"""mx.contrib.onnx.import_model / import_to_gluon / get_model_metadata: ONNX models read back
into mxplug give what onnxruntime computes from the same file."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug.base import MXNetError, MXNetNotImplementedError
from mxplug.gluon.model_zoo import vision

onnx = pytest.importorskip("onnx", reason="ONNX import needs onnx: pip install 'mxplug[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="the imported models are compared with "
                          "onnxruntime: pip install 'mxplug[onnx]'")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _ort(path, feeds):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)


def _bound_output(sym, args, aux, feeds):
    values = {k: mx.nd.array(v) for k, v in feeds.items()}
    return sym.bind(mx.cpu(), {**values, **args}, aux_states=aux).forward()


@pytest.mark.parametrize("name, shape", [
    ("resnet18_v1", (2, 3, 32, 32)), ("mobilenetv2_0.25", (1, 3, 32, 32)),
    ("squeezenet1.1", (1, 3, 224, 224)), ("lenet", (2, 1, 28, 28)), ("mlp", (2, 1, 28, 28))])
def test_model_zoo_round_trip(tmp_path, name, shape):
    net = getattr(vision, name)() if name in ("lenet", "mlp") else vision.get_model(name)
    net.initialize(mx.init.Xavier())
    x = np.random.default_rng(3).uniform(-1, 1, shape).astype(np.float32)
    net.hybridize()
    want = net(mx.nd.array(x)).asnumpy()
    path = mx.onnx.export_model(net, None, [shape], onnx_file_path=str(tmp_path / "m.onnx"))
    sym, args, aux = mx.contrib.onnx.import_model(path)
    # BatchNorm's running statistics are auxiliary states, as MXNet's importer makes them
    assert all("running" in k for k in aux) and not any("running" in k for k in args)
    got = _bound_output(sym, args, aux, {"data": x})[0].asnumpy()
    np.testing.assert_allclose(got, _ort(path, {"data": x})[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    block = mx.contrib.onnx.import_to_gluon(path, mx.cpu())
    np.testing.assert_allclose(block(mx.nd.array(x)).asnumpy(), got, rtol=1e-6, atol=1e-7)
    meta = mx.contrib.onnx.get_model_metadata(path)
    assert meta["input_tensor_data"] == [("data", shape)]
    assert [s for _, s in meta["output_tensor_data"]] == [want.shape]


def test_layer_and_tensor_ops_round_trip(tmp_path):
    rng = np.random.default_rng(5)
    x = mx.sym.var("x")
    h = mx.sym.LeakyReLU(mx.sym.Convolution(x, kernel=(3, 3), num_filter=4, pad=(1, 1),
                                            name="c"), act_type="leaky", slope=0.2)
    h = mx.sym.Pooling(h, kernel=(2, 2), stride=(2, 2), pool_type="avg",
                       count_include_pad=False)
    h = mx.sym.pad(h, mode="constant", pad_width=(0, 0, 0, 0, 1, 1, 1, 1), constant_value=0.5)
    h = mx.sym.clip(mx.sym.transpose(h, axes=(0, 2, 3, 1)), -0.5, 0.5)
    flat = mx.sym.reshape(h, shape=(0, -1))
    out = mx.sym.Group([mx.sym.softmax(flat, axis=-1),
                        mx.sym.Concat(mx.sym.exp(flat), mx.sym.sigmoid(flat), dim=1),
                        mx.sym.sum(flat, axis=1, keepdims=True)])
    params = {"c_weight": rng.uniform(-1, 1, (4, 2, 3, 3)).astype(np.float32),
              "c_bias": rng.uniform(-1, 1, (4,)).astype(np.float32)}
    feeds = {"x": rng.uniform(-1, 1, (2, 2, 6, 6)).astype(np.float32)}
    path = mx.onnx.export_model(out, {k: mx.nd.array(v) for k, v in params.items()},
                                [(2, 2, 6, 6)], onnx_file_path=str(tmp_path / "ops.onnx"))
    sym, args, aux = mx.contrib.onnx.import_model(path)
    for got, want in zip(_bound_output(sym, args, aux, feeds), _ort(path, feeds)):
        np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-5, atol=1e-6)


def _model(nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def _info(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def test_gemm_transposes_scales_and_constants(tmp_path):
    rng = np.random.default_rng(1)
    b = rng.uniform(-1, 1, (3, 4)).astype(np.float32)   # transB=0: (in, out)
    c = rng.uniform(-1, 1, (4,)).astype(np.float32)
    shape = numpy_helper.from_array(np.array([2, 2, 2], np.int64), "shape")
    nodes = [helper.make_node("Gemm", ["a", "b", "c"], ["y"], alpha=0.5, beta=2.0),
             helper.make_node("Constant", [], ["shape_c"], value=shape),
             helper.make_node("Reshape", ["y", "shape_c"], ["z"])]
    model = _model(nodes, [_info("a", [2, 3])], [_info("z", [2, 2, 2])],
                   [numpy_helper.from_array(b, "b"), numpy_helper.from_array(c, "c")])
    path = str(tmp_path / "gemm.onnx")
    onnx.save(model, path)
    a = rng.uniform(-1, 1, (2, 3)).astype(np.float32)
    sym, args, aux = mx.contrib.onnx.import_model(path)
    got = _bound_output(sym, args, aux, {"a": a})[0].asnumpy()
    np.testing.assert_allclose(got, (0.5 * a @ b + 2 * c).reshape(2, 2, 2), rtol=1e-5)
    np.testing.assert_allclose(got, _ort(path, {"a": a})[0], rtol=1e-5)


def test_import_errors_name_the_op_and_node(tmp_path):
    model = _model([helper.make_node("Einsum", ["x", "x"], ["y"], name="mix",
                                     equation="ij,ij->i")],
                   [_info("x", [2, 2])], [_info("y", [2])])
    with pytest.raises(MXNetNotImplementedError, match=r"Einsum node 'mix': no translation"):
        mx.contrib.onnx.import_model(model)
    dynamic = _model([helper.make_node("Reshape", ["x", "s"], ["y"], name="r")],
                     [_info("x", [2, 2]), helper.make_tensor_value_info("s", TensorProto.INT64,
                                                                        [1])],
                     [_info("y", [4])])
    with pytest.raises(MXNetNotImplementedError, match=r"Reshape node 'r': the shape .*'s'.* "
                                                       r"must be an initializer"):
        mx.contrib.onnx.import_model(dynamic)
    with pytest.raises(MXNetError, match=r"cannot read the ONNX model .*nothere\.onnx"):
        mx.contrib.onnx.import_model(str(tmp_path / "nothere.onnx"))


def test_a_shared_weight_feeds_each_consumer_as_it_is_and_negative_unsqueeze_axes(tmp_path):
    rng = np.random.default_rng(2)
    w = rng.uniform(-1, 1, (3, 3)).astype(np.float32)
    c = rng.uniform(-1, 1, (1, 3)).astype(np.float32)  # a (1, N) bias, which ONNX allows
    axes = numpy_helper.from_array(np.array([-1, -2], np.int64), "axes")
    nodes = [helper.make_node("Gemm", ["x", "w", "c"], ["h"], name="g0"),  # transB=0: w.T
             helper.make_node("Gemm", ["h", "w"], ["h2"], name="g1", transB=1, alpha=2.0),
             helper.make_node("MatMul", ["h2", "w"], ["y"]),
             helper.make_node("Unsqueeze", ["y", "axes"], ["z"])]
    model = _model(nodes, [_info("x", [2, 3])], [_info("z", [2, 3, 1, 1])],
                   [numpy_helper.from_array(w, "w"), numpy_helper.from_array(c, "c"), axes])
    path = str(tmp_path / "shared.onnx")
    onnx.save(model, path)
    x = rng.uniform(-1, 1, (2, 3)).astype(np.float32)
    sym, args, aux = mx.contrib.onnx.import_model(path)
    got = _bound_output(sym, args, aux, {"x": x})[0].asnumpy()
    want = _ort(path, {"x": x})[0]
    assert got.shape == want.shape == (2, 3, 1, 1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(args["w"].asnumpy(), w)  # the initializer itself unchanged


def test_same_auto_pad_and_asymmetric_pads(tmp_path):
    rng = np.random.default_rng(4)
    w = rng.uniform(-1, 1, (3, 2, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c1"], auto_pad="SAME_UPPER", strides=[2, 2]),
             helper.make_node("Conv", ["x", "w"], ["c2"], pads=[0, 1, 2, 1]),
             helper.make_node("MaxPool", ["c1"], ["p1"], kernel_shape=[2, 2],
                              auto_pad="SAME_LOWER"),
             helper.make_node("AveragePool", ["c2"], ["p2"], kernel_shape=[3, 2],
                              pads=[1, 0, 0, 1], count_include_pad=1)]
    model = _model(nodes, [_info("x", [1, 2, 7, 6])],
                   [_info("p1", None), _info("p2", None)], [numpy_helper.from_array(w, "w")])
    path = str(tmp_path / "pads.onnx")
    onnx.save(model, path)
    x = rng.uniform(-1, 1, (1, 2, 7, 6)).astype(np.float32)
    sym, args, aux = mx.contrib.onnx.import_model(path)
    for got, want in zip(_bound_output(sym, args, aux, {"x": x}), _ort(path, {"x": x})):
        assert got.shape == want.shape
        np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-5, atol=1e-6)
    uncounted = _model([helper.make_node("AveragePool", ["x"], ["p"], kernel_shape=[2, 2],
                                         pads=[0, 0, 1, 1], name="avg")],
                       [_info("x", [1, 2, 7, 6])], [_info("p", None)])
    with pytest.raises(MXNetNotImplementedError, match="AveragePool node 'avg': asymmetric"):
        mx.contrib.onnx.import_model(uncounted)
