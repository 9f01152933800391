"""Recurrent cells (MXNet 1.x ``gluon.rnn``): one time step per call, ``unroll`` for sequences.

``RNNCell``, ``LSTMCell`` (gates ``i, f, g, o``), ``GRUCell`` (``r, z, n``) share the fused
layers' weight layout, so a cell with a layer's ``l0_*`` weights computes what the layer does.
Containers and modifiers: ``SequentialRNNCell``, ``HybridSequentialRNNCell``, ``DropoutCell``,
``ZoneoutCell``, ``ResidualCell``, ``BidirectionalCell``.
"""

from __future__ import annotations

import numpy as np

from ... import ndarray as nd
from ...graph.symbol import Symbol
from ...graph.trace import Tracer
from ...ndarray import NDArray
from ..block import Block, HybridBlock
from . import _sequence as S
from .rnn_layer import RNNCheckError, _state_array

__all__ = ["RecurrentCell", "HybridRecurrentCell", "RNNCell", "LSTMCell", "GRUCell",
           "SequentialRNNCell", "HybridSequentialRNNCell", "DropoutCell", "ModifierCell",
           "ZoneoutCell", "ResidualCell", "BidirectionalCell"]

_TENSOR = (NDArray, Symbol)


def _cells_state_info(cells, batch_size):
    return sum([c.state_info(batch_size) for c in cells], [])


def _cells_begin_state(cells, **kwargs):
    return sum([c.begin_state(**kwargs) for c in cells], [])


def _get_begin_state(cell, F, begin_state, inputs, batch_size, layout="NTC"):
    """The given states, or zeros: on the inputs' context and dtype (MXNet 1.x makes float32
    zeros; taking the input dtype lets float64 models unroll). In a graph (Symbols, or the
    tracers of a hybridized block) the zeros take their batch size from the input, so the graph
    runs at any batch size."""
    if begin_state is not None:
        return begin_state
    first = inputs if isinstance(inputs, _TENSOR) else inputs[0]
    if F is nd and not isinstance(first, Tracer):
        with first.context:
            return cell.begin_state(func=F.zeros, batch_size=batch_size,
                                    dtype=np.dtype(first.dtype).name)
    batch_axis = layout.find("N") if isinstance(inputs, _TENSOR) else 0
    dtype = np.dtype(first.dtype).name if isinstance(first, NDArray) else "float32"
    return [F.broadcast_like(F.zeros((1,) + tuple(info["shape"][1:]), dtype=dtype), first,
                             lhs_axes=(0,), rhs_axes=(batch_axis,))
            for info in cell.state_info(1)]


