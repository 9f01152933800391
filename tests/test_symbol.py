"""The Symbol API (``mx.sym``) against MXNet 1.x's documented behaviour: building, naming,
attributes, shape/type inference, errors, and executors checked against eager ``mx.nd``."""

from __future__ import annotations

import inspect
import sys

import numpy as np
import pytest

import mxplug as mx
from mxplug.ops import REGISTRY

HERE = __file__


def _line():
    return sys._getframe(1).f_lineno


def _mlp():
    data = mx.sym.var("data")
    fc1 = mx.sym.FullyConnected(data, num_hidden=8, name="fc1")
    act = mx.sym.Activation(fc1, act_type="relu", name="relu1")
    return mx.sym.FullyConnected(act, num_hidden=3, name="fc2")


# -- variables -----------------------------------------------------------------------------------
def test_var_attributes():
    w = mx.sym.var("w", shape=(2, 3), dtype="float16", init="zeros", lr_mult=2.0, wd_mult=0.5,
                   attr={"foo": "bar"})
    assert w.name == "w"
    assert w.attr("foo") == "bar"
    assert w.attr("__shape__") == "(2, 3)"
    assert w.attr("__init__") == "zeros"
    assert w.attr("__lr_mult__") == "2.0"
    assert w.attr("__wd_mult__") == "0.5"
    assert w.attr("missing") is None
    assert w.list_attr()["foo"] == "bar"
    assert w.list_arguments() == ["w"] and w.list_outputs() == ["w"]
    # The declared shape and type are what inference starts from.
    assert w.infer_shape() == ([(2, 3)], [(2, 3)], [])
    assert w.infer_type()[0] == [np.float16]
    assert mx.sym.Variable is mx.sym.var
    with pytest.raises(mx.MXNetError):
        mx.sym.var(3)


# -- the op namespace ----------------------------------------------------------------------------
def _nd_fn(name):
    fn = getattr(mx.nd, name, None) or getattr(mx.nd._internal, name, None)
    return fn


def _sym_fn(name):
    return getattr(mx.sym, name, None) or getattr(mx.sym._internal, name, None)


def test_every_registry_op_is_symbolic_with_the_nd_signature():
    handwritten = []
    for name, op in REGISTRY.items():
        sfn = _sym_fn(name)
        assert sfn is not None, f"mx.sym.{name} missing"
        assert getattr(sfn, "op", None) is op, name
        assert sfn.__doc__, name
        nfn = _nd_fn(name)
        assert nfn is not None, f"mx.nd.{name} missing"
        if getattr(nfn, "op", None) is not op:
            handwritten.append(name)  # mx.nd's own function (e.g. empty): nothing to compare
            continue
        assert (list(inspect.signature(sfn).parameters)
                == list(inspect.signature(nfn).parameters)), name
    assert len(handwritten) <= 3, handwritten


def test_missing_inputs_become_named_variables():
    net = _mlp()
    assert net.list_arguments() == ["data", "fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias"]
    nb = mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=4, no_bias=True, name="nb")
    assert nb.list_arguments() == ["x", "nb_weight"]
    mine = mx.sym.FullyConnected(mx.sym.var("x"), weight=mx.sym.var("myweight"), num_hidden=4,
                                 name="fc")
    assert mine.list_arguments() == ["x", "myweight", "fc_bias"]


