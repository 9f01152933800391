"""The Symbol API and executors against what MXNet 1.x's own unit tests expect (test_symbol.py,
test_attr.py, test_infer_shape.py, test_executor.py): fluent methods, node names of Python
operators, copies, pickling, composition, attributes, shape inference that completes unknown
dimensions from a node's consumers, type inference, executor semantics, legacy JSON."""

from __future__ import annotations

import copy
import json
import pickle

import numpy as np
import pytest

import mxplug as mx
from mxplug.graph.symbol import NotImplementedForSymbol

X = np.arange(1.0, 13.0).reshape(2, 3, 2) / 7.0


def _eval(sym, ctx=None, **arrays):
    ctx = ctx or mx.cpu()
    return sym.eval(ctx=ctx, **{k: mx.nd.array(v, ctx=ctx) for k, v in arrays.items()})


# -- building ------------------------------------------------------------------------------------
@pytest.mark.parametrize("method, kwargs, ref", [
    ("sum", {"axis": 1}, lambda x: x.sum(axis=1)),
    ("mean", {"axis": (1, 2)}, lambda x: x.mean(axis=(1, 2))),
    ("reshape", {"shape": (3, 4)}, lambda x: x.reshape(3, 4)),
    ("transpose", {"axes": (2, 0, 1)}, lambda x: x.transpose(2, 0, 1)),
    ("exp", {}, np.exp),
    ("clip", {"a_min": 0.5, "a_max": 1.0}, lambda x: np.clip(x, 0.5, 1.0)),
    ("slice_axis", {"axis": 1, "begin": 1, "end": 3}, lambda x: x[:, 1:3]),
    ("expand_dims", {"axis": 0}, lambda x: x[None]),
    ("abs", {}, np.abs),
])
def test_fluent_methods_equal_the_functions(method, kwargs, ref):
    with mx.name.NameManager():
        data = mx.sym.var("data")
        fluent = getattr(data, method)(**kwargs)
    with mx.name.NameManager():
        data = mx.sym.var("data")
        regular = getattr(mx.sym, method)(data, **kwargs)
    assert fluent.list_outputs() == regular.list_outputs()  # same automatic name
    np.testing.assert_allclose(_eval(fluent, data=X)[0].asnumpy(), ref(X), rtol=1e-6)
    np.testing.assert_allclose(_eval(regular, data=X)[0].asnumpy(), ref(X), rtol=1e-6)


def test_astype_and_split_fluent():
    data = mx.sym.var("data")
    assert _eval(data.astype("float16"), data=X)[0].dtype == np.float16
    parts = data.split(num_outputs=2, axis=2)
    assert len(parts) == 2
    np.testing.assert_allclose(_eval(parts[1], data=X)[0].asnumpy(), X[:, :, 1:], rtol=1e-6)


def test_python_operators_are_named_as_mxnet():
    with mx.name.NameManager():
        a, b = mx.sym.var("a"), mx.sym.var("b")
        names = [s.name for s in (a + b, a + 1, 1 - a, a * b, a / 2, 2 / a, a ** 2, -a, a > 1,
                                  a == b, abs(a))]
    assert names == ["_plus0", "_plusscalar0", "_rminusscalar0", "_mul0", "_divscalar0",
                     "_rdivscalar0", "_powerscalar0", "_mulscalar0", "_greater_scalar0",
                     "_equal0", "abs0"]
    with mx.name.NameManager():
        c = mx.sym.var("a") + mx.sym.var("b")
    assert c.get_internals().list_outputs() == ["a", "b", "_plus0_output"]
    assert repr(mx.sym.Group([a, c])) == "<Symbol group [a, _plus0]>"


def test_op_nodes_are_named_after_the_function_called():
    with mx.name.NameManager():
        s = mx.sym.SliceChannel(mx.sym.var("d"), num_outputs=2)
        f = mx.sym.Flatten(mx.sym.var("e"))
    assert (s.name, f.name) == ("slicechannel0", "flatten0")
    assert s.list_outputs() == ["slicechannel0_output0", "slicechannel0_output1"]


