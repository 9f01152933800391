"""Contributed recurrent cells (MXNet 1.x ``gluon.contrib.rnn``): ``VariationalDropoutCell``
(one dropout mask for every step), ``LSTMPCell`` (LSTM with a projected recurrent state) and
``dynamic_unroll`` (a cell run by ``contrib.foreach``)."""

from __future__ import annotations

from ...rnn import _sequence as S
from ...rnn.rnn_cell import (
    _TENSOR,
    BidirectionalCell,
    HybridRecurrentCell,
    HybridSequentialRNNCell,
    ModifierCell,
    SequentialRNNCell,
    _get_begin_state,
)
from ...rnn.rnn_layer import RNNCheckError

__all__ = ["VariationalDropoutCell", "LSTMPCell", "dynamic_unroll"]


def _has_bidirectional(cell):
    if isinstance(cell, BidirectionalCell):
        return True
    if isinstance(cell, (SequentialRNNCell, HybridSequentialRNNCell)):
        return any(_has_bidirectional(c) for c in cell._children.values())
    return False


class VariationalDropoutCell(ModifierCell):
    """Variational dropout (Gal & Ghahramani 2016) around ``base_cell``: the inputs, the first
    state (``h``) and the outputs each get one dropout mask, drawn at the first step and reused
    at every step until :meth:`reset` (which ``unroll`` calls; call it yourself between
    sequences when stepping by hand). Only while training (``autograd.record()``).

    Parameters
    ----------
    base_cell : RecurrentCell
        The wrapped cell.
    drop_inputs : float, default 0
        Dropout rate of the inputs.
    drop_states : float, default 0
        Dropout rate of the first state.
    drop_outputs : float, default 0
        Dropout rate of the outputs.
    """

    def __init__(self, base_cell, drop_inputs=0.0, drop_states=0.0, drop_outputs=0.0):
        if drop_states and _has_bidirectional(base_cell):
            raise RNNCheckError("BidirectionalCell doesn't support variational state dropout. "
                                "Please add VariationalDropoutCell to the cells underneath "
                                "instead.")
        for name, rate in (("drop_inputs", drop_inputs), ("drop_states", drop_states),
                           ("drop_outputs", drop_outputs)):
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or \
                    not 0 <= rate < 1:
                raise RNNCheckError(f"VariationalDropoutCell: {name} must be a number in "
                                    f"[0, 1), got {rate!r}")
        super().__init__(base_cell)
        self.drop_inputs = drop_inputs
        self.drop_states = drop_states
        self.drop_outputs = drop_outputs
        self.drop_inputs_mask = None
        self.drop_states_mask = None
        self.drop_outputs_mask = None

    def _alias(self):
        return "vardrop"

    def reset(self):
        super().reset()
        self.drop_inputs_mask = None
        self.drop_states_mask = None
        self.drop_outputs_mask = None

    def _initialize_input_masks(self, F, inputs, states):
        if self.drop_states and self.drop_states_mask is None:
            self.drop_states_mask = F.Dropout(F.ones_like(states[0]), p=self.drop_states)
        if self.drop_inputs and self.drop_inputs_mask is None:
            self.drop_inputs_mask = F.Dropout(F.ones_like(inputs), p=self.drop_inputs)

    def _initialize_output_mask(self, F, output):
        if self.drop_outputs and self.drop_outputs_mask is None:
            self.drop_outputs_mask = F.Dropout(F.ones_like(output), p=self.drop_outputs)

    def hybrid_forward(self, F, inputs, states):
        cell = self.base_cell
        self._initialize_input_masks(F, inputs, states)
        if self.drop_states:
            states = list(states)
            states[0] = states[0] * self.drop_states_mask  # h is always the first state
        if self.drop_inputs:
            inputs = inputs * self.drop_inputs_mask
        next_output, next_states = cell(inputs, states)
        self._initialize_output_mask(F, next_output)
        if self.drop_outputs:
            next_output = next_output * self.drop_outputs_mask
        return next_output, next_states

    def __repr__(self):
        return (f"{type(self).__name__}(p_out = {self.drop_outputs}, "
                f"p_state = {self.drop_states})")

    def unroll(self, length, inputs, begin_state=None, layout="NTC", merge_outputs=None,
               valid_length=None):
        """Unroll over ``length`` steps (arguments as ``RecurrentCell.unroll``). Without state
        dropout, the input and output dropout run once over the whole sequence, with masks
        shared along the time axis."""
        if self.drop_states:
            return super().unroll(length, inputs, begin_state, layout, merge_outputs,
                                  valid_length=valid_length)
        self.reset()
        inputs, axis, F, batch_size = S.format_sequence(length, inputs, layout, True)
        states = _get_begin_state(self, F, begin_state, inputs, batch_size, layout)
        if self.drop_inputs:
            inputs = F.Dropout(inputs, p=self.drop_inputs, axes=(axis,))
        self.base_cell._modified = False
        try:
            outputs, states = self.base_cell.unroll(length, inputs, states, layout,
                                                    merge_outputs=True,
                                                    valid_length=valid_length)
        finally:
            self.base_cell._modified = True
        if self.drop_outputs:
            outputs = F.Dropout(outputs, p=self.drop_outputs, axes=(axis,))
        merge_outputs = isinstance(outputs, _TENSOR) if merge_outputs is None else merge_outputs
        outputs, _, _, _ = S.format_sequence(length, outputs, layout, merge_outputs)
        if valid_length is not None:
            outputs = S.mask_variable_length(F, outputs, length, valid_length, axis,
                                             merge_outputs)
        return outputs, states


