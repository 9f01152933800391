"""MXNet 1.x's legacy symbolic recurrent cells (``mx.rnn``), used with ``Module`` and
``BucketingModule``: each call builds the Symbol of one time step, ``unroll`` a whole sequence.

Parameters are ``mx.sym.Variable`` s kept in an :class:`RNNParams` container and named as MXNet
names them (``lstm_i2h_weight``; a :class:`FusedRNNCell`'s ``lstm_parameters``), so symbol JSON
and checkpoints line up with MXNet's. Gate order: LSTM ``i, f, c, o``; GRU ``r, z, o`` (the
fused ``RNN`` op's order).

Begin states are MXNet's: ``symbol.zeros`` of shape ``(0, num_hidden)``, whose ``0`` (the batch
size) shape inference fills from the graph. The cells also complete such a state where they
first use it: a ``zeros`` / ``ones`` / ``full`` node with one unknown axis becomes that constant
with the batch size and the dtype of the step's input (MXNet's stay float32), under the begin
state's own name. The convolutional cells are in :mod:`.conv_rnn_cell`.
"""

from __future__ import annotations

from .. import init as _init
from .. import ndarray as nd
from .. import symbol
from ..base import MXNetError, MXNetTypeError
from ..gluon.rnn._sequence import split_steps
from ..gluon.rnn.rnn_layer import RNNCheckError, _state_array
from ..graph.symbol import Symbol

__all__ = ["RNNParams", "BaseRNNCell", "RNNCell", "LSTMCell", "GRUCell", "FusedRNNCell",
           "SequentialRNNCell", "DropoutCell", "ModifierCell", "ZoneoutCell", "ResidualCell",
           "BidirectionalCell", "FusedRNN", "MissingWeightError"]


class MissingWeightError(MXNetError, KeyError):
    """``unpack_weights`` / ``pack_weights`` did not find a weight the cell needs."""


def _describe(cell):
    return f"{type(cell).__name__}(prefix={cell._prefix!r})"


def _cells_state_info(cells):
    return sum([c.state_info for c in cells], [])


def _cells_begin_state(cells, **kwargs):
    return sum([c.begin_state(**kwargs) for c in cells], [])


def _cells_unpack_weights(cells, args):
    for cell in cells:
        args = cell.unpack_weights(args)
    return args


def _cells_pack_weights(cells, args):
    for cell in cells:
        args = cell.pack_weights(args)
    return args


def _normalize_sequence(length, inputs, layout, merge, in_layout=None):
    """``(inputs, time_axis)``: ``inputs`` as a list of per-step Symbols (``merge`` False), one
    Symbol in ``layout`` (True), or as given (None)."""
    if inputs is None:
        raise RNNCheckError("unroll(inputs=None) has been deprecated. Please create input "
                            "variables outside unroll.")
    axis = layout.find("T")
    if axis < 0 or layout.find("N") < 0:
        raise RNNCheckError(f"unroll: layout {layout!r} must name the time axis 'T' and the "
                            f"batch axis 'N' ('NTC' or 'TNC')")
    in_axis = in_layout.find("T") if in_layout is not None else axis
    if isinstance(inputs, Symbol):
        if merge is False:
            if len(inputs.list_outputs()) != 1:
                raise RNNCheckError("unroll doesn't allow grouped symbol as input. Please "
                                    "convert to list with list(inputs) first or let unroll "
                                    "handle splitting.")
            inputs = split_steps(symbol, inputs, length, in_axis)
    elif isinstance(inputs, (list, tuple)):
        bad = [type(i).__name__ for i in inputs if not isinstance(i, Symbol)]
        if bad:
            raise MXNetTypeError(f"mx.rnn cells build Symbols: the inputs must be Symbols, got "
                            f"{bad[0]} (use mx.gluon.rnn for NDArrays)")
        if length is not None and len(inputs) != length:
            raise RNNCheckError(f"unroll: length={length} but {len(inputs)} inputs were given")
        inputs = list(inputs)
        if merge is True:
            inputs = symbol.Concat(*[symbol.expand_dims(i, axis=axis) for i in inputs],
                                   dim=axis)
            in_axis = axis
    else:
        raise MXNetTypeError(f"mx.rnn cells build Symbols: inputs must be a Symbol or a list of "
                        f"Symbols, not {type(inputs).__name__} (use mx.gluon.rnn for NDArrays)")
    if isinstance(inputs, Symbol) and axis != in_axis:
        inputs = symbol.swapaxes(inputs, dim1=axis, dim2=in_axis)
    return inputs, axis


