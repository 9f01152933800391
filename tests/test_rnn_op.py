"""The fused ``RNN`` op against an independent NumPy reference (a plain loop over layers,
directions, batch rows and steps, one gate matrix at a time), gradients by finite differences,
and the reference's complex-step gradients for ``_backward_RNN``; ``SequenceMask``/``Last``/
``Reverse`` against per-row loops.

The references live in ``tests/references/rnn.py``, where the generic op suite
(``tests/test_ops.py``) reads them too.
"""

from __future__ import annotations

import numpy as np
import pytest

import mxplug as mx
from mxplug import autograd
from mxplug.base import MXNetError
from mxplug.ops import REGISTRY, apply
from mxplug.ops.rnn import param_size

from .references.rnn import (
    reference_rnn,
    reference_rnn_backward,
    reference_sequence_last,
    reference_sequence_mask,
    reference_sequence_reverse,
)


# -- helpers ---------------------------------------------------------------------------------------
def _inputs(rng, mode, t=3, n=2, c=3, h=2, layers=1, bidirectional=False, lengths=None):
    d = 2 if bidirectional else 1
    ins = [rng.uniform(-1, 1, (t, n, c)),
           rng.uniform(-0.6, 0.6, (param_size(mode, h, layers, c, bidirectional),)),
           rng.uniform(-1, 1, (layers * d, n, h))]
    if mode == "lstm":
        ins.append(rng.uniform(-1, 1, (layers * d, n, h)))
    attrs = dict(state_size=h, num_layers=layers, bidirectional=bidirectional, mode=mode,
                 state_outputs=True)
    if lengths is not None:
        ins.append(np.array(lengths, dtype=np.float64))
        attrs["use_sequence_length"] = True
    return ins, attrs


def _run(ins, attrs, ctx, dtype="float64"):
    nd = [mx.nd.array(a, ctx=ctx, dtype=dtype) for a in ins]
    return [o.asnumpy() for o in mx.nd.RNN(*nd, **attrs)]


def _fd_check(ins, attrs, ctx, rng, eps=1e-6, tol=1e-6):
    """Gradients (on ``ctx``) of a random projection of every output vs central differences
    (float64, evaluated on NumPy: one forward per perturbation is cheap there)."""
    ndiff = len(ins) - bool(attrs.get("use_sequence_length"))
    nd = [mx.nd.array(a, ctx=ctx, dtype="float64") for a in ins]
    for a in nd[:ndiff]:
        a.attach_grad()
    outs_np = _run(ins, attrs, ctx)
    ws = [rng.uniform(-1, 1, o.shape) for o in outs_np]
    with autograd.record():
        outs = mx.nd.RNN(*nd, **attrs)
        loss = sum((o * mx.nd.array(w, ctx=ctx, dtype="float64")).sum() for o, w in zip(outs, ws))
    loss.backward()

    def f(arrays):
        return sum(float(np.sum(o * w)) for o, w in zip(_run(arrays, attrs, mx.cpu()), ws))

    for i in range(ndiff):
        num = np.zeros(ins[i].shape)
        for j in range(ins[i].size):
            plus = [a.copy() for a in ins]
            minus = [a.copy() for a in ins]
            plus[i].flat[j] += eps
            minus[i].flat[j] -= eps
            num.flat[j] = (f(plus) - f(minus)) / (2 * eps)
        np.testing.assert_allclose(nd[i].grad.asnumpy(), num, rtol=tol, atol=tol,
                                   err_msg=f"{attrs['mode']}: gradient of input {i}")


# -- tests -----------------------------------------------------------------------------------------
MODES = ["lstm", "gru", "rnn_tanh", "rnn_relu"]


@pytest.mark.parametrize("mode", MODES)
def test_forward_matches_reference_numpy(mode):
    rng = np.random.default_rng(1)
    for kw in (dict(), dict(layers=2, bidirectional=True), dict(lengths=[3, 1], layers=2),
               dict(lengths=[2, 3], bidirectional=True)):
        ins, attrs = _inputs(rng, mode, **kw)
        got = _run(ins, attrs, mx.cpu())
        want = reference_rnn(*ins, **attrs)
        for k, (g, w) in enumerate(zip(got, want)):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12, err_msg=f"{kw} output {k}")


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_forward_matches_reference_every_backend(ctx, mode):
    rng = np.random.default_rng(2)
    ins, attrs = _inputs(rng, mode, layers=2, bidirectional=True, lengths=[3, 2])
    got = _run(ins, attrs, ctx, dtype="float32")
    want = reference_rnn(*ins, **attrs)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", MODES)
def test_gradients_by_finite_differences(mode):
    rng = np.random.default_rng(3)
    _fd_check(*_inputs(rng, mode, layers=2, bidirectional=True), mx.cpu(), rng)
    _fd_check(*_inputs(rng, mode, lengths=[1, 3], bidirectional=True), mx.cpu(), rng)


