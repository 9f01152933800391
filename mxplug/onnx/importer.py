"""ONNX -> mxplug: ``import_model``, ``import_to_gluon`` and ``get_model_metadata`` (MXNet 1.x's
``mx.contrib.onnx`` importers), for the layers of image and MLP models.

Each ONNX node becomes the Symbol of its op (:data:`IMPORTERS`); initializers become
parameters: ``arg_params``, except a ``BatchNormalization``'s running mean and variance, which
are ``aux_params`` as in MXNet. Attributes that need an input's value (``Reshape``'s shape,
``Clip``'s bounds, opset 13's ``Squeeze`` axes, ``Pad``'s pads) must be initializers or
``Constant`` nodes. An op or attribute without a translation is an error naming the op and the
node; nothing is guessed.
"""

from __future__ import annotations

import numpy as np

from ..base import MXNetNotImplementedError, MXNetValueError

__all__ = ["import_model", "import_to_gluon", "get_model_metadata", "IMPORTERS"]

#: ONNX op type -> ``fn(g, node, inputs) -> Symbol or list of Symbols``.
IMPORTERS: dict = {}


def imports(*op_types):
    def deco(fn):
        for t in op_types:
            IMPORTERS[t] = fn
        return fn
    return deco


def _load(model_file):
    import onnx

    if isinstance(model_file, onnx.ModelProto):
        return model_file
    try:
        return onnx.load(model_file)
    except Exception as e:  # noqa: BLE001 - a missing file, or bytes that are no model
        raise MXNetValueError(f"import_model: cannot read the ONNX model {model_file!r}: "
                              f"{e}") from None


class _Importer:
    """The state of one import: Symbols of the ONNX values, constants, parameters."""

    def __init__(self, graph):
        from onnx import numpy_helper

        from .. import symbol as sym

        self.sym = sym
        self.consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        self.values: dict = {}
        self.arg_params: dict = {}
        self.aux_params: dict = {}
        self.aux_names: set = set()
        self.input_shapes = {v.name: tuple(d.dim_value for d in v.type.tensor_type.shape.dim)
                             for v in graph.input}
        self.node = None

    def shape_of(self, sym):
        """``sym``'s shape from the graph inputs' declared shapes (an error if unknown)."""
        shapes = {k: v for k, v in self.input_shapes.items() if all(v)}
        out = sym.infer_shape_partial(**shapes)[1]
        if not out or not out[0] or 0 in out[0]:
            raise self.error("needs its input's shape (declare the graph inputs' shapes)")
        return out[0]

    def error(self, what):
        n = self.node
        return MXNetNotImplementedError(f"import_model: {n.op_type} node {n.name!r}: {what}")

    def const(self, name, what):
        """The value of input ``name``, which must be a constant."""
        if name not in self.consts:
            raise self.error(f"{what} ({name!r}) must be an initializer or a Constant")
        return self.consts[name]

    def tensor(self, name):
        """The Symbol of ONNX value ``name`` (a constant becomes a parameter variable)."""
        if name not in self.values:
            if name not in self.consts:
                raise MXNetValueError(f"import_model: value {name!r} is used before a node or "
                                      f"an input makes it")
            from ..ndarray import array
            value = self.consts[name]
            self.values[name] = self.sym.var(name, shape=value.shape, dtype=value.dtype)
            target = self.aux_params if name in self.aux_names else self.arg_params
            target[name] = array(value, dtype=value.dtype)
        return self.values[name]

    def param(self, name, value):
        """A new parameter variable ``name`` holding ``value`` (a rewritten initializer; the
        original stays for its other consumers)."""
        while name in self.consts or name in self.values:
            name += "_"
        self.consts[name] = np.ascontiguousarray(value)
        return self.tensor(name)


def _attrs(node):
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _decoded(value):
    return value.decode() if isinstance(value, bytes) else value


