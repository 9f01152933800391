"""``mx.sym``: symbolic versions of every registered op, plus var/Group/load.

Each function is generated from the registry (real signature and docstring, as ``mx.nd``) and
builds a graph node instead of computing. Inputs a call leaves out become variables named
``<name>_<input>`` (``fc1_weight``, ``fc1_bias``), as in MXNet.
"""

from __future__ import annotations

import builtins  # this module's names shadow max, sum, ... with symbolic ops
import sys
import types

import numpy as np

from ..base import MXNetTypeError, MXNetValueError
from ..graph.node import (
    HIDDEN_KEYS,
    AttrScope,
    NameManager,
    Prefix,
    current_name_manager,
    hidden_key,
    source_of,
)
from ..graph.serialize import load, load_json, op_attr_texts
from ..graph.symbol import Group, Symbol, Variable, make_node, var
from ..ops import REGISTRY
from ..ops.frontend import _finish, bind_args

__all__ = ["Symbol", "var", "Variable", "Group", "load", "load_json", "AttrScope", "NameManager",
           "Prefix", "linalg", "random", "contrib", "image", "histogram"]


def _missing_inputs(op, inputs, attrs):
    """Names of the inputs to create as variables: the required ones not given, ``bias``
    unless ``no_bias``, and ``LeakyReLU``'s ``gamma`` when ``act_type='prelu'`` (MXNet's
    argument lists); a variadic op: the ``auto_inputs`` its attributes call for."""
    if op.variadic and op.auto_inputs is None:
        return []
    names = []
    for i, name in enumerate(op.auto_inputs(attrs) if op.variadic else op.inputs):
        if i < len(inputs) and inputs[i] is not None:
            continue
        if op.variadic or i < op.required_inputs or \
                (name == "bias" and not attrs.get("no_bias", True)) or \
                (name == "gamma" and attrs.get("act_type") == "prelu"):
            names.append((i, name))
    return names


def _user_attrs(attr, kwargs):
    """The user attributes of an op call: ``attr=`` plus the keyword arguments that are not op
    parameters but MXNet attributes (``lr_mult=``, ``ctx_group=``, ``__mood__=``), which
    ``kwargs`` loses."""
    user = {hidden_key(k): str(v) for k, v in (attr or {}).items()}
    for k in [k for k in kwargs if k in HIDDEN_KEYS or (k.startswith("__") and k.endswith("__"))]:
        user[hidden_key(k)] = str(kwargs.pop(k))
    return user


#: The initializer MXNet's symbol front end attaches to a variable it creates, by (op, input).
_ROLE_INIT = {("LeakyReLU", "gamma"): '["Constant", {"value": 0.25}]',
              ("BatchNorm", "moving_mean"): '["zero", {}]',
              ("BatchNorm", "moving_var"): '["one", {}]'}


def _make_symbolic(op, fname):
    hint = fname.lower()  # MXNet names a node after the function called: split0, flatten0

    def frontend(*args, **kwargs):
        name = kwargs.pop("name", None)
        user = _user_attrs(kwargs.pop("attr", None), kwargs)
        inputs, attrs, _ = bind_args(op, args, kwargs, allow_missing=True)
        source = source_of()
        full = current_name_manager().get(name, hint)
        missing = _missing_inputs(op, inputs, attrs)
        if missing:
            inputs = list(inputs) + [None] * (builtins.max(i for i, _ in missing) + 1
                                              - len(inputs))
            for i, inp in missing:
                inputs[i] = var(f"{full}_{inp}")
                # MXNet gives variables it makes the attributes of their op (lr_mult, ...)
                inputs[i]._outputs[0][0].user_attrs.update(user)
        sym = make_node(op, inputs, attrs, name=full, source=source, resolved=True)
        node = sym._outputs[0][0]
        node.user_attrs.update(user)
        if missing:  # as MXNet: the variables it made carry the op's parameters, and some an
            texts = op_attr_texts(node)  # initializer of their role (PReLU's gamma: 0.25)
            for i, inp in missing:
                made = inputs[i]._outputs[0][0].user_attrs
                for k, v in texts.items():
                    made.setdefault(k, v)
                init = _ROLE_INIT.get((op.name, inp))
                if init is not None:
                    made.setdefault("__init__", init)
        return sym
    return _finish(op, frontend, fname)


