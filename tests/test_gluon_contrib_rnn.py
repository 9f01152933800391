"""``gluon.contrib.rnn``: the convolutional cells (shapes and names, one step against a direct
NumPy convolution, channel-last layouts, hybridize == eager), LSTMPCell against a NumPy
recurrence and finite differences, and VariationalDropoutCell's shared masks."""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.base import MXNetError
from mxplug.gluon import rnn
from mxplug.gluon.contrib import rnn as crnn
from mxplug.test_utils import assert_almost_equal, check_numeric_gradient


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_conv(x, w, b, pad, dilate):
    """Stride-1 convolution, channel-first: x (N, C, *S), w (O, C, *K), written out as a sum
    over the kernel taps."""
    nsp = x.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    out_size = [xp.shape[2 + i] - dilate[i] * (w.shape[2 + i] - 1) for i in range(nsp)]
    out = np.zeros((x.shape[0], w.shape[0], *out_size))
    for taps in np.ndindex(*w.shape[2:]):
        window = tuple(slice(k * d, k * d + o) for k, d, o in zip(taps, dilate, out_size))
        patch = xp[(slice(None), slice(None)) + window]
        out += np.einsum("nc...,oc->no...", patch, w[(slice(None), slice(None)) + taps])
    return out + b.reshape((1, -1) + (1,) * nsp)


def _init(cell, dtype="float64"):
    cell.initialize(mx.init.Uniform(0.3))
    if dtype != "float32":
        cell.cast(dtype)
    return cell


def _p(cell, name):
    return getattr(cell, name).data().asnumpy()


def _nd(x):
    return mx.nd.array(x, dtype="float64")


CONV_CELLS = [(crnn.Conv1DRNNCell, (3, 10), 1, "conv_rnn"),
              (crnn.Conv2DRNNCell, (3, 8, 6), 1, "conv_rnn"),
              (crnn.Conv3DRNNCell, (2, 4, 5, 3), 1, "conv_rnn"),
              (crnn.Conv1DLSTMCell, (3, 10), 2, "conv_lstm"),
              (crnn.Conv2DLSTMCell, (3, 8, 6), 2, "conv_lstm"),
              (crnn.Conv3DLSTMCell, (2, 4, 5, 3), 2, "conv_lstm"),
              (crnn.Conv1DGRUCell, (3, 10), 1, "conv_gru"),
              (crnn.Conv2DGRUCell, (3, 8, 6), 1, "conv_gru"),
              (crnn.Conv3DGRUCell, (2, 4, 5, 3), 1, "conv_gru")]


@pytest.mark.parametrize("cls, in_shape, nstates, alias", CONV_CELLS)
def test_conv_cell_shapes_and_names(cls, in_shape, nstates, alias):
    dims = len(in_shape) - 1
    cell = cls(in_shape, 4, i2h_kernel=3, h2h_kernel=3, i2h_pad=1)
    assert cell.prefix.startswith(alias) and cell.prefix.endswith("_")
    gates = {"conv_rnn": 1, "conv_lstm": 4, "conv_gru": 3}[alias]
    assert cell.i2h_weight.shape == (4 * gates, in_shape[0]) + (3,) * dims
    assert cell.h2h_weight.shape == (4 * gates, 4) + (3,) * dims
    assert cell.i2h_bias.shape == (4 * gates,)
    assert sorted(cell.collect_params()) == sorted(
        f"{cell.prefix}{n}" for n in ("i2h_weight", "h2h_weight", "i2h_bias", "h2h_bias"))
    state = (2, 4) + in_shape[1:]
    assert cell.state_info(2) == [{"shape": state, "__layout__": cell._conv_layout}] * nstates
    _init(cell, "float32")
    x = mx.nd.random.uniform(shape=(2, 3) + in_shape)  # NTC: (batch, time, C, *spatial)
    out, states = cell.unroll(3, x, layout="NTC", merge_outputs=True)
    assert out.shape == (2, 3, 4) + in_shape[1:]
    assert [s.shape for s in states] == [state] * nstates
    # no padding: the state shrinks by the kernel, and so does a 'valid' unroll's output
    cell2 = cls(in_shape, 2, i2h_kernel=3, h2h_kernel=1)
    assert cell2.state_info(1)[0]["shape"] == (1, 2) + tuple(d - 2 for d in in_shape[1:])