class RecurrentCell(Block):
    """Base class of recurrent cells: ``cell(inputs, states) -> (output, new_states)``.

    Parameters
    ----------
    prefix : str, optional
        Prefix of the parameter names.
    params : ParameterDict, optional
        Parameters to share.
    """

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._modified = False
        self.reset()

    def reset(self):
        """Reset the step counters before a new unroll."""
        self._init_counter = -1
        self._counter = -1
        for cell in self._children.values():
            if isinstance(cell, RecurrentCell):  # not e.g. an activation Block
                cell.reset()

    def state_info(self, batch_size=0):
        """Shape and layout of each state: a list of dicts."""
        raise NotImplementedError()

    def begin_state(self, batch_size=0, func=nd.zeros, **kwargs):
        """Initial states: ``func(name=..., shape=..., **kwargs)`` per entry of
        :meth:`state_info`.

        Parameters
        ----------
        batch_size : int
            The batch size.
        func : callable, default ``mx.nd.zeros``
            Makes each state (``mx.nd.zeros``, ``mx.nd.random.uniform``, ``mx.sym.var``, ...).
        **kwargs
            More arguments of ``func`` (``ctx``, ``dtype``).
        """
        if self._modified:
            raise RNNCheckError("After applying modifier cells (e.g. ZoneoutCell) the base "
                                  "cell cannot be called directly. Call the modifier cell "
                                  "instead.")
        states = []
        for info in self.state_info(batch_size):
            self._init_counter += 1
            info = dict(info) if info is not None else {}
            info.update(kwargs)
            states.append(_state_array(func, f"{self._prefix}begin_state_{self._init_counter}",
                                       info))
        return states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None,
               valid_length=None):
        """Run the cell over ``length`` steps.

        Parameters
        ----------
        length : int
            Number of steps.
        inputs : NDArray, Symbol or list of them
            The sequence in ``layout``, or a list of ``length`` arrays (batch, channel).
        begin_state : list, optional
            Initial states; zeros (:meth:`begin_state`) by default.
        layout : str, default 'NTC'
            Layout of ``inputs`` and of a merged output.
        merge_outputs : bool, optional
            True: one array in ``layout``; False: a list per step; None: as the inputs came.
        valid_length : NDArray, optional
            (batch,) lengths: outputs past them are zero and the returned states are those of
            each sequence's last valid step.

        Returns
        -------
        outputs, states
        """
        self.reset()
        inputs, axis, F, batch_size = S.format_sequence(length, inputs, layout, False)
        begin_state = _get_begin_state(self, F, begin_state, inputs, batch_size, layout)
        states = begin_state
        outputs, all_states = [], []
        for i in range(length):
            output, states = self(inputs[i], states)
            outputs.append(output)
            if valid_length is not None:
                all_states.append(states)
        if valid_length is not None:
            states = [S.last_valid(F, list(ele), valid_length) for ele in zip(*all_states)]
            outputs = S.mask_variable_length(F, outputs, length, valid_length, axis, True)
        outputs, _, _, _ = S.format_sequence(length, outputs, layout, merge_outputs)
        return outputs, states

    def _get_activation(self, F, inputs, activation, **kwargs):
        """``activation`` by name (``tanh``, ``relu``, ``sigmoid``, ``softsign``, or any
        ``Activation`` type), or a callable / Block applied to ``inputs``."""
        if isinstance(activation, str):
            fn = {"tanh": F.tanh, "relu": F.relu, "sigmoid": F.sigmoid,
                  "softsign": F.softsign}.get(activation)
            if fn is not None:
                return fn(inputs, **kwargs)
            return F.Activation(inputs, act_type=activation, **kwargs)
        kwargs.pop("name", None)  # a Block (e.g. nn.LeakyReLU) names its own output
        return activation(inputs, **kwargs)

    def forward(self, inputs, states):
        """One step: ``(output, new_states)``."""
        self._counter += 1
        return super().forward(inputs, states)


