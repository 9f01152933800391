"""MXNet 1.x's binary NDArray format (``mx.nd.save``/``load``) and importing MXNet 1.9.1 models.

The files under ``tests/data/mxnet-1.9.1`` were written by the real MXNet 1.9.1 (see the README
there), so reading them and writing the same bytes checks the format against MXNet itself.
"""

from __future__ import annotations

import json
import os
import pickle
import struct

import numpy as np
import pytest

import mxplug as mx
from mxplug.base import SUPPORTED_DTYPES, MXNetFileError, dtype_of
from mxplug.gluon import SymbolBlock, nn
from mxplug.gluon.params_io import ParameterFileError
from mxplug.ndarray.mxnet_format import NDArrayFileError, dumps, loads

DATA = os.path.join(os.path.dirname(__file__), "data", "mxnet-1.9.1")
EXPECTED = dict(np.load(os.path.join(DATA, "expected.npz")))
V2, V3 = 0xF993FAC9, 0xF993FACA


def _path(name):
    return os.path.join(DATA, name)


def _bytes(name):
    with open(_path(name), "rb") as f:
        return f.read()


def _fixture_arrays():
    """The arrays MXNet saved, built from expected.npz (not from our reader)."""
    e = EXPECTED
    return [mx.nd.array(e["a"], dtype="float32"), mx.nd.array(e["b"], dtype="float64"),
            mx.nd.array(e["c"], dtype="int32"), mx.nd.array(e["h"], dtype="float16")]


def _record(shape, flag, data, magic=V2, stype=0):
    """One record laid out by hand, as MXNet's NDArray::Save writes it."""
    return (struct.pack(f"<Iii{len(shape)}q", magic, stype, len(shape), *shape)
            + struct.pack("<iii", 1, 0, flag) + data)


def _file(records, names=()):
    out = struct.pack("<QQQ", 0x112, 0, len(records)) + b"".join(records)
    out += struct.pack("<Q", len(names))
    for n in names:
        out += struct.pack("<Q", len(n)) + n.encode()
    return out


# -- MXNet's files -------------------------------------------------------------------------------
def test_load_mxnet_list_file():
    got = mx.nd.load(_path("ndarray_list.params"))
    assert isinstance(got, list) and len(got) == 4
    for arr, key, dtype in zip(got, "abch", ["float32", "float64", "int32", "float16"]):
        assert isinstance(arr, mx.nd.NDArray) and arr.context == mx.cpu()
        assert np.dtype(arr.dtype) == np.dtype(dtype)
        np.testing.assert_array_equal(arr.asnumpy(), EXPECTED[key])


def test_load_mxnet_dict_file():
    got = mx.nd.load(_path("ndarray_dict.params"))
    assert list(got) == ["arg:w", "aux:v", "i", "half"]  # the file's order
    for key, ref in zip(got, "abch"):
        assert got[key].asnumpy().dtype == EXPECTED[ref].dtype
        np.testing.assert_array_equal(got[key].asnumpy(), EXPECTED[ref])


def test_save_writes_mxnets_bytes(tmp_path):
    arrays = _fixture_arrays()
    fname = str(tmp_path / "list.params")
    mx.nd.save(fname, arrays)
    assert open(fname, "rb").read() == _bytes("ndarray_list.params")
    mx.nd.save(fname, dict(zip(["arg:w", "aux:v", "i", "half"], arrays)))
    assert open(fname, "rb").read() == _bytes("ndarray_dict.params")
    assert os.listdir(tmp_path) == ["list.params"]  # the temporary file was renamed
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(fname).st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    for name in ("mlp-0000.params", "cnn-0003.params"):  # re-saving MXNet's exports
        assert mx.nd.save_tobuffer(mx.nd.load(_path(name))) == _bytes(name)


def test_load_frombuffer():
    got = mx.nd.load_frombuffer(_bytes("ndarray_dict.params"))
    np.testing.assert_array_equal(got["half"].asnumpy(), EXPECTED["h"])
    assert len(mx.nd.load_frombuffer(bytearray(_bytes("ndarray_list.params")))) == 4
    with pytest.raises(TypeError, match="bytes"):
        mx.nd.load_frombuffer(12)


