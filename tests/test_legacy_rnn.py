"""``mx.rnn``, MXNet 1.x's legacy symbolic cells: parameter and output names and unroll shapes
as MXNet documents them, values against independent NumPy recurrences, FusedRNNCell against its
unfused cells, the modifiers, BucketSentenceIter + BucketingModule training, RNN checkpoints,
and finite-difference gradients."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
import mxplug.rnn  # noqa: F401  (mx.rnn; the lazy table resolves it too)
from mxplug.base import MXNetError
from mxplug.test_utils import assert_almost_equal, check_numeric_gradient

R = mxplug.rnn


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# -- independent NumPy recurrences (gates i, f, c, o and r, z, n as MXNet orders them) ------------
def np_lstm_step(x, h, c, wi, bi, wh, bh):
    g = x @ wi.T + bi + h @ wh.T + bh
    i, f, cc, o = np.split(g, 4, axis=1)
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(cc)
    h = _sigmoid(o) * np.tanh(c)
    return h, c


def np_gru_step(x, h, wi, bi, wh, bh):
    ir, iz, in_ = np.split(x @ wi.T + bi, 3, axis=1)
    hr, hz, hn = np.split(h @ wh.T + bh, 3, axis=1)
    r, z = _sigmoid(ir + hr), _sigmoid(iz + hz)
    n = np.tanh(in_ + r * hn)
    return (1 - z) * n + z * h


def np_rnn_step(x, h, wi, bi, wh, bh, act):
    y = x @ wi.T + bi + h @ wh.T + bh
    return np.tanh(y) if act == "tanh" else np.maximum(y, 0)


def np_run(mode, xs, p, prefix, h0=None, c0=None):
    """Run one layer over ``xs`` (T, N, C) with the weights ``p[prefix + 'i2h_weight']``..."""
    w = [p[prefix + k] for k in ("i2h_weight", "i2h_bias", "h2h_weight", "h2h_bias")]
    hidden = w[2].shape[1]
    h = np.zeros((xs.shape[1], hidden)) if h0 is None else h0
    c = np.zeros_like(h) if c0 is None else c0
    out = []
    for x in xs:
        if mode == "lstm":
            h, c = np_lstm_step(x, h, c, *w)
        elif mode == "gru":
            h = np_gru_step(x, h, *w)
        else:
            h = np_rnn_step(x, h, *w, act=mode[4:])
        out.append(h)
    return np.stack(out), h, c


def _rand_args(sym, given, rng, scale=0.5):
    """Every argument of ``sym``: the ``given`` arrays, the rest uniform random."""
    arg_shapes, _, _ = sym.infer_shape(**{k: v.shape for k, v in given.items()})
    return {n: (given[n] if n in given else rng.uniform(-scale, scale, s))
            for n, s in zip(sym.list_arguments(), arg_shapes)}


def _run(sym, args, dtype="float64"):
    ex = sym.bind(mx.cpu(), {k: mx.nd.array(v, dtype=dtype) for k, v in args.items()},
                  grad_req="null")
    return [o.asnumpy() for o in ex.forward()]


# -- names and shapes (MXNet's test_rnn.py) -------------------------------------------------------
@pytest.mark.parametrize("cls, prefix, extra", [(R.RNNCell, "rnn_", {}),
                                               (R.LSTMCell, "lstm_", {}),
                                               (R.GRUCell, "gru_", {})])
def test_cell_names_and_shapes(cls, prefix, extra):
    cell = cls(100, prefix=prefix, **extra)
    inputs = [mx.sym.Variable(f"{prefix}t{i}_data") for i in range(3)]
    outputs, states = cell.unroll(3, inputs)
    outputs = mx.sym.Group(outputs)
    assert sorted(cell.params._params) == [f"{prefix}h2h_bias", f"{prefix}h2h_weight",
                                           f"{prefix}i2h_bias", f"{prefix}i2h_weight"]
    assert outputs.list_outputs() == [f"{prefix}t{i}_out_output" for i in range(3)]
    _, outs, _ = outputs.infer_shape(**{f"{prefix}t{i}_data": (10, 50) for i in range(3)})
    assert outs == [(10, 100)] * 3
    assert len(states) == (2 if cls is R.LSTMCell else 1)
    assert cell.state_info == [{"shape": (0, 100), "__layout__": "NC"}] * len(states)
    assert cell.state_shape == [(0, 100)] * len(states)


def test_stack_and_bidirectional_names():
    stack = R.SequentialRNNCell()
    for i in range(3):
        stack.add(R.LSTMCell(20, prefix=f"rnn_stack{i}_"))
    outputs, states = stack.unroll(3, [mx.sym.Variable(f"t{i}_data") for i in range(3)])
    assert sorted(stack.params._params)[:4] == ["rnn_stack0_h2h_bias", "rnn_stack0_h2h_weight",
                                                "rnn_stack0_i2h_bias", "rnn_stack0_i2h_weight"]
    assert mx.sym.Group(outputs).list_outputs() == [f"rnn_stack2_t{i}_out_output"
                                                    for i in range(3)]
    assert len(states) == 6
    bi = R.BidirectionalCell(R.LSTMCell(20, prefix="rnn_l0_"), R.LSTMCell(20, prefix="rnn_r0_"),
                             output_prefix="rnn_bi_")
    outputs, states = bi.unroll(3, [mx.sym.Variable(f"t{i}_data") for i in range(3)])
    group = mx.sym.Group(outputs)
    assert group.list_outputs() == [f"rnn_bi_t{i}_output" for i in range(3)]
    _, outs, _ = group.infer_shape(**{f"t{i}_data": (4, 7) for i in range(3)})
    assert outs == [(4, 40)] * 3
    assert len(states) == 2 and len(states[0]) == 2  # [l_states, r_states], as MXNet


@pytest.mark.parametrize("layout", ["NTC", "TNC"])
@pytest.mark.parametrize("merge", [True, False, None])
def test_unroll_layouts(layout, merge):
    cell = R.GRUCell(6, prefix="gru_")
    shape = (2, 5, 3) if layout == "NTC" else (5, 2, 3)
    outputs, _ = cell.unroll(5, mx.sym.Variable("data"), layout=layout, merge_outputs=merge)
    if merge:
        _, outs, _ = outputs.infer_shape(data=shape)
        assert outs == [shape[:2] + (6,)]
    else:  # None: a list, which is what per-step cells make cheaply
        assert isinstance(outputs, list) and len(outputs) == 5
        _, outs, _ = mx.sym.Group(outputs).infer_shape(data=shape)
        assert outs == [(2, 6)] * 5


def test_fused_names_and_shapes():
    cell = R.FusedRNNCell(8, num_layers=2, mode="lstm", bidirectional=True,
                          get_next_state=True, prefix="lstm_")
    outputs, states = cell.unroll(4, mx.sym.Variable("data"), layout="TNC", merge_outputs=True)
    assert outputs.list_arguments() == ["data", "lstm_parameters"]
    args, outs, _ = outputs.infer_shape(data=(4, 3, 5))
    g = 4 * 8
    assert args[1] == (2 * g * (5 + 8 + 2) + 2 * g * (16 + 8 + 2),)
    assert outs == [(4, 3, 16)]
    _, souts, _ = mx.sym.Group(states).infer_shape(data=(4, 3, 5))
    assert souts == [(4, 3, 8)] * 2
    assert states[0].attr("__layout__") == "LNC"
    assert cell.state_info == [{"shape": (4, 0, 8), "__layout__": "LNC"}] * 2
    with pytest.warns(UserWarning, match="NTC layout detected"):
        outputs, states = cell.unroll(4, mx.sym.Variable("data"), merge_outputs=False)
    assert len(outputs) == 4 and states
    with pytest.raises(NotImplementedError, match="cannot be stepped"):
        cell(mx.sym.Variable("x"), [])


# -- values against NumPy -------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
def test_cell_values_against_numpy(mode):
    rng = np.random.RandomState(0)
    cell = {"lstm": lambda: R.LSTMCell(5, prefix="c_"), "gru": lambda: R.GRUCell(5, prefix="c_"),
            "rnn_tanh": lambda: R.RNNCell(5, prefix="c_"),
            "rnn_relu": lambda: R.RNNCell(5, activation="relu", prefix="c_")}[mode]()
    outputs, states = cell.unroll(4, mx.sym.Variable("data"), layout="NTC", merge_outputs=True)
    sym = mx.sym.Group([outputs] + list(states))
    x = rng.uniform(-1, 1, (3, 4, 2))
    args = _rand_args(sym, {"data": x}, rng)
    got = _run(sym, args)
    want, h, c = np_run(mode, x.transpose(1, 0, 2), args, "c_")
    assert_almost_equal(got[0], want.transpose(1, 0, 2), rtol=1e-10, atol=1e-12)
    assert_almost_equal(got[1], h, rtol=1e-10, atol=1e-12)
    if mode == "lstm":
        assert_almost_equal(got[2], c, rtol=1e-10, atol=1e-12)


def test_lstm_step_with_given_states():
    """One step by hand with states fed as variables (``begin_state(func=mx.sym.Variable)``)."""
    rng = np.random.RandomState(1)
    cell = R.LSTMCell(3, prefix="lstm_")
    begin = cell.begin_state(func=mx.sym.Variable)
    assert [b.name for b in begin] == ["lstm_begin_state_0", "lstm_begin_state_1"]
    out, (h, c) = cell(mx.sym.Variable("x"), begin)
    assert out.name == "lstm_t0_out"
    sym = mx.sym.Group([out, c])
    x, h0, c0 = rng.randn(2, 4), rng.randn(2, 3), rng.randn(2, 3)
    args = _rand_args(sym, {"x": x, "lstm_begin_state_0": h0, "lstm_begin_state_1": c0}, rng)
    got = _run(sym, args)
    want_h, want_c = np_lstm_step(x, h0, c0, args["lstm_i2h_weight"], args["lstm_i2h_bias"],
                                  args["lstm_h2h_weight"], args["lstm_h2h_bias"])
    assert_almost_equal(got[0], want_h, rtol=1e-10, atol=1e-12)
    assert_almost_equal(got[1], want_c, rtol=1e-10, atol=1e-12)


def test_begin_state_constants_take_the_batch_size():
    """MXNet's default begin state is zeros of shape (0, H); ones/full are completed too."""
    cell = R.RNNCell(3, prefix="rnn_")
    begin = cell.begin_state(func=mx.sym.ones)
    assert begin[0].name == "rnn_begin_state_0"
    out, _ = cell(mx.sym.Variable("x"), begin)
    args = {"x": np.zeros((4, 2)), "rnn_i2h_weight": np.zeros((3, 2)),
            "rnn_i2h_bias": np.zeros(3), "rnn_h2h_weight": np.eye(3) * 0.5,
            "rnn_h2h_bias": np.zeros(3)}
    (got,) = _run(out, args)
    assert_almost_equal(got, np.full((4, 3), np.tanh(0.5)))
    with pytest.raises(MXNetError, match="only its batch axis"):
        cell.reset()
        cell(mx.sym.Variable("x"), [mx.sym.zeros(shape=(0, 0))])


