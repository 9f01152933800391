"""Basic neural-network layers (MXNet 1.x ``gluon.nn.basic_layers``)."""

from __future__ import annotations

import warnings

import numpy as np

from ... import autograd
from ... import ndarray as nd
from ... import symbol as sym
from ...graph.trace import Tracer
from ...ndarray import NDArray
from ...ops import REGISTRY
from ..block import Block, HybridBlock
from .activations import Activation

__all__ = ["Sequential", "HybridSequential", "Dense", "Dropout", "Embedding", "BatchNorm",
           "InstanceNorm", "LayerNorm", "GroupNorm", "Flatten", "Lambda", "HybridLambda"]


def _indent(s, num_spaces):
    """Indent every line of ``s`` but the first by ``num_spaces``."""
    lines = s.split("\n")
    return "\n".join([lines[0]] + [" " * num_spaces + line for line in lines[1:]])


def _children_repr(block):
    mods = "\n".join(f"  ({key}): {_indent(repr(child), 2)}"
                     for key, child in block._children.items())
    return f"{block.__class__.__name__}(\n{mods}\n)"


def _is_concrete(x):
    """An NDArray holding data (not a tracing stand-in, not a Symbol)."""
    return isinstance(x, NDArray) and not isinstance(x, Tracer)


class _SequentialMixin:
    """``add``, indexing, ``len`` and ``repr`` shared by Sequential and HybridSequential."""

    def add(self, *blocks):
        """Add blocks on top of the stack."""
        for block in blocks:
            self.register_child(block)

    def __repr__(self):
        return _children_repr(self)

    def __getitem__(self, key):
        layers = list(self._children.values())[key]
        if isinstance(layers, list):
            net = type(self)(prefix=self._prefix)
            with net.name_scope():
                net.add(*layers)
            return net
        return layers

    def __len__(self):
        return len(self._children)


class Sequential(_SequentialMixin, Block):
    """Stacks Blocks sequentially.

    Examples
    --------
    >>> net = nn.Sequential()
    >>> with net.name_scope():
    ...     net.add(nn.Dense(10, activation='relu'))
    ...     net.add(nn.Dense(20))
    """

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def forward(self, x, *args):
        for block in self._children.values():
            x = block(x, *args)
            args = []
            if isinstance(x, (tuple, list)):
                args, x = x[1:], x[0]
        if args:
            x = tuple([x] + list(args))
        return x

    def hybridize(self, active=True, **kwargs):
        """Activate or deactivate hybridization of the HybridBlock children (recursively).

        Parameters
        ----------
        active : bool, default True
            Whether to turn hybrid on or off.
        **kwargs
            Flags for the hybridized operator (``static_alloc``, ``static_shape``).
        """
        if self._children and all(isinstance(c, HybridBlock) for c in self._children.values()):
            warnings.warn(f"All children of this Sequential layer '{self.prefix}' are "
                          f"HybridBlocks. Consider using HybridSequential for the best "
                          f"performance.", stacklevel=2)
        super().hybridize(active, **kwargs)


class HybridSequential(_SequentialMixin, HybridBlock):
    """Stacks HybridBlocks sequentially.

    Examples
    --------
    >>> net = nn.HybridSequential()
    >>> with net.name_scope():
    ...     net.add(nn.Dense(10, activation='relu'))
    ...     net.add(nn.Dense(20))
    >>> net.hybridize()
    """

    def __init__(self, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)

    def hybrid_forward(self, F, x, *args):
        for block in self._children.values():
            x = block(x, *args)
            args = []
            if isinstance(x, (tuple, list)):
                args, x = x[1:], x[0]
        if args:
            x = tuple([x] + list(args))
        return x


