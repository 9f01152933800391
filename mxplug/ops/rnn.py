"""The fused recurrent op ``RNN`` (MXNet 1.x ``mx.nd.RNN``): LSTM, GRU and Elman RNNs over whole
sequences, multi-layer and bidirectional, in MXNet's TNC layout and flat parameter packing.

Three ops:

- ``RNN``: the public op. A composite that, when training with ``p > 0``, draws the dropout
  masks between layers from the counter-based generator (its ``key``/``counter`` attributes, as
  ``Dropout``) and hands everything to ``_RNN``;
- ``_RNN``: the deterministic primitive (the masks, when there are any, are its last input);
- ``_backward_RNN``: backpropagation through time, what ``_RNN``'s gradient rule calls.

One algorithm written over the array namespace ``xp`` serves every backend. It batches what does
not depend on the recurrence: the input projection of all time steps is one GEMM per layer and
direction, and so are the weight gradients and the input gradient in the backward pass; only the
``h @ W_h2h.T`` product and the gate arithmetic run per step. On NumPy the forward keeps what the
backward needs (the gate activations and the states of every step) next to its output, so the
backward does not run the forward again; without that record (another backend, or a forward run
outside training) the backward recomputes it.

Parameter packing (MXNet's): every weight, layer by layer and within a layer direction by
direction (``i2h`` then ``h2h``), then every bias in the same order. Gate order: LSTM ``i, f, g,
o``; GRU ``r, z, n`` with ``n = tanh(x W_in + b_in + r * (h W_hn + b_hn))`` (cuDNN's form).
"""

from __future__ import annotations

import weakref

import numpy as np

from ..base import MXNetNotImplementedError
from . import infer as I
from .attrs import Bool, Enum, Float, Int, OptFloat, OptInt
from .dispatch import apply, state
from .elemwise import sigmoid
from .movement import concat
from .registry import REGISTRY, Sample, defop

__all__ = ["rnn", "rnn_prim", "rnn_backward", "param_size", "GATES", "FUSED_CELLS"]

#: Gates per mode: how many ``state_size`` blocks each weight matrix stacks.
GATES = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}

_ATTRS = {"state_size": Int(0), "num_layers": Int(0), "bidirectional": Bool(False),
          "mode": Enum(None, "rnn_relu", "rnn_tanh", "lstm", "gru"), "p": Float(0.0),
          "state_outputs": Bool(False), "projection_size": OptInt(None),
          "lstm_state_clip_min": OptFloat(None), "lstm_state_clip_max": OptFloat(None),
          "lstm_state_clip_nan": Bool(False), "use_sequence_length": Bool(False)}
_INPUTS = ("data", "parameters", "state", "state_cell", "sequence_length")


def param_size(mode, state_size, num_layers, input_size, bidirectional=False) -> int:
    """Length of the flat ``parameters`` vector."""
    g, h, d = GATES[mode], state_size, 2 if bidirectional else 1
    first = g * h * (input_size + h + 2)
    rest = g * h * (h * d + h + 2)
    return d * (first + (num_layers - 1) * rest)


def _num_outputs(attrs):
    if not attrs.get("state_outputs"):
        return 1
    return 3 if attrs.get("mode") == "lstm" else 2


def _split_inputs(arrays, attrs):
    """``(data, parameters, state, state_cell, sequence_length, masks)``, None where absent."""
    lstm, seq = attrs["mode"] == "lstm", attrs["use_sequence_length"]
    x, w, h0 = arrays[:3]
    k = 3
    c0 = arrays[k] if lstm else None
    k += lstm
    lengths = arrays[k] if seq else None
    k += seq
    masks = arrays[k] if len(arrays) > k else None
    return x, w, h0, c0, lengths, masks