def test_prelu_makes_its_gamma_variable():
    lr = mx.sym.LeakyReLU(mx.sym.var("data"), act_type="prelu", name="lr")
    assert lr.list_arguments() == ["data", "lr_gamma"]
    assert lr.infer_shape(data=(2, 3, 4))[0][1] == (3,)
    assert mx.sym.LeakyReLU(mx.sym.var("data"), act_type="leaky").list_arguments() == ["data"]


def test_symbol_has_no_truth_value_nor_ndarray_methods():
    x = mx.sym.var("x")
    with pytest.raises(NotImplementedForSymbol, match="bool"):
        bool(x)
    with pytest.raises(NotImplementedForSymbol, match="asnumpy"):
        x.asnumpy()
    assert issubclass(NotImplementedForSymbol, mx.MXNetError)


def test_operator_errors_as_in_mxnet():
    x = mx.sym.var("x")
    with pytest.raises(NotImplementedForSymbol):
        x += 1  # in place: MXNet refuses
    with pytest.raises(TypeError, match="str"):
        x + "a"
    with pytest.raises(TypeError):
        x[1.5]
    with pytest.raises(ValueError, match="no output"):
        x["y_output"]
    with pytest.raises(TypeError):
        mx.sym.Group([])
    with pytest.raises(TypeError):
        mx.sym.var(3)
    with pytest.raises(ValueError, match="double underscores"):
        mx.sym.var("v", mood="angry")
    assert mx.sym.var("v", __mood__="angry").attr("__mood__") == "angry"


def test_module_level_elementwise_functions():
    assert (mx.sym.pow(2, 3), mx.sym.maximum(2, 3.5), mx.sym.minimum(2, 3.5)) == (8, 3.5, 2)
    assert mx.sym.hypot(3, 4) == 5.0
    with mx.name.NameManager():
        x, y = mx.sym.var("x"), mx.sym.var("y")
        names = [mx.sym.maximum(x, y).name, mx.sym.maximum(x, 4).name,
                 mx.sym.pow(3, y).name, (2 ** x).name]
    assert names == ["_maximum0", "_maximumscalar0", "_rpowerscalar0", "_rpower_scalar0"]
    v = np.array([3.0, 5.0, 2.0, 10.0])
    np.testing.assert_allclose(_eval(mx.sym.minimum(4, x), x=v)[0].asnumpy(), np.minimum(v, 4))
    np.testing.assert_allclose(_eval(mx.sym.pow(3, y), y=v[:2])[0].asnumpy(), 3.0 ** v[:2])


def test_debug_str_layout():
    with mx.name.NameManager():
        a = mx.sym.var("a")
        d = mx.sym.FullyConnected(2 * a + mx.sym.sin(a), num_hidden=10)
    text = d.debug_str()
    assert text.startswith("Symbol Outputs:\n\toutput[0]=fullyconnected0(0)\nVariable:a\n")
    assert "Op:_mul_scalar, Name=_mulscalar0\nInputs:\n\targ[0]=a(0) version=0\nAttrs:\n" in text
    assert "Op:FullyConnected, Name=fullyconnected0" in text and "\tnum_hidden=10" in text


def test_simple_bind_ignores_shapes_of_names_not_in_the_graph():
    y = mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=4, name="fc")
    ex = y.simple_bind(mx.cpu(), x=(5, 4), softmax_label=(5,), type_dict={"other": "float16"})
    assert sorted(ex.arg_dict) == ["fc_bias", "fc_weight", "x"]


def test_simple_bind_failure_is_a_runtime_error():
    v = mx.sym.var("V")
    net = mx.sym.transpose(v) + (mx.sym.var("x") + v)
    with pytest.raises(RuntimeError, match="simple_bind error"):
        net.simple_bind(mx.cpu(), x=(2, 3), grad_req="null")