# -- FusedRNNCell == its unfused stack ------------------------------------------------------------
@pytest.mark.parametrize("mode, layers, bidir", [("lstm", 2, False), ("gru", 1, True),
                                                 ("rnn_tanh", 2, True), ("rnn_relu", 1, False),
                                                 ("lstm", 2, True)])
@pytest.mark.parametrize("layout", ["TNC", "NTC"])
def test_fused_equals_unfused(mode, layers, bidir, layout):
    rng = np.random.RandomState(2)
    fused = R.FusedRNNCell(4, num_layers=layers, mode=mode, bidirectional=bidir,
                           prefix=f"{mode}_")
    stack = fused.unfuse()
    data = mx.sym.Variable("data")
    shape = (5, 3, 6) if layout == "TNC" else (3, 5, 6)
    with pytest.warns(UserWarning) if layout == "NTC" else _nothing():
        fo, _ = fused.unroll(5, data, layout=layout, merge_outputs=True)
    uo, _ = stack.unroll(5, data, layout=layout, merge_outputs=True)
    x = rng.uniform(-1, 1, shape)
    fargs = _rand_args(fo, {"data": x}, rng)
    unpacked = fused.unpack_weights({k: mx.nd.array(v, dtype="float64")
                                     for k, v in fargs.items()})
    assert f"{mode}_l0_i2h{fused._gate_names[0]}_weight" in unpacked
    uargs = {k: v.asnumpy() for k, v in stack.pack_weights(unpacked).items()}
    assert sorted(uargs) == sorted(uo.list_arguments())
    (f_out,), (u_out,) = _run(fo, fargs), _run(uo, uargs)
    assert f_out.shape == shape[:2] + (4 * (1 + bidir),)
    assert_almost_equal(f_out, u_out, rtol=1e-9, atol=1e-11)
    if not bidir and layers == 1:  # and against NumPy
        xs = x if layout == "TNC" else x.transpose(1, 0, 2)
        want, _, _ = np_run(mode, xs, uargs, f"{mode}_l0_")
        assert_almost_equal(f_out if layout == "TNC" else f_out.transpose(1, 0, 2), want,
                            rtol=1e-9, atol=1e-11)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_fused_next_state_matches_numpy():
    rng = np.random.RandomState(3)
    fused = R.FusedRNNCell(3, mode="lstm", get_next_state=True, prefix="lstm_")
    h0, c0 = mx.sym.Variable("h0"), mx.sym.Variable("c0")
    out, (h, c) = fused.unroll(4, mx.sym.Variable("data"), begin_state=[h0, c0], layout="TNC",
                               merge_outputs=True)
    sym = mx.sym.Group([out, h, c])
    x, hh, cc = rng.randn(4, 2, 5), rng.randn(1, 2, 3), rng.randn(1, 2, 3)
    args = _rand_args(sym, {"data": x, "h0": hh, "c0": cc}, rng)
    got = _run(sym, args)
    p = {k: v.asnumpy() for k, v in R.LSTMCell(3, prefix="lstm_l0_").pack_weights(
        fused.unpack_weights({"lstm_parameters": mx.nd.array(args["lstm_parameters"],
                                                             dtype="float64")})).items()}
    want, wh, wc = np_run("lstm", x, p, "lstm_l0_", hh[0], cc[0])
    assert_almost_equal(got[0], want, rtol=1e-9, atol=1e-11)
    assert_almost_equal(got[1][0], wh, rtol=1e-9, atol=1e-11)
    assert_almost_equal(got[2][0], wc, rtol=1e-9, atol=1e-11)


