"""Graph optimisation passes, run once when a Symbol is bound.

Every pass is a pure function ``pass(outputs) -> new outputs`` over ``(Node, output index)``
pairs: nodes are never mutated (a Symbol and its optimised copy may share them); a node whose
inputs did not change is reused as is, anything else is a new :class:`~.node.Node`.

- :func:`eliminate_dead_code`: drop what no output reads, and switch off the extra outputs of
  multi-output nodes (``output_mean_var``) when only the first one is read;
- :func:`eliminate_common_subexpressions`: one node per (op, attrs, inputs, constants), never
  merging random ops or ops that read the training mode or update state;
- :func:`fold_constants`: subgraphs that read no variable are evaluated once, at bind time, and
  become ``_constant`` nodes;
- :func:`drop_broadcasts`: an elementwise op reads the source of a ``broadcast_to`` directly
  when its other operands give the output its shape anyway (the ufunc broadcasts; the reduced
  gradients of ``sum``/``mean`` are never materialised);
- :func:`~.fusion.fuse_elementwise`: trees of elementwise ops become one ``_fused_elemwise``;
- :func:`optimize`: the pipeline; :mod:`.memory` plans the buffers of the result.
"""

from __future__ import annotations

import numpy as np

from ..ops import Sample, apply, defop, state
from ..ops.attrs import Any, Dtype
from ..ops.infer import Spec
from .fusion import fuse_elementwise
from .node import Node, infer_node, topo_nodes

__all__ = ["rewrite", "eliminate_dead_code", "eliminate_common_subexpressions",
           "fold_constants", "drop_broadcasts", "annotate", "optimize", "CONSTANT"]


# -- the _constant op ---------------------------------------------------------------------------
def _constant_infer(value=None, ctx=None, dtype=None):
    v = np.asarray(value, dtype=dtype)
    return Spec(v.shape or (1,), v.dtype)


CONSTANT = defop(
    "_constant",
    (),
    {"value": Any(None), "ctx": Any(None), "dtype": Dtype(None)},
    infer=_constant_infer,
    differentiable=False,
    doc="A constant array (made by constant folding; ``value`` is a NumPy array).",
)


@CONSTANT.impl
def _(xp, value=None, ctx=None, dtype=None):
    v = np.asarray(value, dtype=dtype)
    return xp.asarray(v.reshape(v.shape or (1,)), copy=True)  # a copy: the node keeps its value


CONSTANT.samples(lambda rng: Sample(value=rng.uniform(-1, 1, (2, 3)).astype(np.float32)),
                 lambda rng: Sample(value=np.arange(4, dtype=np.int32)))


# -- rewriting ----------------------------------------------------------------------------------
def _with_inputs(node, ins):
    if len(ins) == len(node.inputs) and all(a is b or (a[0] is b[0] and a[1] == b[1])
                                            for a, b in zip(ins, node.inputs)):
        return node
    return Node(node.op, node.attrs, ins, node.name, node.source, node.specs, node.user_attrs,
                node.consts)


def rewrite(outputs, visit=None):
    """Rebuild the graph of ``outputs`` bottom-up.

    ``visit(node, new_inputs, lookup)`` returns None (keep the node, with its new inputs), a
    replacement Node with the same outputs, or a list giving a new ``(node, k)`` per output;
    ``lookup(old_node, k)`` maps an already visited output to its replacement."""
    mapping: dict = {}

    def lookup(node, k):
        new = mapping[id(node)]
        return new[k] if isinstance(new, list) else (new, k)

    for node in topo_nodes(outputs):
        ins = tuple(lookup(i, k) for i, k in node.inputs)
        new = visit(node, ins, lookup) if visit is not None else None
        mapping[id(node)] = _with_inputs(node, ins) if new is None else new
    return [lookup(n, k) for n, k in outputs]


def used_outputs(outputs):
    """{id(node): set of output indices read by a consumer or as a graph output}."""
    used: dict = {}
    for node in topo_nodes(outputs):
        for inp, k in node.inputs:
            used.setdefault(id(inp), set()).add(k)
    for node, k in outputs:
        used.setdefault(id(node), set()).add(k)
    return used