class Dense(HybridBlock):
    r"""Densely-connected layer: ``output = activation(dot(input, weight.T) + bias)``.

    Parameters
    ----------
    units : int
        Dimensionality of the output space.
    activation : str, optional
        Activation function (see :class:`Activation`); none by default.
    use_bias : bool, default True
        Whether the layer uses a bias vector.
    flatten : bool, default True
        Collapse all but the first input axis; otherwise apply to the last axis only.
    dtype : str or np.dtype, default 'float32'
        Data type of the parameters.
    weight_initializer : str or Initializer
        Initializer for the ``weight`` matrix of shape ``(units, in_units)``.
    bias_initializer : str or Initializer, default 'zeros'
        Initializer for the bias vector.
    in_units : int, optional
        Size of the input; 0 defers it to the first forward call.
    prefix : str, optional
        See :class:`Block`.
    params : ParameterDict, optional
        See :class:`Block`.
    """

    def __init__(self, units, activation=None, use_bias=True, flatten=True, dtype="float32",
                 weight_initializer=None, bias_initializer="zeros", in_units=0, **kwargs):
        super().__init__(**kwargs)
        self._flatten = flatten
        with self.name_scope():
            self._units = units
            self._in_units = in_units
            self.weight = self.params.get("weight", shape=(units, in_units),
                                          init=weight_initializer, dtype=dtype,
                                          allow_deferred_init=True)
            if use_bias:
                self.bias = self.params.get("bias", shape=(units,), init=bias_initializer,
                                            dtype=dtype, allow_deferred_init=True)
            else:
                self.bias = None
            if activation is not None:
                self.act = Activation(activation, prefix=activation + "_")
            else:
                self.act = None

    def hybrid_forward(self, F, x, weight, bias=None):
        act = F.FullyConnected(x, weight, bias, no_bias=bias is None, num_hidden=self._units,
                               flatten=self._flatten, name="fwd")
        if self.act is not None:
            act = self.act(act)
        return act

    def __repr__(self):
        shape = self.weight.shape
        act = self.act if self.act else "linear"
        return f"{self.__class__.__name__}({shape[1] if shape[1] else None} -> {shape[0]}, {act})"


class Dropout(HybridBlock):
    """Applies Dropout: in training, zero a fraction ``rate`` of the elements and scale the
    rest by ``1 / (1 - rate)``; the identity otherwise.

    Parameters
    ----------
    rate : float
        Fraction of the input units to drop, in [0, 1).
    axes : tuple of int, default ()
        Axes along which the dropout mask is shared.
    """

    def __init__(self, rate, axes=(), **kwargs):
        super().__init__(**kwargs)
        self._rate = rate
        self._axes = axes

    def hybrid_forward(self, F, x):
        if self._rate > 0:
            return F.Dropout(x, p=self._rate, axes=self._axes, name="fwd", cudnn_off=False)
        return F.identity(x)

    def __repr__(self):
        return f"{self.__class__.__name__}(p = {self._rate}, axes={self._axes})"


class BatchNorm(HybridBlock):
    """Batch normalization layer (Ioffe and Szegedy, 2014).

    In training (``autograd.record()``) it normalizes with the batch's statistics and updates
    ``running_mean``/``running_var`` by ``momentum``; otherwise it uses the running statistics.

    Parameters
    ----------
    axis : int, default 1
        The channel axis (1 for NCHW, 3 for NHWC).
    momentum : float, default 0.9
        Momentum of the moving average.
    epsilon : float, default 1e-5
        Added to the variance to avoid dividing by zero.
    center : bool, default True
        Add the offset ``beta``.
    scale : bool, default True
        Multiply by ``gamma``.
    use_global_stats : bool, default False
        Always use the running statistics (a fixed scale and shift).
    beta_initializer, gamma_initializer : str or Initializer, default 'zeros', 'ones'
    running_mean_initializer, running_variance_initializer : str or Initializer,
        default 'zeros', 'ones'
    in_channels : int, default 0
        Number of channels; 0 defers it to the first forward call.
    """

    def __init__(self, axis=1, momentum=0.9, epsilon=1e-5, center=True, scale=True,
                 use_global_stats=False, beta_initializer="zeros", gamma_initializer="ones",
                 running_mean_initializer="zeros", running_variance_initializer="ones",
                 in_channels=0, **kwargs):
        super().__init__(**kwargs)
        self._kwargs = {"axis": axis, "eps": epsilon, "momentum": momentum,
                        "fix_gamma": not scale, "use_global_stats": use_global_stats}
        if in_channels != 0:
            self.in_channels = in_channels
        self.gamma = self.params.get("gamma", grad_req="write" if scale else "null",
                                     shape=(in_channels,), init=gamma_initializer,
                                     allow_deferred_init=True, differentiable=scale)
        self.beta = self.params.get("beta", grad_req="write" if center else "null",
                                    shape=(in_channels,), init=beta_initializer,
                                    allow_deferred_init=True, differentiable=center)
        self.running_mean = self.params.get("running_mean", grad_req="null",
                                            shape=(in_channels,),
                                            init=running_mean_initializer,
                                            allow_deferred_init=True, differentiable=False)
        self.running_var = self.params.get("running_var", grad_req="null",
                                           shape=(in_channels,),
                                           init=running_variance_initializer,
                                           allow_deferred_init=True, differentiable=False)

    def cast(self, dtype):
        """Cast parameters to ``dtype`` (float16 stays float32, as in MXNet)."""
        if np.dtype(dtype).name == "float16":
            dtype = "float32"
        super().cast(dtype)

    def hybrid_forward(self, F, x, gamma, beta, running_mean, running_var):
        out = F.BatchNorm(x, gamma, beta, running_mean, running_var, name="fwd", **self._kwargs)
        # The op is pure; MXNet updates the moving statistics in place during a training
        # forward. A traced (hybridized) graph's executor does it; eagerly it is done here.
        if autograd.is_training() and _is_concrete(out):
            with autograd.pause(train_mode=True):
                REGISTRY["BatchNorm"].aux_update([x, gamma, beta, running_mean, running_var],
                                                 self._kwargs)
        return out

    def __repr__(self):
        in_channels = self.gamma.shape[0]
        content = ", ".join(f"{k}={v!r}" for k, v in self._kwargs.items())
        return (f"{self.__class__.__name__}({content}, "
                f"in_channels={in_channels if in_channels else None})")