def test_copy_copies_the_graph():
    a = mx.sym.var("a")
    b = copy.copy(a)
    b._set_attr(name="b")
    assert (a.name, b.name) == ("a", "b")
    fc = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=3, name="fc")
    assert copy.deepcopy(fc).tojson() == fc.tojson()


def test_pickle_round_trip_keeps_json_and_attributes():
    with mx.AttrScope(__group__="4"):
        fc = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=10, name="fc2")
    back = pickle.loads(pickle.dumps([fc]))[0]
    assert back.tojson() == fc.tojson()
    assert back.attr("__group__") == "4"


def test_get_children_of_groups_and_multi_output_nodes():
    data = mx.sym.var("data")
    fc1 = mx.sym.FullyConnected(data, name="fc1", num_hidden=10)
    net = mx.sym.FullyConnected(fc1, name="fc2", num_hidden=100)
    kids = net.get_children()
    assert kids.list_outputs() == ["fc1_output", "fc2_weight", "fc2_bias"]
    assert kids.get_children().list_outputs() == ["data", "fc1_weight", "fc1_bias"]
    assert kids["fc2_weight"].get_children() is None
    sliced = mx.sym.SliceChannel(data, num_outputs=3, name="slice")
    assert sliced.get_children().list_outputs() == ["data"]  # one node, listed once
    assert sliced.name == "slice"
    assert mx.sym.Concat(*sliced).get_children().list_outputs() == [
        "slice_output0", "slice_output1", "slice_output2"]


def test_compose_replaces_variables_by_name():
    net1 = mx.sym.FullyConnected(mx.sym.var("data"), name="fc1", num_hidden=2)
    net2 = mx.sym.FullyConnected(name="fc3", num_hidden=3)
    composed = net2(fc3_data=net1, name="composed")
    assert composed.list_arguments() == ["data", "fc1_weight", "fc1_bias", "fc3_weight",
                                         "fc3_bias"]
    assert composed.name == "composed" and net2.name == "fc3"  # the original is untouched
    assert net2.list_arguments() == ["fc3_data", "fc3_weight", "fc3_bias"]
    x = mx.sym.var("x")
    doubled = (x * 2)(x=mx.sym.var("y") + 1)
    np.testing.assert_allclose(_eval(doubled, y=X)[0].asnumpy(), (X + 1) * 2, rtol=1e-6)
    with pytest.raises(mx.MXNetError, match="nothere"):
        net2(nothere=net1)


# -- attributes ----------------------------------------------------------------------------------
def test_op_attributes_hidden_keys_and_auto_variables():
    data = mx.sym.var("data", attr={"mood": "angry"})
    conv = mx.sym.Convolution(data=data, name="conv", kernel=(1, 1), num_filter=1,
                              attr={"__mood__": "so so"}, lr_mult=1, wd_mult="x")
    attrs = conv.attr_dict()
    assert attrs["data"] == {"mood": "angry"}
    # given op parameters only (MXNet stores no defaults), hidden keys under both spellings
    assert attrs["conv"] == {"kernel": "(1, 1)", "num_filter": "1", "__mood__": "so so",
                             "__lr_mult__": "1", "lr_mult": "1", "__wd_mult__": "x",
                             "wd_mult": "x"}
    # the variables an op makes take its attributes (MXNet's compose)
    assert attrs["conv_weight"]["__mood__"] == "so so"
    assert attrs["conv_bias"]["__lr_mult__"] == "1"
    assert conv.attr("lr_mult") == "1" and conv.attr("name") == "conv"
    assert conv.list_attr()["wd_mult"] == "x"


def test_var_init_is_stored_as_its_json():
    v = mx.sym.var("w", init=mx.init.Xavier(magnitude=2))
    assert json.loads(v.attr("__init__")) == json.loads(mx.init.Xavier(magnitude=2).dumps())
    assert mx.sym.var("b", init="zeros").attr("__init__") == "zeros"