@pytest.mark.parametrize("name,epoch", [("mlp", 0), ("cnn", 3)])
def test_imported_mxnet_models_reproduce_mxnet(ctx, name, epoch):
    net = SymbolBlock.imports(_path(f"{name}-symbol.json"), ["data"],
                              _path(f"{name}-{epoch:04d}.params"), ctx=ctx)
    y = net(mx.nd.array(EXPECTED[f"{name}_x"], ctx=ctx))
    assert y.context == ctx
    np.testing.assert_allclose(y.asnumpy(), EXPECTED[f"{name}_y"], rtol=1e-5, atol=1e-5)


def test_imported_mxnet_lstm_fills_its_zeros_begin_states(ctx):
    # MXNet exports a Gluon RNN layer's begin states as _zeros(shape=(layers*dirs, 0, H)): the
    # 0 is the batch size, which binding fills from the RNN op's state rule (any batch size)
    net = SymbolBlock.imports(_path("lstm-symbol.json"), ["data"], _path("lstm-0000.params"),
                              ctx=ctx)
    expected = np.load(_path("lstm_expected.npz"))
    x, want = expected["lstm_x"], expected["lstm_y"]
    np.testing.assert_allclose(net(mx.nd.array(x, ctx=ctx)).asnumpy(), want, rtol=1e-4,
                               atol=1e-5)
    doubled = net(mx.nd.array(np.concatenate([x, x]), ctx=ctx)).asnumpy()
    np.testing.assert_allclose(doubled, np.concatenate([want, want]), rtol=1e-4, atol=1e-5)


def test_symbol_api_runs_mxnet_checkpoint():
    """The Module-era path: mx.sym.load + mx.nd.load's arg:/aux: dicts + bind."""
    sym = mx.sym.load(_path("cnn-symbol.json"))
    saved = mx.nd.load(_path("cnn-0003.params"))
    args = {k[4:]: v for k, v in saved.items() if k.startswith("arg:")}
    aux = {k[4:]: v for k, v in saved.items() if k.startswith("aux:")}
    assert sorted(aux) == sorted(sym.list_auxiliary_states())
    args["data"] = mx.nd.array(EXPECTED["cnn_x"])
    y = sym.bind(mx.cpu(), args, aux_states=aux).forward(is_train=False)[0]
    np.testing.assert_allclose(y.asnumpy(), EXPECTED["cnn_y"], rtol=1e-5, atol=1e-5)


def test_imported_batchnorm_aux_states():
    net = SymbolBlock.imports(_path("cnn-symbol.json"), "data", _path("cnn-0003.params"))
    params = net.collect_params()
    saved = mx.nd.load(_path("cnn-0003.params"))
    for aux in ("running_mean", "running_var"):
        p = params[f"cnn_batchnorm0_{aux}"]
        assert p.grad_req == "null"
        np.testing.assert_array_equal(p.data().asnumpy(),
                                      saved[f"aux:cnn_batchnorm0_{aux}"].asnumpy())
    # three training passes moved them away from their initial 0 / 1
    assert np.abs(params["cnn_batchnorm0_running_mean"].data().asnumpy()).max() > 0
    assert params["cnn_conv0_weight"].grad_req == "write"


def test_gluon_layers_load_mxnet_params():
    """The same MLP built from Gluon layers takes MXNet's parameters by name."""
    net = nn.HybridSequential(prefix="mlp_")
    with net.name_scope():
        net.add(nn.Dense(32, activation="relu"), nn.Dropout(0.2), nn.Dense(10))
    net.collect_params().load(_path("mlp-0000.params"))  # arg: prefixes dropped, as MXNet
    y = net(mx.nd.array(EXPECTED["mlp_x"]))
    np.testing.assert_allclose(y.asnumpy(), EXPECTED["mlp_y"], rtol=1e-5, atol=1e-5)
    loaded = mx.init.Load(_path("mlp-0000.params"))
    assert sorted(loaded.param) == sorted(net.collect_params().keys())