# -- Python operators ----------------------------------------------------------------------------
@pytest.mark.parametrize("fn,ref", [
    (lambda a, b: a + b, lambda a, b: a + b),
    (lambda a, b: a - b, lambda a, b: a - b),
    (lambda a, b: a * b, lambda a, b: a * b),
    (lambda a, b: a / b, lambda a, b: a / b),
    (lambda a, b: a ** b, lambda a, b: a ** b),
    (lambda a, b: a % b, lambda a, b: np.mod(a, b)),
    (lambda a, b: a + 2.0, lambda a, b: a + 2.0),
    (lambda a, b: 2.0 + a, lambda a, b: 2.0 + a),
    (lambda a, b: a - 3.0, lambda a, b: a - 3.0),
    (lambda a, b: 3.0 - a, lambda a, b: 3.0 - a),
    (lambda a, b: a * 4.0, lambda a, b: a * 4.0),
    (lambda a, b: 4.0 * a, lambda a, b: 4.0 * a),
    (lambda a, b: a / 2.0, lambda a, b: a / 2.0),
    (lambda a, b: 2.0 / a, lambda a, b: 2.0 / a),
    (lambda a, b: a ** 2.0, lambda a, b: a ** 2.0),
    (lambda a, b: 2.0 ** a, lambda a, b: 2.0 ** a),
    (lambda a, b: -a, lambda a, b: -a),
    (lambda a, b: abs(a - b), lambda a, b: abs(a - b)),
    (lambda a, b: a > b, lambda a, b: (a > b).astype(np.float32)),
    (lambda a, b: a <= 1.5, lambda a, b: (a <= 1.5).astype(np.float32)),
    (lambda a, b: a == b, lambda a, b: (a == b).astype(np.float32)),
    (lambda a, b: a != b, lambda a, b: (a != b).astype(np.float32)),
])
def test_python_operators(fn, ref):
    an = np.array([[1.0, 2.0], [3.0, 0.5]], np.float32)
    bn = np.array([[2.0, 2.0], [1.0, 4.0]], np.float32)
    s = fn(mx.sym.var("a"), mx.sym.var("b"))
    assert isinstance(s, mx.sym.Symbol)
    ex = s.bind(mx.cpu(), {k: mx.nd.array(v) for k, v in (("a", an), ("b", bn))
                           if k in s.list_arguments()}, grad_req="null")
    np.testing.assert_allclose(ex.forward()[0].asnumpy(), ref(an, bn), rtol=1e-6)


def test_symbol_has_no_truth_value():
    with pytest.raises(mx.MXNetError):
        bool(mx.sym.var("a") + 1)


# -- structure -----------------------------------------------------------------------------------
def test_group_index_and_internals():
    net = _mlp()
    g = mx.sym.Group([net, mx.sym.var("extra")])
    assert g.list_outputs() == ["fc2_output", "extra"]
    assert len(g) == 2 and g.name is None
    assert g[0].name == "fc2" and g[-1].name == "extra" and g["extra"].name == "extra"
    assert [s.name for s in g] == ["fc2", "extra"]
    with pytest.raises(IndexError):
        g[2]
    with pytest.raises(ValueError):
        g["nope"]
    internals = net.get_internals()
    assert internals.list_outputs() == ["data", "fc1_weight", "fc1_bias", "fc1_output",
                                        "relu1_output", "fc2_weight", "fc2_bias", "fc2_output"]
    fc1 = internals["fc1_output"]
    assert fc1.name == "fc1" and fc1.list_arguments() == ["data", "fc1_weight", "fc1_bias"]
    assert fc1.infer_shape(data=(5, 7))[1] == [(5, 8)]
    children = net.get_children()
    assert children.list_outputs() == ["relu1_output", "fc2_weight", "fc2_bias"]
    assert mx.sym.var("v").get_children() is None


def test_multi_output_op_with_known_shapes():
    s = mx.sym.split(mx.sym.var("x", shape=(4, 6)), num_outputs=3, name="sp")
    assert s.list_outputs() == ["sp_output0", "sp_output1", "sp_output2"]
    assert len(s) == 3 and s[2].shape == (4, 2)


def test_multi_output_op_without_shapes():
    s = mx.sym.split(mx.sym.var("x"), num_outputs=3, name="sp")
    assert s.list_outputs() == ["sp_output0", "sp_output1", "sp_output2"]


def test_batchnorm_lists_aux_states_in_mxnet_order():
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, name="conv")
    bn = mx.sym.BatchNorm(conv, name="bn")
    out = mx.sym.Activation(bn, act_type="relu", name="act")
    assert out.list_arguments() == ["data", "conv_weight", "conv_bias", "bn_gamma", "bn_beta"]
    assert out.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]
    assert out.list_inputs() == ["data", "conv_weight", "conv_bias", "bn_gamma", "bn_beta",
                                 "bn_moving_mean", "bn_moving_var"]
    assert out.list_outputs() == ["act_output"]
    assert bn.list_outputs() == ["bn_output"]


# -- names, prefixes, attribute scopes -----------------------------------------------------------
def test_automatic_names_count_per_op():
    with mx.name.NameManager():
        x = mx.sym.var("x")
        a = mx.sym.FullyConnected(x, num_hidden=2)
        b = mx.sym.FullyConnected(a, num_hidden=2)
        c = mx.sym.Activation(b, act_type="tanh")
    assert (a.name, b.name, c.name) == ("fullyconnected0", "fullyconnected1", "activation0")
    assert a.list_arguments() == ["x", "fullyconnected0_weight", "fullyconnected0_bias"]