_FILLS = ("zeros", "ones", "full")


def _complete_state(cell, state, like, like_axis):
    """``state``, or, when it is a ``zeros``/``ones``/``full`` node with an unknown (0) axis
    (MXNet's default begin state), that constant with ``like``'s batch size (its axis
    ``like_axis``) and dtype, under the state's name."""
    if not isinstance(state, Symbol) or len(state._outputs) != 1:
        return state
    node, _ = state._outputs[0]
    if node.is_variable or node.op is None or node.op.name not in _FILLS or node.inputs:
        return state
    shape = tuple(node.attrs.get("shape") or ())
    unknown = [a for a, d in enumerate(shape) if d == 0]
    if not unknown:
        return state
    if len(unknown) != 1:
        raise RNNCheckError(f"{_describe(cell)}: begin state {node.name!r} has shape {shape}; "
                            f"only its batch axis may be 0 (unknown)")
    # zeros of like's dtype, one per sample, shaped (1, .., N, .., 1), then broadcast_to the
    # state's shape (whose 0 keeps N)
    batch = symbol.sum(symbol.zeros_like(like), axis=like_axis, exclude=True)
    batch = symbol.reshape(batch, shape=tuple(-1 if d == 0 else 1 for d in shape))
    value = {"zeros": 0.0, "ones": 1.0}.get(node.op.name, node.attrs.get("val", 0.0))
    out = symbol.broadcast_to(batch, shape=shape, name=node.name if not value else None)
    return out + value if value else out


def _check_states(cell, states, like, like_axis=0):
    """The step's states, checked against ``state_info`` and completed (see above)."""
    if isinstance(states, Symbol):
        states = [states]
    n = len(cell.state_info)
    if len(states) != n:
        raise RNNCheckError(f"{_describe(cell)}: expects {n} state(s) "
                            f"{[i['shape'] for i in cell.state_info]}, got {len(states)}")
    return [_complete_state(cell, s, like, like_axis) for s in states]


def _pop(cell, args, name, what):
    try:
        return args.pop(name)
    except KeyError:
        raise MissingWeightError(f"{_describe(cell)}.{what}: no {name!r} among the given arrays "
                            f"({sorted(args)[:8]}{'...' if len(args) > 8 else ''})") from None


class RNNParams:
    """Container of the Variables of cells; cells given one container share their weights.

    Parameters
    ----------
    prefix : str, default ''
        Prepended to the names of the variables created here.
    """

    def __init__(self, prefix=""):
        self._prefix = prefix
        self._params = {}

    def get(self, name, **kwargs):
        """The variable ``prefix + name``, created (``mx.sym.Variable(name, **kwargs)``) when
        missing."""
        name = self._prefix + name
        if name not in self._params:
            self._params[name] = symbol.Variable(name, **kwargs)
        return self._params[name]


