"""Memory planning: output buffers assigned by liveness, so a bound graph allocates nothing per
step in steady state on backends whose arrays are host NumPy arrays (``host_buffers``).

:func:`plan_buffers` looks at a graph in execution order and gives every node that can write
into a given array — the elementwise ops of ``fusion.NP_OUT``, ``_fused_elemwise``, and ops with
an out-kernel for the backend (``FullyConnected``, ``dot``) — a buffer index:

- a buffer returns to a pool keyed by (shape, dtype) after the last read of every value that may
  share its memory (an op run through ``apply``, such as ``reshape``, may return a view of its
  input, so it keeps its input's buffers alive as long as itself), and the next node of that
  shape takes it from there;
- an elementwise op whose input buffer dies at that op writes over it (in place);
- values read after the run (graph outputs, gradients) either keep buffers of their own
  (:class:`MemoryPlan`: as in MXNet, a run overwrites the previous outputs) or are not planned at
  all, nor is anything they may alias (:class:`~.program.Program`: the caller owns its results).

Other nodes, and every node on other backends (whose allocators pool device memory already), run
through ``apply``.
"""

from __future__ import annotations

import numpy as np

from ..ndarray import NDArray
from ..ops import apply
from .fusion import FUSED, NP_OUT, _fusible, compile_numpy
from .node import topo_nodes
from .passes import CONSTANT

__all__ = ["MemoryPlan", "BufferPlan", "out_body", "plan_buffers"]

_INF = float("inf")
#: Ops whose result never shares memory with an input when run through ``apply`` (besides the
#: elementwise ones and those with out-kernels); any other op may return a view of its input.
_FRESH = frozenset({"sum", "mean", "max", "min", "prod", "norm", "argmax", "argmin", "batch_dot",
                    "Convolution", "Deconvolution", "Pooling", "softmax", "log_softmax",
                    "pick", "_pick_backward"})


def _fresh_result(op) -> bool:
    return op is FUSED or op.name in _FRESH or op.name in NP_OUT or bool(op.out_kernels)


def out_body(node, backend):
    """``(fn(out, *operands, scratch), in_place_ok)`` writing ``node``'s output, or None."""
    op = node.op
    if op is FUSED:
        if node.specs is None:
            return None
        run = compile_numpy(node.attrs["program"])
        return (lambda o, *xs, scratch, **attrs: run(o, xs, scratch)), False
    if op is None or node.num_outputs != 1 or node.specs is None:
        return None
    if op.name in NP_OUT and _fusible(node):
        fn, in_place = NP_OUT[op.name]
        return (lambda o, *xs, scratch, **attrs: fn(o, *xs, **attrs)), in_place
    fn = op.plain_out_kernels.get(backend.name)  # a compiled step wraps the whole body
    if fn is not None and node.specs[0].dtype in (np.float32, np.float64):
        return (lambda o, *xs, scratch, **attrs: fn(backend, o, *xs, **attrs)), False
    return None


class BufferPlan:
    """What :func:`plan_buffers` decided.

    Attributes
    ----------
    specs : list of (shape, dtype)
        One per buffer.
    assignment : dict
        ``id(node) -> buffer index`` for every planned node (single-output nodes only).
    bodies : dict
        ``id(node) -> fn(out, *operands, scratch=list, **attrs)`` writing the node's value.
    """

    def __init__(self):
        self.specs, self.assignment, self.bodies = [], {}, {}

    def allocate(self):
        """A fresh set of buffers for one run."""
        return [np.empty(shape, dtype) for shape, dtype in self.specs]


def plan_buffers(nodes, outputs, ctx, own_outputs, keep_from=None) -> BufferPlan:
    """Assign buffers to the nodes of ``nodes`` (topological, execution order).

    ``outputs`` are the values ``(id(node), k)`` read after the run; with ``own_outputs`` each
    gets a buffer nobody else takes, otherwise they (and whatever may alias them) are left to
    ``apply``. Values made before position ``keep_from`` and read at or after it (a forward
    pass's values that its backward reads) live to the end of the run, so the second phase can
    run again on them (``retain_graph``)."""
    result = BufferPlan()
    if not getattr(ctx.backend, "host_buffers", False):
        return result
    bodies = {id(n): b for n in nodes if (b := out_body(n, ctx.backend)) is not None}
    outs = set(outputs)
    end = len(nodes)
    while True:  # drop candidates whose buffer could escape through an output; repeat
        life = _lifetimes(nodes, bodies, outs, own_outputs, keep_from, end)
        escaped = [i for i in bodies if life.get((i, 0)) == _INF
                   and not (own_outputs and (i, 0) in outs)]
        if not escaped:
            break
        for i in escaped:
            del bodies[i]
    pool: dict = {}  # (shape, dtype) -> free buffer indices
    buf_of, owner, dying_at = {}, {}, {}
    for v, t in life.items():
        if t != _INF:
            dying_at.setdefault(t, []).append(v)
    for pos, node in enumerate(nodes):
        body = bodies.get(id(node))
        if body is not None:
            spec = node.specs[0]
            key = (tuple(spec.shape), np.dtype(spec.dtype))
            b = None
            if body[1]:  # in place: over an input buffer whose life ends here
                for inp, k in node.inputs:
                    u = (id(inp), k)
                    if u in buf_of and life[u] == pos and owner[buf_of[u]] == u and \
                            result.specs[buf_of[u]] == key:
                        b = buf_of[u]
                        break
            if b is None:
                free = pool.get(key)
                if free:
                    b = free.pop()
                else:
                    b = len(result.specs)
                    result.specs.append(key)
            v = (id(node), 0)
            buf_of[v], owner[b] = b, v
            result.assignment[id(node)] = b
            result.bodies[id(node)] = body[0]
        for u in dying_at.get(pos, ()):
            b = buf_of.get(u)
            if b is not None and owner.get(b) == u:
                pool.setdefault(result.specs[b], []).append(b)
    return result