def test_name_prefix():
    x = mx.sym.var("x")
    with mx.name.Prefix("mlp_"):
        a = mx.sym.FullyConnected(x, num_hidden=2)
        b = mx.sym.FullyConnected(a, num_hidden=2, name="out")
    assert a.name == "mlp_fullyconnected0" and b.name == "mlp_out"
    assert b.list_arguments()[-2:] == ["mlp_out_weight", "mlp_out_bias"]
    c = mx.sym.FullyConnected(x, num_hidden=2, name="out")
    assert c.name == "out"  # the prefix ends with the block


def test_attr_scope_and_attr_dict():
    with mx.AttrScope(ctx_group="dev1", lr_mult="0.1"):
        v = mx.sym.var("v")
        h = mx.sym.relu(v, name="r")
    outside = mx.sym.relu(h, name="r2")
    assert v.attr("ctx_group") == "dev1" and h.attr("lr_mult") == "0.1"
    assert outside.attr("ctx_group") is None
    d = outside.attr_dict()
    # MXNet keeps ctx_group/lr_mult/wd_mult as hidden __key__ attributes
    assert d["v"]["__ctx_group__"] == "dev1" and d["r"]["__ctx_group__"] == "dev1"
    assert "ctx_group" not in d.get("r2", {})
    fc = mx.sym.FullyConnected(v, num_hidden=3, name="fc", attr={"mood": "happy"})
    assert fc.attr("mood") == "happy" and fc.attr("num_hidden") == "3"
    assert fc.list_attr()["mood"] == "happy"
    assert fc.attr_dict()["fc"]["num_hidden"] == "3"


# -- inference -----------------------------------------------------------------------------------
def test_infer_shape_mlp_documented_example():
    net = mx.sym.FullyConnected(mx.sym.var("data"), name="fc1", num_hidden=10)
    arg, out, aux = net.infer_shape(data=(100, 100))
    assert dict(zip(net.list_arguments(), arg)) == {"data": (100, 100), "fc1_weight": (10, 100),
                                                     "fc1_bias": (10,)}
    assert out == [(100, 10)] and aux == []
    # Positional shapes follow list_arguments.
    assert net.infer_shape((100, 100))[1] == [(100, 10)]
    with pytest.raises(mx.MXNetError):
        net.infer_shape(nope=(1, 2))


def test_infer_shape_parameters_of_layers():
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, kernel=(3, 3), num_filter=6, pad=(1, 1), name="c")
    bn = mx.sym.BatchNorm(conv, name="bn")
    arg, out, aux = bn.infer_shape(data=(2, 3, 8, 8))
    assert dict(zip(bn.list_arguments(), arg)) == {
        "data": (2, 3, 8, 8), "c_weight": (6, 3, 3, 3), "c_bias": (6,), "bn_gamma": (6,),
        "bn_beta": (6,)}
    assert out == [(2, 6, 8, 8)] and aux == [(6,), (6,)]
    grouped = mx.sym.Convolution(data, kernel=(1, 1), num_filter=4, num_group=2, no_bias=True)
    assert grouped.infer_shape(data=(1, 6, 5, 5))[0][1] == (4, 3, 1, 1)
    emb = mx.sym.Embedding(mx.sym.var("tok"), input_dim=50, output_dim=7, name="emb")
    arg, out, _ = emb.infer_shape(tok=(4, 9))
    assert arg == [(4, 9), (50, 7)] and out == [(4, 9, 7)]
    fc = mx.sym.FullyConnected(data, num_hidden=5, flatten=False, name="f")
    assert fc.infer_shape(data=(2, 3, 4)) == ([(2, 3, 4), (5, 4), (5,)], [(2, 3, 5)], [])


def test_infer_shape_incomplete_and_partial():
    data, prev = mx.sym.var("data"), mx.sym.var("prev")
    fc1 = mx.sym.FullyConnected(data=data, name="fc1", num_hidden=128)
    fc2 = mx.sym.FullyConnected(data=prev, name="fc2", num_hidden=128)
    out = mx.sym.Activation(fc1 + fc2, act_type="relu")
    with pytest.warns(UserWarning, match=r"Cannot decide shape.*\n\tprev: \(\)"):  # MXNet's
        assert out.infer_shape(data=(10, 64)) == (None, None, None)
    arg, _, aux = out.infer_shape_partial(data=(10, 64))
    assert arg == [(10, 64), (128, 64), (128,), (), (), ()] and aux == []
    arg, outs, _ = out.infer_shape(data=(10, 64), prev=(10, 128))
    assert arg[3:] == [(10, 128), (128, 128), (128,)] and outs == [(10, 128)]


