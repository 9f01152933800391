"""Symbol: MXNet's static graph, built over the same op registry as ``mx.nd``."""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..base import (
    MXNetError,
    MXNetIndexError,
    MXNetTypeError,
    MXNetValueError,
    NotImplementedForSymbol,
    dtype_of,
)
from ..ops import REGISTRY
from ..ops.infer import Spec
from .node import (
    HIDDEN_KEYS,
    AttrScope,
    Node,
    current_name_manager,
    hidden_key,
    infer_node,
    source_of,
    topo_nodes,
)

__all__ = ["Symbol", "var", "Variable", "Group", "make_node", "AttrScope",
           "NotImplementedForSymbol"]

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
        """The node's name; None for a group of several nodes (one multi-output node has one)."""
        node = self._single_node()
        return None if node is None else node.name

    def _single_node(self):
        nodes = {id(n): n for n, _ in self._outputs}
        return next(iter(nodes.values())) if len(nodes) == 1 else None

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
            op = node.op
            if op is None:
                continue
            if op.aux_roles is not None:  # Custom: its Prop names its inputs and states
                roles, aux_roles = op.auto_inputs(node.attrs), op.aux_roles(node.attrs)
            else:
                roles, aux_roles = op.inputs, op.aux_inputs
            for (inp, _), role in zip(node.inputs, roles):
                if role in aux_roles and inp.is_variable and inp.name not in aux:
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
        """The inputs of the nodes making this symbol's outputs (each node once), or None."""
        outs, seen = [], set()
        for node, _ in self._outputs:
            if id(node) not in seen:
                seen.add(id(node))
                outs.extend(node.inputs)
        return Symbol(outs) if outs else None

    def __getitem__(self, index):
        """Output ``index`` (an int, a slice, or an output name) as a symbol."""
        if isinstance(index, str):
            names = self.list_outputs()
            if names.count(index) != 1:
                what = "several outputs" if index in names else "no output"
                raise MXNetValueError(f"{what} named {index!r}; outputs: {names}")
            index = names.index(index)
        if isinstance(index, slice):
            return Symbol(self._outputs[index])
        if not isinstance(index, (int, np.integer)):
            raise MXNetTypeError(f"a symbol's outputs are indexed by int, str or slice, got "
                                 f"{type(index).__name__}")
        if not -len(self._outputs) <= index < len(self._outputs):
            raise MXNetIndexError(f"symbol has {len(self._outputs)} outputs, index {index}")
        return Symbol([self._outputs[index]])

    def __len__(self):
        return len(self._outputs)

    def __iter__(self):
        return (Symbol([o]) for o in self._outputs)

    # -- attributes ------------------------------------------------------------------------------
    def attr(self, key):
        """The attribute ``key`` of this node as a string (``lr_mult`` finds ``__lr_mult__``),
        or None; ``'name'`` gives the name."""
        node = self._single_node()
        if node is None:
            return None
        if key == "name":
            return node.name
        for k in (key, f"__{key}__"):
            if k in node.user_attrs:
                return node.user_attrs[k]
        v = node.attrs.get(key)
        return None if v is None else str(v)

    def list_attr(self, recursive=False):
        """This node's attributes as strings: the op parameters given (not defaults) and the
        user's; a hidden key (``__lr_mult__``) is listed under both spellings, as MXNet does."""
        if recursive:  # MXNet 1.x dropped this long ago: point to the replacement
            raise MXNetValueError("list_attr(recursive=True) is gone in MXNet 1.x; use attr_dict()")
        return _node_attrs(self._outputs[0][0])

    def attr_dict(self):
        """``{node name: list_attr() of that node}`` for every node that has attributes."""
        out = {}
        for n in self._nodes():
            attrs = _node_attrs(n)
            if attrs:
                out[n.name] = attrs
        return out

    def _set_attr(self, **kwargs):
        """Set attributes of this (single-node) symbol; ``name`` renames the node, as MXNet."""
        nodes = {id(n): n for n, _ in self._outputs}
        if len(nodes) != 1:
            raise MXNetValueError("_set_attr: only works on a symbol with one node, this one has "
                                  f"{len(nodes)}")
        node = next(iter(nodes.values()))
        for k, v in kwargs.items():
            if not isinstance(v, str):
                raise MXNetValueError(f"_set_attr: attribute {k!r} must be a string, got {v!r}")
            if k == "name":
                node.name = v
            else:
                node.user_attrs[hidden_key(k)] = v

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
        """``(arg_shapes, out_shapes, aux_shapes)``, or ``(None, None, None)`` with a warning
        naming the arguments whose shapes stay unknown, as MXNet."""
        from .inference import infer_shape
        res = infer_shape(self, args, kwargs, partial=False)
        if res[1] is None:
            known = infer_shape(self, args, kwargs, partial=True)[0]
            _warn_unknown("shape for the following arguments (0s in shape means unknown "
                          "dimensions)", self.list_arguments(), known,
                          lambda s: not s or 0 in s)
        return res

    def infer_shape_partial(self, *args, **kwargs):
        from .inference import infer_shape
        return infer_shape(self, args, kwargs, partial=True)

    def infer_type(self, *args, **kwargs):
        """``(arg_types, out_types, aux_types)`` as NumPy scalar types, or ``(None, None,
        None)`` with a warning naming the arguments whose types stay unknown, as MXNet."""
        from .inference import infer_type
        res = infer_type(self, args, kwargs)
        if res[1] is None:
            known = infer_type(self, args, kwargs, partial=True)[0]
            _warn_unknown("type for the following arguments", self.list_arguments(), known,
                          lambda t: t is None)
        return res

    def infer_type_partial(self, *args, **kwargs):
        from .inference import infer_type
        return infer_type(self, args, kwargs, partial=True)

    def tojson(self, remove_amp_cast=True):
        """MXNet 1.x's JSON; as in MXNet 1.9.1 (and ``save``), without the ``amp_cast`` /
        ``amp_multicast`` nodes mixed precision added unless ``remove_amp_cast=False``."""
        from .serialize import to_json
        return to_json(_without_amp_casts(self) if remove_amp_cast else self)

    def save(self, fname, remove_amp_cast=True):
        """Write the JSON to ``fname``; as in MXNet, without the ``amp_cast``/``amp_multicast``
        nodes unless ``remove_amp_cast=False``."""
        from .serialize import save
        if not isinstance(fname, (str, bytes)) and not hasattr(fname, "__fspath__"):
            raise MXNetTypeError(f"save: fname must be a path, got {type(fname).__name__}")
        save(_without_amp_casts(self) if remove_amp_cast else self, fname)

    def debug_str(self):
        """The graph as text, in MXNet's ``Symbol.debug_str`` layout: outputs, then each
        variable and each op with its inputs and the attributes given."""
        from ..ops.registry import mxnet_name
        from .serialize import SCALAR_OPS
        lines = ["Symbol Outputs:"]
        lines += [f"\toutput[{i}]={n.name}({k})" for i, (n, k) in enumerate(self._outputs)]
        for node in self._nodes():
            if node.is_variable:
                lines.append(f"Variable:{node.name}")
                continue
            op_name = mxnet_name(node.op)
            for pos in node.consts:  # x * 2 is MXNet's _mul_scalar(scalar=2)
                op_name = SCALAR_OPS.get((node.op.name, pos == 1), op_name)
            lines += ["--------------------", f"Op:{op_name}, Name={node.name}", "Inputs:"]
            lines += [f"\targ[{i}]={inp.name}({k})" + (" version=0" if inp.is_variable else "")
                      for i, (inp, k) in enumerate(node.inputs)]
            attrs = _node_attrs(node)
            for v in node.consts.values():
                attrs["scalar"] = repr(float(v))
            if attrs:
                lines.append("Attrs:")
                lines += [f"\t{k}={v}" for k, v in attrs.items()]
        return "\n".join(lines) + "\n"

    def gradient(self, wrt):
        """Not available as a Symbol (nor in MXNet 1.x): bind and call ``backward``."""
        raise MXNetError("Symbol.gradient is not implemented (as in MXNet 1.x); bind the "
                         "symbol and call Executor.backward")

    def bind(self, ctx, args, args_grad=None, grad_req="write", aux_states=None, group2ctx=None,
             shared_exec=None):
        from .executor import Executor
        return Executor(self, ctx, args, args_grad, grad_req, aux_states, group2ctx)

    def simple_bind(self, ctx, grad_req="write", type_dict=None, stype_dict=None, group2ctx=None,
                    shared_arg_names=None, shared_exec=None, shared_buffer=None, **shapes):
        """Bind with every array allocated from the input ``shapes``. ``shared_exec``: reuse
        its arrays of the same name and shape (``shared_arg_names`` narrows them); storage
        types other than default and ``shared_buffer`` (memory pools) do not apply here."""
        from .executor import simple_bind
        if stype_dict and any(v != "default" for v in stype_dict.values()):
            raise MXNetValueError(f"simple_bind: only dense storage is supported, got "
                                  f"stype_dict={stype_dict}")
        reuse = None
        if shared_exec is not None:
            reuse = {k: v for k, v in shared_exec.arg_dict.items()
                     if shared_arg_names is None or k in shared_arg_names}
        return simple_bind(self, ctx, grad_req, type_dict, group2ctx, shapes, reuse)

    def eval(self, ctx=None, **kwargs):
        """Bind to ``kwargs`` (no gradients), run forward, return the outputs."""
        from ..context import current_context
        ex = self.bind(ctx or current_context(), kwargs, grad_req="null")
        return ex.forward()

    def __repr__(self):
        if self.name is not None:
            return f"<Symbol {self.name}>"
        return f"<Symbol group [{', '.join(str(o.name) for o in self)}]>"

    def __copy__(self):
        """A copy of the whole graph (MXNet copies the nodes: renaming one leaves the other)."""
        return Symbol(copy_graph(self._outputs))

    def __deepcopy__(self, memo):
        return self.__copy__()

    def __reduce__(self):  # pickles as its JSON (AMP casts kept), as MXNet's symbols do
        from .serialize import load_json
        return load_json, (self.tojson(remove_amp_cast=False),)

    def __call__(self, *args, **kwargs):
        """A copy with variables replaced by symbols (MXNet's composition), e.g.
        ``net(fc3_data=other)``; ``name=`` renames the head node."""
        out = self.__copy__()
        out._compose(*args, **kwargs)
        return out

    def _compose(self, *args, **kwargs):
        """Replace, in place, the variables named by ``kwargs`` (or, positionally, the
        arguments in ``list_arguments()`` order) with the given symbols' outputs."""
        name = kwargs.pop("name", None)
        head = self._outputs[0][0]
        if head.is_variable:
            raise MXNetValueError(f"_compose: variable {head.name!r} cannot be composed")
        if args and kwargs:
            raise MXNetTypeError("_compose: give the symbols by position or by name, not both")
        for key, value in [(str(i), a) for i, a in enumerate(args)] + list(kwargs.items()):
            if not isinstance(value, Symbol):
                raise MXNetTypeError(f"_compose: argument {key} must be a Symbol, got "
                                     f"{type(value).__name__}")
            if len(value._outputs) != 1:
                raise MXNetValueError(f"_compose: argument {key} has {len(value._outputs)} "
                                      f"outputs; one is required")
        variables = [n for n in self._nodes() if n.is_variable]
        if len(args) > len(variables):
            raise MXNetValueError(f"_compose: {len(args)} positional arguments for "
                                  f"{len(variables)} variables")
        replace = {id(v): a._outputs[0] for v, a in zip(variables, args)}
        names = {v.name for v in variables[len(args):]}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise MXNetValueError(f"_compose: no variables named {unknown}; candidates: "
                                  f"{sorted(names)}")
        replace.update({id(v): kwargs[v.name]._outputs[0] for v in variables[len(args):]
                        if v.name in kwargs})
        for node in self._nodes():
            if any(id(i) in replace for i, _ in node.inputs):
                node.inputs = tuple(replace.get(id(i), (i, k)) for i, k in node.inputs)
        if name:
            head.name = name
        for node in self._nodes():  # shapes may now be known (or different)
            if not node.is_variable:
                node.specs = infer_node(node)

    def __bool__(self):
        raise NotImplementedForSymbol(self.__bool__, "bool")

    def _not_for_symbol(name):  # noqa: N805  (builds methods while the class body runs)
        def method(self, *args, **kwargs):
            raise NotImplementedForSymbol(getattr(Symbol, name), None)
        method.__name__ = name
        return method

    # in-place arithmetic would have to change the graph under other symbols: MXNet refuses it
    __iadd__ = _not_for_symbol("__iadd__")
    __isub__ = _not_for_symbol("__isub__")
    __imul__ = _not_for_symbol("__imul__")
    __itruediv__ = _not_for_symbol("__itruediv__")
    __imod__ = _not_for_symbol("__imod__")

    # NDArray-only methods: a clear error instead of an AttributeError
    asnumpy = _not_for_symbol("asnumpy")
    asscalar = _not_for_symbol("asscalar")
    wait_to_read = _not_for_symbol("wait_to_read")
    as_in_context = _not_for_symbol("as_in_context")
    backward = _not_for_symbol("backward")
    attach_grad = _not_for_symbol("attach_grad")
    detach = _not_for_symbol("detach")
    copy = _not_for_symbol("copy")
    del _not_for_symbol

    __hash__ = object.__hash__