# -- shape and type inference --------------------------------------------------------------------
def test_partial_shape_through_cast_gives_partial_weight():
    data = mx.sym.var("data", shape=(1, 0, 0, 0))
    conv = mx.sym.Convolution(mx.sym.cast(data, dtype="float16"),
                              weight=mx.sym.cast(mx.sym.var("weight"), dtype="float16"),
                              pad=(3, 3), num_filter=64, stride=(2, 2), no_bias=True, kernel=(7, 7))
    args = dict(zip(conv.list_arguments(), conv.infer_shape_partial()[0]))
    assert args == {"data": (1, 0, 0, 0), "weight": (64, 0, 7, 7)}


def _arg_shapes(sym):
    shapes = sym.infer_shape()[0]
    assert shapes is not None
    return dict(zip(sym.list_arguments(), shapes))


def test_unknown_dims_are_completed_from_consumers():
    a, b = mx.sym.var("a", shape=(0, 10)), mx.sym.var("b", shape=(12, 0))
    assert _arg_shapes(a + b) == {"a": (12, 10), "b": (12, 10)}
    a = mx.sym.var("a", shape=(0, 10))
    fc = mx.sym.FullyConnected(a, num_hidden=21, name="fc")
    shapes = _arg_shapes(fc + mx.sym.var("c", shape=(5, 0)))
    assert (shapes["a"], shapes["c"]) == ((5, 10), (5, 21))
    a = mx.sym.var("a", shape=(0, 15, 0))
    part = mx.sym.SliceChannel(a, num_outputs=3, squeeze_axis=False)[1]
    assert _arg_shapes(part + mx.sym.var("c", shape=(3, 5, 2)))["a"] == (3, 15, 2)
    a = mx.sym.var("a", shape=(0, 10, 0, 0))
    conv = mx.sym.Convolution(a, num_filter=21, kernel=(3, 3), pad=(1, 1))
    assert _arg_shapes(conv + mx.sym.var("c", shape=(5, 21, 32, 32)))["a"] == (5, 10, 32, 32)
    a, b = mx.sym.var("a", shape=(0, 10)), mx.sym.var("b", shape=(0, 5))
    d = mx.sym.var("d", shape=(2, 0)) + mx.sym.Concat(a, b, dim=1)
    assert _arg_shapes(d) == {"d": (2, 15), "a": (2, 10), "b": (2, 5)}


def test_variables_of_one_name_are_inferred_apart():
    """MXNet's test_plot_network graph: two layers both named 'fc' make two 'fc_weight's."""
    net = mx.sym.FullyConnected(mx.sym.var("data"), name="fc", num_hidden=128)
    net = mx.sym.FullyConnected(mx.sym.Activation(net, act_type="relu"), name="fc",
                                num_hidden=10)
    assert net.list_arguments() == ["data", "fc_weight", "fc_bias", "fc_weight", "fc_bias"]
    assert net.infer_shape(data=(100, 200))[0] == [(100, 200), (128, 200), (128,), (10, 128),
                                                    (10,)]


def test_infer_shape_inputs_by_position_or_name_not_both():
    c = mx.sym.var("a") + mx.sym.var("b")
    assert c.infer_shape((2, 3), (2, 3))[1] == [(2, 3)]
    with pytest.raises(mx.MXNetError, match="not both"):
        c.infer_shape((2, 3), b=(2, 3))


def test_infer_type_unknown_is_none_and_partial():
    c = mx.sym.var("a") + mx.sym.var("b")
    with pytest.warns(UserWarning, match="Cannot decide type .*\n\ta: None"):
        assert c.infer_type() == (None, None, None)
    assert c.infer_type_partial() == ([None, None], [None], [])
    assert c.infer_type(a="float16") == ([np.float16, np.float16], [np.float16], [])
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(mx.sym.Cast(data, dtype="float32"), num_hidden=4, name="fc")
    assert fc.infer_type(data=np.float16)[0] == [np.float16, np.float32, np.float32]