def test_pack_unpack_round_trip_and_errors():
    rng = np.random.RandomState(4)
    cell = R.LSTMCell(3, prefix="lstm_")
    args = {"lstm_i2h_weight": mx.nd.array(rng.randn(12, 2)),
            "lstm_i2h_bias": mx.nd.array(rng.randn(12)),
            "lstm_h2h_weight": mx.nd.array(rng.randn(12, 3)),
            "lstm_h2h_bias": mx.nd.array(rng.randn(12)), "other": mx.nd.ones(1)}
    up = cell.unpack_weights(args)
    assert sorted(up) == sorted(["other"] + [f"lstm_{g}_{q}_{k}" for g in ("i2h", "h2h")
                                             for q in "ifco" for k in ("weight", "bias")])
    assert_almost_equal(up["lstm_i2h_f_weight"].asnumpy(), args["lstm_i2h_weight"].asnumpy()[3:6])
    back = cell.pack_weights(up)
    for k, v in args.items():
        assert_almost_equal(back[k].asnumpy(), v.asnumpy())
    with pytest.raises(KeyError, match="lstm_h2h_weight"):
        cell.unpack_weights({"lstm_i2h_weight": args["lstm_i2h_weight"],
                             "lstm_i2h_bias": args["lstm_i2h_bias"]})
    fused = R.FusedRNNCell(3, mode="gru", prefix="gru_")
    with pytest.raises(MXNetError, match="Invalid parameters size"):
        fused.unpack_weights({"gru_parameters": mx.nd.zeros(17)})