def _binary(name, hint, scalar_hint, reflected=False):
    """A Python operator: nodes are named as MXNet's (``a + b`` -> ``_plus0``, ``a + 1`` ->
    ``_plusscalar0``; ``1 - a`` -> ``_rminusscalar0``), so ``list_outputs`` match."""
    op, defaults = REGISTRY[name], dict(REGISTRY[name].defaults)
    r_hint = "_r" + scalar_hint[1:] if reflected and name not in ("add", "multiply") \
        and not scalar_hint.startswith("_r") else scalar_hint

    def method(self, other):
        if not isinstance(other, (Symbol, int, float, np.number)) or isinstance(other, bool):
            raise MXNetTypeError(f"type {type(other).__name__} not supported with a Symbol")
        args = (other, self) if reflected else (self, other)
        h = hint if isinstance(other, Symbol) else (r_hint if reflected else scalar_hint)
        return make_node(op, args, dict(defaults), hint=h)
    return method


for _dunder, _name, _hint in (("add", "add", "_plus"), ("sub", "subtract", "_minus"),
                              ("mul", "multiply", "_mul"), ("truediv", "divide", "_div"),
                              ("mod", "modulo", "_mod"), ("pow", "power", "_power")):
    setattr(Symbol, f"__{_dunder}__", _binary(_name, _hint, _hint + "scalar"))
    setattr(Symbol, f"__r{_dunder}__", _binary(_name, _hint, _hint + "scalar", reflected=True))