class HybridRecurrentCell(RecurrentCell, HybridBlock):
    """A recurrent cell that can be hybridized: override ``hybrid_forward(F, inputs, states,
    **params)``."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def hybrid_forward(self, F, x, *args, **kwargs):
        raise NotImplementedError


class _GatedCell(HybridRecurrentCell):
    """The parameters ``i2h_weight (gates*H, input)``, ``h2h_weight (gates*H, H)`` and the two
    biases, as every elementary cell has them."""

    _num_gates = 1

    def __init__(self, hidden_size, i2h_weight_initializer, h2h_weight_initializer,
                 i2h_bias_initializer, h2h_bias_initializer, input_size, prefix, params):
        super().__init__(prefix=prefix, params=params)
        self._hidden_size = hidden_size
        self._input_size = input_size
        n = self._num_gates * hidden_size
        self.i2h_weight = self.params.get("i2h_weight", shape=(n, input_size),
                                          init=i2h_weight_initializer, allow_deferred_init=True)
        self.h2h_weight = self.params.get("h2h_weight", shape=(n, hidden_size),
                                          init=h2h_weight_initializer, allow_deferred_init=True)
        self.i2h_bias = self.params.get("i2h_bias", shape=(n,), init=i2h_bias_initializer,
                                        allow_deferred_init=True)
        self.h2h_bias = self.params.get("h2h_bias", shape=(n,), init=h2h_bias_initializer,
                                        allow_deferred_init=True)

    def state_info(self, batch_size=0):
        return [{"shape": (batch_size, self._hidden_size), "__layout__": "NC"}]

    def _projections(self, F, inputs, state, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        prefix = f"t{self._counter}_"
        n = self._num_gates * self._hidden_size
        i2h = F.FullyConnected(inputs, i2h_weight, i2h_bias, num_hidden=n, name=prefix + "i2h")
        h2h = F.FullyConnected(state, h2h_weight, h2h_bias, num_hidden=n, name=prefix + "h2h")
        return i2h, h2h

    def __repr__(self):
        shape = self.i2h_weight.shape
        return f"{type(self).__name__}({shape[1] if shape[1] else None} -> {shape[0]})"


class RNNCell(_GatedCell):
    """Elman RNN cell: ``h' = activation(W_ih x + b_ih + W_hh h + b_hh)``.

    Parameters
    ----------
    hidden_size : int
        Number of units in the output.
    activation : str or Block, default 'tanh'
        The nonlinearity.
    i2h_weight_initializer, h2h_weight_initializer : str or Initializer, optional
        Weight initializers.
    i2h_bias_initializer, h2h_bias_initializer : str or Initializer, default 'zeros'
        Bias initializers.
    input_size : int, default 0
        Input size; 0 infers it on the first call.
    prefix, params : see :class:`RecurrentCell`.
    """

    def __init__(self, hidden_size, activation="tanh", i2h_weight_initializer=None,
                 h2h_weight_initializer=None, i2h_bias_initializer="zeros",
                 h2h_bias_initializer="zeros", input_size=0, prefix=None, params=None):
        super().__init__(hidden_size, i2h_weight_initializer, h2h_weight_initializer,
                         i2h_bias_initializer, h2h_bias_initializer, input_size, prefix, params)
        self._activation = activation

    def _alias(self):
        return "rnn"

    def __repr__(self):
        return f"{_GatedCell.__repr__(self)[:-1]}, {self._activation})"

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        i2h, h2h = self._projections(F, inputs, states[0], i2h_weight, h2h_weight, i2h_bias,
                                     h2h_bias)
        # named ``t<step>_out`` as in MXNet, so unrolled outputs are ``<prefix>t0_out_output``...
        output = self._get_activation(F, i2h + h2h, self._activation,
                                      name=f"t{self._counter}_out")
        return output, [output]


class _TwoActivationCell(_GatedCell):
    """A gated cell with MXNet's LSTM/GRU constructor: an output ``activation`` and the gates'
    ``recurrent_activation``."""

    def __init__(self, hidden_size, i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros", input_size=0,
                 prefix=None, params=None, activation="tanh", recurrent_activation="sigmoid"):
        super().__init__(hidden_size, i2h_weight_initializer, h2h_weight_initializer,
                         i2h_bias_initializer, h2h_bias_initializer, input_size, prefix, params)
        self._activation = activation
        self._recurrent_activation = recurrent_activation


class LSTMCell(_TwoActivationCell):
    """LSTM cell (gates ``i, f, g, o`` in the weights, in that order).

    Parameters
    ----------
    hidden_size : int
        Number of units in the output.
    i2h_weight_initializer, h2h_weight_initializer : str or Initializer, optional
        Weight initializers.
    i2h_bias_initializer, h2h_bias_initializer : str or Initializer, default 'zeros'
        Bias initializers.
    input_size : int, default 0
        Input size; 0 infers it on the first call.
    prefix, params : see :class:`RecurrentCell`.
    activation : str, default 'tanh'
        Activation of the cell input and of the output.
    recurrent_activation : str, default 'sigmoid'
        Activation of the gates.
    """

    _num_gates = 4

    def _alias(self):
        return "lstm"

    def state_info(self, batch_size=0):
        return [{"shape": (batch_size, self._hidden_size), "__layout__": "NC"},
                {"shape": (batch_size, self._hidden_size), "__layout__": "NC"}]

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        i2h, h2h = self._projections(F, inputs, states[0], i2h_weight, h2h_weight, i2h_bias,
                                     h2h_bias)
        gates = F.SliceChannel(i2h + h2h, num_outputs=4, name=f"t{self._counter}_slice")
        in_gate = self._get_activation(F, gates[0], self._recurrent_activation)
        forget_gate = self._get_activation(F, gates[1], self._recurrent_activation)
        in_transform = self._get_activation(F, gates[2], self._activation)
        out_gate = self._get_activation(F, gates[3], self._recurrent_activation)
        next_c = forget_gate * states[1] + in_gate * in_transform
        next_h = F.elemwise_mul(out_gate, self._get_activation(F, next_c, self._activation),
                                name=f"t{self._counter}_out")
        return next_h, [next_h, next_c]


class GRUCell(_TwoActivationCell):
    """GRU cell (gates ``r, z, n``): ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``,
    ``h' = (1 - z) * n + z * h``.

    Parameters
    ----------
    hidden_size : int
        Number of units in the output.
    i2h_weight_initializer, h2h_weight_initializer : str or Initializer, optional
        Weight initializers.
    i2h_bias_initializer, h2h_bias_initializer : str or Initializer, default 'zeros'
        Bias initializers.
    input_size : int, default 0
        Input size; 0 infers it on the first call.
    prefix, params : see :class:`RecurrentCell`.
    activation : str, default 'tanh'
        Activation of the candidate state.
    recurrent_activation : str, default 'sigmoid'
        Activation of the gates.
    """

    _num_gates = 3

    def _alias(self):
        return "gru"

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        prev_h = states[0]
        i2h, h2h = self._projections(F, inputs, prev_h, i2h_weight, h2h_weight, i2h_bias,
                                     h2h_bias)
        i2h_r, i2h_z, i2h_n = F.SliceChannel(i2h, num_outputs=3)
        h2h_r, h2h_z, h2h_n = F.SliceChannel(h2h, num_outputs=3)
        reset_gate = self._get_activation(F, i2h_r + h2h_r, self._recurrent_activation)
        update_gate = self._get_activation(F, i2h_z + h2h_z, self._recurrent_activation)
        candidate = self._get_activation(F, i2h_n + reset_gate * h2h_n, self._activation)
        next_h = F.elemwise_add((F.ones_like(update_gate) - update_gate) * candidate,
                                update_gate * prev_h, name=f"t{self._counter}_out")
        return next_h, [next_h]


# -- containers ----------------------------------------------------------------------------------
def _step_through(cells, inputs, states):
    """One step through stacked cells, handing each its slice of ``states``."""
    next_states, p = [], 0
    for cell in cells:
        if isinstance(cell, BidirectionalCell):
            raise RNNCheckError("BidirectionalCell cannot be stepped; use unroll")
        n = len(cell.state_info())
        inputs, state = cell(inputs, states[p:p + n])
        p += n
        next_states.append(state)
    return inputs, sum(next_states, [])


def _unroll_stack(self, length, inputs, begin_state, layout, merge_outputs, valid_length):
    self.reset()
    inputs, _, F, batch_size = S.format_sequence(length, inputs, layout, None)
    cells = list(self._children.values())
    begin_state = _get_begin_state(self, F, begin_state, inputs, batch_size, layout)
    p, next_states = 0, []
    for i, cell in enumerate(cells):
        n = len(cell.state_info())
        states = begin_state[p:p + n]
        p += n
        inputs, states = cell.unroll(length, inputs=inputs, begin_state=states, layout=layout,
                                     merge_outputs=None if i < len(cells) - 1 else merge_outputs,
                                     valid_length=valid_length)
        next_states.extend(states)
    return inputs, next_states


class SequentialRNNCell(RecurrentCell):
    """Cells stacked on each other: the output of one is the input of the next."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def __repr__(self):
        # as MXNet prints it: children unindented on their first line, nested lines by two
        mods = "\n".join(f"({i}): " + repr(c).replace("\n", "\n  ")
                         for i, c in self._children.items())
        return f"{type(self).__name__}(\n{mods}\n)"

    def add(self, cell):
        """Append a cell."""
        self.register_child(cell)

    def state_info(self, batch_size=0):
        return _cells_state_info(self._children.values(), batch_size)

    def begin_state(self, **kwargs):
        if self._modified:
            raise RNNCheckError("After applying modifier cells (e.g. ZoneoutCell) the base "
                                  "cell cannot be called directly. Call the modifier cell "
                                  "instead.")
        return _cells_begin_state(self._children.values(), **kwargs)

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None,
               valid_length=None):
        return _unroll_stack(self, length, inputs, begin_state, layout, merge_outputs,
                             valid_length)

    def __call__(self, inputs, states):
        self._counter += 1
        return _step_through(self._children.values(), inputs, states)

    def __getitem__(self, i):
        return list(self._children.values())[i]

    def __len__(self):
        return len(self._children)

    def hybrid_forward(self, *args, **kwargs):
        raise NotImplementedError