def test_load_parameters_reads_mxnets_save_parameters(tmp_path):
    """MXNet's ``save_parameters`` is ``nd.save`` of the structural names (bytes as above)."""
    src = nn.HybridSequential()
    src.add(nn.Dense(4, in_units=3), nn.Dense(2, in_units=4))
    src.initialize()
    fname = tmp_path / "mxnet_net.params"  # an os.PathLike works too
    mx.nd.save(fname, {k: p.data() for k, p in src._collect_params_with_prefix().items()})
    assert sorted(mx.nd.load(fname)) == ["0.bias", "0.weight", "1.bias", "1.weight"]
    dst = nn.HybridSequential()
    dst.add(nn.Dense(4), nn.Dense(2))
    dst.load_parameters(str(fname))
    x = mx.nd.array(np.arange(6).reshape(2, 3))
    np.testing.assert_allclose(dst(x).asnumpy(), src(x).asnumpy(), rtol=1e-6)


# -- round trips -----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", SUPPORTED_DTYPES)
def test_round_trip_every_dtype(tmp_path, dtype):
    rng = np.random.default_rng(0)
    host = (rng.standard_normal((3, 4)) * 50).astype(dtype_of(dtype))  # bfloat16: ml_dtypes
    fname = str(tmp_path / "x.nd")
    mx.nd.save(fname, mx.nd.array(host, dtype=dtype))
    (back,) = mx.nd.load(fname)
    assert np.dtype(back.dtype) == np.dtype(dtype)
    np.testing.assert_array_equal(back.asnumpy(), host)
    raw = open(fname, "rb").read()
    flag = struct.unpack_from("<i", raw, 24 + 12 + 16 + 8)[0]  # header, record head, dims, ctx
    assert flag == {"float32": 0, "float64": 1, "float16": 2, "uint8": 3, "int32": 4, "int8": 5,
                    "int64": 6, "bool": 7, "bfloat16": 12}[dtype]
    assert len(raw) == 24 + 12 + 16 + 12 + host.nbytes + 8


def test_round_trip_shapes_and_containers(tmp_path):
    fname = str(tmp_path / "x.nd")
    arrays = {"empty": mx.nd.zeros((0, 3)), "cube": mx.nd.arange(24).reshape((2, 3, 4)),
              "strided": mx.nd.arange(12).reshape((3, 4)).T, "unicode ключ": mx.nd.ones((1,))}
    mx.nd.save(fname, arrays)
    back = mx.nd.load(fname)
    assert list(back) == list(arrays)
    for k, v in arrays.items():
        assert back[k].shape == v.shape
        np.testing.assert_array_equal(back[k].asnumpy(), v.asnumpy())
    mx.nd.save(fname, [])
    assert mx.nd.load(fname) == []
    mx.nd.save(fname, {})  # no names then: MXNet also loads an empty dict file as []
    assert mx.nd.load(fname) == []
    assert open(fname, "rb").read() == struct.pack("<QQQQ", 0x112, 0, 0, 0)


def test_zero_dim_arrays_use_the_numpy_shape_magic():
    # MXNet 1.x writes 0-d arrays only in NumPy shape mode, with the V3 magic; mxplug NDArrays
    # are never 0-d (as in MXNet 1.x), so they come back with shape (1,) like mx.nd.array(3.0)
    buf = dumps([np.array(3.0, np.float32), np.ones(2, np.float32)])
    assert buf[24:40] == struct.pack("<IiiiII", V3, 0, 0, 1, 0, 0)[:16]
    assert struct.unpack_from("<I", buf, 24 + 28)[0] == V2  # after 12 + 12 + 4 bytes: V2
    assert loads(buf)[0].shape == ()
    back = mx.nd.load_frombuffer(buf)
    assert back[0].shape == (1,) and back[0].asscalar() == 3.0