def test_fused_initializer():
    cell = R.FusedRNNCell(4, num_layers=2, mode="lstm", forget_bias=2.5, prefix="lstm_")
    out, _ = cell.unroll(3, mx.sym.Variable("data"), layout="TNC", merge_outputs=True)
    (shape,) = [s for n, s in zip(out.list_arguments(), out.infer_shape(data=(3, 2, 5))[0])
                if n == "lstm_parameters"]
    arr = mx.nd.zeros(shape)
    desc = mx.init.InitDesc("lstm_parameters", out.attr_dict()["lstm_parameters"])
    mx.init.Xavier()(desc, arr)
    pieces = cell.unpack_weights({"lstm_parameters": arr})
    assert (pieces["lstm_l1_i2h_f_bias"].asnumpy() == 2.5).all()
    assert (pieces["lstm_l0_h2h_f_bias"].asnumpy() == 0).all()
    assert (pieces["lstm_l0_i2h_i_bias"].asnumpy() == 0).all()
    w = pieces["lstm_l1_h2h_o_weight"].asnumpy()
    assert w.shape == (4, 4) and np.abs(w).max() > 0
    # the unfused LSTMCell's i2h bias has MXNet's LSTMBias initializer
    lstm = R.LSTMCell(4, prefix="lstm_", forget_bias=2.5)
    assert "lstmbias" in lstm.params.get("i2h_bias").attr("__init__")