#: Ops whose outputs past the first exist only when an attribute asks for them.
EXTRA_OUTPUTS = {"BatchNorm": "output_mean_var", "LayerNorm": "output_mean_var"}


def eliminate_dead_code(outputs):
    """Keep only what ``outputs`` read; turn off unread extra outputs of multi-output nodes.

    Unreachable nodes disappear because the result is rebuilt from ``outputs``. A node such as
    ``BatchNorm(output_mean_var=True)`` whose mean and variance nobody reads becomes the
    single-output node, which then neither computes nor keeps them."""
    used = used_outputs(outputs)

    def visit(node, ins, lookup):
        flag = EXTRA_OUTPUTS.get(node.op.name) if node.op is not None else None
        if flag is None or not node.attrs.get(flag) or used.get(id(node), set()) - {0}:
            return None
        new = Node(node.op, {**node.attrs, flag: False}, ins, node.name, node.source,
                   node.specs[:1] if node.specs else None, node.user_attrs, node.consts)
        return [(new, 0)] + [None] * (node.num_outputs - 1)

    return rewrite(outputs, visit)


# -- common subexpressions ----------------------------------------------------------------------
#: Ops whose result depends on ``autograd.is_training()`` or that update their inputs in place.
TRAINING_OPS = frozenset({"BatchNorm", "Dropout"})


def _pure(op):
    return not (op.random or op.name in TRAINING_OPS or op.aux_inputs)


