"""gluon.contrib.cnn (DeformableConvolution, ModulatedDeformableConvolution) and
gluon.contrib.data (IntervalSampler, WikiText2/103): values MXNet 1.9.1 computed with the same
parameters, parameter names/shapes/initialisation, hybridize and export/import, errors."""

from __future__ import annotations

import json
import re
import zipfile

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd, gluon
from mxplug.base import MXNetError, MXNetTypeError, MXNetValueError
from mxplug.gluon.contrib.cnn import DeformableConvolution, ModulatedDeformableConvolution
from mxplug.gluon.contrib.data import IntervalSampler
from mxplug.gluon.contrib.data.text import WikiText2, WikiText103

C = mx.nd.contrib


# -- deterministic parameters and inputs, built the same way in the MXNet 1.9.1 script ---------
_SCALES = {"offset_weight": 0.4, "offset_bias": 0.8, "deformable_conv_weight": 0.5,
           "deformable_conv_bias": 0.3}


def _pattern(shape, k, scale):
    n = int(np.prod(shape))
    return scale * np.cos(np.arange(n) * (0.37 + 0.11 * k) + 0.2 * k).reshape(shape)


def _data(shape):
    return np.sin(np.arange(int(np.prod(shape))) * 0.7 + 0.3).reshape(shape)


def _fingerprint(a):
    """(sum, a dot a fixed non-uniform pattern): what the MXNet script recorded."""
    a = np.asarray(a, np.float64)
    return [a.sum(), (a * np.cos(np.arange(a.size) * 0.77).reshape(a.shape)).sum()]


def _nd(a, dtype="float64"):
    return mx.nd.array(np.asarray(a), dtype=dtype)


def _build(cls, kwargs, shape, dtype="float64"):
    """The layer with every parameter set to the pattern (k: the name's sorted position)."""
    net = cls(**kwargs)
    net.initialize()
    net.cast(dtype)
    x = _nd(_data(shape), dtype)
    net(x)  # finishes the deferred initialisation
    params = net._collect_params_with_prefix()
    for k, name in enumerate(sorted(params)):
        params[name].set_data(_nd(_pattern(params[name].shape, k, _SCALES[name]), dtype))
    return net, x


# (class, kwargs, input shape, output fingerprint, v1: gradient fingerprints of
# sum(out * cos(0.3 k))); all from MXNet 1.9.1 in float64
ORACLE = [
    (DeformableConvolution, dict(channels=2, kernel_size=3, padding=1), (1, 2, 3, 4),
     [6.274742144801354, 1.3660568883299007],
     {"offset_weight": [0.7579186238392017, 15.5158234619556],
      "offset_bias": [13.414852059597283, 1.0599875801328253],
      "deformable_conv_weight": [3.736539526430911, 3.2320333401173325],
      "deformable_conv_bias": [2.8215123658358863, 1.880145951129196],
      "data": [-26.16394700734016, 6.080968174931976]}),
    (DeformableConvolution, dict(channels=4, kernel_size=3, strides=2, padding=1, groups=2,
                                 num_deformable_group=2, activation="relu", use_bias=False),
     (2, 4, 5, 6), [23.598001763479846, -0.6713522553611186],
     {"offset_weight": [4.015848870387631, 4.78488477873854],
      "offset_bias": [1.8371564620855958, 1.1025946949708803],
      "deformable_conv_weight": [-1.1998822637901245, 2.5837820066426866],
      "data": [-2.8034834323181377, 0.18116907785403036]}),
    (ModulatedDeformableConvolution, dict(channels=3, kernel_size=3, padding=1), (1, 2, 4, 5),
     [17.61461871138073, -0.7790734468976288], None),
    (ModulatedDeformableConvolution,
     dict(channels=4, kernel_size=(2, 3), dilation=(1, 2), num_deformable_group=2,
          offset_use_bias=False, activation="tanh"), (2, 4, 5, 7),
     [20.491222880628353, 0.5788281707427103], None),
    (ModulatedDeformableConvolution,
     dict(channels=4, kernel_size=2, groups=2, num_deformable_group=2, padding=1), (1, 4, 3, 3),
     [14.884929352682754, -0.4173572198488138], None),
]

# the whole output of ORACLE[0], from MXNet 1.9.1
ORACLE0_OUT = [
    0.3, 0.3, 0.3, 0.0161504863, -0.4226597214, 0.128724494, 0.3353602569, -0.7252559209,
    0.4913735641, -0.1621231708, 0.5090497498, -0.6585459205, 0.2796982037, 0.2796982037,
    0.2796982037, 1.0554896294, 0.2251841158, 0.6530070185, 0.3137641617, 2.0323982207,
    -0.1937843707, 0.4351048256, -0.3943458204, 0.896755936]