class LSTMPCell(HybridRecurrentCell):
    r"""LSTM cell with a projected recurrent state (LSTMP, Sak et al. 2014):

    ``i, f, g, o = sigmoid / tanh (W_i2h x + b_i2h + W_h2h r + b_h2h)`` (gates ``i, f, c, o``),
    ``c' = f * c + i * g``, ``h = o * tanh(c')``, ``r' = W_h2r h``; the output and the first
    state are ``r'`` (``projection_size`` units), the second state ``c'`` (``hidden_size``).

    Parameters
    ----------
    hidden_size : int
        Units of the cell state.
    projection_size : int
        Units of the output (the projected state).
    i2h_weight_initializer, h2h_weight_initializer, h2r_weight_initializer : str or
        Initializer, optional
    i2h_bias_initializer, h2h_bias_initializer : str or Initializer, default 'zeros'
    input_size : int, default 0
        0 infers it on the first call.
    prefix : str, default ``'lstmp<n>_'``
    params : ParameterDict, optional
    """

    def __init__(self, hidden_size, projection_size, i2h_weight_initializer=None,
                 h2h_weight_initializer=None, h2r_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros", input_size=0,
                 prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        if int(hidden_size) <= 0 or int(projection_size) <= 0:
            raise RNNCheckError(f"LSTMPCell: hidden_size and projection_size must be positive, "
                                f"got {hidden_size} and {projection_size}")
        self._hidden_size = hidden_size
        self._input_size = input_size
        self._projection_size = projection_size
        n = 4 * hidden_size
        self.i2h_weight = self.params.get("i2h_weight", shape=(n, input_size),
                                          init=i2h_weight_initializer, allow_deferred_init=True)
        self.h2h_weight = self.params.get("h2h_weight", shape=(n, projection_size),
                                          init=h2h_weight_initializer, allow_deferred_init=True)
        self.h2r_weight = self.params.get("h2r_weight", shape=(projection_size, hidden_size),
                                          init=h2r_weight_initializer, allow_deferred_init=True)
        self.i2h_bias = self.params.get("i2h_bias", shape=(n,), init=i2h_bias_initializer,
                                        allow_deferred_init=True)
        self.h2h_bias = self.params.get("h2h_bias", shape=(n,), init=h2h_bias_initializer,
                                        allow_deferred_init=True)

    def state_info(self, batch_size=0):
        return [{"shape": (batch_size, self._projection_size), "__layout__": "NC"},
                {"shape": (batch_size, self._hidden_size), "__layout__": "NC"}]

    def _alias(self):
        return "lstmp"

    def __repr__(self):
        shape = self.i2h_weight.shape
        proj = self.h2r_weight.shape
        return (f"{type(self).__name__}({shape[1] if shape[1] else None} -> {shape[0]} -> "
                f"{proj[0]})")

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, h2r_weight, i2h_bias,
                       h2h_bias):
        prefix = f"t{self._counter}_"
        n = self._hidden_size * 4
        i2h = F.FullyConnected(inputs, i2h_weight, i2h_bias, num_hidden=n, name=prefix + "i2h")
        h2h = F.FullyConnected(states[0], h2h_weight, h2h_bias, num_hidden=n,
                               name=prefix + "h2h")
        gates = F.SliceChannel(i2h + h2h, num_outputs=4, name=prefix + "slice")
        in_gate = F.Activation(gates[0], act_type="sigmoid", name=prefix + "i")
        forget_gate = F.Activation(gates[1], act_type="sigmoid", name=prefix + "f")
        in_transform = F.Activation(gates[2], act_type="tanh", name=prefix + "c")
        out_gate = F.Activation(gates[3], act_type="sigmoid", name=prefix + "o")
        next_c = F.elemwise_add(forget_gate * states[1], in_gate * in_transform,
                                name=prefix + "state")
        hidden = F.elemwise_mul(out_gate, F.Activation(next_c, act_type="tanh"),
                                name=prefix + "hidden")
        next_r = F.FullyConnected(hidden, h2r_weight, num_hidden=self._projection_size,
                                  no_bias=True, name=prefix + "out")
        return next_r, [next_r, next_c]