def test_save_from_every_backend(tmp_path, ctx):
    x = mx.nd.array([[1.5, -2.0], [3.0, 4.25]], ctx=ctx)
    fname = str(tmp_path / "x.nd")
    mx.nd.save(fname, {"x": x})
    back = mx.nd.load(fname)["x"]
    assert back.context == mx.cpu()  # mxplug loads on cpu() (docs/model_exchange.md)
    np.testing.assert_array_equal(back.asnumpy(), x.asnumpy())
    want = mx.nd.save_tobuffer({"x": back})  # cpu(0) bytes ...
    if ctx.device_type == "gpu":  # ... but a GPU array's record names its GPU, as in MXNet
        want = want[:52] + struct.pack("<ii", 2, ctx.device_id) + want[60:]
    assert open(fname, "rb").read() == want


def test_older_record_versions():
    data = np.arange(6, dtype=np.float32).tobytes()
    v1 = struct.pack("<Ii2q", 0xF993FAC8, 2, 2, 3) + struct.pack("<iii", 1, 0, 0) + data
    legacy = struct.pack("<I2I", 2, 3, 2) + struct.pack("<iii", 1, 0, 0) + data  # ndim first
    got = mx.nd.load_frombuffer(_file([v1, legacy]))
    np.testing.assert_array_equal(got[0].asnumpy(), np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(got[1].asnumpy(), np.arange(6).reshape(3, 2))


def test_load_npz_parameter_files(tmp_path):
    net = nn.Dense(3, in_units=2)
    net.initialize()
    fname = str(tmp_path / "net.params")
    net.save_parameters(fname)  # mxplug's .npz
    got = mx.nd.load(fname)
    assert sorted(got) == ["bias", "weight"]
    np.testing.assert_array_equal(got["weight"].asnumpy(), net.weight.data().asnumpy())
    odd = tmp_path / "odd.npz"
    np.savez(open(odd, "wb"), w=np.ones(2, np.int16))
    with pytest.raises(NDArrayFileError, match=r"odd\.npz.*'w'.*int16"):
        mx.nd.load(str(odd))


def test_export_writes_mxnets_format(tmp_path, ctx):
    net = nn.HybridSequential()
    with net.name_scope():
        net.add(nn.Conv2D(3, 3, in_channels=1), nn.BatchNorm(in_channels=3), nn.Flatten(),
                nn.Dense(2))
    net.initialize(ctx=ctx)
    net.hybridize()
    x = mx.nd.array(np.random.default_rng(1).standard_normal((2, 1, 5, 5)), ctx=ctx)
    with mx.autograd.record():
        net(x)  # moves the BatchNorm running stats
    y = net(x).asnumpy()
    sym_file, params_file = net.export(str(tmp_path / "m"), epoch=7)
    raw = open(params_file, "rb").read()
    assert int.from_bytes(raw[:8], "little") == 0x112
    saved = mx.nd.load(params_file)
    mean = net[1].running_mean
    assert f"aux:{mean.name}" in saved and f"arg:{net[3].weight.name}" in saved
    np.testing.assert_allclose(saved[f"aux:{mean.name}"].asnumpy(), mean.data(ctx).asnumpy())
    nodes = {n["name"]: n for n in json.load(open(sym_file))["nodes"]}
    assert nodes[mean.name]["attrs"]["__dtype__"] == "0"  # MXNet parses its type code, an int
    assert "attrs" not in nodes["data"] or "__shape__" not in nodes["data"]["attrs"]
    back = SymbolBlock.imports(sym_file, ["data"], params_file, ctx=ctx)
    np.testing.assert_allclose(back(x).asnumpy(), y, rtol=1e-5, atol=1e-6)


# -- errors ----------------------------------------------------------------------------------------
def test_every_truncation_is_an_error(tmp_path):
    data = _bytes("ndarray_dict.params")
    for n in range(len(data)):
        with pytest.raises(NDArrayFileError):
            mx.nd.load_frombuffer(data[:n])
    cut = tmp_path / "cut.params"
    cut.write_bytes(data[:100])  # inside array #1's data
    with pytest.raises(NDArrayFileError, match=r"(?s)cut\.params.*truncated.*array #1"):
        mx.nd.load(str(cut))
    with pytest.raises(ParameterFileError, match=r"cut\.params"):  # and through Gluon
        nn.Dense(2).collect_params().load(str(cut))


def test_corrupted_structure_errors():
    good = _record((2,), 0, b"\0" * 8)
    with pytest.raises(NDArrayFileError, match="not in MXNet's binary.*0x112"):
        mx.nd.load_frombuffer(b"\x13" + _file([good])[1:])
    with pytest.raises(NDArrayFileError, match="unknown magic 0xdeadbeef"):
        mx.nd.load_frombuffer(_file([struct.pack("<I", 0xDEADBEEF) + good[4:]]))
    with pytest.raises(NDArrayFileError, match="1 arrays but 2 names"):
        mx.nd.load_frombuffer(_file([good], ["a", "b"]))
    with pytest.raises(NDArrayFileError, match="4 unexpected bytes"):
        mx.nd.load_frombuffer(_file([good]) + b"junk")
    with pytest.raises(NDArrayFileError, match=r"shape \(-3,\)"):
        mx.nd.load_frombuffer(_file([_record((-3,), 0, b"")]))
    with pytest.raises(NDArrayFileError, match="claims"):
        mx.nd.load_frombuffer(struct.pack("<QQQ", 0x112, 0, 1 << 60) + b"\0" * 16)
    huge = _record((1 << 40, 1 << 20), 0, b"")  # never allocated: checked against what is left
    with pytest.raises(NDArrayFileError, match="truncated"):
        mx.nd.load_frombuffer(_file([huge]))


# row_sparse (2, 2) with one stored row: storage shape (1, 2), indices int64 (1,)
SPARSE = (struct.pack("<Iii2qi2q", V2, 1, 2, 1, 2, 2, 2, 2) + struct.pack("<iii", 1, 0, 0)
          + struct.pack("<ii1q", 6, 1, 1) + b"\0" * 8 + struct.pack("<q", 1))


def test_byte_corruption_never_escapes_as_another_error():
    """Every single overwritten byte: arrays (the data has no checksum) or NDArrayFileError."""
    files = [_bytes("ndarray_dict.params"),
             _file([_record((2,), 0, b"\0" * 8), SPARSE], ["ok", "emb"])]
    for data in files:
        for i in range(len(data)):
            for value in (0x00, 0x7F, 0xFF):
                bad = bytearray(data)
                bad[i] = value
                try:
                    mx.nd.load_frombuffer(bytes(bad))
                except NDArrayFileError:
                    pass


def test_sparse_and_dtype_errors_name_the_key(tmp_path):
    dense = _record((2,), 0, b"\0" * 8)
    sparse = SPARSE
    fname = tmp_path / "sparse.params"
    fname.write_bytes(_file([dense, sparse], ["ok", "emb"]))
    with pytest.raises(NDArrayFileError, match=r"(?s)sparse\.params.*'emb'.*row_sparse"):
        mx.nd.load(str(fname))
    int16 = _record((2,), 8, b"\0" * 4)
    with pytest.raises(NDArrayFileError, match=r"'small'.*int16 \(MXNet type flag 8\)"):
        mx.nd.load_frombuffer(_file([dense, int16], ["ok", "small"]))
    unknown = _record((2,), 99, b"\0" * 8)
    with pytest.raises(NDArrayFileError, match=r"'odd' \(array #1\).*unknown type flag 99"):
        mx.nd.load_frombuffer(_file([dense, unknown], ["ok", "odd"]))
    with pytest.raises(NDArrayFileError, match=r"array #0.*unknown type flag 99"):
        mx.nd.load_frombuffer(_file([unknown]))
    none = struct.pack("<Iii", V2, -1, 0)  # how MXNet saves an uninitialised NDArray
    with pytest.raises(NDArrayFileError, match=r"'nothing' \(array #0\): an uninitialised"):
        mx.nd.load_frombuffer(_file([none, dense], ["nothing", "ok"]))


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(NDArrayFileError, match=r"cannot read .*absent\.params") as info:
        mx.nd.load(str(tmp_path / "absent.params"))
    assert isinstance(info.value, (mx.MXNetError, OSError))
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(NDArrayFileError, match=r"notes\.txt.*not an array file"):
        mx.nd.load(str(text))
    listfile = tmp_path / "list.params"
    listfile.write_bytes(_bytes("ndarray_list.params"))
    with pytest.raises(ParameterFileError, match="unnamed list of 4 arrays"):
        nn.Dense(2).collect_params().load(str(listfile))


def test_save_argument_errors(tmp_path):
    fname = str(tmp_path / "x")
    with pytest.raises(ValueError, match="needs to either be"):
        mx.nd.save(fname, (mx.nd.ones(1),))  # a tuple: MXNet refuses it too
    with pytest.raises(TypeError, match="dict str->NDArray"):
        mx.nd.save(fname, [np.ones(1)])
    with pytest.raises(TypeError, match="dict str->NDArray"):
        mx.nd.save(fname, {1: mx.nd.ones(1)})
    with pytest.raises(TypeError, match="fname"):
        mx.nd.save(3, [])
    with pytest.raises(TypeError, match="fname"):
        mx.nd.load(3)
    with pytest.raises(MXNetFileError, match="cannot write.*no/dir/x"):
        mx.nd.save(str(tmp_path / "no" / "dir" / "x"), [])
    assert not os.path.exists(fname)


# -- mx.model: MXNet's checkpoint helpers ----------------------------------------------------------
def test_load_checkpoint_of_mxnet_cnn_runs_in_an_executor():
    symbol, args, aux = mx.model.load_checkpoint(_path("cnn"), 3)
    assert set(aux) == {"cnn_batchnorm0_running_mean", "cnn_batchnorm0_running_var"}
    assert "data" not in args and "cnn_conv0_weight" in args
    x = EXPECTED["cnn_x"]
    ex = symbol.bind(mx.cpu(), {"data": mx.nd.array(x), **args}, aux_states=aux, grad_req="null")
    np.testing.assert_allclose(ex.forward(is_train=False)[0].asnumpy(), EXPECTED["cnn_y"],
                               rtol=1e-5, atol=1e-6)


def test_save_checkpoint_round_trip(tmp_path):
    symbol, args, aux = mx.model.load_checkpoint(_path("mlp"), 0)
    prefix = str(tmp_path / "again")
    mx.model.save_checkpoint(prefix, 7, symbol, args, aux)
    symbol2, args2, aux2 = mx.model.load_checkpoint(prefix, 7)
    assert symbol2.tojson() == symbol.tojson()
    assert set(args2) == set(args) and set(aux2) == set(aux)
    for k in args:
        np.testing.assert_array_equal(args2[k].asnumpy(), args[k].asnumpy())
    with pytest.raises(NDArrayFileError, match="0008"):
        mx.model.load_params(prefix, 8)


def test_load_params_refuses_lists_and_unprefixed_keys(tmp_path):
    mx.nd.save(str(tmp_path / "l-0000.params"), [mx.nd.ones(2)])
    with pytest.raises(ValueError, match="unnamed list"):
        mx.model.load_params(str(tmp_path / "l"), 0)
    mx.nd.save(str(tmp_path / "d-0000.params"), {"dense0_weight": mx.nd.ones(2)})
    with pytest.raises(ValueError, match="'dense0_weight' is not 'arg:<name>'"):
        mx.model.load_params(str(tmp_path / "d"), 0)


def test_export_names_nodes_as_mxnet_and_internals_feed_a_feature_extractor(tmp_path):
    # MXNet's export writes the symbolic graph's names (<block prefix><layer>_fwd); MXNet's
    # tutorials cut an imported model at such a name (get_internals()["..._fwd_output"])
    net = nn.HybridSequential(prefix="model_")
    with net.name_scope():
        net.add(nn.Dense(5, activation="relu"), nn.Dense(3))
    net.initialize()
    net.hybridize()
    x = mx.nd.array(np.random.RandomState(1).uniform(-1, 1, (2, 4)))
    net(x)
    sym_file, params_file = net.export(str(tmp_path / "m"))
    with open(sym_file) as f:
        ops = [n["name"] for n in json.load(f)["nodes"] if n["op"] != "null"]
    assert ops == ["model_dense0_fwd", "model_dense0_relu_fwd", "model_dense1_fwd"]
    sym = mx.sym.load(sym_file)
    assert sym.list_outputs() == ["model_dense1_fwd_output"]
    feat = sym.get_internals()[f"{ops[-2]}_output"]
    extractor = SymbolBlock(feat, mx.sym.var("data"))
    extractor.collect_params().load(params_file, ignore_extra=True)
    w = net[0].weight.data().asnumpy()
    b = net[0].bias.data().asnumpy()
    want = np.maximum(x.asnumpy() @ w.T + b, 0)
    np.testing.assert_allclose(extractor(x).asnumpy(), want, rtol=1e-5, atol=1e-6)


def test_save_checkpoint_removes_amp_casts_unless_asked_not_to(tmp_path):
    x = mx.sym.var("data")
    fc = mx.sym.FullyConnected(mx.sym.amp_cast(x, dtype="float16"), num_hidden=2, name="fc")
    params = {"fc_weight": mx.nd.ones((2, 3)), "fc_bias": mx.nd.zeros(2)}
    mx.model.save_checkpoint(str(tmp_path / "a"), 1, fc, params, {})
    mx.model.save_checkpoint(str(tmp_path / "b"), 1, fc, params, {}, remove_amp_cast=False)
    plain = mx.model.load_checkpoint(str(tmp_path / "a"), 1)[0]
    kept = mx.model.load_checkpoint(str(tmp_path / "b"), 1)[0]
    assert "amp_cast" not in plain.tojson(False) and "amp_cast" in kept.tojson(False)
    assert plain.list_arguments() == ["data", "fc_weight", "fc_bias"]


def test_tojson_leaves_out_amp_casts_by_default_and_pickling_keeps_them():
    x = mx.sym.var("data")
    fc = mx.sym.FullyConnected(mx.sym.amp_cast(x, dtype="float16"), num_hidden=2, name="fc")
    assert "amp_cast" not in fc.tojson()  # MXNet 1.9.1: tojson(remove_amp_cast=True)
    assert "amp_cast" in fc.tojson(remove_amp_cast=False)
    assert "amp_cast" in pickle.loads(pickle.dumps(fc)).tojson(remove_amp_cast=False)


def test_imports_reads_mxnet_rnn_param_concat(tmp_path):
    # MXNet 1.6+ exports a fused RNN layer's weights joined by _rnn_param_concat
    net = mx.gluon.rnn.LSTM(4, num_layers=2, layout="NTC")
    net.initialize()
    net.hybridize()
    x = mx.nd.array(np.random.RandomState(5).uniform(-1, 1, (2, 3, 5)))
    want = net(x).asnumpy()
    sym_file, params_file = net.export(str(tmp_path / "lstm"))
    with open(sym_file) as f:
        graph = json.load(f)
    joins = [n for n in graph["nodes"] if n["op"] in ("concat", "Concat")]
    assert len(joins) == 1
    joins[0]["op"] = "_rnn_param_concat"
    joins[0].setdefault("attrs", {})["dim"] = "0"
    with open(tmp_path / "mxnet-symbol.json", "w") as f:
        json.dump(graph, f)
    block = SymbolBlock.imports(str(tmp_path / "mxnet-symbol.json"), ["data"], params_file)
    np.testing.assert_allclose(block(x).asnumpy(), want, rtol=1e-6, atol=1e-7)
