"""``mx.sym``: symbolic versions of every registered op, plus var/Group/load.

Each function is generated from the registry (real signature and docstring, as ``mx.nd``) and
builds a graph node instead of computing. Inputs a call leaves out become variables named
``<name>_<input>`` (``fc1_weight``, ``fc1_bias``), as in MXNet.
"""

from __future__ import annotations

import builtins  # this module's names shadow max, sum, ... with symbolic ops
import sys
import types

from ..graph.node import AttrScope, NameManager, Prefix, current_name_manager, source_of
from ..graph.serialize import load, load_json
from ..graph.symbol import Group, Symbol, Variable, make_node, var
from ..ops import REGISTRY
from ..ops.frontend import _finish, bind_args

__all__ = ["Symbol", "var", "Variable", "Group", "load", "load_json", "AttrScope", "NameManager",
           "Prefix", "linalg", "random"]


def _missing_inputs(op, inputs, attrs):
    """Names of the inputs to create as variables: the required ones not given, and ``bias``
    unless ``no_bias`` (a variadic op: the ``auto_inputs`` its attributes call for)."""
    if op.variadic and op.auto_inputs is None:
        return []
    names = []
    for i, name in enumerate(op.auto_inputs(attrs) if op.variadic else op.inputs):
        if i < len(inputs) and inputs[i] is not None:
            continue
        if op.variadic or i < op.required_inputs or \
                (name == "bias" and not attrs.get("no_bias", True)):
            names.append((i, name))
    return names


def _make_symbolic(op, fname):
    def frontend(*args, **kwargs):
        name = kwargs.pop("name", None)
        attr = kwargs.pop("attr", None)
        inputs, attrs, _ = bind_args(op, args, kwargs, allow_missing=True)
        source = source_of()
        full = current_name_manager().get(name, op.name.lower().lstrip("_"))
        missing = _missing_inputs(op, inputs, attrs)
        if missing:
            inputs = list(inputs) + [None] * (builtins.max(i for i, _ in missing) + 1
                                              - len(inputs))
            for i, inp in missing:
                inputs[i] = var(f"{full}_{inp}")
        sym = make_node(op, inputs, attrs, name=full, source=source, resolved=True)
        if attr:
            sym._set_attr(**attr)
        return sym
    return _finish(op, frontend, fname)


_module = sys.modules[__name__]
_internal = types.ModuleType(__name__ + "._internal", "Symbolic ops whose names start with _.")
linalg = types.ModuleType(__name__ + ".linalg", "Symbolic linear algebra (``linalg_*``).")
random = types.ModuleType(__name__ + ".random", "Symbolic random ops (``random_*``).")
for _name, _op in list(REGISTRY.items()):
    _fn = _make_symbolic(_op, _name)
    target = _internal if _name.startswith("_") else _module
    if not hasattr(target, _name):
        setattr(target, _name, _fn)
    if _name.startswith("linalg_"):
        setattr(linalg, _name[len("linalg_"):], _fn)
    if _name.startswith("random_"):
        setattr(random, _name[len("random_"):], _fn)
for _m in (_internal, linalg, random):
    sys.modules[_m.__name__] = _m