def dynamic_unroll(cell, inputs, begin_state, drop_inputs=0, drop_outputs=0, layout="TNC",
                   valid_length=None):
    """Run ``cell`` over a sequence with ``F.contrib.foreach`` (one loop node in a graph,
    instead of one copy of the cell per step).

    Parameters
    ----------
    cell : RecurrentCell
        A cell that can be stepped.
    inputs : NDArray or Symbol
        (batch, length, ...) for 'NTC', (length, batch, ...) for 'TNC'.
    begin_state : list of NDArray or Symbol
        The initial states.
    drop_inputs, drop_outputs : float, default 0
        Dropout of the inputs / outputs, one mask shared by every step.
    layout : str, default 'TNC'
    valid_length : NDArray or Symbol, optional
        (batch,) lengths: the states stop changing at each sequence's length, and the outputs
        past it are zero.

    Returns
    -------
    outputs (in ``layout``), states
    """
    inputs, axis, F, _ = S.format_sequence(None, inputs, layout, True)
    if axis != 0:  # foreach runs over axis 0
        inputs = F.swapaxes(inputs, dim1=0, dim2=axis)
    if drop_inputs:
        inputs = F.Dropout(inputs, p=drop_inputs, axes=(0,))
    states = list(begin_state)
    if valid_length is None:
        def body(x, states):
            return cell(x, states)
    else:
        states.append(F.zeros((1,)))  # the step number

        def body(x, states):
            old, step = states[:-1], states[-1]
            out, new = cell(x, old)
            keep = F.broadcast_greater(valid_length, step)
            new = [F.where(keep, n, o) for n, o in zip(new, old)]
            return out, new + [step + 1]
    outputs, states = F.contrib.foreach(body, inputs, states)
    if drop_outputs:
        outputs = F.Dropout(outputs, p=drop_outputs, axes=(0,))
    if axis != 0:
        outputs = F.swapaxes(outputs, dim1=0, dim2=axis)
    if valid_length is not None:
        outputs = F.SequenceMask(outputs, sequence_length=valid_length,
                                 use_sequence_length=True, axis=axis)
        states = states[:-1]
    return outputs, states