# -- modifiers and containers ---------------------------------------------------------------------
def test_modifiers():
    rng = np.random.RandomState(5)
    x = rng.randn(2, 3, 4)
    base = R.RNNCell(4, prefix="rnn_")
    res = R.ResidualCell(base)
    with pytest.raises(MXNetError, match="modifier cell"):
        base.begin_state()
    out_m, _ = res.unroll(3, mx.sym.Variable("data"), merge_outputs=True)
    out_l, _ = res.unroll(3, mx.sym.Variable("data"), merge_outputs=False)
    args = _rand_args(out_m, {"data": x}, rng)
    (got,) = _run(out_m, args)
    want, _, _ = np_run("rnn_tanh", x.transpose(1, 0, 2), args, "rnn_")
    assert_almost_equal(got, want.transpose(1, 0, 2) + x, rtol=1e-10)
    got_l = _run(mx.sym.Group(out_l), args)
    assert_almost_equal(np.stack(got_l, axis=1), got)
    assert out_l[0].name == "rnn_t0_out_plus_residual"

    zo = R.ZoneoutCell(R.GRUCell(4, prefix="gru_"), zoneout_outputs=0.5, zoneout_states=0.5)
    out_z, _ = zo.unroll(3, mx.sym.Variable("data"), merge_outputs=True)
    args = _rand_args(out_z, {"data": x}, rng)
    (got,) = _run(out_z, args)  # not training: zoneout keeps every new value
    want, _, _ = np_run("gru", x.transpose(1, 0, 2), args, "gru_")
    assert_almost_equal(got, want.transpose(1, 0, 2), rtol=1e-10)

    drop = R.DropoutCell(0.5)
    out_d, states = drop.unroll(3, mx.sym.Variable("data"), merge_outputs=True)
    assert states == [] and _run(out_d, {"data": x})[0].shape == x.shape
    with pytest.raises(MXNetError, match="must be a number"):
        R.DropoutCell("0.5")
    with pytest.raises(MXNetError, match="doesn't support zoneout"):
        R.ZoneoutCell(R.BidirectionalCell(R.RNNCell(2), R.RNNCell(2, prefix="r_")))
    with pytest.raises(MXNetError, match="unfuse first"):
        R.ZoneoutCell(R.FusedRNNCell(2))


def test_stack_step_and_shared_params():
    shared = R.SequentialRNNCell(params=R.RNNParams("shared_"))
    shared.add(R.LSTMCell(3, prefix="a_"))  # a cell that owns its params may join
    with pytest.raises(MXNetError, match="not both"):
        shared.add(R.GRUCell(3, prefix="b_", params=R.RNNParams("b_")))
    stack = R.SequentialRNNCell()
    stack.add(R.LSTMCell(3, prefix="a_"))
    stack.add(R.DropoutCell(0.0))
    stack.add(R.GRUCell(3, prefix="b_"))
    out, states = stack(mx.sym.Variable("x"), stack.begin_state())
    assert len(states) == 3 and stack.state_shape == [(0, 3)] * 3
    # two cells built on one container share their variables
    p = R.RNNParams("tied_")
    c1, c2 = R.RNNCell(3, params=p, prefix="x_"), R.RNNCell(3, params=p, prefix="y_")
    assert c1.params.get("i2h_weight") is c2.params.get("i2h_weight")
    d = mx.sym.Variable("d")
    o1, _ = c1.unroll(2, d)
    o2, _ = c2.unroll(2, d)
    assert sorted(mx.sym.Group(o1 + o2).list_arguments()) == [
        "d", "tied_h2h_bias", "tied_h2h_weight", "tied_i2h_bias", "tied_i2h_weight"]