def _freeze(v):
    """A hashable, type-exact key for an attribute or constant value."""
    if isinstance(v, dict):
        return tuple(sorted((k, _freeze(x)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, tuple(_freeze(x) for x in v))
    if isinstance(v, np.ndarray):
        return ("nd", v.dtype.str, v.shape, v.tobytes()) if v.size <= 4096 else ("id", id(v))
    try:
        hash(v)
    except TypeError:
        return ("id", id(v))
    return (type(v).__name__, v)  # 1, 1.0 and True stay distinct


def eliminate_common_subexpressions(outputs):
    """Merge nodes with the same op, attributes, inputs, constants and scope attributes.

    Random ops (``op.random``), ops that read the training mode (Dropout, BatchNorm) and ops
    with auxiliary states are never merged: two draws are not one draw."""
    seen: dict = {}

    def visit(node, ins, lookup):
        if node.op is None or not _pure(node.op):
            return None
        key = (node.op.name, _freeze(node.attrs), tuple((id(n), k) for n, k in ins),
               _freeze(node.consts), _freeze(node.user_attrs))
        first = seen.get(key)
        if first is None:
            seen[key] = first = _with_inputs(node, ins)
        return first

    return rewrite(outputs, visit)


# -- constant folding ---------------------------------------------------------------------------
def _constant_nodes(outputs):
    const = set()
    for node in topo_nodes(outputs):
        if node.op is not None and _pure(node.op) and all(id(i) in const for i, _ in node.inputs):
            const.add(id(node))
    return const


def fold_constants(outputs, ctx=None):
    """Evaluate every subgraph that reads no variable once, on ``ctx``, into ``_constant`` nodes.

    Only subgraphs that compute something are folded: a lone creation op (``zeros``) or an
    existing ``_constant`` is left alone, since folding it would only copy it.

    Parameters
    ----------
    outputs : list of (Node, int)
    ctx : Context, optional
        Where to evaluate (the bind context); default: the current context.
    """
    from ..autograd import predict_mode
    from ..context import current_context
    const = _constant_nodes(outputs)
    computes = {id(n) for n in topo_nodes(outputs) if id(n) in const and n.inputs}
    frontier = {}  # id(node) -> set of outputs read from outside the constant part
    for node in topo_nodes(outputs):
        if id(node) not in const:
            for inp, k in node.inputs:
                if id(inp) in const:
                    frontier.setdefault(id(inp), set()).add(k)
    for node, k in outputs:
        if id(node) in const:
            frontier.setdefault(id(node), set()).add(k)
    if not any(f in computes for f in frontier):
        return list(outputs)
    values: dict = {}
    ctx = ctx or current_context()

    def visit(node, ins, lookup):
        if id(node) not in const:
            return None
        outs = apply(node.op, *node.arguments([values[(id(i), k)] for i, k in node.inputs]),
                     **node.attrs)
        outs = outs if isinstance(outs, tuple) else (outs,)
        for k, o in enumerate(outs):
            values[(id(node), k)] = o
        if id(node) not in frontier or id(node) not in computes:
            return None
        pairs = []
        for k, o in enumerate(outs):
            v = o.asnumpy()
            attrs = {"value": v, "ctx": None, "dtype": v.dtype.name}
            new = Node(CONSTANT, attrs, (), node.name if len(outs) == 1 else f"{node.name}_{k}",
                       node.source, (Spec(v.shape, v.dtype),), node.user_attrs)
            pairs.append((new, 0))
        return pairs

    prev = state.set_hook(None)  # bind may happen inside a trace or autograd.record()
    try:
        with ctx, predict_mode():
            return rewrite(outputs, visit)
    finally:
        state.set_hook(prev)


# -- shapes and the pipeline --------------------------------------------------------------------
def drop_broadcasts(outputs):
    """Elementwise ops read the source of a ``broadcast_to`` input instead, wherever the
    broadcast of their new operands still has the op's output shape (so nothing changes but
    the copy)."""
    from .fusion import FUSIBLE

    def visit(node, ins, lookup):
        if node.op is None or node.op.name not in FUSIBLE or node.specs is None:
            return None
        new = list(ins)
        for j, (src, k) in enumerate(ins):
            if src.op is None or src.op.name != "broadcast_to" or not src.inputs:
                continue
            inner, ik = src.inputs[0]
            shapes = [(inner if i == j else n).specs[ik if i == j else kk].shape
                      if (inner if i == j else n).specs else None
                      for i, (n, kk) in enumerate(new)]
            if any(s is None for s in shapes) or inner.specs[ik].dtype != src.specs[k].dtype:
                continue
            try:
                same = tuple(np.broadcast_shapes(*shapes)) == tuple(node.specs[0].shape)
            except ValueError:
                same = False
            if same:
                new[j] = (inner, ik)
        return None if new == list(ins) else _with_inputs(node, tuple(new))

    return rewrite(outputs, visit)


def annotate(outputs, specs):
    """A copy of the graph with every node's ``specs`` inferred from ``specs`` (variable name ->
    Spec), as fusion needs. Nodes whose specs do not change are reused."""
    def visit(node, ins, lookup):
        if node.op is None:
            s = specs.get(node.name)
            if s is None or (node.specs and node.specs[0] == s):
                return None
            return Node(None, node.attrs, (), node.name, node.source, (s,), node.user_attrs)
        probe = Node(node.op, node.attrs, ins, node.name, node.source, None, node.user_attrs,
                     node.consts)
        new_specs = infer_node(probe)
        if new_specs == node.specs and all(a[0] is b[0] for a, b in zip(ins, node.inputs)):
            return node
        probe.specs = new_specs  # probe is ours: not shared yet
        return probe

    return rewrite(outputs, visit)


def optimize(outputs, level=2, ctx=None, specs=None):
    """Run the bind-time pipeline on a graph.

    Parameters
    ----------
    outputs : list of (Node, int)
        The Symbol's ``_outputs``.
    level : int
        0: nothing; 1: common subexpressions and dead code; 2: also constant folding and
        elementwise fusion.
    ctx : Context, optional
        Where constants are evaluated (the bind context).
    specs : dict, optional
        Variable name -> :class:`~mxplug.ops.infer.Spec` of the bound arrays; fusion needs the
        shapes and dtypes of every node.

    Returns
    -------
    list of (Node, int)
        The optimised outputs, in the same order; the input graph is unchanged.
    """
    outs = list(outputs)
    if level <= 0:
        return outs
    if specs:
        outs = annotate(outs, specs)
    outs = eliminate_common_subexpressions(outs)
    if level >= 2:
        outs = fold_constants(outs, ctx)
        outs = drop_broadcasts(outs)
        outs = fuse_elementwise(outs)
    return eliminate_dead_code(outs)