def _rnn_infer(*specs, state_size=0, num_layers=0, bidirectional=False, mode=None, p=0.0,
               state_outputs=False, projection_size=None, lstm_state_clip_min=None,
               lstm_state_clip_max=None, lstm_state_clip_nan=False, use_sequence_length=False,
               masks=False, **_):
    op = "RNN"
    I.expect(mode is not None, op, "mode in ('rnn_relu', 'rnn_tanh', 'lstm', 'gru')",
             "mode not given")
    I.expect(state_size > 0 and num_layers > 0, op, "state_size > 0 and num_layers > 0",
             f"state_size={state_size}, num_layers={num_layers}")
    I.expect(0.0 <= p <= 1.0, op, "0 <= p <= 1", f"p={p}")
    names = ["data", "parameters", "state"] + ["state_cell"] * (mode == "lstm") + \
        ["sequence_length"] * bool(use_sequence_length)
    n = len(names)
    I.expect(len(specs) in ((n, n + 1) if masks else (n,)), op,
             f"{n} inputs ({', '.join(names)}) for mode={mode!r}, "
             f"use_sequence_length={use_sequence_length}", f"{len(specs)} inputs")
    if projection_size is not None or lstm_state_clip_min is not None or \
            lstm_state_clip_max is not None:
        raise MXNetNotImplementedError("RNN: projection_size and lstm_state_clip_* are not "
                                       "supported")
    x, w, h0 = specs[:3]
    I.expect(x.ndim == 3, op, "data of shape (seq_len, batch, input_size) (layout TNC)",
             f"data.shape={tuple(x.shape)}")
    t, n_batch, c = x.shape
    d = 2 if bidirectional else 1
    size = param_size(mode, state_size, num_layers, c, bidirectional)
    I.expect(tuple(w.shape) == (size,), op, f"parameters.shape == ({size},) for input_size={c}",
             f"parameters.shape={tuple(w.shape)}")
    hshape = (num_layers * d, n_batch, state_size)
    I.expect(tuple(h0.shape) == hshape, op, f"state.shape == {hshape}",
             f"state.shape={tuple(h0.shape)}")
    if mode == "lstm":
        I.expect(tuple(specs[3].shape) == hshape, op, f"state_cell.shape == {hshape}",
                 f"state_cell.shape={tuple(specs[3].shape)}")
    if use_sequence_length:
        ls = specs[n - 1]
        I.expect(tuple(ls.shape) == (n_batch,), op, f"sequence_length.shape == ({n_batch},)",
                 f"sequence_length.shape={tuple(ls.shape)}")
    for name, s in zip(names[1:], specs[1:n]):
        if name != "sequence_length":
            I.expect(np.dtype(s.dtype) == np.dtype(x.dtype), op, f"{name}.dtype == data.dtype "
                     f"({np.dtype(x.dtype).name})", f"{np.dtype(s.dtype).name}")
    out = I.Spec((t, n_batch, d * state_size), x.dtype)
    st = I.Spec(hshape, x.dtype)
    if not state_outputs:
        return out
    return (out, st, st) if mode == "lstm" else (out, st)


def _params_rule(x, *rest, state_size=0, num_layers=0, bidirectional=False, mode=None, **_):
    if x is None or mode is None or len(x.shape) != 3:
        return {}
    d = 2 if bidirectional else 1
    hshape = (num_layers * d, x.shape[1], state_size)
    found = {1: (param_size(mode, state_size, num_layers, x.shape[2], bidirectional),), 2: hshape}
    if mode == "lstm":
        found[3] = hshape
    return found


_DOC = ("Recurrent layers over a whole sequence (MXNet's fused ``RNN``): ``data`` (seq_len, "
        "batch, input_size), the flat ``parameters`` (all weights layer by layer and direction "
        "by direction, i2h then h2h, then all biases likewise), the initial ``state`` (and "
        "``state_cell`` for LSTM) of shape (num_layers * directions, batch, state_size), and "
        "``sequence_length`` (batch,) when ``use_sequence_length``. Returns the output "
        "(seq_len, batch, directions * state_size), and the final states when "
        "``state_outputs``. ``p`` is the dropout between layers while training.")
rnn = defop("RNN", _INPUTS, {**_ATTRS, "key": Int(0), "counter": Int(0)}, infer=_rnn_infer,
            variadic=True, random=True, nout=_num_outputs, doc=_DOC)
