"""Parameter-shape rules of the NN layers: the shapes of weight/bias/gamma/... implied by the data
input and the attributes. Symbol shape inference (``simple_bind(data=...)``) and Gluon's deferred
initialisation use them. Input indices follow each op's declared inputs."""

from __future__ import annotations

import math

from .registry import REGISTRY


def _channels(x, axis=1):
    return x.shape[axis % len(x.shape)]


@REGISTRY["FullyConnected"].params
def _(x, w=None, b=None, num_hidden=0, no_bias=False, flatten=True):
    if x is None:
        return {}
    k = math.prod(x.shape[1:]) if flatten else x.shape[-1]
    return {1: (num_hidden, k), 2: None if no_bias else (num_hidden,)}


def _conv_params(x, w=None, b=None, kernel=(), num_filter=0, num_group=1, no_bias=False,
                 layout=None, transposed=False, **_):
    if x is None:
        return {}
    last = layout in ("NWC", "NHWC", "NDHWC")   # the weight is (out, *kernel, in) there
    c = _channels(x, -1 if last else 1)
    wshape = ((c, num_filter // num_group) if transposed else (num_filter, c // num_group))
    wshape = wshape[:1] + tuple(kernel) + wshape[1:] if last else wshape + tuple(kernel)
    return {1: wshape, 2: None if no_bias else (num_filter,)}


REGISTRY["Convolution"].params(lambda x, w=None, b=None, **a: _conv_params(x, w, b, **a))
REGISTRY["Deconvolution"].params(
    lambda x, w=None, b=None, **a: _conv_params(x, w, b, transposed=True, **a))


def _per_channel(n_params, axis_attr="axis", default_axis=1):
    def rule(x, *params, **attrs):
        if x is None:
            return {}
        c = (_channels(x, attrs.get(axis_attr, default_axis)),)
        return {i: c for i in range(1, 1 + n_params)}
    return rule


REGISTRY["BatchNorm"].params(_per_channel(4))
REGISTRY["_BatchNorm"].params(_per_channel(4))
REGISTRY["LayerNorm"].params(_per_channel(2, default_axis=-1))
REGISTRY["InstanceNorm"].params(_per_channel(2))


@REGISTRY["GroupNorm"].params
def _(x, gamma=None, beta=None, num_groups=1, **_):
    return {} if x is None else {1: (num_groups,), 2: (num_groups,)}


@REGISTRY["Embedding"].params
def _(x, w=None, input_dim=0, output_dim=0, **_):
    return {1: (input_dim, output_dim)}


@REGISTRY["LeakyReLU"].params
def _(x, gamma=None, act_type="leaky", **_):
    if x is None or act_type != "prelu":
        return {}
    return {1: (_channels(x),)}


# -- output counts that depend on attributes (a graph node must know them before shapes are) ------
def _mean_var_outputs(attrs):
    return 3 if attrs.get("output_mean_var") else 1


for _name in ("BatchNorm", "_BatchNorm", "LayerNorm", "GroupNorm"):
    REGISTRY[_name].nout = _mean_var_outputs


# -- auxiliary-state updates (BatchNorm's moving statistics) ---------------------------------------
def _batchnorm_update(args, attrs):
    """MXNet's training-mode update: ``moving = momentum * moving + (1 - momentum) * batch``
    with the batch mean and (biased) variance over every axis but ``axis``. The op itself is
    pure; executors and Gluon's BatchNorm call this after a training forward."""
    from .call import F

    if attrs.get("use_global_stats"):
        return
    x, mean_state, var_state = args[0], args[3], args[4]
    axis = attrs.get("axis", 1) % x.ndim
    axes = tuple(i for i in range(x.ndim) if i != axis)
    mean = F.mean(x, axis=axes)
    var = F.mean(F.square(x - F.reshape(mean, shape=tuple(
        x.shape[i] if i == axis else 1 for i in range(x.ndim)))), axis=axes)
    m = attrs.get("momentum", 0.9)
    mean_state[:] = mean_state * m + mean * (1 - m)
    var_state[:] = var_state * m + var * (1 - m)


for _name in ("BatchNorm", "_BatchNorm"):
    REGISTRY[_name].aux_update = _batchnorm_update
