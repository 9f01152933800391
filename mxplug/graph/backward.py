"""The symbolic backward graph: each op's gradient rule applied to Symbols instead of NDArrays.

The rules (``op.vjp_fn``) are written in mxplug ops; run under a :class:`~.trace.Tracing` they
build nodes, so the gradient of a graph is another graph of registry ops — it runs on every
backend and can be differentiated again. Two steps:

1. the forward graph is copied with shapes filled in, and composite ops that have no gradient rule
   (softmax, LayerNorm, Dropout, ...) on a gradient path are expanded into their bodies;
2. nodes are visited consumers-first, each one's rule called on stand-ins for its inputs, outputs
   and output gradients; contributions to one value are summed.

The expansion reads ``autograd.is_training()`` (BatchNorm, Dropout), so a backward graph is built
for one training mode.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import contextmanager
from typing import NamedTuple

from ..base import MXNetError, MXNetNotImplementedError, MXNetValueError
from ..ndarray import NDArray
from ..ops import REGISTRY
from ..ops.dispatch import apply
from .inference import propagate
from .node import AttrScope, NameManager, Node, ctx_group_of, infer_node, topo_nodes
from .symbol import Symbol
from .trace import Tracer, Tracing

__all__ = ["BackwardGraph", "backward_graph", "gradient_graph"]

_add, _ones_like, _zeros_like = REGISTRY["add"], REGISTRY["ones_like"], REGISTRY["zeros_like"]


class BackwardGraph(NamedTuple):
    #: The forward outputs, on the copied (expanded) graph the gradients refer to.
    forward: Symbol
    #: One output per ``wrt`` name: the gradient of ``sum(outputs * head_grads)``.
    grads: Symbol
    #: Arrays that gradient rules captured, by variable name (bind them with the arguments).
    constants: dict


def gradient_graph(sym, wrt_names, head_grads=None, shapes=None, dtypes=None) -> Symbol:
    """The gradients of ``sum_i sum(sym[i] * head_grads[i])`` with respect to ``wrt_names``.

    Parameters
    ----------
    sym : Symbol
        The graph to differentiate (all of its outputs).
    wrt_names : str or list of str
        Names of the variables to differentiate with respect to.
    head_grads : list of (Symbol or None), optional
        One gradient per output of ``sym``; ``None`` (or omitted) means ones.
    shapes, dtypes : dict, optional
        Input shapes and dtypes, for variables declared without them (the gradient rules read
        shapes).

    Returns
    -------
    Symbol
        One output per name of ``wrt_names``, in order. It can be differentiated again.
    """
    bg = backward_graph(sym, wrt_names, head_grads, shapes, dtypes)
    if bg.constants:
        raise MXNetError(f"gradient_graph: gradient rules captured arrays "
                         f"({sorted(bg.constants)}); use backward_graph, which returns them")
    return bg.grads


def backward_graph(sym, wrt_names, head_grads=None, shapes=None, dtypes=None,
                   ctx=None) -> BackwardGraph:
    """Like :func:`gradient_graph`, also returning the copied forward graph and captured arrays
    (what an executor binds: the forward outputs share their nodes with the gradients)."""
    wrt = [wrt_names] if isinstance(wrt_names, str) else list(wrt_names)
    inputs = sym.list_inputs()
    unknown = [n for n in wrt if n not in inputs]
    if unknown:
        raise MXNetValueError(f"gradient_graph: {unknown} are not inputs of the graph; its inputs "
                              f"are {inputs}")
    head_grads = list(head_grads) if head_grads is not None else [None] * len(sym._outputs)
    if len(head_grads) != len(sym._outputs):
        raise MXNetValueError(f"gradient_graph: {len(head_grads)} head gradients for "
                              f"{len(sym._outputs)} outputs")
    var_specs = propagate(sym, shapes, dtypes)[0]
    with Tracing(ctx, expand=True) as t:
        fwd = _copy_forward(t, sym, set(wrt), var_specs)
        grads = _differentiate(t, fwd, wrt, head_grads)
    return BackwardGraph(Symbol(fwd), Symbol(grads), dict(t.constants))


def _dependents(outputs, wrt):
    """Ids of the nodes whose value depends on a variable named in ``wrt``."""
    dep = set()
    for n in topo_nodes(outputs):
        if (n.name in wrt) if n.is_variable else any(id(i) in dep for i, _ in n.inputs):
            dep.add(id(n))
    return dep


@contextmanager
def _rule_scope(t, node, what):
    """Nodes a rule makes for ``node``: named after it, sourced at its line, on its ctx_group."""
    saved = t.names, t.source
    t.names = NameManager(f"{node.name}_{what}")
    t.source = f"{node.source} ({what} of {node.name!r})"
    group = ctx_group_of(node)
    scope = AttrScope() if group is None else AttrScope(ctx_group=group)
    try:
        with scope:
            yield
    finally:
        t.names, t.source = saved


def _copy_forward(t, sym, wrt, var_specs):
    """The graph's outputs on a copy with specs, composites without a rule expanded where a
    gradient flows through them."""
    dep = _dependents(sym._outputs, wrt)
    mapping = {}
    for node in topo_nodes(sym._outputs):
        if node.is_variable:
            spec = var_specs.get(node.name) or (node.specs[0] if node.specs else None)
            new = Node(None, {}, (), node.name, node.source, (spec,) if spec else None,
                       node.user_attrs)
            mapping[id(node)] = [(new, 0)]
            continue
        ins = [mapping[id(i)][k] for i, k in node.inputs]
        op = node.op
        if id(node) in dep and op.composite is not None and op.vjp_fn is None \
                and op.differentiable:
            with _rule_scope(t, node, "expanded"):
                outs = op.composite(*node.arguments([t.wrap(p) for p in ins]), **node.attrs)
            outs = outs if isinstance(outs, (tuple, list)) else (outs,)
            mapping[id(node)] = [o._out if isinstance(o, Tracer) else t.constant(o) for o in outs]
            continue
        new = Node(op, node.attrs, ins, node.name, node.source, None, node.user_attrs,
                   node.consts)
        new.specs = infer_node(new)
        mapping[id(node)] = [(new, k) for k in range(new.num_outputs)]
    return [mapping[id(n)][k] for n, k in sym._outputs]


def _sum(t, pairs):
    if not pairs:
        return None
    acc = t.wrap(pairs[0])
    for p in pairs[1:]:
        acc = apply(_add, acc, t.wrap(p))
    return acc


def _differentiate(t, outputs, wrt, head_grads):
    t.expand = False  # rules may use composites; keep them whole (a second order expands them)
    dep = _dependents(outputs, set(wrt))
    pending = defaultdict(list)  # (id(node), k) -> gradient contributions, as (node, k) pairs
    for pair, hg in zip(outputs, head_grads):
        if id(pair[0]) not in dep:
            continue
        if hg is None:
            hg = apply(_ones_like, t.wrap(pair))._out
        elif isinstance(hg, Symbol):
            hg = hg._outputs[0]
        pending[(id(pair[0]), pair[1])].append(hg)
    nodes = topo_nodes(outputs)
    for node in reversed(nodes):
        if node.is_variable or id(node) not in dep:
            continue
        gs = [pending.pop((id(node), k), None) for k in range(node.num_outputs)]
        if all(g is None for g in gs) or not node.op.differentiable:
            continue
        with _rule_scope(t, node, "backward"):
            in_grads = _apply_rule(t, node, [_sum(t, g) for g in gs])
        for (inp, k), r in zip(node.inputs, in_grads):
            if r is None or id(inp) not in dep:
                continue
            if isinstance(r, Tracer):
                r = r._out
            elif isinstance(r, NDArray):
                r = t.constant(r)
            else:
                raise MXNetError(f"gradient of {node.name!r} ({node.op.name}): the rule returned "
                                 f"a {type(r).__name__} for an input")
            _check_shape(node, inp, k, r)
            pending[(id(inp), k)].append(r)
    by_name = {n.name: n for n in nodes if n.is_variable}
    grads = []
    for name in wrt:
        v = by_name[name]
        g = _sum(t, pending.get((id(v), 0)))
        grads.append(g._out if g is not None else apply(_zeros_like, t.wrap((v, 0)))._out)
    return grads


def _apply_rule(t, node, gs):
    """Input gradients of ``node`` (one per symbol input, ``None`` where none flows)."""
    op = node.op
    if op.vjp_fn is None:
        raise MXNetNotImplementedError(f"gradient: op {op.name} has no gradient rule (node "
                                       f"{node.name!r} made at {node.source})")
    outs = [t.wrap((node, k)) for k in range(node.num_outputs)]
    if len(outs) == 1:
        g, out = gs[0], outs[0]
    else:
        g = tuple(apply(_zeros_like, o) if x is None else x for x, o in zip(gs, outs))
        out = tuple(outs)
    args = node.arguments([t.wrap(p) for p in node.inputs])
    res = op.vjp_fn(g, out, *args, **node.attrs)
    res = tuple(res) + (None,) * (len(args) - len(res))
    return [r for i, r in enumerate(res) if i not in node.consts]  # constants get no gradient


def _check_shape(node, inp, k, r):
    want, got = inp.specs, r[0].specs
    if want is not None and got is not None and tuple(want[k].shape) != tuple(got[r[1]].shape):
        raise MXNetError(f"gradient: the rule of {node.op.name} (node {node.name!r} made at "
                         f"{node.source}) returned shape {tuple(got[r[1]].shape)} for an input of "
                         f"shape {tuple(want[k].shape)}")
