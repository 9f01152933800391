"""Convolution, pooling and padding layers (MXNet 1.x ``gluon.nn.conv_layers``).

The layers hand their ``layout`` to the ops, which take the channel-first layouts (NCW/NCHW/
NCDHW) and the channel-last ones (NWC/NHWC/NDHWC); for a channel-last layout the weight is
stored as MXNet stores it, ``(channels, *kernel, in_channels // groups)`` (transposed
convolutions: ``(in_channels, *kernel, channels // groups)``).
"""

from __future__ import annotations

import numbers

from ..block import HybridBlock
from .activations import Activation

__all__ = ["Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
           "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D",
           "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D", "GlobalAvgPool1D",
           "GlobalAvgPool2D", "GlobalAvgPool3D", "ReflectionPad2D"]

_CHANNEL_FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
_LAYOUTS = {1: ("NCW", "NWC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}


def _tuple(v, n, what):
    if isinstance(v, numbers.Integral):
        return (int(v),) * n
    v = tuple(int(i) for i in v)
    assert len(v) == n, f"{what} must be a number or a list of {n} ints"
    return v


def _check_layout(layout, n):
    assert layout in _LAYOUTS[n], f"Only supports {' and '.join(map(repr, _LAYOUTS[n]))} " \
                                  f"layout for now"
    return layout != _CHANNEL_FIRST[n]


class _Conv(HybridBlock):
    """Abstract nD (transposed) convolution layer: the shared implementation."""

    def __init__(self, channels, kernel_size, strides, padding, dilation, groups, layout,
                 in_channels=0, activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer="zeros", op_name="Convolution", adj=None, prefix=None,
                 params=None):
        super().__init__(prefix=prefix, params=params)
        n = len(kernel_size)
        with self.name_scope():
            self._channels = channels
            self._in_channels = in_channels
            self._channel_last = _check_layout(layout, n)
            strides = _tuple(strides, n, "strides")
            padding = _tuple(padding, n, "padding")
            dilation = _tuple(dilation, n, "dilation")
            self._op_name = op_name
            self._layout = layout
            self._kwargs = {
                "kernel": tuple(kernel_size), "stride": strides, "dilate": dilation,
                "pad": padding, "num_filter": channels, "num_group": groups,
                "no_bias": not use_bias, "layout": layout}
            if adj is not None:
                self._kwargs["adj"] = adj
            if op_name == "Deconvolution":
                wshape = (in_channels, channels // groups)
            else:
                wshape = (channels, in_channels // groups)
            if self._channel_last:
                wshape = wshape[:1] + tuple(kernel_size) + wshape[1:]
            else:
                wshape = wshape + tuple(kernel_size)
            self.weight = self.params.get("weight", shape=wshape, init=weight_initializer,
                                          allow_deferred_init=True)
            if use_bias:
                self.bias = self.params.get("bias", shape=(channels,), init=bias_initializer,
                                            allow_deferred_init=True)
            else:
                self.bias = None
            if activation is not None:
                self.act = Activation(activation, prefix=activation + "_")
            else:
                self.act = None

    def hybrid_forward(self, F, x, weight, bias=None):
        op = getattr(F, self._op_name)
        if bias is None:
            act = op(x, weight, name="fwd", **self._kwargs)
        else:
            act = op(x, weight, bias, name="fwd", **self._kwargs)
        if self.act is not None:
            act = self.act(act)
        return act

    def _alias(self):
        return "conv"

    def __repr__(self):
        k = self._kwargs
        nk = len(k["kernel"])
        s = f"{{mapping}}, kernel_size={k['kernel']}, stride={k['stride']}"
        if k["pad"] != (0,) * nk:
            s += f", padding={k['pad']}"
        if k["dilate"] != (1,) * nk:
            s += f", dilation={k['dilate']}"
        if hasattr(self, "outpad") and self.outpad != (0,) * nk:
            s += f", output_padding={self.outpad}"
        if k["num_group"] != 1:
            s += f", groups={k['num_group']}"
        if self.bias is None:
            s += ", bias=False"
        if self.act:
            s += f", {self.act}"
        shape = self.weight.shape
        src = shape[-1] if self._channel_last else shape[1]
        if self._op_name == "Deconvolution":
            mapping = f"{shape[0] if shape[0] else None} -> {self._channels}"
        else:
            mapping = f"{src if src else None} -> {shape[0]}"
        return f"{self.__class__.__name__}({s.format(mapping=mapping)})"


_CONV_DOC = """{n}-D {what} layer.

    Parameters
    ----------
    channels : int
        The number of output channels (filters).
    kernel_size : int or tuple of {n} ints
        The dimensions of the convolution window.
    strides : int or tuple of {n} ints, default 1
        The strides of the convolution.
    padding : int or tuple of {n} ints, default 0
        Implicit zero padding on both sides of each spatial axis.{extra}
    dilation : int or tuple of {n} ints, default 1
        The dilation rate.
    groups : int, default 1
        Split the channels into ``groups`` independent convolutions.
    layout : str, default '{layout}'
        Data layout: {layouts}.
    activation : str, optional
        Activation applied to the output (see :class:`Activation`).
    use_bias : bool, default True
        Whether the layer uses a bias vector.
    weight_initializer, bias_initializer : str or Initializer
        Initializers of the weight and of the bias (default 'zeros').
    in_channels : int, default 0
        The number of input channels; 0 defers it to the first forward call.
    """

_OUTPAD_DOC = """
    output_padding : int or tuple of {n} ints, default 0
        Extra size added to one side of each spatial axis of the output."""


def _conv_class(name, n, transposed):
    default_layout = _CHANNEL_FIRST[n]

    if transposed:
        def __init__(self, channels, kernel_size, strides=1, padding=0, output_padding=0,
                     dilation=1, groups=1, layout=default_layout, activation=None,
                     use_bias=True, weight_initializer=None, bias_initializer="zeros",
                     in_channels=0, **kwargs):
            kernel_size = _tuple(kernel_size, n, "kernel_size")
            output_padding = _tuple(output_padding, n, "output_padding")
            _Conv.__init__(self, channels, kernel_size, strides, padding, dilation, groups,
                           layout, in_channels, activation, use_bias, weight_initializer,
                           bias_initializer, op_name="Deconvolution", adj=output_padding,
                           **kwargs)
            self.outpad = output_padding
    else:
        def __init__(self, channels, kernel_size, strides=1, padding=0, dilation=1, groups=1,
                     layout=default_layout, activation=None, use_bias=True,
                     weight_initializer=None, bias_initializer="zeros", in_channels=0,
                     **kwargs):
            kernel_size = _tuple(kernel_size, n, "kernel_size")
            op_name = kwargs.pop("op_name", "Convolution")
            _Conv.__init__(self, channels, kernel_size, strides, padding, dilation, groups,
                           layout, in_channels, activation, use_bias, weight_initializer,
                           bias_initializer, op_name, **kwargs)

    doc = _CONV_DOC.format(n=n, what="transposed convolution (deconvolution)" if transposed
                           else "convolution", layout=default_layout,
                           layouts=" or ".join(map(repr, _LAYOUTS[n])),
                           extra=_OUTPAD_DOC.format(n=n) if transposed else "")
    return type(name, (_Conv,), {"__init__": __init__, "__doc__": doc,
                                 "__module__": __name__})


Conv1D = _conv_class("Conv1D", 1, False)
Conv2D = _conv_class("Conv2D", 2, False)
Conv3D = _conv_class("Conv3D", 3, False)
Conv1DTranspose = _conv_class("Conv1DTranspose", 1, True)
Conv2DTranspose = _conv_class("Conv2DTranspose", 2, True)
Conv3DTranspose = _conv_class("Conv3DTranspose", 3, True)


class _Pooling(HybridBlock):
    """Abstract pooling layer: the shared implementation."""

    def __init__(self, pool_size, strides, padding, ceil_mode, global_pool, pool_type, layout,
                 count_include_pad=None, **kwargs):
        super().__init__(**kwargs)
        n = len(pool_size)
        if strides is None:
            strides = pool_size
        _check_layout(layout, n)
        self._layout = layout
        self._kwargs = {
            "kernel": tuple(pool_size), "stride": _tuple(strides, n, "strides"),
            "pad": _tuple(padding, n, "padding"), "global_pool": global_pool,
            "pool_type": pool_type, "layout": layout,
            "pooling_convention": "full" if ceil_mode else "valid"}
        if count_include_pad is not None:
            self._kwargs["count_include_pad"] = count_include_pad

    def _alias(self):
        return "pool"

    def hybrid_forward(self, F, x):
        return F.Pooling(x, name="fwd", **self._kwargs)

    def __repr__(self):
        k = self._kwargs
        return (f"{self.__class__.__name__}(size={k['kernel']}, stride={k['stride']}, "
                f"padding={k['pad']}, ceil_mode={k['pooling_convention'] == 'full'}, "
                f"global_pool={k['global_pool']}, pool_type={k['pool_type']}, "
                f"layout={self._layout})")


_POOL_DOC = """{what} pooling for {n}-D data.

    Parameters
    ----------
    pool_size : int or tuple of {n} ints, default {size}
        Size of the pooling window.
    strides : int or tuple of {n} ints, optional
        Stride of the window; defaults to ``pool_size``.
    padding : int or tuple of {n} ints, default 0
        Implicit padding on both sides of each spatial axis.
    layout : str, default '{layout}'
        Data layout: {layouts}.
    ceil_mode : bool, default False
        Round the output size up (the 'full' convention) instead of down.{extra}
    """

_COUNT_PAD_DOC = """
    count_include_pad : bool, default True
        Whether the padded positions count in the average's denominator."""

_GLOBAL_DOC = """Global {what} pooling for {n}-D data: one value per sample and channel (the
    spatial axes are kept with size 1).

    Parameters
    ----------
    layout : str, default '{layout}'
        Data layout: {layouts}.
    """


def _pool_class(name, n, pool_type):
    default_layout = _CHANNEL_FIRST[n]
    size = 2 if n == 1 else (2,) * n

    if pool_type == "max":
        def __init__(self, pool_size=size, strides=None, padding=0, layout=default_layout,
                     ceil_mode=False, **kwargs):
            _check_layout(layout, n)
            pool_size = _tuple(pool_size, n, "pool_size")
            _Pooling.__init__(self, pool_size, strides, padding, ceil_mode, False, "max",
                              layout, **kwargs)
    else:
        def __init__(self, pool_size=size, strides=None, padding=0, layout=default_layout,
                     ceil_mode=False, count_include_pad=True, **kwargs):
            _check_layout(layout, n)
            pool_size = _tuple(pool_size, n, "pool_size")
            _Pooling.__init__(self, pool_size, strides, padding, ceil_mode, False, "avg",
                              layout, count_include_pad, **kwargs)

    doc = _POOL_DOC.format(what="Max" if pool_type == "max" else "Average", n=n, size=size,
                           layout=default_layout, layouts=" or ".join(map(repr, _LAYOUTS[n])),
                           extra=_COUNT_PAD_DOC if pool_type == "avg" else "")
    return type(name, (_Pooling,), {"__init__": __init__, "__doc__": doc,
                                    "__module__": __name__})


def _global_pool_class(name, n, pool_type):
    default_layout = _CHANNEL_FIRST[n]

    def __init__(self, layout=default_layout, **kwargs):
        _check_layout(layout, n)
        _Pooling.__init__(self, (1,) * n, None, 0, True, True, pool_type, layout, **kwargs)

    doc = _GLOBAL_DOC.format(what="max" if pool_type == "max" else "average", n=n,
                             layout=default_layout, layouts=" or ".join(map(repr, _LAYOUTS[n])))
    return type(name, (_Pooling,), {"__init__": __init__, "__doc__": doc,
                                    "__module__": __name__})


MaxPool1D = _pool_class("MaxPool1D", 1, "max")
MaxPool2D = _pool_class("MaxPool2D", 2, "max")
MaxPool3D = _pool_class("MaxPool3D", 3, "max")
AvgPool1D = _pool_class("AvgPool1D", 1, "avg")
AvgPool2D = _pool_class("AvgPool2D", 2, "avg")
AvgPool3D = _pool_class("AvgPool3D", 3, "avg")
GlobalMaxPool1D = _global_pool_class("GlobalMaxPool1D", 1, "max")
GlobalMaxPool2D = _global_pool_class("GlobalMaxPool2D", 2, "max")
GlobalMaxPool3D = _global_pool_class("GlobalMaxPool3D", 3, "max")
GlobalAvgPool1D = _global_pool_class("GlobalAvgPool1D", 1, "avg")
GlobalAvgPool2D = _global_pool_class("GlobalAvgPool2D", 2, "avg")
GlobalAvgPool3D = _global_pool_class("GlobalAvgPool3D", 3, "avg")


class ReflectionPad2D(HybridBlock):
    r"""Pads the last two (spatial) axes of NCHW data by reflecting the input at the borders.

    Parameters
    ----------
    padding : int or tuple of 8 ints, default 0
        An int pads ``padding`` on each side of H and W; a tuple is the ``pad_width`` of
        :func:`mx.nd.pad` (before/after for each of the 4 axes; the first four must be 0).
    """

    def __init__(self, padding=0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(padding, numbers.Integral):
            padding = (0, 0, 0, 0, padding, padding, padding, padding)
        assert len(padding) == 8
        self._padding = tuple(padding)

    def hybrid_forward(self, F, x):
        return F.pad(x, mode="reflect", pad_width=self._padding)
