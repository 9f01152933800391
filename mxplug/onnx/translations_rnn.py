"""mxplug op -> ONNX translations of the fused ``RNN`` op (LSTM, GRU, Elman RNN) and of the
``Sequence*`` ops that work on its padded (time, batch, ...) batches.

MXNet packs every parameter into one flat vector (all weights, layer by layer and direction by
direction, ``i2h`` then ``h2h``; then all biases in the same order) and orders the gates LSTM
``i, f, g, o`` and GRU ``r, z, n``. ONNX's ``LSTM``/``GRU``/``RNN`` take one layer at a time with
``W`` (directions, gates * hidden, input), ``R`` (directions, gates * hidden, hidden) and ``B``
(directions, 2 * gates * hidden), gates ``i, o, f, c`` and ``z, r, h``. The translation cuts the
pieces out of the flat vector in the graph (``Slice``; runtimes fold them into constants) and
chains one ONNX op per layer. MXNet's GRU is cuDNN's (the reset gate applied after the hidden
projection): ONNX ``linear_before_reset=1``. Dropout between layers is a training-only thing.
"""

from __future__ import annotations

import numpy as np

from .graph import onnx_dtype
from .translations import translates, unsupported

_GATES = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}
#: ONNX gate j is MXNet gate _ORDER[mode][j]
_ORDER = {"lstm": [0, 3, 1, 2], "gru": [1, 0, 2], "rnn_relu": [0], "rnn_tanh": [0]}
_ONNX_OP = {"lstm": "LSTM", "gru": "GRU", "rnn_relu": "RNN", "rnn_tanh": "RNN"}


def _layout(mode, hidden, layers, dirs, input_size):
    """Per (layer, direction): offsets of (i2h weight, h2h weight, i2h bias, h2h bias) and the
    i2h width."""
    gh = _GATES[mode] * hidden
    items, off = [], 0
    for layer in range(layers):
        width = input_size if layer == 0 else hidden * dirs
        for _ in range(dirs):
            items.append([off, off + gh * width, None, None, width])
            off += gh * (width + hidden)
    for item in items:
        item[2], item[3] = off, off + gh
        off += 2 * gh
    return items


def _gates(g, node, flat, offset, hidden, cols, mode):
    """The (gates * hidden * cols) block at ``offset``, gates in ONNX's order, flat."""
    size = hidden * cols
    parts = [g.add("Slice", [flat, g.ints([offset + j * size]), g.ints([offset + (j + 1) * size]),
                             g.ints([0])], hint=node.name) for j in _ORDER[mode]]
    return parts[0] if len(parts) == 1 else g.add("Concat", parts, hint=node.name, axis=0)


def _stack(g, node, parts, shape):
    """Per-direction flat pieces -> one (directions, *shape) tensor."""
    parts = [g.add("Reshape", [p, g.ints((1,) + tuple(shape))], hint=node.name) for p in parts]
    return parts[0] if len(parts) == 1 else g.add("Concat", parts, hint=node.name, axis=0)


@translates("RNN", "_RNN")
def _rnn(g, node, args, out):
    a = node.attrs
    mode, hidden, layers = a["mode"], a["state_size"], a["num_layers"]
    dirs = 2 if a["bidirectional"] else 1
    if a.get("projection_size") is not None or a.get("lstm_state_clip_min") is not None:
        raise unsupported(node, "projection_size / lstm_state_clip_*")
    lstm = mode == "lstm"
    x, flat, h0 = args[:3]
    c0 = args[3] if lstm else None
    seq = ""
    if a["use_sequence_length"]:
        seq = g.add("Cast", [args[3 + lstm]], hint=node.name, to=onnx_dtype(np.int32))
    gates = _GATES[mode]
    items = _layout(mode, hidden, layers, dirs, g.arg_specs(node)[0].shape[2])
    extra = {"linear_before_reset": 1} if mode == "gru" else {}
    if mode in ("rnn_relu", "rnn_tanh"):
        extra["activations"] = ["Relu" if mode == "rnn_relu" else "Tanh"] * dirs
    hs, cs = [], []
    for layer in range(layers):
        mine = items[layer * dirs:(layer + 1) * dirs]
        width = mine[0][4]
        w = _stack(g, node, [_gates(g, node, flat, i[0], hidden, width, mode) for i in mine],
                   (gates * hidden, width))
        r = _stack(g, node, [_gates(g, node, flat, i[1], hidden, hidden, mode) for i in mine],
                   (gates * hidden, hidden))
        b = _stack(g, node, [g.add("Concat", [_gates(g, node, flat, i[2], hidden, 1, mode),
                                              _gates(g, node, flat, i[3], hidden, 1, mode)],
                                   hint=node.name, axis=0) for i in mine],
                   (2 * gates * hidden,))
        rows = [g.ints([layer * dirs]), g.ints([(layer + 1) * dirs]), g.ints([0])]
        init_h = g.add("Slice", [h0] + rows, hint=node.name)
        inputs = [x, w, r, b, seq, init_h]
        if lstm:
            inputs.append(g.add("Slice", [c0] + rows, hint=node.name))
        res = g.add(_ONNX_OP[mode], inputs, 3 if lstm else 2, node.name, hidden_size=hidden,
                    direction="bidirectional" if dirs == 2 else "forward", **extra)
        y, hs_l = res[0], res[1]
        hs.append(hs_l)
        if lstm:
            cs.append(res[2])
        # (T, D, N, H) -> (T, N, D * H): the next layer's input, or the op's output
        y = g.add("Transpose", [y], hint=node.name, perm=[0, 2, 1, 3])
        x = g.add("Reshape", [y, g.ints([0, 0, -1])],
                  [out[0]] if layer == layers - 1 else None, node.name)
    for k, states in ((1, hs), (2, cs)):
        if k < len(out):
            if len(states) == 1:
                g.add("Identity", states, [out[k]], node.name)
            else:
                g.add("Concat", states, [out[k]], node.name, axis=0)


