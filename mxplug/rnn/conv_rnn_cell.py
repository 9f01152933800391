"""MXNet 1.x's legacy convolutional recurrent cells (``mx.rnn.ConvRNNCell``, ``ConvLSTMCell``,
``ConvGRUCell``; Shi et al. 2015): the ``i2h`` and ``h2h`` projections of :mod:`.rnn_cell`'s cells
as convolutions, the gates the same."""

from __future__ import annotations

import functools

from .. import symbol
from ..gluon.contrib.rnn.conv_rnn_cell import _conv_out_size, _convolution
from ..gluon.rnn.rnn_layer import RNNCheckError
from .rnn_cell import BaseRNNCell, _check_states, _describe

__all__ = ["BaseConvRNNCell", "ConvRNNCell", "ConvLSTMCell", "ConvGRUCell"]


class BaseConvRNNCell(BaseRNNCell):
    """Base class of the legacy 2-D convolutional cells: the ``i2h`` and ``h2h`` projections
    are convolutions (``h2h`` keeps the state's spatial size, so its kernel must be odd)."""

    def __init__(self, input_shape, num_hidden, h2h_kernel, h2h_dilate, i2h_kernel, i2h_stride,
                 i2h_pad, i2h_dilate, i2h_weight_initializer, h2h_weight_initializer,
                 i2h_bias_initializer, h2h_bias_initializer, activation, prefix="", params=None,
                 conv_layout="NCHW"):
        super().__init__(prefix=prefix, params=params)
        if len(input_shape) != 4:
            raise RNNCheckError(f"{_describe(self)}: input_shape must be the 4-D shape of one "
                                f"step (batch included) in {conv_layout}, got {input_shape}")
        if conv_layout not in ("NCHW", "NHWC"):
            raise RNNCheckError(f"{_describe(self)}: conv_layout must be 'NCHW' or 'NHWC', got "
                                f"{conv_layout!r}")
        if any(k % 2 == 0 for k in h2h_kernel):
            raise RNNCheckError(f"Only support odd number, get h2h_kernel= {h2h_kernel}")
        self._h2h_kernel = tuple(h2h_kernel)
        self._h2h_pad = tuple(d * (k - 1) // 2 for d, k in zip(h2h_dilate, h2h_kernel))
        self._h2h_dilate = tuple(h2h_dilate)
        self._i2h_kernel = tuple(i2h_kernel)
        self._i2h_stride = tuple(i2h_stride)
        self._i2h_pad = tuple(i2h_pad)
        self._i2h_dilate = tuple(i2h_dilate)
        self._num_hidden = num_hidden
        self._input_shape = tuple(input_shape)
        self._conv_layout = conv_layout
        self._activation = activation
        c_axis = conv_layout.find("C")
        spatial = [d for a, d in enumerate(input_shape) if a not in (0, c_axis)]
        size = _conv_out_size(spatial, self._i2h_kernel, self._i2h_pad, self._i2h_dilate,
                              self._i2h_stride)
        if any(s <= 0 for s in size):
            raise RNNCheckError(f"{_describe(self)}: the i2h convolution of an input of shape "
                                f"{input_shape} gives an empty state {size}")
        self._state_shape = ((0, num_hidden) + size if c_axis == 1
                             else (0,) + size + (num_hidden,))
        # the weights' shapes (either layout) come from the convolution's shape rule
        self._iW = self._params.get("i2h_weight", init=i2h_weight_initializer)
        self._hW = self._params.get("h2h_weight", init=h2h_weight_initializer)
        self._iB = self._params.get("i2h_bias", init=i2h_bias_initializer)
        self._hB = self._params.get("h2h_bias", init=h2h_bias_initializer)

    @property
    def _num_gates(self):
        return len(self._gate_names)

    @property
    def state_info(self):
        return [{"shape": self._state_shape, "__layout__": self._conv_layout}
                for _ in range(self._num_states)]

    _num_states = 1

    def _conv_forward(self, inputs, states, name):
        states = _check_states(self, states, inputs)
        n = self._num_hidden * self._num_gates
        i2h = _convolution(symbol, inputs, self._iW, self._iB, self._i2h_kernel,
                           self._i2h_stride, self._i2h_pad, self._i2h_dilate, n,
                           self._conv_layout, f"{name}i2h")
        h2h = _convolution(symbol, states[0], self._hW, self._hB, self._h2h_kernel,
                           (1,) * len(self._h2h_kernel), self._h2h_pad, self._h2h_dilate, n,
                           self._conv_layout, f"{name}h2h")
        return states, i2h, h2h

    def __call__(self, inputs, states):
        raise NotImplementedError("BaseConvRNNCell is abstract class for convolutional RNN")


_LEAKY = functools.partial(symbol.LeakyReLU, act_type="leaky", slope=0.2)


class ConvRNNCell(BaseConvRNNCell):
    """Convolutional Elman cell.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one step's input, batch included, in ``conv_layout``.
    num_hidden : int
        Channels of the state.
    h2h_kernel, h2h_dilate, i2h_kernel, i2h_stride, i2h_pad, i2h_dilate : tuple of int
        Convolution settings ((3, 3), (1, 1), (3, 3), (1, 1), (1, 1), (1, 1)).
    i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
    h2h_bias_initializer : Initializer or str
    activation : str or callable, default LeakyReLU(slope=0.2)
    prefix : str, default 'ConvRNN_'
    params : RNNParams, optional
    conv_layout : str, default 'NCHW'
    """

    def __init__(self, input_shape, num_hidden, h2h_kernel=(3, 3), h2h_dilate=(1, 1),
                 i2h_kernel=(3, 3), i2h_stride=(1, 1), i2h_pad=(1, 1), i2h_dilate=(1, 1),
                 i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros",
                 activation=_LEAKY, prefix="ConvRNN_", params=None, conv_layout="NCHW"):
        super().__init__(input_shape, num_hidden, h2h_kernel, h2h_dilate, i2h_kernel,
                         i2h_stride, i2h_pad, i2h_dilate, i2h_weight_initializer,
                         h2h_weight_initializer, i2h_bias_initializer, h2h_bias_initializer,
                         activation, prefix, params, conv_layout)

    @property
    def _gate_names(self):
        return ("",)

    def __call__(self, inputs, states):
        self._counter += 1
        name = f"{self._prefix}t{self._counter}_"
        _, i2h, h2h = self._conv_forward(inputs, states, name)
        output = self._get_activation(i2h + h2h, self._activation, name=f"{name}out")
        return output, [output]


class ConvLSTMCell(BaseConvRNNCell):
    """Convolutional LSTM cell (Shi et al. 2015); arguments as :class:`ConvRNNCell`
    (prefix 'ConvLSTM_'); ``activation`` is applied to the cell input and the cell state."""

    _num_states = 2

    def __init__(self, input_shape, num_hidden, h2h_kernel=(3, 3), h2h_dilate=(1, 1),
                 i2h_kernel=(3, 3), i2h_stride=(1, 1), i2h_pad=(1, 1), i2h_dilate=(1, 1),
                 i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros",
                 activation=_LEAKY, prefix="ConvLSTM_", params=None, conv_layout="NCHW"):
        super().__init__(input_shape, num_hidden, h2h_kernel, h2h_dilate, i2h_kernel,
                         i2h_stride, i2h_pad, i2h_dilate, i2h_weight_initializer,
                         h2h_weight_initializer, i2h_bias_initializer, h2h_bias_initializer,
                         activation, prefix, params, conv_layout)

    @property
    def _gate_names(self):
        return ["_i", "_f", "_c", "_o"]

    def __call__(self, inputs, states):
        self._counter += 1
        name = f"{self._prefix}t{self._counter}_"
        states, i2h, h2h = self._conv_forward(inputs, states, name)
        next_h, next_c = self._lstm_gates(name, i2h, h2h, states[1], self._activation,
                                          axis=self._conv_layout.find("C"))
        return next_h, [next_h, next_c]


class ConvGRUCell(BaseConvRNNCell):
    """Convolutional GRU cell; arguments as :class:`ConvRNNCell` (prefix 'ConvGRU_')."""

    def __init__(self, input_shape, num_hidden, h2h_kernel=(3, 3), h2h_dilate=(1, 1),
                 i2h_kernel=(3, 3), i2h_stride=(1, 1), i2h_pad=(1, 1), i2h_dilate=(1, 1),
                 i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros",
                 activation=_LEAKY, prefix="ConvGRU_", params=None, conv_layout="NCHW"):
        super().__init__(input_shape, num_hidden, h2h_kernel, h2h_dilate, i2h_kernel,
                         i2h_stride, i2h_pad, i2h_dilate, i2h_weight_initializer,
                         h2h_weight_initializer, i2h_bias_initializer, h2h_bias_initializer,
                         activation, prefix, params, conv_layout)

    @property
    def _gate_names(self):
        return ["_r", "_z", "_o"]

    def __call__(self, inputs, states):
        self._counter += 1
        name = f"{self._prefix}t{self._counter}_"
        states, i2h, h2h = self._conv_forward(inputs, states, name)
        next_h = self._gru_gates(name, i2h, h2h, states[0], self._activation,
                                 axis=self._conv_layout.find("C"))
        return next_h, [next_h]
