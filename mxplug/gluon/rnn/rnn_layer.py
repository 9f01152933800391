"""The fused recurrent layers ``RNN``, ``LSTM`` and ``GRU`` (MXNet 1.x ``gluon.rnn``), which run
whole sequences through the ``RNN`` op, so they hybridize and export as one node."""

from __future__ import annotations

import numpy as np

from ... import ndarray as nd
from ...base import MXNetError, MXNetValueError
from ...graph.trace import Tracer
from ...ndarray import NDArray
from ..block import HybridBlock

__all__ = ["RNN", "LSTM", "GRU"]


class RNNCheckError(MXNetValueError, AssertionError):
    """A bad recurrent layer/cell setup that MXNet reports with ``assert`` (an AssertionError
    there); a ValueError here too, as the project's errors are."""


def _state_array(func, name, info):
    """``func(name=..., **info)``; without ``__layout__`` for a function that refuses it (a
    user's ``begin_state`` function may; ``mx.sym.zeros`` keeps it as an attribute)."""
    try:
        return func(name=name, **info)
    except TypeError:
        if "__layout__" not in info:
            raise
        return func(name=name, **{k: v for k, v in info.items() if k != "__layout__"})


class _RNNLayer(HybridBlock):
    """What the three layers share: parameters ``{l,r}{layer}_{i2h,h2h}_{weight,bias}``,
    states, layout handling and the call to ``F.RNN``."""

    def __init__(self, hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                 i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                 h2h_bias_initializer, mode, dtype="float32", use_sequence_length=False,
                 projection_size=None, state_clip_min=None, state_clip_max=None,
                 state_clip_nan=False, **kwargs):
        super().__init__(**kwargs)
        if layout not in ("TNC", "NTC"):
            raise RNNCheckError(f"Invalid layout {layout!r}; must be one of ['TNC' or 'NTC']")
        if projection_size is not None or state_clip_min is not None or \
                state_clip_max is not None:
            raise NotImplementedError("LSTM projection_size and state clipping are not "
                                      "supported by mxplug")
        self._hidden_size = hidden_size
        self._num_layers = num_layers
        self._mode = mode
        self._layout = layout
        self._dropout = dropout
        self._dir = 2 if bidirectional else 1
        self._input_size = input_size
        self._i2h_weight_initializer = i2h_weight_initializer
        self._h2h_weight_initializer = h2h_weight_initializer
        self._i2h_bias_initializer = i2h_bias_initializer
        self._h2h_bias_initializer = h2h_bias_initializer
        self._use_sequence_length = use_sequence_length
        self._dtype = dtype
        self._projection_size = None
        self._gates = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}[mode]
        ng, ni, nh = self._gates, input_size, hidden_size
        with self.name_scope():
            for i in range(num_layers):
                for j in ["l", "r"][:self._dir]:
                    self._register_param(f"{j}{i}_i2h_weight", (ng * nh, ni),
                                         i2h_weight_initializer, dtype)
                    self._register_param(f"{j}{i}_h2h_weight", (ng * nh, nh),
                                         h2h_weight_initializer, dtype)
                    self._register_param(f"{j}{i}_i2h_bias", (ng * nh,), i2h_bias_initializer,
                                         dtype)
                    self._register_param(f"{j}{i}_h2h_bias", (ng * nh,), h2h_bias_initializer,
                                         dtype)
                ni = nh * self._dir

    def _register_param(self, name, shape, init, dtype):
        p = self.params.get(name, shape=shape, init=init, allow_deferred_init=True, dtype=dtype)
        setattr(self, name, p)
        return p

    def __repr__(self):
        s = f"{type(self).__name__}({{mapping}}, {self._layout}"
        if self._num_layers != 1:
            s += f", num_layers={self._num_layers}"
        if self._dropout != 0:
            s += f", dropout={self._dropout}"
        if self._dir == 2:
            s += ", bidirectional"
        shape = self.l0_i2h_weight.shape
        mapping = f"{shape[1] if shape[1] else None} -> {shape[0] // self._gates}"
        return s.format(mapping=mapping) + ")"

    def state_info(self, batch_size=0):
        raise NotImplementedError

    def cast(self, dtype):
        super().cast(dtype)
        self._dtype = dtype

    def begin_state(self, batch_size=0, func=nd.zeros, **kwargs):
        """Initial recurrent states: a list of arrays (LSTM: ``[h, c]``) of shape
        ``(num_layers * directions, batch_size, hidden_size)``.

        Parameters
        ----------
        batch_size : int
            Batch size of the input.
        func : callable, default ``mx.nd.zeros``
            Makes each state: called with ``name``, ``shape``, ``dtype`` (and ``__layout__``
            when it accepts it) plus ``kwargs``, such as ``ctx``.
        """
        states = []
        for i, info in enumerate(self.state_info(batch_size)):
            info = dict(info) if info is not None else {}
            info.update(kwargs)
            states.append(_state_array(func, f"{self.prefix}h0_{i}", info))
        return states

    def infer_shape(self, inputs, *args):
        """Fill the input width of the first layer's ``i2h`` weights from ``inputs``."""
        if inputs.ndim != 3:
            raise MXNetValueError(f"{type(self).__name__}: input must be 3-D ({self._layout}), "
                                  f"got shape {tuple(inputs.shape)}")
        width = inputs.shape[self._layout.find("C")]
        for j in ["l", "r"][:self._dir]:
            p = getattr(self, f"{j}0_i2h_weight")
            if p._data is None:
                p.shape = (self._gates * self._hidden_size, width)

    def __call__(self, inputs, states=None, sequence_length=None, **kwargs):
        self.skip_states = states is None
        if isinstance(states, NDArray) or (states is not None and
                                           not isinstance(states, (list, tuple))):
            states = [states]
        args = (inputs, [] if states is None else list(states))
        if self._use_sequence_length:
            if sequence_length is None:
                raise MXNetValueError(f"{type(self).__name__}: use_sequence_length=True needs "
                                      f"the sequence_length argument")
            args += (sequence_length,)
        return super().__call__(*args)

    def hybrid_forward(self, F, inputs, states=None, sequence_length=None, **params):
        skip = not states
        if skip and (isinstance(inputs, Tracer) or not isinstance(inputs, NDArray)):
            # in a graph: zeros that take the batch size from the input, so that a hybridized
            # or exported graph runs at any batch size
            batch = self._layout.find("N")
            dtype = inputs.dtype if isinstance(inputs, NDArray) else self._dtype
            states = [F.broadcast_like(F.zeros(info["shape"][:1] + (1,) + info["shape"][2:],
                                               dtype=dtype), inputs,
                                       lhs_axes=(1,), rhs_axes=(batch,))
                      for info in self.state_info(1)]
        elif isinstance(inputs, NDArray):
            batch_size = inputs.shape[self._layout.find("N")]
            if skip:
                states = self.begin_state(batch_size, ctx=inputs.context, dtype=inputs.dtype)
            for s, info in zip(states, self.state_info(batch_size)):
                if tuple(s.shape) != info["shape"]:
                    raise MXNetValueError(f"Invalid recurrent state shape. Expecting "
                                          f"{info['shape']}, got {tuple(s.shape)}.")
        out = self._forward_kernel(F, inputs, list(states), sequence_length, params)
        return out[0] if skip else out

    def _shape_trace_stand_ins(self, F, inputs):
        """Names of the first layer's ``i2h`` weights whose input width is still unknown while a
        hybridized parent traces its forward to infer shapes; their shape is set here from the
        input, as MXNet's layer does. The graph cannot carry it back to them through the
        ``concat`` of flattened weights, so that trace (which only reads shapes) gets zeros of
        the right size in their place."""
        if not isinstance(inputs, Tracer):
            return set()
        try:
            width = inputs.shape[self._layout.find("C")]
        except MXNetError:  # an input of unknown shape: nothing to fill in
            return set()
        names = set()
        for j in ["l", "r"][:self._dir]:
            p = getattr(self, f"{j}0_i2h_weight")
            if p._data is None and p.shape is not None and 0 in p.shape and width:
                p.shape = (self._gates * self._hidden_size, width)
                names.add(f"{j}0_i2h_weight")
        return names

    def _forward_kernel(self, F, inputs, states, sequence_length, params):
        stand_ins = self._shape_trace_stand_ins(F, inputs)
        if self._layout == "NTC":
            inputs = F.swapaxes(inputs, dim1=0, dim2=1)
        names = [f"{d}{layer}_{g}_{t}" for t in ("weight", "bias")
                 for layer in range(self._num_layers) for d in ["l", "r"][:self._dir]
                 for g in ("i2h", "h2h")]
        flat = F.concat(*[F.zeros((int(np.prod(getattr(self, n).shape)),), dtype=inputs.dtype)
                          if n in stand_ins else F.reshape(params[n], shape=(-1,))
                          for n in names], dim=0)
        args = states + ([sequence_length] if self._use_sequence_length else [])
        rnn = F.RNN(inputs, flat, *args, use_sequence_length=self._use_sequence_length,
                    state_size=self._hidden_size, num_layers=self._num_layers,
                    bidirectional=self._dir == 2, p=self._dropout, state_outputs=True,
                    mode=self._mode)
        outputs, states = rnn[0], list(rnn[1:])
        if self._layout == "NTC":
            outputs = F.swapaxes(outputs, dim1=0, dim2=1)
        return outputs, states