def import_model(model_file):
    """Read an ONNX model into ``(sym, arg_params, aux_params)`` (MXNet 1.x's
    ``mx.contrib.onnx.import_model``); ``model_file`` is a path or an ``onnx.ModelProto``."""
    model = _load(model_file)
    graph = model.graph
    g = _Importer(graph)
    g.aux_names = {name for n in graph.node if n.op_type == "BatchNormalization"
                   for name in n.input[3:5]}
    for i in graph.input:
        if i.name not in g.consts:
            g.values[i.name] = g.sym.var(i.name)
    for node in graph.node:
        g.node = node
        fn = IMPORTERS.get(node.op_type)
        if fn is None:
            raise g.error(f"no translation for ONNX op {node.op_type!r}; supported: "
                          f"{', '.join(sorted(IMPORTERS))}")
        inputs = [name for name in node.input]
        out = fn(g, node, inputs, _attrs(node))
        outs = out if isinstance(out, (list, tuple)) else [out]
        for name, s in zip(node.output, outs):
            if name:
                g.values[name] = s
    outputs = [g.tensor(o.name) for o in graph.output]
    sym = outputs[0] if len(outputs) == 1 else g.sym.Group(outputs)
    return sym, g.arg_params, g.aux_params


def get_model_metadata(model_file):
    """``{'input_tensor_data': [(name, shape)], 'output_tensor_data': [(name, shape)]}`` of
    the graph inputs that are not initializers, and of the outputs (MXNet 1.x's)."""
    graph = _load(model_file).graph
    init = {t.name for t in graph.initializer}

    def shape(v):
        return tuple(d.dim_value if d.HasField("dim_value") else d.dim_param or 0
                     for d in v.type.tensor_type.shape.dim)

    return {"input_tensor_data": [(v.name, shape(v)) for v in graph.input
                                  if v.name not in init],
            "output_tensor_data": [(v.name, shape(v)) for v in graph.output]}


def import_to_gluon(model_file, ctx):
    """The ONNX model as a ``gluon.SymbolBlock`` with its parameters on ``ctx`` (a Context
    or a list of them), as MXNet 1.x's ``import_to_gluon``."""
    from .. import symbol
    from ..gluon import SymbolBlock

    model = _load(model_file)
    sym, arg_params, aux_params = import_model(model)
    data_names = [name for name, _ in get_model_metadata(model)["input_tensor_data"]]
    net = SymbolBlock(sym, [symbol.var(name) for name in data_names])
    params = net.collect_params()
    params.initialize(ctx=ctx)
    for name, value in {**arg_params, **aux_params}.items():
        if name in params:
            params[name].set_data(value)
    return net