# -- executors -----------------------------------------------------------------------------------
def test_backward_after_an_inference_forward(ctx):
    lhs, rhs = mx.sym.var("lhs"), mx.sym.var("rhs")
    lv, rv = np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([[2.0, 4.0], [-1.0, 0.25]])
    grads = [mx.nd.zeros((2, 2), ctx=ctx), mx.nd.zeros((2, 2), ctx=ctx)]
    ex = (lhs / rhs).bind(ctx, args=[mx.nd.array(lv, ctx=ctx), mx.nd.array(rv, ctx=ctx)],
                          args_grad=grads)
    ex.forward()  # is_train=False, as in MXNet's test_bind
    ex.backward([mx.nd.ones((2, 2), ctx=ctx)])
    np.testing.assert_allclose(grads[0].asnumpy(), 1 / rv, rtol=1e-5)
    np.testing.assert_allclose(grads[1].asnumpy(), -lv / rv ** 2, rtol=1e-5)


def test_backward_differentiates_the_forward_that_ran(ctx):
    """After forward(is_train=False) Dropout is the identity and BatchNorm uses its moving
    statistics in the gradient too (a training mask used to leak into the backward)."""
    x = mx.sym.var("x")
    ex = (mx.sym.Dropout(x, p=0.5) * 2).simple_bind(ctx, x=(2, 6))
    ex.arg_dict["x"][:] = 1
    ex.forward(is_train=True)
    ex.forward(is_train=False)
    ex.backward(mx.nd.ones((2, 6), ctx=ctx))
    np.testing.assert_array_equal(ex.grad_dict["x"].asnumpy(), np.full((2, 6), 2.0))
    ex.forward(is_train=True)  # a training forward's backward applies its own mask
    ex.backward(mx.nd.ones((2, 6), ctx=ctx))
    np.testing.assert_array_equal(ex.grad_dict["x"].asnumpy(), ex.outputs[0].asnumpy())

    y = mx.sym.BatchNorm(x, fix_gamma=False, name="bn") * mx.sym.var("w")
    ex = y.simple_bind(ctx, x=(4, 3), w=(4, 3))
    rng = np.random.RandomState(0)
    xv, wv = rng.randn(4, 3), rng.randn(4, 3)
    ex.arg_dict["x"][:], ex.arg_dict["w"][:] = xv, wv
    ex.arg_dict["bn_gamma"][:] = 1.5
    ex.aux_dict["bn_moving_var"][:], ex.aux_dict["bn_moving_mean"][:] = 2.0, 0.3
    ex.forward(is_train=False)
    ex.backward(mx.nd.ones((4, 3), ctx=ctx))
    # what MXNet 1.9.1 gives with backward(is_train=False): the moving statistics' gradient
    scale = 1.5 / np.sqrt(2.0 + 1e-3)
    np.testing.assert_allclose(ex.grad_dict["x"].asnumpy(), wv * scale, rtol=1e-5)
    np.testing.assert_allclose(ex.grad_dict["bn_gamma"].asnumpy(),
                               [1.4405, 1.8415, 0.5203], atol=1e-4)
    np.testing.assert_allclose(ex.grad_dict["bn_gamma"].asnumpy(),
                               (wv * (xv - 0.3) / np.sqrt(2.0 + 1e-3)).sum(0), rtol=1e-5)


def test_outputs_exist_at_bind_and_stay_the_same_arrays():
    x = mx.sym.var("x")
    ex = (x * 2).simple_bind(mx.cpu(), x=(2,))
    first = ex.outputs[0]
    assert first.shape == (2,)
    ex.forward(x=mx.nd.array([1.0, 2.0]))
    ex.forward(x=mx.nd.array([3.0, 4.0]))
    assert ex.outputs[0] is first
    np.testing.assert_allclose(first.asnumpy(), [6.0, 8.0])
    assert list(ex.output_dict) == ["_mulscalar0_output"] or len(ex.output_dict) == 1


