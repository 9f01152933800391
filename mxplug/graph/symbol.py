"""Symbol: MXNet's static graph, built over the same op registry as ``mx.nd``."""

from __future__ import annotations

import math

import numpy as np

from ..base import MXNetError, MXNetIndexError, MXNetValueError, dtype_of
from ..ops import REGISTRY
from ..ops.infer import Spec
from .node import (
    AttrScope,
    Node,
    current_name_manager,
    hidden_key,
    infer_node,
    source_of,
    topo_nodes,
)

__all__ = ["Symbol", "var", "Variable", "Group", "make_node", "AttrScope"]

_R = REGISTRY


class Symbol:
    """One or more outputs of graph nodes. Build with ``mx.sym.var`` and ``mx.sym.<op>``."""

    __slots__ = ("_outputs", "__weakref__")
    __array_priority__ = 2000.0

    def __init__(self, outputs):
        self._outputs = list(outputs)

    # -- identity and structure ------------------------------------------------------------------
    @property
    def name(self):
        if len(self._outputs) != 1:
            return None
        node, k = self._outputs[0]
        return node.name

    def _nodes(self):
        return topo_nodes(self._outputs)

    def list_outputs(self):
        out = []
        for node, k in self._outputs:
            if node.is_variable:
                out.append(node.name)
            elif node.op.output_names is not None:  # MXNet's own names (RNN)
                out.append(f"{node.name}_{node.op.output_names(node.attrs)[k]}")
            else:
                n = node.num_outputs
                out.append(f"{node.name}_output" if n == 1 else f"{node.name}_output{k}")
        return out

    def _inputs(self):
        aux_names = set(self.list_auxiliary_states())
        return [n for n in self._nodes() if n.is_variable], aux_names

    def list_arguments(self):
        """Variable inputs that are not auxiliary states, in graph order (MXNet's order)."""
        nodes, aux = self._inputs()
        return [n.name for n in nodes if n.name not in aux]

    def list_auxiliary_states(self):
        aux = []
        for node in self._nodes():
            if node.op is not None:
                for (inp, _), role in zip(node.inputs, node.op.inputs):
                    if role in node.op.aux_inputs and inp.is_variable and inp.name not in aux:
                        aux.append(inp.name)
        return aux

    def list_inputs(self):
        return [n.name for n in self._nodes() if n.is_variable]

    def get_internals(self):
        """Every output of every node, as one symbol (``sym.get_internals()['fc1_output']``)."""
        outs = []
        for node in self._nodes():
            outs.extend((node, k) for k in range(node.num_outputs))
        return Symbol(outs)

    def get_children(self):
        if len(self._outputs) != 1 or not self._outputs[0][0].inputs:
            return None
        return Symbol(list(self._outputs[0][0].inputs))

    def __getitem__(self, index):
        if isinstance(index, str):
            names = self.list_outputs()
            if index not in names:
                raise MXNetValueError(f"no output named {index!r}; outputs: {names}")
            index = names.index(index)
        if isinstance(index, slice):
            return Symbol(self._outputs[index])
        if not -len(self._outputs) <= index < len(self._outputs):
            raise MXNetIndexError(f"symbol has {len(self._outputs)} outputs, index {index}")
        return Symbol([self._outputs[index]])

    def __len__(self):
        return len(self._outputs)

    def __iter__(self):
        return (Symbol([o]) for o in self._outputs)

    # -- attributes ------------------------------------------------------------------------------
    def attr(self, key):
        if len(self._outputs) != 1:
            return None
        node = self._outputs[0][0]
        for k in (key, f"__{key}__"):
            if k in node.user_attrs:
                return node.user_attrs[k]
        v = node.attrs.get(key)
        return None if v is None else str(v)

    def list_attr(self):
        node = self._outputs[0][0]
        return {**{k: str(v) for k, v in node.attrs.items()}, **node.user_attrs}

    def attr_dict(self):
        return {n.name: {**{k: str(v) for k, v in n.attrs.items()}, **n.user_attrs}
                for n in self._nodes() if n.attrs or n.user_attrs}

    def _set_attr(self, **kwargs):
        for node, _ in self._outputs:
            node.user_attrs.update({hidden_key(k): str(v) for k, v in kwargs.items()})

    # -- what tracing code reads (shape known when the inputs' shapes are) -----------------------
    def _spec(self):
        if len(self._outputs) != 1:
            raise MXNetValueError("this symbol has several outputs; pick one with sym[i]")
        node, k = self._outputs[0]
        if node.specs is None:
            raise MXNetValueError(f"the shape of {node.name!r} is not known yet (made at "
                                  f"{node.source}); give the inputs shapes or call infer_shape")
        return node.specs[k]

    @property
    def shape(self):
        return tuple(self._spec().shape)

    @property
    def dtype(self):
        return self._spec().dtype.type

    @property
    def ndim(self):
        return len(self._spec().shape)

    @property
    def size(self):
        return math.prod(self._spec().shape)

    @property
    def context(self):
        from ..context import current_context
        return current_context()

    ctx = context

    # -- inference, serialisation, binding (implemented in sibling modules) ----------------------
    def infer_shape(self, *args, **kwargs):
        from .inference import infer_shape
        return infer_shape(self, args, kwargs, partial=False)

    def infer_shape_partial(self, *args, **kwargs):
        from .inference import infer_shape
        return infer_shape(self, args, kwargs, partial=True)

    def infer_type(self, *args, **kwargs):
        from .inference import infer_type
        return infer_type(self, args, kwargs)

    def tojson(self):
        from .serialize import to_json
        return to_json(self)

    def save(self, fname):
        from .serialize import save
        save(self, fname)

    def bind(self, ctx, args, args_grad=None, grad_req="write", aux_states=None, group2ctx=None,
             shared_exec=None):
        from .executor import Executor
        return Executor(self, ctx, args, args_grad, grad_req, aux_states, group2ctx)

    def simple_bind(self, ctx, grad_req="write", type_dict=None, group2ctx=None, **shapes):
        from .executor import simple_bind
        return simple_bind(self, ctx, grad_req, type_dict, group2ctx, shapes)

    def eval(self, ctx=None, **kwargs):
        """Bind to ``kwargs`` (no gradients), run forward, return the outputs."""
        from ..context import current_context
        ex = self.bind(ctx or current_context(), kwargs, grad_req="null")
        return ex.forward()

    def __repr__(self):
        if len(self._outputs) == 1:
            return f"<Symbol {self.name}>"
        return f"<Symbol group [{', '.join(self.list_outputs())}]>"

    def __copy__(self):
        return Symbol(self._outputs)

    def __deepcopy__(self, memo):
        from .serialize import from_json, to_json
        return from_json(to_json(self))

    def __bool__(self):
        raise MXNetValueError("a Symbol has no truth value (it is not computed yet)")

    __hash__ = object.__hash__


