"""``infer_shape`` / ``infer_type`` over a graph, from the ops' own rules.

Forward, each node's output specs come from its op's ``infer`` rule. Backward, a variable that
feeds an op's parameter slot (``fc1_weight``) gets its shape from the op's ``params`` rule
(``weight = (num_hidden, in_units)``), so ``simple_bind(data=(32, 784))`` knows every shape, as
in MXNet; and an elementwise op whose inputs are partly unknown takes the known ones' shape for
the others and its output (MXNet's symbols add same-shape arrays). A 0 in a given or declared
shape is an unknown dimension: it flows through the rules (``infer_shape_partial`` reports it,
as MXNet does) while the parameter rules fill what they can.
"""

from __future__ import annotations

import ast

import numpy as np

from ..base import MXNetError, MXNetValueError, dtype_of
from ..ops.infer import Spec
from .fusion import FUSIBLE
from .node import infer_node, topo_nodes

#: Ops whose array inputs and output all have one shape (MXNet's elementwise symbols).
_SAME_SHAPE = FUSIBLE | {"Activation", "elemwise_add", "elemwise_sub", "elemwise_mul",
                         "elemwise_div", "identity", "_copy", "Dropout"}


def _partial(spec):
    """A spec with an unknown (0) dimension."""
    return spec is not None and 0 in spec.shape


def _declared_shape(node):
    text = node.user_attrs.get("__shape__")
    return tuple(int(s) for s in ast.literal_eval(text)) if text else None


def _declared_dtype(node):
    text = node.user_attrs.get("__dtype__")
    return None if text is None else declared_dtype(text, node.name)


def declared_dtype(text, name="variable"):
    """The dtype of a ``__dtype__`` attribute: MXNet's type code ("0" = float32), or a name."""
    try:
        code = int(text)
    except ValueError:
        return dtype_of(text)
    from ..ndarray.mxnet_format import TYPE_FLAGS  # only graphs loaded from JSON get here
    flag = TYPE_FLAGS.get(code)
    if flag is None:
        raise MXNetValueError(f"variable {name!r}: unknown MXNet type code __dtype__={text!r}")
    try:
        return dtype_of(flag)
    except MXNetError:
        raise MXNetValueError(f"variable {name!r}: MXNet dtype {flag} (__dtype__={text!r}) "
                              f"is not supported by mxplug") from None


def _merge(name, declared, found, node):
    if declared is None:
        return found
    if len(declared) != len(found) or any(d and d != f for d, f in zip(declared, found)):
        raise MXNetValueError(f"infer_shape: Expect: {name}.shape == {declared} (0 = any) / "
                              f"Actual: {found} (needed by {node.name!r} made at {node.source})")
    return found


def _given(sym, args, kwargs):
    names = sym.list_arguments()
    given = dict(zip(names, args))
    unknown = set(kwargs) - set(sym.list_inputs())
    if unknown:
        raise MXNetValueError(f"infer: unknown input names {sorted(unknown)}; inputs are "
                              f"{sym.list_inputs()}")
    given.update(kwargs)
    return {k: v for k, v in given.items() if v is not None}


def propagate(sym, shapes=None, dtypes=None):
    """Fill ``node.specs`` of every node it can; returns ``{variable name: Spec or None}``.

    Works on copies of the specs (the graph's own specs are left as built)."""
    nodes = topo_nodes(sym._outputs)
    specs = {}  # node id -> tuple of Spec | None
    var_specs = {}
    shapes, dtypes = shapes or {}, dtypes or {}

    def dtype_of(var, in_specs):
        return np.dtype(dtypes.get(var.name) or _declared_dtype(var) or _first_dtype(in_specs))

    def settle(var, shape, node, in_specs):
        """Give variable ``var`` the shape a rule found (merged with what it declared)."""
        shape = _merge(var.name, var_specs[var.name].shape if var_specs.get(var.name)
                       else _declared_shape(var), tuple(shape), node)
        var_specs[var.name] = Spec(shape, dtype_of(var, in_specs))
        specs[id(var)] = (var_specs[var.name],)

    for n in nodes:
        if n.is_variable:
            shape = shapes.get(n.name)
            shape = tuple(shape) if shape is not None else _declared_shape(n)
            dtype = np.dtype(dtypes.get(n.name) or _declared_dtype(n) or "float32")
            var_specs[n.name] = Spec(shape, dtype) if shape is not None and shape else None
    for _ in range(4):  # shapes found late (parameters, elementwise peers) unlock earlier nodes
        changed = False
        for n in nodes:
            if n.is_variable:
                specs[id(n)] = (var_specs[n.name],) if var_specs[n.name] else None
                continue
            ins = [specs.get(id(i)) for i, _ in n.inputs]
            in_specs = [s[k] if s else None for s, (_, k) in zip(ins, n.inputs)]
            rule = n.op.params_fn
            if rule is not None and any(s is None or _partial(s) for s in in_specs):
                found = rule(*n.arguments(in_specs), **n.attrs) or {}
                for idx, shape in found.items():
                    if shape is None or idx >= len(n.inputs):  # no_bias: no bias input
                        continue
                    inp, _ = n.inputs[idx]
                    while inp.op is not None and inp.op.name == "amp_cast":  # keeps the shape
                        inp = inp.inputs[0][0]
                    known = var_specs.get(inp.name) if inp.is_variable else None
                    if inp.is_variable and (known is None or _partial(known)) and \
                            0 not in tuple(shape):
                        settle(inp, shape, n, in_specs)
                        in_specs[idx] = var_specs[inp.name]
                        changed = True
            if n.op.name in _SAME_SHAPE and any(s is None for s in in_specs):
                known = {s.shape for s in in_specs if s is not None and not _partial(s)}
                if len(known) == 1:
                    shape = known.pop()
                    for idx, ((inp, _), s) in enumerate(zip(n.inputs, in_specs)):
                        if s is None and inp.is_variable:
                            settle(inp, shape, n, in_specs)
                            in_specs[idx] = var_specs[inp.name]
                            changed = True
                    if any(s is None for s in in_specs) and specs.get(id(n)) is None:
                        dt = _first_dtype(in_specs)
                        specs[id(n)] = (Spec(shape, dt),) * n.num_outputs
                        changed = True
            if all(s is not None for s in in_specs):
                new = _infer(n, in_specs)
                if new is not None and new != specs.get(id(n)):
                    specs[id(n)] = new
                    changed = True
        if not changed:
            break
    return var_specs, specs, nodes