def test_bidirectional_values():
    rng = np.random.RandomState(6)
    bi = R.BidirectionalCell(R.GRUCell(3, prefix="l_"), R.GRUCell(3, prefix="r_"))
    x = rng.randn(4, 2, 5)
    out, _ = bi.unroll(4, mx.sym.Variable("data"), layout="TNC", merge_outputs=True)
    assert out.name == "bi_out"
    args = _rand_args(out, {"data": x}, rng)
    (got,) = _run(out, args)
    fw, _, _ = np_run("gru", x, args, "l_")
    bw, _, _ = np_run("gru", x[::-1], args, "r_")
    assert_almost_equal(got, np.concatenate([fw, bw[::-1]], axis=2), rtol=1e-10)


def test_errors_name_the_problem():
    cell = R.LSTMCell(3, prefix="lstm_")
    with pytest.raises(MXNetError, match="length=4 but 3 inputs"):
        cell.unroll(4, [mx.sym.Variable(f"x{i}") for i in range(3)])
    with pytest.raises(MXNetError, match="deprecated"):
        cell.unroll(3, None)
    with pytest.raises(TypeError, match="Symbols"):
        cell.unroll(2, mx.nd.zeros((2, 2, 3)))
    with pytest.raises(MXNetError, match=r"LSTMCell\(prefix='lstm_'\): expects 2 state"):
        cell(mx.sym.Variable("x"), [mx.sym.Variable("h")])
    with pytest.raises(MXNetError, match="mode must be one of"):
        R.FusedRNNCell(3, mode="lstmp")
    with pytest.raises(MXNetError, match="Unsupported layout"):
        R.FusedRNNCell(3).unroll(2, mx.sym.Variable("d"), layout="NCT")


def test_conv_cells_legacy():
    cell = R.ConvLSTMCell((2, 3, 8, 6), 4, prefix="ConvLSTM_")
    out, states = cell.unroll(3, mx.sym.Variable("data"), layout="NTC", merge_outputs=True)
    args, outs, _ = out.infer_shape(data=(2, 3, 3, 8, 6))
    assert outs == [(2, 3, 4, 8, 6)]
    assert dict(zip(out.list_arguments(), args))["ConvLSTM_i2h_weight"] == (16, 3, 3, 3)
    assert cell.state_info[0] == {"shape": (0, 4, 8, 6), "__layout__": "NCHW"}
    gru = R.ConvGRUCell((2, 3, 8, 6), 4, i2h_stride=(2, 2), activation="tanh")
    o, _ = gru.unroll(2, mx.sym.Variable("data"), merge_outputs=True)
    assert o.infer_shape(data=(2, 2, 3, 8, 6))[1] == [(2, 2, 4, 4, 3)]
    with pytest.raises(MXNetError, match="odd"):
        R.ConvRNNCell((2, 3, 8, 6), 4, h2h_kernel=(2, 3))
    # channel-last: the same values as channel-first with the weights transposed
    rng = np.random.RandomState(12)
    first = R.ConvRNNCell((2, 3, 5, 4), 2, prefix="f_", activation="tanh")
    last = R.ConvRNNCell((2, 5, 4, 3), 2, prefix="l_", activation="tanh", conv_layout="NHWC")
    of, _ = first.unroll(2, mx.sym.Variable("data"), merge_outputs=True)
    ol, _ = last.unroll(2, mx.sym.Variable("data"), merge_outputs=True)
    x = rng.randn(2, 2, 3, 5, 4)
    fargs = _rand_args(of, {"data": x}, rng)
    largs = {k.replace("f_", "l_"): (v.transpose(0, 2, 3, 1) if v.ndim == 4 else v)
             for k, v in fargs.items()}
    largs["data"] = x.transpose(0, 1, 3, 4, 2)
    assert_almost_equal(_run(ol, largs)[0], _run(of, fargs)[0].transpose(0, 1, 3, 4, 2),
                        rtol=1e-5, atol=1e-6)