class HybridSequentialRNNCell(HybridRecurrentCell):
    """:class:`SequentialRNNCell` of hybridizable cells."""

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    __repr__ = SequentialRNNCell.__repr__
    add = SequentialRNNCell.add
    state_info = SequentialRNNCell.state_info
    begin_state = SequentialRNNCell.begin_state
    unroll = SequentialRNNCell.unroll
    __call__ = SequentialRNNCell.__call__
    __getitem__ = SequentialRNNCell.__getitem__
    __len__ = SequentialRNNCell.__len__

    def hybrid_forward(self, F, inputs, states):
        return self.__call__(inputs, states)


class DropoutCell(HybridRecurrentCell):
    """Dropout on the input (no state).

    Parameters
    ----------
    rate : float
        Fraction of the input units to drop.
    axes : tuple of int, default ()
        Axes that share one mask (variational dropout).
    """

    def __init__(self, rate, axes=(), prefix=None, params=None):
        super().__init__(prefix, params)
        if not isinstance(rate, (int, float)):
            raise RNNCheckError("rate must be a number")
        self._rate = rate
        self._axes = axes

    def __repr__(self):
        return f"{type(self).__name__}(rate={self._rate}, axes={self._axes})"

    def state_info(self, batch_size=0):
        return []

    def _alias(self):
        return "dropout"

    def hybrid_forward(self, F, inputs, states):
        if self._rate > 0:
            inputs = F.Dropout(inputs, p=self._rate, axes=self._axes,
                               name=f"t{self._counter}_fwd")
        return inputs, states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None,
               valid_length=None):
        self.reset()
        inputs, _, F, _ = S.format_sequence(length, inputs, layout, merge_outputs)
        if isinstance(inputs, _TENSOR):
            return self.hybrid_forward(F, inputs, begin_state if begin_state else [])
        return super().unroll(length, inputs, begin_state=begin_state, layout=layout,
                              merge_outputs=merge_outputs, valid_length=valid_length)