def _infer(node, in_specs):
    """``infer_node``, except that inputs with unknown (0) dims may not fit a rule: then the
    node stays unknown instead of raising."""
    if not any(_partial(s) for s in in_specs):
        return infer_node(node, in_specs)
    try:
        return infer_node(node, in_specs)
    except MXNetError:
        return None


def _first_dtype(specs):
    return next((s.dtype for s in specs if s is not None), np.dtype("float32"))


def infer_shape(sym, args, kwargs, partial):
    """MXNet's ``(arg_shapes, out_shapes, aux_shapes)``; unknown ones are ``()`` when ``partial``
    and make the whole result ``(None, None, None)`` otherwise."""
    var_specs, specs, nodes = propagate(sym, _given(sym, args, kwargs))
    return _collect(sym, var_specs, specs, partial, lambda s: tuple(s.shape), ())


def infer_type(sym, args, kwargs):
    """MXNet's ``(arg_types, out_types, aux_types)`` as NumPy scalar types.

    Where shapes are known the ops' rules decide; elsewhere an output takes its first input's
    type (``cast`` takes its ``dtype``), and untyped variables are float32."""
    dtypes = {k: np.dtype(v) for k, v in _given(sym, args, kwargs).items()}
    nodes = topo_nodes(sym._outputs)
    for n in nodes:  # an untyped variable takes the type of the data it is used with (MXNet)
        if n.is_variable and n.name not in dtypes and _declared_dtype(n) is not None:
            dtypes[n.name] = _declared_dtype(n)
    for _ in range(2):
        for n in nodes:
            if n.is_variable or not n.inputs:
                continue
            known = [dtypes[i.name] for i, _ in n.inputs if i.is_variable and i.name in dtypes]
            if known:
                for i, _ in n.inputs:
                    if i.is_variable and i.name not in dtypes:
                        dtypes[i.name] = known[0]
    var_specs, specs, nodes = propagate(sym, None, dtypes)
    types = {}
    for n in nodes:
        if n.is_variable:
            types[id(n)] = (np.dtype(dtypes.get(n.name) or "float32"),)
        elif specs.get(id(n)) is not None:
            types[id(n)] = tuple(s.dtype for s in specs[id(n)])
        else:
            first = types[id(n.inputs[0][0])][n.inputs[0][1]] if n.inputs else np.dtype("float32")
            dt = np.dtype(n.attrs["dtype"]) if n.attrs.get("dtype") else first
            types[id(n)] = (dt,) * n.num_outputs
    def pick(names):
        by_name = {n.name: types[id(n)][0] for n in nodes if n.is_variable}
        return [by_name[x].type for x in names]
    return (pick(sym.list_arguments()), [types[id(n)][k].type for n, k in sym._outputs],
            pick(sym.list_auxiliary_states()))


def _collect(sym, var_specs, specs, partial, field, missing):
    args = [var_specs.get(n) for n in sym.list_arguments()]
    auxs = [var_specs.get(n) for n in sym.list_auxiliary_states()]
    outs = []
    for node, k in sym._outputs:
        s = specs.get(id(node))
        outs.append(s[k] if s else None)
    if not partial and any(s is None or _partial(s) for s in args + outs + auxs):
        return None, None, None
    def conv(lst):
        return [field(s) if s is not None else missing for s in lst]
    return conv(args), conv(outs), conv(auxs)