#: MXNet's fluent methods of Symbol (``x.sum(axis=1)`` is ``mx.sym.sum(x, axis=1)``).
_FLUENT = (
    "reshape", "reshape_like", "zeros_like", "ones_like", "broadcast_axes", "repeat", "pad",
    "swapaxes", "split", "split_v2", "slice", "slice_axis", "slice_like", "take", "one_hot",
    "pick", "sort", "topk", "argsort", "argmax", "argmax_channel", "argmin", "clip", "abs",
    "sign", "flatten", "shape_array", "size_array", "expand_dims", "broadcast_to",
    "broadcast_like", "tile", "transpose", "flip", "depth_to_space", "space_to_depth", "diag",
    "sum", "nansum", "prod", "nanprod", "mean", "max", "min", "norm", "round", "rint", "fix",
    "floor", "ceil", "trunc", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "degrees",
    "radians", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "exp", "expm1", "log",
    "log10", "log2", "log1p", "sqrt", "rsqrt", "cbrt", "rcbrt", "square", "reciprocal", "relu",
    "sigmoid", "softmax", "log_softmax", "softmin", "squeeze",
)


def _fluent(fn):
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)
    method.__name__ = method.__qualname__ = fn.__name__
    method.__doc__ = f"Fluent form of :func:`mxplug.sym.{fn.__name__}` on this symbol."
    return method


def _astype(self, dtype, **kwargs):
    """``cast(self, dtype=dtype)``."""
    return cast(self, dtype=dtype, **kwargs)  # noqa: F821  (generated below)


_module = sys.modules[__name__]
_internal = types.ModuleType(__name__ + "._internal", "Symbolic ops whose names start with _.")
linalg = types.ModuleType(__name__ + ".linalg", "Symbolic linear algebra (``linalg_*``).")
contrib = types.ModuleType(__name__ + ".contrib", "Symbolic contrib ops (``_contrib_*``), "
                           "foreach, while_loop and cond (unrolled: see mx.nd.contrib).")
image = types.ModuleType(__name__ + ".image", "Symbolic image ops (``_image_*``).")
_NAMESPACES = ((linalg, "linalg_"), (contrib, "_contrib_"), (image, "_image_"))
for _name, _op in list(REGISTRY.items()):
    target = _internal if _name.startswith("_") else _module
    if not hasattr(target, _name):
        setattr(target, _name, _make_symbolic(_op, _name))
    for _space, _prefix in _NAMESPACES:
        if _name.startswith(_prefix):  # named after the function, as MXNet: box_nms0, gemm20
            setattr(_space, _name[len(_prefix):], _make_symbolic(_op, _name[len(_prefix):]))
for _m in (_internal, linalg, contrib, image):
    sys.modules[_m.__name__] = _m
from . import random  # noqa: E402  (MXNet's wrappers over the _internal ops made above)

for _name in _FLUENT:
    if hasattr(_module, _name) and not hasattr(Symbol, _name):
        setattr(Symbol, _name, _fluent(getattr(_module, _name)))
Symbol.astype = _astype


def _squeeze(self, axis=None, inplace=False, **kwargs):
    """Fluent :func:`mxplug.sym.squeeze`; ``inplace`` (memory sharing) means nothing in a graph
    and is accepted as MXNet accepts it."""
    return squeeze(self, axis=axis, **kwargs)  # noqa: F821  (generated above)


Symbol.squeeze = _squeeze