class BaseRNNCell:
    """Base class of the legacy cells.

    Parameters
    ----------
    prefix : str, default ''
        Prefix of the node names (and of the weight names when ``params`` is None).
    params : RNNParams, optional
        Container of shared weights; a new one (with ``prefix``) when None.
    """

    def __init__(self, prefix="", params=None):
        if params is None:
            params = RNNParams(prefix)
            self._own_params = True
        else:
            self._own_params = False
        self._prefix = prefix
        self._params = params
        self._modified = False
        self.reset()

    def reset(self):
        """Reset the step counters before building another graph."""
        self._init_counter = -1
        self._counter = -1
        for cell in getattr(self, "_cells", ()):
            cell.reset()

    def __call__(self, inputs, states):
        """One step: ``(output, new_states)`` for a (batch, channel) Symbol and the states of
        the previous step (or :meth:`begin_state`)."""
        raise NotImplementedError()

    @property
    def params(self):
        """The :class:`RNNParams` of this cell."""
        self._own_params = False
        return self._params

    @property
    def state_info(self):
        """Shape (0 = batch size) and layout of each state: a list of dicts."""
        raise NotImplementedError()

    @property
    def state_shape(self):
        """The shape of each state."""
        return [ele["shape"] for ele in self.state_info]

    @property
    def _gate_names(self):
        return ()

    def begin_state(self, func=symbol.zeros, **kwargs):
        """The initial states: ``func(name='<prefix>begin_state_<i>', shape=..., **kwargs)`` per
        entry of :attr:`state_info` (``mx.sym.zeros``, ``mx.sym.Variable`` to feed the states as
        inputs, ...)."""
        if self._modified:
            raise RNNCheckError("After applying modifier cells (e.g. DropoutCell) the base cell "
                                "cannot be called directly. Call the modifier cell instead.")
        states = []
        for info in self.state_info:
            self._init_counter += 1
            if info is not None:
                kwargs.update(info)  # as MXNet: the cell's shape and layout win
            states.append(_state_array(func, f"{self._prefix}begin_state_{self._init_counter}",
                                       dict(kwargs)))
        return states

    def unpack_weights(self, args):
        """Split the fused gate weights of ``args`` (``lstm_i2h_weight``) into one array per
        gate (``lstm_i2h_i_weight``, ``lstm_i2h_f_weight``, ...); returns a new dict."""
        args = args.copy()
        if not self._gate_names:
            return args
        h = self._num_hidden
        for group in ("i2h", "h2h"):
            weight = _pop(self, args, f"{self._prefix}{group}_weight", "unpack_weights")
            bias = _pop(self, args, f"{self._prefix}{group}_bias", "unpack_weights")
            for j, gate in enumerate(self._gate_names):
                args[f"{self._prefix}{group}{gate}_weight"] = weight[j * h:(j + 1) * h].copy()
                args[f"{self._prefix}{group}{gate}_bias"] = bias[j * h:(j + 1) * h].copy()
        return args

    def pack_weights(self, args):
        """The inverse of :meth:`unpack_weights`."""
        args = args.copy()
        if not self._gate_names:
            return args
        for group in ("i2h", "h2h"):
            weight = [_pop(self, args, f"{self._prefix}{group}{gate}_weight", "pack_weights")
                      for gate in self._gate_names]
            bias = [_pop(self, args, f"{self._prefix}{group}{gate}_bias", "pack_weights")
                    for gate in self._gate_names]
            args[f"{self._prefix}{group}_weight"] = nd.concat(*weight, dim=0)
            args[f"{self._prefix}{group}_bias"] = nd.concat(*bias, dim=0)
        return args

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        """Unroll the cell over ``length`` steps.

        Parameters
        ----------
        length : int
            Number of steps.
        inputs : Symbol or list of Symbol
            One Symbol in ``layout`` ((batch, length, ...) for 'NTC', (length, batch, ...)
            for 'TNC'), or a list of ``length`` (batch, ...) Symbols.
        begin_state : list of Symbol, optional
            Initial states; :meth:`begin_state` when None.
        layout : str, default 'NTC'
            Layout of ``inputs`` and of a merged output.
        merge_outputs : bool, optional
            True: one Symbol in ``layout``; False: a list per step; None: whatever is cheaper.

        Returns
        -------
        outputs, states
        """
        self.reset()
        inputs, _ = _normalize_sequence(length, inputs, layout, False)
        if begin_state is None:
            begin_state = self.begin_state()
        states = begin_state
        outputs = []
        for i in range(length):
            output, states = self(inputs[i], states)
            outputs.append(output)
        outputs, _ = _normalize_sequence(length, outputs, layout, merge_outputs)
        return outputs, states

    def _get_activation(self, inputs, activation, **kwargs):
        """``Activation(act_type=activation)`` for a name, else ``activation(inputs)``."""
        if isinstance(activation, str):
            return symbol.Activation(inputs, act_type=activation, **kwargs)
        return activation(inputs, **kwargs)

    def _lstm_gates(self, name, i2h, h2h, prev_c, activation, axis=1):
        """An LSTM step from its projections (gates ``i, f, c, o`` along ``axis``;
        ``activation`` on the cell input and state): ``(next_h, next_c)``."""
        gates = symbol.SliceChannel(i2h + h2h, num_outputs=4, axis=axis, name=f"{name}slice")
        in_gate = symbol.Activation(gates[0], act_type="sigmoid", name=f"{name}i")
        forget_gate = symbol.Activation(gates[1], act_type="sigmoid", name=f"{name}f")
        in_transform = self._get_activation(gates[2], activation, name=f"{name}c")
        out_gate = symbol.Activation(gates[3], act_type="sigmoid", name=f"{name}o")
        next_c = symbol.elemwise_add(forget_gate * prev_c, in_gate * in_transform,
                                     name=f"{name}state")
        next_h = symbol.elemwise_mul(out_gate, self._get_activation(next_c, activation),
                                     name=f"{name}out")
        return next_h, next_c

    def _gru_gates(self, name, i2h, h2h, prev_h, activation, axis=1):
        """A GRU step (cuDNN's variant, gates ``r, z, o`` along ``axis``): ``next_h``."""
        i2h_r, i2h_z, i2h = symbol.SliceChannel(i2h, num_outputs=3, axis=axis,
                                                name=f"{name}_i2h_slice")
        h2h_r, h2h_z, h2h = symbol.SliceChannel(h2h, num_outputs=3, axis=axis,
                                                name=f"{name}_h2h_slice")
        reset_gate = symbol.Activation(i2h_r + h2h_r, act_type="sigmoid", name=f"{name}_r_act")
        update_gate = symbol.Activation(i2h_z + h2h_z, act_type="sigmoid", name=f"{name}_z_act")
        next_h_tmp = self._get_activation(i2h + reset_gate * h2h, activation,
                                          name=f"{name}_h_act")
        return symbol.elemwise_add((1.0 - update_gate) * next_h_tmp, update_gate * prev_h,
                                   name=f"{name}out")