class Embedding(HybridBlock):
    r"""Turns non-negative integers (indexes/tokens) into dense vectors of fixed size.

    Parameters
    ----------
    input_dim : int
        Size of the vocabulary (maximum index + 1).
    output_dim : int
        Dimension of the dense embedding.
    dtype : str or np.dtype, default 'float32'
        Data type of the embeddings.
    weight_initializer : Initializer
        Initializer for the ``(input_dim, output_dim)`` embedding matrix.
    sparse_grad : bool, default False
        Accepted for compatibility; gradients are dense here.

    Notes
    -----
    Input: indices of shape ``(x1, ..., xN-1)``; output: ``(x1, ..., xN-1, output_dim)``.
    """

    def __init__(self, input_dim, output_dim, dtype="float32", weight_initializer=None,
                 sparse_grad=False, **kwargs):
        super().__init__(**kwargs)
        self._kwargs = {"input_dim": input_dim, "output_dim": output_dim, "dtype": dtype,
                        "sparse_grad": sparse_grad}
        self.weight = self.params.get("weight", shape=(input_dim, output_dim),
                                      init=weight_initializer, dtype=dtype,
                                      allow_deferred_init=True)

    def hybrid_forward(self, F, x, weight):
        return F.Embedding(x, weight, name="fwd", **self._kwargs)

    def __repr__(self):
        k = self._kwargs
        return (f"{self.__class__.__name__}({k['input_dim']} -> {k['output_dim']}, "
                f"{k['dtype']})")


class Flatten(HybridBlock):
    r"""Flattens the input to two dimensions: ``(N, x1 * x2 * ... * xn)``."""

    def hybrid_forward(self, F, x):
        return F.flatten(x)

    def __repr__(self):
        return self.__class__.__name__


def _norm_repr(block, with_channels=True):
    content = ", ".join(f"{k}={v!r}" for k, v in block._kwargs.items())
    if with_channels:
        content += f", in_channels={block.gamma.shape[0]}"
    return f"{block.__class__.__name__}({content})"


class InstanceNorm(HybridBlock):
    r"""Instance normalization: normalizes each sample and channel over the remaining axes,
    ``(x - mean) / sqrt(var + epsilon) * gamma + beta``.

    Parameters
    ----------
    axis : int, default 1
        The channel axis, excluded (with axis 0) from the normalization.
    epsilon : float, default 1e-5
        Added to the variance to avoid dividing by zero.
    center : bool, default True
        Whether ``beta`` is learned.
    scale : bool, default False
        Whether ``gamma`` is learned.
    beta_initializer, gamma_initializer : str or Initializer, default 'zeros', 'ones'
    in_channels : int, default 0
        Number of channels; 0 defers it to the first forward call.
    """

    def __init__(self, axis=1, epsilon=1e-5, center=True, scale=False, beta_initializer="zeros",
                 gamma_initializer="ones", in_channels=0, **kwargs):
        super().__init__(**kwargs)
        self._kwargs = {"eps": epsilon, "axis": axis, "center": center, "scale": scale}
        self._axis = axis
        self._epsilon = epsilon
        self.gamma = self.params.get("gamma", grad_req="write" if scale else "null",
                                     shape=(in_channels,), init=gamma_initializer,
                                     allow_deferred_init=True)
        self.beta = self.params.get("beta", grad_req="write" if center else "null",
                                    shape=(in_channels,), init=beta_initializer,
                                    allow_deferred_init=True)

    def hybrid_forward(self, F, x, gamma, beta):
        if self._axis == 1:
            return F.InstanceNorm(x, gamma, beta, name="fwd", eps=self._epsilon)
        x = F.swapaxes(x, 1, self._axis)
        return F.swapaxes(F.InstanceNorm(x, gamma, beta, name="fwd", eps=self._epsilon),
                          1, self._axis)

    def __repr__(self):
        return _norm_repr(self)


