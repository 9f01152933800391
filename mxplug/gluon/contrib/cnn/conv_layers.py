"""Deformable convolution layers (MXNet 1.x ``gluon.contrib.cnn.conv_layers``).

Each layer holds two convolutions: an ordinary ``Convolution`` that computes the sampling
offsets (and v2's mask) from the input, and the deformable convolution that samples the input
at the shifted kernel taps (``mx.nd.contrib.DeformableConvolution`` /
``ModulatedDeformableConvolution``). The offset convolution's weights start at zero, so a fresh
layer is an ordinary convolution until training moves them.

Parameters are named, shaped and initialised as in MXNet 1.9.1 (``offset_weight``,
``offset_bias``, ``deformable_conv_weight``, ``deformable_conv_bias``), so MXNet's
``save_parameters`` files and exported models load. Deliberate differences, each one an error
that MXNet reports only later or never: ``layout='NHWC'`` (MXNet's layer takes it, its operator
then fails on the first forward) and ``adj`` (MXNet's Convolution rejects it) are refused at
construction; and with ``in_channels`` given, ``deformable_conv_weight`` has its full shape at
once (MXNet leaves its input-channel dimension to the first forward).
"""

from __future__ import annotations

from ....base import MXNetValueError
from ...block import HybridBlock
from ...nn import Activation
from ...nn.conv_layers import _tuple

__all__ = ["DeformableConvolution", "ModulatedDeformableConvolution"]


class _DeformableConv(HybridBlock):
    """The shared implementation; subclasses set the offset channels per kernel tap and the
    deformable op call."""

    _channels_per_tap = 2  # the (dy, dx) of each kernel tap (v2 adds a mask channel)

    def __init__(self, channels, kernel_size=(1, 1), strides=(1, 1), padding=(0, 0),
                 dilation=(1, 1), groups=1, num_deformable_group=1, layout="NCHW",
                 use_bias=True, in_channels=0, activation=None, weight_initializer=None,
                 bias_initializer="zeros", offset_weight_initializer="zeros",
                 offset_bias_initializer="zeros", offset_use_bias=True, op_name=None, adj=None,
                 prefix=None, params=None):
        super().__init__(prefix=prefix, params=params)
        name = type(self).__name__
        if layout != "NCHW":
            raise MXNetValueError(
                f"{name}: layout {layout!r} is not supported: the deformable convolution "
                f"operators take 'NCHW' only (MXNet 1.9.1's layer accepts 'NHWC' and then fails "
                f"on its first forward)")
        if adj is not None:
            raise MXNetValueError(f"{name}: adj={adj!r} is the output padding of transposed "
                                  f"convolutions; these convolutions take none")
        kernel = _tuple(kernel_size, 2, "kernel_size")
        strides = _tuple(strides, 2, "strides")
        padding = _tuple(padding, 2, "padding")
        dilation = _tuple(dilation, 2, "dilation")
        taps = num_deformable_group * kernel[0] * kernel[1]
        offset_channels = self._channels_per_tap * taps
        # the offset convolution is grouped like the deformable one, as in MXNet
        if offset_channels % groups or channels % groups or in_channels % groups:
            raise MXNetValueError(
                f"{name}: groups={groups} must divide channels ({channels}), in_channels "
                f"({in_channels}) and the offset convolution's {offset_channels} output channels "
                f"({self._channels_per_tap} * num_deformable_group * kh * kw)")
        self._channels = channels
        self._in_channels = in_channels
        self._op_name = op_name or name
        self._offset_split = 2 * taps  # v2: the offsets, then the mask channels
        common = {"kernel": kernel, "stride": strides, "dilate": dilation, "pad": padding,
                  "num_group": groups, "layout": layout}
        self._kwargs_offset = {**common, "num_filter": offset_channels,
                               "no_bias": not offset_use_bias}
        self._kwargs_deformable_conv = {**common, "num_filter": channels,
                                        "num_deformable_group": num_deformable_group,
                                        "no_bias": not use_bias}
        with self.name_scope():
            offset_args = (offset_channels, in_channels // groups, kernel, offset_use_bias,
                           offset_weight_initializer, offset_bias_initializer)
            conv_args = (channels, in_channels // groups, kernel, use_bias, weight_initializer,
                         bias_initializer)
            # registration order as in MXNet (it orders collect_params and exported files)
            if self._channels_per_tap == 2:
                self._declare_offset(*offset_args)
                self._declare_conv(*conv_args)
            else:
                self._declare_conv(*conv_args)
                self._declare_offset(*offset_args)
            self.act = Activation(activation, prefix=activation + "_") if activation else None

    def _declare_offset(self, filters, in_per_group, kernel, use_bias, weight_init, bias_init):
        self.offset_weight = self.params.get("offset_weight",
                                             shape=(filters, in_per_group) + kernel,
                                             init=weight_init, allow_deferred_init=True)
        self.offset_bias = (self.params.get("offset_bias", shape=(filters,), init=bias_init,
                                            allow_deferred_init=True) if use_bias else None)

    def _declare_conv(self, filters, in_per_group, kernel, use_bias, weight_init, bias_init):
        self.deformable_conv_weight = self.params.get(
            "deformable_conv_weight", shape=(filters, in_per_group) + kernel, init=weight_init,
            allow_deferred_init=True)
        self.deformable_conv_bias = (
            self.params.get("deformable_conv_bias", shape=(filters,), init=bias_init,
                            allow_deferred_init=True) if use_bias else None)

    def hybrid_forward(self, F, x, offset_weight, deformable_conv_weight, offset_bias=None,
                       deformable_conv_bias=None):
        conv_inputs = (x, offset_weight) if offset_bias is None else (x, offset_weight,
                                                                      offset_bias)
        offset = F.Convolution(*conv_inputs, cudnn_off=True, **self._kwargs_offset)
        bias = {} if deformable_conv_bias is None else {"bias": deformable_conv_bias}
        out = self._deform(F, x, offset, deformable_conv_weight, bias)
        return self.act(out) if self.act is not None else out

    def _deform(self, F, x, offset, weight, bias):
        raise NotImplementedError

    def __repr__(self):
        k = self._kwargs_deformable_conv
        s = f", kernel_size={k['kernel']}, stride={k['stride']}"
        if k["pad"] != (0, 0):
            s += f", padding={k['pad']}"
        if k["dilate"] != (1, 1):
            s += f", dilation={k['dilate']}"
        if k["num_group"] != 1:
            s += f", groups={k['num_group']}"
        if self.deformable_conv_bias is None:
            s += ", bias=False"
        if self.act is not None:
            s += f", {self.act}"
        shape = self.deformable_conv_weight.shape
        return f"{type(self).__name__}({shape[1] or None} -> {shape[0]}{s})"