def histogram(a, bins=10, range=None, **kwargs):  # noqa: A002 (MXNet's argument name)
    """Symbolic :func:`mxplug.nd.histogram`: ``bins`` a Symbol of edges, or an int with
    ``range`` (required here, as in MXNet); ``kwargs`` (``name``, ``attr``) go to the node."""
    if isinstance(bins, Symbol):
        return _internal._histogram(a, bins, **kwargs)
    if isinstance(bins, int) and not isinstance(bins, bool):
        if range is None:
            raise MXNetValueError("null range is not supported in symbol mode")
        return _internal._histogram(a, bin_cnt=bins, range=range, **kwargs)
    raise MXNetValueError("bins argument should be either an integer or an Symbol")


def _contrib_python_functions():
    """MXNet's Python-level ``symbol/contrib.py`` functions (mxplug.ndarray.contrib)."""
    from ..ndarray import contrib as nd_contrib
    for fname, fn in nd_contrib.control_flow_for(_module, symbolic=True).items():
        setattr(contrib, fname, fn)
    contrib.boolean_mask = nd_contrib.symbolic_boolean_mask
    from ..ndarray.contrib_optimizer import optimizer_functions_for
    for fname, fn in optimizer_functions_for(_module, symbolic=True).items():
        setattr(contrib, fname, fn)
    from ..ndarray.contrib_sync_bn import sync_batch_norm_for
    contrib.SyncBatchNorm = sync_batch_norm_for(_module)
    from ..ndarray.scalar_ops import scalar_functions_for
    for fname, fn in scalar_functions_for(_module).items():
        setattr(_internal, fname, fn)


_contrib_python_functions()


def _elementwise(fname, hint, number_fn):
    """MXNet's ``mx.sym.maximum``-style functions over the generated one: two symbols, a
    symbol and a number (either side), or two numbers (a number back); nodes named as
    MXNet's (``_maximum0``, ``_maximumscalar0``)."""
    generated = getattr(_module, fname)
    op, scalar = generated.op, (int, float, np.number)

    def fn(lhs=None, rhs=None, **kwargs):
        if kwargs or lhs is None or rhs is None:  # name=, attr=, inputs by keyword (MXNet's
            given = {k: v for k, v in (("lhs", lhs), ("rhs", rhs)) if v is not None}
            return generated(**given, **kwargs)  # left/right, base/exp): the generated one
        if isinstance(lhs, Symbol) and isinstance(rhs, Symbol):
            return make_node(op, (lhs, rhs), dict(op.defaults), hint=hint)
        if isinstance(lhs, Symbol) and isinstance(rhs, scalar):
            return make_node(op, (lhs, rhs), dict(op.defaults), hint=hint + "scalar")
        if isinstance(lhs, scalar) and isinstance(rhs, Symbol):
            r_hint = "_rpowerscalar" if op.name == "power" else hint + "scalar"
            return make_node(op, (lhs, rhs), dict(op.defaults), hint=r_hint)
        if isinstance(lhs, scalar) and isinstance(rhs, scalar):
            return number_fn(lhs, rhs)
        raise MXNetTypeError(f"{fname}: types ({type(lhs).__name__}, {type(rhs).__name__}) "
                             f"not supported")
    fn.__name__ = fn.__qualname__ = fname
    fn.__doc__ = generated.__doc__ + "\n\nEither side may be a number; two numbers give a number."
    fn.__signature__, fn.op = generated.__signature__, op
    return fn


pow = _elementwise("pow", "_power", lambda a, b: a ** b)  # noqa: A001  (MXNet's name)
power = _elementwise("power", "_power", lambda a, b: a ** b)
maximum = _elementwise("maximum", "_maximum", lambda a, b: a if a > b else b)
minimum = _elementwise("minimum", "_minimum", lambda a, b: a if a < b else b)
hypot = _elementwise("hypot", "_hypot", lambda a, b: float(np.hypot(a, b)))