class _LinearCell(BaseRNNCell):
    """The four variables of an elementary cell and its two projections."""

    def __init__(self, num_hidden, prefix, params, i2h_bias_init=None):
        super().__init__(prefix=prefix, params=params)
        if int(num_hidden) <= 0:
            raise RNNCheckError(f"{_describe(self)}: num_hidden must be positive, got "
                                f"{num_hidden}")
        self._num_hidden = num_hidden
        # ``_params``, not ``params``: reading the property marks the container shared, and a
        # SequentialRNNCell(params=...) only takes cells that own theirs
        self._iW = self._params.get("i2h_weight")
        self._hW = self._params.get("h2h_weight")
        self._iB = (self._params.get("i2h_bias", init=i2h_bias_init)
                    if i2h_bias_init is not None else self._params.get("i2h_bias"))
        self._hB = self._params.get("h2h_bias")

    @property
    def state_info(self):
        return [{"shape": (0, self._num_hidden), "__layout__": "NC"}
                for _ in range(self._num_states)]

    _num_states = 1

    def _step(self, inputs, states, name, sep=""):
        states = _check_states(self, states, inputs)
        n = self._num_hidden * len(self._gate_names)
        i2h = symbol.FullyConnected(data=inputs, weight=self._iW, bias=self._iB, num_hidden=n,
                                    name=f"{name}{sep}i2h")
        h2h = symbol.FullyConnected(data=states[0], weight=self._hW, bias=self._hB,
                                    num_hidden=n, name=f"{name}{sep}h2h")
        return states, i2h, h2h


class RNNCell(_LinearCell):
    """Elman cell: ``h' = activation(W_i2h x + b_i2h + W_h2h h + b_h2h)``.

    Parameters
    ----------
    num_hidden : int
        Number of units of the output.
    activation : str or callable, default 'tanh'
        An ``Activation`` type, or a function of a Symbol (``functools.partial(mx.sym.LeakyReLU,
        slope=0.1)``).
    prefix : str, default 'rnn_'
    params : RNNParams, optional
    """

    def __init__(self, num_hidden, activation="tanh", prefix="rnn_", params=None):
        super().__init__(num_hidden, prefix, params)
        self._activation = activation

    @property
    def _gate_names(self):
        return ("",)

    def __call__(self, inputs, states):
        self._counter += 1
        name = f"{self._prefix}t{self._counter}_"
        states, i2h, h2h = self._step(inputs, states, name)
        output = self._get_activation(i2h + h2h, self._activation, name=f"{name}out")
        return output, [output]


