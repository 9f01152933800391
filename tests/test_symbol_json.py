"""Symbol JSON: round trips, files, validation, and reading what MXNet 1.9.1 itself exported
(``tests/data/mxnet-1.9.1/*-symbol.json``, copied from ``shared/fixtures/mxnet-1.9.1``)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import mxplug as mx

DATA = os.path.join(os.path.dirname(__file__), "data", "mxnet-1.9.1")


def _net():
    data = mx.sym.var("data")
    conv = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, pad=(1, 1), name="conv")
    bn = mx.sym.BatchNorm(conv, fix_gamma=False, name="bn")
    act = mx.sym.Activation(bn, act_type="tanh", name="act")
    pool = mx.sym.Pooling(act, kernel=(2, 2), stride=(2, 2), pool_type="avg", name="pool")
    fc = mx.sym.FullyConnected(pool, num_hidden=5, name="fc")
    return 2.0 - fc * 0.5 + 1.0


def _run(sym, values, ctx=None):
    ctx = ctx or mx.cpu()
    args = {k: mx.nd.array(values[k], ctx=ctx) for k in sym.list_arguments()}
    aux = {k: mx.nd.array(values[k], ctx=ctx) for k in sym.list_auxiliary_states()}
    return sym.bind(ctx, args, grad_req="null", aux_states=aux).forward()[0].asnumpy()


def _values(sym, **shapes):
    rng = np.random.default_rng(0)
    arg, _, aux = sym.infer_shape(**shapes)
    names = sym.list_arguments() + sym.list_auxiliary_states()
    vals = {n: rng.standard_normal(s).astype(np.float32) for n, s in zip(names, arg + aux)}
    for n in sym.list_auxiliary_states():
        vals[n] = np.abs(vals[n]) + 0.5
    return vals


def test_round_trip_same_graph_and_outputs(ctx):
    net = _net()
    text = net.tojson()
    doc = json.loads(text)
    assert set(doc) >= {"nodes", "arg_nodes", "node_row_ptr", "heads", "attrs"}
    assert doc["attrs"]["mxnet_version"][0] == "int"
    back = mx.sym.load_json(text)
    assert back.list_arguments() == net.list_arguments()
    assert back.list_auxiliary_states() == net.list_auxiliary_states()
    assert back.list_outputs() == net.list_outputs()
    assert back.get_internals().list_outputs() == net.get_internals().list_outputs()
    assert back.infer_shape(data=(2, 3, 6, 6)) == net.infer_shape(data=(2, 3, 6, 6))
    assert back.tojson() == text
    vals = _values(net, data=(2, 3, 6, 6))
    np.testing.assert_allclose(_run(back, vals, ctx), _run(net, vals, ctx), rtol=1e-5, atol=1e-6)


def test_json_keeps_attributes_and_variables():
    w = mx.sym.var("w", shape=(4, 0), lr_mult=0.5, attr={"note": "hi"})
    fc = mx.sym.FullyConnected(mx.sym.var("x"), weight=w, num_hidden=4, no_bias=True,
                               flatten=False, name="fc")
    back = mx.sym.load_json(fc.tojson())
    d = back.attr_dict()
    assert d["w"]["__lr_mult__"] == "0.5" and d["w"]["__shape__"] == "(4, 0)"
    assert back.attr("num_hidden") == "4" and back.attr("flatten") == "False"
    assert back.list_arguments() == ["x", "w"]
    assert back.infer_shape(x=(2, 3, 7))[0][1] == (4, 7)
    assert back.infer_shape(x=(2, 3, 7))[1] == [(2, 3, 4)]


def test_json_keeps_user_attributes_of_variables():
    w = mx.sym.var("w", attr={"note": "hi"})
    assert mx.sym.load_json(w.tojson()).attr("note") == "hi"


def test_json_round_trips_attr_scope():
    with mx.AttrScope(ctx_group="g1"):
        fc = mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=4, name="fc")
    back = mx.sym.load_json(fc.tojson())
    assert back.attr("ctx_group") == "g1"


def test_scalar_ops_use_mxnet_names():
    x = mx.sym.var("x")
    doc = json.loads((3.0 - x / 2.0).tojson())
    ops = [n["op"] for n in doc["nodes"]]
    assert ops == ["null", "_div_scalar", "_rminus_scalar"]
    assert doc["nodes"][2]["attrs"]["scalar"] == "3.0"
    back = mx.sym.load_json(json.dumps(doc))
    np.testing.assert_allclose(_run(back, {"x": np.array([4.0], np.float32)}), [1.0])


def test_save_load_file(tmp_path):
    net = _net()
    path = tmp_path / "net-symbol.json"
    net.save(str(path))
    assert json.loads(path.read_text())["heads"]  # complete, parseable document
    back = mx.sym.load(str(path))
    assert back.tojson() == net.tojson()
    assert os.listdir(tmp_path) == ["net-symbol.json"]  # no temporary left behind


def test_failed_save_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "out.json"
    path.write_text("old")
    from mxplug.graph import serialize

    def boom(sym):
        raise RuntimeError("disk full")
    monkeypatch.setattr(serialize, "to_json", boom)
    with pytest.raises(RuntimeError):
        mx.sym.var("x").save(str(path))
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.json"]


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "out.json"
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def close(self):
            self.f.close()

        def write(self, text):
            self.f.write(text[: len(text) // 2])
            self.f.flush()
            raise OSError("No space left on device")

    monkeypatch.setattr(os, "fdopen", lambda *a, **k: HalfWriter(real_fdopen(*a, **k)))
    with pytest.raises(OSError, match="No space"):
        _net().save(str(path))
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


def test_load_errors():
    with pytest.raises(mx.MXNetError, match="cannot read"):
        mx.sym.load("/nonexistent/dir/x.json")
    with pytest.raises(mx.MXNetError, match="not a symbol JSON"):
        mx.sym.load_json("not json")
    with pytest.raises(mx.MXNetError, match="not a symbol JSON"):
        mx.sym.load_json('{"nodes": []}')
    doc = json.loads(mx.sym.relu(mx.sym.var("x"), name="r").tojson())
    doc["nodes"][1]["op"] = "NoSuchOp"
    with pytest.raises(mx.MXNetError, match=r"(?s)'r'.*unknown op 'NoSuchOp'"):
        mx.sym.load_json(json.dumps(doc))
    doc = json.loads(mx.sym.relu(mx.sym.var("x"), name="r").tojson())
    doc["nodes"][1]["inputs"] = [[7, 0, 0]]
    with pytest.raises(mx.MXNetError, match="bad inputs"):
        mx.sym.load_json(json.dumps(doc))
    doc["nodes"][1]["inputs"] = [[0, 0, 0]]
    doc["heads"] = [[9, 0, 0]]
    with pytest.raises(mx.MXNetError, match="bad heads"):
        mx.sym.load_json(json.dumps(doc))


def test_load_rejects_bad_attributes():
    doc = json.loads(mx.sym.relu(mx.sym.var("x"), name="r").tojson())
    doc["nodes"][1]["attrs"] = {"bogus": "1"}
    with pytest.warns(UserWarning, match="relu: attribute 'bogus' ignored"):  # MXNet ignores
        mx.sym.load_json(json.dumps(doc))                                    # it too
    doc = json.loads(mx.sym.sum(mx.sym.var("x"), name="s").tojson())
    doc["nodes"][1]["attrs"] = {"bogus": "1"}
    with pytest.raises(mx.MXNetError, match="bogus"):  # an op with parameters refuses it
        mx.sym.load_json(json.dumps(doc))
    doc = json.loads(mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=3, name="fc").tojson())
    doc["nodes"][-1]["attrs"]["num_hidden"] = "__import__('os')"
    with pytest.raises(mx.MXNetError, match="num_hidden"):
        mx.sym.load_json(json.dumps(doc))


def test_bad_attribute_error_names_the_node():
    doc = json.loads(mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=3, name="fc").tojson())
    doc["nodes"][-1]["attrs"]["num_hidden"] = "abc"
    with pytest.raises(mx.MXNetError, match="'fc'"):
        mx.sym.load_json(json.dumps(doc))


@pytest.mark.parametrize("index", [
    lambda x, i: x[1:3], lambda x, i: x[:, ::2], lambda x, i: x[..., None, 1],
    lambda x, i: x[-1], lambda x, i: x[::-1, 2:], lambda x, i: x[i, 1:],
], ids=["slice", "step", "ellipsis-newaxis", "negative", "reverse", "index-array"])
def test_exported_indexing_keeps_its_key(tmp_path, index):
    # the key of a traced x[...] is an attribute the JSON must keep: without it an exported
    # block silently returned x unindexed after SymbolBlock.imports
    class Indexing(mx.gluon.HybridBlock):
        def hybrid_forward(self, F, x, i):
            return index(x, i) * 2

    block = Indexing()
    block.hybridize()
    x, i = mx.nd.array(np.arange(24).reshape(4, 6)), mx.nd.array([2, 0, 3])  # float indices
    want = block(x, i).asnumpy()
    block.export(str(tmp_path / "m"))
    doc = json.loads((tmp_path / "m-symbol.json").read_text())
    assert [n["attrs"]["key"] for n in doc["nodes"] if n["op"] == "getitem"]
    loaded = mx.gluon.SymbolBlock.imports(str(tmp_path / "m-symbol.json"), ["data0", "data1"])
    np.testing.assert_array_equal(loaded(x, i).asnumpy(), want)


def test_optional_number_attributes_round_trip():
    # attributes that are None or a number (arange's stop, RNN's projection and clipping) are
    # numbers again after loading, not the strings the JSON holds
    s = mx.sym.load_json(mx.sym.arange(1, 10, 3).tojson())
    np.testing.assert_array_equal(s.eval()[0].asnumpy(), [1, 4, 7])
    rnn = mx.sym.RNN(mx.sym.var("x"), mx.sym.var("p"), mx.sym.var("s"), mx.sym.var("c"),
                     state_size=4, num_layers=1, mode="lstm", projection_size=2,
                     lstm_state_clip_min=-0.5, lstm_state_clip_max=0.5, name="rnn")
    attrs = mx.sym.load_json(rnn.tojson())._outputs[0][0].attrs
    assert attrs["projection_size"] == 2 and attrs["lstm_state_clip_min"] == -0.5
    assert attrs["lstm_state_clip_max"] == 0.5
    with pytest.raises(mx.MXNetError, match="stop"):
        doc = json.loads(mx.sym.arange(1, 10).tojson())
        doc["nodes"][-1]["attrs"]["stop"] = "ten"
        mx.sym.load_json(json.dumps(doc))


# -- MXNet 1.9.1's own exports -------------------------------------------------------------------
def test_mxnet_mlp_export():
    sym = mx.sym.load(os.path.join(DATA, "mlp-symbol.json"))
    assert sym.list_arguments() == ["data", "mlp_dense0_weight", "mlp_dense0_bias",
                                    "mlp_dense1_weight", "mlp_dense1_bias"]
    assert sym.list_auxiliary_states() == []
    assert sym.list_outputs() == ["mlp_dense1_fwd_output"]
    assert sym.attr_dict()["mlp_dense0_bias"]["__init__"] == "zeros"
    arg, out, aux = sym.infer_shape(data=(4, 64))  # expected.npz: mlp_x (4, 64) -> mlp_y (4, 10)
    assert arg == [(4, 64), (32, 64), (32,), (10, 32), (10,)]
    assert out == [(4, 10)] and aux == []
    assert sym.infer_type(data="float32")[1] == [np.float32]
    # Runs (in inference mode Dropout is the identity) and re-exports in the same format.
    vals = _values(sym, data=(4, 64))
    y = _run(sym, vals)
    h = np.maximum(vals["data"] @ vals["mlp_dense0_weight"].T + vals["mlp_dense0_bias"], 0)
    np.testing.assert_allclose(y, h @ vals["mlp_dense1_weight"].T + vals["mlp_dense1_bias"],
                               rtol=1e-4, atol=1e-4)
    again = mx.sym.load_json(sym.tojson())
    assert again.list_arguments() == sym.list_arguments()


def test_mxnet_cnn_export():
    sym = mx.sym.load(os.path.join(DATA, "cnn-symbol.json"))
    assert sym.list_arguments() == [
        "data", "cnn_conv0_weight", "cnn_conv0_bias", "cnn_batchnorm0_gamma",
        "cnn_batchnorm0_beta", "cnn_conv1_weight", "cnn_conv1_bias", "cnn_dense0_weight",
        "cnn_dense0_bias"]
    assert sym.list_auxiliary_states() == ["cnn_batchnorm0_running_mean",
                                           "cnn_batchnorm0_running_var"]
    assert sym.list_outputs() == ["cnn_dense0_fwd_output"]
    arg, out, aux = sym.infer_shape(data=(8, 1, 12, 12))  # cnn_x -> cnn_y (8, 10)
    assert arg == [(8, 1, 12, 12), (6, 1, 3, 3), (6,), (6,), (6,), (8, 6, 3, 3), (8,), (10, 8),
                   (10,)]
    assert out == [(8, 10)] and aux == [(6,), (6,)]
    internals = sym.get_internals()
    _, outs, _ = internals.infer_shape(data=(8, 1, 12, 12))
    shapes = dict(zip(internals.list_outputs(), outs))
    assert shapes["cnn_pool0_fwd_output"] == (8, 6, 6, 6)
    assert shapes["cnn_conv1_fwd_output"] == (8, 8, 2, 2)
    assert shapes["cnn_flatten0_flatten0_output"] == (8, 8)
    assert _run(sym, _values(sym, data=(8, 1, 12, 12))).shape == (8, 10)


def test_json_keeps_what_mxnet_requires_even_at_mxplug_defaults():
    """MXNet 1.9.1's parser rejects a node without its required parameters ("Required
    parameter act_type of int is not presented"), whatever mxplug's default is; with them,
    mxplug's model-zoo exports load and run in MXNet itself."""
    x = mx.sym.var("x")
    group = mx.sym.Group([
        mx.sym.Activation(x, act_type="relu"), mx.sym.clip(x, a_min=0, a_max=1),
        mx.sym.expand_dims(x, axis=0), mx.sym.slice_axis(x, axis=0, begin=0, end=1),
        mx.sym.Cast(x, dtype="float32"), mx.sym.one_hot(x, depth=1),
        mx.sym.split(x, num_outputs=1), mx.sym.UpSampling(x, scale=1, sample_type="nearest"),
        mx.sym.random.randint(0, 1, shape=(2,))])
    nodes = {n["op"]: n.get("attrs", {}) for n in json.loads(group.tojson())["nodes"]}
    assert nodes["Activation"]["act_type"] == "relu"
    assert (nodes["clip"]["a_min"], nodes["clip"]["a_max"]) == ("0.0", "1.0")
    assert nodes["expand_dims"]["axis"] == "0"
    assert {k: nodes["slice_axis"][k] for k in ("axis", "begin", "end")} == \
        {"axis": "0", "begin": "0", "end": "1"}
    assert nodes["Cast"]["dtype"] == "float32" and nodes["one_hot"]["depth"] == "1"
    assert nodes[next(k for k in nodes if k in ("split", "SliceChannel"))]["num_outputs"] == "1"
    assert nodes["UpSampling"]["num_args"] == "1" and nodes["UpSampling"]["scale"] == "1"
    assert {nodes["_random_randint"][k] for k in ("low", "high")} == {"0", "1"}
    assert mx.sym.load_json(group.tojson()).tojson() == group.tojson()  # and it round-trips
