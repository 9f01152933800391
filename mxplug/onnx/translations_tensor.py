"""mxplug op -> ONNX translations: element-wise math, reductions, shapes, slicing, indexing.

Registered in :data:`mxplug.onnx.translations.TRANSLATIONS` (see there for the calling
convention). MXNet's binary ops broadcast like NumPy, as ONNX's do; a scalar operand (``x * 2``)
becomes a 0-d constant of the array's dtype; comparisons return the input's dtype, as MXNet's do.
"""

from __future__ import annotations

import math

import numpy as np

from ..base import MXNetNotImplementedError
from ..ops.infer import normalize_axis
from .graph import onnx_dtype
from .translations import translates, unsupported

_INT64_MAX = np.iinfo(np.int64).max


def _dt(g, node, k=0):
    return g.spec(node, k).dtype


def _operands(g, node, args):
    dt = next(s.dtype for s in g.arg_specs(node) if s is not None)
    return [g.operand(a, dt, f"{node.name}_scalar") for a in args]


# -- element-wise ---------------------------------------------------------------------------------
def _binary(onnx_op):
    def translate(g, node, args, out):
        g.add(onnx_op, _operands(g, node, args), out, node.name)
    return translate


for _names, _onnx in ((("add",), "Add"), (("subtract",), "Sub"), (("multiply",), "Mul"),
                      (("divide",), "Div"), (("power",), "Pow"), (("maximum",), "Max"),
                      (("minimum",), "Min")):
    translates(*_names)(_binary(_onnx))


def _comparison(onnx_op, negate=False):
    def translate(g, node, args, out):
        r = g.add(onnx_op, _operands(g, node, args), hint=node.name)
        if negate:
            r = g.add("Not", [r], hint=node.name)
        g.add("Cast", [r], out, node.name, to=onnx_dtype(_dt(g, node)))
    return translate


for _name, _onnx, _neg in (
        ("equal", "Equal", False), ("not_equal", "Equal", True), ("greater", "Greater", False),
        ("greater_equal", "GreaterOrEqual", False), ("lesser", "Less", False),
        ("lesser_equal", "LessOrEqual", False)):
    translates(_name)(_comparison(_onnx, _neg))


@translates("modulo")
def _modulo(g, node, args, out):
    """NumPy's mod (sign of the divisor): ``a - floor(a / b) * b``; ``x % 0`` is 0, as in
    MXNet (ONNX: an error for integers, NaN for floats), so a 0 divisor is replaced by 1 and the
    result by 0 there."""
    a, b = _operands(g, node, args)
    dt = _dt(g, node)
    zero = g.const(0, dt)
    by_zero = g.add("Equal", [b, zero], hint=node.name)
    safe = g.add("Where", [by_zero, g.const(1, dt), b], hint=node.name)
    if np.issubdtype(dt, np.integer):
        r = g.add("Mod", [a, safe], hint=node.name, fmod=0)
    else:
        q = g.add("Floor", [g.add("Div", [a, safe], hint=node.name)], hint=node.name)
        r = g.add("Sub", [a, g.add("Mul", [q, safe], hint=node.name)], hint=node.name)
    g.add("Where", [by_zero, zero, r], out, node.name)


def _as_bool(g, node, x):
    return g.add("Cast", [x], hint=node.name, to=onnx_dtype(np.bool_))


def _logical(onnx_op):
    """MXNet's logical ops take and return numbers (non-zero is true), ONNX's booleans."""
    def translate(g, node, args, out):
        r = g.add(onnx_op, [_as_bool(g, node, a) for a in _operands(g, node, args)],
                  hint=node.name)
        g.add("Cast", [r], out, node.name, to=onnx_dtype(_dt(g, node)))
    return translate


for _name, _onnx in (("logical_and", "And"), ("logical_or", "Or"), ("logical_xor", "Xor"),
                     ("logical_not", "Not")):
    translates(_name)(_logical(_onnx))


