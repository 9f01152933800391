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
- :func:`fuse_softmax_ce`: ``-pick(log_softmax(x), label)`` becomes the fused cross-entropy
  (run before differentiation, by :func:`~.executor.build_training`);
- :func:`drop_identities`: nodes that return their input unchanged at the bound shapes
  (same-shape reshapes, reductions over size-1 axes, ``x * 1``) disappear;
- :func:`drop_broadcasts`: an elementwise op reads the source of a ``broadcast_to`` directly
  when its other operands give the output its shape anyway (the ufunc broadcasts; the reduced
  gradients of ``sum``/``mean`` are never materialised);
- :func:`~.fusion.fuse_elementwise`: trees of elementwise ops become one ``_fused_elemwise``;
- :func:`optimize`: the pipeline; :mod:`.memory` plans the buffers of the result.
"""

from __future__ import annotations

import os

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


def reader_counts(outputs):
    """{id(node): how many node inputs and graph outputs read it} (any of its outputs)."""
    readers: dict = {}
    for n in topo_nodes(outputs):
        for i, _ in n.inputs:
            readers[id(i)] = readers.get(id(i), 0) + 1
    for n, _ in outputs:
        readers[id(n)] = readers.get(id(n), 0) + 1
    return readers


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
TRAINING_OPS = frozenset({"BatchNorm", "Dropout", "Custom", "_backward_Custom"})


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
#: Ops that only change the shape (or dtype) of their first input: identities at equal specs.
_SHAPE_OPS = frozenset({"reshape", "Flatten", "squeeze", "expand_dims", "broadcast_to",
                        "broadcast_like", "broadcast_axis", "reshape_like", "cast"})
#: Reductions: over axes of size 1 only (as many elements out as in), a reshape.
_REDUCTIONS = frozenset({"sum", "mean", "max", "min", "prod", "nansum", "nanprod"})
#: (op, position of the scalar, scalar) that leave the other operand exactly as it is.
_NEUTRAL = {("multiply", 1, 1), ("multiply", 0, 1), ("divide", 1, 1), ("subtract", 1, 0)}


def _neutral_scalar(node):
    if len(node.consts) != 1 or len(node.inputs) != 1:
        return False
    (pos, value), = node.consts.items()
    return type(value) in (int, float) and (node.op.name, pos, value) in _NEUTRAL


def drop_identities(outputs):
    """Drop nodes that return their input unchanged at the bound shapes — reshapes to the same
    shape, reductions over size-1 axes (then a reshape), ``x * 1``, ``x / 1``, ``x - 0`` — and
    let a reshape of a reshape read the first one's input (gradient rules make all of these: a
    ``mean`` over the per-sample axis of a ``(N, 1)`` loss, the reshapes of ``FullyConnected``'s
    3-D rule). A graph output is never made an input variable nor another output (aliasing)."""
    from ..ops import REGISTRY
    reshape_op = REGISTRY["reshape"]
    is_output = {(id(n), k) for n, k in outputs}
    taken: set = set()  # what outputs already stand for
    readers = reader_counts(outputs)

    def replace_by(node, src):
        if (id(node), 0) in is_output:
            if src[0].op is None or (id(src[0]), src[1]) in is_output or src in taken:
                return None
            taken.add(src)
        return [src]

    def as_reshape(node, src):
        return Node(reshape_op, {**reshape_op.defaults, "shape": tuple(node.specs[0].shape)},
                    (src,), node.name, node.source, node.specs, node.user_attrs)

    def visit(node, ins, lookup):
        op = node.op
        if op is None or node.specs is None or len(node.specs) != 1 or not ins:
            return None
        src = ins[0]
        inner = src[0].specs[src[1]] if src[0].specs else None
        if inner is None or inner.dtype != node.specs[0].dtype:
            return None
        same = tuple(inner.shape) == tuple(node.specs[0].shape)
        name = op.name
        if name in _SHAPE_OPS or name in _REDUCTIONS or _neutral_scalar(node):
            if same:
                return replace_by(node, src)
            if name in _REDUCTIONS and int(np.prod(inner.shape)) == \
                    int(np.prod(node.specs[0].shape)):
                return as_reshape(node, src)
        if name == "reshape" and src[0].op is reshape_op and src[0].inputs:
            return as_reshape(node, src[0].inputs[0])
        red = src[0]
        if name == "reshape" and red.op is not None and red.op.name in _REDUCTIONS and \
                red.attrs.get("keepdims") and readers.get(id(node.inputs[0][0])) == 1:
            # sum(keepdims=True) read only by a reshape dropping the kept axes: one reduction
            flat = Node(red.op, {**red.attrs, "keepdims": False}, red.inputs, red.name,
                        red.source, None, red.user_attrs, red.consts)
            specs = infer_node(flat)
            if specs is not None and tuple(specs[0].shape) == tuple(node.specs[0].shape):
                flat.specs = specs
                return [(flat, 0)]
        return None

    return rewrite(outputs, visit)


def remove_amp_casts(outputs):
    """The graph without ``amp_cast`` / ``amp_multicast`` nodes, each output read from the
    matching input instead (``HybridBlock.export(remove_amp_cast=True)``, ``amp``)."""
    from ..ops import REGISTRY
    casts = (REGISTRY["amp_cast"], REGISTRY["amp_multicast"])

    def visit(node, ins, lookup):
        return list(ins) if node.op in casts else None

    return annotate(rewrite(outputs, visit), {})  # the dtypes downstream change


def fuse_softmax_ce(outputs):
    """``-pick(log_softmax(x, axis), label, axis)`` becomes ``_softmax_ce(x, label, axis)`` (the
    fused sparse cross-entropy Gluon's loss runs on). Run before differentiation, so that the
    gradient is ``_softmax_ce_backward`` too: two graph steps for the eight of the composition.
    Only where the log-probabilities and the picked values have no other reader."""
    from ..ops import REGISTRY
    ce, reshape_op = REGISTRY["_softmax_ce"], REGISTRY["reshape"]
    readers = reader_counts(outputs)

    def axis_of(node, ndim):
        a = node.attrs.get("axis", -1)
        return a + ndim if isinstance(a, int) and -ndim <= a < 0 else a

    def visit(node, ins, lookup):
        if node.op is None or node.op.name != "negative" or node.specs is None:
            return None
        pk, lsm = node.inputs[0][0], None
        if pk.op is not None and pk.op.name == "pick" and pk.attrs.get("mode") == "clip" and \
                readers.get(id(pk)) == 1:
            lsm = pk.inputs[0][0]
        if lsm is None or lsm.op is None or lsm.op.name != "log_softmax" or \
                readers.get(id(lsm)) != 1 or lsm.specs is None or \
                lsm.attrs.get("temperature") not in (None, 1.0) or lsm.attrs.get("dtype") or \
                lsm.attrs.get("use_length"):
            return None
        ndim = len(lsm.specs[0].shape)
        axis = axis_of(lsm, ndim)
        if axis != axis_of(pk, ndim) or not isinstance(axis, int):
            return None
        (x, label) = lookup(*lsm.inputs[0]), lookup(*pk.inputs[1])
        fused = Node(ce, {"axis": axis}, (x, label), node.name, node.source, None,
                     node.user_attrs)
        fused.specs = infer_node(fused)
        if fused.specs is None:
            return None
        if tuple(fused.specs[0].shape) == tuple(node.specs[0].shape):
            return fused
        return Node(reshape_op, {**reshape_op.defaults, "shape": tuple(node.specs[0].shape)},
                    ((fused, 0),), node.name, node.source, node.specs, node.user_attrs)

    return rewrite(outputs, visit)


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
        0: nothing; 1: common subexpressions (unless ``MXNET_ELIMINATE_COMMON_EXPR=0``) and dead
        code; 2: also constant folding and elementwise fusion.
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
    if os.environ.get("MXNET_ELIMINATE_COMMON_EXPR", "1") != "0":  # MXNet's switch
        outs = eliminate_common_subexpressions(outs)
    outs = drop_identities(outs)
    if level >= 2:
        outs = fold_constants(outs, ctx)
        outs = drop_broadcasts(outs)
        outs = fuse_elementwise(outs)
    return eliminate_dead_code(outs)
