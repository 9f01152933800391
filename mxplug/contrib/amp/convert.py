"""Mixed-precision conversion of finished models (inference): ``convert_symbol``,
``convert_model`` and ``convert_hybrid_block`` rewrite a float32 graph with ``amp_cast`` /
``amp_multicast`` nodes by the op lists, as MXNet 1.x's ``ReducePrecision`` pass does."""

from __future__ import annotations

import numpy as np

from ...base import MXNetTypeError, MXNetValueError
from ...graph.inference import declared_dtype
from ...graph.node import Node, infer_node, topo_nodes
from ...graph.passes import remove_amp_casts
from ...graph.symbol import Symbol
from ...ndarray.mxnet_format import type_flag
from ...ops import REGISTRY
from . import lists

__all__ = ["convert_symbol", "convert_model", "convert_hybrid_block", "remove_amp_cast"]

_CAST, _MULTI = REGISTRY["amp_cast"], REGISTRY["amp_multicast"]


class AMPListError(MXNetValueError, AssertionError):
    """Bad op lists for a conversion. MXNet checks them with ``assert`` (its tests expect an
    ``AssertionError``); this is also an ``MXNetValueError``."""


class AMPArgumentTypeError(MXNetTypeError, AssertionError):
    """A conversion argument of the wrong type (MXNet: an ``assert``, so ``AssertionError``)."""


def _names(op):
    return {op.name, *op.aliases}


def _check_lists(target, target_dtype_ops, fp32_ops, conditional_fp32_ops):
    """MXNet's checks: each op in one list only, and only ops the default lists know."""
    for what, value in (("target_dtype_ops", target_dtype_ops), ("fp32_ops", fp32_ops),
                        ("conditional_fp32_ops", conditional_fp32_ops)):
        if not isinstance(value, list):
            raise AMPArgumentTypeError(f"convert_symbol: {what} should be a list, got "
                                       f"{type(value).__name__}")
    cond_names = [c[0] for c in conditional_fp32_ops]
    for a, b, an, bn in ((target_dtype_ops, fp32_ops, "target_dtype_ops", "fp32_ops"),
                         (target_dtype_ops, cond_names, "target_dtype_ops",
                          "conditional_fp32_ops"),
                         (cond_names, fp32_ops, "conditional_fp32_ops", "fp32_ops")):
        common = set(a) & set(b)
        if common:
            raise AMPListError(f"Ops cannot be in two or more lists. Common ops in {an} and "
                               f"{bn}: {sorted(common)}")
    known = set(lists.lp16_ops(target)) | set(lists.fp32_ops(target)) | set(
        lists.lp16_fp32_ops(target)) | {c[0] for c in lists.conditional_fp32_ops(target)}
    illegal = (set(target_dtype_ops) | set(fp32_ops) | set(cond_names)) - known
    if illegal:
        raise AMPListError(f"convert_symbol: can only choose ops from amp.list_lp16_ops, "
                           f"list_fp32_ops, list_lp16_fp32_ops and list_conditional_fp32_ops"
                           f"; not in any of them: {sorted(illegal)}")


def _rule(node, target, lp_ops, f32_ops, cond_ops, widest_ops, excluded):
    """("cast", dtype) | ("widest", None) | None for one op node; an excluded node runs in
    float32, as MXNet's (its low-precision inputs are cast back)."""
    if node.op in (_CAST, _MULTI):
        return None
    if node.name in excluded:
        return ("cast", np.dtype(np.float32))
    names = _names(node.op)
    if names & lp_ops:
        return ("cast", target)
    if names & f32_ops:
        return ("cast", np.dtype(np.float32))
    for name, attr, values in cond_ops:
        if name in names and str(node.attrs.get(attr)) in [str(v) for v in values]:
            return ("cast", np.dtype(np.float32))
    if names & widest_ops and len(node.inputs) > 1:
        return ("widest", None)
    return None