@pytest.mark.parametrize("case", range(len(ORACLE)))
def test_layers_match_mxnet(case):
    cls, kwargs, shape, out_fp, grad_fps = ORACLE[case]
    net, x = _build(cls, kwargs, shape)
    y = net(x)
    np.testing.assert_allclose(_fingerprint(y.asnumpy()), out_fp, rtol=1e-10, atol=1e-10)
    if case == 0:
        np.testing.assert_allclose(y.asnumpy().ravel(), ORACLE0_OUT, atol=1e-9)
    if grad_fps is None:  # MXNet 1.9.1 has no CPU backward for v2
        return
    x.attach_grad()
    weights = _nd(np.cos(np.arange(y.size) * 0.3).reshape(y.shape))
    with autograd.record():
        z = (net(x) * weights).sum()
    z.backward()
    got = {name: _fingerprint(p.grad().asnumpy())
           for name, p in net._collect_params_with_prefix().items()}
    got["data"] = _fingerprint(x.grad.asnumpy())
    assert got.keys() == grad_fps.keys()
    for name, fp in grad_fps.items():
        np.testing.assert_allclose(got[name], fp, rtol=1e-9, atol=1e-9, err_msg=name)


def test_float32_close_to_float64_oracle():
    cls, kwargs, shape, out_fp, _ = ORACLE[2]
    net, x = _build(cls, kwargs, shape, dtype="float32")
    y = net(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(_fingerprint(y.asnumpy()), out_fp, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", [1, 2, 4])
def test_layer_is_offset_conv_then_deformable_op(case):
    """The layer's forward spelled out with mx.nd ops, on offsets that move the taps."""
    cls, kwargs, shape, _, _ = ORACLE[case]
    net, x = _build(cls, kwargs, shape)
    p = {k: v.data() for k, v in net._collect_params_with_prefix().items()}
    k = net._kwargs_deformable_conv
    conv = dict(kernel=k["kernel"], stride=k["stride"], dilate=k["dilate"], pad=k["pad"],
                num_group=k["num_group"])
    dg = k["num_deformable_group"]
    taps = k["kernel"][0] * k["kernel"][1] * dg
    per_tap = 2 if cls is DeformableConvolution else 3
    off = mx.nd.Convolution(x, p["offset_weight"], p["offset_bias"], num_filter=per_tap * taps,
                            **conv)
    assert np.abs(off.asnumpy()[:, :2 * taps]).max() > 0.5
    bias = {"bias": p["deformable_conv_bias"]} if "deformable_conv_bias" in p else {}
    args = dict(num_filter=kwargs["channels"], num_deformable_group=dg, no_bias=not bias,
                **bias, **conv)
    if cls is DeformableConvolution:
        want = C.DeformableConvolution(x, off, p["deformable_conv_weight"], **args)
    else:
        mask = mx.nd.sigmoid(off[:, 2 * taps:]) * 2
        want = C.ModulatedDeformableConvolution(x, off[:, :2 * taps], mask,
                                                p["deformable_conv_weight"], **args)
    if "activation" in kwargs:
        want = mx.nd.Activation(want, act_type=kwargs["activation"])
    np.testing.assert_allclose(net(x).asnumpy(), want.asnumpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls", [DeformableConvolution, ModulatedDeformableConvolution])
def test_fresh_layer_is_a_plain_convolution(cls):
    """Offset weights start at zero: no shift (and v2's mask 2*sigmoid(0) = 1)."""
    net = cls(3, kernel_size=3, padding=1, strides=(1, 2), in_channels=2)
    net.initialize(mx.init.Uniform(0.5))
    assert not np.any(net.offset_weight.data().asnumpy())
    assert not np.any(net.offset_bias.data().asnumpy())
    w = net.deformable_conv_weight.data()
    assert np.abs(w.asnumpy()).max() > 0  # the global initialiser drew it
    x = mx.nd.array(_data((2, 2, 5, 6)))
    want = mx.nd.Convolution(x, w, net.deformable_conv_bias.data(), kernel=(3, 3), pad=(1, 1),
                             stride=(1, 2), num_filter=3)
    np.testing.assert_allclose(net(x).asnumpy(), want.asnumpy(), rtol=1e-5, atol=1e-6)


def test_parameter_names_shapes_and_order():
    v1 = DeformableConvolution(4, kernel_size=3, in_channels=2, prefix="dc_")
    assert [(k, v.shape, v.init) for k, v in v1.collect_params().items()] == [
        ("dc_offset_weight", (18, 2, 3, 3), "zeros"), ("dc_offset_bias", (18,), "zeros"),
        ("dc_deformable_conv_weight", (4, 2, 3, 3), None),
        ("dc_deformable_conv_bias", (4,), "zeros")]
    # MXNet's v2 declares the deformable convolution's parameters first
    v2 = ModulatedDeformableConvolution(6, kernel_size=(2, 3), groups=3, use_bias=False,
                                        offset_use_bias=False, prefix="m_")
    assert [(k, v.shape) for k, v in v2.collect_params().items()] == [
        ("m_deformable_conv_weight", (6, 0, 2, 3)), ("m_offset_weight", (18, 0, 2, 3))]
    v2.initialize()
    v2(mx.nd.ones((1, 6, 4, 5)))
    assert v2.deformable_conv_weight.shape == (6, 2, 2, 3)
    assert v2.offset_weight.shape == (18, 2, 2, 3)
    assert v2.offset_bias is None and v2.deformable_conv_bias is None
    # default prefixes follow MXNet's aliases
    assert re.fullmatch(r"deformable_conv\d+_", DeformableConvolution(1).prefix)
    assert re.fullmatch(r"modulated_deformable_conv\d+_",
                        ModulatedDeformableConvolution(1).prefix)


@pytest.mark.parametrize("case", [0, 3])
def test_hybridize_export_and_symbolblock(case, tmp_path):
    cls, kwargs, shape, out_fp, _ = ORACLE[case]
    net, x = _build(cls, kwargs, shape)
    eager = net(x).asnumpy()
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), eager, rtol=1e-12, atol=1e-12)
    net.export(str(tmp_path / "dcn"))
    nodes = json.loads((tmp_path / "dcn-symbol.json").read_text())["nodes"]
    ops = {n["op"]: n["name"] for n in nodes}
    assert ops["_contrib_" + cls.__name__] == net.prefix + "fwd" and "Convolution" in ops
    loaded = gluon.SymbolBlock.imports(str(tmp_path / "dcn-symbol.json"), ["data"],
                                       str(tmp_path / "dcn-0000.params"))
    np.testing.assert_allclose(loaded(x).asnumpy(), eager, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_fingerprint(eager), out_fp, rtol=1e-10)


def test_save_and_load_parameters(tmp_path):
    cls, kwargs, shape, _, _ = ORACLE[4]
    net, x = _build(cls, kwargs, shape)
    net.save_parameters(str(tmp_path / "m.params"))
    other = cls(**kwargs)
    other.cast("float64")
    other.load_parameters(str(tmp_path / "m.params"))
    np.testing.assert_allclose(other(x).asnumpy(), net(x).asnumpy(), rtol=1e-12)


def test_v2_trains_its_offsets():
    net = ModulatedDeformableConvolution(2, kernel_size=3, padding=1, in_channels=2,
                                         offset_weight_initializer=mx.init.Uniform(0.3))
    net.initialize(mx.init.Uniform(0.5))
    x = mx.nd.array(_data((1, 2, 4, 4)))
    with autograd.record():
        loss = (net(x) ** 2).sum()
    loss.backward()
    for p in net.collect_params().values():
        assert np.abs(p.grad().asnumpy()).max() > 0, p.name


def test_repr():
    net = DeformableConvolution(4, kernel_size=3, padding=1, groups=2, use_bias=False,
                                activation="relu")
    assert repr(net) == ("DeformableConvolution(None -> 4, kernel_size=(3, 3), stride=(1, 1), "
                         "padding=(1, 1), groups=2, bias=False, Activation(relu))")
    assert repr(ModulatedDeformableConvolution(2, 3, in_channels=5, dilation=2)) == (
        "ModulatedDeformableConvolution(5 -> 2, kernel_size=(3, 3), stride=(1, 1), "
        "dilation=(2, 2))")


def test_cnn_errors():
    with pytest.raises(MXNetValueError, match="'NHWC' is not supported"):
        DeformableConvolution(4, 3, layout="NHWC")
    with pytest.raises(MXNetValueError, match="adj"):
        ModulatedDeformableConvolution(4, 3, adj=(1, 1))
    # v2's offset convolution has 27 outputs: 2 groups cannot split them (MXNet fails too)
    with pytest.raises(MXNetValueError, match="27 output channels"):
        ModulatedDeformableConvolution(4, 3, groups=2)
    with pytest.raises(MXNetValueError, match="in_channels"):
        DeformableConvolution(4, 3, groups=2, in_channels=3)
    with pytest.raises(AssertionError):
        DeformableConvolution(4, (3, 3, 3))
    net = DeformableConvolution(4, 3, in_channels=2)
    net.initialize()
    with pytest.raises(MXNetError):  # 3 channels into a layer made for 2
        net(mx.nd.ones((1, 3, 5, 5)))


def test_contrib_exposes_cnn_and_data():
    assert mx.gluon.contrib.cnn.DeformableConvolution is DeformableConvolution
    assert mx.gluon.contrib.data.IntervalSampler is IntervalSampler
    assert mx.gluon.contrib.data.text.WikiText2 is WikiText2


# -- IntervalSampler ----------------------------------------------------------------------------
def test_interval_sampler():
    assert list(IntervalSampler(13, 3)) == [0, 3, 6, 9, 12, 1, 4, 7, 10, 2, 5, 8, 11]
    assert len(IntervalSampler(13, 3)) == 13
    no_roll = IntervalSampler(13, 3, rollover=False)
    assert list(no_roll) == [0, 3, 6, 9, 12] and len(no_roll) == 5
    # MXNet 1.9.1's contrib sampler allows interval == length
    assert list(IntervalSampler(4, 4)) == [0, 1, 2, 3]
    assert list(IntervalSampler(4, 4, rollover=False)) == [0]
    assert isinstance(IntervalSampler(4, 2), gluon.data.Sampler)
    for bad in (5, 0, -1):
        with pytest.raises(MXNetValueError, match=f"interval={bad}, length=4"):
            IntervalSampler(4, bad)
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(np.arange(7.0)), batch_size=3,
                                   sampler=IntervalSampler(7, 2, rollover=False))
    assert [b.asnumpy().tolist() for b in loader] == [[0, 2, 4], [6]]