_DOC = """2-D {what}.

    {summary} Both the convolution that learns the offsets{mask} and the deformable convolution
    that produces the output features are part of this layer.

    Parameters
    ----------
    channels : int
        The number of output channels.
    kernel_size : int or tuple of 2 ints, default (1, 1)
        The dimensions of the convolution window.
    strides : int or tuple of 2 ints, default (1, 1)
        The strides of the convolution.
    padding : int or tuple of 2 ints, default (0, 0)
        Implicit zero padding on both sides of each spatial axis.
    dilation : int or tuple of 2 ints, default (1, 1)
        The dilation rate.
    groups : int, default 1
        Split the channels into ``groups`` independent convolutions (the offset convolution
        too, so ``groups`` must divide its {per_tap} * num_deformable_group * kh * kw channels).
    num_deformable_group : int, default 1
        The number of channel groups with offsets of their own.
    layout : str, default 'NCHW'
        Data layout; only 'NCHW' is supported.
    use_bias : bool, default True
        Whether the deformable convolution has a bias.
    in_channels : int, default 0
        The number of input channels; 0 defers it to the first forward call.
    activation : str, optional
        Activation applied to the output (see :class:`~mxplug.gluon.nn.Activation`).
    weight_initializer, bias_initializer : str or Initializer
        Initializers of the deformable convolution's weight (default: the one given to
        ``initialize``) and bias (default 'zeros').
    offset_weight_initializer, offset_bias_initializer : str or Initializer, default 'zeros'
        Initializers of the offset convolution's weight and bias.
    offset_use_bias : bool, default True
        Whether the offset convolution has a bias.

    Inputs:
        - **data**: (batch_size, in_channels, height, width).

    Outputs:
        - **out**: (batch_size, channels, out_height, out_width) with
          ``out_height = (height + 2*padding[0] - dilation[0]*(kernel_size[0]-1) - 1)
          // strides[0] + 1`` and likewise out_width.
    """


class DeformableConvolution(_DeformableConv):
    __doc__ = _DOC.format(
        what="Deformable Convolution v1 (Dai et al., 2017)", mask="", per_tap=2,
        summary="Each kernel tap samples the input bilinearly at its grid point moved by a "
                "learned offset.")

    _channels_per_tap = 2

    def _deform(self, F, x, offset, weight, bias):
        return F.contrib.DeformableConvolution(data=x, offset=offset, weight=weight, name="fwd",
                                               **bias, **self._kwargs_deformable_conv)

    def _alias(self):
        return "deformable_conv"


class ModulatedDeformableConvolution(_DeformableConv):
    __doc__ = _DOC.format(
        what="Modulated Deformable Convolution, DCN v2 (Zhu et al., 2018, "
             "https://arxiv.org/abs/1811.11168)", mask=" and the modulation mask", per_tap=3,
        summary="Each kernel tap samples the input bilinearly at its grid point moved by a "
                "learned offset, scaled by a learned mask in (0, 2): twice the sigmoid of the "
                "offset convolution's last num_deformable_group * kh * kw channels.")

    _channels_per_tap = 3

    def _deform(self, F, x, offset, weight, bias):
        shifts = F.slice_axis(offset, axis=1, begin=0, end=self._offset_split)
        mask = F.sigmoid(F.slice_axis(offset, axis=1, begin=self._offset_split, end=None)) * 2
        return F.contrib.ModulatedDeformableConvolution(
            data=x, offset=shifts, mask=mask, weight=weight, name="fwd", **bias,
            **self._kwargs_deformable_conv)

    def _alias(self):
        return "modulated_deformable_conv"