def test_infer_shape_partial_elementwise_backward():
    data, prev = mx.sym.var("data"), mx.sym.var("prev")
    fc1 = mx.sym.FullyConnected(data=data, name="fc1", num_hidden=128)
    fc2 = mx.sym.FullyConnected(data=prev, name="fc2", num_hidden=128)
    out = mx.sym.Activation(fc1 + fc2, act_type="relu")
    assert out.infer_shape_partial(data=(10, 64))[1] == [(10, 128)]  # documented by MXNet


def test_infer_shape_partial_unknown_dim():
    conv = mx.sym.Convolution(mx.sym.var("data"), kernel=(3, 3), num_filter=4, name="c")
    arg, out, _ = conv.infer_shape_partial(data=(0, 3, 8, 8))
    assert arg[1:] == [(4, 3, 3, 3), (4,)]
    assert out == [(0, 4, 6, 6)]


def test_infer_shape_fills_elementwise_peers_and_keeps_zero_dims_unknown():
    a, b = mx.sym.var("a"), mx.sym.var("b")
    args, outs, _ = (mx.sym.relu(a) * b).infer_shape(a=(2, 3))
    assert args == [(2, 3), (2, 3)] and outs == [(2, 3)]          # b from its elementwise peer
    assert (a + b).infer_shape_partial()[0] == [(), ()]            # nothing known: nothing made up
    with pytest.raises(mx.MXNetError, match="Expect"):              # known peers still must agree
        mx.sym.elemwise_add(a, b).infer_shape(a=(2, 3), b=(3, 2))
    conv = mx.sym.Convolution(mx.sym.var("data"), kernel=(3, 3), num_filter=4, name="c")
    with pytest.warns(UserWarning, match="0s in shape"):
        assert conv.infer_shape(data=(0, 3, 8, 8)) == (None, None, None)  # 0 = unknown dim


def test_declared_zero_dims_are_filled_by_inference():
    w = mx.sym.var("w", shape=(5, 0))
    fc = mx.sym.FullyConnected(mx.sym.var("x"), weight=w, num_hidden=5, name="fc")
    assert fc.infer_shape(x=(2, 7))[0][1] == (5, 7)
    bad = mx.sym.var("w2", shape=(6, 0))
    fc = mx.sym.FullyConnected(mx.sym.var("x"), weight=bad, num_hidden=5, name="fcw")
    with pytest.raises(mx.MXNetError, match=r"Expect: .*Actual"):
        fc.infer_shape(x=(2, 7))


def test_zeros_with_unknown_dims_take_their_shape_from_consumers(tmp_path):
    # MXNet's Gluon RNN layers export their begin states as _zeros(shape=(1, 0, H)): the 0 is
    # the batch size, which shape inference fills from the consumers (an elementwise peer, or
    # the RNN op's state rule); binding must then create arrays of the filled shape
    x, p = mx.sym.var("data"), mx.sym.var("params")
    h0, c0 = mx.sym.zeros(shape=(1, 0, 4)), mx.sym.zeros(shape=(1, 0, 4))
    rnn = mx.sym.RNN(x, p, h0, c0, state_size=4, num_layers=1, mode="lstm", name="rnn")
    assert rnn.infer_shape(data=(5, 3, 2))[1] == [(5, 3, 4)]
    ex = rnn.simple_bind(mx.cpu(), data=(5, 3, 2))
    ex.arg_dict["params"][:] = 0.1
    ex.arg_dict["data"][:] = 1.0
    assert ex.forward()[0].shape == (5, 3, 4)

    fc = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=4, name="fc")
    out = fc + mx.sym.ones(shape=(0, 4))
    assert out.infer_shape(data=(2, 3))[1] == [(2, 4)]
    ex = out.simple_bind(mx.cpu(), data=(2, 3))
    for a in ex.arg_dict.values():
        a[:] = 1.0
    np.testing.assert_array_equal(ex.forward(is_train=True)[0].asnumpy(), np.full((2, 4), 5.0))
    ex.backward()
    np.testing.assert_array_equal(ex.grad_dict["fc_bias"].asnumpy(), np.full(4, 2.0))
    assert "(0, 4)" in out.tojson()  # the symbol itself keeps the unknown dim
    out.save(str(tmp_path / "m-symbol.json"))
    mx.nd.save(str(tmp_path / "m-0000.params"),
               {"arg:fc_weight": mx.nd.ones((4, 3)), "arg:fc_bias": mx.nd.ones(4)})
    block = mx.gluon.SymbolBlock.imports(str(tmp_path / "m-symbol.json"), ["data"],
                                         str(tmp_path / "m-0000.params"))
    np.testing.assert_array_equal(block(mx.nd.ones((5, 3))).asnumpy(), np.full((5, 4), 5.0))