@translates("isnan", "isinf", "isfinite")
def _float_class(g, node, args, out):
    x, name = args[0], node.op.name
    if name == "isnan":
        r = g.add("IsNaN", [x], hint=node.name)
    elif name == "isinf":
        r = g.add("IsInf", [x], hint=node.name)
    else:
        bad = g.add("Or", [g.add("IsNaN", [x], hint=node.name),
                           g.add("IsInf", [x], hint=node.name)], hint=node.name)
        r = g.add("Not", [bad], hint=node.name)
    g.add("Cast", [r], out, node.name, to=onnx_dtype(_dt(g, node)))


@translates("add_n")
def _add_n(g, node, args, out):
    g.add("Sum", args, out, node.name)


_UNARY = {"negative": "Neg", "abs": "Abs", "exp": "Exp", "log": "Log", "sqrt": "Sqrt",
          "reciprocal": "Reciprocal", "sin": "Sin", "cos": "Cos", "tan": "Tan", "arcsin": "Asin",
          "arccos": "Acos", "arctan": "Atan", "sinh": "Sinh", "cosh": "Cosh", "arcsinh": "Asinh",
          "arccosh": "Acosh", "arctanh": "Atanh", "floor": "Floor", "ceil": "Ceil",
          "rint": "Round", "sign": "Sign", "erf": "Erf", "sigmoid": "Sigmoid", "tanh": "Tanh",
          "relu": "Relu", "softrelu": "Softplus", "softsign": "Softsign", "copy": "Identity",
          "stop_gradient": "Identity"}


def _unary(onnx_op):
    def translate(g, node, args, out):
        g.add(onnx_op, args, out, node.name)
    return translate


for _name, _onnx in _UNARY.items():
    translates(_name)(_unary(_onnx))


def _then(first, op, value):
    """``op(first(x), value)``: unary ops that ONNX spells as two."""
    def translate(g, node, args, out):
        x = g.add(first, args, hint=node.name) if first else args[0]
        g.add(op, [x, g.const(value, _dt(g, node))], out, node.name)
    return translate


translates("log2")(_then("Log", "Div", math.log(2)))
translates("log10")(_then("Log", "Div", math.log(10)))
translates("expm1")(_then("Exp", "Sub", 1))
translates("degrees")(_then(None, "Mul", 180 / math.pi))
translates("radians")(_then(None, "Mul", math.pi / 180))


@translates("log1p")
def _log1p(g, node, args, out):
    g.add("Log", [g.add("Add", [args[0], g.const(1, _dt(g, node))], hint=node.name)], out,
          node.name)


@translates("square")
def _square(g, node, args, out):
    g.add("Mul", [args[0], args[0]], out, node.name)


@translates("rsqrt")
def _rsqrt(g, node, args, out):
    g.add("Reciprocal", [g.add("Sqrt", args, hint=node.name)], out, node.name)


@translates("round")
def _round(g, node, args, out):
    """MXNet rounds half away from zero (ONNX's Round: half to even)."""
    x, dt = args[0], _dt(g, node)
    r = g.add("Floor", [g.add("Add", [g.add("Abs", [x], hint=node.name), g.const(0.5, dt)],
                              hint=node.name)], hint=node.name)
    g.add("Mul", [g.add("Sign", [x], hint=node.name), r], out, node.name)


@translates("clip")
def _clip(g, node, args, out):
    dt = _dt(g, node)
    g.add("Clip", [args[0], g.const(node.attrs["a_min"], dt), g.const(node.attrs["a_max"], dt)],
          out, node.name)


@translates("cast")
def _cast(g, node, args, out):
    g.add("Cast", args, out, node.name, to=onnx_dtype(node.attrs["dtype"]))


@translates("where")
def _where(g, node, args, out):
    cond = g.add("Cast", [args[0]], hint=node.name, to=onnx_dtype(np.bool_))
    g.add("Where", [cond, args[1], args[2]], out, node.name)


def _filled_like(value):
    def translate(g, node, args, out):
        v = node.attrs.get("fill_value", value)
        shape = g.add("Shape", args[:1], hint=node.name)
        from onnx import numpy_helper
        g.add("ConstantOfShape", [shape], out, node.name,
              value=numpy_helper.from_array(np.asarray([v], dtype=_dt(g, node))))
    return translate