def test_conv2d_lstm_step_against_numpy():
    rng = np.random.RandomState(0)
    cell = _init(crnn.Conv2DLSTMCell((3, 7, 6), 2, i2h_kernel=(3, 2), h2h_kernel=3,
                                     i2h_pad=(1, 0), i2h_dilate=(1, 2), h2h_dilate=(2, 1)))
    state_shape = cell.state_info(2)[0]["shape"]
    assert state_shape == (2, 2, 7, 4)
    x, h, c = rng.randn(2, 3, 7, 6), rng.randn(*state_shape), rng.randn(*state_shape)
    out, (nh, nc) = cell(_nd(x), [_nd(h), _nd(c)])
    gates = (np_conv(x, _p(cell, "i2h_weight"), _p(cell, "i2h_bias"), (1, 0), (1, 2))
             + np_conv(h, _p(cell, "h2h_weight"), _p(cell, "h2h_bias"), (2, 1), (2, 1)))
    i, f, g, o = np.split(gates, 4, axis=1)
    want_c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    want_h = _sigmoid(o) * np.tanh(want_c)
    assert_almost_equal(nc.asnumpy(), want_c, rtol=1e-10, atol=1e-12)
    assert_almost_equal(out.asnumpy(), want_h, rtol=1e-10, atol=1e-12)
    assert_almost_equal(nh.asnumpy(), want_h)


@pytest.mark.parametrize("kind", ["gru", "rnn"])
def test_conv1d_gru_rnn_step_against_numpy(kind):
    rng = np.random.RandomState(1)
    cls = crnn.Conv1DGRUCell if kind == "gru" else crnn.Conv1DRNNCell
    cell = _init(cls((2, 9), 3, i2h_kernel=3, h2h_kernel=5, activation="relu"
                     if kind == "rnn" else "tanh"))
    x, h = rng.randn(4, 2, 9), rng.randn(4, 3, 7)
    out, (nh,) = cell(_nd(x), [_nd(h)])
    i2h = np_conv(x, _p(cell, "i2h_weight"), _p(cell, "i2h_bias"), (0,), (1,))
    h2h = np_conv(h, _p(cell, "h2h_weight"), _p(cell, "h2h_bias"), (2,), (1,))
    if kind == "rnn":
        want = np.maximum(i2h + h2h, 0)
    else:
        ir, iz, in_ = np.split(i2h, 3, axis=1)
        hr, hz, hn = np.split(h2h, 3, axis=1)
        r, z = _sigmoid(ir + hr), _sigmoid(iz + hz)
        want = (1 - z) * np.tanh(in_ + r * hn) + z * h
    assert_almost_equal(out.asnumpy(), want, rtol=1e-10, atol=1e-12)
    assert_almost_equal(nh.asnumpy(), want)


def test_channel_last_layout_equals_channel_first():
    rng = np.random.RandomState(2)
    first = _init(crnn.Conv2DGRUCell((3, 6, 5), 2, i2h_kernel=3, h2h_kernel=3, i2h_pad=1))
    last = _init(crnn.Conv2DGRUCell((6, 5, 3), 2, i2h_kernel=3, h2h_kernel=3, i2h_pad=1,
                                    conv_layout="NHWC"))
    assert last.i2h_weight.shape == (6, 3, 3, 3) and last.state_info(1)[0]["shape"] == (1, 6, 5, 2)
    for name in ("i2h_weight", "h2h_weight"):
        getattr(last, name).set_data(_nd(_p(first, name).transpose(0, 2, 3, 1)))
    for name in ("i2h_bias", "h2h_bias"):
        getattr(last, name).set_data(_nd(_p(first, name)))
    x = rng.randn(2, 4, 3, 6, 5)  # NTCHW
    out_f, _ = first.unroll(4, _nd(x), layout="NTC", merge_outputs=True)
    out_l, _ = last.unroll(4, _nd(x.transpose(0, 1, 3, 4, 2)), layout="NTC",
                           merge_outputs=True)
    assert_almost_equal(out_l.asnumpy(), out_f.asnumpy().transpose(0, 1, 3, 4, 2), rtol=1e-10)


def test_conv_cell_hybridized_equals_eager_with_gradients():
    rng = np.random.RandomState(3)
    x = _nd(rng.randn(3, 2, 2, 5, 4))  # TNC...
    results = []
    for hybridize in (False, True):
        cell = crnn.Conv2DLSTMCell((2, 5, 4), 3, i2h_kernel=3, h2h_kernel=3, i2h_pad=1,
                                   prefix="clstm_")
        _init(cell)
        cell.i2h_weight.set_data(_nd(np.linspace(-0.3, 0.3, 12 * 2 * 9).reshape(12, 2, 3, 3)))
        cell.h2h_weight.set_data(_nd(np.linspace(0.2, -0.2, 12 * 3 * 9).reshape(12, 3, 3, 3)))
        if hybridize:
            cell.hybridize()
        with autograd.record():
            out, _ = cell.unroll(3, x, layout="TNC", merge_outputs=True)
            loss = (out * out).sum()
        loss.backward()
        results.append((out.asnumpy(), cell.i2h_weight.grad().asnumpy()))
    assert_almost_equal(results[0][0], results[1][0], rtol=1e-10)
    assert_almost_equal(results[0][1], results[1][1], rtol=1e-10)