rnn_prim = defop("_RNN", _INPUTS + ("masks",), _ATTRS, nout=_num_outputs, variadic=True,
                 infer=lambda *s, **a: _rnn_infer(*s, masks=True, **a),
                 doc="The RNN primitive: dropout masks between layers, when given, are the last "
                     "input, shaped (num_layers - 1, seq_len, batch, directions * state_size).")


def _auto_inputs(attrs):
    """The inputs ``mx.sym.RNN`` creates when not given (MXNet's ``rnn_parameters``, ...)."""
    names = list(_INPUTS[:3])
    if attrs["mode"] == "lstm":
        names.append("state_cell")
    if attrs["use_sequence_length"]:
        names.append("sequence_length")
    return tuple(names)


rnn.auto_inputs = _auto_inputs


def _output_names(attrs):
    """MXNet's names of the outputs (``rnn_state_output``, ...); for ``Symbol.list_outputs``."""
    names = ["output"]
    if attrs.get("state_outputs"):
        names.append("state_output")
        if attrs.get("mode") == "lstm":
            names.append("statecell_output")
    return names


rnn.output_names = _output_names

# MXNet 1.6+ joins a layer's flattened weights with ``_rnn_param_concat`` (a concat that can
# also infer its inputs' shapes backward); graphs MXNet exported name it, so it reads as concat.
REGISTRY.setdefault("_rnn_param_concat", concat)
rnn.nograd("sequence_length")
rnn_prim.nograd("sequence_length", "masks")
rnn.params(_params_rule)
rnn_prim.params(_params_rule)


@rnn.compose
def _(*arrays, key=0, counter=0, **attrs):
    p, layers = attrs["p"], attrs["num_layers"]
    if p > 0.0 and layers > 1 and state.training:
        x = arrays[0]
        t, n = x.shape[0], x.shape[1]
        width = attrs["state_size"] * (2 if attrs["bidirectional"] else 1)
        mask = apply(REGISTRY["random_bernoulli"], prob=1.0 - p, shape=(layers - 1, t, n, width),
                     ctx=x.context, dtype=np.dtype(x.dtype).name, key=key, counter=counter)
        arrays = arrays + ((mask * (1.0 / (1.0 - p))) if p < 1.0 else mask,)
    return apply(rnn_prim, *arrays, **attrs)


# -- the algorithm, over any array namespace ----------------------------------------------------
def _sigmoid(xp, z):
    return sigmoid.generic(xp, z)  # the sigmoid op's own body, on raw arrays


def _unpack_params(w, mode, h, layers, dirs, input_size):
    """``[(Wi, Wh, bi, bh)]`` per (layer, direction), views into the flat vector ``w``."""
    g = GATES[mode]
    shapes, off = [], 0
    for layer in range(layers):
        width = input_size if layer == 0 else h * dirs
        for _ in range(dirs):
            shapes.append([(off, (g * h, width))])
            off += g * h * width
            shapes[-1].append((off, (g * h, h)))
            off += g * h * h
    for item in shapes:
        for _ in range(2):
            item.append((off, (g * h,)))
            off += g * h
    return [tuple(w[o:o + int(np.prod(s))].reshape(s) for o, s in item) for item in shapes]


def _lstm_cell(xp, a, c, hs):
    """One LSTM step's gates from the pre-activations ``a`` (N, 4H): ``(acts, c_new, h_new)``;
    ``acts`` is what :func:`_lstm_cell_grad` needs (opaque to the rest of the algorithm)."""
    i_f = _sigmoid(xp, a[:, :2 * hs])
    i, f = i_f[:, :hs], i_f[:, hs:]
    g, o = xp.tanh(a[:, 2 * hs:3 * hs]), _sigmoid(xp, a[:, 3 * hs:])
    c_new = f * c + i * g
    tc = xp.tanh(c_new)
    return (i, f, g, o, tc), c_new, o * tc