translates("zeros_like")(_filled_like(0))
translates("ones_like")(_filled_like(1))
translates("full_like")(_filled_like(0))


@translates("zeros", "ones", "full", "arange", "linspace", "eye", "_constant")
def _constant_op(g, node, args, out):
    """Ops without inputs compute a constant: evaluated now, stored as an initializer."""
    from ..ops.dispatch import apply
    value = apply(node.op, **node.attrs).asnumpy()
    g.add("Identity", [g.const(value, hint=node.name)], out, node.name)


# -- reductions -----------------------------------------------------------------------------------
def _reduce_axes(node, ndim):
    """The axes MXNet reduces (``axis=None``: all; ``exclude``: all but ``axis``)."""
    axes = normalize_axis(node.attrs.get("axis"), ndim, node.op.name)
    if node.attrs.get("exclude"):
        return [a for a in range(ndim) if a not in axes]
    return sorted(set(axes))


def _reduction(onnx_op):
    def translate(g, node, args, out):
        xs = g.arg_specs(node)[0]
        axes = _reduce_axes(node, xs.ndim)
        keep = int(bool(node.attrs.get("keepdims")))
        if not axes:
            g.add("Identity", args[:1], out, node.name)
            return
        r = g.axes_op(onnx_op, args[0], axes, None if keep else 1, node.name, keepdims=keep)
        if not keep and len(axes) == xs.ndim:        # MXNet: a full reduction has shape (1,)
            g.add("Reshape", [r, g.ints([1])], out, node.name)
        else:
            g.add("Identity", [r], out, node.name)
    return translate


for _name, _onnx in (("sum", "ReduceSum"), ("mean", "ReduceMean"), ("max", "ReduceMax"),
                     ("min", "ReduceMin"), ("prod", "ReduceProd")):
    translates(_name)(_reduction(_onnx))


@translates("norm")
def _norm(g, node, args, out):
    ord_ = node.attrs["ord"]
    if ord_ not in (1, 2):
        raise unsupported(node, f"ord={ord_}")
    _reduction("ReduceL1" if ord_ == 1 else "ReduceL2")(g, node, args, out)


def _arg_reduce(onnx_op):
    def translate(g, node, args, out):
        a, x = node.attrs, args[0]
        xs = g.arg_specs(node)[0]
        if a["axis"] is None:
            x, axis = g.add("Reshape", [x, g.ints([-1])], hint=node.name), 0
        else:
            axis = a["axis"] % xs.ndim
        keep = int(bool(a["keepdims"])) if a["axis"] is not None else 0
        r = g.add(onnx_op, [x], hint=node.name, axis=axis, keepdims=keep)
        if a["axis"] is None:      # MXNet: shape (1,), or all 1s with keepdims
            r = g.add("Reshape", [r, g.ints([1] * (xs.ndim if a["keepdims"] else 1))],
                      hint=node.name)
        g.add("Cast", [r], out, node.name, to=onnx_dtype(_dt(g, node)))
    return translate


translates("argmax")(_arg_reduce("ArgMax"))
translates("argmin")(_arg_reduce("ArgMin"))


# -- shapes ---------------------------------------------------------------------------------------
def reshape_target(g, node, src_index=0, k=0):
    """The ONNX ``Reshape`` target for output ``k`` of ``node`` from its input ``src_index``:
    the concrete shape, except that dimensions following a dynamic input dimension stay
    symbolic (0: copy the input's dimension at the same index; -1: the one left to infer)."""
    src, sk = node.inputs[src_index]
    x, y = g.spec(src, sk).shape, g.spec(node, k).shape
    target = list(y)
    in_var, out_var = g.input_varying_axes(node, src_index), g.varying_axes(node, k)
    infer = []
    for i in sorted(out_var):
        if i in in_var and i < len(x) and x[i] == y[i]:
            target[i] = 0
        else:
            infer.append(i)
    if len(infer) > 1:
        raise MXNetNotImplementedError(
            f"export_model: node {node.name!r} ({node.op.name}) reshapes {tuple(x)} to "
            f"{tuple(y)} with the dynamic dimensions {infer} of the output depending on the "
            f"input's; ONNX Reshape can leave one to infer. Export with fixed shapes "
            f"(dynamic=False) or reshape with 0/-1 codes that keep the dynamic axes apart")
    for i in infer:
        target[i] = -1
    return target