def convert_symbol(sym, target_dtype="float16", target_dtype_ops=None, fp32_ops=None,
                   conditional_fp32_ops=None, excluded_sym_names=None, data_names=None,
                   cast_optional_params=False):
    """A copy of the float32 graph ``sym`` with the casts of mixed precision inserted.

    Parameters
    ----------
    sym : Symbol
        The float32 network.
    target_dtype : {'float16', 'bfloat16'}
    target_dtype_ops, fp32_ops, conditional_fp32_ops : list, optional
        Override the default lists (see ``amp.list_lp16_ops`` and friends).
    excluded_sym_names : list of str, optional
        Names of nodes to leave in their original precision.
    data_names : list of str, optional
        The input variables (the others are parameters). Default: variables without
        ``__dtype__``.
    cast_optional_params : bool, default False
        Store the parameters whose dtype nothing else fixes (used only through
        ``amp_cast`` / ``amp_multicast``) in the dtype they are cast to, as MXNet's
        ``AMPInferUnknown`` pass (their ``__dtype__`` says so; ``convert_model`` casts values).
    """
    if not isinstance(sym, Symbol):
        raise AMPArgumentTypeError("First argument to convert_symbol should be Symbol")
    target = lists.resolve_target(target_dtype)
    target_dtype_ops = list(lists.lp16_ops(target)) if target_dtype_ops is None \
        else target_dtype_ops
    fp32_ops = list(lists.fp32_ops(target)) if fp32_ops is None else fp32_ops
    conditional_fp32_ops = list(lists.conditional_fp32_ops(target)) \
        if conditional_fp32_ops is None else conditional_fp32_ops
    _check_lists(target, target_dtype_ops, fp32_ops, conditional_fp32_ops)
    excluded = set(excluded_sym_names or [])
    if data_names is None:
        data_names = [n.name for n in sym._nodes() if n.is_variable
                      and "__dtype__" not in n.user_attrs]
    f32 = np.dtype(np.float32)
    args = (target, set(target_dtype_ops), set(fp32_ops), conditional_fp32_ops,
            set(lists.widest_type_casts(target)), excluded)

    new_of: dict = {}  # id(old node) -> new node
    casts: dict = {}  # ((id(new node), k), dtype name) -> cast output: one cast per edge source
    # (id(new node), k) -> the dtype the output is in, where the lists decide it (variables:
    # float32, as MXNet's pass takes them): an input already in a rule's dtype is not cast
    dtype_of_entry: dict = {}
    taken = {n.name for n in sym._nodes()}

    def unique(name):
        # MXNet's names (``<source>[_<k>]_amp_cast_<dtype>``, ``..._amp_multicast``) can repeat
        # in its graphs; here node names stay unique
        base, i = name, 1
        while name in taken:
            name, i = f"{base}{i}", i + 1
        taken.add(name)
        return name

    def entry_name(out):  # MXNet's: data, fc1_output, sp_output1, relu0_0
        node, k = out
        if node.is_variable or _names(node.op) & lists.NAMED_OUTPUT_OPS:
            return Symbol([out]).list_outputs()[0]
        return f"{node.name}_{k}"

    def cast(out, dtype):
        if dtype_of_entry.get((id(out[0]), out[1])) == dtype:
            return out
        key = ((id(out[0]), out[1]), dtype.name)
        if key not in casts:
            node = Node(_CAST, _CAST.parse_attrs({"dtype": dtype.name}), [out],
                        unique(f"{entry_name(out)}_amp_cast_{dtype.name}"), out[0].source)
            node.specs = infer_node(node)
            casts[key] = (node, 0)
            dtype_of_entry[(id(node), 0)] = dtype
        return casts[key]

    def output_dtype(rule, inputs):
        """The dtype of a new node's outputs: its rule's, else its inputs' when they agree."""
        if rule is not None and rule[0] == "cast":
            return rule[1]
        known = {dtype_of_entry.get((id(n), k)) for n, k in inputs}
        return known.pop() if len(known) == 1 else None

    for node in topo_nodes(sym._outputs):
        if node.is_variable:  # a copy: the conversion may set its __dtype__
            new_of[id(node)] = Node(None, node.attrs, (), node.name, node.source, node.specs,
                                    node.user_attrs, node.consts)
            text = node.user_attrs.get("__dtype__")
            dtype_of_entry[(id(new_of[id(node)]), 0)] = f32 if text is None else \
                None if text == "-1" else declared_dtype(text, node.name)  # -1: unknown
            continue
        inputs = [(new_of[id(n)], k) for n, k in node.inputs]
        rule = _rule(node, *args)
        skip = {i for i, r in enumerate(node.op.inputs) if r in node.op.aux_inputs} \
            if not node.op.variadic else set()
        positions = [i for i in range(len(inputs) + len(node.consts)) if i not in node.consts]
        if rule is not None and rule[0] == "cast":
            inputs = [inp if pos in skip else cast(inp, rule[1])
                      for pos, inp in zip(positions, inputs)]
        elif rule is not None and _known_widest(inputs, dtype_of_entry) is not None:
            # the dtypes are known here: cast the narrower inputs, as MXNet's pass does
            widest = _known_widest(inputs, dtype_of_entry)
            inputs = [cast(inp, widest) for inp in inputs]
        elif rule is not None:  # unknown until the graph runs: amp_multicast decides then
            multi = Node(_MULTI, _MULTI.parse_attrs({"num_outputs": len(inputs)}), inputs,
                         unique(f"{entry_name(inputs[0])}_amp_multicast"), node.source)
            multi.specs = infer_node(multi)
            inputs = [(multi, k) for k in range(len(inputs))]
        new = Node(node.op, node.attrs, inputs, node.name, node.source, None, node.user_attrs,
                   node.consts)
        new.specs = infer_node(new)
        new_of[id(node)] = new
        dt = _dtype_attr(node) or output_dtype(rule, inputs)
        for k in range(new.num_outputs):
            dtype_of_entry[(id(new), k)] = dt
    data_names = set(data_names)
    outputs = [(new_of[id(n)], k) for n, k in sym._outputs]
    # as MXNet's ReducePrecision: outputs computed in low precision are cast back to float32,
    # so the converted model returns what the float32 one did
    _, out_dtype = _dtype_flow(Symbol(outputs), data_names)
    out = Symbol([cast(o, f32) if out_dtype.get(id(o[0])) == target else o for o in outputs])
    inferred = _inferred_var_dtypes(out, data_names)
    if cast_optional_params:
        inferred.update(_optional_param_dtypes(out, data_names, inferred, target))
    _store_var_dtypes(out, data_names, inferred)
    return out