def test_grad_dict_lists_every_argument():
    a, b = mx.sym.var("a"), mx.sym.var("b")
    ex = (a * b).simple_bind(mx.cpu(), grad_req={"a": "write", "b": "null"}, a=(2,), b=(2,))
    assert ex.grad_dict["b"] is None and ex.grad_arrays[1] is None
    assert ex.grad_dict["a"].shape == (2,)


def test_reshape_follows_mxnet_rules(ctx):
    x = mx.sym.var("x")
    y = mx.sym.FullyConnected(x, num_hidden=4, name="fc")
    ex = y.simple_bind(ctx, x=(5, 4), grad_req="null")
    ex.arg_dict["x"][:] = 1
    ex.arg_dict["fc_weight"][:] = 1
    small = ex.reshape(x=(3, 4))  # smaller: a view of the same memory
    small.forward()
    np.testing.assert_allclose(small.outputs[0].asnumpy(), np.full((3, 4), 4.0))
    with pytest.raises(AssertionError, match="allow_up_sizing"):
        ex.reshape(x=(6, 4))
    big = ex.reshape(allow_up_sizing=True, x=(6, 4))
    big.arg_dict["x"][:] = 0  # grown: new memory
    assert ex.arg_dict["x"].asnumpy().min() == 1
    assert big.arg_dict["fc_weight"] is ex.arg_dict["fc_weight"]
    z = mx.sym.var("w") + mx.sym.var("v")
    ex = z.simple_bind(ctx, w=(2, 2), v=(2, 2))
    with pytest.raises(AssertionError, match="partial_shaping"):
        ex.reshape(w=(1, 2))  # v changes shape too without being named
    assert ex.reshape(partial_shaping=True, w=(1, 2)).arg_dict["v"].shape == (1, 2)


def test_monitor_debug_str_and_optimized_symbol():
    x = mx.sym.var("x")
    y = mx.sym.FullyConnected(x, num_hidden=4, name="fc")
    ex = y.simple_bind(mx.cpu(), x=(5, 4))
    seen = {}
    ex.set_monitor_callback(lambda name, arr: seen.setdefault(name, arr.shape), monitor_all=True)
    ex.forward()
    assert seen["fc_output"] == (5, 4) and seen["fc_weight"] == (4, 4)
    assert "Total 0 MB allocated" in ex.debug_str()
    assert "fc" in ex.get_optimized_symbol().get_internals().list_outputs()[-1]
    assert "Name=fc" in y.debug_str()


def test_debug_str_memory_reflects_zero_gradients():
    """MXNet's test_zero_prop: a graph under stop_gradient needs no more memory with
    grad_req='write' than without gradients, and less than the differentiable graph."""
    import re
    data = mx.sym.var("data")
    for _ in range(10):
        data = data * data

    def mb(sym, **kw):
        ex = sym.simple_bind(mx.cpu(), data=(4, 3, 128, 128), **kw)
        return int(re.search(r"Total (\d+) MB allocated", ex.debug_str()).group(1))
    big, small1 = mb(data), mb(data, grad_req="null")
    small2 = mb(mx.sym.stop_gradient(data))
    assert big > small2 and small1 == small2


def test_simple_bind_shares_arrays_of_shared_exec():
    y = mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=4, name="fc")
    ex = y.simple_bind(mx.cpu(), x=(5, 4))
    other = y.simple_bind(mx.cpu(), shared_exec=ex, x=(3, 4))
    assert other.arg_dict["fc_weight"] is ex.arg_dict["fc_weight"]
    assert other.arg_dict["x"] is not ex.arg_dict["x"]