# -- WikiText -----------------------------------------------------------------------------------
# a tiny training file with MXNet's quirks in it: blank and whitespace-only lines, a tab (the
# counter splits only on ' ' and newlines, so '\tthe\tgame' is one vocabulary entry while the
# samples split it into 'the' 'game'), a literal '<unk>', non-ASCII
TRAIN = (" = Valkyria Chronicles III = \n\n Senjō no Valkyria 3 : <unk> Chronicles , the game "
         "is a game .\n\tthe\tgame  ends @-@ here , the end \n   \n a b a b c the , . \n")
VALID = " the game is new .\n unseen words here \n"

# from MXNet 1.9.1 (WikiText2 on these files, its SHA-1 check switched off)
IDX_TO_TOKEN = ["<unk>", "<eos>", ",", "a", "the", ".", "=", "Chronicles", "Valkyria", "b",
                "game", "\tthe\tgame", "3", ":", "@-@", "III", "Senjō", "c", "end", "ends",
                "here", "is", "no"]
DATA_4 = [[6, 8, 7, 15], [6, 1, 16, 22], [8, 12, 13, 0], [7, 2, 4, 10], [21, 3, 10, 5],
          [1, 4, 10, 19], [14, 20, 2, 4], [18, 1, 3, 9], [3, 9, 17, 4]]
