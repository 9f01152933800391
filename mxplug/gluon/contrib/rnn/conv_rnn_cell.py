"""Convolutional recurrent cells (MXNet 1.x ``gluon.contrib.rnn``): ``Conv{1,2,3}DRNNCell``,
``Conv{1,2,3}DLSTMCell`` and ``Conv{1,2,3}DGRUCell``, whose ``i2h`` and ``h2h`` projections are
convolutions (Shi et al. 2015). The state keeps the spatial size of the ``i2h`` convolution's
output (stride 1; ``h2h`` pads its odd kernel to keep it)."""

from __future__ import annotations

from ...rnn.rnn_cell import HybridRecurrentCell
from ...rnn.rnn_layer import RNNCheckError

__all__ = ["Conv1DRNNCell", "Conv2DRNNCell", "Conv3DRNNCell",
           "Conv1DLSTMCell", "Conv2DLSTMCell", "Conv3DLSTMCell",
           "Conv1DGRUCell", "Conv2DGRUCell", "Conv3DGRUCell"]


def _conv_out_size(dimensions, kernels, paddings, dilations, strides=None):
    """Spatial output size of a convolution (0 stays 0: unknown)."""
    strides = strides or (1,) * len(dimensions)
    return tuple((x + 2 * p - d * (k - 1) - 1) // s + 1 if x else 0
                 for x, k, p, d, s in zip(dimensions, kernels, paddings, dilations, strides))


def _convolution(F, data, weight, bias, kernel, stride, pad, dilate, num_filter, layout, name):
    """MXNet's ``Convolution`` in ``layout`` (channel-last weights are ``(out, *kernel, in)``)."""
    return F.Convolution(data=data, weight=weight, bias=bias, kernel=kernel, stride=stride,
                         pad=pad, dilate=dilate, num_filter=num_filter, layout=layout, name=name)