Symbol.__rpow__ = _binary("power", "_power", "_rpower_scalar", reflected=True)  # MXNet's name
for _dunder, _name in (("lt", "lesser"), ("le", "lesser_equal"), ("gt", "greater"),
                       ("ge", "greater_equal"), ("eq", "equal"), ("ne", "not_equal")):
    setattr(Symbol, f"__{_dunder}__", _binary(_name, "_" + _name, f"_{_name}_scalar"))
Symbol.__neg__ = lambda self: make_node(REGISTRY["negative"], (self,), {}, hint="_mulscalar")
Symbol.__abs__ = lambda self: make_node(REGISTRY["abs"], (self,), {}, hint="abs")


def make_node(op, args, attrs, name=None, source=None, resolved=False, hint=None):
    """A Symbol for ``op`` applied to ``args`` (Symbols or Python scalars) with parsed ``attrs``.

    ``name`` gets the current prefix unless ``resolved`` (the caller already applied it);
    without one, the node is named ``hint`` (default: the op's name) and a counter."""
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
    from .node import current_attrs
    if not resolved:
        name = current_name_manager().get(name, hint or op.name.lower().lstrip("_"))
    node = Node(op, attrs, inputs, name, source, None, current_attrs(), consts)
    node.specs = infer_node(node)
    return Symbol([(node, k) for k in range(node.num_outputs)])


