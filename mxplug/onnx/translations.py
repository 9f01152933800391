"""mxplug op -> ONNX translations: the table, and the neural-network layers' ops.

Each translation is one small function ``fn(g, node, args, out)``:

- ``g``: the :class:`~mxplug.onnx.graph.OnnxGraph` being built (``g.add``, ``g.const``, shapes);
- ``node``: the mxplug graph node (``node.attrs`` are its parsed attributes, defaults filled in);
- ``args``: the ONNX names of the op's arguments in the op's order (a Python number where the node
  holds a scalar operand, ``x * 2``);
- ``out``: the names the node's outputs must take in the ONNX graph.

It is registered under the op's registry name with :func:`translates`; every alias of the op
(``broadcast_add`` for ``add``) finds it. Element-wise, reduction and array-movement ops are in
:mod:`mxplug.onnx.translations_tensor`, slicing, indexing, sorting and matrix products (attention
included) in :mod:`mxplug.onnx.translations_index`, the fused RNN op and the ``Sequence*`` ops in
:mod:`mxplug.onnx.translations_rnn`, resampling and box ops in
:mod:`mxplug.onnx.translations_vision`.
The export is for inference: layers translate their inference-mode forward (BatchNorm with its
running statistics, Dropout as identity).
"""

from __future__ import annotations

import math

import numpy as np

from ..base import MXNetNotImplementedError

__all__ = ["TRANSLATIONS", "int64_indices", "translates", "unsupported"]

#: registry op name -> translation function
TRANSLATIONS: dict = {}


def _softmax_label_shape(data_shape, attrs):
    if attrs["multi_output"]:
        return data_shape[:1] + data_shape[2:]
    return data_shape[:-1] if attrs["preserve_shape"] else data_shape[:1]


#: op name -> {argument role inference ignores: its shape from (data shape, attrs)}. Such
#: variables are not graph inputs (SoftmaxOutput's label, as in MXNet's exporter).
IGNORED_INPUTS = {"SoftmaxOutput": {"label": _softmax_label_shape}}


def translates(*names):
    """Decorator: register ``fn(g, node, args, out)`` as the translation of the ops ``names``."""
    def deco(fn):
        for name in names:
            TRANSLATIONS[name] = fn
        return fn
    return deco


def unsupported(node, what):
    """The error for a case of a known op that has no ONNX translation here."""
    return MXNetNotImplementedError(
        f"export_model: node {node.name!r} ({node.op.name}): {what} has no ONNX translation")


def int64_indices(g, node, idx, n, mode="clip"):
    """Indices as int64 in [0, n): clipped (mode 'clip', MXNet's default) or wrapped.

    Clipped in int64, not through float32, which rounds indices above 2**24 to a neighbour."""
    idx = g.add("Cast", [idx], hint=node.name, to=_onnx_type(np.int64))
    if mode == "wrap":
        return g.add("Mod", [idx, g.const(n, np.int64)], hint=node.name, fmod=0)
    idx = g.add("Max", [idx, g.const(0, np.int64)], hint=node.name)
    return g.add("Min", [idx, g.const(n - 1, np.int64)], hint=node.name)


def _dtype(g, node, i=0):
    return g.arg_specs(node)[i].dtype


def _chan_shape(ndim, axis, c):
    """The shape that broadcasts a per-channel vector of ``c`` along ``axis`` of ``ndim``."""
    return tuple(c if i == axis else 1 for i in range(ndim))


# -- dense and convolution ------------------------------------------------------------------------
@translates("FullyConnected")
def _fully_connected(g, node, args, out):
    x, w, *b = args
    a = node.attrs
    xs = g.arg_specs(node)[0]
    if a["flatten"] or xs.ndim <= 2:
        if xs.ndim != 2:
            x = g.add("Flatten", [x], hint=node.name, axis=1)
        if b and not a["no_bias"]:
            g.add("Gemm", [x, w, b[0]], out, node.name, transB=1)
        else:
            g.add("Gemm", [x, w], out, node.name, transB=1)
        return
    wt = g.add("Transpose", [w], hint=node.name, perm=[1, 0])
    if b and not a["no_bias"]:
        g.add("Add", [g.add("MatMul", [x, wt], hint=node.name), b[0]], out, node.name)
    else:
        g.add("MatMul", [x, wt], out, node.name)