# -- JSON ----------------------------------------------------------------------------------------
def test_save_and_tojson_remove_amp_casts_unless_asked(tmp_path):
    x = mx.sym.amp_cast(mx.sym.var("a"), dtype="float16")
    fc = mx.sym.FullyConnected(x, num_hidden=2, name="fc")
    ops = [n["op"] for n in json.loads(fc.tojson(remove_amp_cast=False))["nodes"]]
    assert "amp_cast" in ops and "amp_cast" not in fc.tojson()  # MXNet 1.9.1's default
    fc.save(str(tmp_path / "plain.json"))
    fc.save(str(tmp_path / "kept.json"), remove_amp_cast=False)
    assert "amp_cast" not in mx.sym.load(str(tmp_path / "plain.json")).tojson(False)
    assert "amp_cast" in mx.sym.load(str(tmp_path / "kept.json")).tojson(False)


def test_loads_mxnet_0_8_json_with_legacy_attributes_and_aux_states():
    """MXNet 0.8 wrote user attributes under "attr" with plain keys, per-input multipliers
    on layers ("weight_lr_mult") and no BatchNorm auxiliary states."""
    def var(name, attr):
        return {"op": "null", "param": {}, "name": name, "inputs": [], "attr": attr}
    fc_attr = {"ctx_group": "stage1", "wd_mult": "0.3", "weight_lr_mult": "1.2"}
    nodes = [var("data", {"lr_mult": "0.2"}), var("fc_weight", fc_attr), var("fc_bias", fc_attr),
             {"op": "FullyConnected", "param": {"num_hidden": "4"}, "name": "fc",
              "inputs": [[0, 0], [1, 0], [2, 0]], "attr": fc_attr},
             var("bn_gamma", {}), var("bn_beta", {}),
             {"op": "BatchNorm", "param": {"eps": "0.001", "fix_gamma": "True"}, "name": "bn",
              "inputs": [[3, 0], [4, 0], [5, 0]], "attr": {"ctx_group": "stage2"}}]
    sym = mx.sym.load_json(json.dumps({"nodes": nodes, "arg_nodes": [0, 1, 2, 4, 5],
                                       "heads": [[6, 0]]}))
    assert sym.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]
    attrs = sym.attr_dict()
    assert attrs["data"]["__lr_mult__"] == "0.2"
    assert attrs["fc_weight"]["__lr_mult__"] == "1.2"
    assert attrs["fc"]["__ctx_group__"] == "stage1" and attrs["fc"]["__wd_mult__"] == "0.3"
    assert attrs["bn_moving_var"]["__ctx_group__"] == "stage2"
    assert sym.infer_shape(data=(2, 3))[2] == [(4,), (4,)]


# -- visualisation -------------------------------------------------------------------------------
def test_print_summary_of_mxnet_test_viz_network(capsys):
    """MXNet's test_viz network: layer attributes given as op keywords (lr_mult=, wd_mult=)
    are accepted, and the parameter counts follow MXNet's arithmetic."""
    data = mx.sym.var("data")
    emb = mx.sym.Embedding(data, name="emb1", input_dim=100, output_dim=28)
    conv = mx.sym.Convolution(emb, name="conv1", num_filter=32, kernel=(3, 3), stride=(2, 2))
    act = mx.sym.Activation(mx.sym.BatchNorm(conv, name="bn1"), name="relu1", act_type="relu")
    pool = mx.sym.Pooling(act, name="mp1", kernel=(2, 2), stride=(2, 2), pool_type="max")
    fc1 = mx.sym.FullyConnected(pool, bias=mx.sym.var("fc1_bias", lr_mult=1.0), name="fc1",
                                num_hidden=10, lr_mult=0)
    fc2 = mx.sym.FullyConnected(fc1, name="fc2", num_hidden=10, wd_mult=0.5)
    net = mx.sym.SliceChannel(fc2, num_outputs=10, name="slice_1", squeeze_axis=0)
    mx.viz.print_summary(net, {"data": (1, 3, 28)})
    text = capsys.readouterr().out
    assert "slice_1(SliceChannel)" in text
    # 28*100 + (32*3*3*3 + 32) + 2*32 + (32*6*6*10 + 10) + (10*10 + 10)
    assert "Total params: 15400" in text