def _lifetimes(nodes, planned, outs, own_outputs, keep_from, end):
    """Position of the last read of each planned buffer, widened over the values that may
    alias it; ``_INF`` for buffers an output may alias."""
    pos_of = {id(n): p for p, n in enumerate(nodes)}
    last, roots = {}, {}
    for pos, node in enumerate(nodes):
        for inp, k in node.inputs:
            u = (id(inp), k)
            made = pos_of.get(id(inp), -1)
            late = keep_from is not None and made < keep_from <= pos
            last[u] = max(last.get(u, -1), end if late else pos)
        owned = id(node) in planned
        fresh = node.op is not None and _fresh_result(node.op)
        for k in range(node.num_outputs):
            v = (id(node), k)
            if owned:
                roots[v] = {v}
            elif fresh:
                roots[v] = set()
            else:
                roots[v] = set().union(*(roots.get((id(i), j), ()) for i, j in node.inputs))
    for v in outs:
        last[v] = _INF
    life = {}
    for v, rs in roots.items():
        for r in rs:
            life[r] = max(life.get(r, -1), last.get(v, -1))
    return life


class MemoryPlan:
    """A graph compiled into steps over slots, run with planned output buffers (kept between
    runs: outputs held in planned buffers are the same arrays at every call).

    Parameters
    ----------
    outputs : list of (Node, int)
        The graph to run (usually the result of :func:`~.passes.optimize`).
    ctx : Context
        Where it runs; buffers are planned on host-buffer backends only.

    Attributes
    ----------
    buffers : list of numpy.ndarray
        The planned buffers (empty on other backends).
    assignment : dict
        ``(node name, output index) -> buffer index`` of every planned value.
    """

    def __init__(self, outputs, ctx):
        self.ctx = ctx
        self._outputs = list(outputs)
        nodes = topo_nodes(self._outputs)
        slot = {}  # (id(node), k) -> slot index
        for node in nodes:
            for k in range(node.num_outputs):
                slot[(id(node), k)] = len(slot)
        plan = plan_buffers(nodes, [(id(n), k) for n, k in self._outputs], ctx, True)
        self.buffers = plan.allocate()
        self.assignment = {(n.name, 0): plan.assignment[id(n)] for n in nodes
                           if id(n) in plan.assignment}
        self._static = [None] * len(slot)
        self._vars = []  # (slot, name)
        self._steps = []
        for node in nodes:
            ins = tuple(slot[(id(i), k)] for i, k in node.inputs)
            if node.is_variable:
                self._vars.append((slot[(id(node), 0)], node.name))
            elif node.op is CONSTANT:
                with ctx:
                    self._static[slot[(id(node), 0)]] = apply(node.op, **node.attrs)._data
            elif id(node) in plan.assignment:
                out = self.buffers[plan.assignment[id(node)]]
                self._static[slot[(id(node), 0)]] = out
                self._steps.append(self._planned_step(node, ins, out, plan.bodies[id(node)]))
            else:
                self._steps.append(self._apply_step(node, ins, slot))
        self._out_slots = [slot[(id(n), k)] for n, k in self._outputs]
        self._out_cache = [None] * len(self._out_slots)

    @staticmethod
    def _planned_step(node, ins, out, body):
        attrs, scratch = node.attrs, []

        def step(vals):
            body(out, *node.arguments([vals[i] for i in ins]), scratch=scratch, **attrs)
        return step

    def _apply_step(self, node, ins, slot):
        ctx, op, attrs = self.ctx, node.op, node.attrs
        outs = [slot[(id(node), k)] for k in range(node.num_outputs)]
        wrap = NDArray._wrap

        def step(vals):
            r = apply(op, *node.arguments([wrap(vals[i], ctx) for i in ins]), **attrs)
            if isinstance(r, tuple):
                for s, o in zip(outs, r):
                    vals[s] = o._data
            else:
                vals[outs[0]] = r._data
        return step

    def run(self, feed):
        """Run the graph on ``feed`` (variable name -> NDArray); returns the output NDArrays."""
        vals = list(self._static)
        for s, name in self._vars:
            vals[s] = feed[name]._data
        for step in self._steps:
            step(vals)
        res = []
        for j, s in enumerate(self._out_slots):
            cached = self._out_cache[j]
            if cached is None or cached._data is not vals[s]:
                cached = NDArray._wrap(vals[s], self.ctx)
                if self._static[s] is vals[s]:
                    self._out_cache[j] = cached
            res.append(cached)
        return res