_LAYOUTS = {1: ("NCW", "NWC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}


def _tuple(value, dims, what, cell):
    if isinstance(value, int):
        return (value,) * dims
    value = tuple(value)
    if len(value) != dims or not all(isinstance(v, int) for v in value):
        raise RNNCheckError(f"{cell}: For {dims}D convolution, the convolution settings can only "
                            f"be either int or list/tuple of length {dims}; {what}={value}")
    return value


class _BaseConvRNNCell(HybridRecurrentCell):
    """What the convolutional cells share: settings, parameters, shapes and the two
    convolutions."""

    _gate_names = ("",)

    def __init__(self, input_shape, hidden_channels, i2h_kernel, h2h_kernel, i2h_pad, i2h_dilate,
                 h2h_dilate, i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                 h2h_bias_initializer, dims, conv_layout, activation, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        cell = type(self).__name__
        if conv_layout not in _LAYOUTS[dims]:
            raise RNNCheckError(f"{cell}: conv_layout must be one of {_LAYOUTS[dims]}, got "
                                f"{conv_layout!r}")
        input_shape = tuple(input_shape)
        if len(input_shape) != dims + 1:
            raise RNNCheckError(f"{cell}: input_shape is one sample's shape in {conv_layout} "
                                f"without the batch axis ({dims + 1} numbers), got "
                                f"{input_shape}")
        self._hidden_channels = hidden_channels
        self._input_shape = input_shape
        self._conv_layout = conv_layout
        self._activation = activation
        self._i2h_kernel = _tuple(i2h_kernel, dims, "i2h_kernel", cell)
        self._stride = (1,) * dims
        self._i2h_pad = _tuple(i2h_pad, dims, "i2h_pad", cell)
        self._i2h_dilate = _tuple(i2h_dilate, dims, "i2h_dilate", cell)
        self._h2h_kernel = _tuple(h2h_kernel, dims, "h2h_kernel", cell)
        if any(k % 2 == 0 for k in self._h2h_kernel):
            raise RNNCheckError(f"{cell}: Only support odd number, get h2h_kernel= "
                                f"{h2h_kernel}")
        self._h2h_dilate = _tuple(h2h_dilate, dims, "h2h_dilate", cell)
        self._channel_axis = conv_layout.find("C")
        first = self._channel_axis == 1
        self._in_channels = input_shape[0] if first else input_shape[-1]
        if not first and not self._in_channels:
            raise RNNCheckError(f"{cell}: with conv_layout={conv_layout!r} the input channels "
                                f"must be given in input_shape, got {input_shape}")
        spatial = input_shape[1:] if first else input_shape[:-1]
        size = _conv_out_size(spatial, self._i2h_kernel, self._i2h_pad, self._i2h_dilate)
        if any(s < 0 or (s == 0 and x) for s, x in zip(size, spatial)):
            raise RNNCheckError(f"{cell}: the i2h convolution (kernel {self._i2h_kernel}, pad "
                                f"{self._i2h_pad}, dilate {self._i2h_dilate}) of an input of "
                                f"shape {input_shape} gives an empty state {size}")
        self._h2h_pad = tuple(d * (k - 1) // 2 for d, k in zip(self._h2h_dilate,
                                                              self._h2h_kernel))
        total = hidden_channels * self._num_gates
        if first:
            i2h_shape = (total, self._in_channels) + self._i2h_kernel
            h2h_shape = (total, hidden_channels) + self._h2h_kernel
            self._state_shape = (hidden_channels,) + size
        else:
            i2h_shape = (total,) + self._i2h_kernel + (self._in_channels,)
            h2h_shape = (total,) + self._h2h_kernel + (hidden_channels,)
            self._state_shape = size + (hidden_channels,)
        self.i2h_weight = self.params.get("i2h_weight", shape=i2h_shape,
                                          init=i2h_weight_initializer, allow_deferred_init=True)
        self.h2h_weight = self.params.get("h2h_weight", shape=h2h_shape,
                                          init=h2h_weight_initializer, allow_deferred_init=True)
        self.i2h_bias = self.params.get("i2h_bias", shape=(total,), init=i2h_bias_initializer,
                                        allow_deferred_init=True)
        self.h2h_bias = self.params.get("h2h_bias", shape=(total,), init=h2h_bias_initializer,
                                        allow_deferred_init=True)

    @property
    def _num_gates(self):
        return len(self._gate_names)

    _num_states = 1

    def state_info(self, batch_size=0):
        return [{"shape": (batch_size,) + self._state_shape, "__layout__": self._conv_layout}
                for _ in range(self._num_states)]

    def __repr__(self):
        shape = self.i2h_weight.shape
        in_channels = shape[1 if self._channel_axis == 1 else -1]
        act = f", {self._activation}" if hasattr(self, "_activation") else ""
        return (f"{type(self).__name__}({in_channels if in_channels else None} -> {shape[0]}"
                f"{act}, {self._conv_layout})")

    def _conv_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias,
                      prefix):
        n = self._hidden_channels * self._num_gates
        i2h = _convolution(F, inputs, i2h_weight, i2h_bias, self._i2h_kernel, self._stride,
                           self._i2h_pad, self._i2h_dilate, n, self._conv_layout, prefix + "i2h")
        h2h = _convolution(F, states[0], h2h_weight, h2h_bias, self._h2h_kernel, self._stride,
                           self._h2h_pad, self._h2h_dilate, n, self._conv_layout, prefix + "h2h")
        return i2h, h2h

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        raise NotImplementedError("_BaseConvRNNCell is abstract class for convolutional RNN")


class _ConvRNNCell(_BaseConvRNNCell):
    def _alias(self):
        return "conv_rnn"

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        prefix = f"t{self._counter}_"
        i2h, h2h = self._conv_forward(F, inputs, states, i2h_weight, h2h_weight, i2h_bias,
                                      h2h_bias, prefix)
        output = self._get_activation(F, i2h + h2h, self._activation, name=prefix + "out")
        return output, [output]


class _ConvLSTMCell(_BaseConvRNNCell):
    _gate_names = ("_i", "_f", "_c", "_o")
    _num_states = 2

    def _alias(self):
        return "conv_lstm"

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        prefix = f"t{self._counter}_"
        i2h, h2h = self._conv_forward(F, inputs, states, i2h_weight, h2h_weight, i2h_bias,
                                      h2h_bias, prefix)
        gates = F.SliceChannel(i2h + h2h, num_outputs=4, axis=self._channel_axis,
                               name=prefix + "slice")
        in_gate = F.Activation(gates[0], act_type="sigmoid", name=prefix + "i")
        forget_gate = F.Activation(gates[1], act_type="sigmoid", name=prefix + "f")
        in_transform = self._get_activation(F, gates[2], self._activation, name=prefix + "c")
        out_gate = F.Activation(gates[3], act_type="sigmoid", name=prefix + "o")
        next_c = F.elemwise_add(forget_gate * states[1], in_gate * in_transform,
                                name=prefix + "state")
        next_h = F.elemwise_mul(out_gate, self._get_activation(F, next_c, self._activation),
                                name=prefix + "out")
        return next_h, [next_h, next_c]


class _ConvGRUCell(_BaseConvRNNCell):
    _gate_names = ("_r", "_z", "_o")

    def _alias(self):
        return "conv_gru"

    def hybrid_forward(self, F, inputs, states, i2h_weight, h2h_weight, i2h_bias, h2h_bias):
        prefix = f"t{self._counter}_"
        i2h, h2h = self._conv_forward(F, inputs, states, i2h_weight, h2h_weight, i2h_bias,
                                      h2h_bias, prefix)
        i2h_r, i2h_z, i2h = F.SliceChannel(i2h, num_outputs=3, axis=self._channel_axis,
                                           name=prefix + "i2h_slice")
        h2h_r, h2h_z, h2h = F.SliceChannel(h2h, num_outputs=3, axis=self._channel_axis,
                                           name=prefix + "h2h_slice")
        reset_gate = F.Activation(i2h_r + h2h_r, act_type="sigmoid", name=prefix + "r_act")
        update_gate = F.Activation(i2h_z + h2h_z, act_type="sigmoid", name=prefix + "z_act")
        next_h_tmp = self._get_activation(F, i2h + reset_gate * h2h, self._activation,
                                          name=prefix + "h_act")
        next_h = F.elemwise_add((1.0 - update_gate) * next_h_tmp, update_gate * states[0],
                                name=prefix + "out")
        return next_h, [next_h]


_DOC = """{dims}-D convolutional {kind} cell (MXNet 1.x ``gluon.contrib.rnn.{name}``).

    {formula}

    Parameters
    ----------
    input_shape : tuple of int
        One sample's shape at one step, without the batch axis, in ``conv_layout``
        ({example}).
    hidden_channels : int
        Channels of the state and output.
    i2h_kernel : int or tuple of int
        Kernel of the input convolution.
    h2h_kernel : int or tuple of int
        Kernel of the recurrent convolution; odd sizes only (it is padded to keep the size).
    i2h_pad : int or tuple of int, default {zeros}
    i2h_dilate, h2h_dilate : int or tuple of int, default {ones}
    i2h_weight_initializer, h2h_weight_initializer : str or Initializer, optional
    i2h_bias_initializer, h2h_bias_initializer : str or Initializer, default 'zeros'
    conv_layout : str, default {layout!r}
        {layout!r} or {last!r} (channel-last: weights ``(out, *kernel, in)``).
    activation : str or Block, default 'tanh'
    prefix : str, default ``'{alias}<n>_'``
    params : ParameterDict, optional
    """

_FORMULAS = {
    "RNN": "``h_t = tanh(W_i * x_t + R_i * h_{t-1} + b_i)`` (``*``: convolution)",
    "LSTM": "``c_t = f_t . c_{t-1} + i_t . tanh(W_c * x_t + R_c * h_{t-1} + b_c)``, "
            "``h_t = o_t . tanh(c_t)``; gates ``i, f, c, o`` (``*``: convolution)",
    "GRU": "``n_t = tanh(W_n * x_t + b_n + r_t . (R_n * h_{t-1} + b_rn))``, "
           "``h_t = (1 - z_t) . n_t + z_t . h_{t-1}``; gates ``r, z, n`` (``*``: convolution)",
}


def _make(dims, kind, base):
    layout, last = _LAYOUTS[dims]
    name = f"Conv{dims}D{kind}Cell"
    example = f"({', '.join(layout[1:])})"

    def __init__(self, input_shape, hidden_channels, i2h_kernel, h2h_kernel, i2h_pad=(0,) * dims,
                 i2h_dilate=(1,) * dims, h2h_dilate=(1,) * dims, i2h_weight_initializer=None,
                 h2h_weight_initializer=None, i2h_bias_initializer="zeros",
                 h2h_bias_initializer="zeros", conv_layout=layout, activation="tanh",
                 prefix=None, params=None):
        base.__init__(self, input_shape=input_shape, hidden_channels=hidden_channels,
                      i2h_kernel=i2h_kernel, h2h_kernel=h2h_kernel, i2h_pad=i2h_pad,
                      i2h_dilate=i2h_dilate, h2h_dilate=h2h_dilate,
                      i2h_weight_initializer=i2h_weight_initializer,
                      h2h_weight_initializer=h2h_weight_initializer,
                      i2h_bias_initializer=i2h_bias_initializer,
                      h2h_bias_initializer=h2h_bias_initializer, dims=dims,
                      conv_layout=conv_layout, activation=activation, prefix=prefix,
                      params=params)

    doc = _DOC.format(dims=dims, kind=kind, name=name, formula=_FORMULAS[kind], example=example,
                      zeros=(0,) * dims, ones=(1,) * dims, layout=layout, last=last,
                      alias=f"conv_{kind.lower()}")
    return type(name, (base,), {"__init__": __init__, "__doc__": doc, "__module__": __name__})


Conv1DRNNCell = _make(1, "RNN", _ConvRNNCell)
Conv2DRNNCell = _make(2, "RNN", _ConvRNNCell)
Conv3DRNNCell = _make(3, "RNN", _ConvRNNCell)
Conv1DLSTMCell = _make(1, "LSTM", _ConvLSTMCell)
Conv2DLSTMCell = _make(2, "LSTM", _ConvLSTMCell)
Conv3DLSTMCell = _make(3, "LSTM", _ConvLSTMCell)
Conv1DGRUCell = _make(1, "GRU", _ConvGRUCell)
Conv2DGRUCell = _make(2, "GRU", _ConvGRUCell)
Conv3DGRUCell = _make(3, "GRU", _ConvGRUCell)