# -- SequenceMask / SequenceLast / SequenceReverse ------------------------------------------------
# The time axis is ``axis`` (0 or 1), the batch axis the other of the first two; without
# ``use_sequence_length`` every sequence is T steps long.
def _steps_before(g, node, x, lengths, axis):
    """Bool (T, N) (or (N, T) for axis 1) with trailing 1s: step < length, compared in x's
    dtype as mxplug does."""
    xs = g.arg_specs(node)[0]
    dt = onnx_dtype(xs.dtype)
    t = g.add("Gather", [g.add("Shape", [x], hint=node.name), g.const(axis, np.int64)],
              hint=node.name, axis=0)
    steps = g.add("Range", [g.const(0, np.int64), t, g.const(1, np.int64)], hint=node.name)
    steps = g.axes_op("Unsqueeze", g.add("Cast", [steps], hint=node.name, to=dt), [1],
                      hint=node.name)
    lens = g.axes_op("Unsqueeze", g.add("Cast", [lengths], hint=node.name, to=dt), [0],
                     hint=node.name)
    inside = g.add("Less", [steps, lens], hint=node.name)                    # (T, N)
    if axis == 1:
        inside = g.add("Transpose", [inside], hint=node.name, perm=[1, 0])
    if xs.ndim > 2:
        inside = g.axes_op("Unsqueeze", inside, list(range(2, xs.ndim)), hint=node.name)
    return inside


@translates("SequenceMask")
def _sequence_mask(g, node, args, out):
    a, x = node.attrs, args[0]
    if not a["use_sequence_length"]:
        g.add("Identity", [x], out, node.name)
        return
    value = g.const(a["value"], g.arg_specs(node)[0].dtype)
    g.add("Where", [_steps_before(g, node, x, args[1], a["axis"]), x, value], out, node.name)


def _one_step(g, node, x, index, axis):
    """``x``'s step ``index`` (int64, one per sequence: (N,)) along ``axis``, kept as size 1."""
    nd = g.arg_specs(node)[0].ndim
    index = g.add("Reshape", [index, g.ints([1, -1] if axis == 0 else [-1, 1])], hint=node.name)
    if nd > 2:
        index = g.axes_op("Unsqueeze", index, list(range(2, nd)), hint=node.name)
    shape = g.add("Shape", [x], hint=node.name)      # x's shape with 1 on the time axis
    target = g.add("Concat", [g.add("Slice", [shape, g.ints([0]), g.ints([axis])],
                                    hint=node.name), g.ints([1]),
                              g.add("Slice", [shape, g.ints([axis + 1]), g.ints([nd])],
                                    hint=node.name)], hint=node.name, axis=0)
    index = g.add("Expand", [index, target], hint=node.name)
    return g.add("GatherElements", [x, index], hint=node.name, axis=axis)


@translates("SequenceLast")
def _sequence_last(g, node, args, out):
    a, x = node.attrs, args[0]
    axis = a["axis"]
    if not a["use_sequence_length"]:
        g.add("Gather", [x, g.const(-1, np.int64)], out, node.name, axis=axis)
        return
    last = g.add("Sub", [g.add("Cast", [args[1]], hint=node.name, to=onnx_dtype(np.int64)),
                         g.const(1, np.int64)], hint=node.name)
    g.axes_op("Squeeze", _one_step(g, node, x, last, axis), [axis], out, node.name)


@translates("SequenceReverse")
def _sequence_reverse(g, node, args, out):
    """Step t of sequence n takes step ``length[n] - 1 - t`` within the length, stays after it."""
    a, x = node.attrs, args[0]
    xs = g.arg_specs(node)[0]
    if not a["use_sequence_length"]:
        g.add("Slice", [x, g.ints([-1]), g.ints([-np.iinfo(np.int64).max]), g.ints([0]),
                        g.ints([-1])], out, node.name)
        return
    t = g.add("Gather", [g.add("Shape", [x], hint=node.name), g.const(0, np.int64)],
              hint=node.name, axis=0)
    steps = g.axes_op("Unsqueeze", g.add("Range", [g.const(0, np.int64), t,
                                                   g.const(1, np.int64)], hint=node.name),
                      [1], hint=node.name)                                    # (T, 1)
    lens = g.axes_op("Unsqueeze", g.add("Cast", [args[1]], hint=node.name,
                                        to=onnx_dtype(np.int64)), [0], hint=node.name)
    back = g.add("Sub", [g.add("Sub", [lens, g.const(1, np.int64)], hint=node.name), steps],
                 hint=node.name)
    source = g.add("Where", [g.add("Less", [steps, lens], hint=node.name), back, steps],
                   hint=node.name)                                            # (T, N)
    if xs.ndim > 2:
        source = g.axes_op("Unsqueeze", source, list(range(2, xs.ndim)), hint=node.name)
    source = g.add("Expand", [source, g.add("Shape", [x], hint=node.name)], hint=node.name)
    g.add("GatherElements", [x, source], out, node.name, axis=0)