class LayerNorm(HybridBlock):
    r"""Layer normalization over ``axis``: ``(x - mean) / sqrt(var + epsilon) * gamma + beta``.

    Parameters
    ----------
    axis : int, default -1
        The axis to normalize over.
    epsilon : float, default 1e-5
        Added to the variance to avoid dividing by zero.
    center : bool, default True
        Whether ``beta`` is learned.
    scale : bool, default True
        Whether ``gamma`` is learned.
    beta_initializer, gamma_initializer : str or Initializer, default 'zeros', 'ones'
    in_channels : int, default 0
        Size of ``axis``; 0 defers it to the first forward call.
    """

    def __init__(self, axis=-1, epsilon=1e-5, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", in_channels=0, prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {"eps": epsilon, "axis": axis, "center": center, "scale": scale}
        self._axis = axis
        self._epsilon = epsilon
        self._center = center
        self._scale = scale
        self.gamma = self.params.get("gamma", grad_req="write" if scale else "null",
                                     shape=(in_channels,), init=gamma_initializer,
                                     allow_deferred_init=True)
        self.beta = self.params.get("beta", grad_req="write" if center else "null",
                                    shape=(in_channels,), init=beta_initializer,
                                    allow_deferred_init=True)

    def hybrid_forward(self, F, data, gamma, beta):
        return F.LayerNorm(data, gamma=gamma, beta=beta, axis=self._axis, eps=self._epsilon)

    def __repr__(self):
        return _norm_repr(self)


class GroupNorm(HybridBlock):
    r"""Group normalization: the channels (axis 1) are split into ``num_groups`` groups and
    each sample's group is normalized over its channels and spatial positions.

    Parameters
    ----------
    num_groups : int, default 1
        Number of groups the channel axis is split into.
    epsilon : float, default 1e-5
        Added to the variance to avoid dividing by zero.
    center : bool, default True
        Whether ``beta`` (one per group) is learned.
    scale : bool, default True
        Whether ``gamma`` (one per group) is learned.
    beta_initializer, gamma_initializer : str or Initializer, default 'zeros', 'ones'
    """

    def __init__(self, num_groups=1, epsilon=1e-5, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        self._kwargs = {"eps": epsilon, "num_groups": num_groups, "center": center,
                        "scale": scale}
        self._num_groups = num_groups
        self._epsilon = epsilon
        self._center = center
        self._scale = scale
        self.gamma = self.params.get("gamma", grad_req="write" if scale else "null",
                                     shape=(num_groups,), init=gamma_initializer,
                                     allow_deferred_init=True)
        self.beta = self.params.get("beta", grad_req="write" if center else "null",
                                    shape=(num_groups,), init=beta_initializer,
                                    allow_deferred_init=True)

    def hybrid_forward(self, F, data, gamma, beta):
        return F.GroupNorm(data, gamma=gamma, beta=beta, num_groups=self._num_groups,
                           eps=self._epsilon)

    def __repr__(self):
        return _norm_repr(self, with_channels=False)


class Lambda(Block):
    r"""Wraps an operator or an expression as a Block.

    Parameters
    ----------
    function : str or callable
        The name of an ``mx.nd`` operator (``Lambda('tanh')``), or a function of the inputs
        (``Lambda(lambda x: nd.LeakyReLU(x, slope=0.1))``).
    """

    def __init__(self, function, prefix=None):
        super().__init__(prefix=prefix)
        if isinstance(function, str):
            assert hasattr(nd, function), f"Function name {function} is not found in ndarray."
            self._func_impl = getattr(nd, function)
        elif callable(function):
            self._func_impl = function
        else:
            raise ValueError(f"Unrecognized function in lambda: {function} of type "
                             f"{type(function)}")

    def forward(self, *args):
        return self._func_impl(*args)

    def __repr__(self):
        return f"{self.__class__.__name__}({self._func_impl.__name__})"


class HybridLambda(HybridBlock):
    r"""Wraps an operator or an expression as a HybridBlock.

    Parameters
    ----------
    function : str or callable
        The name of an operator in both ``mx.nd`` and ``mx.sym`` (``HybridLambda('tanh')``),
        or a function ``f(F, data, *args)`` (``HybridLambda(lambda F, x: F.relu(x))``).
    """

    def __init__(self, function, prefix=None):
        super().__init__(prefix=prefix)
        if isinstance(function, str):
            assert hasattr(nd, function) and hasattr(sym, function), \
                f"Function name {function} is not found in symbol/ndarray."
            func_dict = {sym: getattr(sym, function), nd: getattr(nd, function)}
            self._func = lambda F, *args: func_dict.get(F, getattr(F, function))(*args)
            self._func_name = function
        elif callable(function):
            self._func = function
            self._func_name = function.__name__
        else:
            raise ValueError(f"Unrecognized function in lambda: {function} of type "
                             f"{type(function)}")

    def hybrid_forward(self, F, x, *args):
        return self._func(F, x, *args)

    def __repr__(self):
        return f"{self.__class__.__name__}({self._func_name})"