@translates("reshape", "reshape_like")
def _reshape(g, node, args, out):
    g.add("Reshape", [args[0], g.ints(reshape_target(g, node))], out, node.name)


@translates("Flatten")
def _flatten(g, node, args, out):
    g.add("Flatten", args, out, node.name, axis=1)


@translates("expand_dims")
def _expand_dims(g, node, args, out):
    ndim = g.spec(node).ndim
    g.axes_op("Unsqueeze", args[0], [node.attrs["axis"] % ndim], out, node.name)


@translates("squeeze")
def _squeeze(g, node, args, out):
    xs = g.arg_specs(node)[0]
    axis = node.attrs["axis"]
    if axis is None:
        axes = [i for i, n in enumerate(xs.shape) if n == 1]
    else:
        axes = [a % xs.ndim for a in ((axis,) if isinstance(axis, int) else axis)]
    if len(axes) == xs.ndim:          # MXNet keeps one axis: shape (1,)
        g.add("Reshape", [args[0], g.ints([1])], out, node.name)
    else:
        g.axes_op("Squeeze", args[0], axes, out, node.name)


@translates("transpose")
def _transpose(g, node, args, out):
    ndim = g.arg_specs(node)[0].ndim
    axes = [a % ndim for a in node.attrs["axes"]] or list(range(ndim))[::-1]
    g.add("Transpose", args, out, node.name, perm=axes)


@translates("swapaxes")
def _swapaxes(g, node, args, out):
    ndim = g.arg_specs(node)[0].ndim
    perm = list(range(ndim))
    d1, d2 = node.attrs["dim1"] % ndim, node.attrs["dim2"] % ndim
    perm[d1], perm[d2] = perm[d2], perm[d1]
    g.add("Transpose", args, out, node.name, perm=perm)


@translates("concat")
def _concat(g, node, args, out):
    g.add("Concat", args, out, node.name, axis=node.attrs["dim"])


@translates("stack")
def _stack(g, node, args, out):
    axis = node.attrs["axis"] % g.spec(node).ndim
    parts = [g.axes_op("Unsqueeze", a, [axis], hint=node.name) for a in args]
    g.add("Concat", parts, out, node.name, axis=axis)


@translates("tile")
def _tile(g, node, args, out):
    xs = g.arg_specs(node)[0]
    reps = list(node.attrs["reps"])
    x = args[0]
    if len(reps) > xs.ndim:          # NumPy tile: prepend axes to the data
        x = g.axes_op("Unsqueeze", x, list(range(len(reps) - xs.ndim)), hint=node.name)
    reps = [1] * (max(xs.ndim, len(reps)) - len(reps)) + reps
    g.add("Tile", [x, g.ints(reps)], out, node.name)


@translates("broadcast_to", "broadcast_axis")
def _broadcast_to(g, node, args, out):
    """Expand to the output shape; 1 where the input keeps its size (dynamic axes included)."""
    xs, y = g.arg_specs(node)[0], g.spec(node).shape
    shape = [1 if i < xs.ndim and xs.shape[i] == n else n for i, n in enumerate(y)]
    g.add("Expand", [args[0], g.ints(shape)], out, node.name)


@translates("broadcast_like")
def _broadcast_like(g, node, args, out):
    """Expand to ``rhs``'s run-time shape (on ``lhs_axes`` from its ``rhs_axes``)."""
    rhs_shape = g.add("Shape", [args[1]], hint=node.name)
    lhs_axes, rhs_axes = node.attrs["lhs_axes"], node.attrs["rhs_axes"]
    if lhs_axes is None and rhs_axes is None:
        g.add("Expand", [args[0], rhs_shape], out, node.name)
        return
    ndim, rdim = g.arg_specs(node)[0].ndim, g.arg_specs(node)[1].ndim
    lhs_axes = [a % ndim for a in (lhs_axes if lhs_axes is not None else range(ndim))]
    rhs_axes = [a % rdim for a in (rhs_axes if rhs_axes is not None else range(rdim))]
    source = dict(zip(lhs_axes, rhs_axes))
    dims = [g.add("Gather", [rhs_shape, g.ints([source[i]])], hint=node.name, axis=0)
            if i in source else g.ints([1]) for i in range(ndim)]   # 1: Expand keeps the size
    target = g.add("Concat", dims, hint=node.name, axis=0)
    g.add("Expand", [args[0], target], out, node.name)