def _known_widest(inputs, dtype_of_entry):
    """The widest float dtype of ``inputs`` when every one is known, else None."""
    dts = [dtype_of_entry.get((id(n), k)) for n, k in inputs]
    if any(d is None for d in dts):
        return None
    return max(dts, key=lambda d: d.itemsize)


#: Ops whose parameters keep their own dtype whatever their data's (MXNet: BatchNorm's
#: statistics and scale stay float32 under float16 data).
_OWN_PARAM_DTYPE = {"BatchNorm", "SyncBatchNorm", "_contrib_SyncBatchNorm", "InstanceNorm",
                    "LayerNorm", "GroupNorm"}


def _dtype_attr(node):
    value = node.attrs.get("dtype")
    try:
        return None if value is None else np.dtype(value)
    except TypeError:
        return None


def _inferred_var_dtypes(sym, data_names):
    """What MXNet's type inference after its ``ReducePrecision`` pass settles: data inputs are
    float32, every other variable starts open (declared ``__dtype__`` set aside) and takes its
    consumer's data dtype, except behind ``amp_cast`` / ``amp_multicast`` (which never infer
    their inputs' dtype) and for the parameters of normalisation ops. ``{name: dtype}``."""
    return _dtype_flow(sym, data_names)[0]


def _dtype_flow(sym, data_names):
    """The dtypes of :func:`_inferred_var_dtypes` (``{variable name: dtype}``) and of the op
    nodes' outputs (``{id(node): dtype or None}``), following the data from float32 inputs."""
    f32 = np.dtype(np.float32)
    known = {name: f32 for name in data_names}
    out_dtype: dict = {}
    for node in topo_nodes(sym._outputs):
        if node.is_variable:
            continue
        ins = [known.get(n.name) if n.is_variable else out_dtype.get(id(n))
               for n, _ in node.inputs]
        first = next((d for d in ins if d is not None), None)
        if node.op is _CAST:
            d = ins[0]
            if d is not None and d.name in ("float16", "bfloat16", "float32"):
                d = np.dtype(node.attrs["dtype"])
        elif node.op is _MULTI:
            floats = {d.name for d in ins if d is not None}
            d = f32 if "float32" in floats or len(floats) > 1 else first
        else:
            if first is not None and not (_names(node.op) & _OWN_PARAM_DTYPE):
                for (n, _), d in zip(node.inputs, ins):
                    if n.is_variable and d is None:
                        known.setdefault(n.name, first)
            d = _dtype_attr(node) or first
        out_dtype[id(node)] = d
    return known, out_dtype


def _optional_param_dtypes(sym, data_names, inferred, target):
    """``cast_optional_params``, as MXNet's ``AMPInferUnknown`` pass: a variable that type
    inference left open takes the dtype it is cast to: its ``amp_cast``'s, or ``target`` for an
    ``amp_multicast`` whose inputs are all variables; casts that disagree leave it open. The
    casts stay in the graph (to the dtype the value already has, they cost nothing)."""
    visited: dict = {}  # name -> the first dtype a cast gave it
    result: dict = {}  # name -> dtype, or None after a conflict

    def settle(var, dtype):
        if var.name not in visited:
            if result.get(var.name) is None and var.name not in inferred:
                visited[var.name] = result[var.name] = dtype
        elif visited[var.name] != dtype:
            result[var.name] = None

    for node in topo_nodes(sym._outputs):
        if node.op is _CAST:
            for inp, _ in node.inputs:
                if inp.is_variable:
                    settle(inp, np.dtype(node.attrs["dtype"]))
        elif node.op is _MULTI and all(inp.is_variable for inp, _ in node.inputs):
            for inp, _ in node.inputs:
                settle(inp, target)
    return {name: d for name, d in result.items() if d is not None}


