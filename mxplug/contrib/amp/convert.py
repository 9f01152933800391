"""Mixed-precision conversion of finished models (inference): ``convert_symbol``,
``convert_model`` and ``convert_hybrid_block`` rewrite a float32 graph with ``amp_cast`` /
``amp_multicast`` nodes by the op lists, as MXNet 1.x's ``ReducePrecision`` pass does."""

from __future__ import annotations

import numpy as np

from ...base import MXNetTypeError, MXNetValueError
from ...graph.node import Node, infer_node, topo_nodes
from ...graph.passes import remove_amp_casts
from ...graph.symbol import Symbol
from ...ops import REGISTRY
from . import lists
from .amp import _target

__all__ = ["convert_symbol", "convert_model", "convert_hybrid_block", "remove_amp_cast"]

_CAST, _MULTI = REGISTRY["amp_cast"], REGISTRY["amp_multicast"]


def _names(op):
    return {op.name, *op.aliases}


def _check_lists(target, target_dtype_ops, fp32_ops, conditional_fp32_ops):
    """MXNet's checks: each op in one list only, and only ops the default lists know."""
    for what, value in (("target_dtype_ops", target_dtype_ops), ("fp32_ops", fp32_ops),
                        ("conditional_fp32_ops", conditional_fp32_ops)):
        if not isinstance(value, list):
            raise MXNetTypeError(f"convert_symbol: {what} should be a list, got "
                                 f"{type(value).__name__}")
    cond_names = [c[0] for c in conditional_fp32_ops]
    for a, b, an, bn in ((target_dtype_ops, fp32_ops, "target_dtype_ops", "fp32_ops"),
                         (target_dtype_ops, cond_names, "target_dtype_ops",
                          "conditional_fp32_ops"),
                         (cond_names, fp32_ops, "conditional_fp32_ops", "fp32_ops")):
        common = set(a) & set(b)
        if common:
            raise MXNetValueError(f"Ops cannot be in two or more lists. Common ops in {an} and "
                                  f"{bn}: {sorted(common)}")
    known = set(lists.lp16_ops(target)) | set(lists.fp32_ops(target)) | set(
        lists.lp16_fp32_ops(target)) | {c[0] for c in lists.conditional_fp32_ops(target)}
    illegal = (set(target_dtype_ops) | set(fp32_ops) | set(cond_names)) - known
    if illegal:
        raise MXNetValueError(f"convert_symbol: can only choose ops from amp.list_lp16_ops, "
                              f"list_fp32_ops, list_lp16_fp32_ops and list_conditional_fp32_ops"
                              f"; not in any of them: {sorted(illegal)}")


def _rule(node, target, lp_ops, f32_ops, cond_ops, widest_ops, excluded):
    """("cast", dtype) | ("widest", None) | None for one op node."""
    if node.name in excluded or node.op in (_CAST, _MULTI):
        return None
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
        Store parameters that only feed ``target_dtype`` ops in ``target_dtype`` (their
        ``__dtype__`` attribute says so; ``convert_model`` casts their values).
    """
    if not isinstance(sym, Symbol):
        raise MXNetTypeError("First argument to convert_symbol should be Symbol")
    target = _target(target_dtype)
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
    args = (target, set(target_dtype_ops), set(fp32_ops), conditional_fp32_ops,
            set(lists.widest_type_casts(target)), excluded)

    new_of: dict = {}  # id(old node) -> new node
    casts: dict = {}  # ((id(new node), k), dtype name) -> cast output: one cast per edge source
    counter = [0]

    def cast(out, dtype):
        key = ((id(out[0]), out[1]), dtype.name)
        if key not in casts:
            node = Node(_CAST, _CAST.parse_attrs({"dtype": dtype.name}), [out],
                        f"amp_cast{counter[0]}", out[0].source)
            counter[0] += 1
            node.specs = infer_node(node)
            casts[key] = (node, 0)
        return casts[key]

    for node in topo_nodes(sym._outputs):
        if node.is_variable:
            new_of[id(node)] = node
            continue
        inputs = [(new_of[id(n)], k) for n, k in node.inputs]
        rule = _rule(node, *args)
        skip = {i for i, r in enumerate(node.op.inputs) if r in node.op.aux_inputs} \
            if not node.op.variadic else set()
        positions = [i for i in range(len(inputs) + len(node.consts)) if i not in node.consts]
        if rule is not None and rule[0] == "cast":
            inputs = [inp if pos in skip else cast(inp, rule[1])
                      for pos, inp in zip(positions, inputs)]
        elif rule is not None:
            multi = Node(_MULTI, _MULTI.parse_attrs({"num_outputs": len(inputs)}), inputs,
                         f"amp_multicast{counter[0]}", node.source)
            counter[0] += 1
            multi.specs = infer_node(multi)
            inputs = [(multi, k) for k in range(len(inputs))]
        new = Node(node.op, node.attrs, inputs, node.name, node.source, None, node.user_attrs,
                   node.consts)
        new.specs = infer_node(new)
        new_of[id(node)] = new
    out = Symbol([(new_of[id(n)], k) for n, k in sym._outputs])
    if cast_optional_params:
        _fold_param_casts(out, set(data_names), target)
    return out


def _fold_param_casts(sym, data_names, target):
    """Feed parameters that only go into casts to ``target`` straight in, stored as ``target``."""
    consumers: dict = {}
    nodes = sym._nodes()
    for node in nodes:
        for i, (inp, _) in enumerate(node.inputs):
            consumers.setdefault(id(inp), []).append((node, i))
    for node in nodes:
        if not node.is_variable or node.name in data_names:
            continue
        uses = consumers.get(id(node), [])
        if not uses or any(c.op is not _CAST or np.dtype(c.attrs["dtype"]) != target
                           for c, _ in uses):
            continue
        node.user_attrs["__dtype__"] = target.name
        if node.specs is not None:
            node.specs = tuple(type(sp)(sp.shape, target) for sp in node.specs)
        for cast_node, _ in uses:
            for user in nodes:
                user.inputs = tuple((node, 0) if inp is cast_node else (inp, k)
                                    for inp, k in user.inputs)


def _cast_params(sym, params):
    attrs = {n.name: n.user_attrs for n in sym._nodes() if n.is_variable}
    out = {}
    for name, value in params.items():
        dtype = attrs.get(name, {}).get("__dtype__")
        out[name] = value.astype(dtype) if dtype and np.dtype(value.dtype).name != dtype \
            else value
    return out


def convert_model(sym, arg_params, aux_params, target_dtype="float16", target_dtype_ops=None,
                  fp32_ops=None, conditional_fp32_ops=None, excluded_sym_names=None,
                  cast_optional_params=False):
    """``convert_symbol`` for a model with its parameters: returns ``(sym, arg_params,
    aux_params)``, parameters cast to the dtypes the converted graph stores them in."""
    if not isinstance(arg_params, dict) or not isinstance(aux_params, dict):
        raise MXNetTypeError("convert_model: arg_params and aux_params should be dicts of name "
                             "to NDArray")
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
        raise MXNetTypeError("block input should be a HybridBlock")
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
        dtype = stored.get(name) or np.dtype(value.dtype).name
        param.dtype = dtype
        param._load_init(value.astype(dtype), ctx, cast_dtype=True)
    return ret


def remove_amp_cast(sym):
    """A copy of ``sym`` without ``amp_cast`` / ``amp_multicast`` nodes (each output replaced by
    the matching input): what ``HybridBlock.export(remove_amp_cast=True)`` saves."""
    return Symbol(remove_amp_casts(sym._outputs))