def _lstm_cell_grad(xp, acts, c_prev, dhn, dcn):
    """The pre-activation gradient (N, 4H) of one LSTM step and the carried cell gradient."""
    i, f, g, o, tc = acts
    dcn = dcn + dhn * o * (1.0 - tc * tc)
    da = xp.concat([dcn * g * i * (1.0 - i), dcn * c_prev * f * (1.0 - f),
                    dcn * i * (1.0 - g * g), dhn * tc * o * (1.0 - o)], axis=1)
    return da, dcn * f


def _gru_cell(xp, a, hh, h, hs):
    """One GRU step from the input projection ``a`` and the recurrent one ``hh`` (bias
    included), both (N, 3H): ``(acts, h_new)``."""
    rz = _sigmoid(xp, a[:, :2 * hs] + hh[:, :2 * hs])
    r, z = rz[:, :hs], rz[:, hs:]
    hn = hh[:, 2 * hs:]
    nn = xp.tanh(a[:, 2 * hs:] + r * hn)
    return (r, z, nn, hn), nn + z * (h - nn)


def _gru_cell_grad(xp, acts, h_prev, dhn):
    """The gradients of one GRU step's input and recurrent projections, and the part of the
    output gradient carried to the previous state directly."""
    r, z, nn, hn = acts
    dan = dhn * (1.0 - z) * (1.0 - nn * nn)
    dar = dan * hn * r * (1.0 - r)
    daz = dhn * (h_prev - nn) * z * (1.0 - z)
    return xp.concat([dar, daz, dan], axis=1), xp.concat([dar, daz, dan * r], axis=1), dhn * z


_CELLS = {"lstm": (_lstm_cell, _lstm_cell_grad), "gru": (_gru_cell, _gru_cell_grad)}
#: ``(array namespace, mode)`` -> ``(cell, cell_grad)`` replacing the generic pair above: a
#: backend registers fused kernels (one launch per step instead of about fifteen) for its
#: namespace. ``acts`` is whatever its cell returns; only its cell_grad reads it.
FUSED_CELLS: dict = {}


def _cell_pair(xp, mode):
    return FUSED_CELLS.get((xp, mode)) or _CELLS.get(mode)


def _step_mask(xp, lengths, t, like):
    """(batch, 1) 1.0 where step ``t`` is inside the sequence, else 0.0; None without lengths."""
    if lengths is None:
        return None
    return (lengths > t).astype(like.dtype).reshape(-1, 1)


def _run_direction(xp, x, wi, wh, bi, bh, h, c, mode, reverse, lengths):
    """One layer in one direction. Returns the outputs (T, N, H), final h and c, and the record
    the backward reads."""
    t_len, n = x.shape[0], x.shape[1]
    gh = wi.shape[0]
    hs = gh // GATES[mode]
    xw = xp.matmul(x.reshape(t_len * n, x.shape[2]), wi.T)
    xw = (xw + (bi if mode == "gru" else bi + bh)).reshape(t_len, n, gh)
    wht = wh.T
    cell = _cell_pair(xp, mode)[0] if mode in _CELLS else None
    outs, acts, hprev, cprev = [None] * t_len, [None] * t_len, [None] * t_len, [None] * t_len
    for t in (range(t_len - 1, -1, -1) if reverse else range(t_len)):
        hprev[t], cprev[t] = h, c
        hh = xp.matmul(h, wht)
        m = _step_mask(xp, lengths, t, x)
        if mode == "lstm":
            acts[t], c_new, h_new = cell(xp, xw[t] + hh, c, hs)
        elif mode == "gru":
            acts[t], h_new = cell(xp, xw[t], hh + bh, h, hs)
        else:
            a = xw[t] + hh
            h_new = xp.tanh(a) if mode == "rnn_tanh" else xp.maximum(a, 0.0)
            acts[t] = (h_new,)
        if m is None:
            outs[t], h = h_new, h_new
            if mode == "lstm":
                c = c_new
        else:
            outs[t] = h_new * m
            h = outs[t] + h * (1.0 - m)
            if mode == "lstm":
                c = c_new * m + c * (1.0 - m)
    rec = {"x": x, "acts": acts, "hprev": hprev, "cprev": cprev}
    return xp.stack(outs, axis=0), h, c, rec