def _store_var_dtypes(sym, data_names, dtypes):
    """MXNet's ``__dtype__`` update: parameters, and variables that declared a dtype, get the one
    settled for them (``convert_model`` / ``convert_hybrid_block`` cast their values to it)."""
    nodes = sym._nodes()
    changed = set()
    for node in nodes:
        dtype = dtypes.get(node.name) if node.is_variable else None
        if dtype is None or not ("__dtype__" in node.user_attrs or node.name not in data_names):
            continue
        node.user_attrs["__dtype__"] = str(type_flag(dtype))  # MXNet's type code, as var()
        if node.specs is not None:
            node.specs = tuple(type(sp)(sp.shape, dtype) for sp in node.specs)
        changed.add(id(node))
    for node in nodes:  # the specs of the nodes right after them follow
        if not node.is_variable and any(id(inp) in changed for inp, _ in node.inputs):
            node.specs = infer_node(node)


def _cast_params(sym, params):
    attrs = {n.name: n.user_attrs for n in sym._nodes() if n.is_variable}
    out = {}
    for name, value in params.items():
        text = attrs.get(name, {}).get("__dtype__")
        dtype = declared_dtype(text, name) if text else None
        out[name] = value.astype(dtype) if dtype is not None and np.dtype(value.dtype) != dtype \
            else value
    return out


def convert_model(sym, arg_params, aux_params, target_dtype="float16", target_dtype_ops=None,
                  fp32_ops=None, conditional_fp32_ops=None, excluded_sym_names=None,
                  cast_optional_params=False):
    """``convert_symbol`` for a model with its parameters: returns ``(sym, arg_params,
    aux_params)``, parameters cast to the dtypes the converted graph stores them in."""
    if not isinstance(arg_params, dict) or not isinstance(aux_params, dict):
        raise AMPArgumentTypeError("convert_model: arg_params and aux_params should be dicts of "
                                   "name to NDArray")
    data_names = [n for n in sym.list_inputs() if n not in arg_params and n not in aux_params]
    new = convert_symbol(sym, target_dtype, target_dtype_ops, fp32_ops, conditional_fp32_ops,
                         excluded_sym_names, data_names, cast_optional_params)
    return new, _cast_params(new, arg_params), _cast_params(new, aux_params)


def convert_hybrid_block(block, target_dtype="float16", target_dtype_ops=None, fp32_ops=None,
                         conditional_fp32_ops=None, excluded_sym_names=None, ctx=None,
                         cast_optional_params=False):
    """A ``SymbolBlock`` computing ``block`` (hybridized and run once) in mixed precision, for
    inference. ``ctx`` defaults to the current context (MXNet's default is ``gpu(0)``)."""
    from ...gluon import HybridBlock, SymbolBlock
    from ...graph.symbol import var

    if not isinstance(block, HybridBlock):
        raise AMPArgumentTypeError("block input should be a HybridBlock")
    graph = block._traced_graph()
    params = {p.name: p for p in block._cached_params}
    data_names = [n for n in graph.input_names if n is not None and n not in params]
    converted = convert_symbol(graph.symbol, target_dtype, target_dtype_ops, fp32_ops,
                               conditional_fp32_ops, excluded_sym_names, data_names,
                               cast_optional_params)
    inputs = [var(n) for n in data_names]
    ret = SymbolBlock(converted, inputs)
    stored = {n.name: n.user_attrs.get("__dtype__") for n in converted._nodes() if n.is_variable}
    values = {name: p._reduce() for name, p in params.items()}
    values.update(graph.constants)
    for name, param in ret.collect_params().items():
        if name not in values:
            continue
        value = values[name]
        text = stored.get(name)
        dtype = declared_dtype(text, name).name if text else np.dtype(value.dtype).name
        param.dtype = dtype
        param._load_init(value.astype(dtype), ctx, cast_dtype=True)
    return ret


def remove_amp_cast(sym):
    """A copy of ``sym`` without ``amp_cast`` / ``amp_multicast`` nodes (each output replaced by
    the matching input): what ``HybridBlock.export(remove_amp_cast=True)`` saves."""
    return Symbol(remove_amp_casts(sym._outputs))