_DOC_COMMON = """
    num_layers : int, default 1
        Number of stacked layers.
    layout : str, default 'TNC'
        Input and output layout: 'TNC' (sequence, batch, channel) or 'NTC'.
    dropout : float, default 0
        Dropout on the outputs of every layer but the last, while training.
    bidirectional : bool, default False
        Also run each layer backwards in time and concatenate both outputs.
    i2h_weight_initializer, h2h_weight_initializer : str or Initializer, optional
        Initializers of the input-to-hidden and hidden-to-hidden weights.
    i2h_bias_initializer, h2h_bias_initializer : str or Initializer, default 'zeros'
        Initializers of the biases.
    input_size : int, default 0
        Input feature size; 0 infers it on the first forward call.
    dtype : str, default 'float32'
        Parameter type.
    use_sequence_length : bool, default False
        Take a ``sequence_length`` (batch,) argument: steps past each sequence's length give
        zero outputs and leave the states unchanged.

    Inputs: ``data`` (``layout``), optionally ``states`` (a list, see :meth:`begin_state`) and
    ``sequence_length``. Outputs: ``out`` (``layout``, channel ``directions * hidden_size``),
    and ``out, states`` when ``states`` was given.
"""


class RNN(_RNNLayer):
    __doc__ = """Multi-layer Elman RNN: ``h_t = activation(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)``.

    Parameters
    ----------
    hidden_size : int
        Number of features in the hidden state.
    activation : {'relu', 'tanh'}, default 'relu'
        The nonlinearity.""" + _DOC_COMMON

    def __init__(self, hidden_size, num_layers=1, activation="relu", layout="TNC", dropout=0,
                 bidirectional=False, i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros", input_size=0,
                 dtype="float32", use_sequence_length=False, **kwargs):
        if activation not in ("relu", "tanh"):
            raise MXNetValueError(f"RNN: activation must be 'relu' or 'tanh', got {activation!r}")
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                         h2h_bias_initializer, "rnn_" + activation, dtype=dtype,
                         use_sequence_length=use_sequence_length, **kwargs)

    def state_info(self, batch_size=0):
        return [{"shape": (self._num_layers * self._dir, batch_size, self._hidden_size),
                 "__layout__": "LNC", "dtype": self._dtype}]


