"""MXNet 1.x's :class:`FusedRNNCell` (``mx.rnn.FusedRNNCell``: layers of a recurrent network run
as one ``RNN`` op over the whole sequence, with its flat ``<prefix>parameters`` vector) and the
:class:`FusedRNN` initializer that fills that vector piece by piece. Both are exported by
:mod:`.rnn_cell` as well, where MXNet has them."""

from __future__ import annotations

import warnings

from .. import init as _init
from .. import ndarray as nd
from .. import symbol
from ..gluon.rnn.rnn_layer import RNNCheckError
from ..ops.rnn import GATES
from .rnn_cell import (
    BaseRNNCell,
    BidirectionalCell,
    DropoutCell,
    GRUCell,
    LSTMCell,
    RNNCell,
    SequentialRNNCell,
    _check_states,
    _describe,
    _normalize_sequence,
    _pop,
)

__all__ = ["FusedRNNCell", "FusedRNN"]

_GATE_NAMES = {"rnn_relu": [""], "rnn_tanh": [""], "lstm": ["_i", "_f", "_c", "_o"],
               "gru": ["_r", "_z", "_o"]}


class FusedRNNCell(BaseRNNCell):
    """Layers of a recurrent network fused over the whole sequence: one ``RNN`` op (on every
    mxplug backend; MXNet 1.x runs it with cuDNN only). It cannot be stepped; :meth:`unfuse`
    gives the equivalent stack of cells.

    Parameters
    ----------
    num_hidden : int
        Number of units of each layer's output.
    num_layers : int, default 1
    mode : str, default 'lstm'
        'rnn_relu', 'rnn_tanh', 'lstm' or 'gru'.
    bidirectional : bool, default False
        Outputs of both directions are concatenated (2 * num_hidden channels).
    dropout : float, default 0
        Dropout between layers while training.
    get_next_state : bool, default False
        Return the final states (else ``[]``).
    forget_bias : float, default 1.0
        Initial bias of the LSTM forget gates (through :class:`FusedRNN`).
    prefix : str, default '<mode>_'
    params : RNNParams, optional
    """

    def __init__(self, num_hidden, num_layers=1, mode="lstm", bidirectional=False, dropout=0.0,
                 get_next_state=False, forget_bias=1.0, prefix=None, params=None):
        if mode not in GATES:
            raise RNNCheckError(f"FusedRNNCell: mode must be one of {sorted(GATES)}, got "
                                f"{mode!r}")
        if prefix is None:
            prefix = f"{mode}_"
        super().__init__(prefix=prefix, params=params)
        if int(num_hidden) <= 0 or int(num_layers) <= 0:
            raise RNNCheckError(f"{_describe(self)}: num_hidden and num_layers must be positive, "
                                f"got {num_hidden} and {num_layers}")
        self._num_hidden = num_hidden
        self._num_layers = num_layers
        self._mode = mode
        self._bidirectional = bidirectional
        self._dropout = dropout
        self._get_next_state = get_next_state
        self._directions = ["l", "r"] if bidirectional else ["l"]
        initializer = FusedRNN(None, num_hidden, num_layers, mode, bidirectional, forget_bias)
        self._parameter = self._params.get("parameters", init=initializer)

    @property
    def state_info(self):
        b = self._bidirectional + 1
        n = (self._mode == "lstm") + 1
        return [{"shape": (b * self._num_layers, 0, self._num_hidden), "__layout__": "LNC"}
                for _ in range(n)]

    @property
    def _gate_names(self):
        return _GATE_NAMES[self._mode]

    @property
    def _num_gates(self):
        return len(self._gate_names)

    def _layout_of(self, li, lh):
        """``[(name, shape)]`` of the pieces of the flat parameter vector, in its order."""
        out, b = [], len(self._directions)
        for kind in ("weight", "bias"):
            for layer in range(self._num_layers):
                for direction in self._directions:
                    for group in ("i2h", "h2h"):
                        for gate in self._gate_names:
                            name = f"{self._prefix}{direction}{layer}_{group}{gate}_{kind}"
                            if kind == "bias":
                                shape = (lh,)
                            elif group == "h2h":
                                shape = (lh, lh)
                            else:
                                shape = (lh, li if layer == 0 else b * lh)
                            out.append((name, shape))
        return out

    def unpack_weights(self, args):
        """Split ``<prefix>parameters`` into the per-layer, per-direction, per-gate arrays
        (``lstm_l0_i2h_i_weight``, ...)."""
        args = args.copy()
        arr = _pop(self, args, self._parameter.name, "unpack_weights")
        b, m, h = len(self._directions), self._num_gates, self._num_hidden
        num_input = arr.size // b // h // m - (self._num_layers - 1) * (h + b * h + 2) - h - 2
        pieces = self._layout_of(num_input, h)
        total = sum(int(_prod(s)) for _, s in pieces)
        if num_input <= 0 or total != arr.size:
            raise RNNCheckError(f"{_describe(self)}: Invalid parameters size for FusedRNNCell: "
                                f"{arr.size} values do not fit mode={self._mode!r}, "
                                f"num_hidden={h}, num_layers={self._num_layers}, "
                                f"bidirectional={self._bidirectional}")
        flat = arr.reshape((-1,))
        p = 0
        for name, shape in pieces:
            size = int(_prod(shape))
            args[name] = flat[p:p + size].reshape(shape).copy()
            p += size
        return args

    def pack_weights(self, args):
        """The inverse of :meth:`unpack_weights`."""
        args = args.copy()
        w0 = args.get(f"{self._prefix}l0_i2h{self._gate_names[0]}_weight")
        if w0 is None:
            _pop(self, args, f"{self._prefix}l0_i2h{self._gate_names[0]}_weight", "pack_weights")
        pieces = self._layout_of(w0.shape[1], self._num_hidden)
        flat = []
        for name, shape in pieces:
            arr = _pop(self, args, name, "pack_weights")
            if tuple(arr.shape) != tuple(shape):
                raise RNNCheckError(f"{_describe(self)}.pack_weights: {name} has shape "
                                    f"{tuple(arr.shape)}, expected {shape}")
            flat.append(arr.reshape((-1,)).as_in_context(w0.context).astype(w0.dtype))
        args[self._parameter.name] = nd.concat(*flat, dim=0)
        return args

    def __call__(self, inputs, states):
        raise NotImplementedError("FusedRNNCell cannot be stepped. Please use unroll")

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        self.reset()
        inputs, axis = _normalize_sequence(length, inputs, layout, True)
        if axis == 1:
            warnings.warn("NTC layout detected. Consider using TNC for FusedRNNCell for faster "
                          "speed", stacklevel=2)
            inputs = symbol.swapaxes(inputs, dim1=0, dim2=1)
        elif axis != 0:
            raise RNNCheckError(f"{_describe(self)}: Unsupported layout {layout}")
        if begin_state is None:
            begin_state = self.begin_state()
        states = _check_states(self, begin_state, inputs, like_axis=1)
        kw = {"state": states[0]}
        if self._mode == "lstm":
            kw["state_cell"] = states[1]
        rnn = symbol.RNN(data=inputs, parameters=self._parameter, state_size=self._num_hidden,
                         num_layers=self._num_layers, bidirectional=self._bidirectional,
                         p=self._dropout, state_outputs=self._get_next_state, mode=self._mode,
                         name=f"{self._prefix}rnn", **kw)
        if not self._get_next_state:
            outputs, states = rnn, []
        else:
            n = 3 if self._mode == "lstm" else 2
            outputs, states = rnn[0], [rnn[k] for k in range(1, n)]
            for s in states:
                s._set_attr(__layout__="LNC")
        if axis == 1:
            outputs = symbol.swapaxes(outputs, dim1=0, dim2=1)
        outputs, _ = _normalize_sequence(length, outputs, layout, merge_outputs)
        return outputs, states

    def unfuse(self):
        """The same network as a :class:`SequentialRNNCell` of elementary cells (which can be
        stepped), its weights named as :meth:`unpack_weights` + their ``pack_weights`` name
        them (``lstm_l0_i2h_weight``)."""
        stack = SequentialRNNCell()
        h = self._num_hidden
        make = {"rnn_relu": lambda p: RNNCell(h, activation="relu", prefix=p),
                "rnn_tanh": lambda p: RNNCell(h, activation="tanh", prefix=p),
                "lstm": lambda p: LSTMCell(h, prefix=p),
                "gru": lambda p: GRUCell(h, prefix=p)}[self._mode]
        for i in range(self._num_layers):
            if self._bidirectional:
                stack.add(BidirectionalCell(make(f"{self._prefix}l{i}_"),
                                            make(f"{self._prefix}r{i}_"),
                                            output_prefix=f"{self._prefix}bi_l{i}_"))
            else:
                stack.add(make(f"{self._prefix}l{i}_"))
            if self._dropout > 0 and i != self._num_layers - 1:
                stack.add(DropoutCell(self._dropout, prefix=f"{self._prefix}_dropout{i}_"))
        return stack