class LSTMCell(_LinearCell):
    """LSTM cell (gates ``i, f, c, o``); states ``[h, c]``.

    Parameters
    ----------
    num_hidden : int
        Number of units of the output.
    prefix : str, default 'lstm_'
    params : RNNParams, optional
    forget_bias : float, default 1.0
        Initial bias of the forget gate: ``i2h_bias`` gets ``mx.init.LSTMBias(forget_bias)``.
    """

    _num_states = 2

    def __init__(self, num_hidden, prefix="lstm_", params=None, forget_bias=1.0):
        super().__init__(num_hidden, prefix, params,
                         i2h_bias_init=_init.LSTMBias(forget_bias=forget_bias))

    @property
    def _gate_names(self):
        return ["_i", "_f", "_c", "_o"]

    def __call__(self, inputs, states):
        self._counter += 1
        name = f"{self._prefix}t{self._counter}_"
        states, i2h, h2h = self._step(inputs, states, name)
        next_h, next_c = self._lstm_gates(name, i2h, h2h, states[1], "tanh")
        return next_h, [next_h, next_c]


class GRUCell(_LinearCell):
    """GRU cell, cuDNN's variant (gates ``r, z, o``):
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = (1 - z) * n + z * h``.

    Parameters
    ----------
    num_hidden : int
        Number of units of the output.
    prefix : str, default 'gru_'
    params : RNNParams, optional
    """

    def __init__(self, num_hidden, prefix="gru_", params=None):
        super().__init__(num_hidden, prefix, params)

    @property
    def _gate_names(self):
        return ["_r", "_z", "_o"]

    def __call__(self, inputs, states):
        self._counter += 1
        name = f"{self._prefix}t{self._counter}_"
        states, i2h, h2h = self._step(inputs, states, name, sep="_")  # MXNet's "t0__i2h"
        next_h = self._gru_gates(name, i2h, h2h, states[0], "tanh")
        return next_h, [next_h]
class SequentialRNNCell(BaseRNNCell):
    """Cells stacked: each one's output is the next one's input.

    Parameters
    ----------
    params : RNNParams, optional
        Weights for the cells added (which must then own theirs).
    """

    def __init__(self, params=None):
        super().__init__(prefix="", params=params)
        self._override_cell_params = params is not None
        self._cells = []

    def add(self, cell):
        """Append ``cell`` to the stack."""
        self._cells.append(cell)
        if self._override_cell_params:
            if not cell._own_params:
                raise RNNCheckError("Either specify params for SequentialRNNCell or child "
                                    "cells, not both.")
            cell.params._params.update(self.params._params)
        self.params._params.update(cell.params._params)

    @property
    def state_info(self):
        return _cells_state_info(self._cells)

    def begin_state(self, **kwargs):
        if self._modified:
            raise RNNCheckError("After applying modifier cells (e.g. ZoneoutCell) the base cell "
                                "cannot be called directly. Call the modifier cell instead.")
        return _cells_begin_state(self._cells, **kwargs)

    def unpack_weights(self, args):
        return _cells_unpack_weights(self._cells, args)

    def pack_weights(self, args):
        return _cells_pack_weights(self._cells, args)

    def __call__(self, inputs, states):
        self._counter += 1
        next_states, p = [], 0
        for cell in self._cells:
            if isinstance(cell, BidirectionalCell):
                raise RNNCheckError("SequentialRNNCell with a BidirectionalCell cannot be "
                                    "stepped; use unroll")
            n = len(cell.state_info)
            inputs, state = cell(inputs, states[p:p + n])
            p += n
            next_states.append(state)
        return inputs, sum(next_states, [])

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        self.reset()
        num_cells = len(self._cells)
        if begin_state is None:
            begin_state = self.begin_state()
        p, next_states = 0, []
        for i, cell in enumerate(self._cells):
            n = len(cell.state_info)
            states = begin_state[p:p + n]
            p += n
            inputs, states = cell.unroll(length, inputs=inputs, begin_state=states, layout=layout,
                                         merge_outputs=None if i < num_cells - 1
                                         else merge_outputs)
            next_states.extend(states)
        return inputs, next_states