class LSTM(_RNNLayer):
    __doc__ = """Multi-layer LSTM (gates ``i, f, g, o`` stacked in that order in the weights).

    Parameters
    ----------
    hidden_size : int
        Number of features in the hidden state.""" + _DOC_COMMON + """
    The states are ``[h, c]``. ``projection_size`` and ``state_clip_*`` are not supported.
"""

    def __init__(self, hidden_size, num_layers=1, layout="TNC", dropout=0, bidirectional=False,
                 input_size=0, i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros",
                 projection_size=None, h2r_weight_initializer=None, state_clip_min=None,
                 state_clip_max=None, state_clip_nan=False, dtype="float32",
                 use_sequence_length=False, **kwargs):
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                         h2h_bias_initializer, "lstm", dtype=dtype,
                         use_sequence_length=use_sequence_length,
                         projection_size=projection_size, state_clip_min=state_clip_min,
                         state_clip_max=state_clip_max, state_clip_nan=state_clip_nan, **kwargs)

    def state_info(self, batch_size=0):
        shape = (self._num_layers * self._dir, batch_size, self._hidden_size)
        return [{"shape": shape, "__layout__": "LNC", "dtype": self._dtype},
                {"shape": shape, "__layout__": "LNC", "dtype": self._dtype}]


class GRU(_RNNLayer):
    __doc__ = """Multi-layer GRU (gates ``r, z, n``; ``n = tanh(W_in x + b_in + r * (W_hn h +
    b_hn))``, ``h' = (1 - z) * n + z * h``).

    Parameters
    ----------
    hidden_size : int
        Number of features in the hidden state.""" + _DOC_COMMON

    def __init__(self, hidden_size, num_layers=1, layout="TNC", dropout=0, bidirectional=False,
                 input_size=0, i2h_weight_initializer=None, h2h_weight_initializer=None,
                 i2h_bias_initializer="zeros", h2h_bias_initializer="zeros", dtype="float32",
                 use_sequence_length=False, **kwargs):
        super().__init__(hidden_size, num_layers, layout, dropout, bidirectional, input_size,
                         i2h_weight_initializer, h2h_weight_initializer, i2h_bias_initializer,
                         h2h_bias_initializer, "gru", dtype=dtype,
                         use_sequence_length=use_sequence_length, **kwargs)

    def state_info(self, batch_size=0):
        return [{"shape": (self._num_layers * self._dir, batch_size, self._hidden_size),
                 "__layout__": "LNC", "dtype": self._dtype}]