class ModifierCell(HybridRecurrentCell):
    """Base of cells that wrap another cell (its parameters are the wrapped cell's)."""

    def __init__(self, base_cell):
        if base_cell._modified:
            raise RNNCheckError(f"Cell {base_cell.name} is already modified. One cell cannot "
                                  f"be modified twice")
        base_cell._modified = True
        super().__init__(prefix=base_cell.prefix + self._alias(), params=None)
        self.base_cell = base_cell

    @property
    def params(self):
        return self.base_cell.params

    def state_info(self, batch_size=0):
        return self.base_cell.state_info(batch_size)

    def begin_state(self, func=nd.zeros, **kwargs):
        if self._modified:
            raise RNNCheckError("After applying modifier cells (e.g. ZoneoutCell) the base "
                                  "cell cannot be called directly. Call the modifier cell "
                                  "instead.")
        self.base_cell._modified = False
        try:
            return self.base_cell.begin_state(func=func, **kwargs)
        finally:
            self.base_cell._modified = True

    def hybrid_forward(self, F, inputs, states):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self.base_cell!r})"


class ZoneoutCell(ModifierCell):
    """Zoneout (Krueger et al. 2016): while training, each unit keeps its previous output /
    state with probability ``zoneout_outputs`` / ``zoneout_states``."""

    def __init__(self, base_cell, zoneout_outputs=0.0, zoneout_states=0.0):
        if isinstance(base_cell, BidirectionalCell):
            raise RNNCheckError("BidirectionalCell doesn't support zoneout since it doesn't "
                                  "support step. Please add ZoneoutCell to the cells underneath "
                                  "instead.")
        super().__init__(base_cell)
        self.zoneout_outputs = zoneout_outputs
        self.zoneout_states = zoneout_states
        self._prev_output = None

    def __repr__(self):
        return (f"{type(self).__name__}(p_out={self.zoneout_outputs}, "
                f"p_state={self.zoneout_states}, {self.base_cell!r})")

    def _alias(self):
        return "zoneout"

    def reset(self):
        super().reset()
        self._prev_output = None

    def hybrid_forward(self, F, inputs, states):
        cell, p_outputs, p_states = self.base_cell, self.zoneout_outputs, self.zoneout_states
        next_output, next_states = cell(inputs, states)

        def mask(p, like):  # 1 where the new value is kept (scaled by Dropout: nonzero is all)
            return F.Dropout(F.ones_like(like), p=p)

        prev_output = self._prev_output
        if prev_output is None:
            prev_output = F.zeros_like(next_output)
        output = (F.where(mask(p_outputs, next_output), next_output, prev_output)
                  if p_outputs != 0.0 else next_output)
        states = ([F.where(mask(p_states, new_s), new_s, old_s)
                   for new_s, old_s in zip(next_states, states)]
                  if p_states != 0.0 else next_states)
        self._prev_output = output
        return output, states