def _forward(xp, x, w, h0, c0, lengths, masks, mode, h, layers, dirs, keep=False):
    """The whole op: ``(y, hy, cy, records)``; records only when ``keep``."""
    params = _unpack_params(w, mode, h, layers, dirs, x.shape[2])
    inp, hys, cys, records = x, [], [], []
    for layer in range(layers):
        if layer > 0 and masks is not None:
            inp = inp * masks[layer - 1]
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            wi, wh, bi, bh = params[k]
            y, hf, cf, rec = _run_direction(xp, inp, wi, wh, bi, bh, h0[k],
                                            c0[k] if c0 is not None else None, mode, d == 1,
                                            lengths)
            outs.append(y)
            hys.append(hf)
            cys.append(cf)
            if keep:
                records.append(rec)
        inp = outs[0] if dirs == 1 else xp.concat(outs, axis=2)
    return (inp, xp.stack(hys, axis=0), xp.stack(cys, axis=0) if c0 is not None else None,
            records)


def _backward_direction(xp, rec, dy, dh, dc, wi, wh, mode, reverse, lengths):
    """Gradients of one layer-direction: ``(dx, dWi, dWh, dbi, dbh, dh0, dc0)``."""
    x, acts, hprev, cprev = rec["x"], rec["acts"], rec["hprev"], rec["cprev"]
    t_len, n = x.shape[0], x.shape[1]
    dgx, dgh = [None] * t_len, [None] * t_len
    cell_grad = _cell_pair(xp, mode)[1] if mode in _CELLS else None
    for t in (range(t_len) if reverse else range(t_len - 1, -1, -1)):
        m = _step_mask(xp, lengths, t, x)
        if m is None:  # every step is inside the sequence: all of the carry enters the step
            dhn, dcn, dh = dy[t] + dh, dc, 0.0
        else:
            dhn = (dy[t] + dh) * m
            dh = dh * (1.0 - m)
            if mode == "lstm":
                dcn, dc = dc * m, dc * (1.0 - m)
        if mode == "lstm":
            da, dcp = cell_grad(xp, acts[t], cprev[t], dhn, dcn)
            dc = dcp if m is None else dc + dcp
            dgx[t] = dgh[t] = da
        elif mode == "gru":
            dgx[t], dgh[t], carry = cell_grad(xp, acts[t], hprev[t], dhn)
            dh = dh + carry
        else:
            (hn,) = acts[t]
            da = dhn * ((1.0 - hn * hn) if mode == "rnn_tanh" else (hn > 0).astype(hn.dtype))
            dgx[t] = dgh[t] = da
        dh = dh + xp.matmul(dgh[t], wh)
    gx = xp.stack(dgx, axis=0).reshape(t_len * n, -1)
    gh = gx if mode != "gru" else xp.stack(dgh, axis=0).reshape(t_len * n, -1)
    x2 = x.reshape(t_len * n, x.shape[2])
    hp2 = xp.stack(hprev, axis=0).reshape(t_len * n, -1)
    dx = xp.matmul(gx, wi).reshape(x.shape)
    dwi, dwh = xp.matmul(gx.T, x2), xp.matmul(gh.T, hp2)
    dbi = xp.sum(gx, axis=0)
    dbh = dbi if mode != "gru" else xp.sum(gh, axis=0)
    return dx, dwi, dwh, dbi, dbh, dh, dc