def test_infer_type():
    a, b = mx.sym.var("a"), mx.sym.var("b")
    arg, out, aux = (a + b).infer_type(a="float32")
    assert arg == [np.float32, np.float32] and out == [np.float32] and aux == []
    c = mx.sym.cast(a, dtype="float16")
    assert c.infer_type(a="float64") == ([np.float64], [np.float16], [])
    assert mx.sym.var("h", dtype="int32").infer_type()[1] == [np.int32]


def test_infer_type_propagates_to_weights():
    fc = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=3, name="fc")
    assert fc.infer_type(data="float64")[0] == [np.float64] * 3
    a, b = mx.sym.var("a"), mx.sym.var("b")
    assert (a + b).infer_type(a="float64")[0] == [np.float64, np.float64]


def test_inconsistent_graph_names_node_and_source_line():
    x, w = mx.sym.var("x"), mx.sym.var("w")
    line = _line() + 1
    y = mx.sym.FullyConnected(x, w, num_hidden=5, no_bias=True, name="fcbad")
    with pytest.raises(mx.MXNetError) as info:
        y.infer_shape(x=(2, 3), w=(5, 4))
    msg = str(info.value)
    assert "Expect:" in msg and "Actual:" in msg and "fcbad" in msg
    assert f"{HERE}:{line}" in msg
    # Declared shapes fail as soon as the node is made, with the same message.
    xs = mx.sym.var("xs", shape=(2, 3))
    with pytest.raises(mx.MXNetError) as info:
        line = _line() + 1
        _ = xs + mx.sym.var("ys", shape=(5, 4))
    assert "Expect:" in str(info.value) and f"{HERE}:{line}" in str(info.value)


# -- executors against eager mx.nd + autograd ----------------------------------------------------
def _rand(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


def _close(a, b, tol=1e-4):
    np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), rtol=tol, atol=tol)


def test_bind_forward_backward_matches_eager_mlp(ctx):
    rng = np.random.default_rng(0)
    net = _mlp()
    shapes = dict(zip(net.list_arguments(), net.infer_shape(data=(4, 5))[0]))
    vals = {k: _rand(rng, s) for k, s in shapes.items()}
    args = {k: mx.nd.array(v, ctx=ctx) for k, v in vals.items()}
    grads = {k: mx.nd.zeros(s, ctx=ctx) for k, s in shapes.items()}
    ex = net.bind(ctx, args, args_grad=grads)
    out = ex.forward(is_train=True)[0]
    head = mx.nd.array(_rand(rng, (4, 3)), ctx=ctx)
    ex.backward(head)

    eager = {k: mx.nd.array(v, ctx=ctx) for k, v in vals.items()}
    for v in eager.values():
        v.attach_grad()
    with mx.autograd.record():
        h = mx.nd.FullyConnected(eager["data"], eager["fc1_weight"], eager["fc1_bias"],
                                 num_hidden=8)
        h = mx.nd.Activation(h, act_type="relu")
        ref = mx.nd.FullyConnected(h, eager["fc2_weight"], eager["fc2_bias"], num_hidden=3)
    ref.backward(head)
    _close(out, ref)
    assert set(ex.grad_dict) == set(shapes)
    for k in shapes:
        _close(ex.grad_dict[k], eager[k].grad)
        assert ex.grad_dict[k] is grads[k]  # written into the arrays given to bind
    assert list(ex.output_dict) == ["fc2_output"]
    assert ex.arg_arrays[0] is args["data"]