def test_gradients_every_backend(ctx):
    rng = np.random.default_rng(4)
    _fd_check(*_inputs(rng, "lstm", t=2, c=2, lengths=[2, 1]), ctx, rng, tol=1e-5)


def test_saved_forward_and_recomputed_backward_agree():
    """The NumPy backward reads what its forward kept; without it (another output) it runs
    the forward again. Both give the same gradients."""
    rng = np.random.default_rng(5)
    ins, attrs = _inputs(rng, "gru", layers=2, bidirectional=True)
    nd = [mx.nd.array(a, dtype="float64") for a in ins]
    for a in nd:
        a.attach_grad()
    with autograd.record():
        outs = mx.nd.RNN(*nd, **attrs)
    gs = [mx.nd.array(rng.uniform(-1, 1, o.shape), dtype="float64") for o in outs]
    autograd.backward(list(outs), gs)
    fresh = mx.nd.array(outs[0].asnumpy(), dtype="float64")  # same values, no record
    op = REGISTRY["_backward_RNN"]
    again = apply(op, *gs, *nd, fresh, **op.parse_attrs(attrs))
    for a, g in zip(nd, again):
        np.testing.assert_allclose(a.grad.asnumpy(), g.asnumpy(), rtol=1e-12, atol=1e-12)


def test_backward_op_matches_complex_step_reference():
    rng = np.random.default_rng(6)
    ins, attrs = _inputs(rng, "lstm", bidirectional=True, lengths=[3, 2])
    outs = reference_rnn(*ins, **attrs)
    gs = [rng.uniform(-1, 1, o.shape) for o in outs]
    op = REGISTRY["_backward_RNN"]
    nd = [mx.nd.array(a, dtype="float64") for a in gs + ins + [outs[0]]]
    got = apply(op, *nd, **op.parse_attrs(attrs))
    want = reference_rnn_backward(*gs, *ins, outs[0], **attrs)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.asnumpy(), w, rtol=1e-10, atol=1e-12)


def test_dropout_between_layers_is_reproducible():
    rng = np.random.default_rng(7)
    ins, attrs = _inputs(rng, "lstm", t=4, n=3, c=3, h=4, layers=3)
    attrs["p"] = 0.5
    nd = [mx.nd.array(a) for a in ins]

    def run():
        with autograd.train_mode():
            return mx.nd.RNN(*nd, **attrs)[0].asnumpy()

    mx.random.seed(11)
    a = run()
    mx.random.seed(11)
    b = run()
    c = run()
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-4  # a fresh draw differs
    inference = mx.nd.RNN(*nd, **attrs)[0].asnumpy()  # not training: no dropout
    np.testing.assert_allclose(inference, reference_rnn(*ins, **attrs)[0], rtol=1e-5, atol=1e-6)


def test_dropout_masks_follow_the_reference():
    """``_RNN`` with explicit masks equals the reference with the same masks."""
    rng = np.random.default_rng(8)
    ins, attrs = _inputs(rng, "gru", layers=3, bidirectional=True)
    masks = (rng.uniform(0, 1, (2, 3, 2, 4)) < 0.6) / 0.6
    op = REGISTRY["_RNN"]
    got = apply(op, *[mx.nd.array(a, dtype="float64") for a in ins + [masks]],
                **op.parse_attrs(attrs))
    want = reference_rnn(*ins, masks, masks=True, **attrs)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.asnumpy(), w, rtol=1e-12, atol=1e-12)


def test_symbol_infers_parameter_and_state_shapes():
    data, params = mx.sym.var("data"), mx.sym.var("params")
    h0, c0 = mx.sym.var("h0"), mx.sym.var("c0")
    out = mx.sym.RNN(data, params, h0, c0, state_size=5, num_layers=2, bidirectional=True,
                     mode="lstm", state_outputs=True)
    args, outs, _ = out.infer_shape(data=(7, 3, 4))
    shapes = dict(zip(out.list_arguments(), args))
    assert shapes["params"] == (param_size("lstm", 5, 2, 4, True),)
    assert shapes["h0"] == shapes["c0"] == (4, 3, 5)
    assert outs == [(7, 3, 10), (4, 3, 5), (4, 3, 5)]


def test_errors_name_what_is_wrong():
    x, h = mx.nd.zeros((3, 2, 4)), mx.nd.zeros((1, 2, 5))
    with pytest.raises(MXNetError, match="parameters.shape"):
        mx.nd.RNN(x, mx.nd.zeros((7,)), h, state_size=5, num_layers=1, mode="gru")
    with pytest.raises(MXNetError, match="state_cell"):
        mx.nd.RNN(x, mx.nd.zeros((param_size("lstm", 5, 1, 4),)), h, state_size=5,
                  num_layers=1, mode="lstm")
    with pytest.raises(MXNetError, match="mode"):
        mx.nd.RNN(x, mx.nd.zeros((7,)), h, state_size=5, num_layers=1)