LABEL_4 = [[8, 7, 15, 6], [1, 16, 22, 8], [12, 13, 0, 7], [2, 4, 10, 21], [3, 10, 5, 1],
           [4, 10, 19, 14], [20, 2, 4, 18], [1, 3, 9, 3], [9, 17, 4, 2]]
VALID_DATA_4 = [[4, 10, 21, 0], [5, 1, 0, 0]]
VALID_LABEL_4 = [[10, 21, 0, 5], [1, 0, 0, 20]]
# validation with a vocabulary of its own, seq_len=3
VALID_OWN_ITOS = ["<unk>", "<eos>", ".", "game", "here", "is", "new", "the", "unseen", "words"]
VALID_OWN_DATA_3 = [[7, 3, 5], [6, 2, 1], [8, 9, 4]]


@pytest.fixture
def wiki_root(tmp_path):
    (tmp_path / "wiki.train.tokens").write_text(TRAIN, encoding="utf8")
    (tmp_path / "wiki.valid.tokens").write_text(VALID, encoding="utf8")
    return str(tmp_path)


def test_wikitext_matches_mxnet(wiki_root):
    train = WikiText2(root=wiki_root, seq_len=4)
    assert train.vocabulary.idx_to_token == IDX_TO_TOKEN
    assert train.frequencies["the"] == 3 and train.frequencies["\tthe\tgame"] == 1
    assert train.frequencies["<unk>"] == 1 and "<eos>" not in train.frequencies
    assert len(train) == 9
    assert train._data.asnumpy().tolist() == DATA_4
    assert train._label.asnumpy().tolist() == LABEL_4
    data, label = train[0]
    assert isinstance(data, mx.nd.NDArray) and isinstance(label, mx.nd.NDArray)
    assert data.dtype == np.int32 and label.dtype == np.int32 and data.shape == (4,)
    assert data.asnumpy().tolist() == DATA_4[0] and label.asnumpy().tolist() == LABEL_4[0]

    valid = WikiText2(root=wiki_root, segment="validation", vocab=train.vocabulary, seq_len=4)
    assert valid.vocabulary is train.vocabulary
    assert valid._data.asnumpy().tolist() == VALID_DATA_4
    assert valid._label.asnumpy().tolist() == VALID_LABEL_4
    assert dict(valid.frequencies) == {t: 1 for t in VALID.split()}

    own = WikiText2(root=wiki_root, segment="validation", seq_len=3)
    assert own.vocabulary.idx_to_token == VALID_OWN_ITOS
    assert own._data.asnumpy().tolist() == VALID_OWN_DATA_3