class DropoutCell(BaseRNNCell):
    """Dropout on the input (no state, no weights).

    Parameters
    ----------
    dropout : float
        Fraction of the elements to drop while training.
    prefix : str, default 'dropout_'
    params : RNNParams, optional
    """

    def __init__(self, dropout, prefix="dropout_", params=None):
        super().__init__(prefix, params)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)):
            raise RNNCheckError("dropout probability must be a number")
        self.dropout = dropout

    @property
    def state_info(self):
        return []

    def __call__(self, inputs, states):
        if self.dropout > 0:
            inputs = symbol.Dropout(data=inputs, p=self.dropout)
        return inputs, states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        self.reset()
        inputs, _ = _normalize_sequence(length, inputs, layout, merge_outputs)
        if isinstance(inputs, Symbol):
            return self(inputs, [])
        return super().unroll(length, inputs, begin_state=begin_state, layout=layout,
                              merge_outputs=merge_outputs)


class ModifierCell(BaseRNNCell):
    """Base class of the cells that wrap a cell (zoneout, residual) and use its weights; the
    wrapped cell must then not be called directly."""

    def __init__(self, base_cell):
        super().__init__()
        base_cell._modified = True
        self.base_cell = base_cell

    def reset(self):
        super().reset()
        if hasattr(self, "base_cell"):
            self.base_cell.reset()

    @property
    def params(self):
        self._own_params = False
        return self.base_cell.params

    @property
    def state_info(self):
        return self.base_cell.state_info

    def begin_state(self, init_sym=symbol.zeros, **kwargs):
        if self._modified:
            raise RNNCheckError("After applying modifier cells (e.g. DropoutCell) the base cell "
                                "cannot be called directly. Call the modifier cell instead.")
        self.base_cell._modified = False
        try:
            return self.base_cell.begin_state(init_sym, **kwargs)
        finally:
            self.base_cell._modified = True

    def unpack_weights(self, args):
        return self.base_cell.unpack_weights(args)

    def pack_weights(self, args):
        return self.base_cell.pack_weights(args)

    def __call__(self, inputs, states):
        raise NotImplementedError


class ZoneoutCell(ModifierCell):
    """Zoneout (Krueger et al. 2016): while training each unit keeps its previous output or
    state with probability ``zoneout_outputs`` / ``zoneout_states``.

    Parameters
    ----------
    base_cell : BaseRNNCell
    zoneout_outputs : float, default 0
    zoneout_states : float, default 0
    """

    def __init__(self, base_cell, zoneout_outputs=0.0, zoneout_states=0.0):
        if isinstance(base_cell, FusedRNNCell):
            raise RNNCheckError("FusedRNNCell doesn't support zoneout. Please unfuse first.")
        if isinstance(base_cell, BidirectionalCell):
            raise RNNCheckError("BidirectionalCell doesn't support zoneout since it doesn't "
                                "support step. Please add ZoneoutCell to the cells underneath "
                                "instead.")
        if isinstance(base_cell, SequentialRNNCell) and any(
                isinstance(c, BidirectionalCell) for c in base_cell._cells):
            raise RNNCheckError("Bidirectional SequentialRNNCell doesn't support zoneout. "
                                "Please add ZoneoutCell to the cells underneath instead.")
        super().__init__(base_cell)
        self.zoneout_outputs = zoneout_outputs
        self.zoneout_states = zoneout_states
        self.prev_output = None

    def reset(self):
        super().reset()
        self.prev_output = None

    def __call__(self, inputs, states):
        cell, p_outputs, p_states = self.base_cell, self.zoneout_outputs, self.zoneout_states
        states = [_complete_state(self, s, inputs, 0) for s in states]
        next_output, next_states = cell(inputs, states)

        def mask(p, like):
            return symbol.Dropout(symbol.ones_like(like), p=p)

        prev_output = (self.prev_output if self.prev_output is not None
                       else symbol.zeros_like(next_output))
        output = (symbol.where(mask(p_outputs, next_output), next_output, prev_output)
                  if p_outputs != 0.0 else next_output)
        states = ([symbol.where(mask(p_states, new_s), new_s, old_s)
                   for new_s, old_s in zip(next_states, states)]
                  if p_states != 0.0 else next_states)
        self.prev_output = output
        return output, states