def _op_call(name):
    op = REGISTRY[name]
    return lambda *args, **attrs: make_node(op, args, op.parse_attrs(attrs) if attrs
                                            else dict(op.defaults))


def _binary(name, reflected=False):
    call = _op_call(name)
    return (lambda self, o: call(o, self)) if reflected else (lambda self, o: call(self, o))


for _dunder, _name in (("add", "add"), ("sub", "subtract"), ("mul", "multiply"),
                       ("truediv", "divide"), ("mod", "modulo"), ("pow", "power")):
    setattr(Symbol, f"__{_dunder}__", _binary(_name))
    setattr(Symbol, f"__r{_dunder}__", _binary(_name, reflected=True))
for _dunder, _name in (("lt", "lesser"), ("le", "lesser_equal"), ("gt", "greater"),
                       ("ge", "greater_equal"), ("eq", "equal"), ("ne", "not_equal")):
    setattr(Symbol, f"__{_dunder}__", _binary(_name))
Symbol.__neg__ = lambda self: _op_call("negative")(self)
Symbol.__abs__ = lambda self: _op_call("abs")(self)


def make_node(op, args, attrs, name=None, source=None, resolved=False):
    """A Symbol for ``op`` applied to ``args`` (Symbols or Python scalars) with parsed ``attrs``.

    ``name`` gets the current prefix unless ``resolved`` (the caller already applied it)."""
    source = source or source_of()
    inputs, consts = [], {}
    for i, a in enumerate(args):
        if isinstance(a, Symbol):
            if len(a._outputs) != 1:
                raise MXNetValueError(f"{op.name}: input {i} has {len(a._outputs)} outputs; pick "
                                      f"one with sym[i] (at {source})")
            inputs.append(a._outputs[0])
        elif isinstance(a, (int, float, bool, np.generic)):
            consts[i] = a.item() if isinstance(a, np.generic) else a
        else:
            raise MXNetValueError(f"{op.name}: input {i} is a {type(a).__name__}; a symbolic op "
                                  f"takes Symbols or numbers (at {source})")
    from .node import _attr_stack
    if not resolved:
        name = current_name_manager().get(name, op.name.lower().lstrip("_"))
    node = Node(op, attrs, inputs, name, source, None, _attr_stack()[-1], consts)
    node.specs = infer_node(node)
    return Symbol([(node, k) for k in range(node.num_outputs)])


def var(name, shape=None, dtype=None, init=None, lr_mult=None, wd_mult=None, attr=None,
        stype=None, **kwargs):
    """A variable: an input or a parameter of the graph (``mx.sym.var('data')``)."""
    from .node import _attr_stack
    if not isinstance(name, str):
        raise MXNetValueError(f"var: name must be a string, got {name!r}")
    user = dict(_attr_stack()[-1])
    user.update({hidden_key(k): str(v) for k, v in (attr or {}).items()})
    if dtype is not None:  # MXNet keeps its type code ("0": float32) in the attribute
        from ..ndarray.mxnet_format import type_flag
        user["__dtype__"] = str(type_flag(dtype_of(dtype)))
    for key, value in (("__shape__", shape), ("__init__", init), ("__lr_mult__", lr_mult),
                       ("__wd_mult__", wd_mult)):
        if value is not None:
            user[key] = str(tuple(value) if key == "__shape__" else value)
    user.update({k: str(v) for k, v in kwargs.items()})
    specs = None
    if shape is not None and all(int(s) > 0 for s in shape):
        specs = (Spec(tuple(int(s) for s in shape), dtype_of(dtype)),)
    node = Node(None, {}, (), name, source_of(), specs, user)
    return Symbol([(node, 0)])


Variable = var


def Group(symbols):  # noqa: N802  (MXNet's name)
    """One symbol whose outputs are the outputs of ``symbols``, in order."""
    outs = []
    for s in symbols:
        if not isinstance(s, Symbol):
            raise MXNetError(f"Group: expected Symbols, got {type(s).__name__}")
        outs.extend(s._outputs)
    return Symbol(outs)
