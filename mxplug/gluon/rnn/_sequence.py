"""Sequence helpers of ``unroll``: splitting/merging along the time axis, and the
variable-length handling through ``SequenceMask``/``SequenceLast``/``SequenceReverse`` as MXNet
does it. ``F`` is ``mx.nd`` or ``mx.sym``."""

from __future__ import annotations

from ... import ndarray as nd
from ... import symbol
from ...base import MXNetError
from ...graph.symbol import Symbol
from ...ndarray import NDArray
from .rnn_layer import RNNCheckError

_TENSOR = (NDArray, Symbol)


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _known_shape(x):
    """``x.shape``, or None for a traced array whose shape is not known yet (a hybridized
    parent's shape-inference trace, before the cells' parameters have shapes)."""
    try:
        return tuple(x.shape)
    except MXNetError:
        return None


def split_steps(F, x, length, axis):
    """``x`` split along ``axis`` into a list of ``length`` arrays without that axis (a grouped
    Symbol is taken apart output by output)."""
    out = F.split(x, axis=axis, num_outputs=length, squeeze_axis=True)
    if isinstance(out, Symbol):
        return [out[i] for i in range(length)] if length > 1 else [out]
    return _as_list(out)


def format_sequence(length, inputs, layout, merge, in_layout=None):
    """``(inputs, time_axis, F, batch_size)``: ``inputs`` as a list of steps (``merge`` False),
    one array in ``layout`` (True), or as given (None)."""
    if inputs is None:
        raise RNNCheckError("unroll(inputs=None) has been deprecated. Please create input "
                         "variables outside unroll.")
    axis, batch_axis = layout.find("T"), layout.find("N")
    batch_size = 0
    in_axis = in_layout.find("T") if in_layout is not None else axis
    if isinstance(inputs, Symbol):
        F = symbol
        if merge is False:
            inputs = split_steps(symbol, inputs, length, in_axis)
    elif isinstance(inputs, NDArray):
        F = nd
        shape = _known_shape(inputs)
        batch_size = shape[batch_axis] if shape else 0
        if merge is False:
            steps = shape[in_axis] if shape else length
            if length is not None and length != steps:
                raise RNNCheckError(f"unroll: length={length} but the inputs have "
                                    f"{steps} steps along axis {in_axis}")
            inputs = split_steps(nd, inputs, steps, in_axis)
    else:
        if length is not None and len(inputs) != length:
            raise RNNCheckError(f"unroll: length={length} but {len(inputs)} inputs were given")
        if isinstance(inputs[0], Symbol):
            F = symbol
        else:
            F = nd
            shape = _known_shape(inputs[0])
            batch_size = shape[0] if shape else 0
        if merge is True:
            inputs = F.concat(*[F.expand_dims(i, axis=axis) for i in inputs], dim=axis)
            in_axis = axis
    if isinstance(inputs, _TENSOR) and axis != in_axis:
        inputs = F.swapaxes(inputs, dim1=axis, dim2=in_axis)
    return inputs, axis, F, batch_size


def mask_variable_length(F, data, length, valid_length, time_axis, merge):
    """Zero the steps of ``data`` at or past each sequence's ``valid_length``."""
    if not isinstance(data, _TENSOR):
        data = F.stack(*data, axis=time_axis)
    out = F.SequenceMask(data, sequence_length=valid_length, use_sequence_length=True,
                         axis=time_axis)
    return out if merge else split_steps(F, out, length, time_axis)


def last_valid(F, states, valid_length):
    """The entry of ``states`` (one array per step) at each sequence's last valid step."""
    return F.SequenceLast(F.stack(*states, axis=0), sequence_length=valid_length,
                          use_sequence_length=True, axis=0)


def reverse_sequences(F, sequences, length, valid_length=None):
    """The steps in reverse order; with ``valid_length`` each sequence's valid part reversed
    in place and its padding left where it is."""
    if isinstance(sequences, _TENSOR):
        sequences = split_steps(F, sequences, length, 0)
    if valid_length is None:
        return list(reversed(sequences))
    out = F.SequenceReverse(F.stack(*sequences, axis=0), sequence_length=valid_length,
                            use_sequence_length=True)
    return split_steps(F, out, length, 0)