class ResidualCell(ModifierCell):
    """Adds the input to the wrapped cell's output (Wu et al. 2016)."""

    def __init__(self, base_cell):
        super().__init__(base_cell)

    def __call__(self, inputs, states):
        output, states = self.base_cell(inputs, states)
        output = symbol.elemwise_add(output, inputs, name=f"{output.name}_plus_residual")
        return output, states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        self.reset()
        self.base_cell._modified = False
        try:
            outputs, states = self.base_cell.unroll(length, inputs=inputs,
                                                    begin_state=begin_state, layout=layout,
                                                    merge_outputs=merge_outputs)
        finally:
            self.base_cell._modified = True
        merge_outputs = isinstance(outputs, Symbol) if merge_outputs is None else merge_outputs
        inputs, _ = _normalize_sequence(length, inputs, layout, merge_outputs)
        if merge_outputs:
            outputs = symbol.elemwise_add(outputs, inputs, name=f"{outputs.name}_plus_residual")
        else:
            outputs = [symbol.elemwise_add(o, i, name=f"{o.name}_plus_residual")
                       for o, i in zip(outputs, inputs)]
        return outputs, states


class BidirectionalCell(BaseRNNCell):
    """Runs ``l_cell`` forward and ``r_cell`` backward in time and concatenates their outputs
    (unroll only). The states it returns are ``[l_states, r_states]`` (nested, as MXNet).

    Parameters
    ----------
    l_cell, r_cell : BaseRNNCell
    params : RNNParams, optional
        Weights for both cells (which must then own theirs).
    output_prefix : str, default 'bi_'
        Names of the outputs: ``<output_prefix>t<i>``, or ``<output_prefix>out`` when merged.
    """

    def __init__(self, l_cell, r_cell, params=None, output_prefix="bi_"):
        super().__init__("", params=params)
        self._output_prefix = output_prefix
        self._override_cell_params = params is not None
        if self._override_cell_params:
            if not (l_cell._own_params and r_cell._own_params):
                raise RNNCheckError("Either specify params for BidirectionalCell or child "
                                    "cells, not both.")
            l_cell.params._params.update(self.params._params)
            r_cell.params._params.update(self.params._params)
        self.params._params.update(l_cell.params._params)
        self.params._params.update(r_cell.params._params)
        self._cells = [l_cell, r_cell]

    def unpack_weights(self, args):
        return _cells_unpack_weights(self._cells, args)

    def pack_weights(self, args):
        return _cells_pack_weights(self._cells, args)

    def __call__(self, inputs, states):
        raise NotImplementedError("Bidirectional cannot be stepped. Please use unroll")

    @property
    def state_info(self):
        return _cells_state_info(self._cells)

    def begin_state(self, **kwargs):
        if self._modified:
            raise RNNCheckError("After applying modifier cells (e.g. DropoutCell) the base cell "
                                "cannot be called directly. Call the modifier cell instead.")
        return _cells_begin_state(self._cells, **kwargs)

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None):
        self.reset()
        inputs, axis = _normalize_sequence(length, inputs, layout, False)
        if begin_state is None:
            begin_state = self.begin_state()
        states = begin_state
        l_cell, r_cell = self._cells
        n_l = len(l_cell.state_info)
        l_outputs, l_states = l_cell.unroll(length, inputs=inputs, begin_state=states[:n_l],
                                            layout=layout, merge_outputs=merge_outputs)
        r_outputs, r_states = r_cell.unroll(length, inputs=list(reversed(inputs)),
                                            begin_state=states[n_l:], layout=layout,
                                            merge_outputs=merge_outputs)
        if merge_outputs is None:
            merge_outputs = isinstance(l_outputs, Symbol) and isinstance(r_outputs, Symbol)
            if not merge_outputs:
                if isinstance(l_outputs, Symbol):
                    l_outputs = split_steps(symbol, l_outputs, length, axis)
                if isinstance(r_outputs, Symbol):
                    r_outputs = split_steps(symbol, r_outputs, length, axis)
        if merge_outputs:
            outputs = symbol.Concat(l_outputs, symbol.reverse(r_outputs, axis=axis), dim=2,
                                    name=f"{self._output_prefix}out")
        else:
            outputs = [symbol.Concat(lo, ro, dim=1, name=f"{self._output_prefix}t{i}")
                       for i, (lo, ro) in enumerate(zip(l_outputs, reversed(r_outputs)))]
        return outputs, [l_states, r_states]


# the fused cell and its initializer live in their own module (they use the cells above)
from .fused_rnn_cell import FusedRNN, FusedRNNCell  # noqa: E402