def _backward(xp, records, grads, w, h0, c0, lengths, masks, mode, h, layers, dirs, input_size):
    """BPTT over the stack: ``(dx, dparams, dstate, dstate_cell or None)``."""
    dy, dhy, dcy = grads
    params = _unpack_params(w, mode, h, layers, dirs, input_size)
    dws, dbs = [None] * (layers * dirs), [None] * (layers * dirs)
    dh0s, dc0s = [None] * (layers * dirs), [None] * (layers * dirs)
    for layer in range(layers - 1, -1, -1):
        dx = None
        for d in range(dirs):
            k = layer * dirs + d
            wi, wh = params[k][:2]
            dh = dhy[k] if dhy is not None else xp.zeros_like(h0[k])
            dc = None
            if mode == "lstm":
                dc = dcy[k] if dcy is not None else xp.zeros_like(c0[k])
            part = dy if dirs == 1 else dy[:, :, d * h:(d + 1) * h]
            gx, dwi, dwh, dbi, dbh, dh0s[k], dc0s[k] = _backward_direction(
                xp, records[k], part, dh, dc, wi, wh, mode, d == 1, lengths)
            dws[k], dbs[k] = (dwi, dwh), (dbi, dbh)
            dx = gx if dx is None else dx + gx
        if layer > 0 and masks is not None:
            dx = dx * masks[layer - 1]
        dy = dx
    flat = [a.reshape(-1) for pair in dws for a in pair] + [b for pair in dbs for b in pair]
    dw = xp.concat(flat, axis=0)
    return (dy, dw, xp.stack(dh0s, axis=0),
            xp.stack(dc0s, axis=0) if mode == "lstm" else None)


def _geometry(attrs):
    return attrs["mode"], attrs["state_size"], attrs["num_layers"], \
        2 if attrs["bidirectional"] else 1


def _outputs(y, hy, cy, attrs):
    if not attrs["state_outputs"]:
        return y
    return (y, hy, cy) if attrs["mode"] == "lstm" else (y, hy)


@rnn_prim.impl
def _(xp, *arrays, **attrs):
    _rnn_infer(*[I.Spec(tuple(a.shape), a.dtype) for a in arrays], masks=True, **attrs)
    x, w, h0, c0, lengths, masks = _split_inputs(arrays, attrs)
    y, hy, cy, _ = _forward(xp, x, w, h0, c0, lengths, masks, *_geometry(attrs))
    return _outputs(y, hy, cy, attrs)


#: id(output array) -> (weakref to it, the inputs, the records): NumPy forwards that may be
#: differentiated keep what BPTT needs here until their output is freed.
_SAVED: dict = {}


@rnn_prim.kernel("numpy")
def _(be, *arrays, **attrs):
    _rnn_infer(*[I.Spec(tuple(a.shape), a.dtype) for a in arrays], masks=True, **attrs)
    x, w, h0, c0, lengths, masks = _split_inputs(arrays, attrs)
    # a forward that may be differentiated: under autograd.record() (the hook) or a training run
    # of a graph (whose backward follows); inference keeps nothing
    keep = state.training or state.hook is not None
    y, hy, cy, records = _forward(np, x, w, h0, c0, lengths, masks, *_geometry(attrs), keep=keep)
    if keep:
        key = id(y)
        _SAVED[key] = (weakref.ref(y), arrays, records)
        weakref.finalize(y, _SAVED.pop, key, None)
    return _outputs(y, hy, cy, attrs)


@rnn_prim.vjp
def _(g, out, *inputs, **attrs):
    outs = out if isinstance(out, tuple) else (out,)
    gs = g if isinstance(g, tuple) else (g,)
    grads = apply(rnn_backward, *gs, *inputs, outs[0], **attrs)
    return tuple(grads) + (None,) * (len(inputs) - len(grads))


# -- backward op -----------------------------------------------------------------------------------
def _split_backward(arrays, attrs):
    ng = _num_outputs(attrs)
    grads = list(arrays[:ng]) + [None] * (3 - ng)
    return grads, arrays[ng:-1], arrays[-1]


def _bwd_infer(*specs, **attrs):
    grads, fwd, _ = _split_backward(specs, attrs)
    outs = _rnn_infer(*fwd, masks=True, **attrs)
    outs = (outs,) if isinstance(outs, I.Spec) else outs
    for k, (gs, os) in enumerate(zip(grads, outs)):
        I.expect(tuple(gs.shape) == tuple(os.shape), "_backward_RNN",
                 f"gradient {k} of shape {tuple(os.shape)}", f"{tuple(gs.shape)}")
    return tuple(fwd[:4 if attrs["mode"] == "lstm" else 3])