def test_simple_bind_conv_matches_eager(ctx):
    rng = np.random.default_rng(1)
    data = mx.sym.var("data")
    net = mx.sym.Convolution(data, kernel=(3, 3), num_filter=2, pad=(1, 1), name="c")
    net = mx.sym.Pooling(mx.sym.tanh(net), kernel=(2, 2), stride=(2, 2), pool_type="max")
    net = mx.sym.sum(net * 2.0 - 1.0)
    ex = net.simple_bind(ctx, data=(2, 1, 6, 6))
    assert ex.arg_dict["c_weight"].shape == (2, 1, 3, 3)
    assert ex.grad_dict["c_weight"].shape == (2, 1, 3, 3)
    vals = {k: _rand(rng, v.shape) for k, v in ex.arg_dict.items()}
    ex.copy_params_from({k: mx.nd.array(v, ctx=ctx) for k, v in vals.items()})
    out = ex.forward(is_train=True)[0]
    ex.backward()
    eager = {k: mx.nd.array(v, ctx=ctx) for k, v in vals.items()}
    for v in eager.values():
        v.attach_grad()
    with mx.autograd.record():
        r = mx.nd.Convolution(eager["data"], eager["c_weight"], eager["c_bias"], kernel=(3, 3),
                              num_filter=2, pad=(1, 1))
        r = mx.nd.Pooling(mx.nd.tanh(r), kernel=(2, 2), stride=(2, 2), pool_type="max")
        r = mx.nd.sum(r * 2.0 - 1.0)
    r.backward()
    _close(out, r)
    for k in vals:
        _close(ex.grad_dict[k], eager[k].grad)


def test_grad_req_write_add_null(ctx):
    x = mx.sym.var("x")
    y = mx.sym.var("y")
    f = x * x * y
    xv, yv = mx.nd.array([1.0, 2.0], ctx=ctx), mx.nd.array([3.0, 4.0], ctx=ctx)
    gx = mx.nd.ones((2,), ctx=ctx)
    ex = f.bind(ctx, {"x": xv, "y": yv}, args_grad={"x": gx},
                grad_req={"x": "add", "y": "null"})
    for step in (1, 2):
        ex.forward(is_train=True)
        ex.backward(mx.nd.ones((2,), ctx=ctx))
        np.testing.assert_allclose(gx.asnumpy(), 1 + step * np.array([6.0, 16.0]))
    assert ex.grad_dict["y"] is None  # MXNet lists every argument
    ex = f.bind(ctx, {"x": xv, "y": yv}, grad_req="write")
    for _ in range(2):
        ex.forward(is_train=True)
        ex.backward(mx.nd.ones((2,), ctx=ctx))
    np.testing.assert_allclose(ex.grad_dict["x"].asnumpy(), [6.0, 16.0])
    np.testing.assert_allclose(ex.grad_dict["y"].asnumpy(), [1.0, 4.0])
    ex = f.bind(ctx, {"x": xv, "y": yv}, grad_req="null")
    assert ex.grad_dict == {"x": None, "y": None}  # as MXNet: every argument, no arrays
    np.testing.assert_allclose(ex.forward()[0].asnumpy(), [3.0, 16.0])
    ex.backward()  # as MXNet: nothing to compute, nothing written
    assert ex.grad_dict == {"x": None, "y": None}


def test_forward_kwargs_eval_and_bind_errors(ctx):
    x = mx.sym.var("x")
    f = mx.sym.exp(x)
    ex = f.bind(ctx, [mx.nd.zeros((3,), ctx=ctx)], grad_req="null")
    np.testing.assert_allclose(ex.forward(x=mx.nd.ones((3,), ctx=ctx))[0].asnumpy(),
                               np.full(3, np.e), rtol=1e-6)
    np.testing.assert_allclose(f.eval(ctx=ctx, x=mx.nd.zeros((2,), ctx=ctx))[0].asnumpy(),
                               [1.0, 1.0])
    with pytest.raises(mx.MXNetError):
        f.bind(ctx, {})
    # MXNet ignores dict entries that name no argument (its "variable sharing" tutorial)
    assert list(f.bind(ctx, {"x": mx.nd.zeros((1,), ctx=ctx), "zz": mx.nd.zeros((1,))},
                       grad_req="null").arg_dict) == ["x"]
    with pytest.raises(mx.MXNetError):
        ex.forward(zz=mx.nd.zeros((3,)))