class ResidualCell(ModifierCell):
    """Adds the input to the wrapped cell's output (a residual connection)."""

    def __init__(self, base_cell):
        super().__init__(base_cell)

    def _alias(self):
        return "residual"

    def hybrid_forward(self, F, inputs, states):
        output, states = self.base_cell(inputs, states)
        return F.elemwise_add(output, inputs, name=f"t{self._counter}_fwd"), states

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None,
               valid_length=None):
        self.reset()
        self.base_cell._modified = False
        try:
            outputs, states = self.base_cell.unroll(length, inputs=inputs,
                                                    begin_state=begin_state, layout=layout,
                                                    merge_outputs=merge_outputs,
                                                    valid_length=valid_length)
        finally:
            self.base_cell._modified = True
        merge_outputs = isinstance(outputs, _TENSOR) if merge_outputs is None else merge_outputs
        inputs, axis, F, _ = S.format_sequence(length, inputs, layout, merge_outputs)
        if valid_length is not None:
            inputs = S.mask_variable_length(F, inputs, length, valid_length, axis, merge_outputs)
        if merge_outputs:
            outputs = F.elemwise_add(outputs, inputs)
        else:
            outputs = [F.elemwise_add(i, j) for i, j in zip(outputs, inputs)]
        return outputs, states


class BidirectionalCell(HybridRecurrentCell):
    """Runs ``l_cell`` forward and ``r_cell`` backward in time and concatenates their outputs;
    it can only be unrolled.

    Parameters
    ----------
    l_cell, r_cell : RecurrentCell
        The forward and the backward cell.
    output_prefix : str, default 'bi_'
        Prefix of the output names.
    """

    def __init__(self, l_cell, r_cell, output_prefix="bi_"):
        super().__init__(prefix="", params=None)
        self.register_child(l_cell, "l_cell")
        self.register_child(r_cell, "r_cell")
        self._output_prefix = output_prefix

    def __call__(self, inputs, states):
        raise NotImplementedError("Bidirectional cannot be stepped. Please use unroll")

    def __repr__(self):
        l_cell, r_cell = self._children.values()
        return f"{type(self).__name__}(forward={l_cell!r}, backward={r_cell!r})"

    def state_info(self, batch_size=0):
        return _cells_state_info(self._children.values(), batch_size)

    def begin_state(self, **kwargs):
        if self._modified:
            raise RNNCheckError("After applying modifier cells (e.g. ZoneoutCell) the base "
                                  "cell cannot be called directly. Call the modifier cell "
                                  "instead.")
        return _cells_begin_state(self._children.values(), **kwargs)

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None,
               valid_length=None):
        self.reset()
        inputs, axis, F, batch_size = S.format_sequence(length, inputs, layout, False)
        reversed_inputs = S.reverse_sequences(F, inputs, length, valid_length)
        begin_state = _get_begin_state(self, F, begin_state, inputs, batch_size, layout)
        l_cell, r_cell = self._children.values()
        n_l = len(l_cell.state_info(batch_size))
        l_outputs, l_states = l_cell.unroll(length, inputs=inputs, begin_state=begin_state[:n_l],
                                            layout=layout, merge_outputs=merge_outputs,
                                            valid_length=valid_length)
        r_outputs, r_states = r_cell.unroll(length, inputs=reversed_inputs,
                                            begin_state=begin_state[n_l:], layout=layout,
                                            merge_outputs=False, valid_length=valid_length)
        reversed_r_outputs = S.reverse_sequences(F, r_outputs, length, valid_length)
        if merge_outputs is None:
            merge_outputs = isinstance(l_outputs, _TENSOR)
            l_outputs, _, _, _ = S.format_sequence(None, l_outputs, layout, merge_outputs)
            reversed_r_outputs, _, _, _ = S.format_sequence(None, reversed_r_outputs, layout,
                                                            merge_outputs)
        if merge_outputs:
            if not isinstance(reversed_r_outputs, _TENSOR):
                reversed_r_outputs = F.stack(*reversed_r_outputs, axis=axis)
            outputs = F.concat(l_outputs, reversed_r_outputs, dim=2,
                               name=f"{self._output_prefix}out")
        else:
            outputs = [F.concat(lo, ro, dim=1, name=f"{self._output_prefix}t{i}")
                       for i, (lo, ro) in enumerate(zip(l_outputs, reversed_r_outputs))]
        if valid_length is not None:
            outputs = S.mask_variable_length(F, outputs, length, valid_length, axis,
                                             merge_outputs)
        return outputs, l_states + r_states