rnn_backward = defop(
    "_backward_RNN", ("grads",), _ATTRS, infer=_bwd_infer, variadic=True,
    nout=lambda a: 4 if a.get("mode") == "lstm" else 3,
    doc="BPTT of ``_RNN``: inputs are the output gradients (as many as ``_RNN`` has outputs), "
        "``_RNN``'s inputs and its first output; returns the gradients of data, parameters, "
        "state (and state_cell).")


def _bptt(xp, arrays, attrs, records=None):
    grads, fwd, _ = _split_backward(arrays, attrs)
    x, w, h0, c0, lengths, masks = _split_inputs(fwd, attrs)
    geo = _geometry(attrs)
    if records is None:
        records = _forward(xp, x, w, h0, c0, lengths, masks, *geo, keep=True)[3]
    out = _backward(xp, records, grads, w, h0, c0, lengths, masks, *geo, x.shape[2])
    return out if attrs["mode"] == "lstm" else out[:3]


@rnn_backward.impl
def _(xp, *arrays, **attrs):
    return _bptt(xp, arrays, attrs)


@rnn_backward.kernel("numpy")
def _(be, *arrays, **attrs):
    y = arrays[-1]
    saved = _SAVED.get(id(y))
    records = None
    if saved is not None and saved[0]() is y:
        fwd = _split_backward(arrays, attrs)[1]
        if len(fwd) == len(saved[1]) and all(a is b for a, b in zip(fwd, saved[1])):
            records = saved[2]
    return _bptt(np, arrays, attrs, records)


# -- samples for the generic op suite (small: every backend, float32 and float64) ---------------
def _sample(rng, mode, t=3, n=2, c=3, h=2, layers=1, bidirectional=False, lengths=None,
            masks=False, **attrs):
    d = 2 if bidirectional else 1
    size = param_size(mode, h, layers, c, bidirectional)
    ins = [rng.uniform(-1, 1, (t, n, c)), rng.uniform(-0.6, 0.6, (size,)),
           rng.uniform(-1, 1, (layers * d, n, h))]
    if mode == "lstm":
        ins.append(rng.uniform(-1, 1, (layers * d, n, h)))
    if lengths is not None:
        ins.append(np.array(lengths, dtype=np.int32))  # integers: no gradient is checked
        attrs["use_sequence_length"] = True
    if masks:
        ins.append((rng.uniform(0, 1, (layers - 1, t, n, d * h)) < 0.7) / 0.7)
    return Sample(*ins, state_size=h, num_layers=layers, bidirectional=bidirectional, mode=mode,
                  **attrs)


rnn.samples(
    lambda rng: _sample(rng, "lstm", state_outputs=True),
    lambda rng: _sample(rng, "gru", layers=2, bidirectional=True),
    lambda rng: _sample(rng, "rnn_tanh", state_outputs=True, bidirectional=True),
    lambda rng: _sample(rng, "rnn_relu", layers=2),
)
rnn_prim.samples(
    lambda rng: _sample(rng, "lstm", layers=2, state_outputs=True, p=0.3),
    lambda rng: _sample(rng, "gru", lengths=[3, 1], bidirectional=True, state_outputs=True),
    lambda rng: _sample(rng, "lstm", lengths=[2, 3], bidirectional=True, state_outputs=True),
)


def _bwd_sample(rng, mode, **kw):
    s = _sample(rng, mode, **kw)
    outs = _rnn_infer(*[I.Spec(a.shape, a.dtype) for a in s.inputs], masks=True,
                      **rnn_prim.parse_attrs(s.attrs))
    outs = (outs,) if isinstance(outs, I.Spec) else outs
    y = rng.uniform(-1, 1, outs[0].shape)  # the first output: only its identity matters
    return Sample(*[rng.uniform(-1, 1, o.shape) for o in outs], *s.inputs, y, grad=False,
                  **s.attrs)


rnn_backward.samples(
    lambda rng: _bwd_sample(rng, "lstm", state_outputs=True, layers=2, bidirectional=True),
    lambda rng: _bwd_sample(rng, "gru", lengths=[1, 3], state_outputs=True),
    lambda rng: _bwd_sample(rng, "rnn_tanh"),
)