def var(name, shape=None, dtype=None, init=None, lr_mult=None, wd_mult=None, attr=None,
        stype=None, **kwargs):
    """A variable: an input or a parameter of the graph (``mx.sym.var('data')``)."""
    from .node import current_attrs
    if not isinstance(name, str):
        raise MXNetTypeError(f"var: name must be a string, got {name!r}")
    if shape is not None and not isinstance(shape, (list, tuple)):
        shape = (int(shape),)  # MXNet takes an int for a 1-D shape
    bad = [k for k in kwargs if not (k.startswith("__") and k.endswith("__"))]
    if bad:
        raise MXNetValueError(f"var: attributes {bad} are not supported; extra attributes must "
                              f"start and end with double underscores (__yourattr__)")
    user = dict(current_attrs())
    user.update({hidden_key(k): str(v) for k, v in (attr or {}).items()})
    if dtype is not None:  # MXNet keeps its type code ("0": float32) in the attribute
        from ..ndarray.mxnet_format import type_flag
        user["__dtype__"] = str(type_flag(dtype_of(dtype)))
    if init is not None and not isinstance(init, str):  # MXNet keeps the initializer's JSON
        init = init.dumps()
    for key, value in (("__shape__", shape), ("__init__", init), ("__lr_mult__", lr_mult),
                       ("__wd_mult__", wd_mult)):
        if value is not None:
            user[key] = str(tuple(value) if key == "__shape__" else value)
    user.update({k: str(v) for k, v in kwargs.items()})
    if stype is not None:  # MXNet's storage type code; mxplug's arrays are all dense
        codes = {"default": 0, "row_sparse": 1, "csr": 2}
        if stype not in codes:
            raise MXNetValueError(f"var: unknown stype {stype!r}; one of {sorted(codes)}")
        user["__storage_type__"] = str(codes[stype])
    specs = None
    if shape is not None and all(int(s) > 0 for s in shape):
        specs = (Spec(tuple(int(s) for s in shape), dtype_of(dtype)),)
    node = Node(None, {}, (), name, source_of(), specs, user)
    return Symbol([(node, 0)])