def test_wikitext_seq_len_truncates(wiki_root):
    # the validation stream has 10 tokens, 9 of which start a sample (MXNet 1.9.1 gave 9, 2,
    # 1, 1 rows for seq_len 1, 4, 5, 7)
    for seq_len, rows in ((1, 9), (4, 2), (5, 1), (7, 1), (9, 1), (10, 0)):
        ds = WikiText2(root=wiki_root, segment="validation", seq_len=seq_len)
        assert len(ds) == rows and ds._data.shape == (rows, seq_len)
    ds = WikiText2(root=wiki_root, segment="validation", seq_len=1)
    np.testing.assert_array_equal(ds._label.asnumpy()[:-1], ds._data.asnumpy()[1:])


def test_wikitext_batches_through_dataloader(wiki_root):
    ds = WikiText2(root=wiki_root, seq_len=4)
    batches = list(gluon.data.DataLoader(ds, batch_size=4, last_batch="discard"))
    assert len(batches) == 2
    assert batches[1][0].asnumpy().tolist() == DATA_4[4:8]
    assert batches[1][1].asnumpy().tolist() == LABEL_4[4:8]


def test_wikitext103_reads_from_mxnet_archive(tmp_path):
    # MXNet's archive keeps the files in a folder; they are flattened into root
    with zipfile.ZipFile(tmp_path / "wikitext-103-v1.zip", "w") as zf:
        zf.writestr("wikitext-103/wiki.train.tokens", TRAIN)
        zf.writestr("wikitext-103/wiki.test.tokens", VALID)
    ds = WikiText103(root=str(tmp_path), segment="test", seq_len=3)
    assert (tmp_path / "wiki.test.tokens").read_text(encoding="utf8") == VALID
    assert not (tmp_path / "wiki.train.tokens").exists()
    assert ds.vocabulary.idx_to_token == VALID_OWN_ITOS
    assert ds._data.asnumpy().tolist() == VALID_OWN_DATA_3
    assert WikiText103(root=str(tmp_path), seq_len=4)._data.asnumpy().tolist() == DATA_4
    with pytest.raises(FileNotFoundError, match="'wiki.valid.tokens'"):
        WikiText103(root=str(tmp_path), segment="validation")


def test_wikitext_missing_files_say_where(tmp_path):
    with pytest.raises(MXNetError) as e:
        WikiText2(root=str(tmp_path / "none"), segment="test")
    msg = str(e.value)
    assert isinstance(e.value, FileNotFoundError)
    assert "no download on this machine" in msg and "'wiki.test.tokens'" in msg
    assert str(tmp_path / "none") in msg and "wikitext-2-v1.zip" in msg


def test_wikitext_argument_errors(wiki_root):
    with pytest.raises(MXNetValueError, match="segment must be one of"):
        WikiText2(root=wiki_root, segment="valid")
    with pytest.raises(MXNetValueError, match="seq_len must be positive"):
        WikiText2(root=wiki_root, seq_len=0)
    with pytest.raises(MXNetTypeError, match="Vocabulary"):
        WikiText2(root=wiki_root, vocab={"the": 1})