@translates("pad")
def _pad(g, node, args, out):
    a = node.attrs
    width = list(a["pad_width"])
    pads = width[0::2] + width[1::2]
    dt = _dt(g, node)
    g.add("Pad", [args[0], g.ints(pads), g.const(a["constant_value"], dt)], out, node.name,
          mode=a["mode"])


@translates("_contrib_arange_like")
def _arange_like(g, node, args, out):
    """``start + step * (i // repeat)`` over data's run-time size (or its size along ``axis``),
    computed as mxplug does: exactly in int64 for integer data and steps, else in float32 (float64
    for float64 data)."""
    a, x = node.attrs, args[0]
    dt = _dt(g, node)
    if a["axis"] is None:
        n = g.add("Size", [x], hint=node.name)
    else:
        axis = a["axis"] % g.arg_specs(node)[0].ndim
        n = g.add("Gather", [g.add("Shape", [x], hint=node.name), g.const(axis, np.int64)],
                  hint=node.name, axis=0)
    i = g.add("Range", [g.const(0, np.int64), n, g.const(1, np.int64)], hint=node.name)
    if a["repeat"] != 1:
        i = g.add("Div", [i, g.const(a["repeat"], np.int64)], hint=node.name)
    start, step = a["start"], a["step"]
    if dt.kind in "iub" and float(start).is_integer() and float(step).is_integer():
        work, start, step = np.dtype(np.int64), int(start), int(step)
    else:
        work = np.dtype(np.float64 if dt == np.float64 else np.float32)
        i = g.add("Cast", [i], hint=node.name, to=onnx_dtype(work))
    v = g.add("Add", [g.add("Mul", [i, g.const(step, work)], hint=node.name),
                      g.const(start, work)], hint=node.name)
    v = g.add("Cast", [v], hint=node.name, to=onnx_dtype(dt))
    if a["axis"] is None:
        g.add("Reshape", [v, g.add("Shape", [x], hint=node.name)], out, node.name)
    else:
        g.add("Identity", [v], out, node.name)


@translates("repeat")
def _repeat(g, node, args, out):
    """Each element ``repeats`` times along ``axis`` (of the flattened array when None): a new
    axis after it, tiled, merged back; the target shape from the run-time shape."""
    a, x = node.attrs, args[0]
    ndim = g.arg_specs(node)[0].ndim
    if a["axis"] is None:
        x, ndim, axis = g.add("Reshape", [x, g.ints([-1])], hint=node.name), 1, 0
    else:
        axis = a["axis"] % ndim
    reps = [1] * (ndim + 1)
    reps[axis + 1] = a["repeats"]
    tiled = g.add("Tile", [g.axes_op("Unsqueeze", x, [axis + 1], hint=node.name), g.ints(reps)],
                  hint=node.name)
    scale = [a["repeats"] if i == axis else 1 for i in range(ndim)]
    target = g.add("Mul", [g.add("Shape", [x], hint=node.name), g.ints(scale)], hint=node.name)
    g.add("Reshape", [tiled, target], out, node.name)


@translates("shape_array")
def _shape_array(g, node, args, out):
    g.add("Shape", args, out, node.name)


@translates("size_array")
def _size_array(g, node, args, out):
    g.add("Reshape", [g.add("Size", args, hint=node.name), g.ints([1])], out, node.name)


@translates("_contrib_div_sqrt_dim")
def _div_sqrt_dim(g, node, args, out):
    n = g.arg_specs(node)[0].shape[-1]
    g.add("Div", [args[0], g.const(math.sqrt(n), _dt(g, node))], out, node.name)