# -- gradients ------------------------------------------------------------------------------------
def test_numeric_gradient_gru_unroll():
    rng = np.random.RandomState(7)
    cell = R.GRUCell(2, prefix="gru_")
    out, _ = cell.unroll(2, mx.sym.Variable("data"), layout="NTC", merge_outputs=True)
    loc = _rand_args(out, {"data": rng.uniform(-1, 1, (2, 2, 3))}, rng)
    check_numeric_gradient(out, loc, numeric_eps=1e-6, rtol=1e-4, atol=1e-7, dtype=np.float64)


def test_numeric_gradient_fused_lstm():
    rng = np.random.RandomState(8)
    cell = R.FusedRNNCell(2, mode="lstm", prefix="lstm_")
    out, _ = cell.unroll(2, mx.sym.Variable("data"), layout="TNC", merge_outputs=True)
    loc = _rand_args(out, {"data": rng.uniform(-1, 1, (2, 2, 3))}, rng)
    check_numeric_gradient(out, loc, numeric_eps=1e-6, rtol=1e-4, atol=1e-7, dtype=np.float64)


# -- data: encode_sentences, BucketSentenceIter ---------------------------------------------------
def test_encode_sentences():
    coded, vocab = R.encode_sentences([["a", "b"], ["b", "c", "a"]], invalid_label=0,
                                      start_label=0)
    assert vocab == {"\n": 0, "a": 1, "b": 2, "c": 3}  # new indices skip the invalid label
    assert coded == [[1, 2], [2, 3, 1]]
    with pytest.raises(MXNetError, match="Unknown token d"):
        R.encode_sentences([["d"]], vocab=dict(vocab))
    coded, v2 = R.encode_sentences([["a", "d", "e"]], vocab=dict(vocab), unknown_token="<unk>")
    assert coded == [[1, 4, 4]] and v2["<unk>"] == 4


def test_bucket_sentence_iter():
    rng = np.random.RandomState(9)
    sents = [list(rng.randint(1, 9, n)) for n in [3] * 5 + [5] * 9 + [9]]
    it = R.BucketSentenceIter(sents, 4, invalid_label=0)
    assert it.buckets == [3, 5] and it.default_bucket_key == 5
    assert it.provide_data[0].shape == (4, 5) and it.provide_data[0].layout == "NT"
    batches = list(it)
    assert sorted(b.bucket_key for b in batches) == [3, 5, 5]
    for b in batches:
        d, lab = b.data[0].asnumpy(), b.label[0].asnumpy()
        assert d.shape == (4, b.bucket_key) == b.provide_data[0].shape
        np.testing.assert_array_equal(lab[:, :-1], d[:, 1:])
        assert (lab[:, -1] == 0).all()
    it.reset()
    assert len(list(it)) == 3
    tn = R.BucketSentenceIter(sents, 4, buckets=[6, 10], invalid_label=0, layout="TN")
    b = next(iter(tn))
    assert b.data[0].shape == (b.bucket_key, 4) and tn.provide_label[0].shape == (10, 4)
    with pytest.raises(MXNetError, match="no sentence length"):
        R.BucketSentenceIter(sents, 20)


# -- training with BucketingModule, and checkpoints -----------------------------------------------
def _corpus(rng, vocab=8):
    """Sentences where each token is the previous one + 1 (mod vocab): learnable."""
    sents = []
    for n in [4] * 24 + [6] * 24:
        start = rng.randint(1, vocab)
        sents.append([(start + k - 1) % (vocab - 1) + 1 for k in range(n)])
    return sents