_CHANNEL_FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
_CHANNEL_LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}


def _window(node, nsp):
    """``(strides, dilations, pads)`` of a convolution/pooling node, defaults filled in."""
    a = node.attrs
    if a.get("layout") not in (None, _CHANNEL_FIRST[nsp], _CHANNEL_LAST[nsp]):
        raise unsupported(node, f"layout={a['layout']!r}")
    stride = list(a["stride"]) or [1] * nsp
    dilate = list(a.get("dilate") or ()) or [1] * nsp
    pad = list(a["pad"]) or [0] * nsp
    return stride, dilate, pad


def _channel_first(translate):
    """``translate(g, node, args, out, nsp)`` (written for channel-first ONNX ops) on a node of
    either layout: a channel-last node's data — and its weight, whose channel axis is last as
    well — is transposed in, and its output back (ONNX's Conv and pooling are channel-first)."""
    def fn(g, node, args, out):
        nsp = g.arg_specs(node)[0].ndim - 2
        if node.attrs.get("layout") != _CHANNEL_LAST.get(nsp):
            return translate(g, node, args, out, nsp)
        into = [0, nsp + 1, *range(1, nsp + 1)]
        moved = 1 if node.op.name == "Pooling" else 2  # the data, and a weight
        args = [g.add("Transpose", [x], hint=node.name, perm=into) if i < moved else x
                for i, x in enumerate(args)]
        res = translate(g, node, args, None, nsp)
        g.add("Transpose", [res], out, node.name, perm=[0, *range(2, nsp + 2), 1])
    return fn


@translates("Convolution")
@_channel_first
def _convolution(g, node, args, out, nsp):
    a = node.attrs
    kernel = list(a["kernel"])
    stride, dilate, pad = _window(node, nsp)
    inputs = args[:2] if a["no_bias"] else args[:3]
    return g.add("Conv", inputs, out, node.name, kernel_shape=kernel, strides=stride,
                 dilations=dilate, pads=pad + pad, group=a["num_group"])


@translates("Deconvolution")
@_channel_first
def _deconvolution(g, node, args, out, nsp):
    a = node.attrs
    kernel = list(a["kernel"])
    stride, dilate, pad = _window(node, nsp)
    inputs = args[:2] if a["no_bias"] else args[:3]
    if a["target_shape"]:          # MXNet derives the padding from the wanted size
        shape = g.spec(node).shape
        spatial = shape[1:-1] if a.get("layout") == _CHANNEL_LAST[nsp] else shape[2:]
        return g.add("ConvTranspose", inputs, out, node.name, kernel_shape=kernel,
                     strides=stride, dilations=dilate, group=a["num_group"],
                     output_shape=list(spatial))
    return g.add("ConvTranspose", inputs, out, node.name, kernel_shape=kernel, strides=stride,
                 dilations=dilate, pads=pad + pad, group=a["num_group"],
                 output_padding=list(a["adj"]) or None)


