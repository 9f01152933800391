"""``gluon.rnn``: the fused layers against the independent NumPy reference and against their
cells unrolled with the same weights; layouts, bidirectional and stacked layers, valid_length,
hybridize == eager, export, dropout under ``mx.random.seed``, and the cell modifiers."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.base import MXNetError
from mxplug.gluon import rnn

from .test_rnn_op import reference_rnn

LAYERS = {"lstm": rnn.LSTM, "gru": rnn.GRU, "rnn_tanh": rnn.RNN, "rnn_relu": rnn.RNN}
CELLS = {"lstm": rnn.LSTMCell, "gru": rnn.GRUCell, "rnn_tanh": rnn.RNNCell,
         "rnn_relu": rnn.RNNCell}


def _layer(mode, hidden, **kw):
    if mode.startswith("rnn_"):
        kw["activation"] = mode[4:]
    return LAYERS[mode](hidden, **kw)


def _cell(mode, hidden, **kw):
    if mode.startswith("rnn_"):
        kw["activation"] = mode[4:]
    return CELLS[mode](hidden, **kw)


def _init(block, ctx=None, dtype="float64"):
    block.initialize(mx.init.Uniform(0.5), ctx=ctx)
    if dtype != "float32":
        block.cast(dtype)
    return block


def _flat_params(layer, mode, layers, dirs):
    """The layer's weights in MXNet's flat ``parameters`` order (for the reference)."""
    names = [f"{d}{i}_{g}_{t}" for t in ("weight", "bias") for i in range(layers)
             for d in "lr"[:dirs] for g in ("i2h", "h2h")]
    return np.concatenate([getattr(layer, n).data().asnumpy().ravel() for n in names])


def _copy_to_cell(layer, cell, tag):
    for part in ("i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias"):
        getattr(cell, part).set_data(getattr(layer, f"{tag}_{part}").data())


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
def test_layer_matches_reference(mode):
    rng = np.random.default_rng(0)
    layer = _init(_layer(mode, 4, num_layers=2, bidirectional=True))
    x = rng.uniform(-1, 1, (5, 3, 6))
    states = layer.begin_state(3, dtype="float64")
    states = [mx.nd.array(rng.uniform(-1, 1, s.shape), dtype="float64") for s in states]
    out, new_states = layer(mx.nd.array(x, dtype="float64"), states)
    want = reference_rnn(x, _flat_params(layer, mode, 2, 2), *[s.asnumpy() for s in states],
                         state_size=4, num_layers=2, bidirectional=True, mode=mode,
                         state_outputs=True)
    for got, ref in zip([out] + new_states, want):
        np.testing.assert_allclose(got.asnumpy(), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
def test_layer_equals_unrolled_cell(mode):
    rng = np.random.default_rng(1)
    layer = _init(_layer(mode, 3, layout="NTC"))
    cell = _init(_cell(mode, 3, input_size=5))
    x = mx.nd.array(rng.uniform(-1, 1, (2, 4, 5)), dtype="float64")
    layer(x)
    _copy_to_cell(layer, cell, "l0")
    out, states = layer(x, layer.begin_state(2, dtype="float64"))
    cout, cstates = cell.unroll(4, x, layout="NTC", merge_outputs=True)
    np.testing.assert_allclose(out.asnumpy(), cout.asnumpy(), rtol=1e-12, atol=1e-12)
    for s, c in zip(states, cstates):
        np.testing.assert_allclose(s.asnumpy()[0], c.asnumpy(), rtol=1e-12, atol=1e-12)


def test_bidirectional_stacked_layer_equals_cells():
    rng = np.random.default_rng(2)
    layer = _init(rnn.LSTM(3, num_layers=2, bidirectional=True))
    x = mx.nd.array(rng.uniform(-1, 1, (4, 2, 5)), dtype="float64")
    layer(x)
    stack = rnn.SequentialRNNCell()
    for i, width in enumerate((5, 6)):
        bi = rnn.BidirectionalCell(rnn.LSTMCell(3, input_size=width),
                                   rnn.LSTMCell(3, input_size=width))
        _init(bi)
        _copy_to_cell(layer, bi._children["l_cell"], f"l{i}")
        _copy_to_cell(layer, bi._children["r_cell"], f"r{i}")
        stack.add(bi)
    out, states = layer(x, layer.begin_state(2, dtype="float64"))
    cout, cstates = stack.unroll(4, x, layout="TNC", merge_outputs=True)
    np.testing.assert_allclose(out.asnumpy(), cout.asnumpy(), rtol=1e-12, atol=1e-12)
    # cell states come per cell as [h, c]; the layer's as h (L*D, N, H) and c
    h = np.stack([cstates[k].asnumpy() for k in (0, 2, 4, 6)])
    c = np.stack([cstates[k].asnumpy() for k in (1, 3, 5, 7)])
    np.testing.assert_allclose(states[0].asnumpy(), h, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(states[1].asnumpy(), c, rtol=1e-12, atol=1e-12)


def test_hybrid_sequential_cells_equal_two_layer_gru():
    rng = np.random.default_rng(3)
    layer = _init(rnn.GRU(4, num_layers=2))
    x = mx.nd.array(rng.uniform(-1, 1, (3, 2, 5)), dtype="float64")
    layer(x)
    stack = rnn.HybridSequentialRNNCell()
    stack.add(rnn.GRUCell(4, input_size=5))
    stack.add(rnn.GRUCell(4, input_size=4))
    _init(stack)
    _copy_to_cell(layer, stack[0], "l0")
    _copy_to_cell(layer, stack[1], "l1")
    out = layer(x)
    cout, _ = stack.unroll(3, x, layout="TNC", merge_outputs=True)
    np.testing.assert_allclose(out.asnumpy(), cout.asnumpy(), rtol=1e-12, atol=1e-12)
    assert len(stack) == 2 and len(stack.state_info(2)) == 2


def test_ntc_layout_is_tnc_transposed():
    rng = np.random.default_rng(4)
    tnc = rnn.GRU(3, bidirectional=True, prefix="a_")
    ntc = rnn.GRU(3, bidirectional=True, layout="NTC", params=tnc.collect_params())
    _init(tnc)
    ntc.cast("float64")
    x = rng.uniform(-1, 1, (4, 2, 5))
    a = tnc(mx.nd.array(x, dtype="float64")).asnumpy()
    b = ntc(mx.nd.array(x.transpose(1, 0, 2), dtype="float64")).asnumpy()
    np.testing.assert_allclose(b.transpose(1, 0, 2), a, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_valid_length_cell_unroll_equals_layer(bidirectional):
    """Cells unrolled with valid_length (outputs masked, states of the last valid step) and
    the fused layer with use_sequence_length agree."""
    rng = np.random.default_rng(5)
    lengths = mx.nd.array([4, 2, 1], dtype="float64")
    x = mx.nd.array(rng.uniform(-1, 1, (3, 4, 5)), dtype="float64")  # NTC
    layer = _init(rnn.LSTM(3, layout="NTC", bidirectional=bidirectional,
                           use_sequence_length=True))
    out, states = layer(x, layer.begin_state(3, dtype="float64"), lengths)
    if bidirectional:
        cell = rnn.BidirectionalCell(rnn.LSTMCell(3, input_size=5),
                                     rnn.LSTMCell(3, input_size=5))
        _init(cell)
        _copy_to_cell(layer, cell._children["l_cell"], "l0")
        _copy_to_cell(layer, cell._children["r_cell"], "r0")
    else:
        cell = _init(rnn.LSTMCell(3, input_size=5))
        _copy_to_cell(layer, cell, "l0")
    cout, cstates = cell.unroll(4, x, layout="NTC", merge_outputs=True, valid_length=lengths)
    np.testing.assert_allclose(out.asnumpy(), cout.asnumpy(), rtol=1e-12, atol=1e-12)
    h = np.stack([s.asnumpy() for s in cstates[0::2]])
    np.testing.assert_allclose(states[0].asnumpy(), h, rtol=1e-12, atol=1e-12)
    assert np.all(out.asnumpy()[2, 1:] == 0)  # past the length: zero outputs


def test_valid_length_unmerged_outputs_and_gradient():
    rng = np.random.default_rng(6)
    cell = _init(rnn.GRUCell(2, input_size=3))
    steps = [mx.nd.array(rng.uniform(-1, 1, (2, 3)), dtype="float64") for _ in range(3)]
    for s in steps:
        s.attach_grad()
    lengths = mx.nd.array([1, 3], dtype="float64")
    with autograd.record():
        outs, states = cell.unroll(3, steps, layout="NTC", merge_outputs=False,
                                   valid_length=lengths)
        loss = sum(o.sum() for o in outs) + states[0].sum()
    loss.backward()
    assert isinstance(outs, list) and len(outs) == 3
    assert np.all(outs[1].asnumpy()[0] == 0) and np.all(outs[2].asnumpy()[0] == 0)
    # row 0 stops after one step: its later inputs get no gradient
    assert np.all(steps[2].grad.asnumpy()[0] == 0) and np.any(steps[2].grad.asnumpy()[1] != 0)


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_hybridized_equals_eager_with_gradients(mode):
    rng = np.random.default_rng(7)
    x = mx.nd.array(rng.uniform(-1, 1, (2, 5, 4)), dtype="float64")
    results = []
    for hybrid in (False, True):
        layer = _layer(mode, 3, num_layers=2, layout="NTC", bidirectional=True)
        layer.initialize(mx.init.Constant(0.1))
        layer.cast("float64")
        if hybrid:
            layer.hybridize()
        layer(x)  # finish deferred init
        for i, p in enumerate(layer.collect_params().values()):
            p.set_data(mx.nd.array(np.random.default_rng(i).uniform(-0.5, 0.5, p.shape),
                                   dtype="float64"))
        with autograd.record():
            out, states = layer(x, layer.begin_state(2, dtype="float64"))
            loss = (out * out).sum() + states[0].sum()
        loss.backward()
        results.append([out.asnumpy()] + [p.grad().asnumpy()
                                          for p in layer.collect_params().values()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_layer_names_shapes_and_deferred_init():
    layer = rnn.LSTM(10, num_layers=2, bidirectional=True)
    assert layer.prefix.startswith("lstm")
    names = list(layer.collect_params().keys())
    p = layer.prefix
    assert names[:4] == [p + "l0_i2h_weight", p + "l0_h2h_weight", p + "l0_i2h_bias",
                         p + "l0_h2h_bias"]
    assert p + "r1_h2h_bias" in names and len(names) == 16
    layer.initialize()
    out = layer(mx.nd.ones((7, 3, 6)))
    assert out.shape == (7, 3, 20)
    assert layer.l0_i2h_weight.shape == (40, 6) and layer.l1_i2h_weight.shape == (40, 20)
    assert layer.l0_h2h_weight.shape == (40, 10)
    assert repr(layer) == "LSTM(6 -> 10, TNC, num_layers=2, bidirectional)"
    states = layer.begin_state(3)
    assert [s.shape for s in states] == [(4, 3, 10), (4, 3, 10)]
    assert layer.state_info(3)[0]["__layout__"] == "LNC"
    with pytest.raises(MXNetError, match="Invalid recurrent state shape"):
        layer(mx.nd.ones((7, 3, 6)), [mx.nd.zeros((4, 2, 10)), mx.nd.zeros((4, 2, 10))])
    gru = rnn.GRU(5, input_size=4)
    assert gru.l0_i2h_weight.shape == (15, 4) and gru.prefix.startswith("gru")
    assert rnn.RNN(5).prefix.startswith("rnn")


def test_export_and_import_round_trip(tmp_path):
    rng = np.random.default_rng(8)
    layer = rnn.LSTM(4, num_layers=2, layout="NTC")
    layer.initialize(mx.init.Uniform(0.5))
    layer.hybridize()
    x = mx.nd.array(rng.uniform(-1, 1, (2, 3, 5)))
    want = layer(x).asnumpy()
    sym_file, params_file = layer.export(str(tmp_path / "lstm"))
    back = mx.gluon.SymbolBlock.imports(sym_file, ["data"], params_file)
    np.testing.assert_allclose(back(x).asnumpy(), want, rtol=1e-6, atol=1e-6)
    # the zero begin states follow the input's batch size: the graph runs at any batch size
    x5 = mx.nd.array(rng.uniform(-1, 1, (5, 3, 5)))
    np.testing.assert_allclose(back(x5).asnumpy(), layer(x5).asnumpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(back(x5).asnumpy()[:2], back(x5[:2]).asnumpy(), rtol=1e-6,
                               atol=1e-6)


class _UnrollNet(mx.gluon.HybridBlock):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.cell = rnn.GRUCell(3, input_size=2)

    def hybrid_forward(self, F, x):
        out, _ = self.cell.unroll(4, x, layout="NTC", merge_outputs=True)
        return out


def test_cell_unroll_inside_hybridized_block_any_batch():
    rng = np.random.default_rng(12)
    net = _UnrollNet()
    net.initialize(mx.init.Uniform(0.5))
    eager = [net(mx.nd.array(rng.uniform(-1, 1, (n, 4, 2)))) for n in (2, 5)]
    net.hybridize()
    rng = np.random.default_rng(12)
    for want, n in zip(eager, (2, 5)):
        got = net(mx.nd.array(rng.uniform(-1, 1, (n, 4, 2))))
        np.testing.assert_allclose(got.asnumpy(), want.asnumpy(), rtol=1e-6, atol=1e-6)


def test_layer_dropout_is_reproducible_and_only_in_training():
    rng = np.random.default_rng(9)
    layer = rnn.LSTM(8, num_layers=3, dropout=0.5)
    layer.initialize(mx.init.Uniform(0.5))
    x = mx.nd.array(rng.uniform(-1, 1, (5, 4, 6)))
    layer(x)  # deferred initialisation draws random numbers too: finish it first

    def train_out():
        with autograd.record():
            return layer(x).asnumpy()

    mx.random.seed(3)
    a = train_out()
    mx.random.seed(3)
    b = train_out()
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - train_out()).max() > 1e-4
    plain = layer(x).asnumpy()  # predict mode: no dropout, deterministic
    np.testing.assert_array_equal(plain, layer(x).asnumpy())
    assert np.abs(plain - a).max() > 1e-4


def test_modifier_cells():
    rng = np.random.default_rng(10)
    x = mx.nd.array(rng.uniform(-1, 1, (2, 3, 4)), dtype="float64")  # NTC
    base = _init(rnn.RNNCell(4, input_size=4))
    plain, _ = base.unroll(3, x, merge_outputs=True)
    res = rnn.ResidualCell(base)
    out, _ = res.unroll(3, x, merge_outputs=True)
    np.testing.assert_allclose(out.asnumpy(), plain.asnumpy() + x.asnumpy(), atol=1e-12)
    with pytest.raises(MXNetError, match="modifier"):
        base.begin_state(2)
    assert len(res.begin_state(batch_size=2)) == 1

    base2 = _init(rnn.LSTMCell(4, input_size=4))
    plain2, _ = base2.unroll(3, x, merge_outputs=True)
    zone = rnn.ZoneoutCell(base2, zoneout_outputs=0.5, zoneout_states=0.5)
    out2, _ = zone.unroll(3, x, merge_outputs=True)  # predict mode: no zoneout
    np.testing.assert_allclose(out2.asnumpy(), plain2.asnumpy(), atol=1e-12)
    with autograd.record():
        out3, _ = zone.unroll(3, x, merge_outputs=True)
    # while training each output is either the new one or the previous step's
    o3, p2 = out3.asnumpy(), plain2.asnumpy()
    assert np.any(o3 != p2)

    drop = rnn.DropoutCell(0.5)
    same, states = drop.unroll(3, x, merge_outputs=True)
    np.testing.assert_array_equal(same.asnumpy(), x.asnumpy())
    assert states == [] and drop.state_info() == []
    with autograd.record():
        dropped, _ = drop.unroll(3, x, merge_outputs=True)
    kept = dropped.asnumpy() != 0
    np.testing.assert_allclose(dropped.asnumpy()[kept], 2 * x.asnumpy()[kept])

    with pytest.raises(NotImplementedError):
        rnn.BidirectionalCell(rnn.GRUCell(2), rnn.GRUCell(2))(x[:, 0], [])


def test_sequential_cell_steps_and_begin_state():
    stack = rnn.SequentialRNNCell()
    stack.add(rnn.LSTMCell(3, input_size=2))
    stack.add(rnn.DropoutCell(0.0))
    stack.add(rnn.GRUCell(2, input_size=3))
    stack.initialize()
    states = stack.begin_state(batch_size=4)
    assert [s.shape for s in states] == [(4, 3), (4, 3), (4, 2)]
    out, new = stack(mx.nd.ones((4, 2)), states)
    assert out.shape == (4, 2) and [s.shape for s in new] == [(4, 3), (4, 3), (4, 2)]
    outs, _ = stack.unroll(5, mx.nd.ones((5, 4, 2)), layout="TNC", merge_outputs=False)
    assert len(outs) == 5 and outs[0].shape == (4, 2)


def test_cell_in_symbol_mode():
    cell = rnn.LSTMCell(3, input_size=2, prefix="l_")
    outs, states = cell.unroll(4, mx.sym.var("data"), layout="NTC", merge_outputs=True)
    args = outs.list_arguments()
    assert "data" in args and "l_i2h_weight" in args and "l_h2h_bias" in args
    _, shapes, _ = outs.infer_shape(data=(2, 4, 2), l_i2h_weight=(12, 2), l_h2h_weight=(12, 3),
                                    l_i2h_bias=(12,), l_h2h_bias=(12,))
    assert shapes == [(2, 4, 3)]
    bi = rnn.BidirectionalCell(rnn.GRUCell(3, input_size=2, prefix="f_"),
                               rnn.GRUCell(3, input_size=2, prefix="b_"))
    outs, states = bi.unroll(4, mx.sym.var("data"), layout="TNC", merge_outputs=True,
                             valid_length=mx.sym.var("len"))
    known = {f"{d}_{k}": s for d in "fb" for k, s in
             [("i2h_weight", (9, 2)), ("h2h_weight", (9, 3)), ("i2h_bias", (9,)),
              ("h2h_bias", (9,))]}
    _, shapes, _ = outs.infer_shape(data=(4, 5, 2), len=(5,), **known)
    assert shapes == [(4, 5, 6)]


def test_layer_on_every_backend(ctx):
    """A small bidirectional GRU forward and backward on each backend equals NumPy's."""
    rng = np.random.default_rng(11)
    x_np = rng.uniform(-1, 1, (3, 2, 3)).astype(np.float32)
    results = []
    for c in (mx.cpu(), ctx):
        layer = rnn.GRU(2, bidirectional=True, input_size=3, prefix="g_")
        layer.initialize(mx.init.Constant(0.0), ctx=c)
        for i, p in enumerate(layer.collect_params().values()):
            p.set_data(mx.nd.array(np.random.default_rng(i).uniform(-0.5, 0.5, p.shape), ctx=c))
        x = mx.nd.array(x_np, ctx=c)
        with autograd.record():
            out = layer(x)
            loss = (out * out).sum()
        loss.backward()
        results.append([out.asnumpy(), layer.l0_i2h_weight.grad(c).asnumpy(),
                        layer.r0_h2h_bias.grad(c).asnumpy()])
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_dropout_hybridized_equals_eager_under_seed():
    """The same seed gives the same dropout masks eagerly and in the hybridized graph, and the
    gradients use the masks of the forward."""
    x = mx.nd.array(np.random.default_rng(13).uniform(-1, 1, (4, 3, 5)), dtype="float64")
    results = []
    for hybrid in (False, True):
        layer = rnn.GRU(4, num_layers=3, dropout=0.4, prefix="g_")
        layer.initialize(mx.init.Uniform(0.5))
        layer.cast("float64")
        layer(x)
        for i, p in enumerate(layer.collect_params().values()):
            p.set_data(mx.nd.array(np.random.default_rng(i).uniform(-0.5, 0.5, p.shape),
                                   dtype="float64"))
        if hybrid:
            layer.hybridize()
            with autograd.record():
                layer(x)  # trace the training graph first
        mx.random.seed(5)
        with autograd.record():
            y = layer(x)
            loss = (y * y).sum()
        loss.backward()
        results.append([y.asnumpy()] + [p.grad().asnumpy()
                                        for p in layer.collect_params().values()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# -- MXNet documentation conformance (test_gluon_rnn.py of MXNet 1.x) ---------------------------
@pytest.mark.parametrize("cell_type", [rnn.RNNCell, rnn.LSTMCell, rnn.GRUCell])
def test_unrolled_cell_outputs_are_named_per_step_as_mxnet(cell_type):
    cell = cell_type(100, prefix="rnn_")
    inputs = [mx.sym.Variable(f"rnn_t{i}_data") for i in range(3)]
    outputs, _ = cell.unroll(3, inputs)
    outputs = mx.sym.Group(outputs)
    assert outputs.list_outputs() == ["rnn_t0_out_output", "rnn_t1_out_output",
                                      "rnn_t2_out_output"]
    _, outs, _ = outputs.infer_shape(rnn_t0_data=(10, 50), rnn_t1_data=(10, 50),
                                     rnn_t2_data=(10, 50))
    assert outs == [(10, 100)] * 3


def test_stacked_cell_outputs_named_after_the_last_cell():
    cell = rnn.SequentialRNNCell()
    for i in range(3):
        inner = rnn.LSTMCell(8, prefix=f"rnn_stack{i}_")
        cell.add(rnn.ResidualCell(inner) if i == 1 else inner)
    outputs, _ = cell.unroll(2, [mx.sym.Variable(f"rnn_t{i}_data") for i in range(2)])
    assert mx.sym.Group(outputs).list_outputs() == ["rnn_stack2_t0_out_output",
                                                    "rnn_stack2_t1_out_output"]


def test_cell_reprs_and_assert_errors_as_mxnet():
    assert repr(rnn.RNNCell(10)) == "RNNCell(None -> 10, tanh)"
    assert repr(rnn.RNNCell(10, activation="relu", input_size=3)) == "RNNCell(3 -> 10, relu)"
    seq = rnn.SequentialRNNCell()
    seq.add(rnn.LSTMCell(3))
    seq.add(rnn.GRUCell(3))
    assert repr(seq) == "SequentialRNNCell(\n(0): LSTMCell(None -> 12)\n(1): GRUCell(None -> 9)\n)"
    base = rnn.RNNCell(4)
    rnn.ZoneoutCell(base, 0.5, 0.5)
    # MXNet checks these with `assert`: AssertionError there, and a ValueError here too
    with pytest.raises(AssertionError):
        base.begin_state(batch_size=2)
    with pytest.raises(AssertionError):
        rnn.ResidualCell(base)
    with pytest.raises(AssertionError):
        rnn.DropoutCell("0.5")
    with pytest.raises(ValueError):
        rnn.LSTM(4, layout="CTN")


def test_cell_with_activation_block_unrolls():
    cell = rnn.RNNCell(5, activation=mx.gluon.nn.LeakyReLU(0.1))
    cell.initialize()
    x = mx.nd.array(np.random.RandomState(0).uniform(-1, 1, (2, 3, 4)))
    out, _ = cell.unroll(3, x, merge_outputs=True)
    # step 0 from zero states: leaky(W x + b) with zero biases
    pre = x[:, 0].asnumpy() @ cell.i2h_weight.data().asnumpy().T
    np.testing.assert_allclose(out[:, 0].asnumpy(), np.where(pre > 0, pre, 0.1 * pre),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_layer_inside_hybridized_parent_infers_its_input_size(bidirectional):
    # MXNet's test_rnn_layers: LSTM (input size deferred) inside a hybridized Sequential
    net = mx.gluon.nn.HybridSequential()
    with net.name_scope():
        net.add(rnn.LSTM(6, num_layers=2, layout="NTC", bidirectional=bidirectional))
        net.add(mx.gluon.nn.Dense(3, flatten=False))
    net.initialize()
    net.hybridize()
    x = mx.nd.array(np.random.RandomState(2).uniform(-1, 1, (2, 5, 4)))
    out = net(x)
    lstm = net[0]
    assert lstm.l0_i2h_weight.shape == (24, 4)
    assert lstm.l1_i2h_weight.shape == (24, 6 * (2 if bidirectional else 1))
    net.hybridize(False)
    np.testing.assert_allclose(out.asnumpy(), net(x).asnumpy(), rtol=1e-5, atol=1e-6)


class _BiLSTM(mx.gluon.nn.HybridBlock):
    """MXNet's test_bidirectional_unroll_valid_length network."""

    def __init__(self, rnn_size, time_step, **kwargs):
        super().__init__(**kwargs)
        self.time_step = time_step
        with self.name_scope():
            self.bi_lstm = rnn.BidirectionalCell(rnn.LSTMCell(rnn_size, prefix="rnn_l0_"),
                                                 rnn.LSTMCell(rnn_size, prefix="rnn_r0_"),
                                                 output_prefix="lstm_bi_")

    def hybrid_forward(self, F, inputs, valid_len):
        return self.bi_lstm.unroll(self.time_step, inputs, valid_length=valid_len,
                                   layout="NTC", merge_outputs=True)


@pytest.mark.parametrize("length", [1, 3])
def test_bidirectional_unroll_valid_length_in_hybridized_block(length):
    # the cells' input size is inferred by the parent's shape trace, before any cell ran
    rs = np.random.RandomState(4)
    x = mx.nd.array(rs.uniform(size=(4, length, 5)))
    valid = mx.nd.array([length, 1, length, 1])
    net = _BiLSTM(6, length)
    net.initialize()
    net.hybridize()
    out, states = net(x, valid)
    assert out.shape == (4, length, 12) and len(states) == 4
    net.hybridize(False)
    eager, _ = net(x, valid)
    np.testing.assert_allclose(out.asnumpy(), eager.asnumpy(), rtol=1e-5, atol=1e-6)
    if length > 1:  # steps past a sequence's length are zero
        assert np.abs(out[1, 1:].asnumpy()).max() == 0