# -- layers ------------------------------------------------------------------------------------
def _padded(g, x, a, kernel, fill):
    """``(input, symmetric pad)`` for a convolution or pooling window: ONNX's ``auto_pad``
    ``SAME_UPPER``/``SAME_LOWER`` resolved against the input's shape, and asymmetric ``pads``
    applied by a ``pad`` op (``fill``: the value a window sees there; None if it cannot be
    padded ahead) so that MXNet's symmetric ``pad`` is 0."""
    n = len(kernel)
    strides = list(a.get("strides", [1] * n))
    dilations = list(a.get("dilations", [1] * n))
    auto = _decoded(a.get("auto_pad", "NOTSET"))
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        size = g.shape_of(x)[2:]
        total = [max((-(-i // s) - 1) * s + (k - 1) * d + 1 - i, 0)
                 for i, s, k, d in zip(size, strides, kernel, dilations)]
        small = [t // 2 for t in total]
        big = [t - h for t, h in zip(total, small)]
        pads = small + big if auto == "SAME_UPPER" else big + small
    elif auto in ("NOTSET", "VALID"):
        pads = list(a.get("pads", [0] * 2 * n)) if auto == "NOTSET" else [0] * 2 * n
    else:
        raise g.error(f"auto_pad={auto!r}")
    begin, end = pads[:n], pads[n:]
    if begin == end:
        return x, tuple(begin)
    if fill is None:
        raise g.error(f"asymmetric pads {pads} (they cannot be applied ahead here)")
    if n not in (2, 3):
        raise g.error(f"asymmetric pads {pads} on {n} spatial axes (MXNet's pad takes 2 or 3)")
    width = (0, 0, 0, 0) + tuple(v for b, e in zip(begin, end) for v in (b, e))
    return g.sym.pad(x, mode="constant", pad_width=width, constant_value=fill), (0,) * n


@imports("Conv")
def _conv(g, node, ins, a):
    w = g.const(ins[1], "the weight")
    kernel = tuple(a.get("kernel_shape", w.shape[2:]))
    x, pad = _padded(g, g.tensor(ins[0]), a, kernel, 0.0)
    args = [x, g.tensor(ins[1])] + ([g.tensor(ins[2])] if len(ins) > 2 and ins[2] else [])
    return g.sym.Convolution(*args, kernel=kernel, num_filter=w.shape[0],
                             stride=tuple(a.get("strides", [1] * len(kernel))), pad=pad,
                             dilate=tuple(a.get("dilations", [1] * len(kernel))),
                             num_group=a.get("group", 1), no_bias=len(args) == 2,
                             name=node.name or None)


@imports("Gemm")
def _gemm(g, node, ins, a):
    alpha, beta = a.get("alpha", 1.0), a.get("beta", 1.0)
    if a.get("transA", 0):
        raise g.error("transA=1")
    if ins[1] not in g.consts:
        raise g.error("a weight that is not an initializer")
    w = g.consts[ins[1]]
    if a.get("transB", 0) and alpha == 1.0:
        weight = g.tensor(ins[1])
    else:  # FullyConnected's weight is (out, in): a rewritten copy, the initializer kept
        w = alpha * (w if a.get("transB", 0) else w.T)
        weight = g.param(f"{ins[1]}_{node.name or 'gemm'}", w)
    args = [g.tensor(ins[0]), weight]
    if len(ins) > 2 and ins[2]:
        c = g.const(ins[2], "the bias C")
        if c.size not in (1, w.shape[0]):
            raise g.error(f"a bias C of shape {c.shape} (FullyConnected's is ({w.shape[0]},))")
        if c.shape == (w.shape[0],) and beta == 1.0:
            args.append(g.tensor(ins[2]))
        else:
            b = np.broadcast_to(beta * c.reshape(-1), (w.shape[0],))
            args.append(g.param(f"{ins[2]}_{node.name or 'gemm'}", b))
    return g.sym.FullyConnected(*args, num_hidden=w.shape[0], no_bias=len(args) == 2,
                                name=node.name or None)


@imports("MatMul")
def _matmul(g, node, ins, a):
    return g.sym.matmul(g.tensor(ins[0]), g.tensor(ins[1]))


@imports("BatchNormalization")
def _batchnorm(g, node, ins, a):
    if a.get("training_mode", 0):
        raise g.error("training_mode=1")
    return g.sym.BatchNorm(*[g.tensor(n) for n in ins[:5]], eps=a.get("epsilon", 1e-5),
                           momentum=a.get("momentum", 0.9), fix_gamma=False,
                           name=node.name or None)


@imports("InstanceNormalization")
def _instancenorm(g, node, ins, a):
    return g.sym.InstanceNorm(*[g.tensor(n) for n in ins], eps=a.get("epsilon", 1e-5))


def _pool(pool_type):
    def convert(g, node, ins, a):
        kernel = tuple(a["kernel_shape"])
        if a.get("dilations") and set(a["dilations"]) != {1}:
            raise g.error("dilated pooling")
        extra = {}
        if pool_type == "avg":
            extra["count_include_pad"] = bool(a.get("count_include_pad", 0))
        # max: pad ahead with the lowest value; avg counts padding only when asked to
        fill = -3.4028234663852886e38 if pool_type == "max" else \
            0.0 if extra["count_include_pad"] else None
        x, pad = _padded(g, g.tensor(ins[0]), a, kernel, fill)
        return g.sym.Pooling(x, kernel=kernel, pool_type=pool_type, pad=pad,
                             stride=tuple(a.get("strides", [1] * len(kernel))),
                             pooling_convention="full" if a.get("ceil_mode", 0) else "valid",
                             **extra)
    return convert


imports("MaxPool")(_pool("max"))
imports("AveragePool")(_pool("avg"))


@imports("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(g, node, ins, a):
    return g.sym.Pooling(g.tensor(ins[0]), kernel=(1, 1), global_pool=True,
                         pool_type="avg" if node.op_type == "GlobalAveragePool" else "max")


@imports("Flatten")
def _flatten(g, node, ins, a):
    if a.get("axis", 1) != 1:
        raise g.error(f"axis={a['axis']} (only 1, MXNet's Flatten)")
    return g.sym.Flatten(g.tensor(ins[0]))


@imports("Dropout", "Identity")
def _identity(g, node, ins, a):
    return g.tensor(ins[0])  # inference: dropout is the identity


# -- activations and elementwise ---------------------------------------------------------------
_UNARY = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Exp": "exp", "Log": "log",
          "Sqrt": "sqrt", "Abs": "abs", "Neg": "negative", "Reciprocal": "reciprocal",
          "Floor": "floor", "Ceil": "ceil", "Erf": "erf", "Softsign": "softsign",
          "Sin": "sin", "Cos": "cos"}


def _unary(name):
    return lambda g, node, ins, a: getattr(g.sym, name)(g.tensor(ins[0]))


for _t, _name in _UNARY.items():
    imports(_t)(_unary(_name))

_BINARY = {"Add": "broadcast_add", "Sub": "broadcast_sub", "Mul": "broadcast_mul",
           "Div": "broadcast_div", "Pow": "broadcast_power", "Max": "broadcast_maximum",
           "Min": "broadcast_minimum"}


def _binary(name):
    def convert(g, node, ins, a):
        if len(ins) != 2:
            raise g.error(f"{len(ins)} inputs (two are supported)")
        return getattr(g.sym, name)(g.tensor(ins[0]), g.tensor(ins[1]))
    return convert


for _t, _name in _BINARY.items():
    imports(_t)(_binary(_name))


@imports("Softplus")
def _softplus(g, node, ins, a):
    return g.sym.Activation(g.tensor(ins[0]), act_type="softrelu")


@imports("LeakyRelu")
def _leaky(g, node, ins, a):
    return g.sym.LeakyReLU(g.tensor(ins[0]), act_type="leaky", slope=a.get("alpha", 0.01))


@imports("Elu")
def _elu(g, node, ins, a):
    return g.sym.LeakyReLU(g.tensor(ins[0]), act_type="elu", slope=a.get("alpha", 1.0))


@imports("PRelu")
def _prelu(g, node, ins, a):
    slope = g.const(ins[1], "the slope").reshape(-1)  # (C, 1, 1) -> MXNet's (C,)
    return g.sym.LeakyReLU(g.tensor(ins[0]), g.param(f"{ins[1]}_prelu", slope),
                           act_type="prelu")


@imports("HardSigmoid")
def _hard_sigmoid(g, node, ins, a):
    return g.sym.hard_sigmoid(g.tensor(ins[0]), alpha=a.get("alpha", 0.2),
                              beta=a.get("beta", 0.5))


@imports("Clip")
def _clip(g, node, ins, a):
    lo = float(g.const(ins[1], "min")) if len(ins) > 1 and ins[1] else a.get("min", -np.inf)
    hi = float(g.const(ins[2], "max")) if len(ins) > 2 and ins[2] else a.get("max", np.inf)
    return g.sym.clip(g.tensor(ins[0]), a_min=lo, a_max=hi)


def _softmax(name):
    def convert(g, node, ins, a):
        return getattr(g.sym, name)(g.tensor(ins[0]), axis=a.get("axis", -1))
    return convert


imports("Softmax")(_softmax("softmax"))
imports("LogSoftmax")(_softmax("log_softmax"))


# -- shapes ------------------------------------------------------------------------------------
@imports("Reshape")
def _reshape(g, node, ins, a):
    if a.get("allowzero", 0):
        raise g.error("allowzero=1")
    shape = tuple(int(d) for d in g.const(ins[1], "the shape"))
    return g.sym.reshape(g.tensor(ins[0]), shape=shape)  # 0 copies, -1 infers: as MXNet


@imports("Transpose")
def _transpose(g, node, ins, a):
    perm = a.get("perm")
    return g.sym.transpose(g.tensor(ins[0]), axes=tuple(perm) if perm else ())


@imports("Concat")
def _concat(g, node, ins, a):
    return g.sym.Concat(*[g.tensor(n) for n in ins], dim=a["axis"])


def _axes(g, ins, a):
    if "axes" in a:
        return tuple(a["axes"])
    return tuple(int(x) for x in g.const(ins[1], "axes")) if len(ins) > 1 and ins[1] else None


@imports("Squeeze")
def _squeeze(g, node, ins, a):
    axes = _axes(g, ins, a)
    return g.sym.squeeze(g.tensor(ins[0]), axis=axes)


@imports("Unsqueeze")
def _unsqueeze(g, node, ins, a):
    x = g.tensor(ins[0])
    axes = _axes(g, ins, a)
    if any(axis < 0 for axis in axes):  # counted from the end of the output
        rank = len(g.shape_of(x)) + len(axes)
        axes = [axis + rank if axis < 0 else axis for axis in axes]
    for axis in sorted(axes):  # ascending: each an axis of the output
        x = g.sym.expand_dims(x, axis=axis)
    return x


@imports("Gather")
def _gather(g, node, ins, a):
    return g.sym.take(g.tensor(ins[0]), g.tensor(ins[1]), axis=a.get("axis", 0))


def _reduce(name):
    def convert(g, node, ins, a):
        axes = _axes(g, ins, a)
        return getattr(g.sym, name)(g.tensor(ins[0]), axis=axes if axes else (),
                                    keepdims=bool(a.get("keepdims", 1)))
    return convert


for _t, _name in {"ReduceSum": "sum", "ReduceMean": "mean", "ReduceMax": "max",
                  "ReduceMin": "min", "ReduceProd": "prod"}.items():
    imports(_t)(_reduce(_name))


@imports("Pad")
def _pad(g, node, ins, a):
    pads = [int(p) for p in (g.const(ins[1], "the pads") if len(ins) > 1 else a["pads"])]
    half = len(pads) // 2
    width = tuple(v for b, e in zip(pads[:half], pads[half:]) for v in (b, e))
    value = float(g.const(ins[2], "the value")) if len(ins) > 2 and ins[2] else \
        a.get("value", 0.0)
    mode = _decoded(a.get("mode", "constant"))
    return g.sym.pad(g.tensor(ins[0]), mode={"edge": "edge", "reflect": "reflect"}.get(
        mode, "constant"), pad_width=width, constant_value=value)


@imports("Cast")
def _cast(g, node, ins, a):
    from onnx import helper
    return g.sym.Cast(g.tensor(ins[0]), dtype=np.dtype(helper.tensor_dtype_to_np_dtype(
        a["to"])).name)


@imports("Constant")
def _constant(g, node, ins, a):
    from onnx import numpy_helper
    if "value" not in a:
        raise g.error(f"a Constant given by {sorted(a)} (only 'value')")
    g.consts[node.output[0]] = numpy_helper.to_array(a["value"])
    return []  # made a parameter where a node uses it as a tensor