Variable = var


def Group(symbols):  # noqa: N802  (MXNet's name)
    """One symbol whose outputs are the outputs of ``symbols``, in order."""
    outs = []
    if not symbols:
        raise MXNetTypeError("Group: expected a non-empty list of symbols")
    for s in symbols:
        if not isinstance(s, Symbol):
            raise MXNetTypeError(f"Group: expected Symbols, got {type(s).__name__}")
        outs.extend(s._outputs)
    return Symbol(outs)


def _warn_unknown(what, names, found, unknown):
    """MXNet's warning when inference cannot decide everything (up to 10 names listed)."""
    missing = [f"{n}: {v}" for n, v in zip(names, found) if unknown(v)]
    if len(missing) > 10:
        missing = missing[:10] + ["..."]
    warnings.warn(f"Cannot decide {what}. Consider providing them as input:\n\t"
                  + "\n\t".join(missing), stacklevel=3)


def _node_attrs(node):
    """``list_attr`` of one node: the op parameters given (MXNet stores no defaults) and the
    user attributes, a hidden key under both spellings."""
    out = {}
    if node.op is not None:
        from .serialize import op_attr_texts
        out.update(op_attr_texts(node))
    for k, v in node.user_attrs.items():
        out[k] = v
        if k.startswith("__") and k.endswith("__") and k[2:-2] in HIDDEN_KEYS:
            out[k[2:-2]] = v
    return out


def _without_amp_casts(sym):
    """``sym`` with the ``amp_cast`` / ``amp_multicast`` nodes bypassed, or ``sym`` itself
    when it has none (so that a plain graph is written exactly as built)."""
    if not any(n.op is not None and n.op.name in ("amp_cast", "amp_multicast")
               for n in sym._nodes()):
        return sym
    from .passes import remove_amp_casts
    return Symbol(remove_amp_casts(sym._outputs))


def copy_graph(outputs):
    """``outputs`` over fresh copies of every node they reach (same structure and attributes)."""
    new = {}
    for n in topo_nodes(outputs):
        c = Node(n.op, dict(n.attrs), [(new[id(i)], k) for i, k in n.inputs], n.name, n.source,
                 n.specs, n.user_attrs, n.consts)
        new[id(n)] = c
    return [(new[id(n)], k) for n, k in outputs]