def test_conv_cell_errors():
    with pytest.raises(MXNetError, match="Only support odd"):
        crnn.Conv2DRNNCell((3, 8, 8), 2, i2h_kernel=3, h2h_kernel=(3, 2))
    with pytest.raises(MXNetError, match=r"Conv2DLSTMCell: input_shape .* got \(8, 8\)"):
        crnn.Conv2DLSTMCell((8, 8), 2, i2h_kernel=3, h2h_kernel=3)
    with pytest.raises(MXNetError, match="list/tuple of length 3"):
        crnn.Conv3DGRUCell((1, 4, 4, 4), 2, i2h_kernel=(3, 3), h2h_kernel=3)
    with pytest.raises(MXNetError, match="conv_layout must be one of"):
        crnn.Conv1DRNNCell((3, 8), 2, i2h_kernel=3, h2h_kernel=3, conv_layout="NCHW")
    with pytest.raises(MXNetError, match="empty state"):
        crnn.Conv1DRNNCell((3, 2), 2, i2h_kernel=5, h2h_kernel=3)


def test_contrib_rnn_is_reachable_lazily():
    assert mx.gluon.contrib.rnn.LSTMPCell is crnn.LSTMPCell
    assert "rnn" in mx.gluon.contrib.__all__


# -- LSTMPCell -----------------------------------------------------------------------------------
def np_lstmp(xs, r, c, p):
    out = []
    for x in xs:
        g = x @ p["i2h_weight"].T + p["i2h_bias"] + r @ p["h2h_weight"].T + p["h2h_bias"]
        i, f, gg, o = np.split(g, 4, axis=1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(gg)
        r = (_sigmoid(o) * np.tanh(c)) @ p["h2r_weight"].T
        out.append(r)
    return np.stack(out), r, c


def test_lstmp_against_numpy():
    rng = np.random.RandomState(4)
    cell = crnn.LSTMPCell(6, 3, prefix="lstmp_")
    assert repr(cell) == "LSTMPCell(None -> 24 -> 3)"
    assert cell.state_info(5) == [{"shape": (5, 3), "__layout__": "NC"},
                                  {"shape": (5, 6), "__layout__": "NC"}]
    _init(cell)
    x = rng.randn(4, 5, 2)
    out, (r, c) = cell.unroll(4, _nd(x), layout="TNC", merge_outputs=True)
    assert sorted(cell.collect_params()) == [f"lstmp_{n}" for n in (
        "h2h_bias", "h2h_weight", "h2r_weight", "i2h_bias", "i2h_weight")]
    assert cell.i2h_weight.shape == (24, 2) and cell.h2h_weight.shape == (24, 3)
    assert cell.h2r_weight.shape == (3, 6)
    p = {n: _p(cell, n) for n in ("i2h_weight", "i2h_bias", "h2h_weight", "h2h_bias",
                                  "h2r_weight")}
    want, wr, wc = np_lstmp(x, np.zeros((5, 3)), np.zeros((5, 6)), p)
    assert_almost_equal(out.asnumpy(), want, rtol=1e-10, atol=1e-12)
    assert_almost_equal(r.asnumpy(), wr, rtol=1e-10, atol=1e-12)
    assert_almost_equal(c.asnumpy(), wc, rtol=1e-10, atol=1e-12)


def test_lstmp_numeric_gradient():
    rng = np.random.RandomState(5)
    cell = crnn.LSTMPCell(3, 2, prefix="lstmp_")
    out, _ = cell(mx.sym.Variable("x"), [mx.sym.Variable("r"), mx.sym.Variable("c")])
    assert out.name == "lstmp_t0_out"
    names = out.list_arguments()
    shapes, _, _ = out.infer_shape(x=(2, 4), r=(2, 2), c=(2, 3))
    loc = {n: rng.uniform(-0.8, 0.8, s) for n, s in zip(names, shapes)}
    check_numeric_gradient(out, loc, numeric_eps=1e-6, rtol=1e-4, atol=1e-7, dtype=np.float64)


# -- VariationalDropoutCell ----------------------------------------------------------------------
def _vd(base, **rates):
    cell = crnn.VariationalDropoutCell(base, **rates)
    _init(cell)
    return cell


def test_variational_dropout_is_identity_outside_training():
    rng = np.random.RandomState(6)
    x = _nd(rng.randn(3, 4, 5))
    base = rnn.GRUCell(4, prefix="g_")
    cell = _vd(base, drop_inputs=0.5, drop_states=0.5, drop_outputs=0.5)
    assert repr(cell) == "VariationalDropoutCell(p_out = 0.5, p_state = 0.5)"
    assert cell.prefix == "g_vardrop"
    out, _ = cell.unroll(4, x, layout="NTC", merge_outputs=True)
    base._modified = False
    ref, _ = base.unroll(4, x, layout="NTC", merge_outputs=True)
    assert_almost_equal(out.asnumpy(), ref.asnumpy())


def test_variational_dropout_shares_masks_across_steps():
    mx.random.seed(7)
    x = _nd(np.ones((4, 6, 5)))  # (batch, time, channel)
    # whole-sequence path (no state dropout): one output mask for all steps
    cell = _vd(rnn.RNNCell(50, prefix="r_"), drop_outputs=0.5)
    with autograd.record():
        out, _ = cell.unroll(6, x, layout="NTC", merge_outputs=True)
    zeros = out.asnumpy() == 0
    assert zeros.any() and not zeros.all()
    assert (zeros == zeros[:, :1]).all()  # the same units dropped at every step

    # stepping path (state dropout): the masks drawn at the first step are reused
    base = rnn.RNNCell(5, prefix="s_")
    cell = _vd(base, drop_inputs=0.4, drop_states=0.4)
    xs = np.random.RandomState(8).randn(4, 6, 5)
    with autograd.record():
        out, _ = cell.unroll(6, _nd(xs), layout="NTC", merge_outputs=True)
    m_in, m_s = cell.drop_inputs_mask.asnumpy(), cell.drop_states_mask.asnumpy()
    assert set(np.unique(m_in)) <= {0.0, 1 / 0.6} and (m_in == 0).any()
    p = {n: _p(base, n) for n in ("i2h_weight", "i2h_bias", "h2h_weight", "h2h_bias")}
    h, want = np.zeros((4, 5)), []
    for t in range(6):
        h = np.tanh((xs[:, t] * m_in) @ p["i2h_weight"].T + p["i2h_bias"]
                    + (h * m_s) @ p["h2h_weight"].T + p["h2h_bias"])
        want.append(h)
    assert_almost_equal(out.asnumpy(), np.stack(want, axis=1), rtol=1e-10, atol=1e-12)
    cell.reset()
    assert cell.drop_inputs_mask is None and cell.drop_states_mask is None


def test_variational_dropout_errors():
    bi = rnn.BidirectionalCell(rnn.LSTMCell(3), rnn.LSTMCell(3))
    with pytest.raises(MXNetError, match="variational state dropout"):
        crnn.VariationalDropoutCell(bi, drop_states=0.5)
    stack = rnn.SequentialRNNCell()
    stack.add(rnn.BidirectionalCell(rnn.LSTMCell(3), rnn.LSTMCell(3)))
    with pytest.raises(MXNetError, match="variational state dropout"):
        crnn.VariationalDropoutCell(stack, drop_states=0.5)
    crnn.VariationalDropoutCell(bi, drop_inputs=0.5)  # inputs/outputs only: fine
    with pytest.raises(MXNetError, match=r"drop_outputs must be a number in \[0, 1\)"):
        crnn.VariationalDropoutCell(rnn.GRUCell(2), drop_outputs=1.5)


# -- dynamic_unroll ------------------------------------------------------------------------------
class _Loop(mx.gluon.HybridBlock):
    def __init__(self):
        super().__init__()
        with self.name_scope():
            self.cell = rnn.GRUCell(4, input_size=2)

    def hybrid_forward(self, F, x, valid_length):
        begin = [F.zeros((3, 4), dtype="float64")]
        return crnn.dynamic_unroll(self.cell, x, begin, layout="TNC",
                                   valid_length=valid_length)[0]


def test_dynamic_unroll_equals_unroll():
    rng = np.random.RandomState(9)
    cell = _init(rnn.LSTMCell(4, input_size=2, prefix="l_"))
    x, vl = _nd(rng.randn(5, 3, 2)), _nd([5, 2, 3])
    begin = [_nd(rng.randn(3, 4)), _nd(rng.randn(3, 4))]
    out, states = crnn.dynamic_unroll(cell, x, begin, layout="TNC", valid_length=vl)
    ref, ref_states = cell.unroll(5, x, begin, layout="TNC", merge_outputs=True,
                                  valid_length=vl)
    assert_almost_equal(out.asnumpy(), ref.asnumpy())
    for s, r in zip(states, ref_states):
        assert_almost_equal(s.asnumpy(), r.asnumpy())
    out, _ = crnn.dynamic_unroll(cell, x.swapaxes(0, 1), begin, layout="NTC")
    ref, _ = cell.unroll(5, x.swapaxes(0, 1), begin, layout="NTC", merge_outputs=True)
    assert_almost_equal(out.asnumpy(), ref.asnumpy())
    net = _Loop()
    _init(net)
    eager = net(x, vl).asnumpy()
    net.hybridize()
    assert_almost_equal(net(x, vl).asnumpy(), eager)
    assert (eager[2:, 1] == 0).all() and (eager[3:, 2] == 0).all()