def test_aux_dict_and_inference_batchnorm(ctx):
    data = mx.sym.var("data")
    bn = mx.sym.BatchNorm(data, fix_gamma=False, name="bn")
    ex = bn.simple_bind(ctx, data=(4, 3))
    assert sorted(ex.aux_dict) == ["bn_moving_mean", "bn_moving_var"]
    assert [a.shape for a in ex.aux_arrays] == [(3,), (3,)]
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    ex.copy_params_from({"data": mx.nd.array(x), "bn_gamma": mx.nd.ones(3),
                         "bn_beta": mx.nd.zeros(3)},
                        {"bn_moving_mean": mx.nd.array([1.0, 2.0, 3.0]),
                         "bn_moving_var": mx.nd.ones(3)})
    out = ex.forward(is_train=False)[0].asnumpy()  # inference uses the moving statistics
    np.testing.assert_allclose(out, (x - [1, 2, 3]) / np.sqrt(1 + 1e-3), rtol=1e-5)
    with pytest.raises(mx.MXNetError):
        ex.copy_params_from({"nope": mx.nd.ones(1)})
    ex.copy_params_from({"nope": mx.nd.ones(1)}, allow_extra_params=True)


def test_training_forward_updates_moving_stats():
    bn = mx.sym.BatchNorm(mx.sym.var("data"), name="bn")
    ex = bn.simple_bind(mx.cpu(), data=(4, 3))
    ex.arg_dict["data"][:] = mx.nd.array(np.arange(12, dtype=np.float32).reshape(4, 3))
    ex.aux_dict["bn_moving_var"][:] = 1
    ex.forward(is_train=True)
    np.testing.assert_allclose(ex.aux_dict["bn_moving_mean"].asnumpy(),
                               0.1 * np.array([4.5, 5.5, 6.5]), rtol=1e-5)


def test_reshape_shares_parameters(ctx):
    net = _mlp()
    ex = net.simple_bind(ctx, data=(4, 5))
    ex.arg_dict["fc1_weight"][:] = 0.5
    with pytest.raises(AssertionError, match="allow_up_sizing"):  # MXNet's rule
        ex.reshape(data=(7, 5))
    new = ex.reshape(data=(7, 5), allow_up_sizing=True)
    assert new.arg_dict["data"].shape == (7, 5)
    assert new.arg_dict["fc1_weight"] is ex.arg_dict["fc1_weight"]
    assert new.forward()[0].shape == (7, 3)


def test_simple_bind_binds_undeclared_arguments_as_float32():
    """MXNet's simple_bind: without type_dict, arguments that declare no __dtype__ are float32
    (not the dtype inference would give them from a float16 neighbour)."""
    a = mx.sym.var("a", dtype="float16")
    b = mx.sym.var("b")
    ex = mx.sym.amp_multicast(a, b, num_outputs=2).simple_bind(mx.cpu(), a=(2,), b=(2,))
    assert ex.arg_dict["a"].dtype == np.float16 and ex.arg_dict["b"].dtype == np.float32
    assert mx.sym.var("c", dtype="float16").attr("__dtype__") == "2"  # MXNet's type code


def test_variables_made_by_an_op_carry_its_parameters_and_role_initializers():
    # MXNet 1.9.1's attr_dict for the same calls
    x = mx.sym.var("data")
    fc = mx.sym.FullyConnected(x, num_hidden=2, name="fc")
    assert fc.attr_dict()["fc_weight"] == {"num_hidden": "2"}
    bn = mx.sym.BatchNorm(x, name="bn").attr_dict()
    assert bn["bn_moving_mean"] == {"__init__": '["zero", {}]'}
    assert bn["bn_moving_var"] == {"__init__": '["one", {}]'}
    prelu = mx.sym.LeakyReLU(x, act_type="prelu", name="act")
    assert prelu.attr_dict()["act_gamma"]["__init__"] == '["Constant", {"value": 0.25}]'
    mod = mx.mod.Module(prelu, label_names=None)
    mod.bind([("data", (2, 3))])
    mod.init_params()
    np.testing.assert_allclose(mod.get_params()[0]["act_gamma"].asnumpy(), [0.25] * 3)


def test_mxnet_module_level_names():
    from mxplug.attribute import AttrScope
    from mxplug.base import _as_list
    assert AttrScope is mx.AttrScope and mx.attribute.AttrScope is AttrScope
    assert _as_list(1) == [1] and _as_list((1, 2)) == (1, 2)
    assert mx.sym.var("b", shape=3).infer_shape()[0] == [(3,)]  # an int shape, as MXNet takes