@pytest.mark.filterwarnings("ignore:NTC layout detected")
@pytest.mark.parametrize("fused", [False, True])
def test_bucketing_module_trains_and_checkpoints(tmp_path, fused):
    mx.random.seed(0)
    rng = np.random.RandomState(10)
    vocab, hidden = 8, 16
    it = R.BucketSentenceIter(_corpus(rng, vocab), 8, invalid_label=0)
    if fused:  # the same network; its checkpoints hold the same unpacked names
        stack = R.FusedRNNCell(hidden, mode="lstm", prefix="lstm_")
    else:
        stack = R.SequentialRNNCell()
        stack.add(R.LSTMCell(hidden, prefix="lstm_l0_"))

    def sym_gen(seq_len):
        data = mx.sym.Variable("data")
        label = mx.sym.Variable("softmax_label")
        embed = mx.sym.Embedding(data, input_dim=vocab, output_dim=8, name="embed")
        stack.reset()
        outputs, _ = stack.unroll(seq_len, inputs=embed, merge_outputs=True)
        pred = mx.sym.FullyConnected(mx.sym.Reshape(outputs, shape=(-1, hidden)),
                                     num_hidden=vocab, name="pred")
        pred = mx.sym.SoftmaxOutput(pred, mx.sym.Reshape(label, shape=(-1,)), name="softmax")
        return pred, ("data",), ("softmax_label",)

    mod = mx.mod.BucketingModule(sym_gen, default_bucket_key=it.default_bucket_key)
    mod.bind(it.provide_data, it.provide_label)
    mod.init_params(mx.init.Xavier(factor_type="in", magnitude=2.34))
    metric = mx.metric.Perplexity(0)
    before = dict(mod.score(it, metric))["perplexity"]
    mod.fit(it, num_epoch=6, eval_metric=metric, optimizer="adam",
            optimizer_params={"learning_rate": 0.02},
            epoch_end_callback=R.do_rnn_checkpoint(stack, str(tmp_path / "lm"), period=3))
    after = dict(mod.score(it, metric))["perplexity"]
    assert after < 0.5 * before, (before, after)
    assert sorted(mod._buckets) == [4, 6]

    # checkpoints are saved unpacked (one array per gate) and load packed again
    saved = mx.nd.load(str(tmp_path / "lm-0006.params"))
    assert "arg:lstm_l0_i2h_f_weight" in saved and "arg:lstm_l0_i2h_weight" not in saved
    assert "arg:lstm_parameters" not in saved
    assert (tmp_path / "lm-0003.params").exists()
    sym, arg, aux = R.load_rnn_checkpoint(stack, str(tmp_path / "lm"), 6)
    params, _ = mod.get_params()
    assert sorted(arg) == sorted(params)
    for k, v in params.items():
        assert_almost_equal(arg[k].asnumpy(), v.asnumpy())
    assert ("lstm_parameters" if fused else "lstm_l0_i2h_weight") in sym.list_arguments()
    if fused:  # the fused model's checkpoint loads into its unfused twin
        _, unfused_arg, _ = R.load_rnn_checkpoint(stack.unfuse(), str(tmp_path / "lm"), 6)
        assert unfused_arg["lstm_l0_i2h_weight"].shape == (4 * hidden, 8)


def test_fused_checkpoint_round_trip(tmp_path):
    rng = np.random.RandomState(11)
    cell = R.FusedRNNCell(3, num_layers=2, mode="gru", bidirectional=True, prefix="gru_")
    out, _ = cell.unroll(2, mx.sym.Variable("data"), layout="TNC", merge_outputs=True)
    arg = {k: mx.nd.array(v) for k, v in _rand_args(out, {"data": np.zeros((2, 1, 4))},
                                                    rng).items() if k != "data"}
    R.save_rnn_checkpoint(cell, str(tmp_path / "g"), 1, out, arg, {})
    saved = mx.nd.load(str(tmp_path / "g-0001.params"))
    assert "arg:gru_r1_h2h_z_weight" in saved and "arg:gru_parameters" not in saved
    assert saved["arg:gru_l1_i2h_r_weight"].shape == (3, 6)
    sym, arg2, _ = R.load_rnn_checkpoint([cell], str(tmp_path / "g"), 1)
    assert sorted(arg2) == ["gru_parameters"]
    assert_almost_equal(arg2["gru_parameters"].asnumpy(), arg["gru_parameters"].asnumpy())
    assert sym.list_arguments() == out.list_arguments()


def test_begin_state_keeps_the_layout_attribute_as_mxnet():
    cell = mx.rnn.LSTMCell(4, prefix="l_")
    assert [s.list_attr() for s in cell.begin_state()] == \
        [{"shape": "(0, 4)", "__layout__": "NC"}] * 2  # MXNet 1.9.1 (besides dtype)

    def plain(shape, name=None):  # a user's function without **kwargs still works
        return mx.sym.zeros(shape=shape, name=name)

    assert cell.begin_state(func=plain)[0].list_attr() == {"shape": "(0, 4)"}