@pytest.mark.parametrize("name", ["SequenceMask", "SequenceLast", "SequenceReverse"])
def test_sequence_ops_values_and_gradients(ctx, name):
    """Against the per-row reference, and the data gradient against finite differences."""
    rng = np.random.default_rng(9)
    x = rng.uniform(-1, 1, (4, 3, 2))
    lengths = np.array([2, 4, 1], dtype=np.int32)
    ref = {"SequenceMask": reference_sequence_mask, "SequenceLast": reference_sequence_last,
           "SequenceReverse": reference_sequence_reverse}[name]
    fn = getattr(mx.nd, name)
    xs = mx.nd.array(x, ctx=ctx, dtype="float64")
    ls = mx.nd.array(lengths, ctx=ctx, dtype="int32")
    xs.attach_grad()
    with autograd.record():
        out = fn(xs, ls, use_sequence_length=True)
    w = rng.uniform(-1, 1, out.shape)
    out.backward(mx.nd.array(w, ctx=ctx, dtype="float64"))
    np.testing.assert_allclose(out.asnumpy(), ref(x, lengths, True), rtol=1e-12, atol=1e-12)
    num = np.zeros_like(x)
    for j in range(x.size):
        plus, minus = x.copy(), x.copy()
        plus.flat[j] += 1e-6
        minus.flat[j] -= 1e-6
        num.flat[j] = np.sum((ref(plus, lengths, True) - ref(minus, lengths, True)) * w) / 2e-6
    np.testing.assert_allclose(xs.grad.asnumpy(), num, rtol=1e-6, atol=1e-8)


def test_symbol_creates_the_inputs_mxnet_creates():
    x = mx.sym.var("data")
    lstm = mx.sym.RNN(data=x, state_size=4, num_layers=2, mode="lstm", name="rnn")
    assert lstm.list_arguments() == ["data", "rnn_parameters", "rnn_state", "rnn_state_cell"]
    args, outs, _ = lstm.infer_shape(data=(5, 2, 3))
    assert args[1:] == [(param_size("lstm", 4, 2, 3),), (2, 2, 4), (2, 2, 4)]
    assert outs == [(5, 2, 4)]
    gru = mx.sym.RNN(x, mx.sym.var("w"), state_size=4, num_layers=1, mode="gru",
                     use_sequence_length=True, name="g")
    assert gru.list_arguments() == ["data", "w", "g_state", "g_sequence_length"]


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_backend_fused_steps_match_the_generic_ones(ctx, mode):
    """Backends with fused steps (``rnn.FUSED_CELLS``: OpenCL) give the generic steps' values
    and gradients; on the others this checks the generic path against NumPy's."""
    from mxplug.ops import rnn

    rng = np.random.default_rng(12)
    ins, attrs = _inputs(rng, mode, t=4, n=3, c=3, h=5, layers=2, bidirectional=True,
                         lengths=[4, 2, 3])
    attrs["state_outputs"] = False
    key = (getattr(ctx.backend, "xp", None), mode)
    fused = rnn.FUSED_CELLS.get(key)
    calls = []

    def spy(name, fn):
        def run(*args):
            calls.append(name)
            return fn(*args)
        return run

    if fused is not None:
        rnn.FUSED_CELLS[key] = (spy("cell", fused[0]), spy("grad", fused[1]))
    try:
        got = _run_with_grads(ins, attrs, ctx)
    finally:
        if fused is not None:
            rnn.FUSED_CELLS[key] = fused
    want = _run_with_grads(ins, attrs, mx.cpu())
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
    if ctx.device_type == "opencl":
        assert fused is not None and "cell" in calls and "grad" in calls


def _run_with_grads(ins, attrs, ctx):
    arrays = [mx.nd.array(a, ctx=ctx, dtype="float32") for a in ins]
    for a in arrays[:2]:
        a.attach_grad()
    with autograd.record():
        y = mx.nd.RNN(*arrays, **attrs)
        loss = (y * y).sum()
    loss.backward()
    return [y.asnumpy(), arrays[0].grad.asnumpy(), arrays[1].grad.asnumpy()]


def test_rnn_op_declares_mxnet_output_names():
    # MXNet's FListOutputNames of RNN: output, state_output (and statecell_output for LSTM)
    names = REGISTRY["RNN"].output_names
    assert names({"mode": "lstm", "state_outputs": True}) == ["output", "state_output",
                                                               "statecell_output"]
    assert names({"mode": "gru", "state_outputs": True}) == ["output", "state_output"]
    assert names({"mode": "lstm", "state_outputs": False}) == ["output"]