def test_bind_ignores_dict_entries_that_name_no_input():
    """MXNet's symbol tutorial ("variable sharing") binds {'a': .., 'b': ..} to a + a * a."""
    a = mx.sym.var("a")
    b = a + a * a
    data = mx.nd.ones((2, 3)) * 2
    ex = b.bind(mx.cpu(), args={"a": data, "b": data},
                args_grad={"a": mx.nd.zeros((2, 3)), "b": mx.nd.zeros((2, 3))})
    ex.forward(is_train=True)
    np.testing.assert_allclose(ex.outputs[0].asnumpy(), np.full((2, 3), 6.0))
    ex.backward()
    np.testing.assert_allclose(ex.grad_dict["a"].asnumpy(), np.full((2, 3), 5.0))  # 1 + 2a


_D, _G, _B = (mx.sym.var(n) for n in "dgb")


@pytest.mark.parametrize("make,names", [
    # MXNet 1.9.1's list_outputs: ops with a hidden second output name their one visible output0
    (lambda: mx.sym.sort(_D, name="op"), ["op_output0"]),
    (lambda: mx.sym.argsort(_D, name="op"), ["op_output"]),
    (lambda: mx.sym.topk(_D, k=2, name="op"), ["op_output"]),
    (lambda: mx.sym.topk(_D, k=2, ret_typ="value", name="op"), ["op_output0"]),
    (lambda: mx.sym.topk(_D, k=2, ret_typ="both", name="op"), ["op_output0", "op_output1"]),
    (lambda: mx.sym.split(_D, num_outputs=1, name="op"), ["op_output0"]),
    (lambda: mx.sym.LayerNorm(_D, _G, _B, output_mean_var=True, name="op"),
     ["op_output", "op_mean", "op_std"]),
    (lambda: mx.sym.GroupNorm(_D, _G, _B, output_mean_var=True, name="op"),
     ["op_output", "op_mean", "op_std"]),
    (lambda: mx.sym.LayerNorm(_D, _G, _B, name="op"), ["op_output"]),
    (lambda: mx.sym.contrib.box_nms(_D, name="op"), ["op_output0"]),
    (lambda: mx.sym.CTCLoss(_D, _G, name="op"), ["op_output0"]),
    (lambda: mx.sym.histogram(_D, bins=3, range=(0, 1), name="op"),
     ["op_output0", "op_output1"]),
])
def test_output_names_as_mxnet(make, names):
    assert make().list_outputs() == names


@pytest.mark.parametrize("make,types,want", [
    # MXNet 1.9.1's infer_type with dtypes only (no shapes): outputs that take neither the
    # first input's dtype nor the dtype attribute
    (lambda: mx.sym.where(_D, _G, _B), dict(d="int32", g="float32", b="float32"), ["float32"]),
    (lambda: mx.sym.shape_array(_D), dict(d="float32"), ["int64"]),
    (lambda: mx.sym.size_array(_D), dict(d="float16"), ["int64"]),
    (lambda: mx.sym.histogram(_D, bins=3, range=(0, 1)), dict(d="float32"),
     ["int64", "float32"]),
    (lambda: mx.sym.topk(_D, k=2, ret_typ="both", dtype="int64"), dict(d="float32"),
     ["float32", "int64"]),
    (lambda: mx.sym.topk(_D, k=2, ret_typ="value", dtype="int64"), dict(d="float64"),
     ["float64"]),
    (lambda: mx.sym.amp_cast(_D, dtype="float16"), dict(d="int32"), ["int32"]),
    (lambda: mx.sym.amp_cast(_D, dtype="float16"), dict(d="float32"), ["float16"]),
])
def test_infer_type_without_shapes_as_mxnet(make, types, want):
    _, outs, _ = make().infer_type(**types)
    assert [np.dtype(t).name for t in outs] == want