@translates("Pooling")
@_channel_first
def _pooling(g, node, args, out, nsp):
    a = node.attrs
    x = args[0]
    ptype = a["pool_type"]
    if a["global_pool"]:
        if ptype == "max":
            return g.add("GlobalMaxPool", [x], out, node.name)
        elif ptype == "avg":
            return g.add("GlobalAveragePool", [x], out, node.name)
        elif ptype == "lp":
            return g.add("GlobalLpPool", [x], out, node.name, p=a["p_value"])
        else:   # sum over the spatial axes (of whatever size they have at run time)
            return g.axes_op("ReduceSum", x, list(range(2, nsp + 2)), out, node.name,
                             keepdims=1)
    kernel = list(a["kernel"])
    stride, _, pad = _window(node, nsp)
    common = dict(kernel_shape=kernel, strides=stride, pads=pad + pad)
    ceil = 1 if a["pooling_convention"] == "full" else 0
    if ceil and not g.input_varying_axes(node, 0):
        return _full_pooling(g, node, x, out, nsp, kernel, stride, pad)
    if a["pooling_convention"] == "same":  # 1-D, unpadded: ceil(w / stride) windows from 0,
        # the last ones cut at the end: the missing tail as end padding (not counted by avg)
        shape = g.arg_specs(node)[0].shape
        w, k, s = shape[1 if a.get("layout") == "NWC" else 2], kernel[0], stride[0]
        common["pads"] = [0, max(0, (-(-w // s) - 1) * s + k - w)]
        if ptype == "avg":
            return g.add("AveragePool", [x], out, node.name, count_include_pad=0, **common)
    if ptype == "max":
        return g.add("MaxPool", [x], out, node.name, ceil_mode=ceil, **common)
    elif ptype == "avg":
        return g.add("AveragePool", [x], out, node.name, ceil_mode=ceil,
                     count_include_pad=int(a["count_include_pad"]), **common)
    elif ptype == "sum":
        avg = g.add("AveragePool", [x], hint=node.name, ceil_mode=ceil, count_include_pad=1,
                    **common)
        return g.add("Mul", [avg, g.const(math.prod(kernel), _dtype(g, node))], out, node.name)
    else:
        if ceil:
            raise unsupported(node, "pool_type='lp' with pooling_convention='full' and "
                                    "dynamic spatial axes")
        return g.add("LpPool", [x], out, node.name, p=a["p_value"], **common)


def _full_pooling(g, node, x, out, nsp, kernel, stride, pad):
    """MXNet's 'full' convention, ceil((n + 2p - k) / s) + 1 windows. ONNX's ceil_mode drops a
    last window that starts in the padding, which MXNet keeps (max: the lowest value; avg, sum:
    0), and ONNX pads must be smaller than the kernel: the data is padded first, explicitly,
    and pooled unpadded; avg divides by the pooled count of the positions it counts."""
    a = node.attrs
    shape = g.arg_specs(node)[0].shape
    spatial = shape[1:-1] if a.get("layout") == _CHANNEL_LAST[nsp] else shape[2:]
    ends = [max(p, (-(-(n + 2 * p - k) // s)) * s + k - n - p)
            for n, k, s, p in zip(spatial, kernel, stride, pad)]
    dt, ptype = _dtype(g, node), a["pool_type"]

    def padded(v, begin, end, value):
        pads = g.ints([0, 0, *begin, 0, 0, *end])
        return g.add("Pad", [v, pads, g.const(value, dt)], hint=node.name, mode="constant")

    window = dict(kernel_shape=kernel, strides=stride)
    if ptype == "max":
        low = np.finfo(dt).min
        return g.add("MaxPool", [padded(x, pad, ends, low)], out, node.name, **window)
    if ptype == "lp":
        return g.add("LpPool", [padded(x, pad, ends, 0)], out, node.name, p=a["p_value"],
                     **window)
    total = g.add("AveragePool", [padded(x, pad, ends, 0)], hint=node.name, **window)
    if ptype == "sum":
        return g.add("Mul", [total, g.const(math.prod(kernel), dt)], out, node.name)
    # avg: the share of counted positions in each window, from a padded tensor of ones
    ones = g.add("Expand", [g.const(1, dt), g.add("Shape", [x], hint=node.name)],
                 hint=node.name)
    inner = pad if a["count_include_pad"] else [0] * nsp
    ones = padded(ones, inner, inner, 1)
    ones = padded(ones, [p - i for p, i in zip(pad, inner)],
                  [e - i for e, i in zip(ends, inner)], 0)
    share = g.add("AveragePool", [ones], hint=node.name, **window)
    zero = g.const(0, dt)
    share = g.add("Where", [g.add("Equal", [share, zero], hint=node.name), g.const(1, dt),
                            share], hint=node.name)
    return g.add("Div", [total, share], out, node.name)


# -- normalisation --------------------------------------------------------------------------------
@translates("BatchNorm", "_BatchNorm")
def _batch_norm(g, node, args, out):
    """Inference form: the running statistics, whatever ``use_global_stats`` says."""
    a = node.attrs
    if a["output_mean_var"]:
        raise unsupported(node, "output_mean_var=True")
    x, gamma, beta, mean, var = args
    xs = g.arg_specs(node)[0]
    axis, c, dt = a["axis"] % xs.ndim, xs.shape[a["axis"]], xs.dtype
    if a["fix_gamma"]:
        gamma = g.const(np.ones(c, dt), hint=f"{node.name}_gamma_fixed")
    if axis == 1:
        g.add("BatchNormalization", [x, gamma, beta, mean, var], out, node.name,
              epsilon=float(a["eps"]))
        return
    # another channel axis: y = x * scale + shift with scale, shift broadcast along it
    std = g.add("Sqrt", [g.add("Add", [var, g.const(a["eps"], dt)], hint=node.name)],
                hint=node.name)
    scale = g.add("Div", [gamma, std], hint=node.name)
    shift = g.add("Sub", [beta, g.add("Mul", [mean, scale], hint=node.name)], hint=node.name)
    shape = g.ints(_chan_shape(xs.ndim, axis, c))
    scale = g.add("Reshape", [scale, shape], hint=node.name)
    shift = g.add("Reshape", [shift, shape], hint=node.name)
    g.add("Add", [g.add("Mul", [x, scale], hint=node.name), shift], out, node.name)


def _normalise(g, node, x, axes, eps, dt):
    """``(x - mean) / sqrt(var + eps)`` over ``axes`` (kept dims), biased variance."""
    mean = g.axes_op("ReduceMean", x, axes, hint=node.name, keepdims=1)
    xc = g.add("Sub", [x, mean], hint=node.name)
    var = g.axes_op("ReduceMean", g.add("Mul", [xc, xc], hint=node.name), axes, hint=node.name,
                    keepdims=1)
    std = g.add("Sqrt", [g.add("Add", [var, g.const(eps, dt)], hint=node.name)], hint=node.name)
    return g.add("Div", [xc, std], hint=node.name)


@translates("LayerNorm")
def _layer_norm(g, node, args, out):
    a = node.attrs
    if a["output_mean_var"]:
        raise unsupported(node, "output_mean_var=True")
    x, gamma, beta = args
    xs = g.arg_specs(node)[0]
    axis = a["axis"] % xs.ndim
    y = _normalise(g, node, x, [axis], a["eps"], xs.dtype)
    if axis != xs.ndim - 1:
        shape = g.ints(_chan_shape(xs.ndim, axis, xs.shape[axis]))
        gamma = g.add("Reshape", [gamma, shape], hint=node.name)
        beta = g.add("Reshape", [beta, shape], hint=node.name)
    g.add("Add", [g.add("Mul", [y, gamma], hint=node.name), beta], out, node.name)


@translates("InstanceNorm")
def _instance_norm(g, node, args, out):
    g.add("InstanceNormalization", args, out, node.name, epsilon=float(node.attrs["eps"]))


@translates("GroupNorm")
def _group_norm(g, node, args, out):
    a = node.attrs
    if a["output_mean_var"]:
        raise unsupported(node, "output_mean_var=True")
    x, gamma, beta = args
    xs, gs = g.arg_specs(node)[0], g.arg_specs(node)[1]
    groups = a["num_groups"]
    grouped = g.add("Reshape", [x, g.ints([0, groups, -1])], hint=node.name)
    y = _normalise(g, node, grouped, [2], a["eps"], xs.dtype)
    y = g.add("Reshape", [y, g.add("Shape", [x], hint=node.name)], hint=node.name)
    c = xs.shape[1]
    if gs.shape[0] != c:      # MXNet 1.x: one gamma/beta per group, repeated per channel
        gamma, beta = (_per_channel(g, node, v, groups, c) for v in (gamma, beta))
    shape = g.ints(_chan_shape(xs.ndim, 1, c))
    gamma = g.add("Reshape", [gamma, shape], hint=node.name)
    beta = g.add("Reshape", [beta, shape], hint=node.name)
    g.add("Add", [g.add("Mul", [y, gamma], hint=node.name), beta], out, node.name)


def _per_channel(g, node, v, groups, c):
    """(groups,) -> (c,), each group's value repeated for its c // groups channels."""
    col = g.axes_op("Unsqueeze", v, [1], hint=node.name)
    tiled = g.add("Tile", [col, g.ints([1, c // groups])], hint=node.name)
    return g.add("Reshape", [tiled, g.ints([c])], hint=node.name)


# -- activations ----------------------------------------------------------------------------------
_ACTIVATIONS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softrelu": "Softplus",
                "softsign": "Softsign"}


@translates("Activation")
def _activation(g, node, args, out):
    g.add(_ACTIVATIONS[node.attrs["act_type"]], args, out, node.name)


# MXNet's SELU constants (ONNX's defaults are these, rounded to float32)
_SELU_ALPHA, _SELU_GAMMA = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


@translates("LeakyReLU")
def _leaky_relu(g, node, args, out):
    a = node.attrs
    act, x = a["act_type"], args[0]
    if act in ("leaky", "rrelu"):      # rrelu: the mean slope, as at inference in MXNet
        slope = a["slope"] if act == "leaky" else (a["lower_bound"] + a["upper_bound"]) / 2
        g.add("LeakyRelu", [x], out, node.name, alpha=float(slope))
    elif act == "elu":
        g.add("Elu", [x], out, node.name, alpha=float(a["slope"]))
    elif act == "selu":
        g.add("Selu", [x], out, node.name, alpha=_SELU_ALPHA, gamma=_SELU_GAMMA)
    elif act == "gelu":                # erf form: x * (1 + erf(x / sqrt 2)) / 2
        dt = _dtype(g, node)
        e = g.add("Erf", [g.add("Mul", [x, g.const(1 / math.sqrt(2), dt)], hint=node.name)],
                  hint=node.name)
        one_plus = g.add("Add", [e, g.const(1, dt)], hint=node.name)
        half_x = g.add("Mul", [x, g.const(0.5, dt)], hint=node.name)
        g.add("Mul", [half_x, one_plus], out, node.name)
    else:                              # prelu: one slope per channel (axis 1)
        xs = g.arg_specs(node)[0]
        gamma = args[1]
        if xs.ndim > 2:                # ONNX broadcasts the slope from the right
            gamma = g.add("Reshape", [gamma, g.ints((-1,) + (1,) * (xs.ndim - 2))],
                          hint=node.name)
        g.add("PRelu", [x, gamma], out, node.name)


@translates("hard_sigmoid")
def _hard_sigmoid(g, node, args, out):
    g.add("HardSigmoid", args, out, node.name, alpha=float(node.attrs["alpha"]),
          beta=float(node.attrs["beta"]))


@translates("Dropout")
def _dropout(g, node, args, out):
    if node.attrs["mode"] == "always":
        raise unsupported(node, "mode='always' (dropout at inference)")
    g.add("Identity", args[:1], out, node.name)


# -- softmax family -------------------------------------------------------------------------------
def _scaled(g, node, x):
    t = node.attrs.get("temperature")
    if t in (None, 1.0):
        return x
    return g.add("Div", [x, g.const(t, _dtype(g, node))], hint=node.name)


def _softmax_like(onnx_op, negate=False):
    def translate(g, node, args, out):
        a = node.attrs
        x = _scaled(g, node, args[0])
        if negate:
            x = g.add("Neg", [x], hint=node.name)
        if a.get("dtype") is not None and np.dtype(a["dtype"]) != _dtype(g, node):
            x = g.add("Cast", [x], hint=node.name, to=_onnx_type(a["dtype"]))
        if a.get("use_length"):
            if onnx_op != "Softmax":
                raise unsupported(node, "use_length=True")
            _softmax_with_length(g, node, x, args[1], out)
            return
        g.add(onnx_op, [x], out, node.name, axis=a["axis"])
    return translate


def _softmax_with_length(g, node, x, length, out):
    """Softmax over the first ``length`` entries along the axis, 0 elsewhere (and everywhere for a
    length of 0), spelled out: ONNX's Softmax has no mask."""
    xs = g.spec(node)
    axis, dt = node.attrs["axis"] % xs.ndim, xs.dtype
    n = g.add("Gather", [g.add("Shape", [x], hint=node.name), g.const(axis, np.int64)],
              hint=node.name, axis=0)
    pos = g.add("Range", [g.const(0, np.int64), n, g.const(1, np.int64)], hint=node.name)
    pos = g.add("Reshape", [pos, g.ints(_chan_shape(xs.ndim, axis, -1))], hint=node.name)
    length = g.add("Cast", [length], hint=node.name, to=_onnx_type(np.int64))
    mask = g.add("Less", [pos, g.axes_op("Unsqueeze", length, [axis], hint=node.name)],
                 hint=node.name)
    # excluded entries take the minimum, so that they never win the max
    low = g.axes_op("ReduceMin", x, [axis], hint=node.name, keepdims=1)
    x = g.add("Where", [mask, x, low], hint=node.name)
    high = g.axes_op("ReduceMax", x, [axis], hint=node.name, keepdims=1)
    zero = g.const(0, dt)
    e = g.add("Where", [mask, g.add("Exp", [g.add("Sub", [x, high], hint=node.name)],
                                     hint=node.name), zero], hint=node.name)
    s = g.axes_op("ReduceSum", e, [axis], hint=node.name, keepdims=1)
    s = g.add("Where", [g.add("Equal", [s, zero], hint=node.name), g.const(1, dt), s],
              hint=node.name)
    g.add("Div", [e, s], out, node.name)


def _onnx_type(dtype):
    from .graph import onnx_dtype
    return onnx_dtype(dtype)


translates("softmax")(_softmax_like("Softmax"))
translates("log_softmax")(_softmax_like("LogSoftmax"))
translates("softmin")(_softmax_like("Softmax", negate=True))


def _flat_softmax(g, node, x, out):
    """Softmax over all non-batch axes of ``x`` (MXNet's instance-wise softmax)."""
    flat = g.add("Flatten", [x], hint=node.name, axis=1)
    sm = g.add("Softmax", [flat], hint=node.name, axis=1)
    g.add("Reshape", [sm, g.add("Shape", [x], hint=node.name)], out, node.name)


@translates("SoftmaxOutput")
def _softmax_output(g, node, args, out):
    a, nd = node.attrs, g.arg_specs(node)[0].ndim
    if a["multi_output"]:
        g.add("Softmax", args[:1], out, node.name, axis=1)
    elif a["preserve_shape"] or nd <= 2:
        g.add("Softmax", args[:1], out, node.name, axis=-1)
    else:
        _flat_softmax(g, node, args[0], out)


@translates("SoftmaxActivation")
def _softmax_activation(g, node, args, out):
    g.add("Softmax", args, out, node.name, axis=1 if node.attrs["mode"] == "channel" else -1)


# -- lookup ---------------------------------------------------------------------------------------
@translates("Embedding")
def _embedding(g, node, args, out):
    """Gather rows; indices clipped to [0, input_dim - 1] first, as MXNet does."""
    idx, w = args
    n = g.arg_specs(node)[1].shape[0]
    g.add("Gather", [w, int64_indices(g, node, idx, n)], out, node.name, axis=0)


# the tensor ops register themselves in the same table
from . import (  # noqa: E402,F401  (imported for their registrations)
    translations_index,
    translations_rnn,
    translations_tensor,
    translations_vision,
)