def _prod(shape):
    out = 1
    for d in shape:
        out *= d
    return out


# -- the fused cell's initializer ----------------------------------------------------------------
@_init.register
class FusedRNN(_init.Initializer):
    """Initializes a :class:`FusedRNNCell`'s flat ``parameters`` piece by piece: each weight
    with ``init`` (or the global initializer when None), biases as the initializer does (zeros),
    and the LSTM forget gates' ``i2h`` bias to ``forget_bias``.

    Parameters
    ----------
    init : Initializer, str (its JSON) or None
    num_hidden, num_layers, mode, bidirectional, forget_bias
        As the :class:`FusedRNNCell`'s.
    """

    def __init__(self, init=None, num_hidden=0, num_layers=1, mode="lstm", bidirectional=False,
                 forget_bias=1.0):
        if isinstance(init, str):
            init = _init.create(init)
        super().__init__(init=init.dumps() if init is not None else None, num_hidden=num_hidden,
                         num_layers=num_layers, mode=mode, bidirectional=bidirectional,
                         forget_bias=forget_bias)
        self._init = init
        self._num_hidden = num_hidden
        self._num_layers = num_layers
        self._mode = mode
        self._bidirectional = bidirectional
        self._forget_bias = forget_bias

    def _init_weight(self, desc, arr):
        cell = FusedRNNCell(self._num_hidden, self._num_layers, self._mode, self._bidirectional,
                            forget_bias=self._forget_bias, prefix="")
        args = cell.unpack_weights({"parameters": arr})
        inner = self._init
        if inner is None:
            inner = getattr(desc, "global_init", None)
            if inner is None or inner is self:
                raise RNNCheckError(f"FusedRNN(init=None) initializing {str(desc)!r} needs a "
                                    f"global initializer (Module.init_params(initializer=...)) "
                                    f"or an init of its own")
        for name, piece in args.items():
            if self._mode == "lstm" and name.endswith("_i2h_f_bias"):
                piece[:] = self._forget_bias
            else:
                inner(_init.InitDesc(name, global_init=getattr(desc, "global_init", None)),
                      piece)
        arr[:] = cell.pack_weights(args)["parameters"]

    def _init_default(self, name, arr):  # called directly, not through a variable's __init__
        self._init_weight(name, arr)