def test_executor_backward_head_gradients_as_mxnet():
    a = mx.sym.var("a")
    e = (mx.sym.cast(a, dtype="int32") * 2).simple_bind(mx.cpu(), a=(2,))
    e.forward(is_train=True, a=mx.nd.array([1.0, 2.0]))
    e.backward(out_grads=[mx.nd.array([0.3, 1.7])])  # cast to the int32 output: [0, 1]
    np.testing.assert_array_equal(e.grad_dict["a"].asnumpy(), [0.0, 2.0])
    (a * 2).simple_bind(mx.cpu(), a=(2,), grad_req="null").backward()  # nothing to do
    e = (a * 2).simple_bind(mx.cpu(), a=(2,))
    e.backward(out_grads=mx.nd.ones(2))  # before any forward: the bound values
    np.testing.assert_array_equal(e.grad_dict["a"].asnumpy(), [2.0, 2.0])
    e.forward(is_train=True)
    e.backward(out_grads=[mx.nd.ones(2), mx.nd.ones(3)])  # the extra one is ignored
    with pytest.raises(ValueError, match="0 out_grads for 1 outputs"):
        e.backward(out_grads=[])


def test_name_and_attr_scopes_are_per_thread_and_settable_as_in_mxnet():
    import threading

    from mxplug.attribute import AttrScope
    from mxplug.name import NameManager

    seen = {}

    def worker():
        NameManager.current = NameManager()
        NameManager.current.get(None, "worker")
        AttrScope.current = AttrScope(x="worker")
        seen["names"], seen["attrs"] = NameManager.current, AttrScope.current

    mine = NameManager.current
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert NameManager.current is mine and "worker" not in mine._counter
    assert "worker" in seen["names"]._counter and seen["attrs"]._attr == {"x": "worker"}
    assert AttrScope.current._attr == {}
    with mx.AttrScope(ctx_group="dev1"), mx.AttrScope(lr_mult=2):
        assert AttrScope.current._attr == {"__ctx_group__": "dev1", "__lr_mult__": "2"}
        assert AttrScope.current.get({"k": "v"})["k"] == "v"
        w = mx.sym.var("w")
    assert (w.attr("ctx_group"), w.attr("lr_mult")) == ("dev1", "2")
    assert mx.Context.devtype2str[mx.cpu().device_typeid] == "cpu"
    assert mx.Context.devstr2type["gpu"] == 2


def test_zeros_batch_dim_is_inferred_back_through_layers_and_named_when_it_cannot_be():
    # MXNet runs shape rules both ways: a user's legacy RNN cell makes its begin state
    # zeros(shape=(0, H)) and feeds it through FullyConnected / unary ops before an add
    x = mx.sym.var("x")
    z = mx.sym.zeros(shape=(0, 4))
    assert mx.sym.elemwise_add(x, mx.sym.relu(z)).infer_shape(x=(10, 4))[1] == [(10, 4)]
    fc = mx.sym.elemwise_add(x, mx.sym.FullyConnected(z, num_hidden=4, name="fc"))
    assert fc.infer_shape(x=(10, 4))[0] == [(10, 4), (4, 4), (4,)]
    ex = fc.simple_bind(mx.cpu(), x=(10, 4))
    assert ex.forward()[0].shape == (10, 4)
    alone = mx.sym.FullyConnected(mx.sym.zeros(shape=(0, 4), name="z0"), num_hidden=3)
    with pytest.raises(mx.MXNetError,
                       match=r"cannot infer the shapes of \['z0 \(shape=\(0, 4\)\)'\]"):
        alone.simple_bind(mx.cpu())


def test_one_attr_scope_entered_by_two_threads_keeps_each_threads_attributes():
    import threading

    shared = mx.AttrScope(lr_mult=2)
    inside, go = threading.Event(), threading.Event()
    seen = {}

    def first():
        with mx.AttrScope(ctx_group="dev1"), shared:
            inside.set()
            go.wait(5)
            seen["a"] = mx.sym.var("a")

    t = threading.Thread(target=first)
    t.start()
    inside.wait(5)
    with shared:  # entered again by this thread, without dev1 around it
        b = mx.sym.var("b")
    go.set()
    t.join()
    assert (seen["a"].attr("ctx_group"), seen["a"].attr("lr_mult")) == ("dev1", "2")
    assert (b.attr("ctx_group"), b.attr("lr_mult")) == (None, "2")
